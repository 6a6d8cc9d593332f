//! Where the socket of a `dpdkvhostuser` port (rvswitch is the vhost-user
//! server, QEMU the client) lives and who may connect to it, from
//! `Open_vSwitch` `other_config`. The daemon and `vsctl`'s validation both
//! use these functions, so the path they agree on is computed once.
//!
//! - `vhost-sock-dir` (OVS's key): a directory **relative to the daemon's
//!   run directory**, which is the directory of its control socket
//!   (`/run/rvswitch` by default; OVS uses its rundir,
//!   `/var/run/openvswitch`). As in OVS (`netdev-dpdk.c` joins
//!   `"%s/%s"`), a leading `/` does not make it absolute: `/vhost` and
//!   `vhost` both mean `<run dir>/vhost`. Unset: the run directory itself.
//!   A `..` component is refused (OVS logs an error and falls back to the
//!   run directory). Unlike OVS, a change takes effect at once: the
//!   `dpdkvhostuser` sockets are re-created in the new directory.
//! - The socket of interface `NAME` is `<dir>/NAME` (OVS's rule). A name
//!   with `\` is refused (OVS refuses `/` and `\`; interface names never
//!   hold `/`).
//! - `vhost-sock-owner=USER[:GROUP]` and `vhost-sock-mode=OCTAL`: rvswitch
//!   extensions (OVS leaves the socket as its umask made it). The daemon
//!   applies them to every `dpdkvhostuser` socket right after creating it
//!   (and again when they change), so the QEMU of libvirt (user
//!   `libvirt-qemu`, group `kvm` on Debian) can connect to a root
//!   daemon's socket: `vhost-sock-owner=root:kvm` with the default mode
//!   0660. USER and GROUP are names or numeric ids.

use std::path::{Path, PathBuf};

use crate::db::Db;
use crate::env::Env;

/// `Open_vSwitch other_config` key: the socket directory (OVS).
pub const KEY_DIR: &str = "vhost-sock-dir";
/// `Open_vSwitch other_config` key: `USER[:GROUP]` (rvswitch).
pub const KEY_OWNER: &str = "vhost-sock-owner";
/// `Open_vSwitch other_config` key: octal permission bits (rvswitch).
pub const KEY_MODE: &str = "vhost-sock-mode";
/// Mode of a socket when `vhost-sock-mode` is unset: its owner and group
/// may connect.
pub const DEFAULT_MODE: u32 = 0o660;
/// Longest Unix socket path (`sun_path` is 108 bytes with the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// The socket directory for `vhost-sock-dir` = `setting` under `run_dir`.
pub fn sock_dir(run_dir: &Path, setting: Option<&str>) -> Result<PathBuf, String> {
    let Some(v) = setting else {
        return Ok(run_dir.to_path_buf());
    };
    let bad = |why: &str| Err(format!("other_config:{KEY_DIR}=\"{v}\" {why}"));
    if v.chars().any(char::is_control) {
        return bad("contains control characters");
    }
    let mut dir = run_dir.to_path_buf();
    for part in v.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return bad(&format!(
                "must not contain \"..\": it is a directory below the run directory {}",
                run_dir.display()
            ));
        }
        dir.push(part);
    }
    Ok(dir)
}

/// The socket of interface `name` in `dir`.
pub fn sock_path(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(format!(
            "\"{name}\" is not a valid name for a vhost-user server port: its socket is <vhost-sock-dir>/<name>, so the name must not contain '/' or '\\' nor be \".\" or \"..\""
        ));
    }
    let p = dir.join(name);
    let len = p.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(format!(
            "the socket path {} is {len} bytes long; a Unix socket path is at most {MAX_SOCKET_PATH} (shorten other_config:{KEY_DIR} or the interface name)",
            p.display()
        ));
    }
    Ok(p)
}

/// Parse `vhost-sock-mode`: octal permission bits (`0660`, `660`, `0o660`),
/// at most 0777.
pub fn parse_mode(v: &str) -> Result<u32, String> {
    let digits = v.strip_prefix("0o").unwrap_or(v);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if !digits.is_empty() && !digits.starts_with('+') && m <= 0o777 => Ok(m),
        _ => Err(format!(
            "other_config:{KEY_MODE}=\"{v}\" is not valid (expected octal permission bits such as 0660)"
        )),
    }
}

/// `vhost-sock-owner`, parsed (not resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// User name or numeric uid.
    pub user: String,
    /// Group name or numeric gid; `None` leaves the group as it is.
    pub group: Option<String>,
}

fn valid_account_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'))
}

/// Parse `vhost-sock-owner=USER[:GROUP]`.
pub fn parse_owner(v: &str) -> Result<Owner, String> {
    let (user, group) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    if !valid_account_name(user) || group.is_some_and(|g| !valid_account_name(g)) {
        return Err(format!(
            "other_config:{KEY_OWNER}=\"{v}\" is not valid (expected USER or USER:GROUP, names or numeric ids)"
        ));
    }
    Ok(Owner {
        user: user.to_string(),
        group: group.map(str::to_string),
    })
}

