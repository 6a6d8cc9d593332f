//! The burst pipeline.
//!
//! A PMD thread calls [`Pmd::process`] with each burst it receives and
//! [`Pmd::flush`] once per polling iteration. Per burst of up to 32 frames
//! from one interface:
//!
//! 0. ingress policing, when the interface has it (frames above the rate
//!    are dropped as `rx_dropped_qos`);
//! 1. parse the Ethernet header and outer tag;
//! 2. steer Slow Protocols frames (LACP, Marker) to the control thread, drop
//!    other 802.1D reserved group addresses;
//! 3. apply the bond's admission rules and the port's VLAN ingress rule;
//! 4. learn the source (a lock-free refresh, or a batched learn at the end
//!    of the burst);
//! 5. look up the destination;
//! 6. choose the output port, or flood (never back to the ingress port);
//! 7. edit the 802.1Q header for each output port (flooded copies are
//!    edited independently);
//! 8. choose the bond member by hash;
//! 9. append to per-interface output batches, transmitted once by
//!    [`Pmd::flush`]; a batch for a port with egress QoS goes through the
//!    port's meter first (frames above the rate: `tx_dropped_qos`).
//!
//! Consecutive frames with the same (VLAN, source, destination) reuse the
//! first frame's decision, so a burst of one conversation costs one learn
//! check and one lookup. Every dropped frame increments one named counter.

mod pmd;
mod qos;
mod snapshot;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_qos;

pub use pmd::{Io, Pmd};
pub use snapshot::{
    BondPort, BridgeView, BucketLoads, Counters, IfaceIdx, IfaceView, PortIdx, PortKind, PortView,
    QosShare, Snapshot, NO_BRIDGE,
};
