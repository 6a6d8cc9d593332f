//! The daemon's log: timestamped lines to stderr or a file, rate limited
//! per call site so that an attack (a flood of bad requests, a flapping
//! link) cannot fill the disk.
//!
//! Each call site owns a token bucket: [`BURST`] messages at once, then
//! one every [`REFILL_MS`] milliseconds. Suppressed messages are counted and
//! reported with the next message that gets through. A message longer than
//! [`MAX_MESSAGE`] bytes (a rejected request quoting a huge argument) is
//! cut, so one call site writes at most about `BURST × MAX_MESSAGE` bytes
//! at once and `MAX_MESSAGE` per second after that.
//!
//! The control socket's drop reports (refused peers, oversize, slow,
//! evicted, malformed requests, a stalled control thread:
//! [`ctl::server::DropReason`]) come here too, one call site per reason
//! ([`log_socket_drop`]).
//!
//! One message is always one line: control characters (C0, DEL, C1), line
//! and paragraph separators and bidirectional-text controls in a message
//! are written as visible escapes ([`escape_controls`]: `\n`, `\r`, `\t`,
//! `\x1b`, `\u{202e}`), so a value quoted in a message (an interface
//! name, a path from a rejected command) cannot forge log lines or
//! terminal sequences. Backslashes are left as they are (so `\n` in the
//! log may also be a backslash and an `n` the value held); either way, it
//! is never a line break.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Messages a call site may log at once.
pub const BURST: u64 = 20;
/// Milliseconds to earn one more message.
pub const REFILL_MS: u64 = 1000;
/// Longest message written; the rest is replaced by a note of its size.
pub const MAX_MESSAGE: usize = 1024;

static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Send the log to `path` (appending) instead of stderr.
pub fn to_file(path: &str) -> std::io::Result<()> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
    Ok(())
}

/// Log debug messages too. (Called first thing at start-up, so it also
/// routes the control socket's drop reports into this log.)
pub fn set_verbose(v: bool) {
    VERBOSE.store(v, Ordering::Relaxed);
    ctl::server::set_drop_logger(log_socket_drop);
}

/// Log a connection the control socket dropped without serving it, with
/// its reason; each reason has its own rate limit.
pub fn log_socket_drop(
    reason: ctl::server::DropReason,
    peer: Option<&ctl::server::PeerCred>,
    detail: &str,
) {
    use ctl::server::DropReason as R;
    let who = match peer {
        Some(p) => format!("pid {} uid {}", p.pid, p.uid),
        None => "unknown peer".to_string(),
    };
    match reason {
        R::Refused => crate::warn!("control socket: dropped request from {who}: refused: {detail}"),
        R::NoCredentials => {
            crate::warn!(
                "control socket: dropped request: cannot read the peer's credentials: {detail}"
            )
        }
        R::TooLarge => {
            crate::warn!("control socket: dropped request from {who}: too large: {detail}")
        }
        R::TimedOut => {
            crate::warn!("control socket: dropped request from {who}: timed out: {detail}")
        }
        R::Evicted => {
            crate::warn!("control socket: dropped connection from {who}: evicted: {detail}")
        }
        R::Busy => crate::warn!("control socket: dropped request from {who}: busy: {detail}"),
        R::Malformed => {
            crate::warn!("control socket: dropped request from {who}: malformed: {detail}")
        }
        R::Io => crate::warn!("control socket: dropped request from {who}: {detail}"),
        R::Stalled => crate::warn!(
            "control socket: answered busy to request from {who}: control thread stalled: {detail}"
        ),
    }
}

/// Whether `c` is written as an escape ([`escape_controls`]).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
                | '\u{200e}' | '\u{200f}' // left-to-right and right-to-left marks
                | '\u{202a}'..='\u{202e}' // bidirectional embeddings and overrides
                | '\u{2066}'..='\u{2069}' // bidirectional isolates
        )
}

/// `msg` with every control character (C0, DEL, C1) and every Unicode line
/// separator or bidirectional control replaced by a visible escape:
/// `\n`, `\r`, `\t`, `\xHH` below U+0100, `\u{HHHH}` above.
pub fn escape_controls(msg: &str) -> std::borrow::Cow<'_, str> {
    if !msg.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(msg);
    }
    let mut out = String::with_capacity(msg.len() + 16);
    for c in msg.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `msg` cut to at most [`MAX_MESSAGE`] bytes (on a character boundary),
/// with a note of how much was cut.
pub fn clip(msg: &mut String) {
    if msg.len() <= MAX_MESSAGE {
        return;
    }
    let mut end = MAX_MESSAGE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    let cut = msg.len() - end;
    msg.truncate(end);
    msg.push_str(&format!("... ({cut} more bytes not logged)"));
}

