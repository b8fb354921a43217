//! End to end: a private Postfix instance asks `dnsbl-policyd` about each recipient, and
//! answers SMTP clients accordingly.
//!
//! Needs root, Postfix and swaks (`.ci/run` installs them); run with
//! `cargo test --test postfix_e2e -- --ignored`. The setup follows the verified notes for
//! running a private Postfix: its own configuration, queue and data directories under a
//! temporary directory, smtpd on a loopback port, the smtp client left out (nothing leaves
//! the machine, every message is discarded), and XCLIENT from 127.0.0.1 to present chosen
//! client addresses.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::policyd_support::Policyd;
use crate::support::TestDns;
use tokio::process::Command;

const BL: &str = "bl.test";

/// A Postfix instance of its own, stopped when dropped.
struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
}

impl Postfix {
    /// Starts Postfix with smtpd on a free loopback port, asking the policy server on
    /// `policy_port` about every recipient.
    async fn start(policy_port: u16) -> Postfix {
        let dir = tempfile::Builder::new()
            .prefix("pftest")
            .tempdir()
            .expect("create a temporary directory");
        // Postfix's daemons run as the postfix user and must reach the queue directory.
        set_mode(dir.path(), 0o755);
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let data = dir.path().join("data");
        run(Command::new("chown").arg("postfix:postfix").arg(&data)).await;

        let port = free_port();
        let root = dir.path().display();
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = pftest.example.test
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = static:ALL
default_transport = discard
relay_transport = discard
local_transport = discard
alias_maps =
alias_database =
local_recipient_maps =
service_throttle_time = 2s
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:{policy_port}, permit
"
        );
        // Chroot off everywhere; the usual internal services; no smtp client.
        let master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"
        );
        std::fs::write(dir.path().join("conf/main.cf"), main_cf).unwrap();
        std::fs::write(dir.path().join("conf/master.cf"), master_cf).unwrap();

        let postfix = Postfix { dir, port };
        let started = Command::new("postfix")
            .arg("-c")
            .arg(postfix.conf())
            .arg("start")
            .output()
            .await
            .expect("run postfix (is it installed?)");
        assert!(
            started.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr),
            postfix.maillog()
        );
        postfix.wait_for_smtpd().await;
        postfix
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Waits until smtpd greets.
    async fn wait_for_smtpd(&self) {
        let greeted = async {
            loop {
                if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                    let mut greeting = [0; 3];
                    let mut stream = stream;
                    if tokio::io::AsyncReadExt::read_exact(&mut stream, &mut greeting)
                        .await
                        .is_ok()
                        && &greeting == b"220"
                    {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), greeted)
            .await
            .unwrap_or_else(|_| panic!("smtpd never greeted:\n{}", self.maillog()));
    }

    /// Sends a message with swaks, presenting `client` through XCLIENT.
    async fn send_from(&self, client: &str) -> Output {
        Command::new("swaks")
            .args(["--timeout", "20", "--server"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--xclient")
            .arg(format!("ADDR={client} NAME=client.example.test"))
            .args(["--ehlo", "client.example.test"])
            .args(["--to", "a@example.test", "--from", "b@example.test"])
            .output()
            .await
            .expect("run swaks (is it installed?)")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = std::process::Command::new("postfix")
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .output();
    }
}

async fn run(command: &mut Command) {
    let output = command.output().await.expect("run a command");
    assert!(output.status.success(), "{command:?}: {output:?}");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A loopback port nobody listened on a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_rejects_listed_clients_and_accepts_clean_ones() {
    let dns = TestDns::builder()
        .zone(BL)
        .a("2.0.0.127.bl.test", &["127.0.0.2"], 60)
        .a("55.2.0.192.bl.test", &["127.0.0.2"], 60)
        .txt("55.2.0.192.bl.test", &["Listed for testing"], 60)
        .start()
        .await;
    let address = dns.addr.to_string();
    let policyd = Policyd::start(&["--nameserver", &address, "--zone", BL]).await;
    let postfix = Postfix::start(policyd.port()).await;

    let listed = postfix.send_from("192.0.2.55").await;
    let transcript = String::from_utf8_lossy(&listed.stdout);
    assert!(
        transcript.contains(
            "554 5.7.1 <a@example.test>: Recipient address rejected: Service unavailable; \
             client [192.0.2.55] blocked using bl.test; Listed for testing"
        ),
        "{transcript}\n{}",
        postfix.maillog()
    );
    // swaks: 24 is "the server rejected the recipient".
    assert_eq!(listed.status.code(), Some(24), "{transcript}");

    let clean = postfix.send_from("198.51.100.7").await;
    let transcript = String::from_utf8_lossy(&clean.stdout);
    assert!(
        transcript.contains("250 2.0.0 Ok: queued as"),
        "{transcript}\n{}",
        postfix.maillog()
    );
    assert_eq!(clean.status.code(), Some(0), "{transcript}");

    // Postfix kept one policy connection for both messages' requests, or opened a second;
    // either way the server decided once per recipient.
    let decisions = policyd.wait_for_logs(" decision ", 2).await.unwrap();
    assert!(
        decisions[0].contains("client=\"192.0.2.55\""),
        "{decisions:?}"
    );
    assert!(
        decisions[1].contains("client=\"198.51.100.7\""),
        "{decisions:?}"
    );
}
