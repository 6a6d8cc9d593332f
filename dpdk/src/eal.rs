//! The Environment Abstraction Layer: process-wide DPDK start-up, the TSC
//! clock and lcore facts.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use dpdk_sys as sys;

use crate::error::{DpdkError, Result};

/// Set once `rte_eal_init` has succeeded.
static INITIALIZED: AtomicBool = AtomicBool::new(false);
/// Serializes [`Eal::init`] calls.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Proof that EAL is initialized in this process.
///
/// EAL lives until the process exits: dropping this token does nothing
/// (`rte_eal_cleanup` would invalidate every mempool, mbuf and port still
/// in use, and EAL cannot be initialized again anyway).
#[derive(Debug)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Initialize EAL with `args` (EAL options only, **without** a program
    /// name: `["-l", "0", "--in-memory", "--no-pci"]`; this function puts
    /// `rvswitch` in front as `argv[0]`).
    ///
    /// The calling thread becomes EAL's main lcore. Allowed once per
    /// process: a second call fails, as does a call after a failed one if
    /// DPDK refuses a retry. Errors carry the `rte_errno` text. Arguments
    /// EAL did not consume (anything after `--`) are reported as an error,
    /// but EAL stays initialized.
    pub fn init(args: &[String]) -> Result<Eal> {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let target = args.join(" ");
        if INITIALIZED.load(Ordering::SeqCst) {
            return Err(DpdkError::other(
                "rte_eal_init",
                target,
                "EAL is already initialized in this process",
            ));
        }
        let mut owned = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("rvswitch").unwrap_or_default());
        for a in args {
            owned.push(CString::new(a.as_str()).map_err(|_| {
                DpdkError::other("rte_eal_init", a.clone(), "argument contains a NUL byte")
            })?);
        }
        // EAL may keep pointers into argv (and permutes it), so the strings
        // and the array are leaked: this happens once per process.
        let mut argv: Vec<*mut c_char> = owned.into_iter().map(CString::into_raw).collect();
        let argc = argv.len() as c_int;
        argv.push(std::ptr::null_mut());
        let argv: &'static mut [*mut c_char] = Box::leak(argv.into_boxed_slice());
        // SAFETY: argv holds `argc` valid NUL-terminated strings followed by
        // a null pointer, all leaked so they outlive EAL; INIT_LOCK and the
        // INITIALIZED check keep this to one successful call per process.
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(DpdkError::from_rte_errno("rte_eal_init", target));
        }
        INITIALIZED.store(true, Ordering::SeqCst);
        if (ret as usize) < args.len() {
            let rest = args.get(ret as usize..).unwrap_or_default().join(" ");
            return Err(DpdkError::other(
                "rte_eal_init",
                target,
                format!("EAL did not consume these arguments: {rest}"),
            ));
        }
        Ok(Eal { _private: () })
    }

    /// Whether EAL is initialized in this process.
    pub fn is_initialized() -> bool {
        INITIALIZED.load(Ordering::SeqCst)
    }

    /// The lcore id of EAL's main thread.
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: EAL is initialized (we hold the token); a plain getter.
        unsafe { sys::rte_get_main_lcore() }
    }

    /// Number of lcores EAL was started with.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialized (we hold the token); a plain getter.
        unsafe { sys::rte_lcore_count() }
    }
}

/// Fail with a clear error when EAL is not initialized yet.
pub(crate) fn ensure_init(op: &'static str, target: &str) -> Result<()> {
    if Eal::is_initialized() {
        Ok(())
    } else {
        Err(DpdkError::other(
            op,
            target,
            "EAL is not initialized (call dpdk::eal::Eal::init first)",
        ))
    }
}

/// The CPU's time-stamp counter (`rdtsc`). Cheap enough to read once per
/// burst; convert with [`tsc_hz`].
#[inline(always)]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions and is available on every
        // x86_64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: rte_rdtsc only reads a CPU counter.
        unsafe { sys::rte_rdtsc() }
    }
}

/// TSC ticks per second as EAL measured them (2.6 GHz on this project's
/// machines). Zero before EAL is initialized.
pub fn tsc_hz() -> u64 {
    if !Eal::is_initialized() {
        return 0;
    }
    // SAFETY: EAL is initialized; a plain getter.
    unsafe { sys::rte_get_tsc_hz() }
}

/// The calling thread's lcore id, or `None` for a thread EAL does not
/// know (neither created by EAL nor registered with
/// [`crate::thread::register_current`]).
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads a thread-local variable; valid on any thread.
    let id = unsafe { sys::rte_lcore_id() };
    (id != sys::LCORE_ID_ANY).then_some(id)
}

/// The NUMA socket of the calling thread's lcore (`SOCKET_ID_ANY` = -1
/// when unknown).
pub fn socket_id() -> i32 {
    // SAFETY: reads a thread-local variable; valid on any thread.
    let s = unsafe { sys::rte_socket_id() };
    if s == u32::MAX {
        sys::SOCKET_ID_ANY
    } else {
        s as i32
    }
}

/// `SOCKET_ID_ANY`: let DPDK choose the NUMA socket.
pub const SOCKET_ID_ANY: i32 = sys::SOCKET_ID_ANY;
