//! Letting threads that EAL did not create use DPDK efficiently.
//!
//! Mempools keep a per-lcore object cache. A thread EAL does not know
//! (`rte_lcore_id() == LCORE_ID_ANY`: Rust std threads, the daemon's PMD
//! threads) bypasses the cache, so every mbuf alloc/free goes to the shared
//! ring (a compare-and-swap per bulk operation instead of a plain array
//! access). Correctness is not affected — mempools, ethdev queues (one
//! thread per queue) and vhost queues are safe from any thread — only speed.
//!
//! [`register_current`] gives the thread an lcore id with
//! `rte_thread_register()` (DPDK 22.11), so it gets its own cache. Call it
//! at the start of every PMD thread and keep the returned guard alive for
//! the thread's life. Registration does not change the thread's CPU
//! affinity. It is refused when DPDK multi-process is in use (a secondary
//! process is attached).

use std::marker::PhantomData;

use dpdk_sys as sys;

use crate::eal::{ensure_init, lcore_id};
use crate::error::{DpdkError, Result};

/// The calling thread's lcore registration; unregisters on drop. Not
/// `Send`: it belongs to the thread that made it.
#[derive(Debug)]
pub struct ThreadRegistration {
    lcore: u32,
    /// false when the thread already was an lcore (EAL thread): nothing to
    /// undo on drop.
    owned: bool,
    _not_send: PhantomData<*const ()>,
}

impl ThreadRegistration {
    /// The lcore id this thread now has.
    pub fn lcore_id(&self) -> u32 {
        self.lcore
    }
}

impl Drop for ThreadRegistration {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: this thread registered itself with rte_thread_register
            // and the guard is !Send, so we are on that same thread.
            unsafe { sys::rte_thread_unregister() };
        }
    }
}

/// Register the calling thread as a DPDK lcore (see the module docs).
/// A thread that already has an lcore id (EAL's main thread, an EAL worker,
/// or one already registered) gets a guard that does nothing on drop.
pub fn register_current() -> Result<ThreadRegistration> {
    ensure_init("rte_thread_register", "")?;
    if let Some(lcore) = lcore_id() {
        return Ok(ThreadRegistration {
            lcore,
            owned: false,
            _not_send: PhantomData,
        });
    }
    // SAFETY: EAL is initialized; registers the calling thread only.
    let ret = unsafe { sys::rte_thread_register() };
    if ret != 0 {
        return Err(DpdkError::from_rte_errno("rte_thread_register", ""));
    }
    let lcore = lcore_id()
        .ok_or_else(|| DpdkError::other("rte_thread_register", "", "thread got no lcore id"))?;
    Ok(ThreadRegistration {
        lcore,
        owned: true,
        _not_send: PhantomData,
    })
}
