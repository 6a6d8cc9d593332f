//! Issue 6, item 1: bad input through the real daemon.
//!
//! Every command of the table below goes from the `vsctl` binary over the
//! control socket to a running `vswitchd`. Each must be rejected with one
//! `vsctl: <reason>` line on stderr (the reason containing a given
//! substring) and a non-zero exit status, and leave both `vsctl show` and
//! `conf.json` byte-identical. Names over 15 characters, with `/` or white
//! space, duplicates (on the same bridge, another bridge, bond members),
//! VLAN 0/4095/4096 in `tag`, 4095/4096 and reversed ranges in `trunks`,
//! unknown bond modes, LACP on a single interface, a bond member already
//! in another bridge, a vhost-user socket path that is a directory, and
//! many more; plus a devargs string naming the PCI address of the host's
//! own NIC (the interface of the default route), in a test of its own.
//!
//! VLAN 0 in `trunks` is not in the table: as in OVS, it is valid and
//! means "untagged frames are admitted on this trunk" (datapath::vlan).
//!
//! The daemon runs with `--no-pci` (see `common::hardening::cheap_globals`),
//! so even a wrongly accepted PCI address cannot reach the host's NIC.

mod common;

use common::hardening::*;
use common::*;

/// One bad command: its argv and a substring its reason must contain.
struct Case {
    argv: Vec<String>,
    want: &'static str,
}

fn case(argv: &[&str], want: &'static str) -> Case {
    Case {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        want,
    }
}

