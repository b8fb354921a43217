//! The state file: an SQLite database with every pair's status, the event history and the
//! outbox of deliveries not yet made.
//!
//! A state file is validated before it is opened for writing: its header must say it is an
//! SQLite database made by this crate, and SQLite's `quick_check` and the schema version
//! must pass on a read-only connection. Anything else is a [`StoreError`] naming the file,
//! and the file is left exactly as it was.
//!
//! One watcher at a time: [`StateStore::open`] takes an exclusive lock on the file (see
//! [`WriterLock`]), and a second watcher gets [`StoreError::Locked`], naming the holder.
//! Readers (`--history`, [`StateStore::open_read_only`]) take no lock.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::target::Target;

use super::status::PairStatus;
use super::tracker::{Event, PairState, Tracker, TrackerConfig};

/// SQLite's `application_id` of a state file: "DBLW".
const APPLICATION_ID: i32 = 0x4442_4C57;
/// The schema version (`user_version`).
const SCHEMA_VERSION: i32 = 1;
/// The first 16 bytes of every SQLite 3 database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

const SCHEMA: &str = "
    CREATE TABLE pairs (
        target TEXT NOT NULL,
        list TEXT NOT NULL,
        status TEXT NOT NULL,
        last_answer TEXT,
        pending TEXT,
        count INTEGER NOT NULL,
        PRIMARY KEY (target, list)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        target TEXT NOT NULL,
        list TEXT NOT NULL,
        event TEXT NOT NULL,
        json TEXT NOT NULL,
        line TEXT NOT NULL
    );
    CREATE INDEX events_by_target ON events (target);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        sink TEXT NOT NULL,
        payload TEXT NOT NULL,
        created TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        delivered TEXT
    );
    CREATE INDEX outbox_pending ON outbox (sink, id) WHERE delivered IS NULL;
";

/// A state file could not be used.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::StateStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("state.db");
/// std::fs::write(&path, b"not a database").unwrap();
/// let error = StateStore::open(&path).unwrap_err();
/// assert!(error.to_string().contains("state.db"));
/// assert_eq!(std::fs::read(&path).unwrap(), b"not a database"); // left as it was
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file could not be read or created.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The file is not a state file of this program (or is damaged beyond its header).
    #[error("state file {path} is not usable: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Another watcher holds the state file: two writers would each report the same change
    /// and queue its deliveries twice.
    #[error(
        "state file {path} is in use by another watcher ({holder}); lock file {lock}",
        lock = lock.display()
    )]
    Locked {
        /// The state file.
        path: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
        /// Who holds it, as recorded in the lock file: `pid 1234 on host mail, since
        /// 2026-03-01T12:00:00Z`, or `holder unknown`.
        holder: String,
    },
    /// SQLite failed.
    #[error("state file {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// One delivery waiting in the outbox.
///
/// # Examples
///
/// See [`deliver_pending`](super::deliver_pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    /// The outbox row: unique and increasing, so a receiver can drop a repeat.
    pub id: i64,
    /// The events of one round, as a JSON array.
    pub payload: String,
}

/// The state file of watch mode.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::{StateStore, TrackerConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.db");
/// let mut store = StateStore::open(&path)?; // created, empty
/// let mut tracker = store.load(TrackerConfig::default())?;
/// assert!(tracker.is_empty());
/// // ... a round with a `Watcher` fills the tracker ...
/// store.save_round(&mut tracker, &[], &["webhook"])?;
/// assert!(store.history(&[])?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct StateStore {
    connection: Connection,
    path: PathBuf,
    /// Held for as long as the store is open for writing; `None` in memory and read-only.
    _lock: Option<WriterLock>,
}

