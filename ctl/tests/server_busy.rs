//! A wedged control thread: `ControlQueue` answers "daemon busy" within its
//! timeout, frees the connection's slot, reports the stall, and lets other
//! clients in; an answer in time passes through; a gone control thread
//! means "shutting down".

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TempDir;
use ctl::proto::{Format, Request, Response};
use ctl::server::{self, ControlQueue, DropReason, PeerCred, ServerConfig, Waited};

type Job = (Request, SyncSender<Response>);

/// A control thread that holds every request it gets without answering
/// while `wedged` is set, then answers all of them (the held ones first),
/// counting what it ran.
struct Control {
    wedged: Arc<AtomicBool>,
    ran: Arc<AtomicUsize>,
}

impl Control {
    fn start(jobs: Receiver<Job>) -> Control {
        let wedged = Arc::new(AtomicBool::new(true));
        let ran = Arc::new(AtomicUsize::new(0));
        let (w, r) = (wedged.clone(), ran.clone());
        std::thread::spawn(move || {
            let mut held: Vec<Job> = Vec::new();
            loop {
                match jobs.recv_timeout(Duration::from_millis(10)) {
                    Ok(job) => held.push(job),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                if !w.load(Ordering::SeqCst) {
                    for (req, reply) in held.drain(..) {
                        r.fetch_add(1, Ordering::SeqCst);
                        let _ = reply.send(Response {
                            version: 1,
                            ok: true,
                            exit_code: 0,
                            output: format!("ran {}\n", req.argv.join(" ")),
                            error: String::new(),
                            json: None,
                            waiting: false,
                        });
                    }
                }
            }
        });
        Control { wedged, ran }
    }
}

/// The daemon's hand-off, over std channels.
fn hand_off(jobs: SyncSender<Job>) -> impl Fn(Request, Duration) -> Waited + Send + Sync {
    let jobs = Mutex::new(jobs);
    move |req, limit| {
        let (t, r) = mpsc::sync_channel(1);
        let sent = jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((req, t));
        if sent.is_err() {
            return Waited::Gone;
        }
        match r.recv_timeout(limit) {
            Ok(resp) => Waited::Answered(resp),
            Err(RecvTimeoutError::Timeout) => Waited::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Waited::Gone,
        }
    }
}

static STALLS: Mutex<Vec<(Option<u32>, String)>> = Mutex::new(Vec::new());

fn record_stall(reason: DropReason, peer: Option<&PeerCred>, detail: &str) {
    if reason == DropReason::Stalled {
        STALLS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((peer.map(|p| p.uid), detail.to_string()));
    }
}

fn ignore_drops(_: DropReason, _: Option<&PeerCred>, _: &str) {}

/// Serve `queue` on a fresh socket with `slots` connection slots.
fn serve<F>(path: &Path, queue: ControlQueue<F>, slots: usize)
where
    F: Fn(Request, Duration) -> Waited + Send + Sync + 'static,
{
    let listener = server::bind(path).unwrap();
    let cfg = ServerConfig {
        max_connections: slots,
        allow_peer: |_| true,
        on_drop: ignore_drops,
        ..ServerConfig::default()
    };
    let handler = Arc::new(move |req: Request, peer: PeerCred| queue.ask(req, &peer));
    std::thread::spawn(move || server::serve(listener, handler, cfg));
}

fn ask(path: &Path, argv: &[&str]) -> (Result<Response, String>, Duration) {
    let req = Request::new(argv.iter().map(|s| s.to_string()).collect(), Format::Text);
    let t = Instant::now();
    // The client's own limit is far above the queue's: a hang shows.
    let r = ctl::client::request(path, &req, Some(Duration::from_secs(20)));
    (r.map_err(|e| e.to_string()), t.elapsed())
}

const TIMEOUT: Duration = Duration::from_millis(400);

#[test]
fn a_wedged_control_thread_answers_busy_in_time_and_locks_nobody_out() {
    let dir = TempDir::new("busy");
    let sock = dir.0.join("vswitchd.sock");
    let (tx, rx) = mpsc::sync_channel::<Job>(64);
    let control = Control::start(rx);
    let queue = ControlQueue::new(TIMEOUT, hand_off(tx)).with_drop_logger(record_stall);
    assert_eq!(queue.answer_timeout(), TIMEOUT);
    serve(&sock, queue, 2);

    // One client: busy after the timeout, not before, and not much later.
    let (r, took) = ask(&sock, &["show"]);
    let r = r.expect("a reply, not a hang or a cut connection");
    eprintln!("wedged: one client answered in {took:?}: {}", r.error);
    assert!(!r.ok && r.exit_code == 1);
    assert!(
        r.error
            .starts_with("daemon busy: control thread has not answered for 400 ms"),
        "{}",
        r.error
    );
    assert!(
        took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(2),
        "{took:?}"
    );

    // Eight clients at once on two slots: every one gets a reply within a
    // few timeouts (busy from the queue, or the server's own "busy" when
    // both slots are waiting on the control thread).
    let t0 = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let sock = sock.clone();
            std::thread::spawn(move || ask(&sock, &["list-br", &i.to_string()]))
        })
        .collect();
    let replies: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let all = t0.elapsed();
    let mut stalled = 0;
    for (r, took) in &replies {
        let r = r.as_ref().expect("every client gets a reply");
        assert!(!r.ok);
        assert!(
            r.error
                .starts_with("daemon busy: control thread has not answered")
                || r.error.starts_with("vswitchd is busy"),
            "{}",
            r.error
        );
        stalled += usize::from(r.error.starts_with("daemon busy"));
        assert!(*took < Duration::from_secs(5), "{took:?}");
    }
    eprintln!("wedged: 8 concurrent clients all answered within {all:?}, {stalled} by the queue");
    assert!(stalled >= 2, "both slots served a client: {stalled}");

    // The slots were given back: a client still gets its busy reply.
    let (r, took) = ask(&sock, &["show"]);
    assert!(r.unwrap().error.starts_with("daemon busy"), "{took:?}");
    assert!(took < TIMEOUT + Duration::from_secs(2), "{took:?}");

    // Each stall was reported with its peer.
    let stalls = STALLS.lock().unwrap().clone();
    assert_eq!(stalls.len(), stalled + 2, "{stalls:?}");
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    assert!(stalls
        .iter()
        .all(|(uid, d)| *uid == Some(me)
            && d.contains("no answer from the control thread for 400 ms")));

    // The control thread recovers: new requests are answered, and the
    // queued ones ran too (as the busy reply warned).
    control.wedged.store(false, Ordering::SeqCst);
    let (r, took) = ask(&sock, &["list-br"]);
    let r = r.unwrap();
    assert!(r.ok, "{}", r.error);
    assert_eq!(r.output, "ran list-br\n");
    eprintln!("recovered: answered in {took:?}");
    let queued = stalls.len() + 1;
    let deadline = Instant::now() + Duration::from_secs(5);
    while control.ran.load(Ordering::SeqCst) < queued {
        assert!(Instant::now() < deadline, "queued requests not run");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn vsctl_prints_the_busy_reply_and_exits_1() {
    let dir = TempDir::new("busy-vsctl");
    let sock = dir.0.join("vswitchd.sock");
    let (tx, rx) = mpsc::sync_channel::<Job>(64);
    let _control = Control::start(rx);
    serve(
        &sock,
        ControlQueue::new(Duration::from_secs(1), hand_off(tx)).with_drop_logger(ignore_drops),
        4,
    );
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vsctl"))
        .arg(format!("--socket={}", sock.display()))
        .arg("show")
        .output()
        .unwrap();
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("vsctl answered in {took:?}: {err}");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.starts_with("vsctl: daemon busy: control thread has not answered for 1 s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn an_answer_in_time_passes_through_and_a_gone_control_thread_is_shutdown() {
    let dir = TempDir::new("busy-ok");
    let sock = dir.0.join("vswitchd.sock");
    let (tx, rx) = mpsc::sync_channel::<Job>(64);
    let control = Control::start(rx);
    control.wedged.store(false, Ordering::SeqCst);
    serve(
        &sock,
        ControlQueue::new(Duration::from_secs(5), hand_off(tx)).with_drop_logger(ignore_drops),
        4,
    );
    let (r, _) = ask(&sock, &["show"]);
    let r = r.unwrap();
    assert!(r.ok && r.output == "ran show\n", "{r:?}");

    // No control thread at all: its channel is closed.
    let sock2 = dir.0.join("gone.sock");
    let (tx2, rx2) = mpsc::sync_channel::<Job>(1);
    drop(rx2);
    serve(
        &sock2,
        ControlQueue::new(Duration::from_secs(5), hand_off(tx2)).with_drop_logger(ignore_drops),
        4,
    );
    let (r, took) = ask(&sock2, &["show"]);
    assert_eq!(r.unwrap().error, "vswitchd is shutting down");
    assert!(took < Duration::from_secs(2), "{took:?}");
}
