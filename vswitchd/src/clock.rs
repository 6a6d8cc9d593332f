//! One clock for the control thread and the PMD threads.
//!
//! The control thread reads `Instant`; PMD threads read the TSC once per
//! polling iteration. Both count from the daemon's start: the control
//! thread in [`Millis`], PMDs in [`Nanos`] (the QoS meters need more than
//! milliseconds; the pipeline gives the MAC table their milliseconds), so
//! the MAC table's timestamps (written by PMDs) and its aging (run by the
//! control thread) agree. The wall clock is read once, with the epoch:
//! [`Clock::wall_epoch_ms`] turns the machines' monotonic times (the
//! bond and LACP event histories) into wall-clock times.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datapath::time::{Millis, Nanos};

/// The daemon's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    /// The wall clock at `start`, in Unix milliseconds.
    wall_epoch_ms: u64,
    /// TSC reading at `tsc_base_ns` after `start` (set when EAL is up).
    tsc0: u64,
    /// `tsc0`'s time in nanoseconds after `start`.
    tsc_base_ns: u64,
    /// ⌊10^9 × 2^64 / hz⌋: nanoseconds per cycle, 64 fraction bits.
    ns_per_cycle_q64: u128,
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
            tsc_base_ns: 0,
            ns_per_cycle_q64: 0,
        }
    }

    /// Calibrate the TSC side: `tsc` was read just now, and it ticks at `hz`.
    pub fn with_tsc(self, tsc: u64, hz: u64) -> Clock {
        Clock {
            tsc0: tsc,
            tsc_base_ns: self.start.elapsed().as_nanos() as u64,
            ns_per_cycle_q64: (1_000_000_000u128 << 64) / u128::from(hz.max(1)),
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

    /// The time of TSC reading `tsc`, for PMD threads: nanoseconds (the
    /// QoS meters need them), whose [`Nanos::millis`] is the MAC table's
    /// time. Two multiplications by a 64.64 fixed-point reciprocal instead
    /// of a division; rounded down, it is short by at most a nanosecond
    /// for any 64-bit count.
    #[inline]
    pub fn ns_at_tsc(&self, tsc: u64) -> Nanos {
        let cycles = u128::from(tsc.wrapping_sub(self.tsc0));
        let q = self.ns_per_cycle_q64;
        // q < 2^94 (hz ≥ 1): split so that no product overflows.
        let low = (cycles * (q as u64 as u128)) >> 64;
        let ns = cycles * (q >> 64) + low;
        Nanos(self.tsc_base_ns.wrapping_add(ns as u64))
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
        let base = c.ns_at_tsc(1_000_000).0;
        assert_eq!(
            c.ns_at_tsc(1_000_000 + 2_000_000 * 1500).0,
            base + 1_500_000_000
        );
        assert!(c.now().0 >= base / 1_000_000);
        // The wall epoch survives calibration and is about now.
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let epoch = c.wall_epoch_ms();
        assert!(epoch <= wall.as_millis() as u64 && epoch + 60_000 > wall.as_millis() as u64);
    }

    #[test]
    fn tsc_nanoseconds_match_division() {
        for hz in [
            1_000_000u64,
            2_300_000_000,
            2_299_999_999,
            3_000_000_007,
            4_000_000_000,
        ] {
            let c = Clock::new().with_tsc(0, hz);
            let base = c.ns_at_tsc(0).0;
            let ts = (0..86_400_000u64).step_by(9973).map(|k| k * (hz / 1000));
            for t in ts.chain([1, 999, 1 << 33, 1 << 50, u64::MAX / 2, u64::MAX]) {
                let want = (u128::from(t) * 1_000_000_000 / u128::from(hz)) as u64;
                let got = c.ns_at_tsc(t).0.wrapping_sub(base);
                assert!(
                    got <= want && want - got <= 1,
                    "hz {hz} tsc {t}: {got} vs {want}"
                );
            }
        }
    }
}
