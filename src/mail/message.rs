//! Reading a message (RFC 5322 with MIME): the relays in its Received headers, and the
//! domains and addresses of the URLs and e-mail addresses in its text and HTML parts.
//!
//! MIME structure, transfer encodings (base64, quoted-printable) and charsets are the job of
//! `mail-parser`; what is read out of the headers and text is written here, because it is
//! about what blocklists are asked (which hops, which domains), not about parsing.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::mail::policy::{Hop, is_local};
use crate::target::{DomainName, unmap_ipv4};

/// The most distinct domains (and, apart, the most URL addresses) taken from one message
/// unless a reader says otherwise.
pub const DEFAULT_MAX_DOMAINS: usize = 20;
/// The most untrusted Received hops taken from one message, the newest first (Postfix bounces
/// mail with more than 50 Received headers; a hostile message may carry them all).
pub const MAX_HOPS: usize = 10;

/// Domains of big senders and of common markup, found in nearly every message and never on a
/// domain list: asking about them costs queries and a cap slot for nothing.
pub const DEFAULT_SKIP_DOMAINS: &[&str] = &[
    "w3.org",
    "google.com",
    "gmail.com",
    "googleapis.com",
    "youtube.com",
    "microsoft.com",
    "outlook.com",
    "office.com",
    "live.com",
    "apple.com",
    "icloud.com",
    "yahoo.com",
    "amazon.com",
    "facebook.com",
    "instagram.com",
    "twitter.com",
    "x.com",
    "linkedin.com",
];

/// What a message gives the lists to check.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::MessageReader;
///
/// let message = b"Received: from relay.example.net (relay.example.net [198.51.100.7])\r\n\
///     \tby mx.example.org (Postfix) with ESMTP id 1; Mon, 1 Jan 2024 00:00:00 +0000\r\n\
///     Subject: hi\r\n\r\nSee https://www.spam.example.co.uk/offer\r\n";
/// let targets = MessageReader::default().read(message, None);
/// assert_eq!(targets.hops[0].addr, "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
/// assert_eq!(targets.domains[0].as_str(), "example.co.uk");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageTargets {
    /// The untrusted Received hops, newest first.
    pub hops: Vec<Hop>,
    /// Registrable domains of URLs and e-mail addresses, in order of appearance, at most the
    /// cap.
    pub domains: Vec<DomainName>,
    /// IP addresses of URLs with address literals (not local ones), at most the cap.
    pub addresses: Vec<IpAddr>,
    /// Whether more domains or addresses were found than the cap let through.
    pub capped: bool,
}

/// Reads messages: which networks are ours, how many domains to take, which to skip.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::MessageReader;
///
/// let reader = MessageReader::default()
///     .trusted_networks(["203.0.113.0/24".parse().unwrap()])
///     .max_domains(10)
///     .skip_domains(["example.org"]);
/// ```
#[derive(Debug, Clone)]
pub struct MessageReader {
    trusted: Vec<IpNet>,
    max_domains: usize,
    skip: HashSet<String>,
}

impl Default for MessageReader {
    fn default() -> Self {
        MessageReader {
            trusted: Vec::new(),
            max_domains: DEFAULT_MAX_DOMAINS,
            skip: DEFAULT_SKIP_DOMAINS
                .iter()
                .map(|d| (*d).to_owned())
                .collect(),
        }
    }
}

impl MessageReader {
    /// Our own relays: hops in these networks are trusted, and the first hop outside them is
    /// the last external one.
    pub fn trusted_networks(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted = networks.into_iter().collect();
        self
    }

    /// The most distinct domains taken from one message, and apart the most URL addresses
    /// (default 20).
    pub fn max_domains(mut self, max: usize) -> Self {
        self.max_domains = max;
        self
    }

