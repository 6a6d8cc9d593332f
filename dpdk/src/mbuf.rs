//! `Mbuf`: an owned DPDK packet buffer implementing
//! [`datapath::packet::Packet`].
//!
//! Per-packet accessors read and write the `rte_mbuf` fields directly (no
//! FFI call): `data()` is `buf_addr + data_off` for `data_len` bytes of the
//! first segment; `prepend`/`adj` update `data_off`, `data_len` and
//! `pkt_len` exactly as `rte_pktmbuf_prepend`/`rte_pktmbuf_adj` do. Copies
//! (`rte_pktmbuf_copy`) and frees (`rte_pktmbuf_free[_bulk]`) go through
//! DPDK.

use core::fmt;
use core::ptr::NonNull;

use datapath::packet::{Burst, Packet};
use dpdk_sys as sys;

use crate::error::{DpdkError, Result};
use crate::mempool::Mempool;

/// One packet buffer (possibly the head of a segment chain), owned: freed
/// with `rte_pktmbuf_free` on drop.
///
/// `#[repr(transparent)]`, so a `[Mbuf]` is an array of `rte_mbuf *` that
/// bursts hand to DPDK directly.
///
/// Invariant: the mbuf is a direct (not cloned/attached) packet mbuf this
/// value exclusively owns, so its data may be written.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf is the unique owner of its rte_mbuf; moving it to another
// thread moves that ownership. Freeing from any thread is allowed by DPDK
// (mempool ops are multi-producer).
unsafe impl Send for Mbuf {}
// SAFETY: &Mbuf only allows reading the buffer (data(), pkt_len(), ...)
// and try_copy, which only reads the source mbuf.
unsafe impl Sync for Mbuf {}

impl Mbuf {
    /// A fresh, empty mbuf from `pool` (data at [`crate::mempool::HEADROOM`]);
    /// `None` when the pool is exhausted.
    pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: `pool` is a valid pktmbuf pool for the duration of the
        // call; the returned mbuf (if any) is fresh and ours alone.
        let m = unsafe { sys::rte_pktmbuf_alloc(pool.as_ptr()) };
        NonNull::new(m).map(Mbuf)
    }

    /// An mbuf from `pool` holding a copy of `bytes` in its first segment
    /// (for frames the control thread builds, such as LACPDUs). Fails when
    /// the pool is exhausted or `bytes` does not fit in one buffer.
    pub fn from_bytes(pool: &Mempool, bytes: &[u8]) -> Result<Mbuf> {
        let mut m = Mbuf::alloc(pool).ok_or_else(|| {
            DpdkError::other("rte_pktmbuf_alloc", pool.name(), "mempool exhausted")
        })?;
        if !m.append(bytes) {
            return Err(DpdkError::other(
                "Mbuf::from_bytes",
                pool.name(),
                format!(
                    "{} bytes do not fit in one mbuf (tailroom {})",
                    bytes.len(),
                    m.tailroom()
                ),
            ));
        }
        Ok(m)
    }

    #[inline(always)]
    fn raw(&self) -> &sys::rte_mbuf {
        // SAFETY: the pointer is valid and exclusively ours for our lifetime
        // (type invariant).
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    fn raw_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: as in raw(); &mut self gives exclusive access.
        unsafe { self.0.as_mut() }
    }

    /// Bytes free in front of the data (first segment).
    #[inline]
    pub fn headroom(&self) -> usize {
        usize::from(self.raw().data_off)
    }

    /// Bytes free after the data of the first segment.
    #[inline]
    pub fn tailroom(&self) -> usize {
        let m = self.raw();
        usize::from(m.buf_len)
            .saturating_sub(usize::from(m.data_off))
            .saturating_sub(usize::from(m.data_len))
    }

    /// Number of segments in the chain (1 for a linear packet).
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// The DPDK port the packet was received on (as the driver set it).
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Append `bytes` at the end of a single-segment mbuf, as
    /// `rte_pktmbuf_append` does. Returns `false` (and changes nothing) when
    /// the mbuf is chained or the tailroom is too small.
    pub fn append(&mut self, bytes: &[u8]) -> bool {
        if self.nb_segs() != 1 || bytes.len() > self.tailroom() {
            return false;
        }
        let m = self.raw_mut();
        let end = usize::from(m.data_off) + usize::from(m.data_len);
        // SAFETY: buf_addr points to a buffer of buf_len bytes, and
        // end + bytes.len() <= buf_len (tailroom check above); the source
        // is a separate Rust slice.
        unsafe {
            let dst = m.buf_addr.cast::<u8>().add(end);
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        // bytes.len() <= tailroom < 65536, and pkt_len == data_len for one segment.
        m.data_len += bytes.len() as u16;
        m.pkt_len += bytes.len() as u32;
        true
    }

    /// The raw pointer, for handing to DPDK.
    #[inline(always)]
    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (type invariant) and never use it again.
        unsafe { sys::rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("headroom", &self.headroom())
            .field("data_len", &self.data().len())
            .field("pkt_len", &self.pkt_len())
            .field("nb_segs", &self.nb_segs())
            .finish()
    }
}

