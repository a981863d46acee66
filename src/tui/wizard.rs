//! The wizard: one step per screen, one line of help under every field,
//! and the error standing at the field it is about.
//!
//! Steps: email address → provider (a preset from the catalog, when the
//! domain is known) → server, port, encryption → login → test addresses →
//! review → run. Back and forward keep what was typed; a step with an
//! invalid field does not let the user go on. Validation is the engine's
//! [`Settings::validate`], mapped onto the wizard's inputs, plus the few
//! checks only a form needs (a port that is not a number).

use super::app::{Action, App, Context, Effect, Screen};
use super::field::TextField;
use super::modal::{Modal, SaveDialog};
use super::theme::{Theme, truncate, width, wrap};
use crate::catalog::catalog;
use crate::probe::Outcome;
use crate::probe::discover::{self, SourceKind};
use crate::settings::{Field, Password, Security, Settings};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Email,
    Provider,
    Server,
    Login,
    Addresses,
    Review,
    /// Reached from the review: DNS server, CA file, EHLO name, timeout.
    Advanced,
}

impl Step {
    pub const MAIN: [Step; 6] = [
        Step::Email,
        Step::Provider,
        Step::Server,
        Step::Login,
        Step::Addresses,
        Step::Review,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Step::Email => "Your email address",
            Step::Provider => "Your mail provider",
            Step::Server => "Outgoing server",
            Step::Login => "Login",
            Step::Addresses => "Test addresses",
            Step::Review => "Review and run",
            Step::Advanced => "Advanced settings",
        }
    }

    /// 1-based position among the main steps.
    pub fn number(self) -> Option<usize> {
        Step::MAIN.iter().position(|s| *s == self).map(|i| i + 1)
    }

    fn next(self) -> Step {
        match self {
            Step::Advanced => Step::Review,
            s => Step::MAIN
                .get(s.number().unwrap_or(6))
                .copied()
                .unwrap_or(Step::Review),
        }
    }

    fn prev(self) -> Option<Step> {
        match self {
            Step::Advanced => Some(Step::Review),
            Step::Email => None,
            s => s.number().and_then(|n| Step::MAIN.get(n - 2)).copied(),
        }
    }

    fn intro(self) -> &'static str {
        match self {
            Step::Email => {
                "Which email address should be able to send mail? smtp-doctor uses it to suggest the server settings."
            }
            Step::Provider => "",
            Step::Server => {
                "Where your mail program or device sends mail. Copy these from its account settings."
            }
            Step::Login => "Most servers only send mail for users who log in.",
            Step::Addresses => {
                "Nothing is sent: the checks stop before a message would be handed over, and only ask the server whether it would take one."
            }
            Step::Review => "Check the settings, then press Enter to run the checks.",
            Step::Advanced => {
                "Only needed in special networks. Leave a field empty to use the default."
            }
        }
    }
}

/// One input of the wizard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    Account,
    /// Use the provider's preset, or enter the server by hand.
    Preset,
    Server,
    Port,
    Security,
    Auth,
    Login,
    Password,
    AllowPlain,
    Sender,
    Recipient,
    Dns,
    CaFile,
    Helo,
    Timeout,
}

impl Input {
    pub fn label(self) -> &'static str {
        match self {
            Input::Account => "Email address",
            Input::Preset => "Settings",
            Input::Server => "Outgoing server",
            Input::Port => "Port",
            Input::Security => "Encryption",
            Input::Auth => "My outgoing server requires authentication",
            Input::Login => "Login",
            Input::Password => "Password",
            Input::AllowPlain => "Allow login without encryption",
            Input::Sender => "Sender",
            Input::Recipient => "Test recipient",
            Input::Dns => "DNS server",
            Input::CaFile => "Extra CA file",
            Input::Helo => "EHLO name",
            Input::Timeout => "Timeout (seconds)",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Input::Account => "The address you send from, for example alice@example.com.",
            Input::Preset => "Left/Right or Space chooses; Enter goes on.",
            Input::Server => {
                "The outgoing (SMTP) server, e.g. smtp.example.com - not the incoming (IMAP/POP) one."
            }
            Input::Port => {
                "Usually 587 (STARTTLS) or 465 (SSL/TLS). 25 is for servers and local relays."
            }
            Input::Security => "Left/Right or Space chooses. It must match the port.",
            Input::Auth => {
                "Space switches it. Mail programs have this same checkbox; almost every server needs it."
            }
            Input::Login => "Usually your full email address. Leave empty to use it.",
            Input::Password => {
                "Hidden as you type; Ctrl-T shows it. It is only sent to this server."
            }
            Input::AllowPlain => {
                "Space switches it. The password would cross the network readable: only for a trusted local server."
            }
            Input::Sender => {
                "The From address the server sees. Leave empty to use your email address."
            }
            Input::Recipient => {
                "An address at another domain, e.g. a friend's Gmail address. Nothing is sent to it."
            }
            Input::Dns => {
                "IP[:port] of a DNS server to ask instead of this computer's. Empty: the system's."
            }
            Input::CaFile => {
                "A PEM file of extra certificate authorities to trust (a company CA). Empty: none."
            }
            Input::Helo => "The name the client gives in EHLO. Empty: this computer's address.",
            Input::Timeout => "How long each network step may take, 1 to 300 seconds.",
        }
    }

    fn is_text(self) -> bool {
        !matches!(
            self,
            Input::Preset | Input::Security | Input::Auth | Input::AllowPlain
        )
    }
}

