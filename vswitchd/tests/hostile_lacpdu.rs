//! Issue 6, item 3: malformed LACPDUs on a negotiated bond's wire.
//!
//! Switch A (under test) and switch B (its LACP partner, PMD on core 0)
//! join two LACP bonds (active, fast, balance-tcp) over two links opened
//! with net_af_packet: a1-b1 is a veth pair, a0-b0 runs through a "wire"
//! namespace (two veths joined by tc mirred) where the test splices in a
//! raw socket that sends frames towards a0 only, as a tap on the cable.
//! A also has a sink port `n0` and its internal port `br0`.
//!
//! Once both bonds are negotiated the test puts on a0's wire, five times
//! each: a LACPDU cut short, one with a wrong TLV length, version 0, a
//! partner "distributing" without "collecting", a zero system ID, a
//! partner claiming A's own system ID, a Marker PDU cut short, garbage of
//! ethertype 0x8809 to 01:80:c2:00:00:02 and to the broadcast address,
//! and an 802.1Q-tagged 0x8809 frame to 01:80:c2:00:00:02. Then:
//! - every untagged 0x8809 frame is counted by `lacp/show-stats` as an RX
//!   Bad PDU of a0 (exactly), the tagged one as
//!   `rx_dropped_reserved_multicast`;
//! - nothing reached another port: `n0` and `br0` sent nothing;
//! - negotiation is unchanged on both sides: both members current,
//!   enabled, with the same partner; no Link Expired / Link Defaulted; no
//!   "LACP disabled" in A's log; waited past the 3 s fast timeout.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use common::lacp::*;
use common::*;
use hostile::*;

const SLOW_DST: [u8; 6] = [0x01, 0x80, 0xc2, 0, 0, 2];
const ACTIVE: u8 = 0x01;
const FAST: u8 = 0x02;
const AGG: u8 = 0x04;
const SYNC: u8 = 0x08;
const COLL: u8 = 0x10;
const DIST: u8 = 0x20;
/// Copies of each bad frame.
const COPIES: usize = 5;

/// One side's information in a LACPDU.
#[derive(Clone, Copy)]
struct Info {
    sys: [u8; 6],
    key: u16,
    port: u16,
    state: u8,
}

/// A well-formed version 1 LACPDU frame (124 bytes).
fn lacpdu(src: [u8; 6], actor: Info, partner: Info) -> Vec<u8> {
    let mut f = Vec::with_capacity(124);
    f.extend_from_slice(&SLOW_DST);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0x09, 1, 1]);
    for (tlv, i) in [(1u8, actor), (2u8, partner)] {
        f.extend_from_slice(&[tlv, 20]);
        f.extend_from_slice(&0x8000u16.to_be_bytes());
        f.extend_from_slice(&i.sys);
        f.extend_from_slice(&i.key.to_be_bytes());
        f.extend_from_slice(&0x8000u16.to_be_bytes());
        f.extend_from_slice(&i.port.to_be_bytes());
        f.push(i.state);
        f.extend_from_slice(&[0; 3]);
    }
    f.extend_from_slice(&[3, 16]);
    f.extend_from_slice(&[0; 14]);
    f.extend_from_slice(&[0, 0]);
    f.resize(124, 0);
    f
}

