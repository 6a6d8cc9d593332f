//! The writer side: everything that needs the table's writer lock.
//!
//! Besides the slots themselves (in [`Slots`]), the writer keeps, per slot
//! and per port, the bookkeeping for eviction and aging. None of it is read
//! by the PMD threads.
//!
//! # Eviction (when the table is full)
//!
//! Each port has a list of its dynamic entries in the order they were
//! learned or moved to it (`by_port`), and the ports are kept in lists by
//! their number of dynamic entries (`usage`), so "the port with the most
//! entries" is the front of the list for `max_count`: O(1), as OVS's heap of
//! ports by usage is O(log ports). The victim is the front of that port's
//! list, with a *second chance*: refreshes are lock-free stores of `seen`
//! that cannot reorder the list, so each list node remembers the `seen` it
//! was queued with (`port_secs`). A front entry whose `seen` has moved on
//! since is requeued at the back (remembering the new `seen`) and the next
//! one is tried. Each requeue consumes a refresh, so the cost is amortized
//! O(1) per learned entry. This is the CLOCK approximation of LRU: an entry is evicted only
//! if it has not been heard from since it was queued, and among those the
//! one queued first goes first.
//!
//! On the PMD path (`learn_batch`) one learn requeues at most
//! [`SECOND_CHANCES`] entries; if the front is still fresh after that, the
//! learn is given up (the station learns on a later frame) and the next
//! learn continues the walk, so no burst pays for a pass over a large port
//! whose stations are all active. Control-side inserts finish the walk.
//!
//! # Aging
//!
//! Dynamic entries sit in a timing wheel of one list per second (4096 lists,
//! more than the longest aging time), filed under the `seen` they had when
//! they were filed (`wheel_secs`). [`Writer::age`] walks the wheel from its
//! cursor up to the last second whose entries are now too old, and for
//! every entry filed there reads the real `seen`: still idle too long, it
//! is removed; refreshed since, it is refiled under its new `seen`. So an
//! aging pass costs the number of entries that were due, not the table
//! size, and is exact to the second. A pass stops after [`AGE_BUDGET`] units
//! of work and resumes at the next call.
//!
//! The cursor only ever moves forward one second at a time, and entries are
//! never filed before it, so every entry is looked at once it is due.

use super::lists::Lists;
use super::slots::{decode_key, Meta, Slots, EMPTY, STATIC_SEEN, WAYS};
use super::MacEntry;

/// Number of bridge ports a table can tell apart (`u16` indices).
const N_PORTS: usize = 1 << 16;
/// Seconds in the aging wheel; more than the longest aging time.
const WHEEL: u32 = 4096;
/// Work (entries examined plus seconds walked) one aging pass may do.
pub(super) const AGE_BUDGET: usize = 1 << 16;
/// Entries one learn on a PMD thread may requeue while looking for an
/// eviction victim.
pub(super) const SECOND_CHANCES: usize = 256;
/// Buckets a cuckoo displacement search may visit.
const BFS_NODES: usize = 128;
const NO_PARENT: u16 = u16::MAX;

/// Lifetime totals, as OVS's `fdb/stats-show` reports them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Totals {
    pub(super) learned: u64,
    pub(super) moved: u64,
    pub(super) evicted: u64,
    pub(super) expired: u64,
    /// Entries moved to their other bucket to make room (cuckoo).
    pub(super) displaced: u64,
}

/// What learning one `(vlan, mac, port)` did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Learned {
    /// A new entry.
    New,
    /// An existing dynamic entry moved to a new port.
    Moved,
    /// Already there on that port (refreshed).
    Known,
    /// A static entry holds the key on another port: unchanged.
    StaticConflict,
    /// No room: every entry is static, or making room needs more
    /// second-chance requeues than one learn may do.
    Full,
}

/// A node of the cuckoo search: a bucket reached by moving the entry in
/// `way` of the parent node's bucket.
#[derive(Copy, Clone, Debug)]
struct Node {
    bucket: u32,
    parent: u16,
    way: u8,
}

/// The writer's state. Lives in the table's `Mutex`.
#[derive(Debug)]
pub(super) struct Writer {
    max_entries: usize,
    pub(super) aging_secs: u32,
    /// Per-port lists of dynamic entries (nodes: slots).
    by_port: Lists,
    /// `seen` of each slot's entry when it was queued in `by_port`.
    port_secs: Vec<u32>,
    /// Aging wheel (nodes: slots; lists: second mod `WHEEL`).
    wheel: Lists,
    /// The second each slot's entry is filed under in `wheel`.
    wheel_secs: Vec<u32>,
    /// The next second of the wheel to process; `None` until the first
    /// dynamic entry is filed.
    cursor: Option<u32>,
    /// Ports by number of dynamic entries (nodes: ports; lists: counts).
    usage: Lists,
    dyn_count: Vec<u32>,
    static_count: Vec<u32>,
    /// The largest value in `dyn_count`.
    max_count: u32,
    n_dynamic: usize,
    n_static: usize,
    pub(super) totals: Totals,
}

