//! SMTP replies: the basic code (RFC 5321 §4.2) and the enhanced status code
//! (RFC 3463) split from the text, so the diagnosis can match codes first and
//! text second.

use serde::Serialize;
use std::fmt;

/// An enhanced status code such as `5.7.1` (RFC 3463: class.subject.detail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl From<EnhancedCode> for String {
    fn from(c: EnhancedCode) -> String {
        c.to_string()
    }
}

impl EnhancedCode {
    /// Parses `x.y.z` where x is 2, 4 or 5 and y, z have at most three digits.
    pub fn parse(word: &str) -> Option<EnhancedCode> {
        let mut parts = word.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(class, 1) && digits(subject, 3) && digits(detail, 3)) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(EnhancedCode {
            class,
            subject: subject.parse().ok()?,
            detail: detail.parse().ok()?,
        })
    }
}

/// A complete (possibly multi-line) SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The three-digit basic code, e.g. 554.
    pub code: u16,
    /// The enhanced code when the first line carries one.
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line, without the code, the separator and the
    /// enhanced code.
    pub lines: Vec<String>,
}

/// One line of a reply split into its parts.
#[derive(Debug, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    /// `true` when this is the last line (`250 ` rather than `250-`).
    pub last: bool,
    pub text: &'a str,
}

/// Splits one reply line. Returns `None` when the line is not of the form
/// `DDD`, `DDD text` or `DDD-text` with a first digit of 2 to 5.
pub fn parse_line(line: &str) -> Option<ReplyLine<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(b'2'..=b'5').contains(&bytes[0]) {
        return None;
    }
    let code: u16 = line[..3].parse().ok()?;
    match bytes.get(3) {
        None => Some(ReplyLine {
            code,
            last: true,
            text: "",
        }),
        Some(b' ') => Some(ReplyLine {
            code,
            last: true,
            text: &line[4..],
        }),
        Some(b'-') => Some(ReplyLine {
            code,
            last: false,
            text: &line[4..],
        }),
        _ => None,
    }
}

impl Reply {
    /// Builds a reply from its raw lines (as read from the wire, CRLF optional).
    /// Returns `None` if any line is malformed or the codes disagree.
    pub fn from_lines<S: AsRef<str>>(raw: &[S]) -> Option<Reply> {
        let mut code = None;
        let mut texts = Vec::with_capacity(raw.len());
        for l in raw {
            let p = parse_line(l.as_ref())?;
            if *code.get_or_insert(p.code) != p.code {
                return None;
            }
            texts.push(p.text.to_string());
        }
        let code = code?;
        let enhanced = texts
            .first()
            .and_then(|t| t.split_whitespace().next())
            .and_then(EnhancedCode::parse)
            .filter(|e| u16::from(e.class) == code / 100);
        if let Some(e) = enhanced {
            let prefix = e.to_string();
            for t in &mut texts {
                if let Some(rest) = t.strip_prefix(&prefix) {
                    *t = rest.trim_start().to_string();
                }
            }
        }
        Some(Reply {
            code,
            enhanced,
            lines: texts,
        })
    }

    /// Parses a reply written as text, one line per line (as pasted by a user).
    pub fn parse(text: &str) -> Option<Reply> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        Reply::from_lines(&lines)
    }

    /// The text of all lines joined by a space.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// `554 5.7.1 text` — the reply on one line, as users quote it.
    pub fn summary(&self) -> String {
        match self.enhanced {
            Some(e) => format!("{} {} {}", self.code, e, self.text()),
            None => format!("{} {}", self.code, self.text()),
        }
        .trim_end()
        .to_string()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_enhanced_code_and_text() {
        let r = Reply::parse("554 5.7.1 <bob@example.net>: Relay access denied").unwrap();
        assert_eq!(r.code, 554);
        assert_eq!(r.enhanced.unwrap().to_string(), "5.7.1");
        assert_eq!(r.text(), "<bob@example.net>: Relay access denied");
        assert!(r.is_permanent());
    }

    #[test]
    fn multi_line_reply_keeps_every_line() {
        let r = Reply::from_lines(&[
            "250-mail.example.test",
            "250-PIPELINING",
            "250 AUTH PLAIN LOGIN",
        ])
        .unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.enhanced, None);
        assert_eq!(
            r.lines,
            vec!["mail.example.test", "PIPELINING", "AUTH PLAIN LOGIN"]
        );
    }

    #[test]
    fn rejects_mixed_codes_and_garbage() {
        assert!(Reply::from_lines(&["250-a", "550 b"]).is_none());
        assert!(Reply::parse("hello world").is_none());
        assert!(Reply::parse("SSH-2.0-OpenSSH_9.2").is_none());
        assert!(parse_line("2500 x").is_none());
        assert!(parse_line("650 x").is_none());
    }

    #[test]
    fn enhanced_code_class_must_match_basic_code() {
        let r = Reply::parse("250 5.7.1 odd").unwrap();
        assert_eq!(r.enhanced, None);
        assert_eq!(r.text(), "5.7.1 odd");
        assert!(EnhancedCode::parse("5.7.1000").is_none());
        assert!(EnhancedCode::parse("3.1.1").is_none());
        assert_eq!(EnhancedCode::parse("4.7.0").unwrap().detail, 0);
    }
}
