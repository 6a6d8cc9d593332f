use super::*;
use std::collections::HashSet;
use std::sync::mpsc;

fn mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x52, 0x54, b[0], b[1], b[2], b[3]])
}

fn t(secs: u64) -> Millis {
    Millis::from_secs(secs)
}

fn l(vlan: u16, m: MacAddr, port: u16) -> Learn {
    Learn { vlan, mac: m, port }
}

/// xorshift64*: deterministic pseudo-random numbers for tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn check(table: &MacTable) {
    let w = table.lock();
    w.check(&table.slots);
    assert_eq!(w.len(), table.len());
}

#[test]
fn learn_and_lookup() {
    let table = MacTable::with_seed(DEFAULT_MAX_ENTRIES, DEFAULT_AGING_SECS, 1);
    assert!(table.is_empty());
    let out = table.learn_batch(
        &[
            l(10, mac(1), 1),
            l(20, mac(1), 2),
            l(10, mac(2), 3),
            l(10, mac(1), 1),
        ],
        t(100),
    );
    assert_eq!(
        out,
        LearnOutcome {
            learned: 3,
            refreshed: 1,
            ..LearnOutcome::default()
        }
    );
    assert_eq!(table.len(), 3);
    assert_eq!(table.lookup(10, mac(1)), Some(1));
    assert_eq!(
        table.lookup(20, mac(1)),
        Some(2),
        "VLANs are separate tables"
    );
    assert_eq!(table.lookup(10, mac(2)), Some(3));
    assert_eq!(table.lookup(30, mac(1)), None);
    assert_eq!(table.lookup(10, mac(3)), None);
    table.prefetch(10, mac(1));
    assert_eq!(table.port_count(1), 1);
    assert_eq!(table.port_count(4), 0);

    assert_eq!(
        table.touch_or_check(10, mac(1), 1, t(101)),
        LearnCheck::Fresh
    );
    assert_eq!(table.touch_or_check(10, mac(9), 1, t(101)), LearnCheck::New);
    assert_eq!(
        table.touch_or_check(10, mac(1), 5, t(101)),
        LearnCheck::Moved { from: 1 }
    );
    assert!(LearnCheck::New.needs_learn());
    assert!(LearnCheck::Moved { from: 1 }.needs_learn());
    assert!(!LearnCheck::Fresh.needs_learn());
    assert_eq!(LearnCheck::Moved { from: 1 }.other_port(), Some(1));

    // Multicast sources and bad VLANs are never learned.
    let bcast = l(10, MacAddr::BROADCAST, 1);
    let out = table.learn_batch(&[bcast, l(4095, mac(7), 1), l(10, mac(8), 1)], t(102));
    assert_eq!((out.rejected, out.learned), (2, 1));
    assert_eq!(table.lookup(10, MacAddr::BROADCAST), None);
    assert_eq!(
        table.touch_or_check(10, MacAddr::SLOW_PROTOCOLS, 1, t(102)),
        LearnCheck::NotLearnable
    );
    assert_eq!(table.learn_batch(&[], t(102)), LearnOutcome::default());
    let e = table.entry(10, mac(8), t(110)).unwrap();
    assert_eq!((e.port, e.age_secs, e.is_static), (1, 8, false));
    check(&table);
}

#[test]
fn refresh_updates_last_seen_lock_free() {
    let table = MacTable::with_seed(100, 300, 2);
    let _ = table.learn_batch(&[l(1, mac(1), 1)], Millis(10_900));
    assert_eq!(table.entry(1, mac(1), t(10)).unwrap().age_secs, 0);
    // Same second: nothing to store.
    assert_eq!(
        table.touch_or_check(1, mac(1), 1, Millis(10_999)),
        LearnCheck::Fresh
    );
    assert_eq!(table.entry(1, mac(1), t(20)).unwrap().age_secs, 10);
    assert_eq!(table.touch_or_check(1, mac(1), 1, t(15)), LearnCheck::Fresh);
    assert_eq!(table.entry(1, mac(1), t(20)).unwrap().age_secs, 5);
    // An older clock never moves last-seen backwards.
    assert_eq!(table.touch_or_check(1, mac(1), 1, t(12)), LearnCheck::Fresh);
    assert_eq!(table.entry(1, mac(1), t(20)).unwrap().age_secs, 5);
    // A touch from another port does not refresh.
    let _ = table.touch_or_check(1, mac(1), 2, t(19));
    assert_eq!(table.entry(1, mac(1), t(20)).unwrap().age_secs, 5);
}