impl Writer {
    pub(super) fn new(n_slots: usize, max_entries: usize, aging_secs: u32) -> Writer {
        Writer {
            max_entries,
            aging_secs,
            by_port: Lists::new(n_slots, N_PORTS),
            port_secs: vec![0; n_slots],
            wheel: Lists::new(n_slots, WHEEL as usize),
            wheel_secs: vec![0; n_slots],
            cursor: None,
            usage: Lists::new(N_PORTS, max_entries + 2),
            dyn_count: vec![0; N_PORTS],
            static_count: vec![0; N_PORTS],
            max_count: 0,
            n_dynamic: 0,
            n_static: 0,
            totals: Totals::default(),
        }
    }

    /// Entries in the table.
    pub(super) fn len(&self) -> usize {
        self.n_dynamic + self.n_static
    }

    /// Static entries in the table.
    pub(super) fn n_static(&self) -> usize {
        self.n_static
    }

    /// Entries (dynamic and static) on `port`.
    pub(super) fn port_count(&self, port: u16) -> usize {
        (self.dyn_count[port as usize] + self.static_count[port as usize]) as usize
    }

    // ---- per-port usage ------------------------------------------------

    fn usage_inc(&mut self, port: u16) {
        let c = self.dyn_count[port as usize];
        if c > 0 {
            self.usage.remove(c as usize, port as u32);
        }
        self.usage.push_back(c as usize + 1, port as u32);
        self.dyn_count[port as usize] = c + 1;
        self.max_count = self.max_count.max(c + 1);
    }

    fn usage_dec(&mut self, port: u16) {
        let c = self.dyn_count[port as usize];
        debug_assert!(c > 0);
        self.usage.remove(c as usize, port as u32);
        if c > 1 {
            self.usage.push_back(c as usize - 1, port as u32);
        }
        self.dyn_count[port as usize] = c - 1;
        if self.max_count == c && self.usage.is_empty(c as usize) {
            // The port was alone at the top; it is now at `c - 1`.
            self.max_count = c - 1;
        }
    }

    /// The port with the most dynamic entries.
    fn busiest(&self) -> Option<u16> {
        if self.max_count == 0 {
            return None;
        }
        self.usage.front(self.max_count as usize).map(|p| p as u16)
    }

    // ---- lists ---------------------------------------------------------

    fn file(&mut self, idx: u32, secs: u32) {
        let f = match self.cursor {
            Some(c) => secs.max(c),
            None => {
                self.cursor = Some(secs);
                secs
            }
        };
        self.wheel_secs[idx as usize] = f;
        self.wheel.push_back((f % WHEEL) as usize, idx);
    }

    fn unfile(&mut self, idx: u32) {
        let b = (self.wheel_secs[idx as usize] % WHEEL) as usize;
        self.wheel.remove(b, idx);
    }

    fn link_dynamic(&mut self, idx: u32, port: u16, secs: u32) {
        self.by_port.push_back(port as usize, idx);
        self.port_secs[idx as usize] = secs;
        self.file(idx, secs);
        self.usage_inc(port);
        self.n_dynamic += 1;
    }

    fn unlink_dynamic(&mut self, idx: u32, port: u16) {
        self.by_port.remove(port as usize, idx);
        self.unfile(idx);
        self.usage_dec(port);
        self.n_dynamic -= 1;
    }

    /// The entry of slot `src` now lives in slot `dst`.
    fn relocate(&mut self, src: u32, dst: u32, m: Meta) {
        if m.is_static() {
            return;
        }
        let (s, d) = (src as usize, dst as usize);
        self.by_port.replace(m.port() as usize, src, dst);
        self.port_secs[d] = self.port_secs[s];
        let b = (self.wheel_secs[s] % WHEEL) as usize;
        self.wheel.replace(b, src, dst);
        self.wheel_secs[d] = self.wheel_secs[s];
    }

    // ---- slot changes --------------------------------------------------

