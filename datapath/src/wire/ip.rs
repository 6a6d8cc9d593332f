//! IPv4 and IPv6 views and TCP/UDP ports, for bond hashing.
//!
//! [`FiveTuple::extract`] is what the bonds call per packet (balance-tcp): it
//! reads addresses, the upper-layer protocol and, when the packet carries
//! them, the L4 ports. It never panics and never allocates.

use super::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::{Error, Result};

/// ICMP.
pub const PROTO_ICMP: u8 = 1;
/// TCP.
pub const PROTO_TCP: u8 = 6;
/// UDP.
pub const PROTO_UDP: u8 = 17;
/// ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;
/// SCTP.
pub const PROTO_SCTP: u8 = 132;

/// IPv6 Hop-by-Hop Options extension header.
pub const IPV6_HOPOPTS: u8 = 0;
/// IPv6 Routing extension header.
pub const IPV6_ROUTING: u8 = 43;
/// IPv6 Fragment extension header.
pub const IPV6_FRAGMENT: u8 = 44;
/// IPv6 "no next header".
pub const IPV6_NONXT: u8 = 59;
/// IPv6 Destination Options extension header.
pub const IPV6_DSTOPTS: u8 = 60;

/// The most IPv6 extension headers [`FiveTuple::extract`] walks through
/// before giving up on finding the ports.
pub const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Minimum (and option-less) IPv4 header length.
pub const IPV4_MIN_HLEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HLEN: usize = 40;

/// True for the protocols whose first four bytes are source and destination
/// ports (TCP, UDP, SCTP).
#[inline]
pub const fn has_ports(proto: u8) -> bool {
    matches!(proto, PROTO_TCP | PROTO_UDP | PROTO_SCTP)
}

/// The Internet checksum (RFC 1071) of `data`: the ones' complement of the
/// ones' complement sum of its 16-bit words.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A checked view over an IPv4 packet.
///
/// [`Ipv4Packet::new_checked`] validates version, IHL and total length
/// against the buffer, so every accessor is infallible afterwards. Bytes
/// after `total_len` (Ethernet padding) are ignored by [`Ipv4Packet::payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap without checks; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wrap and validate (see [`Ipv4Packet::check_len`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let p = Ipv4Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Truncated` when the buffer is shorter than 20 bytes, the header
    /// length or the total length; `Malformed` when the version is not 4,
    /// IHL < 5 or the total length is shorter than the header.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        let Some(h) = b.first_chunk::<IPV4_MIN_HLEN>() else {
            return Err(Error::Truncated);
        };
        if h[0] >> 4 != 4 {
            return Err(Error::Malformed);
        }
        let hlen = usize::from(h[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if hlen < IPV4_MIN_HLEN || total < hlen {
            return Err(Error::Malformed);
        }
        if total > b.len() {
            return Err(Error::Truncated);
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

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.b();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// Version field (4 once checked).
    #[inline]
    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.b()[1] >> 2
    }

    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.b()[1] & 0x03
    }

    /// Total length (header + payload) in bytes.
    #[inline]
    pub fn total_len(&self) -> usize {
        usize::from(self.u16_at(2))
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        self.u16_at(4)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.b()[6] & 0x40 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.b()[6] & 0x20 != 0
    }

    /// Fragment offset in 8-byte units (0 for the first fragment).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.u16_at(6) & 0x1fff
    }

    /// Part of a fragmented datagram (first or later fragment).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }

    /// Upper-layer protocol.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }

    /// Header checksum as carried.
    pub fn header_checksum(&self) -> u16 {
        self.u16_at(10)
    }

    /// True when the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum(&self.b()[..self.header_len()]) == 0
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 4] {
        let b = self.b();
        [b[12], b[13], b[14], b[15]]
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 4] {
        let b = self.b();
        [b[16], b[17], b[18], b[19]]
    }

    /// Option bytes (between the fixed header and the payload).
    pub fn options(&self) -> &[u8] {
        &self.b()[IPV4_MIN_HLEN..self.header_len()]
    }

    /// The payload: from the end of the header to `total_len`.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Set the source address (does not update the checksum).
    pub fn set_src_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[12..16].copy_from_slice(&a);
    }

    /// Set the destination address (does not update the checksum).
    pub fn set_dst_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[16..20].copy_from_slice(&a);
    }

    /// Set the time to live (does not update the checksum).
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[8] = ttl;
    }

    /// Recompute and store the header checksum.
    pub fn fill_checksum(&mut self) {
        let hlen = self.header_len();
        let b = self.buffer.as_mut();
        b[10..12].copy_from_slice(&[0, 0]);
        let c = checksum(&b[..hlen]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (h, t) = (self.header_len(), self.total_len());
        &mut self.buffer.as_mut()[h..t]
    }
}

