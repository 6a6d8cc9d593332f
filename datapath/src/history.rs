//! Event history: a bounded ring of the last [`HISTORY_LEN`] events a
//! machine recorded, each stamped with the monotonic time it was recorded
//! at and a running sequence number.
//!
//! One type for every machine: the bond keeps a `History<BondRecord>`
//! (`bond/events`), the LACP machine a `History<LacpRecord>`
//! (`lacp/events`). The buffer is allocated once, when the history is
//! made; recording overwrites the oldest entry once it is full, so no
//! event ever allocates (`T: Copy` keeps the records free of heap data).
//! Wall-clock time is not kept here (nothing in `datapath` reads a
//! clock): the daemon turns [`Stamped::at`] into wall-clock time.

use core::fmt;

use crate::time::Millis;

/// How many events a history keeps.
pub const HISTORY_LEN: usize = 1000;

/// One recorded event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Stamped<T> {
    /// Its number: 0 for the first event ever recorded, then counting up
    /// (gaps at the start of a listing are events that were dropped).
    pub seq: u64,
    /// When it was recorded (the machine's monotonic `now`).
    pub at: Millis,
    /// What happened.
    pub event: T,
}

/// The last [`HISTORY_LEN`] events, oldest dropped first.
#[derive(Clone)]
pub struct History<T: Copy> {
    /// Up to `HISTORY_LEN` entries; once full, `next` is the oldest.
    buf: Vec<Stamped<T>>,
    next: usize,
    /// Events ever recorded.
    total: u64,
}

impl<T: Copy> History<T> {
    /// An empty history with its whole buffer allocated.
    pub fn new() -> History<T> {
        History {
            buf: Vec::with_capacity(HISTORY_LEN),
            next: 0,
            total: 0,
        }
    }

    /// Record `event` at `at`; the oldest event goes when the history is
    /// full. Never allocates.
    pub fn push(&mut self, at: Millis, event: T) {
        let e = Stamped {
            seq: self.total,
            at,
            event,
        };
        self.total += 1;
        if self.buf.len() < HISTORY_LEN {
            self.buf.push(e);
        } else {
            self.buf[self.next] = e;
            self.next = (self.next + 1) % HISTORY_LEN;
        }
    }

    /// The events kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Stamped<T>> + '_ {
        let (newer, older) = self.buf.split_at(self.next);
        older.iter().chain(newer)
    }

    /// How many events are kept.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// No event was recorded.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// How many events were ever recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many were dropped to keep the bound.
    pub fn dropped(&self) -> u64 {
        self.total - self.buf.len() as u64
    }

    /// Where the buffer lives and how big it is (for tests that check
    /// recording never reallocates).
    pub fn allocation(&self) -> (*const Stamped<T>, usize) {
        (self.buf.as_ptr(), self.buf.capacity())
    }
}

impl<T: Copy> Default for History<T> {
    fn default() -> Self {
        History::new()
    }
}

impl<T: Copy> fmt::Debug for History<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("kept", &self.buf.len())
            .field("total", &self.total)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_events_in_order_without_reallocating() {
        let mut h: History<u32> = History::new();
        assert!(h.is_empty());
        let alloc = h.allocation();
        assert!(alloc.1 >= HISTORY_LEN);
        for i in 0..(HISTORY_LEN as u32 + 5) {
            h.push(Millis(u64::from(i) * 10), i);
        }
        assert_eq!(h.allocation(), alloc, "recording reallocated");
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.total(), HISTORY_LEN as u64 + 5);
        assert_eq!(h.dropped(), 5);
        let v: Vec<_> = h.iter().collect();
        assert_eq!(v[0].event, 5, "the 5 oldest are dropped");
        assert_eq!(v[0].seq, 5);
        assert_eq!(v[0].at, Millis(50));
        assert_eq!(v[HISTORY_LEN - 1].event, HISTORY_LEN as u32 + 4);
        assert!(v.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    }

    #[test]
    fn partial_history_lists_from_the_first() {
        let mut h: History<u8> = History::new();
        h.push(Millis(1), 7);
        h.push(Millis(2), 8);
        let v: Vec<u8> = h.iter().map(|e| e.event).collect();
        assert_eq!(v, [7, 8]);
        assert_eq!((h.total(), h.dropped()), (2, 0));
    }
}
