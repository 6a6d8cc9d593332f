//! `dpif-netdev/pmd-stats-show` and `dpif-netdev/pmd-rxq-show`, laid out as
//! OVS 3.1's `pmd_info_show_stats` and `pmd_info_show_rxq`
//! (`lib/dpif-netdev.c`). PMD threads are listed by core id, as OVS sorts
//! them; receive queues by (port name, queue id).

use core::fmt::Write as _;

use serde::{Deserialize, Serialize};

use datapath::counters::{PmdCounter as C, PmdCounts};

use super::{output, ratio, yes_no};
use crate::runtime::RuntimeOutput;

/// One PMD thread's numbers for `pmd-stats-show`. Counters are totals since
/// the last `pmd-stats-clear`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PmdStatsInput {
    /// NUMA node of the core.
    pub numa_id: i32,
    /// The core the thread is pinned to.
    pub core_id: u32,
    /// The thread's counters.
    pub counts: PmdCounts,
}

/// JSON form of `pmd-stats-show`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PmdStatsJson {
    /// One entry per PMD thread, by core id.
    pub pmds: Vec<PmdStatsEntryJson>,
}

/// One PMD thread in [`PmdStatsJson`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PmdStatsEntryJson {
    /// NUMA node.
    pub numa_id: i32,
    /// Core.
    pub core_id: u32,
    /// `packets received`.
    pub packets_received: u64,
    /// `packet recirculations` (always 0).
    pub packet_recirculations: u64,
    /// `avg. datapath passes per packet` (1.0, or 0.0 with no packets).
    pub avg_datapath_passes_per_packet: f64,
    /// `mac entries learned`.
    pub mac_entries_learned: u64,
    /// `mac learn batches skipped`.
    pub mac_learn_batches_skipped: u64,
    /// Output batches transmitted.
    pub tx_batches: u64,
    /// Packets in those batches.
    pub tx_batched_packets: u64,
    /// `avg. packets per output batch`.
    pub avg_packets_per_output_batch: f64,
    /// `idle cycles`.
    pub idle_cycles: u64,
    /// Their share of all cycles, in percent.
    pub idle_cycles_pct: f64,
    /// `processing cycles`.
    pub processing_cycles: u64,
    /// Their share of all cycles, in percent.
    pub processing_cycles_pct: f64,
    /// `avg cycles per packet`: (idle + processing) / packets.
    pub avg_cycles_per_packet: f64,
    /// `avg processing cycles per packet`: processing / packets.
    pub avg_processing_cycles_per_packet: f64,
}

fn pmd_header(s: &mut String, numa_id: i32, core_id: u32) {
    let _ = writeln!(s, "pmd thread numa_id {numa_id} core_id {core_id}:");
}

/// `dpif-netdev/pmd-stats-show`: every PMD in `pmds` (the daemon applies
/// `-pmd CORE`), by core id.
///
/// ```text
/// pmd thread numa_id 0 core_id 1:
///   packets received: 1000
///   packet recirculations: 0
///   avg. datapath passes per packet: 1.00
///   mac entries learned: 4
///   mac learn batches skipped: 0
///   avg. packets per output batch: 31.25
///   idle cycles: 600 (60.00%)
///   processing cycles: 400 (40.00%)
///   avg cycles per packet: 1.00 (1000/1000)
///   avg processing cycles per packet: 0.40 (400/1000)
/// ```
///
/// As in OVS, the two cycle lines are left out while no cycles were
/// counted, and the two per-packet lines while no packet was received.
pub fn pmd_stats_show(pmds: &[PmdStatsInput]) -> RuntimeOutput {
    let mut sorted: Vec<&PmdStatsInput> = pmds.iter().collect();
    sorted.sort_by_key(|p| p.core_id);
    let mut s = String::new();
    let mut json = PmdStatsJson { pmds: Vec::new() };
    for p in sorted {
        let n = &p.counts;
        let packets = n[C::Packets];
        let (idle, busy) = (n[C::IdleCycles], n[C::BusyCycles]);
        let total_cycles = idle.saturating_add(busy);
        let e = PmdStatsEntryJson {
            numa_id: p.numa_id,
            core_id: p.core_id,
            packets_received: packets,
            packet_recirculations: 0,
            avg_datapath_passes_per_packet: ratio(packets, packets),
            mac_entries_learned: n[C::Learned],
            mac_learn_batches_skipped: n[C::LearnSkipped],
            tx_batches: n[C::TxBatches],
            tx_batched_packets: n[C::TxBatchedPackets],
            avg_packets_per_output_batch: ratio(n[C::TxBatchedPackets], n[C::TxBatches]),
            idle_cycles: idle,
            idle_cycles_pct: ratio(idle, total_cycles) * 100.0,
            processing_cycles: busy,
            processing_cycles_pct: ratio(busy, total_cycles) * 100.0,
            avg_cycles_per_packet: ratio(total_cycles, packets),
            avg_processing_cycles_per_packet: ratio(busy, packets),
        };

        pmd_header(&mut s, p.numa_id, p.core_id);
        let _ = writeln!(s, "  packets received: {packets}");
        let _ = writeln!(s, "  packet recirculations: {}", e.packet_recirculations);
        let _ = writeln!(
            s,
            "  avg. datapath passes per packet: {:.2}",
            e.avg_datapath_passes_per_packet
        );
        let _ = writeln!(s, "  mac entries learned: {}", e.mac_entries_learned);
        let _ = writeln!(
            s,
            "  mac learn batches skipped: {}",
            e.mac_learn_batches_skipped
        );
        let _ = writeln!(
            s,
            "  avg. packets per output batch: {:.2}",
            e.avg_packets_per_output_batch
        );
        if total_cycles > 0 {
            let _ = writeln!(s, "  idle cycles: {} ({:.2}%)", idle, e.idle_cycles_pct);
            let _ = writeln!(
                s,
                "  processing cycles: {} ({:.2}%)",
                busy, e.processing_cycles_pct
            );
            if packets > 0 {
                let _ = writeln!(
                    s,
                    "  avg cycles per packet: {:.2} ({total_cycles}/{packets})",
                    e.avg_cycles_per_packet
                );
                let _ = writeln!(
                    s,
                    "  avg processing cycles per packet: {:.2} ({}/{packets})",
                    e.avg_processing_cycles_per_packet, busy
                );
            }
        }
        json.pmds.push(e);
    }
    output(s, &json)
}

