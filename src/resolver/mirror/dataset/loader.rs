//! Reading a dataset's files, line by line, into its sorted arrays.

// Written in the vocabulary of the dataset module and its imports.
use super::*;

/// The state of one load: what rbldnsd keeps per dataset (`$TTL`, `$SOA`, substitutions,
/// `$MAXRANGE4`) and per file (the default value).
pub(super) struct Loader {
    format: Format,
    values: Vec<Value>,
    interned: HashMap<Vec<u8>, u32>,
    key: Vec<u8>,
    ttl: u32,
    soa_minimum: Option<u32>,
    subst: Substitutions,
    max_range: Option<u32>,
    default: u32,
    global_default: u32,
    entries: usize,
    skipped: usize,
    ip4set: [Vec<u64>; 4],
    trie4: Vec<(u32, u8, u32)>,
    trie6: Vec<(u128, u8, u32)>,
    arena: Vec<u8>,
    plain: Vec<NameEntry>,
    wild: Vec<NameEntry>,
    name: Vec<u8>,
    file: PathBuf,
    line: usize,
}

/// What one line did wrong: skipped with a warning (as rbldnsd does), or refused.
enum LineError {
    Skip(&'static str),
    Fatal(MirrorErrorKind, String),
}

impl Loader {
    pub(super) fn new(format: Format) -> Loader {
        let mut loader = Loader {
            format,
            values: vec![Value {
                a: 0,
                txt: Box::default(),
            }],
            interned: HashMap::new(),
            key: Vec::new(),
            ttl: DEFAULT_TTL,
            soa_minimum: None,
            subst: Substitutions::default(),
            max_range: None,
            default: 0,
            global_default: 0,
            entries: 0,
            skipped: 0,
            ip4set: Default::default(),
            trie4: Vec::new(),
            trie6: Vec::new(),
            arena: Vec::new(),
            plain: Vec::new(),
            wild: Vec::new(),
            name: Vec::new(),
            file: PathBuf::new(),
            line: 0,
        };
        loader.global_default = loader.intern(0x7f00_0002, b"");
        loader
    }

    fn error(&self, kind: MirrorErrorKind, detail: String) -> MirrorError {
        MirrorError::new(kind, Some(self.file.clone()), Some(self.line), detail)
    }

    pub(super) fn read_file(&mut self, path: &Path) -> Result<(), MirrorError> {
        self.file = path.to_owned();
        self.line = 0;
        self.default = self.global_default;
        let io_error = |error: std::io::Error| {
            MirrorError::new(
                MirrorErrorKind::Io,
                Some(path.to_owned()),
                None,
                error.to_string(),
            )
        };
        let file = File::open(path).map_err(io_error)?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        if reader
            .fill_buf()
            .map_err(io_error)?
            .starts_with(&[0x1f, 0x8b])
        {
            return Err(self.error(
                MirrorErrorKind::Unsupported,
                "gzip-compressed data: decompress the file first".into(),
            ));
        }
        let mut buffer = Vec::with_capacity(256);
        loop {
            buffer.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 2)
                .read_until(b'\n', &mut buffer)
                .map_err(io_error)?;
            if read == 0 {
                break;
            }
            self.line += 1;
            let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            if line.len() > MAX_LINE {
                return Err(self.error(
                    MirrorErrorKind::Unsupported,
                    format!("line longer than {MAX_LINE} bytes"),
                ));
            }
            let line = syntax::trim_end(syntax::skip_space(line));
            match self.line_of(line) {
                Ok(()) => {}
                Err(LineError::Skip(why)) => {
                    self.skipped += 1;
                    // The first few, as rbldnsd does: a hostile file must not flood the log.
                    if self.skipped <= LOGGED_SKIPS {
                        tracing::warn!(file = %path.display(), line = self.line, "{why}: line skipped");
                    }
                }
                Err(LineError::Fatal(kind, detail)) => return Err(self.error(kind, detail)),
            }
            if self.entries > MAX_ENTRIES {
                return Err(self.error(
                    MirrorErrorKind::TooLarge,
                    format!("more than {MAX_ENTRIES} entries"),
                ));
            }
        }
        Ok(())
    }

