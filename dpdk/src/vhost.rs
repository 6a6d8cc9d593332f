//! vhost-user client ports, as Open vSwitch's `dpdkvhostuserclient`: QEMU
//! (or `testpmd` with `net_virtio_user,server=1`) owns the socket, we
//! connect to it and reconnect whenever the peer restarts.
//!
//! Registration uses DPDK's vhost library with `RTE_VHOST_USER_CLIENT`
//! (reconnect on), `RTE_VHOST_USER_LINEARBUF_SUPPORT` (a received packet is
//! always one segment, so `Packet::data()` holds the whole frame),
//! `RTE_VHOST_USER_EXTBUF_SUPPORT` (a frame longer than the mempool's data
//! room arrives in an external buffer the library allocates, so the
//! switch sees it and counts it, `rx_dropped_oversize` when it exceeds the
//! MTU, instead of the library dropping it silently) and
//! `RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS`. Like
//! OVS without userspace TSO, the guest offloads `VIRTIO_NET_F_HOST_TSO4`,
//! `VIRTIO_NET_F_HOST_TSO6` and `VIRTIO_NET_F_CSUM` are disabled, so the
//! guest sends only complete frames with valid checksums.
//!
//! Queue pair `q`: receive = dequeue from virtqueue `2q + 1` (the guest's
//! TX ring), transmit = enqueue into virtqueue `2q` (the guest's RX ring).
//! Enqueue copies, so the transmit side frees the mbufs it sent; the unsent
//! ones stay in the burst for the caller.
//!
//! Per-socket state (vid, enabled rings, generation) lives in a registry
//! keyed by socket path and is updated by DPDK's callbacks on its vhost
//! thread. `destroy_device` closes the port's gate and waits until no burst
//! is in flight before DPDK unmaps the guest memory, as DPDK requires.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use datapath::packet::{Burst, RxQueue, TxQueue, BURST};
use dpdk_sys as sys;

use crate::eal::ensure_init;
use crate::error::{DpdkError, Result};
use crate::gate::{BusyFlag, Gate};
use crate::mbuf::{forget_front, Mbuf};
use crate::mempool::Mempool;

/// Largest number of queue pairs a port can use (one bit per virtqueue in
/// a 64-bit mask).
pub const MAX_QUEUE_PAIRS: u16 = 32;

/// Guest features disabled on every socket (see the module docs).
const DISABLED_FEATURES: u64 = (1u64 << sys::VIRTIO_NET_F_HOST_TSO4)
    | (1u64 << sys::VIRTIO_NET_F_HOST_TSO6)
    | (1u64 << sys::VIRTIO_NET_F_CSUM);

const REGISTER_FLAGS: u64 = sys::RTE_VHOST_USER_CLIENT as u64
    | sys::RTE_VHOST_USER_LINEARBUF_SUPPORT as u64
    | sys::RTE_VHOST_USER_EXTBUF_SUPPORT as u64
    | sys::RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS as u64;

/// State of one registered socket, shared by the client, its queues and
/// the callbacks.
#[derive(Debug)]
struct Shared {
    path: String,
    gate: Gate,
    /// Current device handle, -1 when none. Written before the gate opens.
    vid: AtomicI32,
    connected: AtomicBool,
    /// Incremented by every new_device: a new connection (or a restart of
    /// the device on the same connection).
    generation: AtomicU64,
    /// Bit `i` set when virtqueue `i` is enabled/ready.
    enabled: AtomicU64,
    /// Set by unregister: new_device refuses to (re)open the gate.
    closing: AtomicBool,
}

impl Shared {
    fn queue_pairs(&self) -> u16 {
        let m = self.enabled.load(Ordering::SeqCst);
        // Pairs whose two rings (2q guest-RX, 2q+1 guest-TX) are both on.
        let pairs = m & (m >> 1) & 0x5555_5555_5555_5555;
        pairs.count_ones() as u16
    }
}

static REGISTRY: Mutex<BTreeMap<String, Arc<Shared>>> = Mutex::new(BTreeMap::new());

