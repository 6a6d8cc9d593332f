//! Poll-mode driver threads.
//!
//! One thread per core of `pmd-cpu-mask`, pinned with `core_affinity` and
//! registered with EAL (so mempool caches work). Each polls the receive
//! queues assigned to it and runs every burst through the pipeline.
//!
//! The control thread talks to a PMD through a mailbox: messages on a
//! channel plus a flag the PMD reads once per iteration (one relaxed load).
//! A new [`PmdSnapshot`] is adopted between iterations, after the previous
//! iteration's output was flushed — the "safe point". No lock is taken per
//! packet; shared transmit queues are locked once per burst.
//!
//! The thread's statistics ([`PmdCounter`]) are counted in the pipeline's
//! plain [`datapath::counters::PmdCounts`] and published to a
//! [`PmdCountsBlock`] every [`PUBLISH_EVERY`] iterations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{unbounded, Receiver, Sender};
use crossbeam::queue::ArrayQueue;
use datapath::counters::{PmdCounter, PmdCountsBlock};
use datapath::packet::Burst;
use datapath::pipeline::{IfaceIdx, Io, Pmd, Snapshot};
use dpdk::eal::tsc;
use dpdk::Mbuf;

use crate::clock::Clock;
use crate::device::{RxHandle, TxHandle};

/// Slow Protocols frames from PMDs to the control thread: (interface uid, frame).
pub type SlowRing = ArrayQueue<(u32, Mbuf)>;

/// What a PMD thread forwards against: the datapath snapshot plus the maps
/// between stable interface uids and the snapshot's interface indices.
#[derive(Debug, Default)]
pub struct PmdSnapshot {
    /// The snapshot.
    pub snap: Snapshot,
    /// uid → index in `snap.ifaces`.
    pub idx_of: HashMap<u32, IfaceIdx>,
    /// index → uid.
    pub uid_of: Vec<u32>,
}

/// Iterations between two publications of the thread's counters.
pub const PUBLISH_EVERY: u64 = 256;

/// Per-queue busy cycles: one writer, relaxed.
fn add_cycles(c: &AtomicU64, v: u64) {
    c.store(c.load(Relaxed).wrapping_add(v), Relaxed);
}

/// A message to a PMD.
pub enum Msg {
    /// Forward against this snapshot from now on.
    Snapshot(Arc<PmdSnapshot>),
    /// Start polling a receive queue of interface `uid`.
    AddRx {
        /// Interface uid.
        uid: u32,
        /// Queue id.
        queue: u16,
        /// The handle.
        handle: RxHandle,
        /// Poll every this many iterations.
        every: u32,
        /// Busy cycles spent on this queue (for `pmd-rxq-show`).
        cycles: Arc<AtomicU64>,
    },
    /// Stop polling receive queue `queue` of interface `uid` and hand its
    /// handle back (to move it to another PMD).
    TakeRx {
        /// Interface uid.
        uid: u32,
        /// Queue id.
        queue: u16,
        /// Gets the handle and its poll interval, `None` if not polled here.
        ack: Sender<Option<(RxHandle, u32)>>,
    },
    /// Stop polling every receive queue of interface `uid` (handles are dropped).
    RemoveRx {
        /// Interface uid.
        uid: u32,
    },
    /// This thread's transmit handle for interface `uid` (`None` removes it).
    SetTx {
        /// Interface uid.
        uid: u32,
        /// The handle.
        handle: Option<TxHandle>,
    },
    /// Reply once every earlier message is applied.
    Sync(Sender<()>),
    /// Return every handle and exit.
    Exit(Sender<Returned>),
}

/// Handles a PMD gives back when it exits.
#[derive(Default)]
pub struct Returned {
    /// Receive queues: (uid, queue, handle, every, cycles).
    pub rx: Vec<(u32, u16, RxHandle, u32, Arc<AtomicU64>)>,
    /// Transmit handles: (uid, handle).
    pub tx: Vec<(u32, TxHandle)>,
}

struct RxEntry {
    uid: u32,
    queue: u16,
    idx: Option<IfaceIdx>,
    handle: RxHandle,
    every: u32,
    cycles: Arc<AtomicU64>,
}

/// The control thread's handle on one PMD thread.
pub struct PmdThread {
    /// The core it is pinned to (also its slot in every counter block).
    pub core: usize,
    /// Its counters, as last published.
    pub stats: Arc<PmdCountsBlock>,
    tx: Sender<Msg>,
    mail: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PmdThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PmdThread(core {})", self.core)
    }
}

/// How long the control thread waits for a PMD to acknowledge.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

