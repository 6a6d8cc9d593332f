//! The control thread: it owns the configuration, the devices, the MAC
//! tables and the bond/LACP machines, answers vsctl requests, and
//! publishes snapshots to the PMD threads.
//!
//! It wakes at least every [`TICK_MS`] to run timers: LACP and bond
//! deadlines, link polling, rebalancing, and MAC aging once a second.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender};
use crossbeam::queue::ArrayQueue;
use ctl::db::Db;
use ctl::proto::{Request, Response};
use datapath::bond::BondActions;
use datapath::lacp::LacpActions;
use datapath::mac_table::MacTable;
use datapath::packet::{Burst, Packet};
use datapath::pipeline::{
    BondPort, BridgeView, Counters, IfaceIdx, IfaceView, PortKind, PortView, Snapshot, NO_BRIDGE,
};
use datapath::time::Millis;
use datapath::wire::MacAddr;
use dpdk::{Eal, Mbuf, Mempool};

use crate::bonds::BondRt;
use crate::clock::Clock;
use crate::device::{self, DevSpec, Device, RxSpec, TxHandle};
use crate::pmd::{Msg, Plan, PmdThread, Returned, SlowRing};

/// Timer resolution of the control thread.
pub const TICK_MS: u64 = 10;
/// How often links are polled.
const LINK_POLL_MS: u64 = 100;
/// Frames each mbuf pool holds.
/// Packet buffers the shared pool tries first; halved until EAL can
/// provide it (OVS's shared-mempool sizing). A replaying pcap port holds one
/// buffer per frame of its file.
const POOL_MBUFS: u32 = 262_143;
/// The smallest pool worth running with.
const MIN_POOL_MBUFS: u32 = 16_383;
/// Data room of the standard pool (2 KiB frames plus headroom).
const STD_DATA_ROOM: u16 = 2048 + 128;
/// Data room of the jumbo pool.
const JUMBO_DATA_ROOM: u16 = 9216 + 128;

/// A request from a socket thread and where to send the reply.
pub type Job = (Request, Sender<Response>);

struct DpdkState {
    _eal: Eal,
    pool: Mempool,
    jumbo: Option<Mempool>,
}

/// One interface at run time.
pub struct IfaceRt {
    /// Stable id (for PMD messages and the slow-protocol ring).
    pub uid: u32,
    /// What was opened.
    pub spec: DevSpec,
    /// The open device.
    pub device: Option<Device>,
    /// The control thread's transmit handle.
    pub ctl_tx: Option<TxHandle>,
    /// Transmit handles of PMD slots with no running PMD.
    pub tx_parked: Vec<Option<TxHandle>>,
    /// Receive queues waiting for a PMD.
    pub rx_parked: Vec<RxSpec>,
    /// Where its receive queues went: (PMD core, queue, busy cycles).
    pub rx_assigned: Vec<(usize, u16, Arc<AtomicU64>)>,
    /// Why the device is not open.
    pub error: Option<String>,
    /// Counters (kept across reopening).
    pub counters: Arc<Counters>,
    /// Carrier.
    pub link_up: bool,
    /// Carrier changes seen.
    pub link_resets: u64,
}

/// One bridge at run time.
pub struct BridgeRt {
    /// Its MAC table.
    pub mac: Arc<MacTable>,
    /// Its MAC address (LACP system id default).
    pub hwaddr: MacAddr,
    /// The `mac-table-size` it was built with.
    pub size: usize,
    /// Stable port numbers (the MAC table's port values) and the VLAN
    /// configuration each port had when numbered.
    pub ports: BTreeMap<String, (u16, datapath::vlan::PortVlan)>,
    /// Stable interface numbers, unique in the bridge, from 1 (OVS's
    /// OpenFlow port numbers): LACP port ids, so that two bonds on one
    /// bridge never advertise the same port id or key.
    pub iface_no: BTreeMap<String, u16>,
}

impl BridgeRt {
    /// Number the bridge's current ports: keep existing numbers, give new
    /// ports the lowest free one, and forget (flushing their MAC entries)
    /// ports that are gone or whose VLAN configuration changed.
    fn number_ports(&mut self, br: &ctl::db::Bridge) {
        let wanted: Vec<(String, datapath::vlan::PortVlan)> = br
            .ports
            .iter()
            .filter_map(|p| p.port_vlan().ok().map(|v| (p.name.clone(), v)))
            .collect();
        let mac = self.mac.clone();
        self.ports.retain(|name, (no, vlan)| {
            let keep = wanted.iter().any(|(n, v)| n == name && v == vlan);
            if !keep {
                mac.flush_port(*no);
            }
            keep
        });
        for (name, vlan) in wanted {
            if !self.ports.contains_key(&name) {
                let used: std::collections::BTreeSet<u16> =
                    self.ports.values().map(|(n, _)| *n).collect();
                let no = (0u16..).find(|n| !used.contains(n)).unwrap_or(0);
                self.ports.insert(name, (no, vlan));
            }
        }
        let ifaces: Vec<&str> = br
            .ports
            .iter()
            .flat_map(|p| p.interfaces.iter().map(|i| i.name.as_str()))
            .collect();
        self.iface_no.retain(|n, _| ifaces.contains(&n.as_str()));
        for name in ifaces {
            if !self.iface_no.contains_key(name) {
                let used: std::collections::BTreeSet<u16> =
                    self.iface_no.values().copied().collect();
                let no = (1u16..).find(|n| !used.contains(n)).unwrap_or(1);
                self.iface_no.insert(name.to_string(), no);
            }
        }
    }
}

