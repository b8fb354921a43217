//! The DNS wire format, as far as list lookups need it.
//!
//! Queries are written into a fixed stack buffer and answers are read in place, without building
//! a whole message: this is the hot path of [`PooledUdpResolver`](super::PooledUdpResolver), run
//! once per query. The header is a few bit tests and the rest a few bounds-checked reads; only
//! host names in PTR, NS and MX data are read with hickory-proto's [`Name`] decoder. Unit tests
//! cross-check both directions against hickory-proto's full
//! [`Message`](hickory_proto::op::Message) codec.

use std::cell::OnceCell;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::resolver::record::{self, Record};
use crate::resolver::{Answer, LookupError, LookupErrorKind, MailExchanger, clamp_ttl};

/// The longest name in wire form (RFC 1035 §2.3.4).
pub(crate) const MAX_NAME: usize = 255;
/// The longest question: name, type and class.
pub(crate) const MAX_QUESTION: usize = MAX_NAME + 4;
/// The longest query: header, question and an EDNS OPT record.
pub(crate) const MAX_QUERY: usize = 12 + MAX_QUESTION + 11;
/// The UDP payload size advertised with EDNS: the DNS Flag Day 2020 value, which avoids IP
/// fragmentation on every common path.
pub(crate) const EDNS_PAYLOAD: u16 = 1232;

// The types a lookup asks for are `record::RecordKind`s; these are the others a response
// holds.
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;

const RCODE_NOERROR: u16 = 0;
const RCODE_NXDOMAIN: u16 = 3;

/// Writes `name`, in presentation form, in wire form at the start of `out` (at least
/// [`MAX_NAME`] octets) and returns its length. The name is absolute whether or not it ends
/// in a dot: a search domain is never appended. Escapes (`\.`, `\065`) and non-ASCII text
/// are not accepted: query names built by this crate never contain them.
fn write_name(out: &mut [u8], name: &str) -> Result<usize, LookupError> {
    let invalid = || {
        LookupError::with_detail(
            LookupErrorKind::Protocol,
            "query name is not a valid DNS name",
        )
    };
    let text = name.as_bytes();
    let text = text.strip_suffix(b".").unwrap_or(text);
    if text.is_empty() {
        out[0] = 0;
        return Ok(1); // the root
    }
    // The wire form is the text shifted by one octet, each dot replaced by the length of
    // the label after it, and the root label at the end.
    if text.len() + 2 > MAX_NAME {
        return Err(invalid());
    }
    out[1..=text.len()].copy_from_slice(text);
    let mut length_at = 0;
    for (at, &byte) in text.iter().enumerate() {
        if byte == b'.' {
            let label = at - length_at;
            if label == 0 || label > 63 {
                return Err(invalid());
            }
            out[length_at] = label as u8;
            length_at = at + 1;
        } else if !byte.is_ascii_graphic() || byte == b'\\' {
            return Err(invalid());
        }
    }
    let label = text.len() - length_at;
    if label == 0 || label > 63 {
        return Err(invalid());
    }
    out[length_at] = label as u8;
    out[text.len() + 1] = 0;
    Ok(text.len() + 2)
}

/// Gives every letter of a name in wire form the case chosen by `random` (0x20 encoding,
/// draft vixie-dnsext-dns0x20): one random bit per letter, which an off-path attacker must
/// guess along with the query ID and port.
///
/// Octet `i` of the name takes bit `i % 64` of the `i / 64`th draw (set: upper case); octets
/// that are not letters leave theirs unused. Eight octets are done at a time with word
/// arithmetic, without a branch on any octet or random bit: a branch per octet, on whether it
/// is a letter, cost several times as much, since digits and letters alternate unpredictably.
fn randomize_case(name: &mut [u8], mut random: impl FnMut() -> u64) {
    let mut bits = 0;
    let (chunks, tail) = name.as_chunks_mut::<8>();
    for (index, chunk) in chunks.iter_mut().enumerate() {
        if index % 8 == 0 {
            bits = random();
        }
        *chunk = case_octets(*chunk, bits as u8);
        bits >>= 8;
    }
    if !tail.is_empty() {
        // After eight chunks, a draw's bits are used up.
        if chunks.len() % 8 == 0 {
            bits = random();
        }
        let mut word = [0u8; 8];
        for (to, from) in word.iter_mut().zip(tail.iter()) {
            *to = *from;
        }
        for (to, from) in tail.iter_mut().zip(case_octets(word, bits as u8)) {
            *to = from;
        }
    }
}

/// Eight octets of a name with the case of their letters set by `bits` (bit `i` for octet
/// `i`): lower case, then 0x20 cleared (upper case) where the bit is set.
fn case_octets(octets: [u8; 8], bits: u8) -> [u8; 8] {
    let word = u64::from_le_bytes(octets);
    let letters = letters_0x20(word);
    ((word | letters) ^ (bits_to_0x20(bits) & letters)).to_le_bytes()
}

/// Every octet of `word` that is an ASCII letter as 0x20, every other as 0.
///
/// Each octet, lower-cased and cut to seven bits, is at most 0x7F, so adding 0x1F or 0x05 to
/// it never carries into the next: the sum's top bit says whether it is at least `a` (0x61),
/// or past `z` (0x7B). Octets of 0x80 and more are no letters. Length octets (at most 63) are
/// never letters either.
fn letters_0x20(word: u64) -> u64 {
    let lower = (word | CASE_BITS) & LOW_SEVEN_BITS;
    let from_a = lower + (0x1F * EACH_OCTET);
    let past_z = lower + (0x05 * EACH_OCTET);
    (from_a & !past_z & !word & TOP_BITS) >> 2
}

