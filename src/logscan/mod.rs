//! Log triage: a whole mail log in (Postfix, Exim, sendmail, `journalctl`
//! output, a Microsoft 365 message trace CSV, plain or gzipped), a ranked
//! table of why mail was refused out.
//!
//! The log is read line by line with bounded memory: a line longer than
//! [`Options::max_line`] is skipped and counted, never held whole. Lines
//! that cannot hold a finding are passed over after a byte search for a few
//! key words ([`formats::KEYS`]). Each rejection, bounce, deferral or
//! failed login found is classified by the same classifier as `explain`
//! ([`crate::classify::classify_text`]); one it cannot classify is counted
//! as "not understood" with a few examples, never guessed.

pub mod csv;
pub mod formats;
pub mod lines;

use crate::classify::classify_text;
use formats::{Event, Kind, Source};
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Limits of one scan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longer lines are skipped and counted.
    pub max_line: usize,
    /// Example lines kept per cause and for "not understood".
    pub examples: usize,
    /// Entries shown per top list (client IPs, users, domains).
    pub top: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_line: 64 * 1024,
            examples: 3,
            top: 3,
        }
    }
}

/// A value and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: String,
    pub count: u64,
}

/// One cause in the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub cause: String,
    pub title: String,
    /// The highest confidence the classifier gave this cause in the log.
    pub confidence: f32,
    pub count: u64,
    pub rejected: u64,
    pub bounced: u64,
    pub deferred: u64,
    pub auth_failed: u64,
    /// Time stamps as the log writes them (syslog ones carry no year).
    pub first: String,
    pub last: String,
    pub client_ips: Vec<Count>,
    pub users: Vec<Count>,
    pub sender_domains: Vec<Count>,
    pub recipient_domains: Vec<Count>,
    /// True when a top list saw more distinct values than it keeps, so its
    /// counts are lower bounds (frequent values are still found).
    pub approximate: bool,
    pub examples: Vec<String>,
    pub explanation: String,
    pub fixes: Vec<String>,
}

/// Findings the classifier recognized nothing in.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotUnderstood {
    pub count: u64,
    pub examples: Vec<String>,
}

/// What was not read as log text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Skipped {
    /// Lines over the length limit, and their bytes.
    pub long_lines: u64,
    pub long_line_bytes: u64,
    /// Lines holding NUL bytes (binary data).
    pub binary_lines: u64,
}

/// Findings per log format.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Formats {
    pub postfix: u64,
    pub exim: u64,
    pub sendmail: u64,
    pub m365: u64,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Triage {
    /// Bytes of log text read (after decompression).
    pub bytes: u64,
    pub lines: u64,
    pub gzip: bool,
    /// Rejections, bounces, deferrals and failed logins found.
    pub findings: u64,
    /// Of those, how many the classifier recognized.
    pub classified: u64,
    pub causes: Vec<Row>,
    pub not_understood: NotUnderstood,
    pub skipped: Skipped,
    pub formats: Formats,
    /// Why the reading stopped early (a truncated gzip file, a read error).
    pub warnings: Vec<String>,
}

/// Why a log file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: no such file")]
    NotFound(String),
    #[error("{0} is a directory, not a log file")]
    Directory(String),
    #[error("{0} is not a regular file (a pipe, socket or device); pipe it into --log - instead")]
    NotRegular(String),
    #[error("cannot read {0}: {1}")]
    Io(String, io::Error),
}

/// Opens a regular file for [`scan_reader`]. Directories, pipes, sockets
/// and devices are refused before opening, so nothing can block.
pub fn open(path: &Path) -> Result<File, OpenError> {
    let name = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(OpenError::NotFound(name)),
        Err(e) => return Err(OpenError::Io(name, e)),
    };
    if meta.is_dir() {
        return Err(OpenError::Directory(name));
    }
    if !meta.is_file() {
        return Err(OpenError::NotRegular(name));
    }
    File::open(path).map_err(|e| OpenError::Io(name, e))
}

/// Opens and scans a regular file.
pub fn scan_path(path: &Path, opts: &Options) -> Result<Triage, OpenError> {
    Ok(scan_reader(open(path)?, opts))
}

const BUFFER: usize = 256 * 1024;

/// Scans plain or gzipped log text (gzip is recognized by its magic bytes).
pub fn scan_reader<R: Read>(reader: R, opts: &Options) -> Triage {
    let mut buffered = BufReader::with_capacity(BUFFER, reader);
    let gzip = match buffered.fill_buf() {
        Ok(b) => b.starts_with(&[0x1f, 0x8b]),
        Err(_) => false,
    };
    let mut triage = if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        scan(BufReader::with_capacity(BUFFER, decoder), opts)
    } else {
        scan(buffered, opts)
    };
    if gzip {
        triage.gzip = true;
        for w in &mut triage.warnings {
            if w.starts_with("reading stopped") {
                w.push_str(" (the gzip file looks truncated or damaged)");
            }
        }
    }
    triage
}

