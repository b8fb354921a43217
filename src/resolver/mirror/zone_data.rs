//! What a mirror is given (zone data: a zone, a type and files), what can go wrong with it,
//! and the status of what it loaded.

// Written in the vocabulary of the mirror module and its imports.
use super::*;

/// Why zone data could not be used: a bad `zone:type:file` spec, a file that could not be
/// read, or data this mirror does not reproduce. Each names the file (and line) at fault.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::mirror::{MirrorError, ZoneData};
///
/// let error = "bl.example:generic:/tmp/bl".parse::<ZoneData>().unwrap_err();
/// assert!(matches!(error, MirrorError::Spec { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// A `zone:type:file[,file...]` spec that could not be used.
    #[error("invalid zone data: {detail}")]
    Spec {
        /// What is wrong with it.
        detail: String,
    },
    /// A file that could not be opened or read, or that changed while it was read.
    #[error("{}: {detail}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error, or what happened.
        detail: String,
    },
    /// Data that rbldnsd reads but this mirror does not reproduce.
    #[error("{}:{line}: {detail}", file.display())]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is not supported.
        detail: String,
    },
    /// A dataset larger than a mirror holds.
    #[error("{}:{line}: {detail}", file.display())]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The line at which the limit was passed.
        line: usize,
        /// Which limit.
        detail: String,
    },
}

/// The kinds of [`MirrorError`], for the loaders to name.
#[derive(Debug, Clone, Copy)]
pub(super) enum MirrorErrorKind {
    Spec,
    Io,
    Unsupported,
    TooLarge,
}

impl MirrorError {
    pub(super) fn new(
        kind: MirrorErrorKind,
        file: Option<PathBuf>,
        line: Option<usize>,
        detail: String,
    ) -> Self {
        let file = file.unwrap_or_default();
        let line = line.unwrap_or(0);
        match kind {
            MirrorErrorKind::Spec => MirrorError::Spec { detail },
            MirrorErrorKind::Io => MirrorError::Io { file, detail },
            MirrorErrorKind::Unsupported => MirrorError::Unsupported { file, line, detail },
            MirrorErrorKind::TooLarge => MirrorError::TooLarge { file, line, detail },
        }
    }

    pub(super) fn spec(detail: impl Into<String>) -> Self {
        MirrorError::Spec {
            detail: detail.into(),
        }
    }
}

/// The data of one zone, as rbldnsd's command line gives it: `zone:type:file[,file...]`.
/// Several files in one spec make one dataset (an exclusion in one applies to all); the same
/// zone given again adds another dataset to it (rbldnsd's way of building a ZEN-like zone
/// from SBL, XBL and PBL files).
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::mirror::{Format, ZoneData};
///
/// let data: ZoneData = "zen.example:ip4set:/var/lib/rsync/sbl,/var/lib/rsync/sbl-local"
///     .parse()
///     .unwrap();
/// assert_eq!(data.zone(), "zen.example");
/// assert_eq!(data.format(), Format::Ip4Set);
/// assert_eq!(data.files().len(), 2);
///
/// // A config file's `data` entry names the type and files; the list gives the zone.
/// let data = ZoneData::for_zone("dbl.example", "dnset:/var/lib/rsync/dbl").unwrap();
/// assert_eq!(data.format(), Format::DnSet);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZoneData {
    pub(super) zone: String,
    pub(super) format: Format,
    pub(super) files: Vec<PathBuf>,
}

impl ZoneData {
    /// The data of `zone` in `files`, read as `format`.
    pub fn new(
        zone: &str,
        format: Format,
        files: impl IntoIterator<Item = impl Into<PathBuf>>,
    ) -> Result<ZoneData, MirrorError> {
        let zone = zone.strip_suffix('.').unwrap_or(zone).to_ascii_lowercase();
        if zone.is_empty()
            || zone
                .split('.')
                .any(|label| label.is_empty() || label.len() > 63)
        {
            return Err(MirrorError::spec(format!("invalid zone name {zone:?}")));
        }
        let files: Vec<PathBuf> = files.into_iter().map(Into::into).collect();
        if files.is_empty() || files.iter().any(|file| file.as_os_str().is_empty()) {
            return Err(MirrorError::spec(format!("no file for zone {zone}")));
        }
        Ok(ZoneData {
            zone,
            format,
            files,
        })
    }

