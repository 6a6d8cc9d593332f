use crate::bond::{Bond, BondConfig, BondMode, BondView, DetectMode};
use crate::counters::{Counter, PmdCounter};
use crate::mac_table::MacTable;
use crate::mem::MemPacket;
use crate::packet::Burst;
use crate::testkit::{bond_view, mac, raw_frame, udp_frame, udp_frame_ip, vid_of, Rig};
use crate::vlan::{PortVlan, VlanMode, VlanSet};
use crate::wire::ethernet::{ETHERTYPE_QINQ, ETHERTYPE_SLOW};
use crate::wire::MacAddr;

fn trunk(list: &str) -> PortVlan {
    PortVlan::new(Some(VlanMode::Trunk), None, &VlanSet::parse(list).unwrap()).unwrap()
}

/// The how-to topology: A access 300, B trunk 300,301, C access 301.
fn how_to() -> (Rig, u16, u16, u16) {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(300));
    let (_, b) = r.add_port("b", trunk("300,301"));
    let (_, c) = r.add_port("c", PortVlan::access(301));
    (r, a, b, c)
}

#[test]
fn access_to_trunk_tags_and_back_untags_then_unicast() {
    let (mut r, a, b, c) = how_to();
    let (ma, mb) = (mac(0xa), mac(0xb));
    // A → B (unknown destination): flooded in VLAN 300 to B only, tagged.
    r.send(a, &[udp_frame(mb, ma, None, 1, 2)]);
    let out = r.sent(b);
    assert_eq!(out.len(), 1);
    assert_eq!(vid_of(&out[0]), Some(300));
    assert_eq!(out[0].len(), 64);
    assert!(r.sent(c).is_empty(), "VLAN 301 port saw VLAN 300 traffic");
    assert!(r.sent(a).is_empty(), "frame returned to its ingress port");
    // B → A tagged 300: A learned, so unicast to A only, untagged.
    r.send(b, &[udp_frame(ma, mb, Some(300), 2, 1)]);
    let out = r.sent(a);
    assert_eq!(out, vec![udp_frame(ma, mb, None, 2, 1)]);
    assert!(r.sent(c).is_empty());
    // Both learned on VLAN 300.
    assert_eq!(r.mac().lookup(300, ma), Some(0));
    assert_eq!(r.mac().lookup(300, mb), Some(1));
    // A → B again is unicast (C sees nothing even though it would flood).
    r.send(a, &[udp_frame(mb, ma, None, 1, 2)]);
    assert_eq!(r.sent(b), vec![udp_frame(mb, ma, Some(300), 1, 2)]);
    assert_eq!(r.counter(a, Counter::RxPackets), 2);
    assert_eq!(r.counter(b, Counter::TxPackets), 2);
    assert_eq!(r.counter(b, Counter::TxBytes), 128);
    assert_eq!(r.drops(a) + r.drops(b) + r.drops(c), 0);
}

#[test]
fn flood_edits_each_copy_for_its_port() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(300));
    let (_, t1) = r.add_port("t1", trunk("300"));
    let (_, t2) = r.add_port("t2", trunk(""));
    let nu = PortVlan::new(Some(VlanMode::NativeUntagged), Some(300), &VlanSet::empty()).unwrap();
    let (_, n1) = r.add_port("n1", nu);
    let (_, other) = r.add_port("other", PortVlan::access(5));
    let bcast = udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2);
    r.send(a, std::slice::from_ref(&bcast));
    assert_eq!(vid_of(&r.sent(t1)[0]), Some(300));
    assert_eq!(vid_of(&r.sent(t2)[0]), Some(300));
    assert_eq!(
        r.sent(n1),
        vec![bcast],
        "native-untagged sends its native VLAN untagged"
    );
    assert!(r.sent(other).is_empty());
    assert!(r.sent(a).is_empty());
    // From the trunk, tagged 300: the access port and native port get it untagged.
    r.send(
        t1,
        &[udp_frame(MacAddr::BROADCAST, mac(2), Some(300), 1, 2)],
    );
    assert_eq!(vid_of(&r.sent(a)[0]), None);
    assert_eq!(vid_of(&r.sent(n1)[0]), None);
    assert_eq!(vid_of(&r.sent(t2)[0]), Some(300));
    assert!(r.sent(t1).is_empty());
}

