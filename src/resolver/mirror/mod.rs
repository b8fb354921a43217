//! Local mirrors of DNS lists, answered in-process from rbldnsd data files.
//!
//! Lists ask their heavy users to rsync the zones rather than query them (Spamhaus
//! Datafeed, dnswl.org, SURBL, URIBL, Abusix), and ship them in rbldnsd's dataset formats.
//! [`MirrorResolver`] reads those files and answers the names of the zones it holds itself,
//! as rbldnsd would answer them over DNS: the same A records, the same TXT after
//! substitution, NXDOMAIN where rbldnsd says NXDOMAIN. Every other name goes to an inner
//! resolver, so mirrored and live lists mix in one [`Checker`](crate::Checker).
//!
//! | piece | file | what it does |
//! |---|---|---|
//! | [`MirrorResolver`] | `mirror/mod.rs` | the resolver, and reloading |
//! | [`ZoneData`], [`MirrorStatus`], [`MirrorError`] | `mirror/zone_data.rs` | the zones' data, what went wrong with it, the status of what was loaded |
//! | [`Format`], datasets (internal) | `mirror/dataset/` | `ip4set`, `ip4trie`, `ip6trie`, `dnset`: loading and lookup |
//! | syntax (internal) | `mirror/syntax.rs` | rbldnsd's line syntax: ranges, values, `$` substitution |
//!
//! # What is read
//!
//! As rbldnsd's manual documents them for these four types: `:A:TXT` default lines and
//! per-entry values (`entry :A:TXT`, `entry :A`, `entry :A:`, `entry TXT`), `$`, `$$`,
//! `$0`-`$9` and the base template `$=` in TXT, prefixes (`10.20`), CIDR blocks, ranges
//! (`ip4set` only), exclusions (`!entry`), `.domain` and `*.domain`, comments, `$TTL`,
//! `$SOA` (its MINIMUM is the negative TTL), `$NS` (accepted), `$MAXRANGE4`, several files in
//! one dataset (`zone:type:file1,file2`) and several datasets in one zone (the zone named
//! again). Lines rbldnsd skips with a warning (an invalid address, say) are skipped here too,
//! logged and counted in [`DatasetStatus::skipped_lines`]. What this mirror does not
//! reproduce is refused with a [`MirrorError`] naming the file and line, never read
//! differently: `$TIMESTAMP`, gzip-compressed files, lines over 32 KiB, and domain names
//! with characters other than letters, digits, `-` and `_`.
//!
//! Query names are read as rbldnsd reads them: four decimal labels for IPv4, 32 nibbles for
//! IPv6; an `ip4set` or `ip4trie` zone also answers IPv4-mapped (`::ffff:a.b.c.d`) and 6to4
//! (`2002:a.b.c.d::/48`) nibble names from its IPv4 data, as rbldnsd does.
//!
//! # Reloading
//!
//! A background thread looks at every file once a second (by default): a file whose inode,
//! size or modification time changed is reloaded with the rest of its dataset, off the
//! lookup path, and the new data replaces the old in one swap. rsync and `mv` rename the new
//! file into place, which is what this sees. A dataset that fails to load keeps its previous
//! data; the failure is logged with `tracing::error!` and shown by
//! [`MirrorResolver::status`] until a load succeeds.

mod dataset;
mod syntax;
mod zone_data;

pub use dataset::Format;
use zone_data::MirrorErrorKind;
pub use zone_data::{DatasetStatus, MirrorError, MirrorStatus, ZoneData};

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;
use std::time::{Duration, SystemTime};

use dataset::{Dataset, Query};

use crate::DnsList;
use crate::resolver::record::{self, Record};
use crate::resolver::{Answer, DnsResolver, LookupError, LookupErrorKind};

