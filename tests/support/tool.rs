//! The crate's tools run as real processes: [`Tool`] names one (built once per test run),
//! [`ToolProcess`] is one running, its stdout lines and stderr log collected for the tests.
//!
//! A server (the policy server, the milter) is started with [`ToolProcess::serve`] on
//! `127.0.0.1:0` (or a Unix socket), and the address it bound is read from its log, so that no
//! port is guessed. Other long-lived tools (the exporter, watch mode) are started with
//! [`ToolProcess::spawn`]. The process is killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Notify, mpsc};

use super::TestDns;
use super::policy::PolicyClient;

/// How long a test waits for a tool to do anything.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One of the crate's tools (an example program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `dnsbl-check`, the checker with its watch mode.
    Check,
    /// `dnsbl-policyd`, the Postfix policy server.
    Policyd,
    /// `dnsbl-milter`.
    Milter,
    /// `dnsbl-exporter`, the Prometheus exporter.
    Exporter,
}

impl Tool {
    /// The example's name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Check => "dnsbl-check",
            Tool::Policyd => "dnsbl-policyd",
            Tool::Milter => "dnsbl-milter",
            Tool::Exporter => "dnsbl-exporter",
        }
    }

    /// The tool's executable, built once per test run (cargo does not build examples for
    /// `cargo test --test tools`, and gives integration tests no path to them).
    pub fn binary(self) -> &'static PathBuf {
        static BINARIES: [OnceLock<PathBuf>; 4] = [const { OnceLock::new() }; 4];
        BINARIES[self as usize].get_or_init(|| build_example(self.name(), false))
    }
}

/// Builds an example with cargo and returns the path of its executable, as cargo reports it.
pub fn build_example(name: &str, release: bool) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args([
        "build",
        "--example",
        name,
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        command.arg("--release");
    }
    let output = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(output.status.success(), "cargo build --example failed");
    // Cargo's own messages name the executable, wherever the target directory is.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == name
                && message["target"]["kind"][0] == "example"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable for the example")
}

/// Where a server listens.
#[derive(Debug, Clone)]
pub enum Address {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A running tool. Killed when dropped.
pub struct ToolProcess {
    /// Where it listens, for a server started with [`ToolProcess::serve`].
    address: Option<Address>,
    child: Child,
    /// Its stdin, for a tool started with [`ToolProcess::spawn_with_stdin`].
    stdin: Option<ChildStdin>,
    logs: Arc<Logs>,
    stdout: mpsc::UnboundedReceiver<String>,
}

/// The stderr lines so far, and whether stderr closed.
#[derive(Default)]
struct Logs {
    lines: Mutex<Vec<String>>,
    closed: Mutex<bool>,
    changed: Notify,
}

impl ToolProcess {
    /// Starts `tool` with `args` and `env` added to the environment; its stdin is empty.
    pub fn spawn(tool: Tool, args: &[&str], env: &[(&str, &str)]) -> ToolProcess {
        ToolProcess::spawn_binary(tool.binary(), args, env)
    }

