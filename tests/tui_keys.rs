//! Key handling of every screen, through the pure `update` function: a
//! state and a key in, the next state and the effects out. No terminal,
//! no network, no disk.

mod tui_common;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use smtp_doctor::probe::{CheckId, Event};
use smtp_doctor::profile::Profile;
use smtp_doctor::report::Format;
use smtp_doctor::settings::{Password, Security, Settings};
use smtp_doctor::tui::dashboard::Pane;
use smtp_doctor::tui::modal::Modal;
use smtp_doctor::tui::wizard::{Input, Step};
use smtp_doctor::tui::{App, Effect, ListedProfile, Msg, Screen};
use std::path::PathBuf;
use tui_common::*;

fn wizard(app: &App) -> &smtp_doctor::tui::wizard::WizardState {
    match &app.screen {
        Screen::Wizard(w) => w,
        _ => panic!("not on the wizard"),
    }
}

fn dash(app: &App) -> &smtp_doctor::tui::dashboard::DashState {
    match &app.screen {
        Screen::Dashboard(d) => d,
        _ => panic!("not on the dashboard"),
    }
}

fn started(effects: &[Effect]) -> Option<(u64, Settings)> {
    effects.iter().find_map(|e| match e {
        Effect::StartRun { run_id, settings } => Some((*run_id, settings.clone())),
        _ => None,
    })
}

fn profile(name: &str, password: bool) -> ListedProfile {
    let mut settings = good_settings();
    if !password {
        settings.password = Password::default();
    }
    ListedProfile {
        name: name.into(),
        path: PathBuf::from(PROFILE_DIR).join(format!("{name}.json")),
        profile: Ok(Profile {
            name: name.into(),
            settings,
            save_password: password,
        }),
    }
}

fn with_profiles(list: Vec<ListedProfile>) -> App {
    let mut a = app();
    a.update(Msg::Profiles(Ok(list)));
    a
}

/// Walks the wizard to the review with the test-bed settings.
fn to_review(a: &mut App) {
    press(a, [key(KeyCode::Enter)]);
    type_text(a, "alice@smtpd.test");
    press(a, [key(KeyCode::Enter), key(KeyCode::Enter)]);
    type_text(a, "mail.smtpd.test");
    press(
        a,
        [key(KeyCode::Enter), key(KeyCode::Down), key(KeyCode::Down)],
    );
    type_text(a, "Corr3ct-H0rse-Battery");
    press(a, [key(KeyCode::Enter), key(KeyCode::Down)]);
    type_text(a, "bob@example.net");
    press(a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(a).step, Step::Review);
}

// ------------------------------------------------------------- start screen

