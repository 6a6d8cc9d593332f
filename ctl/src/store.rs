//! Persistence: the database as a versioned JSON file, written atomically.
//!
//! ```json
//! {"format": "rvswitch-config", "version": 1, "db": { ... }}
//! ```
//!
//! [`save`] writes a temporary file in the same directory, fsyncs it,
//! renames it over the target and fsyncs the directory, so after a crash
//! (even `kill -9` or power loss) the file holds either the old or the new
//! configuration. The temporary file has a fresh random name and is
//! created with `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600: a file or symbolic
//! link planted under a predictable name is never followed, truncated or
//! written. Its error, [`SaveError`], says whether the configuration
//! changed: a failure before the rename leaves the old file in force
//! ([`SaveError::NotSaved`]); a failure to sync the directory after it
//! leaves the new file in force but perhaps not durable
//! ([`SaveError::NotDurable`]).
//!
//! [`load`] never writes: a corrupt file or an unknown version is reported
//! and left alone for a human to look at.
//!
//! [`lock_state_dir`] gives one daemon at a time the state directory: an
//! exclusive `flock` on [`LOCK_FILE`], which holds the owner's pid.

mod atomic;
mod lock;

pub use atomic::{temp_path, write_atomic, SaveError};
pub use lock::{lock_state_dir, LockError, StateDirLock};

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use atomic::{sync_dir, unique_temp_path, write_atomic_with};
use serde::Serialize;
use serde_json::Value;

use crate::db::Db;
use crate::env::Env;
use crate::validate::validate;

/// The `format` tag of the file.
pub const FORMAT: &str = "rvswitch-config";
/// The file format version this build writes and reads.
pub const VERSION: u64 = 1;
/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/rvswitch";
/// Environment variable overriding the state directory.
pub const STATE_DIR_ENV: &str = "RVSWITCH_STATE_DIR";
/// The configuration file name inside the state directory.
pub const CONFIG_FILE: &str = "conf.json";
/// Largest configuration file [`load`] accepts.
pub const MAX_FILE_SIZE: u64 = 64 << 20;
/// The lock file inside the state directory ([`lock_state_dir`]).
pub const LOCK_FILE: &str = "vswitchd.lock";