impl PmdThread {
    /// Start a PMD on `core`. `max_sleep_us` lets an idle PMD sleep up to
    /// that long between polls (OVS `pmd-maxsleep`; 0 = busy-poll).
    pub fn spawn(
        core: usize,
        clock: Clock,
        ring: Arc<SlowRing>,
        snapshot: Arc<PmdSnapshot>,
        max_sleep_us: u64,
    ) -> std::io::Result<PmdThread> {
        let (tx, rx) = unbounded();
        let mail = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(PmdCountsBlock::default());
        let (m, s) = (mail.clone(), stats.clone());
        let join = std::thread::Builder::new()
            .name(format!("pmd-c{core:02}"))
            .spawn(move || {
                run(core, rx, m, s, clock, ring, snapshot, max_sleep_us);
            })?;
        Ok(PmdThread {
            core,
            stats,
            tx,
            mail,
            join: Some(join),
        })
    }

    /// Queue a message.
    pub fn send(&self, m: Msg) {
        let _ = self.tx.send(m);
        self.mail.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Wait until every message sent so far is applied.
    pub fn sync(&self) -> bool {
        let (t, r) = crossbeam::channel::bounded(1);
        self.send(Msg::Sync(t));
        r.recv_timeout(ACK_TIMEOUT).is_ok()
    }

    /// Stop polling queue `queue` of interface `uid` and take its handle
    /// back (with its poll interval); `None` if this PMD did not poll it
    /// or did not answer.
    pub fn take_rx(&self, uid: u32, queue: u16) -> Option<(RxHandle, u32)> {
        let (t, r) = crossbeam::channel::bounded(1);
        self.send(Msg::TakeRx { uid, queue, ack: t });
        r.recv_timeout(ACK_TIMEOUT).ok().flatten()
    }

    /// Stop the thread and take back its handles.
    pub fn stop(mut self) -> Returned {
        let (t, r) = crossbeam::channel::bounded(1);
        self.send(Msg::Exit(t));
        let ret = r.recv_timeout(ACK_TIMEOUT).unwrap_or_default();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
        ret
    }
}

struct PmdIo<'a> {
    tx: &'a mut [Option<TxHandle>],
    ring: &'a SlowRing,
    uid_of: &'a [u32],
}

impl Io<Mbuf> for PmdIo<'_> {
    #[inline]
    fn tx(&mut self, iface: IfaceIdx, pkts: &mut Burst<Mbuf>) {
        if let Some(Some(q)) = self.tx.get_mut(iface as usize) {
            q.tx_burst(pkts);
        }
    }

    fn to_control(&mut self, iface: IfaceIdx, pkt: Mbuf) -> Result<(), Mbuf> {
        let uid = self.uid_of.get(iface as usize).copied().unwrap_or(u32::MAX);
        self.ring.push((uid, pkt)).map_err(|(_, p)| p)
    }
}

/// Per-thread state outside the pipeline.
struct State {
    current: Arc<PmdSnapshot>,
    rx: Vec<RxEntry>,
    /// Transmit handles by interface index of the current snapshot.
    tx: Vec<Option<TxHandle>>,
    /// Handles for interfaces the current snapshot does not have (yet).
    parked: HashMap<u32, TxHandle>,
}

impl State {
    fn adopt(&mut self, next: Arc<PmdSnapshot>) {
        let mut all: HashMap<u32, TxHandle> = std::mem::take(&mut self.parked);
        for (i, h) in self.tx.drain(..).enumerate() {
            if let (Some(h), Some(uid)) = (h, self.current.uid_of.get(i)) {
                all.insert(*uid, h);
            }
        }
        self.tx = (0..next.uid_of.len())
            .map(|i| all.remove(&next.uid_of[i]))
            .collect();
        self.parked = all;
        for e in self.rx.iter_mut() {
            e.idx = next.idx_of.get(&e.uid).copied();
        }
        self.current = next;
    }

