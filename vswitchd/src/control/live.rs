//! The read-only view of the daemon's live state that vsctl sees: the
//! read-only columns (`statistics`, `link_state`, `error`, ...) and the
//! inputs of the runtime commands' formatters (`ctl::appctl`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use ctl::appctl::{
    BondMemberInfo, BondShowInput, EventsInput, FdbRow, LacpShowInput, MemberName, PmdRxqInput,
    PmdStatsInput, RxqInput,
};
use ctl::db::Db;
use ctl::env::{GlobalRuntime, InterfaceRuntime, PortRuntime};
use datapath::bond::BondRecord;
use datapath::counters::{Counter, PmdCounter, PmdCounts};
use datapath::history::History;
use datapath::lacp::LacpRecord;
use datapath::time::Millis;
use datapath::wire::MacAddr;

use super::bond_rt::BondRt;
use super::bonds::Bonds;
use super::bridges::Bridges;
use super::devices::Devices;
use super::eal::core_numa;
use super::ethdev_columns::eth_columns;
use crate::device::{DevSpec, Device};

/// Counts of each PMD at its last `pmd-stats-clear`, by core.
pub type PmdBaselines = BTreeMap<usize, PmdCounts>;

/// Everything vsctl may read, borrowed.
pub struct Live<'a> {
    /// The configuration.
    pub db: &'a Db,
    /// Devices and PMD threads.
    pub devices: &'a Devices,
    /// Bridges and their MAC tables.
    pub bridges: &'a Bridges,
    /// Bond and LACP machines.
    pub bonds: &'a Bonds,
    /// `pmd-stats-clear` baselines.
    pub baselines: &'a PmdBaselines,
    /// The wall clock (Unix ms) at monotonic time 0.
    pub wall_epoch_ms: u64,
}

fn events_input<T: Copy>(name: &str, b: &BondRt, h: &History<T>) -> EventsInput<T> {
    EventsInput {
        name: name.to_string(),
        members: member_names(b),
        recorded: h.total(),
        events: h.iter().copied().collect(),
    }
}

fn member_names(b: &BondRt) -> Vec<MemberName> {
    b.members()
        .map(|(id, m)| MemberName {
            id,
            name: m.to_string(),
        })
        .collect()
}

/// Why a vhost-user port that is not connected refused its last peer, or
/// why its connected peer's device cannot come up.
fn refusal(d: Option<&Device>) -> Option<String> {
    match d {
        Some(Device::Vhost { client, .. }) if !client.is_connected() => {
            let st = client.status();
            crate::device::vhost_server::problem(&st)
                .or_else(|| st.last_refusal.map(|r| format!("refused connection: {r}")))
        }
        _ => None,
    }
}

