//! `wait-until TABLE RECORD [COLUMN[:KEY] OP VALUE]...`: the executor's
//! answer (a chain that must wait does nothing), and the `vsctl` binary
//! polling the daemon until the record appears, or dying of SIGALRM as
//! ovs-vsctl does when `--timeout` passes.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{run_program, start_daemon};
use common::*;
use ctl::client;
use ctl::proto::{Format, Request};

fn setup() -> (ctl::db::Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(
        &mut db,
        &env,
        "vsctl add-br br0 -- add-bond br0 bond0 eth0 eth1",
    );
    ok(
        &mut db,
        &env,
        "vsctl set port bond0 bond_updelay=500 other-config:abc=def",
    );
    (db, env)
}

#[test]
fn conditions_that_hold_run_the_chain() {
    let (mut db, env) = setup();
    // ovs-vsctl.at, "wait-until immediately true".
    for line in [
        "vsctl wait-until Open_vSwitch . bridges!=[]",
        "vsctl wait-until Port bond0 other-config:abc=def",
        "vsctl wait-until port bond0 'bond_updelay>50' 'other-config:abc>d' 'other-config:abc<e'",
        "vsctl wait-until bridge br0",
    ] {
        let out = run(&db, &env, line).unwrap();
        assert!(!out.waiting, "{line}");
    }
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl wait-until bridge br0 -- get port bond0 bond-updelay"
        ),
        "500\n"
    );
}

#[test]
fn a_chain_that_must_wait_does_nothing() {
    let (db, env) = setup();
    for line in [
        "vsctl wait-until bridge br1",
        "vsctl wait-until port bond0 bond_updelay<50",
        "vsctl wait-until port bond0 other-config:abc=xyz",
        "vsctl wait-until port bond0 other-config:nokey=1",
        // Commands before the wait are thrown away with it.
        "vsctl add-br br1 -- wait-until bridge br1 other_config:x=y -- list-br",
    ] {
        let out = run(&db, &env, line).unwrap();
        assert!(out.waiting, "{line}");
        assert!(out.new_db.is_none(), "{line}");
        assert_eq!(out.output, "", "{line}");
    }
}

#[test]
fn bad_conditions_are_refused_at_once() {
    let (db, env) = setup();
    assert_eq!(
        err(&db, &env, "vsctl wait-until bridge nosuch nosuchcol=1"),
        "Bridge does not contain a column whose name matches \"nosuchcol\""
    );
    assert_eq!(
        err(&db, &env, "vsctl wait-until bridge br0 other_config:y,z"),
        "other_config:y,z: argument does not end in \"=\", \"!=\", \"<\", \">\", \"<=\", \">=\", \"{=}\", \"{!=}\", \"{<}\", \"{>}\", \"{<=}\", \"{>=}\", \"{in}\", or \"{not-in}\" followed by a value."
    );
    assert!(err(&db, &env, "vsctl wait-until frob br0").contains("unknown table \"frob\""));
    assert!(err(&db, &env, "vsctl wait-until port bond0 bond_updelay=abc").contains("abc"));
    assert!(err(&db, &env, "vsctl wait-until bridge").contains("requires at least 2 arguments"));
}

fn vsctl(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vsctl"));
    c.args(args).env_remove(ctl::proto::SOCKET_ENV);
    c
}

#[test]
fn vsctl_waits_until_the_record_appears() {
    let dir = TempDir::new("wait-until");
    let sock = start_daemon(&dir.0);
    let s = format!("--socket={}", sock.display());

    // The daemon's reply while waiting: an old client would fail, not succeed.
    let req = Request::new(
        vec!["wait-until".into(), "bridge".into(), "br1".into()],
        Format::Text,
    );
    let r = client::request(&sock, &req, Some(Duration::from_secs(5))).unwrap();
    assert!(r.waiting && !r.ok, "{r:?}");

    let waiter = vsctl(&[
        &s,
        "--timeout=20",
        "wait-until",
        "bridge",
        "br1",
        "other_config:abc=def",
        "--",
        "get",
        "bridge",
        "br1",
        "other-config",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The record alone is not enough.
    let vs = Path::new(env!("CARGO_BIN_EXE_vsctl"));
    assert_eq!(run_program(vs, &[&s, "add-br", "br1"], &[]).0, 0);
    std::thread::sleep(Duration::from_millis(400));
    let t = Instant::now();
    assert_eq!(
        run_program(
            vs,
            &[&s, "set", "bridge", "br1", "other-config:abc=def"],
            &[]
        )
        .0,
        0
    );
    let out = waiter.wait_with_output().unwrap();
    let took = t.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{abc=def}\n");
    assert!(
        took < Duration::from_secs(3),
        "answered {took:?} after the change"
    );
}

#[test]
fn vsctl_dies_of_sigalrm_at_the_timeout_as_ovs_vsctl_does() {
    let dir = TempDir::new("wait-until-timeout");
    let sock = start_daemon(&dir.0);
    let s = format!("--socket={}", sock.display());

    let t = Instant::now();
    let out = vsctl(&[&s, "--timeout=1", "wait-until", "bridge", "nosuch"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.signal(), Some(libc::SIGALRM), "{:?}", out.status);
    assert_eq!(out.stdout, b"");
    let err = String::from_utf8_lossy(&out.stderr);
    // `2026-12-07T19:03:47Z|00001|fatal_signal|WARN|terminating with signal 14 (Alarm clock)`
    let (stamp, rest) = err.split_once('|').unwrap_or(("", ""));
    assert_eq!(
        rest, "00001|fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n",
        "{err}"
    );
    assert!(
        stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{err}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // A shell sees status 142, as with ovs-vsctl.
    let sh = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' {s} -t 1 wait-until bridge nosuch 2>/dev/null; echo $?",
            env!("CARGO_BIN_EXE_vsctl")
        ))
        .env_remove(ctl::proto::SOCKET_ENV)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sh.stdout), "142\n");

    // A condition on an unknown column is refused at once, exit 1.
    let t = Instant::now();
    let (code, out, err) = run_program(
        Path::new(env!("CARGO_BIN_EXE_vsctl")),
        &[
            &s,
            "--timeout=10",
            "wait-until",
            "bridge",
            "nosuch",
            "nosuchcol=1",
        ],
        &[],
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "vsctl: Bridge does not contain a column whose name matches \"nosuchcol\"\n"
        )
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}
