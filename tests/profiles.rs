//! The profile store: round trip, atomic replace, permissions, damaged
//! files reported with their position and never overwritten, no password
//! on disk unless asked; and the `profiles` and `check --profile` commands
//! of the real binary, each with its own config dir.

use smtp_doctor::profile::{Profile, ProfileError, SCHEMA, Store, check_name};
use smtp_doctor::settings::{Password, Security, Settings};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every test holds this lock: one test sets an environment variable, and
/// reading the environment (temp dir, spawning the binary) meanwhile in
/// another thread would race with it.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "smtp-doctor-profiles-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const SECRET: &str = "Corr3ct-H0rse-Battery";

fn settings() -> Settings {
    Settings {
        account: "alice@smtpd.test".into(),
        server: "mail.smtpd.test".into(),
        port: 587,
        security: Security::Starttls,
        auth: true,
        login: "alice".into(),
        password: Password::new(SECRET),
        sender: "alice@smtpd.test".into(),
        recipient: "bob@example.net".into(),
        helo: "client.smtpd.test".into(),
        timeout_secs: 7,
        dns: Some("127.0.0.2:5353".into()),
        ca_file: Some(PathBuf::from("/etc/ssl/company-ca.pem")),
        ..Settings::default()
    }
}

fn profile(name: &str, save_password: bool) -> Profile {
    Profile {
        name: name.into(),
        settings: settings(),
        save_password,
    }
}

fn store(dir: &TempDir) -> Store {
    Store::at(dir.path().join("profiles"))
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn round_trip_keeps_every_setting_but_the_password() {
    let _env = lock();
    let dir = TempDir::new("roundtrip");
    let s = store(&dir);
    let path = s.save(&profile("office", false), false).unwrap();
    assert_eq!(path, s.dir().join("office.json"));
    let back = s.load("office").unwrap();
    let mut want = settings();
    want.password = Password::default();
    assert_eq!(back.settings, want);
    assert!(!back.save_password);
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        !text.contains("password\""),
        "no password key at all: {text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], SCHEMA);
}

#[test]
fn password_is_on_disk_only_when_asked() {
    let _env = lock();
    let dir = TempDir::new("password");
    let s = store(&dir);
    s.save(&profile("kept", true), false).unwrap();
    let text = fs::read_to_string(s.path_of("kept")).unwrap();
    assert!(text.contains(SECRET));
    let back = s.load("kept").unwrap();
    assert!(back.save_password);
    assert_eq!(back.settings.password.expose(), SECRET);
}

#[test]
fn files_are_private() {
    let _env = lock();
    let dir = TempDir::new("perms");
    let s = store(&dir);
    let path = s.save(&profile("office", true), false).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(s.dir()), 0o700);
    // Replacing a file that someone made world-readable makes it private again.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    s.save(&profile("office", true), true).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn replace_is_atomic_and_leaves_no_temporary_files() {
    let _env = lock();
    let dir = TempDir::new("atomic");
    let s = store(&dir);
    s.save(&profile("office", false), false).unwrap();
    let before = fs::metadata(s.path_of("office")).unwrap();
    let mut p = profile("office", false);
    p.settings.port = 465;
    p.settings.security = Security::Tls;
    // Without overwrite the existing profile is refused.
    assert!(matches!(
        s.save(&p, false),
        Err(ProfileError::Exists(ref n)) if n == "office"
    ));
    s.save(&p, true).unwrap();
    let after = fs::metadata(s.path_of("office")).unwrap();
    // A rename put a new file in place: a new inode, never a rewrite.
    use std::os::unix::fs::MetadataExt;
    assert_ne!(before.ino(), after.ino());
    assert_eq!(s.load("office").unwrap().settings.port, 465);
    let names: Vec<String> = fs::read_dir(s.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["office.json"]);
}

