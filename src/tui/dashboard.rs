//! The dashboard: the checks running live, the selected check's details,
//! the SMTP conversation, and the diagnosis filling in as results arrive.
//!
//! The state takes the engine's events one by one ([`DashState::on_event`])
//! and re-diagnoses after every finished check; the diagnosis is a pure
//! function, so this costs nothing worth measuring. Each pane has its own
//! render function; panes that scroll remember how tall they were drawn so
//! the keys can clamp the scroll position.

use super::app::{Action, App, Context, Effect, Screen};
use super::finding::finding_lines;
use super::modal::{ExportDialog, Modal, SaveDialog};
use super::theme::{Theme, duration, truncate, width, wrap, wrap_prefixed};
use super::wizard::WizardState;
use crate::diagnose::{Diagnosis, Verdict, diagnose};
use crate::probe::{CheckId, Dir, Event, Group, Outcome, Status, TranscriptLine};
use crate::report::{Format, Report};
use crate::settings::{Security, Settings};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The panes, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Checks,
    Diagnosis,
    Details,
    Transcript,
}

impl Pane {
    const ORDER: [Pane; 4] = [
        Pane::Checks,
        Pane::Diagnosis,
        Pane::Details,
        Pane::Transcript,
    ];

    fn step(self, delta: isize) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Pane::ORDER[(i + delta).rem_euclid(4) as usize]
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Checks => "Checks",
            Pane::Diagnosis => "Diagnosis",
            Pane::Details => "Details",
            Pane::Transcript => "Transcript",
        }
    }
}

/// Where a check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Done(Status),
}

/// The scroll position of a pane, and its size at the last frame.
#[derive(Debug, Default)]
pub struct Scroll {
    pub top: usize,
    /// Stick to the end as lines arrive (the transcript while running).
    pub follow: bool,
    content: Cell<usize>,
    height: Cell<usize>,
}

impl Scroll {
    fn max_top(&self) -> usize {
        self.content.get().saturating_sub(self.height.get())
    }

    fn by(&mut self, delta: isize) {
        let top = (self.top.min(self.max_top()) as isize + delta).max(0) as usize;
        self.top = top.min(self.max_top());
        self.follow = self.top >= self.max_top() && delta > 0;
    }

    fn page(&self) -> isize {
        self.height.get().saturating_sub(1).max(1) as isize
    }

    /// The first line to show for `content` lines in `height` rows; records
    /// both for the keys.
    fn window(&self, content: usize, height: usize) -> usize {
        self.content.set(content);
        self.height.set(height);
        let max = content.saturating_sub(height);
        if self.follow { max } else { self.top.min(max) }
    }
}

pub struct DashState {
    pub settings: Settings,
    /// The profile these settings came from, if any.
    pub profile: Option<String>,
    pub save_password: bool,
    /// The run number; events of other runs are ignored.
    pub run_id: u64,
    pub running: bool,
    pub phases: Vec<(CheckId, Phase)>,
    pub outcomes: Vec<Outcome>,
    pub progress: Option<(CheckId, String)>,
    /// The conversation, grouped by check in the order checks first spoke.
    pub transcript: Vec<(CheckId, Vec<TranscriptLine>)>,
    live: HashSet<CheckId>,
    pub diagnosis: Option<Diagnosis>,
    /// Index into `phases`.
    pub selected: usize,
    user_moved: bool,
    pub focus: Pane,
    /// Details or Transcript: the lower right pane on a small screen.
    pub lower: Pane,
    pub diag_scroll: Scroll,
    pub details_scroll: Scroll,
    pub transcript_scroll: Scroll,
    pub spinner: usize,
    started: Instant,
    pub total: Option<Duration>,
}

impl DashState {
    pub fn new(
        settings: Settings,
        profile: Option<String>,
        save_password: bool,
        run_id: u64,
    ) -> Self {
        DashState {
            settings,
            profile,
            save_password,
            run_id,
            running: true,
            phases: CheckId::ALL.iter().map(|c| (*c, Phase::Pending)).collect(),
            outcomes: Vec::new(),
            progress: None,
            transcript: Vec::new(),
            live: HashSet::new(),
            diagnosis: None,
            selected: 0,
            user_moved: false,
            focus: Pane::Checks,
            lower: Pane::Details,
            diag_scroll: Scroll::default(),
            details_scroll: Scroll::default(),
            transcript_scroll: Scroll {
                follow: true,
                ..Scroll::default()
            },
            spinner: 0,
            started: Instant::now(),
            total: None,
        }
    }

