//! Opening, polling and closing the devices behind interfaces.
//!
//! Every interface type ends up as an ethdev or a vhost-user client:
//!
//! | type | device |
//! | --- | --- |
//! | `dpdk` | `options:dpdk-devargs`: a PCI address (hot-plugged) or any vdev |
//! | `dpdkvhostuserclient` | DPDK's vhost library in client mode, reconnecting |
//! | `internal` | a TAP device (`net_tap`) named like the interface |
//! | `""` (system) | the kernel netdev through `net_af_packet`, as OVS's userspace datapath opens it with AF_PACKET |
//!
//! Transmit queues: every PMD slot gets its own queue and the control
//! thread one more, when the device has enough (`rte_eth_dev_info`);
//! otherwise they share queues behind a mutex taken once per burst, which
//! the control thread only tries (briefly) so a control frame never waits
//! behind a PMD for long.
//!
//! memif (`net_memif`): the peer decides how many queues a connection has,
//! and DPDK 22.11's PMD misbehaves on the others (see `dpdk::memif`). Such
//! a device runs behind a [`MemifPort`] relay: rvswitch serves the socket
//! (`role=server` is required), the queue handles use only the queues the
//! connected peer set up (PMDs and the control thread share them when the
//! peer has fewer than one per sender), and nothing that lets the PMD tear
//! a connection down reaches it while a burst is inside. `status` shows
//! the queues in use (`n_rxq`, `n_txq`, as OVS-DPDK does): [`Device::status`].

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use datapath::packet::{Burst, RxQueue, TxQueue};
use datapath::wire::MacAddr;
use dpdk::memif::{self, MemifArgs, MemifPort};
use dpdk::{ethdev, EthDev, Mbuf, Mempool, VhostClient};

/// A receive queue handle a PMD polls.
pub type RxHandle = Box<dyn RxQueue<Mbuf> + Send>;
/// A transmit queue handle (a PMD's or the control thread's).
pub type TxHandle = Box<dyn TxQueue<Mbuf> + Send>;

/// A transmit queue several threads share, locked once per burst. The
/// control thread's handle only tries the lock, for a bounded time (a PMD
/// holds it for one burst), and leaves the frames unsent (counted by the
/// caller) rather than wait longer.
struct SharedTx {
    queue: Arc<Mutex<TxHandle>>,
    control: bool,
}

/// Try `m` for about as long as a few bursts take.
fn try_lock_briefly<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    for i in 0..4096u32 {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(TryLockError::WouldBlock) if i % 64 == 63 => std::thread::yield_now(),
            Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}

impl TxQueue<Mbuf> for SharedTx {
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        if self.control {
            return try_lock_briefly(&self.queue).map_or(0, |mut q| q.tx_burst(pkts));
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.tx_burst(pkts)
    }
}

/// What an interface asks for; a change of spec reopens the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevSpec {
    /// An ethdev from a devargs string.
    Eth {
        /// The devargs (`0000:08:00.0`, `net_pcap0,rx_pcap=...`).
        devargs: String,
        /// Receive queues.
        n_rxq: u16,
        /// Receive descriptors per queue.
        rxq_desc: u16,
        /// Transmit descriptors per queue.
        txq_desc: u16,
        /// Requested MTU.
        mtu: u16,
        /// Poll it at a reduced rate (a TAP device costs a syscall per poll).
        slow_poll: bool,
    },
    /// A vhost-user client socket.
    Vhost {
        /// The server's socket path.
        path: String,
        /// Requested MTU.
        mtu: u16,
    },
    /// Nothing can be opened; the interface shows this error.
    Unusable(String),
}

impl DevSpec {
    /// The MTU asked for.
    pub fn mtu(&self) -> u16 {
        match self {
            DevSpec::Eth { mtu, .. } | DevSpec::Vhost { mtu, .. } => *mtu,
            DevSpec::Unusable(_) => 1500,
        }
    }
}

