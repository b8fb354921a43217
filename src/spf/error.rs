//! Why an SPF record could not be listed in full.

use serde::Serialize;

use super::{MAX_DNS_TERMS, MAX_MX_HOSTS, MAX_VOID_LOOKUPS};
use crate::resolver::LookupError;
use crate::target::DomainName;

/// Why an SPF record could not be listed in full. Each names the record (its domain) and,
/// where there is one, the term, Debug-quoted: a record is someone else's text.
///
/// # Examples
///
/// ```
/// use dnsbl_check::spf::SpfError;
///
/// let error = SpfError::Loop { domain: "a.example".into(), term: "include:b.example".into() };
/// assert!(error.to_string().contains("a.example"));
/// assert!(error.is_permerror());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpfError {
    /// The domain has no `v=spf1` record: it declares no senders, or the include or redirect
    /// points at nothing.
    #[error("{domain} has no SPF record")]
    NoRecord {
        /// The domain asked.
        domain: String,
    },
    /// More than one `v=spf1` record (RFC 7208 §4.5: a permerror).
    #[error("{domain} has {count} SPF records; RFC 7208 §4.5 allows exactly one (permerror)")]
    MultipleRecords {
        /// The domain.
        domain: String,
        /// How many.
        count: usize,
    },
    /// A term the grammar does not allow.
    #[error("SPF record of {domain}: {term:?}: {detail} (permerror)")]
    Syntax {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
        /// What is wrong.
        detail: &'static str,
    },
    /// A term uses a macro that depends on the message: what it authorizes cannot be listed.
    #[error(
        "SPF record of {domain}: {term:?} uses a macro that depends on the message; \
         the addresses it authorizes cannot be listed"
    )]
    Macro {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
    },
    /// The walk went past [`MAX_DNS_TERMS`] DNS-querying terms.
    #[error(
        "SPF record of {domain}: {term:?} is DNS-querying term number {}; RFC 7208 §4.6.4 \
         allows {MAX_DNS_TERMS} (permerror)", MAX_DNS_TERMS + 1
    )]
    TooManyLookups {
        /// The record's domain.
        domain: String,
        /// The term past the limit.
        term: String,
    },
    /// The walk went past [`MAX_VOID_LOOKUPS`] lookups with no answer.
    #[error(
        "SPF record of {domain}: {term:?} found nothing, void lookup number {}; RFC 7208 \
         §4.6.4 allows {MAX_VOID_LOOKUPS} (permerror)", MAX_VOID_LOOKUPS + 1
    )]
    TooManyVoidLookups {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
    },
    /// An `include` or `redirect` leads back to a record being read.
    #[error(
        "SPF record of {domain}: {term:?} loops back to a record already being read (permerror)"
    )]
    Loop {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
    },
    /// An `mx` term names more than [`MAX_MX_HOSTS`] hosts.
    #[error(
        "SPF record of {domain}: {term:?} has {count} MX hosts; RFC 7208 §4.6.4 allows \
         {MAX_MX_HOSTS} (permerror)"
    )]
    TooManyMx {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
        /// How many MX records there were.
        count: usize,
    },
    /// `ptr` or `exists`: what it authorizes depends on the connecting address.
    #[error(
        "SPF record of {domain}: {term:?} authorizes addresses that cannot be listed \
         (it depends on the connecting address)"
    )]
    NotExpandable {
        /// The record's domain.
        domain: String,
        /// The term.
        term: String,
    },
    /// A lookup failed (RFC 7208's temperror): the record could not be read in full.
    #[error("SPF record of {domain}: {record} lookup for {name} failed: {error}")]
    Lookup {
        /// The record's domain.
        domain: String,
        /// The name looked up.
        name: String,
        /// The record type: `TXT`, `A`, `AAAA` or `MX`.
        record: &'static str,
        /// What went wrong.
        error: LookupError,
    },
}

impl SpfError {
    /// What a failed lookup of `record` at `name`, made for the record of `domain`, is: to
    /// map a lookup's error with.
    pub(crate) fn lookup_failed(
        domain: &str,
        name: &DomainName,
        record: &'static str,
    ) -> impl FnOnce(LookupError) -> SpfError {
        let (domain, name) = (domain.to_owned(), name.to_string());
        move |error| SpfError::Lookup {
            domain,
            name,
            record,
            error,
        }
    }

    /// Whether RFC 7208 makes this a permanent error of the record (a receiver fails its
    /// SPF check as `permerror`), rather than a failed lookup or a term this module cannot
    /// list.
    pub fn is_permerror(&self) -> bool {
        !matches!(
            self,
            SpfError::Lookup { .. }
                | SpfError::NotExpandable { .. }
                | SpfError::Macro { .. }
                | SpfError::NoRecord { .. }
        )
    }

    /// One word for the kind of trouble: `no_record`, `multiple_records`, `syntax`, `macro`,
    /// `too_many_lookups`, `too_many_void_lookups`, `loop`, `too_many_mx`, `not_expandable`
    /// or `lookup_failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            SpfError::NoRecord { .. } => "no_record",
            SpfError::MultipleRecords { .. } => "multiple_records",
            SpfError::Syntax { .. } => "syntax",
            SpfError::Macro { .. } => "macro",
            SpfError::TooManyLookups { .. } => "too_many_lookups",
            SpfError::TooManyVoidLookups { .. } => "too_many_void_lookups",
            SpfError::Loop { .. } => "loop",
            SpfError::TooManyMx { .. } => "too_many_mx",
            SpfError::NotExpandable { .. } => "not_expandable",
            SpfError::Lookup { .. } => "lookup_failed",
        }
    }
}

impl Serialize for SpfError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("SpfError", 2)?;
        state.serialize_field("kind", self.kind())?;
        state.serialize_field("detail", &self.to_string())?;
        state.end()
    }
}
