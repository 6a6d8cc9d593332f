//! Collect the inputs of `ctl::appctl`'s formatters from the daemon state.

use std::sync::atomic::Ordering::Relaxed;

use ctl::appctl::{
    BondMemberInfo, BondShowInput, FdbRow, LacpShowInput, MemberName, PmdRxqInput, PmdStatsInput,
    RxqInput,
};
use datapath::time::Millis;
use datapath::wire::MacAddr;

use crate::control::Control;
use crate::device::Device;

fn numa_of(core: usize) -> i32 {
    std::fs::read_dir(format!("/sys/devices/system/cpu/cpu{core}"))
        .ok()
        .and_then(|d| {
            d.flatten().find_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("node"))
                    .and_then(|n| n.parse::<i32>().ok())
            })
        })
        .unwrap_or(0)
}

fn mac_of(c: &Control, iface: &str) -> MacAddr {
    c.ifaces
        .get(iface)
        .and_then(|r| r.device.as_ref().map(Device::mac))
        .unwrap_or(MacAddr::ZERO)
}

/// Inputs for `bond/show`.
pub fn bond_inputs(c: &Control, only: Option<&str>) -> Vec<BondShowInput> {
    c.bonds
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == *n))
        .map(|(name, b)| BondShowInput {
            name: name.clone(),
            members: b
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| BondMemberInfo {
                    id: i as u16,
                    name: m.clone(),
                    mac: mac_of(c, m),
                })
                .collect(),
            status: b.bond.status(),
        })
        .collect()
}

/// Inputs for `lacp/show` and `lacp/show-stats`.
pub fn lacp_inputs(c: &Control, only: Option<&str>) -> Vec<LacpShowInput> {
    c.bonds
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == *n))
        .filter_map(|(name, b)| {
            let l = b.lacp.as_ref()?;
            Some(LacpShowInput {
                name: name.clone(),
                members: b
                    .members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| MemberName {
                        id: i as u16,
                        name: m.clone(),
                    })
                    .collect(),
                status: l.status(),
            })
        })
        .collect()
}

/// Rows of `fdb/show BRIDGE`.
pub fn fdb_rows(c: &Control, bridge: &str, now: Millis) -> Vec<FdbRow> {
    let Some(b) = c.bridges.get(bridge) else {
        return Vec::new();
    };
    let name_of = |no: u16| {
        b.ports
            .iter()
            .find(|(_, (n, _))| *n == no)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| no.to_string())
    };
    b.mac
        .entries(now)
        .into_iter()
        .map(|e| FdbRow {
            port_name: name_of(e.port),
            vlan: e.vlan,
            mac: e.mac,
            age: (!e.is_static).then_some(e.age_secs),
        })
        .collect()
}

/// The counters of a PMD minus its `pmd-stats-clear` baseline.
fn pmd_counts(c: &Control, core: usize) -> [u64; 8] {
    let Some(p) = c.pmds.iter().find(|p| p.core == core) else {
        return [0; 8];
    };
    let s = &p.stats;
    let now = [
        s.packets.load(Relaxed),
        s.busy_cycles.load(Relaxed),
        s.idle_cycles.load(Relaxed),
        s.iterations.load(Relaxed),
        s.tx_batches.load(Relaxed),
        s.tx_batched_packets.load(Relaxed),
        s.learn_skipped.load(Relaxed),
        s.learned.load(Relaxed),
    ];
    let base = c.pmd_baseline.get(&core).copied().unwrap_or([0; 8]);
    core::array::from_fn(|i| now[i].wrapping_sub(base[i]))
}

/// Inputs for `dpif-netdev/pmd-stats-show`.
pub fn pmd_stats(c: &Control, only: Option<u32>) -> Vec<PmdStatsInput> {
    c.pmds
        .iter()
        .filter(|p| only.is_none_or(|o| o as usize == p.core))
        .map(|p| {
            let n = pmd_counts(c, p.core);
            PmdStatsInput {
                numa_id: numa_of(p.core),
                core_id: p.core as u32,
                packets_received: n[0],
                busy_cycles: n[1],
                idle_cycles: n[2],
                tx_batches: n[4],
                tx_batched_packets: n[5],
                learn_skipped: n[6],
                mac_entries_learned: n[7],
            }
        })
        .collect()
}

/// Inputs for `dpif-netdev/pmd-rxq-show`.
pub fn pmd_rxqs(c: &Control, only: Option<u32>) -> Vec<PmdRxqInput> {
    c.pmds
        .iter()
        .filter(|p| only.is_none_or(|o| o as usize == p.core))
        .map(|p| {
            let n = pmd_counts(c, p.core);
            let mut rxqs: Vec<RxqInput> = Vec::new();
            for (name, rt) in &c.ifaces {
                for (core, q, cycles) in &rt.rx_assigned {
                    if *core == p.core {
                        rxqs.push(RxqInput {
                            port: name.clone(),
                            queue_id: *q,
                            enabled: rt.link_up,
                            cycles: cycles.load(Relaxed),
                        });
                    }
                }
            }
            rxqs.sort_by(|a, b| a.port.cmp(&b.port).then(a.queue_id.cmp(&b.queue_id)));
            PmdRxqInput {
                numa_id: numa_of(p.core),
                core_id: p.core as u32,
                isolated: false,
                total_cycles: n[1] + n[2],
                busy_cycles: n[1],
                rxqs,
            }
        })
        .collect()
}
