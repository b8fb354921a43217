//! The decision, without I/O: what was gathered for a session in, an [`Evaluation`] out.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::{
    Checked, DomainLookup, Evaluation, FcrdnsStatus, Listed, MAX_REASON, MAX_TEXT, SessionFacts,
    SessionPolicy, SkipReason, TEMPFAIL_TEXT, Trouble, UNREADABLE_CLIENT_TEXT, Unchecked, Verdict,
    joined,
};
use crate::Report;
use crate::list::DomainCheck;
use crate::mail::text::one_line;
use crate::rdns::ReverseDns;
use crate::redact::KeyedZones;
use crate::target::Target;

/// What was asked and answered for one evaluation.
pub(super) struct Gathered {
    /// Each target, with what it was checked as, in the order asked.
    pub(super) targets: Vec<Checked>,
    /// The addresses found behind domains: the check that found each, and how.
    pub(super) via: HashMap<IpAddr, (DomainCheck, DomainLookup)>,
    /// One report per target.
    pub(super) reports: Vec<Report>,
    /// The client's FCrDNS, when it was asked (`None` inside: past its deadline).
    pub(super) fcrdns: Option<Option<ReverseDns>>,
    /// The lookups of addresses behind domains that failed.
    pub(super) trouble: Vec<Trouble>,
    /// What of those lookups was left out.
    pub(super) unchecked: Vec<Unchecked>,
}

/// The reasons found to reject (or tag), and whether some lookup failed.
#[derive(Default)]
struct Findings {
    rejections: Vec<String>,
    tags: Vec<String>,
    trouble: bool,
}

/// Decides by `policy` on what was gathered about `facts` (a client not checked for
/// `skip_client`). Listings come first: each is a reason to reject (or tag), and the first
/// one is named. Texts shown are scrubbed of the keys of `keyed_zones`.
pub(super) fn decide(
    policy: &SessionPolicy,
    keyed_zones: &KeyedZones,
    facts: &SessionFacts,
    skip_client: Option<SkipReason>,
    gathered: Gathered,
) -> Evaluation {
    let mut evaluation = Evaluation::new();
    evaluation.note = skip_client;
    evaluation.unchecked = facts.unchecked.clone();
    evaluation.unchecked.extend(gathered.unchecked);
    evaluation.checked.clone_from(&gathered.targets);
    let mut findings = Findings::default();
    // A client address that could not be read is a client that was not checked: never
    // passed over in silence, and a tempfail when failing closed.
    let unreadable = match (facts.client, &facts.unreadable_client) {
        (None, Some(text)) => {
            evaluation
                .trouble
                .push(Trouble::UnreadableClient(text.clone()));
            true
        }
        _ => false,
    };
    findings.trouble = !gathered.trouble.is_empty();
    evaluation.trouble.extend(gathered.trouble);
    for (checked, report) in gathered.targets.iter().zip(&gathered.reports) {
        note_results(&mut evaluation, report);
        findings.trouble |= report.has_trouble();
        if report.listed {
            let how = match &checked.target {
                Target::Ip(ip) => gathered.via.get(ip).map(|(_, how)| how),
                Target::Domain(_) => None,
            };
            let (reject, tag) = listing_texts(checked, report, how);
            findings.rejections.push(reject);
            findings.tags.push(tag);
        }
    }
    if let (Some(rdns), Some(ip)) = (gathered.fcrdns, facts.client) {
        note_fcrdns(&mut evaluation, &mut findings, rdns, ip);
    }
    if policy.unchecked_is_suspicious && !facts.unchecked.is_empty() {
        let why = one_line(&joined(&facts.unchecked, "; "), MAX_REASON);
        findings.rejections.push(format!(
            "Service unavailable; message not fully checked: {why}"
        ));
        findings
            .tags
            .push(format!("message not fully checked: {why}"));
    }
    evaluation.verdict = verdict(policy, keyed_zones, findings, unreadable);
    evaluation
}

/// Notes the client's FCrDNS: confirmed, trouble, or a reason to reject.
fn note_fcrdns(
    evaluation: &mut Evaluation,
    findings: &mut Findings,
    rdns: Option<ReverseDns>,
    ip: IpAddr,
) {
    match rdns {
        Some(ReverseDns::Confirmed(_)) => evaluation.fcrdns = Some(FcrdnsStatus::Confirmed),
        Some(ReverseDns::Failed(error)) => {
            evaluation.fcrdns = Some(FcrdnsStatus::Failed);
            evaluation.trouble.push(Trouble::Fcrdns(error));
            findings.trouble = true;
        }
        None => {
            evaluation.fcrdns = Some(FcrdnsStatus::Failed);
            evaluation.trouble.push(Trouble::FcrdnsDeadline);
            findings.trouble = true;
        }
        Some(other) => {
            evaluation.fcrdns = Some(FcrdnsStatus::from(&other));
            findings.rejections.push(format!(
                "Service unavailable; client [{ip}] has no forward-confirmed reverse DNS: {}",
                one_line(&other.to_string(), MAX_REASON)
            ));
            findings
                .tags
                .push(format!("{ip} has no forward-confirmed reverse DNS"));
        }
    }
}

/// The verdict: tag (in tag mode) or reject for what was found, else tempfail when failing
/// closed on trouble, else accept.
fn verdict(
    policy: &SessionPolicy,
    keyed_zones: &KeyedZones,
    findings: Findings,
    unreadable: bool,
) -> Verdict {
    if policy.tag_only && !findings.tags.is_empty() {
        Verdict::Tag(shown(keyed_zones, &findings.tags.join("; ")))
    } else if let Some(first) = findings.rejections.into_iter().next() {
        Verdict::Reject(shown(keyed_zones, &first))
    } else if unreadable && policy.fail_closed {
        Verdict::Tempfail(UNREADABLE_CLIENT_TEXT.into())
    } else if findings.trouble && policy.fail_closed {
        Verdict::Tempfail(TEMPFAIL_TEXT.into())
    } else {
        Verdict::Accept
    }
}

/// A text as shown to a client: one clean line, DQS keys scrubbed (a last line of defence:
/// texts are built from public zone names).
fn shown(keyed_zones: &KeyedZones, text: &str) -> String {
    keyed_zones.redact(&one_line(text, MAX_TEXT)).into_owned()
}

/// Notes a report's listings and trouble.
fn note_results(evaluation: &mut Evaluation, report: &Report) {
    for (result, listing) in report.listings() {
        evaluation.listed.push(Listed {
            target: report.target.clone(),
            zone: result.zone.clone(),
            listing: listing.clone(),
        });
    }
    for result in report.results.iter().filter(|r| r.outcome.is_trouble()) {
        evaluation.trouble.push(Trouble::Lookup {
            target: report.target.clone(),
            zone: result.zone.clone(),
            outcome: result.outcome.clone(),
        });
    }
}

/// The reject text and the tag text for a listed target. Lists are named by their public
/// zone, those that count towards the verdict first; the reason is the first list's.
fn listing_texts(
    checked: &Checked,
    report: &Report,
    how: Option<&DomainLookup>,
) -> (String, String) {
    // An address behind a domain is named with the domain that led to it.
    let (described, subject) = match how {
        Some(how) => {
            let text = format!("{how} [{}]", report.target);
            (text.clone(), text)
        }
        None => (checked.to_string(), checked.subject()),
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
