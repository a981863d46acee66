//! The export dialog's second section: the settings for the user's mail
//! program (`smtp-doctor config --client NAME`) written from the TUI. Keys
//! through the pure `update`; the effect carried out in a temporary
//! directory and compared with what `clientconf::generate` makes of the
//! same settings; never the password.

mod tui_common;

use ratatui::crossterm::event::KeyCode;
use smtp_doctor::clientconf::{self, Client, Options};
use smtp_doctor::probe::discover::{
    self, Candidate, Discovery, Probe, Source, SourceKind, Suggestion,
};
use smtp_doctor::report::Format;
use smtp_doctor::settings::{Password, Security, Settings};
use smtp_doctor::tui::modal::{ExportDialog, Modal};
use smtp_doctor::tui::{App, Effect, Msg, Screen, write_client_export};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tui_common::*;

const PASSWORD: &str = "Corr3ct-H0rse-Battery";

/// A finished run of `settings` on the dashboard.
fn ran(settings: Settings) -> App {
    let mut a = app();
    a.begin_run(settings, None, false);
    feed_run(&mut a, demo_outcomes(false));
    a
}

fn dash_settings(a: &App) -> Settings {
    match &a.screen {
        Screen::Dashboard(d) => d.settings.clone(),
        _ => panic!("not on the dashboard"),
    }
}

fn dialog(a: &App) -> &ExportDialog {
    match &a.modal {
        Some(Modal::Export(d)) => d,
        other => panic!("the export dialog is not open: {other:?}"),
    }
}

fn without_password(s: &Settings) -> Settings {
    Settings {
        password: Password::default(),
        ..s.clone()
    }
}

/// A fresh empty directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "smtp-doctor-tui-export-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn index_of(client: Client) -> usize {
    Client::ALL.iter().position(|c| *c == client).unwrap()
}

/// `x`, `c`, then down to `client`.
fn open_list_at(a: &mut App, client: Client) {
    press(a, [ch('x'), ch('c')]);
    let downs = (0..index_of(client)).map(|_| key(KeyCode::Down));
    press(a, downs);
    assert_eq!(dialog(a).highlighted(), Some(client));
}

#[test]
fn c_opens_the_list_and_enter_exports_the_chosen_client_with_the_runs_settings() {
    let mut a = ran(good_settings());
    press(&mut a, [ch('x')]);
    let d = dialog(&a);
    assert_eq!(d.list, None, "the dialog opens on its first page");
    assert!(d.settings.password.is_empty(), "the dialog never holds it");

    assert!(press(&mut a, [ch('c')]).is_empty());
    assert_eq!(dialog(&a).highlighted(), Some(Client::Thunderbird));
    // Moving stops at both ends.
    press(&mut a, [key(KeyCode::Up)]);
    assert_eq!(dialog(&a).list, Some(0));
    press(&mut a, [key(KeyCode::End), key(KeyCode::Down)]);
    assert_eq!(dialog(&a).highlighted(), Some(Client::Printer));
    press(
        &mut a,
        [key(KeyCode::Home), key(KeyCode::Down), ch('j'), ch('j')],
    );
    assert_eq!(dialog(&a).highlighted(), Some(Client::Msmtp));
    press(&mut a, [ch('k'), key(KeyCode::Down)]);
    assert_eq!(dialog(&a).highlighted(), Some(Client::Msmtp));

    let fx = press(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(
        fx,
        vec![Effect::ExportClient {
            client: Client::Msmtp,
            settings: Box::new(without_password(&dash_settings(&a))),
        }]
    );
    assert!(
        a.modal.is_none(),
        "the dialog closes once a client is chosen"
    );
}

#[test]
fn esc_in_the_list_goes_back_and_the_report_keys_still_work() {
    let mut a = ran(good_settings());
    press(&mut a, [ch('x'), ch('c'), key(KeyCode::Down)]);
    // `j` moves in the list: it is not the JSON key there.
    assert!(press(&mut a, [ch('j')]).is_empty());
    assert_eq!(dialog(&a).highlighted(), Some(Client::AppleMail));
    assert!(press(&mut a, [key(KeyCode::Esc)]).is_empty());
    assert_eq!(dialog(&a).list, None, "Esc leaves the list, not the dialog");
    assert_eq!(press(&mut a, [ch('j')]), vec![Effect::Export(Format::Json)]);
    press(
        &mut a,
        [ch('x'), ch('c'), key(KeyCode::Esc), key(KeyCode::Esc)],
    );
    assert!(a.modal.is_none());
    press(&mut a, [ch('x')]);
    assert_eq!(
        press(&mut a, [ch('m')]),
        vec![Effect::Export(Format::Markdown)]
    );
}

#[test]
fn the_keys_under_the_screen_follow_the_page() {
    let mut a = ran(good_settings());
    press(&mut a, [ch('x')]);
    let keys = screen_text(&a, 80, 24);
    assert!(keys.contains("c:mail program"), "{keys}");
    press(&mut a, [ch('c')]);
    let keys = screen_text(&a, 80, 24);
    assert!(keys.contains("↑↓:choose Enter:write Esc:back"), "{keys}");
}

fn discovered(settings: &Settings) -> smtp_doctor::probe::Outcome {
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
                encrypted: true,
                cert_ok: Some(true),
                auth: vec!["PLAIN".into()],
                ..Probe::default()
            },
            works: true,
        }],
        ..Discovery::default()
    };
    discover::outcome(&d, settings)
}

