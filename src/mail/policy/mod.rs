//! Session evaluation: what a mail filter knows about a session in, a verdict out.
//!
//! The filter decides which targets to ask about (the client address, its HELO name, its
//! verified host name, the sender's domain, the untrusted Received hops, the message's
//! domains), asks every list about all of them at once, and turns the reports into one
//! [`Verdict`]: reject, tag, tempfail or accept. The texts name each list by its public zone,
//! quote its TXT reason cleaned to one printable line, and never show a DQS key.

mod behind;
mod decide;
mod evaluation;
mod filter;

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

pub(crate) use evaluation::joined;
pub use evaluation::{
    Checked, DomainLookup, DomainStep, Evaluation, FcrdnsStatus, Listed, SkipReason, TargetRole,
    Trouble, Unchecked,
};
pub use filter::SessionFilter;

use crate::mail::MessageTargets;
use crate::mail::text::one_line;
use crate::target::unmap_ipv4;

/// The longest TXT reason quoted in a verdict.
const MAX_REASON: usize = 200;
/// The longest verdict text (an SMTP reply line is at most 512 octets, and an MTA adds its
/// own prefix and the recipient to it).
const MAX_TEXT: usize = 400;
/// The text of a tempfail.
const TEMPFAIL_TEXT: &str = "Service temporarily unavailable; DNS list lookups failed";
/// The tempfail text for a client whose address could not be read.
const UNREADABLE_CLIENT_TEXT: &str = "Service temporarily unavailable; client address not known";
/// How much of an unreadable client address is kept, to log.
const MAX_CLIENT_TEXT: usize = 64;

/// What a filter does with a session or message.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::Verdict;
///
/// let verdict = Verdict::Reject("client [192.0.2.1] blocked using bl.example".into());
/// assert!(verdict.is_reject());
/// assert_eq!(verdict.text(), Some("client [192.0.2.1] blocked using bl.example"));
/// assert_eq!(Verdict::Accept.text(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing listed (or only trouble, failing open): let it through.
    Accept,
    /// Listed: refuse, with this text (one printable line, no SMTP code).
    Reject(String),
    /// Listed, but the policy only tags: add a header with this value (one printable line).
    Tag(String),
    /// Nothing listed but lookups failed, and the policy fails closed: try again later.
    Tempfail(String),
}

impl Verdict {
    /// Whether this is a [`Verdict::Reject`].
    pub fn is_reject(&self) -> bool {
        matches!(self, Verdict::Reject(_))
    }

    /// The reject, tag or tempfail text; `None` for [`Verdict::Accept`].
    pub fn text(&self) -> Option<&str> {
        match self {
            Verdict::Accept => None,
            Verdict::Reject(text) | Verdict::Tag(text) | Verdict::Tempfail(text) => Some(text),
        }
    }
}

/// A hop from a Received header: the address of a relay that handed the message on.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::Hop;
///
/// let hop = Hop::new("192.0.2.7".parse().unwrap(), true);
/// assert!(hop.last_external);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hop {
    /// The relay's address.
    pub addr: IpAddr,
    /// Whether this is the last external hop: the untrusted relay that handed the message to
    /// one of ours. Lists such as Spamhaus PBL apply to it alone.
    pub last_external: bool,
}

impl Hop {
    /// A hop at `addr`.
    pub fn new(addr: IpAddr, last_external: bool) -> Self {
        Hop {
            addr,
            last_external,
        }
    }
}

/// What a filter knows about a session and its message. Leave out what is not known (yet).
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::SessionFacts;
///
/// let mut facts = SessionFacts::client("192.0.2.1".parse().unwrap());
/// facts.helo = Some("mail.example.org".into());
/// facts.sender = Some("someone@example.org".into());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionFacts {
    /// The connecting client's address; `None` when unknown.
    pub client: Option<IpAddr>,
    /// The client address as the MTA gave it, when it could not be read as an address
    /// (`[192.0.2.1]`, `192.0.2.1%eth0`, an empty text, Postfix's `unknown`, a milter
    /// connect of the unknown family), sanitised: printable ASCII on one line, at most 64
    /// characters. The client could not be checked, so this is trouble: logged as a warning,
    /// and a tempfail when the policy fails closed. See [`SessionFacts::unreadable_client`].
    pub unreadable_client: Option<String>,
    /// The HELO/EHLO name.
    pub helo: Option<String>,
    /// The envelope sender (`local@domain`; empty for the null sender).
    pub sender: Option<String>,
    /// The client's verified host name (the MTA's FCrDNS name), not `unknown`.
    pub client_name: Option<String>,
    /// What the message gives the lists to check: its untrusted Received hops, and the
    /// domains, host names, e-mail addresses and URL addresses found in it (see
    /// [`MessageReader::read`](crate::mail::MessageReader::read)).
    pub message: MessageTargets,
    /// Why part of the message was not checked (`more than 200 domains or addresses`,
    /// `message cut at 1048576 bytes`): empty when all of it was. See
    /// [`SessionPolicy::unchecked_is_suspicious`].
    pub unchecked: Vec<Unchecked>,
}

impl SessionFacts {
    /// Facts about a client at `addr`, nothing else known.
    pub fn client(addr: IpAddr) -> Self {
        SessionFacts {
            client: Some(addr),
            ..SessionFacts::default()
        }
    }

    /// Facts about a client whose address the MTA gave as `text`, which is not an address.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::SessionFacts;
    ///
    /// let facts = SessionFacts::unreadable_client("[192.0.2.1]\n");
    /// assert_eq!(facts.client, None);
    /// assert_eq!(facts.unreadable_client.as_deref(), Some("[192.0.2.1]"));
    /// ```
    pub fn unreadable_client(text: &str) -> Self {
        SessionFacts {
            unreadable_client: Some(one_line(text, MAX_CLIENT_TEXT)),
            ..SessionFacts::default()
        }
    }

