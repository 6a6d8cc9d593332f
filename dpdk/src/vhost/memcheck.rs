//! Noticing a vhost-user peer whose guest memory is not shared.
//!
//! QEMU can hand a vhost-user backend only memory that lives in a file it
//! can pass (a `memory-backend-memfd`/`-file` with `share=on`; libvirt's
//! `<memoryBacking><access mode='shared'/>`). With plain `-m`, QEMU 7.2
//! connects, negotiates, and when the guest's driver starts the device it
//! sends `VHOST_USER_SET_FEATURES` and then fails to build
//! `VHOST_USER_SET_MEM_TABLE` ("Failed initializing vhost-user memory
//! map, consider using -object memory-backend-file share=on"): nothing more
//! comes, the guest falls back to userspace virtio, DPDK never calls
//! `new_device`, and the port would just stay down. So every connection
//! gets a message hook (`rte_vhost_extern_callback_register`, stable API)
//! that notes when features were set and whether a memory table followed;
//! [`MemWatch::missing`] says a memory table is overdue.
//!
//! The hook reads only the request code (the first 4 bytes of the
//! message: the vhost-user protocol's header, which DPDK keeps first in
//! the context it passes) and always lets DPDK handle the message.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dpdk_sys as sys;

use super::shared_of;

/// `VHOST_USER_SET_FEATURES` (vhost-user protocol).
const SET_FEATURES: u32 = 2;
/// `VHOST_USER_SET_MEM_TABLE` (vhost-user protocol).
const SET_MEM_TABLE: u32 = 5;

/// How long a memory table may take to follow the features: QEMU sends
/// both from one function, so anything longer means it is not coming.
pub const MEM_TABLE_GRACE: Duration = Duration::from_secs(2);

/// Milliseconds since the first call (a monotonic clock).
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What one connection's messages said about its memory.
#[derive(Debug, Default)]
pub(super) struct MemWatch {
    /// When features were last set ([`now_ms`] plus one); 0: not since
    /// the connection started.
    features_at: AtomicU64,
    /// A memory table came after the last features.
    mem_table: AtomicBool,
}

impl MemWatch {
    /// A new connection: nothing seen.
    pub(super) fn reset(&self) {
        self.features_at.store(0, Ordering::SeqCst);
        self.mem_table.store(false, Ordering::SeqCst);
    }

    fn on_message(&self, request: u32, now_ms: u64) {
        match request {
            SET_FEATURES => {
                self.mem_table.store(false, Ordering::SeqCst);
                self.features_at.store(now_ms + 1, Ordering::SeqCst);
            }
            SET_MEM_TABLE => self.mem_table.store(true, Ordering::SeqCst),
            _ => {}
        }
    }

    /// Features were set [`MEM_TABLE_GRACE`] ago or longer and no memory
    /// table followed.
    pub(super) fn missing(&self) -> bool {
        self.missing_at(now_ms())
    }

    fn missing_at(&self, now_ms: u64) -> bool {
        let at = self.features_at.load(Ordering::SeqCst);
        if at == 0 || self.mem_table.load(Ordering::SeqCst) {
            return false;
        }
        (now_ms + 1).saturating_sub(at) >= MEM_TABLE_GRACE.as_millis() as u64
    }
}

extern "C" fn pre_msg_handle(vid: c_int, msg: *mut c_void) -> sys::rte_vhost_msg_result {
    if !msg.is_null() {
        // SAFETY: DPDK passes its message context, whose first member is
        // the received message (it checks that at build time), and every
        // message starts with the 4-byte request code of the protocol
        // header; read_unaligned because the struct is packed.
        let request = unsafe { msg.cast::<u32>().read_unaligned() };
        if let Some(sh) = shared_of(vid) {
            sh.mem.on_message(request, now_ms());
        }
    }
    sys::RTE_VHOST_MSG_RESULT_NOT_HANDLED
}

struct Ops(sys::rte_vhost_user_extern_ops);
// SAFETY: only function pointers, never mutated after initialization.
unsafe impl Sync for Ops {}
// SAFETY: as for Sync.
unsafe impl Send for Ops {}

/// Watch the messages of the connection `vid` (from its `new_connection`
/// callback). Returns whether the hook is in place.
pub(super) fn watch(vid: c_int) -> bool {
    static OPS: OnceLock<Ops> = OnceLock::new();
    let ops = &OPS
        .get_or_init(|| {
            Ops(sys::rte_vhost_user_extern_ops {
                pre_msg_handle: Some(pre_msg_handle),
                post_msg_handle: None,
            })
        })
        .0;
    // SAFETY: `vid` is the live connection of the running new_connection
    // callback; DPDK copies the ops table (which is 'static anyway) and
    // keeps the null context as is.
    unsafe { sys::rte_vhost_extern_callback_register(vid, ops, std::ptr::null_mut()) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_table_that_does_not_follow_the_features_is_noticed() {
        let grace = MEM_TABLE_GRACE.as_millis() as u64;
        let w = MemWatch::default();
        assert!(!w.missing_at(100_000), "nothing seen");
        w.on_message(1, 1000); // GET_FEATURES
        assert!(!w.missing_at(100_000));
        w.on_message(SET_FEATURES, 1000);
        assert!(!w.missing_at(1000 + grace - 1), "within the grace period");
        assert!(w.missing_at(1000 + grace), "overdue");
        w.on_message(SET_MEM_TABLE, 1500);
        assert!(!w.missing_at(100_000), "the table came");
        // The device restarts (features again): a table must follow again.
        w.on_message(SET_FEATURES, 5000);
        assert!(w.missing_at(5000 + grace));
        w.reset();
        assert!(!w.missing_at(100_000), "a new connection starts clean");
    }
}
