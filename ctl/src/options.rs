//! The global options of the ovs-vsctl command line.
//!
//! [`GLOBAL_OPTIONS`] is the one list of them, in ovs-vsctl's order: the
//! parser ([`parse_globals`]), the abbreviation matcher (through
//! [`option_table`], which appends every command's own options from
//! [`crate::cmd::COMMANDS`]), `--options` and the `vsctl` client all read
//! it. Options that only matter to OVS's database connection or logging
//! (`--no-wait`, `--retry`, `--no-syslog`, `-v`, `--log-file`, the SSL
//! options, `--db`) are accepted and have no effect.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::cmd;
use crate::getopt::{self, Found, HasArg, ListStyle, LongOpt, Scan};

/// How table-shaped output (`list`, `find`) is laid out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// `column : value` records separated by blank lines (the default).
    List,
    /// A table with headings.
    Table,
    /// Comma-separated values.
    Csv,
    /// An HTML `<table>`.
    Html,
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
    /// `--format`/`-f`; `text` is accepted as an alias of the default.
    pub format: TableFormat,
    /// `--data`/`-d`.
    pub data: DataFormat,
    /// Print column headings (off with `--no-headings` or `--bare`).
    pub headings: bool,
    /// `--pretty` (indented JSON).
    pub pretty: bool,
    /// `--oneline`: each command's output on one line (tables excepted).
    pub oneline: bool,
    /// `--dry-run`: run the commands but keep no change.
    pub dry_run: bool,
    /// `-t`/`--timeout` in seconds (the client honours it).
    pub timeout: Option<u64>,
    /// `--max-column-width` (table format; 0 or unset: no limit).
    pub max_column_width: Option<usize>,
    /// `--db` (accepted and ignored: rvswitch has one database, in the daemon).
    pub db: Option<String>,
    /// `--help`.
    pub help: bool,
    /// `-V`/`--version`.
    pub version: bool,
    /// `--options`: list the global options.
    pub list_options: bool,
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
            max_column_width: None,
            db: None,
            help: false,
            version: false,
            list_options: false,
        }
    }
}

impl Options {
    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.format == TableFormat::Json
    }
}

/// What a global option does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Global {
    Db,
    NoSyslog,
    NoWait,
    DryRun,
    Oneline,
    Timeout,
    Retry,
    Help,
    Options,
    LeaderOnly,
    NoLeaderOnly,
    ShuffleRemotes,
    NoShuffleRemotes,
    Version,
    Verbose,
    LogFile,
    SyslogMethod,
    SyslogTarget,
    Format,
    Data,
    NoHeadings,
    Pretty,
    Bare,
    MaxColumnWidth,
    PrivateKey,
    Certificate,
    CaCert,
    SslProtocols,
    SslCiphers,
    BootstrapCaCert,
    PeerCaCert,
    /// rvswitch's own: the control socket (the client takes it).
    Socket,
    /// An option of a command (`--may-exist`, `--columns=...`), given
    /// before the first command, which it belongs to.
    Command,
}

const fn opt(
    name: &'static str,
    short: Option<char>,
    has_arg: HasArg,
    kind: Global,
) -> LongOpt<Global> {
    LongOpt {
        name,
        short,
        has_arg,
        kind,
    }
}

use HasArg::{No, Optional, Required};

/// The global options, in ovs-vsctl's order (which decides the order of
/// the possibilities an ambiguous abbreviation lists), then rvswitch's.
pub static GLOBAL_OPTIONS: &[LongOpt<Global>] = &[
    opt("db", None, Required, Global::Db),
    opt("no-syslog", None, No, Global::NoSyslog),
    opt("no-wait", None, No, Global::NoWait),
    opt("dry-run", None, No, Global::DryRun),
    opt("oneline", None, No, Global::Oneline),
    opt("timeout", Some('t'), Required, Global::Timeout),
    opt("retry", None, No, Global::Retry),
    opt("help", Some('h'), No, Global::Help),
    opt("options", None, No, Global::Options),
    opt("leader-only", None, No, Global::LeaderOnly),
    opt("no-leader-only", None, No, Global::NoLeaderOnly),
    opt("shuffle-remotes", None, No, Global::ShuffleRemotes),
    opt("no-shuffle-remotes", None, No, Global::NoShuffleRemotes),
    opt("version", Some('V'), No, Global::Version),
    opt("verbose", Some('v'), Optional, Global::Verbose),
    opt("log-file", None, Optional, Global::LogFile),
    opt("syslog-method", None, Required, Global::SyslogMethod),
    opt("syslog-target", None, Required, Global::SyslogTarget),
    opt("format", Some('f'), Required, Global::Format),
    opt("data", Some('d'), Required, Global::Data),
    opt("no-headings", None, No, Global::NoHeadings),
    opt("pretty", None, No, Global::Pretty),
    opt("bare", None, No, Global::Bare),
    opt("max-column-width", None, Required, Global::MaxColumnWidth),
    opt("private-key", Some('p'), Required, Global::PrivateKey),
    opt("certificate", Some('c'), Required, Global::Certificate),
    opt("ca-cert", Some('C'), Required, Global::CaCert),
    opt("ssl-protocols", None, Required, Global::SslProtocols),
    opt("ssl-ciphers", None, Required, Global::SslCiphers),
    opt("bootstrap-ca-cert", None, Required, Global::BootstrapCaCert),
    opt("peer-ca-cert", None, Required, Global::PeerCaCert),
    opt("socket", None, Required, Global::Socket),
];

