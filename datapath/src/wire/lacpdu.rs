//! LACPDUs (IEEE 802.1AX-2008 clause 5.4.2, formerly 802.3ad clause 43):
//! the Link Aggregation Control Protocol frame.
//!
//! A LACPDU is a Slow Protocols frame: destination 01:80:c2:00:00:02,
//! ethertype 0x8809, subtype 1. The 110 bytes after the Ethernet header are:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | subtype = 1 (LACP) |
//! | 1 | 1 | version = 1 |
//! | 2 | 1 | TLV type = 1 (Actor Information) |
//! | 3 | 1 | length = 20 |
//! | 4 | 18 | actor: system priority (2), system (6), key (2), port priority (2), port (2), state (1), reserved (3) |
//! | 22 | 1 | TLV type = 2 (Partner Information) |
//! | 23 | 1 | length = 20 |
//! | 24 | 18 | partner, same layout as the actor |
//! | 42 | 1 | TLV type = 3 (Collector Information) |
//! | 43 | 1 | length = 16 |
//! | 44 | 2 | collector max delay (tens of microseconds) |
//! | 46 | 12 | reserved |
//! | 58 | 1 | TLV type = 0 (Terminator) |
//! | 59 | 1 | length = 0 |
//! | 60 | 50 | reserved |
//!
//! All multi-byte fields are big-endian. Reserved bytes are sent as zero and
//! ignored on receipt.
//!
//! Versions above 1 (802.1AX-2014 adds optional TLVs after the Collector TLV)
//! are accepted as the standard asks: the version 1 fields are read from
//! their usual places, and the TLVs after the Collector TLV are walked up to
//! the Terminator, checking only that each one fits.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

use super::{Error, MacAddr, Result};

/// The Slow Protocols ethertype (802.3 Annex 43B).
// The same value as `ethernet::ETHERTYPE_SLOW`; kept here so this module does
// not depend on the Ethernet view.
const ETHERTYPE_SLOW: u16 = 0x8809;

/// Slow Protocols subtype of a LACPDU.
pub const SUBTYPE_LACP: u8 = 1;
/// The LACP version this module sends.
pub const VERSION: u8 = 1;
/// Length of the LACPDU after the Ethernet header.
pub const PDU_LEN: usize = 110;
/// Length of the Ethernet header in front of it (untagged).
pub const ETH_HEADER_LEN: usize = 14;
/// Length of a whole LACPDU frame as [`Lacpdu::encode`] builds it.
pub const FRAME_LEN: usize = ETH_HEADER_LEN + PDU_LEN;

/// TLV type of the Actor Information TLV.
pub const TLV_ACTOR: u8 = 1;
/// TLV type of the Partner Information TLV.
pub const TLV_PARTNER: u8 = 2;
/// TLV type of the Collector Information TLV.
pub const TLV_COLLECTOR: u8 = 3;
/// TLV type of the Terminator TLV.
pub const TLV_TERMINATOR: u8 = 0;
/// Length of the Actor and Partner Information TLVs (type and length included).
pub const INFO_TLV_LEN: u8 = 20;
/// Length of the Collector Information TLV (type and length included).
pub const COLLECTOR_TLV_LEN: u8 = 16;

/// Offsets in the frame (Ethernet header included).
mod field {
    use core::ops::Range;

    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const SUBTYPE: usize = 14;
    pub const VERSION: usize = 15;
    pub const ACTOR_TLV: usize = 16;
    /// Start of the 18 bytes of actor information.
    pub const ACTOR: usize = 18;
    pub const PARTNER_TLV: usize = 36;
    pub const PARTNER: usize = 38;
    pub const COLLECTOR_TLV: usize = 56;
    pub const COLLECTOR_MAX_DELAY: usize = 58;
    pub const TERMINATOR_TLV: usize = 72;

    /// Offsets inside one actor/partner information block.
    pub const INFO_SYS_PRIORITY: usize = 0;
    pub const INFO_SYS_ID: usize = 2;
    pub const INFO_KEY: usize = 8;
    pub const INFO_PORT_PRIORITY: usize = 10;
    pub const INFO_PORT_ID: usize = 12;
    pub const INFO_STATE: usize = 14;
}

