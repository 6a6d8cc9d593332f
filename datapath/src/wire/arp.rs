//! ARP for IPv4 over Ethernet (RFC 826).
//!
//! ```text
//! 0     2     4    5    6    8     14    18    24    28
//! | htype | ptype | hlen | plen | op | sha | spa | tha | tpa |
//! ```

use super::ethernet::ETHERTYPE_IPV4;
use super::{Error, MacAddr, Result};

/// Hardware type for Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// ARP request.
pub const OP_REQUEST: u16 = 1;
/// ARP reply.
pub const OP_REPLY: u16 = 2;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OP: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// A checked view over an Ethernet/IPv4 ARP packet (the Ethernet payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wrap without checks; accessors may panic on a buffer under 28 bytes.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wrap and validate (see [`ArpPacket::check`]).
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let p = ArpPacket::new_unchecked(buffer);
        p.check()?;
        Ok(p)
    }

    /// `Truncated` under 28 bytes; `Unsupported` unless hardware type
    /// Ethernet (1) with 6-byte addresses and protocol IPv4 with 4-byte
    /// addresses. Trailing bytes (padding) are allowed.
    pub fn check(&self) -> Result<()> {
        let Some(h) = self.buffer.as_ref().first_chunk::<ARP_LEN>() else {
            return Err(Error::Truncated);
        };
        let htype = u16::from_be_bytes([h[0], h[1]]);
        let ptype = u16::from_be_bytes([h[2], h[3]]);
        if htype != HTYPE_ETHERNET || ptype != ETHERTYPE_IPV4 || h[4] != 6 || h[5] != 4 {
            return Err(Error::Unsupported);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.b()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn ip_at(&self, r: core::ops::Range<usize>) -> [u8; 4] {
        let b = &self.b()[r];
        [b[0], b[1], b[2], b[3]]
    }

    fn mac_at(&self, r: core::ops::Range<usize>) -> MacAddr {
        let b = &self.b()[r];
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Hardware type (1 once checked).
    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }

    /// Protocol type (0x0800 once checked).
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }

    /// Hardware address length (6 once checked).
    pub fn hardware_len(&self) -> u8 {
        self.b()[field::HLEN]
    }

    /// Protocol address length (4 once checked).
    pub fn protocol_len(&self) -> u8 {
        self.b()[field::PLEN]
    }

    /// Operation: [`OP_REQUEST`], [`OP_REPLY`] or another value.
    pub fn operation(&self) -> u16 {
        self.u16_at(field::OP)
    }

    /// Sender hardware address.
    pub fn sender_hw_addr(&self) -> MacAddr {
        self.mac_at(field::SHA)
    }

    /// Sender protocol (IPv4) address.
    pub fn sender_proto_addr(&self) -> [u8; 4] {
        self.ip_at(field::SPA)
    }

    /// Target hardware address.
    pub fn target_hw_addr(&self) -> MacAddr {
        self.mac_at(field::THA)
    }

    /// Target protocol (IPv4) address.
    pub fn target_proto_addr(&self) -> [u8; 4] {
        self.ip_at(field::TPA)
    }

    /// A gratuitous ARP: sender and target protocol addresses are equal.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_proto_addr() == self.target_proto_addr()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Write the fixed Ethernet/IPv4 fields (htype, ptype, hlen, plen).
    pub fn fill_ethernet_ipv4(&mut self) {
        let b = self.buffer.as_mut();
        b[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
    }

    /// Set the operation.
    pub fn set_operation(&mut self, op: u16) {
        self.buffer.as_mut()[field::OP].copy_from_slice(&op.to_be_bytes());
    }

    /// Set the sender hardware address.
    pub fn set_sender_hw_addr(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&m.0);
    }

    /// Set the sender protocol address.
    pub fn set_sender_proto_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&a);
    }

    /// Set the target hardware address.
    pub fn set_target_hw_addr(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&m.0);
    }

    /// Set the target protocol address.
    pub fn set_target_proto_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request from 52:54:00:00:00:01 (10.0.0.1) for 10.0.0.2.
    const REQUEST: [u8; ARP_LEN] = [
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // htype, ptype, hlen, plen, op
        0x52, 0x54, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 1, // sha, spa
        0, 0, 0, 0, 0, 0, 10, 0, 0, 2, // tha, tpa
    ];

    #[test]
    fn reads_a_request() {
        let a = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(a.hardware_type(), HTYPE_ETHERNET);
        assert_eq!(a.protocol_type(), ETHERTYPE_IPV4);
        assert_eq!((a.hardware_len(), a.protocol_len()), (6, 4));
        assert_eq!(a.operation(), OP_REQUEST);
        assert_eq!(a.sender_hw_addr(), "52:54:00:00:00:01".parse().unwrap());
        assert_eq!(a.sender_proto_addr(), [10, 0, 0, 1]);
        assert_eq!(a.target_hw_addr(), MacAddr::ZERO);
        assert_eq!(a.target_proto_addr(), [10, 0, 0, 2]);
        assert!(!a.is_gratuitous());
    }

    #[test]
    fn every_truncation_and_padding() {
        for n in 0..ARP_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..n]).err(),
                Some(Error::Truncated),
                "{n}"
            );
        }
        let mut padded = REQUEST.to_vec();
        padded.resize(46, 0);
        assert_eq!(
            ArpPacket::new_checked(&padded[..]).unwrap().operation(),
            OP_REQUEST
        );
    }

    #[test]
    fn rejects_other_hardware_and_protocols() {
        for (at, v) in [(1, 6), (3, 0xdd), (2, 0x86), (4, 8), (5, 16)] {
            let mut b = REQUEST;
            b[at] = v;
            assert_eq!(
                ArpPacket::new_checked(&b[..]).err(),
                Some(Error::Unsupported),
                "{at}"
            );
        }
    }

    #[test]
    fn builds_a_reply() {
        let mut b = [0u8; ARP_LEN];
        let mut a = ArpPacket::new_unchecked(&mut b[..]);
        a.fill_ethernet_ipv4();
        a.set_operation(OP_REPLY);
        a.set_sender_hw_addr("52:54:00:00:00:02".parse().unwrap());
        a.set_sender_proto_addr([10, 0, 0, 2]);
        a.set_target_hw_addr("52:54:00:00:00:01".parse().unwrap());
        a.set_target_proto_addr([10, 0, 0, 1]);
        let r = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(r.operation(), OP_REPLY);
        assert_eq!(&b[8..14], &[0x52, 0x54, 0, 0, 0, 2]);
        assert_eq!(&b[14..18], &[10, 0, 0, 2]);
        assert_eq!(&b[18..28], &REQUEST[8..18]);
    }
}
