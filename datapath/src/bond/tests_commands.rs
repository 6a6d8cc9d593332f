//! Unit tests of the runtime commands (set-active-member,
//! enable/disable-member) and the link failure count (fake clock).

use super::*;

const A: MemberId = 1;
const B: MemberId = 2;
const C: MemberId = 3;

fn bond_up(cfg: BondConfig, members: &[MemberId]) -> Bond {
    let mut b = Bond::new(cfg, members, Millis(0));
    for &m in members {
        b.set_carrier(m, true, Millis(0));
    }
    b
}

fn ab() -> BondConfig {
    BondConfig {
        mode: BondMode::ActiveBackup,
        ..BondConfig::default()
    }
}

fn slb() -> BondConfig {
    BondConfig {
        mode: BondMode::BalanceSlb,
        ..BondConfig::default()
    }
}

fn member(b: &Bond, m: MemberId) -> BondMemberStatus {
    b.status().members.into_iter().find(|x| x.id == m).unwrap()
}

#[test]
fn set_active_member_moves_active_backup_traffic() {
    let mut b = bond_up(ab(), &[A, B]);
    assert_eq!(b.status().active, Some(A));
    let (r, acts) = b.set_active_member(B, Millis(10)).unwrap();
    assert_eq!(r, SetActive::Done);
    assert_eq!(r.reply(), "done");
    assert!(acts.changed && acts.send_learning_packets);
    assert!(acts.events.contains(&BondEvent::ActiveChanged {
        from: Some(A),
        to: Some(B)
    }));
    let v = b.view();
    assert_eq!(v.active, Some(1));
    assert!(v.buckets.iter().all(|&x| x == 1), "every frame leaves on B");
    // Again: nothing to do.
    let (r, acts) = b.set_active_member(B, Millis(20)).unwrap();
    assert_eq!((r, r.reply()), (SetActive::NoChange, "no change"));
    assert!(!acts.changed && acts.events.is_empty());
    // Not permanent: when B fails, A takes over.
    b.set_carrier(B, false, Millis(30));
    assert_eq!(b.status().active, Some(A));
}

#[test]
fn set_active_member_refuses_disabled_and_unknown_members_without_change() {
    let mut b = bond_up(ab(), &[A, B]);
    b.set_carrier(B, false, Millis(5));
    let before = b.view();
    let e = b.set_active_member(B, Millis(10)).unwrap_err();
    assert_eq!(e, BondCommandError::DisabledMember);
    assert_eq!(e.to_string(), "cannot make disabled member active");
    let e = b.set_active_member(C, Millis(10)).unwrap_err();
    assert_eq!(e.to_string(), "no such member");
    assert_eq!(b.view(), before);
    assert_eq!(
        b.set_member_enabled(C, false, Millis(10)).unwrap_err(),
        BondCommandError::NoSuchMember
    );
}

#[test]
fn an_enabled_primary_takes_over_again_at_once() {
    let mut b = bond_up(
        BondConfig {
            primary: Some(A),
            ..ab()
        },
        &[A, B],
    );
    let (r, _) = b.set_active_member(B, Millis(10)).unwrap();
    assert_eq!(
        r,
        SetActive::Done,
        "OVS answers done, then bond_run reverts"
    );
    assert_eq!(b.status().active, Some(A));
}

#[test]
fn set_active_member_in_balance_slb_changes_only_the_active_member() {
    let mut b = bond_up(slb(), &[A, B]);
    let buckets = b.view().buckets;
    b.set_active_member(B, Millis(10)).unwrap();
    let v = b.view();
    assert_eq!(v.active, Some(1));
    assert_eq!(v.buckets, buckets, "hashing is untouched");
}

