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

/// How table-shaped output (`list`, `find`) is laid out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// `column : value` records separated by blank lines (the default).
    List,
    /// A table with headings.
    Table,
    /// Comma-separated values.
    Csv,
    /// JSON (every command's output becomes JSON).
    Json,
}

/// How cells are written (`--data`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// OVS value syntax (the default).
    String,
    /// No quotes or brackets.
    Bare,
    /// OVSDB JSON.
    Json,
}

/// Global options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--format`; `text` is accepted as an alias of the default.
    pub format: TableFormat,
    /// `--data`.
    pub data: DataFormat,
    /// Print column headings (off with `--no-headings` or `--bare`).
    pub headings: bool,
    /// `--pretty` (indented JSON).
    pub pretty: bool,
    /// `--oneline`: each command's output on one line.
    pub oneline: bool,
    /// `--dry-run`: run the commands but keep no change.
    pub dry_run: bool,
    /// `-t`/`--timeout` in seconds (the client honours it).
    pub timeout: Option<u64>,
    /// `--db` (accepted and ignored: rvswitch has one database, in the daemon).
    pub db: Option<String>,
    /// `--help`.
    pub help: bool,
    /// `-V`/`--version`.
    pub version: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: TableFormat::List,
            data: DataFormat::String,
            headings: true,
            pretty: false,
            oneline: false,
            dry_run: false,
            timeout: None,
            db: None,
            help: false,
            version: false,
        }
    }
}

impl Options {
    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.format == TableFormat::Json
    }
}

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

/// Whether a command reads or writes the database, or asks the daemon.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reads the configuration only.
    Read,
    /// May change the configuration.
    Write,
    /// A runtime command (`ovs-appctl` in OVS) the daemon carries out.
    Runtime,
}

/// A command's syntax.
#[derive(Debug, PartialEq, Eq)]
pub struct Syntax {
    /// Name.
    pub name: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// Usage line for `--help`.
    pub usage: &'static str,
    /// Options it takes, comma-separated; a trailing `=` takes a value.
    pub options: &'static str,
    /// What it does.
    pub kind: Kind,
}

const MANY: usize = usize::MAX;

macro_rules! syn {
    ($name:literal, $min:expr, $max:expr, $usage:literal, $opts:literal, $kind:ident) => {
        Syntax {
            name: $name,
            min_args: $min,
            max_args: $max,
            usage: $usage,
            options: $opts,
            kind: Kind::$kind,
        }
    };
}

/// Every command rvswitch understands.
pub static COMMANDS: &[Syntax] = &[
    syn!("init", 0, 0, "", "", Write),
    syn!("show", 0, 0, "", "", Read),
    syn!(
        "add-br",
        1,
        3,
        "NEW-BRIDGE [PARENT] [NEW-VLAN]",
        "--may-exist",
        Write
    ),
    syn!("del-br", 1, 1, "BRIDGE", "--if-exists", Write),
    syn!("list-br", 0, 0, "", "--real,--fake", Read),
    syn!("br-exists", 1, 1, "BRIDGE", "", Read),
    syn!("br-to-vlan", 1, 1, "BRIDGE", "", Read),
    syn!("br-to-parent", 1, 1, "BRIDGE", "", Read),
    syn!("br-set-external-id", 2, 3, "BRIDGE KEY [VALUE]", "", Write),
    syn!("br-get-external-id", 1, 2, "BRIDGE [KEY]", "", Read),
    syn!("list-ports", 1, 1, "BRIDGE", "", Read),
    syn!(
        "add-port",
        2,
        MANY,
        "BRIDGE NEW-PORT [COLUMN[:KEY]=VALUE]...",
        "--may-exist",
        Write
    ),
    syn!(
        "del-port",
        1,
        2,
        "[BRIDGE] PORT|IFACE",
        "--if-exists,--with-iface",
        Write
    ),
    syn!("port-to-br", 1, 1, "PORT", "", Read),
    syn!(
        "add-bond",
        4,
        MANY,
        "BRIDGE BOND IFACE... [COLUMN[:KEY]=VALUE]...",
        "--may-exist,--fake-iface",
        Write
    ),
    syn!("add-bond-iface", 2, 2, "BOND IFACE", "--may-exist", Write),
    syn!("del-bond-iface", 1, 2, "[BOND] IFACE", "--if-exists", Write),
    syn!("list-ifaces", 1, 1, "BRIDGE", "", Read),
    syn!("iface-to-br", 1, 1, "IFACE", "", Read),
    syn!("get-fail-mode", 1, 1, "BRIDGE", "", Read),
    syn!("set-fail-mode", 2, 2, "BRIDGE MODE", "", Write),
    syn!("del-fail-mode", 1, 1, "BRIDGE", "", Write),
    syn!(
        "get",
        2,
        MANY,
        "TABLE RECORD [COLUMN[:KEY]]...",
        "--if-exists",
        Read
    ),
    syn!(
        "set",
        3,
        MANY,
        "TABLE RECORD COLUMN[:KEY]=VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "add",
        4,
        MANY,
        "TABLE RECORD COLUMN [KEY=]VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "remove",
        4,
        MANY,
        "TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "clear",
        3,
        MANY,
        "TABLE RECORD COLUMN...",
        "--if-exists",
        Write
    ),
    syn!(
        "list",
        1,
        MANY,
        "TABLE [RECORD]...",
        "--if-exists,--columns=",
        Read
    ),
    syn!(
        "find",
        1,
        MANY,
        "TABLE [COLUMN[:KEY]=VALUE]...",
        "--columns=",
        Read
    ),
    syn!("bond/show", 0, 1, "[BOND]", "", Runtime),
    syn!("lacp/show", 0, 1, "[BOND]", "", Runtime),
    syn!("lacp/show-stats", 0, 1, "[BOND]", "", Runtime),
    syn!("fdb/show", 1, 1, "BRIDGE", "", Runtime),
    syn!("fdb/flush", 0, 1, "[BRIDGE]", "", Runtime),
    syn!("fdb/add", 4, 4, "BRIDGE PORT VLAN MAC", "", Runtime),
    syn!("fdb/del", 3, 3, "BRIDGE VLAN MAC", "", Runtime),
    syn!(
        "dpif-netdev/pmd-stats-show",
        0,
        2,
        "[-pmd CORE]",
        "",
        Runtime
    ),
    syn!(
        "dpif-netdev/pmd-stats-clear",
        0,
        2,
        "[-pmd CORE]",
        "",
        Runtime
    ),
    syn!("dpif-netdev/pmd-rxq-show", 0, 2, "[-pmd CORE]", "", Runtime),
    syn!("memory/show", 0, 0, "", "", Runtime),
];

