//! The diagnosis as a table: settings × server family × the cause that must
//! come first, against two real mail server families of the test bed —
//! Postfix (127.0.0.2, .5) and Exim (127.0.0.20, .21). Each scenario runs
//! the real binary as a user would and reads its JSON report; the text
//! report and the exit code must tell the same verdict. A scenario that
//! passes on one family and not the other is a rule tuned to one server's
//! wording.
//!
//! Every test here needs the test bed (`tests/run.sh` starts it and runs
//! them with `--include-ignored`).
//!
//! With `SMTP_DOCTOR_RECORD=1` each run's JSON report is also written to
//! `tests/fixtures/runs/` with the scenario's expected first cause:
//! `tests/recorded.rs` diagnoses those recorded outcomes again under a plain
//! `cargo test`. `bash tests/fixtures/record.sh` re-records them all.

mod testbed_common;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use testbed_common::testbed;

const DNS: &str = "127.0.0.2:5353";

struct Family {
    name: &'static str,
    /// Submission: STARTTLS required, AUTH only after it, sender = login.
    submission: &'static str,
    /// The MX-style port 25 listener: relaying needs a login.
    mx: &'static str,
    /// Relays for 127.0.0.0/8 without a login.
    relay_by_ip: &'static str,
}

const FAMILIES: [Family; 2] = [
    Family {
        name: "postfix",
        submission: "mail.smtpd.test",
        mx: "mail.smtpd.test",
        relay_by_ip: "ipallowed.smtpd.test",
    },
    Family {
        name: "exim",
        submission: "exim.smtpd.test",
        mx: "exim.smtpd.test",
        relay_by_ip: "eximip.smtpd.test",
    },
];

const ALICE: (&str, &str) = ("alice@smtpd.test", "Corr3ct-H0rse-Battery");
const BOB: (&str, &str) = ("bob@smtpd.test", "B0b-Str0ng-Pass");

struct Outcome {
    code: i32,
    json: Value,
    text: String,
}

