//! One member (aggregation port): its receive machine, periodic and
//! transmit machines, and mux machine. Selection, which looks at every
//! member at once, is in `select.rs`.

use super::history::{LacpCause, LacpMemberState};
use super::status::{MemberCounters, MuxState, RxState};
use super::{
    MemberConfig, MemberId, AGGREGATE_WAIT_MS, FAST_PERIODIC_MS, LONG_TIMEOUT_MS,
    MAX_MARKER_RESPONSES_PER_SEC, MAX_TX_PER_FAST_PERIODIC, RESUME_TIMEOUT_MS, SHORT_TIMEOUT_MS,
    SLOW_PERIODIC_MS,
};
use crate::time::Millis;
use crate::wire::lacpdu::{self, LacpInfo, LacpState, Lacpdu};
use crate::wire::marker::{self, MarkerPdu};

/// The fields that identify a port (802.1AX-2008 `recordPDU`'s "matched"
/// and `update_Selected`): port, port priority, system, system priority,
/// key and the aggregation flag. Whether the partner has us right
/// ("matched") compares all of them; re-selection leaves the priorities
/// out (see [`same_partner_port`]).
fn same_port_identity(a: &LacpInfo, b: &LacpInfo) -> bool {
    a.port_id == b.port_id
        && a.port_priority == b.port_priority
        && a.sys_id == b.sys_id
        && a.sys_priority == b.sys_priority
        && a.key == b.key
        && a.state.is_aggregatable() == b.state.is_aggregatable()
}

/// The state flags a partner must have right about us, or be told at once
/// (802.1AX-2008 `update_NTT`: activity, timeout, aggregation,
/// synchronization). Collecting and distributing are added: with
/// independent control a partner waits for our collecting flag, so a stale
/// view of it (a lost or late LACPDU) must not wait for the next periodic
/// LACPDU, which can be 30 s away.
const NTT_STATE: LacpState = LacpState(
    LacpState::ACTIVITY.bits()
        | LacpState::TIMEOUT.bits()
        | LacpState::AGGREGATION.bits()
        | LacpState::SYNCHRONIZATION.bits()
        | LacpState::COLLECTING.bits()
        | LacpState::DISTRIBUTING.bits(),
);

/// Whether `a` and `b` name the same partner port for re-selection
/// (802.1AX-2008 `update_Selected`), priorities left out: port, system, key
/// and the aggregation flag.
///
/// The standard also compares the system and port priorities. We do not:
/// a partner that changes only a priority (`lacp-system-priority`,
/// `lacp-port-priority`) still has the same ports in the same aggregate,
/// and re-selecting would take every link down for the aggregate wait.
/// Which links aggregate still follows the new priorities: selection runs
/// after every LACPDU (`select.rs`).
pub(super) fn same_partner_port(a: &LacpInfo, b: &LacpInfo) -> bool {
    a.port_id == b.port_id
        && a.sys_id == b.sys_id
        && a.key == b.key
        && a.state.is_aggregatable() == b.state.is_aggregatable()
}

/// Whether two views of the same port agree in every field a LACPDU must
/// correct (`update_NTT`).
fn same_for_ntt(a: &LacpInfo, b: &LacpInfo) -> bool {
    same_port_identity(a, b) && (a.state & NTT_STATE) == (b.state & NTT_STATE)
}