/// Scans log text from a buffered reader.
pub fn scan<R: BufRead>(reader: R, opts: &Options) -> Triage {
    let mut s = Scanner::new(opts);
    let result = lines::for_each_line(reader, opts.max_line, |line| s.line(line));
    let bytes = match result {
        Ok(n) => n,
        Err((e, n)) => {
            s.warnings.push(format!(
                "reading stopped after {n} bytes: {e}; the table covers what was read before"
            ));
            n
        }
    };
    s.finish(bytes)
}

/// Per-cause tallies while scanning.
struct Agg {
    confidence: f32,
    count: u64,
    kinds: [u64; 4],
    first: String,
    last: String,
    clients: TopK,
    users: TopK,
    senders: TopK,
    recipients: TopK,
    examples: Vec<String>,
    example_tries: u32,
}

impl Agg {
    fn new() -> Agg {
        Agg {
            confidence: 0.0,
            count: 0,
            kinds: [0; 4],
            first: String::new(),
            last: String::new(),
            clients: TopK::new(TOP_CAP),
            users: TopK::new(TOP_CAP),
            senders: TopK::new(TOP_CAP),
            recipients: TopK::new(TOP_CAP),
            examples: Vec::new(),
            example_tries: 0,
        }
    }
}

/// Distinct values a top list tracks exactly.
const TOP_CAP: usize = 512;
/// Distinct reason texts whose classification is remembered.
const CACHE_CAP: usize = 8192;
/// Characters of an example line kept.
const EXAMPLE_CHARS: usize = 600;

struct Scanner<'o> {
    opts: &'o Options,
    /// One search for all key words at once.
    prefilter: regex::bytes::Regex,
    lines: u64,
    skipped: Skipped,
    findings: u64,
    classified: u64,
    formats: Formats,
    /// Causes in order of first sight, with their tallies.
    causes: Vec<(String, Agg)>,
    not_understood: NotUnderstood,
    /// Masked reason text -> index into `causes` (None: not understood).
    cache: FastMap<String, Option<(usize, f32)>>,
    scratch: String,
    csv: Option<csv::Columns>,
    fields: Vec<String>,
    warnings: Vec<String>,
}

