//! Which protocol a connection speaks, read from its first bytes without taking them: the
//! HTTP/2 connection preface (h2c with prior knowledge) or anything else (HTTP/1.1).

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// What every HTTP/2 connection starts with (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How often a connection that sent part of the preface is looked at again.
const RECHECK: Duration = Duration::from_millis(2);

/// The protocol of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

/// The protocol `stream` speaks, from the bytes it sent within `timeout` (none are consumed);
/// `None` when it sent nothing, or only part of the preface, in time, or closed.
pub(crate) async fn sniff(stream: &TcpStream, timeout: Duration) -> Option<Protocol> {
    let deadline = Instant::now() + timeout;
    let mut seen = [0u8; PREFACE.len()];
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut seen))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        if let Some(protocol) = decide(&seen[..n]) {
            return Some(protocol);
        }
        // Part of the preface: the rest is on its way.
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep_until(deadline.min(Instant::now() + RECHECK)).await;
    }
}

/// The protocol that a connection whose first bytes are `seen` speaks, or `None` while
/// `seen` is a strict beginning of the preface.
pub(crate) fn decide(seen: &[u8]) -> Option<Protocol> {
    if !PREFACE.starts_with(seen) {
        Some(Protocol::Http1)
    } else if seen.len() == PREFACE.len() {
        Some(Protocol::Http2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_means_http2_and_anything_else_http1() {
        assert_eq!(decide(PREFACE), Some(Protocol::Http2));
        assert_eq!(decide(b"POST /plugin HTTP/1.1\r\n"), Some(Protocol::Http1));
        assert_eq!(decide(b"G"), Some(Protocol::Http1));
        assert_eq!(decide(b"PO"), Some(Protocol::Http1));
        assert_eq!(
            decide(b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"),
            Some(Protocol::Http1)
        );
        assert_eq!(decide(b"P"), None, "POST or the preface: wait");
        assert_eq!(decide(b"PRI * HTTP/2.0\r\n"), None);
    }
}
