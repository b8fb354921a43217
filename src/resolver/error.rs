//! How a lookup can fail, and how setting up a resolver can.

use std::fmt;
use std::io;

use serde::Serialize;

/// Why a lookup gave no usable answer.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{LookupError, LookupErrorKind};
///
/// let error = LookupError::new(LookupErrorKind::ServFail);
/// assert!(error.is_servfail());
/// assert_eq!(error.to_string(), "SERVFAIL");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LookupError {
    kind: LookupErrorKind,
    detail: Option<String>,
}

impl LookupError {
    /// An error of this kind, without further detail.
    pub fn new(kind: LookupErrorKind) -> Self {
        LookupError { kind, detail: None }
    }

    /// An error of this kind with a human-readable detail (which must not contain the name).
    pub fn with_detail(kind: LookupErrorKind, detail: impl Into<String>) -> Self {
        LookupError {
            kind,
            detail: Some(detail.into()),
        }
    }

    /// Sorts an operating-system error: a local shortage (descriptors, ports, buffers,
    /// memory) is [`LookupErrorKind::LocalResource`]; anything else, such as an unreachable
    /// or refusing server, is [`LookupErrorKind::Network`]. The OS error text is the detail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use dnsbl_check::{LookupError, LookupErrorKind};
    ///
    /// assert!(LookupError::from_io(&io::Error::from(io::ErrorKind::AddrInUse)).is_local());
    /// // Out of file descriptors: errno values std has no kind for.
    /// #[cfg(unix)]
    /// for errno in [libc::EMFILE, libc::ENFILE] {
    ///     assert!(LookupError::from_io(&io::Error::from_raw_os_error(errno)).is_local());
    /// }
    /// let refused = LookupError::from_io(&io::Error::from(io::ErrorKind::ConnectionRefused));
    /// assert_eq!(refused.kind(), LookupErrorKind::Network);
    /// ```
    pub fn from_io(error: &io::Error) -> Self {
        let local = matches!(
            error.kind(),
            io::ErrorKind::OutOfMemory | io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable
        ) || out_of_descriptors_or_buffers(error);
        let kind = if local {
            LookupErrorKind::LocalResource
        } else {
            LookupErrorKind::Network
        };
        LookupError::with_detail(kind, error.to_string())
    }

    /// The error for a response code other than NOERROR and NXDOMAIN, the same on every
    /// transport: SERVFAIL and REFUSED by name, any other code by number.
    #[cfg(any(feature = "hickory", feature = "pooled"))]
    pub(crate) fn from_rcode(rcode: u16) -> Self {
        const SERVFAIL: u16 = 2;
        const REFUSED: u16 = 5;
        LookupError::new(match rcode {
            SERVFAIL => LookupErrorKind::ServFail,
            REFUSED => LookupErrorKind::Refused,
            other => LookupErrorKind::ResponseCode(other),
        })
    }

    /// The kind of failure.
    pub fn kind(&self) -> LookupErrorKind {
        self.kind
    }

    /// More detail, such as the operating system's error text, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// No answer came in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == LookupErrorKind::Timeout
    }

    /// The server answered SERVFAIL.
    pub fn is_servfail(&self) -> bool {
        self.kind == LookupErrorKind::ServFail
    }

    /// The server answered REFUSED (for Spamhaus DQS: the key is not enabled for the zone).
    pub fn is_refused(&self) -> bool {
        self.kind == LookupErrorKind::Refused
    }

    /// The failure was on this machine (no socket or file descriptor to be had), not on the
    /// network or at the server.
    pub fn is_local(&self) -> bool {
        self.kind == LookupErrorKind::LocalResource
    }
}

/// Out of file descriptors (EMFILE, ENFILE) or buffer space (ENOBUFS): the local shortages
/// `std::io::ErrorKind` has no kind for.
#[cfg(unix)]
fn out_of_descriptors_or_buffers(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS)
    )
}

#[cfg(not(unix))]
fn out_of_descriptors_or_buffers(_error: &io::Error) -> bool {
    false
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {}", self.kind, detail),
            None => self.kind.fmt(f),
        }
    }
}

/// The kinds of lookup failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LookupErrorKind {
    /// No answer within the timeout (after retries), or the overall deadline passed.
    Timeout,
    /// The server answered SERVFAIL.
    ServFail,
    /// The server answered REFUSED.
    Refused,
    /// The server answered with another error code (FORMERR, NOTIMP, ...).
    ResponseCode(u16),
    /// The network failed: unreachable, connection refused or reset.
    Network,
    /// This machine ran out of something: sockets, file descriptors, ports.
    LocalResource,
    /// The reply could not be parsed, or did not fit the question.
    Protocol,
    /// The resolver could not be used at all (for instance, no name server configured, or no
    /// Tokio runtime to run on).
    Config,
    /// The resolver does not make this kind of lookup (an optional method of
    /// [`DnsResolver`](super::DnsResolver) it does not implement).
    Unsupported,
}

impl fmt::Display for LookupErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupErrorKind::Timeout => f.write_str("timeout"),
            LookupErrorKind::ServFail => f.write_str("SERVFAIL"),
            LookupErrorKind::Refused => f.write_str("REFUSED"),
            LookupErrorKind::ResponseCode(code) => write!(f, "response code {code}"),
            LookupErrorKind::Network => f.write_str("network error"),
            LookupErrorKind::LocalResource => f.write_str("local resource error"),
            LookupErrorKind::Protocol => f.write_str("protocol error"),
            LookupErrorKind::Config => f.write_str("resolver configuration error"),
            LookupErrorKind::Unsupported => f.write_str("lookup not supported"),
        }
    }
}

/// A resolver could not be set up.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{NameServer, ResolverBuildError};
///
/// let error = "localhost".parse::<NameServer>().unwrap_err();
/// assert!(matches!(error, ResolverBuildError::NameServer(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverBuildError {
    /// The system's resolver configuration (`/etc/resolv.conf`) could not be read or used.
    #[error("cannot read the system resolver configuration: {detail}")]
    SystemConfig {
        /// What went wrong, and where.
        detail: String,
        /// The operating system's error, when reading the file failed.
        #[source]
        source: Option<io::Error>,
    },
    /// A name server was not written as `IP[:PORT]`.
    #[error("invalid name server {0:?}: expected IP or IP:PORT")]
    NameServer(String),
}

impl ResolverBuildError {
    /// A system configuration that could not be used, without an OS error.
    #[cfg(any(feature = "hickory", feature = "pooled"))]
    pub(crate) fn system_config(detail: impl Into<String>) -> Self {
        ResolverBuildError::SystemConfig {
            detail: detail.into(),
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(feature = "hickory", feature = "pooled"))]
    #[test]
    fn response_codes_map_to_their_kinds() {
        assert!(LookupError::from_rcode(2).is_servfail());
        assert!(LookupError::from_rcode(5).is_refused());
        assert_eq!(
            LookupError::from_rcode(4).kind(),
            LookupErrorKind::ResponseCode(4)
        );
    }

    #[cfg(unix)]
    #[test]
    fn local_shortages_are_told_from_network_errors() {
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EADDRINUSE,
            libc::EADDRNOTAVAIL,
        ] {
            let error = io::Error::from_raw_os_error(errno);
            assert!(LookupError::from_io(&error).is_local(), "{error}");
        }
        for errno in [libc::ECONNREFUSED, libc::ENETUNREACH, libc::EHOSTUNREACH] {
            let error = io::Error::from_raw_os_error(errno);
            assert_eq!(
                LookupError::from_io(&error).kind(),
                LookupErrorKind::Network
            );
        }
    }
}
