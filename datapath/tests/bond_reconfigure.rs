//! Bonds changed in place and restarted: settings that must not deal the
//! bucket table out again, member ids that are not positions (the daemon
//! may number members 3, 7, 12), and the bucket table saved before a
//! restart and restored after it (`Bond::saved`, `Bond::restore`).

use datapath::bond::{
    Bond, BondActions, BondConfig, BondEvent, BondMode, BondSaved, BondView, DetectMode, MemberId,
    RestoreRefused, RESTORE_WINDOW_MS,
};
use datapath::hash::BUCKETS;
use datapath::time::Millis;

const IDS: [MemberId; 3] = [3, 7, 12];

fn slb(cfg: BondConfig) -> BondConfig {
    BondConfig {
        mode: BondMode::BalanceSlb,
        ..cfg
    }
}

/// A bond of `ids`, every carrier up at `t`.
fn up(cfg: BondConfig, ids: &[MemberId], t: Millis) -> Bond {
    let mut b = Bond::new(cfg, ids, t);
    for &m in ids {
        b.set_carrier(m, true, t);
    }
    b
}

/// The member id of every bucket.
fn by_id(v: &BondView) -> Vec<Option<MemberId>> {
    v.buckets
        .iter()
        .map(|&i| v.members.get(usize::from(i)).copied())
        .collect()
}

/// Every bucket names an enabled member (load-balancing, up).
fn check(v: &BondView) {
    assert!(v.up, "{v:?}");
    for (b, &i) in v.buckets.iter().enumerate() {
        assert!(v.index_enabled(i), "bucket {b} names index {i}: {v:?}");
    }
}

/// A balance-slb bond of 3, 7 and 12 whose table was rebalanced away from
/// the round-robin deal (member 3's buckets were loaded), at 10 s.
fn rebalanced(cfg: BondConfig) -> Bond {
    let mut b = up(slb(cfg), &IDS, Millis(0));
    let v = b.view();
    let mut tx = [0u64; BUCKETS];
    for (i, t) in tx.iter_mut().enumerate() {
        *t = if v.buckets[i] == 0 { 200_000 } else { 1_000 };
    }
    let acts = b.rebalance(&tx, Millis(10_000));
    assert!(acts
        .events
        .iter()
        .any(|e| matches!(e, BondEvent::BucketShifted { .. })));
    check(&b.view());
    b
}

fn resets(acts: &BondActions) -> bool {
    acts.events.contains(&BondEvent::BucketsReset)
}

#[test]
fn settings_that_keep_the_table() {
    let base = BondConfig::default();
    type Change = fn(&mut BondConfig);
    let changes: [(&str, Change); 7] = [
        ("updelay", |c| c.updelay_ms = 500),
        ("downdelay", |c| c.downdelay_ms = 700),
        ("rebalance interval, shorter", |c| {
            c.rebalance_interval_ms = 4_000
        }),
        ("rebalance interval, longer", |c| {
            c.rebalance_interval_ms = 60_000
        }),
        ("miimon", |c| {
            c.detect = DetectMode::Miimon { interval_ms: 100 }
        }),
        ("primary", |c| c.primary = Some(12)),
        ("nothing", |_| {}),
    ];
    for (what, change) in changes {
        let mut b = rebalanced(base.clone());
        let table = by_id(&b.view());
        let loads: Vec<u64> = b.status().members.iter().map(|m| m.load_bytes()).collect();
        assert!(loads.iter().any(|&l| l > 0));
        let mut c = slb(base.clone());
        change(&mut c);
        let acts = b.reconfigure(c.clone(), Millis(11_000));
        assert!(!resets(&acts), "{what}: {acts:?}");
        assert!(
            !acts.events.iter().any(|e| matches!(
                e,
                BondEvent::MemberDisabled { .. } | BondEvent::BucketsMoved { .. }
            )),
            "{what}: {acts:?}"
        );
        assert_eq!(by_id(&b.view()), table, "{what}");
        let now: Vec<u64> = b.status().members.iter().map(|m| m.load_bytes()).collect();
        assert_eq!(now, loads, "{what}: loads kept");
        assert_eq!(b.config(), &c);
        // And back, and some time with the new settings.
        for m in IDS {
            b.set_carrier(m, true, Millis(11_500));
        }
        b.tick(Millis(12_000));
        assert_eq!(by_id(&b.view()), table, "{what}");
        let acts = b.reconfigure(slb(base.clone()), Millis(12_000));
        assert!(!resets(&acts), "{what}: back: {acts:?}");
        assert_eq!(by_id(&b.view()), table, "{what}");
        check(&b.view());
    }
}

