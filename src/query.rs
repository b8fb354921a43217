//! One query to one list, and how its answer becomes an [`Outcome`].

use std::net::Ipv4Addr;

use crate::list::{DnsList, NoDataPolicy};
use crate::outcome::{InvalidAnswer, Listing, OperatorError, Outcome};
use crate::resolver::{Answer, DnsResolver, LookupError};

/// When to ask for TXT reasons.
///
/// # Examples
///
/// ```
/// use dnsbl_check::{Checker, TxtLookup};
///
/// // A mail filter: a listing costs one round trip instead of two.
/// let builder = Checker::builder().txt_lookup(TxtLookup::WithA);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TxtLookup {
    /// Never.
    Off,
    /// After the A answer shows a listing (the default): no TXT query for clean targets,
    /// but a listing takes two round trips.
    #[default]
    WhenListed,
    /// At the same time as the A query, used only if the target is listed: a listing takes
    /// one round trip, at the price of a TXT query for every target. Worth it with a cache
    /// and when latency matters, as in a mail filter.
    WithA,
}

/// Asks `list` about `name` (an absolute query name) and reads the answer.
///
/// TXT is fetched as `txt` says, and only for lists with TXT enabled; its records are used
/// only when the target is listed. A TXT failure leaves the listing without reasons rather
/// than hiding it.
pub(crate) async fn query_list<R: DnsResolver>(
    resolver: &R,
    list: &DnsList,
    name: &str,
    txt: TxtLookup,
) -> Outcome {
    let txt = txt_for(list, txt);
    let (a, early_txt) = match txt {
        TxtLookup::WithA => {
            // Boxed: two lookups side by side would double every check's future, in bulk
            // scans too, which move it as they queue it; this mode is the mail filters'.
            let both = async { futures::join!(resolver.lookup_a(name), resolver.lookup_txt(name)) };
            let (a, txt) = Box::pin(both).await;
            (a, Some(txt))
        }
        _ => (resolver.lookup_a(name).await, None),
    };
    let listing = match read_a(list, a) {
        Ok(listing) => listing,
        Err(outcome) => return outcome,
    };
    let txt = match (txt, early_txt) {
        (_, Some(txt)) => txt,
        (TxtLookup::WhenListed, None) => resolver.lookup_txt(name).await,
        _ => return Outcome::Listed(listing),
    };
    with_reasons(list, listing, txt)
}

/// [`query_list`] at once, when the resolver answers at once (a local mirror: see
/// [`DnsResolver::lookup_a_now`]); `None` when an answer takes a lookup. The outcome is the
/// one `query_list` gives.
pub(crate) fn query_list_now<R: DnsResolver>(
    resolver: &R,
    list: &DnsList,
    name: &str,
    txt: TxtLookup,
) -> Option<Outcome> {
    let listing = match read_a(list, resolver.lookup_a_now(name)?) {
        Ok(listing) => listing,
        Err(outcome) => return Some(outcome),
    };
    if txt_for(list, txt) == TxtLookup::Off {
        return Some(Outcome::Listed(listing));
    }
    Some(with_reasons(list, listing, resolver.lookup_txt_now(name)?))
}

/// When to ask `list` for TXT: never for a list without TXT.
fn txt_for(list: &DnsList, txt: TxtLookup) -> TxtLookup {
    if list.txt() { txt } else { TxtLookup::Off }
}

/// The listing an A answer shows, or the outcome it is instead (not listed, trouble).
fn read_a(list: &DnsList, a: Result<Answer<Ipv4Addr>, LookupError>) -> Result<Listing, Outcome> {
    match a {
        Err(error) => Err(Outcome::Failed(error)),
        Ok(Answer::NoRecords { nxdomain: true, .. }) => Err(Outcome::NotListed),
        // NOERROR without an A record: RFC 5782 §2.1 says "not listed" is NXDOMAIN. Both
        // transports report a CNAME chain that ends without an answer, and records of other
        // names only, this way too.
        Ok(Answer::NoRecords {
            nxdomain: false, ..
        }) => Err(nodata(list)),
        Ok(Answer::Records { records, ttl }) => match classify(list, records, ttl) {
            Outcome::Listed(listing) => Ok(listing),
            other => Err(other),
        },
    }
}

