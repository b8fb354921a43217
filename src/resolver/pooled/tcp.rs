//! The TCP leg of a lookup: asked once, after a truncated UDP answer.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{self, Decode, MAX_QUERY, Query, Reply};
use crate::resolver::{Answer, LookupError, LookupErrorKind};

/// Asks once over TCP (after a truncated UDP answer), on a connection of its own, under a
/// fresh ID.
pub(crate) async fn exchange<K: Decode>(
    server: SocketAddr,
    query: &Query,
    case_exact: bool,
) -> Result<Answer<K::Value>, LookupError> {
    let id: u16 = rand::random();
    let mut query = query.clone();
    query.set_id(id);
    let message = query.as_bytes();
    let mut buffer = [0u8; 2 + MAX_QUERY];
    buffer[..2].copy_from_slice(&(message.len() as u16).to_be_bytes());
    buffer[2..2 + message.len()].copy_from_slice(message);
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| LookupError::from_io(&e))?;
    stream
        .write_all(&buffer[..2 + message.len()])
        .await
        .map_err(|e| LookupError::from_io(&e))?;
    let question = query.question();
    loop {
        let size = stream
            .read_u16()
            .await
            .map_err(|e| LookupError::from_io(&e))?;
        let mut response = vec![0u8; usize::from(size)];
        stream
            .read_exact(&mut response)
            .await
            .map_err(|e| LookupError::from_io(&e))?;
        // A TCP stream cannot be spoofed off-path, but it may carry a stray message.
        if wire::response_id(&response) == Some(id)
            && wire::question_matches(&response, question, case_exact)
        {
            return match wire::parse_response::<K>(&response, question.len())? {
                Reply::Truncated => Err(LookupError::with_detail(
                    LookupErrorKind::Protocol,
                    "answer truncated even over TCP",
                )),
                Reply::Answer(answer) => Ok(answer),
            };
        }
    }
}