    /// More registrable domains never to ask about (your own, big senders), on top of
    /// [`DEFAULT_SKIP_DOMAINS`].
    pub fn skip_domains<'a>(mut self, domains: impl IntoIterator<Item = &'a str>) -> Self {
        for domain in domains {
            if let Some(domain) = registrable_domain(domain) {
                self.skip.insert(domain.as_str().to_owned());
            }
        }
        self
    }

    /// Reads a whole message (headers and body, CRLF or LF line ends), received from a client
    /// at `client` (whose address is not repeated among the hops).
    pub fn read(&self, message: &[u8], client: Option<IpAddr>) -> MessageTargets {
        let Some(parsed) = mail_parser::MessageParser::default().parse(message) else {
            return MessageTargets::default();
        };
        let received: Vec<String> = parsed
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("received"))
            .map(|(_, value)| value.to_owned())
            .collect();
        let mut targets = MessageTargets {
            hops: self.untrusted_hops(received.iter().map(String::as_str), client),
            ..MessageTargets::default()
        };
        let mut found = Found::default();
        for part in &parsed.parts {
            if let Some(text) = part.text_contents() {
                find_hosts(text, &mut found);
            }
        }
        for domain in found.domains {
            if self.skip.contains(domain.as_str()) || targets.domains.contains(&domain) {
                continue;
            }
            if targets.domains.len() == self.max_domains {
                targets.capped = true;
                break;
            }
            targets.domains.push(domain);
        }
        for addr in found.addresses {
            if is_local(addr) || targets.addresses.contains(&addr) {
                continue;
            }
            if targets.addresses.len() == self.max_domains {
                targets.capped = true;
                break;
            }
            targets.addresses.push(addr);
        }
        targets
    }

    /// The untrusted hops of Received headers given newest first, for a message from
    /// `client`.
    ///
    /// The chain is the client, then the relay each header names. Trusted relays (and
    /// private, loopback and link-local ones) are walked past; the first other one is the
    /// last external hop. When the client itself is untrusted it is the last external hop,
    /// and every relay named below is untrusted. Private addresses and repeats (of the
    /// client or of each other) are left out; at most [`MAX_HOPS`] are taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::MessageReader;
    ///
    /// let reader = MessageReader::default().trusted_networks(["203.0.113.0/24".parse().unwrap()]);
    /// let received = [
    ///     "from relay.example.org (relay.example.org [203.0.113.5]) by mx.example.org",
    ///     "from sender.example.net (sender.example.net [198.51.100.7]) by relay.example.org",
    ///     "from pc.example.net (pc.example.net [192.0.2.9]) by sender.example.net",
    /// ];
    /// let hops = reader.untrusted_hops(received, Some("203.0.113.5".parse().unwrap()));
    /// assert_eq!(hops.len(), 2);
    /// assert!(hops[0].last_external && !hops[1].last_external);
    /// ```
    pub fn untrusted_hops<'a>(
        &self,
        received: impl IntoIterator<Item = &'a str>,
        client: Option<IpAddr>,
    ) -> Vec<Hop> {
        let client = client.map(unmap_ipv4);
        let chain = client.into_iter().chain(
            received
                .into_iter()
                .filter_map(received_from)
                .map(unmap_ipv4),
        );
        let mut hops: Vec<Hop> = Vec::new();
        let mut external = false;
        for addr in chain {
            let trusted = self.trusted.iter().any(|net| net.contains(&addr));
            if is_local(addr) || (trusted && !external) {
                continue;
            }
            let last_external = !external;
            external = true;
            if Some(addr) == client || hops.iter().any(|hop| hop.addr == addr) {
                continue;
            }
            hops.push(Hop::new(addr, last_external));
            if hops.len() == MAX_HOPS {
                break;
            }
        }
        hops
    }
}

/// The address of the relay a Received header says the message came from, if it names one.
///
/// The `from` clause (up to `by` outside parentheses) is searched for address tokens: the
/// first one inside parentheses (what the receiving MTA saw: Postfix, Sendmail, Exim,
/// Exchange, the big mailbox providers), else the first outside (`from [192.0.2.1]`, Exim's
/// form without a verified name). HELO arguments (`helo=...`, `HELO ...`) are never taken:
/// the client chose them.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::received_from;
///
/// let postfix = "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.net (Postfix)";
/// assert_eq!(received_from(postfix), "192.0.2.1".parse().ok());
/// let exim = "from [198.51.100.7] (helo=[203.0.113.1]) by mx.example.net with esmtp";
/// assert_eq!(received_from(exim), "198.51.100.7".parse().ok());
/// assert_eq!(received_from("by mx.example.net with SMTP id abc"), None);
/// ```
pub fn received_from(header: &str) -> Option<IpAddr> {
    let text = header.trim_start();
    let rest = text
        .get(..5)
        .filter(|start| start.eq_ignore_ascii_case("from "))
        .map(|_| &text[5..])?;
    let mut depth = 0usize;
    let mut inside = None;
    let mut outside = None;
    let mut after_helo = false;
    for token in tokens(rest) {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Word(word) => {
                if depth == 0 && word.eq_ignore_ascii_case("by") {
                    break;
                }
                let helo = after_helo
                    || word
                        .get(..5)
                        .is_some_and(|w| w.eq_ignore_ascii_case("helo="));
                after_helo = word.eq_ignore_ascii_case("helo");
                if helo {
                    continue;
                }
                if let Some(addr) = address_token(word) {
                    let slot = if depth > 0 { &mut inside } else { &mut outside };
                    slot.get_or_insert(addr);
                }
            }
        }
    }
    inside.or(outside)
}

