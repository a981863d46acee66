//! `explain`: a pasted bounce, NDR, log line or error dialog text in, the
//! likely causes with fixes out. Text that matches nothing known says so
//! instead of guessing.

use crate::cause::CauseId;
use crate::diagnose::{Finding, finding};
use crate::report::{Paint, finding_text};
use serde::Serialize;
use std::collections::BTreeMap;

/// Ranked causes for a text; empty when nothing known matches.
pub fn explain(text: &str) -> Vec<Finding> {
    let vars = BTreeMap::new();
    crate::classify::classify_text(text)
        .into_iter()
        .filter_map(|m| {
            CauseId::parse(&m.cause)
                .map(|c| finding(c, m.confidence, Vec::new(), None, &vars, None))
        })
        .collect()
}

#[derive(Serialize)]
struct JsonCause<'a> {
    id: &'a str,
    title: &'a str,
    explanation: &'a str,
    confidence: f64,
    fixes: &'a [String],
}

pub fn json(causes: &[Finding]) -> String {
    let list: Vec<JsonCause<'_>> = causes
        .iter()
        .map(|f| JsonCause {
            id: f.id.as_str(),
            title: &f.title,
            explanation: &f.explanation,
            confidence: f.confidence,
            fixes: &f.fixes,
        })
        .collect();
    let mut s =
        serde_json::to_string_pretty(&serde_json::json!({ "causes": list })).unwrap_or_default();
    s.push('\n');
    s
}

pub fn text(causes: &[Finding], p: &Paint) -> String {
    if causes.is_empty() {
        return "No known cause matches this text. smtp-doctor recognizes SMTP replies (like \"554 5.7.1 Relay access denied\"), bounces and mail server log lines; try pasting the full error, or run `smtp-doctor check` against the server.\n".to_string();
    }
    let mut out = String::new();
    for (i, f) in causes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&finding_text(i + 1, f, p));
    }
    out
}

pub fn markdown(causes: &[Finding]) -> String {
    if causes.is_empty() {
        return "No known cause matches this text.\n".to_string();
    }
    let mut out = String::from("# smtp-doctor: likely causes\n");
    for (i, f) in causes.iter().enumerate() {
        out.push_str(&format!(
            "\n## {}. {} (`{}`, {:.0}%)\n\n{}\n",
            i + 1,
            f.title,
            f.id,
            f.confidence * 100.0,
            f.explanation
        ));
        for (n, fix) in f.fixes.iter().enumerate() {
            out.push_str(&format!("{}. {fix}\n", n + 1));
        }
    }
    out
}
