//! Typed results: what each list said about a target, and the verdict over all of them.

use std::fmt;
use std::net::Ipv4Addr;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::list::DnsList;
use crate::resolver::{LookupError, LookupErrorKind};
use crate::target::Target;
use crate::zone::Zone;

mod json;

/// What one list said about one target.
///
/// Only [`Outcome::Listed`] is a listing. Every kind of trouble has its own variant, so that
/// trouble is never taken for "listed" (rejecting good mail) or for "not listed" (letting spam
/// through). An answer the list's filter does not count is neither: it is
/// [`Outcome::NotCounted`], kept out of the verdict and the score but shown with its codes.
///
/// # Examples
///
/// See [`Report`] for a complete check; reading an outcome:
///
/// ```
/// use dnsbl_check::Outcome;
///
/// fn describe(outcome: &Outcome) -> String {
///     match outcome {
///         Outcome::Listed(listing) => format!("listed: {}", listing.categories.join(", ")),
///         Outcome::NotListed => "clean".to_owned(),
///         trouble => format!("{}: {}", trouble.status(), trouble.detail().unwrap_or_default()),
///     }
/// }
/// assert_eq!(describe(&Outcome::NotListed), "clean");
/// assert!(!Outcome::NotListed.is_trouble());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The list lists the target.
    Listed(Listing),
    /// The list does not list the target: NXDOMAIN (RFC 5782 §2.1), or NOERROR without an A
    /// record for a list configured to read NODATA so
    /// ([`NoDataPolicy::NotListed`](crate::list::NoDataPolicy::NotListed)).
    NotListed,
    /// The lookup failed: timeout, SERVFAIL, REFUSED, network or local trouble.
    Failed(LookupError),
    /// The list answered with an operator code: it refused to give a real answer.
    ListError(OperatorError),
    /// The answer is not a DNS list answer at all (outside 127.0.0.0/8).
    Invalid(InvalidAnswer),
    /// The list was not asked: it does not take this kind of target, or it is not trusted
    /// ([`SkipReason::Unhealthy`]: it lists everything, its positive test point is not listed,
    /// or it does not serve this address family). An untrusted list is trouble, never "not
    /// listed".
    Skipped(SkipReason),
    /// The list answered with codes in 127.0.0.0/8 that its filter does not count (Spamhaus
    /// DBL's 127.0.1.102–106 for abused legitimate host names under the `spamhaus-dbl`
    /// preset's filter, URIBL grey or red on a black-only filter). Not a listing and not in
    /// the score, not trouble either; the codes and their categories are kept so that the
    /// answer stays visible. Its `reasons` are empty: TXT is not fetched for it.
    NotCounted(Listing),
    /// NOERROR without an A record (NODATA), or a CNAME chain that ends without one. RFC 5782
    /// says "not listed" is NXDOMAIN; a list (or a filtering resolver in front of it) that
    /// answers NODATA has not said "not listed", so this is trouble, never clean. A list known
    /// to answer NODATA for unlisted names can be configured to read it as not listed
    /// ([`NoDataPolicy::NotListed`](crate::list::NoDataPolicy::NotListed)).
    ///
    /// At the negative test point of a health probe (127.0.0.1), NODATA is not a listing: the
    /// list is judged by its positive test point as before, and its targets' NODATA stays
    /// trouble.
    NoData,
}

impl Outcome {
    /// Whether this is a listing.
    pub fn is_listed(&self) -> bool {
        matches!(self, Outcome::Listed(_))
    }

    /// Whether the list could be asked at all: false only for a list skipped because it does
    /// not hold this kind of target (an IPv6 address on an IPv4-only list, a domain on an IP
    /// list).
    pub fn applies(&self) -> bool {
        !matches!(self, Outcome::Skipped(SkipReason::NotApplicable(_)))
    }

