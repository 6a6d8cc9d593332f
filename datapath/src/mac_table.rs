//! The MAC learning table: `(VLAN, MAC) → bridge port`, one per bridge.
//!
//! Shared as `Arc<MacTable>` by every PMD thread of the bridge and by the
//! control thread. Behaviour follows Open vSwitch's `lib/mac-learning.c`
//! (see the notes at the end for the few differences).
//!
//! # Per packet (lock-free, allocation-free)
//!
//! - [`MacTable::prefetch`] both candidate cache lines of a key, for a
//!   whole burst before its lookups;
//! - [`MacTable::lookup`] the destination: at most two cache lines read;
//! - [`MacTable::touch_or_check`] the source, in one probe: if the station
//!   is known on the ingress port its last-seen second is refreshed (one
//!   compare-exchange, only when the second changed) and nothing else is
//!   needed; otherwise the result says whether it is new, moved, or pinned
//!   by a static entry, and the pipeline queues a [`Learn`].
//!
//! # Per burst
//!
//! [`MacTable::learn_batch`] applies the queued learns (new entries and
//! station moves) under the writer lock, taken with `try_lock`: it never
//! blocks, and if another thread holds the lock the batch is skipped
//! ([`LearnOutcome::skipped`]); the station's next frame learns it.
//!
//! # Control side
//!
//! [`add_static`](MacTable::add_static), [`remove`](MacTable::remove),
//! [`flush_all`](MacTable::flush_all), [`flush_port`](MacTable::flush_port),
//! [`flush_vlan`](MacTable::flush_vlan), [`age`](MacTable::age) (call it
//! every second), [`entries`](MacTable::entries) and friends wait for the
//! writer lock.
//!
//! # Design
//!
//! - The slots are a bucketized cuckoo hash table (two candidate buckets of
//!   four slots, one cache line each) whose slots are read under a per-slot
//!   seqlock, so readers never see a port that belongs to another key; see
//!   `slots.rs` for the memory-ordering argument. A reader may transiently
//!   miss an entry that the writer is changing, which floods one frame.
//! - Everything is allocated at construction (two slots per entry, rounded
//!   up to a power of two, plus the writer's lists): learning never
//!   allocates.
//! - When the table is full, the entry to evict is the least recently used
//!   one (CLOCK approximation) of the port that holds the most dynamic
//!   entries, as in OVS, so one port flooding random source MACs only
//!   evicts its own. Static entries are never evicted or aged. See
//!   `writer.rs`.
//! - Aging uses a one-second timing wheel, so a pass costs the number of
//!   entries that came due, not the size of the table.
//!
//! # Differences from OVS
//!
//! - An entry idle for exactly the aging time is kept; OVS expires it at
//!   that second. (Idle `aging + 1` seconds is removed by both.)
//! - [`MacTable::remove`] removes a dynamic or static entry;
//!   [`MacTable::remove_static`] is OVS's `fdb/del`, which only removes
//!   static ones.
//! - Static entries for multicast addresses are refused (OVS accepts them,
//!   but its lookups never return them).
//! - Changing the maximum size means building a new table
//!   ([`MacTable::resized`]) and swapping the `Arc`.

mod lists;
mod slots;
mod writer;

#[cfg(test)]
mod tests;

use crate::time::Millis;
use crate::vlan::MAX_VID;
use crate::wire::MacAddr;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use slots::{encode_key, Slots, STATIC_SEEN, WAYS};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use writer::{Learned, Writer};

/// Default maximum number of entries (OVS `mac-table-size`).
pub const DEFAULT_MAX_ENTRIES: usize = 8192;
/// Smallest maximum size; smaller requests are raised to it (as OVS does).
pub const MIN_MAX_ENTRIES: usize = 10;
/// Largest maximum size; larger requests are lowered to it (as OVS does).
pub const MAX_MAX_ENTRIES: usize = 1_000_000;
/// Default aging time in seconds (OVS `mac-aging-time`).
pub const DEFAULT_AGING_SECS: u32 = 300;
/// Shortest aging time; shorter requests are raised to it (as OVS does).
pub const MIN_AGING_SECS: u32 = 15;
/// Longest aging time; longer requests are lowered to it (as OVS does).
pub const MAX_AGING_SECS: u32 = 3600;

