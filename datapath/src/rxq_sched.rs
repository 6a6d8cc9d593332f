//! Receive-queue placement: which PMD core polls which receive queue.
//!
//! The rules are OVS's (`Documentation/topics/dpdk/pmd.rst`,
//! `vswitch.xml`: `pmd-rxq-affinity`, `pmd-rxq-assign`,
//! `pmd-rxq-isolate`), applied by one pure function, [`place`]:
//!
//! 1. Pinned queues (`pmd-rxq-affinity`) go to their core. With
//!    isolation (`pmd-rxq-isolate=true`, the default; `false` is honoured
//!    only with `pmd-rxq-assign=group`, as in OVS) that core then takes no
//!    other queue. A queue pinned to a core that runs no PMD is placed
//!    like an unpinned one ([`Note::PinnedCoreNotPmd`]).
//! 2. The other queues are ordered: `roundrobin` keeps the caller's order
//!    (interface, then queue id); `cycles` and `group` sort by measured
//!    cycles, busiest first (ties keep the caller's order).
//! 3. Each goes to a non-isolated PMD on its device's NUMA node; when that
//!    node has none, to the next node (in node order, round-robin over the
//!    nodes across queues) that has one ([`Note::CrossNuma`]); when no
//!    node has one, it is not polled ([`Note::NotPolled`]).
//! 4. Within a node, PMDs are taken in core order: `roundrobin` wraps
//!    (1,2,3,1,2,3), `cycles` walks up and down (1,2,3,3,2,1,1,...),
//!    `group` takes the PMD with the least estimated load (the cycles of
//!    the queues it has so far, or their number while the queue being
//!    placed has no measured cycles; the lower core wins a tie).
//!
//! [`RxqHistory`] keeps a queue's busy cycles over the last
//! [`HISTORY_INTERVALS`] intervals of [`INTERVAL_MS`] (OVS: 6 × 10 s);
//! their sum is what `cycles` and `group` sort by.

use std::collections::BTreeMap;

crate::spelled_enum! {
    /// `other_config:pmd-rxq-assign`.
    #[derive(Default)]
    pub enum RxqAssign {
        /// Queues in order, PMDs in turn.
        RoundRobin => "roundrobin",
        /// Busiest queue first, PMDs up and down (OVS's default).
        #[default]
        Cycles => "cycles",
        /// Busiest queue first, each to the least loaded PMD.
        Group => "group",
    }
}

/// A core that runs a PMD thread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PmdCore {
    /// Core id.
    pub core: u32,
    /// Its NUMA node.
    pub numa: u32,
}

/// One receive queue to place. Its identity is its index in the slice
/// given to [`place`]; that order (interface, then queue id) is also the
/// tie-break order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RxqLoad {
    /// NUMA node of its device.
    pub numa: u32,
    /// Busy cycles measured over the last intervals ([`RxqHistory::sum`]).
    pub cycles: u64,
    /// The core `pmd-rxq-affinity` pins it to.
    pub pinned: Option<u32>,
}

/// How to place.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `pmd-rxq-assign`.
    pub assign: RxqAssign,
    /// `pmd-rxq-isolate`.
    pub isolate: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            assign: RxqAssign::Cycles,
            isolate: true,
        }
    }
}

/// Something the caller should log (OVS logs the same cases).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// `pmd-rxq-isolate=false` without `pmd-rxq-assign=group`: isolating.
    IsolateNeedsGroup,
    /// Queue `rxq` is pinned to `core`, which runs no PMD: placed like an
    /// unpinned queue.
    PinnedCoreNotPmd {
        /// Index of the queue.
        rxq: usize,
        /// The core it asked for.
        core: u32,
    },
    /// Queue `rxq`'s device is on node `numa`, which has no non-isolated
    /// PMD: it is polled from node `on`.
    CrossNuma {
        /// Index of the queue.
        rxq: usize,
        /// Its device's node.
        numa: u32,
        /// The node of the PMD that polls it.
        on: u32,
    },
    /// No non-isolated PMD on any node: queue `rxq` is not polled.
    NotPolled {
        /// Index of the queue.
        rxq: usize,
    },
}

/// The result of [`place`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// For each queue (same index as the input), the core that polls it;
    /// `None`: not polled.
    pub core: Vec<Option<u32>>,
    /// Cores that take only their pinned queues, ascending.
    pub isolated: Vec<u32>,
    /// What to log.
    pub notes: Vec<Note>,
}

