//! The one module that acts on devices. It starts EAL and the packet pools,
//! starts and stops PMD threads and hands them receive and transmit queues,
//! opens and closes the device behind each interface, transmits the control
//! thread's own frames, polls carriers, drains the Slow Protocols ring, and
//! gives PMD threads their snapshots. The rest of `control` decides what
//! should exist; this module makes it so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crossbeam::queue::ArrayQueue;
use ctl::db::Db;
use ctl::vhost_sock::Settings;
use datapath::counters::Counter;
use datapath::packet::{Burst, Packet};
use datapath::pipeline::Counters;
use datapath::wire::MacAddr;
use dpdk::{Mbuf, Mempool};

use super::eal::{
    host_cores, init_dpdk, max_sleep_us, shrinking_pool, wanted_pmd_cores, DpdkState,
    JUMBO_DATA_ROOM, POOL_MBUFS, STD_DATA_ROOM,
};
use crate::clock::Clock;
use crate::device::{self, DevSpec, Device, RxSpec, SockAccess, TxHandle};
use crate::pmd_thread::{Msg, PmdSnapshot, PmdThread, Returned, SlowRing};

mod events;
mod rxq;

use rxq::RxqRt;

/// Slow Protocols frames one drain takes at most.
const SLOW_BUDGET: usize = 1024;

/// One interface's device and queues.
pub struct IfaceRt {
    uid: u32,
    spec: DevSpec,
    device: Option<Device>,
    ctl_tx: Option<TxHandle>,
    /// Transmit handles of PMD slots with no running PMD.
    tx_parked: Vec<Option<TxHandle>>,
    /// Its receive queues: where each is ([`rxq`]).
    rxqs: Vec<RxqRt>,
    /// `other_config:pmd-rxq-affinity`: (queue, core).
    affinity: Vec<(u16, u32)>,
    error: Option<String>,
    /// Kept across reopening.
    counters: Arc<Counters>,
    link_up: bool,
    /// Times its device was removed under it (hot-unplug).
    removals: u64,
    /// Since the last removal, its PCI device was seen gone or unbound
    /// (so one bound again is a device that came back).
    seen_gone: bool,
}

impl IfaceRt {
    /// Stable id (PMD messages, the Slow Protocols ring).
    pub fn uid(&self) -> u32 {
        self.uid
    }
    /// What was asked for.
    pub fn spec(&self) -> &DevSpec {
        &self.spec
    }
    /// The open device.
    pub fn device(&self) -> Option<&Device> {
        self.device.as_ref()
    }
    /// Why the device is not open.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// The interface's counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
    /// Carrier as last polled.
    pub fn link_up(&self) -> bool {
        self.link_up
    }
    /// Times its device was removed under it (hot-unplug).
    pub fn removals(&self) -> u64 {
        self.removals
    }
    /// Receive queues handed to PMDs: (core, queue, busy cycles).
    pub fn rx_assigned(&self) -> impl Iterator<Item = (usize, u16, &Arc<AtomicU64>)> {
        self.rxqs
            .iter()
            .filter_map(|q| q.core().map(|c| (c, q.queue, &q.cycles)))
    }
}

/// EAL, the pools, the PMD threads and every interface's device.
pub struct Devices {
    dpdk: Option<DpdkState>,
    dpdk_error: Option<String>,
    /// PMD slots (= CPU cores); counter blocks have one row per slot and
    /// one more for the control thread.
    slots: usize,
    pmds: Vec<PmdThread>,
    ring: Arc<SlowRing>,
    ifaces: BTreeMap<String, IfaceRt>,
    next_uid: u32,
    /// Receive-queue placement: settings, what it was last computed for,
    /// the cores it isolated, when cycles are next sampled.
    rxq: rxq::PlacementState,
    /// What the PMD threads forward against.
    current: Arc<PmdSnapshot>,
    /// The daemon's run directory (its control socket's).
    run_dir: PathBuf,
    /// Where `dpdkvhostuser` sockets go, and who gets them.
    vhost: Settings,
    /// The owner and mode of those sockets.
    access: Result<SockAccess, String>,
}

impl Devices {
    /// Nothing started yet; `run_dir` is the base of `vhost-sock-dir`.
    pub fn new(run_dir: PathBuf) -> Devices {
        let vhost = Settings {
            dir: Ok(run_dir.clone()),
            owner: None,
            mode: ctl::vhost_sock::DEFAULT_MODE,
        };
        let access = SockAccess::from_settings(&vhost);
        Devices {
            run_dir,
            vhost,
            access,
            dpdk: None,
            dpdk_error: None,
            slots: host_cores().max(1),
            pmds: Vec::new(),
            ring: Arc::new(ArrayQueue::new(4096)),
            ifaces: BTreeMap::new(),
            next_uid: 1,
            rxq: rxq::PlacementState::default(),
            current: Arc::new(PmdSnapshot::default()),
        }
    }

