//! Bond ports at run time: the bond machine and (unless `lacp=off`) the
//! LACP machine of each, built from the configuration and changed in place
//! when it changes; their inputs (carrier, admin state, received Slow
//! Protocols frames, time) go in, their decisions come out as [`Effects`]
//! for the caller to carry out. Nothing here touches a device.
//!
//! Member ids are the interfaces' bridge-unique numbers, which stay the
//! same while an interface exists, so members can come and go without
//! disturbing the others.
//!
//! Reconfiguration follows OVS (`bond_reconfigure`, `lacp_configure`): a
//! new bond mode, or LACP switched on or off, builds the machines anew;
//! anything else — LACP mode, timers, priorities, port ids, keys, delays,
//! members added or removed — is applied to the running machines, so the
//! members that stay keep carrying traffic.

use std::collections::BTreeMap;

use ctl::db::{Db, Port};
use ctl::runtime::MemberAction;
use datapath::bond::BondActions;
use datapath::lacp::MemberId;
use datapath::time::Millis;
use datapath::wire::MacAddr;

pub use super::bond_rt::Effects;
use super::bond_rt::{BondRt, MemberSpec};
use super::bond_state::SavedBonds;
use super::bridges::Bridges;

/// What the devices say about one member interface.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemberLink {
    /// Its MAC address (the source of its LACPDUs), once its device is open.
    pub mac: Option<MacAddr>,
    /// Carrier.
    pub carrier: bool,
}

/// Every bond port's machines, by port name.
#[derive(Debug, Default)]
pub struct Bonds {
    map: BTreeMap<String, BondRt>,
    /// What the previous daemon saved, taken by each bond when it is built
    /// for the first time.
    saved: SavedBonds,
}

/// A MAC for a member whose device is not open (it sends nothing then).
fn placeholder_mac(iface: &str) -> MacAddr {
    let seed = iface
        .bytes()
        .fold(7u64, |h, c| h.wrapping_mul(31).wrapping_add(c as u64));
    crate::device::derived_mac(seed)
}

/// The members of bond `port` on `bridge` as configured.
fn member_specs(
    bridge: &str,
    port: &Port,
    bridges: &Bridges,
    link: &dyn Fn(&str) -> MemberLink,
) -> Vec<MemberSpec> {
    port.interfaces
        .iter()
        .enumerate()
        .map(|(i, iface)| {
            let id = bridges
                .iface_no(bridge, &iface.name)
                .unwrap_or(i as MemberId + 1);
            let mac = link(&iface.name)
                .mac
                .unwrap_or_else(|| placeholder_mac(&iface.name));
            MemberSpec {
                id,
                name: iface.name.clone(),
                lacp: iface.lacp_member_config(id, mac),
                admin: iface.admin_up(),
            }
        })
        .collect()
}

impl Bonds {
    /// Resume from `saved` (what the previous daemon saved): each bond
    /// takes its part when it is first built.
    pub fn resume_from(&mut self, saved: SavedBonds) {
        self.saved = saved;
    }

    /// Every bond's state to save for the next daemon.
    pub fn saved(&self) -> SavedBonds {
        self.map
            .iter()
            .map(|(n, rt)| (n.clone(), rt.saved()))
            .collect()
    }

    /// The bond port `name`.
    pub fn get(&self, name: &str) -> Option<&BondRt> {
        self.map.get(name)
    }