enum Token<'a> {
    Open,
    Close,
    Word(&'a str),
}

/// Words, and parentheses as tokens of their own.
fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    text.split(|c: char| c.is_whitespace())
        .filter(|word| !word.is_empty())
        .flat_map(|word| {
            let mut out = Vec::new();
            let mut rest = word;
            while let Some(stripped) = rest.strip_prefix('(') {
                out.push(Token::Open);
                rest = stripped;
            }
            let closes = rest.len() - rest.trim_end_matches(')').len();
            let core = &rest[..rest.len() - closes];
            if !core.is_empty() {
                out.push(Token::Word(core));
            }
            out.extend((0..closes).map(|_| Token::Close));
            out
        })
}

/// An address written as `192.0.2.1`, `[192.0.2.1]`, `[IPv6:2001:db8::1]`, `[192.0.2.1]:25`,
/// with trailing punctuation allowed.
fn address_token(word: &str) -> Option<IpAddr> {
    let word = word.trim_end_matches([',', ';', '.']);
    let inner = match word.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => word,
    };
    let inner = match inner.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("ipv6:") => &inner[5..],
        _ => inner,
    };
    inner.parse().ok()
}

/// Hosts found in text, in order.
#[derive(Default)]
struct Found {
    domains: Vec<DomainName>,
    addresses: Vec<IpAddr>,
}

/// Finds URLs (`http://`, `https://`, `ftp://`, `www.`), `mailto:` and bare e-mail addresses
/// in `text` (plain or HTML: `href` values are URLs like any other), and notes each host's
/// registrable domain, or its address for address literals.
fn find_hosts(text: &str, found: &mut Found) {
    // HTML writes `&` in URLs as `&amp;`; the host ends before either.
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &lower[at..];
        let skip = if let Some(after) = ["http://", "https://", "ftp://"]
            .iter()
            .find_map(|scheme| rest.strip_prefix(scheme))
        {
            note_host(url_host(after), found);
            rest.len() - after.len()
        } else if rest.starts_with("www.") && (at == 0 || !is_host_byte(bytes[at - 1])) {
            note_host(url_host(rest), found);
            4
        } else if bytes[at] == b'@' {
            // An e-mail address (mailto: or bare): the domain after the @.
            note_host(host_chars(&rest[1..]), found);
            1
        } else {
            1
        };
        at += skip;
        while at < bytes.len() && !lower.is_char_boundary(at) {
            at += 1;
        }
    }
}

/// The host of a URL after its scheme: without user info, port, path, query or fragment.
fn url_host(after_scheme: &str) -> &str {
    let end = after_scheme
        .find(|c: char| c.is_whitespace() || "/?#\"'<>\\".contains(c))
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host_chars(host)
}

/// The longest prefix that can be a host name (letters, digits, `-`, `.`, `_`, and any
/// non-ASCII for internationalised names).
fn host_chars(text: &str) -> &str {
    let end = text
        .find(|c: char| c.is_ascii() && !is_host_byte(c as u8))
        .unwrap_or(text.len());
    &text[..end]
}

fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')
}

