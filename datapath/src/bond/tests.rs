//! Unit tests of the bond machine (fake clock, no sleeping).

use super::*;
use crate::wire::MacAddr;

const A: MemberId = 1;
const B: MemberId = 2;
const C: MemberId = 3;

fn cfg(mode: BondMode) -> BondConfig {
    BondConfig {
        mode,
        ..BondConfig::default()
    }
}

/// A bond whose members all have carrier at t=0.
fn bond_up(cfg: BondConfig, members: &[MemberId]) -> Bond {
    let mut b = Bond::new(cfg, members, Millis(0));
    for &m in members {
        b.set_carrier(m, true, Millis(0));
    }
    check(&b);
    b
}

/// Invariants every view must satisfy.
fn check(b: &Bond) {
    let v = b.view();
    assert!(v.members.len() <= MAX_MEMBERS);
    assert_eq!(
        v.enabled >> v.members.len().min(63) >> 1,
        0,
        "enabled bits beyond members"
    );
    if !v.up {
        assert!(v.buckets.iter().all(|&x| x == NO_MEMBER) || v.enabled == 0 || v.active.is_none());
        return;
    }
    let active = v.active.expect("an up bond has an active member");
    assert!(v.index_enabled(active), "active member not enabled");
    match v.mode {
        BondMode::ActiveBackup => assert!(v.buckets.iter().all(|&x| x == active)),
        _ => assert!(
            v.buckets.iter().all(|&x| v.index_enabled(x)),
            "a bucket names a disabled member: {:?}",
            v
        ),
    }
}

fn per_member(v: &BondView) -> Vec<usize> {
    (0..v.members.len())
        .map(|i| v.buckets.iter().filter(|&&x| usize::from(x) == i).count())
        .collect()
}

fn has(acts: &BondActions, e: &BondEvent) -> bool {
    acts.events.contains(e)
}

#[test]
fn mode_and_detect_spellings() {
    for m in [
        BondMode::ActiveBackup,
        BondMode::BalanceSlb,
        BondMode::BalanceTcp,
    ] {
        assert_eq!(BondMode::parse(m.as_str()), Ok(m));
        assert_eq!(m.to_string(), m.as_str());
    }
    assert_eq!(
        BondMode::parse("balance-rr"),
        Err(BondConfigError::UnknownMode("balance-rr".into()))
    );
    assert_eq!(DetectMode::from_config(None, None), Ok(DetectMode::Carrier));
    assert_eq!(
        DetectMode::from_config(Some("carrier"), Some(50)),
        Ok(DetectMode::Carrier)
    );
    assert_eq!(
        DetectMode::from_config(Some("miimon"), None),
        Ok(DetectMode::Miimon { interval_ms: 200 })
    );
    assert_eq!(
        DetectMode::from_config(Some("miimon"), Some(100)),
        Ok(DetectMode::Miimon { interval_ms: 100 })
    );
    assert_eq!(
        DetectMode::from_config(Some("miimon"), Some(0)),
        Err(BondConfigError::ZeroMiimonInterval)
    );
    assert!(DetectMode::from_config(Some("arp"), None).is_err());
    assert!(BondConfigError::UnknownMode("x".into())
        .to_string()
        .contains("balance-slb"));
    let mut c = BondConfig::default();
    assert_eq!(c.effective_rebalance_interval(), 10_000);
    c.rebalance_interval_ms = 10;
    assert_eq!(c.effective_rebalance_interval(), 1_000);
    c.rebalance_interval_ms = 0;
    assert_eq!(c.effective_rebalance_interval(), 0);
}

#[test]
fn membership_limits() {
    assert_eq!(
        Bond::try_new(BondConfig::default(), &[1, 2, 1], Millis(0)).err(),
        Some(BondError::DuplicateMember(1))
    );
    let many: Vec<MemberId> = (0..65).collect();
    assert_eq!(
        Bond::try_new(BondConfig::default(), &many, Millis(0)).err(),
        Some(BondError::TooManyMembers)
    );
    let mut b = Bond::new(BondConfig::default(), &many, Millis(0));
    assert_eq!(b.members().count(), 64);
    assert_eq!(b.add_member(99, Millis(0)), Err(BondError::TooManyMembers));
    assert_eq!(
        b.add_member(3, Millis(0)),
        Err(BondError::DuplicateMember(3))
    );
    // All 64 members up: the bitmask covers the last one.
    for m in 0..64 {
        b.set_carrier(m, true, Millis(0));
    }
    assert!(b.view().is_enabled(63));
    assert_eq!(b.view().enabled, u64::MAX);
    check(&b);
}