    /// PMD slots (one per CPU core).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Whether EAL is up.
    pub fn dpdk_ready(&self) -> bool {
        self.dpdk.is_some()
    }

    /// The interface `name`, if the configuration has it.
    pub fn iface(&self, name: &str) -> Option<&IfaceRt> {
        self.ifaces.get(name)
    }

    /// Every interface, by name.
    pub fn ifaces(&self) -> impl Iterator<Item = (&String, &IfaceRt)> {
        self.ifaces.iter()
    }

    /// The running PMD threads.
    pub fn pmds(&self) -> &[PmdThread] {
        &self.pmds
    }

    /// The MAC address frames from `iface` carry, once its device is open.
    pub fn mac(&self, iface: &str) -> Option<MacAddr> {
        self.ifaces.get(iface)?.device.as_ref().map(Device::mac)
    }

    /// Carrier of `iface` as last polled.
    pub fn link_up(&self, iface: &str) -> bool {
        self.ifaces.get(iface).is_some_and(|r| r.link_up)
    }

    /// Packet buffers in use and in each pool, for `memory/show`.
    pub fn pool_report(&self) -> Vec<(String, u64)> {
        let mut v = Vec::new();
        if let Some(d) = &self.dpdk {
            for p in std::iter::once(&d.pool).chain(d.jumbo.as_ref()) {
                v.push((
                    format!("{} mbufs in use", p.name()),
                    u64::from(p.in_use_count()),
                ));
                v.push((format!("{} mbufs", p.name()), u64::from(p.capacity())));
            }
        }
        v
    }

    /// Start EAL and the standard pool if `db` needs DPDK and it is not up
    /// (or failed) yet; calibrates `clock`'s TSC side.
    pub fn ensure_dpdk(&mut self, db: &Db, clock: &mut Clock) {
        let wanted = db.dpdk_init() || !db.bridges.is_empty();
        if self.dpdk.is_some() || self.dpdk_error.is_some() || !wanted {
            return;
        }
        match init_dpdk(db) {
            Ok(d) => {
                *clock = clock.with_tsc(dpdk::eal::tsc(), dpdk::eal::tsc_hz());
                crate::info!(
                    "DPDK initialized (TSC {} MHz)",
                    dpdk::eal::tsc_hz() / 1_000_000
                );
                self.dpdk = Some(d);
            }
            Err(e) => {
                crate::error!("{e}");
                self.dpdk_error = Some(e);
            }
        }
    }

    fn pool_for(&mut self, mtu: u16) -> Option<Mempool> {
        let d = self.dpdk.as_mut()?;
        if mtu as usize + 18 + 128 <= STD_DATA_ROOM as usize {
            return Some(d.pool.clone());
        }
        if d.jumbo.is_none() {
            match shrinking_pool("rvs_jumbo", POOL_MBUFS / 4, JUMBO_DATA_ROOM) {
                Ok(p) => d.jumbo = Some(p),
                Err(e) => crate::error!("could not create the jumbo mbuf pool: {e}"),
            }
        }
        d.jumbo.clone()
    }

    /// Run PMD threads on the cores `db` asks for: when the set changes,
    /// stop the old ones, take their queues back and hand them to the new
    /// ones. Returns whether anything changed.
    pub fn ensure_pmds(&mut self, db: &Db, clock: Clock) -> bool {
        if self.dpdk.is_none() {
            return false;
        }
        let want = wanted_pmd_cores(db, self.slots);
        let have: Vec<usize> = self.pmds.iter().map(|p| p.core).collect();
        if want == have {
            return false;
        }
        for p in std::mem::take(&mut self.pmds) {
            let core = p.core;
            self.take_back(core, p.stop());
        }
        let max_sleep = max_sleep_us(db);
        for core in want {
            match PmdThread::spawn(
                core,
                clock,
                self.ring.clone(),
                self.current.clone(),
                max_sleep,
            ) {
                Ok(p) => self.pmds.push(p),
                Err(e) => crate::error!("could not start a PMD thread on core {core}: {e}"),
            }
        }
        crate::info!(
            "PMD threads on cores {:?}",
            self.pmds.iter().map(|p| p.core).collect::<Vec<_>>()
        );
        let names: Vec<String> = self.ifaces.keys().cloned().collect();
        for n in names {
            self.hand_out_tx(&n);
        }
        self.place_rxqs(false);
        true
    }