impl<'o> Scanner<'o> {
    fn new(opts: &'o Options) -> Scanner<'o> {
        let mut keys: Vec<&str> = formats::KEYS.to_vec();
        keys.extend(CSV_KEYS);
        Scanner {
            opts,
            prefilter: regex::bytes::Regex::new(
                &keys
                    .iter()
                    .map(|k| regex::escape(k))
                    .collect::<Vec<_>>()
                    .join("|"),
            )
            .expect("escaped literals form a valid regex"),
            lines: 0,
            skipped: Skipped::default(),
            findings: 0,
            classified: 0,
            formats: Formats::default(),
            causes: Vec::new(),
            not_understood: NotUnderstood::default(),
            cache: FastMap::default(),
            scratch: String::new(),
            csv: None,
            fields: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn line(&mut self, line: lines::Line<'_>) {
        self.lines += 1;
        let bytes = match line {
            lines::Line::TooLong(n) => {
                self.skipped.long_lines += 1;
                self.skipped.long_line_bytes += n;
                return;
            }
            lines::Line::Text(b) => b,
        };
        if self.csv.is_none() && !self.candidate(bytes) {
            return;
        }
        if memchr::memchr(0, bytes).is_some() {
            self.skipped.binary_lines += 1;
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        if let Some(cols) = self.csv.take() {
            let mut fields = std::mem::take(&mut self.fields);
            if csv::split(&text, &mut fields).is_some() && csv::fits(&cols, &fields) {
                if let Some(ev) = csv::row(&cols, &fields) {
                    self.event(&ev, &text);
                }
                self.fields = fields;
                self.csv = Some(cols);
                return;
            }
            self.fields = fields;
            if !self.candidate(bytes) {
                return;
            }
        }
        if let Some(ev) = formats::parse_line(&text) {
            self.event(&ev, &text);
        } else if let Some(cols) = csv::header(&text) {
            self.csv = Some(cols);
        }
    }

    /// True when the line contains one of the key words.
    fn candidate(&self, bytes: &[u8]) -> bool {
        self.prefilter.is_match(bytes)
    }

    fn event(&mut self, ev: &Event<'_>, line: &str) {
        self.findings += 1;
        match ev.source {
            Source::Postfix => self.formats.postfix += 1,
            Source::Exim => self.formats.exim += 1,
            Source::Sendmail => self.formats.sendmail += 1,
            Source::M365 => self.formats.m365 += 1,
        }
        let Some((index, confidence)) = self.classify(ev) else {
            self.not_understood.count += 1;
            if self.not_understood.examples.len() < self.opts.examples.max(5) {
                self.not_understood.examples.push(example(line));
            }
            return;
        };
        self.classified += 1;
        let agg = &mut self.causes[index].1;
        agg.confidence = agg.confidence.max(confidence);
        agg.count += 1;
        agg.kinds[match ev.kind {
            Kind::Rejected => 0,
            Kind::Bounced => 1,
            Kind::Deferred => 2,
            Kind::AuthFailed => 3,
        }] += 1;
        if agg.count == 1 {
            agg.first.push_str(ev.time);
        }
        agg.last.clear();
        agg.last.push_str(ev.time);
        if let Some(ip) = ev.client_ip {
            agg.clients.add(ip);
        }
        if let Some(u) = ev.user {
            agg.users.add(u);
        }
        if let Some(d) = ev.sender.and_then(domain) {
            agg.senders.add_lower(d);
        }
        if let Some(d) = ev.recipient.and_then(domain) {
            agg.recipients.add_lower(d);
        }
        // Distinct examples; alike lines are not copied again and again.
        if agg.examples.len() < self.opts.examples && agg.example_tries < 64 {
            agg.example_tries += 1;
            let ex = example(line);
            if !agg.examples.contains(&ex) {
                agg.examples.push(ex);
            }
        }
    }

    /// The cause of a finding; results are remembered per reason text
    /// with addresses masked, so a log of many alike lines is classified
    /// once per distinct reason.
    fn classify(&mut self, ev: &Event<'_>) -> Option<(usize, f32)> {
        self.scratch.clear();
        if let Some(implied) = ev.implied_reply {
            self.scratch.push_str(implied);
            self.scratch.push('\u{0}');
        }
        mask_append(ev.reason, &mut self.scratch);
        if let Some(hit) = self.cache.get(self.scratch.as_str()) {
            return *hit;
        }
        let key = self.scratch.clone();
        let result = match key.split_once('\u{0}') {
            Some((implied, reason)) => {
                top_cause(reason).or_else(|| top_cause(&format!("{implied}{reason}")))
            }
            None => top_cause(&key),
        };
        let index = result.map(|(cause, confidence)| {
            let i = match self.causes.iter().position(|(c, _)| *c == cause) {
                Some(i) => i,
                None => {
                    self.causes.push((cause, Agg::new()));
                    self.causes.len() - 1
                }
            };
            (i, confidence)
        });
        if self.cache.len() >= CACHE_CAP {
            self.cache.clear();
        }
        self.cache.insert(key, index);
        index
    }

    fn finish(self, bytes: u64) -> Triage {
        let top = self.opts.top;
        let vars = std::collections::BTreeMap::new();
        let mut causes: Vec<Row> = self
            .causes
            .into_iter()
            .map(|(cause, a)| {
                // The classifier names causes by their wire id.
                let f = crate::cause::CauseId::parse(&cause).map(|id| {
                    crate::diagnose::finding(id, a.confidence, Vec::new(), None, &vars, None)
                });
                Row {
                    confidence: a.confidence,
                    title: f
                        .as_ref()
                        .map_or_else(|| cause.clone(), |f| f.title.clone()),
                    explanation: f
                        .as_ref()
                        .map(|f| f.explanation.clone())
                        .unwrap_or_default(),
                    fixes: f.map(|f| f.fixes).unwrap_or_default(),
                    cause,
                    count: a.count,
                    rejected: a.kinds[0],
                    bounced: a.kinds[1],
                    deferred: a.kinds[2],
                    auth_failed: a.kinds[3],
                    first: printable(&a.first),
                    last: printable(&a.last),
                    approximate: [&a.clients, &a.users, &a.senders, &a.recipients]
                        .iter()
                        .any(|t| t.approximate),
                    client_ips: a.clients.top(top),
                    users: a.users.top(top),
                    sender_domains: a.senders.top(top),
                    recipient_domains: a.recipients.top(top),
                    examples: a.examples,
                }
            })
            .collect();
        causes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cause.cmp(&b.cause)));
        Triage {
            bytes,
            lines: self.lines,
            gzip: false,
            findings: self.findings,
            classified: self.classified,
            causes,
            not_understood: self.not_understood,
            skipped: self.skipped,
            formats: self.formats,
            warnings: self.warnings,
        }
    }
}

/// Words a message trace CSV header holds (see [`csv`]).
const CSV_KEYS: [&str; 4] = ["Status", "_status", "Event", "Detail"];

/// The best cause the classifier gives for `text`, with its confidence.
fn top_cause(text: &str) -> Option<(String, f32)> {
    if text.trim().is_empty() {
        return None;
    }
    classify_text(text)
        .into_iter()
        .next()
        .map(|m| (m.cause, m.confidence))
}

/// `reason` with the insides of `<...>` and dotted IPv4 addresses replaced
/// by fixed stand-ins, written to `out`. The classifier's patterns look at
/// reply wording and codes, never at a particular address.
pub fn mask(reason: &str, out: &mut String) {
    out.clear();
    mask_append(reason, out);
}

fn mask_append(reason: &str, out: &mut String) {
    let b = reason.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                if let Some(len) = b[i + 1..].iter().take(320).position(|&c| c == b'>')
                    && len > 0
                    && !b[i + 1..i + 1 + len].contains(&b' ')
                {
                    out.push_str(&reason[copied..=i]);
                    out.push_str("user@example.test");
                    i += 1 + len;
                    copied = i;
                    continue;
                }
                i += 1;
            }
            c if c.is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) => {
                let run = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == b'.')
                    .count();
                let token = &reason[i..i + run];
                let token = token.trim_end_matches('.');
                if token.bytes().filter(|&c| c == b'.').count() == 3 {
                    out.push_str(&reason[copied..i]);
                    out.push_str("192.0.2.1");
                    i += token.len();
                    copied = i;
                } else {
                    i += run.max(1);
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&reason[copied..]);
}

