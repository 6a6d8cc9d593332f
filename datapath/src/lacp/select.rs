//! Selection logic: which members are attached to the bond's one aggregator.
//!
//! A bond has a single aggregator (as in OVS). A member is a candidate when
//! its link is up, it has partner information (current or expired, never
//! defaulted), and the partner is not our own system (a loop). Among the
//! candidates a lead is chosen: members already distributing first (so a
//! working aggregate is never abandoned for a new partner), then the port
//! with the best LACP priority, as OVS does (the port priority and number of
//! whichever side, actor or partner, has the better system priority). Every
//! candidate whose partner has the lead's system ID and key is selected.
//! The partner's system priority is not compared: one system has one, and
//! while a partner changes it, its ports announce the new value one LACPDU
//! at a time; comparing it would drop the ports not yet updated. An
//! individual partner port (aggregation flag clear) aggregates with
//! nobody: it is selected only when it is the lead, alone.

use super::member::Member;
use super::status::MuxState;
use crate::wire::lacpdu::LacpInfo;
use crate::wire::MacAddr;

/// A member may be selected at all.
fn candidate(m: &Member, own_system: MacAddr) -> bool {
    m.carrier
        && !m.partner_defaulted
        && m.partner.sys_id != MacAddr::ZERO
        && m.partner.sys_id != own_system
        && !m.reselect
}

/// OVS's link priority: (system priority, system, port priority, port) of
/// the side whose (system priority, system) is lower. Smaller is better.
fn priority(actor: &LacpInfo, partner: &LacpInfo) -> (u16, MacAddr, u16, u16) {
    let side = if (actor.sys_priority, actor.sys_id) < (partner.sys_priority, partner.sys_id) {
        actor
    } else {
        partner
    };
    (
        side.sys_priority,
        side.sys_id,
        side.port_priority,
        side.port_id,
    )
}

/// Same partner aggregate: system ID and key (see the module docs for
/// why not the system priority).
fn same_aggregate(a: &LacpInfo, b: &LacpInfo) -> bool {
    a.sys_id == b.sys_id && a.key == b.key
}

/// Set `selected` on every member; `actor(m)` is what member `m` sends about
/// itself. Returns whether any member is selected (OVS's "negotiated").
pub(super) fn select(
    members: &mut [Member],
    own_system: MacAddr,
    actor: impl Fn(&Member) -> LacpInfo,
) -> bool {
    // A member whose partner changed may be selected again once detached.
    for m in members.iter_mut() {
        if m.reselect && m.mux == MuxState::Detached {
            m.reselect = false;
        }
    }
    let lead = members
        .iter()
        .filter(|m| candidate(m, own_system))
        .min_by_key(|m| {
            (
                m.mux != MuxState::Distributing,
                priority(&actor(m), &m.partner),
            )
        })
        .map(|m| (m.id, m.partner));
    for m in members.iter_mut() {
        m.selected = match lead {
            Some((lead_id, lead_partner)) if candidate(m, own_system) => {
                same_aggregate(&lead_partner, &m.partner)
                    && if lead_partner.state.is_aggregatable() {
                        m.partner.state.is_aggregatable()
                    } else {
                        m.id == lead_id
                    }
            }
            _ => false,
        };
    }
    lead.is_some()
}