#[test]
fn new_rebalance_interval_keeps_the_interval_start() {
    let mut b = rebalanced(BondConfig::default());
    // The rebalance at 10 s started an interval that ends at 20 s.
    assert_eq!(b.next_deadline(), Some(Millis(20_000)));
    b.reconfigure(
        slb(BondConfig {
            rebalance_interval_ms: 30_000,
            ..BondConfig::default()
        }),
        Millis(12_000),
    );
    assert_eq!(b.next_deadline(), Some(Millis(40_000)));
}

#[test]
fn miimon_change_keeps_links_and_polls_on_the_new_grid() {
    let mut b = rebalanced(BondConfig::default());
    let table = by_id(&b.view());
    b.reconfigure(
        slb(BondConfig {
            detect: DetectMode::Miimon { interval_ms: 100 },
            ..BondConfig::default()
        }),
        Millis(11_000),
    );
    // A carrier loss is seen at the next poll, not before.
    b.set_carrier(7, false, Millis(11_010));
    assert!(b.view().is_enabled(7));
    let acts = b.tick(Millis(11_100));
    assert!(!b.view().is_enabled(7));
    assert!(!resets(&acts));
    let v = b.view();
    for (bk, m) in table.iter().enumerate() {
        if *m != Some(7) {
            assert_eq!(by_id(&v)[bk], *m, "only member 7's buckets move");
        }
    }
    check(&v);
}

#[test]
fn member_ids_are_not_positions() {
    let mut b = up(slb(BondConfig::default()), &IDS, Millis(0));
    let v = b.view();
    assert_eq!(v.members.as_slice(), &IDS);
    assert_eq!(v.active_member(), Some(3));
    let mut counts: Vec<usize> = IDS
        .iter()
        .map(|m| by_id(&v).iter().filter(|x| **x == Some(*m)).count())
        .collect();
    counts.sort();
    assert_eq!(counts, vec![85, 85, 86]);
    // Failover of the middle member: its buckets go to 3 and 12.
    let before = by_id(&v);
    b.set_carrier(7, false, Millis(1));
    let v = b.view();
    check(&v);
    for (bk, m) in before.iter().enumerate() {
        match m {
            Some(7) => assert!(matches!(by_id(&v)[bk], Some(3) | Some(12))),
            m => assert_eq!(by_id(&v)[bk], *m),
        }
    }
    // Back, then removed while enabled: the view renumbers, buckets follow.
    b.set_carrier(7, true, Millis(2));
    let acts = b.remove_member(7, Millis(3));
    assert!(acts.events.contains(&BondEvent::MemberDisabled {
        member: 7,
        cause: datapath::bond::Cause::Removed,
    }));
    let v = b.view();
    assert_eq!(v.members.as_slice(), &[3, 12]);
    check(&v);
    assert!(by_id(&v).iter().all(|m| matches!(m, Some(3) | Some(12))));
    assert!(!v.is_enabled(7));
    // The last member's buckets kept their member through the renumbering.
    for (bk, m) in before.iter().enumerate() {
        if *m == Some(12) {
            assert_eq!(by_id(&v)[bk], Some(12), "bucket {bk}");
        }
    }
    // Removing the active (first) member moves the active role by id.
    b.remove_member(3, Millis(4));
    let v = b.view();
    assert_eq!(v.active_member(), Some(12));
    assert!(by_id(&v).iter().all(|m| *m == Some(12)));
    // Added again: it gets buckets at the next rebalance.
    b.add_member(7, Millis(5)).unwrap();
    b.set_carrier(7, true, Millis(5));
    let mut tx = [50_000u64; BUCKETS];
    tx[0] = 0;
    b.rebalance(&tx, Millis(30_000));
    let v = b.view();
    check(&v);
    assert!(by_id(&v).contains(&Some(7)));
    // Active-backup with a primary named by id.
    let mut ab = up(
        BondConfig {
            primary: Some(12),
            ..BondConfig::default()
        },
        &IDS,
        Millis(0),
    );
    assert_eq!(ab.view().active_member(), Some(12));
    ab.remove_member(7, Millis(1));
    assert_eq!(ab.view().active_member(), Some(12));
    ab.set_carrier(12, false, Millis(2));
    assert_eq!(ab.view().active_member(), Some(3));
}

