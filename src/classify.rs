//! The reply classifier: an SMTP reply (or a pasted error text) in, ranked
//! cause ids out.
//!
//! Codes alone say too little: "Relay access denied" and "Sender address
//! rejected" are both `5.7.1`, and `535` means a wrong password on one server
//! and "SMTP AUTH is switched off" on another. So replies are matched against
//! patterns kept as data in `assets/replies.json` (support engineers extend
//! it without reading Rust), each pairing basic codes, enhanced codes and a
//! text regex with a cause and a confidence. A pattern matches when every
//! field it has matches; patterns marked `fallback` (code-only guesses such
//! as "535 means a failed login") count only when nothing more specific did.
//!
//! [`classify_text`] serves `explain`: it finds replies inside free text
//! (bounces, NDRs, log lines, error dialogs), classifies each, and also
//! tries the text-only patterns on the whole text. Text that matches nothing
//! known gives nothing: the tool never guesses.

use crate::reply::{EnhancedCode, Reply, parse_line, split_joined};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const REPLIES_JSON: &str = include_str!("../assets/replies.json");
const REPLIES_FILE: &str = "assets/replies.json";

/// The only schema version of `assets/replies.json` this build understands.
pub const SCHEMA: u32 = 1;
/// Only this much of a pasted text is read, so a huge paste stays quick.
pub const MAX_TEXT: usize = 64 * 1024;
/// At most this many replies are taken from one pasted text.
const MAX_FRAGMENTS: usize = 64;
/// At most this much of one reply found inside a text is matched.
const MAX_FRAGMENT: usize = 1024;
/// At most this many lines make one multi-line reply inside a text.
const MAX_REPLY_LINES: usize = 32;
/// A text-only match in free text is a little less sure than one in a reply.
const LOOSE_TEXT_FACTOR: f32 = 0.95;

/// One cause a reply points to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub cause: String,
    /// 0 to 1, from the pattern that matched.
    pub confidence: f32,
    /// The id of that pattern in `assets/replies.json`.
    pub pattern: String,
}

/// A compiled reply pattern.
#[derive(Debug)]
pub struct Pattern {
    pub id: String,
    pub cause: String,
    pub confidence: f32,
    /// Counts only when no non-fallback pattern matched the same reply.
    pub fallback: bool,
    pub families: Vec<String>,
    pub note: String,
    codes: Vec<String>,
    enhanced: Vec<EnhancedGlob>,
    text: Option<Regex>,
}

/// Why `assets/replies.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("{REPLIES_FILE}: not valid JSON for this schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{REPLIES_FILE}: schema {0} is not supported (expected {SCHEMA})")]
    Schema(u32),
    #[error("{REPLIES_FILE}: pattern {id}: {message}")]
    Invalid { id: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternsFile {
    schema: u32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    patterns: Vec<PatternData>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternData {
    id: String,
    cause: String,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    enhanced: Vec<String>,
    text: Option<String>,
    confidence: f32,
    #[serde(default)]
    fallback: bool,
    #[serde(default)]
    families: Vec<String>,
    #[serde(default)]
    note: String,
}

/// An enhanced code with `*` wildcards, such as `5.7.*`.
#[derive(Debug, Clone, Copy)]
struct EnhancedGlob([Option<u16>; 3]);

impl EnhancedGlob {
    fn parse(text: &str) -> Option<EnhancedGlob> {
        let parts: Vec<&str> = text.split('.').collect();
        let [class, subject, detail] = parts.as_slice() else {
            return None;
        };
        let class = glob_part(class, 1)?;
        if class.is_some_and(|c| !matches!(c, 2 | 4 | 5)) {
            return None;
        }
        Some(EnhancedGlob([
            class,
            glob_part(subject, 3)?,
            glob_part(detail, 3)?,
        ]))
    }

    fn matches(self, code: EnhancedCode) -> bool {
        let parts = [u16::from(code.class), code.subject, code.detail];
        self.0
            .iter()
            .zip(parts)
            .all(|(g, p)| g.is_none_or(|g| g == p))
    }
}

/// `*` (any) or one to `max` digits; `None` when neither.
fn glob_part(part: &str, max: usize) -> Option<Option<u16>> {
    if part == "*" {
        return Some(None);
    }
    let digits = !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| part.parse().ok()).flatten().map(Some)
}

/// The compiled patterns of `assets/replies.json`, in file order.
///
/// # Panics
/// When the embedded asset is malformed; the unit tests load it, so that
/// cannot ship.
pub fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        load_patterns(REPLIES_JSON).expect("the embedded reply patterns are checked by unit tests")
    })
}

