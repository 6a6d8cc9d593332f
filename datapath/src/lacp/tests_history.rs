//! The LACP machine's event history (`lacp/events`): each cause provoked
//! with a fake clock and hand-made partner LACPDUs, the entries it leaves
//! (states, cause, partner), and the 1,000-entry bound.

use super::*;
use crate::history::{Stamped, HISTORY_LEN};

fn since(l: &Lacp, t: Millis) -> Vec<Stamped<LacpRecord>> {
    l.history().iter().filter(|e| e.at >= t).copied().collect()
}

fn state(rx: RxState, mux: MuxState, enabled: bool) -> LacpMemberState {
    LacpMemberState { rx, mux, enabled }
}

const DISTRIBUTING: LacpMemberState = LacpMemberState {
    rx: RxState::Current,
    mux: MuxState::Distributing,
    enabled: true,
};

#[test]
fn negotiation_is_recorded_up_to_in_sync() {
    let (l, _) = negotiated_one(true);
    let h: Vec<LacpRecord> = l.history().iter().map(|e| e.event).collect();
    let last = h.last().unwrap();
    assert_eq!(last.to, DISTRIBUTING);
    assert_eq!(last.cause, LacpCause::InSync);
    assert_eq!(last.partner.sys_id, THEIR_SYS);
    assert_eq!(last.partner.key, 9);
    // Every record is a change: from differs from to (or the partner).
    assert!(h.iter().all(|r| r.from != r.to), "{h:?}");
    // Records chain: each starts where the previous one ended.
    assert!(h.windows(2).all(|w| w[0].to == w[1].from), "{h:?}");
    // On the way up, every step is negotiation, none a failure.
    let (last, steps) = h.split_last().unwrap();
    assert_eq!(last.cause, LacpCause::InSync);
    assert!(!steps.is_empty());
    assert!(
        steps.iter().all(|r| r.cause == LacpCause::Negotiating),
        "{h:?}"
    );
}

#[test]
fn carrier_loss_is_link_down() {
    let (mut l, t) = negotiated_one(true);
    l.set_carrier(1, false, t + 5);
    let got = since(&l, t + 5);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].at, t + 5);
    let r = got[0].event;
    assert_eq!(r.member, 1);
    assert_eq!(r.from, DISTRIBUTING);
    assert_eq!(r.to.rx, RxState::PortDisabled);
    assert!(!r.to.enabled);
    assert_eq!(r.cause, LacpCause::LinkDown);
    assert_eq!(r.partner.sys_id, THEIR_SYS, "the partner it had");
    // And back: link up, waiting for the partner.
    l.set_carrier(1, true, t + 10);
    let r = since(&l, t + 10)[0].event;
    assert_eq!(r.cause, LacpCause::LinkUp);
    assert_eq!(r.to.rx, RxState::Expired);
}

#[test]
fn expiry_is_a_timeout_then_defaulted_with_the_lost_partner() {
    let (mut l, t) = negotiated_one(true);
    let expired_at = t + SHORT_TIMEOUT_MS;
    l.tick(expired_at);
    let got = since(&l, expired_at);
    assert_eq!(got.len(), 1, "{got:?}");
    let r = got[0].event;
    assert_eq!(r.from, DISTRIBUTING);
    assert_eq!(r.to.rx, RxState::Expired);
    assert!(!r.to.enabled);
    assert_eq!(r.cause, LacpCause::Timeout);
    assert_eq!((r.partner.sys_id, r.partner.key), (THEIR_SYS, 9));
    assert!(!r.partner.state.is_synchronized(), "sync is gone at expiry");
    let defaulted_at = expired_at + SHORT_TIMEOUT_MS;
    l.tick(defaulted_at);
    let r = since(&l, defaulted_at)[0].event;
    assert_eq!(r.to.rx, RxState::Defaulted);
    assert_eq!(r.cause, LacpCause::Defaulted);
    assert_eq!(r.partner.sys_id, THEIR_SYS, "the partner that went silent");
}

#[test]
fn partner_out_of_sync_is_recorded_with_its_state() {
    let (mut l, t) = negotiated_one(true);
    let ours = member_status(&l, 1).actor;
    let not_in_sync = IN_SYNC
        .without(LacpState::SYNCHRONIZATION)
        .without(LacpState::COLLECTING)
        .without(LacpState::DISTRIBUTING);
    let a = l.rx_frame(1, &pdu(their_port(7, 9, not_in_sync), ours), t + 1);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    let got = since(&l, t + 1);
    assert_eq!(got.len(), 1, "{got:?}");
    let r = got[0].event;
    assert_eq!(r.from, DISTRIBUTING);
    assert_eq!(r.to, state(RxState::Current, MuxState::Attached, false));
    assert_eq!(r.cause, LacpCause::PartnerOutOfSync);
    assert_eq!(r.partner.port_id, 7);
    assert_eq!(r.partner.state, not_in_sync);
    // The log line says the same.
    assert_eq!(
        member_status(&l, 1).cause(),
        "partner 02:00:00:00:00:bb port 7 is not in sync"
    );
}

#[test]
fn partner_change_is_recorded() {
    let (mut l, t) = negotiated_one(true);
    let ours = member_status(&l, 1).actor;
    l.rx_frame(1, &pdu(their_port(7, 10, IN_SYNC), ours), t + 1);
    let got = since(&l, t + 1);
    assert_eq!(got.len(), 1, "{got:?}");
    let r = got[0].event;
    assert_eq!(r.cause, LacpCause::PartnerChanged);
    assert_eq!(r.from, DISTRIBUTING);
    assert!(!r.to.enabled);
    assert_eq!(r.partner.key, 10, "the new partner");
}

#[test]
fn history_keeps_the_last_thousand_without_reallocating() {
    let (mut l, t) = negotiated_one(true);
    let alloc = l.history().allocation();
    let before = l.history().total();
    // Each flap records link down and link up.
    for i in 0..600u64 {
        l.set_carrier(1, false, t + 2 * i + 1);
        l.set_carrier(1, true, t + 2 * i + 2);
    }
    let h = l.history();
    assert_eq!(h.allocation(), alloc, "recording reallocated");
    assert_eq!(h.total(), before + 1200);
    assert_eq!(h.len(), HISTORY_LEN);
    let first = h.iter().next().unwrap();
    assert_eq!(first.seq, before + 200);
    assert_eq!(first.at, t + 201);
    assert_eq!(first.event.cause, LacpCause::LinkDown);
    assert_eq!(h.iter().last().unwrap().event.cause, LacpCause::LinkUp);
}