/// What identifies a version of a file: a rename into place changes the inode, an edit the
/// size or modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    device: u64,
    size: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (inode, device) = {
        use std::os::unix::fs::MetadataExt;
        (metadata.ino(), metadata.dev())
    };
    #[cfg(not(unix))]
    let (inode, device) = (0, 0);
    Some(Stamp {
        inode,
        device,
        size: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

/// One dataset to load: a format and its files, shared by the zones that name it.
#[derive(Debug)]
struct Source {
    format: Format,
    files: Vec<PathBuf>,
    zones: Vec<String>,
}

/// A zone and the datasets (indexes into the sources) it is built from, in the order given.
#[derive(Debug)]
struct ZoneEntry {
    name: String,
    sources: Vec<usize>,
    reads_ipv4: bool,
}

/// What the lookups read; replaced whole on reload.
type Datasets = Arc<Vec<Arc<Dataset>>>;

#[derive(Debug)]
struct SourceState {
    stamps: Vec<Option<Stamp>>,
    loaded_at: SystemTime,
    error: Option<MirrorError>,
}

#[derive(Debug)]
struct Shared {
    zones: Vec<ZoneEntry>,
    sources: Vec<Source>,
    /// Read by every lookup without writing shared memory (no lock's counter to update), so
    /// lookups on several threads do not contend; replaced whole on reload.
    datasets: ArcSwap<Vec<Arc<Dataset>>>,
    states: Mutex<Vec<SourceState>>,
    /// Held while files are looked at and loaded: one reload at a time.
    reloading: Mutex<()>,
}

impl Shared {
    /// Reloads the datasets whose files changed; true if every dataset's last load
    /// succeeded. Loads run without holding the status lock, so status stays readable.
    fn reload_changed(&self) -> bool {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let mut all_ok = true;
        for (index, source) in self.sources.iter().enumerate() {
            let now: Vec<Option<Stamp>> = source.files.iter().map(|f| stamp(f)).collect();
            {
                let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
                if now == states[index].stamps {
                    all_ok &= states[index].error.is_none();
                    continue;
                }
            }
            let loaded = load(source);
            let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut states[index];
            match loaded {
                Ok((dataset, stamps)) => {
                    tracing::info!(
                        zones = ?source.zones,
                        files = ?source.files,
                        entries = dataset.entries,
                        "mirror data reloaded"
                    );
                    // Reloads are one at a time (`reloading`), so no other store is lost.
                    let mut next = Vec::clone(&self.datasets.load());
                    next[index] = Arc::new(dataset);
                    self.datasets.store(Arc::new(next));
                    *state = SourceState {
                        stamps,
                        loaded_at: SystemTime::now(),
                        error: None,
                    };
                }
                Err(error) => {
                    if state.error.as_ref() != Some(&error) {
                        tracing::error!(
                            zones = ?source.zones,
                            "mirror data not reloaded, the previous data stays in use: {error}"
                        );
                    }
                    // Tried again when the files change again.
                    state.stamps = now;
                    state.error = Some(error);
                    all_ok = false;
                }
            }
        }
        all_ok
    }
}

/// Loads a source, making sure no file changed while it was read.
fn load(source: &Source) -> Result<(Dataset, Vec<Option<Stamp>>), MirrorError> {
    let before: Vec<Option<Stamp>> = source.files.iter().map(|f| stamp(f)).collect();
    let dataset = Dataset::load(source.format, &source.files)?;
    let after: Vec<Option<Stamp>> = source.files.iter().map(|f| stamp(f)).collect();
    if let Some(i) = (0..before.len()).find(|&i| before[i] != after[i]) {
        return Err(MirrorError::Io {
            file: source.files[i].clone(),
            detail: "the file changed while it was read (write a temporary file and rename it \
                     into place)"
                .into(),
        });
    }
    Ok((dataset, after))
}

/// A resolver that answers the zones it mirrors from rbldnsd data files, in-process, and
/// hands every other name to `R`.
///
/// See the [module documentation](self) for what is read and how reloading works.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::mirror::MirrorResolver;
/// use dnsbl_check::{Answer, DnsResolver, LookupError};
/// # use std::net::Ipv4Addr;
/// # struct Live;
/// # impl DnsResolver for Live {
/// #     async fn lookup_a(&self, _: &str) -> Result<Answer<Ipv4Addr>, LookupError> { unreachable!() }
/// #     async fn lookup_txt(&self, _: &str) -> Result<Answer<String>, LookupError> { unreachable!() }
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("mirror-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let file = dir.join("sbl");
/// std::fs::write(&file, ":127.0.0.2:Listed: see https://example.net/q?$\n127.0.0.2\n10.0.0.0/8\n!10.1.1.1\n")?;
///
/// let mirror = MirrorResolver::builder()
///     .zone_data(format!("bl.example:ip4set:{}", file.display()).parse()?)
///     .build(Live)?; // `Live` would be the resolver for every other list
/// let answer = mirror.lookup_a("2.0.0.10.bl.example.").await?;
/// assert_eq!(answer, Answer::Records { records: vec![Ipv4Addr::new(127, 0, 0, 2)], ttl: 2100 });
/// let txt = mirror.lookup_txt("2.0.0.10.bl.example.").await?;
/// assert!(matches!(txt, Answer::Records { records, .. } if records == ["Listed: see https://example.net/q?10.0.0.2"]));
/// let excluded = mirror.lookup_a("1.1.1.10.bl.example.").await?;
/// assert_eq!(excluded, Answer::NoRecords { nxdomain: true, negative_ttl: None });
/// assert!(mirror.status().is_ok());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct MirrorResolver<R> {
    shared: Arc<Shared>,
    inner: R,
}

/// A clone shares the data (and its reloading) with the original.
impl<R: Clone> Clone for MirrorResolver<R> {
    fn clone(&self) -> Self {
        MirrorResolver {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
        }
    }
}

impl<R> fmt::Debug for MirrorResolver<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorResolver")
            .field("zones", &self.zones().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Builds a [`MirrorResolver`]: its zone data, and how often the files are looked at.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use dnsbl_check::resolver::mirror::MirrorResolver;
/// use dnsbl_check::HickoryResolver;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mirror = MirrorResolver::builder()
///     .zone_data("zen.example:ip4set:/var/lib/rsync/sbl".parse()?)
///     .zone_data("zen.example:ip4set:/var/lib/rsync/xbl".parse()?)
///     .zone_data("zen.example:ip4set:/var/lib/rsync/pbl".parse()?)
///     .reload_interval(Some(Duration::from_secs(5)))
///     .build(HickoryResolver::builder().build()?)?;
/// # let _ = mirror;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MirrorBuilder {
    data: Vec<ZoneData>,
    reload_interval: Option<Duration>,
}

impl MirrorBuilder {
    /// Adds a dataset to its zone.
    pub fn zone_data(mut self, data: ZoneData) -> Self {
        self.data.push(data);
        self
    }

    /// Adds several datasets.
    pub fn zones_data(self, data: impl IntoIterator<Item = ZoneData>) -> Self {
        data.into_iter().fold(self, Self::zone_data)
    }

    /// How often the files are looked at for changes (default every second); `None` never
    /// (then [`MirrorResolver::reload_changed`] reloads).
    pub fn reload_interval(mut self, interval: Option<Duration>) -> Self {
        self.reload_interval = interval;
        self
    }

    /// Loads every dataset and starts watching the files. Fails on the first dataset that
    /// does not load, or with no zone data at all.
    pub fn build<R: DnsResolver>(self, inner: R) -> Result<MirrorResolver<R>, MirrorError> {
        if self.data.is_empty() {
            return Err(MirrorError::spec("no zone data given"));
        }
        let mut sources: Vec<Source> = Vec::new();
        let mut zones: Vec<ZoneEntry> = Vec::new();
        for data in &self.data {
            // The same files of the same type are one dataset, read once (as in rbldnsd).
            let index = match sources
                .iter()
                .position(|s| s.format == data.format && s.files == data.files)
            {
                Some(index) => index,
                None => {
                    sources.push(Source {
                        format: data.format,
                        files: data.files.clone(),
                        zones: Vec::new(),
                    });
                    sources.len() - 1
                }
            };
            if !sources[index].zones.contains(&data.zone) {
                sources[index].zones.push(data.zone.clone());
            }
            let zone = match zones.iter().position(|zone| zone.name == data.zone) {
                Some(i) => &mut zones[i],
                None => {
                    zones.push(ZoneEntry {
                        name: data.zone.clone(),
                        sources: Vec::new(),
                        reads_ipv4: false,
                    });
                    zones.last_mut().expect("just pushed")
                }
            };
            if !zone.sources.contains(&index) {
                zone.sources.push(index);
            }
            zone.reads_ipv4 |= data.format.reads_ipv4();
        }
        let mut datasets = Vec::with_capacity(sources.len());
        let mut states = Vec::with_capacity(sources.len());
        for source in &sources {
            let (dataset, stamps) = load(source)?;
            datasets.push(Arc::new(dataset));
            states.push(SourceState {
                stamps,
                loaded_at: SystemTime::now(),
                error: None,
            });
        }
        let shared = Arc::new(Shared {
            zones,
            sources,
            datasets: ArcSwap::from_pointee(datasets),
            states: Mutex::new(states),
            reloading: Mutex::new(()),
        });
        if let Some(interval) = self.reload_interval {
            watch(Arc::downgrade(&shared), interval);
        }
        Ok(MirrorResolver { shared, inner })
    }
}

/// Looks at the files every `interval` on a thread of its own (loading is CPU and disk work
/// that must not hold up lookups or an async runtime), until the resolver is dropped.
fn watch(shared: Weak<Shared>, interval: Duration) {
    let spawned = std::thread::Builder::new()
        .name("dnsbl-mirror-reload".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(shared) = shared.upgrade() else {
                    break;
                };
                shared.reload_changed();
            }
        });
    if let Err(error) = spawned {
        tracing::error!("mirror data will not be reloaded: cannot start a thread: {error}");
    }
}

