//! The bucket table a restarted daemon restores ([`Bond::saved`],
//! [`Bond::restore`]), and, with the `serde` feature, its serialization.
//!
//! [`Bond::saved`]: super::Bond::saved
//! [`Bond::restore`]: super::Bond::restore

use super::{BondMode, MemberId};
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
