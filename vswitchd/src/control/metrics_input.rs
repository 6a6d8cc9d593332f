//! What one scrape of the metrics endpoint shows, read from the live
//! state as plain values (`ctl::metrics` renders it on the endpoint's own
//! thread).

use ctl::appctl::PmdStatsInput;
use ctl::metrics::{BridgeMetrics, InterfaceMetrics, MetricsInput};

use super::live::Live;

impl Live<'_> {
    /// The values of every metric now. Interface counters are those of the
    /// `statistics` column; PMD counts are since the thread started
    /// (`pmd-stats-clear` does not reset them).
    pub fn metrics(&self) -> MetricsInput {
        let interfaces = self
            .devices
            .ifaces()
            .map(|(name, rt)| InterfaceMetrics {
                name: name.clone(),
                bridge: self
                    .db
                    .interface(name)
                    .map_or_else(String::new, |(b, _, _)| b.name.clone()),
                counters: rt.counters().totals(),
            })
            .collect();
        let bridges = self
            .bridges
            .names()
            .map(|b| BridgeMetrics {
                name: b.clone(),
                mac_entries: self.bridges.mac_table(b).map_or(0, |t| t.len() as u64),
            })
            .collect();
        let pmds = self
            .devices
            .pmds()
            .iter()
            .map(|p| PmdStatsInput {
                numa_id: super::eal::core_numa(p.core) as i32,
                core_id: p.core as u32,
                counts: p.stats.read(),
            })
            .collect();
        MetricsInput {
            interfaces,
            bridges,
            bonds: self.bond_inputs(None),
            lacp: self.lacp_inputs(None),
            pmds,
        }
    }
}
