//! The IEEE 802.1AX (802.3ad) Link Aggregation Control Protocol machine for
//! one bond.
//!
//! Pure: every input takes `now`, every output comes back as
//! [`LacpActions`] (frames to send, members whose `enabled` changed). The
//! caller (the daemon's control thread) sends the frames, feeds received
//! Slow Protocols frames to [`Lacp::rx_frame`], reports carrier with
//! [`Lacp::set_carrier`], and calls [`Lacp::tick`] by
//! [`Lacp::next_deadline`] (or every 10 ms).
//!
//! What it implements, per member (802.1AX-2008 5.4):
//! - receive machine: CURRENT / EXPIRED / DEFAULTED, PORT_DISABLED while
//!   the carrier is down. current_while is 3 s with `fast`, else 90 s. On
//!   expiry the partner is kept but loses sync and is asked for fast
//!   LACPDUs; 3 s later it is dropped (defaulted).
//! - periodic machine: LACPDUs every 1 s when the partner asked for the
//!   short timeout, else every 30 s; only if we are active or the partner
//!   is (passive–passive never talks).
//! - transmit machine: a LACPDU as soon as what we would send changes, or
//!   the partner's view of us is stale (need-to-transmit; besides the
//!   standard's activity/timeout/aggregation/sync flags, a stale view of our
//!   collecting/distributing flags also counts), at most 3 in any second.
//! - selection (see `select.rs`): one aggregator per bond; members attach
//!   only if their partner has the lead's system and key; loops (a partner
//!   with our own system ID) and defaulted members are never selected.
//!   LACPDUs that claim our own system ID are not even taken (they count
//!   as bad PDUs, see `plausible`), so a looped member ends up defaulted.
//! - mux machine, **independent control**: DETACHED → WAITING (2 s
//!   aggregate wait) → ATTACHED (we advertise sync) → COLLECTING once the
//!   partner is in sync → DISTRIBUTING once the partner collects. Coupled
//!   peers (Linux's default, OVS) advertise collecting and distributing
//!   together with sync, so with them COLLECTING lasts no time at all.
//! - the Marker responder.
//!
//! A member is *enabled* (may carry traffic) only while DISTRIBUTING with a
//! partner in sync and collecting.
//!
//! Received frames that are neither a valid LACPDU nor a valid Marker PDU
//! (other Slow Protocols subtypes included, as in OVS) count as bad PDUs
//! and change nothing else. So do LACPDUs that no implementation sends,
//! and LACPDUs from our own system (see `plausible`).
//!
//! Interoperability notes, from Linux `bond_3ad.c` and OVS `lib/lacp.c`:
//! - Linux enables its port only once our LACPDU shows synchronization and
//!   our view of it (the partner fields) matches its own actor information,
//!   aggregation flag included; we echo the partner exactly.
//! - We always set the aggregation flag (Linux does too; OVS sets it only
//!   with two or more members, which makes a one-link OVS bond individual).
//! - OVS, before it has negotiated, sends collecting and distributing
//!   without synchronization. That is not treated as malformed: it simply
//!   does not count as a partner in sync.
//! - Key: the configured one, else the port ID of the first member added
//!   (OVS's rule). Unlike OVS, the automatic key stays when that member
//!   is removed (it is kept while the bond has members): a new key would
//!   make the partner re-select every other link and stop traffic for the
//!   aggregate wait.
//! - Re-selection (`update_Selected`) and aggregate membership ignore the
//!   partner's system and port priorities, so a partner changing a
//!   priority keeps its links up (see `member.rs`, `select.rs`).
//!
//! # Changing settings in place
//!
//! [`Lacp::reconfigure`] and [`Lacp::add_member`] (on an existing member)
//! change settings without resetting any machine: a LACPDU with the new
//! information goes out at once. When the mode (active/passive) or the
//! rate (fast/slow) changes, any partner keeps its links up (neither is
//! part of a port's identity). When a system or port priority changes, an
//! rvswitch partner keeps them up too (it ignores priorities when deciding
//! to re-select), but a strictly standard one (Linux `__update_selected`)
//! re-selects the links concerned. Changing the system ID, the key or a
//! port ID changes who we are: every partner re-selects those links.
//!
//! # Resuming after a restart (rvswitch-specific)
//!
//! Nothing here is in 802.1AX. A daemon that is killed and restarted would
//! otherwise start every member from scratch: its first LACPDU says "not in
//! sync, defaulted", the partner stops distributing at once, and the links
//! come back only after a full negotiation (the aggregate wait included:
//! about 4 s with a fast Linux partner). Instead:
//!
//! 1. The running machine exports [`Lacp::saved`]: the bond-wide settings,
//!    the key in use, and for every enabled member its settings and its
//!    partner. It changes only when one of those does (no counters, no
//!    timers), so the daemon writes it whenever it differs from the last
//!    one written.
//! 2. The new process builds the machine from its configuration, adds the
//!    members, reports their carrier, and calls [`Lacp::resume`] before
//!    sending anything or feeding any frame. Each saved member that still
//!    exists with identical settings, under identical bond-wide settings,
//!    with its link up and nothing heard on it yet, starts *resuming*:
//!    partner = the saved one but not in sync (we have not heard from it
//!    since the restart), receive machine EXPIRED with current_while =
//!    [`RESUME_TIMEOUT_MS`], not defaulted, selected, mux held in
//!    DISTRIBUTING. So our LACPDU, sent at once, says "in sync, collecting,
//!    distributing", with exactly the actor information of before the
//!    restart.
//! 3. The partner finds in it the same actor (nothing to re-select: its
//!    `update_Selected` compares port, priority, system, system priority,
//!    key and aggregation, not the state flags) that still has it right
//!    ("matched", which compares the same fields), in sync and collecting:
//!    it keeps distributing and records no expiry. And because our view of
//!    it differs from what it says of itself (its synchronization flag is
//!    clear in our LACPDU; also its timeout flag when it asked for slow
//!    LACPDUs), its need-to-transmit fires (Linux `__update_ntt`, OVS
//!    `lacp.c`, DPDK mode 4, our own `same_for_ntt`): it answers at once
//!    instead of at its next periodic time.
//! 4. The member carries no traffic while resuming (the partner is not in
//!    sync, so it is not *enabled*). The first LACPDU received on it
//!    decides: the saved partner port (port, port priority, system, system
//!    priority, key, aggregation), in sync, with its view of us matched →
//!    the member is enabled at once (no aggregate wait). Anything else (a
//!    new partner, or the old one not in sync) ends the resume: the member
//!    goes back to DETACHED and negotiates normally; it is never enabled
//!    toward a partner that did not confirm.
//! 5. No LACPDU within [`RESUME_TIMEOUT_MS`] → defaulted, as an EXPIRED
//!    member would be. Carrier down, new settings ([`Lacp::reconfigure`],
//!    [`Lacp::add_member`]) or de-selection also end a resume.

