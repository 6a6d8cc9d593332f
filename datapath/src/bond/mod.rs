//! Bonds: one pure machine per bond port, `(state, event, now) -> actions`.
//!
//! Behaviour follows Open vSwitch (`ofproto/bond.c`,
//! `Documentation/topics/bonding.rst`, `vswitch.xml` Port table); the code is
//! our own.
//!
//! # Members
//! A member is *up* when its carrier is up, it is administratively up, and —
//! when LACP is configured — LACP lets it carry traffic. *Enabled* follows
//! *up* after `bond_updelay` (going up) or `bond_downdelay` (going down); a
//! flap shorter than the delay is never seen. As in OVS, the updelay is
//! skipped when no member at all is enabled: the member whose updelay would
//! expire first is enabled at once. Two rvswitch-specific rules: the first
//! carrier sample after a member is added takes effect immediately (OVS
//! enables a newly registered member from its current carrier), and
//! `admin_state=down` disables a member at once, without downdelay.
//!
//! In `miimon` detect mode the bond acts on carrier as sampled at poll
//! instants every `bond-miimon-interval` ms (driven by [`Bond::tick`] and
//! [`Bond::next_deadline`]): a carrier change that reverts between two polls
//! is never seen, like MII polling. In `carrier` mode every sample counts.
//!
//! # Modes
//! - `active-backup`: the active member carries everything; the others
//!   receive nothing. The active member is the `bond-primary` when that is
//!   enabled (it takes over again when it comes back), otherwise the current
//!   active member while it stays enabled, otherwise the first enabled one.
//! - `balance-slb`: 256 buckets of [`crate::hash::slb`] map to enabled
//!   members. There is still an active member: without LACP only it accepts
//!   broadcast/multicast ([`BondView::admit`]).
//! - `balance-tcp`: 256 buckets of [`crate::hash::l4`]; only while LACP is
//!   negotiated.
//!
//! LACP status is `off` (lacp not configured), `configured` (configured, not
//! negotiated) or `negotiated`. When `configured`, every mode carries nothing,
//! unless `lacp-fallback-ab` is set: then the bond runs as active-backup
//! (members are then enabled on carrier alone, as OVS's LACP lets defaulted
//! members attach in fallback). `balance-tcp` with LACP `off` carries
//! nothing — OVS drops every frame of such a bond
//! (`choose_output_member()`/`bond_check_admissibility()` require
//! `LACP_NEGOTIATED` for balance-tcp) — and [`BondStatus::down_reason`]
//! says why.
//!
//! # Buckets
//! When a member is disabled, every bucket it held moves at once, in the
//! same call, spread round-robin over the remaining enabled members. A member
//! that comes back gets buckets at the next rebalance — or all of them at
//! once when it is the only enabled member.
//!
//! OVS assigns buckets lazily, when a flow first uses one; the datapath
//! cannot, so the table is dealt out eagerly (bucket `i` to the `i mod n`-th
//! enabled member). To keep OVS's outcome when members come up one by one
//! (startup, LACP negotiation), the table counts as *unused* after it was
//! dealt until traffic is accounted through [`Bond::rebalance`] or one
//! rebalance interval (10 s when rebalancing is off) passes; a member enabled
//! meanwhile makes the table be dealt again over every enabled member.
//!
//! # Rebalancing
//! [`Bond::rebalance`] takes the bytes sent per bucket since its last call.
//! Bytes are remembered per bucket; every `bond-rebalance-interval`
//! (default 10 s, 0 = never, below 1 s means 1 s) buckets move from the
//! most to the least loaded members (the rules are OVS's, see
//! `bond/rebalance.rs`),
//! and then the remembered loads are halved, so old traffic fades and
//! repeated runs converge.
//!
//! # Restarts
//! [`Bond::saved`] exports the bucket table by member id ([`BondSaved`]).
//! A fresh bond given it through [`Bond::restore`] uses it instead of
//! dealing the table out: as each member it names is enabled, that member
//! gets back exactly the buckets it had (until then they are spread over
//! the enabled members as usual), so flows keep their members across a
//! restart of the daemon. Members that no longer exist never get anything
//! from it, and it stops waiting after [`RESTORE_WINDOW_MS`], at the first
//! rebalance, or when a new configuration resets the table.
//!
//! # Runtime commands
//! `bond/set-active-member`, `bond/enable-member` and
//! `bond/disable-member` are [`Bond::set_active_member`] and
//! [`Bond::set_member_enabled`] (see `bond/commands.rs`). Each member
//! counts its link failures (carrier up → down as the bond acts on it, so
//! in miimon mode only the polled ones) and its LACP failures, and
//! remembers when its carrier last changed, for `bond/show`. Every call
//! records its changes in the bond's event history (`bond/history.rs`).
//!
//! # Learning packets
//! [`learning_packets`] composes the RARPs OVS sends when
//! [`BondActions::send_learning_packets`] is set.