/// Whether a kernel netdev called `name` exists.
fn kernel_netdev_exists(name: &str) -> bool {
    !name.contains('/') && std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Whether kernel netdev `name` carries the host's own traffic (it holds
/// the default route); rvswitch refuses to open such a device.
fn is_host_uplink(name: &str) -> bool {
    let Ok(routes) = std::fs::read_to_string("/proc/net/route") else {
        return false;
    };
    routes.lines().skip(1).any(|l| {
        let mut f = l.split_whitespace();
        f.next() == Some(name) && f.next() == Some("00000000")
    })
}

/// The spec for interface `iface` (uid `uid`, for vdev names).
pub fn spec_for(iface: &ctl::db::Interface, uid: u32) -> DevSpec {
    use ctl::db::IfaceType;
    let mtu = iface
        .mtu_request
        .filter(|m| (68..=9600).contains(m))
        .unwrap_or(1500) as u16;
    match iface.iface_type {
        IfaceType::Dpdk => match iface.dpdk_devargs() {
            Some(d) if memif::is_memif(d) && MemifArgs::parse(d).is_err() => {
                // rvswitch serves memif sockets; what it cannot serve
                // safely is refused here, with the reason in `error`.
                DevSpec::Unusable(MemifArgs::parse(d).err().unwrap_or_default())
            }
            Some(d) => DevSpec::Eth {
                devargs: d.to_string(),
                n_rxq: iface.n_rxq(),
                rxq_desc: iface.n_rxq_desc(),
                txq_desc: iface.n_txq_desc(),
                mtu,
                slow_poll: d.starts_with("net_tap"),
            },
            None => DevSpec::Unusable("options:dpdk-devargs is required for type=dpdk".into()),
        },
        IfaceType::DpdkVhostUserClient => match iface.vhost_server_path() {
            Some(p) => DevSpec::Vhost {
                path: p.to_string(),
                mtu,
            },
            None => DevSpec::Unusable(
                "options:vhost-server-path is required for type=dpdkvhostuserclient".into(),
            ),
        },
        IfaceType::Internal => {
            let mut devargs = format!("net_tap_rvs{uid},iface={}", iface.name);
            if let Some(m) = iface.mac {
                devargs.push_str(&format!(",mac={m}"));
            }
            DevSpec::Eth {
                devargs,
                n_rxq: 1,
                rxq_desc: 1024,
                txq_desc: 1024,
                mtu,
                slow_poll: true,
            }
        }
        _ => {
            let name = &iface.name;
            if !kernel_netdev_exists(name) {
                DevSpec::Unusable(format!(
                    "could not open network device {name} (No such device); rvswitch opens kernel \
                     netdevs through AF_PACKET — use type=dpdk with options:dpdk-devargs for DPDK ports"
                ))
            } else if is_host_uplink(name) {
                DevSpec::Unusable(format!(
                    "{name} carries the host's default route; rvswitch does not take over the host's own NIC"
                ))
            } else {
                DevSpec::Eth {
                    devargs: format!("net_af_packet_rvs{uid},iface={name},qpairs=1"),
                    n_rxq: 1,
                    rxq_desc: 1024,
                    txq_desc: 1024,
                    mtu,
                    slow_poll: false,
                }
            }
        }
    }
}

/// One receive queue waiting to be given to a PMD.
pub struct RxSpec {
    /// Queue id (for `pmd-rxq-show`).
    pub queue: u16,
    /// The handle.
    pub handle: RxHandle,
    /// Poll only every this many iterations.
    pub every: u32,
}

impl std::fmt::Debug for RxSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RxSpec(q{} every {})", self.queue, self.every)
    }
}

/// Where an ethdev's carrier comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSource {
    /// The PMD's link status.
    Ethdev,
    /// The kernel netdev behind an AF_PACKET port: up and with carrier.
    /// (net_af_packet always reports its link up.)
    Kernel(String),
    /// Always up: internal ports (TAP devices), as in OVS; a TAP moved into
    /// another network namespace stays usable.
    Always,
}

