//! One rbldnsd dataset (`ip4set`, `ip4trie`, `ip6trie` or `dnset`): loading it from its
//! files, and finding what it lists for a query.
//!
//! The layouts are flat sorted arrays searched by binary search, with the `(A, TXT)` values
//! interned once per dataset: no allocation per entry.
//!
//! - `ip4set` keeps rbldnsd's own layout: four arrays of /32, /24, /16 and /8 entries (a
//!   range is cut into those), and the most specific array holding the address decides, all
//!   its values for that address together. Matching the layout matches its answers.
//! - `ip4trie` and `ip6trie` (longest prefix wins, one value) are flattened into disjoint
//!   ranges, each with the value of the most specific block covering it.
//! - `dnset` keeps the names in one byte arena, with plain and wildcard entries apart.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::syntax::{self, NameError, Substitutions, ValueText};
use super::{MirrorError, MirrorErrorKind};

mod loader;

use loader::Loader;

/// rbldnsd's dataset types that a mirror reads.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::mirror::Format;
///
/// assert_eq!("ip4set".parse::<Format>().unwrap(), Format::Ip4Set);
/// assert_eq!(Format::DnSet.to_string(), "dnset");
/// assert!("generic".parse::<Format>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// IPv4 addresses, prefixes, CIDR blocks and ranges, with exclusions.
    Ip4Set,
    /// IPv4 CIDR blocks, the longest matching prefix deciding.
    Ip4Trie,
    /// IPv6 CIDR blocks, the longest matching prefix deciding.
    Ip6Trie,
    /// Domain names, with `.domain` and `*.domain` wildcards.
    DnSet,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Ip4Set => "ip4set",
            Format::Ip4Trie => "ip4trie",
            Format::Ip6Trie => "ip6trie",
            Format::DnSet => "dnset",
        }
    }

    /// Whether rbldnsd reads IPv4 addresses out of IPv6 query names for this type
    /// (`DSTF_IP4REV`): IPv4-mapped `::ffff:a.b.c.d` and 6to4 `2002:a.b.c.d::/48`.
    pub(super) fn reads_ipv4(self) -> bool {
        matches!(self, Format::Ip4Set | Format::Ip4Trie)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = MirrorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "ip4set" => Format::Ip4Set,
            "ip4trie" => Format::Ip4Trie,
            "ip6trie" => Format::Ip6Trie,
            "dnset" => Format::DnSet,
            _ => {
                return Err(MirrorError::new(
                    MirrorErrorKind::Spec,
                    None,
                    None,
                    format!(
                        "unsupported dataset type {text:?}: expected ip4set, ip4trie, ip6trie \
                         or dnset"
                    ),
                ));
            }
        })
    }
}

/// rbldnsd's default TTL (35 minutes) when a dataset has no `$TTL`.
pub(super) const DEFAULT_TTL: u32 = 35 * 60;

/// The most entries one dataset may hold (after ranges are cut into entries): a hostile
/// file must not take all memory. rbldnsd's largest public feeds are far below this.
const MAX_ENTRIES: usize = 1 << 26;

/// rbldnsd's longest line (half its 64 KiB read buffer); it cuts longer ones, which this
/// mirror refuses rather than read differently.
const MAX_LINE: usize = 32 * 1024 - 1;

/// How many skipped lines of one load are logged one by one; the rest are counted.
const LOGGED_SKIPS: usize = 10;

/// Value index 0 is an exclusion; real values start at 1.
const EXCLUDED: u32 = 0;

/// An `(A, TXT template)` pair.
#[derive(Debug)]
pub(super) struct Value {
    pub(super) a: u32,
    pub(super) txt: Box<[u8]>,
}

/// A loaded dataset.
#[derive(Debug)]
pub(super) struct Dataset {
    values: Vec<Value>,
    /// The TTL of its records.
    pub(super) ttl: u32,
    /// The MINIMUM field of its first `$SOA`: how long negative answers may be cached.
    pub(super) soa_minimum: Option<u32>,
    subst: Substitutions,
    data: Data,
    /// Entries held (after ranges were cut into entries).
    pub(super) entries: usize,
    /// Lines skipped as rbldnsd skips them (invalid entries, with a warning).
    pub(super) skipped_lines: usize,
}

#[derive(Debug)]
enum Data {
    /// `(address << 32) | value`, per level: /32, /24, /16, /8.
    Ip4Set([Sorted<u64>; 4]),
    Ip4Trie(Sorted<Span<u32>>),
    Ip6Trie(Sorted<Span<u128>>),
    DnSet {
        arena: Vec<u8>,
        plain: Vec<NameEntry>,
        wild: Vec<NameEntry>,
    },
}

