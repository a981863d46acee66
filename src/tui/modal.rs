//! Dialogs over the screen: save as profile, rename or copy a profile,
//! confirm a delete, ask for a password that is not saved, export the
//! report or the settings for the user's mail program.

use super::app::{Action, App, Context, Effect, ListedProfile};
use super::field::TextField;
use super::theme::{Theme, width, wrap};
use crate::clientconf::{self, Client, Options};
use crate::profile::{Profile, check_name};
use crate::report::Format;
use crate::settings::{Password, Settings};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

#[derive(Debug)]
pub enum Modal {
    Save(SaveDialog),
    Name(NameDialog),
    ConfirmDelete(String),
    Password(PasswordDialog),
    Export(ExportDialog),
}

/// The export dialog: the report (Markdown or JSON), or the settings for
/// the user's mail program (`config --client`), chosen from a list.
#[derive(Debug)]
pub struct ExportDialog {
    /// The run's settings without the password: nothing this dialog
    /// writes can hold it.
    pub settings: Settings,
    /// The list of mail programs is open, with this one highlighted.
    pub list: Option<usize>,
    /// Why the highlighted program's settings cannot be written.
    pub error: Option<String>,
}

impl ExportDialog {
    pub fn new(settings: &Settings) -> ExportDialog {
        let mut settings = settings.clone();
        settings.password = Password::default();
        ExportDialog {
            settings,
            list: None,
            error: None,
        }
    }

    /// The highlighted program, when the list is open.
    pub fn highlighted(&self) -> Option<Client> {
        self.list.and_then(|i| Client::ALL.get(i).copied())
    }

    /// What would be written for this program: the same as
    /// `smtp-doctor config --client NAME` without `--include-password`.
    pub fn preview(&self, client: Client) -> Result<clientconf::Export, String> {
        clientconf::generate(&self.settings, client, &Options::default())
    }