/// Whether kernel netdev `name` is administratively up and has carrier.
pub fn kernel_carrier(name: &str) -> bool {
    let dir = std::path::Path::new("/sys/class/net").join(name);
    let flags = std::fs::read_to_string(dir.join("flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let carrier = std::fs::read_to_string(dir.join("carrier"))
        .map(|c| c.trim() == "1")
        .unwrap_or(false);
    flags & 1 != 0 && carrier
}

/// The open device of one interface.
pub enum Device {
    /// An ethdev.
    Eth {
        /// The port.
        dev: EthDev,
        /// Its driver.
        driver: String,
        /// Its MAC address.
        mac: MacAddr,
        /// Where its carrier comes from.
        link: LinkSource,
        /// Receive and transmit queues configured (all in use, except on
        /// memif, whose peer decides).
        n_rxq: u16,
        /// See `n_rxq`.
        n_txq: u16,
        /// The relay in front of a memif device.
        memif: Option<MemifPort>,
    },
    /// A vhost-user client.
    Vhost {
        /// The client.
        client: Arc<VhostClient>,
        /// Queue pairs for which handles were made.
        queues: u16,
        /// Connection generation the handles were made for.
        generation: u64,
        /// The MAC used as the source of our own frames (LACP).
        mac: MacAddr,
    },
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Eth { dev, driver, .. } => write!(f, "Eth(port {} {driver})", dev.port()),
            Device::Vhost { client, .. } => write!(f, "Vhost({})", client.path()),
        }
    }
}

/// Everything opening a device produced.
pub struct Opened {
    /// The device.
    pub device: Device,
    /// Receive queues to distribute.
    pub rx: Vec<RxSpec>,
    /// One transmit handle per PMD slot.
    pub pmd_tx: Vec<TxHandle>,
    /// The control thread's transmit handle.
    pub ctl_tx: TxHandle,
}

/// Transmit handles for `slots` PMD slots plus the control thread over
/// `queues` (made by `make`): dedicated when there are enough, shared
/// behind a mutex otherwise.
fn tx_handles(
    slots: usize,
    queues: u16,
    mut make: impl FnMut(u16) -> Result<TxHandle, String>,
) -> Result<(Vec<TxHandle>, TxHandle), String> {
    if queues as usize > slots {
        let pmd = (0..slots as u16)
            .map(&mut make)
            .collect::<Result<Vec<_>, _>>()?;
        let ctl = make(slots as u16)?;
        return Ok((pmd, ctl));
    }
    let shared: Vec<Arc<Mutex<TxHandle>>> = (0..queues.max(1))
        .map(|q| make(q).map(|h| Arc::new(Mutex::new(h))))
        .collect::<Result<_, _>>()?;
    let pmd = (0..slots)
        .map(|i| {
            Box::new(SharedTx {
                queue: shared[i % shared.len()].clone(),
                control: false,
            }) as TxHandle
        })
        .collect();
    let ctl = Box::new(SharedTx {
        queue: shared[shared.len() - 1].clone(),
        control: true,
    }) as TxHandle;
    Ok((pmd, ctl))
}

