//! The dashboard's "Working settings" section and its `w` key: when the
//! user's settings failed and discovery found a setting that works, one key
//! applies it, runs again, and a saved profile keeps it.

mod tui_common;

use smtp_doctor::probe::discover::{
    self, Candidate, Discovery, Probe, Source, SourceKind, Suggestion,
};
use smtp_doctor::settings::{Security, Settings};
use smtp_doctor::tui::app::{Effect, Screen};
use tui_common::*;

fn discovered(
    settings: &smtp_doctor::settings::Settings,
    works: bool,
) -> smtp_doctor::probe::Outcome {
    let d = Discovery {
        email: settings.account.clone(),
        domain: "example.com".into(),
        candidates: vec![Candidate {
            setting: Suggestion {
                host: "mail.example.com".into(),
                port: 465,
                security: Security::Tls,
                username: "demo@example.com".into(),
                username_form: "full address".into(),
                declared_auth: Vec::new(),
                sources: vec![Source {
                    kind: SourceKind::Srv,
                    detail: "_submissions._tcp.example.com".into(),
                }],
            },
            probe: Probe {
                state: "connected".into(),
                greeting: Some("220 mail.example.com ESMTP".into()),
                encrypted: true,
                cert_ok: Some(true),
                auth: vec!["PLAIN".into()],
                ..Probe::default()
            },
            works,
        }],
        ..Discovery::default()
    };
    discover::outcome(&d, settings)
}

fn run_with(works: bool) -> smtp_doctor::tui::app::App {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    let mut outcomes = demo_outcomes(false);
    outcomes.push(discovered(&demo_settings(), works));
    feed_run(&mut a, outcomes);
    a
}

#[test]
fn working_settings_are_shown_and_w_applies_them_and_runs_again() {
    let mut a = run_with(true);
    let text = screen_text(&a, 120, 40);
    assert!(text.contains("Working settings"), "{text}");
    assert!(text.contains("mail.example.com"), "{text}");
    insta::assert_snapshot!("dashboard_working_settings_120x40", text);
    let before = a.run_id;
    let fx = press(&mut a, [ch('w')]);
    let Some(Effect::StartRun { settings, run_id }) =
        fx.iter().find(|e| matches!(e, Effect::StartRun { .. }))
    else {
        panic!("w starts a run: {fx:?}");
    };
    assert_eq!(*run_id, before + 1);
    assert_eq!(
        (settings.server.as_str(), settings.port, settings.security),
        ("mail.example.com", 465, Security::Tls)
    );
    assert_eq!(
        settings.recipient,
        demo_settings().recipient,
        "the rest is kept"
    );
    let Screen::Dashboard(d) = &a.screen else {
        panic!("still on the dashboard")
    };
    assert_eq!(d.settings.server, "mail.example.com");
    // Saving the profile now saves the applied settings.
    press(&mut a, [ch('s')]);
    let shown = screen_text(&a, 120, 40);
    assert!(shown.contains("Save as profile"), "{shown}");
    let Screen::Dashboard(d) = &a.screen else {
        panic!()
    };
    assert_eq!((d.settings.port, d.settings.security), (465, Security::Tls));
}

#[test]
fn no_working_candidate_means_no_section_and_w_does_nothing() {
    let mut a = run_with(false);
    let text = screen_text(&a, 120, 40);
    assert!(!text.contains("Working settings"), "{text}");
    let fx = press(&mut a, [ch('w')]);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::StartRun { .. })),
        "{fx:?}"
    );
}

// ---- The wizard's "Find my settings" (key f on the provider step) ----

use ratatui::crossterm::event::KeyCode;
use smtp_doctor::tui::Msg;
use smtp_doctor::tui::wizard::{Finding, Step, WizardState};

/// A recorded discover outcome for `account`: one candidate, named by
/// `sources`, with `username` as its login.
fn found(account: &str, works: bool, username: &str, sources: &[SourceKind]) -> Msg {
    let settings = smtp_doctor::settings::Settings {
        account: account.into(),
        ..Default::default()
    };
    let d = Discovery {
        email: account.into(),
        domain: "example.com".into(),
        candidates: vec![Candidate {
            setting: Suggestion {
                host: "mail.example.com".into(),
                port: 587,
                security: Security::Starttls,
                username: username.into(),
                username_form: "full address".into(),
                declared_auth: Vec::new(),
                sources: sources
                    .iter()
                    .map(|k| Source {
                        kind: *k,
                        detail: "https://autoconfig.example.com/mail/config-v1.1.xml".into(),
                    })
                    .collect(),
            },
            probe: Probe {
                state: "connected".into(),
                greeting: Some("220 mail.example.com ESMTP".into()),
                encrypted: true,
                cert_ok: Some(works),
                auth: vec!["PLAIN".into()],
                ..Probe::default()
            },
            works,
        }],
        ..Discovery::default()
    };
    Msg::Discovered {
        account: account.into(),
        outcome: Box::new(discover::outcome(&d, &settings)),
    }
}