mod history;
mod member;
mod saved;
mod select;
mod status;

pub use history::{LacpCause, LacpMemberState, LacpRecord};
pub use saved::{LacpSaved, LacpSavedMember};
pub use status::{LacpMemberStatus, LacpStatus, MemberCounters, MuxState, RxState};

use crate::history::History;
use crate::time::Millis;
use crate::wire::lacpdu::{self, LacpInfo, LacpState, Lacpdu};
use crate::wire::marker::{self, MarkerKind, MarkerPdu};
use crate::wire::MacAddr;
use member::Member;

/// Fast periodic time: LACPDU interval when the partner wants short timeouts.
pub const FAST_PERIODIC_MS: u64 = 1_000;
/// Slow periodic time: LACPDU interval when it wants long timeouts.
pub const SLOW_PERIODIC_MS: u64 = 30_000;
/// Short timeout: partner information expires 3 fast periods after the last LACPDU.
pub const SHORT_TIMEOUT_MS: u64 = 3 * FAST_PERIODIC_MS;
/// Long timeout: 3 slow periods.
pub const LONG_TIMEOUT_MS: u64 = 3 * SLOW_PERIODIC_MS;
/// Aggregate wait time: how long a selected member waits before attaching.
pub const AGGREGATE_WAIT_MS: u64 = 2_000;
/// How long a resuming member waits for the first LACPDU from its saved
/// partner ([`Lacp::resume`]) before it is defaulted: the short timeout, as
/// for any EXPIRED member. A standard partner answers at once; a partner
/// still asking for fast LACPDUs would also send its periodic one within it.
pub const RESUME_TIMEOUT_MS: u64 = SHORT_TIMEOUT_MS;
/// At most this many LACPDUs per member in any fast periodic time.
pub const MAX_TX_PER_FAST_PERIODIC: usize = 3;
/// At most this many Marker responses per member per second. Slow Protocols
/// allow 10 frames a second per link; LACP may use 3 of them.
pub const MAX_MARKER_RESPONSES_PER_SEC: u32 = 7;

