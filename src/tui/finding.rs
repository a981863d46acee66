//! One finding drawn as lines: the cause in a title bar, what to do, why,
//! and the evidence. The dashboard's diagnosis and the explain screen show
//! findings alike, so both draw them here.

use super::theme::{Theme, wrap_prefixed};
use crate::diagnose::Finding;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The lines of one finding: its fixes first, then why.
pub fn finding_lines(theme: &Theme, f: &Finding, cols: usize, top: bool) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let title_style = if top { theme.highlight() } else { theme.bold() };
    let pointer = format!("{} ", theme.pointer());
    for l in wrap_prefixed(&pointer, &theme.text(&f.title), cols, title_style) {
        // Pad the highlighted title to the full width so it reads as a bar.
        let w = l.width();
        let mut spans = l.spans;
        if top && w < cols {
            spans.push(Span::styled(" ".repeat(cols - w), title_style));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled(
        format!(
            "  {} {} {:.0}% sure",
            f.id,
            theme.dot(),
            f.confidence * 100.0
        ),
        theme.dim(),
    ));
    if !f.fixes.is_empty() {
        lines.push(Line::styled("What to do:", theme.heading()));
        for (n, fix) in f.fixes.iter().enumerate() {
            lines.extend(wrap_prefixed(
                &format!(" {}. ", n + 1),
                &theme.text(fix),
                cols,
                Style::new(),
            ));
        }
    }
    if !f.explanation.is_empty() {
        lines.push(Line::styled("Why:", theme.heading()));
        lines.extend(wrap_prefixed(
            " ",
            &theme.text(&f.explanation),
            cols,
            Style::new(),
        ));
    }
    for e in &f.evidence {
        lines.extend(wrap_prefixed(
            &format!(" {} ", theme.bullet()),
            &theme.text(&format!("{}: {}", e.check, e.summary)),
            cols,
            theme.dim(),
        ));
        for l in &e.lines {
            lines.extend(wrap_prefixed("     ", &theme.text(l), cols, theme.dim()));
        }
    }
    lines
}