/// The control thread's state.
pub struct Control {
    /// The configuration.
    pub db: Db,
    conf_path: PathBuf,
    /// The clock.
    pub clock: Clock,
    dpdk: Option<DpdkState>,
    /// Why DPDK is not initialized, if it failed.
    pub dpdk_error: Option<String>,
    /// PMD slots (= CPU cores); counter blocks have one row per slot.
    pub slots: usize,
    /// Running PMD threads.
    pub pmds: Vec<PmdThread>,
    ring: Arc<SlowRing>,
    /// Interfaces by name.
    pub ifaces: BTreeMap<String, IfaceRt>,
    /// Bridges by name.
    pub bridges: BTreeMap<String, BridgeRt>,
    /// Bonds by port name.
    pub bonds: BTreeMap<String, BondRt>,
    /// Port counters by port name.
    pub port_counters: HashMap<String, Arc<Counters>>,
    next_uid: u32,
    generation: u64,
    dirty: bool,
    /// The plan the PMDs run.
    pub plan: Arc<Plan>,
    rxq_rr: usize,
    /// `pmd-stats-clear` baselines by core.
    pub pmd_baseline: HashMap<usize, [u64; 8]>,
    next_link_poll: Millis,
    next_age: Millis,
}

/// Parse a kernel CPU list such as `0-3,8`; the number of CPUs in it.
fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0;
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                n += b
                    .parse::<usize>()
                    .ok()?
                    .checked_sub(a.parse::<usize>().ok()?)?
                    + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// A packet pool of `n` buffers, or the largest of n/2, n/4, ... down to
/// [`MIN_POOL_MBUFS`] that the memory allows.
fn shrinking_pool(name: &str, mut n: u32, data_room: u16) -> Result<Mempool, dpdk::DpdkError> {
    loop {
        match Mempool::pktmbuf(name, n, 256, data_room, dpdk::eal::SOCKET_ID_ANY) {
            Ok(p) => {
                crate::info!("{name}: {n} packet buffers of {data_room} bytes");
                return Ok(p);
            }
            Err(e) if n / 2 < MIN_POOL_MBUFS => return Err(e),
            Err(_) => n /= 2,
        }
    }
}

fn default_pmd_core(main_lcore: usize, n_cores: usize) -> usize {
    (0..n_cores).find(|c| *c != main_lcore).unwrap_or(0)
}

/// Online CPUs of the machine, whatever this process's affinity is (the
/// daemon may be started under `taskset`, and EAL pins the main thread).
fn host_cores() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| parse_cpu_list(s.trim()))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

impl Control {
    /// A control thread for `db`, persisted at `conf_path`.
    pub fn new(db: Db, conf_path: PathBuf) -> Control {
        let slots = host_cores().max(1);
        Control {
            db,
            conf_path,
            clock: Clock::new(),
            dpdk: None,
            dpdk_error: None,
            slots,
            pmds: Vec::new(),
            ring: Arc::new(ArrayQueue::new(4096)),
            ifaces: BTreeMap::new(),
            bridges: BTreeMap::new(),
            bonds: BTreeMap::new(),
            port_counters: HashMap::new(),
            next_uid: 1,
            generation: 0,
            dirty: true,
            plan: Arc::new(Plan::default()),
            rxq_rr: 0,
            pmd_baseline: HashMap::new(),
            next_link_poll: Millis::ZERO,
            next_age: Millis::ZERO,
        }
    }

    /// Whether EAL is up.
    pub fn dpdk_ready(&self) -> bool {
        self.dpdk.is_some()
    }

    /// `memory/show`: what the daemon holds, as `key: value` pairs.
    pub fn memory_report(&self) -> Vec<(String, u64)> {
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
        v.push(("bridges".into(), self.bridges.len() as u64));
        v.push(("interfaces".into(), self.ifaces.len() as u64));
        v.push(("bonds".into(), self.bonds.len() as u64));
        let macs: usize = self.bridges.values().map(|b| b.mac.len()).sum();
        v.push(("mac entries".into(), macs as u64));
        let rss_kb = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        v.push(("rss kB".into(), rss_kb));
        v
    }

    // ---------------------------------------------------------------- main loop