mod buckets;
mod commands;
mod config;
mod events;
mod history;
pub mod learning;
mod link;
mod rebalance;
mod saved;
mod status;
mod view;

pub use commands::{BondCommandError, SetActive};
pub use config::{
    BondConfig, BondConfigError, BondError, BondMode, DetectMode, DEFAULT_MIIMON_INTERVAL_MS,
    DEFAULT_REBALANCE_INTERVAL_MS, MAX_MEMBERS, MIN_REBALANCE_INTERVAL_MS, NO_MEMBER,
};
pub use events::{BondActions, BondEvent, Cause};
pub use history::BondRecord;
pub use learning::{
    learning_packet, learning_packets, LearnedStation, LEARNING_PACKET_LEN, MAX_LEARNING_PACKETS,
};
pub use saved::{BondSaved, RestoreRefused, RESTORE_WINDOW_MS};
pub use status::{BondMemberStatus, BondStatus, BucketLoad, PendingDelay};
pub use view::{Admit, BondView};

use crate::hash::BUCKETS;
use crate::history::History;
use crate::time::Millis;
use buckets::Buckets;
use core::fmt;
use link::{LinkStep, Member};
use smallvec::SmallVec;

/// A bond member's identity, as the caller numbers it; the LACP machine
/// uses the same ids (`lacp::MemberId` is this type).
pub type MemberId = u16;

/// LACP status of a bond, as `bond/show` prints it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LacpNegotiation {
    /// LACP is not configured.
    Off,
    /// LACP is configured but not negotiated.
    Configured,
    /// LACP is negotiated.
    Negotiated,
}

impl LacpNegotiation {
    /// The `bond/show` spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            LacpNegotiation::Off => "off",
            LacpNegotiation::Configured => "configured",
            LacpNegotiation::Negotiated => "negotiated",
        }
    }
}

/// Why a bond carries no traffic although members may be up.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DownReason {
    /// LACP is configured, not negotiated, and `lacp-fallback-ab` is off.
    LacpNotNegotiated,
    /// `balance-tcp` with `lacp=off`: balance-tcp needs negotiated LACP.
    BalanceTcpNeedsLacp,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DownReason::LacpNotNegotiated => "LACP is not negotiated and lacp-fallback-ab is off",
            DownReason::BalanceTcpNeedsLacp => "balance-tcp requires LACP (lacp=active or passive)",
        })
    }
}

/// How the bond carries traffic right now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Carrying {
    /// In its configured mode.
    Normal(BondMode),
    /// Active-backup because LACP is not negotiated and `lacp-fallback-ab` is on.
    FallbackActiveBackup,
    /// Not at all.
    Down(DownReason),
}

impl Carrying {
    /// The mode traffic is carried in, if any.
    pub const fn mode(self) -> Option<BondMode> {
        match self {
            Carrying::Normal(m) => Some(m),
            Carrying::FallbackActiveBackup => Some(BondMode::ActiveBackup),
            Carrying::Down(_) => None,
        }
    }

    /// Whether traffic is spread over buckets.
    pub const fn is_hashed(self) -> bool {
        matches!(self, Carrying::Normal(m) if m.is_hashed())
    }

