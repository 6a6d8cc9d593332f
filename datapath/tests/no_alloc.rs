//! The unicast forwarding path allocates nothing once warmed up.
//!
//! A counting global allocator counts every allocation made by a thread while
//! that thread has armed it. Each scenario builds a switch, learns its
//! stations and sizes its queues (allocation is fine there), then arms the
//! counter around thousands of `Pmd::process` + `Pmd::flush` calls. Between
//! bursts the transmitted packets are recycled with `MemPacket::reset`
//! (outside the counted window, although that allocates nothing either).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use datapath::bond::BondMode;
use datapath::counters::Counter;
use datapath::mac_table::MacTable;
use datapath::mem::{MemPacket, MemTxQueue};
use datapath::packet::{Burst, BURST};
use datapath::testkit::{bond_view, mac, udp_frame_ip, Rig};
use datapath::vlan::{PortVlan, VlanMode, VlanSet};

/// Counts the allocations of each thread while that thread has armed it.
struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while thread-locals are torn down.
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting
// has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations this thread makes while running `f`.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = ALLOCATIONS.with(Cell::get);
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (ALLOCATIONS.with(Cell::get) - before, r)
}

const BURSTS: usize = 4000;

/// An access-300 port A and a trunk (300,301) on the other side, a plain
/// port or a 2-member balance-tcp bond, with both stations learned.
struct Switch {
    rig: Rig,
    a: u16,
    /// Interfaces of the trunk side.
    b: Vec<u16>,
    from_a: Vec<Vec<u8>>,
    from_b: Vec<Vec<u8>>,
}

fn trunk() -> PortVlan {
    PortVlan::new(
        Some(VlanMode::Trunk),
        None,
        &VlanSet::parse("300,301").unwrap(),
    )
    .unwrap()
}

/// 64 flows from `src` to `dst`.
fn flows(vid: Option<u16>, dst: u16, src: u16) -> Vec<Vec<u8>> {
    (0..64u16)
        .map(|i| {
            udp_frame_ip(
                mac(dst),
                mac(src),
                vid,
                [10, 0, 0, i as u8],
                [10, 1, 0, 1],
                1024 + i,
                80,
            )
        })
        .collect()
}

/// What B is: a trunk, an access port of A's VLAN (frames leave as they
/// came, the pipeline's plain runs), or a balance-tcp bond on a trunk.
#[derive(Clone, Copy, PartialEq)]
enum BSide {
    Trunk,
    Access,
    Bond,
}

fn switch(b_side: BSide, extra_macs: u32) -> Switch {
    let mut rig = Rig::new(MacTable::new(4096, 300));
    let (_, a) = rig.add_port("a", PortVlan::access(300));
    let b = match b_side {
        BSide::Bond => {
            let view = bond_view(BondMode::BalanceTcp, true, 2);
            rig.add_bond("bond0", trunk(), 2, view).1
        }
        BSide::Access => vec![rig.add_port("b", PortVlan::access(300)).1],
        BSide::Trunk => vec![rig.add_port("b", trunk()).1],
    };
    let (_, c) = rig.add_port("c", PortVlan::access(300));
    // Other stations behind C, so the table is not trivially small.
    let others: Vec<Vec<u8>> = (0..extra_macs)
        .map(|k| {
            let m = datapath::wire::MacAddr::from_u64(0x0600_0000_0000 | u64::from(k));
            udp_frame_ip(mac(0xa), m, None, [1; 4], [2; 4], 1, 1)
        })
        .collect();
    rig.send(c, &others);
    let from_a = flows(None, 0xb, 0xa);
    let from_b = flows((b_side != BSide::Access).then_some(300), 0xa, 0xb);
    rig.send(a, &from_a[..1]);
    rig.send(b[0], &from_b[..1]);
    for i in 0..rig.io.tx.len() {
        rig.io.tx[i] = MemTxQueue::with_capacity(4 * BURST);
    }
    assert_eq!(rig.mac().lookup(300, mac(0xa)), Some(0));
    assert_eq!(rig.mac().lookup(300, mac(0xb)), Some(1));
    Switch {
        rig,
        a,
        b,
        from_a,
        from_b,
    }
}

