//! Running the `dnsbl-policyd` example as a real process, and talking Postfix's policy
//! protocol to it. Shared by the policyd, milter and Postfix end-to-end tests of
//! `tests/tools/`; the Postfix instance itself is `tests/support/postfix.rs`.
//!
//! The server is started on `127.0.0.1:0` (or a Unix socket) and the address it bound is
//! read from its log, so that no port is guessed. Its stderr is collected for the tests
//! to search.

#![allow(dead_code)] // each test crate uses only part of it

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

pub use crate::support::build_example;

pub mod in_process;
pub mod milter;

/// How long a test waits for the server to do anything.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The example binary, built once per test run (cargo does not build examples for
/// `cargo test --test policyd`, and gives integration tests no path to them).
pub fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_example("dnsbl-policyd", false))
}

/// Where the server listens.
#[derive(Debug, Clone)]
pub enum Address {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

/// A running `dnsbl-policyd`. Killed when dropped.
pub struct Policyd {
    pub address: Address,
    child: Child,
    logs: Arc<Logs>,
}

#[derive(Default)]
struct Logs {
    lines: Mutex<Vec<String>>,
    closed: Mutex<bool>,
    changed: Notify,
}

impl Policyd {
    /// Starts the server with `args` (plus `--listen 127.0.0.1:0` unless `args` has a
    /// `--listen`), and waits until it listens.
    pub async fn start(args: &[&str]) -> Policyd {
        Policyd::start_with_env(args, &[]).await
    }

    /// [`Policyd::start`] with `env` added to the environment.
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Policyd {
        Policyd::try_start(args, env)
            .await
            .unwrap_or_else(|logs| panic!("dnsbl-policyd did not start:\n{logs}"))
    }

    /// Starts the server; `Err` holds its logs if it exited instead of listening.
    pub async fn try_start(args: &[&str], env: &[(&str, &str)]) -> Result<Policyd, String> {
        Policyd::try_start_binary(binary(), args, env).await
    }

    /// [`Policyd::try_start`] with a given executable (a release build, say).
    pub async fn try_start_binary(
        binary: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Policyd, String> {
        let mut command = Command::new(binary);
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command
            .args(args)
            // Nothing from the developer's environment may leak into a run.
            .env_remove("SPAMHAUS_DQS_KEY")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn dnsbl-policyd");
        let logs = Arc::new(Logs::default());
        let stderr = child.stderr.take().unwrap();
        let collector = Arc::clone(&logs);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                collector.lines.lock().unwrap().push(line);
                collector.changed.notify_waiters();
            }
            *collector.closed.lock().unwrap() = true;
            collector.changed.notify_waiters();
        });
        let mut server = Policyd {
            address: Address::Tcp(([127, 0, 0, 1], 0).into()),
            child,
            logs,
        };
        let Some(line) = server.wait_for_log("listening address=").await else {
            return Err(server.logs());
        };
        let text = line
            .split("listening address=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("an address after 'listening address='");
        server.address = match text.parse() {
            Ok(addr) => Address::Tcp(addr),
            Err(_) => Address::Unix(PathBuf::from(text)),
        };
        Ok(server)
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        match &self.address {
            Address::Tcp(addr) => addr.port(),
            Address::Unix(path) => panic!("listening on {}, not TCP", path.display()),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Every log line so far.
    pub fn logs(&self) -> String {
        self.logs.lines.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle` and returns it; `None` if the server's stderr
    /// closed first. Panics after [`PATIENCE`].
    pub async fn wait_for_log(&self, needle: &str) -> Option<String> {
        self.wait_for_logs(needle, 1)
            .await
            .map(|mut lines| lines.swap_remove(0))
    }

    /// Waits for `count` log lines containing `needle` (log lines are written after the
    /// answer is sent, so they may come a little later), and returns them; `None` if the
    /// server's stderr closed first. Panics after [`PATIENCE`].
    pub async fn wait_for_logs(&self, needle: &str, count: usize) -> Option<Vec<String>> {
        let wait = async {
            loop {
                let notified = self.logs.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let found: Vec<String> = self
                    .logs
                    .lines
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|line| line.contains(needle))
                    .cloned()
                    .collect();
                if found.len() >= count {
                    return Some(found);
                }
                if *self.logs.closed.lock().unwrap() {
                    return None;
                }
                notified.await;
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "fewer than {count} log lines with {needle:?}:\n{}",
                    self.logs()
                )
            })
    }

    /// A new connection.
    pub async fn connect(&self) -> PolicyClient {
        match &self.address {
            Address::Tcp(addr) => PolicyClient::new(TcpStream::connect(addr).await.unwrap()),
            Address::Unix(path) => PolicyClient::new(UnixStream::connect(path).await.unwrap()),
        }
    }

    /// Sends a signal (`TERM`, `INT`, ...) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("dnsbl-policyd did not exit:\n{}", self.logs()))
            .unwrap()
    }
}

/// One policy connection, as Postfix's smtpd holds one.
pub struct PolicyClient {
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
}

impl PolicyClient {
    fn new<S: AsyncRead + AsyncWrite + Send + 'static>(stream: S) -> Self {
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

/// Whether `path` exists (without following symlinks).
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Raises this process's open-file limit to its hard limit (servers started afterwards
/// inherit it), and returns the new soft limit.
pub fn raise_fd_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write a valid, initialised struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

/// `count` connections to `address` that send nothing (from `source`, or the default
/// loopback address), kept open until dropped.
pub async fn idle_connections(
    address: std::net::SocketAddr,
    count: usize,
    source: Option<std::net::IpAddr>,
) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(source) = source {
            socket.bind((source, 0).into()).unwrap();
        }
        streams.push(socket.connect(address).await.unwrap());
    }
    streams
}