/// A checked view over an IPv6 packet (fixed header plus payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap without checks; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wrap and validate (see [`Ipv6Packet::check_len`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let p = Ipv6Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Truncated` when the buffer is shorter than 40 bytes plus the payload
    /// length; `Malformed` when the version is not 6.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        let Some(h) = b.first_chunk::<IPV6_HLEN>() else {
            return Err(Error::Truncated);
        };
        if h[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
        if IPV6_HLEN + plen > b.len() {
            return Err(Error::Truncated);
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

    /// Version field (6 once checked).
    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// Traffic class.
    pub fn traffic_class(&self) -> u8 {
        let b = self.b();
        (b[0] << 4) | (b[1] >> 4)
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }

    /// Payload length (extension headers included).
    #[inline]
    pub fn payload_len(&self) -> usize {
        let b = self.b();
        usize::from(u16::from_be_bytes([b[4], b[5]]))
    }

    /// The first next-header value (an extension header or the upper layer).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.b()[6]
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.b()[7]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[8..24]);
        a
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[24..40]);
        a
    }

    /// Everything after the fixed header, up to the payload length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[IPV6_HLEN..IPV6_HLEN + self.payload_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Set the source address.
    pub fn set_src_addr(&mut self, a: [u8; 16]) {
        self.buffer.as_mut()[8..24].copy_from_slice(&a);
    }

    /// Set the destination address.
    pub fn set_dst_addr(&mut self, a: [u8; 16]) {
        self.buffer.as_mut()[24..40].copy_from_slice(&a);
    }

    /// Set the hop limit.
    pub fn set_hop_limit(&mut self, h: u8) {
        self.buffer.as_mut()[7] = h;
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = IPV6_HLEN + self.payload_len();
        &mut self.buffer.as_mut()[IPV6_HLEN..end]
    }
}

/// The source and destination ports at the start of a TCP, UDP or SCTP
/// header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4Ports<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> L4Ports<T> {
    /// Wrap without checks; accessors may panic on a buffer under 4 bytes.
    pub const fn new_unchecked(buffer: T) -> L4Ports<T> {
        L4Ports { buffer }
    }

    /// Wrap, checking that the buffer holds both ports.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<L4Ports<T>> {
        if buffer.as_ref().len() < 4 {
            return Err(Error::Truncated);
        }
        Ok(L4Ports { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> L4Ports<T> {
    /// Set the source port (does not update any checksum).
    pub fn set_src_port(&mut self, p: u16) {
        self.buffer.as_mut()[0..2].copy_from_slice(&p.to_be_bytes());
    }

    /// Set the destination port (does not update any checksum).
    pub fn set_dst_port(&mut self, p: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&p.to_be_bytes());
    }
}

/// The L3/L4 identity of a flow. IPv4 addresses are in the low 32 bits.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// Source address (IPv4 in the low 32 bits).
    pub src: u128,
    /// Destination address (IPv4 in the low 32 bits).
    pub dst: u128,
    /// IP protocol number (6 TCP, 17 UDP, ...).
    pub proto: u8,
    /// Source port, 0 when the protocol has none or the packet is a later fragment.
    pub sport: u16,
    /// Destination port, likewise.
    pub dport: u16,
}

