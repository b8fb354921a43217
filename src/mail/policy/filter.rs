//! [`SessionFilter`]: which targets to ask about, and asking every list about them at once.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::decide::{Gathered, decide};
use super::{
    Checked, DomainLookup, Evaluation, SessionFacts, SessionPolicy, SkipReason, TargetRole,
    is_local,
};
use crate::hash::HashSpec;
use crate::list::{DomainCheck, HopScope, QueryForm};
use crate::rdns::forward_confirmed_reverse_dns;
use crate::redact::KeyedZones;
use crate::resolver::DnsResolver;
use crate::target::Target;
use crate::{Checker, DnsList, Report};

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
    pub(super) checker: Checker<R>,
    pub(super) policy: SessionPolicy,
    ip_lists: bool,
    domain_lists: bool,
    /// Whether a plain domain list takes host names ([`QueryForm::Host`]).
    host_lists: bool,
    /// The distinct hash forms of the hashed lists.
    hashes: Vec<HashSpec>,
    /// What some IP list wants domains resolved to ([`DnsList::domain_checks`]).
    pub(super) domain_checks: Vec<DomainCheck>,
    keyed_zones: KeyedZones,
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
        let keyed_zones = KeyedZones::of(checker.lists());
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

    /// The zones of the checker's lists with a DQS key, each once: their keys are scrubbed
    /// from every text the filter shows, and should be from logs too.
    pub fn keyed_zones(&self) -> &KeyedZones {
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
        let skip_client = match facts.client {
            Some(ip) if self.policy.is_trusted(ip) => Some(SkipReason::TrustedClient),
            Some(ip) if !self.policy.check_local && is_local(ip) => Some(SkipReason::LocalClient),
            _ => None,
        };
        if skip_client.is_some() && !facts.has_message_facts() {
            let mut evaluation = Evaluation::new();
            evaluation.note = skip_client;
            evaluation.unchecked.clone_from(&facts.unchecked);
            return evaluation;
        }
        let gathered = self.gather(facts, skip_client.is_none()).await;
        if let (None, Some(text)) = (facts.client, &facts.unreadable_client) {
            tracing::warn!(client = ?text, "client address unreadable: client not checked");
        }
        for message in &gathered.trouble {
            tracing::warn!(trouble = %message, "domain lookups failed");
        }
        decide(
            &self.policy,
            &self.keyed_zones,
            facts,
            skip_client,
            gathered,
        )
    }

    /// Asks every list about every target at once (and FCrDNS, when the policy requires
    /// it); the addresses behind the domains, for the IP lists that ask for them, are
    /// resolved first, then checked with everything else.
    async fn gather(&self, facts: &SessionFacts, with_client: bool) -> Gathered {
        let mut targets = self.targets(facts, with_client);
        let behind = self.domain_addresses(facts, with_client).await;
        let mut via: HashMap<IpAddr, (DomainCheck, DomainLookup)> = HashMap::new();
        for (ip, check, how) in behind.addresses {
            let target = Target::ip(ip);
            if !via.contains_key(&ip) && !targets.iter().any(|known| known.target == target) {
                via.insert(ip, (check, how));
                targets.push(Checked::new(TargetRole::DomainAddress, target));
            }
        }
        let checks = futures::future::join_all(targets.iter().map(|checked| {
            let behind = match &checked.target {
                Target::Ip(ip) => via.get(ip).map(|(check, _)| *check),
                Target::Domain(_) => None,
            };
            self.check(checked.role, checked.target.clone(), behind)
        }));
        let fcrdns = async {
            match facts.client {
                Some(ip) if self.policy.require_fcrdns && with_client => Some(
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
        Gathered {
            targets,
            via,
            reports,
            fcrdns,
            trouble: behind.trouble,
            unchecked: behind.unchecked,
        }
    }

    /// What to ask about, each target once, in the order: client, HELO, client name, sender
    /// domain, Received hops, message addresses, message domains, message host names.
    fn targets(&self, facts: &SessionFacts, with_client: bool) -> Vec<Checked> {
        let mut targets: Vec<Checked> = Vec::new();
        // Hundreds of message domains: each is looked up once, in constant time.
        let mut known = HashSet::new();
        let mut push = |role: TargetRole, target: Target| {
            if known.insert(target.clone()) {
                targets.push(Checked::new(role, target));
            }
        };
        if with_client {
            if let Some(ip) = facts.client.filter(|_| self.ip_lists) {
                push(TargetRole::Client, Target::ip(ip));
            }
            if self.domain_lists {
                let policy = &self.policy;
                let sender_domain = facts
                    .sender
                    .as_deref()
                    .and_then(|sender| sender.rsplit_once('@'))
                    .map(|(_, domain)| domain);
                let names = [
                    (policy.check_helo, TargetRole::Helo, facts.helo.as_deref()),
                    (
                        policy.check_client_name,
                        TargetRole::ClientName,
                        facts.client_name.as_deref(),
                    ),
                    (
                        policy.check_sender_domain,
                        TargetRole::SenderDomain,
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
                        push(TargetRole::SenderEmail, target);
                    }
                }
            }
        }
        if self.ip_lists {
            for hop in &facts.message.hops {
                let role = TargetRole::Hop {
                    last_external: hop.last_external,
                };
                push(role, Target::ip(hop.addr));
            }
            for addr in &facts.message.addresses {
                push(TargetRole::MessageAddress, Target::ip(*addr));
            }
        }
        if self.domain_lists {
            for domain in &facts.message.domains {
                if let Ok(target) = Target::domain(domain.as_str()) {
                    push(TargetRole::MessageDomain, target);
                }
            }
            // Asked after the domains, so that a host that is itself a registrable domain
            // is asked once, on every list.
            for host in facts.message.hosts.iter().filter(|_| self.host_lists) {
                if let Some(target) = domain_target(host) {
                    push(TargetRole::MessageHost, target);
                }
            }
            // Each address in each hash form of the lists (usually one).
            for email in &facts.message.emails {
                for spec in &self.hashes {
                    if let Some(target) = spec.email_target(email) {
                        push(TargetRole::MessageEmail, target);
                    }
                }
            }
        }
        targets
    }

    /// Checks one target. A relay that is not the last external hop is judged only by the
    /// lists that apply to every untrusted hop.
    async fn check(&self, role: TargetRole, target: Target, behind: Option<DomainCheck>) -> Report {
        if let Some(check) = behind {
            let wanted = |list: &DnsList| {
                (!list.domain_checks().contains(&check))
                    .then_some("the list is not asked about the addresses behind domains")
            };
            return self.checker.check_lists(target, wanted).await;
        }
        match role {
            TargetRole::Hop {
                last_external: false,
            } => {
                let last_hop_only = |list: &DnsList| {
                    (list.hops() == HopScope::LastExternal)
                        .then_some("the list applies to the last external hop only")
                };
                self.checker.check_lists(target, last_hop_only).await
            }
            // The lists that take registrable domains were asked the host's domain.
            TargetRole::MessageHost => {
                let registrable = |list: &DnsList| {
                    (list.query_form() == QueryForm::Registrable)
                        .then_some("the list takes registrable domains, asked apart")
                };
                self.checker.check_lists(target, registrable).await
            }
            _ => self.checker.check(target).await,
        }
    }
}

/// A host or domain name worth asking a domain list about: not `unknown`, not an address or
/// address literal, not a single label.
pub(super) fn domain_target(name: &str) -> Option<Target> {
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