#[test]
fn aging_boundary_is_exact() {
    let table = MacTable::with_seed(1000, 300, 3);
    // Learned at 1000.5 s: last seen in second 1000.
    let _ = table.learn_batch(&[l(1, mac(1), 1), l(1, mac(2), 1)], Millis(1_000_500));
    let _ = table.learn_batch(&[l(1, mac(3), 2)], t(1100));
    // mac(2) is heard from again at 1200 (lock-free refresh).
    assert_eq!(
        table.touch_or_check(1, mac(2), 1, t(1200)),
        LearnCheck::Fresh
    );
    // Age every second, as the control thread does.
    for now in 1000..=1300 {
        assert_eq!(table.age(t(now)), 0, "nothing is older than 300 s at {now}");
    }
    assert_eq!(table.lookup(1, mac(1)), Some(1), "idle exactly 300 s: kept");
    assert_eq!(table.age(Millis(1_301_000)), 1, "idle 301 s: removed");
    assert_eq!(table.lookup(1, mac(1)), None);
    assert_eq!(table.lookup(1, mac(2)), Some(1), "refreshed: kept");
    for now in 1302..=1400 {
        assert_eq!(table.age(t(now)), 0);
    }
    assert_eq!(table.age(t(1401)), 1);
    assert_eq!(table.lookup(1, mac(3)), None);
    for now in 1402..=1500 {
        assert_eq!(table.age(t(now)), 0);
    }
    assert_eq!(table.lookup(1, mac(2)), Some(1));
    assert_eq!(table.age(t(1501)), 1);
    assert!(table.is_empty());
    assert_eq!(table.stats().expired, 3);
    check(&table);
}

#[test]
fn aging_after_a_long_gap_and_aging_time_changes() {
    let table = MacTable::with_seed(1000, 300, 4);
    let _ = table.learn_batch(&[l(1, mac(1), 1)], t(50));
    let _ = table.learn_batch(&[l(1, mac(2), 1)], t(5000));
    // Nobody aged for a long time: one call catches up.
    assert_eq!(table.age(t(5200)), 1);
    assert_eq!(table.lookup(1, mac(2)), Some(1));
    // A wheel turn (4096 s) later, refreshed in between.
    assert_eq!(
        table.touch_or_check(1, mac(2), 1, t(9000)),
        LearnCheck::Fresh
    );
    assert_eq!(table.age(t(9300)), 0);
    // A shorter aging time applies at the next pass; clamped like OVS.
    table.set_aging(1);
    assert_eq!(table.aging_secs(), MIN_AGING_SECS);
    assert_eq!(table.age(t(9015)), 0);
    assert_eq!(table.age(t(9016)), 1);
    table.set_aging(100_000);
    assert_eq!(table.aging_secs(), MAX_AGING_SECS);
    let _ = table.learn_batch(&[l(1, mac(3), 1)], t(9020));
    assert_eq!(table.age(t(9020 + 3600)), 0);
    assert_eq!(table.age(t(9020 + 3601)), 1);
    check(&table);
}

#[test]
fn aging_is_bounded_per_call() {
    let table = MacTable::with_seed(200_000, 300, 5);
    let items: Vec<Learn> = (0..150_000).map(|i| l(1, mac(i), 1)).collect();
    for c in items.chunks(32) {
        let _ = table.learn_batch(c, t(10));
    }
    assert_eq!(table.len(), 150_000);
    let first = table.age(t(400));
    assert!(first > 0 && first < writer::AGE_BUDGET + 1, "{first}");
    let mut total = first;
    while total < 150_000 {
        let n = table.age(t(401));
        assert!(n > 0);
        total += n;
    }
    assert!(table.is_empty());
    check(&table);
}

