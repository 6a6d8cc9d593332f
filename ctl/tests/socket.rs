//! The control socket: creation, the protocol through a real Unix socket,
//! bounded reads, the connection cap, peer checks, and the `vsctl` binary
//! end to end against an in-process server.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::{run_program, start, start_daemon};
use common::TempDir;
use ctl::proto::{self, Format, Request, Response};
use ctl::server::{self, PeerCred, ServerConfig};
use ctl::{client, store};

fn echo(req: Request, peer: PeerCred) -> Response {
    Response {
        version: 1,
        ok: true,
        exit_code: 0,
        output: format!("{} from uid {}\n", req.argv.join(" "), peer.uid),
        error: String::new(),
        json: Some(serde_json::json!(req.argv)),
        waiting: false,
    }
}

fn raw_exchange(path: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn socket_is_0600_and_stale_sockets_are_replaced() {
    let dir = TempDir::new("bind");
    let path = dir.0.join("run").join("vswitchd.sock");
    let l = server::bind(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    // A live socket is not replaced.
    let e = server::bind(&path).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    assert!(e.to_string().contains("already listening"), "{e}");
    // A stale one (its listener is gone) is.
    drop(l);
    let _l2 = server::bind(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No temporary directories are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.0.join("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("vswitchd.sock")]);
    // Something that is not a socket is never removed.
    let file = dir.0.join("not-a-socket");
    std::fs::write(&file, b"precious").unwrap();
    let e = server::bind(&file).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
}

#[test]
fn request_and_reply_round_trip() {
    let dir = TempDir::new("roundtrip");
    let path = dir.0.join("s.sock");
    start(&path, ServerConfig::default(), echo);
    let req = Request::new(
        vec!["list-br".into(), "--".into(), "show".into()],
        Format::Json,
    );
    let resp = client::request(&path, &req, Some(Duration::from_secs(5))).unwrap();
    assert!(resp.ok);
    assert_eq!(
        resp.output,
        format!("list-br -- show from uid {}\n", server::own_uid())
    );
    assert_eq!(
        resp.json,
        Some(serde_json::json!(["list-br", "--", "show"]))
    );
    // The wire format is one JSON line each way.
    let raw = raw_exchange(
        &path,
        b"{\"version\":1,\"argv\":[\"x\"],\"format\":\"text\"}\n",
    );
    assert!(
        raw.ends_with('\n') && raw.matches('\n').count() == 1,
        "{raw:?}"
    );
    let v: serde_json::Value = serde_json::from_str(raw.trim()).unwrap();
    for k in ["version", "ok", "exit_code", "output", "error", "json"] {
        assert!(v.get(k).is_some(), "reply lacks {k}: {raw}");
    }
}

#[test]
fn bad_requests_get_clear_errors() {
    let dir = TempDir::new("badreq");
    let path = dir.0.join("s.sock");
    start(&path, ServerConfig::default(), echo);
    let raw = raw_exchange(&path, b"{\"version\":7,\"argv\":[\"show\"]}\n");
    let r: Response = serde_json::from_str(raw.trim()).unwrap();
    assert!(!r.ok);
    assert!(
        r.error.contains("unsupported protocol version 7"),
        "{}",
        r.error
    );
    let raw = raw_exchange(&path, b"this is not json\n");
    let r: Response = serde_json::from_str(raw.trim()).unwrap();
    assert!(r.error.starts_with("malformed request"), "{}", r.error);
}

#[test]
fn silent_and_oversize_clients_do_not_block_others() {
    let dir = TempDir::new("slow");
    let path = dir.0.join("s.sock");
    let cfg = ServerConfig {
        read_timeout: Duration::from_millis(400),
        ..ServerConfig::default()
    };
    start(&path, cfg, echo);

    // A client that connects and sends nothing.
    let mut silent = UnixStream::connect(&path).unwrap();
    // A client that sends more than 1 MiB without a newline.
    let big_path = path.clone();
    let big = std::thread::spawn(move || {
        let mut s = UnixStream::connect(&big_path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let junk = vec![b'a'; proto::MAX_REQUEST + 4096];
        let _ = s.write_all(&junk);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    // Meanwhile a normal client is served promptly.
    let t0 = Instant::now();
    let resp = client::request(
        &path,
        &Request::new(vec!["show".into()], Format::Text),
        Some(Duration::from_secs(3)),
    )
    .unwrap();
    assert!(resp.ok);
    assert!(t0.elapsed() < Duration::from_secs(3));

    let out = big.join().unwrap();
    assert!(out.contains("request too large"), "{out:?}");
    // The silent client is cut off at the deadline with an explanation.
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut out = String::new();
    silent.read_to_string(&mut out).unwrap();
    assert!(out.contains("timed out waiting for the request"), "{out:?}");
}

#[test]
fn oversize_request_gets_an_error_reply() {
    let dir = TempDir::new("big");
    let path = dir.0.join("s.sock");
    start(&path, ServerConfig::default(), echo);
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // One line just over the limit: the server stops reading at the limit.
    let mut line = b"{\"version\":1,\"argv\":[\"".to_vec();
    line.resize(proto::MAX_REQUEST + 10, b'x');
    line.extend_from_slice(b"\"]}\n");
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&line);
        })
    };
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    writer.join().unwrap();
    assert!(out.contains("request too large"), "{out:?}");
}

#[test]
fn connections_beyond_the_cap_are_refused() {
    let dir = TempDir::new("cap");
    let path = dir.0.join("s.sock");
    let cfg = ServerConfig {
        max_connections: 1,
        read_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    start(&path, cfg, echo);
    let _holder = UnixStream::connect(&path).unwrap();
    let resp = client::request(
        &path,
        &Request::new(vec!["show".into()], Format::Text),
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    assert!(!resp.ok);
    assert!(resp.error.contains("busy"), "{}", resp.error);
}

#[test]
fn peers_are_checked() {
    let dir = TempDir::new("peer");
    let path = dir.0.join("s.sock");
    // Our own credentials are seen.
    let (a, b) = UnixStream::pair().unwrap();
    let cred = server::peer_cred(&a).unwrap();
    assert_eq!(cred.uid, server::own_uid());
    assert_eq!(cred.pid, std::process::id() as i32);
    drop(b);
    assert!(server::peer_allowed(&PeerCred {
        pid: 1,
        uid: 0,
        gid: 0
    }));
    assert!(server::peer_allowed(&PeerCred {
        pid: 1,
        uid: server::own_uid(),
        gid: 0
    }));
    assert_eq!(
        server::peer_allowed(&PeerCred {
            pid: 1,
            uid: 4242,
            gid: 0
        }),
        server::own_uid() == 4242
    );
    // A refused peer gets an explanation, and the handler never runs.
    let cfg = ServerConfig {
        allow_peer: |_| false,
        ..ServerConfig::default()
    };
    start(&path, cfg, |_, _| {
        panic!("handler must not run for a refused peer")
    });
    let resp = client::request(
        &path,
        &Request::new(vec!["show".into()], Format::Text),
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    assert!(!resp.ok);
    assert!(
        resp.error.contains("permission denied: uid"),
        "{}",
        resp.error
    );
}

// ---- vsctl end to end -------------------------------------------------

fn vsctl(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    run_program(Path::new(env!("CARGO_BIN_EXE_vsctl")), args, env)
}

#[test]
fn vsctl_end_to_end() {
    let dir = TempDir::new("e2e");
    let sock = start_daemon(&dir.0);
    let s = format!("--socket={}", sock.display());

    assert_eq!(
        vsctl(&[&s, "add-br", "br0"], &[]),
        (0, String::new(), String::new())
    );
    assert_eq!(vsctl(&[&s, "--may-exist", "add-br", "br0"], &[]).0, 0);
    let (code, out, _) = vsctl(&["--socket", sock.to_str().unwrap(), "list-br"], &[]);
    assert_eq!((code, out.as_str()), (0, "br0\n"));
    // The change was saved.
    let saved = store::load(&store::config_path(&dir.0)).unwrap().unwrap();
    assert!(saved.bridge("br0").is_some());

    // Errors: `vsctl: <reason>` on stderr, exit 1, nothing changed.
    let (code, out, err) = vsctl(&[&s, "add-port", "br0", "p1", "tag=4095"], &[]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "vsctl: tag: VLAN 4095 is out of range (valid VLAN IDs are 0 to 4094)\n"
    );
    let (code, _, err) = vsctl(&[&s, "del-br", "nosuch"], &[]);
    assert_eq!((code, err.as_str()), (1, "vsctl: no bridge named nosuch\n"));
    assert_eq!(vsctl(&[&s, "list-ports", "br0"], &[]).1, "");

    // br-exists exit status, JSON, the environment variable, runtime commands.
    assert_eq!(vsctl(&[&s, "br-exists", "br0"], &[]).0, 0);
    assert_eq!(vsctl(&[&s, "br-exists", "nosuch"], &[]).0, 2);
    assert_eq!(
        vsctl(&[&s, "--format=json", "list-br"], &[]).1,
        "[\"br0\"]\n"
    );
    let (code, out, _) = vsctl(&["show"], &[(proto::SOCKET_ENV, sock.to_str().unwrap())]);
    assert_eq!(code, 0);
    assert!(out.contains("    Bridge br0\n"), "{out}");
    ok_bond(&s);
    let (code, _, err) = vsctl(&[&s, "fdb/flush"], &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "vsctl: not implemented in this test\n")
    );

    // Local options need no daemon.
    let (code, out, _) = vsctl(&["--socket=/nonexistent/x.sock", "--version"], &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("vsctl (rvswitch) "), "{out}");
}

fn ok_bond(s: &str) {
    assert_eq!(
        vsctl(&[s, "add-bond", "br0", "bond0", "e0", "e1"], &[]),
        (0, String::new(), String::new())
    );
    assert_eq!(
        vsctl(&[s, "bond/show", "bond0"], &[]),
        (0, "---- bond0 ----\n".to_string(), String::new())
    );
}

#[test]
fn vsctl_sends_its_command_line_but_the_socket_option() {
    let dir = TempDir::new("argv");
    let path = dir.0.join("s.sock");
    start(&path, ServerConfig::default(), echo);
    let p = path.to_str().unwrap();
    let uid = server::own_uid();
    // `--socket` in any spelling is the client's; the rest goes as given
    // (abbreviations included: the daemon reads them with the same table).
    let sock_eq = format!("--sock={p}");
    for args in [
        vec!["--socket", p, "--no-heading", "-t", "5", "list-br"],
        vec![&sock_eq, "--no-heading", "-t", "5", "list-br"],
        vec!["--no-heading", "--so", p, "-t", "5", "list-br"],
    ] {
        assert_eq!(
            vsctl(&args, &[]),
            (
                0,
                format!("--no-heading -t 5 list-br from uid {uid}\n"),
                String::new()
            ),
            "{args:?}"
        );
    }
    // After the first command nothing is the client's.
    assert_eq!(
        vsctl(
            &[
                &format!("--socket={p}"),
                "add-br",
                "b",
                "--",
                "--socket=x",
                "list-br"
            ],
            &[]
        )
        .1,
        format!("add-br b -- --socket=x list-br from uid {uid}\n")
    );
    // Bad global options are refused before connecting.
    assert_eq!(
        vsctl(&["--socket=/nonexistent/x.sock", "--no", "list-br"], &[]),
        (
            1,
            String::new(),
            "vsctl: option '--no' is ambiguous; possibilities: '--no-syslog' '--no-wait' '--no-leader-only' '--no-shuffle-remotes' '--no-headings'\n".to_string()
        )
    );
}

#[test]
fn vsctl_without_a_daemon() {
    let (code, out, err) = vsctl(&["--socket=/nonexistent/rvswitch/x.sock", "show"], &[]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with("vsctl: cannot connect to vswitchd at /nonexistent/rvswitch/x.sock: No such file or directory"),
        "{err}"
    );
    assert!(
        err.ends_with("(is vswitchd running? start it with: vswitchd --pidfile --detach, or systemctl start rvswitch)\n"),
        "{err}"
    );
}

#[test]
fn other_users_cannot_reach_the_socket() {
    if server::own_uid() != 0 {
        // Needs root to run vsctl as another user.
        return;
    }
    let dir = TempDir::new("otheruser");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = start_daemon(&dir.0);
    use std::os::unix::process::CommandExt;
    let out = Command::new(env!("CARGO_BIN_EXE_vsctl"))
        .arg(format!("--socket={}", sock.display()))
        .arg("add-br")
        .arg("evil")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("cannot connect") && err.contains("Permission denied"),
        "{err}"
    );
}
