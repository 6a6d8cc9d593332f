//! vhost-user peers of chosen uids for the vhost peer-check tests
//! (`hardening_vhost_peer`): directories owned by a uid with a chosen mode,
//! `dpdk-testpmd` running as a non-root uid (the VM's QEMU user), and a
//! small Python listener that binds a socket, gives the file to one uid
//! and listens as another (the impostor) and logs every connection it
//! accepts and when it was closed.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::parse::{parse_port_stats, PortStats};
use super::{remove_dpdk_files, tail, wait_until};

/// The uid of VM "A" (the legitimate QEMU user); no passwd entry needed.
pub const UID_A: u32 = 64101;
/// The uid of VM "B" (another VM's QEMU user).
pub const UID_B: u32 = 64102;

/// Create directory `path` (and its parents) owned by `uid:uid` with
/// exactly `mode`.
pub fn owned_dir(path: &Path, uid: u32, mode: u32) -> PathBuf {
    std::fs::create_dir_all(path).expect("create directory");
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown directory");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.to_path_buf()
}

/// `dpdk-testpmd -i` as `uid:uid` with `net_virtio_user` server ports on
/// `socks` (what QEMU running as that user is), interactive on stdin.
/// As a non-root user EAL runs `--in-memory` (memfd hugepages) with its
/// runtime directory under `/tmp/dpdk/<prefix>`. Dropping it quits (then
/// kills) it and removes its sockets, log and runtime files.
#[derive(Debug)]
pub struct UserTestpmd {
    pub name: String,
    pub uid: u32,
    pub log: PathBuf,
    pub prefix: String,
    socks: Vec<PathBuf>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl UserTestpmd {
    /// Start it with forwarding mode `mode` and `extra` testpmd options;
    /// waits until the first socket exists (testpmd then waits for us).
    pub fn start(
        dir: &Path,
        name: &str,
        uid: u32,
        socks: &[(PathBuf, &str)],
        mode: &str,
        extra: &[&str],
    ) -> UserTestpmd {
        let prefix = super::name(&format!("utp-{name}"));
        remove_dpdk_files(&prefix);
        let log = dir.join(format!("testpmd-{name}.log"));
        let out = File::create(&log).expect("create testpmd log");
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "-eL", "dpdk-testpmd", "--lcores", "0@0,1@0"])
            .args([
                "--in-memory",
                "--single-file-segments",
                "--no-pci",
                "--no-telemetry",
                "--file-prefix",
                &prefix,
            ]);
        for (i, (sock, mac)) in socks.iter().enumerate() {
            let _ = std::fs::remove_file(sock);
            cmd.arg("--vdev").arg(format!(
                "net_virtio_user{i},path={},server=1,queue_size=1024,mac={mac}",
                sock.display()
            ));
        }
        cmd.arg("--")
            .arg("-i")
            .arg(format!("--forward-mode={mode}"))
            .args(["--nb-cores", "1", "--total-num-mbufs", "8192"])
            .args(["--rxd", "1024", "--txd", "1024"])
            .args(extra)
            .env_remove("XDG_RUNTIME_DIR")
            .env("HOME", "/tmp")
            .current_dir("/tmp")
            .uid(uid)
            .gid(uid)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out);
        super::die_with_test(&mut cmd);
        let mut child = cmd.spawn().expect("spawn dpdk-testpmd (package dpdk-dev)");
        let stdin = child.stdin.take();
        let tp = UserTestpmd {
            name: name.to_string(),
            uid,
            log,
            prefix,
            socks: socks.iter().map(|(s, _)| s.clone()).collect(),
            child: Some(child),
            stdin,
        };
        if let Some(first) = tp.socks.first().cloned() {
            wait_until(&format!("testpmd {name} socket"), 60, || {
                if first.exists() {
                    Ok(())
                } else {
                    Err(tail(&tp.log, 5))
                }
            });
        }
        tp
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    pub fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                panic!(
                    "testpmd {} (uid {}) exited ({st}):\n{}",
                    self.name,
                    self.uid,
                    tail(&self.log, 60)
                );
            }
        }
    }

    /// Wait for the first prompt (every client connected, ports started).
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

    /// One command line; returns testpmd's answer.
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
            if let Some(end) = new.rfind("testpmd> ").filter(|&e| e > 0) {
                out = new[..end].to_string();
                return Ok(());
            }
            Err(new.to_string())
        });
        out
    }

    pub fn port_stats(&mut self, port: u16) -> PortStats {
        let out = self.cmd(&format!("show port stats {port}"));
        parse_port_stats(&out, port)
            .unwrap_or_else(|| panic!("no statistics for port {port} in:\n{out}"))
    }

    pub fn link_up(&mut self, port: u16) -> bool {
        self.cmd(&format!("show port info {port}"))
            .contains("Link status: up")
    }

    /// `quit`, up to 5 s, then SIGKILL; removes its sockets.
    pub fn quit(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\nquit\n");
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for s in &self.socks {
            let _ = std::fs::remove_file(s);
        }
    }
}

