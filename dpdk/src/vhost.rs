//! vhost-user ports in both roles:
//!
//! - client ([`VhostClient::register`]), as Open vSwitch's
//!   `dpdkvhostuserclient`: QEMU (or `testpmd` with
//!   `net_virtio_user,server=1`) owns the socket, we connect to it and
//!   reconnect whenever the peer restarts (`RTE_VHOST_USER_CLIENT`,
//!   reconnect on);
//! - server ([`VhostClient::register_server`]), as OVS's `dpdkvhostuser`:
//!   DPDK creates and listens on the socket (unlinked again by
//!   [`VhostClient::unregister`]); QEMU connects as the client, and a
//!   restarted QEMU simply connects again. The caller decides who may
//!   connect through the socket file's owner and mode.
//!
//! A [`VhostClient`] is one registered socket in either role. Registration
//! uses DPDK's vhost library with `RTE_VHOST_USER_LINEARBUF_SUPPORT` (a received packet is
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
//!
//! # Who is on the other end
//!
//! Whoever can create the socket file gets the port, so a client registered
//! with [`VhostClient::register_with`] asks its [`Verifier`] about every
//! connection, the first and every reconnect, before DPDK uses it. DPDK
//! does not say which descriptor belongs to a device, so `new_connection`
//! finds it by scanning `/proc/self/fd` for Unix sockets whose peer name
//! (`getpeername`: for a connected stream socket, the path the listener
//! bound) is the port's path, and reads `SO_PEERCRED` on each: the
//! credentials of the process that called `listen()`. The verifier gets
//! them all ([`Connection`]); a refusal makes DPDK close the connection.
//!
//! DPDK's client does not reconnect after a connection its
//! `new_connection` refused (it closes the socket and forgets the port), so
//! a refused port is re-armed by this module: after a pause
//! ([`REARM_FIRST_DELAY`], doubling up to [`REARM_MAX_DELAY`] while refusals
//! continue) the socket is unregistered and registered again, which starts
//! DPDK's own reconnect loop anew. Refusals are counted
//! ([`VhostStatus::refused_connections`], with the last reason).
//!
//! # A peer without shared memory
//!
//! Every accepted connection's messages are watched (`memcheck`): a peer
//! that set its features but sent no memory table within
//! [`MEM_TABLE_GRACE`] cannot share its guest memory, and
//! [`VhostStatus::unshared_memory`] says so.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use datapath::packet::{Burst, RxQueue, TxQueue, BURST};
use dpdk_sys as sys;

use crate::eal::ensure_init;
use crate::error::{DpdkError, Result};
use crate::gate::{BusyFlag, Gate};
use crate::mbuf::{forget_front, Mbuf};
use crate::mempool::Mempool;

mod memcheck;
mod peer;

use memcheck::MemWatch;
pub use memcheck::MEM_TABLE_GRACE;
use peer::listener_creds;
pub use peer::{Connection, ListenerCred};

/// Largest number of queue pairs a port can use (one bit per virtqueue in
/// a 64-bit mask).
pub const MAX_QUEUE_PAIRS: u16 = 32;

/// Guest features disabled on every socket (see the module docs).
const DISABLED_FEATURES: u64 = (1u64 << sys::VIRTIO_NET_F_HOST_TSO4)
    | (1u64 << sys::VIRTIO_NET_F_HOST_TSO6)
    | (1u64 << sys::VIRTIO_NET_F_CSUM);

const REGISTER_FLAGS: u64 = sys::RTE_VHOST_USER_LINEARBUF_SUPPORT as u64
    | sys::RTE_VHOST_USER_EXTBUF_SUPPORT as u64
    | sys::RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS as u64;

/// Whether sockets registered from now on offer VIRTIO_F_IOMMU_PLATFORM.
static IOMMU_SUPPORT: AtomicBool = AtomicBool::new(false);

/// Offer the guest an IOMMU (`VIRTIO_F_IOMMU_PLATFORM`) on sockets
/// registered from now on: OVS's `vhost-iommu-support`, which vswitchd
/// reads once when EAL starts (as in OVS, a change takes effect at the
/// next start).
pub fn set_iommu_support(on: bool) {
    IOMMU_SUPPORT.store(on, Ordering::Relaxed);
}

