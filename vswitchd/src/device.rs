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
//! thread one more, when the device has enough; otherwise they share queues
//! behind a mutex taken once per burst.

use std::sync::{Arc, Mutex};

use datapath::packet::{Burst, RxQueue, TxQueue};
use datapath::wire::MacAddr;
use dpdk::{ethdev, EthDev, Mbuf, Mempool, VhostClient};

/// A receive queue handle a PMD polls.
pub type RxHandle = Box<dyn RxQueue<Mbuf> + Send>;
/// A transmit queue handle (a PMD's or the control thread's).
pub type TxHandle = Box<dyn TxQueue<Mbuf> + Send>;

/// A transmit queue several threads share, locked once per burst.
struct SharedTx(Arc<Mutex<TxHandle>>);

impl TxQueue<Mbuf> for SharedTx {
    fn tx_burst(&mut self, pkts: &mut Burst<Mbuf>) -> usize {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
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
        .map(|i| Box::new(SharedTx(shared[i % shared.len()].clone())) as TxHandle)
        .collect();
    let ctl = Box::new(SharedTx(shared[shared.len() - 1].clone())) as TxHandle;
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
        },
        rx,
        pmd_tx,
        ctl_tx,
    })
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
                ..
            } => dev.link().map(|l| l.up).unwrap_or(false),
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

    /// Close it. Every queue handle must have been dropped already.
    pub fn close(self) {
        match self {
            Device::Eth { dev, .. } => {
                let port = dev.port();
                let _ = dev.stop();
                drop(dev);
                if let Err(e) = ethdev::remove(port) {
                    crate::warn!("removing port {port}: {e}");
                }
            }
            Device::Vhost { client, .. } => {
                if let Err(e) = client.unregister() {
                    crate::warn!("unregistering {}: {e}", client.path());
                }
            }
        }
    }
}