    fn set_tx(&mut self, uid: u32, h: Option<TxHandle>) {
        self.parked.remove(&uid);
        match self.current.idx_of.get(&uid) {
            Some(&i) => self.tx[i as usize] = h,
            None => {
                if let Some(h) = h {
                    self.parked.insert(uid, h);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    core: usize,
    inbox: Receiver<Msg>,
    mail: Arc<AtomicBool>,
    stats: Arc<PmdCountsBlock>,
    clock: Clock,
    ring: Arc<SlowRing>,
    snapshot: Arc<PmdSnapshot>,
    max_sleep_us: u64,
) {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        crate::warn!("pmd on core {core}: could not pin the thread");
    }
    let _reg = match dpdk::thread::register_current() {
        Ok(r) => Some(r),
        Err(e) => {
            crate::warn!(
                "pmd on core {core}: not registered with EAL ({e}); mempool caches bypassed"
            );
            None
        }
    };
    let mut pmd: Pmd<Mbuf> = Pmd::new(core);
    let mut st = State {
        current: Arc::new(PmdSnapshot::default()),
        rx: Vec::new(),
        tx: Vec::new(),
        parked: HashMap::new(),
    };
    st.adopt(snapshot);
    pmd.sync(&st.current.snap);
    let mut burst: Burst<Mbuf> = Burst::new();
    let mut iter: u64 = 0;
    let mut idle_streak: u32 = 0;
    crate::info!("pmd thread started on core {core}");
    // An iteration starts where the previous one ended: one clock read
    // fewer per iteration. Mail and sleeping read the clock again.
    let mut t0 = tsc();
    loop {
        if mail.load(std::sync::atomic::Ordering::Acquire) {
            mail.store(false, Relaxed);
            while let Ok(m) = inbox.try_recv() {
                match m {
                    Msg::Snapshot(p) => {
                        st.adopt(p);
                        pmd.sync(&st.current.snap);
                    }
                    Msg::AddRx {
                        uid,
                        queue,
                        handle,
                        every,
                        cycles,
                    } => {
                        let idx = st.current.idx_of.get(&uid).copied();
                        st.rx.push(RxEntry {
                            uid,
                            queue,
                            idx,
                            handle,
                            every: every.max(1),
                            cycles,
                        });
                    }
                    Msg::TakeRx { uid, queue, ack } => {
                        let got = st
                            .rx
                            .iter()
                            .position(|e| e.uid == uid && e.queue == queue)
                            .map(|i| {
                                let e = st.rx.remove(i);
                                (e.handle, e.every)
                            });
                        let _ = ack.send(got);
                    }
                    Msg::RemoveRx { uid } => st.rx.retain(|e| e.uid != uid),
                    Msg::SetTx { uid, handle } => st.set_tx(uid, handle),
                    Msg::Sync(ack) => {
                        let _ = ack.send(());
                    }
                    Msg::Exit(ack) => {
                        let mut ret = Returned::default();
                        for e in st.rx.drain(..) {
                            ret.rx.push((e.uid, e.queue, e.handle, e.every, e.cycles));
                        }
                        let uid_of = st.current.uid_of.clone();
                        for (i, h) in st.tx.drain(..).enumerate() {
                            if let (Some(h), Some(uid)) = (h, uid_of.get(i)) {
                                ret.tx.push((*uid, h));
                            }
                        }
                        ret.tx.extend(st.parked.drain());
                        let _ = ack.send(ret);
                        crate::info!("pmd thread on core {core} exiting");
                        return;
                    }
                }
            }
            t0 = tsc();
        }

        let now = clock.ns_at_tsc(t0);
        let mut got = 0usize;
        // One clock read per busy queue: a queue's cycles run from the end
        // of the last busy queue (or the start of the iteration), so an
        // empty poll in between counts towards the next busy queue.
        let mut t_rx = t0;
        {
            let current = &st.current;
            let mut io = PmdIo {
                tx: &mut st.tx,
                ring: &ring,
                uid_of: &current.uid_of,
            };
            for e in st.rx.iter_mut() {
                let Some(idx) = e.idx else { continue };
                if e.every > 1 && !iter.is_multiple_of(u64::from(e.every)) {
                    continue;
                }
                let n = e.handle.rx_burst(&mut burst);
                if n > 0 {
                    got += n;
                    pmd.process(&current.snap, idx, &mut burst, now, &mut io);
                    pmd.flush(&current.snap, &mut io);
                    let t = tsc();
                    add_cycles(&e.cycles, t.wrapping_sub(t_rx));
                    t_rx = t;
                }
            }
        }
        let mut t1 = tsc();
        iter += 1;
        let counts = pmd.counters_mut();
        counts[PmdCounter::Iterations] += 1;
        if got > 0 {
            counts[PmdCounter::BusyCycles] += t1.wrapping_sub(t0);
            counts[PmdCounter::Packets] += got as u64;
            idle_streak = 0;
        } else {
            counts[PmdCounter::IdleCycles] += t1.wrapping_sub(t0);
            if max_sleep_us > 0 {
                idle_streak = idle_streak.saturating_add(1);
                if idle_streak > 1000 {
                    let us = (u64::from(idle_streak - 1000)).min(max_sleep_us);
                    std::thread::sleep(Duration::from_micros(us));
                    t1 = tsc();
                }
            }
        }
        if iter.is_multiple_of(PUBLISH_EVERY) {
            stats.publish(pmd.counters());
        }
        t0 = t1;
    }
}
