//! Session evaluation: what a mail filter knows about a session in, a verdict out.
//!
//! The filter decides which targets to ask about (the client address, its HELO name, its
//! verified host name, the sender's domain, the untrusted Received hops, the message's
//! domains), asks every list about all of them at once, and turns the reports into one
//! [`Verdict`]: reject, tag, tempfail or accept. The texts name each list by its public zone,
//! quote its TXT reason cleaned to one printable line, and never show a DQS key.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::hash::HashSpec;
use crate::list::{DomainCheck, HopScope, QueryForm};
use crate::mail::text::one_line;
use crate::rdns::{ReverseDns, forward_confirmed_reverse_dns};
use crate::resolver::Answer;
use crate::resolver::DnsResolver;
use crate::target::{DomainName, Target, unmap_ipv4};
use crate::{Checker, DnsList, Report, Zone};
use std::collections::HashMap;

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
    /// The untrusted Received hops to check on the IP lists.
    pub hops: Vec<Hop>,
    /// The registrable domains found in the message, checked on the domain lists.
    pub domains: Vec<DomainName>,
    /// The host names found in the message under those domains (`abused.legit.example`),
    /// checked on the domain lists that take host names ([`QueryForm::Host`]: Spamhaus DBL
    /// and ZRD); the lists that take registrable domains are asked those instead.
    pub hosts: Vec<String>,
    /// E-mail addresses found in the message (From, Reply-To, Sender, the text), checked on
    /// the hashed lists ([`crate::hash`]) by hash: reports and texts name the hash, never the
    /// address.
    pub emails: Vec<String>,
    /// IP addresses found in the message's URLs, checked on the IP lists.
    pub addresses: Vec<IpAddr>,
    /// Why part of the message was not checked (`more than 200 domains or addresses`,
    /// `message cut at 1048576 bytes`): empty when all of it was. See
    /// [`SessionPolicy::unchecked_is_suspicious`].
    pub unchecked: Vec<String>,
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
        !self.hops.is_empty()
            || !self.domains.is_empty()
            || !self.hosts.is_empty()
            || !self.emails.is_empty()
            || !self.addresses.is_empty()
            || !self.unchecked.is_empty()
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
    /// Tag instead of rejecting.
    pub fn tag_only(mut self, on: bool) -> Self {
        self.tag_only = on;
        self
    }

    /// Tempfail when lookups failed and nothing is listed (default: accept, failing open).
    pub fn fail_closed(mut self, on: bool) -> Self {
        self.fail_closed = on;
        self
    }

    /// Reject (or tag) clients without forward-confirmed reverse DNS.
    pub fn require_fcrdns(mut self, on: bool) -> Self {
        self.require_fcrdns = on;
        self
    }

    /// Check the HELO name on the domain lists.
    pub fn check_helo(mut self, on: bool) -> Self {
        self.check_helo = on;
        self
    }

    /// Check the client's verified host name on the domain lists.
    pub fn check_client_name(mut self, on: bool) -> Self {
        self.check_client_name = on;
        self
    }

    /// Check the envelope sender's domain on the domain lists, and the sender's address by
    /// hash on the hashed lists ([`crate::hash`]).
    pub fn check_sender_domain(mut self, on: bool) -> Self {
        self.check_sender_domain = on;
        self
    }

    /// Check loopback, private, link-local and unspecified clients too (see [`is_local`]).
    pub fn check_local(mut self, on: bool) -> Self {
        self.check_local = on;
        self
    }

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
    pub fn unchecked_is_suspicious(mut self, on: bool) -> Self {
        self.unchecked_is_suspicious = on;
        self
    }

    /// Our own relays: clients here are not checked (their Received hops and message still
    /// are).
    pub fn trusted_networks(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_networks = networks.into_iter().collect();
        self
    }

    /// How long the FCrDNS check may take (default 10 s); past it, it counts as failed.
    pub fn fcrdns_deadline(mut self, deadline: Duration) -> Self {
        self.fcrdns_deadline = deadline;
        self
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

/// A verdict, and what to log about how it was reached.
///
/// # Examples
///
/// ```no_run
/// # async fn run(filter: dnsbl_check::mail::SessionFilter<dnsbl_check::HickoryResolver>) {
/// let facts = dnsbl_check::mail::SessionFacts::client("192.0.2.1".parse().unwrap());
/// let evaluation = filter.evaluate(&facts).await;
/// println!("checked {:?}, listed {:?}", evaluation.checked, evaluation.listed);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evaluation {
    /// What to do.
    pub verdict: Verdict,
    /// What was checked (`client [192.0.2.1]`, `helo name mail.example.org`, ...).
    pub checked: Vec<String>,
    /// Every listing (`192.0.2.1 zen.spamhaus.org (SBL)`), counting or not.
    pub listed: Vec<String>,
    /// Every lookup that failed (`192.0.2.1 zen.spamhaus.org: timeout`).
    pub trouble: Vec<String>,
    /// The FCrDNS status, when it was checked.
    pub fcrdns: Option<&'static str>,
    /// Why less than usual was checked.
    pub note: Option<&'static str>,
    /// What of the message was not checked (from [`SessionFacts::unchecked`]): a verdict
    /// that is not a reject says nothing about it.
    pub unchecked: Vec<String>,
}

