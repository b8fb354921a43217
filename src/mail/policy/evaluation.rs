//! What an evaluation reports besides its verdict: what was checked, what listed it, what
//! failed and what was not checked, each a typed value whose text is what gets logged.

use std::fmt;
use std::time::Duration;

use super::Verdict;
use crate::outcome::{Listing, Outcome};
use crate::resolver::LookupError;
use crate::target::{DomainName, Target};
use crate::zone::Zone;

/// The client's forward-confirmed reverse DNS, as [`Evaluation::fcrdns`] reports it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::FcrdnsStatus;
///
/// assert_eq!(FcrdnsStatus::NotConfirmed.as_str(), "not_confirmed");
/// assert_eq!(FcrdnsStatus::Failed.to_string(), "failed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FcrdnsStatus {
    /// A PTR name resolves back to the client.
    Confirmed,
    /// PTR names, none resolving back to the client.
    NotConfirmed,
    /// No PTR record.
    NoPtr,
    /// A lookup failed, or the check ran past its deadline.
    Failed,
}

impl FcrdnsStatus {
    /// The status word, as [`ReverseDns::status`](crate::ReverseDns::status) names it:
    /// `confirmed`, `not_confirmed`, `no_ptr`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FcrdnsStatus::Confirmed => "confirmed",
            FcrdnsStatus::NotConfirmed => "not_confirmed",
            FcrdnsStatus::NoPtr => "no_ptr",
            FcrdnsStatus::Failed => "failed",
        }
    }
}

impl From<&crate::ReverseDns> for FcrdnsStatus {
    fn from(rdns: &crate::ReverseDns) -> Self {
        match rdns {
            crate::ReverseDns::Confirmed(_) => FcrdnsStatus::Confirmed,
            crate::ReverseDns::NotConfirmed(_) => FcrdnsStatus::NotConfirmed,
            crate::ReverseDns::NoPtr => FcrdnsStatus::NoPtr,
            crate::ReverseDns::Failed(_) => FcrdnsStatus::Failed,
        }
    }
}

impl std::fmt::Display for FcrdnsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a client was not checked, as [`Evaluation::note`] reports it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::SkipReason;
///
/// assert_eq!(SkipReason::LocalClient.to_string(), "local client not checked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The client is in the trusted networks ([`SessionPolicy::trusted_networks`](super::SessionPolicy::trusted_networks)).
    TrustedClient,
    /// The client is local ([`is_local`](super::is_local)) and the policy does not check local clients.
    LocalClient,
}

impl SkipReason {
    /// `trusted client not checked` or `local client not checked`, as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TrustedClient => "trusted client not checked",
            SkipReason::LocalClient => "local client not checked",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict, and what to log about how it was reached.
///
/// Each entry's text (its [`Display`](fmt::Display)) is the one logged and shown.
///
/// # Examples
///
/// ```no_run
/// # async fn run(filter: dnsbl_check::mail::SessionFilter<dnsbl_check::HickoryResolver>) {
/// use dnsbl_check::mail::{SessionFacts, Trouble};
///
/// let facts = SessionFacts::client("192.0.2.1".parse().unwrap());
/// let evaluation = filter.evaluate(&facts).await;
/// for checked in &evaluation.checked {
///     println!("checked {checked}");
/// }
/// for listed in &evaluation.listed {
///     println!("{} listed by {}", listed.target, listed.zone);
/// }
/// for trouble in &evaluation.trouble {
///     if let Trouble::Lookup { outcome, .. } = trouble {
///         println!("{trouble} ({})", outcome.status());
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evaluation {
    /// What to do.
    pub verdict: Verdict,
    /// What was checked (`client [192.0.2.1]`, `helo name mail.example.org`, ...).
    pub checked: Vec<Checked>,
    /// Every listing (`192.0.2.1 zen.spamhaus.org (SBL)`), counting or not.
    pub listed: Vec<Listed>,
    /// Every lookup that failed (`192.0.2.1 zen.spamhaus.org: timeout`), and a client
    /// address that could not be read.
    pub trouble: Vec<Trouble>,
    /// The client's FCrDNS, when it was checked.
    pub fcrdns: Option<FcrdnsStatus>,
    /// Why the client was not checked, when it was not.
    pub note: Option<SkipReason>,
    /// What of the message was not checked (from [`SessionFacts::unchecked`](super::SessionFacts::unchecked)):
    /// a verdict that is not a reject says nothing about it.
    pub unchecked: Vec<Unchecked>,
}

impl Evaluation {
    pub(super) fn new() -> Self {
        Evaluation {
            verdict: Verdict::Accept,
            checked: Vec::new(),
            listed: Vec::new(),
            trouble: Vec::new(),
            fcrdns: None,
            note: None,
            unchecked: Vec::new(),
        }
    }
}

/// What a checked target was to the session: the client, its HELO name, a relay, a domain
/// of the message...
///
/// # Examples
///
/// ```
/// use dnsbl_check::Target;
/// use dnsbl_check::mail::{Checked, TargetRole};
///
/// let checked = Checked::new(TargetRole::Helo, Target::domain("mail.example.org").unwrap());
/// assert_eq!(checked.to_string(), "helo name mail.example.org");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetRole {
    /// The connecting client's address.
    Client,
    /// The HELO/EHLO name.
    Helo,
    /// The client's verified host name.
    ClientName,
    /// The envelope sender's domain.
    SenderDomain,
    /// A Received hop.
    Hop {
        /// Whether it is the last external hop.
        last_external: bool,
    },
    /// A registrable domain found in the message.
    MessageDomain,
    /// A host name found in the message.
    MessageHost,
    /// An address found in the message's URLs.
    MessageAddress,
    /// The envelope sender's address, by hash.
    SenderEmail,
    /// An e-mail address found in the message, by hash.
    MessageEmail,
    /// An address behind a domain of the message or the sender (a list's
    /// [`DomainCheck`](crate::list::DomainCheck)).
    DomainAddress,
}