    fn on_key(mut self, key: KeyEvent) -> Vec<Action> {
        let Some(i) = self.list else {
            let format = match key.code {
                KeyCode::Char('m') | KeyCode::Char('M') => Format::Markdown,
                KeyCode::Char('j') | KeyCode::Char('J') => Format::Json,
                KeyCode::Char('c') | KeyCode::Char('C') => {
                    self.list = Some(0);
                    return vec![Action::OpenModal(Modal::Export(self))];
                }
                _ => return vec![Action::OpenModal(Modal::Export(self))],
            };
            return vec![Action::Effect(Effect::Export(format))];
        };
        let last = Client::ALL.len() - 1;
        let moved = match key.code {
            KeyCode::Esc => None,
            KeyCode::Up | KeyCode::Char('k') => Some(i.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => Some((i + 1).min(last)),
            KeyCode::Home | KeyCode::Char('g') => Some(0),
            KeyCode::End | KeyCode::Char('G') => Some(last),
            KeyCode::Enter => {
                let client = Client::ALL[i];
                match self.preview(client) {
                    Ok(_) => {
                        return vec![Action::Effect(Effect::ExportClient {
                            client,
                            settings: Box::new(self.settings),
                        })];
                    }
                    Err(e) => {
                        self.error = Some(e);
                        return vec![Action::OpenModal(Modal::Export(self))];
                    }
                }
            }
            _ => Some(i),
        };
        if moved != self.list {
            self.error = None;
        }
        // Esc leaves the list for the first page of the dialog.
        self.list = moved;
        vec![Action::OpenModal(Modal::Export(self))]
    }
}

#[derive(Debug)]
pub struct SaveDialog {
    pub settings: Settings,
    /// The profile the settings came from: saving under its name replaces it.
    pub origin: Option<String>,
    pub name: TextField,
    pub save_password: bool,
    /// 0: the name, 1: the password checkbox.
    pub focus: usize,
    pub error: Option<String>,
    taken: Vec<String>,
}

impl SaveDialog {
    pub fn new(
        settings: Settings,
        origin: Option<String>,
        save_password: bool,
        profiles: &[ListedProfile],
    ) -> SaveDialog {
        let taken: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
        let name = origin
            .clone()
            .unwrap_or_else(|| suggest_name(&settings, &taken));
        SaveDialog {
            save_password: save_password && can_save_password(&settings),
            settings,
            origin,
            name: TextField::new(name),
            focus: 0,
            error: None,
            taken,
        }
    }
}

fn can_save_password(s: &Settings) -> bool {
    s.auth && !s.password.is_empty()
}

/// A first name for a new profile: the account's domain, or the server.
fn suggest_name(s: &Settings, taken: &[String]) -> String {
    let base = s
        .account
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .filter(|d| check_name(d).is_ok())
        .or_else(|| Some(s.server_name().to_string()).filter(|n| check_name(n).is_ok()))
        .unwrap_or_else(|| "my server".to_string());
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base} {n}"))
        .find(|n| !taken.contains(n))
        .unwrap_or(base)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePurpose {
    Rename,
    Duplicate,
}

#[derive(Debug)]
pub struct NameDialog {
    pub purpose: NamePurpose,
    pub from: String,
    pub name: TextField,
    pub error: Option<String>,
}

impl NameDialog {
    pub fn new(purpose: NamePurpose, from: &str, name: &str) -> NameDialog {
        NameDialog {
            purpose,
            from: from.to_string(),
            name: TextField::new(name),
            error: None,
        }
    }
}

#[derive(Debug)]
pub struct PasswordDialog {
    pub profile: Profile,
    pub field: TextField,
    pub show: bool,
    pub error: Option<String>,
}

impl PasswordDialog {
    pub fn new(profile: Profile) -> PasswordDialog {
        PasswordDialog {
            profile,
            field: TextField::default(),
            show: false,
            error: None,
        }
    }
}

impl Modal {
    pub fn keys(&self, theme: &Theme) -> Vec<(&'static str, &'static str)> {
        match self {
            Modal::Save(d) if can_save_password(&d.settings) => vec![
                ("Enter", "save"),
                ("Tab", "field"),
                ("Space", "switch"),
                ("Esc", "cancel"),
            ],
            Modal::Save(_) | Modal::Name(_) => vec![("Enter", "ok"), ("Esc", "cancel")],
            Modal::ConfirmDelete(_) => vec![("y", "delete"), ("n/Esc", "keep")],
            Modal::Password(_) => vec![
                ("Enter", "run"),
                ("Ctrl-T", "show password"),
                ("Esc", "cancel"),
            ],
            Modal::Export(d) if d.list.is_some() => vec![
                (theme.up_down(), "choose"),
                ("Enter", "write"),
                ("Esc", "back"),
            ],
            Modal::Export(_) => vec![
                ("m", "Markdown"),
                ("j", "JSON"),
                ("c", "mail program"),
                ("Esc", "cancel"),
            ],
        }
    }

    pub fn paste(&mut self, text: &str) {
        let text = text.trim();
        match self {
            Modal::Save(d) if d.focus == 0 => d.name.insert_str(text),
            Modal::Name(d) => d.name.insert_str(text),
            Modal::Password(d) => d.field.insert_str(text),
            _ => {}
        }
    }
}

impl Modal {
    /// Handles a key in a dialog. The dialog was taken out of the app; it
    /// asks to be shown again ([`Action::OpenModal`]) unless the key
    /// closes it.
    pub fn on_key(self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        let in_list = matches!(&self, Modal::Export(d) if d.list.is_some());
        if key.code == KeyCode::Esc && !in_list {
            return Vec::new();
        }
        match self {
            Modal::Save(d) => d.on_key(key),
            Modal::Name(d) => d.on_key(ctx, key),
            Modal::ConfirmDelete(name) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    vec![Action::Effect(Effect::DeleteProfile(name))]
                }
                KeyCode::Char('n') | KeyCode::Char('N') => Vec::new(),
                _ => vec![Action::OpenModal(Modal::ConfirmDelete(name))],
            },
            Modal::Password(d) => d.on_key(key),
            Modal::Export(d) => d.on_key(key),
        }
    }
}