#[test]
fn after_w_the_export_uses_the_working_settings_discovery_found() {
    let mut a = app();
    a.begin_run(demo_settings(), None, false);
    let mut outcomes = demo_outcomes(false);
    outcomes.push(discovered(&demo_settings()));
    feed_run(&mut a, outcomes);
    press(&mut a, [ch('w')]);
    open_list_at(&mut a, Client::PostfixRelay);
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let [Effect::ExportClient { client, settings }] = fx.as_slice() else {
        panic!("one client export: {fx:?}");
    };
    assert_eq!(*client, Client::PostfixRelay);
    assert_eq!(
        (settings.server.as_str(), settings.port, settings.security),
        ("mail.example.com", 465, Security::Tls)
    );
    assert_eq!(**settings, dash_settings(&a));
}

#[test]
fn settings_that_cannot_be_written_say_why_in_the_dialog() {
    let mut a = ran(Settings {
        server: "not a host name".into(),
        ..good_settings()
    });
    open_list_at(&mut a, Client::Msmtp);
    let shown = screen_text(&a, 120, 40);
    assert!(shown.contains("not a host name"), "{shown}");
    assert!(press(&mut a, [key(KeyCode::Enter)]).is_empty());
    assert!(
        dialog(&a).error.is_some(),
        "the dialog stays with the error"
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every form of the password a file could hold it in.
fn password_forms() -> Vec<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        PASSWORD.to_string(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0{}\0{PASSWORD}", good_settings().account)),
    ]
}

#[test]
fn carrying_out_the_effect_writes_what_config_client_prints_and_never_the_password() {
    for client in Client::ALL {
        // Through the keys, as the user does it: the effect's settings are
        // those of the run, which had the password.
        let mut a = ran(good_settings());
        assert_eq!(dash_settings(&a).password.expose(), PASSWORD);
        open_list_at(&mut a, client);
        let fx = press(&mut a, [key(KeyCode::Enter)]);
        let [
            Effect::ExportClient {
                client: c,
                settings,
            },
        ] = fx.as_slice()
        else {
            panic!("{client}: one client export: {fx:?}");
        };
        assert_eq!(*c, client);
        // Even settings that still hold the password do not write it.
        let mut with_password = (**settings).clone();
        with_password.password = Password::new(PASSWORD);

        let dir = temp_dir(client.name());
        let msg = write_client_export(&dir, client, &with_password);
        let Msg::ClientExported(Ok((got, paths))) = &msg else {
            panic!("{client}: {msg:?}");
        };
        let paths = paths.clone();
        assert_eq!(*got, client);
        let expected = clientconf::generate(
            &without_password(&good_settings()),
            client,
            &Options::default(),
        )
        .unwrap();
        assert_eq!(paths.len(), expected.files.len(), "{client}");
        for (path, file) in paths.iter().zip(&expected.files) {
            assert_eq!(path.parent(), Some(dir.canonicalize().unwrap().as_path()));
            assert_eq!(
                path.file_name().unwrap().to_string_lossy(),
                format!("smtp-doctor-{}", file.name)
            );
            let content = std::fs::read_to_string(path).unwrap();
            assert_eq!(content, file.content, "{client}: {}", file.name);
            for form in password_forms() {
                assert!(!content.contains(&form), "{client}: {}", path.display());
            }
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{client}: only the user reads it");
        }

        a.update(msg);
        let flash = a.flash.clone().expect("a message says where");
        assert!(!flash.error, "{flash:?}");
        for path in &paths {
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(flash.text.contains(&*name), "{flash:?}");
        }
        assert!(
            flash
                .text
                .contains(&*dir.canonicalize().unwrap().to_string_lossy())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_second_export_adds_files_and_replaces_none() {
    let dir = temp_dir("twice");
    let s = good_settings();
    for _ in 0..2 {
        let msg = write_client_export(&dir, Client::PostfixRelay, &s);
        assert!(matches!(msg, Msg::ClientExported(Ok(_))), "{msg:?}");
    }
    std::fs::write(dir.join("smtp-doctor-msmtprc"), "mine\n").unwrap();
    let msg = write_client_export(&dir, Client::Msmtp, &s);
    assert!(matches!(msg, Msg::ClientExported(Ok(_))), "{msg:?}");
    assert_eq!(
        files_in(&dir),
        [
            "smtp-doctor-commands-2.sh",
            "smtp-doctor-commands.sh",
            "smtp-doctor-main-2.cf",
            "smtp-doctor-main.cf",
            "smtp-doctor-msmtprc",
            "smtp-doctor-msmtprc-2",
            "smtp-doctor-sasl_passwd",
            "smtp-doctor-sasl_passwd-2",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("smtp-doctor-msmtprc")).unwrap(),
        "mine\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The flash after writing into `dir`, which cannot take the files.
fn failed_flash(dir: &Path) -> String {
    let mut a = ran(good_settings());
    open_list_at(&mut a, Client::PostfixRelay);
    let fx = press(&mut a, [key(KeyCode::Enter)]);
    let [Effect::ExportClient { client, settings }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let msg = write_client_export(dir, *client, settings);
    assert!(matches!(msg, Msg::ClientExported(Err(_))), "{msg:?}");
    a.update(msg);
    let flash = a.flash.clone().expect("the error is shown");
    assert!(flash.error, "{flash:?}");
    assert!(a.modal.is_none() && !a.quit);
    flash.text
}

#[test]
fn an_unwritable_directory_gives_a_clear_error() {
    let base = temp_dir("unwritable");
    let missing = base.join("gone");
    let text = failed_flash(&missing);
    assert!(
        text.starts_with("Could not write the mail program's settings: "),
        "{text}"
    );
    assert!(text.contains(&*missing.to_string_lossy()), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");

    // A directory without write permission (root may write anyway).
    let locked = base.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    let probe = locked.join("probe");
    if std::fs::write(&probe, "x").is_err() {
        let text = failed_flash(&locked);
        assert!(text.contains("Permission denied"), "{text}");
        assert!(files_in(&locked).is_empty(), "nothing half written");
    } else {
        eprintln!("running as root: the read-only directory case is skipped");
        let _ = std::fs::remove_file(&probe);
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn every_client_page_fits_80x24_with_its_keys() {
    for client in Client::ALL {
        let mut a = ran(Settings {
            // No encryption adds the longest note about the password.
            security: Security::None,
            ..good_settings()
        });
        open_list_at(&mut a, client);
        let shown = screen_text(&a, 80, 24);
        let rows: Vec<&str> = shown.lines().collect();
        assert!(
            rows.last().unwrap().contains("Enter:write"),
            "{client}: {shown}"
        );
        assert!(shown.contains(client.label()), "{client}: {shown}");
        assert!(shown.contains("Writes smtp-doctor-"), "{client}: {shown}");
        assert!(!shown.contains(PASSWORD), "{client}");
    }
}

#[test]
fn export_dialog_snapshots() {
    let mut a = ran(good_settings());
    open_list_at(&mut a, Client::Msmtp);
    insta::assert_snapshot!("export_clients_msmtp_80x24", draw(&a, 80, 24));
    insta::assert_snapshot!("export_clients_msmtp_120x40", draw(&a, 120, 40));
    press(&mut a, [key(KeyCode::Enter)]);
    a.update(Msg::ClientExported(Ok((
        Client::Msmtp,
        vec![PathBuf::from("/home/alice/smtp-doctor-msmtprc")],
    ))));
    insta::assert_snapshot!("export_clients_written_80x24", draw(&a, 80, 24));
}
