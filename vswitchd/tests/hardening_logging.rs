//! Issue 6, item 4: the daemon logs what it drops and every bond/LACP
//! member state change, with the cause, but an attack cannot fill the disk.
//!
//! - 100,000 bad requests (rejected commands, malformed JSON, unknown
//!   protocol versions, requests over 1 MiB, refused peers) from several
//!   clients at once: the log grows by less than 100 KB, yet holds the
//!   first messages of each kind in full and, once the flood is over, a
//!   "(N similar messages suppressed)" note accounting for the rest. The
//!   daemon answers a normal request within 1 s right after.
//! - A bond member whose LACP partner flips between in sync and out of
//!   sync on every LACPDU (a pcap replayed as fast as the PMD reads it):
//!   thousands of enable/disable changes, each logged with its cause until
//!   the rate limit cuts in, and the log again stays small.
//!
//! Each log call site may write 20 messages at once, then one a second
//! (vswitchd/src/logging.rs), and a message is cut at 1 KiB.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hardening::*;
use common::*;
use datapath::wire::lacpdu::{LacpInfo, LacpState, Lacpdu};
use datapath::wire::MacAddr;

/// Bad requests in the flood.
const FLOOD: u64 = 100_000;
/// Client threads sending them.
const CLIENTS: u64 = 4;
/// The bound on what the flood may add to the log.
const MAX_LOG_GROWTH: u64 = 100 * 1024;

fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The log written since byte `from`.
fn log_since(path: &Path, from: u64) -> String {
    let all = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(all.get(from as usize..).unwrap_or(&[])).into_owned()
}

/// The messages suppressed on lines containing `what`: the sum of their
/// "(N similar messages suppressed)" notes.
fn suppressed(log: &str, what: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            let (head, _) = l.rsplit_once(" similar messages suppressed)")?;
            head.rsplit_once('(')?.1.parse::<u64>().ok()
        })
        .sum()
}

/// Request number `i` of the flood: (bytes, kind).
fn bad_request(i: u64) -> (Vec<u8>, &'static str) {
    match i % 50 {
        0 => (format!("this is not json {i}\n").into_bytes(), "malformed"),
        1 => (
            format!("{{\"version\":7,\"argv\":[\"show\"],\"n\":{i}}}\n").into_bytes(),
            "malformed",
        ),
        2..=17 => (request_line(&["add-br", &format!("flood/{i}")]), "rejected"),
        18..=33 => (
            request_line(&["set", "port", "p1", &format!("tag={}", 4095 + i % 100)]),
            "rejected",
        ),
        _ => (
            request_line(&["add-port", "nosuch", &format!("p{i}")]),
            "rejected",
        ),
    }
}

