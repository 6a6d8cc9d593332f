//! A bond port at run time: the bond machine, its LACP machine, and the
//! glue between them. Member ids are the interfaces' positions in the port.

use std::sync::Arc;

use ctl::db::Port;
use datapath::bond::{Bond, BondActions, BondConfig};
use datapath::lacp::{Lacp, LacpActions, LacpConfig, MemberConfig, MemberId};
use datapath::pipeline::BucketLoads;
use datapath::time::Millis;
use datapath::wire::MacAddr;

/// The machines of one bond port.
#[derive(Debug)]
pub struct BondRt {
    /// The bond machine.
    pub bond: Bond,
    /// LACP, unless `lacp=off`.
    pub lacp: Option<Lacp>,
    /// Member interface names; the index is the member id.
    pub members: Vec<String>,
    /// Tx bytes per bucket, written by PMDs.
    pub loads: Arc<BucketLoads>,
    /// The `loads` totals at the last rebalance.
    pub last_loads: [u64; 256],
    /// The configuration the machines were built from.
    pub key: (BondConfig, Option<LacpConfig>, Vec<MemberConfig>),
    /// The admin state last applied to each member.
    pub admin: Vec<bool>,
}

/// The bond machine's configuration for `port`.
pub fn bond_config(port: &Port) -> BondConfig {
    port.bond_config()
}

/// The LACP configuration for `port` on a bridge whose MAC is `bridge_mac`.
pub fn lacp_config(port: &Port, bridge_mac: MacAddr) -> Option<LacpConfig> {
    port.lacp_config(bridge_mac)
}

/// Per-member LACP settings; `macs` are the members' source MACs and
/// `numbers` their bridge-unique interface numbers (the default port ids).
pub fn member_configs(port: &Port, macs: &[MacAddr], numbers: &[u16]) -> Vec<MemberConfig> {
    port.interfaces
        .iter()
        .enumerate()
        .map(|(i, iface)| {
            iface.lacp_member_config(
                numbers.get(i).copied().unwrap_or(i as u16 + 1),
                macs.get(i).copied().unwrap_or(MacAddr::ZERO),
            )
        })
        .collect()
}

impl BondRt {
    /// Build the machines. `carrier[i]`/`admin[i]` are member i's states now.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        port: &Port,
        bridge_mac: MacAddr,
        macs: &[MacAddr],
        numbers: &[u16],
        carrier: &[bool],
        admin: &[bool],
        n_pmds: usize,
        now: Millis,
    ) -> BondRt {
        let cfg = bond_config(port);
        let lcfg = lacp_config(port, bridge_mac);
        let mcfg = member_configs(port, macs, numbers);
        let ids: Vec<MemberId> = (0..port.interfaces.len() as MemberId).collect();
        let mut bond = Bond::new(cfg.clone(), &ids, now);
        let mut lacp = lcfg.clone().map(Lacp::new);
        for (i, (&c, &a)) in carrier.iter().zip(admin).enumerate() {
            let m = i as MemberId;
            let _ = bond.set_admin(m, a, now);
            let _ = bond.set_carrier(m, c, now);
        }
        if let Some(l) = lacp.as_mut() {
            for (i, m) in mcfg.iter().enumerate() {
                l.add_member(i as MemberId, *m, now);
                let up = carrier.get(i).copied().unwrap_or(false)
                    && admin.get(i).copied().unwrap_or(true);
                let _ = l.set_carrier(i as MemberId, up, now);
            }
        }
        BondRt {
            bond,
            lacp,
            members: port.interfaces.iter().map(|i| i.name.clone()).collect(),
            loads: BucketLoads::new(n_pmds),
            last_loads: [0; 256],
            key: (cfg, lcfg, mcfg),
            admin: admin.to_vec(),
        }
    }

    /// Member id of interface `name`.
    pub fn member(&self, name: &str) -> Option<MemberId> {
        self.members
            .iter()
            .position(|m| m == name)
            .map(|i| i as MemberId)
    }

    /// Feed LACP's member states to the bond.
    pub fn sync_lacp(&mut self, now: Millis) -> BondActions {
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
    pub fn farewell(&self, m: MemberId) -> Option<[u8; datapath::wire::lacpdu::FRAME_LEN]> {
        use datapath::wire::lacpdu::{LacpState, Lacpdu};
        let st = self.lacp.as_ref()?.status();
        let ms = st.members.iter().find(|x| x.id == m)?;
        let mut actor = ms.actor;
        actor.state = actor
            .state
            .without(LacpState::SYNCHRONIZATION)
            .without(LacpState::COLLECTING)
            .without(LacpState::DISTRIBUTING);
        let mac = self.key.2.get(m as usize)?.mac;
        Some(
            Lacpdu {
                actor,
                partner: ms.partner,
                collector_max_delay: 0,
            }
            .encode(mac),
        )
    }

    /// Carrier (and admin) of member `m` changed.
    pub fn set_link(
        &mut self,
        m: MemberId,
        carrier: bool,
        admin: bool,
        now: Millis,
    ) -> (LacpActions, BondActions) {
        if let Some(a) = self.admin.get_mut(m as usize) {
            *a = admin;
        }
        let mut b = self.bond.set_admin(m, admin, now);
        b.merge(self.bond.set_carrier(m, carrier, now));
        let l = match self.lacp.as_mut() {
            Some(l) => l.set_carrier(m, carrier && admin, now),
            None => LacpActions::default(),
        };
        (l, b)
    }
}
