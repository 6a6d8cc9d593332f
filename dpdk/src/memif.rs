//! memif ports (`net_memif`), served behind a relay of their control
//! channel.
//!
//! DPDK 22.11's memif PMD (`drivers/net/memif`) lets a peer crash the
//! process that hosts it:
//! - **Server role, a peer that connects and goes at once.**
//!   `memif_listener_handler` (memif_socket.c) accepts the connection,
//!   registers an interrupt callback for it, then sends HELLO. When that
//!   send fails (`sendmsg fail: Broken pipe`), its error path closes the
//!   fd but leaves the callback registered, and EAL's interrupt thread
//!   panics rebuilding its epoll set: `PANIC in eal_intr_thread_main():
//!   Error adding fd N epoll_ctl, Bad file descriptor` (eal_interrupts.c).
//! - **Any role, a peer that disconnects under traffic.** The PMD tears the
//!   connection down (`memif_disconnect`: `munmap` of the shared regions)
//!   on EAL's interrupt thread, with nothing keeping the application's
//!   rx/tx bursts out of those regions: a burst already past its
//!   "connected" check reads unmapped memory (SIGSEGV in `eth_memif_rx`'s
//!   copy).
//! - **Queues the peer did not set up.** They keep a zeroed ring offset,
//!   so a burst on them works on ring 0 of the other direction: a transmit
//!   finds no room (every frame "queue full") or writes into the peer's
//!   ring. The peer's queue counts are only known from its `ADD_RING`
//!   messages.
//!
//! A [`MemifPort`] puts a relay thread between the peer and the PMD. The
//! PMD always runs as `role=server` on a private socket (in a directory
//! only this process's user can enter); the relay listens on the socket
//! the user named and forwards the control messages, with the descriptors
//! they carry, both ways. It keeps three rules:
//! 1. Its end of a connection to the PMD is never closed before the PMD
//!    has sent HELLO, so that send cannot fail.
//! 2. Queue handles ([`MemifRxQueue`], [`MemifTxQueue`]) call into the PMD
//!    only for queues the peer set up, counted from its `ADD_RING`
//!    messages and published when the PMD answers `CONNECTED`.
//! 3. Before anything that can make the PMD disconnect is passed on (any
//!    message from the peer after its `CONNECT`, or the peer going away,
//!    passed on as a half-close), the relay sets those counts to zero with
//!    the port's bursts drained ([`Gate`]): no burst is inside the PMD
//!    then, and none enters it again until the next connection is up.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use datapath::packet::{Burst, RxQueue, TxQueue};

use crate::error::{DpdkError, Result};
use crate::ethdev::{EthRxQueue, EthTxQueue};
use crate::gate::{BusyFlag, Gate};
use crate::mbuf::Mbuf;
use crate::queue_lock::try_lock_briefly;

/// A memif control message is exactly this long (`memif_msg_t`).
const MSG_LEN: usize = 128;
/// Descriptors one message may carry (memif sends at most one).
const MAX_FDS: usize = 4;
const MSG_HELLO: u16 = 2;
const MSG_ADD_RING: u16 = 5;
const MSG_CONNECT: u16 = 6;
const MSG_CONNECTED: u16 = 7;
const MSG_DISCONNECT: u16 = 8;
/// `MEMIF_MSG_ADD_RING_FLAG_C2S`.
const RING_FLAG_C2S: u16 = 1;
/// memif's limit on a socket address (`sun_path`).
const SUN_PATH_LEN: usize = 108;
/// The longest the relay waits for the PMD to answer or hang up.
const PMD_WAIT: Duration = Duration::from_secs(10);

/// Whether `devargs` names a memif device.
pub fn is_memif(devargs: &str) -> bool {
    devargs.trim_start().starts_with("net_memif")
}

/// Where a memif socket lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketAddr {
    /// A socket file.
    Path(PathBuf),
    /// A name in the abstract namespace (per network namespace): memif's
    /// default (`socket-abstract=yes`).
    Abstract(String),
}