    /// Whether this is trouble of any kind: neither a listing nor a clean answer.
    ///
    /// A list skipped because it does not hold this kind of target (an IPv6 address on an
    /// IPv4-only list) is not trouble: there was nothing to ask. A list skipped as unhealthy is.
    /// An answer the filter does not count ([`Outcome::NotCounted`]) is not trouble either;
    /// NODATA ([`Outcome::NoData`]) is.
    pub fn is_trouble(&self) -> bool {
        !matches!(
            self,
            Outcome::Listed(_)
                | Outcome::NotListed
                | Outcome::NotCounted(_)
                | Outcome::Skipped(SkipReason::NotApplicable(_))
        )
    }

    /// The status word used in serialised results: `listed`, `not_listed`, `not_counted`,
    /// `failed`, `list_error`, `invalid`, `no_data` or `skipped`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Listed(_) => "listed",
            Outcome::NotListed => "not_listed",
            Outcome::NotCounted(_) => "not_counted",
            Outcome::Failed(_) => "failed",
            Outcome::ListError(_) => "list_error",
            Outcome::Invalid(_) => "invalid",
            Outcome::NoData => "no_data",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The kind of this outcome, as counted and watched; `None` for a list that does not take
    /// this kind of target. See [`OutcomeKind::of`].
    pub fn kind(&self) -> Option<OutcomeKind> {
        OutcomeKind::of(self)
    }

    /// A short human-readable explanation of trouble, or of codes not counted (`None` for
    /// listed and not listed).
    pub fn detail(&self) -> Option<String> {
        match self {
            Outcome::Listed(_) | Outcome::NotListed => None,
            Outcome::NotCounted(_) => {
                Some("answered with codes the list's filter does not count".to_owned())
            }
            Outcome::NoData => Some(
                "NOERROR without an A record (NODATA): not how a list says \"not listed\""
                    .to_owned(),
            ),
            Outcome::Failed(error) => Some(error.to_string()),
            Outcome::ListError(error) => Some(error.meaning.clone()),
            Outcome::Invalid(invalid) => Some(invalid.to_string()),
            Outcome::Skipped(reason) => Some(reason.to_string()),
        }
    }
}

/// What one check against one list came to, as one word: the outcome, with failed lookups
/// told apart by their kind of failure.
///
/// This is the one vocabulary for kinds of outcome: the statistics count checks by it
/// ([`stats`](crate::stats)), and watch mode names trouble with it (`monitor::PairStatus`).
/// Its words ([`OutcomeKind::as_str`]) are metric labels, JSON values and state-file words,
/// so they never change.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{LookupError, LookupErrorKind, Outcome, OutcomeKind};
///
/// let timeout = Outcome::Failed(LookupError::new(LookupErrorKind::Timeout));
/// assert_eq!(OutcomeKind::of(&timeout), Some(OutcomeKind::Timeout));
/// assert_eq!(OutcomeKind::Timeout.as_str(), "timeout");
/// assert_eq!(OutcomeKind::parse("timeout"), Some(OutcomeKind::Timeout));
/// assert!(OutcomeKind::Timeout.is_trouble());
/// assert!(!OutcomeKind::of(&Outcome::NotListed).unwrap().is_trouble());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OutcomeKind {
    /// The list lists the target.
    Listed,
    /// The list does not list the target.
    NotListed,
    /// No answer in time (after retries), or the check's deadline passed.
    Timeout,
    /// The server answered SERVFAIL.
    ServFail,
    /// The server answered REFUSED.
    Refused,
    /// The server answered with another error code (FORMERR, NOTIMP, ...).
    ResponseCode,
    /// The network failed: unreachable, connection refused or reset.
    Network,
    /// This machine ran out of sockets, file descriptors or ports.
    LocalResource,
    /// The reply could not be parsed, or did not fit the question.
    Protocol,
    /// The resolver could not be used: misconfigured, or it does not make this kind of lookup.
    Config,
    /// The list answered with an operator code (rate limited, query refused, ...).
    ListError,
    /// The answer was outside 127.0.0.0/8: not a DNS list answer.
    Invalid,
    /// The list was skipped because it failed its health check.
    Unhealthy,
    /// The list answered with codes its filter does not count ([`Outcome::NotCounted`]): not
    /// a listing, not trouble.
    NotCounted,
    /// NOERROR without an A record ([`Outcome::NoData`]): trouble.
    NoData,
}