#[test]
fn static_entries_never_age_evict_or_move() {
    let table = MacTable::with_seed(10, 300, 6);
    table.add_static(5, mac(100), 7).unwrap();
    table.add_static(5, mac(101), 7).unwrap();
    assert_eq!(table.lookup(5, mac(100)), Some(7));
    assert_eq!(table.port_count(7), 2);
    // Station-move attempts leave them alone.
    let out = table.learn_batch(&[l(5, mac(100), 1)], t(1));
    assert_eq!((out.static_conflicts, out.moved), (1, 0));
    assert_eq!(table.lookup(5, mac(100)), Some(7));
    assert_eq!(
        table.touch_or_check(5, mac(100), 1, t(1)),
        LearnCheck::Pinned { port: 7 }
    );
    assert_eq!(
        table.touch_or_check(5, mac(100), 7, t(1)),
        LearnCheck::Fresh
    );
    // Port 7 also floods dynamic entries: the table fills, evicting only
    // dynamic ones, though port 7 holds the most entries.
    for i in 0..100 {
        let _ = table.learn_batch(&[l(5, mac(i), 7)], t(2 + i as u64));
        assert!(table.len() <= 10);
    }
    assert_eq!(table.lookup(5, mac(100)), Some(7));
    assert_eq!(table.lookup(5, mac(101)), Some(7));
    // Never age.
    assert!(table.age(t(100_000)) > 0);
    assert_eq!(table.len(), 2);
    assert_eq!(table.lookup(5, mac(101)), Some(7));
    // flush_all (fdb/flush) keeps them.
    let _ = table.learn_batch(&[l(5, mac(1), 1)], t(100_000));
    assert_eq!(table.flush_all(), 1);
    assert_eq!(table.len(), 2);
    let e = &table.entries(t(100_000))[0];
    assert!(e.is_static && e.age_secs == 0);
    assert_eq!(table.stats().static_entries, 2);
    check(&table);
}

#[test]
fn static_add_replace_remove_and_errors() {
    let table = MacTable::with_seed(10, 300, 7);
    let _ = table.learn_batch(&[l(1, mac(1), 1)], t(1));
    // Converting a dynamic entry, then moving the static one.
    table.add_static(1, mac(1), 2).unwrap();
    assert!(table.entry(1, mac(1), t(5)).unwrap().is_static);
    assert_eq!((table.port_count(1), table.port_count(2)), (0, 1));
    table.add_static(1, mac(1), 3).unwrap();
    assert_eq!((table.port_count(2), table.port_count(3)), (0, 1));
    assert_eq!(table.lookup(1, mac(1)), Some(3));
    assert_eq!(table.age(t(10_000)), 0);
    // fdb/del removes only static entries; remove removes either.
    let _ = table.learn_batch(&[l(1, mac(2), 1)], t(10_000));
    assert!(!table.remove_static(1, mac(2)));
    assert!(table.remove_static(1, mac(1)));
    assert!(!table.remove_static(1, mac(1)));
    assert!(table.remove(1, mac(2)));
    assert!(!table.remove(1, mac(2)));
    assert!(table.is_empty());
    assert_eq!(
        table.add_static(4095, mac(1), 1),
        Err(MacTableError::InvalidVlan(4095))
    );
    assert_eq!(
        table.add_static(1, MacAddr::BROADCAST, 1),
        Err(MacTableError::Multicast(MacAddr::BROADCAST))
    );
    for i in 0..10 {
        table.add_static(1, mac(i), 1).unwrap();
    }
    let err = table.add_static(1, mac(10), 1).unwrap_err();
    assert_eq!(err, MacTableError::Full { max_entries: 10 });
    assert!(err.to_string().contains("full"));
    let out = table.learn_batch(&[l(1, mac(11), 2)], t(10_001));
    assert_eq!((out.rejected, out.learned), (1, 0));
    assert_eq!(table.len(), 10);
    check(&table);
}

