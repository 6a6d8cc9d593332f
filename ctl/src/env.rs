//! What the executor needs from the outside world, behind traits so the
//! executor stays pure and tests can fake it.
//!
//! - [`Env`]: facts about the host used by validation (is a PCI address the
//!   host's own NIC, does a PCI device exist, is a path a directory) and a
//!   source of random UUIDs.
//!   [`SystemEnv`] is the real thing.
//! - [`Runtime`]: the daemon's live state shown in read-only columns
//!   (`link_state`, `mtu`, `error`, `statistics`, ...). [`NoRuntime`]
//!   reports nothing, which is what `vsctl` shows when the daemon has no
//!   opinion yet.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::uuid::Uuid;

/// Host facts and randomness.
pub trait Env {
    /// Whether the PCI device at `pci` (full form `0000:08:00.0`) is one of
    /// the host's own NICs: a kernel network interface that is up sits on
    /// it. rvswitch refuses to take such a device.
    ///
    /// The default looks at `/sys/bus/pci/devices/<pci>/net/*` and calls an
    /// interface up when its `flags` have `IFF_UP` or its `operstate` is
    /// `up`.
    fn is_host_nic(&self, pci: &str) -> bool {
        host_nic_in_sysfs(
            Path::new("/sys/bus/pci/devices"),
            Path::new("/sys/class/net"),
            pci,
        )
    }

    /// Whether a PCI device exists at `pci` (full form `0000:08:00.0`).
    /// The default looks for `/sys/bus/pci/devices/<pci>`.
    fn pci_device_exists(&self, pci: &str) -> bool {
        normalize_pci(pci).as_deref() == Some(pci)
            && Path::new("/sys/bus/pci/devices").join(pci).exists()
    }

    /// Whether `path` exists and is a directory (following symlinks).
    fn is_directory(&self, path: &str) -> bool {
        Path::new(path).is_dir()
    }

    /// The daemon's run directory: where its control socket is, the base
    /// of `other_config:vhost-sock-dir` (OVS's rundir).
    fn run_dir(&self) -> PathBuf {
        PathBuf::from(crate::proto::DEFAULT_RUN_DIR)
    }

    /// The uid of user `name` (`getpwnam_r`).
    fn user_id(&self, name: &str) -> Option<u32> {
        lookup_account(name, false)
    }

    /// The gid of group `name` (`getgrnam_r`).
    fn group_id(&self, name: &str) -> Option<u32> {
        lookup_account(name, true)
    }

    /// A fresh random record id.
    fn new_uuid(&self) -> Uuid {
        random_uuid()
    }
}

/// The real host, for a daemon whose run directory is `run_dir`.
#[derive(Debug, Clone)]
pub struct SystemEnv {
    run_dir: PathBuf,
}

impl SystemEnv {
    /// The host, for a daemon whose control socket is in `run_dir`.
    pub fn with_run_dir(run_dir: PathBuf) -> SystemEnv {
        SystemEnv { run_dir }
    }
}

impl Default for SystemEnv {
    fn default() -> SystemEnv {
        SystemEnv::with_run_dir(PathBuf::from(crate::proto::DEFAULT_RUN_DIR))
    }
}

impl Env for SystemEnv {
    fn run_dir(&self) -> PathBuf {
        self.run_dir.clone()
    }
}

/// The id of user (or, with `group`, group) `name` through the C
/// library (so NSS sources count too); `None` if there is none.
fn lookup_account(name: &str, group: bool) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    if group {
        // SAFETY: group is plain data; all zeroes is a valid value.
        let mut g: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `cname` is
        // NUL-terminated, `g` and `out` are writable, `buf` is writable for
        // the length passed; the strings `g` points to live in `buf`,
        // which we do not read.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut g,
                buf.as_mut_ptr(),
                buf.len(),
                &mut out,
            )
        };
        (rc == 0 && !out.is_null()).then_some(g.gr_gid)
    } else {
        // SAFETY: passwd is plain data; all zeroes is a valid value.
        let mut p: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: as for getgrnam_r above.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut p,
                buf.as_mut_ptr(),
                buf.len(),
                &mut out,
            )
        };
        (rc == 0 && !out.is_null()).then_some(p.pw_uid)
    }
}

