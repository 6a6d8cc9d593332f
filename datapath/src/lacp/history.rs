//! The LACP machine's event history (`lacp/events`) and the causes it
//! gives — the one definition of why LACP enabled or disabled a member,
//! which the log lines word too ([`LacpMemberStatus::cause`]).
//!
//! After every call, each member whose state (receive machine, mux
//! machine, enabled) changed since the last record, or whose partner
//! became a different port, gets one [`LacpRecord`]: old and new state,
//! the cause, and the partner as it was then. Intermediate states a
//! single call walks through (DETACHED → WAITING → ... within one
//! LACPDU) are not listed one by one. Records go into a [`History`]
//! allocated with the machine; recording never allocates.
//!
//! [`LacpMemberStatus::cause`]: super::LacpMemberStatus::cause

use super::member::{same_partner_port, Member};
use super::status::{MuxState, RxState};
use super::{Lacp, MemberId};
use crate::history::History;
use crate::time::Millis;
use crate::wire::lacpdu::LacpInfo;
use crate::wire::MacAddr;

/// What a member's machines are in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LacpMemberState {
    /// Receive machine.
    pub rx: RxState,
    /// Mux machine.
    pub mux: MuxState,
    /// May carry traffic.
    pub enabled: bool,
}

impl LacpMemberState {
    pub(super) fn of(m: &Member) -> LacpMemberState {
        LacpMemberState {
            rx: m.rx,
            mux: m.mux,
            enabled: m.enabled(),
        }
    }
}

/// Why a member's LACP state changed, read from the member right after
/// the change (the first that applies, in this order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LacpCause {
    /// Enabled: the partner is in sync, collecting and distributing.
    InSync,
    /// The carrier is down (in the daemon also `admin_state=down`).
    LinkDown,
    /// The carrier came up; the partner is not heard from yet.
    LinkUp,
    /// A LACPDU from a different partner port (system, key or port).
    PartnerChanged,
    /// Resuming after a restart, until the saved partner confirms.
    Resuming,
    /// No LACPDU from the partner within the timeout (expired).
    Timeout,
    /// No partner any more (defaulted).
    Defaulted,
    /// Not selected: the partner's system or key is not the aggregator's.
    NotSelected,
    /// The partner says it is not in sync.
    PartnerOutOfSync,
    /// The partner is in sync but not collecting.
    PartnerNotCollecting,
    /// On its way: the mux machine moved towards distributing (or waits
    /// for the partner's flags), not there yet.
    Negotiating,
}

