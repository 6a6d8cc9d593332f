//! Marker PDUs (IEEE 802.1AX-2008 clause 5.5.3): the Marker protocol lets a
//! distributor learn that every frame of a conversation sent on a link has
//! arrived before moving the conversation to another link. rvswitch only
//! answers Marker requests (the Marker Responder is mandatory; sending
//! requests is not).
//!
//! A Marker PDU is a Slow Protocols frame (01:80:c2:00:00:02, 0x8809),
//! subtype 2. The 110 bytes after the Ethernet header are:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | subtype = 2 (Marker) |
//! | 1 | 1 | version = 1 |
//! | 2 | 1 | TLV type: 1 = Marker Information (request), 2 = Marker Response Information |
//! | 3 | 1 | length = 16 |
//! | 4 | 2 | Requester_Port |
//! | 6 | 6 | Requester_System |
//! | 12 | 4 | Requester_Transaction_ID |
//! | 16 | 2 | pad (zero) |
//! | 18 | 1 | TLV type = 0 (Terminator) |
//! | 19 | 1 | length = 0 |
//! | 20 | 90 | reserved |
//!
//! A response carries the requester's port, system and transaction ID
//! unchanged; only the TLV type differs.

use super::{Error, MacAddr, Result};

/// The Slow Protocols ethertype (same value as `ethernet::ETHERTYPE_SLOW`).
const ETHERTYPE_SLOW: u16 = 0x8809;

/// Slow Protocols subtype of a Marker PDU.
pub const SUBTYPE_MARKER: u8 = 2;
/// The Marker protocol version this module sends.
pub const VERSION: u8 = 1;
/// Length of the Marker PDU after the Ethernet header.
pub const PDU_LEN: usize = 110;
/// Length of a whole Marker frame as [`MarkerPdu::encode`] builds it.
pub const FRAME_LEN: usize = 14 + PDU_LEN;
/// TLV type of Marker Information (a request).
pub const TLV_INFORMATION: u8 = 1;
/// TLV type of Marker Response Information.
pub const TLV_RESPONSE: u8 = 2;
/// Length of the Marker (Response) Information TLV, header included.
pub const MARKER_TLV_LEN: u8 = 16;

mod field {
    use core::ops::Range;

    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const SUBTYPE: usize = 14;
    pub const VERSION: usize = 15;
    pub const TLV_TYPE: usize = 16;
    pub const TLV_LEN: usize = 17;
    pub const PORT: Range<usize> = 18..20;
    pub const SYSTEM: Range<usize> = 20..26;
    pub const TRANSACTION: Range<usize> = 26..30;
    pub const TERMINATOR: usize = 32;
}

/// Which Marker PDU.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// Marker Information: a request the receiver must answer.
    Request,
    /// Marker Response Information: the answer.
    Response,
}

impl MarkerKind {
    const fn tlv_type(self) -> u8 {
        match self {
            MarkerKind::Request => TLV_INFORMATION,
            MarkerKind::Response => TLV_RESPONSE,
        }
    }
}

/// A checked view of a whole untagged Marker PDU frame.
#[derive(Debug, Clone, Copy)]
pub struct MarkerFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MarkerFrame<T> {
    /// Validate `buffer` as a Marker PDU frame: at least [`FRAME_LEN`] bytes
    /// (trailing bytes are fine), destination 01:80:c2:00:00:02, ethertype
    /// 0x8809, subtype 2, version at least 1, a Marker Information (1) or
    /// Marker Response (2) TLV of length 16, then for version 1 the
    /// Terminator (0, 0). Later versions are read as version 1 and what
    /// follows the Marker TLV is ignored.
    pub fn new_checked(buffer: T) -> Result<MarkerFrame<T>> {
        let b = buffer.as_ref();
        if b.get(field::ETHERTYPE) != Some(&ETHERTYPE_SLOW.to_be_bytes()[..])
            || b.get(field::SUBTYPE) != Some(&SUBTYPE_MARKER)
        {
            return Err(if b.len() <= field::SUBTYPE {
                Error::Truncated
            } else {
                Error::Unsupported
            });
        }
        if b.len() < FRAME_LEN {
            return Err(Error::Truncated);
        }
        if b.get(field::DST) != Some(&MacAddr::SLOW_PROTOCOLS.0[..]) {
            return Err(Error::Unsupported);
        }
        let version = b.get(field::VERSION).copied().ok_or(Error::Truncated)?;
        if version == 0 {
            return Err(Error::Malformed);
        }
        let tlv_type = b.get(field::TLV_TYPE).copied();
        if !matches!(tlv_type, Some(TLV_INFORMATION | TLV_RESPONSE))
            || b.get(field::TLV_LEN) != Some(&MARKER_TLV_LEN)
        {
            return Err(Error::Malformed);
        }
        if version == VERSION
            && b.get(field::TERMINATOR..field::TERMINATOR + 2) != Some(&[0u8, 0][..])
        {
            return Err(Error::Malformed);
        }
        Ok(MarkerFrame { buffer })
    }