    fn set_phase(&mut self, id: CheckId, phase: Phase) {
        if let Some(p) = self.phases.iter_mut().find(|(c, _)| *c == id) {
            p.1 = phase;
        } else {
            self.phases.push((id, phase));
        }
    }

    fn lines_of(&mut self, id: CheckId) -> &mut Vec<TranscriptLine> {
        let i = match self.transcript.iter().position(|(c, _)| *c == id) {
            Some(i) => i,
            None => {
                self.transcript.push((id, Vec::new()));
                self.transcript.len() - 1
            }
        };
        &mut self.transcript[i].1
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Started(id) => self.set_phase(id, Phase::Running),
            Event::Progress(id, text) => self.progress = Some((id, text)),
            Event::Log(..) => {}
            Event::Transcript(id, line) => {
                self.live.insert(id);
                self.lines_of(id).push(line);
            }
            Event::Finished(o) => {
                let o = *o;
                self.set_phase(o.id, Phase::Done(o.status));
                if !self.live.contains(&o.id) && !o.transcript.is_empty() {
                    let lines = o.transcript.clone();
                    self.lines_of(o.id).extend(lines);
                }
                if self.progress.as_ref().is_some_and(|(id, _)| *id == o.id) {
                    self.progress = None;
                }
                self.outcomes.retain(|x| x.id != o.id);
                self.outcomes.push(o);
                self.diagnosis = Some(diagnose(&self.outcomes, &self.settings));
            }
            Event::Done => {
                self.running = false;
                self.progress = None;
                self.total = Some(self.started.elapsed());
                if self.diagnosis.is_none() {
                    self.diagnosis = Some(diagnose(&self.outcomes, &self.settings));
                }
                self.transcript_scroll.follow = false;
                if !self.user_moved {
                    self.select_culprit();
                }
            }
        }
    }

    /// Selects the check behind the most likely cause, so the details show
    /// its evidence without a key press.
    fn select_culprit(&mut self) {
        let target = self
            .diagnosis
            .as_ref()
            .and_then(|d| d.top())
            .and_then(|f| f.evidence.first())
            .map(|e| e.check)
            .or_else(|| {
                self.outcomes
                    .iter()
                    .filter(|o| o.status.is_problem())
                    .map(|o| o.id)
                    .min()
            });
        if let Some(t) = target
            && let Some(i) = self.phases.iter().position(|(c, _)| *c == t)
        {
            self.selected = i;
            self.jump_transcript();
        }
    }

    pub fn outcome(&self, id: CheckId) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    pub fn selected_check(&self) -> CheckId {
        self.phases
            .get(self.selected)
            .map(|p| p.0)
            .unwrap_or(CheckId::DnsServer)
    }

    fn done_count(&self) -> usize {
        self.phases
            .iter()
            .filter(|(_, p)| matches!(p, Phase::Done(_)))
            .count()
    }

    /// Scrolls the transcript to the selected check's part of the
    /// conversation.
    fn jump_transcript(&mut self) {
        let id = self.selected_check();
        let mut line = 0;
        for (c, lines) in &self.transcript {
            if *c == id {
                self.transcript_scroll.top = line;
                self.transcript_scroll.follow = false;
                return;
            }
            line += 1 + lines.len();
        }
    }

    /// The report of this run, for the export key.
    pub fn report(&self, format: Format) -> String {
        let mut checks = self.outcomes.clone();
        checks.sort_by_key(|o| o.id);
        let diagnosis = diagnose(&checks, &self.settings);
        Report {
            settings: &self.settings,
            checks: &checks,
            diagnosis: &diagnosis,
            total_ms: self
                .total
                .unwrap_or_else(|| self.started.elapsed())
                .as_millis() as u64,
        }
        .render(format, false)
    }

    /// A setting discovery found working, when the user's own failed and
    /// it differs from them: the "Working settings" section and the `w` key.
    pub fn working_settings(&self) -> Option<Working> {
        if self.running {
            return None;
        }
        let diag = self.diagnosis.as_ref()?;
        if diag.verdict == Verdict::Ok {
            return None;
        }
        let o = self.outcomes.iter().find(|o| o.id == CheckId::Discover)?;
        if o.detail_bool("matches_settings") == Some(true)
            || o.detail_bool("oauth_only") == Some(true)
        {
            return None;
        }
        let c = o.details.get("candidates")?.as_array()?.first()?;
        if c.get("works")?.as_bool() != Some(true) {
            return None;
        }
        let mut sources: Vec<String> = Vec::new();
        for s in c.get("sources")?.as_array()? {
            let k = match s.get("kind").and_then(|k| k.as_str()).unwrap_or_default() {
                "srv" => "SRV",
                "mx" => "MX",
                "guess" => "port guess",
                "ispdb" => "provider database",
                "preset" => "provider preset",
                "well-known" => "well-known autoconfig",
                _ => "autoconfig",
            }
            .to_string();
            if !sources.contains(&k) {
                sources.push(k);
            }
        }
        Some(Working {
            host: crate::printable::printable(c.get("host")?.as_str()?).into_owned(),
            port: u16::try_from(c.get("port")?.as_u64()?).ok()?,
            security: Security::parse(c.get("security")?.as_str()?)?,
            username: crate::printable::printable(c.get("username")?.as_str()?).into_owned(),
            sources: sources.join(", "),
        })
    }

    pub fn keys(&self, theme: &Theme) -> Vec<(&'static str, &'static str)> {
        let mut keys = self.base_keys(theme);
        if self.working_settings().is_some() {
            keys.insert(3, ("w", "use working settings"));
        }
        keys
    }

    fn base_keys(&self, theme: &Theme) -> Vec<(&'static str, &'static str)> {
        vec![
            (theme.up_down(), "move"),
            ("Tab", "pane"),
            ("Enter", "details"),
            ("r", "rerun"),
            ("e", "edit"),
            ("s", "save"),
            ("x", "export"),
            ("q", "quit"),
            ("?", "help"),
        ]
    }

    fn scroll_of(&mut self, pane: Pane) -> Option<&mut Scroll> {
        match pane {
            Pane::Checks => None,
            Pane::Diagnosis => Some(&mut self.diag_scroll),
            Pane::Details => Some(&mut self.details_scroll),
            Pane::Transcript => Some(&mut self.transcript_scroll),
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let n = self.phases.len() as isize;
        self.selected = (self.selected as isize + delta).clamp(0, n - 1) as usize;
        self.user_moved = true;
        self.details_scroll.top = 0;
        if !self.running {
            self.jump_transcript();
        }
    }

    fn focus(&mut self, pane: Pane) {
        self.focus = pane;
        if matches!(pane, Pane::Details | Pane::Transcript) {
            self.lower = pane;
        }
    }
}

