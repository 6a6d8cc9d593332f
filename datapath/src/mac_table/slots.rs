//! The lock-free part of the table: buckets of `(key, meta)` slots that every
//! PMD thread reads without a lock.
//!
//! # Layout
//!
//! The table is an array of 64-byte, cache-line-aligned buckets of four
//! slots. A key lives in one of two buckets chosen by a seeded hash
//! (bucketized cuckoo hashing), so a lookup reads at most two cache lines.
//! A slot is two words:
//!
//! - `key`: `1 << 63 | vlan << 48 | mac` for an entry, `0` ([`EMPTY`]) for a
//!   free slot. Bit 63 keeps every real key distinct from `EMPTY`.
//! - `meta`: `version << 48 | port << 32 | seen`, where `seen` is the second
//!   the station was last heard from ([`STATIC_SEEN`] for a static entry) and
//!   `version` is the slot's sequence counter, odd while the writer is
//!   changing the slot.
//!
//! # Memory ordering (a per-slot seqlock)
//!
//! Only the writer (whoever holds the table's writer lock) changes keys,
//! ports and versions. It does so in three steps:
//!
//! 1. [`Slots::begin`]: `meta.fetch_add(1 << 48)` makes the version odd, then
//!    a release fence;
//! 2. store the new `key` (relaxed), if the key changes;
//! 3. [`Slots::finish`]: store the new `meta` with version + 2 (even) with
//!    release ordering.
//!
//! A reader that found its key in a slot (relaxed scan) validates it:
//! `m1 = meta.load(Acquire)`, reject if odd; `k = key.load(Relaxed)`; an
//! acquire fence; `m2 = meta.load(Relaxed)`; accept only if `k` is the key
//! and `m1`, `m2` have the same version and port. This is the classic
//! seqlock argument:
//!
//! - If `k` was stored by a write `W`, the writer's release fence (after
//!   `W`'s odd increment) synchronizes with the reader's acquire fence, so
//!   `m2` observes `W`'s odd version or something later. `m1` could only equal
//!   it if `m1` was itself read at or after `W`'s final store, so a mixed
//!   pair is rejected.
//! - If `m1` was read from the final store of `W` (release/acquire), `W`'s
//!   key store happens before the reader's key load, so `k` is `W`'s key or a
//!   later one, and a later one changes the version before `m2`.
//!
//! So an accepted `(key, port)` pair was really in the slot at one instant.
//! Versions are 16 bits (15 after the busy bit): a torn read would need the
//! writer to rewrite the same slot exactly a multiple of 32,768 times between
//! a reader's two loads of `meta`, a few nanoseconds apart.
//!
//! Readers also refresh `seen` without the lock ([`Slots::touch`]): a
//! compare-exchange of the whole `meta` word that changes only `seen`. It
//! fails if the writer touched the slot in between (the version or port
//! changed, or the version is odd), so a refresh can never resurrect an old
//! port or mark a different key as fresh. Readers ignore `seen` when they
//! compare `m1` and `m2`, so refreshes never make them retry. The writer's
//! `fetch_add` in `begin` returns the latest `seen`, so a refresh that lands
//! before `begin` is never lost.

