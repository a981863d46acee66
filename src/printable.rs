//! Text from outside (server replies, DNS records, certificate names,
//! profile files, anything a user pasted) made safe to show on a terminal.
//!
//! A terminal obeys some characters instead of showing them: C0 controls
//! (ESC starts a sequence that can repaint the screen, move the cursor or
//! set the window title), DEL, the C1 controls U+0080–U+009F (U+009B is a
//! one-character CSI on many terminals), and the bidirectional formatting
//! characters that reorder what follows them (U+202A–U+202E, U+2066–U+2069,
//! U+200E, U+200F, U+061C), with which `moc.elpmaxe` can read as
//! `example.com`. Every one of them is shown as a visible escape instead:
//! `\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`. Everything else passes unchanged.
//!
//! Every front end applies this where text leaves the program: the text and
//! Markdown reports, progress and error lines on standard error, `profiles
//! list/show`, and the interactive screen. The JSON report keeps exact
//! strings: JSON escapes every control character itself (`\u001b`), and
//! bidirectional characters stay as they are there, which is right for a
//! machine reading the data (a program that shows JSON strings to a person
//! must make them printable itself).

use std::borrow::Cow;

/// Whether `c` is shown as an escape rather than as itself. Line feeds are
/// included; [`printable_lines`] keeps them.
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

fn escape_into(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let n = u32::from(c);
    let _ = if n < 0x80 {
        write!(out, "\\x{n:02x}")
    } else {
        write!(out, "\\u{{{n:x}}}")
    };
}

fn convert(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| needs_escape(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of text, printable: every control and bidirectional character
/// (line feeds too) as a visible escape.
pub fn printable(s: &str) -> Cow<'_, str> {
    convert(s, false)
}

/// Text of several lines, printable: as [`printable`], but line feeds stay.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    convert(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_obeys() {
        assert_eq!(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("x\x7fy"), "x\\x7fy");
        assert_eq!(printable("moc.\u{202e}elpmaxe"), "moc.\\u{202e}elpmaxe");
        assert_eq!(
            printable("\u{2066}\u{2069}\u{200f}\u{61c}"),
            "\\u{2066}\\u{2069}\\u{200f}\\u{61c}"
        );
        assert_eq!(printable("a\r\nb\t"), "a\\x0d\\x0ab\\x09");
        assert_eq!(printable_lines("a\r\nb"), "a\\x0d\nb");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for s in [
            "",
            "250 smtp.example.com ESMTP",
            "Grüße → “ok” ✔ 日本",
            "C:\\path",
        ] {
            assert!(matches!(printable(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(printable(s), s);
        }
    }
}
