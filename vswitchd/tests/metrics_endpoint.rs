//! The metrics endpoint (`Open_vSwitch other_config:metrics-listen`):
//! off by default (the daemon has no TCP listener); turned on, it serves
//! `GET /metrics` that `promtool check metrics` accepts and whose values
//! are the switch's: packet counts equal the `statistics` column, a drop
//! reason is there with its count, the bridge's MAC entries, the PMD's
//! cycles, a bond member's state (and its change by
//! `bond/disable-member`). A non-loopback address is refused. A client
//! that never sends its request neither blocks vsctl nor stops the next
//! scrape. Moving the address moves the listener, a restarted daemon
//! listens again, and clearing the key stops it.
//!
//! Bridge br0: a net_null sink `d`, an active-backup bond `b0` of two
//! net_null members, and a net_pcap source `s` that replays, once, N
//! broadcast frames from N source MACs and R frames to the LLDP address
//! (dropped as `rx_dropped_reserved_multicast`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lacp::{add_pcap_source, add_sink};
use common::switch::unquote;
use common::*;

const N: u64 = 300;
const R: u64 = 7;

/// Run `f` on a thread inside network namespace `ns` (the daemon's: its
/// loopback is not the test's).
fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("netns file");
    std::thread::scope(|sc| {
        let t = sc.spawn(|| {
            // SAFETY: setns with an open namespace descriptor; it moves
            // only this scoped thread, which ends after `f`.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        });
        t.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// A loopback port of `ns` that was free a moment ago.
fn free_port(ns: &str) -> u16 {
    in_ns(ns, || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    })
}

/// Whether something accepts connections on 127.0.0.1:`port` in `ns`.
fn open(ns: &str, port: u16) -> bool {
    in_ns(ns, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// The local addresses (`IP:PORT`, hex as in /proc/net/tcp) of the TCP
/// sockets process `pid` listens on.
fn tcp_listeners(pid: u32) -> Vec<String> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("daemon's fds")
        .flatten()
        .filter_map(|e| {
            let l = std::fs::read_link(e.path()).ok()?;
            let l = l.to_str()?;
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        // The tables of the process's own network namespace.
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address, st (0A = LISTEN), inode
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                out.push(f[1].to_string());
            }
        }
    }
    out
}

/// Send `request` to 127.0.0.1:`port` in `ns`; the whole answer as text.
fn http(ns: &str, port: u16, request: &[u8]) -> Result<String, String> {
    in_ns(ns, || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(request).map_err(|e| format!("write: {e}"))?;
        let mut v = Vec::new();
        s.read_to_end(&mut v).map_err(|e| format!("read: {e}"))?;
        String::from_utf8(v).map_err(|e| format!("not UTF-8: {e}"))
    })
}

/// `GET /metrics` (with `accept`, if any): (status line, headers, body).
fn scrape(ns: &str, port: u16, accept: Option<&str>) -> (String, String, String) {
    let accept = accept.map_or_else(String::new, |a| format!("Accept: {a}\r\n"));
    let req = format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\n{accept}\r\n");
    let text = http(ns, port, req.as_bytes()).unwrap_or_else(|e| panic!("scrape: {e}"));
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let len: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(len, body.len(), "Content-Length");
    (status.to_string(), headers.to_string(), body.to_string())
}

/// The value of the sample `series` (name and labels exactly).
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{body}"))
}

/// `promtool check metrics` on `body`; it must be installed
/// (scripts/install-deps.sh: package prometheus).
fn promtool_check(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (package prometheus, scripts/install-deps.sh) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}): {}{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
}

fn add_null_bond(sw: &Switch) {
    sw.vsctl_ok(&[
        "add-bond",
        "br0",
        "b0",
        "m0",
        "m1",
        "bond_mode=active-backup",
        "--",
        "set",
        "Interface",
        "m0",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null1,no-rx=1\"",
        "--",
        "set",
        "Interface",
        "m1",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null2,no-rx=1\"",
    ]);
}

