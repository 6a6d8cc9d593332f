//! The one safe wrapper over `dpdk-sys`.
//!
//! - [`eal`]: process-wide start-up ([`eal::Eal::init`]), the TSC clock, lcores.
//! - [`thread`]: registering non-EAL threads (PMD threads) as lcores.
//! - [`mempool`]: packet-buffer pools.
//! - [`mbuf`]: [`Mbuf`], an owned packet buffer implementing
//!   [`datapath::packet::Packet`].
//! - [`ethdev`]: hot-plugged ports (`rte_dev_probe`), configuration, stats,
//!   and rx/tx queues implementing [`datapath::packet::RxQueue`] /
//!   [`datapath::packet::TxQueue`].
//! - [`vhost`]: vhost-user client ports (QEMU is the server), with the same
//!   queue traits.
//!
//! Every data-path operation (queue bursts, packet accessors) is free of
//! allocation, locks and syscalls; the burst functions cost one atomic
//! store per burst to stay safe against the control side stopping or
//! removing the port concurrently.

pub mod eal;
pub mod error;
pub mod ethdev;
pub mod events;
mod gate;
pub mod mbuf;
pub mod memif;
pub mod mempool;
pub mod queue_lock;
pub mod thread;
pub mod vhost;

pub use eal::Eal;
pub use error::{DpdkError, Result};
pub use ethdev::{EthDev, EthRxQueue, EthTxQueue, PortId};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use vhost::{VhostClient, VhostRxQueue, VhostStatus, VhostTxQueue};