    /// Serve requests and run timers until `stop` says so.
    pub fn run(&mut self, jobs: Receiver<Job>, stop: &dyn Fn() -> bool) {
        self.apply();
        loop {
            if stop() {
                break;
            }
            match jobs.recv_timeout(Duration::from_millis(TICK_MS)) {
                Ok((req, reply)) => {
                    let resp = self.handle_request(&req);
                    let _ = reply.send(resp);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.tick();
        }
        self.shutdown();
    }

    /// Everything periodic.
    pub fn tick(&mut self) {
        let now = self.clock.now();
        self.poll_slow_ring(now);
        if now >= self.next_link_poll {
            self.next_link_poll = now + LINK_POLL_MS;
            self.poll_links(now);
        }
        self.run_machines(now);
        if now >= self.next_age {
            self.next_age = now + 1000;
            for b in self.bridges.values() {
                b.mac.age(now);
            }
        }
        if self.dirty {
            self.publish();
        }
    }

    /// Stop PMDs and close every device.
    pub fn shutdown(&mut self) {
        for p in std::mem::take(&mut self.pmds) {
            drop(p.stop());
        }
        let names: Vec<String> = self.ifaces.keys().cloned().collect();
        for n in names {
            self.close_iface(&n);
        }
        crate::info!("vswitchd stopped");
    }

    // ---------------------------------------------------------------- requests

    /// Run one vsctl request.
    pub fn handle_request(&mut self, req: &Request) -> Response {
        let env = ctl::SystemEnv;
        let argv = req.effective_argv();
        let outcome = {
            let live = crate::runtime::Live(self);
            ctl::execute(&self.db, &argv, &env, &live)
        };
        let mut outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                crate::info!("rejected request {:?}: {}", argv, e.message);
                return Response::error(e.message);
            }
        };
        if let Some(new) = outcome.new_db.take() {
            if let Err(e) = ctl::store::save(&self.conf_path, &new) {
                crate::error!("could not save {}: {e}", self.conf_path.display());
                return Response::error(format!(
                    "configuration not changed: could not save it: {e}"
                ));
            }
            self.db = new;
            self.apply();
        }
        let mut handler = crate::runtime::Commands(self);
        Response::from_outcome(outcome, &mut handler)
    }

    // ---------------------------------------------------------------- reconfiguration

    fn want_dpdk(&self) -> bool {
        self.db.dpdk_init() || !self.db.bridges.is_empty()
    }

