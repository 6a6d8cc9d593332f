//! vswitchd: the rvswitch daemon.
//!
//! ```text
//! vswitchd [--state-dir DIR] [--socket PATH] [--pidfile FILE] [--detach]
//!          [--log-file FILE] [-v|--verbose]
//! ```
//!
//! It locks the state directory (a second daemon on it is refused), loads
//! the configuration and the bonds' saved state from it, listens on the
//! control socket for vsctl (a request the control thread does not answer
//! within 10 s gets "daemon busy"), initializes DPDK when the
//! configuration asks for it (or on the first bridge), and runs the control
//! thread on the main thread and one PMD thread per core of
//! `pmd-cpu-mask`.

mod clock;
mod control;
mod device;
mod eal_args;
mod logging;
mod metrics;
mod pmd_thread;
mod vhost_trust;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam::channel::{bounded, unbounded};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

#[derive(Debug, Default)]
struct Args {
    state_dir: Option<String>,
    socket: Option<String>,
    pidfile: Option<String>,
    log_file: Option<String>,
    detach: bool,
    verbose: bool,
}

const USAGE: &str = "usage: vswitchd [--state-dir DIR] [--socket PATH] [--pidfile FILE] [--detach] \
[--log-file FILE] [-v|--verbose]

  --state-dir DIR   configuration directory (env RVSWITCH_STATE_DIR, default /var/lib/rvswitch)
  --socket PATH     control socket for vsctl (env RVSWITCH_SOCKET, default /run/rvswitch/vswitchd.sock)
  --pidfile FILE    write the daemon's pid to FILE
  --detach          run in the background once the control socket is ready
  --log-file FILE   append the log to FILE instead of stderr
  -v, --verbose     log debug messages";

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--state-dir" => a.state_dir = Some(value("--state-dir")?),
            "--socket" => a.socket = Some(value("--socket")?),
            "--pidfile" => a.pidfile = Some(value("--pidfile")?),
            "--log-file" => a.log_file = Some(value("--log-file")?),
            "--detach" => a.detach = true,
            "-v" | "--verbose" => a.verbose = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--version" => {
                println!("vswitchd (rvswitch) {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("vswitchd: {msg}");
    std::process::exit(1);
}

/// Fork into the background. The parent waits until the child reports
/// that the control socket is listening, then exits with the child's
/// verdict. Returns the pipe end the child writes its verdict to.
fn detach() -> std::fs::File {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe() to fill.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        fail(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: called before any thread is started, so the child is a
    // faithful single-threaded copy.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid > 0 {
        // SAFETY: fds[1] is the write end we own; the child keeps its copy.
        unsafe { libc::close(fds[1]) };
        // SAFETY: fds[0] is an open descriptor owned from here on by the File.
        let mut r = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        let mut buf = String::new();
        let _ = r.read_to_string(&mut buf);
        if buf.starts_with("ok") {
            std::process::exit(0);
        }
        eprint!("{buf}");
        std::process::exit(1);
    }
    // SAFETY: the read end belongs to the parent.
    unsafe { libc::close(fds[0]) };
    // SAFETY: setsid has no memory-safety preconditions.
    unsafe { libc::setsid() };
    // SAFETY: fds[1] is an open descriptor owned from here on by the File.
    unsafe { std::fs::File::from_raw_fd(fds[1]) }
}

fn redirect_stdio_to_null() {
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return;
    };
    use std::os::fd::AsRawFd;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors with a valid source fd.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
}

fn install_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
    // SAFETY: ignoring SIGPIPE has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| fail(e));
    let mut ready_pipe = if args.detach { Some(detach()) } else { None };
    let report = |pipe: &mut Option<std::fs::File>, msg: &str| {
        if let Some(p) = pipe.as_mut() {
            use std::io::Write;
            let _ = p.write_all(msg.as_bytes());
        }
    };
    macro_rules! die {
        ($($a:tt)*) => {{
            let m = format!($($a)*);
            report(&mut ready_pipe, &format!("vswitchd: {m}\n"));
            fail(m)
        }};
    }

    logging::set_verbose(args.verbose);
    if let Some(f) = &args.log_file {
        if let Err(e) = logging::to_file(f) {
            die!("cannot open log file {f}: {e}");
        }
    }
    install_signals();

    let state_dir =
        ctl::store::resolve_state_dir(args.state_dir.as_deref().map(std::path::Path::new));
    if let Err(e) = std::fs::create_dir_all(&state_dir) {
        die!("cannot create state directory {}: {e}", state_dir.display());
    }
    // One daemon per state directory, held until the process exits; taken
    // after the fork of --detach so the lock file names the daemon's pid.
    let _state_lock = match ctl::store::lock_state_dir(&state_dir) {
        Ok(l) => l,
        Err(e) => die!("{e}"),
    };
    let conf = ctl::store::config_path(&state_dir);
    let db = match ctl::store::load_or_new(&conf) {
        Ok(db) => db,
        Err(e) => die!("{e}"),
    };
    let sock_path: PathBuf =
        ctl::proto::resolve_socket(args.socket.as_deref().map(std::path::Path::new));
    if let Some(dir) = sock_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let listener = match ctl::server::bind(&sock_path) {
        Ok(l) => l,
        Err(e) => die!("cannot listen on {}: {e}", sock_path.display()),
    };
    if let Some(p) = &args.pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            die!("cannot write pidfile {p}: {e}");
        }
    }
    info!(
        "vswitchd {} starting: state {}, socket {}",
        env!("CARGO_PKG_VERSION"),
        conf.display(),
        sock_path.display()
    );

    // Socket threads hand requests to the control thread.
    let (jobs_tx, jobs_rx) = unbounded::<control::Job>();
    // They wait a bounded time for the answer (then reply "daemon busy").
    let queue = ctl::server::ControlQueue::new(
        ctl::server::DEFAULT_ANSWER_TIMEOUT,
        move |req: ctl::proto::Request, limit| {
            use ctl::server::Waited;
            let (t, r) = bounded(1);
            if jobs_tx.send((req, t)).is_err() {
                return Waited::Gone;
            }
            match r.recv_timeout(limit) {
                Ok(resp) => Waited::Answered(resp),
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => Waited::TimedOut,
                Err(crossbeam::channel::RecvTimeoutError::Disconnected) => Waited::Gone,
            }
        },
    );
    let handler = Arc::new(
        move |req: ctl::proto::Request, peer: ctl::server::PeerCred| queue.ask(req, &peer),
    );
    let server = std::thread::Builder::new()
        .name("ctl-server".into())
        .spawn(move || {
            if let Err(e) =
                ctl::server::serve(listener, handler, ctl::server::ServerConfig::default())
            {
                error!("control socket: {e}");
            }
        });
    if let Err(e) = server {
        die!("cannot start the control socket thread: {e}");
    }

    if ready_pipe.is_some() {
        report(&mut ready_pipe, "ok\n");
        ready_pipe = None;
        if args.log_file.is_none() {
            let _ = logging::to_file("/dev/null");
        }
        redirect_stdio_to_null();
    }
    drop(ready_pipe);

    // The run directory (OVS's rundir): the base of vhost-sock-dir.
    let run_dir = sock_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let mut control = control::Control::new(db, conf, run_dir);
    control.run(jobs_rx, &|| STOP.load(Ordering::SeqCst));
    let _ = std::fs::remove_file(&sock_path);
    if let Some(p) = &args.pidfile {
        let _ = std::fs::remove_file(p);
    }
}
