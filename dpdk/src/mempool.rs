//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use dpdk_sys as sys;

use crate::eal::ensure_init;
use crate::error::{DpdkError, Result};

/// Bytes of headroom DPDK leaves in front of a fresh mbuf's data
/// (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: u16 = sys::RTE_PKTMBUF_HEADROOM as u16;
/// `RTE_MBUF_DEFAULT_BUF_SIZE`: headroom plus 2048 bytes of data, enough for
/// a 1500-byte MTU frame with VLAN tags in one segment.
pub const DEFAULT_DATA_ROOM: u16 = sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

struct PoolInner {
    mp: NonNull<sys::rte_mempool>,
    name: String,
}

// SAFETY: a DPDK mempool is a shared object designed for use from many
// threads (its default ops are a multi-producer/multi-consumer ring; the
// per-lcore caches are indexed by the calling thread's lcore id).
unsafe impl Send for PoolInner {}
// SAFETY: see Send; every method takes &self and is thread-safe in DPDK.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Free the pool only when no mbuf of it is alive anywhere (in a Rust
        // `Mbuf`, a device ring, a vhost queue). Otherwise leak it: freeing
        // would leave those mbufs pointing into freed memory. Nobody else
        // can allocate from it any more (this was the last handle).
        // SAFETY: `mp` is a valid pool created by rte_pktmbuf_pool_create.
        let in_use = unsafe { sys::rte_mempool_in_use_count(self.mp.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no object of the pool is in use and this was the last
            // handle, so nothing refers to it after this call.
            unsafe { sys::rte_mempool_free(self.mp.as_ptr()) };
        }
    }
}

/// A pool of packet buffers (mbufs). Cheap to clone (a shared handle);
/// `Send + Sync`. The pool is freed when the last handle is dropped and no
/// mbuf of it is in use; otherwise it is kept for the life of the process.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl core::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .field("in_use", &self.in_use_count())
            .field("avail", &self.avail_count())
            .finish()
    }
}

impl Mempool {
    /// Create a pool of `n_mbufs` packet buffers, each with `data_room`
    /// bytes of buffer ([`HEADROOM`] of which are headroom: use
    /// [`DEFAULT_DATA_ROOM`] for a 1500-byte MTU, or `HEADROOM + MTU + 26`
    /// for jumbo frames in one segment), a per-lcore cache of `cache`
    /// mbufs (0 = none; at most 512 and at most `n_mbufs / 1.5`), on NUMA
    /// socket `socket_id` ([`crate::eal::SOCKET_ID_ANY`] for any). `name`
    /// must be unique in the process (at most 25 bytes).
    pub fn pktmbuf(
        name: &str,
        n_mbufs: u32,
        cache: u32,
        data_room: u16,
        socket_id: i32,
    ) -> Result<Mempool> {
        const OP: &str = "rte_pktmbuf_pool_create";
        ensure_init(OP, name)?;
        let cname = CString::new(name)
            .map_err(|_| DpdkError::other(OP, name, "name contains a NUL byte"))?;
        // SAFETY: EAL is initialized; `cname` is a valid C string that DPDK
        // copies; the other arguments are plain values DPDK validates.
        let mp = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n_mbufs, cache, 0, data_room, socket_id)
        };
        let mp = NonNull::new(mp).ok_or_else(|| DpdkError::from_rte_errno(OP, name))?;
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                mp,
                name: name.to_string(),
            }),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Mbufs currently allocated (in Rust values, device rings, queues).
    /// The leak tests compare it with a baseline.
    pub fn in_use_count(&self) -> u32 {
        // SAFETY: valid pool for the life of `self`.
        unsafe { sys::rte_mempool_in_use_count(self.as_ptr()) }
    }

    /// Mbufs free to allocate (including those in per-lcore caches).
    pub fn avail_count(&self) -> u32 {
        // SAFETY: valid pool for the life of `self`.
        unsafe { sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Total number of mbufs in the pool.
    pub fn capacity(&self) -> u32 {
        // SAFETY: valid pool for the life of `self`; `size` is set at
        // creation and never changes.
        unsafe { (*self.as_ptr()).size }
    }

    /// Buffer bytes per mbuf, headroom included.
    pub fn data_room(&self) -> u16 {
        // SAFETY: valid pktmbuf pool (created by rte_pktmbuf_pool_create,
        // so its private area holds the data room size).
        unsafe { sys::rte_pktmbuf_data_room_size(self.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.mp.as_ptr()
    }
}
