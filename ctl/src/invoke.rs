//! The names the `vsctl` binary answers to, and the `ovs-appctl` command
//! line.
//!
//! - `vsctl`: rvswitch's name; errors are `vsctl: <reason>`, exit 1.
//! - `ovs-vsctl` (a symlink, `scripts/install-ovs-names.sh`): the same
//!   tool; errors are `ovs-vsctl: <reason>`.
//! - `ovs-appctl`: `ovs-appctl [-t TARGET|--target=TARGET] [-T SECS|--timeout=SECS]
//!   [-f json|text] [--pretty] COMMAND [ARG...]` runs one runtime command
//!   (`bond/show`, `lacp/show`, `fdb/show`, `dpif-netdev/pmd-stats-show`,
//!   ...) exactly as `vsctl COMMAND ARG...` does. TARGET `ovs-vswitchd`
//!   (the default) is vswitchd's control socket (`$RVSWITCH_SOCKET` or
//!   `/run/rvswitch/vswitchd.sock`); a TARGET that is a path (starts with
//!   `/`) is taken as the control socket's path; other daemons' names are
//!   refused. As in ovs-appctl, option errors and a daemon that cannot be
//!   reached exit 1, and an error about the command itself prints the
//!   reason, then `ovs-appctl: TARGET: server returned an error`, exit 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{find_command, Kind, COMMANDS};
use crate::getopt::{self, HasArg, ListStyle, LongOpt};

/// Which tool the binary is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Personality {
    /// `vsctl`.
    Vsctl,
    /// `ovs-vsctl`.
    OvsVsctl,
    /// `ovs-appctl`.
    OvsAppctl,
}

impl Personality {
    /// From the program's `argv[0]` (its file name decides; anything
    /// else is `vsctl`).
    pub fn from_argv0(argv0: &str) -> Personality {
        match Path::new(argv0).file_name().and_then(|n| n.to_str()) {
            Some("ovs-vsctl") => Personality::OvsVsctl,
            Some("ovs-appctl") => Personality::OvsAppctl,
            _ => Personality::Vsctl,
        }
    }

    /// The name errors are prefixed with.
    pub const fn name(self) -> &'static str {
        match self {
            Personality::Vsctl => "vsctl",
            Personality::OvsVsctl => "ovs-vsctl",
            Personality::OvsAppctl => "ovs-appctl",
        }
    }
}

/// What an `ovs-appctl` option does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AppctlOpt {
    Target,
    Execute,
    Format,
    Help,
    Option,
    Pretty,
    Version,
    Timeout,
    Verbose,
    LogFile,
    SyslogMethod,
    SyslogTarget,
}

const fn opt(
    name: &'static str,
    short: Option<char>,
    has_arg: HasArg,
    kind: AppctlOpt,
) -> LongOpt<AppctlOpt> {
    LongOpt {
        name,
        short,
        has_arg,
        kind,
    }
}

/// ovs-appctl's options, in its order.
pub static APPCTL_OPTIONS: &[LongOpt<AppctlOpt>] = &[
    opt("target", Some('t'), HasArg::Required, AppctlOpt::Target),
    opt("execute", Some('e'), HasArg::No, AppctlOpt::Execute),
    opt("format", Some('f'), HasArg::Required, AppctlOpt::Format),
    opt("help", Some('h'), HasArg::No, AppctlOpt::Help),
    opt("option", Some('o'), HasArg::No, AppctlOpt::Option),
    opt("pretty", None, HasArg::No, AppctlOpt::Pretty),
    opt("version", Some('V'), HasArg::No, AppctlOpt::Version),
    opt("timeout", Some('T'), HasArg::Required, AppctlOpt::Timeout),
    opt("verbose", Some('v'), HasArg::Optional, AppctlOpt::Verbose),
    opt("log-file", None, HasArg::Optional, AppctlOpt::LogFile),
    opt(
        "syslog-method",
        None,
        HasArg::Required,
        AppctlOpt::SyslogMethod,
    ),
    opt(
        "syslog-target",
        None,
        HasArg::Required,
        AppctlOpt::SyslogTarget,
    ),
];