impl std::fmt::Display for SocketAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketAddr::Path(p) => write!(f, "{}", p.display()),
            SocketAddr::Abstract(n) => write!(f, "@{n}"),
        }
    }
}

/// A memif devargs string, checked: what rvswitch accepts of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemifArgs {
    /// The device name (`net_memif0`).
    pub name: String,
    /// The socket peers connect to.
    pub socket: SocketAddr,
    /// Options passed on to the PMD unchanged (`id=`, `bsize=`, ...).
    passthrough: Vec<String>,
}

impl MemifArgs {
    /// Check a `net_memif...` devargs string. rvswitch serves memif
    /// sockets: `role=server` is required (DPDK's default is the client
    /// role, whose connection the PMD never re-dials after the peer goes).
    pub fn parse(devargs: &str) -> std::result::Result<MemifArgs, String> {
        let mut parts = devargs.split(',').map(str::trim);
        let name = parts.next().unwrap_or_default().to_string();
        if !name.starts_with("net_memif") || name.contains('=') {
            return Err(format!("{devargs:?} is not a net_memif device"));
        }
        let mut role = None;
        let mut path = "/run/memif.sock".to_string();
        let mut is_abstract = true;
        let mut passthrough = Vec::new();
        for kv in parts.filter(|p| !p.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "role" => role = Some(v.to_string()),
                "socket" => path = v.to_string(),
                "socket-abstract" => match v {
                    "yes" => is_abstract = true,
                    "no" => is_abstract = false,
                    _ => return Err(format!("net_memif: socket-abstract={v:?} (expected yes or no)")),
                },
                "id" | "bsize" | "rsize" | "mac" | "secret" | "zero-copy" => {
                    passthrough.push(kv.to_string())
                }
                _ => {
                    return Err(format!(
                        "net_memif: unknown option {k:?} (rvswitch accepts role, socket, socket-abstract, id, bsize, rsize, mac, secret, zero-copy)"
                    ))
                }
            }
        }
        match role.as_deref() {
            Some("server") | Some("master") => {}
            Some("client") | Some("slave") | None => {
                return Err(format!(
                    "net_memif: rvswitch serves memif sockets and needs role=server in dpdk-devargs{}: \
                     DPDK 22.11's client role never re-dials a peer that went away, and its server \
                     role is only safe behind rvswitch's relay",
                    if role.is_none() {
                        " (DPDK's default is role=client)"
                    } else {
                        ""
                    }
                ))
            }
            Some(r) => return Err(format!("net_memif: unknown role={r:?} (rvswitch needs role=server)")),
        }
        if path.is_empty() {
            return Err("net_memif: socket= is empty".into());
        }
        let socket = if is_abstract {
            if path.len() >= SUN_PATH_LEN - 1 {
                return Err(format!("net_memif: socket name {path:?} is too long"));
            }
            SocketAddr::Abstract(path)
        } else {
            if !path.starts_with('/') || path.len() >= SUN_PATH_LEN {
                return Err(format!(
                    "net_memif: socket={path:?} must be an absolute path shorter than {SUN_PATH_LEN} bytes"
                ));
            }
            SocketAddr::Path(PathBuf::from(path))
        };
        Ok(MemifArgs {
            name,
            socket,
            passthrough,
        })
    }

    /// The devargs for the PMD itself: server role on `private`.
    fn pmd_devargs(&self, private: &Path) -> String {
        let mut s = format!(
            "{},role=server,socket={},socket-abstract=no",
            self.name,
            private.display()
        );
        for p in &self.passthrough {
            s.push(',');
            s.push_str(p);
        }
        s
    }
}

/// What the relay knows about the connection, for `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemifStatus {
    /// The socket peers connect to.
    pub socket: String,
    /// A peer is connected and its queues are in use.
    pub connected: bool,
    /// Receive queues in use (the peer's client-to-server rings).
    pub rx_queues: u16,
    /// Transmit queues in use (the peer's server-to-client rings).
    pub tx_queues: u16,
    /// The peer's interface name (from its `CONNECT`).
    pub peer: String,
    /// The reason given in the last `DISCONNECT`, either way.
    pub last_disconnect: Option<String>,
    /// Connections accepted so far.
    pub connections: u64,
}

