//! Issue 6, item 1: VLAN hopping, through the daemon.
//!
//! Two net_pcap sources replay hand-made frames once into bridge br0:
//! - `a300`, an access port of VLAN 300, sends double-tagged frames (outer
//!   802.1Q 300, inner 301: the classic hop), frames tagged 301, frames
//!   with an 802.1ad S-tag 301, and double-tagged frames to a MAC that is
//!   statically known on VLAN 301;
//! - `t300`, a trunk that allows only VLAN 300, sends frames tagged 301,
//!   double-tagged 301/300, untagged frames (VLAN 0, not allowed either).
//!
//! Every one of them must be dropped on ingress and counted as
//! `rx_dropped_vlan_filtered` of the interface it came in on: an access
//! port of VLAN 301 (`v301`) and a trunk carrying only 301 (`t301`, a pcap
//! capture) receive nothing, no MAC is learned on VLAN 301, and a trunk
//! carrying 300 and 301 (`tboth`, a pcap capture) receives only the
//! control frames that are legitimately in VLAN 300 (untagged on `a300`,
//! tagged 300 on `t300`), each exactly once and tagged 300.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use common::parse::parse_fdb;
use common::*;
use hostile::*;

const BCAST: [u8; 6] = [0xff; 6];
const TPID: u16 = 0x8100;
const STAG: u16 = 0x88a8;
/// Frames of each kind.
const EACH: usize = 50;

