//! What bond calls report: events to log and actions to take.

use super::{Carrying, MemberId};
use core::fmt;

/// What made a member enabled or disabled (or, in the history, the bond
/// change a [`BondRecord`](super::BondRecord) holds). The one definition
/// of each cause: the log lines ([`BondEvent::text`]) and `bond/events`
/// both word it from here.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Carrier state (`bond_detect_mode=carrier`).
    Carrier,
    /// Carrier as a miimon poll saw it (`bond_detect_mode=miimon`).
    Miimon,
    /// `admin_state`.
    Admin,
    /// LACP: the LACP machine let the member carry traffic or stopped it,
    /// or the bond's negotiation changed (see `lacp/events` for why).
    Lacp,
    /// LACP is not negotiated and `lacp-fallback-ab` lets the bond run as
    /// active-backup: members are enabled on carrier alone.
    Fallback,
    /// Enabled before its updelay expired because no member was enabled.
    UpdelaySkipped,
    /// The member left the bond.
    Removed,
    /// `bond/enable-member` or `bond/disable-member`.
    Command,
}

impl Cause {
    /// A short word for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cause::Carrier => "carrier",
            Cause::Miimon => "miimon",
            Cause::Admin => "admin state",
            Cause::Lacp => "lacp",
            Cause::Fallback => "lacp-fallback-ab",
            Cause::UpdelaySkipped => "updelay skipped, no member was enabled",
            Cause::Removed => "removed from bond",
            Cause::Command => "runtime command",
        }
    }

    /// The stable name `bond/events --format=json` gives it.
    pub const fn key(self) -> &'static str {
        match self {
            Cause::Carrier => "carrier",
            Cause::Miimon => "miimon",
            Cause::Admin => "admin",
            Cause::Lacp => "lacp",
            Cause::Fallback => "fallback",
            Cause::UpdelaySkipped => "updelay_skipped",
            Cause::Removed => "removed",
            Cause::Command => "command",
        }
    }
}

/// Something the daemon should log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BondEvent {
    /// The member's link changed; it will be enabled (`up`) or disabled if it
    /// stays so for `delay_ms`.
    DelayStarted {
        /// The member.
        member: MemberId,
        /// Towards enabled (`true`) or disabled.
        up: bool,
        /// The delay.
        delay_ms: u64,
    },
    /// The link went back before its delay expired: the member will not be
    /// enabled (`up`) / disabled after all.
    DelayCancelled {
        /// The member.
        member: MemberId,
        /// The change that will not happen.
        up: bool,
    },
    /// The member was enabled.
    MemberEnabled {
        /// The member.
        member: MemberId,
        /// Why.
        cause: Cause,
    },
    /// The member was disabled.
    MemberDisabled {
        /// The member.
        member: MemberId,
        /// Why.
        cause: Cause,
    },
    /// A different member (or none) is active.
    ActiveChanged {
        /// The previous active member.
        from: Option<MemberId>,
        /// The new one; `None`: every member is disabled.
        to: Option<MemberId>,
    },
    /// Buckets moved because a member was disabled or enabled (`from: None`:
    /// they had no member; `to: None`: no member is left to take them).
    BucketsMoved {
        /// Previous holder.
        from: Option<MemberId>,
        /// New holder.
        to: Option<MemberId>,
        /// Number of buckets.
        count: u16,
    },
    /// The bucket table was dealt out again over the enabled members (mode,
    /// hash basis or fallback change, or first assignment).
    BucketsReset,
    /// Rebalancing moved one bucket.
    BucketShifted {
        /// The bucket (`hash & 0xff`).
        bucket: u8,
        /// Previous holder.
        from: MemberId,
        /// New holder.
        to: MemberId,
        /// The bucket's remembered load in bytes.
        load_bytes: u64,
    },
    /// A rebalance moved buckets; loads per member afterwards, in bytes.
    Rebalanced {
        /// `(member, load)` for every enabled member.
        loads: Vec<(MemberId, u64)>,
    },
    /// How the bond carries traffic changed (LACP negotiated or lost,
    /// fallback to active-backup, configuration).
    CarryingChanged {
        /// Before.
        from: Carrying,
        /// After.
        to: Carrying,
    },
}