/// One line per encryption choice.
pub fn security_line(s: Security) -> &'static str {
    match s {
        Security::Starttls => "starts plain, then encrypts (port 587)",
        Security::Tls => "encrypted from the first byte (port 465)",
        Security::None => "no encryption: local relays only (port 25)",
    }
}

/// The order the encryption choices are shown in.
const SECURITY_ORDER: [Security; 3] = [Security::Starttls, Security::Tls, Security::None];

/// Settings suggested by the catalog for the account's domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub provider: String,
    pub server: String,
    pub port: u16,
    pub security: Security,
}

impl Suggestion {
    fn for_domain(domain: &str) -> Option<Suggestion> {
        let (p, preset) = catalog().preset_for_domain(domain)?;
        Some(Suggestion {
            provider: p.name.clone(),
            server: preset.server.clone(),
            port: preset.port,
            security: Security::parse(&preset.security).unwrap_or(Security::Starttls),
        })
    }
}

/// "Find my settings" on the provider step: discovery for the typed
/// address, run by the runtime off the UI loop, without logging in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Finding {
    #[default]
    Idle,
    /// Discovery runs.
    Looking,
    /// The best working setting was filled in; the line says which and
    /// which source named it.
    Found(String),
    /// Nothing that works was found; the line says so and why.
    NotFound(String),
}

#[derive(Clone, Debug)]
pub struct WizardState {
    pub step: Step,
    /// Index into [`WizardState::inputs`].
    pub focus: usize,
    pub account: TextField,
    pub server: TextField,
    pub port: TextField,
    pub security: Security,
    pub auth: bool,
    pub login: TextField,
    pub password: TextField,
    pub allow_plain: bool,
    pub show_password: bool,
    pub sender: TextField,
    pub recipient: TextField,
    pub dns: TextField,
    pub ca_file: TextField,
    pub helo: TextField,
    pub timeout: TextField,
    /// On the provider step: take the suggestion.
    pub use_preset: bool,
    pub suggestion: Option<Suggestion>,
    /// The domain the suggestion was looked up for.
    pub suggestion_for: String,
    /// Where "Find my settings" stands.
    pub finding: Finding,
    /// The address it was started for.
    pub finding_for: String,
    /// Inputs whose errors are shown (left once, or a step was refused).
    pub touched: HashSet<Input>,
    /// The profile these settings came from.
    pub origin: Option<String>,
    pub save_password: bool,
    /// What the wizard does not edit, carried through unchanged.
    base: Settings,
}

impl WizardState {
    /// A new check, starting from `defaults` (DNS server and CA file from
    /// the environment).
    pub fn new(defaults: &Settings) -> WizardState {
        let mut w = WizardState::edit(defaults, None, false);
        w.step = Step::Email;
        w
    }

