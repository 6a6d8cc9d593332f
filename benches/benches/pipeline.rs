//! The burst pipeline in the scenario `scripts/bench.sh` measures against
//! OVS-DPDK (P2): port A is access VLAN 300, port B is trunk 300,301; A sends
//! untagged 64-byte UDP frames over 1,000 5-tuples from …0a to …0b, B sends
//! VLAN-300-tagged frames back; both MACs are learned. Variants: a bond on
//! the trunk side (P5), 100,000 learned MACs (P6), and B an access port of
//! VLAN 300 too (P1's shape: frames leave as they came, no VLAN edit).
//!
//! Reported per packet (Throughput::Elements counts frames). Frame
//! preparation and recycling happen outside the timed region, and nothing
//! inside it allocates: the transmit queues keep their capacity from one
//! chunk of bursts to the next (`datapath/tests/no_alloc.rs` checks the
//! pipeline itself).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::bond::BondMode;
use datapath::counters::Counter;
use datapath::mac_table::MacTable;
use datapath::mem::{MemPacket, MemTxQueue};
use datapath::packet::{Burst, BURST};
use datapath::testkit::{bond_view, mac, udp_frame_ip, Rig};
use datapath::time::Millis;
use datapath::vlan::{PortVlan, VlanMode, VlanSet};

/// Bursts timed per measurement chunk.
const CHUNK: usize = 64;

struct Scenario {
    rig: Rig,
    a: u16,
    /// Interfaces frames from the trunk side arrive on (one, or bond members).
    b: Vec<u16>,
    /// Port C's interface, which must see none of the benchmark's frames.
    c: u16,
    from_a: Vec<Vec<u8>>,
    from_b: Vec<Vec<u8>>,
    pool: Vec<MemPacket>,
}

fn trunk() -> PortVlan {
    PortVlan::new(
        Some(VlanMode::Trunk),
        None,
        &VlanSet::parse("300,301").unwrap(),
    )
    .unwrap()
}

fn flows(vid: Option<u16>, dst: u16, src: u16) -> Vec<Vec<u8>> {
    (0..1000u16)
        .map(|i| {
            udp_frame_ip(
                mac(dst),
                mac(src),
                vid,
                [10, 0, (i >> 8) as u8, i as u8],
                [10, 1, 0, 1],
                1024 + i,
                80,
            )
        })
        .collect()
}

fn scenario(extra_macs: u32, bond: bool, b_access: bool) -> Scenario {
    let mut rig = Rig::new(MacTable::new(262_144, 300));
    let (_, a) = rig.add_port("a", PortVlan::access(300));
    let b = if bond {
        let view = bond_view(BondMode::BalanceTcp, true, 2);
        rig.add_bond("bond0", trunk(), 2, view).1
    } else if b_access {
        vec![rig.add_port("b", PortVlan::access(300)).1]
    } else {
        vec![rig.add_port("b", trunk()).1]
    };
    let (_, c) = rig.add_port("c", PortVlan::access(300));
    // Extra stations on port C fill the table to the scenario's size.
    let mut i = 0u32;
    while i < extra_macs {
        let chunk: Vec<Vec<u8>> = (i..(i + 1024).min(extra_macs))
            .map(|k| {
                let m = datapath::wire::MacAddr::from_u64(0x0600_0000_0000 | u64::from(k));
                udp_frame_ip(mac(0xa), m, None, [1; 4], [2; 4], 1, 1)
            })
            .collect();
        rig.send(c, &chunk);
        i += 1024;
    }
    let from_a = flows(None, 0xb, 0xa);
    let from_b = flows((!b_access).then_some(300), 0xa, 0xb);
    rig.send(a, &from_a[..1]);
    rig.send(b[0], &from_b[..1]);
    for i in 0..rig.io.tx.len() {
        rig.sent(i as u16);
        // Room for a whole chunk, so transmitting never grows a queue.
        rig.io.tx[i] = MemTxQueue::with_capacity(CHUNK * BURST);
    }
    assert_eq!(rig.mac().lookup(300, mac(0xa)), Some(0));
    assert!(
        rig.mac().len() as u32 >= extra_macs + 2,
        "table holds {}",
        rig.mac().len()
    );
    let pool = (0..CHUNK * BURST)
        .map(|_| MemPacket::from_bytes(&from_a[0]))
        .collect();
    Scenario {
        rig,
        a,
        b,
        c,
        from_a,
        from_b,
        pool,
    }
}

/// Time `iters` bursts, alternating direction, excluding preparation.
fn run(s: &mut Scenario, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    let mut flow = 0usize;
    let mut bursts: Vec<(u16, Burst<MemPacket>)> = Vec::with_capacity(CHUNK);
    while done < iters {
        let n = CHUNK.min((iters - done) as usize);
        bursts.clear();
        for k in 0..n {
            let from_a = k % 2 == 0;
            let iface = if from_a {
                s.a
            } else {
                s.b[(k / 2) % s.b.len()]
            };
            let src = if from_a { &s.from_a } else { &s.from_b };
            let mut burst = Burst::new();
            for _ in 0..BURST {
                let mut p = s
                    .pool
                    .pop()
                    .unwrap_or_else(|| MemPacket::from_bytes(&src[0]));
                p.reset(&src[flow % src.len()]);
                flow += 7;
                burst.push(p);
            }
            bursts.push((iface, burst));
        }
        let now = s.rig.now;
        let t0 = Instant::now();
        for (iface, burst) in bursts.iter_mut() {
            s.rig
                .pmd
                .process(&s.rig.snap, *iface, burst, now.into(), &mut s.rig.io);
            s.rig.pmd.flush(&s.rig.snap, &mut s.rig.io);
        }
        total += t0.elapsed();
        for q in s.rig.io.tx.iter_mut() {
            s.pool.append(&mut q.sent);
        }
        done += n as u64;
        s.rig.now = s.rig.now + 1;
    }
    total
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline_access_trunk");
    g.throughput(Throughput::Elements(BURST as u64));
    for (name, extra, bond, b_access) in [
        ("1k_macs", 998u32, false, false),
        ("100k_macs", 99_998, false, false),
        ("1k_macs_balance_tcp_bond", 998, true, false),
        ("1k_macs_access_both", 998, false, true),
    ] {
        let mut s = scenario(extra, bond, b_access);
        let c_tx = s.rig.counter(s.c, Counter::TxPackets);
        g.bench_function(name, |bch| bch.iter_custom(|iters| run(&mut s, iters)));
        // Sanity: nothing was dropped and every frame left by unicast (a
        // flood would have reached port C).
        let drops: u64 = (0..s.rig.io.tx.len() as u16).map(|i| s.rig.drops(i)).sum();
        assert_eq!(drops, 0, "{name}: frames dropped");
        assert_eq!(
            s.rig.counter(s.c, Counter::TxPackets),
            c_tx,
            "{name}: frames flooded"
        );
    }
    g.finish();
    let _ = Millis::ZERO;
}

criterion_group!(benches, bench);
criterion_main!(benches);