/// A random version-4 UUID from the kernel's random source.
pub fn random_uuid() -> Uuid {
    let mut b = [0u8; 16];
    if !getrandom_fill(&mut b) {
        // /dev/urandom as a fallback; if even that fails, mix the clock and
        // pid so ids are at least unlikely to collide.
        let ok = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut b))
            .is_ok();
        if !ok {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let mix = t ^ ((std::process::id() as u128) << 64);
            b = mix.to_le_bytes();
        }
    }
    Uuid::from_random_bytes(b)
}

fn getrandom_fill(buf: &mut [u8]) -> bool {
    let mut filled = 0usize;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes
        // that outlives the call; getrandom writes at most that many bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        filled += n as usize;
    }
    true
}

/// The check behind [`Env::is_host_nic`], with the sysfs roots as
/// parameters so it can be tested on a fake tree.
pub fn host_nic_in_sysfs(pci_root: &Path, net_root: &Path, pci: &str) -> bool {
    // Refuse to build paths from anything but a well-formed address.
    if normalize_pci(pci).as_deref() != Some(pci) {
        return false;
    }
    // The netdev sits in `<pci>/net/` for most drivers, and one level down
    // for bus-in-bus drivers such as virtio (`<pci>/virtio0/net/`).
    let dev_dir = pci_root.join(pci);
    let mut net_dirs = vec![dev_dir.join("net")];
    if let Ok(children) = std::fs::read_dir(&dev_dir) {
        for c in children.flatten() {
            if c.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                net_dirs.push(c.path().join("net"));
            }
        }
    }
    let entries = net_dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.flatten());
    for e in entries {
        let name = e.file_name();
        let dev = net_root.join(&name);
        // The entry under the PCI device has the same attributes; prefer
        // the class directory but fall back to it.
        let read = |f: &str| {
            std::fs::read_to_string(dev.join(f))
                .or_else(|_| std::fs::read_to_string(e.path().join(f)))
                .unwrap_or_default()
        };
        let flags = read("flags");
        let flags = flags.trim();
        let up_flag = u32::from_str_radix(flags.trim_start_matches("0x"), 16)
            .map(|f| f & 1 != 0)
            .unwrap_or(false);
        if up_flag || read("operstate").trim() == "up" {
            return true;
        }
    }
    false
}

/// Normalize a PCI address to the full `DDDD:BB:DD.F` form (lowercase),
/// accepting the short `BB:DD.F` form. `None` if `s` is not a PCI address.
pub fn normalize_pci(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (dom, bus, devfn) = match parts.as_slice() {
        [d, b, df] => (*d, *b, *df),
        [b, df] => ("0000", *b, *df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let hex = |x: &str, n: usize| x.len() == n && x.bytes().all(|c| c.is_ascii_hexdigit());
    if !(hex(dom, 4) && hex(bus, 2) && hex(dev, 2) && func.len() == 1) {
        return None;
    }
    if !matches!(func.as_bytes().first(), Some(b'0'..=b'7')) {
        return None;
    }
    Some(format!("{dom}:{bus}:{dev}.{func}").to_ascii_lowercase())
}

/// Live state of one interface, as the daemon knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceRuntime {
    /// `up` or `down`.
    pub link_state: Option<String>,
    /// `up` or `down` as applied (shown when `admin_state` is not configured).
    pub admin_state: Option<String>,
    /// The MTU in use.
    pub mtu: Option<i64>,
    /// Why the interface could not be opened or configured.
    pub error: Option<String>,
    /// Counters (`rx_packets`, `tx_bytes`, the drop counters, ...).
    pub statistics: BTreeMap<String, i64>,
    /// The bridge-port number.
    pub ofport: Option<i64>,
    /// The MAC address in use.
    pub mac_in_use: Option<String>,
    /// Driver name, queue counts, ...
    pub status: BTreeMap<String, String>,
}

/// Live state of one port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortRuntime {
    /// MAC of the active member of an active-backup bond.
    pub bond_active_slave: Option<String>,
    /// Anything else worth showing.
    pub status: BTreeMap<String, String>,
}

