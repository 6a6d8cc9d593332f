//! Persistence hardening through the public API: a link planted at the old
//! predictable temporary name is never followed, failures say whether the
//! configuration changed, and the state-directory lock holds against
//! another process.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use ctl::store::{self, LockError, SaveError};

fn db(tag: &str) -> ctl::db::Db {
    let mut db = ctl::db::Db::new(ctl::env::random_uuid());
    db.other_config.insert("tag".into(), tag.into());
    db
}

#[test]
fn a_link_at_the_old_temporary_name_is_not_followed() {
    let dir = TempDir::new("planted-link");
    let path = store::config_path(&dir.0);
    let victim = dir.0.join("victim");
    fs::write(&victim, b"precious").unwrap();
    // Earlier versions opened this exact name with O_TRUNC, following links.
    std::os::unix::fs::symlink(&victim, store::temp_path(&path)).unwrap();

    store::save(&path, &db("one")).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious", "target untouched");
    assert_eq!(
        store::load(&path).unwrap().unwrap().other_config["tag"],
        "one"
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The planted link is gone (unlinked, not followed) and no temporary
    // file of ours is left.
    let mut names: Vec<String> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["conf.json", "victim"]);
}

#[test]
fn a_save_that_cannot_start_says_the_configuration_did_not_change() {
    let dir = TempDir::new("notsaved");
    let path = dir.0.join("missing").join("conf.json");
    let e = store::save(&path, &db("x")).unwrap_err();
    assert!(matches!(e, SaveError::NotSaved { .. }), "{e:?}");
    assert!(!e.changed());
    assert!(
        e.to_string().starts_with(&format!(
            "configuration not changed: cannot save {}: No such file or directory",
            path.display()
        )),
        "{e}"
    );
}

#[test]
fn another_process_holding_the_lock_is_named_by_its_pid() {
    let dir = TempDir::new("lock-other");
    let lock = dir.0.join(store::LOCK_FILE);
    // A process that writes its pid and then holds the lock (flock(1)
    // keeps the pid of the shell it replaces).
    let mut holder = Command::new("sh");
    holder
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec flock -o '{}' sleep 30",
            lock.display(),
            lock.display()
        ))
        .stdin(Stdio::null())
        .process_group(0);
    let mut holder = holder.spawn().expect("sh and flock(1)");
    let pid = holder.id();
    // Wait until it holds the lock (flock -n fails), without touching it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = Command::new("flock")
            .args(["-n", lock.to_str().unwrap(), "true"])
            .status()
            .unwrap();
        if probe.code() == Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "the holder never locked");
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = store::lock_state_dir(&dir.0).unwrap_err();
    assert!(
        matches!(&e, LockError::InUse { pid: Some(p), .. } if *p == pid),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("state directory {} is in use by pid {pid}", dir.0.display())
    );
    // SAFETY: kill has no memory-safety preconditions; the group is the
    // one the holder leads (flock and its sleep).
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    let _ = holder.wait();
    // The holder is gone, so is its lock, whatever the file still says.
    let l = store::lock_state_dir(&dir.0).expect("free after the holder died");
    assert_eq!(
        fs::read_to_string(&lock).unwrap(),
        format!("{}\n", std::process::id())
    );
    drop(l);
}