    /// Every bond port, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &BondRt)> {
        self.map.iter()
    }

    /// The bond and member id of interface `iface`.
    fn member_of(&self, iface: &str) -> Option<(String, MemberId)> {
        self.map
            .iter()
            .find_map(|(n, b)| b.member_of(iface).map(|m| (n.clone(), m)))
    }

    /// Make the bonds match `db`: build new ones, rebuild those whose mode
    /// or LACP on/off changed, change the others in place, drop the rest.
    /// `link` tells each member interface's MAC and carrier.
    pub fn reconcile(
        &mut self,
        db: &Db,
        bridges: &Bridges,
        link: &dyn Fn(&str) -> MemberLink,
        slots: usize,
        now: Millis,
    ) -> Effects {
        let mut fx = Effects::default();
        let carrier = |n: &str| link(n).carrier;
        let mut keep = Vec::new();
        for (br, port) in db.ports().filter(|(_, p)| p.is_bond()) {
            keep.push(port.name.clone());
            let hw = bridges.hwaddr(&br.name).unwrap_or(MacAddr::ZERO);
            let members = member_specs(&br.name, port, bridges, link);
            let mut cfg = port.bond_config();
            // `bond-primary` comes as a position in the port.
            cfg.primary = cfg
                .primary
                .and_then(|i| members.get(usize::from(i)).map(|m| m.id));
            let lcfg = port.lacp_config(hw);
            let rebuild = match self.map.get(&port.name) {
                None => Some("configured"),
                Some(rt) if rt.cfg.mode != cfg.mode => Some("rebuilt for a new bond_mode"),
                Some(rt) if rt.lcfg.is_some() != lcfg.is_some() => {
                    Some("rebuilt for a new lacp setting")
                }
                Some(_) => None,
            };
            if let Some(why) = rebuild {
                let n = members.len();
                let mut rt = BondRt::new(cfg, lcfg, members, &carrier, slots, now);
                if let Some(old) = self.map.get_mut(&port.name) {
                    rt.inherit_history(old);
                }
                crate::info!("bond {}: {why} ({n} members)", port.name);
                if let Some(saved) = self.saved.remove(&port.name) {
                    let (l, b) = rt.resume(&port.name, &saved, now);
                    fx.merge(rt.effects(&port.name, l, b, now));
                }
                self.map.insert(port.name.clone(), rt);
                fx.changed = true;
                continue;
            }
            let Some(rt) = self.map.get_mut(&port.name) else {
                continue;
            };
            let unchanged = rt.cfg == cfg && rt.lcfg == lcfg && rt.members == members;
            if unchanged {
                continue;
            }
            let (what, rfx) = rt.reconfigure(&port.name, cfg, lcfg, members, &carrier, now);
            if !what.is_empty() {
                crate::info!(
                    "bond {}: reconfigured in place ({})",
                    port.name,
                    what.join(", ")
                );
            }
            fx.merge(rfx);
            fx.changed = true;
        }
        // Only bonds built at start resume.
        self.saved.clear();
        let before = self.map.len();
        self.map.retain(|n, _| keep.contains(n));
        fx.changed |= before != self.map.len();
        fx
    }

    /// Carrier of interface `iface` changed (`admin` is its admin state).
    pub fn set_link(&mut self, iface: &str, carrier: bool, admin: bool, now: Millis) -> Effects {
        let Some((bn, m)) = self.member_of(iface) else {
            return Effects::default();
        };
        let Some(rt) = self.map.get_mut(&bn) else {
            return Effects::default();
        };
        let (l, b) = rt.set_link(m, carrier, admin, now);
        rt.effects(&bn, l, b, now)
    }

    /// A runtime command on member `member` of bond `bond` (see
    /// [`BondRt::member_command`]); refused with OVS's texts.
    pub fn member_command(
        &mut self,
        bond: &str,
        member: &str,
        action: MemberAction,
        now: Millis,
    ) -> Result<(&'static str, Effects), String> {
        let rt = self.map.get_mut(bond).ok_or("no such bond")?;
        rt.member_command(bond, member, action, now)
    }

    /// A Slow Protocols frame received on interface `iface`.
    pub fn rx_slow(&mut self, iface: &str, frame: &[u8], now: Millis) -> Effects {
        let Some((bn, m)) = self.member_of(iface) else {
            return Effects::default();
        };
        let Some(rt) = self.map.get_mut(&bn) else {
            return Effects::default();
        };
        let acts = rt.rx_slow(m, frame, now);
        rt.effects(&bn, acts, BondActions::default(), now)
    }

    /// Run every bond's timers.
    pub fn tick(&mut self, now: Millis) -> Effects {
        let mut fx = Effects::default();
        for (name, rt) in self.map.iter_mut() {
            let (l, b) = rt.tick(now);
            fx.merge(rt.effects(name, l, b, now));
        }
        fx
    }
}
