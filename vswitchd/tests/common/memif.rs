//! memif peers for the daemon's tests: `dpdk-testpmd` with `net_memif`
//! ports in the client role (rvswitch serves the sockets), driven through
//! its stdin, and bare `SOCK_SEQPACKET` clients.
//!
//! Unlike [`super::Testpmd`], [`MemifPeer`] never panics when testpmd
//! dies: DPDK 22.11's memif client has races of its own (a `port stop`
//! while its interrupt thread handles a message dereferences a NULL
//! control channel in `memif_msg_enq`), and a test that stops and starts
//! the peer many times restarts it and counts.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::{die_with_test, remove_dpdk_files, tail};

/// devargs of an rvswitch memif port serving `sock` (a socket file).
pub fn server_devargs(n: u32, sock: &Path) -> String {
    format!(
        "net_memif{n},role=server,socket={},socket-abstract=no",
        sock.display()
    )
}

/// An interactive testpmd whose ports are memif clients of `socks`.
#[derive(Debug)]
pub struct MemifPeer {
    pub name: String,
    pub log: PathBuf,
    pub prefix: String,
    socks: Vec<PathBuf>,
    queues: u16,
    extra: Vec<String>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    /// Times testpmd died and was started again.
    pub restarts: u32,
}

impl MemifPeer {
    /// Start testpmd (both lcores on core 0, `--in-memory`, its own file
    /// prefix) with one memif client port per socket, `queues` rx and tx
    /// queues each; `extra` goes after `--` (e.g. `--forward-mode=txonly`).
    /// Does not wait for its prompt: see [`MemifPeer::wait_ready`].
    pub fn start(
        dir: &Path,
        name: &str,
        socks: &[PathBuf],
        queues: u16,
        extra: &[&str],
    ) -> MemifPeer {
        let mut p = MemifPeer {
            name: name.to_string(),
            log: dir.join(format!("memif-peer-{name}.log")),
            prefix: super::name(&format!("mp-{name}")),
            socks: socks.to_vec(),
            queues,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            stdin: None,
            restarts: 0,
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        remove_dpdk_files(&self.prefix);
        let out = File::create(&self.log).expect("create memif peer log");
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "-eL", "dpdk-testpmd", "--lcores", "0@0,1@0"])
            .args([
                "--in-memory",
                "--single-file-segments",
                "--no-pci",
                "--no-telemetry",
                "--file-prefix",
                &self.prefix,
            ]);
        for (i, s) in self.socks.iter().enumerate() {
            cmd.arg("--vdev").arg(format!(
                "net_memif{i},role=client,socket={},socket-abstract=no",
                s.display()
            ));
        }
        cmd.arg("--")
            .arg("-i")
            .args(["--nb-cores", "1", "--total-num-mbufs", "16384"])
            .arg(format!("--rxq={}", self.queues))
            .arg(format!("--txq={}", self.queues))
            .args(&self.extra)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out);
        die_with_test(&mut cmd);
        let mut child = cmd
            .spawn()
            .expect("spawn dpdk-testpmd (Debian package dpdk-dev)");
        self.stdin = child.stdin.take();
        self.child = Some(child);
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Whether testpmd still runs.
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Wait for testpmd's first prompt.
    pub fn wait_ready(&mut self, secs: u64) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.log_text().contains("testpmd> ") {
                return Ok(());
            }
            if !self.alive() {
                return Err(format!("testpmd exited:\n{}", tail(&self.log, 30)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "no prompt after {secs} s:\n{}",
            tail(&self.log, 30)
        ))
    }

    /// Send a command line and wait (up to 30 s) for the next prompt;
    /// returns testpmd's answer, or why there is none (it died).
    pub fn cmd(&mut self, line: &str) -> Result<String, String> {
        let start = self.log_text().len();
        let Some(stdin) = self.stdin.as_mut() else {
            return Err("testpmd is not running".into());
        };
        if let Err(e) = stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|_| stdin.flush())
        {
            return Err(format!("write {line:?}: {e}"));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let text = self.log_text();
            let new = text.get(start..).unwrap_or("");
            if let Some(end) = new.rfind("testpmd> ").filter(|&e| e > 0) {
                return Ok(new[..end].to_string());
            }
            if !self.alive() {
                return Err(format!(
                    "testpmd died during {line:?}:\n{}",
                    tail(&self.log, 15)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!("no answer to {line:?}:\n{}", tail(&self.log, 15)))
    }

    /// Kill it (if it runs) and start it again, waiting for its prompt.
    pub fn restart(&mut self) {
        self.kill();
        self.restarts += 1;
        self.spawn();
        self.wait_ready(60)
            .unwrap_or_else(|e| panic!("memif peer {} did not restart: {e}", self.name));
    }

    fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        remove_dpdk_files(&self.prefix);
    }

    /// Quit: `quit`, up to 5 s, then SIGKILL.
    pub fn quit(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\nquit\n");
        }
        if let Some(c) = self.child.as_mut() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }
}

impl Drop for MemifPeer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- memif peer {} log (last 30 lines) ---\n{}\n---",
                self.name,
                tail(&self.log, 30)
            );
        }
        self.quit();
    }
}

/// Connect a `SOCK_SEQPACKET` client to the socket file `path` and close
/// it at once: a memif peer that goes before the server's HELLO.
pub fn connect_and_close(path: &Path) -> std::io::Result<()> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.len() >= sa.sun_path.len() {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (d, s) in sa.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: `sa` is a valid, NUL-terminated sockaddr_un; `fd` is open.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    drop(fd);
    Ok(())
}
