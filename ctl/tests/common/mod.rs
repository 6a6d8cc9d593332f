//! Shared test helpers: a fake host and a tiny shell-word splitter.
#![allow(dead_code)]

pub mod daemon;

use std::cell::Cell;
use std::collections::BTreeSet;

use ctl::db::Db;
use ctl::env::{Env, InterfaceRuntime, NoRuntime, Runtime};
use ctl::uuid::Uuid;
use ctl::{execute, CtlError, Outcome};

/// A host with chosen NICs and directories and predictable UUIDs.
#[derive(Default)]
pub struct FakeEnv {
    pub host_nics: BTreeSet<String>,
    pub dirs: BTreeSet<String>,
    pub missing_pci: BTreeSet<String>,
    next: Cell<u64>,
}

impl FakeEnv {
    pub fn new() -> FakeEnv {
        let mut e = FakeEnv::default();
        e.host_nics.insert("0000:02:00.0".into());
        e.missing_pci.insert("0000:0f:00.0".into());
        e.dirs.insert("/usr/local/openvswitch".into());
        e.dirs.insert("/tmp".into());
        // The run directory and one vhost-sock-dir below it.
        e.dirs.insert("/run/rvswitch".into());
        e.dirs.insert("/run/rvswitch/vhost".into());
        e
    }
}

impl Env for FakeEnv {
    fn is_host_nic(&self, pci: &str) -> bool {
        self.host_nics.contains(pci)
    }
    fn pci_device_exists(&self, pci: &str) -> bool {
        !self.missing_pci.contains(pci)
    }
    fn is_directory(&self, path: &str) -> bool {
        self.dirs.contains(path.trim_end_matches('/')) || path == "/"
    }
    fn user_id(&self, name: &str) -> Option<u32> {
        [("root", 0), ("libvirt-qemu", 64055)]
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
    }
    fn group_id(&self, name: &str) -> Option<u32> {
        [("root", 0), ("kvm", 993)]
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
    }
    fn new_uuid(&self) -> Uuid {
        let n = self.next.get() + 1;
        self.next.set(n);
        // The counter first (little-endian), so short prefixes are unique.
        let mut b = [0xaa_u8; 16];
        b[..8].copy_from_slice(&n.to_le_bytes());
        Uuid::from_random_bytes(b)
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("rvswitch-ctl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The root UUID every test database starts with.
pub fn root_uuid() -> Uuid {
    "8daaa733-f6ef-4b67-a1a9-581875f33420".parse().unwrap()
}

pub fn empty_db() -> Db {
    Db::new(root_uuid())
}

/// Split a command line into words: whitespace separates, single and
/// double quotes group (and are removed), backslash escapes.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                have = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    have = true;
                }
            }
            (_, c) => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// Words after the program name of an `ovs-vsctl ...`/`vsctl ...` line.
pub fn vsctl_args(line: &str) -> Vec<String> {
    let w = words(line);
    let first = w.first().map(String::as_str);
    match first {
        Some("vsctl" | "ovs-vsctl") => w[1..].to_vec(),
        _ => w,
    }
}

/// Run one command line.
pub fn run_with(db: &Db, line: &str, env: &dyn Env, rt: &dyn Runtime) -> Result<Outcome, CtlError> {
    execute(db, &vsctl_args(line), env, rt)
}

/// Run one command line with the default fake env and no runtime.
pub fn run(db: &Db, env: &FakeEnv, line: &str) -> Result<Outcome, CtlError> {
    run_with(db, line, env, &NoRuntime)
}

/// Run a line that must succeed; apply its change; return its output.
pub fn ok(db: &mut Db, env: &FakeEnv, line: &str) -> String {
    let out = run(db, env, line).unwrap_or_else(|e| panic!("{line}: {e}"));
    if let Some(new) = out.new_db {
        *db = new;
    }
    out.output
}

/// Run a line that must fail; check that nothing changes; return the error.
pub fn err(db: &Db, env: &FakeEnv, line: &str) -> String {
    match run(db, env, line) {
        Ok(o) => panic!("{line}: unexpectedly succeeded with output {:?}", o.output),
        Err(e) => e.message,
    }
}

/// A runtime that reports an error on one interface and stats on all.
pub struct FakeRuntime;

impl Runtime for FakeRuntime {
    fn interface(&self, name: &str) -> InterfaceRuntime {
        let mut r = InterfaceRuntime {
            link_state: Some("up".into()),
            mtu: Some(1500),
            ofport: Some(1),
            ..InterfaceRuntime::default()
        };
        r.statistics.insert("rx_packets".into(), 42);
        if name == "dpdk1" {
            r.error = Some("could not open device 0000:08:00.1: no such device".into());
            r.link_state = Some("down".into());
        }
        r
    }
}