#[derive(Debug)]
struct Slot {
    core: u32,
    isolated: bool,
    n_rxq: u64,
    load: u64,
}

#[derive(Debug)]
struct Node {
    /// By core id.
    pmds: Vec<Slot>,
    rr_idx: usize,
    rr_up: bool,
}

impl Node {
    fn non_isolated(&self) -> usize {
        self.pmds.iter().filter(|p| !p.isolated).count()
    }

    /// The next PMD in turn: wrapping, or walking up and down.
    fn next_rr(&mut self, updown: bool) -> usize {
        let i = self.rr_idx;
        let last = self.pmds.len() - 1;
        if self.rr_up {
            if i == last {
                if updown {
                    self.rr_up = false;
                } else {
                    self.rr_idx = 0;
                }
            } else {
                self.rr_idx += 1;
            }
        } else if i == 0 {
            self.rr_up = true;
        } else {
            self.rr_idx -= 1;
        }
        i
    }

    /// The next non-isolated PMD in turn (the walk may repeat a PMD
    /// before it has visited them all, so it is given two rounds).
    fn next_non_isolated_rr(&mut self, updown: bool) -> Option<usize> {
        for _ in 0..self.pmds.len() * 2 {
            let i = self.next_rr(updown);
            if !self.pmds[i].isolated {
                return Some(i);
            }
        }
        None
    }

    /// The non-isolated PMD with the least load (by cycles, or by queue
    /// count when `by_cycles` is false); the first one wins a tie.
    fn lowest(&self, by_cycles: bool) -> Option<usize> {
        let key = |s: &Slot| if by_cycles { s.load } else { s.n_rxq };
        let mut best: Option<usize> = None;
        for (i, s) in self.pmds.iter().enumerate() {
            if s.isolated {
                continue;
            }
            if best.is_none_or(|b| key(s) < key(&self.pmds[b])) {
                best = Some(i);
            }
        }
        best
    }
}

/// Place `rxqs` on `pmds` (see the module documentation). Deterministic:
/// the same inputs give the same placement.
pub fn place(pmds: &[PmdCore], rxqs: &[RxqLoad], settings: Settings) -> Placement {
    let mut out = Placement {
        core: vec![None; rxqs.len()],
        ..Placement::default()
    };
    let isolate = if !settings.isolate && settings.assign != RxqAssign::Group {
        out.notes.push(Note::IsolateNeedsGroup);
        true
    } else {
        settings.isolate
    };

    let mut nodes: BTreeMap<u32, Node> = BTreeMap::new();
    let mut sorted: Vec<PmdCore> = pmds.to_vec();
    sorted.sort_by_key(|p| p.core);
    sorted.dedup_by_key(|p| p.core);
    for p in sorted {
        nodes
            .entry(p.numa)
            .or_insert_with(|| Node {
                pmds: Vec::new(),
                rr_idx: 0,
                rr_up: true,
            })
            .pmds
            .push(Slot {
                core: p.core,
                isolated: false,
                n_rxq: 0,
                load: 0,
            });
    }
    let find = |nodes: &BTreeMap<u32, Node>, core: u32| -> Option<(u32, usize)> {
        nodes.iter().find_map(|(n, node)| {
            node.pmds
                .iter()
                .position(|s| s.core == core)
                .map(|i| (*n, i))
        })
    };

    // 1. Pinned queues.
    let mut rest: Vec<usize> = Vec::with_capacity(rxqs.len());
    for (i, q) in rxqs.iter().enumerate() {
        let Some(core) = q.pinned else {
            rest.push(i);
            continue;
        };
        match find(&nodes, core) {
            Some((n, s)) => {
                let slot = &mut nodes.get_mut(&n).expect("found").pmds[s];
                slot.isolated |= isolate;
                slot.n_rxq += 1;
                slot.load = slot.load.saturating_add(q.cycles);
                out.core[i] = Some(core);
            }
            None => {
                out.notes.push(Note::PinnedCoreNotPmd { rxq: i, core });
                rest.push(i);
            }
        }
    }

    // 2. The order of the others.
    if settings.assign != RxqAssign::RoundRobin {
        rest.sort_by_key(|&i| std::cmp::Reverse(rxqs[i].cycles));
    }

    // 3, 4. Node, then PMD.
    let mut last_cross: Option<u32> = None;
    for i in rest {
        let q = rxqs[i];
        let mut node = nodes
            .get(&q.numa)
            .filter(|n| n.non_isolated() > 0)
            .map(|_| q.numa);
        if node.is_none() {
            // Round-robin over the nodes, starting after the last one a
            // queue crossed to.
            let ids: Vec<u32> = nodes.keys().copied().collect();
            let start = last_cross
                .and_then(|l| ids.iter().position(|&x| x == l))
                .map_or(0, |p| p + 1);
            for k in 0..ids.len() {
                let id = ids[(start + k) % ids.len()];
                last_cross = Some(id);
                if nodes[&id].non_isolated() > 0 {
                    node = Some(id);
                    break;
                }
            }
        }
        let Some(n) = node else {
            out.notes.push(Note::NotPolled { rxq: i });
            continue;
        };
        let numa = nodes.get_mut(&n).expect("node exists");
        let pick = match settings.assign {
            RxqAssign::Group => numa.lowest(q.cycles > 0),
            RxqAssign::Cycles => numa.next_non_isolated_rr(true),
            RxqAssign::RoundRobin => numa.next_non_isolated_rr(false),
        };
        let Some(s) = pick else {
            out.notes.push(Note::NotPolled { rxq: i });
            continue;
        };
        let slot = &mut numa.pmds[s];
        slot.n_rxq += 1;
        slot.load = slot.load.saturating_add(q.cycles);
        out.core[i] = Some(slot.core);
        if n != q.numa {
            out.notes.push(Note::CrossNuma {
                rxq: i,
                numa: q.numa,
                on: n,
            });
        }
    }
    out.isolated = nodes
        .values()
        .flat_map(|n| n.pmds.iter())
        .filter(|s| s.isolated)
        .map(|s| s.core)
        .collect();
    out.isolated.sort_unstable();
    out
}

