//! Issue 12, section 2: two daemons on one state directory, and forged
//! log lines.
//!
//! - A second vswitchd on a state directory in use exits 1 with exactly
//!   `vswitchd: state directory D is in use by pid P` (P: the running
//!   daemon), before it touches conf.json, the socket or its pidfile; the
//!   first keeps working. After the first is killed with SIGKILL the lock
//!   is free again.
//! - With `--detach` the lock file names the daemon (the forked child), not
//!   the parent that exited.
//! - A vsctl value carrying a newline and an ESC sequence (here a bridge
//!   name in a rejected command, which the daemon logs) shows up in the log
//!   as visible escapes on one line: no forged line, no raw control byte.
//!
//! None of these start DPDK (no bridge is ever created).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::switch::{run_vsctl, vswitchd_bin};
use common::*;

/// `vswitchd --state-dir STATE --socket DIR/NAME.sock --pidfile ... --log-file ...
/// [extra]`, run to completion (30 s at most).
fn run_daemon(state: &Path, dir: &Path, name: &str, extra: &[&str]) -> (Output, Duration) {
    let mut cmd = Command::new(vswitchd_bin());
    cmd.arg("--state-dir")
        .arg(state)
        .arg("--socket")
        .arg(dir.join(format!("{name}.sock")))
        .arg("--pidfile")
        .arg(dir.join(format!("{name}.pid")))
        .arg("--log-file")
        .arg(dir.join(format!("{name}.log")))
        .args(extra);
    let t = Instant::now();
    let out = run_timeout(&mut cmd, Duration::from_secs(30));
    (out, t.elapsed())
}

fn lock_pid(state: &Path) -> String {
    std::fs::read_to_string(state.join("vswitchd.lock"))
        .expect("lock file")
        .trim()
        .to_string()
}

#[test]
fn a_second_daemon_on_a_state_directory_in_use_is_refused_and_changes_nothing() {
    let _g = serial();
    let mut sw = Switch::start_bare("sd");
    sw.vsctl_ok(&["set", "Open_vSwitch", ".", "external_ids:owner=first"]);
    let conf = sw.state_dir.join("conf.json");
    let before = std::fs::read(&conf).expect("conf.json");
    let meta = std::fs::metadata(&conf).unwrap();
    let pid = sw.pid().expect("daemon pid");
    assert_eq!(
        lock_pid(&sw.state_dir),
        pid.to_string(),
        "the lock names the daemon"
    );

    let other = TestDir::new("sd-second");
    let (out, took) = run_daemon(&sw.state_dir, &other.path, "second", &[]);
    let err = stderr(&out);
    eprintln!("second daemon: {} after {took:?}: {err}", out.status);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(
        err,
        format!(
            "vswitchd: state directory {} is in use by pid {pid}\n",
            sw.state_dir.display()
        )
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // It stopped before touching anything of its own or of the first.
    assert_eq!(std::fs::read(&conf).unwrap(), before, "conf.json content");
    let after = std::fs::metadata(&conf).unwrap();
    assert_eq!(
        (after.ino(), after.mtime(), after.mtime_nsec()),
        (meta.ino(), meta.mtime(), meta.mtime_nsec()),
        "conf.json was not rewritten"
    );
    assert!(!other.join("second.sock").exists(), "no socket");
    assert!(!other.join("second.pid").exists(), "no pidfile");
    assert_eq!(lock_pid(&sw.state_dir), pid.to_string());

    // The first daemon is unaffected and still saves.
    sw.vsctl_ok(&["set", "Open_vSwitch", ".", "external_ids:owner=still-first"]);
    assert!(String::from_utf8_lossy(&std::fs::read(&conf).unwrap()).contains("still-first"));

    // SIGKILL frees the lock (the kernel drops it with the process), even
    // though the file still names the dead pid.
    sw.kill9();
    assert_eq!(lock_pid(&sw.state_dir), pid.to_string());
    sw.restart();
    let new_pid = sw.pid().expect("restarted");
    assert_ne!(new_pid, pid);
    assert_eq!(lock_pid(&sw.state_dir), new_pid.to_string());
    let v = sw.vsctl_ok(&["get", "Open_vSwitch", ".", "external_ids:owner"]);
    assert_eq!(v.trim(), "still-first", "the configuration survived");
}

/// A daemon started with `--detach`, killed by its pid on drop.
struct Detached {
    pid: Option<u32>,
}

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(p) = self.pid {
            signal(p, "KILL");
        }
    }
}

#[test]
fn with_detach_the_lock_names_the_daemon_and_a_second_one_is_refused() {
    let _g = serial();
    let dir = TestDir::new("sd-detach");
    let state = dir.join("state");
    let (out, _) = run_daemon(&state, &dir.path, "first", &["--detach"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid: u32 = std::fs::read_to_string(dir.join("first.pid"))
        .expect("pidfile")
        .trim()
        .parse()
        .expect("pid");
    let _first = Detached { pid: Some(pid) };
    assert!(pid_alive(pid));
    assert_eq!(
        lock_pid(&state),
        pid.to_string(),
        "the daemon, not the parent"
    );
    let o = run_vsctl(&dir.join("first.sock"), &["list-br"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let (out, _) = run_daemon(&state, &dir.path, "second", &["--detach"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let want = format!(
        "vswitchd: state directory {} is in use by pid {pid}",
        state.display()
    );
    // (With --detach both the child and the parent it reports to print it.)
    assert!(
        !err.trim().is_empty() && err.lines().all(|l| l == want),
        "{err:?}"
    );
    assert!(!dir.join("second.sock").exists());
    assert!(pid_alive(pid), "the first daemon is untouched");
}

#[test]
fn values_with_control_characters_cannot_forge_log_lines() {
    let _g = serial();
    let sw = Switch::start_bare("li");
    let forged = "12:00:00.000 ERROR forged: vhost-user port taken";
    let name = format!("br0\n{forged}\x1b[2J\r\t\u{202e}x");
    let e = sw.vsctl_err(&["add-port", &name, "p1"]);
    assert!(e.starts_with("vsctl: no bridge named br0"), "{e}");
    let log = std::fs::read(&sw.log).expect("log");
    let text = String::from_utf8_lossy(&log);
    eprintln!("log:\n{text}");
    // Every line is one of ours: a timestamp and a level, never the value.
    for line in text.lines() {
        assert!(
            !line.starts_with(forged),
            "forged line in the log: {line:?}"
        );
        let b = line.as_bytes();
        assert!(
            b.len() > 13 && b[2] == b':' && b[5] == b':' && b[8] == b'.',
            "not a log line: {line:?}"
        );
    }
    assert!(
        !log.iter().any(|&b| b == 0x1b || b == b'\r' || b == b'\t'),
        "raw control bytes in the log"
    );
    assert!(!text.contains('\u{202e}'), "raw bidi override in the log");
    // The value is there, escaped, on the line that rejected it.
    let line = text
        .lines()
        .find(|l| l.contains("no bridge named"))
        .expect("the rejection is logged");
    assert!(
        line.contains(&format!(
            "no bridge named br0\\n{forged}\\x1b[2J\\r\\t\\u{{202e}}x"
        )),
        "{line}"
    );
}
