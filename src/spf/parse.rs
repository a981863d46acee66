//! The SPF record grammar (RFC 7208 sections 4.5, 4.6, 5, 6 and 12).
//!
//! A record is parsed completely before anything is evaluated: the RFC wants
//! a permerror for a syntax error anywhere in the record, even after an
//! `all` that would have matched first. Every error names the term and the
//! position (counted in characters from 0, the `v` of `v=spf1`) so that a
//! user can find it in a long record.

use super::macros::{Context, MacroString};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// Character offset in the record, from 0.
    pub pos: usize,
}

impl SyntaxError {
    pub(crate) fn new(message: impl Into<String>, pos: usize) -> SyntaxError {
        SyntaxError {
            message: message.into(),
            pos,
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.pos)
    }
}

impl std::error::Error for SyntaxError {}

/// `+` `-` `~` `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        cidr4: u8,
        cidr6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        cidr4: u8,
        cidr6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(MacroString),
}

impl Mechanism {
    /// Counts against the limit of 10 DNS-querying terms.
    pub fn needs_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4(..) | Mechanism::Ip6(..)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Directive(Qualifier, Mechanism),
    Redirect(MacroString),
    Exp(MacroString),
    /// Unknown modifiers are checked for syntax, then ignored.
    Unknown,
}

/// One term as written, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub text: String,
    pub pos: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub terms: Vec<Term>,
}

impl Record {
    pub fn redirect(&self) -> Option<(&Term, &MacroString)> {
        self.terms.iter().find_map(|t| match &t.kind {
            Kind::Redirect(ms) => Some((t, ms)),
            _ => None,
        })
    }

    pub fn exp(&self) -> Option<(&Term, &MacroString)> {
        self.terms.iter().find_map(|t| match &t.kind {
            Kind::Exp(ms) => Some((t, ms)),
            _ => None,
        })
    }

    pub fn has_all(&self) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t.kind, Kind::Directive(_, Mechanism::All)))
    }

    /// Terms that cause DNS queries, as written (a static count: includes
    /// are not followed, and a `redirect=` next to `all` does not count).
    pub fn dns_terms(&self) -> u32 {
        let has_all = self.has_all();
        let n = self
            .terms
            .iter()
            .filter(|t| match &t.kind {
                Kind::Directive(_, m) => m.needs_dns(),
                Kind::Redirect(_) => !has_all,
                _ => false,
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// Is this TXT string an SPF record? "v=spf1" in any case, then a space or
/// the end (RFC 7208 section 4.5).
pub(crate) fn is_spf_record(txt: &str) -> bool {
    let b = txt.as_bytes();
    b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"v=spf1") && (b.len() == 6 || b[6] == b' ')
}

/// Parses a whole record (one that [`is_spf_record`] accepted).
pub(crate) fn parse_record(record: &str) -> Result<Record, SyntaxError> {
    if !is_spf_record(record) {
        return Err(SyntaxError::new(
            "the record does not start with 'v=spf1'",
            0,
        ));
    }
    let (terms, errors) = parse_lenient(record);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(Record { terms }),
    }
}

/// Parses what can be parsed: the good terms, and an error for each bad
/// one (a repeated `redirect=` / `exp=` is left out as an error too).
pub(crate) fn parse_lenient(record: &str) -> (Vec<Term>, Vec<SyntaxError>) {
    let mut terms: Vec<Term> = Vec::new();
    let mut errors = Vec::new();
    // Terms are separated by one or more spaces (SP only: a tab is a
    // syntax error, caught as a disallowed character inside a term).
    let mut offset = if is_spf_record(record) { 6 } else { 0 };
    let body = &record[offset..];
    for piece in body.split(' ') {
        let start = offset;
        offset += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        let pos = record[..start].chars().count();
        let term = match parse_term(piece, pos) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let repeated = terms.iter().find(|t| {
            matches!(
                (&t.kind, &term.kind),
                (Kind::Redirect(_), Kind::Redirect(_)) | (Kind::Exp(_), Kind::Exp(_))
            )
        });
        if let Some(first) = repeated {
            let name = if matches!(term.kind, Kind::Exp(_)) {
                "exp"
            } else {
                "redirect"
            };
            errors.push(SyntaxError::new(
                format!(
                    "'{name}=' appears twice (first at position {}); a record may have only one",
                    first.pos
                ),
                pos,
            ));
            continue;
        }
        terms.push(term);
    }
    (terms, errors)
}

pub(crate) fn parse_term(text: &str, pos: usize) -> Result<Term, SyntaxError> {
    let term = |kind| Term {
        text: text.to_string(),
        pos,
        kind,
    };
    // A modifier is `name=`, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    let name_len = text
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
            }
        })
        .count();
    if name_len > 0 && text[name_len..].starts_with('=') {
        let name = &text[..name_len];
        let value = &text[name_len + 1..];
        let vpos = pos + name_len + 1;
        return match name.to_ascii_lowercase().as_str() {
            "redirect" | "exp" => {
                if value.is_empty() {
                    return Err(SyntaxError::new(
                        format!("'{text}': {name}= needs a domain"),
                        pos,
                    ));
                }
                let ms = MacroString::parse(value, vpos, Context::Domain)?;
                Ok(term(if name.eq_ignore_ascii_case("exp") {
                    Kind::Exp(ms)
                } else {
                    Kind::Redirect(ms)
                }))
            }
            _ => {
                MacroString::parse(value, vpos, Context::Unknown)?;
                Ok(term(Kind::Unknown))
            }
        };
    }
    let (qualifier, body, bpos) = match text.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &text[1..], pos + 1),
        b'-' => (Qualifier::Fail, &text[1..], pos + 1),
        b'~' => (Qualifier::SoftFail, &text[1..], pos + 1),
        b'?' => (Qualifier::Neutral, &text[1..], pos + 1),
        _ => (Qualifier::Pass, text, pos),
    };
    let name_end = body.find([':', '/']).unwrap_or(body.len());
    let (name, rest) = body.split_at(name_end);
    let rpos = bpos + name.chars().count();
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" if rest.is_empty() => Mechanism::All,
        "all" => {
            return Err(SyntaxError::new(
                format!("'{text}': 'all' takes no argument"),
                pos,
            ));
        }
        "include" => Mechanism::Include(required_domain(text, "include", rest, rpos, pos)?),
        "exists" => Mechanism::Exists(required_domain(text, "exists", rest, rpos, pos)?),
        "ptr" => Mechanism::Ptr(optional_domain(text, "ptr", rest, rpos, pos)?),
        "a" | "mx" => {
            let (spec, cidr4, cidr6) = split_dual_cidr(text, rest, pos)?;
            let domain = optional_domain(text, name, spec, rpos, pos)?;
            if name.eq_ignore_ascii_case("a") {
                Mechanism::A {
                    domain,
                    cidr4,
                    cidr6,
                }
            } else {
                Mechanism::Mx {
                    domain,
                    cidr4,
                    cidr6,
                }
            }
        }
        "ip4" | "ip6" => parse_ip(text, name, rest, pos)?,
        _ => {
            return Err(SyntaxError::new(format!("unknown mechanism '{text}'"), pos));
        }
    };
    Ok(term(Kind::Directive(qualifier, mechanism)))
}

