//! Pieces of the LACP scenarios: bonds over veths, one-flow traffic
//! sources, and waiting for negotiation.

use std::path::Path;

use super::parse::{BondShow, LacpShow};
use super::{wait_until, Switch};

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
    sw.vsctl_ok(&[
        "add-port",
        br,
        port,
        "--",
        "set",
        "Interface",
        port,
        "type=dpdk",
        &format!("options:dpdk-devargs=\"{vdev},rx_pcap={}\"", pcap.display()),
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
