//! The dashboard's "Working settings" section and its `w` key: when the
//! user's settings failed and discovery found a setting that works, one key
//! applies it, runs again, and a saved profile keeps it.

mod tui_common;

use smtp_doctor::probe::discover::{
    self, Candidate, Discovery, Probe, Source, SourceKind, Suggestion,
};
use smtp_doctor::settings::Security;
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