impl Evaluation {
    fn new() -> Self {
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

/// What a checked target was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Client,
    Helo,
    ClientName,
    SenderDomain,
    Hop {
        last_external: bool,
    },
    MessageDomain,
    MessageHost,
    MessageAddress,
    SenderEmail,
    MessageEmail,
    /// An address behind a domain of the message or the sender (`check_domains`).
    DomainAddress,
}

impl Role {
    fn describe(self, target: &Target) -> String {
        match self {
            Role::Client => format!("client [{target}]"),
            Role::Helo => format!("helo name {target}"),
            Role::ClientName => format!("client name {target}"),
            Role::SenderDomain => format!("sender domain {target}"),
            Role::Hop { .. } => format!("relay [{target}]"),
            Role::MessageDomain => format!("domain {target} in the message"),
            Role::MessageHost => format!("host {target} in the message"),
            Role::MessageAddress => format!("address [{target}] in the message"),
            // Hashed: the hash is named, never the address it came from.
            Role::SenderEmail => format!("sender address (hash {target})"),
            Role::MessageEmail => format!("e-mail address in the message (hash {target})"),
            Role::DomainAddress => format!("address [{target}] of a domain"),
        }
    }

    /// How a target is named in a tag header: a client address by itself.
    fn subject(self, target: &Target) -> String {
        match self {
            Role::Client => target.to_string(),
            _ => self.describe(target),
        }
    }
}

/// Session evaluation: a [`Checker`] and a [`SessionPolicy`].
///
/// One filter serves every session; [`SessionFilter::evaluate`] takes `&self`.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::{SessionFilter, SessionPolicy};
/// use dnsbl_check::{Checker, DnsList, ListKind};
///
/// let checker = Checker::builder()
///     .list(DnsList::from_spec("bl.example", ListKind::Ip).unwrap())
///     .build()
///     .unwrap();
/// let filter = SessionFilter::new(checker, SessionPolicy::default().tag_only(true));
/// assert!(filter.checks_ip_lists());
/// ```
pub struct SessionFilter<R> {
    checker: Checker<R>,
    policy: SessionPolicy,
    ip_lists: bool,
    domain_lists: bool,
    /// Whether a plain domain list takes host names ([`QueryForm::Host`]).
    host_lists: bool,
    /// The distinct hash forms of the hashed lists.
    hashes: Vec<HashSpec>,
    /// What some IP list wants domains resolved to ([`DnsList::domain_checks`]).
    domain_checks: Vec<DomainCheck>,
    keyed_zones: Vec<Zone>,
}

impl<R: DnsResolver> SessionFilter<R> {
    /// A filter asking `checker`'s lists, deciding by `policy`.
    pub fn new(checker: Checker<R>, policy: SessionPolicy) -> Self {
        let ip_lists = checker.lists().any(|list| list.kind().is_ip());
        let domain_lists = checker.lists().any(|list| !list.kind().is_ip());
        let host_lists = checker.lists().any(|list| {
            !list.kind().is_ip() && list.hash().is_none() && list.query_form() == QueryForm::Host
        });
        let mut hashes: Vec<HashSpec> = Vec::new();
        for spec in checker.lists().filter_map(DnsList::hash) {
            if !hashes.contains(spec) {
                hashes.push(spec.clone());
            }
        }
        let mut domain_checks: Vec<DomainCheck> = Vec::new();
        for check in checker.lists().flat_map(|list| list.domain_checks()) {
            if !domain_checks.contains(check) {
                domain_checks.push(*check);
            }
        }
        let keyed_zones = checker
            .lists()
            .map(|list| list.zone().clone())
            .filter(Zone::has_key)
            .collect();
        SessionFilter {
            checker,
            policy,
            ip_lists,
            domain_lists,
            host_lists,
            hashes,
            domain_checks,
            keyed_zones,
        }
    }

