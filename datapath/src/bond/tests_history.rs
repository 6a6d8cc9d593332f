//! The bond's event history (`bond/events`): each cause provoked with a
//! fake clock, the entries it leaves, and the 1,000-entry bound.

use super::*;
use crate::history::{Stamped, HISTORY_LEN};

const A: MemberId = 1;
const B: MemberId = 2;

fn bond_up(cfg: BondConfig, members: &[MemberId]) -> Bond {
    let mut b = Bond::new(cfg, members, Millis(0));
    for &m in members {
        b.set_carrier(m, true, Millis(0));
    }
    b
}

fn cfg(mode: BondMode) -> BondConfig {
    BondConfig {
        mode,
        ..BondConfig::default()
    }
}

/// The entries recorded at or after `since`.
fn since(b: &Bond, t: u64) -> Vec<Stamped<BondRecord>> {
    b.history()
        .iter()
        .filter(|e| e.at >= Millis(t))
        .copied()
        .collect()
}

fn member(m: MemberId, enabled: bool, cause: Cause) -> BondRecord {
    BondRecord::Member {
        member: m,
        enabled,
        cause,
    }
}

/// The member records at or after `t`, without their stamps.
fn member_records(b: &Bond, t: u64) -> Vec<BondRecord> {
    since(b, t)
        .into_iter()
        .map(|e| e.event)
        .filter(|e| matches!(e, BondRecord::Member { .. }))
        .collect()
}

#[test]
fn carrier_loss_is_recorded_with_its_time_and_the_failover() {
    let mut b = bond_up(cfg(BondMode::ActiveBackup), &[A, B]);
    // The first samples enabled both members.
    let start: Vec<BondRecord> = b.history().iter().map(|e| e.event).collect();
    assert!(
        start.contains(&member(A, true, Cause::Carrier)),
        "{start:?}"
    );
    assert!(start.contains(&BondRecord::Active {
        from: None,
        to: Some(A)
    }));
    b.set_carrier(A, false, Millis(1_500));
    let got = since(&b, 1_500);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].at, Millis(1_500));
    assert_eq!(got[0].event, member(A, false, Cause::Carrier));
    assert_eq!(
        got[1].event,
        BondRecord::Active {
            from: Some(A),
            to: Some(B)
        }
    );
    assert_eq!(got[1].seq, got[0].seq + 1);
    // Back up: enabled by carrier again (no updelay configured).
    b.set_carrier(A, true, Millis(2_000));
    assert_eq!(member_records(&b, 2_000), [member(A, true, Cause::Carrier)]);
}

#[test]
fn miimon_polls_are_the_cause_in_miimon_mode() {
    let mut b = bond_up(
        BondConfig {
            detect: DetectMode::Miimon { interval_ms: 100 },
            ..cfg(BondMode::ActiveBackup)
        },
        &[A, B],
    );
    b.tick(Millis(100));
    b.set_carrier(B, false, Millis(150));
    assert!(since(&b, 150).is_empty(), "not seen before the poll");
    b.tick(Millis(200));
    let got = since(&b, 150);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].at, Millis(200));
    assert_eq!(got[0].event, member(B, false, Cause::Miimon));
}

#[test]
fn admin_state_and_disable_member_are_recorded() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    b.set_admin(A, false, Millis(10));
    assert_eq!(member_records(&b, 10), [member(A, false, Cause::Admin)]);
    b.set_admin(A, true, Millis(20));
    assert_eq!(member_records(&b, 20), [member(A, true, Cause::Admin)]);
    b.set_member_enabled(B, false, Millis(30)).unwrap();
    assert_eq!(member_records(&b, 30), [member(B, false, Cause::Command)]);
    b.set_member_enabled(B, true, Millis(40)).unwrap();
    assert_eq!(member_records(&b, 40), [member(B, true, Cause::Command)]);
}

fn tcp_lacp(fallback: bool) -> BondConfig {
    BondConfig {
        lacp: true,
        lacp_fallback_ab: fallback,
        ..cfg(BondMode::BalanceTcp)
    }
}

