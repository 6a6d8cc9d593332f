//! Opening a memif device behind its relay (`dpdk::memif`): rvswitch
//! serves the socket, and the queue handles use only the queues the
//! connected peer set up.

use dpdk::memif::{MemifArgs, MemifPort};
use dpdk::{ethdev, EthDev, Mempool};

use super::{Device, LinkSource, Opened, Queues, RxHandle, RxSpec, TxHandle};

/// Open a memif device behind its relay (see the module comment):
/// `n_rxq` receive queues (a peer may bring at most that many transmit
/// rings) and one transmit queue per PMD slot plus the control thread's
/// (at least `n_rxq`); the handles use what the connected peer set up.
pub(super) fn open_memif(
    devargs: &str,
    q: Queues,
    slots: usize,
    pool: &Mempool,
) -> Result<Opened, String> {
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
