//! The frame around every screen: the title line, the screen, a message
//! line when there is one, the key bar, then dialogs and the help overlay.

use super::app::{App, Screen};
use super::modal::{self, centered};
use super::theme::{key_bar, width, wrap};
use super::{dashboard, explain, start, wizard};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Screen layout, the same for every screen.
///
/// ```text
///  smtp-doctor · what is on screen            status   title (1 row)
/// ┌──────────────────────────────────────────────────┐
/// │ the screen                                       │
/// └──────────────────────────────────────────────────┘
///  Saved profile "office" to …                          message (0-3 rows)
///  ↑↓:move Tab:pane … ?:help                            key bar (1 row)
/// ```
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = &app.theme;
    let flash_lines: Vec<String> = app
        .flash
        .as_ref()
        .map(|f| wrap(&theme.text(&f.text), area.width.saturating_sub(2) as usize))
        .unwrap_or_default()
        .into_iter()
        .take(3)
        .collect();
    let [head, body, flash, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(flash_lines.len() as u16),
        Constraint::Length(1),
    ])
    .areas(area);
    let cols = area.width as usize;
    let header = match &app.screen {
        Screen::Start(_) => start::header(theme),
        Screen::Wizard(w) => wizard::header(w, theme),
        Screen::Dashboard(d) => dashboard::header(d, theme, cols),
        Screen::Explain(_) => explain::header(theme),
    };
    frame.render_widget(Paragraph::new(header), head);
    match &app.screen {
        Screen::Start(_) => start::render(app, frame, body),
        Screen::Wizard(w) => wizard::render(app, w, frame, body),
        Screen::Dashboard(d) => dashboard::render(app, d, frame, body),
        Screen::Explain(e) => explain::render(app, e, frame, body),
    }
    if let Some(f) = &app.flash {
        let style = if f.error { theme.error() } else { theme.good() };
        let lines: Vec<Line> = flash_lines
            .iter()
            .map(|l| Line::styled(format!(" {l}"), style))
            .collect();
        frame.render_widget(Paragraph::new(lines), flash);
    }
    frame.render_widget(Paragraph::new(key_bar(theme, &app.keys(), cols)), keys);
    if let Some(m) = &app.modal {
        modal::render(app, m, frame);
    }
    if app.help {
        render_help(app, frame, area);
    }
}

/// The full list of the current screen's keys.
fn render_help(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let entries = match &app.screen {
        Screen::Start(_) => start::help(),
        Screen::Wizard(_) => wizard::help(),
        Screen::Dashboard(_) => dashboard::help(),
        Screen::Explain(_) => explain::help(),
    };
    let cols = area.width.saturating_sub(6).min(74);
    let key_w = entries.iter().map(|(k, _)| width(k)).max().unwrap_or(0) + 2;
    let mut lines: Vec<Line> = Vec::new();
    for (k, d) in &entries {
        for (i, l) in wrap(d, (cols as usize).saturating_sub(key_w + 2))
            .into_iter()
            .enumerate()
        {
            let key = if i == 0 { *k } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {key:<key_w$}"), theme.key()),
                Span::raw(l),
            ]));
        }
    }
    lines.push(Line::raw(""));
    for l in wrap(
        "Colours off: set NO_COLOR=1. Plain ASCII: smtp-doctor --ascii. Any key closes this help.",
        (cols as usize).saturating_sub(2),
    ) {
        lines.push(Line::styled(format!(" {l}"), theme.dim()));
    }
    let rect = centered(area, cols + 2, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.focus_border())
        .title(Span::styled(" Keys ", theme.bold()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(lines), inner);
}
