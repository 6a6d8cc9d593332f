//! The runtime commands OVS puts in ovs-appctl (`bond/show`, `bond/hash`, `lacp/show`,
//! `fdb/*`, `dpif-netdev/pmd-*`, `memory/show`) and rvswitch's
//! `bond/events`, `lacp/events`, carried out against the
//! read-only [`Live`] view; `ctl::appctl` formats the answers.

use ctl::runtime::{RuntimeCommand, RuntimeOutput};
use datapath::counters::PmdCounts;
use datapath::time::Millis;
use serde_json::json;

use super::live::Live;

fn empty() -> RuntimeOutput {
    RuntimeOutput {
        text: String::new(),
        json: Some(json!({})),
    }
}

/// The counts to remember as the new `pmd-stats-clear` baselines: every
/// PMD's (or only core `pmd`'s) current counts, by core.
pub fn pmd_stats_clear(live: &Live<'_>, pmd: Option<u32>) -> Vec<(usize, PmdCounts)> {
    live.devices
        .pmds()
        .iter()
        .filter(|p| pmd.is_none_or(|x| x as usize == p.core))
        .map(|p| (p.core, p.stats.read()))
        .collect()
}

/// Carry out `cmd` (anything but `pmd-stats-clear`, which changes the
/// daemon's baselines: see [`pmd_stats_clear`], the bond member
/// commands, which change a bond: `Bonds::member_command`, and
/// `pmd-rxq-rebalance`, which moves queues: `Devices::rebalance_rxqs`).
pub fn run(live: &Live<'_>, cmd: &RuntimeCommand, now: Millis) -> Result<RuntimeOutput, String> {
    match cmd {
        RuntimeCommand::BondShow { bond } => {
            Ok(ctl::appctl::bond_show(&live.bond_inputs(bond.as_deref())))
        }
        RuntimeCommand::BondHash { mac, vlan, basis } => {
            Ok(ctl::appctl::bond_hash(*mac, *vlan, *basis))
        }
        RuntimeCommand::BondMember { .. } => {
            Err("bond member commands change the bond; the control thread runs them".into())
        }
        RuntimeCommand::BondEvents { bond } => Ok(ctl::appctl::bond_events(
            live.wall_epoch_ms,
            &live.bond_events(bond.as_deref()),
        )),
        RuntimeCommand::LacpEvents { bond } => Ok(ctl::appctl::lacp_events(
            live.wall_epoch_ms,
            &live.lacp_events(bond.as_deref()),
        )),
        RuntimeCommand::PmdRxqRebalance => {
            Err("pmd-rxq-rebalance moves receive queues; the control thread runs it".into())
        }
        RuntimeCommand::LacpShow { bond } => {
            Ok(ctl::appctl::lacp_show(&live.lacp_inputs(bond.as_deref())))
        }
        RuntimeCommand::LacpShowStats { bond } => Ok(ctl::appctl::lacp_show_stats(
            &live.lacp_inputs(bond.as_deref()),
        )),
        RuntimeCommand::FdbShow { bridge } => {
            Ok(ctl::appctl::fdb_show(&live.fdb_rows(bridge, now)))
        }
        RuntimeCommand::FdbFlush { bridge } => {
            let mut n = 0;
            for name in live.bridges.names() {
                if bridge.as_ref().is_none_or(|x| x == name) {
                    if let Some(mac) = live.bridges.mac_table(name) {
                        n += mac.flush_all();
                    }
                }
            }
            Ok(RuntimeOutput {
                text: "table successfully flushed\n".into(),
                json: Some(json!({ "flushed": n })),
            })
        }
        RuntimeCommand::FdbAdd {
            bridge,
            port,
            vlan,
            mac,
        } => {
            let table = live
                .bridges
                .mac_table(bridge)
                .ok_or_else(|| format!("no bridge named {bridge}"))?;
            let (no, _) = live
                .bridges
                .port(bridge, port)
                .ok_or_else(|| format!("no port named {port} on {bridge}"))?;
            table
                .add_static(*vlan, *mac, no)
                .map_err(|e| e.to_string())?;
            Ok(empty())
        }
        RuntimeCommand::FdbDel { bridge, vlan, mac } => {
            let table = live
                .bridges
                .mac_table(bridge)
                .ok_or_else(|| format!("no bridge named {bridge}"))?;
            if table.remove_static(*vlan, *mac) {
                Ok(empty())
            } else {
                Err(format!(
                    "no static entry for {mac} on VLAN {vlan} in {bridge}"
                ))
            }
        }
        RuntimeCommand::PmdStatsShow { pmd } => {
            Ok(ctl::appctl::pmd_stats_show(&live.pmd_stats(*pmd)))
        }
        RuntimeCommand::PmdStatsClear { .. } => Ok(empty()),
        RuntimeCommand::MemoryShow => {
            let rows = live.memory();
            let text: String = rows.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
            let obj: serde_json::Map<String, serde_json::Value> = rows
                .into_iter()
                .map(|(k, v)| (k.replace(' ', "_"), json!(v)))
                .collect();
            Ok(RuntimeOutput {
                text,
                json: Some(serde_json::Value::Object(obj)),
            })
        }
        RuntimeCommand::PmdRxqShow { pmd } => {
            let inputs = live.pmd_rxqs(*pmd);
            let hz = dpdk::eal::tsc_hz().max(1);
            let window = inputs
                .iter()
                .map(|p| p.total_cycles / hz)
                .max()
                .unwrap_or(0);
            Ok(ctl::appctl::pmd_rxq_show(window as u32, &inputs))
        }
    }
}