/// Everything that may come before the first command: [`GLOBAL_OPTIONS`],
/// then every command's options (each name once, from the command table).
pub fn option_table() -> &'static [LongOpt<Global>] {
    static TABLE: OnceLock<Vec<LongOpt<Global>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = GLOBAL_OPTIONS.to_vec();
        for (name, has_arg) in cmd::all_command_options() {
            if !t.iter().any(|o| o.name == name) {
                t.push(opt(name, None, has_arg, Global::Command));
            }
        }
        t
    })
}

/// The `--options` listing (the global options, as ovs-vsctl lists them).
pub fn options_text() -> String {
    getopt::listing(GLOBAL_OPTIONS, ListStyle::Vsctl)
}

/// The options before the first command.
#[derive(Clone, Debug)]
pub struct Globals {
    /// The global options.
    pub opts: Options,
    /// Options of the first command given before it: `--name` → value.
    pub local: BTreeMap<String, Option<String>>,
    /// `--socket`.
    pub socket: Option<String>,
    /// Every option found and where; `scan.rest` is where commands start.
    pub scan: Scan<Global>,
}

impl Globals {
    /// The options found, in order.
    pub fn found(&self) -> &[Found<Global>] {
        &self.scan.found
    }
}

/// Read the global options at the start of `argv` (the words after the
/// program name).
pub fn parse_globals(argv: &[String]) -> Result<Globals, String> {
    let scan = getopt::scan(argv, option_table())?;
    let mut opts = Options::default();
    let mut local = BTreeMap::new();
    let mut socket = None;
    for f in &scan.found {
        let v = f.value.as_deref().unwrap_or("");
        match f.kind {
            Global::Db => opts.db = Some(v.to_string()),
            Global::DryRun => opts.dry_run = true,
            Global::Oneline => opts.oneline = true,
            Global::Timeout => opts.timeout = Some(parse_timeout(v)?),
            Global::Help => opts.help = true,
            Global::Options => opts.list_options = true,
            Global::Version => opts.version = true,
            Global::Format => set_format(&mut opts, v)?,
            Global::Data => opts.data = parse_data(v)?,
            Global::NoHeadings => opts.headings = false,
            Global::Pretty => opts.pretty = true,
            Global::Bare => set_format(&mut opts, "bare")?,
            Global::MaxColumnWidth => opts.max_column_width = Some(atoi(v)),
            Global::Socket => socket = Some(v.to_string()),
            Global::Command => {
                let key = format!("--{}", f.name);
                if local.contains_key(&key) {
                    return Err(format!("'{key}' option specified multiple times"));
                }
                local.insert(key, f.value.clone());
            }
            Global::NoSyslog
            | Global::NoWait
            | Global::Retry
            | Global::LeaderOnly
            | Global::NoLeaderOnly
            | Global::ShuffleRemotes
            | Global::NoShuffleRemotes
            | Global::Verbose
            | Global::LogFile
            | Global::SyslogMethod
            | Global::SyslogTarget
            | Global::PrivateKey
            | Global::Certificate
            | Global::CaCert
            | Global::SslProtocols
            | Global::SslCiphers
            | Global::BootstrapCaCert
            | Global::PeerCaCert => {}
        }
    }
    Ok(Globals {
        opts,
        local,
        socket,
        scan,
    })
}

/// `-t`/`--timeout`: a whole number of seconds, not 0 (ovs-vsctl's rule
/// and message).
pub fn parse_timeout(v: &str) -> Result<u64, String> {
    match v.parse::<u32>() {
        Ok(n) if n > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(u64::from(n)),
        _ => Err(format!("value {v} on -t or --timeout is invalid")),
    }
}

/// C's `atoi`, as OVS reads `--max-column-width` (junk is 0: no limit).
fn atoi(v: &str) -> usize {
    let digits: String = v
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        0
    } else {
        digits.parse().unwrap_or(usize::MAX)
    }
}