fn registry() -> MutexGuard<'static, BTreeMap<String, Arc<Shared>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The registered state behind a device handle (looked up by the socket
/// path DPDK stores as the device's ifname).
fn shared_of(vid: c_int) -> Option<Arc<Shared>> {
    let mut buf = [0 as c_char; 4096];
    // SAFETY: called from a vhost callback with a live vid; `buf` is
    // writable for its whole length, which we pass.
    let ret = unsafe { sys::rte_vhost_get_ifname(vid, buf.as_mut_ptr(), buf.len()) };
    if ret != 0 {
        return None;
    }
    // DPDK NUL-terminates (it copies at most len - 1 bytes); make sure.
    if let Some(last) = buf.last_mut() {
        *last = 0;
    }
    // SAFETY: buf is NUL-terminated within its bounds.
    let path = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().ok()?;
    registry().get(path).cloned()
}

extern "C" fn cb_new_connection(vid: c_int) -> c_int {
    if let Some(sh) = shared_of(vid) {
        sh.enabled.store(0, Ordering::SeqCst);
    }
    0
}

extern "C" fn cb_destroy_connection(vid: c_int) {
    if let Some(sh) = shared_of(vid) {
        sh.enabled.store(0, Ordering::SeqCst);
    }
}

extern "C" fn cb_new_device(vid: c_int) -> c_int {
    let Some(sh) = shared_of(vid) else {
        return -1;
    };
    if sh.closing.load(Ordering::SeqCst) {
        return -1;
    }
    // We poll: ask the guest not to kick us.
    // SAFETY: live vid inside its new_device callback; ring ids below the
    // device's ring count.
    unsafe {
        let n = sys::rte_vhost_get_vring_num(vid);
        for q in 0..n {
            sys::rte_vhost_enable_guest_notification(vid, q, 0);
        }
    }
    sh.vid.store(vid, Ordering::SeqCst);
    sh.generation.fetch_add(1, Ordering::SeqCst);
    sh.connected.store(true, Ordering::SeqCst);
    sh.gate.open();
    0
}

extern "C" fn cb_destroy_device(vid: c_int) {
    let Some(sh) = shared_of(vid) else {
        return;
    };
    // No burst may touch the device once we return: DPDK unmaps the guest
    // memory next.
    sh.gate.close();
    sh.connected.store(false, Ordering::SeqCst);
    sh.vid.store(-1, Ordering::SeqCst);
}

extern "C" fn cb_vring_state_changed(vid: c_int, queue_id: u16, enable: c_int) -> c_int {
    let Some(sh) = shared_of(vid) else {
        return 0;
    };
    if queue_id < 64 {
        let bit = 1u64 << queue_id;
        if enable != 0 {
            sh.enabled.fetch_or(bit, Ordering::SeqCst);
        } else {
            sh.enabled.fetch_and(!bit, Ordering::SeqCst);
        }
    }
    0
}

struct Ops(sys::rte_vhost_device_ops);
// SAFETY: the struct holds only function pointers and a null reserved
// pointer, and is never mutated after initialization.
unsafe impl Sync for Ops {}
// SAFETY: as for Sync.
unsafe impl Send for Ops {}

fn device_ops() -> &'static sys::rte_vhost_device_ops {
    static OPS: OnceLock<Ops> = OnceLock::new();
    &OPS.get_or_init(|| {
        Ops(sys::rte_vhost_device_ops {
            new_device: Some(cb_new_device),
            destroy_device: Some(cb_destroy_device),
            vring_state_changed: Some(cb_vring_state_changed),
            new_connection: Some(cb_new_connection),
            destroy_connection: Some(cb_destroy_connection),
            ..Default::default()
        })
    })
    .0
}

/// What `show` / `list interface` print for a vhost-user client port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostStatus {
    /// The socket path.
    pub path: String,
    /// A guest device is up (between new_device and destroy_device).
    pub connected: bool,
    /// DPDK's device handle, -1 when not connected.
    pub vid: i32,
    /// Queue pairs whose two rings the guest enabled.
    pub n_queues: u16,
    /// How many times a device came up on this socket.
    pub generation: u64,
}

/// One registered vhost-user client socket. Unregisters when dropped (or
/// with [`VhostClient::unregister`]).
#[derive(Debug)]
pub struct VhostClient {
    shared: Arc<Shared>,
    cpath: CString,
    registered: AtomicBool,
}