    /// Editing existing settings: every step is filled, and the wizard
    /// opens on the review.
    pub fn edit(s: &Settings, origin: Option<String>, save_password: bool) -> WizardState {
        WizardState {
            step: Step::Review,
            focus: 0,
            account: TextField::new(&s.account),
            server: TextField::new(&s.server),
            port: TextField::new(s.port.to_string()),
            security: s.security,
            auth: s.auth,
            login: TextField::new(&s.login),
            password: TextField::new(s.password.expose()),
            allow_plain: s.allow_plaintext_auth,
            show_password: false,
            sender: TextField::new(&s.sender),
            recipient: TextField::new(&s.recipient),
            dns: TextField::new(s.dns.clone().unwrap_or_default()),
            ca_file: TextField::new(
                s.ca_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            helo: TextField::new(&s.helo),
            timeout: TextField::new(s.timeout_secs.to_string()),
            use_preset: false,
            suggestion: None,
            suggestion_for: String::new(),
            finding: Finding::Idle,
            finding_for: String::new(),
            touched: HashSet::new(),
            origin,
            save_password,
            base: s.clone(),
        }
    }

    /// The inputs of the current step, in order.
    pub fn inputs(&self) -> Vec<Input> {
        self.inputs_of(self.step)
    }

    fn inputs_of(&self, step: Step) -> Vec<Input> {
        match step {
            Step::Email => vec![Input::Account],
            Step::Provider if self.suggestion.is_some() => vec![Input::Preset],
            Step::Provider | Step::Review => vec![],
            Step::Server => vec![Input::Server, Input::Port, Input::Security],
            Step::Login => {
                let mut v = vec![Input::Auth];
                if self.auth {
                    v.extend([Input::Login, Input::Password]);
                    if self.security == Security::None {
                        v.push(Input::AllowPlain);
                    }
                }
                v
            }
            Step::Addresses => vec![Input::Sender, Input::Recipient],
            Step::Advanced => vec![Input::Dns, Input::CaFile, Input::Helo, Input::Timeout],
        }
    }

    pub fn focused(&self) -> Option<Input> {
        self.inputs().get(self.focus).copied()
    }

    fn text_mut(&mut self, input: Input) -> Option<&mut TextField> {
        Some(match input {
            Input::Account => &mut self.account,
            Input::Server => &mut self.server,
            Input::Port => &mut self.port,
            Input::Login => &mut self.login,
            Input::Password => &mut self.password,
            Input::Sender => &mut self.sender,
            Input::Recipient => &mut self.recipient,
            Input::Dns => &mut self.dns,
            Input::CaFile => &mut self.ca_file,
            Input::Helo => &mut self.helo,
            Input::Timeout => &mut self.timeout,
            _ => return None,
        })
    }

    pub fn text(&self, input: Input) -> Option<&TextField> {
        Some(match input {
            Input::Account => &self.account,
            Input::Server => &self.server,
            Input::Port => &self.port,
            Input::Login => &self.login,
            Input::Password => &self.password,
            Input::Sender => &self.sender,
            Input::Recipient => &self.recipient,
            Input::Dns => &self.dns,
            Input::CaFile => &self.ca_file,
            Input::Helo => &self.helo,
            Input::Timeout => &self.timeout,
            _ => return None,
        })
    }

    fn parsed_port(&self) -> Option<u16> {
        self.port.value().trim().parse().ok()
    }

    fn parsed_timeout(&self) -> Option<u64> {
        self.timeout.value().trim().parse().ok()
    }

    /// The settings as typed so far.
    pub fn settings(&self) -> Settings {
        let opt = |f: &TextField| {
            let v = f.value().trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        Settings {
            account: self.account.value().trim().to_string(),
            login: self.login.value().trim().to_string(),
            password: Password::new(self.password.value()),
            server: self.server.value().trim().to_string(),
            port: self.parsed_port().unwrap_or(self.security.usual_port()),
            security: self.security,
            auth: self.auth,
            allow_plaintext_auth: self.auth && self.allow_plain,
            sender: self.sender.value().trim().to_string(),
            recipient: self.recipient.value().trim().to_string(),
            helo: self.helo.value().trim().to_string(),
            timeout_secs: self.parsed_timeout().unwrap_or(self.base.timeout_secs),
            dns: opt(&self.dns),
            ca_file: opt(&self.ca_file).map(Into::into),
            ..self.base.clone()
        }
    }

    /// Every problem of the settings, tied to the wizard input it is about.
    pub fn problems(&self) -> Vec<(Input, String)> {
        let mut out = Vec::new();
        if self.account.value().trim().is_empty() {
            out.push((
                Input::Account,
                "Enter your email address, for example alice@example.com.".to_string(),
            ));
        }
        let port_ok = matches!(self.parsed_port(), Some(p) if p > 0);
        if !port_ok {
            out.push((
                Input::Port,
                "Enter the port as a number from 1 to 65535, usually 587, 465 or 25.".to_string(),
            ));
        }
        let timeout_ok = self.parsed_timeout().is_some();
        if !timeout_ok {
            out.push((
                Input::Timeout,
                "Enter the timeout as a number of seconds, from 1 to 300.".to_string(),
            ));
        }
        let s = self.settings();
        // A problem that goes away with authentication off is about
        // sending the password unencrypted: it belongs on the login step.
        let without_login = Settings {
            auth: false,
            ..s.clone()
        }
        .validate();
        for p in s.validate() {
            let input = match p.field {
                Field::Account => Input::Account,
                Field::Server => Input::Server,
                Field::Port if port_ok => Input::Port,
                Field::Security if self.auth && !without_login.contains(&p) => Input::AllowPlain,
                Field::Security => Input::Security,
                Field::Login => Input::Login,
                Field::Password => Input::Password,
                Field::Sender => Input::Sender,
                Field::Recipient => Input::Recipient,
                Field::Helo => Input::Helo,
                Field::Timeout if timeout_ok => Input::Timeout,
                Field::Dns => Input::Dns,
                Field::CaFile => Input::CaFile,
                _ => continue,
            };
            out.push((input, p.message));
        }
        out
    }

    /// The problems of one step's inputs.
    fn step_problems(&self, step: Step) -> Vec<(Input, String)> {
        let inputs = self.inputs_of(step);
        self.problems()
            .into_iter()
            .filter(|(i, _)| inputs.contains(i))
            .collect()
    }

    /// A warning shown under an input: settings that run as given but
    /// rarely work (a port/encryption mismatch, a login without encryption).
    /// It never blocks the wizard.
    pub fn warning_for(&self, input: Input) -> Option<String> {
        let s = self.settings();
        s.warnings()
            .into_iter()
            .find(|p| {
                let at = if p.field == Field::Security && s.auth && s.security == Security::None {
                    Input::AllowPlain
                } else {
                    Input::Security
                };
                at == input
            })
            .map(|p| p.message)
    }

    /// The error shown under an input, once the user has been there.
    pub fn error_for(&self, input: Input) -> Option<String> {
        if !self.touched.contains(&input) {
            return None;
        }
        self.problems()
            .into_iter()
            .find(|(i, _)| *i == input)
            .map(|(_, m)| m)
    }

    fn move_focus(&mut self, delta: isize) {
        if let Some(i) = self.focused() {
            self.touched.insert(i);
        }
        let n = self.inputs().len();
        if n == 0 {
            return;
        }
        self.focus = (self.focus as isize + delta).rem_euclid(n as isize) as usize;
    }

    fn set_security(&mut self, new: Security) {
        let old = self.security;
        let port = self.port.value().trim();
        if port.is_empty() || port == old.usual_port().to_string() {
            self.port.set(new.usual_port().to_string());
        }
        self.security = new;
    }

    fn cycle_security(&mut self, delta: isize) {
        let i = SECURITY_ORDER
            .iter()
            .position(|s| *s == self.security)
            .unwrap_or(0);
        let n = SECURITY_ORDER.len() as isize;
        self.set_security(SECURITY_ORDER[(i as isize + delta).rem_euclid(n) as usize]);
    }

    /// Looks up the provider preset for the account's domain.
    fn refresh_suggestion(&mut self) {
        let domain = self
            .account
            .value()
            .trim()
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        if domain == self.suggestion_for {
            return;
        }
        self.suggestion = Suggestion::for_domain(&domain);
        self.suggestion_for = domain;
        self.use_preset = self.suggestion.as_ref().is_some_and(|s| {
            let typed = self.server.value().trim();
            typed.is_empty() || typed.eq_ignore_ascii_case(&s.server)
        });
    }

    /// The MX-based detection hook: a provider found from the domain's MX
    /// hosts fills in when the domain itself had no preset.
    pub fn provider_detected(&mut self, domain: &str, provider: &str) {
        if self.suggestion.is_some() || !domain.eq_ignore_ascii_case(&self.suggestion_for) {
            return;
        }
        let Some(p) = catalog().provider(provider) else {
            return;
        };
        if let Some(preset) = &p.preset {
            self.suggestion = Some(Suggestion {
                provider: p.name.clone(),
                server: preset.server.clone(),
                port: preset.port,
                security: Security::parse(&preset.security).unwrap_or(Security::Starttls),
            });
            self.use_preset = self.server.value().trim().is_empty();
        }
    }

    /// The domain's own SRV record names its submission server.
    pub fn srv_detected(&mut self, domain: &str, server: &str, port: u16, security: Security) {
        if self.suggestion.is_some() || !domain.eq_ignore_ascii_case(&self.suggestion_for) {
            return;
        }
        self.suggestion = Some(Suggestion {
            // No provider name: the domain itself published the server.
            provider: String::new(),
            server: server.to_string(),
            port,
            security,
        });
        self.use_preset = self.server.value().trim().is_empty();
    }

    /// Starts "Find my settings" for the typed address: the settings to
    /// discover with, or None while a search already runs. The password is
    /// left out: discovery never logs in, so it has no use for it.
    pub fn start_finding(&mut self) -> Option<Settings> {
        if self.finding == Finding::Looking {
            return None;
        }
        let s = Settings {
            password: Password::new(""),
            ..self.settings()
        };
        self.finding = Finding::Looking;
        self.finding_for = s.account.clone();
        Some(s)
    }

    /// The outcome of a discovery for `account`: the best working candidate
    /// fills server, port, encryption and login. An answer for another
    /// address (the user went back and changed it), or one arriving after
    /// the user left the provider step (and may be typing their own
    /// server), changes nothing.
    pub fn discovered(&mut self, account: &str, outcome: &Outcome) {
        if self.finding != Finding::Looking || self.finding_for != account {
            return;
        }
        if self.step != Step::Provider || self.account.value().trim() != account {
            self.finding = Finding::Idle;
            return;
        }
        let Some(best) = best_working(outcome) else {
            let why = crate::printable::printable(&outcome.summary).into_owned();
            self.finding = Finding::NotFound(format!("Nothing found that works: {why}."));
            return;
        };
        self.server.set(&best.host);
        self.port.set(best.port.to_string());
        self.security = best.security;
        // As the dashboard's working settings: the full address is the
        // default login, so it stays empty then.
        let login = if best.username.eq_ignore_ascii_case(account) {
            ""
        } else {
            best.username.as_str()
        };
        self.login.set(login);
        // What was found is what Enter takes on, not a preset.
        self.use_preset = false;
        let mut line = format!(
            "Found by {}: {}, {}, {}",
            best.sources,
            best.host,
            best.port,
            best.security.label()
        );
        if !login.is_empty() {
            line.push_str(&format!(", login {login}"));
        }
        self.finding = Finding::Found(line);
    }

    fn apply_preset(&mut self) {
        if let (true, Some(s)) = (self.use_preset, self.suggestion.clone()) {
            self.server.set(&s.server);
            self.port.set(s.port.to_string());
            self.security = s.security;
        }
    }

    fn go(&mut self, step: Step) {
        self.step = step;
        self.focus = 0;
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(f) = self.focused().and_then(|i| self.text_mut(i)) {
            f.insert_str(text.trim());
        }
    }

    /// Keys of an input that is not a text field.
    fn choice_key(&mut self, input: Input, key: KeyEvent) -> bool {
        let delta = match key.code {
            KeyCode::Left => -1,
            KeyCode::Right | KeyCode::Char(' ') => 1,
            _ => return false,
        };
        match input {
            Input::Security => self.cycle_security(delta),
            Input::Auth => self.auth = !self.auth,
            Input::AllowPlain => self.allow_plain = !self.allow_plain,
            Input::Preset => self.use_preset = !self.use_preset,
            _ => return false,
        }
        true
    }

    pub fn keys(&self, _theme: &Theme) -> Vec<(&'static str, &'static str)> {
        match self.step {
            Step::Review => vec![
                ("Enter", "run checks"),
                ("s", "save profile"),
                ("a", "advanced"),
                ("1-5", "go to step"),
                ("Esc", "back"),
                ("F1", "help"),
            ],
            _ => {
                let mut k = vec![("Enter", "next")];
                if self.step == Step::Provider {
                    k.push(("f", "find my settings"));
                }
                k.extend([("Esc", "back"), ("Tab", "field")]);
                if self.step == Step::Login && self.auth {
                    k.push(("Ctrl-T", "show password"));
                }
                k.extend([("Ctrl-C", "quit"), ("F1", "help")]);
                k
            }
        }
    }
}

pub fn help() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "Enter",
            "Go on to the next step (on the review: run the checks)",
        ),
        ("Esc", "Back to the previous step; what you typed stays"),
        ("Tab, Up/Down", "Move between the fields of a step"),
        ("Left/Right, Space", "Change a choice or switch a checkbox"),
        ("Ctrl-T", "Show or hide the password"),
        (
            "f (provider step)",
            "Find my settings: look up and try this address's servers, without logging in",
        ),
        (
            "Ctrl-U, Ctrl-K",
            "Clear the field before / after the cursor",
        ),
        ("s (review)", "Save these settings as a profile"),
        (
            "a (review)",
            "Advanced: DNS server, extra CA file, EHLO name, timeout",
        ),
        ("1-5 (review)", "Jump back to a step"),
        ("F1", "This help"),
        ("Ctrl-C", "Quit"),
    ]
}

