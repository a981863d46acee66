//! Colours, symbols and borders, and the small text helpers every pane uses.
//!
//! Over SSH the screen may be an old terminal: only the 16 ANSI colours are
//! used, `NO_COLOR` turns colour off (selection and focus then show by
//! reverse video and bold, never by colour alone), and `--ascii` swaps every
//! symbol and border for plain ASCII.
//!
//! The environment decides too ([`Terminal::from_env`]): the terminal
//! library writes even the 16 colours as 256-colour codes (`ESC[38;5;1m`),
//! which a VT100, an unknown `TERM` or no `TERM` at all may not understand,
//! so colour is used only on terminals known to take them (or with
//! `COLORTERM` set). A locale that is not UTF-8 (`LC_ALL=C`, nothing set)
//! gets ASCII, as do the VT terminals. `TERM=dumb` cannot run the screen.

use crate::probe::Status;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};

/// How the screen looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
const SPINNER_ASCII: [&str; 4] = ["|", "/", "-", "\\"];

/// What the terminal and locale can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminal {
    /// `TERM=dumb`: no cursor movement, no screen.
    pub dumb: bool,
    /// Colour codes are understood.
    pub color: bool,
    /// Characters beyond ASCII show (a UTF-8 locale and a terminal that is
    /// not a VT of old).
    pub unicode: bool,
}

/// `TERM` families that take the colour codes the screen writes.
const COLOR_TERMS: [&str; 21] = [
    "xterm",
    "screen",
    "tmux",
    "rxvt",
    "linux",
    "alacritty",
    "kitty",
    "foot",
    "wezterm",
    "vte",
    "gnome",
    "konsole",
    "putty",
    "st-",
    "contour",
    "ghostty",
    "iterm",
    "mintty",
    "cygwin",
    "ms-terminal",
    "eterm",
];

impl Terminal {
    /// From `TERM`, `COLORTERM` and the locale (`LC_ALL`, `LC_CTYPE`,
    /// `LANG`, the first one set wins).
    pub fn from_env() -> Terminal {
        let var = |k: &str| std::env::var(k).ok();
        Terminal::from_vars(
            var("TERM").as_deref(),
            var("COLORTERM").as_deref(),
            [var("LC_ALL"), var("LC_CTYPE"), var("LANG")]
                .into_iter()
                .flatten()
                .find(|v| !v.is_empty())
                .as_deref(),
        )
    }

    pub fn from_vars(
        term: Option<&str>,
        colorterm: Option<&str>,
        locale: Option<&str>,
    ) -> Terminal {
        let term = term.unwrap_or("").trim().to_ascii_lowercase();
        let dumb = term == "dumb";
        let known = COLOR_TERMS.iter().any(|t| term.starts_with(t))
            || term.contains("256color")
            || term.contains("truecolor")
            || term.contains("direct");
        let color =
            !dumb && !term.is_empty() && (known || colorterm.is_some_and(|v| !v.is_empty()));
        let locale = locale.unwrap_or("C").to_ascii_lowercase();
        let utf8 = locale.contains("utf-8") || locale.contains("utf8");
        let unicode = utf8 && !dumb && !term.starts_with("vt");
        Terminal {
            dumb,
            color,
            unicode,
        }
    }
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value or the terminal
    /// does not take colour; ASCII when asked or when the terminal or the
    /// locale cannot show more.
    pub fn from_env(ascii: bool) -> Theme {
        Theme::for_terminal(ascii, Terminal::from_env())
    }

    pub fn for_terminal(ascii: bool, term: Terminal) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme {
            color: term.color && !no_color,
            ascii: ascii || !term.unicode,
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn plain(&self) -> Style {
        Style::new()
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// Help lines and other quiet text.
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red)
    }
    /// Inline validation errors.
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// Lines the client sent.
    pub fn client(&self) -> Style {
        self.fg(Color::Cyan)
    }
    /// Lines the server sent.
    pub fn server(&self) -> Style {
        self.fg(Color::Yellow)
    }
    /// A key name in the key bar.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// The selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// The most likely cause.
    pub fn highlight(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
    pub fn heading(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// The border of the focused pane.
    pub fn focus_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn border_set(&self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::PLAIN
        }
    }

    pub fn status_symbol(&self, s: Status) -> &'static str {
        match (s, self.ascii) {
            (Status::Pass, false) => "✔",
            (Status::Warn, false) => "⚠",
            (Status::Fail, false) => "✖",
            (Status::Skip, false) => "–",
            (Status::Error, false) => "✖",
            (Status::Pass, true) => "+",
            (Status::Warn, true) => "!",
            (Status::Fail, true) => "x",
            (Status::Skip, true) => "-",
            (Status::Error, true) => "E",
        }
    }