/// Keeps a run as a fixture when recording is asked for.
fn record(scenario: &str, family: &str, want: &str, json: &Value) {
    if std::env::var_os("SMTP_DOCTOR_RECORD").is_none() {
        return;
    }
    let slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{family}.{slug}.json"));
    let doc = serde_json::json!({
        "scenario": scenario,
        "family": family,
        "expected_first": want,
        "report": json,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

/// Runs `check` twice with the same settings, as JSON and as text.
fn run(args: &[&str], password: Option<&str>) -> Outcome {
    let tb = testbed();
    let one = |format: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"));
        cmd.arg("check")
            .args(["--dns", DNS, "--echo-dns", DNS, "--timeout", "5"])
            .arg("--ca-file")
            .arg(tb.join("ca.pem"))
            .args(["--to", "someone@example.net", "--format", format])
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if password.is_some() {
            cmd.arg("--password-stdin");
        }
        let mut child = cmd.spawn().expect("run smtp-doctor");
        if let Some(pw) = password {
            writeln!(child.stdin.take().unwrap(), "{pw}").unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, json) = one("json");
    let (text_code, text) = one("text");
    assert_eq!(code, text_code, "the two formats disagree on the exit code");
    Outcome {
        code,
        json: serde_json::from_str(&json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}")),
        text,
    }
}

/// What a scenario expects first: a cause id, or "ok" for a passing path.
fn first(o: &Outcome) -> String {
    let d = &o.json["diagnosis"];
    if d["verdict"] == "ok" {
        return "ok".into();
    }
    d["causes"][0]["id"].as_str().unwrap_or("none").to_string()
}

/// Runs one scenario on every family; fails with the whole table when any
/// family ranks another cause first.
fn scenario(
    name: &str,
    want: &str,
    build: impl Fn(&Family) -> (Vec<String>, Option<&'static str>),
) {
    scenario_on(&FAMILIES, name, want, build);
}

/// A scenario only some families' listeners model (certificates, old TLS).
fn scenario_on(
    families: &[Family],
    name: &str,
    want: &str,
    build: impl Fn(&Family) -> (Vec<String>, Option<&'static str>),
) {
    let mut wrong = Vec::new();
    for fam in families {
        let (args, password) = build(fam);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args, password);
        record(name, fam.name, want, &o.json);
        let got = first(&o);
        println!("| {name} | {} | {got} |", fam.name);
        let verdict_ok = got == "ok";
        let consistent =
            (o.code == 0) == verdict_ok && o.text.contains("no problem found") == verdict_ok;
        if got != want || !consistent {
            wrong.push(format!(
                "{}: first {got} (want {want}), exit {}, report:\n{}",
                fam.name, o.code, o.text
            ));
        }
        // A fix never repeats what the user already has.
        for fix in o.json["diagnosis"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["fixes"].as_array().cloned().unwrap_or_default())
        {
            let fix = fix.as_str().unwrap_or("");
            let port = args
                .windows(2)
                .find(|w| w[0] == "--port")
                .map(|w| w[1])
                .unwrap_or("");
            assert!(
                !fix.starts_with(&format!("Switch to port {port} ")),
                "{}: {name}: advises the port already used: {fix}",
                fam.name
            );
        }
    }
    assert!(wrong.is_empty(), "{name}:\n{}", wrong.join("\n\n"));
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs the test bed"]
fn good_settings_pass_on_both_families() {
    scenario("right login on submission", "ok", |f| {
        (
            args(&[
                "--server",
                f.submission,
                "--port",
                "587",
                "--security",
                "starttls",
                "--user",
                ALICE.0,
            ]),
            Some(ALICE.1),
        )
    });
    scenario("relay by IP without login", "ok", |f| {
        (
            args(&[
                "--server",
                f.relay_by_ip,
                "--port",
                "25",
                "--security",
                "starttls",
                "--no-auth",
                "--from",
                "device@smtpd.test",
            ]),
            None,
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn a_wrong_password_is_auth_failed_on_both_families() {
    scenario("wrong password", "auth-failed", |f| {
        (
            args(&[
                "--server",
                f.submission,
                "--port",
                "587",
                "--security",
                "starttls",
                "--user",
                ALICE.0,
            ]),
            Some("wrong-password"),
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn no_login_on_port_25_is_auth_required_on_both_families() {
    scenario("no login on 25", "auth-required", |f| {
        (
            args(&[
                "--server",
                f.mx,
                "--port",
                "25",
                "--security",
                "starttls",
                "--no-auth",
                "--from",
                ALICE.0,
            ]),
            None,
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn sending_as_another_user_is_sender_not_permitted_on_both_families() {
    scenario("bob sends as alice", "sender-not-permitted", |f| {
        (
            args(&[
                "--server",
                f.submission,
                "--port",
                "587",
                "--security",
                "starttls",
                "--user",
                BOB.0,
                "--from",
                ALICE.0,
            ]),
            Some(BOB.1),
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn encryption_mismatches_are_wrong_security_on_both_families() {
    scenario("SSL/TLS on 587", "wrong-security", |f| {
        (
            args(&[
                "--server",
                f.submission,
                "--port",
                "587",
                "--security",
                "tls",
                "--user",
                ALICE.0,
            ]),
            Some(ALICE.1),
        )
    });
    scenario("STARTTLS on 465", "wrong-security", |f| {
        (
            args(&[
                "--server",
                f.submission,
                "--port",
                "465",
                "--security",
                "starttls",
                "--user",
                ALICE.0,
            ]),
            Some(ALICE.1),
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn no_encryption_with_a_password_runs_and_names_the_encryption_on_both_families() {
    scenario(
        "no encryption on 587, password withheld",
        "tls-required",
        |f| {
            (
                args(&[
                    "--server",
                    f.submission,
                    "--port",
                    "587",
                    "--security",
                    "none",
                    "--user",
                    ALICE.0,
                ]),
                Some(ALICE.1),
            )
        },
    );
}

#[test]
#[ignore = "needs the test bed"]
fn reaching_the_server_fails_the_same_way_for_any_family() {
    scenario_on(
        &FAMILIES[..1],
        "unknown server name",
        "dns-server-not-found",
        |_| {
            (
                args(&[
                    "--server",
                    "nope.smtpd.test",
                    "--port",
                    "587",
                    "--user",
                    ALICE.0,
                ]),
                Some(ALICE.1),
            )
        },
    );
    scenario_on(&FAMILIES[..1], "closed port", "wrong-port", |_| {
        (
            args(&[
                "--server",
                "closed.smtpd.test",
                "--port",
                "587",
                "--user",
                ALICE.0,
            ]),
            Some(ALICE.1),
        )
    });
}

#[test]
#[ignore = "needs the test bed"]
fn certificate_and_old_tls_problems_are_named() {
    scenario_on(
        &FAMILIES[..1],
        "expired certificate",
        "tls-certificate",
        |_| {
            (
                args(&[
                    "--server",
                    "expired.smtpd.test",
                    "--port",
                    "587",
                    "--security",
                    "starttls",
                    "--user",
                    ALICE.0,
                ]),
                Some(ALICE.1),
            )
        },
    );
    scenario_on(
        &FAMILIES[..1],
        "certificate for another name",
        "tls-certificate",
        |_| {
            (
                args(&[
                    "--server",
                    "wrongname.smtpd.test",
                    "--port",
                    "587",
                    "--security",
                    "starttls",
                    "--user",
                    ALICE.0,
                ]),
                Some(ALICE.1),
            )
        },
    );
    scenario_on(
        &FAMILIES[..1],
        "only TLS 1.0",
        "tls-handshake-failed",
        |_| {
            (
                args(&[
                    "--server",
                    "mail.smtpd.test",
                    "--port",
                    "2587",
                    "--security",
                    "starttls",
                    "--user",
                    ALICE.0,
                ]),
                Some(ALICE.1),
            )
        },
    );
}

#[test]
#[ignore = "needs the test bed"]
fn discovery_names_working_settings_and_oauth_only_providers() {
    // The address's domain publishes an autoconfig file; the user typed a
    // port where nothing listens: the first fix is the settings that work.
    scenario_on(
        &FAMILIES[..1],
        "wrong port, autoconfig published",
        "wrong-port",
        |_| {
            (
                args(&[
                    "--server",
                    "mail.smtpd.test",
                    "--port",
                    "2526",
                    "--security",
                    "starttls",
                    "--user",
                    "alice@autoconf.test",
                ]),
                Some(ALICE.1),
            )
        },
    );
    let o = run(
        &[
            "--server",
            "mail.smtpd.test",
            "--port",
            "2526",
            "--security",
            "starttls",
            "--user",
            "alice@autoconf.test",
        ],
        Some(ALICE.1),
    );
    let fix = o.json["diagnosis"]["causes"][0]["fixes"][0]
        .as_str()
        .unwrap_or("");
    assert!(
        fix.contains("server mail.smtpd.test, port 587, STARTTLS, username alice@smtpd.test"),
        "the first fix names what discovery found: {fix}"
    );
    // A domain whose mail is at Microsoft 365, which the provider database
    // lists as OAuth2-only: the password login fails, and the cause is that
    // no password can work there.
    scenario_on(
        &FAMILIES[..1],
        "password at an OAuth-only provider",
        "oauth-required",
        |_| {
            (
                args(&[
                    "--server",
                    "mail.smtpd.test",
                    "--port",
                    "587",
                    "--security",
                    "starttls",
                    "--user",
                    "alice@m365.test",
                ]),
                Some(ALICE.1),
            )
        },
    );
}

#[test]
#[ignore = "needs the test bed"]
fn the_incoming_login_tells_a_wrong_password_from_smtp_login_switched_off() {
    // One failed login per run: IMAP first; refused, SMTP AUTH is not tried.
    scenario_on(
        &FAMILIES[..1],
        "wrong password, incoming server given",
        "auth-failed",
        |_| {
            (
                args(&[
                    "--server",
                    "mail.smtpd.test",
                    "--port",
                    "587",
                    "--security",
                    "starttls",
                    "--user",
                    ALICE.0,
                    "--incoming-server",
                    "mail.smtpd.test",
                ]),
                Some("wrong-password"),
            )
        },
    );
    // carol may log in to IMAP but not to SMTP.
    scenario_on(
        &FAMILIES[..1],
        "SMTP login switched off for the mailbox",
        "auth-disabled",
        |_| {
            (
                args(&[
                    "--server",
                    "mail.smtpd.test",
                    "--port",
                    "587",
                    "--security",
                    "starttls",
                    "--user",
                    "carol@smtpd.test",
                    "--incoming-server",
                    "mail.smtpd.test",
                ]),
                Some("Car0l-Imap-0nly"),
            )
        },
    );
}