impl StateStore {
    /// Opens the state file at `path` for watching, creating it if it does not exist.
    ///
    /// An existing file is validated first: its header must say it is an SQLite database made
    /// by this crate, and SQLite's `quick_check` and the schema version must pass on a
    /// read-only connection. A file that fails is a [`StoreError`] and is left untouched.
    ///
    /// The store holds an exclusive lock on the file until it is dropped: while another
    /// store (in this or another process) has it open, this is [`StoreError::Locked`],
    /// naming the holder.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::monitor::{StateStore, StoreError};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("state.db");
    /// let watcher = StateStore::open(&path).unwrap();
    /// let second = StateStore::open(&path).unwrap_err();
    /// assert!(matches!(second, StoreError::Locked { .. }));
    /// assert!(second.to_string().contains(&format!("pid {}", std::process::id())));
    /// assert!(StateStore::open_read_only(&path).is_ok()); // readers take no lock
    /// drop(watcher);
    /// assert!(StateStore::open(&path).is_ok());
    /// ```
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // First the lock, so that what follows (is the file new? is it sound?) is not raced
        // by another watcher creating or changing it.
        let lock = WriterLock::take(path)?;
        let is_new = match std::fs::metadata(path) {
            Ok(meta) => meta.is_file() && meta.len() == 0,
            Err(error) if error.kind() == io::ErrorKind::NotFound => true,
            Err(error) => return Err(io_error(path, error)),
        };
        if !is_new {
            validate(path)?;
        }
        let connection = Connection::open(path).map_err(|e| sqlite_error(path, e))?;
        let store = StateStore {
            connection,
            path: path.to_owned(),
            _lock: lock,
        };
        store.configure()?;
        if is_new {
            store.create_schema()?;
        }
        Ok(store)
    }

    /// A state kept in memory only: watching without a state file.
    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|e| sqlite_error(&path, e))?;
        let store = StateStore {
            connection,
            path,
            _lock: None,
        };
        store.create_schema()?;
        Ok(store)
    }

    /// Opens an existing state file read-only, for reading its history.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        validate(path)?;
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite_error(path, e))?;
        Ok(StateStore {
            connection,
            path: path.to_owned(),
            _lock: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> Result<(), StoreError> {
        // Another process (`--history`) may read while a round is written.
        self.connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| self.sqlite(e))?;
        // A round's transaction is durable when it commits; NORMAL is enough with a rollback
        // journal to survive a crash of this process, and a power loss loses at most the last
        // round, never consistency.
        self.connection
            .execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(|e| self.sqlite(e))
    }

    fn create_schema(&self) -> Result<(), StoreError> {
        let sql = format!(
            "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; \
             PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        );
        self.connection
            .execute_batch(&sql)
            .map_err(|e| self.sqlite(e))
    }

    /// Reads every pair's state into a new tracker with `config`.
    pub fn load(&self, config: TrackerConfig) -> Result<Tracker, StoreError> {
        let mut tracker = Tracker::new(config);
        let mut statement = self
            .connection
            .prepare("SELECT target, list, status, last_answer, pending, count FROM pairs")
            .map_err(|e| self.sqlite(e))?;
        let mut rows = statement.query([]).map_err(|e| self.sqlite(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sqlite(e))? {
            let text = |i: usize| row.get::<_, Option<String>>(i);
            let (target, list, status, last_answer, pending, count) = (|| {
                Ok::<_, rusqlite::Error>((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    text(3)?,
                    text(4)?,
                    row.get::<_, u32>(5)?,
                ))
            })()
            .map_err(|e| self.sqlite(e))?;
            let bad = |what: &str| self.invalid(format!("bad {what} in pairs row {target}/{list}"));
            let decode = |text: Option<String>, what: &str| match text {
                None => Ok(None),
                Some(text) => PairStatus::decode(&text).map(Some).ok_or_else(|| bad(what)),
            };
            let state = PairState {
                status: PairStatus::decode(&status).ok_or_else(|| bad("status"))?,
                last_answer: decode(last_answer, "last answer")?,
                pending: decode(pending, "pending status")?,
                count,
            };
            let target: Target = target.parse().map_err(|_| bad("target"))?;
            tracker.restore(target, &list, state);
        }
        Ok(tracker)
    }

    /// Saves a round in one transaction: the pairs it changed, its events, and one outbox
    /// entry per sink (when it has events). Either all of it is saved or none.
    pub fn save_round(
        &mut self,
        tracker: &mut Tracker,
        events: &[Event],
        sinks: &[&str],
    ) -> Result<(), StoreError> {
        let dirty = tracker.take_dirty();
        let path = self.path.clone();
        let fail = |e| sqlite_error(&path, e);
        let transaction = self.connection.transaction().map_err(fail)?;
        {
            let mut save_pair = transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO pairs \
                     (target, list, status, last_answer, pending, count) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(fail)?;
            for (target, index) in &dirty {
                let Some((list, state)) = tracker.pair(target, *index) else {
                    continue;
                };
                save_pair
                    .execute(params![
                        target.to_string(),
                        list,
                        state.status.encode(),
                        state.last_answer.as_ref().map(PairStatus::encode),
                        state.pending.as_ref().map(PairStatus::encode),
                        state.count,
                    ])
                    .map_err(fail)?;
            }
            let mut save_event = transaction
                .prepare_cached(
                    "INSERT INTO events (at, target, list, event, json, line) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(fail)?;
            for event in events {
                let json = serde_json::to_string(event).map_err(|e| {
                    sqlite_error(&path, rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
                })?;
                save_event
                    .execute(params![
                        event.at,
                        event.target.to_string(),
                        event.list,
                        event.event.as_str(),
                        json,
                        event.to_string(),
                    ])
                    .map_err(fail)?;
            }
            if let Some(first) = events.first().filter(|_| !sinks.is_empty()) {
                let payload = serde_json::to_string(events).map_err(|e| {
                    sqlite_error(&path, rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
                })?;
                let mut queue = transaction
                    .prepare_cached(
                        "INSERT INTO outbox (sink, payload, created) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(fail)?;
                for sink in sinks {
                    queue
                        .execute(params![sink, payload, first.at])
                        .map_err(fail)?;
                }
            }
        }
        transaction.commit().map_err(fail)
    }

    /// The recorded events, oldest first, as (JSON object, readable line); only those of
    /// `targets` when any are given.
    pub fn history(&self, targets: &[Target]) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT target, json, line FROM events ORDER BY id")
            .map_err(|e| self.sqlite(e))?;
        let wanted: Vec<String> = targets.iter().map(ToString::to_string).collect();
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut events = Vec::new();
        for row in rows {
            let (target, json, line) = row.map_err(|e| self.sqlite(e))?;
            if wanted.is_empty() || wanted.contains(&target) {
                events.push((json, line));
            }
        }
        Ok(events)
    }

    /// The deliveries for `sink` not yet made, oldest first.
    pub fn pending(&self, sink: &str) -> Result<Vec<PendingDelivery>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, payload FROM outbox WHERE sink = ?1 AND delivered IS NULL ORDER BY id",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([sink], |row| {
                Ok(PendingDelivery {
                    id: row.get(0)?,
                    payload: row.get(1)?,
                })
            })
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sqlite(e))
    }

    /// Records that delivery `id` was made, at `at`. Committed at once, so that a restart
    /// does not make it again.
    pub fn mark_delivered(&self, id: i64, at: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE outbox SET delivered = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, at],
        )
    }

    /// Records a failed attempt at delivery `id`; it stays pending.
    pub fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![id, error],
        )
    }

    /// How many attempts delivery `id` has had.
    pub fn attempts(&self, id: i64) -> Result<Option<u32>, StoreError> {
        self.connection
            .query_row("SELECT attempts FROM outbox WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.sqlite(e))
    }

    /// Runs one statement, committed at once.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
        self.connection
            .execute(sql, params)
            .map(drop)
            .map_err(|e| self.sqlite(e))
    }

    fn sqlite(&self, error: rusqlite::Error) -> StoreError {
        sqlite_error(&self.path, error)
    }

    fn invalid(&self, problem: String) -> StoreError {
        StoreError::Invalid {
            path: self.path.clone(),
            problem,
        }
    }
}