    fn init_dpdk(&mut self) {
        if self.dpdk.is_some() || self.dpdk_error.is_some() || !self.want_dpdk() {
            return;
        }
        let args = match crate::eal_args::build(&self.db, crate::eal_args::Host::probe()) {
            Ok(a) => a,
            Err(e) => {
                self.dpdk_error = Some(e);
                return;
            }
        };
        crate::info!("initializing DPDK: {}", args.join(" "));
        let eal = match Eal::init(&args) {
            Ok(e) => e,
            Err(e) => {
                crate::error!("DPDK initialization failed: {e}");
                self.dpdk_error = Some(format!("DPDK initialization failed: {e}"));
                return;
            }
        };
        let pool = match shrinking_pool("rvs_std", POOL_MBUFS, STD_DATA_ROOM) {
            Ok(p) => p,
            Err(e) => {
                crate::error!("could not create the mbuf pool: {e}");
                self.dpdk_error = Some(format!("could not create the mbuf pool: {e}"));
                return;
            }
        };
        self.clock = self.clock.with_tsc(dpdk::eal::tsc(), dpdk::eal::tsc_hz());
        crate::info!(
            "DPDK initialized (TSC {} MHz)",
            dpdk::eal::tsc_hz() / 1_000_000
        );
        self.dpdk = Some(DpdkState {
            _eal: eal,
            pool,
            jumbo: None,
        });
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

    fn wanted_pmd_cores(&self) -> Vec<usize> {
        // Not available_parallelism(): EAL pins this thread to its lcore.
        let n = self.slots;
        let mut v: Vec<usize> = match self.db.pmd_cpus() {
            Some(c) if !c.is_empty() => c.into_iter().filter(|c| *c < n).collect(),
            _ => Vec::new(),
        };
        if v.is_empty() {
            v.push(default_pmd_core(crate::eal_args::main_lcore(&self.db), n));
        }
        v.sort();
        v.dedup();
        v
    }

    fn max_sleep_us(&self) -> u64 {
        self.db
            .other_config
            .get("pmd-maxsleep")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            .min(10_000)
    }

    fn ensure_pmds(&mut self) {
        if self.dpdk.is_none() {
            return;
        }
        let want = self.wanted_pmd_cores();
        let have: Vec<usize> = self.pmds.iter().map(|p| p.core).collect();
        if want == have {
            return;
        }
        // Stop the current set and take their queues back.
        let mut returned: Vec<(usize, Returned)> = Vec::new();
        for p in std::mem::take(&mut self.pmds) {
            let core = p.core;
            returned.push((core, p.stop()));
        }
        for (core, ret) in returned {
            for (uid, queue, handle, every, _cycles) in ret.rx {
                if let Some(rt) = self.ifaces.values_mut().find(|r| r.uid == uid) {
                    rt.rx_parked.push(RxSpec {
                        queue,
                        handle,
                        every,
                    });
                    rt.rx_assigned.clear();
                }
            }
            for (uid, h) in ret.tx {
                if let Some(rt) = self.ifaces.values_mut().find(|r| r.uid == uid) {
                    if core < rt.tx_parked.len() {
                        rt.tx_parked[core] = Some(h);
                    }
                }
            }
        }
        let max_sleep = self.max_sleep_us();
        for core in want {
            match PmdThread::spawn(
                core,
                self.clock,
                self.ring.clone(),
                self.plan.clone(),
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
            self.hand_out_queues(&n);
        }
        self.dirty = true;
    }

    /// Give parked queues of interface `name` to running PMDs.
    fn hand_out_queues(&mut self, name: &str) {
        if self.pmds.is_empty() {
            return;
        }
        let Some(rt) = self.ifaces.get_mut(name) else {
            return;
        };
        for rx in rt.rx_parked.drain(..) {
            let p = &self.pmds[self.rxq_rr % self.pmds.len()];
            self.rxq_rr += 1;
            let cycles = Arc::new(AtomicU64::new(0));
            rt.rx_assigned.push((p.core, rx.queue, cycles.clone()));
            p.send(Msg::AddRx {
                uid: rt.uid,
                queue: rx.queue,
                handle: rx.handle,
                every: rx.every,
                cycles,
            });
        }
        for p in &self.pmds {
            if let Some(h) = rt.tx_parked.get_mut(p.core).and_then(Option::take) {
                p.send(Msg::SetTx {
                    uid: rt.uid,
                    handle: Some(h),
                });
            }
        }
    }

    /// Make the running state match `self.db`.
    pub fn apply(&mut self) {
        crate::debug!("applying configuration ({} bridges)", self.db.bridges.len());
        self.init_dpdk();
        self.ensure_pmds();
        let now = self.clock.now();

        // Bridges and their MAC tables.
        let wanted: Vec<(String, usize, u32, MacAddr)> = self
            .db
            .bridges
            .iter()
            .map(|b| {
                let hw = b.hwaddr().unwrap_or_else(|| {
                    let u = b.uuid.to_string();
                    let seed = u
                        .bytes()
                        .fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(c as u64));
                    device::derived_mac(seed)
                });
                (
                    b.name.clone(),
                    b.mac_table_size(),
                    b.mac_aging_time_s() as u32,
                    hw,
                )
            })
            .collect();
        self.bridges.retain(|n, _| wanted.iter().any(|w| &w.0 == n));
        for (name, size, aging, hw) in wanted {
            let rt = self
                .bridges
                .entry(name.clone())
                .or_insert_with(|| BridgeRt {
                    mac: Arc::new(MacTable::new(size, aging)),
                    hwaddr: hw,
                    size,
                    ports: BTreeMap::new(),
                    iface_no: BTreeMap::new(),
                });
            rt.hwaddr = hw;
            if rt.size != size {
                rt.mac = Arc::new(rt.mac.resized(size));
                rt.size = size;
            }
            if rt.mac.aging_secs() != aging {
                rt.mac.set_aging(aging);
            }
        }
        for br in &self.db.bridges {
            if let Some(rt) = self.bridges.get_mut(&br.name) {
                rt.number_ports(br);
            }
        }

        // Interfaces: close what went away or changed, open what is new.
        let mut wanted: Vec<(String, DevSpec)> = Vec::new();
        for (_, _, iface) in self.db.interfaces() {
            let uid = self
                .ifaces
                .get(&iface.name)
                .map(|r| r.uid)
                .unwrap_or(self.next_uid);
            wanted.push((iface.name.clone(), device::spec_for(iface, uid)));
        }
        let stale: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(n, rt)| !wanted.iter().any(|(w, s)| w == *n && *s == rt.spec))
            .map(|(n, _)| n.clone())
            .collect();
        if !stale.is_empty() {
            for n in &stale {
                self.close_iface(n);
            }
            self.publish();
        }
        for (name, spec) in wanted {
            if !self.ifaces.contains_key(&name) {
                self.open_iface(&name, spec);
            }
        }

        // Bonds.
        self.reconcile_bonds(now);
        // Admin state of bond members follows the configuration.
        self.dirty = true;
        self.publish();
    }