/// State shared by the relay and the queue handles.
#[derive(Debug)]
struct Shared {
    gate: Gate,
    /// Queues the handles may use; changed only with the gate closed.
    rx_active: AtomicU16,
    tx_active: AtomicU16,
    stop: AtomicBool,
    connections: AtomicU64,
    status: Mutex<MemifStatus>,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, MemifStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drain bursts in flight, then let handles use `rx`/`tx` queues.
    fn publish(&self, rx: u16, tx: u16, peer: Option<String>) {
        self.gate.close();
        self.rx_active.store(rx, Ordering::SeqCst);
        self.tx_active.store(tx, Ordering::SeqCst);
        self.gate.open();
        let mut st = self.status();
        st.connected = rx > 0 || tx > 0;
        st.rx_queues = rx;
        st.tx_queues = tx;
        if let Some(p) = peer {
            st.peer = p;
        }
    }

    /// Keep every handle out of the PMD from now on (drains bursts in
    /// flight first).
    fn deactivate(&self) {
        self.publish(0, 0, None);
    }
}

/// A memif device's relay: listens where the user said, hands
/// connections to the PMD's private socket. Create it before probing the
/// device with [`MemifPort::pmd_devargs`].
#[derive(Debug)]
pub struct MemifPort {
    shared: Arc<Shared>,
    pmd_devargs: String,
    private_dir: PathBuf,
    socket: SocketAddr,
    wake: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

fn io_err(op: &'static str, target: impl Into<String>, e: io::Error) -> DpdkError {
    DpdkError::from_errno(op, target, e.raw_os_error().unwrap_or(libc::EIO))
}

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn sockaddr(addr: &SocketAddr) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_un = unsafe { zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let base = size_of::<libc::sa_family_t>();
    let (bytes, start) = match addr {
        SocketAddr::Path(p) => (p.as_os_str().as_encoded_bytes().to_vec(), 0),
        SocketAddr::Abstract(n) => (n.as_bytes().to_vec(), 1),
    };
    if bytes.contains(&0) || start + bytes.len() >= SUN_PATH_LEN {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (i, b) in bytes.iter().enumerate() {
        sa.sun_path[start + i] = *b as libc::c_char;
    }
    let len = match addr {
        SocketAddr::Path(_) => size_of::<libc::sockaddr_un>(),
        // As memif computes it: the leading NUL plus the name.
        SocketAddr::Abstract(_) => base + 1 + bytes.len(),
    };
    Ok((sa, len as libc::socklen_t))
}

fn seqpacket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last_err());
    }
    // SAFETY: `fd` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn connect(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = seqpacket()?;
    let (sa, len) = sockaddr(addr)?;
    // SAFETY: `sa` is a valid sockaddr_un of `len` bytes; `fd` is open.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if r < 0 {
        return Err(last_err());
    }
    Ok(fd)
}

fn listen(addr: &SocketAddr) -> io::Result<OwnedFd> {
    if let SocketAddr::Path(p) = addr {
        if let Ok(md) = std::fs::symlink_metadata(p) {
            // A socket file nobody listens on any more (left by a process
            // that died) may be replaced; anything else is in use.
            if !md.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the path exists and is not a socket",
                ));
            }
            match connect(addr) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                    std::fs::remove_file(p)?;
                }
                Ok(_) | Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        "another process listens on this socket",
                    ))
                }
            }
        }
    }
    let fd = seqpacket()?;
    let (sa, len) = sockaddr(addr)?;
    // SAFETY: `sa` is a valid sockaddr_un of `len` bytes; `fd` is open.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if r < 0 {
        return Err(last_err());
    }
    // SAFETY: `fd` is a bound socket.
    if unsafe { libc::listen(fd.as_raw_fd(), 1) } < 0 {
        return Err(last_err());
    }
    Ok(fd)
}

/// One control message and the descriptors it carried.
struct Msg {
    bytes: [u8; MSG_LEN],
    len: usize,
    fds: Vec<OwnedFd>,
}

