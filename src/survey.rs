//! A target checked with everything asked about it: the lists, then, as the [`Survey`] says,
//! a domain's mail servers or own addresses ([`hosts`](crate::hosts)), the sending addresses
//! its SPF record authorizes ([`spf`]), each address's forward-confirmed reverse
//! DNS, and an SMTP probe ([`smtp`](crate::smtp)). `dnsbl-check` prints these reports.
//!
//! # Examples
//!
//! ```no_run
//! use dnsbl_check::hosts::HostSource;
//! use dnsbl_check::survey::{Survey, SurveyTarget};
//! use dnsbl_check::{Checker, presets};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let checker = Checker::builder().lists(presets::default_lists()).build()?;
//! let survey = Survey::new(checker).mail_servers(HostSource::Mx).reverse_dns(true);
//! let report = survey.check(SurveyTarget::new("example.org".parse()?)).await;
//! for server in &report.derived {
//!     println!("{}: listed {}", server.report.target, server.report.listed);
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::net::IpAddr;

use futures::{Stream, StreamExt};
use ipnet::IpNet;

use crate::hosts::{DerivedAddress, Expansion, HostSource, HostTrouble, expand};
use crate::rdns::{ReverseDns, forward_confirmed_reverse_dns};
use crate::ready_first::ready_first;
use crate::resolver::DnsResolver;
use crate::smtp::{ProbeConfig, Relay, SmtpReport, probe};
use crate::spf;
use crate::target::{DomainName, Target};
use crate::{Checker, LookupError, LookupErrorKind, Report};

/// How targets are surveyed: the checker, and what is asked besides the lists.
///
/// # Examples
///
/// ```no_run
/// use dnsbl_check::survey::Survey;
/// use dnsbl_check::{Checker, presets};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let checker = Checker::builder().lists(presets::default_lists()).build()?;
/// let survey = Survey::new(checker).spf(true).max_spf_addresses(65_536);
/// # let _ = survey;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Survey<R> {
    checker: Checker<R>,
    rdns: bool,
    expand: Option<HostSource>,
    spf: bool,
    max_spf_addresses: u128,
    smtp: Option<ProbeConfig>,
    smtp_port: u16,
}

impl<R: DnsResolver> Survey<R> {
    /// The lists only: no expansion, no reverse DNS, no SPF, no SMTP probe.
    pub fn new(checker: Checker<R>) -> Self {
        Survey {
            checker,
            rdns: false,
            expand: None,
            spf: false,
            max_spf_addresses: u128::MAX,
            smtp: None,
            smtp_port: 25,
        }
    }

    setters! {
        /// Checks a domain's mail servers (`Mx`), own addresses (`Resolve`) or SPF senders too.
        mail_servers(source: HostSource) => expand = Some(source);

        /// Looks up each address's forward-confirmed reverse DNS.
        reverse_dns(on: bool) => rdns = on;

        /// Checks every address a domain's SPF record authorizes, each with the path to it.
        spf(on: bool) => spf = on;

        /// The most addresses one domain's SPF networks may hold together: past it, none is
        /// checked and the domain's report says so, as trouble.
        max_spf_addresses(addresses: u128) => max_spf_addresses = addresses;
    }

    /// Probes mail servers over SMTP (open relay, banner, STARTTLS) on `port` unless a target
    /// names its own.
    pub fn smtp(mut self, config: ProbeConfig, port: u16) -> Self {
        self.smtp = Some(config);
        self.smtp_port = port;
        self
    }

    /// The checker the lists are asked through.
    pub fn checker(&self) -> &Checker<R> {
        &self.checker
    }
}

/// One target to survey, with where it came from.
///
/// # Examples
///
/// ```
/// use dnsbl_check::survey::SurveyTarget;
///
/// let target = SurveyTarget::new("192.0.2.25".parse().unwrap()).smtp_port(2525);
/// assert_eq!(target.target.to_string(), "192.0.2.25");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SurveyTarget {
    /// What is checked.
    pub target: Target,
    /// The network it is one address of, when a network was given: its address is neither
    /// probed over SMTP (that would be a port scan) nor looked up in reverse unless asked.
    pub network: Option<IpNet>,
    /// The SMTP port given with the target (`ADDRESS:PORT`, `HOST:PORT`).
    pub smtp_port: Option<u16>,
}

impl SurveyTarget {
    /// `target`, given on its own.
    pub fn new(target: Target) -> Self {
        SurveyTarget {
            target,
            network: None,
            smtp_port: None,
        }
    }

