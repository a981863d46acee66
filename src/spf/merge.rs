//! The fix for an SPF failure: the one record to publish.
//!
//! A domain may have only one SPF record; the most common mistake after an
//! SPF failure is to publish a second one, which turns every result into
//! permerror. So the fix is always the existing record with one term merged
//! in: the client address (`ip4:` / `ip6:`) or the mail provider's
//! `include:`. The new term goes before the first term that could decide
//! against the sender (`-all`, `~all`, any non-pass mechanism), so that it
//! is reached.

use super::parse::{Kind, Mechanism, Qualifier, Term, is_spf_record, parse_lenient, parse_record};
use super::{MAX_DNS_TERMS, SyntaxError};
use serde::Serialize;
use std::net::IpAddr;

/// What to authorize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Addition {
    /// This address (`ip4:` / `ip6:`).
    Ip(IpAddr),
    /// A provider's SPF record, e.g. "spf.protection.outlook.com" or
    /// "_spf.google.com".
    Include(String),
}

impl Addition {
    fn term(&self) -> String {
        match self {
            Addition::Ip(ip) => match ip.to_canonical() {
                IpAddr::V4(v4) => format!("ip4:{v4}"),
                IpAddr::V6(v6) => format!("ip6:{v6}"),
            },
            Addition::Include(domain) => {
                let d = domain.trim();
                let d = d.strip_prefix("include:").unwrap_or(d);
                format!("include:{}", d.trim_end_matches('.'))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeResult {
    /// The whole record to publish, in place of every SPF record there now.
    pub record: String,
    /// DNS-querying terms written in it (include's own lookups not counted).
    pub lookups_after: Option<u32>,
    /// What to look out for: the lookup limit, a long record, errors or
    /// extra records in what was there.
    pub warning: Option<String>,
}

/// Merges `add` into the domain's SPF record (None when it has none).
pub fn merge_record(existing: Option<&str>, add: Addition) -> MergeResult {
    let existing: Vec<&str> = existing.into_iter().collect();
    merge_records(&existing, add)
}

/// Merges `add` into the domain's TXT records: every SPF record among them
/// is folded into one (there should be one; two or more are a permerror).
pub fn merge_records(existing: &[&str], add: Addition) -> MergeResult {
    let new_term = add.term();
    let records: Vec<&str> = existing
        .iter()
        .map(|r| r.trim())
        .filter(|r| is_spf_record(r))
        .collect();
    let mut warnings = Vec::new();
    if records.len() > 1 {
        warnings.push(format!(
            "The domain has {} SPF records, which receivers treat as an error (permerror): \
             publish this one record in their place and delete the others.",
            records.len()
        ));
    }
    let mut terms: Vec<Term> = Vec::new();
    let mut errors: Vec<SyntaxError> = Vec::new();
    for record in &records {
        let (parsed, errs) = parse_lenient(record);
        errors.extend(errs);
        for term in parsed {
            fold_in(&mut terms, term);
        }
    }
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        warnings.push(format!(
            "The existing record has errors that make receivers return permerror ({}); the \
             terms in error are left out of this record: check that nothing relied on them.",
            list.join("; ")
        ));
    }
    let already = terms.iter().any(|t| same_term(&t.text, &new_term));
    if already {
        warnings.push(format!(
            "The record already has '{new_term}'; nothing needed adding."
        ));
    } else {
        let at = terms
            .iter()
            .position(could_decide_against)
            .unwrap_or(terms.len());
        let parsed = super::parse::parse_term(&new_term, 0);
        let kind = parsed.map(|t| t.kind).unwrap_or(Kind::Unknown);
        terms.insert(
            at,
            Term {
                text: new_term.clone(),
                pos: 0,
                kind,
            },
        );
    }
    if records.is_empty() {
        // A new record: softfail for everything else, so that a sender
        // the user forgot is marked, not refused.
        terms.push(parse_term_ok("~all"));
    }
    let mut record = String::from("v=spf1");
    for t in &terms {
        record.push(' ');
        record.push_str(&t.text);
    }
    let lookups_after = parse_record(&record).ok().map(|r| r.dns_terms());
    match lookups_after {
        Some(n) if n > MAX_DNS_TERMS => warnings.push(format!(
            "This record needs {n} DNS lookups before counting those inside its include:s; \
             receivers allow {MAX_DNS_TERMS} and return permerror beyond. Replace some \
             include:, a or mx terms with the ip4:/ip6: ranges they stand for."
        )),
        Some(n) if n + 2 >= MAX_DNS_TERMS => warnings.push(format!(
            "This record needs {n} of the {MAX_DNS_TERMS} DNS lookups receivers allow, not \
             counting those inside its include:s (a provider's include often costs 1 to 4 more): \
             check the total stays at {MAX_DNS_TERMS} or below."
        )),
        Some(_) => {}
        None => warnings.push(
            "smtp-doctor could not check the merged record's syntax; check it before publishing."
                .to_string(),
        ),
    }
    if record.len() > 255 {
        warnings.push(format!(
            "The record is {} characters long; one TXT string holds 255 at most, so publish it \
             as several quoted strings in one TXT record (many DNS panels split it for you).",
            record.len()
        ));
    }
    MergeResult {
        record,
        lookups_after,
        warning: if warnings.is_empty() {
            None
        } else {
            Some(warnings.join(" "))
        },
    }
}

fn parse_term_ok(text: &str) -> Term {
    let kind = super::parse::parse_term(text, 0)
        .map(|t| t.kind)
        .unwrap_or(Kind::Unknown);
    Term {
        text: text.to_string(),
        pos: 0,
        kind,
    }
}

/// Same term, ignoring case and an explicit "+".
fn same_term(a: &str, b: &str) -> bool {
    let a = a.strip_prefix('+').unwrap_or(a);
    let b = b.strip_prefix('+').unwrap_or(b);
    a.eq_ignore_ascii_case(b)
}

/// Where a new mechanism must come before: `all`, a mechanism whose
/// qualifier is not pass, or `redirect=` (kept last by convention).
fn could_decide_against(t: &Term) -> bool {
    match &t.kind {
        Kind::Directive(q, m) => *q != Qualifier::Pass || matches!(m, Mechanism::All),
        Kind::Redirect(_) => true,
        _ => false,
    }
}

fn is_all(t: &Term) -> bool {
    matches!(t.kind, Kind::Directive(_, Mechanism::All))
}

/// Adds a term of one more record to the terms kept so far: repeated terms
/// once, one `all` and one `redirect=` / `exp=` at most, new mechanisms
/// before the `all` so that they are reached.
fn fold_in(terms: &mut Vec<Term>, term: Term) {
    if terms.iter().any(|t| same_term(&t.text, &term.text)) {
        return;
    }
    match &term.kind {
        Kind::Directive(..) if is_all(&term) => {
            if !terms.iter().any(is_all) {
                terms.push(term);
            }
        }
        Kind::Directive(..) => {
            let at = terms.iter().position(is_all).unwrap_or(terms.len());
            terms.insert(at, term);
        }
        Kind::Redirect(_) | Kind::Exp(_) => {
            let dup = terms
                .iter()
                .any(|t| std::mem::discriminant(&t.kind) == std::mem::discriminant(&term.kind));
            if !dup {
                terms.push(term);
            }
        }
        Kind::Unknown => terms.push(term),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Addition {
        Addition::Ip(s.parse().unwrap())
    }

    #[test]
    fn adds_before_the_final_all() {
        let m = merge_record(
            Some("v=spf1 mx include:_spf.google.com ~all"),
            ip("203.0.113.7"),
        );
        assert_eq!(
            m.record,
            "v=spf1 mx include:_spf.google.com ip4:203.0.113.7 ~all"
        );
        assert_eq!(m.lookups_after, Some(2));
        assert_eq!(m.warning, None);
        let m = merge_record(Some("v=spf1 -all"), ip("2001:db8::7"));
        assert_eq!(m.record, "v=spf1 ip6:2001:db8::7 -all");
        let m = merge_record(
            Some("v=spf1 ip4:192.0.2.0/24 -all"),
            ip("::ffff:203.0.113.7"),
        );
        assert_eq!(m.record, "v=spf1 ip4:192.0.2.0/24 ip4:203.0.113.7 -all");
    }

    #[test]
    fn adds_before_a_mechanism_that_would_refuse_first() {
        let m = merge_record(
            Some("v=spf1 a -ip4:203.0.113.0/24 mx ~all"),
            ip("203.0.113.7"),
        );
        assert_eq!(
            m.record,
            "v=spf1 a ip4:203.0.113.7 -ip4:203.0.113.0/24 mx ~all"
        );
    }

    #[test]
    fn keeps_a_redirect_last() {
        let m = merge_record(
            Some("v=spf1 redirect=_spf.example.com"),
            Addition::Include("spf.protection.outlook.com".into()),
        );
        assert_eq!(
            m.record,
            "v=spf1 include:spf.protection.outlook.com redirect=_spf.example.com"
        );
        assert_eq!(m.lookups_after, Some(2));
    }

    #[test]
    fn a_domain_without_a_record_gets_a_new_one() {
        let m = merge_record(None, Addition::Include("_spf.google.com".into()));
        assert_eq!(m.record, "v=spf1 include:_spf.google.com ~all");
        assert_eq!(m.lookups_after, Some(1));
        assert_eq!(m.warning, None);
        let m = merge_records(&["google-site-verification=abc"], ip("192.0.2.1"));
        assert_eq!(m.record, "v=spf1 ip4:192.0.2.1 ~all");
    }

    #[test]
    fn two_records_become_one_with_a_warning() {
        let m = merge_records(
            &[
                "v=spf1 include:_spf.google.com ~all",
                "v=spf1 include:spf.protection.outlook.com ip4:192.0.2.0/24 -all",
            ],
            ip("203.0.113.7"),
        );
        assert_eq!(
            m.record,
            "v=spf1 include:_spf.google.com include:spf.protection.outlook.com \
             ip4:192.0.2.0/24 ip4:203.0.113.7 ~all"
        );
        let w = m.warning.unwrap();
        assert!(w.contains("2 SPF records"), "{w}");
    }

    #[test]
    fn an_invalid_record_loses_its_bad_terms_with_a_warning() {
        let m = merge_record(Some("v=spf1 ipv4:192.0.2.1 mx -all"), ip("203.0.113.7"));
        assert_eq!(m.record, "v=spf1 mx ip4:203.0.113.7 -all");
        let w = m.warning.unwrap();
        assert!(
            w.contains("unknown mechanism 'ipv4:192.0.2.1' at position 7"),
            "{w}"
        );
    }

    #[test]
    fn warns_near_and_over_the_lookup_limit() {
        let eight = "v=spf1 include:a.example.com include:b.example.com include:c.example.com \
                     include:d.example.com include:e.example.com include:f.example.com a mx -all";
        let m = merge_record(Some(eight), Addition::Include("_spf.google.com".into()));
        assert_eq!(m.lookups_after, Some(9));
        assert!(m.warning.unwrap().contains("9 of the 10"));
        let ten = format!("{eight} ptr exists:%{{i}}.x.example.com");
        let m = merge_record(Some(&ten), Addition::Include("_spf.google.com".into()));
        assert_eq!(m.lookups_after, Some(11));
        let w = m.warning.unwrap();
        assert!(w.contains("needs 11 DNS lookups"), "{w}");
        assert!(w.contains("permerror"), "{w}");
    }

    #[test]
    fn nothing_is_added_twice() {
        let m = merge_record(Some("v=spf1 +IP4:203.0.113.7 ~all"), ip("203.0.113.7"));
        assert_eq!(m.record, "v=spf1 +IP4:203.0.113.7 ~all");
        assert!(m.warning.unwrap().contains("already has"));
    }

    #[test]
    fn long_records_are_flagged() {
        let many: Vec<String> = (1..=20).map(|i| format!("ip4:198.51.100.{i}")).collect();
        let existing = format!("v=spf1 {} -all", many.join(" "));
        let m = merge_record(Some(&existing), ip("203.0.113.7"));
        assert!(m.record.len() > 255);
        assert!(m.warning.unwrap().contains("255"));
    }

    #[test]
    fn every_merged_record_is_valid() {
        for existing in [
            None,
            Some("v=spf1"),
            Some("v=spf1 -all"),
            Some("v=spf1 a mx ptr ?all exp=explain.example.com"),
            Some("V=SPF1 INCLUDE:example.net ~ALL"),
            Some("v=spf1 redirect=example.net"),
        ] {
            for add in [
                ip("192.0.2.1"),
                ip("2001:db8::1"),
                Addition::Include("example.org".into()),
            ] {
                let m = merge_record(existing, add.clone());
                assert!(
                    parse_record(&m.record).is_ok(),
                    "{existing:?} + {add:?} gave {}",
                    m.record
                );
            }
        }
    }
}