    /// [`ToolProcess::spawn`] with a given executable (a release build, say).
    pub fn spawn_binary(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> ToolProcess {
        ToolProcess::start(binary, args, env, Stdio::null())
    }

    /// [`ToolProcess::spawn`] with a stdin to write to ([`ToolProcess::write_stdin`]), open
    /// until [`ToolProcess::close_stdin`].
    pub fn spawn_with_stdin(tool: Tool, args: &[&str]) -> ToolProcess {
        ToolProcess::start(tool.binary(), args, &[], Stdio::piped())
    }

    fn start(binary: &Path, args: &[&str], env: &[(&str, &str)], stdin: Stdio) -> ToolProcess {
        let mut child = Command::new(binary)
            .args(args)
            // Nothing from the developer's environment may leak into a run.
            .env_remove("SPAMHAUS_DQS_KEY")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        let (sender, stdout) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(line);
            }
        });
        let logs = Arc::new(Logs::default());
        let collector = Arc::clone(&logs);
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                collector.lines.lock().unwrap().push(line);
                collector.changed.notify_waiters();
            }
            *collector.closed.lock().unwrap() = true;
            collector.changed.notify_waiters();
        });
        ToolProcess {
            address: None,
            stdin: child.stdin.take(),
            child,
            logs,
            stdout,
        }
    }

    /// Starts the server `tool` with `args` (plus `--listen 127.0.0.1:0` unless `args` has a
    /// `--listen`), and waits until it listens.
    pub async fn serve(tool: Tool, args: &[&str]) -> ToolProcess {
        ToolProcess::serve_with_env(tool, args, &[]).await
    }

    /// [`ToolProcess::serve`] asking only `dns` (`--nameserver`, `--timeout 2`), then `args`.
    pub async fn serve_asking(tool: Tool, dns: &TestDns, args: &[&str]) -> ToolProcess {
        let address = dns.addr.to_string();
        let server = ["--nameserver", &address, "--timeout", "2"];
        ToolProcess::serve(tool, &[&server[..], args].concat()).await
    }

    /// [`ToolProcess::serve`] with `env` added to the environment.
    pub async fn serve_with_env(tool: Tool, args: &[&str], env: &[(&str, &str)]) -> ToolProcess {
        ToolProcess::try_serve(tool, args, env)
            .await
            .unwrap_or_else(|logs| panic!("{} did not start:\n{logs}", tool.name()))
    }

    /// Starts a server; `Err` holds its logs if it exited instead of listening.
    pub async fn try_serve(
        tool: Tool,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ToolProcess, String> {
        ToolProcess::try_serve_binary(tool.binary(), args, env).await
    }

    /// [`ToolProcess::try_serve`] with a given executable (a release build, say).
    pub async fn try_serve_binary(
        binary: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ToolProcess, String> {
        let listen: &[&str] = if args.contains(&"--listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let mut server = ToolProcess::spawn_binary(binary, &[listen, args].concat(), env);
        let Some(line) = server.wait_for_log("listening address=").await else {
            return Err(server.logs());
        };
        let text = line
            .split("listening address=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("an address after 'listening address='");
        server.address = Some(match text.parse() {
            Ok(addr) => Address::Tcp(addr),
            Err(_) => Address::Unix(PathBuf::from(text)),
        });
        Ok(server)
    }

    /// Where the server listens.
    pub fn address(&self) -> &Address {
        self.address
            .as_ref()
            .expect("a server started with serve()")
    }

    /// The TCP address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        match self.address() {
            Address::Tcp(addr) => *addr,
            Address::Unix(path) => panic!("listening on {}, not TCP", path.display()),
        }
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Every stderr line so far.
    pub fn logs(&self) -> String {
        self.logs.lines.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle` and returns it; `None` if the tool's stderr
    /// closed first. Panics after [`PATIENCE`].
    pub async fn wait_for_log(&self, needle: &str) -> Option<String> {
        self.wait_for_logs(needle, 1)
            .await
            .map(|mut lines| lines.swap_remove(0))
    }

    /// Waits for `count` log lines containing `needle` (log lines are written after the
    /// answer is sent, so they may come a little later), and returns them; `None` if the
    /// tool's stderr closed first. Panics after [`PATIENCE`].
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

    /// Waits until stderr is closed (the tool exited), then returns every line of it.
    pub async fn all_logs(&self) -> String {
        let closed = async {
            loop {
                let notified = self.logs.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if *self.logs.closed.lock().unwrap() {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(PATIENCE, closed)
            .await
            .unwrap_or_else(|_| panic!("stderr still open:\n{}", self.logs()));
        self.logs()
    }

    /// The next stdout line within `patience`: `Err` if none came in time, `Ok(None)` if
    /// stdout closed.
    pub async fn next_line(&mut self, patience: Duration) -> Result<Option<String>, String> {
        tokio::time::timeout(patience, self.stdout.recv())
            .await
            .map_err(|_| self.logs())
    }

    /// Writes `text` to the tool's stdin, and flushes it.
    pub async fn write_stdin(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("a tool spawned with its stdin");
        stdin.write_all(text.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Closes the tool's stdin: the end of its input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// A stdout line already read and not taken yet, if any.
    pub fn try_next_line(&mut self) -> Option<String> {
        self.stdout.try_recv().ok()
    }

    /// Every stdout line not read yet, up to the end of stdout.
    pub async fn rest_of_stdout(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Some(line) = self.stdout.recv().await {
            rest.push(line);
        }
        rest
    }

    /// A new policy connection to the server.
    pub async fn connect(&self) -> PolicyClient {
        match self.address() {
            Address::Tcp(addr) => PolicyClient::new(TcpStream::connect(addr).await.unwrap()),
            Address::Unix(path) => PolicyClient::new(UnixStream::connect(path).await.unwrap()),
        }
    }

    /// Sends `signal` (`libc::SIGTERM`, ...).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("a pid");
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal}) failed");
    }

    /// Kills the process outright (SIGKILL).
    pub fn kill(&mut self) {
        self.child.start_kill().unwrap();
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits for the process to exit; panics after [`PATIENCE`].
    pub async fn wait(&mut self) -> ExitStatus {
        self.wait_within(PATIENCE).await
    }

    /// Waits for the process to exit; panics after `patience`.
    pub async fn wait_within(&mut self, patience: Duration) -> ExitStatus {
        tokio::time::timeout(patience, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {patience:?}:\n{}", self.logs()))
            .unwrap()
    }
}

/// Raises this process's open-file limit to its hard limit (tools started afterwards
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
    address: SocketAddr,
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

/// Opens `count` idle connections to `server` (more than it takes), then runs `ask`, a new
/// client's first question, while they stay open: its answer within 3 s, and how long it took.
pub async fn answer_past_idle_connections<T>(
    server: &ToolProcess,
    count: usize,
    ask: impl Future<Output = T>,
) -> (T, Duration) {
    let idle = idle_connections(server.addr(), count, None).await;
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(3), ask)
        .await
        .expect("an answer within 3 s");
    let took = started.elapsed();
    drop(idle);
    (answer, took)
}

/// Whether `path` exists (without following symlinks).
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