/// A working setting found by discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Working {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub sources: String,
}

impl Working {
    /// These settings written into `s`; the rest of `s` is kept.
    pub fn apply(&self, s: &mut crate::settings::Settings) {
        s.server = self.host.clone();
        s.port = self.port;
        s.security = self.security;
        if !self.username.eq_ignore_ascii_case(s.effective_login()) {
            s.login = if self.username == s.account.trim() {
                String::new()
            } else {
                self.username.clone()
            };
        }
    }
}

pub fn help() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Up/Down, j/k", "Choose a check, or scroll the focused pane"),
        (
            "PgUp/PgDn, Home/End",
            "Scroll the focused pane by a page / to the ends",
        ),
        (
            "Tab, Shift-Tab",
            "Move between Checks, Diagnosis, Details and Transcript",
        ),
        ("Enter", "Show the selected check's details"),
        ("r", "Run the checks again"),
        (
            "w",
            "Use the working settings discovery found (when yours failed), and run again",
        ),
        ("e", "Edit the settings (then Enter runs again)"),
        ("s", "Save these settings as a profile"),
        ("x", "Export the report or settings for a mail program"),
        ("Esc", "Back to the start screen"),
        ("? / F1", "This help"),
        ("q / Ctrl-C", "Quit"),
    ]
}

