//! SPF macros (RFC 7208 section 7): parsing a macro-string once, when the
//! record is parsed, and expanding it later against the facts of one
//! evaluation.
//!
//! Parsing and expansion are separate so that a syntax error anywhere in a
//! record is found before anything is evaluated (the RFC requires a
//! permerror "without further interpretation"), and so that expansion cannot
//! fail: the only fact that needs DNS, `%{p}`, is looked up by the caller
//! beforehand and handed in.

use super::parse::SyntaxError;
use std::net::IpAddr;

/// Where a macro-string appears; decides which characters and letters are
/// allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// A domain-spec of a mechanism or of `redirect=` / `exp=`: no spaces,
    /// no `c`, `r`, `t` letters, must end in a top-level label or a macro.
    Domain,
    /// The text fetched by `exp=`: spaces allowed, every letter allowed.
    Explain,
    /// The value of an unknown modifier: any macro-string.
    Unknown,
}

/// One macro, `%{` letter transformers delimiters `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Macro {
    /// The letter, lowercase.
    pub letter: char,
    /// The letter was uppercase: URL-escape the expansion.
    pub escape: bool,
    /// Keep this many right-hand parts (never zero).
    pub keep: Option<usize>,
    /// Reverse the parts before keeping.
    pub reverse: bool,
    /// Split characters; empty means ".".
    pub delimiters: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(String),
    Macro(Macro),
}

/// A parsed macro-string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MacroString {
    pub parts: Vec<Part>,
}

/// The facts macros expand to, for one evaluation (RFC 7208 section 7.3).
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// `%{s}`: the sender, `local@domain` (local-part `postmaster` when absent).
    pub sender: String,
    /// `%{l}`.
    pub local: String,
    /// `%{o}`.
    pub sender_domain: String,
    /// `%{i}`, `%{c}`, `%{v}`; IPv4-mapped IPv6 already turned into IPv4.
    pub ip: IpAddr,
    /// `%{h}`.
    pub helo: String,
    /// `%{r}`: the checking host; "unknown" for smtp-doctor, which is not a receiver.
    pub receiver: String,
    /// `%{t}`: seconds since the epoch.
    pub now: u64,
}

impl MacroString {
    /// Parses `text`, whose first character is at `pos` in the record.
    pub fn parse(text: &str, pos: usize, ctx: Context) -> Result<MacroString, SyntaxError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut ends_in_macro = false;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = pos + text[..i].chars().count();
            ends_in_macro = false;
            if c == '%' {
                let expanded = match chars.next().map(|(_, c)| c) {
                    Some('%') => Some("%"),
                    Some('_') => Some(" "),
                    Some('-') => Some("%20"),
                    Some('{') => None,
                    _ => {
                        return Err(SyntaxError::new(
                            "'%' must be followed by '{', '%', '_' or '-' (write '%%' for a percent sign)",
                            at,
                        ));
                    }
                };
                ends_in_macro = true;
                if let Some(s) = expanded {
                    literal.push_str(s);
                    continue;
                }
                let mut body = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    body.push(c);
                }
                if !closed {
                    return Err(SyntaxError::new("macro '%{' is not closed with '}'", at));
                }
                let m = parse_macro(&body, at, ctx)?;
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Macro(m));
                continue;
            }
            let allowed = match c {
                ' ' => ctx == Context::Explain,
                '!'..='~' => true,
                _ => false,
            };
            if !allowed {
                return Err(SyntaxError::new(
                    format!("character {c:?} is not allowed here"),
                    at,
                ));
            }
            literal.push(c);
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let ms = MacroString { parts };
        if ctx == Context::Domain && !ends_in_macro {
            check_domain_end(text, pos)?;
        }
        Ok(ms)
    }

    /// True when expanding needs the validated name of the client (`%{p}`).
    pub fn needs_ptr(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Macro(m) if m.letter == 'p'))
    }

    /// Expands against `facts`; `domain` is the domain whose record is being
    /// evaluated (`%{d}`), `ptr` the validated client name (`%{p}`).
    pub fn expand(&self, facts: &Facts, domain: &str, ptr: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Macro(m) => expand_macro(m, facts, domain, ptr, &mut out),
            }
        }
        out
    }
}

