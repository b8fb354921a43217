//! Reading a message (RFC 5322 with MIME): the relays in its Received headers, and the
//! domains and addresses of the URLs and e-mail addresses in its text and HTML parts.
//!
//! MIME structure, transfer encodings (base64, quoted-printable) and charsets are the job of
//! `mail-parser`; what is read out of the headers and text is written here, because it is
//! about what blocklists are asked (which hops, which domains), not about parsing.

mod hosts;
mod received;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::mail::policy::{Hop, SessionFacts, is_local};
use crate::target::{DomainName, unmap_ipv4};

/// The most distinct domains (and, apart, the most URL addresses) taken from one message
/// unless a reader says otherwise. High enough that decoys cannot hide a listed domain behind
/// them cheaply: a domain's query costs one round trip the first time and nothing while it is
/// cached, and every domain of a message is asked at once.
pub const DEFAULT_MAX_DOMAINS: usize = 200;
/// How long reading one message may take unless a reader says otherwise. The reading is
/// linear in the message's size (well under this for the largest message a milter reads);
/// the budget is a last bound, after which what was read is used and the reading is marked
/// [cut](MessageReading::cut).
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(2);
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

/// What a message gives the lists to check: the part of [`SessionFacts`] a message fills
/// in ([`SessionFacts::message`]).
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::MessageReader;
///
/// let message = b"Received: from relay.example.net (relay.example.net [198.51.100.7])\r\n\
///     \tby mx.example.org (Postfix) with ESMTP id 1; Mon, 1 Jan 2024 00:00:00 +0000\r\n\
///     Subject: hi\r\n\r\nSee https://www.spam.example.co.uk/offer\r\n";
/// let targets = MessageReader::default().read(message, None).targets;
/// assert_eq!(targets.hops[0].addr, "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
/// assert_eq!(targets.domains[0].as_str(), "example.co.uk");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageTargets {
    /// The untrusted Received hops, newest first, checked on the IP lists.
    pub hops: Vec<Hop>,
    /// Distinct registrable domains of URLs and e-mail addresses, at most the cap, checked
    /// on the domain lists: first those of links (`href` values, and URLs in plain text or
    /// in an HTML part's text), in order of appearance, then the others (e-mail addresses,
    /// URLs in other HTML attributes), so that decoys of one kind cannot push out a link.
    pub domains: Vec<DomainName>,
    /// Every distinct host name seen under [`domains`](Self::domains)
    /// (`abused.legit.example`), grouped by domain in the same order, each domain's hosts in
    /// order of appearance (`www.shop.example.co.uk` and `shop.example.co.uk` for
    /// `example.co.uk`), lowercase, at most 255 bytes each, at most the cap in all: checked on
    /// the domain lists that take host names ([`QueryForm::Host`](crate::list::QueryForm::Host):
    /// Spamhaus DBL and ZRD); the lists that take registrable domains are asked those
    /// instead.
    pub hosts: Vec<String>,
    /// Distinct IP addresses of URLs with address literals (not local ones), at most the
    /// cap, checked on the IP lists.
    pub addresses: Vec<IpAddr>,
    /// Distinct e-mail addresses of the From, Reply-To and Sender headers, then of the text
    /// and HTML parts, lowercase, at most the cap: checked on the hashed lists
    /// ([`crate::hash`], Spamhaus HBL) by hash, so that reports and texts name the hash,
    /// never the address.
    pub emails: Vec<String>,
}

impl MessageTargets {
    /// Whether there is nothing to check.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::MessageTargets;
    ///
    /// assert!(MessageTargets::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
            && self.domains.is_empty()
            && self.hosts.is_empty()
            && self.addresses.is_empty()
            && self.emails.is_empty()
    }
}