/// Why the configuration file could not be loaded.
#[derive(Debug)]
pub enum StoreError {
    /// Reading failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        err: io::Error,
    },
    /// The file is not a valid configuration (truncated, edited wrongly, ...).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file was written by another rvswitch version.
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// Its `format` tag.
        format: String,
        /// Its version.
        version: Option<u64>,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, err } => write!(f, "cannot read {}: {err}", path.display()),
            StoreError::Corrupt { path, reason } => write!(
                f,
                "configuration file {} is corrupt ({reason}); it was left untouched: repair it or move it away to start empty",
                path.display()
            ),
            StoreError::UnknownVersion {
                path,
                format,
                version,
            } => {
                let v = version.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
                write!(
                    f,
                    "configuration file {} has format \"{format}\" version {v}, but this rvswitch reads \"{FORMAT}\" version {VERSION}; it was left untouched",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u64,
    db: &'a Db,
}

/// Load the configuration from `path`. `Ok(None)` if the file does not
/// exist. The loaded database is validated (without host checks).
pub fn load(path: &Path) -> Result<Option<Db>, StoreError> {
    let io_err = |err| StoreError::Io {
        path: path.to_path_buf(),
        err,
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if !meta.is_file() {
        return Err(corrupt("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(corrupt(format!("{} bytes is too large", meta.len())));
    }
    let bytes = fs::read(path).map_err(io_err)?;
    if bytes.is_empty() {
        return Err(corrupt("the file is empty".into()));
    }
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| corrupt("the top level is not a JSON object".into()))?;
    let format = obj
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let version = obj.get("version").and_then(Value::as_u64);
    if format != FORMAT || version != Some(VERSION) {
        return Err(StoreError::UnknownVersion {
            path: path.to_path_buf(),
            format,
            version,
        });
    }
    let dbv = obj
        .get("db")
        .cloned()
        .ok_or_else(|| corrupt("no \"db\" member".into()))?;
    let db: Db = serde_json::from_value(dbv).map_err(|e| corrupt(format!("bad database: {e}")))?;
    validate(None, &db, &NoHostChecks).map_err(|e| corrupt(format!("invalid database: {e}")))?;
    Ok(Some(db))
}

/// [`load`], or a new empty database (with a random root id) when the
/// file does not exist yet. Nothing is written.
pub fn load_or_new(path: &Path) -> Result<Db, StoreError> {
    Ok(load(path)?.unwrap_or_else(|| Db::new(crate::env::random_uuid())))
}

/// Loading must not depend on the host's current state.
struct NoHostChecks;

impl Env for NoHostChecks {
    fn is_host_nic(&self, _pci: &str) -> bool {
        false
    }
    fn pci_device_exists(&self, _pci: &str) -> bool {
        true
    }
    fn is_directory(&self, _path: &str) -> bool {
        false
    }
}

/// Save `db` to `path` atomically (unique temp file, fsync, rename, fsync
/// dir). The file is created mode 0600. See [`SaveError`] for what a
/// failure means.
pub fn save(path: &Path, db: &Db) -> Result<(), SaveError> {
    save_with(path, db, &unique_temp_path, &sync_dir)
}

/// [`save`] with its temporary naming and directory sync given (tests
/// replace them).
fn save_with(
    path: &Path,
    db: &Db,
    temp_name: &dyn Fn(&Path) -> PathBuf,
    sync: &dyn Fn(&Path) -> io::Result<()>,
) -> Result<(), SaveError> {
    let mut text = serde_json::to_vec_pretty(&FileOut {
        format: FORMAT,
        version: VERSION,
        db,
    })
    .map_err(|e| SaveError::NotSaved {
        path: path.to_path_buf(),
        err: io::Error::new(io::ErrorKind::InvalidData, e),
    })?;
    text.push(b'\n');
    write_atomic_with(path, &text, temp_name, sync)
}

/// The state directory: `flag` (the daemon's `--state-dir`), else
/// `$RVSWITCH_STATE_DIR`, else `/var/lib/rvswitch`.
pub fn resolve_state_dir(flag: Option<&Path>) -> PathBuf {
    resolve_state_dir_from(
        flag,
        std::env::var_os(STATE_DIR_ENV).as_deref().map(Path::new),
    )
}

/// [`resolve_state_dir`] with the environment value given explicitly.
pub fn resolve_state_dir_from(flag: Option<&Path>, env: Option<&Path>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .or(env.filter(|p| !p.as_os_str().is_empty()))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The configuration file inside `state_dir`.
pub fn config_path(state_dir: &Path) -> PathBuf {
    state_dir.join(CONFIG_FILE)
}

#[cfg(test)]
mod tests {
    use super::lock::try_flock;
    use super::*;
    use std::fs::File;
    use std::os::unix::fs::PermissionsExt;

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(what: &str) -> Scratch {
            let d = std::env::temp_dir()
                .join(format!("rvswitch-store-unit-{}-{what}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn db(name: &str) -> Db {
        let mut db = Db::new(crate::env::random_uuid());
        db.other_config.insert("test".into(), name.into());
        db
    }

    fn no_sync(_: &Path) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }

    #[test]
    fn a_failed_directory_sync_after_the_rename_says_the_configuration_changed() {
        let d = Scratch::new("notdurable");
        let path = config_path(&d.0);
        save(&path, &db("old")).unwrap();
        let e = save_with(&path, &db("new"), &unique_temp_path, &no_sync).unwrap_err();
        assert!(matches!(e, SaveError::NotDurable { .. }), "{e:?}");
        assert!(e.changed());
        assert_eq!(e.io_error().raw_os_error(), Some(libc::EIO));
        assert_eq!(
            load(&path).unwrap().unwrap().other_config["test"],
            "new",
            "the new configuration is the one on disk"
        );
        let text = e.to_string();
        assert!(
            text.starts_with("configuration changed and saved to ")
                && text.contains("may be lost if the machine loses power"),
            "{text}"
        );
        assert!(!text.contains("not changed"), "{text}");
        assert_eq!(
            e.reason(),
            format!("syncing {} failed: {}", d.0.display(), e.io_error())
        );
    }

    #[test]
    fn a_failure_before_the_rename_says_nothing_changed_and_leaves_the_old_file() {
        let d = Scratch::new("notsaved");
        let path = config_path(&d.0);
        let old = db("old");
        save(&path, &old).unwrap();
        let before = fs::read(&path).unwrap();
        let nowhere = |_: &Path| d.0.join("missing-dir/tmp");
        let e = save_with(&path, &db("new"), &nowhere, &sync_dir).unwrap_err();
        assert!(matches!(e, SaveError::NotSaved { .. }), "{e:?}");
        assert!(!e.changed());
        assert!(
            e.reason().starts_with(&format!("{}: ", path.display())),
            "{}",
            e.reason()
        );
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(
            e.to_string().starts_with(&format!(
                "configuration not changed: cannot save {}: ",
                path.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn a_planted_link_or_file_at_the_temporary_name_is_never_followed_or_truncated() {
        let d = Scratch::new("planted");
        let path = config_path(&d.0);
        let victim = d.0.join("victim");
        fs::write(&victim, b"precious").unwrap();
        let planted = d.0.join(".conf.json.tmp.guess");
        let guess = |_: &Path| planted.clone();

        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let e = save_with(&path, &db("a"), &guess, &sync_dir).unwrap_err();
        assert!(
            matches!(&e, SaveError::NotSaved { err, .. } if err.kind() == io::ErrorKind::AlreadyExists),
            "{e:?}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!path.exists(), "nothing saved");

        fs::remove_file(&planted).unwrap();
        fs::write(&planted, b"keep").unwrap();
        let e = save_with(&path, &db("a"), &guess, &sync_dir).unwrap_err();
        assert!(matches!(e, SaveError::NotSaved { .. }), "{e:?}");
        assert_eq!(fs::read(&planted).unwrap(), b"keep");

        // A fresh name after a taken one: saved; the leftover is unlinked
        // (the link itself, never its target).
        fs::remove_file(&planted).unwrap();
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let tries = std::cell::Cell::new(0);
        let then_fresh = |p: &Path| {
            tries.set(tries.get() + 1);
            if tries.get() == 1 {
                planted.clone()
            } else {
                unique_temp_path(p)
            }
        };
        save_with(&path, &db("b"), &then_fresh, &sync_dir).unwrap();
        assert_eq!(tries.get(), 2);
        assert_eq!(load(&path).unwrap().unwrap().other_config["test"], "b");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&planted).is_err(), "leftover removed");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn temporary_names_are_unique_and_share_the_prefix() {
        let p = Path::new("/x/conf.json");
        let (a, b) = (unique_temp_path(p), unique_temp_path(p));
        assert_ne!(a, b);
        for t in [&a, &b] {
            let n = t.file_name().unwrap().to_str().unwrap();
            assert!(n.starts_with(".conf.json.tmp."), "{n}");
            assert_eq!(t.parent(), Some(Path::new("/x")));
        }
    }

    #[test]
    fn one_holder_of_the_state_directory_at_a_time() {
        let d = Scratch::new("lock");
        let held = lock_state_dir(&d.0).unwrap();
        assert_eq!(held.path(), d.0.join(LOCK_FILE));
        assert_eq!(
            fs::read_to_string(d.0.join(LOCK_FILE)).unwrap(),
            format!("{}\n", std::process::id())
        );
        // flock belongs to the open file, so a second open in this process
        // is refused like another process would be.
        let e = lock_state_dir(&d.0).unwrap_err();
        assert!(
            matches!(&e, LockError::InUse { pid: Some(p), .. } if *p == std::process::id()),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "state directory {} is in use by pid {}",
                d.0.display(),
                std::process::id()
            )
        );
        drop(held);
        let again = lock_state_dir(&d.0).unwrap();
        drop(again);
    }

    #[test]
    fn a_holder_that_has_not_written_its_pid_is_still_a_holder() {
        let d = Scratch::new("lock-nopid");
        let f = File::create(d.0.join(LOCK_FILE)).unwrap();
        assert!(try_flock(&f).unwrap());
        let e = lock_state_dir(&d.0).unwrap_err();
        assert!(matches!(e, LockError::InUse { pid: None, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "state directory {} is in use by another process",
                d.0.display()
            )
        );
    }

    #[test]
    fn the_lock_file_is_never_opened_through_a_link() {
        let d = Scratch::new("lock-link");
        let victim = d.0.join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.0.join(LOCK_FILE)).unwrap();
        let e = lock_state_dir(&d.0).unwrap_err();
        assert!(
            matches!(&e, LockError::Io { err, .. } if err.raw_os_error() == Some(libc::ELOOP)),
            "{e:?}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn state_dir_resolution_order() {
        let flag = Path::new("/flag");
        let env = Path::new("/env");
        assert_eq!(
            resolve_state_dir_from(Some(flag), Some(env)),
            PathBuf::from("/flag")
        );
        assert_eq!(
            resolve_state_dir_from(None, Some(env)),
            PathBuf::from("/env")
        );
        assert_eq!(
            resolve_state_dir_from(None, None),
            PathBuf::from(DEFAULT_STATE_DIR)
        );
        assert_eq!(
            resolve_state_dir_from(None, Some(Path::new(""))),
            PathBuf::from(DEFAULT_STATE_DIR)
        );
        assert_eq!(config_path(flag), PathBuf::from("/flag/conf.json"));
        assert_eq!(
            temp_path(Path::new("/x/conf.json")),
            PathBuf::from("/x/.conf.json.tmp")
        );
    }
}
