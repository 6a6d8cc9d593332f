use super::*;
use proptest::prelude::*;

fn rate(bytes_per_s: u64, burst_bytes: u64) -> Rate {
    Rate {
        bytes_per_s,
        burst_bytes,
    }
}

/// Offer bursts of 32 frames of `len` bytes at twice `r`'s rate for
/// `steps` bursts, on a fake clock starting at `t0`; return (bytes passed,
/// elapsed ns).
fn overload(m: &mut Meter, r: u64, len: u32, steps: u64, t0: u64) -> (u64, u64) {
    let step_ns = (32 * u64::from(len) * 1_000_000_000 / (2 * r)).max(1);
    let mut passed = 0u64;
    for i in 0..steps {
        let mask = m.police(Nanos(t0 + i * step_ns), [len; 32]);
        passed += u64::from(mask.count_ones()) * u64::from(len);
    }
    // The last burst was offered at the start of the last step.
    (passed, (steps - 1) * step_ns)
}

#[test]
fn long_run_rate_is_within_one_percent() {
    // 1 Mbit/s .. 10 Gbit/s, 64- and 1,500-byte frames, depth 32 frames
    // (more than the 16 frames' worth that accrue between two bursts: a
    // bucket shallower than that caps the rate at depth per burst).
    for r in [125_000u64, 12_500_000, 125_000_000, 1_250_000_000] {
        for len in [64u32, 1500] {
            let cbs = 32 * u64::from(len);
            let mut m = Meter::Single(TokenBucket::new(rate(r, cbs), Nanos(5)));
            // Drain the initial burst first: the long run is what follows.
            m.police(Nanos(5), [len; 64]);
            let (passed, ns) = overload(&mut m, r, len, 20_000, 5);
            let want = u128::from(r) * u128::from(ns) / 1_000_000_000;
            let err = (passed as f64 - want as f64).abs() / want as f64;
            assert!(
                err < 0.01,
                "rate {r} len {len}: passed {passed} want {want} ({:.3}%)",
                err * 100.0
            );
            // And it is exact to within one frame plus the depth.
            assert!(
                u128::from(passed) <= want + u128::from(cbs),
                "rate {r} len {len}: over"
            );
            assert!(u128::from(passed) + u128::from(len) >= want, "under");
        }
    }
}

#[test]
fn a_full_bucket_passes_its_depth_at_once_and_no_more() {
    let mut b = TokenBucket::new(rate(1000, 3000), Nanos(0));
    // 3,000 bytes: two 1,500-byte frames, not a third.
    assert_eq!(b.police(Nanos(0), [1500, 1500, 1500]), 0b011);
    // One millisecond later: 1 byte accrued; a 1-byte frame passes, a
    // 64-byte one does not.
    assert_eq!(b.police(Nanos(1_000_000), [64, 1]), 0b10);
    // A long frame that does not fit does not stop a short one after it.
    let mut b = TokenBucket::new(rate(1000, 100), Nanos(0));
    assert_eq!(b.police(Nanos(0), [64, 64, 30]), 0b101);
    // A frame longer than the bucket never passes.
    let mut b = TokenBucket::new(rate(1_000_000, 1000), Nanos(0));
    assert_eq!(b.police(Nanos(10_000_000_000), [1500]), 0);
}

#[test]
fn idle_refill_is_capped_at_the_depth() {
    let mut b = TokenBucket::new(rate(1_000_000, 10_000), Nanos(0));
    assert_eq!(b.police(Nanos(0), [1000; 10]).count_ones(), 10);
    assert_eq!(b.bytes(), 0);
    // An hour idle: still only the depth.
    b.refill(Nanos(3_600_000_000_000));
    assert_eq!(b.bytes(), 10_000);
    assert_eq!(
        b.police(Nanos(3_600_000_000_000), [1000; 11]).count_ones(),
        10
    );
    // Half a bucket's time: half a bucket.
    b.refill(Nanos(3_600_005_000_000));
    assert_eq!(b.bytes(), 5000);
    // A clock that went back adds nothing and takes nothing.
    b.refill(Nanos(1));
    assert_eq!(b.bytes(), 5000);
    b.refill(Nanos(3_600_006_000_000));
    assert_eq!(b.bytes(), 6000);
}

#[test]
fn at_most_max_burst_frames_are_decided() {
    let mut b = TokenBucket::new(rate(1, 1_000_000), Nanos(0));
    assert_eq!(b.police(Nanos(0), [1; 100]), u64::MAX);
    assert_eq!(b.bytes(), 1_000_000 - MAX_BURST as u64);
}