/// `--format`/`-f`. `bare` (an rvswitch extension) is `--bare`.
fn set_format(opts: &mut Options, s: &str) -> Result<(), String> {
    opts.format = match s {
        "list" | "text" => TableFormat::List,
        "table" => TableFormat::Table,
        "csv" => TableFormat::Csv,
        "html" => TableFormat::Html,
        "json" => TableFormat::Json,
        "bare" => {
            opts.data = DataFormat::Bare;
            opts.headings = false;
            TableFormat::List
        }
        _ => {
            return Err(format!(
                "unknown output format \"{s}\" (expected table, list, html, csv, json or bare)"
            ))
        }
    };
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn g(v: &[&str]) -> Result<Globals, String> {
        parse_globals(&a(v))
    }

    #[test]
    fn abbreviations_of_global_and_command_options() {
        let x = g(&[
            "--no-heading",
            "--form=table",
            "--col=name,tag",
            "--if-exist",
            "list",
            "port",
        ])
        .unwrap();
        assert!(!x.opts.headings);
        assert_eq!(x.opts.format, TableFormat::Table);
        assert_eq!(
            x.local.get("--columns"),
            Some(&Some("name,tag".to_string()))
        );
        assert_eq!(x.local.get("--if-exists"), Some(&None));
        assert_eq!(x.scan.rest, 4);
        // A command option that requires a value takes the next word.
        let x = g(&["--columns", "name", "list", "port"]).unwrap();
        assert_eq!(x.local.get("--columns"), Some(&Some("name".to_string())));
        assert_eq!(x.scan.rest, 2);
        // `--fa`: --fake and --fake-iface are one option to getopt; the first counts.
        assert_eq!(
            g(&["--fa", "list-br"]).unwrap().local.get("--fake"),
            Some(&None)
        );
        let x = g(&["--tim=5", "--max-col=7", "--sock=/s", "--bare", "list-br"]).unwrap();
        assert_eq!(x.opts.timeout, Some(5));
        assert_eq!(x.opts.max_column_width, Some(7));
        assert_eq!(x.socket.as_deref(), Some("/s"));
        assert_eq!((x.opts.data, x.opts.headings), (DataFormat::Bare, false));
        let x = g(&["-f", "html", "-dbare", "list-br"]).unwrap();
        assert_eq!(
            (x.opts.format, x.opts.data),
            (TableFormat::Html, DataFormat::Bare)
        );
        let x = g(&["-f", "bare", "list-br"]).unwrap();
        assert_eq!(
            (x.opts.format, x.opts.data, x.opts.headings),
            (TableFormat::List, DataFormat::Bare, false)
        );
    }

    #[test]
    fn errors_are_ovs_vsctls() {
        let e = |v: &[&str]| g(v).unwrap_err();
        // Texts as the installed ovs-vsctl 3.1 prints them.
        assert_eq!(
            e(&["--no", "list-br"]),
            "option '--no' is ambiguous; possibilities: '--no-syslog' '--no-wait' '--no-leader-only' '--no-shuffle-remotes' '--no-headings'"
        );
        assert_eq!(
            e(&["--d=x", "list-br"]),
            "option '--d=x' is ambiguous; possibilities: '--db' '--dry-run' '--data'"
        );
        assert!(e(&["--f", "list-br"]).starts_with(
            "option '--f' is ambiguous; possibilities: '--format' '--fake' '--fake-iface'"
        ));
        assert_eq!(
            e(&["--frob=1", "list-br"]),
            "unrecognized option '--frob=1'"
        );
        assert_eq!(
            e(&["--dry-run=1"]),
            "option '--dry-run' doesn't allow an argument"
        );
        assert_eq!(
            e(&["--may-exist=1", "add-br", "x"]),
            "option '--may-exist' doesn't allow an argument"
        );
        assert_eq!(e(&["--db"]), "option '--db' requires an argument");
        assert_eq!(e(&["-x", "list-br"]), "invalid option -- 'x'");
        assert_eq!(e(&["-t"]), "option requires an argument -- 't'");
        assert_eq!(
            e(&["--tim=0", "list-br"]),
            "value 0 on -t or --timeout is invalid"
        );
        assert_eq!(
            e(&["-t", "x", "list-br"]),
            "value x on -t or --timeout is invalid"
        );
        assert!(e(&["--format=xml", "list-br"]).starts_with("unknown output format \"xml\""));
        assert!(e(&["--da=x", "list-br"]).starts_with("unknown data format \"x\""));
        assert_eq!(
            e(&["--if-exists", "--if-exist", "list", "port"]),
            "'--if-exists' option specified multiple times"
        );
    }

    #[test]
    fn one_table_for_everything() {
        // Every command option is in the matcher's table once, after the globals.
        let t = option_table();
        assert_eq!(&t[..GLOBAL_OPTIONS.len()], GLOBAL_OPTIONS);
        for (name, has_arg) in cmd::all_command_options() {
            let o: Vec<_> = t.iter().filter(|o| o.name == name).collect();
            assert_eq!(o.len(), 1, "{name}");
            assert_eq!(o[0].has_arg, has_arg, "{name}");
        }
        let listing = options_text();
        assert!(listing.starts_with("--db=ARG\n--no-syslog\n"), "{listing}");
        assert!(listing.contains("--timeout=ARG\n-t ARG\n"), "{listing}");
        assert!(!listing.contains("--may-exist"), "{listing}");
    }
}