/// The Actor_State / Partner_State octet: eight flags.
///
/// A bitflags-like newtype: combine the named constants with `|`, test them
/// with [`LacpState::contains`] or the named helpers.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct LacpState(pub u8);

impl LacpState {
    /// No flag set.
    pub const EMPTY: LacpState = LacpState(0);
    /// LACP_Activity: 1 = active LACP, 0 = passive.
    pub const ACTIVITY: LacpState = LacpState(0x01);
    /// LACP_Timeout: 1 = short timeout (fast: 1 s periodic, 3 s timeout),
    /// 0 = long (slow: 30 s, 90 s).
    pub const TIMEOUT: LacpState = LacpState(0x02);
    /// Aggregation: 1 = the link may aggregate with others, 0 = individual.
    pub const AGGREGATION: LacpState = LacpState(0x04);
    /// Synchronization: the link is attached to the right aggregator.
    pub const SYNCHRONIZATION: LacpState = LacpState(0x08);
    /// Collecting: frames received on the link are accepted.
    pub const COLLECTING: LacpState = LacpState(0x10);
    /// Distributing: frames are sent on the link.
    pub const DISTRIBUTING: LacpState = LacpState(0x20);
    /// Defaulted: the sender uses default (administrative) partner information.
    pub const DEFAULTED: LacpState = LacpState(0x40);
    /// Expired: the sender's receive machine is in the EXPIRED state.
    pub const EXPIRED: LacpState = LacpState(0x80);

    /// Every flag with the word `ovs-appctl lacp/show` prints for it.
    pub const NAMED: [(LacpState, &'static str); 8] = [
        (LacpState::ACTIVITY, "activity"),
        (LacpState::TIMEOUT, "timeout"),
        (LacpState::AGGREGATION, "aggregation"),
        (LacpState::SYNCHRONIZATION, "synchronized"),
        (LacpState::COLLECTING, "collecting"),
        (LacpState::DISTRIBUTING, "distributing"),
        (LacpState::DEFAULTED, "defaulted"),
        (LacpState::EXPIRED, "expired"),
    ];

    /// The raw octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: LacpState) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: LacpState) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` with the flags of `other` set.
    pub const fn with(self, other: LacpState) -> LacpState {
        LacpState(self.0 | other.0)
    }

    /// `self` with the flags of `other` cleared.
    pub const fn without(self, other: LacpState) -> LacpState {
        LacpState(self.0 & !other.0)
    }

    /// Set (`on`) or clear the flags of `flag`.
    pub fn set(&mut self, flag: LacpState, on: bool) {
        *self = if on {
            self.with(flag)
        } else {
            self.without(flag)
        };
    }

    /// Active LACP (the ACTIVITY flag).
    pub const fn is_active(self) -> bool {
        self.contains(LacpState::ACTIVITY)
    }

    /// Short timeout requested (the TIMEOUT flag): the sender wants a LACPDU
    /// every second.
    pub const fn is_short_timeout(self) -> bool {
        self.contains(LacpState::TIMEOUT)
    }

    /// Aggregatable (the AGGREGATION flag); clear means an individual link.
    pub const fn is_aggregatable(self) -> bool {
        self.contains(LacpState::AGGREGATION)
    }

    /// In sync (the SYNCHRONIZATION flag).
    pub const fn is_synchronized(self) -> bool {
        self.contains(LacpState::SYNCHRONIZATION)
    }

    /// Collecting.
    pub const fn is_collecting(self) -> bool {
        self.contains(LacpState::COLLECTING)
    }

    /// Distributing.
    pub const fn is_distributing(self) -> bool {
        self.contains(LacpState::DISTRIBUTING)
    }

    /// Defaulted.
    pub const fn is_defaulted(self) -> bool {
        self.contains(LacpState::DEFAULTED)
    }

    /// Expired.
    pub const fn is_expired(self) -> bool {
        self.contains(LacpState::EXPIRED)
    }
}

impl BitOr for LacpState {
    type Output = LacpState;
    fn bitor(self, rhs: LacpState) -> LacpState {
        self.with(rhs)
    }
}

impl BitOrAssign for LacpState {
    fn bitor_assign(&mut self, rhs: LacpState) {
        *self = self.with(rhs);
    }
}

impl BitAnd for LacpState {
    type Output = LacpState;
    fn bitand(self, rhs: LacpState) -> LacpState {
        LacpState(self.0 & rhs.0)
    }
}

impl Not for LacpState {
    type Output = LacpState;
    fn not(self) -> LacpState {
        LacpState(!self.0)
    }
}

/// The flag words separated by spaces, as `lacp/show` prints them
/// (`activity timeout aggregation synchronized collecting distributing`).
impl fmt::Display for LacpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in LacpState::NAMED {
            if self.contains(flag) {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for LacpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LacpState({:#04x}: {})", self.0, self)
    }
}

/// One side's information in a LACPDU (the Actor or Partner Information TLV).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LacpInfo {
    /// System priority: the system with the numerically lower (priority,
    /// system id) decides which links aggregate.
    pub sys_priority: u16,
    /// System ID (a MAC address).
    pub sys_id: MacAddr,
    /// Operational key: links with the same key may aggregate.
    pub key: u16,
    /// Port priority.
    pub port_priority: u16,
    /// Port number.
    pub port_id: u16,
    /// State flags.
    pub state: LacpState,
}

impl LacpInfo {
    /// Decode the 18 information bytes of an Actor/Partner TLV.
    fn read(b: &[u8; 18]) -> LacpInfo {
        let u16_at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        let mut sys_id = [0u8; 6];
        sys_id.copy_from_slice(&b[field::INFO_SYS_ID..field::INFO_SYS_ID + 6]);
        LacpInfo {
            sys_priority: u16_at(field::INFO_SYS_PRIORITY),
            sys_id: MacAddr(sys_id),
            key: u16_at(field::INFO_KEY),
            port_priority: u16_at(field::INFO_PORT_PRIORITY),
            port_id: u16_at(field::INFO_PORT_ID),
            state: LacpState(b[field::INFO_STATE]),
        }
    }

