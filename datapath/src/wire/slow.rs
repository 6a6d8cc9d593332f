//! Slow Protocols (IEEE 802.3 Annex 57A) dispatch.
//!
//! Slow Protocols frames have ethertype 0x8809, are sent untagged to the
//! Slow Protocols group address 01:80:c2:00:00:02, and carry a one-byte
//! subtype right after the Ethernet header: 1 = LACP, 2 = Marker (IEEE
//! 802.1AX), others (OAM, ...) are not ours. A bridge never forwards them.
//!
//! The pipeline steers by ethertype alone (as Open vSwitch and Linux
//! bonding do): any untagged 0x8809 frame goes to the control side, whatever
//! its destination, so it is never bridged. The LACPDU and Marker parsers
//! check the destination address.

use super::ethernet::{L2Info, ETHERTYPE_SLOW, ETH_HLEN};

/// Subtype of a LACPDU.
pub const SUBTYPE_LACP: u8 = 1;
/// Subtype of a Marker PDU.
pub const SUBTYPE_MARKER: u8 = 2;

/// What kind of Slow Protocols frame this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlowKind {
    /// Subtype 1: a LACPDU.
    Lacp,
    /// Subtype 2: a Marker or Marker Response PDU.
    Marker,
    /// Another subtype, or no subtype byte at all.
    Other,
}

/// Classify a whole Ethernet frame: `None` unless its ethertype at offset 12
/// is 0x8809 (untagged); otherwise the kind given by the subtype byte.
#[inline]
pub fn classify(frame: &[u8]) -> Option<SlowKind> {
    let h: &[u8; ETH_HLEN] = frame.first_chunk()?;
    if u16::from_be_bytes([h[12], h[13]]) != ETHERTYPE_SLOW {
        return None;
    }
    Some(match frame.get(ETH_HLEN) {
        Some(&SUBTYPE_LACP) => SlowKind::Lacp,
        Some(&SUBTYPE_MARKER) => SlowKind::Marker,
        _ => SlowKind::Other,
    })
}

/// The pipeline's test: an untagged frame with ethertype 0x8809, to be
/// steered to the control side instead of being bridged.
#[inline]
pub fn is_slow_protocols(info: &L2Info) -> bool {
    info.tag.is_none() && info.ethertype == ETHERTYPE_SLOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::parse_l2;
    use crate::wire::MacAddr;

    fn slow(subtype: &[u8]) -> Vec<u8> {
        let mut f = MacAddr::SLOW_PROTOCOLS.0.to_vec();
        f.extend_from_slice(&[0x52, 0x54, 0, 0, 0, 1, 0x88, 0x09]);
        f.extend_from_slice(subtype);
        f.resize(f.len().max(60), 0);
        f
    }

    #[test]
    fn classifies_by_subtype() {
        assert_eq!(classify(&slow(&[1, 1])), Some(SlowKind::Lacp));
        assert_eq!(classify(&slow(&[2, 1])), Some(SlowKind::Marker));
        assert_eq!(classify(&slow(&[3])), Some(SlowKind::Other));
        assert_eq!(classify(&slow(&[0])), Some(SlowKind::Other));
        assert_eq!(classify(&slow(&[10])), Some(SlowKind::Other));
        // A bare header is a Slow Protocols frame without a subtype.
        assert_eq!(classify(&slow(&[])[..14]), Some(SlowKind::Other));
    }

    #[test]
    fn not_slow() {
        let f = slow(&[1]);
        for n in 0..14 {
            assert_eq!(classify(&f[..n]), None, "{n}");
        }
        let mut ip = f.clone();
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(classify(&ip), None);
        // Tagged 0x8809 is not a Slow Protocols frame.
        let mut tagged = f.clone();
        tagged.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
        assert_eq!(classify(&tagged), None);
        let info = parse_l2(&tagged).unwrap();
        assert_eq!(info.ethertype, ETHERTYPE_SLOW);
        assert!(!is_slow_protocols(&info));
    }

    #[test]
    fn pipeline_test_uses_l2_info() {
        let f = slow(&[1]);
        assert!(is_slow_protocols(&parse_l2(&f).unwrap()));
        // Steered whatever the destination.
        let mut uni = f.clone();
        uni[..6].copy_from_slice(&[0x52, 0x54, 0, 0, 0, 9]);
        assert!(is_slow_protocols(&parse_l2(&uni).unwrap()));
        let mut ip = f;
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert!(!is_slow_protocols(&parse_l2(&ip).unwrap()));
    }
}