impl DashState {
    pub fn on_key(&mut self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Char('q') => vec![Action::Quit],
            KeyCode::Char('?') => vec![Action::Help],
            KeyCode::Esc => vec![
                Action::GoTo(Screen::Start(Default::default())),
                Action::Effect(Effect::CancelRun),
                Action::Effect(Effect::LoadProfiles),
            ],
            KeyCode::Char('r') => vec![self.rerun(self.settings.clone())],
            KeyCode::Char('w') => self.use_working(),
            KeyCode::Char('e') => {
                let w = WizardState::edit(&self.settings, self.profile.clone(), self.save_password);
                vec![
                    Action::GoTo(Screen::Wizard(Box::new(w))),
                    Action::Effect(Effect::CancelRun),
                ]
            }
            KeyCode::Char('s') => {
                let dialog = SaveDialog::new(
                    self.settings.clone(),
                    self.profile.clone(),
                    self.save_password,
                    ctx.profiles,
                );
                vec![Action::OpenModal(Modal::Save(dialog))]
            }
            KeyCode::Char('x') => vec![Action::OpenModal(Modal::Export(ExportDialog::new(
                &self.settings,
            )))],
            _ => {
                self.move_key(key);
                Vec::new()
            }
        }
    }

    /// A new run of these settings, under this run's profile.
    fn rerun(&self, settings: Settings) -> Action {
        Action::Run {
            settings,
            profile: self.profile.clone(),
            save_password: self.save_password,
        }
    }

    /// `w`: run again with the settings found to work, saying which.
    fn use_working(&self) -> Vec<Action> {
        let Some(w) = self.working_settings() else {
            return Vec::new();
        };
        let mut settings = self.settings.clone();
        w.apply(&mut settings);
        let text = format!(
            "Using {}:{} {} (found by {}); checking again",
            w.host,
            w.port,
            w.security.label(),
            w.sources
        );
        vec![self.rerun(settings), Action::Flash(text, false)]
    }

    /// Focus and movement: Tab between panes, the arrows and pages scroll
    /// the focused pane or move the check selection.
    fn move_key(&mut self, key: KeyEvent) {
        let steps = self.phases.len() as isize;
        let (scroll, select) = match key.code {
            KeyCode::Tab => return self.focus(self.focus.step(1)),
            KeyCode::BackTab => return self.focus(self.focus.step(-1)),
            KeyCode::Enter if self.focus == Pane::Checks => return self.focus(Pane::Details),
            KeyCode::Up | KeyCode::Char('k') => (Some(-1), -1),
            KeyCode::Down | KeyCode::Char('j') => (Some(1), 1),
            KeyCode::PageUp => (None, -5),
            KeyCode::PageDown => (None, 5),
            KeyCode::Home | KeyCode::Char('g') => {
                if let Some(s) = self.scroll_of(self.focus) {
                    s.top = 0;
                    s.follow = false;
                    return;
                }
                return self.move_selection(-steps);
            }
            KeyCode::End | KeyCode::Char('G') => (Some(isize::MAX / 2), steps),
            _ => return,
        };
        let up = select < 0;
        match self.scroll_of(self.focus) {
            Some(s) => {
                let by = scroll.unwrap_or_else(|| if up { -s.page() } else { s.page() });
                s.by(by)
            }
            None => self.move_selection(select),
        }
    }
}

fn security_words(s: Security) -> &'static str {
    match s {
        Security::Tls => "SSL/TLS",
        Security::Starttls => "STARTTLS",
        Security::None => "no encryption",
    }
}

/// The top line: what is checked, and how far the run is.
pub fn header(d: &DashState, theme: &Theme, cols: usize) -> Line<'static> {
    let s = &d.settings;
    let mut what = format!(
        "{}:{} {} {}",
        s.server_name(),
        s.port,
        security_words(s.security),
        theme.dot()
    );
    if s.auth {
        what.push_str(&format!(" login {}", s.effective_login()));
    } else {
        what.push_str(" no login");
    }
    if let Some(p) = &d.profile {
        what.push_str(&format!(" {} profile {p}", theme.dot()));
    }
    let (status, style) = if d.running {
        (
            format!(
                "{} checking {}/{}",
                theme.spinner(d.spinner),
                d.done_count(),
                d.phases.len()
            ),
            theme.bold(),
        )
    } else {
        match d.diagnosis.as_ref().map(|x| x.verdict) {
            Some(Verdict::Ok) => (
                format!("{} no problem found", theme.status_symbol(Status::Pass)),
                theme.good().patch(theme.bold()),
            ),
            _ => (
                format!("{} problem found", theme.status_symbol(Status::Fail)),
                theme.bad().patch(theme.bold()),
            ),
        }
    };
    let left = " smtp-doctor ".to_string();
    let room = cols.saturating_sub(width(&left) + width(&status) + 2);
    let what = truncate(&what, room, theme.ellipsis());
    let pad = cols.saturating_sub(width(&left) + width(&what) + width(&status) + 1);
    Line::from(vec![
        Span::styled(left, theme.heading()),
        Span::raw(what),
        Span::raw(" ".repeat(pad)),
        Span::styled(status, style),
        Span::raw(" "),
    ])
}

