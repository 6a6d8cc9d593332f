//! In-memory packets and port queues, for tests and benchmarks.
//!
//! [`MemPacket`] owns a boxed buffer with [`MEM_HEADROOM`] bytes of headroom
//! and room for a [`MEM_MAX_FRAME`]-byte frame, like a DPDK mbuf from a
//! jumbo pool. [`MemRxQueue`] hands out queued packets; [`MemTxQueue`]
//! collects what is sent and can pretend to be full.
//!
//! Steady state without allocation: a benchmark receives from a
//! [`MemRxQueue`], the pipeline transmits into a [`MemTxQueue`], and
//! [`MemTxQueue::recycle_into`] moves the sent packets back into the receive
//! queue. Only packet copies ([`Packet::try_copy`], used for floods)
//! allocate.

use std::collections::VecDeque;

use crate::packet::{Burst, Packet, RxQueue, TxQueue, BURST};

/// Headroom in front of a fresh packet's data.
pub const MEM_HEADROOM: usize = 128;
/// The largest frame a fresh packet holds (9000-byte MTU + header + 1 tag).
pub const MEM_MAX_FRAME: usize = 9018;
/// Total buffer size.
pub const MEM_BUF_SIZE: usize = MEM_HEADROOM + MEM_MAX_FRAME;

/// A packet in a heap buffer.
///
/// Like a DPDK mbuf pointer, a `MemPacket` is one machine word: a pointer
/// to one allocation that holds a one-cache-line header (data offset,
/// length, RSS hash) followed by the buffer, so a fresh packet's frame
/// starts on a cache-line boundary, as in an mbuf. Bursts and output
/// batches move packets around by value, so a fat packet would make the
/// in-memory pipeline benchmarks measure `memcpy` instead of switching.
pub struct MemPacket(Box<Buf>);

/// The allocation behind a [`MemPacket`].
#[repr(C)]
struct Buf {
    head: Head,
    bytes: [u8; MEM_BUF_SIZE],
}

/// What an mbuf header holds.
#[repr(C, align(64))]
struct Head {
    /// Start of the data in `bytes`.
    off: usize,
    /// Length of the data.
    len: usize,
    rss: Option<u32>,
    copy_fails: bool,
}

impl core::fmt::Debug for MemPacket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemPacket")
            .field("headroom", &self.0.head.off)
            .field("len", &self.0.head.len)
            .field("rss", &self.0.head.rss)
            .field("data", &self.data())
            .finish()
    }
}

impl MemPacket {
    /// A packet holding a copy of `frame` with [`MEM_HEADROOM`] of headroom.
    ///
    /// # Panics
    /// When `frame` is longer than [`MEM_MAX_FRAME`] (a test bug); see
    /// [`MemPacket::try_from_bytes`].
    pub fn from_bytes(frame: &[u8]) -> MemPacket {
        match MemPacket::try_from_bytes(frame) {
            Some(p) => p,
            None => panic!(
                "MemPacket::from_bytes: {} bytes exceeds {MEM_MAX_FRAME}",
                frame.len()
            ),
        }
    }

    /// Like [`MemPacket::from_bytes`], `None` when `frame` is too long.
    pub fn try_from_bytes(frame: &[u8]) -> Option<MemPacket> {
        MemPacket::with_headroom(frame, MEM_HEADROOM)
    }

    /// A packet holding a copy of `frame` with exactly `headroom` bytes in
    /// front (e.g. 0 to test a failed VLAN push). `None` when
    /// `headroom + frame.len()` exceeds [`MEM_BUF_SIZE`].
    pub fn with_headroom(frame: &[u8], headroom: usize) -> Option<MemPacket> {
        let end = headroom.checked_add(frame.len())?;
        if end > MEM_BUF_SIZE {
            return None;
        }
        let mut b = Box::new(Buf {
            head: Head {
                off: headroom,
                len: frame.len(),
                rss: None,
                copy_fails: false,
            },
            bytes: [0; MEM_BUF_SIZE],
        });
        b.bytes.get_mut(headroom..end)?.copy_from_slice(frame);
        Some(MemPacket(b))
    }