/// A listing with the reasons of a TXT answer. A TXT failure leaves the listing without
/// reasons rather than hiding it.
fn with_reasons(
    list: &DnsList,
    mut listing: Listing,
    txt: Result<Answer<String>, LookupError>,
) -> Outcome {
    match txt {
        Ok(Answer::Records { records, .. }) => listing.reasons = records,
        Ok(Answer::NoRecords { .. }) => {}
        Err(error) => tracing::debug!(list = list.name(), %error, "TXT lookup failed"),
    }
    Outcome::Listed(listing)
}

/// Reads the A records of an answer.
///
/// When one answer mixes kinds of codes, the most suspicious reading wins:
/// 1. any record outside 127.0.0.0/8 makes the whole answer [`Outcome::Invalid`]: the answer
///    did not come from the list as designed (a rewriting resolver, a parked domain), so none
///    of its records can be trusted, including ones that look like listings;
/// 2. otherwise any operator code makes it [`Outcome::ListError`]: the operator says it did
///    not evaluate the query properly, so the other codes are not a considered answer either;
/// 3. otherwise the codes the list's filter accepts are the listing; when it accepts none,
///    the answer is [`Outcome::NotCounted`], with every code received: not a listing, but not
///    hidden either.
///
/// Neither 1 nor 2 is ever a listing, so a broken answer cannot reject mail; and neither is
/// "not listed", so it cannot pass mail as clean without saying so.
pub(crate) fn classify(list: &DnsList, codes: Vec<Ipv4Addr>, ttl: u32) -> Outcome {
    if codes.iter().any(|code| code.octets()[0] != 127) {
        return Outcome::Invalid(InvalidAnswer { codes });
    }
    if let Some(meaning) = codes.iter().find_map(|code| list.error_meaning(*code)) {
        let meaning = meaning.to_owned();
        let codes = codes
            .into_iter()
            .filter(|code| list.error_meaning(*code).is_some())
            .collect();
        return Outcome::ListError(OperatorError { codes, meaning });
    }
    if codes.is_empty() {
        // An answer without records is NODATA, however a resolver chose to report it.
        return nodata(list);
    }
    let (counted, not_counted): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) =
        codes.into_iter().partition(|code| list.counts(*code));
    if counted.is_empty() {
        return Outcome::NotCounted(listing(list, not_counted, ttl));
    }
    Outcome::Listed(listing(list, counted, ttl))
}

/// What a NODATA answer means for `list`: trouble, unless it is configured to read it as
/// "not listed".
fn nodata(list: &DnsList) -> Outcome {
    match list.nodata() {
        NoDataPolicy::NotListed => Outcome::NotListed,
        _ => Outcome::NoData,
    }
}

