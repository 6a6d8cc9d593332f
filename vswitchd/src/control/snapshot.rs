//! Building the datapath snapshot the PMD threads forward against, from the
//! configuration and the run-time state. Reads only.
//!
//! QoS: each PMD thread meters its own share of a rate (no shared state on
//! the hot path), so the snapshot names the threads that share each one.
//! Ingress policing of an interface is shared by the PMDs that poll its
//! receive queues. A port's egress QoS is shared by the PMDs that poll the
//! receive queues of the other interfaces of its bridge (the only ones
//! that can send to it); when they are split unevenly, the port gets less
//! than its rate (never more).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ctl::db::{Bridge, Db};
use datapath::pipeline::{
    BondPort, BridgeView, Counters, IfaceIdx, IfaceView, PortKind, PortView, QosShare, Snapshot,
};
use datapath::vlan::PortVlan;

use super::bonds::Bonds;
use super::bridges::Bridges;
use super::devices::Devices;
use crate::pmd_thread::PmdSnapshot;

/// A port number with no port behind it: it carries no VLAN and has no
/// interface, so nothing is ever sent to it.
fn placeholder_port() -> PortView {
    PortView {
        name: "".into(),
        vlan: PortVlan::access(4095),
        kind: PortKind::Single(IfaceIdx::MAX),
        counters: Counters::new(1),
        egress_qos: None,
    }
}

/// Port-level counters by port name, kept while the port exists.
pub type PortCounters = HashMap<String, Arc<Counters>>;

/// The PMD threads polling a receive queue of interface `name`.
fn rx_pmds(devices: &Devices, name: &str) -> BTreeSet<usize> {
    devices.iface(name).map_or_else(BTreeSet::new, |rt| {
        rt.rx_assigned().map(|(core, _, _)| core).collect()
    })
}

/// The PMD threads that can send to port `port` of `br`: those polling the
/// bridge's other interfaces.
fn tx_pmds(devices: &Devices, br: &Bridge, port: &str) -> Vec<usize> {
    let pmds: BTreeSet<usize> = br
        .ports
        .iter()
        .filter(|p| p.name != port)
        .flat_map(|p| &p.interfaces)
        .flat_map(|i| rx_pmds(devices, &i.name))
        .collect();
    pmds.into_iter().collect()
}

/// The snapshot of generation `generation`.
pub fn build(
    generation: u64,
    db: &Db,
    bridges: &Bridges,
    bonds: &Bonds,
    devices: &Devices,
    port_counters: &mut PortCounters,
) -> PmdSnapshot {
    let slots = devices.slots();
    let mut ifaces: Vec<IfaceView> = Vec::new();
    let mut idx_of: HashMap<u32, IfaceIdx> = HashMap::new();
    let mut uid_of: Vec<u32> = Vec::new();
    let mut views = Vec::new();
    port_counters.retain(|name, _| db.port(name).is_some());
    for (bi, br) in db.bridges.iter().enumerate() {
        let Some(mac) = bridges.mac_table(&br.name) else {
            continue;
        };
        let mut ports: Vec<PortView> = (0..bridges.port_count(&br.name))
            .map(|_| placeholder_port())
            .collect();
        for port in &br.ports {
            let Some((no, vlan)) = bridges.port(&br.name, &port.name) else {
                continue;
            };
            let bond = bonds.get(&port.name);
            let view = bond.map(|b| b.bond().view());
            // (interface name, its index in the snapshot)
            let mut members: Vec<(&str, IfaceIdx)> = Vec::new();
            for iface in &port.interfaces {
                let Some(rt) = devices.iface(&iface.name) else {
                    continue;
                };
                // A bond member's position in the bond's view.
                let member = match (bond, &view) {
                    (Some(b), Some(v)) => b
                        .members()
                        .find(|(_, n)| *n == iface.name)
                        .and_then(|(id, _)| v.members.iter().position(|m| *m == id))
                        .unwrap_or(0),
                    _ => 0,
                };
                let idx = ifaces.len() as IfaceIdx;
                ifaces.push(IfaceView {
                    name: iface.name.as_str().into(),
                    bridge: bi as u16,
                    port: no,
                    member: member as u8,
                    admin_up: iface.admin_up(),
                    link_up: rt.link_up() && rt.device().is_some(),
                    max_frame_len: u32::from(rt.spec().mtu()) + 18,
                    lacp: bond.is_some_and(|b| b.lacp().is_some()),
                    counters: rt.counters().clone(),
                    policing: iface.ingress_policing().map(|settings| {
                        Arc::new(QosShare {
                            settings,
                            pmds: rx_pmds(devices, &iface.name).into_iter().collect(),
                        })
                    }),
                });
                idx_of.insert(rt.uid(), idx);
                uid_of.push(rt.uid());
                members.push((iface.name.as_str(), idx));
            }
            let kind = match (bond, view) {
                (Some(b), Some(view)) => {
                    let map = view
                        .members
                        .iter()
                        .map(|id| {
                            b.member_name(*id)
                                .and_then(|n| members.iter().find(|(m, _)| *m == n))
                                .map_or(IfaceIdx::MAX, |(_, i)| *i)
                        })
                        .collect();
                    PortKind::Bond(Box::new(BondPort {
                        view,
                        ifaces: map,
                        loads: b.loads().clone(),
                    }))
                }
                _ => match members.first() {
                    Some((_, i)) => PortKind::Single(*i),
                    None => continue,
                },
            };
            let counters = port_counters
                .entry(port.name.clone())
                .or_insert_with(|| Counters::new(slots))
                .clone();
            ports[usize::from(no)] = PortView {
                name: port.name.as_str().into(),
                vlan: vlan.clone(),
                kind,
                counters,
                egress_qos: db.port_egress_qos(port).map(|settings| {
                    Arc::new(QosShare {
                        settings,
                        pmds: tx_pmds(devices, br, &port.name),
                    })
                }),
            };
        }
        views.push(BridgeView {
            name: br.name.as_str().into(),
            mac: mac.clone(),
            ports,
        });
    }
    PmdSnapshot {
        snap: Snapshot {
            generation,
            bridges: views,
            ifaces,
        },
        idx_of,
        uid_of,
    }
}
