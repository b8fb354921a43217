//! The hosts of a message's text: URLs, `mailto:` and bare e-mail addresses, found in
//! linear time, and their registrable domains.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Instant;

use super::received::address_token;
use super::{MessageReader, MessageReading, MessageTargets};
use crate::mail::{Hop, is_local};
use crate::target::{DomainName, unmap_ipv4};

/// The longest host name taken from a URL or an e-mail address: a DNS name is at most 255
/// octets (RFC 1035 §2.3.4); a longer run of host characters is no name.
pub(super) const MAX_HOST: usize = 255;
/// How many bytes of text are scanned between two looks at the clock.
pub(super) const CLOCK_EVERY: usize = 16 * 1024;

/// Where a host was found, for choosing which to check when there are too many.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Place {
    /// An `href` value, or a URL in plain text or in an HTML part's text: what a reader
    /// clicks.
    Link,
    /// Anything else: e-mail addresses, and URLs in other HTML attributes (`src`, ...).
    Other,
}

/// Distinct items found in text, in order of appearance, at most `max` kept (the rest is
/// only counted as "more").
pub(super) struct Distinct<T> {
    items: Vec<T>,
    seen: HashSet<T>,
    max: usize,
    more: bool,
}

impl<T: Clone + Eq + std::hash::Hash> Distinct<T> {
    pub(super) fn new(max: usize) -> Self {
        Distinct {
            items: Vec::new(),
            seen: HashSet::new(),
            max,
            more: false,
        }
    }

    /// Notes `item`; `true` if it is new and was kept.
    pub(super) fn note(&mut self, item: &T) -> bool {
        if self.seen.contains(item) {
            return false;
        }
        if self.items.len() == self.max {
            self.more = true;
            return false;
        }
        self.seen.insert(item.clone());
        self.items.push(item.clone());
        true
    }
}

/// Hosts found in text: distinct registrable domains (links and others apart), each with
/// the distinct host names seen under it, and distinct URL addresses; every set bounded by the
/// reader's cap, so that memory stays bounded whatever the message.
pub(super) struct Found<'r> {
    reader: &'r MessageReader,
    links: Distinct<DomainName>,
    others: Distinct<DomainName>,
    hosts: std::collections::HashMap<DomainName, Vec<String>>,
    /// Distinct e-mail addresses, lowercase.
    emails: Distinct<String>,
    /// Every distinct host name kept in `hosts`, at most the cap.
    host_names: Distinct<String>,
    addresses: Distinct<IpAddr>,
    /// The reading stops at this instant (the time budget).
    deadline: Option<Instant>,
    /// The budget ran out before the end of the text.
    pub(super) cut: bool,
    /// Bytes looked at, counting every rescan: the work of the extraction, which stays
    /// linear in the text's length.
    pub(super) work: usize,
}

impl<'r> Found<'r> {
    pub(super) fn new(reader: &'r MessageReader, deadline: Option<Instant>) -> Self {
        let max = reader.max_domains;
        Found {
            reader,
            links: Distinct::new(max),
            others: Distinct::new(max),
            hosts: std::collections::HashMap::new(),
            host_names: Distinct::new(max),
            emails: Distinct::new(max),
            addresses: Distinct::new(max),
            deadline,
            cut: false,
            work: 0,
        }
    }

    /// Notes the host of a URL or address, found at `place`.
    pub(super) fn note_host(&mut self, host: Option<&str>, place: Place) {
        let Some(host) = host.filter(|host| !host.is_empty()) else {
            return;
        };
        self.work += host.len();
        if let Some(addr) = address_token(host) {
            let addr = unmap_ipv4(addr);
            if !is_local(addr) {
                self.addresses.note(&addr);
            }
            return;
        }
        let Some(domain) = registrable_domain(host) else {
            return;
        };
        if self.reader.skip.contains(domain.as_str()) {
            return;
        }
        let kept = match place {
            Place::Link => self.links.note(&domain),
            Place::Other => self.others.note(&domain),
        };
        let known = kept || self.links.seen.contains(&domain) || self.others.seen.contains(&domain);
        // The registrable domain itself is asked anyway; only names under it are noted, in
        // their ASCII form.
        let name = DomainName::new(host.trim_end_matches('.')).ok();
        if let Some(name) = name.filter(|name| known && *name != domain) {
            let host = name.to_string();
            if self.host_names.note(&host) {
                self.hosts.entry(domain).or_default().push(host);
            }
        }
    }

    /// Notes an e-mail address (of a header, or `local` and `host` of the text), lowercase.
    pub(super) fn note_email(&mut self, email: &str) {
        let email = email.trim();
        let Some((local, host)) = email.rsplit_once('@') else {
            return;
        };
        if local.is_empty() || local.len() > MAX_LOCAL || host.is_empty() || host.len() > MAX_HOST {
            return;
        }
        self.emails.note(&email.to_lowercase());
    }

