//! `Switch`: one rvswitch daemon (`vswitchd`) of a test, driven through the
//! real `vsctl` binary.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::parse::{BondShow, LacpShow};
use super::{remove_dpdk_files, run_timeout, signal, stderr, stdout, tail, wait_until, Netns};

/// The `vswitchd` binary cargo built for these tests.
pub fn vswitchd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vswitchd"))
}

/// The `vsctl` binary: next to `vswitchd` in the same target directory,
/// built there (`cargo build -p ctl --bin vsctl`, same profile) on first
/// use so it always matches the `ctl` crate the daemon was built from.
pub fn vsctl_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let daemon = vswitchd_bin();
        let bin = daemon.with_file_name("vsctl");
        // <target>/<profile>/vswitchd
        let profile_dir = daemon.parent().expect("vswitchd has a directory");
        let profile = profile_dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("debug")
            .to_string();
        let target_dir = profile_dir.parent().expect("target directory");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "ctl", "--bin", "vsctl"])
            .env("CARGO_TARGET_DIR", target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let out = run_timeout(&mut cmd, Duration::from_secs(900));
        assert!(
            out.status.success() && bin.exists(),
            "could not build vsctl into {} ({}): {}\n(build it first: cargo build -p ctl)",
            bin.display(),
            out.status,
            stderr(&out)
        );
        bin
    })
    .clone()
}

/// A running rvswitch: its own network namespace, state directory,
/// control socket and EAL file prefix. Dropping it stops the daemon
/// (SIGTERM, then SIGKILL) and removes all of that; when the test is
/// failing it prints the end of the daemon's log first.
#[derive(Debug)]
pub struct Switch {
    pub name: String,
    /// `/tmp/rvit-<pid>-sw-<name>`: the state dir, socket, logs.
    pub dir: PathBuf,
    pub state_dir: PathBuf,
    pub sock: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
    pub stderr_log: PathBuf,
    /// EAL `--file-prefix`.
    pub prefix: String,
    pub netns: Netns,
    child: Option<Child>,
    starts: u32,
}

impl Switch {
    /// Start a daemon and set the EAL globals the contract's start-up
    /// sequence sets: main lcore 0, PMD on core 1, 512 MB, own file prefix.
    pub fn start(name: &str) -> Switch {
        Switch::start_with(name, "0x2", &[])
    }

    /// [`Switch::start`] with the PMDs on `pmd_mask` and more
    /// `other_config` settings of the Open_vSwitch table (`key=value`).
    pub fn start_with(name: &str, pmd_mask: &str, more: &[String]) -> Switch {
        let mut sw = Switch::start_bare(name);
        let mut argv: Vec<String> = [
            "--no-wait",
            "set",
            "Open_vSwitch",
            ".",
            "other_config:dpdk-init=true",
            "other_config:dpdk-lcore-mask=0x1",
            "other_config:dpdk-socket-mem=512",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.push(format!("other_config:pmd-cpu-mask={pmd_mask}"));
        argv.push(format!(
            "other_config:dpdk-extra=\"--file-prefix={}\"",
            sw.prefix
        ));
        argv.extend(more.iter().map(|m| format!("other_config:{m}")));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        sw.vsctl_ok(&argv);
        sw.wait_dpdk_initialized();
        sw
    }

    /// Wait until EAL has started (after `dpdk-init=true` is committed).
    /// Without it nothing else works, so this fails with the daemon's
    /// reason (most often: hugepages taken by other DPDK processes).
    pub fn wait_dpdk_initialized(&mut self) {
        let what = format!("DPDK to initialize in {}", self.name);
        wait_until(&what, 60, || {
            self.check_alive();
            let v = self.vsctl_ok(&["get", "Open_vSwitch", ".", "dpdk_initialized"]);
            if v.trim() == "true" {
                Ok(())
            } else {
                Err(format!(
                    "dpdk_initialized={}\n{}",
                    v.trim(),
                    self.log_tail(10)
                ))
            }
        });
    }

    /// Start a daemon with an empty configuration and nothing set.
    pub fn start_bare(name: &str) -> Switch {
        let what = format!("sw-{name}");
        let dir = std::env::temp_dir().join(super::name(&what));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create switch directory");
        let prefix = super::name(&what);
        remove_dpdk_files(&prefix);
        let mut sw = Switch {
            name: name.to_string(),
            state_dir: dir.join("state"),
            sock: dir.join("vswitchd.sock"),
            pidfile: dir.join("vswitchd.pid"),
            log: dir.join("vswitchd.log"),
            stderr_log: dir.join("vswitchd.stderr"),
            dir,
            prefix,
            netns: Netns::new(&what),
            child: None,
            starts: 0,
        };
        sw.spawn();
        sw
    }

    /// Start the daemon process (in the namespace, in the foreground so we
    /// hold its pid) and wait until vsctl can talk to it.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        self.starts += 1;
        let err = File::options()
            .create(true)
            .append(true)
            .open(&self.stderr_log)
            .expect("open stderr log");
        let mut cmd = self
            .netns
            .command(vswitchd_bin().to_str().expect("utf-8 path"));
        super::die_with_test(&mut cmd);
        let child = cmd
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--socket")
            .arg(&self.sock)
            .arg("--pidfile")
            .arg(&self.pidfile)
            .arg("--log-file")
            .arg(&self.log)
            .stdin(Stdio::null())
            .stdout(err.try_clone().expect("dup stderr log"))
            .stderr(err)
            .spawn()
            .expect("spawn vswitchd");
        self.child = Some(child);
        wait_until("vswitchd to answer on its control socket", 60, || {
            self.check_alive();
            let o = self.vsctl(&["list-br"]);
            if o.status.success() {
                Ok(())
            } else {
                Err(stderr(&o))
            }
        });
    }