/// A new check on the provider step for `account`.
fn on_provider_step(account: &str) -> smtp_doctor::tui::app::App {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, account);
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Provider);
    a
}

fn wizard(a: &smtp_doctor::tui::app::App) -> &WizardState {
    let Screen::Wizard(w) = &a.screen else {
        panic!("not in the wizard")
    };
    w
}

/// Presses f and returns the settings of the discovery it asks for.
fn press_find(a: &mut smtp_doctor::tui::app::App) -> smtp_doctor::settings::Settings {
    let fx = press(a, [ch('f')]);
    match fx.as_slice() {
        [Effect::Discover(s)] => (**s).clone(),
        other => panic!("f asks for one discovery: {other:?}"),
    }
}

#[test]
fn find_my_settings_fills_the_best_working_setting_and_names_its_source() {
    let mut a = on_provider_step("demo@example.com");
    let text = screen_text(&a, 80, 24);
    assert!(text.contains("f:find my settings"), "key bar: {text}");
    // A password already given (a profile being edited) stays out of
    // the discovery.
    if let Screen::Wizard(w) = &mut a.screen {
        w.password.set("Secret-Pw-1");
    }
    let asked = press_find(&mut a);
    assert_eq!(asked.account, "demo@example.com");
    assert!(asked.password.is_empty(), "discovery has no password");
    let text = screen_text(&a, 80, 24);
    assert!(text.contains("Looking for your settings…"), "{text}");
    assert!(press(&mut a, [ch('f')]).is_empty(), "one search at a time");

    a.update(found(
        "demo@example.com",
        true,
        "demo@example.com",
        &[SourceKind::Autoconfig],
    ));
    let w = wizard(&a);
    assert_eq!(
        (w.server.value(), w.port.value(), w.security),
        ("mail.example.com", "587", Security::Starttls)
    );
    assert_eq!(w.login.value(), "", "the full address is the default login");
    let text = screen_text(&a, 80, 24);
    assert!(
        text.contains("Found by autoconfig: mail.example.com, 587, STARTTLS"),
        "{text}"
    );
    insta::assert_snapshot!("wizard_2_provider_found_80x24", text);
    // Enter takes the found settings on to the server step.
    press(&mut a, [key(KeyCode::Enter)]);
    let w = wizard(&a);
    assert_eq!(w.step, Step::Server);
    assert_eq!(w.server.value(), "mail.example.com");
}

#[test]
fn a_login_other_than_the_address_is_filled_and_shown() {
    let mut a = on_provider_step("demo@example.com");
    press_find(&mut a);
    a.update(found(
        "demo@example.com",
        true,
        "demo",
        &[SourceKind::Srv, SourceKind::Mx, SourceKind::Srv],
    ));
    assert_eq!(wizard(&a).login.value(), "demo");
    let text = screen_text(&a, 120, 40);
    assert!(
        text.contains("Found by SRV, MX: mail.example.com, 587, STARTTLS, login demo"),
        "{text}"
    );
}

#[test]
fn nothing_found_says_so_and_fills_nothing() {
    let mut a = on_provider_step("demo@example.com");
    press_find(&mut a);
    a.update(found(
        "demo@example.com",
        false,
        "demo@example.com",
        &[SourceKind::Guess],
    ));
    let w = wizard(&a);
    assert!(matches!(w.finding, Finding::NotFound(_)), "{:?}", w.finding);
    assert_eq!(w.server.value(), "");
    let text = screen_text(&a, 120, 40);
    assert!(text.contains("Nothing found that works"), "{text}");
    assert!(
        text.contains("greets with a valid certificate and offers login"),
        "the reason: {text}"
    );
    // A second try is allowed once the first is over.
    press_find(&mut a);
}

#[test]
fn a_late_or_stale_answer_changes_nothing() {
    // The user moved on to type the server: the answer must not overwrite it.
    let mut a = on_provider_step("demo@example.com");
    press_find(&mut a);
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "smtp.mine.test");
    a.update(found(
        "demo@example.com",
        true,
        "demo@example.com",
        &[SourceKind::Autoconfig],
    ));
    let w = wizard(&a);
    assert_eq!(w.server.value(), "smtp.mine.test");
    assert_eq!(w.finding, Finding::Idle);

    // An answer for an address the user has since changed.
    let mut a = on_provider_step("demo@example.com");
    press_find(&mut a);
    press(&mut a, [key(KeyCode::Esc)]);
    press(&mut a, [ctrl('u')]);
    type_text(&mut a, "other@example.org");
    press(&mut a, [key(KeyCode::Enter)]);
    a.update(found(
        "demo@example.com",
        true,
        "demo@example.com",
        &[SourceKind::Autoconfig],
    ));
    let w = wizard(&a);
    assert_eq!(w.server.value(), "");
    assert_eq!(w.finding, Finding::Idle, "the old search is forgotten");
    assert!(!screen_text(&a, 80, 24).contains("Looking for"));
}