#[test]
fn first_carrier_sample_is_immediate_and_first_up_member_is_active() {
    let c = BondConfig {
        updelay_ms: 5000,
        ..cfg(BondMode::ActiveBackup)
    };
    let mut b = Bond::new(c, &[A, B], Millis(0));
    let v = b.view();
    assert!(!v.up);
    assert_eq!(v.member_for_hash(0), None);
    let acts = b.set_carrier(B, true, Millis(10));
    assert!(acts.changed);
    assert!(has(
        &acts,
        &BondEvent::ActiveChanged {
            from: None,
            to: Some(B)
        }
    ));
    assert!(acts.send_learning_packets);
    let acts = b.set_carrier(A, true, Millis(10));
    assert!(has(
        &acts,
        &BondEvent::MemberEnabled {
            member: A,
            cause: Cause::Carrier
        }
    ));
    let v = b.view();
    assert!(v.up && v.is_enabled(A) && v.is_enabled(B));
    assert_eq!(v.active_member(), Some(B));
    assert_eq!(v.member_for_hash(12345), Some(B));
    // A repeated identical sample changes nothing.
    let acts = b.set_carrier(A, true, Millis(20));
    assert_eq!(acts, BondActions::default());
    check(&b);
}

#[test]
fn slb_failover_moves_every_bucket_at_once_and_spreads_them() {
    let mut b = bond_up(
        BondConfig {
            downdelay_ms: 0,
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B, C],
    );
    let before = b.view();
    assert_eq!(per_member(&before), vec![86, 85, 85]);
    // Some traffic is accounted (no rebalance yet): the table is in use.
    assert!(!b.rebalance(&[1500; 256], Millis(50)).changed);
    let acts = b.set_carrier(B, false, Millis(100));
    assert!(acts.changed);
    assert!(acts.send_learning_packets);
    assert!(has(
        &acts,
        &BondEvent::MemberDisabled {
            member: B,
            cause: Cause::Carrier
        }
    ));
    let v = b.view();
    assert!(!v.is_enabled(B));
    let counts = per_member(&v);
    assert_eq!(counts[1], 0, "B still holds buckets");
    // B's 85 buckets were shared, not dumped on one member.
    assert!(counts[0] >= 86 + 40 && counts[2] >= 85 + 40, "{counts:?}");
    // Buckets that were not on B did not move.
    for i in 0..256 {
        if before.buckets[i] != 1 {
            assert_eq!(v.buckets[i], before.buckets[i], "bucket {i}");
        }
    }
    let moved: u16 = acts
        .events
        .iter()
        .filter_map(|e| match e {
            BondEvent::BucketsMoved {
                from: Some(B),
                count,
                ..
            } => Some(*count),
            _ => None,
        })
        .sum();
    assert_eq!(moved, 85);
    check(&b);

    // B comes back: no bucket moves to it until a rebalance.
    let acts = b.set_carrier(B, true, Millis(200));
    assert!(acts.changed); // enabled mask changed
    assert_eq!(per_member(&b.view())[1], 0);
    check(&b);

    // Everything fails, then A alone comes back: it gets every bucket at once.
    b.set_carrier(A, false, Millis(300));
    b.set_carrier(B, false, Millis(300));
    let acts = b.set_carrier(C, false, Millis(300));
    assert!(
        has(
            &acts,
            &BondEvent::ActiveChanged {
                from: Some(C),
                to: None
            }
        ) || !b.view().up
    );
    let v = b.view();
    assert!(!v.up);
    assert!(v.buckets.iter().all(|&x| x == NO_MEMBER));
    assert_eq!(v.member_for_hash(7), None);
    b.set_carrier(A, true, Millis(400));
    assert_eq!(per_member(&b.view()), vec![256, 0, 0]);
    check(&b);
}

#[test]
fn fresh_table_is_redealt_when_members_arrive_before_traffic() {
    // Carrier samples arrive one by one at startup; before any traffic was
    // measured, the table is spread over everyone (OVS assigns lazily).
    let mut b = Bond::new(cfg(BondMode::BalanceSlb), &[A, B], Millis(0));
    b.set_carrier(A, true, Millis(0));
    assert_eq!(per_member(&b.view()), vec![256, 0]);
    let acts = b.set_carrier(B, true, Millis(1));
    assert!(has(&acts, &BondEvent::BucketsReset));
    assert_eq!(per_member(&b.view()), vec![128, 128]);
    // Once traffic has been measured, a returning member waits for rebalance.
    let mut tx = [0u64; 256];
    tx[0] = 1000;
    b.rebalance(&tx, Millis(2));
    b.set_carrier(B, false, Millis(3));
    b.set_carrier(B, true, Millis(4));
    assert_eq!(per_member(&b.view()), vec![256, 0]);
    check(&b);

    // Without traffic, the table stops counting as unused after one
    // rebalance interval.
    let mut b = Bond::new(cfg(BondMode::BalanceSlb), &[A, B], Millis(0));
    b.set_carrier(A, true, Millis(0));
    b.set_carrier(B, true, Millis(9_999));
    assert_eq!(per_member(&b.view()), vec![128, 128]);
    b.set_carrier(B, false, Millis(10_000));
    b.set_carrier(B, true, Millis(20_000));
    assert_eq!(per_member(&b.view()), vec![256, 0]);
    check(&b);
}