/// Parses and checks a reply-pattern file.
pub fn load_patterns(json: &str) -> Result<Vec<Pattern>, PatternError> {
    let file: PatternsFile = serde_json::from_str(json)?;
    if file.schema != SCHEMA {
        return Err(PatternError::Schema(file.schema));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(file.patterns.len());
    for data in file.patterns {
        let id = data.id.clone();
        let invalid = |message: String| PatternError::Invalid {
            id: id.clone(),
            message,
        };
        if !seen.insert(id.clone()) {
            return Err(invalid("the id is used twice".into()));
        }
        out.push(compile(data).map_err(invalid)?);
    }
    Ok(out)
}

fn compile(data: PatternData) -> Result<Pattern, String> {
    if data.id.trim().is_empty() || data.cause.trim().is_empty() {
        return Err("empty id or cause".into());
    }
    if !(0.0..=1.0).contains(&data.confidence) {
        return Err(format!(
            "confidence {} is not between 0 and 1",
            data.confidence
        ));
    }
    if data.codes.is_empty() && data.enhanced.is_empty() && data.text.is_none() {
        return Err("needs codes, enhanced or text".into());
    }
    if let Some(bad) = data.codes.iter().find(|c| !valid_code_prefix(c)) {
        return Err(format!("code {bad:?} is not one to three digits"));
    }
    let enhanced = data
        .enhanced
        .iter()
        .map(|e| EnhancedGlob::parse(e).ok_or_else(|| format!("enhanced code {e:?} is malformed")))
        .collect::<Result<Vec<_>, _>>()?;
    let text = data.text.as_deref().map(compile_text).transpose()?;
    Ok(Pattern {
        id: data.id,
        cause: data.cause,
        confidence: data.confidence,
        fallback: data.fallback,
        families: data.families,
        note: data.note,
        codes: data.codes,
        enhanced,
        text,
    })
}

fn valid_code_prefix(code: &str) -> bool {
    (1..=3).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && (b'2'..=b'5').contains(&code.as_bytes()[0])
}

fn compile_text(text: &str) -> Result<Regex, String> {
    RegexBuilder::new(text)
        .case_insensitive(true)
        .build()
        .map_err(|e| format!("text regex: {e}"))
}

/// What one pattern is matched against.
struct Subject<'a> {
    code: Option<u16>,
    /// The reply's enhanced code first, then codes written inside the text
    /// (qmail's `(#5.7.1)`, Yahoo's `- 5.7.1 [BL23]`).
    enhanced: &'a [EnhancedCode],
    text: &'a str,
}

impl Pattern {
    /// How many of codes, enhanced and text this pattern has; more is more
    /// specific and wins a tie.
    pub fn specificity(&self) -> usize {
        usize::from(!self.codes.is_empty())
            + usize::from(!self.enhanced.is_empty())
            + usize::from(self.text.is_some())
    }

    /// True when the pattern looks at the text only.
    pub fn is_text_only(&self) -> bool {
        self.codes.is_empty() && self.enhanced.is_empty()
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        self.code_matches(s.code)
            && self.enhanced_matches(s.enhanced)
            && self.text.as_ref().is_none_or(|re| re.is_match(s.text))
    }

    fn code_matches(&self, code: Option<u16>) -> bool {
        if self.codes.is_empty() {
            return true;
        }
        let Some(code) = code else { return false };
        let code = code.to_string();
        self.codes
            .iter()
            .any(|prefix| code.starts_with(prefix.as_str()))
    }

