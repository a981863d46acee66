//! `check_host()` of RFC 7208 section 4, step by step, recording the trace.
//!
//! Permerror and temperror end the whole evaluation wherever they happen
//! (an include passes them up unchanged, RFC 7208 section 5.2), so they
//! travel as `Err(Stop)` through `?`; the results a record can give
//! (pass, fail, softfail, neutral, none) travel as `Ok(Verdict)`.

use super::macros::{Facts, MacroString, dotted_ip};
use super::parse::{Kind, Qualifier, Record, Term, is_spf_record, parse_record};
use super::{
    DnsFail, Evaluation, MAX_DNS_QUERIES, MAX_DNS_TERMS, MAX_PTR_NAMES, MAX_RECORD_LEN,
    MAX_TRACE_STEPS, MAX_VOID_LOOKUPS, QueryStatus, SpfDns, SpfResult, Step, TIME_LIMIT,
    TermOutcome, TraceStep,
};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Instant;

mod mechanisms;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Ends the evaluation: permerror or temperror, and why.
#[derive(Debug, Clone)]
struct Stop {
    result: SpfResult,
    message: String,
    /// Depth of the record where it happened, once known.
    origin: Option<u32>,
}

impl Stop {
    fn perm(message: String) -> Stop {
        Stop {
            result: SpfResult::PermError,
            message,
            origin: None,
        }
    }

    fn temp(message: String) -> Stop {
        Stop {
            result: SpfResult::TempError,
            message,
            origin: None,
        }
    }

    fn result(&self) -> SpfResult {
        self.result
    }

    fn message(&self) -> &str {
        &self.message
    }
}

/// What a record (with its includes and redirects) decided.
#[derive(Debug, Clone)]
struct Verdict {
    result: SpfResult,
    /// (term as written, domain of its record)
    matched: Option<(String, String)>,
    explanation: Option<String>,
    /// Why, when no mechanism decided.
    note: Option<String>,
}

impl Verdict {
    fn plain(result: SpfResult, note: String) -> Verdict {
        Verdict {
            result,
            matched: None,
            explanation: None,
            note: Some(note),
        }
    }
}

/// A lookup's data, or why there is none.
enum Answer<T> {
    Data(Vec<T>),
    /// NXDOMAIN (`nx`) or no records of the type.
    Void {
        nx: bool,
    },
    Failed(String),
}

/// Where in the evaluation a step happens.
#[derive(Debug, Clone)]
struct At {
    depth: u32,
    domain: String,
}

struct Engine<'d, D> {
    dns: &'d D,
    facts: Facts,
    lookups: u32,
    voids: u32,
    queries: u32,
    trace: Vec<TraceStep>,
    omitted: u32,
    /// Index of the latest query step, if it was kept.
    last_query: Option<usize>,
    /// Validated names of the client, for `%{p}`, found once.
    client_names: Option<Vec<String>>,
    deadline: Instant,
    top_records: Vec<String>,
    top_record: Option<String>,
}

pub(super) async fn run<D: SpfDns>(
    dns: &D,
    ip: IpAddr,
    sender: &str,
    helo: &str,
    now: u64,
) -> Evaluation {
    let ip = ip.to_canonical();
    let helo = helo.trim().trim_end_matches('.').to_string();
    let (sender, local, domain) = identity(sender, &helo);
    let mut engine = Engine {
        dns,
        facts: Facts {
            sender: sender.clone(),
            local,
            sender_domain: domain.clone(),
            ip,
            helo,
            receiver: "unknown".to_string(),
            now,
        },
        lookups: 0,
        voids: 0,
        queries: 0,
        trace: Vec::new(),
        omitted: 0,
        last_query: None,
        client_names: None,
        deadline: Instant::now() + TIME_LIMIT,
        top_records: Vec::new(),
        top_record: None,
    };
    let outcome = engine
        .check_host(domain.clone(), 0, "the sender's domain".to_string())
        .await;
    if engine.omitted > 0 {
        let at = engine.trace.len().saturating_sub(1);
        engine.trace.insert(
            at,
            TraceStep {
                depth: 0,
                domain: domain.clone(),
                step: Step::Truncated {
                    omitted: engine.omitted,
                },
            },
        );
    }
    let (result, matched, explanation, error) = match outcome {
        Ok(v) => (v.result, v.matched, v.explanation, None),
        Err(stop) => (stop.result(), None, None, Some(stop.message().to_string())),
    };
    let (matched, matched_domain) = match matched {
        Some((term, dom)) => (Some(term), Some(dom)),
        None => (None, None),
    };
    Evaluation {
        result,
        ip,
        sender,
        domain,
        record: engine.top_record,
        records: engine.top_records,
        matched,
        matched_domain,
        explanation,
        lookups: engine.lookups,
        void_lookups: engine.voids,
        dns_queries: engine.queries,
        error,
        trace: engine.trace,
    }
}