    /// Park the handles a stopped PMD on `core` gave back.
    fn take_back(&mut self, core: usize, ret: Returned) {
        for (uid, queue, handle, every, _cycles) in ret.rx {
            if let Some(rt) = self.ifaces.values_mut().find(|r| r.uid == uid) {
                rt.park(RxSpec {
                    queue,
                    handle,
                    every,
                });
            }
        }
        for (uid, h) in ret.tx {
            if let Some(rt) = self.ifaces.values_mut().find(|r| r.uid == uid) {
                if let Some(slot) = rt.tx_parked.get_mut(core) {
                    *slot = Some(h);
                }
            }
        }
    }

    /// Give parked transmit handles of interface `name` to running PMDs
    /// (receive queues are placed by [`Devices::place_rxqs`]).
    fn hand_out_tx(&mut self, name: &str) {
        let Some(rt) = self.ifaces.get_mut(name) else {
            return;
        };
        for p in &self.pmds {
            if let Some(h) = rt.tx_parked.get_mut(p.core).and_then(Option::take) {
                p.send(Msg::SetTx {
                    uid: rt.uid,
                    handle: Some(h),
                });
            }
        }
    }

    /// Make the open devices match `db`'s interfaces: close those that went
    /// away or whose [`DevSpec`] changed, open the new ones, and place the
    /// receive queues again if their settings, queues or PMDs changed.
    /// Returns whether anything was closed (the PMDs must then get a
    /// snapshot without them before anything else).
    pub fn reconcile(&mut self, db: &Db) -> bool {
        self.vhost = Settings::from_db(db, &self.run_dir, &ctl::SystemEnv::default());
        let access = SockAccess::from_settings(&self.vhost);
        if access != self.access {
            self.access = access;
            self.reapply_sock_access();
        }
        let wanted: Vec<(String, DevSpec)> = db
            .interfaces()
            .map(|(_, _, iface)| {
                let uid = self
                    .ifaces
                    .get(&iface.name)
                    .map_or(self.next_uid, |r| r.uid);
                (
                    iface.name.clone(),
                    device::spec_for(iface, uid, &self.vhost),
                )
            })
            .collect();
        let stale: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(n, rt)| !wanted.iter().any(|(w, s)| w == *n && *s == rt.spec))
            .map(|(n, _)| n.clone())
            .collect();
        for n in &stale {
            self.close_iface(n);
        }
        // Every configuration write retries the interfaces in error (a
        // device that was missing, removed, or busy may be back), keeping
        // their counters.
        let retry: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(_, rt)| rt.device.is_none() && rt.error.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        for n in retry {
            if let Some((_, _, iface)) = db.interface(&n) {
                self.reopen(iface);
            }
        }
        for (name, _) in wanted {
            if !self.ifaces.contains_key(&name) {
                if let Some((_, _, iface)) = db.interface(&name) {
                    self.open_iface(iface);
                }
            }
        }
        for (_, _, iface) in db.interfaces() {
            if let Some(rt) = self.ifaces.get_mut(&iface.name) {
                rt.affinity = iface.rxq_affinity();
            }
        }
        self.rxq.set_settings(db.rxq_settings());
        self.place_rxqs(false);
        !stale.is_empty()
    }

    /// Try again to open an interface that has no device, keeping its
    /// counters. Returns whether it opened.
    fn reopen(&mut self, iface: &ctl::db::Interface) -> bool {
        let Some(old) = self.ifaces.remove(&iface.name) else {
            return false;
        };
        self.open_iface(iface);
        let Some(rt) = self.ifaces.get_mut(&iface.name) else {
            return false;
        };
        rt.counters = old.counters;
        rt.removals = old.removals;
        // A returned device that failed to open is tried again next time.
        rt.seen_gone = old.seen_gone;
        // Whoever saw it down hears it come up from the next poll.
        rt.link_up = false;
        rt.device.is_some()
    }

    fn open_iface(&mut self, iface: &ctl::db::Interface) {
        let name = iface.name.as_str();
        let uid = self.next_uid;
        self.next_uid += 1;
        let mut rt = IfaceRt {
            uid,
            spec: device::spec_for(iface, uid, &self.vhost),
            device: None,
            ctl_tx: None,
            tx_parked: Vec::new(),
            rxqs: Vec::new(),
            affinity: iface.rxq_affinity(),
            error: None,
            // One row per PMD slot, plus the control thread's.
            counters: Counters::new(self.slots + 1),
            link_up: false,
            removals: 0,
            seen_gone: false,
        };
        let pool = self.pool_for(rt.spec.mtu());
        match (&self.dpdk_error, pool) {
            (Some(e), _) => rt.error = Some(e.clone()),
            (None, None) => rt.error = Some("DPDK is not initialized".into()),
            (None, Some(pool)) => {
                let seed = u64::from(uid) ^ 0x5256_5357;
                match device::open(&rt.spec, self.slots, &pool, seed, &self.access) {
                    Ok(o) => {
                        if let Device::Eth { dev, .. } = &o.device {
                            if let Err(e) = dpdk::events::watch_port(dev.port()) {
                                crate::warn!("{name}: no device events: {e}");
                            }
                        }
                        rt.link_up = o.device.link_up();
                        crate::info!(
                            "{name}: attached ({:?}), link {}",
                            o.device,
                            if rt.link_up { "up" } else { "down" }
                        );
                        rt.device = Some(o.device);
                        rt.ctl_tx = Some(o.ctl_tx);
                        rt.tx_parked = o.pmd_tx.into_iter().map(Some).collect();
                        rt.rxqs = o.rx.into_iter().map(RxqRt::parked).collect();
                    }
                    Err(e) => {
                        crate::warn!("{name}: could not attach: {e}");
                        rt.error = Some(e);
                    }
                }
            }
        }
        self.ifaces.insert(name.to_string(), rt);
        self.hand_out_tx(name);
    }

    fn close_iface(&mut self, name: &str) {
        if let Some(mut rt) = self.ifaces.remove(name) {
            self.detach(name, &mut rt);
        }
    }

    /// Take `rt`'s queues back from the PMDs, then close its device.
    fn detach(&mut self, name: &str, rt: &mut IfaceRt) {
        for p in &self.pmds {
            p.send(Msg::RemoveRx { uid: rt.uid });
            p.send(Msg::SetTx {
                uid: rt.uid,
                handle: None,
            });
        }
        for p in &self.pmds {
            if !p.sync() {
                crate::error!(
                    "pmd on core {} did not acknowledge removal of {name}",
                    p.core
                );
            }
        }
        rt.rxqs.clear();
        rt.tx_parked.clear();
        rt.ctl_tx = None;
        if let Some(d) = rt.device.take() {
            d.close();
            crate::info!("{name}: detached");
        }
    }

    /// Transmit `frame` on `iface` from the control thread (LACPDUs,
    /// Marker responses, learning packets), counted on the interface.
    pub fn send_frame(&mut self, iface: &str, frame: &[u8]) {
        let Some(pool) = self.dpdk.as_ref().map(|d| d.pool.clone()) else {
            return;
        };
        let Some(rt) = self.ifaces.get_mut(iface) else {
            return;
        };
        let Some(tx) = rt.ctl_tx.as_mut() else { return };
        let Ok(m) = Mbuf::from_bytes(&pool, frame) else {
            crate::warn!("{iface}: no mbuf for a control frame");
            return;
        };
        let mut burst: Burst<Mbuf> = Burst::new();
        burst.push(m);
        tx.tx_burst(&mut burst);
        let row = rt.counters.pmd(self.slots);
        if burst.is_empty() {
            row.inc(Counter::TxPackets);
            row.add(Counter::TxBytes, frame.len() as u64);
        } else {
            row.inc(Counter::TxFull);
            crate::warn!("{iface}: transmit queue full, control frame dropped");
        }
    }

    /// Hand each Slow Protocols frame the PMDs queued (at most
    /// [`SLOW_BUDGET`]) to `f` with its interface's name.
    pub fn drain_slow(&mut self, mut f: impl FnMut(&str, &[u8])) {
        for _ in 0..SLOW_BUDGET {
            let Some((uid, pkt)) = self.ring.pop() else {
                break;
            };
            if let Some((name, _)) = self.ifaces.iter().find(|(_, r)| r.uid == uid) {
                f(name, pkt.data());
            }
        }
    }

    /// Give every PMD thread `snap` to forward against.
    pub fn publish(&mut self, snap: PmdSnapshot) {
        let snap = Arc::new(snap);
        for p in &self.pmds {
            p.send(Msg::Snapshot(snap.clone()));
        }
        self.current = snap;
    }

    /// Stop the PMD threads and close every device.
    pub fn shutdown(&mut self) {
        for p in std::mem::take(&mut self.pmds) {
            drop(p.stop());
        }
        let names: Vec<String> = self.ifaces.keys().cloned().collect();
        for n in names {
            self.close_iface(&n);
        }
    }
}
