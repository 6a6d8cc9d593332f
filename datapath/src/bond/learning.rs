//! Learning packets (OVS `bond_compose_learning_packet()` and
//! `bond_send_learning_packets()`).
//!
//! A switch at the far end of an active-backup or balance-slb bond does not
//! know that the links form one bond. When the bond moves a station's
//! traffic to another member (failover, a new active member, rebalancing:
//! [`BondActions::send_learning_packets`](super::BondActions::send_learning_packets)),
//! that switch would keep sending the station's frames down the old link.
//! So for every station learned on the bridge's *other* ports, the bond
//! sends one RARP from the station's address on the member that now carries
//! its traffic, and the switch learns the new place.
//!
//! Nothing is sent when LACP is negotiated (the partner knows the links are
//! one aggregate) or when the bond carries nothing.

use super::{BondMode, BondView, MemberId};
use crate::mac_table::MacEntry;
use crate::vlan::{EgressAction, PortVlan};
use crate::wire::MacAddr;

/// The most learning packets one call of [`learning_packets`] composes.
/// Stations beyond it are skipped (the MAC table may hold a million
/// entries; a burst of that many frames would flood the uplink and the
/// control thread). 4096 covers one entry per VLAN.
pub const MAX_LEARNING_PACKETS: usize = 4096;

/// Length of an untagged learning packet: a RARP padded to the Ethernet
/// minimum (no FCS). A tagged one is 4 bytes longer.
pub const LEARNING_PACKET_LEN: usize = 60;

/// Ethertype of RARP.
const ETHERTYPE_RARP: u16 = 0x8035;

/// One learning packet announcing `mac`: a RARP "reverse request"
/// (opcode 3) from `mac` to the broadcast address, sender and target
/// hardware addresses `mac`, protocol addresses zero, padded to
/// [`LEARNING_PACKET_LEN`] bytes; with `vlan`, an 802.1Q header (priority
/// 0, VID `vlan & 0xfff`) is inserted after the addresses, making it 64.
pub fn learning_packet(mac: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    let tag_len = if vlan.is_some() { 4 } else { 0 };
    let mut f = Vec::with_capacity(LEARNING_PACKET_LEN + tag_len);
    f.extend_from_slice(&MacAddr::BROADCAST.0);
    f.extend_from_slice(&mac.0);
    if let Some(v) = vlan {
        f.extend_from_slice(&crate::wire::ethernet::ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(v & 0xfff).to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_RARP.to_be_bytes());
    // Hardware type Ethernet, protocol IPv4, lengths 6 and 4, opcode 3.
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 3]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0; 4]);
    f.resize(LEARNING_PACKET_LEN + tag_len, 0);
    f
}

/// A station learned on the bridge: what [`learning_packets`] needs of a
/// MAC-table entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LearnedStation {
    /// The VLAN it was learned on.
    pub vlan: u16,
    /// Its address.
    pub mac: MacAddr,
    /// The bridge port (MAC-table port number) it was learned on.
    pub port: u16,
}

impl From<MacEntry> for LearnedStation {
    fn from(e: MacEntry) -> LearnedStation {
        LearnedStation {
            vlan: e.vlan,
            mac: e.mac,
            port: e.port,
        }
    }
}

impl From<&MacEntry> for LearnedStation {
    fn from(e: &MacEntry) -> LearnedStation {
        LearnedStation::from(*e)
    }
}

impl From<(u16, MacAddr, u16)> for LearnedStation {
    /// From `(vlan, mac, port)`.
    fn from((vlan, mac, port): (u16, MacAddr, u16)) -> LearnedStation {
        LearnedStation { vlan, mac, port }
    }
}

