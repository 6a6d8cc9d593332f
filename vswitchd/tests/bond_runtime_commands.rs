//! The bond runtime commands of ovs-appctl: `bond/set-active-member`,
//! `bond/enable-member`, `bond/disable-member` (and their `-slave`
//! aliases), `bond/hash`, and the link failure count in `bond/show`.
//!
//! One switch with bridge `br0`, an active-backup bond `bond0` (LACP off)
//! of `a0` and `a1` (net_af_packet on veths whose far ends `p0`, `p1` sit
//! in a peer namespace), and a net_pcap source replaying one flow forever
//! towards a MAC that is static on `bond0`, so every frame leaves on the
//! active member. Asserted, by the members' `tx_packets` and `bond/show`:
//! - set-active-member moves the traffic and the active member
//!   (`done`, then `no change`);
//! - disable-member takes the active member out (traffic moves to the
//!   other); set-active-member of it is refused with OVS's text and
//!   changes nothing; enable-member (as the old `enable-slave`) brings it
//!   back, and set-active-member to it works again;
//! - taking the far end of `a1` down counts one link failure for `a1` and
//!   none for `a0`, and the disable-member hold ends with the carrier
//!   change;
//! - `bond/hash` answers a bucket, and bad input is refused.

mod common;

use std::time::Duration;

use common::lacp::{add_replaying_source, stats};
use common::*;

const DST: [u8; 6] = [0x02, 0, 0, 0, 0x0d, 0x01];
const SRC: [u8; 6] = [0x02, 0, 0, 0, 0x05, 0x01];
const M: [&str; 2] = ["a0", "a1"];

/// Per-member `tx_packets` gained over 400 ms.
fn tx_rate(sw: &Switch) -> Vec<u64> {
    let before = stats(sw, &M, "tx_packets");
    std::thread::sleep(Duration::from_millis(400));
    common::lacp::delta(&before, &stats(sw, &M, "tx_packets"))
}

/// Wait until member `m` carries the flow and the other nothing.
fn wait_carried_by(sw: &Switch, m: usize) {
    wait_until(&format!("the flow on {} only", M[m]), 20, || {
        let d = tx_rate(sw);
        if d[m] > 100 && d[1 - m] == 0 {
            Ok(())
        } else {
            Err(format!("tx deltas {d:?}"))
        }
    });
}

/// The member `bond/show` marks `active member`.
fn active(text: &str) -> Option<String> {
    let mut cur = None;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("member ") {
            cur = rest.split(':').next().map(str::to_string);
        } else if l == "  active member" {
            return cur;
        }
    }
    None
}

/// Member `m`'s `link failure count` in `bond/show`.
fn failures(text: &str, m: &str) -> u64 {
    let mut in_m = false;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("member ") {
            in_m = rest.split(':').next() == Some(m);
        } else if let Some(n) = l.strip_prefix("  link failure count: ") {
            if in_m {
                return n.parse().unwrap();
            }
        }
    }
    panic!("no link failure count for {m} in\n{text}")
}

