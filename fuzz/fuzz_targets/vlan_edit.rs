//! `push_vlan` / `pop_vlan` / `set_vid` on a `MemPacket`, checked against a
//! plain `Vec<u8>` model after every step.
//!
//! Input: byte 0 = headroom (mod 16), bytes 1..5 = four operations, each
//! followed by two TCI/VID bytes in bytes 5..13; the rest is the frame.
#![no_main]

use datapath::mem::{MemPacket, MEM_MAX_FRAME};
use datapath::packet::Packet;
use datapath::wire::ethernet::{parse_l2, ETHERTYPE_QINQ, ETHERTYPE_VLAN};
use datapath::wire::vlan_tag::{is_vlan_tpid, outer_tag, pop_vlan, push_vlan, set_vid, VlanTag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((hdr, frame)) = data.split_first_chunk::<13>() else {
        return;
    };
    let frame = &frame[..frame.len().min(MEM_MAX_FRAME)];
    let headroom = usize::from(hdr[0] % 16);
    let mut p = MemPacket::with_headroom(frame, headroom).unwrap();
    let mut model = frame.to_vec();
    let mut room = headroom;
    for i in 0..4 {
        let op = hdr[1 + i];
        let arg = u16::from_be_bytes([hdr[5 + 2 * i], hdr[6 + 2 * i]]);
        match op % 4 {
            0 | 1 => {
                let tpid = if op % 4 == 0 {
                    ETHERTYPE_VLAN
                } else {
                    ETHERTYPE_QINQ
                };
                let ok = push_vlan(&mut p, tpid, arg);
                assert_eq!(ok, room >= 4 && model.len() >= 12);
                if ok {
                    let mut tag = tpid.to_be_bytes().to_vec();
                    tag.extend_from_slice(&arg.to_be_bytes());
                    model.splice(12..12, tag);
                    room -= 4;
                    let tag = VlanTag::from_tci(tpid, arg);
                    assert_eq!(outer_tag(p.data()), Some(tag));
                    if let Ok(info) = parse_l2(p.data()) {
                        assert_eq!(info.tag, Some(tag));
                    } else {
                        assert!(p.data().len() < 18);
                    }
                }
            }
            2 => {
                let tagged =
                    model.len() >= 16 && is_vlan_tpid(u16::from_be_bytes([model[12], model[13]]));
                assert_eq!(pop_vlan(&mut p), tagged);
                if tagged {
                    model.drain(12..16);
                    room += 4;
                }
            }
            _ => {
                let vid = arg & 0x1fff;
                let tagged =
                    model.len() >= 16 && is_vlan_tpid(u16::from_be_bytes([model[12], model[13]]));
                let ok = set_vid(p.data_mut(), vid);
                assert_eq!(ok, tagged && vid < 4096);
                if ok {
                    let tci = (u16::from_be_bytes([model[14], model[15]]) & 0xf000) | vid;
                    model[14..16].copy_from_slice(&tci.to_be_bytes());
                }
            }
        }
        assert_eq!(p.data(), &model[..]);
        assert_eq!(p.headroom(), room);
    }
});
