//! "Explain an error message": paste a bounce, an error dialog's text or a
//! log line, and the likely causes with their fixes appear below as you
//! type. The explanation is the engine's `explain`, the same as
//! `smtp-doctor explain`.
//!
//! A single line naming a log file (`/var/log/mail.log`, `@mail.log`)
//! triages that whole log instead, as `smtp-doctor explain --log` does: the
//! scan runs off the UI loop and its ranked table appears below; Enter on
//! a row opens that cause's explanation with example lines.

use super::app::{Action, App, Effect, Screen};
use super::finding::finding_lines;
use super::theme::{Theme, width, wrap};
use crate::diagnose::Finding;
use crate::logscan::Triage;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};
use std::path::PathBuf;

/// Longest text taken (a pasted bounce with headers fits easily).
const MAX_TEXT: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct ExplainState {
    pub text: String,
    pub results: Vec<Finding>,
    pub scroll: usize,
    /// The log triage of the file the text names, when it names one.
    pub log: Option<LogView>,
    /// Number of the latest triage asked for; older answers are dropped.
    pub log_id: u64,
    /// A triage to start (taken by [`ExplainState::take_effects`]).
    want_log: Option<PathBuf>,
}

/// The log triage shown on the explain screen.
#[derive(Debug)]
pub enum LogView {
    Running(String),
    Failed(String),
    Done {
        path: String,
        triage: Box<Triage>,
        selected: usize,
        open: bool,
    },
}

/// The log file a text names: one line that, without a leading `@`, is an
/// existing regular file (a pipe or directory is never opened here).
fn log_path(text: &str) -> Option<PathBuf> {
    let line = text.trim();
    if line.is_empty() || line.contains('\n') {
        return None;
    }
    let name = line.strip_prefix('@').unwrap_or(line);
    let path = PathBuf::from(name);
    std::fs::metadata(&path)
        .is_ok_and(|m| m.is_file())
        .then_some(path)
}

impl ExplainState {
    fn changed(&mut self) {
        self.results = crate::explain::explain(&self.text);
        self.scroll = 0;
        let path = log_path(&self.text);
        let shown = match &self.log {
            Some(LogView::Running(p) | LogView::Failed(p)) => Some(p.clone()),
            Some(LogView::Done { path, .. }) => Some(path.clone()),
            None => None,
        };
        match path {
            Some(p) if shown.as_deref() != Some(&p.display().to_string()) => {
                self.log_id += 1;
                self.log = Some(LogView::Running(p.display().to_string()));
                self.want_log = Some(p);
            }
            Some(_) => {}
            None => {
                if self.log.is_some() {
                    self.log_id += 1;
                }
                self.log = None;
                self.want_log = None;
            }
        }
    }

    fn log_done(&mut self) -> Option<(&Triage, &mut usize, &mut bool)> {
        match &mut self.log {
            Some(LogView::Done {
                triage,
                selected,
                open,
                ..
            }) => Some((triage, selected, open)),
            _ => None,
        }
    }

    pub fn paste(&mut self, text: &str) {
        let room = MAX_TEXT.saturating_sub(self.text.len());
        // Terminals send a pasted line break as a bare CR: clean_paste
        // keeps it as a line break (a bounce's lines must not run together).
        let take: String = crate::explain::clean_paste(text)
            .chars()
            .scan(0, |n, c| {
                *n += c.len_utf8();
                (*n <= room).then_some(c)
            })
            .collect();
        self.text.push_str(&take);
        self.changed();
    }
}

pub fn keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("type/paste", "text"),
        ("PgUp/PgDn", "scroll"),
        ("Ctrl-U", "clear"),
        ("Esc", "back"),
        ("F1", "help"),
    ]
}

pub fn help() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "Paste",
            "Your terminal's paste (often Ctrl-Shift-V or a right click)",
        ),
        ("Enter", "A new line"),
        ("Backspace", "Delete the last character"),
        ("Ctrl-W / Ctrl-U", "Delete the last word / everything"),
        ("PgUp/PgDn", "Scroll the explanation"),
        ("Esc", "Back to the start screen"),
        ("F1", "This help"),
        ("Ctrl-C", "Quit"),
    ]
}

