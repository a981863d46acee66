//! Shared helpers of the TUI tests: an app with fixed paths, keys, and
//! check outcomes built by hand (what the demo server produces), so screens
//! are deterministic: no network, no clock.

#![allow(dead_code)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use smtp_doctor::probe::{CheckId, Dir, Event, Outcome, Status, TranscriptLine};
use smtp_doctor::reply::Reply;
use smtp_doctor::settings::{Password, Security, Settings};
use smtp_doctor::tui::{App, Effect, Msg, Theme};
use std::path::PathBuf;
use std::time::Duration;

pub const PROFILE_DIR: &str = "/home/alice/.config/smtp-doctor/profiles";

pub fn app_with(theme: Theme) -> App {
    let mut app = App::new(theme, PathBuf::from(PROFILE_DIR), Settings::default());
    app.export_dir = PathBuf::from("/home/alice");
    app
}

pub fn app() -> App {
    app_with(Theme {
        color: true,
        ascii: false,
    })
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Sends keys one by one; returns every effect.
pub fn press(app: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| app.update(m)).collect()
}

/// Types text into whatever has the focus.
pub fn type_text(app: &mut App, text: &str) -> Vec<Effect> {
    press(app, text.chars().map(ch))
}

/// The screen as text.
pub fn draw(app: &App, w: u16, h: u16) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| smtp_doctor::tui::render(app, f)).unwrap();
    t.backend().clone()
}

pub fn screen_text(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).to_string()
}

/// The settings of the demo: authentication off against a server that
/// relays only after login.
pub fn demo_settings() -> Settings {
    Settings {
        account: "demo@example.com".into(),
        server: "127.0.0.1".into(),
        port: 2525,
        security: Security::None,
        auth: false,
        recipient: "friend@example.net".into(),
        timeout_secs: 5,
        ..Settings::default()
    }
}

pub fn good_settings() -> Settings {
    Settings {
        account: "alice@smtpd.test".into(),
        server: "mail.smtpd.test".into(),
        port: 587,
        security: Security::Starttls,
        auth: true,
        password: Password::new("Corr3ct-H0rse-Battery"),
        recipient: "bob@example.net".into(),
        ..Settings::default()
    }
}

fn tl(t_ms: u64, dir: Dir, line: &str) -> TranscriptLine {
    TranscriptLine {
        t_ms,
        dir,
        line: line.to_string(),
    }
}

fn id(s: &str) -> CheckId {
    CheckId::parse(s).unwrap_or_else(|| panic!("unknown check id {s}"))
}

fn timed(mut o: Outcome, ms: u64) -> Outcome {
    o.duration = Duration::from_millis(ms);
    o
}

const EHLO: [&str; 8] = [
    "250-mail.example.com",
    "250-PIPELINING",
    "250-SIZE 10240000",
    "250-STARTTLS",
    "250-AUTH PLAIN LOGIN",
    "250-ENHANCEDSTATUSCODES",
    "250-8BITMIME",
    "250 SMTPUTF8",
];

