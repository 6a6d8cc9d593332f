//! Helpers for the hardening tests (issue 6): a daemon whose DPDK is cheap
//! to start and never touches PCI, raw control-socket clients, a
//! deterministic random source, the host's own NIC, and a throwaway
//! non-root user.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ctl::proto::{Format, Request, Response};

use super::switch::{vsctl_bin, Switch};
use super::{run_timeout, stderr, stdout, wait_until};

/// The `Open_vSwitch` globals that make EAL cheap: no hugepages (512 MB of
/// ordinary memory, enough for the daemon's mbuf pool), no PCI bus at all
/// (so not even a wrongly accepted PCI address can reach a real device),
/// its own file prefix, the PMD on core 1 sleeping when idle.
pub fn cheap_globals(prefix: &str) -> Vec<String> {
    vec![
        "other_config:dpdk-init=true".into(),
        "other_config:dpdk-lcore-mask=0x1".into(),
        "other_config:pmd-cpu-mask=0x2".into(),
        "other_config:pmd-maxsleep=1000".into(),
        // --no-huge implies --legacy-mem, which EAL refuses together with
        // the --in-memory the daemon adds by default; --proc-type keeps the
        // daemon from adding it, and the file prefix keeps the runtime
        // files in a directory the harness removes.
        format!(
            "other_config:dpdk-extra=\"--no-huge -m 512 --no-pci --proc-type=primary --file-prefix={prefix}\""
        ),
    ]
}

/// A daemon with [`cheap_globals`] set and DPDK initialized.
pub fn start_cheap(name: &str) -> Switch {
    let mut sw = Switch::start_bare(name);
    let mut args: Vec<String> = vec![
        "--no-wait".into(),
        "set".into(),
        "Open_vSwitch".into(),
        ".".into(),
    ];
    args.extend(cheap_globals(&sw.prefix));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    sw.vsctl_ok(&argv);
    sw.wait_dpdk_initialized();
    sw
}

/// `add-port BR PORT [extra] -- set Interface PORT type=dpdk
/// options:dpdk-devargs="net_nullN,no-rx=1"`: a port that opens instantly
/// and receives nothing.
pub fn add_null_port(sw: &Switch, br: &str, port: &str, n: u32, extra: &[&str]) {
    let devargs = format!("options:dpdk-devargs=\"net_null{n},no-rx=1\"");
    let mut args = vec!["add-port", br, port];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "set", "Interface", port, "type=dpdk", &devargs]);
    sw.vsctl_ok(&args);
}

/// The whole configuration file.
pub fn conf_bytes(sw: &Switch) -> Vec<u8> {
    std::fs::read(sw.state_dir.join("conf.json")).expect("conf.json exists")
}

/// Send `bytes` on a fresh connection, half-close, and read the reply
/// (whatever arrives before EOF or `timeout`).
pub fn raw_exchange(sock: &Path, bytes: &[u8], timeout: Duration) -> std::io::Result<String> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(bytes)?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One request line as vsctl would send it.
pub fn request_line(argv: &[&str]) -> Vec<u8> {
    let req = Request::new(argv.iter().map(|s| s.to_string()).collect(), Format::Text);
    let mut line = serde_json::to_vec(&req).expect("encode");
    line.push(b'\n');
    line
}

/// A request through the client library (what vsctl does), in-process.
pub fn request(sock: &Path, argv: &[&str], timeout: Duration) -> Result<Response, String> {
    let req = Request::new(argv.iter().map(|s| s.to_string()).collect(), Format::Text);
    ctl::client::request(sock, &req, Some(timeout)).map_err(|e| e.to_string())
}

/// `vsctl --socket=SOCK ARGS` run as `uid:gid`.
pub fn vsctl_as(uid: u32, gid: u32, sock: &Path, args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(runnable_vsctl());
    cmd.arg(format!("--socket={}", sock.display()))
        .args(args)
        .uid(uid)
        .gid(gid); // std drops root's supplementary groups with the uid
    run_timeout(&mut cmd, Duration::from_secs(30))
}

/// A copy of vsctl any user can run (the target directory may not be
/// readable by others), in `/tmp/rvit-<pid>-bin/`.
pub fn runnable_vsctl() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(super::name("bin"));
    let bin = dir.join("vsctl");
    if !bin.exists() {
        std::fs::create_dir_all(&dir).expect("bin dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let tmp = dir.join(".vsctl.tmp");
        std::fs::copy(vsctl_bin(), &tmp).expect("copy vsctl");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(&tmp, &bin).expect("rename");
    }
    bin
}

