//! Bridges at run time: each bridge's MAC table, its MAC address, and the
//! stable numbers of its ports and interfaces. Decides only; nothing here
//! touches a device.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ctl::db::{Bridge, Db};
use datapath::mac_table::MacTable;
use datapath::time::Millis;
use datapath::vlan::PortVlan;
use datapath::wire::MacAddr;

/// One bridge at run time.
struct BridgeRt {
    mac: Arc<MacTable>,
    /// LACP's default system id.
    hwaddr: MacAddr,
    /// The `mac-table-size` the table was built with.
    size: usize,
    /// Stable port numbers (the MAC table's port values) and the VLAN
    /// configuration each port had when numbered.
    ports: BTreeMap<String, (u16, PortVlan)>,
    /// Stable interface numbers, unique in the bridge, from 1 (OVS's
    /// OpenFlow port numbers): bond member ids and LACP port ids, so two
    /// bonds on one bridge never advertise the same port id or key.
    iface_no: BTreeMap<String, u16>,
}

/// The lowest number from `from` that `used` does not hold.
fn lowest_free(used: impl Iterator<Item = u16>, from: u16) -> u16 {
    let used: BTreeSet<u16> = used.collect();
    (from..).find(|n| !used.contains(n)).unwrap_or(from)
}

impl BridgeRt {
    /// Number the bridge's current ports: keep existing numbers, give new
    /// ports the lowest free one, and forget (flushing their MAC entries)
    /// ports that are gone or whose VLAN configuration changed.
    fn number(&mut self, br: &Bridge) {
        let wanted: Vec<(String, PortVlan)> = br
            .ports
            .iter()
            .filter_map(|p| p.port_vlan().ok().map(|v| (p.name.clone(), v)))
            .collect();
        let mac = self.mac.clone();
        self.ports.retain(|name, (no, vlan)| {
            let keep = wanted.iter().any(|(n, v)| n == name && v == vlan);
            if !keep {
                mac.flush_port(*no);
            }
            keep
        });
        for (name, vlan) in wanted {
            if !self.ports.contains_key(&name) {
                let no = lowest_free(self.ports.values().map(|(n, _)| *n), 0);
                self.ports.insert(name, (no, vlan));
            }
        }
        let ifaces: Vec<&str> = br
            .ports
            .iter()
            .flat_map(|p| p.interfaces.iter().map(|i| i.name.as_str()))
            .collect();
        self.iface_no.retain(|n, _| ifaces.contains(&n.as_str()));
        for name in ifaces {
            if !self.iface_no.contains_key(name) {
                let no = lowest_free(self.iface_no.values().copied(), 1);
                self.iface_no.insert(name.to_string(), no);
            }
        }
    }
}

/// The bridges at run time.
#[derive(Default)]
pub struct Bridges {
    map: BTreeMap<String, BridgeRt>,
}

/// A bridge's MAC address: `other_config:hwaddr`, else one derived from
/// its record id (stable across restarts).
fn hwaddr(b: &Bridge) -> MacAddr {
    b.hwaddr().unwrap_or_else(|| {
        let seed = b
            .uuid
            .to_string()
            .bytes()
            .fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(c as u64));
        crate::device::derived_mac(seed)
    })
}

impl Bridges {
    /// Make the bridges match `db`: create MAC tables, resize or re-time
    /// them, and number ports and interfaces.
    pub fn reconcile(&mut self, db: &Db) {
        self.map
            .retain(|n, _| db.bridges.iter().any(|b| &b.name == n));
        for b in &db.bridges {
            let (size, aging) = (b.mac_table_size(), b.mac_aging_time_s() as u32);
            let rt = self.map.entry(b.name.clone()).or_insert_with(|| BridgeRt {
                mac: Arc::new(MacTable::new(size, aging)),
                hwaddr: MacAddr::ZERO,
                size,
                ports: BTreeMap::new(),
                iface_no: BTreeMap::new(),
            });
            rt.hwaddr = hwaddr(b);
            if rt.size != size {
                rt.mac = Arc::new(rt.mac.resized(size));
                rt.size = size;
            }
            if rt.mac.aging_secs() != aging {
                rt.mac.set_aging(aging);
            }
            rt.number(b);
        }
    }

