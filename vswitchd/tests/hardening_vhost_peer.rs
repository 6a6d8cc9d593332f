//! Issue 12, section 2, item 1: a VM cannot take another VM's vhost-user
//! port.
//!
//! rvswitch checks every connection of a `dpdkvhostuserclient` port, the
//! first and every reconnect, before using it (vswitchd/src/vhost_trust.rs):
//! the socket path has no symbolic link, its directory is writable by its
//! owner only, its ancestors belong to root or that owner (sticky if
//! shared), the socket belongs to that owner or root, and the process
//! listening on it (SO_PEERCRED) runs as the socket's owner or root.
//!
//! Real daemon, real peers of two uids (A = 64101, B = 64102, no passwd
//! entries needed):
//! - testpmd as uid A, in a 0700 directory of A: both ports connect, the
//!   links come up and frames cross the switch both ways; testpmd restarts
//!   and the ports reconnect; nothing is refused;
//! - then an impostor takes vhu0's socket: it binds as root, gives the
//!   socket file to A and listens as B. Every connect is refused: the
//!   impostor sees connections opened and closed at once with not one byte
//!   sent, the refusals are counted (`statistics:vhost_refused_connections`
//!   keeps growing: the check runs at every reconnect), the reason is in
//!   the interface's `error` column and in the log, and `link_state` stays
//!   down;
//! - the impostor goes, A's testpmd comes back: the port connects again;
//! - a path through a symlinked directory, a socket that is itself a
//!   symlink, and a directory writable by others are refused the same way,
//!   while the same kind of listener (root's, in a root 0755 directory) on
//!   a clean path is accepted and kept.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::vhost_peer::{owned_dir, Listener, UID_A, UID_B};
use common::*;

const M0: &str = "02:00:00:00:12:00";
const M1: &str = "02:00:00:00:12:01";

fn add_vhost(sw: &Switch, port: &str, sock: &Path) {
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        port,
        "tag=300",
        "--",
        "set",
        "Interface",
        port,
        "type=dpdkvhostuserclient",
        &format!("options:vhost-server-path={}", sock.display()),
    ]);
}

fn refused(sw: &Switch, iface: &str) -> u64 {
    sw.stat(iface, "vhost_refused_connections")
}

fn link_state(sw: &Switch, iface: &str) -> String {
    sw.iface_get(iface, "link_state")
}

