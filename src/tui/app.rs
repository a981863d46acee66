//! The application state and its update function.
//!
//! Elm-like: everything the screen shows lives in [`App`]; [`App::update`]
//! takes one [`Msg`] (a key, a probe event, the result of a file operation)
//! and returns the [`Effect`]s the runtime must carry out — start a run,
//! save a profile, write a report. `update` itself does no I/O, so the key
//! handling of every screen is tested without a terminal or a network.
//!
//! Screens are an enum, and each screen is a component: it owns its state
//! and handles a key with a method on that state, reading the rest of the
//! app only through a read-only [`Context`]. What reaches beyond its own
//! state (another screen, a dialog, a run, work for the runtime, a
//! message) it returns as [`Action`]s, and [`App::apply`] is the one place
//! that carries them out. Modal dialogs and the help overlay sit above the
//! screen.

use super::dashboard::DashState;
use super::explain::ExplainState;
use super::modal::Modal;
use super::start::{self, StartState};
use super::theme::Theme;
use super::wizard::WizardState;
use crate::clientconf::Client;
use crate::probe::Event;
use crate::profile::Profile;
use crate::report::Format;
use crate::settings::{Security, Settings};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::path::{Path, PathBuf};

/// Everything that can happen to the app.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    Resize,
    /// The spinner's clock; sent only while checks run.
    Tick,
    /// An event of run number `run_id`; events of older runs are ignored.
    Probe {
        run_id: u64,
        event: Event,
    },
    /// The profile list was (re)read.
    Profiles(Result<Vec<ListedProfile>, String>),
    /// A profile was saved (its name and file) or could not be.
    ProfileSaved(Result<(String, PathBuf), String>),
    /// A rename, copy or delete finished: what to tell the user.
    ProfileChanged(Result<String, String>),
    /// The report was written to this file, or could not be.
    Exported(Result<PathBuf, String>),
    /// A mail program's settings were written to these files, or could
    /// not be.
    ClientExported(Result<(Client, Vec<PathBuf>), String>),
    /// The provider behind a domain's MX hosts was found. Hook for MX-based
    /// detection: the runtime sends it once the engine offers an MX lookup;
    /// the wizard already takes it.
    ProviderDetected {
        domain: String,
        provider: String,
    },
    /// The domain publishes its submission server in SRV records (RFC 6186).
    SrvDetected {
        domain: String,
        server: String,
        port: u16,
        security: Security,
    },
    /// "Find my settings" finished for this address: the discover outcome.
    Discovered {
        account: String,
        outcome: Box<crate::probe::Outcome>,
    },
    /// The log triage number `id` of the explain screen finished.
    LogTriaged {
        id: u64,
        result: Result<Box<crate::logscan::Triage>, String>,
    },
    /// A signal (SIGTERM, SIGHUP, SIGINT) or the end of the input.
    Quit,
}

/// Work for the runtime.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Cancel any run in progress and start this one as run number `run_id`.
    StartRun {
        run_id: u64,
        settings: Settings,
    },
    CancelRun,
    LoadProfiles,
    /// Save a profile; `overwrite` allows replacing a (healthy) file of that name.
    SaveProfile {
        profile: Profile,
        overwrite: bool,
    },
    DeleteProfile(String),
    RenameProfile {
        from: String,
        to: String,
    },
    DuplicateProfile {
        from: String,
        to: String,
    },
    /// Write the dashboard's report to a file.
    Export(Format),
    /// Write the settings for this mail program (`config --client`, never
    /// the password) into the export directory, off the UI loop; answer
    /// with `Msg::ClientExported`.
    ExportClient {
        client: Client,
        settings: Box<Settings>,
    },
    /// Look up a custom domain's MX and SRV records for a suggestion, with
    /// the resolver these settings name.
    DetectProvider {
        domain: String,
        settings: Box<Settings>,
    },
    /// Run discovery (never a login) for these settings' address off the UI
    /// loop; answer with `Msg::Discovered`.
    Discover(Box<Settings>),
    /// Triage this log file off the UI loop; answer with `Msg::LogTriaged`.
    TriageLog {
        id: u64,
        path: PathBuf,
    },
}