use crate::wire::MacAddr;
use core::sync::atomic::{
    fence, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Slots per bucket (one 64-byte cache line).
pub(super) const WAYS: usize = 4;
/// The key of a free slot.
pub(super) const EMPTY: u64 = 0;
/// Set in every real key.
const KEY_VALID: u64 = 1 << 63;
/// `seen` of a static entry.
pub(super) const STATIC_SEEN: u32 = u32::MAX;
/// How often a reader re-reads a slot that changes under it before it gives
/// up and reports a (transient) miss.
const READ_RETRIES: usize = 3;

/// The table key of `(vlan, mac)`. Only the low 12 bits of `vlan` count.
#[inline(always)]
pub(super) fn encode_key(vlan: u16, mac: MacAddr) -> u64 {
    KEY_VALID | ((vlan as u64 & 0xfff) << 48) | mac.to_u64()
}

/// Inverse of [`encode_key`].
pub(super) fn decode_key(key: u64) -> (u16, MacAddr) {
    (((key >> 48) & 0xfff) as u16, MacAddr::from_u64(key))
}

/// A slot's `meta` word.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) struct Meta(u64);

const VERSION_SHIFT: u32 = 48;
const VERSION_ONE: u64 = 1 << VERSION_SHIFT;

impl Meta {
    /// The second the station was last heard from, or [`STATIC_SEEN`].
    #[inline(always)]
    pub(super) fn seen(self) -> u32 {
        self.0 as u32
    }

    /// The bridge port.
    #[inline(always)]
    pub(super) fn port(self) -> u16 {
        (self.0 >> 32) as u16
    }

    /// A static (configured) entry.
    #[inline(always)]
    pub(super) fn is_static(self) -> bool {
        self.seen() == STATIC_SEEN
    }

    /// The writer is changing the slot.
    #[inline(always)]
    fn busy(self) -> bool {
        (self.0 >> VERSION_SHIFT) & 1 == 1
    }

    /// Same version and port (`seen` may differ).
    #[inline(always)]
    fn same_entry(self, other: Meta) -> bool {
        (self.0 ^ other.0) >> 32 == 0
    }

    fn with_seen(self, seen: u32) -> Meta {
        Meta((self.0 & !0xffff_ffff) | seen as u64)
    }
}

#[derive(Debug, Default)]
#[repr(C)]
struct Slot {
    key: AtomicU64,
    meta: AtomicU64,
}

#[derive(Debug, Default)]
#[repr(C, align(64))]
struct Bucket {
    slots: [Slot; WAYS],
}

/// The bucket array. Reads are lock-free; every method documented "writer"
/// must only be called by the holder of the table's writer lock.
#[derive(Debug)]
pub(super) struct Slots {
    buckets: Box<[Bucket]>,
    mask: u64,
    seed: [u64; 2],
}

impl Slots {
    /// `n_buckets` (a power of two, at least 2) empty buckets.
    pub(super) fn new(n_buckets: usize, seed: [u64; 2]) -> Slots {
        debug_assert!(n_buckets.is_power_of_two() && n_buckets >= 2);
        Slots {
            buckets: (0..n_buckets).map(|_| Bucket::default()).collect(),
            mask: n_buckets as u64 - 1,
            seed: [seed[0], seed[1] | 1],
        }
    }

    /// Number of slots.
    pub(super) fn capacity(&self) -> usize {
        self.buckets.len() * WAYS
    }

    /// Seeded hash of a key: one 64×64→128-bit multiply, folded.
    #[inline(always)]
    fn hash(&self, key: u64) -> u64 {
        let p = (key ^ self.seed[0]) as u128 * self.seed[1] as u128;
        (p as u64) ^ ((p >> 64) as u64)
    }

    /// The two candidate buckets of `key` (always distinct).
    #[inline(always)]
    pub(super) fn buckets_of(&self, key: u64) -> (usize, usize) {
        let h = self.hash(key);
        let b1 = (h & self.mask) as usize;
        let mut b2 = ((h >> 32) & self.mask) as usize;
        if b2 == b1 {
            b2 ^= 1;
        }
        (b1, b2)
    }

    /// The other candidate bucket of `key`, which is in bucket `b`.
    pub(super) fn alt_bucket(&self, key: u64, b: usize) -> usize {
        let (b1, b2) = self.buckets_of(key);
        if b == b1 {
            b2
        } else {
            b1
        }
    }

    #[inline(always)]
    fn slot(&self, idx: u32) -> &Slot {
        let i = idx as usize;
        &self.buckets[i / WAYS].slots[i % WAYS]
    }

    /// Lock-free lookup: the slot holding `key` and its validated `meta`.
    #[inline(always)]
    pub(super) fn find(&self, key: u64) -> Option<(u32, Meta)> {
        let (b1, b2) = self.buckets_of(key);
        match self.find_in(b1, key) {
            Some(r) => Some(r),
            None => self.find_in(b2, key),
        }
    }

    #[inline(always)]
    fn find_in(&self, b: usize, key: u64) -> Option<(u32, Meta)> {
        let bucket = &self.buckets[b];
        // Compare all four keys without branching (the way a key sits in is
        // random, so a branch per way would be mispredicted), then validate
        // the candidates.
        let mut mask = 0u32;
        for (w, slot) in bucket.slots.iter().enumerate() {
            mask |= ((slot.key.load(Relaxed) == key) as u32) << w;
        }
        while mask != 0 {
            let w = mask.trailing_zeros() as usize;
            if let Some(m) = read_validated(&bucket.slots[w % WAYS], key) {
                return Some(((b * WAYS + w % WAYS) as u32, m));
            }
            mask &= mask - 1;
        }
        None
    }

    /// Hint the CPU to load the first candidate bucket of `key`: the one
    /// [`Slots::find`] reads first, and where most keys sit at the table's
    /// load factor. (Prefetching both doubles the memory traffic of a burst
    /// of many stations, and the prefetches then wait for fill buffers.)
    #[inline(always)]
    pub(super) fn prefetch(&self, key: u64) {
        let (b1, _) = self.buckets_of(key);
        prefetch_line(&self.buckets[b1]);
    }

    /// Lock-free refresh of `seen` in slot `idx`, whose validated meta was
    /// `m`. Does nothing if the slot changed since `m` was read.
    #[inline(always)]
    pub(super) fn touch(&self, idx: u32, m: Meta, seen: u32) {
        // Relaxed: the new word publishes no other data; the compare makes
        // sure only `seen` changes (see the module comment).
        let _ = self
            .slot(idx)
            .meta
            .compare_exchange(m.0, m.with_seen(seen).0, Relaxed, Relaxed);
    }

    /// Writer: the key in slot `idx`.
    #[inline]
    pub(super) fn key(&self, idx: u32) -> u64 {
        self.slot(idx).key.load(Relaxed)
    }

    /// Writer: the meta of slot `idx` (never busy outside a write).
    #[inline]
    pub(super) fn meta(&self, idx: u32) -> Meta {
        Meta(self.slot(idx).meta.load(Relaxed))
    }

    /// Writer: the slot holding `key` (no validation needed: only the writer
    /// changes keys).
    pub(super) fn find_writer(&self, key: u64) -> Option<(u32, Meta)> {
        let (b1, b2) = self.buckets_of(key);
        for b in [b1, b2] {
            for w in 0..WAYS {
                let idx = (b * WAYS + w) as u32;
                if self.key(idx) == key {
                    return Some((idx, self.meta(idx)));
                }
            }
        }
        None
    }

    /// Writer: a free slot in bucket `b`.
    pub(super) fn free_way(&self, b: usize) -> Option<u32> {
        (0..WAYS)
            .map(|w| (b * WAYS + w) as u32)
            .find(|&idx| self.key(idx) == EMPTY)
    }

    /// Writer: start changing slot `idx` (makes its version odd). Returns the
    /// meta before the change, including any refresh that landed before it.
    #[inline]
    pub(super) fn begin(&self, idx: u32) -> Meta {
        let prev = Meta(self.slot(idx).meta.fetch_add(VERSION_ONE, Relaxed));
        debug_assert!(!prev.busy(), "slot {idx} already being written");
        // Orders the odd version before the key store that follows (see the
        // module comment).
        fence(Release);
        prev
    }

    /// Writer: finish the change begun by [`Slots::begin`] (which returned
    /// `prev`): store `key` if given, then the new port and `seen` with an
    /// even version.
    #[inline]
    pub(super) fn finish(&self, idx: u32, prev: Meta, key: Option<u64>, port: u16, seen: u32) {
        let slot = self.slot(idx);
        if let Some(k) = key {
            slot.key.store(k, Relaxed);
        }
        let version = (prev.0 >> VERSION_SHIFT).wrapping_add(2) & 0xffff;
        let meta = (version << VERSION_SHIFT) | ((port as u64) << 32) | seen as u64;
        slot.meta.store(meta, Release);
    }

    /// Writer: every occupied slot, as `(idx, key, meta)`.
    pub(super) fn occupied(&self) -> impl Iterator<Item = (u32, u64, Meta)> + '_ {
        (0..self.capacity() as u32).filter_map(move |idx| {
            let k = self.key(idx);
            (k != EMPTY).then(|| (idx, k, self.meta(idx)))
        })
    }
}