/// A target that was checked, and what it was.
///
/// Its text: `client [192.0.2.1]`, `helo name mail.example.org`, `relay [198.51.100.7]`,
/// `domain spam.example in the message`, `sender address (hash ...)`... A hashed e-mail
/// address is named by its hash, never by the address.
///
/// # Examples
///
/// ```
/// use dnsbl_check::Target;
/// use dnsbl_check::mail::{Checked, TargetRole};
///
/// let client = Checked::new(TargetRole::Client, Target::ip("192.0.2.1".parse().unwrap()));
/// assert_eq!(client.to_string(), "client [192.0.2.1]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Checked {
    /// What the target was.
    pub role: TargetRole,
    /// The target asked about.
    pub target: Target,
}

impl Checked {
    /// `target`, checked as `role`.
    pub fn new(role: TargetRole, target: Target) -> Self {
        Checked { role, target }
    }

    /// How the target is named in a tag header: a client address by itself.
    pub(super) fn subject(&self) -> String {
        match self.role {
            TargetRole::Client => self.target.to_string(),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = &self.target;
        match self.role {
            TargetRole::Client => write!(f, "client [{target}]"),
            TargetRole::Helo => write!(f, "helo name {target}"),
            TargetRole::ClientName => write!(f, "client name {target}"),
            TargetRole::SenderDomain => write!(f, "sender domain {target}"),
            TargetRole::Hop { .. } => write!(f, "relay [{target}]"),
            TargetRole::MessageDomain => write!(f, "domain {target} in the message"),
            TargetRole::MessageHost => write!(f, "host {target} in the message"),
            TargetRole::MessageAddress => write!(f, "address [{target}] in the message"),
            // Hashed: the hash is named, never the address it came from.
            TargetRole::SenderEmail => write!(f, "sender address (hash {target})"),
            TargetRole::MessageEmail => {
                write!(f, "e-mail address in the message (hash {target})")
            }
            TargetRole::DomainAddress => write!(f, "address [{target}] of a domain"),
        }
    }
}

/// A listing of a checked target, counting towards the verdict or not.
///
/// Its text: the target, the list's public zone and the listing's categories
/// (`192.0.2.1 zen.spamhaus.org (SBL, XBL)`); never a DQS key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listed {
    /// The listed target.
    pub target: Target,
    /// The list's zone (shown by its public name only).
    pub zone: Zone,
    /// What the list said.
    pub listing: Listing,
}

impl fmt::Display for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.target, self.zone.public_name())?;
        if !self.listing.categories.is_empty() {
            write!(f, " ({})", self.listing.categories.join(", "))?;
        }
        Ok(())
    }
}