impl Msg {
    fn kind(&self) -> u16 {
        u16::from_le_bytes([self.bytes[0], self.bytes[1]])
    }
    fn u16_at(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.bytes[off], self.bytes[off + 1]])
    }
    /// A NUL-terminated string field of `max` bytes at `off`.
    fn text_at(&self, off: usize, max: usize) -> String {
        let f = &self.bytes[off..(off + max).min(MSG_LEN)];
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end])
            .chars()
            .filter(|c| !c.is_control())
            .collect()
    }
}

enum Recv {
    Msg(Msg),
    /// The other end closed (or the connection failed, or sent something
    /// that is not a memif message).
    Closed,
}

fn recv(fd: &OwnedFd) -> Recv {
    let mut bytes = [0u8; MSG_LEN];
    // Room for MAX_FDS descriptors (CMSG_SPACE of 16 bytes is 32 on
    // 64-bit Linux; 64 leaves margin), u64-aligned as cmsghdr needs.
    let mut ctl = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: MSG_LEN,
    };
    // SAFETY: msghdr is plain old data; all zeroes is a valid value.
    let mut mh: libc::msghdr = unsafe { zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.as_mut_ptr().cast();
    mh.msg_controllen = size_of::<[u64; 8]>();
    // SAFETY: `mh` points at live buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut mh, libc::MSG_CMSG_CLOEXEC) };
    let mut fds = Vec::new();
    if n > 0 {
        // SAFETY: `mh` was filled by recvmsg; the CMSG_* helpers walk the
        // control buffer within msg_controllen.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(&mh) };
        while !c.is_null() {
            // SAFETY: `c` is a valid cmsghdr inside the control buffer.
            let (level, kind, clen) = unsafe { ((*c).cmsg_level, (*c).cmsg_type, (*c).cmsg_len) };
            if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
                // SAFETY: CMSG_LEN(0) is a pure computation.
                let hdr = unsafe { libc::CMSG_LEN(0) } as usize;
                let count = clen.saturating_sub(hdr) / size_of::<RawFd>();
                // SAFETY: `c` is valid; its data holds `count` descriptors.
                let data = unsafe { libc::CMSG_DATA(c) }.cast::<RawFd>();
                for i in 0..count {
                    // SAFETY: within the cmsg's data (read unaligned: the
                    // data may not be int-aligned in theory); the kernel
                    // installed these descriptors for us, so we own them.
                    let raw = unsafe { data.add(i).read_unaligned() };
                    if raw >= 0 {
                        // SAFETY: see above: a new descriptor we own.
                        fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                    }
                }
            }
            // SAFETY: walking the same control buffer.
            c = unsafe { libc::CMSG_NXTHDR(&mh, c) };
        }
    }
    let truncated = mh.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0;
    if n <= 0 || truncated || fds.len() > MAX_FDS {
        return Recv::Closed;
    }
    Recv::Msg(Msg {
        bytes,
        len: n as usize,
        fds,
    })
}

/// Send `msg` (and its descriptors). `wait`: block while the socket's
/// buffer is full (towards the PMD, which reads at once); towards a peer,
/// a full buffer is a failure, so a peer that stops reading cannot hold
/// the relay.
fn send(fd: &OwnedFd, msg: &Msg, wait: bool) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: msg.bytes.as_ptr() as *mut libc::c_void,
        iov_len: msg.len,
    };
    let mut ctl = [0u64; 8];
    // SAFETY: msghdr is plain old data; all zeroes is a valid value.
    let mut mh: libc::msghdr = unsafe { zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    if !msg.fds.is_empty() {
        let data_len = (msg.fds.len() * size_of::<RawFd>()) as u32;
        // SAFETY: pure computations.
        let (space, clen) = unsafe { (libc::CMSG_SPACE(data_len), libc::CMSG_LEN(data_len)) };
        mh.msg_control = ctl.as_mut_ptr().cast();
        mh.msg_controllen = space as usize;
        // SAFETY: the control buffer (64 bytes) holds CMSG_SPACE of at
        // most MAX_FDS descriptors; the header and data are written
        // within it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&mh);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = clen as usize;
            let data = libc::CMSG_DATA(c).cast::<RawFd>();
            for (i, f) in msg.fds.iter().enumerate() {
                data.add(i).write_unaligned(f.as_raw_fd());
            }
        }
    }
    let flags = libc::MSG_NOSIGNAL | if wait { 0 } else { libc::MSG_DONTWAIT };
    // SAFETY: `mh` points at live buffers of the sizes it states.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &mh, flags) };
    if n < 0 {
        return Err(last_err());
    }
    if n as usize != msg.len {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    Ok(())
}

