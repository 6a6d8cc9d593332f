//! QoS is enforced end to end by the real daemon: a net_pcap source
//! replaying one flow forever offers far more than the configured rate,
//! and what leaves through a net_null sink, measured from
//! `Interface.statistics` over a few seconds of wall clock, keeps the rate
//! (±10%); the frames above it are counted as QoS drops. Rates are in
//! bytes of IP packets, as OVS defines them (the frame less its 14-byte
//! Ethernet header): the sink's `tx_packets` × (length − 14).
//!
//! - egress: `Port.qos` of type egress-policer (`cir` bytes/s, `cbs` bytes)
//!   on the sink's port, 64-byte frames;
//! - ingress: `Interface.ingress_policing_rate`/`_burst` (kbit/s, kbit) on
//!   the source, 1,500-byte frames.
//!
//! The rates (1 MB/s, 8 Mbit/s) are far below what even a loaded 2-core
//! machine forwards, so the only limit is the meter.

mod common;

use std::time::{Duration, Instant};

use common::lacp::{add_replaying_source, add_sink};
use common::*;

const DST: [u8; 6] = [0x02, 0, 0, 0, 0x0d, 1];
const SRC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 1];

/// A bridge with the replaying source `s` (frames of `len` bytes to DST)
/// and the sink `d`; waits until frames reach the sink.
fn setup(name: &str, dir: &TestDir, len: usize) -> Switch {
    let pcap = dir.join("s.pcap");
    let frames: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            let mut f = pcap::udp_frame(DST, SRC, 1000, 2000, i);
            f.resize(len, 0);
            f
        })
        .collect();
    pcap::write(&pcap, &frames);
    let sw = Switch::start(name);
    sw.add_bridge("br0", &[]);
    // Flooded frames skip a port that is down: only the sink gets them.
    sw.vsctl_ok(&["set", "interface", "br0", "admin_state=down"]);
    add_sink(&sw, "br0", "d");
    add_replaying_source(&sw, "br0", "s", "net_pcap0", &pcap);
    wait_until("frames reach the sink", 20, || {
        match sw.stat("d", "tx_packets") {
            0 => Err("none yet".to_string()),
            n => Ok(n),
        }
    });
    sw
}

/// The sink's transmit rate in IP bytes per second over `secs` seconds
/// (frames of `len` bytes), and how much counter `drops` of `iface` grew
/// meanwhile.
fn measure(sw: &Switch, len: usize, secs: u64, iface: &str, drops: &str) -> (f64, u64) {
    let (p0, d0, t0) = (
        sw.stat("d", "tx_packets"),
        sw.stat(iface, drops),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(secs));
    let (p1, d1) = (sw.stat("d", "tx_packets"), sw.stat(iface, drops));
    let dt = t0.elapsed().as_secs_f64();
    ((p1 - p0) as f64 * (len - 14) as f64 / dt, d1 - d0)
}

fn assert_rate(what: &str, got: f64, want: f64) {
    let err = (got - want) / want;
    println!(
        "{what}: {got:.0} B/s, configured {want:.0} B/s ({:+.2}%)",
        err * 100.0
    );
    assert!(
        err.abs() <= 0.10,
        "{what}: {got:.0} B/s is not within 10% of {want:.0}"
    );
}

#[test]
fn egress_policer_keeps_the_sink_at_its_rate() {
    let _g = serial();
    let dir = TestDir::new("qos-egress");
    let mut sw = setup("qos-egress", &dir, 64);
    // Unlimited first: the source offers much more than 1 MB/s.
    let (free, _) = measure(&sw, 64, 1, "d", "tx_dropped_qos");
    println!("without QoS: {free:.0} B/s");
    assert!(free > 3e6, "the source offers only {free:.0} B/s");

    sw.vsctl_ok(&[
        "set",
        "port",
        "d",
        "qos=@q",
        "--",
        "--id=@q",
        "create",
        "qos",
        "type=egress-policer",
        "other_config:cir=1000000",
        "other_config:cbs=16000",
    ]);
    // Let the first (full) bucket go by.
    std::thread::sleep(Duration::from_secs(1));
    let (rate, dropped) = measure(&sw, 64, 4, "d", "tx_dropped_qos");
    assert_rate("egress-policer, 64 B frames", rate, 1e6);
    assert!(dropped > 1000, "tx_dropped_qos grew by {dropped}");
    // The total is read second: it includes at least what was counted.
    let qos = sw.stat("d", "tx_dropped_qos");
    assert!(sw.stat("d", "tx_dropped") >= qos, "tx_dropped sums it");
    assert_eq!(sw.stat("s", "rx_dropped_qos"), 0);

    // Removed: the sink is free again, and the counter stops.
    sw.vsctl_ok(&["clear", "port", "d", "qos"]);
    std::thread::sleep(Duration::from_millis(500));
    let (free, dropped) = measure(&sw, 64, 1, "d", "tx_dropped_qos");
    assert!(free > 3e6, "after clearing: {free:.0} B/s");
    assert_eq!(dropped, 0);
    sw.check_alive();
}

#[test]
fn ingress_policing_keeps_the_source_at_its_rate() {
    let _g = serial();
    let dir = TestDir::new("qos-ingress");
    let mut sw = setup("qos-ingress", &dir, 1500);
    let (free, _) = measure(&sw, 1500, 1, "s", "rx_dropped_qos");
    println!("without policing: {free:.0} B/s");
    assert!(free > 3e6, "the source offers only {free:.0} B/s");

    // 8,000 kbit/s = 1,000,000 B/s; 200 kbit = 25,000 B deep.
    sw.vsctl_ok(&[
        "set",
        "interface",
        "s",
        "ingress_policing_rate=8000",
        "ingress_policing_burst=200",
    ]);
    std::thread::sleep(Duration::from_secs(1));
    let (rate, dropped) = measure(&sw, 1500, 4, "s", "rx_dropped_qos");
    assert_rate("ingress policing, 1,500 B frames", rate, 1e6);
    assert!(dropped > 1000, "rx_dropped_qos grew by {dropped}");
    let qos = sw.stat("s", "rx_dropped_qos");
    assert!(sw.stat("s", "rx_dropped") >= qos, "rx_dropped sums it");
    assert_eq!(sw.stat("d", "tx_dropped_qos"), 0);

    sw.vsctl_ok(&["set", "interface", "s", "ingress_policing_rate=0"]);
    std::thread::sleep(Duration::from_millis(500));
    let (free, dropped) = measure(&sw, 1500, 1, "s", "rx_dropped_qos");
    assert!(free > 3e6, "after switching it off: {free:.0} B/s");
    assert_eq!(dropped, 0);
    sw.check_alive();
}
