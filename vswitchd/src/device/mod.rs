//! Opening, polling and closing the devices behind interfaces.
//!
//! Every interface type ends up as an ethdev or a vhost-user client:
//!
//! | type | device |
//! | --- | --- |
//! | `dpdk` | `options:dpdk-devargs`: a PCI address (hot-plugged) or any vdev |
//! | `dpdkvhostuserclient` | DPDK's vhost library in client mode, reconnecting |
//! | `dpdkvhostuser` | DPDK's vhost library in server mode on `<vhost-sock-dir>/<name>` (`vhost_server`) |
//! | `internal` | a TAP device (`net_tap`) named like the interface |
//! | `""` (system) | the kernel netdev through `net_af_packet`, as OVS's userspace datapath opens it with AF_PACKET |
//!
//! Transmit queues: every PMD slot gets its own queue and the control
//! thread one more, when the device has enough (`rte_eth_dev_info`);
//! otherwise they share them (`shared_tx`).
//!
//! memif (`net_memif`, opened in `memif_open`): the peer decides how many queues a connection has,
//! and DPDK 22.11's PMD misbehaves on the others (see `dpdk::memif`). Such
//! a device runs behind a [`MemifPort`] relay: rvswitch serves the socket
//! (`role=server` is required), the queue handles use only the queues the
//! connected peer set up (PMDs and the control thread share them when the
//! peer has fewer than one per sender), and nothing that lets the PMD tear
//! a connection down reaches it while a burst is inside. `status` shows
//! the queues in use (`n_rxq`, `n_txq`, as OVS-DPDK does): [`Device::status`].

use std::sync::Arc;

use datapath::packet::{RxQueue, TxQueue};
use datapath::wire::MacAddr;
use dpdk::memif::{self, MemifPort};
use dpdk::{ethdev, EthDev, Mbuf, Mempool, VhostClient};

mod memif_open;
mod shared_tx;
mod spec;
pub mod vhost_server;

pub use spec::{spec_for, DevSpec};
pub use vhost_server::SockAccess;

use shared_tx::tx_handles;

/// A receive queue handle a PMD polls.
pub type RxHandle = Box<dyn RxQueue<Mbuf> + Send>;
/// A transmit queue handle (a PMD's or the control thread's).
pub type TxHandle = Box<dyn TxQueue<Mbuf> + Send>;

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
        /// The current connection's problem was logged.
        problem_logged: bool,
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

/// A locally administered MAC derived from `seed`, stable across restarts.
pub fn derived_mac(seed: u64) -> MacAddr {
    let b = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes();
    MacAddr([0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// Open the device for `spec`. `slots` is the number of PMD slots (core
/// numbers), `mac_seed` seeds the MAC of devices that have none, `access`
/// is the owner and mode of a socket we serve (or why there is none).
pub fn open(
    spec: &DevSpec,
    slots: usize,
    pool: &Mempool,
    mac_seed: u64,
    access: &Result<SockAccess, String>,
) -> Result<Opened, String> {
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
                return memif_open::open_memif(devargs, q, slots, pool);
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
        DevSpec::Vhost { path, server, .. } => {
            let client = if *server {
                vhost_server::open_server(path, access.clone()?)?
            } else {
                if std::path::Path::new(path).is_dir() {
                    return Err(format!("vhost-server-path {path} is a directory"));
                }
                VhostClient::register_with(path, crate::vhost_trust::verifier())
                    .map_err(|e| e.to_string())?
            };
            let mac = derived_mac(mac_seed);
            let (rx, pmd_tx, ctl_tx) = vhost_queues(&client, 1, slots, pool)?;
            let generation = client.status().generation;
            Ok(Opened {
                device: Device::Vhost {
                    client,
                    queues: 1,
                    generation,
                    mac,
                    problem_logged: false,
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
    /// The NUMA node receive queues are best polled from: an ethdev's
    /// socket (`rte_eth_dev_socket_id`; unknown counts as node 0, as OVS
    /// counts it). A vhost-user port is on node 0: OVS follows the
    /// guest's memory, which rvswitch does not look up.
    pub fn numa(&self) -> u32 {
        match self {
            Device::Eth { dev, .. } => u32::try_from(dev.socket_id()).unwrap_or(0),
            Device::Vhost { .. } => 0,
        }
    }

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
            Device::Vhost { client, .. } if client.is_server() => "vhost-user-server".to_string(),
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
