//! ICMP errors are hints, never verdicts.
//!
//! A UDP socket connected to its name server hears of an ICMP "port unreachable" as a receive
//! (or send) error, ECONNREFUSED. That makes a dead server fail at once instead of after the
//! timeout, but anyone can send ICMP quoting our ports: an off-path attacker who sweeps them
//! could fail every pending query, and a fail-open filter would let everything pass. So an
//! ICMP error only starts a check. The server's port is believed closed when all of these hold:
//!
//! - a TCP connection to it is refused too: a refusal an off-path attacker cannot forge, since
//!   the RST must acknowledge our SYN's random 32-bit sequence number;
//! - a UDP query from a fresh socket, on a new random port no attacker has seen, is refused
//!   too, rather than answered (a UDP-only server such as rbldnsd refuses TCP while it
//!   answers UDP);
//! - no UDP answer came from that server within the timeout.
//!
//! Until then, queries wait for their true answer until their own timeout.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpStream, UdpSocket};

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

/// The most sends of one datagram while each fails with an ICMP hint.
///
/// A pending ICMP error is reported, and cleared, by the next send on the socket, whichever
/// datagram makes it. A flood of forged ones can land again between a send and the next try
/// when the thread is preempted there (a single retry failed 1 lookup in 600 under such a
/// flood on a loaded machine). Each try clears one error, so a forger must now land this many
/// in a row, each within the moment between two sends. A port that is really closed draws one
/// error per datagram sent, so a send past it succeeds at the second try, and the closed-port
/// check tells it.
pub(crate) const SENDS_PAST_ICMP_HINTS: usize = 8;

/// Counts the sends of one datagram, and says whether a failed one is sent again.
///
/// Used by both transports around their sends.
pub(crate) struct Resends(usize);

impl Resends {
    pub(crate) const fn new() -> Self {
        Resends(1)
    }

    /// Whether to send again after `error`: after an ICMP hint, until
    /// [`SENDS_PAST_ICMP_HINTS`] sends in all; after any other error, once.
    pub(crate) fn again(&mut self, error: &io::Error) -> bool {
        let limit = if is_icmp_hint(error) {
            SENDS_PAST_ICMP_HINTS
        } else {
            2
        };
        let again = self.0 < limit;
        self.0 += 1;
        again
    }
}

/// Whether a datagram from `from` comes from `server`: address and port (an IPv6 flow label
/// may differ). A connected socket gets no other, except what was queued before it was
/// connected, which may come from anyone.
pub(crate) fn same_peer(from: SocketAddr, server: SocketAddr) -> bool {
    from.ip() == server.ip() && from.port() == server.port()
}

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
                let closed = self.tcp_refused().await && self.fresh_udp_refused().await;
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

    /// Whether a query for the root's SOA, from a new socket on a new random port, is refused.
    /// Any datagram from the server proves it listens; no answer in time proves nothing.
    async fn fresh_udp_refused(&self) -> bool {
        let probe = async {
            let local: SocketAddr = match self.server {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let socket = UdpSocket::bind(local).await?;
            socket.connect(self.server).await?;
            let id: u16 = rand::random();
            let mut query = [0u8; 17];
            query[..2].copy_from_slice(&id.to_be_bytes());
            query[5] = 1; // one question: the root (0), type SOA (6), class IN (1)
            query[14] = 6;
            query[16] = 1;
            socket.send(&query).await?;
            socket.recv(&mut [0u8; 512]).await
        };
        let attempt = tokio::time::timeout(self.recent, probe).await;
        matches!(attempt, Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_is_sent_past_icmp_hints_a_bounded_number_of_times() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let mut resends = Resends::new();
        let tries = std::iter::from_fn(|| resends.again(&refused()).then_some(()))
            .take(100)
            .count();
        assert_eq!(tries + 1, SENDS_PAST_ICMP_HINTS, "sends in all");
        const { assert!(SENDS_PAST_ICMP_HINTS >= 8) };

        let mut resends = Resends::new();
        let local = io::Error::from(io::ErrorKind::OutOfMemory);
        assert!(resends.again(&local), "another error is tried once more");
        assert!(!resends.again(&local));

        // Hints after another error still count the sends made.
        let mut resends = Resends::new();
        assert!(resends.again(&local));
        let more = std::iter::from_fn(|| resends.again(&refused()).then_some(())).count();
        assert_eq!(more + 2, SENDS_PAST_ICMP_HINTS);
    }

    #[tokio::test]
    async fn a_closed_port_is_confirmed_and_an_open_one_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = ClosedPortCheck::new(listener.local_addr().unwrap(), Duration::from_secs(1));
        assert!(!open.confirm_closed().await);

        // A UDP-only server (TCP refused) that answers a fresh socket is not closed.
        let udp_only = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_only_addr = udp_only.local_addr().unwrap();
        let answering = tokio::spawn(async move {
            let mut buffer = [0u8; 512];
            let (len, from) = udp_only.recv_from(&mut buffer).await.unwrap();
            buffer[2] |= 0x80;
            udp_only.send_to(&buffer[..len], from).await.unwrap();
        });
        let check = ClosedPortCheck::new(udp_only_addr, Duration::from_secs(1));
        assert!(!check.confirm_closed().await);
        answering.await.unwrap();

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
    fn a_peer_is_its_address_and_port() {
        let server: SocketAddr = "[2001:db8::53]:53".parse().unwrap();
        let labelled = SocketAddr::V6(std::net::SocketAddrV6::new(
            "2001:db8::53".parse().unwrap(),
            53,
            0x12345,
            0,
        ));
        assert!(same_peer(labelled, server));
        assert!(!same_peer("[2001:db8::53]:54".parse().unwrap(), server));
        assert!(!same_peer("192.0.2.53:53".parse().unwrap(), server));
    }

    #[test]
    fn only_network_errors_are_hints() {
        assert!(is_icmp_hint(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
        assert!(!is_icmp_hint(&io::Error::from_raw_os_error(24))); // EMFILE
    }
}
