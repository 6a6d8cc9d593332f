//! Issue 6, item 2: MAC flooding, through the daemon.
//!
//! Bridge br0 (`mac-table-size=8192`, set explicitly) has:
//! - `ca` and `cb`: net_pcap sources replaying forever (`infinite_rx`) one
//!   conversation, MA -> MB and MB -> MA: once learned, each side's frames
//!   go to the other port only;
//! - `d`: a net_null sink, the fourth port of the VLAN;
//! - `x`: the attacker, a net_pcap source replaying once a file of
//!   1,000,000 broadcast frames, each from a different random source MAC,
//!   as fast as the PMD takes them.
//!
//! While the flood runs the test samples `memory/show` ("mac entries")
//! and, now and then, `fdb/show`. It asserts:
//! - the table never holds more than 8192 entries (and does fill up: the
//!   attack had its chance);
//! - MA and MB stay learned on their ports during and after the flood;
//! - the conversation keeps flowing as unicast: `d` receives exactly the
//!   attacker's 1,000,000 broadcasts (each is flooded to it once) and not
//!   one frame more, so not one frame of MA <-> MB was flooded;
//! - the conversation kept flowing during the flood.
//!
//! It prints the flood's rate and duration.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use common::parse::parse_fdb;
use common::*;
use hostile::*;

const MA: &str = "06:00:00:00:0a:01";
const MB: &str = "06:00:00:00:0b:01";
const TABLE: u64 = 8192;
const ATTACK: u64 = 1_000_000;

/// The `i`th attacker source MAC: distinct for every `i` below 2^40 (an
/// odd multiplier is a bijection modulo 2^40), unicast, locally
/// administered, and never 06:... like the conversation's.
fn attacker_mac(i: u64) -> [u8; 6] {
    let v = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xff_ffff_ffff;
    let b = v.to_be_bytes();
    [0x02, b[3], b[4], b[5], b[6], b[7]]
}

fn has_entry(fdb_text: &str, port: &str, mac: &str) -> bool {
    parse_fdb(fdb_text)
        .iter()
        .any(|e| e.port == port && e.mac == mac && e.vlan == 0)
}

