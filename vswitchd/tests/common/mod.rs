//! Harness for the daemon's integration tests: the real `vswitchd` and
//! `vsctl` binaries against real peers (testpmd as a vhost-user server,
//! OVS-DPDK 3.1, veth pairs in network namespaces).
//!
//! Everything a test creates is owned by a guard whose `Drop` removes it,
//! also when the test panics: processes (killed by their own pid), state
//! directories, sockets, network namespaces, veths, and DPDK's
//! `/var/run/dpdk/<prefix>` and hugepage files. Names all start with
//! `rvit-<pid>-` (see [`name`]), so `scripts/itest-env.sh cleanup` can sweep
//! what an interrupted run (SIGKILL of the test binary) left behind.
//!
//! DPDK tests must run one at a time (every PMD busy-polls a core, and the
//! machine has two): take [`serial`] first in every test. Cargo runs test
//! binaries one after the other; `serial` covers the tests inside one binary.
//!
//! Running them: as root, on a machine with DPDK 22.11, `dpdk-testpmd`
//! (package dpdk-dev) and `openvswitch-switch-dpdk`:
//! `cargo test -p vswitchd` (one scenario: `--test vhost_forwarding`).
//! [`serial`] runs `scripts/itest-env.sh setup` (hugepages, tool check).
//! The daemon and testpmd die with the test process; after a killed run,
//! `scripts/itest-env.sh cleanup` removes the namespaces and files left.
//! With `--nocapture` the tests print what they measured.

#![allow(dead_code, unused_imports)]

pub mod hardening;
pub mod lacp;
pub mod memif;
pub mod net;
pub mod ovs;
pub mod parse;
pub mod pcap;
pub mod switch;
pub mod testpmd;
pub mod vhost_peer;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub use net::{Netns, VethPair};
pub use ovs::Ovs;
pub use parse::{BondShow, FdbEntry, LacpShow};
pub use switch::Switch;
pub use testpmd::{PortStats, Testpmd, VhostPort};

/// The name of a thing this test process owns: `rvit-<pid>-<what>`.
pub fn name(what: &str) -> String {
    format!("rvit-{}-{what}", std::process::id())
}

/// Serializes the DPDK tests of one test binary; also prepares the machine
/// (hugepages, hugetlbfs, `/var/run/openvswitch`, tools) once.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    setup_env();
    guard
}

/// Path of a file in the repository (relative to the workspace root).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Run `scripts/itest-env.sh setup` once per process.
pub fn setup_env() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let out = run_timeout(
            Command::new("sh")
                .arg(repo_path("scripts/itest-env.sh"))
                .arg("setup"),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "scripts/itest-env.sh setup failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Poll `f` every 20 ms until it returns `Some`, at most `secs` seconds;
/// panics naming `what` (and the last value `f` described through
/// `Err`) on timeout. `f` should also check that the processes it depends
/// on are still alive, so a crash fails fast instead of timing out.
pub fn wait_until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) => {
                if Instant::now() >= deadline {
                    panic!("timed out after {secs} s waiting for {what}; last: {last}");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run a command to completion with a deadline (killed when it passes),
/// capturing stdout and stderr. A missing program panics with its name.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {desc}: {e}"));
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().expect("piped stdout");
    let mut se = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for child") {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let st = child.wait().expect("wait for killed child");
            let stdout = t_out.join().unwrap_or_default();
            let stderr = t_err.join().unwrap_or_default();
            panic!(
                "{desc} did not finish within {timeout:?} ({st}); stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Run a command that must succeed within 60 s; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let desc = format!("{cmd:?}");
    let out = run_timeout(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{desc} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory `/tmp/rvit-<pid>-<what>`, removed on drop. (Switch
/// and OVS directories are `rvit-<pid>-sw-*` and `rvit-<pid>-ovs-*`.)
#[derive(Debug)]
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(what: &str) -> TestDir {
        let path = std::env::temp_dir().join(name(what));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test directory");
        TestDir { path }
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Remove what a DPDK process with file prefix `prefix` may leave behind:
/// its runtime directory and its hugepage files.
pub fn remove_dpdk_files(prefix: &str) {
    let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(prefix));
    if let Ok(rd) = std::fs::read_dir("/dev/hugepages") {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Make the process `cmd` will start get SIGKILL when the test thread
/// that starts it ends, so a test binary killed by a timeout does not leave
/// a busy-polling daemon or testpmd behind. (Survives `exec`, so it also
/// covers `ip netns exec` and `stdbuf` wrappers; not daemons that fork.)
pub fn die_with_test(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and calls
    // only prctl, getppid and _exit, which are async-signal-safe; it
    // touches no memory shared with the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Send `sig` (e.g. "TERM", "KILL") to one process by pid.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The last `n` lines of a text file (empty if it cannot be read).
pub fn tail(path: &Path, n: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// stdout of an `Output` as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr of an `Output` as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