impl OutcomeKind {
    /// Every kind, in the order of the variants.
    pub const ALL: [OutcomeKind; 15] = [
        OutcomeKind::Listed,
        OutcomeKind::NotListed,
        OutcomeKind::Timeout,
        OutcomeKind::ServFail,
        OutcomeKind::Refused,
        OutcomeKind::ResponseCode,
        OutcomeKind::Network,
        OutcomeKind::LocalResource,
        OutcomeKind::Protocol,
        OutcomeKind::Config,
        OutcomeKind::ListError,
        OutcomeKind::Invalid,
        OutcomeKind::Unhealthy,
        OutcomeKind::NotCounted,
        OutcomeKind::NoData,
    ];

    /// The kind of an outcome; `None` for a list that does not take this kind of target
    /// (there was nothing to ask, so there is nothing to count or watch).
    pub fn of(outcome: &Outcome) -> Option<OutcomeKind> {
        Some(match outcome {
            Outcome::Listed(_) => OutcomeKind::Listed,
            Outcome::NotListed => OutcomeKind::NotListed,
            Outcome::Failed(error) => match error.kind() {
                LookupErrorKind::Timeout => OutcomeKind::Timeout,
                LookupErrorKind::ServFail => OutcomeKind::ServFail,
                LookupErrorKind::Refused => OutcomeKind::Refused,
                LookupErrorKind::ResponseCode(_) => OutcomeKind::ResponseCode,
                LookupErrorKind::Network => OutcomeKind::Network,
                LookupErrorKind::LocalResource => OutcomeKind::LocalResource,
                LookupErrorKind::Protocol => OutcomeKind::Protocol,
                // A resolver that does not make the lookup a list needs is a setup problem with
                // the same remedy as a misconfigured one (use another resolver), not trouble of
                // the list: it is counted as `config`, which keeps the words metrics and state
                // files already use. The match names every kind, so a kind added later must be
                // placed here on purpose.
                LookupErrorKind::Config | LookupErrorKind::Unsupported => OutcomeKind::Config,
            },
            Outcome::ListError(_) => OutcomeKind::ListError,
            Outcome::Invalid(_) => OutcomeKind::Invalid,
            Outcome::NotCounted(_) => OutcomeKind::NotCounted,
            Outcome::NoData => OutcomeKind::NoData,
            Outcome::Skipped(SkipReason::Unhealthy(_)) => OutcomeKind::Unhealthy,
            Outcome::Skipped(SkipReason::NotApplicable(_)) => return None,
        })
    }

    /// A short snake_case word, used as metric label, in JSON and in watch mode's state file:
    /// `listed`, `not_listed`, `timeout`, `servfail`, `refused`, `response_code`, `network`,
    /// `local_resource`, `protocol`, `config`, `list_error`, `invalid`, `unhealthy`,
    /// `not_counted`, `no_data`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Listed => "listed",
            OutcomeKind::NotListed => "not_listed",
            OutcomeKind::Timeout => "timeout",
            OutcomeKind::ServFail => "servfail",
            OutcomeKind::Refused => "refused",
            OutcomeKind::ResponseCode => "response_code",
            OutcomeKind::Network => "network",
            OutcomeKind::LocalResource => "local_resource",
            OutcomeKind::Protocol => "protocol",
            OutcomeKind::Config => "config",
            OutcomeKind::ListError => "list_error",
            OutcomeKind::Invalid => "invalid",
            OutcomeKind::Unhealthy => "unhealthy",
            OutcomeKind::NotCounted => "not_counted",
            OutcomeKind::NoData => "no_data",
        }
    }

    /// The kind named by [`OutcomeKind::as_str`]; `None` for any other word.
    pub fn parse(word: &str) -> Option<OutcomeKind> {
        OutcomeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == word)
    }

    /// Whether this is trouble: neither a listing nor a clean answer (codes the filter does
    /// not count are not trouble).
    pub fn is_trouble(self) -> bool {
        !matches!(
            self,
            OutcomeKind::Listed | OutcomeKind::NotListed | OutcomeKind::NotCounted
        )
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OutcomeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A listing: every code that counts, what they mean, and why the list says so.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listing {
    /// Every A record that counts as a listing, in the order received.
    pub codes: Vec<Ipv4Addr>,
    /// The categories of those codes, each once, in order.
    pub categories: Vec<String>,
    /// The TXT reasons, one per TXT record (strings joined, lossy UTF-8). Empty when TXT was
    /// not asked for or not served.
    pub reasons: Vec<String>,
    /// How long the listing may be cached, in seconds (the smallest A record TTL).
    pub ttl: u32,
}

/// An operator code: the list did not really answer, and said why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperatorError {
    /// The operator codes received.
    pub codes: Vec<Ipv4Addr>,
    /// What the (first) code means.
    pub meaning: String,
}