#[test]
fn a_million_source_macs_do_not_disturb_established_stations() {
    let _g = serial();
    let dir = TestDir::new("macflood");
    let (ma, mb) = (mac(MA), mac(MB));
    let (pa, pb, px) = (dir.join("ca.pcap"), dir.join("cb.pcap"), dir.join("x.pcap"));
    let conv = |dst, src, path: &std::path::Path| {
        let frames: Vec<Vec<u8>> = (0..64)
            .map(|i| pcap::udp_frame(dst, src, 1000 + i, 2000, i as u32))
            .collect();
        pcap::write(path, &frames);
    };
    conv(mb, ma, &pa);
    conv(ma, mb, &pb);
    let mut w = PcapWriter::create(&px);
    let mut frame = pcap::udp_frame([0xff; 6], [0; 6], 7, 7, 0);
    for i in 0..ATTACK {
        frame[6..12].copy_from_slice(&attacker_mac(i));
        w.push(&frame);
    }
    assert_eq!(w.finish(), ATTACK);

    let mut sw = start_switch("macflood", "0x2", 1000);
    sw.add_bridge("br0", &["other_config:mac-table-size=8192"]);
    // The internal port's TAP would take a copy of every flooded frame
    // through a syscall; keep it out of the flood.
    sw.vsctl_ok(&["set", "interface", "br0", "admin_state=down"]);
    add_null_sink(&sw, "br0", "d", "net_null0", &[]);
    sw.wait_link_up("d", 30);
    add_pcap_port(&sw, "br0", "ca", "net_pcap0", &pa, true, &[]);
    add_pcap_port(&sw, "br0", "cb", "net_pcap1", &pb, true, &[]);

    // The conversation is established: both stations learned, and the
    // frames between them no longer reach d.
    let d0 = wait_until("MA and MB learned, d quiet", 30, || {
        sw.check_alive();
        let t = sw.vsctl_ok(&["fdb/show", "br0"]);
        let d = sw.stat("d", "tx_packets");
        std::thread::sleep(Duration::from_millis(100));
        let d2 = sw.stat("d", "tx_packets");
        if has_entry(&t, "ca", MA) && has_entry(&t, "cb", MB) && d == d2 {
            Ok(d2)
        } else {
            Err(format!("d tx {d} -> {d2}\n{t}"))
        }
    });
    let b_tx0 = sw.stat("cb", "tx_packets");

    // The attack.
    add_pcap_port(&sw, "br0", "x", "net_pcap2", &px, false, &[]);
    let start = Instant::now();
    let mut first_rx: Option<Instant> = None;
    let mut last_change = start;
    let mut last_rx = 0u64;
    let mut samples = 0u32;
    let mut max_entries = 0u64;
    let mut fdb_checks = 0u32;
    let b_tx_at_end = loop {
        sw.check_alive();
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "flood did not finish: x rx {last_rx}"
        );
        let m = memory_show(&sw);
        let entries = *m.get("mac entries").expect("memory/show has mac entries");
        samples += 1;
        max_entries = max_entries.max(entries);
        assert!(
            entries <= TABLE,
            "the MAC table holds {entries} entries, more than its size {TABLE}"
        );
        let rx = sw.stat("x", "rx_packets");
        let now = Instant::now();
        if rx > 0 && first_rx.is_none() {
            first_rx = Some(now);
        }
        if rx != last_rx {
            last_change = now;
            last_rx = rx;
        }
        if rx > 0 && rx < ATTACK && samples.is_multiple_of(4) {
            // In the middle of the flood, the stations are still known.
            let t = sw.vsctl_ok(&["fdb/show", "br0"]);
            let rows = parse_fdb(&t).len() as u64;
            assert!(rows <= TABLE, "fdb/show lists {rows} entries");
            assert!(
                has_entry(&t, "ca", MA) && has_entry(&t, "cb", MB),
                "a conversation's station was evicted during the flood (x rx {rx})"
            );
            fdb_checks += 1;
        }
        if rx >= ATTACK {
            break sw.stat("cb", "tx_packets");
        }
    };
    let first = first_rx.expect("the attacker's frames arrived");
    // The counter moved last between the previous sample and `last_change`.
    let secs = last_change.duration_since(first).as_secs_f64().max(0.001);
    let rate = ATTACK as f64 / secs / 1e6;
    eprintln!(
        "flood: {ATTACK} source MACs in {secs:.2} s = {rate:.2} Mpps (sampled every {:.0} ms); \
         {samples} memory/show samples, max mac entries {max_entries}, {fdb_checks} fdb/show checks",
        1000.0 * start.elapsed().as_secs_f64() / f64::from(samples)
    );

    let x = all_stats(&sw, "x");
    assert_eq!(x["rx_packets"], ATTACK, "x: {x:?}");
    assert_eq!(named_drops(&x).0, 0, "x: {:?}", named_drops(&x).1);
    // Every broadcast reaches d once; nothing else does.
    let d = wait_until("d to settle", 10, || {
        let a = sw.stat("d", "tx_packets");
        std::thread::sleep(Duration::from_millis(100));
        let b = sw.stat("d", "tx_packets");
        if a == b {
            Ok(b)
        } else {
            Err(format!("{a} -> {b}"))
        }
    });
    eprintln!("d received {} frames during the flood", d - d0);
    assert_eq!(
        d - d0,
        ATTACK,
        "d received {} frames besides the attacker's broadcasts: the conversation was flooded",
        (d - d0) as i64 - ATTACK as i64
    );
    assert_eq!(named_drops(&all_stats(&sw, "d")).0, 0, "drops on d");
    let t = sw.vsctl_ok(&["fdb/show", "br0"]);
    assert!(has_entry(&t, "ca", MA), "MA lost after the flood:\n{t}");
    assert!(has_entry(&t, "cb", MB), "MB lost after the flood:\n{t}");
    let entries = memory_show(&sw)["mac entries"];
    assert!(
        (TABLE - 64..=TABLE).contains(&entries),
        "after the flood the table should be full but not over: {entries}"
    );
    assert!(
        max_entries >= TABLE - 64,
        "the table never filled up ({max_entries}): the flood did not test eviction"
    );
    // The conversation kept going during the flood.
    assert!(
        b_tx_at_end > b_tx0,
        "cb received nothing from ca during the flood ({b_tx0} -> {b_tx_at_end})"
    );
    sw.check_alive();
}
