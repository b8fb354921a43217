//! The addresses behind the domains of a message and its sender (their name servers' and
//! their own), for the IP lists that ask for them ([`DomainCheck`]).

use std::net::IpAddr;

use super::{DomainLookup, DomainStep, SessionFacts, SessionFilter, Trouble, Unchecked, is_local};
use crate::list::DomainCheck;
use crate::resolver::{Answer, DnsResolver};
use crate::target::DomainName;

impl<R: DnsResolver> SessionFilter<R> {
    /// Resolves the domains of the message and the sender (at most [`MAX_DOMAIN_LOOKUPS`]) to
    /// the addresses the IP lists' [`DomainCheck`]s ask for, within the FCrDNS deadline.
    pub(super) async fn domain_addresses(&self, facts: &SessionFacts, with_client: bool) -> Behind {
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
        for domain in sender
            .into_iter()
            .chain(facts.message.domains.iter().cloned())
        {
            if !domains.contains(&domain) {
                if domains.len() == MAX_DOMAIN_LOOKUPS {
                    behind
                        .unchecked
                        .push(Unchecked::DomainLookups(MAX_DOMAIN_LOOKUPS));
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
            Err(_) => behind.trouble.push(Trouble::DomainDeadline),
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
                        let step = DomainStep::NameServer(host.clone());
                        behind.note(
                            resolver.lookup_a(&format!("{host}.")).await,
                            DomainCheck::Ns,
                            DomainLookup::new(domain.clone(), step),
                        );
                    }
                }
                Ok(Answer::NoRecords { .. }) => {}
                Err(error) => behind.trouble.push(Trouble::Domain {
                    lookup: DomainLookup::new(domain.clone(), DomainStep::NameServers),
                    error,
                }),
            }
        }
        if self.domain_checks.contains(&DomainCheck::A) {
            let how = DomainLookup::new(domain.clone(), DomainStep::Address);
            let answer = resolver.lookup_a(&format!("{domain}.")).await;
            behind.note(answer, DomainCheck::A, how);
        }
        behind
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
pub(super) struct Behind {
    pub(super) addresses: Vec<(IpAddr, DomainCheck, DomainLookup)>,
    pub(super) trouble: Vec<Trouble>,
    pub(super) unchecked: Vec<Unchecked>,
}

impl Behind {
    /// Notes the answer to an A lookup made for `how`: its addresses (not local ones), or
    /// its failure as trouble.
    fn note(
        &mut self,
        answer: Result<Answer<std::net::Ipv4Addr>, crate::LookupError>,
        check: DomainCheck,
        how: DomainLookup,
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
            Err(error) => self.trouble.push(Trouble::Domain { lookup: how, error }),
        }
    }
}