    /// One address of `network`.
    pub fn in_network(mut self, network: IpNet) -> Self {
        self.network = Some(network);
        self
    }

    /// The SMTP port given with the target.
    pub fn smtp_port(mut self, port: u16) -> Self {
        self.smtp_port = Some(port);
        self
    }
}

/// One target's results, with what else was checked about it. It serialises to the lists'
/// report (see [`Report`]) with the other parts beside it. The rarely present parts are
/// boxed: a bulk run moves many of these through its queues.
#[derive(Debug, serde::Serialize)]
#[non_exhaustive]
pub struct SurveyReport {
    /// The lists' answers (only the lists that take this kind of target).
    #[serde(flatten)]
    pub report: Report,
    /// For an address found for a domain: the domain given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<DomainName>,
    /// For an address found for a domain: the host it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<DomainName>,
    /// For an address found through SPF: how the record reached it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The address's forward-confirmed reverse DNS, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdns: Option<ReverseDns>,
    /// The SMTP probe, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Box<SmtpReport>>,
    /// For a domain with mail servers or own addresses asked: what it expanded to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_servers: Option<Box<MailServers>>,
    /// For a domain with SPF asked: what its record authorizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub senders: Option<Box<MailServers>>,
    /// The network the target is one address of, if any.
    #[serde(skip)]
    pub network: Option<IpNet>,
    /// The reports of the addresses found for this domain, in preference order.
    #[serde(skip)]
    pub derived: Vec<SurveyReport>,
}

/// A domain's expansion as written in its report: counts and trouble (the addresses have
/// reports of their own).
#[derive(Debug, serde::Serialize)]
#[non_exhaustive]
pub struct MailServers {
    /// The domain.
    #[serde(skip)]
    pub domain: DomainName,
    /// How its addresses were found.
    pub source: HostSource,
    /// How many addresses were found.
    pub addresses: usize,
    /// The domain publishes a null MX (RFC 7505): it takes no mail.
    pub null_mx: bool,
    /// The domain has no MX: it is its own mail server (RFC 5321 §5.1).
    pub implicit_mx: bool,
    /// What could not be looked up.
    pub trouble: Vec<HostTrouble>,
}