    fn open_iface(&mut self, name: &str, spec: DevSpec) {
        let uid = self.next_uid;
        self.next_uid += 1;
        // One counter row per PMD slot, plus the control thread's.
        let counters = Counters::new(self.slots + 1);
        let mut rt = IfaceRt {
            uid,
            spec: spec.clone(),
            device: None,
            ctl_tx: None,
            tx_parked: Vec::new(),
            rx_parked: Vec::new(),
            rx_assigned: Vec::new(),
            error: None,
            counters,
            link_up: false,
            link_resets: 0,
        };
        // Recompute the spec with the uid actually assigned (vdev names).
        if let Some((_, _, iface)) = self.db.interface(name) {
            rt.spec = device::spec_for(iface, uid);
        }
        let pool = self.pool_for(rt.spec.mtu());
        match (&self.dpdk_error, pool) {
            (Some(e), _) => rt.error = Some(e.clone()),
            (None, None) => rt.error = Some("DPDK is not initialized".into()),
            (None, Some(pool)) => {
                match device::open(&rt.spec, self.slots, &pool, u64::from(uid) ^ 0x5256_5357) {
                    Ok(o) => {
                        rt.link_up = o.device.link_up();
                        crate::info!(
                            "{name}: attached ({:?}), link {}",
                            o.device,
                            if rt.link_up { "up" } else { "down" }
                        );
                        rt.device = Some(o.device);
                        rt.ctl_tx = Some(o.ctl_tx);
                        rt.tx_parked = o.pmd_tx.into_iter().map(Some).collect();
                        rt.rx_parked = o.rx;
                    }
                    Err(e) => {
                        crate::warn!("{name}: could not attach: {e}");
                        rt.error = Some(e);
                    }
                }
            }
        }
        self.ifaces.insert(name.to_string(), rt);
        self.hand_out_queues(name);
        self.dirty = true;
    }

    fn close_iface(&mut self, name: &str) {
        let Some(mut rt) = self.ifaces.remove(name) else {
            return;
        };
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
        rt.rx_parked.clear();
        rt.tx_parked.clear();
        rt.ctl_tx = None;
        if let Some(d) = rt.device.take() {
            d.close();
            crate::info!("{name}: detached");
        }
        self.dirty = true;
    }

    fn reconcile_bonds(&mut self, now: Millis) {
        let mut keep = Vec::new();
        let ports: Vec<(String, ctl::db::Port)> = self
            .db
            .ports()
            .filter(|(_, p)| p.is_bond())
            .map(|(b, p)| (b.name.clone(), p.clone()))
            .collect();
        for (bridge, port) in ports {
            keep.push(port.name.clone());
            let hw = self
                .bridges
                .get(&bridge)
                .map(|b| b.hwaddr)
                .unwrap_or(MacAddr::ZERO);
            let macs: Vec<MacAddr> = port
                .interfaces
                .iter()
                .map(|i| {
                    self.ifaces
                        .get(&i.name)
                        .and_then(|r| r.device.as_ref().map(Device::mac))
                        .unwrap_or_else(|| device::derived_mac(u64::from(i.name.len() as u32) ^ 7))
                })
                .collect();
            let carrier: Vec<bool> = port
                .interfaces
                .iter()
                .map(|i| self.ifaces.get(&i.name).is_some_and(|r| r.link_up))
                .collect();
            let admin: Vec<bool> = port.interfaces.iter().map(|i| i.admin_up()).collect();
            let numbers: Vec<u16> = port
                .interfaces
                .iter()
                .enumerate()
                .map(|(i, iface)| {
                    self.bridges
                        .get(&bridge)
                        .and_then(|b| b.iface_no.get(&iface.name).copied())
                        .unwrap_or(i as u16 + 1)
                })
                .collect();
            let key = (
                crate::bonds::bond_config(&port),
                crate::bonds::lacp_config(&port, hw),
                crate::bonds::member_configs(&port, &macs, &numbers),
            );
            let members: Vec<String> = port.interfaces.iter().map(|i| i.name.clone()).collect();
            let same = self
                .bonds
                .get(&port.name)
                .is_some_and(|b| b.key == key && b.members == members);
            if !same {
                let rt = BondRt::new(
                    &port, hw, &macs, &numbers, &carrier, &admin, self.slots, now,
                );
                crate::info!("bond {}: configured ({} members)", port.name, members.len());
                self.bonds.insert(port.name.clone(), rt);
            } else {
                // Admin state changes reach the bond and LACP.
                for (i, a) in admin.iter().enumerate() {
                    let Some(b) = self.bonds.get_mut(&port.name) else {
                        break;
                    };
                    let was_up = b.admin.get(i).copied().unwrap_or(true);
                    let farewell = if was_up && !*a {
                        b.farewell(i as u16)
                    } else {
                        None
                    };
                    let (l, bd) = b.set_link(i as u16, carrier[i], *a, now);
                    if let Some(f) = farewell {
                        self.send_frame(&members[i], &f);
                    }
                    self.after_actions(&port.name, l, bd);
                }
            }
        }
        self.bonds.retain(|n, _| keep.contains(n));
    }

    // ---------------------------------------------------------------- machines

    fn poll_slow_ring(&mut self, now: Millis) {
        let mut budget = 1024;
        while let Some((uid, pkt)) = self.ring.pop() {
            budget -= 1;
            let Some((name, _)) = self.ifaces.iter().find(|(_, r)| r.uid == uid) else {
                continue;
            };
            let name = name.clone();
            let bond = self
                .bonds
                .iter_mut()
                .find_map(|(bn, b)| b.member(&name).map(|m| (bn.clone(), m)));
            if let Some((bn, m)) = bond {
                let b = self.bonds.get_mut(&bn).expect("bond exists");
                if let Some(l) = b.lacp.as_mut() {
                    let acts = l.rx_frame(m, pkt.data(), now);
                    self.after_actions(&bn, acts, BondActions::default());
                }
            }
            if budget == 0 {
                break;
            }
        }
    }

