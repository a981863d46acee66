//! `explain`: a pasted bounce, NDR, log line or error dialog text in, the
//! likely causes with fixes out. Text that matches nothing known says so
//! instead of guessing.

use crate::cause::CauseId;
use crate::diagnose::{Finding, finding};
use crate::report::{Paint, finding_text};
use serde::Serialize;
use std::collections::BTreeMap;

/// Ranked causes for a text; empty when nothing known matches. The text
/// goes through [`clean_paste`] first.
pub fn explain(text: &str) -> Vec<Finding> {
    let vars = BTreeMap::new();
    crate::classify::classify_text(&clean_paste(text))
        .into_iter()
        .filter_map(|m| {
            CauseId::parse(&m.cause)
                .map(|c| finding(c, m.confidence, Vec::new(), None, &vars, None))
        })
        .collect()
}

/// A pasted text as `explain` reads it, with its line breaks kept.
///
/// Terminals deliver a paste with a carriage return (`\r`) for each line
/// break, Windows programs with `\r\n`: both become `\n`, so a bounce's
/// lines stay lines ("could not" / "be delivered" must not run together as
/// "could notbe delivered") and a reply's continuation lines stay apart.
/// Tabs stay too (they indent wrapped lines in bounces); other control
/// characters (escape sequences, NUL) are dropped.
pub fn clean_paste(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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
