//! `dpif-netdev/pmd-stats-show` counts what the PMD did: after N new
//! stations, "mac entries learned" reads at least N; `pmd-stats-clear`
//! starts it again from zero.
//!
//! Bridge br0 has a net_null sink `d` and a net_pcap source `s` that
//! replays, once, N frames, each from a different source MAC. The sink is
//! added first, so it exists before the source delivers its file.

mod common;

use common::lacp::{add_pcap_source, add_sink};
use common::*;

const N: u64 = 1000;

/// The number after `label: ` on the first line that has it.
fn field(text: &str, label: &str) -> u64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label} in:\n{text}"))
}

#[test]
fn mac_entries_learned_counts_new_stations() {
    let _g = serial();
    let dir = TestDir::new("pmdstats");
    let src = dir.join("s.pcap");
    let frames: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            let b = (i + 1).to_be_bytes();
            let mac = [0x02, 0x5e, b[4], b[5], b[6], b[7]];
            pcap::udp_frame([0xff; 6], mac, 1000, 2000, i as u32)
        })
        .collect();
    pcap::write(&src, &frames);

    let mut sw = Switch::start("pmdstats");
    sw.add_bridge("br0", &[]);
    // The internal port may have sent a frame (and its MAC been learned)
    // before it went down: start counting from here.
    sw.vsctl_ok(&["set", "interface", "br0", "admin_state=down"]);
    sw.vsctl_ok(&["dpif-netdev/pmd-stats-clear"]);
    let before = sw.vsctl_ok(&["dpif-netdev/pmd-stats-show"]);
    assert_eq!(field(&before, "mac entries learned:"), 0, "{before}");
    add_sink(&sw, "br0", "d");
    add_pcap_source(&sw, "br0", "s", "net_pcap0", &src);
    wait_until("the source's frames received", 20, || {
        let n = sw.stat("s", "rx_packets");
        if n >= N {
            Ok(())
        } else {
            Err(format!("{n} of {N}"))
        }
    });
    // The PMD publishes its counters every 256 polling iterations.
    let text = wait_until("mac entries learned reaches N", 10, || {
        let t = sw.vsctl_ok(&["dpif-netdev/pmd-stats-show"]);
        if field(&t, "mac entries learned:") >= N {
            Ok(t)
        } else {
            Err(t)
        }
    });
    println!("{text}");
    assert!(field(&text, "packets received:") >= N, "{text}");
    let fdb = sw.vsctl_ok(&["fdb/show", "br0"]);
    assert!(fdb.lines().count() as u64 > N, "{fdb}");

    sw.vsctl_ok(&["dpif-netdev/pmd-stats-clear"]);
    let cleared = sw.vsctl_ok(&["dpif-netdev/pmd-stats-show"]);
    assert_eq!(field(&cleared, "mac entries learned:"), 0, "{cleared}");
    // The internal port (down, so nothing is learned from it) may still
    // hand the PMD a frame now and then.
    assert!(field(&cleared, "packets received:") < 10, "{cleared}");
    sw.check_alive();
}