/// Bit `i` of `bits` as 0x20 in octet `i` (little-endian).
fn bits_to_0x20(bits: u8) -> u64 {
    // Octet `i` keeps bit `i` of its copy: 0 or a power of two up to 0x80, so adding 0x7F
    // sets its top bit exactly when it is not 0, and never carries.
    let kept = (u64::from(bits) * EACH_OCTET) & 0x8040_2010_0804_0201;
    ((kept + LOW_SEVEN_BITS) & TOP_BITS) >> 2
}

/// 1 in every octet of a word: a multiplier that repeats an octet's value in each.
const EACH_OCTET: u64 = 0x0101_0101_0101_0101;
/// 0x20, the case bit of ASCII letters, in every octet.
const CASE_BITS: u64 = 0x20 * EACH_OCTET;
/// 0x7F in every octet.
const LOW_SEVEN_BITS: u64 = 0x7F * EACH_OCTET;
/// 0x80 in every octet.
const TOP_BITS: u64 = 0x80 * EACH_OCTET;

/// A query as sent: written once, in place; each attempt sets its ID and, with 0x20
/// encoding, the case of its name.
#[derive(Clone)]
pub(crate) struct Query {
    bytes: [u8; MAX_QUERY],
    len: usize,
    name_len: usize,
}

impl Query {
    /// A query of type `qtype` for `name` in presentation form (see [`write_name`]), ID 0.
    #[cfg(test)]
    pub(crate) fn new(name: &str, qtype: u16) -> Result<Self, LookupError> {
        let mut query = Query::EMPTY;
        query.write(name, qtype)?;
        Ok(query)
    }

    /// No query yet: [`Query::write`] writes one.
    pub(crate) const EMPTY: Query = Query {
        bytes: [0; MAX_QUERY],
        len: 0,
        name_len: 0,
    };

    /// Writes a query of type `qtype` for `name` in presentation form (see [`write_name`]),
    /// ID 0, over this one, in place: a lookup's query is written where its future keeps it,
    /// not returned and copied there.
    pub(crate) fn write(&mut self, name: &str, qtype: u16) -> Result<(), LookupError> {
        self.name_len = write_name(&mut self.bytes[12..12 + MAX_NAME], name)?;
        self.len = finish_query(&mut self.bytes, 0, self.name_len, qtype);
        Ok(())
    }

    /// Sets the query ID.
    pub(crate) fn set_id(&mut self, id: u16) {
        self.bytes[0..2].copy_from_slice(&id.to_be_bytes());
    }

    /// Chooses the case of every letter of the name anew (see [`randomize_case`]).
    pub(crate) fn randomize_case(&mut self, random: impl FnMut() -> u64) {
        randomize_case(&mut self.bytes[12..12 + self.name_len], random);
    }

    /// The question section: name, type and class.
    pub(crate) fn question(&self) -> &[u8] {
        &self.bytes[12..12 + self.name_len + 4]
    }

    /// The whole message.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Completes a query (RD set, one question, an EDNS OPT record) around the name of
/// `name_len` octets already at offset 12; returns its length. The question starts at offset
/// 12 and is `name_len + 4` octets long.
fn finish_query(out: &mut [u8; MAX_QUERY], id: u16, name_len: usize, qtype: u16) -> usize {
    out[0..2].copy_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=QUERY, RD=1: forwarders and recursive servers must be allowed to recurse.
    out[2] = 0x01;
    out[3] = 0x00;
    out[4..6].copy_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out[6..10].fill(0); // ANCOUNT, NSCOUNT
    out[10..12].copy_from_slice(&1u16.to_be_bytes()); // ARCOUNT: the OPT record
    let at = 12 + name_len;
    out[at..at + 2].copy_from_slice(&qtype.to_be_bytes());
    out[at + 2..at + 4].copy_from_slice(&CLASS_IN.to_be_bytes());
    let at = at + 4;
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL = ext-rcode/version/flags 0, no data.
    out[at] = 0;
    out[at + 1..at + 3].copy_from_slice(&TYPE_OPT.to_be_bytes());
    out[at + 3..at + 5].copy_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    out[at + 5..at + 11].fill(0);
    at + 11
}

/// The ID of a response, if `packet` looks like one (long enough, QR set).
pub(crate) fn response_id(packet: &[u8]) -> Option<u16> {
    if packet.len() < 12 || packet[2] & 0x80 == 0 {
        return None;
    }
    Some(u16::from_be_bytes([packet[0], packet[1]]))
}

/// Whether the response echoes exactly one question equal to `question` (name, type, class).
///
/// With `case_exact`, the name must match octet for octet (0x20 encoding); otherwise letters
/// are compared without regard to case. Type and class are always compared exactly.
pub(crate) fn question_matches(packet: &[u8], question: &[u8], case_exact: bool) -> bool {
    if question.len() < 5 || packet.len() < 12 + question.len() || packet[4..6] != [0, 1] {
        return false;
    }
    let echoed = &packet[12..12 + question.len()];
    let (name_len, fixed) = (question.len() - 4, question.len() - 4..);
    if echoed[fixed.clone()] != question[fixed] {
        return false;
    }
    if case_exact {
        echoed[..name_len] == question[..name_len]
    } else {
        echoed[..name_len].eq_ignore_ascii_case(&question[..name_len])
    }
}

/// Whether the response matches the question except for the case of its name: a sign of a
/// server that does not preserve case (or of a spoofing attempt), worth counting.
pub(crate) fn question_matches_ignoring_case(packet: &[u8], question: &[u8]) -> bool {
    question_matches(packet, question, false)
}

/// What a response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<T> {
    /// TC was set: ask again over TCP.
    Truncated,
    /// The answer.
    Answer(Answer<T>),
}