/// The outcomes of the demo run, for every check the engine knows.
/// `authenticated`: the user followed the fix (login on, relay accepted).
pub fn demo_outcomes(authenticated: bool) -> Vec<Outcome> {
    let mut out = Vec::new();
    for c in CheckId::ALL {
        let o = match c.as_str() {
            "dns.server" => timed(
                Outcome::new(c, Status::Pass, "127.0.0.1 is an IP address; no DNS lookup needed")
                    .with("addresses", ["127.0.0.1"]),
                0,
            ),
            "net.port" => timed(
                Outcome::new(c, Status::Pass, "Connected to 127.0.0.1:2525 in 1 ms")
                    .with("port", 2525)
                    .with("address", "127.0.0.1:2525"),
                1,
            ),
            "net.ports" => timed(
                Outcome::new(
                    c,
                    Status::Warn,
                    "No usual mail port answers with SMTP; not usable: 25 refused, 465 refused, 587 refused, 2525 refused",
                )
                .with("address", "127.0.0.1"),
                3,
            ),
            "smtp.greeting" => {
                let r = Reply::parse("220 mail.example.com ESMTP Postfix").unwrap();
                let mut o = Outcome::new(c, Status::Pass, format!("Greeted: {}", r.summary()))
                    .with("banner", r.text())
                    .with_reply(Some(r));
                o.transcript = vec![tl(2, Dir::Server, "220 mail.example.com ESMTP Postfix")];
                timed(o, 1)
            }
            "smtp.ehlo" => {
                let r = Reply::from_lines(&EHLO).unwrap();
                let mut o = Outcome::new(
                    c,
                    Status::Pass,
                    "7 extensions: PIPELINING SIZE STARTTLS AUTH ENHANCEDSTATUSCODES 8BITMIME SMTPUTF8",
                )
                .with("server_name", "mail.example.com")
                .with("capabilities", &r.lines[1..])
                .with("auth_mechanisms", ["PLAIN", "LOGIN"])
                .with("starttls", true)
                .with_reply(Some(r));
                o.transcript = std::iter::once(tl(3, Dir::Client, "EHLO [127.0.0.1]"))
                    .chain(EHLO.iter().map(|l| tl(4, Dir::Server, l)))
                    .collect();
                timed(o, 41)
            }
            "tls" if authenticated => timed(
                Outcome::new(c, Status::Skip, "Encryption is off in the settings")
                    .with("mode", "none"),
                0,
            ),
            "tls" => timed(
                Outcome::new(
                    c,
                    Status::Warn,
                    "Encryption is off in the settings, although the server offers STARTTLS",
                )
                .with("mode", "none")
                .with("starttls_offered", true),
                0,
            ),
            "auth" if authenticated => {
                let r = Reply::parse("235 2.7.0 Authentication successful").unwrap();
                let mut o = Outcome::new(c, Status::Pass, "Logged in as demo@example.com (PLAIN)")
                    .with("mechanism", "PLAIN")
                    .with("auth_offered", true)
                    .with_reply(Some(r));
                o.transcript = vec![
                    tl(45, Dir::Client, "AUTH PLAIN [redacted]"),
                    tl(46, Dir::Server, "235 2.7.0 Authentication successful"),
                ];
                timed(o, 2)
            }
            "auth" => timed(
                Outcome::new(c, Status::Skip, "Authentication is turned off in the settings")
                    .with("offered_mechanisms", ["PLAIN", "LOGIN"])
                    .with("auth_offered", true),
                0,
            ),
            "relay" => {
                let (status, rcpt_line, summary) = if authenticated {
                    (
                        Status::Pass,
                        "250 2.1.5 Ok".to_string(),
                        "The server accepts mail from <demo@example.com> to <friend@example.net> after login".to_string(),
                    )
                } else {
                    (
                        Status::Fail,
                        "554 5.7.1 <friend@example.net>: Relay access denied".to_string(),
                        "The server refused to relay to <friend@example.net> without login: 554 5.7.1 <friend@example.net>: Relay access denied".to_string(),
                    )
                };
                let r = Reply::parse(&rcpt_line).unwrap();
                let mut o = Outcome::new(c, status, summary)
                    .with("sender", "demo@example.com")
                    .with("recipient", "friend@example.net")
                    .with("stage", "rcpt")
                    .with("accepted", authenticated)
                    .with("authenticated", authenticated)
                    .with_reply(Some(r));
                o.transcript = vec![
                    tl(46, Dir::Client, "MAIL FROM:<demo@example.com>"),
                    tl(46, Dir::Client, "RCPT TO:<friend@example.net>"),
                    tl(90, Dir::Server, "250 2.1.0 Ok"),
                    tl(90, Dir::Server, &rcpt_line),
                    tl(90, Dir::Client, "RSET"),
                    tl(91, Dir::Server, "250 2.0.0 Ok"),
                ];
                timed(o, 45)
            }
            _ => timed(Outcome::skip(c, "Not run in this test"), 0),
        };
        out.push(o);
    }
    out
}

/// Feeds a whole run to the dashboard of the latest run: every check
/// started and finished, then done.
pub fn feed_run(app: &mut App, outcomes: Vec<Outcome>) {
    let run_id = app.run_id;
    for o in outcomes {
        app.update(Msg::Probe {
            run_id,
            event: Event::Started(o.id),
        });
        app.update(Msg::Probe {
            run_id,
            event: Event::Finished(Box::new(o)),
        });
    }
    app.update(Msg::Probe {
        run_id,
        event: Event::Done,
    });
}

/// A run half way: the first checks done, the greeting running.
pub fn feed_partial(app: &mut App) {
    let run_id = app.run_id;
    let all = demo_outcomes(false);
    for o in all.into_iter().take(3) {
        app.update(Msg::Probe {
            run_id,
            event: Event::Started(o.id),
        });
        app.update(Msg::Probe {
            run_id,
            event: Event::Finished(Box::new(o)),
        });
    }
    let g = id("smtp.greeting");
    app.update(Msg::Probe {
        run_id,
        event: Event::Started(g),
    });
    app.update(Msg::Probe {
        run_id,
        event: Event::Progress(g, "waiting for the greeting".into()),
    });
    app.update(Msg::Probe {
        run_id,
        event: Event::Transcript(g, tl(2, Dir::Server, "220 mail.example.com ESMTP Postfix")),
    });
}