/// Addresses `start..=end` have `value`.
#[derive(Debug, Clone, Copy)]
struct Span<T> {
    start: T,
    end: T,
    value: u32,
}

#[derive(Debug, Clone, Copy)]
struct NameEntry {
    offset: u32,
    len: u8,
    value: u32,
}

/// What a query asks about, read from its name as rbldnsd reads it.
#[derive(Debug, Default)]
pub(super) struct Query<'a> {
    /// The name below the zone, lowercase, without the zone or a trailing dot.
    pub(super) relative: &'a [u8],
    pub(super) ip4: Option<u32>,
    pub(super) ip6: Option<u128>,
}

impl Dataset {
    /// Reads `files` as one dataset of `format`.
    pub(super) fn load(format: Format, files: &[PathBuf]) -> Result<Dataset, MirrorError> {
        let mut loader = Loader::new(format);
        for file in files {
            loader.read_file(file)?;
        }
        loader.finish()
    }

    /// Calls `hit` with each value listed for `query` and the text `$` stands for; nothing
    /// when the dataset does not list it. `want_subject` false skips formatting that text.
    pub(super) fn find(
        &self,
        query: &Query<'_>,
        want_subject: bool,
        subject: &mut Vec<u8>,
        mut hit: impl FnMut(&Value, &[u8], &Substitutions),
    ) -> bool {
        subject.clear();
        let mut emit = |values: &mut dyn Iterator<Item = u32>, subject: &[u8]| {
            let mut any = false;
            for index in values {
                any = true;
                hit(&self.values[index as usize], subject, &self.subst);
            }
            any
        };
        match &self.data {
            Data::Ip4Set(levels) => {
                let Some(address) = query.ip4 else {
                    return false;
                };
                for (level, entries) in levels.iter().enumerate() {
                    let key = address & syntax::ip4_mask(32 - 8 * level as u32);
                    let first = entries.partition_point(|e| ((e >> 32) as u32) < key);
                    let mut group = entries.items[first..]
                        .iter()
                        .take_while(|&&e| (e >> 32) as u32 == key)
                        .map(|&e| e as u32)
                        .peekable();
                    match group.peek() {
                        None => continue,
                        Some(&EXCLUDED) => return false,
                        Some(_) => {}
                    }
                    if want_subject {
                        syntax::ip4_text(address, subject);
                    }
                    return emit(&mut group, subject);
                }
                false
            }
            Data::Ip4Trie(spans) => {
                let text = want_subject.then_some(syntax::ip4_text as fn(u32, &mut Vec<u8>));
                find_in_trie(spans, query.ip4, text, subject)
                    .is_some_and(|value| emit(&mut std::iter::once(value), subject))
            }
            Data::Ip6Trie(spans) => {
                let text = want_subject.then_some(syntax::ip6_text as fn(u128, &mut Vec<u8>));
                find_in_trie(spans, query.ip6, text, subject)
                    .is_some_and(|value| emit(&mut std::iter::once(value), subject))
            }
            Data::DnSet { arena, plain, wild } => {
                let name = query.relative;
                if name.is_empty() {
                    return false;
                }
                let mut group = find_name(arena, plain, name);
                if group.is_empty() {
                    // Wildcards: the longest listed parent, at least one label removed.
                    let mut rest = name;
                    while let Some(dot) = rest.iter().position(|&b| b == b'.') {
                        rest = &rest[dot + 1..];
                        group = find_name(arena, wild, rest);
                        if !group.is_empty() {
                            break;
                        }
                    }
                }
                match group.first() {
                    None => false,
                    Some(entry) if entry.value == EXCLUDED => false,
                    Some(entry) => {
                        subject.extend_from_slice(name_of(arena, entry));
                        emit(&mut group.iter().map(|entry| entry.value), subject)
                    }
                }
            }
        }
    }
}

/// The value a trie lists for `address` (none without one), with `text` writing the text `$`
/// stands for into `subject`, when it is wanted.
fn find_in_trie<T: Copy + Ord>(
    spans: &Sorted<Span<T>>,
    address: Option<T>,
    text: Option<fn(T, &mut Vec<u8>)>,
    subject: &mut Vec<u8>,
) -> Option<u32> {
    let address = address?;
    let value = find_span(spans, address)?;
    if let Some(text) = text {
        text(address, subject);
    }
    Some(value)
}

fn find_span<T: Copy + Ord>(spans: &Sorted<Span<T>>, address: T) -> Option<u32> {
    let after = spans.partition_point(|start| start <= address);
    let span = spans.items[..after].last()?;
    (address <= span.end && span.value != EXCLUDED).then_some(span.value)
}

