//! Every screen of the TUI drawn on ratatui's `TestBackend`, at 80×24 (the
//! smallest terminal it must fit) and 120×40, compared with the reviewed
//! snapshots in tests/snapshots/. States are reached through the same
//! `update` the real app uses; check outcomes are built by hand, so the
//! screens are deterministic.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test
//! tui_snapshots`, then read every changed `.snap` file before committing.

mod tui_common;

use ratatui::crossterm::event::KeyCode;
use smtp_doctor::profile::Profile;
use smtp_doctor::settings::Settings;
use smtp_doctor::tui::{App, ListedProfile, Msg, Theme};
use std::path::PathBuf;
use tui_common::*;

/// Snapshots the app at both sizes.
fn snap(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), draw(app, 120, 40));
}

fn listed() -> Vec<ListedProfile> {
    // As loaded from disk: the password was not saved.
    let mut settings = good_settings();
    settings.password = Default::default();
    let office = Profile {
        name: "office".into(),
        settings,
        save_password: false,
    };
    vec![
        ListedProfile {
            name: "broken".into(),
            path: PathBuf::from(PROFILE_DIR).join("broken.json"),
            profile: Err(format!(
                "The profile file {PROFILE_DIR}/broken.json is damaged at line 4, column 3: expected `,` or `}}`. It was left as it is: fix it in an editor or delete it."
            )),
        },
        ListedProfile {
            name: "office".into(),
            path: PathBuf::from(PROFILE_DIR).join("office.json"),
            profile: Ok(office),
        },
    ]
}

fn with_profiles() -> App {
    let mut a = app();
    a.update(Msg::Profiles(Ok(listed())));
    a
}

/// The wizard with every step filled, standing on `step` (1-based keys
/// on the review jump there).
fn wizard_filled() -> App {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "alice@smtpd.test");
    press(&mut a, [key(KeyCode::Enter), key(KeyCode::Enter)]);
    type_text(&mut a, "mail.smtpd.test");
    press(&mut a, [key(KeyCode::Enter)]);
    press(&mut a, [key(KeyCode::Down), key(KeyCode::Down)]);
    type_text(&mut a, "wrong-password");
    press(&mut a, [key(KeyCode::Enter), key(KeyCode::Down)]);
    type_text(&mut a, "bob@example.net");
    press(&mut a, [key(KeyCode::Enter)]);
    a
}

fn dashboard_done(theme: Theme) -> App {
    let mut a = app_with(theme);
    a.begin_run(demo_settings(), None, false);
    feed_run(&mut a, demo_outcomes(false));
    a
}

#[test]
fn start_screen() {
    snap("start_empty", &app());
    snap("start_profiles", &with_profiles());
    let mut a = with_profiles();
    press(&mut a, [ch('j'), ch('j')]);
    snap("start_damaged_selected", &a);
    let mut a = with_profiles();
    a.update(Msg::Profiles(Err(
        "/home/alice/.config/smtp-doctor/profiles: Permission denied (os error 13)".into(),
    )));
    snap("start_unreadable_dir", &a);
}

#[test]
fn wizard_steps() {
    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_1_email", &a);
    type_text(&mut a, "alice");
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_1_email_invalid", &a);
    type_text(&mut a, "@smtpd.test");
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_2_provider_unknown", &a);
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_3_server_empty", &a);
    type_text(&mut a, "https://mail.smtpd.test");
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_3_server_invalid", &a);

    let mut a = app();
    press(&mut a, [key(KeyCode::Enter)]);
    type_text(&mut a, "someone@gmail.com");
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_2_provider_preset", &a);
    press(&mut a, [key(KeyCode::Enter)]);
    snap("wizard_3_server_from_preset", &a);

    let mut a = wizard_filled();
    press(&mut a, [ch('4')]);
    snap("wizard_4_login", &a);
    press(&mut a, [ctrl('t')]);
    snap("wizard_4_login_password_shown", &a);
    press(&mut a, [key(KeyCode::Esc)]);
    press(
        &mut a,
        [key(KeyCode::Down), key(KeyCode::Down), ch(' '), ch(' ')],
    );
    press(&mut a, [key(KeyCode::Enter)]);
    // A warning under the consent box, and Enter is not refused.
    snap("wizard_4_login_without_encryption", &a);

    let mut a = wizard_filled();
    press(&mut a, [ch('5')]);
    snap("wizard_5_addresses", &a);
    let a = wizard_filled();
    snap("wizard_6_review", &a);
    let mut a = wizard_filled();
    press(&mut a, [ch('a')]);
    snap("wizard_advanced", &a);
}

