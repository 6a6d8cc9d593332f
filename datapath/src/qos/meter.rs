//! Token-bucket meters: the machines that enforce a [`Rate`].
//!
//! - [`TokenBucket`]: one rate, one bucket. A frame passes when the bucket
//!   holds at least its length. This is RFC 2697's srTCM with an empty
//!   excess bucket (EBS = 0), which is what OVS-DPDK's `egress-policer` and
//!   ingress policing run (DPDK `rte_meter_srtcm`, green passes).
//! - [`TrTcm`]: RFC 4115's two-rate three-colour meter, colour-blind, as
//!   OVS-DPDK's `trtcm-policer` (DPDK `rte_meter_trtcm_rfc4115`): green from
//!   the committed bucket, else yellow from the excess bucket, else red.
//!   Green and yellow pass; red is dropped.
//!
//! Time is [`Nanos`], read by the caller once per burst. Tokens are counted
//! in nano-bytes (a byte is 10^9 tokens), so a refill of `elapsed_ns ×
//! bytes_per_s` tokens is exact integer arithmetic: no division, no
//! rounding remainder to carry, and the long-run rate is the configured one
//! to the byte. Buckets start full. Nothing allocates.
//!
//! Lengths are whatever the caller charges per frame; the pipeline charges
//! what OVS defines the rates in: bytes of IP packets, the frame without
//! its 14-byte Ethernet header.

use super::{EgressQos, Rate};
use crate::time::Nanos;

/// Tokens per byte.
const UNIT: u128 = 1_000_000_000;

/// The most frames one [`TokenBucket::police`] call decides on (bits of its
/// mask); the pipeline's bursts and output batches hold at most 32.
pub const MAX_BURST: usize = 64;

/// The colour RFC 2697/4115 give a frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Within the committed rate.
    Green,
    /// Above the committed rate, within the excess rate.
    Yellow,
    /// Above both: dropped.
    Red,
}

/// One rate, one bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Tokens added per nanosecond (= bytes per second).
    rate: u64,
    /// Bucket depth, tokens.
    cap: u128,
    /// Tokens now.
    tokens: u128,
    /// When `tokens` was last refilled.
    last: Nanos,
}

impl TokenBucket {
    /// A full bucket for `rate`, as of `now`.
    pub fn new(rate: Rate, now: Nanos) -> TokenBucket {
        let cap = u128::from(rate.burst_bytes) * UNIT;
        TokenBucket {
            rate: rate.bytes_per_s,
            cap,
            tokens: cap,
            last: now,
        }
    }

    /// Add what accrued since the last refill, up to the depth. A `now`
    /// earlier than the last refill adds nothing.
    #[inline(always)]
    pub fn refill(&mut self, now: Nanos) {
        let elapsed = now.saturating_since(self.last);
        if elapsed == 0 {
            return;
        }
        self.last = now;
        // < 2^128: both factors are below 2^64.
        let add = u128::from(elapsed) * u128::from(self.rate);
        self.tokens = self.tokens.saturating_add(add).min(self.cap);
    }

    /// Take `len` bytes' worth of tokens if the bucket holds that many.
    #[inline(always)]
    pub fn take(&mut self, len: u32) -> bool {
        let cost = u128::from(len) * UNIT;
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Refill at `now`, then decide on a burst: bit `i` of the result is set
    /// when frame `i` (of length `lens[i]`) passes. Frames are taken in
    /// order; one too long for the tokens left does not stop a shorter one
    /// after it. Lengths past [`MAX_BURST`] are not passed.
    #[inline]
    pub fn police(&mut self, now: Nanos, lens: impl IntoIterator<Item = u32>) -> u64 {
        self.refill(now);
        let mut mask = 0u64;
        for (i, len) in lens.into_iter().take(MAX_BURST).enumerate() {
            mask |= u64::from(self.take(len)) << i;
        }
        mask
    }

    /// Whole bytes in the bucket now (for tests and status).
    pub fn bytes(&self) -> u64 {
        (self.tokens / UNIT) as u64
    }
}

/// RFC 4115 two-rate three-colour meter, colour-blind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrTcm {
    committed: TokenBucket,
    excess: TokenBucket,
}

