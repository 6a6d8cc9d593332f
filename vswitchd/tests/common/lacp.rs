//! Pieces of the LACP scenarios: bonds over veths, one-flow traffic
//! sources, and waiting for negotiation.

use std::path::Path;

use super::parse::{BondShow, LacpShow};
use super::{wait_until, Switch, VethPair};

/// Destination and source MACs of the test flow (the destination is never
/// learned: the flow is flooded, which on a bridge with one bond and one
/// sink goes out of the bond and into the sink).
pub const FLOW_DST: [u8; 6] = [0x02, 0, 0, 0, 0x0d, 0x01];
pub const FLOW_SRC: [u8; 6] = [0x02, 0, 0, 0, 0x05, 0x01];

/// Frames per traffic phase.
pub const FLOW_FRAMES: usize = 20_000;

/// Bridge `br` with LACP bond `bond` (active, fast, balance-tcp) of
/// members named like the veth ends they open with net_af_packet.
pub fn add_af_packet_bond(sw: &Switch, br: &str, bond: &str, members: [&str; 2]) {
    sw.add_bridge(br, &[]);
    sw.vsctl_ok(&[
        "add-bond",
        br,
        bond,
        members[0],
        members[1],
        "bond_mode=balance-tcp",
        "lacp=active",
        "other_config:lacp-time=fast",
        "--",
        "set",
        "Interface",
        members[0],
        "type=dpdk",
        &format!(
            "options:dpdk-devargs=\"net_af_packet0,iface={}\"",
            members[0]
        ),
        "--",
        "set",
        "Interface",
        members[1],
        "type=dpdk",
        &format!(
            "options:dpdk-devargs=\"net_af_packet1,iface={}\"",
            members[1]
        ),
    ]);
}

/// A one-shot net_pcap source port replaying `pcap` once.
pub fn add_pcap_source(sw: &Switch, br: &str, port: &str, vdev: &str, pcap: &Path) {
    add_pcap_port(sw, br, port, &format!("{vdev},rx_pcap={}", pcap.display()));
}

/// A net_pcap source port replaying `pcap` forever.
pub fn add_replaying_source(sw: &Switch, br: &str, port: &str, vdev: &str, pcap: &Path) {
    add_pcap_port(
        sw,
        br,
        port,
        &format!("{vdev},rx_pcap={},infinite_rx=1", pcap.display()),
    );
}

fn add_pcap_port(sw: &Switch, br: &str, port: &str, devargs: &str) {
    sw.vsctl_ok(&[
        "add-port",
        br,
        port,
        "--",
        "set",
        "Interface",
        port,
        "type=dpdk",
        &format!("options:dpdk-devargs=\"{devargs}\""),
    ]);
}

/// A sink port (net_null that never receives).
pub fn add_sink(sw: &Switch, br: &str, port: &str) {
    sw.vsctl_ok(&[
        "add-port",
        br,
        port,
        "--",
        "set",
        "Interface",
        port,
        "type=dpdk",
        "options:dpdk-devargs=\"net_null0,no-rx=1\"",
    ]);
}

/// `lacp/show` negotiated, each of `up` current with may_enable and
/// collecting/distributing, each of `down` not; `bond/show` agrees.
pub fn lacp_state_ok(l: &LacpShow, b: &BondShow, up: &[&str], down: &[&str]) -> bool {
    l.negotiated()
        && up.iter().all(|m| l.member_up(m) && b.enabled(m))
        && down.iter().all(|m| !l.member_up(m) && !b.enabled(m))
}

/// Wait until rvswitch's bond is in that state; returns its `lacp/show`.
pub fn wait_rvswitch_lacp(
    sw: &mut Switch,
    bond: &str,
    up: &[&str],
    down: &[&str],
    secs: u64,
) -> LacpShow {
    let what = format!("{} {bond}: up {up:?}, down {down:?}", sw.name);
    wait_until(&what, secs, || {
        sw.check_alive();
        let (l, b) = (sw.lacp_show(bond), sw.bond_show(bond));
        if lacp_state_ok(&l, &b, up, down) {
            Ok(l)
        } else {
            Err(format!("\n{}\n{}", l.text, b.text))
        }
    })
}

/// `statistics:KEY` of several interfaces.
pub fn stats(sw: &Switch, ifaces: &[&str], key: &str) -> Vec<u64> {
    ifaces.iter().map(|i| sw.stat(i, key)).collect()
}

/// Element-wise `after - before`.
pub fn delta(before: &[u64], after: &[u64]) -> Vec<u64> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| a.saturating_sub(*b))
        .collect()
}

/// Counter `label` (`Link Expired`, `RX PDUs`, ...) of member `m` in
/// `lacp/show-stats` text.
pub fn lacp_stat(text: &str, m: &str, label: &str) -> u64 {
    let mut in_member = false;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("member: ") {
            in_member = rest.trim_end_matches(':').trim() == m;
        } else if in_member {
            if let Some(v) = l.trim().strip_prefix(label) {
                return v.trim_start_matches(':').trim().parse().unwrap_or(0);
            }
        }
    }
    panic!("no {label} for {m} in:\n{text}")
}

/// Each member's `Link Expired` and `Link Defaulted` counts on `bond0`.
pub fn expiries(sw: &Switch, members: &[&str]) -> Vec<u64> {
    let t = sw.vsctl_ok(&["lacp/show-stats", "bond0"]);
    members
        .iter()
        .flat_map(|m| {
            [
                lacp_stat(&t, m, "Link Expired"),
                lacp_stat(&t, m, "Link Defaulted"),
            ]
        })
        .collect()
}

/// Two switches A (members a0, a1) and B (b0, b1), each in its own
/// namespace, joined by two veth pairs and each with a 2-member LACP bond
/// `bond0` on `br0` (active, fast, balance-tcp), both negotiated.
pub struct BondedPair {
    pub a: Switch,
    pub b: Switch,
    /// The veth pairs (a0-b0, a1-b1); dropping them removes them.
    pub links: [VethPair; 2],
}

/// A's members.
pub const AM: [&str; 2] = ["a0", "a1"];
/// B's members.
pub const BM: [&str; 2] = ["b0", "b1"];

impl BondedPair {
    /// Start both switches (named `name`a and `name`b) and wait until both
    /// bonds are negotiated with every member enabled.
    pub fn negotiated(name: &str) -> BondedPair {
        let mut a = Switch::start(&format!("{name}a"));
        let mut b = Switch::start(&format!("{name}b"));
        let l0 = VethPair::new(&a.netns, "a0", &b.netns, "b0");
        let l1 = VethPair::new(&a.netns, "a1", &b.netns, "b1");
        add_af_packet_bond(&a, "br0", "bond0", AM);
        add_af_packet_bond(&b, "br0", "bond0", BM);
        wait_rvswitch_lacp(&mut a, "bond0", &AM, &[], 60);
        wait_rvswitch_lacp(&mut b, "bond0", &BM, &[], 60);
        BondedPair {
            a,
            b,
            links: [l0, l1],
        }
    }
}
