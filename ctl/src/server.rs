//! The daemon's side of the control socket.
//!
//! - [`bind`] creates the socket with mode 0600 and no window in which it
//!   is wider: it binds inside a fresh 0700 directory, sets the mode, then
//!   renames the socket into place (replacing a stale socket file, but
//!   never a live one or a file that is not a socket).
//! - [`serve_connection`] serves one connection: checks the peer's uid
//!   (`SO_PEERCRED`; only root and the daemon's own uid), reads one request
//!   of at most 1 MiB before a deadline, calls the handler, writes the
//!   reply and closes.
//! - [`serve`] accepts forever, one short-lived thread per connection, at
//!   most `max_connections` at a time. When every slot is taken, the
//!   connection that has waited longest on its peer (still sending its
//!   request, or not reading its reply) for at least `evict_idle_after` is
//!   cut to make room, so slow or silent clients cannot lock everyone out:
//!   a prompt client is refused ("busy") only while every slot is either
//!   running a request or was opened less than `evict_idle_after` ago, and
//!   an idle client is cut at `read_timeout` in any case.
//! - Every connection dropped without being served (refused peer, request
//!   too large, timed out, evicted, busy, malformed) is reported through
//!   [`ServerConfig::on_drop`]; the default forwards to the logger the
//!   daemon installs with [`set_drop_logger`].
//! - [`ControlQueue`] is the daemon's handler: it hands each request to the
//!   one thread that runs requests and waits for the answer at most
//!   [`ControlQueue::answer_timeout`]. A wedged control thread then costs a
//!   client that long and a "daemon busy" reply (reported as
//!   [`DropReason::Stalled`]), and frees its slot, instead of holding it
//!   forever.

use std::fs::{self, DirBuilder};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

mod queue;

pub use queue::{ControlQueue, Waited, DEFAULT_ANSWER_TIMEOUT};

use crate::proto::{Request, Response, MAX_REQUEST};

/// Limits for serving requests.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Time a client has to send its whole request.
    pub read_timeout: Duration,
    /// Time allowed for writing the reply.
    pub write_timeout: Duration,
    /// Largest request accepted.
    pub max_request: usize,
    /// Most connections served at once. A new client beyond it takes the
    /// slot of the connection idle longest (at least `evict_idle_after`);
    /// if there is none it is refused with a "busy" error.
    pub max_connections: usize,
    /// How long a connection may wait on its peer before a new client may
    /// take its slot (when all are taken).
    pub evict_idle_after: Duration,
    /// Who may send requests ([`peer_allowed`]: root and our own uid).
    pub allow_peer: fn(&PeerCred) -> bool,
    /// Told about every connection dropped without being served.
    pub on_drop: DropLogger,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            max_request: MAX_REQUEST,
            max_connections: 8,
            evict_idle_after: Duration::from_secs(1),
            allow_peer: peer_allowed,
            on_drop: log_drop,
        }
    }
}

/// Why a connection was dropped without its request being served.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The peer's uid may not use the socket.
    Refused,
    /// The peer's credentials could not be read.
    NoCredentials,
    /// The request was larger than `max_request`.
    TooLarge,
    /// The request did not arrive within `read_timeout`.
    TimedOut,
    /// The connection waited on its peer and its slot went to a new client.
    Evicted,
    /// Every slot was taken by a running or fresh connection.
    Busy,
    /// Not a request (bad JSON, no or unknown protocol version).
    Malformed,
    /// Reading the request or writing the reply failed.
    Io,
    /// The control thread did not answer within the
    /// [`ControlQueue::answer_timeout`]; the client was told the daemon is
    /// busy.
    Stalled,
}

impl DropReason {
    /// A short word for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Refused => "refused",
            DropReason::NoCredentials => "no credentials",
            DropReason::TooLarge => "too large",
            DropReason::TimedOut => "timed out",
            DropReason::Evicted => "evicted",
            DropReason::Busy => "busy",
            DropReason::Malformed => "malformed",
            DropReason::Io => "i/o error",
            DropReason::Stalled => "control thread stalled",
        }
    }
}

/// Receives drop reports: the reason, the peer (when known) and details.
/// Called on the connection's thread; it must not block for long.
pub type DropLogger = fn(DropReason, Option<&PeerCred>, &str);

static DROP_LOGGER: OnceLock<DropLogger> = OnceLock::new();

