//! Ingress policing and egress QoS through the pipeline, on a fake clock.
//!
//! The meters charge a frame's IP bytes (its length less the 14-byte
//! Ethernet header, as OVS defines the rates): 46 bytes for the 60-byte
//! test frames, so the rates and depths below are multiples of 46.

use crate::bond::BondMode;
use crate::counters::Counter;
use crate::qos::{EgressQos, Rate};
use crate::testkit::{bond_view, mac, udp_frame, udp_frame_ip, Rig};
use crate::time::Nanos;
use crate::vlan::PortVlan;

const MS: u64 = 1_000_000;
/// What a 60-byte test frame is charged.
const IP: u64 = 46;

fn rate(bytes_per_s: u64, burst_bytes: u64) -> Rate {
    Rate {
        bytes_per_s,
        burst_bytes,
    }
}

/// A (access 1) and B (access 1), B's MAC known; `n` 60-byte frames A → B.
fn a_to_b() -> (Rig, u16, u16, u16, impl Fn(usize) -> Vec<Vec<u8>>) {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (pb, b) = r.add_port("b", PortVlan::access(1));
    r.mac().add_static(1, mac(0xb), pb).unwrap();
    let frames = |n: usize| vec![udp_frame(mac(0xb), mac(0xa), None, 1, 2); n];
    (r, a, b, pb, frames)
}

#[test]
fn ingress_policing_drops_above_the_rate_and_counts_it() {
    let (mut r, a, b, _, frames) = a_to_b();
    assert_eq!(frames(1)[0].len(), 60);
    // 100 frames/s, ten frames deep.
    r.set_policing(a, Some(rate(100 * IP, 10 * IP)), &[]);
    let t0 = 5_000 * MS;
    r.send_at(a, &frames(32), Nanos(t0));
    assert_eq!(r.sent(b).len(), 10);
    assert_eq!(r.counter(a, Counter::RxQos), 22);
    // Every frame received is counted as received, dropped ones too.
    assert_eq!(r.counter(a, Counter::RxPackets), 32);
    assert_eq!(r.counter(a, Counter::RxBytes), 32 * 60);
    assert_eq!(r.counter(b, Counter::TxPackets), 10);
    // 10 ms later: one frame's worth accrued.
    r.send_at(a, &frames(32), Nanos(t0 + 10 * MS));
    assert_eq!(r.sent(b).len(), 1);
    // An idle minute refills the bucket to its depth only.
    r.send_at(a, &frames(32), Nanos(t0 + 60_000 * MS));
    assert_eq!(r.sent(b).len(), 10);
    assert_eq!(r.counter(a, Counter::RxQos), 22 + 31 + 22);
    assert_eq!(r.drops(a), 22 + 31 + 22, "no other drop counter moved");
    // Switched off: everything passes again.
    r.set_policing(a, None, &[]);
    r.send_at(a, &frames(32), Nanos(t0 + 60_001 * MS));
    assert_eq!(r.sent(b).len(), 32);
}

#[test]
fn ingress_policing_keeps_the_rate_over_a_second() {
    for (len_pad, r_bps) in [(0usize, 100_000u64), (1440, 1_000_000)] {
        let (mut r, a, b, _, _) = a_to_b();
        let mut f = udp_frame(mac(0xb), mac(0xa), None, 1, 2);
        f.resize(f.len() + len_pad, 0);
        let len = f.len() as u64 - 14;
        r.set_policing(a, Some(rate(r_bps, 32 * len)), &[]);
        // Drain the initial burst, then offer twice the rate for a second
        // in bursts of 32 frames.
        r.send_at(a, &vec![f.clone(); 32], Nanos(0));
        r.sent(b);
        let step = 32 * len * 1_000_000_000 / (2 * r_bps);
        let mut t = 0;
        while t < 1_000_000_000 {
            t += step;
            r.send_at(a, &vec![f.clone(); 32], Nanos(t));
        }
        let bytes = r.sent(b).len() as u64 * len;
        let want = r_bps * t / 1_000_000_000;
        let err = bytes.abs_diff(want) as f64 / want as f64;
        assert!(err < 0.01, "{len} B frames: {bytes} bytes, want {want}");
    }
}