    fn run_machines(&mut self, now: Millis) {
        let names: Vec<String> = self.bonds.keys().cloned().collect();
        for bn in names {
            let Some(b) = self.bonds.get_mut(&bn) else {
                continue;
            };
            let l = match b.lacp.as_mut() {
                Some(l) if l.next_deadline().is_some_and(|d| d <= now) => l.tick(now),
                _ => LacpActions::default(),
            };
            let mut acts = if b.bond.next_deadline().is_some_and(|d| d <= now) {
                b.bond.tick(now)
            } else {
                BondActions::default()
            };
            if b.bond.rebalance_due(now) {
                let totals = b.loads.totals();
                let mut delta = [0u64; 256];
                for i in 0..256 {
                    delta[i] = totals[i].wrapping_sub(b.last_loads[i]);
                }
                b.last_loads = totals;
                acts.merge(b.bond.rebalance(&delta, now));
            }
            self.after_actions(&bn, l, acts);
        }
    }

    /// Carry out what the LACP and bond machines of `bond` asked for.
    fn after_actions(&mut self, bond: &str, l: LacpActions, mut b: BondActions) {
        let now = self.clock.now();
        if !l.enabled_changed.is_empty() {
            if let Some(rt) = self.bonds.get_mut(bond) {
                let status = rt.lacp.as_ref().map(|l| l.status());
                for (m, en) in &l.enabled_changed {
                    let who = rt.members.get(*m as usize).cloned().unwrap_or_default();
                    let why = status
                        .as_ref()
                        .and_then(|s| s.member(*m))
                        .map(|ms| lacp_cause(ms, *en))
                        .unwrap_or_else(|| "removed from the bond".into());
                    crate::info!(
                        "bond {bond}: member {who}: LACP {} ({why})",
                        if *en { "enabled" } else { "disabled" }
                    );
                }
                b.merge(rt.sync_lacp(now));
            }
        }
        for (m, frame) in &l.tx {
            let Some(iface) = self
                .bonds
                .get(bond)
                .and_then(|rt| rt.members.get(*m as usize))
                .cloned()
            else {
                continue;
            };
            self.send_frame(&iface, frame);
        }
        if !b.events.is_empty() {
            let members = self
                .bonds
                .get(bond)
                .map(|rt| rt.members.clone())
                .unwrap_or_default();
            for e in &b.events {
                crate::info!("bond {bond}: {}", bond_event_text(e, &members));
            }
        }
        if b.changed {
            self.dirty = true;
        }
        if b.send_learning_packets {
            self.send_learning_packets(bond);
        }
    }

    /// After an active-backup or balance-slb bond moved traffic to other
    /// members, tell the physical switch where every station behind the
    /// other ports now is: one RARP per MAC entry, sent on the member that
    /// now carries that station's traffic (as OVS does).
    fn send_learning_packets(&mut self, bond: &str) {
        const MAX_FRAMES: usize = 4096;
        let Some(bridge) = self.db.port(bond).map(|(b, _)| b.name.clone()) else {
            return;
        };
        let Some(brt) = self.bridges.get(&bridge) else {
            return;
        };
        let Some((bond_no, vlan_cfg)) = brt.ports.get(bond).cloned() else {
            return;
        };
        let Some(b) = self.bonds.get(bond) else {
            return;
        };
        let view = b.bond.view();
        if view.lacp_negotiated || !view.up {
            return;
        }
        let now = self.clock.now();
        let mut frames: Vec<(String, Vec<u8>)> = Vec::new();
        for e in brt
            .mac
            .entries(now)
            .into_iter()
            .filter(|e| e.port != bond_no)
            .take(MAX_FRAMES)
        {
            let tag = match vlan_cfg.egress(e.vlan) {
                datapath::vlan::EgressAction::Drop => continue,
                datapath::vlan::EgressAction::Untagged => None,
                datapath::vlan::EgressAction::Tagged => Some(e.vlan),
            };
            let h = datapath::hash::slb(e.mac, e.vlan, view.hash_basis);
            let member = match view.mode {
                datapath::bond::BondMode::BalanceSlb => view.member_for_hash(h),
                _ => view.active_member(),
            };
            let Some(iface) = member.and_then(|m| b.members.get(m as usize)) else {
                continue;
            };
            frames.push((iface.clone(), rarp(e.mac, tag)));
        }
        let n = frames.len();
        for (iface, f) in frames {
            self.send_frame(&iface, &f);
        }
        if n > 0 {
            crate::info!("bond {bond}: sent {n} learning packets");
        }
    }