/// OVS's default system priority for a bond of two or more interfaces
/// (`other_config:lacp-system-priority` unset). A single-interface bond
/// gets 65535; see [`LacpConfig::default_system_priority`].
pub const DEFAULT_SYSTEM_PRIORITY: u16 = 65534;
/// OVS's default port priority (`other_config:lacp-port-priority` unset).
pub const DEFAULT_PORT_PRIORITY: u16 = 65535;

/// A member of the bond, as the caller numbers it: the bond machine's ids.
pub use crate::bond::MemberId;

crate::spelled_enum! {
    /// The `lacp` column of a bond port. A machine is built only for
    /// `Active` and `Passive`.
    pub enum LacpMode {
        /// Send LACPDUs whatever the partner does.
        Active => "active",
        /// Send LACPDUs only to an active partner.
        Passive => "passive",
        /// No LACP (OVS's default).
        Off => "off",
    }
}

crate::spelled_enum! {
    /// `other_config:lacp-time`: the timeout asked of partners.
    pub enum LacpTime {
        /// A LACPDU every second, partner information expires after 3 s.
        Fast => "fast",
        /// A LACPDU every 30 s, partner information expires after 90 s
        /// (OVS's default).
        Slow => "slow",
    }
}

/// Bond-wide LACP settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LacpConfig {
    /// Active or passive.
    pub mode: LacpMode,
    /// `other_config:lacp-time=fast`: ask partners for a LACPDU every second
    /// (and expire them after 3 s) instead of every 30 s (90 s).
    pub fast: bool,
    /// System ID: `other_config:lacp-system-id`, else the bridge MAC. Must
    /// be a non-zero unicast address (the configuration layer checks).
    pub system_id: MacAddr,
    /// `other_config:lacp-system-priority`; lower wins.
    pub system_priority: u16,
    /// Aggregation key; 0 means "the port ID of the first member", as OVS
    /// does when no `lacp-aggregation-key` is set (kept when that member
    /// is removed; see the module docs).
    pub key: u16,
}

impl LacpConfig {
    /// OVS's defaults: active, slow, system priority 65534, automatic key.
    pub fn new(system_id: MacAddr) -> LacpConfig {
        LacpConfig {
            mode: LacpMode::Active,
            fast: false,
            system_id,
            system_priority: DEFAULT_SYSTEM_PRIORITY,
            key: 0,
        }
    }

    /// OVS's default system priority for a bond of `n_interfaces`:
    /// 65534 ("prefer bondable links") with two or more, else 65535.
    pub const fn default_system_priority(n_interfaces: usize) -> u16 {
        if n_interfaces > 1 {
            DEFAULT_SYSTEM_PRIORITY
        } else {
            u16::MAX
        }
    }
}

