//! Time as the machines see it: a monotonic count of milliseconds
//! ([`Millis`]), and of nanoseconds ([`Nanos`]) where milliseconds are too
//! coarse (the QoS token buckets: a 1 Gbit/s rate is 125 kB per
//! millisecond, far more than a typical bucket holds).
//!
//! Nothing in `datapath` reads a clock. Callers read one once per burst (or
//! per control tick) and pass it in; tests pass a fake one. Both count from
//! the same epoch: `Nanos(n).millis() == Millis(n / 1_000_000)`.

use core::fmt;
use core::ops::{Add, Sub};

/// Monotonic time in milliseconds since an arbitrary epoch.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// Zero time (the epoch).
    pub const ZERO: Millis = Millis(0);

    /// Build from whole seconds.
    pub const fn from_secs(s: u64) -> Millis {
        Millis(s * 1000)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch (truncated).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Monotonic time in nanoseconds since the epoch of [`Millis`].
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub u64);

impl Nanos {
    /// Zero time (the epoch).
    pub const ZERO: Nanos = Nanos(0);

    /// The same instant in whole milliseconds (truncated).
    #[inline(always)]
    pub const fn millis(self) -> Millis {
        Millis(self.0 / 1_000_000)
    }

    /// `self - earlier` in nanoseconds, or zero if `earlier` is later.
    #[inline(always)]
    pub const fn saturating_since(self, earlier: Nanos) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<Millis> for Nanos {
    /// The start of millisecond `m`.
    fn from(m: Millis) -> Nanos {
        Nanos(m.0.saturating_mul(1_000_000))
    }
}

impl Add<u64> for Nanos {
    type Output = Nanos;
    fn add(self, ns: u64) -> Nanos {
        Nanos(self.0.saturating_add(ns))
    }
}

impl fmt::Debug for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ns", self.0)
    }
}

impl Add<u64> for Millis {
    type Output = Millis;
    fn add(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

impl Sub<u64> for Millis {
    type Output = Millis;
    fn sub(self, ms: u64) -> Millis {
        Millis(self.0.saturating_sub(ms))
    }
}

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}