#[test]
fn start_moves_and_opens_items() {
    let mut a = app();
    assert!(matches!(a.screen, Screen::Start(_)));
    press(&mut a, [ch('j'), key(KeyCode::Enter)]);
    assert!(matches!(a.screen, Screen::Explain(_)));
    press(&mut a, [key(KeyCode::Esc)]);
    assert!(matches!(a.screen, Screen::Start(_)));
    press(&mut a, [ch('j'), ch('k'), key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Email);
    let mut a = app();
    press(&mut a, [ch('n')]);
    assert_eq!(wizard(&a).step, Step::Email);
}

#[test]
fn q_and_ctrl_c_quit_and_cancel_the_run() {
    let mut a = app();
    assert_eq!(press(&mut a, [ch('q')]), vec![Effect::CancelRun]);
    assert!(a.quit);
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    // In the wizard q is a letter; Ctrl-C quits.
    press(&mut a, [ch('q')]);
    assert!(!a.quit);
    assert_eq!(wizard(&a).account.value(), "q");
    assert_eq!(press(&mut a, [ctrl('c')]), vec![Effect::CancelRun]);
    assert!(a.quit);
    let mut a = app();
    assert_eq!(a.update(Msg::Quit), vec![Effect::CancelRun]);
    assert!(a.quit);
}

#[test]
fn key_releases_are_ignored() {
    let mut a = app();
    let mut k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    a.update(Msg::Key(k));
    assert!(!a.quit);
}

#[test]
fn running_a_profile_with_a_saved_password_starts_at_once() {
    let mut a = with_profiles(vec![profile("office", true)]);
    let fx = press(&mut a, [ch('j'), ch('j'), key(KeyCode::Enter)]);
    let (_, s) = started(&fx).expect("a run");
    assert_eq!(s.password.expose(), "Corr3ct-H0rse-Battery");
    assert_eq!(dash(&a).profile.as_deref(), Some("office"));
}

#[test]
fn running_a_profile_without_password_asks_for_it() {
    let mut a = with_profiles(vec![profile("office", false)]);
    let fx = press(&mut a, [ch('G'), key(KeyCode::Enter)]);
    assert!(fx.is_empty());
    assert!(matches!(a.modal, Some(Modal::Password(_))));
    // Empty: refused, the dialog stays.
    assert!(press(&mut a, [key(KeyCode::Enter)]).is_empty());
    assert!(matches!(a.modal, Some(Modal::Password(_))));
    type_text(&mut a, "typed-now");
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let (_, s) = started(&fx).expect("a run");
    assert_eq!(s.password.expose(), "typed-now");
    assert!(a.modal.is_none());
    assert!(!dash(&a).save_password);
}

#[test]
fn profile_actions_ask_then_emit_effects() {
    let mut a = with_profiles(vec![profile("home", true), profile("office", true)]);
    press(&mut a, [ch('G'), ch('d')]);
    assert!(matches!(a.modal, Some(Modal::ConfirmDelete(ref n)) if n == "office"));
    assert!(press(&mut a, [ch('n')]).is_empty());
    assert!(a.modal.is_none());
    press(&mut a, [ch('d')]);
    assert_eq!(
        press(&mut a, [ch('y')]),
        vec![Effect::DeleteProfile("office".into())]
    );

    press(&mut a, [ch('r'), ctrl('u')]);
    type_text(&mut a, "home");
    assert!(
        press(&mut a, [key(KeyCode::Enter)]).is_empty(),
        "name taken"
    );
    match &a.modal {
        Some(Modal::Name(d)) => assert!(d.error.as_deref().unwrap().contains("already exists")),
        other => panic!("{other:?}"),
    }
    press(&mut a, [ctrl('u')]);
    type_text(&mut a, "../escape");
    assert!(press(&mut a, [key(KeyCode::Enter)]).is_empty(), "bad name");
    press(&mut a, [ctrl('u')]);
    type_text(&mut a, "work");
    assert_eq!(
        press(&mut a, [key(KeyCode::Enter)]),
        vec![Effect::RenameProfile {
            from: "office".into(),
            to: "work".into()
        }]
    );

    let fx = press(&mut a, [ch('c'), key(KeyCode::Enter)]);
    assert_eq!(
        fx,
        vec![Effect::DuplicateProfile {
            from: "office".into(),
            to: "office copy".into()
        }]
    );
    // A finished change reloads the list and says what happened.
    let fx = a.update(Msg::ProfileChanged(Ok("Copied".into())));
    assert_eq!(fx, vec![Effect::LoadProfiles]);
    assert_eq!(a.flash.as_ref().unwrap().text, "Copied");
}

#[test]
fn a_damaged_profile_cannot_be_run_or_edited_but_can_be_deleted() {
    let damaged = ListedProfile {
        name: "broken".into(),
        path: PathBuf::from(PROFILE_DIR).join("broken.json"),
        profile: Err("damaged at line 2, column 5".into()),
    };
    let mut a = with_profiles(vec![damaged]);
    assert!(press(&mut a, [ch('G'), key(KeyCode::Enter)]).is_empty());
    assert!(matches!(a.screen, Screen::Start(_)));
    assert!(a.flash.as_ref().unwrap().error);
    press(&mut a, [ch('e')]);
    assert!(matches!(a.screen, Screen::Start(_)));
    press(&mut a, [ch('d')]);
    assert_eq!(
        press(&mut a, [ch('y')]),
        vec![Effect::DeleteProfile("broken".into())]
    );
}

#[test]
fn editing_a_profile_opens_the_review() {
    let mut a = with_profiles(vec![profile("office", false)]);
    press(&mut a, [ch('G'), ch('e')]);
    let w = wizard(&a);
    assert_eq!(w.step, Step::Review);
    assert_eq!(w.origin.as_deref(), Some("office"));
    assert_eq!(w.server.value(), "mail.smtpd.test");
}

// ------------------------------------------------------------------- wizard

#[test]
fn wizard_refuses_an_invalid_field_and_shows_the_error_there() {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(
        wizard(&a).error_for(Input::Account),
        None,
        "no error before trying"
    );
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Email);
    assert!(
        wizard(&a)
            .error_for(Input::Account)
            .unwrap()
            .contains("email address")
    );
    type_text(&mut a, "alice");
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Email);
    assert!(wizard(&a).error_for(Input::Account).unwrap().contains("@"));
    type_text(&mut a, "@smtpd.test");
    assert_eq!(wizard(&a).error_for(Input::Account), None);
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Provider);
}