/// An answer outside 127.0.0.0/8: a resolver rewriting NXDOMAIN, or a zone taken over by a
/// parking service. It is not a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidAnswer {
    /// Every A record received.
    pub codes: Vec<Ipv4Addr>,
}

impl fmt::Display for InvalidAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("answer outside 127.0.0.0/8 (")?;
        for (i, code) in self.codes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            code.fmt(f)?;
        }
        f.write_str("): not a DNS list answer")
    }
}

/// Why a list was not asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The list does not hold this kind of target (an IPv6 address on an IPv4-only list, a
    /// domain on an IP list, ...), or the name would not fit under its zone.
    NotApplicable(&'static str),
    /// The list failed its health check and is not trusted.
    Unhealthy(Unhealthy),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotApplicable(why) => write!(f, "not applicable: {why}"),
            SkipReason::Unhealthy(why) => why.fmt(f),
        }
    }
}

/// Why a list is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unhealthy {
    /// It lists the negative test point (127.0.0.1, `::ffff:7f00:1` or `invalid`), so it lists
    /// everything: a dead list answering every query.
    ListsEverything,
    /// Its positive test point (127.0.0.2, `test`, or the operator's own) is not listed, so the
    /// list was not seen to work: its "not listed" would mean nothing. Most often the resolver
    /// is blind to the list (a filtering, captive or sandboxed resolver answering NXDOMAIN to
    /// everything), the list refuses that resolver, or the list is gone.
    TestPointNotListed {
        /// The test point asked, as written (`127.0.0.2`, `dbltest.com`).
        test_point: String,
        /// What came back instead (`NXDOMAIN`, `no A record`).
        seen: String,
    },
    /// The list works for one family of targets but not for this one: an `ip` list whose
    /// IPv6 test point (`::ffff:7f00:2`) is not listed serves IPv4 only, and its "not listed"
    /// for an IPv6 address would mean nothing.
    FamilyNotServed {
        /// The family not served: `IPv4`, `IPv6` or `domains`.
        family: &'static str,
        /// The test point of that family, as written.
        test_point: String,
        /// What it showed: `not listed (NXDOMAIN)`, or listed only from the list's IPv4 data
        /// (rbldnsd's `ip4set` answers IPv4-mapped names so, and no other IPv6 name).
        seen: String,
    },
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unhealthy::ListsEverything => {
                f.write_str("lists 127.0.0.1: list answers for everything")
            }
            Unhealthy::TestPointNotListed { test_point, seen } => write!(
                f,
                "the test point {test_point} is not listed ({seen}): the list cannot be seen to work"
            ),
            Unhealthy::FamilyNotServed {
                family,
                test_point,
                seen,
            } => write!(
                f,
                "does not serve {family}: its test point {test_point} is {seen}"
            ),
        }
    }
}

