//! ethdev, mempool and mbuf over real DPDK: a `net_ring` port that loops
//! its tx ring back to its rx queue, and a pair of `net_null` ports.
//! One test: EAL can be initialized once per process.

mod common;

use datapath::packet::{Burst, Packet, RxQueue, TxQueue, BURST};
use dpdk::eal::{self, SOCKET_ID_ANY};
use dpdk::ethdev::{self, EthDev};
use dpdk::mempool::{DEFAULT_DATA_ROOM, HEADROOM};
use dpdk::{Eal, Mbuf, Mempool};

use common::{frame, init_eal, seq_of};

/// Receive until `n` packets arrived (net_ring delivers synchronously, so
/// a few empty polls mean nothing more is coming).
fn rx_n(rxq: &mut impl RxQueue<Mbuf>, n: usize) -> Vec<Mbuf> {
    let mut got = Vec::with_capacity(n);
    let mut empty = 0;
    while got.len() < n && empty < 100 {
        let mut b: Burst<Mbuf> = Burst::new();
        if rxq.rx_burst(&mut b) == 0 {
            empty += 1;
        }
        got.extend(b.drain(..));
    }
    got
}

fn mbuf_ops(pool: &Mempool) {
    let base = pool.in_use_count();
    let f = frame(7, 60);
    let mut m = Mbuf::from_bytes(pool, &f).expect("from_bytes");
    assert_eq!(m.data(), &f[..]);
    assert_eq!(m.pkt_len(), 60);
    assert_eq!(m.headroom(), usize::from(HEADROOM));
    assert_eq!(m.nb_segs(), 1);
    assert_eq!(m.rss_hash(), None, "no RSS flag on a locally built mbuf");
    assert_eq!(pool.in_use_count(), base + 1);

    // prepend / adj exactly like rte_pktmbuf_prepend / adj.
    assert!(m.prepend(4));
    assert_eq!(m.headroom(), usize::from(HEADROOM) - 4);
    assert_eq!(m.pkt_len(), 64);
    assert_eq!(&m.data()[4..], &f[..]);
    m.data_mut()[..4].copy_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    assert_eq!(&m.data()[..4], &[0x81, 0x00, 0x00, 0x0a]);
    assert!(m.adj(4));
    assert_eq!(m.data(), &f[..]);
    assert_eq!(m.headroom(), usize::from(HEADROOM));
    assert!(
        !m.prepend(usize::from(HEADROOM) + 1),
        "more than the headroom"
    );
    assert_eq!(m.data(), &f[..], "failed prepend changes nothing");
    assert!(!m.adj(61), "more than the data");
    assert_eq!(m.data(), &f[..], "failed adj changes nothing");
    assert!(m.prepend(usize::from(HEADROOM)));
    assert_eq!(m.headroom(), 0);
    assert!(!m.prepend(1));
    assert!(m.adj(usize::from(HEADROOM)));

    // try_copy: same bytes, fresh headroom, independent buffer.
    let mut c = m.try_copy().expect("copy");
    assert_eq!(c.data(), m.data());
    assert_eq!(c.headroom(), usize::from(HEADROOM));
    c.data_mut()[0] = 0x00;
    assert_eq!(m.data()[0], 0xff, "copy shares no bytes with the original");
    assert_eq!(pool.in_use_count(), base + 2);
    drop(c);
    drop(m);
    assert_eq!(pool.in_use_count(), base);

    // from_bytes that cannot fit frees what it allocated.
    let big = vec![0u8; usize::from(DEFAULT_DATA_ROOM)];
    assert!(Mbuf::from_bytes(pool, &big).is_err());
    assert_eq!(pool.in_use_count(), base);

    // free_bulk frees a whole burst and leaves it empty.
    let mut b: Burst<Mbuf> = (0..BURST as u32)
        .map(|i| Mbuf::from_bytes(pool, &frame(i, 64)).unwrap())
        .collect();
    assert_eq!(pool.in_use_count(), base + BURST as u32);
    Mbuf::free_bulk(&mut b);
    assert!(b.is_empty());
    assert_eq!(pool.in_use_count(), base);
}