/// What a [`Sorted`] array is ordered by.
trait Keyed {
    type Key: Copy + Ord;
    fn key(&self) -> Self::Key;
}

impl Keyed for u64 {
    type Key = u64;
    fn key(&self) -> u64 {
        *self
    }
}

impl<T: Copy + Ord> Keyed for Span<T> {
    type Key = T;
    fn key(&self) -> T {
        self.start
    }
}

/// Every `SAMPLE_STRIDE`-th key of a [`Sorted`] array is kept apart.
const SAMPLE_STRIDE: usize = 32;

/// A sorted array with every [`SAMPLE_STRIDE`]-th key kept apart: a binary search of the
/// large array misses the cache at nearly every step, while the small sample (1/32 of the
/// keys) stays in cache and leaves a block of 32 items to search. Written here because the
/// layout is this simple and a lookup is most of a mirror's work.
#[derive(Debug)]
struct Sorted<T: Keyed> {
    items: Vec<T>,
    sample: Vec<T::Key>,
}

impl<T: Keyed> Sorted<T> {
    fn new(items: Vec<T>) -> Self {
        let sample = items
            .iter()
            .step_by(SAMPLE_STRIDE)
            .map(Keyed::key)
            .collect();
        Sorted { items, sample }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// The index of the first item whose key does not satisfy `before` (which holds for a
    /// prefix of the items), as [`slice::partition_point`] gives it.
    fn partition_point(&self, before: impl Fn(T::Key) -> bool) -> usize {
        let block = self.sample.partition_point(|&key| before(key));
        let low = block.saturating_sub(1) * SAMPLE_STRIDE;
        let high = (block * SAMPLE_STRIDE + 1).min(self.items.len());
        low + self.items[low..high].partition_point(|item| before(item.key()))
    }
}

fn name_of<'a>(arena: &'a [u8], entry: &NameEntry) -> &'a [u8] {
    &arena[entry.offset as usize..entry.offset as usize + entry.len as usize]
}

fn find_name<'e>(arena: &[u8], entries: &'e [NameEntry], name: &[u8]) -> &'e [NameEntry] {
    let first = entries.partition_point(|entry| name_of(arena, entry) < name);
    let count = entries[first..]
        .iter()
        .take_while(|entry| name_of(arena, entry) == name)
        .count();
    &entries[first..first + count]
}

#[cfg(test)]
mod tests {
    use super::loader::flatten;
    use super::*;

    #[test]
    fn the_sampled_search_agrees_with_a_plain_one() {
        for len in [0usize, 1, 2, 31, 32, 33, 64, 65, 1000] {
            let items: Vec<u64> = (0..len as u64).map(|i| i * 3).collect();
            let sorted = Sorted::new(items.clone());
            for target in 0..(len as u64 * 3 + 2) {
                assert_eq!(
                    sorted.partition_point(|key| key < target),
                    items.partition_point(|&key| key < target),
                    "len {len}, target {target}"
                );
            }
        }
    }

    #[test]
    fn nested_blocks_flatten_to_the_most_specific() {
        // 10.0.0.0/8 = 1, 10.1.0.0/16 = 2 (inside), 10.1.2.0/24 excluded, 11.0.0.0/8 = 3.
        let blocks = vec![
            (0x0a00_0000, 0x0aff_ffff, 1),
            (0x0a01_0000, 0x0a01_ffff, 2),
            (0x0a01_0200, 0x0a01_02ff, EXCLUDED),
            (0x0b00_0000, 0x0bff_ffff, 3),
        ];
        let spans = Sorted::new(flatten::<u32>(blocks));
        let at = |address: u32| find_span(&spans, address);
        assert_eq!(at(0x0a00_0001), Some(1));
        assert_eq!(at(0x0a01_0001), Some(2));
        assert_eq!(at(0x0a01_0201), None);
        assert_eq!(at(0x0a01_0301), Some(2));
        assert_eq!(at(0x0a02_0000), Some(1));
        assert_eq!(at(0x0b00_0000), Some(3));
        assert_eq!(at(0x0c00_0000), None);
        assert_eq!(at(0x0900_0000), None);
        // The whole space and its last address.
        let spans = Sorted::new(flatten::<u32>(vec![
            (0, u32::MAX, 1),
            (u32::MAX, u32::MAX, 2),
        ]));
        assert_eq!(find_span(&spans, u32::MAX), Some(2));
        assert_eq!(find_span(&spans, 0), Some(1));
    }
}
