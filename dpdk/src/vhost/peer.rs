//! Which process listens on a vhost-user socket we are connected to:
//! DPDK does not give the descriptor of a connection, so the sockets of
//! this process are scanned (`/proc/self/fd`) for those whose peer address
//! (`getpeername`, for a connected Unix stream socket the path the listener
//! bound) is the socket path, and `SO_PEERCRED` read on each.

use std::os::raw::c_int;

/// The process listening on a vhost-user socket, as seen on one of our
/// connections to it (`SO_PEERCRED`: its credentials when it called
/// `listen()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenerCred {
    /// Our descriptor of the connection.
    pub fd: i32,
    /// The listener's process id.
    pub pid: i32,
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
}

/// A new connection on a vhost-user client socket, as shown to a
/// [`Verifier`].
#[derive(Debug)]
pub struct Connection<'a> {
    /// The socket path (as registered; DPDK connected to it, following
    /// symbolic links).
    pub path: &'a str,
    /// Every socket of this process connected to `path`, normally exactly
    /// one: the new connection. Empty if none was found; `Err` if
    /// `/proc/self/fd` could not be read.
    pub listeners: std::result::Result<Vec<ListenerCred>, String>,
}

/// `SO_PEERCRED` of every socket of this process connected to `path`
/// (found by `getpeername`, which for a connected Unix stream socket is
/// the path the listener bound).
pub(super) fn listener_creds(path: &str) -> std::result::Result<Vec<ListenerCred>, String> {
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| format!("cannot list /proc/self/fd: {e}"))?;
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<c_int>().ok())
        else {
            continue;
        };
        // Cheap filter: only sockets ("socket:[inode]").
        let is_socket = std::fs::read_link(entry.path())
            .map(|t| t.as_os_str().as_encoded_bytes().starts_with(b"socket:"))
            .unwrap_or(false);
        if !is_socket || peer_path(fd).as_deref() != Some(path.as_bytes()) {
            continue;
        }
        if let Some(c) = peer_cred(fd) {
            found.push(c);
        }
    }
    Ok(found)
}

/// The path of the Unix socket `fd` is connected to, without its NUL.
/// `None` for anything else (or a descriptor closed meanwhile: the numbers
/// come from a directory listing, so one may have been closed or reused;
/// the calls below only read).
fn peer_path(fd: c_int) -> Option<Vec<u8>> {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` and `len` are valid for writes and `len` holds the
    // size of `addr`, so the kernel writes at most that many bytes; a bad
    // or non-socket `fd` only makes the call fail.
    let rc = unsafe {
        libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_un).cast::<libc::sockaddr>(),
            &mut len,
        )
    };
    if rc != 0 || addr.sun_family != libc::AF_UNIX as libc::sa_family_t {
        return None;
    }
    let offset = std::mem::size_of::<libc::sa_family_t>();
    let n = (len as usize)
        .saturating_sub(offset)
        .min(addr.sun_path.len());
    let mut bytes: Vec<u8> = addr.sun_path[..n].iter().map(|&c| c as u8).collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

/// `SO_PEERCRED` of socket `fd`.
fn peer_cred(fd: c_int) -> Option<ListenerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the
    // size of `cred`, so the kernel writes at most that many bytes; a bad
    // `fd` only makes the call fail.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(ListenerCred {
        fd,
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;
    use std::os::unix::net::{UnixListener, UnixStream};

    fn temp_dir(what: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rvs-vhost-unit-{}-{what}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_connection_to_a_path_is_found_with_the_listeners_credentials() {
        let d = temp_dir("creds");
        let a = d.join("a.sock");
        let b = d.join("b.sock");
        let la = UnixListener::bind(&a).unwrap();
        let _lb = UnixListener::bind(&b).unwrap();
        let pa = a.to_str().unwrap();
        assert_eq!(
            listener_creds(pa).unwrap(),
            Vec::new(),
            "a listener alone is not a connection"
        );
        let ca = UnixStream::connect(&a).unwrap();
        let _cb = UnixStream::connect(&b).unwrap();
        let (_served, _) = la.accept().unwrap();
        let found = listener_creds(pa).unwrap();
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(
            found,
            vec![ListenerCred {
                fd: ca.as_raw_fd(),
                pid: std::process::id() as i32,
                uid,
                gid,
            }],
            "exactly our connection to a, not the one to b nor the accepted end"
        );
        drop(ca);
        assert!(listener_creds(pa).unwrap().is_empty(), "closed: gone");
        let _ = std::fs::remove_dir_all(&d);
    }
}