#[test]
fn vlan_ingress_drops_are_counted() {
    let (mut r, a, b, c) = how_to();
    // Tagged on an access port, even with its own VLAN.
    r.send(a, &[udp_frame(mac(9), mac(1), Some(300), 1, 2)]);
    // VLAN 302 on a trunk carrying 300,301.
    r.send(b, &[udp_frame(mac(9), mac(2), Some(302), 1, 2)]);
    // Untagged on that trunk (VLAN 0 not trunked).
    r.send(b, &[udp_frame(mac(9), mac(2), None, 1, 2)]);
    assert_eq!(r.counter(a, Counter::RxVlanFiltered), 1);
    assert_eq!(r.counter(b, Counter::RxVlanFiltered), 2);
    for i in [a, b, c] {
        assert!(r.sent(i).is_empty());
    }
    assert!(r.mac().is_empty(), "dropped frames must not be learned");
}

#[test]
fn double_tagged_frame_cannot_hop_from_access_port() {
    let (mut r, a, b, c) = how_to();
    // Outer 300, inner 301 into access 300.
    let mut f = udp_frame(MacAddr::BROADCAST, mac(1), Some(301), 1, 2);
    f.splice(12..12, [0x81, 0x00, 0x01, 0x2c]);
    r.send(a, &[f]);
    assert_eq!(r.counter(a, Counter::RxVlanFiltered), 1);
    assert!(r.sent(b).is_empty() && r.sent(c).is_empty());
    // An 802.1ad outer tag is not a VLAN these ports accept.
    let mut q = udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2);
    q.splice(
        12..12,
        [
            (ETHERTYPE_QINQ >> 8) as u8,
            ETHERTYPE_QINQ as u8,
            0x01,
            0x2c,
        ],
    );
    r.send(b, &[q]);
    assert_eq!(r.counter(b, Counter::RxVlanFiltered), 1);
    assert!(r.sent(a).is_empty() && r.sent(c).is_empty());
}

#[test]
fn double_tagged_on_trunk_keeps_inner_tag_and_stays_in_outer_vlan() {
    let (mut r, a, b, c) = how_to();
    let mut f = udp_frame(MacAddr::BROADCAST, mac(1), Some(301), 1, 2);
    f.splice(12..12, [0x81, 0x00, 0x01, 0x2c]); // outer 300
    r.send(b, &[f]);
    let out = r.sent(a);
    assert_eq!(out.len(), 1);
    // The outer tag is gone; the inner 301 is payload of VLAN 300.
    assert_eq!(vid_of(&out[0]), Some(301));
    assert!(r.sent(c).is_empty(), "inner tag must not select VLAN 301");
}

#[test]
fn hairpin_is_dropped() {
    let (mut r, a, b, _) = how_to();
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)]);
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(2), None, 1, 2)]);
    r.sent(b);
    r.send(a, &[udp_frame(mac(2), mac(1), None, 1, 2)]);
    assert_eq!(r.counter(a, Counter::RxHairpin), 1);
    assert!(r.sent(a).is_empty() && r.sent(b).is_empty());
}

#[test]
fn station_move_updates_entry() {
    let (mut r, a, b, _) = how_to();
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(7), None, 1, 2)]);
    assert_eq!(r.mac().lookup(300, mac(7)), Some(0));
    r.send(b, &[udp_frame(MacAddr::BROADCAST, mac(7), Some(300), 1, 2)]);
    assert_eq!(r.mac().lookup(300, mac(7)), Some(1));
    r.sent(a);
    r.sent(b);
    r.send(a, &[udp_frame(mac(7), mac(8), None, 1, 2)]);
    assert_eq!(r.sent(b).len(), 1);
}

