//! The pieces of SPF's syntax (RFC 7208 §4.6, §5, §7): terms, modifiers, CIDR lengths,
//! macros and networks.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::target::DomainName;

/// Every address of `network`, network and broadcast addresses included.
pub(super) fn every_address(network: &IpNet) -> ipnet::IpAddrRange {
    match network {
        IpNet::V4(net) => ipnet::Ipv4AddrRange::new(net.network(), net.broadcast()).into(),
        IpNet::V6(net) => ipnet::Ipv6AddrRange::new(net.network(), net.broadcast()).into(),
    }
}

/// `name=value`, when the `=` comes before any `:` or `/`.
pub(super) fn modifier(term: &str) -> Option<(&str, &str)> {
    let equals = term.find('=')?;
    match term.find([':', '/']) {
        Some(other) if other < equals => None,
        _ => Some((&term[..equals], &term[equals + 1..])),
    }
}

/// Whether a TXT record is an SPF version 1 record: `v=spf1` alone or followed by a space.
pub(super) fn is_spf1(record: &str) -> bool {
    let Some(head) = record.get(..6) else {
        return false;
    };
    head.eq_ignore_ascii_case("v=spf1") && record[6..].chars().next().is_none_or(|c| c == ' ')
}

/// `ip4:ADDR[/LEN]` or `ip6:ADDR[/LEN]` (the part from the colon), as a network.
pub(super) fn ip_network(family: &str, argument: &str) -> Option<IpNet> {
    let text = argument.strip_prefix(':')?;
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(cidr_length(len)?)),
        None => (text, None),
    };
    let addr: IpAddr = match family {
        "ip4" => IpAddr::V4(addr.parse().ok()?),
        _ => IpAddr::V6(addr.parse().ok()?),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    Some(IpNet::new(addr, len).ok()?.trunc())
}

/// A CIDR length: one to three digits, no leading zero (RFC 7208 §5.6).
pub(super) fn cidr_length(text: &str) -> Option<u8> {
    let digits = text.len() <= 3 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// Splits `:domain/24//64` into the domain (without its colon) and the CIDR part.
pub(super) fn split_cidr(argument: &str) -> (Option<&str>, &str) {
    let (target, cidr) = match argument.find('/') {
        Some(slash) => argument.split_at(slash),
        None => (argument, ""),
    };
    (target.strip_prefix(':'), cidr)
}

/// `/24`, `//64`, `/24//64` or nothing, as the IPv4 and IPv6 prefix lengths.
pub(super) fn dual_cidr(cidr: &str) -> Option<(u8, u8)> {
    if cidr.is_empty() {
        return Some((32, 128));
    }
    let (v4, v6) = match cidr.strip_prefix("//") {
        Some(v6) => (None, Some(v6)),
        None => {
            let rest = cidr.strip_prefix('/')?;
            match rest.split_once("//") {
                Some((v4, v6)) => (Some(v4), Some(v6)),
                None => (Some(rest), None),
            }
        }
    };
    let v4 = v4.map(cidr_length).unwrap_or(Some(32))?;
    let v6 = v6.map(cidr_length).unwrap_or(Some(128))?;
    (v4 <= 32 && v6 <= 128).then_some((v4, v6))
}

/// Expands `%{d}` (the current domain) and `%%`; `None` for any other macro.
pub(super) fn expand_macros(spec: &str, current: &DomainName) -> Option<String> {
    if !spec.contains('%') {
        return Some(spec.to_owned());
    }
    let mut out = String::with_capacity(spec.len());
    let mut rest = spec;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if rest
            .get(..4)
            .is_some_and(|m| m.eq_ignore_ascii_case("%{d}"))
        {
            out.push_str(current.as_str());
            rest = &rest[4..];
        } else {
            return None;
        }
    }
    out.push_str(rest);
    Some(out)
}

pub(super) fn qualifier_text(qualifier: Option<char>) -> String {
    qualifier.map(String::from).unwrap_or_default()
}
