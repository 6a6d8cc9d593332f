//! Taking a queue that several threads share. PMD threads lock it once
//! per burst; the control thread only tries, for about as long as a few
//! bursts take, so a control frame never waits long behind a PMD.

use std::sync::{Mutex, MutexGuard, TryLockError};

/// Try `m` for about as long as a few bursts take; `None` if it stayed
/// taken. A poisoned lock is taken anyway (a queue has no invariant a
/// panicking holder can break).
pub fn try_lock_briefly<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    for i in 0..4096u32 {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(TryLockError::WouldBlock) if i % 64 == 63 => std::thread::yield_now(),
            Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}
