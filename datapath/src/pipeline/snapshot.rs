//! The frozen view of the switch that PMD threads forward against.
//!
//! The control thread builds a new [`Snapshot`] whenever the configuration,
//! a link, a bond or LACP changes, and publishes it as an `Arc`. A PMD thread
//! picks it up between bursts, so a burst always sees one consistent view.
//! Counters and bucket loads are `Arc`-shared and carried from one snapshot
//! to the next, so nothing is lost across reconfigurations.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::bond::{BondMode, BondView};
use crate::counters::CounterBlock;
use crate::mac_table::MacTable;
use crate::qos::{EgressQos, Rate};
use crate::vlan::PortVlan;

/// Index of an interface in [`Snapshot::ifaces`].
pub type IfaceIdx = u16;
/// Index of a port in [`BridgeView::ports`]; also the value the MAC table stores.
pub type PortIdx = u16;
/// [`IfaceView::bridge`] of an interface that is in no bridge.
pub const NO_BRIDGE: u16 = u16::MAX;

/// One [`CounterBlock`] per PMD thread, indexed by PMD id.
#[derive(Debug)]
pub struct Counters {
    blocks: Box<[CounterBlock]>,
}

impl Counters {
    /// Blocks for `n_pmds` threads (at least one).
    pub fn new(n_pmds: usize) -> Arc<Counters> {
        let blocks = (0..n_pmds.max(1))
            .map(|_| CounterBlock::default())
            .collect();
        Arc::new(Counters { blocks })
    }

    /// The block PMD `pmd` writes (ids past the last block wrap around).
    #[inline(always)]
    pub fn pmd(&self, pmd: usize) -> &CounterBlock {
        // The in-range case without a division: this is on the hot path.
        match self.blocks.get(pmd) {
            Some(b) => b,
            None => &self.blocks[pmd % self.blocks.len()],
        }
    }

    /// The sum over every thread of counter `c`.
    pub fn total(&self, c: crate::counters::Counter) -> u64 {
        self.blocks
            .iter()
            .map(|b| b.get(c))
            .fold(0, u64::wrapping_add)
    }

    /// Every counter summed over the threads.
    pub fn totals(&self) -> [u64; crate::counters::N_COUNTERS] {
        let mut sum = [0; crate::counters::N_COUNTERS];
        for b in self.blocks.iter() {
            b.accumulate(&mut sum);
        }
        sum
    }

    /// Zero every block.
    pub fn clear(&self) {
        for b in self.blocks.iter() {
            b.clear();
        }
    }
}

/// Transmitted bytes per hash bucket of one bond, one row per PMD thread.
/// Each row has one writer; readers take deltas (rows are never reset).
#[derive(Debug)]
pub struct BucketLoads {
    rows: Box<[BucketRow]>,
}

#[derive(Debug)]
#[repr(align(64))]
struct BucketRow([AtomicU64; 256]);

impl BucketLoads {
    /// Rows for `n_pmds` threads.
    pub fn new(n_pmds: usize) -> Arc<BucketLoads> {
        let rows = (0..n_pmds.max(1))
            .map(|_| BucketRow(core::array::from_fn(|_| AtomicU64::new(0))))
            .collect();
        Arc::new(BucketLoads { rows })
    }

    /// Add `bytes` to `bucket` in PMD `pmd`'s row. Only that PMD may call this.
    #[inline(always)]
    pub fn add(&self, pmd: usize, bucket: u8, bytes: u64) {
        self.row(pmd).add(bucket, bytes);
    }

    /// PMD `pmd`'s row (ids past the last row wrap around), to add to many
    /// times.
    #[inline(always)]
    pub(crate) fn row(&self, pmd: usize) -> LoadRow<'_> {
        // The in-range case without a division.
        LoadRow(match self.rows.get(pmd) {
            Some(r) => r,
            None => &self.rows[pmd % self.rows.len()],
        })
    }

    /// Running totals per bucket, summed over threads. Callers keep the
    /// previous reading and subtract.
    pub fn totals(&self) -> [u64; 256] {
        let mut t = [0u64; 256];
        for r in self.rows.iter() {
            for (s, c) in t.iter_mut().zip(r.0.iter()) {
                *s = s.wrapping_add(c.load(Ordering::Relaxed));
            }
        }
        t
    }
}

/// One PMD thread's row of a [`BucketLoads`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadRow<'a>(&'a BucketRow);

impl LoadRow<'_> {
    /// Add `bytes` to `bucket`. Only the row's PMD may call this.
    #[inline(always)]
    pub(crate) fn add(self, bucket: u8, bytes: u64) {
        let c = &self.0 .0[bucket as usize];
        c.store(
            c.load(Ordering::Relaxed).wrapping_add(bytes),
            Ordering::Relaxed,
        );
    }
}

