//! SPF (RFC 7208): why a receiver accepts or refuses this machine as a
//! sender for a domain, and the record that would fix it.
//!
//! Mail servers judge a sender by the SPF record of the envelope sender's
//! domain. When that judgement goes wrong, a bare "fail" helps nobody: the
//! user needs to see which record was read, which mechanism matched (or that
//! none did), every DNS lookup made and how close the record is to the
//! limits. So smtp-doctor evaluates SPF itself, exactly as RFC 7208's
//! `check_host()` describes, and keeps a [`TraceStep`] for every step.
//!
//! The pieces:
//! - [`evaluate`] runs `check_host()` over any [`SpfDns`]: [`HickoryDns`] for
//!   real runs, [`MemoryDns`] for scripted zones in tests.
//! - [`merge_record`] computes the fix: the existing record with the client
//!   address (or a provider's `include:`) merged in, never a second record.
//! - [`validate`] checks a record's syntax, as a receiver would.
//!
//! Everything is bounded so that a hostile zone cannot loop or bloat a run:
//! the RFC's 10 DNS-querying terms and 2 void lookups, at most 10 MX names
//! per `mx` and 10 PTR names per `ptr`, a cap on DNS queries in total, on
//! the length of a record, on the trace, and on elapsed time.

mod eval;
mod hickory;
mod macros;
mod memory;
mod merge;
mod parse;

pub use hickory::HickoryDns;
pub use memory::MemoryDns;
pub use merge::{Addition, MergeResult, merge_record, merge_records};
pub use parse::SyntaxError;

use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;

/// DNS-querying terms (include, a, mx, ptr, exists, redirect) allowed in
/// one evaluation (RFC 7208 section 4.6.4).
pub const MAX_DNS_TERMS: u32 = 10;
/// Lookups answering NXDOMAIN or nothing allowed in one evaluation.
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// MX names one `mx` mechanism may have; more is a permerror.
pub const MAX_MX_NAMES: usize = 10;
/// PTR names one `ptr` mechanism or `%{p}` looks at; the rest are ignored.
pub const MAX_PTR_NAMES: usize = 10;
/// Total DNS queries in one evaluation. The RFC's limits already keep an
/// evaluation near 130 queries at most; this is a second fence.
pub const MAX_DNS_QUERIES: u32 = 160;
/// Longest SPF record smtp-doctor evaluates, in bytes. Far beyond what a
/// DNS answer over UDP can carry, so no real record comes near it.
pub const MAX_RECORD_LEN: usize = 8192;
/// Steps kept in a trace; later ones are counted, not kept.
pub const MAX_TRACE_STEPS: usize = 500;
/// Time an evaluation may take before it ends in temperror (the RFC asks
/// for at least 20 seconds).
pub const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// DNS as the evaluator needs it. Names come without a trailing dot; names
/// in answers (MX exchanges, PTR targets) may have one.
///
/// An answer with no records of the asked type may be given as `Ok(vec![])`
/// or as [`DnsFail::NoRecords`]: both are a void lookup.
pub trait SpfDns: Sync {
    /// TXT records of `name`, each one's strings joined without spaces.
    fn txt(&self, name: &str) -> impl Future<Output = Result<Vec<String>, DnsFail>> + Send;
    /// IPv4 addresses of `name`.
    fn a(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, DnsFail>> + Send;
    /// IPv6 addresses of `name`.
    fn aaaa(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, DnsFail>> + Send;
    /// MX records of `name`: (preference, exchange).
    fn mx(&self, name: &str) -> impl Future<Output = Result<Vec<(u16, String)>, DnsFail>> + Send;
    /// PTR names of `ip` (the in-addr.arpa / ip6.arpa lookup).
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Result<Vec<String>, DnsFail>> + Send;
}

/// Why a lookup gave no data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum DnsFail {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists without records of the asked type.
    NoRecords,
    /// Timeout, SERVFAIL or any other failure: the answer is unknown.
    Temp(String),
}

impl fmt::Display for DnsFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsFail::NxDomain => f.write_str("NXDOMAIN"),
            DnsFail::NoRecords => f.write_str("no records"),
            DnsFail::Temp(why) => write!(f, "failed: {why}"),
        }
    }
}