    /// Whether one active member carries everything.
    pub const fn is_active_backup(self) -> bool {
        matches!(
            self,
            Carrying::FallbackActiveBackup | Carrying::Normal(BondMode::ActiveBackup)
        )
    }
}

/// One bond's state machine.
#[derive(Clone, Debug)]
pub struct Bond {
    cfg: BondConfig,
    members: SmallVec<[Member; 8]>,
    lacp_negotiated: bool,
    carrying: Carrying,
    active: Option<MemberId>,
    buckets: Buckets,
    /// Until when the table counts as unused (dealt out recently, no
    /// traffic accounted since): a newly enabled member then gets a share
    /// at once.
    fresh_until: Option<Millis>,
    /// Deal the table out again at the next run (configuration change).
    reset_pending: bool,
    next_rebalance: Option<Millis>,
    next_poll: Option<Millis>,
    /// Latest `now` seen, for the relative times in [`Bond::status`].
    last_now: Millis,
    /// A restored table ([`Bond::restore`]): bucket → member id, for the
    /// buckets whose member has not been enabled since.
    restore: Option<Box<[Option<MemberId>; BUCKETS]>>,
    /// When `restore` stops waiting.
    restore_until: Millis,
    /// The last events, for `bond/events` (see `bond/history.rs`).
    history: History<BondRecord>,
}

impl Bond {
    /// A bond of `members` (duplicates and members beyond [`MAX_MEMBERS`]
    /// are ignored; [`Bond::try_new`] refuses them). Every member starts
    /// disabled with no carrier sample, administratively up and not enabled
    /// by LACP; the first [`Bond::set_carrier`] per member takes effect
    /// immediately.
    pub fn new(cfg: BondConfig, members: &[MemberId], now: Millis) -> Bond {
        let mut list: SmallVec<[Member; 8]> = SmallVec::new();
        for &m in members {
            if list.len() < MAX_MEMBERS && !list.iter().any(|x| x.id == m) {
                list.push(Member::new(m));
            }
        }
        let next_poll = cfg.detect.miimon_interval().map(|i| now + i);
        let mut b = Bond {
            cfg,
            members: list,
            lacp_negotiated: false,
            carrying: Carrying::Normal(BondMode::ActiveBackup),
            active: None,
            buckets: Buckets::default(),
            fresh_until: None,
            reset_pending: true,
            next_rebalance: None,
            next_poll,
            last_now: now,
            restore: None,
            restore_until: now,
            history: History::new(),
        };
        b.carrying = b.compute_carrying();
        let mut acts = BondActions::default();
        b.run(now, &mut acts);
        b
    }

    /// Like [`Bond::new`], but refuses duplicate members and more than
    /// [`MAX_MEMBERS`].
    pub fn try_new(cfg: BondConfig, members: &[MemberId], now: Millis) -> Result<Bond, BondError> {
        if members.len() > MAX_MEMBERS {
            return Err(BondError::TooManyMembers);
        }
        for (i, m) in members.iter().enumerate() {
            if members[..i].contains(m) {
                return Err(BondError::DuplicateMember(*m));
            }
        }
        Ok(Bond::new(cfg, members, now))
    }

    /// The configuration in effect.
    pub fn config(&self) -> &BondConfig {
        &self.cfg
    }

    /// The members, in order (a member's index in [`BondView`]).
    pub fn members(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.members.iter().map(|m| m.id)
    }

    /// How the bond carries traffic now.
    pub fn carrying(&self) -> Carrying {
        self.carrying
    }

    /// LACP status.
    pub fn lacp_status(&self) -> LacpNegotiation {
        match (self.cfg.lacp, self.lacp_negotiated) {
            (false, _) => LacpNegotiation::Off,
            (true, false) => LacpNegotiation::Configured,
            (true, true) => LacpNegotiation::Negotiated,
        }
    }

