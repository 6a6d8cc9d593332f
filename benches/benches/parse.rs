//! Per-packet cost of the L2 parse, the bond-hash five-tuple extraction and
//! the VLAN edits, on 64-byte UDP frames. Each iteration handles a burst of
//! 32 distinct frames; throughput is reported per packet.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::mem::MemPacket;
use datapath::packet::BURST;
use datapath::wire::ethernet::{parse_l2, ETHERTYPE_VLAN};
use datapath::wire::ip::FiveTuple;
use datapath::wire::vlan_tag::{pop_vlan, push_vlan};

/// A 64-byte Ethernet/IPv4/UDP frame (without FCS), source port `sport`.
fn udp_frame(sport: u16) -> Vec<u8> {
    let mut f = vec![0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00];
    let ip_len: u16 = 64 - 14;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&4789u16.to_be_bytes());
    f.extend_from_slice(&(ip_len - 20).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(64, 0xab);
    f
}

fn tagged(mut f: Vec<u8>, vid: u16) -> Vec<u8> {
    f.splice(12..12, [0x81, 0x00, (vid >> 8) as u8, vid as u8]);
    f
}

fn burst(tag: bool) -> Vec<Vec<u8>> {
    (0..BURST as u16)
        .map(|i| {
            let f = udp_frame(10_000 + i);
            if tag {
                tagged(f, 100 + i)
            } else {
                f
            }
        })
        .collect()
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(BURST as u64));
    for (name, tag) in [("untagged", false), ("vlan", true)] {
        let frames = burst(tag);
        g.bench_function(format!("parse_l2/{name}"), |b| {
            b.iter(|| {
                let mut acc = 0usize;
                for f in &frames {
                    if let Ok(i) = parse_l2(black_box(f)) {
                        acc = acc.wrapping_add(i.payload_offset + usize::from(i.ethertype));
                    }
                }
                acc
            })
        });
        g.bench_function(format!("parse_l2+five_tuple/{name}"), |b| {
            b.iter(|| {
                let mut acc = 0u16;
                for f in &frames {
                    let f = black_box(f);
                    if let Ok(i) = parse_l2(f) {
                        if let Some(t) = FiveTuple::extract(f, i.payload_offset, i.ethertype) {
                            acc = acc.wrapping_add(t.sport ^ t.dst as u16);
                        }
                    }
                }
                acc
            })
        });
    }
    let mut pkts: Vec<MemPacket> = burst(false)
        .iter()
        .map(|f| MemPacket::from_bytes(f))
        .collect();
    g.bench_function("push_vlan+pop_vlan", |b| {
        b.iter(|| {
            for p in pkts.iter_mut() {
                let p = black_box(p);
                let pushed = push_vlan(p, ETHERTYPE_VLAN, 100);
                let popped = pop_vlan(p);
                debug_assert!(pushed && popped);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
