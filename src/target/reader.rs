//! Reading a target list: targets one per line, from a file or stdin.
//!
//! The rules, the same wherever this crate's tools read target files:
//!
//! - one target per line; `#` starts a comment that runs to the end of the line, wherever on
//!   the line it stands;
//! - white space around a target (spaces, tabs, the `\r` of a CRLF line end) is dropped, and a
//!   line with nothing left is skipped;
//! - a UTF-8 byte-order mark at the very start of the first line (as Windows editors save
//!   files) is dropped; anywhere else it is part of the line;
//! - lines are numbered from 1, comment and blank lines included, so that a number points at
//!   the line in an editor;
//! - a line longer than [`MAX_LINE`] bytes (its line feed included) is an error of its own
//!   ([`ReadError::LineTooLong`]), never buffered whole; reading goes on at the next line;
//! - bytes that are not UTF-8 become U+FFFD, so that such a line fails to parse as a target
//!   with its line number, rather than ending the read.
//!
//! What a target is (an address, a network, a domain name) is up to the caller: the reader
//! hands over text, and [`TargetLine::parse`] reads it as a [`TargetSpec`].

use std::borrow::Cow;
use std::cell::OnceCell;
use std::io::{self, BufRead, BufReader, Read};
use std::net::Ipv4Addr;

use super::{TargetError, TargetSpec};

/// The longest line read, in bytes, its line feed included: no target is this long.
pub const MAX_LINE: usize = 4096;

/// The UTF-8 encoding of U+FEFF, the byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a target list line by line, by the rules of the [module docs](self).
///
/// [`TargetReader::next_line`] gives every line, blank and comment lines included, for a
/// caller that acts between lines (one that reads a terminal sends what it has before it waits
/// for more, with [`TargetReader::has_line_buffered`]). As an [`Iterator`], the reader gives
/// the targets only.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::reader::{ReadError, TargetReader};
///
/// let file = "\u{FEFF}# mail servers\n192.0.2.1  # the old one\n\n2001:db8::/126\r\n";
/// let targets: Vec<_> = TargetReader::new(file.as_bytes())
///     .collect::<Result<_, ReadError>>()
///     .unwrap();
/// assert_eq!(targets.len(), 2);
/// assert_eq!((targets[0].line(), targets[0].text()), (2, "192.0.2.1"));
/// assert_eq!((targets[1].line(), targets[1].text()), (4, "2001:db8::/126"));
/// assert_eq!(targets[1].parse().unwrap().len(), 4);
/// ```
#[derive(Debug)]
pub struct TargetReader<R> {
    reader: R,
    buffer: Vec<u8>,
    number: u64,
    max_line: usize,
}

impl<R: BufRead> TargetReader<R> {
    /// A reader of the lines `reader` gives.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new("192.0.2.1\n".as_bytes());
    /// let line = reader.next_line().unwrap().unwrap();
    /// assert_eq!(line.target(), Some("192.0.2.1"));
    /// assert!(reader.next_line().is_none());
    /// ```
    pub fn new(reader: R) -> Self {
        TargetReader {
            reader,
            buffer: Vec::new(),
            number: 0,
            max_line: MAX_LINE,
        }
    }

    /// Lines longer than `bytes` (line feed included) are errors; [`MAX_LINE`] unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::{ReadError, TargetReader};
    ///
    /// let mut reader = TargetReader::new("example.com\n192.0.2.1\n".as_bytes()).max_line(10);
    /// assert!(matches!(reader.next(), Some(Err(ReadError::LineTooLong { line: 1, .. }))));
    /// assert_eq!(reader.next().unwrap().unwrap().text(), "192.0.2.1");
    /// ```
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// The next line, blank and comment lines included; `None` at the end of the input.
    ///
    /// After an error the reader goes on at the next line: a line too long is skipped, and an
    /// I/O error may or may not repeat.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new("# comment\nexample.com\n".as_bytes());
    /// let first = reader.next_line().unwrap().unwrap();
    /// assert_eq!((first.number(), first.target()), (1, None));
    /// let second = reader.next_line().unwrap().unwrap();
    /// assert_eq!((second.number(), second.target()), (2, Some("example.com")));
    /// ```
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, ReadError>> {
        self.buffer.clear();
        match read_line(&mut self.reader, self.max_line, &mut self.buffer) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(error) => return Some(Err(ReadError::Io(error))),
        }
        self.number += 1;
        if self.number == 1 && self.buffer.starts_with(UTF8_BOM) {
            self.buffer.drain(..UTF8_BOM.len());
        }
        if !self.buffer.ends_with(b"\n") && self.buffer.len() == self.max_line {
            let line = self.number;
            return Some(match skip_rest_of_line(&mut self.reader) {
                Ok(()) => Err(ReadError::LineTooLong {
                    line,
                    max: self.max_line,
                }),
                Err(error) => Err(ReadError::Io(error)),
            });
        }
        Some(Ok(Line {
            number: self.number,
            bytes: &self.buffer,
            text: OnceCell::new(),
        }))
    }

    /// The reader inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let reader = TargetReader::new("192.0.2.1\n".as_bytes());
    /// assert_eq!(reader.get_ref().len(), 10);
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.reader
    }
}

