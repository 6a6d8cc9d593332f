//! What `ovs-appctl bond/show` prints, as data, and a formatter in OVS's
//! layout.

use super::{Bond, BondMode, Carrying, DetectMode, DownReason, LacpNegotiation, MemberId};
use crate::hash::BUCKETS;
use crate::wire::MacAddr;
use core::fmt::Write as _;

/// A bond's state for `bond/show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondStatus {
    /// Configured `bond_mode`.
    pub mode: BondMode,
    /// How traffic is carried now (LACP fallback, down).
    pub carrying: Carrying,
    /// Why the bond carries nothing, if it does not.
    pub down_reason: Option<DownReason>,
    /// `bond-hash-basis`.
    pub hash_basis: u32,
    /// `bond_updelay`.
    pub updelay_ms: u64,
    /// `bond_downdelay`.
    pub downdelay_ms: u64,
    /// Link detection.
    pub detect: DetectMode,
    /// Rebalance interval in effect (0 = never).
    pub rebalance_interval_ms: u64,
    /// Milliseconds until the next rebalance, when the bond is
    /// load-balancing with rebalancing on.
    pub next_rebalance_ms: Option<u64>,
    /// `lacp_status`.
    pub lacp_status: LacpNegotiation,
    /// `lacp-fallback-ab`.
    pub lacp_fallback_ab: bool,
    /// `bond-primary`.
    pub primary: Option<MemberId>,
    /// The primary is one of the members.
    pub primary_is_member: bool,
    /// The active member.
    pub active: Option<MemberId>,
    /// Every member, in bond order.
    pub members: Vec<BondMemberStatus>,
}

/// One member's state for `bond/show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondMemberStatus {
    /// The member.
    pub id: MemberId,
    /// May carry traffic.
    pub enabled: bool,
    /// Every input (carrier, admin, LACP) lets it carry traffic; it becomes
    /// `enabled` once its updelay has passed.
    pub may_enable: bool,
    /// It is the active member.
    pub active: bool,
    /// Carrier as the bond sees it.
    pub carrier: bool,
    /// `admin_state` is up.
    pub admin_up: bool,
    /// LACP lets it carry traffic (meaningful when LACP is configured).
    pub lacp_enabled: bool,
    /// Held disabled by `bond/disable-member`.
    pub held_down: bool,
    /// Times its carrier (as the bond acts on it) went down, as Linux's
    /// `Link Failure Count`.
    pub link_failures: u64,
    /// Milliseconds since its carrier last changed (or was first sampled);
    /// `None` before the first sample.
    pub last_link_change_ms: Option<u64>,
    /// Times the LACP machine stopped letting it carry traffic (its
    /// partner went silent or out of sync, ...; `lacp/events` says why).
    pub lacp_failures: u64,
    /// A running updelay/downdelay.
    pub pending: Option<PendingDelay>,
    /// The buckets it holds with their remembered loads (load-balancing
    /// modes only; empty otherwise), in bucket order.
    pub buckets: Vec<BucketLoad>,
}

