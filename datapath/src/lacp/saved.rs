//! The operational state a restarted daemon resumes from
//! ([`Lacp::saved`](super::Lacp::saved), [`Lacp::resume`](super::Lacp::resume)),
//! and, with the `serde` feature, its serialization.
//!
//! The saved value holds configuration and partner identities only, never
//! counters or timers, so it changes only when something that matters for a
//! resume changes (a member enabled or disabled, a new partner, new
//! settings): the daemon can compare it with the last one written after
//! every event and write it only when it differs.

use super::{LacpConfig, MemberConfig, MemberId};
use crate::wire::lacpdu::LacpInfo;

/// What a fresh [`Lacp`](super::Lacp) needs to take over the links of the
/// previous process without renegotiating.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LacpSaved {
    /// The bond-wide settings (system ID and priority, configured key, mode,
    /// rate). A resume needs identical settings.
    pub config: LacpConfig,
    /// The aggregation key actually sent (the configured one, or the
    /// automatic one). With an automatic key, a resume adopts this one.
    pub key: u16,
    /// Every member that was enabled (or still resuming), in member order.
    pub members: Vec<LacpSavedMember>,
}

/// One member in a [`LacpSaved`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LacpSavedMember {
    /// The caller's member id.
    pub id: MemberId,
    /// Its settings. A resume needs identical ones.
    pub config: MemberConfig,
    /// Its partner as last recorded (in sync).
    pub partner: LacpInfo,
}