/// A listing of `codes`, with their categories.
fn listing(list: &DnsList, codes: Vec<Ipv4Addr>, ttl: u32) -> Listing {
    let mut categories: Vec<String> = Vec::new();
    for code in &codes {
        for category in list.categories_of(*code) {
            if !categories.iter().any(|known| known == category) {
                categories.push(category.to_owned());
            }
        }
    }
    Listing {
        codes,
        categories,
        reasons: Vec::new(),
        ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::ListKind;

    fn codes(text: &[&str]) -> Vec<Ipv4Addr> {
        text.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn zen() -> DnsList {
        DnsList::from_spec("zen.example=127.0.0.[2..11]", ListKind::Ip)
            .unwrap()
            .with_category("127.0.0.2".parse().unwrap(), "SBL")
            .with_category("127.0.0.4".parse().unwrap(), "XBL")
            .with_category("127.0.0.[10..11]".parse().unwrap(), "PBL")
            .with_error_code("127.0.1.255".parse().unwrap(), "wrong query type")
    }

    #[test]
    fn classifies_answers() {
        let list = zen();
        let cases: &[(&[&str], &str, &[&str])] = &[
            (&["127.0.0.2"], "listed", &["SBL"]),
            (&["127.0.0.4", "127.0.0.2"], "listed", &["XBL", "SBL"]),
            (&["127.0.0.10", "127.0.0.11"], "listed", &["PBL"]),
            (&["127.0.0.3"], "listed", &[]),
            (&["127.0.0.12"], "not_counted", &[]),
            (&["127.255.255.254"], "list_error", &[]),
            (&["127.0.0.2", "127.255.255.255"], "list_error", &[]),
            (&["127.0.1.255"], "list_error", &[]),
            (&["192.0.2.1"], "invalid", &[]),
            (&["127.0.0.2", "198.51.100.7"], "invalid", &[]),
            (&["198.51.100.7", "127.255.255.254"], "invalid", &[]),
        ];
        for (answer, status, categories) in cases {
            let outcome = classify(&list, codes(answer), 300);
            assert_eq!(outcome.status(), *status, "{answer:?}");
            if let Outcome::Listed(listing) = outcome {
                assert_eq!(listing.categories, *categories, "{answer:?}");
                assert_eq!(listing.ttl, 300);
            }
        }
    }

    #[test]
    fn list_errors_carry_meaning() {
        let Outcome::ListError(error) = classify(&zen(), codes(&["127.255.255.255"]), 60) else {
            panic!("expected a list error");
        };
        assert_eq!(
            error.meaning,
            "query refused: too many queries (rate limited)"
        );
    }

    #[test]
    fn codes_the_filter_does_not_count_stay_visible() {
        let dbl = DnsList::from_spec("dbl.example=127.0.1.[2..99]", ListKind::Domain)
            .unwrap()
            .with_category("127.0.1.[102..106]".parse().unwrap(), "abused legit");
        let Outcome::NotCounted(shown) = classify(&dbl, codes(&["127.0.1.102"]), 30) else {
            panic!("expected codes not counted");
        };
        assert_eq!(shown.codes, codes(&["127.0.1.102"]));
        assert_eq!(shown.categories, ["abused legit"]);
        assert!(!Outcome::NotCounted(shown.clone()).is_trouble());
        assert!(!Outcome::NotCounted(shown).is_listed());
        // A counted code beside it is a listing of the counted code alone.
        let Outcome::Listed(listing) = classify(&dbl, codes(&["127.0.1.102", "127.0.1.2"]), 30)
        else {
            panic!("expected a listing");
        };
        assert_eq!(listing.codes, codes(&["127.0.1.2"]));
    }

    /// A resolver answering NODATA for every name but 2.0.0.127, which is NXDOMAIN.
    struct NoData;

    impl DnsResolver for NoData {
        async fn lookup_a(
            &self,
            name: &str,
        ) -> Result<Answer<Ipv4Addr>, crate::resolver::LookupError> {
            Ok(Answer::NoRecords {
                nxdomain: name.starts_with("2.0.0.127."),
                negative_ttl: Some(60),
            })
        }

        async fn lookup_txt(
            &self,
            _name: &str,
        ) -> Result<Answer<String>, crate::resolver::LookupError> {
            Ok(Answer::NoRecords {
                nxdomain: false,
                negative_ttl: None,
            })
        }
    }

    #[test]
    fn nodata_is_trouble_unless_the_list_says_otherwise() {
        let run = |list: &DnsList, name: &str| {
            futures::executor::block_on(query_list(&NoData, list, name, TxtLookup::WhenListed))
        };
        let strict = zen();
        assert_eq!(run(&strict, "1.2.0.192.zen.example."), Outcome::NoData);
        assert!(Outcome::NoData.is_trouble());
        assert_eq!(run(&strict, "2.0.0.127.zen.example."), Outcome::NotListed);
        let lenient = zen().with_nodata(NoDataPolicy::NotListed);
        assert_eq!(run(&lenient, "1.2.0.192.zen.example."), Outcome::NotListed);
        // An answer without records, however reported, reads the same.
        assert_eq!(classify(&strict, Vec::new(), 60), Outcome::NoData);
        assert_eq!(classify(&lenient, Vec::new(), 60), Outcome::NotListed);
    }

    #[test]
    fn filtered_out_codes_are_dropped_from_listing() {
        let list = DnsList::from_spec("multi.example=&0.0.0.8", ListKind::Domain).unwrap();
        let Outcome::Listed(listing) = classify(&list, codes(&["127.0.0.8", "127.0.0.2"]), 5)
        else {
            panic!("expected a listing");
        };
        assert_eq!(listing.codes, codes(&["127.0.0.8"]));
    }
}