/// Wait until one of `fds` is readable or hung up; `timeout` None waits
/// forever. Returns which are (by index).
fn wait(fds: &[RawFd], timeout: Option<Duration>) -> Vec<bool> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    loop {
        // SAFETY: `pfds` is a valid array of pollfd of the given length.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if r < 0 && last_err().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return pfds.iter().map(|p| p.revents != 0).collect();
    }
}

fn shutdown_write(fd: &OwnedFd) {
    // SAFETY: `fd` is an open socket; shutdown(2) only changes its state.
    unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) };
}

/// One accepted peer and its connection to the PMD.
struct Conn {
    peer: OwnedFd,
    pmd: OwnedFd,
    /// The PMD sent HELLO (rule 1: only then may `pmd` be closed).
    hello: bool,
    /// The peer sent CONNECT: the PMD may be connected from now on.
    connect_sent: bool,
    c2s: u16,
    s2c: u16,
    peer_name: String,
}

enum Flow {
    Continue,
    Stop,
}

struct Relay {
    shared: Arc<Shared>,
    listener: OwnedFd,
    wake: OwnedFd,
    private: SocketAddr,
    n_rxq: u16,
    n_txq: u16,
}

impl Relay {
    fn log_disconnect(&self, reason: String) {
        if !reason.is_empty() {
            self.shared.status().last_disconnect = Some(reason);
        }
    }