#[test]
fn downdelay_ignores_short_flaps_and_expires_exactly() {
    let mut b = bond_up(
        BondConfig {
            downdelay_ms: 500,
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B],
    );
    let v0 = b.view();
    // A flap of 499 ms: nothing changes.
    let acts = b.set_carrier(A, false, Millis(1000));
    assert!(!acts.changed);
    assert!(has(
        &acts,
        &BondEvent::DelayStarted {
            member: A,
            up: false,
            delay_ms: 500
        }
    ));
    assert_eq!(b.next_deadline(), Some(Millis(1500)));
    assert!(!b.tick(Millis(1499)).changed);
    let acts = b.set_carrier(A, true, Millis(1499));
    assert!(!acts.changed);
    assert!(has(
        &acts,
        &BondEvent::DelayCancelled {
            member: A,
            up: false
        }
    ));
    assert!(!b.tick(Millis(5000)).changed);
    assert_eq!(b.view(), v0);

    // A real failure: disabled when the downdelay has fully passed.
    b.set_carrier(A, false, Millis(6000));
    assert!(b.view().is_enabled(A));
    assert!(!b.tick(Millis(6499)).changed);
    assert!(b.view().is_enabled(A));
    let acts = b.tick(Millis(6500));
    assert!(acts.changed);
    assert!(!b.view().is_enabled(A));
    assert_eq!(per_member(&b.view()), vec![0, 256]);
    check(&b);
}

#[test]
fn updelay_applies_when_another_member_is_up() {
    let mut b = bond_up(
        BondConfig {
            updelay_ms: 1000,
            ..cfg(BondMode::ActiveBackup)
        },
        &[A, B],
    );
    b.set_carrier(B, false, Millis(10));
    assert!(!b.view().is_enabled(B));
    let acts = b.set_carrier(B, true, Millis(100));
    assert!(!acts.changed);
    assert!(has(
        &acts,
        &BondEvent::DelayStarted {
            member: B,
            up: true,
            delay_ms: 1000
        }
    ));
    let st = b.status();
    let sb = st.members.iter().find(|m| m.id == B).unwrap();
    assert!(sb.may_enable && !sb.enabled);
    assert_eq!(
        sb.pending,
        Some(PendingDelay {
            up: true,
            expires_in_ms: 1000
        })
    );
    // A flap during the updelay restarts it.
    b.set_carrier(B, false, Millis(600));
    b.set_carrier(B, true, Millis(700));
    assert!(!b.tick(Millis(1100)).changed);
    assert!(!b.view().is_enabled(B));
    assert!(!b.tick(Millis(1699)).changed);
    let acts = b.tick(Millis(1700));
    assert!(acts.changed);
    assert!(has(
        &acts,
        &BondEvent::MemberEnabled {
            member: B,
            cause: Cause::Carrier
        }
    ));
    assert!(b.view().is_enabled(B));
    check(&b);
}

#[test]
fn updelay_is_skipped_when_no_member_is_enabled() {
    let mut b = bond_up(
        BondConfig {
            updelay_ms: 30_000,
            ..cfg(BondMode::ActiveBackup)
        },
        &[A, B],
    );
    b.set_carrier(A, false, Millis(10));
    b.set_carrier(B, false, Millis(10));
    assert!(!b.view().up);
    // B comes up first: enabled at once, no 30 s wait.
    let acts = b.set_carrier(B, true, Millis(20));
    assert!(acts.changed);
    assert!(has(
        &acts,
        &BondEvent::MemberEnabled {
            member: B,
            cause: Cause::UpdelaySkipped
        }
    ));
    assert_eq!(b.view().active_member(), Some(B));
    // A then waits for its updelay.
    b.set_carrier(A, true, Millis(30));
    assert!(!b.view().is_enabled(A));
    b.tick(Millis(30_030));
    assert!(b.view().is_enabled(A));
    check(&b);
}