/// `(sport, dport)` of `l4` when `proto` carries ports and they are present.
#[inline]
fn ports_of(proto: u8, l4: &[u8]) -> (u16, u16) {
    match l4.first_chunk::<4>() {
        Some(h) if has_ports(proto) => (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        ),
        _ => (0, 0),
    }
}

impl FiveTuple {
    /// Read the flow identity of the IP packet at `frame[l3_offset..]`,
    /// where `ethertype` is the type that precedes it (as in
    /// [`super::ethernet::L2Info`]).
    ///
    /// `None` for non-IP ethertypes and IP headers that fail their checks
    /// (version, IHL, lengths against the buffer). Otherwise the addresses
    /// and upper-layer protocol, with ports for TCP, UDP and SCTP; ports are
    /// 0 for later fragments, other protocols, a truncated L4 header, and
    /// IPv6 packets whose extension headers are truncated or more than
    /// [`MAX_IPV6_EXT_HEADERS`] (then `proto` is the header where the walk
    /// stopped). IPv6 walks Hop-by-Hop, Routing, Destination Options and
    /// Fragment headers.
    #[inline]
    pub fn extract(frame: &[u8], l3_offset: usize, ethertype: u16) -> Option<FiveTuple> {
        let l3 = frame.get(l3_offset..)?;
        match ethertype {
            ETHERTYPE_IPV4 => Self::extract_ipv4(l3),
            ETHERTYPE_IPV6 => Self::extract_ipv6(l3),
            _ => None,
        }
    }

    #[inline]
    fn extract_ipv4(l3: &[u8]) -> Option<FiveTuple> {
        let ip = Ipv4Packet::new_checked(l3).ok()?;
        let proto = ip.protocol();
        let (sport, dport) = if ip.frag_offset() == 0 {
            ports_of(proto, ip.payload())
        } else {
            (0, 0)
        };
        Some(FiveTuple {
            src: u128::from(u32::from_be_bytes(ip.src_addr())),
            dst: u128::from(u32::from_be_bytes(ip.dst_addr())),
            proto,
            sport,
            dport,
        })
    }

