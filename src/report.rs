//! Reports of a run: JSON (a stable schema with a version), Markdown for a
//! support ticket, and text for a terminal (coloured only when asked).
//!
//! None of them ever sees the password: [`Settings`] does not serialize it,
//! and transcripts are redacted where they are recorded.
//!
//! Text and Markdown are for people: every string that came from outside
//! (replies, records, names, the settings themselves) goes through
//! [`crate::printable`] so no control or bidirectional character reaches a
//! terminal. JSON keeps exact strings: serde_json escapes the C0 controls
//! (`\u001b`) itself, and [`json_escape_rest`] writes DEL, the C1 controls
//! and the bidirectional characters as `\u` escapes too, which decode to
//! the same strings, so a JSON report shown with `cat` is as safe as the
//! text one and a program still reads exactly what the server sent.

use crate::diagnose::{Diagnosis, Finding};
use crate::printable::{printable as pr, printable_lines};
use crate::probe::{Dir, Outcome, Status};
use crate::settings::Settings;
use serde::Serialize;
use std::fmt::Write as _;

pub const SCHEMA: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

impl Format {
    /// The names a user types, in the order help lists them.
    pub const NAMES: [&'static str; 3] = ["text", "json", "markdown"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct SettingsView<'a> {
    #[serde(flatten)]
    settings: &'a Settings,
    password_given: bool,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    tool: &'static str,
    version: &'static str,
    settings: SettingsView<'a>,
    total_ms: u64,
    checks: &'a [Outcome],
    diagnosis: &'a Diagnosis,
}

/// Everything a report needs.
pub struct Report<'a> {
    pub settings: &'a Settings,
    pub checks: &'a [Outcome],
    pub diagnosis: &'a Diagnosis,
    pub total_ms: u64,
}

impl Report<'_> {
    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Json => self.json(),
            Format::Markdown => self.markdown(),
            Format::Text => self.text(color),
        }
    }

    pub fn json(&self) -> String {
        let r = JsonReport {
            schema: SCHEMA,
            tool: "smtp-doctor",
            version: env!("CARGO_PKG_VERSION"),
            settings: SettingsView {
                settings: self.settings,
                password_given: !self.settings.password.is_empty(),
            },
            total_ms: self.total_ms,
            checks: self.checks,
            diagnosis: self.diagnosis,
        };
        let mut s =
            serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        json_escape_rest(&s)
    }

    pub fn text(&self, color: bool) -> String {
        let p = Paint(color);
        let mut out = String::new();
        let s = self.settings;
        let _ = writeln!(
            out,
            "{} {}:{} ({}), login {}, {} → {}",
            p.bold("smtp-doctor check"),
            pr(s.server_name()),
            s.port,
            s.security.label(),
            pr(if s.auth { s.effective_login() } else { "off" }),
            pr(s.effective_sender()),
            pr(s.recipient.trim())
        );
        out.push('\n');
        for o in self.checks {
            let _ = writeln!(
                out,
                "{} {:<30} {} {}",
                p.status(o.status),
                pr(o.title),
                pr(&o.summary),
                p.dim(&format!("({} ms)", o.duration.as_millis()))
            );
        }
        out.push('\n');
        out.push_str(&diagnosis_text(self.diagnosis, &p));
        let shown: Vec<&Outcome> = self
            .checks
            .iter()
            .filter(|o| o.status.is_problem() && !o.transcript.is_empty())
            .collect();
        for o in shown {
            let _ = writeln!(
                out,
                "\n{}",
                p.bold(&format!("Transcript of {} ({})", pr(o.title), o.id))
            );
            for l in &o.transcript {
                let line = format!("{:>6} ms {} {}", l.t_ms, arrow(l.dir), pr(&l.line));
                let _ = writeln!(
                    out,
                    "  {}",
                    if l.dir == Dir::Client {
                        p.cyan(&line)
                    } else {
                        line
                    }
                );
            }
        }
        out
    }

    /// Markdown, printable: there is no colour here, so the whole text goes
    /// through [`printable_lines`] once, whatever it holds.
    pub fn markdown(&self) -> String {
        printable_lines(&self.markdown_raw()).into_owned()
    }

    fn markdown_raw(&self) -> String {
        let s = self.settings;
        let mut out = String::new();
        out.push_str("# smtp-doctor report\n\n");
        out.push_str("## Settings\n\n| Setting | Value |\n|---|---|\n");
        let rows = [
            ("Account", s.account.clone()),
            ("Outgoing server", s.server_name().to_string()),
            ("Port", s.port.to_string()),
            ("Encryption", s.security.label().to_string()),
            (
                "Authentication",
                if s.auth {
                    format!("on, login {}", s.effective_login())
                } else {
                    "off".into()
                },
            ),
            (
                "Password",
                if s.password.is_empty() {
                    "not given".into()
                } else {
                    "given (not shown)".into()
                },
            ),
            ("Sender", s.effective_sender().to_string()),
            ("Test recipient", s.recipient.trim().to_string()),
        ];
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {} |", md_cell(&v));
        }
        let d = self.diagnosis;
        out.push_str("\n## Diagnosis\n\n");
        if let Some(name) = &d.provider_name {
            let _ = writeln!(out, "Provider: {name}\n");
        }
        if d.causes.is_empty() {
            out.push_str(match d.verdict {
                crate::diagnose::Verdict::Ok => "No problem found: the server accepts this mail.\n",
                crate::diagnose::Verdict::Problem => {
                    "A check failed, but no known cause matches the evidence.\n"
                }
            });
        }
        for (i, f) in d.causes.iter().enumerate() {
            let _ = writeln!(
                out,
                "### {}. {} (`{}`, confidence {:.0}%)\n",
                i + 1,
                f.title,
                f.id,
                f.confidence * 100.0
            );
            if !f.explanation.is_empty() {
                let _ = writeln!(out, "{}\n", f.explanation);
            }
            out.push_str("Evidence:\n\n");
            for e in &f.evidence {
                let _ = writeln!(out, "- `{}`: {}", e.check, e.summary);
                for l in &e.lines {
                    let _ = writeln!(out, "  - `{}`", l.replace('`', "'"));
                }
            }
            if !f.fixes.is_empty() {
                out.push_str("\nWhat to do:\n\n");
                for (n, fix) in f.fixes.iter().enumerate() {
                    let _ = writeln!(out, "{}. {fix}", n + 1);
                }
            }
            out.push('\n');
        }
        if !d.warnings.is_empty() {
            out.push_str("### Warnings (these do not stop this mail)\n\n");
            for w in &d.warnings {
                let _ = writeln!(out, "- {} (`{}`)", w.title, w.id);
                for e in &w.evidence {
                    let _ = writeln!(out, "  - `{}`: {}", e.check, e.summary);
                }
                if let Some(fix) = w.fixes.first() {
                    let _ = writeln!(out, "  - What to do: {fix}");
                }
            }
            out.push('\n');
        }
        for n in &d.notes {
            let _ = writeln!(out, "> Note ({}): {}\n", n.check, n.text);
        }
        out.push_str("## Checks\n\n| Check | Status | Result | Time |\n|---|---|---|---|\n");
        for o in self.checks {
            let _ = writeln!(
                out,
                "| {} (`{}`) | {} | {} | {} ms |",
                o.title,
                o.id,
                o.status.as_str(),
                md_cell(&o.summary),
                o.duration.as_millis()
            );
        }
        out.push_str("\n## Transcripts\n");
        for o in self.checks.iter().filter(|o| !o.transcript.is_empty()) {
            let _ = writeln!(out, "\n### {} (`{}`)\n\n```", o.title, o.id);
            for l in &o.transcript {
                let _ = writeln!(
                    out,
                    "{:>6} ms {} {}",
                    l.t_ms,
                    arrow(l.dir),
                    l.line.replace("```", "'''")
                );
            }
            out.push_str("```\n");
        }
        let _ = writeln!(
            out,
            "\n_Total time: {} ms. smtp-doctor {}_",
            self.total_ms,
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// Serialized JSON with every character a terminal would obey written as a
/// `\uXXXX` escape. Such characters can only be inside strings (JSON allows
/// nothing but whitespace between tokens), where the escape means the same
/// character: the data is unchanged.
pub fn json_escape_rest(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if crate::printable::needs_escape(c) && c != '\n' {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn arrow(d: Dir) -> &'static str {
    match d {
        Dir::Client => "C:",
        Dir::Server => "S:",
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The diagnosis as text: the most likely cause first, in plain words.
pub fn diagnosis_text(d: &Diagnosis, p: &Paint) -> String {
    let mut out = String::new();
    match (d.verdict, d.causes.first()) {
        (crate::diagnose::Verdict::Ok, _) => {
            let _ = writeln!(
                out,
                "{}",
                p.green("Diagnosis: no problem found: the server accepts this mail.")
            );
        }
        (_, None) => {
            let _ = writeln!(
                out,
                "{}",
                p.red("Diagnosis: a check failed, but no known cause matches the evidence.")
            );
        }
        (_, Some(top)) => {
            let _ = writeln!(out, "{} {}", p.red("Diagnosis:"), p.bold(&pr(&top.title)));
        }
    }
    if let Some(name) = &d.provider_name {
        let _ = writeln!(out, "Provider: {}", pr(name));
    }
    for (i, f) in d.causes.iter().enumerate() {
        out.push('\n');
        out.push_str(&finding_text(i + 1, f, p));
    }
    if !d.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold("Warnings (these do not stop this mail):")
        );
        for w in &d.warnings {
            let _ = writeln!(out, "  - {} [{}]", w.title, w.id);
            for e in &w.evidence {
                let _ = writeln!(
                    out,
                    "      {} {}: {}",
                    p.dim("evidence"),
                    e.check,
                    e.summary
                );
            }
            if let Some(fix) = w.fixes.first() {
                let _ = writeln!(out, "      {} {fix}", p.green("fix:"));
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "\nNote: {}", printable_lines(&n.text));
    }
    out
}

pub fn finding_text(n: usize, f: &Finding, p: &Paint) -> String {
    let mut out = String::new();
    let head = format!(
        "{n}. {} [{}] ({:.0}%)",
        pr(&f.title),
        f.id,
        f.confidence * 100.0
    );
    let _ = writeln!(out, "{}", if n == 1 { p.bold(&head) } else { head });
    if !f.explanation.is_empty() {
        let _ = writeln!(out, "   {}", printable_lines(&f.explanation));
    }
    for e in &f.evidence {
        let _ = writeln!(
            out,
            "   {} {}: {}",
            p.dim("evidence"),
            e.check,
            pr(&e.summary)
        );
        for l in &e.lines {
            let _ = writeln!(out, "      {}", p.dim(&pr(l)));
        }
    }
    for (i, fix) in f.fixes.iter().enumerate() {
        let _ = writeln!(
            out,
            "   {} {}",
            p.green(&format!("fix {}.", i + 1)),
            printable_lines(fix)
        );
    }
    out
}

/// ANSI colours, or nothing.
pub struct Paint(pub bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
    pub fn status(&self, s: Status) -> String {
        match s {
            Status::Pass => self.green("[ ok ]"),
            Status::Warn => self.yellow("[warn]"),
            Status::Fail => self.red("[FAIL]"),
            Status::Skip => self.dim("[skip]"),
            Status::Error => self.red("[ERR ]"),
        }
    }
}
