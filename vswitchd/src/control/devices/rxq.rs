//! Which PMD polls which receive queue: gathers the inputs of
//! [`datapath::rxq_sched::place`] (PMD cores and their NUMA nodes, each
//! queue's device node, measured cycles and `pmd-rxq-affinity` pin),
//! and moves the queues whose PMD changed (taking the handle back from
//! the old PMD, then giving it to the new one). Placement runs when its
//! inputs other than the cycles change (PMDs, queues, settings, pins),
//! and on `dpif-netdev/pmd-rxq-rebalance`, as OVS reassigns on a
//! reconfiguration and on that command.
//!
//! The PMD counts each queue's busy cycles into a running total (one TSC
//! read per busy burst, which it does anyway); every
//! [`INTERVAL_MS`] the control thread samples the totals into each
//! queue's [`RxqHistory`], whose sum (the last minute) is the load
//! `cycles` and `group` place by.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use ctl::db::RxqSettings;
use datapath::rxq_sched::{self, Note, PmdCore, RxqHistory, RxqLoad, INTERVAL_MS};
use datapath::time::Millis;

use super::{Devices, IfaceRt};
use crate::control::eal::core_numa;
use crate::device::{Device, RxSpec};
use crate::pmd_thread::Msg;

/// One receive queue of an interface.
pub struct RxqRt {
    /// Queue id.
    pub queue: u16,
    /// Busy cycles the PMD polling it counts (kept across moves).
    pub cycles: Arc<AtomicU64>,
    history: RxqHistory,
    at: At,
}

enum At {
    /// Polled by the PMD on this core.
    Pmd(usize),
    /// Polled by no PMD: its handle.
    Parked(RxSpec),
    /// Being moved (never seen outside [`Devices::place_rxqs`]).
    Moving,
}

impl RxqRt {
    /// A queue no PMD polls yet.
    pub fn parked(spec: RxSpec) -> RxqRt {
        RxqRt {
            queue: spec.queue,
            cycles: Arc::new(AtomicU64::new(0)),
            history: RxqHistory::new(0),
            at: At::Parked(spec),
        }
    }

    /// The core of the PMD that polls it.
    pub fn core(&self) -> Option<usize> {
        match self.at {
            At::Pmd(c) => Some(c),
            _ => None,
        }
    }
}

impl IfaceRt {
    /// A handle a stopped PMD gave back.
    pub(super) fn park(&mut self, spec: RxSpec) {
        if let Some(q) = self.rxqs.iter_mut().find(|q| q.queue == spec.queue) {
            q.at = At::Parked(spec);
        }
    }
}

/// What placement needs besides the queues, and what it last produced.
#[derive(Default)]
pub struct PlacementState {
    settings: RxqSettings,
    /// The inputs (except cycles) of the last placement.
    placed_for: Option<Key>,
    /// Cores that poll only their pinned queues.
    isolated: Vec<usize>,
    next_sample: Option<Millis>,
}

impl PlacementState {
    /// `pmd-rxq-assign` and `pmd-rxq-isolate` as configured.
    pub fn set_settings(&mut self, s: RxqSettings) {
        self.settings = s;
    }
}

/// Everything placement depends on except the measured cycles.
#[derive(PartialEq, Eq)]
struct Key {
    settings: RxqSettings,
    pmds: Vec<PmdCore>,
    /// (interface uid, queue, its node, its pin) of every queue.
    rxqs: Vec<(u32, u16, u32, Option<u32>)>,
}

impl Devices {
    /// Whether the PMD on `core` polls only its pinned queues.
    pub fn pmd_isolated(&self, core: usize) -> bool {
        self.rxq.isolated.contains(&core)
    }

    /// Sample every queue's busy cycles once per [`INTERVAL_MS`].
    pub fn sample_rxq_cycles(&mut self, now: Millis) {
        let due = *self.rxq.next_sample.get_or_insert(now + INTERVAL_MS);
        if now < due {
            return;
        }
        self.rxq.next_sample = Some(now + INTERVAL_MS);
        for q in self.ifaces.values_mut().flat_map(|rt| rt.rxqs.iter_mut()) {
            q.history.sample(q.cycles.load(Relaxed));
        }
    }

    /// `dpif-netdev/pmd-rxq-rebalance`: place every queue again with the
    /// cycles measured over the last minute. Returns the queues moved.
    pub fn rebalance_rxqs(&mut self) -> usize {
        self.place_rxqs(true)
    }