    /// Encode into the 18 information bytes of an Actor/Partner TLV
    /// (the 3 reserved bytes at the end are zeroed).
    fn write(&self, b: &mut [u8; 18]) {
        b[field::INFO_SYS_PRIORITY..field::INFO_SYS_PRIORITY + 2]
            .copy_from_slice(&self.sys_priority.to_be_bytes());
        b[field::INFO_SYS_ID..field::INFO_SYS_ID + 6].copy_from_slice(&self.sys_id.0);
        b[field::INFO_KEY..field::INFO_KEY + 2].copy_from_slice(&self.key.to_be_bytes());
        b[field::INFO_PORT_PRIORITY..field::INFO_PORT_PRIORITY + 2]
            .copy_from_slice(&self.port_priority.to_be_bytes());
        b[field::INFO_PORT_ID..field::INFO_PORT_ID + 2]
            .copy_from_slice(&self.port_id.to_be_bytes());
        b[field::INFO_STATE] = self.state.0;
        b[15..18].fill(0);
    }
}

/// A checked view of a whole untagged LACPDU frame (Ethernet header first).
///
/// Built only through [`LacpduFrame::new_checked`], after which every
/// accessor reads inside the validated first [`FRAME_LEN`] bytes.
#[derive(Debug, Clone, Copy)]
pub struct LacpduFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LacpduFrame<T> {
    /// Validate `buffer` as a LACPDU frame.
    ///
    /// Checks: at least [`FRAME_LEN`] bytes (longer frames, such as padded
    /// ones or ones with an FCS, are fine), destination
    /// 01:80:c2:00:00:02, ethertype 0x8809, subtype 1, version at least 1,
    /// the Actor (1, 20), Partner (2, 20) and Collector (3, 16) TLV headers,
    /// and the Terminator (0, 0): right after the Collector TLV for version 1,
    /// after any further well-formed TLVs for later versions.
    pub fn new_checked(buffer: T) -> Result<LacpduFrame<T>> {
        let b = buffer.as_ref();
        // Not a LACPDU at all: say so before complaining about the length.
        if b.get(field::ETHERTYPE) != Some(&ETHERTYPE_SLOW.to_be_bytes()[..])
            || b.get(field::SUBTYPE) != Some(&SUBTYPE_LACP)
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
        let tlv = |at: usize| -> Option<(u8, u8)> { Some((*b.get(at)?, *b.get(at + 1)?)) };
        if tlv(field::ACTOR_TLV) != Some((TLV_ACTOR, INFO_TLV_LEN))
            || tlv(field::PARTNER_TLV) != Some((TLV_PARTNER, INFO_TLV_LEN))
            || tlv(field::COLLECTOR_TLV) != Some((TLV_COLLECTOR, COLLECTOR_TLV_LEN))
        {
            return Err(Error::Malformed);
        }
        if version == VERSION {
            if tlv(field::TERMINATOR_TLV) != Some((TLV_TERMINATOR, 0)) {
                return Err(Error::Malformed);
            }
        } else {
            // Later versions: walk the extra TLVs to the Terminator. Each TLV
            // length counts its own 2-byte header, so it is at least 2.
            let mut at = field::TERMINATOR_TLV;
            loop {
                let (t, len) = tlv(at).ok_or(Error::Malformed)?;
                if t == TLV_TERMINATOR {
                    if len != 0 {
                        return Err(Error::Malformed);
                    }
                    break;
                }
                if len < 2 {
                    return Err(Error::Malformed);
                }
                at += usize::from(len);
            }
        }
        Ok(LacpduFrame { buffer })
    }