    /// Age every MAC table.
    pub fn age(&self, now: Millis) {
        for b in self.map.values() {
            b.mac.age(now);
        }
    }

    /// The names of the bridges.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    /// The MAC table of `bridge`.
    pub fn mac_table(&self, bridge: &str) -> Option<&Arc<MacTable>> {
        self.map.get(bridge).map(|b| &b.mac)
    }

    /// The MAC address of `bridge` (LACP's default system id).
    pub fn hwaddr(&self, bridge: &str) -> Option<MacAddr> {
        self.map.get(bridge).map(|b| b.hwaddr)
    }

    /// The number and VLAN configuration of `port` on `bridge`.
    pub fn port(&self, bridge: &str, port: &str) -> Option<(u16, &PortVlan)> {
        self.map
            .get(bridge)?
            .ports
            .get(port)
            .map(|(no, vlan)| (*no, vlan))
    }

    /// The name of port number `no` on `bridge`.
    pub fn port_name(&self, bridge: &str, no: u16) -> Option<&str> {
        self.map
            .get(bridge)?
            .ports
            .iter()
            .find(|(_, (n, _))| *n == no)
            .map(|(name, _)| name.as_str())
    }

    /// The largest port number of `bridge` plus one.
    pub fn port_count(&self, bridge: &str) -> usize {
        self.map.get(bridge).map_or(0, |b| {
            b.ports
                .values()
                .map(|(n, _)| *n as usize + 1)
                .max()
                .unwrap_or(0)
        })
    }

    /// The stable number of interface `iface` on `bridge`.
    pub fn iface_no(&self, bridge: &str, iface: &str) -> Option<u16> {
        self.map.get(bridge)?.iface_no.get(iface).copied()
    }

    /// MAC entries in every table.
    pub fn mac_entries(&self) -> usize {
        self.map.values().map(|b| b.mac.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctl::db::{Interface, Port};
    use ctl::uuid::Uuid;

    fn port(name: &str, ifaces: &[&str], tag: Option<u16>) -> Port {
        let mut p = Port::new(
            Uuid([0; 16]),
            name,
            ifaces
                .iter()
                .map(|i| Interface::new(Uuid([0; 16]), i))
                .collect(),
        );
        p.tag = tag;
        p
    }

    #[test]
    fn numbers_are_stable_and_reused_lowest_first() {
        let mut db = Db::new(Uuid([0; 16]));
        let mut br = Bridge::new(Uuid([0; 16]), "br0");
        br.ports.push(port("a", &["a"], Some(10)));
        br.ports.push(port("bond0", &["m1", "m2"], None));
        br.ports.push(port("c", &["c"], None));
        db.bridges.push(br);
        let mut b = Bridges::default();
        b.reconcile(&db);
        assert_eq!(b.port("br0", "a").map(|p| p.0), Some(0));
        assert_eq!(b.port("br0", "c").map(|p| p.0), Some(2));
        assert_eq!(b.iface_no("br0", "m2"), Some(3));
        // Remove "a" and a bond member: the others keep their numbers.
        db.bridges[0].ports.remove(0);
        db.bridges[0].ports[0].interfaces.remove(0);
        b.reconcile(&db);
        assert_eq!(b.port("br0", "bond0").map(|p| p.0), Some(1));
        assert_eq!(b.iface_no("br0", "m2"), Some(3));
        assert_eq!(b.iface_no("br0", "m1"), None);
        // A new port takes the lowest free number.
        db.bridges[0].ports.push(port("d", &["d"], None));
        b.reconcile(&db);
        assert_eq!(b.port("br0", "d").map(|p| p.0), Some(0));
        assert_eq!(b.iface_no("br0", "d"), Some(1));
        assert_eq!(b.port_name("br0", 2), Some("c"));
        assert_eq!(b.port_count("br0"), 3);
        // A VLAN change renumbers the port (its MAC entries are flushed).
        db.bridges[0].ports[1].tag = Some(7);
        b.reconcile(&db);
        assert!(b.port("br0", "c").is_some());
    }
}