#[derive(Debug)]
pub(super) struct Member {
    pub id: MemberId,
    pub cfg: MemberConfig,
    pub carrier: bool,
    pub rx: RxState,
    /// current_while: when the partner information expires.
    current_while: Option<Millis>,
    /// Partner operational information.
    pub partner: LacpInfo,
    /// The partner information is the default (no partner heard from).
    pub partner_defaulted: bool,
    /// The partner's identity changed while attached: the member must go
    /// back to DETACHED before it may be selected again.
    pub reselect: bool,
    /// Selected for the bond's aggregator.
    pub selected: bool,
    pub mux: MuxState,
    /// wait_while: end of the aggregate wait in WAITING.
    wait_while: Option<Millis>,
    /// Need To Transmit.
    ntt: bool,
    /// Next periodic transmission (None while the periodic machine is off).
    next_periodic: Option<Millis>,
    /// Times of the last LACPDUs sent, for the 3-per-second limit.
    recent_tx: [Option<Millis>; MAX_TX_PER_FAST_PERIODIC],
    /// Actor and partner information of the last LACPDU sent.
    last_sent: Option<(LacpInfo, LacpInfo)>,
    /// Start and count of the current one-second window of Marker responses.
    marker_window: (Millis, u32),
    /// `enabled` as last reported in `LacpActions::enabled_changed`.
    pub reported_enabled: bool,
    pub counters: MemberCounters,
    /// Resuming after a restart (see the module docs): the partner as it
    /// was saved, synchronization included. `None` otherwise.
    pub resume: Option<LacpInfo>,
    /// A resume was started on this member (at most one per member).
    resume_tried: bool,
    /// A valid LACPDU was received since the member was added.
    pub heard: bool,
    /// State, partner and cause as last recorded in the history.
    pub seen: LacpMemberState,
    pub seen_partner: LacpInfo,
    pub last_cause: LacpCause,
}

impl Member {
    /// A new member. It starts as if its carrier had just come up: partner
    /// information defaulted, receive machine EXPIRED.
    pub fn new(id: MemberId, cfg: MemberConfig, now: Millis) -> Member {
        let mut m = Member {
            id,
            cfg,
            carrier: true,
            rx: RxState::PortDisabled,
            current_while: None,
            partner: LacpInfo::default(),
            partner_defaulted: true,
            reselect: false,
            selected: false,
            mux: MuxState::Detached,
            wait_while: None,
            ntt: false,
            next_periodic: None,
            recent_tx: [None; MAX_TX_PER_FAST_PERIODIC],
            last_sent: None,
            marker_window: (now, 0),
            reported_enabled: false,
            counters: MemberCounters::default(),
            resume: None,
            resume_tried: false,
            heard: false,
            seen: LacpMemberState {
                rx: RxState::PortDisabled,
                mux: MuxState::Detached,
                enabled: false,
            },
            seen_partner: LacpInfo::default(),
            last_cause: LacpCause::Negotiating,
        };
        m.port_enabled(now);
        m.seen = LacpMemberState::of(&m);
        m
    }

    // ---- receive machine -------------------------------------------------

    /// recordDefault: forget the partner.
    fn record_default(&mut self) {
        self.partner = LacpInfo::default();
        self.partner_defaulted = true;
    }

    /// PORT_DISABLED → EXPIRED when the link comes up: keep what we know of
    /// the partner but not its sync, ask for fast LACPDUs, short timeout.
    fn port_enabled(&mut self, now: Millis) {
        self.rx = RxState::Expired;
        self.partner.state.set(LacpState::SYNCHRONIZATION, false);
        self.partner.state.set(LacpState::TIMEOUT, true);
        self.current_while = Some(now + SHORT_TIMEOUT_MS);
    }

    /// Carrier change. Returns whether it was one.
    pub fn set_carrier(&mut self, up: bool, now: Millis) -> bool {
        if up == self.carrier {
            return false;
        }
        self.carrier = up;
        self.counters.carrier_changes += 1;
        if up {
            self.port_enabled(now);
        } else {
            // A resume needs the link: back to normal negotiation.
            self.resume = None;
            self.rx = RxState::PortDisabled;
            self.partner.state.set(LacpState::SYNCHRONIZATION, false);
            self.current_while = None;
            self.next_periodic = None;
            self.ntt = false;
            // Whatever we said before, say it again when the link returns.
            self.last_sent = None;
        }
        true
    }