#[test]
fn wizard_back_and_forward_keep_what_was_typed() {
    let mut a = app();
    to_review(&mut a);
    press(
        &mut a,
        [
            key(KeyCode::Esc),
            key(KeyCode::Esc),
            key(KeyCode::Esc),
            key(KeyCode::Esc),
        ],
    );
    assert_eq!(wizard(&a).step, Step::Provider);
    press(&mut a, [key(KeyCode::Esc)]);
    assert_eq!(wizard(&a).step, Step::Email);
    assert_eq!(wizard(&a).account.value(), "alice@smtpd.test");
    for _ in 0..5 {
        press(&mut a, [key(KeyCode::Enter)]);
    }
    assert_eq!(wizard(&a).step, Step::Review);
    let s = wizard(&a).settings();
    assert_eq!(s.server, "mail.smtpd.test");
    assert_eq!(s.password.expose(), "Corr3ct-H0rse-Battery");
    assert_eq!(s.recipient, "bob@example.net");
    // Esc on the first step leaves the wizard.
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter), key(KeyCode::Esc)]);
    assert!(matches!(a.screen, Screen::Start(_)));
}

#[test]
fn wizard_review_runs_exactly_what_was_entered() {
    let mut a = app();
    to_review(&mut a);
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let (run_id, s) = started(&fx).expect("a run");
    assert_eq!(run_id, a.run_id);
    assert_eq!(s.account, "alice@smtpd.test");
    assert_eq!(s.server, "mail.smtpd.test");
    assert_eq!(
        (s.port, s.security, s.auth),
        (587, Security::Starttls, true)
    );
    assert_eq!(s.effective_login(), "alice@smtpd.test");
    assert_eq!(s.password.expose(), "Corr3ct-H0rse-Battery");
    assert!(matches!(a.screen, Screen::Dashboard(_)));
    assert!(dash(&a).running);
}

#[test]
fn wizard_encryption_choice_moves_the_usual_port() {
    let mut a = app();
    to_review(&mut a);
    press(&mut a, [ch('3'), key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(wizard(&a).focused(), Some(Input::Security));
    press(&mut a, [key(KeyCode::Right)]);
    assert_eq!(wizard(&a).security, Security::Tls);
    assert_eq!(wizard(&a).port.value(), "465");
    // A port typed by hand is kept.
    press(&mut a, [key(KeyCode::Up), ctrl('u')]);
    type_text(&mut a, "2525");
    press(&mut a, [key(KeyCode::Down), key(KeyCode::Left)]);
    assert_eq!(wizard(&a).security, Security::Starttls);
    assert_eq!(wizard(&a).port.value(), "2525");
    // A port that is not a number stops the step at the port.
    press(&mut a, [key(KeyCode::Up), ctrl('u')]);
    type_text(&mut a, "5x7");
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Server);
    assert_eq!(wizard(&a).focused(), Some(Input::Port));
    assert!(
        wizard(&a)
            .error_for(Input::Port)
            .unwrap()
            .contains("number")
    );
}

#[test]
fn wizard_login_step_follows_the_checkbox() {
    let mut a = app();
    to_review(&mut a);
    press(&mut a, [ch('4')]);
    assert_eq!(
        wizard(&a).inputs(),
        vec![Input::Auth, Input::Login, Input::Password]
    );
    assert!(!wizard(&a).show_password);
    press(&mut a, [ctrl('t')]);
    assert!(wizard(&a).show_password);
    press(&mut a, [ch(' ')]);
    assert!(!wizard(&a).auth);
    assert_eq!(wizard(&a).inputs(), vec![Input::Auth]);
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Addresses);
}