impl WizardState {
    pub fn on_key(&mut self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return self.back(),
            KeyCode::Enter => return self.forward(),
            KeyCode::Tab | KeyCode::Down => self.move_focus(1),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(-1),
            KeyCode::Char('t') if ctrl => self.show_password = !self.show_password,
            KeyCode::Char('f') if !ctrl && self.step == Step::Provider => {
                return self
                    .start_finding()
                    .map(|s| Action::Effect(Effect::Discover(Box::new(s))))
                    .into_iter()
                    .collect();
            }
            _ if self.step == Step::Review => return self.review_key(ctx, key),
            _ => self.input_key(key),
        }
        Vec::new()
    }

    /// Esc: the step before, or the start screen from the first.
    fn back(&mut self) -> Vec<Action> {
        if let Some(i) = self.focused() {
            self.touched.insert(i);
        }
        match self.step.prev() {
            Some(p) => self.go(p),
            None => return vec![Action::GoTo(Screen::Start(Default::default()))],
        }
        Vec::new()
    }

    /// A key for the focused input: typing, or choosing.
    fn input_key(&mut self, key: KeyEvent) {
        let Some(input) = self.focused() else {
            return;
        };
        if input.is_text() {
            if let Some(f) = self.text_mut(input) {
                f.handle(key);
            }
        } else {
            self.choice_key(input, key);
        }
    }

    fn review_key(&mut self, ctx: &Context, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Char('a') => self.go(Step::Advanced),
            KeyCode::Char(c @ '1'..='5') => {
                let n = c as usize - '1' as usize;
                self.go(Step::MAIN[n]);
            }
            KeyCode::Char('s') => {
                let dialog = SaveDialog::new(
                    self.settings(),
                    self.origin.clone(),
                    self.save_password,
                    ctx.profiles,
                );
                return vec![Action::OpenModal(Modal::Save(dialog))];
            }
            _ => {}
        }
        Vec::new()
    }

    /// Enter: go on when the step is valid; on the review, run.
    fn forward(&mut self) -> Vec<Action> {
        if self.step == Step::Provider {
            self.apply_preset();
        }
        if self.step == Step::Review {
            return self.run();
        }
        if !self.step_problems(self.step).is_empty() {
            refuse(self);
            return Vec::new();
        }
        let mut actions = Vec::new();
        if self.step == Step::Email {
            actions.extend(self.email_done().map(Action::Effect));
        }
        let next = self.step.next();
        self.go(next);
        actions
    }

    /// Enter on the review: run, unless a step is still wrong.
    fn run(&mut self) -> Vec<Action> {
        // Every step again: a profile may hold settings no step checked yet.
        let bad = Step::MAIN
            .iter()
            .chain([Step::Advanced].iter())
            .find(|s| !self.step_problems(**s).is_empty())
            .copied();
        if let Some(step) = bad {
            self.go(step);
            refuse(self);
            return Vec::new();
        }
        vec![Action::Run {
            settings: self.settings(),
            profile: self.origin.clone(),
            save_password: self.save_password,
        }]
    }

    /// Leaving the address step: suggest a provider, and ask the DNS for
    /// one when the domain is not a well-known one.
    fn email_done(&mut self) -> Option<Effect> {
        self.refresh_suggestion();
        // A search for another address says nothing about this one.
        if self.finding_for != self.account.value().trim() {
            self.finding = Finding::Idle;
        }
        // Not a well-known domain: its MX may still name the provider
        // (a Microsoft 365 or Google MX), or its SRV the server.
        if self.suggestion.is_none() && !self.suggestion_for.is_empty() {
            return Some(Effect::DetectProvider {
                domain: self.suggestion_for.clone(),
                settings: Box::new(self.settings()),
            });
        }
        None
    }
}