    /// Run current_while: CURRENT → EXPIRED → DEFAULTED. Expiries are
    /// computed from the deadlines, not from `now`, so a late tick ends in
    /// the same state as timely ones.
    pub fn rx_timers(&mut self, now: Millis) {
        while let Some(deadline) = self.current_while {
            if now < deadline {
                break;
            }
            match self.rx {
                RxState::Current => {
                    self.rx = RxState::Expired;
                    self.partner.state.set(LacpState::SYNCHRONIZATION, false);
                    self.partner.state.set(LacpState::TIMEOUT, true);
                    self.current_while = Some(deadline + SHORT_TIMEOUT_MS);
                    self.counters.link_expired += 1;
                }
                RxState::Expired => {
                    // A resuming member whose partner stayed silent falls
                    // back to normal negotiation here.
                    self.resume = None;
                    self.record_default();
                    self.rx = RxState::Defaulted;
                    self.current_while = None;
                    self.counters.link_defaulted += 1;
                }
                RxState::Defaulted | RxState::PortDisabled => self.current_while = None,
            }
        }
    }

    /// A valid LACPDU arrived. `actor` is what this member currently sends
    /// about itself; `fast` selects the short timeout for current_while.
    pub fn rx_lacpdu(&mut self, pdu: &Lacpdu, actor: &LacpInfo, fast: bool, now: Millis) {
        if !self.carrier {
            // PORT_DISABLED ignores LACPDUs (a NIC may report carrier late).
            return;
        }
        self.heard = true;
        // recordPDU: the partner's sync counts only if its view of us is
        // right ("matched"), or if it is an individual link.
        let matched =
            (same_port_identity(&pdu.partner, actor)) || !pdu.actor.state.is_aggregatable();
        // The first LACPDU while resuming decides: the saved partner,
        // in sync with us as we are → carry on distributing (the mux
        // machine takes it from here); anything else → normal
        // negotiation from DETACHED.
        if let Some(saved) = self.resume.take() {
            let confirmed = same_port_identity(&pdu.actor, &saved)
                && pdu.actor.state.is_synchronized()
                && matched;
            if !confirmed {
                self.detach();
            }
        }
        // update_Selected: a different partner port means re-selection.
        if !same_partner_port(&pdu.actor, &self.partner) && self.mux != MuxState::Detached {
            self.reselect = true;
        }
        // update_NTT: the partner has us wrong → tell it.
        if !same_for_ntt(&pdu.partner, actor) {
            self.ntt = true;
        }
        let mut partner = pdu.actor;
        partner.state.set(
            LacpState::SYNCHRONIZATION,
            matched && pdu.actor.state.is_synchronized(),
        );
        self.partner = partner;
        self.partner_defaulted = false;
        self.rx = RxState::Current;
        self.current_while = Some(
            now + if fast {
                SHORT_TIMEOUT_MS
            } else {
                LONG_TIMEOUT_MS
            },
        );
    }

    // ---- resume after a restart (rvswitch-specific, see the module docs) --

    /// Whether [`Member::start_resume`] may run: the link is up, nothing
    /// was heard since the member was added, and no resume was tried.
    pub fn may_resume(&self) -> bool {
        self.carrier
            && !self.heard
            && !self.resume_tried
            && self.resume.is_none()
            && self.partner_defaulted
    }

    /// Pick up where the previous process left off with partner `saved`:
    /// partner known but not in sync (not heard from since), receive
    /// machine EXPIRED for [`RESUME_TIMEOUT_MS`], selected, mux held in
    /// DISTRIBUTING, and a LACPDU due at once.
    pub fn start_resume(&mut self, saved: LacpInfo, now: Millis) {
        self.resume = Some(saved);
        self.resume_tried = true;
        self.partner = saved;
        self.partner.state.set(LacpState::SYNCHRONIZATION, false);
        self.partner_defaulted = false;
        self.rx = RxState::Expired;
        self.current_while = Some(now + RESUME_TIMEOUT_MS);
        self.reselect = false;
        self.selected = true;
        self.mux = MuxState::Distributing;
        self.wait_while = None;
        self.ntt = true;
        self.next_periodic = None;
        // Whatever a discarded earlier action said, say it again.
        self.last_sent = None;
    }

