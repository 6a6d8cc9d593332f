//! Property tests for the wire parsers and VLAN edits: no input makes a
//! parser panic, and the edits are exact inverses of each other.

use datapath::mem::MemPacket;
use datapath::packet::Packet;
use datapath::wire::arp::ArpPacket;
use datapath::wire::ethernet::{
    parse_l2, EthernetFrame, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ,
    ETHERTYPE_SLOW, ETHERTYPE_VLAN,
};
use datapath::wire::ip::{FiveTuple, Ipv4Packet, Ipv6Packet, L4Ports};
use datapath::wire::slow;
use datapath::wire::vlan_tag::{outer_tag, pop_vlan, push_vlan, set_vid, VlanTag};
use proptest::prelude::*;

/// Run every parser this crate's `wire` module owns over `b`, touching
/// every accessor, and check the invariants that must hold when one accepts.
fn exercise(b: &[u8]) {
    if let Ok(i) = parse_l2(b) {
        assert!(i.payload_offset == 14 || i.payload_offset == 18);
        assert!(i.payload_offset <= b.len());
        assert_eq!(i.tag.is_some(), i.payload_offset == 18);
        assert_eq!(i.tag, outer_tag(b));
        let _ = FiveTuple::extract(b, i.payload_offset, i.ethertype);
        let _ = slow::is_slow_protocols(&i);
    } else {
        assert!(b.len() < 18);
    }
    if let Ok(f) = EthernetFrame::new_checked(b) {
        let _ = (f.dst(), f.src(), f.ethertype());
        assert_eq!(f.payload().len(), b.len() - 14);
    }
    for off in [0, 14, 18, 22] {
        for et in [ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP] {
            let _ = FiveTuple::extract(b, off, et);
        }
    }
    if let Ok(p) = Ipv4Packet::new_checked(b) {
        let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.dont_frag());
        let _ = (p.more_frags(), p.frag_offset(), p.is_fragment(), p.ttl());
        let _ = (p.protocol(), p.header_checksum(), p.verify_checksum());
        let _ = (p.src_addr(), p.dst_addr(), p.options());
        assert!(p.header_len() >= 20 && p.header_len() <= p.total_len());
        assert_eq!(p.payload().len(), p.total_len() - p.header_len());
        let t = FiveTuple::extract(b, 0, ETHERTYPE_IPV4).expect("valid IPv4 has a tuple");
        assert_eq!(t.proto, p.protocol());
    } else {
        assert_eq!(FiveTuple::extract(b, 0, ETHERTYPE_IPV4), None);
    }
    if let Ok(p) = Ipv6Packet::new_checked(b) {
        let _ = (
            p.version(),
            p.traffic_class(),
            p.flow_label(),
            p.hop_limit(),
        );
        let _ = (p.next_header(), p.src_addr(), p.dst_addr());
        assert_eq!(p.payload().len(), p.payload_len());
        assert!(FiveTuple::extract(b, 0, ETHERTYPE_IPV6).is_some());
    } else {
        assert_eq!(FiveTuple::extract(b, 0, ETHERTYPE_IPV6), None);
    }
    if let Ok(p) = L4Ports::new_checked(b) {
        let _ = (p.src_port(), p.dst_port());
    }
    for off in [0, 14, 18] {
        if let Ok(a) = ArpPacket::new_checked(b.get(off..).unwrap_or_default()) {
            let _ = (a.hardware_type(), a.protocol_type(), a.hardware_len());
            let _ = (a.protocol_len(), a.operation(), a.sender_hw_addr());
            let _ = (
                a.sender_proto_addr(),
                a.target_hw_addr(),
                a.target_proto_addr(),
            );
            let _ = a.is_gratuitous();
        }
    }
    let kind = slow::classify(b);
    assert_eq!(
        kind.is_some(),
        b.len() >= 14 && b[12..14] == ETHERTYPE_SLOW.to_be_bytes()
    );
    let mut copy = b.to_vec();
    let tagged = outer_tag(b);
    assert_eq!(set_vid(&mut copy, 7), tagged.is_some());
    if let Some(t) = tagged {
        let n = outer_tag(&copy).unwrap();
        assert_eq!((n.tpid, n.pcp, n.dei, n.vid), (t.tpid, t.pcp, t.dei, 7));
    } else {
        assert_eq!(copy, b);
    }
}

