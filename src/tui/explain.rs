//! "Explain an error message": paste a bounce, an error dialog's text or a
//! log line, and the likely causes with their fixes appear below as you
//! type. The explanation is the engine's `explain`, the same as
//! `smtp-doctor explain`.

use super::app::{App, Effect, Screen};
use super::dashboard::finding_lines;
use super::theme::{Theme, width, wrap};
use crate::diagnose::Finding;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

/// Longest text taken (a pasted bounce with headers fits easily).
const MAX_TEXT: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct ExplainState {
    pub text: String,
    pub results: Vec<Finding>,
    pub scroll: usize,
}

impl ExplainState {
    fn changed(&mut self) {
        self.results = crate::explain::explain(&self.text);
        self.scroll = 0;
    }

    pub fn paste(&mut self, text: &str) {
        let room = MAX_TEXT.saturating_sub(self.text.len());
        let take: String = text
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| *c == '\n' || !c.is_control())
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

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Screen::Explain(e) = &mut app.screen else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => app.screen = Screen::Start(Default::default()),
        KeyCode::Char('u') if ctrl => {
            e.text.clear();
            e.changed();
        }
        KeyCode::Char('w') if ctrl => {
            let trimmed = e.text.trim_end().len();
            e.text.truncate(trimmed);
            let cut = e
                .text
                .rfind(char::is_whitespace)
                .map(|i| i + 1)
                .unwrap_or(0);
            e.text.truncate(cut);
            e.changed();
        }
        KeyCode::Char(c) if !ctrl => e.paste(c.encode_utf8(&mut [0; 4])),
        KeyCode::Enter => e.paste("\n"),
        KeyCode::Backspace => {
            e.text.pop();
            e.changed();
        }
        KeyCode::PageDown | KeyCode::Down => {
            e.scroll += if key.code == KeyCode::Down { 1 } else { 5 }
        }
        KeyCode::PageUp | KeyCode::Up => {
            e.scroll = e
                .scroll
                .saturating_sub(if key.code == KeyCode::Up { 1 } else { 5 })
        }
        _ => {}
    }
    Vec::new()
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
    if e.text.trim().is_empty() {
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