#[test]
fn slow_protocols_go_to_control_only_on_lacp_interfaces() {
    let (mut r, a, b, c) = how_to();
    let lacp = raw_frame(MacAddr::SLOW_PROTOCOLS, mac(1), ETHERTYPE_SLOW);
    let stp = raw_frame(MacAddr([0x01, 0x80, 0xc2, 0, 0, 0]), mac(1), 0x0026);
    r.send(a, &[lacp.clone(), stp.clone()]);
    assert_eq!(r.counter(a, Counter::RxSlowProtocols), 1);
    assert_eq!(r.counter(a, Counter::RxReservedMulticast), 1);
    assert!(r.io.control.is_empty());
    r.edit_iface(b, |i| i.lacp = true);
    r.io.control_room = 1;
    r.send(b, &[lacp.clone(), lacp.clone()]);
    assert_eq!(r.io.control.len(), 1);
    assert_eq!(r.io.control[0].0, b);
    assert_eq!(r.counter(b, Counter::RxControlRingFull), 1);
    for i in [a, b, c] {
        assert!(
            r.sent(i).is_empty(),
            "slow-protocol frame reached another port"
        );
    }
}

#[test]
fn malformed_and_oversize_frames_are_counted() {
    let (mut r, a, b, _) = how_to();
    r.send(a, &[vec![], vec![1, 2, 3], vec![0; 13]]);
    assert_eq!(r.counter(a, Counter::RxMalformed), 3);
    let mut big = udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2);
    big.resize(1519, 0);
    r.send(a, &[big]);
    assert_eq!(r.counter(a, Counter::RxOversize), 1);
    assert!(r.sent(b).is_empty());
}

#[test]
fn frames_whose_declared_lengths_lie_are_dropped() {
    let (mut r, a, b, _) = how_to();
    let good = udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2);
    // IPv4 starts at 14: total length, then IHL.
    let mut total = good.clone();
    total[16..18].copy_from_slice(&1500u16.to_be_bytes());
    let mut ihl = good.clone();
    ihl[14] = 0x4f;
    let mut short_ihl = good.clone();
    short_ihl[14] = 0x42;
    let mut no_ip = good[..14].to_vec();
    no_ip.resize(14, 0);
    let mut dot3 = good.clone();
    dot3[12..14].copy_from_slice(&1500u16.to_be_bytes());
    r.send(a, &[total, ihl, short_ihl, no_ip, dot3]);
    assert_eq!(r.counter(a, Counter::RxMalformed), 5);
    assert!(r.sent(b).is_empty());
    // Padding is not a lie.
    let mut padded = good;
    padded.extend_from_slice(&[0; 20]);
    r.send(a, &[padded]);
    assert_eq!(r.counter(a, Counter::RxMalformed), 5);
    assert_eq!(r.sent(b).len(), 1);
}

#[test]
fn tx_full_frees_and_counts() {
    let (mut r, a, b, _) = how_to();
    r.io.tx[b as usize].set_room(Some(5));
    let frames: Vec<_> = (0..20)
        .map(|i| udp_frame(MacAddr::BROADCAST, mac(1), None, i, 2))
        .collect();
    r.send(a, &frames);
    assert_eq!(r.sent(b).len(), 5);
    assert_eq!(r.counter(b, Counter::TxFull), 15);
    assert_eq!(r.counter(b, Counter::TxPackets), 5);
}

#[test]
fn link_down_port_is_not_flooded_and_unicast_to_it_is_counted() {
    let (mut r, a, b, _) = how_to();
    r.send(b, &[udp_frame(MacAddr::BROADCAST, mac(2), Some(300), 1, 2)]);
    r.sent(a);
    r.edit_iface(b, |i| i.link_up = false);
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)]);
    assert_eq!(r.counter(a, Counter::RxNoOutput), 1);
    r.send(a, &[udp_frame(mac(2), mac(1), None, 1, 2)]);
    assert_eq!(r.counter(b, Counter::TxLinkDown), 1);
}

#[test]
fn admin_down_interface_receives_nothing() {
    let (mut r, a, b, _) = how_to();
    r.edit_iface(a, |i| i.admin_up = false);
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)]);
    assert_eq!(r.counter(a, Counter::RxAdminDown), 1);
    assert!(r.sent(b).is_empty());
}

#[test]
fn copy_failure_is_counted_and_the_last_port_still_gets_the_original() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (p1, b) = r.add_port("b", PortVlan::access(1));
    let (_, c) = r.add_port("c", PortVlan::access(1));
    let mut burst: crate::packet::Burst<_> = Default::default();
    let mut p =
        crate::mem::MemPacket::from_bytes(&udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2));
    p.set_copy_fails(true);
    burst.push(p);
    let now = r.now;
    r.pmd.process(&r.snap, a, &mut burst, now.into(), &mut r.io);
    r.pmd.flush(&r.snap, &mut r.io);
    assert_eq!(r.port_counter(p1, Counter::TxCopyFailed), 1);
    assert!(r.sent(b).is_empty());
    assert_eq!(r.sent(c).len(), 1);
}