/// Install the process-wide logger behind the default
/// [`ServerConfig::on_drop`] (the daemon's log). Only the first call counts.
pub fn set_drop_logger(f: DropLogger) {
    let _ = DROP_LOGGER.set(f);
}

/// The default [`ServerConfig::on_drop`]: forward to the logger installed
/// with [`set_drop_logger`], if any.
pub fn log_drop(reason: DropReason, peer: Option<&PeerCred>, detail: &str) {
    if let Some(f) = DROP_LOGGER.get() {
        f(reason, peer, detail);
    }
}

/// Credentials of the connected process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PeerCred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// `SO_PEERCRED` of a connected Unix socket.
pub fn peer_cred(stream: &UnixStream) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = core::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the fd is a valid socket owned by `stream` for the duration of
    // the call; `cred` and `len` are valid for writes and `len` holds the
    // size of `cred`, so the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// This process's effective uid.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether a peer may use the control socket: root or our own uid.
pub fn peer_allowed(peer: &PeerCred) -> bool {
    peer.uid == 0 || peer.uid == own_uid()
}

/// Create the listening socket at `path`, mode 0600.
///
/// The parent directory is created (mode 0755) if missing. A stale socket
/// (nobody listening) is replaced; a live one is an `AddrInUse` error, and
/// a path that is not a socket is an `AlreadyExists` error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "socket path has no file name"))?
        .to_string_lossy()
        .into_owned();
    DirBuilder::new().recursive(true).mode(0o755).create(&dir)?;
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "another vswitchd is already listening on {}",
                        path.display()
                    ),
                ));
            }
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; not replacing it",
                    path.display()
                ),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // A private directory nobody else can enter while the socket in it is
    // still at the default mode.
    let tmpdir = dir.join(format!(
        ".{name}.{}.{}.d",
        std::process::id(),
        crate::env::random_uuid()
    ));
    DirBuilder::new().mode(0o700).create(&tmpdir)?;
    let result = (|| {
        let tmp_sock = tmpdir.join("s");
        let listener = UnixListener::bind(&tmp_sock)?;
        fs::set_permissions(&tmp_sock, fs::Permissions::from_mode(0o600))?;
        fs::rename(&tmp_sock, path)?;
        Ok(listener)
    })();
    let _ = fs::remove_file(tmpdir.join("s"));
    let _ = fs::remove_dir(&tmpdir);
    result
}

/// Why reading a request failed.
enum ReadFail {
    /// Over the limit; `true` if the end of the request was already seen.
    TooLarge(bool),
    TimedOut,
    Empty,
    Io(io::Error),
}

fn read_request(stream: &mut UnixStream, cfg: &ServerConfig) -> Result<Vec<u8>, ReadFail> {
    let deadline = Instant::now() + cfg.read_timeout;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(ReadFail::TimedOut);
        }
        stream
            .set_read_timeout(Some(deadline - now))
            .map_err(ReadFail::Io)?;
        match stream.read(&mut chunk) {
            Ok(0) => {
                return if buf.is_empty() {
                    Err(ReadFail::Empty)
                } else {
                    Ok(buf)
                }
            }
            Ok(n) => {
                let data = chunk.get(..n).unwrap_or(&[]);
                if let Some(pos) = data.iter().position(|b| *b == b'\n') {
                    if buf.len() + pos > cfg.max_request {
                        return Err(ReadFail::TooLarge(true));
                    }
                    buf.extend_from_slice(data.get(..pos).unwrap_or(&[]));
                    return Ok(buf);
                }
                if buf.len() + n > cfg.max_request {
                    return Err(ReadFail::TooLarge(false));
                }
                buf.extend_from_slice(data);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadFail::TimedOut)
            }
            Err(e) => return Err(ReadFail::Io(e)),
        }
    }
}

