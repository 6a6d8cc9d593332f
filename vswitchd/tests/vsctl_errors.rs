//! Issue 3, test 6: vsctl errors through the daemon.
//!
//! Every error case of issue 3, sent by the real `vsctl` binary to a
//! running daemon: unknown bridge or port, a port name already in use on
//! any bridge, VLAN out of range, a bond with fewer than 2 members, an
//! unknown column, and no daemon at the socket. Each prints
//! `vsctl: <reason>`, exits non-zero, and leaves `vsctl show` and
//! `conf.json` as they were. A device that fails to attach does not fail
//! its command: the interface shows `error: "<reason>"`; a vhost-user
//! client port whose server is not there yet is not an error (it waits).

mod common;

use common::switch::run_vsctl;
use common::*;

/// (command line, substrings its message must contain)
const BAD: &[(&[&str], &[&str])] = &[
    // unknown bridge or port
    (&["add-port", "nosuch", "p9"], &["no bridge named nosuch"]),
    (&["del-br", "nosuch"], &["no bridge named nosuch"]),
    (&["list-ports", "nosuch"], &["no bridge named nosuch"]),
    (&["del-port", "nosuch"], &["no port named nosuch"]),
    (&["del-port", "br1", "vhu0"], &["bridge br1 does not have a port vhu0"]),
    (&["set", "port", "nosuch", "tag=5"], &["no row \"nosuch\" in table Port"]),
    (&["fdb/show", "nosuch"], &["no bridge named nosuch"]),
    // a name already in use, on this or another bridge
    (
        &["add-port", "br1", "vhu0"],
        &["cannot create a port named vhu0 because a port named vhu0 already exists on bridge br0"],
    ),
    (
        &["add-port", "br0", "vhu0"],
        &["a port named vhu0 already exists on bridge br0"],
    ),
    (&["add-port", "br0", "e0"], &["e0", "already exists on bridge br1"]),
    (&["add-br", "vhu0"], &["vhu0", "already exists on bridge br0"]),
    // VLAN out of range
    (&["add-port", "br0", "p9", "tag=4095"], &["VLAN 4095 is out of range"]),
    (&["set", "port", "vhu0", "tag=4096"], &["VLAN 4096 is out of range"]),
    (&["add-port", "br0", "p9", "trunks=10,5000"], &["5000", "out of range"]),
    // bonds with fewer than 2 members
    (
        &["add-bond", "br1", "b9", "e9", "lacp=active"],
        &["add-bond requires at least 2 interfaces, but only 1 were specified"],
    ),
    (
        &["del-bond-iface", "bond0", "e1"],
        &["port bond0: lacp=active needs a bond of at least 2 interfaces"],
    ),
    // unknown columns
    (
        &["set", "port", "vhu0", "colour=red"],
        &["Port does not contain a column whose name matches \"colour\""],
    ),
    (
        &["get", "interface", "vhu0", "frobs"],
        &["Interface does not contain a column whose name matches \"frobs\""],
    ),
    // a chain whose last command fails changes nothing
    (
        &["add-port", "br0", "p8", "--", "set", "port", "p8", "tag=4095"],
        &["VLAN 4095 is out of range"],
    ),
];

/// The output of a vsctl run that must fail with `vsctl: <reason>`, one
/// line, the reason containing every string of `want`.
fn check_error(o: &std::process::Output, what: &str, want: &[&str]) -> Result<(), String> {
    let err = stderr(o);
    if o.status.success() {
        return Err(format!("{what}: exited 0 (stdout {:?})", stdout(o)));
    }
    if !err.starts_with("vsctl: ") || err.lines().count() != 1 {
        return Err(format!(
            "{what}: stderr is not one \"vsctl: <reason>\" line: {err:?}"
        ));
    }
    match want.iter().find(|w| !err.contains(*w)) {
        Some(w) => Err(format!("{what}: {err:?} lacks {w:?}")),
        None => Ok(()),
    }
}