#[test]
fn push_without_headroom_is_counted() {
    let (mut r, a, b, _) = how_to();
    let mut burst: crate::packet::Burst<_> = Default::default();
    burst.push(
        crate::mem::MemPacket::with_headroom(&udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2), 0)
            .unwrap(),
    );
    let now = r.now;
    r.pmd.process(&r.snap, a, &mut burst, now.into(), &mut r.io);
    r.pmd.flush(&r.snap, &mut r.io);
    assert_eq!(r.counter(b, Counter::TxNoHeadroom), 1);
}

// ---- bonds ----

#[test]
fn balance_tcp_spreads_flows_over_members_by_five_tuple() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(300));
    let (_, m) = r.add_bond(
        "bond0",
        trunk("11,300-304"),
        2,
        bond_view(BondMode::BalanceTcp, true, 2),
    );
    // Learn the remote MAC behind the bond.
    r.send(
        m[0],
        &[udp_frame(MacAddr::BROADCAST, mac(0xb), Some(300), 1, 1)],
    );
    r.sent(a);
    let frames: Vec<_> = (0..1000u16)
        .map(|i| {
            udp_frame_ip(
                mac(0xb),
                mac(0xa),
                None,
                [10, 0, (i >> 8) as u8, i as u8],
                [10, 1, 0, 1],
                1000 + i,
                80,
            )
        })
        .collect();
    r.send(a, &frames);
    let (s0, s1) = (r.sent(m[0]), r.sent(m[1]));
    assert_eq!(s0.len() + s1.len(), 1000);
    assert!(
        s0.len() > 300 && s1.len() > 300,
        "uneven spread {} / {}",
        s0.len(),
        s1.len()
    );
    assert!(s0.iter().chain(&s1).all(|f| vid_of(f) == Some(300)));
    // The same flow always takes the same member.
    r.send(a, &frames[..1]);
    r.send(a, &frames[..1]);
    let (t0, t1) = (r.sent(m[0]).len(), r.sent(m[1]).len());
    assert!((t0, t1) == (2, 0) || (t0, t1) == (0, 2));
}

#[test]
fn bond_member_failover_moves_traffic_at_once() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let cfg = BondConfig {
        mode: BondMode::BalanceSlb,
        detect: DetectMode::Carrier,
        ..BondConfig::default()
    };
    let now = r.now;
    let mut bond = Bond::new(cfg, &[0, 1], now);
    let _ = bond.set_carrier(0, true, now);
    let _ = bond.set_carrier(1, true, now);
    let (p, m) = r.add_bond("bond0", trunk(""), 2, bond.view());
    let frames: Vec<_> = (0..64u16)
        .map(|i| udp_frame(mac(0xb), mac(100 + i), None, 1, 2))
        .collect();
    r.send(a, &frames);
    assert!(!r.sent(m[0]).is_empty() && !r.sent(m[1]).is_empty());
    let _ = bond.set_carrier(1, false, now);
    r.set_bond_view(p, bond.view());
    r.send(a, &frames);
    assert_eq!(r.sent(m[0]).len(), 64);
    assert!(r.sent(m[1]).is_empty());
}

#[test]
fn bond_without_members_counts_no_member() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (p, _) = r.add_bond(
        "bond0",
        trunk(""),
        2,
        BondView::down(BondMode::BalanceTcp, &[0, 1], 0),
    );
    r.send(a, &[udp_frame(mac(0xb), mac(1), None, 1, 2)]);
    assert_eq!(
        r.counter(a, Counter::RxNoOutput),
        1,
        "a down bond is not a flood target"
    );
    // Unicast to a MAC learned on the bond earlier, then the bond went down.
    r.mac().add_static(1, mac(0xb), p).unwrap();
    r.send(a, &[udp_frame(mac(0xb), mac(1), None, 1, 2)]);
    assert_eq!(r.port_counter(p, Counter::TxNoMember), 1);
}

