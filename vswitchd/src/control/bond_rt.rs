//! One bond port's machines at run time: the bond machine and (unless
//! `lacp=off`) its LACP machine, the glue between them, and the log lines
//! for what they decide. Built and changed by [`super::bonds::Bonds`].

use std::sync::Arc;

use ctl::runtime::MemberAction;
use datapath::bond::{Bond, BondActions, BondConfig, RESTORE_WINDOW_MS};
use datapath::history::History;
use datapath::lacp::{Lacp, LacpActions, LacpConfig, LacpSaved, MemberConfig, MemberId};
use datapath::pipeline::BucketLoads;
use datapath::time::Millis;
use datapath::wire::lacpdu::FRAME_LEN;

use super::bond_state::SavedBond;

/// What the machines decided, for the caller to carry out.
#[derive(Debug, Default)]
pub struct Effects {
    /// Frames to transmit: (interface, frame).
    pub frames: Vec<(String, [u8; FRAME_LEN])>,
    /// Bonds whose traffic moved to other members: announce the stations
    /// behind the other ports on them (learning packets).
    pub learning: Vec<String>,
    /// A bond's view changed: publish a new snapshot.
    pub changed: bool,
}

impl Effects {
    pub(super) fn merge(&mut self, other: Effects) {
        self.frames.extend(other.frames);
        self.learning.extend(other.learning);
        self.changed |= other.changed;
    }
}

/// One member as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSpec {
    /// The member id (the interface's bridge-unique number).
    pub id: MemberId,
    /// The interface.
    pub name: String,
    /// Its LACP settings.
    pub lacp: MemberConfig,
    /// Its `admin_state`.
    pub admin: bool,
}

/// The machines of one bond port.
#[derive(Debug)]
pub struct BondRt {
    bond: Bond,
    lacp: Option<Lacp>,
    /// The members in port order.
    pub(super) members: Vec<MemberSpec>,
    /// Tx bytes per bucket, written by PMDs.
    loads: Arc<BucketLoads>,
    /// The `loads` totals at the last rebalance.
    last_loads: [u64; 256],
    pub(super) cfg: BondConfig,
    pub(super) lcfg: Option<LacpConfig>,
    /// The saved LACP state this bond resumed from, and until when a
    /// member whose carrier comes up late (a vhost-user guest
    /// reconnecting) may still resume from it.
    pending: Option<(LacpSaved, Millis)>,
}

impl BondRt {
    /// The bond machine.
    pub fn bond(&self) -> &Bond {
        &self.bond
    }

    /// The LACP machine, unless `lacp=off`.
    pub fn lacp(&self) -> Option<&Lacp> {
        self.lacp.as_ref()
    }

    /// The members' ids and interface names, in port order.
    pub fn members(&self) -> impl Iterator<Item = (MemberId, &str)> {
        self.members.iter().map(|m| (m.id, m.name.as_str()))
    }