    pub fn status_style(&self, s: Status) -> Style {
        match s {
            Status::Pass => self.good(),
            Status::Warn => self.warn(),
            Status::Fail | Status::Error => self.bad().add_modifier(Modifier::BOLD),
            Status::Skip => self.dim(),
        }
    }

    pub fn spinner(&self, tick: usize) -> &'static str {
        if self.ascii {
            SPINNER_ASCII[tick % SPINNER_ASCII.len()]
        } else {
            SPINNER[tick % SPINNER.len()]
        }
    }

    /// A check that has not started yet.
    pub fn pending(&self) -> &'static str {
        if self.ascii { "." } else { "·" }
    }
    /// The marker of the selected row or focused field.
    pub fn pointer(&self) -> &'static str {
        if self.ascii { ">" } else { "▶" }
    }
    pub fn bullet(&self) -> &'static str {
        if self.ascii { "*" } else { "•" }
    }
    pub fn mask(&self) -> char {
        if self.ascii { '*' } else { '•' }
    }
    pub fn ellipsis(&self) -> &'static str {
        if self.ascii { "~" } else { "…" }
    }
    pub fn dot(&self) -> &'static str {
        if self.ascii { "-" } else { "·" }
    }
    pub fn rule(&self) -> &'static str {
        if self.ascii { "-" } else { "─" }
    }
    pub fn up_down(&self) -> &'static str {
        if self.ascii { "j/k" } else { "↑↓" }
    }
    pub fn check_box(&self, on: bool) -> &'static str {
        if on { "[x]" } else { "[ ]" }
    }
    pub fn radio(&self, on: bool) -> &'static str {
        match (on, self.ascii) {
            (true, false) => "(•)",
            (true, true) => "(*)",
            (false, _) => "( )",
        }
    }

    /// Text that comes from elsewhere (catalog texts, server replies,
    /// records, profile files), ready for the screen: control and
    /// bidirectional characters as visible escapes (line feeds stay, the
    /// wrapping breaks lines there), and the symbols this theme cannot show
    /// replaced.
    pub fn text(&self, s: &str) -> String {
        let s = crate::printable::printable_lines(s);
        if !self.ascii || s.is_ascii() {
            return s.into_owned();
        }
        s.chars()
            .map(|c| match c {
                '→' => "->".to_string(),
                '←' => "<-".to_string(),
                '“' | '”' | '„' => "\"".to_string(),
                '‘' | '’' => "'".to_string(),
                '–' | '—' => "-".to_string(),
                '…' => "...".to_string(),
                '•' | '·' => "*".to_string(),
                '×' => "x".to_string(),
                '✔' => "+".to_string(),
                '✖' => "x".to_string(),
                '⚠' => "!".to_string(),
                c if c.is_ascii() => c.to_string(),
                _ => "?".to_string(),
            })
            .collect()
    }
}

/// The last guard before the terminal: a cell whose symbol holds a control
/// or bidirectional character loses it (`?` when nothing else is left), so
/// text that reached a widget without [`Theme::text`] still cannot steer
/// the terminal. Ratatui already drops control characters; the
/// bidirectional ones it would pass on.
pub fn sanitize_buffer(buf: &mut ratatui::buffer::Buffer) {
    use crate::printable::needs_escape;
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(needs_escape) {
            let clean: String = cell
                .symbol()
                .chars()
                .filter(|c| !needs_escape(*c))
                .collect();
            cell.set_symbol(if clean.is_empty() { "?" } else { &clean });
        }
    }
}

/// Display width of a string in terminal cells.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Cuts `s` to at most `max` cells, ending with `ellipsis` when cut.
pub fn truncate(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if w + cw > room {
            break;
        }
        out.push(c);
        w += cw;
    }
    if max >= width(ellipsis) {
        out.push_str(ellipsis);
    }
    out
}

