//! `discover` against the real test bed (SRV, MX, an autoconfig file over
//! HTTPS from tests/testbed/autoconfig, Postfix as the candidates), and the
//! one-login rule counted in Postfix's own log.
//!
//! Test-bed tests are ignored under a plain `cargo test`; `tests/run.sh`
//! runs them with `--include-ignored` (a missing test bed then fails).

mod testbed_common;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use testbed_common::testbed;

const PASSWORD: &str = "Corr3ct-H0rse-Battery";

/// Tests that count login lines in the shared Postfix log run one at a time.
static LOG_LOCK: Mutex<()> = Mutex::new(());

fn dns() -> String {
    std::env::var("SMTP_DOCTOR_DNS").unwrap_or_else(|_| "127.0.0.2:5353".into())
}

struct Run {
    code: i32,
    stdout: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

fn discover(tb: &Path, email: &str, password: Option<&str>, format: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"));
    cmd.args([
        "discover",
        "--email",
        email,
        "--dns",
        &dns(),
        "--timeout",
        "5",
        "-q",
    ])
    .args(["--format", format])
    .arg("--ca-file")
    .arg(tb.join("ca.pem"))
    .env_remove("SMTP_DOCTOR_DNS");
    if let Some(pw) = password {
        cmd.env("DISCOVER_TEST_PW", pw)
            .args(["--password-env", "DISCOVER_TEST_PW"]);
    }
    let out = cmd.output().expect("run smtp-doctor");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Login attempts Postfix logged after `from` bytes: every AUTH command it
/// counted in its disconnect lines ("auth=1", "auth=0/1").
fn logins_since(tb: &Path, from: usize) -> (usize, usize) {
    let log = std::fs::read(tb.join("postfix.log")).unwrap_or_default();
    let text = String::from_utf8_lossy(&log[from.min(log.len())..]).into_owned();
    let mut attempts = 0;
    let mut failed = 0;
    for line in text.lines() {
        if line.contains("authentication failed") {
            failed += 1;
        }
        if line.contains("disconnect from")
            && let Some(pos) = line.find(" auth=")
        {
            let v = line[pos + 6..].split_whitespace().next().unwrap_or("");
            let total = v.rsplit('/').next().unwrap_or("0");
            attempts += total.parse::<usize>().unwrap_or(0);
        }
    }
    (attempts, failed)
}

fn log_len(tb: &Path) -> usize {
    std::fs::metadata(tb.join("postfix.log"))
        .map(|m| m.len() as usize)
        .unwrap_or(0)
}

/// Postfix writes the disconnect line just after the session ends.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(700));
}

fn sources(c: &Value) -> Vec<String> {
    c["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[ignore = "needs the test bed"]
fn address_and_password_alone_give_settings_that_pass_end_to_end() {
    let tb = testbed();
    let _g = LOG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let before = log_len(&tb);
    let r = discover(&tb, "alice@autoconf.test", Some(PASSWORD), "json");
    settle();
    let j = r.json();
    assert_eq!(r.code, 0, "{}", r.stdout);
    let best = &j["best"];
    assert_eq!(best["host"], "mail.smtpd.test");
    assert_eq!(
        best["port"], 587,
        "the autoconfig file's setting comes first: {best}"
    );
    assert_eq!(
        best["username"], "alice@smtpd.test",
        "the file's username pattern"
    );
    assert!(sources(best).contains(&"autoconfig".to_string()), "{best}");
    assert_eq!(best["probe"]["cert_ok"], true);
    assert_eq!(j["login"]["attempted"], true);
    assert_eq!(j["login"]["ok"], true, "{}", j["login"]);
    // The file's broken second entry is left out, with the reason.
    let warnings = j["warnings"].to_string();
    assert!(warnings.contains("twenty-five"), "{warnings}");
    let (attempts, failed) = logins_since(&tb, before);
    assert_eq!(
        (attempts, failed),
        (1, 0),
        "exactly one login in Postfix's log"
    );

    // The settings found, used by `check`, pass every step.
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args([
            "check",
            "--server",
            "mail.smtpd.test",
            "--port",
            "587",
            "--security",
            "starttls",
        ])
        .args([
            "--user",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
            "--internal",
        ])
        .args([
            "--dns",
            &dns(),
            "--echo-dns",
            &dns(),
            "--format",
            "json",
            "-q",
        ])
        .arg("--ca-file")
        .arg(tb.join("ca.pem"))
        .env("DISCOVER_TEST_PW", PASSWORD)
        .args(["--password-env", "DISCOVER_TEST_PW"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "auth")
        .cloned()
        .unwrap_or_default();
    assert_eq!(auth["status"], "pass", "{auth}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn a_wrong_password_is_tried_once_whatever_the_number_of_candidates() {
    let tb = testbed();
    let _g = LOG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let before = log_len(&tb);
    let r = discover(&tb, "alice@smtpd.test", Some("Wrong-Password-1"), "json");
    settle();
    let j = r.json();
    assert_eq!(r.code, 1, "{}", r.stdout);
    let working = j["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["works"] == true)
        .count();
    assert!(
        working >= 3,
        "SRV 465/587 and guessed 2525/25 all work: {}",
        j["candidates"]
    );
    assert_eq!(j["login"]["attempted"], true);
    assert_eq!(j["login"]["ok"], false);
    let (attempts, failed) = logins_since(&tb, before);
    assert_eq!(
        (attempts, failed),
        (1, 1),
        "one failed login in Postfix's log, no more"
    );
    // The best is a submission port found by SRV, not a guess.
    assert!(
        sources(&j["best"]).contains(&"srv".to_string()),
        "{}",
        j["best"]
    );
}

#[test]
#[ignore = "needs the test bed"]
fn srv_alone_and_mx_alone_find_the_server() {
    let tb = testbed();
    let j = discover(&tb, "alice@srvonly.test", None, "json").json();
    assert_eq!(j["best"]["port"], 465, "{}", j["best"]);
    assert!(sources(&j["best"]).contains(&"srv".to_string()));
    let incoming = j["incoming"].to_string();
    assert!(
        incoming.contains("993"),
        "_imaps._tcp is listed: {incoming}"
    );
    let j = discover(&tb, "alice@mxonly.test", None, "json").json();
    assert_eq!(j["best"]["host"], "mail.smtpd.test");
    assert!(sources(&j["best"]).contains(&"guess".to_string()));
}

#[test]
#[ignore = "needs the test bed"]
fn srv_target_dot_means_not_offered_and_nothing_is_guessed() {
    let tb = testbed();
    let r = discover(&tb, "alice@nosub.test", None, "json");
    let j = r.json();
    assert_eq!(r.code, 1);
    assert!(
        j["candidates"].as_array().unwrap().is_empty(),
        "{}",
        j["candidates"]
    );
    assert!(
        j["warnings"]
            .to_string()
            .contains("offers no mail submission"),
        "{}",
        j["warnings"]
    );
    let text = discover(&tb, "alice@nosub.test", None, "text").stdout;
    assert!(text.contains("not offered"), "{text}");
}

#[test]
#[ignore = "needs the test bed"]
fn oauth_only_provider_is_named_before_any_password_is_tried() {
    let tb = testbed();
    let _g = LOG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let before = log_len(&tb);
    // m365.test's MX is a Microsoft 365 host: the database says OAuth2 only.
    let r = discover(&tb, "alice@m365.test", Some(PASSWORD), "json");
    settle();
    let j = r.json();
    assert_eq!(r.code, 1);
    assert_eq!(j["cause"], "oauth-required");
    assert_eq!(j["oauth_only"]["provider"], "Microsoft 365");
    assert_eq!(j["login"]["attempted"], false);
    assert_eq!(logins_since(&tb, before), (0, 0));
}

#[test]
#[ignore = "needs the test bed"]
fn check_runs_discover_beside_the_other_checks_without_logging_in() {
    let tb = testbed();
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args(["check", "--server", "127.0.0.8", "--port", "587"])
        .args([
            "--user",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
            "--internal",
        ])
        .args([
            "--dns",
            &dns(),
            "--echo-dns",
            &dns(),
            "--format",
            "json",
            "-q",
        ])
        .arg("--ca-file")
        .arg(tb.join("ca.pem"))
        .env("DISCOVER_TEST_PW", PASSWORD)
        .args(["--password-env", "DISCOVER_TEST_PW"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "discover")
        .cloned()
        .expect("a discover outcome");
    assert_eq!(d["status"], "pass", "{d}");
    assert_eq!(d["details"]["oauth_only"], false);
    assert_eq!(d["details"]["matches_settings"], false);
    let first = &d["details"]["candidates"][0];
    assert_eq!(first["host"], "mail.smtpd.test");
    assert_eq!(first["works"], true);
}

/// A screen shows each working candidate the moment it answers: the
/// discovery reports it on its channel before the whole run is done.
#[tokio::test]
#[ignore = "needs the test bed"]
async fn each_working_candidate_is_reported_as_it_answers() {
    let tb = testbed();
    let settings = smtp_doctor::settings::Settings {
        account: "alice@autoconf.test".into(),
        dns: Some(dns()),
        ca_file: Some(tb.join("ca.pem")),
        timeout_secs: 5,
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = smtp_doctor::probe::discover::Options {
        found: Some(tx),
        ..Default::default()
    };
    let d = smtp_doctor::probe::discover::discover(&settings, &opts).await;
    drop(opts);
    let mut reported = Vec::new();
    while let Some(line) = rx.recv().await {
        reported.push(line);
    }
    assert_eq!(reported.len(), d.working().count(), "{reported:?}");
    assert!(
        reported
            .iter()
            .any(|l| l.starts_with("works: mail.smtpd.test:587 STARTTLS")),
        "{reported:?}"
    );
}
