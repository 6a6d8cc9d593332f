//! Helpers shared by the DPDK integration tests (each test binary has one
//! test, because EAL can be initialized once per process).

#![allow(dead_code)]

use std::process::Command;

use dpdk::Eal;

/// Reserve hugepages and mount hugetlbfs (scripts/hugepages.sh).
pub fn setup_hugepages() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/hugepages.sh");
    let out = Command::new("sh")
        .arg(script)
        .output()
        .expect("run scripts/hugepages.sh");
    assert!(
        out.status.success(),
        "scripts/hugepages.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// EAL of a test process; removes its (empty) runtime directory
/// `/var/run/dpdk/<prefix>` when dropped.
pub struct TestEal {
    pub eal: Eal,
    prefix: String,
}

impl Drop for TestEal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

/// Initialize EAL for a test: in-memory (no hugepage files to clean up),
/// its own file prefix, no PCI, no telemetry socket, on the given lcore
/// list.
pub fn init_eal(lcores: &str) -> TestEal {
    setup_hugepages();
    let prefix = format!("rvs-test-{}", std::process::id());
    let args: Vec<String> = [
        "-l",
        lcores,
        "--in-memory",
        "--file-prefix",
        &prefix,
        "--no-pci",
        "--no-telemetry",
        "--log-level=lib.eal:notice",
        "--log-level=lib.vhost.config:warning",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let eal = Eal::init(&args).expect("EAL init");
    TestEal { eal, prefix }
}

/// A test frame of `len` bytes (at least 18): broadcast dst, a fixed
/// source, ethertype 0x88b5 (local experimental), `seq` big-endian, then a
/// pattern derived from `seq`.
pub fn frame(seq: u32, len: usize) -> Vec<u8> {
    assert!(len >= 18);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x88, 0xb5]);
    f.extend_from_slice(&seq.to_be_bytes());
    for i in 18..len {
        f.push((seq as usize).wrapping_mul(31).wrapping_add(i) as u8);
    }
    f
}

/// The sequence number of a frame built by [`frame`].
pub fn seq_of(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[14..18].try_into().unwrap())
}