#[test]
fn wizard_offers_consent_but_runs_unencrypted_settings_as_given() {
    let mut a = app();
    to_review(&mut a);
    press(&mut a, [ch('3'), key(KeyCode::Up), ch(' '), ch(' ')]);
    assert_eq!(wizard(&a).security, Security::None);
    assert_eq!(wizard(&a).port.value(), "25");
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Login);
    // The choice to send the password in clear is offered, not forced:
    // without it the run goes as far as it can and never sends it.
    assert!(wizard(&a).inputs().contains(&Input::AllowPlain));
    assert!(wizard(&a).error_for(Input::AllowPlain).is_none());
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Addresses, "not refused");
    assert!(!wizard(&a).settings().allow_plaintext_auth);
    assert!(!wizard(&a).settings().warnings().is_empty());
}

#[test]
fn wizard_preset_fills_the_server_step() {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@gmail.com");
    press(&mut a, [key(KeyCode::Enter)]);
    let w = wizard(&a);
    assert_eq!(w.step, Step::Provider);
    let Some(s) = w.suggestion.clone() else {
        panic!("the catalog has a preset for gmail.com")
    };
    assert!(w.use_preset);
    press(&mut a, [key(KeyCode::Enter)]);
    let w = wizard(&a);
    assert_eq!(w.step, Step::Server);
    assert_eq!(w.server.value(), s.server);
    assert_eq!(w.port.value(), s.port.to_string());
    // "Enter my own" leaves the fields alone.
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@gmail.com");
    press(&mut a, [key(KeyCode::Enter), ch(' '), key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).server.value(), "");
}

#[test]
fn wizard_review_saves_and_reaches_advanced() {
    let mut a = app();
    to_review(&mut a);
    press(&mut a, [ch('a')]);
    assert_eq!(wizard(&a).step, Step::Advanced);
    type_text(&mut a, "127.0.0.2:5353");
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Review);
    assert_eq!(wizard(&a).settings().dns.as_deref(), Some("127.0.0.2:5353"));
    press(&mut a, [ch('a')]);
    press(&mut a, [ctrl('u')]);
    type_text(&mut a, "dns.example");
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).step, Step::Advanced, "an invalid DNS server");
    press(&mut a, [ctrl('u'), key(KeyCode::Enter)]);
    assert_eq!(wizard(&a).settings().dns, None);

    let fx = press(&mut a, [ch('s')]);
    assert!(fx.is_empty());
    let Some(Modal::Save(d)) = &a.modal else {
        panic!("save dialog")
    };
    assert_eq!(d.name.value(), "smtpd.test");
    assert!(!d.save_password, "the password is not saved by default");
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let [Effect::SaveProfile { profile, overwrite }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(!overwrite);
    assert!(!profile.save_password);
    assert!(profile.settings.password.is_empty());
    a.update(Msg::ProfileSaved(Ok((
        "smtpd.test".into(),
        PathBuf::from(PROFILE_DIR).join("smtpd.test.json"),
    ))));
    assert!(a.modal.is_none());
    assert_eq!(wizard(&a).origin.as_deref(), Some("smtpd.test"));
}

#[test]
fn wizard_paste_goes_into_the_focused_field() {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    a.update(Msg::Paste(" alice@smtpd.test\n".into()));
    assert_eq!(wizard(&a).account.value(), "alice@smtpd.test");
}

// ---------------------------------------------------------------- dashboard

#[test]
fn dashboard_follows_the_run_and_selects_the_culprit() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    feed_partial(&mut a);
    let d = dash(&a);
    assert!(d.running);
    assert_eq!(d.outcomes.len(), 3);
    assert_eq!(d.transcript.len(), 1);
    feed_run(&mut a, demo_outcomes(false));
    let d = dash(&a);
    assert!(!d.running);
    let top = d.diagnosis.as_ref().unwrap().top().unwrap();
    assert_eq!(top.id, "auth-required");
    assert_eq!(d.selected_check().as_str(), "relay");
}

#[test]
fn events_of_an_older_run_are_ignored() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    let old = a.run_id;
    let fx = press(&mut a, [ch('r')]);
    let (new, _) = started(&fx).expect("a new run");
    assert_ne!(old, new);
    a.update(Msg::Probe {
        run_id: old,
        event: Event::Done,
    });
    assert!(dash(&a).running);
    a.update(Msg::Probe {
        run_id: new,
        event: Event::Done,
    });
    assert!(!dash(&a).running);
}