    /// Replace the contents with `frame` and reset the headroom to
    /// [`MEM_HEADROOM`], reusing the buffer (no allocation). Returns `false`
    /// and changes nothing when `frame` is longer than [`MEM_MAX_FRAME`].
    pub fn reset(&mut self, frame: &[u8]) -> bool {
        let b = &mut *self.0;
        let Some(dst) = b.bytes.get_mut(MEM_HEADROOM..MEM_HEADROOM + frame.len()) else {
            return false;
        };
        dst.copy_from_slice(frame);
        b.head.off = MEM_HEADROOM;
        b.head.len = frame.len();
        true
    }

    /// Bytes free in front of the data.
    pub fn headroom(&self) -> usize {
        self.0.head.off
    }

    /// Bytes free after the data.
    pub fn tailroom(&self) -> usize {
        MEM_BUF_SIZE - self.0.head.off - self.0.head.len
    }

    /// Pretend the NIC computed RSS hash `h` (or none).
    pub fn set_rss_hash(&mut self, h: Option<u32>) {
        self.0.head.rss = h;
    }

    /// Make [`Packet::try_copy`] of this packet fail (simulates an empty
    /// mempool). Copies that succeed do not inherit the flag.
    pub fn set_copy_fails(&mut self, fails: bool) {
        self.0.head.copy_fails = fails;
    }
}

impl Packet for MemPacket {
    #[inline]
    fn data(&self) -> &[u8] {
        let b = &*self.0;
        &b.bytes[b.head.off..b.head.off + b.head.len]
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let b = &mut *self.0;
        &mut b.bytes[b.head.off..b.head.off + b.head.len]
    }

    #[inline]
    fn pkt_len(&self) -> usize {
        self.0.head.len
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        let h = &mut self.0.head;
        if n > h.off {
            return false;
        }
        h.off -= n;
        h.len += n;
        true
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        let h = &mut self.0.head;
        if n > h.len {
            return false;
        }
        h.off += n;
        h.len -= n;
        true
    }

    /// A fresh buffer with [`MEM_HEADROOM`] of headroom (less if the data
    /// grew past [`MEM_MAX_FRAME`] into the headroom), like
    /// `rte_pktmbuf_copy`. Allocates.
    fn try_copy(&self) -> Option<MemPacket> {
        if self.0.head.copy_fails {
            return None;
        }
        let headroom = MEM_HEADROOM.min(MEM_BUF_SIZE - self.0.head.len);
        let mut p = MemPacket::with_headroom(self.data(), headroom)?;
        p.0.head.rss = self.0.head.rss;
        Some(p)
    }

    fn rss_hash(&self) -> Option<u32> {
        self.0.head.rss
    }
}

/// A receive queue fed by the test.
#[derive(Debug, Default)]
pub struct MemRxQueue {
    queue: VecDeque<MemPacket>,
}

impl MemRxQueue {
    /// An empty queue.
    pub fn new() -> MemRxQueue {
        MemRxQueue::default()
    }

    /// An empty queue that holds `n` packets without growing.
    pub fn with_capacity(n: usize) -> MemRxQueue {
        MemRxQueue {
            queue: VecDeque::with_capacity(n),
        }
    }

    /// Queue a packet.
    pub fn push(&mut self, p: MemPacket) {
        self.queue.push_back(p);
    }

    /// Queue a copy of `frame` (see [`MemPacket::from_bytes`]).
    pub fn push_bytes(&mut self, frame: &[u8]) {
        self.push(MemPacket::from_bytes(frame));
    }

    /// Packets waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// No packets waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl Extend<MemPacket> for MemRxQueue {
    fn extend<I: IntoIterator<Item = MemPacket>>(&mut self, iter: I) {
        self.queue.extend(iter);
    }
}

impl RxQueue<MemPacket> for MemRxQueue {
    fn rx_burst(&mut self, out: &mut Burst<MemPacket>) -> usize {
        let want = BURST.saturating_sub(out.len()).min(self.queue.len());
        out.extend(self.queue.drain(..want));
        want
    }
}