    /// Remove the entry in slot `idx`.
    fn remove_at(&mut self, slots: &Slots, idx: u32) {
        let prev = slots.begin(idx);
        slots.finish(idx, prev, Some(EMPTY), 0, 0);
        if prev.is_static() {
            self.static_count[prev.port() as usize] -= 1;
            self.n_static -= 1;
        } else {
            self.unlink_dynamic(idx, prev.port());
        }
    }

    /// Insert `key`, which is not in the table, making room if the table is
    /// full (see [`Writer::evict_fairly`] for `patient`). `false` if there is
    /// no room.
    fn insert(&mut self, slots: &Slots, key: u64, port: u16, seen: u32, patient: bool) -> bool {
        if self.len() >= self.max_entries && !self.evict_fairly(slots, patient) {
            return false;
        }
        let Some((idx, prev)) = self.make_room(slots, key) else {
            return false;
        };
        slots.finish(idx, prev, Some(key), port, seen);
        if seen == STATIC_SEEN {
            self.static_count[port as usize] += 1;
            self.n_static += 1;
        } else {
            self.link_dynamic(idx, port, seen);
        }
        true
    }

    /// Evict one dynamic entry: from the port with the most, its least
    /// recently used (see the module comment). With `patient` false (the
    /// PMD path) at most [`SECOND_CHANCES`] entries are requeued; if that is
    /// not enough, nothing is evicted and the next call goes on from there.
    /// `false` if nothing was evicted.
    fn evict_fairly(&mut self, slots: &Slots, patient: bool) -> bool {
        let Some(port) = self.busiest() else {
            return false;
        };
        let l = port as usize;
        // A full pass requeues every entry once; after that the front was
        // queued with its current `seen`, barring refreshes racing the pass.
        let full_pass = self.dyn_count[l] as usize + 1;
        let limit = if patient {
            2 * full_pass
        } else {
            SECOND_CHANCES
        };
        for _ in 0..limit {
            let Some(idx) = self.by_port.front(l) else {
                return false;
            };
            let seen = slots.meta(idx).seen();
            if seen <= self.port_secs[idx as usize] {
                self.remove_at(slots, idx);
                self.totals.evicted += 1;
                return true;
            }
            // Heard from since it was queued: second chance.
            self.port_secs[idx as usize] = seen;
            self.by_port.move_to_back(l, idx);
        }
        if !patient {
            return false;
        }
        let Some(idx) = self.by_port.front(l) else {
            return false;
        };
        self.remove_at(slots, idx);
        self.totals.evicted += 1;
        true
    }

    /// A free slot for `key`, already begun ([`Slots::begin`]), with the
    /// meta `begin` returned.
    fn make_room(&mut self, slots: &Slots, key: u64) -> Option<(u32, Meta)> {
        let (b1, b2) = slots.buckets_of(key);
        for b in [b1, b2] {
            if let Some(idx) = slots.free_way(b) {
                return Some((idx, slots.begin(idx)));
            }
        }
        if let Some(r) = self.displace(slots, b1, b2) {
            return Some(r);
        }
        // No displacement path (not expected below 50% load): give up the
        // stalest dynamic entry of the two buckets.
        let idx = [b1, b2]
            .into_iter()
            .flat_map(|b| (0..WAYS).map(move |w| (b * WAYS + w) as u32))
            .filter(|&i| !slots.meta(i).is_static())
            .min_by_key(|&i| slots.meta(i).seen())?;
        self.remove_at(slots, idx);
        self.totals.evicted += 1;
        Some((idx, slots.begin(idx)))
    }

    /// Cuckoo displacement: a breadth-first search from `b1` and `b2` for a
    /// bucket with a free slot, each step moving one entry to its other
    /// bucket; then the moves, from the free end back to the start. Each
    /// move writes the entry to its new slot before its old slot is reused,
    /// so readers see it in one place or the other, except while the old
    /// slot is busy and the new one not yet written (a transient miss).
    fn displace(&mut self, slots: &Slots, b1: usize, b2: usize) -> Option<(u32, Meta)> {
        let root = |b: usize| Node {
            bucket: b as u32,
            parent: NO_PARENT,
            way: 0,
        };
        let mut q = [root(b1); BFS_NODES];
        q[1] = root(b2);
        let mut len = 2;
        let mut i = 0;
        let (found, free) = loop {
            if i == len {
                return None;
            }
            let b = q[i].bucket as usize;
            if let Some(free) = slots.free_way(b) {
                break (i, free);
            }
            for w in 0..WAYS {
                if len == BFS_NODES {
                    break;
                }
                let alt = slots.alt_bucket(slots.key((b * WAYS + w) as u32), b) as u32;
                // A bucket appears at most once, so a path never visits a
                // bucket twice.
                if q[..len].iter().all(|n| n.bucket != alt) {
                    q[len] = Node {
                        bucket: alt,
                        parent: i as u16,
                        way: w as u8,
                    };
                    len += 1;
                }
            }
            i += 1;
        };
        let mut dst = free;
        let mut dst_prev = slots.begin(dst);
        let mut n = found;
        while q[n].parent != NO_PARENT {
            let p = q[n].parent as usize;
            let src = (q[p].bucket as usize * WAYS + q[n].way as usize) as u32;
            let src_prev = slots.begin(src);
            let key = slots.key(src);
            slots.finish(dst, dst_prev, Some(key), src_prev.port(), src_prev.seen());
            self.relocate(src, dst, src_prev);
            self.totals.displaced += 1;
            dst = src;
            dst_prev = src_prev;
            n = p;
        }
        Some((dst, dst_prev))
    }