/// The writer's lock on a state file: an exclusive `flock(2)` on a file beside it
/// (`state.db.lock`), which records who holds it (pid, host, since when).
///
/// Why an OS lock, and not a holder row with a lease in the database itself: a lease must be
/// refreshed while rounds run (a round of a /16 takes minutes), and the holder of a lease
/// that died blocks every successor until the lease runs out, or until a liveness check
/// that pid reuse and other hosts defeat. The kernel drops an `flock` the moment the last
/// descriptor of its holder closes, however the process ends (SIGKILL, a crash, the OOM
/// killer), so a stale lock never blocks anyone; the lock file it leaves behind is simply
/// taken over. The descriptor is close-on-exec, so `--exec` commands do not inherit the
/// lock.
///
/// Why a file beside the database, not the database file: SQLite takes its own (`fcntl`)
/// locks on that file, and on NFS Linux emulates `flock` with `fcntl` locks, so the two
/// would collide. The lock file is never removed: removing it would let a third process
/// lock a new file while the holder still locks the old one.
///
/// Without `flock` (non-Unix systems) there is no lock; keep to one watcher per file there.
#[derive(Debug)]
struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock of the state file `path`, or says who holds it.
    #[cfg(unix)]
    fn take(path: &Path) -> Result<Option<Self>, StoreError> {
        use rustix::fs::{FlockOperation, flock};
        use std::io::{Seek, Write};

        let lock = lock_of(path);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false) // it may hold the holder's record, to be read below
            .open(&lock)
            .map_err(|e| io_error(&lock, e))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                    holder: read_holder(&mut file),
                    lock,
                });
            }
            Err(error) => return Err(io_error(&lock, error.into())),
        }
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let since = super::time::rfc3339(std::time::SystemTime::now());
        let record = format!("pid {}\nhost {host}\nsince {since}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(record.as_bytes()))
            .map_err(|e| io_error(&lock, e))?;
        Ok(Some(WriterLock { _file: file }))
    }

    #[cfg(not(unix))]
    fn take(_path: &Path) -> Result<Option<Self>, StoreError> {
        Ok(None)
    }
}