/// Log lines of `sw` that contain every one of `needles`.
fn log_lines(sw: &Switch, needles: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(&std::fs::read(&sw.log).unwrap_or_default()).into_owned();
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// Wait until `listener` has seen `n` connections opened and closed by
/// the switch.
fn wait_refusals(sw: &mut Switch, listener: &mut Listener, n: usize, secs: u64) {
    wait_until(
        &format!("{n} connections refused on {}", listener.path.display()),
        secs,
        || {
            sw.check_alive();
            listener.check_alive();
            let seen = listener.seen();
            if seen.closed_after_ms.len() >= n {
                Ok(())
            } else {
                Err(format!("{seen:?}\n{}", sw.log_tail(5)))
            }
        },
    );
}

/// Everything a refusal must leave behind for `iface` (configured with
/// `path`, reaching `listener`) with `reason` in it.
fn assert_refused(
    sw: &mut Switch,
    iface: &str,
    path: &Path,
    listener: &mut Listener,
    reason: &str,
) -> u64 {
    wait_refusals(sw, listener, 2, 60);
    let seen = listener.seen();
    assert_eq!(seen.received, 0, "the switch never spoke to it: {seen:?}");
    assert!(
        seen.closed_after_ms.iter().all(|&ms| ms < 1000),
        "each connection was closed at once: {seen:?}"
    );
    let path = path.display().to_string();
    let lines = log_lines(
        sw,
        &[
            "WARN",
            &format!("vhost-user {path}: refused connection:"),
            reason,
        ],
    );
    assert!(
        !lines.is_empty(),
        "no refusal logged for {path} with {reason:?}:\n{}",
        sw.log_tail(30)
    );
    assert_eq!(link_state(sw, iface), "down");
    let n = refused(sw, iface);
    assert!(
        n >= 2,
        "statistics:vhost_refused_connections of {iface} = {n}"
    );
    let err = sw.iface_get(iface, "error");
    assert!(err.contains(reason), "error column of {iface}: {err:?}");
    eprintln!(
        "{iface}: refused {n} connections ({} seen by the listener, open {:?} ms each); error: {err}",
        seen.accepted, seen.closed_after_ms
    );
    n
}

fn start_guest(dir: &Path, name: &str, socks: &[PathBuf; 2]) -> Testpmd {
    let port = |sock: &PathBuf, mac: &str| VhostPort {
        sock: sock.clone(),
        mac: mac.to_string(),
    };
    Testpmd::vhost_server_as(
        dir,
        name,
        Some(UID_A),
        &[port(&socks[0], M0), port(&socks[1], M1)],
        "macswap",
        &[
            "--port-topology=loop",
            &format!("--eth-peer=0,{M1}"),
            &format!("--eth-peer=1,{M0}"),
        ],
    )
}

/// Frames cross the switch both ways: each guest port receives at least
/// `n` more than `base`.
fn frames_cross(sw: &mut Switch, guest: &mut Testpmd, n: u64) -> (u64, u64) {
    let base = (
        guest.port_stats(0).rx_packets,
        guest.port_stats(1).rx_packets,
    );
    guest.cmd("start tx_first");
    let got = wait_until("frames to cross the switch both ways", 120, || {
        sw.check_alive();
        let (a, b) = (
            guest.port_stats(0).rx_packets,
            guest.port_stats(1).rx_packets,
        );
        if a >= base.0 + n && b >= base.1 + n {
            Ok((a - base.0, b - base.1))
        } else {
            Err(format!("port 0 +{}, port 1 +{}", a - base.0, b - base.1))
        }
    });
    guest.cmd("stop");
    got
}

#[test]
fn the_owners_peer_connects_and_reconnects_and_an_impostor_of_another_uid_never_does() {
    let _g = serial();
    let dir = TestDir::new("vpeer");
    let vm_a = owned_dir(&dir.join("vm-a"), UID_A, 0o700);
    let socks = [vm_a.join("vhu0.sock"), vm_a.join("vhu1.sock")];

    let mut sw = Switch::start("vpeer");
    sw.add_bridge("br0", &[]);
    add_vhost(&sw, "vhu0", &socks[0]);
    add_vhost(&sw, "vhu1", &socks[1]);

    // --- A's testpmd: connects, forwards. ---
    let mut guest = start_guest(&dir.path, "a1", &socks);
    guest.wait_ready(90);
    let t = Instant::now();
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("vhu1", 60);
    let (r0, r1) = frames_cross(&mut sw, &mut guest, 1000);
    eprintln!(
        "uid {UID_A}'s testpmd: links up {:?} after its prompt; frames crossed: +{r0} / +{r1}",
        t.elapsed()
    );
    assert_eq!(refused(&sw, "vhu0"), 0);
    assert_eq!(refused(&sw, "vhu1"), 0);
    assert_eq!(sw.iface_get("vhu0", "error"), "[]");

    // --- It restarts: the ports reconnect, and still forward. ---
    guest.quit();
    wait_until("vhu0 down after testpmd quit", 30, || {
        match link_state(&sw, "vhu0").as_str() {
            "down" => Ok(()),
            s => Err(s.to_string()),
        }
    });
    let mut guest = start_guest(&dir.path, "a2", &socks);
    guest.wait_ready(90);
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("vhu1", 60);
    let (r0, r1) = frames_cross(&mut sw, &mut guest, 1000);
    eprintln!("after the restart: frames crossed again: +{r0} / +{r1}");
    assert_eq!(
        refused(&sw, "vhu0"),
        0,
        "a reconnect of the owner is not refused"
    );
    guest.quit();
    drop(guest);

    // --- An impostor: socket file of A, listening as B. ---
    let mut imp = Listener::start(&dir.path, "impostor", &socks[0], UID_A, UID_B);
    let reason = format!("runs as uid {UID_B}, but the socket belongs to uid {UID_A}");
    let n1 = assert_refused(&mut sw, "vhu0", &socks[0], &mut imp, &reason);
    // The log names the impostor's process.
    let pid = format!("(pid {})", imp.pid().expect("impostor running"));
    assert!(!log_lines(&sw, &["refused connection", &pid]).is_empty());
    // Checked at every reconnect, and it stays down meanwhile.
    let t = Instant::now();
    let so_far = imp.seen().closed_after_ms.len();
    wait_refusals(&mut sw, &mut imp, so_far + 2, 60);
    let n2 = refused(&sw, "vhu0");
    assert!(n2 >= n1 + 2, "{n1} then {n2}");
    assert_eq!(link_state(&sw, "vhu0"), "down");
    eprintln!(
        "impostor: {n1} then {n2} refusals ({:?} for 2 more); link down throughout",
        t.elapsed()
    );
    imp.stop();

    // --- The impostor is gone, A's VM comes back: connected again. ---
    let mut guest = start_guest(&dir.path, "a3", &socks);
    guest.wait_ready(90);
    let t = Instant::now();
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("vhu1", 60);
    eprintln!("owner back: vhu0 up {:?} after its prompt", t.elapsed());
    let (r0, r1) = frames_cross(&mut sw, &mut guest, 1000);
    eprintln!("frames crossed: +{r0} / +{r1}");
    assert_eq!(
        sw.iface_get("vhu0", "error"),
        "[]",
        "the refusal is history"
    );
    assert!(refused(&sw, "vhu0") >= n2, "the count is kept");
}

#[test]
fn symlinks_and_shared_directories_are_refused_and_a_clean_path_is_not() {
    let _g = serial();
    let dir = TestDir::new("vpath");
    let mut sw = Switch::start("vpath");
    sw.add_bridge("br0", &[]);

    // Control: root's listener in a root 0755 directory is accepted, and
    // the connection is kept (it never speaks vhost-user, so no link).
    let clean = owned_dir(&dir.join("clean"), 0, 0o755);
    let mut ok = Listener::start(&dir.path, "clean", &clean.join("s"), 0, 0);
    add_vhost(&sw, "ok0", &ok.path);

    // A symlinked directory on the way to the socket.
    let real = owned_dir(&dir.join("real"), 0, 0o755);
    std::os::unix::fs::symlink(&real, dir.join("link")).unwrap();
    let mut via_dir = Listener::start(&dir.path, "via-dir", &real.join("s"), 0, 0);
    let sym_dir_path = dir.join("link").join("s");
    add_vhost(&sw, "sym0", &sym_dir_path);

    // The socket itself a symlink.
    let sdir = owned_dir(&dir.join("sockdir"), 0, 0o755);
    let mut via_file = Listener::start(&dir.path, "via-file", &sdir.join("real.sock"), 0, 0);
    std::os::unix::fs::symlink(sdir.join("real.sock"), sdir.join("vhu.sock")).unwrap();
    add_vhost(&sw, "sym1", &sdir.join("vhu.sock"));

    // A directory others may write (anyone could have put the socket there).
    let shared = owned_dir(&dir.join("shared"), 0, 0o777);
    let mut in_shared = Listener::start(&dir.path, "shared", &shared.join("s"), 0, 0);
    add_vhost(&sw, "ww0", &in_shared.path);

    // The impostor-style listener behind the symlink is seen by the
    // listener at the link's target; the refusal names the link.
    let link = dir.join("link").display().to_string();
    assert_refused(
        &mut sw,
        "sym0",
        &sym_dir_path,
        &mut via_dir,
        &format!("{link} is a symbolic link"),
    );
    assert_refused(
        &mut sw,
        "sym1",
        &sdir.join("vhu.sock"),
        &mut via_file,
        &format!("{} is a symbolic link", sdir.join("vhu.sock").display()),
    );
    let shared_sock = in_shared.path.clone();
    assert_refused(
        &mut sw,
        "ww0",
        &shared_sock,
        &mut in_shared,
        &format!(
            "the socket's directory {} is writable by group or others (mode 0777)",
            shared.display()
        ),
    );

    // The clean path: one connection, accepted and still open.
    wait_until("the clean listener to be connected", 30, || {
        ok.check_alive();
        let s = ok.seen();
        if s.accepted >= 1 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    });
    std::thread::sleep(Duration::from_secs(3));
    let s = ok.seen();
    assert_eq!(
        (s.accepted, s.closed_after_ms.len()),
        (1, 0),
        "accepted once and kept: {s:?}"
    );
    assert_eq!(refused(&sw, "ok0"), 0);
    assert_eq!(sw.iface_get("ok0", "error"), "[]");
    assert!(log_lines(
        &sw,
        &[&format!("vhost-user {}: refused", ok.path.display())]
    )
    .is_empty());
}