    fn line_of(&mut self, line: &[u8]) -> Result<(), LineError> {
        let special = match line {
            [b'$', rest @ ..] => Some(rest),
            [b'#' | b';' | b':', b'$', rest @ ..] => Some(rest),
            _ => None,
        };
        if let Some(rest) = special {
            return self.special(rest);
        }
        if line.is_empty() || syntax::is_comment(line[0]) {
            return Ok(());
        }
        match self.format {
            Format::Ip4Set | Format::Ip4Trie => self.ip4_line(line),
            Format::Ip6Trie => self.ip6_line(line),
            Format::DnSet => self.name_line(line),
        }
    }

    /// `$SOA`, `$NS`, `$TTL`, `$MAXRANGE4`, `$n`/`$=` (rbldnsd's `ds_special`).
    fn special(&mut self, line: &[u8]) -> Result<(), LineError> {
        const INVALID: LineError = LineError::Skip("invalid or unrecognized special entry");
        if let Some(rest) = syntax::keyword(line, "soa") {
            if self.soa_minimum.is_some() {
                return Ok(());
            }
            let (_, rest) = syntax::time(rest).ok_or(INVALID)?;
            let (origin, rest) = syntax::word(rest);
            let (person, rest) = syntax::word(rest);
            if origin.is_empty() || person.is_empty() {
                return Err(INVALID);
            }
            let (_, mut rest) = syntax::number(rest).ok_or(INVALID)?;
            let mut minimum = 0;
            for _ in 0..4 {
                (minimum, rest) = syntax::time(rest).ok_or(INVALID)?;
            }
            if !rest.is_empty() {
                return Err(INVALID);
            }
            self.soa_minimum = Some(minimum);
            return Ok(());
        }
        if syntax::keyword(line, "ns").is_some() || syntax::keyword(line, "nameserver").is_some() {
            // Name servers matter to DNS clients, not to answers about listings.
            return Ok(());
        }
        if let Some(rest) = syntax::keyword(line, "ttl") {
            let (ttl, rest) = syntax::time(rest).ok_or(INVALID)?;
            if !rest.is_empty() {
                return Err(INVALID);
            }
            self.ttl = if ttl == 0 { DEFAULT_TTL } else { ttl };
            return Ok(());
        }
        if let Some(rest) = syntax::keyword(line, "maxrange4") {
            let (cidr, rest) = match rest.strip_prefix(b"/") {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let (mut range, rest) = syntax::number(rest).ok_or(INVALID)?;
            if !rest.is_empty() || range == 0 || (cidr && range > 32) {
                return Err(INVALID);
            }
            if cidr {
                range = (!syntax::ip4_mask(range)).wrapping_add(1);
            }
            match self.max_range {
                Some(current) if current < range => {
                    return Err(LineError::Skip("$MAXRANGE4 may not grow"));
                }
                _ => self.max_range = Some(range),
            }
            return Ok(());
        }
        if let [first @ (b'0'..=b'9' | b'='), blank, rest @ ..] = line
            && syntax::is_space(*blank)
        {
            let slot = match first {
                b'=' => &mut self.subst.base,
                digit => &mut self.subst.vars[usize::from(digit - b'0')],
            };
            if slot.is_some() {
                return Ok(());
            }
            let text = syntax::skip_space(rest);
            if text.is_empty() {
                return Err(INVALID);
            }
            *slot = Some(text.into());
            return Ok(());
        }
        if syntax::keyword(line, "timestamp").is_some() {
            return Err(LineError::Fatal(
                MirrorErrorKind::Unsupported,
                "$TIMESTAMP is not supported".into(),
            ));
        }
        Err(INVALID)
    }

    fn intern(&mut self, a: u32, txt: &[u8]) -> u32 {
        self.key.clear();
        self.key.extend_from_slice(&a.to_be_bytes());
        self.key.extend_from_slice(txt);
        if let Some(&index) = self.interned.get(self.key.as_slice()) {
            return index;
        }
        let index = self.values.len() as u32;
        self.values.push(Value { a, txt: txt.into() });
        self.interned.insert(self.key.clone(), index);
        index
    }

    /// A `:A:TXT` line setting the default for the rest of the file.
    fn default_line(&mut self, line: &[u8]) -> Result<(), LineError> {
        let (a, txt) = syntax::value(line).ok_or(LineError::Skip("invalid A RR"))?;
        let txt = match txt {
            ValueText::Given(txt) => txt,
            ValueText::Default => b"",
        };
        self.default = self.intern(a.unwrap_or(0x7f00_0002), txt);
        Ok(())
    }

    /// The value of an entry: what follows its key (blanks skipped).
    fn entry_value(&mut self, rest: &[u8]) -> Result<u32, LineError> {
        if rest.is_empty() || syntax::is_comment(rest[0]) {
            return Ok(self.default);
        }
        let (a, txt) = syntax::value(rest).ok_or(LineError::Skip("invalid value"))?;
        let default = &self.values[self.default as usize];
        let a = a.unwrap_or(default.a);
        Ok(match txt {
            ValueText::Given(txt) => self.intern(a, txt),
            ValueText::Default => {
                let txt = default.txt.clone();
                self.intern(a, &txt)
            }
        })
    }

    /// An entry's value: [`EXCLUDED`] for an exclusion, else read from the text after it.
    fn value_of(&mut self, excluded: bool, text: &[u8]) -> Result<u32, LineError> {
        if excluded {
            Ok(EXCLUDED)
        } else {
            self.entry_value(text)
        }
    }

    fn ip4_line(&mut self, line: &[u8]) -> Result<(), LineError> {
        if line[0] == b':' {
            return self.default_line(line);
        }
        let (excluded, line) = exclusion(line);
        let (first, last, bits, rest) = if self.format == Format::Ip4Set {
            let (first, last, bits, rest) = syntax::ip4_range(line).ok_or(INVALID_ADDRESS)?;
            if bits == 0 {
                return Err(INVALID_ADDRESS);
            }
            (first, last, bits, rest)
        } else {
            let (first, bits, rest) = syntax::ip4_cidr(line).ok_or(INVALID_ADDRESS)?;
            (first, first | !syntax::ip4_mask(bits), bits, rest)
        };
        address_end(rest)?;
        if first & !syntax::ip4_mask(bits) != 0 {
            return Err(LineError::Skip("invalid range (non-zero host part)"));
        }
        if let Some(max) = self.max_range
            && max <= last - first
        {
            return Err(LineError::Skip("range larger than $MAXRANGE4"));
        }
        let value = self.value_of(excluded, syntax::skip_space(rest))?;
        if self.format == Format::Ip4Trie {
            self.trie4.push((first, bits as u8, value));
            self.entries += 1;
        } else {
            self.expand_ip4(first, last, value);
        }
        Ok(())
    }

    /// Cuts `first..=last` into /32, /24, /16 and /8 entries as rbldnsd's `ip4set` does.
    fn expand_ip4(&mut self, mut a: u32, mut b: u32, value: u32) {
        let mut push = |level: usize, start: u32, count: u32| {
            let step = 1u64 << (8 * level);
            let start = u64::from(start);
            for i in 0..u64::from(count) {
                let address = (start + i * step) as u32;
                self.ip4set[level].push((u64::from(address) << 32) | u64::from(value));
            }
            self.entries += count as usize;
        };
        for level in 0..3usize {
            let shift = 8 * level as u32;
            if (a | 255) >= b {
                if b.wrapping_sub(a) == 255 {
                    push(level + 1, a << shift, 1);
                } else {
                    push(level, a << shift, b.wrapping_sub(a).wrapping_add(1));
                }
                return;
            }
            if a & 255 != 0 {
                push(level, a << shift, 256 - (a & 255));
                a = (a >> 8) + 1;
            } else {
                a >>= 8;
            }
            if b & 255 != 255 {
                push(level, (b & !255) << shift, (b & 255) + 1);
                b = (b >> 8).wrapping_sub(1);
            } else {
                b >>= 8;
            }
        }
        push(3, a << 24, b.wrapping_sub(a).wrapping_add(1));
    }

    fn ip6_line(&mut self, line: &[u8]) -> Result<(), LineError> {
        if line[0] == b':' && line.get(1) != Some(&b':') {
            return self.default_line(line);
        }
        let (excluded, line) = exclusion(line);
        let (address, bits, rest) = syntax::ip6_cidr(line).ok_or(INVALID_ADDRESS)?;
        address_end(rest)?;
        if address & !syntax::ip6_mask(bits) != 0 {
            return Err(LineError::Skip("invalid range (non-zero host part)"));
        }
        let value = self.value_of(excluded, syntax::skip_space(rest))?;
        self.trie6.push((address, bits as u8, value));
        self.entries += 1;
        Ok(())
    }

    fn name_line(&mut self, line: &[u8]) -> Result<(), LineError> {
        if line[0] == b':' {
            return self.default_line(line);
        }
        let (excluded, line) = exclusion(line);
        let (plain, wild, line) = if let Some(rest) = line.strip_prefix(b"*.") {
            (false, true, rest)
        } else if let Some(rest) = line.strip_prefix(b".") {
            (true, true, rest)
        } else {
            (true, false, line)
        };
        let mut name = std::mem::take(&mut self.name);
        let parsed = syntax::domain_name(line, &mut name);
        let result = match parsed {
            Err(NameError::Invalid) => Err(LineError::Skip("invalid domain name")),
            Err(NameError::Unsupported) => Err(LineError::Fatal(
                MirrorErrorKind::Unsupported,
                "domain name with characters other than letters, digits, '-' and '_'".into(),
            )),
            Ok(_) if self.arena.len() + name.len() > u32::MAX as usize => Err(LineError::Fatal(
                MirrorErrorKind::TooLarge,
                "more than 4 GiB of domain names".into(),
            )),
            Ok(rest) => self.value_of(excluded, rest).map(|value| {
                let offset = self.arena.len() as u32;
                self.arena.extend_from_slice(&name);
                let entry = NameEntry {
                    offset,
                    len: name.len() as u8,
                    value,
                };
                if plain {
                    self.plain.push(entry);
                    self.entries += 1;
                }
                if wild {
                    self.wild.push(entry);
                    self.entries += 1;
                }
            }),
        };
        self.name = name;
        result
    }

    pub(super) fn finish(self) -> Result<Dataset, MirrorError> {
        if self.skipped > LOGGED_SKIPS {
            tracing::warn!(
                "{} more lines skipped ({} in all)",
                self.skipped - LOGGED_SKIPS,
                self.skipped
            );
        }
        let Loader {
            format,
            values,
            ttl,
            soa_minimum,
            subst,
            mut ip4set,
            trie4,
            trie6,
            arena,
            mut plain,
            mut wild,
            skipped,
            ..
        } = self;
        let data = match format {
            Format::Ip4Set => {
                for level in &mut ip4set {
                    level.sort_unstable();
                    // An exclusion (value 0, sorted first) hides the address's other values
                    // at this level; equal values count once.
                    dedup_groups(level, |e| e >> 32, |e| e as u32);
                    level.shrink_to_fit();
                }
                Data::Ip4Set(ip4set.map(Sorted::new))
            }
            Format::Ip4Trie => Data::Ip4Trie(trie(trie4, syntax::ip4_mask)),
            Format::Ip6Trie => Data::Ip6Trie(trie(trie6, syntax::ip6_mask)),
            Format::DnSet => {
                for entries in [&mut plain, &mut wild] {
                    let name_of = |entry: &NameEntry| name_of(&arena, entry);
                    entries.sort_unstable_by(|x, y| {
                        name_of(x).cmp(name_of(y)).then(x.value.cmp(&y.value))
                    });
                    let mut kept = 0usize;
                    for i in 0..entries.len() {
                        let entry = entries[i];
                        if kept > 0 {
                            let last = entries[kept - 1];
                            if name_of(&last) == name_of(&entry)
                                && (last.value == EXCLUDED || last.value == entry.value)
                            {
                                continue;
                            }
                        }
                        entries[kept] = entry;
                        kept += 1;
                    }
                    entries.truncate(kept);
                    entries.shrink_to_fit();
                }
                Data::DnSet { arena, plain, wild }
            }
        };
        let entries = match &data {
            Data::Ip4Set(levels) => levels.iter().map(Sorted::len).sum(),
            Data::Ip4Trie(spans) => spans.len(),
            Data::Ip6Trie(spans) => spans.len(),
            Data::DnSet { plain, wild, .. } => plain.len() + wild.len(),
        };
        let mut values = values;
        values.shrink_to_fit();
        Ok(Dataset {
            values,
            ttl,
            soa_minimum,
            subst,
            data,
            entries,
            skipped_lines: skipped,
        })
    }
}

/// A line's address that could not be read.
const INVALID_ADDRESS: LineError = LineError::Skip("invalid address");

/// An entry's leading `!` (an exclusion) and the rest of the line after it.
fn exclusion(line: &[u8]) -> (bool, &[u8]) {
    match line.strip_prefix(b"!") {
        Some(rest) => (true, syntax::skip_space(rest)),
        None => (false, line),
    }
}

/// An address must end the line or be followed by a space, a comment or `:`.
fn address_end(rest: &[u8]) -> Result<(), LineError> {
    match rest.first() {
        Some(&next) if !syntax::is_space(next) && !syntax::is_comment(next) && next != b':' => {
            Err(INVALID_ADDRESS)
        }
        _ => Ok(()),
    }
}

/// The spans of a trie's CIDR blocks `(address, bits, value)`: a repeated block keeps its
/// first value, as rbldnsd's trie does, and the most specific block decides.
fn trie<T>(mut blocks: Vec<(T, u8, u32)>, mask: fn(u32) -> T) -> Sorted<Span<T>>
where
    T: Address + std::ops::BitOr<Output = T> + std::ops::Not<Output = T>,
{
    // A stable sort: of equal blocks, the first written stays first.
    blocks.sort_by_key(|&(address, bits, _)| (address, bits));
    blocks.dedup_by_key(|&mut (address, bits, _)| (address, bits));
    let blocks = blocks
        .into_iter()
        .map(|(address, bits, value)| (address, address | !mask(u32::from(bits)), value))
        .collect();
    Sorted::new(flatten(blocks))
}

/// Keeps, of each run of sorted items with the same key, the first if its value is an
/// exclusion, else one of each value.
fn dedup_groups(items: &mut Vec<u64>, key: impl Fn(u64) -> u64, value: impl Fn(u64) -> u32) {
    let mut kept = 0usize;
    for i in 0..items.len() {
        let item = items[i];
        if kept > 0 {
            let last = items[kept - 1];
            if key(last) == key(item) && (value(last) == EXCLUDED || value(last) == value(item)) {
                continue;
            }
        }
        items[kept] = item;
        kept += 1;
    }
    items.truncate(kept);
}

/// Address types of the tries.
pub(super) trait Address: Copy + Ord {
    fn next(self) -> Option<Self>;
    fn previous(self) -> Self;
}

macro_rules! address {
    ($($type:ty),*) => {$(
        impl Address for $type {
            fn next(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn previous(self) -> Self {
                self - 1
            }
        }
    )*};
}

address!(u32, u128);

/// Turns CIDR blocks (sorted by start, wider first; nested or disjoint, never overlapping
/// otherwise) into disjoint spans, each with the value of the most specific block over it:
/// the longest-prefix match of a trie, found by one binary search. At most 2n+1 spans.
pub(super) fn flatten<T: Address>(blocks: Vec<(T, T, u32)>) -> Vec<Span<T>> {
    let mut spans: Vec<Span<T>> = Vec::with_capacity(blocks.len());
    let mut open: Vec<(T, u32)> = Vec::new();
    // The first address not yet covered by an emitted span; None past the last address.
    let mut cursor: Option<T> = None;
    for (start, end, value) in blocks {
        while let Some(&(top_end, top_value)) = open.last()
            && top_end < start
        {
            close(&mut spans, &mut cursor, top_end, top_value);
            open.pop();
        }
        if let Some(&(_, top_value)) = open.last()
            && let Some(from) = cursor
            && from < start
        {
            emit(&mut spans, from, start.previous(), top_value);
        }
        cursor = Some(start);
        open.push((end, value));
    }
    while let Some((end, value)) = open.pop() {
        close(&mut spans, &mut cursor, end, value);
    }
    spans.retain(|span| span.value != EXCLUDED);
    spans.shrink_to_fit();
    spans
}

/// Emits what is left of a block ending at `end`, and moves the cursor past it.
fn close<T: Address>(spans: &mut Vec<Span<T>>, cursor: &mut Option<T>, end: T, value: u32) {
    if let Some(from) = *cursor
        && from <= end
    {
        emit(spans, from, end, value);
        *cursor = end.next();
    }
}

/// Appends a span, merged into the previous one when it continues it with the same value.
fn emit<T: Address>(spans: &mut Vec<Span<T>>, start: T, end: T, value: u32) {
    if let Some(last) = spans.last_mut()
        && last.value == value
        && last.end.next() == Some(start)
    {
        last.end = end;
        return;
    }
    spans.push(Span { start, end, value });
}