fn required_domain(
    text: &str,
    name: &str,
    rest: &str,
    rpos: usize,
    pos: usize,
) -> Result<MacroString, SyntaxError> {
    match optional_domain(text, name, rest, rpos, pos)? {
        Some(ms) => Ok(ms),
        None => Err(SyntaxError::new(
            format!("'{text}': {name} needs a domain, as in '{name}:example.com'"),
            pos,
        )),
    }
}

/// `rest` is empty, or ":" domain-spec.
fn optional_domain(
    text: &str,
    name: &str,
    rest: &str,
    rpos: usize,
    pos: usize,
) -> Result<Option<MacroString>, SyntaxError> {
    if rest.is_empty() {
        return Ok(None);
    }
    let Some(spec) = rest.strip_prefix(':') else {
        return Err(SyntaxError::new(
            format!("'{text}': unexpected '{rest}' after '{name}'"),
            pos,
        ));
    };
    if spec.is_empty() {
        return Err(SyntaxError::new(
            format!("'{text}': the domain after '{name}:' is empty"),
            pos,
        ));
    }
    MacroString::parse(spec, rpos + 1, Context::Domain).map(Some)
}

/// Splits a trailing dual-cidr-length ("/24", "//64", "/24//64") off the
/// argument of `a` / `mx`. Returns what is left and the two lengths.
fn split_dual_cidr<'t>(
    text: &str,
    rest: &'t str,
    pos: usize,
) -> Result<(&'t str, u8, u8), SyntaxError> {
    let mut left = rest;
    let mut cidr6 = 128;
    let mut cidr4 = 32;
    if let Some((before, digits)) = left.rsplit_once("//")
        && is_digits(digits)
    {
        cidr6 = cidr_len(text, digits, 128, pos)?;
        left = before;
    }
    if let Some((before, digits)) = left.rsplit_once('/')
        && is_digits(digits)
        && !before.ends_with('/')
    {
        cidr4 = cidr_len(text, digits, 32, pos)?;
        left = before;
    }
    Ok((left, cidr4, cidr6))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A prefix length: no leading zero (except "0" itself), at most `max`.
fn cidr_len(text: &str, digits: &str, max: u8, pos: usize) -> Result<u8, SyntaxError> {
    let bad = |why: String| SyntaxError::new(format!("'{text}': {why}"), pos);
    if !is_digits(digits) {
        return Err(bad(format!("'/{digits}' is not a prefix length")));
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(bad(format!(
            "the prefix length '/{digits}' must not have a leading zero"
        )));
    }
    match digits.parse::<u8>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(bad(format!(
            "the prefix length /{digits} is out of range (0 to {max})"
        ))),
    }
}

