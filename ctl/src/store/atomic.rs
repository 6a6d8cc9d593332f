//! Replacing a file atomically in the state directory: a unique temporary
//! file created with `O_CREAT|O_EXCL|O_NOFOLLOW` (mode 0600), fsync,
//! rename, directory fsync; and [`SaveError`], which says whether the
//! file changed.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::CONFIG_FILE;

/// The prefix of the temporary files [`save`] writes next to `path`
/// (`.conf.json.tmp`; each save appends a unique suffix). It was the whole
/// temporary name in earlier versions; leftovers starting with it (from a
/// crash during a save) are removed by the next successful save.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| CONFIG_FILE.to_string());
    path.with_file_name(format!(".{name}.tmp"))
}

/// A fresh temporary name next to `path`: [`temp_path`] plus the pid, a
/// counter and 64 random bits.
pub(super) fn unique_temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r = crate::env::random_uuid().0;
    let mut rand = String::new();
    for b in &r[..8] {
        rand.push_str(&format!("{b:02x}"));
    }
    let mut name = temp_path(path).into_os_string();
    name.push(format!(".{}.{n}.{rand}", std::process::id()));
    PathBuf::from(name)
}

/// Why [`save`] failed, and whether the configuration changed.
#[derive(Debug)]
pub enum SaveError {
    /// The file was not replaced: the old configuration is still in force
    /// (on disk and after a crash).
    NotSaved {
        /// The configuration file.
        path: PathBuf,
        /// What failed.
        err: io::Error,
    },
    /// The file was replaced, so the new configuration is in force, but
    /// its directory could not be synced: after a power failure the old
    /// one may come back.
    NotDurable {
        /// The configuration file.
        path: PathBuf,
        /// What failed.
        err: io::Error,
    },
}

impl SaveError {
    /// Whether the configuration file now holds the new configuration.
    pub fn changed(&self) -> bool {
        matches!(self, SaveError::NotDurable { .. })
    }

    /// What failed, without what it means for the configuration (for a
    /// caller that words that part itself, as `ctl::proto::CommitError`
    /// does): `PATH: ERROR` when not saved, `syncing DIR failed: ERROR`
    /// when not durable. [`Display`](fmt::Display) gives the whole
    /// sentence.
    pub fn reason(&self) -> String {
        match self {
            SaveError::NotSaved { path, err } => format!("{}: {err}", path.display()),
            SaveError::NotDurable { path, err } => {
                format!("syncing {} failed: {err}", dir_of(path).display())
            }
        }
    }

    /// The underlying error.
    pub fn io_error(&self) -> &io::Error {
        match self {
            SaveError::NotSaved { err, .. } | SaveError::NotDurable { err, .. } => err,
        }
    }
}

impl fmt::Display for SaveError {
    /// A sentence for after `vsctl: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::NotSaved { path, err } => write!(
                f,
                "configuration not changed: cannot save {}: {err}",
                path.display()
            ),
            SaveError::NotDurable { path, err } => write!(
                f,
                "configuration changed and saved to {}, but syncing {} failed ({err}): the change may be lost if the machine loses power",
                path.display(),
                dir_of(path).display()
            ),
        }
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.io_error())
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Make a rename in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// How many fresh names [`save`] tries when one is taken.
const TEMP_ATTEMPTS: usize = 8;

/// Replace `path` with `bytes` the way [`save`] replaces the
/// configuration (unique temporary file created with `O_EXCL|O_NOFOLLOW`,
/// mode 0600, fsync, rename, directory fsync): afterwards `path` holds the
/// old or the new bytes, never a mix. For other state the daemon keeps in
/// its state directory; [`SaveError::reason`] says what failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SaveError> {
    write_atomic_with(path, bytes, &unique_temp_path, &sync_dir)
}

pub(super) fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    temp_name: &dyn Fn(&Path) -> PathBuf,
    sync: &dyn Fn(&Path) -> io::Result<()>,
) -> Result<(), SaveError> {
    let not_saved = |err: io::Error| SaveError::NotSaved {
        path: path.to_path_buf(),
        err,
    };
    let (tmp, mut f) = create_temp(path, temp_name).map_err(not_saved)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(not_saved(e));
    }
    remove_leftovers(path);
    sync(dir_of(path)).map_err(|err| SaveError::NotDurable {
        path: path.to_path_buf(),
        err,
    })
}

/// Create a new temporary file (never an existing file, never through a
/// link), trying a few names.
fn create_temp(path: &Path, temp_name: &dyn Fn(&Path) -> PathBuf) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_name(path);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary name available")))
}

/// Remove temporary files a crashed save left next to `path` (unlink only:
/// a link is removed, never followed).
fn remove_leftovers(path: &Path) {
    let tmp = temp_path(path);
    let Some(prefix) = tmp.file_name() else {
        return;
    };
    let dir = dir_of(path);
    let prefix = prefix.as_encoded_bytes();
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if name.as_encoded_bytes().starts_with(prefix) && e.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = fs::remove_file(e.path());
        }
    }
}