impl Live<'_> {
    fn mac_of(&self, iface: &str) -> MacAddr {
        self.devices.mac(iface).unwrap_or(MacAddr::ZERO)
    }

    /// The read-only columns of interface `name`.
    pub fn interface(&self, name: &str) -> InterfaceRuntime {
        let Some(rt) = self.devices.iface(name) else {
            return InterfaceRuntime::default();
        };
        let found = self.db.interface(name);
        let admin = found.map(|(_, _, i)| i.admin_up()).unwrap_or(true);
        let mut stats = BTreeMap::new();
        let t = rt.counters().totals();
        let (mut rx_dropped, mut tx_dropped) = (0i64, 0i64);
        for k in Counter::ALL {
            let v = t[*k as usize] as i64;
            let n = k.name();
            if n.starts_with("rx_dropped_") {
                rx_dropped += v;
            } else if n.starts_with("tx_dropped_") {
                tx_dropped += v;
            }
            stats.insert(n.to_string(), v);
        }
        stats.insert("rx_dropped".into(), rx_dropped);
        stats.insert("tx_dropped".into(), tx_dropped);
        if rt.removals() > 0 || matches!(rt.spec(), DevSpec::Eth { .. }) {
            stats.insert("device_removals".into(), rt.removals() as i64);
        }
        let mut status = BTreeMap::new();
        if let Some(d) = rt.device() {
            status.insert("driver_name".into(), d.driver());
            match d {
                Device::Eth { dev, .. } => {
                    if let Ok(s) = dev.stats() {
                        stats.insert("rx_missed_errors".into(), s.imissed as i64);
                        stats.insert("rx_errors".into(), s.ierrors as i64);
                        stats.insert("tx_errors".into(), s.oerrors as i64);
                    }
                    eth_columns(dev, &mut stats, &mut status);
                }
                Device::Vhost { client, .. } => {
                    let st = client.status();
                    stats.insert(
                        "vhost_refused_connections".into(),
                        st.refused_connections as i64,
                    );
                    // As OVS: `mode`; a server's socket under `socket`
                    // (OVS shows it only while connected; rvswitch
                    // always), a client's under its option's name.
                    if st.server {
                        status.insert("socket".into(), st.path.clone());
                        status.insert("mode".into(), "server".into());
                    } else {
                        status.insert("vhost-server-path".into(), st.path.clone());
                        status.insert("mode".into(), "client".into());
                    }
                    status.insert(
                        "status".into(),
                        if st.connected {
                            "connected"
                        } else {
                            "disconnected"
                        }
                        .into(),
                    );
                    status.insert("n_queues".into(), st.n_queues.to_string());
                    status.insert("connected".into(), st.connected.to_string());
                    if let Ok(iommu) = client.offers_iommu() {
                        status.insert("iommu_platform".into(), iommu.to_string());
                    }
                }
            }
            // Queues in use (they can be fewer than configured: a memif
            // peer's), and what only this kind of device knows.
            for (k, v) in d.status() {
                status.insert(k, v);
            }
        }
        let ofport = found.and_then(|(b, p, _)| {
            self.bridges
                .port(&b.name, &p.name)
                .map(|(no, _)| i64::from(no) + 1)
        });
        InterfaceRuntime {
            link_state: Some(if rt.link_up() && admin { "up" } else { "down" }.into()),
            admin_state: Some(if admin { "up" } else { "down" }.into()),
            mtu: rt.device().map(|_| i64::from(rt.spec().mtu())),
            error: rt
                .error()
                .map(str::to_string)
                .or_else(|| refusal(rt.device())),
            statistics: stats,
            ofport: Some(ofport.unwrap_or(-1)),
            mac_in_use: rt.device().map(|d| d.mac().to_string()),
            status,
        }
    }

    /// The read-only columns of port `name`.
    pub fn port(&self, name: &str) -> PortRuntime {
        let mut r = PortRuntime::default();
        if let Some(b) = self.bonds.get(name) {
            r.bond_active_slave = b
                .bond()
                .view()
                .active_member()
                .and_then(|m| b.member_name(m))
                .and_then(|iface| self.devices.mac(iface))
                .map(|m| m.to_string());
        }
        r
    }

    /// The read-only columns of the `Open_vSwitch` record.
    pub fn global(&self) -> GlobalRuntime {
        GlobalRuntime {
            dpdk_initialized: self.devices.dpdk_ready(),
            dpdk_version: Some("DPDK 22.11".into()),
        }
    }

    /// Inputs for `bond/show`.
    pub fn bond_inputs(&self, only: Option<&str>) -> Vec<BondShowInput> {
        self.bonds
            .iter()
            .filter(|(n, _)| only.is_none_or(|o| o == *n))
            .map(|(name, b)| BondShowInput {
                name: name.clone(),
                members: b
                    .members()
                    .map(|(id, m)| BondMemberInfo {
                        id,
                        name: m.to_string(),
                        mac: self.mac_of(m),
                    })
                    .collect(),
                status: b.bond().status(),
            })
            .collect()
    }

    /// Inputs for `lacp/show` and `lacp/show-stats`.
    pub fn lacp_inputs(&self, only: Option<&str>) -> Vec<LacpShowInput> {
        self.bonds
            .iter()
            .filter(|(n, _)| only.is_none_or(|o| o == *n))
            .filter_map(|(name, b)| {
                Some(LacpShowInput {
                    name: name.clone(),
                    members: member_names(b),
                    status: b.lacp()?.status(),
                })
            })
            .collect()
    }

    /// Inputs for `bond/events`.
    pub fn bond_events(&self, only: Option<&str>) -> Vec<EventsInput<BondRecord>> {
        self.bonds
            .iter()
            .filter(|(n, _)| only.is_none_or(|o| o == *n))
            .map(|(name, b)| events_input(name, b, b.bond().history()))
            .collect()
    }

    /// Inputs for `lacp/events` (bonds running LACP).
    pub fn lacp_events(&self, only: Option<&str>) -> Vec<EventsInput<LacpRecord>> {
        self.bonds
            .iter()
            .filter(|(n, _)| only.is_none_or(|o| o == *n))
            .filter_map(|(name, b)| Some(events_input(name, b, b.lacp()?.history())))
            .collect()
    }

    /// Rows of `fdb/show BRIDGE`.
    pub fn fdb_rows(&self, bridge: &str, now: Millis) -> Vec<FdbRow> {
        let Some(mac) = self.bridges.mac_table(bridge) else {
            return Vec::new();
        };
        mac.entries(now)
            .into_iter()
            .map(|e| FdbRow {
                port_name: self
                    .bridges
                    .port_name(bridge, e.port)
                    .map_or_else(|| e.port.to_string(), str::to_string),
                vlan: e.vlan,
                mac: e.mac,
                age: (!e.is_static).then_some(e.age_secs),
            })
            .collect()
    }

    /// The counts of the PMD on `core` since its `pmd-stats-clear`.
    pub fn pmd_counts(&self, core: usize) -> PmdCounts {
        let Some(p) = self.devices.pmds().iter().find(|p| p.core == core) else {
            return PmdCounts::default();
        };
        let base = self.baselines.get(&core).copied().unwrap_or_default();
        p.stats.read().since(&base)
    }

    /// Inputs for `dpif-netdev/pmd-stats-show`.
    pub fn pmd_stats(&self, only: Option<u32>) -> Vec<PmdStatsInput> {
        self.devices
            .pmds()
            .iter()
            .filter(|p| only.is_none_or(|o| o as usize == p.core))
            .map(|p| PmdStatsInput {
                numa_id: core_numa(p.core) as i32,
                core_id: p.core as u32,
                counts: self.pmd_counts(p.core),
            })
            .collect()
    }

    /// Inputs for `dpif-netdev/pmd-rxq-show`.
    pub fn pmd_rxqs(&self, only: Option<u32>) -> Vec<PmdRxqInput> {
        self.devices
            .pmds()
            .iter()
            .filter(|p| only.is_none_or(|o| o as usize == p.core))
            .map(|p| {
                let n = self.pmd_counts(p.core);
                let mut rxqs: Vec<RxqInput> = Vec::new();
                for (name, rt) in self.devices.ifaces() {
                    for (core, q, cycles) in rt.rx_assigned() {
                        if core == p.core {
                            rxqs.push(RxqInput {
                                port: name.clone(),
                                queue_id: q,
                                enabled: rt.link_up(),
                                cycles: cycles.load(Relaxed),
                            });
                        }
                    }
                }
                rxqs.sort_by(|a, b| a.port.cmp(&b.port).then(a.queue_id.cmp(&b.queue_id)));
                let busy = n[PmdCounter::BusyCycles];
                PmdRxqInput {
                    numa_id: core_numa(p.core) as i32,
                    core_id: p.core as u32,
                    isolated: self.devices.pmd_isolated(p.core),
                    total_cycles: busy + n[PmdCounter::IdleCycles],
                    busy_cycles: busy,
                    rxqs,
                }
            })
            .collect()
    }

    /// `memory/show`: what the daemon holds, as `key: value` pairs.
    pub fn memory(&self) -> Vec<(String, u64)> {
        let mut v = self.devices.pool_report();
        v.push(("bridges".into(), self.bridges.names().count() as u64));
        v.push(("interfaces".into(), self.devices.ifaces().count() as u64));
        v.push(("bonds".into(), self.bonds.iter().count() as u64));
        v.push(("mac entries".into(), self.bridges.mac_entries() as u64));
        let rss_kb = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        v.push(("rss kB".into(), rss_kb));
        v
    }
}