/// Per-member LACP settings.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MemberConfig {
    /// Port number sent in LACPDUs (`lacp-port-id`, else the OpenFlow port
    /// number in OVS). Should be non-zero and unique in the bond.
    pub port_id: u16,
    /// `lacp-port-priority`; default [`DEFAULT_PORT_PRIORITY`].
    pub port_priority: u16,
    /// Source MAC address of the member's LACPDUs and Marker responses.
    pub mac: MacAddr,
}

/// What the caller must do after an event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LacpActions {
    /// Frames to send, each on the given member (LACPDUs and Marker
    /// responses; whole untagged Ethernet frames).
    pub tx: Vec<(MemberId, [u8; lacpdu::FRAME_LEN])>,
    /// Members whose `enabled` (may carry traffic) changed, with the new value.
    pub enabled_changed: Vec<(MemberId, bool)>,
}

impl LacpActions {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty() && self.enabled_changed.is_empty()
    }
}

// Both PDU kinds are sent through the same action list.
const _: () = assert!(lacpdu::FRAME_LEN == marker::FRAME_LEN);

/// What a received Slow Protocols frame turned out to be.
enum Received {
    Lacpdu(Lacpdu),
    Marker(MarkerPdu),
    Bad,
}

/// Reject LACPDUs whose actor information no LACP implementation sends:
/// a zero system ID (Linux reads it as "no partner"), or distributing
/// without collecting (every mux machine collects before it distributes).
/// Distributing without sync is NOT rejected: OVS sends exactly that
/// before it has negotiated.
///
/// Also rejected: an actor claiming our own system ID (`own`). That is
/// either our own LACPDU coming back (a looped cable) or a forgery; Linux
/// (`bond_3ad.c`, "illegal loopback") discards it the same way. Taking it
/// would let one forged frame replace a member's partner and knock the
/// member out of the bond until the real partner's next LACPDU and the
/// aggregate wait; a real loop still never aggregates (the member hears
/// no partner and ends up defaulted).
fn plausible(pdu: &Lacpdu, own: MacAddr) -> bool {
    let s = pdu.actor.state;
    pdu.actor.sys_id != MacAddr::ZERO
        && pdu.actor.sys_id != own
        && (s.is_collecting() || !s.is_distributing())
}

fn classify(frame: &[u8], own: MacAddr) -> Received {
    match frame.get(lacpdu::ETH_HEADER_LEN) {
        Some(&lacpdu::SUBTYPE_LACP) => match Lacpdu::parse(frame) {
            Ok(pdu) if plausible(&pdu, own) => Received::Lacpdu(pdu),
            _ => Received::Bad,
        },
        Some(&marker::SUBTYPE_MARKER) => match MarkerPdu::parse(frame) {
            Ok(m) => Received::Marker(m),
            Err(_) => Received::Bad,
        },
        _ => Received::Bad,
    }
}

/// What member `m` sends about itself, with bond settings `cfg` and
/// aggregation key `key`.
fn actor_info(cfg: &LacpConfig, key: u16, m: &Member) -> LacpInfo {
    let mut state = m.actor_state();
    state.set(LacpState::ACTIVITY, cfg.mode == LacpMode::Active);
    state.set(LacpState::TIMEOUT, cfg.fast);
    LacpInfo {
        sys_priority: cfg.system_priority,
        sys_id: cfg.system_id,
        key,
        port_priority: m.cfg.port_priority,
        port_id: m.cfg.port_id,
        state,
    }
}

/// The LACP machine of one bond.
#[derive(Debug)]
pub struct Lacp {
    cfg: LacpConfig,
    /// In the order they were added.
    members: Vec<Member>,
    negotiated: bool,
    /// The latest `now` seen (for calls that take none).
    last_now: Millis,
    /// Something changed outside `run` (a member was added): run at once.
    dirty: bool,
    /// The automatic key (used when `cfg.key` is 0): the port ID of the
    /// first member added, kept while the bond has members, or the key a
    /// resume adopted.
    auto_key: Option<u16>,
    /// The last events, for `lacp/events` (see `lacp/history.rs`).
    history: History<LacpRecord>,
}

