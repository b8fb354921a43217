//! A private Postfix instance on a loopback port, for end-to-end tests (needs root, Postfix
//! and swaks; see the notes on running a private Postfix).
//!
//! Its own configuration, queue and data directories under a temporary directory, smtpd on
//! a loopback port, the smtp client left out (nothing leaves the machine), and XCLIENT from
//! 127.0.0.1 to present chosen client addresses. [`Postfix::start`] takes the main.cf lines a
//! test is about; [`Postfix::with_policy`] and [`Postfix::with_milter`] are the two filter
//! set-ups the mail tools are tested in.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

/// A Postfix instance of its own, stopped when dropped.
pub struct Postfix {
    dir: tempfile::TempDir,
    /// The loopback port smtpd listens on.
    pub port: u16,
}

/// What the policy and milter instances share: the test's own connection is in
/// `mynetworks`, and relaying elsewhere is refused.
const FILTERED: &str = "mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = reject_unauth_destination
";

impl Postfix {
    /// Starts Postfix asking the policy server on `policy_port` about every recipient;
    /// mail is discarded.
    pub async fn with_policy(policy_port: u16) -> Postfix {
        Postfix::start(&format!(
            "{FILTERED}relay_domains = static:ALL
smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:{policy_port}, permit
"
        ))
        .await
    }

    /// Starts Postfix passing every session to the milter on `milter_port`
    /// (`milter_default_action = accept`); mail for example.test is delivered to one mbox
    /// file, [`Postfix::mailbox`], by the virtual delivery agent.
    pub async fn with_milter(milter_port: u16) -> Postfix {
        Postfix::start(&format!(
            "{FILTERED}relay_domains =
virtual_mailbox_domains = example.test
virtual_mailbox_maps = static:mailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_milters = inet:127.0.0.1:{milter_port}
milter_default_action = accept
milter_protocol = 6
"
        ))
        .await
    }

    /// Starts Postfix with smtpd on a free loopback port. `settings` are main.cf lines for
    /// what the test is about (`mynetworks`, `relay_domains`, the restrictions, filters).
    /// Every transport discards; only the virtual delivery agent, if `settings` name
    /// `virtual_mailbox_domains`, delivers, into the instance's own directory.
    pub async fn start(settings: &str) -> Postfix {
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
        // The virtual delivery agent writes as nobody.
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        run(Command::new("chown").arg("65534:65534").arg(&mail)).await;

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
default_transport = discard
relay_transport = discard
local_transport = discard
alias_maps =
alias_database =
local_recipient_maps =
service_throttle_time = 2s
smtpd_authorized_xclient_hosts = 127.0.0.1
virtual_mailbox_base = {root}/mail
{settings}"
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
virtual   unix  -       n       n       -       -       virtual
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

    /// The mbox file [`Postfix::with_milter`]'s instance delivers to (empty until something is delivered).
    pub fn mailbox(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mail/mailbox")).unwrap_or_default()
    }

    /// Waits until the mailbox holds `needle`, and returns the mailbox.
    pub async fn wait_for_delivery(&self, needle: &str) -> String {
        let delivered = async {
            loop {
                let mailbox = self.mailbox();
                if mailbox.contains(needle) {
                    return mailbox;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), delivered)
            .await
            .unwrap_or_else(|_| panic!("{needle:?} never delivered:\n{}", self.maillog()))
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// Postfix's log so far.
    pub fn maillog(&self) -> String {
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
    pub async fn send_from(&self, client: &str) -> Output {
        self.swaks(client, &[]).await
    }

    /// Sends `message` (headers and body, CRLF line ends) with swaks, presenting `client`
    /// through XCLIENT.
    pub async fn send_message(&self, client: &str, message: &str) -> Output {
        let file = self.dir.path().join("message.eml");
        std::fs::write(&file, message).unwrap();
        let data = format!("@{}", file.display());
        self.swaks(client, &["--data", &data]).await
    }

    /// Sends a message with swaks from 127.0.0.1 with source address `source` (another
    /// loopback address), without XCLIENT: the MTA's own connect stage.
    pub async fn send_directly_from(&self, source: &str) -> Output {
        Command::new("swaks")
            .args(["--timeout", "20", "--server"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["--local-interface", source])
            .args(["--to", "a@example.test", "--from", "b@example.test"])
            .output()
            .await
            .expect("run swaks (is it installed?)")
    }

    async fn swaks(&self, client: &str, more: &[&str]) -> Output {
        Command::new("swaks")
            .args(["--timeout", "20", "--server"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--xclient")
            .arg(format!("ADDR={client} NAME=client.example.test"))
            .args(["--ehlo", "client.example.test"])
            .args(["--to", "a@example.test", "--from", "b@example.test"])
            .args(more)
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