/// One station to learn: a frame from `mac` arrived on bridge port `port`
/// in `vlan`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Learn {
    /// The frame's VLAN (0..=4094).
    pub vlan: u16,
    /// The frame's source MAC.
    pub mac: MacAddr,
    /// The ingress bridge port.
    pub port: u16,
}

/// What [`MacTable::learn_batch`] did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct LearnOutcome {
    /// The writer lock was busy: nothing was learned (count it).
    pub skipped: bool,
    /// New entries.
    pub learned: u32,
    /// Station moves: existing dynamic entries now on another port (log
    /// them).
    pub moved: u32,
    /// Already known on that port (another thread learned them first).
    pub refreshed: u32,
    /// Entries evicted to make room.
    pub evicted: u32,
    /// Not learned: a static entry holds the address on another port.
    pub static_conflicts: u32,
    /// Not learned: multicast source, VLAN above 4094, or no room: every
    /// entry is static, or the port to evict from has so many recently
    /// active stations that finding its least recently used one takes more
    /// than one learn's share of work (the search goes on at the next learn;
    /// the station learns on a later frame).
    pub rejected: u32,
}

/// What the pipeline must do about a frame's source address, from
/// [`MacTable::touch_or_check`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LearnCheck {
    /// Known on this port (its last-seen time is now refreshed), or static
    /// on this port. Nothing to learn.
    Fresh,
    /// Not in the table: queue a [`Learn`].
    New,
    /// Learned on another port: a station move (queue a [`Learn`]), or on a
    /// balance-slb bond a frame that looped back (drop it).
    Moved {
        /// The port the address is learned on now.
        from: u16,
    },
    /// A static entry holds the address on another port: never moved by
    /// learning.
    Pinned {
        /// The static entry's port.
        port: u16,
    },
    /// A multicast source address: never learned.
    NotLearnable,
}

impl LearnCheck {
    /// Whether the pipeline should queue a [`Learn`] for this frame.
    #[inline]
    pub fn needs_learn(self) -> bool {
        matches!(self, LearnCheck::New | LearnCheck::Moved { .. })
    }

    /// The port the address is known on, if that is not the ingress port.
    #[inline]
    pub fn other_port(self) -> Option<u16> {
        match self {
            LearnCheck::Moved { from: p } | LearnCheck::Pinned { port: p } => Some(p),
            _ => None,
        }
    }
}

/// One row of `fdb/show`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MacEntry {
    /// Bridge port.
    pub port: u16,
    /// VLAN.
    pub vlan: u16,
    /// Station address.
    pub mac: MacAddr,
    /// Seconds since the station was last heard from (0 for static ones).
    pub age_secs: u32,
    /// Configured with `fdb/add`: shown as `static`, never ages.
    pub is_static: bool,
}

/// Numbers for `fdb/stats-show`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MacTableStats {
    /// Entries now.
    pub len: usize,
    /// Maximum entries.
    pub max_entries: usize,
    /// Static entries now.
    pub static_entries: usize,
    /// Entries learned since the table was built.
    pub learned: u64,
    /// Entries removed by aging.
    pub expired: u64,
    /// Entries evicted to make room.
    pub evicted: u64,
    /// Station moves.
    pub moved: u64,
}

/// Why a control-side change was refused, worded for `vsctl: <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacTableError {
    /// A VLAN above 4094.
    InvalidVlan(u16),
    /// A multicast (or broadcast) address.
    Multicast(MacAddr),
    /// Every entry is static and the table is full.
    Full {
        /// The table's maximum size.
        max_entries: usize,
    },
}

impl fmt::Display for MacTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacTableError::InvalidVlan(v) => {
                write!(f, "VLAN {v} is out of range (0 to {MAX_VID})")
            }
            MacTableError::Multicast(m) => {
                write!(f, "{m} is a multicast address and cannot be a static entry")
            }
            MacTableError::Full { max_entries } => write!(
                f,
                "MAC table is full of static entries ({max_entries} entries)"
            ),
        }
    }
}

impl std::error::Error for MacTableError {}

/// Slots beyond which [`MacTable::prefers_prefetch`] (16,384 slots of 16
/// bytes = 256 KiB).
const LARGE_SLOTS: usize = 16 * 1024;