impl SaveDialog {
    /// Whether the profile is saved with its password.
    pub fn keeps_password(&self) -> bool {
        self.save_password && can_save_password(&self.settings)
    }

    fn on_key(mut self, key: KeyEvent) -> Vec<Action> {
        let toggles = can_save_password(&self.settings);
        let mut actions = Vec::new();
        match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down if toggles => {
                self.focus = 1 - self.focus;
            }
            KeyCode::Char(' ') if self.focus == 1 => self.save_password = !self.save_password,
            KeyCode::Enter => actions.extend(self.submit().map(Action::Effect)),
            _ if self.focus == 0 && self.name.handle(key) => self.error = None,
            _ => {}
        }
        // The dialog stays open until the save is done (`Msg::ProfileSaved`).
        actions.insert(0, Action::OpenModal(Modal::Save(self)));
        actions
    }

    /// Enter: the save to do, or the error shown in the dialog.
    fn submit(&mut self) -> Option<Effect> {
        let name = self.name.value().trim().to_string();
        let replaces_origin = self.origin.as_deref() == Some(name.as_str());
        if let Err(e) = check_name(&name) {
            self.error = Some(e);
            return None;
        }
        if self.taken.contains(&name) && !replaces_origin {
            self.error = Some(format!(
                "A profile named \"{name}\" already exists; choose another name."
            ));
            return None;
        }
        self.error = None;
        let mut settings = self.settings.clone();
        let save_password = self.keeps_password();
        if !save_password {
            settings.password = Password::default();
        }
        Some(Effect::SaveProfile {
            profile: Profile {
                name,
                settings,
                save_password,
            },
            overwrite: replaces_origin,
        })
    }
}

impl NameDialog {
    fn on_key(mut self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        if key.code == KeyCode::Enter {
            let name = self.name.value().trim().to_string();
            if let Err(e) = check_name(&name) {
                self.error = Some(e);
            } else if name == self.from && self.purpose == NamePurpose::Rename {
                return Vec::new();
            } else if ctx.find_profile(&name).is_some() {
                self.error = Some(format!(
                    "A profile named \"{name}\" already exists; choose another name."
                ));
            } else {
                let from = self.from;
                return vec![Action::Effect(match self.purpose {
                    NamePurpose::Rename => Effect::RenameProfile { from, to: name },
                    NamePurpose::Duplicate => Effect::DuplicateProfile { from, to: name },
                })];
            }
        } else if self.name.handle(key) {
            self.error = None;
        }
        vec![Action::OpenModal(Modal::Name(self))]
    }
}

impl PasswordDialog {
    fn on_key(mut self, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('t') if ctrl => self.show = !self.show,
            KeyCode::Enter if self.field.value().is_empty() => {
                self.error = Some(
                    "Enter the password, or edit the profile and turn off \"requires authentication\"."
                        .into(),
                );
            }
            KeyCode::Enter => {
                let mut p = self.profile;
                p.settings.password = Password::new(self.field.value());
                return vec![Action::Run {
                    settings: p.settings,
                    profile: Some(p.name),
                    save_password: false,
                }];
            }
            _ => {
                if self.field.handle(key) {
                    self.error = None;
                }
            }
        }
        vec![Action::OpenModal(Modal::Password(self))]
    }
}

