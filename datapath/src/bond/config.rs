//! Bond configuration: modes, link detection, settings and their errors.

use super::MemberId;
use core::fmt;

/// [`BondView::buckets`](super::BondView::buckets) value for "no member".
pub const NO_MEMBER: u8 = 0xff;

/// The most members a bond can have (the `enabled` bitmask is a `u64`).
pub const MAX_MEMBERS: usize = 64;

/// OVS's default `bond-rebalance-interval`.
pub const DEFAULT_REBALANCE_INTERVAL_MS: u64 = 10_000;

/// Shortest non-zero rebalance interval; shorter ones are raised to it.
pub const MIN_REBALANCE_INTERVAL_MS: u64 = 1_000;

/// OVS's default `bond-miimon-interval`.
pub const DEFAULT_MIIMON_INTERVAL_MS: u64 = 200;

crate::spelled_enum! {
    /// `bond_mode`.
    pub enum BondMode {
        /// One active member carries all traffic.
        ActiveBackup => "active-backup",
        /// Source MAC + VLAN load balancing, no partner cooperation needed.
        BalanceSlb => "balance-slb",
        /// L3/L4 load balancing; requires negotiated LACP.
        BalanceTcp => "balance-tcp",
    }
}

impl BondMode {
    /// Parse the OVS spelling.
    pub fn parse(s: &str) -> Result<BondMode, BondConfigError> {
        BondMode::from_name(s).ok_or_else(|| BondConfigError::UnknownMode(s.to_string()))
    }

    /// Whether the mode spreads flows over buckets.
    pub const fn is_hashed(self) -> bool {
        !matches!(self, BondMode::ActiveBackup)
    }
}

/// `other_config:bond-detect-mode` (and `bond-miimon-interval`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DetectMode {
    /// Every carrier sample (link-change event) counts.
    Carrier,
    /// Carrier is polled every `interval_ms`.
    Miimon {
        /// Poll interval in milliseconds (0 means the default, 200).
        interval_ms: u64,
    },
}

impl DetectMode {
    /// Build from the two `other_config` keys: `mode` is `None`,
    /// `"carrier"` or `"miimon"`; `interval_ms` is `bond-miimon-interval`
    /// (unset means 200, as in OVS; 0 is rejected).
    pub fn from_config(
        mode: Option<&str>,
        interval_ms: Option<u64>,
    ) -> Result<DetectMode, BondConfigError> {
        if interval_ms == Some(0) {
            return Err(BondConfigError::ZeroMiimonInterval);
        }
        match mode {
            None | Some("carrier") => Ok(DetectMode::Carrier),
            Some("miimon") => Ok(DetectMode::Miimon {
                interval_ms: interval_ms.unwrap_or(DEFAULT_MIIMON_INTERVAL_MS),
            }),
            Some(other) => Err(BondConfigError::UnknownDetectMode(other.to_string())),
        }
    }

    /// The OVS spelling of the mode.
    pub const fn as_str(self) -> &'static str {
        match self {
            DetectMode::Carrier => "carrier",
            DetectMode::Miimon { .. } => "miimon",
        }
    }

    /// The poll interval in miimon mode.
    pub const fn miimon_interval(self) -> Option<u64> {
        match self {
            DetectMode::Carrier => None,
            DetectMode::Miimon { interval_ms: 0 } => Some(DEFAULT_MIIMON_INTERVAL_MS),
            DetectMode::Miimon { interval_ms } => Some(interval_ms),
        }
    }
}

/// A bond's configuration (Port columns and `other_config` keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondConfig {
    /// `bond_mode`.
    pub mode: BondMode,
    /// `bond_updelay`.
    pub updelay_ms: u64,
    /// `bond_downdelay`.
    pub downdelay_ms: u64,
    /// `bond-detect-mode` / `bond-miimon-interval`.
    pub detect: DetectMode,
    /// `bond-rebalance-interval`: 0 = never; non-zero values below 1000 mean
    /// 1000. OVS default 10000.
    pub rebalance_interval_ms: u64,
    /// `lacp` is not `off`.
    pub lacp: bool,
    /// `lacp-fallback-ab`.
    pub lacp_fallback_ab: bool,
    /// `bond-primary`, resolved to a member id. Used in active-backup
    /// (including LACP fallback to active-backup).
    pub primary: Option<MemberId>,
    /// `bond-hash-basis`.
    pub hash_basis: u32,
}

impl Default for BondConfig {
    /// OVS's defaults.
    fn default() -> Self {
        BondConfig {
            mode: BondMode::ActiveBackup,
            updelay_ms: 0,
            downdelay_ms: 0,
            detect: DetectMode::Carrier,
            rebalance_interval_ms: DEFAULT_REBALANCE_INTERVAL_MS,
            lacp: false,
            lacp_fallback_ab: false,
            primary: None,
            hash_basis: 0,
        }
    }
}

impl BondConfig {
    /// The rebalance interval in effect (0 = never).
    pub const fn effective_rebalance_interval(&self) -> u64 {
        match self.rebalance_interval_ms {
            0 => 0,
            i if i < MIN_REBALANCE_INTERVAL_MS => MIN_REBALANCE_INTERVAL_MS,
            i => i,
        }
    }
}

/// A bad bond setting, worded for `vsctl: <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BondConfigError {
    /// Not active-backup, balance-slb or balance-tcp.
    UnknownMode(String),
    /// Not carrier or miimon.
    UnknownDetectMode(String),
    /// `bond-miimon-interval=0`.
    ZeroMiimonInterval,
}

impl fmt::Display for BondConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondConfigError::UnknownMode(s) => write!(
                f,
                "unknown bond_mode \"{s}\" (expected active-backup, balance-slb or balance-tcp)"
            ),
            BondConfigError::UnknownDetectMode(s) => write!(
                f,
                "unknown bond-detect-mode \"{s}\" (expected carrier or miimon)"
            ),
            BondConfigError::ZeroMiimonInterval => {
                f.write_str("bond-miimon-interval must be greater than 0")
            }
        }
    }
}

impl std::error::Error for BondConfigError {}

/// A refused membership change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BondError {
    /// The member is already in the bond.
    DuplicateMember(MemberId),
    /// The bond already has [`MAX_MEMBERS`] members.
    TooManyMembers,
}

impl fmt::Display for BondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondError::DuplicateMember(m) => write!(f, "member {m} is already in the bond"),
            BondError::TooManyMembers => write!(f, "a bond has at most {MAX_MEMBERS} members"),
        }
    }
}

impl std::error::Error for BondError {}
