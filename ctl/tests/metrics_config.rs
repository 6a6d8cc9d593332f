//! `Open_vSwitch other_config:metrics-listen`: a loopback `IP:PORT` is
//! accepted, set, moved and cleared; an address that is not loopback (unless
//! `metrics-listen-any=true`) or that does not parse is refused with
//! `vsctl: <reason>`, exit 1, and nothing changes.

mod common;

use std::path::Path;

use common::daemon::{run_program, start_daemon};
use common::*;
use ctl::store;

fn vsctl(args: &[&str]) -> (i32, String, String) {
    run_program(Path::new(env!("CARGO_BIN_EXE_vsctl")), args, &[])
}

#[test]
fn refusals_change_nothing() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(
        &mut db,
        &env,
        "vsctl set Open_vSwitch . other_config:metrics-listen=127.0.0.1:9475",
    );
    let before = db.clone();
    for (line, want) in [
        (
            "set Open_vSwitch . other_config:metrics-listen=0.0.0.0:9475",
            "other_config:metrics-listen=0.0.0.0:9475 is not a loopback address",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen=192.0.2.1:9475",
            "set other_config:metrics-listen-any=true as well",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen=[::]:9475",
            "is not a loopback address",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen=localhost:9475",
            "other_config:metrics-listen=\"localhost:9475\" is not an IP address and port",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen=127.0.0.1",
            "is not an IP address and port",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen=127.0.0.1:0",
            "port 0",
        ),
        (
            "set Open_vSwitch . other_config:metrics-listen-any=yes",
            "other_config:metrics-listen-any=\"yes\" is not valid (expected true or false)",
        ),
        // Allowing any address and then taking the permission away again.
        (
            "set Open_vSwitch . other_config:metrics-listen-any=true other_config:metrics-listen=0.0.0.0:9475 -- remove Open_vSwitch . other_config metrics-listen-any",
            "is not a loopback address",
        ),
    ] {
        let e = err(&db, &env, &format!("vsctl {line}"));
        assert!(e.contains(want), "{line}: {e}");
        assert_eq!(db, before);
    }
}

#[test]
fn loopback_or_explicitly_any_is_accepted() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for (line, want) in [
        ("set Open_vSwitch . other_config:metrics-listen=127.0.0.1:9475", Some("127.0.0.1:9475")),
        ("set Open_vSwitch . other_config:metrics-listen=[::1]:9100", Some("[::1]:9100")),
        ("set Open_vSwitch . other_config:metrics-listen-any=true other_config:metrics-listen=0.0.0.0:9475", Some("0.0.0.0:9475")),
        ("remove Open_vSwitch . other_config metrics-listen", None),
    ] {
        ok(&mut db, &env, &format!("vsctl {line}"));
        assert_eq!(
            ctl::metrics::listen_addr(&db.other_config).unwrap(),
            want.map(|w| w.parse().unwrap()),
            "{line}"
        );
    }
}

/// Through the real `vsctl` and a daemon: the refusal is `vsctl: <reason>`
/// on stderr, exit 1, and the saved configuration keeps its value.
#[test]
fn vsctl_refuses_with_exit_1() {
    let dir = TempDir::new("metrics-listen");
    let sock = start_daemon(&dir.0);
    let s = format!("--socket={}", sock.display());
    let (code, _, e) = vsctl(&[
        &s,
        "set",
        "Open_vSwitch",
        ".",
        "other_config:metrics-listen=127.0.0.1:9475",
    ]);
    assert_eq!((code, e.as_str()), (0, ""));
    let (code, out, e) = vsctl(&[
        &s,
        "set",
        "Open_vSwitch",
        ".",
        "other_config:metrics-listen=0.0.0.0:9475",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        e.starts_with("vsctl: other_config:metrics-listen=0.0.0.0:9475 is not a loopback address"),
        "{e}"
    );
    assert!(e.ends_with('\n') && e.lines().count() == 1, "{e:?}");
    let (code, _, e) = vsctl(&[
        &s,
        "set",
        "Open_vSwitch",
        ".",
        "other_config:metrics-listen=nonsense",
    ]);
    assert_eq!(code, 1);
    assert!(
        e.starts_with(
            "vsctl: other_config:metrics-listen=\"nonsense\" is not an IP address and port"
        ),
        "{e}"
    );
    let saved = store::load(&store::config_path(&dir.0)).unwrap().unwrap();
    assert_eq!(
        saved.other_config.get("metrics-listen").map(String::as_str),
        Some("127.0.0.1:9475")
    );
    let (code, out, _) = vsctl(&[
        &s,
        "get",
        "Open_vSwitch",
        ".",
        "other_config:metrics-listen",
    ]);
    assert_eq!((code, out.as_str()), (0, "\"127.0.0.1:9475\"\n"));
}