    /// The daemon's pid (it is the process `ip netns exec` became).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Panics with the log if the daemon has exited.
    pub fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                panic!(
                    "vswitchd {} exited ({st})\n{}",
                    self.name,
                    self.log_tail(60)
                );
            }
        }
    }

    /// `vsctl --socket=SOCK ARGS...` (30 s deadline).
    pub fn vsctl(&self, args: &[&str]) -> Output {
        run_vsctl(&self.sock, args)
    }

    /// `add-br BR -- set bridge BR datapath_type=netdev [settings...]`.
    pub fn add_bridge(&self, br: &str, settings: &[&str]) {
        let mut args = vec![
            "add-br",
            br,
            "--",
            "set",
            "bridge",
            br,
            "datapath_type=netdev",
        ];
        args.extend_from_slice(settings);
        self.vsctl_ok(&args);
    }

    /// `vsctl` that must succeed; returns stdout.
    pub fn vsctl_ok(&self, args: &[&str]) -> String {
        let o = self.vsctl(args);
        if !o.status.success() {
            panic!(
                "vsctl {} failed ({}): {}\n{}",
                args.join(" "),
                o.status,
                stderr(&o),
                self.log_tail(40)
            );
        }
        stdout(&o)
    }

    /// `vsctl` that must fail; returns stderr.
    pub fn vsctl_err(&self, args: &[&str]) -> String {
        let o = self.vsctl(args);
        assert!(
            !o.status.success(),
            "vsctl {} succeeded but should have failed; stdout: {}",
            args.join(" "),
            stdout(&o)
        );
        stderr(&o)
    }

    /// `vsctl show`.
    pub fn show(&self) -> String {
        self.vsctl_ok(&["show"])
    }

    /// `vsctl get Interface IFACE COLUMN` without the quotes of a string.
    pub fn iface_get(&self, iface: &str, column: &str) -> String {
        unquote(self.vsctl_ok(&["get", "Interface", iface, column]).trim())
    }

    /// `vsctl get Interface IFACE statistics:KEY` as a number.
    pub fn stat(&self, iface: &str, key: &str) -> u64 {
        let v = self.iface_get(iface, &format!("statistics:{key}"));
        v.parse()
            .unwrap_or_else(|_| panic!("statistics:{key} of {iface} is {v:?}, not a number"))
    }

    /// Wait until `link_state` of `iface` is `up`.
    pub fn wait_link_up(&mut self, iface: &str, secs: u64) {
        wait_until(
            &format!("{iface} link_state up on {}", self.name),
            secs,
            || {
                self.check_alive();
                let o = self.vsctl(&["get", "Interface", iface, "link_state"]);
                let v = unquote(stdout(&o).trim());
                if o.status.success() && v == "up" {
                    Ok(())
                } else {
                    Err(format!("{v:?} {}", stderr(&o)))
                }
            },
        );
    }

    /// `vsctl lacp/show BOND`, parsed.
    pub fn lacp_show(&self, bond: &str) -> LacpShow {
        LacpShow::parse(&self.vsctl_ok(&["lacp/show", bond]))
    }

    /// `vsctl bond/show BOND`, parsed.
    pub fn bond_show(&self, bond: &str) -> BondShow {
        BondShow::parse(&self.vsctl_ok(&["bond/show", bond]))
    }

    /// SIGKILL the daemon and reap it. Its state directory, socket file
    /// and DPDK files stay, as after a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start the daemon again on the same state directory and socket.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The daemon's log and stderr, last `n` lines of each.
    pub fn log_tail(&self, n: usize) -> String {
        format!(
            "--- {} log (last {n} lines) ---\n{}\n--- {} stderr ---\n{}\n---",
            self.name,
            tail(&self.log, n),
            self.name,
            tail(&self.stderr_log, n)
        )
    }

    /// Stop the daemon: SIGTERM, up to 10 s for a clean exit, then SIGKILL.
    /// Returns whether it exited by itself.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        signal(c.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(80));
        }
        if !self.stop() {
            eprintln!("vswitchd {} ignored SIGTERM for 10 s; killed", self.name);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        remove_dpdk_files(&self.prefix);
    }
}

/// `vsctl --socket=SOCK ARGS...` with a 30 s deadline.
pub fn run_vsctl(sock: &Path, args: &[&str]) -> Output {
    run_timeout(
        Command::new(vsctl_bin())
            .arg(format!("--socket={}", sock.display()))
            .args(args),
        Duration::from_secs(30),
    )
}

/// A vsctl/ovs-vsctl string value without its double quotes.
pub fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}