#[test]
fn every_source_kind_reads_back_from_its_name() {
    for k in [
        SourceKind::Autoconfig,
        SourceKind::WellKnown,
        SourceKind::Ispdb,
        SourceKind::Preset,
        SourceKind::Srv,
        SourceKind::Mx,
        SourceKind::Guess,
    ] {
        let name = serde_json::to_value(k).unwrap();
        assert_eq!(SourceKind::from_name(name.as_str().unwrap()), Some(k));
    }
    assert_eq!(SourceKind::from_name("telepathy"), None);
}

/// The real discovery, run as the runtime runs `Effect::Discover`, against
/// the test bed: the autoconfig file of autoconf.test names
/// mail.smtpd.test:587 STARTTLS, and the wizard takes it.
#[test]
#[ignore = "needs the test bed"]
fn find_my_settings_runs_real_discovery_through_the_effect() {
    let tb = std::path::PathBuf::from(
        std::env::var_os("SMTP_DOCTOR_TESTBED").expect("SMTP_DOCTOR_TESTBED is not set"),
    );
    let dns = std::env::var("SMTP_DOCTOR_DNS").unwrap_or_else(|_| "127.0.0.2:5353".into());
    let defaults = smtp_doctor::settings::Settings {
        dns: Some(dns),
        ca_file: Some(tb.join("ca.pem")),
        timeout_secs: 5,
        ..Default::default()
    };
    let mut a = smtp_doctor::tui::App::new(
        smtp_doctor::tui::Theme {
            color: false,
            ascii: false,
        },
        PROFILE_DIR.into(),
        defaults,
    );
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "alice@autoconf.test");
    press(&mut a, [key(KeyCode::Enter)]);
    let asked = press_find(&mut a);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let msg = rt.block_on(smtp_doctor::tui::wizard::find_settings(asked));
    a.update(msg);
    let w = wizard(&a);
    assert!(matches!(w.finding, Finding::Found(_)), "{:?}", w.finding);
    assert_eq!(
        (w.server.value(), w.port.value(), w.security),
        ("mail.smtpd.test", "587", Security::Starttls)
    );
    assert_eq!(w.login.value(), "alice@smtpd.test", "the file's username");
    let Finding::Found(line) = &w.finding else {
        unreachable!()
    };
    assert!(line.starts_with("Found by autoconfig"), "{line}");
}

/// The whole loop against the real test bed: settings with a wrong port
/// fail, discovery (in the same run, without a login) finds the settings
/// the domain's autoconfig file names, `w` applies them, and the rerun
/// passes — the verdict turns from a problem to OK.
#[tokio::test]
#[ignore = "needs the test bed"]
async fn w_turns_a_failing_run_green_on_the_test_bed() {
    let tb = std::path::PathBuf::from(
        std::env::var_os("SMTP_DOCTOR_TESTBED").expect("SMTP_DOCTOR_TESTBED: run tests/run.sh"),
    );
    let failing = Settings {
        // The address discovery starts from; the test bed's autoconfig file
        // for it names the login alice@smtpd.test, which may send only as
        // itself, so the program's sender is that mailbox.
        account: "alice@autoconf.test".into(),
        sender: "alice@smtpd.test".into(),
        password: smtp_doctor::settings::Password::new("Corr3ct-H0rse-Battery"),
        server: "mail.smtpd.test".into(),
        port: 2526,
        security: Security::Starttls,
        auth: true,
        recipient: "someone@example.net".into(),
        dns: Some("127.0.0.2:5353".into()),
        echo_dns: Some("127.0.0.2:5353".into()),
        ca_file: Some(tb.join("ca.pem")),
        internal_network: true,
        timeout_secs: 5,
        ..Settings::default()
    };
    let mut a = app();
    a.begin_run(failing.clone(), None, false);
    let outcomes = smtp_doctor::probe::run(failing.clone(), |_| {}).await;
    feed_run(&mut a, outcomes);
    let text = screen_text(&a, 120, 40);
    assert!(text.contains("problem found"), "{text}");
    assert!(text.contains("Working settings"), "{text}");
    let fx = press(&mut a, [ch('w')]);
    let Some(Effect::StartRun { settings, .. }) =
        fx.iter().find(|e| matches!(e, Effect::StartRun { .. }))
    else {
        panic!("w starts a run: {fx:?}");
    };
    assert_eq!(
        (settings.server.as_str(), settings.port, settings.security),
        ("mail.smtpd.test", 587, Security::Starttls)
    );
    let outcomes = smtp_doctor::probe::run(settings.clone(), |_| {}).await;
    feed_run(&mut a, outcomes);
    let text = screen_text(&a, 120, 40);
    assert!(text.contains("no problem found"), "{text}");
}