/// Shows every error of the step and focuses the first bad input.
fn refuse(w: &mut WizardState) {
    let problems = w.step_problems(w.step);
    let inputs = w.inputs();
    w.touched.extend(inputs.iter().copied());
    if let Some(first) = problems.first() {
        w.focus = inputs.iter().position(|i| *i == first.0).unwrap_or(0);
    }
}

pub fn header(w: &WizardState, theme: &Theme) -> Line<'static> {
    let what = if w.origin.is_some() {
        format!("Edit profile \"{}\"", w.origin.as_deref().unwrap_or(""))
    } else {
        "New check".to_string()
    };
    let step = match w.step.number() {
        Some(n) => format!("Step {n} of {}: {}", Step::MAIN.len(), w.step.title()),
        None => w.step.title().to_string(),
    };
    Line::from(vec![
        Span::styled(" smtp-doctor", theme.heading()),
        Span::raw(format!(" {} {what} {} ", theme.dot(), theme.dot())),
        Span::styled(step, theme.bold()),
    ])
}

/// Width of the label column.
const LABEL: usize = 18;

/// Wizard layout: one box per step.
///
/// ```text
/// ┌ Outgoing server ───────────────────────────────────┐
/// │ what this step is about (dim)                      │
/// │                                                    │
/// │ ▶ Outgoing server [smtp.example.com              ] │  label + field
/// │                   help line (dim)                  │
/// │                   ✖ error at the field (red)       │
/// │                                                    │
/// │   Encryption      (•) STARTTLS  starts plain, …    │  choices: one
/// │                   ( ) SSL/TLS   encrypted from …   │  line each
/// └────────────────────────────────────────────────────┘
/// ```
pub fn render(app: &App, w: &WizardState, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let block = Block::bordered()
        .border_set(theme.border_set())
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", w.step.title()), theme.bold()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cols = inner.width.saturating_sub(1) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor: Option<(usize, usize)> = None;
    let intro = match w.step {
        Step::Provider => provider_intro(w),
        s => s.intro().to_string(),
    };
    for l in wrap(&intro, cols.saturating_sub(1)) {
        lines.push(Line::styled(format!(" {l}"), theme.dim()));
    }
    lines.push(Line::raw(""));
    if w.step == Step::Provider {
        finding_lines(theme, &w.finding, cols, &mut lines);
    }
    match w.step {
        Step::Review => review_lines(app, w, cols, &mut lines),
        _ => {
            for (n, input) in w.inputs().into_iter().enumerate() {
                if n > 0 {
                    lines.push(Line::raw(""));
                }
                let focused = n == w.focus;
                let c = input_lines(theme, w, input, focused, cols, &mut lines);
                if focused && c.is_some() {
                    cursor = c;
                }
            }
        }
    }
    // Keep the focused field in view on short screens.
    let height = inner.height as usize;
    let top = match cursor {
        Some((row, _)) if row + 3 > height => row + 3 - height,
        _ => 0,
    };
    let shown: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if let Some((row, col)) = cursor
        && row >= top
        && row - top < height
    {
        frame.set_cursor_position(Position::new(
            inner.x + col as u16,
            inner.y + (row - top) as u16,
        ));
    }
}