/// What a [`MessageReader`] made of a message: its targets, and whether all of it was read.
/// Whether it was capped or cut is for the caller to name in [`SessionFacts::unchecked`],
/// in its own words.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::MessageReader;
///
/// let reading = MessageReader::default().read(b"Subject: hi\r\n\r\nhttps://spam.example/\r\n", None);
/// assert_eq!(reading.targets.domains[0].as_str(), "spam.example");
/// assert!(!reading.capped && !reading.cut);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageReading {
    /// What the message gives the lists to check.
    pub targets: MessageTargets,
    /// Whether more distinct domains or addresses were found than the cap let through: the
    /// rest was not checked.
    pub capped: bool,
    /// Whether the reading stopped before the end of the message (the time budget ran
    /// out): what follows was not read.
    pub cut: bool,
}

/// The facts to evaluate for a message, nothing else known.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::{MessageReader, SessionFacts};
///
/// let reading = MessageReader::default().read(b"Subject: hi\r\n\r\nhttps://spam.example/\r\n", None);
/// let facts = SessionFacts::from(reading.targets);
/// assert_eq!(facts.message.domains[0].as_str(), "spam.example");
/// assert_eq!(facts.client, None);
/// ```
impl From<MessageTargets> for SessionFacts {
    fn from(message: MessageTargets) -> Self {
        SessionFacts {
            message,
            ..SessionFacts::default()
        }
    }
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
    time_budget: Option<Duration>,
    skip: HashSet<String>,
}

