//! Per-member link state: the inputs (carrier, admin state, LACP) and the
//! updelay/downdelay timer that turns them into `enabled`.
//!
//! This follows OVS `bond_link_status_update()`: a member is *up* when all
//! its inputs say so; when *up* differs from *enabled* a timer of `updelay`
//! (going up) or `downdelay` (going down) starts, and when *up* returns to
//! *enabled* before it expires the timer is cancelled, so flaps shorter than
//! the delay are never seen.

use super::{Cause, MemberId};
use crate::time::Millis;

/// One bond member's state.
#[derive(Clone, Debug)]
pub(super) struct Member {
    pub id: MemberId,
    /// Carrier as the bond acts on it (in miimon mode: as seen at the last poll).
    pub carrier: bool,
    /// The latest carrier sample from the caller.
    pub raw_carrier: bool,
    /// A carrier sample has been received since the member was added.
    pub sampled: bool,
    /// Administratively up (`admin_state`).
    pub admin: bool,
    /// The LACP machine lets this member carry traffic.
    pub lacp: bool,
    /// May carry traffic.
    pub enabled: bool,
    /// When `enabled` may next change (a running updelay or downdelay).
    pub delay_expires: Option<Millis>,
    /// The input that changed last, reported as the cause of an enable.
    pub last_cause: Cause,
    /// Held disabled by `bond/disable-member` until `bond/enable-member` or
    /// a change of its carrier.
    pub held_down: bool,
    /// Times its carrier (as the bond acts on it) went from up to down.
    pub link_failures: u64,
    /// When its carrier (as the bond acts on it) last changed, or was first
    /// sampled.
    pub last_link_change: Option<Millis>,
    /// Times the LACP machine stopped letting it carry traffic.
    pub lacp_failures: u64,
}

/// What one [`Member::update`] step decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum LinkStep {
    /// Nothing changed.
    None,
    /// A delay of `ms` started towards `up`.
    DelayStarted { up: bool, ms: u64 },
    /// A running delay was cancelled: the link went back to its enabled state.
    DelayCancelled { up: bool },
    /// `enabled` must become `up` now.
    Flip { up: bool },
}

impl Member {
    pub fn new(id: MemberId) -> Member {
        Member {
            id,
            carrier: false,
            raw_carrier: false,
            sampled: false,
            admin: true,
            lacp: false,
            enabled: false,
            delay_expires: None,
            last_cause: Cause::Carrier,
            held_down: false,
            link_failures: 0,
            last_link_change: None,
            lacp_failures: 0,
        }
    }

    /// Whether the LACP machine lets it carry traffic; a change makes LACP
    /// the cause, and losing it counts an LACP failure.
    pub fn set_lacp(&mut self, en: bool) {
        if self.lacp != en {
            self.lacp_failures += u64::from(!en);
            self.lacp = en;
            self.last_cause = Cause::Lacp;
        }
    }

    /// Set the carrier the bond acts on. A change counts a link failure
    /// (up to down), records when it happened, and ends a
    /// `bond/disable-member` hold (OVS: the setting "persists only until
    /// the carrier status of member changes").
    pub fn set_link(&mut self, up: bool, now: Millis) {
        if up != self.carrier {
            if !up {
                self.link_failures += 1;
            }
            self.held_down = false;
            self.last_link_change = Some(now);
        } else if self.last_link_change.is_none() {
            self.last_link_change = Some(now);
        }
        self.carrier = up;
    }

    /// Whether every input lets the member carry traffic, given whether
    /// LACP (as the bond sees it) allows it.
    pub fn is_up(&self, lacp_allows: bool) -> bool {
        self.carrier && self.admin && lacp_allows
    }

    /// Whether a delay towards "up" is running (the member is pending enable).
    pub fn pending_up(&self) -> bool {
        !self.enabled && self.delay_expires.is_some()
    }

    /// One step of the delay machine for the current `up` state.
    ///
    /// Returns at most one of the step kinds; when a zero delay starts the
    /// result is an immediate [`LinkStep::Flip`].
    pub fn update(&mut self, up: bool, updelay: u64, downdelay: u64, now: Millis) -> LinkStep {
        let mut step = LinkStep::None;
        if (up == self.enabled) != self.delay_expires.is_none() {
            if up == self.enabled {
                self.delay_expires = None;
                step = LinkStep::DelayCancelled { up: !up };
            } else {
                let ms = if up { updelay } else { downdelay };
                self.delay_expires = Some(now + ms);
                if ms > 0 {
                    step = LinkStep::DelayStarted { up, ms };
                }
            }
        }
        match self.delay_expires {
            Some(t) if now >= t => {
                self.delay_expires = None;
                if self.enabled != up {
                    LinkStep::Flip { up }
                } else {
                    step
                }
            }
            _ => step,
        }
    }