/// The line of "Find my settings", with a blank line after it.
fn finding_lines(theme: &Theme, f: &Finding, cols: usize, lines: &mut Vec<Line<'static>>) {
    let (text, style) = match f {
        Finding::Idle => return,
        Finding::Looking => (
            format!("Looking for your settings{}", theme.ellipsis()),
            theme.bold(),
        ),
        Finding::Found(t) => (theme.text(t), theme.good()),
        Finding::NotFound(t) => (theme.text(t), theme.warn()),
    };
    for l in wrap(&text, cols.saturating_sub(1)) {
        lines.push(Line::styled(format!(" {l}"), style));
    }
    lines.push(Line::raw(""));
}

/// The best working candidate of a discover outcome, read from its details
/// (the same record the report and the dashboard read).
struct Best {
    host: String,
    port: u16,
    security: Security,
    username: String,
    /// "autoconfig", "SRV, MX"…
    sources: String,
}

fn best_working(o: &Outcome) -> Option<Best> {
    if o.detail_bool("oauth_only") == Some(true) {
        return None;
    }
    let c = o.details.get("candidates")?.as_array()?.first()?;
    if c.get("works")?.as_bool() != Some(true) {
        return None;
    }
    let mut sources: Vec<&str> = Vec::new();
    for s in c.get("sources")?.as_array()? {
        let kind = s.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        let label = SourceKind::from_name(kind).map_or("a source", SourceKind::label);
        if !sources.contains(&label) {
            sources.push(label);
        }
    }
    let text = |k: &str| -> Option<String> {
        Some(crate::printable::printable(c.get(k)?.as_str()?).into_owned())
    };
    Some(Best {
        host: text("host")?,
        port: u16::try_from(c.get("port")?.as_u64()?).ok()?,
        security: Security::parse(c.get("security")?.as_str()?)?,
        username: text("username")?,
        sources: sources.join(", "),
    })
}