/// A centered box of `w`×`h` cells within `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws a dialog: a cleared, bordered box sized to its lines.
fn dialog(
    theme: &Theme,
    frame: &mut Frame,
    title: &str,
    lines: Vec<Line<'static>>,
    cols: u16,
) -> Rect {
    let area = centered(frame.area(), cols + 4, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.focus_border())
        .title(Span::styled(format!(" {title} "), theme.bold()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let padded = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    frame.render_widget(Paragraph::new(lines), padded);
    padded
}

fn push_wrapped(
    lines: &mut Vec<Line<'static>>,
    text: &str,
    cols: usize,
    style: ratatui::style::Style,
) {
    for l in wrap(text, cols) {
        lines.push(Line::styled(l, style));
    }
}

fn field_line(
    theme: &Theme,
    label: &str,
    field: &TextField,
    mask: bool,
    focused: bool,
    cols: usize,
) -> (Line<'static>, usize) {
    let lw = width(label) + 2;
    let style = if focused {
        theme.selected()
    } else {
        theme.plain()
    };
    let (value, col) = field.line(theme, cols.saturating_sub(lw + 1), mask, style);
    let mut spans = vec![Span::styled(format!("{label} ["), theme.bold())];
    spans.extend(value.spans);
    spans.push(Span::raw("]"));
    (Line::from(spans), lw + col)
}

pub fn render(app: &App, modal: &Modal, frame: &mut Frame) {
    let theme = &app.theme;
    let cols = (frame.area().width.saturating_sub(8)).min(66);
    let c = cols as usize;
    let mut lines = Vec::new();
    let mut cursor: Option<(usize, usize)> = None;
    let title = match modal {
        Modal::Save(d) => {
            let (l, col) = field_line(theme, "Name", &d.name, false, d.focus == 0, c);
            if d.focus == 0 {
                cursor = Some((lines.len(), col));
            }
            lines.push(l);
            push_wrapped(
                &mut lines,
                "Letters, digits, spaces and . _ - @ + ( ) only.",
                c,
                theme.dim(),
            );
            lines.push(Line::raw(""));
            if can_save_password(&d.settings) {
                let style = if d.focus == 1 {
                    theme.selected()
                } else {
                    theme.plain()
                };
                lines.push(Line::styled(
                    format!(
                        "{} Also save the password",
                        theme.check_box(d.save_password)
                    ),
                    style,
                ));
                let path = app.profile_path(d.name.value().trim());
                let text = if d.save_password {
                    format!(
                        "The password will be kept in plain text in {}, readable only by you (file mode 0600). Anyone with your account or a backup of it can read it.",
                        path.display()
                    )
                } else {
                    format!(
                        "Not saved: smtp-doctor asks for it each time you run this profile. If you switch this on, it is kept in plain text in {}, readable only by you (0600).",
                        path.display()
                    )
                };
                push_wrapped(&mut lines, &text, c, theme.dim());
            } else {
                push_wrapped(
                    &mut lines,
                    "No password is saved (none is needed or none was given).",
                    c,
                    theme.dim(),
                );
            }
            if let Some(e) = &d.error {
                lines.push(Line::raw(""));
                push_wrapped(&mut lines, &theme.text(e), c, theme.error());
            }
            match &d.origin {
                Some(o) => format!("Save profile \"{o}\""),
                None => "Save as profile".to_string(),
            }
        }
        Modal::Name(d) => {
            let (l, col) = field_line(theme, "New name", &d.name, false, true, c);
            cursor = Some((lines.len(), col));
            lines.push(l);
            if let Some(e) = &d.error {
                push_wrapped(&mut lines, &theme.text(e), c, theme.error());
            }
            match d.purpose {
                NamePurpose::Rename => format!("Rename profile \"{}\"", d.from),
                NamePurpose::Duplicate => format!("Copy profile \"{}\"", d.from),
            }
        }
        Modal::ConfirmDelete(name) => {
            push_wrapped(
                &mut lines,
                &format!(
                    "Delete the profile \"{name}\"? Its file {} is removed.",
                    app.profile_path(name).display()
                ),
                c,
                theme.plain(),
            );
            lines.push(Line::raw(""));
            lines.push(Line::styled("y deletes it, n keeps it.", theme.bold()));
            "Delete profile".to_string()
        }
        Modal::Password(d) => {
            let s = &d.profile.settings;
            push_wrapped(
                &mut lines,
                &format!(
                    "Login {} on {}. The profile does not keep the password.",
                    s.effective_login(),
                    s.server_name()
                ),
                c,
                theme.dim(),
            );
            let (l, col) = field_line(theme, "Password", &d.field, !d.show, true, c);
            cursor = Some((lines.len(), col));
            lines.push(l);
            if let Some(e) = &d.error {
                push_wrapped(&mut lines, &theme.text(e), c, theme.error());
            }
            format!("Password for \"{}\"", d.profile.name)
        }
        Modal::Export(d) => {
            let room = frame.area().height.saturating_sub(4) as usize;
            export_lines(app, d, &mut lines, c, room)
        }
    };
    let inner = dialog(theme, frame, &title, lines, cols);
    if let Some((row, col)) = cursor {
        frame.set_cursor_position(Position::new(inner.x + col as u16, inner.y + row as u16));
    }
}

/// The export dialog's lines, at most `room` of them; its title.
fn export_lines(
    app: &App,
    d: &ExportDialog,
    lines: &mut Vec<Line<'static>>,
    c: usize,
    room: usize,
) -> String {
    let theme = &app.theme;
    let dir = theme.text(&app.export_dir.display().to_string());
    let Some(chosen) = d.highlighted() else {
        let key_line = |k: &'static str, text: &str| {
            Line::from(vec![
                Span::styled(k, theme.key()),
                Span::raw(format!("  {text}")),
            ])
        };
        lines.push(Line::styled("The report", theme.heading()));
        lines.push(key_line("m", "Markdown, for a support ticket or an email"));
        lines.push(key_line("j", "JSON, for scripts"));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Settings for your mail program",
            theme.heading(),
        ));
        let names: Vec<&str> = Client::ALL
            .iter()
            .map(|k| k.label().split(" (").next().unwrap_or_default())
            .collect();
        let text = format!("choose from a list: {}", names.join(", "));
        for (n, l) in wrap(&text, c.saturating_sub(3)).into_iter().enumerate() {
            if n == 0 {
                lines.push(key_line("c", &l));
            } else {
                lines.push(Line::raw(format!("   {l}")));
            }
        }
        lines.push(Line::raw(""));
        push_wrapped(
            lines,
            &format!("Files are written to {dir}. They never contain the password."),
            c,
            theme.dim(),
        );
        return "Export".to_string();
    };
    for client in Client::ALL {
        let on = client == chosen;
        let pointer = if on { theme.pointer() } else { " " };
        let style = if on { theme.selected() } else { theme.plain() };
        lines.push(Line::styled(format!("{pointer} {}", client.label()), style));
    }
    lines.push(Line::raw(""));
    let mut more = Vec::new();
    match d.preview(chosen) {
        Ok(export) => {
            let names: Vec<String> = export
                .files
                .iter()
                .map(|f| client_file_name(&f.name))
                .collect();
            push_wrapped(
                &mut more,
                &theme.text(&format!("Writes {} to {dir}.", names.join(" and "))),
                c,
                theme.plain(),
            );
            let text = if d.settings.auth {
                let mut t = String::from("The password is not written.");
                for n in export.notes.iter().filter(|n| mentions_password(n)) {
                    t.push(' ');
                    t.push_str(n);
                }
                t
            } else {
                "No login: these settings need no password.".to_string()
            };
            push_wrapped(&mut more, &theme.text(&text), c, theme.dim());
        }
        Err(e) => push_wrapped(&mut more, &theme.text(&e), c, theme.error()),
    }
    if let Some(e) = &d.error {
        push_wrapped(&mut more, &theme.text(e), c, theme.error());
    }
    let left = room.saturating_sub(lines.len());
    if more.len() > left {
        more.truncate(left);
        if let Some(last) = more.last_mut() {
            last.spans.push(Span::raw(theme.ellipsis()));
        }
    }
    lines.extend(more);
    "Settings for your mail program".to_string()
}

/// Whether a note of the export says something about the password.
fn mentions_password(note: &str) -> bool {
    note.to_ascii_lowercase().contains("password")
}

/// The name a file of a mail program's settings gets in the export
/// directory: the export's own name after `smtp-doctor-`.
pub fn client_file_name(name: &str) -> String {
    format!("smtp-doctor-{name}")
}
