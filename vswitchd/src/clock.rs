//! One clock for the control thread and the PMD threads.
//!
//! The control thread reads `Instant`; PMD threads read the TSC once per
//! polling iteration. Both give [`Millis`] since the daemon started, so the
//! MAC table's timestamps (written by PMDs) and its aging (run by the
//! control thread) agree.

use std::time::Instant;

use datapath::time::Millis;

/// The daemon's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    /// TSC reading at `tsc_base_ms` after `start` (set when EAL is up).
    tsc0: u64,
    tsc_base_ms: u64,
    cycles_per_ms: u64,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
            tsc0: 0,
            tsc_base_ms: 0,
            cycles_per_ms: 0,
        }
    }

    /// Calibrate the TSC side: `tsc` was read just now, and it ticks at `hz`.
    pub fn with_tsc(self, tsc: u64, hz: u64) -> Clock {
        Clock {
            tsc0: tsc,
            tsc_base_ms: self.start.elapsed().as_millis() as u64,
            cycles_per_ms: (hz / 1000).max(1),
            ..self
        }
    }

    /// Now, for the control thread.
    pub fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    /// The time of TSC reading `tsc`, for PMD threads.
    #[inline]
    pub fn at_tsc(&self, tsc: u64) -> Millis {
        Millis(self.tsc_base_ms + tsc.wrapping_sub(self.tsc0) / self.cycles_per_ms)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_and_instant_agree_on_the_epoch() {
        let c = Clock::new().with_tsc(1_000_000, 2_000_000_000);
        let base = c.at_tsc(1_000_000).0;
        assert_eq!(c.at_tsc(1_000_000 + 2_000_000 * 1500).0, base + 1500);
        assert!(c.now().0 >= base);
    }
}