/// A parsed `ovs-appctl` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Appctl {
    /// `-t`/`--target`, as given.
    pub target: Option<String>,
    /// `-T`/`--timeout`.
    pub timeout: Option<Duration>,
    /// `-f json`.
    pub json: bool,
    /// `--pretty`.
    pub pretty: bool,
    /// `-h`/`--help`.
    pub help: bool,
    /// `-V`/`--version`.
    pub version: bool,
    /// `-o`/`--option`.
    pub list_options: bool,
    /// `COMMAND ARG...`.
    pub command: Vec<String>,
}

impl Appctl {
    /// The target as errors name it.
    pub fn target_name(&self) -> &str {
        self.target.as_deref().unwrap_or("ovs-vswitchd")
    }

    /// The control socket to use: `None` for vswitchd's usual one.
    pub fn socket(&self) -> Result<Option<PathBuf>, String> {
        match self.target.as_deref() {
            None | Some("ovs-vswitchd") => Ok(None),
            Some(p) if p.starts_with('/') => Ok(Some(PathBuf::from(p))),
            Some(other) => Err(format!(
                "cannot talk to \"{other}\": rvswitch's ovs-appctl reaches vswitchd only (use -t ovs-vswitchd, or the path of vswitchd's control socket)"
            )),
        }
    }

    /// What to send to vswitchd: the runtime command, alone (an error
    /// here is about the command: print it the way a server error is
    /// printed).
    pub fn request_argv(&self) -> Result<Vec<String>, String> {
        let name = self.command.first().map(String::as_str).unwrap_or("");
        if !matches!(find_command(name), Ok(s) if s.kind == Kind::Runtime) {
            return Err(format!(
                "\"{name}\" is not a valid command (rvswitch's ovs-appctl runs {})",
                runtime_commands().join(", ")
            ));
        }
        if self.command[1..].iter().any(|a| a == "--") {
            return Err(format!("\"{name}\" command does not take \"--\""));
        }
        let mut argv = Vec::new();
        if self.json {
            argv.push("--format=json".to_string());
        }
        if self.pretty {
            argv.push("--pretty".to_string());
        }
        argv.push("--".to_string());
        argv.extend(self.command.iter().cloned());
        Ok(argv)
    }
}

/// The runtime commands, in table order.
pub fn runtime_commands() -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|s| s.kind == Kind::Runtime)
        .map(|s| s.name)
        .collect()
}

/// Parse the words after `ovs-appctl`. Errors are ovs-appctl's texts.
pub fn parse_appctl(args: &[String]) -> Result<Appctl, String> {
    let scan = getopt::scan(args, APPCTL_OPTIONS)?;
    let mut a = Appctl::default();
    for f in &scan.found {
        let v = f.value.as_deref().unwrap_or("");
        match f.kind {
            AppctlOpt::Target => {
                if a.target.is_some() {
                    return Err("-t or --target may be specified only once".into());
                }
                a.target = Some(v.to_string());
            }
            AppctlOpt::Format => match v {
                "json" => a.json = true,
                "text" => a.json = false,
                _ => return Err(format!("value {v} on -f or --format is invalid")),
            },
            AppctlOpt::Timeout => match v.parse::<u32>() {
                Ok(n) if n > 0 && v.bytes().all(|b| b.is_ascii_digit()) => {
                    a.timeout = Some(Duration::from_secs(u64::from(n)))
                }
                _ => return Err(format!("value {v} on -T or --timeout is invalid")),
            },
            AppctlOpt::Help => a.help = true,
            AppctlOpt::Option => a.list_options = true,
            AppctlOpt::Pretty => a.pretty = true,
            AppctlOpt::Version => a.version = true,
            AppctlOpt::Execute
            | AppctlOpt::Verbose
            | AppctlOpt::LogFile
            | AppctlOpt::SyslogMethod
            | AppctlOpt::SyslogTarget => {}
        }
    }
    if a.help || a.version || a.list_options {
        return Ok(a);
    }
    a.command = args.get(scan.rest..).unwrap_or(&[]).to_vec();
    if a.command.is_empty() {
        return Err("at least one non-option argument is required (use --help for help)".into());
    }
    if a.pretty && !a.json {
        return Err("--pretty is supported with --format json only".into());
    }
    Ok(a)
}

/// `ovs-appctl -o`.
pub fn appctl_options_text() -> String {
    getopt::listing(APPCTL_OPTIONS, ListStyle::Appctl)
}