impl<R: Read> TargetReader<BufReader<R>> {
    /// Whether a whole next line is read in already, so that [`TargetReader::next_line`]
    /// will not wait for it (on a terminal or a slow pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::BufReader;
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new(BufReader::new("192.0.2.1\n192.0.2.2\n".as_bytes()));
    /// reader.next_line();
    /// assert!(reader.has_line_buffered());
    /// reader.next_line();
    /// assert!(!reader.has_line_buffered());
    /// ```
    pub fn has_line_buffered(&self) -> bool {
        // The next line feed is a short line away: a plain scan (see `read_line`), which
        // `contains` is not.
        #[allow(clippy::manual_contains)]
        self.reader.buffer().iter().any(|&byte| byte == b'\n')
    }
}

impl<R: BufRead> Iterator for TargetReader<R> {
    type Item = Result<TargetLine, ReadError>;

    /// The next target, skipping blank and comment lines.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.next_line()? {
                Ok(line) => line,
                Err(error) => return Some(Err(error)),
            };
            if let Some(text) = line.target() {
                return Some(Ok(TargetLine {
                    line: line.number,
                    text: text.to_owned(),
                }));
            }
        }
    }
}

/// Appends the next line to `out`, its line feed included, or at most `max` bytes of it;
/// returns how many bytes were read (0 at the end of the input).
///
/// As `read_until` on a reader limited to `max` bytes would, but with a plain scan of the
/// buffer for the line feed: target lines are a dozen bytes or so, shorter than it takes the
/// standard search to set up its word-at-a-time loop, which cost about as much as the rest of
/// reading a line.
fn read_line(reader: &mut impl BufRead, max: usize, out: &mut Vec<u8>) -> io::Result<usize> {
    let start = out.len();
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let room = max - (out.len() - start);
        let window = &buffer[..buffer.len().min(room)];
        let (taken, done) = match window.iter().position(|&byte| byte == b'\n') {
            Some(end) => (end + 1, true),
            None => (window.len(), window.is_empty() || window.len() == room),
        };
        out.extend_from_slice(&window[..taken]);
        reader.consume(taken);
        if done {
            return Ok(out.len() - start);
        }
    }
}

/// Reads past the rest of a line (its line feed included).
fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
}

/// One line of a target list, as [`TargetReader::next_line`] gives it.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::reader::TargetReader;
///
/// let mut reader = TargetReader::new("  192.0.2.1 # a comment\n".as_bytes());
/// let line = reader.next_line().unwrap().unwrap();
/// assert_eq!(line.number(), 1);
/// assert_eq!(line.target(), Some("192.0.2.1"));
/// ```
#[derive(Debug)]
pub struct Line<'a> {
    number: u64,
    /// The line as read, line feed included.
    bytes: &'a [u8],
    /// The line as text, decoded when first asked for.
    text: OnceCell<Cow<'a, str>>,
}