    /// The checker.
    pub fn checker(&self) -> &Checker<R> {
        &self.checker
    }

    /// The policy.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Whether any list takes IP addresses.
    pub fn checks_ip_lists(&self) -> bool {
        self.ip_lists
    }

    /// Whether any list takes domain names.
    pub fn checks_domain_lists(&self) -> bool {
        self.domain_lists
    }

    /// The zones with a DQS key, whose keys must be scrubbed from anything shown.
    pub fn keyed_zones(&self) -> &[Zone] {
        &self.keyed_zones
    }

    /// Checks everything `facts` tell that the policy asks for, all lookups at once, and
    /// decides.
    ///
    /// Each target gets its own verdict (its score against the checker's threshold), as with
    /// Postfix's `reject_rbl_client`; the first listed target is the one the reject text
    /// names. A local or trusted client, its HELO, name and sender are not checked; its
    /// Received hops and message are.
    pub async fn evaluate(&self, facts: &SessionFacts) -> Evaluation {
        let mut evaluation = Evaluation::new();
        let client = facts.client;
        let skip_client = match client {
            Some(ip) if self.policy.is_trusted(ip) => Some("trusted client not checked"),
            Some(ip) if !self.policy.check_local && is_local(ip) => {
                Some("local client not checked")
            }
            _ => None,
        };
        evaluation.note = skip_client;
        evaluation.unchecked.clone_from(&facts.unchecked);
        if skip_client.is_some() && !facts.has_message_facts() {
            return evaluation;
        }

        let mut targets = self.targets(facts, skip_client.is_none());
        // The addresses behind the domains, for the IP lists that ask for them: resolved
        // first, then checked with everything else.
        let behind = self.domain_addresses(facts, skip_client.is_none()).await;
        let mut via: HashMap<IpAddr, (DomainCheck, String)> = HashMap::new();
        for (ip, check, how) in behind.addresses {
            let target = Target::ip(ip);
            if !via.contains_key(&ip) && !targets.iter().any(|(_, known)| *known == target) {
                via.insert(ip, (check, how));
                targets.push((Role::DomainAddress, target));
            }
        }
        evaluation.unchecked.extend(behind.unchecked);
        evaluation.checked = targets
            .iter()
            .map(|(role, target)| role.describe(target))
            .collect();

        let checks = futures::future::join_all(targets.iter().map(|(role, target)| {
            let behind = match target {
                Target::Ip(ip) => via.get(ip).map(|(check, _)| *check),
                Target::Domain(_) => None,
            };
            self.check(*role, target.clone(), behind)
        }));
        let fcrdns = async {
            match client {
                Some(ip) if self.policy.require_fcrdns && skip_client.is_none() => Some(
                    tokio::time::timeout(
                        self.policy.fcrdns_deadline,
                        forward_confirmed_reverse_dns(self.checker.resolver(), ip),
                    )
                    .await
                    .ok(),
                ),
                _ => None,
            }
        };
        let (reports, fcrdns) = futures::join!(checks, fcrdns);

        // Listings first: each is a reason to reject (or tag), and the first one named.
        let mut rejections = Vec::new();
        let mut tags = Vec::new();
        let mut trouble = false;
        // A client address that could not be read is a client that was not checked: never
        // passed over in silence, and a tempfail when failing closed.
        let unreadable = match (client, &facts.unreadable_client) {
            (None, Some(text)) => {
                tracing::warn!(client = ?text, "client address unreadable: client not checked");
                evaluation
                    .trouble
                    .push(format!("client address unreadable: {text:?}"));
                true
            }
            _ => false,
        };
        for message in behind.trouble {
            tracing::warn!(trouble = %message, "domain lookups failed");
            evaluation.trouble.push(message);
            trouble = true;
        }
        for ((role, target), report) in targets.iter().zip(&reports) {
            note_results(&mut evaluation, report);
            trouble |= report.has_trouble();
            if report.listed {
                let how = match target {
                    Target::Ip(ip) => via.get(ip).map(|(_, how)| how.as_str()),
                    Target::Domain(_) => None,
                };
                let (reject, tag) = listing_texts(*role, report, how);
                rejections.push(reject);
                tags.push(tag);
            }
        }
        if let (Some(rdns), Some(ip)) = (fcrdns, client) {
            match rdns {
                Some(ReverseDns::Confirmed(_)) => evaluation.fcrdns = Some("confirmed"),
                Some(ReverseDns::Failed(error)) => {
                    evaluation.fcrdns = Some("failed");
                    evaluation.trouble.push(format!("fcrdns: {error}"));
                    trouble = true;
                }
                None => {
                    evaluation.fcrdns = Some("failed");
                    evaluation.trouble.push("fcrdns: deadline reached".into());
                    trouble = true;
                }
                Some(other) => {
                    evaluation.fcrdns = Some(other.status());
                    rejections.push(format!(
                        "Service unavailable; client [{ip}] has no forward-confirmed reverse DNS: {}",
                        one_line(&other.to_string(), MAX_REASON)
                    ));
                    tags.push(format!("{ip} has no forward-confirmed reverse DNS"));
                }
            }
        }

        if self.policy.unchecked_is_suspicious && !facts.unchecked.is_empty() {
            let why = one_line(&facts.unchecked.join("; "), MAX_REASON);
            rejections.push(format!(
                "Service unavailable; message not fully checked: {why}"
            ));
            tags.push(format!("message not fully checked: {why}"));
        }

        evaluation.verdict = if self.policy.tag_only && !tags.is_empty() {
            Verdict::Tag(self.shown(&tags.join("; ")))
        } else if let Some(first) = rejections.into_iter().next() {
            Verdict::Reject(self.shown(&first))
        } else if unreadable && self.policy.fail_closed {
            Verdict::Tempfail(UNREADABLE_CLIENT_TEXT.into())
        } else if trouble && self.policy.fail_closed {
            Verdict::Tempfail(TEMPFAIL_TEXT.into())
        } else {
            Verdict::Accept
        };
        evaluation
    }