/// Parse `pmd-rxq-affinity`: `QUEUE:CORE[,QUEUE:CORE...]` (decimal; white
/// space around the numbers and an empty list are allowed). Returns the
/// (queue, core) pairs in order; a queue named twice is refused.
pub fn parse_affinity(s: &str) -> Result<Vec<(u16, u32)>, String> {
    let mut v: Vec<(u16, u32)> = Vec::new();
    if s.trim().is_empty() {
        return Ok(v);
    }
    for pair in s.split(',') {
        let Some((q, c)) = pair.split_once(':') else {
            return Err(format!(
                "\"{}\" is not QUEUE:CORE (such as 0:3,1:7)",
                pair.trim()
            ));
        };
        let num = |x: &str, what: &str| -> Result<u64, String> {
            let x = x.trim();
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "\"{}\": {what} \"{x}\" is not a non-negative integer",
                    pair.trim()
                ));
            }
            x.parse::<u64>()
                .map_err(|_| format!("\"{}\": {what} {x} is too large", pair.trim()))
        };
        let queue = u16::try_from(num(q, "queue id")?)
            .map_err(|_| format!("\"{}\": queue id is above 65535", pair.trim()))?;
        let core = u32::try_from(num(c, "core id")?)
            .map_err(|_| format!("\"{}\": core id is above 4294967295", pair.trim()))?;
        if v.iter().any(|(x, _)| *x == queue) {
            return Err(format!("queue {queue} is pinned twice"));
        }
        v.push((queue, core));
    }
    Ok(v)
}

/// Intervals a queue's cycles are remembered for.
pub const HISTORY_INTERVALS: usize = 6;
/// Length of one interval.
pub const INTERVAL_MS: u64 = 10_000;

/// A queue's busy cycles per interval, from a running total the PMD
/// counts (sampled once per [`INTERVAL_MS`] by the owner).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RxqHistory {
    last_total: u64,
    intervals: [u64; HISTORY_INTERVALS],
    next: usize,
}

impl RxqHistory {
    /// A history whose counter reads `total` now.
    pub fn new(total: u64) -> RxqHistory {
        RxqHistory {
            last_total: total,
            ..RxqHistory::default()
        }
    }

    /// End an interval: the counter reads `total` now.
    pub fn sample(&mut self, total: u64) {
        self.intervals[self.next] = total.wrapping_sub(self.last_total);
        self.next = (self.next + 1) % HISTORY_INTERVALS;
        self.last_total = total;
    }

    /// Cycles over the remembered intervals.
    pub fn sum(&self) -> u64 {
        self.intervals
            .iter()
            .fold(0u64, |a, &b| a.saturating_add(b))
    }
}

#[cfg(test)]
mod tests;