impl MirrorResolver<()> {
    /// A builder, to which zone data is added.
    pub fn builder() -> MirrorBuilder {
        MirrorBuilder {
            data: Vec::new(),
            reload_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// What a mirrored zone answers about a name, before it becomes an [`Answer`].
struct Found<T> {
    records: Vec<T>,
    ttl: u32,
    listed: bool,
    negative_ttl: Option<u32>,
}

impl<T> Found<T> {
    fn into_answer(self) -> Answer<T> {
        if self.records.is_empty() {
            Answer::NoRecords {
                nxdomain: !self.listed,
                negative_ttl: self.negative_ttl,
            }
        } else {
            Answer::Records {
                records: self.records,
                ttl: self.ttl,
            }
        }
    }
}

impl<R> MirrorResolver<R> {
    /// The resolver for names outside the mirrored zones.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The mirrored zones, lowercase, without trailing dots.
    pub fn zones(&self) -> impl Iterator<Item = &str> {
        self.shared.zones.iter().map(|zone| zone.name.as_str())
    }

    /// How each dataset's data stands: what is served, and the last load's failure.
    pub fn status(&self) -> MirrorStatus {
        let states = self.shared.states.lock().unwrap_or_else(|e| e.into_inner());
        let datasets = self.datasets();
        let datasets = self
            .shared
            .sources
            .iter()
            .zip(states.iter())
            .zip(datasets.iter())
            .map(|((source, state), dataset)| DatasetStatus {
                zones: source.zones.clone(),
                format: source.format,
                files: source.files.clone(),
                entries: dataset.entries,
                skipped_lines: dataset.skipped_lines,
                loaded_at: state.loaded_at,
                error: state.error.clone(),
            })
            .collect();
        MirrorStatus { datasets }
    }

    /// Reloads, now, the datasets whose files changed, as the background thread does; true
    /// if every dataset's last load succeeded.
    pub fn reload_changed(&self) -> bool {
        self.shared.reload_changed()
    }

    fn datasets(&self) -> Datasets {
        self.shared.datasets.load_full()
    }

    /// The zone holding `name` and the name read as rbldnsd reads it; `None` outside the
    /// mirrored zones.
    fn query<'n>(&self, name: &'n str) -> Option<(&ZoneEntry, Query<'n>)> {
        let name = name.strip_suffix('.').unwrap_or(name).as_bytes();
        let zone = self
            .shared
            .zones
            .iter()
            .filter(|zone| {
                let zone = zone.name.as_bytes();
                name.len() >= zone.len()
                    && name[name.len() - zone.len()..].eq_ignore_ascii_case(zone)
                    && (name.len() == zone.len() || name[name.len() - zone.len() - 1] == b'.')
            })
            .max_by_key(|zone| zone.name.len())?;
        let relative = &name[..name.len().saturating_sub(zone.name.len() + 1)];
        let mut query = Query {
            relative,
            ..Query::default()
        };
        query.ip4 = ipv4_of(relative);
        if query.ip4.is_none() {
            query.ip6 = ipv6_of(relative);
            if let Some(address) = query.ip6
                && zone.reads_ipv4
            {
                if address >> 112 == 0x2002 {
                    // 6to4 (RFC 3056): rbldnsd asks the IPv4 data about 2002:V4ADDR::/48 too.
                    query.ip4 = Some((address >> 80) as u32);
                } else if address >> 32 == 0xffff {
                    // IPv4-mapped: only the IPv4 data is asked.
                    query.ip4 = Some(address as u32);
                    query.ip6 = None;
                }
            }
        }
        Some((zone, query))
    }

    /// What the mirror answers about `name`, with `record` making each record of a value:
    /// `None` when `name` is outside the mirrored zones.
    fn answer<T: PartialEq>(
        &self,
        name: &str,
        txt: bool,
        mut record: impl FnMut(&dataset::Value, &[u8], &syntax::Substitutions) -> Option<T>,
    ) -> Option<Found<T>> {
        let lowercase: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        let (zone, query) = self.query(&lowercase)?;
        let datasets = self.shared.datasets.load();
        let mut found = Found {
            records: Vec::new(),
            ttl: u32::MAX,
            // The zone's own name exists (rbldnsd answers it NOERROR, no records).
            listed: query.relative.is_empty(),
            negative_ttl: None,
        };
        let mut subject = Vec::new();
        for &index in &zone.sources {
            let dataset = &datasets[index];
            if found.negative_ttl.is_none() {
                found.negative_ttl = dataset.soa_minimum;
            }
            found.listed |= dataset.find(&query, txt, &mut subject, |value, subject, subst| {
                // rbldnsd gives all records of a type the smallest TTL among them,
                // counting repeats it leaves out.
                if let Some(item) = record(value, subject, subst) {
                    found.ttl = found.ttl.min(dataset.ttl);
                    if !found.records.contains(&item) {
                        found.records.push(item);
                    }
                }
            });
        }
        Some(found)
    }

    /// The A records the mirror holds for `name`, as rbldnsd would answer; `None` when
    /// `name` is outside the mirrored zones (the inner resolver's business).
    pub fn mirrored_a(&self, name: &str) -> Option<Answer<Ipv4Addr>> {
        self.answer(name, false, |value, _, _| Some(Ipv4Addr::from(value.a)))
            .map(Found::into_answer)
    }

    /// The TXT records the mirror holds for `name`, after substitution; `None` outside the
    /// mirrored zones.
    pub fn mirrored_txt(&self, name: &str) -> Option<Answer<String>> {
        let mut text = Vec::new();
        self.answer(name, true, |value, subject, subst| {
            syntax::expand(&value.txt, subject, subst, &mut text);
            (!text.is_empty()).then(|| String::from_utf8_lossy(&text).into_owned())
        })
        .map(Found::into_answer)
    }

    /// Whether the mirror has `name`: `Some(listed)` in a mirrored zone, for the record types
    /// rbldnsd does not serve from these datasets (NODATA when listed, else NXDOMAIN).
    pub(crate) fn mirrored_other<T>(&self, name: &str) -> Option<Answer<T>> {
        self.answer(name, false, |_, _, _| None::<()>).map(|found| {
            found
                .into_answer()
                .map(|()| unreachable!("no records kept"))
        })
    }
}

/// Four decimal labels of one to three digits (rbldnsd's `dntoip4addr`), reversed. One pass
/// over the bytes: this runs for every mirrored lookup.
fn ipv4_of(relative: &[u8]) -> Option<u32> {
    let (mut address, mut count) = (0u32, 0u32);
    let (mut octet, mut digits) = (0u32, 0);
    for &byte in relative {
        match byte {
            b'0'..=b'9' if digits < 3 => {
                octet = octet * 10 + u32::from(byte - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && octet <= 255 && count < 3 => {
                address |= octet << (8 * count);
                count += 1;
                (octet, digits) = (0, 0);
            }
            _ => return None,
        }
    }
    (digits > 0 && octet <= 255 && count == 3).then_some(address | octet << 24)
}

/// 32 single-nibble labels, reversed (rbldnsd's `dntoip6addr`).
fn ipv6_of(relative: &[u8]) -> Option<u128> {
    if relative.len() != 63 {
        return None;
    }
    let mut address = 0u128;
    for (i, label) in relative.split(|&b| b == b'.').enumerate() {
        let [nibble] = label else {
            return None;
        };
        let value = match nibble {
            b'0'..=b'9' => nibble - b'0',
            b'a'..=b'f' => nibble - b'a' + 10,
            _ => return None,
        };
        address |= u128::from(value) << (4 * i);
    }
    Some(address)
}

/// Whether `name` can be a DNS name at all (labels of 1 to 63 bytes, 253 in all): a name
/// that cannot be asked over DNS gets the error a DNS resolver gives, not an answer.
pub(crate) fn check_name(name: &str) -> Result<(), LookupError> {
    let bare = name.strip_suffix('.').unwrap_or(name).as_bytes();
    // Bytes, not `str::split`: this runs for every mirrored lookup.
    let labels_fit = || {
        let mut label = 0;
        for &byte in bare {
            if byte == b'.' {
                if label == 0 {
                    return false;
                }
                label = 0;
            } else {
                label += 1;
                if label > 63 {
                    return false;
                }
            }
        }
        label > 0
    };
    if bare.is_empty() || bare.len() > 253 || !labels_fit() {
        return Err(LookupError::with_detail(
            LookupErrorKind::Protocol,
            "query name is not a valid DNS name",
        ));
    }
    Ok(())
}

impl<R: DnsResolver> MirrorResolver<R> {
    /// The one lookup behind every [`DnsResolver`] method: the mirror's answer in a mirrored
    /// zone, else the inner resolver's.
    async fn lookup<K: Record>(&self, name: &str) -> Result<Answer<K::Value>, LookupError> {
        match self.held::<K>(name) {
            Some(answer) => answer,
            None => K::ask(&self.inner, name).await,
        }
    }

    /// The answer at once: the mirror's in a mirrored zone, else the inner resolver's, if it
    /// has one at once.
    fn now<K: Record>(&self, name: &str) -> Option<Result<Answer<K::Value>, LookupError>> {
        self.held::<K>(name)
            .or_else(|| K::ask_now(&self.inner, name))
    }

    /// What the mirror itself answers: an error for a name DNS cannot ask, its answer in a
    /// mirrored zone; `None` for a name of another zone.
    fn held<K: Record>(&self, name: &str) -> Option<Result<Answer<K::Value>, LookupError>> {
        match check_name(name) {
            Err(error) => Some(Err(error)),
            Ok(()) => K::mirrored(self, name).map(Ok),
        }
    }
}

impl<R: DnsResolver> DnsResolver for MirrorResolver<R> {
    record::lookup_methods!(lookup, now);

    /// The inner resolver's: a mirrored name is answered without a wait.
    fn wakes_within(&self) -> Option<std::time::Duration> {
        self.inner.wakes_within()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_ipv4_names_are_read_as_rbldnsd_reads_them() {
        let read = |name: &str| ipv4_of(name.as_bytes()).map(Ipv4Addr::from);
        assert_eq!(read("2.0.0.127"), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(read("255.0.10.192"), Some(Ipv4Addr::new(192, 10, 0, 255)));
        assert_eq!(read("01.002.3.4"), Some(Ipv4Addr::new(4, 3, 2, 1)));
        for bad in [
            "",
            "1",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "256.0.0.1",
            "1.2.3.256",
            "0001.2.3.4",
            "1.2.3.4444",
            "a.2.3.4",
            "1.2.3.-4",
            "1.2.3.4 ",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_dns_names_are_looked_up() {
        for good in [
            "a",
            "a.b.",
            "2.0.0.127.bl.example",
            &format!("{}.b", "x".repeat(63)),
        ] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
        let long = vec!["abcdefghi"; 26].join(".");
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a.b..",
            &format!("{}.b", "x".repeat(64)),
            &long,
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