    /// Whether the time budget has run out (looked at only every [`CLOCK_EVERY`] bytes).
    pub(super) fn out_of_time(&mut self) -> bool {
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            self.cut = true;
        }
        self.cut
    }

    /// The reading of a message with these untrusted `hops`: the domains to check, links
    /// first, then the others, at most the cap; whether more were found than that; whether
    /// the reading was cut.
    pub(super) fn into_reading(self, hops: Vec<Hop>) -> MessageReading {
        let max = self.reader.max_domains;
        let Found {
            links,
            others,
            mut hosts,
            host_names,
            addresses,
            emails,
            cut,
            ..
        } = self;
        let mut capped =
            links.more || others.more || addresses.more || host_names.more || emails.more;
        let mut targets = MessageTargets {
            hops,
            ..MessageTargets::default()
        };
        for domain in links
            .items
            .into_iter()
            .chain(others.items.into_iter().filter(|d| !links.seen.contains(d)))
        {
            if targets.domains.len() == max {
                capped = true;
                break;
            }
            targets
                .hosts
                .extend(hosts.remove(&domain).unwrap_or_default());
            targets.domains.push(domain);
        }
        targets.addresses = addresses.items;
        targets.emails = emails.items;
        MessageReading {
            targets,
            capped,
            cut,
        }
    }
}

/// Finds URLs (`http://`, `https://`, `ftp://`, `www.`), `mailto:` and bare e-mail addresses
/// in `text` (plain or HTML: `href` values are URLs like any other), and notes each host's
/// registrable domain, or its address for address literals.
///
/// Linear in the length of `text`: every byte is stepped over once, the end of a URL's
/// authority is found once for all the URLs that share it, and a host is at most
/// [`MAX_HOST`] bytes long.
pub(super) fn find_hosts(text: &str, html: bool, found: &mut Found<'_>) {
    // HTML writes `&` in URLs as `&amp;`; the host ends before either.
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut spans = Spans::default();
    // Hosts already noted (a bounded number): a host repeated all over a message is
    // reduced to its domain once.
    let mut noted = Noted::default();
    let mut in_tag = false;
    let mut at = 0;
    let mut next_clock = CLOCK_EVERY;
    while at < bytes.len() {
        if at >= next_clock {
            next_clock = at + CLOCK_EVERY;
            if found.out_of_time() {
                break;
            }
        }
        // Only these bytes can begin what is looked for; all others (and the inner bytes of
        // non-ASCII characters) are stepped over.
        let byte = bytes[at];
        if !matches!(byte, b'h' | b'f' | b'w' | b'@' | b'<' | b'>') {
            at += 1;
            found.work += 1;
            continue;
        }
        let rest = &lower[at..];
        let link = || {
            if !html || !in_tag || after_href(&lower[..at]) {
                Place::Link
            } else {
                Place::Other
            }
        };
        let scheme = match byte {
            b'h' if rest.starts_with("http://") => 7,
            b'h' if rest.starts_with("https://") => 8,
            b'f' if rest.starts_with("ftp://") => 6,
            _ => 0,
        };
        let skip = if scheme > 0 {
            let host = spans.url_host(&lower, at + scheme, &mut found.work);
            noted.note(found, host, link());
            scheme
        } else if byte == b'w'
            && rest.starts_with("www.")
            && (at == 0 || !is_host_byte(bytes[at - 1]))
        {
            let host = spans.url_host(&lower, at, &mut found.work);
            noted.note(found, host, link());
            4
        } else {
            match byte {
                // An e-mail address (mailto: or bare): the domain after the @.
                b'@' => {
                    let host = short_host(spans.host_chars(&lower, at + 1, &mut found.work));
                    noted.note(found, host, Place::Other);
                    // The local part, read backwards: it stops at the previous `@` (not a
                    // local-part byte), so all these reads together cover the text once.
                    let local = local_part(&lower[..at]);
                    if let Some(host) = host.filter(|host| !local.is_empty() && host.contains('.'))
                    {
                        found.note_email(&format!("{local}@{}", host.trim_end_matches('.')));
                    }
                }
                b'<' if html => in_tag = true,
                b'>' if html => in_tag = false,
                _ => {}
            }
            1
        };
        at += skip;
        found.work += skip;
    }
}

/// The longest local part of an e-mail address (RFC 5321).
pub(super) const MAX_LOCAL: usize = 64;

/// The local part of an e-mail address that ends `before`: the dot-atom bytes just before
/// the `@`, at most [`MAX_LOCAL`] of them (none when longer: not an address).
pub(super) fn local_part(before: &str) -> &str {
    let bytes = before.as_bytes();
    let is_local = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b);
    let mut start = bytes.len();
    while start > 0 && is_local(bytes[start - 1]) {
        start -= 1;
        if bytes.len() - start > MAX_LOCAL {
            return "";
        }
    }
    // `mailto:` and dots at the edges are no part of it.
    before[start..]
        .trim_start_matches('.')
        .trim_end_matches('.')
}

/// The most distinct hosts remembered per text, to skip repeats.
pub(super) const MAX_NOTED: usize = 4096;