impl Lacp {
    /// A machine with no members.
    pub fn new(cfg: LacpConfig) -> Lacp {
        Lacp {
            cfg,
            members: Vec::new(),
            negotiated: false,
            last_now: Millis::ZERO,
            dirty: false,
            auto_key: None,
            history: History::new(),
        }
    }

    /// The current configuration.
    pub fn config(&self) -> &LacpConfig {
        &self.cfg
    }

    /// Replace the bond-wide settings. Members keep their state (nothing is
    /// reset, no member is disabled by the change itself); LACPDUs carrying
    /// the new information go out at once. Members still resuming after a
    /// restart ([`Lacp::resume`]) fall back to normal negotiation when the
    /// settings differ.
    pub fn reconfigure(&mut self, cfg: LacpConfig, now: Millis) -> LacpActions {
        self.touch(now);
        if cfg != self.cfg {
            for m in &mut self.members {
                m.abort_resume();
            }
        }
        self.cfg = cfg;
        self.run(now)
    }

    /// Add member `id`, or change its settings in place if it exists (its
    /// machines keep their state; the next LACPDU carries the new
    /// settings; a member still resuming falls back to normal negotiation
    /// when they differ). A new member starts with its carrier up; report
    /// otherwise with [`Lacp::set_carrier`]. Its first LACPDU goes out at
    /// the next [`Lacp::tick`] (or any other event), which
    /// [`Lacp::next_deadline`] asks for at once.
    pub fn add_member(&mut self, id: MemberId, cfg: MemberConfig, now: Millis) {
        self.touch(now);
        match self.members.iter_mut().find(|m| m.id == id) {
            Some(m) => {
                if m.cfg != cfg {
                    m.abort_resume();
                }
                m.cfg = cfg;
            }
            None => {
                if self.members.is_empty() {
                    self.auto_key = None;
                }
                self.auto_key.get_or_insert(cfg.port_id);
                self.members.push(Member::new(id, cfg, now));
            }
        }
        self.dirty = true;
    }

    /// Remove member `id`. If it was enabled, the actions say it no longer
    /// is. The automatic key stays what it was, even when it is the removed
    /// member's port ID, so the other members keep aggregating.
    pub fn remove_member(&mut self, id: MemberId) -> LacpActions {
        let Some(idx) = self.index(id) else {
            return LacpActions::default();
        };
        let removed = self.members.remove(idx);
        if self.members.is_empty() {
            self.auto_key = None;
        }
        let mut actions = self.run(self.last_now);
        if removed.reported_enabled {
            actions.enabled_changed.insert(0, (id, false));
        }
        actions
    }

    /// Carrier of member `id` went up or down.
    pub fn set_carrier(&mut self, id: MemberId, up: bool, now: Millis) -> LacpActions {
        self.touch(now);
        let Some(idx) = self.index(id) else {
            return LacpActions::default();
        };
        self.advance_timers(now);
        if !self.members[idx].set_carrier(up, now) {
            // The timers may have moved.
            self.record(now);
            return LacpActions::default();
        }
        self.run(now)
    }

    /// A received Slow Protocols frame (LACPDU or Marker) on member `id`:
    /// the whole untagged Ethernet frame. Bad PDUs are counted and change
    /// nothing.
    pub fn rx_frame(&mut self, id: MemberId, frame: &[u8], now: Millis) -> LacpActions {
        self.touch(now);
        let Some(idx) = self.index(id) else {
            return LacpActions::default();
        };
        match classify(frame, self.cfg.system_id) {
            Received::Bad => {
                self.members[idx].counters.rx_bad_pdus += 1;
                LacpActions::default()
            }
            Received::Marker(m) => {
                let mut tx = Vec::new();
                let member = &mut self.members[idx];
                if m.kind == MarkerKind::Request {
                    member.counters.rx_marker_requests += 1;
                    if let Some(frame) = member.marker_response(&m, now) {
                        tx.push((id, frame));
                    }
                }
                let mut actions = self.run(now);
                tx.append(&mut actions.tx);
                actions.tx = tx;
                actions
            }
            Received::Lacpdu(pdu) => {
                self.advance_timers(now);
                let actor = self.actor(&self.members[idx]);
                let fast = self.cfg.fast;
                let member = &mut self.members[idx];
                member.counters.rx_pdus += 1;
                member.rx_lacpdu(&pdu, &actor, fast, now);
                self.run(now)
            }
        }
    }