/// Resolve an [`Owner`] to (uid, gid) on this host.
pub fn resolve_owner(o: &Owner, env: &dyn Env) -> Result<(u32, Option<u32>), String> {
    let uid = match o.user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => env.user_id(&o.user).ok_or_else(|| {
            format!(
                "other_config:{KEY_OWNER}: there is no user \"{}\" on this host",
                o.user
            )
        })?,
    };
    let gid = match &o.group {
        None => None,
        Some(g) => Some(match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => env.group_id(g).ok_or_else(|| {
                format!("other_config:{KEY_OWNER}: there is no group \"{g}\" on this host")
            })?,
        }),
    };
    Ok((uid, gid))
}

/// Check the syntax of the three keys in `db` (no host access).
pub fn check_syntax(db: &Db) -> Result<(), String> {
    let m = &db.other_config;
    if let Some(v) = m.get(KEY_DIR) {
        sock_dir(Path::new("/"), Some(v))?;
    }
    if let Some(v) = m.get(KEY_MODE) {
        parse_mode(v)?;
    }
    if let Some(v) = m.get(KEY_OWNER) {
        parse_owner(v)?;
    }
    Ok(())
}

/// What the daemon needs to create and hand over `dpdkvhostuser` sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The socket directory, or why there is none.
    pub dir: Result<PathBuf, String>,
    /// The owner (uid, gid) to give each socket, if configured (or why it
    /// cannot be resolved).
    pub owner: Option<Result<(u32, Option<u32>), String>>,
    /// Permission bits (default [`DEFAULT_MODE`]).
    pub mode: u32,
}

impl Settings {
    /// The settings of `db` for a daemon whose run directory is
    /// `run_dir`, resolving user and group names through `env`.
    pub fn from_db(db: &Db, run_dir: &Path, env: &dyn Env) -> Settings {
        let m = &db.other_config;
        Settings {
            dir: sock_dir(run_dir, m.get(KEY_DIR).map(String::as_str)),
            owner: m
                .get(KEY_OWNER)
                .map(|v| parse_owner(v).and_then(|o| resolve_owner(&o, env))),
            mode: m
                .get(KEY_MODE)
                .and_then(|v| parse_mode(v).ok())
                .unwrap_or(DEFAULT_MODE),
        }
    }

    /// The socket of interface `name`.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, String> {
        let dir = self.dir.as_ref().map_err(Clone::clone)?;
        sock_path(dir, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_below_the_run_directory_as_in_ovs() {
        let run = Path::new("/run/rvswitch");
        assert_eq!(sock_dir(run, None).unwrap(), run);
        assert_eq!(
            sock_dir(run, Some("vhost")).unwrap(),
            Path::new("/run/rvswitch/vhost")
        );
        assert_eq!(
            sock_dir(run, Some("/a//b/./")).unwrap(),
            Path::new("/run/rvswitch/a/b"),
            "a leading slash does not make it absolute (OVS joins \"%s/%s\")"
        );
        assert_eq!(sock_dir(run, Some("")).unwrap(), run);
        let e = sock_dir(run, Some("a/../../etc")).unwrap_err();
        assert!(e.contains("\"..\""), "{e}");
        assert!(sock_dir(run, Some("a\nb")).is_err());
    }

    #[test]
    fn socket_paths_refuse_names_that_leave_the_directory() {
        let d = Path::new("/run/rvswitch");
        assert_eq!(
            sock_path(d, "vhu0").unwrap(),
            Path::new("/run/rvswitch/vhu0")
        );
        for bad in ["a/b", "a\\b", "..", ".", ""] {
            let e = sock_path(d, bad).unwrap_err();
            assert!(e.contains("not a valid name"), "{bad}: {e}");
        }
        let long = Path::new("/run").join("x".repeat(100));
        assert!(sock_path(&long, "vhu0")
            .unwrap_err()
            .contains("at most 107"));
    }

    #[test]
    fn modes_and_owners_parse_strictly() {
        assert_eq!(parse_mode("0660").unwrap(), 0o660);
        assert_eq!(parse_mode("600").unwrap(), 0o600);
        assert_eq!(parse_mode("0o770").unwrap(), 0o770);
        for bad in ["", "0888", "4755", "rw", "+660", "0o"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_owner("libvirt-qemu:kvm").unwrap(),
            Owner {
                user: "libvirt-qemu".into(),
                group: Some("kvm".into())
            }
        );
        assert_eq!(parse_owner("64055").unwrap().group, None);
        for bad in ["", ":kvm", "a:", "a:b:c", "-x", "a b", "a/b"] {
            assert!(parse_owner(bad).is_err(), "{bad}");
        }
    }
}