impl ExplainState {
    /// A key on the explain screen: the triage table's keys first (when a
    /// log was triaged), then the text's.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if self.table_key(key) {
            return Vec::new();
        }
        if key.code == KeyCode::Esc {
            return vec![Action::GoTo(Screen::Start(Default::default()))];
        }
        self.text_key(key);
        self.take_effects()
            .into_iter()
            .map(Action::Effect)
            .collect()
    }

    /// Moves in or opens the triage table; whether the key was used.
    fn table_key(&mut self, key: KeyEvent) -> bool {
        let Some((triage, selected, open)) = self.log_done() else {
            return false;
        };
        let rows = triage.causes.len();
        match key.code {
            KeyCode::Enter if rows > 0 => *open = !*open,
            KeyCode::Esc if *open => *open = false,
            KeyCode::Down if !*open => {
                *selected = (*selected + 1).min(rows.saturating_sub(1));
                return true;
            }
            KeyCode::Up if !*open => {
                *selected = selected.saturating_sub(1);
                return true;
            }
            _ => return false,
        }
        self.scroll = 0;
        true
    }

    /// Edits the text or scrolls the explanation.
    fn text_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.text.clear();
                self.changed();
            }
            KeyCode::Char('w') if ctrl => {
                let trimmed = self.text.trim_end().len();
                self.text.truncate(trimmed);
                let cut = self
                    .text
                    .rfind(char::is_whitespace)
                    .map(|i| i + 1)
                    .unwrap_or(0);
                self.text.truncate(cut);
                self.changed();
            }
            KeyCode::Char(c) if !ctrl => self.paste(c.encode_utf8(&mut [0; 4])),
            KeyCode::Enter => self.paste("\n"),
            KeyCode::Backspace => {
                self.text.pop();
                self.changed();
            }
            KeyCode::PageDown | KeyCode::Down => {
                self.scroll += if key.code == KeyCode::Down { 1 } else { 5 }
            }
            KeyCode::PageUp | KeyCode::Up => {
                self.scroll =
                    self.scroll
                        .saturating_sub(if key.code == KeyCode::Up { 1 } else { 5 })
            }
            _ => {}
        }
    }

    /// The triage this screen wants started, if any.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        match self.want_log.take() {
            Some(path) => vec![Effect::TriageLog {
                id: self.log_id,
                path,
            }],
            None => Vec::new(),
        }
    }

    /// A triage finished; shown when it is still the one asked for.
    /// Whether the screen changed.
    pub fn triaged(&mut self, id: u64, result: Result<Box<Triage>, String>) -> bool {
        if id != self.log_id {
            return false;
        }
        let Some(LogView::Running(path)) = self.log.take() else {
            return false;
        };
        self.log = Some(match result {
            Ok(triage) => LogView::Done {
                path,
                triage,
                selected: 0,
                open: false,
            },
            Err(err) => LogView::Failed(err),
        });
        self.scroll = 0;
        true
    }
}

/// Lines of the log triage view.
fn log_lines(theme: &Theme, view: &LogView, cols: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let dim = |text: &str, lines: &mut Vec<Line<'static>>| {
        for l in wrap(&theme.text(text), cols) {
            lines.push(Line::styled(l, theme.dim()));
        }
    };
    match view {
        LogView::Running(path) => dim(&format!("Reading the log {path}…"), &mut lines),
        LogView::Failed(err) => dim(err, &mut lines),
        LogView::Done {
            path,
            triage: t,
            selected,
            open,
        } => {
            dim(
                &format!(
                    "{path}: {} lines read, {} refusals found, {} recognized, {} not understood.",
                    t.lines, t.findings, t.classified, t.not_understood.count
                ),
                &mut lines,
            );
            if t.skipped.long_lines + t.skipped.binary_lines > 0 {
                dim(
                    &format!(
                        "Skipped {} over-long and {} binary lines.",
                        t.skipped.long_lines, t.skipped.binary_lines
                    ),
                    &mut lines,
                );
            }
            for w in &t.warnings {
                dim(w, &mut lines);
            }
            lines.push(Line::raw(""));
            if let (true, Some(r)) = (*open, t.causes.get(*selected))
                && let Some(id) = crate::cause::CauseId::parse(&r.cause)
            {
                let f = Finding {
                    id,
                    title: r.title.clone(),
                    explanation: r.explanation.clone(),
                    confidence: f64::from(r.confidence),
                    evidence: Vec::new(),
                    fixes: r.fixes.clone(),
                };
                lines.push(Line::styled(
                    format!("{} times, first {}, last {}", r.count, r.first, r.last),
                    theme.bold(),
                ));
                for (label, list) in [
                    ("client IPs", &r.client_ips),
                    ("SASL users", &r.users),
                    ("sender domains", &r.sender_domains),
                    ("recipient domains", &r.recipient_domains),
                ] {
                    if !list.is_empty() {
                        let items: Vec<String> = list
                            .iter()
                            .map(|c| format!("{} ({})", c.value, c.count))
                            .collect();
                        dim(&format!("{label}: {}", items.join(", ")), &mut lines);
                    }
                }
                lines.extend(finding_lines(theme, &f, cols, true));
                lines.push(Line::styled("Example lines:", theme.heading()));
                for ex in &r.examples {
                    dim(ex, &mut lines);
                }
                return lines;
            }
            if t.causes.is_empty() {
                dim(
                    "No refusal smtp-doctor recognizes was found in this log.",
                    &mut lines,
                );
            }
            for (i, r) in t.causes.iter().enumerate() {
                let style = if i == *selected {
                    theme.highlight()
                } else {
                    Style::new()
                };
                let pointer = if i == *selected { theme.pointer() } else { " " };
                lines.push(Line::styled(
                    theme.text(&format!(
                        "{pointer} {:>7}  {:<26} {}",
                        r.count, r.cause, r.title
                    )),
                    style,
                ));
            }
            if t.not_understood.count > 0 {
                lines.push(Line::raw(""));
                dim(
                    &format!("Not understood ({}):", t.not_understood.count),
                    &mut lines,
                );
                for ex in &t.not_understood.examples {
                    dim(ex, &mut lines);
                }
            }
        }
    }
    lines
}