/// Read slot `slot`, which looked like it held `key`, under the seqlock
/// protocol. `None` if it does not hold `key` or kept changing.
#[inline(always)]
fn read_validated(slot: &Slot, key: u64) -> Option<Meta> {
    for _ in 0..READ_RETRIES {
        let m1 = Meta(slot.meta.load(Acquire));
        if m1.busy() {
            core::hint::spin_loop();
            continue;
        }
        let k = slot.key.load(Relaxed);
        fence(Acquire);
        let m2 = Meta(slot.meta.load(Relaxed));
        if k != key {
            return None;
        }
        if m1.same_entry(m2) {
            return Some(m2);
        }
    }
    None
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_line<T>(p: &T) {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: a prefetch is only a hint: it never faults and has no visible
    // effect, and `p` is a valid reference in any case. SSE, which provides
    // the instruction, is part of the x86_64 baseline.
    unsafe { _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast::<i8>()) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch_line<T>(_p: &T) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip_and_layout() {
        let mac = MacAddr([0xff; 6]);
        let k = encode_key(4095, mac);
        assert_ne!(k, EMPTY);
        assert_eq!(decode_key(k), (4095, mac));
        assert_ne!(encode_key(0, MacAddr::ZERO), EMPTY);
        assert_eq!(decode_key(encode_key(0, MacAddr::ZERO)), (0, MacAddr::ZERO));
        assert_eq!(core::mem::size_of::<Bucket>(), 64);
        assert_eq!(core::mem::align_of::<Bucket>(), 64);
    }

    #[test]
    fn seqlock_write_then_read() {
        let s = Slots::new(2, [1, 2]);
        let key = encode_key(7, MacAddr([2, 0, 0, 0, 0, 1]));
        let (b1, _) = s.buckets_of(key);
        let idx = s.free_way(b1).unwrap();
        let prev = s.begin(idx);
        // While busy, readers do not see the slot.
        s.slot(idx).key.store(key, Relaxed);
        assert_eq!(s.find(key), None);
        s.finish(idx, prev, None, 9, 100);
        let (i, m) = s.find(key).unwrap();
        assert_eq!((i, m.port(), m.seen()), (idx, 9, 100));
        // A refresh changes only `seen`; a stale refresh is refused.
        s.touch(idx, m, 101);
        assert_eq!(s.meta(idx).seen(), 101);
        s.touch(idx, m, 200);
        assert_eq!(s.meta(idx).seen(), 101);
        let prev = s.begin(idx);
        assert_eq!(prev.seen(), 101);
        s.finish(idx, prev, None, 10, 150);
        s.touch(idx, m.with_seen(101), 300);
        assert_eq!((s.meta(idx).port(), s.meta(idx).seen()), (10, 150));
        let versions = s.meta(idx).0 >> VERSION_SHIFT;
        assert_eq!(versions, 4);
    }
}