#[test]
fn metrics_endpoint_serves_what_the_switch_counts() {
    let _g = serial();
    let dir = TestDir::new("metrics");
    let src = dir.join("s.pcap");
    let mut frames: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            let b = (i + 1).to_be_bytes();
            let mac = [0x02, 0x6d, b[4], b[5], b[6], b[7]];
            pcap::udp_frame([0xff; 6], mac, 1000, 2000, i as u32)
        })
        .collect();
    let lldp = [0x01, 0x80, 0xc2, 0, 0, 0x0e];
    frames.extend((0..R).map(|i| pcap::udp_frame(lldp, [0x02, 0x6e, 0, 0, 0, 1], 1, 2, i as u32)));
    pcap::write(&src, &frames);

    let mut sw = Switch::start("metrics");
    let pid = sw.pid().expect("daemon pid");
    let ns = sw.netns.name.clone();
    let ns = ns.as_str();
    assert_eq!(tcp_listeners(pid), Vec::<String>::new(), "off by default");

    let port = free_port(ns);
    let addr = format!("127.0.0.1:{port}");
    let key = format!("other_config:metrics-listen={addr}");
    sw.vsctl_ok(&["set", "Open_vSwitch", ".", &key]);
    // Not loopback, not allowed: refused, nothing changed.
    let e = sw.vsctl_err(&[
        "set",
        "Open_vSwitch",
        ".",
        &format!("other_config:metrics-listen=0.0.0.0:{port}"),
    ]);
    assert!(
        e.starts_with("vsctl: ") && e.contains("is not a loopback address"),
        "{e}"
    );
    let e = sw.vsctl_err(&[
        "set",
        "Open_vSwitch",
        ".",
        "other_config:metrics-listen=9475",
    ]);
    assert!(e.contains("is not an IP address and port"), "{e}");
    assert_eq!(
        unquote(
            sw.vsctl_ok(&["get", "Open_vSwitch", ".", "other_config:metrics-listen"])
                .trim()
        ),
        addr
    );
    assert_eq!(tcp_listeners(pid).len(), 1, "{:?}", tcp_listeners(pid));

    sw.add_bridge("br0", &[]);
    sw.vsctl_ok(&["set", "interface", "br0", "admin_state=down"]);
    add_sink(&sw, "br0", "d");
    add_null_bond(&sw);
    add_pcap_source(&sw, "br0", "s", "net_pcap0", &src);
    wait_until("the source's frames counted", 20, || {
        let (rx, drop) = (
            sw.stat("s", "rx_packets"),
            sw.stat("s", "rx_dropped_reserved_multicast"),
        );
        if rx >= N + R && drop == R {
            Ok(())
        } else {
            Err(format!("rx_packets {rx}, reserved multicast drops {drop}"))
        }
    });

    // PMDs publish their counts every 256 iterations: wait for them.
    let pmd = r#"{core="1",numa="0"}"#;
    let body = wait_until("PMD counts published", 10, || {
        let (status, headers, body) = scrape(ns, port, None);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers.contains("Content-Type: text/plain; version=0.0.4"),
            "{headers}"
        );
        let seen = sample(&body, &format!("rvswitch_pmd_packets_received_total{pmd}"));
        if seen >= N + R {
            Ok(body)
        } else {
            Err(format!("pmd packets_received {seen}"))
        }
    });
    println!("{body}");
    promtool_check(&body);

    let s = r#"bridge="br0",interface="s""#;
    let d = r#"bridge="br0",interface="d""#;
    for (iface, labels) in [("s", s), ("d", d)] {
        for key in ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"] {
            assert_eq!(
                sample(
                    &body,
                    &format!("rvswitch_interface_{key}_total{{{labels}}}")
                ),
                sw.stat(iface, key),
                "{iface} {key}"
            );
        }
    }
    assert_eq!(
        sample(
            &body,
            &format!("rvswitch_interface_rx_packets_total{{{s}}}")
        ),
        N + R
    );
    assert!(
        sample(
            &body,
            &format!("rvswitch_interface_tx_packets_total{{{d}}}")
        ) >= N
    );
    assert_eq!(
        sample(
            &body,
            &format!(
                r#"rvswitch_interface_dropped_total{{{s},direction="rx",reason="reserved_multicast"}}"#
            )
        ),
        R
    );
    let entries = sample(&body, r#"rvswitch_bridge_mac_entries{bridge="br0"}"#);
    assert!(entries >= N, "MAC entries {entries}");
    assert!(sample(&body, &format!("rvswitch_pmd_processing_cycles_total{pmd}")) > 0);
    assert!(sample(&body, &format!("rvswitch_pmd_idle_cycles_total{pmd}")) > 0);
    let enabled = |body: &str, m: &str| {
        sample(
            body,
            &format!(r#"rvswitch_bond_member_enabled{{bond="b0",member="{m}"}}"#),
        )
    };
    assert_eq!((enabled(&body, "m0"), enabled(&body, "m1")), (1, 1));

    // A bond member's state change shows in the next scrape.
    sw.vsctl_ok(&["bond/disable-member", "b0", "m1"]);
    assert!(!sw.bond_show("b0").enabled("m1"));
    let (_, _, body) = scrape(ns, port, None);
    assert_eq!((enabled(&body, "m0"), enabled(&body, "m1")), (1, 0));

    // OpenMetrics for those who ask for it.
    let (status, headers, om) = scrape(
        ns,
        port,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{headers}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE rvswitch_interface_rx_packets counter\n"));

    // Other requests.
    let head = |t: String| t.lines().next().unwrap_or("").to_string();
    assert_eq!(
        head(http(ns, port, b"GET / HTTP/1.1\r\n\r\n").unwrap()),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        head(
            http(
                ns,
                port,
                b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
            )
            .unwrap()
        ),
        "HTTP/1.1 405 Method Not Allowed"
    );
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(16 * 1024)
    );
    let t = http(ns, port, huge.as_bytes()).unwrap_or_default();
    assert!(
        t.is_empty() || head(t.clone()) == "HTTP/1.1 431 Request Header Fields Too Large",
        "{t}"
    );

    // Clients that never send a request block neither vsctl nor, for
    // longer than the 2 s request deadline, the next scrape.
    let idle: Vec<TcpStream> = in_ns(ns, || {
        (0..4)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect()
    });
    let t = Instant::now();
    sw.vsctl_ok(&["show"]);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "vsctl took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let (status, _, _) = scrape(ns, port, None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        t.elapsed() < Duration::from_secs(12),
        "scrape took {:?}",
        t.elapsed()
    );
    drop(idle);

    // Moving the listener, then stopping it.
    let port2 = free_port(ns);
    sw.vsctl_ok(&[
        "set",
        "Open_vSwitch",
        ".",
        &format!("other_config:metrics-listen=127.0.0.1:{port2}"),
    ]);
    assert!(!open(ns, port), "old port still open");
    let (status, _, _) = scrape(ns, port2, None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(tcp_listeners(pid), vec![format!("0100007F:{port2:04X}")]);

    // A restarted daemon listens where its configuration says.
    sw.restart();
    let pid = sw.pid().expect("daemon pid");
    wait_until("the restarted daemon's metrics listener", 20, || {
        sw.check_alive();
        if open(ns, port2) {
            Ok(())
        } else {
            Err(format!("nothing on port {port2}"))
        }
    });
    let (status, _, body) = scrape(ns, port2, None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains(r#"rvswitch_bridge_mac_entries{bridge="br0"}"#),
        "{body}"
    );
    assert_eq!(tcp_listeners(pid).len(), 1);

    sw.vsctl_ok(&[
        "remove",
        "Open_vSwitch",
        ".",
        "other_config",
        "metrics-listen",
    ]);
    assert!(!open(ns, port2));
    assert_eq!(tcp_listeners(pid), Vec::<String>::new(), "stopped");
    sw.check_alive();
}