/// One list's outcome for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListResult {
    /// The list's display name.
    pub list: std::sync::Arc<str>,
    /// The list's zone (shown by its public name only).
    pub zone: Zone,
    /// The list's weight, counted in the score when it lists the target.
    pub weight: i32,
    /// What the list said.
    pub outcome: Outcome,
    /// Where a listed target can be looked up and delisted (the list's template filled in
    /// with the target); `None` unless listed, or when the list has no lookup page.
    pub lookup_url: Option<String>,
}

impl ListResult {
    pub(crate) fn new(list: &DnsList, outcome: Outcome) -> Self {
        ListResult {
            list: list.shared_name(),
            zone: list.zone().clone(),
            weight: list.weight(),
            outcome,
            lookup_url: None,
        }
    }
}

impl Serialize for ListResult {
    /// The flat form used in JSON output:
    /// `{"list", "zone", "weight", "status", "codes", "categories", "reasons", "ttl"?,
    /// "error_kind"?, "detail"?, "lookup_url"?}`. A listing on a list of weight 0 shows as
    /// `"status": "listed"` with `"weight": 0`: reported, but not in the score; codes a filter
    /// does not count show as `"status": "not_counted"` with their codes and categories.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let empty_codes: &[Ipv4Addr] = &[];
        let empty_text: &[String] = &[];
        let (codes, categories, reasons, ttl) = match &self.outcome {
            Outcome::Listed(listing) | Outcome::NotCounted(listing) => (
                &listing.codes[..],
                &listing.categories[..],
                &listing.reasons[..],
                Some(listing.ttl),
            ),
            Outcome::ListError(error) => (&error.codes[..], empty_text, empty_text, None),
            Outcome::Invalid(invalid) => (&invalid.codes[..], empty_text, empty_text, None),
            _ => (empty_codes, empty_text, empty_text, None),
        };
        let detail = self.outcome.detail();
        let mut state = serializer.serialize_struct("ListResult", 11)?;
        state.serialize_field("list", &self.list)?;
        state.serialize_field("zone", &self.zone)?;
        state.serialize_field("weight", &self.weight)?;
        state.serialize_field("status", self.outcome.status())?;
        state.serialize_field("codes", codes)?;
        state.serialize_field("categories", categories)?;
        state.serialize_field("reasons", reasons)?;
        if let Some(ttl) = ttl {
            state.serialize_field("ttl", &ttl)?;
        } else {
            state.skip_field("ttl")?;
        }
        if let Outcome::Failed(error) = &self.outcome {
            state.serialize_field("error_kind", &error.kind())?;
        } else {
            state.skip_field("error_kind")?;
        }
        match &detail {
            Some(detail) => state.serialize_field("detail", detail)?,
            None => state.skip_field("detail")?,
        }
        match &self.lookup_url {
            Some(url) => state.serialize_field("lookup_url", url)?,
            None => state.skip_field("lookup_url")?,
        }
        state.end()
    }
}