#[test]
fn admin_down_is_immediate_admin_up_waits_for_updelay() {
    let mut b = bond_up(
        BondConfig {
            updelay_ms: 100,
            downdelay_ms: 10_000,
            ..cfg(BondMode::ActiveBackup)
        },
        &[A, B],
    );
    assert_eq!(b.view().active_member(), Some(A));
    let acts = b.set_admin(A, false, Millis(50));
    assert!(acts.changed);
    assert!(has(
        &acts,
        &BondEvent::MemberDisabled {
            member: A,
            cause: Cause::Admin
        }
    ));
    assert_eq!(b.view().active_member(), Some(B));
    let acts = b.set_admin(A, true, Millis(60));
    assert!(!acts.changed);
    b.tick(Millis(160));
    assert!(b.view().is_enabled(A));
    // Active stays B: no flapping back.
    assert_eq!(b.view().active_member(), Some(B));
    check(&b);
}

#[test]
fn miimon_acts_on_polls_only() {
    let mut b = bond_up(
        BondConfig {
            detect: DetectMode::Miimon { interval_ms: 100 },
            ..cfg(BondMode::ActiveBackup)
        },
        &[A, B],
    );
    // Polls at 100, 200, ...
    assert_eq!(b.next_deadline(), Some(Millis(100)));
    assert!(!b.tick(Millis(100)).changed);
    assert_eq!(b.next_deadline(), Some(Millis(200)));
    // A blip between two polls is never seen.
    assert!(!b.set_carrier(A, false, Millis(110)).changed);
    assert!(!b.set_carrier(A, true, Millis(150)).changed);
    assert!(!b.tick(Millis(200)).changed);
    assert!(b.view().is_enabled(A));
    // A failure is seen at the next poll, not before.
    assert!(!b.set_carrier(A, false, Millis(210)).changed);
    assert!(!b.tick(Millis(299)).changed);
    assert!(b.view().is_enabled(A));
    assert_eq!(b.next_deadline(), Some(Millis(300)));
    let acts = b.tick(Millis(300));
    assert!(acts.changed);
    assert!(!b.view().is_enabled(A));
    assert_eq!(b.view().active_member(), Some(B));
    // A late tick keeps the poll grid.
    b.tick(Millis(555));
    assert_eq!(b.next_deadline(), Some(Millis(600)));
    // A sample arriving exactly on a poll instant counts at once.
    assert!(b.set_carrier(A, true, Millis(600)).changed);
    assert!(b.view().is_enabled(A));
    check(&b);
    // Back to carrier mode: samples count at once.
    let acts = b.reconfigure(cfg(BondMode::ActiveBackup), Millis(700));
    assert!(!acts.changed);
    assert_eq!(b.next_deadline(), None);
    assert!(b.set_carrier(A, false, Millis(701)).changed);
}

#[test]
fn active_backup_keeps_active_on_recovery_and_honours_primary() {
    let mut b = bond_up(cfg(BondMode::ActiveBackup), &[A, B, C]);
    assert_eq!(b.view().active_member(), Some(A));
    b.set_carrier(A, false, Millis(10));
    assert_eq!(b.view().active_member(), Some(B));
    let acts = b.set_carrier(A, true, Millis(20));
    assert!(!has(
        &acts,
        &BondEvent::ActiveChanged {
            from: Some(B),
            to: Some(A)
        }
    ));
    assert_eq!(b.view().active_member(), Some(B));
    assert!(b.view().buckets.iter().all(|&x| x == 1));

    // Primary C: takes over at once when enabled...
    let acts = b.reconfigure(
        BondConfig {
            primary: Some(C),
            updelay_ms: 200,
            ..cfg(BondMode::ActiveBackup)
        },
        Millis(30),
    );
    assert!(acts.changed);
    assert!(acts.send_learning_packets);
    assert_eq!(b.view().active_member(), Some(C));
    // ...and again after it failed and came back (after its updelay).
    b.set_carrier(C, false, Millis(40));
    assert_eq!(b.view().active_member(), Some(A));
    b.set_carrier(C, true, Millis(50));
    assert_eq!(b.view().active_member(), Some(A));
    let acts = b.tick(Millis(250));
    assert!(has(
        &acts,
        &BondEvent::ActiveChanged {
            from: Some(A),
            to: Some(C)
        }
    ));
    assert_eq!(b.view().active_member(), Some(C));
    // Frames on backups are not admitted.
    let v = b.view();
    assert_eq!(v.admit(2, false), Admit::Accept);
    assert_eq!(v.admit(0, false), Admit::Drop);
    // A primary that is not a member is reported and otherwise ignored.
    b.reconfigure(
        BondConfig {
            primary: Some(77),
            ..cfg(BondMode::ActiveBackup)
        },
        Millis(300),
    );
    let st = b.status();
    assert_eq!(st.primary, Some(77));
    assert!(!st.primary_is_member);
    assert_eq!(st.active, Some(C));
    check(&b);
}

