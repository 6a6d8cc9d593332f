//! The client side of the control socket (used by `vsctl`).

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proto::{Request, Response, MAX_REPLY};

/// Why a request got no reply.
#[derive(Debug)]
pub enum ClientError {
    /// The daemon is not there.
    Connect {
        /// The socket.
        path: PathBuf,
        /// The OS error.
        err: io::Error,
    },
    /// The connection broke or timed out.
    Io(io::Error),
    /// The reply made no sense.
    Protocol(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { path, err } if err.kind() == io::ErrorKind::PermissionDenied => write!(
                f,
                "cannot connect to vswitchd at {}: {err} (the control socket is for root only; run vsctl as root)",
                path.display()
            ),
            ClientError::Connect { path, err } => write!(
                f,
                "cannot connect to vswitchd at {}: {err} (is vswitchd running? start it with: vswitchd --pidfile --detach, or systemctl start rvswitch)",
                path.display()
            ),
            ClientError::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                write!(f, "timed out waiting for vswitchd")
            }
            ClientError::Io(e) => write!(f, "lost the connection to vswitchd: {e}"),
            ClientError::Protocol(s) => write!(f, "bad reply from vswitchd: {s}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Send `req` to the daemon at `path` and wait for the reply (at most
/// `timeout`, if given, for each read and write).
pub fn request(
    path: &Path,
    req: &Request,
    timeout: Option<Duration>,
) -> Result<Response, ClientError> {
    let mut s = UnixStream::connect(path).map_err(|err| ClientError::Connect {
        path: path.to_path_buf(),
        err,
    })?;
    s.set_read_timeout(timeout).map_err(ClientError::Io)?;
    s.set_write_timeout(timeout).map_err(ClientError::Io)?;
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push(b'\n');
    s.write_all(&line).map_err(ClientError::Io)?;
    s.flush().map_err(ClientError::Io)?;
    // One request per connection: tell the server we are done sending.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut buf = Vec::new();
    (&mut s)
        .take(MAX_REPLY as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(ClientError::Io)?;
    if buf.len() > MAX_REPLY {
        return Err(ClientError::Protocol("reply too large".into()));
    }
    if buf.is_empty() {
        return Err(ClientError::Protocol(
            "vswitchd closed the connection without replying".into(),
        ));
    }
    let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
    serde_json::from_slice(&buf[..end]).map_err(|e| ClientError::Protocol(e.to_string()))
}