#[test]
fn set_active_disable_enable_and_link_failures() {
    let _g = serial();
    let dir = TestDir::new("bondrt");
    let mut sw = Switch::start("bondrt");
    let peer = Netns::new("bondrt-peer");
    let _l0 = VethPair::new(&sw.netns, "a0", &peer, "p0");
    let _l1 = VethPair::new(&sw.netns, "a1", &peer, "p1");
    sw.add_bridge("br0", &[]);
    sw.vsctl_ok(&[
        "add-bond",
        "br0",
        "bond0",
        "a0",
        "a1",
        "bond_mode=active-backup",
        "--",
        "set",
        "Interface",
        "a0",
        "type=dpdk",
        "options:dpdk-devargs=\"net_af_packet0,iface=a0\"",
        "--",
        "set",
        "Interface",
        "a1",
        "type=dpdk",
        "options:dpdk-devargs=\"net_af_packet1,iface=a1\"",
    ]);
    sw.wait_link_up("a0", 20);
    sw.wait_link_up("a1", 20);
    let mac = |b: [u8; 6]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    sw.vsctl_ok(&["fdb/add", "br0", "bond0", "0", &mac(DST)]);
    let flow = dir.join("flow.pcap");
    pcap::write(&flow, &[pcap::udp_frame(DST, SRC, 1000, 2000, 0)]);
    add_replaying_source(&sw, "br0", "src", "net_pcap9", &flow);

    // Whichever member is active carries the flow; make the other active.
    let first = wait_until("an active member", 20, || {
        active(&sw.vsctl_ok(&["bond/show", "bond0"])).ok_or("none".to_string())
    });
    let (a, b) = if first == "a0" { (0, 1) } else { (1, 0) };
    wait_carried_by(&sw, a);
    assert_eq!(
        sw.vsctl_ok(&["bond/set-active-member", "bond0", M[b]]),
        "done\n"
    );
    let show = sw.vsctl_ok(&["bond/show", "bond0"]);
    assert_eq!(active(&show).as_deref(), Some(M[b]), "{show}");
    wait_carried_by(&sw, b);
    assert_eq!(
        sw.vsctl_ok(&["bond/set-active-slave", "bond0", M[b]]),
        "no change\n"
    );

    // disable-member takes the active member out; traffic moves.
    assert_eq!(
        sw.vsctl_ok(&["bond/disable-member", "bond0", M[b]]),
        "disabled\n"
    );
    let show = sw.vsctl_ok(&["bond/show", "bond0"]);
    assert!(
        show.contains(&format!(
            "member {}: disabled\n  may_enable: true\n  disabled by bond/disable-member\n",
            M[b]
        )),
        "{show}"
    );
    assert_eq!(active(&show).as_deref(), Some(M[a]), "{show}");
    wait_carried_by(&sw, a);
    // It stays out (no updelay brings it back), and cannot be made active.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!sw.bond_show("bond0").enabled(M[b]));
    let o = sw.vsctl(&["bond/set-active-member", "bond0", M[b]]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "vsctl: cannot make disabled member active\n"
    );
    wait_carried_by(&sw, a);

    // enable-member (by its old name) brings it back.
    assert_eq!(
        sw.vsctl_ok(&["bond/enable-slave", "bond0", M[b]]),
        "enabled\n"
    );
    assert!(sw.bond_show("bond0").enabled(M[b]));
    assert_eq!(
        sw.vsctl_ok(&["bond/set-active-member", "bond0", M[b]]),
        "done\n"
    );
    wait_carried_by(&sw, b);

    // Refusals, with OVS's texts.
    for (args, err) in [
        (&["bond/enable-member", "nobond", "a0"][..], "no such bond"),
        (&["bond/enable-member", "src", "a0"][..], "no such bond"),
        (
            &["bond/disable-member", "bond0", "src"][..],
            "no such member",
        ),
        (&["bond/hash", "02:00:00:00:00"][..], "invalid mac"),
        (
            &["bond/hash", "02:00:00:00:00:01", "4096"][..],
            "invalid vlan",
        ),
        (
            &["bond/hash", "02:00:00:00:00:01", "1", "x"][..],
            "invalid basis",
        ),
    ] {
        assert_eq!(sw.vsctl_err(args), format!("vsctl: {err}\n"), "{args:?}");
    }
    let h: u32 = sw
        .vsctl_ok(&["bond/hash", "02:00:00:00:00:01", "10", "7"])
        .trim()
        .parse()
        .unwrap();
    assert!(h < 256);

    // Carrier: a1's far end down counts one link failure for a1 only; a
    // disable-member hold on a1 ends with the carrier change.
    let show = sw.vsctl_ok(&["bond/show", "bond0"]);
    let f0 = (failures(&show, "a0"), failures(&show, "a1"));
    sw.vsctl_ok(&["bond/disable-member", "bond0", "a1"]);
    peer.ip(&["link", "set", "p1", "down"]);
    wait_until("a1's link failure counted", 20, || {
        let show = sw.vsctl_ok(&["bond/show", "bond0"]);
        if failures(&show, "a1") == f0.1 + 1 {
            Ok(show)
        } else {
            Err(show)
        }
    });
    peer.ip(&["link", "set", "p1", "up"]);
    let show = wait_until("a1 back with its carrier", 20, || {
        let show = sw.vsctl_ok(&["bond/show", "bond0"]);
        if show.contains("member a1: enabled\n") {
            Ok(show)
        } else {
            Err(show)
        }
    });
    assert_eq!(failures(&show, "a0"), f0.0, "{show}");
    assert_eq!(failures(&show, "a1"), f0.1 + 1, "{show}");
    assert!(!show.contains("disabled by bond/disable-member"), "{show}");
    sw.check_alive();
}
