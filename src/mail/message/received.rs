//! The relay a Received header names.

use std::net::IpAddr;

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

pub(super) enum Token<'a> {
    Open,
    Close,
    Word(&'a str),
}

/// Words, and parentheses as tokens of their own.
pub(super) fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
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
pub(super) fn address_token(word: &str) -> Option<IpAddr> {
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