/// Dashboard layout.
///
/// A screen of at least 110×30 shows all four panes:
///
/// ```text
/// ┌ Checks ───────────┐┌ Diagnosis ─────────────────────────┐
/// │ Server            ││ Most likely cause                  │
/// │  ✔ Server name …  ││ ▶ The server needs a login         │
/// │ Connection        ││ What to do: 1. … 2. …              │
/// │  ✔ Port …         │└────────────────────────────────────┘
/// └───────────────────┘┌ Transcript ────────────────────────┐
/// ┌ Details ──────────┐│ C: EHLO [127.0.0.1]                │
/// │ ✖ Relay … (relay) ││ S: 250-demo.example.com            │
/// └───────────────────┘└────────────────────────────────────┘
/// ```
///
/// A smaller one (80×24) keeps Checks and Diagnosis, and shows Details or
/// Transcript below the diagnosis, whichever was focused last:
///
/// ```text
/// ┌ Checks ─────────┐┌ Diagnosis ──────────────┐
/// │                 ││                         │
/// │                 │└─────────────────────────┘
/// │                 │┌ Details | Transcript ───┐
/// └─────────────────┘└─────────────────────────┘
/// ```
pub fn render(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let wide = area.width >= 110 && area.height >= 30;
    if wide {
        let left_w = (area.width * 2 / 5).clamp(40, 56);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_w), Constraint::Min(20)]).areas(area);
        let checks_h =
            (check_lines(&app.theme, d, 80).len() as u16 + 2).min(left.height.saturating_sub(10));
        let [checks, details] =
            Layout::vertical([Constraint::Length(checks_h), Constraint::Min(4)]).areas(left);
        let [diag, transcript] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Min(4)]).areas(right);
        render_checks(app, d, frame, checks);
        render_details(app, d, frame, details);
        render_diagnosis(app, d, frame, diag);
        render_transcript(app, d, frame, transcript);
    } else {
        let left_w = (area.width * 9 / 20).clamp(30, 40);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_w), Constraint::Min(20)]).areas(area);
        let [diag, lower] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Min(4)]).areas(right);
        render_checks(app, d, frame, left);
        render_diagnosis(app, d, frame, diag);
        match d.lower {
            Pane::Transcript => render_transcript(app, d, frame, lower),
            _ => render_details(app, d, frame, lower),
        }
    }
}

fn pane_block(theme: &Theme, pane: Pane, focused: bool, extra: &str) -> Block<'static> {
    let title = format!(" {}{extra} ", pane.title());
    let (title_style, border) = if focused {
        (theme.focus_border(), theme.focus_border())
    } else {
        (theme.bold(), theme.border())
    };
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(border)
        .title(Span::styled(title, title_style));
    // The checks pane pads its own rows (the selection marker sits there).
    if pane == Pane::Checks {
        block
    } else {
        block.padding(Padding::left(1))
    }
}

/// Draws `lines` in `area` from the scroll window.
fn scrolled(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, scroll: &Scroll) {
    let h = area.height as usize;
    let top = scroll.window(lines.len(), h);
    let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    frame.render_widget(Paragraph::new(shown), area);
}

/// The groups in the order their first check appears.
fn groups(d: &DashState) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (c, _) in &d.phases {
        if !out.contains(&c.group()) {
            out.push(c.group());
        }
    }
    out
}

