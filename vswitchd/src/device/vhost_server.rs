//! `dpdkvhostuser` sockets: rvswitch creates `<vhost-sock-dir>/<name>`
//! (see `ctl::vhost_sock`), QEMU connects to it.
//!
//! Before creating a socket, its directory must be one nobody but us can
//! change: a real directory (not a symbolic link) owned by us (root) or
//! root, and writable by group or others only with the sticky bit. Then
//! nobody can swap the socket for something else between its creation and
//! the `chown`/`chmod` that follow, and an old socket of ours left at the
//! path (a killed daemon's) can be removed safely; anything else there is
//! refused.
//!
//! Who may connect: the kernel checks write permission on the socket file
//! at `connect()`, so the owner, group and mode given by
//! `vhost-sock-owner`/`vhost-sock-mode` (default: ours, 0660) are the
//! access control. No check of the client's `SO_PEERCRED` is added on
//! top: whoever the file lets in is the guest the administrator meant
//! (under libvirt every VM's QEMU runs as the same user, so a peer
//! credential could not tell VMs apart anyway). A second client while one
//! is connected is served like the first (as in OVS: the newest device is
//! the port's); the file's permissions decide who can do that.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use ctl::vhost_sock::Settings;
use dpdk::vhost::VhostStatus;
use dpdk::VhostClient;

/// Owner and mode each server socket gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockAccess {
    /// (uid, gid) to `chown` to; `None`: stay ours.
    pub owner: Option<(u32, Option<u32>)>,
    /// Permission bits.
    pub mode: u32,
}

impl SockAccess {
    /// From `vhost-sock-owner`/`vhost-sock-mode`; `Err` when the owner
    /// cannot be resolved on this host.
    pub fn from_settings(s: &Settings) -> Result<SockAccess, String> {
        Ok(SockAccess {
            owner: s.owner.clone().transpose()?,
            mode: s.mode,
        })
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuse a socket directory someone else could change under us.
fn check_dir(dir: &Path) -> Result<(), String> {
    let d = dir.display();
    let m = std::fs::symlink_metadata(dir).map_err(|e| {
        format!("the vhost-user socket directory {d} cannot be used: {e} (create it first)")
    })?;
    if !m.file_type().is_dir() {
        return Err(format!(
            "the vhost-user socket directory {d} is not a directory (a symbolic link is not followed)"
        ));
    }
    if m.uid() != 0 && m.uid() != euid() {
        return Err(format!(
            "the vhost-user socket directory {d} belongs to uid {}; it must belong to root so nobody else can replace the sockets rvswitch creates there",
            m.uid()
        ));
    }
    let mode = m.mode() & 0o7777;
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(format!(
            "the vhost-user socket directory {d} is writable by group or others (mode {mode:04o}); make it writable by root only (QEMU needs only search permission there: e.g. root:kvm 0750)"
        ));
    }
    Ok(())
}

/// Remove an old socket of ours at `path`; refuse anything else there.
fn clear_path(path: &Path) -> Result<(), String> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot examine {}: {e}", path.display())),
    };
    if !m.file_type().is_socket() {
        return Err(format!(
            "{} exists and is not a socket; rvswitch will not replace it",
            path.display()
        ));
    }
    std::fs::remove_file(path)
        .map_err(|e| format!("cannot remove the old socket {}: {e}", path.display()))
}

/// Give the socket at `path` its owner and mode (it was checked to be our
/// socket in a directory only we can change).
pub fn apply_access(path: &Path, access: SockAccess) -> Result<(), String> {
    if let Some((uid, gid)) = access.owner {
        std::os::unix::fs::lchown(path, Some(uid), gid)
            .map_err(|e| format!("cannot give {} to {uid}:{gid:?}: {e}", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(access.mode)).map_err(|e| {
        format!(
            "cannot set mode {:04o} on {}: {e}",
            access.mode,
            path.display()
        )
    })
}

/// Create and serve the socket `path` with `access`.
pub fn open_server(path: &str, access: SockAccess) -> Result<Arc<VhostClient>, String> {
    let p = Path::new(path);
    let dir = p
        .parent()
        .ok_or_else(|| format!("{path} has no directory"))?;
    check_dir(dir)?;
    clear_path(p)?;
    let client = VhostClient::register_server(path).map_err(|e| e.to_string())?;
    if let Err(e) = apply_access(p, access) {
        let _ = client.unregister();
        return Err(e);
    }
    Ok(client)
}

/// Why a connected vhost-user peer's device cannot come up, if we know.
pub fn problem(st: &VhostStatus) -> Option<String> {
    st.unshared_memory.then(|| {
        "vhost-user peer connected but its memory is not shared (QEMU needs a memory-backend with share=on, e.g. <memoryBacking><access mode='shared'/></memoryBacking> in libvirt)".to_string()
    })
}
