//! The bond's runtime commands, OVS's `ovs-appctl bond/set-active-member`,
//! `bond/enable-member` and `bond/disable-member` (`ofproto/bond.c`,
//! `bond_unixctl_set_active_member`, `enable_member`), as events of the
//! machine: `(state, command, now) -> actions`.
//!
//! - `set-active-member` makes an enabled member the active one, in any
//!   mode, as OVS does (in the load-balancing modes the active member is
//!   the one that accepts broadcast and multicast without LACP). It is not
//!   permanent: a new active member is chosen when it is disabled, and an
//!   enabled `bond-primary` of an active-backup bond takes over again at
//!   once (OVS's `bond_run()` does the same on its next run).
//! - `disable-member` disables a member at once, skipping the downdelay,
//!   and holds it disabled until `enable-member` or until its carrier
//!   changes (the ovs-vswitchd manual: "persists only until the carrier
//!   status of member changes").
//! - `enable-member` ends such a hold and enables the member at once,
//!   skipping the updelay, when carrier, `admin_state` and LACP let it
//!   carry traffic. Unlike OVS, a member they do not let carry traffic
//!   stays disabled (OVS enables it until its next `bond_run()`).

use core::fmt;

use super::{Bond, BondActions, BondEvent, Cause, MemberId};
use crate::time::Millis;

/// Why a runtime command was refused; the texts are OVS's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BondCommandError {
    /// The member is not in the bond.
    NoSuchMember,
    /// `set-active-member` of a member that is not enabled.
    DisabledMember,
}

impl fmt::Display for BondCommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BondCommandError::NoSuchMember => "no such member",
            BondCommandError::DisabledMember => "cannot make disabled member active",
        })
    }
}

/// What `set-active-member` did; [`SetActive::reply`] is OVS's answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SetActive {
    /// The member became active.
    Done,
    /// It already was.
    NoChange,
}

impl SetActive {
    /// `done` or `no change`, as OVS replies.
    pub const fn reply(self) -> &'static str {
        match self {
            SetActive::Done => "done",
            SetActive::NoChange => "no change",
        }
    }
}

impl Bond {
    /// `bond/set-active-member`: make enabled member `m` the active one.
    pub fn set_active_member(
        &mut self,
        m: MemberId,
        now: Millis,
    ) -> Result<(SetActive, BondActions), BondCommandError> {
        let i = self.index(m).ok_or(BondCommandError::NoSuchMember)?;
        if !self.members[i].enabled {
            return Err(BondCommandError::DisabledMember);
        }
        if self.active == Some(m) {
            return Ok((SetActive::NoChange, BondActions::default()));
        }
        let acts = self.call(now, |b, acts| {
            acts.events.push(BondEvent::ActiveChanged {
                from: b.active,
                to: Some(m),
            });
            b.active = Some(m);
            acts.send_learning_packets = true;
        });
        Ok((SetActive::Done, acts))
    }

    /// `bond/enable-member` (`enable`) or `bond/disable-member`: see the
    /// module documentation.
    pub fn set_member_enabled(
        &mut self,
        m: MemberId,
        enable: bool,
        now: Millis,
    ) -> Result<BondActions, BondCommandError> {
        let i = self.index(m).ok_or(BondCommandError::NoSuchMember)?;
        Ok(self.call(now, |b, _| {
            let allows = b.lacp_allows(i);
            let mem = &mut b.members[i];
            mem.held_down = !enable;
            mem.last_cause = Cause::Command;
            if enable && !mem.enabled && mem.is_up(allows) {
                // Skip the updelay: the run below flips it now.
                mem.delay_expires = Some(now);
            }
        }))
    }
}
