//! Bond behaviour through the public API, with real flow hashes and a fake
//! clock: failover, link delays, miimon, active-backup, balance-tcp and LACP,
//! rebalancing.

use datapath::bond::{
    Admit, Bond, BondActions, BondConfig, BondEvent, BondMode, BondView, Carrying, Cause,
    DetectMode, DownReason, LacpNegotiation, MemberId, NO_MEMBER,
};
use datapath::hash;
use datapath::time::Millis;
use datapath::wire::ip::FiveTuple;
use datapath::wire::MacAddr;

/// `n` distinct TCP flows between a few hundred hosts.
fn flows(n: u32) -> Vec<FiveTuple> {
    (0..n)
        .map(|i| FiveTuple {
            src: 0x0a00_0000 + u128::from(i % 500),
            dst: 0xc0a8_0000 + u128::from(i / 500),
            proto: 6,
            sport: 32_768 + (i % 20_000) as u16,
            dport: [80, 443, 22, 5432][(i % 4) as usize],
        })
        .collect()
}

fn members_of(v: &BondView, fl: &[FiveTuple]) -> Vec<Option<MemberId>> {
    fl.iter()
        .map(|t| v.member_for_hash(hash::l4(t, v.hash_basis)))
        .collect()
}

fn count(assign: &[Option<MemberId>], m: MemberId) -> usize {
    assign.iter().filter(|&&x| x == Some(m)).count()
}

fn shifts(acts: &BondActions) -> usize {
    acts.events
        .iter()
        .filter(|e| matches!(e, BondEvent::BucketShifted { .. }))
        .count()
}

/// A balance-tcp bond with LACP negotiated on every member.
fn tcp_bond(members: &[MemberId], cfg: BondConfig) -> Bond {
    let cfg = BondConfig {
        mode: BondMode::BalanceTcp,
        lacp: true,
        ..cfg
    };
    let mut b = Bond::new(cfg, members, Millis(0));
    for &m in members {
        b.set_carrier(m, true, Millis(0));
    }
    let en: Vec<(MemberId, bool)> = members.iter().map(|&m| (m, true)).collect();
    b.set_lacp(true, &en, Millis(0));
    b
}

#[test]
fn hashed_flows_spread_evenly_over_members() {
    let b = tcp_bond(&[10, 11, 12, 13], BondConfig::default());
    let v = b.view();
    assert!(v.up);
    let fl = flows(10_000);
    let assign = members_of(&v, &fl);
    for m in [10, 11, 12, 13] {
        let n = count(&assign, m);
        assert!(
            (2_000..=3_000).contains(&n),
            "member {m} has {n} of 10000 flows"
        );
    }
    // balance-slb: per source MAC and VLAN.
    let mut b = Bond::new(
        BondConfig {
            mode: BondMode::BalanceSlb,
            ..BondConfig::default()
        },
        &[1, 2],
        Millis(0),
    );
    b.set_carrier(1, true, Millis(0));
    b.set_carrier(2, true, Millis(0));
    let v = b.view();
    let on1 = (0..1000u64)
        .filter(|&i| {
            v.member_for_hash(hash::slb(MacAddr::from_u64(0x5254_0000_0000 + i), 100, 0)) == Some(1)
        })
        .count();
    assert!((400..=600).contains(&on1), "{on1}");
}

#[test]
fn failover_moves_every_flow_off_a_dead_member_in_the_same_call() {
    let mut b = tcp_bond(&[10, 11, 12, 13], BondConfig::default());
    // Traffic has been accounted, so the table is in use.
    b.rebalance(&[10_000; 256], Millis(1_000));
    let fl = flows(10_000);
    let before = members_of(&b.view(), &fl);
    assert!(count(&before, 11) > 2_000);

    let acts = b.set_carrier(11, false, Millis(2_000));
    assert!(acts.changed);
    assert!(acts.events.contains(&BondEvent::MemberDisabled {
        member: 11,
        cause: Cause::Carrier
    }));
    let v = b.view();
    assert!(!v.is_enabled(11));
    let after = members_of(&v, &fl);
    assert_eq!(count(&after, 11), 0, "flows left on the dead member");
    assert!(after.iter().all(|m| m.is_some()));
    // Flows that were not on member 11 stay where they were.
    for (x, y) in before.iter().zip(&after) {
        if *x != Some(11) {
            assert_eq!(x, y);
        }
    }
    // Member 11's flows are shared by all three survivors.
    let orphans: Vec<Option<MemberId>> = before
        .iter()
        .zip(&after)
        .filter(|(x, _)| **x == Some(11))
        .map(|(_, y)| *y)
        .collect();
    for m in [10, 12, 13] {
        let share = count(&orphans, m) as f64 / orphans.len() as f64;
        assert!(share > 0.2, "member {m} took {share:.2} of the orphans");
    }

    // Members die one after the other; the last one carries everything.
    b.set_carrier(10, false, Millis(3_000));
    b.set_carrier(12, false, Millis(3_000));
    let after = members_of(&b.view(), &fl);
    assert_eq!(count(&after, 13), 10_000);
    // The last one dies: nothing can be sent.
    let acts = b.set_carrier(13, false, Millis(4_000));
    assert!(acts.changed);
    let v = b.view();
    assert!(!v.up);
    assert!(v.buckets.iter().all(|&x| x == NO_MEMBER));
    assert!(members_of(&v, &fl).iter().all(|m| m.is_none()));
    // The first to return takes every flow at once.
    b.set_carrier(12, true, Millis(5_000));
    assert_eq!(count(&members_of(&b.view(), &fl), 12), 10_000);
}