#[test]
fn lacp_disables_are_recorded_and_counted() {
    let mut b = bond_up(tcp_lacp(false), &[A, B]);
    b.set_lacp(true, &[(A, true), (B, true)], Millis(100));
    let got = since(&b, 100);
    assert!(got.iter().any(|e| e.event
        == BondRecord::Carrying {
            from: Carrying::Down(DownReason::LacpNotNegotiated),
            to: Carrying::Normal(BondMode::BalanceTcp),
            cause: Cause::Lacp
        }));
    assert_eq!(
        member_records(&b, 100),
        [member(A, true, Cause::Lacp), member(B, true, Cause::Lacp)]
    );
    // The LACP machine stops B (say, its partner went out of sync).
    b.set_lacp(true, &[(A, true), (B, false)], Millis(200));
    assert_eq!(member_records(&b, 200), [member(B, false, Cause::Lacp)]);
    let st = b.status();
    let counts: Vec<(u64, u64)> = st
        .members
        .iter()
        .map(|m| (m.link_failures, m.lacp_failures))
        .collect();
    assert_eq!(counts, [(0, 0), (0, 1)]);
    assert!(st
        .format("bond0", &|m| (format!("m{m}"), crate::wire::MacAddr::ZERO))
        .contains("  lacp failure count: 1\n"));
}

#[test]
fn fallback_is_the_cause_when_negotiation_is_lost_with_lacp_fallback_ab() {
    let mut b = bond_up(tcp_lacp(true), &[A, B]);
    b.set_lacp(true, &[(A, true), (B, false)], Millis(100));
    assert!(!b.view().is_enabled(B));
    b.set_lacp(false, &[(A, false), (B, false)], Millis(200));
    let got: Vec<BondRecord> = since(&b, 200).into_iter().map(|e| e.event).collect();
    assert!(
        got.contains(&BondRecord::Carrying {
            from: Carrying::Normal(BondMode::BalanceTcp),
            to: Carrying::FallbackActiveBackup,
            cause: Cause::Fallback
        }),
        "{got:?}"
    );
    assert_eq!(member_records(&b, 200), [member(B, true, Cause::Fallback)]);
}

#[test]
fn rebalance_moves_are_recorded_with_bucket_members_and_load() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    let v = b.view();
    let tx: [u64; 256] = core::array::from_fn(|i| if v.buckets[i] == 0 { 20_000 } else { 0 });
    b.rebalance(&tx, Millis(5_000));
    let acts = b.rebalance(&[0; 256], Millis(10_000));
    let shifts: Vec<BondRecord> = acts
        .events
        .iter()
        .filter_map(|e| match *e {
            BondEvent::BucketShifted {
                bucket,
                from,
                to,
                load_bytes,
            } => Some(BondRecord::Rebalance {
                bucket,
                from,
                to,
                load_bytes,
            }),
            _ => None,
        })
        .collect();
    assert!(shifts.len() > 10, "{}", shifts.len());
    let got: Vec<BondRecord> = since(&b, 10_000).into_iter().map(|e| e.event).collect();
    assert_eq!(got, shifts, "one record per moved bucket, nothing else");
    match got[0] {
        BondRecord::Rebalance {
            bucket,
            from: A,
            to: B,
            load_bytes: 20_000,
        } => assert_eq!(v.buckets[usize::from(bucket)], 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn history_keeps_the_last_thousand_without_reallocating() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    let alloc = b.history().allocation();
    let before = b.history().total();
    // Each flap of B records two entries (disabled, enabled).
    for i in 0..600u64 {
        b.set_carrier(B, false, Millis(10 + 2 * i));
        b.set_carrier(B, true, Millis(11 + 2 * i));
    }
    let h = b.history();
    assert_eq!(h.allocation(), alloc, "recording reallocated");
    assert_eq!(h.total(), before + 1200);
    assert_eq!(h.len(), HISTORY_LEN);
    assert_eq!(h.dropped(), before + 200);
    let first = h.iter().next().unwrap();
    assert_eq!(first.seq, before + 200, "the oldest were dropped");
    assert_eq!(first.at, Millis(10 + 200));
    let last = h.iter().last().unwrap();
    assert_eq!(last.event, member(B, true, Cause::Carrier));
    assert_eq!(last.at, Millis(11 + 2 * 599));
}
