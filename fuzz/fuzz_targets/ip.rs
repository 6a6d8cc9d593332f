//! The IPv4/IPv6/L4 views and `FiveTuple::extract` on arbitrary bytes, both
//! as a bare L3 packet and behind a parsed Ethernet header.
#![no_main]

use datapath::wire::ethernet::{parse_l2, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use datapath::wire::ip::{has_ports, FiveTuple, Ipv4Packet, Ipv6Packet, L4Ports};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Ipv4Packet::new_checked(data) {
        Ok(p) => {
            let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.dont_frag());
            let _ = (
                p.more_frags(),
                p.is_fragment(),
                p.ttl(),
                p.header_checksum(),
            );
            let _ = (p.verify_checksum(), p.options());
            assert!(p.header_len() >= 20 && p.header_len() <= p.total_len());
            assert!(p.total_len() <= data.len());
            let t = FiveTuple::extract(data, 0, ETHERTYPE_IPV4).unwrap();
            assert_eq!(t.proto, p.protocol());
            assert_eq!(t.src, u128::from(u32::from_be_bytes(p.src_addr())));
            assert_eq!(t.dst, u128::from(u32::from_be_bytes(p.dst_addr())));
            let l4 = L4Ports::new_checked(p.payload());
            if p.frag_offset() == 0 && has_ports(p.protocol()) {
                if let Ok(l4) = l4 {
                    assert_eq!((t.sport, t.dport), (l4.src_port(), l4.dst_port()));
                }
            } else {
                assert_eq!((t.sport, t.dport), (0, 0));
            }
        }
        Err(_) => assert_eq!(FiveTuple::extract(data, 0, ETHERTYPE_IPV4), None),
    }
    match Ipv6Packet::new_checked(data) {
        Ok(p) => {
            let _ = (
                p.version(),
                p.traffic_class(),
                p.flow_label(),
                p.hop_limit(),
            );
            assert_eq!(p.payload().len(), p.payload_len());
            let t = FiveTuple::extract(data, 0, ETHERTYPE_IPV6).unwrap();
            assert_eq!(t.src, u128::from_be_bytes(p.src_addr()));
            assert_eq!(t.dst, u128::from_be_bytes(p.dst_addr()));
            if !has_ports(t.proto) {
                assert_eq!((t.sport, t.dport), (0, 0));
            }
        }
        Err(_) => assert_eq!(FiveTuple::extract(data, 0, ETHERTYPE_IPV6), None),
    }
    if let Ok(info) = parse_l2(data) {
        let _ = FiveTuple::extract(data, info.payload_offset, info.ethertype);
    }
    for off in [1, 14, 18, 22, data.len(), usize::MAX] {
        let _ = FiveTuple::extract(data, off, ETHERTYPE_IPV4);
        let _ = FiveTuple::extract(data, off, ETHERTYPE_IPV6);
    }
});