    fn enhanced_matches(&self, codes: &[EnhancedCode]) -> bool {
        self.enhanced.is_empty()
            || self
                .enhanced
                .iter()
                .any(|g| codes.iter().any(|&c| g.matches(c)))
    }
}

/// The best match per cause, ranked at the end.
#[derive(Default)]
struct Ranking {
    best: HashMap<String, (f32, usize)>,
}

impl Ranking {
    /// Keeps pattern `index` with `confidence` if it beats what its cause has.
    fn add(&mut self, index: usize, confidence: f32) {
        let p = &patterns()[index];
        let candidate = (confidence, index);
        let entry = self.best.entry(p.cause.clone()).or_insert(candidate);
        if ranks_before(candidate, *entry) {
            *entry = candidate;
        }
    }

    fn finish(self) -> Vec<Match> {
        let mut list: Vec<(f32, usize)> = self.best.into_values().collect();
        list.sort_by(|a, b| {
            if ranks_before(*a, *b) {
                std::cmp::Ordering::Less
            } else if ranks_before(*b, *a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        let all = patterns();
        list.into_iter()
            .map(|(confidence, i)| Match {
                cause: all[i].cause.clone(),
                confidence,
                pattern: all[i].id.clone(),
            })
            .collect()
    }
}

/// Higher confidence first, then the more specific pattern, then file order.
fn ranks_before(a: (f32, usize), b: (f32, usize)) -> bool {
    let all = patterns();
    let key = |(c, i): (f32, usize)| (c, all[i].specificity());
    match key(a).partial_cmp(&key(b)) {
        Some(std::cmp::Ordering::Greater) => true,
        Some(std::cmp::Ordering::Less) => false,
        _ => a.1 < b.1,
    }
}

/// Adds every pattern that matches `s`; fallbacks only when allowed and
/// nothing else matched.
fn rank_subject(ranking: &mut Ranking, s: &Subject<'_>, allow_fallback: bool, factor: f32) {
    let matched: Vec<usize> = patterns()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.matches(s))
        .map(|(i, _)| i)
        .collect();
    let all = patterns();
    let specific = matched.iter().any(|&i| !all[i].fallback);
    for i in matched {
        if !all[i].fallback || (allow_fallback && !specific) {
            ranking.add(i, all[i].confidence * factor);
        }
    }
}

fn rank_reply(ranking: &mut Ranking, reply: &Reply, allow_fallback: bool) {
    if reply.is_positive() {
        return;
    }
    let text = one_spaced(head(&reply.text(), MAX_TEXT));
    let text = text.as_str();
    let class = u8::try_from(reply.code / 100).unwrap_or(0);
    let mut codes: Vec<EnhancedCode> = reply.enhanced.into_iter().collect();
    codes.extend(
        enhanced_codes_in(text)
            .into_iter()
            .map(|(_, c, _)| c)
            .filter(|c| c.class == class),
    );
    let s = Subject {
        code: Some(reply.code),
        enhanced: &codes,
        text,
    };
    rank_subject(ranking, &s, allow_fallback, 1.0);
}

/// Ranked matches (best first, one per cause) for one reply. Positive
/// replies (2xx, 3xx) and replies nothing known matches give an empty list.
pub fn classify(reply: &Reply) -> Vec<Match> {
    let mut ranking = Ranking::default();
    rank_reply(&mut ranking, reply, true);
    ranking.finish()
}

/// For `explain`: free text (a bounce, an NDR, a log line, an error dialog's
/// text). Finds SMTP replies inside it, classifies each, and also matches
/// text-only patterns against the whole text. Ranked, one per cause; text
/// that matches nothing known returns an empty list. Only the first
/// [`MAX_TEXT`] bytes are read.
pub fn classify_text(text: &str) -> Vec<Match> {
    let text = head(text, MAX_TEXT)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let lines = unfold(&text);
    let mut ranking = Ranking::default();
    for found in find_replies(&lines) {
        match found {
            Found::Reply(reply, allow_fallback) => rank_reply(&mut ranking, &reply, allow_fallback),
            Found::Enhanced(codes, rest) => {
                let rest = one_spaced(rest);
                let s = Subject {
                    code: None,
                    enhanced: &codes,
                    text: &rest,
                };
                rank_subject(&mut ranking, &s, false, 1.0);
            }
        }
    }
    rank_loose_text(&mut ranking, &one_spaced(&lines.join("\n")));
    ranking.finish()
}

/// The text with every run of white space (line breaks too) made one space,
/// so a phrase wrapped over lines or written with two spaces still matches.
fn one_spaced(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text-only patterns against the whole text, for error texts that quote
/// a reply without its code ("Application-specific password required").
fn rank_loose_text(ranking: &mut Ranking, text: &str) {
    let s = Subject {
        code: None,
        enhanced: &[],
        text,
    };
    let all = patterns();
    for (i, p) in all.iter().enumerate() {
        if p.is_text_only() && !p.fallback && p.matches(&s) {
            ranking.add(i, p.confidence * LOOSE_TEXT_FACTOR);
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// True when `line` (trimmed) is a 4xx/5xx reply line, `550 text` or `550-text`.
fn is_failure_line(line: &str) -> bool {
    parse_line(line.trim()).is_some_and(|l| l.code >= 400)
}

/// Joins indented continuation lines to the line before them, as bounces
/// and log viewers wrap long replies ("said: 554\n    5.7.1 <x>: Relay
/// access denied"). An indented line that is itself a reply line stays.
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        let indented = line.starts_with([' ', '\t']);
        match lines.last_mut() {
            Some(prev) if indented && !is_failure_line(line) && !line.trim().is_empty() => {
                prev.push(' ');
                prev.push_str(line.trim_start());
            }
            _ => lines.push(line.to_string()),
        }
    }
    lines
}

/// A reply found in free text.
enum Found<'a> {
    /// A reply with its basic code; the flag allows code-only fallbacks.
    Reply(Reply, bool),
    /// Only an enhanced code (`dsn=5.7.57`, "response was: 5.7.0 ..."),
    /// with the text after it.
    Enhanced(Vec<EnhancedCode>, &'a str),
}

/// Replies inside the unfolded lines: whole reply lines and replies that
/// start inside a line ("...said: 554 5.7.1 <x>: Relay access denied"),
/// each with all its lines (see [`gather`]); bare enhanced codes where a
/// line holds no reply.
fn find_replies(lines: &[String]) -> Vec<Found<'_>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() && found.len() < MAX_FRAGMENTS {
        let line = lines[i].as_str();
        let whole = is_failure_line(line);
        let starts = if whole {
            vec![line.len() - line.trim_start().len()]
        } else {
            basic_code_starts(line)
        };
        if starts.is_empty() {
            bare_enhanced_codes(line, &mut found);
            i += 1;
            continue;
        }
        let mut next = i + 1;
        let mut continuations: Vec<usize> = Vec::new();
        for start in starts {
            if found.len() >= MAX_FRAGMENTS {
                break;
            }
            if continuations.contains(&start) {
                continue;
            }
            let g = gather(lines, i, start);
            continuations.extend(g.continuations);
            next = next.max(g.next_line);
            if let Some(reply) = Reply::from_lines(&g.lines) {
                // Code-only fallbacks for whole reply lines, or for replies
                // quoted with an enhanced code, never for a bare "550" in prose.
                let allow_fallback = whole || reply.enhanced.is_some();
                found.push(Found::Reply(reply, allow_fallback));
            }
        }
        i = next;
    }
    found.truncate(MAX_FRAGMENTS);
    found
}

/// One reply taken out of the unfolded lines.
struct Gathered<'a> {
    /// Its lines, each `DDD-text` or `DDD text`.
    lines: Vec<&'a str>,
    /// Byte offsets in the first line where its own continuation lines
    /// start, so they are not taken for replies of their own.
    continuations: Vec<usize>,
    /// The first line after the reply.
    next_line: usize,
}

/// The reply starting at byte `start` of line `i`, with all its lines: the
/// ones joined into that line (`550-5.7.1 a 550-5.7.1 b 550 5.7.1 c`, as
/// Postfix logs and bounces quote them) and, while the last line read is not
/// the reply's last (`DDD-`), the lines after it with the same code.
fn gather(lines: &[String], i: usize, start: usize) -> Gathered<'_> {
    let base = lines[i].as_str();
    let first = head(&base[start..], MAX_FRAGMENT);
    let mut out = split_joined(first);
    let offset = |part: &str| part.as_ptr() as usize - base.as_ptr() as usize;
    let continuations = out.iter().skip(1).map(|p| offset(p)).collect();
    let code = parse_line(first.trim()).map(|l| l.code);
    let mut j = i + 1;
    while j < lines.len() && out.len() < MAX_REPLY_LINES {
        let open = out
            .last()
            .and_then(|l| parse_line(l))
            .is_some_and(|l| !l.last);
        let line = head(lines[j].trim(), MAX_FRAGMENT);
        match parse_line(line) {
            Some(l) if open && Some(l.code) == code => {
                out.extend(split_joined(line));
                j += 1;
            }
            _ => break,
        }
    }
    out.truncate(MAX_REPLY_LINES);
    Gathered {
        lines: out,
        continuations,
        next_line: j,
    }
}