/// (sender as local@domain, local-part, domain) per RFC 7208 sections 2.4
/// and 4.3: a missing local-part is "postmaster"; an empty sender is
/// postmaster at the HELO name.
fn identity(sender: &str, helo: &str) -> (String, String, String) {
    let s = sender.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = s.strip_suffix('>').unwrap_or(s).trim();
    let (local, domain) = match s.rsplit_once('@') {
        _ if s.is_empty() => ("postmaster", helo),
        Some((l, d)) if !l.is_empty() => (l, d),
        Some((_, d)) => ("postmaster", d),
        None => ("postmaster", s),
    };
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    (
        format!("{local}@{domain}"),
        local.to_string(),
        domain.to_string(),
    )
}

/// RFC 7208 section 4.3: labels 1 to 63 characters, 253 in all, and at
/// least two labels.
fn domain_problem(domain: &str, multi_label: bool) -> Option<String> {
    if domain.is_empty() {
        return Some("the domain name is empty".to_string());
    }
    if domain.len() > 253 {
        return Some(format!(
            "the domain name is {} characters long (at most 253)",
            domain.len()
        ));
    }
    if let Some(label) = domain.split('.').find(|l| l.is_empty() || l.len() > 63) {
        return Some(if label.is_empty() {
            "the domain name has an empty label".to_string()
        } else {
            format!("the label '{label}' is longer than 63 characters")
        });
    }
    if multi_label && !domain.contains('.') {
        return Some("a single-label name is not a domain SPF applies to".to_string());
    }
    None
}

/// A name made by macro expansion, made fit for a query: one trailing dot
/// dropped, and labels removed from the left while it is longer than 253
/// characters (RFC 7208 section 7.3).
fn fit_name(expanded: &str) -> String {
    let mut name = expanded.strip_suffix('.').unwrap_or(expanded);
    while name.len() > 253 {
        match name.split_once('.') {
            Some((_, rest)) => name = rest,
            None => break,
        }
    }
    name.to_string()
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn is_within(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    name == domain || name.ends_with(&format!(".{domain}"))
}

fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(_) => {
            let fwd = dotted_ip(ip);
            let rev: Vec<&str> = fwd.split('.').rev().collect();
            format!("{}.ip6.arpa", rev.join("."))
        }
    }
}

/// Shortens text for the trace.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn join_clipped(items: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut out = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        out.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    out
}

fn qualifier_result(q: Qualifier) -> SpfResult {
    match q {
        Qualifier::Pass => SpfResult::Pass,
        Qualifier::Fail => SpfResult::Fail,
        Qualifier::SoftFail => SpfResult::SoftFail,
        Qualifier::Neutral => SpfResult::Neutral,
    }
}

impl<'d, D: SpfDns> Engine<'d, D> {
    // ------------------------------------------------------------ trace

    fn push(&mut self, at: &At, step: Step, force: bool) -> Option<usize> {
        if self.trace.len() >= MAX_TRACE_STEPS && !force {
            self.omitted += 1;
            return None;
        }
        self.trace.push(TraceStep {
            depth: at.depth,
            domain: at.domain.clone(),
            step,
        });
        Some(self.trace.len() - 1)
    }

