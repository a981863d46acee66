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

/// Splits one line holding a whole multi-line reply back into its lines.
///
/// Postfix logs and bounces, and many programs' error messages, quote a
/// multi-line reply on one line with each line's code kept:
/// `550-5.7.1 [ip] The IP you're using to send mail is not authorized to
/// 550-5.7.1 send email directly ... 550 5.7.1 https://...`. A line that
/// starts with `DDD-` is cut before each later `DDD-` or `DDD ` standing
/// after a space; when the first line carries an enhanced code, a later
/// `DDD ` must carry the same one, so a number in the text ("550 ms") is not
/// taken for a line. The cut stops at the last line (`DDD `). A line that is
/// not such a reply comes back whole.
pub fn split_joined(line: &str) -> Vec<&str> {
    let line = line.trim();
    let Some(first) = parse_line(line) else {
        return vec![line];
    };
    if first.last {
        return vec![line];
    }
    let code = &line[..3];
    let enhanced = first
        .text
        .split_whitespace()
        .next()
        .and_then(EnhancedCode::parse)
        .filter(|e| u16::from(e.class) == first.code / 100)
        .map(|e| e.to_string());
    let bytes = line.as_bytes();
    let mut cuts = Vec::new();
    let mut at = 4;
    while let Some(found) = line[at..].find(code) {
        let p = at + found;
        at = p + 3;
        if !bytes[p - 1].is_ascii_whitespace() {
            continue;
        }
        let rest = &line[p + 3..];
        let last = match rest.as_bytes().first() {
            Some(b'-') => false,
            Some(b' ') => true,
            None => true,
            _ => continue,
        };
        let after = rest.get(1..).unwrap_or("").trim_start();
        let carries = |e: &str| {
            after
                .strip_prefix(e)
                .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace))
        };
        let ok = match &enhanced {
            Some(e) if last => carries(e),
            _ if last => !after.starts_with(|c: char| c.is_ascii_digit()),
            _ => !after.is_empty(),
        };
        if ok {
            cuts.push(p);
            if last {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for cut in cuts {
        out.push(line[from..cut].trim_end());
        from = cut;
    }
    out.push(line[from..].trim_end());
    out
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
    /// Line breaks may be `\n`, `\r\n` or a lone `\r`. A multi-line reply
    /// whose lines were joined into one, as logs and bounces quote it
    /// (`550-5.7.1 a 550-5.7.1 b 550 5.7.1 c`), is split back into its lines.
    pub fn parse(text: &str) -> Option<Reply> {
        let lines: Vec<&str> = text
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty())
            .flat_map(split_joined)
            .collect();
        Reply::from_lines(&lines)
    }

    /// The text of all lines joined by a space: the continuation lines of a
    /// reply are one text, so a phrase broken over two lines still reads as
    /// one.
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
    fn a_reply_joined_on_one_line_is_split_into_its_lines() {
        // As Postfix logs a multi-line Gmail reply (iredmail/iRedMail#264).
        let joined = "550-5.7.1 [1.123.123.123] The IP you're using to send mail is not authorized to 550-5.7.1 send email directly to our servers. Please use the SMTP relay at your 550-5.7.1 service provider instead. For more information, go to 550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError d2e1a72fcca58-715e57a0f50si1104d2710b3a.328 - gsmtp";
        let parts = split_joined(joined);
        assert_eq!(parts.len(), 4, "{parts:?}");
        assert!(parts[1].starts_with("550-5.7.1 send email"));
        assert!(parts[3].starts_with("550 5.7.1  https://"));
        let r = Reply::parse(joined).expect("a reply");
        assert_eq!(r.lines.len(), 4);
        assert!(
            r.text()
                .contains("not authorized to send email directly to our servers"),
            "{}",
            r.text()
        );
        // Without enhanced codes (cPanel's Exim, pastebin.com/e25g8b3J).
        let cpanel = "550-Please turn on SMTP Authentication in your mail client, or login to the 550-IMAP/POP3 server before sending your message. (localhost.localdomain) 550 authentication.";
        assert_eq!(split_joined(cpanel).len(), 3);
    }

    #[test]
    fn numbers_inside_a_reply_are_not_line_starts() {
        assert_eq!(split_joined("550 5.7.1 waited 550 ms").len(), 1);
        assert_eq!(
            split_joined("451-4.7.1 try again in 450 seconds 451 4.7.1 later").len(),
            2
        );
        assert_eq!(
            split_joined("550-5.7.1 a 550 5.7.2 b"),
            ["550-5.7.1 a 550 5.7.2 b"]
        );
        assert_eq!(split_joined("hello 550-x"), ["hello 550-x"]);
    }

    #[test]
    fn any_line_break_separates_lines() {
        let r = Reply::parse("550-5.7.1 first\r550 5.7.1 second\r\n").expect("a reply");
        assert_eq!(r.lines, ["first", "second"]);
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