    /// The data of `zone` given as `type:file[,file...]`, as a config file's list says it.
    pub fn for_zone(zone: &str, data: &str) -> Result<ZoneData, MirrorError> {
        let Some((format, files)) = data.split_once(':') else {
            return Err(MirrorError::spec(format!(
                "{data:?}: expected type:file[,file...]"
            )));
        };
        ZoneData::new(zone, format.parse()?, files.split(','))
    }

    /// The zone data of `lists`: each list's own [`data`](DnsList::data), then `extra` (a
    /// command line's, say). Data supplies the answers of a zone that a list names; it
    /// does not define a list, so `extra` data for a zone no list names is refused, and so
    /// is data for a keyed (DQS) zone, whose queries carry the key.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::resolver::mirror::ZoneData;
    /// use dnsbl_check::{DnsList, ListKind};
    ///
    /// let lists = [
    ///     DnsList::from_spec("sbl.example", ListKind::Ip)
    ///         .unwrap()
    ///         .with_data(["ip4set:/var/lib/rsync/sbl"]),
    ///     DnsList::from_spec("dbl.example", ListKind::Domain).unwrap(),
    /// ];
    /// let extra = "dbl.example:dnset:/var/lib/rsync/dbl".parse().unwrap();
    /// let data = ZoneData::for_lists(&lists, [extra]).unwrap();
    /// assert_eq!(data.len(), 2);
    ///
    /// let stray = "xbl.example:ip4set:/var/lib/rsync/xbl".parse().unwrap();
    /// assert!(ZoneData::for_lists(&lists, [stray]).is_err());
    /// ```
    pub fn for_lists(
        lists: &[DnsList],
        extra: impl IntoIterator<Item = ZoneData>,
    ) -> Result<Vec<ZoneData>, MirrorError> {
        let mut data = Vec::new();
        for list in lists {
            for entry in list.data() {
                if list.zone().has_key() {
                    return Err(MirrorError::spec(format!(
                        "list {}: a keyed zone cannot be answered from local data",
                        list.name()
                    )));
                }
                data.push(ZoneData::for_zone(list.zone().public_name(), entry)?);
            }
        }
        for entry in extra {
            let named = lists
                .iter()
                .any(|list| !list.zone().has_key() && list.zone().public_name() == entry.zone);
            if !named {
                return Err(MirrorError::spec(format!(
                    "no list has zone {}: zone data answers for a list's zone, it does not \
                     define a list",
                    entry.zone
                )));
            }
            data.push(entry);
        }
        Ok(data)
    }

    /// The zone, lowercase, without a trailing dot.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// How the files are read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The files, read in this order as one dataset.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FromStr for ZoneData {
    type Err = MirrorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((zone, data)) = text.split_once(':') else {
            return Err(MirrorError::spec(format!(
                "{text:?}: expected zone:type:file[,file...]"
            )));
        };
        ZoneData::for_zone(zone, data)
    }
}

impl fmt::Display for ZoneData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.zone, self.format)?;
        for (i, file) in self.files.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", file.display())?;
        }
        Ok(())
    }
}

/// How a [`MirrorResolver`]'s data stands: per dataset, what was loaded and the last failure.
///
/// # Examples
///
/// ```no_run
/// # fn check(mirror: &dnsbl_check::resolver::mirror::MirrorResolver<dnsbl_check::HickoryResolver>) {
/// let status = mirror.status();
/// if !status.is_ok() {
///     for dataset in status.datasets.iter().filter(|d| d.error.is_some()) {
///         eprintln!("{:?}: {}", dataset.files, dataset.error.as_ref().unwrap());
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorStatus {
    /// One per dataset, in the order given.
    pub datasets: Vec<DatasetStatus>,
}

impl MirrorStatus {
    /// Whether every dataset's last load succeeded.
    pub fn is_ok(&self) -> bool {
        self.datasets.iter().all(|dataset| dataset.error.is_none())
    }
}

/// One dataset of a [`MirrorStatus`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DatasetStatus {
    /// The zones it answers for.
    pub zones: Vec<String>,
    /// Its type.
    pub format: Format,
    /// Its files.
    pub files: Vec<PathBuf>,
    /// Entries in the data served (ranges count as the entries they were cut into).
    pub entries: usize,
    /// Lines of the data served that were skipped, as rbldnsd skips them (logged as warnings).
    pub skipped_lines: usize,
    /// When the data served was loaded.
    pub loaded_at: SystemTime,
    /// The last load's failure, while it lasts: the data served is then older.
    pub error: Option<MirrorError>,
}
