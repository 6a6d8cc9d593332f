//! Whom a `dpdkvhostuserclient` port may connect to.
//!
//! QEMU (the vhost-user server) creates and listens on the socket; we
//! connect to it as root. Whoever can create that socket file gets the
//! port, with its VLAN. So at every connect and reconnect, before the
//! connection is used (DPDK's `new_connection`, see
//! [`dpdk::vhost::Verifier`]), [`judge`] checks the socket path and the
//! process listening on it:
//!
//! 1. **The path** must be absolute with no `.` or `..` component, and no
//!    component may be a symbolic link: every one is examined with
//!    `lstat`, never followed.
//! 2. **The socket's directory** `D` (its parent) must be a directory
//!    writable by its owner only (no group or other write bit). Its owner
//!    `O` is the party the socket belongs to: typically the VM's QEMU user.
//! 3. **Every ancestor of `D`** (from `/` down) must be a directory owned
//!    by root or by `O`; one writable by group or others must have the
//!    sticky bit (like `/tmp`), so that nobody else can rename or replace
//!    what lies below it. (OpenSSH's StrictModes rule, plus the sticky
//!    exception.)
//! 4. **The socket file** must be a socket owned by `O` or by root.
//! 5. **The listener**: `SO_PEERCRED` on our connection gives the uid of
//!    the process that called `listen()`; it must be the socket file's
//!    owner or root. Every socket of ours connected to the path is checked
//!    (normally exactly one); none found is a refusal.
//!
//! Together: a socket is used only if it sits in a directory that only its
//! owner (or root) could have put it in, and the process answering on it
//! runs as that owner (or root). A VM whose QEMU runs as another uid can
//! neither place a socket there nor listen on one found there.
//!
//! What this cannot do: tell apart two VMs whose QEMU processes run as the
//! same uid and can write each other's directories. Those are separated
//! only by a directory per VM plus libvirt's per-domain DAC label
//! (`<seclabel type='dynamic' model='dac'>` or a static per-VM uid) or its
//! AppArmor/SELinux profile confining each QEMU to its own files. A sticky
//! world-writable ancestor (`/tmp`) is accepted, but there anyone may
//! create a VM's directory before the VM does: keep per-VM directories
//! under a root-owned directory nobody else can write, and keep them while
//! their ports exist (see `packaging/libvirt-vhostuser.xml`).
//!
//! [`judge`] is pure (its input is what `lstat` and `SO_PEERCRED` said);
//! [`examine`] collects that input and [`verifier`] wires both to the
//! `dpdk` crate and the log.

use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::sync::Arc;

/// What a path component is, by `lstat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A Unix socket.
    Socket,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (regular file, device, FIFO).
    Other,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::Socket => "a socket",
            Kind::Symlink => "a symbolic link",
            Kind::Other => "not a socket or directory",
        }
    }
}

/// `lstat` of one component of the socket path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path up to and including this component (`/` first).
    pub path: String,
    /// Its type.
    pub kind: Kind,
    /// Its owner.
    pub uid: u32,
    /// Its permission bits with set-id and sticky bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// The process listening on the socket, as seen on one of our
/// connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Its process id.
    pub pid: i32,
    /// Its effective uid when it called `listen()`.
    pub uid: u32,
}