/// Byte offsets where a basic failure code (4xx/5xx) starts a reply in the
/// middle of a line. The code must stand alone (a space, `-` or the end of
/// the line after it) and either follow a quoting mark ("said: 554",
/// "returned '550", "smtp;550") or carry an enhanced code ("host x 554
/// 5.7.1"), so plain numbers ("waited 550 ms") are not taken for replies.
fn basic_code_starts(line: &str) -> Vec<usize> {
    let b = line.as_bytes();
    let mut starts = Vec::new();
    for i in 0..b.len().saturating_sub(2) {
        let code = &b[i..i + 3];
        let shape = matches!(code[0], b'4' | b'5')
            && (b'0'..=b'5').contains(&code[1])
            && code[2].is_ascii_digit();
        // A non-ASCII byte before the code ends a character such as the
        // typographic quotes localized mail programs put around a reply
        // (Outlook's Italian "Risposta del server: ’553 5.7.1 ...").
        let separate = i == 0
            || b[i - 1].is_ascii_whitespace()
            || QUOTES.contains(&b[i - 1])
            || !b[i - 1].is_ascii();
        if !(shape && separate) {
            continue;
        }
        let Some(enhanced) = after_code(line, i + 3) else {
            continue;
        };
        if enhanced || quoted_before(&line[..i]) {
            starts.push(i);
        }
    }
    starts
}

