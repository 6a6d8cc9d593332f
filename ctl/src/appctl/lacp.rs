//! `lacp/show` and `lacp/show-stats`, laid out as OVS 3.1's
//! `lacp_print_details` and `lacp_print_stats` (`lib/lacp.c`).
//!
//! Bonds are printed in the order given (OVS: creation order); members of a
//! bond sorted by name, as OVS sorts them.

use core::fmt::Write as _;

use datapath::lacp::{LacpMemberStatus, LacpStatus, MemberId};
use datapath::wire::lacpdu::{LacpInfo, LacpState};
use serde::{Deserialize, Serialize};

use super::{output, yes_no};
use crate::runtime::RuntimeOutput;

/// A member id and its interface name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberName {
    /// The id the LACP machine knows the member by.
    pub id: MemberId,
    /// The interface name.
    pub name: String,
}

/// One bond for `lacp/show` and `lacp/show-stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LacpShowInput {
    /// The bond (port) name.
    pub name: String,
    /// Interface name of each member id; a member missing here is shown by
    /// its id number.
    pub members: Vec<MemberName>,
    /// The LACP machine's status.
    pub status: LacpStatus,
}

impl LacpShowInput {
    fn member_name(&self, id: MemberId) -> String {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_string(), |m| m.name.clone())
    }

    /// Members with their names, sorted by name (then id).
    fn sorted_members(&self) -> Vec<(String, &LacpMemberStatus)> {
        let mut v: Vec<(String, &LacpMemberStatus)> = self
            .status
            .members
            .iter()
            .map(|m| (self.member_name(m.id), m))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        v
    }
}

/// JSON form of `lacp/show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpShowJson {
    /// One entry per bond.
    pub bonds: Vec<LacpBondJson>,
}

/// One bond in [`LacpShowJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpBondJson {
    /// Bond name.
    pub name: String,
    /// `active` or `passive`.
    pub status: String,
    /// At least one member is attached to a partner.
    pub negotiated: bool,
    /// Our system ID.
    pub sys_id: String,
    /// Our system priority.
    pub sys_priority: u16,
    /// The aggregation key, `null` when there is none.
    pub aggregation_key: Option<u16>,
    /// `fast` or `slow`.
    pub lacp_time: String,
    /// Members, sorted by name.
    pub members: Vec<LacpMemberJson>,
}

/// One member in [`LacpBondJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpMemberJson {
    /// Interface name.
    pub name: String,
    /// Receive machine: `current`, `expired`, `defaulted` or `disabled`.
    pub rx_state: String,
    /// Mux machine: `detached`, `waiting`, `attached`, `collecting` or
    /// `distributing`.
    pub mux_state: String,
    /// Selected for the bond's aggregator.
    pub attached: bool,
    /// Carrier as last reported.
    pub carrier: bool,
    /// Our port number on this member.
    pub port_id: u16,
    /// Our port priority on this member.
    pub port_priority: u16,
    /// May carry traffic.
    pub may_enable: bool,
    /// What we send about ourselves.
    pub actor: LacpInfoJson,
    /// What we know of the partner.
    pub partner: LacpInfoJson,
}

/// One side's LACP information.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpInfoJson {
    /// System ID.
    pub sys_id: String,
    /// System priority.
    pub sys_priority: u16,
    /// Port number.
    pub port_id: u16,
    /// Port priority.
    pub port_priority: u16,
    /// Operational key.
    pub key: u16,
    /// The state flags that are set, as `lacp/show` words them, in bit
    /// order (`activity`, `timeout`, `aggregation`, `synchronized`,
    /// `collecting`, `distributing`, `defaulted`, `expired`).
    pub state: Vec<String>,
}

impl From<&LacpInfo> for LacpInfoJson {
    fn from(i: &LacpInfo) -> Self {
        LacpInfoJson {
            sys_id: i.sys_id.to_string(),
            sys_priority: i.sys_priority,
            port_id: i.port_id,
            port_priority: i.port_priority,
            key: i.key,
            state: state_words(i.state).map(str::to_string).collect(),
        }
    }
}

pub(super) fn state_words(s: LacpState) -> impl Iterator<Item = &'static str> {
    LacpState::NAMED
        .into_iter()
        .filter(move |(flag, _)| s.contains(*flag))
        .map(|(_, name)| name)
}

/// `  <who> sys_id: ...` through `  <who> state: ...` for one side.
fn write_info(s: &mut String, who: &str, i: &LacpInfo) {
    let _ = writeln!(s, "  {who} sys_id: {}", i.sys_id);
    let _ = writeln!(s, "  {who} sys_priority: {}", i.sys_priority);
    let _ = writeln!(s, "  {who} port_id: {}", i.port_id);
    let _ = writeln!(s, "  {who} port_priority: {}", i.port_priority);
    let _ = writeln!(s, "  {who} key: {}", i.key);
    let _ = write!(s, "  {who} state:");
    // Each word with a leading space: no flags leaves "state:" bare.
    for w in state_words(i.state) {
        s.push(' ');
        s.push_str(w);
    }
    s.push('\n');
}