impl SurveyReport {
    fn new(mut report: Report, network: Option<IpNet>) -> Self {
        // Lists that do not take this kind of target are expected, not news.
        report.retain_applicable();
        SurveyReport {
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

    /// Writes the report as one line of JSON, newline included: the same bytes as
    /// `serde_json::to_writer` gives for it, written faster (see [`Report::write_json`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::survey::SurveyReport;
    ///
    /// fn write_all(reports: &[SurveyReport], out: &mut impl std::io::Write) -> std::io::Result<()> {
    ///     reports.iter().try_for_each(|report| report.write_json(out))
    /// }
    /// ```
    pub fn write_json(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        // Inlined: most reports have none of these fields, and the call cost more than the
        // look at each.
        #[inline(always)]
        fn field(
            out: &mut impl std::io::Write,
            key: &[u8],
            value: Option<&impl serde::Serialize>,
        ) -> std::io::Result<()> {
            match value {
                Some(value) => write_field(out, key, value),
                None => Ok(()),
            }
        }
        fn write_field(
            out: &mut impl std::io::Write,
            key: &[u8],
            value: &impl serde::Serialize,
        ) -> std::io::Result<()> {
            out.write_all(key)?;
            serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)
        }
        self.report.write_json_fields(out)?;
        field(out, b",\"via\":", self.via.as_ref())?;
        field(out, b",\"host\":", self.host.as_ref())?;
        field(out, b",\"path\":", self.path.as_ref())?;
        field(out, b",\"rdns\":", self.rdns.as_ref())?;
        field(out, b",\"smtp\":", self.smtp.as_ref())?;
        field(out, b",\"mail_servers\":", self.mail_servers.as_ref())?;
        field(out, b",\"senders\":", self.senders.as_ref())?;
        out.write_all(b"}\n")
    }

    /// Listed: by the verdict, or by any list of non-zero weight.
    pub fn has_listing(&self) -> bool {
        self.report.listed || self.report.listings().any(|(result, _)| result.weight > 0)
    }

    /// The SMTP probe found an open relay.
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

    /// Some part of the survey gave no answer, or no list took the target.
    pub fn incomplete(&self) -> bool {
        self.report.has_trouble() || self.report.results.is_empty() || self.other_trouble()
    }
}

impl<R: DnsResolver> Survey<R> {
    /// Checks `job` on the lists, then whatever else this survey asks about it.
    pub async fn check(&self, job: SurveyTarget) -> SurveyReport {
        let resolver = self.checker.resolver();
        let mut checked =
            SurveyReport::new(self.checker.check(job.target.clone()).await, job.network);
        if self.lists_only(&job) {
            return checked;
        }
        // A mail server named `HOST:PORT` is resolved like `Resolve` unless told otherwise.
        let source = self.expand.or(job.smtp_port.map(|_| HostSource::Resolve));
        match (&job.target, source) {
            (Target::Domain(domain), Some(source)) => {
                // The rarer steps are boxed: their state would otherwise enlarge every check's
                // future, which is moved (copied) as it is queued and polled.
                let expansion = Box::pin(expand(resolver, domain, source)).await;
                // The SMTP port for the addresses found: MX hosts always, a named host's too.
                let smtp_port = match (source, job.smtp_port) {
                    (_, Some(port)) => Some(port),
                    (HostSource::Mx, None) => Some(self.smtp_port),
                    (HostSource::Resolve | HostSource::Spf, None) => None,
                };
                let derived = expansion
                    .addresses
                    .iter()
                    .map(|found| self.check_derived(found, smtp_port));
                checked.derived = Box::pin(futures::future::join_all(derived)).await;
                checked.mail_servers = Some(Box::new(mail_servers(expansion)));
            }
            (Target::Ip(addr), _) => {
                // A single address with SMTP asked is a mail server; a network's are not
                // probed: that would be a port scan.
                let smtp = self.smtp.as_ref().filter(|_| job.network.is_none());
                if self.rdns || smtp.is_some() {
                    checked.rdns =
                        Some(Box::pin(forward_confirmed_reverse_dns(resolver, *addr)).await);
                }
                if let Some(config) = smtp {
                    let port = job.smtp_port.unwrap_or(self.smtp_port);
                    checked.smtp = Some(Box::new(
                        Box::pin(probe((*addr, port).into(), config)).await,
                    ));
                }
            }
            _ => {}
        }
        if let (Target::Domain(domain), true) = (&job.target, self.spf) {
            Box::pin(self.check_senders(domain, &mut checked)).await;
        }
        checked
    }

    /// The report of `job` at once, when it asks for the lists only and every list can
    /// answer at once ([`Checker::check_now`]: local mirrors); `None` when it takes lookups,
    /// which [`Survey::check`] makes.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::survey::{Survey, SurveyTarget};
    /// use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind, NameServer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = HickoryResolver::builder()
    ///     .name_server(NameServer::new("127.0.0.1:53".parse()?))
    ///     .build()?;
    /// let checker = Checker::builder()
    ///     .list(DnsList::from_spec("bl.example", ListKind::Ip)?)
    ///     .health_checks(false)
    ///     .build_with(resolver)?;
    /// let survey = Survey::new(checker).reverse_dns(true);
    /// // Reverse DNS takes a lookup, whatever the lists.
    /// assert!(survey.check_now(&SurveyTarget::new("192.0.2.1".parse()?)).is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_now(&self, job: &SurveyTarget) -> Option<SurveyReport> {
        if !self.lists_only(job) {
            return None;
        }
        let report = self.checker.check_now(&job.target)?;
        Some(SurveyReport::new(report, job.network))
    }

    /// Surveys a stream of targets, with as many in flight as the checker's query budget
    /// allows ([`Checker::targets_in_flight`]). Reports come out as they complete, not in
    /// input order; one that can be given at once ([`Survey::check_now`]) comes out at once.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use dnsbl_check::survey::{Survey, SurveyTarget};
    /// use dnsbl_check::{Checker, presets};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let survey = Survey::new(Checker::builder().lists(presets::default_lists()).build()?);
    /// let jobs = ["192.0.2.1", "192.0.2.2"].map(|ip| SurveyTarget::new(ip.parse().unwrap()));
    /// let mut reports = std::pin::pin!(survey.check_stream(futures::stream::iter(jobs)));
    /// while let Some(checked) = reports.next().await {
    ///     println!("{}: listed {}", checked.report.target, checked.report.listed);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_stream<'a, S>(&'a self, jobs: S) -> impl Stream<Item = SurveyReport> + 'a
    where
        S: Stream<Item = SurveyTarget> + 'a,
    {
        ready_first(
            jobs,
            self.checker.targets_in_flight(),
            |job| self.check_now(job),
            |job| self.check(job),
        )
    }

