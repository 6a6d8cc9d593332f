//! `Ovs`: OVS-DPDK 3.1 (Debian's `openvswitch-switch-dpdk`) as a test peer,
//! in a private directory and a network namespace of its own.
//!
//! The recipe (shared/NOTES.md): `ovsdb-tool create` and `ovsdb-server`
//! with `--remote=punix:DIR/db.sock --unixctl=DIR/ovsdb.ctl`; the DPDK
//! globals (main lcore 0, PMD on core 1, 512 MB, own `--file-prefix` and
//! `-a 0000:00:00.0` so its EAL leaves the host's NIC alone); then
//! `ovs-vswitchd-dpdk unix:DIR/db.sock --detach`. `OVS_RUNDIR` and friends
//! point at DIR so nothing is written to the system's OVS directories.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::parse::LacpShow;
use super::{
    pid_alive, remove_dpdk_files, run_ok, run_timeout, signal, stderr, stdout, tail, Netns,
};

const VSWITCHD: &str = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk";
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// A running OVS-DPDK. Dropping it asks ovs-vswitchd and ovsdb-server to
/// exit (killing them by pid if they do not), then removes its directory,
/// namespace and DPDK files; when the test is failing it prints the end
/// of ovs-vswitchd's log first.
#[derive(Debug)]
pub struct Ovs {
    pub name: String,
    pub dir: PathBuf,
    pub prefix: String,
    pub netns: Netns,
}

impl Ovs {
    pub fn start(name: &str) -> Ovs {
        let what = format!("ovs-{name}");
        let dir = std::env::temp_dir().join(super::name(&what));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create OVS directory");
        let prefix = super::name(&what);
        remove_dpdk_files(&prefix);
        let ovs = Ovs {
            name: name.to_string(),
            dir,
            prefix,
            netns: Netns::new(&what),
        };
        let d = ovs.dir.display().to_string();
        run_ok(
            ovs.cmd("ovsdb-tool")
                .args(["create", &format!("{d}/conf.db"), SCHEMA]),
        );
        ovs.run_detach(ovs.cmd("ovsdb-server").args([
            &format!("{d}/conf.db"),
            &format!("--remote=punix:{d}/db.sock"),
            &format!("--unixctl={d}/ovsdb.ctl"),
            &format!("--pidfile={d}/ovsdb.pid"),
            &format!("--log-file={d}/ovsdb.log"),
            "--detach",
        ]));
        ovs.ovs_vsctl_ok(&["--no-wait", "init"]);
        ovs.ovs_vsctl_ok(&[
            "--no-wait",
            "set",
            "Open_vSwitch",
            ".",
            "other_config:dpdk-init=true",
            "other_config:dpdk-lcore-mask=0x1",
            "other_config:pmd-cpu-mask=0x2",
            "other_config:dpdk-socket-mem=512",
            &format!(
                "other_config:dpdk-extra=\"--file-prefix={} -a 0000:00:00.0\"",
                ovs.prefix
            ),
        ]);
        let mut c = ovs.netns.command(VSWITCHD);
        ovs.env(&mut c);
        ovs.run_detach(c.args([
            &format!("unix:{d}/db.sock"),
            "--detach",
            &format!("--pidfile={d}/vswitchd.pid"),
            &format!("--unixctl={d}/vswitchd.ctl"),
            &format!("--log-file={d}/vswitchd.log"),
        ]));
        // DPDK is initialized once ovs-vswitchd answers.
        let v = ovs.ovs_appctl(&["version"]);
        assert!(
            v.status.success(),
            "ovs-vswitchd-dpdk does not answer: {}\n{}",
            stderr(&v),
            ovs.log_tail(40)
        );
        ovs
    }

