//! The interactive screen stays in charge while the disk is not: with a
//! FIFO named like a profile in the profile folder (which would block a
//! plain open and read forever), the real binary on a pseudo-terminal
//! draws its screen, answers q, Ctrl-C, SIGTERM and SIGHUP, ends with the
//! documented code and gives the terminal back (echo and line editing on).
//! Driven by python3's pty module; the bound on "it did exit" is 10 s, and
//! the time it took is printed (run with --nocapture to see it).

use std::path::PathBuf;
use std::process::Command;

const PTY_DRIVER: &str = include_str!("pty_driver.py");

fn config_with_fifo(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smtp-doctor-tb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("profiles")).unwrap();
    let fifo = d.join("profiles").join("stuck.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    d
}

#[test]
fn the_screen_answers_keys_and_signals_with_a_fifo_in_the_profile_folder() {
    let bin = env!("CARGO_BIN_EXE_smtp-doctor");
    for (action, code) in [
        ("key:q", 0),
        ("key:\\x03", 130),
        ("SIGTERM", 143),
        ("SIGHUP", 129),
    ] {
        let config = config_with_fifo(&action.replace(['\\', ':'], "_"));
        let out = Command::new("python3")
            .arg("-c")
            .arg(PTY_DRIVER)
            // The start screen lists the FIFO as a damaged profile: the
            // listing finished and the screen was drawn.
            .arg("stuck")
            .arg(action)
            .arg(bin)
            .env("SMTP_DOCTOR_CONFIG_DIR", &config)
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .env("SMTP_DOCTOR_DNS", "127.0.0.2:5353")
            .env("SMTP_DOCTOR_ECHO_DNS", "127.0.0.2:5353")
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{action}: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{action}: {}", report.trim());
        assert!(
            report.starts_with(&format!("rc={code} echo=1 icanon=1 raw_before=1")),
            "{action}: {report}"
        );
        let _ = std::fs::remove_dir_all(&config);
    }
}

#[test]
fn a_dumb_terminal_is_told_to_use_the_command_line() {
    let bin = env!("CARGO_BIN_EXE_smtp-doctor");
    let out = Command::new("python3")
        .arg("-c")
        .arg(PTY_DRIVER)
        .arg("check --help")
        .arg("none")
        .arg(bin)
        .env("TERM", "dumb")
        .env(
            "SMTP_DOCTOR_CONFIG_DIR",
            std::env::temp_dir().join("smtp-doctor-tb-dumb"),
        )
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.starts_with("rc=2 echo=1 icanon=1"), "{report}");
}