#[test]
fn station_move() {
    let table = MacTable::with_seed(100, 300, 8);
    let _ = table.learn_batch(&[l(1, mac(1), 1), l(1, mac(2), 1)], t(1));
    assert_eq!(
        table.touch_or_check(1, mac(1), 2, t(5)),
        LearnCheck::Moved { from: 1 }
    );
    let out = table.learn_batch(&[l(1, mac(1), 2)], t(5));
    assert_eq!((out.moved, out.learned), (1, 0));
    assert_eq!(table.lookup(1, mac(1)), Some(2));
    assert_eq!((table.port_count(1), table.port_count(2)), (1, 1));
    assert_eq!(table.entry(1, mac(1), t(5)).unwrap().age_secs, 0);
    assert_eq!(table.touch_or_check(1, mac(1), 2, t(6)), LearnCheck::Fresh);
    assert_eq!(table.stats().moved, 1);
    // Moving back and forth keeps a single entry.
    for i in 0..10u16 {
        let _ = table.learn_batch(&[l(1, mac(1), 3 + i % 2)], t(10 + i as u64));
    }
    assert_eq!(table.len(), 2);
    assert_eq!(table.lookup(1, mac(1)), Some(4));
    check(&table);
}

#[test]
fn flush_port_vlan_all() {
    let table = MacTable::with_seed(1000, 300, 9);
    let mut items = Vec::new();
    for i in 0..60 {
        items.push(l((i % 3) as u16, mac(i), (i % 4) as u16));
    }
    for c in items.chunks(32) {
        let _ = table.learn_batch(c, t(1));
    }
    table.add_static(0, mac(1000), 2).unwrap();
    table.add_static(1, mac(1001), 3).unwrap();
    assert_eq!(table.len(), 62);

    // Port 2: 15 dynamic + 1 static.
    assert_eq!(table.port_count(2), 16);
    assert_eq!(table.flush_port(2), 16);
    assert_eq!(table.port_count(2), 0);
    assert!(items
        .iter()
        .all(|e| (table.lookup(e.vlan, e.mac) == Some(e.port)) == (e.port != 2)));
    assert_eq!(table.lookup(0, mac(1000)), None);
    check(&table);

    // VLAN 1: dynamic entries not on port 2; the static one stays.
    let n = items.iter().filter(|e| e.vlan == 1 && e.port != 2).count();
    assert_eq!(table.flush_vlan(1), n);
    for e in &items {
        let expect = e.port != 2 && e.vlan != 1;
        assert_eq!(table.lookup(e.vlan, e.mac).is_some(), expect, "{e:?}");
    }
    assert_eq!(table.lookup(1, mac(1001)), Some(3));
    check(&table);

    let left = table.len() - 1;
    assert_eq!(table.flush_all(), left);
    assert_eq!(table.len(), 1);
    assert_eq!(table.flush_all(), 0);
    assert_eq!(table.flush_port(3), 1);
    assert!(table.is_empty());
    check(&table);
}

#[test]
fn eviction_is_fair_to_quiet_ports() {
    const A: u16 = 1;
    const B: u16 = 2;
    const C: u16 = 3;
    let table = MacTable::with_seed(1000, 300, 10);
    let a: Vec<Learn> = (0..200).map(|i| l(10, mac(i), A)).collect();
    let b: Vec<Learn> = (0..150).map(|i| l(20, mac(1000 + i), B)).collect();
    for c in a.chunks(32).chain(b.chunks(32)) {
        let _ = table.learn_batch(c, t(1));
    }
    let mut rng = Rng(0x1234_5678);
    let mut flood = Vec::with_capacity(32);
    let mut evicted = 0;
    let mut learned = 0;
    for round in 0..(100_000 / 32 + 1) {
        flood.clear();
        for _ in 0..32 {
            // Random unicast source addresses in VLAN 10 or 20.
            let r = rng.next();
            let m = MacAddr::from_u64(r & 0xfeff_ffff_ffff);
            flood.push(l(10 + 10 * (r >> 63) as u16, m, C));
        }
        let out = table.learn_batch(&flood, t(2 + round as u64 / 100));
        assert!(!out.skipped);
        evicted += out.evicted as u64;
        learned += out.learned as u64;
        assert!(
            table.len() <= 1000,
            "len {} after batch {round}",
            table.len()
        );
        // A and B keep refreshing some of their entries.
        if round % 50 == 0 {
            for e in a.iter().take(10) {
                assert_eq!(
                    table.touch_or_check(e.vlan, e.mac, A, t(2 + round as u64 / 100)),
                    LearnCheck::Fresh
                );
            }
        }
    }
    assert!(learned > 99_000, "{learned}");
    assert_eq!(evicted, learned - 650);
    for e in a.iter().chain(&b) {
        assert_eq!(
            table.lookup(e.vlan, e.mac),
            Some(e.port),
            "{e:?} was evicted"
        );
    }
    assert_eq!(table.len(), 1000);
    assert_eq!(table.port_count(A), 200);
    assert_eq!(table.port_count(B), 150);
    assert_eq!(table.port_count(C), 650);
    // The survivors of C are its most recent learns.
    let last: Vec<&Learn> = flood.iter().collect();
    for e in last {
        assert_eq!(table.lookup(e.vlan, e.mac), Some(C));
    }
    check(&table);
}