/// What the runtime runs for [`Effect::Discover`], on a task of its own:
/// discovery (no login) and its outcome, as the message for the wizard.
pub async fn find_settings(settings: Settings) -> super::app::Msg {
    let d = discover::discover(&settings, &discover::Options::default()).await;
    super::app::Msg::Discovered {
        account: settings.account.clone(),
        outcome: Box::new(discover::outcome(&d, &settings)),
    }
}

fn provider_intro(w: &WizardState) -> String {
    let domain = if w.suggestion_for.is_empty() {
        "this domain".to_string()
    } else {
        w.suggestion_for.clone()
    };
    match &w.suggestion {
        Some(s) if s.provider.is_empty() => format!(
            "{domain} publishes its outgoing server in DNS (an SRV record): {} port {}, {}.",
            s.server,
            s.port,
            s.security.label()
        ),
        Some(s) => format!(
            "{domain} is a {} address. Its outgoing server settings are: {} port {}, {}.",
            s.provider,
            s.server,
            s.port,
            s.security.label()
        ),
        None => format!(
            "smtp-doctor knows no preset for {domain}. Your provider's help pages or your IT department name the outgoing (SMTP) server; it often looks like smtp.{domain} or mail.{domain}. Press Enter to type it in, or f to find settings that work."
        ),
    }
}

/// Appends the lines of one input; returns the cursor (row, column) of a
/// text field.
fn input_lines(
    theme: &Theme,
    w: &WizardState,
    input: Input,
    focused: bool,
    cols: usize,
    lines: &mut Vec<Line<'static>>,
) -> Option<(usize, usize)> {
    let pointer = if focused { theme.pointer() } else { " " };
    let label_style = if focused { theme.bold() } else { theme.plain() };
    let indent = " ".repeat(LABEL + 3);
    let field_cols = cols.saturating_sub(LABEL + 4).clamp(1, 48);
    let mut cursor = None;
    match input {
        Input::Auth | Input::AllowPlain => {
            let on = if input == Input::Auth {
                w.auth
            } else {
                w.allow_plain
            };
            let style = if focused {
                theme.selected()
            } else {
                theme.plain()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{pointer} "), label_style),
                Span::styled(format!("{} {}", theme.check_box(on), input.label()), style),
            ]));
            for l in wrap(input.help(), cols.saturating_sub(6)) {
                lines.push(Line::styled(format!("      {l}"), theme.dim()));
            }
            error_lines(theme, w, input, "      ", cols, lines);
            return None;
        }
        Input::Security => {
            for (n, s) in SECURITY_ORDER.iter().enumerate() {
                let label = if n == 0 {
                    format!("{pointer} {:<LABEL$} ", input.label())
                } else {
                    indent.clone()
                };
                let chosen = *s == w.security;
                let style = if chosen && focused {
                    theme.selected()
                } else if chosen {
                    theme.bold()
                } else {
                    theme.plain()
                };
                let text = format!("{} {:<8}", theme.radio(chosen), s.label());
                let expl = truncate(
                    security_line(*s),
                    cols.saturating_sub(LABEL + 3 + width(&text) + 1),
                    theme.ellipsis(),
                );
                lines.push(Line::from(vec![
                    Span::styled(label, label_style),
                    Span::styled(text, style),
                    Span::styled(format!(" {expl}"), theme.dim()),
                ]));
            }
        }
        Input::Preset => {
            let label = format!("{pointer} {:<LABEL$} ", input.label());
            let opt = |on: bool, text: &str| {
                let style = if on && focused {
                    theme.selected()
                } else if on {
                    theme.bold()
                } else {
                    theme.plain()
                };
                Span::styled(format!("{} {text}", theme.radio(on)), style)
            };
            lines.push(Line::from(vec![
                Span::styled(label, label_style),
                opt(w.use_preset, "Use these"),
                Span::raw("  "),
                opt(!w.use_preset, "Enter my own"),
            ]));
        }
        _ => {
            let field = w.text(input).cloned().unwrap_or_default();
            let mask = input == Input::Password && !w.show_password;
            let style = if focused {
                theme.selected()
            } else {
                theme.plain()
            };
            let (value, col) = field.line(theme, field_cols, mask, style);
            let label = format!("{pointer} {:<LABEL$} ", input.label());
            cursor = Some((lines.len(), width(&label) + 1 + col));
            let mut spans = vec![Span::styled(label, label_style), Span::raw("[")];
            spans.extend(value.spans);
            spans.push(Span::raw("]"));
            lines.push(Line::from(spans));
        }
    }
    for l in wrap(input.help(), cols.saturating_sub(LABEL + 3)) {
        lines.push(Line::styled(format!("{indent}{l}"), theme.dim()));
    }
    error_lines(theme, w, input, &indent, cols, lines);
    cursor
}