impl VhostClient {
    /// Register `path` as a vhost-user client socket and start connecting
    /// (and reconnecting) to the server that owns it. The server may start
    /// later or restart at any time.
    pub fn register(path: &str) -> Result<Arc<VhostClient>> {
        const OP: &str = "rte_vhost_driver_register";
        ensure_init(OP, path)?;
        let cpath = CString::new(path)
            .map_err(|_| DpdkError::other(OP, path, "path contains a NUL byte"))?;
        let shared = Arc::new(Shared {
            path: path.to_string(),
            gate: Gate::new(false),
            vid: AtomicI32::new(-1),
            connected: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            enabled: AtomicU64::new(0),
            closing: AtomicBool::new(false),
        });
        {
            let mut reg = registry();
            if reg.contains_key(path) {
                return Err(DpdkError::from_errno(OP, path, libc::EEXIST));
            }
            // Callbacks may run as soon as the driver starts.
            reg.insert(path.to_string(), shared.clone());
        }
        // Undo a partial registration and return `e`.
        let fail = |e: DpdkError, registered: bool| {
            if registered {
                // SAFETY: the path was registered above (started or not;
                // unregister handles both).
                unsafe { sys::rte_vhost_driver_unregister(cpath.as_ptr()) };
            }
            registry().remove(path);
            e
        };
        // SAFETY: EAL is initialized; DPDK copies the path.
        let ret = unsafe { sys::rte_vhost_driver_register(cpath.as_ptr(), REGISTER_FLAGS) };
        if ret != 0 {
            let e = DpdkError::other(OP, path, "registration refused (see the DPDK log)");
            return Err(fail(e, false));
        }
        // SAFETY: registered path.
        let ret =
            unsafe { sys::rte_vhost_driver_disable_features(cpath.as_ptr(), DISABLED_FEATURES) };
        if ret != 0 {
            let e = DpdkError::other("rte_vhost_driver_disable_features", path, "refused");
            return Err(fail(e, true));
        }
        // SAFETY: registered path; the ops table is 'static.
        let ret = unsafe { sys::rte_vhost_driver_callback_register(cpath.as_ptr(), device_ops()) };
        if ret != 0 {
            let e = DpdkError::other("rte_vhost_driver_callback_register", path, "refused");
            return Err(fail(e, true));
        }
        // SAFETY: registered path with callbacks.
        let ret = unsafe { sys::rte_vhost_driver_start(cpath.as_ptr()) };
        if ret != 0 {
            let e = DpdkError::other(
                "rte_vhost_driver_start",
                path,
                "cannot start the vhost driver (see the DPDK log)",
            );
            return Err(fail(e, true));
        }
        Ok(Arc::new(VhostClient {
            shared,
            cpath,
            registered: AtomicBool::new(true),
        }))
    }

    /// The socket path.
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// Connection state for `show`.
    pub fn status(&self) -> VhostStatus {
        let sh = &self.shared;
        VhostStatus {
            path: sh.path.clone(),
            connected: sh.connected.load(Ordering::SeqCst),
            vid: sh.vid.load(Ordering::SeqCst),
            n_queues: sh.queue_pairs(),
            generation: sh.generation.load(Ordering::SeqCst),
        }
    }

    /// Whether a guest device is up.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// The receive side of queue pair `q` (dequeue from the guest's TX
    /// ring `2q + 1`), allocating into `pool`. Several handles for one
    /// queue are allowed (the vhost library locks each ring), but one per
    /// queue is the efficient setup.
    pub fn rx_queue(&self, q: u16, pool: &Mempool) -> Result<VhostRxQueue> {
        self.check_queue("VhostClient::rx_queue", q)?;
        Ok(VhostRxQueue {
            shared: self.shared.clone(),
            flag: self.shared.gate.join(),
            vring: 2 * q + 1,
            pool: pool.clone(),
        })
    }

    /// The transmit side of queue pair `q` (enqueue into the guest's RX
    /// ring `2q`).
    pub fn tx_queue(&self, q: u16) -> Result<VhostTxQueue> {
        self.check_queue("VhostClient::tx_queue", q)?;
        Ok(VhostTxQueue {
            shared: self.shared.clone(),
            flag: self.shared.gate.join(),
            vring: 2 * q,
        })
    }

    fn check_queue(&self, op: &'static str, q: u16) -> Result<()> {
        if q >= MAX_QUEUE_PAIRS {
            return Err(DpdkError::other(
                op,
                format!("{} queue {q}", self.shared.path),
                format!("at most {MAX_QUEUE_PAIRS} queue pairs"),
            ));
        }
        if !self.registered.load(Ordering::SeqCst) {
            return Err(DpdkError::other(
                op,
                self.shared.path.clone(),
                "unregistered",
            ));
        }
        Ok(())
    }