fn parse_ip(text: &str, name: &str, rest: &str, pos: usize) -> Result<Mechanism, SyntaxError> {
    let v6 = name.eq_ignore_ascii_case("ip6");
    let Some(value) = rest.strip_prefix(':') else {
        let example = if v6 {
            "ip6:2001:db8::/32"
        } else {
            "ip4:192.0.2.0/24"
        };
        return Err(SyntaxError::new(
            format!("'{text}': {name} needs an address, as in '{example}'"),
            pos,
        ));
    };
    let (addr, len) = match value.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (value, None),
    };
    if v6 {
        let net: Ipv6Addr = addr.parse().map_err(|_| {
            SyntaxError::new(format!("'{text}': '{addr}' is not an IPv6 address"), pos)
        })?;
        let len = len.map_or(Ok(128), |l| cidr_len(text, l, 128, pos))?;
        Ok(Mechanism::Ip6(net, len))
    } else {
        // Rust's parser already refuses leading zeros and short forms.
        let net: Ipv4Addr = addr.parse().map_err(|_| {
            SyntaxError::new(
                format!("'{text}': '{addr}' is not an IPv4 address (four numbers 0 to 255)"),
                pos,
            )
        })?;
        let len = len.map_or(Ok(32), |l| cidr_len(text, l, 32, pos))?;
        Ok(Mechanism::Ip4(net, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(record: &str) -> SyntaxError {
        parse_record(record).expect_err(record)
    }

    #[test]
    fn selects_records_by_version_tag() {
        assert!(is_spf_record("v=spf1"));
        assert!(is_spf_record("v=spf1 -all"));
        assert!(is_spf_record("V=SPF1 -all"));
        assert!(!is_spf_record("v=spf10 -all"));
        assert!(!is_spf_record("v=spf1-all"));
        assert!(!is_spf_record(" v=spf1 -all"));
        assert!(!is_spf_record("spf2.0/pra -all"));
        assert!(!is_spf_record("v=spf"));
    }

    #[test]
    fn parses_every_mechanism_and_modifier() {
        let r = parse_record(
            "v=spf1 +all -include:_spf.example.com ~a ?a:example.org/24//64 mx mx//64 \
             mx:example.org/30 ptr ptr:example.com ip4:192.0.2.0/24 ip4:192.0.2.1 \
             ip6:2001:db8::/32 ip6:::1 exists:%{ir}.%{v}._spf.%{d} redirect=_spf.example.com \
             exp=explain.example.com moo=bar.%{d} x-y.z=",
        )
        .unwrap();
        let kinds: Vec<&Kind> = r.terms.iter().map(|t| &t.kind).collect();
        assert_eq!(kinds.len(), 18);
        assert!(matches!(
            kinds[0],
            Kind::Directive(Qualifier::Pass, Mechanism::All)
        ));
        assert!(matches!(
            kinds[1],
            Kind::Directive(Qualifier::Fail, Mechanism::Include(_))
        ));
        assert!(matches!(
            kinds[2],
            Kind::Directive(
                Qualifier::SoftFail,
                Mechanism::A {
                    domain: None,
                    cidr4: 32,
                    cidr6: 128
                }
            )
        ));
        assert!(matches!(
            kinds[3],
            Kind::Directive(
                Qualifier::Neutral,
                Mechanism::A {
                    domain: Some(_),
                    cidr4: 24,
                    cidr6: 64
                }
            )
        ));
        assert!(matches!(
            kinds[5],
            Kind::Directive(
                _,
                Mechanism::Mx {
                    domain: None,
                    cidr4: 32,
                    cidr6: 64
                }
            )
        ));
        assert!(matches!(
            kinds[6],
            Kind::Directive(
                _,
                Mechanism::Mx {
                    domain: Some(_),
                    cidr4: 30,
                    cidr6: 128
                }
            )
        ));
        assert!(matches!(
            kinds[9],
            Kind::Directive(_, Mechanism::Ip4(_, 24))
        ));
        assert!(matches!(
            kinds[10],
            Kind::Directive(_, Mechanism::Ip4(_, 32))
        ));
        assert!(matches!(
            kinds[12],
            Kind::Directive(_, Mechanism::Ip6(_, 128))
        ));
        assert!(matches!(kinds[14], Kind::Redirect(_)));
        assert!(matches!(kinds[15], Kind::Exp(_)));
        assert!(matches!(kinds[16], Kind::Unknown));
        assert!(matches!(kinds[17], Kind::Unknown));
        assert_eq!(r.terms[1].text, "-include:_spf.example.com");
        assert_eq!(r.terms[1].pos, 12);
        // include, a, a, mx, mx, mx, ptr, ptr, exists; redirect does not
        // count next to `all`.
        assert_eq!(r.dns_terms(), 9);
    }

    #[test]
    fn names_are_case_insensitive_and_spaces_may_repeat() {
        let r = parse_record("V=SpF1  IP4:192.0.2.1   Include:Example.COM  -ALL  ").unwrap();
        assert_eq!(r.terms.len(), 3);
        assert_eq!(r.terms[0].pos, 8);
        assert_eq!(r.terms[1].pos, 24);
        assert!(r.has_all());
        assert!(parse_record("v=spf1").unwrap().terms.is_empty());
        assert!(
            parse_record("v=spf1 REDIRECT=example.com")
                .unwrap()
                .redirect()
                .is_some()
        );
    }

    #[test]
    fn syntax_errors_name_the_term_and_its_position() {
        let e = err("v=spf1 ipv4:1.2.3.4 -all");
        assert_eq!(
            e.to_string(),
            "unknown mechanism 'ipv4:1.2.3.4' at position 7"
        );
        let table: [(&str, usize, &str); 24] = [
            ("v=spf1 -all foo", 12, "unknown mechanism 'foo'"),
            ("v=spf1 a -all all:x", 14, "'all' takes no argument"),
            ("v=spf1 include", 7, "include needs a domain"),
            ("v=spf1 include:", 7, "is empty"),
            ("v=spf1 exists", 7, "exists needs a domain"),
            ("v=spf1 ip4", 7, "ip4 needs an address"),
            ("v=spf1 ip4:192.0.2.0/33", 7, "out of range (0 to 32)"),
            ("v=spf1 ip4:192.0.2.0/024", 7, "leading zero"),
            ("v=spf1 ip4:192.0.2", 7, "not an IPv4 address"),
            ("v=spf1 ip4:192.0.2.01", 7, "not an IPv4 address"),
            ("v=spf1 ip4:192.0.2.0/", 7, "is not a prefix length"),
            ("v=spf1 ip6:2001:db8::/129", 7, "out of range (0 to 128)"),
            ("v=spf1 ip6:2001:db8:::1", 7, "not an IPv6 address"),
            ("v=spf1 a/33", 7, "out of range (0 to 32)"),
            ("v=spf1 mx//129", 7, "out of range (0 to 128)"),
            ("v=spf1 a/24abc", 7, "unexpected '/24abc'"),
            ("v=spf1 a:example", 9, "must end in a top-level label"),
            ("v=spf1 mx:192.0.2.1", 10, "must end in a top-level label"),
            (
                "v=spf1 include:%{c}.example.com",
                15,
                "only in the text of an exp=",
            ),
            ("v=spf1 exists:%{i.example.com", 14, "not closed"),
            (
                "v=spf1 -all redirect=a.example redirect=b.example",
                31,
                "appears twice",
            ),
            (
                "v=spf1 exp=a.example -all exp=b.example",
                26,
                "appears twice",
            ),
            ("v=spf1 redirect=", 7, "redirect= needs a domain"),
            ("v=spf1 foo=%x", 11, "'%' must be followed"),
        ];
        for (record, pos, why) in table {
            let e = err(record);
            assert_eq!(e.pos, pos, "{record}: {e}");
            assert!(e.message.contains(why), "{record}: {e}");
        }
    }

    #[test]
    fn a_tab_or_a_non_ascii_character_is_an_error() {
        let e = err("v=spf1 a:exa\tmple.com -all");
        assert_eq!(e.pos, 12);
        let e = err("v=spf1 a:exämple.com -all");
        assert_eq!(e.pos, 11, "{e}");
    }

    #[test]
    fn errors_after_all_still_count() {
        // RFC 7208 section 4.6: any syntax error anywhere is a permerror.
        assert!(parse_record("v=spf1 +all ip4:300.1.1.1").is_err());
    }

    #[test]
    fn modifiers_vs_mechanisms() {
        // "a=1" is an unknown modifier, not the a mechanism.
        let r = parse_record("v=spf1 a=1 -all").unwrap();
        assert!(matches!(r.terms[0].kind, Kind::Unknown));
        // a qualifier makes it a directive, and there is no such mechanism
        assert!(
            err("v=spf1 -redirect=example.com")
                .message
                .contains("unknown mechanism")
        );
        // ':' before '=' makes it a mechanism
        assert!(matches!(
            parse_record("v=spf1 exists:a=b.example.com").unwrap().terms[0].kind,
            Kind::Directive(_, Mechanism::Exists(_))
        ));
    }
}