/// A record type as the pooled transport reads it from a response.
pub(crate) trait Decode: Record {
    /// One record's value, from its data (`record.data`, at `record.end - data.len()` in
    /// `packet`, where compressed names point into); `None` if malformed.
    fn decode(packet: &[u8], record: &RawRecord<'_>) -> Option<Self::Value>;
}

impl Decode for record::A {
    fn decode(_: &[u8], record: &RawRecord<'_>) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(record.data).ok().map(Ipv4Addr::from)
    }
}

impl Decode for record::Aaaa {
    fn decode(_: &[u8], record: &RawRecord<'_>) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(record.data).ok().map(Ipv6Addr::from)
    }
}

impl Decode for record::Txt {
    fn decode(_: &[u8], record: &RawRecord<'_>) -> Option<String> {
        read_txt(record.data)
    }
}

impl Decode for record::Ptr {
    fn decode(packet: &[u8], record: &RawRecord<'_>) -> Option<String> {
        let host = read_name(packet, record.end - record.data.len())?;
        Some(host.strip_suffix('.').unwrap_or(&host).to_ascii_lowercase())
    }
}

// An NS record's data is a name, like a PTR record's.
impl Decode for record::Ns {
    fn decode(packet: &[u8], record: &RawRecord<'_>) -> Option<String> {
        record::Ptr::decode(packet, record)
    }
}

impl Decode for record::Mx {
    fn decode(packet: &[u8], record: &RawRecord<'_>) -> Option<MailExchanger> {
        // Preference, then the exchange name, read like a PTR name.
        let preference = record.data.get(..2)?;
        let preference = u16::from_be_bytes([preference[0], preference[1]]);
        let host = read_name(packet, record.end - record.data.len() + 2)?;
        Some(MailExchanger::new(preference, &host))
    }
}

/// A host name in record data at `start`: the rare path (reverse DNS, MX, NS), read with
/// hickory-proto, compression and escapes included, exactly as the stock path shows it.
fn read_name(packet: &[u8], start: usize) -> Option<String> {
    let mut decoder = BinDecoder::new(packet).clone(u16::try_from(start).ok()?);
    Some(Name::read(&mut decoder).ok()?.to_ascii())
}

/// Reads a response whose ID and question were already matched, to a query for records of
/// type `K`. `question_len` is the length of the question section.
///
/// The reading mirrors the stock hickory path exactly, so that both transports give the same
/// answers:
/// - TC set: [`Reply::Truncated`], whatever else the response says;
/// - SERVFAIL, REFUSED and every other code but NOERROR and NXDOMAIN: an error of that kind
///   (the EDNS extended code included);
/// - NOERROR or NXDOMAIN without answer records: [`Answer::NoRecords`], with the negative TTL
///   `min(SOA TTL, SOA MINIMUM)` of the first SOA in the authority section;
/// - a record of a class other than IN in any section (OPT aside) makes the whole response a
///   [`LookupErrorKind::Protocol`] error: the question was of class IN, so the server is
///   answering something else, and hickory-resolver rejects such a response whole
///   (`ForeignClassRecord`), which the stock path reports alike;
/// - otherwise the answer records of the type asked, owned by the question name or
///   by a name in its CNAME chain, with their smallest TTL; none of that type (a CNAME without
///   its target, records owned by other names only) is NODATA without a negative TTL, as on
///   the stock path;
/// - TTLs of 2^31 or more count as 0 (RFC 2181 §8).
pub(crate) fn parse_response<K: Decode>(
    packet: &[u8],
    question_len: usize,
) -> Result<Reply<K::Value>, LookupError> {
    let qtype = K::KIND.code();
    let malformed = || LookupError::with_detail(LookupErrorKind::Protocol, "malformed answer");
    if question_len < 5 || packet.len() < 12 + question_len {
        return Err(malformed());
    }
    // The header: QR, OPCODE and TC in octet 2, RCODE in the low bits of octet 3, then the
    // four counts.
    let (flags, low_rcode) = (packet[2], packet[3] & 0x0F);
    if flags & 0x80 == 0 || flags & 0x78 != 0 {
        return Err(malformed()); // not a response, or not to a standard query
    }
    if flags & 0x02 != 0 {
        return Ok(Reply::Truncated);
    }
    let count = |at: usize| u16::from_be_bytes([packet[at], packet[at + 1]]);
    let counts = Counts {
        answers: count(6),
        authorities: count(8),
        additionals: count(10),
    };
    let answers_start = 12 + question_len;
    let chain = Chain::new(packet, answers_start, counts.answers);
    let mut at = answers_start;

    // Walk the answer section, keeping the records asked for.
    let mut records = Vec::new();
    let mut ttl = u32::MAX;
    let mut foreign_class = false;
    for _ in 0..counts.answers {
        let record = read_record(packet, at).ok_or_else(malformed)?;
        at = record.end;
        foreign_class |= record.class != CLASS_IN;
        if record.rtype != qtype || record.class != CLASS_IN {
            continue;
        }
        if !chain.owns(record.owner).ok_or_else(malformed)? {
            continue;
        }
        records.push(K::decode(packet, &record).ok_or_else(malformed)?);
        ttl = ttl.min(clamp_ttl(record.ttl));
    }
    let authority_start = at;
    for _ in 0..counts.authorities {
        let record = read_record(packet, at).ok_or_else(malformed)?;
        at = record.end;
        foreign_class |= record.class != CLASS_IN;
    }
    // The EDNS OPT record carries the upper 8 bits of a 12-bit response code.
    let mut rcode = u16::from(low_rcode);
    for _ in 0..counts.additionals {
        let record = read_record(packet, at).ok_or_else(malformed)?;
        at = record.end;
        if record.rtype == TYPE_OPT {
            rcode |= u16::from((record.ttl >> 24) as u8) << 4;
        } else {
            // OPT's class field is the UDP payload size, not a class.
            foreign_class |= record.class != CLASS_IN;
        }
    }

    if rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN {
        return Err(LookupError::from_rcode(rcode));
    }
    if foreign_class {
        return Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            crate::resolver::FOREIGN_CLASS,
        ));
    }

    if counts.answers == 0 {
        let negative_ttl = negative_ttl(packet, authority_start, counts.authorities);
        return Ok(Reply::Answer(Answer::NoRecords {
            nxdomain: rcode == RCODE_NXDOMAIN,
            negative_ttl,
        }));
    }
    Ok(Reply::Answer(if records.is_empty() {
        Answer::nodata(None)
    } else {
        Answer::Records { records, ttl }
    }))
}