fn table(dir: &str, missing_sock: &str) -> Vec<Case> {
    let vhost_dir = format!("options:vhost-server-path={dir}");
    let vhost_dup = format!("options:vhost-server-path={missing_sock}");
    // Under the kernel's 128 KiB limit for one argument.
    let long_arg = "x".repeat(100_000);
    vec![
        // Names: too long, "/", white space, control characters, reserved.
        case(
            &["add-br", "abcdefghijklmnop"],
            "is not a valid bridge name: it is 16 characters long, the limit is 15",
        ),
        case(
            &["add-port", "br0", "abcdefghijklmnop"],
            "is not a valid port name: it is 16 characters long",
        ),
        case(
            &["add-bond", "br1", "b9", "abcdefghijklmnop", "e9"],
            "is not a valid interface name: it is 16 characters long",
        ),
        case(
            &["add-br", "a/b"],
            "is not a valid bridge name: it contains \"/\"",
        ),
        case(
            &["add-port", "br0", "x/y"],
            "is not a valid port name: it contains \"/\"",
        ),
        case(
            &["add-port", "br0", "../etc"],
            "is not a valid port name: it contains \"/\"",
        ),
        case(
            &["add-br", "a b"],
            "is not a valid bridge name: it contains white space",
        ),
        case(
            &["add-port", "br0", "p\tq"],
            "is not a valid port name: it contains white space",
        ),
        case(
            &["add-port", "br0", "p\u{7}"],
            "is not a valid port name: it contains control characters",
        ),
        case(&["add-br", ".."], "\"..\" are reserved"),
        case(&["add-br", ""], "bridge name must not be empty"),
        case(
            &["add-br", &long_arg],
            "is not a valid bridge name: it is 100000 characters long",
        ),
        // Duplicates, on the same bridge, another bridge, or as a bond member.
        case(&["add-br", "br0"], "a bridge named br0 already exists"),
        case(
            &["add-port", "br0", "p1"],
            "a port named p1 already exists on bridge br0",
        ),
        case(
            &["add-port", "br1", "p1"],
            "a port named p1 already exists on bridge br0",
        ),
        case(
            &["add-port", "br0", "br1"],
            "because a bridge named br1 already exists",
        ),
        case(
            &["add-bond", "br1", "bond0", "e7", "e8"],
            "a port named bond0 already exists on bridge br1",
        ),
        case(
            &["add-bond", "br0", "b9", "e8", "e8"],
            "because it is listed twice",
        ),
        case(
            &["add-port", "br0", "p8", "--", "add-port", "br0", "p8"],
            "a port named p8 already exists",
        ),
        case(
            &["add-br", "b9", "--", "add-port", "b9", "p1"],
            "a port named p1 already exists on bridge br0",
        ),
        // A bond member that is already in another bridge.
        case(
            &["add-bond", "br0", "b9", "e0", "e9"],
            "an interface named e0 already exists on bridge br1",
        ),
        case(
            &["add-bond", "br0", "b9", "e9", "e1"],
            "an interface named e1 already exists on bridge br1",
        ),
        case(
            &["add-port", "br0", "e1"],
            "an interface named e1 already exists on bridge br1",
        ),
        // VLAN 0, 4095, 4096 and junk in tag.
        case(
            &["add-port", "br0", "p9", "tag=0"],
            "VLAN 0 is not a valid tag",
        ),
        case(
            &["add-port", "br0", "p9", "tag=4095"],
            "VLAN 4095 is out of range",
        ),
        case(
            &["add-port", "br0", "p9", "tag=4096"],
            "VLAN 4096 is out of range",
        ),
        case(
            &["set", "port", "vhu0", "tag=0"],
            "VLAN 0 is not a valid tag",
        ),
        case(
            &["set", "port", "vhu0", "tag=4095"],
            "VLAN 4095 is out of range",
        ),
        case(
            &["set", "port", "vhu0", "tag=4096"],
            "VLAN 4096 is out of range",
        ),
        case(
            &["add-port", "br0", "p9", "tag=-1"],
            "\"-1\" is not a VLAN list",
        ),
        // 4095, 4096, reversed ranges and junk in trunks.
        case(
            &["add-port", "br0", "p9", "trunks=4095"],
            "trunks: VLAN 4095 is out of range",
        ),
        case(
            &["add-port", "br0", "p9", "trunks=4096"],
            "trunks: VLAN 4096 is out of range",
        ),
        case(
            &["add-port", "br0", "p9", "trunks=5-2"],
            "VLAN range 5-2 is reversed",
        ),
        case(
            &["set", "port", "p1", "trunks=5-2"],
            "VLAN range 5-2 is reversed",
        ),
        case(
            &["set", "port", "p1", "trunks=10,4095"],
            "trunks: VLAN 4095 is out of range",
        ),
        case(
            &["set", "port", "p1", "trunks=1-x"],
            "\"x\" is not a VLAN list",
        ),
        // Unknown bond modes.
        case(
            &["set", "port", "bond0", "bond_mode=round-robin"],
            "round-robin is not one of the allowed values",
        ),
        case(
            &["add-bond", "br1", "b9", "e8", "e9", "bond_mode=balance-rr"],
            "balance-rr is not one of the allowed values",
        ),
        // LACP on something that is not a bond.
        case(
            &["set", "port", "p1", "lacp=active"],
            "port p1: lacp=active needs a bond of at least 2 interfaces",
        ),
        case(
            &["set", "port", "vhu0", "lacp=passive"],
            "port vhu0: lacp=passive needs a bond of at least 2 interfaces",
        ),
        case(
            &["add-port", "br0", "p9", "lacp=active"],
            "port p9: lacp=active needs a bond of at least 2 interfaces",
        ),
        // vhost-user socket paths: a directory, relative, already used.
        case(
            &["set", "interface", "vhu0", &vhost_dir],
            "is a directory; it must name the socket file",
        ),
        case(
            &[
                "add-port",
                "br0",
                "v9",
                "--",
                "set",
                "interface",
                "v9",
                "type=dpdkvhostuserclient",
                &vhost_dir,
            ],
            "is a directory; it must name the socket file",
        ),
        case(
            &[
                "add-port",
                "br0",
                "v9",
                "--",
                "set",
                "interface",
                "v9",
                "type=dpdkvhostuserclient",
                "options:vhost-server-path=relative.sock",
            ],
            "must be an absolute path",
        ),
        case(
            &[
                "add-port",
                "br0",
                "v9",
                "--",
                "set",
                "interface",
                "v9",
                "type=dpdkvhostuserclient",
                &vhost_dup,
            ],
            "is already used by interface vhu0",
        ),
        // Devices and interface settings.
        case(
            &[
                "add-port",
                "br0",
                "d9",
                "--",
                "set",
                "interface",
                "d9",
                "type=dpdk",
                "options:dpdk-devargs=\"net_null1,no-rx=1\"",
            ],
            "already used by interface p1",
        ),
        case(
            &["set", "interface", "p1", "mtu_request=20"],
            "mtu_request=20 is out of range",
        ),
        case(
            &["set", "interface", "p1", "mtu_request=100000"],
            "mtu_request=100000 is out of range",
        ),
        case(
            &["set", "interface", "p1", "type=bogus"],
            "interface type \"bogus\" is not supported",
        ),
        case(
            &["set", "interface", "p1", "options:n_rxq=0"],
            "options:n_rxq=0 is not valid",
        ),
        case(
            &["set", "interface", "vhu0", "admin_state=sideways"],
            "sideways is not one of the allowed values",
        ),
        case(
            &[
                "set",
                "interface",
                "e0",
                "other_config:lacp-port-priority=70000",
            ],
            "lacp-port-priority=70000 is out of range",
        ),
        // Port, bridge and global settings.
        case(
            &["set", "port", "vhu0", "vlan_mode=sideways"],
            "\"sideways\" is not a vlan_mode",
        ),
        case(
            &["set", "port", "bond0", "other_config:lacp-time=medium"],
            "lacp-time=\"medium\" is not valid",
        ),
        case(
            &["set", "bridge", "br0", "datapath_type=system"],
            "datapath_type=system is not supported",
        ),
        case(
            &[
                "set",
                "bridge",
                "br0",
                "other_config:hwaddr=01:00:00:00:00:01",
            ],
            "must be a nonzero unicast MAC address",
        ),
        case(
            &["set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x0"],
            "pmd-cpu-mask=0x0 selects no CPU",
        ),
        case(
            &["set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=zz"],
            "is not a hexadecimal CPU mask",
        ),
        case(
            &["set", "Open_vSwitch", ".", "other_config:dpdk-init=maybe"],
            "dpdk-init=\"maybe\" is not valid",
        ),
        // Unknown things and bad syntax.
        case(&["del-br", "nosuch"], "no bridge named nosuch"),
        case(&["del-port", "br0", "nosuch"], "no port named nosuch"),
        case(
            &["set", "port", "nosuch", "tag=5"],
            "no row \"nosuch\" in table Port",
        ),
        case(
            &["set", "port", "vhu0", "colour=red"],
            "Port does not contain a column whose name matches \"colour\"",
        ),
        case(&["frobnicate"], "unknown command 'frobnicate'"),
        case(
            &["add-br"],
            "'add-br' command requires at least 1 arguments",
        ),
        case(
            &["add-bond", "br1", "b9", "e8"],
            "'add-bond' command requires at least 4 arguments",
        ),
        // A chain whose last command fails changes nothing at all.
        case(
            &[
                "add-port", "br0", "p9", "tag=5", "--", "set", "port", "p9", "tag=4095",
            ],
            "VLAN 4095 is out of range",
        ),
        case(
            &[
                "add-br",
                "b9",
                "--",
                "set",
                "Open_vSwitch",
                ".",
                "other_config:dpdk-init=maybe",
            ],
            "dpdk-init=\"maybe\" is not valid",
        ),
    ]
}