/// Read and discard what the client is still sending, up to the end of its
/// request line, EOF, `limit` bytes or `deadline`. Closing a Unix socket
/// with unread data makes the peer's read fail with ECONNRESET, which
/// would hide our error reply from it.
fn drain(stream: &mut UnixStream, deadline: Instant, limit: usize) {
    let mut chunk = [0u8; 8192];
    let mut total = 0usize;
    while total < limit {
        let now = Instant::now();
        if now >= deadline || stream.set_read_timeout(Some(deadline - now)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                if chunk.get(..n).unwrap_or(&[]).contains(&b'\n') {
                    return;
                }
                total += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn reply(stream: &mut UnixStream, resp: &Response, cfg: &ServerConfig) -> io::Result<()> {
    stream.set_write_timeout(Some(cfg.write_timeout))?;
    stream.write_all(&resp.to_line())?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// What a connection is waiting for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// The peer's request (or, for a refused peer, the end of it).
    Reading,
    /// The control thread.
    Handling,
    /// The peer to take the reply.
    Writing,
}

/// One connection being served.
struct Entry {
    id: u64,
    phase: Phase,
    since: Instant,
    /// A second handle on the socket, to cut it from the accept thread.
    stream: UnixStream,
}

/// The connections being served, at most `cap`.
struct Slots {
    entries: Mutex<(u64, Vec<Entry>)>,
    cap: usize,
    idle_after: Duration,
}

/// What [`Slots::admit`] did.
enum Admit {
    /// A free slot.
    Free(u64),
    /// The slot of an idle connection, which was cut: its peer and how long
    /// it had been waiting on that peer.
    Evicted(u64, Option<PeerCred>, Duration),
    /// No slot.
    Busy,
}

impl Slots {
    fn new(cap: usize, idle_after: Duration) -> Slots {
        Slots {
            entries: Mutex::new((0, Vec::new())),
            cap: cap.max(1),
            idle_after,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Entry>)> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Find a slot for `stream`, cutting the connection that has waited
    /// longest on its peer if every slot is taken.
    fn admit(&self, stream: &UnixStream, now: Instant) -> Admit {
        let Ok(handle) = stream.try_clone() else {
            return Admit::Busy;
        };
        let mut g = self.lock();
        let (next, entries) = &mut *g;
        let mut evicted = None;
        if entries.len() >= self.cap {
            let victim = entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.phase != Phase::Handling)
                .filter(|(_, e)| now.saturating_duration_since(e.since) >= self.idle_after)
                .min_by_key(|(_, e)| e.since)
                .map(|(i, _)| i);
            let Some(i) = victim else {
                return Admit::Busy;
            };
            let e = entries.swap_remove(i);
            // A reader sees end of input and answers that it was dropped; a
            // writer's write fails.
            let how = match e.phase {
                Phase::Reading => std::net::Shutdown::Read,
                _ => std::net::Shutdown::Both,
            };
            let _ = e.stream.shutdown(how);
            evicted = Some((
                peer_cred(&e.stream).ok(),
                now.saturating_duration_since(e.since),
            ));
        }
        *next += 1;
        let id = *next;
        entries.push(Entry {
            id,
            phase: Phase::Reading,
            since: now,
            stream: handle,
        });
        match evicted {
            Some((peer, waited)) => Admit::Evicted(id, peer, waited),
            None => Admit::Free(id),
        }
    }

    /// Move connection `id` to `phase`; `false` if it was evicted.
    fn set_phase(&self, id: u64, phase: Phase) -> bool {
        let mut g = self.lock();
        match g.1.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.phase = phase;
                e.since = Instant::now();
                true
            }
            None => false,
        }
    }

    fn release(&self, id: u64) {
        self.lock().1.retain(|e| e.id != id);
    }
}

/// A connection's hold on its slot; gives it back when dropped.
struct SlotGuard {
    slots: Arc<Slots>,
    id: u64,
}

impl SlotGuard {
    fn set_phase(&self, phase: Phase) -> bool {
        self.slots.set_phase(self.id, phase)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.release(self.id);
    }
}

/// Serve one connection: credentials, one bounded request, the handler,
/// one reply.
pub fn serve_connection<H>(stream: UnixStream, handler: &H, cfg: &ServerConfig) -> io::Result<()>
where
    H: Fn(Request, PeerCred) -> Response + ?Sized,
{
    serve_in_slot(stream, handler, cfg, None)
}

fn serve_in_slot<H>(
    mut stream: UnixStream,
    handler: &H,
    cfg: &ServerConfig,
    slot: Option<&SlotGuard>,
) -> io::Result<()>
where
    H: Fn(Request, PeerCred) -> Response + ?Sized,
{
    // `false` once the accept thread gave our slot to another client.
    let still_ours = |phase: Phase| slot.is_none_or(|s| s.set_phase(phase));
    let evicted_reply = || {
        Response::error(format!(
            "vswitchd dropped this connection: no complete request after waiting, and another client needed the slot (send the whole request at once; at most {} connections are served together)",
            cfg.max_connections
        ))
    };
    let peer = match peer_cred(&stream) {
        Ok(p) => p,
        Err(e) => {
            (cfg.on_drop)(DropReason::NoCredentials, None, &e.to_string());
            let r = Response::error(format!("cannot check the peer's credentials: {e}"));
            drain(
                &mut stream,
                Instant::now() + cfg.read_timeout,
                cfg.max_request,
            );
            return reply(&mut stream, &r, cfg);
        }
    };
    if !(cfg.allow_peer)(&peer) {
        (cfg.on_drop)(
            DropReason::Refused,
            Some(&peer),
            &format!("uid {} may not control vswitchd", peer.uid),
        );
        // Read (and ignore) the request so the client sees the reply.
        drain(
            &mut stream,
            Instant::now() + cfg.read_timeout,
            cfg.max_request,
        );
        let r = Response::error(format!(
            "permission denied: uid {} may not control vswitchd (only root and uid {} may; try sudo)",
            peer.uid,
            own_uid()
        ));
        if !still_ours(Phase::Writing) {
            return Ok(());
        }
        return reply(&mut stream, &r, cfg);
    }
    let read = read_request(&mut stream, cfg);
    if !still_ours(Phase::Handling) {
        let _ = reply(&mut stream, &evicted_reply(), cfg);
        return Ok(());
    }
    let bytes = match read {
        Ok(b) => b,
        Err(ReadFail::TooLarge(saw_end)) => {
            (cfg.on_drop)(
                DropReason::TooLarge,
                Some(&peer),
                &format!("request over {} bytes", cfg.max_request),
            );
            let r = Response::error(format!(
                "request too large (the limit is {} bytes)",
                cfg.max_request
            ));
            // Let a client that is still sending finish (within bounds) so
            // it can read the reply.
            if !saw_end && still_ours(Phase::Reading) {
                drain(
                    &mut stream,
                    Instant::now() + cfg.read_timeout,
                    16 * cfg.max_request,
                );
            }
            if still_ours(Phase::Writing) {
                let _ = reply(&mut stream, &r, cfg);
            }
            return Ok(());
        }
        Err(ReadFail::TimedOut) => {
            (cfg.on_drop)(
                DropReason::TimedOut,
                Some(&peer),
                &format!(
                    "no complete request within {} ms",
                    cfg.read_timeout.as_millis()
                ),
            );
            let r = Response::error("timed out waiting for the request");
            if still_ours(Phase::Writing) {
                let _ = reply(&mut stream, &r, cfg);
            }
            return Ok(());
        }
        Err(ReadFail::Empty) => return Ok(()),
        Err(ReadFail::Io(e)) => {
            (cfg.on_drop)(DropReason::Io, Some(&peer), &format!("reading: {e}"));
            return Err(e);
        }
    };
    let resp = match Request::parse(&bytes) {
        Ok(req) => handler(req, peer),
        Err(r) => {
            (cfg.on_drop)(DropReason::Malformed, Some(&peer), &r.error);
            r
        }
    };
    if !still_ours(Phase::Writing) {
        return Ok(());
    }
    let sent = reply(&mut stream, &resp, cfg);
    if let Err(e) = &sent {
        (cfg.on_drop)(
            DropReason::Io,
            Some(&peer),
            &format!("writing the reply: {e}"),
        );
    }
    sent
}

/// Accept connections forever, each on its own short-lived thread, at
/// most `cfg.max_connections` at once (see the module documentation for
/// what happens to more). Returns only on a fatal accept error.
pub fn serve<H>(listener: UnixListener, handler: Arc<H>, cfg: ServerConfig) -> io::Result<()>
where
    H: Fn(Request, PeerCred) -> Response + Send + Sync + 'static,
{
    let slots = Arc::new(Slots::new(cfg.max_connections, cfg.evict_idle_after));
    let cfg = Arc::new(cfg);
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR) | Some(libc::ECONNABORTED) | Some(libc::EPROTO) => continue,
                Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS)
                | Some(libc::ENOMEM) => {
                    // Out of descriptors or memory: back off instead of spinning.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                _ => return Err(e),
            },
        };
        let id = match slots.admit(&stream, Instant::now()) {
            Admit::Free(id) => id,
            Admit::Evicted(id, peer, waited) => {
                (cfg.on_drop)(
                    DropReason::Evicted,
                    peer.as_ref(),
                    &format!(
                        "idle for {} ms while all {} slots were taken; its slot went to a new client",
                        waited.as_millis(),
                        cfg.max_connections
                    ),
                );
                id
            }
            Admit::Busy => {
                let mut s = stream;
                (cfg.on_drop)(
                    DropReason::Busy,
                    peer_cred(&s).ok().as_ref(),
                    &format!(
                        "all {} slots are running requests or were opened less than {} ms ago",
                        cfg.max_connections,
                        cfg.evict_idle_after.as_millis()
                    ),
                );
                let busy =
                    Response::error("vswitchd is busy (too many concurrent requests); try again");
                let quick = ServerConfig {
                    write_timeout: Duration::from_millis(100),
                    ..(*cfg).clone()
                };
                drain(
                    &mut s,
                    Instant::now() + Duration::from_millis(100),
                    64 << 10,
                );
                let _ = reply(&mut s, &busy, &quick);
                continue;
            }
        };
        let guard = SlotGuard {
            slots: slots.clone(),
            id,
        };
        let handler = handler.clone();
        let cfg = cfg.clone();
        // If the thread cannot start, the closure (and the guard in it) is
        // dropped, which frees the slot.
        let _ = std::thread::Builder::new()
            .name("vswitchd-ctl".into())
            .spawn(move || {
                let _ = serve_in_slot(stream, &*handler, &cfg, Some(&guard));
                drop(guard);
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UnixStream, UnixStream) {
        UnixStream::pair().expect("socketpair")
    }

    #[test]
    fn a_full_table_evicts_the_connection_idle_longest_and_only_after_the_grace() {
        let slots = Slots::new(2, Duration::from_millis(500));
        let t0 = Instant::now();
        let (a, _pa) = pair();
        let (b, _pb) = pair();
        let (c, _pc) = pair();
        let ida = match slots.admit(&a, t0) {
            Admit::Free(id) => id,
            _ => panic!("free slot"),
        };
        let idb = match slots.admit(&b, t0 + Duration::from_millis(100)) {
            Admit::Free(id) => id,
            _ => panic!("free slot"),
        };
        // Both are younger than the grace: busy.
        assert!(matches!(
            slots.admit(&c, t0 + Duration::from_millis(400)),
            Admit::Busy
        ));
        // A connection the control thread is running is never evicted.
        assert!(slots.set_phase(ida, Phase::Handling));
        assert!(matches!(
            slots.admit(&c, t0 + Duration::from_millis(550)),
            Admit::Busy
        ));
        // b has waited 600 ms on its peer: it goes.
        match slots.admit(&c, t0 + Duration::from_millis(700)) {
            Admit::Evicted(_, _, waited) => assert_eq!(waited, Duration::from_millis(600)),
            _ => panic!("b should have been evicted"),
        }
        assert!(!slots.set_phase(idb, Phase::Handling), "b lost its slot");
        assert_eq!(slots.lock().1.len(), 2);
        slots.release(ida);
        slots.release(idb);
        assert_eq!(slots.lock().1.len(), 1);
    }

    #[test]
    fn eviction_wakes_a_blocked_reader_which_can_still_reply() {
        let slots = Arc::new(Slots::new(1, Duration::ZERO));
        let (server_side, mut client) = pair();
        let id = match slots.admit(&server_side, Instant::now()) {
            Admit::Free(id) => id,
            _ => panic!("free slot"),
        };
        let guard = SlotGuard {
            slots: slots.clone(),
            id,
        };
        let cfg = ServerConfig {
            read_timeout: Duration::from_secs(30),
            allow_peer: |_| true,
            ..ServerConfig::default()
        };
        let t = std::thread::spawn(move || {
            let started = Instant::now();
            let _ = serve_in_slot(
                server_side,
                &|_: Request, _: PeerCred| -> Response { panic!("no request was sent") },
                &cfg,
                Some(&guard),
            );
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        let (newcomer, _other) = pair();
        assert!(matches!(
            slots.admit(&newcomer, Instant::now()),
            Admit::Evicted(..)
        ));
        let took = t.join().expect("served");
        assert!(took < Duration::from_secs(5), "reader woke after {took:?}");
        let mut out = String::new();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.read_to_string(&mut out).unwrap();
        assert!(out.contains("dropped this connection"), "{out:?}");
    }
}