#[test]
fn a_damaged_file_is_reported_with_its_position_and_never_overwritten() {
    let _env = lock();
    let dir = TempDir::new("corrupt");
    let s = store(&dir);
    s.save(&profile("good", false), false).unwrap();
    let bad = s.path_of("broken");
    let text = "{\n  \"schema\": 1,\n  \"server\": \"mail.smtpd.test\"\n  \"port\": 587\n}\n";
    fs::write(&bad, text).unwrap();
    let err = s.load("broken").unwrap_err();
    match &err {
        ProfileError::Corrupt {
            path, line, column, ..
        } => {
            assert_eq!(path, &bad);
            assert_eq!((*line, *column), (4, 3));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("broken.json") && msg.contains("line 4, column 3"),
        "{msg}"
    );

    // Saving over it is refused, even when replacing is allowed.
    let e = s.save(&profile("broken", false), true).unwrap_err();
    assert!(e.is_damaged(), "{e}");
    assert_eq!(fs::read_to_string(&bad).unwrap(), text);
    // Renaming onto it or copying over it is refused too.
    assert!(s.rename("good", "broken").is_err());
    assert!(s.duplicate("good", "broken").is_err());
    assert_eq!(fs::read_to_string(&bad).unwrap(), text);

    // The list shows both: the good one usable, the damaged one with its error.
    let list = s.list().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["broken", "good"]);
    assert!(list[0].profile.is_err());
    assert!(list[1].profile.is_ok());
}

#[test]
fn wrong_types_unknown_fields_and_newer_schemas_are_named() {
    let _env = lock();
    let dir = TempDir::new("types");
    let s = store(&dir);
    fs::create_dir_all(s.dir()).unwrap();
    let write = |name: &str, text: &str| fs::write(s.path_of(name), text).unwrap();
    write(
        "typo",
        r#"{"schema": 1, "account": "", "server": "x.test", "port": 587, "security": "starttls", "auth": true, "secruity": "tls"}"#,
    );
    let e = s.load("typo").unwrap_err().to_string();
    assert!(e.contains("secruity") && e.contains("column"), "{e}");
    write(
        "badport",
        "{\"schema\": 1, \"account\": \"\", \"server\": \"x.test\",\n \"port\": \"five\", \"security\": \"starttls\", \"auth\": true}",
    );
    let e = s.load("badport").unwrap_err();
    assert!(matches!(e, ProfileError::Corrupt { line: 2, .. }), "{e}");
    write("future", r#"{"schema": 2, "whatever": true}"#);
    let e = s.load("future").unwrap_err();
    assert!(
        matches!(e, ProfileError::NewerSchema { found: 2, .. }),
        "{e}"
    );
    assert!(e.is_damaged());
}

#[test]
fn names_are_never_paths() {
    let _env = lock();
    for bad in [
        "",
        " ",
        "../etc/passwd",
        "a/b",
        "a\\b",
        ".hidden",
        "tab\there",
        " lead",
        "x:y",
    ] {
        assert!(check_name(bad).is_err(), "{bad:?} accepted");
    }
    for good in [
        "office",
        "Büro 2",
        "alice@smtpd.test",
        "home (old)",
        "a.b-c_d+e",
    ] {
        assert!(check_name(good).is_ok(), "{good:?} refused");
    }
    let dir = TempDir::new("names");
    let s = store(&dir);
    assert!(matches!(
        s.save(&profile("../escape", false), false),
        Err(ProfileError::BadName(_))
    ));
    assert!(matches!(s.load("../escape"), Err(ProfileError::BadName(_))));
    assert!(matches!(
        s.delete("../escape"),
        Err(ProfileError::BadName(_))
    ));
    assert!(!dir.path().join("escape.json").exists());
}

#[test]
fn rename_duplicate_delete() {
    let _env = lock();
    let dir = TempDir::new("ops");
    let s = store(&dir);
    s.save(&profile("a", true), false).unwrap();
    s.save(&profile("b", false), false).unwrap();
    assert!(matches!(s.rename("a", "b"), Err(ProfileError::Exists(_))));
    s.rename("a", "c").unwrap();
    assert!(!s.exists("a"));
    assert_eq!(s.load("c").unwrap().settings.password.expose(), SECRET);
    s.duplicate("c", "d").unwrap();
    assert_eq!(mode(&s.path_of("d")), 0o600);
    assert_eq!(s.free_name("d"), "d 2");
    s.delete("d").unwrap();
    assert!(matches!(s.delete("d"), Err(ProfileError::NotFound { .. })));
    let names: Vec<String> = s.list().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, vec!["b", "c"]);
}