#[test]
fn primary_is_ignored_in_balance_slb() {
    let mut b = bond_up(
        BondConfig {
            primary: Some(B),
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B],
    );
    assert_eq!(b.view().active_member(), Some(A));
    b.set_carrier(A, false, Millis(1));
    b.set_carrier(A, true, Millis(2));
    assert_eq!(b.view().active_member(), Some(B));
    check(&b);
}

fn tcp_lacp(fallback: bool) -> BondConfig {
    BondConfig {
        lacp: true,
        lacp_fallback_ab: fallback,
        ..cfg(BondMode::BalanceTcp)
    }
}

#[test]
fn balance_tcp_without_negotiation_and_without_fallback_is_down() {
    let mut b = bond_up(tcp_lacp(false), &[A, B]);
    let v = b.view();
    assert!(!v.up);
    assert_eq!(v.enabled, 0);
    assert_eq!(v.member_for_hash(3), None);
    assert_eq!(v.admit(0, false), Admit::Drop);
    let st = b.status();
    assert_eq!(st.lacp_status, LacpNegotiation::Configured);
    assert_eq!(st.down_reason, Some(DownReason::LacpNotNegotiated));
    assert!(st.members.iter().all(|m| !m.may_enable && !m.enabled));

    // Negotiation: both members carry traffic, spread over buckets.
    let acts = b.set_lacp(true, &[(A, true), (B, true)], Millis(100));
    assert!(acts.changed);
    assert!(!acts.send_learning_packets, "no learning frames with LACP");
    assert!(has(
        &acts,
        &BondEvent::CarryingChanged {
            from: Carrying::Down(DownReason::LacpNotNegotiated),
            to: Carrying::Normal(BondMode::BalanceTcp)
        }
    ));
    let v = b.view();
    assert!(v.up && v.lacp_negotiated);
    assert_eq!(v.mode, BondMode::BalanceTcp);
    assert_eq!(per_member(&v), vec![128, 128]);
    assert_eq!(v.admit(1, true), Admit::Accept);
    check(&b);

    // LACP takes B out (partner stopped distributing): failover at once.
    let acts = b.set_lacp(true, &[(A, true), (B, false)], Millis(200));
    assert!(has(
        &acts,
        &BondEvent::MemberDisabled {
            member: B,
            cause: Cause::Lacp
        }
    ));
    assert_eq!(per_member(&b.view()), vec![256, 0]);

    // Negotiation lost: down again.
    b.set_lacp(false, &[(A, false), (B, false)], Millis(300));
    assert!(!b.view().up);
    check(&b);
}

#[test]
fn balance_tcp_falls_back_to_active_backup() {
    let mut b = bond_up(
        BondConfig {
            primary: Some(B),
            ..tcp_lacp(true)
        },
        &[A, B],
    );
    let v = b.view();
    assert!(v.up);
    assert_eq!(v.mode, BondMode::ActiveBackup);
    assert_eq!(v.active_member(), Some(B));
    assert!(v.buckets.iter().all(|&x| x == 1));
    assert_eq!(v.admit(0, false), Admit::Drop);
    assert_eq!(b.status().carrying, Carrying::FallbackActiveBackup);
    // Fallback sends learning frames, as OVS does.
    let acts = b.set_carrier(B, false, Millis(5));
    assert!(acts.send_learning_packets);
    assert_eq!(b.view().active_member(), Some(A));
    b.set_carrier(B, true, Millis(6));

    // Negotiation succeeds: balance-tcp with a fresh, spread table.
    let acts = b.set_lacp(true, &[(A, true), (B, true)], Millis(10));
    assert!(has(&acts, &BondEvent::BucketsReset));
    let v = b.view();
    assert_eq!(v.mode, BondMode::BalanceTcp);
    assert_eq!(per_member(&v), vec![128, 128]);
    check(&b);

    // And back to fallback when it is lost.
    b.set_lacp(false, &[], Millis(20));
    assert_eq!(b.view().mode, BondMode::ActiveBackup);
    assert!(b.view().up);
    check(&b);
}

#[test]
fn balance_tcp_with_lacp_off_is_down_even_with_fallback() {
    let b = bond_up(
        BondConfig {
            lacp_fallback_ab: true,
            ..cfg(BondMode::BalanceTcp)
        },
        &[A, B],
    );
    let v = b.view();
    assert!(!v.up);
    assert_eq!(v.member_for_hash(0), None);
    let st = b.status();
    assert_eq!(st.lacp_status, LacpNegotiation::Off);
    assert_eq!(st.down_reason, Some(DownReason::BalanceTcpNeedsLacp));
    // Links themselves are fine.
    assert!(st.members.iter().all(|m| m.enabled));
}

