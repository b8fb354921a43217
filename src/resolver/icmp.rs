//! ICMP errors are hints, never verdicts.
//!
//! A UDP socket connected to its name server hears of an ICMP "port unreachable" as a receive
//! (or send) error, ECONNREFUSED. That makes a dead server fail at once instead of after the
//! timeout, but anyone can send ICMP quoting our ports: an off-path attacker who sweeps them
//! could fail every pending query, and a fail-open filter would let everything pass. So an
//! ICMP error only starts a check: the server's port is believed closed when a TCP connection
//! to it is refused too (a refusal an off-path attacker cannot forge: the RST must acknowledge
//! our SYN's random sequence number) *and* no UDP answer came from that server lately (a
//! UDP-only server such as rbldnsd refuses TCP while it answers UDP). Until then, queries wait
//! for their true answer until their own timeout.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// How long a verdict is reused: an attacker's flood of forged ICMP costs at most one TCP
/// connection per server and period.
const VERDICT_LIFETIME: Duration = Duration::from_secs(1);

/// Whether an I/O error on a connected UDP socket may come from an ICMP error (which anyone
/// can forge), as opposed to a local condition.
pub(crate) fn is_icmp_hint(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    ) || error.raw_os_error() == Some(EPROTO)
}

const EPROTO: i32 = 71;

/// The closed-port check of one name server.
#[derive(Debug)]
pub(crate) struct ClosedPortCheck {
    server: SocketAddr,
    /// A UDP answer this recent proves the port open, whatever TCP says.
    recent: Duration,
    epoch: Instant,
    /// When the last UDP answer came, in milliseconds since `epoch` plus one; 0 for never.
    last_answer: AtomicU64,
    /// The last TCP verdict (when, and whether the port was closed); one check at a time.
    verdict: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl ClosedPortCheck {
    /// A check of `server`, where a UDP answer within `recent` proves the port open.
    pub(crate) fn new(server: SocketAddr, recent: Duration) -> Self {
        ClosedPortCheck {
            server,
            recent,
            epoch: Instant::now(),
            last_answer: AtomicU64::new(0),
            verdict: tokio::sync::Mutex::new(None),
        }
    }

    /// A UDP answer came from the server.
    pub(crate) fn note_answer(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        self.last_answer.store(now, Ordering::Relaxed);
    }

    fn answered_recently(&self) -> bool {
        match self.last_answer.load(Ordering::Relaxed) {
            0 => false,
            at => {
                let since = self.epoch.elapsed().as_millis() as u64 + 1 - at;
                Duration::from_millis(since) < self.recent
            }
        }
    }

    /// After an ICMP hint: whether the server's port is confirmed closed. Concurrent callers
    /// share one TCP connection attempt; a verdict is reused for a second.
    pub(crate) async fn confirm_closed(&self) -> bool {
        if self.answered_recently() {
            return false;
        }
        let mut verdict = self.verdict.lock().await;
        let closed = match *verdict {
            Some((at, closed)) if at.elapsed() < VERDICT_LIFETIME => closed,
            _ => {
                let closed = self.tcp_refused().await;
                *verdict = Some((Instant::now(), closed));
                closed
            }
        };
        drop(verdict);
        closed && !self.answered_recently()
    }

    /// Whether a TCP connection to the server is refused. No answer in time proves nothing.
    async fn tcp_refused(&self) -> bool {
        let attempt = tokio::time::timeout(self.recent, TcpStream::connect(self.server)).await;
        matches!(attempt, Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_confirmed_and_an_open_one_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = ClosedPortCheck::new(listener.local_addr().unwrap(), Duration::from_secs(1));
        assert!(!open.confirm_closed().await);

        let closed_addr = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap()
        };
        let closed = ClosedPortCheck::new(closed_addr, Duration::from_secs(1));
        assert!(closed.confirm_closed().await);
        // A UDP answer (a UDP-only server) outweighs the TCP refusal.
        closed.note_answer();
        assert!(!closed.confirm_closed().await);
    }

    #[test]
    fn only_network_errors_are_hints() {
        assert!(is_icmp_hint(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
        assert!(!is_icmp_hint(&io::Error::from_raw_os_error(24))); // EMFILE
    }
}
