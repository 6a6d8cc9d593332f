//! What an interface asks for ([`DevSpec`], from its configuration):
//! which device to open and how. A change of spec reopens the device.

use dpdk::memif::{self, MemifArgs};

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
    /// A vhost-user socket: a client's (`dpdkvhostuserclient`) or one we
    /// serve (`dpdkvhostuser`).
    Vhost {
        /// The socket path.
        path: String,
        /// We create and serve the socket.
        server: bool,
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

/// The spec for interface `iface` (uid `uid`, for vdev names); `vhost`
/// says where `dpdkvhostuser` sockets go.
pub fn spec_for(
    iface: &ctl::db::Interface,
    uid: u32,
    vhost: &ctl::vhost_sock::Settings,
) -> DevSpec {
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
                server: false,
                mtu,
            },
            None => DevSpec::Unusable(
                "options:vhost-server-path is required for type=dpdkvhostuserclient".into(),
            ),
        },
        // options:vhost-server-path does not apply (ctl refuses it).
        IfaceType::DpdkVhostUser => match vhost.path_of(&iface.name) {
            Ok(p) => DevSpec::Vhost {
                path: p.to_string_lossy().into_owned(),
                server: true,
                mtu,
            },
            Err(e) => DevSpec::Unusable(e),
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
