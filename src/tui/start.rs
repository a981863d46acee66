//! The start screen: a new check, explaining an error message, and the
//! saved profiles (run, edit, copy, rename, delete).

use super::app::{Action, App, Context, ListedProfile, Screen};
use super::explain::ExplainState;
use super::modal::{Modal, NameDialog, NamePurpose, PasswordDialog};
use super::theme::{Theme, truncate, wrap};
use super::wizard::WizardState;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// Rows before the profiles.
const FIXED: usize = 2;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StartState {
    pub selected: usize,
}

impl StartState {
    pub fn clamp(&mut self, count: usize) {
        self.selected = self.selected.min(count.saturating_sub(1));
    }
}

/// What a row of the start screen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    NewCheck,
    Explain,
    Profile(usize),
}

/// The rows of the start screen with `profiles` saved profiles.
pub fn item_count(profiles: usize) -> usize {
    FIXED + profiles
}

pub fn item(index: usize) -> Item {
    match index {
        0 => Item::NewCheck,
        1 => Item::Explain,
        n => Item::Profile(n - FIXED),
    }
}

fn selected(app: &App) -> Item {
    match &app.screen {
        Screen::Start(s) => item(s.selected),
        _ => Item::NewCheck,
    }
}

pub fn help() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Up/Down, j/k", "Move between the rows"),
        (
            "Enter",
            "Open the row: start a new check, explain an error, or run a saved profile",
        ),
        ("n", "Start a new check"),
        ("e", "Edit the selected profile's settings"),
        ("c", "Copy the selected profile under a new name"),
        ("r", "Rename the selected profile"),
        ("d / Delete", "Delete the selected profile (asks first)"),
        ("F1 / ?", "This help"),
        ("q / Ctrl-C", "Quit"),
    ]
}

/// The wizard for a new check, starting from the environment's defaults.
fn new_check(ctx: &Context) -> Action {
    Action::GoTo(Screen::Wizard(Box::new(WizardState::new(ctx.defaults))))
}

impl StartState {
    /// The selected profile, when a profile row is selected.
    fn selected_profile<'a>(&self, ctx: &'a Context) -> Option<&'a ListedProfile> {
        match item(self.selected) {
            Item::Profile(i) => ctx.profiles.get(i),
            _ => None,
        }
    }

    pub fn keys(&self, ctx: &Context) -> Vec<(&'static str, &'static str)> {
        let mut k = vec![(ctx.theme.up_down(), "move"), ("Enter", "open")];
        if self.selected_profile(ctx).is_some() {
            k.extend([
                ("e", "edit"),
                ("c", "copy"),
                ("r", "rename"),
                ("d", "delete"),
            ]);
        }
        k.extend([("n", "new check"), ("q", "quit"), ("?", "help")]);
        k
    }

    pub fn on_key(&mut self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        let count = item_count(ctx.profiles.len());
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(count - 1)
            }
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = count - 1,
            KeyCode::Char('q') | KeyCode::Esc => return vec![Action::Quit],
            KeyCode::Char('?') => return vec![Action::Help],
            KeyCode::Char('n') => return vec![new_check(ctx)],
            KeyCode::Enter => return self.open(ctx),
            _ => return self.profile_key(ctx, key),
        }
        Vec::new()
    }

    /// Enter: open the selected row.
    fn open(&self, ctx: &Context) -> Vec<Action> {
        match item(self.selected) {
            Item::NewCheck => vec![new_check(ctx)],
            Item::Explain => vec![Action::GoTo(Screen::Explain(ExplainState::default()))],
            Item::Profile(i) => self.run_profile(ctx, i),
        }
    }

    /// The keys that act on the selected profile: edit, copy, rename, delete.
    fn profile_key(&self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        if matches!(key.code, KeyCode::Char('d') | KeyCode::Delete) {
            return self
                .selected_profile(ctx)
                .map(|p| Action::OpenModal(Modal::ConfirmDelete(p.name.clone())))
                .into_iter()
                .collect();
        }
        if !matches!(key.code, KeyCode::Char('e' | 'c' | 'r')) {
            return Vec::new();
        }
        let p = match self.usable(ctx) {
            Some(Ok(p)) => p,
            Some(Err(flash)) => return vec![flash],
            None => return Vec::new(),
        };
        let action = match key.code {
            KeyCode::Char('e') => {
                let w = WizardState::edit(&p.settings, Some(p.name.clone()), p.save_password);
                Action::GoTo(Screen::Wizard(Box::new(w)))
            }
            KeyCode::Char('c') => {
                let name = free_name(ctx, &format!("{} copy", p.name));
                let d = NameDialog::new(NamePurpose::Duplicate, &p.name, &name);
                Action::OpenModal(Modal::Name(d))
            }
            _ => {
                let d = NameDialog::new(NamePurpose::Rename, &p.name, &p.name);
                Action::OpenModal(Modal::Name(d))
            }
        };
        vec![action]
    }

    /// The selected profile when it can be read, or the message that says
    /// why not; `None` when no profile row is selected.
    fn usable(&self, ctx: &Context) -> Option<Result<crate::profile::Profile, Action>> {
        let listed = self.selected_profile(ctx)?;
        Some(match &listed.profile {
            Ok(p) => Ok(p.clone()),
            Err(e) => Err(Action::Flash(e.clone(), true)),
        })
    }

    /// Runs a profile, asking first for a password it does not keep.
    fn run_profile(&self, ctx: &Context, index: usize) -> Vec<Action> {
        if ctx.profiles.get(index).is_none() {
            return Vec::new();
        }
        let p = match self.usable(ctx) {
            Some(Ok(p)) => p,
            Some(Err(flash)) => return vec![flash],
            None => return Vec::new(),
        };
        if p.settings.auth && p.settings.password.is_empty() {
            return vec![Action::OpenModal(Modal::Password(PasswordDialog::new(p)))];
        }
        vec![Action::Run {
            save_password: p.save_password,
            settings: p.settings,
            profile: Some(p.name),
        }]
    }
}