impl Drop for UserTestpmd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- testpmd {} (uid {}) log (last 40 lines) ---\n{}\n---",
                self.name,
                self.uid,
                tail(&self.log, 40)
            );
        }
        self.quit();
        remove_dpdk_files(&self.prefix);
        let _ = std::fs::remove_dir_all(Path::new("/tmp/dpdk").join(&self.prefix));
    }
}

/// The listener script: bind `path` (as root), chown it to `owner`, drop
/// to `uid` (setgroups, setgid, setuid), listen, then log each accepted
/// connection, any bytes received, and when the peer closed it.
const LISTENER_PY: &str = r#"
import os, selectors, socket, sys, time
path, owner, uid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chown(path, owner, owner)
if uid != 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
s.listen(16)
print("listening pid", os.getpid(), "uid", os.geteuid(), flush=True)
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ)
n = 0
opened = {}
while True:
    for key, _ in sel.select():
        if key.fileobj is s:
            c, _ = s.accept()
            n += 1
            opened[c] = (n, time.monotonic())
            sel.register(c, selectors.EVENT_READ)
            print("accepted", n, flush=True)
        else:
            c = key.fileobj
            data = c.recv(65536)
            if data:
                print("received", len(data), flush=True)
            else:
                i, t = opened.pop(c)
                sel.unregister(c)
                c.close()
                print("closed", i, "after_ms", int((time.monotonic() - t) * 1000), flush=True)
"#;

/// A Python listener on a vhost-user socket path that never speaks
/// vhost-user: it binds as root, gives the socket file to `owner`, and
/// listens as `uid`. Killed (and its socket removed) on drop.
#[derive(Debug)]
pub struct Listener {
    pub path: PathBuf,
    pub log: PathBuf,
    pub owner: u32,
    pub uid: u32,
    child: Option<Child>,
}

/// What a [`Listener`] saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections the switch closed, with how long each was open (ms).
    pub closed_after_ms: Vec<u64>,
    /// Bytes received on all connections.
    pub received: u64,
}

impl Listener {
    pub fn start(dir: &Path, name: &str, path: &Path, owner: u32, uid: u32) -> Listener {
        let script = dir.join("listener.py");
        if !script.exists() {
            std::fs::write(&script, LISTENER_PY).expect("write listener.py");
        }
        let log = dir.join(format!("listener-{name}.log"));
        let out = File::create(&log).expect("listener log");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg("-u")
            .arg(&script)
            .arg(path)
            .arg(owner.to_string())
            .arg(uid.to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out);
        super::die_with_test(&mut cmd);
        let child = cmd.spawn().expect("spawn python3");
        let mut l = Listener {
            path: path.to_path_buf(),
            log,
            owner,
            uid,
            child: Some(child),
        };
        wait_until(&format!("listener {name} to listen"), 30, || {
            l.check_alive();
            let t = std::fs::read_to_string(&l.log).unwrap_or_default();
            if t.contains("listening pid") {
                Ok(())
            } else {
                Err(t)
            }
        });
        l
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                panic!(
                    "listener on {} exited ({st}):\n{}",
                    self.path.display(),
                    tail(&self.log, 20)
                );
            }
        }
    }

    pub fn seen(&self) -> Seen {
        let t = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut s = Seen::default();
        for line in t.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                ["accepted", _] => s.accepted += 1,
                ["closed", _, "after_ms", ms] => {
                    s.closed_after_ms.push(ms.parse().unwrap_or(u64::MAX))
                }
                ["received", n] => s.received += n.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
        s
    }

    /// Kill it and remove its socket.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- listener {} log ---\n{}\n---",
                self.path.display(),
                tail(&self.log, 20)
            );
        }
        self.stop();
    }
}
