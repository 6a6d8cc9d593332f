//! Quiescing a port's data path from the control side.
//!
//! Each queue handle owns a [`BusyFlag`] registered with the port's
//! [`Gate`]. A burst raises its flag (one sequentially consistent store,
//! the only atomic read-modify-write of the burst), then checks that the
//! gate is open. [`Gate::close`] lowers the gate, then waits until every
//! flag is down. The two sequentially consistent store-then-load sequences
//! guarantee that either the burst sees the gate closed, or `close` sees
//! the burst's flag up and waits for it: after `close` returns, no burst is
//! inside the device and none will enter until [`Gate::open`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One queue handle's "burst in flight" flag, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct BusyFlag(AtomicBool);

/// Open/closed state of a port's data path plus the flags of its users.
#[derive(Debug)]
pub(crate) struct Gate {
    open: AtomicBool,
    users: Mutex<Vec<Arc<BusyFlag>>>,
}

impl Gate {
    pub(crate) fn new(open: bool) -> Gate {
        Gate {
            open: AtomicBool::new(open),
            users: Mutex::new(Vec::new()),
        }
    }

    /// Register a new user (queue handle). Control path.
    pub(crate) fn join(&self) -> Arc<BusyFlag> {
        let f = Arc::new(BusyFlag::default());
        self.lock_users().push(f.clone());
        f
    }

    /// Unregister a user. Control path.
    pub(crate) fn leave(&self, flag: &Arc<BusyFlag>) {
        self.lock_users().retain(|f| !Arc::ptr_eq(f, flag));
    }

    /// Enter the data path; `false` when the gate is closed (then the
    /// caller must not touch the device and must not call [`Gate::exit`]).
    #[inline(always)]
    pub(crate) fn enter(&self, flag: &BusyFlag) -> bool {
        flag.0.store(true, Ordering::SeqCst);
        if self.open.load(Ordering::SeqCst) {
            true
        } else {
            flag.0.store(false, Ordering::Release);
            false
        }
    }

    /// Leave the data path after a successful [`Gate::enter`].
    #[inline(always)]
    pub(crate) fn exit(flag: &BusyFlag) {
        flag.0.store(false, Ordering::Release);
    }

    /// Let bursts in.
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Keep new bursts out and wait until none is in flight. Control path;
    /// never call it from inside a burst.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        let users = self.lock_users();
        for f in users.iter() {
            let mut spins = 0u32;
            while f.0.load(Ordering::SeqCst) {
                spins = spins.wrapping_add(1);
                if spins & 63 == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }

    /// Whether bursts may enter.
    #[cfg(test)]
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    fn lock_users(&self) -> std::sync::MutexGuard<'_, Vec<Arc<BusyFlag>>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_gate_refuses_and_open_gate_admits() {
        let g = Gate::new(false);
        let f = g.join();
        assert!(!g.enter(&f));
        assert!(
            !f.0.load(Ordering::SeqCst),
            "refused burst leaves its flag down"
        );
        g.open();
        assert!(g.enter(&f));
        assert!(f.0.load(Ordering::SeqCst));
        Gate::exit(&f);
        g.close();
        assert!(!g.is_open());
        assert!(!g.enter(&f));
        g.leave(&f);
        assert!(g.lock_users().is_empty());
    }

    #[test]
    fn close_waits_for_burst_in_flight() {
        use std::sync::atomic::AtomicU32;
        let g = Arc::new(Gate::new(true));
        let f = g.join();
        assert!(g.enter(&f));
        // A "device" the burst is still using.
        let in_device = Arc::new(AtomicU32::new(1));
        let closer = {
            let g = g.clone();
            let in_device = in_device.clone();
            std::thread::spawn(move || {
                g.close();
                // close() may only return after the burst has left.
                in_device.load(Ordering::SeqCst)
            })
        };
        // Give the closer every chance to (wrongly) finish first: it cannot,
        // because our flag is up. Busy-wait until it has lowered the gate.
        while g.is_open() {
            std::hint::spin_loop();
        }
        in_device.store(0, Ordering::SeqCst);
        Gate::exit(&f);
        assert_eq!(
            closer.join().unwrap(),
            0,
            "close returned while a burst was inside"
        );
    }
}