    /// The validated first [`FRAME_LEN`] bytes.
    fn bytes(&self) -> &[u8] {
        // `new_checked` guaranteed at least FRAME_LEN bytes.
        &self.buffer.as_ref()[..FRAME_LEN]
    }

    fn info_at(&self, at: usize) -> LacpInfo {
        let mut raw = [0u8; 18];
        raw.copy_from_slice(&self.bytes()[at..at + 18]);
        LacpInfo::read(&raw)
    }

    /// Source MAC address of the frame.
    pub fn src(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.bytes()[field::SRC]);
        MacAddr(m)
    }

    /// The LACP version number (1 or more).
    pub fn version(&self) -> u8 {
        self.bytes()[field::VERSION]
    }

    /// The Actor Information: the sender about itself.
    pub fn actor(&self) -> LacpInfo {
        self.info_at(field::ACTOR)
    }

    /// The Partner Information: the sender's view of the receiver.
    pub fn partner(&self) -> LacpInfo {
        self.info_at(field::PARTNER)
    }

    /// CollectorMaxDelay, in tens of microseconds.
    pub fn collector_max_delay(&self) -> u16 {
        let b = self.bytes();
        u16::from_be_bytes([
            b[field::COLLECTOR_MAX_DELAY],
            b[field::COLLECTOR_MAX_DELAY + 1],
        ])
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A parsed LACPDU.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Lacpdu {
    /// The sender about itself.
    pub actor: LacpInfo,
    /// The sender's view of the receiver.
    pub partner: LacpInfo,
    /// CollectorMaxDelay, in tens of microseconds (OVS and Linux send 0).
    pub collector_max_delay: u16,
}

impl Lacpdu {
    /// Parse a whole untagged Ethernet frame. Never panics; see
    /// [`LacpduFrame::new_checked`] for what is checked. The contents of the
    /// information fields are not judged here (the LACP machine does that).
    pub fn parse(frame: &[u8]) -> Result<Lacpdu> {
        let f = LacpduFrame::new_checked(frame)?;
        Ok(Lacpdu {
            actor: f.actor(),
            partner: f.partner(),
            collector_max_delay: f.collector_max_delay(),
        })
    }

    /// Build the whole frame: Ethernet header (to 01:80:c2:00:00:02 from
    /// `src`, ethertype 0x8809) and a version 1 LACPDU with every reserved
    /// byte zero.
    pub fn encode(&self, src: MacAddr) -> [u8; FRAME_LEN] {
        let mut b = [0u8; FRAME_LEN];
        b[field::DST].copy_from_slice(&MacAddr::SLOW_PROTOCOLS.0);
        b[field::SRC].copy_from_slice(&src.0);
        b[field::ETHERTYPE].copy_from_slice(&ETHERTYPE_SLOW.to_be_bytes());
        b[field::SUBTYPE] = SUBTYPE_LACP;
        b[field::VERSION] = VERSION;
        b[field::ACTOR_TLV] = TLV_ACTOR;
        b[field::ACTOR_TLV + 1] = INFO_TLV_LEN;
        let mut info = [0u8; 18];
        self.actor.write(&mut info);
        b[field::ACTOR..field::ACTOR + 18].copy_from_slice(&info);
        b[field::PARTNER_TLV] = TLV_PARTNER;
        b[field::PARTNER_TLV + 1] = INFO_TLV_LEN;
        self.partner.write(&mut info);
        b[field::PARTNER..field::PARTNER + 18].copy_from_slice(&info);
        b[field::COLLECTOR_TLV] = TLV_COLLECTOR;
        b[field::COLLECTOR_TLV + 1] = COLLECTOR_TLV_LEN;
        b[field::COLLECTOR_MAX_DELAY..field::COLLECTOR_MAX_DELAY + 2]
            .copy_from_slice(&self.collector_max_delay.to_be_bytes());
        // Terminator (type 0, length 0) and the reserved bytes stay zero.
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    fn sample() -> Lacpdu {
        Lacpdu {
            actor: LacpInfo {
                sys_priority: 0xfffe,
                sys_id: MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]),
                key: 0x0102,
                port_priority: 0xffff,
                port_id: 0x0304,
                state: LacpState::ACTIVITY
                    | LacpState::TIMEOUT
                    | LacpState::AGGREGATION
                    | LacpState::SYNCHRONIZATION
                    | LacpState::COLLECTING
                    | LacpState::DISTRIBUTING,
            },
            partner: LacpInfo {
                sys_priority: 0x8000,
                sys_id: MacAddr([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]),
                key: 0x0009,
                port_priority: 0x00ff,
                port_id: 0x0002,
                state: LacpState::ACTIVITY | LacpState::AGGREGATION | LacpState::DEFAULTED,
            },
            collector_max_delay: 0x1234,
        }
    }

    /// The expected frame for `sample()`, written out field by field from the
    /// 802.1AX-2008 LACPDU layout (figure 5-8), not by calling `encode`.
    fn sample_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        // Ethernet header.
        v.extend_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]); // dst: Slow_Protocols_Multicast
        v.extend_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]); // src
        v.extend_from_slice(&[0x88, 0x09]); // Slow Protocols ethertype
                                            // LACPDU.
        v.push(0x01); // Subtype = LACP
        v.push(0x01); // Version Number
        v.push(0x01); // TLV_type = Actor Information
        v.push(0x14); // Actor_Information_Length = 20
        v.extend_from_slice(&[0xff, 0xfe]); // Actor_System_Priority
        v.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]); // Actor_System
        v.extend_from_slice(&[0x01, 0x02]); // Actor_Key
        v.extend_from_slice(&[0xff, 0xff]); // Actor_Port_Priority
        v.extend_from_slice(&[0x03, 0x04]); // Actor_Port
        v.push(0x3f); // Actor_State: act|timeout|agg|sync|col|dist
        v.extend_from_slice(&[0, 0, 0]); // Reserved
        v.push(0x02); // TLV_type = Partner Information
        v.push(0x14); // Partner_Information_Length = 20
        v.extend_from_slice(&[0x80, 0x00]); // Partner_System_Priority
        v.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55]); // Partner_System
        v.extend_from_slice(&[0x00, 0x09]); // Partner_Key
        v.extend_from_slice(&[0x00, 0xff]); // Partner_Port_Priority
        v.extend_from_slice(&[0x00, 0x02]); // Partner_Port
        v.push(0x45); // Partner_State: act|agg|defaulted
        v.extend_from_slice(&[0, 0, 0]); // Reserved
        v.push(0x03); // TLV_type = Collector Information
        v.push(0x10); // Collector_Information_Length = 16
        v.extend_from_slice(&[0x12, 0x34]); // CollectorMaxDelay
        v.extend_from_slice(&[0; 12]); // Reserved
        v.push(0x00); // TLV_type = Terminator
        v.push(0x00); // Terminator_Length = 0
        v.extend_from_slice(&[0; 50]); // Reserved
        v
    }

    #[test]
    fn encode_matches_hand_written_layout() {
        let expected = sample_bytes();
        assert_eq!(expected.len(), FRAME_LEN);
        assert_eq!(sample().encode(SRC).to_vec(), expected);
    }

    #[test]
    fn parse_hand_written_frame() {
        let f = LacpduFrame::new_checked(sample_bytes()).unwrap();
        assert_eq!(f.src(), SRC);
        assert_eq!(f.version(), 1);
        assert_eq!(Lacpdu::parse(&sample_bytes()), Ok(sample()));
    }

    #[test]
    fn accepts_trailing_bytes() {
        let mut b = sample_bytes();
        b.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // e.g. an FCS
        assert_eq!(Lacpdu::parse(&b), Ok(sample()));
    }

    #[test]
    fn reserved_bytes_are_ignored_on_receipt() {
        let mut b = sample_bytes();
        b[14 + 19] = 0xff; // actor reserved
        b[14 + 46] = 0xff; // collector reserved
        b[14 + 109] = 0xff; // last reserved byte
        assert_eq!(Lacpdu::parse(&b), Ok(sample()));
    }

    #[test]
    fn rejects_malformed_frames() {
        let good = sample_bytes();
        let cases: Vec<(&str, Vec<u8>, Error)> = vec![
            ("empty", vec![], Error::Truncated),
            (
                "one byte short",
                good[..FRAME_LEN - 1].to_vec(),
                Error::Truncated,
            ),
            ("header only", good[..15].to_vec(), Error::Truncated),
            (
                "wrong dst",
                {
                    let mut b = good.clone();
                    b[5] = 0x03;
                    b
                },
                Error::Unsupported,
            ),
            (
                "wrong ethertype",
                {
                    let mut b = good.clone();
                    b[13] = 0x00;
                    b
                },
                Error::Unsupported,
            ),
            (
                "marker subtype",
                {
                    let mut b = good.clone();
                    b[14] = 2;
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
                "actor tlv type",
                {
                    let mut b = good.clone();
                    b[16] = 2;
                    b
                },
                Error::Malformed,
            ),
            (
                "actor tlv length",
                {
                    let mut b = good.clone();
                    b[17] = 19;
                    b
                },
                Error::Malformed,
            ),
            (
                "partner tlv type",
                {
                    let mut b = good.clone();
                    b[36] = 1;
                    b
                },
                Error::Malformed,
            ),
            (
                "partner tlv length",
                {
                    let mut b = good.clone();
                    b[37] = 21;
                    b
                },
                Error::Malformed,
            ),
            (
                "collector tlv type",
                {
                    let mut b = good.clone();
                    b[56] = 4;
                    b
                },
                Error::Malformed,
            ),
            (
                "collector tlv length",
                {
                    let mut b = good.clone();
                    b[57] = 20;
                    b
                },
                Error::Malformed,
            ),
            (
                "terminator type",
                {
                    let mut b = good.clone();
                    b[72] = 4;
                    b
                },
                Error::Malformed,
            ),
            (
                "terminator length",
                {
                    let mut b = good.clone();
                    b[73] = 2;
                    b
                },
                Error::Malformed,
            ),
            (
                "802.1Q tagged",
                {
                    let mut b = good[..12].to_vec();
                    b.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
                    b.extend_from_slice(&good[12..]);
                    b
                },
                Error::Unsupported,
            ),
        ];
        for (what, frame, err) in cases {
            assert_eq!(Lacpdu::parse(&frame), Err(err), "{what}");
        }
    }

    #[test]
    fn later_versions_are_read_as_version_1() {
        // Version 2 with a Port Algorithm TLV (type 4, length 6) before the
        // Terminator: accepted, the version 1 fields read as usual.
        let mut b = sample_bytes();
        b[15] = 2;
        b[72..78].copy_from_slice(&[0x04, 0x06, 0x00, 0x80, 0xc2, 0x01]);
        b[78] = 0;
        b[79] = 0;
        assert_eq!(Lacpdu::parse(&b), Ok(sample()));

        // A TLV that claims a length below its own header is malformed.
        let mut bad = b.clone();
        bad[73] = 1;
        assert_eq!(Lacpdu::parse(&bad), Err(Error::Malformed));

        // A TLV chain that runs off the end of the frame is malformed.
        let mut bad = b.clone();
        bad[73] = 200;
        assert_eq!(Lacpdu::parse(&bad), Err(Error::Malformed));

        // A Terminator with a length is malformed.
        let mut bad = b;
        bad[79] = 1;
        assert_eq!(Lacpdu::parse(&bad), Err(Error::Malformed));
    }

    #[test]
    fn state_helpers_and_display() {
        let s = LacpState::ACTIVITY | LacpState::SYNCHRONIZATION;
        assert!(s.is_active() && s.is_synchronized());
        assert!(!s.is_collecting() && !s.is_short_timeout());
        assert!(s.contains(LacpState::ACTIVITY));
        assert!(!s.contains(LacpState::ACTIVITY | LacpState::EXPIRED));
        assert!(s.intersects(LacpState::ACTIVITY | LacpState::EXPIRED));
        let mut t = s;
        t.set(LacpState::EXPIRED, true);
        assert_eq!(t.bits(), 0x89);
        t.set(LacpState::ACTIVITY, false);
        assert_eq!(t, LacpState::SYNCHRONIZATION | LacpState::EXPIRED);
        assert_eq!(
            LacpState(0xff).to_string(),
            "activity timeout aggregation synchronized collecting distributing defaulted expired"
        );
        assert_eq!(LacpState::EMPTY.to_string(), "");
        assert_eq!(
            format!("{:?}", LacpState(0x05)),
            "LacpState(0x05: activity aggregation)"
        );
    }

    fn arb_info() -> impl Strategy<Value = LacpInfo> {
        (
            any::<u16>(),
            any::<[u8; 6]>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(|(sp, id, key, pp, port, st)| LacpInfo {
                sys_priority: sp,
                sys_id: MacAddr(id),
                key,
                port_priority: pp,
                port_id: port,
                state: LacpState(st),
            })
    }

    proptest! {
        #[test]
        fn parse_encode_round_trip(actor in arb_info(), partner in arb_info(),
                                   delay in any::<u16>(), src in any::<[u8; 6]>()) {
            let pdu = Lacpdu { actor, partner, collector_max_delay: delay };
            let frame = pdu.encode(MacAddr(src));
            prop_assert_eq!(Lacpdu::parse(&frame), Ok(pdu));
            prop_assert_eq!(LacpduFrame::new_checked(&frame[..]).unwrap().src(), MacAddr(src));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Lacpdu::parse(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(pos in 0usize..FRAME_LEN, val in any::<u8>(),
                                      cut in 0usize..=FRAME_LEN + 8) {
            // Random single-byte damage and truncation of a valid frame hit
            // the TLV checks far more often than fully random bytes do.
            let mut b = sample_bytes();
            b.extend_from_slice(&[0; 8]);
            b[pos] = val;
            b.truncate(cut);
            let _ = Lacpdu::parse(&b);
            // A version above 1 makes the parser walk TLVs: damage that too.
            b.resize(FRAME_LEN + 8, 0);
            b[15] = 7;
            b[pos] = val;
            let _ = Lacpdu::parse(&b);
        }
    }
}
