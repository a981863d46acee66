//! `smtp-doctor explain --log FILE`: the ranked table of a whole mail log
//! (see `crate::logscan`), as text, JSON or Markdown.

use super::{EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Exit};
use crate::logscan::{self, Count, Options, Row, Triage};
use crate::report::{Format, Paint};
use serde::Serialize;
use std::path::Path;

/// The JSON schema version of this output.
pub const SCHEMA: u32 = 1;

/// Scans `path` (`-` for standard input) and renders the table. Exit 0
/// when refusals were found and recognized, 1 when nothing known was
/// found, 2 when the file cannot be read.
pub fn run(path: &Path, format: Format, color: bool) -> Result<(String, u8), Exit> {
    let opts = Options::default();
    let triage = if path.as_os_str() == "-" {
        logscan::scan_reader(std::io::stdin().lock(), &opts)
    } else {
        logscan::scan_path(path, &opts).map_err(|e| Exit(EXIT_USAGE, e.to_string()))?
    };
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        logscan::printable(&path.display().to_string())
    };
    let out = render(&triage, &name, format, &Paint(color));
    let code = if triage.classified > 0 {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    };
    Ok((out, code))
}

pub fn render(t: &Triage, name: &str, format: Format, p: &Paint) -> String {
    match format {
        Format::Json => json(t, name),
        Format::Markdown => markdown(t, name),
        Format::Text => text(t, name, p),
    }
}

#[derive(Serialize)]
struct JsonOut<'a> {
    schema: u32,
    tool: &'static str,
    source: &'a str,
    #[serde(flatten)]
    triage: &'a Triage,
}