    /// The state a restarted daemon needs to resume without renegotiating
    /// (see the module docs): bond-wide settings, the key in use, and every
    /// member that is enabled (or still resuming) with its settings and
    /// partner. Holds no counters or timers: it changes only when a member
    /// is enabled or disabled, a partner or a setting changes. Compare it
    /// with the last value written and write it when it differs.
    pub fn saved(&self) -> LacpSaved {
        LacpSaved {
            config: self.cfg.clone(),
            key: self.key(),
            members: self
                .members
                .iter()
                .filter_map(|m| {
                    let partner = match m.resume {
                        Some(p) => p,
                        None if m.enabled() => m.partner,
                        None => return None,
                    };
                    Some(LacpSavedMember {
                        id: m.id,
                        config: m.cfg,
                        partner,
                    })
                })
                .collect(),
        }
    }

    /// Take over from the process that saved `saved` (see the module docs).
    ///
    /// Call it on a fresh machine built from the configuration, after
    /// adding the members and reporting their carrier, and before sending
    /// anything it asked for or feeding it any frame (actions of the calls
    /// before it may be dropped: whatever they would have sent, the
    /// returned actions say again). A member starts resuming when:
    /// - the bond-wide settings equal `saved.config`, and the key in use
    ///   can be `saved.key` (with an automatic key, the saved one is
    ///   adopted as long as no member has heard from a partner yet);
    /// - it is in `saved.members` with identical [`MemberConfig`], a
    ///   plausible partner (not zero, not our own system);
    /// - its carrier is up, nothing was received on it since it was added,
    ///   and no resume was started on it before.
    ///
    /// Members whose carrier was down may be resumed by calling this again
    /// when their carrier comes up (before anything is received on them).
    /// The returned actions hold a LACPDU for every resuming member. They
    /// never enable a member: that waits for the partner's answer.
    pub fn resume(&mut self, saved: &LacpSaved, now: Millis) -> LacpActions {
        self.touch(now);
        let own = self.cfg.system_id;
        if saved.config != self.cfg || saved.key == 0 {
            return LacpActions::default();
        }
        if saved.key != self.key() {
            let fresh = self.members.iter().all(|m| !m.heard && m.resume.is_none());
            if self.cfg.key != 0 || !fresh {
                return LacpActions::default();
            }
        }
        let mut chosen: Vec<(usize, LacpInfo)> = Vec::new();
        for s in &saved.members {
            let Some(idx) = self.index(s.id) else {
                continue;
            };
            let m = &self.members[idx];
            let plausible = s.partner.sys_id != MacAddr::ZERO && s.partner.sys_id != own;
            if m.cfg == s.config
                && plausible
                && m.may_resume()
                && !chosen.iter().any(|(i, _)| *i == idx)
            {
                chosen.push((idx, s.partner));
            }
        }
        if chosen.is_empty() {
            return LacpActions::default();
        }
        if self.cfg.key == 0 {
            self.auto_key = Some(saved.key);
        }
        for (idx, partner) in chosen {
            self.members[idx].start_resume(partner, now);
        }
        self.run(now)
    }

    /// Whether member `id` is resuming after a restart ([`Lacp::resume`]):
    /// waiting for the first LACPDU from its saved partner.
    pub fn member_resuming(&self, id: MemberId) -> bool {
        self.members
            .iter()
            .any(|m| m.id == id && m.resume.is_some())
    }