fn parse_macro(body: &str, at: usize, ctx: Context) -> Result<Macro, SyntaxError> {
    let bad = |why: &str| SyntaxError::new(format!("bad macro '%{{{body}}}': {why}"), at);
    let mut rest = body.chars().peekable();
    let Some(first) = rest.next() else {
        return Err(bad("a macro letter is missing"));
    };
    let letter = first.to_ascii_lowercase();
    if !"slodiphcrtv".contains(letter) || !first.is_ascii_alphabetic() {
        return Err(bad(
            "unknown macro letter (s l o d i p h c r t v are the letters)",
        ));
    }
    if ctx == Context::Domain && "crt".contains(letter) {
        return Err(bad(&format!(
            "'{letter}' is allowed only in the text of an exp= explanation"
        )));
    }
    let mut digits = String::new();
    while let Some(c) = rest.peek().copied().filter(char::is_ascii_digit) {
        digits.push(c);
        rest.next();
    }
    let keep = if digits.is_empty() {
        None
    } else {
        // Anything too large to count means "all parts".
        let n = digits.parse::<usize>().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(bad("the number of parts to keep must not be zero"));
        }
        Some(n)
    };
    let reverse = matches!(rest.peek(), Some('r' | 'R'));
    if reverse {
        rest.next();
    }
    let delimiters: String = rest.collect();
    if let Some(c) = delimiters.chars().find(|c| !".-+,/_=".contains(*c)) {
        return Err(bad(&format!(
            "{c:?} is not a delimiter (the delimiters are . - + , / _ =)"
        )));
    }
    Ok(Macro {
        letter,
        escape: first.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters,
    })
}

/// A domain-spec without a macro at its end must end in "." toplabel ["."].
fn check_domain_end(text: &str, pos: usize) -> Result<(), SyntaxError> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    let top = trimmed.rsplit_once('.').map_or(trimmed, |(_, top)| top);
    if trimmed.contains('.') && is_toplabel(top) {
        Ok(())
    } else {
        Err(SyntaxError::new(
            format!(
                "'{text}' is not a domain name: it must end in a top-level label such as '.com'"
            ),
            pos,
        ))
    }
}

/// toplabel = ( *alphanum ALPHA *alphanum ) /
///            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
fn is_toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if !b.contains(&b'-') {
        return b.iter().any(u8::is_ascii_alphabetic);
    }
    b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()
}

fn expand_macro(m: &Macro, facts: &Facts, domain: &str, ptr: &str, out: &mut String) {
    let value = match m.letter {
        's' => facts.sender.clone(),
        'l' => facts.local.clone(),
        'o' => facts.sender_domain.clone(),
        'd' => domain.to_string(),
        'i' => dotted_ip(facts.ip),
        'p' => ptr.to_string(),
        'v' => match facts.ip {
            IpAddr::V4(_) => "in-addr".to_string(),
            IpAddr::V6(_) => "ip6".to_string(),
        },
        'h' => facts.helo.clone(),
        'c' => facts.ip.to_string(),
        'r' => facts.receiver.clone(),
        't' => facts.now.to_string(),
        _ => String::new(),
    };
    let delims = if m.delimiters.is_empty() {
        "."
    } else {
        m.delimiters.as_str()
    };
    let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
    if m.reverse {
        parts.reverse();
    }
    if let Some(n) = m.keep {
        let drop = parts.len().saturating_sub(n);
        parts.drain(..drop);
    }
    let joined = parts.join(".");
    if m.escape {
        url_escape(&joined, out);
    } else {
        out.push_str(&joined);
    }
}