impl LacpCause {
    /// A short phrase, as `lacp/events` prints it.
    pub const fn as_str(self) -> &'static str {
        match self {
            LacpCause::InSync => "partner in sync",
            LacpCause::LinkDown => "link down",
            LacpCause::LinkUp => "link up",
            LacpCause::PartnerChanged => "partner changed",
            LacpCause::Resuming => "resuming",
            LacpCause::Timeout => "lacp timeout",
            LacpCause::Defaulted => "defaulted",
            LacpCause::NotSelected => "not selected",
            LacpCause::PartnerOutOfSync => "partner out of sync",
            LacpCause::PartnerNotCollecting => "partner not collecting",
            LacpCause::Negotiating => "negotiating",
        }
    }

    /// The stable name `lacp/events --format=json` gives it.
    pub const fn key(self) -> &'static str {
        match self {
            LacpCause::InSync => "in_sync",
            LacpCause::LinkDown => "link_down",
            LacpCause::LinkUp => "link_up",
            LacpCause::PartnerChanged => "partner_changed",
            LacpCause::Resuming => "resuming",
            LacpCause::Timeout => "timeout",
            LacpCause::Defaulted => "defaulted",
            LacpCause::NotSelected => "not_selected",
            LacpCause::PartnerOutOfSync => "partner_out_of_sync",
            LacpCause::PartnerNotCollecting => "partner_not_collecting",
            LacpCause::Negotiating => "negotiating",
        }
    }

    /// The sentence for the log, with partner `p` and mux state `mux`.
    pub fn describe(self, p: &LacpInfo, mux: MuxState) -> String {
        let (sys, port, key) = (p.sys_id, p.port_id, p.key);
        match self {
            LacpCause::InSync => {
                format!("partner {sys} port {port} in sync, collecting and distributing")
            }
            LacpCause::Timeout => "no LACPDU from the partner within the timeout (expired)".into(),
            LacpCause::Defaulted => "no partner (defaulted)".into(),
            LacpCause::PartnerChanged => {
                format!("partner changed: now {sys} key {key} port {port}")
            }
            LacpCause::Resuming => "resuming from the saved state".into(),
            LacpCause::NotSelected => format!(
                "not selected: partner {sys} key {key} does not match the bond's aggregator"
            ),
            LacpCause::PartnerOutOfSync => format!("partner {sys} port {port} is not in sync"),
            LacpCause::PartnerNotCollecting => {
                format!("partner {sys} port {port} is not collecting")
            }
            LacpCause::Negotiating => format!("mux state {mux}"),
            LacpCause::LinkDown | LacpCause::LinkUp => self.as_str().into(),
        }
    }

    /// The cause of member `m` having changed from `from` to `now`.
    fn of(m: &Member, from: LacpMemberState, now: LacpMemberState, changed: bool) -> LacpCause {
        let p = m.partner.state;
        match now.rx {
            _ if now.enabled => LacpCause::InSync,
            _ if !m.carrier => LacpCause::LinkDown,
            RxState::PortDisabled => LacpCause::LinkDown,
            _ if from.rx == RxState::PortDisabled => LacpCause::LinkUp,
            _ if changed => LacpCause::PartnerChanged,
            _ if m.resume.is_some() => LacpCause::Resuming,
            // Moving on towards distributing: progress, not a failure.
            _ if now.mux > from.mux => LacpCause::Negotiating,
            RxState::Expired => LacpCause::Timeout,
            RxState::Defaulted => LacpCause::Defaulted,
            RxState::Current if !m.selected => LacpCause::NotSelected,
            RxState::Current if !p.is_synchronized() => LacpCause::PartnerOutOfSync,
            RxState::Current if !p.is_collecting() => LacpCause::PartnerNotCollecting,
            RxState::Current => LacpCause::Negotiating,
        }
    }
}

/// One recorded change of a member.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LacpRecord {
    /// The member.
    pub member: MemberId,
    /// Its state before.
    pub from: LacpMemberState,
    /// Its state after (the same as `from` when only the partner changed).
    pub to: LacpMemberState,
    /// Why.
    pub cause: LacpCause,
    /// The partner (system, key, port, state flags) after the change;
    /// when the change forgot it (defaulted), the partner it had.
    pub partner: LacpInfo,
}

impl Lacp {
    /// The last events (`lacp/events`), oldest first.
    pub fn history(&self) -> &History<LacpRecord> {
        &self.history
    }

    /// Put `h` in place of the history and return the one it replaces (a
    /// machine built to replace another keeps the old one's events).
    pub fn replace_history(&mut self, h: History<LacpRecord>) -> History<LacpRecord> {
        core::mem::replace(&mut self.history, h)
    }

    /// Record every member that changed since its last record.
    pub(super) fn record(&mut self, now: Millis) {
        for m in &mut self.members {
            let (from, to) = (m.seen, LacpMemberState::of(m));
            let (old, new) = (m.seen_partner, m.partner);
            let known = |p: &LacpInfo| p.sys_id != MacAddr::ZERO;
            let changed = known(&old) && known(&new) && !same_partner_port(&old, &new);
            if from == to && !changed {
                continue;
            }
            let cause = LacpCause::of(m, from, to, changed);
            let partner = if known(&new) { new } else { old };
            self.history.push(
                now,
                LacpRecord {
                    member: m.id,
                    from,
                    to,
                    cause,
                    partner,
                },
            );
            m.seen = to;
            m.seen_partner = new;
            m.last_cause = cause;
        }
    }
}