fn ipv4_frame(proto: u8, opt_words: usize, frag: u16, l4: &[u8], src: u32, dst: u32) -> Vec<u8> {
    let hlen = 20 + 4 * opt_words;
    let mut p = vec![0x40 | (hlen / 4) as u8, 0];
    p.extend_from_slice(&((hlen + l4.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src.to_be_bytes());
    p.extend_from_slice(&dst.to_be_bytes());
    p.resize(hlen, 1);
    p.extend_from_slice(l4);
    eth(ETHERTYPE_IPV4, &p)
}

fn ipv6_frame(exts: &[(u8, u8)], proto: u8, l4: &[u8]) -> Vec<u8> {
    // exts: (header type, length units); chained in order, then `proto`.
    let mut payload = Vec::new();
    for (i, &(_, units)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(proto, |e| e.0);
        let mut e = vec![next, units];
        e.resize(8 * (usize::from(units) + 1), 0);
        payload.extend(e);
    }
    payload.extend_from_slice(l4);
    let first = exts.first().map_or(proto, |e| e.0);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[first, 64]);
    p.extend_from_slice(&[0x20; 16]);
    p.extend_from_slice(&[0x30; 16]);
    p.extend(payload);
    eth(ETHERTYPE_IPV6, &p)
}

fn arp_frame(op: u16) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&[0x52, 0x54, 0, 0, 0, 1, 10, 0, 0, 1]);
    a.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    eth(ETHERTYPE_ARP, &a)
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Valid frames of every kind the parsers know, optionally VLAN-tagged.
fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    let l4 = prop::collection::vec(any::<u8>(), 0..40);
    let ext = (prop::sample::select(vec![0u8, 43, 44, 60]), 0u8..3);
    let base = prop_oneof![
        (
            prop::sample::select(vec![1u8, 6, 17, 132, 47]),
            0usize..11,
            any::<u16>(),
            l4.clone(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(p, o, f, l4, s, d)| ipv4_frame(p, o, f, &l4, s, d)),
        (
            prop::collection::vec(ext, 0..10),
            prop::sample::select(vec![6u8, 17, 58, 59, 132]),
            l4
        )
            .prop_map(|(e, p, l4)| ipv6_frame(&e, p, &l4)),
        (1u16..3).prop_map(arp_frame),
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|p| {
            let mut f = eth(ETHERTYPE_SLOW, &p);
            f[..6].copy_from_slice(&[1, 0x80, 0xc2, 0, 0, 2]);
            f
        }),
    ];
    let tags = prop::collection::vec(
        (
            prop::sample::select(vec![ETHERTYPE_VLAN, ETHERTYPE_QINQ]),
            any::<u16>(),
        ),
        0..3,
    );
    (base, tags).prop_map(|(mut f, tags)| {
        for (tpid, tci) in tags {
            let t = VlanTag::from_tci(tpid, tci).to_bytes();
            f.splice(12..12, t);
        }
        f
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Mutation::Append),
    ]
}