    /// Apply a new configuration.
    ///
    /// Changing the mode, the hash basis, `lacp-fallback-ab`, or turning
    /// rebalancing on or off deals the bucket table out again and forgets
    /// the measured loads (OVS resets its hash table on these). Changing a
    /// non-zero rebalance interval to another keeps the start of the current
    /// interval. Running updelay/downdelay timers keep their expiry.
    /// Turning LACP on starts un-negotiated, with no member enabled by LACP,
    /// until [`Bond::set_lacp`] reports otherwise.
    pub fn reconfigure(&mut self, cfg: BondConfig, now: Millis) -> BondActions {
        self.call(now, |b, _| {
            let old = core::mem::replace(&mut b.cfg, cfg);
            if b.cfg.lacp && !old.lacp {
                // A new LACP session: nothing is negotiated until the LACP
                // machine says so.
                b.lacp_negotiated = false;
                for m in b.members.iter_mut() {
                    m.lacp = false;
                }
            }
            if old.lacp_fallback_ab != b.cfg.lacp_fallback_ab {
                b.members
                    .iter_mut()
                    .for_each(|m| m.last_cause = Cause::Fallback);
            }
            if old.mode != b.cfg.mode
                || old.hash_basis != b.cfg.hash_basis
                || old.lacp_fallback_ab != b.cfg.lacp_fallback_ab
                || (old.effective_rebalance_interval() == 0)
                    != (b.cfg.effective_rebalance_interval() == 0)
            {
                b.reset_pending = true;
                // The restored table was for the old settings.
                b.restore = None;
            } else if old.effective_rebalance_interval() != b.cfg.effective_rebalance_interval() {
                if let Some(next) = b.next_rebalance {
                    let start = next - old.effective_rebalance_interval();
                    b.next_rebalance = Some(start + b.cfg.effective_rebalance_interval());
                }
            }
            if old.detect != b.cfg.detect {
                match b.cfg.detect.miimon_interval() {
                    Some(i) => b.next_poll = Some(now + i),
                    None => {
                        b.next_poll = None;
                        for m in b.members.iter_mut() {
                            let raw = m.raw_carrier;
                            m.set_link(raw, now);
                        }
                    }
                }
            }
        })
    }

    /// Add a member (disabled until its first carrier sample). It gets
    /// buckets at the next rebalance, or all of them if it becomes the only
    /// enabled member.
    pub fn add_member(&mut self, m: MemberId, now: Millis) -> Result<BondActions, BondError> {
        if self.members.iter().any(|x| x.id == m) {
            return Err(BondError::DuplicateMember(m));
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(BondError::TooManyMembers);
        }
        Ok(self.call(now, |b, _| b.members.push(Member::new(m))))
    }

    /// Remove a member: its buckets move to the others at once and, if it
    /// was active, another member becomes active. Unknown members are
    /// ignored.
    pub fn remove_member(&mut self, m: MemberId, now: Millis) -> BondActions {
        let Some(i) = self.index(m) else {
            return BondActions::default();
        };
        self.call(now, |b, acts| {
            if b.members[i].enabled {
                b.members[i].enabled = false;
                acts.events.push(BondEvent::MemberDisabled {
                    member: m,
                    cause: Cause::Removed,
                });
                acts.send_learning_packets = true;
            }
            if b.carrying.is_hashed() {
                let enabled = b.enabled_indices_except(i);
                b.repair_buckets(&enabled, acts);
            }
            b.members.remove(i);
            b.buckets.remove_index(i as u8);
            if let Some(r) = b.restore.as_mut() {
                for slot in r.iter_mut().filter(|s| **s == Some(m)) {
                    *slot = None;
                }
                if r.iter().all(Option::is_none) {
                    b.restore = None;
                }
            }
        })
    }