/// The lock file of the state file at `path`.
fn lock_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The holder recorded in a lock file, for a message: `pid 1234 on host mail, since
/// 2026-03-01T12:00:00Z`. The file is read bounded, and what it says is checked: anyone who
/// can write beside the state file can write in it.
#[cfg_attr(not(unix), allow(dead_code))]
fn read_holder(file: &mut File) -> String {
    let mut buffer = [0u8; 512];
    let read = read_up_to(file, &mut buffer).unwrap_or(0);
    let text = String::from_utf8_lossy(&buffer[..read]);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .filter(|value| {
                !value.is_empty()
                    && value.len() <= 255
                    && value.bytes().all(|b| b.is_ascii_graphic())
            })
    };
    let pid = field("pid").and_then(|pid| pid.parse::<u32>().ok());
    match (pid, field("host"), field("since")) {
        (Some(pid), Some(host), Some(since)) => format!("pid {pid} on host {host}, since {since}"),
        (Some(pid), _, _) => format!("pid {pid}"),
        _ => "holder unknown".to_owned(),
    }
}

/// Checks that `path` is a sound state file without writing to it: the header first (by
/// reading the bytes), then SQLite's own checks on a read-only connection.
fn validate(path: &Path) -> Result<(), StoreError> {
    let invalid = |problem: &str| StoreError::Invalid {
        path: path.to_owned(),
        problem: problem.to_owned(),
    };
    let mut header = [0u8; 100];
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let read = read_up_to(&mut file, &mut header).map_err(|e| io_error(path, e))?;
    if read < header.len() || &header[..16] != SQLITE_MAGIC {
        return Err(invalid("not an SQLite database"));
    }
    let application_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if application_id != APPLICATION_ID {
        return Err(invalid(
            "an SQLite database, but not a dnsbl-check state file",
        ));
    }
    match sqlite_checks(path) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(problem)) => Err(invalid(&problem)),
        // A crash mid-round leaves a hot journal that a read-only connection cannot roll
        // back. The header says the file is ours: rolling back is the right recovery, and
        // SQLite does it when the file is opened for writing.
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::ReadOnly && journal_of(path).exists() =>
        {
            Ok(())
        }
        Err(error) => Err(sqlite_error(path, error)),
    }
}