impl Bond {
    /// Everything `bond/show` prints. Relative times are measured from the
    /// latest `now` the bond was given.
    pub fn status(&self) -> BondStatus {
        let now = self.last_now;
        let hashed = self.carrying.is_hashed();
        let members = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| BondMemberStatus {
                id: m.id,
                enabled: m.enabled,
                may_enable: m.is_up(self.lacp_allows(i)),
                active: self.active == Some(m.id),
                carrier: m.carrier,
                admin_up: m.admin,
                lacp_enabled: m.lacp,
                held_down: m.held_down,
                link_failures: m.link_failures,
                lacp_failures: m.lacp_failures,
                last_link_change_ms: m.last_link_change.map(|t| now.saturating_since(t)),
                pending: m.delay_expires.map(|t| PendingDelay {
                    up: !m.enabled,
                    expires_in_ms: t.saturating_since(now),
                }),
                buckets: if hashed {
                    (0..BUCKETS)
                        .filter(|&b| usize::from(self.buckets.map[b]) == i)
                        .map(|b| BucketLoad {
                            hash: b as u8,
                            load_bytes: self.buckets.load[b],
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        BondStatus {
            mode: self.cfg.mode,
            carrying: self.carrying,
            down_reason: match self.carrying {
                Carrying::Down(r) => Some(r),
                _ => None,
            },
            hash_basis: self.cfg.hash_basis,
            updelay_ms: self.cfg.updelay_ms,
            downdelay_ms: self.cfg.downdelay_ms,
            detect: self.cfg.detect,
            rebalance_interval_ms: self.cfg.effective_rebalance_interval(),
            next_rebalance_ms: self.next_rebalance.map(|t| t.saturating_since(now)),
            lacp_status: self.lacp_status(),
            lacp_fallback_ab: self.cfg.lacp_fallback_ab,
            primary: self.cfg.primary,
            primary_is_member: self.cfg.primary.is_some_and(|p| self.index(p).is_some()),
            active: self.active,
            members,
        }
    }
}

/// A running updelay (`up`) or downdelay.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PendingDelay {
    /// Updelay (towards enabled) or downdelay.
    pub up: bool,
    /// Milliseconds left.
    pub expires_in_ms: u64,
}

/// One bucket and its remembered load.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BucketLoad {
    /// The bucket (`hash & 0xff`).
    pub hash: u8,
    /// Remembered (decayed) bytes.
    pub load_bytes: u64,
}

impl BucketLoad {
    /// The load in kB, as `bond/show` prints it.
    pub const fn load_kb(&self) -> u64 {
        self.load_bytes / 1024
    }
}

impl BondMemberStatus {
    /// Sum of the member's bucket loads in bytes.
    pub fn load_bytes(&self) -> u64 {
        self.buckets.iter().map(|b| b.load_bytes).sum()
    }
}

impl BondStatus {
    /// `bond/show` text for a bond named `name`, in OVS's layout.
    /// `member` gives a member's interface name and MAC address. Members
    /// are listed by name; hashes with less than 1 kB of load are omitted,
    /// as OVS does. OVS's recirculation and `lb_output` lines do not apply
    /// to rvswitch and are not printed. After `may_enable`, each member has
    /// rvswitch's lines `link failure count: N` (carrier losses, as Linux's
    /// `/proc/net/bonding` counts them), with LACP configured `lacp failure
    /// count: N` (times LACP stopped letting it carry traffic), and
    /// `last link change: N ms ago`
    /// (`never` before the first carrier sample), and
    /// `disabled by bond/disable-member` while such a hold lasts.
    pub fn format(&self, name: &str, member: &dyn Fn(MemberId) -> (String, MacAddr)) -> String {
        let mut s = String::new();
        let yn = |b: bool| if b { "true" } else { "false" };
        let _ = writeln!(s, "---- {name} ----");
        let _ = writeln!(s, "bond_mode: {}", self.mode);
        let _ = writeln!(s, "bond-hash-basis: {}", self.hash_basis);
        let _ = writeln!(s, "updelay: {} ms", self.updelay_ms);
        let _ = writeln!(s, "downdelay: {} ms", self.downdelay_ms);
        if let Some(ms) = self.next_rebalance_ms {
            let _ = writeln!(s, "next rebalance: {ms} ms");
        }
        let _ = writeln!(s, "lacp_status: {}", self.lacp_status.as_str());
        let _ = writeln!(s, "lacp_fallback_ab: {}", yn(self.lacp_fallback_ab));
        match self.primary {
            None => s.push_str("active-backup primary: <none>\n"),
            Some(p) => {
                let missing = if self.primary_is_member {
                    ""
                } else {
                    " (no such member)"
                };
                let pname = if self.primary_is_member {
                    member(p).0
                } else {
                    p.to_string()
                };
                let _ = writeln!(s, "active-backup primary: {pname}{missing}");
            }
        }
        match self.active {
            Some(a) => {
                let (n, mac) = member(a);
                let _ = writeln!(s, "active member mac: {mac}({n})");
            }
            None => {
                let _ = writeln!(s, "active member mac: {}(none)", MacAddr::ZERO);
            }
        }
        if let Some(r) = self.down_reason {
            let _ = writeln!(s, "bond is down: {r}");
        } else if self.carrying == Carrying::FallbackActiveBackup {
            s.push_str("lacp fallback: active-backup\n");
        }
        let mut members: Vec<(String, &BondMemberStatus)> =
            self.members.iter().map(|m| (member(m.id).0, m)).collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        for (n, m) in members {
            let _ = writeln!(
                s,
                "\nmember {n}: {}",
                if m.enabled { "enabled" } else { "disabled" }
            );
            if m.active {
                s.push_str("  active member\n");
            }
            if let Some(p) = m.pending {
                let _ = writeln!(
                    s,
                    "  {} expires in {} ms",
                    if p.up { "updelay" } else { "downdelay" },
                    p.expires_in_ms
                );
            }
            let _ = writeln!(s, "  may_enable: {}", yn(m.may_enable));
            if m.held_down {
                s.push_str("  disabled by bond/disable-member\n");
            }
            let _ = writeln!(s, "  link failure count: {}", m.link_failures);
            if self.lacp_status != LacpNegotiation::Off {
                let _ = writeln!(s, "  lacp failure count: {}", m.lacp_failures);
            }
            match m.last_link_change_ms {
                Some(ms) => {
                    let _ = writeln!(s, "  last link change: {ms} ms ago");
                }
                None => s.push_str("  last link change: never\n"),
            }
            if self.next_rebalance_ms.is_none() {
                continue;
            }
            for b in m.buckets.iter().filter(|b| b.load_kb() > 0) {
                let _ = writeln!(s, "  hash {}: {} kB load", b.hash, b.load_kb());
            }
        }
        s.push('\n');
        s
    }
}
