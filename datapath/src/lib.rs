//! The switching core of rvswitch.
//!
//! Everything here is pure Rust and builds without DPDK. Machines and tables
//! take the current time ([`time::Millis`]) as an argument and return the
//! actions to perform, so tests drive them with a fake clock.
//!
//! Module map:
//! - [`wire`]: zero-copy checked views over frames (Ethernet, 802.1Q, IPv4/6,
//!   TCP/UDP, ARP, Slow Protocols: LACPDU and Marker) and in-place VLAN edits.
//! - [`vlan`]: port VLAN modes (access, trunk, native-tagged/untagged) and the
//!   ingress/egress rules.
//! - [`mac_table`]: the (VLAN, MAC) → port learning table.
//! - [`lacp`]: the IEEE 802.1AX LACP machine.
//! - [`bond`]: bond modes, hash buckets, link detection and rebalancing.
//! - [`hash`]: flow hashes used by the bonds.
//! - [`history`]: the bounded event history of the bond and LACP machines.
//! - [`packet`]: the packet-buffer and port traits the pipeline runs over.
//! - [`mem`]: in-memory packets and ports for tests and benchmarks.
//! - [`counters`]: named per-interface counters.
//! - [`pipeline`]: the burst pipeline.
//! - [`qos`]: QoS settings (rates the ports' traffic must keep).
//! - [`rxq_sched`]: which PMD core polls which receive queue (OVS's
//!   `pmd-rxq-affinity`, `pmd-rxq-assign`, `pmd-rxq-isolate`, NUMA).
//! - [`spelling`]: enums with one OVS spelling per variant ([`spelled_enum!`]).
//! - [`testkit`]: a one-bridge in-memory switch and frame builders for tests
//!   and benchmarks.

pub mod bond;
pub mod counters;
pub mod hash;
pub mod history;
pub mod lacp;
pub mod mac_table;
pub mod mem;
pub mod packet;
pub mod pipeline;
pub mod qos;
pub mod rxq_sched;
pub mod spelling;
pub mod testkit;
pub mod time;
pub mod vlan;
pub mod wire;