/// `lacp/show`: every bond in `bonds`, in order.
///
/// ```text
/// ---- bond0 ----
///   status: active negotiated
///   sys_id: 52:54:00:00:00:01
///   sys_priority: 65534
///   aggregation key: 1
///   lacp_time: fast
///
/// member: dpdk0: current attached
///   port_id: 1
///   port_priority: 65535
///   may_enable: true
///
///   actor sys_id: 52:54:00:00:00:01
///   ...
///   actor state: activity timeout aggregation synchronized collecting distributing
///
///   partner sys_id: 52:54:00:aa:bb:cc
///   ...
/// ```
pub fn lacp_show(bonds: &[LacpShowInput]) -> RuntimeOutput {
    let mut s = String::new();
    let mut json = LacpShowJson { bonds: Vec::new() };
    for b in bonds {
        let st = &b.status;
        let _ = writeln!(s, "---- {} ----", b.name);
        let _ = writeln!(
            s,
            "  status: {}{}",
            st.mode.as_str(),
            if st.negotiated { " negotiated" } else { "" }
        );
        let _ = writeln!(s, "  sys_id: {}", st.system_id);
        let _ = writeln!(s, "  sys_priority: {}", st.system_priority);
        match st.key {
            Some(k) => {
                let _ = writeln!(s, "  aggregation key: {k}");
            }
            None => s.push_str("  aggregation key: none\n"),
        }
        let _ = writeln!(s, "  lacp_time: {}", st.lacp_time());

        let mut members = Vec::new();
        for (name, m) in b.sorted_members() {
            let _ = writeln!(
                s,
                "\nmember: {name}: {} {}",
                m.rx_state.as_str(),
                if m.attached { "attached" } else { "detached" }
            );
            let _ = writeln!(s, "  port_id: {}", m.actor.port_id);
            let _ = writeln!(s, "  port_priority: {}", m.actor.port_priority);
            let _ = writeln!(s, "  may_enable: {}", yes_no(m.may_enable));
            s.push('\n');
            write_info(&mut s, "actor", &m.actor);
            s.push('\n');
            write_info(&mut s, "partner", &m.partner);

            members.push(LacpMemberJson {
                name,
                rx_state: m.rx_state.as_str().to_string(),
                mux_state: m.mux_state.as_str().to_string(),
                attached: m.attached,
                carrier: m.carrier,
                port_id: m.actor.port_id,
                port_priority: m.actor.port_priority,
                may_enable: m.may_enable,
                actor: (&m.actor).into(),
                partner: (&m.partner).into(),
            });
        }
        json.bonds.push(LacpBondJson {
            name: b.name.clone(),
            status: st.mode.as_str().to_string(),
            negotiated: st.negotiated,
            sys_id: st.system_id.to_string(),
            sys_priority: st.system_priority,
            aggregation_key: st.key,
            lacp_time: st.lacp_time().to_string(),
            members,
        });
    }
    output(s, &json)
}

/// JSON form of `lacp/show-stats`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpStatsJson {
    /// One entry per bond.
    pub bonds: Vec<LacpBondStatsJson>,
}

/// One bond in [`LacpStatsJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpBondStatsJson {
    /// Bond name.
    pub name: String,
    /// Members, sorted by name.
    pub members: Vec<LacpMemberStatsJson>,
}

/// One member's counters in [`LacpBondStatsJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpMemberStatsJson {
    /// Interface name.
    pub name: String,
    /// `TX PDUs`.
    pub tx_pdus: u64,
    /// `RX PDUs`.
    pub rx_pdus: u64,
    /// `RX Bad PDUs`.
    pub rx_bad_pdus: u64,
    /// `RX Marker Request PDUs`.
    pub rx_marker_request_pdus: u64,
    /// Marker responses sent (not in the text: OVS has no such line).
    pub tx_marker_response_pdus: u64,
    /// `Link Expired`.
    pub link_expired: u64,
    /// `Link Defaulted`.
    pub link_defaulted: u64,
    /// `Carrier Status Changed`.
    pub carrier_status_changed: u64,
}

/// `lacp/show-stats`: every bond in `bonds`, in order.
///
/// ```text
/// ---- bond0 statistics ----
///
/// member: dpdk0:
///   TX PDUs: 12
///   RX PDUs: 11
///   RX Bad PDUs: 0
///   RX Marker Request PDUs: 0
///   Link Expired: 0
///   Link Defaulted: 0
///   Carrier Status Changed: 1
/// ```
pub fn lacp_show_stats(bonds: &[LacpShowInput]) -> RuntimeOutput {
    let mut s = String::new();
    let mut json = LacpStatsJson { bonds: Vec::new() };
    for b in bonds {
        let _ = writeln!(s, "---- {} statistics ----", b.name);
        let mut members = Vec::new();
        for (name, m) in b.sorted_members() {
            let c = &m.counters;
            let _ = writeln!(s, "\nmember: {name}:");
            let _ = writeln!(s, "  TX PDUs: {}", c.tx_pdus);
            let _ = writeln!(s, "  RX PDUs: {}", c.rx_pdus);
            let _ = writeln!(s, "  RX Bad PDUs: {}", c.rx_bad_pdus);
            let _ = writeln!(s, "  RX Marker Request PDUs: {}", c.rx_marker_requests);
            let _ = writeln!(s, "  Link Expired: {}", c.link_expired);
            let _ = writeln!(s, "  Link Defaulted: {}", c.link_defaulted);
            let _ = writeln!(s, "  Carrier Status Changed: {}", c.carrier_changes);
            members.push(LacpMemberStatsJson {
                name,
                tx_pdus: c.tx_pdus,
                rx_pdus: c.rx_pdus,
                rx_bad_pdus: c.rx_bad_pdus,
                rx_marker_request_pdus: c.rx_marker_requests,
                tx_marker_response_pdus: c.tx_marker_responses,
                link_expired: c.link_expired,
                link_defaulted: c.link_defaulted,
                carrier_status_changed: c.carrier_changes,
            });
        }
        json.bonds.push(LacpBondStatsJson {
            name: b.name.clone(),
            members,
        });
    }
    output(s, &json)
}