/// A lookup for a session that failed, or a client that could not be read: what makes a
/// policy that fails closed tempfail.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::Trouble;
///
/// assert_eq!(Trouble::FcrdnsDeadline.to_string(), "fcrdns: deadline reached");
/// let unreadable = Trouble::UnreadableClient("[192.0.2.1]".into());
/// assert_eq!(unreadable.to_string(), "client address unreadable: \"[192.0.2.1]\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trouble {
    /// The client address as the MTA gave it, which is not an address
    /// ([`SessionFacts::unreadable_client`](super::SessionFacts::unreadable_client)).
    UnreadableClient(String),
    /// A list gave no usable answer about a target: `192.0.2.1 zen.spamhaus.org: timeout`.
    Lookup {
        /// The target asked about.
        target: Target,
        /// The list's zone (shown by its public name only).
        zone: Zone,
        /// What the list said: an outcome that [is trouble](Outcome::is_trouble).
        outcome: Outcome,
    },
    /// The client's FCrDNS lookups failed.
    Fcrdns(LookupError),
    /// The client's FCrDNS check ran past its deadline.
    FcrdnsDeadline,
    /// A lookup behind a domain of the message or the sender failed.
    Domain {
        /// Which lookup.
        lookup: DomainLookup,
        /// Why it failed.
        error: LookupError,
    },
    /// The lookups behind the domains ran past their deadline (the FCrDNS deadline).
    DomainDeadline,
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trouble::UnreadableClient(text) => write!(f, "client address unreadable: {text:?}"),
            Trouble::Lookup {
                target,
                zone,
                outcome,
            } => {
                let detail = outcome
                    .detail()
                    .unwrap_or_else(|| outcome.status().to_owned());
                write!(f, "{target} {}: {detail}", zone.public_name())
            }
            Trouble::Fcrdns(error) => write!(f, "fcrdns: {error}"),
            Trouble::FcrdnsDeadline => f.write_str("fcrdns: deadline reached"),
            Trouble::Domain { lookup, error } => write!(f, "{lookup}: {error}"),
            Trouble::DomainDeadline => {
                f.write_str("name-server and address lookups: deadline reached")
            }
        }
    }
}

/// A lookup behind a domain, for the IP lists that ask about its name servers' addresses or
/// its own ([`DomainCheck`](crate::list::DomainCheck)).
///
/// Its text: `domain example.com: name servers`, `domain example.com: name server
/// ns1.example.net`, `domain example.com: address`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::DomainName;
/// use dnsbl_check::mail::{DomainLookup, DomainStep};
///
/// let domain = DomainName::new("example.com").unwrap();
/// let lookup = DomainLookup::new(domain, DomainStep::NameServer("ns1.example.net".into()));
/// assert_eq!(lookup.to_string(), "domain example.com: name server ns1.example.net");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DomainLookup {
    /// The domain of the message or the sender.
    pub domain: DomainName,
    /// What was looked up for it.
    pub step: DomainStep,
}

impl DomainLookup {
    /// The lookup `step` for `domain`.
    pub fn new(domain: DomainName, step: DomainStep) -> Self {
        DomainLookup { domain, step }
    }
}

/// What was looked up behind a domain: see [`DomainLookup`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomainStep {
    /// Its name servers (NS).
    NameServers,
    /// The address of this name server of it (A).
    NameServer(String),
    /// Its own address (A).
    Address,
}

impl fmt::Display for DomainLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = &self.domain;
        match &self.step {
            DomainStep::NameServers => write!(f, "domain {domain}: name servers"),
            DomainStep::NameServer(host) => write!(f, "domain {domain}: name server {host}"),
            DomainStep::Address => write!(f, "domain {domain}: address"),
        }
    }
}

/// Why part of a message was not checked.
///
/// An embedder names its own reasons with [`Unchecked::Other`] (`From<&str>` and
/// `From<String>` make one).
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::Unchecked;
///
/// assert_eq!(Unchecked::Cut(1_048_576).to_string(), "message cut at 1048576 bytes");
/// assert_eq!(Unchecked::from("my own reason").to_string(), "my own reason");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unchecked {
    /// The message could not be read at all.
    Unreadable,
    /// More distinct domains or addresses than this cap were found: the rest was not
    /// checked ([`MessageReading::capped`](crate::mail::MessageReading::capped)).
    Capped(usize),
    /// The message was cut at this many bytes.
    Cut(usize),
    /// Reading stopped after this time budget
    /// ([`MessageReading::cut`](crate::mail::MessageReading::cut)).
    ReadingStopped(Duration),
    /// More than this many domains for the lookups behind domains: the rest was not
    /// resolved.
    DomainLookups(usize),
    /// A reason in the caller's own words.
    Other(String),
}

impl fmt::Display for Unchecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unchecked::Unreadable => f.write_str("the message could not be read"),
            Unchecked::Capped(max) => write!(f, "more than {max} domains or addresses"),
            Unchecked::Cut(max) => write!(f, "message cut at {max} bytes"),
            Unchecked::ReadingStopped(budget) => write!(f, "reading stopped after {budget:?}"),
            Unchecked::DomainLookups(max) => write!(
                f,
                "more than {max} domains for name-server and address checks"
            ),
            Unchecked::Other(text) => f.write_str(text),
        }
    }
}

impl From<String> for Unchecked {
    fn from(text: String) -> Self {
        Unchecked::Other(text)
    }
}

impl From<&str> for Unchecked {
    fn from(text: &str) -> Self {
        Unchecked::Other(text.to_owned())
    }
}

/// The texts of `items`, joined by `separator`: an evaluation's entries as logged.
pub(crate) fn joined<T: fmt::Display>(items: &[T], separator: &str) -> String {
    use fmt::Write as _;
    let mut text = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push_str(separator);
        }
        let _ = write!(text, "{item}");
    }
    text
}
