//! Entry points for this crate's own benchmarks, fuzz targets and property tests. Not part
//! of the public API. No function here panics, whatever the input.

use std::net::Ipv4Addr;

use super::wire::{self, Decode, Query, Reply};
use crate::resolver::record;
use crate::resolver::{Answer, LookupError, LookupErrorKind};

/// Encodes a query of type `qtype` for `name` into a fresh buffer; `None` if `name` is
/// not a plain DNS name.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut query = Query::EMPTY;
    query.write(name, qtype).ok()?;
    query.set_id(id);
    Some(query.as_bytes().to_vec())
}

/// Encodes an A query for `name` (benchmarks build their answers on it).
pub fn encode_a_query(id: u16, name: &str) -> Option<Vec<u8>> {
    encode_query(id, name, record::RecordKind::A.code())
}

/// Matches a response to `query` (as [`encode_query`] wrote it), as the receive path does:
/// its question's length and type, or `None` when its ID or question is not the query's.
fn matched(query: &[u8], response: &[u8]) -> Option<(usize, u16)> {
    let question = query.get(12..query.len().checked_sub(11)?)?;
    let qtype = u16::from_be_bytes(
        question
            .get(question.len().checked_sub(4)?..)?
            .get(..2)?
            .try_into()
            .ok()?,
    );
    if wire::response_id(response)? != u16::from_be_bytes([*query.first()?, *query.get(1)?])
        || !wire::question_matches(response, question, true)
    {
        return None;
    }
    Some((question.len(), qtype))
}

/// Reads a matched response as records of type `K`, each as text; a truncated answer is a
/// protocol error here.
fn as_text<K: Decode>(
    response: &[u8],
    question_len: usize,
    text: impl FnMut(K::Value) -> String,
) -> Result<Answer<String>, LookupError> {
    match wire::parse_response::<K>(response, question_len)? {
        Reply::Answer(answer) => Ok(answer.map(text)),
        Reply::Truncated => Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            "truncated",
        )),
    }
}

/// Matches a response to an A `query` and reads its A records, as the receive path does.
pub fn decode_a_response(
    query: &[u8],
    response: &[u8],
) -> Option<Result<Answer<Ipv4Addr>, LookupError>> {
    let (question_len, _) = matched(query, response)?;
    Some(
        match wire::parse_response::<record::A>(response, question_len) {
            Ok(Reply::Answer(answer)) => Ok(answer),
            Ok(Reply::Truncated) => Err(LookupError::new(LookupErrorKind::Protocol)),
            Err(error) => Err(error),
        },
    )
}

/// Matches a response to `query` of any type the crate asks and reads it, records as text; a
/// truncated answer, or a query of another type, is a protocol error here.
pub fn decode_response(
    query: &[u8],
    response: &[u8],
) -> Option<Result<Answer<String>, LookupError>> {
    use record::RecordKind as Kind;
    let (len, qtype) = matched(query, response)?;
    let kind = [
        Kind::A,
        Kind::Txt,
        Kind::Aaaa,
        Kind::Ptr,
        Kind::Mx,
        Kind::Ns,
    ]
    .into_iter()
    .find(|kind| kind.code() == qtype);
    Some(match kind {
        Some(Kind::A) => as_text::<record::A>(response, len, |a| a.to_string()),
        Some(Kind::Aaaa) => as_text::<record::Aaaa>(response, len, |a| a.to_string()),
        Some(Kind::Txt) => as_text::<record::Txt>(response, len, |t| t),
        Some(Kind::Ptr) => as_text::<record::Ptr>(response, len, |t| t),
        Some(Kind::Ns) => as_text::<record::Ns>(response, len, |t| t),
        Some(Kind::Mx) => as_text::<record::Mx>(response, len, |mx| {
            format!("{} {}", mx.preference, mx.exchange)
        }),
        None => Err(LookupError::new(LookupErrorKind::Protocol)),
    })
}
