//! The `ovs-vsctl` command line: global options, then commands separated
//! by `--`, each with its own leading options.
//!
//! ```text
//! vsctl [GLOBAL-OPTIONS] [--] [CMD-OPTIONS] COMMAND ARGS... [-- [CMD-OPTIONS] COMMAND ARGS...]...
//! ```
//!
//! Command options given before the first command (`vsctl --may-exist
//! add-br br0`) belong to the first command, as in ovs-vsctl.

use std::collections::BTreeMap;

use crate::getopt::{self, LongOpt};
use crate::options::parse_globals;
pub use crate::options::{DataFormat, Options, TableFormat};

mod syntax;

pub use syntax::{all_command_options, find_command, option_specs, Kind, Syntax, COMMANDS};

/// One parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command's syntax entry.
    pub syntax: &'static Syntax,
    /// Its options (`--may-exist`, `--columns=a,b`, ...): name → value.
    pub options: BTreeMap<String, Option<String>>,
    /// Arguments after the command name.
    pub args: Vec<String>,
}

impl Command {
    /// The command name.
    pub fn name(&self) -> &'static str {
        self.syntax.name
    }

    /// Whether option `name` (such as `--may-exist`) was given.
    pub fn has(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    /// The value of option `name` (`--columns=a,b` → `a,b`).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_deref())
    }

    /// Argument `i`, or `""` if missing (syntax checks guarantee presence).
    pub fn arg(&self, i: usize) -> &str {
        self.args.get(i).map(String::as_str).unwrap_or("")
    }
}

/// Parse a whole command line (without the program name).
pub fn parse(argv: &[String]) -> Result<(Options, Vec<Command>), String> {
    let globals = parse_globals(argv)?;
    let opts = globals.opts;
    if opts.help || opts.version || opts.list_options {
        return Ok((opts, Vec::new()));
    }
    let mut local = globals.local;
    let rest = argv.get(globals.scan.rest..).unwrap_or(&[]);
    let mut commands = Vec::new();
    let mut first = true;
    for segment in rest.split(|a| a == "--") {
        if segment.is_empty() {
            if first && !local.is_empty() {
                return Err("missing command name (use --help for help)".to_string());
            }
            continue;
        }
        let inherited = if first {
            std::mem::take(&mut local)
        } else {
            BTreeMap::new()
        };
        first = false;
        commands.push(parse_command(segment, inherited)?);
    }
    if commands.is_empty() {
        return Err("missing command name (use --help for help)".to_string());
    }
    Ok((opts, commands))
}

/// One command of a chain: `[--OPTION[=VALUE]]... NAME ARGS...`. Its
/// options may be abbreviated to a prefix that picks one of the
/// command's own options (ovs-vsctl takes abbreviations only before the
/// first command, where getopt reads them); other words are kept as given
/// and refused below as ovs-vsctl refuses them.
fn parse_command(
    seg: &[String],
    mut options: BTreeMap<String, Option<String>>,
) -> Result<Command, String> {
    let Some(i) = seg.iter().position(|a| !a.starts_with('-')) else {
        return Err("missing command name (use --help for help)".to_string());
    };
    let name = &seg[i];
    let syntax = find_command(name)?;
    let own: Vec<LongOpt<()>> = syntax
        .option_specs()
        .map(|(name, has_arg)| LongOpt {
            name,
            short: None,
            has_arg,
            kind: (),
        })
        .collect();
    for a in &seg[..i] {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let k = match a.strip_prefix("--") {
            Some(text) => match getopt::match_long(&own, text)? {
                Some(o) => format!("--{}", o.name),
                None => k,
            },
            None => k,
        };
        if options.contains_key(&k) {
            return Err(format!("'{a}' option specified multiple times"));
        }
        options.insert(k, v);
    }
    let allowed: Vec<&str> = syntax
        .options
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    for (k, v) in &options {
        let takes_value = allowed
            .iter()
            .any(|a| a.strip_suffix('=') == Some(k.as_str()));
        let flag = allowed.contains(&k.as_str());
        if !takes_value && !flag {
            return Err(format!("'{name}' command has no '{k}' option"));
        }
        if takes_value && v.is_none() {
            return Err(format!(
                "missing argument to '{k}' option on '{name}' command"
            ));
        }
        if flag && v.is_some() {
            return Err(format!(
                "'{k}' option on '{name}' does not accept an argument"
            ));
        }
    }
    let args: Vec<String> = seg.get(i + 1..).unwrap_or(&[]).to_vec();
    if args.len() < syntax.min_args {
        return Err(format!(
            "'{name}' command requires at least {} arguments ({name} {})",
            syntax.min_args, syntax.usage
        ));
    }
    if args.len() > syntax.max_args {
        let hint = if args.iter().any(|a| a.starts_with('-')) && syntax.kind != Kind::Runtime {
            " (note that options must precede command names and follow a \"--\" argument)"
        } else {
            ""
        };
        return Err(format!(
            "'{name}' command takes at most {} arguments{hint}",
            syntax.max_args
        ));
    }
    Ok(Command {
        syntax,
        options,
        args,
    })
}

/// The `--help` text.
pub fn usage() -> String {
    usage_named("vsctl")
}

