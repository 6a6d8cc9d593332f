//! Handing a request from a socket thread to the control thread and
//! waiting a bounded time for its answer ([`ControlQueue`]): a wedged
//! control thread costs a client a "daemon busy" reply, never a slot held
//! forever.

use std::fmt;
use std::time::Duration;

use super::{log_drop, DropLogger, DropReason, PeerCred};
use crate::proto::{Request, Response};

/// How long [`ControlQueue`] waits for the control thread by default.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of a request handed to the control thread (the result of a
/// [`ControlQueue`]'s hand-off function).
#[derive(Debug)]
pub enum Waited {
    /// The control thread answered in time.
    Answered(Response),
    /// No answer within the time given.
    TimedOut,
    /// The control thread is gone (the daemon is shutting down).
    Gone,
}

/// The hand-off from the socket threads to the one thread that runs
/// requests, bounded in time: [`ControlQueue::ask`] is the handler to give
/// [`serve`].
///
/// `hand_off(request, limit)` queues the request for the control thread and
/// waits at most `limit` for its answer (with whatever channel the daemon
/// uses). When the control thread does not answer in time, the client gets
/// `daemon busy: control thread has not answered for N s ...` (vsctl prints
/// it after `vsctl: ` and exits 1), the drop logger hears
/// [`DropReason::Stalled`], and the connection's slot is freed, so a wedged
/// control thread never holds every slot for good. The request stays
/// queued: the control thread may still carry it out when it catches up,
/// and the reply says so.
pub struct ControlQueue<F> {
    hand_off: F,
    answer_timeout: Duration,
    on_drop: DropLogger,
}

impl<F> fmt::Debug for ControlQueue<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlQueue")
            .field("answer_timeout", &self.answer_timeout)
            .finish_non_exhaustive()
    }
}

impl<F> ControlQueue<F>
where
    F: Fn(Request, Duration) -> Waited,
{
    /// A queue that waits `answer_timeout` for each answer and reports
    /// stalls to the process-wide drop logger ([`log_drop`]).
    pub fn new(answer_timeout: Duration, hand_off: F) -> ControlQueue<F> {
        ControlQueue {
            hand_off,
            answer_timeout,
            on_drop: log_drop,
        }
    }

    /// Report stalls to `on_drop` instead.
    pub fn with_drop_logger(mut self, on_drop: DropLogger) -> ControlQueue<F> {
        self.on_drop = on_drop;
        self
    }

    /// How long [`ControlQueue::ask`] waits for an answer.
    pub fn answer_timeout(&self) -> Duration {
        self.answer_timeout
    }

    /// Hand `req` (from `peer`) to the control thread and return its
    /// answer, or a "daemon busy" error after the timeout, or "shutting
    /// down" if it is gone.
    pub fn ask(&self, req: Request, peer: &PeerCred) -> Response {
        match (self.hand_off)(req, self.answer_timeout) {
            Waited::Answered(r) => r,
            Waited::Gone => Response::error("vswitchd is shutting down"),
            Waited::TimedOut => {
                // The limit, not the time measured: the hand-off waited at
                // least that long, and the wording stays the same.
                let waited = describe_wait(self.answer_timeout);
                (self.on_drop)(
                    DropReason::Stalled,
                    Some(peer),
                    &format!("no answer from the control thread for {waited}; told the client the daemon is busy"),
                );
                Response::error(format!(
                    "daemon busy: control thread has not answered for {waited}; the request is still queued and may be carried out later (check with vsctl show before retrying)"
                ))
            }
        }
    }
}

/// `10 s`, or `250 ms` below a second.
fn describe_wait(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}