/// The record counts of a response's header (the question count is checked when the question
/// is matched).
struct Counts {
    answers: u16,
    authorities: u16,
    additionals: u16,
}

/// The negative TTL of a response: `min(TTL, MINIMUM)` of the first SOA in the authority
/// section (RFC 2308 §5) whose owner is the question name or an ancestor of it: an SOA of
/// another zone says nothing about this name.
fn negative_ttl(packet: &[u8], mut at: usize, count: u16) -> Option<u32> {
    for _ in 0..count {
        let record = read_record(packet, at)?;
        at = record.end;
        if record.rtype == TYPE_SOA && owns_question(packet, record.owner)? {
            // MNAME and RNAME (either may be compressed), then five 32-bit fields, MINIMUM last.
            let data_start = record.end - record.data.len();
            let after_names = skip_name(packet, skip_name(packet, data_start)?)?;
            if after_names + 20 != record.end {
                return None;
            }
            let minimum = u32::from_be_bytes(packet[record.end - 4..record.end].try_into().ok()?);
            return Some(clamp_ttl(record.ttl).min(clamp_ttl(minimum)));
        }
    }
    None
}

/// Whether the name at `owner` is the question name or an ancestor of it. The common case, a
/// compression pointer to a label of the question name, costs no decoding.
fn owns_question(packet: &[u8], owner: usize) -> Option<bool> {
    if let [high, low] = *packet.get(owner..owner + 2)?
        && high & 0xC0 == 0xC0
    {
        let target = usize::from(u16::from_be_bytes([high & 0x3F, low]));
        let mut label = 12;
        while let Some(&len) = packet.get(label) {
            if label == target {
                return Some(true);
            }
            if len == 0 || len & 0xC0 != 0 {
                break;
            }
            label += 1 + usize::from(len);
        }
    }
    let qname = OwnedName::at(packet, 12)?;
    Some(qname.is_at_or_below(&OwnedName::at(packet, owner)?))
}

/// A name read from a packet, compression resolved, in lowercase wire form.
pub(crate) struct OwnedName {
    bytes: [u8; MAX_NAME],
    len: usize,
}

impl OwnedName {
    /// Reads the name at `at`. Compression pointers must point backwards (no loops); the name
    /// must fit in 255 octets.
    fn at(packet: &[u8], mut at: usize) -> Option<OwnedName> {
        let mut name = OwnedName {
            bytes: [0; MAX_NAME],
            len: 0,
        };
        let mut lowest = at;
        loop {
            let len = *packet.get(at)?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    *name.bytes.get_mut(name.len)? = 0;
                    name.len += 1;
                    return Some(name);
                }
                0x00 => {
                    let label = packet.get(at..at + 1 + usize::from(len))?;
                    let out = name.bytes.get_mut(name.len..name.len + label.len())?;
                    out.copy_from_slice(label);
                    out.make_ascii_lowercase();
                    name.len += label.len();
                    at += label.len();
                }
                0xC0 => {
                    let target =
                        usize::from(u16::from_be_bytes([len, *packet.get(at + 1)?]) & 0x3FFF);
                    if target >= lowest {
                        return None;
                    }
                    lowest = target;
                    at = target;
                }
                _ => return None,
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Whether this name is `ancestor` or below it.
    fn is_at_or_below(&self, ancestor: &OwnedName) -> bool {
        let mut at = 0;
        while at < self.len {
            if self.bytes[at..self.len] == *ancestor.as_bytes() {
                return true;
            }
            at += 1 + usize::from(self.bytes[at]);
        }
        false
    }
}

/// The question name and the names its CNAME chain leads to, within one answer section. Read
/// only when a record is not owned by a pointer to the question name (the common case).
struct Chain<'a> {
    packet: &'a [u8],
    answers_start: usize,
    answers: u16,
    names: OnceCell<Option<Vec<OwnedName>>>,
}

/// The longest CNAME chain followed.
const MAX_CHAIN: usize = 16;

impl<'a> Chain<'a> {
    fn new(packet: &'a [u8], answers_start: usize, answers: u16) -> Self {
        Chain {
            packet,
            answers_start,
            answers,
            names: OnceCell::new(),
        }
    }

    /// Whether the name at `owner` is in the chain; `None` if a name cannot be read.
    fn owns(&self, owner: usize) -> Option<bool> {
        if self.packet.get(owner..owner + 2) == Some(&[0xC0, 12]) {
            return Some(true);
        }
        let names = self.names.get_or_init(|| self.follow()).as_ref()?;
        let name = OwnedName::at(self.packet, owner)?;
        Some(
            names
                .iter()
                .any(|known| known.as_bytes() == name.as_bytes()),
        )
    }

