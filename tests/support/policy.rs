//! Postfix's side of the policy delegation protocol: a [`PolicyClient`] connection, and the
//! requests Postfix sends.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::tool::PATIENCE;

/// One policy connection, as Postfix's smtpd holds one.
pub struct PolicyClient {
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
}

impl PolicyClient {
    pub fn new<S: AsyncRead + AsyncWrite + Send + 'static>(stream: S) -> Self {
        let (reader, writer) = tokio::io::split(stream);
        PolicyClient {
            reader: BufReader::new(Box::new(reader)),
            writer: Box::new(writer),
        }
    }

    /// Sends a request and returns the action (the text after `action=`), checking that the
    /// answer is exactly one `action=` line and an empty line.
    pub async fn ask(&mut self, attributes: &[(&str, &str)]) -> String {
        self.send_request(attributes).await;
        self.answer()
            .await
            .unwrap_or_else(|| panic!("connection closed instead of answering {attributes:?}"))
    }

    /// Sends a request without waiting for the answer.
    pub async fn send_request(&mut self, attributes: &[(&str, &str)]) {
        let mut request = String::new();
        for (name, value) in attributes {
            request.push_str(&format!("{name}={value}\n"));
        }
        request.push('\n');
        self.send(request.as_bytes()).await;
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Reads one answer; `None` if the server closed the connection instead.
    pub async fn answer(&mut self) -> Option<String> {
        let read = async {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let mut end = String::new();
            self.reader.read_line(&mut end).await.unwrap();
            assert_eq!(
                end, "\n",
                "an answer is one line and an empty line: {line:?}"
            );
            let action = line
                .strip_suffix('\n')
                .and_then(|line| line.strip_prefix("action="))
                .unwrap_or_else(|| panic!("not an action line: {line:?}"));
            Some(action.to_owned())
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("no answer in time")
    }

    /// Whether the server closed the connection (reads to the end; panics on any data).
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut rest)).await {
            Ok(Ok(_)) => {
                assert!(
                    rest.is_empty(),
                    "unexpected data: {:?}",
                    String::from_utf8_lossy(&rest)
                );
                true
            }
            // A reset is a close too.
            Ok(Err(_)) => true,
            Err(_) => false,
        }
    }
}

/// The attributes Postfix 3.7 sends at RCPT TO for a client, with a sender and a HELO name.
pub fn request<'a>(client: &'a str, helo: &'a str, sender: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("request", "smtpd_access_policy"),
        ("protocol_state", "RCPT"),
        ("protocol_name", "ESMTP"),
        ("client_address", client),
        ("client_name", "unknown"),
        ("client_port", "40000"),
        ("reverse_client_name", "unknown"),
        ("server_address", "192.0.2.25"),
        ("server_port", "25"),
        ("helo_name", helo),
        ("sender", sender),
        ("recipient", "postmaster@example.net"),
        ("recipient_count", "0"),
        ("queue_id", ""),
        ("instance", "1a2b.5f3e1c2d.1234.0"),
        ("size", "0"),
        ("etrn_domain", ""),
        ("stress", ""),
        ("sasl_method", ""),
        ("sasl_username", ""),
        ("sasl_sender", ""),
        ("ccert_subject", ""),
        ("ccert_issuer", ""),
        ("ccert_fingerprint", ""),
        ("ccert_pubkey_fingerprint", ""),
        ("encryption_protocol", ""),
        ("encryption_cipher", ""),
        ("encryption_keysize", "0"),
        ("policy_context", ""),
        ("compatibility_level", "3.6"),
        ("mail_version", "3.7.11"),
    ]
}

/// A request for `client` with harmless other attributes.
pub fn client_request(client: &str) -> Vec<(&str, &str)> {
    request(client, "mail.example.org", "alice@example.org")
}

/// Replaces (or adds) one attribute of a request.
pub fn with<'a>(
    mut attributes: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    match attributes.iter_mut().find(|(known, _)| *known == name) {
        Some(attribute) => attribute.1 = value,
        None => attributes.push((name, value)),
    }
    attributes
}