#[test]
fn slb_with_negotiated_lacp_admits_everything_and_sends_no_learning_frames() {
    let mut b = bond_up(
        BondConfig {
            lacp: true,
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B],
    );
    b.set_lacp(true, &[(A, true), (B, true)], Millis(1));
    let v = b.view();
    assert_eq!(v.mode, BondMode::BalanceSlb);
    assert_eq!(v.admit(1, true), Admit::Accept);
    let acts = b.set_carrier(A, false, Millis(2));
    assert!(acts.changed && !acts.send_learning_packets);
    // Without LACP, SLB filters multicast on non-active members.
    let b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    let v = b.view();
    assert_eq!(v.admit(1, true), Admit::DropMulticast);
    assert_eq!(v.admit(0, true), Admit::DropIfMoved);
}

#[test]
fn remove_and_add_members() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B, C]);
    let acts = b.remove_member(A, Millis(10));
    assert!(acts.changed && acts.send_learning_packets);
    assert!(has(
        &acts,
        &BondEvent::MemberDisabled {
            member: A,
            cause: Cause::Removed
        }
    ));
    assert!(has(
        &acts,
        &BondEvent::ActiveChanged {
            from: Some(A),
            to: Some(B)
        }
    ));
    let v = b.view();
    assert_eq!(v.members.as_slice(), &[B, C]);
    assert_eq!(per_member(&v).iter().sum::<usize>(), 256);
    assert!(per_member(&v).iter().all(|&n| n > 100));
    check(&b);
    assert_eq!(b.remove_member(A, Millis(11)), BondActions::default());
    b.rebalance(&[1500; 256], Millis(12));

    // A new member gets no buckets until load says so.
    let acts = b.add_member(A, Millis(20)).unwrap();
    assert!(acts.changed); // member list changed
    b.set_carrier(A, true, Millis(20));
    let v = b.view();
    assert_eq!(v.members.as_slice(), &[B, C, A]);
    assert!(v.is_enabled(A));
    assert_eq!(per_member(&v)[2], 0);
    // Heavy load on B and C: the next rebalance gives A some buckets.
    let mut tx = [0u64; 256];
    for (i, t) in tx.iter_mut().enumerate() {
        *t = 50_000 + (i as u64 % 7) * 1000;
    }
    let acts = b.rebalance(&tx, Millis(10_000));
    assert!(acts.changed);
    assert!(acts
        .events
        .iter()
        .any(|e| matches!(e, BondEvent::BucketShifted { to: A, .. })));
    assert!(per_member(&b.view())[2] > 50);
    check(&b);
}

#[test]
fn rebalance_runs_on_its_interval_and_reports_moves() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    assert!(!b.rebalance_due(Millis(9_999)));
    assert_eq!(b.next_deadline(), Some(Millis(10_000)));
    let st = b.status();
    assert_eq!(st.next_rebalance_ms, Some(10_000));
    // Every bucket of A loaded, B idle.
    let v = b.view();
    let tx: [u64; 256] = core::array::from_fn(|i| if v.buckets[i] == 0 { 20_000 } else { 0 });
    // Before the deadline only accounting happens.
    let acts = b.rebalance(&tx, Millis(5_000));
    assert_eq!(acts, BondActions::default());
    let acts = b.rebalance(&[0; 256], Millis(10_000));
    assert!(acts.changed && acts.send_learning_packets);
    let shifted = acts
        .events
        .iter()
        .filter(|e| matches!(e, BondEvent::BucketShifted { from: A, to: B, .. }))
        .count();
    assert!((60..=68).contains(&shifted), "{shifted}");
    assert!(acts
        .events
        .iter()
        .any(|e| matches!(e, BondEvent::Rebalanced { .. })));
    assert_eq!(b.next_deadline(), Some(Millis(20_000)));
    // Loads were halved after the run.
    let st = b.status();
    let total: u64 = st.members.iter().map(|m| m.load_bytes()).sum();
    assert_eq!(total, 128 * 20_000 / 2);
    check(&b);
}

#[test]
fn no_rebalancing_when_interval_is_zero_or_mode_is_active_backup() {
    let mut b = bond_up(
        BondConfig {
            rebalance_interval_ms: 0,
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B],
    );
    assert_eq!(b.next_deadline(), None);
    assert_eq!(b.status().next_rebalance_ms, None);
    let tx = [1_000_000u64; 256];
    assert_eq!(b.rebalance(&tx, Millis(100_000)), BondActions::default());
    let mut b = bond_up(cfg(BondMode::ActiveBackup), &[A, B]);
    assert_eq!(b.rebalance(&tx, Millis(100_000)), BondActions::default());
    assert!(!b.rebalance_due(Millis(100_000)));
}