    /// Fills in the outcome of the mechanism step pushed at `idx`.
    fn settle(&mut self, idx: Option<usize>, depth: u32, result: &Result<(bool, String), Stop>) {
        let Some(Step::Mechanism {
            outcome, detail, ..
        }) = idx.and_then(|i| self.trace.get_mut(i)).map(|s| &mut s.step)
        else {
            return;
        };
        match result {
            Ok((matched, why)) => {
                *outcome = if *matched {
                    TermOutcome::Match
                } else {
                    TermOutcome::NoMatch
                };
                why.clone_into(detail);
            }
            Err(stop) => {
                *outcome = if stop.result == SpfResult::TempError {
                    TermOutcome::TempError
                } else {
                    TermOutcome::PermError
                };
                *detail = match stop.origin {
                    Some(d) if d > depth => {
                        format!("the nested evaluation ended in {} (below)", stop.result)
                    }
                    _ => stop.message.clone(),
                };
            }
        }
    }

    // ------------------------------------------------------------ limits

    fn count_term(&mut self, at: &At, term: &Term) -> Result<(), Stop> {
        self.lookups += 1;
        if self.lookups > MAX_DNS_TERMS {
            return Err(Stop::perm(format!(
                "too many DNS lookups: '{}' in the record of {} would be lookup {}; \
                 include, a, mx, ptr, exists and redirect each count, and the limit is {MAX_DNS_TERMS}",
                term.text, at.domain, self.lookups
            )));
        }
        Ok(())
    }

    fn count_void(&mut self, at: &At, term: &Term) -> Result<(), Stop> {
        self.voids += 1;
        if self.voids > MAX_VOID_LOOKUPS {
            return Err(Stop::perm(format!(
                "too many void lookups: '{}' in the record of {} is lookup number {} that found \
                 nothing (NXDOMAIN or no records); the limit is {MAX_VOID_LOOKUPS}",
                term.text, at.domain, self.voids
            )));
        }
        Ok(())
    }

    fn budget(&mut self) -> Result<(), Stop> {
        self.queries += 1;
        if self.queries > MAX_DNS_QUERIES {
            return Err(Stop::perm(format!(
                "the evaluation needs more than {MAX_DNS_QUERIES} DNS queries; smtp-doctor stops there"
            )));
        }
        if Instant::now() > self.deadline {
            return Err(Stop::temp(format!(
                "the evaluation took longer than {} seconds",
                TIME_LIMIT.as_secs()
            )));
        }
        Ok(())
    }

    // ------------------------------------------------------------ DNS

    fn note_query<T>(
        &mut self,
        at: &At,
        rtype: &str,
        name: &str,
        reply: Result<Vec<T>, DnsFail>,
        show: impl Fn(&T) -> String,
    ) -> Answer<T> {
        let (status, answer, out) = match reply {
            Ok(v) if !v.is_empty() => {
                let shown: Vec<String> = v.iter().map(&show).collect();
                (QueryStatus::Answer, shown, Answer::Data(v))
            }
            Ok(_) | Err(DnsFail::NoRecords) => {
                (QueryStatus::NoRecords, vec![], Answer::Void { nx: false })
            }
            Err(DnsFail::NxDomain) => (QueryStatus::NxDomain, vec![], Answer::Void { nx: true }),
            Err(DnsFail::Temp(why)) => (
                QueryStatus::Failed,
                vec![clip(&why, 200)],
                Answer::Failed(why),
            ),
        };
        let answer = if answer.len() > 10 {
            let more = answer.len() - 10;
            let mut kept: Vec<String> = answer.into_iter().take(10).collect();
            kept.push(format!("... and {more} more"));
            kept
        } else {
            answer
        };
        self.last_query = self.push(
            at,
            Step::Query {
                rtype: rtype.to_string(),
                name: name.to_string(),
                status,
                answer,
                void: false,
            },
            false,
        );
        out
    }

    /// Marks the latest query step as a void lookup.
    fn mark_void(&mut self) {
        if let Some(Step::Query { void, .. }) = self
            .last_query
            .and_then(|i| self.trace.get_mut(i))
            .map(|s| &mut s.step)
        {
            *void = true;
        }
    }

    async fn txt(&mut self, at: &At, name: &str) -> Result<Answer<String>, Stop> {
        self.budget()?;
        let dns = self.dns;
        let reply = dns.txt(name).await;
        Ok(self.note_query(at, "TXT", name, reply, |s| format!("\"{}\"", clip(s, 300))))
    }