    /// A carrier sample for member `m`. In carrier mode call it on every
    /// link change (or every tick); in miimon mode call it with the link
    /// state as often as convenient — the bond only acts on the state at its
    /// poll instants. The first sample after a member is added takes effect
    /// immediately, without updelay.
    pub fn set_carrier(&mut self, m: MemberId, up: bool, now: Millis) -> BondActions {
        let Some(i) = self.index(m) else {
            return BondActions::default();
        };
        self.call(now, |b, _| {
            let mem = &mut b.members[i];
            if mem.raw_carrier != up || !mem.sampled {
                mem.last_cause = Cause::Carrier;
            }
            mem.raw_carrier = up;
            if !mem.sampled {
                mem.sampled = true;
                mem.set_link(up, now);
                let allows = b.lacp_allows(i);
                let mem = &mut b.members[i];
                if mem.is_up(allows) != mem.enabled {
                    // Zero delay: the run below flips it now.
                    mem.delay_expires = Some(now);
                }
            } else if b.cfg.detect == DetectMode::Carrier {
                mem.set_link(up, now);
            } else {
                b.poll_miimon(now);
            }
        })
    }

    /// `admin_state` of member `m`. Down takes effect at once (no
    /// downdelay); up is like carrier coming up (updelay applies).
    pub fn set_admin(&mut self, m: MemberId, up: bool, now: Millis) -> BondActions {
        let Some(i) = self.index(m) else {
            return BondActions::default();
        };
        self.call(now, |b, _| {
            let mem = &mut b.members[i];
            if mem.admin != up {
                mem.admin = up;
                mem.last_cause = Cause::Admin;
            }
        })
    }

    /// LACP status from the LACP machine: whether the bond negotiated, and
    /// per member whether LACP lets it carry traffic (members not listed keep
    /// their previous value). Ignored for members' enablement while `lacp` is
    /// not configured.
    pub fn set_lacp(
        &mut self,
        negotiated: bool,
        member_enabled: &[(MemberId, bool)],
        now: Millis,
    ) -> BondActions {
        self.call(now, |b, _| {
            for &(id, en) in member_enabled {
                if let Some(i) = b.index(id) {
                    b.members[i].set_lacp(en);
                }
            }
            // Negotiation gained or lost decides (fallback or not).
            if b.lacp_negotiated != negotiated {
                b.lacp_negotiated = negotiated;
                let fallback = !negotiated && b.cfg.lacp_fallback_ab;
                let cause = [Cause::Lacp, Cause::Fallback][usize::from(fallback)];
                b.members.iter_mut().for_each(|m| m.last_cause = cause);
            }
        })
    }

    /// Timers: updelay/downdelay expiry and miimon polls. The rebalance
    /// deadline needs load figures, so it is not handled here: when
    /// [`Bond::rebalance_due`] says so, call [`Bond::rebalance`].
    pub fn tick(&mut self, now: Millis) -> BondActions {
        self.call(now, |b, _| b.poll_miimon(now))
    }