/// A transmit queue that keeps what it is sent.
#[derive(Debug, Default)]
pub struct MemTxQueue {
    /// Every packet accepted so far, in order.
    pub sent: Vec<MemPacket>,
    room: Option<usize>,
    calls: usize,
}

impl MemTxQueue {
    /// A queue that accepts everything.
    pub fn new() -> MemTxQueue {
        MemTxQueue::default()
    }

    /// A queue that accepts everything and holds `n` sent packets without
    /// growing.
    pub fn with_capacity(n: usize) -> MemTxQueue {
        MemTxQueue {
            sent: Vec::with_capacity(n),
            ..MemTxQueue::default()
        }
    }

    /// Accept at most `room` packets per `tx_burst` call (`None`: no limit).
    /// `Some(0)` is a queue that is always full.
    pub fn set_room(&mut self, room: Option<usize>) {
        self.room = room;
    }

    /// Number of `tx_burst` calls so far (including ones that sent nothing).
    pub fn tx_calls(&self) -> usize {
        self.calls
    }

    /// The frames sent so far, as byte vectors (allocates; for assertions).
    pub fn sent_frames(&self) -> Vec<Vec<u8>> {
        self.sent.iter().map(|p| p.data().to_vec()).collect()
    }

    /// Take the sent packets, leaving `sent` empty (with no capacity).
    pub fn take_sent(&mut self) -> Vec<MemPacket> {
        core::mem::take(&mut self.sent)
    }

    /// Move every sent packet to the back of `rx`, keeping the capacity of
    /// both (no allocation once `rx` has grown to the working set).
    pub fn recycle_into(&mut self, rx: &mut MemRxQueue) {
        rx.queue.extend(self.sent.drain(..));
    }
}