    /// What to ask about, each target once, in the order: client, HELO, client name, sender
    /// domain, Received hops, message addresses, message domains, message host names.
    fn targets(&self, facts: &SessionFacts, with_client: bool) -> Vec<(Role, Target)> {
        let mut targets: Vec<(Role, Target)> = Vec::new();
        // Hundreds of message domains: each is looked up once, in constant time.
        let mut known = std::collections::HashSet::new();
        let mut push = |role: Role, target: Target| {
            if known.insert(target.clone()) {
                targets.push((role, target));
            }
        };
        if with_client {
            if let Some(ip) = facts.client.filter(|_| self.ip_lists) {
                push(Role::Client, Target::ip(ip));
            }
            if self.domain_lists {
                let policy = &self.policy;
                let sender_domain = facts
                    .sender
                    .as_deref()
                    .and_then(|sender| sender.rsplit_once('@'))
                    .map(|(_, domain)| domain);
                let names = [
                    (policy.check_helo, Role::Helo, facts.helo.as_deref()),
                    (
                        policy.check_client_name,
                        Role::ClientName,
                        facts.client_name.as_deref(),
                    ),
                    (
                        policy.check_sender_domain,
                        Role::SenderDomain,
                        sender_domain,
                    ),
                ];
                for (wanted, role, name) in names {
                    // The same name as HELO, host name and sender domain is asked about once.
                    if let Some(target) = name.filter(|_| wanted).and_then(domain_target) {
                        push(role, target);
                    }
                }
                let sender = facts
                    .sender
                    .as_deref()
                    .filter(|_| policy.check_sender_domain);
                for spec in &self.hashes {
                    if let Some(target) = sender.and_then(|sender| spec.email_target(sender)) {
                        push(Role::SenderEmail, target);
                    }
                }
            }
        }
        if self.ip_lists {
            for hop in &facts.hops {
                let role = Role::Hop {
                    last_external: hop.last_external,
                };
                push(role, Target::ip(hop.addr));
            }
            for addr in &facts.addresses {
                push(Role::MessageAddress, Target::ip(*addr));
            }
        }
        if self.domain_lists {
            for domain in &facts.domains {
                if let Ok(target) = Target::domain(domain.as_str()) {
                    push(Role::MessageDomain, target);
                }
            }
            // Asked after the domains, so that a host that is itself a registrable domain
            // is asked once, on every list.
            for host in facts.hosts.iter().filter(|_| self.host_lists) {
                if let Some(target) = domain_target(host) {
                    push(Role::MessageHost, target);
                }
            }
            // Each address in each hash form of the lists (usually one).
            for email in &facts.emails {
                for spec in &self.hashes {
                    if let Some(target) = spec.email_target(email) {
                        push(Role::MessageEmail, target);
                    }
                }
            }
        }
        targets
    }