#[test]
fn reconfigure_resets_or_keeps_the_table_as_ovs_does() {
    let mut b = bond_up(cfg(BondMode::BalanceSlb), &[A, B]);
    // Measured traffic, then a rebalance that moves buckets to B.
    let mut tx = [0u64; 256];
    tx[0] = 4_000_000;
    tx[2] = 3_000_000;
    b.rebalance(&tx, Millis(10_000));
    let moved = b.view();
    // Same settings: nothing happens.
    let acts = b.reconfigure(b.config().clone(), Millis(11_000));
    assert_eq!(acts, BondActions::default());
    // New rebalance interval: the current interval's start is kept.
    let acts = b.reconfigure(
        BondConfig {
            rebalance_interval_ms: 4_000,
            ..cfg(BondMode::BalanceSlb)
        },
        Millis(11_000),
    );
    assert!(!acts.changed);
    assert_eq!(b.next_deadline(), Some(Millis(14_000)));
    assert_eq!(b.view(), moved);
    // New hash basis: table dealt again, loads forgotten.
    let acts = b.reconfigure(
        BondConfig {
            rebalance_interval_ms: 4_000,
            hash_basis: 99,
            ..cfg(BondMode::BalanceSlb)
        },
        Millis(12_000),
    );
    assert!(acts.changed);
    assert!(has(&acts, &BondEvent::BucketsReset));
    assert_eq!(b.view().hash_basis, 99);
    assert_eq!(per_member(&b.view()), vec![128, 128]);
    assert!(b.status().members.iter().all(|m| m.load_bytes() == 0));
    // To active-backup and back.
    b.reconfigure(cfg(BondMode::ActiveBackup), Millis(13_000));
    assert_eq!(b.view().mode, BondMode::ActiveBackup);
    assert_eq!(b.next_deadline(), None);
    b.reconfigure(cfg(BondMode::BalanceSlb), Millis(14_000));
    assert_eq!(per_member(&b.view()), vec![128, 128]);
    assert_eq!(b.next_deadline(), Some(Millis(24_000)));
    check(&b);
}

#[test]
fn status_and_bond_show_text() {
    let mut b = bond_up(
        BondConfig {
            downdelay_ms: 300,
            hash_basis: 7,
            ..cfg(BondMode::BalanceSlb)
        },
        &[A, B],
    );
    let mut tx = [0u64; 256];
    let v = b.view();
    let a_bucket = (0..256).find(|&i| v.buckets[i] == 0).unwrap();
    tx[a_bucket] = 5 * 1024;
    b.rebalance(&tx, Millis(1_000));
    b.set_carrier(B, false, Millis(2_000));
    let st = b.status();
    assert_eq!(st.mode, BondMode::BalanceSlb);
    assert_eq!(st.hash_basis, 7);
    assert_eq!(st.next_rebalance_ms, Some(8_000));
    assert_eq!(st.lacp_status, LacpNegotiation::Off);
    assert_eq!(st.active, Some(A));
    let sa = &st.members[0];
    assert!(sa.enabled && sa.active && sa.may_enable);
    assert_eq!(sa.buckets.len(), 128);
    assert!(sa.buckets.contains(&BucketLoad {
        hash: a_bucket as u8,
        load_bytes: 5 * 1024
    }));
    let sb = &st.members[1];
    assert!(sb.enabled && !sb.may_enable && !sb.carrier);
    assert_eq!(
        sb.pending,
        Some(PendingDelay {
            up: false,
            expires_in_ms: 300
        })
    );
    let names = |m: MemberId| match m {
        A => ("dpdk0".to_string(), MacAddr([0, 0x11, 0, 0, 0, 1])),
        _ => ("dpdk1".to_string(), MacAddr([0, 0x11, 0, 0, 0, 2])),
    };
    let text = st.format("bond0", &names);
    let expected = format!(
        "---- bond0 ----\n\
         bond_mode: balance-slb\n\
         bond-hash-basis: 7\n\
         updelay: 0 ms\n\
         downdelay: 300 ms\n\
         next rebalance: 8000 ms\n\
         lacp_status: off\n\
         lacp_fallback_ab: false\n\
         active-backup primary: <none>\n\
         active member mac: 00:11:00:00:00:01(dpdk0)\n\
         \n\
         member dpdk0: enabled\n  \
         active member\n  \
         may_enable: true\n  \
         link failure count: 0\n  \
         last link change: 2000 ms ago\n  \
         hash {a_bucket}: 5 kB load\n\
         \n\
         member dpdk1: enabled\n  \
         downdelay expires in 300 ms\n  \
         may_enable: false\n  \
         link failure count: 1\n  \
         last link change: 0 ms ago\n\
         \n"
    );
    assert_eq!(text, expected);
}

