//! `bond/show`: the text is [`BondStatus::format`] (OVS 3.1's
//! `bond_print_details` layout, `ofproto/bond.c`); this adds the JSON form.
//! Also the answers of `bond/set-active-member`, `bond/enable-member`,
//! `bond/disable-member` ([`bond_reply`]) and `bond/hash` ([`bond_hash`]).
//!
//! Bonds are printed in the order given; members of a bond sorted by name,
//! as OVS sorts them.

use datapath::bond::{BondMemberStatus, BondStatus, Carrying, MemberId};
use datapath::wire::MacAddr;
use serde::{Deserialize, Serialize};

use super::output;
use crate::runtime::RuntimeOutput;

/// A member id with its interface name and MAC address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondMemberInfo {
    /// The id the bond machine knows the member by.
    pub id: MemberId,
    /// The interface name.
    pub name: String,
    /// The interface's MAC address.
    pub mac: MacAddr,
}

/// One bond for `bond/show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondShowInput {
    /// The bond (port) name.
    pub name: String,
    /// Name and MAC of each member id; a member missing here is shown by
    /// its id number with a zero MAC.
    pub members: Vec<BondMemberInfo>,
    /// The bond machine's status.
    pub status: BondStatus,
}

impl BondShowInput {
    fn member(&self, id: MemberId) -> (String, MacAddr) {
        self.members.iter().find(|m| m.id == id).map_or_else(
            || (id.to_string(), MacAddr::ZERO),
            |m| (m.name.clone(), m.mac),
        )
    }
}

/// JSON form of `bond/show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondShowJson {
    /// One entry per bond.
    pub bonds: Vec<BondJson>,
}

/// One bond in [`BondShowJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondJson {
    /// Bond name.
    pub name: String,
    /// Configured `bond_mode`.
    pub bond_mode: String,
    /// The mode traffic is carried in now; `null` when the bond is down.
    pub carrying: Option<String>,
    /// Carrying active-backup because LACP is not negotiated and
    /// `lacp-fallback-ab` is on.
    pub lacp_fallback_active: bool,
    /// Why the bond carries nothing, if it does not.
    pub down_reason: Option<String>,
    /// `bond-hash-basis`.
    pub bond_hash_basis: u32,
    /// `bond_updelay`.
    pub updelay_ms: u64,
    /// `bond_downdelay`.
    pub downdelay_ms: u64,
    /// `carrier` or `miimon`.
    pub detect_mode: String,
    /// Poll interval in miimon mode.
    pub miimon_interval_ms: Option<u64>,
    /// Rebalance interval in effect (0 = never).
    pub rebalance_interval_ms: u64,
    /// Milliseconds until the next rebalance, when the bond rebalances.
    pub next_rebalance_ms: Option<u64>,
    /// `off`, `configured` or `negotiated`.
    pub lacp_status: String,
    /// `lacp-fallback-ab`.
    pub lacp_fallback_ab: bool,
    /// `bond-primary` (a member name, or the configured id when it is not
    /// a member).
    pub active_backup_primary: Option<String>,
    /// The primary is one of the members.
    pub primary_is_member: bool,
    /// The active member's name.
    pub active_member: Option<String>,
    /// The active member's MAC (all zero when there is none).
    pub active_member_mac: String,
    /// Members, sorted by name.
    pub members: Vec<BondMemberJson>,
}

/// One member in [`BondJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondMemberJson {
    /// Interface name.
    pub name: String,
    /// Interface MAC.
    pub mac: String,
    /// Carries traffic.
    pub enabled: bool,
    /// Is the active member.
    pub active: bool,
    /// Every input lets it carry traffic (enabled once updelay passes).
    pub may_enable: bool,
    /// Carrier as the bond sees it.
    pub carrier: bool,
    /// `admin_state` is up.
    pub admin_up: bool,
    /// LACP lets it carry traffic.
    pub lacp_enabled: bool,
    /// Held disabled by `bond/disable-member`.
    pub held_down: bool,
    /// Carrier losses (Linux's `Link Failure Count`).
    pub link_failures: u64,
    /// Times LACP stopped letting it carry traffic.
    pub lacp_failures: u64,
    /// Milliseconds since the carrier last changed; `null` before the
    /// first sample.
    pub last_link_change_ms: Option<u64>,
    /// A running updelay or downdelay.
    pub pending: Option<PendingJson>,
    /// Sum of its buckets' loads.
    pub load_bytes: u64,
    /// Its buckets, in bucket order (load-balancing modes only).
    pub hashes: Vec<HashLoadJson>,
}