#[test]
fn a_missing_directory_is_an_empty_list() {
    let _env = lock();
    let dir = TempDir::new("missing");
    assert!(store(&dir).list().unwrap().is_empty());
}

// ------------------------------------------------------- the command line

fn bin(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"));
    c.env("SMTP_DOCTOR_CONFIG_DIR", config)
        .env_remove("SMTP_DOCTOR_DNS")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn profiles_command_lists_shows_and_deletes() {
    let _env = lock();
    let dir = TempDir::new("cli");
    let s = Store::at(dir.path().join("profiles"));
    let out = bin(dir.path()).args(["profiles", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No profiles yet"));

    s.save(&profile("office", true), false).unwrap();
    fs::write(s.path_of("broken"), "{ nope").unwrap();
    let out = bin(dir.path()).arg("profiles").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("office  mail.smtpd.test:587 (STARTTLS)"),
        "{text}"
    );
    assert!(
        text.contains("broken  (damaged)") && text.contains("line 1, column 3"),
        "{text}"
    );

    let out = bin(dir.path())
        .args(["profiles", "show", "office"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("mail.smtpd.test"));
    assert!(
        text.contains("saved in the profile file (not shown)"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "show must never print the password");

    let out = bin(dir.path())
        .args(["profiles", "show", "../x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin(dir.path())
        .args(["profiles", "delete", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named"));

    let out = bin(dir.path())
        .args(["profiles", "delete", "office"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!s.exists("office"));
    // The damaged file is still there, untouched.
    assert_eq!(fs::read_to_string(s.path_of("broken")).unwrap(), "{ nope");
}

#[test]
fn check_requires_server_and_recipient_from_flags_or_profile() {
    let _env = lock();
    let dir = TempDir::new("check");
    let out = bin(dir.path())
        .args(["check", "--to", "bob@example.net"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server is required"));

    let out = bin(dir.path())
        .args(["check", "--profile", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named \"nope\""));

    // A profile without a recipient, and none on the command line.
    let s = Store::at(dir.path().join("profiles"));
    let mut p = profile("norcpt", false);
    p.settings.recipient.clear();
    s.save(&p, false).unwrap();
    let out = bin(dir.path())
        .args(["check", "--profile", "norcpt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--to is required (or a --profile that sets it)"),
        "{err}"
    );
}

#[test]
fn check_profile_values_are_overridden_by_flags() {
    let _env = lock();
    use clap::Parser;
    use smtp_doctor::cli::{Cli, Command as Sub, settings_from};
    let dir = TempDir::new("merge");
    let s = Store::at(dir.path().join("profiles"));
    s.save(&profile("office", true), false).unwrap();
    // The store is found through the environment, as the binary finds it.
    // SAFETY: every test of this binary holds the ENV lock, so no other
    // thread reads the environment meanwhile.
    unsafe { std::env::set_var("SMTP_DOCTOR_CONFIG_DIR", dir.path()) };
    let parse = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).unwrap();
        let Some(Sub::Check(a)) = cli.command else {
            panic!("check")
        };
        settings_from(&a, &mut std::io::empty())
    };
    let got = parse(&["smtp-doctor", "check", "--profile", "office"])
        .unwrap_or_else(|e| panic!("{}", e.1));
    assert_eq!(got.server, "mail.smtpd.test");
    assert_eq!(got.password.expose(), SECRET);
    assert_eq!(got.timeout_secs, 7);
    let got = parse(&[
        "smtp-doctor",
        "check",
        "--profile",
        "office",
        "--server",
        "other.smtpd.test",
        "--port",
        "465",
        "--no-auth",
        "--to",
        "carol@example.org",
    ])
    .unwrap_or_else(|e| panic!("{}", e.1));
    assert_eq!(got.server, "other.smtpd.test");
    assert_eq!((got.port, got.security), (465, Security::Tls));
    assert!(!got.auth);
    assert_eq!(got.recipient, "carol@example.org");
    assert_eq!(got.account, "alice@smtpd.test", "kept from the profile");
    // SAFETY: as above.
    unsafe { std::env::remove_var("SMTP_DOCTOR_CONFIG_DIR") };
}
