//! Checking one job: the lists, then what else was asked: a domain's mail servers, its SPF
//! senders, reverse DNS, an SMTP probe.

use std::collections::HashSet;
use std::net::IpAddr;

use dnsbl_check::hosts::{DerivedAddress, Expansion, HostSource, HostTrouble, expand};
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::smtp::{ProbeConfig, Relay, SmtpReport, probe};
use dnsbl_check::spf;
use dnsbl_check::target::DomainName;
use dnsbl_check::{Checker, Report, ReverseDns, Target, forward_confirmed_reverse_dns};
use futures::StreamExt;

use crate::input::Job;

/// What a check of one job needs besides the job.
pub struct Context {
    pub checker: Checker<AnyResolver>,
    pub rdns: bool,
    pub expand: Option<HostSource>,
    /// `--spf`: a domain's sending addresses, as its SPF record authorizes them.
    pub spf: bool,
    /// `--max-targets`: the most addresses one domain's SPF networks may hold together.
    pub max_targets: u128,
    pub smtp: Option<ProbeConfig>,
    pub smtp_port: u16,
}

/// One target's results, with what else was checked about it. The rarely present parts are
/// boxed: a bulk run moves many of these through its queues.
#[derive(serde::Serialize)]
pub struct Checked {
    #[serde(flatten)]
    pub report: Report,
    /// For an address found for a domain: the domain given, and the host it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<DomainName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<DomainName>,
    /// For an address found through SPF: how the record reached it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdns: Option<ReverseDns>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Box<SmtpReport>>,
    /// For a domain with --mx or --resolve: what it expanded to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_servers: Option<Box<MailServers>>,
    /// For a domain with --spf: what its SPF record authorizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub senders: Option<Box<MailServers>>,
    #[serde(skip)]
    pub network: Option<ipnet::IpNet>,
    /// The reports of the addresses found for this domain, in preference order.
    #[serde(skip)]
    pub derived: Vec<Checked>,
}

/// A domain's expansion as written in its report: counts and trouble (the addresses have
/// reports of their own).
#[derive(serde::Serialize)]
pub struct MailServers {
    #[serde(skip)]
    pub domain: DomainName,
    pub source: HostSource,
    pub addresses: usize,
    pub null_mx: bool,
    pub implicit_mx: bool,
    pub trouble: Vec<HostTrouble>,
}

impl Checked {
    fn new(mut report: Report, network: Option<ipnet::IpNet>) -> Self {
        // Lists that do not take this kind of target are expected, not news.
        report.retain_applicable();
        Checked {
            report,
            via: None,
            host: None,
            path: None,
            rdns: None,
            smtp: None,
            mail_servers: None,
            senders: None,
            network,
            derived: Vec::new(),
        }
    }

    pub fn has_listing(&self) -> bool {
        self.report.listed || self.report.listings().any(|(result, _)| result.weight > 0)
    }

    pub fn open_relay(&self) -> bool {
        self.smtp
            .as_ref()
            .is_some_and(|smtp| smtp.relay == Relay::Open)
    }

    /// A check besides the lists failed: reverse DNS, the domain's expansion, SMTP.
    pub fn other_trouble(&self) -> bool {
        matches!(self.rdns, Some(ReverseDns::Failed(_)))
            || [&self.mail_servers, &self.senders]
                .into_iter()
                .flatten()
                .any(|m| !m.trouble.is_empty())
            || self
                .smtp
                .as_ref()
                .is_some_and(|smtp| smtp.trouble.is_some())
    }

    pub fn incomplete(&self) -> bool {
        self.report.has_trouble() || self.report.results.is_empty() || self.other_trouble()
    }
}