fn ring_loopback(pool: &Mempool) {
    let base = pool.in_use_count();
    let port = ethdev::probe("net_ring0").expect("probe net_ring0");
    assert_eq!(
        ethdev::probe("net_ring0").unwrap(),
        port,
        "probing twice finds the same port"
    );
    let dev = EthDev::new(port).unwrap();
    let info = dev.info().unwrap();
    assert_eq!(info.name, "net_ring0");
    assert_eq!(info.driver_name, "net_ring");
    assert!(info.max_rx_queues >= 1 && info.max_tx_queues >= 1);
    assert!(dev.rx_queue(0).is_err(), "no queue before configure");

    dev.configure(1, 1, 0, 0, pool).expect("configure");
    dev.start().expect("start");
    assert!(dev.link().unwrap().up, "net_ring link is up once started");
    dev.promiscuous(true).unwrap();
    let _ = dev.mac_addr().unwrap();
    dev.reset_stats().unwrap();
    assert!(
        dev.configure(1, 1, 0, 0, pool).is_err(),
        "configure needs a stopped port"
    );

    let mut rxq = dev.rx_queue(0).unwrap();
    let mut txq = dev.tx_queue(0).unwrap();
    assert!(dev.rx_queue(0).is_err(), "one handle per queue");
    assert!(dev.tx_queue(1).is_err(), "queue 1 is not configured");

    // 100 known frames of varied lengths go around the ring intact.
    let n = 100u32;
    let lens: Vec<usize> = (0..n).map(|i| 60 + (i as usize * 37) % 1455).collect();
    let mut sent = 0;
    let mut bytes = 0u64;
    for chunk in (0..n).collect::<Vec<_>>().chunks(BURST) {
        let mut b: Burst<Mbuf> = chunk
            .iter()
            .map(|&i| Mbuf::from_bytes(pool, &frame(i, lens[i as usize])).unwrap())
            .collect();
        bytes += b.iter().map(|m| m.pkt_len() as u64).sum::<u64>();
        let k = txq.tx_burst(&mut b);
        assert_eq!(k, chunk.len());
        assert!(b.is_empty(), "sent packets leave the burst");
        sent += k;
    }
    assert_eq!(sent, n as usize);
    let got = rx_n(&mut rxq, n as usize);
    assert_eq!(got.len(), n as usize);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.data(), &frame(i as u32, lens[i])[..], "frame {i}");
        assert_eq!(m.pkt_len(), lens[i]);
    }
    drop(got);
    let st = dev.stats().unwrap();
    assert_eq!((st.opackets, st.ipackets), (n as u64, n as u64));
    // net_ring counts packets only; check the bytes ourselves.
    assert_eq!(lens.iter().sum::<usize>() as u64, bytes);
    assert_eq!(pool.in_use_count(), base);

    // Fill the ring: tx keeps accepting until it is full, then leaves the
    // unsent packets, in order, in the burst.
    let mut seq = 0u32;
    let mut accepted = Vec::new();
    let leftover: Burst<Mbuf> = loop {
        let mut b: Burst<Mbuf> = (0..BURST as u32)
            .map(|i| Mbuf::from_bytes(pool, &frame(seq + i, 64)).unwrap())
            .collect();
        let k = txq.tx_burst(&mut b);
        accepted.extend(seq..seq + k as u32);
        seq += BURST as u32;
        if !b.is_empty() {
            assert_eq!(b.len(), BURST - k);
            break b;
        }
        assert!(seq < 10_000, "ring never filled");
    };
    assert_eq!(accepted.len(), 1023, "a 1024-slot rte_ring holds 1023");
    let first_unsent = *accepted.last().unwrap() + 1;
    let left: Vec<u32> = leftover.iter().map(|m| seq_of(m.data())).collect();
    assert_eq!(
        left,
        (first_unsent..first_unsent + left.len() as u32).collect::<Vec<_>>()
    );
    let mut leftover = leftover;
    assert_eq!(txq.tx_burst(&mut leftover), 0, "still full");
    assert_eq!(
        leftover.len(),
        left.len(),
        "nothing removed when nothing sent"
    );
    let got = rx_n(&mut rxq, accepted.len());
    let got_seqs: Vec<u32> = got.iter().map(|m| seq_of(m.data())).collect();
    assert_eq!(got_seqs, accepted);
    let mut got: Burst<Mbuf> = got.into_iter().take(BURST).collect::<Burst<Mbuf>>();
    Mbuf::free_bulk(&mut got);
    Mbuf::free_bulk(&mut leftover);
    assert_eq!(pool.in_use_count(), base, "no mbuf leaked");

    // A stopped port refuses bursts without touching the device.
    dev.stop().unwrap();
    let mut b: Burst<Mbuf> = Burst::new();
    b.push(Mbuf::from_bytes(pool, &frame(1, 64)).unwrap());
    assert_eq!(txq.tx_burst(&mut b), 0);
    assert_eq!(b.len(), 1);
    let mut r: Burst<Mbuf> = Burst::new();
    assert_eq!(rxq.rx_burst(&mut r), 0);
    dev.start().unwrap();
    assert_eq!(txq.tx_burst(&mut b), 1);
    assert_eq!(rx_n(&mut rxq, 1).len(), 1);
    assert_eq!(pool.in_use_count(), base);

    // Remove: queue handles go inert, EthDev handles fail, and the device
    // can be probed again under the same name.
    ethdev::remove(port).expect("remove");
    assert!(dev.info().is_err(), "removed port");
    assert!(!ethdev::is_valid_port(port) || ethdev::port_name(port).unwrap() != "net_ring0");
    let mut b: Burst<Mbuf> = Burst::new();
    b.push(Mbuf::from_bytes(pool, &frame(2, 64)).unwrap());
    assert_eq!(txq.tx_burst(&mut b), 0);
    assert_eq!(rxq.rx_burst(&mut r), 0);
    drop(b);
    drop((rxq, txq));
    let again = ethdev::probe("net_ring0").expect("probe again after remove");
    ethdev::remove(again).unwrap();
    assert_eq!(pool.in_use_count(), base);
}

