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
//!   most `max_connections` at a time.

use std::fs::{self, DirBuilder};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Most connections served at once; more are refused with an error.
    pub max_connections: usize,
    /// Who may send requests ([`peer_allowed`]: root and our own uid).
    pub allow_peer: fn(&PeerCred) -> bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            max_request: MAX_REQUEST,
            max_connections: 8,
            allow_peer: peer_allowed,
        }
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
                let data = &chunk[..n];
                if let Some(pos) = data.iter().position(|b| *b == b'\n') {
                    if buf.len() + pos > cfg.max_request {
                        return Err(ReadFail::TooLarge(true));
                    }
                    buf.extend_from_slice(&data[..pos]);
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
                if chunk[..n].contains(&b'\n') {
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

/// Serve one connection: credentials, one bounded request, the handler,
/// one reply.
pub fn serve_connection<H>(
    mut stream: UnixStream,
    handler: &H,
    cfg: &ServerConfig,
) -> io::Result<()>
where
    H: Fn(Request, PeerCred) -> Response + ?Sized,
{
    let peer = match peer_cred(&stream) {
        Ok(p) => p,
        Err(e) => {
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
        return reply(&mut stream, &r, cfg);
    }
    let bytes = match read_request(&mut stream, cfg) {
        Ok(b) => b,
        Err(ReadFail::TooLarge(saw_end)) => {
            let r = Response::error(format!(
                "request too large (the limit is {} bytes)",
                cfg.max_request
            ));
            // Let a client that is still sending finish (within bounds) so
            // it can read the reply.
            if !saw_end {
                drain(
                    &mut stream,
                    Instant::now() + cfg.read_timeout,
                    16 * cfg.max_request,
                );
            }
            let _ = reply(&mut stream, &r, cfg);
            return Ok(());
        }
        Err(ReadFail::TimedOut) => {
            let r = Response::error("timed out waiting for the request");
            let _ = reply(&mut stream, &r, cfg);
            return Ok(());
        }
        Err(ReadFail::Empty) => return Ok(()),
        Err(ReadFail::Io(e)) => return Err(e),
    };
    let resp = match Request::parse(&bytes) {
        Ok(req) => handler(req, peer),
        Err(r) => r,
    };
    reply(&mut stream, &resp, cfg)
}

struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accept connections forever, each on its own short-lived thread, at
/// most `cfg.max_connections` at once (extra clients get an error reply).
/// Returns only on a fatal accept error.
pub fn serve<H>(listener: UnixListener, handler: Arc<H>, cfg: ServerConfig) -> io::Result<()>
where
    H: Fn(Request, PeerCred) -> Response + Send + Sync + 'static,
{
    let active = Arc::new(AtomicUsize::new(0));
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
        if active.fetch_add(1, Ordering::AcqRel) >= cfg.max_connections {
            active.fetch_sub(1, Ordering::AcqRel);
            let mut s = stream;
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
        let slot = Slot(active.clone());
        let handler = handler.clone();
        let cfg = cfg.clone();
        let spawned = std::thread::Builder::new()
            .name("vswitchd-ctl".into())
            .spawn(move || {
                let _slot = slot;
                let _ = serve_connection(stream, &*handler, &cfg);
            });
        if spawned.is_err() {
            // The slot was moved into the closure that failed to start and
            // has been dropped with it, releasing the count.
            continue;
        }
    }
}
