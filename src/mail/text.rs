//! Text that goes back to an SMTP client or into a header: one clean line.

/// `text` as one line of printable ASCII: control characters (CR and LF included) and runs of
/// white space become one space, other characters `?`; at most `max` bytes, `...` marking a
/// cut.
///
/// Everything quoted in a reply (a list's TXT reason, a HELO name) comes from strangers: this
/// keeps it from ending the reply line or smuggling a header.
///
/// # Examples
///
/// ```
/// use dnsbl_check::mail::one_line;
///
/// assert_eq!(one_line("a\r\nb\tc  d\x07e", 100), "a b c d e");
/// assert_eq!(one_line("caf\u{e9}", 100), "caf?");
/// assert_eq!(one_line("abcdefghij", 8), "abcde...");
/// ```
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(if c.is_ascii_graphic() { c } else { '?' });
    }
    shorten(&out, max)
}

/// At most `max` bytes of `text`, with `...` marking a cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_short_printable_line() {
        assert_eq!(one_line("a\r\nb\tc  d\x07e", 100), "a b c d e");
        assert_eq!(one_line("  caf\u{e9}  ", 100), "caf?");
        assert_eq!(
            one_line(&"x".repeat(500), 20),
            format!("{}...", "x".repeat(17))
        );
        assert_eq!(shorten("\u{e9}\u{e9}\u{e9}", 4), "...");
    }
}