fn null_pair(pool: &Mempool) {
    let base = pool.in_use_count();
    let a = EthDev::new(ethdev::probe("net_null0,size=128").unwrap()).unwrap();
    let b = EthDev::new(ethdev::probe("net_null1").unwrap()).unwrap();
    assert_ne!(a.port(), b.port());
    assert_eq!(a.info().unwrap().driver_name, "net_null");
    for d in [&a, &b] {
        d.configure(2, 2, 256, 256, pool).unwrap();
        d.set_mtu(1500).unwrap();
        assert_eq!(d.mtu().unwrap(), 1500);
        d.start().unwrap();
    }
    let mut rx = a.rx_queue(1).unwrap();
    let mut tx = b.tx_queue(1).unwrap();
    let mut total = 0;
    for _ in 0..10 {
        let mut burst: Burst<Mbuf> = Burst::new();
        let k = rx.rx_burst(&mut burst);
        assert_eq!(k, BURST, "net_null always fills the burst");
        assert!(burst.iter().all(|m| m.pkt_len() == 128));
        assert_eq!(tx.tx_burst(&mut burst), k);
        total += k as u64;
    }
    // A partly filled burst only gets the remaining room.
    let mut burst: Burst<Mbuf> = Burst::new();
    burst.push(Mbuf::from_bytes(pool, &frame(0, 64)).unwrap());
    assert_eq!(rx.rx_burst(&mut burst), BURST - 1);
    assert_eq!(burst.len(), BURST);
    assert_eq!(rx.rx_burst(&mut burst), 0, "full burst");
    Mbuf::free_bulk(&mut burst);
    assert_eq!(a.stats().unwrap().ipackets, total + BURST as u64 - 1);
    assert_eq!(b.stats().unwrap().opackets, total);
    assert_eq!(pool.in_use_count(), base);
    device_events(&a);
    drop((rx, tx));
    ethdev::remove(a.port()).unwrap();
    ethdev::remove(b.port()).unwrap();
    assert!(ethdev::ports().is_empty(), "every port removed");
}