#[test]
fn active_backup_drops_frames_on_the_backup_member() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (_, m) = r.add_bond(
        "bond0",
        PortVlan::access(1),
        2,
        bond_view(BondMode::ActiveBackup, false, 2),
    );
    let view = match &r.snap.bridges[0].ports[1].kind {
        crate::pipeline::PortKind::Bond(b) => b.view.clone(),
        _ => unreachable!(),
    };
    let active = view.active.unwrap() as usize;
    let backup = 1 - active;
    r.send(
        m[backup],
        &[udp_frame(MacAddr::BROADCAST, mac(5), None, 1, 2)],
    );
    assert_eq!(r.counter(m[backup], Counter::RxMemberDisabled), 1);
    assert!(r.sent(a).is_empty());
    r.send(
        m[active],
        &[udp_frame(MacAddr::BROADCAST, mac(5), None, 1, 2)],
    );
    assert_eq!(r.sent(a).len(), 1);
    // Output uses the active member only.
    r.send(a, &[udp_frame(mac(5), mac(6), None, 1, 2)]);
    assert_eq!(r.sent(m[active]).len(), 1);
    assert!(r.sent(m[backup]).is_empty());
}

#[test]
fn balance_slb_loop_prevention() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (_, m) = r.add_bond(
        "bond0",
        PortVlan::access(1),
        2,
        bond_view(BondMode::BalanceSlb, false, 2),
    );
    let view = match &r.snap.bridges[0].ports[1].kind {
        crate::pipeline::PortKind::Bond(b) => b.view.clone(),
        _ => unreachable!(),
    };
    let active = view.active.unwrap() as usize;
    let other = 1 - active;
    // Broadcast on the non-active member is dropped.
    r.send(
        m[other],
        &[udp_frame(MacAddr::BROADCAST, mac(5), None, 1, 2)],
    );
    assert_eq!(r.counter(m[other], Counter::RxBondLoop), 1);
    // A learns mac(1); the physical switch reflects A's broadcast back on the bond.
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)]);
    r.sent(m[0]);
    r.sent(m[1]);
    r.send(
        m[active],
        &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)],
    );
    assert_eq!(r.counter(m[active], Counter::RxBondLoop), 1);
    assert!(r.sent(a).is_empty(), "reflected frame reached its origin");
    assert_eq!(
        r.mac().lookup(1, mac(1)),
        Some(0),
        "reflection moved the entry"
    );
    // Unicast from a new station on the non-active member is fine.
    r.send(m[other], &[udp_frame(mac(1), mac(9), None, 1, 2)]);
    assert_eq!(r.sent(a).len(), 1);
}

#[test]
fn eviction_keeps_established_entries_under_a_mac_flood() {
    let mut r = Rig::new(MacTable::new(1000, 300));
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (_, b) = r.add_port("b", PortVlan::access(1));
    let (_, c) = r.add_port("c", PortVlan::access(1));
    r.send(a, &[udp_frame(mac(2), mac(1), None, 1, 2)]);
    r.send(b, &[udp_frame(mac(1), mac(2), None, 1, 2)]);
    let flood: Vec<_> = (0..20_000u32)
        .map(|i| {
            udp_frame(
                MacAddr::BROADCAST,
                MacAddr::from_u64(0x0200_0000_0000 | u64::from(i)),
                None,
                1,
                2,
            )
        })
        .collect();
    r.send(c, &flood);
    assert!(r.mac().len() <= 1000);
    assert_eq!(r.mac().lookup(1, mac(1)), Some(0));
    assert_eq!(r.mac().lookup(1, mac(2)), Some(1));
    for i in [a, b, c] {
        r.sent(i);
    }
    // The conversation is still unicast: C sees none of it.
    r.send(a, &[udp_frame(mac(2), mac(1), None, 1, 2)]);
    assert_eq!(r.sent(b).len(), 1);
    assert!(r.sent(c).is_empty());
}

