//! The metrics endpoint's HTTP worker: one request per connection, read
//! into a fixed buffer within a deadline, answered and closed. Only
//! `GET /metrics` (a query string is ignored) is served; the `Accept`
//! header chooses OpenMetrics or the Prometheus text format.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crossbeam::channel::{bounded, Receiver, Sender};
use ctl::metrics::{Exposition, MetricsInput};

use super::Conn;

/// Largest request head accepted (request line and headers).
pub const MAX_REQUEST: usize = 8 * 1024;
/// Time a client has to send its whole request head.
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// Time a client has to take the answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Start the worker; it ends when the returned sender is dropped.
pub fn spawn(queue: usize) -> Option<Sender<Conn>> {
    let (tx, rx) = bounded::<Conn>(queue);
    match std::thread::Builder::new()
        .name("metrics-http".into())
        .spawn(move || serve(&rx))
    {
        Ok(_) => Some(tx),
        Err(e) => {
            crate::error!("metrics: cannot start the HTTP thread: {e}");
            None
        }
    }
}

fn serve(conns: &Receiver<Conn>) {
    let mut buf = [0u8; MAX_REQUEST];
    for (mut s, input) in conns {
        if let Err(e) = answer(&mut s, &mut buf, &input) {
            crate::debug!("metrics: connection: {e}");
        }
    }
}

/// What a request head asks for, or the status to refuse it with.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Metrics(Exposition),
    Refused(&'static str),
}

/// Read the request head into `buf` (it must end within the buffer and the
/// deadline) and answer it.
fn answer(s: &mut TcpStream, buf: &mut [u8], input: &MetricsInput) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let deadline = Instant::now() + READ_DEADLINE;
    let mut len = 0;
    let asked = loop {
        if let Some(end) = head_end(&buf[..len]) {
            break parse(&buf[..end]);
        }
        if len == buf.len() {
            break Asked::Refused("431 Request Header Fields Too Large");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Asked::Refused("408 Request Timeout");
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf[len..]) {
            Ok(0) => return Ok(()),
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break Asked::Refused("408 Request Timeout")
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    let (status, content_type, body) = match asked {
        Asked::Metrics(f) => ("200 OK", f.content_type(), ctl::metrics::render(input, f)),
        Asked::Refused(status) => (status, "text/plain; charset=utf-8", format!("{status}\n")),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())?;
    s.flush()
}

/// The length of the request head (through the blank line), once complete.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Read a complete request head.
fn parse(head: &[u8]) -> Asked {
    let Ok(head) = std::str::from_utf8(head) else {
        return Asked::Refused("400 Bad Request");
    };
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Asked::Refused("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return Asked::Refused("505 HTTP Version Not Supported");
    }
    if method != "GET" {
        return Asked::Refused("405 Method Not Allowed");
    }
    if target.split('?').next() != Some("/metrics") {
        return Asked::Refused("404 Not Found");
    }
    let accept = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case("accept").then_some(v.trim())
    });
    Asked::Metrics(Exposition::negotiate(accept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_strictly() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Asked::Metrics(Exposition::Prometheus)
        );
        assert_eq!(
            parse(b"GET /metrics?x=1 HTTP/1.0\r\naccept: application/openmetrics-text; version=1.0.0\r\n\r\n"),
            Asked::Metrics(Exposition::OpenMetrics)
        );
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Asked::Refused("405 Method Not Allowed")
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n\r\n"),
            Asked::Refused("404 Not Found")
        );
        assert_eq!(
            parse(b"GET /metrics SPDY/3\r\n\r\n"),
            Asked::Refused("505 HTTP Version Not Supported")
        );
        for bad in [
            &b"GET /metrics\r\n\r\n"[..],
            b"\xff\xfe\r\n\r\n",
            b"GET  /metrics HTTP/1.1 x\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Asked::Refused("400 Bad Request"), "{bad:?}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
    }
}