#[test]
fn malformed_lacpdus_are_counted_and_change_nothing() {
    let _g = serial();
    let mut a = start_switch("lpa", "0x2", 1000);
    let mut b = start_switch("lpb", "0x1", 1000);
    let wire = Wire::new("lp0", &a.netns, "a0", &b.netns, "b0");
    let _l1 = VethPair::new(&a.netns, "a1", &b.netns, "b1");
    let (am, bm) = (["a0", "a1"], ["b0", "b1"]);
    add_af_packet_bond(&a, "br0", "bond0", am);
    add_af_packet_bond(&b, "br0", "bond0", bm);
    add_null_sink(&a, "br0", "n0", "net_null0", &[]);

    let la = wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 60);
    let lb = wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 60);
    let a_sys = mac(&la.sys_id);
    let b_sys = mac(&lb.sys_id);

    // A real-looking partner that is not B: if any of the "impossible"
    // PDUs below were taken, a0 would change partner and leave the bond.
    let stranger = Info {
        sys: mac("02:66:66:66:66:66"),
        key: 0x66,
        port: 0x66,
        state: ACTIVE | FAST | AGG | SYNC | COLL | DIST,
    };
    let a0_as_partner = Info {
        sys: a_sys,
        key: 1,
        port: 1,
        state: ACTIVE | FAST | AGG | SYNC | COLL | DIST,
    };
    let src = mac("02:66:00:00:00:01");
    let good = lacpdu(src, stranger, a0_as_partner);
    let mut bad: Vec<(&str, Vec<u8>)> = Vec::new();
    bad.push(("cut short", good[..60].to_vec()));
    let mut f = good.clone();
    f[17] = 16; // actor TLV length
    bad.push(("wrong TLV length", f));
    let mut f = good.clone();
    f[15] = 0;
    bad.push(("version 0", f));
    let mut s = stranger;
    s.state = ACTIVE | FAST | AGG | SYNC | DIST;
    bad.push((
        "distributing without collecting",
        lacpdu(src, s, a0_as_partner),
    ));
    let mut s = stranger;
    s.sys = [0; 6];
    bad.push(("zero system id", lacpdu(src, s, a0_as_partner)));
    let mut s = stranger;
    s.sys = a_sys;
    bad.push(("our own system id", lacpdu(src, s, a0_as_partner)));
    let mut marker = eth_frame(SLOW_DST, src, &[], 0x8809, &[2, 1, 1, 16], 60);
    marker.truncate(20);
    bad.push(("marker cut short", marker));
    let junk: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
    bad.push((
        "0x8809 garbage",
        eth_frame(SLOW_DST, src, &[], 0x8809, &junk, 60),
    ));
    let mut to_bcast = good.clone();
    to_bcast[..6].copy_from_slice(&[0xff; 6]);
    bad.push(("LACPDU to broadcast", to_bcast));
    bad.push((
        "0x8809 garbage to broadcast",
        eth_frame([0xff; 6], src, &[], 0x8809, &[1, 1, 0xde, 0xad], 60),
    ));
    let tagged = eth_frame(SLOW_DST, src, &[(0x8100, 7)], 0x8809, &good[14..], 60);

    let stats_a0 = lacp_stats(&a, "bond0");
    let stats_b0 = lacp_stats(&b, "bond0");
    let a0_0 = all_stats(&a, "a0");
    let others0: Vec<u64> = ["n0", "br0"]
        .iter()
        .map(|p| a.stat(p, "tx_packets"))
        .collect();
    let disabled0 = log_lines(&a, "LACP disabled").len();
    let started = Instant::now();

    let inj = wire.injector();
    let mut sent = 0;
    for _ in 0..COPIES {
        for (what, f) in &bad {
            assert!(inj.send(f), "could not send {what}");
            sent += 1;
        }
        assert!(inj.send(&tagged), "could not send the tagged frame");
    }
    eprintln!("sent {sent} bad Slow Protocols frames and {COPIES} tagged ones to a0");

    wait_until("A to count every bad PDU on a0", 10, || {
        a.check_alive();
        let s = lacp_stats(&a, "bond0");
        let n = s["a0"].rx_bad_pdus - stats_a0["a0"].rx_bad_pdus;
        if n >= sent as u64 {
            Ok(())
        } else {
            Err(format!("{n} of {sent}"))
        }
    });
    // Past the fast timeout (3 s): an accepted bad PDU would have had
    // every chance to disturb selection or time a partner out.
    while started.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(200));
        a.check_alive();
        b.check_alive();
    }

    let stats_a1 = lacp_stats(&a, "bond0");
    let stats_b1 = lacp_stats(&b, "bond0");
    eprintln!(
        "A lacp/show-stats after:\n{}",
        a.vsctl_ok(&["lacp/show-stats", "bond0"])
    );
    assert_eq!(
        stats_a1["a0"].rx_bad_pdus - stats_a0["a0"].rx_bad_pdus,
        sent as u64,
        "RX Bad PDUs on a0"
    );
    assert_eq!(stats_a1["a1"].rx_bad_pdus, stats_a0["a1"].rx_bad_pdus, "a1");
    // Only B's own LACPDUs (one a second, fast) counted as good ones.
    let good_rx = stats_a1["a0"].rx_pdus - stats_a0["a0"].rx_pdus;
    let secs = started.elapsed().as_secs() + 2;
    assert!(good_rx <= secs, "a0 took {good_rx} good PDUs in {secs} s");
    for (side, before, after) in [("A", &stats_a0, &stats_a1), ("B", &stats_b0, &stats_b1)] {
        for (m, s) in after.iter() {
            let s0 = &before[m];
            assert_eq!(
                (s.link_expired, s.link_defaulted, s.carrier_changes),
                (s0.link_expired, s0.link_defaulted, s0.carrier_changes),
                "{side} {m}: LACP expired/defaulted/carrier changed"
            );
        }
    }
    let a0_1 = all_stats(&a, "a0");
    assert_eq!(
        a0_1["rx_dropped_reserved_multicast"] - a0_0["rx_dropped_reserved_multicast"],
        COPIES as u64,
        "tagged 0x8809 to 01:80:c2:00:00:02: {a0_1:?}"
    );
    let others1: Vec<u64> = ["n0", "br0"]
        .iter()
        .map(|p| a.stat(p, "tx_packets"))
        .collect();
    assert_eq!(others0, others1, "a Slow Protocols frame reached n0 or br0");

    // Negotiation unchanged.
    let la1 = wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 1);
    let lb1 = wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 1);
    for m in am {
        assert_eq!(
            la1.member(m).unwrap().partner_sys_id,
            lb.sys_id,
            "A {m}'s partner"
        );
    }
    for m in bm {
        assert_eq!(
            lb1.member(m).unwrap().partner_sys_id,
            la.sys_id,
            "B {m}'s partner"
        );
    }
    assert_eq!(mac(&lb1.sys_id), b_sys);
    let disabled = log_lines(&a, "LACP disabled");
    assert_eq!(
        disabled.len(),
        disabled0,
        "a member of A was disabled: {:?}",
        &disabled[disabled0..]
    );
}