    /// The question name, then the CNAME targets it leads to, in any order of the records.
    fn follow(&self) -> Option<Vec<OwnedName>> {
        let packet = self.packet;
        let mut names = vec![OwnedName::at(packet, 12)?];
        let contains = |names: &[OwnedName], name: &OwnedName| {
            names
                .iter()
                .any(|known| known.as_bytes() == name.as_bytes())
        };
        let mut cnames = Vec::new();
        let mut at = self.answers_start;
        for _ in 0..self.answers {
            let record = read_record(packet, at)?;
            at = record.end;
            if record.rtype == TYPE_CNAME && record.class == CLASS_IN {
                cnames.push((record.owner, record.end - record.data.len()));
            }
        }
        let mut grew = true;
        while grew && names.len() <= MAX_CHAIN {
            grew = false;
            for &(owner, target) in &cnames {
                if contains(&names, &OwnedName::at(packet, owner)?) {
                    let target = OwnedName::at(packet, target)?;
                    if !contains(&names, &target) {
                        names.push(target);
                        grew = true;
                    }
                }
            }
        }
        Some(names)
    }
}

/// One resource record, as found in a packet.
pub(crate) struct RawRecord<'a> {
    /// Offset of the owner name.
    owner: usize,
    rtype: u16,
    class: u16,
    ttl: u32,
    pub(crate) data: &'a [u8],
    /// Offset just past the record.
    pub(crate) end: usize,
}

fn read_record(packet: &[u8], owner: usize) -> Option<RawRecord<'_>> {
    let at = skip_name(packet, owner)?;
    let fixed = packet.get(at..at + 10)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let data = packet.get(at + 10..at + 10 + len)?;
    Some(RawRecord {
        owner,
        rtype,
        class,
        ttl,
        data,
        end: at + 10 + len,
    })
}

/// The offset just past the name at `at` (labels, ending in the root label or a pointer).
fn skip_name(packet: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *packet.get(at)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(at + 1),
            0x00 => at += 1 + usize::from(len),
            0xC0 => {
                packet.get(at + 1)?;
                return Some(at + 2);
            }
            _ => return None,
        }
    }
}

