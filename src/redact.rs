//! Keeping Spamhaus DQS keys out of logs: the keyed zones of a set of lists, and a writer that
//! scrubs their keys from everything written through it.
//!
//! Query names carry DQS keys, and a resolver's own logs print query names; a log sink wrapped
//! in a [`RedactingWriter`] lets no key out, whoever wrote the line.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::list::DnsList;
use crate::zone::Zone;

/// The zones whose queries carry a secret key, each once.
///
/// # Examples
///
/// ```
/// use dnsbl_check::presets;
/// use dnsbl_check::redact::KeyedZones;
///
/// let keyed = presets::list("spamhaus-zen", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
/// let open = presets::list("spamcop", None).unwrap();
/// let zones = KeyedZones::of([&keyed, &open]);
/// assert_eq!(zones.len(), 1);
/// assert_eq!(
///     zones.redact("2.0.0.127.abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net"),
///     "2.0.0.127.<redacted>.zen.dq.spamhaus.net"
/// );
/// ```
#[derive(Clone, Default)]
pub struct KeyedZones(Vec<Zone>);

impl KeyedZones {
    /// The keyed zones of `lists` (as of a checker's [`Checker::lists`](crate::Checker::lists)).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::presets;
    /// use dnsbl_check::redact::KeyedZones;
    ///
    /// assert!(KeyedZones::of(&presets::default_lists()).is_empty());
    /// ```
    pub fn of<'a>(lists: impl IntoIterator<Item = &'a DnsList>) -> Self {
        lists.into_iter().map(|list| list.zone().clone()).collect()
    }

    /// How many keyed zones there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::redact::KeyedZones;
    ///
    /// assert_eq!(KeyedZones::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no keyed zone (and so nothing to redact).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Zone;
    /// use dnsbl_check::redact::KeyedZones;
    ///
    /// let zones: KeyedZones = ["bl.example.net".parse::<Zone>().unwrap()].into_iter().collect();
    /// assert!(zones.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keyed zones, each once, in the order first given.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Zone;
    /// use dnsbl_check::redact::KeyedZones;
    ///
    /// let zone = Zone::with_key("zen.dq.spamhaus.net", "k3yk3yk3yk3yk3yk3yk3yk3yk3").unwrap();
    /// let zones: KeyedZones = [zone.clone(), zone].into_iter().collect();
    /// let names: Vec<&str> = zones.iter().map(Zone::public_name).collect();
    /// assert_eq!(names, ["zen.dq.spamhaus.net"]);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Zone> {
        self.0.iter()
    }

    /// `text` with every key (in any case) replaced by `<redacted>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::Zone;
    /// use dnsbl_check::redact::KeyedZones;
    ///
    /// let zone = Zone::with_key("zen.dq.spamhaus.net", "k3yk3yk3yk3yk3yk3yk3yk3yk3").unwrap();
    /// let zones: KeyedZones = [zone].into_iter().collect();
    /// assert_eq!(zones.redact("key K3YK3YK3YK3YK3YK3YK3YK3YK3"), "key <redacted>");
    /// ```
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for zone in &self.0 {
            let redacted = match zone.redact(&text) {
                Cow::Owned(redacted) => Some(redacted),
                Cow::Borrowed(_) => None,
            };
            if let Some(redacted) = redacted {
                text = Cow::Owned(redacted);
            }
        }
        text
    }
}

impl FromIterator<Zone> for KeyedZones {
    /// Keeps the zones with a key, each once.
    fn from_iter<I: IntoIterator<Item = Zone>>(zones: I) -> Self {
        let mut keyed: Vec<Zone> = Vec::new();
        for zone in zones {
            if zone.has_key() && !keyed.contains(&zone) {
                keyed.push(zone);
            }
        }
        KeyedZones(keyed)
    }
}

impl std::fmt::Debug for KeyedZones {
    /// The public names only, as [`Zone`]'s own `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

/// Writes to an inner writer with the keys of some [`KeyedZones`] replaced.
///
/// Each `write` call is redacted on its own, so a key must not be split across two calls: a
/// log formatter that hands over one whole line per call (as `tracing-subscriber` does) is
/// safe. Text that is not UTF-8 is written lossily.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use dnsbl_check::presets;
/// use dnsbl_check::redact::{KeyedZones, RedactingWriter};
///
/// let key = "abcdefghijklmnopqrstuvwxyz";
/// let list = presets::list("spamhaus-zen", Some(key)).unwrap();
/// let mut log = RedactingWriter::new(Vec::new(), KeyedZones::of([&list]));
/// writeln!(log, "asked 2.0.0.127.{key}.zen.dq.spamhaus.net").unwrap();
/// let written = String::from_utf8(log.into_inner()).unwrap();
/// assert_eq!(written, "asked 2.0.0.127.<redacted>.zen.dq.spamhaus.net\n");
/// ```
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
    zones: KeyedZones,
}

impl<W> RedactingWriter<W> {
    /// Writes to `inner`, scrubbing the keys of `zones`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::redact::{KeyedZones, RedactingWriter};
    ///
    /// let stderr = RedactingWriter::new(std::io::stderr(), KeyedZones::default());
    /// # let _ = stderr;
    /// ```
    pub fn new(inner: W, zones: KeyedZones) -> Self {
        RedactingWriter { inner, zones }
    }

    /// The inner writer.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::redact::{KeyedZones, RedactingWriter};
    ///
    /// let writer = RedactingWriter::new(Vec::<u8>::new(), KeyedZones::default());
    /// assert!(writer.into_inner().is_empty());
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.zones.is_empty() {
            return self.inner.write(buf);
        }
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(self.zones.redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyed_zone_is_scrubbed_and_kept_once() {
        let zen = Zone::with_key("zen.dq.spamhaus.net", "aaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let dbl = Zone::with_key("dbl.dq.spamhaus.net", "bbbbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
        let zones: KeyedZones = [zen.clone(), dbl, zen].into_iter().collect();
        assert_eq!(zones.len(), 2);
        let mut writer = RedactingWriter::new(Vec::new(), zones);
        writer
            .write_all(b"aaaaaaaaaaaaaaaaaaaaaaaaaa BBBBBBBBBBBBBBBBBBBBBBBBBB")
            .unwrap();
        assert_eq!(writer.into_inner(), b"<redacted> <redacted>");
    }
}
