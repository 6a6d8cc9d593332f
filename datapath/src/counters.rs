//! Named counters.
//!
//! Each interface and each bond port owns a [`CounterBlock`] per PMD thread.
//! A block has one writer (its thread), so increments are a relaxed load and
//! store, not an atomic read-modify-write; readers (stats commands) sum the
//! blocks of every thread. Blocks are cache-line aligned so threads never
//! share a line.
//!
//! Every packet the switch drops increments exactly one `*_dropped`/`drop_*`
//! counter that says why.
//!
//! A PMD thread's own statistics (packets, cycles, output batches, learning)
//! are the [`PmdCounter`]s: the thread counts them in a plain [`PmdCounts`]
//! and publishes a copy to a [`PmdCountsBlock`] now and then, which the
//! control thread reads for `dpif-netdev/pmd-stats-show`.

use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($(#[$edoc:meta])* $enum:ident { $( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )* }) => {
        $(#[$edoc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $enum { $( $(#[doc = $doc])* $variant, )* }

        impl $enum {
            /// Every counter, in display order.
            pub const ALL: &'static [$enum] = &[ $( $enum::$variant, )* ];
            /// The counter's name.
            pub const fn name(self) -> &'static str {
                match self { $( $enum::$variant => $name, )* }
            }
            /// What the counter counts: its doc comment, one line (each
            /// line keeps its leading space; trim before use).
            pub const fn help(self) -> &'static str {
                match self { $( $enum::$variant => concat!($($doc),*), )* }
            }
        }
    };
}

counters! {
/// The name of one interface or bond counter, as `list interface` and
/// `show` print it.
Counter {
    /// Packets received.
    RxPackets => "rx_packets",
    /// Bytes received.
    RxBytes => "rx_bytes",
    /// Packets transmitted.
    TxPackets => "tx_packets",
    /// Bytes transmitted.
    TxBytes => "tx_bytes",
    /// Dropped: shorter than an Ethernet header, or headers that lie.
    RxMalformed => "rx_dropped_malformed",
    /// Dropped: longer than the interface MTU allows.
    RxOversize => "rx_dropped_oversize",
    /// Dropped: the ingress VLAN rule of the port refused the frame.
    RxVlanFiltered => "rx_dropped_vlan_filtered",
    /// Dropped: received on a bond member that is not enabled (link down,
    /// LACP not collecting, or the backup member of an active-backup bond).
    RxMemberDisabled => "rx_dropped_member_disabled",
    /// Dropped: balance-slb loop prevention (broadcast/multicast on a
    /// non-active member, or a source MAC learned on another port).
    RxBondLoop => "rx_dropped_bond_loop",
    /// Dropped: a Slow Protocols frame (LACP/Marker) on a port without LACP.
    RxSlowProtocols => "rx_dropped_slow_protocols",
    /// Dropped: addressed to an IEEE 802.1D reserved group address
    /// (01:80:c2:00:00:0x, such as STP or LLDP), which a bridge must not
    /// forward (OVS `forward-bpdu=false`).
    RxReservedMulticast => "rx_dropped_reserved_multicast",
    /// Dropped: flooded, but no other port carries the frame's VLAN.
    RxNoOutput => "rx_dropped_no_output",
    /// Dropped: the ring to the control thread was full.
    RxControlRingFull => "rx_dropped_control_ring_full",
    /// Dropped: the destination is on the ingress port.
    RxHairpin => "rx_dropped_hairpin",
    /// Dropped: the interface is administratively down or not in a bridge.
    RxAdminDown => "rx_dropped_admin_down",
    /// Dropped: above the interface's ingress policing rate (OVS-DPDK
    /// counts these as `ovs_rx_qos_drops`).
    RxQos => "rx_dropped_qos",
    /// Dropped: the transmit queue was full.
    TxFull => "tx_dropped_full",
    /// Dropped: a bond had no enabled member to carry the frame.
    TxNoMember => "tx_dropped_no_member",
    /// Dropped: no buffer to copy a flooded frame into.
    TxCopyFailed => "tx_dropped_copy_failed",
    /// Dropped: no headroom to push a VLAN tag.
    TxNoHeadroom => "tx_dropped_no_headroom",
    /// Dropped: the egress VLAN rule of the port refused the frame.
    TxVlanFiltered => "tx_dropped_vlan_filtered",
    /// Dropped: the egress interface is down.
    TxLinkDown => "tx_dropped_link_down",
    /// Dropped: above the rate of the port's egress QoS (OVS-DPDK:
    /// `ovs_tx_qos_drops`).
    TxQos => "tx_dropped_qos",
}}

counters! {
/// A statistic of one PMD thread that belongs to no interface
/// (`dpif-netdev/pmd-stats-show`).
PmdCounter {
    /// Packets received on the thread's queues.
    Packets => "packets_received",
    /// TSC cycles of polling iterations that received packets (OVS's
    /// "processing cycles").
    BusyCycles => "processing_cycles",
    /// TSC cycles of polling iterations that received nothing.
    IdleCycles => "idle_cycles",
    /// Polling iterations.
    Iterations => "iterations",
    /// Output batches transmitted.
    TxBatches => "tx_batches",
    /// Frames in those batches.
    TxBatchedPackets => "tx_batched_packets",
    /// Learn batches skipped because another thread held the MAC table's
    /// writer lock.
    LearnSkipped => "mac_learn_batches_skipped",
    /// MAC entries the thread learned or moved.
    Learned => "mac_entries_learned",
}}

