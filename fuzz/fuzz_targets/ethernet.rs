//! `parse_l2`, `EthernetFrame` and the Slow Protocols dispatch on arbitrary
//! bytes: no panic, and the three agree with each other.
#![no_main]

use datapath::wire::ethernet::{parse_l2, EthernetFrame, ETHERTYPE_SLOW};
use datapath::wire::slow::{classify, is_slow_protocols};
use datapath::wire::vlan_tag::{is_vlan_tpid, outer_tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frame = EthernetFrame::new_checked(data);
    match parse_l2(data) {
        Ok(info) => {
            let f = frame.expect("parse_l2 accepted a frame EthernetFrame refuses");
            assert_eq!(info.dst, f.dst());
            assert_eq!(info.src, f.src());
            assert_eq!(info.tag, outer_tag(data));
            if let Some(tag) = info.tag {
                assert_eq!(tag.tpid, f.ethertype());
                assert_eq!(info.payload_offset, 18);
                assert_eq!(info.ethertype, u16::from_be_bytes([data[16], data[17]]));
            } else {
                assert!(!is_vlan_tpid(f.ethertype()));
                assert_eq!(info.payload_offset, 14);
                assert_eq!(info.ethertype, f.ethertype());
            }
            assert!(info.payload_offset <= data.len());
            assert_eq!(is_slow_protocols(&info), classify(data).is_some());
        }
        Err(_) => {
            assert!(data.len() < 18);
            assert!(frame.is_err() || is_vlan_tpid(frame.unwrap().ethertype()));
        }
    }
    if let Ok(f) = EthernetFrame::new_checked(data) {
        assert_eq!(f.payload().len(), data.len() - 14);
        assert_eq!(classify(data).is_some(), f.ethertype() == ETHERTYPE_SLOW);
    } else {
        assert!(classify(data).is_none());
    }
});