impl fmt::Display for BondEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |m: &Option<MemberId>| m.map_or_else(|| "none".to_string(), |m| m.to_string());
        match self {
            BondEvent::DelayStarted {
                member,
                up,
                delay_ms,
            } => write!(
                f,
                "member {member}: will be {} if it stays {} for {delay_ms} ms",
                if *up { "enabled" } else { "disabled" },
                if *up { "up" } else { "down" }
            ),
            BondEvent::DelayCancelled { member, up } => write!(
                f,
                "member {member}: will not be {}",
                if *up { "enabled" } else { "disabled" }
            ),
            BondEvent::MemberEnabled { member, cause } => {
                write!(f, "member {member}: enabled ({})", cause.as_str())
            }
            BondEvent::MemberDisabled { member, cause } => {
                write!(f, "member {member}: disabled ({})", cause.as_str())
            }
            BondEvent::ActiveChanged { from, to } => match to {
                Some(to) => write!(f, "active member is now {to} (was {})", opt(from)),
                None => f.write_str("all members disabled"),
            },
            BondEvent::BucketsMoved { from, to, count } => {
                write!(f, "moved {count} hashes from {} to {}", opt(from), opt(to))
            }
            BondEvent::BucketsReset => f.write_str("hashes reassigned to all enabled members"),
            BondEvent::BucketShifted {
                bucket,
                from,
                to,
                load_bytes,
            } => write!(
                f,
                "shift {}kB of load (with hash {bucket}) from {from} to {to}",
                load_bytes / 1024
            ),
            BondEvent::Rebalanced { loads } => {
                f.write_str("rebalanced (now carrying:")?;
                for (i, (m, l)) in loads.iter().enumerate() {
                    let sep = if i == 0 { " " } else { " and " };
                    write!(f, "{sep}{m}:{}kB", l / 1024)?;
                }
                f.write_str(")")
            }
            BondEvent::CarryingChanged { from, to } => {
                let s = |c: &Carrying| match c {
                    Carrying::Normal(m) => m.as_str().to_string(),
                    Carrying::FallbackActiveBackup => "active-backup (lacp fallback)".to_string(),
                    Carrying::Down(r) => format!("down: {r}"),
                };
                write!(f, "now carrying traffic as {} (was {})", s(to), s(from))
            }
        }
    }
}

impl BondEvent {
    /// The event for the log, with member names from `name` instead of
    /// numbers where a member is the subject: the member of a delay or
    /// enable/disable event, the members of [`BondEvent::ActiveChanged`]
    /// (when one is left) and of [`BondEvent::BucketsMoved`]. Every other
    /// event reads as its [`Display`](fmt::Display) text.
    pub fn text(&self, name: &dyn Fn(MemberId) -> String) -> String {
        let opt = |m: &Option<MemberId>| m.map_or_else(|| "none".to_string(), name);
        match self {
            BondEvent::DelayStarted { member, .. }
            | BondEvent::DelayCancelled { member, .. }
            | BondEvent::MemberEnabled { member, .. }
            | BondEvent::MemberDisabled { member, .. } => self.to_string().replacen(
                &format!("member {member}:"),
                &format!("member {}:", name(*member)),
                1,
            ),
            BondEvent::ActiveChanged { from, to: Some(to) } => {
                format!("active member is now {} (was {})", name(*to), opt(from))
            }
            BondEvent::BucketsMoved { from, to, count } => {
                format!("moved {count} hashes from {} to {}", opt(from), opt(to))
            }
            _ => self.to_string(),
        }
    }
}

/// What a bond call asks the caller to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BondActions {
    /// The view changed: rebuild the datapath snapshot.
    pub changed: bool,
    /// Things to log.
    pub events: Vec<BondEvent>,
    /// Send gratuitous learning frames (a RARP from every MAC learned on
    /// another port of the bridge, on the member [`BondView::member_for_hash`](super::BondView::member_for_hash)
    /// picks for it), as OVS does after the active member or the bucket
    /// table of an active-backup or balance-slb bond without negotiated LACP
    /// changed. [`learning_packets`](super::learning_packets) composes
    /// them.
    pub send_learning_packets: bool,
}

impl BondActions {
    /// Fold `other` (a later call's actions) into `self`.
    pub fn merge(&mut self, other: BondActions) {
        self.changed |= other.changed;
        self.events.extend(other.events);
        self.send_learning_packets |= other.send_learning_packets;
    }
}