    // ---- operations ----------------------------------------------------

    /// Learn that `key` was heard from on `port` at second `now`.
    pub(super) fn learn(&mut self, slots: &Slots, key: u64, port: u16, now: u32) -> Learned {
        match slots.find_writer(key) {
            Some((_, m)) if m.is_static() => {
                if m.port() == port {
                    Learned::Known
                } else {
                    Learned::StaticConflict
                }
            }
            Some((idx, m)) if m.port() == port => {
                if now > m.seen() {
                    slots.touch(idx, m, now);
                }
                Learned::Known
            }
            Some((idx, _)) => {
                let prev = slots.begin(idx);
                let seen = now.max(prev.seen());
                slots.finish(idx, prev, None, port, seen);
                let l = prev.port();
                self.by_port.remove(l as usize, idx);
                self.by_port.push_back(port as usize, idx);
                self.port_secs[idx as usize] = seen;
                self.usage_dec(l);
                self.usage_inc(port);
                self.totals.moved += 1;
                Learned::Moved
            }
            None => {
                if self.insert(slots, key, port, now, false) {
                    self.totals.learned += 1;
                    Learned::New
                } else {
                    Learned::Full
                }
            }
        }
    }

    /// Learn `key` with its last-seen second (used when copying a table).
    pub(super) fn insert_dynamic(&mut self, slots: &Slots, key: u64, port: u16, seen: u32) {
        if self.len() < self.max_entries {
            self.insert(slots, key, port, seen, true);
        }
    }

    /// Make `key` a static entry on `port`. `false` if there is no room.
    pub(super) fn add_static(&mut self, slots: &Slots, key: u64, port: u16) -> bool {
        let Some((idx, m)) = slots.find_writer(key) else {
            return self.insert(slots, key, port, STATIC_SEEN, true);
        };
        if m.is_static() {
            self.static_count[m.port() as usize] -= 1;
        } else {
            self.unlink_dynamic(idx, m.port());
            self.n_static += 1;
        }
        self.static_count[port as usize] += 1;
        let prev = slots.begin(idx);
        slots.finish(idx, prev, None, port, STATIC_SEEN);
        true
    }

    /// Remove `key` (only if static, with `only_static`).
    pub(super) fn remove(&mut self, slots: &Slots, key: u64, only_static: bool) -> bool {
        match slots.find_writer(key) {
            Some((idx, m)) if m.is_static() || !only_static => {
                self.remove_at(slots, idx);
                true
            }
            _ => false,
        }
    }

    /// Remove every entry for which `pred(vlan, meta)` holds.
    fn remove_where(&mut self, slots: &Slots, mut pred: impl FnMut(u16, Meta) -> bool) -> usize {
        let mut n = 0;
        for (idx, key, m) in slots.occupied() {
            if pred(decode_key(key).0, m) {
                self.remove_at(slots, idx);
                n += 1;
            }
        }
        n
    }

    /// Remove every dynamic entry.
    pub(super) fn flush_all(&mut self, slots: &Slots) -> usize {
        if self.n_dynamic == 0 {
            return 0;
        }
        self.remove_where(slots, |_, m| !m.is_static())
    }

    /// Remove every dynamic entry in `vlan`.
    pub(super) fn flush_vlan(&mut self, slots: &Slots, vlan: u16) -> usize {
        if self.n_dynamic == 0 {
            return 0;
        }
        self.remove_where(slots, |v, m| v == vlan && !m.is_static())
    }

    /// Remove every entry, static ones included, on `port`.
    pub(super) fn flush_port(&mut self, slots: &Slots, port: u16) -> usize {
        let mut n = 0;
        while let Some(idx) = self.by_port.front(port as usize) {
            self.remove_at(slots, idx);
            n += 1;
        }
        if self.static_count[port as usize] > 0 {
            n += self.remove_where(slots, |_, m| m.is_static() && m.port() == port);
        }
        n
    }