impl TrTcm {
    /// Both buckets full, as of `now`.
    pub fn new(committed: Rate, excess: Rate, now: Nanos) -> TrTcm {
        TrTcm {
            committed: TokenBucket::new(committed, now),
            excess: TokenBucket::new(excess, now),
        }
    }

    /// Refill both buckets (each up to its own depth: RFC 4115 does not
    /// spill committed tokens into the excess bucket).
    #[inline(always)]
    pub fn refill(&mut self, now: Nanos) {
        self.committed.refill(now);
        self.excess.refill(now);
    }

    /// The colour of one frame of `len` bytes, taking its tokens.
    #[inline(always)]
    pub fn colour(&mut self, len: u32) -> Colour {
        if self.committed.take(len) {
            Colour::Green
        } else if self.excess.take(len) {
            Colour::Yellow
        } else {
            Colour::Red
        }
    }

    /// [`TokenBucket::police`] for two rates: green and yellow pass.
    #[inline]
    pub fn police(&mut self, now: Nanos, lens: impl IntoIterator<Item = u32>) -> u64 {
        self.refill(now);
        let mut mask = 0u64;
        for (i, len) in lens.into_iter().take(MAX_BURST).enumerate() {
            mask |= u64::from(self.colour(len) != Colour::Red) << i;
        }
        mask
    }
}

/// A meter for any of the settings the pipeline enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meter {
    /// Ingress policing, `egress-policer`, `linux-htb`.
    Single(TokenBucket),
    /// `trtcm-policer`.
    TwoRate(TrTcm),
}

impl Meter {
    /// The meter for egress settings `q`, full, as of `now`.
    pub fn egress(q: &EgressQos, now: Nanos) -> Meter {
        match *q {
            EgressQos::Policer { committed: r } | EgressQos::RateLimit { limit: r } => {
                Meter::Single(TokenBucket::new(r, now))
            }
            EgressQos::TrTcm { committed, excess } => {
                Meter::TwoRate(TrTcm::new(committed, excess, now))
            }
        }
    }

    /// Which frames of a burst pass (see [`TokenBucket::police`]).
    #[inline]
    pub fn police(&mut self, now: Nanos, lens: impl IntoIterator<Item = u32>) -> u64 {
        match self {
            Meter::Single(b) => b.police(now, lens),
            Meter::TwoRate(m) => m.police(now, lens),
        }
    }
}

impl Rate {
    /// Share `k` of `n` (`k < n`) of this rate, for one of `n` PMD threads
    /// that each meter their own part of the traffic with no shared state:
    /// the rate and the depth are divided, the remainders going to the first
    /// shares, so the shares add up to the whole. When there are several,
    /// a share's depth is at least `min_burst` (the longest frame the port
    /// carries), so that every share can pass every frame; this is the only
    /// way the shares can add up to more than the whole (a burst, never the
    /// rate). One share is the whole, as configured.
    pub fn share(self, k: usize, n: usize, min_burst: u64) -> Rate {
        if n <= 1 {
            return self;
        }
        let n = n as u64;
        let k = (k as u64).min(n - 1);
        let part = |v: u64| v / n + u64::from(k < v % n);
        Rate {
            bytes_per_s: part(self.bytes_per_s),
            // An empty bucket (an `ebs` of 0) stays empty.
            burst_bytes: match self.burst_bytes {
                0 => 0,
                b => part(b).max(min_burst),
            },
        }
    }
}

impl EgressQos {
    /// Every rate of `self` shared as [`Rate::share`] does.
    pub fn share(self, k: usize, n: usize, min_burst: u64) -> EgressQos {
        let s = |r: Rate| r.share(k, n, min_burst);
        match self {
            EgressQos::Policer { committed } => EgressQos::Policer {
                committed: s(committed),
            },
            EgressQos::TrTcm { committed, excess } => EgressQos::TrTcm {
                committed: s(committed),
                excess: s(excess),
            },
            EgressQos::RateLimit { limit } => EgressQos::RateLimit { limit: s(limit) },
        }
    }
}

#[cfg(test)]
mod tests;