    fn bytes(&self) -> &[u8] {
        // `new_checked` guaranteed at least FRAME_LEN bytes.
        &self.buffer.as_ref()[..FRAME_LEN]
    }

    /// Source MAC address of the frame.
    pub fn src(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.bytes()[field::SRC]);
        MacAddr(m)
    }

    /// Request or response.
    pub fn kind(&self) -> MarkerKind {
        if self.bytes()[field::TLV_TYPE] == TLV_INFORMATION {
            MarkerKind::Request
        } else {
            MarkerKind::Response
        }
    }

    /// Requester_Port.
    pub fn port(&self) -> u16 {
        let b = &self.bytes()[field::PORT];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Requester_System.
    pub fn system(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.bytes()[field::SYSTEM]);
        MacAddr(m)
    }

    /// Requester_Transaction_ID.
    pub fn transaction_id(&self) -> u32 {
        let b = &self.bytes()[field::TRANSACTION];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A parsed Marker PDU.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MarkerPdu {
    /// Request or response.
    pub kind: MarkerKind,
    /// Requester_Port: the requester's port number.
    pub port: u16,
    /// Requester_System: the requester's system ID.
    pub system: MacAddr,
    /// Requester_Transaction_ID.
    pub transaction_id: u32,
}

impl MarkerPdu {
    /// Parse a whole untagged Ethernet frame. Never panics; see
    /// [`MarkerFrame::new_checked`].
    pub fn parse(frame: &[u8]) -> Result<MarkerPdu> {
        let f = MarkerFrame::new_checked(frame)?;
        Ok(MarkerPdu {
            kind: f.kind(),
            port: f.port(),
            system: f.system(),
            transaction_id: f.transaction_id(),
        })
    }

    /// The response a Marker Responder sends to this PDU: the same
    /// requester port, system and transaction ID, as a Marker Response.
    /// `None` when `self` is already a response (responses are not answered).
    pub fn response(&self) -> Option<MarkerPdu> {
        match self.kind {
            MarkerKind::Request => Some(MarkerPdu {
                kind: MarkerKind::Response,
                ..*self
            }),
            MarkerKind::Response => None,
        }
    }

    /// Build the whole frame (Ethernet header from `src`, version 1 Marker
    /// PDU, pad and reserved bytes zero).
    pub fn encode(&self, src: MacAddr) -> [u8; FRAME_LEN] {
        let mut b = [0u8; FRAME_LEN];
        b[field::DST].copy_from_slice(&MacAddr::SLOW_PROTOCOLS.0);
        b[field::SRC].copy_from_slice(&src.0);
        b[field::ETHERTYPE].copy_from_slice(&ETHERTYPE_SLOW.to_be_bytes());
        b[field::SUBTYPE] = SUBTYPE_MARKER;
        b[field::VERSION] = VERSION;
        b[field::TLV_TYPE] = self.kind.tlv_type();
        b[field::TLV_LEN] = MARKER_TLV_LEN;
        b[field::PORT].copy_from_slice(&self.port.to_be_bytes());
        b[field::SYSTEM].copy_from_slice(&self.system.0);
        b[field::TRANSACTION].copy_from_slice(&self.transaction_id.to_be_bytes());
        // Pad, Terminator (0, 0) and reserved bytes stay zero.
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x07]);

    /// A Marker Information PDU written out field by field (802.1AX-2008
    /// figure 5-14): port 0x0102, system 00:11:22:33:44:55, transaction
    /// 0xdeadbeef.
    fn request_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]); // dst
        v.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x07]); // src
        v.extend_from_slice(&[0x88, 0x09]); // Slow Protocols
        v.push(0x02); // Subtype = Marker
        v.push(0x01); // Version Number
        v.push(0x01); // TLV_type = Marker Information
        v.push(0x10); // Marker_Information_Length = 16
        v.extend_from_slice(&[0x01, 0x02]); // Requester_Port
        v.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55]); // Requester_System
        v.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // Requester_Transaction_ID
        v.extend_from_slice(&[0, 0]); // Pad
        v.push(0x00); // TLV_type = Terminator
        v.push(0x00); // Terminator_Length
        v.extend_from_slice(&[0; 90]); // Reserved
        v
    }

    fn request() -> MarkerPdu {
        MarkerPdu {
            kind: MarkerKind::Request,
            port: 0x0102,
            system: MacAddr([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]),
            transaction_id: 0xdead_beef,
        }
    }

    #[test]
    fn encode_matches_hand_written_layout() {
        let expected = request_bytes();
        assert_eq!(expected.len(), FRAME_LEN);
        assert_eq!(request().encode(SRC).to_vec(), expected);
        assert_eq!(MarkerPdu::parse(&expected), Ok(request()));
        assert_eq!(MarkerFrame::new_checked(&expected[..]).unwrap().src(), SRC);
    }

    #[test]
    fn response_keeps_requester_fields() {
        let resp = request().response().unwrap();
        assert_eq!(resp.kind, MarkerKind::Response);
        assert_eq!(resp.transaction_id, 0xdead_beef);
        assert_eq!(resp.port, 0x0102);
        assert_eq!(resp.system, request().system);
        assert_eq!(resp.response(), None);
        // Only the TLV type byte differs on the wire.
        let mut expected = request_bytes();
        expected[16] = 0x02;
        assert_eq!(resp.encode(SRC).to_vec(), expected);
    }

    #[test]
    fn rejects_malformed_frames() {
        let good = request_bytes();
        let cases: Vec<(&str, Vec<u8>, Error)> = vec![
            ("empty", vec![], Error::Truncated),
            ("short", good[..FRAME_LEN - 1].to_vec(), Error::Truncated),
            (
                "wrong dst",
                {
                    let mut b = good.clone();
                    b[0] = 0x00;
                    b
                },
                Error::Unsupported,
            ),
            (
                "lacp subtype",
                {
                    let mut b = good.clone();
                    b[14] = 1;
                    b
                },
                Error::Unsupported,
            ),
            (
                "version 0",
                {
                    let mut b = good.clone();
                    b[15] = 0;
                    b
                },
                Error::Malformed,
            ),
            (
                "tlv type 3",
                {
                    let mut b = good.clone();
                    b[16] = 3;
                    b
                },
                Error::Malformed,
            ),
            (
                "tlv type 0",
                {
                    let mut b = good.clone();
                    b[16] = 0;
                    b
                },
                Error::Malformed,
            ),
            (
                "tlv length",
                {
                    let mut b = good.clone();
                    b[17] = 15;
                    b
                },
                Error::Malformed,
            ),
            (
                "terminator",
                {
                    let mut b = good.clone();
                    b[32] = 1;
                    b
                },
                Error::Malformed,
            ),
        ];
        for (what, frame, err) in cases {
            assert_eq!(MarkerPdu::parse(&frame), Err(err), "{what}");
        }
        // A later version is read as version 1, whatever follows the TLV.
        let mut v2 = good;
        v2[15] = 2;
        v2[32] = 9;
        assert_eq!(MarkerPdu::parse(&v2), Ok(request()));
    }

    proptest! {
        #[test]
        fn round_trip(req in any::<bool>(), port in any::<u16>(), sys in any::<[u8; 6]>(),
                      tid in any::<u32>()) {
            let m = MarkerPdu {
                kind: if req { MarkerKind::Request } else { MarkerKind::Response },
                port,
                system: MacAddr(sys),
                transaction_id: tid,
            };
            prop_assert_eq!(MarkerPdu::parse(&m.encode(SRC)), Ok(m));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = MarkerPdu::parse(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(pos in 0usize..FRAME_LEN, val in any::<u8>(),
                                      cut in 0usize..=FRAME_LEN) {
            let mut b = request_bytes();
            b[pos] = val;
            b.truncate(cut);
            let _ = MarkerPdu::parse(&b);
        }
    }
}