/// The seven results of RFC 7208 section 2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    PermError,
    TempError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::Neutral => "neutral",
            SpfResult::None => "none",
            SpfResult::PermError => "permerror",
            SpfResult::TempError => "temperror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SpfResult {
    type Err = String;
    fn from_str(s: &str) -> Result<SpfResult, String> {
        let all = [
            SpfResult::Pass,
            SpfResult::Fail,
            SpfResult::SoftFail,
            SpfResult::Neutral,
            SpfResult::None,
            SpfResult::PermError,
            SpfResult::TempError,
        ];
        all.into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("'{s}' is not an SPF result"))
    }
}

/// The outcome of one evaluation, with everything that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub result: SpfResult,
    /// The client address evaluated (IPv4-mapped IPv6 shown as IPv4).
    pub ip: IpAddr,
    /// The sender as evaluated: `local@domain`, `postmaster@` when no
    /// local-part was given, `postmaster@HELO` for an empty sender.
    pub sender: String,
    /// The domain whose record was evaluated.
    pub domain: String,
    /// That domain's SPF record, when there was exactly one.
    pub record: Option<String>,
    /// Every SPF record found at that domain (more than one is a permerror).
    pub records: Vec<String>,
    /// The mechanism that decided the result, as written, e.g.
    /// "ip4:192.0.2.0/24" or "include:_spf.google.com"; None when none matched.
    pub matched: Option<String>,
    /// The domain whose record holds `matched` (differs from `domain` after
    /// a `redirect=`).
    pub matched_domain: Option<String>,
    /// The `exp=` text, on a fail.
    pub explanation: Option<String>,
    /// DNS-querying terms evaluated (limit [`MAX_DNS_TERMS`]).
    pub lookups: u32,
    /// Lookups that found nothing (limit [`MAX_VOID_LOOKUPS`]).
    pub void_lookups: u32,
    /// DNS queries made in total.
    pub dns_queries: u32,
    /// Why the result is permerror or temperror; syntax errors with their
    /// position, e.g. "unknown mechanism 'ipv4:1.2.3.4' at position 7".
    pub error: Option<String>,
    pub trace: Vec<TraceStep>,
}

impl Evaluation {
    /// The trace as indented text, one step a line.
    pub fn trace_text(&self) -> String {
        self.trace.iter().map(|s| format!("{s}\n")).collect()
    }
}

/// One step of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// 0 for the sender's domain; one more inside each include: / redirect=.
    pub depth: u32,
    /// The domain whose record is being evaluated.
    pub domain: String,
    #[serde(flatten)]
    pub step: Step,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// check_host() starts for `domain`.
    Start { reason: String },
    /// One DNS query and its answer.
    Query {
        rtype: String,
        name: String,
        status: QueryStatus,
        answer: Vec<String>,
        /// Counted as a void lookup.
        void: bool,
    },
    /// The SPF record selected for `domain`.
    Record { record: String },
    /// A mechanism and its outcome.
    Mechanism {
        term: String,
        position: usize,
        outcome: TermOutcome,
        detail: String,
        /// DNS-querying terms counted so far, this one included.
        lookups: u32,
    },
    /// A modifier that took effect (redirect=, exp=).
    Modifier {
        term: String,
        position: usize,
        detail: String,
    },
    /// The result for `domain`.
    Result { result: SpfResult, detail: String },
    /// Steps left out because the trace reached [`MAX_TRACE_STEPS`].
    Truncated { omitted: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryStatus {
    Answer,
    NxDomain,
    NoRecords,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TermOutcome {
    Match,
    NoMatch,
    PermError,
    TempError,
}

impl fmt::Display for TraceStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let indent = "  ".repeat(usize::try_from(self.depth).unwrap_or(0));
        write!(f, "{indent}")?;
        match &self.step {
            Step::Start { reason } => write!(f, "{} ({reason})", self.domain),
            Step::Query {
                rtype,
                name,
                status,
                answer,
                void,
            } => {
                write!(f, "    DNS {rtype} {name}: ")?;
                match status {
                    QueryStatus::Answer => write!(f, "{}", answer.join(", "))?,
                    QueryStatus::NxDomain => write!(f, "NXDOMAIN")?,
                    QueryStatus::NoRecords => write!(f, "no records")?,
                    QueryStatus::Failed => write!(f, "failed: {}", answer.join(", "))?,
                }
                if *void {
                    write!(f, " (void lookup)")?;
                }
                Ok(())
            }
            Step::Record { record } => write!(f, "  record: {record}"),
            Step::Mechanism {
                term,
                outcome,
                detail,
                lookups,
                ..
            } => {
                let outcome = match outcome {
                    TermOutcome::Match => "match",
                    TermOutcome::NoMatch => "no match",
                    TermOutcome::PermError => "permerror",
                    TermOutcome::TempError => "temperror",
                };
                write!(
                    f,
                    "  {term}: {outcome} - {detail} [lookups {lookups}/{MAX_DNS_TERMS}]"
                )
            }
            Step::Modifier { term, detail, .. } => write!(f, "  {term}: {detail}"),
            Step::Result { result, detail } => {
                write!(f, "  => {result} for {}: {detail}", self.domain)
            }
            Step::Truncated { omitted } => {
                write!(f, "  ... {omitted} more steps left out of the trace")
            }
        }
    }
}