    /// Disconnect and forget the socket (port deletion). Queue handles
    /// still alive become inert. Idempotent.
    pub fn unregister(&self) -> Result<()> {
        if !self.registered.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let sh = &self.shared;
        sh.closing.store(true, Ordering::SeqCst);
        sh.gate.close();
        // DPDK calls destroy_device for a live device from this call (on
        // our thread), so the registry lock must not be held here.
        // SAFETY: the path is registered; no burst is in flight.
        let ret = unsafe { sys::rte_vhost_driver_unregister(self.cpath.as_ptr()) };
        {
            let mut reg = registry();
            if reg.get(&sh.path).is_some_and(|s| Arc::ptr_eq(s, sh)) {
                reg.remove(&sh.path);
            }
        }
        sh.connected.store(false, Ordering::SeqCst);
        sh.vid.store(-1, Ordering::SeqCst);
        sh.enabled.store(0, Ordering::SeqCst);
        if ret != 0 {
            return Err(DpdkError::other(
                "rte_vhost_driver_unregister",
                sh.path.clone(),
                "refused (see the DPDK log)",
            ));
        }
        Ok(())
    }
}

impl Drop for VhostClient {
    fn drop(&mut self) {
        let _ = self.unregister();
    }
}

/// The receive side of one vhost queue pair. `Send`.
#[derive(Debug)]
pub struct VhostRxQueue {
    shared: Arc<Shared>,
    flag: Arc<BusyFlag>,
    vring: u16,
    pool: Mempool,
}

impl Drop for VhostRxQueue {
    fn drop(&mut self) {
        self.shared.gate.leave(&self.flag);
    }
}

impl RxQueue<Mbuf> for VhostRxQueue {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<Mbuf>) -> usize {
        let len = out.len();
        if len >= BURST {
            return 0;
        }
        let sh = &*self.shared;
        if !sh.gate.enter(&self.flag) {
            return 0;
        }
        let mut got = 0;
        // Skip rings the guest has not enabled (DPDK would log an error
        // per call for a ring that does not exist).
        if sh.enabled.load(Ordering::Relaxed) & (1u64 << self.vring) != 0 {
            let vid = sh.vid.load(Ordering::Relaxed);
            let want = BURST - len;
            out.reserve(want);
            // SAFETY: the gate is open, so `vid` is a live device and stays
            // so until we exit (destroy_device waits for us). The ring id
            // is below 64 and enabled. `out` has room for `want` pointers
            // after `len`; DPDK writes at most `want` fresh mbufs from our
            // pool there, whose ownership passes to us.
            unsafe {
                got = usize::from(sys::rte_vhost_dequeue_burst(
                    vid,
                    self.vring,
                    self.pool.as_ptr(),
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

/// The transmit side of one vhost queue pair. `Send`.
#[derive(Debug)]
pub struct VhostTxQueue {
    shared: Arc<Shared>,
    flag: Arc<BusyFlag>,
    vring: u16,
}

impl Drop for VhostTxQueue {
    fn drop(&mut self) {
        self.shared.gate.leave(&self.flag);
    }
}

impl TxQueue<Mbuf> for VhostTxQueue {
    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        let n = pkts.len().min(usize::from(u16::MAX));
        if n == 0 {
            return 0;
        }
        let sh = &*self.shared;
        if !sh.gate.enter(&self.flag) {
            return 0;
        }
        let mut sent = 0;
        if sh.enabled.load(Ordering::Relaxed) & (1u64 << self.vring) != 0 {
            let vid = sh.vid.load(Ordering::Relaxed);
            // SAFETY: live device while inside the gate (see rx_burst); the
            // burst is an array of n valid mbuf pointers that DPDK only
            // reads (enqueue copies into guest memory).
            sent = usize::from(unsafe {
                sys::rte_vhost_enqueue_burst(
                    vid,
                    self.vring,
                    pkts.as_mut_ptr().cast::<*mut sys::rte_mbuf>(),
                    n as u16,
                )
            });
        }
        Gate::exit(&self.flag);
        if sent > 0 {
            // SAFETY: the first `sent` mbufs were copied to the guest and
            // are still ours: free them in bulk, then drop them from the
            // burst without running Drop (forget_front).
            unsafe {
                sys::rte_pktmbuf_free_bulk(
                    pkts.as_mut_ptr().cast::<*mut sys::rte_mbuf>(),
                    sent as u32,
                )
            };
            forget_front(pkts, sent);
        }
        sent
    }
}
