//! Per-packet cost of the MAC table: destination lookups (hit and miss) and
//! the source refresh, at 1,000 and 1,000,000 entries with random keys, so
//! the large table really misses the caches. Each iteration handles a burst
//! of 32 keys taken in turn from a shuffled list; throughput is per key.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use datapath::mac_table::{Learn, LearnCheck, MacTable};
use datapath::packet::BURST;
use datapath::time::Millis;
use datapath::wire::MacAddr;

/// Number of queries in each shuffled list (a power of two).
const QUERIES: usize = 1 << 16;

/// xorshift64*: deterministic pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A random unicast `(vlan, mac)`.
fn random_key(rng: &mut Rng) -> (u16, MacAddr) {
    let r = rng.next();
    (
        (r >> 52) as u16 % 4095,
        MacAddr::from_u64(r & 0xfeff_ffff_ffff),
    )
}

struct Setup {
    table: MacTable,
    /// Present keys with their ports, in random order.
    hits: Vec<(u16, MacAddr, u16)>,
    /// Absent keys.
    misses: Vec<(u16, MacAddr, u16)>,
}

fn setup(n: usize) -> Setup {
    let table = MacTable::with_seed(n, 300, 0xbe4c);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut present = Vec::with_capacity(n);
    let mut batch = Vec::with_capacity(BURST);
    while present.len() < n {
        batch.clear();
        for _ in 0..BURST.min(n - present.len()) {
            let (vlan, mac) = random_key(&mut rng);
            let port = (rng.next() % 64) as u16;
            batch.push(Learn { vlan, mac, port });
        }
        let out = table.learn_batch(&batch, Millis::from_secs(1));
        assert_eq!(out.evicted, 0);
        present.extend(batch.iter().map(|l| (l.vlan, l.mac, l.port)));
    }
    assert_eq!(table.len(), n);
    let hits = (0..QUERIES)
        .map(|_| present[(rng.next() % n as u64) as usize])
        .collect();
    let misses = (0..QUERIES)
        .map(|_| {
            let (vlan, mac) = random_key(&mut rng);
            (vlan, mac, 0)
        })
        .collect();
    Setup {
        table,
        hits,
        misses,
    }
}

/// Benchmark `f` over bursts of 32 consecutive queries from `keys`.
fn bursts(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    keys: &[(u16, MacAddr, u16)],
    mut f: impl FnMut(&[(u16, MacAddr, u16)], u64) -> u32,
) {
    let mut pos = 0;
    let mut iter = 0u64;
    g.bench_function(name, |b| {
        b.iter(|| {
            let q = &keys[pos..pos + BURST];
            pos = (pos + BURST) % QUERIES;
            iter += 1;
            f(black_box(q), iter)
        })
    });
}

fn bench_size(c: &mut Criterion, label: &str, n: usize) {
    let s = setup(n);
    let t = &s.table;
    let mut g = c.benchmark_group(format!("mac_table/{label}"));
    g.throughput(Throughput::Elements(BURST as u64));
    let lookup = |q: &[(u16, MacAddr, u16)], _| {
        q.iter()
            .map(|&(v, m, _)| t.lookup(v, m).map_or(0, u32::from))
            .sum()
    };
    bursts(&mut g, "lookup_hit", &s.hits, lookup);
    bursts(&mut g, "lookup_miss", &s.misses, lookup);
    bursts(&mut g, "lookup_hit_prefetched", &s.hits, |q, _| {
        for &(v, m, _) in q {
            t.prefetch(v, m);
        }
        q.iter()
            .map(|&(v, m, _)| t.lookup(v, m).map_or(0, u32::from))
            .sum()
    });
    // The source-address probe of every frame from a known station: the
    // second does not change, so nothing is stored.
    bursts(&mut g, "refresh_hit_same_second", &s.hits, |q, _| {
        q.iter()
            .map(|&(v, m, p)| {
                (t.touch_or_check(v, m, p, Millis::from_secs(1)) == LearnCheck::Fresh) as u32
            })
            .sum()
    });
    // Every probe lands in a new second: one compare-exchange per frame
    // (the worst case; real stations cost this once per second).
    bursts(&mut g, "refresh_hit_new_second", &s.hits, |q, i| {
        let now = Millis::from_secs(1 + i);
        q.iter()
            .map(|&(v, m, p)| (t.touch_or_check(v, m, p, now) == LearnCheck::Fresh) as u32)
            .sum()
    });
    g.finish();
}

fn bench_mac_table(c: &mut Criterion) {
    bench_size(c, "1k", 1_000);
    bench_size(c, "1m", 1_000_000);
}

criterion_group!(benches, bench_mac_table);
criterion_main!(benches);