#[test]
fn dashboard_keys() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    feed_run(&mut a, demo_outcomes(false));
    press(&mut a, [key(KeyCode::Home)]);
    assert_eq!(dash(&a).selected, 0);
    press(&mut a, [ch('j'), key(KeyCode::Down)]);
    assert_eq!(dash(&a).selected, 2);
    press(&mut a, [ch('k')]);
    assert_eq!(dash(&a).selected, 1);
    press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(dash(&a).focus, Pane::Details);
    press(&mut a, [key(KeyCode::Tab)]);
    assert_eq!(dash(&a).focus, Pane::Transcript);
    assert_eq!(dash(&a).lower, Pane::Transcript);
    press(&mut a, [key(KeyCode::Tab)]);
    assert_eq!(dash(&a).focus, Pane::Checks);
    press(&mut a, [key(KeyCode::BackTab)]);
    assert_eq!(dash(&a).focus, Pane::Transcript);
    // Scrolling a pane does not move the selection.
    press(&mut a, [ch('j'), ch('j')]);
    assert_eq!(dash(&a).selected, 1);

    press(&mut a, [ch('?')]);
    assert!(a.help);
    press(&mut a, [ch('q')]);
    assert!(!a.help && !a.quit, "a key closes the help only");

    press(&mut a, [ch('x')]);
    assert!(matches!(a.modal, Some(Modal::Export(_))));
    assert!(press(&mut a, [ch('z')]).is_empty());
    assert_eq!(press(&mut a, [ch('j')]), vec![Effect::Export(Format::Json)]);
    press(&mut a, [ch('x')]);
    assert_eq!(
        press(&mut a, [ch('m')]),
        vec![Effect::Export(Format::Markdown)]
    );
    a.update(Msg::Exported(Ok(PathBuf::from("/tmp/r.md"))));
    assert!(a.flash.as_ref().unwrap().text.contains("/tmp/r.md"));

    let fx = press(&mut a, [ch('e')]);
    assert_eq!(fx, vec![Effect::CancelRun]);
    assert_eq!(wizard(&a).step, Step::Review);
    assert_eq!(wizard(&a).settings().port, 2525);
}

#[test]
fn saving_from_the_dashboard_remembers_the_profile() {
    let mut a = app();
    a.begin_run(good_settings(), None, false);
    press(&mut a, [ch('s'), ctrl('u')]);
    type_text(&mut a, "office");
    press(&mut a, [key(KeyCode::Tab), ch(' ')]);
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let [Effect::SaveProfile { profile, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(profile.save_password, "opted in");
    assert_eq!(profile.settings.password.expose(), "Corr3ct-H0rse-Battery");
    // A failed save keeps the dialog open with the error.
    a.update(Msg::ProfileSaved(Err("disk full".into())));
    match &a.modal {
        Some(Modal::Save(d)) => assert_eq!(d.error.as_deref(), Some("disk full")),
        other => panic!("{other:?}"),
    }
    let fx = a.update(Msg::ProfileSaved(Ok((
        "office".into(),
        PathBuf::from(PROFILE_DIR).join("office.json"),
    ))));
    assert_eq!(fx, vec![Effect::LoadProfiles]);
    assert_eq!(dash(&a).profile.as_deref(), Some("office"));
    assert!(dash(&a).save_password);
    assert!(a.flash.as_ref().unwrap().text.contains("with the password"));
}

#[test]
fn the_spinner_ticks_only_while_checks_run() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    assert!(a.animating());
    a.dirty = false;
    a.update(Msg::Tick);
    assert!(a.dirty, "a running spinner redraws");
    feed_run(&mut a, demo_outcomes(false));
    assert!(!a.animating());
    a.dirty = false;
    a.update(Msg::Tick);
    assert!(!a.dirty, "an idle screen draws nothing");
    let mut a = app();
    a.dirty = false;
    a.update(Msg::Tick);
    assert!(!a.dirty);
}

#[test]
fn esc_leaves_the_dashboard_and_cancels() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    let fx = press(&mut a, [key(KeyCode::Esc)]);
    assert!(fx.contains(&Effect::CancelRun));
    assert!(matches!(a.screen, Screen::Start(_)));
    // A late event of the cancelled run changes nothing.
    a.update(Msg::Probe {
        run_id: 1,
        event: Event::Started(CheckId::DnsServer),
    });
    assert!(matches!(a.screen, Screen::Start(_)));
}