/// Why a connection is refused. Displays as a sentence for the log and
/// the interface's `error` column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute path, or it has `.` or `..` components.
    NotNormal {
        /// The configured path.
        path: String,
    },
    /// A component could not be examined (missing, no permission).
    Unreadable {
        /// The component.
        path: String,
        /// The error.
        err: String,
    },
    /// A component is a symbolic link.
    Symlink {
        /// The component.
        path: String,
    },
    /// A component above the socket is not a directory.
    NotADirectory {
        /// The component.
        path: String,
    },
    /// The path does not end in a socket.
    NotASocket {
        /// The socket path.
        path: String,
        /// What it is.
        kind: Kind,
    },
    /// The socket's directory is writable by group or others.
    DirectoryWritable {
        /// The directory.
        dir: String,
        /// Its mode.
        mode: u32,
    },
    /// An ancestor belongs to someone other than root or the directory's
    /// owner.
    AncestorOwner {
        /// The ancestor.
        path: String,
        /// Its owner.
        uid: u32,
        /// The socket's directory.
        dir: String,
        /// Its owner.
        dir_uid: u32,
    },
    /// An ancestor is writable by group or others without the sticky bit.
    AncestorWritable {
        /// The ancestor.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// The socket file belongs to someone other than root or the
    /// directory's owner.
    SocketOwner {
        /// The socket path.
        path: String,
        /// Its owner.
        uid: u32,
        /// The socket's directory.
        dir: String,
        /// Its owner.
        dir_uid: u32,
    },
    /// No connection of ours to the path was found (or the search failed).
    NoListener {
        /// The socket path.
        path: String,
        /// Why, when the search itself failed.
        err: Option<String>,
    },
    /// The listener runs as someone other than the socket's owner or root.
    ListenerUid {
        /// The socket path.
        path: String,
        /// The listener's pid.
        pid: i32,
        /// The listener's uid.
        uid: u32,
        /// The socket file's owner.
        owner: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotNormal { path } => write!(
                f,
                "vhost-server-path {path} must be an absolute path without \".\" or \"..\" components"
            ),
            Refusal::Unreadable { path, err } => write!(f, "cannot examine {path}: {err}"),
            Refusal::Symlink { path } => write!(
                f,
                "{path} is a symbolic link; vhost-server-path must name the socket without symbolic links"
            ),
            Refusal::NotADirectory { path } => write!(f, "{path} is not a directory"),
            Refusal::NotASocket { path, kind } => {
                write!(f, "{path} is {}, not a socket", kind.describe())
            }
            Refusal::DirectoryWritable { dir, mode } => write!(
                f,
                "the socket's directory {dir} is writable by group or others (mode {mode:04o}); only its owner may write it{OWNER_HINT}"
            ),
            Refusal::AncestorOwner {
                path,
                uid,
                dir,
                dir_uid,
            } => write!(
                f,
                "{path} is owned by uid {uid}, neither root nor uid {dir_uid} (the owner of {dir}){OWNER_HINT}"
            ),
            Refusal::AncestorWritable { path, mode } => write!(
                f,
                "{path} is writable by group or others without the sticky bit (mode {mode:04o})"
            ),
            Refusal::SocketOwner {
                path,
                uid,
                dir,
                dir_uid,
            } => write!(
                f,
                "the socket {path} is owned by uid {uid}, neither root nor uid {dir_uid} (the owner of {dir}){OWNER_HINT}"
            ),
            Refusal::NoListener { path, err: None } => {
                write!(f, "cannot find our connection to {path} to check who listens on it")
            }
            Refusal::NoListener {
                path,
                err: Some(e),
            } => write!(f, "cannot check who listens on {path}: {e}"),
            Refusal::ListenerUid {
                path,
                pid,
                uid,
                owner,
            } => write!(
                f,
                "the process listening on {path} (pid {pid}) runs as uid {uid}, but the socket belongs to uid {owner}{OWNER_HINT}"
            ),
        }
    }
}

/// Appended to the refusals about ownership: how the layout should be.
const OWNER_HINT: &str = "; QEMU creates the socket, so its directory must belong to the user QEMU runs as (libvirt: libvirt-qemu), be writable by that user only, and hold one VM's sockets (see packaging/libvirt-vhostuser.xml)";

/// Write bits for group and others.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The sticky bit.
const STICKY: u32 = 0o1000;

/// The prefixes of `path` to examine: `/`, `/a`, `/a/b`, ... `path`
/// (repeated slashes are ignored). `Err` for a relative path or one with a
/// `.` or `..` component.
pub fn components(path: &str) -> Result<Vec<String>, Refusal> {
    let not_normal = || Refusal::NotNormal {
        path: path.to_string(),
    };
    if !path.starts_with('/') {
        return Err(not_normal());
    }
    let mut out = vec!["/".to_string()];
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(not_normal());
        }
        cur.push('/');
        cur.push_str(part);
        out.push(cur.clone());
    }
    if out.len() < 2 {
        // "/" itself names no socket.
        return Err(not_normal());
    }
    Ok(out)
}