pub fn json(t: &Triage, name: &str) -> String {
    let out = JsonOut {
        schema: SCHEMA,
        tool: "smtp-doctor",
        source: name,
        triage: t,
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(t: &Triage, name: &str) -> String {
    format!(
        "{name}: {} ({}{}) read; {} found, {} recognized.",
        plural(t.lines, "line", "lines"),
        size(t.bytes),
        if t.gzip { ", gzip" } else { "" },
        plural(
            t.findings,
            "refused delivery or login",
            "refused deliveries or logins"
        ),
        t.classified
    )
}

fn kinds(r: &Row) -> String {
    let mut parts = Vec::new();
    for (n, one, many) in [
        (r.rejected, "rejected", "rejected"),
        (r.bounced, "bounced", "bounced"),
        (r.deferred, "deferred", "deferred"),
        (r.auth_failed, "failed login", "failed logins"),
    ] {
        if n > 0 {
            parts.push(plural(n, one, many));
        }
    }
    parts.join(", ")
}

fn list(c: &[Count], approximate: bool) -> String {
    c.iter()
        .map(|c| {
            if approximate {
                format!("{} (≥{})", c.value, c.count)
            } else {
                format!("{} ({})", c.value, c.count)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn tops(r: &Row) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (label, c) in [
        ("client IPs", &r.client_ips),
        ("SASL users", &r.users),
        ("sender domains", &r.sender_domains),
        ("recipient domains", &r.recipient_domains),
    ] {
        if !c.is_empty() {
            out.push((label, list(c, r.approximate)));
        }
    }
    out
}

fn skipped_lines(t: &Triage) -> Vec<String> {
    let mut out = Vec::new();
    let s = &t.skipped;
    if s.long_lines > 0 {
        out.push(format!(
            "Skipped {} over {} ({} in all).",
            plural(s.long_lines, "line", "lines"),
            size(Options::default().max_line as u64),
            size(s.long_line_bytes)
        ));
    }
    if s.binary_lines > 0 {
        out.push(format!(
            "Skipped {} of binary data.",
            plural(s.binary_lines, "line", "lines")
        ));
    }
    for w in &t.warnings {
        out.push(format!("Warning: {}", logscan::printable(w)));
    }
    out
}

pub fn text(t: &Triage, name: &str, p: &Paint) -> String {
    let mut out = format!("{}\n", p.bold(&summary(t, name)));
    if t.causes.is_empty() {
        out.push_str(
            "\nNo refusal smtp-doctor recognizes was found. It reads Postfix, Exim and sendmail logs \
(also from journalctl) and Microsoft 365 message trace CSV exports.\n",
        );
    } else {
        out.push_str(&format!(
            "\n {:>2}  {:>7}  {:<28} {:<24} {}\n",
            "#", "count", "cause", "first", "last"
        ));
        for (i, r) in t.causes.iter().enumerate() {
            out.push_str(&format!(
                " {:>2}  {:>7}  {:<28} {:<24} {}\n",
                i + 1,
                r.count,
                r.cause,
                r.first,
                r.last
            ));
        }
        for (i, r) in t.causes.iter().enumerate() {
            out.push_str(&format!(
                "\n{}. {} ({}): {}\n",
                i + 1,
                p.bold(&r.title),
                r.cause,
                kinds(r)
            ));
            out.push_str(&format!("   first {}, last {}\n", r.first, r.last));
            for (label, l) in tops(r) {
                out.push_str(&format!("   {label}: {l}\n"));
            }
            if let Some(ex) = r.examples.first() {
                out.push_str(&format!("   example: {}\n", p.dim(ex)));
            }
            for fix in &r.fixes {
                out.push_str(&format!("   - {fix}\n"));
            }
        }
    }
    if t.not_understood.count > 0 {
        out.push_str(&format!(
            "\nNot understood: {} the classifier does not recognize, for example:\n",
            plural(t.not_understood.count, "refusal", "refusals")
        ));
        for ex in &t.not_understood.examples {
            out.push_str(&format!("   {}\n", p.dim(ex)));
        }
    }
    let skipped = skipped_lines(t);
    if !skipped.is_empty() {
        out.push('\n');
        for s in skipped {
            out.push_str(&format!("{s}\n"));
        }
    }
    out
}

/// Markdown table cells: pipes and line breaks escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(t: &Triage, name: &str) -> String {
    let mut out = format!("# smtp-doctor: log triage\n\n{}\n", cell(&summary(t, name)));
    if t.causes.is_empty() {
        out.push_str("\nNo refusal smtp-doctor recognizes was found.\n");
    } else {
        out.push_str(
            "\n| # | count | cause | first | last | client IPs | SASL users | sender domains | recipient domains |\n\
|---|---|---|---|---|---|---|---|---|\n",
        );
        for (i, r) in t.causes.iter().enumerate() {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} |\n",
                i + 1,
                r.count,
                r.cause,
                cell(&r.first),
                cell(&r.last),
                cell(&list(&r.client_ips, r.approximate)),
                cell(&list(&r.users, r.approximate)),
                cell(&list(&r.sender_domains, r.approximate)),
                cell(&list(&r.recipient_domains, r.approximate)),
            ));
        }
        for (i, r) in t.causes.iter().enumerate() {
            out.push_str(&format!(
                "\n## {}. {} (`{}`, {})\n\n{}\n",
                i + 1,
                r.title,
                r.cause,
                kinds(r),
                r.explanation
            ));
            if let Some(ex) = r.examples.first() {
                out.push_str(&format!("\n```\n{}\n```\n\n", ex.replace("```", "'''")));
            }
            for (n, fix) in r.fixes.iter().enumerate() {
                out.push_str(&format!("{}. {fix}\n", n + 1));
            }
        }
    }
    if t.not_understood.count > 0 {
        out.push_str(&format!(
            "\n## Not understood ({})\n\n```\n",
            t.not_understood.count
        ));
        for ex in &t.not_understood.examples {
            out.push_str(&format!("{}\n", ex.replace("```", "'''")));
        }
        out.push_str("```\n");
    }
    let skipped = skipped_lines(t);
    if !skipped.is_empty() {
        out.push('\n');
        for s in skipped {
            out.push_str(&format!("- {}\n", cell(&s)));
        }
    }
    out
}