// ---- restart: saved and restored bucket tables ---------------------------

#[test]
fn saved_table_by_member_id() {
    let b = rebalanced(BondConfig::default());
    let s = b.saved().unwrap();
    assert_eq!(s.mode, BondMode::BalanceSlb);
    assert_eq!(s.hash_basis, 0);
    assert_eq!(s.buckets, by_id(&b.view()));
    // Nothing to save in active-backup.
    assert_eq!(up(BondConfig::default(), &IDS, Millis(0)).saved(), None);
    // Nor with no member ever enabled.
    assert_eq!(
        Bond::new(slb(BondConfig::default()), &IDS, Millis(0)).saved(),
        None
    );
}

#[test]
fn restored_table_follows_members_as_they_come_up() {
    let old = rebalanced(BondConfig::default());
    let saved = old.saved().unwrap();
    let table = saved.buckets.clone();
    // The new process: restore first, then carriers one by one.
    let t = Millis(100_000);
    let mut b = Bond::new(slb(BondConfig::default()), &IDS, t);
    let acts = b.restore(&saved, t).unwrap();
    assert!(acts.events.is_empty());
    assert!(b.restore_pending());
    b.set_carrier(12, true, t);
    // Only 12 is up: it carries everything for now.
    assert!(by_id(&b.view()).iter().all(|m| *m == Some(12)));
    assert_eq!(
        b.saved().unwrap().buckets,
        table,
        "saving now loses nothing"
    );
    let acts = b.set_carrier(3, true, t + 5);
    assert!(acts.events.iter().any(|e| matches!(
        e,
        BondEvent::BucketsMoved {
            from: Some(12),
            to: Some(3),
            ..
        }
    )));
    let v = b.view();
    check(&v);
    for (bk, m) in table.iter().enumerate() {
        match m {
            Some(3) | Some(12) => assert_eq!(by_id(&v)[bk], *m, "bucket {bk}"),
            _ => {}
        }
    }
    b.set_carrier(7, true, t + 10);
    assert_eq!(by_id(&b.view()), table, "every member has its buckets back");
    assert!(!b.restore_pending());
    // From now on the table is in use: nothing deals it out again.
    b.set_carrier(7, false, t + 20);
    b.set_carrier(7, true, t + 30);
    assert!(
        !by_id(&b.view()).contains(&Some(7)),
        "back at the next rebalance"
    );
}

#[test]
fn restore_after_the_members_are_up_applies_at_once() {
    let saved = rebalanced(BondConfig::default()).saved().unwrap();
    let t = Millis(100_000);
    let mut b = up(slb(BondConfig::default()), &IDS, t);
    assert_ne!(by_id(&b.view()), saved.buckets);
    let acts = b.restore(&saved, t).unwrap();
    assert!(acts.changed);
    assert_eq!(by_id(&b.view()), saved.buckets);
    assert!(!b.restore_pending());
}