/// A running updelay or downdelay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingJson {
    /// `updelay` or `downdelay`.
    pub delay: String,
    /// Milliseconds left.
    pub expires_in_ms: u64,
}

/// One hash bucket of a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashLoadJson {
    /// The bucket (`hash & 0xff`).
    pub hash: u8,
    /// Remembered bytes.
    pub load_bytes: u64,
    /// The same in kB, as the text prints it.
    pub load_kb: u64,
}

fn member_json(b: &BondShowInput, m: &BondMemberStatus) -> BondMemberJson {
    let (name, mac) = b.member(m.id);
    BondMemberJson {
        name,
        mac: mac.to_string(),
        enabled: m.enabled,
        active: m.active,
        may_enable: m.may_enable,
        carrier: m.carrier,
        admin_up: m.admin_up,
        lacp_enabled: m.lacp_enabled,
        held_down: m.held_down,
        link_failures: m.link_failures,
        lacp_failures: m.lacp_failures,
        last_link_change_ms: m.last_link_change_ms,
        pending: m.pending.map(|p| PendingJson {
            delay: if p.up { "updelay" } else { "downdelay" }.to_string(),
            expires_in_ms: p.expires_in_ms,
        }),
        load_bytes: m.load_bytes(),
        hashes: m
            .buckets
            .iter()
            .map(|h| HashLoadJson {
                hash: h.hash,
                load_bytes: h.load_bytes,
                load_kb: h.load_kb(),
            })
            .collect(),
    }
}

fn bond_json(b: &BondShowInput) -> BondJson {
    let st = &b.status;
    let mut members: Vec<BondMemberJson> = st.members.iter().map(|m| member_json(b, m)).collect();
    members.sort_by(|x, y| x.name.cmp(&y.name));
    let active = st.active.map(|a| b.member(a));
    BondJson {
        name: b.name.clone(),
        bond_mode: st.mode.as_str().to_string(),
        carrying: st.carrying.mode().map(|m| m.as_str().to_string()),
        lacp_fallback_active: st.carrying == Carrying::FallbackActiveBackup,
        down_reason: st.down_reason.map(|r| r.to_string()),
        bond_hash_basis: st.hash_basis,
        updelay_ms: st.updelay_ms,
        downdelay_ms: st.downdelay_ms,
        detect_mode: st.detect.as_str().to_string(),
        miimon_interval_ms: st.detect.miimon_interval(),
        rebalance_interval_ms: st.rebalance_interval_ms,
        next_rebalance_ms: st.next_rebalance_ms,
        lacp_status: st.lacp_status.as_str().to_string(),
        lacp_fallback_ab: st.lacp_fallback_ab,
        active_backup_primary: st.primary.map(|p| {
            if st.primary_is_member {
                b.member(p).0
            } else {
                p.to_string()
            }
        }),
        primary_is_member: st.primary_is_member,
        active_member_mac: active
            .as_ref()
            .map_or(MacAddr::ZERO, |(_, mac)| *mac)
            .to_string(),
        active_member: active.map(|(name, _)| name),
        members,
    }
}

/// `bond/show`: every bond in `bonds`, in order. The text of each is
/// [`BondStatus::format`]; see its notes on what differs from OVS.
pub fn bond_show(bonds: &[BondShowInput]) -> RuntimeOutput {
    let mut s = String::new();
    for b in bonds {
        s.push_str(&b.status.format(&b.name, &|id| b.member(id)));
    }
    let json = BondShowJson {
        bonds: bonds.iter().map(bond_json).collect(),
    };
    output(s, &json)
}

/// The answer of `bond/set-active-member` (`done`, `no change`),
/// `bond/enable-member` (`enabled`) or `bond/disable-member` (`disabled`):
/// OVS's one word, on a line as ovs-appctl prints it; JSON
/// `{"result": WORD}`.
pub fn bond_reply(word: &str) -> RuntimeOutput {
    output(format!("{word}\n"), &serde_json::json!({ "result": word }))
}

/// `bond/hash MAC [VLAN] [BASIS]`: the bucket (0–255) that balance-slb
/// puts frames from `mac` on `vlan` in, with hash basis `basis`; JSON
/// `{"hash": N}`. It is rvswitch's hash ([`datapath::hash::slb`]), so the
/// number is the `hash N` that `bond/show` lists, not the one OVS would
/// compute.
pub fn bond_hash(mac: MacAddr, vlan: u16, basis: u32) -> RuntimeOutput {
    let h = datapath::hash::bucket(datapath::hash::slb(mac, vlan, basis));
    output(format!("{h}\n"), &serde_json::json!({ "hash": h }))
}