pub async fn check_job(context: &Context, job: Job) -> Checked {
    let resolver = context.checker.resolver();
    let mut checked = Checked::new(context.checker.check(job.target.clone()).await, job.network);
    // A mail server named `HOST:PORT` is resolved like --resolve unless --mx says otherwise.
    let source = context
        .expand
        .or(job.smtp_port.map(|_| HostSource::Resolve));
    match (&job.target, source) {
        (Target::Domain(domain), Some(source)) => {
            // The rarer steps are boxed: their state would otherwise enlarge every check's
            // future, which is moved (copied) as it is queued and polled.
            let expansion = Box::pin(expand(resolver, domain, source)).await;
            // The SMTP port for the addresses found: MX hosts always, a named host's too.
            let smtp_port = match (source, job.smtp_port) {
                (_, Some(port)) => Some(port),
                (HostSource::Mx, None) => Some(context.smtp_port),
                (HostSource::Resolve | HostSource::Spf, None) => None,
            };
            let derived = expansion
                .addresses
                .iter()
                .map(|found| check_derived(context, found, smtp_port));
            checked.derived = Box::pin(futures::future::join_all(derived)).await;
            checked.mail_servers = Some(Box::new(mail_servers(expansion)));
        }
        (Target::Ip(addr), _) => {
            // A single address given with --smtp-check is a mail server; a network's are not
            // probed: that would be a port scan.
            let smtp = context.smtp.as_ref().filter(|_| job.network.is_none());
            if context.rdns || smtp.is_some() {
                checked.rdns = Some(Box::pin(forward_confirmed_reverse_dns(resolver, *addr)).await);
            }
            if let Some(config) = smtp {
                let port = job.smtp_port.unwrap_or(context.smtp_port);
                checked.smtp = Some(Box::new(
                    Box::pin(probe((*addr, port).into(), config)).await,
                ));
            }
        }
        _ => {}
    }
    if let (Target::Domain(domain), true) = (&job.target, context.spf) {
        Box::pin(check_senders(context, domain, &mut checked)).await;
    }
    checked
}

async fn check_derived(
    context: &Context,
    found: &DerivedAddress,
    smtp_port: Option<u16>,
) -> Checked {
    let mut checked = Checked::new(context.checker.check(Target::ip(found.addr)).await, None);
    checked.via = Some(found.via.clone());
    checked.host = Some(found.host.clone());
    checked.rdns = Some(found.rdns.clone());
    if let (Some(config), Some(port)) = (&context.smtp, smtp_port) {
        checked.smtp = Some(Box::new(probe((found.addr, port).into(), config).await));
    }
    checked
}

/// `--spf`: checks every address the domain's SPF record authorizes, once (an address also
/// found as a mail server keeps that report), each with the path that reached it. Networks
/// holding more than `--max-targets` addresses together are refused, unchecked, as trouble.
async fn check_senders(context: &Context, domain: &DomainName, checked: &mut Checked) {
    let senders = spf::expand(context.checker.resolver(), domain).await;
    let mut trouble: Vec<HostTrouble> = senders
        .trouble
        .iter()
        .map(|error| HostTrouble::from_spf(domain.as_str(), error))
        .collect();
    let total = senders.addresses();
    let mut seen: HashSet<IpAddr> = checked
        .derived
        .iter()
        .filter_map(|d| match d.report.target {
            Target::Ip(addr) => Some(addr),
            _ => None,
        })
        .collect();
    let mut jobs = Vec::new();
    if total > context.max_targets {
        let largest = senders
            .networks
            .iter()
            .max_by_key(|n| spf::network_size(&n.network))
            .map(|n| n.via())
            .unwrap_or_default();
        trouble.push(HostTrouble {
            host: domain.to_string(),
            record: "SPF",
            error: dnsbl_check::LookupError::with_detail(
                dnsbl_check::LookupErrorKind::Protocol,
                format!(
                    "the record authorizes {total} addresses, more than --max-targets {} \
                     (largest: {largest}); none was checked; raise --max-targets to check \
                     them",
                    context.max_targets
                ),
            ),
        });
    } else {
        for (addr, network) in senders.each_address() {
            if seen.insert(addr) {
                let wide = spf::network_size(&network.network) > 1;
                jobs.push((addr, network.via(), wide.then_some(network.network)));
            }
        }
    }
    let addresses = jobs.len();
    let in_flight = context.checker.targets_in_flight();
    let derived = futures::stream::iter(jobs)
        .map(|(addr, path, network)| async move {
            let mut one = Checked::new(context.checker.check(Target::ip(addr)).await, network);
            one.via = Some(domain.clone());
            one.path = Some(path);
            if context.rdns {
                let rdns = forward_confirmed_reverse_dns(context.checker.resolver(), addr).await;
                one.rdns = Some(rdns);
            }
            one
        })
        .buffered(in_flight)
        .collect::<Vec<_>>()
        .await;
    checked.derived.extend(derived);
    checked.senders = Some(Box::new(MailServers {
        domain: domain.clone(),
        source: HostSource::Spf,
        addresses,
        null_mx: false,
        implicit_mx: false,
        trouble,
    }));
}

fn mail_servers(expansion: Expansion) -> MailServers {
    MailServers {
        domain: expansion.domain,
        source: expansion.source,
        addresses: expansion.addresses.len(),
        null_mx: expansion.null_mx,
        implicit_mx: expansion.implicit_mx,
        trouble: expansion.trouble,
    }
}