fn note_host(host: &str, found: &mut Found) {
    if let Some(addr) = address_token(host) {
        found.addresses.push(unmap_ipv4(addr));
    } else if let Some(domain) = registrable_domain(host) {
        found.domains.push(domain);
    }
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
    let host = host.trim_end_matches('.');
    if !host.contains('.') {
        return None;
    }
    let name = DomainName::new(host).ok()?;
    let registrable = psl::domain_str(name.as_str())?;
    DomainName::new(registrable).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn received_formats_of_many_mtas() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "postfix",
                "from mail.example.org (mail.example.org [192.0.2.1])\r\n\tby mx.example.net (Postfix) with ESMTPS id 4Xyz for <a@example.net>; Mon, 1 Jan 2024 00:00:00 +0000",
                Some("192.0.2.1"),
            ),
            (
                "postfix, unknown name",
                "from helo.example (unknown [198.51.100.20]) by mx.example.net (Postfix) with ESMTP id 1",
                Some("198.51.100.20"),
            ),
            (
                "postfix, IPv6",
                "from mail.example.org (mail.example.org [IPv6:2001:db8::25]) by mx.example.net (Postfix)",
                Some("2001:db8::25"),
            ),
            (
                "sendmail, forged HELO literal",
                "from [203.0.113.1] (host.example.org [192.0.2.33] (may be forged)) by mx.example.net (8.15.2/8.15.2) with ESMTP id x1",
                Some("192.0.2.33"),
            ),
            (
                "exim",
                "from host.example.org ([192.0.2.44] helo=[203.0.113.1]) by mx.example.net with esmtps (TLS1.3) id 1abcde-000001-AB",
                Some("192.0.2.44"),
            ),
            (
                "exim, no name, port",
                "from [192.0.2.45]:41234 (helo=friend.example) by mx.example.net with esmtp (Exim 4.96)",
                Some("192.0.2.45"),
            ),
            (
                "exim, IPv6",
                "from host.example.org ([2001:db8::46] helo=host.example.org) by mx.example.net with esmtp",
                Some("2001:db8::46"),
            ),
            (
                "exchange",
                "from EXCH01.corp.example (10.0.0.5) by EXCH02.corp.example (10.0.0.6) with Microsoft SMTP Server (version=TLS1_2) id 15.1.2507.6; Mon, 1 Jan 2024",
                Some("10.0.0.5"),
            ),
            (
                "outlook.com, IPv6",
                "from AM0PR10MB1234.EURPRD10.PROD.OUTLOOK.COM (2603:10a6:208:11a::17) by AS8PR10MB5678.EURPRD10.PROD.OUTLOOK.COM (2603:10a6:20b:2::1) with Microsoft SMTP Server",
                Some("2603:10a6:208:11a::17"),
            ),
            (
                "gmail",
                "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id abc.12.2024.01.01; Mon, 01 Jan 2024",
                Some("209.85.220.41"),
            ),
            (
                "gmail internal",
                "by 2002:a05:6a10:8c0e:b0:4b0:1a2b:3c4d with SMTP id x; Mon, 1 Jan 2024",
                None,
            ),
            (
                "qmail",
                "from unknown (HELO 203.0.113.8) (192.0.2.50) by mx.example.net with SMTP; 1 Jan 2024",
                Some("192.0.2.50"),
            ),
            (
                "yahoo, bare address",
                "from 192.0.2.51 by mta.example.com with HTTP; Mon, 01 Jan 2024",
                Some("192.0.2.51"),
            ),
            (
                "submission",
                "(from user@localhost) by host.example (8.15.2/Submit) id x",
                None,
            ),
            ("HELO only", "from helo.example by mx.example.net", None),
        ];
        for (what, header, expected) in cases {
            assert_eq!(received_from(header), expected.map(ip), "{what}");
        }
    }

    fn hops(
        reader: &MessageReader,
        received: &[&str],
        client: Option<&str>,
    ) -> Vec<(String, bool)> {
        reader
            .untrusted_hops(received.iter().copied(), client.map(ip))
            .into_iter()
            .map(|hop| (hop.addr.to_string(), hop.last_external))
            .collect()
    }

    fn from(addr: &str) -> String {
        format!("from h.example (h.example [{addr}]) by x.example")
    }

    #[test]
    fn hops_past_trusted_relays() {
        let trusted =
            MessageReader::default().trusted_networks(["203.0.113.0/24".parse().unwrap()]);
        let plain = MessageReader::default();
        let chain = [
            from("203.0.113.5"),
            from("198.51.100.7"),
            from("10.1.1.1"),
            from("192.0.2.9"),
            from("198.51.100.7"),
        ];
        let chain: Vec<&str> = chain.iter().map(String::as_str).collect();
        // Forwarded through our relay: the sender's relay is the last external hop; the
        // private hop and the repeat are left out.
        assert_eq!(
            hops(&trusted, &chain, Some("203.0.113.5")),
            [("198.51.100.7".into(), true), ("192.0.2.9".into(), false)]
        );
        // A client outside the trusted networks is itself the last external hop.
        assert_eq!(
            hops(&trusted, &chain[1..], Some("198.51.100.7")),
            [("192.0.2.9".into(), false)]
        );
        // No trusted networks: the untrusted client is the last external hop, and a relay
        // in the trusted range is just another untrusted hop.
        assert_eq!(
            hops(&plain, &chain, Some("192.0.2.200")),
            [
                ("203.0.113.5".into(), false),
                ("198.51.100.7".into(), false),
                ("192.0.2.9".into(), false)
            ]
        );
        // Delivered from a local relay (a content filter) without a known client.
        assert_eq!(
            hops(&plain, &[&from("127.0.0.1"), &from("2001:db8::7")], None),
            [("2001:db8::7".into(), true)]
        );
        assert!(hops(&trusted, &[&from("203.0.113.9")], Some("203.0.113.5")).is_empty());
    }

    fn read(message: &str) -> (Vec<String>, Vec<String>, bool) {
        let targets = MessageReader::default()
            .max_domains(5)
            .read(message.as_bytes(), None);
        (
            targets.domains.iter().map(ToString::to_string).collect(),
            targets.addresses.iter().map(ToString::to_string).collect(),
            targets.capped,
        )
    }

    #[test]
    fn domains_from_text_and_html_parts() {
        let base64_html =
            "PGEgaHJlZj0iaHR0cHM6Ly9jbGljay5zcGFtLmV4YW1wbGUuY29tL3g/YT0xJmFtcDtiPTIiPmhpPC9hPg==";
        let cases: Vec<(&str, String, Vec<&str>, Vec<&str>)> = vec![
            (
                "plain text, www, e-mail, co.uk, private suffix",
                "Subject: x\r\n\r\nGo to http://a.b.example.com/path, www.shop.example.co.uk or write to Sales@Deals.Example.NET.\r\nhttps://someone.github.io/x\r\n".into(),
                vec!["example.com", "example.co.uk", "example.net", "someone.github.io"],
                vec![],
            ),
            (
                "base64 HTML",
                format!("Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nclean text\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{base64_html}\r\n--b--\r\n"),
                vec!["example.com"],
                vec![],
            ),
            (
                "quoted-printable, soft line break in the host",
                "Subject: x\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"https://www.qp-spam.exam=\r\nple.org/\">x</a>\r\n".into(),
                vec!["example.org"],
                vec![],
            ),
            (
                "punycode and Unicode names",
                "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhttps://www.b\u{fc}cher.de/ and http://www.xn--mnchen-3ya.de/\r\n".into(),
                vec!["xn--bcher-kva.de", "xn--mnchen-3ya.de"],
                vec![],
            ),
            (
                "address literals, skipped big senders, public suffix alone",
                "Subject: x\r\n\r\nhttp://192.0.2.7/x http://[2001:db8::8]:8080/ http://10.0.0.1/ https://www.google.com/ http://co.uk/ user@[192.0.2.9]\r\n".into(),
                vec![],
                vec!["192.0.2.7", "2001:db8::8"],
            ),
        ];
        for (what, message, domains, addresses) in cases {
            let (got_domains, got_addresses, _) = read(&message);
            assert_eq!(got_domains, domains, "{what}");
            assert_eq!(got_addresses, addresses, "{what}");
        }
    }

    #[test]
    fn hops_and_addresses_are_capped() {
        let received: Vec<String> = (1..=60).map(|i| from(&format!("192.0.2.{i}"))).collect();
        let hops =
            MessageReader::default().untrusted_hops(received.iter().map(String::as_str), None);
        assert_eq!(hops.len(), MAX_HOPS);
        assert_eq!(hops[0].addr, ip("192.0.2.1"));
        let body: String = (1..=60).map(|i| format!("http://192.0.2.{i}/ ")).collect();
        let targets =
            MessageReader::default().read(format!("Subject: x\r\n\r\n{body}").as_bytes(), None);
        assert_eq!(targets.addresses.len(), DEFAULT_MAX_DOMAINS);
        assert!(targets.capped);
    }

    proptest::proptest! {
        #[test]
        fn any_message_or_header_is_read_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = received_from(&text);
            let _ = received_from(&format!("from {text}"));
            let mut message = b"Received: from ".to_vec();
            message.extend_from_slice(&bytes);
            message.extend_from_slice(b"\r\n\r\nhttp://");
            message.extend_from_slice(&bytes);
            let _ = MessageReader::default().read(&message, None);
            let mut found = Found::default();
            find_hosts(&text, &mut found);
        }
    }

    #[test]
    fn the_cap_keeps_the_first_domains() {
        let body: String = (0..8)
            .map(|i| format!("http://d{i}.example{i}.com/ "))
            .collect();
        let (domains, _, capped) = read(&format!("Subject: x\r\n\r\n{body}\r\n"));
        assert_eq!(domains.len(), 5);
        assert_eq!(domains[0], "example0.com");
        assert!(capped);
    }
}