    fn has_message_facts(&self) -> bool {
        !self.message.is_empty() || !self.unchecked.is_empty()
    }
}

/// How a [`SessionFilter`] decides: what to check, and what to do about it.
///
/// The default checks the client address only, rejects listed clients, fails open, and does
/// not check local clients.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::SessionPolicy;
///
/// let policy = SessionPolicy::default()
///     .check_helo(true)
///     .fail_closed(true)
///     .trusted_networks(["203.0.113.0/24".parse().unwrap()]);
/// ```
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    tag_only: bool,
    fail_closed: bool,
    require_fcrdns: bool,
    check_helo: bool,
    check_client_name: bool,
    check_sender_domain: bool,
    check_local: bool,
    unchecked_is_suspicious: bool,
    trusted_networks: Vec<IpNet>,
    fcrdns_deadline: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            tag_only: false,
            fail_closed: false,
            require_fcrdns: false,
            check_helo: false,
            check_client_name: false,
            check_sender_domain: false,
            check_local: false,
            unchecked_is_suspicious: false,
            trusted_networks: Vec::new(),
            fcrdns_deadline: Duration::from_secs(10),
        }
    }
}

impl SessionPolicy {
    setters! {
        /// Tag instead of rejecting.
        tag_only(on: bool) => tag_only = on;

        /// Tempfail when lookups failed and nothing is listed (default: accept, failing open).
        fail_closed(on: bool) => fail_closed = on;

        /// Reject (or tag) clients without forward-confirmed reverse DNS.
        require_fcrdns(on: bool) => require_fcrdns = on;

        /// Check the HELO name on the domain lists.
        check_helo(on: bool) => check_helo = on;

        /// Check the client's verified host name on the domain lists.
        check_client_name(on: bool) => check_client_name = on;

        /// Check the envelope sender's domain on the domain lists, and the sender's address by
        /// hash on the hashed lists ([`crate::hash`]).
        check_sender_domain(on: bool) => check_sender_domain = on;

        /// Check loopback, private, link-local and unspecified clients too (see [`is_local`]).
        check_local(on: bool) => check_local = on;

        /// Treat a message not checked in full ([`SessionFacts::unchecked`]: more domains than
        /// the cap, a message cut at the size limit) as listed: reject (or tag) it. Off by
        /// default: what was read is judged, and [`Evaluation::unchecked`] says what was not.
        ///
        /// # Examples
        ///
        /// ```
        /// use dnsbl_check::mail::SessionPolicy;
        ///
        /// let policy = SessionPolicy::default().unchecked_is_suspicious(true);
        /// ```
        unchecked_is_suspicious(on: bool) => unchecked_is_suspicious = on;
    }

    /// Our own relays: clients here are not checked (their Received hops and message still
    /// are).
    pub fn trusted_networks(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_networks = networks.into_iter().collect();
        self
    }

    setters! {
        /// How long the FCrDNS check may take (default 10 s); past it, it counts as failed.
        fcrdns_deadline(deadline: Duration) => fcrdns_deadline = deadline;
    }

    /// Whether it tags instead of rejecting ([`tag_only`](Self::tag_only)).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::SessionPolicy;
    ///
    /// assert!(SessionPolicy::default().tag_only(true).is_tag_only());
    /// assert!(!SessionPolicy::default().is_tag_only());
    /// ```
    pub fn is_tag_only(&self) -> bool {
        self.tag_only
    }

    /// Whether any of the HELO, client name or sender domain checks is on.
    pub fn checks_domains(&self) -> bool {
        self.check_helo || self.check_client_name || self.check_sender_domain
    }

    /// Whether `addr` is in the trusted networks.
    pub fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = unmap_ipv4(addr);
        self.trusted_networks.iter().any(|net| net.contains(&addr))
    }
}

/// Loopback, private (RFC 1918, `fc00::/7`), link-local and unspecified addresses, and the
/// IPv4-mapped forms of the IPv4 ones: the MTA's own network, on no public list.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::is_local;
///
/// assert!(is_local("10.1.2.3".parse().unwrap()));
/// assert!(is_local("::ffff:127.0.0.1".parse().unwrap()));
/// assert!(!is_local("192.0.2.1".parse().unwrap()));
/// ```
pub fn is_local(ip: IpAddr) -> bool {
    match unmap_ipv4(ip) {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filter::domain_target;
    use super::*;

    #[test]
    fn local_addresses() {
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for public in ["192.0.2.1", "8.8.8.8", "2001:db8::1", "::ffff:192.0.2.1"] {
            assert!(!is_local(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn domains_worth_asking_about() {
        assert!(domain_target("mail.example.com.").is_some());
        for skipped in [
            "unknown",
            "[192.0.2.1]",
            "192.0.2.1",
            "localhost",
            "",
            // Addresses once IDNA has folded or deleted a character; a bad dotted quad.
            "１９２.０.２.１",
            "192.0.2.1\u{200B}",
            "999.1.1.1",
        ] {
            assert!(domain_target(skipped).is_none(), "{skipped}");
        }
    }

    #[test]
    fn trusted_networks_match_mapped_addresses() {
        let policy = SessionPolicy::default().trusted_networks(["203.0.113.0/24".parse().unwrap()]);
        assert!(policy.is_trusted("203.0.113.9".parse().unwrap()));
        assert!(policy.is_trusted("::ffff:203.0.113.9".parse().unwrap()));
        assert!(!policy.is_trusted("203.0.114.9".parse().unwrap()));
    }
}