impl Line<'_> {
    /// The line's number, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new("\n\n".as_bytes());
    /// reader.next_line();
    /// assert_eq!(reader.next_line().unwrap().unwrap().number(), 2);
    /// ```
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The target on the line, without comment and surrounding white space; `None` if the
    /// line holds none.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new("   # nothing here\n".as_bytes());
    /// assert_eq!(reader.next_line().unwrap().unwrap().target(), None);
    /// ```
    pub fn target(&self) -> Option<&str> {
        strip_comment(self.text())
    }

    /// The line's target when the line is a plain IPv4 address and nothing else (a line
    /// feed after it, with or without a carriage return): read from the bytes at once, where
    /// most lines of a bulk list need nothing more. It is the target that
    /// [`Line::target`]'s text parses as.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let mut reader = TargetReader::new("192.0.2.1\r\n 192.0.2.2\n".as_bytes());
    /// let plain = reader.next_line().unwrap().unwrap();
    /// assert_eq!(plain.ipv4(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    /// // Anything else on the line: read through `target`.
    /// let indented = reader.next_line().unwrap().unwrap();
    /// assert_eq!((indented.ipv4(), indented.target()), (None, Some("192.0.2.2")));
    /// ```
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        let line = self.bytes.strip_suffix(b"\n").unwrap_or(self.bytes);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        crate::target::dotted_quad_bytes(line)
    }

    fn text(&self) -> &str {
        self.text.get_or_init(|| {
            // Valid UTF-8, nearly every line, is checked at the speed of plain ASCII.
            match std::str::from_utf8(self.bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(self.bytes),
            }
        })
    }
}

/// The target on a line, without comment and surrounding white space; `None` if blank.
fn strip_comment(line: &str) -> Option<&str> {
    // A short line is scanned byte by byte: quicker than setting up a search for `#`.
    let end = line
        .bytes()
        .position(|byte| byte == b'#')
        .unwrap_or(line.len());
    let before_comment = trim(&line[..end]);
    (!before_comment.is_empty()).then_some(before_comment)
}

/// `text.trim()`: white space as Unicode defines it, taken off at both ends. ASCII first,
/// without decoding: where what is left begins and ends in ASCII, nothing more is white space.
fn trim(text: &str) -> &str {
    let ascii = text.trim_ascii();
    match (ascii.as_bytes().first(), ascii.as_bytes().last()) {
        (Some(&first), Some(&last)) if plain_ascii(first) && plain_ascii(last) => ascii,
        (None, None) => ascii,
        _ => ascii.trim(),
    }
}

/// An ASCII character that is not white space: not even the vertical tab, which Unicode
/// counts as white space and [`u8::is_ascii_whitespace`] does not.
fn plain_ascii(byte: u8) -> bool {
    byte.is_ascii() && !char::from(byte).is_whitespace()
}

/// A target read from a list, with its line number: what the reader gives as an iterator.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::reader::TargetReader;
///
/// let target = TargetReader::new("\nexample.com\n".as_bytes()).next().unwrap().unwrap();
/// assert_eq!((target.line(), target.text()), (2, "example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLine {
    line: u64,
    text: String,
}

impl TargetLine {
    /// The line's number, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let target = TargetReader::new("# list\n192.0.2.1\n".as_bytes()).next().unwrap();
    /// assert_eq!(target.unwrap().line(), 2);
    /// ```
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The target as written, without comment and surrounding white space.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let target = TargetReader::new(" Example.COM \n".as_bytes()).next().unwrap();
    /// assert_eq!(target.unwrap().text(), "Example.COM");
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The target as a [`TargetSpec`]: an address, a network or a domain name.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::target::reader::TargetReader;
    ///
    /// let target = TargetReader::new("999.1.1.1\n".as_bytes()).next().unwrap().unwrap();
    /// assert!(target.parse().is_err());
    /// ```
    pub fn parse(&self) -> Result<TargetSpec, TargetError> {
        self.text.parse()
    }
}

