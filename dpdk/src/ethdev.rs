//! Ethernet ports: hot-plug ([`probe`]/[`remove`]), configuration, link and
//! statistics ([`EthDev`]), and the data path ([`EthRxQueue`],
//! [`EthTxQueue`], implementing the `datapath` queue traits).
//!
//! Safety of the data path against the control side: every port has a
//! gate (see `gate.rs`). [`EthDev::start`] opens it, [`EthDev::stop`],
//! [`EthDev::configure`] (which requires a stopped port) and [`remove`]
//! close it and wait for bursts in flight. A burst on a closed gate, or on
//! a queue the current configuration does not have, returns 0 without
//! touching the device. Each queue can have one handle at a time (DPDK
//! queues are single-threaded), so two threads never share a queue.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use datapath::packet::{Burst, RxQueue, TxQueue, BURST};
use datapath::wire::MacAddr;
use dpdk_sys as sys;

use crate::eal::ensure_init;
use crate::error::{DpdkError, Result};
use crate::gate::{BusyFlag, Gate};
use crate::mbuf::{forget_front, Mbuf};
use crate::mempool::Mempool;

/// A DPDK ethdev port id.
pub type PortId = u16;

/// Control state of one port, shared by its [`EthDev`] handles and queues.
#[derive(Debug)]
struct PortState {
    gate: Gate,
    /// Configured queue counts; changed only while the gate is closed.
    n_rxq: AtomicU16,
    n_txq: AtomicU16,
    ctl: Mutex<PortCtl>,
}

#[derive(Debug, Default)]
struct PortCtl {
    started: bool,
    removed: bool,
    rx_claimed: BTreeSet<u16>,
    tx_claimed: BTreeSet<u16>,
    /// Pools the device's rx queues allocate from: kept alive while the
    /// device may still hand out their mbufs.
    pools: Vec<Mempool>,
}

impl PortState {
    fn lock(&self) -> MutexGuard<'_, PortCtl> {
        self.ctl.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The state of every port this process opened with [`EthDev::new`].
static PORTS: Mutex<BTreeMap<PortId, Arc<PortState>>> = Mutex::new(BTreeMap::new());

fn ports_lock() -> MutexGuard<'static, BTreeMap<PortId, Arc<PortState>>> {
    PORTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn port_target(port: PortId) -> String {
    format!("port {port}")
}

fn check(op: &'static str, port: PortId, ret: i32) -> Result<()> {
    if ret < 0 {
        Err(DpdkError::from_ret(op, port_target(port), ret))
    } else {
        Ok(())
    }
}

/// Whether `port` is a valid, attached ethdev port.
pub fn is_valid_port(port: PortId) -> bool {
    if !crate::Eal::is_initialized() {
        return false;
    }
    // SAFETY: EAL is initialized; any port id is accepted.
    unsafe { sys::rte_eth_dev_is_valid_port(port) != 0 }
}

/// Every attached ethdev port, in id order.
pub fn ports() -> Vec<PortId> {
    let mut out = Vec::new();
    if !crate::Eal::is_initialized() {
        return out;
    }
    let mut p: u16 = 0;
    loop {
        // SAFETY: EAL is initialized; returns the next valid port >= p or
        // RTE_MAX_ETHPORTS.
        let next = unsafe { sys::rte_eth_find_next(p) };
        if u32::from(next) >= sys::RTE_MAX_ETHPORTS {
            return out;
        }
        out.push(next);
        p = next + 1;
    }
}

/// The ethdev name of `port` (`net_null0`, `0000:08:00.0`, ...).
pub fn port_name(port: PortId) -> Result<String> {
    ensure_init("rte_eth_dev_get_name_by_port", &port_target(port))?;
    let mut buf = [0 as c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size DPDK writes at
    // most (NUL included).
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(port, buf.as_mut_ptr()) };
    check("rte_eth_dev_get_name_by_port", port, ret)?;
    // SAFETY: on success DPDK wrote a NUL-terminated string into buf.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

fn port_by_name(name: &str) -> Option<PortId> {
    let c = CString::new(name).ok()?;
    let mut port: u16 = 0;
    // SAFETY: `c` is a valid C string; `port` is a valid out pointer.
    let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut port) };
    if ret == 0 {
        return Some(port);
    }
    // Fall back to the name of the underlying device (ports of one device
    // may be named differently, e.g. PCI representors).
    ports().into_iter().find(|&p| {
        raw_info(p)
            .ok()
            .and_then(|i| device_name(i.device))
            .is_some_and(|n| n == name)
    })
}