impl Packet for Mbuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: a packet mbuf's first segment holds data_len initialized
        // bytes at buf_addr + data_off (DPDK invariant, kept by prepend/adj/
        // append); the buffer lives as long as we own the mbuf.
        unsafe {
            core::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in data(); the mbuf is direct and exclusively ours
        // (type invariant), so nobody else reads or writes these bytes.
        unsafe {
            core::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline(always)]
    fn pkt_len(&self) -> usize {
        self.raw().pkt_len as usize
    }

    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_off) {
            return false;
        }
        // n <= data_off <= u16::MAX, and data_len + n <= buf_len.
        let n16 = n as u16;
        m.data_off -= n16;
        m.data_len += n16;
        m.pkt_len += u32::from(n16);
        true
    }

    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_len) {
            return false;
        }
        let n16 = n as u16;
        m.data_off += n16;
        m.data_len -= n16;
        m.pkt_len -= u32::from(n16);
        true
    }

    fn try_copy(&self) -> Option<Mbuf> {
        let m = self.raw();
        // SAFETY: the source mbuf is valid and only read; the copy comes
        // from the source's own pool (alive while one of its mbufs is) and
        // is a fresh direct mbuf we own. u32::MAX = the whole packet.
        let c = unsafe { sys::rte_pktmbuf_copy(self.as_ptr(), m.pool, 0, u32::MAX) };
        NonNull::new(c).map(Mbuf)
    }

    #[inline(always)]
    fn rss_hash(&self) -> Option<u32> {
        let m = self.raw();
        if m.ol_flags & u64::from(sys::RTE_MBUF_F_RX_RSS_HASH) != 0 {
            // SAFETY: reading a u32 member of a plain-data union; every bit
            // pattern is valid. The RSS flag says this member is the live one.
            Some(unsafe { m.__bindgen_anon_2.hash.rss })
        } else {
            None
        }
    }

    fn free_bulk(pkts: &mut Burst<Mbuf>) {
        let n = pkts.len();
        if n == 0 {
            return;
        }
        // SAFETY: Mbuf is repr(transparent) over a non-null rte_mbuf
        // pointer, so the burst is an array of n valid, owned mbuf pointers.
        // rte_pktmbuf_free_bulk frees them all (chains and mixed pools
        // included); set_len(0) then forgets the Rust values without
        // running their Drop, so nothing is freed twice.
        unsafe {
            sys::rte_pktmbuf_free_bulk(pkts.as_mut_ptr().cast::<*mut sys::rte_mbuf>(), n as u32);
            pkts.set_len(0);
        }
    }
}

/// Remove the first `sent` packets of `pkts` without dropping them (a
/// driver took ownership of them) and move the rest to the front.
#[inline(always)]
pub(crate) fn forget_front(pkts: &mut Burst<Mbuf>, sent: usize) {
    let len = pkts.len();
    let sent = sent.min(len);
    if sent == 0 {
        return;
    }
    // SAFETY: indices stay within 0..len. The first `sent` elements are
    // overwritten without being dropped (their ownership went to DPDK);
    // the remaining `len - sent` are moved (bitwise, may overlap) to the
    // front, and the length shrinks so no element is duplicated.
    unsafe {
        let p = pkts.as_mut_ptr();
        core::ptr::copy(p.add(sent), p, len - sent);
        pkts.set_len(len - sent);
    }
}