/// Marks after which a quoted code or reply starts.
const QUOTES: &[u8] = b"'\"(<[:;,=#";

/// True when `before` is empty or ends (spaces aside) with a quoting mark.
fn quoted_before(before: &str) -> bool {
    let before = before.trim_end();
    before.is_empty()
        || before.as_bytes().last().is_some_and(|c| QUOTES.contains(c))
        || before.ends_with(TYPOGRAPHIC_QUOTES)
}

/// Quotation marks of other languages' typography, which localized mail
/// programs put around a server's reply.
const TYPOGRAPHIC_QUOTES: &[char] = &['‘', '’', '‚', '“', '”', '„', '«', '»'];

/// What follows a basic code ending at `end`: `None` when the digits go on
/// or a bare number follows, else whether an enhanced code follows.
fn after_code(line: &str, end: usize) -> Option<bool> {
    match line.as_bytes().get(end) {
        None => Some(false),
        Some(b' ' | b'-') => {
            let rest = line[end + 1..].trim_start();
            let enhanced = enhanced_at(rest.as_bytes(), 0).is_some();
            (enhanced || !rest.starts_with(|c: char| c.is_ascii_digit())).then_some(enhanced)
        }
        Some(_) => None,
    }
}

/// Enhanced codes standing alone where an error text quotes one: at the
/// start of the line or after a quoting mark ("dsn=5.7.57", "The server response was: 5.7.0 Authentication
/// Required"). A code after a plain word ("version 5.1.1") is not taken.
fn bare_enhanced_codes<'a>(line: &'a str, found: &mut Vec<Found<'a>>) {
    for (start, code, end) in enhanced_codes_in(line) {
        if quoted_before(&line[..start]) && code.class != 2 {
            let rest = head(&line[end..], MAX_FRAGMENT);
            let mut codes = vec![code];
            codes.extend(enhanced_codes_in(rest).into_iter().map(|(_, c, _)| c));
            found.push(Found::Enhanced(codes, rest));
        }
    }
}