    /// The interface name of member `id`.
    pub fn member_name(&self, id: MemberId) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.as_str())
    }

    /// Bytes sent per bucket (PMDs add to it).
    pub fn loads(&self) -> &Arc<BucketLoads> {
        &self.loads
    }

    pub(super) fn member_of(&self, iface: &str) -> Option<MemberId> {
        self.members.iter().find(|m| m.name == iface).map(|m| m.id)
    }

    /// Build the machines for `members` (each with its carrier).
    pub(super) fn new(
        cfg: BondConfig,
        lcfg: Option<LacpConfig>,
        members: Vec<MemberSpec>,
        carrier: &dyn Fn(&str) -> bool,
        slots: usize,
        now: Millis,
    ) -> BondRt {
        let ids: Vec<MemberId> = members.iter().map(|m| m.id).collect();
        let mut bond = Bond::new(cfg.clone(), &ids, now);
        let mut lacp = lcfg.clone().map(Lacp::new);
        for m in &members {
            let c = carrier(&m.name);
            let _ = bond.set_admin(m.id, m.admin, now);
            let _ = bond.set_carrier(m.id, c, now);
            if let Some(l) = lacp.as_mut() {
                l.add_member(m.id, m.lacp, now);
                let _ = l.set_carrier(m.id, c && m.admin, now);
            }
        }
        BondRt {
            bond,
            lacp,
            members,
            loads: BucketLoads::new(slots),
            last_loads: [0; 256],
            cfg,
            lcfg,
            pending: None,
        }
    }

    /// Keep the event histories of `old`, the machines these replace (a
    /// bond rebuilt for a new mode or LACP on/off), with this one's own
    /// events after them.
    pub(super) fn inherit_history(&mut self, old: &mut BondRt) {
        fn join<T: Copy>(old: History<T>, new: &History<T>) -> History<T> {
            let mut h = old;
            for e in new.iter() {
                h.push(e.at, e.event);
            }
            h
        }
        let h = old.bond.replace_history(History::new());
        let h = join(h, self.bond.history());
        self.bond.replace_history(h);
        if let (Some(l), Some(o)) = (self.lacp.as_mut(), old.lacp.as_mut()) {
            let h = join(o.replace_history(History::new()), l.history());
            l.replace_history(h);
        }
    }

    /// Take over from the daemon that saved `saved`: resume LACP on the
    /// members whose saved partner and settings still hold (each is enabled
    /// only once its partner's first LACPDU confirms it) and give the saved
    /// bucket table back to its members as they are enabled. Call it right
    /// after [`BondRt::new`], before anything else reaches the machines.
    pub(super) fn resume(
        &mut self,
        name: &str,
        saved: &SavedBond,
        now: Millis,
    ) -> (LacpActions, BondActions) {
        let mut b = BondActions::default();
        if let Some(t) = &saved.buckets {
            match self.bond.restore(t, now) {
                Ok(acts) => b.merge(acts),
                Err(e) => crate::info!("bond {name}: saved bucket table not used: {e}"),
            }
        }
        let (Some(lacp), Some(s)) = (self.lacp.as_mut(), &saved.lacp) else {
            return (LacpActions::default(), b);
        };
        let l = lacp.resume(s, now);
        let resuming: Vec<&str> = self
            .members
            .iter()
            .filter(|m| lacp.member_resuming(m.id))
            .map(|m| m.name.as_str())
            .collect();
        if !resuming.is_empty() {
            crate::info!(
                "bond {name}: resuming LACP on {} from the saved state, until the partner confirms",
                resuming.join(", ")
            );
        } else if !s.members.is_empty() {
            crate::info!(
                "bond {name}: saved LACP state not used yet (settings changed or links down)"
            );
        }
        self.pending = Some((s.clone(), now + RESTORE_WINDOW_MS));
        (l, b)
    }

    /// Apply a configuration of the same mode and LACP on/off in place.
    /// Returns what changed, for the log, and what the machines decided.
    pub(super) fn reconfigure(
        &mut self,
        name: &str,
        cfg: BondConfig,
        lcfg: Option<LacpConfig>,
        members: Vec<MemberSpec>,
        carrier: &dyn Fn(&str) -> bool,
        now: Millis,
    ) -> (Vec<String>, Effects) {
        let mut what = Vec::new();
        let mut l = LacpActions::default();
        let mut b = BondActions::default();
        let mut farewells = Vec::new();
        // Members that left.
        for old in self.members.clone() {
            if !members.iter().any(|m| m.id == old.id && m.name == old.name) {
                what.push(format!("member {} removed", old.name));
                if let Some(lacp) = self.lacp.as_mut() {
                    merge_lacp(&mut l, lacp.remove_member(old.id));
                }
                b.merge(self.bond.remove_member(old.id, now));
                self.members.retain(|m| m.id != old.id);
            }
        }
        if cfg != self.cfg {
            what.push("bond settings".into());
            b.merge(self.bond.reconfigure(cfg.clone(), now));
            self.cfg = cfg;
        }
        if lcfg != self.lcfg {
            if let (Some(lacp), Some(new)) = (self.lacp.as_mut(), lcfg.clone()) {
                what.push(format!(
                    "LACP settings: lacp={} lacp-time={} system {} priority {}",
                    new.mode,
                    lacp_time(&new),
                    new.system_id,
                    new.system_priority
                ));
                merge_lacp(&mut l, lacp.reconfigure(new, now));
            }
            self.lcfg = lcfg;
        }
        for m in &members {
            let c = carrier(&m.name);
            match self.members.iter().position(|x| x.id == m.id) {
                None => {
                    what.push(format!("member {} added", m.name));
                    if let Ok(acts) = self.bond.add_member(m.id, now) {
                        b.merge(acts);
                    }
                    b.merge(self.bond.set_admin(m.id, m.admin, now));
                    b.merge(self.bond.set_carrier(m.id, c, now));
                    if let Some(lacp) = self.lacp.as_mut() {
                        lacp.add_member(m.id, m.lacp, now);
                        merge_lacp(&mut l, lacp.set_carrier(m.id, c && m.admin, now));
                    }
                }
                Some(i) => {
                    let old = self.members[i].clone();
                    if old.lacp != m.lacp {
                        what.push(format!("member {} LACP settings", m.name));
                        if let Some(lacp) = self.lacp.as_mut() {
                            lacp.add_member(m.id, m.lacp, now);
                            merge_lacp(&mut l, lacp.tick(now));
                        }
                    }
                    if old.admin != m.admin {
                        if old.admin && !m.admin {
                            if let Some(f) = self.farewell(m.id) {
                                farewells.push((m.name.clone(), f));
                            }
                        }
                        let (la, ba) = self.set_link(m.id, c, m.admin, now);
                        merge_lacp(&mut l, la);
                        b.merge(ba);
                    }
                }
            }
        }
        self.members = members;
        let mut fx = self.effects(name, l, b, now);
        // The farewells go out before anything else the change caused.
        fx.frames.splice(0..0, farewells);
        (what, fx)
    }

    /// Feed LACP's member states to the bond.
    fn sync_lacp(&mut self, now: Millis) -> BondActions {
        match &self.lacp {
            Some(l) => {
                let en: Vec<(MemberId, bool)> =
                    l.members().map(|m| (m, l.member_enabled(m))).collect();
                self.bond.set_lacp(l.negotiated(), &en, now)
            }
            None => BondActions::default(),
        }
    }

    /// A last LACPDU for member `m`, which is being taken down
    /// administratively: the actor no longer in sync, collecting or
    /// distributing, so the partner stops using the link at once instead
    /// of after its timeout. `None` without LACP.
    fn farewell(&self, m: MemberId) -> Option<[u8; FRAME_LEN]> {
        use datapath::wire::lacpdu::{LacpState, Lacpdu};
        let st = self.lacp.as_ref()?.status();
        let ms = st.members.iter().find(|x| x.id == m)?;
        let mut actor = ms.actor;
        actor.state = actor
            .state
            .without(LacpState::SYNCHRONIZATION)
            .without(LacpState::COLLECTING)
            .without(LacpState::DISTRIBUTING);
        let mac = self.members.iter().find(|x| x.id == m)?.lacp.mac;
        Some(
            Lacpdu {
                actor,
                partner: ms.partner,
                collector_max_delay: 0,
            }
            .encode(mac),
        )
    }

    /// Carrier (and admin state) of member `m`.
    pub(super) fn set_link(
        &mut self,
        m: MemberId,
        carrier: bool,
        admin: bool,
        now: Millis,
    ) -> (LacpActions, BondActions) {
        if let Some(x) = self.members.iter_mut().find(|x| x.id == m) {
            x.admin = admin;
        }
        let mut b = self.bond.set_admin(m, admin, now);
        b.merge(self.bond.set_carrier(m, carrier, now));
        let mut l = match self.lacp.as_mut() {
            Some(l) => l.set_carrier(m, carrier && admin, now),
            None => LacpActions::default(),
        };
        // A member whose link comes up soon after a restart may still
        // resume; what the carrier change asked it to send is replaced by
        // the resume's LACPDU.
        if let (Some(lacp), Some((saved, until))) = (self.lacp.as_mut(), &self.pending) {
            if carrier && admin && now < *until {
                let r = lacp.resume(saved, now);
                if lacp.member_resuming(m) {
                    let name = self
                        .members
                        .iter()
                        .find(|x| x.id == m)
                        .map(|x| x.name.as_str());
                    crate::info!(
                        "member {}: resuming LACP from the saved state, until the partner confirms",
                        name.unwrap_or("?")
                    );
                }
                l.tx.retain(|(id, _)| !lacp.member_resuming(*id));
                merge_lacp(&mut l, r);
            }
        }
        (l, b)
    }

    /// `bond/set-active-member`, `bond/enable-member` or
    /// `bond/disable-member` of interface `member` of this bond (`name`):
    /// OVS's answer word, and what the bond machine decided.
    pub(super) fn member_command(
        &mut self,
        name: &str,
        member: &str,
        action: MemberAction,
        now: Millis,
    ) -> Result<(&'static str, Effects), String> {
        let m = self.member_of(member).ok_or("no such member")?;
        let err = |e: datapath::bond::BondCommandError| e.to_string();
        let (word, b) = match action {
            MemberAction::SetActive => {
                let (r, b) = self.bond.set_active_member(m, now).map_err(err)?;
                (r.reply(), b)
            }
            MemberAction::Enable => (
                "enabled",
                self.bond.set_member_enabled(m, true, now).map_err(err)?,
            ),
            MemberAction::Disable => (
                "disabled",
                self.bond.set_member_enabled(m, false, now).map_err(err)?,
            ),
        };
        Ok((word, self.effects(name, LacpActions::default(), b, now)))
    }

    /// What a restarted daemon resumes from: see `bond_state`.
    pub(super) fn saved(&self) -> SavedBond {
        SavedBond {
            lacp: self.lacp.as_ref().map(Lacp::saved),
            buckets: self.bond.saved(),
        }
    }

    /// A Slow Protocols frame received on member `m`.
    pub(super) fn rx_slow(&mut self, m: MemberId, frame: &[u8], now: Millis) -> LacpActions {
        match self.lacp.as_mut() {
            Some(l) => l.rx_frame(m, frame, now),
            None => LacpActions::default(),
        }
    }

    /// Run the machines' timers and the rebalance.
    pub(super) fn tick(&mut self, now: Millis) -> (LacpActions, BondActions) {
        let l = match self.lacp.as_mut() {
            Some(l) if l.next_deadline().is_some_and(|d| d <= now) => l.tick(now),
            _ => LacpActions::default(),
        };
        let mut b = if self.bond.next_deadline().is_some_and(|d| d <= now) {
            self.bond.tick(now)
        } else {
            BondActions::default()
        };
        if self.bond.rebalance_due(now) {
            let totals = self.loads.totals();
            let delta: [u64; 256] =
                core::array::from_fn(|i| totals[i].wrapping_sub(self.last_loads[i]));
            self.last_loads = totals;
            b.merge(self.bond.rebalance(&delta, now));
        }
        (l, b)
    }

    /// Log and collect what the machines of bond `name` asked for.
    pub(super) fn effects(
        &mut self,
        name: &str,
        l: LacpActions,
        mut b: BondActions,
        now: Millis,
    ) -> Effects {
        let mut fx = Effects::default();
        if !l.enabled_changed.is_empty() {
            let status = self.lacp.as_ref().map(|l| l.status());
            for (m, en) in &l.enabled_changed {
                let who = self.member_name(*m).unwrap_or("?");
                let why = status
                    .as_ref()
                    .and_then(|s| s.member(*m))
                    .map(|ms| ms.cause())
                    .unwrap_or_else(|| "removed from the bond".into());
                crate::info!(
                    "bond {name}: member {who}: LACP {} ({why})",
                    if *en { "enabled" } else { "disabled" }
                );
            }
            b.merge(self.sync_lacp(now));
        }
        for (m, frame) in l.tx {
            if let Some(iface) = self.member_name(m) {
                fx.frames.push((iface.to_string(), frame));
            }
        }
        for e in &b.events {
            let member = |m: MemberId| {
                self.member_name(m)
                    .map_or_else(|| m.to_string(), str::to_string)
            };
            crate::info!("bond {name}: {}", e.text(&member));
        }
        fx.changed = b.changed;
        if b.send_learning_packets {
            fx.learning.push(name.to_string());
        }
        fx
    }
}

fn merge_lacp(into: &mut LacpActions, other: LacpActions) {
    into.tx.extend(other.tx);
    for (m, en) in other.enabled_changed {
        into.enabled_changed.retain(|(x, _)| *x != m);
        into.enabled_changed.push((m, en));
    }
}

fn lacp_time(c: &LacpConfig) -> &'static str {
    if c.fast {
        "fast"
    } else {
        "slow"
    }
}