#[test]
fn dashboard() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    snap("dashboard_starting", &a);
    feed_partial(&mut a);
    snap("dashboard_running", &a);

    let theme = Theme {
        color: true,
        ascii: false,
    };
    snap("dashboard_diagnosis", &dashboard_done(theme));
    let mut a = dashboard_done(theme);
    press(
        &mut a,
        [key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    snap("dashboard_transcript", &a);
    let mut a = dashboard_done(theme);
    press(&mut a, [key(KeyCode::Tab), key(KeyCode::PageDown)]);
    snap("dashboard_diagnosis_scrolled", &a);
    snap(
        "dashboard_ascii",
        &dashboard_done(Theme {
            color: false,
            ascii: true,
        }),
    );

    let mut a = app();
    let mut s = demo_settings();
    s.auth = true;
    s.allow_plaintext_auth = true;
    a.begin_run(s, Some("demo".into()), false);
    feed_run(&mut a, demo_outcomes(true));
    snap("dashboard_no_problem", &a);
}

#[test]
fn dialogs_and_help() {
    let mut a = dashboard_done(Theme {
        color: true,
        ascii: false,
    });
    press(&mut a, [ch('s')]);
    snap("modal_save", &a);
    let mut a = app();
    a.begin_run(good_settings(), None, false);
    feed_run(&mut a, demo_outcomes(false));
    press(&mut a, [ch('s'), key(KeyCode::Tab), ch(' ')]);
    snap("modal_save_with_password", &a);
    let mut a = dashboard_done(Theme {
        color: true,
        ascii: false,
    });
    press(&mut a, [ch('x')]);
    snap("modal_export", &a);
    a.update(Msg::Exported(Ok(PathBuf::from(
        "/home/alice/smtp-doctor-127.0.0.1-20260501-120000.md",
    ))));
    press(&mut a, [key(KeyCode::Esc)]);
    a.update(Msg::Exported(Ok(PathBuf::from(
        "/home/alice/smtp-doctor-127.0.0.1-20260501-120000.md",
    ))));
    snap("dashboard_exported", &a);
    let mut a = dashboard_done(Theme {
        color: true,
        ascii: false,
    });
    press(&mut a, [ch('?')]);
    snap("help_dashboard", &a);

    let mut a = with_profiles();
    press(&mut a, [ch('j'), ch('j'), ch('j'), key(KeyCode::Enter)]);
    type_text(&mut a, "secret");
    snap("modal_password", &a);
    let mut a = with_profiles();
    press(&mut a, [ch('j'), ch('j'), ch('j'), ch('d')]);
    snap("modal_delete", &a);
    let mut a = with_profiles();
    press(&mut a, [ch('j'), ch('j'), ch('j'), ch('r')]);
    snap("modal_rename", &a);
    let mut a = with_profiles();
    press(&mut a, [ch('?')]);
    snap("help_start", &a);
}

#[test]
fn explain_screen() {
    let mut a = app();
    press(&mut a, [ch('j'), key(KeyCode::Enter)]);
    snap("explain_empty", &a);
    type_text(&mut a, "554 5.7.1 <bob@example.net>: Relay access denied");
    snap("explain_relay_denied", &a);
    press(&mut a, [ctrl('u')]);
    type_text(&mut a, "the printer says hello");
    snap("explain_no_match", &a);
}

#[test]
fn defaults_do_not_leak_into_screens() {
    // The same screen with other defaults renders the same: nothing read
    // from the environment shows up uninvited.
    let a = App::new(
        Theme {
            color: false,
            ascii: false,
        },
        PathBuf::from(PROFILE_DIR),
        Settings::default(),
    );
    assert_eq!(
        screen_text(&a, 80, 24),
        screen_text(
            &app_with(Theme {
                color: false,
                ascii: false
            }),
            80,
            24
        )
    );
}

#[test]
fn any_terminal_size_draws_without_panic() {
    let mut screens = vec![app(), with_profiles(), wizard_filled()];
    let mut a = wizard_filled();
    press(&mut a, [ch('4')]);
    screens.push(a);
    screens.push(dashboard_done(Theme {
        color: true,
        ascii: false,
    }));
    let mut a = dashboard_done(Theme {
        color: false,
        ascii: true,
    });
    press(&mut a, [ch('s')]);
    screens.push(a);
    let mut a = app();
    press(&mut a, [ch('j'), key(KeyCode::Enter)]);
    type_text(&mut a, "550 5.1.1 user unknown");
    screens.push(a);
    for a in &screens {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 12), (79, 23), (200, 60)] {
            draw(a, w, h);
        }
    }
}