    /// The earliest time [`Bond::tick`] (or, for the rebalance deadline,
    /// [`Bond::rebalance`]) has something to do.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.members
            .iter()
            .filter_map(|m| m.delay_expires)
            .chain(self.next_poll)
            .chain(self.next_rebalance)
            .chain(self.restore.as_ref().map(|_| self.restore_until))
            .min()
    }

    /// Whether a rebalance is due at `now`.
    pub fn rebalance_due(&self, now: Millis) -> bool {
        self.next_rebalance.is_some_and(|t| now >= t)
    }

    /// Account `tx_bytes` (bytes sent per bucket since the previous call) and,
    /// when the rebalance interval has passed, rebalance: move buckets from
    /// the most to the least loaded members, report each move, and halve the
    /// remembered loads. Does nothing unless the bond is load-balancing with
    /// a non-zero rebalance interval.
    pub fn rebalance(&mut self, tx_bytes: &[u64; BUCKETS], now: Millis) -> BondActions {
        self.call(now, |b, acts| {
            // Timers first, so the table is current before it is judged.
            b.run(now, acts);
            if b.carrying.is_hashed() && tx_bytes.iter().any(|&t| t != 0) {
                b.fresh_until = None;
            }
            if b.next_rebalance.is_none() {
                return;
            }
            for (l, &t) in b.buckets.load.iter_mut().zip(tx_bytes) {
                *l = l.saturating_add(t);
            }
            if !b.rebalance_due(now) {
                return;
            }
            // Measured load decides from now on.
            b.restore = None;
            b.next_rebalance = Some(now + b.cfg.effective_rebalance_interval());
            let enabled = b.enabled_mask();
            let out = rebalance::rebalance(&mut b.buckets, enabled, b.members.len());
            for s in &out.shifts {
                acts.events.push(BondEvent::BucketShifted {
                    bucket: s.bucket,
                    from: b.members[usize::from(s.from)].id,
                    to: b.members[usize::from(s.to)].id,
                    load_bytes: s.load,
                });
            }
            if !out.shifts.is_empty() {
                let loads = b
                    .members
                    .iter()
                    .zip(&out.loads)
                    .enumerate()
                    .filter(|(i, _)| enabled & (1u64 << i) != 0)
                    .map(|(_, (m, &l))| (m.id, l))
                    .collect();
                acts.events.push(BondEvent::Rebalanced { loads });
                acts.send_learning_packets = true;
            }
            b.buckets.decay();
        })
    }

    /// The frozen view for the datapath snapshot.
    pub fn view(&self) -> BondView {
        let ids: SmallVec<[MemberId; 8]> = self.members.iter().map(|m| m.id).collect();
        let Some(mode) = self.carrying.mode() else {
            let mut v = BondView::down(self.cfg.mode, &ids, self.cfg.hash_basis);
            v.lacp_negotiated = self.lacp_status() == LacpNegotiation::Negotiated;
            return v;
        };
        let enabled = self.enabled_mask();
        let active = self.active.and_then(|a| self.index(a)).map(|i| i as u8);
        let buckets = if mode.is_hashed() {
            self.buckets.map
        } else {
            [active.unwrap_or(NO_MEMBER); BUCKETS]
        };
        BondView {
            mode,
            buckets,
            members: ids,
            enabled,
            active,
            hash_basis: self.cfg.hash_basis,
            up: enabled != 0 && active.is_some(),
            lacp_negotiated: self.lacp_status() == LacpNegotiation::Negotiated,
        }
    }

    // ---- internals ----

    fn index(&self, m: MemberId) -> Option<usize> {
        self.members.iter().position(|x| x.id == m)
    }

    /// Whether LACP lets member `i` carry traffic (OVS `may_enable` from LACP).
    fn lacp_allows(&self, i: usize) -> bool {
        match self.lacp_status() {
            LacpNegotiation::Off => true,
            LacpNegotiation::Negotiated => self.members.get(i).is_some_and(|m| m.lacp),
            // OVS's LACP lets defaulted members attach when falling back.
            LacpNegotiation::Configured => self.cfg.lacp_fallback_ab,
        }
    }

    fn compute_carrying(&self) -> Carrying {
        match self.lacp_status() {
            LacpNegotiation::Configured if self.cfg.lacp_fallback_ab => {
                Carrying::FallbackActiveBackup
            }
            LacpNegotiation::Configured => Carrying::Down(DownReason::LacpNotNegotiated),
            LacpNegotiation::Off if self.cfg.mode == BondMode::BalanceTcp => {
                Carrying::Down(DownReason::BalanceTcpNeedsLacp)
            }
            LacpNegotiation::Off | LacpNegotiation::Negotiated => Carrying::Normal(self.cfg.mode),
        }
    }

    fn enabled_mask(&self) -> u64 {
        if self.carrying.mode().is_none() {
            return 0;
        }
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.enabled)
            .fold(0, |acc, (i, _)| acc | (1u64 << i))
    }

    fn enabled_indices_except(&self, skip: usize) -> SmallVec<[u8; 8]> {
        self.members
            .iter()
            .enumerate()
            .filter(|&(i, m)| m.enabled && i != skip)
            .map(|(i, _)| i as u8)
            .collect()
    }

    fn id_of(&self, idx: u8) -> Option<MemberId> {
        self.members.get(usize::from(idx)).map(|m| m.id)
    }

    /// Latch raw carrier into carrier when a miimon poll is due.
    fn poll_miimon(&mut self, now: Millis) {
        let (Some(interval), Some(next)) = (self.cfg.detect.miimon_interval(), self.next_poll)
        else {
            return;
        };
        if now < next {
            return;
        }
        for m in self.members.iter_mut().filter(|m| m.sampled) {
            let raw = m.raw_carrier;
            m.set_link(raw, now);
        }
        // The next poll instant strictly after `now`, on the same grid.
        let behind = now.saturating_since(next) / interval + 1;
        self.next_poll = Some(next + behind.saturating_mul(interval));
    }

    /// Run `f`, then the machine, and report whether the view changed.
    fn call(&mut self, now: Millis, f: impl FnOnce(&mut Bond, &mut BondActions)) -> BondActions {
        let before = self.view();
        let mut acts = BondActions::default();
        f(self, &mut acts);
        self.run(now, &mut acts);
        self.record(now, &acts);
        acts.changed = self.view() != before;
        acts.send_learning_packets &= self.may_send_learning_packets();
        acts
    }

    /// OVS `may_send_learning_packets()`: learning frames help only when the
    /// partner does not know the links form one bond.
    fn may_send_learning_packets(&self) -> bool {
        let mode_ok = match self.lacp_status() {
            LacpNegotiation::Off => !matches!(self.cfg.mode, BondMode::BalanceTcp),
            LacpNegotiation::Configured => self.cfg.lacp_fallback_ab,
            LacpNegotiation::Negotiated => false,
        };
        mode_ok && self.active.is_some()
    }

    /// The core step (OVS `bond_run()`): carrying mode, member link state,
    /// active member, bucket table.
    fn run(&mut self, now: Millis, acts: &mut BondActions) {
        if now > self.last_now {
            self.last_now = now;
        }

        // 1. How the bond carries traffic.
        let carrying = self.compute_carrying();
        if carrying != self.carrying {
            acts.events.push(BondEvent::CarryingChanged {
                from: self.carrying,
                to: carrying,
            });
            if self.carrying.is_active_backup() && carrying.is_hashed() {
                self.reset_pending = true;
            }
            if carrying.mode().is_some() {
                acts.send_learning_packets = true;
            }
            self.carrying = carrying;
        }

        // 2. Member link state.
        let mut newly_enabled = false;
        let miimon = self.cfg.detect.miimon_interval().is_some();
        for i in 0..self.members.len() {
            let allows = self.lacp_allows(i);
            let (up, updelay, downdelay) = (
                self.members[i].is_up(allows) && !self.members[i].held_down,
                self.cfg.updelay_ms,
                self.cfg.downdelay_ms,
            );
            let mem = &mut self.members[i];
            let step = if (!mem.admin || mem.held_down) && mem.enabled {
                // Administrative down (and bond/disable-member) is immediate.
                mem.delay_expires = None;
                LinkStep::Flip { up: false }
            } else {
                mem.update(up, updelay, downdelay, now)
            };
            let id = mem.id;
            match step {
                LinkStep::None => {}
                LinkStep::DelayStarted { up, ms } => acts.events.push(BondEvent::DelayStarted {
                    member: id,
                    up,
                    delay_ms: ms,
                }),
                LinkStep::DelayCancelled { up } => acts
                    .events
                    .push(BondEvent::DelayCancelled { member: id, up }),
                LinkStep::Flip { up } => {
                    mem.enabled = up;
                    if up {
                        newly_enabled = true;
                        acts.events.push(BondEvent::MemberEnabled {
                            member: id,
                            cause: link::polled(mem.last_cause, miimon),
                        });
                    } else {
                        acts.send_learning_packets = true;
                        acts.events.push(BondEvent::MemberDisabled {
                            member: id,
                            cause: link::polled(mem.down_cause(allows), miimon),
                        });
                    }
                }
            }
        }

        // 3. Active member.
        let primary = self
            .cfg
            .primary
            .filter(|_| self.carrying.is_active_backup())
            .and_then(|p| self.index(p))
            .filter(|&i| self.members[i].enabled);
        let active_ok = self
            .active
            .and_then(|a| self.index(a))
            .is_some_and(|i| self.members[i].enabled);
        if !active_ok || primary.is_some_and(|p| self.active != Some(self.members[p].id)) {
            newly_enabled |= self.choose_active(primary, acts);
        }

        // 4. Bucket table.
        if self.restore.is_some() && now >= self.restore_until {
            self.restore = None;
        }
        if self.carrying.is_hashed() {
            let enabled = self.enabled_indices_except(usize::MAX);
            let fresh = self.fresh_until.is_some_and(|t| now < t);
            let window = match self.cfg.effective_rebalance_interval() {
                0 => DEFAULT_REBALANCE_INTERVAL_MS,
                i => i,
            };
            // A restored table, not a new deal, decides where a member
            // that comes up goes.
            let redeal = fresh && newly_enabled && self.restore.is_none();
            if self.reset_pending || redeal {
                if self.reset_pending {
                    // A reconfigured table starts a new rebalance interval
                    // (set below), as in OVS. Re-dealing an unused table
                    // stands for OVS's lazy first assignment and does not.
                    self.next_rebalance = None;
                }
                self.reset_pending = false;
                self.buckets.reset(&enabled);
                acts.events.push(BondEvent::BucketsReset);
                acts.send_learning_packets = true;
                if !enabled.is_empty() {
                    self.fresh_until = Some(now + window);
                }
            } else {
                let was_empty = self.buckets.all_unassigned();
                self.repair_buckets(&enabled, acts);
                if was_empty && !enabled.is_empty() {
                    self.fresh_until = Some(now + window);
                }
            }
            self.apply_restore(&enabled, acts);
        }

        // 5. Rebalance deadline.
        let balanced = self.carrying.is_hashed() && self.cfg.effective_rebalance_interval() != 0;
        if !balanced {
            self.next_rebalance = None;
        } else if self.next_rebalance.is_none() {
            self.next_rebalance = Some(now + self.cfg.effective_rebalance_interval());
        }
    }

    /// Report bucket moves `(from, to, count)` (member indices) as events,
    /// and ask for learning packets.
    fn report_moves(&self, moves: buckets::Moves, acts: &mut BondActions) {
        for (from, to, count) in moves {
            acts.events.push(BondEvent::BucketsMoved {
                from: self.id_of(from),
                to: self.id_of(to),
                count,
            });
            acts.send_learning_packets = true;
        }
    }

    /// Move buckets off members not in `enabled`, reporting the moves.
    fn repair_buckets(&mut self, enabled: &[u8], acts: &mut BondActions) {
        let moves = self.buckets.repair(enabled);
        self.report_moves(moves, acts);
    }

    /// OVS `bond_choose_active_member()`. Returns whether it enabled a member
    /// early (updelay skipped).
    fn choose_active(&mut self, primary: Option<usize>, acts: &mut BondActions) -> bool {
        let old = self.active;
        let keep = old
            .and_then(|a| self.index(a))
            .filter(|&i| self.members[i].enabled);
        let first = self.members.iter().position(|m| m.enabled);
        let mut skipped = false;
        let chosen = match primary.or(keep).or(first) {
            Some(i) => Some(i),
            None => {
                // No member is enabled: take the one whose updelay expires
                // first and enable it now.
                let pending = self
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(i, m)| {
                        m.pending_up() && !m.held_down && m.is_up(self.lacp_allows(*i))
                    })
                    .min_by_key(|(_, m)| m.delay_expires)
                    .map(|(i, _)| i);
                if let Some(i) = pending {
                    let m = &mut self.members[i];
                    m.enabled = true;
                    m.delay_expires = None;
                    acts.events.push(BondEvent::MemberEnabled {
                        member: m.id,
                        cause: Cause::UpdelaySkipped,
                    });
                    skipped = true;
                }
                pending
            }
        };
        let new = chosen.map(|i| self.members[i].id);
        if new != old {
            self.active = new;
            acts.events
                .push(BondEvent::ActiveChanged { from: old, to: new });
            acts.send_learning_packets = true;
        }
        skipped
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
#[cfg(test)]
mod tests_history;
