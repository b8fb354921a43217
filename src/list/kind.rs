//! What a list is asked about, and in which form: its kind, a domain list's query form, the
//! addresses behind domains an IP list may be asked about.

// Written in the vocabulary of the list module and its imports.
use super::*;

/// What a list is asked about.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{ListKind, Target};
///
/// let v6: Target = "2001:db8::1".parse().unwrap();
/// assert!(ListKind::Ip.serves(&v6));
/// assert!(!ListKind::Ipv4.serves(&v6));
/// assert!(!ListKind::Domain.serves(&v6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ListKind {
    /// IP addresses, IPv4 and IPv6.
    #[default]
    Ip,
    /// IPv4 addresses only.
    Ipv4,
    /// IPv6 addresses only.
    Ipv6,
    /// Domain names (RHSBL, URIBL).
    Domain,
}

impl ListKind {
    /// Whether a list of this kind can be asked about `target`.
    pub fn serves(self, target: &Target) -> bool {
        matches!(
            (self, target),
            (ListKind::Domain, Target::Domain(_))
                | (ListKind::Ip, Target::Ip(_))
                | (ListKind::Ipv4, Target::Ip(IpAddr::V4(_)))
                | (ListKind::Ipv6, Target::Ip(IpAddr::V6(_)))
        )
    }

    /// Whether this kind holds addresses rather than domain names.
    pub fn is_ip(self) -> bool {
        !matches!(self, ListKind::Domain)
    }

    /// The families of targets a list of this kind holds, each proven by its own test point:
    /// [`ListKind::Ip`] is IPv4 and IPv6; every other kind is itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ListKind;
    ///
    /// assert_eq!(ListKind::Ip.families(), [ListKind::Ipv4, ListKind::Ipv6]);
    /// assert_eq!(ListKind::Domain.families(), [ListKind::Domain]);
    /// ```
    pub fn families(self) -> &'static [ListKind] {
        match self {
            ListKind::Ip => &[ListKind::Ipv4, ListKind::Ipv6],
            ListKind::Ipv4 => &[ListKind::Ipv4],
            ListKind::Ipv6 => &[ListKind::Ipv6],
            ListKind::Domain => &[ListKind::Domain],
        }
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Ip => "ip",
            ListKind::Ipv4 => "ipv4",
            ListKind::Ipv6 => "ipv6",
            ListKind::Domain => "domain",
        })
    }
}

/// The form in which a domain list is asked about a host name.
///
/// Lists differ: Spamhaus DBL and ZRD list host names (the DBL's codes 127.0.1.102-106 name
/// one abused host of an otherwise legitimate site) and are wildcard zones that take the full
/// name as it is; SURBL and URIBL list registrable ("base") domains only, so that
/// `www.spam.example` must be asked as `spam.example`. In a config file:
/// `query_form = "host"` (the default) or `query_form = "registrable"`.
///
/// A [`QueryForm::Host`] list is asked the full host name, and the mail filters also ask it
/// the host's registrable domain (one parent, not every label in between): the DBL and ZRD
/// answer for a listed domain's every sub-name by wildcard, so the full name is enough for
/// them; the registrable domain covers host lists that list domains without wildcards, at
/// one query per registrable domain, which the registrable lists ask anyway. Intermediate
/// names (`b.c.example` of `a.b.c.example`) are not tried: that would cost up to one query
/// per label for every host. A list served by a standard authoritative server (not rbldnsd)
/// answers NODATA for the parent of a listed host (an empty non-terminal): give such a list
/// `nodata = "not-listed"`, or its NODATA stays trouble ([`NoDataPolicy`]).
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::QueryForm;
/// use dnsbl_check::{DnsList, ListKind, Target};
///
/// let uribl = DnsList::from_spec("multi.uribl.example", ListKind::Domain)
///     .unwrap()
///     .with_query_form(QueryForm::Registrable);
/// let host: Target = "abused.legit.example.co.uk".parse().unwrap();
/// assert_eq!(uribl.query_form(), QueryForm::Registrable);
/// assert_eq!(
///     uribl.query_name(&host).unwrap().as_str(),
///     "example.co.uk.multi.uribl.example."
/// );
/// let dbl = DnsList::from_spec("dbl.example", ListKind::Domain).unwrap();
/// assert_eq!(dbl.query_form(), QueryForm::Host);
/// assert_eq!(
///     dbl.query_name(&host).unwrap().as_str(),
///     "abused.legit.example.co.uk.dbl.example."
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum QueryForm {
    /// The full host name, as it is (the default: Spamhaus DBL and ZRD).
    #[default]
    Host,
    /// The registrable domain of the host name, by the public suffix list (SURBL, URIBL). A
    /// name that has none (a public suffix, a single label such as the test point `test`) is
    /// asked as it is.
    Registrable,
}

impl QueryForm {
    pub(super) fn is_default(&self) -> bool {
        *self == QueryForm::default()
    }

    /// `name` in this form: itself, or its registrable domain.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::list::QueryForm;
    /// use dnsbl_check::target::DomainName;
    ///
    /// let host = DomainName::new("www.example.co.uk").unwrap();
    /// assert_eq!(QueryForm::Host.apply(&host).as_str(), "www.example.co.uk");
    /// assert_eq!(QueryForm::Registrable.apply(&host).as_str(), "example.co.uk");
    /// ```
    pub fn apply(self, name: &DomainName) -> DomainName {
        match self {
            QueryForm::Host => name.clone(),
            QueryForm::Registrable => {
                registrable_domain(name.as_str()).unwrap_or_else(|| name.clone())
            }
        }
    }
}

impl fmt::Display for QueryForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryForm::Host => "host",
            QueryForm::Registrable => "registrable",
        })
    }
}

/// The registrable domain of a host name (one label under its public suffix, by the
/// compiled-in public suffix list, private suffixes such as `github.io` included), in ASCII
/// form; `None` for a public suffix itself, a single label, or something not a name.
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::registrable_domain;
///
/// let domain = |host| registrable_domain(host).map(|d| d.to_string());
/// assert_eq!(domain("www.example.co.uk").as_deref(), Some("example.co.uk"));
/// assert_eq!(domain("user.github.io").as_deref(), Some("user.github.io"));
/// assert_eq!(domain("Bücher.example.DE.").as_deref(), Some("example.de"));
/// assert_eq!(domain("co.uk"), None);
/// ```
pub fn registrable_domain(host: &str) -> Option<DomainName> {
    let host = host.trim_end_matches('.');
    if !host.contains('.') {
        return None;
    }
    let name = DomainName::new(host).ok()?;
    let registrable = psl::domain_str(name.as_str())?;
    DomainName::new(registrable).ok()
}

/// What mail filters resolve a domain to, to ask an IP list about the addresses behind it
/// (`check_domains = ["ns", "a"]` in a config file; none by default).
///
/// # Examples
///
/// ```
/// use dnsbl_check::list::DomainCheck;
/// use dnsbl_check::{DnsList, ListKind};
///
/// let sbl = DnsList::from_spec("sbl.example", ListKind::Ipv4)
///     .unwrap()
///     .with_domain_checks([DomainCheck::Ns, DomainCheck::A]);
/// assert_eq!(sbl.domain_checks(), [DomainCheck::Ns, DomainCheck::A]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DomainCheck {
    /// The domain's name servers (NS records), and their IPv4 addresses.
    Ns,
    /// The domain's own IPv4 addresses (A records).
    A,
}
