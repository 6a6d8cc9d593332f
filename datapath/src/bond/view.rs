//! The frozen, read-only picture of a bond that goes into the datapath
//! snapshot. PMD threads read it per packet; nothing here allocates.

use super::{BondMode, MemberId, NO_MEMBER};
use crate::hash::BUCKETS;
use smallvec::SmallVec;

/// What the datapath needs to send and receive on one bond.
///
/// `mode` is the mode the bond is *carrying traffic in* right now: a
/// balance-slb or balance-tcp bond whose LACP negotiation failed and that
/// has `lacp-fallback-ab` reports [`BondMode::ActiveBackup`]. In
/// active-backup every bucket names the active member, so
/// [`BondView::member_for_hash`] is the right transmit choice in every mode.
/// When the bond carries nothing (`up == false`), every bucket is
/// [`NO_MEMBER`], `enabled` is 0 and `active` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondView {
    /// The mode traffic is carried in (see above).
    pub mode: BondMode,
    /// Member index (into `members`) per bucket (`hash & 0xff`), or [`NO_MEMBER`].
    pub buckets: [u8; BUCKETS],
    /// The bond's members; an index is a position in this list.
    pub members: SmallVec<[MemberId; 8]>,
    /// Bit `i` set: member `i` is enabled (may send and receive).
    pub enabled: u64,
    /// Index of the active member: the only one that transmits in
    /// active-backup, and the only one that accepts broadcast/multicast in
    /// balance-slb without LACP.
    pub active: Option<u8>,
    /// `bond-hash-basis`, to pass to [`crate::hash::slb`] / [`crate::hash::l4`].
    pub hash_basis: u32,
    /// The bond can carry traffic at all.
    pub up: bool,
    /// LACP is configured and negotiated. The partner then treats the links as
    /// one aggregate, so any enabled member accepts any frame (no
    /// active-member or learned-elsewhere filtering).
    pub lacp_negotiated: bool,
}

/// Whether a frame received on a bond member may enter the bridge
/// (OVS `bond_check_admissibility()`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Accept.
    Accept,
    /// Drop (count `rx_dropped_member_disabled`).
    Drop,
    /// balance-slb: drop broadcast/multicast (count `rx_dropped_bond_loop`).
    DropMulticast,
    /// balance-slb: accept unless the source MAC is learned on another port
    /// of the bridge (then drop and count `rx_dropped_bond_loop`); gratuitous
    /// ARPs are the pipeline's exception to this rule.
    DropIfMoved,
}

impl BondView {
    /// A view of a bond that carries nothing.
    pub fn down(mode: BondMode, members: &[MemberId], hash_basis: u32) -> BondView {
        BondView {
            mode,
            buckets: [NO_MEMBER; BUCKETS],
            members: members.iter().copied().collect(),
            enabled: 0,
            active: None,
            hash_basis,
            up: false,
            lacp_negotiated: false,
        }
    }

    /// The member that transmits a frame whose flow hash is `h`
    /// ([`crate::hash::slb`] in balance-slb, [`crate::hash::l4`] in
    /// balance-tcp, anything in active-backup), or `None` to drop it
    /// (count `tx_dropped_no_member`).
    #[inline]
    pub fn member_for_hash(&self, h: u32) -> Option<MemberId> {
        let idx = self.buckets[usize::from(crate::hash::bucket(h))];
        self.members.get(usize::from(idx)).copied()
    }

    /// The member index [`BondView::member_for_hash`] would pick.
    #[inline]
    pub fn index_for_hash(&self, h: u32) -> Option<u8> {
        let idx = self.buckets[usize::from(crate::hash::bucket(h))];
        (usize::from(idx) < self.members.len()).then_some(idx)
    }

    /// The active member.
    #[inline]
    pub fn active_member(&self) -> Option<MemberId> {
        self.active
            .and_then(|i| self.members.get(usize::from(i)).copied())
    }

    /// Position of `m` in `members`.
    #[inline]
    pub fn index_of(&self, m: MemberId) -> Option<u8> {
        self.members.iter().position(|&x| x == m).map(|i| i as u8)
    }

    /// Whether member index `idx` is enabled.
    #[inline]
    pub fn index_enabled(&self, idx: u8) -> bool {
        idx < 64 && self.enabled & (1u64 << idx) != 0
    }

    /// Whether member `m` is enabled.
    pub fn is_enabled(&self, m: MemberId) -> bool {
        self.index_of(m).is_some_and(|i| self.index_enabled(i))
    }

    /// Whether a frame received on member index `idx` with a
    /// broadcast/multicast destination (`dst_multicast`) may enter the bridge.
    /// Slow-protocol frames (LACP, Marker) are steered before this check and
    /// never reach it.
    #[inline]
    pub fn admit(&self, idx: u8, dst_multicast: bool) -> Admit {
        if !self.up || !self.index_enabled(idx) {
            return Admit::Drop;
        }
        if self.lacp_negotiated {
            return Admit::Accept;
        }
        let is_active = self.active == Some(idx);
        match self.mode {
            BondMode::ActiveBackup | BondMode::BalanceTcp => {
                if is_active {
                    Admit::Accept
                } else {
                    Admit::Drop
                }
            }
            BondMode::BalanceSlb => {
                if dst_multicast && !is_active {
                    Admit::DropMulticast
                } else {
                    Admit::DropIfMoved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(mode: BondMode) -> BondView {
        let mut v = BondView::down(mode, &[10, 20, 30], 0);
        for (i, b) in v.buckets.iter_mut().enumerate() {
            *b = (i % 3) as u8;
        }
        v.enabled = 0b111;
        v.active = Some(1);
        v.up = true;
        v
    }

    #[test]
    fn lookups() {
        let v = view(BondMode::BalanceSlb);
        assert_eq!(v.member_for_hash(0x1234_5600), Some(10));
        assert_eq!(v.member_for_hash(0x1234_5601), Some(20));
        assert_eq!(v.member_for_hash(0xffff_ff05), Some(30));
        assert_eq!(v.index_for_hash(4), Some(1));
        assert_eq!(v.active_member(), Some(20));
        assert!(v.is_enabled(30));
        assert!(!v.is_enabled(40));
        let d = BondView::down(BondMode::BalanceTcp, &[1, 2], 0);
        assert_eq!(d.member_for_hash(7), None);
        assert_eq!(d.index_for_hash(7), None);
        assert_eq!(d.active_member(), None);
        assert!(!d.is_enabled(1));
    }

    #[test]
    fn admission() {
        let ab = view(BondMode::ActiveBackup);
        assert_eq!(ab.admit(1, false), Admit::Accept);
        assert_eq!(ab.admit(0, false), Admit::Drop);
        assert_eq!(ab.admit(0, true), Admit::Drop);
        let slb = view(BondMode::BalanceSlb);
        assert_eq!(slb.admit(0, false), Admit::DropIfMoved);
        assert_eq!(slb.admit(0, true), Admit::DropMulticast);
        assert_eq!(slb.admit(1, true), Admit::DropIfMoved);
        let mut lacp = view(BondMode::BalanceSlb);
        lacp.lacp_negotiated = true;
        assert_eq!(lacp.admit(0, true), Admit::Accept);
        lacp.enabled = 0b110;
        assert_eq!(lacp.admit(0, false), Admit::Drop);
        assert_eq!(lacp.admit(200, false), Admit::Drop);
        let mut down = view(BondMode::BalanceSlb);
        down.up = false;
        assert_eq!(down.admit(1, false), Admit::Drop);
    }
}
