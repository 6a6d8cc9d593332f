//! What devices report: carrier changes (polled, and on link-state
//! interrupts), the queue count a vhost guest negotiated, and devices
//! that went away (PCI hot-unplug through vfio-pci's request, or a PMD's
//! removal event). A removed device's interface stays configured, in
//! error, until a configuration write retries it.

use ctl::db::Db;

use super::{Devices, RxqRt};
use crate::device::{DevSpec, Device, RxSpec};

impl Devices {
    /// Give every served vhost-user socket the current owner and mode
    /// (after `vhost-sock-owner` or `vhost-sock-mode` changed).
    pub(super) fn reapply_sock_access(&mut self) {
        for (name, rt) in &self.ifaces {
            let Some(Device::Vhost { client, .. }) = &rt.device else {
                continue;
            };
            if !client.is_server() {
                continue;
            }
            let r = self.access.clone().and_then(|a| {
                crate::device::vhost_server::apply_access(std::path::Path::new(client.path()), a)
            });
            match r {
                Ok(()) => crate::info!("{name}: socket {} owner and mode updated", client.path()),
                Err(e) => crate::warn!("{name}: socket {}: {e}", client.path()),
            }
        }
    }

    /// Poll every open device's carrier (and the queue count a vhost guest
    /// negotiated). Returns the interfaces whose carrier changed.
    pub fn poll_links(&mut self) -> Vec<(String, bool)> {
        let mut changed: Vec<(String, bool)> = Vec::new();
        let mut requeue: Vec<String> = Vec::new();
        for (name, rt) in self.ifaces.iter_mut() {
            let Some(dev) = rt.device.as_mut() else {
                continue;
            };
            let up = dev.link_up();
            if let Device::Vhost {
                client,
                queues,
                generation,
                problem_logged,
                ..
            } = dev
            {
                let st = client.status();
                match crate::device::vhost_server::problem(&st) {
                    Some(p) if !*problem_logged => {
                        crate::warn!("{name}: {p}");
                        *problem_logged = true;
                    }
                    Some(_) => {}
                    None => *problem_logged = false,
                }
                if st.generation != *generation {
                    *generation = st.generation;
                    if st.n_queues > *queues {
                        requeue.push(name.clone());
                    }
                }
            }
            if up != rt.link_up {
                rt.link_up = up;
                changed.push((name.clone(), up));
            }
        }
        for name in requeue {
            self.grow_vhost_queues(&name);
        }
        changed
    }

    fn grow_vhost_queues(&mut self, name: &str) {
        let Some(pool) = self.dpdk.as_ref().map(|d| d.pool.clone()) else {
            return;
        };
        let Some(rt) = self.ifaces.get_mut(name) else {
            return;
        };
        let Some(Device::Vhost { client, queues, .. }) = rt.device.as_mut() else {
            return;
        };
        let want = client.status().n_queues;
        for q in *queues..want {
            match client.rx_queue(q, &pool) {
                Ok(h) => rt.rxqs.push(RxqRt::parked(RxSpec {
                    queue: q,
                    handle: Box::new(h),
                    every: 1,
                })),
                Err(e) => crate::warn!("{name}: queue {q}: {e}"),
            }
        }
        crate::info!("{name}: guest negotiated {want} queue pairs");
        *queues = want;
        self.place_rxqs(false);
    }

    /// Close the interfaces whose device was reported removed since the
    /// last call; returns those that had carrier (now lost). Their queues
    /// are taken back from the PMDs first, then the device is detached,
    /// which lets the kernel finish removing it.
    pub fn take_removals(&mut self) -> Vec<String> {
        let mut lost = Vec::new();
        for dev_name in dpdk::events::take_removed() {
            let Some(name) = self
                .ifaces
                .iter()
                .find(|(_, rt)| match rt.device() {
                    Some(Device::Eth { dev, .. }) => {
                        dev.device_name().as_deref() == Some(dev_name.as_str())
                    }
                    _ => false,
                })
                .map(|(n, _)| n.clone())
            else {
                crate::info!("device {dev_name} was removed (no interface uses it)");
                continue;
            };
            crate::warn!("{name}: device {dev_name} was removed; interface closed");
            let Some(mut rt) = self.ifaces.remove(&name) else {
                continue;
            };
            self.detach(&name, &mut rt);
            rt.removals += 1;
            rt.seen_gone = false;
            rt.error = Some(format!(
                "device {dev_name} was removed (it is re-attached once it is back on vfio-pci)"
            ));
            if std::mem::replace(&mut rt.link_up, false) {
                lost.push(name.clone());
            }
            self.ifaces.insert(name, rt);
        }
        lost
    }

    /// Re-attach the interfaces whose PCI device was removed and is back,
    /// bound to a userspace driver again (after QEMU `device_add` or a NIC
    /// swap, and `setup-host.sh bind`). Returns whether any did.
    pub fn reattach_returned(&mut self, db: &Db) -> bool {
        let mut back = Vec::new();
        for (name, rt) in self.ifaces.iter_mut() {
            let pci = match &rt.spec {
                DevSpec::Eth { devargs, .. } => ctl::validate::devargs_pci(devargs),
                _ => None,
            };
            let Some(pci) = pci.filter(|_| rt.device.is_none() && rt.removals > 0) else {
                continue;
            };
            if !bound_for_dpdk(&pci) {
                rt.seen_gone = true;
            } else if rt.seen_gone {
                back.push(name.clone());
            }
        }
        let mut any = false;
        for name in back {
            if let Some((_, _, iface)) = db.interface(&name) {
                if self.reopen(iface) {
                    crate::info!("{name}: its device is back; re-attached");
                    any = true;
                }
            }
        }
        if any {
            self.place_rxqs(false);
        }
        any
    }
}

/// Whether the PCI device at `pci` exists and a userspace I/O driver holds
/// it (what `setup-host.sh bind` leaves).
fn bound_for_dpdk(pci: &str) -> bool {
    let link = std::path::Path::new("/sys/bus/pci/devices")
        .join(pci)
        .join("driver");
    std::fs::read_link(link).ok().is_some_and(|d| {
        d.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| matches!(n, "vfio-pci" | "uio_pci_generic" | "igb_uio"))
    })
}
