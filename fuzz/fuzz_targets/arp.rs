//! `ArpPacket` on arbitrary bytes, bare and behind an Ethernet header.
#![no_main]

use datapath::wire::arp::ArpPacket;
use datapath::wire::ethernet::parse_l2;
use libfuzzer_sys::fuzz_target;

fn read(b: &[u8]) {
    if let Ok(a) = ArpPacket::new_checked(b) {
        assert!(b.len() >= 28);
        assert_eq!((a.hardware_type(), a.protocol_type()), (1, 0x0800));
        assert_eq!((a.hardware_len(), a.protocol_len()), (6, 4));
        let _ = (a.operation(), a.sender_hw_addr(), a.sender_proto_addr());
        let _ = (a.target_hw_addr(), a.target_proto_addr(), a.is_gratuitous());
    }
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Ok(info) = parse_l2(data) {
        read(&data[info.payload_offset..]);
    }
});