    /// Stop resuming (configuration changed under it) and negotiate
    /// normally from DETACHED. No-op when not resuming.
    pub fn abort_resume(&mut self) {
        if self.resume.take().is_some() {
            self.detach();
        }
    }

    /// Straight to DETACHED, unselected. Only used on a resuming member,
    /// whose partner is not in sync, so it was never enabled.
    fn detach(&mut self) {
        self.mux = MuxState::Detached;
        self.selected = false;
        self.wait_while = None;
    }

    /// A Marker request arrived: the response frame, unless the link is
    /// down or more than MAX_MARKER_RESPONSES_PER_SEC were sent this second.
    pub fn marker_response(
        &mut self,
        req: &MarkerPdu,
        now: Millis,
    ) -> Option<[u8; marker::FRAME_LEN]> {
        let resp = req.response()?;
        if !self.carrier {
            return None;
        }
        if now.saturating_since(self.marker_window.0) >= 1000 {
            self.marker_window = (now, 0);
        }
        if self.marker_window.1 >= MAX_MARKER_RESPONSES_PER_SEC {
            return None;
        }
        self.marker_window.1 += 1;
        self.counters.tx_marker_responses += 1;
        Some(resp.encode(self.cfg.mac))
    }

    // ---- mux machine -----------------------------------------------------

    fn wait_expired(&self, now: Millis) -> bool {
        self.wait_while.is_some_and(|t| now >= t)
    }

    /// Whether this member lets the aggregate leave WAITING: it is not
    /// selected, already past WAITING, or its own wait is over.
    pub fn ready_n(&self, now: Millis) -> bool {
        !self.selected
            || self.mux > MuxState::Waiting
            || (self.mux == MuxState::Waiting && self.wait_expired(now))
    }

    /// Step the mux machine until it rests. `ready`: every selected member
    /// is [`Member::ready_n`]. Returns whether the state changed.
    pub fn mux_step(&mut self, ready: bool, now: Millis) -> bool {
        let start = self.mux;
        if self.resume.is_some() {
            // Resuming holds DISTRIBUTING (the partner is not in sync yet
            // by construction) until the first LACPDU decides, unless the
            // member is no longer selected.
            if self.selected && self.carrier {
                return false;
            }
            self.abort_resume();
            return self.mux != start;
        }
        let psync = self.partner.state.is_synchronized();
        let pcol = self.partner.state.is_collecting();
        loop {
            let next = match self.mux {
                MuxState::Detached if self.selected => MuxState::Waiting,
                MuxState::Waiting if !self.selected => MuxState::Detached,
                MuxState::Waiting if ready && self.wait_expired(now) => MuxState::Attached,
                MuxState::Attached if !self.selected => MuxState::Detached,
                MuxState::Attached if psync => MuxState::Collecting,
                MuxState::Collecting if !self.selected || !psync => MuxState::Attached,
                MuxState::Collecting if pcol => MuxState::Distributing,
                MuxState::Distributing if !self.selected || !psync || !pcol => MuxState::Collecting,
                _ => break,
            };
            match next {
                MuxState::Waiting => self.wait_while = Some(now + AGGREGATE_WAIT_MS),
                _ => self.wait_while = None,
            }
            self.mux = next;
        }
        self.mux != start
    }

    /// Collecting and distributing with a partner in sync and collecting.
    pub fn enabled(&self) -> bool {
        self.carrier
            && self.mux == MuxState::Distributing
            && self.partner.state.is_synchronized()
            && self.partner.state.is_collecting()
    }