/// A TXT record's character-strings joined without separator, then decoded as UTF-8 with
/// invalid sequences replaced (the same as the stock path's `join_txt_strings`).
fn read_txt(mut data: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(data.len());
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len);
        bytes.extend_from_slice(rest.get(..len)?);
        data = &rest[len..];
    }
    Some(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE_A: u16 = 1;
    const TYPE_PTR: u16 = 12;
    const TYPE_MX: u16 = 15;
    const TYPE_TXT: u16 = 16;
    const TYPE_AAAA: u16 = 28;
    use hickory_proto::op::{
        Edns, Message, MessageType, Metadata, OpCode, Query as HickoryQuery, ResponseCode,
    };
    use hickory_proto::rr::rdata::{A, CNAME, SOA, TXT};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    /// A name in wire form.
    fn name(text: &str) -> Vec<u8> {
        let query = Query::new(text, TYPE_A).unwrap();
        let question = query.question();
        question[..question.len() - 4].to_vec()
    }

    fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
        let mut query = Query::new(qname, qtype).unwrap();
        query.set_id(id);
        query.as_bytes().to_vec()
    }

    /// A response to `query` built with hickory-proto's encoder.
    fn respond(
        query: &[u8],
        rcode: ResponseCode,
        answers: Vec<Record>,
        authorities: Vec<Record>,
    ) -> Vec<u8> {
        let request = Message::from_vec(query).unwrap();
        let mut response = Message::response(request.metadata.id, OpCode::Query);
        response.metadata.response_code = rcode;
        response.add_queries(request.queries.clone());
        response.add_answers(answers);
        response.add_authorities(authorities);
        response.set_edns(Edns::new());
        response.to_vec().unwrap()
    }

    fn parse<K: Decode>(packet: &[u8], query: &[u8]) -> Result<Reply<K::Value>, LookupError> {
        parse_response::<K>(packet, query.len() - 12 - 11)
    }

    #[test]
    fn queries_decode_with_hickory() {
        let bytes = query(0xBEEF, "2.0.0.127.Zen.Example.", TYPE_A);
        let message = Message::from_vec(&bytes).unwrap();
        assert_eq!(message.metadata.id, 0xBEEF);
        assert!(message.metadata.recursion_desired);
        assert_eq!(message.queries.len(), 1);
        let question = &message.queries[0];
        assert_eq!(question.name().to_ascii(), "2.0.0.127.Zen.Example.");
        assert_eq!(question.query_type(), RecordType::A);
        assert_eq!(message.edns.as_ref().unwrap().max_payload(), EDNS_PAYLOAD);
        // Without trailing dot: still absolute, never a search domain.
        assert_eq!(
            name("2.0.0.127.zen.example"),
            name("2.0.0.127.zen.example.")
        );
    }

    #[test]
    fn rejects_names_that_are_not_plain_dns_names() {
        let long_label = format!("{}.example.", "a".repeat(64));
        let long_name = format!("{}example.", "abcdefgh.".repeat(28));
        for bad in [
            "a..b.",
            ".a.",
            "a b.",
            "a\\.b.",
            "é.example.",
            &long_label,
            &long_name,
        ] {
            assert!(Query::new(bad, TYPE_A).is_err(), "{bad:?}");
        }
        let longest = format!("{}abcdefghij.", "abcdefgh.".repeat(27)); // 253 octets
        assert_eq!(name(&longest).len(), 255);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// The word arithmetic does what a loop over the octets would: every letter takes its
        /// bit, and nothing else changes, whatever the octets (any of the 256 values) and the
        /// draws.
        #[test]
        fn random_case_is_an_octet_by_octet_choice(
            name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            draws in proptest::collection::vec(proptest::prelude::any::<u64>(), 5),
        ) {
            let mut cased = name.clone();
            let mut next = draws.iter().copied();
            randomize_case(&mut cased, || next.next().unwrap());
            for (i, (&before, &after)) in name.iter().zip(&cased).enumerate() {
                let want = if before.is_ascii_alphabetic() {
                    let upper = draws[i / 64] >> (i % 64) & 1 == 1;
                    if upper { before.to_ascii_uppercase() } else { before.to_ascii_lowercase() }
                } else {
                    before
                };
                proptest::prop_assert_eq!(after, want, "octet {} of {:?}", i, name);
            }
        }
    }

    #[test]
    fn random_case_keeps_the_name_and_flips_letters() {
        let plain = Query::new("9.2.0.192.bl.example.", TYPE_A).unwrap();
        let cased = |random: u64| {
            let mut query = plain.clone();
            query.randomize_case(|| random);
            query.as_bytes().to_vec()
        };
        let upper = cased(u64::MAX);
        assert_eq!(
            upper,
            Query::new("9.2.0.192.BL.EXAMPLE.", TYPE_A)
                .unwrap()
                .as_bytes()
        );
        // Octet i takes bit i: the wire name is "\x019\x012\x010\x03192\x02bl\x07example\0",
        // so `b` is octet 11, `l` 12, and `example` octets 14 to 20.
        let mixed = cased(1 << 12 | 1 << 14 | 1 << 16 | 1 << 18 | 1 << 20);
        assert_eq!(
            mixed,
            Query::new("9.2.0.192.bL.ExAmPlE.", TYPE_A)
                .unwrap()
                .as_bytes()
        );
        assert!(mixed.eq_ignore_ascii_case(plain.as_bytes()));
        // Only the name changes: header, type, class and OPT record stay as written.
        assert_eq!(mixed.len(), plain.as_bytes().len());
        assert_eq!(cased(0), plain.as_bytes(), "all lowercase");

        // Past 64 octets, a fresh draw: here octet 64 on are lower case. The first label's
        // length octet is octet 0, its letters 1 to 40; the second's, 41, and its letters 42 on.
        let long = format!("{}.{}.bl.example.", "a".repeat(40), "b".repeat(30));
        let mut draws = [u64::MAX, 0].into_iter().cycle();
        let mut query = Query::new(&long, TYPE_A).unwrap();
        query.randomize_case(|| draws.next().unwrap());
        let want = format!(
            "{}.{}{}.bl.example.",
            "A".repeat(40),
            "B".repeat(22),
            "b".repeat(8)
        );
        assert_eq!(
            query.as_bytes(),
            Query::new(&want, TYPE_A).unwrap().as_bytes()
        );
    }

    #[test]
    fn matches_questions_by_case_when_asked() {
        let q = query(1, "2.0.0.127.Bl.Test.", TYPE_A);
        let question = &q[12..q.len() - 11];
        let same = respond(&q, ResponseCode::NoError, vec![], vec![]);
        assert!(question_matches(&same, question, true));
        // An empty answer to the same query but for its name or type.
        let answer_to = |qname: &str, qtype: u16| {
            respond(
                &query(1, qname, qtype),
                ResponseCode::NoError,
                vec![],
                vec![],
            )
        };
        let lower = answer_to("2.0.0.127.bl.test.", TYPE_A);
        assert!(!question_matches(&lower, question, true));
        assert!(question_matches(&lower, question, false));
        assert!(question_matches_ignoring_case(&lower, question));
        let other_type = answer_to("2.0.0.127.Bl.Test.", TYPE_TXT);
        assert!(!question_matches(&other_type, question, false));
        let other_name = answer_to("3.0.0.127.Bl.Test.", TYPE_A);
        assert!(!question_matches(&other_name, question, false));
        assert_eq!(response_id(&same), Some(1));
        assert_eq!(response_id(&q), None, "a query is not a response");
    }

    fn owner(q: &str) -> Name {
        Name::from_ascii(q).unwrap()
    }

    fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
        let soa = SOA::new(
            owner(&format!("ns.{}", zone.trim_start_matches('.'))),
            owner(&format!("h.{}", zone.trim_start_matches('.'))),
            1,
            2,
            3,
            4,
            minimum,
        );
        Record::from_rdata(owner(zone), ttl, RData::SOA(soa))
    }

    /// A response to `query` (its rcode, answers and authority section), what it must read
    /// as, and what the case shows.
    type Case<T> = (
        &'static str,
        ResponseCode,
        Vec<Record>,
        Vec<Record>,
        Reply<T>,
    );

    /// Answers each case's response to `query` and reads it as record type `K`.
    fn assert_reads<K: Decode>(query: &[u8], cases: Vec<Case<K::Value>>)
    where
        K::Value: PartialEq + std::fmt::Debug,
    {
        for (what, rcode, answers, authorities, expected) in cases {
            let packet = respond(query, rcode, answers, authorities);
            assert_eq!(parse::<K>(&packet, query).unwrap(), expected, "{what}");
        }
    }

    fn records<T>(records: Vec<T>, ttl: u32) -> Reply<T> {
        Reply::Answer(Answer::Records { records, ttl })
    }

    fn no_records<T>(nxdomain: bool, negative_ttl: Option<u32>) -> Reply<T> {
        Reply::Answer(Answer::NoRecords {
            nxdomain,
            negative_ttl,
        })
    }

    #[test]
    fn reads_every_kind_of_answer() {
        let qname = "10.2.0.192.bl.test.";
        let qa = query(7, qname, TYPE_A);
        let qt = query(8, qname, TYPE_TXT);
        let a = |ip: [u8; 4], ttl| {
            Record::from_rdata(owner(qname), ttl, RData::A(A::from(Ipv4Addr::from(ip))))
        };
        let cname = Record::from_rdata(owner(qname), 60, RData::CNAME(CNAME(owner("x.bl.test."))));
        let listed = vec![Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)];
        assert_reads::<record::A>(
            &qa,
            vec![
                (
                    "listed",
                    ResponseCode::NoError,
                    vec![a([127, 0, 0, 2], 300), a([127, 0, 0, 4], 60)],
                    vec![],
                    records(listed, 60),
                ),
                (
                    "NXDOMAIN",
                    ResponseCode::NXDomain,
                    vec![],
                    vec![soa("bl.test.", 90, 30)],
                    no_records(true, Some(30)),
                ),
                (
                    "NODATA",
                    ResponseCode::NoError,
                    vec![],
                    vec![soa("bl.test.", 20, 30)],
                    no_records(false, Some(20)),
                ),
                (
                    "NXDOMAIN without SOA",
                    ResponseCode::NXDomain,
                    vec![],
                    vec![],
                    no_records(true, None),
                ),
                (
                    "a CNAME only",
                    ResponseCode::NoError,
                    vec![cname],
                    vec![],
                    no_records(false, None),
                ),
            ],
        );

        let txt = |strings: &[&[u8]]| {
            Record::from_rdata(
                owner(qname),
                120,
                RData::TXT(TXT::from_bytes(strings.to_vec())),
            )
        };
        let reasons = vec![
            txt(&[b"Listed: see ", b"https://bl.test/"]),
            txt(&[b"caf\xC3", b"\xA9 \xFF"]),
        ];
        let read = vec![
            "Listed: see https://bl.test/".into(),
            "café \u{FFFD}".into(),
        ];
        assert_reads::<record::Txt>(
            &qt,
            vec![(
                "TXT reasons",
                ResponseCode::NoError,
                reasons,
                vec![],
                records(read, 120),
            )],
        );
        let joined =
            crate::resolver::hickory::join_txt_strings([&b"caf\xC3"[..], b"\xA9 \xFF"].into_iter());
        assert_eq!(joined, "café \u{FFFD}", "same as the stock path");

        for (rcode, kind) in [
            (ResponseCode::ServFail, LookupErrorKind::ServFail),
            (ResponseCode::Refused, LookupErrorKind::Refused),
            (ResponseCode::FormErr, LookupErrorKind::ResponseCode(1)),
            (ResponseCode::NotImp, LookupErrorKind::ResponseCode(4)),
        ] {
            let packet = respond(&qa, rcode, vec![], vec![]);
            assert_eq!(parse::<record::A>(&packet, &qa).unwrap_err().kind(), kind);
        }

        let mut truncated =
            Message::from_vec(&respond(&qa, ResponseCode::NoError, vec![], vec![])).unwrap();
        truncated.metadata.truncation = true;
        assert_eq!(
            parse::<record::A>(&truncated.to_vec().unwrap(), &qa).unwrap(),
            Reply::Truncated
        );
    }

    #[test]
    fn reads_aaaa_and_ptr_answers_like_the_stock_path() {
        use hickory_proto::rr::rdata::{AAAA, PTR};
        let qname = "2.0.0.192.in-addr.arpa.";
        let qp = query(9, qname, TYPE_PTR);
        let ptr = |host: &str| Record::from_rdata(owner(qname), 300, RData::PTR(PTR(owner(host))));
        // The last shares a suffix with the owner: written compressed.
        let hosts = vec![
            ptr("Mail.Example.COM."),
            ptr("mx.example.net."),
            ptr("h.0.192.in-addr.arpa."),
        ];
        let read = vec![
            "mail.example.com".into(),
            "mx.example.net".into(),
            "h.0.192.in-addr.arpa".into(),
        ];
        assert_reads::<record::Ptr>(
            &qp,
            vec![(
                "PTR",
                ResponseCode::NoError,
                hosts,
                vec![],
                records(read, 300),
            )],
        );
        let qa = query(10, "mail.example.com.", TYPE_AAAA);
        let v6: Ipv6Addr = "2001:db8::25".parse().unwrap();
        let aaaa = Record::from_rdata(owner("mail.example.com."), 60, RData::AAAA(AAAA(v6)));
        assert_reads::<record::Aaaa>(
            &qa,
            vec![
                (
                    "AAAA",
                    ResponseCode::NoError,
                    vec![aaaa],
                    vec![],
                    records(vec![v6], 60),
                ),
                (
                    "NXDOMAIN",
                    ResponseCode::NXDomain,
                    vec![],
                    vec![],
                    no_records(true, None),
                ),
            ],
        );
    }

    #[test]
    fn answers_belong_to_the_question() {
        let qname = "2.0.0.127.bl.test.";
        let qa = query(7, qname, TYPE_A);
        let a = |owner_name: &str, ip: [u8; 4], ttl| {
            Record::from_rdata(
                owner(owner_name),
                ttl,
                RData::A(A::from(Ipv4Addr::from(ip))),
            )
        };
        let cname = |from: &str, to: &str| {
            Record::from_rdata(owner(from), 60, RData::CNAME(CNAME(owner(to))))
        };
        let mixed = vec![
            a("evil.test.", [127, 0, 0, 4], 1),
            a("2.0.0.127.BL.test.", [127, 0, 0, 2], 60),
        ];
        let chain_out_of_order = vec![
            a("target.test.", [127, 0, 0, 3], 30),
            cname("alias.test.", "target.test."),
            cname(qname, "alias.test."),
            a("stray.test.", [127, 0, 0, 9], 30),
        ];
        assert_reads::<record::A>(
            &qa,
            vec![
                (
                    "only another name's record: no records for the question",
                    ResponseCode::NoError,
                    vec![a("3.0.0.127.bl.test.", [127, 0, 0, 2], 60)],
                    vec![],
                    no_records(false, None),
                ),
                (
                    "mixed: only the question's own records count, its owner matched in any case",
                    ResponseCode::NoError,
                    mixed,
                    vec![],
                    records(vec![Ipv4Addr::new(127, 0, 0, 2)], 60),
                ),
                (
                    "a CNAME chain out of order: its end's records count, strays do not",
                    ResponseCode::NoError,
                    chain_out_of_order,
                    vec![],
                    records(vec![Ipv4Addr::new(127, 0, 0, 3)], 30),
                ),
                (
                    "TTLs with the top bit set count as 0 (RFC 2181 §8)",
                    ResponseCode::NoError,
                    vec![a(qname, [127, 0, 0, 2], 1 << 31)],
                    vec![],
                    records(vec![Ipv4Addr::new(127, 0, 0, 2)], 0),
                ),
            ],
        );
    }

    #[test]
    fn the_negative_ttl_comes_only_from_an_soa_of_the_questions_zone() {
        let qa = query(7, "2.0.0.127.bl.test.", TYPE_A);
        let nx = |authority: Vec<Record>| {
            let packet = respond(&qa, ResponseCode::NXDomain, vec![], authority);
            match parse::<record::A>(&packet, &qa).unwrap() {
                Reply::Answer(Answer::NoRecords { negative_ttl, .. }) => negative_ttl,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(nx(vec![soa("bl.test.", 90, 30)]), Some(30));
        assert_eq!(nx(vec![soa("test.", 90, 30)]), Some(30), "an ancestor");
        assert_eq!(nx(vec![soa(".", 90, 30)]), Some(30), "the root");
        assert_eq!(
            nx(vec![soa("2.0.0.127.bl.test.", 90, 30)]),
            Some(30),
            "the name itself"
        );
        assert_eq!(nx(vec![soa("other.test.", 90, 30)]), None, "another zone");
        assert_eq!(
            nx(vec![soa("0.127.bl.test.evil.", 90, 30)]),
            None,
            "a lookalike"
        );
        assert_eq!(
            nx(vec![soa("x.2.0.0.127.bl.test.", 90, 30)]),
            None,
            "below the name"
        );
        assert_eq!(
            nx(vec![soa("other.test.", 9, 9), soa("bl.test.", 90, 30)]),
            Some(30)
        );
        assert_eq!(
            nx(vec![soa("bl.test.", 1 << 31, 30)]),
            Some(0),
            "TTL ≥ 2^31 is 0"
        );
        assert_eq!(
            nx(vec![soa("bl.test.", 90, u32::MAX)]),
            Some(0),
            "MINIMUM ≥ 2^31 is 0"
        );
        assert_eq!(
            nx(vec![soa("bl.test.", (1 << 31) - 1, (1 << 31) - 1)]),
            Some((1 << 31) - 1)
        );
    }

    #[test]
    fn short_and_looping_input_is_an_error_not_a_panic() {
        assert!(!question_matches(&[0x80; 40], &[], true));
        assert!(!question_matches(&[0x80; 40], &[0, 0, 1], false));
        assert!(parse_response::<record::A>(&[0x80; 11], 5).is_err());
        assert!(parse_response::<record::A>(&[0x80; 20], 0).is_err());
        // An answer owned by a compression pointer to itself.
        let a = Record::from_rdata(owner("a."), 60, RData::A(A::new(127, 0, 0, 2)));
        let mut looping = respond(
            &query(1, "a.", TYPE_A),
            ResponseCode::NoError,
            vec![a],
            vec![],
        );
        assert_eq!(looping[19..21], [0xC0, 12], "the owner, compressed");
        looping[20] = 19;
        assert!(parse_response::<record::A>(&looping, 7).is_err());
    }

    #[test]
    fn malformed_answers_are_protocol_errors() {
        let qa = query(7, "1.bl.test.", TYPE_A);
        let a = Record::from_rdata(owner("1.bl.test."), 60, RData::A(A::new(127, 0, 0, 2)));
        let good = respond(&qa, ResponseCode::NoError, vec![a], vec![]);
        for cut in [13, 30, good.len() - 12] {
            let err = parse::<record::A>(&good[..cut], &qa).unwrap_err();
            assert_eq!(err.kind(), LookupErrorKind::Protocol, "cut at {cut}");
        }
        let mut query_not_response = good.clone();
        query_not_response[2] &= 0x7F;
        assert!(parse::<record::A>(&query_not_response, &qa).is_err());
        let _ = Metadata::new(0, MessageType::Query, OpCode::Query);
        let _ = HickoryQuery::new();
    }

    #[test]
    fn reads_mx_answers_null_mx_and_short_records() {
        use hickory_proto::rr::rdata::MX;
        let qname = "example.org.";
        let qm = query(11, qname, TYPE_MX);
        let mx = |preference: u16, host: &str| {
            Record::from_rdata(
                owner(qname),
                300,
                RData::MX(MX::new(preference, owner(host))),
            )
        };
        let read = vec![
            crate::resolver::MailExchanger::new(20, "backup.example.org"),
            crate::resolver::MailExchanger::new(10, "mx.example.net"),
        ];
        assert_reads::<record::Mx>(
            &qm,
            vec![(
                "the first exchange shares the owner's suffix: written compressed",
                ResponseCode::NoError,
                vec![mx(20, "Backup.Example.ORG."), mx(10, "mx.example.net.")],
                vec![],
                records(read, 300),
            )],
        );
        let null = respond(&qm, ResponseCode::NoError, vec![mx(0, ".")], vec![]);
        match parse::<record::Mx>(&null, &qm).unwrap() {
            Reply::Answer(Answer::Records { records, .. }) => assert!(records[0].is_null()),
            other => panic!("{other:?}"),
        }
        // An MX record of one octet has no room for its preference.
        let mut short = respond(&qm, ResponseCode::NoError, vec![mx(10, ".")], vec![]);
        let len = short.len();
        short[len - 4] = 0; // RDLENGTH 3 -> 1, and drop the last two octets
        short[len - 3] = 1;
        short.truncate(len - 2);
        assert_eq!(
            parse::<record::Mx>(&short, &qm).unwrap_err().kind(),
            LookupErrorKind::Protocol
        );
    }
}