    /// A or AAAA, by the family of the client address.
    async fn addresses(&mut self, at: &At, name: &str) -> Result<Answer<IpAddr>, Stop> {
        self.budget()?;
        let dns = self.dns;
        let (rtype, reply) = match self.facts.ip {
            IpAddr::V4(_) => ("A", dns.a(name).await),
            IpAddr::V6(_) => ("AAAA", dns.aaaa(name).await),
        };
        Ok(self.note_query(at, rtype, name, reply, ToString::to_string))
    }

    async fn a_only(&mut self, at: &At, name: &str) -> Result<Answer<IpAddr>, Stop> {
        self.budget()?;
        let dns = self.dns;
        let reply = dns.a(name).await;
        Ok(self.note_query(at, "A", name, reply, ToString::to_string))
    }

    async fn mx(&mut self, at: &At, name: &str) -> Result<Answer<(u16, String)>, Stop> {
        self.budget()?;
        let dns = self.dns;
        let reply = dns.mx(name).await.map(|v| {
            v.into_iter()
                .map(|(p, h)| (p, h.trim_end_matches('.').to_string()))
                .collect()
        });
        Ok(self.note_query(at, "MX", name, reply, |(p, h)| format!("{p} {h}")))
    }

    async fn ptr(&mut self, at: &At) -> Result<Answer<String>, Stop> {
        self.budget()?;
        let dns = self.dns;
        let ip = self.facts.ip;
        let reply = dns.ptr(ip).await.map(|v| {
            v.into_iter()
                .map(|n| n.trim_end_matches('.').to_string())
                .collect()
        });
        Ok(self.note_query(at, "PTR", &reverse_name(ip), reply, Clone::clone))
    }

    /// The client's PTR names that resolve back to it (RFC 7208 section
    /// 5.5), looking only at the first [`MAX_PTR_NAMES`] and, when `within`
    /// is given, only at names equal to or below it. DNS failures here
    /// never end the evaluation. Also says whether the PTR lookup was void
    /// and the PTR names seen.
    async fn validated_names(
        &mut self,
        at: &At,
        within: Option<&str>,
    ) -> Result<(Vec<String>, bool, Vec<String>), Stop> {
        let names = match self.ptr(at).await? {
            Answer::Data(v) => v,
            Answer::Void { .. } => return Ok((vec![], true, vec![])),
            Answer::Failed(_) => return Ok((vec![], false, vec![])),
        };
        let mut validated = Vec::new();
        for name in names.iter().take(MAX_PTR_NAMES) {
            if within.is_some_and(|d| !is_within(name, d)) || domain_problem(name, false).is_some()
            {
                continue;
            }
            if let Answer::Data(addrs) = self.addresses(at, name).await?
                && addrs.contains(&self.facts.ip)
            {
                validated.push(name.clone());
            }
        }
        Ok((validated, false, names))
    }