/// `vsctl` must have failed with one `vsctl: <reason>` line containing `want`.
fn check_error(o: &std::process::Output, want: &str) -> Result<(), String> {
    let err = stderr(o);
    if o.status.success() {
        return Err(format!("exited 0 (stdout {:?})", stdout(o)));
    }
    if !err.starts_with("vsctl: ") || err.lines().count() != 1 {
        return Err(format!(
            "stderr is not one \"vsctl: <reason>\" line: {err:?}"
        ));
    }
    if !err.contains(want) {
        return Err(format!("{err:?} lacks {want:?}"));
    }
    Ok(())
}

/// A daemon with two bridges: br0 with a vhost-user client port vhu0
/// (tag 300, no server yet) and p1 (trunks 10,20, net_null), br1 with a
/// 2-member LACP bond bond0 (e0, e1, net_null).
fn configured_switch(name: &str, missing_sock: &str) -> Switch {
    let sw = start_cheap(name);
    sw.add_bridge("br0", &[]);
    sw.add_bridge("br1", &[]);
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
        &format!("options:vhost-server-path={missing_sock}"),
    ]);
    add_null_port(&sw, "br0", "p1", 1, &["trunks=10,20"]);
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
        "options:dpdk-devargs=\"net_null2,no-rx=1\"",
        "--",
        "set",
        "Interface",
        "e1",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null3,no-rx=1\"",
    ]);
    sw
}

