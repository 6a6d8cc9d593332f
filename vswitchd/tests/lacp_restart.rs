//! Issue 12, part 3: a restart the LACP partner does not notice, through
//! the daemon, against a second rvswitch.
//!
//! Switches A and B, each in its own network namespace, are joined by two
//! veth pairs opened with net_af_packet; each has a 2-member LACP bond
//! (active, fast, balance-tcp).
//!
//! 1. Resume. A and B are negotiated; A is killed (SIGKILL) and started
//!    again on the same state directory. A resumes from the LACP state the
//!    first daemon saved (`bonds.json`): its log says so, its members are
//!    enabled again, and B, sampled every 50 ms from the kill until then,
//!    never disables a member and records no link expiry or defaulting.
//! 2. Stale configuration. A is killed and its `conf.json` edited while it
//!    is down (`lacp-time=slow`): the saved state no longer applies, no
//!    member resumes, and a normal negotiation completes.
//! 3. Stale partner. A is killed, and B's LACP system id changes while A
//!    is down. A resumes (its own configuration did not change), but never
//!    enables a member before a normal negotiation with B's new system
//!    completes: every "LACP enabled" line of the new run names the new
//!    system and comes at least the aggregate wait (2 s) after the start.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::lacp::*;
use common::switch::run_vsctl;
use common::*;

/// Milliseconds since midnight of a log line's `HH:MM:SS.mmm` stamp.
fn stamp_ms(line: &str) -> Option<u64> {
    let t = line.split_whitespace().next()?;
    let (hms, ms) = t.split_once('.')?;
    let mut it = hms.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (it.next()??, it.next()??, it.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
}

/// The lines of the daemon's log since its latest start.
fn this_run(sw: &Switch) -> Vec<String> {
    let text = std::fs::read_to_string(&sw.log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains("starting: state"))
        .unwrap_or(0);
    lines[start..].iter().map(|l| l.to_string()).collect()
}

#[test]
fn a_restarted_bond_resumes_unnoticed_and_stale_state_is_never_used() {
    let _g = serial();
    let BondedPair {
        mut a,
        mut b,
        links: _links,
    } = BondedPair::negotiated("lrs");
    let (am, bm) = (AM, BM);
    let saved = a.state_dir.join("bonds.json");
    wait_until("A to save its bond state", 5, || {
        let t = std::fs::read_to_string(&saved).map_err(|e| e.to_string())?;
        if t.matches("\"partner\"").count() == 2 {
            Ok(())
        } else {
            Err(t)
        }
    });

    // 1. Resume. B is sampled every 50 ms from just before the kill until
    // a second after A is whole again.
    let exp0 = expiries(&b, &bm);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, sock) = (stop.clone(), b.sock.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let l = LacpShow::parse(&stdout(&run_vsctl(&sock, &["lacp/show", "bond0"])));
                let bs = BondShow::parse(&stdout(&run_vsctl(&sock, &["bond/show", "bond0"])));
                if !lacp_state_ok(&l, &bs, &["b0", "b1"], &[]) {
                    return Err(format!("after {n} samples:\n{}\n{}", l.text, bs.text));
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(n)
        })
    };
    let t0 = Instant::now();
    a.restart();
    let back = wait_until("A's bond whole again", 10, || {
        if a.vsctl(&["lacp/show", "bond0"]).status.success() {
            let (la, ba) = (a.lacp_show("bond0"), a.bond_show("bond0"));
            if lacp_state_ok(&la, &ba, &am, &[]) {
                return Ok(t0.elapsed());
            }
        }
        Err(a.log_tail(20))
    });
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let samples = sampler
        .join()
        .expect("sampler")
        .unwrap_or_else(|e| panic!("B noticed the restart: {e}"));
    println!(
        "resume: A's bond whole {} ms after the kill; B sampled {samples} times, never disturbed",
        back.as_millis()
    );
    assert!(samples >= 10, "only {samples} samples of B");
    assert_eq!(expiries(&b, &bm), exp0, "B's LACP expired or defaulted");
    let run = this_run(&a);
    assert!(
        run.iter().any(|l| l.contains("resuming LACP on a0, a1")),
        "{}",
        run.join("\n")
    );

    // 2. Stale configuration: edited while A is down.
    a.kill9();
    let conf = a.state_dir.join("conf.json");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("\"lacp-time\": \"fast\""), "{text}");
    std::fs::write(
        &conf,
        text.replace("\"lacp-time\": \"fast\"", "\"lacp-time\": \"slow\""),
    )
    .unwrap();
    a.restart();
    wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 30);
    let run = this_run(&a);
    assert!(
        run.iter()
            .any(|l| l.contains("bond bond0: saved LACP state not used")),
        "{}",
        run.join("\n")
    );
    assert!(
        !run.iter().any(|l| l.contains("resuming LACP")),
        "{}",
        run.join("\n")
    );
    wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 30);

    // 3. Stale partner: B gets a new system id while A is down.
    wait_until("A to save the renegotiated state", 5, || {
        let t = std::fs::read_to_string(&saved).map_err(|e| e.to_string())?;
        if t.contains("\"fast\": false") && t.matches("\"partner\"").count() == 2 {
            Ok(())
        } else {
            Err(t)
        }
    });
    a.kill9();
    let new_b = "02:00:00:00:0b:0b";
    b.vsctl_ok(&[
        "set",
        "port",
        "bond0",
        &format!("other_config:lacp-system-id={new_b}"),
    ]);
    a.restart();
    wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 30);
    let run = this_run(&a);
    let start = stamp_ms(&run[0]).expect("start stamp");
    assert!(
        run.iter().any(|l| l.contains("resuming LACP on a0, a1")),
        "A's own configuration did not change, so it tries:\n{}",
        run.join("\n")
    );
    let enabled: Vec<&String> = run
        .iter()
        .filter(|l| l.contains(": LACP enabled"))
        .collect();
    assert_eq!(enabled.len(), 2, "{}", run.join("\n"));
    for l in enabled {
        assert!(l.contains(&format!("partner {new_b} ")), "{l}");
        let after = stamp_ms(l).unwrap() - start;
        println!("stale partner: {l} ({after} ms after the start)");
        assert!(after >= 2000, "enabled before the aggregate wait: {l}");
    }
}