/// The domain of an address (after the last `@`).
fn domain(addr: &str) -> Option<&str> {
    let d = addr.rsplit_once('@')?.1.trim_end_matches(['>', '.']);
    (!d.is_empty()).then_some(d)
}

/// A line made printable and cut to [`EXAMPLE_CHARS`] characters.
fn example(line: &str) -> String {
    let mut s = printable(line);
    if let Some((i, _)) = s.char_indices().nth(EXAMPLE_CHARS) {
        s.truncate(i);
        s.push('…');
    }
    s
}

/// Control characters escaped, so outside text cannot move a terminal
/// (the transcripts' own rule).
pub fn printable(text: &str) -> String {
    crate::probe::smtp::printable(text.as_bytes())
}

/// A quick hash (multiply and rotate, as FxHash) for the scan's maps. They
/// are capped (a few thousand entries at most), so even crafted collisions
/// slow a scan by a bounded factor only, while SipHash cost more than the
/// rest of a line's work.
#[derive(Default, Clone, Copy)]
pub struct QuickHash(u64);

const QUICK_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::Hasher for QuickHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(QUICK_K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(QUICK_K);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<QuickHash>>;

/// Counts of values with bounded memory: exact while at most `cap`
/// distinct values were seen, then the Misra–Gries summary (every value
/// seen more than n/(cap+1) times is kept; counts become lower bounds).
#[derive(Debug)]
pub struct TopK {
    map: FastMap<Box<str>, u64>,
    cap: usize,
    pub approximate: bool,
}

impl TopK {
    pub fn new(cap: usize) -> TopK {
        TopK {
            map: FastMap::default(),
            cap: cap.max(1),
            approximate: false,
        }
    }

    pub fn add(&mut self, value: &str) {
        if let Some(c) = self.map.get_mut(value) {
            *c += 1;
        } else if self.map.len() < self.cap {
            self.map.insert(value.into(), 1);
        } else {
            self.approximate = true;
            self.map.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
        }
    }

    /// Adds `value` in lower case (domains).
    pub fn add_lower(&mut self, value: &str) {
        if value.bytes().any(|c| c.is_ascii_uppercase()) {
            self.add(&value.to_ascii_lowercase());
        } else {
            self.add(value);
        }
    }

    /// The `n` most frequent values, most frequent first, then by value.
    pub fn top(&self, n: usize) -> Vec<Count> {
        let mut all: Vec<Count> = self
            .map
            .iter()
            .map(|(v, &count)| Count {
                value: printable(v),
                count,
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_and_ips_only() {
        let mut out = String::new();
        mask(
            "554 5.7.1 <bob@example.net>: Relay access denied; [203.0.113.9] <>",
            &mut out,
        );
        assert_eq!(
            out,
            "554 5.7.1 <user@example.test>: Relay access denied; [192.0.2.1] <>"
        );
        mask("550 5.7.1 [BL23] try 1.2.3 later", &mut out);
        assert_eq!(out, "550 5.7.1 [BL23] try 1.2.3 later");
    }

    #[test]
    fn topk_exact_then_bounded() {
        let mut t = TopK::new(3);
        for v in ["a", "b", "a", "c", "a", "b"] {
            t.add(v);
        }
        assert!(!t.approximate);
        assert_eq!(
            t.top(2)[0],
            Count {
                value: "a".into(),
                count: 3
            }
        );
        for i in 0..100 {
            t.add(&format!("x{i}"));
            t.add("a");
        }
        assert!(t.approximate);
        assert!(t.map.len() <= 3);
        assert_eq!(t.top(1)[0].value, "a");
    }
}