/// Every list's outcome for one target, the score and the verdict.
///
/// # Examples
///
/// A check against a resolver that answers from a table (a test double; see
/// [`DnsResolver`](crate::DnsResolver)):
///
/// ```
/// use std::net::Ipv4Addr;
/// use dnsbl_check::{Answer, Checker, DnsList, DnsResolver, ListKind, LookupError, Outcome};
///
/// struct Table;
///
/// impl DnsResolver for Table {
///     async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
///         Ok(match name {
///             "10.2.0.192.bl.example." => Answer::Records {
///                 records: vec![Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)],
///                 ttl: 300,
///             },
///             _ => Answer::NoRecords { nxdomain: true, negative_ttl: Some(60) },
///         })
///     }
///
///     async fn lookup_txt(&self, _name: &str) -> Result<Answer<String>, LookupError> {
///         Ok(Answer::Records { records: vec!["see https://bl.example/".into()], ttl: 300 })
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = DnsList::from_spec("bl.example=127.0.0.[2..11]*2", ListKind::Ip)?
///     .with_category("127.0.0.2".parse()?, "spam")
///     .with_category("127.0.0.4".parse()?, "exploited");
/// let checker = Checker::builder().list(list).health_checks(false).build_with(Table)?;
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
///
/// let report = runtime.block_on(checker.check("192.0.2.10".parse()?));
/// assert!(report.listed);
/// assert_eq!(report.score, 2);
/// let Outcome::Listed(listing) = &report.results[0].outcome else { unreachable!() };
/// assert_eq!(listing.categories, ["spam", "exploited"]);
/// assert_eq!(listing.reasons, ["see https://bl.example/"]);
///
/// let clean = runtime.block_on(checker.check("192.0.2.11".parse()?));
/// assert!(!clean.listed && !clean.has_trouble());
/// # Ok(())
/// # }
/// ```
///
/// Serialises to the schema shared by the library, the CLI's JSON Lines output and the
/// policy server's logs:
///
/// ```json
/// {"target": "192.0.2.1", "listed": true, "score": 1,
///  "results": [{"list": "spamhaus-zen", "zone": "zen.spamhaus.org", "status": "listed",
///               "codes": ["127.0.0.2"], "categories": ["SBL"], "reasons": ["..."], "ttl": 300}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// What was checked.
    pub target: Target,
    /// The verdict: `score >= threshold`.
    pub listed: bool,
    /// The sum of the weights of the lists that list the target.
    pub score: i32,
    /// One result per configured list, in the order the lists were given.
    pub results: Vec<ListResult>,
}

impl Report {
    pub(crate) fn new(target: Target, results: Vec<ListResult>, threshold: i32) -> Self {
        let score = results
            .iter()
            .filter(|result| result.outcome.is_listed())
            .map(|result| result.weight)
            .sum();
        Report {
            target,
            listed: score >= threshold,
            score,
            results,
        }
    }

    /// Writes the report as one line of JSON, newline included: the same bytes as
    /// `serde_json::to_writer` gives for it, at a fraction of the cost, for bulk output.
    ///
    /// # Examples
    ///
    /// ```
    /// fn line_of(report: &dnsbl_check::Report) -> std::io::Result<Vec<u8>> {
    ///     let mut line = Vec::new();
    ///     report.write_json(&mut line)?;
    ///     Ok(line)
    /// }
    /// # fn check(report: dnsbl_check::Report) -> std::io::Result<()> {
    /// let line = line_of(&report)?;
    /// assert_eq!(line, [serde_json::to_vec(&report).unwrap(), b"\n".to_vec()].concat());
    /// # Ok(())
    /// # }
    /// ```
    pub fn write_json(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        json::write_report_fields(out, self)?;
        out.write_all(b"}\n")
    }

    /// Writes the report's JSON object without its closing brace (nor newline), for a caller
    /// that adds fields of its own.
    #[cfg_attr(not(feature = "monitor"), allow(dead_code))]
    pub(crate) fn write_json_fields(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        json::write_report_fields(out, self)
    }

    /// The results of the lists that list the target.
    pub fn listings(&self) -> impl Iterator<Item = (&ListResult, &Listing)> {
        self.results
            .iter()
            .filter_map(|result| match &result.outcome {
                Outcome::Listed(listing) => Some((result, listing)),
                _ => None,
            })
    }

    /// Drops the results of lists that do not take this kind of target, for output where they
    /// would only be noise.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(checker: dnsbl_check::Checker) {
    /// let mut report = checker.check("example.com".parse().unwrap()).await;
    /// report.retain_applicable();
    /// if report.results.is_empty() {
    ///     println!("no configured list takes {}", report.target);
    /// }
    /// # }
    /// ```
    pub fn retain_applicable(&mut self) {
        self.results.retain(|result| result.outcome.applies());
    }

    /// Whether any list gave trouble instead of an answer.
    pub fn has_trouble(&self) -> bool {
        self.results
            .iter()
            .any(|result| result.outcome.is_trouble())
    }
}
