//! Issue 6, item 2: the control socket against unwanted, oversize and slow
//! clients, through the real daemon.
//!
//! - A non-root user is refused twice over: the socket is mode 0600 (the
//!   kernel refuses the connection), and if its mode is ever loosened the
//!   daemon checks the peer's uid (`SO_PEERCRED`) and answers why. Either
//!   way vsctl exits non-zero and the configuration does not change.
//! - A request over 1 MiB (from vsctl, or raw bytes with no end) gets
//!   "request too large"; the daemon stays up and keeps answering.
//! - Slow and silent clients cannot lock others out: with all 8 connection
//!   slots held by idle clients, a normal `vsctl show` is answered within
//!   1 s (the idle connection that waited longest, at least 1 s, is cut and
//!   told why); right after a burst of 8 fresh idle clients a prompt client
//!   is answered, retrying on "busy", within the 1 s eviction grace (well
//!   under the 5 s read timeout); a client trickling bytes without ever
//!   finishing is cut at the 5 s read timeout.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::hardening::*;
use common::*;

/// Connection slots of the daemon (ctl::server::ServerConfig::default()).
const SLOTS: usize = 8;
/// How long a connection must have waited on its peer before a new client
/// may take its slot.
const EVICT_AFTER: Duration = Duration::from_secs(1);
/// Time a client has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

fn small_switch(name: &str) -> Switch {
    let sw = start_cheap(name);
    sw.add_bridge("br0", &[]);
    add_null_port(&sw, "br0", "p1", 1, &["tag=10"]);
    sw
}

#[test]
fn non_root_users_are_refused_by_the_socket_mode_and_by_the_daemon() {
    let _g = serial();
    let user = TestUser::get();
    let sw = small_switch("sockuser");
    let show = sw.show();
    let conf = conf_bytes(&sw);
    let mode = std::fs::metadata(&sw.sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "control socket mode {mode:o}");

    // As deployed: the kernel refuses the connection (mode 0600, root's).
    let o = vsctl_as(user.uid, user.gid, &sw.sock, &["add-br", "evil"]);
    let err = stderr(&o);
    eprintln!(
        "uid {} with the socket at 0600: [{}] {err}",
        user.uid, o.status
    );
    assert!(
        !o.status.success(),
        "a non-root user changed the configuration"
    );
    assert!(
        err.starts_with("vsctl: cannot connect") && err.contains("Permission denied"),
        "{err:?}"
    );

    // Defense in depth: with the socket opened to everybody, the daemon
    // itself refuses the peer and says why.
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = vsctl_as(user.uid, user.gid, &sw.sock, &["add-br", "evil"]);
    let o2 = vsctl_as(user.uid, user.gid, &sw.sock, &["show"]);
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    for o in [&o, &o2] {
        let err = stderr(o);
        eprintln!(
            "uid {} with the socket at 0666: [{}] {err}",
            user.uid, o.status
        );
        assert!(!o.status.success(), "the daemon served uid {}", user.uid);
        assert!(
            err.starts_with(&format!(
                "vsctl: permission denied: uid {} may not control vswitchd",
                user.uid
            )),
            "{err:?}"
        );
        assert!(stdout(o).is_empty(), "output leaked: {:?}", stdout(o));
    }
    assert_eq!(sw.show(), show, "vsctl show changed");
    assert_eq!(conf_bytes(&sw), conf, "conf.json changed");
    // The refusal is in the log.
    let log = std::fs::read_to_string(&sw.log).unwrap();
    assert!(
        log.contains(&format!(
            "refused: uid {} may not control vswitchd",
            user.uid
        )),
        "no log line for the refused peer:\n{}",
        sw.log_tail(20)
    );
}