/// The policy: whether a connection to `path`, whose components `lstat`
/// described as `entries` (`/` first, the socket last, as [`components`]
/// lists them) and whose listeners are `listeners`, may be used.
pub fn judge(path: &str, entries: &[Entry], listeners: &[Listener]) -> Result<(), Refusal> {
    let expected = components(path)?;
    if entries.len() != expected.len() || entries.iter().zip(&expected).any(|(e, p)| e.path != *p) {
        // The caller examined something else: never guess.
        return Err(Refusal::Unreadable {
            path: path.to_string(),
            err: "the path changed while it was examined".to_string(),
        });
    }
    for e in entries {
        if e.kind == Kind::Symlink {
            return Err(Refusal::Symlink {
                path: e.path.clone(),
            });
        }
    }
    let (socket, dirs) = entries.split_last().ok_or_else(|| Refusal::NotNormal {
        path: path.to_string(),
    })?;
    if let Some(e) = dirs.iter().find(|e| e.kind != Kind::Directory) {
        return Err(Refusal::NotADirectory {
            path: e.path.clone(),
        });
    }
    if socket.kind != Kind::Socket {
        return Err(Refusal::NotASocket {
            path: socket.path.clone(),
            kind: socket.kind,
        });
    }
    let (dir, ancestors) = dirs.split_last().ok_or_else(|| Refusal::NotNormal {
        path: path.to_string(),
    })?;
    if dir.mode & GROUP_OTHER_WRITE != 0 {
        return Err(Refusal::DirectoryWritable {
            dir: dir.path.clone(),
            mode: dir.mode,
        });
    }
    for a in ancestors {
        if a.uid != 0 && a.uid != dir.uid {
            return Err(Refusal::AncestorOwner {
                path: a.path.clone(),
                uid: a.uid,
                dir: dir.path.clone(),
                dir_uid: dir.uid,
            });
        }
        if a.mode & GROUP_OTHER_WRITE != 0 && a.mode & STICKY == 0 {
            return Err(Refusal::AncestorWritable {
                path: a.path.clone(),
                mode: a.mode,
            });
        }
    }
    if socket.uid != 0 && socket.uid != dir.uid {
        return Err(Refusal::SocketOwner {
            path: socket.path.clone(),
            uid: socket.uid,
            dir: dir.path.clone(),
            dir_uid: dir.uid,
        });
    }
    if listeners.is_empty() {
        return Err(Refusal::NoListener {
            path: path.to_string(),
            err: None,
        });
    }
    if let Some(l) = listeners.iter().find(|l| l.uid != 0 && l.uid != socket.uid) {
        return Err(Refusal::ListenerUid {
            path: path.to_string(),
            pid: l.pid,
            uid: l.uid,
            owner: socket.uid,
        });
    }
    Ok(())
}

/// `lstat` every component of `path` (never following a link), stopping
/// after the first symbolic link.
pub fn examine(path: &str) -> Result<Vec<Entry>, Refusal> {
    let mut out = Vec::new();
    for p in components(path)? {
        let m = std::fs::symlink_metadata(&p).map_err(|e| Refusal::Unreadable {
            path: p.clone(),
            err: e.to_string(),
        })?;
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Directory
        } else if ft.is_socket() {
            Kind::Socket
        } else {
            Kind::Other
        };
        out.push(Entry {
            path: p,
            kind,
            uid: m.uid(),
            mode: m.mode() & 0o7777,
        });
        if kind == Kind::Symlink {
            // Nothing below a link is looked at; judge refuses it.
            return Err(Refusal::Symlink {
                path: out.pop().map(|e| e.path).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// The whole check for one new connection: [`examine`], then [`judge`].
pub fn check(conn: &dpdk::vhost::Connection<'_>) -> Result<(), Refusal> {
    let entries = examine(conn.path)?;
    let listeners: Vec<Listener> = match &conn.listeners {
        Ok(l) => l
            .iter()
            .map(|c| Listener {
                pid: c.pid,
                uid: c.uid,
            })
            .collect(),
        Err(e) => {
            return Err(Refusal::NoListener {
                path: conn.path.to_string(),
                err: Some(e.clone()),
            })
        }
    };
    judge(conn.path, &entries, &listeners)
}

/// The verifier every vhost-user client port is registered with: [`check`],
/// logging each refusal (rate limited).
pub fn verifier() -> dpdk::vhost::Verifier {
    Arc::new(|conn: &dpdk::vhost::Connection<'_>| {
        check(conn).map_err(|r| {
            crate::warn!("vhost-user {}: refused connection: {r}", conn.path);
            r.to_string()
        })
    })
}

#[cfg(test)]
mod tests;