/// The checks pane's lines, and the line of each check.
fn check_lines(theme: &Theme, d: &DashState, cols: usize) -> Vec<(Option<usize>, Line<'static>)> {
    let mut out = Vec::new();
    let time_w = 6;
    let title_w = cols.saturating_sub(4 + 1 + time_w + 1);
    for g in groups(d) {
        out.push((
            None,
            Line::styled(format!(" {}", g.label()), theme.heading()),
        ));
        for (i, (id, phase)) in d.phases.iter().enumerate() {
            if id.group() != g {
                continue;
            }
            let (sym, sym_style, time) = match phase {
                Phase::Pending => (theme.pending(), theme.dim(), String::new()),
                Phase::Running => (theme.spinner(d.spinner), theme.bold(), String::new()),
                Phase::Done(s) => (
                    theme.status_symbol(*s),
                    theme.status_style(*s),
                    match (s, d.outcome(*id)) {
                        (Status::Skip, _) | (_, None) => String::new(),
                        (_, Some(o)) => duration(o.duration),
                    },
                ),
            };
            let chosen = i == d.selected;
            let pointer = if chosen { theme.pointer() } else { " " };
            let title = truncate(id.title(), title_w, theme.ellipsis());
            let pad = title_w.saturating_sub(width(&title));
            let row_style = if chosen && d.focus == Pane::Checks {
                theme.selected()
            } else if chosen {
                theme.bold()
            } else {
                Style::new()
            };
            let text_style = match phase {
                Phase::Done(Status::Skip) | Phase::Pending => theme.dim(),
                _ => Style::new(),
            };
            out.push((
                Some(i),
                Line::from(vec![
                    Span::styled(format!(" {pointer}"), row_style),
                    Span::styled(format!("{sym} "), sym_style.patch(row_style)),
                    Span::styled(
                        format!("{title}{} ", " ".repeat(pad)),
                        text_style.patch(row_style),
                    ),
                    Span::styled(format!("{time:>time_w$}"), theme.dim().patch(row_style)),
                ]),
            ));
        }
    }
    out
}

fn render_checks(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = pane_block(theme, Pane::Checks, d.focus == Pane::Checks, "");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = check_lines(theme, d, inner.width as usize);
    let h = inner.height as usize;
    let sel_line = lines
        .iter()
        .position(|(i, _)| *i == Some(d.selected))
        .unwrap_or(0);
    // Keep the selected check (and its group heading) in view.
    let top = (sel_line + 1).saturating_sub(h);
    let more_below = lines.len() > top + h;
    let shown: Vec<Line> = lines
        .into_iter()
        .map(|(_, l)| l)
        .skip(top)
        .take(h)
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if more_below && area.height > 0 {
        let tag = if theme.ascii {
            " more v "
        } else {
            " more ↓ "
        };
        let x = area.x + area.width.saturating_sub(width(tag) as u16 + 1);
        frame.render_widget(
            Paragraph::new(Span::styled(tag, theme.dim())),
            Rect::new(x, area.y + area.height - 1, width(tag) as u16, 1),
        );
    }
}

/// One sentence per check: what it tests.
pub fn what_it_tests(id: CheckId) -> &'static str {
    match id.as_str() {
        "dns.server" => "Whether the server name exists in DNS and has an address.",
        "net.port" => "Whether a connection to the server's port gets through.",
        "net.ports" => {
            "Which of the usual mail ports (25, 465, 587, 2525) answer, and what they offer: the alternatives if yours fails."
        }
        "smtp.greeting" => "Whether a mail server answers on the port and greets.",
        "smtp.ehlo" => "What the server offers (encryption, login methods, size limit).",
        "tls" => "Whether encryption works as set, and whether the certificate is valid.",
        "auth" => "Whether the server accepts your login and password.",
        "relay" => {
            "Whether the server takes mail for an outside address (RCPT TO). Nothing is sent."
        }
        "relay.anonymous" => {
            "Whether the server takes mail for outside without a login: it should not (open relay)."
        }
        "send" => "A real test message, only when you asked for one.",
        "incoming.login" => {
            "Whether the same password works on the incoming server: tells a wrong password from SMTP login switched off."
        }
        "net.public_ip" => "The address the internet sees this network as.",
        "net.ptr" => "Whether that address has a reverse DNS name (receivers check it).",
        "net.dnsbl" => "Whether that address is on a spam blocklist.",
        "sender.spf" => "Whether the sender domain's SPF record allows this server.",
        "sender.dmarc" => "The sender domain's DMARC policy.",
        "recipient.mx" => "Whether the recipient's domain accepts mail at all (MX records).",
        _ => "",
    }
}

