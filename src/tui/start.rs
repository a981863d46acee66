//! The start screen: a new check, explaining an error message, and the
//! saved profiles (run, edit, copy, rename, delete).

use super::app::{App, Effect, ListedProfile, Screen};
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

pub fn item_count(app: &App) -> usize {
    FIXED + app.profiles.len()
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

/// The selected profile, when a profile row is selected.
fn selected_profile(app: &App) -> Option<&ListedProfile> {
    match selected(app) {
        Item::Profile(i) => app.profiles.get(i),
        _ => None,
    }
}

pub fn keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut k = vec![(app.theme.up_down(), "move"), ("Enter", "open")];
    if selected_profile(app).is_some() {
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

pub fn new_check(app: &mut App) {
    let w = WizardState::new(&app.defaults);
    app.screen = Screen::Wizard(Box::new(w));
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let count = item_count(app);
    let Screen::Start(st) = &mut app.screen else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => st.selected = st.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => st.selected = (st.selected + 1).min(count - 1),
        KeyCode::Home | KeyCode::Char('g') => st.selected = 0,
        KeyCode::End | KeyCode::Char('G') => st.selected = count - 1,
        KeyCode::Char('q') | KeyCode::Esc => return app.quit(),
        KeyCode::Char('?') => app.help = true,
        KeyCode::Char('n') => new_check(app),
        KeyCode::Enter => match item(st.selected) {
            Item::NewCheck => new_check(app),
            Item::Explain => app.screen = Screen::Explain(ExplainState::default()),
            Item::Profile(i) => return run_profile(app, i),
        },
        KeyCode::Char('e') => {
            if let Some(p) = usable(app) {
                let w = WizardState::edit(&p.settings, Some(p.name.clone()), p.save_password);
                app.screen = Screen::Wizard(Box::new(w));
            }
        }
        KeyCode::Char('c') => {
            if let Some(p) = usable(app) {
                let name = free_name(app, &format!("{} copy", p.name));
                app.modal = Some(Modal::Name(NameDialog::new(
                    NamePurpose::Duplicate,
                    &p.name,
                    &name,
                )));
            }
        }
        KeyCode::Char('r') => {
            if let Some(p) = usable(app) {
                app.modal = Some(Modal::Name(NameDialog::new(
                    NamePurpose::Rename,
                    &p.name,
                    &p.name,
                )));
            }
        }
        KeyCode::Char('d') | KeyCode::Delete => {
            if let Some(p) = selected_profile(app) {
                app.modal = Some(Modal::ConfirmDelete(p.name.clone()));
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The selected profile when it can be read; otherwise says why not.
fn usable(app: &mut App) -> Option<crate::profile::Profile> {
    let listed = selected_profile(app)?;
    match &listed.profile {
        Ok(p) => Some(p.clone()),
        Err(e) => {
            let e = e.clone();
            app.set_flash(e, true);
            None
        }
    }
}

/// A profile name not used yet: `base`, `base 2`, `base 3`…
pub fn free_name(app: &App, base: &str) -> String {
    if app.find_profile(base).is_none() {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base} {n}"))
        .find(|n| app.find_profile(n).is_none())
        .unwrap_or_else(|| base.to_string())
}

fn run_profile(app: &mut App, index: usize) -> Vec<Effect> {
    if app.profiles.get(index).is_none() {
        return Vec::new();
    }
    let Some(p) = usable(app) else {
        return Vec::new();
    };
    if p.settings.auth && p.settings.password.is_empty() {
        app.modal = Some(Modal::Password(PasswordDialog::new(p)));
        return Vec::new();
    }
    let save = p.save_password;
    app.begin_run(p.settings, Some(p.name), save)
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