/// Runs RFC 7208 `check_host()` for `ip` sending as `sender` (an address,
/// or a bare domain; empty means the HELO identity), with `helo` as the
/// HELO/EHLO name, and returns the result with its trace.
pub async fn evaluate(dns: &impl SpfDns, ip: IpAddr, sender: &str, helo: &str) -> Evaluation {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    eval::run(dns, ip, sender, helo, now).await
}

/// Checks a record's syntax as a receiver would. Returns the number of
/// DNS-querying terms written in it (includes not followed).
pub fn validate(record: &str) -> Result<u32, SyntaxError> {
    parse::parse_record(record).map(|r| r.dns_terms())
}

/// Does this TXT string claim to be an SPF record ("v=spf1", any case,
/// then a space or the end)?
pub fn is_spf_record(txt: &str) -> bool {
    parse::is_spf_record(txt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only if an evaluation over any [`SpfDns`] can move between
    /// threads, as the probe's spawned checks need.
    fn sendable<D: SpfDns>(dns: &D, ip: IpAddr) -> impl Future<Output = Evaluation> + Send + '_ {
        evaluate(dns, ip, "alice@example.com", "mta.example.net")
    }

    #[tokio::test]
    async fn an_evaluation_runs_on_a_spawned_task() {
        let dns = MemoryDns::new().with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let e = tokio::spawn(async move { sendable(&dns, ip).await })
            .await
            .unwrap();
        assert_eq!(e.result, SpfResult::Pass);
        assert_eq!(e.record.as_deref(), Some("v=spf1 ip4:192.0.2.0/24 -all"));
    }

    #[test]
    fn results_read_and_print_in_lowercase() {
        for r in [
            "pass",
            "fail",
            "softfail",
            "neutral",
            "none",
            "permerror",
            "temperror",
        ] {
            let parsed: SpfResult = r.parse().unwrap();
            assert_eq!(parsed.to_string(), r);
            assert_eq!(serde_json::to_value(parsed).unwrap(), r);
        }
        assert!("PASS".parse::<SpfResult>().is_ok());
        assert!("passed".parse::<SpfResult>().is_err());
    }

    #[test]
    fn validate_counts_dns_terms_and_reports_errors() {
        assert_eq!(
            validate("v=spf1 include:_spf.google.com mx a ip4:192.0.2.1 -all"),
            Ok(3)
        );
        let e = validate("v=spf1 ipv4:1.2.3.4").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown mechanism 'ipv4:1.2.3.4' at position 7"
        );
        assert!(is_spf_record("v=spf1 -all"));
        assert!(!is_spf_record("v=spf2 -all"));
    }
}