fn error_lines(
    theme: &Theme,
    w: &WizardState,
    input: Input,
    indent: &str,
    cols: usize,
    lines: &mut Vec<Line<'static>>,
) {
    let (status, text, style) = match (w.error_for(input), w.warning_for(input)) {
        (Some(e), _) => (crate::probe::Status::Fail, e, theme.error()),
        (None, Some(warning)) => (crate::probe::Status::Warn, warning, theme.warn()),
        (None, None) => return,
    };
    let sym = theme.status_symbol(status);
    let text = theme.text(&text);
    for (i, l) in wrap(&text, cols.saturating_sub(width(indent) + 2))
        .into_iter()
        .enumerate()
    {
        let head = if i == 0 {
            format!("{sym} ")
        } else {
            "  ".into()
        };
        lines.push(Line::styled(format!("{indent}{head}{l}"), style));
    }
}

fn review_lines(app: &App, w: &WizardState, cols: usize, lines: &mut Vec<Line<'static>>) {
    let theme = &app.theme;
    let s = w.settings();
    let or = |v: &str, d: &str| {
        if v.trim().is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("1 Email address", or(&s.account, "(none)")),
        ("3 Outgoing server", or(&s.server, "(none)")),
        (
            "3 Port, encryption",
            format!("{}, {}", s.port, s.security.label()),
        ),
        (
            "4 Login",
            if s.auth {
                format!(
                    "{} (password {})",
                    or(s.effective_login(), "(none)"),
                    if s.password.is_empty() {
                        "missing"
                    } else {
                        "given"
                    }
                )
            } else {
                "off: the server is used without login".to_string()
            },
        ),
        ("5 Sender", or(s.effective_sender(), "(none)")),
        ("5 Test recipient", or(&s.recipient, "(none)")),
    ];
    if let Some(d) = &s.dns {
        rows.push(("a DNS server", d.clone()));
    }
    if let Some(c) = &s.ca_file {
        rows.push(("a Extra CA file", c.display().to_string()));
    }
    if !s.helo.is_empty() {
        rows.push(("a EHLO name", s.helo.clone()));
    }
    if s.timeout_secs != crate::settings::DEFAULT_TIMEOUT.as_secs() {
        rows.push(("a Timeout", format!("{} s", s.timeout_secs)));
    }
    for (k, v) in rows {
        let v = truncate(&v, cols.saturating_sub(LABEL + 4), theme.ellipsis());
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<LABEL$}  "), theme.dim()),
            Span::styled(v, theme.bold()),
        ]));
    }
    lines.push(Line::raw(""));
    let problems = w.problems();
    if problems.is_empty() {
        let saved = match &w.origin {
            Some(name) => format!("These settings come from the profile \"{name}\". "),
            None => String::new(),
        };
        for l in wrap(
            &format!(
                "{saved}Enter runs the checks; nothing is sent. s saves these settings as a profile; the numbers on the left go back to a step."
            ),
            cols.saturating_sub(2),
        ) {
            lines.push(Line::styled(format!(" {l}"), theme.dim()));
        }
    } else {
        lines.push(Line::styled(
            " Still to fix (Enter takes you there):",
            theme.error(),
        ));
        for (input, msg) in problems.iter().take(4) {
            for l in wrap(
                &theme.text(&format!("{}: {msg}", input.label())),
                cols.saturating_sub(4),
            ) {
                lines.push(Line::styled(format!("   {l}"), theme.error()));
            }
        }
    }
}