    /// The actor state flags this member's own machines decide.
    pub fn actor_state(&self) -> LacpState {
        let mut s = LacpState::AGGREGATION;
        s.set(LacpState::SYNCHRONIZATION, self.mux >= MuxState::Attached);
        s.set(LacpState::COLLECTING, self.mux >= MuxState::Collecting);
        s.set(LacpState::DISTRIBUTING, self.mux == MuxState::Distributing);
        s.set(LacpState::DEFAULTED, self.partner_defaulted);
        s.set(LacpState::EXPIRED, self.rx == RxState::Expired);
        s
    }

    // ---- periodic and transmit machines -------------------------------------

    /// Whether LACPDUs go out at all: the link is up and one side is active.
    fn may_tx(&self, active: bool) -> bool {
        self.carrier && (active || self.partner.state.is_active())
    }

    /// The periodic interval the partner asked for.
    fn period(&self) -> u64 {
        if self.partner.state.is_short_timeout() {
            FAST_PERIODIC_MS
        } else {
            SLOW_PERIODIC_MS
        }
    }

    /// When the 3-per-second limit next allows a LACPDU (`now` if it does).
    fn tx_allowed_at(&self, now: Millis) -> Millis {
        let in_window = |t: &Millis| now.saturating_since(*t) < FAST_PERIODIC_MS;
        let recent = self.recent_tx.iter().flatten().filter(|t| in_window(t));
        if recent.clone().count() < MAX_TX_PER_FAST_PERIODIC {
            now
        } else {
            recent
                .min()
                .map_or(now, |oldest| *oldest + FAST_PERIODIC_MS)
        }
    }

    fn differs_from_last_sent(&self, actor: &LacpInfo) -> bool {
        match &self.last_sent {
            None => true,
            Some((a, p)) => a != actor || !same_for_ntt(p, &self.partner),
        }
    }

    /// Run the periodic and transmit machines; push a LACPDU onto `tx` if
    /// one is due and allowed.
    pub fn transmit(
        &mut self,
        actor: LacpInfo,
        active: bool,
        now: Millis,
        tx: &mut Vec<(MemberId, [u8; lacpdu::FRAME_LEN])>,
    ) {
        if !self.may_tx(active) {
            // NO_PERIODIC: nothing goes out, NTT included.
            self.next_periodic = None;
            self.ntt = false;
            return;
        }
        // SLOW_PERIODIC → PERIODIC_TX as soon as the partner's timeout is
        // short (it asked for fast LACPDUs, or it expired): do not wait out
        // a slow period.
        if self.partner.state.is_short_timeout()
            && self
                .next_periodic
                .is_some_and(|t| t > now + FAST_PERIODIC_MS)
        {
            self.next_periodic = Some(now);
        }
        match self.next_periodic {
            None => self.next_periodic = Some(now + self.period()),
            Some(t) if now >= t => {
                self.ntt = true;
                let next = t + self.period();
                self.next_periodic = Some(if next > now {
                    next
                } else {
                    now + self.period()
                });
            }
            Some(_) => {}
        }
        if self.differs_from_last_sent(&actor) {
            self.ntt = true;
        }
        if self.ntt && self.tx_allowed_at(now) <= now {
            let pdu = Lacpdu {
                actor,
                partner: self.partner,
                collector_max_delay: 0,
            };
            tx.push((self.id, pdu.encode(self.cfg.mac)));
            self.ntt = false;
            self.last_sent = Some((actor, self.partner));
            self.counters.tx_pdus += 1;
            // Fill an empty slot, else replace the oldest (`None` orders
            // before any `Some`).
            if let Some(slot) = self.recent_tx.iter_mut().min_by_key(|t| **t) {
                *slot = Some(now);
            }
        }
    }

    /// The earliest time this member's machines need to run again.
    pub fn next_deadline(&self, active: bool, now: Millis) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut consider = |t: Option<Millis>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.current_while);
        if self.mux == MuxState::Waiting {
            consider(self.wait_while);
        }
        if self.may_tx(active) {
            consider(self.next_periodic);
            if self.ntt {
                consider(Some(self.tx_allowed_at(now)));
            }
        }
        next
    }
}