    /// Checks one target. A relay that is not the last external hop is judged only by the
    /// lists that apply to every untrusted hop.
    async fn check(&self, role: Role, target: Target, behind: Option<DomainCheck>) -> Report {
        if let Some(check) = behind {
            let wanted = |list: &DnsList| {
                (!list.domain_checks().contains(&check))
                    .then_some("the list is not asked about the addresses behind domains")
            };
            return self.checker.check_lists(target, wanted).await;
        }
        match role {
            Role::Hop {
                last_external: false,
            } => {
                let last_hop_only = |list: &DnsList| {
                    (list.hops() == HopScope::LastExternal)
                        .then_some("the list applies to the last external hop only")
                };
                self.checker.check_lists(target, last_hop_only).await
            }
            // The lists that take registrable domains were asked the host's domain.
            Role::MessageHost => {
                let registrable = |list: &DnsList| {
                    (list.query_form() == QueryForm::Registrable)
                        .then_some("the list takes registrable domains, asked apart")
                };
                self.checker.check_lists(target, registrable).await
            }
            _ => self.checker.check(target).await,
        }
    }

    /// Resolves the domains of the message and the sender (at most [`MAX_DOMAIN_LOOKUPS`]) to
    /// the addresses the IP lists' [`DomainCheck`]s ask for, within the FCrDNS deadline.
    async fn domain_addresses(&self, facts: &SessionFacts, with_client: bool) -> Behind {
        let mut behind = Behind::default();
        if self.domain_checks.is_empty() {
            return behind;
        }
        let sender = facts
            .sender
            .as_deref()
            .filter(|_| with_client)
            .and_then(|sender| sender.rsplit_once('@'))
            .and_then(|(_, domain)| crate::list::registrable_domain(domain));
        let mut domains: Vec<DomainName> = Vec::new();
        for domain in sender.into_iter().chain(facts.domains.iter().cloned()) {
            if !domains.contains(&domain) {
                if domains.len() == MAX_DOMAIN_LOOKUPS {
                    behind.unchecked.push(format!(
                        "more than {MAX_DOMAIN_LOOKUPS} domains for name-server and address checks"
                    ));
                    break;
                }
                domains.push(domain);
            }
        }
        let lookups = futures::future::join_all(domains.iter().map(|d| self.behind_domain(d)));
        match tokio::time::timeout(self.policy.fcrdns_deadline, lookups).await {
            Ok(all) => {
                for one in all {
                    behind.addresses.extend(one.addresses);
                    behind.trouble.extend(one.trouble);
                }
            }
            Err(_) => behind
                .trouble
                .push("name-server and address lookups: deadline reached".into()),
        }
        behind
    }

    /// One domain's name servers' addresses and its own, as the lists ask.
    async fn behind_domain(&self, domain: &DomainName) -> Behind {
        let resolver = self.checker.resolver();
        let mut behind = Behind::default();
        if self.domain_checks.contains(&DomainCheck::Ns) {
            match resolver.lookup_ns(&format!("{domain}.")).await {
                Ok(Answer::Records { records, .. }) => {
                    for host in records.iter().take(MAX_NAME_SERVERS) {
                        let how = format!("domain {domain}: name server {host}");
                        behind.note(
                            resolver.lookup_a(&format!("{host}.")).await,
                            DomainCheck::Ns,
                            how,
                        );
                    }
                }
                Ok(Answer::NoRecords { .. }) => {}
                Err(error) => behind
                    .trouble
                    .push(format!("domain {domain}: name servers: {error}")),
            }
        }
        if self.domain_checks.contains(&DomainCheck::A) {
            let how = format!("domain {domain}: address");
            let answer = resolver.lookup_a(&format!("{domain}.")).await;
            behind.note(answer, DomainCheck::A, how);
        }
        behind
    }