/// Enhanced codes (`x.y.z`) in a text with their byte range, not taken out
/// of longer numbers such as IP addresses or versions like `4.16.55.1`.
fn enhanced_codes_in(text: &str) -> Vec<(usize, EnhancedCode, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for start in 0..b.len() {
        if out.len() >= 8 {
            break;
        }
        let starts_word =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'.');
        if starts_word
            && matches!(b[start], b'2' | b'4' | b'5')
            && let Some((code, end)) = enhanced_at(b, start)
        {
            out.push((start, code, end));
        }
    }
    out
}

/// The enhanced code starting at `start`, and where it ends, when the
/// digits there are exactly `x.y.z` and not part of a longer number.
fn enhanced_at(b: &[u8], start: usize) -> Option<(EnhancedCode, usize)> {
    let mut end = start;
    let mut dots = 0;
    loop {
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if dots == 2 || b.get(end) != Some(&b'.') {
            break;
        }
        dots += 1;
        end += 1;
    }
    let next = b.get(end).copied();
    let after = b.get(end + 1).copied();
    let longer = next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        || (next == Some(b'.') && after.is_some_and(|c| c.is_ascii_digit()));
    if dots != 2 || longer {
        return None;
    }
    let word = std::str::from_utf8(b.get(start..end)?).ok()?;
    EnhancedCode::parse(word).map(|c| (c, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(reply: &str) -> Option<String> {
        let r = Reply::parse(reply).expect("a reply");
        classify(&r).into_iter().next().map(|m| m.cause)
    }

    fn top_text(text: &str) -> Option<String> {
        classify_text(text).into_iter().next().map(|m| m.cause)
    }

    #[test]
    fn embedded_patterns_load_and_name_catalog_causes() {
        let all = load_patterns(REPLIES_JSON).expect("assets/replies.json must be valid");
        assert!(!all.is_empty());
        let catalog = crate::catalog::load().expect("catalog assets must be valid");
        for p in &all {
            assert!(
                catalog.cause(&p.cause).is_some(),
                "{}: unknown cause {}",
                p.id,
                p.cause
            );
        }
    }

    #[test]
    fn malformed_patterns_are_errors() {
        let one = |fields: &str| {
            format!(r#"{{"schema":1,"patterns":[{{"id":"x","cause":"c",{fields}}}]}}"#)
        };
        assert!(load_patterns(&one(r#""codes":["535"],"confidence":0.5"#)).is_ok());
        for bad in [
            r#""confidence":0.5"#,
            r#""codes":["5355"],"confidence":0.5"#,
            r#""codes":["x"],"confidence":0.5"#,
            r#""enhanced":["5.7"],"confidence":0.5"#,
            r#""enhanced":["6.7.1"],"confidence":0.5"#,
            r#""text":"(","confidence":0.5"#,
            r#""text":"a","confidence":1.5"#,
            r#""text":"a","confidence":0.5,"typo":1"#,
        ] {
            assert!(load_patterns(&one(bad)).is_err(), "{bad}");
        }
        assert!(load_patterns("[]").is_err());
    }

    #[test]
    fn enhanced_globs() {
        let g = EnhancedGlob::parse("5.7.*").expect("glob");
        assert!(g.matches(EnhancedCode::parse("5.7.139").expect("code")));
        assert!(!g.matches(EnhancedCode::parse("5.1.1").expect("code")));
        assert!(EnhancedGlob::parse("5.7.1.2").is_none());
    }

    #[test]
    fn specific_patterns_outrank_code_only_fallbacks() {
        assert_eq!(top("535 whatever").as_deref(), Some("auth-failed"));
        assert_eq!(top("535 5.7.8 Error").as_deref(), Some("auth-failed"));
        assert_eq!(
            top("530 5.7.0 Must issue a STARTTLS command first").as_deref(),
            Some("tls-required")
        );
        assert_eq!(
            top("530 5.7.0 Authentication required").as_deref(),
            Some("auth-required")
        );
        let fallback = classify(&Reply::parse("535 whatever").expect("reply"));
        let specific = classify(&Reply::parse("535 5.7.8 Bad").expect("reply"));
        assert!(fallback[0].confidence < specific[0].confidence);
    }

    #[test]
    fn a_multi_line_reply_from_the_wire_is_matched_as_one_text() {
        // Gmail's reply as guileen/node-sendmail#37 printed it: the telling
        // phrase runs from the first line into the second.
        let lines = [
            "550-5.7.1 [45.247.227.73] The IP you're using to send mail is not authorized to\r\n",
            "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your\r\n",
            "550-5.7.1 service provider instead. Learn more at\r\n",
            "550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError f64si1223417pfg.362 - gsmtp\r\n",
        ];
        let whole = Reply::from_lines(&lines).expect("a reply");
        assert_eq!(
            classify(&whole).first().map(|m| m.cause.as_str()),
            Some("ip-blocklisted")
        );
        for line in lines {
            let alone = Reply::from_lines(&[line.replacen('-', " ", 1)]).expect("a line");
            assert!(classify(&alone).is_empty(), "{line:?} alone names a cause");
        }
    }

    #[test]
    fn positive_and_unknown_replies_give_nothing() {
        assert_eq!(top("250 2.0.0 Ok: queued as 4F2A1"), None);
        assert_eq!(top("599 something nobody has seen"), None);
    }

    #[test]
    fn enhanced_codes_are_not_cut_out_of_longer_numbers() {
        let codes = |t: &str| -> Vec<String> {
            enhanced_codes_in(t)
                .into_iter()
                .map(|(_, c, _)| c.to_string())
                .collect()
        };
        assert_eq!(codes("limit (#5.3.4)"), ["5.3.4"]);
        assert_eq!(codes("- 4.16.55.1; see"), Vec::<String>::new());
        assert_eq!(codes("[45.247.227.73] 192.0.2.1"), Vec::<String>::new());
        assert_eq!(codes("dsn=5.7.57, status"), ["5.7.57"]);
    }

    #[test]
    fn finds_replies_inside_text() {
        let log = "postfix/smtp[1]: 1234: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, \
                   dsn=5.1.1, status=bounced (host mx.b.example[192.0.2.1] said: 550 5.1.1 \
                   <a@b.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))";
        assert_eq!(top_text(log).as_deref(), Some("recipient-rejected"));
        let wrapped = "<a@b.example>: host mx.b.example[192.0.2.1] said: 554\n    5.7.1 <a@b.example>: Relay access denied (in reply to RCPT\n    TO command)";
        assert_eq!(top_text(wrapped).as_deref(), Some("relay-denied"));
    }

    #[test]
    fn replies_in_typographic_quotes_are_found() {
        // Outlook's Italian error dialog (marinomichele.it/?p=155).
        let text = "Risposta del server: ’553 5.7.1 <casella@email.it>: Sender address rejected: not logged in‘, Porta: 25";
        let found = classify_text(text);
        assert_eq!(
            found.first().map(|m| m.pattern.as_str()),
            Some("sender-not-logged-in")
        );
        // Found as a reply, not only by the looser whole-text match.
        assert!(found[0].confidence > 0.87, "{found:?}");
        assert!(!basic_code_starts("« 550 relay not permitted »").is_empty());
        assert!(basic_code_starts("café550 x").is_empty());
    }

    #[test]
    fn plain_numbers_and_versions_are_not_replies() {
        assert_eq!(
            top_text("We waited 550 500 ms; version 5.1.1 is out."),
            None
        );
        assert!(basic_code_starts("port :587, id=550x").is_empty());
    }

    #[test]
    fn huge_input_is_bounded() {
        let text = "x 550 5.7.1 y ".repeat(200_000);
        let started = std::time::Instant::now();
        let _ = classify_text(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(head("é", 1), "");
    }
}
