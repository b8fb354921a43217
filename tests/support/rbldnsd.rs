//! Harness for a real `rbldnsd` serving zone files written by the test.
//!
//! rbldnsd is what many real DNSBLs run, so testing against it catches
//! differences between our assumptions and a real server (its wire format
//! quirks, TXT templates, IPv6 nibble names...). Tests using it should check
//! [`Rbldnsd::available`] or be `#[ignore]`d, as the binary may be missing.
//!
//! ```ignore
//! let rbl = Rbldnsd::start(&[(
//!     "bl.test",
//!     ZoneData::Ip4Set(":127.0.0.2:Listed: $\n127.0.0.2\n"),
//! )])?;
//! // query rbl.addr (UDP only: rbldnsd does not serve TCP)
//! ```
//!
//! rbldnsd only warns about invalid lines in the data and serves the rest, so
//! if an entry seems missing, look at [`Rbldnsd::log`].
//!
//! Remember that rbldnsd sends no SOA in negative answers unless the data has
//! a `$SOA` line, and that its default TTL is 35 minutes (`$TTL` changes it).

use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hickory_server::proto::op::{Message, Query};
use hickory_server::proto::rr::{DNSClass, Name, RData, RecordType};

/// Where rbldnsd is looked for unless the `RBLDNSD` environment variable says
/// otherwise.
const DEFAULT_BINARY: &str = "/usr/sbin/rbldnsd";

/// How long rbldnsd may take to start answering.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many ports to try: the port is chosen by binding and releasing a UDP
/// socket, so another process may grab it before rbldnsd binds it.
const BIND_ATTEMPTS: usize = 5;

/// rbldnsd's stdout and stderr go here, to be shown when it fails.
const LOG_FILE: &str = "rbldnsd.log";

/// Data for one zone, in rbldnsd's file syntax (see `man rbldnsd`).
pub enum ZoneData<'a> {
    /// `ip4set` dataset: IPv4 addresses/ranges, e.g. `":127.0.0.2:Listed $\n127.0.0.2\n"`.
    Ip4Set(&'a str),
    /// `ip6trie` dataset: IPv6 CIDR ranges, e.g. `"2001:db8::/32 :127.0.0.3:IPv6 listed\n"`.
    Ip6Trie(&'a str),
    /// `dnset` dataset: domain names, `.example.com` for a domain and its subdomains.
    Dnset(&'a str),
}

impl ZoneData<'_> {
    fn dataset_type(&self) -> &'static str {
        match self {
            ZoneData::Ip4Set(_) => "ip4set",
            ZoneData::Ip6Trie(_) => "ip6trie",
            ZoneData::Dnset(_) => "dnset",
        }
    }

    fn contents(&self) -> &str {
        match self {
            ZoneData::Ip4Set(s) | ZoneData::Ip6Trie(s) | ZoneData::Dnset(s) => s,
        }
    }
}

/// A running rbldnsd on 127.0.0.1 (UDP). Killed when dropped.
pub struct Rbldnsd {
    /// UDP address rbldnsd answers on.
    pub addr: SocketAddr,
    child: Child,
    // Holds the zone files (and rbldnsd's log) until rbldnsd is gone.
    _dir: tempfile::TempDir,
}

impl Rbldnsd {
    /// Is the rbldnsd binary present?
    pub fn available() -> bool {
        binary().is_file()
    }

    /// Write the zones into a temporary directory, start rbldnsd in the
    /// foreground on a free port of 127.0.0.1 and wait until it answers.
    ///
    /// On failure the error includes rbldnsd's output (e.g. a syntax error in
    /// the zone data).
    pub fn start(zones: &[(&str, ZoneData)]) -> io::Result<Rbldnsd> {
        Rbldnsd::start_with(zones, &[])
    }

    /// Like [`Rbldnsd::start`], but rbldnsd checks its zone files for changes every second
    /// (`-c 1`), so that [`Rbldnsd::rewrite`] takes effect while it runs (after about 1 s).
    #[allow(dead_code)] // not every test binary rewrites zones
    pub fn start_reloading(zones: &[(&str, ZoneData)]) -> io::Result<Rbldnsd> {
        Rbldnsd::start_with(zones, &["-c", "1"])
    }

    /// Replaces the data of zone number `index` (in the order given at start), by writing a
    /// new file and renaming it over the old one, so that rbldnsd never reads half a file.
    ///
    /// rbldnsd compares modification times in whole seconds: wait more than a second
    /// between two rewrites of one zone.
    #[allow(dead_code)]
    pub fn rewrite(&self, index: usize, data: &ZoneData) -> io::Result<()> {
        let path = self
            .dir()
            .join(format!("zone{index}.{}", data.dataset_type()));
        let temporary = self.dir().join(format!("zone{index}.new"));
        fs::write(&temporary, data.contents())?;
        fs::set_permissions(&temporary, fs::Permissions::from_mode(0o644))?;
        fs::rename(&temporary, path)
    }

