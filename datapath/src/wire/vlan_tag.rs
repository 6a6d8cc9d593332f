//! 802.1Q / 802.1ad VLAN tags and the in-place tag edits the pipeline makes
//! on every packet.
//!
//! A tag sits between the source MAC and the ethertype:
//!
//! ```text
//! 0      6      12     14    16
//! | dst  | src  | TPID | TCI | ethertype | payload
//! TCI = PCP (3 bits) | DEI (1 bit) | VID (12 bits)
//! ```
//!
//! The edits ([`push_vlan`], [`pop_vlan`], [`set_vid`]) work on the front of
//! the first segment only: pushing moves the 12 MAC bytes into 4 bytes of
//! headroom, popping moves them back. They never allocate.

use super::ethernet::{ETHERTYPE_QINQ, ETHERTYPE_VLAN, VLAN_HLEN};
use crate::packet::Packet;

/// Length of the two MAC addresses that move when a tag is pushed or popped.
const MACS_LEN: usize = 12;

/// One VLAN tag as it appears on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad S-tag).
    pub tpid: u16,
    /// Priority code point, 0..=7.
    pub pcp: u8,
    /// Drop eligible indicator (formerly CFI).
    pub dei: bool,
    /// VLAN identifier, 0..=4095 (0 = priority tag, 4095 reserved).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q tag for `vid` with priority 0 (`vid` is masked to 12 bits).
    pub const fn dot1q(vid: u16) -> VlanTag {
        VlanTag {
            tpid: ETHERTYPE_VLAN,
            pcp: 0,
            dei: false,
            vid: vid & 0x0fff,
        }
    }

    /// Decode a tag from its TPID and tag control information.
    #[inline]
    pub const fn from_tci(tpid: u16, tci: u16) -> VlanTag {
        VlanTag {
            tpid,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    /// The tag control information (PCP, DEI, VID), with out-of-range fields
    /// masked to their widths.
    #[inline]
    pub const fn tci(&self) -> u16 {
        ((self.pcp as u16 & 0x7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }

    /// The four bytes of the tag as they appear on the wire.
    #[inline]
    pub const fn to_bytes(&self) -> [u8; 4] {
        let t = self.tpid.to_be_bytes();
        let c = self.tci().to_be_bytes();
        [t[0], t[1], c[0], c[1]]
    }
}

/// True for the TPIDs this switch treats as an outer VLAN tag.
#[inline]
pub const fn is_vlan_tpid(ethertype: u16) -> bool {
    ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ
}

/// The outer tag of `frame`, if it has a complete one (0x8100 or 0x88a8 at
/// offset 12 and at least 16 bytes).
#[inline]
pub fn outer_tag(frame: &[u8]) -> Option<VlanTag> {
    let h: &[u8; 16] = frame.first_chunk()?;
    let tpid = u16::from_be_bytes([h[12], h[13]]);
    if !is_vlan_tpid(tpid) {
        return None;
    }
    Some(VlanTag::from_tci(tpid, u16::from_be_bytes([h[14], h[15]])))
}

/// Insert a tag (`tpid`, `tci`) after the MAC addresses, using 4 bytes of
/// headroom. Returns `false` and leaves the packet unchanged when there is no
/// headroom or the frame is shorter than its two MAC addresses.
///
/// Pushing onto an already tagged frame makes the new tag the outer one.
#[inline]
pub fn push_vlan<P: Packet>(p: &mut P, tpid: u16, tci: u16) -> bool {
    if p.data().len() < MACS_LEN || !p.prepend(VLAN_HLEN) {
        return false;
    }
    let Some(h) = p.data_mut().first_chunk_mut::<16>() else {
        // Unreachable with a correct `Packet`: we just grew a >= 12-byte
        // frame by 4. Undo rather than panic.
        p.adj(VLAN_HLEN);
        return false;
    };
    h.copy_within(VLAN_HLEN..VLAN_HLEN + MACS_LEN, 0);
    h[12..14].copy_from_slice(&tpid.to_be_bytes());
    h[14..16].copy_from_slice(&tci.to_be_bytes());
    true
}

/// Remove the outer 0x8100 / 0x88a8 tag. Returns `false` and leaves the
/// packet unchanged when the frame has no complete outer tag.
#[inline]
pub fn pop_vlan<P: Packet>(p: &mut P) -> bool {
    let Some(h) = p.data_mut().first_chunk_mut::<16>() else {
        return false;
    };
    if !is_vlan_tpid(u16::from_be_bytes([h[12], h[13]])) {
        return false;
    }
    let saved: [u8; 4] = [h[12], h[13], h[14], h[15]];
    h.copy_within(0..MACS_LEN, VLAN_HLEN);
    if p.adj(VLAN_HLEN) {
        return true;
    }
    // Unreachable with a correct `Packet` (the segment holds >= 16 bytes);
    // put the bytes back so the packet is unchanged.
    if let Some(h) = p.data_mut().first_chunk_mut::<16>() {
        h.copy_within(VLAN_HLEN..VLAN_HLEN + MACS_LEN, 0);
        h[12..16].copy_from_slice(&saved);
    }
    false
}

/// Rewrite the VID of the outer tag, keeping its PCP and DEI. Returns `false`
/// and changes nothing when the frame has no complete outer tag or `vid` does
/// not fit in 12 bits.
#[inline]
pub fn set_vid(data: &mut [u8], vid: u16) -> bool {
    if vid > 0x0fff {
        return false;
    }
    let Some(h) = data.first_chunk_mut::<16>() else {
        return false;
    };
    if !is_vlan_tpid(u16::from_be_bytes([h[12], h[13]])) {
        return false;
    }
    let tci = (u16::from_be_bytes([h[14], h[15]]) & 0xf000) | vid;
    h[14..16].copy_from_slice(&tci.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::MemPacket;
    use crate::wire::ethernet::{parse_l2, ETHERTYPE_IPV4};

    fn untagged() -> Vec<u8> {
        let mut f = vec![
            1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x08, 0x00, 0x45, 0x00,
        ];
        f.resize(60, 0x5a);
        f
    }

    #[test]
    fn tci_round_trip() {
        let t = VlanTag::from_tci(ETHERTYPE_VLAN, 0xb064);
        assert_eq!((t.pcp, t.dei, t.vid), (5, true, 100));
        assert_eq!(t.tci(), 0xb064);
        assert_eq!(t.to_bytes(), [0x81, 0x00, 0xb0, 0x64]);
        for tci in [0u16, 0x0fff, 0x1000, 0xe000, 0xffff, 0x2abc] {
            assert_eq!(VlanTag::from_tci(ETHERTYPE_QINQ, tci).tci(), tci);
        }
        let d = VlanTag::dot1q(4094);
        assert_eq!((d.tpid, d.tci()), (ETHERTYPE_VLAN, 4094));
        // Out-of-range fields are masked, not spilled into neighbours.
        let wild = VlanTag {
            tpid: ETHERTYPE_VLAN,
            pcp: 9,
            dei: false,
            vid: 0x1fff,
        };
        assert_eq!(wild.tci(), 0x2fff);
    }

    #[test]
    fn push_inserts_tag_after_macs() {
        let f = untagged();
        let mut p = MemPacket::from_bytes(&f);
        assert!(push_vlan(&mut p, ETHERTYPE_VLAN, 0x2064));
        let d = p.data();
        assert_eq!(d.len(), 64);
        assert_eq!(&d[..12], &f[..12]);
        assert_eq!(&d[12..16], &[0x81, 0x00, 0x20, 0x64]);
        assert_eq!(&d[16..], &f[12..]);
        let i = parse_l2(d).unwrap();
        assert_eq!(i.vid(), Some(100));
        assert_eq!(i.tag.unwrap().pcp, 1);
        assert_eq!(i.ethertype, ETHERTYPE_IPV4);
        assert_eq!(outer_tag(d), i.tag);
    }

    #[test]
    fn push_without_headroom_or_macs_changes_nothing() {
        let f = untagged();
        let mut p = MemPacket::with_headroom(&f, 3).unwrap();
        assert!(!push_vlan(&mut p, ETHERTYPE_VLAN, 5));
        assert_eq!(p.data(), &f[..]);
        assert_eq!(p.headroom(), 3);
        let mut short = MemPacket::from_bytes(&f[..11]);
        assert!(!push_vlan(&mut short, ETHERTYPE_VLAN, 5));
        assert_eq!(short.data(), &f[..11]);
        // Exactly two MACs is enough.
        let mut macs = MemPacket::from_bytes(&f[..12]);
        assert!(push_vlan(&mut macs, ETHERTYPE_VLAN, 5));
        assert_eq!(&macs.data()[12..], &[0x81, 0x00, 0x00, 0x05]);
        assert!(pop_vlan(&mut macs));
        assert_eq!(macs.data(), &f[..12]);
    }

    #[test]
    fn pop_removes_outer_tag_only() {
        let f = untagged();
        let mut p = MemPacket::from_bytes(&f);
        assert!(push_vlan(&mut p, ETHERTYPE_VLAN, 20));
        assert!(push_vlan(&mut p, ETHERTYPE_QINQ, 10));
        let i = parse_l2(p.data()).unwrap();
        assert_eq!(i.tag, Some(VlanTag::from_tci(ETHERTYPE_QINQ, 10)));
        assert_eq!(i.ethertype, ETHERTYPE_VLAN);
        assert!(pop_vlan(&mut p));
        assert_eq!(outer_tag(p.data()), Some(VlanTag::dot1q(20)));
        assert!(pop_vlan(&mut p));
        assert_eq!(p.data(), &f[..]);
        assert_eq!(p.headroom(), crate::mem::MEM_HEADROOM);
    }

    #[test]
    fn pop_untagged_or_truncated_is_a_no_op() {
        let f = untagged();
        let mut p = MemPacket::from_bytes(&f);
        assert!(!pop_vlan(&mut p));
        assert_eq!(p.data(), &f[..]);
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        for n in 0..16 {
            let mut p = MemPacket::from_bytes(&tagged[..n]);
            assert!(!pop_vlan(&mut p), "{n}");
            assert_eq!(p.data(), &tagged[..n]);
        }
        let mut p = MemPacket::from_bytes(&tagged);
        assert!(pop_vlan(&mut p));
        assert_eq!(p.data(), &f[..12]);
    }

    #[test]
    fn set_vid_keeps_priority() {
        let mut f = untagged();
        f.splice(12..12, [0x88, 0xa8, 0xf0, 0x01]);
        assert!(set_vid(&mut f, 4094));
        assert_eq!(&f[12..16], &[0x88, 0xa8, 0xff, 0xfe]);
        assert!(set_vid(&mut f, 0));
        assert_eq!(&f[12..16], &[0x88, 0xa8, 0xf0, 0x00]);
        let before = f.clone();
        assert!(!set_vid(&mut f, 4096));
        assert_eq!(f, before);
        for n in 0..16 {
            let mut short = before[..n].to_vec();
            assert!(!set_vid(&mut short, 5), "{n}");
            assert_eq!(short, before[..n]);
        }
        let mut plain = untagged();
        assert!(!set_vid(&mut plain, 5));
        assert_eq!(plain, untagged());
    }
}