#[test]
fn balance_tcp_uses_the_nic_rss_hash_when_the_frame_carries_one() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(300));
    let (_, m) = r.add_bond(
        "bond0",
        trunk("300"),
        2,
        bond_view(BondMode::BalanceTcp, true, 2),
    );
    r.mac().add_static(300, mac(0xb), 1).unwrap();
    // The same 5-tuple with different RSS hashes spreads over both members;
    // without the RSS hash it would always take one.
    let frame = udp_frame(mac(0xb), mac(0xa), None, 1, 2);
    let now = r.now;
    for h in 0..64u32 {
        let mut p = crate::mem::MemPacket::from_bytes(&frame);
        p.set_rss_hash(Some(h.wrapping_mul(0x9e37_79b9)));
        let mut burst: crate::packet::Burst<_> = Default::default();
        burst.push(p);
        r.pmd.process(&r.snap, a, &mut burst, now.into(), &mut r.io);
        r.pmd.flush(&r.snap, &mut r.io);
    }
    let (n0, n1) = (r.sent(m[0]).len(), r.sent(m[1]).len());
    assert_eq!(n0 + n1, 64);
    assert!(n0 > 8 && n1 > 8, "RSS hash ignored: {n0} / {n1}");
}

#[test]
fn many_sources_to_one_known_destination_learn_every_source() {
    // A burst of 32 stations behind A talking to B (known): one lookup of
    // B serves the burst, and every source is still learned (and moves).
    let (mut r, a, b, c) = how_to();
    let mb = mac(0xb);
    r.mac().add_static(300, mb, 1).unwrap();
    let frames: Vec<_> = (0..32u16)
        .map(|i| udp_frame(mb, mac(0x100 + i), None, 1, 2))
        .collect();
    r.send(a, &frames);
    assert_eq!(r.sent(b).len(), 32);
    assert!(r.sent(c).is_empty());
    for i in 0..32u16 {
        assert_eq!(r.mac().lookup(300, mac(0x100 + i)), Some(0), "station {i}");
    }
    // The same stations now behind B: they move.
    let back: Vec<_> = (0..32u16)
        .map(|i| udp_frame(mac(0xa), mac(0x100 + i), Some(300), 1, 2))
        .collect();
    r.send(b, &back);
    for i in 0..32u16 {
        assert_eq!(
            r.mac().lookup(300, mac(0x100 + i)),
            Some(1),
            "station {i} moved"
        );
    }
}

/// Frames that repeat the first 18 bytes of the one before them take the
/// short path (`Pmd::repeat_run`); they still get their own size and
/// declared-length checks.
#[test]
fn repeated_headers_still_get_per_frame_length_checks() {
    let (mut r, a, b, _) = how_to();
    let (ma, mb) = (mac(0xa), mac(0xb));
    r.send(a, &[udp_frame(mb, ma, None, 1, 2)]);
    r.sent(b);
    // Tagged frames: the 18 bytes are addresses, tag and inner ethertype;
    // the IPv4 total length (bytes 20-21) is past them.
    let good = udp_frame(ma, mb, Some(300), 2, 1);
    let mut lie = good.clone();
    lie[20..22].copy_from_slice(&1500u16.to_be_bytes());
    let mut big = good.clone();
    big.resize(2000, 0);
    let burst = [
        good.clone(),
        good.clone(),
        lie,
        good.clone(),
        big,
        good.clone(),
    ];
    r.send(b, &burst);
    let untagged = udp_frame(ma, mb, None, 2, 1);
    assert_eq!(r.sent(a), vec![untagged; 4]);
    assert_eq!(r.counter(b, Counter::RxMalformed), 1);
    assert_eq!(r.counter(b, Counter::RxOversize), 1);
    assert_eq!(r.counter(b, Counter::RxPackets), 6);
    assert_eq!(r.counter(a, Counter::TxPackets), 4);
}

/// A run of frames with the same header ends at the first that differs,
/// which is switched on its own: here a frame to another station between
/// two runs, and a frame in another VLAN.
#[test]
fn repeated_headers_end_at_the_first_different_frame() {
    let (mut r, a, b, c) = how_to();
    let (ma, mb, mc) = (mac(0xa), mac(0xb), mac(0xc));
    r.send(a, &[udp_frame(mb, ma, None, 1, 2)]);
    r.send(c, &[udp_frame(mb, mc, None, 1, 2)]);
    r.sent(b);
    let to_a = udp_frame(ma, mb, Some(300), 2, 1);
    let to_c = udp_frame(mc, mb, Some(301), 2, 1);
    r.send(
        b,
        &[
            to_a.clone(),
            to_a.clone(),
            to_c.clone(),
            to_a.clone(),
            to_c.clone(),
            to_c,
        ],
    );
    assert_eq!(r.sent(a), vec![udp_frame(ma, mb, None, 2, 1); 3]);
    assert_eq!(r.sent(c), vec![udp_frame(mc, mb, None, 2, 1); 3]);
    assert_eq!(r.drops(b), 0);
}