    fn start_with(zones: &[(&str, ZoneData)], extra: &[&str]) -> io::Result<Rbldnsd> {
        if zones.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rbldnsd needs at least one zone",
            ));
        }
        let dir = tempfile::tempdir()?;
        // When started as root, rbldnsd switches to an unprivileged user before
        // reading the zone files (it refuses to keep running as root), so the
        // 0700 temporary directory and its files must be readable by others.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;

        let mut zone_specs = Vec::with_capacity(zones.len());
        for (i, (zone, data)) in zones.iter().enumerate() {
            let path = dir.path().join(format!("zone{i}.{}", data.dataset_type()));
            fs::write(&path, data.contents())?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
            zone_specs.push(format!("{zone}:{}:{}", data.dataset_type(), path.display()));
        }

        Rbldnsd::spawn(dir, &zone_specs, extra)
    }

    /// Starts rbldnsd on `specs` (`zone:type:file[,file...]` as its command line takes them,
    /// the files already written in `dir`), as [`Rbldnsd::start`] does.
    #[allow(dead_code)] // only the mirror tests give their own specs
    pub fn start_specs(dir: tempfile::TempDir, specs: &[String]) -> io::Result<Rbldnsd> {
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        for entry in fs::read_dir(dir.path())? {
            fs::set_permissions(entry?.path(), fs::Permissions::from_mode(0o644))?;
        }
        Rbldnsd::spawn(dir, specs, &[])
    }

    fn spawn(dir: tempfile::TempDir, zone_specs: &[String], extra: &[&str]) -> io::Result<Rbldnsd> {
        // The owner of a directory we just created is our effective uid: a portable
        // way to ask "are we root?" without a libc dependency. As root, `-u`
        // is mandatory; as anyone else, rbldnsd cannot switch users at all
        // (`-u` would fail with EPERM) and simply keeps our uid.
        let running_as_root = fs::metadata(dir.path())?.uid() == 0;

        let log_path = dir.path().join(LOG_FILE);
        let mut last_error = None;
        for _ in 0..BIND_ATTEMPTS {
            let addr = free_udp_addr()?;
            let mut command = Command::new(binary());
            command.arg("-n"); // stay in the foreground so we own (and can kill) the process
            if running_as_root {
                command.args(["-u", "nobody"]);
            }
            command
                .arg("-b")
                .arg(format!("{}/{}", addr.ip(), addr.port()))
                .args(extra)
                .args(zone_specs)
                .stdin(Stdio::null());
            let log = File::create(&log_path)?;
            command.stdout(log.try_clone()?).stderr(log);

            let mut child = command.spawn()?;
            match wait_until_ready(&mut child, addr, b"rbldnsd") {
                Ok(()) => {
                    return Ok(Rbldnsd {
                        addr,
                        child,
                        _dir: dir,
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let output = fs::read_to_string(&log_path).unwrap_or_default();
                    let error = io::Error::new(
                        e.kind(),
                        format!("rbldnsd on {addr}: {e}; its output:\n{output}"),
                    );
                    // Only a lost race for the port is worth another try.
                    if !output.contains("unable to bind") {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one attempt was made"))
    }

    /// rbldnsd's process ID, e.g. to stop it (SIGSTOP) and make it a silent server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// rbldnsd's stdout/stderr so far (startup messages, reload notices).
    pub fn log(&self) -> String {
        fs::read_to_string(self._dir.path().join(LOG_FILE)).unwrap_or_default()
    }

    /// The directory holding the zone files, e.g. to rewrite one (rbldnsd
    /// reloads changed files on SIGHUP or its periodic check).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Rbldnsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    std::env::var_os("RBLDNSD").map_or_else(|| PathBuf::from(DEFAULT_BINARY), PathBuf::from)
}

/// A loopback UDP address that was free a moment ago.
pub(super) fn free_udp_addr() -> io::Result<SocketAddr> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

/// Poll a DNS server with `version.bind CH TXT` queries until it answers, it exits,
/// or [`READY_TIMEOUT`] passes. The answer must start with `server` (`rbldnsd`,
/// `unbound`), so that another server that grabbed the port in the meantime is
/// not mistaken for it.
pub(super) fn wait_until_ready(
    child: &mut Child,
    addr: SocketAddr,
    server: &[u8],
) -> io::Result<()> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    socket.connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut buf = [0u8; 512];
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!("exited early with {status}")));
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "did not answer in time",
            ));
        }

        let (id, query) = version_bind_query();
        // Errors here (e.g. ECONNREFUSED from an ICMP port unreachable before
        // rbldnsd has bound) just mean "not yet".
        if socket.send(&query).is_err() {
            thread::sleep(Duration::from_millis(50));
            continue;
        }
        let Ok(len) = socket.recv(&mut buf) else {
            continue;
        };
        if let Ok(response) = Message::from_vec(&buf[..len])
            && response.metadata.id == id
            && names_server(&response, server)
        {
            return Ok(());
        }
    }
}

fn version_bind_query() -> (u16, Vec<u8>) {
    let mut query = Query::query(
        Name::from_ascii("version.bind.").expect("valid name"),
        RecordType::TXT,
    );
    query.set_query_class(DNSClass::CH);
    let mut message = Message::query();
    message.add_query(query);
    let id = message.metadata.id;
    (id, message.to_vec().expect("encodable query"))
}

fn names_server(response: &Message, server: &[u8]) -> bool {
    response.answers.iter().any(|record| match &record.data {
        RData::TXT(txt) => txt.txt_data.iter().any(|s| s.starts_with(server)),
        _ => false,
    })
}