#[test]
fn eviction_takes_from_the_largest_port() {
    let table = MacTable::with_seed(10, 300, 11);
    // Port 1: 6 entries, port 2: 4 entries.
    for i in 0..6 {
        let _ = table.learn_batch(&[l(1, mac(i), 1)], t(i as u64));
    }
    for i in 0..4 {
        let _ = table.learn_batch(&[l(1, mac(100 + i), 2)], t(10 + i as u64));
    }
    // Port 3 learns: port 1 gives up entries until it is no longer the
    // largest, then ports 1 and 2 in turn.
    let _ = table.learn_batch(&[l(1, mac(200), 3)], t(20));
    assert_eq!(table.lookup(1, mac(0)), None, "oldest of port 1");
    assert_eq!((table.port_count(1), table.port_count(2)), (5, 4));
    let _ = table.learn_batch(&[l(1, mac(201), 3)], t(21));
    assert_eq!((table.port_count(1), table.port_count(2)), (4, 4));
    let _ = table.learn_batch(&[l(1, mac(202), 3), l(1, mac(203), 3)], t(22));
    assert_eq!(
        (
            table.port_count(1),
            table.port_count(2),
            table.port_count(3)
        ),
        (3, 3, 4)
    );
    assert_eq!(table.lookup(1, mac(100)), None, "oldest of port 2");
    check(&table);
}

#[test]
fn lru_order_within_a_port() {
    let table = MacTable::with_seed(10, 300, 12);
    for i in 0..10 {
        let _ = table.learn_batch(&[l(1, mac(i), 1)], t(i as u64));
    }
    // e3 and e7 are heard from again (lock-free refresh).
    assert_eq!(table.touch_or_check(1, mac(3), 1, t(20)), LearnCheck::Fresh);
    assert_eq!(table.touch_or_check(1, mac(7), 1, t(20)), LearnCheck::Fresh);
    let expect_evicted = [0, 1, 2, 4, 5, 6, 8, 9];
    for (n, &victim) in expect_evicted.iter().enumerate() {
        let out = table.learn_batch(&[l(1, mac(100 + n as u32), 1)], t(30));
        assert_eq!(out.evicted, 1);
        assert_eq!(
            table.lookup(1, mac(victim)),
            None,
            "e{victim} should be evicted now"
        );
        for &later in &expect_evicted[n + 1..] {
            assert_eq!(
                table.lookup(1, mac(later)),
                Some(1),
                "e{later} evicted too early"
            );
        }
        assert_eq!(table.lookup(1, mac(3)), Some(1));
        assert_eq!(table.lookup(1, mac(7)), Some(1));
    }
    check(&table);
}