// ------------------------------------------------------------------ explain

#[test]
fn explain_updates_as_you_type() {
    let mut a = app();
    press(&mut a, [ch('j'), key(KeyCode::Enter)]);
    let results = |a: &App| match &a.screen {
        Screen::Explain(e) => e
            .results
            .iter()
            .map(|f| f.id.as_str().to_string())
            .collect::<Vec<_>>(),
        _ => panic!("not on explain"),
    };
    assert!(results(&a).is_empty());
    a.update(Msg::Paste(
        "554 5.7.1 <bob@example.net>: Relay access denied".into(),
    ));
    assert!(
        results(&a).contains(&"relay-denied".to_string()),
        "{:?}",
        results(&a)
    );
    press(&mut a, [ctrl('u')]);
    assert!(results(&a).is_empty());
    // q is text here, not quit.
    type_text(&mut a, "q");
    assert!(!a.quit);
    press(&mut a, [key(KeyCode::Esc)]);
    assert!(matches!(a.screen, Screen::Start(_)));
}

#[test]
fn wizard_asks_dns_about_a_custom_domain_and_takes_what_it_finds() {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@contoso.example");
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::DetectProvider { domain, .. } if domain == "contoso.example")
        ),
        "{fx:?}"
    );
    assert!(wizard(&a).suggestion.is_none());
    // The MX points at Microsoft 365: its preset is offered.
    press(
        &mut a,
        [Msg::ProviderDetected {
            domain: "contoso.example".into(),
            provider: "microsoft365".into(),
        }],
    );
    let s = wizard(&a)
        .suggestion
        .clone()
        .expect("a suggestion from the MX");
    assert_eq!(s.server, "smtp.office365.com");
    // A well-known domain needs no lookup.
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@gmail.com");
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::DetectProvider { .. })),
        "{fx:?}"
    );
    // An SRV record names the server when no provider is known.
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@small.example");
    press(&mut a, [key(KeyCode::Enter)]);
    press(
        &mut a,
        [Msg::SrvDetected {
            domain: "small.example".into(),
            server: "mail.small.example".into(),
            port: 465,
            security: Security::Tls,
        }],
    );
    let s = wizard(&a)
        .suggestion
        .clone()
        .expect("a suggestion from SRV");
    assert_eq!(
        (s.server.as_str(), s.port, s.security),
        ("mail.small.example", 465, Security::Tls)
    );
}

#[test]
fn every_run_path_asks_the_dns_servers_of_the_environment() {
    // SMTP_DOCTOR_DNS / SMTP_DOCTOR_ECHO_DNS / SMTP_DOCTOR_CA_FILE arrive as
    // the app's defaults; a saved profile carries none of them.
    let defaults = Settings {
        dns: Some("127.0.0.2:5353".into()),
        echo_dns: Some("127.0.0.3:5353".into()),
        ca_file: Some(PathBuf::from("/tmp/test-ca.pem")),
        ..Settings::default()
    };
    let mut a = App::new(
        smtp_doctor::tui::Theme {
            color: false,
            ascii: true,
        },
        PathBuf::from(PROFILE_DIR),
        defaults,
    );
    let from_profile = Settings {
        dns: None,
        echo_dns: None,
        ca_file: None,
        ..good_settings()
    };
    let fx = a.begin_run(from_profile, Some("office".into()), false);
    let Some(Effect::StartRun { settings, .. }) = fx.first() else {
        panic!("a run starts: {fx:?}")
    };
    assert_eq!(settings.dns.as_deref(), Some("127.0.0.2:5353"));
    assert_eq!(settings.echo_dns.as_deref(), Some("127.0.0.3:5353"));
    assert_eq!(settings.ca_file, Some(PathBuf::from("/tmp/test-ca.pem")));
    // A setting the run has wins over the environment.
    let own = Settings {
        dns: Some("127.0.0.9:53".into()),
        ..good_settings()
    };
    let fx = a.begin_run(own, None, false);
    let Some(Effect::StartRun { settings, .. }) = fx.first() else {
        panic!("a run starts")
    };
    assert_eq!(settings.dns.as_deref(), Some("127.0.0.9:53"));
}
