//! The bucket table a restarted daemon restores ([`Bond::saved`],
//! [`Bond::restore`]), and, with the `serde` feature, its serialization.
//!
//! [`Bond::saved`]: super::Bond::saved
//! [`Bond::restore`]: super::Bond::restore

use super::{buckets, Bond, BondActions, BondMode, MemberId};
use crate::hash::BUCKETS;
use crate::time::Millis;
use core::fmt;

/// How long after [`Bond::restore`](super::Bond::restore) a saved table
/// still waits for the members it names: long enough for LACP members to
/// come back through a full negotiation when their resume fails, short
/// enough that a member coming back much later does not undo the choices
/// made meanwhile. The first rebalance also ends the wait.
pub const RESTORE_WINDOW_MS: u64 = 10_000;

/// A load-balancing bond's bucket → member table, by member id, as a
/// restarted daemon restores it ([`Bond::restore`](super::Bond::restore)).
/// Holds no loads or timers: it changes only when a bucket moves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BondSaved {
    /// The bond mode the table was built for.
    pub mode: BondMode,
    /// The hash basis the table was built for.
    pub hash_basis: u32,
    /// The member of each of the 256 buckets (`None`: no member).
    pub buckets: Vec<Option<MemberId>>,
}

/// Why [`Bond::restore`](super::Bond::restore) refused a saved table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RestoreRefused {
    /// The bond is not load-balancing (active-backup has no table).
    NotHashed,
    /// The table was saved for another bond mode.
    ModeChanged,
    /// The table was saved for another hash basis: the same bucket now
    /// holds other flows.
    HashBasisChanged,
    /// The table does not have 256 buckets.
    BadLength,
}

impl fmt::Display for RestoreRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestoreRefused::NotHashed => "the bond is not load-balancing",
            RestoreRefused::ModeChanged => "the bond mode changed",
            RestoreRefused::HashBasisChanged => "the hash basis changed",
            RestoreRefused::BadLength => "the saved table does not have 256 buckets",
        })
    }
}

impl std::error::Error for RestoreRefused {}

/// Saving and restoring the bucket table.
impl Bond {
    /// The bucket table to save for a restart: bucket → member id, for a
    /// load-balancing bond (`None` in active-backup, or when no bucket has
    /// a member). Buckets still waiting for their member in a restored
    /// table ([`Bond::restore`]) name that member, so saving again during a
    /// restore loses nothing. Changes only when a bucket moves: compare it
    /// with the last value written and write it when it differs.
    pub fn saved(&self) -> Option<BondSaved> {
        if !self.cfg.mode.is_hashed() {
            return None;
        }
        let mut buckets: Vec<Option<MemberId>> =
            self.buckets.map.iter().map(|&i| self.id_of(i)).collect();
        if let Some(r) = &self.restore {
            for (b, s) in buckets.iter_mut().zip(r.iter()) {
                if s.is_some() {
                    *b = *s;
                }
            }
        }
        if buckets.iter().all(Option::is_none) {
            return None;
        }
        Some(BondSaved {
            mode: self.cfg.mode,
            hash_basis: self.cfg.hash_basis,
            buckets,
        })
    }

    /// Reuse a table saved before a restart ([`Bond::saved`]) instead of
    /// dealing the buckets out: each member it names gets its buckets back
    /// as soon as it is enabled (at once if it already is), reported as
    /// [`BondEvent::BucketsMoved`](super::BondEvent::BucketsMoved). Until then those buckets go to the
    /// enabled members as usual. Entries naming members this bond does not
    /// have are ignored. The table stops waiting after
    /// [`RESTORE_WINDOW_MS`], at the first rebalance, or when a new
    /// configuration deals the table out again.
    ///
    /// Call it on the fresh bond, before or after reporting carrier. It is
    /// refused when the bond is not load-balancing, or the table was saved
    /// for another mode or hash basis, or is malformed.
    pub fn restore(
        &mut self,
        saved: &BondSaved,
        now: Millis,
    ) -> Result<BondActions, RestoreRefused> {
        if !self.cfg.mode.is_hashed() {
            return Err(RestoreRefused::NotHashed);
        }
        if saved.mode != self.cfg.mode {
            return Err(RestoreRefused::ModeChanged);
        }
        if saved.hash_basis != self.cfg.hash_basis {
            return Err(RestoreRefused::HashBasisChanged);
        }
        if saved.buckets.len() != BUCKETS {
            return Err(RestoreRefused::BadLength);
        }
        let mut map = Box::new([None; BUCKETS]);
        for (slot, id) in map.iter_mut().zip(&saved.buckets) {
            *slot = id.filter(|m| self.index(*m).is_some());
        }
        Ok(self.call(now, |b, _| {
            if map.iter().any(Option::is_some) {
                b.restore = Some(map);
                b.restore_until = now + RESTORE_WINDOW_MS;
            } else {
                b.restore = None;
            }
        }))
    }

    /// Whether a restored table still waits for some of its members.
    pub fn restore_pending(&self) -> bool {
        self.restore.is_some()
    }

    /// Give the members of a restored table that are enabled (`enabled`:
    /// member indices) their buckets back, reporting the moves; forget the
    /// entries of members that are gone.
    pub(super) fn apply_restore(&mut self, enabled: &[u8], acts: &mut BondActions) {
        let Some(map) = self.restore.as_mut() else {
            return;
        };
        let mut moves = buckets::Moves::new();
        let mut applied = false;
        for (b, slot) in map.iter_mut().enumerate() {
            let Some(id) = *slot else {
                continue;
            };
            let Some(i) = self.members.iter().position(|m| m.id == id) else {
                *slot = None;
                continue;
            };
            let i = i as u8;
            if !enabled.contains(&i) {
                continue;
            }
            let cur = self.buckets.map[b];
            if cur != i {
                buckets::count_move(&mut moves, cur, i);
                self.buckets.map[b] = i;
            }
            *slot = None;
            applied = true;
        }
        if map.iter().all(Option::is_none) {
            self.restore = None;
        }
        if applied {
            // The table is in use: a member enabled later does not make it
            // be dealt out again.
            self.fresh_until = None;
        }
        self.report_moves(moves, acts);
    }
}