#[test]
fn disable_member_is_immediate_and_held_until_enable_member() {
    let mut b = bond_up(
        BondConfig {
            updelay_ms: 5_000,
            downdelay_ms: 5_000,
            ..slb()
        },
        &[A, B],
    );
    let acts = b.set_member_enabled(A, false, Millis(100)).unwrap();
    assert!(acts.changed);
    assert!(acts.events.contains(&BondEvent::MemberDisabled {
        member: A,
        cause: Cause::Command
    }));
    let v = b.view();
    assert!(!v.index_enabled(0), "no downdelay");
    assert!(v.buckets.iter().all(|&x| x == 1), "A's buckets moved to B");
    assert_eq!(b.status().active, Some(B));
    let st = member(&b, A);
    assert!(st.held_down && !st.enabled && st.may_enable);
    // Held: time passing and carrier samples that change nothing keep it out.
    b.set_carrier(A, true, Millis(20_000));
    b.tick(Millis(20_000));
    assert!(!member(&b, A).enabled);
    // enable-member skips the updelay.
    let acts = b.set_member_enabled(A, true, Millis(20_001)).unwrap();
    assert!(acts.events.contains(&BondEvent::MemberEnabled {
        member: A,
        cause: Cause::Command
    }));
    let st = member(&b, A);
    assert!(st.enabled && !st.held_down && st.pending.is_none());
    assert!(b
        .status()
        .format("b", &|m| (m.to_string(), crate::wire::MacAddr::ZERO))
        .contains("member 1: enabled\n  may_enable: true\n  link failure count: 0\n"));
}

#[test]
fn disable_member_shows_in_bond_show_and_a_carrier_change_ends_it() {
    let mut b = bond_up(ab(), &[A, B]);
    b.set_member_enabled(B, false, Millis(10)).unwrap();
    let text = b
        .status()
        .format("b", &|m| (m.to_string(), crate::wire::MacAddr::ZERO));
    assert!(text
        .contains("member 2: disabled\n  may_enable: true\n  disabled by bond/disable-member\n"));
    b.set_carrier(B, false, Millis(20));
    assert!(!member(&b, B).held_down);
    b.set_carrier(B, true, Millis(30));
    assert!(member(&b, B).enabled, "back with its carrier");
}

#[test]
fn enable_member_does_not_enable_a_member_without_carrier() {
    let mut b = bond_up(ab(), &[A, B]);
    b.set_carrier(B, false, Millis(10));
    let acts = b.set_member_enabled(B, true, Millis(20)).unwrap();
    assert!(!acts.changed);
    assert!(!member(&b, B).enabled);
}

#[test]
fn enabling_the_only_member_while_a_held_one_waits_for_updelay() {
    // A held member is never enabled early by "no member is enabled".
    let mut b = bond_up(
        BondConfig {
            updelay_ms: 1_000,
            ..ab()
        },
        &[A],
    );
    b.set_member_enabled(A, false, Millis(10)).unwrap();
    b.tick(Millis(5_000));
    let st = b.status();
    assert_eq!(st.active, None);
    assert!(!b.view().up);
}

#[test]
fn link_failures_count_carrier_losses_with_their_time() {
    let mut b = bond_up(ab(), &[A, B]);
    assert_eq!(member(&b, A).link_failures, 0);
    assert_eq!(member(&b, A).last_link_change_ms, Some(0));
    b.set_carrier(A, false, Millis(1_000));
    b.set_carrier(A, true, Millis(1_500));
    b.set_carrier(A, false, Millis(2_000));
    b.set_carrier(A, false, Millis(2_100)); // no change, no count
    b.tick(Millis(2_600));
    let st = member(&b, A);
    assert_eq!(st.link_failures, 2);
    assert_eq!(st.last_link_change_ms, Some(600));
    assert_eq!(member(&b, B).link_failures, 0);
    let fresh = Bond::new(ab(), &[C], Millis(0));
    assert_eq!(member(&fresh, C).last_link_change_ms, None);
    assert!(fresh
        .status()
        .format("b", &|m| (m.to_string(), crate::wire::MacAddr::ZERO))
        .contains("  link failure count: 0\n  last link change: never\n"));
}

#[test]
fn miimon_counts_only_the_losses_it_polls() {
    let mut b = bond_up(
        BondConfig {
            detect: DetectMode::Miimon { interval_ms: 100 },
            ..ab()
        },
        &[A, B],
    );
    b.tick(Millis(100));
    // A loss that reverts between two polls is never seen.
    b.set_carrier(A, false, Millis(120));
    b.set_carrier(A, true, Millis(150));
    b.tick(Millis(200));
    assert_eq!(member(&b, A).link_failures, 0);
    b.set_carrier(A, false, Millis(250));
    assert_eq!(member(&b, A).link_failures, 0, "not polled yet");
    b.tick(Millis(300));
    assert_eq!(member(&b, A).link_failures, 1);
}