    /// The input that keeps a member that is not up from being up.
    pub fn down_cause(&self, lacp_allows: bool) -> Cause {
        if self.held_down {
            Cause::Command
        } else if !self.admin {
            Cause::Admin
        } else if !self.carrier {
            Cause::Carrier
        } else if !lacp_allows {
            Cause::Lacp
        } else {
            self.last_cause
        }
    }
}

/// `cause` as the bond saw it: a carrier change seen by a miimon poll is
/// [`Cause::Miimon`].
pub(super) fn polled(cause: Cause, miimon: bool) -> Cause {
    match cause {
        Cause::Carrier if miimon => Cause::Miimon,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up_member() -> Member {
        let mut m = Member::new(1);
        m.carrier = true;
        m.enabled = true;
        m
    }

    #[test]
    fn zero_delay_flips_at_once() {
        let mut m = up_member();
        assert_eq!(
            m.update(false, 0, 0, Millis(5)),
            LinkStep::Flip { up: false }
        );
        assert_eq!(m.delay_expires, None);
    }

    #[test]
    fn downdelay_runs_and_expires_at_its_boundary() {
        let mut m = up_member();
        assert_eq!(
            m.update(false, 0, 100, Millis(1000)),
            LinkStep::DelayStarted { up: false, ms: 100 }
        );
        assert_eq!(m.delay_expires, Some(Millis(1100)));
        assert_eq!(m.update(false, 0, 100, Millis(1099)), LinkStep::None);
        assert_eq!(
            m.update(false, 0, 100, Millis(1100)),
            LinkStep::Flip { up: false }
        );
    }

    #[test]
    fn flap_shorter_than_the_delay_cancels_it() {
        let mut m = up_member();
        m.update(false, 0, 100, Millis(1000));
        assert_eq!(
            m.update(true, 0, 100, Millis(1050)),
            LinkStep::DelayCancelled { up: false }
        );
        assert_eq!(m.delay_expires, None);
        // Past the old deadline nothing happens.
        assert_eq!(m.update(true, 0, 100, Millis(1200)), LinkStep::None);
    }

    #[test]
    fn a_new_delay_restarts_from_the_new_edge() {
        let mut m = up_member();
        m.update(false, 0, 100, Millis(1000));
        m.update(true, 0, 100, Millis(1050));
        m.update(false, 0, 100, Millis(1060));
        assert_eq!(m.delay_expires, Some(Millis(1160)));
        assert_eq!(m.update(false, 0, 100, Millis(1159)), LinkStep::None);
        assert_eq!(
            m.update(false, 0, 100, Millis(1160)),
            LinkStep::Flip { up: false }
        );
    }

    #[test]
    fn link_changes_count_failures_and_end_a_hold() {
        let mut m = Member::new(1);
        m.set_link(false, Millis(10));
        assert_eq!((m.link_failures, m.last_link_change), (0, Some(Millis(10))));
        m.set_link(true, Millis(20));
        m.held_down = true;
        m.set_link(true, Millis(30));
        assert!(m.held_down, "no change, no end of the hold");
        assert_eq!(m.last_link_change, Some(Millis(20)));
        m.set_link(false, Millis(40));
        assert_eq!((m.link_failures, m.last_link_change), (1, Some(Millis(40))));
        assert!(!m.held_down);
        m.set_link(true, Millis(50));
        assert_eq!(m.link_failures, 1, "coming up is no failure");
    }

    #[test]
    fn causes() {
        let mut m = up_member();
        assert_eq!(m.down_cause(false), Cause::Lacp);
        m.carrier = false;
        assert_eq!(m.down_cause(true), Cause::Carrier);
        m.admin = false;
        assert_eq!(m.down_cause(true), Cause::Admin);
        m.held_down = true;
        assert_eq!(m.down_cause(true), Cause::Command);
        assert!(!m.is_up(true));
    }
}