/// The MAC learning table of one bridge. See the module documentation.
pub struct MacTable {
    slots: Slots,
    writer: Mutex<Writer>,
    /// Mirror of the writer's entry count, for lock-free [`MacTable::len`].
    len: AtomicUsize,
    /// Mirror of the writer's aging time.
    aging_secs: AtomicU32,
    max_entries: usize,
}

impl fmt::Debug for MacTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacTable")
            .field("len", &self.len())
            .field("max_entries", &self.max_entries)
            .field("aging_secs", &self.aging_secs())
            .finish()
    }
}

/// Whole seconds of `now`, below the static marker.
#[inline(always)]
fn secs(now: Millis) -> u32 {
    now.as_secs().min(STATIC_SEEN as u64 - 1) as u32
}

/// splitmix64, to spread a user seed over the two hash keys.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl MacTable {
    /// A table for up to `max_entries` entries (clamped to
    /// [`MIN_MAX_ENTRIES`]..=[`MAX_MAX_ENTRIES`]) that ages entries out after
    /// `aging_secs` idle seconds (clamped to
    /// [`MIN_AGING_SECS`]..=[`MAX_AGING_SECS`]). The hash is keyed with a
    /// random seed so that hosts cannot aim collisions at it. Allocates
    /// everything the table will ever use; call it from the control thread.
    pub fn new(max_entries: usize, aging_secs: u32) -> MacTable {
        use std::hash::BuildHasher;
        let seed =
            std::collections::hash_map::RandomState::new().hash_one(0x6d61_635f_7461_626cu64);
        MacTable::with_seed(max_entries, aging_secs, seed)
    }

    /// [`MacTable::new`] with a fixed hash seed (tests, benchmarks).
    pub fn with_seed(max_entries: usize, aging_secs: u32, seed: u64) -> MacTable {
        let max_entries = max_entries.clamp(MIN_MAX_ENTRIES, MAX_MAX_ENTRIES);
        let aging_secs = aging_secs.clamp(MIN_AGING_SECS, MAX_AGING_SECS);
        // At least two slots per entry: the load factor stays at or below
        // 50%, where cuckoo insertion almost never needs to move anything.
        let n_slots = (2 * max_entries).next_power_of_two();
        let slots = Slots::new(n_slots / WAYS, [splitmix(seed), splitmix(seed ^ 0x5555)]);
        MacTable {
            slots,
            writer: Mutex::new(Writer::new(n_slots, max_entries, aging_secs)),
            len: AtomicUsize::new(0),
            aging_secs: AtomicU32::new(aging_secs),
            max_entries,
        }
    }

    // ---- per packet ----------------------------------------------------

    /// The port `mac` was learned on in `vlan`, if any. Lock-free; reads at
    /// most two cache lines.
    #[inline]
    pub fn lookup(&self, vlan: u16, mac: MacAddr) -> Option<u16> {
        debug_assert!(vlan <= 0xfff);
        self.slots
            .find(encode_key(vlan, mac))
            .map(|(_, m)| m.port())
    }

    /// The one per-frame probe for the source address: refresh the entry if
    /// `mac` is known on `port` in `vlan` (a store only when the second
    /// changed), otherwise say what is needed. Lock-free.
    #[inline]
    pub fn touch_or_check(&self, vlan: u16, mac: MacAddr, port: u16, now: Millis) -> LearnCheck {
        debug_assert!(vlan <= 0xfff);
        if mac.is_multicast() {
            return LearnCheck::NotLearnable;
        }
        match self.slots.find(encode_key(vlan, mac)) {
            None => LearnCheck::New,
            Some((idx, m)) => {
                if m.port() == port {
                    // Static entries hold the largest `seen`: never touched.
                    let s = secs(now);
                    if s > m.seen() {
                        self.slots.touch(idx, m, s);
                    }
                    LearnCheck::Fresh
                } else if m.is_static() {
                    LearnCheck::Pinned { port: m.port() }
                } else {
                    LearnCheck::Moved { from: m.port() }
                }
            }
        }
    }

    /// Whether the bucket array is larger than a core's private caches hold
    /// (more than 256 KiB, the size for the default 8,192 entries): then
    /// lookups of many distinct stations miss, and a burst is better off
    /// prefetching its keys first (see [`MacTable::prefetch`]).
    #[inline]
    pub fn prefers_prefetch(&self) -> bool {
        self.slots.capacity() > LARGE_SLOTS
    }

    /// Start loading the cache lines a lookup of `(vlan, mac)` reads, so
    /// that a burst can prefetch all its keys before looking them up.
    #[inline]
    pub fn prefetch(&self, vlan: u16, mac: MacAddr) {
        self.slots.prefetch(encode_key(vlan, mac));
    }

    // ---- per burst -----------------------------------------------------

    /// Learn new stations and station moves. Never blocks: if another
    /// thread holds the writer lock, nothing is done and the outcome says
    /// `skipped`. Multicast sources and VLANs above 4094 are ignored
    /// (counted in `rejected`); static entries are never changed. Allocates
    /// nothing. Meant to be called at most once per burst, with up to 32
    /// items.
    pub fn learn_batch(&self, items: &[Learn], now: Millis) -> LearnOutcome {
        let mut out = LearnOutcome::default();
        if items.is_empty() {
            return out;
        }
        let mut w = match self.writer.try_lock() {
            Ok(w) => w,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                out.skipped = true;
                return out;
            }
        };
        let now = secs(now);
        let evicted = w.totals.evicted;
        for it in items {
            if it.mac.is_multicast() || it.vlan > MAX_VID {
                out.rejected += 1;
                continue;
            }
            match w.learn(&self.slots, encode_key(it.vlan, it.mac), it.port, now) {
                Learned::New => out.learned += 1,
                Learned::Moved => out.moved += 1,
                Learned::Known => out.refreshed += 1,
                Learned::StaticConflict => out.static_conflicts += 1,
                Learned::Full => out.rejected += 1,
            }
        }
        out.evicted = (w.totals.evicted - evicted) as u32;
        self.len.store(w.len(), Relaxed);
        out
    }

    // ---- control side --------------------------------------------------

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` on the writer state and publish the new length.
    fn with_writer<R>(&self, f: impl FnOnce(&mut Writer, &Slots) -> R) -> R {
        let mut w = self.lock();
        let r = f(&mut w, &self.slots);
        self.len.store(w.len(), Relaxed);
        r
    }

    /// Add a static entry (`fdb/add`): `mac` in `vlan` is on `port` until
    /// removed. It replaces a dynamic or static entry for the same address,
    /// never ages, is never evicted and is not moved by learning. If the
    /// table is full, a dynamic entry is evicted to make room.
    pub fn add_static(&self, vlan: u16, mac: MacAddr, port: u16) -> Result<(), MacTableError> {
        if vlan > MAX_VID {
            return Err(MacTableError::InvalidVlan(vlan));
        }
        if mac.is_multicast() {
            return Err(MacTableError::Multicast(mac));
        }
        let key = encode_key(vlan, mac);
        if self.with_writer(|w, s| w.add_static(s, key, port)) {
            Ok(())
        } else {
            Err(MacTableError::Full {
                max_entries: self.max_entries,
            })
        }
    }

    /// Remove the entry for `mac` in `vlan`, dynamic or static. `true` if
    /// there was one.
    pub fn remove(&self, vlan: u16, mac: MacAddr) -> bool {
        if vlan > 0xfff {
            return false;
        }
        let key = encode_key(vlan, mac);
        self.with_writer(|w, s| w.remove(s, key, false))
    }

    /// Remove the static entry for `mac` in `vlan` (`fdb/del`: dynamic
    /// entries are left alone). `true` if there was one.
    pub fn remove_static(&self, vlan: u16, mac: MacAddr) -> bool {
        if vlan > 0xfff {
            return false;
        }
        let key = encode_key(vlan, mac);
        self.with_writer(|w, s| w.remove(s, key, true))
    }

    /// Remove every dynamic entry (`fdb/flush`; static entries stay, as in
    /// OVS). Returns how many were removed.
    pub fn flush_all(&self) -> usize {
        self.with_writer(|w, s| w.flush_all(s))
    }

    /// Remove every entry on `port`, static ones included (the port was
    /// removed or reconfigured, as OVS's `bundle_flush_macs`). Returns how
    /// many were removed.
    pub fn flush_port(&self, port: u16) -> usize {
        self.with_writer(|w, s| w.flush_port(s, port))
    }

    /// Remove every dynamic entry in `vlan`. Returns how many were removed.
    pub fn flush_vlan(&self, vlan: u16) -> usize {
        self.with_writer(|w, s| w.flush_vlan(s, vlan))
    }

    /// Remove dynamic entries idle for more than the aging time: an entry
    /// last heard from at second `t` is kept while `now < t + aging + 1`.
    /// Call it every second. A call costs the number of entries that came
    /// due (bounded: past about 65,000 the rest waits for the next call).
    /// Returns how many were removed.
    pub fn age(&self, now: Millis) -> usize {
        let now = secs(now);
        self.with_writer(|w, s| w.age(s, now))
    }

    /// Every entry, for `fdb/show`: static entries first, then dynamic ones
    /// from the longest idle (OVS lists least recently used first); ties in
    /// (port, VLAN, MAC) order.
    pub fn entries(&self, now: Millis) -> Vec<MacEntry> {
        let now = secs(now);
        let mut v = self.lock().entries(&self.slots, now);
        v.sort_by_key(|e| {
            (
                !e.is_static,
                core::cmp::Reverse(e.age_secs),
                e.port,
                e.vlan,
                e.mac,
            )
        });
        v
    }

    /// The entry for `mac` in `vlan`, if any (lock-free).
    pub fn entry(&self, vlan: u16, mac: MacAddr, now: Millis) -> Option<MacEntry> {
        if vlan > 0xfff {
            return None;
        }
        let (_, m) = self.slots.find(encode_key(vlan, mac))?;
        Some(MacEntry {
            port: m.port(),
            vlan,
            mac,
            age_secs: if m.is_static() {
                0
            } else {
                secs(now).saturating_sub(m.seen())
            },
            is_static: m.is_static(),
        })
    }

    /// Number of entries, dynamic and static (lock-free; exact between
    /// writer operations).
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of entries (dynamic and static) on `port`.
    pub fn port_count(&self, port: u16) -> usize {
        self.lock().port_count(port)
    }

    /// Change the aging time (clamped to
    /// [`MIN_AGING_SECS`]..=[`MAX_AGING_SECS`]); takes effect at the next
    /// [`MacTable::age`].
    pub fn set_aging(&self, secs: u32) {
        let secs = secs.clamp(MIN_AGING_SECS, MAX_AGING_SECS);
        let mut w = self.lock();
        w.aging_secs = secs;
        self.aging_secs.store(secs, Relaxed);
    }

    /// The aging time in seconds.
    pub fn aging_secs(&self) -> u32 {
        self.aging_secs.load(Relaxed)
    }

    /// The maximum number of entries.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Counters for `fdb/stats-show`.
    pub fn stats(&self) -> MacTableStats {
        let w = self.lock();
        MacTableStats {
            len: w.len(),
            max_entries: self.max_entries,
            static_entries: w.n_static(),
            learned: w.totals.learned,
            expired: w.totals.expired,
            evicted: w.totals.evicted,
            moved: w.totals.moved,
        }
    }

    /// A new table with a different maximum size (and a fresh hash seed)
    /// holding this table's entries: every static one, then the most
    /// recently seen dynamic ones that fit. For a change of
    /// `mac-table-size`: build it on the control thread and swap the `Arc`.
    /// Entries learned in this table after the copy are not carried over.
    pub fn resized(&self, max_entries: usize) -> MacTable {
        let new = MacTable::new(max_entries, self.aging_secs());
        let mut old = self.lock().raw_entries(&self.slots);
        // Statics first, then dynamic from the most recently seen.
        old.sort_by_key(|&(_, _, seen)| core::cmp::Reverse(seen));
        {
            let mut w = new.lock();
            let n_static = old.iter().take_while(|e| e.2 == STATIC_SEEN).count();
            for &(key, port, _) in &old[..n_static] {
                w.add_static(&new.slots, key, port);
            }
            let room = new.max_entries.saturating_sub(w.len());
            let keep = room.min(old.len() - n_static);
            // Oldest of the kept ones first, so each port's eviction order
            // is preserved.
            for &(key, port, seen) in old[n_static..n_static + keep].iter().rev() {
                w.insert_dynamic(&new.slots, key, port, seen);
            }
            new.len.store(w.len(), Relaxed);
        }
        new
    }
}
