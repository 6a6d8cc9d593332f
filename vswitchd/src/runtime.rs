//! Live state for vsctl: the read-only columns (`statistics`,
//! `link_state`, `error`, ...) and the runtime commands OVS puts in
//! ovs-appctl (`bond/show`, `lacp/show`, `fdb/*`, `dpif-netdev/pmd-*`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use ctl::env::{GlobalRuntime, InterfaceRuntime, PortRuntime};
use ctl::runtime::{RuntimeCommand, RuntimeHandler, RuntimeOutput};
use datapath::counters::Counter;
use serde_json::json;

use crate::control::Control;
use crate::device::Device;

/// Read-only view for the executor.
pub struct Live<'a>(pub &'a Control);

impl ctl::Runtime for Live<'_> {
    fn interface(&self, name: &str) -> InterfaceRuntime {
        let c = self.0;
        let Some(rt) = c.ifaces.get(name) else {
            return InterfaceRuntime::default();
        };
        let admin =
            c.db.interface(name)
                .map(|(_, _, i)| i.admin_up())
                .unwrap_or(true);
        let mut stats = BTreeMap::new();
        let t = rt.counters.totals();
        let get = |k: Counter| t[k as usize] as i64;
        let mut rx_dropped = 0i64;
        let mut tx_dropped = 0i64;
        for k in Counter::ALL {
            let v = get(*k);
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
        let mut status = BTreeMap::new();
        if let Some(d) = &rt.device {
            status.insert("driver_name".into(), d.driver());
            if let Device::Eth { dev, .. } = d {
                if let Ok(s) = dev.stats() {
                    stats.insert("rx_missed_errors".into(), s.imissed as i64);
                    stats.insert("rx_errors".into(), s.ierrors as i64);
                    stats.insert("tx_errors".into(), s.oerrors as i64);
                }
                status.insert("port_no".into(), dev.port().to_string());
            }
            if let Device::Vhost { client, .. } = d {
                let st = client.status();
                status.insert("vhost-server-path".into(), st.path.clone());
                status.insert("mode".into(), "client".into());
                status.insert("n_queues".into(), st.n_queues.to_string());
                status.insert("connected".into(), st.connected.to_string());
            }
        }
        let ofport = c.db.interface(name).and_then(|(b, p, _)| {
            c.bridges
                .get(&b.name)
                .and_then(|br| br.ports.get(&p.name))
                .map(|(no, _)| i64::from(*no) + 1)
        });
        InterfaceRuntime {
            link_state: Some(if rt.link_up && admin { "up" } else { "down" }.into()),
            admin_state: Some(if admin { "up" } else { "down" }.into()),
            mtu: rt.device.as_ref().map(|_| i64::from(rt.spec.mtu())),
            error: rt.error.clone(),
            statistics: stats,
            ofport: Some(ofport.unwrap_or(-1)),
            mac_in_use: rt.device.as_ref().map(|d| d.mac().to_string()),
            status,
        }
    }

    fn port(&self, name: &str) -> PortRuntime {
        let mut r = PortRuntime::default();
        if let Some(b) = self.0.bonds.get(name) {
            r.bond_active_slave = b
                .bond
                .view()
                .active_member()
                .and_then(|m| b.members.get(m as usize))
                .and_then(|iface| {
                    self.0
                        .ifaces
                        .get(iface)
                        .and_then(|rt| rt.device.as_ref().map(|d| d.mac().to_string()))
                });
        }
        r
    }

    fn global(&self) -> GlobalRuntime {
        GlobalRuntime {
            dpdk_initialized: self.0.dpdk_ready(),
            dpdk_version: Some("DPDK 22.11".into()),
        }
    }
}

/// The runtime-command handler.
pub struct Commands<'a>(pub &'a mut Control);

fn text(t: String, j: serde_json::Value) -> RuntimeOutput {
    RuntimeOutput {
        text: t,
        json: Some(j),
    }
}

impl RuntimeHandler for Commands<'_> {
    fn run(&mut self, cmd: &RuntimeCommand, _json: bool) -> Result<RuntimeOutput, String> {
        let c = &mut *self.0;
        let now = c.clock.now();
        match cmd {
            RuntimeCommand::BondShow { bond } => {
                let inputs = crate::appctl_glue::bond_inputs(c, bond.as_deref());
                Ok(ctl::appctl::bond_show(&inputs))
            }
            RuntimeCommand::LacpShow { bond } | RuntimeCommand::LacpShowStats { bond } => {
                let stats = matches!(cmd, RuntimeCommand::LacpShowStats { .. });
                let inputs = crate::appctl_glue::lacp_inputs(c, bond.as_deref());
                Ok(if stats {
                    ctl::appctl::lacp_show_stats(&inputs)
                } else {
                    ctl::appctl::lacp_show(&inputs)
                })
            }
            RuntimeCommand::FdbShow { bridge } => {
                let rows = crate::appctl_glue::fdb_rows(c, bridge, now);
                Ok(ctl::appctl::fdb_show(&rows))
            }
            RuntimeCommand::FdbFlush { bridge } => {
                let mut n = 0;
                for (name, b) in c.bridges.iter() {
                    if bridge.as_ref().is_none_or(|x| x == name) {
                        n += b.mac.flush_all();
                    }
                }
                Ok(text(
                    "table successfully flushed\n".into(),
                    json!({ "flushed": n }),
                ))
            }
            RuntimeCommand::FdbAdd {
                bridge,
                port,
                vlan,
                mac,
            } => {
                let b = c
                    .bridges
                    .get(bridge)
                    .ok_or_else(|| format!("no bridge named {bridge}"))?;
                let (no, _) = b
                    .ports
                    .get(port)
                    .ok_or_else(|| format!("no port named {port} on {bridge}"))?;
                b.mac
                    .add_static(*vlan, *mac, *no)
                    .map_err(|e| e.to_string())?;
                Ok(text(String::new(), json!({})))
            }
            RuntimeCommand::FdbDel { bridge, vlan, mac } => {
                let b = c
                    .bridges
                    .get(bridge)
                    .ok_or_else(|| format!("no bridge named {bridge}"))?;
                if b.mac.remove_static(*vlan, *mac) {
                    Ok(text(String::new(), json!({})))
                } else {
                    Err(format!(
                        "no static entry for {mac} on VLAN {vlan} in {bridge}"
                    ))
                }
            }
            RuntimeCommand::PmdStatsShow { pmd } => {
                let inputs = crate::appctl_glue::pmd_stats(c, *pmd);
                Ok(ctl::appctl::pmd_stats_show(&inputs))
            }
            RuntimeCommand::PmdStatsClear { pmd } => {
                for p in c
                    .pmds
                    .iter()
                    .filter(|p| pmd.is_none_or(|x| x as usize == p.core))
                {
                    let s = &p.stats;
                    c.pmd_baseline.insert(
                        p.core,
                        [
                            s.packets.load(Relaxed),
                            s.busy_cycles.load(Relaxed),
                            s.idle_cycles.load(Relaxed),
                            s.iterations.load(Relaxed),
                            s.tx_batches.load(Relaxed),
                            s.tx_batched_packets.load(Relaxed),
                            s.learn_skipped.load(Relaxed),
                            s.learned.load(Relaxed),
                        ],
                    );
                }
                Ok(text(String::new(), json!({})))
            }
            RuntimeCommand::MemoryShow => {
                let rows = c.memory_report();
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
                let inputs = crate::appctl_glue::pmd_rxqs(c, *pmd);
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
}