#[test]
fn bad_commands_fail_cleanly_and_bad_devices_show_an_error() {
    let _g = serial();
    let dir = TestDir::new("errors");
    let sw = Switch::start("errors");
    let missing_sock = dir.join("nobody-listens-here.sock");
    sw.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
    ]);
    sw.vsctl_ok(&[
        "add-br",
        "br1",
        "--",
        "set",
        "bridge",
        "br1",
        "datapath_type=netdev",
    ]);
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        "vhu0",
        "tag=300",
        "--",
        "set",
        "Interface",
        "vhu0",
        "type=dpdkvhostuserclient",
        &format!("options:vhost-server-path={}", missing_sock.display()),
    ]);
    sw.vsctl_ok(&[
        "add-bond",
        "br1",
        "bond0",
        "e0",
        "e1",
        "lacp=active",
        "bond_mode=balance-tcp",
        "--",
        "set",
        "Interface",
        "e0",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null0,no-rx=1\"",
        "--",
        "set",
        "Interface",
        "e1",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null1,no-rx=1\"",
    ]);
    let conf = sw.state_dir.join("conf.json");
    let show = sw.show();
    let conf_before = std::fs::read(&conf).expect("conf.json written");

    let mut failures = Vec::new();
    for (args, want) in BAD {
        let o = sw.vsctl(args);
        let what = args.join(" ");
        eprint!("vsctl {what}\n  -> {}", stderr(&o));
        if let Err(e) = check_error(&o, &what, want) {
            failures.push(e);
        }
        let now = sw.show();
        if now != show {
            failures.push(format!("{what}: vsctl show changed:\n{now}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(
        std::fs::read(&conf).unwrap(),
        conf_before,
        "conf.json changed"
    );

    // No daemon at the socket: a path that does not exist, and a stale
    // socket file nobody listens on (what a crashed daemon leaves).
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
    for sock in [dir.join("nothing-here.sock"), stale] {
        let o = run_vsctl(&sock, &["show"]);
        let what = format!("vsctl --socket={} show", sock.display());
        if let Err(e) = check_error(&o, &what, &[&sock.display().to_string(), "vswitchd"]) {
            panic!("{e}");
        }
        let err = stderr(&o);
        assert!(
            err.contains("start it with") || err.contains("is vswitchd running"),
            "{what}: no hint on how to start the daemon: {err:?}"
        );
    }

    // A device that fails to attach: the command succeeds, the interface
    // reports the reason.
    let o = sw.vsctl(&[
        "add-port",
        "br0",
        "bad0",
        "tag=300",
        "--",
        "set",
        "Interface",
        "bad0",
        "type=dpdk",
        "options:dpdk-devargs=net_nosuchdriver0",
    ]);
    assert!(
        o.status.success() && stderr(&o).is_empty(),
        "adding a device that cannot attach failed the command: {} {}",
        o.status,
        stderr(&o)
    );
    let reason = wait_until("an error on bad0", 30, || {
        let e = sw.iface_get("bad0", "error");
        if !e.is_empty() && e != "[]" {
            Ok(e)
        } else {
            Err(e)
        }
    });
    eprintln!("bad0 error: {reason:?}");
    let list = sw.vsctl_ok(&["list", "interface", "bad0"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("error") && l.contains(": \"") && l.contains(&reason)),
        "list interface bad0 has no error line with {reason:?}:\n{list}"
    );
    let show = sw.show();
    let bad_block: String = show
        .split("Interface ")
        .find(|b| b.starts_with("bad0"))
        .unwrap_or_else(|| panic!("no Interface bad0 in show:\n{show}"))
        .to_string();
    assert!(
        bad_block.contains(&format!("error: \"{reason}\"")),
        "show has no error line for bad0:\n{show}"
    );
    // The vhost-user client port with no server yet and the working
    // devices have no error.
    for iface in ["vhu0", "e0", "e1"] {
        assert_eq!(
            sw.iface_get(iface, "error"),
            "[]",
            "{iface} reports an error"
        );
    }
    assert_eq!(sw.iface_get("vhu0", "link_state"), "down");
}
