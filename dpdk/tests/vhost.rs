//! vhost-user client ports against a real peer: `dpdk-testpmd` with a
//! `net_virtio_user` port in server mode (what QEMU does under libvirt's
//! `mode='server'`). We receive testpmd's txonly packets, testpmd (rxonly)
//! counts the packets we send, and our client reconnects by itself when
//! testpmd is killed and started again. One test: EAL once per process.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::packet::{Burst, Packet, RxQueue, TxQueue, BURST};
use dpdk::eal::SOCKET_ID_ANY;
use dpdk::mempool::DEFAULT_DATA_ROOM;
use dpdk::{Mbuf, Mempool, VhostClient};

use common::{frame, init_eal};

/// testpmd peers of one test; kills them and removes the socket, logs and
/// runtime directories when dropped, also when the test fails.
struct Peer {
    dir: PathBuf,
    sock: PathBuf,
    child: Option<Child>,
    prefixes: Vec<String>,
    logs: Vec<PathBuf>,
}

impl Peer {
    fn new() -> Peer {
        let dir = PathBuf::from(format!("/tmp/rvs-vhost-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Peer {
            sock: dir.join("vhu0.sock"),
            dir,
            child: None,
            prefixes: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// Start testpmd in `mode` (txonly / rxonly) as the vhost-user server,
    /// both of its lcores on core 0, stdout line-buffered into a log.
    fn start(&mut self, mode: &str) {
        assert!(self.child.is_none());
        // A killed server leaves its socket file behind; a new one could not bind.
        let _ = fs::remove_file(&self.sock);
        let n = self.logs.len();
        let prefix = format!("rvs-vhost-peer-{}-{n}", std::process::id());
        let log = self.dir.join(format!("testpmd-{n}-{mode}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new("stdbuf")
            .args(["-oL", "-eL", "dpdk-testpmd", "--lcores", "0@0,1@0"])
            .args([
                "--in-memory",
                "--single-file-segments",
                "--no-pci",
                "--no-telemetry",
            ])
            .args(["--file-prefix", &prefix, "--vdev"])
            .arg(format!(
                "net_virtio_user0,path={},server=1,queue_size=1024",
                self.sock.display()
            ))
            .arg("--")
            .arg(format!("--forward-mode={mode}"))
            .args([
                "--stats-period",
                "1",
                "--nb-cores",
                "1",
                "--total-num-mbufs",
                "4096",
            ])
            .args(["--rxd", "1024", "--txd", "1024"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn dpdk-testpmd (package dpdk-dev)");
        self.child = Some(child);
        self.prefixes.push(prefix);
        self.logs.push(log);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        self.logs
            .last()
            .map(|l| String::from_utf8_lossy(&fs::read(l).unwrap_or_default()).into_owned())
            .unwrap_or_default()
    }

    /// The largest `RX-packets:` count testpmd printed so far.
    fn rx_packets(&self) -> u64 {
        let log = self.log();
        log.match_indices("RX-packets:")
            .filter_map(|(i, k)| {
                log[i + k.len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0)
    }

    fn assert_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                panic!("testpmd exited ({st}):\n{}", self.log());
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- last testpmd log ---\n{}", self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
        for p in &self.prefixes {
            let _ = fs::remove_dir_all(Path::new("/var/run/dpdk").join(p));
        }
    }
}

/// Poll `cond` until it holds or `secs` pass (panics with `what`).
fn wait_for(peer: &mut Peer, secs: u64, what: &str, mut cond: impl FnMut(&Peer) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond(peer) {
        peer.assert_alive();
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `d` is one of testpmd's txonly frames: 64 bytes, IPv4/UDP
/// 198.18.0.1:9 -> 198.18.0.2:9.
fn is_txonly_frame(d: &[u8]) -> bool {
    d.len() == 64
        && d[12..14] == [0x08, 0x00]
        && d[14] == 0x45
        && d[23] == 17
        && d[26..30] == [198, 18, 0, 1]
        && d[30..34] == [198, 18, 0, 2]
        && d[34..36] == [0, 9]
        && d[36..38] == [0, 9]
}

#[test]
fn vhost_client_with_testpmd() {
    // Our side polls on core 1, testpmd on core 0.
    let _eal = init_eal("1");
    let pool = Mempool::pktmbuf("t_vhost", 8191, 64, DEFAULT_DATA_ROOM, SOCKET_ID_ANY).unwrap();
    let mut peer = Peer::new();
    let path = peer.sock.to_str().unwrap().to_string();

    let client = VhostClient::register(&path).expect("register");
    assert!(
        VhostClient::register(&path).is_err(),
        "a path registers once"
    );
    let st = client.status();
    assert_eq!(
        (st.connected, st.vid, st.n_queues, st.generation),
        (false, -1, 0, 0)
    );
    assert_eq!(st.path, path);
    assert!(
        client.rx_queue(32, &pool).is_err(),
        "queue pair out of range"
    );

    let mut rxq = client.rx_queue(0, &pool).unwrap();
    let mut txq = client.tx_queue(0).unwrap();
    let mut b: Burst<Mbuf> = Burst::new();
    assert_eq!(rxq.rx_burst(&mut b), 0, "nothing before a guest connects");
    b.push(Mbuf::from_bytes(&pool, &frame(0, 64)).unwrap());
    assert_eq!(txq.tx_burst(&mut b), 0);
    assert_eq!(b.len(), 1, "unsent packet stays in the burst");
    drop(b);

    // --- testpmd txonly: we receive its packets on a PMD thread. ---
    peer.start("txonly");
    wait_for(&mut peer, 60, "first connection", |_| {
        let s = client.status();
        s.connected && s.n_queues >= 1
    });
    let first = client.status();
    assert!(first.vid >= 0);
    assert_eq!(first.generation, 1);

    let stop = Arc::new(AtomicBool::new(false));
    let good = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let pmd = {
        let (stop, good, bad) = (stop.clone(), good.clone(), bad.clone());
        std::thread::spawn(move || {
            let _reg = dpdk::thread::register_current().expect("register PMD thread");
            let mut b: Burst<Mbuf> = Burst::new();
            while !stop.load(Ordering::Relaxed) {
                if rxq.rx_burst(&mut b) == 0 {
                    std::hint::spin_loop();
                    continue;
                }
                let ok = b.iter().filter(|m| is_txonly_frame(m.data())).count();
                good.fetch_add(ok as u64, Ordering::Relaxed);
                bad.fetch_add((b.len() - ok) as u64, Ordering::Relaxed);
                Mbuf::free_bulk(&mut b);
            }
            rxq
        })
    };
    wait_for(&mut peer, 60, "10000 txonly packets", |_| {
        good.load(Ordering::Relaxed) >= 10_000
    });

    // Kill the server while the PMD thread keeps polling: destroy_device
    // must wait for its burst in flight, and the client must notice.
    peer.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.is_connected() {
        assert!(Instant::now() < deadline, "disconnect not noticed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let down = client.status();
    assert_eq!((down.connected, down.vid), (false, -1));
    stop.store(true, Ordering::Relaxed);
    let mut rxq = pmd.join().expect("PMD thread");
    assert_eq!(
        bad.load(Ordering::Relaxed),
        0,
        "only testpmd txonly frames arrive"
    );
    let mut b: Burst<Mbuf> = Burst::new();
    assert_eq!(rxq.rx_burst(&mut b), 0, "no device, no packets");

    // --- testpmd restarted (rxonly): we reconnect by ourselves. ---
    peer.start("rxonly");
    wait_for(&mut peer, 60, "reconnection", |_| {
        let s = client.status();
        s.connected && s.n_queues >= 1 && s.generation > first.generation
    });
    let second = client.status();
    assert!(second.vid >= 0);
    assert_eq!(second.generation, 2);

    let base = pool.in_use_count();
    let n = 5000u32;
    let mut next = 0u32;
    let mut sent = 0usize;
    let mut b: Burst<Mbuf> = Burst::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent < n as usize {
        while b.len() < BURST && next < n {
            b.push(Mbuf::from_bytes(&pool, &frame(next, 64)).unwrap());
            next += 1;
        }
        let before = b.len();
        let k = txq.tx_burst(&mut b);
        assert_eq!(
            b.len(),
            before - k,
            "sent packets leave the burst, unsent stay"
        );
        sent += k;
        if k == 0 {
            peer.assert_alive();
            assert!(
                Instant::now() < deadline,
                "testpmd accepted only {sent} packets"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(
        pool.in_use_count(),
        base,
        "enqueue copies; sent mbufs are freed"
    );
    wait_for(&mut peer, 30, "testpmd to count our packets", |p| {
        p.rx_packets() >= u64::from(n)
    });
    assert_eq!(
        peer.rx_packets(),
        u64::from(n),
        "testpmd counted exactly our packets"
    );

    // --- unregister: the device goes away and the queues go inert. ---
    client.unregister().unwrap();
    let st = client.status();
    assert_eq!((st.connected, st.vid), (false, -1));
    let mut b: Burst<Mbuf> = Burst::new();
    b.push(Mbuf::from_bytes(&pool, &frame(1, 64)).unwrap());
    assert_eq!(txq.tx_burst(&mut b), 0);
    drop(b);
    drop((rxq, txq, client));
    assert_eq!(pool.in_use_count(), 0, "no mbuf leaked");
}
