//! One daemon at a time per state directory: an exclusive `flock` on
//! [`LOCK_FILE`], which holds the owner's pid.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LOCK_FILE;

/// Why [`lock_state_dir`] failed.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    InUse {
        /// The state directory.
        dir: PathBuf,
        /// The holder's pid, as it wrote it (`None` if not written yet).
        pid: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        err: io::Error,
    },
}

impl fmt::Display for LockError {
    /// A sentence for after `vswitchd: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::InUse { dir, pid: Some(p) } => {
                write!(f, "state directory {} is in use by pid {p}", dir.display())
            }
            LockError::InUse { dir, pid: None } => write!(
                f,
                "state directory {} is in use by another process",
                dir.display()
            ),
            LockError::Io { path, err } => write!(f, "cannot lock {}: {err}", path.display()),
        }
    }
}

impl std::error::Error for LockError {}

/// The exclusive hold of one process on a state directory, from
/// [`lock_state_dir`]. Released when dropped or when the process exits
/// (however it exits); the lock file stays.
#[derive(Debug)]
pub struct StateDirLock {
    /// Held open: the lock lives as long as this descriptor.
    _file: File,
    path: PathBuf,
}

impl StateDirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How long [`lock_state_dir`] waits for a holder that has the lock but
/// has not written its pid yet.
const PID_WAIT: Duration = Duration::from_millis(500);
/// How long to wait for a holder that is exiting to let go.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// Take the state directory `dir` for this process: an exclusive, non-blocking
/// `flock` on `dir/`[`LOCK_FILE`] (created mode 0644 if missing, never
/// through a link), which then holds this process's pid. Fails with
/// [`LockError::InUse`] naming the holder's pid when another process has
/// it. Take it after any fork, in the process that stays.
pub fn lock_state_dir(dir: &Path) -> Result<StateDirLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let io_err = |err| LockError::Io {
        path: path.clone(),
        err,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    // A daemon killed just now may still hold the lock while its last
    // threads exit (its main thread already a zombie): wait for that, but
    // not for a live holder.
    let exit_deadline = Instant::now() + EXIT_WAIT;
    while !try_flock(&file).map_err(io_err)? {
        let deadline = Instant::now() + PID_WAIT;
        let pid = loop {
            let pid = read_pid(&mut file);
            if pid.is_some() || Instant::now() >= deadline {
                break pid;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if pid.is_some_and(exiting) && Instant::now() < exit_deadline {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        return Err(LockError::InUse {
            dir: dir.to_path_buf(),
            pid,
        });
    }
    file.set_len(0).map_err(io_err)?;
    file.rewind().map_err(io_err)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(io_err)?;
    Ok(StateDirLock { _file: file, path })
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` if another open file holds it.
pub(super) fn try_flock(file: &File) -> io::Result<bool> {
    loop {
        // SAFETY: the descriptor is open and owned by `file` for the call;
        // flock has no memory-safety preconditions.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// Whether `pid` is gone or exiting (a zombie whose other threads may
/// still hold its files).
fn exiting(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(st) => st
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        Err(_) => true,
    }
}

/// The pid in the lock file, if it holds one.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut buf = Vec::new();
    file.rewind().ok()?;
    file.take(64).read_to_end(&mut buf).ok()?;
    std::str::from_utf8(&buf).ok()?.trim().parse().ok()
}