    /// Run the timers.
    pub fn tick(&mut self, now: Millis) -> LacpActions {
        self.touch(now);
        self.run(now)
    }

    /// When [`Lacp::tick`] next needs to run; `None` when only an event can
    /// change anything.
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.dirty {
            return Some(self.last_now);
        }
        let active = self.cfg.mode == LacpMode::Active;
        self.members
            .iter()
            .filter_map(|m| m.next_deadline(active, self.last_now))
            .min()
    }

    /// At least one member is attached to a partner (OVS's "negotiated").
    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// Member `id` may carry traffic: collecting and distributing, with a
    /// partner in sync and collecting. `false` for an unknown member.
    pub fn member_enabled(&self, id: MemberId) -> bool {
        self.members.iter().any(|m| m.id == id && m.enabled())
    }

    /// The members, in the order they were added.
    pub fn members(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.members.iter().map(|m| m.id)
    }

    /// Everything `lacp/show` and `lacp/show-stats` print.
    pub fn status(&self) -> LacpStatus {
        LacpStatus {
            mode: self.cfg.mode,
            negotiated: self.negotiated,
            system_id: self.cfg.system_id,
            system_priority: self.cfg.system_priority,
            key: (self.cfg.key != 0 || !self.members.is_empty()).then(|| self.key()),
            fast: self.cfg.fast,
            members: self
                .members
                .iter()
                .map(|m| LacpMemberStatus {
                    id: m.id,
                    carrier: m.carrier,
                    rx_state: m.rx,
                    mux_state: m.mux,
                    attached: m.selected,
                    may_enable: m.enabled(),
                    actor: self.actor(m),
                    partner: m.partner,
                    counters: m.counters,
                    last_cause: m.last_cause,
                })
                .collect(),
        }
    }

    // ---- internals --------------------------------------------------------

    fn touch(&mut self, now: Millis) {
        self.last_now = self.last_now.max(now);
    }

    fn index(&self, id: MemberId) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }

    /// The aggregation key we send.
    fn key(&self) -> u16 {
        if self.cfg.key != 0 {
            self.cfg.key
        } else {
            self.auto_key.unwrap_or(0)
        }
    }

    /// What member `m` sends about itself.
    fn actor(&self, m: &Member) -> LacpInfo {
        actor_info(&self.cfg, self.key(), m)
    }

    fn advance_timers(&mut self, now: Millis) {
        for m in &mut self.members {
            m.rx_timers(now);
        }
    }

    /// Run every machine to rest at `now` and collect what to do.
    fn run(&mut self, now: Millis) -> LacpActions {
        self.dirty = false;
        self.advance_timers(now);

        // Selection and mux feed each other (a member detaches, then may be
        // selected again; the lead prefers distributing members). A handful
        // of rounds always reaches rest; the bound only guards the loop.
        let key = self.key();
        for _ in 0..8 {
            let cfg = &self.cfg;
            self.negotiated = select::select(&mut self.members, cfg.system_id, |m| {
                actor_info(cfg, key, m)
            });
            let ready = self.members.iter().all(|m| m.ready_n(now));
            let mut changed = false;
            for m in &mut self.members {
                changed |= m.mux_step(ready, now);
            }
            if !changed {
                break;
            }
        }

        let mut actions = LacpActions::default();
        let active = self.cfg.mode == LacpMode::Active;
        for m in &mut self.members {
            let actor = actor_info(&self.cfg, key, m);
            m.transmit(actor, active, now, &mut actions.tx);
        }
        for m in &mut self.members {
            let enabled = m.enabled();
            if enabled != m.reported_enabled {
                m.reported_enabled = enabled;
                actions.enabled_changed.push((m.id, enabled));
            }
        }
        self.record(now);
        actions
    }
}

#[cfg(test)]
mod tests;