/// What a bus driver reports (vfio-pci's release request on hot-unplug
/// arrives this way) reaches `dpdk::events`, by device name, once.
fn device_events(a: &EthDev) {
    assert!(a
        .xstats()
        .unwrap()
        .iter()
        .any(|(n, _)| n == "rx_good_packets"));
    let name = a.device_name().expect("device name");
    assert_eq!(name, "net_null0");
    dpdk::events::watch_devices().unwrap();
    dpdk::events::watch_port(a.port()).unwrap();
    assert!(dpdk::events::take_removed().is_empty());
    let c = std::ffi::CString::new(name.clone()).unwrap();
    // SAFETY: EAL is up; `c` is a valid C string for the call. This is the
    // call a bus driver makes when the kernel takes a device back.
    unsafe { dpdk_sys::rte_dev_event_callback_process(c.as_ptr(), dpdk_sys::RTE_DEV_EVENT_REMOVE) };
    assert_eq!(dpdk::events::take_removed(), vec![name]);
    assert!(dpdk::events::take_removed().is_empty(), "taken once");
}

fn foreign_thread(pool: &Mempool) {
    let pool = pool.clone();
    std::thread::spawn(move || {
        assert_eq!(eal::lcore_id(), None, "a std thread is no lcore");
        let reg = dpdk::thread::register_current().expect("register");
        assert_eq!(eal::lcore_id(), Some(reg.lcore_id()));
        let base = pool.in_use_count();
        let mut b: Burst<Mbuf> = (0..BURST as u32)
            .map(|i| Mbuf::from_bytes(&pool, &frame(i, 64)).unwrap())
            .collect();
        assert_eq!(pool.in_use_count(), base + BURST as u32);
        Mbuf::free_bulk(&mut b);
        assert_eq!(pool.in_use_count(), base);
        drop(reg);
        assert_eq!(eal::lcore_id(), None, "unregistered on drop");
    })
    .join()
    .unwrap();
}

#[test]
fn ethdev_mempool_mbuf() {
    let test_eal = init_eal("0");
    let eal = &test_eal.eal;
    assert!(
        Eal::init(&["--no-pci".to_string()]).is_err(),
        "EAL initializes once"
    );
    assert_eq!(eal.lcore_count(), 1);
    assert!(eal::tsc_hz() > 0);
    let t0 = eal::tsc();
    assert!(eal::tsc() > t0);
    assert_eq!(eal::lcore_id(), Some(eal.main_lcore()));

    assert!(Mempool::pktmbuf("bad\0name", 1023, 0, DEFAULT_DATA_ROOM, SOCKET_ID_ANY).is_err());
    let pool =
        Mempool::pktmbuf("t_ethdev", 4095, 64, DEFAULT_DATA_ROOM, SOCKET_ID_ANY).expect("mempool");
    assert_eq!(pool.capacity(), 4095);
    assert_eq!(pool.data_room(), DEFAULT_DATA_ROOM);
    let dup = Mempool::pktmbuf("t_ethdev", 1023, 0, DEFAULT_DATA_ROOM, SOCKET_ID_ANY);
    let e = dup.expect_err("duplicate pool name");
    assert!(e.to_string().contains("t_ethdev"), "{e}");
    let base = pool.in_use_count();
    assert_eq!(base, 0);

    mbuf_ops(&pool);
    ring_loopback(&pool);
    null_pair(&pool);
    foreign_thread(&pool);

    let e = ethdev::probe("net_nosuchdriver0").expect_err("unknown driver");
    assert!(e.to_string().contains("net_nosuchdriver0"), "{e}");
    assert_eq!(pool.in_use_count(), base, "no mbuf leaked overall");
    assert_eq!(pool.avail_count(), pool.capacity());
}
