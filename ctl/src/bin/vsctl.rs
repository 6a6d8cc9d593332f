//! `vsctl`: ovs-vsctl for rvswitch. Sends the command line to vswitchd
//! over the control socket and prints the answer.
//!
//! Its own options (before the first command): `--socket=PATH` (default
//! `$RVSWITCH_SOCKET` or `/run/rvswitch/vswitchd.sock`); `-t N`/
//! `--timeout=N` also bounds the wait here (and a `wait-until`'s). The
//! global options are read with the same table the daemon reads them
//! with (`ctl::options`), so abbreviations and errors are the same on
//! both sides; the command line goes to the daemon as given, without
//! `--socket`.
//!
//! Invoked as `ovs-vsctl` it prefixes errors with `ovs-vsctl:`; invoked
//! as `ovs-appctl` it runs one runtime command with ovs-appctl's options
//! (`ctl::invoke`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use ctl::invoke::{self, Personality};
use ctl::options::{self, Global};
use ctl::proto::{resolve_socket, Format, Request, Response};
use ctl::wait::{self, WaitError};

fn main() -> ExitCode {
    let mut all = std::env::args();
    let me = Personality::from_argv0(&all.next().unwrap_or_default());
    let args: Vec<String> = all.collect();
    match me {
        Personality::OvsAppctl => appctl(&args),
        _ => vsctl(me.name(), &args),
    }
}

fn print_output(resp: &Response) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(resp.output.as_bytes());
    let _ = out.flush();
}

fn vsctl(prog: &str, args: &[String]) -> ExitCode {
    let globals = match options::parse_globals(args) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{prog}: {e}");
            return ExitCode::from(1);
        }
    };
    let o = &globals.opts;
    if o.help {
        print!("{}", ctl::cmd::usage_named(prog));
        return ExitCode::SUCCESS;
    }
    if o.version {
        println!("{prog} (rvswitch) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if o.list_options {
        print!("{}", options::options_text());
        return ExitCode::SUCCESS;
    }
    let socket = resolve_socket(globals.socket.as_deref().map(Path::new));
    // Everything goes to the daemon as given, but `--socket`.
    let argv: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            !globals
                .found()
                .iter()
                .any(|f| f.kind == Global::Socket && f.words.contains(i))
        })
        .map(|(_, a)| a.clone())
        .collect();
    let format = if o.json() { Format::Json } else { Format::Text };
    let timeout = o.timeout.map(Duration::from_secs);
    match wait::request(&socket, &Request::new(argv, format), timeout) {
        Ok(resp) => {
            print_output(&resp);
            if !resp.ok {
                eprintln!("{prog}: {}", resp.error);
            }
            let code = if !resp.ok && resp.exit_code == 0 {
                1
            } else {
                resp.exit_code
            };
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        Err(WaitError::TimedOut) => wait::die_of_alarm(),
        Err(WaitError::Client(e)) => {
            eprintln!("{prog}: {e}");
            ExitCode::from(1)
        }
    }
}

fn appctl(args: &[String]) -> ExitCode {
    const PROG: &str = "ovs-appctl";
    let fail = |e: String| {
        eprintln!("{PROG}: {e}");
        ExitCode::from(1)
    };
    let a = match invoke::parse_appctl(args) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if a.help {
        print!("{}", invoke::appctl_usage());
        return ExitCode::SUCCESS;
    }
    if a.version {
        println!("{PROG} (rvswitch) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if a.list_options {
        print!("{}", invoke::appctl_options_text());
        return ExitCode::SUCCESS;
    }
    let socket = match a.socket() {
        Ok(s) => resolve_socket(s.as_deref()),
        Err(e) => return fail(e),
    };
    // As ovs-appctl: the reason, then which target refused, exit 2.
    let refused = |e: &str| {
        eprintln!("{e}");
        eprintln!("{PROG}: {}: server returned an error", a.target_name());
        ExitCode::from(2)
    };
    let argv = match a.request_argv() {
        Ok(v) => v,
        Err(e) => return refused(&e),
    };
    let format = if a.json { Format::Json } else { Format::Text };
    match ctl::client::request(&socket, &Request::new(argv, format), a.timeout) {
        Ok(resp) if resp.ok => {
            print_output(&resp);
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            print_output(&resp);
            refused(&resp.error)
        }
        Err(e) => fail(e.to_string()),
    }
}