    /// Whether `job` asks for the lists only: none of what this survey asks besides them
    /// applies to it (see [`Survey::check`]).
    fn lists_only(&self, job: &SurveyTarget) -> bool {
        match &job.target {
            Target::Domain(_) => self.expand.is_none() && job.smtp_port.is_none() && !self.spf,
            Target::Ip(_) => !self.rdns && (self.smtp.is_none() || job.network.is_some()),
        }
    }

    async fn check_derived(&self, found: &DerivedAddress, smtp_port: Option<u16>) -> SurveyReport {
        let mut checked = SurveyReport::new(self.checker.check(Target::ip(found.addr)).await, None);
        checked.via = Some(found.via.clone());
        checked.host = Some(found.host.clone());
        checked.rdns = Some(found.rdns.clone());
        if let (Some(config), Some(port)) = (&self.smtp, smtp_port) {
            checked.smtp = Some(Box::new(probe((found.addr, port).into(), config).await));
        }
        checked
    }

    /// Checks every address the domain's SPF record authorizes, once (an address also found
    /// as a mail server keeps that report), each with the path that reached it. Networks
    /// holding more than [`Survey::max_spf_addresses`] addresses together are refused,
    /// unchecked, as trouble.
    async fn check_senders(&self, domain: &DomainName, checked: &mut SurveyReport) {
        let senders = spf::expand(self.checker.resolver(), domain).await;
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
        if total > self.max_spf_addresses {
            let largest = senders
                .networks
                .iter()
                .max_by_key(|n| spf::network_size(&n.network))
                .map(|n| n.via())
                .unwrap_or_default();
            trouble.push(HostTrouble {
                host: domain.to_string(),
                record: "SPF",
                error: LookupError::with_detail(
                    LookupErrorKind::Protocol,
                    format!(
                        "the record authorizes {total} addresses, more than --max-targets {} \
                         (largest: {largest}); none was checked; raise --max-targets to check \
                         them",
                        self.max_spf_addresses
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
        let in_flight = self.checker.targets_in_flight();
        let derived = futures::stream::iter(jobs)
            .map(|(addr, path, network)| async move {
                let mut one =
                    SurveyReport::new(self.checker.check(Target::ip(addr)).await, network);
                one.via = Some(domain.clone());
                one.path = Some(path);
                if self.rdns {
                    let rdns = forward_confirmed_reverse_dns(self.checker.resolver(), addr).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn a_report_with_every_part_writes_the_json_serde_writes() {
        let report = |target: &str| {
            Report::new(
                target.parse().unwrap(),
                vec![crate::outcome::ListResult {
                    list: "bl \"one\"".into(),
                    zone: "bl.example".parse().unwrap(),
                    weight: 1,
                    outcome: Outcome::NotListed,
                    lookup_url: None,
                }],
                1,
            )
        };
        let domain: DomainName = "example.org".parse().unwrap();
        let mut full = SurveyReport::new(report("192.0.2.7"), None);
        full.via = Some(domain.clone());
        full.host = Some("mx.example.org".parse().unwrap());
        full.path = Some("include:_spf.example.org \\ \"a\"\n".to_owned());
        full.rdns = Some(ReverseDns::NotConfirmed(vec!["odd\tname".to_owned()]));
        full.smtp = Some(Box::new(SmtpReport {
            server: "192.0.2.7:25".parse().unwrap(),
            banner: Some("mx \"one\" ESMTP".to_owned()),
            banner_host: None,
            starttls: Some(true),
            relay: crate::smtp::Relay::Closed { code: 554 },
            trouble: None,
        }));
        let servers = || {
            Box::new(MailServers {
                domain: domain.clone(),
                source: HostSource::Mx,
                addresses: 2,
                null_mx: false,
                implicit_mx: true,
                trouble: vec![HostTrouble {
                    host: "mx2.example.org".to_owned(),
                    record: "A",
                    error: LookupError::new(LookupErrorKind::Timeout),
                }],
            })
        };
        full.mail_servers = Some(servers());
        full.senders = Some(servers());
        let bare = SurveyReport::new(report("example.org"), None);
        for survey in [full, bare] {
            let mut line = Vec::new();
            survey.write_json(&mut line).unwrap();
            let mut expected = serde_json::to_vec(&survey).unwrap();
            expected.push(b'\n');
            assert_eq!(String::from_utf8(line), String::from_utf8(expected));
        }
    }
}