/// Whether debug messages are logged.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One call site's token bucket.
#[derive(Debug)]
pub struct Limiter {
    /// Tokens × 1000 plus the refill timestamp, packed as (tokens_milli << 40 | ms & 2^40-1) would
    /// be fancier; two words are enough here (logging is never on a hot path).
    state: Mutex<(u64, u64)>,
    suppressed: AtomicU64,
}

impl Limiter {
    /// A full bucket.
    pub const fn new() -> Limiter {
        Limiter {
            state: Mutex::new((BURST, 0)),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Take a token; `Some(n)` with the number of messages suppressed since
    /// the last one that passed, or `None` to suppress this one.
    pub fn admit(&self, now_ms: u64) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *s;
        if *last == 0 {
            *last = now_ms;
        }
        let earned = now_ms.saturating_sub(*last) / REFILL_MS;
        if earned > 0 {
            *tokens = (*tokens + earned).min(BURST);
            *last += earned * REFILL_MS;
        }
        if *tokens == 0 {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *tokens -= 1;
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new()
    }
}

/// Write one line (used by the macros).
pub fn write(level: &str, limiter: &Limiter, args: std::fmt::Arguments<'_>) {
    let now = wall_ms();
    let Some(suppressed) = limiter.admit(now) else {
        return;
    };
    let secs = now / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let mut msg = escape_controls(&args.to_string()).into_owned();
    clip(&mut msg);
    let mut line = format!("{h:02}:{m:02}:{s:02}.{:03} {level:5} {msg}", now % 1000);
    if suppressed > 0 {
        line.push_str(&format!(" ({suppressed} similar messages suppressed)"));
    }
    line.push('\n');
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(w) => {
            let _ = w.write_all(line.as_bytes());
            let _ = w.flush();
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Log at a level, rate limited per call site.
#[macro_export]
macro_rules! log_at {
    ($level:literal, $($arg:tt)*) => {{
        static LIMIT: $crate::logging::Limiter = $crate::logging::Limiter::new();
        $crate::logging::write($level, &LIMIT, format_args!($($arg)*));
    }};
}

/// Log an informational message.
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log_at!("INFO", $($arg)*) }; }
/// Log a warning.
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::log_at!("WARN", $($arg)*) }; }
/// Log an error.
#[macro_export]
macro_rules! error { ($($arg:tt)*) => { $crate::log_at!("ERROR", $($arg)*) }; }
/// Log a debug message (only with `--verbose`).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::logging::verbose() { $crate::log_at!("DEBUG", $($arg)*) }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_burst_then_one_per_second_and_counts_the_rest() {
        let l = Limiter::new();
        for _ in 0..BURST {
            assert_eq!(l.admit(1_000), Some(0));
        }
        for _ in 0..500 {
            assert_eq!(l.admit(1_500), None);
        }
        assert_eq!(l.admit(2_000), Some(500));
        assert_eq!(l.admit(2_100), None);
        // A long quiet period refills up to the burst, not beyond.
        for _ in 0..BURST {
            assert!(l.admit(100_000).is_some());
        }
        assert_eq!(l.admit(100_000), None);
    }

    #[test]
    fn control_characters_become_visible_escapes_so_a_message_is_one_line() {
        let forged = "br0\n12:00:00.000 ERROR forged\r\x1b[2J\ttab\x7f\u{9b}31m\u{2028}x\u{202e}y";
        let out = escape_controls(forged);
        assert_eq!(
            out,
            "br0\\n12:00:00.000 ERROR forged\\r\\x1b[2J\\ttab\\x7f\\x9b31m\\u{2028}x\\u{202e}y"
        );
        assert!(!out.chars().any(|c| c.is_control()), "{out}");
        // Plain text (and non-ASCII letters, and backslashes) is untouched
        // and not copied.
        let plain = "port \"vhu0\" on br-é \\n stays";
        assert!(matches!(
            escape_controls(plain),
            std::borrow::Cow::Borrowed(p) if p == plain
        ));
    }

    #[test]
    fn an_escaped_message_still_fits_the_clip_on_a_character_boundary() {
        let mut m = escape_controls(&"\u{1b}é".repeat(MAX_MESSAGE)).into_owned();
        clip(&mut m);
        assert!(m.len() < MAX_MESSAGE + 40, "{}", m.len());
        assert!(!m.contains('\u{1b}'));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let mut short = "x".repeat(MAX_MESSAGE);
        clip(&mut short);
        assert_eq!(short.len(), MAX_MESSAGE);
        let mut long = format!("a{}", "é".repeat(MAX_MESSAGE));
        clip(&mut long);
        assert!(long.len() < MAX_MESSAGE + 40, "{}", long.len());
        assert!(
            long.ends_with(&format!(
                "... ({} more bytes not logged)",
                2 * MAX_MESSAGE + 1 - (MAX_MESSAGE - 1)
            )),
            "{long}"
        );
    }
}
