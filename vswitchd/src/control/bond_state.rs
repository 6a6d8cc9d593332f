//! The bonds' run-time state kept across restarts, so that a bonded VM or
//! switch does not notice a restart of the daemon: per bond, what its LACP
//! machine needs to resume without renegotiating ([`LacpSaved`]) and its
//! bucket table ([`BondSaved`]), in `<state dir>/bonds.json`.
//!
//! The file is written atomically whenever that state changes (a member
//! enabled or disabled, a new partner, buckets moved: never per packet, and
//! never on a timer) and read once at start. A missing, unreadable or
//! stale file only means a normal negotiation: `Lacp::resume` takes the
//! saved state only under an identical configuration, and a member resumes
//! only once the partner's first LACPDU confirms the saved partner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datapath::bond::BondSaved;
use datapath::lacp::LacpSaved;
use serde::{Deserialize, Serialize};

/// The file name in the state directory.
pub const FILE: &str = "bonds.json";
/// The `format` tag of the file.
const FORMAT: &str = "rvswitch-bond-state";
/// The version this build writes and reads.
const VERSION: u64 = 1;

/// One bond's saved state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedBond {
    /// LACP, unless `lacp=off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacp: Option<LacpSaved>,
    /// The bucket table of a load-balancing bond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<BondSaved>,
}

/// Every bond's saved state, by port name.
pub type SavedBonds = BTreeMap<String, SavedBond>;

#[derive(Serialize, Deserialize)]
struct FileForm {
    format: String,
    version: u64,
    bonds: SavedBonds,
}

/// The file and what was last written to it.
#[derive(Debug)]
pub struct BondStateFile {
    path: PathBuf,
    written: SavedBonds,
}

impl BondStateFile {
    /// The file in `state_dir`, and what it holds (empty when it is
    /// missing or unreadable; a problem is logged, never fatal).
    pub fn open(state_dir: &Path) -> (BondStateFile, SavedBonds) {
        let path = state_dir.join(FILE);
        let saved = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<FileForm>(&bytes) {
                Ok(f) if f.format == FORMAT && f.version == VERSION => f.bonds,
                Ok(f) => {
                    crate::warn!(
                        "{}: format \"{}\" version {} is not this build's; bonds will negotiate",
                        path.display(),
                        f.format,
                        f.version
                    );
                    SavedBonds::new()
                }
                Err(e) => {
                    crate::warn!("{}: unreadable ({e}); bonds will negotiate", path.display());
                    SavedBonds::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SavedBonds::new(),
            Err(e) => {
                crate::warn!("{}: {e}; bonds will negotiate", path.display());
                SavedBonds::new()
            }
        };
        let file = BondStateFile {
            path,
            written: saved.clone(),
        };
        (file, saved)
    }

    /// Write `now` if it differs from what was last written.
    pub fn update(&mut self, now: SavedBonds) {
        if now == self.written {
            return;
        }
        let form = FileForm {
            format: FORMAT.into(),
            version: VERSION,
            bonds: now,
        };
        let bytes = match serde_json::to_vec_pretty(&form) {
            Ok(b) => b,
            Err(e) => {
                crate::error!("{}: cannot encode: {e}", self.path.display());
                return;
            }
        };
        // Written or not, do not retry until the state changes again: a
        // failing disk must not cost a write per tick.
        self.written = form.bonds;
        if let Err(e) = ctl::store::write_atomic(&self.path, &bytes) {
            crate::warn!("bond state not saved: {}", e.reason());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "rvs-bondstate-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_and_bad_files_mean_nothing_saved() {
        let d = tempdir();
        let (mut f, saved) = BondStateFile::open(&d);
        assert!(saved.is_empty());
        let mut s = SavedBonds::new();
        s.insert(
            "bond0".into(),
            SavedBond {
                lacp: None,
                buckets: Some(BondSaved {
                    mode: datapath::bond::BondMode::BalanceTcp,
                    hash_basis: 7,
                    buckets: vec![Some(3); 256],
                }),
            },
        );
        f.update(s.clone());
        let (_, back) = BondStateFile::open(&d);
        assert_eq!(back, s);
        // Unchanged: not written again.
        let before = std::fs::metadata(d.join(FILE)).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.update(s);
        let after = std::fs::metadata(d.join(FILE)).unwrap().modified().unwrap();
        assert_eq!(before, after);
        for junk in ["", "{", "{\"format\":\"x\",\"version\":1,\"bonds\":{}}"] {
            std::fs::write(d.join(FILE), junk).unwrap();
            assert!(BondStateFile::open(&d).1.is_empty(), "{junk}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