/// What went wrong reading a target list.
///
/// # Examples
///
/// ```
/// use dnsbl_check::target::reader::{ReadError, TargetReader};
///
/// let long = format!("{}\n", "a".repeat(5000));
/// let error = TargetReader::new(long.as_bytes()).next().unwrap().unwrap_err();
/// assert!(matches!(error, ReadError::LineTooLong { line: 1, .. }));
/// assert_eq!(error.to_string(), "line 1: line too long");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Line `line` is longer than `max` bytes; it was skipped.
    #[error("line {line}: line too long")]
    LineTooLong {
        /// The line's number, from 1.
        line: u64,
        /// The longest line read, in bytes.
        max: usize,
    },
    /// The input could not be read.
    #[error("{0}")]
    Io(#[source] io::Error),
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// A line's target is what splitting at `#` and `str::trim` give: Unicode white space
        /// included (the vertical tab, no-break and ideographic spaces, next line).
        #[test]
        fn the_target_is_the_text_before_a_comment_trimmed_as_unicode_trims(
            line in "[ \t\u{b}\u{c}\r\u{85}\u{a0}\u{3000}a1.#é]{0,12}",
        ) {
            let want = line.split('#').next().unwrap_or_default().trim();
            let want = (!want.is_empty()).then_some(want);
            prop_assert_eq!(strip_comment(&line), want);
        }

        /// A line read as a plain address at once is the one its text parses as; and a line
        /// that is only an address (and its line end) is always read so.
        #[test]
        fn a_plain_address_is_the_target_the_text_parses_as(
            line in "[0-9.]{0,16}(\r?\n)?|[0-9a-f.: \t#\r]{0,16}\n?",
            addr in any::<[u8; 4]>(),
            end in "(\r?\n)?",
        ) {
            let parsed = |line: &str| {
                let mut reader = TargetReader::new(line.as_bytes());
                let line = reader.next_line().map(Result::unwrap);
                line.map(|line| {
                    let spec = line.target().map(|text| text.parse::<TargetSpec>());
                    (line.ipv4(), spec)
                })
            };
            if let Some((Some(ipv4), spec)) = parsed(&line) {
                let one = TargetSpec::One(crate::Target::ip(ipv4.into()));
                prop_assert_eq!(spec, Some(Ok(one)));
            }
            let plain = format!("{}{end}", Ipv4Addr::from(addr));
            let (ipv4, _) = parsed(&plain).unwrap();
            prop_assert_eq!(ipv4, Some(Ipv4Addr::from(addr)));
        }

        /// Lines are read as `read_until` on a reader limited to `max` bytes reads them, over
        /// any split of the input across the reader's buffer.
        #[test]
        fn lines_are_read_as_read_until_reads_them(
            input in proptest::collection::vec(
                proptest::prop_oneof![4 => Just(b'a'), 1 => Just(b'\n'), 1 => any::<u8>()],
                0..200,
            ),
            capacity in 1usize..40,
            max in 1usize..30,
        ) {
            let mut ours = std::io::BufReader::with_capacity(capacity, &input[..]);
            let mut theirs = std::io::BufReader::with_capacity(capacity, &input[..]);
            loop {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                let read = read_line(&mut ours, max, &mut got).unwrap();
                let wanted = (&mut theirs).take(max as u64).read_until(b'\n', &mut want).unwrap();
                prop_assert_eq!(read, wanted);
                prop_assert_eq!(&got, &want);
                if read == 0 {
                    break;
                }
            }
        }
    }

    fn lines(input: &[u8]) -> Vec<(u64, Option<String>)> {
        let mut reader = TargetReader::new(input);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line() {
            match line {
                Ok(line) => out.push((line.number(), line.target().map(str::to_owned))),
                Err(ReadError::LineTooLong { line, .. }) => out.push((line, None)),
                Err(error) => panic!("{error}"),
            }
        }
        out
    }

    #[test]
    fn a_bom_is_dropped_from_the_first_line_only() {
        let got = lines("\u{FEFF}# c\n\u{FEFF}192.0.2.1\n".as_bytes());
        assert_eq!(got[0], (1, None));
        assert_eq!(got[1], (2, Some("\u{FEFF}192.0.2.1".to_owned())));
    }

    #[test]
    fn invalid_utf8_is_a_line_of_its_own() {
        let got = lines(b"\xff\xfe\n192.0.2.1");
        assert_eq!(got[0], (1, Some("\u{FFFD}\u{FFFD}".to_owned())));
        assert_eq!(got[1], (2, Some("192.0.2.1".to_owned())));
    }

    #[test]
    fn a_long_line_is_skipped_and_reading_goes_on() {
        let input = format!("{}\n192.0.2.1\n", "x".repeat(MAX_LINE * 3));
        let targets: Vec<_> = TargetReader::new(input.as_bytes()).collect();
        assert!(matches!(
            targets[0],
            Err(ReadError::LineTooLong {
                line: 1,
                max: MAX_LINE
            })
        ));
        assert_eq!(targets[1].as_ref().unwrap().line(), 2);
        assert_eq!(targets.len(), 2);
    }

    #[test]
    fn a_line_of_exactly_the_limit_with_its_line_feed_is_read() {
        let input = format!("{}\n", "a".repeat(MAX_LINE - 1));
        assert_eq!(lines(input.as_bytes()).len(), 1);
        assert!(TargetReader::new(input.as_bytes()).next().unwrap().is_ok());
    }
}