    /// `%{p}` for the record of `domain` (RFC 7208 section 7.3).
    async fn client_name(&mut self, at: &At) -> Result<String, Stop> {
        if self.client_names.is_none() {
            let (names, _, _) = self.validated_names(at, None).await?;
            self.client_names = Some(names);
        }
        let names = self.client_names.as_deref().unwrap_or_default();
        let pick = names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(&at.domain))
            .or_else(|| names.iter().find(|n| is_within(n, &at.domain)))
            .or_else(|| names.first());
        Ok(pick.cloned().unwrap_or_else(|| "unknown".to_string()))
    }

    async fn expand(&mut self, at: &At, ms: &MacroString) -> Result<String, Stop> {
        let ptr = if ms.needs_ptr() {
            self.client_name(at).await?
        } else {
            String::new()
        };
        Ok(ms.expand(&self.facts, &at.domain, &ptr))
    }

    /// The target name of a term: its domain-spec expanded (or the current
    /// domain), checked to be a usable name.
    async fn target(
        &mut self,
        at: &At,
        term: &Term,
        spec: Option<&MacroString>,
    ) -> Result<String, Stop> {
        let Some(ms) = spec else {
            return Ok(at.domain.clone());
        };
        let name = fit_name(&self.expand(at, ms).await?);
        match domain_problem(&name, false) {
            None => Ok(name),
            Some(why) => Err(Stop::perm(format!(
                "'{}' in the record of {} names '{}', which is not a valid domain name: {why}",
                term.text, at.domain, name
            ))),
        }
    }

    // ------------------------------------------------------------ check_host

    /// RFC 7208 section 4: the result of `domain`'s record for the client.
    fn check_host(
        &mut self,
        domain: String,
        depth: u32,
        reason: String,
    ) -> BoxFuture<'_, Result<Verdict, Stop>> {
        Box::pin(async move {
            let at = At { depth, domain };
            self.push(&at, Step::Start { reason }, depth == 0);
            let mut out = self.check_host_inner(&at).await;
            let (result, detail) = match &mut out {
                Ok(v) => (v.result, verdict_detail(v)),
                Err(stop) => {
                    let origin = *stop.origin.get_or_insert(depth);
                    let detail = if origin == depth || depth == 0 {
                        stop.message.clone()
                    } else {
                        "passed up from the nested evaluation".to_string()
                    };
                    (stop.result, detail)
                }
            };
            self.push(&at, Step::Result { result, detail }, depth == 0);
            out
        })
    }

    async fn check_host_inner(&mut self, at: &At) -> Result<Verdict, Stop> {
        if let Some(why) = domain_problem(&at.domain, true) {
            return Ok(Verdict::plain(
                SpfResult::None,
                format!("'{}' cannot have an SPF record: {why}", at.domain),
            ));
        }
        let txts = match self.txt(at, &at.domain).await? {
            Answer::Data(v) => v,
            Answer::Void { nx: true } => {
                return Ok(Verdict::plain(
                    SpfResult::None,
                    format!("{} does not exist (NXDOMAIN)", at.domain),
                ));
            }
            Answer::Void { nx: false } => vec![],
            Answer::Failed(why) => {
                return Err(Stop::temp(format!(
                    "the DNS lookup of the TXT records of {} failed: {why}",
                    at.domain
                )));
            }
        };
        let found = txts.len();
        let spf: Vec<String> = txts.into_iter().filter(|t| is_spf_record(t)).collect();
        if at.depth == 0 {
            self.top_records = spf.iter().map(|r| clip(r, MAX_RECORD_LEN)).collect();
        }
        let text = match spf.as_slice() {
            [] => {
                return Ok(Verdict::plain(
                    SpfResult::None,
                    if found == 0 {
                        format!("{} has no TXT record, so no SPF record", at.domain)
                    } else if found == 1 {
                        format!(
                            "{} has no SPF record (its one TXT record does not start with 'v=spf1')",
                            at.domain
                        )
                    } else {
                        format!(
                            "{} has no SPF record (none of its {found} TXT records starts with 'v=spf1')",
                            at.domain
                        )
                    },
                ));
            }
            [one] => one.clone(),
            many => {
                return Err(Stop::perm(format!(
                    "{} has {} SPF records; there must be exactly one (merge them into one record)",
                    at.domain,
                    many.len()
                )));
            }
        };
        if text.len() > MAX_RECORD_LEN {
            return Err(Stop::perm(format!(
                "the SPF record of {} is {} bytes long; smtp-doctor evaluates records up to {MAX_RECORD_LEN}",
                at.domain,
                text.len()
            )));
        }
        if at.depth == 0 {
            self.top_record = Some(text.clone());
        }
        self.push(
            at,
            Step::Record {
                record: text.clone(),
            },
            at.depth == 0,
        );
        let record = parse_record(&text).map_err(|e| {
            Stop::perm(if at.depth == 0 {
                e.to_string()
            } else {
                format!("in the record of {}: {e}", at.domain)
            })
        })?;
        self.evaluate_record(at, &record).await
    }

    async fn evaluate_record(&mut self, at: &At, record: &Record) -> Result<Verdict, Stop> {
        for term in &record.terms {
            let Kind::Directive(qualifier, mechanism) = &term.kind else {
                continue;
            };
            let counted = if mechanism.needs_dns() {
                self.count_term(at, term)
            } else {
                Ok(())
            };
            let idx = self.push(
                at,
                Step::Mechanism {
                    term: term.text.clone(),
                    position: term.pos,
                    outcome: TermOutcome::NoMatch,
                    detail: String::new(),
                    lookups: self.lookups,
                },
                false,
            );
            let outcome = match counted {
                Ok(()) => self.mechanism(at, term, mechanism).await,
                Err(stop) => Err(stop),
            };
            self.settle(idx, at.depth, &outcome);
            if outcome?.0 {
                let result = qualifier_result(*qualifier);
                let explanation = if result == SpfResult::Fail {
                    self.explain(at, record).await
                } else {
                    None
                };
                return Ok(Verdict {
                    result,
                    matched: Some((term.text.clone(), at.domain.clone())),
                    explanation,
                    note: None,
                });
            }
        }
        // RFC 7208 section 6.1: redirect= only when nothing matched, and
        // never next to `all` (which always matches, so that holds here).
        if let Some((term, spec)) = record.redirect()
            && !record.has_all()
        {
            self.count_term(at, term)?;
            let target = self.target(at, term, Some(spec)).await?;
            self.push(
                at,
                Step::Modifier {
                    term: term.text.clone(),
                    position: term.pos,
                    detail: format!(
                        "no mechanism matched: the result is that of {target} [lookups {}/{MAX_DNS_TERMS}]",
                        self.lookups
                    ),
                },
                false,
            );
            let verdict = self
                .check_host(target.clone(), at.depth + 1, term.text.clone())
                .await?;
            if verdict.result == SpfResult::None {
                return Err(Stop::perm(format!(
                    "'{}' in the record of {} points to {target}, which has no SPF record",
                    term.text, at.domain
                )));
            }
            return Ok(verdict);
        }
        Ok(Verdict::plain(
            SpfResult::Neutral,
            "no mechanism matched and there is no redirect=: the default result is neutral"
                .to_string(),
        ))
    }
}