#[test]
fn restore_is_used_only_for_members_that_exist_and_are_enabled() {
    let saved = rebalanced(BondConfig::default()).saved().unwrap();
    let t = Millis(100_000);
    // Member 7 is gone from the configuration, 20 is new.
    let mut b = Bond::new(slb(BondConfig::default()), &[3, 12, 20], t);
    b.restore(&saved, t).unwrap();
    for m in [3, 12, 20] {
        b.set_carrier(m, true, t);
    }
    let v = b.view();
    check(&v);
    for (bk, m) in saved.buckets.iter().enumerate() {
        match m {
            Some(7) => assert!(by_id(&v)[bk].is_some_and(|x| x != 7)),
            m => assert_eq!(by_id(&v)[bk], *m, "bucket {bk}"),
        }
    }
    assert!(!b.restore_pending());
    // Member 12 never comes up within the window: its buckets stay with
    // the others, and it does not get them when it comes up later.
    let mut b = Bond::new(slb(BondConfig::default()), &IDS, t);
    b.restore(&saved, t).unwrap();
    b.set_carrier(3, true, t);
    b.set_carrier(7, true, t);
    b.set_carrier(12, false, t);
    check(&b.view());
    assert!(!by_id(&b.view()).contains(&Some(12)));
    assert!(b.restore_pending());
    assert_eq!(b.next_deadline(), Some(t + RESTORE_WINDOW_MS));
    b.tick(t + RESTORE_WINDOW_MS);
    assert!(!b.restore_pending());
    b.set_carrier(12, true, t + RESTORE_WINDOW_MS + 1);
    assert!(!by_id(&b.view()).contains(&Some(12)));
    // A member that is up but not enabled (LACP) gets nothing either.
    let cfg = BondConfig {
        lacp: true,
        ..slb(BondConfig::default())
    };
    let mut b = up(cfg, &IDS, t);
    b.restore(&saved, t).unwrap();
    b.set_lacp(true, &[(3, true), (7, true), (12, false)], t);
    check(&b.view());
    assert!(!by_id(&b.view()).contains(&Some(12)));
    b.set_lacp(true, &[(12, true)], t + 1);
    assert_eq!(by_id(&b.view()), saved.buckets);
    // A member removed while the table waits (LACP not negotiated yet) is
    // forgotten: it is not saved again.
    let cfg = BondConfig {
        lacp: true,
        ..slb(BondConfig::default())
    };
    let mut b = up(cfg, &IDS, t);
    b.restore(&saved, t).unwrap();
    assert_eq!(b.saved(), Some(saved.clone()));
    b.remove_member(7, t + 1);
    let again = b.saved().unwrap();
    assert!(!again.buckets.contains(&Some(7)));
    for (x, y) in again.buckets.iter().zip(&saved.buckets) {
        if *y != Some(7) {
            assert_eq!(x, y);
        }
    }
}

#[test]
fn restore_is_refused_for_another_mode_or_hash_basis() {
    let saved = rebalanced(BondConfig::default()).saved().unwrap();
    let t = Millis(0);
    let mut ab = Bond::new(BondConfig::default(), &IDS, t);
    assert_eq!(ab.restore(&saved, t), Err(RestoreRefused::NotHashed));
    let mut tcp = Bond::new(
        BondConfig {
            mode: BondMode::BalanceTcp,
            ..BondConfig::default()
        },
        &IDS,
        t,
    );
    assert_eq!(tcp.restore(&saved, t), Err(RestoreRefused::ModeChanged));
    let mut basis = Bond::new(
        slb(BondConfig {
            hash_basis: 5,
            ..BondConfig::default()
        }),
        &IDS,
        t,
    );
    assert_eq!(
        basis.restore(&saved, t),
        Err(RestoreRefused::HashBasisChanged)
    );
    let short = BondSaved {
        buckets: saved.buckets[..255].to_vec(),
        ..saved.clone()
    };
    let mut b = Bond::new(slb(BondConfig::default()), &IDS, t);
    assert_eq!(b.restore(&short, t), Err(RestoreRefused::BadLength));
    assert!(!b.restore_pending());
    // A new hash basis after the restore drops it.
    b.restore(&saved, t).unwrap();
    assert!(b.restore_pending());
    b.reconfigure(
        slb(BondConfig {
            hash_basis: 5,
            ..BondConfig::default()
        }),
        t,
    );
    assert!(!b.restore_pending());
    assert_ne!(b.saved().map(|s| s.hash_basis), Some(0));
}

#[test]
fn the_first_rebalance_ends_a_restore() {
    let saved = rebalanced(BondConfig::default()).saved().unwrap();
    let t = Millis(0);
    let mut b = Bond::new(
        slb(BondConfig {
            rebalance_interval_ms: 1_000,
            ..BondConfig::default()
        }),
        &IDS,
        t,
    );
    b.restore(&saved, t).unwrap();
    b.set_carrier(3, true, t);
    b.set_carrier(12, true, t);
    assert!(b.restore_pending());
    b.rebalance(&[1; BUCKETS], Millis(1_000));
    assert!(!b.restore_pending());
    b.set_carrier(7, true, Millis(1_001));
    assert!(!by_id(&b.view()).contains(&Some(7)));
}

#[cfg(feature = "serde")]
#[test]
fn saved_table_round_trips_through_json() {
    let saved = rebalanced(BondConfig::default()).saved().unwrap();
    let json = serde_json::to_string(&saved).unwrap();
    assert!(json.contains("\"mode\":\"balance-slb\""), "{json}");
    let back: BondSaved = serde_json::from_str(&json).unwrap();
    assert_eq!(back, saved);
    assert!(serde_json::from_str::<BondSaved>(&json.replace("balance-slb", "balance-rr")).is_err());
}