/// The learning packets to send after the bond moved traffic, each with the
/// member to send it on.
///
/// - `view`: the bond's current view. Nothing is sent when it is down or
///   LACP is negotiated, nor in balance-tcp.
/// - `bond_port`: the bond's own port number in the MAC table; stations
///   learned on it are behind the bond and are skipped.
/// - `vlan`: the bond port's VLAN configuration: a station's VLAN that the
///   port does not carry is skipped, the others are sent untagged or
///   tagged as [`PortVlan::egress`] says.
/// - `stations`: the MAC table's entries (for example
///   [`MacTable::entries`](crate::mac_table::MacTable::entries)).
///
/// A station's member is the one its traffic now goes to:
/// `view.member_for_hash(hash::slb(mac, vlan, view.hash_basis))` in
/// balance-slb, the active member in active-backup. At most
/// [`MAX_LEARNING_PACKETS`] packets, in the order of `stations`.
pub fn learning_packets<I>(
    view: &BondView,
    bond_port: u16,
    vlan: &PortVlan,
    stations: I,
) -> Vec<(MemberId, Vec<u8>)>
where
    I: IntoIterator,
    I::Item: Into<LearnedStation>,
{
    let mut out = Vec::new();
    if !view.up || view.lacp_negotiated {
        return out;
    }
    let slb = match view.mode {
        BondMode::BalanceSlb => true,
        BondMode::ActiveBackup => false,
        BondMode::BalanceTcp => return out,
    };
    for s in stations {
        if out.len() >= MAX_LEARNING_PACKETS {
            break;
        }
        let s: LearnedStation = s.into();
        if s.port == bond_port {
            continue;
        }
        let tag = match vlan.egress(s.vlan) {
            EgressAction::Drop => continue,
            EgressAction::Untagged => None,
            EgressAction::Tagged => Some(s.vlan),
        };
        let member = if slb {
            view.member_for_hash(crate::hash::slb(s.mac, s.vlan, view.hash_basis))
        } else {
            view.active_member()
        };
        if let Some(m) = member {
            out.push((m, learning_packet(s.mac, tag)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bond::{Bond, BondConfig};
    use crate::time::Millis;
    use crate::vlan::{VlanMode, VlanSet};
    use crate::wire::ethernet::parse_l2;

    fn mac(n: u16) -> MacAddr {
        MacAddr([0x52, 0x54, 0, 0, (n >> 8) as u8, n as u8])
    }

    /// A bond of members 3, 7, 12 in `mode`, all up, no LACP.
    fn bond(mode: BondMode) -> Bond {
        let cfg = BondConfig {
            mode,
            hash_basis: 0x1234,
            ..BondConfig::default()
        };
        let mut b = Bond::new(cfg, &[3, 7, 12], Millis(0));
        for m in [3, 7, 12] {
            b.set_carrier(m, true, Millis(0));
        }
        b
    }

    const BOND_PORT: u16 = 5;

    /// `n` stations on port 1, VLAN 0 (an access/trunk-native world).
    fn stations(n: u16, vlan: u16) -> Vec<LearnedStation> {
        (0..n)
            .map(|i| LearnedStation {
                vlan,
                mac: mac(i),
                port: 1,
            })
            .collect()
    }

    #[test]
    fn packet_layout_untagged_and_tagged() {
        let m = MacAddr([0x52, 0x54, 0, 0, 0, 9]);
        let f = learning_packet(m, None);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &m.0);
        assert_eq!(&f[12..14], &[0x80, 0x35]);
        assert_eq!(&f[14..20], &[0, 1, 0x08, 0x00, 6, 4]);
        assert_eq!(&f[20..22], &[0, 3], "reverse request");
        assert_eq!(&f[22..28], &m.0, "sender hardware address");
        assert_eq!(&f[28..32], &[0; 4]);
        assert_eq!(&f[32..38], &m.0, "target hardware address");
        assert!(
            f[38..].iter().all(|&b| b == 0),
            "zero protocol addresses and padding"
        );
        let t = learning_packet(m, Some(300));
        assert_eq!(t.len(), 64);
        let l2 = parse_l2(&t).unwrap();
        assert_eq!(l2.vid(), Some(300));
        assert_eq!(l2.ethertype, 0x8035);
        assert_eq!(l2.src, m);
        // Padded to 60 before the tag: removing the tag gives the untagged frame.
        let mut untagged = t[..12].to_vec();
        untagged.extend_from_slice(&t[16..]);
        assert_eq!(untagged, f);
        // Only the VID bits of the VLAN go into the tag.
        let t = learning_packet(m, Some(0xf00a));
        assert_eq!(&t[14..16], &[0x00, 0x0a]);
    }

    #[test]
    fn balance_slb_sends_each_station_on_its_hash_member() {
        let b = bond(BondMode::BalanceSlb);
        let v = b.view();
        let st = stations(200, 0);
        let out = learning_packets(&v, BOND_PORT, &PortVlan::trunk_all(), st.iter().copied());
        assert_eq!(out.len(), 200);
        let mut used = std::collections::BTreeSet::new();
        for (s, (m, f)) in st.iter().zip(&out) {
            let want = v.member_for_hash(crate::hash::slb(s.mac, 0, v.hash_basis));
            assert_eq!(Some(*m), want, "{:?}", s.mac);
            assert_eq!(*f, learning_packet(s.mac, None));
            used.insert(*m);
        }
        // 200 stations over three members: every member gets some.
        assert_eq!(used.into_iter().collect::<Vec<_>>(), vec![3, 7, 12]);
        // The hash basis counts: another basis moves some stations.
        let mut other = v.clone();
        other.hash_basis ^= 0xffff;
        let out2 = learning_packets(
            &other,
            BOND_PORT,
            &PortVlan::trunk_all(),
            st.iter().copied(),
        );
        assert!(out.iter().zip(&out2).any(|(a, b)| a.0 != b.0));
    }

    #[test]
    fn active_backup_sends_everything_on_the_active_member() {
        let mut b = bond(BondMode::ActiveBackup);
        assert_eq!(b.view().active_member(), Some(3));
        b.set_carrier(3, false, Millis(1));
        let v = b.view();
        assert_eq!(v.active_member(), Some(7));
        let out = learning_packets(&v, BOND_PORT, &PortVlan::trunk_all(), stations(50, 0));
        assert_eq!(out.len(), 50);
        assert!(out.iter().all(|(m, _)| *m == 7));
    }

    #[test]
    fn vlan_rules_decide_tagging_and_skipping() {
        let v = bond(BondMode::ActiveBackup).view();
        let trunks = VlanSet::parse("10,20").unwrap();
        let native = PortVlan::new(Some(VlanMode::NativeUntagged), Some(10), &trunks).unwrap();
        let st = [
            LearnedStation {
                vlan: 10,
                mac: mac(1),
                port: 1,
            },
            LearnedStation {
                vlan: 20,
                mac: mac(2),
                port: 2,
            },
            LearnedStation {
                vlan: 30,
                mac: mac(3),
                port: 3,
            },
        ];
        let out = learning_packets(&v, BOND_PORT, &native, st);
        assert_eq!(
            out.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
            vec![
                learning_packet(mac(1), None),
                learning_packet(mac(2), Some(20))
            ],
            "native VLAN untagged, trunk VLAN tagged, VLAN 30 not carried"
        );
        let access = PortVlan::access(20);
        let out = learning_packets(&v, BOND_PORT, &access, st);
        assert_eq!(out, vec![(3, learning_packet(mac(2), None))]);
        let tagged = PortVlan::new(Some(VlanMode::NativeTagged), Some(10), &trunks).unwrap();
        let out = learning_packets(&v, BOND_PORT, &tagged, st);
        assert_eq!(
            out.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
            vec![
                learning_packet(mac(1), Some(10)),
                learning_packet(mac(2), Some(20))
            ]
        );
    }

    #[test]
    fn stations_behind_the_bond_are_skipped() {
        let v = bond(BondMode::BalanceSlb).view();
        let st = [
            (0u16, mac(1), BOND_PORT),
            (0, mac(2), 1),
            (0, mac(3), BOND_PORT),
            (0, mac(4), 9),
        ];
        let out = learning_packets(&v, BOND_PORT, &PortVlan::trunk_all(), st);
        let srcs: Vec<MacAddr> = out
            .iter()
            .map(|(_, f)| MacAddr::from_slice(&f[6..]).unwrap())
            .collect();
        assert_eq!(srcs, vec![mac(2), mac(4)]);
    }

    #[test]
    fn mac_table_entries_are_accepted() {
        let v = bond(BondMode::ActiveBackup).view();
        let e = MacEntry {
            port: 2,
            vlan: 0,
            mac: mac(8),
            age_secs: 3,
            is_static: false,
        };
        let out = learning_packets(&v, BOND_PORT, &PortVlan::trunk_all(), [e]);
        assert_eq!(out, vec![(3, learning_packet(mac(8), None))]);
        let entries = [e];
        let out = learning_packets(&v, BOND_PORT, &PortVlan::trunk_all(), entries.iter());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn nothing_when_lacp_is_negotiated_down_or_balance_tcp() {
        let st = stations(10, 0);
        let all = PortVlan::trunk_all();
        // Negotiated LACP.
        let mut b = Bond::new(
            BondConfig {
                mode: BondMode::BalanceSlb,
                lacp: true,
                ..BondConfig::default()
            },
            &[3, 7],
            Millis(0),
        );
        b.set_carrier(3, true, Millis(0));
        b.set_carrier(7, true, Millis(0));
        b.set_lacp(true, &[(3, true), (7, true)], Millis(0));
        let v = b.view();
        assert!(v.up && v.lacp_negotiated);
        assert!(learning_packets(&v, BOND_PORT, &all, st.iter().copied()).is_empty());
        // The same view without negotiated LACP would send.
        let mut not = v.clone();
        not.lacp_negotiated = false;
        assert_eq!(
            learning_packets(&not, BOND_PORT, &all, st.iter().copied()).len(),
            10
        );
        // Down.
        let down = BondView::down(BondMode::ActiveBackup, &[3, 7], 0);
        assert!(learning_packets(&down, BOND_PORT, &all, st.iter().copied()).is_empty());
        // Every member down.
        let mut b = bond(BondMode::ActiveBackup);
        for m in [3, 7, 12] {
            b.set_carrier(m, false, Millis(1));
        }
        assert!(learning_packets(&b.view(), BOND_PORT, &all, st.iter().copied()).is_empty());
        // balance-tcp (only carries with negotiated LACP anyway).
        let mut tcp = bond(BondMode::BalanceSlb).view();
        tcp.mode = BondMode::BalanceTcp;
        assert!(learning_packets(&tcp, BOND_PORT, &all, st.iter().copied()).is_empty());
    }

    #[test]
    fn at_most_max_learning_packets() {
        let v = bond(BondMode::ActiveBackup).view();
        let all = PortVlan::trunk_all();
        let n = MAX_LEARNING_PACKETS as u16 + 100;
        // Skipped stations do not count toward the cap.
        let st = (0..n).flat_map(|i| {
            [
                LearnedStation {
                    vlan: 0,
                    mac: mac(i),
                    port: BOND_PORT,
                },
                LearnedStation {
                    vlan: 0,
                    mac: mac(i),
                    port: 1,
                },
            ]
        });
        let out = learning_packets(&v, BOND_PORT, &all, st);
        assert_eq!(out.len(), MAX_LEARNING_PACKETS);
        assert_eq!(out[0].1, learning_packet(mac(0), None));
        assert_eq!(
            out[MAX_LEARNING_PACKETS - 1].1,
            learning_packet(mac(MAX_LEARNING_PACKETS as u16 - 1), None)
        );
    }
}