    fn run(self) {
        loop {
            let ready = wait(&[self.listener.as_raw_fd(), self.wake.as_raw_fd()], None);
            if ready[1] || self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            if !ready[0] {
                continue;
            }
            // SAFETY: accept4 on our listening socket; NULL address out
            // pointers are allowed.
            let fd = unsafe {
                libc::accept4(
                    self.listener.as_raw_fd(),
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                continue;
            }
            // SAFETY: a new descriptor we own.
            let peer = unsafe { OwnedFd::from_raw_fd(fd) };
            let pmd = match connect(&self.private) {
                Ok(p) => p,
                // The PMD's listener is gone (device being removed): the
                // peer is dropped, and the loop sees the stop request.
                Err(_) => continue,
            };
            self.shared.connections.fetch_add(1, Ordering::Relaxed);
            let conn = Conn {
                peer,
                pmd,
                hello: false,
                connect_sent: false,
                c2s: 0,
                s2c: 0,
                peer_name: String::new(),
            };
            if let Flow::Stop = self.serve(conn) {
                return;
            }
        }
    }

    /// Relay one connection until it ends.
    fn serve(&self, mut c: Conn) -> Flow {
        loop {
            let ready = wait(
                &[c.pmd.as_raw_fd(), c.peer.as_raw_fd(), self.wake.as_raw_fd()],
                None,
            );
            if ready[2] || self.shared.stop.load(Ordering::SeqCst) {
                self.end(c, None);
                return Flow::Stop;
            }
            if ready[0] {
                match recv(&c.pmd) {
                    Recv::Msg(m) => {
                        match m.kind() {
                            MSG_HELLO => c.hello = true,
                            MSG_CONNECTED => {
                                // The PMD mapped the regions and set its
                                // queues up: they may be used now.
                                let rx = c.c2s.min(self.n_rxq);
                                let tx = c.s2c.min(self.n_txq);
                                self.shared.publish(rx, tx, Some(c.peer_name.clone()));
                            }
                            MSG_DISCONNECT => self.log_disconnect(m.text_at(6, 96)),
                            _ => {}
                        }
                        if send(&c.peer, &m, false).is_err() {
                            self.end(c, None);
                            return Flow::Continue;
                        }
                    }
                    Recv::Closed => {
                        // The PMD hung up by itself: the port was stopped
                        // or closed (its bursts were drained by the
                        // ethdev's own gate), or it refused the peer.
                        self.shared.deactivate();
                        return Flow::Continue;
                    }
                }
                continue;
            }
            if ready[1] {
                match recv(&c.peer) {
                    Recv::Msg(m) => {
                        let risky = c.connect_sent;
                        match m.kind() {
                            MSG_ADD_RING => {
                                let flags = m.u16_at(2);
                                let n = m.u16_at(4).saturating_add(1);
                                if flags & RING_FLAG_C2S != 0 {
                                    c.c2s = c.c2s.max(n);
                                } else {
                                    c.s2c = c.s2c.max(n);
                                }
                            }
                            MSG_CONNECT => {
                                c.connect_sent = true;
                                c.peer_name = m.text_at(2, 32);
                            }
                            MSG_DISCONNECT => self.log_disconnect(m.text_at(6, 96)),
                            _ => {}
                        }
                        if risky {
                            // Rule 3: after CONNECT, any message makes the
                            // PMD disconnect (DISCONNECT, or a protocol
                            // error): deliver it with the queues unused.
                            self.end(c, Some(m));
                            return Flow::Continue;
                        }
                        if send(&c.pmd, &m, true).is_err() {
                            self.end(c, None);
                            return Flow::Continue;
                        }
                    }
                    Recv::Closed => {
                        self.end(c, None);
                        return Flow::Continue;
                    }
                }
            }
        }
    }

    /// End a connection: stop using the queues (draining bursts), pass
    /// `last` (the peer's final message) or a half-close to the PMD, and
    /// wait until the PMD has hung up, which it does only once its
    /// teardown is complete.
    fn end(&self, mut c: Conn, last: Option<Msg>) {
        self.shared.deactivate();
        drop(c.peer);
        let deadline = Instant::now() + PMD_WAIT;
        // Rule 1: the PMD's HELLO must be out before we may hang up.
        while !c.hello && Instant::now() < deadline {
            if !wait(&[c.pmd.as_raw_fd()], Some(Duration::from_millis(100)))[0] {
                continue;
            }
            match recv(&c.pmd) {
                Recv::Msg(m) => c.hello |= m.kind() == MSG_HELLO,
                Recv::Closed => return,
            }
        }
        if !c.hello {
            // EAL's interrupt thread has not accepted the connection in
            // all that time: keep our end open for good rather than let
            // the PMD's HELLO fail whenever it comes (one descriptor).
            std::mem::forget(c.pmd);
            return;
        }
        if let Some(m) = last {
            let _ = send(&c.pmd, &m, true);
        }
        shutdown_write(&c.pmd);
        while Instant::now() < deadline {
            if !wait(&[c.pmd.as_raw_fd()], Some(Duration::from_millis(100)))[0] {
                continue;
            }
            match recv(&c.pmd) {
                Recv::Msg(m) => {
                    if m.kind() == MSG_DISCONNECT {
                        self.log_disconnect(m.text_at(6, 96));
                    }
                }
                Recv::Closed => return,
            }
        }
        // The PMD did not hang up in time (EAL's interrupt thread is busy);
        // its queues stay unused, and closing is safe once HELLO is out.
    }
}

/// Remove the private directories (`rvs-memif-<pid>-<n>`) that processes
/// no longer running left behind (killed before they could).
fn remove_stale_private_dirs() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("rvs-memif-"))
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Only real directories of our own user (never through a link).
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let ours = std::fs::symlink_metadata(e.path())
            .is_ok_and(|m| m.file_type().is_dir() && m.uid() == me);
        if ours && pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl MemifPort {
    /// Start serving `args.socket`: bind it, make the PMD's private socket
    /// directory and start the relay. `n_rxq`/`n_txq` are the queue counts
    /// the device will be configured with (a peer never gets more).
    pub fn open(args: &MemifArgs, n_rxq: u16, n_txq: u16) -> Result<MemifPort> {
        const OP: &str = "memif relay";
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let target = args.socket.to_string();
        remove_stale_private_dirs();
        let private_dir = std::env::temp_dir().join(format!(
            "rvs-memif-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        // 0700, created here (fails if anything is at that path already).
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&private_dir)
            .map_err(|e| io_err(OP, private_dir.display().to_string(), e))?;
        let private = SocketAddr::Path(private_dir.join("pmd.sock"));
        let listener = match listen(&args.socket) {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&private_dir);
                return Err(DpdkError::other(
                    OP,
                    target,
                    format!("cannot listen on the memif socket: {e}"),
                ));
            }
        };
        let mut pipe = [0 as RawFd; 2];
        // SAFETY: `pipe` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
            let e = last_err();
            let _ = std::fs::remove_dir_all(&private_dir);
            return Err(io_err(OP, target, e));
        }
        // SAFETY: new descriptors we own.
        let (wake_rx, wake_tx) =
            unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
        let shared = Arc::new(Shared {
            gate: Gate::new(true),
            rx_active: AtomicU16::new(0),
            tx_active: AtomicU16::new(0),
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            status: Mutex::new(MemifStatus {
                socket: target.clone(),
                ..MemifStatus::default()
            }),
        });
        let relay = Relay {
            shared: shared.clone(),
            listener,
            wake: wake_rx,
            private: private.clone(),
            n_rxq,
            n_txq,
        };
        let thread = std::thread::Builder::new()
            .name("memif-relay".into())
            .spawn(move || relay.run())
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&private_dir);
                io_err(OP, target.clone(), e)
            })?;
        let SocketAddr::Path(private_path) = &private else {
            unreachable!("the private socket is a path")
        };
        Ok(MemifPort {
            pmd_devargs: args.pmd_devargs(private_path),
            shared,
            private_dir,
            socket: args.socket.clone(),
            wake: Some(wake_tx),
            thread: Some(thread),
        })
    }

    /// The devargs to probe the PMD with.
    pub fn pmd_devargs(&self) -> &str {
        &self.pmd_devargs
    }

    /// A connection is up and its queues are in use.
    pub fn is_connected(&self) -> bool {
        self.shared.status().connected
    }

    /// The relay's view, for `status`.
    pub fn status(&self) -> MemifStatus {
        let mut s = self.shared.status().clone();
        s.connections = self.shared.connections.load(Ordering::Relaxed);
        s
    }

    /// Receive queue `queue` of the device, used only while the peer has
    /// it.
    pub fn rx_queue(&self, inner: EthRxQueue) -> MemifRxQueue {
        let (_, queue) = inner.id();
        MemifRxQueue {
            flag: self.shared.gate.join(),
            shared: self.shared.clone(),
            inner,
            queue,
        }
    }

    /// Transmit handles for `users` senders over the device's queues
    /// (`queues`, in id order): user `u` sends on queue `u % n`, `n` being
    /// the queues the peer has, each queue behind a lock taken once per
    /// burst. The last user is the control thread: it only tries the lock
    /// (briefly), never waiting behind a PMD.
    pub fn tx_queues(&self, queues: Vec<EthTxQueue>, users: usize) -> Vec<MemifTxQueue> {
        let queues: Arc<[Mutex<EthTxQueue>]> = queues.into_iter().map(Mutex::new).collect();
        (0..users)
            .map(|u| MemifTxQueue {
                flag: self.shared.gate.join(),
                shared: self.shared.clone(),
                queues: queues.clone(),
                user: u,
                control: u + 1 == users,
            })
            .collect()
    }

    /// Stop the relay: end the connection (the peer sees it close), stop
    /// listening and remove the socket file and the private directory.
    /// Call before removing the device (the PMD must not see a connection
    /// it has not finished greeting disappear).
    pub fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.wake.take() {
            // SAFETY: writing one byte from a live buffer to our pipe.
            unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
            drop(w);
            if let SocketAddr::Path(p) = &self.socket {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl Drop for MemifPort {
    fn drop(&mut self) {
        self.shutdown();
        let _ = std::fs::remove_dir_all(&self.private_dir);
    }
}

/// A memif receive queue that calls into the PMD only while the peer has
/// set it up. `Send`; one per queue.
#[derive(Debug)]
pub struct MemifRxQueue {
    shared: Arc<Shared>,
    flag: Arc<BusyFlag>,
    inner: EthRxQueue,
    queue: u16,
}

impl Drop for MemifRxQueue {
    fn drop(&mut self) {
        self.shared.gate.leave(&self.flag);
    }
}

impl RxQueue<Mbuf> for MemifRxQueue {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<Mbuf>) -> usize {
        let sh = &*self.shared;
        if !sh.gate.enter(&self.flag) {
            return 0;
        }
        let got = if self.queue < sh.rx_active.load(Ordering::Relaxed) {
            self.inner.rx_burst(out)
        } else {
            0
        };
        Gate::exit(&self.flag);
        got
    }
}

/// A memif transmit handle (see [`MemifPort::tx_queues`]). `Send`.
#[derive(Debug)]
pub struct MemifTxQueue {
    shared: Arc<Shared>,
    flag: Arc<BusyFlag>,
    queues: Arc<[Mutex<EthTxQueue>]>,
    user: usize,
    control: bool,
}

impl Drop for MemifTxQueue {
    fn drop(&mut self) {
        self.shared.gate.leave(&self.flag);
    }
}

impl MemifTxQueue {
    fn lock<'a>(&self, q: &'a Mutex<EthTxQueue>) -> Option<MutexGuard<'a, EthTxQueue>> {
        if self.control {
            // A PMD holds a shared queue for one burst at most.
            return try_lock_briefly(q);
        }
        Some(q.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl TxQueue<Mbuf> for MemifTxQueue {
    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        if pkts.is_empty() {
            return 0;
        }
        let sh = &*self.shared;
        if !sh.gate.enter(&self.flag) {
            return 0;
        }
        let n = usize::from(sh.tx_active.load(Ordering::Relaxed)).min(self.queues.len());
        let mut sent = 0;
        if n > 0 {
            if let Some(mut q) = self.lock(&self.queues[self.user % n]) {
                sent = q.tx_burst(pkts);
            }
        }
        Gate::exit(&self.flag);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_role_is_required() {
        let e = MemifArgs::parse("net_memif0,socket=/tmp/x.sock").unwrap_err();
        assert!(e.contains("role=server"), "{e}");
        assert!(e.contains("default is role=client"), "{e}");
        for r in ["client", "slave"] {
            let e = MemifArgs::parse(&format!("net_memif0,role={r},socket=/tmp/x")).unwrap_err();
            assert!(e.contains("needs role=server"), "{e}");
        }
        assert!(MemifArgs::parse("net_memif0,role=bogus").is_err());
        assert!(MemifArgs::parse("net_memif0,role=server,foo=1").is_err());
    }

    #[test]
    fn pmd_gets_the_private_socket_and_the_other_options() {
        let a = MemifArgs::parse(
            "net_memif3,role=server,socket=/tmp/a.sock,socket-abstract=no,id=7,bsize=4096",
        )
        .unwrap();
        assert_eq!(a.socket, SocketAddr::Path("/tmp/a.sock".into()));
        assert_eq!(
            a.pmd_devargs(Path::new("/p/pmd.sock")),
            "net_memif3,role=server,socket=/p/pmd.sock,socket-abstract=no,id=7,bsize=4096"
        );
        let b = MemifArgs::parse("net_memif0,role=master,socket=/tmp/b.sock").unwrap();
        assert_eq!(b.socket, SocketAddr::Abstract("/tmp/b.sock".into()));
        assert!(MemifArgs::parse("net_memif0,role=server,socket=rel,socket-abstract=no").is_err());
    }
}