#[test]
fn downdelay_and_updelay_boundaries() {
    let mut b = Bond::new(
        BondConfig {
            mode: BondMode::BalanceSlb,
            updelay_ms: 2_000,
            downdelay_ms: 300,
            rebalance_interval_ms: 0,
            ..BondConfig::default()
        },
        &[1, 2],
        Millis(0),
    );
    b.set_carrier(1, true, Millis(0));
    b.set_carrier(2, true, Millis(0));
    let steady = b.view();

    // Flaps shorter than the downdelay are invisible.
    for start in [1_000u64, 2_000, 3_000] {
        assert!(!b.set_carrier(2, false, Millis(start)).changed);
        assert!(!b.tick(Millis(start + 299)).changed);
        assert!(!b.set_carrier(2, true, Millis(start + 299)).changed);
        assert!(!b.tick(Millis(start + 400)).changed);
    }
    assert_eq!(b.view(), steady);

    // A failure lasting the downdelay disables the member exactly then.
    b.set_carrier(2, false, Millis(10_000));
    assert_eq!(b.next_deadline(), Some(Millis(10_300)));
    assert!(!b.tick(Millis(10_299)).changed);
    assert!(b.view().is_enabled(2));
    assert!(b.tick(Millis(10_300)).changed);
    assert!(!b.view().is_enabled(2));

    // Coming back: enabled only after the full updelay.
    b.set_carrier(2, true, Millis(11_000));
    assert_eq!(b.next_deadline(), Some(Millis(13_000)));
    assert!(!b.tick(Millis(12_999)).changed);
    assert!(!b.view().is_enabled(2));
    let acts = b.tick(Millis(13_000));
    assert!(acts.changed);
    assert!(b.view().is_enabled(2));

    // An up-flap shorter than the updelay never enables it.
    b.set_carrier(2, false, Millis(20_000));
    b.tick(Millis(20_300));
    assert!(!b.view().is_enabled(2));
    b.set_carrier(2, true, Millis(21_000));
    b.set_carrier(2, false, Millis(22_999));
    assert!(!b.tick(Millis(23_000)).changed);
    assert!(!b.tick(Millis(30_000)).changed);
    assert!(!b.view().is_enabled(2));
}

#[test]
fn updelay_is_skipped_when_nothing_else_is_up() {
    let mut b = Bond::new(
        BondConfig {
            updelay_ms: 60_000,
            ..BondConfig::default()
        },
        &[1, 2],
        Millis(0),
    );
    b.set_carrier(1, false, Millis(0));
    b.set_carrier(2, false, Millis(0));
    assert!(!b.view().up);
    let acts = b.set_carrier(2, true, Millis(5));
    assert!(acts.changed);
    assert!(acts.events.contains(&BondEvent::MemberEnabled {
        member: 2,
        cause: Cause::UpdelaySkipped
    }));
    assert_eq!(b.view().active_member(), Some(2));
    // The second one does wait.
    b.set_carrier(1, true, Millis(10));
    assert!(!b.tick(Millis(60_009)).changed);
    assert!(b.tick(Millis(60_010)).changed);
    assert!(b.view().is_enabled(1));
}