fn register_flags(server: bool) -> u64 {
    let iommu = if IOMMU_SUPPORT.load(Ordering::Relaxed) {
        sys::RTE_VHOST_USER_IOMMU_SUPPORT as u64
    } else {
        0
    };
    let client = if server {
        0
    } else {
        sys::RTE_VHOST_USER_CLIENT as u64
    };
    REGISTER_FLAGS | iommu | client
}

/// First pause before a refused port connects again.
pub const REARM_FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest pause between connections while every one is refused.
pub const REARM_MAX_DELAY: Duration = Duration::from_secs(8);

/// Decides whether a new connection may be used: `Err(reason)` makes DPDK
/// close it, counts it and records the reason. Runs on DPDK's vhost
/// threads at every connect and reconnect; it must not block for long nor
/// call back into this module.
pub type Verifier = Arc<dyn Fn(&Connection<'_>) -> std::result::Result<(), String> + Send + Sync>;

/// State of one registered socket, shared by the client, its queues and
/// the callbacks.
struct Shared {
    path: String,
    cpath: CString,
    /// We listen (server mode) instead of connecting.
    server: bool,
    /// A peer is connected (between an accepted new_connection and
    /// destroy_connection), device up or not.
    peer: AtomicBool,
    /// What the current connection's messages said about its memory.
    mem: MemWatch,
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
    /// Asked about every new connection (none: every connection is used).
    verifier: Option<Verifier>,
    /// Connections the verifier refused.
    refused: AtomicU64,
    /// Refusals in a row since the last accepted connection (sets the
    /// re-arm pause).
    refused_in_a_row: AtomicU32,
    /// Why the last connection was refused; cleared by an accepted one.
    last_refusal: Mutex<Option<String>>,
    /// Whether DPDK has the path registered, under a lock that serializes
    /// its (un)registration between [`VhostClient::unregister`] and the
    /// re-arm thread.
    driver: Mutex<bool>,
}

impl Shared {
    /// A port registered on `path` (its C form `cpath`), not connected.
    fn new(path: &str, cpath: CString, verifier: Option<Verifier>, server: bool) -> Shared {
        Shared {
            path: path.to_string(),
            cpath,
            server,
            peer: AtomicBool::new(false),
            mem: MemWatch::default(),
            gate: Gate::new(false),
            vid: AtomicI32::new(-1),
            connected: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            enabled: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            verifier,
            refused: AtomicU64::new(0),
            refused_in_a_row: AtomicU32::new(0),
            last_refusal: Mutex::new(None),
            driver: Mutex::new(false),
        }
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("path", &self.path)
            .field("server", &self.server)
            .field("vid", &self.vid)
            .field("connected", &self.connected)
            .field("generation", &self.generation)
            .field("closing", &self.closing)
            .field("verified", &self.verifier.is_some())
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn queue_pairs(&self) -> u16 {
        let m = self.enabled.load(Ordering::SeqCst);
        // Pairs whose two rings (2q guest-RX, 2q+1 guest-TX) are both on.
        let pairs = m & (m >> 1) & 0x5555_5555_5555_5555;
        pairs.count_ones() as u16
    }

    fn last_refusal(&self) -> MutexGuard<'_, Option<String>> {
        self.last_refusal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the verifier about the new connection; `true` to use it.
    fn admit(&self) -> bool {
        let Some(verify) = &self.verifier else {
            return true;
        };
        let conn = Connection {
            path: &self.path,
            listeners: listener_creds(&self.path),
        };
        let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify(&conn)))
            .unwrap_or_else(|_| Err("the connection check failed unexpectedly".to_string()));
        match verdict {
            Ok(()) => {
                self.refused_in_a_row.store(0, Ordering::SeqCst);
                *self.last_refusal() = None;
                true
            }
            Err(reason) => {
                *self.last_refusal() = Some(reason);
                self.refused.fetch_add(1, Ordering::SeqCst);
                self.refused_in_a_row.fetch_add(1, Ordering::SeqCst);
                false
            }
        }
    }

    /// The pause before re-arming after the current run of refusals.
    fn rearm_delay(&self) -> Duration {
        let n = self.refused_in_a_row.load(Ordering::SeqCst).clamp(1, 16);
        REARM_FIRST_DELAY
            .saturating_mul(1u32 << (n - 1).min(15))
            .min(REARM_MAX_DELAY)
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
    // A socket we do not know (unregistered meanwhile): do not use it.
    let Some(sh) = shared_of(vid) else {
        return -1;
    };
    if sh.closing.load(Ordering::SeqCst) {
        return -1;
    }
    sh.enabled.store(0, Ordering::SeqCst);
    if sh.admit() {
        sh.mem.reset();
        // Without the hook only the unshared-memory diagnosis is lost.
        let _ = memcheck::watch(vid);
        sh.peer.store(true, Ordering::SeqCst);
        return 0;
    }
    // DPDK closes the connection and, in client mode, never tries again
    // after a refusal: schedule a fresh registration. (A server keeps
    // listening.)
    if !sh.server {
        schedule_rearm(&sh);
    }
    -1
}

extern "C" fn cb_destroy_connection(vid: c_int) {
    if let Some(sh) = shared_of(vid) {
        sh.enabled.store(0, Ordering::SeqCst);
        sh.peer.store(false, Ordering::SeqCst);
        sh.mem.reset();
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

/// Register `cpath` with DPDK in client (or `server`) mode with our
/// flags, features and callbacks, and start connecting (listening). On
/// failure nothing stays registered.
fn driver_start(cpath: &CStr, path: &str, server: bool) -> Result<()> {
    const OP: &str = "rte_vhost_driver_register";
    // SAFETY: EAL is initialized (checked by the callers); DPDK copies the
    // path.
    let ret = unsafe { sys::rte_vhost_driver_register(cpath.as_ptr(), register_flags(server)) };
    if ret != 0 {
        return Err(DpdkError::other(
            OP,
            path,
            "registration refused (see the DPDK log)",
        ));
    }
    let undo = |e: DpdkError| {
        // SAFETY: the path was registered above (started or not;
        // unregister handles both).
        unsafe { sys::rte_vhost_driver_unregister(cpath.as_ptr()) };
        e
    };
    // SAFETY: registered path.
    let ret = unsafe { sys::rte_vhost_driver_disable_features(cpath.as_ptr(), DISABLED_FEATURES) };
    if ret != 0 {
        let e = DpdkError::other("rte_vhost_driver_disable_features", path, "refused");
        return Err(undo(e));
    }
    // SAFETY: registered path; the ops table is 'static.
    let ret = unsafe { sys::rte_vhost_driver_callback_register(cpath.as_ptr(), device_ops()) };
    if ret != 0 {
        let e = DpdkError::other("rte_vhost_driver_callback_register", path, "refused");
        return Err(undo(e));
    }
    // SAFETY: registered path with callbacks.
    let ret = unsafe { sys::rte_vhost_driver_start(cpath.as_ptr()) };
    if ret != 0 {
        let e = DpdkError::other(
            "rte_vhost_driver_start",
            path,
            "cannot start the vhost driver (see the DPDK log)",
        );
        return Err(undo(e));
    }
    Ok(())
}

/// Sockets waiting to be registered again after a refusal, with when.
struct Rearm {
    due: Mutex<Vec<(Instant, Weak<Shared>)>>,
    wake: Condvar,
}

fn rearm_queue() -> &'static Rearm {
    static QUEUE: OnceLock<Rearm> = OnceLock::new();
    QUEUE.get_or_init(|| Rearm {
        due: Mutex::new(Vec::new()),
        wake: Condvar::new(),
    })
}

/// Register `sh` again after its pause, on the re-arm thread (never on the
/// DPDK thread that reported the refusal: that one holds DPDK's reconnect
/// lock, which unregistering takes).
fn schedule_rearm(sh: &Arc<Shared>) {
    static THREAD: OnceLock<bool> = OnceLock::new();
    let q = rearm_queue();
    let started = *THREAD.get_or_init(|| {
        std::thread::Builder::new()
            .name("vhost-rearm".into())
            .spawn(rearm_thread)
            .is_ok()
    });
    if !started {
        // Without the thread the port stays refused; say so.
        let mut last = sh.last_refusal();
        let reason = last.take().unwrap_or_default();
        *last = Some(format!(
            "{reason} (and the port cannot reconnect: the re-arm thread did not start)"
        ));
        return;
    }
    let when = Instant::now() + sh.rearm_delay();
    let me = Arc::downgrade(sh);
    let mut due = q.due.lock().unwrap_or_else(|e| e.into_inner());
    due.retain(|(_, w)| !w.ptr_eq(&me));
    due.push((when, me));
    q.wake.notify_one();
}

fn rearm_thread() {
    let q = rearm_queue();
    let mut due = q.due.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        let (ready, waiting): (Vec<_>, Vec<_>) = due.drain(..).partition(|(t, _)| *t <= now);
        *due = waiting;
        if !ready.is_empty() {
            drop(due);
            for (_, w) in ready {
                if let Some(sh) = w.upgrade() {
                    rearm(&sh);
                }
            }
            due = q.due.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        due = match due.iter().map(|(t, _)| *t).min() {
            Some(next) => {
                let wait = next.saturating_duration_since(now);
                q.wake
                    .wait_timeout(due, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => q.wake.wait(due).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

/// Unregister and register `sh` again so DPDK connects anew.
fn rearm(sh: &Arc<Shared>) {
    let mut in_dpdk = sh.driver.lock().unwrap_or_else(|e| e.into_inner());
    if sh.closing.load(Ordering::SeqCst) {
        return;
    }
    if *in_dpdk {
        // SAFETY: the path is registered (`in_dpdk`, under the lock that
        // unregister takes too); its refused connection is already
        // closed, so DPDK has nothing of it in use.
        unsafe { sys::rte_vhost_driver_unregister(sh.cpath.as_ptr()) };
        *in_dpdk = false;
    }
    match driver_start(&sh.cpath, &sh.path, sh.server) {
        Ok(()) => *in_dpdk = true,
        Err(e) => {
            *sh.last_refusal() = Some(format!("cannot reconnect after a refusal: {e}"));
            schedule_rearm(sh);
        }
    }
}

/// What `show` / `list interface` print for a vhost-user port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostStatus {
    /// The socket path.
    pub path: String,
    /// Server mode (we listen on the socket).
    pub server: bool,
    /// A peer is connected, whether or not its device is up.
    pub peer_connected: bool,
    /// The connected peer set its features but sent no memory table
    /// within [`MEM_TABLE_GRACE`]: its guest memory is not shared, so the
    /// device can never come up on this connection.
    pub unshared_memory: bool,
    /// A guest device is up (between new_device and destroy_device).
    pub connected: bool,
    /// DPDK's device handle, -1 when not connected.
    pub vid: i32,
    /// Queue pairs whose two rings the guest enabled.
    pub n_queues: u16,
    /// How many times a device came up on this socket.
    pub generation: u64,
    /// Connections the [`Verifier`] refused since registration.
    pub refused_connections: u64,
    /// Why the latest connection was refused; `None` once a connection has
    /// been accepted after it (or if none was ever refused).
    pub last_refusal: Option<String>,
}

/// One registered vhost-user client socket. Unregisters when dropped (or
/// with [`VhostClient::unregister`]).
#[derive(Debug)]
pub struct VhostClient {
    shared: Arc<Shared>,
    registered: AtomicBool,
}

impl VhostClient {
    /// Register `path` as a vhost-user client socket and start connecting
    /// (and reconnecting) to the server that owns it. The server may start
    /// later or restart at any time. Every connection is used, whoever
    /// listens: see [`VhostClient::register_with`].
    pub fn register(path: &str) -> Result<Arc<VhostClient>> {
        Self::register_inner(path, None, false)
    }

    /// [`VhostClient::register`], asking `verifier` about every connection
    /// (first connect and every reconnect) before it is used. A refused
    /// connection is closed, counted in [`VhostStatus`], and the port tries
    /// again after a pause (see the module documentation).
    pub fn register_with(path: &str, verifier: Verifier) -> Result<Arc<VhostClient>> {
        Self::register_inner(path, Some(verifier), false)
    }

    /// Create the socket `path` and serve vhost-user on it (server mode,
    /// OVS's `dpdkvhostuser`): a client (QEMU) may connect, disconnect and
    /// connect again at any time. The path must not exist (DPDK's bind
    /// fails otherwise); [`VhostClient::unregister`] removes it. Who may
    /// connect is up to the socket's owner and mode, which the caller sets
    /// after this returns.
    pub fn register_server(path: &str) -> Result<Arc<VhostClient>> {
        Self::register_inner(path, None, true)
    }

    fn register_inner(
        path: &str,
        verifier: Option<Verifier>,
        server: bool,
    ) -> Result<Arc<VhostClient>> {
        const OP: &str = "rte_vhost_driver_register";
        ensure_init(OP, path)?;
        let cpath = CString::new(path)
            .map_err(|_| DpdkError::other(OP, path, "path contains a NUL byte"))?;
        let shared = Arc::new(Shared::new(path, cpath, verifier, server));
        {
            let mut reg = registry();
            if reg.contains_key(path) {
                return Err(DpdkError::from_errno(OP, path, libc::EEXIST));
            }
            // Callbacks may run as soon as the driver starts.
            reg.insert(path.to_string(), shared.clone());
        }
        let started = {
            let mut in_dpdk = shared.driver.lock().unwrap_or_else(|e| e.into_inner());
            let r = driver_start(&shared.cpath, path, server);
            *in_dpdk = r.is_ok();
            r
        };
        if let Err(e) = started {
            shared.closing.store(true, Ordering::SeqCst);
            let mut reg = registry();
            if reg.get(path).is_some_and(|s| Arc::ptr_eq(s, &shared)) {
                reg.remove(path);
            }
            return Err(e);
        }
        Ok(Arc::new(VhostClient {
            shared,
            registered: AtomicBool::new(true),
        }))
    }

    /// The socket path.
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// Whether this socket offers the guest an IOMMU
    /// (`VIRTIO_F_IOMMU_PLATFORM`, see [`set_iommu_support`]).
    pub fn offers_iommu(&self) -> Result<bool> {
        Ok(self.offered_features()? & (1 << sys::VIRTIO_F_IOMMU_PLATFORM) != 0)
    }

    /// The virtio features this socket offers a guest
    /// (`rte_vhost_driver_get_features`).
    pub fn offered_features(&self) -> Result<u64> {
        let mut f: u64 = 0;
        // SAFETY: the path is registered while `self` exists (unregister
        // takes `self`); `f` is a valid out pointer.
        let ret = unsafe { sys::rte_vhost_driver_get_features(self.shared.cpath.as_ptr(), &mut f) };
        if ret != 0 {
            return Err(DpdkError::other(
                "rte_vhost_driver_get_features",
                self.path(),
                "refused",
            ));
        }
        Ok(f)
    }

    /// Connection state for `show`.
    pub fn status(&self) -> VhostStatus {
        let sh = &self.shared;
        let peer = sh.peer.load(Ordering::SeqCst);
        let connected = sh.connected.load(Ordering::SeqCst);
        VhostStatus {
            path: sh.path.clone(),
            server: sh.server,
            peer_connected: peer,
            unshared_memory: peer && !connected && sh.mem.missing(),
            connected,
            vid: sh.vid.load(Ordering::SeqCst),
            n_queues: sh.queue_pairs(),
            generation: sh.generation.load(Ordering::SeqCst),
            refused_connections: sh.refused.load(Ordering::SeqCst),
            last_refusal: sh.last_refusal().clone(),
        }
    }

    /// Whether this socket is served (server mode).
    pub fn is_server(&self) -> bool {
        self.shared.server
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
        let ret = {
            // Waits for a re-arm in progress; a later one sees `closing`.
            let mut in_dpdk = sh.driver.lock().unwrap_or_else(|e| e.into_inner());
            if std::mem::replace(&mut *in_dpdk, false) {
                // DPDK calls destroy_device for a live device from this
                // call (on our thread), so the registry lock must not be
                // held here.
                // SAFETY: the path is registered (`in_dpdk`); no burst is
                // in flight.
                unsafe { sys::rte_vhost_driver_unregister(sh.cpath.as_ptr()) }
            } else {
                // A re-arm failed to register it again: nothing to undo.
                0
            }
        };
        {
            let mut reg = registry();
            if reg.get(&sh.path).is_some_and(|s| Arc::ptr_eq(s, sh)) {
                reg.remove(&sh.path);
            }
        }
        sh.connected.store(false, Ordering::SeqCst);
        sh.peer.store(false, Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_ports_wait_longer_each_time_up_to_the_cap() {
        let refuse_x: Verifier = Arc::new(|c: &Connection<'_>| {
            if c.path == "/x" {
                Err("no".into())
            } else {
                Ok(())
            }
        });
        let sh = Shared::new("/x", CString::new("/x").unwrap(), Some(refuse_x), false);
        let mut delays = Vec::new();
        for _ in 0..6 {
            assert!(!sh.admit());
            delays.push(sh.rearm_delay().as_secs());
        }
        assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
        assert_eq!(sh.refused.load(Ordering::SeqCst), 6);
        assert_eq!(sh.last_refusal().as_deref(), Some("no"));
    }
}
