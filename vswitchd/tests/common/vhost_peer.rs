//! vhost-user peers of chosen uids for the vhost peer-check tests
//! (`hardening_vhost_peer`): directories owned by a uid with a chosen mode,
//! and a small Python listener that binds a socket, gives the file to one
//! uid and listens as another (the impostor) and logs every connection it
//! accepts and when it was closed. A legitimate guest is
//! `Testpmd::vhost_server_as` with the VM's uid.

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
