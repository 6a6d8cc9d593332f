//! Persistence: the database as a versioned JSON file, written atomically.
//!
//! ```json
//! {"format": "rvswitch-config", "version": 1, "db": { ... }}
//! ```
//!
//! [`save`] writes a temporary file in the same directory, fsyncs it,
//! renames it over the target and fsyncs the directory, so after a crash
//! (even `kill -9` or power loss) the file holds either the old or the new
//! configuration. [`load`] never writes: a corrupt file or an unknown
//! version is reported and left alone for a human to look at.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
    fn is_directory(&self, _path: &str) -> bool {
        false
    }
}

/// The temporary file [`save`] writes next to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| CONFIG_FILE.to_string());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Save `db` to `path` atomically (temp file, fsync, rename, fsync dir).
/// The file is created mode 0600.
pub fn save(path: &Path, db: &Db) -> io::Result<()> {
    let mut text = serde_json::to_vec_pretty(&FileOut {
        format: FORMAT,
        version: VERSION,
        db,
    })
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    text.push(b'\n');
    let tmp = temp_path(path);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
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
    use super::*;

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