/// The `--help` text of the tool invoked as `prog` (`vsctl`, `ovs-vsctl`).
pub fn usage_named(prog: &str) -> String {
    let mut s = format!(
        "{prog}: rvswitch configuration utility (ovs-vsctl command language)\n\
         usage: {prog} [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...\n\n\
         Commands:\n"
    );
    for c in COMMANDS {
        if c.usage.is_empty() {
            s.push_str(&format!("  {}\n", c.name));
        } else {
            s.push_str(&format!("  {} {}\n", c.name, c.usage));
        }
    }
    s.push_str(
        "\nOptions (any unambiguous prefix of a long option will do):\n  \
         --socket=PATH      control socket (default /run/rvswitch/vswitchd.sock, or $RVSWITCH_SOCKET)\n  \
         -f, --format=FORMAT  list (default), table, html, csv, json or bare\n  \
         -d, --data=FORMAT  string (default), bare or json\n  \
         --bare, --no-headings, --pretty, --oneline, --max-column-width=N, --dry-run\n  \
         -t, --timeout=SECS  give up after SECS seconds (wait-until waits that long)\n  \
         --options          list the global options\n  \
         command options: --may-exist, --if-exists, --columns=COL,..., --fake-iface, --with-iface, --real, --fake, --id=@NAME, --all\n  \
         --no-wait, --db=DB, --retry, -v, --log-file, SSL options: accepted for compatibility, no effect\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn chains_and_options() {
        let (o, c) = parse(&argv(&[
            "--no-wait",
            "--format=json",
            "-t",
            "5",
            "--may-exist",
            "add-br",
            "br0",
            "--",
            "--if-exists",
            "del-port",
            "p",
            "--",
            "list-br",
        ]))
        .unwrap();
        assert!(o.json());
        assert_eq!(o.timeout, Some(5));
        assert_eq!(c.len(), 3);
        assert!(c[0].has("--may-exist"));
        assert_eq!(c[0].args, vec!["br0"]);
        assert!(c[1].has("--if-exists"));
        assert_eq!(c[2].name(), "list-br");
        let (_, c) = parse(&argv(&["--", "--columns=name,tag", "list", "port"])).unwrap();
        assert_eq!(c[0].option("--columns"), Some("name,tag"));
        let (o, _) = parse(&argv(&["--bare", "list-br"])).unwrap();
        assert!(!o.headings && o.data == DataFormat::Bare);
    }

    #[test]
    fn abbreviated_options_before_and_after_the_first_command() {
        // Before the first command, as ovs-vsctl's getopt reads them.
        let (o, c) = parse(&argv(&[
            "--no-heading",
            "--if-exist",
            "get",
            "port",
            "p",
            "tag",
        ]))
        .unwrap();
        assert!(!o.headings);
        assert!(c[0].has("--if-exists"), "{:?}", c[0].options);
        let (_, c) = parse(&argv(&["--col", "name", "list", "port"])).unwrap();
        assert_eq!(c[0].option("--columns"), Some("name"));
        // After `--`: a prefix of one of that command's own options.
        let (_, c) = parse(&argv(&[
            "list-br",
            "--",
            "--if-exist",
            "--col=name",
            "list",
            "port",
            "--",
            "--may",
            "add-br",
            "b",
        ]))
        .unwrap();
        assert!(c[1].has("--if-exists"));
        assert_eq!(c[1].option("--columns"), Some("name"));
        assert!(c[2].has("--may-exist"));
        // Anything else is refused as ovs-vsctl refuses it.
        assert_eq!(
            parse(&argv(&["list-br", "--", "--if-exist", "list-br"])).unwrap_err(),
            "'list-br' command has no '--if-exist' option"
        );
        assert_eq!(
            parse(&argv(&["list-br", "--", "--col", "list", "port"])).unwrap_err(),
            "missing argument to '--columns' option on 'list' command"
        );
        assert_eq!(
            parse(&argv(&["list-br", "--", "--=x", "list", "port"])).unwrap_err(),
            "option '--=x' is ambiguous; possibilities: '--if-exists' '--columns'"
        );
        assert_eq!(
            parse(&argv(&["--if-exists", "--", "--if-exist", "list", "port"])).unwrap_err(),
            "'--if-exist' option specified multiple times"
        );
    }

    #[test]
    fn errors_are_worded_like_ovs() {
        let e = |a: &[&str]| parse(&argv(a)).unwrap_err();
        assert_eq!(
            e(&["frobnicate"]),
            "unknown command 'frobnicate'; use --help for help"
        );
        assert!(e(&["add-br"]).starts_with("'add-br' command requires at least 1 arguments"));
        assert!(e(&["br-exists", "a", "b"])
            .starts_with("'br-exists' command takes at most 1 arguments"));
        assert_eq!(
            e(&["--may-exist", "list-br"]),
            "'list-br' command has no '--may-exist' option"
        );
        assert_eq!(e(&[]), "missing command name (use --help for help)");
        assert_eq!(
            e(&["--if-exists"]),
            "missing command name (use --help for help)"
        );
        assert!(e(&["--frob", "list-br"]).contains("unrecognized option '--frob'"));
        assert!(e(&["--format=xml", "list-br"]).contains("unknown output format"));
        assert!(e(&["-t", "x", "list-br"]).contains("invalid"));
        assert!(e(&["set-controller", "br0", "tcp:1.2.3.4"]).contains("does not support"));
        assert!(e(&["br-exists", "br0", "--if-exists"]).contains("options must precede"));
    }
}