#[test]
fn events_display() {
    let e = BondEvent::MemberDisabled {
        member: 4,
        cause: Cause::Carrier,
    };
    assert_eq!(e.to_string(), "member 4: disabled (carrier)");
    let e = BondEvent::BucketShifted {
        bucket: 9,
        from: 1,
        to: 2,
        load_bytes: 4096,
    };
    assert_eq!(e.to_string(), "shift 4kB of load (with hash 9) from 1 to 2");
    let e = BondEvent::ActiveChanged {
        from: Some(1),
        to: None,
    };
    assert_eq!(e.to_string(), "all members disabled");
}

#[test]
fn turning_lacp_on_starts_unnegotiated() {
    let c = BondConfig {
        lacp: true,
        ..cfg(BondMode::BalanceSlb)
    };
    let mut b = bond_up(c.clone(), &[A, B]);
    b.set_lacp(true, &[(A, true), (B, true)], Millis(1));
    assert!(b.view().up);
    b.reconfigure(cfg(BondMode::BalanceSlb), Millis(2));
    assert_eq!(b.lacp_status(), LacpNegotiation::Off);
    assert!(b.view().up);
    let acts = b.reconfigure(c, Millis(3));
    assert!(acts.changed);
    assert_eq!(b.lacp_status(), LacpNegotiation::Configured);
    assert!(!b.view().up);
    assert!(b.status().members.iter().all(|m| !m.lacp_enabled));
}

#[test]
fn events_text_with_member_names() {
    let names = |m: MemberId| match m {
        3 => "dpdk0".to_string(),
        7 => "dpdk1".to_string(),
        other => other.to_string(),
    };
    let text = |e: BondEvent| e.text(&names);
    assert_eq!(
        text(BondEvent::DelayStarted {
            member: 3,
            up: true,
            delay_ms: 200
        }),
        "member dpdk0: will be enabled if it stays up for 200 ms"
    );
    assert_eq!(
        text(BondEvent::DelayCancelled {
            member: 7,
            up: false
        }),
        "member dpdk1: will not be disabled"
    );
    assert_eq!(
        text(BondEvent::MemberEnabled {
            member: 3,
            cause: Cause::UpdelaySkipped
        }),
        "member dpdk0: enabled (updelay skipped, no member was enabled)"
    );
    assert_eq!(
        text(BondEvent::MemberDisabled {
            member: 7,
            cause: Cause::Admin
        }),
        "member dpdk1: disabled (admin state)"
    );
    // A member the resolver does not know keeps its number.
    assert_eq!(
        text(BondEvent::MemberDisabled {
            member: 9,
            cause: Cause::Removed
        }),
        "member 9: disabled (removed from bond)"
    );
    assert_eq!(
        text(BondEvent::ActiveChanged {
            from: Some(3),
            to: Some(7)
        }),
        "active member is now dpdk1 (was dpdk0)"
    );
    assert_eq!(
        text(BondEvent::ActiveChanged {
            from: None,
            to: Some(3)
        }),
        "active member is now dpdk0 (was none)"
    );
    assert_eq!(
        text(BondEvent::ActiveChanged {
            from: Some(3),
            to: None
        }),
        "all members disabled"
    );
    assert_eq!(
        text(BondEvent::BucketsMoved {
            from: Some(3),
            to: Some(7),
            count: 85
        }),
        "moved 85 hashes from dpdk0 to dpdk1"
    );
    assert_eq!(
        text(BondEvent::BucketsMoved {
            from: None,
            to: Some(7),
            count: 256
        }),
        "moved 256 hashes from none to dpdk1"
    );
    // The others read as their Display text, numbers included.
    assert_eq!(
        text(BondEvent::BucketShifted {
            bucket: 9,
            from: 3,
            to: 7,
            load_bytes: 4096
        }),
        "shift 4kB of load (with hash 9) from 3 to 7"
    );
    assert_eq!(
        text(BondEvent::Rebalanced {
            loads: vec![(3, 2048), (7, 1024)]
        }),
        "rebalanced (now carrying: 3:2kB and 7:1kB)"
    );
    assert_eq!(
        text(BondEvent::BucketsReset),
        "hashes reassigned to all enabled members"
    );
    assert_eq!(
        text(BondEvent::CarryingChanged {
            from: Carrying::Down(DownReason::LacpNotNegotiated),
            to: Carrying::Normal(BondMode::BalanceTcp)
        }),
        "now carrying traffic as balance-tcp (was down: LACP is not negotiated and lacp-fallback-ab is off)"
    );
}