/// What a screen's key handler asks for. A screen changes only its own
/// state; everything beyond it (another screen, a dialog, a run, work for
/// the runtime, the line under the screen) it asks for here, and
/// [`App::apply`] alone carries it out, so one place decides how the app
/// moves on.
pub enum Action {
    /// Show this screen instead of the current one.
    GoTo(Screen),
    /// Show this dialog over the screen (or keep showing it: a dialog is
    /// taken out while it handles a key).
    OpenModal(Modal),
    /// Switch to the dashboard and run these settings.
    Run {
        settings: Settings,
        profile: Option<String>,
        save_password: bool,
    },
    /// Work for the runtime, passed on as it is.
    Effect(Effect),
    /// A one-line message under the screen; `true` for an error.
    Flash(String, bool),
    /// Open the help overlay.
    Help,
    /// Leave the app (cancelling any run).
    Quit,
}

/// What a screen's key handler may read of the app, and nothing it could
/// change: the theme, the profile list and where things are kept.
pub struct Context<'a> {
    pub theme: &'a Theme,
    pub profiles: &'a [ListedProfile],
    pub profile_dir: &'a Path,
    pub export_dir: &'a Path,
    pub defaults: &'a Settings,
}

impl Context<'_> {
    pub fn find_profile(&self, name: &str) -> Option<&ListedProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }
}

/// A profile as the start screen lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedProfile {
    pub name: String,
    pub path: PathBuf,
    /// The profile, or why it cannot be used (file, line and column).
    pub profile: Result<Profile, String>,
}

pub enum Screen {
    Start(StartState),
    Wizard(Box<WizardState>),
    Dashboard(Box<DashState>),
    Explain(ExplainState),
}

/// A one-line message under the screen until the next key.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub theme: Theme,
    pub screen: Screen,
    pub modal: Option<Modal>,
    pub help: bool,
    pub flash: Option<Flash>,
    pub profiles: Vec<ListedProfile>,
    /// Why the profile directory could not be read, when it could not.
    pub profiles_error: Option<String>,
    /// Where profiles are kept (shown when saving a password).
    pub profile_dir: PathBuf,
    /// Where exported reports go (the working directory).
    pub export_dir: PathBuf,
    /// The starting values of a new check (DNS server, CA file from the
    /// environment).
    pub defaults: Settings,
    /// The number of the latest run.
    pub run_id: u64,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
}

impl App {
    pub fn new(theme: Theme, profile_dir: PathBuf, defaults: Settings) -> App {
        App {
            theme,
            screen: Screen::Start(StartState::default()),
            modal: None,
            help: false,
            flash: None,
            profiles: Vec::new(),
            profiles_error: None,
            profile_dir,
            export_dir: PathBuf::from("."),
            defaults,
            run_id: 0,
            quit: false,
            dirty: true,
        }
    }

    /// Whether the spinner turns (checks are running).
    pub fn animating(&self) -> bool {
        matches!(&self.screen, Screen::Dashboard(d) if d.running)
    }