/// `ovs-appctl --help`.
pub fn appctl_usage() -> String {
    let mut s = String::from(
        "ovs-appctl (rvswitch), for querying and controlling vswitchd\n\
         usage: ovs-appctl [TARGET] COMMAND [ARG...]\n\
         Targets:\n  \
         -t, --target=TARGET  ovs-vswitchd (the default: vswitchd's control socket,\n                       \
         $RVSWITCH_SOCKET or /run/rvswitch/vswitchd.sock) or the socket's path\n\
         Commands:\n",
    );
    for c in COMMANDS.iter().filter(|c| c.kind == Kind::Runtime) {
        s.push_str(&format!("  {} {}\n", c.name, c.usage).replace(" \n", "\n"));
    }
    s.push_str(
        "Other options:\n  \
         -T, --timeout=SECS   wait at most SECS seconds for a response\n  \
         -f, --format=FMT     Output format. One of: 'json', or 'text' (default: text)\n  \
         --pretty             Format the output in a more readable fashion.\n                       \
         Requires: --format=json.\n  \
         -h, --help           Print this helpful information\n  \
         -V, --version        Display ovs-appctl version information\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names() {
        assert_eq!(
            Personality::from_argv0("/usr/local/bin/ovs-vsctl"),
            Personality::OvsVsctl
        );
        assert_eq!(
            Personality::from_argv0("ovs-appctl"),
            Personality::OvsAppctl
        );
        assert_eq!(
            Personality::from_argv0("./target/debug/vsctl"),
            Personality::Vsctl
        );
        assert_eq!(Personality::from_argv0("ovs-vsctl.old"), Personality::Vsctl);
    }

    #[test]
    fn appctl_command_lines() {
        let x = parse_appctl(&a(&[
            "-t",
            "/run/x.sock",
            "--timeout=5",
            "bond/show",
            "bond0",
        ]))
        .unwrap();
        assert_eq!(x.socket().unwrap(), Some(PathBuf::from("/run/x.sock")));
        assert_eq!(x.timeout, Some(Duration::from_secs(5)));
        assert_eq!(x.request_argv().unwrap(), a(&["--", "bond/show", "bond0"]));
        // getopt stops at the command: "-pmd" belongs to it.
        let x = parse_appctl(&a(&[
            "--targ=ovs-vswitchd",
            "-T5",
            "dpif-netdev/pmd-stats-show",
            "-pmd",
            "1",
        ]))
        .unwrap();
        assert_eq!(x.socket().unwrap(), None);
        assert_eq!(x.command, a(&["dpif-netdev/pmd-stats-show", "-pmd", "1"]));
        let x = parse_appctl(&a(&["-f", "json", "--pretty", "lacp/show"])).unwrap();
        assert_eq!(
            x.request_argv().unwrap(),
            a(&["--format=json", "--pretty", "--", "lacp/show"])
        );
        assert!(parse_appctl(&a(&["-t", "ovsdb-server", "x"]))
            .unwrap()
            .socket()
            .is_err());
    }

    #[test]
    fn appctl_errors_are_ovs_appctls() {
        let e = |v: &[&str]| parse_appctl(&a(v)).unwrap_err();
        assert_eq!(
            e(&["--t=x", "version"]),
            "option '--t=x' is ambiguous; possibilities: '--target' '--timeout'"
        );
        assert_eq!(
            e(&["-t", "a", "-t", "b", "bond/show"]),
            "-t or --target may be specified only once"
        );
        assert_eq!(
            e(&["--timeout=0", "bond/show"]),
            "value 0 on -T or --timeout is invalid"
        );
        assert_eq!(
            e(&["-t", "/x"]),
            "at least one non-option argument is required (use --help for help)"
        );
        assert_eq!(
            e(&["--pretty", "bond/show"]),
            "--pretty is supported with --format json only"
        );
        // Only runtime commands, and never a chain.
        let x = parse_appctl(&a(&["add-br", "br9"])).unwrap();
        assert!(x
            .request_argv()
            .unwrap_err()
            .starts_with("\"add-br\" is not a valid command"));
        let x = parse_appctl(&a(&["bond/show", "--", "add-br", "x"])).unwrap();
        assert!(x.request_argv().is_err());
    }
}