/// Number of distinct PMD counters.
pub const N_PMD_COUNTERS: usize = PmdCounter::ALL.len();

/// One PMD thread's counts, indexed by [`PmdCounter`]; single owner, plain
/// integers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PmdCounts(pub [u64; N_PMD_COUNTERS]);

impl core::ops::Index<PmdCounter> for PmdCounts {
    type Output = u64;
    #[inline(always)]
    fn index(&self, c: PmdCounter) -> &u64 {
        &self.0[c as usize]
    }
}

impl core::ops::IndexMut<PmdCounter> for PmdCounts {
    #[inline(always)]
    fn index_mut(&mut self, c: PmdCounter) -> &mut u64 {
        &mut self.0[c as usize]
    }
}

impl PmdCounts {
    /// The counts accumulated since `base` was taken (wrapping).
    pub fn since(&self, base: &PmdCounts) -> PmdCounts {
        PmdCounts(core::array::from_fn(|i| self.0[i].wrapping_sub(base.0[i])))
    }
}

/// Where a PMD thread publishes its [`PmdCounts`] for other threads.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct PmdCountsBlock {
    values: [AtomicU64; N_PMD_COUNTERS],
}

impl Default for PmdCountsBlock {
    fn default() -> Self {
        PmdCountsBlock {
            values: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl PmdCountsBlock {
    /// Publish `c` (the owning thread only).
    pub fn publish(&self, c: &PmdCounts) {
        for (v, n) in self.values.iter().zip(c.0) {
            v.store(n, Ordering::Relaxed);
        }
    }

    /// The counts last published (any thread).
    pub fn read(&self) -> PmdCounts {
        PmdCounts(core::array::from_fn(|i| {
            self.values[i].load(Ordering::Relaxed)
        }))
    }
}

/// Number of distinct counters.
pub const N_COUNTERS: usize = Counter::ALL.len();

/// One thread's counters for one interface or bond.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct CounterBlock {
    values: [AtomicU64; N_COUNTERS],
}

impl Default for CounterBlock {
    fn default() -> Self {
        CounterBlock {
            values: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl CounterBlock {
    /// Add `n` to `c`. Only the owning thread may call this.
    #[inline(always)]
    pub fn add(&self, c: Counter, n: u64) {
        let v = &self.values[c as usize];
        v.store(v.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Add one to `c`. Only the owning thread may call this.
    #[inline(always)]
    pub fn inc(&self, c: Counter) {
        self.add(c, 1);
    }

    /// Current value of `c` (any thread).
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize].load(Ordering::Relaxed)
    }

    /// Reset every counter to zero (any thread; racing increments may be lost).
    pub fn clear(&self) {
        for v in &self.values {
            v.store(0, Ordering::Relaxed);
        }
    }

    /// Add every counter of `self` into `sum`.
    pub fn accumulate(&self, sum: &mut [u64; N_COUNTERS]) {
        for (s, v) in sum.iter_mut().zip(&self.values) {
            *s = s.wrapping_add(v.load(Ordering::Relaxed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_drops_say_dropped() {
        let mut seen = std::collections::HashSet::new();
        for c in Counter::ALL {
            assert!(seen.insert(c.name()), "duplicate {}", c.name());
            assert!(
                !c.help().trim().is_empty(),
                "{} has no doc comment",
                c.name()
            );
            let is_traffic = matches!(
                c,
                Counter::RxPackets | Counter::RxBytes | Counter::TxPackets | Counter::TxBytes
            );
            assert_eq!(!is_traffic, c.name().contains("_dropped_"), "{}", c.name());
        }
    }

    #[test]
    fn pmd_counts_publish_and_subtract() {
        let mut c = PmdCounts::default();
        c[PmdCounter::Learned] += 7;
        c[PmdCounter::Packets] += 100;
        let block = PmdCountsBlock::default();
        block.publish(&c);
        let base = block.read();
        assert_eq!(base[PmdCounter::Learned], 7);
        c[PmdCounter::Learned] += 3;
        block.publish(&c);
        let d = block.read().since(&base);
        assert_eq!(d[PmdCounter::Learned], 3);
        assert_eq!(d[PmdCounter::Packets], 0);
        let mut seen = std::collections::HashSet::new();
        assert!(PmdCounter::ALL.iter().all(|c| seen.insert(c.name())));
        assert!(PmdCounter::ALL.iter().all(|c| !c.help().trim().is_empty()));
        // A doc comment of several lines is one line of help.
        assert_eq!(
            Counter::RxReservedMulticast.help().trim(),
            "Dropped: addressed to an IEEE 802.1D reserved group address \
             (01:80:c2:00:00:0x, such as STP or LLDP), which a bridge must not \
             forward (OVS `forward-bpdu=false`)."
        );
    }

    #[test]
    fn add_and_sum() {
        let a = CounterBlock::default();
        let b = CounterBlock::default();
        a.add(Counter::RxBytes, 60);
        a.inc(Counter::TxFull);
        b.add(Counter::RxBytes, 4);
        let mut sum = [0; N_COUNTERS];
        a.accumulate(&mut sum);
        b.accumulate(&mut sum);
        assert_eq!(sum[Counter::RxBytes as usize], 64);
        assert_eq!(sum[Counter::TxFull as usize], 1);
        a.clear();
        assert_eq!(a.get(Counter::RxBytes), 0);
        assert_eq!(core::mem::align_of::<CounterBlock>(), 64);
    }
}