fn verdict_detail(v: &Verdict) -> String {
    match (&v.matched, &v.note) {
        (Some((term, domain)), _) => format!("'{term}' in the record of {domain} matched"),
        (None, Some(note)) => note.clone(),
        (None, None) => v.result.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_rules() {
        assert_eq!(
            identity("alice@example.com", "h.example.net"),
            (
                "alice@example.com".into(),
                "alice".into(),
                "example.com".into()
            )
        );
        assert_eq!(
            identity("<bob@Example.COM.>", "h"),
            ("bob@Example.COM".into(), "bob".into(), "Example.COM".into())
        );
        assert_eq!(
            identity("example.com", "h"),
            (
                "postmaster@example.com".into(),
                "postmaster".into(),
                "example.com".into()
            )
        );
        assert_eq!(
            identity("@example.com", "h"),
            (
                "postmaster@example.com".into(),
                "postmaster".into(),
                "example.com".into()
            )
        );
        assert_eq!(
            identity("", "mx.example.net"),
            (
                "postmaster@mx.example.net".into(),
                "postmaster".into(),
                "mx.example.net".into()
            )
        );
        assert_eq!(identity("\"a@b\"@example.com", "h").2, "example.com");
    }

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(ip("192.0.2.129"), ip("192.0.2.128"), 28));
        assert!(!in_network(ip("192.0.2.65"), ip("192.0.2.128"), 28));
        assert!(in_network(ip("203.0.113.1"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("192.0.2.1"), ip("192.0.2.1"), 32));
        assert!(!in_network(ip("192.0.2.1"), ip("192.0.2.2"), 32));
        assert!(in_network(ip("2001:db8::1"), ip("2001:db8::"), 32));
        assert!(!in_network(ip("2001:db9::1"), ip("2001:db8::"), 32));
        assert!(in_network(ip("::1"), ip("::"), 0));
        assert!(!in_network(ip("192.0.2.1"), ip("::"), 0));
    }

    #[test]
    fn names() {
        assert_eq!(
            reverse_name("192.0.2.3".parse().unwrap()),
            "3.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::cb01".parse().unwrap()),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        let long = format!("{}.example.com", vec!["x".repeat(60); 5].join("."));
        let fitted = fit_name(&long);
        assert!(
            fitted.len() <= 253 && fitted.ends_with(".example.com"),
            "{fitted}"
        );
        assert_eq!(fit_name("example.com."), "example.com");
        assert!(domain_problem("example.com", true).is_none());
        assert!(domain_problem("localhost", true).is_some());
        assert!(domain_problem("a..example.com", true).is_some());
        assert!(domain_problem(&format!("{}.com", "x".repeat(64)), true).is_some());
        assert!(is_within("Mail.Example.com.", "example.COM"));
        assert!(!is_within("badexample.com", "example.com"));
    }
}
