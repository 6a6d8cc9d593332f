//! Device events that EAL reports from its interrupt thread: a port's link
//! changed (`RTE_ETH_EVENT_INTR_LSC`), or a device is going away
//! (`RTE_DEV_EVENT_REMOVE`, which vfio-pci raises when the kernel wants the
//! device back, e.g. on PCI hot-unplug; `RTE_ETH_EVENT_INTR_RMV` from PMDs
//! that report removal themselves).
//!
//! The callbacks only record the event; they never touch a device, because
//! DPDK forbids detaching a device from its own event callback. The owner
//! of the devices (the control thread) collects them with
//! [`take_link_changed`] and [`take_removed`] and acts on its own thread.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use dpdk_sys as sys;

use crate::error::{DpdkError, Result};
use crate::ethdev::{self, PortId};

static LINK_CHANGED: AtomicBool = AtomicBool::new(false);
/// Names of devices (`0000:01:00.0`, or a port's name) reported removed.
static REMOVED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static DEV_WATCH: Once = Once::new();

/// Whether any port reported a link change since the last call.
pub fn take_link_changed() -> bool {
    LINK_CHANGED.swap(false, Ordering::AcqRel)
}

/// Devices reported removed since the last call, oldest first.
pub fn take_removed() -> Vec<String> {
    std::mem::take(&mut *REMOVED.lock().unwrap_or_else(|p| p.into_inner()))
}

fn push_removed(name: String) {
    let mut r = REMOVED.lock().unwrap_or_else(|p| p.into_inner());
    if !r.contains(&name) {
        r.push(name);
    }
}

/// Listen for device removal on every device (once per process). Call
/// after EAL is up.
pub fn watch_devices() -> Result<()> {
    let mut result = Ok(());
    DEV_WATCH.call_once(|| {
        // SAFETY: EAL is up (caller's contract, checked by DPDK too); a NULL
        // device name means every device; the callback is a plain function
        // with no argument, valid for the life of the process.
        let ret = unsafe {
            sys::rte_dev_event_callback_register(
                core::ptr::null(),
                Some(on_dev_event),
                core::ptr::null_mut(),
            )
        };
        if ret < 0 {
            result = Err(DpdkError::from_ret(
                "rte_dev_event_callback_register",
                "all devices",
                ret,
            ));
        }
    });
    result
}

/// Listen for link changes and removal reported by `port`'s PMD.
/// Registering twice is harmless (DPDK keeps one entry per callback).
pub fn watch_port(port: PortId) -> Result<()> {
    for (ev, what) in [
        (sys::RTE_ETH_EVENT_INTR_LSC, "link"),
        (sys::RTE_ETH_EVENT_INTR_RMV, "removal"),
    ] {
        // SAFETY: DPDK validates the port id; the callback is a plain
        // function with no argument, valid for the life of the process.
        let ret = unsafe {
            sys::rte_eth_dev_callback_register(port, ev, Some(on_eth_event), core::ptr::null_mut())
        };
        if ret < 0 {
            return Err(DpdkError::from_ret(
                "rte_eth_dev_callback_register",
                format!("port {port} {what} events"),
                ret,
            ));
        }
    }
    Ok(())
}

/// Runs on EAL's interrupt thread.
unsafe extern "C" fn on_dev_event(
    name: *const c_char,
    event: sys::rte_dev_event_type,
    _arg: *mut c_void,
) {
    if event != sys::RTE_DEV_EVENT_REMOVE || name.is_null() {
        return;
    }
    // SAFETY: DPDK passes the device's NUL-terminated name, valid for the
    // duration of the call; copied at once.
    let name = unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned();
    push_removed(name);
}

/// Runs on EAL's interrupt thread (or the thread that polled the link).
unsafe extern "C" fn on_eth_event(
    port: u16,
    event: sys::rte_eth_event_type,
    _arg: *mut c_void,
    _ret: *mut c_void,
) -> c_int {
    match event {
        sys::RTE_ETH_EVENT_INTR_LSC => LINK_CHANGED.store(true, Ordering::Release),
        sys::RTE_ETH_EVENT_INTR_RMV => {
            if let Ok(name) = ethdev::port_name(port) {
                push_removed(name);
            }
        }
        _ => {}
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_are_taken_once_and_deduplicated() {
        push_removed("0000:01:00.0".into());
        push_removed("0000:01:00.0".into());
        push_removed("0000:02:00.0".into());
        assert_eq!(take_removed(), vec!["0000:01:00.0", "0000:02:00.0"]);
        assert!(take_removed().is_empty());
    }
}
