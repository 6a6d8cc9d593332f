//! The packet-buffer and port-queue traits the pipeline runs over.
//!
//! DPDK mbufs (in `vswitchd`) and in-memory buffers ([`crate::mem`]) both
//! implement them, so the same pipeline code is tested without DPDK and run
//! with it.

use smallvec::SmallVec;

/// The largest burst the pipeline handles at once.
pub const BURST: usize = 32;

/// A burst of packets, stored inline (never allocates up to [`BURST`]).
pub type Burst<P> = SmallVec<[P; BURST]>;

/// One packet buffer with headroom in front of its data.
///
/// `data()` is the contiguous first segment, which always holds the headers
/// the switch reads or edits (Ethernet, VLAN, IP and L4 ports).
pub trait Packet: Sized {
    /// The bytes of the first segment, starting at the Ethernet header.
    fn data(&self) -> &[u8];
    /// Mutable view of the same bytes.
    fn data_mut(&mut self) -> &mut [u8];
    /// Total frame length over all segments, for byte counters and MTU checks.
    fn pkt_len(&self) -> usize {
        self.data().len()
    }
    /// Grow the data `n` bytes towards the front, into headroom. Returns
    /// `false` (and changes nothing) when there is not enough headroom.
    fn prepend(&mut self, n: usize) -> bool;
    /// Remove `n` bytes from the front. Returns `false` (and changes nothing)
    /// when the first segment is shorter than `n`.
    fn adj(&mut self, n: usize) -> bool;
    /// A new, independent copy with the same headroom guarantees, used for
    /// flooding. `None` when no buffer is available.
    fn try_copy(&self) -> Option<Self>;
    /// A hash the NIC computed over the flow (RSS), if it provided one.
    fn rss_hash(&self) -> Option<u32> {
        None
    }
    /// Free every packet in `pkts`, leaving it empty. Implementations backed
    /// by pools override this with a bulk free.
    fn free_bulk(pkts: &mut Burst<Self>) {
        pkts.clear();
    }
}

/// The receive side of one queue of one interface.
pub trait RxQueue<P: Packet> {
    /// Append up to `BURST - out.len()` received packets to `out`; return how
    /// many were appended.
    fn rx_burst(&mut self, out: &mut Burst<P>) -> usize;
}

/// The transmit side of one queue of one interface.
pub trait TxQueue<P: Packet> {
    /// Transmit a prefix of `pkts`, removing the transmitted packets from the
    /// front of it; return how many were sent. Packets left in `pkts` were
    /// not accepted (queue full); the caller frees and counts them.
    fn tx_burst(&mut self, pkts: &mut Burst<P>) -> usize;
}