/// A detail value on one line.
fn detail_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn details_lines(theme: &Theme, d: &DashState, cols: usize) -> Vec<Line<'static>> {
    let id = d.selected_check();
    let phase = d
        .phases
        .get(d.selected)
        .map(|p| p.1)
        .unwrap_or(Phase::Pending);
    let mut lines = Vec::new();
    let (sym, style) = match phase {
        Phase::Done(s) => (theme.status_symbol(s), theme.status_style(s)),
        Phase::Running => (theme.spinner(d.spinner), theme.bold()),
        Phase::Pending => (theme.pending(), theme.dim()),
    };
    lines.extend(wrap_prefixed(
        &format!("{sym} "),
        &format!("{} ({})", id.title(), id.as_str()),
        cols,
        style.patch(theme.bold()),
    ));
    let what = what_it_tests(id);
    if !what.is_empty() {
        lines.extend(wrap_prefixed("Tests: ", what, cols, theme.dim()));
    }
    match (phase, d.outcome(id)) {
        (_, Some(o)) => {
            lines.extend(wrap_prefixed(
                "Found: ",
                &theme.text(&o.summary),
                cols,
                Style::new(),
            ));
            if o.status != Status::Skip {
                lines.push(Line::styled(
                    format!("Took:  {}", duration(o.duration)),
                    theme.dim(),
                ));
            }
            if !o.details.is_empty() {
                lines.push(Line::styled("Evidence", theme.heading()));
                for (k, v) in &o.details {
                    let text = truncate(&detail_value(v), 400, theme.ellipsis());
                    lines.extend(wrap_prefixed(
                        &format!("  {k}: "),
                        &theme.text(&text),
                        cols,
                        Style::new(),
                    ));
                }
            }
        }
        (Phase::Running, None) => {
            let text = match &d.progress {
                Some((pid, t)) if *pid == id => format!("Running: {t}"),
                _ => "Running…".to_string(),
            };
            lines.extend(wrap_prefixed("", &theme.text(&text), cols, theme.bold()));
        }
        (_, None) if d.running => {
            let deps: Vec<&str> = id.deps().iter().map(|c| c.as_str()).collect();
            let text = if deps.is_empty() {
                "Waiting to start.".to_string()
            } else {
                format!("Waiting for: {}", deps.join(", "))
            };
            lines.push(Line::styled(text, theme.dim()));
        }
        (_, None) => lines.push(Line::styled("Not run.", theme.dim())),
    }
    lines
}

fn render_details(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = pane_block(theme, Pane::Details, d.focus == Pane::Details, "");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = details_lines(theme, d, inner.width as usize);
    scrolled(frame, inner, lines, &d.details_scroll);
}

/// One transcript line's style: client lines cyan; server lines by the
/// class of the reply (4xx yellow, 5xx red).
fn transcript_style(theme: &Theme, l: &TranscriptLine) -> Style {
    match l.dir {
        Dir::Client => theme.client(),
        Dir::Server => match l.line.as_bytes().first() {
            Some(b'4') => theme.warn(),
            Some(b'5') => theme.bad(),
            _ => Style::new(),
        },
    }
}

fn transcript_lines(theme: &Theme, d: &DashState, cols: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if d.transcript.is_empty() {
        let text = if d.running {
            "The conversation with the server appears here as it happens."
        } else {
            "No conversation: the checks did not reach a mail server."
        };
        for l in wrap(text, cols) {
            lines.push(Line::styled(l, theme.dim()));
        }
        return lines;
    }
    let rule = theme.rule().repeat(2);
    for (id, tl) in &d.transcript {
        let head = format!("{rule} {} ({}) ", id.title(), id.as_str());
        let fill = cols.saturating_sub(width(&head));
        lines.push(Line::styled(
            format!("{head}{}", theme.rule().repeat(fill)),
            theme.dim(),
        ));
        for l in tl {
            let prefix = match l.dir {
                Dir::Client => "C: ",
                Dir::Server => "S: ",
            };
            lines.extend(wrap_prefixed(
                prefix,
                &theme.text(&l.line),
                cols,
                transcript_style(theme, l),
            ));
        }
    }
    lines
}

fn render_transcript(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = pane_block(theme, Pane::Transcript, d.focus == Pane::Transcript, "");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = transcript_lines(theme, d, inner.width as usize);
    scrolled(frame, inner, lines, &d.transcript_scroll);
}