#[test]
fn oversize_requests_are_refused_and_the_daemon_keeps_answering() {
    let _g = serial();
    let mut sw = small_switch("sockbig");
    let show = sw.show();
    let conf = conf_bytes(&sw);

    // vsctl with 12 arguments of 100 kB: a 1.2 MB request.
    let big = "x".repeat(100_000);
    let mut args: Vec<&str> = vec!["add-br", "huge", "--", "set", "bridge", "huge"];
    let kv: Vec<String> = (0..12)
        .map(|i| format!("external_ids:k{i}={big}"))
        .collect();
    args.extend(kv.iter().map(String::as_str));
    let (o, took) = timed(|| sw.vsctl(&args));
    let err = stderr(&o);
    eprintln!(
        "vsctl with a 1.2 MB request: [{}] {err} in {took:?}",
        o.status
    );
    assert!(!o.status.success());
    assert_eq!(
        err.trim_end(),
        "vsctl: request too large (the limit is 1048576 bytes)"
    );

    // Raw: 4 MiB that never ends with a newline, then the client waits.
    let (reply, took) = timed(|| {
        let mut s = UnixStream::connect(&sw.sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let junk = vec![b'{'; 4 << 20];
        let _ = s.write_all(&junk);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    eprintln!(
        "raw 4 MiB without a newline: {:?} in {took:?}",
        reply.trim()
    );
    assert!(reply.contains("request too large"), "{reply:?}");

    // Still alive, still answering, nothing changed.
    sw.check_alive();
    let (o, took) = timed(|| sw.vsctl(&["show"]));
    assert!(o.status.success());
    eprintln!("vsctl show afterwards: {took:?}");
    assert!(took < Duration::from_secs(1), "show took {took:?}");
    assert_eq!(stdout(&o), show);
    assert_eq!(conf_bytes(&sw), conf, "conf.json changed");
    let log = std::fs::read_to_string(&sw.log).unwrap();
    assert!(
        log.matches("too large: request over 1048576 bytes").count() >= 2,
        "no log lines for the oversize requests:\n{}",
        sw.log_tail(20)
    );
}

/// `n` clients that connect and send nothing.
fn idle_clients(sock: &std::path::Path, n: usize) -> Vec<UnixStream> {
    (0..n)
        .map(|_| UnixStream::connect(sock).expect("connect"))
        .collect()
}

/// What an idle client eventually got (reply text), waiting at most `max`.
fn reply_of(mut s: UnixStream, max: Duration) -> String {
    s.set_read_timeout(Some(max)).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn slow_and_silent_clients_cannot_lock_out_a_prompt_one() {
    let _g = serial();
    let mut sw = small_switch("sockslow");
    let show = sw.show();

    // 1. Eight silent clients hold every slot for more than the grace.
    let held = idle_clients(&sw.sock, SLOTS);
    std::thread::sleep(EVICT_AFTER + Duration::from_millis(300));
    let (o, took) = timed(|| sw.vsctl(&["show"]));
    eprintln!(
        "vsctl show with {SLOTS} idle clients holding the slots: [{}] {} in {took:?}",
        o.status,
        stderr(&o).trim()
    );
    assert!(o.status.success(), "locked out: {}", stderr(&o));
    assert_eq!(stdout(&o), show);
    assert!(took < Duration::from_secs(1), "show took {took:?}");
    // Exactly one idle client lost its slot, and was told why; the others
    // are cut at the read timeout.
    let replies: Vec<(String, Duration)> = held
        .into_iter()
        .map(|s| timed(|| reply_of(s, READ_TIMEOUT * 2)))
        .collect();
    let evicted = replies
        .iter()
        .filter(|(r, _)| r.contains("dropped this connection"))
        .count();
    let timed_out = replies
        .iter()
        .filter(|(r, _)| r.contains("timed out waiting for the request"))
        .count();
    eprintln!("idle clients: {evicted} evicted, {timed_out} timed out");
    assert_eq!(evicted, 1, "{replies:?}");
    assert_eq!(timed_out, SLOTS - 1, "{replies:?}");

    // 2. Right after a burst of eight fresh silent clients, a prompt client
    // (retrying while told "busy") is served within the grace.
    let burst = idle_clients(&sw.sock, SLOTS);
    let t0 = Instant::now();
    let mut busy = 0;
    let resp = loop {
        match request(&sw.sock, &["show"], Duration::from_secs(10)) {
            Ok(r) if !r.ok && r.error.contains("busy") => {
                busy += 1;
                assert!(
                    t0.elapsed() < READ_TIMEOUT,
                    "still busy after {:?}",
                    t0.elapsed()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(r) => break r,
            Err(e) => panic!("no answer: {e}"),
        }
    };
    let waited = t0.elapsed();
    eprintln!(
        "after a burst of {SLOTS} idle clients: answered after {waited:?} ({busy} busy replies)"
    );
    assert!(resp.ok, "{}", resp.error);
    assert_eq!(resp.output, show);
    assert!(
        waited < EVICT_AFTER + Duration::from_millis(700),
        "a prompt client waited {waited:?}"
    );
    drop(burst);

    // 3. A client that trickles bytes and never finishes is cut at the
    // read timeout, and told so.
    let mut slow = UnixStream::connect(&sw.sock).unwrap();
    let t0 = Instant::now();
    let mut reply = String::new();
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let partial = br#"{"version":1,"argv":["show"#;
    for b in partial.iter().cycle() {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                reply.push_str(&String::from_utf8_lossy(&buf[..n]));
                break;
            }
            Err(_) => {}
        }
        assert!(t0.elapsed() < READ_TIMEOUT * 3, "never cut off");
    }
    let cut = t0.elapsed();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = String::new();
    let _ = slow.read_to_string(&mut rest);
    reply.push_str(&rest);
    eprintln!(
        "a client sending 5 bytes/s: cut after {cut:?}: {:?}",
        reply.trim()
    );
    assert!(
        reply.contains("timed out waiting for the request"),
        "{reply:?}"
    );
    assert!(
        cut >= READ_TIMEOUT - Duration::from_millis(300)
            && cut < READ_TIMEOUT + Duration::from_secs(1),
        "cut after {cut:?}"
    );

    sw.check_alive();
    assert_eq!(sw.show(), show);
    let log = std::fs::read_to_string(&sw.log).unwrap();
    for what in [
        "evicted: idle for",
        "timed out: no complete request within 5000 ms",
    ] {
        assert!(
            log.contains(what),
            "no log line with {what:?}:\n{}",
            sw.log_tail(30)
        );
    }
}