#[test]
fn tagged_frames_never_hop_into_another_vlan() {
    let _g = serial();
    let dir = TestDir::new("hop");
    let sa = mac("02:00:00:00:30:0a");
    let st = mac("02:00:00:00:30:0b");
    // Statically on v301 in VLAN 301: a unicast target for the attacks.
    let victim = mac("02:00:00:00:30:1f");

    // What a300 (access 300) sends: attacks first, then controls.
    let mut a_frames = Vec::new();
    let payload = ipv4_payload(0x45, 46, &[0; 26]);
    for _ in 0..EACH {
        a_frames.push(eth_frame(
            BCAST,
            sa,
            &[(TPID, 300), (TPID, 301)],
            0x0800,
            &payload,
            64,
        ));
        a_frames.push(eth_frame(BCAST, sa, &[(TPID, 301)], 0x0800, &payload, 64));
        a_frames.push(eth_frame(BCAST, sa, &[(STAG, 301)], 0x0800, &payload, 64));
        a_frames.push(eth_frame(
            victim,
            sa,
            &[(TPID, 300), (TPID, 301)],
            0x0800,
            &payload,
            64,
        ));
    }
    let a_attacks = a_frames.len();
    let a_control = eth_frame(BCAST, sa, &[], 0x0800, &payload, 64);
    for _ in 0..EACH {
        a_frames.push(a_control.clone());
    }
    // What t300 (trunk of 300 only) sends.
    let mut t_frames = Vec::new();
    for _ in 0..EACH {
        t_frames.push(eth_frame(BCAST, st, &[(TPID, 301)], 0x0800, &payload, 64));
        t_frames.push(eth_frame(victim, st, &[(TPID, 301)], 0x0800, &payload, 64));
        t_frames.push(eth_frame(
            BCAST,
            st,
            &[(TPID, 301), (TPID, 300)],
            0x0800,
            &payload,
            64,
        ));
        t_frames.push(eth_frame(BCAST, st, &[], 0x0800, &payload, 64));
    }
    let t_attacks = t_frames.len();
    let t_control = eth_frame(BCAST, st, &[(TPID, 300)], 0x0800, &payload, 64);
    for _ in 0..EACH {
        t_frames.push(t_control.clone());
    }
    let (a_pcap, t_pcap) = (dir.join("a300.pcap"), dir.join("t300.pcap"));
    pcap::write(&a_pcap, &a_frames);
    pcap::write(&t_pcap, &t_frames);
    let (cap_301, cap_both) = (dir.join("t301-out.pcap"), dir.join("tboth-out.pcap"));

    let mut sw = start_switch("hop", "0x2", 1000);
    sw.add_bridge("br0", &[]);
    // Receivers first, so they are ready when the one-shot sources play.
    add_null_sink(&sw, "br0", "v301", "net_null0", &["tag=301"]);
    add_pcap_capture(&sw, "br0", "t301", "net_pcap10", &cap_301, &["trunks=301"]);
    add_pcap_capture(
        &sw,
        "br0",
        "tboth",
        "net_pcap11",
        &cap_both,
        &["trunks=300,301"],
    );
    sw.vsctl_ok(&["fdb/add", "br0", "v301", "301", "02:00:00:00:30:1f"]);
    for p in ["v301", "t301", "tboth"] {
        sw.wait_link_up(p, 30);
    }
    add_pcap_port(
        &sw,
        "br0",
        "a300",
        "net_pcap0",
        &a_pcap,
        false,
        &["tag=300"],
    );
    add_pcap_port(
        &sw,
        "br0",
        "t300",
        "net_pcap1",
        &t_pcap,
        false,
        &["trunks=300"],
    );

    let expect_both = 2 * EACH as u64;
    wait_until(
        "both sources replayed and the controls delivered",
        60,
        || {
            sw.check_alive();
            let (a, t) = (sw.stat("a300", "rx_packets"), sw.stat("t300", "rx_packets"));
            let both = sw.stat("tboth", "tx_packets");
            if a == a_frames.len() as u64 && t == t_frames.len() as u64 && both >= expect_both {
                Ok(())
            } else {
                Err(format!("a300 rx {a}, t300 rx {t}, tboth tx {both}"))
            }
        },
    );

    let a = all_stats(&sw, "a300");
    let t = all_stats(&sw, "t300");
    eprintln!(
        "a300: rx {} vlan_filtered {}; t300: rx {} vlan_filtered {}",
        a["rx_packets"],
        a["rx_dropped_vlan_filtered"],
        t["rx_packets"],
        t["rx_dropped_vlan_filtered"]
    );
    eprintln!(
        "received: v301 {} t301 {} tboth {} (expected 0, 0, {expect_both})",
        sw.stat("v301", "tx_packets"),
        sw.stat("t301", "tx_packets"),
        sw.stat("tboth", "tx_packets")
    );
    assert_eq!(
        a["rx_dropped_vlan_filtered"], a_attacks as u64,
        "access-300 port: every tagged/double-tagged/S-tagged frame is dropped and counted: {a:?}"
    );
    assert_eq!(
        t["rx_dropped_vlan_filtered"], t_attacks as u64,
        "trunk of 300: every frame of another VLAN is dropped and counted: {t:?}"
    );
    for (name, s) in [("a300", &a), ("t300", &t)] {
        let (sum, names) = named_drops(s);
        assert_eq!(
            sum, s["rx_dropped_vlan_filtered"],
            "{name}: drops other than VLAN filtering: {names:?}"
        );
    }

    // Nothing reached VLAN 301.
    let v = all_stats(&sw, "v301");
    assert_eq!(
        v["tx_packets"], 0,
        "access-301 port received something: {v:?}"
    );
    assert_eq!(v["tx_dropped"], 0, "v301: {v:?}");
    let t301 = all_stats(&sw, "t301");
    assert_eq!(
        t301["tx_packets"], 0,
        "trunk of 301 received something: {t301:?}"
    );
    let got_301 = read_pcap(&cap_301);
    assert!(got_301.is_empty(), "t301 captured {} frames", got_301.len());

    // The trunk of 300 and 301 got exactly the controls, tagged 300.
    let both = all_stats(&sw, "tboth");
    assert_eq!(both["tx_packets"], expect_both, "tboth: {both:?}");
    let got = wait_until("tboth's capture file", 10, || {
        let f = read_pcap(&cap_both);
        if f.len() as u64 == expect_both {
            Ok(f)
        } else {
            Err(format!("{} frames", f.len()))
        }
    });
    // a300's untagged control leaves tagged 300; t300's stays as it was.
    // (a300's frame was padded to 64 bytes before the tag went in.)
    let mut a_tagged = a_control.clone();
    a_tagged.splice(12..12, [0x81, 0x00, 0x01, 0x2c]);
    for (i, f) in got.iter().enumerate() {
        assert!(
            *f == a_tagged || *f == t_control,
            "tboth frame {i} is not a VLAN 300 control frame: {f:02x?}"
        );
    }
    let from_a = got.iter().filter(|f| **f == a_tagged).count();
    assert_eq!(from_a, EACH, "controls from a300 at tboth");

    // Only the controls' sources were learned, on VLAN 300; VLAN 301 holds
    // nothing but the static entry.
    let fdb_text = sw.vsctl_ok(&["fdb/show", "br0"]);
    let fdb = parse_fdb(&fdb_text);
    let mut learned: Vec<(u16, String)> = fdb.iter().map(|e| (e.vlan, e.mac.clone())).collect();
    learned.sort();
    assert_eq!(
        learned,
        vec![
            (300, "02:00:00:00:30:0a".to_string()),
            (300, "02:00:00:00:30:0b".to_string()),
            (301, "02:00:00:00:30:1f".to_string()),
        ],
        "fdb/show:\n{fdb_text}"
    );
    sw.check_alive();
}
