//! Cost of the bond flow hashes: `hash::slb` (source MAC + VLAN) and
//! `hash::l4` (5-tuple, IPv4 and IPv6), in nanoseconds per call, and
//! `hash::l4_ipv4` (the same IPv4 hash from the fields, which the pipeline
//! uses on its fast path).
//!
//! Each iteration hashes a burst of 32 distinct inputs (a balance-tcp bond
//! hashes every frame it sends), so throughput is reported per call; the
//! calls are independent, as they are in the pipeline, so this is the cost
//! of one hash when several overlap, not the latency of one alone.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::hash;
use datapath::packet::BURST;
use datapath::wire::ip::FiveTuple;
use datapath::wire::MacAddr;

fn tuples_v4() -> Vec<FiveTuple> {
    (0..BURST as u32)
        .map(|i| FiveTuple {
            src: u128::from(0x0a00_0000 + i),
            dst: 0x0a01_0001,
            proto: 6,
            sport: 30_000 + i as u16,
            dport: 443,
        })
        .collect()
}

fn tuples_v6() -> Vec<FiveTuple> {
    let base = 0x2001_0db8_0000_0000_0000_0000_0000_0000u128;
    (0..BURST as u128)
        .map(|i| FiveTuple {
            src: base + (i << 8) + 1,
            dst: base + 0xffff,
            proto: 17,
            sport: 5000 + i as u16,
            dport: 53,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(BURST as u64));

    let macs: Vec<(MacAddr, u16)> = (0..BURST as u64)
        .map(|i| (MacAddr::from_u64(0x5254_0000_0000 + i * 7), 100 + i as u16))
        .collect();
    g.bench_function("slb", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for &(m, v) in black_box(&macs) {
                acc ^= hash::slb(m, v, black_box(7));
            }
            acc
        })
    });

    for (name, tuples) in [("l4_ipv4", tuples_v4()), ("l4_ipv6", tuples_v6())] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for t in black_box(&tuples) {
                    acc ^= hash::l4(t, black_box(7));
                }
                acc
            })
        });
    }
    let v4 = tuples_v4();
    g.bench_function("l4_ipv4_fields", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for t in black_box(&v4) {
                acc ^= hash::l4_ipv4(
                    t.src as u32,
                    t.dst as u32,
                    t.proto,
                    t.sport,
                    t.dport,
                    black_box(7),
                );
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