fn device_name(dev: *const sys::rte_device) -> Option<String> {
    if dev.is_null() {
        return None;
    }
    // SAFETY: `dev` is a live device pointer from rte_eth_dev_info_get.
    let p = unsafe { sys::rte_dev_name(dev) };
    if p.is_null() {
        return None;
    }
    // SAFETY: rte_dev_name returns a NUL-terminated string owned by the
    // device; copied at once.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// DPDK's names of the offload bits set in `capa`.
fn offload_names(capa: u64, name: unsafe extern "C" fn(u64) -> *const c_char) -> Vec<String> {
    (0..64)
        .map(|b| 1u64 << b)
        .filter(|bit| capa & bit != 0)
        .filter_map(|bit| {
            // SAFETY: pure lookup; returns a static string or "UNKNOWN".
            let p = unsafe { name(bit) };
            if p.is_null() {
                return None;
            }
            // SAFETY: non-null static NUL-terminated string.
            Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

fn raw_info(port: PortId) -> Result<sys::rte_eth_dev_info> {
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: EAL is initialized (callers check); `info` is a valid out
    // pointer; DPDK validates the port id.
    let ret = unsafe { sys::rte_eth_dev_info_get(port, &mut info) };
    check("rte_eth_dev_info_get", port, ret)?;
    Ok(info)
}

/// Hot-plug a device and return its (first) ethdev port.
///
/// `devargs` is a PCI address (`0000:08:00.0`) or a vdev string
/// (`net_pcap0,rx_pcap=/tmp/x.pcap,infinite_rx=1`, `net_null0`,
/// `net_af_packet0,iface=veth0`). The port is found by the device name
/// (devargs up to the first comma). When that device is already attached,
/// its port is returned without probing again.
pub fn probe(devargs: &str) -> Result<PortId> {
    const OP: &str = "rte_dev_probe";
    ensure_init(OP, devargs)?;
    let name = devargs.split(',').next().unwrap_or_default().trim();
    if name.is_empty() {
        return Err(DpdkError::other(OP, devargs, "empty device name"));
    }
    if let Some(p) = port_by_name(name) {
        return Ok(p);
    }
    let c = CString::new(devargs)
        .map_err(|_| DpdkError::other(OP, devargs, "devargs contain a NUL byte"))?;
    // SAFETY: EAL is initialized; `c` is a valid C string DPDK copies.
    let ret = unsafe { sys::rte_dev_probe(c.as_ptr()) };
    if ret < 0 {
        return Err(DpdkError::from_ret(OP, devargs, ret));
    }
    port_by_name(name).ok_or_else(|| {
        DpdkError::other(
            OP,
            devargs,
            format!("device {name} was probed but has no ethdev port"),
        )
    })
}

/// Detach a port: stop it (waiting for bursts in flight), close it, and
/// remove its device once no other port uses it. Queue handles still alive
/// become inert (their bursts return 0); [`EthDev`] handles return errors.
pub fn remove(port: PortId) -> Result<()> {
    ensure_init("rte_eth_dev_close", &port_target(port))?;
    let state = ports_lock().remove(&port);
    let mut was_started = false;
    let mut ctl_guard = state.as_ref().map(|s| {
        let mut ctl = s.lock();
        ctl.removed = true;
        was_started = ctl.started;
        ctl.started = false;
        s.gate.close();
        ctl
    });
    let info = raw_info(port)?;
    let dev = info.device;
    if was_started {
        // SAFETY: valid port; no burst is in flight (gate closed above, and
        // queues can only be used through gated handles). A port is only
        // ever started through EthDev::start, so one without state is
        // stopped already. A failure to stop does not prevent closing.
        unsafe { sys::rte_eth_dev_stop(port) };
    }
    // SAFETY: as above; after this the port id is released.
    let ret = unsafe { sys::rte_eth_dev_close(port) };
    check("rte_eth_dev_close", port, ret)?;
    if let Some(ctl) = ctl_guard.as_mut() {
        // The device freed its queues' mbufs; the pools may go.
        ctl.pools.clear();
    }
    if !dev.is_null() {
        // SAFETY: `dev` stays valid until rte_dev_remove; RTE_MAX_ETHPORTS
        // means no port of this device remains.
        let other = unsafe { sys::rte_eth_find_next_of(0, dev) };
        if u32::from(other) >= sys::RTE_MAX_ETHPORTS {
            // SAFETY: no ethdev port uses the device any more.
            let ret = unsafe { sys::rte_dev_remove(dev) };
            check("rte_dev_remove", port, ret)?;
        }
    }
    Ok(())
}

/// Static facts about a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevInfo {
    /// The ethdev name (`net_ring0`, `0000:08:00.0`).
    pub name: String,
    /// The PMD (`net_null`, `net_ice`, ...).
    pub driver_name: String,
    /// Largest number of receive queues.
    pub max_rx_queues: u16,
    /// Largest number of transmit queues.
    pub max_tx_queues: u16,
    /// Configured receive queues.
    pub nb_rx_queues: u16,
    /// Configured transmit queues.
    pub nb_tx_queues: u16,
    /// Smallest MTU.
    pub min_mtu: u16,
    /// Largest MTU.
    pub max_mtu: u16,
    /// Largest receive descriptor ring.
    pub max_rx_desc: u16,
    /// Largest transmit descriptor ring.
    pub max_tx_desc: u16,
    /// RSS hash types the device supports (0 = no RSS).
    pub rss_offloads: u64,
    /// Largest frame the device receives.
    pub max_rx_pktlen: u32,
    /// Receive offloads the device offers, by DPDK's names (`IPV4_CKSUM`).
    pub rx_offloads: Vec<String>,
    /// Transmit offloads the device offers (`TCP_TSO`, `UDP_CKSUM`, ...).
    pub tx_offloads: Vec<String>,
}

/// Link state (`rte_eth_link_get_nowait`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Carrier.
    pub up: bool,
    /// Speed in Mb/s; 0 when unknown.
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Basic device counters (`rte_eth_stats_get`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct EthStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the device dropped because its rx queues were full.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Receive mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// A control handle for one port. Cheap to clone, `Send + Sync`; every
/// method is control path (may lock and call into DPDK).
#[derive(Clone, Debug)]
pub struct EthDev {
    port: PortId,
    state: Arc<PortState>,
}

impl EthDev {
    /// A handle for an attached port (from [`probe`]). All handles of a
    /// port share its state.
    pub fn new(port: PortId) -> Result<EthDev> {
        ensure_init("EthDev::new", &port_target(port))?;
        if !is_valid_port(port) {
            return Err(DpdkError::from_errno(
                "EthDev::new",
                port_target(port),
                libc::ENODEV,
            ));
        }
        let mut ports = ports_lock();
        let state = ports
            .entry(port)
            .or_insert_with(|| {
                Arc::new(PortState {
                    gate: Gate::new(false),
                    n_rxq: AtomicU16::new(0),
                    n_txq: AtomicU16::new(0),
                    ctl: Mutex::new(PortCtl::default()),
                })
            })
            .clone();
        Ok(EthDev { port, state })
    }

    /// The port id.
    pub fn port(&self) -> PortId {
        self.port
    }

    /// Lock the control state, failing when the port was removed.
    fn ctl(&self, op: &'static str) -> Result<MutexGuard<'_, PortCtl>> {
        let ctl = self.state.lock();
        if ctl.removed {
            return Err(DpdkError::other(
                op,
                port_target(self.port),
                "port was removed",
            ));
        }
        Ok(ctl)
    }

    /// Static facts: names, queue and MTU limits.
    pub fn info(&self) -> Result<DevInfo> {
        let _ctl = self.ctl("rte_eth_dev_info_get")?;
        let i = raw_info(self.port)?;
        let driver_name = if i.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: non-null NUL-terminated static string of the driver.
            unsafe { CStr::from_ptr(i.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(DevInfo {
            name: port_name(self.port)?,
            driver_name,
            max_rx_queues: i.max_rx_queues,
            max_tx_queues: i.max_tx_queues,
            nb_rx_queues: i.nb_rx_queues,
            nb_tx_queues: i.nb_tx_queues,
            min_mtu: i.min_mtu,
            max_mtu: i.max_mtu,
            max_rx_desc: i.rx_desc_lim.nb_max,
            max_tx_desc: i.tx_desc_lim.nb_max,
            rss_offloads: i.flow_type_rss_offloads,
            max_rx_pktlen: i.max_rx_pktlen,
            rx_offloads: offload_names(i.rx_offload_capa, sys::rte_eth_dev_rx_offload_name),
            tx_offloads: offload_names(i.tx_offload_capa, sys::rte_eth_dev_tx_offload_name),
        })
    }

    /// The name of the device behind the port (`0000:08:00.0` for a PCI
    /// NIC, the vdev name otherwise): what device events name.
    pub fn device_name(&self) -> Option<String> {
        raw_info(self.port).ok().and_then(|i| device_name(i.device))
    }

    /// The device's extended statistics (`rte_eth_xstats_get`), by name.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>> {
        let _ctl = self.ctl("rte_eth_xstats_get")?;
        let port = self.port;
        // SAFETY: NULL with size 0 asks for the count only.
        let n = unsafe { sys::rte_eth_xstats_get_names(port, core::ptr::null_mut(), 0) };
        check("rte_eth_xstats_get_names", port, n)?;
        let n = n as usize;
        let mut names = vec![sys::rte_eth_xstat_name::default(); n];
        let mut values = vec![sys::rte_eth_xstat::default(); n];
        // SAFETY: `names` holds `n` entries, the size passed.
        let got = unsafe { sys::rte_eth_xstats_get_names(port, names.as_mut_ptr(), n as u32) };
        check("rte_eth_xstats_get_names", port, got)?;
        // SAFETY: `values` holds `n` entries, the size passed.
        let got2 = unsafe { sys::rte_eth_xstats_get(port, values.as_mut_ptr(), n as u32) };
        check("rte_eth_xstats_get", port, got2)?;
        let count = (got as usize).min(got2 as usize).min(n);
        Ok(values[..count]
            .iter()
            .filter_map(|v| {
                let name = names.get(v.id as usize)?;
                // SAFETY: DPDK wrote a NUL-terminated name into the
                // 64-byte array (it truncates longer ones).
                let s = unsafe { CStr::from_ptr(name.name.as_ptr()) };
                Some((s.to_string_lossy().into_owned(), v.value))
            })
            .collect())
    }

    /// The NUMA socket of the device ([`crate::eal::SOCKET_ID_ANY`] when
    /// unknown): create its mempool there.
    pub fn socket_id(&self) -> i32 {
        // SAFETY: EAL is initialized (we exist); DPDK validates the port.
        let s = unsafe { sys::rte_eth_dev_socket_id(self.port) };
        if s < 0 {
            sys::SOCKET_ID_ANY
        } else {
            s
        }
    }

    /// Configure `n_rxq` receive and `n_txq` transmit queues with rings of
    /// `rxq_desc`/`txq_desc` descriptors (0 = driver default; adjusted to
    /// the device limits), receiving into `mempool`. With more than one
    /// receive queue, RSS over IP/TCP/UDP is enabled when the device has it.
    /// The port must be stopped.
    pub fn configure(
        &self,
        n_rxq: u16,
        n_txq: u16,
        rxq_desc: u16,
        txq_desc: u16,
        mempool: &Mempool,
    ) -> Result<()> {
        let port = self.port;
        let mut ctl = self.ctl("rte_eth_dev_configure")?;
        if ctl.started {
            return Err(DpdkError::other(
                "rte_eth_dev_configure",
                port_target(port),
                "port is started (stop it first)",
            ));
        }
        // The device may hold mbufs of the new pool from the first queue
        // setup on, and of the old pools until it is fully reconfigured.
        if !ctl.pools.iter().any(|p| p.as_ptr() == mempool.as_ptr()) {
            ctl.pools.push(mempool.clone());
        }
        // Gate is closed while stopped; no burst can see these change.
        self.state.n_rxq.store(0, Ordering::SeqCst);
        self.state.n_txq.store(0, Ordering::SeqCst);
        let info = raw_info(port)?;
        let mut conf = sys::rte_eth_conf::default();
        // Link-state interrupts stay off: with them on, DPDK answers
        // rte_eth_link_get_nowait from a cache only the interrupt updates,
        // and an interrupt that never comes (e1000e under vfio in a TCG
        // guest lost every carrier change) hides a dead link. Polling asks
        // the device.
        if n_rxq > 1 {
            // SAFETY: pure helper returning a constant.
            let want = unsafe { sys::rvs_eth_rss_ip_tcp_udp() };
            let hf = want & info.flow_type_rss_offloads;
            if hf != 0 {
                conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
                conf.rx_adv_conf.rss_conf.rss_hf = hf;
                // SAFETY: pure helper returning a constant.
                let rss_hash = unsafe { sys::rvs_eth_rx_offload_rss_hash() };
                if info.rx_offload_capa & rss_hash != 0 {
                    conf.rxmode.offloads |= rss_hash;
                }
            }
        }
        // SAFETY: valid port, stopped; `conf` is a valid config DPDK copies.
        let ret = unsafe { sys::rte_eth_dev_configure(port, n_rxq, n_txq, &conf) };
        check("rte_eth_dev_configure", port, ret)?;
        let (mut nb_rxd, mut nb_txd) = (rxq_desc, txq_desc);
        // SAFETY: valid port; both pointers are valid in/out u16s.
        let ret = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(port, &mut nb_rxd, &mut nb_txd) };
        check("rte_eth_dev_adjust_nb_rx_tx_desc", port, ret)?;
        let socket = self.socket_id();
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..n_rxq {
            // SAFETY: configured port, q < n_rxq; NULL rxconf = driver
            // defaults; the pool outlives the queue (kept in ctl.pools).
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(
                    port,
                    q,
                    nb_rxd,
                    socket,
                    core::ptr::null(),
                    mempool.as_ptr(),
                )
            };
            if ret < 0 {
                return Err(DpdkError::from_ret(
                    "rte_eth_rx_queue_setup",
                    format!("port {port} queue {q}"),
                    ret,
                ));
            }
        }
        for q in 0..n_txq {
            // SAFETY: configured port, q < n_txq; NULL txconf = defaults.
            let ret =
                unsafe { sys::rte_eth_tx_queue_setup(port, q, nb_txd, socket, core::ptr::null()) };
            if ret < 0 {
                return Err(DpdkError::from_ret(
                    "rte_eth_tx_queue_setup",
                    format!("port {port} queue {q}"),
                    ret,
                ));
            }
        }
        // Every rx queue now uses `mempool`; the old queues (and their
        // mbufs) were released by the reconfiguration.
        ctl.pools.retain(|p| p.as_ptr() == mempool.as_ptr());
        self.state.n_rxq.store(n_rxq, Ordering::SeqCst);
        self.state.n_txq.store(n_txq, Ordering::SeqCst);
        Ok(())
    }

    /// Start the device and let queue bursts in.
    pub fn start(&self) -> Result<()> {
        let mut ctl = self.ctl("rte_eth_dev_start")?;
        if ctl.started {
            return Ok(());
        }
        // SAFETY: valid, configured port; control path serialized by ctl.
        let ret = unsafe { sys::rte_eth_dev_start(self.port) };
        check("rte_eth_dev_start", self.port, ret)?;
        ctl.started = true;
        self.state.gate.open();
        Ok(())
    }

    /// Keep bursts out, wait for those in flight, then stop the device.
    pub fn stop(&self) -> Result<()> {
        let mut ctl = self.ctl("rte_eth_dev_stop")?;
        if !ctl.started {
            return Ok(());
        }
        self.state.gate.close();
        ctl.started = false;
        // SAFETY: valid port; no burst is in flight (gate closed).
        let ret = unsafe { sys::rte_eth_dev_stop(self.port) };
        check("rte_eth_dev_stop", self.port, ret)
    }

    /// Whether the port is started.
    pub fn is_started(&self) -> bool {
        self.state.lock().started
    }

    /// Set the MTU (L3 bytes, without Ethernet header and CRC).
    pub fn set_mtu(&self, mtu: u16) -> Result<()> {
        let _ctl = self.ctl("rte_eth_dev_set_mtu")?;
        // SAFETY: valid port; DPDK validates the value.
        let ret = unsafe { sys::rte_eth_dev_set_mtu(self.port, mtu) };
        check("rte_eth_dev_set_mtu", self.port, ret)
    }

    /// The current MTU.
    pub fn mtu(&self) -> Result<u16> {
        let _ctl = self.ctl("rte_eth_dev_get_mtu")?;
        let mut mtu = 0u16;
        // SAFETY: valid port; `mtu` is a valid out pointer.
        let ret = unsafe { sys::rte_eth_dev_get_mtu(self.port, &mut mtu) };
        check("rte_eth_dev_get_mtu", self.port, ret)?;
        Ok(mtu)
    }

    /// Turn promiscuous mode on or off.
    pub fn promiscuous(&self, on: bool) -> Result<()> {
        let _ctl = self.ctl("rte_eth_promiscuous_enable")?;
        // SAFETY: valid port.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.port)
            } else {
                sys::rte_eth_promiscuous_disable(self.port)
            }
        };
        check(
            if on {
                "rte_eth_promiscuous_enable"
            } else {
                "rte_eth_promiscuous_disable"
            },
            self.port,
            ret,
        )
    }

    /// The port's MAC address.
    pub fn mac_addr(&self) -> Result<MacAddr> {
        let _ctl = self.ctl("rte_eth_macaddr_get")?;
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: valid port; `a` is a valid out pointer.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.port, &mut a) };
        check("rte_eth_macaddr_get", self.port, ret)?;
        Ok(MacAddr(a.addr_bytes))
    }

    /// Link state, without waiting.
    pub fn link(&self) -> Result<Link> {
        let _ctl = self.ctl("rte_eth_link_get_nowait")?;
        let mut l = sys::rte_eth_link::default();
        // SAFETY: valid port; `l` is a valid out pointer.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.port, &mut l) };
        check("rte_eth_link_get_nowait", self.port, ret)?;
        let speed = l.link_speed;
        Ok(Link {
            up: u32::from(l.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: if speed == sys::RTE_ETH_SPEED_NUM_UNKNOWN {
                0
            } else {
                speed
            },
            full_duplex: u32::from(l.link_duplex()) == sys::RTE_ETH_LINK_FULL_DUPLEX,
        })
    }

    /// Device counters.
    pub fn stats(&self) -> Result<EthStats> {
        let _ctl = self.ctl("rte_eth_stats_get")?;
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: valid port; `s` is a valid out pointer.
        let ret = unsafe { sys::rte_eth_stats_get(self.port, &mut s) };
        check("rte_eth_stats_get", self.port, ret)?;
        Ok(EthStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Zero the device counters.
    pub fn reset_stats(&self) -> Result<()> {
        let _ctl = self.ctl("rte_eth_stats_reset")?;
        // SAFETY: valid port.
        let ret = unsafe { sys::rte_eth_stats_reset(self.port) };
        check("rte_eth_stats_reset", self.port, ret)
    }

    /// The receive side of queue `q` (must be configured, and not already
    /// held by another handle).
    pub fn rx_queue(&self, q: u16) -> Result<EthRxQueue> {
        const OP: &str = "EthDev::rx_queue";
        let mut ctl = self.ctl(OP)?;
        let target = format!("port {} queue {q}", self.port);
        if q >= self.state.n_rxq.load(Ordering::SeqCst) {
            return Err(DpdkError::other(OP, target, "queue is not configured"));
        }
        if !ctl.rx_claimed.insert(q) {
            return Err(DpdkError::other(OP, target, "queue is already in use"));
        }
        let flag = self.state.gate.join();
        Ok(EthRxQueue {
            state: self.state.clone(),
            flag,
            port: self.port,
            queue: q,
        })
    }

    /// The transmit side of queue `q` (must be configured, and not already
    /// held by another handle).
    pub fn tx_queue(&self, q: u16) -> Result<EthTxQueue> {
        const OP: &str = "EthDev::tx_queue";
        let mut ctl = self.ctl(OP)?;
        let target = format!("port {} queue {q}", self.port);
        if q >= self.state.n_txq.load(Ordering::SeqCst) {
            return Err(DpdkError::other(OP, target, "queue is not configured"));
        }
        if !ctl.tx_claimed.insert(q) {
            return Err(DpdkError::other(OP, target, "queue is already in use"));
        }
        let flag = self.state.gate.join();
        Ok(EthTxQueue {
            state: self.state.clone(),
            flag,
            port: self.port,
            queue: q,
        })
    }
}

/// The receive side of one ethdev queue. `Send`; one handle per queue.
#[derive(Debug)]
pub struct EthRxQueue {
    state: Arc<PortState>,
    flag: Arc<BusyFlag>,
    port: PortId,
    queue: u16,
}

impl EthRxQueue {
    /// (port, queue).
    pub fn id(&self) -> (PortId, u16) {
        (self.port, self.queue)
    }
}

impl Drop for EthRxQueue {
    fn drop(&mut self) {
        self.state.gate.leave(&self.flag);
        self.state.lock().rx_claimed.remove(&self.queue);
    }
}

impl RxQueue<Mbuf> for EthRxQueue {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<Mbuf>) -> usize {
        let len = out.len();
        if len >= BURST {
            return 0;
        }
        let st = &*self.state;
        if !st.gate.enter(&self.flag) {
            return 0;
        }
        let mut got = 0;
        if self.queue < st.n_rxq.load(Ordering::Relaxed) {
            let want = BURST - len;
            // No allocation while the burst stays within its inline capacity.
            out.reserve(want);
            // SAFETY: the gate is open, so the port is started and
            // configured with this queue (n_rxq changes only while the gate
            // is closed); this handle is the queue's only user. `out` has
            // room for `want` more pointers after `len`; DPDK writes at
            // most `want` valid mbuf pointers there, whose ownership passes
            // to us, and set_len makes exactly those visible.
            unsafe {
                got = usize::from(sys::rte_eth_rx_burst(
                    self.port,
                    self.queue,
                    out.as_mut_ptr().add(len).cast::<*mut sys::rte_mbuf>(),
                    want as u16,
                ));
                out.set_len(len + got);
            }
        }
        Gate::exit(&self.flag);
        got
    }
}

/// The transmit side of one ethdev queue. `Send`; one handle per queue.
#[derive(Debug)]
pub struct EthTxQueue {
    state: Arc<PortState>,
    flag: Arc<BusyFlag>,
    port: PortId,
    queue: u16,
}

impl EthTxQueue {
    /// (port, queue).
    pub fn id(&self) -> (PortId, u16) {
        (self.port, self.queue)
    }
}

impl Drop for EthTxQueue {
    fn drop(&mut self) {
        self.state.gate.leave(&self.flag);
        self.state.lock().tx_claimed.remove(&self.queue);
    }
}

impl TxQueue<Mbuf> for EthTxQueue {
    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        let n = pkts.len().min(usize::from(u16::MAX));
        if n == 0 {
            return 0;
        }
        let st = &*self.state;
        if !st.gate.enter(&self.flag) {
            return 0;
        }
        let mut sent = 0;
        if self.queue < st.n_txq.load(Ordering::Relaxed) {
            // SAFETY: gate open, queue configured, single user (see
            // rx_burst). The burst is an array of n owned mbuf pointers
            // (Mbuf is repr(transparent)); DPDK takes ownership of the first
            // `sent` of them, which forget_front removes without freeing.
            sent = usize::from(unsafe {
                sys::rte_eth_tx_burst(
                    self.port,
                    self.queue,
                    pkts.as_mut_ptr().cast::<*mut sys::rte_mbuf>(),
                    n as u16,
                )
            });
        }
        Gate::exit(&self.flag);
        forget_front(pkts, sent);
        sent
    }
}