pub fn header(theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(" smtp-doctor", theme.heading()),
        Span::raw(format!(" {} ", theme.dot())),
        Span::styled("Explain an error message", theme.bold()),
    ])
}

/// Explain screen layout.
///
/// ```text
/// ┌ Paste or type the error message ───────────┐
/// │ 554 5.7.1 <bob@example.net>: Relay access… │  the end of the text
/// └────────────────────────────────────────────┘
/// ┌ What it means ─────────────────────────────┐
/// │ ▶ most likely cause, fixes, why            │  scrolls
/// └────────────────────────────────────────────┘
/// ```
pub fn render(app: &App, e: &ExplainState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let [top, bottom] = Layout::vertical([Constraint::Length(7), Constraint::Min(3)]).areas(area);
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.focus_border())
        .title(Span::styled(
            " Paste or type the error message ",
            theme.bold(),
        ));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let cols = inner.width.saturating_sub(2).max(1) as usize;
    // Wrap keeping the text's line breaks; show the end, where the cursor is.
    let mut rows: Vec<String> = Vec::new();
    for para in e.text.split('\n') {
        rows.extend(wrap(&theme.text(para), cols));
    }
    let h = inner.height as usize;
    let start = rows.len().saturating_sub(h);
    let shown: Vec<Line> = rows[start..]
        .iter()
        .map(|r| Line::raw(format!(" {r}")))
        .collect();
    let last_w = rows.last().map(|r| width(r)).unwrap_or(0);
    let cursor_row = rows.len().saturating_sub(1).saturating_sub(start);
    frame.render_widget(Paragraph::new(shown), inner);
    frame.set_cursor_position(Position::new(
        inner.x + 1 + last_w.min(cols) as u16,
        inner.y + cursor_row as u16,
    ));

    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.border())
        .padding(Padding::left(1))
        .title(Span::styled(" What it means ", theme.bold()));
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let cols = inner.width.saturating_sub(1) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(view) = &e.log {
        lines = log_lines(theme, view, cols);
    } else if e.text.trim().is_empty() {
        for l in wrap(
            "Paste the message your mail program, device or website showed, or a bounce you received, for example \"554 5.7.1 <bob@example.net>: Relay access denied\". The likely causes and what to do appear here.",
            cols,
        ) {
            lines.push(Line::styled(l, theme.dim()));
        }
    } else if e.results.is_empty() {
        for l in wrap(
            "No known cause matches this text yet. smtp-doctor recognizes SMTP replies (like \"554 5.7.1 Relay access denied\"), bounces and mail server log lines: paste the whole message. To test the server itself, go back (Esc) and start a new check.",
            cols,
        ) {
            lines.push(Line::styled(l, theme.dim()));
        }
    } else {
        for (i, f) in e.results.iter().enumerate() {
            if i == 1 {
                lines.push(Line::raw(""));
                lines.push(Line::styled("Other possible causes", theme.heading()));
            }
            lines.extend(finding_lines(theme, f, cols, i == 0));
        }
    }
    let h = inner.height as usize;
    let top = e.scroll.min(lines.len().saturating_sub(h));
    let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