/// `%{i}`: dotted quad for IPv4; 32 dot-separated nibbles for IPv6.
pub(crate) fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|b| [b >> 4, b & 0x0f])
                .map(|n| format!("{n:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}

/// Escapes everything outside RFC 3986 "unreserved" as %XX (uppercase hex).
fn url_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of RFC 7208 section 7.4.
    fn rfc_facts(ip: &str) -> Facts {
        Facts {
            sender: "strong-bad@email.example.com".into(),
            local: "strong-bad".into(),
            sender_domain: "email.example.com".into(),
            ip: ip.parse().unwrap(),
            helo: "mx.example.org".into(),
            receiver: "unknown".into(),
            now: 1_400_000_000,
        }
    }

    fn expand(spec: &str, ip: &str) -> String {
        let ms = MacroString::parse(spec, 0, Context::Explain).unwrap();
        ms.expand(&rfc_facts(ip), "email.example.com", "mx.example.org")
    }

    #[test]
    fn rfc_7208_section_7_4_single_macros() {
        let table = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
        ];
        for (spec, want) in table {
            assert_eq!(expand(spec, "192.0.2.3"), want, "{spec}");
        }
    }

    #[test]
    fn rfc_7208_section_7_4_macro_strings() {
        let table = [
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ];
        for (spec, want) in table {
            assert_eq!(expand(spec, "192.0.2.3"), want, "{spec}");
            // Every one of these is also a valid domain-spec.
            MacroString::parse(spec, 0, Context::Domain).unwrap();
        }
    }

    #[test]
    fn rfc_7208_section_7_4_ipv6() {
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(
            expand("%{i}", "2001:db8::cb01"),
            "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1"
        );
        assert_eq!(expand("%{c}", "2001:db8::cb01"), "2001:db8::cb01");
        assert_eq!(expand("%{v}", "2001:db8::cb01"), "ip6");
    }

    #[test]
    fn escapes_and_uppercase_letters() {
        assert_eq!(expand("%%", "192.0.2.3"), "%");
        assert_eq!(expand("a%_b", "192.0.2.3"), "a b");
        assert_eq!(expand("a%-b", "192.0.2.3"), "a%20b");
        // Uppercase: URL-escaped with uppercase hex, unreserved kept.
        assert_eq!(
            expand("%{S}", "192.0.2.3"),
            "strong-bad%40email.example.com"
        );
        assert_eq!(expand("%{L}", "192.0.2.3"), "strong-bad");
        assert_eq!(expand("%{C}", "2001:db8::cb01"), "2001%3Adb8%3A%3Acb01");
        assert_eq!(expand("%{Dr}", "192.0.2.3"), "com.example.email");
    }

    #[test]
    fn explanation_only_letters() {
        assert_eq!(expand("%{c}", "192.0.2.3"), "192.0.2.3");
        assert_eq!(expand("%{r}", "192.0.2.3"), "unknown");
        assert_eq!(expand("%{t}", "192.0.2.3"), "1400000000");
        assert_eq!(expand("%{h}", "192.0.2.3"), "mx.example.org");
        assert_eq!(expand("%{p}", "192.0.2.3"), "mx.example.org");
        let err = MacroString::parse("%{c}.example.com", 7, Context::Domain).unwrap_err();
        assert_eq!(err.pos, 7);
        assert!(err.message.contains("only in the text of an exp="), "{err}");
    }

    #[test]
    fn other_delimiters_and_counts() {
        assert_eq!(
            expand("%{s1=}", "192.0.2.3"),
            "strong-bad@email.example.com"
        );
        assert_eq!(expand("%{d99}", "192.0.2.3"), "email.example.com");
        assert_eq!(
            expand("%{d99999999999999999999999}", "192.0.2.3"),
            "email.example.com"
        );
        assert_eq!(expand("%{s2}", "192.0.2.3"), "example.com");
        assert_eq!(expand("%{s2r}", "192.0.2.3"), "example.strong-bad@email");
        assert_eq!(expand("%{o1r}", "192.0.2.3"), "email");
        assert_eq!(expand("%{l-.}", "192.0.2.3"), "strong.bad");
    }

    #[test]
    fn syntax_errors_carry_their_position() {
        let cases = [
            ("abc%", 3, "'%' must be followed"),
            ("ab%x", 2, "'%' must be followed"),
            ("x%{d", 1, "not closed"),
            ("%{}", 0, "letter is missing"),
            ("%{x}", 0, "unknown macro letter"),
            ("%{d0}", 0, "must not be zero"),
            ("%{d2r!}", 0, "not a delimiter"),
            ("%{s2@}", 0, "not a delimiter"),
        ];
        for (text, at, why) in cases {
            let err = MacroString::parse(text, 0, Context::Explain).unwrap_err();
            assert_eq!(err.pos, at, "{text}: {err}");
            assert!(err.message.contains(why), "{text}: {err}");
        }
        let err = MacroString::parse("a b", 10, Context::Domain).unwrap_err();
        assert_eq!(err.pos, 11);
        assert!(MacroString::parse("a b", 10, Context::Explain).is_ok());
    }

    #[test]
    fn domain_end_rules() {
        for ok in [
            "example.com",
            "example.com.",
            "_spf.google.com",
            "%{d}",
            "foo.%{d}",
            "%{ir}.x.%-",
            "mail.example.xn--p1ai",
            "host.1-2",
        ] {
            assert!(
                MacroString::parse(ok, 0, Context::Domain).is_ok(),
                "{ok} should be a valid domain-spec"
            );
        }
        for bad in [
            "foo",
            "example.123",
            "192.0.2.1",
            "example.com..",
            "a.-com",
            "x.com-",
        ] {
            assert!(
                MacroString::parse(bad, 0, Context::Domain).is_err(),
                "{bad} should not be a valid domain-spec"
            );
        }
    }

    #[test]
    fn a_bare_percent_is_an_error_but_a_long_expansion_is_not() {
        assert!(MacroString::parse("100%", 0, Context::Explain).is_err());
        let ms = MacroString::parse("%{l}%{l}%{l}.example.com", 0, Context::Domain).unwrap();
        assert_eq!(ms.parts.len(), 4);
        assert!(!ms.needs_ptr());
    }
}