fn diagnosis_lines(theme: &Theme, d: &DashState, cols: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let done = d.done_count();
    let Some(diag) = &d.diagnosis else {
        for l in wrap(
            &format!(
                "Checking… {done} of {} checks done. The diagnosis fills in as results arrive.",
                d.phases.len()
            ),
            cols,
        ) {
            lines.push(Line::styled(theme.text(&l), theme.dim()));
        }
        return lines;
    };
    if d.running {
        lines.push(Line::styled(
            theme.text(&format!(
                "Checking… {done} of {} checks done.",
                d.phases.len()
            )),
            theme.dim(),
        ));
    }
    if let Some(w) = d.working_settings() {
        lines.push(Line::styled("Working settings", theme.heading()));
        lines.extend(wrap_prefixed(
            &format!(" {} ", theme.status_symbol(Status::Pass)),
            &theme.text(&format!(
                "Server {}, port {}, {}, login {} (found by {}: greets, valid certificate, offers login). Press w to use them.",
                w.host,
                w.port,
                w.security.label(),
                w.username,
                w.sources
            )),
            cols,
            theme.good(),
        ));
    }
    if d.working_settings().is_some() {
        lines.push(Line::raw(""));
    }
    match (diag.verdict, diag.causes.first(), d.running) {
        (Verdict::Ok, _, false) => {
            let s = &d.settings;
            lines.extend(wrap_prefixed(
                &format!("{} ", theme.status_symbol(Status::Pass)),
                &format!(
                    "No problem found: the server would take mail from {} to {} with these settings.",
                    s.effective_sender(),
                    s.recipient.trim()
                ),
                cols,
                theme.good().patch(theme.bold()),
            ));
        }
        (_, None, false) => {
            lines.extend(wrap_prefixed(
                &format!("{} ", theme.status_symbol(Status::Fail)),
                "A check failed, but no known cause matches the evidence. The failed check's details and the transcript show what the server said.",
                cols,
                theme.bad().patch(theme.bold()),
            ));
        }
        (_, None, true) => {}
        (_, Some(top), running) => {
            let head = if running {
                "Most likely so far"
            } else {
                "Most likely cause"
            };
            lines.push(Line::styled(head, theme.heading()));
            lines.extend(finding_lines(theme, top, cols, !running));
        }
    }
    if let Some(name) = &diag.provider_name {
        lines.push(Line::styled(format!("Provider: {name}"), theme.dim()));
    }
    if diag.causes.len() > 1 {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Other possible causes", theme.heading()));
        for f in &diag.causes[1..] {
            lines.extend(wrap_prefixed(
                &format!(" {} ", theme.bullet()),
                &theme.text(&format!(
                    "{} ({}, {:.0}%)",
                    f.title,
                    f.id,
                    f.confidence * 100.0
                )),
                cols,
                Style::new(),
            ));
            if let Some(fix) = f.fixes.first() {
                lines.extend(wrap_prefixed(
                    "   ",
                    &theme.text(&format!("Fix: {fix}")),
                    cols,
                    theme.dim(),
                ));
            }
        }
    }
    if !diag.warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Warnings (they do not stop this mail)",
            theme.heading(),
        ));
        for f in &diag.warnings {
            lines.extend(wrap_prefixed(
                &format!(" {} ", theme.bullet()),
                &theme.text(&format!("{} ({})", f.title, f.id)),
                cols,
                theme.warn(),
            ));
            if let Some(fix) = f.fixes.first() {
                lines.extend(wrap_prefixed(
                    "   ",
                    &theme.text(&format!("Fix: {fix}")),
                    cols,
                    theme.dim(),
                ));
            }
        }
    }
    if !diag.notes.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Notes", theme.heading()));
        for n in &diag.notes {
            lines.extend(wrap_prefixed(
                &format!(" {} ", theme.bullet()),
                &theme.text(&n.text),
                cols,
                Style::new(),
            ));
        }
    }
    lines
}

fn render_diagnosis(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = pane_block(theme, Pane::Diagnosis, d.focus == Pane::Diagnosis, "");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = diagnosis_lines(theme, d, inner.width as usize);
    let more = lines.len() > inner.height as usize + d.diag_scroll.top;
    scrolled(frame, inner, lines, &d.diag_scroll);
    if more && area.height > 0 && !d.running {
        let tag = if theme.ascii {
            " Tab, j: more v "
        } else {
            " Tab, ↓: more "
        };
        let x = area.x + area.width.saturating_sub(width(tag) as u16 + 1);
        frame.render_widget(
            Paragraph::new(Span::styled(tag, theme.dim())),
            Rect::new(x, area.y + area.height - 1, width(tag) as u16, 1),
        );
    }
}
