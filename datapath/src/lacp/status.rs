//! What the LACP machine reports: states, counters and the snapshot behind
//! `ovs-appctl lacp/show` and `lacp/show-stats`.

use core::fmt;

use super::{LacpCause, LacpMode, MemberId};
use crate::wire::lacpdu::LacpInfo;
use crate::wire::MacAddr;

/// The receive machine of one member (802.1AX-2008 5.4.12).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RxState {
    /// The link is down (carrier off): nothing is received, the partner is
    /// not in sync. INITIALIZE passes through here too.
    PortDisabled,
    /// No LACPDU for a timeout: the partner is kept but no longer in sync,
    /// and is asked for fast LACPDUs. One more short timeout → defaulted.
    Expired,
    /// No partner: partner information is the default (all zero).
    Defaulted,
    /// Partner information is up to date.
    Current,
}

impl RxState {
    /// The word `lacp/show` prints.
    pub const fn as_str(self) -> &'static str {
        match self {
            RxState::PortDisabled => "disabled",
            RxState::Expired => "expired",
            RxState::Defaulted => "defaulted",
            RxState::Current => "current",
        }
    }
}

impl fmt::Display for RxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mux machine of one member (independent control, 802.1AX-2008
/// 5.4.15), in the order a member walks through it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MuxState {
    /// Not attached to the aggregator.
    Detached,
    /// Selected; waiting `AGGREGATE_WAIT` for the other members of the
    /// aggregate to be selected too.
    Waiting,
    /// Attached: advertises synchronization, waits for the partner's.
    Attached,
    /// Receiving: advertises collecting, waits for the partner to collect.
    Collecting,
    /// Sending and receiving: the member carries traffic.
    Distributing,
}

impl MuxState {
    /// The word `lacp/show` prints.
    pub const fn as_str(self) -> &'static str {
        match self {
            MuxState::Detached => "detached",
            MuxState::Waiting => "waiting",
            MuxState::Attached => "attached",
            MuxState::Collecting => "collecting",
            MuxState::Distributing => "distributing",
        }
    }
}

impl fmt::Display for MuxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters of one member, as `lacp/show-stats` prints them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberCounters {
    /// Valid LACPDUs received (dot3adAggPortStatsLACPDUsRx).
    pub rx_pdus: u64,
    /// Slow Protocols frames that were neither a valid LACPDU nor a valid
    /// Marker PDU (dot3adAggPortStatsIllegalRx).
    pub rx_bad_pdus: u64,
    /// Marker requests received (dot3adAggPortStatsMarkerPDUsRx).
    pub rx_marker_requests: u64,
    /// LACPDUs sent (dot3adAggPortStatsLACPDUsTx).
    pub tx_pdus: u64,
    /// Marker responses sent (dot3adAggPortStatsMarkerResponsePDUsTx).
    pub tx_marker_responses: u64,
    /// Times the partner information expired (current → expired).
    pub link_expired: u64,
    /// Times the partner information was dropped (expired → defaulted).
    pub link_defaulted: u64,
    /// Carrier transitions reported through `set_carrier`.
    pub carrier_changes: u64,
}

/// One member in a [`LacpStatus`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LacpMemberStatus {
    /// The caller's member id.
    pub id: MemberId,
    /// Carrier as last reported.
    pub carrier: bool,
    /// Receive machine state.
    pub rx_state: RxState,
    /// Mux machine state.
    pub mux_state: MuxState,
    /// Selected for the bond's aggregator (what OVS calls "attached").
    pub attached: bool,
    /// May carry traffic: distributing, with a partner in sync and
    /// collecting (OVS's "may_enable").
    pub may_enable: bool,
    /// What this member sends about itself (port id and priority included).
    pub actor: LacpInfo,
    /// What it knows of its partner (all zero when defaulted).
    pub partner: LacpInfo,
    /// Counters.
    pub counters: MemberCounters,
    /// The cause of its last recorded change (see `lacp/history.rs`).
    pub last_cause: LacpCause,
}

impl LacpMemberStatus {
    /// Why LACP last enabled or disabled this member (its last recorded
    /// change, as `lacp/events` lists it), worded for the log.
    pub fn cause(&self) -> String {
        self.last_cause.describe(&self.partner, self.mux_state)
    }
}

/// Everything `lacp/show` and `lacp/show-stats` print for one bond.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LacpStatus {
    /// Active or passive.
    pub mode: LacpMode,
    /// At least one member is attached to a partner.
    pub negotiated: bool,
    /// Our system ID.
    pub system_id: MacAddr,
    /// Our system priority.
    pub system_priority: u16,
    /// The aggregation key we send; `None` before any member exists and
    /// no key is configured (OVS prints "none").
    pub key: Option<u16>,
    /// Fast (1 s) LACPDUs requested from partners.
    pub fast: bool,
    /// Members in the order they were added.
    pub members: Vec<LacpMemberStatus>,
}

impl LacpStatus {
    /// `lacp_time` as OVS prints it: "fast" or "slow".
    pub const fn lacp_time(&self) -> &'static str {
        if self.fast {
            "fast"
        } else {
            "slow"
        }
    }

    /// The status of member `id`.
    pub fn member(&self, id: MemberId) -> Option<&LacpMemberStatus> {
        self.members.iter().find(|m| m.id == id)
    }
}
