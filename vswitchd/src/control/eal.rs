//! EAL, the packet pools and the CPU cores: what the devices run on.

use ctl::db::Db;
use dpdk::{Eal, Mempool};

/// Packet buffers the shared pool tries first; halved until EAL can provide
/// it (OVS's shared-mempool sizing). A replaying pcap port holds one buffer
/// per frame of its file.
pub const POOL_MBUFS: u32 = 262_143;
/// The smallest pool worth running with.
const MIN_POOL_MBUFS: u32 = 16_383;
/// Data room of the standard pool (2 KiB frames plus headroom).
pub const STD_DATA_ROOM: u16 = 2048 + 128;
/// Data room of the jumbo pool.
pub const JUMBO_DATA_ROOM: u16 = 9216 + 128;
/// EAL and its packet pools.
pub struct DpdkState {
    _eal: Eal,
    /// The standard pool.
    pub pool: Mempool,
    /// The jumbo pool, made on first use.
    pub jumbo: Option<Mempool>,
}

/// Parse a kernel CPU list such as `0-3,8`; the number of CPUs in it.
fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0;
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                n += b
                    .parse::<usize>()
                    .ok()?
                    .checked_sub(a.parse::<usize>().ok()?)?
                    + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// Online CPUs of the machine, whatever this process's affinity is (the
/// daemon may be started under `taskset`, and EAL pins the main thread).
pub fn host_cores() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| parse_cpu_list(s.trim()))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// The NUMA node of CPU `core` (sysfs; 0 when the kernel does not say).
pub fn core_numa(core: usize) -> u32 {
    std::fs::read_dir(format!("/sys/devices/system/cpu/cpu{core}"))
        .ok()
        .and_then(|d| {
            d.flatten().find_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("node"))
                    .and_then(|n| n.parse::<u32>().ok())
            })
        })
        .unwrap_or(0)
}

/// A packet pool of `n` buffers, or the largest of n/2, n/4, ... down to
/// [`MIN_POOL_MBUFS`] that the memory allows.
pub fn shrinking_pool(name: &str, mut n: u32, data_room: u16) -> Result<Mempool, dpdk::DpdkError> {
    loop {
        match Mempool::pktmbuf(name, n, 256, data_room, dpdk::eal::SOCKET_ID_ANY) {
            Ok(p) => {
                crate::info!("{name}: {n} packet buffers of {data_room} bytes");
                return Ok(p);
            }
            Err(e) if n / 2 < MIN_POOL_MBUFS => return Err(e),
            Err(_) => n /= 2,
        }
    }
}

/// The PMD cores `db` asks for (`pmd-cpu-mask`), or the first core that is
/// not EAL's main lcore.
pub fn wanted_pmd_cores(db: &Db, slots: usize) -> Vec<usize> {
    let mut v: Vec<usize> = match db.pmd_cpus() {
        Some(c) if !c.is_empty() => c.into_iter().filter(|c| *c < slots).collect(),
        _ => Vec::new(),
    };
    if v.is_empty() {
        let main = crate::eal_args::main_lcore(db);
        v.push((0..slots).find(|c| *c != main).unwrap_or(0));
    }
    v.sort();
    v.dedup();
    v
}

/// `other_config:pmd-maxsleep` (OVS 3.1's name; `pmd-sleep-max` is the
/// later one, and wins) in microseconds (at most 10 ms).
pub fn max_sleep_us(db: &Db) -> u64 {
    let m = &db.other_config;
    m.get("pmd-sleep-max")
        .or_else(|| m.get("pmd-maxsleep"))
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
        .min(10_000)
}

/// EAL with the arguments `db` asks for, and the standard pool.
pub fn init_dpdk(db: &Db) -> Result<DpdkState, String> {
    let args = crate::eal_args::build(db, crate::eal_args::Host::probe())?;
    crate::info!("initializing DPDK: {}", args.join(" "));
    let eal = Eal::init(&args).map_err(|e| format!("DPDK initialization failed: {e}"))?;
    dpdk::vhost::set_iommu_support(db.vhost_iommu_support());
    if let Err(e) = dpdk::events::watch_devices() {
        crate::warn!("device removal will not be noticed: {e}");
    }
    let pool = shrinking_pool("rvs_std", POOL_MBUFS, STD_DATA_ROOM)
        .map_err(|e| format!("could not create the mbuf pool: {e}"))?;
    Ok(DpdkState {
        _eal: eal,
        pool,
        jumbo: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
    }
}