/// Three access ports of VLAN 300, each station learned: frames leave as
/// they came, so a run of repeated headers goes straight onto the queue
/// (`Pmd::plain_run`).
fn access_trio() -> (Rig, u16, u16, u16) {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(300));
    let (_, b) = r.add_port("b", PortVlan::access(300));
    let (_, c) = r.add_port("c", PortVlan::access(300));
    let (ma, mb, mc) = (mac(0xa), mac(0xb), mac(0xc));
    r.send(a, &[udp_frame(mb, ma, None, 1, 2)]);
    r.send(b, &[udp_frame(ma, mb, None, 2, 1)]);
    r.send(c, &[udp_frame(ma, mc, None, 2, 1)]);
    for i in [a, b, c] {
        r.sent(i);
    }
    (r, a, b, c)
}

/// A run that needs no VLAN edit still checks each frame's size and
/// declared lengths, ends at the first frame with another header, counts
/// exactly the bytes it sends, and keeps the frames in order.
#[test]
fn plain_runs_check_every_frame_and_keep_order() {
    let (mut r, a, b, c) = access_trio();
    let (ma, mb, mc) = (mac(0xa), mac(0xb), mac(0xc));
    let good = |port| udp_frame(mb, ma, None, port, 80);
    let mut big = good(3);
    big.resize(2000, 0);
    // Untagged, the IPv4 total length is among the 18 bytes a run
    // compares: a frame cut short keeps it and claims more than it has.
    let mut short = good(5);
    short.truncate(40);
    let to_c = udp_frame(mc, ma, None, 7, 80);
    // Each odd one out is the first frame after a run's start.
    let burst = [
        good(1),
        good(2),
        big,
        good(4),
        short,
        good(6),
        to_c.clone(),
        good(8),
        good(9),
    ];
    let (rx_bytes, b_tx) = (
        r.counter(a, Counter::RxBytes),
        r.counter(b, Counter::TxPackets),
    );
    r.send(a, &burst);
    let want = vec![good(1), good(2), good(4), good(6), good(8), good(9)];
    assert_eq!(r.sent(b), want);
    assert_eq!(r.sent(c), vec![to_c]);
    assert_eq!(r.counter(a, Counter::RxMalformed), 1);
    assert_eq!(r.counter(a, Counter::RxOversize), 1);
    assert_eq!(r.counter(b, Counter::TxPackets) - b_tx, 6);
    assert_eq!(r.counter(b, Counter::TxBytes), 60 * (b_tx + 6));
    assert_eq!(
        r.counter(a, Counter::RxBytes) - rx_bytes,
        60 * 7 + 40 + 2000
    );
}

/// A run that finds its interface's queue full (two bursts before one
/// flush, as a PMD polling several queues may do: 20 frames queued, then a
/// run of 32 fills the queue after 12) sends the full batch and goes on
/// queuing; nothing is lost or reordered. Trunk to trunk, in the frames'
/// own VLAN: no edit either.
#[test]
fn plain_run_sends_a_full_queue_and_goes_on() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", trunk("300"));
    let (_, b) = r.add_port("b", trunk("300"));
    let (ma, mb) = (mac(0xa), mac(0xb));
    r.send(a, &[udp_frame(mb, ma, Some(300), 1, 2)]);
    r.send(b, &[udp_frame(ma, mb, Some(300), 2, 1)]);
    r.sent(a);
    r.sent(b);
    let frames: Vec<Vec<u8>> = (0..52)
        .map(|i| udp_frame(mb, ma, Some(300), 100 + i, 80))
        .collect();
    let batches = r.pmd.counters()[PmdCounter::TxBatches];
    for chunk in [&frames[..20], &frames[20..]] {
        let mut burst: Burst<MemPacket> = chunk.iter().map(|f| MemPacket::from_bytes(f)).collect();
        r.pmd
            .process(&r.snap, a, &mut burst, r.now.into(), &mut r.io);
    }
    r.pmd.flush(&r.snap, &mut r.io);
    assert_eq!(r.sent(b), frames);
    assert_eq!(r.pmd.counters()[PmdCounter::TxBatches] - batches, 2);
    assert_eq!(r.counter(b, Counter::TxPackets), 1 + 52);
    assert_eq!(r.counter(b, Counter::TxBytes), 64 * 53);
    assert_eq!(r.drops(a) + r.drops(b), 0);
}