fn mutate(f: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Set(i, v) if !f.is_empty() => {
            let n = f.len();
            f[i % n] = *v;
        }
        Mutation::Set(..) => {}
        Mutation::Truncate(n) => f.truncate(n % (f.len() + 1)),
        Mutation::Append(b) => f.extend_from_slice(b),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..200)) {
        exercise(&b);
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        et in prop::sample::select(vec![
            ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP, ETHERTYPE_SLOW,
            ETHERTYPE_VLAN, ETHERTYPE_QINQ,
        ]),
        first in prop::sample::select(vec![0x45u8, 0x4f, 0x60, 0x00, 0x01]),
        rest in prop::collection::vec(any::<u8>(), 0..186),
    ) {
        let mut p = vec![first];
        p.extend(rest);
        exercise(&eth(et, &p));
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        f in valid_frame(),
        ms in prop::collection::vec(mutation(), 0..6),
    ) {
        exercise(&f);
        let mut m = f;
        for x in &ms {
            mutate(&mut m, x);
            exercise(&m);
        }
    }

    #[test]
    fn valid_frames_parse(f in valid_frame()) {
        let i = parse_l2(&f).unwrap();
        let inner = u16::from_be_bytes([f[i.payload_offset - 2], f[i.payload_offset - 1]]);
        prop_assert_eq!(i.ethertype, inner);
        if i.ethertype == ETHERTYPE_IPV4 || i.ethertype == ETHERTYPE_IPV6 {
            prop_assert!(FiveTuple::extract(&f, i.payload_offset, i.ethertype).is_some());
        }
        if i.ethertype == ETHERTYPE_ARP {
            prop_assert!(ArpPacket::new_checked(&f[i.payload_offset..]).is_ok());
        }
        prop_assert_eq!(slow::classify(&f).is_some(), slow::is_slow_protocols(&i));
    }

    #[test]
    fn ipv4_tuple_round_trips(
        proto in prop::sample::select(vec![6u8, 17, 132]),
        opts in 0usize..11,
        src in any::<u32>(), dst in any::<u32>(),
        sport in any::<u16>(), dport in any::<u16>(),
        more in prop::collection::vec(any::<u8>(), 0..20),
        later_frag in any::<bool>(),
    ) {
        let mut l4 = [sport.to_be_bytes(), dport.to_be_bytes()].concat();
        l4.extend(more);
        let frag = if later_frag { 0x2010 } else { 0x4000 };
        let f = ipv4_frame(proto, opts, frag, &l4, src, dst);
        let t = FiveTuple::extract(&f, 14, ETHERTYPE_IPV4).unwrap();
        let (sp, dp) = if later_frag { (0, 0) } else { (sport, dport) };
        prop_assert_eq!(t, FiveTuple {
            src: u128::from(src), dst: u128::from(dst), proto, sport: sp, dport: dp,
        });
    }

    #[test]
    fn ipv6_tuple_skips_extension_headers(
        exts in prop::collection::vec(
            (prop::sample::select(vec![0u8, 43, 60]), 0u8..4), 0..8),
        proto in prop::sample::select(vec![6u8, 17, 132]),
        sport in any::<u16>(), dport in any::<u16>(),
    ) {
        let l4 = [sport.to_be_bytes(), dport.to_be_bytes()].concat();
        let f = ipv6_frame(&exts, proto, &l4);
        let t = FiveTuple::extract(&f, 14, ETHERTYPE_IPV6).unwrap();
        prop_assert_eq!((t.proto, t.sport, t.dport), (proto, sport, dport));
        prop_assert_eq!(t.src, u128::from_be_bytes([0x20; 16]));
        prop_assert_eq!(t.dst, u128::from_be_bytes([0x30; 16]));
    }

    #[test]
    fn push_then_pop_restores(
        b in prop::collection::vec(any::<u8>(), 12..200),
        tpid in prop::sample::select(vec![ETHERTYPE_VLAN, ETHERTYPE_QINQ]),
        tci in any::<u16>(),
    ) {
        let mut p = MemPacket::from_bytes(&b);
        let headroom = p.headroom();
        prop_assert!(push_vlan(&mut p, tpid, tci));
        prop_assert_eq!(p.data().len(), b.len() + 4);
        prop_assert_eq!(&p.data()[..12], &b[..12]);
        prop_assert_eq!(&p.data()[16..], &b[12..]);
        prop_assert_eq!(outer_tag(p.data()), Some(VlanTag::from_tci(tpid, tci)));
        if b.len() >= 14 {
            let i = parse_l2(p.data()).unwrap();
            prop_assert_eq!(i.ethertype, u16::from_be_bytes([b[12], b[13]]));
            prop_assert_eq!(i.tag.map(|t| t.tci()), Some(tci));
        }
        prop_assert!(pop_vlan(&mut p));
        prop_assert_eq!(p.data(), &b[..]);
        prop_assert_eq!(p.headroom(), headroom);
    }

    #[test]
    fn push_without_room_changes_nothing(
        b in prop::collection::vec(any::<u8>(), 0..200),
        headroom in 0usize..8,
        tci in any::<u16>(),
    ) {
        let mut p = MemPacket::with_headroom(&b, headroom).unwrap();
        let ok = push_vlan(&mut p, ETHERTYPE_VLAN, tci);
        prop_assert_eq!(ok, headroom >= 4 && b.len() >= 12);
        if !ok {
            prop_assert_eq!(p.data(), &b[..]);
            prop_assert_eq!(p.headroom(), headroom);
        }
    }

    #[test]
    fn pop_on_untagged_is_a_no_op(
        mut b in prop::collection::vec(any::<u8>(), 0..200),
        et in any::<u16>(),
    ) {
        prop_assume!(et != ETHERTYPE_VLAN && et != ETHERTYPE_QINQ);
        if b.len() >= 14 {
            b[12..14].copy_from_slice(&et.to_be_bytes());
        }
        let mut p = MemPacket::from_bytes(&b);
        prop_assert!(!pop_vlan(&mut p));
        prop_assert_eq!(p.data(), &b[..]);
        let mut c = b.clone();
        prop_assert!(!set_vid(&mut c, 1));
        prop_assert_eq!(c, b);
    }

    #[test]
    fn set_vid_then_parse(f in valid_frame(), vid in 0u16..4096, tpid in
        prop::sample::select(vec![ETHERTYPE_VLAN, ETHERTYPE_QINQ]), tci in any::<u16>()) {
        let mut p = MemPacket::from_bytes(&f);
        prop_assert!(push_vlan(&mut p, tpid, tci));
        prop_assert!(set_vid(p.data_mut(), vid));
        let t = parse_l2(p.data()).unwrap().tag.unwrap();
        prop_assert_eq!(t.vid, vid);
        prop_assert_eq!(t.tci() & 0xf000, tci & 0xf000);
        prop_assert_eq!(t.tpid, tpid);
    }
}
