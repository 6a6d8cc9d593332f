//! QoS settings: the rates the configuration asks a port's traffic to keep.
//!
//! These are plain values shared by `ctl` (which turns the `QoS`, `Queue`
//! and `Interface.ingress_policing_*` columns into them) and the pipeline
//! (which enforces them with token buckets). Units are bytes: the
//! configuration's bits and kilobits are converted once, in `ctl`.

/// A token-bucket rate: how many bytes per second pass on average, and how
/// many may pass at once after a quiet period.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Sustained rate, bytes per second (> 0).
    pub bytes_per_s: u64,
    /// Bucket depth, bytes (> 0).
    pub burst_bytes: u64,
}

/// What a port's `qos` row asks of the frames the switch sends out on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EgressQos {
    /// `type=egress-policer`: single rate (`cir`, `cbs`); frames above it
    /// are dropped.
    Policer {
        /// `other_config:cir` / `cbs`.
        committed: Rate,
    },
    /// `type=trtcm-policer`: two rates, three colours (RFC 4115, as
    /// OVS-DPDK): green within `cir`/`cbs`, yellow within `eir`/`ebs`,
    /// red dropped.
    TrTcm {
        /// `other_config:cir` / `cbs`.
        committed: Rate,
        /// `other_config:eir` / `ebs`.
        excess: Rate,
    },
    /// `type=linux-htb` (what libvirt and CloudStack create): enforced as an
    /// egress rate limit on the port (`max-rate`, else `min-rate`, of the
    /// QoS row or its queue 0; `burst`).
    RateLimit {
        /// The limit.
        limit: Rate,
    },
}

mod meter;

pub use meter::{Colour, Meter, TokenBucket, TrTcm, MAX_BURST};
