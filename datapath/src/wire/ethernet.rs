//! Ethernet II frames and the per-packet L2 parse.
//!
//! ```text
//! 0      6      12         14
//! | dst  | src  | ethertype | payload
//! ```
//!
//! [`EthernetFrame`] is the checked view; [`parse_l2`] is the function the
//! pipeline calls on every received frame: fixed-offset loads, no loops.

use super::vlan_tag::{is_vlan_tpid, VlanTag};
use super::{Error, MacAddr, Result};

/// IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// 802.1Q VLAN tag (C-tag).
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Slow Protocols (IEEE 802.3 Annex 57A): LACP, Marker, OAM.
pub const ETHERTYPE_SLOW: u16 = 0x8809;
/// 802.1ad service tag (S-tag, "QinQ").
pub const ETHERTYPE_QINQ: u16 = 0x88a8;

/// Length of an untagged Ethernet header.
pub const ETH_HLEN: usize = 14;
/// Length of one VLAN tag.
pub const VLAN_HLEN: usize = 4;

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A checked view over an Ethernet II frame (header plus payload).
///
/// Built with [`EthernetFrame::new_checked`], every accessor is infallible.
/// With [`EthernetFrame::new_unchecked`] the caller promises the buffer holds
/// at least [`ETH_HLEN`] bytes; accessors panic otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wrap `buffer` without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wrap `buffer`, checking that it holds a whole Ethernet header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let f = EthernetFrame::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// `Err(Truncated)` when the buffer is shorter than [`ETH_HLEN`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < ETH_HLEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the header: always [`ETH_HLEN`] (tags are payload here).
    pub const fn header_len() -> usize {
        ETH_HLEN
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[6], b[7], b[8], b[9], b[10], b[11]])
    }

    /// The ethertype at offset 12 (a TPID when the frame is tagged).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[12], b[13]])
    }

    /// Everything after the 14-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Set the destination address.
    #[inline]
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&mac.0);
    }

    /// Set the source address.
    #[inline]
    pub fn set_src(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&mac.0);
    }

    /// Set the ethertype at offset 12.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Everything after the 14-byte header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// What the pipeline needs from the front of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Info {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// The outer tag, when the first ethertype is 0x8100 or 0x88a8.
    pub tag: Option<VlanTag>,
    /// The ethertype after the outer tag (or the only one). For a
    /// double-tagged frame this is the inner TPID (0x8100).
    pub ethertype: u16,
    /// Where the payload after `ethertype` starts: 14, or 18 when tagged.
    pub payload_offset: usize,
}

impl L2Info {
    /// The VID of the outer tag (0 for a priority tag), or `None` untagged.
    #[inline]
    pub fn vid(&self) -> Option<u16> {
        self.tag.map(|t| t.vid)
    }
}

/// Parse the Ethernet header and at most one (outer) VLAN tag.
///
/// `Err(Truncated)` when the frame is shorter than 14 bytes, or shorter than
/// 18 bytes with a 0x8100 / 0x88a8 first ethertype.
#[inline]
pub fn parse_l2(frame: &[u8]) -> Result<L2Info> {
    let Some(h) = frame.first_chunk::<ETH_HLEN>() else {
        return Err(Error::Truncated);
    };
    let dst = MacAddr([h[0], h[1], h[2], h[3], h[4], h[5]]);
    let src = MacAddr([h[6], h[7], h[8], h[9], h[10], h[11]]);
    let ethertype = u16::from_be_bytes([h[12], h[13]]);
    if !is_vlan_tpid(ethertype) {
        return Ok(L2Info {
            dst,
            src,
            tag: None,
            ethertype,
            payload_offset: ETH_HLEN,
        });
    }
    let Some(h) = frame.first_chunk::<{ ETH_HLEN + VLAN_HLEN }>() else {
        return Err(Error::Truncated);
    };
    Ok(L2Info {
        dst,
        src,
        tag: Some(VlanTag::from_tci(
            ethertype,
            u16::from_be_bytes([h[14], h[15]]),
        )),
        ethertype: u16::from_be_bytes([h[16], h[17]]),
        payload_offset: ETH_HLEN + VLAN_HLEN,
    })
}