    /// Place the receive queues (OVS's rules: [`rxq_sched`]) if their
    /// inputs changed, a queue waits for a PMD, or `force`; move those
    /// whose PMD changed. Returns how many moved.
    pub(super) fn place_rxqs(&mut self, force: bool) -> usize {
        if self.pmds.is_empty() {
            return 0;
        }
        let pmds: Vec<PmdCore> = self
            .pmds
            .iter()
            .map(|p| PmdCore {
                core: p.core as u32,
                numa: core_numa(p.core),
            })
            .collect();
        let mut loads: Vec<RxqLoad> = Vec::new();
        let mut key = Key {
            settings: self.rxq.settings,
            pmds: pmds.clone(),
            rxqs: Vec::new(),
        };
        let mut waiting = false;
        // BTreeMap order: by interface name, then queue id.
        for rt in self.ifaces.values() {
            let numa = rt.device.as_ref().map_or(0, Device::numa);
            for q in &rt.rxqs {
                let pinned = rt
                    .affinity
                    .iter()
                    .find(|(x, _)| *x == q.queue)
                    .map(|(_, c)| *c);
                waiting |= matches!(q.at, At::Parked(_));
                key.rxqs.push((rt.uid, q.queue, numa, pinned));
                loads.push(RxqLoad {
                    numa,
                    cycles: q.history.sum(),
                    pinned,
                });
            }
        }
        if !force && !waiting && self.rxq.placed_for.as_ref() == Some(&key) {
            return 0;
        }
        let plan = rxq_sched::place(&pmds, &loads, self.rxq.settings);
        let names: Vec<(String, u16)> = self
            .ifaces
            .iter()
            .flat_map(|(n, rt)| rt.rxqs.iter().map(move |q| (n.clone(), q.queue)))
            .collect();
        for note in &plan.notes {
            log_note(note, &names);
        }
        let mut moved = 0;
        let mut i = 0;
        let assign = self.rxq.settings.assign;
        for (name, rt) in self.ifaces.iter_mut() {
            for q in rt.rxqs.iter_mut() {
                let want = plan.core[i].map(|c| c as usize);
                let cycles = loads[i].cycles;
                i += 1;
                if q.core() == want && want.is_some() {
                    continue;
                }
                let spec = match std::mem::replace(&mut q.at, At::Moving) {
                    At::Parked(spec) => spec,
                    At::Pmd(old) => {
                        let taken = self
                            .pmds
                            .iter()
                            .find(|p| p.core == old)
                            .and_then(|p| p.take_rx(rt.uid, q.queue));
                        match taken {
                            Some((handle, every)) => RxSpec {
                                queue: q.queue,
                                handle,
                                every,
                            },
                            None => {
                                crate::error!(
                                    "{name}: rx queue {} could not be taken from the pmd on core {old}",
                                    q.queue
                                );
                                q.at = At::Pmd(old);
                                continue;
                            }
                        }
                    }
                    At::Moving => continue,
                };
                let Some(p) = want.and_then(|c| self.pmds.iter().find(|p| p.core == c)) else {
                    q.at = At::Parked(spec);
                    continue;
                };
                moved += 1;
                crate::info!(
                    "Core {} on numa node {} assigned port '{name}' rx queue {}{}.",
                    p.core,
                    core_numa(p.core),
                    q.queue,
                    if assign == rxq_sched::RxqAssign::RoundRobin {
                        String::new()
                    } else {
                        format!(" (measured processing cycles {cycles})")
                    }
                );
                p.send(Msg::AddRx {
                    uid: rt.uid,
                    queue: q.queue,
                    handle: spec.handle,
                    every: spec.every,
                    cycles: q.cycles.clone(),
                });
                q.at = At::Pmd(p.core);
            }
        }
        if moved > 0 {
            crate::info!(
                "Performed pmd to rx queue assignment using {assign} algorithm: {moved} queues moved."
            );
        }
        self.rxq.isolated = plan.isolated.iter().map(|&c| c as usize).collect();
        self.rxq.placed_for = Some(key);
        moved
    }
}

fn log_note(note: &Note, names: &[(String, u16)]) {
    let q = |i: usize| {
        names
            .get(i)
            .map_or_else(|| ("?".to_string(), 0), |(n, q)| (n.clone(), *q))
    };
    match *note {
        Note::IsolateNeedsGroup => {
            crate::warn!("pmd-rxq-isolate can only be set false when using pmd-rxq-assign=group")
        }
        Note::PinnedCoreNotPmd { rxq, core } => {
            let (n, id) = q(rxq);
            crate::warn!(
                "Core {core:2} cannot be pinned with port '{n}' rx queue {id}. Use pmd-cpu-mask to enable a pmd on core {core}. An alternative core will be assigned."
            );
        }
        Note::CrossNuma { rxq, numa, on } => {
            let (n, id) = q(rxq);
            crate::info!(
                "There's no available (non-isolated) pmd thread on numa node {numa}. Port '{n}' rx queue {id} will be assigned to a pmd on numa node {on}. This may lead to reduced performance."
            );
        }
        Note::NotPolled { rxq } => {
            let (n, id) = q(rxq);
            crate::warn!(
                "No non-isolated pmd on any numa available for port '{n}' rx queue {id}. This rx queue will not be polled."
            );
        }
    }
}