impl Default for MessageReader {
    fn default() -> Self {
        MessageReader {
            trusted: Vec::new(),
            max_domains: DEFAULT_MAX_DOMAINS,
            time_budget: Some(DEFAULT_TIME_BUDGET),
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
    /// ([`DEFAULT_MAX_DOMAINS`]).
    pub fn max_domains(mut self, max: usize) -> Self {
        self.max_domains = max;
        self
    }

    /// How long reading one message may take ([`DEFAULT_TIME_BUDGET`]; `None`: no limit).
    /// Past it, the text not yet scanned is left out, and the targets say they are
    /// [cut](MessageReading::cut).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use dnsbl_check::mail::MessageReader;
    ///
    /// let message = format!("Subject: x\r\n\r\n{}", "http://a.example/ ".repeat(10_000));
    /// let reader = MessageReader::default().time_budget(Some(Duration::ZERO));
    /// assert!(reader.read(message.as_bytes(), None).cut);
    /// ```
    pub fn time_budget(mut self, budget: Option<Duration>) -> Self {
        self.time_budget = budget;
        self
    }

    /// The cap set by [`max_domains`](Self::max_domains): what a reading that reached it
    /// ([`MessageReading::capped`]) names.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::MessageReader;
    ///
    /// assert_eq!(MessageReader::default().max_domains(10).cap(), 10);
    /// ```
    pub fn cap(&self) -> usize {
        self.max_domains
    }

    /// The budget set by [`time_budget`](Self::time_budget): what a reading that ran past
    /// it ([`MessageReading::cut`]) names.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::mail::{DEFAULT_TIME_BUDGET, MessageReader};
    ///
    /// assert_eq!(MessageReader::default().budget(), Some(DEFAULT_TIME_BUDGET));
    /// assert_eq!(MessageReader::default().time_budget(None).budget(), None);
    /// ```
    pub fn budget(&self) -> Option<Duration> {
        self.time_budget
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
    ///
    /// The work is linear in the message's length (hosts are at most 255 bytes, and no text
    /// is scanned twice over), memory is bounded by the cap, and the time by the budget.
    /// It is CPU work: an async server should run it off its worker threads
    /// (`tokio::task::spawn_blocking`), so that one message never delays another's verdict.
    pub fn read(&self, message: &[u8], client: Option<IpAddr>) -> MessageReading {
        let started = Instant::now();
        let Some(parsed) = mail_parser::MessageParser::default().parse(message) else {
            return MessageReading::default();
        };
        let received: Vec<String> = parsed
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("received"))
            .map(|(_, value)| value.to_owned())
            .collect();
        let hops = self.untrusted_hops(received.iter().map(String::as_str), client);
        let deadline = self.time_budget.map(|budget| started + budget);
        let mut found = Found::new(self, deadline);
        let senders = [parsed.from(), parsed.reply_to(), parsed.sender()];
        for address in senders
            .into_iter()
            .flatten()
            .flat_map(|address| address.iter())
        {
            if let Some(email) = address.address() {
                found.note_email(email);
            }
        }
        for part in &parsed.parts {
            if found.cut || found.out_of_time() {
                break;
            }
            if let Some(text) = part.text_contents() {
                find_hosts(text, part.is_text_html(), &mut found);
            }
        }
        found.into_reading(hops)
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

pub use hosts::registrable_domain;
use hosts::*;
pub use received::received_from;

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

    /// Each item as text.
    fn texts<T: ToString>(items: &[T]) -> Vec<String> {
        items.iter().map(ToString::to_string).collect()
    }

    fn read(message: &str) -> (Vec<String>, Vec<String>, bool) {
        let reading = MessageReader::default()
            .max_domains(5)
            .read(message.as_bytes(), None);
        let targets = &reading.targets;
        (
            texts(&targets.domains),
            texts(&targets.addresses),
            reading.capped,
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
                vec!["example.com", "example.co.uk", "someone.github.io", "example.net"],
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
        let body: String = (1..=250)
            .map(|i| format!("http://192.0.{}.{}/ ", i / 200, i % 200 + 1))
            .collect();
        let reading =
            MessageReader::default().read(format!("Subject: x\r\n\r\n{body}").as_bytes(), None);
        assert_eq!(reading.targets.addresses.len(), DEFAULT_MAX_DOMAINS);
        assert!(reading.capped);
    }

    #[test]
    fn e_mail_addresses_of_headers_and_text() {
        let message = b"From: \"A\" <Boss@Example.org>\r\nReply-To: Desk+x@example.net\r\n\
            Sender: boss@example.org\r\nSubject: x\r\n\r\nmailto:pay.me@fraud.example \
            or x.@y @lone a@nodot, see PAY.ME@fraud.example\r\n";
        let reading = MessageReader::default().read(message, None);
        assert_eq!(
            reading.targets.emails,
            [
                "boss@example.org",
                "desk+x@example.net",
                "pay.me@fraud.example"
            ]
        );
        // A local part longer than 64 bytes is not an address.
        assert_eq!(local_part(&"a".repeat(65)), "");
        assert_eq!(local_part(&format!("x {}", "a".repeat(64))).len(), 64);
        assert_eq!(local_part("mailto:j.doe"), "j.doe");
        let capped = MessageReader::default().max_domains(2).read(message, None);
        assert_eq!(capped.targets.emails.len(), 2);
        assert!(capped.capped);
    }

    #[test]
    fn every_distinct_host_is_kept_up_to_the_cap() {
        let message = b"Subject: x\r\n\r\nhttps://abused.legit.example/login \
            https://WWW.legit.example/ https://abused.legit.example/again \
            mailto:someone@mail.other.example https://legit.example/ https://other.example/\r\n";
        let reading = MessageReader::default().read(message, None);
        let domains = texts(&reading.targets.domains);
        assert_eq!(domains, ["legit.example", "other.example"]);
        assert_eq!(
            reading.targets.hosts,
            [
                "abused.legit.example",
                "www.legit.example",
                "mail.other.example"
            ]
        );
        assert!(!reading.capped);
        // More distinct hosts than the cap: the rest is not checked, and that is said.
        let reading = MessageReader::default().max_domains(2).read(message, None);
        assert_eq!(reading.targets.hosts.len(), 2);
        assert!(reading.capped);
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
            let reader = MessageReader::default().max_domains(3);
            let reading = reader.read(&message, None);
            proptest::prop_assert!(reading.targets.domains.len() <= 3 && reading.targets.addresses.len() <= 3);
            proptest::prop_assert!(reading.targets.hosts.len() <= 3);
            for html in [false, true] {
                let mut found = Found::new(&reader, None);
                find_hosts(&text, html, &mut found);
                proptest::prop_assert!(found.work <= WORK_PER_BYTE * text.len() + 16);
            }
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

    /// Bytes looked at per byte of text, at most, whatever the text.
    const WORK_PER_BYTE: usize = 8;

    /// The work of finding the hosts in `text`.
    fn work(text: &str, html: bool) -> usize {
        let reader = MessageReader::default();
        let mut found = Found::new(&reader, None);
        find_hosts(text, html, &mut found);
        found.work
    }

    #[test]
    fn host_finding_is_linear_in_the_text() {
        // Texts that made an earlier scan quadratic (every `www.` scanned to the next
        // delimiter), and others built to make a scan look far ahead again and again.
        let long_host = format!("www.{}", "a".repeat(300));
        let patterns: [&str; 10] = [
            "www.a,",
            "http://a",
            "https://a@",
            "http://[",
            "@aaaaaaaa",
            "a@b.",
            "<a href=\"http://x.example,",
            "www.\u{e9}",
            "ftp://www.",
            &long_host,
        ];
        for pattern in patterns {
            for html in [false, true] {
                let n = 64 * 1024 / pattern.len();
                let small = work(&pattern.repeat(n), html);
                let large = work(&pattern.repeat(2 * n), html);
                let bytes = pattern.len() * 2 * n;
                assert!(
                    large <= WORK_PER_BYTE * bytes,
                    "{pattern:?}: {large} steps for {bytes} bytes"
                );
                // Doubling the text at most about doubles the work.
                assert!(
                    large <= small * 2 + small / 10 + 64,
                    "{pattern:?}: {small} steps, then {large} for twice the text"
                );
            }
        }
    }

    #[test]
    fn hosts_are_at_most_255_bytes() {
        let name = format!("{}.example", "a".repeat(240));
        let host = |text: &str| {
            let url = format!("{text}/x");
            Spans::default()
                .url_host(&url, 0, &mut 0)
                .map(str::to_owned)
        };
        assert_eq!(host(&name), Some(name.clone()));
        assert_eq!(host(&"a".repeat(256)), None);
        assert_eq!(host(&"a".repeat(255)).map(|h| h.len()), Some(255));
        let url = format!("u@{name}:80/");
        assert_eq!(
            Spans::default().url_host(&url, 0, &mut 0),
            Some(name.as_str())
        );
        let (domains, _, _) = read(&format!(
            "Subject: x\r\n\r\nhttp://{}.example/ http://ok.example/\r\n",
            "b".repeat(300)
        ));
        assert_eq!(domains, ["ok.example"]);
    }

    #[test]
    fn links_come_before_other_domains() {
        // Five addresses and an image before the link; a cap of five keeps the link.
        let addresses: String = (0..5).map(|i| format!("user@mail{i}.example ")).collect();
        let html = format!(
            "<p>{addresses}<img src=\"http://img.example/p.png\"> \
             <a href=\"https://www.spam.example/x\">http://visible.example/</a></p>"
        );
        let message = format!("Subject: x\r\nContent-Type: text/html\r\n\r\n{html}\r\n");
        let reading = MessageReader::default()
            .max_domains(5)
            .read(message.as_bytes(), None);
        let domains = texts(&reading.targets.domains);
        assert_eq!(
            domains,
            [
                "spam.example",
                "visible.example",
                "mail0.example",
                "mail1.example",
                "mail2.example"
            ]
        );
        assert_eq!(reading.targets.hosts, ["www.spam.example"]);
        assert!(reading.capped);
        // Nothing capped when everything fits.
        let reading = MessageReader::default().read(message.as_bytes(), None);
        assert_eq!(reading.targets.domains.len(), 8);
        assert_eq!(reading.targets.domains[7].as_str(), "img.example");
        assert!(!reading.capped && !reading.cut);
    }

    #[test]
    fn a_spent_budget_cuts_the_reading() {
        let body = "http://a.example/ ".repeat(5_000);
        let message = format!("Subject: x\r\n\r\n{body}http://late.example/\r\n");
        let cut = MessageReader::default()
            .time_budget(Some(Duration::ZERO))
            .read(message.as_bytes(), None);
        assert!(cut.cut);
        assert!(
            !cut.targets
                .domains
                .iter()
                .any(|d| d.as_str() == "late.example")
        );
        let whole = MessageReader::default().read(message.as_bytes(), None);
        assert!(!whole.cut);
        assert_eq!(whole.targets.domains.len(), 2);
    }
}