#[test]
fn miimon_polls_at_its_interval() {
    let mut b = Bond::new(
        BondConfig {
            detect: DetectMode::Miimon { interval_ms: 100 },
            ..BondConfig::default()
        },
        &[1, 2],
        Millis(0),
    );
    b.set_carrier(1, true, Millis(0));
    b.set_carrier(2, true, Millis(0));
    assert_eq!(b.view().active_member(), Some(1));
    // The caller reports the link state every 10 ms; the bond looks at it
    // every 100 ms.
    let mut t = 0;
    let link1 = |t: u64| !(1_005..1_095).contains(&t) && !(2_005..2_500).contains(&t);
    let mut first_down = None;
    while t <= 3_000 {
        b.set_carrier(1, link1(t), Millis(t));
        b.tick(Millis(t));
        if first_down.is_none() && !b.view().is_enabled(1) {
            first_down = Some(t);
        }
        t += 10;
    }
    // The 90 ms blip fell between polls at 1000 and 1100; the long outage
    // was seen at the first poll after it began.
    assert_eq!(first_down, Some(2_100));
    // And it came back at the first poll after 2500.
    assert!(b.view().is_enabled(1));
    // Active stayed on 2 after the outage (no flapping back).
    assert_eq!(b.view().active_member(), Some(2));
}

#[test]
fn active_backup_failover_recovery_and_primary() {
    let mut b = Bond::new(BondConfig::default(), &[1, 2, 3], Millis(0));
    for m in [1, 2, 3] {
        b.set_carrier(m, true, Millis(0));
    }
    let v = b.view();
    assert_eq!(v.mode, BondMode::ActiveBackup);
    assert_eq!(v.active_member(), Some(1));
    // Every hash goes to the active member; backups receive nothing.
    assert!((0..1000u32).all(|h| v.member_for_hash(h.wrapping_mul(2_654_435_761)) == Some(1)));
    assert_eq!(v.admit(0, false), Admit::Accept);
    assert_eq!(v.admit(1, false), Admit::Drop);
    assert_eq!(v.admit(1, true), Admit::Drop);

    let acts = b.set_carrier(1, false, Millis(100));
    assert!(acts.changed && acts.send_learning_packets);
    assert!(acts.events.contains(&BondEvent::ActiveChanged {
        from: Some(1),
        to: Some(2)
    }));
    // Recovery of the old active member does not take traffic back.
    let acts = b.set_carrier(1, true, Millis(200));
    assert!(!acts
        .events
        .iter()
        .any(|e| matches!(e, BondEvent::ActiveChanged { .. })));
    assert_eq!(b.view().active_member(), Some(2));

    // With a primary, it is preferred whenever it is enabled.
    b.reconfigure(
        BondConfig {
            primary: Some(3),
            ..BondConfig::default()
        },
        Millis(300),
    );
    assert_eq!(b.view().active_member(), Some(3));
    // When it fails, the first enabled member takes over.
    b.set_carrier(3, false, Millis(400));
    assert_eq!(b.view().active_member(), Some(1));
    b.set_carrier(3, true, Millis(500));
    assert_eq!(b.view().active_member(), Some(3));
}

#[test]
fn balance_tcp_needs_lacp_or_falls_back() {
    let members = [1, 2];
    let setup = |fallback: bool| {
        let mut b = Bond::new(
            BondConfig {
                mode: BondMode::BalanceTcp,
                lacp: true,
                lacp_fallback_ab: fallback,
                ..BondConfig::default()
            },
            &members,
            Millis(0),
        );
        for m in members {
            b.set_carrier(m, true, Millis(0));
        }
        // The LACP machine: partner silent, nothing negotiated.
        b.set_lacp(false, &[(1, false), (2, false)], Millis(0));
        b
    };

    // Without fallback: down, nothing sent or received.
    let b = setup(false);
    let v = b.view();
    assert!(!v.up);
    assert_eq!(v.enabled, 0);
    assert_eq!(v.member_for_hash(0x1234), None);
    assert_eq!(v.admit(0, false), Admit::Drop);
    assert_eq!(b.status().lacp_status, LacpNegotiation::Configured);
    assert_eq!(b.status().down_reason, Some(DownReason::LacpNotNegotiated));

    // With fallback: active-backup on carrier alone.
    let mut b = setup(true);
    let v = b.view();
    assert!(v.up);
    assert_eq!(v.mode, BondMode::ActiveBackup);
    assert_eq!(b.carrying(), Carrying::FallbackActiveBackup);
    let active = v.active_member().unwrap();
    assert!((0..100u32).all(|h| v.member_for_hash(h) == Some(active)));
    assert_eq!(v.admit(v.index_of(active).unwrap(), true), Admit::Accept);

    // Once negotiated: balance-tcp over both.
    let acts = b.set_lacp(true, &[(1, true), (2, true)], Millis(1_000));
    assert!(acts.changed);
    let v = b.view();
    assert_eq!(v.mode, BondMode::BalanceTcp);
    let assign = members_of(&v, &flows(2_000));
    assert!(count(&assign, 1) > 700 && count(&assign, 2) > 700);

    // balance-tcp with lacp=off carries nothing, whatever lacp-fallback-ab says.
    let mut b = Bond::new(
        BondConfig {
            mode: BondMode::BalanceTcp,
            lacp_fallback_ab: true,
            ..BondConfig::default()
        },
        &members,
        Millis(0),
    );
    b.set_carrier(1, true, Millis(0));
    assert!(!b.view().up);
    assert_eq!(
        b.status().down_reason,
        Some(DownReason::BalanceTcpNeedsLacp)
    );
}

