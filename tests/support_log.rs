//! `check --log FILE` and `--verbose` against the real test bed (see
//! tests/testbed/README.md): the support log holds the whole conversation,
//! every check's start and end, and the DNS answers, and no trace of the
//! password in any encoding a login sends it in.
//!
//! Ignored under a plain `cargo test`; `tests/run.sh` runs it with
//! `--include-ignored` after starting the servers.

mod testbed_common;
use base64::Engine as _;
use std::process::Command;
use testbed_common::testbed;

const DNS: &str = "127.0.0.2:5353";
const LOGIN: &str = "alice@smtpd.test";
/// Not alice's password (`Corr3ct-H0rse-Battery`): the server answers 535.
const WRONG: &str = "Wr0ng-Horse-Stapler";

/// Every form of the password a client puts on the wire: plain (IMAP
/// LOGIN), AUTH LOGIN (base64 of the password alone), AUTH PLAIN (base64 of
/// `\0login\0password`, and of `login\0login\0password`).
fn traces() -> Vec<String> {
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    vec![
        WRONG.to_string(),
        b64(WRONG),
        b64(&format!("\0{LOGIN}\0{WRONG}")),
        b64(&format!("{LOGIN}\0{LOGIN}\0{WRONG}")),
    ]
}

/// Runs `check` with the wrong password and a support log; returns the log,
/// standard error and the report.
fn wrong_password_run(extra: &[&str]) -> (String, String, String) {
    let tb = testbed();
    let dir = std::env::temp_dir().join(format!(
        "smtp-doctor-log-{}-{}",
        std::process::id(),
        extra.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("support.log");
    let ca = tb.join("ca.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args([
            "check",
            "--server",
            "mail.smtpd.test",
            "--port",
            "587",
            "--security",
            "starttls",
            "--user",
            LOGIN,
            "--password-env",
            "SUPPORT_LOG_TEST_PW",
            "--to",
            "someone@example.net",
            "--dns",
            DNS,
            "--echo-dns",
            DNS,
            "--internal",
            "--format",
            "json",
            "--verbose",
        ])
        .args(extra)
        .arg("--ca-file")
        .arg(&ca)
        .arg("--log")
        .arg(&log)
        .env("SUPPORT_LOG_TEST_PW", WRONG)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let text = std::fs::read_to_string(&log).expect("the log file was written");
    let _ = std::fs::remove_dir_all(&dir);
    (text, stderr, stdout)
}

/// No form of the password in any of the outputs.
fn assert_no_traces(text: &str, stderr: &str, stdout: &str) {
    for (name, body) in [("log", text), ("stderr", stderr), ("report", stdout)] {
        for t in traces() {
            assert!(!body.contains(&t), "{name} holds {t:?}:\n{body}");
        }
    }
}

#[test]
#[ignore = "needs the test bed"]
fn with_an_incoming_server_the_log_has_its_redacted_login_and_no_password() {
    // The incoming login goes first; refused, SMTP AUTH is not tried (one
    // failed login per run), and the log says so.
    let (text, stderr, stdout) = wrong_password_run(&["--incoming-server", "mail.smtpd.test"]);
    assert_no_traces(&text, &stderr, &stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("incoming.login") && l.contains("[redacted]")),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("C:       auth ") && l.contains("AUTH ")),
        "a second login was tried:\n{text}"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn wrong_password_log_has_the_conversation_and_no_password() {
    let (text, stderr, stdout) = wrong_password_run(&[]);

    // No trace of the password, in the log, on stderr, or in the report.
    for (name, body) in [("log", &text), ("stderr", &stderr), ("report", &stdout)] {
        for t in traces() {
            assert!(!body.contains(&t), "{name} holds {t:?}:\n{body}");
        }
    }

    // The whole conversation, with the login redacted and the refusal.
    let has = |needle: &str| text.lines().any(|l| l.contains(needle));
    assert!(has("C:       smtp.ehlo        EHLO "), "{text}");
    assert!(has("STARTTLS"), "{text}");
    let auth_line = text
        .lines()
        .find(|l| l.contains("C:       auth ") && l.contains("AUTH "))
        .unwrap_or_else(|| panic!("no AUTH line:\n{text}"));
    assert!(auth_line.contains("[redacted]"), "{auth_line}");
    assert!(has("S:       auth             535 "), "{text}");
    // Every check starts and ends with status and duration.
    assert!(has("begin    auth "), "{text}");
    assert!(has("end      auth             fail in "), "{text}");
    assert!(has("end      relay "), "{text}");
    // DNS questions and answers.
    assert!(
        has("dns      dns.server       DNS A+AAAA mail.smtpd.test.? mail.smtpd.test. "),
        "{text}"
    );
    assert!(
        has("dns      recipient.mx     DNS MX example.net.? "),
        "{text}"
    );
    // The verdict, the cause and the total time close it.
    assert!(has("verdict  -                problem"), "{text}");
    assert!(has("cause    -                "), "{text}");
    assert!(
        text.lines().last().unwrap_or("").contains("total "),
        "{text}"
    );
    // Every line is timestamped.
    assert!(
        text.lines()
            .all(|l| l.len() > 36 && l.as_bytes()[10] == b'T' && l.contains("Z +")),
        "{text}"
    );
    // --verbose wrote the same lines to standard error.
    assert!(
        stderr.contains("S:       auth             535 "),
        "{stderr}"
    );
}

/// Needs no server: the log file is opened before any check runs.
#[test]
fn unwritable_log_is_a_usage_error_before_anything_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args([
            "check",
            "--server",
            "mail.smtpd.test",
            "--no-auth",
            "--from",
            "alice@smtpd.test",
            "--to",
            "someone@example.net",
            "--dns",
            DNS,
            "--echo-dns",
            DNS,
            "--log",
            "/nonexistent-dir/support.log",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Cannot create the log file /nonexistent-dir/support.log"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