/// One interface (a NIC, a vhost-user port, an internal port, a bond member).
#[derive(Debug, Clone)]
pub struct IfaceView {
    /// Name, for diagnostics.
    pub name: Arc<str>,
    /// Index of its bridge, or [`NO_BRIDGE`].
    pub bridge: u16,
    /// Its port in that bridge.
    pub port: PortIdx,
    /// Position among the bond's members (0 for a single-interface port).
    pub member: u8,
    /// Administratively up: frames are received and sent.
    pub admin_up: bool,
    /// Link (carrier) up: frames may be sent.
    pub link_up: bool,
    /// Longest frame accepted, Ethernet header and one VLAN tag included
    /// (MTU + 18).
    pub max_frame_len: u32,
    /// LACP runs on this interface: Slow Protocols frames go to the control
    /// thread instead of being dropped.
    pub lacp: bool,
    /// Its counters.
    pub counters: Arc<Counters>,
    /// Ingress policing (`ingress_policing_rate`/`burst`), applied to each
    /// received burst before anything else.
    pub policing: Option<Arc<QosShare<Rate>>>,
}

/// A QoS setting and the PMD threads that share its enforcement.
///
/// Each PMD thread meters its own part of the traffic with its own bucket
/// (no lock, no shared counter), so each gets a share of the rate
/// ([`Rate::share`]): share `k` of `n`, `k` being the thread's position in
/// `pmds`. A PMD thread not in `pmds` (traffic it should not see) meters
/// with share 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QosShare<T> {
    /// The whole port's or interface's settings.
    pub settings: T,
    /// Ids of the PMD threads that handle the traffic; empty means one
    /// thread (the whole rate).
    pub pmds: Vec<usize>,
}

impl<T> QosShare<T> {
    /// The share of PMD `pmd`: (k, n) for [`Rate::share`].
    pub fn share_of(&self, pmd: usize) -> (usize, usize) {
        let k = self.pmds.iter().position(|p| *p == pmd).unwrap_or(0);
        (k, self.pmds.len().max(1))
    }
}

/// A bond port's datapath state.
#[derive(Debug, Clone)]
pub struct BondPort {
    /// The bond machine's frozen view.
    pub view: BondView,
    /// Member position → interface, parallel to `view.members`.
    pub ifaces: SmallVec<[IfaceIdx; 8]>,
    /// Tx bytes per bucket, for rebalancing.
    pub loads: Arc<BucketLoads>,
}

/// What a port is made of.
#[derive(Debug, Clone)]
pub enum PortKind {
    /// One interface.
    Single(IfaceIdx),
    /// A bond of several.
    Bond(Box<BondPort>),
}

/// One port of a bridge.
#[derive(Debug, Clone)]
pub struct PortView {
    /// Name, for diagnostics.
    pub name: Arc<str>,
    /// VLAN rules.
    pub vlan: PortVlan,
    /// Single interface or bond.
    pub kind: PortKind,
    /// Port-level counters (for a bond: drops that belong to no member).
    pub counters: Arc<Counters>,
    /// Egress QoS (the port's `qos` row): one meter per PMD thread for the
    /// whole port (all members of a bond), applied to each output batch
    /// just before it is transmitted.
    pub egress_qos: Option<Arc<QosShare<EgressQos>>>,
}

impl PortView {
    /// The bond, if this port is one.
    #[inline(always)]
    pub fn bond(&self) -> Option<&BondPort> {
        match &self.kind {
            PortKind::Bond(b) => Some(b),
            PortKind::Single(_) => None,
        }
    }

    /// Whether balance-slb's loop-prevention rules apply to frames received here.
    #[inline(always)]
    pub fn is_slb(&self) -> bool {
        matches!(self.bond(), Some(b) if b.view.mode == BondMode::BalanceSlb)
    }
}

/// One bridge.
#[derive(Debug, Clone)]
pub struct BridgeView {
    /// Name, for diagnostics.
    pub name: Arc<str>,
    /// Its learning table, shared with the control thread.
    pub mac: Arc<MacTable>,
    /// Its ports; the index is the [`PortIdx`].
    pub ports: Vec<PortView>,
}

/// The whole switch as one immutable value.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every snapshot the control thread publishes.
    pub generation: u64,
    /// Bridges.
    pub bridges: Vec<BridgeView>,
    /// Interfaces; the index is the [`IfaceIdx`].
    pub ifaces: Vec<IfaceView>,
}
