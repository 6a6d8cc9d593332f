//! Transmit handles for the PMD slots and the control thread over the
//! queues a device has: dedicated when there are enough, otherwise shared
//! behind a mutex taken once per burst, which the control thread only
//! tries (briefly) so a control frame never waits behind a PMD for long.

use std::sync::{Arc, Mutex};

use datapath::packet::{Burst, TxQueue};
use dpdk::queue_lock::try_lock_briefly;
use dpdk::Mbuf;

use super::TxHandle;

/// A transmit queue several threads share, locked once per burst. The
/// control thread's handle only tries the lock, for a bounded time (a PMD
/// holds it for one burst), and leaves the frames unsent (counted by the
/// caller) rather than wait longer.
struct SharedTx {
    queue: Arc<Mutex<TxHandle>>,
    control: bool,
}

impl TxQueue<Mbuf> for SharedTx {
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        if self.control {
            return try_lock_briefly(&self.queue).map_or(0, |mut q| q.tx_burst(pkts));
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.tx_burst(pkts)
    }
}

/// Transmit handles for `slots` PMD slots plus the control thread over
/// `queues` (made by `make`): dedicated when there are enough, shared
/// behind a mutex otherwise.
pub(super) fn tx_handles(
    slots: usize,
    queues: u16,
    mut make: impl FnMut(u16) -> Result<TxHandle, String>,
) -> Result<(Vec<TxHandle>, TxHandle), String> {
    if queues as usize > slots {
        let pmd = (0..slots as u16)
            .map(&mut make)
            .collect::<Result<Vec<_>, _>>()?;
        let ctl = make(slots as u16)?;
        return Ok((pmd, ctl));
    }
    let shared: Vec<Arc<Mutex<TxHandle>>> = (0..queues.max(1))
        .map(|q| make(q).map(|h| Arc::new(Mutex::new(h))))
        .collect::<Result<_, _>>()?;
    let pmd = (0..slots)
        .map(|i| {
            Box::new(SharedTx {
                queue: shared[i % shared.len()].clone(),
                control: false,
            }) as TxHandle
        })
        .collect();
    let ctl = Box::new(SharedTx {
        queue: shared[shared.len() - 1].clone(),
        control: true,
    }) as TxHandle;
    Ok((pmd, ctl))
}
