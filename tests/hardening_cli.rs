//! The command line at its edges: signals at the password prompt (a real
//! pseudo-terminal, driven by python3's pty module), exit codes after
//! signals, closed and broken standard output and error, and `explain`
//! input cut inside a character.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_smtp-doctor")
}

/// Runs the binary on a new pseudo-terminal, waits for `wait_for` on the
/// screen, then sends `action` (a signal name, or `key:<bytes>`), waits for
/// the exit (10 s at most) and reports `rc=<code> echo=<0|1> icanon=<0|1>
/// raw_before=<0|1>`: the terminal's modes after the program ended, and
/// whether it had turned echo off before.
const PTY_DRIVER: &str = include_str!("pty_driver.py");

/// The driver's report line.
pub fn on_pty(wait_for: &str, action: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(PTY_DRIVER)
        .arg(wait_for)
        .arg(action)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pty driver: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.trim().to_string()
}

fn prompt_args() -> Vec<&'static str> {
    vec![
        bin(),
        "check",
        "--password-stdin",
        "--server",
        "127.0.0.1",
        "--to",
        "bob@example.net",
        "--dns",
        "127.0.0.2:5353",
    ]
}

#[test]
fn signals_at_the_password_prompt_give_the_terminal_back() {
    for (action, code) in [
        ("SIGTERM", 143),
        ("SIGHUP", 129),
        ("SIGINT", 130),
        ("key:\\x03", 130),
    ] {
        let r = on_pty("Password:", action, &prompt_args(), &[]);
        assert!(
            r.contains("raw_before=1"),
            "{action}: the prompt did not hide typing: {r}"
        );
        assert!(
            r.starts_with(&format!("rc={code} echo=1 icanon=1")),
            "{action}: {r}"
        );
    }
}

#[test]
fn a_closed_or_broken_stdout_or_stderr_never_panics() {
    // stdout: a pipe whose reader is gone before anything is written.
    let mut child = Command::new(bin())
        .args(["explain", "554 5.7.1 Relay access denied"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // The shell's `| head -c1`.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' explain '554 5.7.1 Relay access denied' | head -c1 >/dev/null; echo ${{PIPESTATUS:-}}",
            bin()
        ))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));

    // stderr closed (2>&-) and stderr a broken pipe, with an error to print
    // and with progress lines to print.
    for redirect in ["2>&-", "2>&1 >/dev/null | true"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' check --server 127.0.0.1 {redirect}; echo rc=$?",
                bin()
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("rc=2") || text.contains("rc=0"),
            "{redirect}: {text}"
        );
        assert!(!text.contains("rc=101"), "{redirect}: panicked");
    }
    // Progress lines to a standard error whose reader is gone.
    let mut child = Command::new(bin())
        .args([
            "check",
            "--server",
            "127.0.0.1",
            "--port",
            "9",
            "--no-auth",
            "--security",
            "none",
            "--to",
            "bob@example.net",
            "--from",
            "alice@example.org",
            "--internal",
            "--public-ip",
            "192.0.2.1",
            "--timeout",
            "1",
            "--dns",
            "127.0.0.1:9",
            "--echo-dns",
            "127.0.0.1:9",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "progress to a broken stderr: {status}"
    );
}

fn explain_stdin(bytes: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new(bin())
        .arg("explain")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_input_cut_inside_a_character_is_still_text() {
    let mut input = b"554 5.7.1 Relay access denied ".to_vec();
    input.resize(1024 * 1024 - 1, b'a');
    input.extend_from_slice("é and more".as_bytes());
    let (code, err) = explain_stdin(&input);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("UTF-8"), "{err}");
    // Input that is not UTF-8 is still bad input, and said so.
    let (code, err) = explain_stdin(b"554 5.7.1 caf\xe9 denied");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not valid UTF-8"), "{err}");
}