    pub fn set_flash(&mut self, text: impl Into<String>, error: bool) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
        });
    }

    /// Switches to the dashboard and starts a run of these settings.
    pub fn begin_run(
        &mut self,
        settings: Settings,
        profile: Option<String>,
        save_password: bool,
    ) -> Vec<Effect> {
        self.run_id += 1;
        // Every run (wizard, profile, rerun, demo) gets the environment's
        // DNS, echo DNS and CA where its settings leave them open, so no
        // path asks other resolvers than the user pointed it at.
        let settings = Settings {
            dns: settings.dns.or_else(|| self.defaults.dns.clone()),
            echo_dns: settings.echo_dns.or_else(|| self.defaults.echo_dns.clone()),
            ca_file: settings.ca_file.or_else(|| self.defaults.ca_file.clone()),
            ..settings
        };
        let dash = DashState::new(settings.clone(), profile, save_password, self.run_id);
        self.screen = Screen::Dashboard(Box::new(dash));
        vec![Effect::StartRun {
            run_id: self.run_id,
            settings,
        }]
    }

    /// The file a profile of this name would be saved in.
    pub fn profile_path(&self, name: &str) -> PathBuf {
        self.profile_dir.join(format!("{name}.json"))
    }

    pub fn find_profile(&self, name: &str) -> Option<&ListedProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// What the screens may read of the app.
    pub fn context(&self) -> Context<'_> {
        Context {
            theme: &self.theme,
            profiles: &self.profiles,
            profile_dir: &self.profile_dir,
            export_dir: &self.export_dir,
            defaults: &self.defaults,
        }
    }

    /// The screen to hand a key to, and the read-only rest it may consult;
    /// split so both borrows live at once.
    fn parts(&mut self) -> (&mut Screen, Context<'_>) {
        let ctx = Context {
            theme: &self.theme,
            profiles: &self.profiles,
            profile_dir: &self.profile_dir,
            export_dir: &self.export_dir,
            defaults: &self.defaults,
        };
        (&mut self.screen, ctx)
    }

    /// Carries out what a screen asked for, in order; returns the work for
    /// the runtime.
    pub fn apply(&mut self, actions: Vec<Action>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for action in actions {
            match action {
                Action::GoTo(screen) => self.screen = screen,
                Action::OpenModal(m) => self.modal = Some(m),
                Action::Run {
                    settings,
                    profile,
                    save_password,
                } => effects.extend(self.begin_run(settings, profile, save_password)),
                Action::Effect(e) => effects.push(e),
                Action::Flash(text, error) => self.set_flash(text, error),
                Action::Help => self.help = true,
                Action::Quit => effects.extend(self.quit()),
            }
        }
        effects
    }

    /// The result of a save: close the dialog and let the screen know its
    /// settings now have that profile's name, or show the error in the
    /// dialog (or under the screen when the dialog is gone).
    fn profile_saved(&mut self, result: Result<(String, PathBuf), String>) -> Vec<Effect> {
        let (name, path) = match result {
            Ok(saved) => saved,
            Err(e) => {
                match &mut self.modal {
                    Some(Modal::Save(d)) => d.error = Some(e),
                    _ => self.set_flash(e, true),
                }
                return Vec::new();
            }
        };
        let with_password = match self.modal.take() {
            Some(Modal::Save(d)) => d.keeps_password(),
            _ => false,
        };
        match &mut self.screen {
            Screen::Dashboard(d) => {
                d.profile = Some(name.clone());
                d.save_password = with_password;
            }
            Screen::Wizard(w) => {
                w.origin = Some(name.clone());
                w.save_password = with_password;
            }
            _ => {}
        }
        let what = if with_password {
            "with the password"
        } else {
            "without the password"
        };
        self.set_flash(
            format!("Saved profile \"{name}\" ({what}) to {}", path.display()),
            false,
        );
        vec![Effect::LoadProfiles]
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Tick => {
                if let Screen::Dashboard(d) = &mut self.screen
                    && d.running
                {
                    d.spinner = d.spinner.wrapping_add(1);
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Resize => {
                self.dirty = true;
                Vec::new()
            }
            Msg::Key(key) => {
                if key.kind != KeyEventKind::Press {
                    return Vec::new();
                }
                self.dirty = true;
                self.on_key(key)
            }
            Msg::Paste(text) => {
                self.dirty = true;
                self.on_paste(&text);
                match &mut self.screen {
                    Screen::Explain(e) => e.take_effects(),
                    _ => Vec::new(),
                }
            }
            Msg::Probe { run_id, event } => {
                if let Screen::Dashboard(d) = &mut self.screen
                    && d.run_id == run_id
                {
                    d.on_event(event);
                    self.dirty = true;
                }
                Vec::new()
            }
            m @ (Msg::ProviderDetected { .. }
            | Msg::SrvDetected { .. }
            | Msg::Discovered { .. }) => {
                self.wizard_answer(m);
                Vec::new()
            }
            m @ (Msg::Profiles(_)
            | Msg::ProfileSaved(_)
            | Msg::ProfileChanged(_)
            | Msg::Exported(_)
            | Msg::ClientExported(_)) => {
                self.dirty = true;
                self.file_done(m)
            }
            Msg::LogTriaged { id, result } => {
                if let Screen::Explain(e) = &mut self.screen
                    && e.triaged(id, result)
                {
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Quit => self.quit(),
        }
    }

    /// A file operation of the runtime finished: the profile list was
    /// read, a profile saved or changed, a report written.
    fn file_done(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Profiles(list) => {
                match list {
                    Ok(list) => {
                        self.profiles = list;
                        self.profiles_error = None;
                    }
                    Err(e) => {
                        self.profiles.clear();
                        self.profiles_error = Some(e);
                    }
                }
                let count = start::item_count(self.profiles.len());
                if let Screen::Start(s) = &mut self.screen {
                    s.clamp(count);
                }
                Vec::new()
            }
            Msg::ProfileSaved(result) => self.profile_saved(result),
            Msg::ProfileChanged(result) => {
                match result {
                    Ok(text) => self.set_flash(text, false),
                    Err(e) => self.set_flash(e, true),
                }
                vec![Effect::LoadProfiles]
            }
            Msg::Exported(result) => {
                match result {
                    Ok(path) => {
                        self.set_flash(format!("Report saved to {}", path.display()), false)
                    }
                    Err(e) => self.set_flash(format!("Could not save the report: {e}"), true),
                }
                Vec::new()
            }
            Msg::ClientExported(result) => {
                match result {
                    Ok((client, paths)) => self.set_flash(client_written(client, &paths), false),
                    Err(e) => self.set_flash(
                        format!("Could not write the mail program's settings: {e}"),
                        true,
                    ),
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// An answer for the wizard (provider, SRV record, discovery); dropped
    /// when the wizard is gone.
    fn wizard_answer(&mut self, msg: Msg) {
        let Screen::Wizard(w) = &mut self.screen else {
            return;
        };
        match msg {
            Msg::ProviderDetected { domain, provider } => w.provider_detected(&domain, &provider),
            Msg::SrvDetected {
                domain,
                server,
                port,
                security,
            } => w.srv_detected(&domain, &server, port, security),
            Msg::Discovered { account, outcome } => w.discovered(&account, &outcome),
            _ => return,
        }
        self.dirty = true;
    }

    pub fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::CancelRun]
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return self.quit();
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        self.flash = None;
        if let Some(m) = self.modal.take() {
            let actions = m.on_key(&self.context(), key);
            return self.apply(actions);
        }
        if key.code == KeyCode::F(1) {
            self.help = true;
            return Vec::new();
        }
        let (screen, ctx) = self.parts();
        let actions = match screen {
            Screen::Start(s) => s.on_key(&ctx, key),
            Screen::Explain(e) => e.on_key(key),
            Screen::Wizard(w) => w.on_key(&ctx, key),
            Screen::Dashboard(d) => d.on_key(&ctx, key),
        };
        self.apply(actions)
    }

    fn on_paste(&mut self, text: &str) {
        if let Some(m) = &mut self.modal {
            m.paste(text);
            return;
        }
        match &mut self.screen {
            Screen::Wizard(w) => w.paste(text),
            Screen::Explain(e) => e.paste(text),
            Screen::Start(_) | Screen::Dashboard(_) => {}
        }
    }

    /// The keys of what is on screen now, most important first; the last
    /// one (help) is always shown.
    pub fn keys(&self) -> Vec<(&'static str, &'static str)> {
        if self.help {
            return vec![("any key", "close help")];
        }
        if let Some(m) = &self.modal {
            return m.keys(&self.theme);
        }
        match &self.screen {
            Screen::Start(s) => s.keys(&self.context()),
            Screen::Wizard(w) => w.keys(&self.theme),
            Screen::Dashboard(d) => d.keys(&self.theme),
            Screen::Explain(_) => super::explain::keys(),
        }
    }
}

/// Where a mail program's settings went, in one line.
fn client_written(client: Client, paths: &[PathBuf]) -> String {
    let label = client.label();
    match paths {
        [one] => format!(
            "Settings for {label} saved to {} (without the password)",
            one.display()
        ),
        _ => {
            let dir = paths
                .first()
                .and_then(|p| p.parent())
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let names: Vec<String> = paths
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            format!(
                "Settings for {label} saved to {dir}: {} (without the password)",
                names.join(", ")
            )
        }
    }
}