/// One receive queue a PMD polls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RxqInput {
    /// The interface name.
    pub port: String,
    /// The queue number.
    pub queue_id: u16,
    /// The queue is enabled (vhost-user: the guest enabled it).
    pub enabled: bool,
    /// Cycles spent processing this queue within the window.
    pub cycles: u64,
}

/// One PMD thread for `pmd-rxq-show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PmdRxqInput {
    /// NUMA node of the core.
    pub numa_id: i32,
    /// The core the thread is pinned to.
    pub core_id: u32,
    /// Only explicitly assigned queues run here (`pmd-rxq-isolate`).
    pub isolated: bool,
    /// Every cycle of the thread within the window; 0 when not measured
    /// yet (usage then prints `NOT AVAIL`).
    pub total_cycles: u64,
    /// Cycles of iterations that received packets within the window
    /// (clamped to `total_cycles`).
    pub busy_cycles: u64,
    /// The queues it polls.
    pub rxqs: Vec<RxqInput>,
}

/// JSON form of `pmd-rxq-show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmdRxqJson {
    /// The measurement window in seconds.
    pub window_secs: u32,
    /// One entry per PMD thread, by core id.
    pub pmds: Vec<PmdRxqEntryJson>,
}

/// One PMD thread in [`PmdRxqJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmdRxqEntryJson {
    /// NUMA node.
    pub numa_id: i32,
    /// Core.
    pub core_id: u32,
    /// `isolated`.
    pub isolated: bool,
    /// Its queues, by (port, queue id).
    pub rxqs: Vec<RxqJson>,
    /// `overhead` in percent (busy cycles spent outside any queue);
    /// `null` when not available.
    pub overhead_pct: Option<u64>,
}

/// One queue in [`PmdRxqEntryJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxqJson {
    /// Interface name.
    pub port: String,
    /// Queue number.
    pub queue_id: u16,
    /// Enabled.
    pub enabled: bool,
    /// Processing cycles within the window.
    pub cycles: u64,
    /// `pmd usage` in percent of the thread's cycles; `null` when not
    /// available.
    pub pmd_usage_pct: Option<u64>,
}

/// `part * 100 / total` rounded down, as OVS computes it (without
/// overflow); `None` when `total` is zero.
fn pct(part: u64, total: u64) -> Option<u64> {
    if total == 0 {
        return None;
    }
    let p = u128::from(part) * 100 / u128::from(total);
    Some(u64::try_from(p).unwrap_or(u64::MAX))
}

fn write_pct(s: &mut String, p: Option<u64>) {
    match p {
        Some(p) => {
            let _ = write!(s, "{p:>2} %");
        }
        None => s.push_str("NOT AVAIL"),
    }
}

