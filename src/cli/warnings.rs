//! What a command-line tool says about a list it cannot trust, and how it names the resolver.

use crate::health::ListHealth;
use crate::list::DnsList;
use crate::outcome::Unhealthy;
use crate::resolver::NameServer;

/// One warning line for a list that cannot be trusted (with some or all targets), saying why
/// and what to try (naming `--nameserver` and `--check-setup`); `None` for a list that is
/// used. `resolver` names the resolver asked, as [`describe_resolver`] does.
///
/// # Examples
///
/// ```
/// use dnsbl_check::ListHealth;
/// use dnsbl_check::cli::health_warning;
///
/// let list = dnsbl_check::presets::list("spamcop", None).unwrap();
/// assert_eq!(health_warning(&list, &ListHealth::Healthy, "127.0.0.1"), None);
/// ```
pub fn health_warning(list: &DnsList, health: &ListHealth, resolver: &str) -> Option<String> {
    let name = list.name();
    let unused = "its answers are reported as trouble, never \"not listed\"";
    Some(match health {
        ListHealth::Unhealthy(Unhealthy::TestPointNotListed { test_point, seen }) => format!(
            "warning: {name}: the test point {test_point} is not listed ({seen}): your resolver \
             ({resolver}) may be filtering, blocked by the list, or unable to reach it; \
             {unused}; try --nameserver or --check-setup"
        ),
        ListHealth::FamilyNotServed(Unhealthy::FamilyNotServed {
            family,
            test_point,
            seen,
        })
        | ListHealth::Unhealthy(Unhealthy::FamilyNotServed {
            family,
            test_point,
            seen,
        }) => format!(
            "warning: {name}: does not serve {family} (its test point {test_point} is {seen}): \
             its {family} answers are reported as trouble, never \"not listed\""
        ),
        ListHealth::Unhealthy(Unhealthy::ListsEverything) => format!(
            "warning: {name}: it lists its negative test point, so it answers \"listed\" to \
             everything (a dead list?); {unused}"
        ),
        ListHealth::Broken(outcome) => format!(
            "warning: {name}: its test point answered {} ({}): the list refuses your resolver \
             ({resolver}) or cannot be used as configured; {unused}; try --nameserver or --check-setup",
            outcome.status(),
            outcome.detail().unwrap_or_default()
        ),
        other if other.is_untrusted() => format!("warning: {name}: {other}; {unused}"),
        _ => return None,
    })
}

/// How the resolver asked is named in warnings: its addresses, or the system's.
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::describe_resolver;
///
/// assert_eq!(describe_resolver(&[]), "the system's, from /etc/resolv.conf");
/// assert_eq!(describe_resolver(&["127.0.0.1:5353".parse().unwrap()]), "127.0.0.1:5353");
/// ```
pub fn describe_resolver(servers: &[NameServer]) -> String {
    if servers.is_empty() {
        return "the system's, from /etc/resolv.conf".to_owned();
    }
    let servers: Vec<String> = servers.iter().map(ToString::to_string).collect();
    servers.join(", ")
}