    /// Run a daemon with `--detach`: its output goes to DIR/console.log
    /// (not a pipe, which the daemon would hold open), and the parent must
    /// exit 0 within 60 s.
    fn run_detach(&self, c: &mut Command) {
        let log = self.dir.join("console.log");
        let f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open console log");
        let desc = format!("{c:?}");
        let mut child = c
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup console log"))
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {desc}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{desc} did not detach within 60 s:\n{}", tail(&log, 30));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            status.success(),
            "{desc} failed ({status}):\n{}",
            tail(&log, 30)
        );
    }

    fn env(&self, c: &mut Command) {
        for var in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"] {
            c.env(var, &self.dir);
        }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        self.env(&mut c);
        c
    }

    /// `ovs-vsctl --db=unix:DIR/db.sock ARGS...` (60 s deadline).
    pub fn ovs_vsctl(&self, args: &[&str]) -> Output {
        run_timeout(
            self.cmd("ovs-vsctl")
                .arg(format!("--db=unix:{}/db.sock", self.dir.display()))
                .arg("--timeout=60")
                .args(args),
            Duration::from_secs(70),
        )
    }

    pub fn ovs_vsctl_ok(&self, args: &[&str]) -> String {
        let o = self.ovs_vsctl(args);
        assert!(
            o.status.success(),
            "ovs-vsctl {} failed: {}\n{}",
            args.join(" "),
            stderr(&o),
            self.log_tail(30)
        );
        stdout(&o)
    }

    /// `ovs-appctl -t DIR/vswitchd.ctl ARGS...`.
    pub fn ovs_appctl(&self, args: &[&str]) -> Output {
        run_timeout(
            self.cmd("ovs-appctl")
                .arg("-t")
                .arg(self.dir.join("vswitchd.ctl"))
                .arg("--timeout=60")
                .args(args),
            Duration::from_secs(70),
        )
    }

    pub fn ovs_appctl_ok(&self, args: &[&str]) -> String {
        let o = self.ovs_appctl(args);
        assert!(
            o.status.success(),
            "ovs-appctl {} failed: {}\n{}",
            args.join(" "),
            stderr(&o),
            self.log_tail(30)
        );
        stdout(&o)
    }

    /// `ovs-appctl lacp/show BOND`, parsed.
    pub fn lacp_show(&self, bond: &str) -> LacpShow {
        LacpShow::parse(&self.ovs_appctl_ok(&["lacp/show", bond]))
    }

    /// `ovs-vsctl get Interface IFACE statistics:KEY` as a number.
    pub fn stat(&self, iface: &str, key: &str) -> u64 {
        let v = self.ovs_vsctl_ok(&["get", "Interface", iface, &format!("statistics:{key}")]);
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("OVS statistics:{key} of {iface} is {v:?}"))
    }

    pub fn log_tail(&self, n: usize) -> String {
        format!(
            "--- OVS {} log (last {n} lines) ---\n{}\n---",
            self.name,
            tail(&self.dir.join("vswitchd.log"), n)
        )
    }

    fn pid(&self, file: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stop one daemon: `exit` over its control socket, then SIGKILL by
    /// the pid in its pidfile if it is still there after 10 s.
    fn stop_daemon(&self, ctl: &str, pidfile: &str, exit_args: &[&str]) {
        let pid = self.pid(pidfile);
        let _ = run_timeout(
            self.cmd("ovs-appctl")
                .arg("-t")
                .arg(self.dir.join(ctl))
                .arg("--timeout=10")
                .args(exit_args),
            Duration::from_secs(15),
        );
        if let Some(pid) = pid {
            let deadline = Instant::now() + Duration::from_secs(10);
            while pid_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if pid_alive(pid) {
                signal(pid, "KILL");
            }
        }
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(60));
        }
        self.stop_daemon("vswitchd.ctl", "vswitchd.pid", &["exit", "--cleanup"]);
        self.stop_daemon("ovsdb.ctl", "ovsdb.pid", &["exit"]);
        let _ = std::fs::remove_dir_all(&self.dir);
        remove_dpdk_files(&self.prefix);
    }
}