/// `dpif-netdev/pmd-rxq-show`: every PMD in `pmds` (the daemon applies
/// `-pmd CORE`), by core id, after OVS's header line naming the window
/// over which usage is measured (`window_secs`, 60 in OVS by default).
///
/// ```text
/// Displaying last 60 seconds pmd usage %
/// pmd thread numa_id 0 core_id 1:
///   isolated : false
///   port: dpdk0             queue-id:  0 (enabled)   pmd usage: 12 %
///   port: vhu1              queue-id:  0 (disabled)  pmd usage:  0 %
///   overhead:  3 %
/// ```
///
/// Nothing at all is printed for an empty `pmds`, and no `overhead` line
/// for a PMD without queues, as in OVS.
pub fn pmd_rxq_show(window_secs: u32, pmds: &[PmdRxqInput]) -> RuntimeOutput {
    let mut sorted: Vec<&PmdRxqInput> = pmds.iter().collect();
    sorted.sort_by_key(|p| p.core_id);
    let mut s = String::new();
    if !sorted.is_empty() {
        let _ = writeln!(s, "Displaying last {window_secs} seconds pmd usage %");
    }
    let mut json = PmdRxqJson {
        window_secs,
        pmds: Vec::new(),
    };
    for p in sorted {
        pmd_header(&mut s, p.numa_id, p.core_id);
        let _ = writeln!(s, "  isolated : {}", yes_no(p.isolated));
        let busy = p.busy_cycles.min(p.total_cycles);
        let mut rxqs: Vec<&RxqInput> = p.rxqs.iter().collect();
        rxqs.sort_by(|a, b| a.port.cmp(&b.port).then(a.queue_id.cmp(&b.queue_id)));
        let mut rxq_cycles: u64 = 0;
        let mut rxq_json = Vec::with_capacity(rxqs.len());
        for q in rxqs {
            rxq_cycles = rxq_cycles.saturating_add(q.cycles);
            let usage = pct(q.cycles, p.total_cycles);
            let _ = write!(
                s,
                "  port: {:<16}  queue-id: {:>2} {}  pmd usage: ",
                q.port,
                q.queue_id,
                if q.enabled {
                    "(enabled) "
                } else {
                    "(disabled)"
                }
            );
            write_pct(&mut s, usage);
            s.push('\n');
            rxq_json.push(RxqJson {
                port: q.port.clone(),
                queue_id: q.queue_id,
                enabled: q.enabled,
                cycles: q.cycles,
                pmd_usage_pct: usage,
            });
        }
        let overhead = pct(busy.saturating_sub(rxq_cycles), p.total_cycles);
        if !rxq_json.is_empty() {
            s.push_str("  overhead: ");
            write_pct(&mut s, overhead);
            s.push('\n');
        }
        json.pmds.push(PmdRxqEntryJson {
            numa_id: p.numa_id,
            core_id: p.core_id,
            isolated: p.isolated,
            overhead_pct: if rxq_json.is_empty() { None } else { overhead },
            rxqs: rxq_json,
        });
    }
    output(s, &json)
}

/// JSON form of `pmd-rxq-rebalance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmdRxqRebalanceJson {
    /// Receive queues that changed PMD.
    pub moved: usize,
}

/// `dpif-netdev/pmd-rxq-rebalance`: OVS's reply. rvswitch places the
/// queues before answering; `moved` (JSON only) says how many changed PMD.
///
/// ```text
/// pmd rxq rebalance requested.
/// ```
pub fn pmd_rxq_rebalance(moved: usize) -> RuntimeOutput {
    output(
        "pmd rxq rebalance requested.\n".to_string(),
        &PmdRxqRebalanceJson { moved },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_rounds_down_and_never_overflows() {
        assert_eq!(pct(1, 0), None);
        assert_eq!(pct(0, 0), None);
        assert_eq!(pct(0, 7), Some(0));
        assert_eq!(pct(199, 1_000), Some(19));
        assert_eq!(pct(u64::MAX, u64::MAX), Some(100));
        // part * 100 does not fit in a u64.
        assert_eq!(pct(u64::MAX / 2, u64::MAX), Some(49));
    }

    #[test]
    fn ratio_of_nothing_is_zero() {
        assert_eq!(ratio(5, 0), 0.0);
        assert_eq!(ratio(0, 0), 0.0);
        assert_eq!(ratio(5, 2), 2.5);
    }

    #[test]
    fn cycles_that_overflow_saturate() {
        let mut counts = PmdCounts::default();
        counts[C::Packets] = 1;
        counts[C::IdleCycles] = u64::MAX;
        counts[C::BusyCycles] = 1;
        let out = pmd_stats_show(&[PmdStatsInput {
            counts,
            ..PmdStatsInput::default()
        }]);
        assert!(out.text.contains(&format!(
            "  avg cycles per packet: {:.2} ({}/1)\n",
            u64::MAX as f64,
            u64::MAX
        )));
    }

    #[test]
    fn rebalance_replies_as_ovs() {
        let out = pmd_rxq_rebalance(2);
        assert_eq!(out.text, "pmd rxq rebalance requested.\n");
        assert_eq!(out.json, Some(serde_json::json!({ "moved": 2 })));
    }

    #[test]
    fn both_forms_are_always_filled() {
        assert!(pmd_stats_show(&[]).json.is_some());
        assert!(pmd_rxq_show(60, &[]).json.is_some());
    }
}
