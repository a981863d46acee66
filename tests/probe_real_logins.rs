//! How many logins one run costs, counted where the servers count them:
//! the real test bed's Postfix log (`SASL PLAIN authentication failed`,
//! `sasl_method=PLAIN`) and Dovecot's, which authenticates both SMTP AUTH
//! and IMAP (`passwd-file(user,...): unknown user` per attempt). A wrong
//! password costs one failure per run — with or without an incoming
//! server, with or without `--send` — and a run that sends a message logs
//! in once.
//!
//! Each failing run uses a login no other test uses, so runs in parallel
//! cannot blur the count; the login does not exist, which both servers
//! treat exactly as a wrong password (see tests/testbed/README.md).

mod testbed_common;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testbed_common::testbed;

const DNS: &str = "127.0.0.2:5353";

fn check(tb: &Path, args: &[&str], password: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .arg("check")
        .args([
            "--dns",
            DNS,
            "--echo-dns",
            DNS,
            "--timeout",
            "5",
            "--internal",
        ])
        .arg("--ca-file")
        .arg(tb.join("ca.pem"))
        .args(args)
        .args(["--password-env", "PROBE_LOGIN_PW", "--format", "json"])
        .env("PROBE_LOGIN_PW", password)
        .stdin(Stdio::null())
        .output()
        .expect("run smtp-doctor");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn status<'a>(v: &'a serde_json::Value, id: &str) -> &'a str {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// The log's lines after `from` bytes that satisfy `pred`, waiting
/// (bounded) until at least `want` appear, and a moment more for extras.
fn count_after(log: &Path, from: u64, want: usize, pred: impl Fn(&str) -> bool) -> usize {
    let read = || {
        let text = std::fs::read(log).unwrap_or_default();
        let new = &text[(from as usize).min(text.len())..];
        String::from_utf8_lossy(new)
            .lines()
            .filter(|l| pred(l))
            .count()
    };
    let until = Instant::now() + Duration::from_secs(5);
    while read() < want && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1200));
    read()
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
#[ignore = "needs the test bed"]
fn a_wrong_password_costs_one_failed_login_per_run() {
    let tb = testbed();
    let (postfix, dovecot) = (tb.join("postfix.log"), tb.join("dovecot.log"));
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let variants: [(&str, &[&str]); 4] = [
        ("smtp", &[]),
        ("imap", &["--incoming-server", "mail.smtpd.test"]),
        ("send", &["--send"]),
        (
            "imap-send",
            &["--incoming-server", "mail.smtpd.test", "--send"],
        ),
    ];
    for (name, extra) in variants {
        let user = format!("count-{name}-{}-{stamp}@smtpd.test", std::process::id());
        let (p0, d0) = (size(&postfix), size(&dovecot));
        let base = [
            "--server",
            "mail.smtpd.test",
            "--user",
            &user,
            "--to",
            "inbox@mailbox.test",
        ];
        let v = check(&tb, &[&base[..], extra].concat(), "N0t-The-Passw0rd");
        assert_eq!(status(&v, "auth"), "fail", "{name}");
        assert_ne!(status(&v, "send"), "pass", "{name}");
        let tried = count_after(&dovecot, d0, 1, |l| {
            l.contains(&format!("passwd-file({user},")) && l.contains("unknown user")
        });
        let smtp_failures = count_after(&postfix, p0, 0, |l| {
            l.contains("authentication failed") && l.contains(&format!("sasl_username={user}"))
        });
        assert_eq!(tried, 1, "{name}: failed logins in Dovecot's log");
        let via_imap = extra.contains(&"--incoming-server");
        assert_eq!(
            smtp_failures,
            usize::from(!via_imap),
            "{name}: in Postfix's log"
        );
        if via_imap {
            assert_eq!(status(&v, "incoming.login"), "fail", "{name}");
        }
    }
}

#[test]
#[ignore = "needs the test bed"]
fn sending_a_message_is_one_successful_login() {
    let tb = testbed();
    let postfix = tb.join("postfix.log");
    let p0 = size(&postfix);
    let v = check(
        &tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--user",
            "bob@smtpd.test",
            "--to",
            "inbox@mailbox.test",
            "--send",
        ],
        "B0b-Str0ng-Pass",
    );
    assert_eq!(status(&v, "auth"), "pass");
    assert_eq!(status(&v, "send"), "pass");
    let logins = count_after(&postfix, p0, 1, |l| {
        l.contains("sasl_method=PLAIN") && l.contains("sasl_username=bob@smtpd.test")
    });
    assert_eq!(
        logins, 1,
        "successful AUTHs in Postfix's log for one run with --send"
    );
}