/// Run every case through `vsctl` (the configuration is in `conf`);
/// returns the failures.
fn run_cases(
    vsctl: &dyn Fn(&[&str]) -> std::process::Output,
    conf: &std::path::Path,
    cases: &[Case],
) -> Vec<String> {
    let show_now = || stdout(&vsctl(&["show"]));
    let show = show_now();
    let conf_now = || std::fs::read(conf).expect("conf.json exists");
    let before = conf_now();
    let mut failures = Vec::new();
    for c in cases {
        let args: Vec<&str> = c.argv.iter().map(String::as_str).collect();
        let what: String = c.argv.join(" ").chars().take(120).collect();
        let o = vsctl(&args);
        eprint!(
            "vsctl {what}\n  -> [{}] {}",
            o.status,
            stderr(&o).chars().take(300).collect::<String>()
        );
        if let Err(e) = check_error(&o, c.want) {
            failures.push(format!("{what}: {e}"));
        }
        if show_now() != show {
            failures.push(format!("{what}: vsctl show changed"));
        }
        if conf_now() != before {
            failures.push(format!("{what}: conf.json changed"));
        }
    }
    failures
}

#[test]
fn forty_and_more_bad_commands_are_rejected_and_change_nothing() {
    let _g = serial();
    let dir = TestDir::new("badcfg");
    let vhost_dir = dir.join("a-directory");
    std::fs::create_dir_all(&vhost_dir).unwrap();
    let missing_sock = dir.join("vhu0.sock").display().to_string();
    let mut sw = configured_switch("badcfg", &missing_sock);
    let cases = table(&vhost_dir.display().to_string(), &missing_sock);
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let conf = sw.state_dir.join("conf.json");
    let failures = run_cases(&|a| sw.vsctl(a), &conf, &cases);
    eprintln!("{} bad commands, {} failures", cases.len(), failures.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    sw.check_alive();
}

/// The PCI address of the interface that holds the default route must be
/// refused as `dpdk-devargs`, in its full and short forms.
///
/// The daemon of this test runs in the host's network namespace: inside
/// another one, `/sys/class/net` and the `net/` directories of PCI devices
/// do not show the host's interfaces, so no daemon there can recognize
/// the host's NIC. Its DPDK is kept down ([`HostDaemon`]), so nothing can
/// reach the NIC even if the check fails.
#[test]
fn devargs_naming_the_hosts_own_nic_are_refused() {
    let _g = serial();
    let Some((iface, pci)) = host_nic_pci() else {
        // No PCI NIC behind the default route on this machine: nothing to
        // protect. (The check itself is unit-tested on a fake sysfs in
        // ctl::env.)
        eprintln!("no default route on a PCI device; skipping");
        return;
    };
    eprintln!("host NIC: {iface} on PCI {pci}");
    let d = HostDaemon::start("hostnic");
    let br = format!("rvh{}", std::process::id() % 100_000);
    d.vsctl_ok(&[
        "add-br",
        &br,
        "--",
        "set",
        "bridge",
        &br,
        "datapath_type=netdev",
    ]);
    let short = pci.strip_prefix("0000:").unwrap_or(&pci).to_string();
    let mut failures = Vec::new();
    for (i, addr) in [pci.as_str(), short.as_str()].iter().enumerate() {
        let port = format!("nic{i}");
        let case = Case {
            argv: vec![
                "add-port".into(),
                br.clone(),
                port.clone(),
                "--".into(),
                "set".into(),
                "interface".into(),
                port.clone(),
                "type=dpdk".into(),
                format!("options:dpdk-devargs={addr}"),
            ],
            want: "one of the host's own network interfaces",
        };
        failures.extend(run_cases(&|a| d.vsctl(a), &d.conf(), &[case]));
        // If it was wrongly accepted, take it away so the next case starts
        // from the same configuration.
        d.vsctl(&["--if-exists", "del-port", &port]);
    }
    assert!(
        failures.is_empty(),
        "the host's own NIC ({iface}, {pci}) was not refused:\n{}",
        failures.join("\n")
    );
}
