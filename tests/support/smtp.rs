//! A tiny scripted SMTP responder on loopback, for SMTP probe tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the responder sends: the greeting (raw bytes, or nothing), and a reply per command
/// verb (the first word, upper-cased).
#[derive(Clone)]
pub struct Script {
    pub banner: Option<Vec<u8>>,
    pub replies: fn(&str) -> Vec<u8>,
}

/// A one-connection SMTP responder; the commands it received are kept.
pub struct Responder {
    pub addr: SocketAddr,
    pub commands: Arc<Mutex<Vec<String>>>,
}

pub async fn responder(script: Script) -> Responder {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let commands = Arc::new(Mutex::new(Vec::new()));
    let seen = commands.clone();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (read, mut write) = stream.into_split();
        let Some(banner) = script.banner else {
            // Silent: hold the connection open without a word.
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        };
        if write.write_all(&banner).await.is_err() {
            return;
        }
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line
                .split([' ', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            seen.lock().unwrap().push(line.clone());
            if write.write_all(&(script.replies)(&verb)).await.is_err() {
                return;
            }
            if verb == "QUIT" {
                return;
            }
        }
    });
    Responder { addr, commands }
}

/// Accepts everything, and offers STARTTLS.
pub fn open_relay(verb: &str) -> Vec<u8> {
    match verb {
        "EHLO" => {
            b"250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n".to_vec()
        }
        "QUIT" => b"221 bye\r\n".to_vec(),
        _ => b"250 ok\r\n".to_vec(),
    }
}

/// Refuses the foreign recipient with 554.
pub fn closed_relay(verb: &str) -> Vec<u8> {
    match verb {
        "EHLO" => b"250-mx.example.test\r\n250 SIZE 1000\r\n".to_vec(),
        "RCPT" => b"554 5.7.1 <relay-probe@example.com>: Relay access denied\r\n".to_vec(),
        "QUIT" => b"221 bye\r\n".to_vec(),
        _ => b"250 ok\r\n".to_vec(),
    }
}
