//! The bond's event history (`bond/events`): every call records the
//! changes it made, taken from the [`BondEvent`]s it reports (so the log
//! line and the history say the same thing, with the same [`Cause`]), in
//! a [`History`] allocated with the bond.
//!
//! Recorded: a member enabled or disabled (with its cause), the active
//! member changing, the bond changing how it carries traffic (LACP
//! negotiated or lost, `lacp-fallback-ab`), and each bucket a rebalance
//! moves (with its load). Not recorded: updelay/downdelay timers starting
//! or being cancelled, bucket tables dealt out again, and the buckets a
//! disabled member hands over (the member's own record says why).

use super::{Bond, BondActions, BondEvent, Carrying, Cause, MemberId};
use crate::history::History;
use crate::time::Millis;

/// One recorded bond change.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BondRecord {
    /// A member was enabled (`enabled`) or disabled: it went from the
    /// other state to this one.
    Member {
        /// The member.
        member: MemberId,
        /// The new state.
        enabled: bool,
        /// Why.
        cause: Cause,
    },
    /// The active member changed (`None`: no member).
    Active {
        /// Before.
        from: Option<MemberId>,
        /// After.
        to: Option<MemberId>,
    },
    /// How the bond carries traffic changed: [`Cause::Fallback`] when
    /// `lacp-fallback-ab` is involved on either side, else [`Cause::Lacp`]
    /// (negotiation gained or lost).
    Carrying {
        /// Before.
        from: Carrying,
        /// After.
        to: Carrying,
        /// Why.
        cause: Cause,
    },
    /// A rebalance moved one bucket.
    Rebalance {
        /// The bucket (`hash & 0xff`).
        bucket: u8,
        /// Its member before.
        from: MemberId,
        /// Its member after.
        to: MemberId,
        /// Its remembered load in bytes when it moved.
        load_bytes: u64,
    },
}

impl BondRecord {
    /// The record for event `e`, if it is one the history keeps.
    pub fn of(e: &BondEvent) -> Option<BondRecord> {
        Some(match *e {
            BondEvent::MemberEnabled { member, cause } => BondRecord::Member {
                member,
                enabled: true,
                cause,
            },
            BondEvent::MemberDisabled { member, cause } => BondRecord::Member {
                member,
                enabled: false,
                cause,
            },
            BondEvent::ActiveChanged { from, to } => BondRecord::Active { from, to },
            BondEvent::CarryingChanged { from, to } => BondRecord::Carrying {
                from,
                to,
                cause: if from == Carrying::FallbackActiveBackup
                    || to == Carrying::FallbackActiveBackup
                {
                    Cause::Fallback
                } else {
                    Cause::Lacp
                },
            },
            BondEvent::BucketShifted {
                bucket,
                from,
                to,
                load_bytes,
            } => BondRecord::Rebalance {
                bucket,
                from,
                to,
                load_bytes,
            },
            BondEvent::DelayStarted { .. }
            | BondEvent::DelayCancelled { .. }
            | BondEvent::BucketsMoved { .. }
            | BondEvent::BucketsReset
            | BondEvent::Rebalanced { .. } => return None,
        })
    }
}

impl Bond {
    /// The last events (`bond/events`), oldest first.
    pub fn history(&self) -> &History<BondRecord> {
        &self.history
    }

    /// Put `h` in place of the history and return the one it replaces: a
    /// bond built to replace another (a new bond mode) takes the old one's
    /// history, so its events stay listed. Call it before anything else
    /// reaches the new bond.
    pub fn replace_history(&mut self, h: History<BondRecord>) -> History<BondRecord> {
        core::mem::replace(&mut self.history, h)
    }

    /// Record what `acts` reports, at `now`.
    pub(super) fn record(&mut self, now: Millis, acts: &BondActions) {
        for r in acts.events.iter().filter_map(BondRecord::of) {
            self.history.push(now, r);
        }
    }
}