/// Word-wraps `text` to `max` cells; words longer than a line are broken.
/// Newlines in the text start new lines.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0;
        for word in para.split_whitespace() {
            let ww = width(word);
            if w > 0 && w + 1 + ww > max {
                out.push(std::mem::take(&mut line));
                w = 0;
            }
            if ww > max {
                for c in word.chars() {
                    let cw = width(c.encode_utf8(&mut [0; 4]));
                    if w + cw > max {
                        out.push(std::mem::take(&mut line));
                        w = 0;
                    }
                    line.push(c);
                    w += cw;
                }
                continue;
            }
            if w > 0 {
                line.push(' ');
                w += 1;
            }
            line.push_str(word);
            w += ww;
        }
        out.push(line);
    }
    out
}

/// Wraps `text` behind a first-line prefix, indenting the other lines to
/// match: `" 1. "` then `"    "`.
pub fn wrap_prefixed(prefix: &str, text: &str, max: usize, style: Style) -> Vec<Line<'static>> {
    let pw = width(prefix);
    let indent = " ".repeat(pw);
    wrap(text, max.saturating_sub(pw).max(1))
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                prefix.to_string()
            } else {
                indent.clone()
            };
            Line::from(vec![Span::styled(head, style), Span::styled(l, style)])
        })
        .collect()
}

/// A key bar: `key:label key:label …`, cut to the width from the end,
/// but always keeping the last entry (help).
pub fn key_bar(theme: &Theme, keys: &[(&str, &str)], max: usize) -> Line<'static> {
    let entry_width = |k: &str, l: &str| width(k) + 1 + width(l);
    let sep = " ";
    let mut chosen: Vec<usize> = Vec::new();
    let last = keys.len().saturating_sub(1);
    let mut used = keys.last().map(|(k, l)| entry_width(k, l)).unwrap_or(0) + 1;
    for (i, (k, l)) in keys.iter().enumerate().take(last) {
        let w = entry_width(k, l) + sep.len();
        if used + w > max {
            break;
        }
        used += w;
        chosen.push(i);
    }
    if !keys.is_empty() {
        chosen.push(last);
    }
    let mut spans = vec![Span::raw(" ")];
    for (n, i) in chosen.iter().enumerate() {
        if n > 0 {
            spans.push(Span::raw(sep));
        }
        let (k, l) = keys[*i];
        spans.push(Span::styled(k.to_string(), theme.key()));
        spans.push(Span::raw(format!(":{l}")));
    }
    Line::from(spans)
}

/// `12 ms`, `1.4 s`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("hello world", 8, "…"), "hello w…");
        assert_eq!(truncate("short", 8, "…"), "short");
        assert_eq!(truncate("hello world", 8, "~"), "hello w~");
    }

    #[test]
    fn limited_terminals_and_locales_fall_back() {
        let t = |term: Option<&str>, ct: Option<&str>, loc: Option<&str>| {
            let x = Terminal::from_vars(term, ct, loc);
            (x.dumb, x.color, x.unicode)
        };
        let utf8 = Some("en_US.UTF-8");
        assert_eq!(t(Some("xterm-256color"), None, utf8), (false, true, true));
        assert_eq!(
            t(Some("screen"), None, Some("de_DE.utf8")),
            (false, true, true)
        );
        assert_eq!(t(Some("dumb"), None, utf8), (true, false, false));
        // Colour codes the screen writes are 256-colour ones: not for these.
        assert_eq!(t(Some("vt100"), None, utf8), (false, false, false));
        assert_eq!(t(Some("frobnitz"), None, utf8), (false, false, true));
        assert_eq!(t(None, None, utf8), (false, false, true));
        assert_eq!(
            t(Some("frobnitz"), Some("truecolor"), utf8),
            (false, true, true)
        );
        // Not a UTF-8 locale, or none at all: ASCII.
        assert_eq!(
            t(Some("xterm-256color"), None, Some("C")),
            (false, true, false)
        );
        assert_eq!(t(Some("xterm-256color"), None, None), (false, true, false));
        assert_eq!(
            t(Some("xterm"), None, Some("de_DE.ISO-8859-1")),
            (false, true, false)
        );
        let th = Theme::for_terminal(false, Terminal::from_vars(Some("vt100"), None, Some("C")));
        assert!(th.ascii && !th.color);
    }

    #[test]
    fn outside_text_is_made_printable() {
        let t = Theme {
            color: true,
            ascii: false,
        };
        assert_eq!(t.text("a\x1b[2J\u{202e}b\nc"), "a\\x1b[2J\\u{202e}b\nc");
    }

    #[test]
    fn ascii_text_replaces_symbols() {
        let t = Theme {
            color: false,
            ascii: true,
        };
        assert_eq!(t.text("a → b “c” …"), "a -> b \"c\" ...");
    }
}