/// Whether the lengths a frame's payload declares are true: `l3` is the
/// payload as far as it is contiguous (it starts at
/// [`L2Info::payload_offset`]) and `avail` the payload's whole length
/// (more than `l3.len()` only for a segmented packet).
///
/// - IPv4: version 4, IHL at least 5, a total length no shorter than the
///   header and no longer than the payload;
/// - IPv6: version 6 and a payload length that fits;
/// - IEEE 802.3 (a length of at most 1500 in the ethertype field): a
///   length that fits.
///
/// Padding (a payload longer than declared) is fine: short frames are
/// padded to 60 bytes on the wire. Other ethertypes declare nothing here.
#[inline]
pub fn declared_lengths_ok(ethertype: u16, l3: &[u8], avail: usize) -> bool {
    match ethertype {
        ETHERTYPE_IPV4 => {
            let Some(h) = l3.first_chunk::<4>() else {
                return false;
            };
            let hlen = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            h[0] >> 4 == 4 && hlen >= 20 && total >= hlen && total <= avail
        }
        ETHERTYPE_IPV6 => {
            let Some(h) = l3.first_chunk::<6>() else {
                return false;
            };
            let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            h[0] >> 4 == 6 && 40 + plen <= avail
        }
        len @ 0..=1500 => usize::from(len) <= avail,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: [u8; 6] = [0x52, 0x54, 0x00, 0x00, 0x00, 0x02];
    const SRC: [u8; 6] = [0x52, 0x54, 0x00, 0x00, 0x00, 0x01];

    /// dst, src, then `rest` (ethertype or tags onward), padded to 60 bytes.
    fn frame(rest: &[u8]) -> Vec<u8> {
        let mut f = [&DST[..], &SRC[..], rest].concat();
        f.resize(f.len().max(60), 0);
        f
    }

    #[test]
    fn untagged() {
        let f = frame(&[0x08, 0x00, 0x45]);
        let i = parse_l2(&f).unwrap();
        assert_eq!(i.dst, MacAddr(DST));
        assert_eq!(i.src, MacAddr(SRC));
        assert_eq!(i.tag, None);
        assert_eq!(i.vid(), None);
        assert_eq!(i.ethertype, ETHERTYPE_IPV4);
        assert_eq!(i.payload_offset, 14);
        assert_eq!(f[i.payload_offset], 0x45);
    }

    #[test]
    fn dot1q_tagged() {
        // PCP 5, DEI 1, VID 100.
        let f = frame(&[0x81, 0x00, 0xb0, 0x64, 0x86, 0xdd, 0x60]);
        let i = parse_l2(&f).unwrap();
        let t = i.tag.unwrap();
        assert_eq!(t.tpid, ETHERTYPE_VLAN);
        assert_eq!((t.pcp, t.dei, t.vid), (5, true, 100));
        assert_eq!(i.vid(), Some(100));
        assert_eq!(i.ethertype, ETHERTYPE_IPV6);
        assert_eq!(i.payload_offset, 18);
        assert_eq!(f[i.payload_offset], 0x60);
    }

    #[test]
    fn priority_tagged_has_vid_zero() {
        let f = frame(&[0x81, 0x00, 0x60, 0x00, 0x08, 0x06]);
        let i = parse_l2(&f).unwrap();
        assert_eq!(i.vid(), Some(0));
        assert_eq!(i.tag.unwrap().pcp, 3);
        assert_eq!(i.ethertype, ETHERTYPE_ARP);
    }

    #[test]
    fn double_tagged_reports_outer_tag_and_inner_tpid() {
        let f = frame(&[0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        let i = parse_l2(&f).unwrap();
        assert_eq!(i.tag.unwrap().vid, 10);
        assert_eq!(i.ethertype, ETHERTYPE_VLAN);
        assert_eq!(i.payload_offset, 18);
    }

    #[test]
    fn qinq_outer_tag() {
        let f = frame(&[0x88, 0xa8, 0x0f, 0xfe, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        let i = parse_l2(&f).unwrap();
        let t = i.tag.unwrap();
        assert_eq!(t.tpid, ETHERTYPE_QINQ);
        assert_eq!(t.vid, 4094);
        assert_eq!(i.ethertype, ETHERTYPE_VLAN);
        assert_eq!(i.payload_offset, 18);
    }

    #[test]
    fn every_truncation() {
        let untagged = [&DST[..], &SRC[..], &[0x08, 0x00]].concat();
        for n in 0..untagged.len() {
            assert_eq!(parse_l2(&untagged[..n]), Err(Error::Truncated), "{n}");
            assert!(EthernetFrame::new_checked(&untagged[..n]).is_err(), "{n}");
        }
        assert_eq!(parse_l2(&untagged).unwrap().payload_offset, 14);
        for tpid in [[0x81, 0x00], [0x88, 0xa8]] {
            let tagged = [&DST[..], &SRC[..], &tpid, &[0x00, 0x05, 0x08, 0x00]].concat();
            for n in 0..tagged.len() {
                assert_eq!(parse_l2(&tagged[..n]), Err(Error::Truncated), "{n}");
            }
            let i = parse_l2(&tagged).unwrap();
            assert_eq!((i.vid(), i.ethertype), (Some(5), ETHERTYPE_IPV4));
        }
    }

    #[test]
    fn frame_view_reads_and_writes() {
        let mut f = frame(&[0x88, 0x09, 0x01]);
        let v = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(v.dst(), MacAddr(DST));
        assert_eq!(v.src(), MacAddr(SRC));
        assert_eq!(v.ethertype(), ETHERTYPE_SLOW);
        assert_eq!(v.payload().len(), 60 - 14);
        assert_eq!(v.payload()[0], 1);
        let mut v = EthernetFrame::new_checked(&mut f[..]).unwrap();
        v.set_dst(MacAddr::BROADCAST);
        v.set_src(MacAddr([2, 0, 0, 0, 0, 9]));
        v.set_ethertype(ETHERTYPE_ARP);
        v.payload_mut()[0] = 0x77;
        assert_eq!(
            &f[..14],
            &[255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 9, 8, 6]
        );
        assert_eq!(f[14], 0x77);
        let i = parse_l2(&f).unwrap();
        assert!(i.dst.is_broadcast());
        assert_eq!(i.ethertype, ETHERTYPE_ARP);
        // A bare header has an empty payload.
        assert!(EthernetFrame::new_checked(&f[..14])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn declared_lengths() {
        let mut v4 = [0u8; 40];
        v4[0] = 0x45;
        v4[2..4].copy_from_slice(&40u16.to_be_bytes());
        assert!(declared_lengths_ok(ETHERTYPE_IPV4, &v4, 40));
        assert!(declared_lengths_ok(ETHERTYPE_IPV4, &v4, 46), "padding");
        assert!(
            !declared_lengths_ok(ETHERTYPE_IPV4, &v4, 39),
            "total > frame"
        );
        assert!(!declared_lengths_ok(ETHERTYPE_IPV4, &v4[..3], 3));
        assert!(!declared_lengths_ok(ETHERTYPE_IPV4, &[], 0));
        v4[0] = 0x4f; // IHL 60 > total 40
        assert!(!declared_lengths_ok(ETHERTYPE_IPV4, &v4, 40));
        v4[0] = 0x44; // IHL 16 < 20
        assert!(!declared_lengths_ok(ETHERTYPE_IPV4, &v4, 40));
        v4[0] = 0x65; // version 6 under the IPv4 ethertype
        assert!(!declared_lengths_ok(ETHERTYPE_IPV4, &v4, 40));

        let mut v6 = [0u8; 48];
        v6[0] = 0x60;
        v6[4..6].copy_from_slice(&8u16.to_be_bytes());
        assert!(declared_lengths_ok(ETHERTYPE_IPV6, &v6, 48));
        assert!(!declared_lengths_ok(ETHERTYPE_IPV6, &v6, 47));
        assert!(!declared_lengths_ok(ETHERTYPE_IPV6, &v6[..5], 5));
        v6[0] = 0x40;
        assert!(!declared_lengths_ok(ETHERTYPE_IPV6, &v6, 48));

        assert!(declared_lengths_ok(46, &[0; 46], 46), "802.3 length");
        assert!(
            !declared_lengths_ok(1500, &[0; 46], 46),
            "802.3 length lies"
        );
        assert!(declared_lengths_ok(ETHERTYPE_ARP, &[], 0));
        assert!(
            declared_lengths_ok(0x0600, &[], 0),
            "an ethertype, not a length"
        );
    }
}