    #[inline]
    fn extract_ipv6(l3: &[u8]) -> Option<FiveTuple> {
        let ip = Ipv6Packet::new_checked(l3).ok()?;
        let mut t = FiveTuple {
            src: u128::from_be_bytes(ip.src_addr()),
            dst: u128::from_be_bytes(ip.dst_addr()),
            proto: ip.next_header(),
            sport: 0,
            dport: 0,
        };
        let mut rest = ip.payload();
        let mut walked = 0;
        loop {
            match t.proto {
                IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS | IPV6_FRAGMENT
                    if walked == MAX_IPV6_EXT_HEADERS =>
                {
                    return Some(t);
                }
                IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS => {
                    let Some(h) = rest.first_chunk::<2>() else {
                        return Some(t);
                    };
                    let len = (usize::from(h[1]) + 1) * 8;
                    let next = h[0];
                    let Some(r) = rest.get(len..) else {
                        return Some(t);
                    };
                    t.proto = next;
                    rest = r;
                }
                IPV6_FRAGMENT => {
                    let Some(h) = rest.first_chunk::<8>() else {
                        return Some(t);
                    };
                    t.proto = h[0];
                    if u16::from_be_bytes([h[2], h[3]]) >> 3 != 0 {
                        return Some(t);
                    }
                    rest = rest.get(8..).unwrap_or_default();
                }
                proto => {
                    (t.sport, t.dport) = ports_of(proto, rest);
                    return Some(t);
                }
            }
            walked += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC4: [u8; 4] = [10, 0, 0, 1];
    const DST4: [u8; 4] = [192, 168, 1, 2];

    fn udp(sport: u16, dport: u16, len: usize) -> Vec<u8> {
        let mut u = [sport.to_be_bytes(), dport.to_be_bytes()].concat();
        u.extend_from_slice(&((8 + len) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.resize(8 + len, 0xab);
        u
    }

    /// An IPv4 packet with `options` and `payload`, fragment field `frag`.
    fn ipv4(proto: u8, options: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
        assert_eq!(options.len() % 4, 0);
        let hlen = 20 + options.len();
        let total = (hlen + payload.len()) as u16;
        let mut p = vec![0x40 | (hlen / 4) as u8, 0xb8];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34]);
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[64, proto, 0, 0]);
        p.extend_from_slice(&SRC4);
        p.extend_from_slice(&DST4);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        Ipv4Packet::new_checked(&mut p[..]).unwrap().fill_checksum();
        p
    }

    fn v6addr(last: u8) -> [u8; 16] {
        let mut a = [0; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        a[15] = last;
        a
    }

    fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x6a, 0xb1, 0x23, 0x45];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&v6addr(1));
        p.extend_from_slice(&v6addr(2));
        p.extend_from_slice(payload);
        p
    }

    /// An extension header of `8 * (units + 1)` bytes.
    fn ext(next: u8, units: u8) -> Vec<u8> {
        let mut e = vec![next, units];
        e.resize(8 * (usize::from(units) + 1), 1);
        e
    }

    fn frag_hdr(next: u8, offset_units: u16, more: bool) -> Vec<u8> {
        let f = (offset_units << 3) | u16::from(more);
        let mut e = vec![next, 0];
        e.extend_from_slice(&f.to_be_bytes());
        e.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        e
    }

    /// Ethernet header (untagged) in front of `l3`.
    fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(l3);
        f
    }

    fn v4tuple(proto: u8, sport: u16, dport: u16) -> FiveTuple {
        FiveTuple {
            src: 0x0a00_0001,
            dst: 0xc0a8_0102,
            proto,
            sport,
            dport,
        }
    }

    fn v6tuple(proto: u8, sport: u16, dport: u16) -> FiveTuple {
        FiveTuple {
            src: u128::from_be_bytes(v6addr(1)),
            dst: u128::from_be_bytes(v6addr(2)),
            proto,
            sport,
            dport,
        }
    }

    #[test]
    fn ipv4_view_fields() {
        let p = ipv4(PROTO_UDP, &[], 0x4000, &udp(1000, 53, 4));
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(v.version(), 4);
        assert_eq!(v.header_len(), 20);
        assert_eq!((v.dscp(), v.ecn()), (46, 0));
        assert_eq!(v.total_len(), 32);
        assert_eq!(v.ident(), 0x1234);
        assert!(v.dont_frag() && !v.more_frags() && !v.is_fragment());
        assert_eq!(v.ttl(), 64);
        assert_eq!(v.protocol(), PROTO_UDP);
        assert!(v.verify_checksum());
        assert_eq!(v.src_addr(), SRC4);
        assert_eq!(v.dst_addr(), DST4);
        assert!(v.options().is_empty());
        assert_eq!(v.payload().len(), 12);
        let ports = L4Ports::new_checked(v.payload()).unwrap();
        assert_eq!((ports.src_port(), ports.dst_port()), (1000, 53));
    }

    #[test]
    fn ipv4_setters_and_checksum() {
        let mut p = ipv4(PROTO_TCP, &[], 0, &udp(1, 2, 0));
        let mut v = Ipv4Packet::new_checked(&mut p[..]).unwrap();
        v.set_ttl(3);
        v.set_src_addr([1, 2, 3, 4]);
        v.set_dst_addr([5, 6, 7, 8]);
        assert!(!v.verify_checksum());
        v.fill_checksum();
        assert!(v.verify_checksum());
        let mut l4 = L4Ports::new_checked(v.payload_mut()).unwrap();
        l4.set_src_port(80);
        l4.set_dst_port(443);
        let t = FiveTuple::extract(&p, 0, ETHERTYPE_IPV4).unwrap();
        assert_eq!((t.src, t.dst), (0x0102_0304, 0x0506_0708));
        assert_eq!((t.sport, t.dport), (80, 443));
        // RFC 1071 example.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn ipv4_checks() {
        let good = ipv4(PROTO_UDP, &[], 0, &udp(1, 2, 4));
        for n in 0..good.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&good[..n]).err(),
                Some(Error::Truncated),
                "{n}"
            );
        }
        // Trailing Ethernet padding is allowed and not payload.
        let mut padded = good.clone();
        padded.resize(46, 0);
        assert_eq!(
            Ipv4Packet::new_checked(&padded[..])
                .unwrap()
                .payload()
                .len(),
            12
        );
        let mut bad = good.clone();
        bad[0] = 0x65; // version 6
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = good.clone();
        bad[0] = 0x44; // IHL 4
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = good.clone();
        bad[0] = 0x4f; // IHL 15: 60 bytes > 32
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = good.clone();
        bad[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = good.clone();
        bad[2..4].copy_from_slice(&33u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            FiveTuple::extract(&eth(ETHERTYPE_IPV4, &bad), 14, ETHERTYPE_IPV4),
            None
        );
    }

    #[test]
    fn ipv4_udp_and_tcp_and_sctp_ports() {
        for proto in [PROTO_UDP, PROTO_TCP, PROTO_SCTP] {
            let f = eth(ETHERTYPE_IPV4, &ipv4(proto, &[], 0, &udp(4242, 80, 6)));
            assert_eq!(
                FiveTuple::extract(&f, 14, ETHERTYPE_IPV4),
                Some(v4tuple(proto, 4242, 80))
            );
        }
        // ICMP has no ports even though its first bytes are non-zero.
        let f = eth(ETHERTYPE_IPV4, &ipv4(PROTO_ICMP, &[], 0, &udp(4242, 80, 6)));
        assert_eq!(
            FiveTuple::extract(&f, 14, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_ICMP, 0, 0))
        );
    }

    #[test]
    fn ipv4_options_are_skipped() {
        // Router alert (4 bytes) + NOP padding to 12 bytes of options.
        let opts = [0x94, 0x04, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0];
        let p = ipv4(PROTO_TCP, &opts, 0, &udp(5555, 22, 20));
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(v.header_len(), 32);
        assert_eq!(v.options(), &opts);
        assert!(v.verify_checksum());
        let f = eth(ETHERTYPE_IPV4, &p);
        assert_eq!(
            FiveTuple::extract(&f, 14, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_TCP, 5555, 22))
        );
    }

    #[test]
    fn ipv4_fragments() {
        let first = ipv4(PROTO_UDP, &[], 0x2000, &udp(7, 9, 16));
        let v = Ipv4Packet::new_checked(&first[..]).unwrap();
        assert!(v.more_frags() && v.is_fragment() && v.frag_offset() == 0);
        assert_eq!(
            FiveTuple::extract(&first, 0, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_UDP, 7, 9))
        );
        // A later fragment's payload starts with data, not ports.
        let later = ipv4(PROTO_UDP, &[], 0x2003, &udp(7, 9, 16));
        assert_eq!(
            Ipv4Packet::new_checked(&later[..]).unwrap().frag_offset(),
            3
        );
        assert_eq!(
            FiveTuple::extract(&later, 0, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_UDP, 0, 0))
        );
        let last = ipv4(PROTO_UDP, &[], 0x0001, &udp(7, 9, 16));
        assert_eq!(
            FiveTuple::extract(&last, 0, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_UDP, 0, 0))
        );
    }

    #[test]
    fn ipv4_truncated_l4_has_no_ports() {
        // total_len covers only 3 L4 bytes, although the buffer has more.
        let mut p = ipv4(PROTO_UDP, &[], 0, &[0x11, 0x22, 0x33]);
        p.extend_from_slice(&[0x44; 10]);
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_UDP, 0, 0))
        );
    }

    #[test]
    fn every_truncation_of_a_frame() {
        let f = eth(ETHERTYPE_IPV4, &ipv4(PROTO_UDP, &[], 0, &udp(1, 2, 10)));
        for n in 0..f.len() {
            assert_eq!(FiveTuple::extract(&f[..n], 14, ETHERTYPE_IPV4), None, "{n}");
        }
        assert_eq!(
            FiveTuple::extract(&f, 14, ETHERTYPE_IPV4),
            Some(v4tuple(PROTO_UDP, 1, 2))
        );
        let f = eth(ETHERTYPE_IPV6, &ipv6(PROTO_TCP, &udp(1, 2, 10)));
        for n in 0..f.len() {
            assert_eq!(FiveTuple::extract(&f[..n], 14, ETHERTYPE_IPV6), None, "{n}");
        }
        assert_eq!(
            FiveTuple::extract(&f, 14, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_TCP, 1, 2))
        );
        // Offsets past the end and unknown ethertypes.
        assert_eq!(FiveTuple::extract(&f, f.len() + 1, ETHERTYPE_IPV6), None);
        assert_eq!(FiveTuple::extract(&f, usize::MAX, ETHERTYPE_IPV6), None);
        assert_eq!(FiveTuple::extract(&f, 14, 0x0806), None);
        // Right ethertype, wrong version.
        assert_eq!(FiveTuple::extract(&f, 14, ETHERTYPE_IPV4), None);
    }

    #[test]
    fn vlan_tagged_frame_uses_l3_offset() {
        let mut f = eth(ETHERTYPE_IPV4, &ipv4(PROTO_UDP, &[], 0, &udp(1, 2, 10)));
        f.splice(12..12, [0x81, 0x00, 0x00, 0x64]);
        let l2 = super::super::ethernet::parse_l2(&f).unwrap();
        assert_eq!(
            FiveTuple::extract(&f, l2.payload_offset, l2.ethertype),
            Some(v4tuple(PROTO_UDP, 1, 2))
        );
    }

    #[test]
    fn ipv6_view_fields() {
        let p = ipv6(PROTO_UDP, &udp(546, 547, 2));
        let v = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(v.version(), 6);
        assert_eq!(v.traffic_class(), 0xab);
        assert_eq!(v.flow_label(), 0x12345);
        assert_eq!(v.payload_len(), 10);
        assert_eq!(v.next_header(), PROTO_UDP);
        assert_eq!(v.hop_limit(), 64);
        assert_eq!(v.src_addr(), v6addr(1));
        assert_eq!(v.dst_addr(), v6addr(2));
        assert_eq!(v.payload(), &udp(546, 547, 2)[..]);
        let mut q = p.clone();
        let mut w = Ipv6Packet::new_checked(&mut q[..]).unwrap();
        w.set_hop_limit(1);
        w.set_src_addr(v6addr(9));
        w.set_dst_addr(v6addr(8));
        w.payload_mut()[0] = 0xff;
        let t = FiveTuple::extract(&q, 0, ETHERTYPE_IPV6).unwrap();
        assert_eq!(t.src, u128::from_be_bytes(v6addr(9)));
        assert_eq!(t.dst, u128::from_be_bytes(v6addr(8)));
        assert_eq!(t.sport, 0xff00 | (546 & 0xff));
    }

    #[test]
    fn ipv6_checks() {
        let good = ipv6(PROTO_UDP, &udp(1, 2, 0));
        for n in 0..good.len() {
            assert_eq!(
                Ipv6Packet::new_checked(&good[..n]).err(),
                Some(Error::Truncated),
                "{n}"
            );
        }
        let mut bad = good.clone();
        bad[0] = 0x4a;
        assert_eq!(
            Ipv6Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = good.clone();
        bad[5] += 1;
        assert_eq!(
            Ipv6Packet::new_checked(&bad[..]).err(),
            Some(Error::Truncated)
        );
        let mut padded = good;
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(
            Ipv6Packet::new_checked(&padded[..])
                .unwrap()
                .payload()
                .len(),
            8
        );
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        let payload = [
            ext(IPV6_ROUTING, 0),
            ext(IPV6_DSTOPTS, 2),
            ext(PROTO_TCP, 1),
            udp(33000, 443, 4),
        ]
        .concat();
        let p = ipv6(IPV6_HOPOPTS, &payload);
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_TCP, 33000, 443))
        );
        // ICMPv6 and "no next header" carry no ports.
        let p = ipv6(IPV6_DSTOPTS, &[ext(PROTO_ICMPV6, 0), udp(1, 2, 0)].concat());
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_ICMPV6, 0, 0))
        );
        let p = ipv6(IPV6_NONXT, &udp(1, 2, 0));
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(IPV6_NONXT, 0, 0))
        );
    }

    #[test]
    fn ipv6_truncated_extension_header_stops_the_walk() {
        // The destination options header claims 24 bytes but 16 are there.
        let mut opts = ext(PROTO_UDP, 2);
        opts.truncate(16);
        let p = ipv6(IPV6_DSTOPTS, &opts);
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(IPV6_DSTOPTS, 0, 0))
        );
        let p = ipv6(IPV6_HOPOPTS, &[PROTO_UDP]);
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(IPV6_HOPOPTS, 0, 0))
        );
        let p = ipv6(IPV6_FRAGMENT, &frag_hdr(PROTO_UDP, 0, true)[..7]);
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(IPV6_FRAGMENT, 0, 0))
        );
        // The payload length, not the buffer, bounds the walk.
        let mut p = ipv6(IPV6_HOPOPTS, &ext(PROTO_UDP, 0));
        p.extend_from_slice(&udp(1, 2, 0));
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_UDP, 0, 0))
        );
    }

    #[test]
    fn ipv6_fragments() {
        let first = ipv6(
            IPV6_FRAGMENT,
            &[frag_hdr(PROTO_UDP, 0, true), udp(5, 6, 8)].concat(),
        );
        assert_eq!(
            FiveTuple::extract(&first, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_UDP, 5, 6))
        );
        let later = ipv6(
            IPV6_FRAGMENT,
            &[frag_hdr(PROTO_UDP, 2, false), udp(5, 6, 8)].concat(),
        );
        assert_eq!(
            FiveTuple::extract(&later, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_UDP, 0, 0))
        );
        // A fragment header after hop-by-hop options.
        let p = ipv6(
            IPV6_HOPOPTS,
            &[
                ext(IPV6_FRAGMENT, 0),
                frag_hdr(PROTO_SCTP, 0, true),
                udp(5, 6, 8),
            ]
            .concat(),
        );
        assert_eq!(
            FiveTuple::extract(&p, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_SCTP, 5, 6))
        );
    }

    #[test]
    fn ipv6_extension_header_walk_is_bounded() {
        let chain = |n: usize| {
            let mut pl = Vec::new();
            for i in 0..n {
                pl.extend(ext(if i + 1 == n { PROTO_UDP } else { IPV6_DSTOPTS }, 0));
            }
            pl.extend(udp(10, 20, 0));
            ipv6(IPV6_DSTOPTS, &pl)
        };
        let max = chain(MAX_IPV6_EXT_HEADERS);
        assert_eq!(
            FiveTuple::extract(&max, 0, ETHERTYPE_IPV6),
            Some(v6tuple(PROTO_UDP, 10, 20))
        );
        let over = chain(MAX_IPV6_EXT_HEADERS + 1);
        assert_eq!(
            FiveTuple::extract(&over, 0, ETHERTYPE_IPV6),
            Some(v6tuple(IPV6_DSTOPTS, 0, 0))
        );
    }
}