#[test]
fn a_flood_of_bad_requests_cannot_fill_the_log() {
    let _g = serial();
    let user = TestUser::get();
    let mut sw = start_cheap("logflood");
    sw.add_bridge("br0", &[]);
    add_null_port(&sw, "br0", "p1", 1, &["tag=10"]);
    let show = sw.show();
    let conf = conf_bytes(&sw);
    let start = log_len(&sw.log);

    // The first bad requests, one at a time: these must be logged in full.
    for i in 0..10 {
        let r = raw_exchange(
            &sw.sock,
            &request_line(&["add-br", &format!("first/{i}")]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(r.contains("is not a valid bridge name"), "{r}");
    }
    let _ = raw_exchange(&sw.sock, b"first malformed\n", Duration::from_secs(10)).unwrap();

    // The flood.
    let t0 = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let per_kind: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|w| {
            let sock = sw.sock.clone();
            let (sent, answered, per_kind) = (sent.clone(), answered.clone(), per_kind.clone());
            std::thread::spawn(move || {
                let mut i = w;
                while i < FLOOD {
                    let (bytes, kind) = bad_request(i);
                    per_kind[usize::from(kind == "malformed")].fetch_add(1, Ordering::Relaxed);
                    sent.fetch_add(1, Ordering::Relaxed);
                    match raw_exchange(&sock, &bytes, Duration::from_secs(10)) {
                        Ok(r) if r.contains("\"ok\":false") => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("request {i} was not refused: {r}"),
                        Err(e) => panic!("request {i}: {e}"),
                    }
                    i += CLIENTS;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("flood client");
    }
    let flood_time = t0.elapsed();
    // Requests over 1 MiB.
    let big = {
        let mut b = request_line(&["add-br", &"x".repeat(1 << 20)]);
        b.truncate(b.len() - 1);
        b.push(b'\n');
        b
    };
    for _ in 0..50 {
        let r = raw_exchange(&sw.sock, &big, Duration::from_secs(10)).unwrap();
        assert!(r.contains("request too large"), "{r}");
    }
    // Refused peers: the socket opened to everybody, vsctl as a normal user.
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    for _ in 0..100 {
        let o = vsctl_as(user.uid, user.gid, &sw.sock, &["show"]);
        assert!(stderr(&o).contains("permission denied"), "{}", stderr(&o));
    }
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let total_time = t0.elapsed();
    let flood_log = log_len(&sw.log) - start;

    // After a quiet second, one more of each: it reports what was dropped.
    std::thread::sleep(Duration::from_millis(1100));
    let _ = raw_exchange(
        &sw.sock,
        &request_line(&["add-br", "last/0"]),
        Duration::from_secs(10),
    );
    let _ = raw_exchange(&sw.sock, b"last malformed\n", Duration::from_secs(10));
    let _ = raw_exchange(&sw.sock, &big, Duration::from_secs(10));
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let _ = vsctl_as(user.uid, user.gid, &sw.sock, &["show"]);
    std::fs::set_permissions(&sw.sock, std::fs::Permissions::from_mode(0o600)).unwrap();

    sw.check_alive();
    let (o, took) = timed(|| sw.vsctl(&["show"]));
    assert!(o.status.success() && stdout(&o) == show, "{}", stderr(&o));
    assert_eq!(conf_bytes(&sw), conf, "conf.json changed");
    let grown = log_len(&sw.log) - start;
    let log = log_since(&sw.log, start);
    let sent = sent.load(Ordering::Relaxed);
    let rejected_sent = per_kind[0].load(Ordering::Relaxed);
    let malformed_sent = per_kind[1].load(Ordering::Relaxed);
    eprintln!(
        "{sent} bad requests from {CLIENTS} clients in {flood_time:?} ({:.0}/s), then 50 over 1 MiB \
         and 100 refused peers ({total_time:?} in all); the log grew by {flood_log} bytes during the \
         flood and {grown} bytes in all ({} lines); vsctl show right after: {took:?}",
        sent as f64 / flood_time.as_secs_f64(),
        log.lines().count()
    );
    eprintln!(
        "suppressed: rejected {}, malformed {}, too large {}, refused {}",
        suppressed(&log, "rejected request"),
        suppressed(&log, "malformed"),
        suppressed(&log, "too large"),
        suppressed(&log, "refused")
    );
    assert_eq!(answered.load(Ordering::Relaxed), FLOOD);
    assert!(took < Duration::from_secs(1), "show took {took:?}");
    assert!(
        grown < MAX_LOG_GROWTH,
        "the log grew by {grown} bytes:\n{}",
        log.chars().take(5000).collect::<String>()
    );
    // The first messages are there in full.
    for i in 0..10 {
        assert!(
            log.contains(&format!("rejected request [\"add-br\", \"first/{i}\"]: \"first/{i}\" is not a valid bridge name")),
            "first/{i} not logged"
        );
    }
    assert!(
        log.contains("malformed: malformed request"),
        "no malformed line"
    );
    assert!(log.contains("too large: request over 1048576 bytes"));
    assert!(log.contains(&format!(
        "refused: uid {} may not control vswitchd",
        user.uid
    )));
    // And the rest is accounted for.
    assert!(
        suppressed(&log, "rejected request") >= rejected_sent * 9 / 10,
        "rejected: {} suppressed of {rejected_sent}",
        suppressed(&log, "rejected request")
    );
    assert!(
        suppressed(&log, "malformed") >= malformed_sent * 9 / 10,
        "malformed: {} suppressed of {malformed_sent}",
        suppressed(&log, "malformed")
    );
    assert!(suppressed(&log, "too large") >= 20, "too large");
    assert!(suppressed(&log, "refused") >= 50, "refused");
}

/// Our side of the bond in the flapping test (all set in the configuration).
const SYS_ID: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x01];
const SYS_PRIO: u16 = 100;
const KEY: u16 = 7;
const PORT_PRIO: u16 = 200;
const PORT_ID: u16 = 11;
/// The fake partner.
const PARTNER_SYS: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x00];
const PARTNER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x01];

/// A LACPDU from the partner about member e0: in sync, collecting and
/// distributing, or none of these.
fn partner_pdu(in_sync: bool) -> Vec<u8> {
    let mut st = LacpState::ACTIVITY
        .with(LacpState::TIMEOUT)
        .with(LacpState::AGGREGATION);
    if in_sync {
        st = st
            .with(LacpState::SYNCHRONIZATION)
            .with(LacpState::COLLECTING)
            .with(LacpState::DISTRIBUTING);
    }
    let us = LacpInfo {
        sys_priority: SYS_PRIO,
        sys_id: MacAddr(SYS_ID),
        key: KEY,
        port_priority: PORT_PRIO,
        port_id: PORT_ID,
        state: LacpState::ACTIVITY
            .with(LacpState::TIMEOUT)
            .with(LacpState::AGGREGATION)
            .with(LacpState::SYNCHRONIZATION)
            .with(LacpState::COLLECTING)
            .with(LacpState::DISTRIBUTING),
    };
    let pdu = Lacpdu {
        actor: LacpInfo {
            sys_priority: 10,
            sys_id: MacAddr(PARTNER_SYS),
            key: 9,
            port_priority: 10,
            port_id: 1,
            state: st,
        },
        partner: us,
        collector_max_delay: 0,
    };
    pdu.encode(MacAddr(PARTNER_MAC)).to_vec()
}

#[test]
fn a_flapping_lacp_partner_cannot_fill_the_log() {
    let _g = serial();
    let dir = TestDir::new("logflap");
    let pcap_file = dir.join("flap.pcap");
    pcap::write(&pcap_file, &[partner_pdu(true), partner_pdu(false)]);
    let mut sw = start_cheap("logflap");
    sw.add_bridge("br0", &[]);
    let start = log_len(&sw.log);
    let t0 = Instant::now();
    sw.vsctl_ok(&[
        "add-bond",
        "br0",
        "bond0",
        "e0",
        "e1",
        "lacp=active",
        "bond_mode=balance-tcp",
        "other_config:lacp-time=fast",
        &format!("other_config:lacp-system-id={}", MacAddr(SYS_ID)),
        &format!("other_config:lacp-system-priority={SYS_PRIO}"),
        "--",
        "set",
        "Interface",
        "e0",
        "type=dpdk",
        &format!(
            "options:dpdk-devargs=\"net_pcap0,rx_pcap={},infinite_rx=1\"",
            pcap_file.display()
        ),
        &format!("other_config:lacp-port-id={PORT_ID}"),
        &format!("other_config:lacp-port-priority={PORT_PRIO}"),
        &format!("other_config:lacp-aggregation-key={KEY}"),
        "--",
        "set",
        "Interface",
        "e1",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null1,no-rx=1\"",
        &format!("other_config:lacp-port-id={}", PORT_ID + 1),
        &format!("other_config:lacp-port-priority={PORT_PRIO}"),
        &format!("other_config:lacp-aggregation-key={KEY}"),
    ]);
    // Flap until the partner's PDUs have driven many thousand changes (at
    // most 20 s), then take the member away.
    let pdus = wait_until("the flapping partner's LACPDUs", 20, || {
        sw.check_alive();
        let s = sw.vsctl_ok(&["lacp/show-stats", "bond0"]);
        let rx: u64 = s
            .lines()
            .skip_while(|l| !l.contains("member: e0"))
            .find_map(|l| l.trim().strip_prefix("RX PDUs: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let log = log_since(&sw.log, start);
        let flaps = suppressed(&log, "LACP disabled") + suppressed(&log, "LACP enabled");
        if rx >= 50_000 && flaps >= 1000 || t0.elapsed() > Duration::from_secs(15) {
            Ok(rx)
        } else {
            Err(format!("{rx} PDUs, {flaps} suppressed so far"))
        }
    });
    let show = sw.vsctl_ok(&["lacp/show", "bond0"]);
    sw.vsctl_ok(&["del-port", "bond0"]);
    let flap_time = t0.elapsed();
    sw.check_alive();

    let grown = log_len(&sw.log) - start;
    let log = log_since(&sw.log, start);
    let lacp_lines = log.lines().filter(|l| l.contains(": LACP ")).count();
    let lacp_changes = lacp_lines as u64
        + log
            .lines()
            .filter(|l| l.contains(": LACP "))
            .filter_map(|l| {
                let (h, _) = l.rsplit_once(" similar messages suppressed)")?;
                h.rsplit_once('(')?.1.parse::<u64>().ok()
            })
            .sum::<u64>();
    eprintln!(
        "{pdus} LACPDUs flipping in and out of sync in {flap_time:?}: {lacp_changes} LACP member \
         changes ({lacp_lines} logged); the log grew by {grown} bytes ({} lines)",
        log.lines().count()
    );
    eprintln!("{}", log.lines().take(60).collect::<Vec<_>>().join("\n"));
    let _ = show;
    assert!(grown < MAX_LOG_GROWTH, "the log grew by {grown} bytes");
    assert!(lacp_changes >= 1000, "only {lacp_changes} LACP changes");
    // The first changes are logged with their cause, by member name.
    let partner = MacAddr(PARTNER_SYS).to_string();
    assert!(
        log.contains(&format!(
            "bond bond0: member e0: LACP enabled (partner {partner} port 1 in sync"
        )),
        "no LACP enabled line with its cause"
    );
    assert!(
        log.contains(&format!(
            "bond bond0: member e0: LACP disabled (partner {partner} port 1 is not in sync)"
        )),
        "no LACP disabled line with its cause"
    );
    assert!(log.contains("bond bond0: member e0: enabled (lacp)"));
    assert!(log.contains("bond bond0: member e0: disabled (lacp)"));
    assert!(
        suppressed(&log, ": LACP ") >= 500,
        "no suppression note for the LACP changes"
    );
}
