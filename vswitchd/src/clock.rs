//! One clock for the control thread and the PMD threads.
//!
//! The control thread reads `Instant`; PMD threads read the TSC once per
//! polling iteration. Both give [`Millis`] since the daemon started, so the
//! MAC table's timestamps (written by PMDs) and its aging (run by the
//! control thread) agree. The wall clock is read once, with the epoch:
//! [`Clock::wall_epoch_ms`] turns the machines' monotonic times (the
//! bond and LACP event histories) into wall-clock times.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datapath::time::Millis;

/// The daemon's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    /// The wall clock at `start`, in Unix milliseconds.
    wall_epoch_ms: u64,
    /// TSC reading at `tsc_base_ms` after `start` (set when EAL is up).
    tsc0: u64,
    tsc_base_ms: u64,
    /// ⌈2^128 / cycles_per_ms⌉: PMDs multiply instead of dividing.
    ms_per_cycle_q128: u128,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Clock {
        let start = Instant::now();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH);
        Clock {
            start,
            wall_epoch_ms: wall.map_or(0, |d| d.as_millis() as u64),
            tsc0: 0,
            tsc_base_ms: 0,
            ms_per_cycle_q128: 0,
        }
    }

    /// Calibrate the TSC side: `tsc` was read just now, and it ticks at `hz`.
    pub fn with_tsc(self, tsc: u64, hz: u64) -> Clock {
        // At least 2 cycles per millisecond, so that the reciprocal fits.
        let cycles_per_ms = (hz / 1000).max(2);
        Clock {
            tsc0: tsc,
            tsc_base_ms: self.start.elapsed().as_millis() as u64,
            // ⌈2^128 / c⌉ = ⌊(2^128 - 1) / c⌋ + 1 for every c ≥ 2.
            ms_per_cycle_q128: u128::MAX / u128::from(cycles_per_ms) + 1,
            ..self
        }
    }

    /// The wall clock (Unix milliseconds) at monotonic time 0: wall time
    /// of monotonic `t` is this plus `t` (later steps of the wall clock
    /// are not followed).
    pub fn wall_epoch_ms(&self) -> u64 {
        self.wall_epoch_ms
    }

    /// Now, for the control thread.
    pub fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    /// The time of TSC reading `tsc`, for PMD threads. Two multiplications
    /// by the rounded-up 128-bit reciprocal instead of a division: the
    /// product overshoots the quotient by less than cycles × 2^-128 ms,
    /// less than one cycle for any 64-bit count, so the result is exact.
    #[inline]
    pub fn at_tsc(&self, tsc: u64) -> Millis {
        let cycles = u128::from(tsc.wrapping_sub(self.tsc0));
        let q = self.ms_per_cycle_q128;
        let low = (cycles * (q as u64 as u128)) >> 64;
        let ms = (cycles * (q >> 64) + low) >> 64;
        Millis(self.tsc_base_ms + ms as u64)
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
        // The wall epoch survives calibration and is about now.
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let epoch = c.wall_epoch_ms();
        assert!(epoch <= wall.as_millis() as u64 && epoch + 60_000 > wall.as_millis() as u64);
    }

    #[test]
    fn tsc_milliseconds_match_division() {
        for hz in [
            1_000_000u64,
            2_300_000_000,
            2_299_999_999,
            3_000_000_007,
            4_000_000_000,
        ] {
            let c = Clock::new().with_tsc(0, hz);
            let cpm = hz / 1000;
            let base = c.at_tsc(0).0;
            // Millisecond boundaries and both sides of them, from the
            // first day to the end of the 64-bit count.
            let last = u64::MAX / cpm;
            let ks = (0..86_400_000u64).step_by(997);
            for k in ks.chain([1 << 29, 1 << 30, last / 2, last - 1, last]) {
                for d in [0i64, -1, 1] {
                    let t = (k * cpm).saturating_add_signed(d);
                    assert_eq!(c.at_tsc(t).0 - base, t / cpm, "hz {hz} tsc {t}");
                }
            }
        }
    }
}
