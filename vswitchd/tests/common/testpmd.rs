//! `Testpmd`: dpdk-testpmd as the vhost-user server of one or more
//! `net_virtio_user` ports (what QEMU is under libvirt's `mode='server'`),
//! driven interactively through its stdin.
//!
//! testpmd creates each socket and waits in device probe until a client
//! (the switch) connects to it, then finishes start-up and prints its
//! prompt. Commands are written to stdin; answers are read from its log.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::parse::parse_port_stats;
use super::{remove_dpdk_files, tail, wait_until};

pub use super::parse::PortStats;

/// One `net_virtio_user` port: its socket (testpmd listens) and MAC.
#[derive(Clone, Debug)]
pub struct VhostPort {
    pub sock: PathBuf,
    pub mac: String,
}

/// A running interactive testpmd. Dropping it quits testpmd (killing it
/// if it does not go within 5 s) and removes its sockets, log and DPDK
/// runtime files; when the test is failing it prints the log's end first.
#[derive(Debug)]
pub struct Testpmd {
    pub name: String,
    pub log: PathBuf,
    pub pidfile: PathBuf,
    pub prefix: String,
    ports: Vec<VhostPort>,
    /// Runs as this uid (and gid) instead of root.
    uid: Option<u32>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl Testpmd {
    /// Start `dpdk-testpmd -i` with `ports` as vhost-user servers
    /// (`server=1,queue_size=1024`), forwarding mode `mode`, both lcores on
    /// core 0, `--in-memory --single-file-segments`, its own file prefix;
    /// `extra` goes after `--` (e.g. `--port-topology=loop`,
    /// `--eth-peer=0,MAC`). Logs go to `<dir>/testpmd-<name>.log`.
    pub fn vhost_server(
        dir: &std::path::Path,
        name: &str,
        ports: &[VhostPort],
        mode: &str,
        extra: &[&str],
    ) -> Testpmd {
        Testpmd::vhost_server_as(dir, name, None, ports, mode, extra)
    }

    /// [`Testpmd::vhost_server`] running as `uid` (a VM's QEMU user) when
    /// given: EAL then keeps its runtime files under `/tmp/dpdk/<prefix>`
    /// and takes its hugepages through memfd (`--in-memory`).
    pub fn vhost_server_as(
        dir: &std::path::Path,
        name: &str,
        uid: Option<u32>,
        ports: &[VhostPort],
        mode: &str,
        extra: &[&str],
    ) -> Testpmd {
        let vdevs: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // A socket left by a killed server would make bind fail.
                let _ = std::fs::remove_file(&p.sock);
                format!(
                    "net_virtio_user{i},path={},server=1,queue_size=1024,mac={}",
                    p.sock.display(),
                    p.mac
                )
            })
            .collect();
        let mut tp = Testpmd::spawn(dir, name, uid, "0@0,1@0", &vdevs, mode, extra);
        tp.ports = ports.to_vec();
        // testpmd probes the ports in order and waits in each probe for a
        // client, so only the first socket exists until a client connects.
        if let Some(p) = tp.ports.first() {
            let sock = p.sock.clone();
            wait_until(&format!("testpmd socket {}", sock.display()), 60, || {
                if sock.exists() {
                    Ok(())
                } else {
                    Err(tail(&tp.log, 5))
                }
            });
        }
        tp
    }

    /// Start `dpdk-testpmd -i` on `lcores` (EAL `--lcores`) with the given
    /// `--vdev`s, `--in-memory --single-file-segments`, its own file
    /// prefix, forwarding mode `mode`; `extra` goes after `--`. Logs go to
    /// `<dir>/testpmd-<name>.log`.
    pub fn with_vdevs(
        dir: &std::path::Path,
        name: &str,
        lcores: &str,
        vdevs: &[String],
        mode: &str,
        extra: &[&str],
    ) -> Testpmd {
        Testpmd::spawn(dir, name, None, lcores, vdevs, mode, extra)
    }

    fn spawn(
        dir: &std::path::Path,
        name: &str,
        uid: Option<u32>,
        lcores: &str,
        vdevs: &[String],
        mode: &str,
        extra: &[&str],
    ) -> Testpmd {
        let prefix = super::name(&format!("tp-{name}"));
        remove_dpdk_files(&prefix);
        let log = dir.join(format!("testpmd-{name}.log"));
        let pidfile = dir.join(format!("testpmd-{name}.pid"));
        let out = File::create(&log).expect("create testpmd log");
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "-eL", "dpdk-testpmd", "--lcores", lcores])
            .args([
                "--in-memory",
                "--single-file-segments",
                "--no-pci",
                "--no-telemetry",
                "--file-prefix",
                &prefix,
            ]);
        for v in vdevs {
            cmd.arg("--vdev").arg(v);
        }
        cmd.arg("--")
            .arg("-i")
            .arg(format!("--forward-mode={mode}"))
            .args(["--nb-cores", "1", "--total-num-mbufs", "8192"])
            .args(["--rxd", "1024", "--txd", "1024"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out);
        if let Some(uid) = uid {
            use std::os::unix::process::CommandExt;
            cmd.env_remove("XDG_RUNTIME_DIR")
                .env("HOME", "/tmp")
                .current_dir("/tmp")
                .uid(uid)
                .gid(uid);
        }
        super::die_with_test(&mut cmd);
        let mut child = cmd
            .spawn()
            .expect("spawn dpdk-testpmd (Debian package dpdk-dev)");
        let _ = std::fs::write(&pidfile, format!("{}\n", child.id()));
        let stdin = child.stdin.take();
        Testpmd {
            name: name.to_string(),
            log,
            pidfile,
            prefix,
            ports: Vec::new(),
            uid,
            child: Some(child),
            stdin,
        }
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Panics with the log if testpmd has exited.
    pub fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                panic!(
                    "testpmd {} (uid {:?}) exited ({st}):\n{}",
                    self.name,
                    self.uid,
                    tail(&self.log, 60)
                );
            }
        }
    }

    /// testpmd's pid (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether testpmd is still running.
    pub fn is_alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Wait until testpmd has finished start-up (every client connected,
    /// ports started): its first prompt.
    pub fn wait_ready(&mut self, secs: u64) {
        wait_until(&format!("testpmd {} to start", self.name), secs, || {
            self.check_alive();
            if self.log_text().contains("testpmd> ") {
                Ok(())
            } else {
                Err(tail(&self.log, 3))
            }
        });
    }

    /// Send one command line and wait until testpmd printed its answer and
    /// a new prompt; returns the answer.
    pub fn cmd(&mut self, line: &str) -> String {
        self.check_alive();
        let start = self.log_text().len();
        let stdin = self.stdin.as_mut().expect("testpmd stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("write {line:?} to testpmd: {e}"));
        let mut out = String::new();
        wait_until(&format!("testpmd to answer {line:?}"), 60, || {
            self.check_alive();
            let text = self.log_text();
            let new = text.get(start..).unwrap_or("");
            // The prompt testpmd prints after the command has run (it
            // echoes the command first, so the prompt is never at 0).
            if let Some(end) = new.rfind("testpmd> ").filter(|&e| e > 0) {
                out = new[..end].to_string();
                return Ok(());
            }
            Err(new.to_string())
        });
        out
    }

    /// `show port stats PORT`, parsed (counters since the port started).
    pub fn port_stats(&mut self, port: u16) -> PortStats {
        let out = self.cmd(&format!("show port stats {port}"));
        parse_port_stats(&out, port)
            .unwrap_or_else(|| panic!("no statistics for port {port} in:\n{out}"))
    }

    /// `show port info PORT` says `Link status: up`.
    pub fn link_up(&mut self, port: u16) -> bool {
        self.cmd(&format!("show port info {port}"))
            .contains("Link status: up")
    }

    /// Quit testpmd: `quit`, up to 5 s, then SIGKILL.
    pub fn quit(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\nquit\n");
        }
        let Some(mut c) = self.child.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- testpmd {} log (last 40 lines) ---\n{}\n---",
                self.name,
                tail(&self.log, 40)
            );
        }
        self.quit();
        for p in &self.ports {
            let _ = std::fs::remove_file(&p.sock);
        }
        let _ = std::fs::remove_file(&self.pidfile);
        remove_dpdk_files(&self.prefix);
        if self.uid.is_some() {
            let _ = std::fs::remove_dir_all(std::path::Path::new("/tmp/dpdk").join(&self.prefix));
        }
    }
}