    /// Transmit `frame` on `iface` from the control thread.
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
            row.inc(datapath::counters::Counter::TxPackets);
            row.add(datapath::counters::Counter::TxBytes, frame.len() as u64);
        } else {
            row.inc(datapath::counters::Counter::TxFull);
            crate::warn!("{iface}: transmit queue full, control frame dropped");
        }
    }

    fn poll_links(&mut self, now: Millis) {
        let mut changed: Vec<(String, bool)> = Vec::new();
        let mut requeue: Vec<String> = Vec::new();
        for (name, rt) in self.ifaces.iter_mut() {
            let Some(dev) = rt.device.as_mut() else {
                continue;
            };
            let up = dev.link_up();
            if let Device::Vhost {
                client,
                queues,
                generation,
                ..
            } = dev
            {
                let st = client.status();
                if st.generation != *generation {
                    *generation = st.generation;
                    if st.n_queues > *queues {
                        requeue.push(name.clone());
                    }
                }
            }
            if up != rt.link_up {
                rt.link_up = up;
                rt.link_resets += 1;
                changed.push((name.clone(), up));
            }
        }
        for name in requeue {
            self.grow_vhost_queues(&name);
        }
        for (name, up) in changed {
            crate::info!("{name}: link {}", if up { "up" } else { "down" });
            self.dirty = true;
            let admin = self
                .db
                .interface(&name)
                .map(|(_, _, i)| i.admin_up())
                .unwrap_or(true);
            let bond = self
                .bonds
                .iter()
                .find_map(|(bn, b)| b.member(&name).map(|m| (bn.clone(), m)));
            if let Some((bn, m)) = bond {
                let (l, b) = self
                    .bonds
                    .get_mut(&bn)
                    .expect("bond")
                    .set_link(m, up, admin, now);
                self.after_actions(&bn, l, b);
            }
        }
    }

    fn grow_vhost_queues(&mut self, name: &str) {
        let Some(pool) = self.dpdk.as_ref().map(|d| d.pool.clone()) else {
            return;
        };
        let slots = self.slots;
        let Some(rt) = self.ifaces.get_mut(name) else {
            return;
        };
        let Some(Device::Vhost { client, queues, .. }) = rt.device.as_mut() else {
            return;
        };
        let want = client.status().n_queues;
        let mut added = Vec::new();
        for q in *queues..want {
            match client.rx_queue(q, &pool) {
                Ok(h) => added.push(RxSpec {
                    queue: q,
                    handle: Box::new(h),
                    every: 1,
                }),
                Err(e) => crate::warn!("{name}: queue {q}: {e}"),
            }
        }
        crate::info!("{name}: guest negotiated {want} queue pairs");
        *queues = want;
        let _ = slots;
        rt.rx_parked.extend(added);
        self.hand_out_queues(name);
    }

    // ---------------------------------------------------------------- snapshots

    /// A port number with no port behind it: it carries no VLAN and has no
    /// interface, so nothing is ever sent to it.
    fn placeholder_port(&self) -> PortView {
        PortView {
            name: "".into(),
            vlan: datapath::vlan::PortVlan::access(4095),
            kind: PortKind::Single(IfaceIdx::MAX),
            counters: Counters::new(1),
        }
    }

    /// Build and publish a snapshot of the current state.
    pub fn publish(&mut self) {
        self.dirty = false;
        self.generation += 1;
        let mut ifaces: Vec<IfaceView> = Vec::new();
        let mut idx_of: HashMap<u32, IfaceIdx> = HashMap::new();
        let mut uid_of: Vec<u32> = Vec::new();
        let mut bridges = Vec::new();
        for (bi, br) in self.db.bridges.iter().enumerate() {
            let Some(brt) = self.bridges.get(&br.name) else {
                continue;
            };
            let n_ports = brt
                .ports
                .values()
                .map(|(n, _)| *n as usize + 1)
                .max()
                .unwrap_or(0);
            let mut ports: Vec<PortView> = (0..n_ports).map(|_| self.placeholder_port()).collect();
            for port in &br.ports {
                let Some((no, vlan)) = brt.ports.get(&port.name).cloned() else {
                    continue;
                };
                let pidx = no;
                let bond = self.bonds.get(&port.name);
                let lacp = bond.is_some_and(|b| b.lacp.is_some());
                let mut members: Vec<(u16, IfaceIdx)> = Vec::new();
                for (mi, iface) in port.interfaces.iter().enumerate() {
                    let Some(rt) = self.ifaces.get(&iface.name) else {
                        continue;
                    };
                    let idx = ifaces.len() as IfaceIdx;
                    ifaces.push(IfaceView {
                        name: iface.name.as_str().into(),
                        bridge: bi as u16,
                        port: pidx,
                        member: mi as u8,
                        admin_up: iface.admin_up(),
                        link_up: rt.link_up && rt.device.is_some(),
                        max_frame_len: u32::from(rt.spec.mtu()) + 18,
                        lacp,
                        counters: rt.counters.clone(),
                    });
                    idx_of.insert(rt.uid, idx);
                    uid_of.push(rt.uid);
                    members.push((mi as u16, idx));
                }
                let kind = match bond {
                    Some(b) => {
                        let view = b.bond.view();
                        let map: smallvec::SmallVec<[IfaceIdx; 8]> = view
                            .members
                            .iter()
                            .map(|m| {
                                members
                                    .iter()
                                    .find(|(mi, _)| mi == m)
                                    .map(|(_, i)| *i)
                                    .unwrap_or(IfaceIdx::MAX)
                            })
                            .collect();
                        PortKind::Bond(Box::new(BondPort {
                            view,
                            ifaces: map,
                            loads: b.loads.clone(),
                        }))
                    }
                    None => match members.first() {
                        Some((_, i)) => PortKind::Single(*i),
                        None => continue,
                    },
                };
                let counters = self
                    .port_counters
                    .entry(port.name.clone())
                    .or_insert_with(|| Counters::new(self.slots))
                    .clone();
                ports[no as usize] = PortView {
                    name: port.name.as_str().into(),
                    vlan,
                    kind,
                    counters,
                };
            }
            bridges.push(BridgeView {
                name: br.name.as_str().into(),
                mac: brt.mac.clone(),
                ports,
            });
        }
        // Interfaces in no bridge (none today, but keep the invariant).
        let _ = NO_BRIDGE;
        let plan = Arc::new(Plan {
            snap: Snapshot {
                generation: self.generation,
                bridges,
                ifaces,
            },
            idx_of,
            uid_of,
        });
        for p in &self.pmds {
            p.send(Msg::Plan(plan.clone()));
        }
        self.plan = plan;
    }
}