#[test]
fn egress_policer_applies_to_what_leaves_the_port() {
    let (mut r, a, b, pb, frames) = a_to_b();
    let (_, c) = r.add_port("c", PortVlan::access(1));
    let q = EgressQos::Policer {
        committed: rate(100 * IP, 10 * IP),
    };
    r.set_egress_qos(pb, Some(q), &[]);
    let t0 = 1_000 * MS;
    r.send_at(a, &frames(32), Nanos(t0));
    assert_eq!(r.sent(b).len(), 10);
    assert_eq!(r.counter(b, Counter::TxQos), 22);
    assert_eq!(r.counter(b, Counter::TxPackets), 10);
    assert_eq!(
        r.counter(b, Counter::TxBytes),
        10 * 60,
        "whole frames counted"
    );
    assert_eq!(r.counter(a, Counter::RxQos), 0);
    assert_eq!(r.drops(b), 22);
    // Broadcasts reach C in full; B's copies are policed (its bucket is
    // empty; 10 ms gave it one frame).
    let bcast = vec![udp_frame(crate::wire::MacAddr([0xff; 6]), mac(0xa), None, 1, 2); 20];
    r.send_at(a, &bcast, Nanos(t0 + 10 * MS));
    assert_eq!(r.sent(c).len(), 20);
    assert_eq!(r.sent(b).len(), 1);
    assert_eq!(r.counter(b, Counter::TxQos), 22 + 19);
    assert_eq!(r.drops(c), 0);
}

#[test]
fn trtcm_and_rate_limit_pass_what_their_rates_allow() {
    let (mut r, a, b, pb, frames) = a_to_b();
    // Green five frames deep, yellow five frames deep: ten frames.
    let q = EgressQos::TrTcm {
        committed: rate(100 * IP, 5 * IP),
        excess: rate(100 * IP, 5 * IP),
    };
    r.set_egress_qos(pb, Some(q), &[]);
    r.send_at(a, &frames(32), Nanos(0));
    assert_eq!(r.sent(b).len(), 10);
    assert_eq!(r.counter(b, Counter::TxQos), 22);
    // 10 ms: a frame's worth in each bucket, two frames.
    r.send_at(a, &frames(32), Nanos(10 * MS));
    assert_eq!(r.sent(b).len(), 2);
    let q = EgressQos::RateLimit {
        limit: rate(100 * IP, 2 * IP),
    };
    r.set_egress_qos(pb, Some(q), &[]);
    r.send_at(a, &frames(32), Nanos(20 * MS));
    assert_eq!(
        r.sent(b).len(),
        2,
        "a new setting starts with a full bucket"
    );
}

#[test]
fn a_bond_shares_one_bucket_across_its_members() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (bp, m) = r.add_bond(
        "bond0",
        PortVlan::access(1),
        2,
        bond_view(BondMode::BalanceTcp, true, 2),
    );
    r.mac().add_static(1, mac(0xb), bp).unwrap();
    let frames: Vec<Vec<u8>> = (0..64u16)
        .map(|i| {
            udp_frame_ip(
                mac(0xb),
                mac(0xa),
                None,
                [10, 0, 0, 1],
                [10, 1, 0, 1],
                i,
                80,
            )
        })
        .collect();
    let q = EgressQos::Policer {
        committed: rate(1000, 20 * IP),
    };
    r.set_egress_qos(bp, Some(q), &[]);
    r.send_at(a, &frames, Nanos(0));
    let (s0, s1) = (r.sent(m[0]).len(), r.sent(m[1]).len());
    assert!(s0 > 0 && s1 > 0, "both members carried traffic: {s0} {s1}");
    assert_eq!(s0 + s1, 20, "one 20-frame bucket for the whole bond");
    let dropped = r.counter(m[0], Counter::TxQos) + r.counter(m[1], Counter::TxQos);
    assert_eq!(dropped, 44);
}

#[test]
fn each_pmd_meters_its_share_and_keeps_its_tokens_across_snapshots() {
    let (mut r, a, b, pb, frames) = a_to_b();
    // This rig's PMD is thread 0 of two: half of 80 frames deep (more
    // than the longest frame), half of 200 frames/s.
    r.set_policing(a, Some(rate(200 * IP, 80 * IP)), &[0, 3]);
    r.send_at(a, &frames(64), Nanos(0));
    assert_eq!(r.sent(b).len(), 40);
    // A new snapshot that does not change the setting keeps the (empty)
    // bucket: no new burst.
    r.add_port("c", PortVlan::access(1));
    r.set_egress_qos(pb, None, &[]);
    r.send_at(a, &frames(32), Nanos(MS));
    assert_eq!(r.sent(b).len(), 0);
    // 10 ms at 100 frames/s: one frame.
    r.send_at(a, &frames(32), Nanos(11 * MS));
    assert_eq!(r.sent(b).len(), 1);
    // Alone now: a new share, a new (full) bucket of 80 frames.
    r.set_policing(a, Some(rate(200 * IP, 80 * IP)), &[0]);
    r.send_at(a, &frames(96), Nanos(12 * MS));
    assert_eq!(r.sent(b).len(), 80);
}

#[test]
fn a_share_passes_at_least_one_full_frame() {
    let (mut r, a, b, _, frames) = a_to_b();
    // 100 B split four ways would be 25 B: never a 60-byte frame. The
    // depth is raised to the longest frame (1,518 B, charged 1,504).
    r.set_policing(a, Some(rate(400, 100)), &[7, 0, 8, 9]);
    r.send_at(a, &frames(64), Nanos(0));
    assert_eq!(r.sent(b).len() as u64, 1504 / IP);
}