/// Hosts already noted in one text: the last one, and a bounded number of others.
#[derive(Default)]
pub(super) struct Noted<'t> {
    last: Option<(&'t str, Place)>,
    all: HashSet<(&'t str, Place)>,
}

impl<'t> Noted<'t> {
    /// Notes `host` unless it was noted before at the same kind of place.
    pub(super) fn note(&mut self, found: &mut Found<'_>, host: Option<&'t str>, place: Place) {
        let Some(host) = host else {
            return;
        };
        let key = (host, place);
        if self.last == Some(key) || self.all.contains(&key) {
            return;
        }
        self.last = Some(key);
        if self.all.len() < MAX_NOTED {
            self.all.insert(key);
        }
        found.note_host(Some(host), place);
    }
}

/// Whether the text before a URL ends with an `href=` (quoted or not).
pub(super) fn after_href(before: &str) -> bool {
    // Only the last few bytes matter: the attribute name, `=`, spaces and a quote.
    let mut start = before.len().saturating_sub(32);
    while !before.is_char_boundary(start) {
        start += 1;
    }
    let tail = before[start..]
        .trim_end_matches(['"', '\''])
        .trim_end()
        .strip_suffix('=')
        .map(str::trim_end);
    tail.is_some_and(|tail| tail.ends_with("href"))
}

/// Where the spans a host may take end, found once and shared: the scan stays linear
/// however many URLs and addresses start inside one span (`www.a,www.a,...` is one
/// authority; `www.aaaa...` one run of host characters).
#[derive(Default)]
pub(super) struct Spans {
    /// The authority last found (user info, host, port: up to the next white space or one
    /// of `/?#"'<>\`): where it was asked for, its end, and its last `@`.
    authority: (usize, usize, Option<usize>),
    /// The run of host characters last found: where it was asked for, and its end.
    run: (usize, usize),
}

impl Spans {
    /// The host of the URL whose authority starts at `start` in `lower` (after its scheme):
    /// without user info, port, path, query or fragment.
    pub(super) fn url_host<'t>(
        &mut self,
        lower: &'t str,
        start: usize,
        work: &mut usize,
    ) -> Option<&'t str> {
        let (from, end, _) = self.authority;
        if !(from..end).contains(&start) {
            let mut span = (start, lower.len(), None);
            for (offset, c) in lower[start..].char_indices() {
                *work += 1;
                if c.is_whitespace() || "/?#\"'<>\\".contains(c) {
                    span.1 = start + offset;
                    break;
                }
                if c == '@' {
                    span.2 = Some(start + offset);
                }
            }
            self.authority = span;
        }
        let (_, end, last_at) = self.authority;
        // The user info ends at the last @ of the authority, if it is inside this URL's.
        let host_start = match last_at {
            Some(at) if at >= start => at + 1,
            _ => start,
        };
        if lower[host_start..end].starts_with('[') {
            // An address literal: up to its `]`, within the longest literal there is.
            let window_end = floor_char_boundary(lower, (host_start + 64).min(end));
            let window = &lower[host_start..window_end];
            *work += window.len();
            return window.split_inclusive(']').next();
        }
        let host = self.host_chars(lower, host_start, work);
        short_host(&host[..host.len().min(end - host_start)])
    }

    /// The longest run that can be a host name at `start` (letters, digits, `-`, `.`, `_`,
    /// and any non-ASCII for internationalised names).
    pub(super) fn host_chars<'t>(
        &mut self,
        lower: &'t str,
        start: usize,
        work: &mut usize,
    ) -> &'t str {
        let (from, end) = self.run;
        if !(from..end).contains(&start) {
            let mut run_end = lower.len();
            for (offset, c) in lower[start..].char_indices() {
                if start + offset == from && from < end {
                    // The run found before: this one ends where that one does.
                    run_end = end;
                    break;
                }
                *work += 1;
                if c.is_ascii() && !is_host_byte(c as u8) {
                    run_end = start + offset;
                    break;
                }
            }
            self.run = (start, run_end);
        }
        &lower[start..self.run.1]
    }
}

/// `host`, unless it is longer than [`MAX_HOST`].
pub(super) fn short_host(host: &str) -> Option<&str> {
    (host.len() <= MAX_HOST).then_some(host)
}

/// The largest char boundary of `text` at or below `at`.
pub(super) fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

pub(super) fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')
}

/// The registrable domain of a host name (one label under its public suffix, by the
/// compiled-in public suffix list, private suffixes such as `github.io` included), in ASCII
/// form; `None` for a public suffix itself, a single label, or something not a name.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::registrable_domain;
///
/// let domain = |host| registrable_domain(host).map(|d| d.to_string());
/// assert_eq!(domain("www.example.co.uk").as_deref(), Some("example.co.uk"));
/// assert_eq!(domain("user.github.io").as_deref(), Some("user.github.io"));
/// assert_eq!(domain("Bücher.example.DE.").as_deref(), Some("example.de"));
/// assert_eq!(domain("co.uk"), None);
/// ```
pub fn registrable_domain(host: &str) -> Option<DomainName> {
    crate::list::registrable_domain(host)
}