/// Forward `BURSTS` bursts, alternating direction, recycling packets; return
/// the allocations counted while the pipeline ran (only around `process` and
/// `flush`).
fn run(s: &mut Switch) -> u64 {
    let mut pool: Vec<MemPacket> = (0..4 * BURST)
        .map(|_| MemPacket::from_bytes(&s.from_a[0]))
        .collect();
    let mut burst: Burst<MemPacket> = Burst::new();
    let mut total = 0;
    let mut flow = 0usize;
    for k in 0..BURSTS {
        let from_a = k % 2 == 0;
        let (iface, frames) = if from_a {
            (s.a, &s.from_a)
        } else {
            (s.b[(k / 2) % s.b.len()], &s.from_b)
        };
        for _ in 0..BURST {
            let mut p = pool.pop().expect("packets are recycled");
            assert!(p.reset(&frames[flow % frames.len()]));
            flow += 1;
            burst.push(p);
        }
        let rig = &mut s.rig;
        let now = rig.now;
        let (n, ()) = allocations_in(|| {
            rig.pmd
                .process(&rig.snap, iface, &mut burst, now.into(), &mut rig.io);
            rig.pmd.flush(&rig.snap, &mut rig.io);
        });
        total += n;
        assert!(burst.is_empty());
        for q in rig.io.tx.iter_mut() {
            pool.append(&mut q.sent);
        }
        assert_eq!(pool.len(), 4 * BURST, "a packet went missing");
        if k % 100 == 99 {
            // Time passes: entries get refreshed in place.
            rig.now = rig.now + 1000;
        }
    }
    total
}

/// Transmitted frames of A and of the trunk side so far.
fn tx_counts(s: &Switch) -> (u64, u64) {
    let r = &s.rig;
    let b = s.b.iter().map(|&i| r.counter(i, Counter::TxPackets)).sum();
    (r.counter(s.a, Counter::TxPackets), b)
}

/// Run `BURSTS` bursts; assert that every frame left by unicast to the other
/// side and none was dropped; return the allocations counted.
fn run_unicast(s: &mut Switch) -> u64 {
    let (a0, b0) = tx_counts(s);
    // C is the last interface.
    let c = s.rig.snap.ifaces.len() as u16 - 1;
    let c0 = s.rig.counter(c, Counter::TxPackets);
    let n = run(s);
    let (a1, b1) = tx_counts(s);
    let half = (BURSTS / 2 * BURST) as u64;
    assert_eq!(a1 - a0, half, "frames to A");
    assert_eq!(b1 - b0, half, "frames to the trunk side");
    assert_eq!(
        s.rig.counter(c, Counter::TxPackets),
        c0,
        "port C saw a flood"
    );
    for i in 0..s.rig.snap.ifaces.len() as u16 {
        assert_eq!(s.rig.drops(i), 0, "drops on interface {i}");
    }
    n
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a broken counter would make the tests below pass.
    let (n, v) = allocations_in(|| vec![0u8; 100]);
    assert_eq!(v.len(), 100);
    assert!(n >= 1);
    let (n, ()) = allocations_in(|| ());
    assert_eq!(n, 0);
}

#[test]
fn unicast_access_to_trunk_does_not_allocate() {
    let mut s = switch(BSide::Trunk, 1000);
    assert_eq!(run_unicast(&mut s), 0);
}

#[test]
fn unicast_access_to_access_does_not_allocate() {
    let mut s = switch(BSide::Access, 1000);
    assert_eq!(run_unicast(&mut s), 0);
}

#[test]
fn unicast_through_a_balance_tcp_bond_does_not_allocate() {
    let mut s = switch(BSide::Bond, 1000);
    assert_eq!(run_unicast(&mut s), 0);
    // Both members carried traffic (the hash spread the 64 flows).
    for &m in &s.b {
        assert!(s.rig.counter(m, Counter::TxPackets) > 0);
    }
}