/// ovs-vsctl commands rvswitch deliberately lacks.
const UNSUPPORTED: &[&str] = &[
    "get-controller",
    "del-controller",
    "set-controller",
    "get-manager",
    "del-manager",
    "set-manager",
    "get-ssl",
    "del-ssl",
    "set-ssl",
    "add-aa-mapping",
    "del-aa-mapping",
    "get-aa-mapping",
    "emer-reset",
    "create",
    "destroy",
    "wait-until",
    "add-zone-tp",
    "del-zone-tp",
    "list-zone-tp",
    "list-dp-cap",
    "set-zone-limit",
    "del-zone-limit",
    "list-zone-limits",
];

/// Options that belong to commands (collected before the first command too).
const COMMAND_OPTIONS: &[&str] = &[
    "--may-exist",
    "--if-exists",
    "--fake-iface",
    "--with-iface",
    "--real",
    "--fake",
    "--columns",
    "--id",
    "--all",
];

/// Look a command up.
pub fn find_command(name: &str) -> Result<&'static Syntax, String> {
    if let Some(s) = COMMANDS.iter().find(|s| s.name == name) {
        return Ok(s);
    }
    if UNSUPPORTED.contains(&name) {
        return Err(format!(
            "'{name}' is an ovs-vsctl command that rvswitch does not support (rvswitch has no OpenFlow controllers, managers, SSL, conntrack or free-form record creation)"
        ));
    }
    Err(format!("unknown command '{name}'; use --help for help"))
}

fn parse_number(opt: &str, v: &str) -> Result<u64, String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 9 {
        return Err(format!(
            "value {v} on {opt} is invalid (expected a number of seconds)"
        ));
    }
    v.parse()
        .map_err(|_| format!("value {v} on {opt} is invalid"))
}