#[test]
fn trtcm_colours_frames_as_rfc_4115() {
    // CIR 1,000 B/s, CBS 1,000; EIR 500 B/s, EBS 500.
    let mut m = TrTcm::new(rate(1000, 1000), rate(500, 500), Nanos(0));
    let colours: Vec<Colour> = (0..4).map(|_| m.colour(400)).collect();
    // 400 + 400 from C (200 left), 400 from E (100 left), then red.
    use Colour::*;
    assert_eq!(colours, [Green, Green, Yellow, Red]);
    // A 200-byte frame still fits C's rest: green even after a red.
    assert_eq!(m.colour(200), Green);
    // 0.2 s later: C has 200, E has 100 + 100.
    m.refill(Nanos(200_000_000));
    assert_eq!(m.colour(300), Red);
    assert_eq!(m.colour(200), Green);
    assert_eq!(m.colour(200), Yellow);
    assert_eq!(m.colour(1), Red);
    // Idle: each bucket fills to its own depth, no spill from C into E.
    m.refill(Nanos(100_000_000_000));
    assert_eq!(m.colour(1000), Green);
    assert_eq!(m.colour(500), Yellow);
    assert_eq!(m.colour(1), Red);
    // The burst API passes green and yellow.
    let mut m = TrTcm::new(rate(1000, 1000), rate(500, 500), Nanos(0));
    assert_eq!(m.police(Nanos(0), [400, 400, 400, 400, 200]), 0b10111);
}

#[test]
fn trtcm_long_run_rate_is_cir_plus_eir() {
    for len in [64u32, 1500] {
        let (c, e) = (1_000_000u64, 250_000u64);
        let mut m = Meter::egress(
            &EgressQos::TrTcm {
                committed: rate(c, 32 * u64::from(len)),
                excess: rate(e, 32 * u64::from(len)),
            },
            Nanos(0),
        );
        m.police(Nanos(0), [len; 64]);
        let (passed, ns) = overload(&mut m, c + e, len, 20_000, 0);
        let want = (c + e) as f64 * ns as f64 / 1e9;
        let err = (passed as f64 - want).abs() / want;
        assert!(err < 0.01, "len {len}: passed {passed} want {want}");
    }
}

#[test]
fn egress_settings_pick_the_meter() {
    let r = rate(1000, 2000);
    assert!(matches!(
        Meter::egress(&EgressQos::Policer { committed: r }, Nanos(0)),
        Meter::Single(_)
    ));
    assert!(matches!(
        Meter::egress(&EgressQos::RateLimit { limit: r }, Nanos(0)),
        Meter::Single(_)
    ));
    assert!(matches!(
        Meter::egress(
            &EgressQos::TrTcm {
                committed: r,
                excess: r
            },
            Nanos(0)
        ),
        Meter::TwoRate(_)
    ));
}

#[test]
fn shares_add_up_to_the_whole() {
    let r = rate(1_000_003, 10_001);
    let shares: Vec<Rate> = (0..3).map(|k| r.share(k, 3, 0)).collect();
    assert_eq!(shares.iter().map(|s| s.bytes_per_s).sum::<u64>(), 1_000_003);
    assert_eq!(shares.iter().map(|s| s.burst_bytes).sum::<u64>(), 10_001);
    assert_eq!(shares[0].bytes_per_s, 333_335);
    assert_eq!(shares[2].bytes_per_s, 333_334);
    // One share is the whole (even shallower than a frame); a depth split
    // in several never drops below a frame.
    assert_eq!(r.share(0, 1, 1518), r);
    assert_eq!(rate(1000, 100).share(0, 1, 1518), rate(1000, 100));
    assert_eq!(rate(1000, 2000).share(1, 4, 1518).burst_bytes, 1518);
    assert_eq!(rate(1000, 0).share(0, 4, 1518).burst_bytes, 0);
    // Out-of-range arguments are clamped, not a panic.
    assert_eq!(r.share(9, 0, 0), r);
    let q = EgressQos::TrTcm {
        committed: rate(10, 100),
        excess: rate(4, 40),
    };
    assert_eq!(
        q.share(1, 2, 0),
        EgressQos::TrTcm {
            committed: rate(5, 50),
            excess: rate(2, 20)
        }
    );
}

proptest! {
    /// Whatever the traffic and the clock, the bytes passed since the
    /// start never exceed the depth plus what the rate accrued.
    #[test]
    fn never_more_than_depth_plus_rate(
        r in 1u64..10_000_000_000,
        cbs in 0u64..100_000,
        bursts in proptest::collection::vec(
            (0u64..10_000_000, proptest::collection::vec(1u32..9000, 0..40)),
            1..50,
        ),
    ) {
        let mut b = TokenBucket::new(rate(r, cbs), Nanos(0));
        let (mut t, mut passed) = (0u64, 0u128);
        for (dt, lens) in bursts {
            t += dt;
            let mask = b.police(Nanos(t), lens.iter().copied());
            for (i, len) in lens.iter().take(MAX_BURST).enumerate() {
                if mask >> i & 1 == 1 {
                    passed += u128::from(*len);
                }
            }
            let bound = u128::from(cbs) + u128::from(r) * u128::from(t) / 1_000_000_000;
            prop_assert!(passed <= bound, "passed {} bound {}", passed, bound);
        }
    }
}