/// SQLite's integrity check and the schema version, on a read-only connection.
fn sqlite_checks(path: &Path) -> Result<Result<(), String>, rusqlite::Error> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let check: String = connection.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if check != "ok" {
        return Ok(Err(format!("damaged: {check}")));
    }
    let version: i32 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version != SCHEMA_VERSION {
        return Ok(Err(format!(
            "schema version {version}, this program knows {SCHEMA_VERSION}"
        )));
    }
    Ok(Ok(()))
}

/// SQLite's rollback journal of the database at `path`.
fn journal_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn io_error(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{DnsList, ListKind};
    use crate::outcome::{ListResult, Listing, Outcome};

    fn result(listed: bool) -> ListResult {
        let list = DnsList::from_spec("bl.example", ListKind::Ip).unwrap();
        let outcome = if listed {
            Outcome::Listed(Listing {
                codes: vec!["127.0.0.2".parse().unwrap()],
                categories: vec![],
                reasons: vec![],
                ttl: 60,
            })
        } else {
            Outcome::NotListed
        };
        ListResult::new(&list, outcome)
    }

    fn config() -> TrackerConfig {
        TrackerConfig {
            confirm: 2,
            ..TrackerConfig::default()
        }
    }

    /// A new store in a temporary directory (kept while the directory is), and its tracker.
    fn fresh() -> (tempfile::TempDir, std::path::PathBuf, StateStore, Tracker) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = StateStore::open(&path).unwrap();
        let tracker = store.load(config()).unwrap();
        (dir, path, store, tracker)
    }

    /// Observes one result for each of `targets` and saves the round.
    fn round(store: &mut StateStore, tracker: &mut Tracker, listed: bool, at: &str) -> Vec<Event> {
        let mut events = Vec::new();
        for target in ["192.0.2.1", "192.0.2.2"] {
            tracker.observe(&target.parse().unwrap(), &result(listed), at, &mut events);
        }
        store.save_round(tracker, &events, &["hook"]).unwrap();
        events
    }

    #[test]
    fn state_survives_a_restart_without_repeating_events() {
        let (_dir, path, mut store, mut tracker) = fresh();
        assert!(round(&mut store, &mut tracker, false, "t1").is_empty()); // baseline
        assert!(round(&mut store, &mut tracker, true, "t2").is_empty()); // pending 1 of 2
        drop(store);

        // Restart in the middle of confirming: the count goes on from where it was.
        let mut store = StateStore::open(&path).unwrap();
        let mut tracker = store.load(config()).unwrap();
        assert_eq!(tracker.len(), 2);
        let events = round(&mut store, &mut tracker, true, "t3");
        assert_eq!(events.len(), 2);
        drop(store);

        // Restart after the events: nothing is reported again.
        let mut store = StateStore::open(&path).unwrap();
        let mut tracker = store.load(config()).unwrap();
        assert!(round(&mut store, &mut tracker, true, "t4").is_empty());
        let history = store.history(&[]).unwrap();
        assert_eq!(history.len(), 2);
        assert!(history[0].0.contains("\"event\":\"listed\""), "{history:?}");
        assert!(history[0].1.contains("listed 192.0.2.1"), "{history:?}");
        let only = store.history(&["192.0.2.2".parse().unwrap()]).unwrap();
        assert_eq!(only.len(), 1);
        assert!(only[0].1.contains("192.0.2.2"));
        // One outbox entry for the one round with events.
        let pending = store.pending("hook").unwrap();
        assert_eq!(pending.len(), 1);
        assert!(store.pending("other").unwrap().is_empty());
        let payload: serde_json::Value = serde_json::from_str(&pending[0].payload).unwrap();
        assert_eq!(payload.as_array().unwrap().len(), 2);
        store.mark_failed(pending[0].id, "down").unwrap();
        assert_eq!(store.pending("hook").unwrap().len(), 1);
        store.mark_delivered(pending[0].id, "t5").unwrap();
        assert!(store.pending("hook").unwrap().is_empty());
        assert_eq!(store.attempts(pending[0].id).unwrap(), Some(2));
    }

    fn assert_rejected_untouched(path: &Path, contents: &[u8]) {
        std::fs::write(path, contents).unwrap();
        let error = StateStore::open(path).unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert_eq!(std::fs::read(path).unwrap(), contents);
        assert!(StateStore::open_read_only(path).is_err());
        assert_eq!(std::fs::read(path).unwrap(), contents);
        assert!(!journal_of(path).exists());
    }

    #[test]
    fn garbage_is_rejected_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        assert_rejected_untouched(&path, b"hello, this is not a database at all\n");
        let mut garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_rejected_untouched(&path, &garbage);
        // The right magic, garbage after it.
        garbage[..16].copy_from_slice(SQLITE_MAGIC);
        assert_rejected_untouched(&path, &garbage);
    }

    #[test]
    fn foreign_and_damaged_databases_are_rejected_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let contents = std::fs::read(&foreign).unwrap();
        assert_rejected_untouched(&foreign, &contents);

        // A real state file cut short.
        let path = dir.path().join("state.db");
        let mut store = StateStore::open(&path).unwrap();
        let mut tracker = store.load(config()).unwrap();
        let mut events = Vec::new();
        for i in 0..2000u32 {
            let target = crate::target::Target::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            tracker.observe(&target, &result(false), "t", &mut events);
        }
        store.save_round(&mut tracker, &events, &[]).unwrap();
        drop(store);
        let whole = std::fs::read(&path).unwrap();
        assert_rejected_untouched(&path, &whole[..whole.len() / 2]);
    }

    #[test]
    fn one_writer_at_a_time_and_readers_meanwhile() {
        let (_dir, path, mut first, mut tracker) = fresh();
        round(&mut first, &mut tracker, false, "t1");
        round(&mut first, &mut tracker, true, "t2");
        round(&mut first, &mut tracker, true, "t3");
        let error = StateStore::open(&path).unwrap_err();
        let message = error.to_string();
        let StoreError::Locked { lock, holder, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(lock, &lock_of(&path));
        assert!(message.contains(&path.display().to_string()), "{message}");
        let pid = format!("pid {} on host ", std::process::id());
        assert!(holder.starts_with(&pid), "{holder}");
        assert!(holder.contains(", since 20"), "{holder}");
        // The history reads on while the writer runs, and sees its rounds.
        let reader = StateStore::open_read_only(&path).unwrap();
        assert_eq!(reader.history(&[]).unwrap().len(), 2);
        drop(first);
        let _second = StateStore::open(&path).unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // A record that no process holds the lock of: its holder is gone.
        std::fs::write(
            lock_of(&path),
            "pid 4000000\nhost old\nsince 2020-01-01T00:00:00Z\n",
        )
        .unwrap();
        let store = StateStore::open(&path).unwrap();
        let record = std::fs::read_to_string(lock_of(&path)).unwrap();
        assert!(
            record.starts_with(&format!("pid {}\n", std::process::id())),
            "{record}"
        );
        drop(store);
    }

    #[test]
    fn a_hostile_lock_record_is_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        for (record, expected) in [
            ("pid 12\nhost a\x1b[2Jb\nsince x\n", "pid 12"),
            ("garbage", "holder unknown"),
            ("", "holder unknown"),
            (
                "pid 7\nhost mail\nsince 2026-01-01T00:00:00Z\n",
                "pid 7 on host mail, since 2026-01-01T00:00:00Z",
            ),
        ] {
            std::fs::write(&path, record).unwrap();
            let mut file = File::open(&path).unwrap();
            assert_eq!(read_holder(&mut file), expected, "{record:?}");
        }
        let long = format!("pid 1\nhost {}\nsince y\n", "h".repeat(10_000));
        std::fs::write(&path, long).unwrap();
        assert_eq!(read_holder(&mut File::open(&path).unwrap()), "pid 1");
    }

    #[test]
    fn a_missing_file_is_an_error_for_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.db");
        assert!(StateStore::open_read_only(&path).is_err());
        assert!(!path.exists());
    }
}
