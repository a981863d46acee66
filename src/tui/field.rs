//! A one-line text field: the value, a cursor, and the editing keys every
//! shell user expects (arrows, Home/End, Backspace/Delete, Ctrl-A/E/U/K/W).

use super::theme::{Theme, width};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Longest value a field takes (addresses and host names are far shorter).
const MAX_LEN: usize = 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextField {
    value: String,
    /// Cursor position in characters.
    cursor: usize,
}

impl TextField {
    pub fn new(value: impl Into<String>) -> TextField {
        let value: String = value.into();
        let cursor = value.chars().count();
        TextField { value, cursor }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn set(&mut self, value: impl Into<String>) {
        *self = TextField::new(value);
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_idx)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }

    fn len(&self) -> usize {
        self.value.chars().count()
    }

    /// Inserts text at the cursor (pasted text: line breaks become spaces).
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            let c = if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            };
            if c.is_control() || self.value.len() >= MAX_LEN {
                continue;
            }
            let at = self.byte_at(self.cursor);
            self.value.insert(at, c);
            self.cursor += 1;
        }
    }

    /// Handles an editing key. Returns whether the key was an editing key.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                let mut b = [0; 4];
                self.insert_str(c.encode_utf8(&mut b));
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.len(),
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.value.replace_range(..at, "");
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.value.truncate(at);
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.value.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.value.replace_range(a..b, "");
                self.cursor = start;
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    let at = self.byte_at(self.cursor);
                    self.value.remove(at);
                }
            }
            KeyCode::Delete => {
                if self.cursor < self.len() {
                    let at = self.byte_at(self.cursor);
                    self.value.remove(at);
                }
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            _ => return false,
        }
        true
    }

    /// The visible part of the field in `cols` cells, and the cursor's
    /// column within it. The view scrolls so the cursor stays visible.
    /// `mask` replaces every character (passwords).
    pub fn view(&self, cols: usize, mask: Option<char>) -> (String, usize) {
        let shown: Vec<char> = match mask {
            Some(m) => std::iter::repeat_n(m, self.len()).collect(),
            None => self.value.chars().collect(),
        };
        let cols = cols.max(1);
        let cw = |c: &char| width(c.encode_utf8(&mut [0; 4]));
        // First visible character: the cursor must fit in the last column.
        let mut start = 0;
        loop {
            let before: usize = shown[start..self.cursor].iter().map(cw).sum();
            if before < cols || start >= self.cursor {
                break;
            }
            start += 1;
        }
        let mut out = String::new();
        let mut w = 0;
        for c in &shown[start..] {
            let x = cw(c);
            if w + x > cols {
                break;
            }
            out.push(*c);
            w += x;
        }
        let cursor_col = shown[start..self.cursor].iter().map(cw).sum();
        (out, cursor_col)
    }

    /// The field as a line of `cols` cells (padded), for a box drawn around it.
    pub fn line(
        &self,
        theme: &Theme,
        cols: usize,
        mask: bool,
        style: Style,
    ) -> (Line<'static>, usize) {
        let (text, cursor) = self.view(cols, mask.then(|| theme.mask()));
        let pad = cols.saturating_sub(width(&text));
        (
            Line::from(vec![
                Span::styled(text, style),
                Span::styled(" ".repeat(pad), style),
            ]),
            cursor,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut f = TextField::new("alice@example.com");
        f.handle(key(KeyCode::Home));
        f.handle(key(KeyCode::Char('x')));
        assert_eq!(f.value(), "xalice@example.com");
        f.handle(key(KeyCode::Delete));
        assert_eq!(f.value(), "xlice@example.com");
        f.handle(key(KeyCode::Backspace));
        assert_eq!(f.value(), "lice@example.com");
        f.handle(key(KeyCode::End));
        f.handle(ctrl('w'));
        assert_eq!(f.value(), "");
        f.insert_str("a b\nc");
        assert_eq!(f.value(), "a b c");
        f.handle(key(KeyCode::Left));
        f.handle(ctrl('k'));
        assert_eq!(f.value(), "a b ");
        f.handle(ctrl('u'));
        assert_eq!(f.value(), "");
    }

    #[test]
    fn view_scrolls_to_the_cursor_and_masks() {
        let f = TextField::new("abcdefghij");
        assert_eq!(f.view(5, None), ("ghij".to_string(), 4));
        let mut g = f.clone();
        g.handle(key(KeyCode::Home));
        assert_eq!(g.view(5, None), ("abcde".to_string(), 0));
        assert_eq!(TextField::new("pw").view(5, Some('*')), ("**".into(), 2));
    }
}
