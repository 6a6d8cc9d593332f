//! `vsctl`: ovs-vsctl for rvswitch. Sends the command line to vswitchd
//! over the control socket and prints the answer.
//!
//! Its own options (before the first command): `--socket=PATH` (default
//! `$RVSWITCH_SOCKET` or `/run/rvswitch/vswitchd.sock`) and
//! `--format=text|json`; `-t N`/`--timeout=N` also bounds the wait here.
//! Everything else goes to the daemon unchanged.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ctl::client;
use ctl::proto::{resolve_socket, Format, Request};

struct ClientOpts {
    socket: Option<PathBuf>,
    format: Format,
    timeout: Option<Duration>,
    help: bool,
    version: bool,
    argv: Vec<String>,
}

fn parse_args(args: Vec<String>) -> Result<ClientOpts, String> {
    let mut o = ClientOpts {
        socket: None,
        format: Format::Text,
        timeout: None,
        help: false,
        version: false,
        argv: Vec::new(),
    };
    let mut i = 0usize;
    let mut in_globals = true;
    while i < args.len() {
        let a = &args[i];
        if in_globals && (a == "--" || !a.starts_with('-')) {
            in_globals = false;
        }
        if !in_globals {
            o.argv.push(a.clone());
            i += 1;
            continue;
        }
        let next = |i: &mut usize| -> Result<String, String> {
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("option '{}' requires an argument", args[*i - 1]))
        };
        if let Some(p) = a.strip_prefix("--socket=") {
            o.socket = Some(PathBuf::from(p));
        } else if a == "--socket" {
            o.socket = Some(PathBuf::from(next(&mut i)?));
        } else if a == "--format=json" || a == "--format=text" {
            o.format = if a.ends_with("json") {
                Format::Json
            } else {
                Format::Text
            };
        } else if a == "-h" || a == "--help" {
            o.help = true;
        } else if a == "-V" || a == "--version" {
            o.version = true;
        } else if a == "-t" || a == "--timeout" {
            let v = next(&mut i)?;
            o.timeout = parse_timeout(&v)?;
            o.argv.push(a.clone());
            o.argv.push(v);
        } else if let Some(v) = a.strip_prefix("--timeout=").or_else(|| {
            a.strip_prefix("-t")
                .filter(|v| !v.is_empty() && !a.starts_with("--"))
        }) {
            o.timeout = parse_timeout(v)?;
            o.argv.push(a.clone());
        } else {
            o.argv.push(a.clone());
        }
        i += 1;
    }
    Ok(o)
}

fn parse_timeout(v: &str) -> Result<Option<Duration>, String> {
    let secs: u64 = v
        .parse()
        .map_err(|_| format!("value {v} on -t or --timeout is invalid"))?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vsctl: {e}");
            return ExitCode::from(1);
        }
    };
    if opts.help {
        print!("{}", ctl::cmd::usage());
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!("vsctl (rvswitch) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let socket = resolve_socket(opts.socket.as_deref());
    let req = Request::new(opts.argv, opts.format);
    match client::request(&socket, &req, opts.timeout) {
        Ok(resp) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(resp.output.as_bytes());
            let _ = out.flush();
            if !resp.ok {
                eprintln!("vsctl: {}", resp.error);
            }
            let code = if !resp.ok && resp.exit_code == 0 {
                1
            } else {
                resp.exit_code
            };
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("vsctl: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn client_options_are_taken_and_the_rest_passed_through() {
        let o = parse_args(a(&[
            "--socket=/tmp/s",
            "--format=json",
            "--no-wait",
            "-t",
            "5",
            "list-br",
        ]))
        .unwrap();
        assert_eq!(o.socket, Some(PathBuf::from("/tmp/s")));
        assert_eq!(o.format, Format::Json);
        assert_eq!(o.timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.argv, a(&["--no-wait", "-t", "5", "list-br"]));
        let o = parse_args(a(&["add-br", "br0", "--", "--socket=x", "list-br"])).unwrap();
        assert_eq!(
            o.socket, None,
            "options after the first command are not ours"
        );
        assert_eq!(o.argv, a(&["add-br", "br0", "--", "--socket=x", "list-br"]));
        let o = parse_args(a(&["--format=table", "list", "port"])).unwrap();
        assert_eq!(o.format, Format::Text);
        assert_eq!(o.argv, a(&["--format=table", "list", "port"]));
        assert!(parse_args(a(&["--socket"])).is_err());
    }
}
