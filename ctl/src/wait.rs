//! `wait-until TABLE RECORD [COLUMN[:KEY] OP VALUE]...`: both sides.
//!
//! ovs-vsctl runs a chain with a `wait-until` that does not hold yet
//! again and again, each time the database changes, until it holds or
//! `--timeout` kills the process. rvswitch does the same by polling:
//!
//! - The daemon ([`holds`], called by the executor) runs the chain up to
//!   the first `wait-until` that does not hold, then throws the whole
//!   chain away and replies `waiting` (nothing is changed, no runtime
//!   command runs). Its conditions are checked first, so a condition on
//!   an unknown column or with a bad value is an error at once.
//! - The client ([`request`]) sends the same request again every
//!   [`POLL_INTERVAL`] until the reply is not `waiting` or `--timeout`
//!   passes; then [`die_of_alarm`] ends the process as ovs-vsctl's alarm
//!   does.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::{self, ClientError};
use crate::cmd::Command;
use crate::cond::Condition;
use crate::db::Db;
use crate::env::Runtime;
use crate::exec::CtlError;
use crate::proto::{Request, Response};
use crate::schema::{find_row, find_table, read};

/// How often the client asks again while a `wait-until` does not hold.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Whether `wait-until` command `c` holds in `db`: the record exists and
/// every condition holds. Errors (unknown table or column, bad value)
/// come before the record is looked up.
pub(crate) fn holds(db: &Db, rt: &dyn Runtime, c: &Command) -> Result<bool, CtlError> {
    let table = find_table(c.arg(0))?;
    let conds = c.args[2..]
        .iter()
        .map(|a| Condition::parse(table, a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(row) = find_row(db, table, c.arg(1))? else {
        return Ok(false);
    };
    Ok(conds
        .iter()
        .all(|cond| cond.holds(&read(db, row, cond.col, rt))))
}

/// Why [`request`] gave up.
#[derive(Debug)]
pub enum WaitError {
    /// The first request got no reply.
    Client(ClientError),
    /// `timeout` passed while a `wait-until` did not hold.
    TimedOut,
}

/// Send `req` to the daemon at `path`; while the reply is `waiting`, send
/// it again every [`POLL_INTERVAL`]. `timeout` bounds each exchange, as
/// for any request, and the whole wait. Once the daemon has answered,
/// a connection that fails (vswitchd restarting) is retried too.
pub fn request(
    path: &Path,
    req: &Request,
    timeout: Option<Duration>,
) -> Result<Response, WaitError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut answered = false;
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let bound = match (timeout, left) {
            (Some(t), Some(l)) if answered => Some(t.min(l).max(Duration::from_millis(1))),
            _ => timeout,
        };
        match client::request(path, req, bound) {
            Ok(resp) if !resp.waiting => return Ok(resp),
            Ok(_) => answered = true,
            Err(e) if !answered || matches!(e, ClientError::Protocol(_)) => {
                return Err(WaitError::Client(e))
            }
            Err(_) => {}
        }
        let pause = match deadline {
            None => POLL_INTERVAL,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(WaitError::TimedOut);
                }
                POLL_INTERVAL.min(left)
            }
        };
        sleep(pause);
    }
}

/// End the process as ovs-vsctl ends when its `--timeout` expires: its
/// log line on stderr (`...|fatal_signal|WARN|terminating with signal 14
/// (Alarm clock)`), then death by SIGALRM (a shell shows status 142).
pub fn die_of_alarm() -> ! {
    eprintln!(
        "{}|00001|fatal_signal|WARN|terminating with signal 14 (Alarm clock)",
        vlog_time(SystemTime::now())
    );
    // SAFETY: signal(2), sigprocmask(2) and raise(3) with valid arguments
    // (a zeroed set filled by sigemptyset/sigaddset, a null old-set
    // pointer); they touch only this process's signal state.
    unsafe {
        libc::signal(libc::SIGALRM, libc::SIG_DFL);
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGALRM);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
        libc::raise(libc::SIGALRM);
    }
    std::process::exit(128 + libc::SIGALRM)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), the time stamp of OVS's console log.
pub fn vlog_time(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlog_time_stamps() {
        let at = |s: u64| vlog_time(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_825_600), "2000-02-29T12:00:00Z");
        assert_eq!(at(1_796_670_227), "2026-12-07T19:03:47Z");
    }
}