/// A system user for running clients without privileges: `rvstest`,
/// created (`useradd -M -r`) if missing and then deleted on drop.
#[derive(Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    created: bool,
}

impl TestUser {
    pub fn get() -> TestUser {
        let name = "rvstest".to_string();
        let mut created = false;
        if id_of(&name, "-u").is_none() {
            let o = run_timeout(
                Command::new("useradd").args(["-M", "-r", "-s", "/usr/sbin/nologin", &name]),
                Duration::from_secs(30),
            );
            assert!(o.status.success(), "useradd {name}: {}", stderr(&o));
            created = true;
        }
        let uid = id_of(&name, "-u").expect("uid of the test user");
        let gid = id_of(&name, "-g").expect("gid of the test user");
        assert_ne!(uid, 0, "the test user must not be root");
        TestUser {
            name,
            uid,
            gid,
            created,
        }
    }
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let o = run_timeout(
        Command::new("id").args([flag, user]),
        Duration::from_secs(10),
    );
    if !o.status.success() {
        return None;
    }
    stdout(&o).trim().parse().ok()
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // The copy of vsctl made for it (see runnable_vsctl).
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(super::name("bin")));
        if self.created {
            let _ = run_timeout(
                Command::new("userdel").arg(&self.name),
                Duration::from_secs(30),
            );
        }
    }
}

/// The host's own NIC: the interface of the default route and the PCI
/// address it sits on (`/sys/class/net/IF/device`, walking up to the PCI
/// function when the link is a virtio device below it). `None` if there is
/// no default route or no PCI device behind it.
pub fn host_nic_pci() -> Option<(String, String)> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    let iface = routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| f[0].to_string())
    })?;
    let dev = std::fs::canonicalize(format!("/sys/class/net/{iface}/device")).ok()?;
    let pci = dev.ancestors().find_map(|p| {
        let n = p.file_name()?.to_str()?;
        ctl::env::normalize_pci(n).filter(|x| x == n)
    })?;
    Some((iface, pci))
}

/// A small deterministic generator (xorshift64*), so a failing sequence
/// can be replayed from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// How long `f` takes.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

/// A daemon in the host's own network namespace (unlike [`Switch`]), for
/// the checks that must see the host's `/sys/class/net`. Its EAL is given
/// an option EAL rejects, so DPDK never starts and no device can be
/// touched: only the configuration layer is exercised. Killed and its
/// directory removed on drop.
#[derive(Debug)]
pub struct HostDaemon {
    pub dir: super::TestDir,
    pub sock: PathBuf,
    pub state_dir: PathBuf,
    pub log: PathBuf,
    child: std::process::Child,
}

impl HostDaemon {
    pub fn start(name: &str) -> HostDaemon {
        let dir = super::TestDir::new(&format!("hd-{name}"));
        let sock = dir.join("vswitchd.sock");
        let state_dir = dir.join("state");
        let log = dir.join("vswitchd.log");
        let err = std::fs::File::create(dir.join("vswitchd.stderr")).expect("stderr file");
        let mut cmd = Command::new(super::switch::vswitchd_bin());
        super::die_with_test(&mut cmd);
        let child = cmd
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--socket")
            .arg(&sock)
            .arg("--log-file")
            .arg(&log)
            .stdin(std::process::Stdio::null())
            .stdout(err.try_clone().expect("dup"))
            .stderr(err)
            .spawn()
            .expect("spawn vswitchd");
        let d = HostDaemon {
            dir,
            sock,
            state_dir,
            log,
            child,
        };
        wait_until("vswitchd (host namespace) to answer", 60, || {
            let o = d.vsctl(&["list-br"]);
            if o.status.success() {
                Ok(())
            } else {
                Err(stderr(&o))
            }
        });
        d.vsctl_ok(&[
            "set",
            "Open_vSwitch",
            ".",
            "other_config:dpdk-init=true",
            "other_config:dpdk-extra=\"--no-pci --rvswitch-test-keeps-eal-down\"",
        ]);
        d
    }

    pub fn vsctl(&self, args: &[&str]) -> Output {
        super::switch::run_vsctl(&self.sock, args)
    }

    pub fn vsctl_ok(&self, args: &[&str]) -> String {
        let o = self.vsctl(args);
        assert!(
            o.status.success(),
            "vsctl {} failed: {}",
            args.join(" "),
            stderr(&o)
        );
        stdout(&o)
    }

    /// The daemon's configuration file.
    pub fn conf(&self) -> PathBuf {
        self.state_dir.join("conf.json")
    }
}

impl Drop for HostDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