#[test]
fn second_chance_walk_is_bounded_per_learn() {
    let table = MacTable::with_seed(1000, 300, 18);
    let all: Vec<Learn> = (0..1000).map(|i| l(1, mac(i), 1)).collect();
    for c in all.chunks(32) {
        let _ = table.learn_batch(c, t(1));
    }
    // Every station is active.
    for e in &all {
        assert_eq!(table.touch_or_check(1, e.mac, 1, t(10)), LearnCheck::Fresh);
    }
    // Each learn requeues at most SECOND_CHANCES active stations and gives
    // up; then the walk has requeued them all and eviction resumes, from
    // the least recently queued.
    let passes = 1000 / writer::SECOND_CHANCES;
    for n in 0..passes {
        let out = table.learn_batch(&[l(1, mac(5000 + n as u32), 1)], t(11));
        assert_eq!((out.learned, out.rejected, out.evicted), (0, 1, 0));
        assert_eq!(table.len(), 1000);
    }
    let out = table.learn_batch(&[l(1, mac(6000), 1)], t(11));
    assert_eq!((out.learned, out.evicted), (1, 1));
    assert_eq!(table.lookup(1, mac(0)), None);
    assert!(all[1..].iter().all(|e| table.lookup(1, e.mac) == Some(1)));
    // The control side finishes the walk in one call.
    for e in &all[1..] {
        assert_eq!(table.touch_or_check(1, e.mac, 1, t(20)), LearnCheck::Fresh);
    }
    assert_eq!(
        table.touch_or_check(1, mac(6000), 1, t(20)),
        LearnCheck::Fresh
    );
    table.add_static(1, mac(7000), 2).unwrap();
    assert_eq!(table.len(), 1000);
    assert_eq!(table.lookup(1, mac(1)), None);
    check(&table);
}