/// balance-slb admission reads the ARP payload (a gratuitous ARP may move
/// a station to the bond), so a frame that repeats a gratuitous ARP's
/// header but is not one gets the loop check again.
#[test]
fn balance_slb_checks_every_arp_even_with_a_repeated_header() {
    use crate::wire::arp::ArpPacket;
    use crate::wire::ethernet::ETHERTYPE_ARP;
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (_, m) = r.add_bond(
        "bond0",
        PortVlan::access(1),
        2,
        bond_view(BondMode::BalanceSlb, false, 2),
    );
    let active = match &r.snap.bridges[0].ports[1].kind {
        crate::pipeline::PortKind::Bond(b) => b.view.active.unwrap() as usize,
        _ => unreachable!(),
    };
    // mac(1) and mac(3) are stations on A.
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(1), None, 1, 2)]);
    r.send(a, &[udp_frame(MacAddr::BROADCAST, mac(3), None, 1, 2)]);
    r.sent(m[0]);
    r.sent(m[1]);
    let arp = |spa: [u8; 4], tpa: [u8; 4]| {
        let mut f = raw_frame(mac(3), mac(1), ETHERTYPE_ARP);
        // Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4.
        f[14..20].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
        let mut p = ArpPacket::new_checked(&mut f[14..]).unwrap();
        p.set_operation(1);
        p.set_sender_hw_addr(mac(1));
        p.set_sender_proto_addr(spa);
        p.set_target_proto_addr(tpa);
        f
    };
    let gratuitous = arp([10, 0, 0, 1], [10, 0, 0, 1]);
    let request = arp([10, 0, 0, 1], [10, 0, 0, 3]);
    assert_eq!(gratuitous[..18], request[..18]);
    // The gratuitous ARP is admitted (and moves mac(1) to the bond); the
    // request behind it, from a source still learned on A, is a loop.
    r.send(m[active], &[gratuitous.clone(), request]);
    assert_eq!(r.sent(a), vec![gratuitous]);
    assert_eq!(r.counter(m[active], Counter::RxBondLoop), 1);
}

/// A run through a balance-slb bond goes to one member; the bytes it sent
/// (not those of a frame dropped inside the run) count towards the
/// member's bucket, which rebalancing reads.
#[test]
fn balance_slb_run_counts_its_bytes_in_the_bucket_loads() {
    let mut r = Rig::default();
    // Trunks, so that the IPv4 total length (bytes 20-21 after the tag)
    // lies past the 18 bytes a run compares.
    let (_, a) = r.add_port("a", trunk("1"));
    let (_, m) = r.add_bond(
        "bond0",
        trunk("1"),
        2,
        bond_view(BondMode::BalanceSlb, false, 2),
    );
    let loads = match &r.snap.bridges[0].ports[1].kind {
        crate::pipeline::PortKind::Bond(b) => b.loads.clone(),
        _ => unreachable!(),
    };
    // mac(2) is behind the bond; mac(1) on A sends it a run of 10 frames,
    // one of them with a lying IPv4 total length.
    r.send(
        m[0],
        &[udp_frame(MacAddr::BROADCAST, mac(2), Some(1), 1, 2)],
    );
    r.sent(a);
    assert_eq!(loads.totals().iter().sum::<u64>(), 0);
    let good = udp_frame(mac(2), mac(1), Some(1), 1, 2);
    let mut lie = good.clone();
    lie[20..22].copy_from_slice(&1500u16.to_be_bytes());
    let mut burst = vec![good.clone(); 9];
    burst.insert(5, lie);
    r.send(a, &burst);
    let got = r.sent(m[0]).len() + r.sent(m[1]).len();
    assert_eq!(got, 9);
    assert_eq!(r.counter(a, Counter::RxMalformed), 1);
    // All of it in one bucket: balance-slb hashes source MAC and VLAN.
    let used: Vec<u64> = loads.totals().iter().copied().filter(|&v| v > 0).collect();
    assert_eq!(used, vec![9 * good.len() as u64]);
}