impl TxQueue<MemPacket> for MemTxQueue {
    fn tx_burst(&mut self, pkts: &mut Burst<MemPacket>) -> usize {
        self.calls += 1;
        let n = match self.room {
            Some(room) => room.min(pkts.len()),
            None => pkts.len(),
        };
        self.sent.extend(pkts.drain(..n));
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    #[test]
    fn from_bytes_has_headroom_and_data() {
        let f = frame(60);
        let p = MemPacket::from_bytes(&f);
        assert_eq!(p.data(), &f[..]);
        assert_eq!(p.pkt_len(), 60);
        assert_eq!(p.headroom(), MEM_HEADROOM);
        assert_eq!(p.tailroom(), MEM_MAX_FRAME - 60);
        assert!(MemPacket::try_from_bytes(&frame(MEM_MAX_FRAME)).is_some());
        assert!(MemPacket::try_from_bytes(&frame(MEM_MAX_FRAME + 1)).is_none());
    }

    #[test]
    fn a_packet_is_one_pointer() {
        // Bursts and batches move packets by value, as DPDK moves mbuf
        // pointers; a fat packet would make benchmarks measure memcpy.
        assert_eq!(
            core::mem::size_of::<MemPacket>(),
            core::mem::size_of::<usize>()
        );
        assert_eq!(core::mem::size_of::<Option<MemPacket>>(), 8);
        // The header is one cache line and a fresh frame starts on a line
        // boundary, as in an mbuf.
        let p = MemPacket::from_bytes(&frame(60));
        assert_eq!(p.data().as_ptr() as usize % 64, 0);
        assert_eq!(core::mem::size_of::<Head>(), 64);
    }

    #[test]
    fn prepend_and_adj_respect_bounds() {
        let mut p = MemPacket::with_headroom(&frame(20), 4).unwrap();
        assert!(!p.prepend(5));
        assert_eq!(p.data(), &frame(20)[..]);
        assert!(p.prepend(4));
        assert_eq!(p.data().len(), 24);
        assert_eq!(&p.data()[4..], &frame(20)[..]);
        assert!(!p.prepend(1));
        assert!(!p.adj(25));
        assert_eq!(p.data().len(), 24);
        assert!(p.adj(4));
        assert_eq!(p.data(), &frame(20)[..]);
        assert!(p.adj(20));
        assert!(p.data().is_empty());
        assert!(!p.adj(1));
    }

    #[test]
    fn copy_is_independent_and_can_fail() {
        let mut p = MemPacket::from_bytes(&frame(64));
        p.set_rss_hash(Some(7));
        let mut c = p.try_copy().unwrap();
        c.data_mut()[0] = 0xee;
        assert_eq!(p.data()[0], 0);
        assert_eq!(c.headroom(), MEM_HEADROOM);
        assert_eq!(c.rss_hash(), Some(7));
        p.set_copy_fails(true);
        assert!(p.try_copy().is_none());
        // A maximal frame that grew into the headroom still copies.
        let mut big = MemPacket::from_bytes(&frame(MEM_MAX_FRAME));
        assert!(big.prepend(MEM_HEADROOM));
        let c = big.try_copy().unwrap();
        assert_eq!(c.data(), big.data());
        assert_eq!(c.headroom(), 0);
    }

    #[test]
    fn reset_reuses_the_buffer() {
        let mut p = MemPacket::from_bytes(&frame(64));
        assert!(p.adj(10));
        assert!(p.reset(&frame(30)));
        assert_eq!(p.data(), &frame(30)[..]);
        assert_eq!(p.headroom(), MEM_HEADROOM);
        assert!(!p.reset(&frame(MEM_MAX_FRAME + 1)));
        assert_eq!(p.data(), &frame(30)[..]);
    }

    #[test]
    fn rx_burst_fills_up_to_burst() {
        let mut rx = MemRxQueue::new();
        for i in 0..40u8 {
            rx.push_bytes(&[i; 60]);
        }
        let mut out = Burst::new();
        out.push(MemPacket::from_bytes(&[0xaa; 60]));
        assert_eq!(rx.rx_burst(&mut out), BURST - 1);
        assert_eq!(out.len(), BURST);
        assert_eq!(out[1].data()[0], 0);
        assert_eq!(out[BURST - 1].data()[0], (BURST - 2) as u8);
        assert_eq!(rx.rx_burst(&mut out), 0, "burst already full");
        out.clear();
        assert_eq!(rx.rx_burst(&mut out), 40 - (BURST - 1));
        assert_eq!(out[0].data()[0], (BURST - 1) as u8);
        assert!(rx.is_empty());
        out.clear();
        assert_eq!(rx.rx_burst(&mut out), 0);
    }

    #[test]
    fn tx_burst_honours_room() {
        let mut tx = MemTxQueue::new();
        tx.set_room(Some(3));
        let mut b: Burst<MemPacket> = (0..5u8).map(|i| MemPacket::from_bytes(&[i; 60])).collect();
        assert_eq!(tx.tx_burst(&mut b), 3);
        assert_eq!(b.len(), 2, "unsent packets stay with the caller");
        assert_eq!(b[0].data()[0], 3);
        assert_eq!(tx.sent.len(), 3);
        assert_eq!(tx.sent[2].data()[0], 2);
        tx.set_room(Some(0));
        assert_eq!(tx.tx_burst(&mut b), 0);
        assert_eq!(b.len(), 2);
        tx.set_room(None);
        assert_eq!(tx.tx_burst(&mut b), 2);
        assert!(b.is_empty());
        assert_eq!(tx.tx_calls(), 3);
        let frames = tx.sent_frames();
        assert_eq!(
            frames.iter().map(|f| f[0]).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn recycle_keeps_capacity() {
        let mut rx = MemRxQueue::with_capacity(64);
        let mut tx = MemTxQueue::with_capacity(64);
        for i in 0..BURST as u8 {
            rx.push_bytes(&[i; 60]);
        }
        let mut b = Burst::new();
        for _ in 0..3 {
            assert_eq!(rx.rx_burst(&mut b), BURST);
            assert_eq!(tx.tx_burst(&mut b), BURST);
            tx.recycle_into(&mut rx);
            assert!(tx.sent.is_empty());
            assert!(tx.sent.capacity() >= 64);
            assert_eq!(rx.len(), BURST);
        }
        let mut b = Burst::new();
        rx.rx_burst(&mut b);
        assert_eq!(b[5].data()[0], 5, "order preserved");
    }
}
