//! The profile store against odd files: FIFOs, sockets and directories
//! named `*.json`, files that are not UTF-8, temporary files crashed saves
//! left behind (they may hold a password), and two saves at once.

use smtp_doctor::profile::{Profile, ProfileError, Store};
use smtp_doctor::settings::{Password, Settings};
use std::fs;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smtp-doctor-hp-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("profiles")).unwrap();
    d
}

fn profile(name: &str, password: &str) -> Profile {
    Profile {
        name: name.into(),
        settings: Settings {
            account: "alice@example.org".into(),
            server: "smtp.example.org".into(),
            password: Password::new(password),
            ..Settings::default()
        },
        save_password: !password.is_empty(),
    }
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn binary(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args(args)
        .env("SMTP_DOCTOR_CONFIG_DIR", config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A generous fence: a FIFO read would block forever.
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("smtp-doctor {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn odd_entries_are_listed_as_damaged_and_never_block() {
    let dir = temp_dir("odd");
    let p = dir.join("profiles");
    let store = Store::at(&p);
    store.save(&profile("good", ""), false).unwrap();
    mkfifo(&p.join("fifo.json"));
    let _sock = UnixListener::bind(p.join("sock.json")).unwrap();
    fs::create_dir(p.join("folder.json")).unwrap();
    fs::write(p.join("latin1.json"), b"{\"server\": \"caf\xe9\"}").unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.join("dev.json")).unwrap();

    let list = store.list().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "fifo", "folder", "good", "latin1", "sock"]);
    for e in &list {
        match e.name.as_str() {
            "good" => assert!(e.profile.is_ok()),
            other => {
                let err = e.profile.as_ref().unwrap_err();
                assert!(err.is_damaged(), "{other}: {err}");
                let text = err.to_string();
                let expected = match other {
                    "fifo" => "named pipe",
                    "sock" => "socket",
                    "folder" => "directory",
                    "dev" => "device",
                    _ => "not UTF-8",
                };
                assert!(text.contains(expected), "{other}: {text}");
            }
        }
    }
    // Saving over any of them is refused; nothing is replaced.
    for name in ["fifo", "folder", "latin1"] {
        let e = store.save(&profile(name, ""), true).unwrap_err();
        assert!(e.is_damaged(), "{name}: {e}");
    }
    assert!(p.join("folder.json").is_dir());

    // The command line: list works, show of a damaged one is bad input (2).
    let (code, out, err) = binary(&dir, &["profiles", "list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("fifo  (damaged)"), "{out}");
    for name in ["fifo", "folder", "latin1", "sock", "dev"] {
        let (code, _, err) = binary(&dir, &["profiles", "show", name]);
        assert_eq!(code, Some(2), "show {name}: {err}");
        let (code, _, err) = binary(
            &dir,
            &["check", "--profile", name, "--to", "bob@example.net", "-q"],
        );
        assert_eq!(code, Some(2), "check --profile {name}: {err}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn crashed_saves_leave_no_password_behind() {
    let dir = temp_dir("tmp");
    let p = dir.join("profiles");
    let store = Store::at(&p);
    store.save(&profile("office", "s3cret"), false).unwrap();
    // A save by a process that is gone (no such pid), one of a process that
    // runs (this one) and is fresh, one of a running process but old, and
    // files that only look similar.
    let dead = p.join(".office.json.4000000000.0.tmp");
    let live = p.join(format!(".office.json.{}.7.tmp", std::process::id()));
    let old = p.join(format!(".office.json.{}.8.tmp", std::process::id()));
    let foreign = p.join(".office.json.bak");
    let not_ours = p.join(".notes.4000000000.0.tmp");
    for f in [&dead, &live, &old, &foreign, &not_ours] {
        fs::write(f, "{\"password\": \"s3cret\"}").unwrap();
    }
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert!(!dead.exists(), "a dead process's temp file stays");
    assert!(!old.exists(), "an hour-old temp file stays");
    assert!(live.exists(), "a running save's temp file was removed");
    assert!(
        foreign.exists() && not_ours.exists(),
        "removed a file not ours"
    );

    // `profiles delete` takes the leftovers of that profile with it.
    fs::write(&dead, "x").unwrap();
    let (code, _, err) = binary(&dir, &["profiles", "delete", "office"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!dead.exists());
    assert!(!p.join("office.json").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn two_saves_of_one_profile_take_turns() {
    let dir = temp_dir("lock");
    let p = dir.join("profiles");
    let store = Store::at(&p);
    store.save(&profile("office", ""), false).unwrap();
    // Another process holds the save lock.
    let held = fs::File::create(p.join(".office.lock")).unwrap();
    held.lock().unwrap();
    let s2 = store.clone();
    let saver = std::thread::spawn(move || s2.save(&profile("office", "new"), true));
    std::thread::sleep(Duration::from_millis(400));
    assert!(!saver.is_finished(), "the save did not wait for the lock");
    assert!(store.load("office").unwrap().settings.password.is_empty());
    held.unlock().unwrap();
    saver.join().unwrap().unwrap();
    assert_eq!(
        store.load("office").unwrap().settings.password.expose(),
        "new"
    );
    // The lock file goes when the save is done.
    assert!(!p.join(".office.lock").exists());

    // Many concurrent saves from several threads: every one succeeds and
    // the file is one of them, whole.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || s.save(&profile("office", &format!("pw{i}")), true))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let pw = store
        .load("office")
        .unwrap()
        .settings
        .password
        .expose()
        .to_string();
    assert!(pw.starts_with("pw"), "{pw}");
    let leftovers: Vec<_> = fs::read_dir(&p)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "office.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn not_found_is_still_not_found() {
    let dir = temp_dir("nf");
    let store = Store::at(dir.join("profiles"));
    assert!(matches!(
        store.load("nothing"),
        Err(ProfileError::NotFound { .. })
    ));
    let _ = fs::remove_dir_all(&dir);
}
