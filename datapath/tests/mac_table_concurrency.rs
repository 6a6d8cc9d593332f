//! Readers race a writer and a control thread on one shared `MacTable`.
//!
//! Every key may only ever be assigned ports from its own set: a port `p`
//! is valid for key number `i` when `p % 64 == i % 64`. The writer and the
//! control thread only ever assign valid ports (learns, station moves,
//! static entries), so a reader that finds a key with a port outside its set
//! has seen a torn `(key, port)` pair. The test is bounded by iteration
//! counts, never by time.

use datapath::mac_table::{Learn, LearnCheck, MacTable};
use datapath::time::Millis;
use datapath::wire::MacAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<MacTable>();
    send_sync::<Arc<MacTable>>();
};

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

/// Key number `i`: its VLAN and MAC.
fn key(i: u32) -> (u16, MacAddr) {
    let b = i.to_be_bytes();
    ((i % 7) as u16, MacAddr([0x02, 0, b[0], b[1], b[2], b[3]]))
}

/// A random valid port for key number `i`.
fn port_for(i: u32, r: u64) -> u16 {
    (i % 64) as u16 + 64 * (r % 16) as u16
}

fn valid(i: u32, port: u16) -> bool {
    port as u32 % 64 == i % 64 && port < 1024
}

struct Stats {
    hits: u64,
    misses: u64,
}

fn race(max_entries: usize, n_keys: u32, writer_batches: u32, n_readers: usize) {
    let table = Arc::new(MacTable::with_seed(max_entries, 15, 42));
    let now = Arc::new(AtomicU64::new(1_000_000));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..n_readers)
        .map(|t| {
            let (table, now, done) = (table.clone(), now.clone(), done.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9 + t as u64);
                let mut s = Stats { hits: 0, misses: 0 };
                while !done.load(Relaxed) {
                    for _ in 0..64 {
                        let r = rng.next();
                        let i = (r % n_keys as u64) as u32;
                        let (vlan, mac) = key(i);
                        table.prefetch(vlan, mac);
                        match table.lookup(vlan, mac) {
                            Some(p) => {
                                assert!(valid(i, p), "key {i} found with port {p}");
                                s.hits += 1;
                            }
                            None => s.misses += 1,
                        }
                        // Half the time as the station itself (a refresh
                        // when the second changed), else from a random port.
                        let p = match table.lookup(vlan, mac) {
                            Some(p) if r & (1 << 20) != 0 => p,
                            _ => port_for(i, r >> 32),
                        };
                        let now = Millis(now.load(Relaxed));
                        match table.touch_or_check(vlan, mac, p, now) {
                            LearnCheck::Moved { from: q } | LearnCheck::Pinned { port: q } => {
                                assert!(valid(i, q), "key {i} checked with port {q}")
                            }
                            LearnCheck::NotLearnable => panic!("unicast key {i} not learnable"),
                            LearnCheck::Fresh | LearnCheck::New => {}
                        }
                        if let Some(e) = table.entry(vlan, mac, now) {
                            assert!(valid(i, e.port), "key {i} entry with port {}", e.port);
                            assert_eq!((e.vlan, e.mac), (vlan, mac));
                        }
                    }
                }
                s
            })
        })
        .collect();

    let control = {
        let (table, now, done) = (table.clone(), now.clone(), done.clone());
        thread::spawn(move || {
            let mut rng = Rng(7);
            let mut ops = 0u64;
            while !done.load(Relaxed) {
                let r = rng.next();
                let i = (r % n_keys as u64) as u32;
                let (vlan, mac) = key(i);
                match (r >> 40) % 16 {
                    0..=5 => {
                        table.remove(vlan, mac);
                    }
                    6 => {
                        let _ = table.add_static(vlan, mac, port_for(i, r >> 20));
                    }
                    7 => {
                        table.remove_static(vlan, mac);
                    }
                    8 => {
                        table.flush_port(port_for(i, r >> 20));
                    }
                    9 => {
                        table.flush_vlan(vlan);
                    }
                    10 => {
                        for e in table.entries(Millis(now.load(Relaxed))) {
                            let MacAddr(b) = e.mac;
                            let i = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
                            assert!(valid(i, e.port));
                        }
                    }
                    _ => {
                        let t = now.fetch_add(1000, Relaxed) + 1000;
                        table.age(Millis(t));
                    }
                }
                ops += 1;
            }
            ops
        })
    };

    // The writer: batches of learns, new stations and station moves.
    let mut rng = Rng(1);
    let mut batch = Vec::with_capacity(32);
    let (mut learned, mut moved, mut skipped) = (0u64, 0u64, 0u64);
    for _ in 0..writer_batches {
        batch.clear();
        for _ in 0..(1 + rng.next() % 32) {
            let r = rng.next();
            let i = (r % n_keys as u64) as u32;
            let (vlan, mac) = key(i);
            batch.push(Learn {
                vlan,
                mac,
                port: port_for(i, r >> 32),
            });
        }
        let out = table.learn_batch(&batch, Millis(now.load(Relaxed)));
        learned += out.learned as u64;
        moved += out.moved as u64;
        skipped += out.skipped as u64;
        assert!(table.len() <= table.max_entries());
    }
    done.store(true, Relaxed);
    let control_ops = control.join().unwrap();
    let (mut hits, mut misses) = (0, 0);
    for r in readers {
        let s = r.join().unwrap();
        hits += s.hits;
        misses += s.misses;
    }
    eprintln!(
        "max {max_entries}: learned {learned}, moved {moved}, skipped {skipped}, \
         control ops {control_ops}, reader hits {hits}, misses {misses}"
    );
    assert!(learned > 0 && moved > 0);
    assert!(hits > 0 && misses > 0, "readers saw both outcomes");
    let stats = table.stats();
    assert!(stats.evicted > 0, "the table was kept full");
}

#[test]
fn readers_never_see_a_port_of_another_key() {
    race(1024, 4096, 50_000, 2);
}

#[test]
fn tiny_table_churns_the_same_slots() {
    // 32 slots, 64 keys: slots are rewritten constantly and cuckoo moves are
    // frequent, the worst case for the per-slot seqlock.
    race(10, 64, 50_000, 2);
}