/// A locally administered MAC derived from `seed`, stable across restarts.
pub fn derived_mac(seed: u64) -> MacAddr {
    let b = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes();
    MacAddr([0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// Open the device for `spec`. `slots` is the number of PMD slots (core
/// numbers), `mac_seed` seeds the MAC of devices that have none.
pub fn open(spec: &DevSpec, slots: usize, pool: &Mempool, mac_seed: u64) -> Result<Opened, String> {
    match spec {
        DevSpec::Unusable(e) => Err(e.clone()),
        DevSpec::Eth {
            devargs,
            n_rxq,
            rxq_desc,
            txq_desc,
            mtu,
            slow_poll,
        } => {
            if memif::is_memif(devargs) {
                let q = Queues {
                    n_rxq: *n_rxq,
                    rxq_desc: *rxq_desc,
                    txq_desc: *txq_desc,
                    mtu: *mtu,
                };
                return open_memif(devargs, q, slots, pool);
            }
            let port = ethdev::probe(devargs)
                .map_err(|e| format!("error attaching device '{devargs}': {e}"))?;
            let link = if devargs.starts_with("net_tap") {
                LinkSource::Always
            } else if devargs.starts_with("net_af_packet") {
                devargs
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("iface="))
                    .map(|i| LinkSource::Kernel(i.to_string()))
                    .unwrap_or(LinkSource::Ethdev)
            } else {
                LinkSource::Ethdev
            };
            match open_eth(
                port, *n_rxq, *rxq_desc, *txq_desc, *mtu, *slow_poll, slots, pool, link,
            ) {
                Ok(o) => Ok(o),
                Err(e) => {
                    let _ = ethdev::remove(port);
                    Err(e)
                }
            }
        }
        DevSpec::Vhost { path, .. } => {
            if std::path::Path::new(path).is_dir() {
                return Err(format!("vhost-server-path {path} is a directory"));
            }
            let client = VhostClient::register_with(path, crate::vhost_trust::verifier())
                .map_err(|e| e.to_string())?;
            let mac = derived_mac(mac_seed);
            let (rx, pmd_tx, ctl_tx) = vhost_queues(&client, 1, slots, pool)?;
            let generation = client.status().generation;
            Ok(Opened {
                device: Device::Vhost {
                    client,
                    queues: 1,
                    generation,
                    mac,
                },
                rx,
                pmd_tx,
                ctl_tx,
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn open_eth(
    port: dpdk::PortId,
    n_rxq: u16,
    rxq_desc: u16,
    txq_desc: u16,
    mtu: u16,
    slow_poll: bool,
    slots: usize,
    pool: &Mempool,
    link: LinkSource,
) -> Result<Opened, String> {
    let dev = EthDev::new(port).map_err(|e| e.to_string())?;
    let info = dev.info().map_err(|e| e.to_string())?;
    let mut n_rxq = n_rxq.clamp(1, info.max_rx_queues.max(1));
    let mut n_txq = (slots as u16 + 1).min(info.max_tx_queues.max(1));
    if info.driver_name == "net_tap" {
        // net_tap wants as many receive as transmit queues; a TAP device
        // is a slow path anyway, so one of each, shared.
        n_rxq = 1;
        n_txq = 1;
    }
    dev.configure(n_rxq, n_txq, rxq_desc, txq_desc, pool)
        .map_err(|e| e.to_string())?;
    if mtu != 1500 || info.max_mtu >= 1500 {
        if let Err(e) = dev.set_mtu(mtu) {
            if mtu != 1500 {
                return Err(format!("could not set MTU {mtu}: {e}"));
            }
        }
    }
    let _ = dev.promiscuous(true);
    dev.start().map_err(|e| e.to_string())?;
    let mac = dev.mac_addr().map_err(|e| e.to_string())?;
    // A TAP device costs a read() per poll: poll it every 256 iterations
    // (a few hundred microseconds at most), as OVS leaves internal ports to
    // a slow thread; a busy PMD then pays about one syscall per 8,000
    // forwarded frames.
    let every = if slow_poll { 256 } else { 1 };
    let rx = (0..n_rxq)
        .map(|q| {
            dev.rx_queue(q)
                .map(|h| RxSpec {
                    queue: q,
                    handle: Box::new(h) as RxHandle,
                    every,
                })
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (pmd_tx, ctl_tx) = tx_handles(slots, n_txq, |q| {
        dev.tx_queue(q)
            .map(|h| Box::new(h) as TxHandle)
            .map_err(|e| e.to_string())
    })?;
    Ok(Opened {
        device: Device::Eth {
            dev,
            driver: info.driver_name,
            mac,
            link,
            n_rxq,
            n_txq,
            memif: None,
        },
        rx,
        pmd_tx,
        ctl_tx,
    })
}

/// What an ethdev is configured with.
struct Queues {
    n_rxq: u16,
    rxq_desc: u16,
    txq_desc: u16,
    mtu: u16,
}

/// Open a memif device behind its relay (see the module comment):
/// `n_rxq` receive queues (a peer may bring at most that many transmit
/// rings) and one transmit queue per PMD slot plus the control thread's
/// (at least `n_rxq`); the handles use what the connected peer set up.
fn open_memif(devargs: &str, q: Queues, slots: usize, pool: &Mempool) -> Result<Opened, String> {
    let args = MemifArgs::parse(devargs)?;
    // memif's limit is 255 queue pairs.
    let n_rxq = q.n_rxq.clamp(1, 255);
    let n_txq = (slots as u16).saturating_add(1).max(n_rxq).min(255);
    let mut relay = MemifPort::open(&args, n_rxq, n_txq).map_err(|e| e.to_string())?;
    let pmd_devargs = relay.pmd_devargs().to_string();
    let port = ethdev::probe(&pmd_devargs)
        .map_err(|e| format!("error attaching device '{pmd_devargs}': {e}"))?;
    let opened = (|| {
        let dev = EthDev::new(port).map_err(|e| e.to_string())?;
        let info = dev.info().map_err(|e| e.to_string())?;
        dev.configure(n_rxq, n_txq, q.rxq_desc, q.txq_desc, pool)
            .map_err(|e| e.to_string())?;
        if q.mtu != 1500 {
            dev.set_mtu(q.mtu)
                .map_err(|e| format!("could not set MTU {}: {e}", q.mtu))?;
        }
        dev.start().map_err(|e| e.to_string())?;
        let mac = dev.mac_addr().map_err(|e| e.to_string())?;
        let rx = (0..n_rxq)
            .map(|i| {
                dev.rx_queue(i)
                    .map(|h| RxSpec {
                        queue: i,
                        handle: Box::new(relay.rx_queue(h)) as RxHandle,
                        every: 1,
                    })
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let txqs = (0..n_txq)
            .map(|i| dev.tx_queue(i).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx: Vec<TxHandle> = relay
            .tx_queues(txqs, slots + 1)
            .into_iter()
            .map(|h| Box::new(h) as TxHandle)
            .collect();
        let ctl_tx = tx.pop().ok_or("no transmit handle")?;
        Ok::<_, String>((dev, info, mac, rx, tx, ctl_tx))
    })();
    match opened {
        Ok((dev, info, mac, rx, pmd_tx, ctl_tx)) => Ok(Opened {
            device: Device::Eth {
                dev,
                driver: info.driver_name,
                mac,
                link: LinkSource::Ethdev,
                n_rxq,
                n_txq,
                memif: Some(relay),
            },
            rx,
            pmd_tx,
            ctl_tx,
        }),
        Err(e) => {
            // The relay goes first: the PMD must not lose a connection it
            // has not greeted yet once its listener is gone.
            relay.shutdown();
            let _ = ethdev::remove(port);
            Err(e)
        }
    }
}

/// Queue handles for `queues` queue pairs of a vhost client.
pub fn vhost_queues(
    client: &Arc<VhostClient>,
    queues: u16,
    slots: usize,
    pool: &Mempool,
) -> Result<(Vec<RxSpec>, Vec<TxHandle>, TxHandle), String> {
    let queues = queues.max(1);
    let rx = (0..queues)
        .map(|q| {
            client
                .rx_queue(q, pool)
                .map(|h| RxSpec {
                    queue: q,
                    handle: Box::new(h) as RxHandle,
                    every: 1,
                })
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A vring accepts one writer at a time: unless there is a queue pair
    // for every PMD slot and the control thread, they share them behind a
    // mutex.
    let (pmd_tx, ctl_tx) = tx_handles(slots, queues, |q| {
        client
            .tx_queue(q)
            .map(|h| Box::new(h) as TxHandle)
            .map_err(|e| e.to_string())
    })?;
    Ok((rx, pmd_tx, ctl_tx))
}

impl Device {
    /// Carrier: link up for an ethdev, a connected guest for vhost.
    pub fn link_up(&self) -> bool {
        match self {
            Device::Eth {
                dev,
                link: LinkSource::Ethdev,
                memif,
                ..
            } => {
                dev.link().map(|l| l.up).unwrap_or(false)
                    && memif.as_ref().is_none_or(MemifPort::is_connected)
            }
            Device::Eth {
                link: LinkSource::Kernel(name),
                ..
            } => kernel_carrier(name),
            Device::Eth {
                link: LinkSource::Always,
                ..
            } => true,
            Device::Vhost { client, .. } => client.is_connected(),
        }
    }

    /// The MAC address frames from us carry.
    pub fn mac(&self) -> MacAddr {
        match self {
            Device::Eth { mac, .. } | Device::Vhost { mac, .. } => *mac,
        }
    }

    /// The driver, for `status`.
    pub fn driver(&self) -> String {
        match self {
            Device::Eth { driver, .. } => driver.clone(),
            Device::Vhost { .. } => "vhost-user-client".to_string(),
        }
    }

    /// Queues in use, receive and transmit: those configured, the
    /// queue pairs a vhost guest negotiated, or those a memif peer set up
    /// (none while no peer is connected).
    pub fn queues_in_use(&self) -> (u16, u16) {
        match self {
            Device::Eth { memif: Some(m), .. } => {
                let s = m.status();
                (s.rx_queues, s.tx_queues)
            }
            Device::Eth { n_rxq, n_txq, .. } => (*n_rxq, *n_txq),
            Device::Vhost { queues, .. } => (*queues, *queues),
        }
    }

    /// `status` pairs this module knows: `n_rxq` and `n_txq`, the queues
    /// in use (as OVS-DPDK shows them); for memif also the socket, whether
    /// a peer is connected, the peer's interface name, the reason of the
    /// last disconnection and the connections accepted so far.
    pub fn status(&self) -> Vec<(String, String)> {
        let (rx, tx) = self.queues_in_use();
        let mut v = vec![
            ("n_rxq".to_string(), rx.to_string()),
            ("n_txq".to_string(), tx.to_string()),
        ];
        if let Device::Eth {
            memif: Some(m),
            n_rxq,
            n_txq,
            ..
        } = self
        {
            let s = m.status();
            v.push(("memif_role".into(), "server".into()));
            v.push(("memif_socket".into(), s.socket));
            v.push(("memif_connected".into(), s.connected.to_string()));
            v.push(("memif_connections".into(), s.connections.to_string()));
            v.push(("memif_max_rxq".into(), n_rxq.to_string()));
            v.push(("memif_max_txq".into(), n_txq.to_string()));
            if !s.peer.is_empty() {
                v.push(("memif_peer".into(), s.peer));
            }
            if let Some(r) = s.last_disconnect {
                v.push(("memif_last_disconnect".into(), r));
            }
        }
        v
    }

    /// Close it. Every queue handle must have been dropped already.
    pub fn close(self) {
        match self {
            Device::Eth { dev, mut memif, .. } => {
                let port = dev.port();
                // A memif relay ends its connection before the device
                // goes (see open_memif).
                if let Some(m) = memif.as_mut() {
                    m.shutdown();
                }
                let _ = dev.stop();
                drop(dev);
                if let Err(e) = ethdev::remove(port) {
                    crate::warn!("removing port {port}: {e}");
                }
                drop(memif);
            }
            Device::Vhost { client, .. } => {
                if let Err(e) = client.unregister() {
                    crate::warn!("unregistering {}: {e}", client.path());
                }
            }
        }
    }
}
