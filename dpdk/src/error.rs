//! The one error type of the DPDK wrapper.

use core::fmt;
use std::ffi::CStr;

use dpdk_sys as sys;

/// A failed DPDK operation: what was attempted, on what, and DPDK's reason.
///
/// Displays as `<op> <target>: <reason> (errno <n>)`, e.g.
/// `rte_eth_dev_start port 3: Operation not supported (errno 95)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdkError {
    /// The operation, usually the DPDK function name.
    pub op: &'static str,
    /// What it was applied to (`port 3`, a socket path, a devargs string);
    /// empty when nothing in particular.
    pub target: String,
    /// The positive errno value (0 when DPDK gave none).
    pub errno: i32,
    /// Human-readable reason (`rte_strerror` text, or our own words).
    pub reason: String,
}

impl DpdkError {
    /// An error from a DPDK return code: a negative errno (`-EINVAL`), or
    /// `-1` meaning "see `rte_errno`".
    pub(crate) fn from_ret(op: &'static str, target: impl Into<String>, ret: i32) -> DpdkError {
        let errno = if ret == -1 {
            rte_errno()
        } else {
            ret.saturating_neg()
        };
        DpdkError::from_errno(op, target, errno)
    }

    /// An error from the current thread's `rte_errno`.
    pub(crate) fn from_rte_errno(op: &'static str, target: impl Into<String>) -> DpdkError {
        DpdkError::from_errno(op, target, rte_errno())
    }

    /// An error from a positive errno value.
    pub(crate) fn from_errno(op: &'static str, target: impl Into<String>, errno: i32) -> DpdkError {
        DpdkError {
            op,
            target: target.into(),
            errno,
            reason: strerror(errno),
        }
    }

    /// An error this wrapper detected itself (no errno).
    pub(crate) fn other(
        op: &'static str,
        target: impl Into<String>,
        reason: impl Into<String>,
    ) -> DpdkError {
        DpdkError {
            op,
            target: target.into(),
            errno: 0,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op)?;
        if !self.target.is_empty() {
            write!(f, " {}", self.target)?;
        }
        write!(f, ": {}", self.reason)?;
        if self.errno != 0 {
            write!(f, " (errno {})", self.errno)?;
        }
        Ok(())
    }
}

impl std::error::Error for DpdkError {}

/// Result of a DPDK operation.
pub type Result<T> = core::result::Result<T, DpdkError>;

/// The calling thread's `rte_errno`.
pub fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local int through a C accessor; no preconditions.
    unsafe { sys::rvs_rte_errno() }
}

/// `rte_strerror(errno)` as a Rust string (DPDK's own codes included).
pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror accepts any value and returns a pointer to a
    // NUL-terminated string (static, or a per-thread buffer that stays valid
    // until the next call on this thread); we copy it out at once.
    let p = unsafe { sys::rte_strerror(errno) };
    if p.is_null() {
        return format!("error {errno}");
    }
    // SAFETY: `p` is non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