/// Live state of the whole switch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalRuntime {
    /// Whether DPDK's EAL is up.
    pub dpdk_initialized: bool,
    /// DPDK version string.
    pub dpdk_version: Option<String>,
}

/// The daemon's live state for read-only columns. Every method defaults to
/// "nothing known".
pub trait Runtime {
    /// State of the interface called `name`.
    fn interface(&self, name: &str) -> InterfaceRuntime {
        let _ = name;
        InterfaceRuntime::default()
    }

    /// State of the port called `name`.
    fn port(&self, name: &str) -> PortRuntime {
        let _ = name;
        PortRuntime::default()
    }

    /// Switch-wide state.
    fn global(&self) -> GlobalRuntime {
        GlobalRuntime::default()
    }
}

/// No live state (the daemon is starting, or a test).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRuntime;

impl Runtime for NoRuntime {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_normalization() {
        assert_eq!(
            normalize_pci("0000:08:00.0").as_deref(),
            Some("0000:08:00.0")
        );
        assert_eq!(normalize_pci("08:00.1").as_deref(), Some("0000:08:00.1"));
        assert_eq!(
            normalize_pci("0000:0A:1f.7").as_deref(),
            Some("0000:0a:1f.7")
        );
        for bad in [
            "",
            "net_pcap0",
            "0000:08:00",
            "0000:08:00.8",
            "x000:08:00.0",
            "0000:08:00.0.0",
            "../../x:00.0",
        ] {
            assert_eq!(normalize_pci(bad), None, "{bad}");
        }
    }

    #[test]
    fn accounts_resolve_through_the_c_library() {
        let env = SystemEnv::default();
        assert_eq!(env.user_id("root"), Some(0));
        assert_eq!(env.group_id("root"), Some(0));
        assert_eq!(env.user_id("no-such-user-rvswitch"), None);
        assert_eq!(env.group_id("no-such-group-rvswitch"), None);
    }

    #[test]
    fn random_uuids_differ_and_are_v4() {
        let a = random_uuid();
        let b = random_uuid();
        assert_ne!(a, b);
        assert_eq!(a.0[6] >> 4, 4);
        assert_eq!(a.0[8] >> 6, 2);
    }

    #[test]
    fn host_nic_detection_on_a_fake_sysfs() {
        let dir = std::env::temp_dir().join(format!("rvswitch-ctl-sysfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pci = dir.join("pci");
        let net = dir.join("net");
        // 0000:02:00.0 carries eno1, which is up; 0000:02:00.1 carries eno2, down;
        // 0000:08:00.0 has no kernel interface (bound to vfio).
        for (addr, ifname, flags, oper) in [
            ("0000:02:00.0", Some("eno1"), "0x1003", "up"),
            ("0000:02:00.1", Some("eno2"), "0x1002", "down"),
            ("0000:08:00.0", None, "", ""),
            ("0000:00:03.0", Some("eth0"), "0x1003", "up"),
        ] {
            std::fs::create_dir_all(pci.join(addr)).unwrap();
            if let Some(ifname) = ifname {
                // virtio puts the netdev one level down: <pci>/virtio0/net/.
                let parent = if ifname == "eth0" {
                    pci.join(addr).join("virtio0")
                } else {
                    pci.join(addr)
                };
                std::fs::create_dir_all(parent.join("net").join(ifname)).unwrap();
                std::fs::create_dir_all(net.join(ifname)).unwrap();
                std::fs::write(net.join(ifname).join("flags"), format!("{flags}\n")).unwrap();
                std::fs::write(net.join(ifname).join("operstate"), format!("{oper}\n")).unwrap();
            }
        }
        assert!(host_nic_in_sysfs(&pci, &net, "0000:02:00.0"));
        assert!(
            host_nic_in_sysfs(&pci, &net, "0000:00:03.0"),
            "virtio NIC one level down"
        );
        assert!(!host_nic_in_sysfs(&pci, &net, "0000:02:00.1"));
        assert!(!host_nic_in_sysfs(&pci, &net, "0000:08:00.0"));
        assert!(!host_nic_in_sysfs(&pci, &net, "0000:09:00.0"));
        assert!(!host_nic_in_sysfs(&pci, &net, "../pci/0000:02:00.0"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
