//! Harness for a real `unbound`: the resolver an admin runs, serving MX, A, AAAA and PTR
//! records from `local-data` and sending the list zones to an rbldnsd (stub zones).
//!
//! ```ignore
//! let unbound = Unbound::start(
//!     &[
//!         r#"local-zone: "example.test" transparent"#,
//!         r#"local-data: "example.test. MX 10 mx1.example.test.""#,
//!     ],
//!     &[("bl.test", rbldnsd.addr)],
//! )?;
//! // query unbound.addr
//! ```
//!
//! Every other `in-addr.arpa` and `ip6.arpa` name gets NXDOMAIN at once (static zones), so
//! nothing is ever asked of the internet. unbound answers every name under `.test` with
//! NXDOMAIN by default (RFC 6761), stub zones included, without asking: the harness turns
//! that default off, so list zones under `.test` reach rbldnsd. If a record seems missing, look at
//! [`Unbound::log`].

use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::rbldnsd::{free_udp_addr, wait_until_ready};

/// Where unbound is looked for unless the `UNBOUND` environment variable says otherwise.
const DEFAULT_BINARY: &str = "/usr/sbin/unbound";

/// How many ports to try: another process may take the chosen one first.
const BIND_ATTEMPTS: usize = 5;

/// A running unbound on 127.0.0.1 (UDP and TCP). Killed when dropped.
pub struct Unbound {
    /// The address unbound answers on.
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Unbound {
    /// Is the unbound binary present?
    pub fn available() -> bool {
        binary().is_file()
    }

    /// Starts unbound in the foreground on a free port of 127.0.0.1 with `server` lines
    /// (`local-zone:`, `local-data:` ...) added to its `server:` section, and each
    /// `(zone, address)` of `stubs` sent to that server; waits until it answers.
    pub fn start(server: &[&str], stubs: &[(&str, SocketAddr)]) -> io::Result<Unbound> {
        let dir = tempfile::tempdir()?;
        let mut last_error = None;
        for _ in 0..BIND_ATTEMPTS {
            let addr = free_udp_addr()?;
            let config = dir.path().join("unbound.conf");
            fs::write(&config, config_text(dir.path(), addr, server, stubs))?;
            let log = File::create(dir.path().join("stdout.log"))?;
            let mut child = Command::new(binary())
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            match wait_until_ready(&mut child, addr, b"unbound") {
                Ok(()) => return Ok(Unbound { addr, child, dir }),
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = fs::read_to_string(dir.path().join("log")).unwrap_or_default();
                    let error = io::Error::new(
                        error.kind(),
                        format!("unbound on {addr}: {error}; its log:\n{log}"),
                    );
                    // A lost race for the port (UDP or TCP) shows as silence as often as
                    // in the log: any failure is worth another port.
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one attempt was made"))
    }

    /// unbound's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(
    dir: &std::path::Path,
    addr: SocketAddr,
    server: &[&str],
    stubs: &[(&str, SocketAddr)],
) -> String {
    let dir = dir.display();
    let mut text = format!(
        r#"server:
  interface: {ip}
  port: {port}
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "{dir}"
  pidfile: "{dir}/pid"
  use-syslog: no
  logfile: "{dir}/log"
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  num-threads: 1
  do-ip6: no
  local-zone: "in-addr.arpa" static
  local-zone: "ip6.arpa" static
  local-zone: "test." nodefault
"#,
        ip = addr.ip(),
        port = addr.port(),
    );
    for line in server {
        text.push_str(&format!("  {line}\n"));
    }
    for (zone, stub) in stubs {
        text.push_str(&format!(
            "stub-zone:\n  name: \"{zone}\"\n  stub-addr: {}@{}\n",
            stub.ip(),
            stub.port()
        ));
    }
    text
}

fn binary() -> PathBuf {
    std::env::var_os("UNBOUND").map_or_else(|| PathBuf::from(DEFAULT_BINARY), PathBuf::from)
}