/// Per-member load under `v` for a per-bucket load profile.
fn member_loads(v: &BondView, tx: &[u64; 256]) -> Vec<u64> {
    let mut l = vec![0u64; v.members.len()];
    for (b, &t) in tx.iter().enumerate() {
        if let Some(slot) = l.get_mut(usize::from(v.buckets[b])) {
            *slot += t;
        }
    }
    l
}

fn ratio(l: &[u64]) -> f64 {
    let max = *l.iter().max().unwrap() as f64;
    let min = (*l.iter().min().unwrap()).max(1) as f64;
    max / min
}

/// Bytes per bucket per interval for `fl` flows where flows landing in
/// even buckets send ten times as much.
fn skewed_profile(fl: &[FiveTuple], basis: u32) -> [u64; 256] {
    let mut tx = [0u64; 256];
    for t in fl {
        let b = usize::from(hash::bucket(hash::l4(t, basis)));
        tx[b] += if b % 2 == 0 { 500_000 } else { 50_000 };
    }
    tx
}

#[test]
fn rebalance_converges_and_then_stays_put() {
    let mut b = tcp_bond(&[1, 2], BondConfig::default());
    let fl = flows(5_000);
    let tx = skewed_profile(&fl, 0);
    // Buckets are dealt alternately, so member 1 holds every heavy bucket.
    let start = member_loads(&b.view(), &tx);
    let r0 = ratio(&start);
    assert!(r0 > 5.0, "{start:?}");

    let mut t = 0;
    let mut moves_per_interval = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..30 {
        t += 10_000;
        assert!(b.rebalance_due(Millis(t)));
        let acts = b.rebalance(&tx, Millis(t));
        moves_per_interval.push(shifts(&acts));
        ratios.push(ratio(&member_loads(&b.view(), &tx)));
    }
    // The imbalance collapses...
    assert!(ratios[0] < r0 / 2.0, "{ratios:?}");
    let last = *ratios.last().unwrap();
    assert!(last < 1.1, "{ratios:?}");
    // ...moves stop within a few intervals and never resume under a steady
    // load.
    let quiet_from = moves_per_interval
        .iter()
        .rposition(|&n| n > 0)
        .map_or(0, |i| i + 1);
    assert!(
        quiet_from <= 5,
        "moves per interval: {moves_per_interval:?}"
    );
    // Never oscillating: once balanced, the ratio never gets worse again.
    for w in ratios.windows(2).skip(quiet_from) {
        assert_eq!(w[0], w[1]);
    }
    let settled = b.view();
    for _ in 0..20 {
        t += 10_000;
        let acts = b.rebalance(&tx, Millis(t));
        assert_eq!(shifts(&acts), 0);
        assert!(!acts.changed);
    }
    assert_eq!(b.view(), settled);

    // The load pattern changes: it converges again.
    let mut tx2 = [0u64; 256];
    for (i, x) in tx2.iter_mut().enumerate() {
        *x = if settled.buckets[i] == 1 {
            400_000
        } else {
            40_000
        };
    }
    let r1 = ratio(&member_loads(&b.view(), &tx2));
    assert!(r1 > 5.0);
    for _ in 0..10 {
        t += 10_000;
        b.rebalance(&tx2, Millis(t));
    }
    assert!(ratio(&member_loads(&b.view(), &tx2)) < 1.1);
}