/// Why LACP enabled or disabled a member, from its status after the change.
fn lacp_cause(m: &datapath::lacp::LacpMemberStatus, enabled: bool) -> String {
    use datapath::lacp::RxState;
    let p = &m.partner;
    if enabled {
        return format!(
            "partner {} port {} in sync, collecting and distributing",
            p.sys_id, p.port_id
        );
    }
    if !m.carrier {
        return "link down".into();
    }
    match m.rx_state {
        RxState::PortDisabled => "link down".into(),
        RxState::Expired => "no LACPDU from the partner within the timeout (expired)".into(),
        RxState::Defaulted => "no partner (defaulted)".into(),
        RxState::Current if !m.attached => format!(
            "not selected: partner {} key {} does not match the bond's aggregator",
            p.sys_id, p.key
        ),
        RxState::Current if !p.state.is_synchronized() => {
            format!("partner {} port {} is not in sync", p.sys_id, p.port_id)
        }
        RxState::Current if !p.state.is_collecting() => {
            format!("partner {} port {} is not collecting", p.sys_id, p.port_id)
        }
        RxState::Current => format!("mux state {}", m.mux_state),
    }
}

/// A bond event for the log, with member names instead of numbers.
fn bond_event_text(e: &datapath::bond::BondEvent, members: &[String]) -> String {
    use datapath::bond::BondEvent as E;
    let name = |m: u16| {
        members
            .get(m as usize)
            .cloned()
            .unwrap_or_else(|| m.to_string())
    };
    let opt = |m: Option<u16>| m.map_or_else(|| "none".to_string(), name);
    let text = e.to_string();
    match e {
        E::DelayStarted { member, .. }
        | E::DelayCancelled { member, .. }
        | E::MemberEnabled { member, .. }
        | E::MemberDisabled { member, .. } => text.replacen(
            &format!("member {member}:"),
            &format!("member {}:", name(*member)),
            1,
        ),
        E::ActiveChanged { from, to: Some(to) } => {
            format!("active member is now {} (was {})", name(*to), opt(*from))
        }
        E::BucketsMoved { from, to, count } => {
            format!("moved {count} hashes from {} to {}", opt(*from), opt(*to))
        }
        _ => text,
    }
}

/// A RARP frame announcing `mac` (optionally 802.1Q-tagged), padded to 60
/// bytes before the tag.
pub fn rarp(mac: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&MacAddr::BROADCAST.0);
    f.extend_from_slice(&mac.0);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(v & 0xfff).to_be_bytes());
    }
    f.extend_from_slice(&[0x80, 0x35, 0, 1, 0x08, 0x00, 6, 4, 0, 3]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0; 4]);
    f.resize(60 + if vlan.is_some() { 4 } else { 0 }, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
    }

    #[test]
    fn rarp_layout() {
        let m = MacAddr([0x52, 0x54, 0, 0, 0, 9]);
        let f = rarp(m, None);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[6..12], &m.0);
        assert_eq!(&f[12..14], &[0x80, 0x35]);
        assert_eq!(&f[20..22], &[0, 3], "reverse request");
        let t = rarp(m, Some(300));
        assert_eq!(t.len(), 64);
        let l2 = datapath::wire::ethernet::parse_l2(&t).unwrap();
        assert_eq!(l2.vid(), Some(300));
        assert_eq!(l2.ethertype, 0x8035);
    }
}