    /// Remove dynamic entries idle for more than the aging time at second
    /// `now` (see the module comment). Returns how many were removed.
    pub(super) fn age(&mut self, slots: &Slots, now: u32) -> usize {
        let Some(mut s) = self.cursor else {
            return 0;
        };
        // Entries last seen at or before `deadline` are idle too long.
        let Some(deadline) = now.checked_sub(self.aging_secs + 1) else {
            return 0;
        };
        let mut removed = 0;
        let mut work = 0;
        while s <= deadline {
            let b = (s % WHEEL) as usize;
            let mut node = self.wheel.front(b);
            while let Some(idx) = node {
                if work >= AGE_BUDGET {
                    self.cursor = Some(s);
                    return removed;
                }
                node = self.wheel.next(idx);
                if self.wheel_secs[idx as usize] > deadline {
                    // Filed a wheel turn ahead.
                    continue;
                }
                work += 1;
                let seen = slots.meta(idx).seen();
                if seen <= deadline {
                    self.remove_at(slots, idx);
                    self.totals.expired += 1;
                    removed += 1;
                } else {
                    // Refreshed since it was filed: refile (`seen` is after
                    // `deadline`, so it lands ahead of the cursor).
                    self.wheel.remove(b, idx);
                    self.file(idx, seen);
                }
            }
            work += 1;
            s += 1;
        }
        self.cursor = Some(s);
        removed
    }

    /// Every entry, with its age at second `now`.
    pub(super) fn entries(&self, slots: &Slots, now: u32) -> Vec<MacEntry> {
        let mut v = Vec::with_capacity(self.len());
        for (_, key, m) in slots.occupied() {
            let (vlan, mac) = decode_key(key);
            let is_static = m.is_static();
            v.push(MacEntry {
                port: m.port(),
                vlan,
                mac,
                age_secs: if is_static {
                    0
                } else {
                    now.saturating_sub(m.seen())
                },
                is_static,
            });
        }
        v
    }

    /// Every entry as `(key, port, seen)`.
    pub(super) fn raw_entries(&self, slots: &Slots) -> Vec<(u64, u16, u32)> {
        slots
            .occupied()
            .map(|(_, k, m)| (k, m.port(), m.seen()))
            .collect()
    }

    /// Check every invariant of the bookkeeping against the slots (tests).
    #[cfg(test)]
    pub(super) fn check(&self, slots: &Slots) {
        let mut dyn_count = vec![0u32; N_PORTS];
        let mut n_static = 0;
        let mut n_dynamic = 0;
        for (idx, key, m) in slots.occupied() {
            let (b1, b2) = slots.buckets_of(key);
            let b = idx as usize / WAYS;
            assert!(
                b == b1 || b == b2,
                "slot {idx} holds a key of other buckets"
            );
            assert_eq!(
                slots.find_writer(key).map(|x| x.0),
                Some(idx),
                "duplicate key"
            );
            if m.is_static() {
                n_static += 1;
            } else {
                n_dynamic += 1;
                dyn_count[m.port() as usize] += 1;
                if let Some(c) = self.cursor {
                    assert!(
                        self.wheel_secs[idx as usize] >= c,
                        "filed behind the cursor"
                    );
                }
            }
        }
        assert_eq!(n_static, self.n_static);
        assert_eq!(n_dynamic, self.n_dynamic);
        assert!(self.len() <= self.max_entries);
        for (port, &c) in dyn_count.iter().enumerate() {
            assert_eq!(c, self.dyn_count[port], "count of port {port}");
            if c == 0 {
                assert!(self.by_port.is_empty(port));
                continue;
            }
            let mut n = 0;
            let mut node = self.by_port.front(port);
            while let Some(idx) = node {
                assert_eq!(slots.meta(idx).port() as usize, port);
                n += 1;
                node = self.by_port.next(idx);
            }
            assert_eq!(n, c, "list of port {port}");
        }
        assert_eq!(self.max_count, dyn_count.iter().copied().max().unwrap_or(0));
        let mut filed = 0;
        for b in 0..WHEEL as usize {
            let mut node = self.wheel.front(b);
            while let Some(idx) = node {
                assert_eq!((self.wheel_secs[idx as usize] % WHEEL) as usize, b);
                filed += 1;
                node = self.wheel.next(idx);
            }
        }
        assert_eq!(filed, n_dynamic);
    }
}