#[test]
fn an_elephant_flow_does_not_ping_pong() {
    // One bucket carries far more than everything else together: moving it
    // would only flip the imbalance, so it stays; the small buckets settle.
    let mut b = tcp_bond(&[1, 2], BondConfig::default());
    let v = b.view();
    let elephant = (0..256).find(|&i| v.buckets[i] == 0).unwrap();
    let mut tx = [20_000u64; 256];
    tx[elephant] = 50_000_000;
    let mut t = 0;
    let mut total_moves = Vec::new();
    for _ in 0..20 {
        t += 10_000;
        let acts = b.rebalance(&tx, Millis(t));
        assert_eq!(b.view().buckets[elephant], 0, "the elephant moved");
        total_moves.push(shifts(&acts));
    }
    // Everything else went to member 2 in the first run, then calm.
    assert!(total_moves[0] > 0);
    assert!(total_moves[1..].iter().all(|&n| n == 0), "{total_moves:?}");
    assert_eq!(
        b.view().buckets.iter().filter(|&&x| x == 0).count(),
        1,
        "member 1 should keep only the elephant"
    );

    // Two elephants (6 MB each) on member 1 against 10 MB of mice on member
    // 2: moving an elephant would just flip the imbalance, so nothing moves,
    // ever.
    let mut b = tcp_bond(&[1, 2], BondConfig::default());
    let v = b.view();
    let mut on1 = (0..256).filter(|&i| v.buckets[i] == 0);
    let (e1, e2) = (on1.next().unwrap(), on1.next().unwrap());
    let mice = v.buckets.iter().filter(|&&x| x == 1).count() as u64;
    let tx: [u64; 256] = core::array::from_fn(|i| {
        if i == e1 || i == e2 {
            6_000_000
        } else if v.buckets[i] == 1 {
            10_000_000 / mice
        } else {
            0
        }
    });
    let mut t = 0;
    for _ in 0..20 {
        t += 10_000;
        let acts = b.rebalance(&tx, Millis(t));
        assert_eq!(shifts(&acts), 0, "{:?}", acts.events);
    }
    assert_eq!(b.view(), v);
}

#[test]
fn rebalance_ignores_light_load_and_disabled_members() {
    let mut b = tcp_bond(&[1, 2, 3], BondConfig::default());
    // Light traffic (under ~1 Mbit/s of imbalance): nothing moves.
    let mut tx = [0u64; 256];
    tx[0] = 40_000;
    tx[3] = 40_000;
    let v0 = b.view();
    let acts = b.rebalance(&tx, Millis(10_000));
    assert_eq!(shifts(&acts), 0);
    assert_eq!(b.view(), v0);

    // Member 3 is down: heavy load on member 1 moves only to member 2.
    b.set_carrier(3, false, Millis(15_000));
    let v = b.view();
    let mut tx = [0u64; 256];
    for (i, x) in tx.iter_mut().enumerate() {
        if v.buckets[i] == 0 {
            *x = 1_000_000;
        }
    }
    let acts = b.rebalance(&tx, Millis(20_000));
    assert!(shifts(&acts) > 0);
    for e in &acts.events {
        if let BondEvent::BucketShifted { from, to, .. } = e {
            assert_eq!((*from, *to), (1, 2));
        }
    }
    let v = b.view();
    assert!(!v.buckets.contains(&2)); // index 2 = member 3
}

#[test]
fn status_reports_what_bond_show_needs() {
    let mut b = tcp_bond(
        &[1, 2],
        BondConfig {
            updelay_ms: 100,
            downdelay_ms: 200,
            hash_basis: 42,
            ..BondConfig::default()
        },
    );
    let mut tx = [0u64; 256];
    tx[5] = 3 * 1024;
    b.rebalance(&tx, Millis(4_000));
    let st = b.status();
    assert_eq!(st.mode, BondMode::BalanceTcp);
    assert_eq!(st.hash_basis, 42);
    assert_eq!((st.updelay_ms, st.downdelay_ms), (100, 200));
    assert_eq!(st.next_rebalance_ms, Some(6_000));
    assert_eq!(st.lacp_status, LacpNegotiation::Negotiated);
    assert!(!st.lacp_fallback_ab);
    assert_eq!(st.active, Some(1));
    assert_eq!(st.members.len(), 2);
    assert!(st.members.iter().all(|m| m.enabled && m.may_enable));
    let holder = st
        .members
        .iter()
        .find(|m| m.buckets.iter().any(|x| x.hash == 5))
        .unwrap();
    let h5 = holder.buckets.iter().find(|x| x.hash == 5).unwrap();
    assert_eq!(h5.load_kb(), 3);
    let text = st.format("bond0", &|m| {
        (format!("dpdk{m}"), MacAddr([2, 0, 0, 0, 0, m as u8]))
    });
    assert!(text.contains("bond_mode: balance-tcp\n"), "{text}");
    assert!(text.contains("lacp_status: negotiated\n"), "{text}");
    assert!(text.contains("next rebalance: 6000 ms\n"), "{text}");
    assert!(text.contains("  hash 5: 3 kB load\n"), "{text}");
    assert!(
        text.contains("active member mac: 02:00:00:00:00:01(dpdk1)\n"),
        "{text}"
    );
}