/// A profile name not used yet: `base`, `base 2`, `base 3`…
pub fn free_name(ctx: &Context, base: &str) -> String {
    if ctx.find_profile(base).is_none() {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base} {n}"))
        .find(|n| ctx.find_profile(n).is_none())
        .unwrap_or_else(|| base.to_string())
}

pub fn header(theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(" smtp-doctor", theme.heading()),
        Span::raw(format!(
            " {} find out why a mail client or device cannot send mail",
            theme.dot()
        )),
    ])
}

/// Start screen layout.
///
/// ```text
/// ┌ What would you like to do? ─────────────────────────┐
/// │ ▶ New check          test an outgoing server        │
/// │   Explain an error   paste a bounce or message      │
/// │                                                     │
/// │ Saved profiles                                      │
/// │   office   smtp.example.com:587 STARTTLS  alice@…   │  list (scrolls)
/// │ ─────────────────────────────────────────────────── │
/// │ about the selected row (path, damage, what it does) │  about (4 rows)
/// └─────────────────────────────────────────────────────┘
/// ```
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.border())
        .title(Span::styled(" What would you like to do? ", theme.bold()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [list, rule, about] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(4),
    ])
    .areas(inner);
    render_list(app, frame, list);
    frame.render_widget(
        Paragraph::new(Span::styled(
            theme.rule().repeat(rule.width as usize),
            theme.border(),
        )),
        rule,
    );
    render_about(app, frame, about);
}

fn render_list(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let sel = match &app.screen {
        Screen::Start(s) => s.selected,
        _ => 0,
    };
    let w = area.width as usize;
    let row = |index: usize, label: String, rest: String, error: bool| {
        let chosen = index == sel;
        let pointer = if chosen { theme.pointer() } else { " " };
        let text = format!(" {pointer} {label}");
        let label_w = 23.min(w / 2);
        let text = format!("{:<label_w$} ", truncate(&text, label_w, theme.ellipsis()));
        let rest = truncate(&rest, w.saturating_sub(label_w + 1), theme.ellipsis());
        let style = if chosen {
            theme.selected()
        } else {
            theme.plain()
        };
        let rest_style = if chosen {
            theme.selected()
        } else if error {
            theme.bad()
        } else {
            theme.dim()
        };
        let pad = w.saturating_sub(super::theme::width(&text) + super::theme::width(&rest));
        Line::from(vec![
            Span::styled(text, style.patch(theme.bold())),
            Span::styled(rest, rest_style),
            Span::styled(" ".repeat(pad), style),
        ])
    };
    let mut lines = vec![
        row(
            0,
            "New check".into(),
            "test an outgoing mail server".into(),
            false,
        ),
        row(
            1,
            "Explain an error".into(),
            "paste a bounce or error message".into(),
            false,
        ),
        Line::raw(""),
        Line::styled(" Saved profiles", theme.heading()),
    ];
    let header_rows = lines.len();
    if let Some(e) = &app.profiles_error {
        lines.push(Line::styled(
            format!("    {}", truncate(e, w.saturating_sub(4), theme.ellipsis())),
            theme.bad(),
        ));
    } else if app.profiles.is_empty() {
        lines.push(Line::styled(
            "    None yet. Run a check, then press s to save it as a profile.",
            theme.dim(),
        ));
    }
    for (i, p) in app.profiles.iter().enumerate() {
        let (rest, bad) = match &p.profile {
            Ok(p) => {
                let s = &p.settings;
                let mut r = format!("{}:{} {}", s.server_name(), s.port, s.security.label());
                if !s.account.is_empty() {
                    r.push_str(&format!("  {}", s.account));
                }
                (r, false)
            }
            Err(_) => ("damaged: see below".to_string(), true),
        };
        let label = if bad {
            format!(
                "{} {}",
                theme.status_symbol(crate::probe::Status::Warn),
                p.name
            )
        } else {
            p.name.clone()
        };
        lines.push(row(FIXED + i, label, rest, bad));
    }
    // Keep the selected row in view.
    let height = area.height as usize;
    let sel_line = if sel < FIXED {
        sel
    } else {
        header_rows + (sel - FIXED)
    };
    let top = (sel_line + 1).saturating_sub(height);
    let shown: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(shown), area);
}

fn render_about(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let w = area.width.saturating_sub(2) as usize;
    let (text, style) = match selected(app) {
        Item::NewCheck => (
            "Answer a few questions (your email address, the outgoing server, the login), then smtp-doctor checks the server step by step and tells you what to change. Nothing is sent.".to_string(),
            theme.dim(),
        ),
        Item::Explain => (
            "Paste the error message your mail program or device showed, or a bounce, and see what it means and what to do.".to_string(),
            theme.dim(),
        ),
        Item::Profile(i) => match app.profiles.get(i) {
            Some(ListedProfile {
                profile: Ok(p),
                path,
                ..
            }) => (
                format!(
                    "Enter runs the checks again with these settings. Password: {}. File: {}",
                    if p.save_password {
                        "saved in the profile"
                    } else if p.settings.auth {
                        "asked for when you run it"
                    } else {
                        "not needed"
                    },
                    path.display()
                ),
                theme.dim(),
            ),
            Some(ListedProfile {
                profile: Err(e), ..
            }) => (e.clone(), theme.bad()),
            None => (String::new(), theme.dim()),
        },
    };
    let lines: Vec<Line> = wrap(&theme.text(&text), w)
        .into_iter()
        .take(area.height as usize)
        .map(|l| Line::styled(format!(" {l}"), style))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