    /// A text as shown to a client: one clean line, DQS keys scrubbed (a last line of
    /// defence: texts are built from public zone names).
    fn shown(&self, text: &str) -> String {
        let mut text = one_line(text, MAX_TEXT);
        for zone in &self.keyed_zones {
            text = zone.redact(&text).into_owned();
        }
        text
    }
}

/// The most domains of one message (and its sender) resolved for [`DomainCheck`]s.
const MAX_DOMAIN_LOOKUPS: usize = 10;
/// The most name servers of one domain resolved.
const MAX_NAME_SERVERS: usize = 4;
/// The most addresses of one name taken.
const MAX_ADDRESSES_PER_NAME: usize = 4;

/// The addresses behind domains: each with the check that found it and how (`domain
/// example.com: name server ns1.example.net`), what failed, and what was left out.
#[derive(Default)]
struct Behind {
    addresses: Vec<(IpAddr, DomainCheck, String)>,
    trouble: Vec<String>,
    unchecked: Vec<String>,
}

impl Behind {
    /// Notes the answer to an A lookup made for `how`: its addresses (not local ones), or
    /// its failure as trouble.
    fn note(
        &mut self,
        answer: Result<Answer<std::net::Ipv4Addr>, crate::LookupError>,
        check: DomainCheck,
        how: String,
    ) {
        match answer {
            Ok(Answer::Records { records, .. }) => {
                for addr in records.into_iter().take(MAX_ADDRESSES_PER_NAME) {
                    let ip = IpAddr::V4(addr);
                    if !is_local(ip) {
                        self.addresses.push((ip, check, how.clone()));
                    }
                }
            }
            Ok(Answer::NoRecords { .. }) => {}
            Err(error) => self.trouble.push(format!("{how}: {error}")),
        }
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

/// A host or domain name worth asking a domain list about: not `unknown`, not an address or
/// address literal, not a single label.
fn domain_target(name: &str) -> Option<Target> {
    let name = name.trim().trim_end_matches('.');
    if name.eq_ignore_ascii_case("unknown")
        || name.starts_with('[')
        || name.parse::<IpAddr>().is_ok()
        || !name.contains('.')
    {
        return None;
    }
    // Parsed as any target, so that a name that is an address once IDNA has deleted or folded
    // its invisible or fullwidth characters (`１９２.0.2.1`) is left out like an address.
    match name.parse::<Target>() {
        Ok(target @ Target::Domain(_)) => Some(target),
        _ => None,
    }
}

/// Notes a report's listings and trouble.
fn note_results(evaluation: &mut Evaluation, report: &Report) {
    for (result, listing) in report.listings() {
        let mut hit = format!("{} {}", report.target, result.zone.public_name());
        if !listing.categories.is_empty() {
            let _ = write!(hit, " ({})", listing.categories.join(", "));
        }
        evaluation.listed.push(hit);
    }
    for result in report.results.iter().filter(|r| r.outcome.is_trouble()) {
        evaluation.trouble.push(format!(
            "{} {}: {}",
            report.target,
            result.zone.public_name(),
            result
                .outcome
                .detail()
                .unwrap_or_else(|| result.outcome.status().to_owned())
        ));
    }
}

/// The reject text and the tag text for a listed target. Lists are named by their public
/// zone, those that count towards the verdict first; the reason is the first list's.
fn listing_texts(role: Role, report: &Report, how: Option<&str>) -> (String, String) {
    // An address behind a domain is named with the domain that led to it.
    let (described, subject) = match how {
        Some(how) => {
            let text = format!("{how} [{}]", report.target);
            (text.clone(), text)
        }
        None => (role.describe(&report.target), role.subject(&report.target)),
    };
    let mut hits: Vec<_> = report
        .listings()
        .filter(|(result, _)| result.weight > 0)
        .collect();
    if hits.is_empty() {
        hits = report.listings().collect();
    }
    let zones: Vec<&str> = hits
        .iter()
        .map(|(result, _)| result.zone.public_name())
        .collect();
    let mut reject = format!(
        "Service unavailable; {} blocked using {}",
        described,
        zones.join(", ")
    );
    let reason = hits
        .iter()
        .flat_map(|(_, listing)| listing.reasons.iter())
        .map(|reason| one_line(reason, MAX_REASON))
        .find(|reason| !reason.is_empty());
    if let Some(reason) = reason {
        let _ = write!(reject, "; {reason}");
    }
    let described: Vec<String> = hits
        .iter()
        .map(|(result, listing)| {
            let zone = result.zone.public_name();
            let what: Vec<String> = if listing.categories.is_empty() {
                listing.codes.iter().map(ToString::to_string).collect()
            } else {
                listing.categories.clone()
            };
            format!("{zone} ({})", what.join(", "))
        })
        .collect();
    let tag = format!("{} listed by {}", subject, described.join(", "));
    (reject, tag)
}

#[cfg(test)]
mod tests {
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