/// Parse a whole command line (without the program name).
pub fn parse(argv: &[String]) -> Result<(Options, Vec<Command>), String> {
    let mut opts = Options::default();
    let mut local: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut i = 0usize;
    // Takes the value of an option given as `--opt=VALUE` or `--opt VALUE`.
    let value = |i: &mut usize, inline: Option<&str>, name: &str| -> Result<String, String> {
        if let Some(v) = inline {
            return Ok(v.to_string());
        }
        *i += 1;
        argv.get(*i)
            .cloned()
            .ok_or_else(|| format!("option '{name}' requires an argument"))
    };
    while let Some(arg) = argv.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg.as_str(), None),
        };
        match name {
            "--no-wait"
            | "--no-syslog"
            | "--retry"
            | "--leader-only"
            | "--no-leader-only"
            | "--shuffle-remotes"
            | "--no-shuffle-remotes" => {}
            "--dry-run" => opts.dry_run = true,
            "--oneline" => opts.oneline = true,
            "--no-headings" => opts.headings = false,
            "--pretty" => opts.pretty = true,
            "--bare" => {
                opts.format = TableFormat::List;
                opts.data = DataFormat::Bare;
                opts.headings = false;
            }
            "--help" | "-h" => opts.help = true,
            "--version" | "-V" => opts.version = true,
            "--db" => opts.db = Some(value(&mut i, inline, name)?),
            "--timeout" => opts.timeout = Some(parse_number(name, &value(&mut i, inline, name)?)?),
            "--format" => opts.format = parse_format(&value(&mut i, inline, name)?)?,
            "--data" => opts.data = parse_data(&value(&mut i, inline, name)?)?,
            "--max-column-width" => {
                parse_number(name, &value(&mut i, inline, name)?)?;
            }
            n if n == "--verbose" || n.starts_with("-v") && !n.starts_with("--") => {}
            n if n.starts_with("-t") && !n.starts_with("--") => {
                let v = if n.len() > 2 {
                    n[2..].to_string()
                } else {
                    value(&mut i, None, "-t")?
                };
                opts.timeout = Some(parse_number("-t", &v)?);
            }
            n if n.starts_with("-f") && !n.starts_with("--") => {
                let v = if n.len() > 2 {
                    n[2..].to_string()
                } else {
                    value(&mut i, None, "-f")?
                };
                opts.format = parse_format(&v)?;
            }
            n if n.starts_with("-d") && !n.starts_with("--") => {
                let v = if n.len() > 2 {
                    n[2..].to_string()
                } else {
                    value(&mut i, None, "-d")?
                };
                opts.data = parse_data(&v)?;
            }
            n if COMMAND_OPTIONS.contains(&n) => {
                if local.contains_key(n) {
                    return Err(format!("'{arg}' option specified multiple times"));
                }
                local.insert(n.to_string(), inline.map(str::to_string));
            }
            _ => return Err(format!("unrecognized option '{arg}' (use --help for help)")),
        }
        i += 1;
    }
    if opts.help || opts.version {
        return Ok((opts, Vec::new()));
    }

    let rest = argv.get(i..).unwrap_or(&[]);
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

fn parse_format(s: &str) -> Result<TableFormat, String> {
    Ok(match s {
        "list" | "text" => TableFormat::List,
        "table" => TableFormat::Table,
        "csv" => TableFormat::Csv,
        "json" => TableFormat::Json,
        _ => {
            return Err(format!(
                "unknown output format \"{s}\" (expected text, list, table, csv or json)"
            ))
        }
    })
}

fn parse_data(s: &str) -> Result<DataFormat, String> {
    Ok(match s {
        "string" => DataFormat::String,
        "bare" => DataFormat::Bare,
        "json" => DataFormat::Json,
        _ => {
            return Err(format!(
                "unknown data format \"{s}\" (expected string, bare or json)"
            ))
        }
    })
}

fn parse_command(
    seg: &[String],
    mut options: BTreeMap<String, Option<String>>,
) -> Result<Command, String> {
    let mut i = 0usize;
    while let Some(a) = seg.get(i) {
        if !a.starts_with('-') {
            break;
        }
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if options.contains_key(&k) {
            return Err(format!("'{a}' option specified multiple times"));
        }
        options.insert(k, v);
        i += 1;
    }
    let Some(name) = seg.get(i) else {
        return Err("missing command name (use --help for help)".to_string());
    };
    let syntax = find_command(name)?;
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
    let mut s = String::from(
        "vsctl: rvswitch configuration utility (ovs-vsctl command language)\n\
         usage: vsctl [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...\n\n\
         Commands:\n",
    );
    for c in COMMANDS {
        if c.usage.is_empty() {
            s.push_str(&format!("  {}\n", c.name));
        } else {
            s.push_str(&format!("  {} {}\n", c.name, c.usage));
        }
    }
    s.push_str(
        "\nOptions:\n  --socket=PATH      control socket (default /run/rvswitch/vswitchd.sock, or $RVSWITCH_SOCKET)\n  \
         --format=FORMAT    text (default), list, table, csv or json\n  \
         --data=FORMAT      string (default), bare or json\n  \
         --bare, --no-headings, --pretty, --oneline, --dry-run, --columns=COL,...\n  \
         --may-exist, --if-exists, --fake-iface, --with-iface\n  \
         --no-wait, --db=DB, -t N, --timeout=N, -v   accepted for compatibility\n",
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