#[test]
fn learn_batch_skips_when_the_writer_lock_is_held() {
    let table = std::sync::Arc::new(MacTable::with_seed(100, 300, 13));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let table = table.clone();
        std::thread::spawn(move || {
            let _guard = table.lock();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    };
    locked_rx.recv().unwrap();
    let out = table.learn_batch(&[l(1, mac(1), 1)], t(1));
    assert!(out.skipped);
    assert_eq!(out.learned, 0);
    assert_eq!(table.lookup(1, mac(1)), None);
    // Readers are not affected by the lock.
    assert_eq!(table.touch_or_check(1, mac(1), 1, t(1)), LearnCheck::New);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let out = table.learn_batch(&[l(1, mac(1), 1)], t(1));
    assert!(!out.skipped);
    assert_eq!(out.learned, 1);
    assert_eq!(table.lookup(1, mac(1)), Some(1));
}

#[test]
fn a_million_entries() {
    let table = MacTable::with_seed(1_000_000, 300, 14);
    assert_eq!(table.max_entries(), 1_000_000);
    let mut batch = Vec::with_capacity(32);
    for i in 0..1_000_000u32 {
        batch.push(l((i % 4000) as u16, mac(i), (i % 512) as u16));
        if batch.len() == 32 {
            let out = table.learn_batch(&batch, t(1));
            assert_eq!(out.learned, 32);
            batch.clear();
        }
    }
    assert_eq!(table.len(), 1_000_000);
    assert_eq!(table.stats().evicted, 0);
    for i in 0..1_000_000u32 {
        assert_eq!(
            table.lookup((i % 4000) as u16, mac(i)),
            Some((i % 512) as u16),
            "entry {i}"
        );
    }
    assert_eq!(table.lookup(0, mac(1_000_000)), None);
    check(&table);
    // A full table evicts to learn more.
    let out = table.learn_batch(&[l(1, mac(2_000_000), 1)], t(2));
    assert_eq!((out.learned, out.evicted), (1, 1));
    assert_eq!(table.len(), 1_000_000);
}

#[test]
fn cuckoo_displacement_at_high_load() {
    // Drive the writer directly at 100% load of a small slot array, which
    // forces long displacement chains.
    let mut displaced = 0;
    for seed in 0..20u64 {
        let slots = Slots::new(16, [splitmix(seed), splitmix(seed + 100)]);
        let mut w = Writer::new(64, 64, 300);
        let mut present = Vec::new();
        for i in 0..64u32 {
            let key = encode_key(1, mac(i));
            assert_eq!(w.learn(&slots, key, 1, 1), writer::Learned::New);
            present.push(key);
            if i % 8 == 7 {
                w.check(&slots);
            }
        }
        // Whatever was given up to make room (only when no path exists) is
        // gone; everything else is where the writer thinks it is.
        let found = present.iter().filter(|&&k| slots.find(k).is_some()).count();
        assert_eq!(w.len(), 64 - w.totals.evicted as usize);
        assert_eq!(found, w.len());
        assert!(found >= 56, "seed {seed}: only {found} of 64 placed");
        displaced += w.totals.displaced;
    }
    assert!(displaced > 100, "{displaced}");
}

#[test]
fn random_operations_keep_invariants() {
    let table = MacTable::with_seed(50, 15, 15);
    let mut rng = Rng(99);
    let mut now = 0;
    let mut statics = HashSet::new();
    for step in 0..20_000 {
        let r = rng.next();
        let m = mac((r % 200) as u32);
        let vlan = ((r >> 16) % 3) as u16;
        let port = ((r >> 24) % 5) as u16;
        match (r >> 32) % 100 {
            0..=69 => {
                let _ = table.learn_batch(&[l(vlan, m, port)], t(now));
            }
            70..=79 => {
                let _ = table.touch_or_check(vlan, m, port, t(now));
            }
            80..=84 => {
                if table.remove(vlan, m) {
                    statics.remove(&(vlan, m));
                }
            }
            85..=86 => {
                if statics.len() < 10 && table.add_static(vlan, m, port).is_ok() {
                    statics.insert((vlan, m));
                }
            }
            87 => {
                let _ = table.flush_vlan(vlan);
            }
            88 => {
                let n = table.flush_port(port);
                statics.retain(|&(v, m)| table.lookup(v, m).is_some());
                let _ = n;
            }
            _ => {
                now += (r >> 40) % 3;
                let _ = table.age(t(now));
            }
        }
        if step % 500 == 0 {
            check(&table);
        }
        assert!(table.len() <= 50);
        for &(v, m) in &statics {
            assert!(table.entry(v, m, t(now)).unwrap().is_static);
        }
    }
    check(&table);
}

#[test]
fn entries_for_fdb_show() {
    let table = MacTable::with_seed(100, 300, 16);
    let _ = table.learn_batch(&[l(1, mac(1), 2)], t(10));
    let _ = table.learn_batch(&[l(1, mac(2), 1), l(2, mac(3), 1)], t(20));
    table.add_static(3, mac(4), 5).unwrap();
    let e = table.entries(t(25));
    let rows: Vec<(u16, u16, MacAddr, u32, bool)> = e
        .iter()
        .map(|e| (e.port, e.vlan, e.mac, e.age_secs, e.is_static))
        .collect();
    assert_eq!(
        rows,
        [
            (5, 3, mac(4), 0, true),
            (2, 1, mac(1), 15, false),
            (1, 1, mac(2), 5, false),
            (1, 2, mac(3), 5, false),
        ]
    );
}

#[test]
fn resized_keeps_statics_and_recent_entries() {
    let table = MacTable::with_seed(100, 120, 17);
    table.add_static(1, mac(1000), 9).unwrap();
    for i in 0..50 {
        let _ = table.learn_batch(&[l(1, mac(i), (i % 3) as u16)], t(i as u64));
    }
    let small = table.resized(20);
    assert_eq!(small.max_entries(), 20);
    assert_eq!(small.aging_secs(), 120);
    assert_eq!(small.len(), 20);
    assert_eq!(small.lookup(1, mac(1000)), Some(9));
    for i in 0..50u32 {
        let expect = (i >= 31).then_some((i % 3) as u16);
        assert_eq!(small.lookup(1, mac(i)), expect, "entry {i}");
    }
    assert_eq!(small.entry(1, mac(40), t(50)).unwrap().age_secs, 10);
    check(&small);
    let big = table.resized(5_000_000);
    assert_eq!(big.max_entries(), MAX_MAX_ENTRIES);
    assert_eq!(big.len(), 51);
    check(&big);
}

#[test]
fn sizes_are_clamped_like_ovs() {
    let t1 = MacTable::new(0, 0);
    assert_eq!(
        (t1.max_entries(), t1.aging_secs()),
        (MIN_MAX_ENTRIES, MIN_AGING_SECS)
    );
    let t2 = MacTable::new(DEFAULT_MAX_ENTRIES, DEFAULT_AGING_SECS);
    assert_eq!((t2.max_entries(), t2.aging_secs()), (8192, 300));
    assert!(format!("{t2:?}").contains("8192"));
}
