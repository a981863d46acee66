//! The real binary against a real Postfix (with Dovecot SASL) and a real DNS
//! server (dnsmasq) on loopback, as started by `tests/run.sh` through
//! `tests/testbed/up.sh`. See tests/testbed/README.md for the addresses.
//!
//! Every test here is `#[ignore = "needs the test bed"]`: a plain
//! `cargo test` reports them as ignored, and `tests/run.sh` runs them with
//! `--include-ignored` after starting the servers, so a missing server is a
//! failure, never a silent pass.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PASSWORD: &str = "Corr3ct-H0rse-Battery";
const DNS: &str = "127.0.0.2:5353";

/// The running test bed's state directory. These tests are ignored under a
/// plain `cargo test`; `tests/run.sh` runs them with `--include-ignored`,
/// and then a missing test bed is a failure, never a skip.
fn testbed() -> PathBuf {
    let dir = PathBuf::from(
        std::env::var_os("SMTP_DOCTOR_TESTBED")
            .expect("SMTP_DOCTOR_TESTBED is not set: run tests/run.sh, which starts the test bed"),
    );
    assert!(
        dir.join("ca.pem").is_file(),
        "SMTP_DOCTOR_TESTBED is set but {} has no ca.pem: is the test bed up?",
        dir.display()
    );
    assert!(
        std::net::TcpStream::connect("127.0.0.2:587").is_ok(),
        "SMTP_DOCTOR_TESTBED is set but Postfix does not answer on 127.0.0.2:587"
    );
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `smtp-doctor check` with the test bed's DNS and CA plus `args`.
fn check(tb: &Path, args: &[&str], password: Option<&str>) -> Run {
    check_in(tb, args, password, true)
}

/// As `check`, saying whether the network is an internal one.
fn check_in(tb: &Path, args: &[&str], password: Option<&str>, internal: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"));
    cmd.arg("check")
        .args([
            "--dns",
            DNS,
            "--echo-dns",
            DNS,
            "--timeout",
            "5",
            "--ca-file",
        ])
        .arg(tb.join("ca.pem"))
        .args(args)
        // The test bed is an internal network: its MX hosts are on loopback.
        .args(internal.then_some("--internal"))
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if password.is_some() {
        cmd.arg("--password-stdin");
    }
    let mut child = cmd.spawn().expect("run smtp-doctor");
    if let Some(pw) = password {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{pw}").unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn check_json(tb: &Path, args: &[&str], password: Option<&str>) -> (Run, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = check(tb, &all, password);
    let v = run.json();
    (run, v)
}

fn check_of<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn causes(v: &Value) -> Vec<String> {
    ids(&v["diagnosis"]["causes"])
}

/// Findings that do not stop this run's mail (the mail path passed).
fn warnings(v: &Value) -> Vec<String> {
    ids(&v["diagnosis"]["warnings"])
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn alice(server: &str, port: &str) -> Vec<String> {
    [
        "--server",
        server,
        "--port",
        port,
        "--user",
        "alice@smtpd.test",
        "--to",
        "someone@external.test",
    ]
    .map(String::from)
    .to_vec()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
#[ignore = "needs the test bed"]
fn good_credentials_relay_is_accepted() {
    let tb = testbed();
    let (run, v) = check_json(&tb, &refs(&alice("mail.smtpd.test", "587")), Some(PASSWORD));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(v["schema"], 1);
    assert_eq!(check_of(&v, "auth")["status"], "pass");
    assert_eq!(check_of(&v, "relay")["status"], "pass");
    assert_eq!(check_of(&v, "relay")["details"]["authenticated"], true);
    assert_eq!(check_of(&v, "tls")["details"]["version"], "TLSv1.3");
    assert_eq!(
        check_of(&v, "relay.anonymous")["status"],
        "pass",
        "anonymous relay must be refused"
    );
    assert_eq!(v["diagnosis"]["verdict"], "ok");
    assert!(causes(&v).is_empty(), "{:?}", causes(&v));
    // Never DATA: the relay transcript ends the envelope with RSET.
    let relay_lines: Vec<&str> = check_of(&v, "relay")["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap())
        .collect();
    assert!(relay_lines.contains(&"RSET"), "{relay_lines:?}");
    assert!(
        !relay_lines.iter().any(|l| l.starts_with("DATA")),
        "{relay_lines:?}"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn wrong_password_is_auth_failed_and_never_printed() {
    let tb = testbed();
    let wrong = "Wr0ng-Passw0rd-Here";
    let (run, v) = check_json(&tb, &refs(&alice("mail.smtpd.test", "587")), Some(wrong));
    assert_eq!(run.code, 1);
    let auth = check_of(&v, "auth");
    assert_eq!(auth["status"], "fail");
    assert_eq!(auth["details"]["reply_code"], 535);
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("auth-failed"),
        "{:?}",
        causes(&v)
    );
    assert_eq!(check_of(&v, "relay")["status"], "skip");
    for format in ["json", "markdown", "text"] {
        let mut args = alice("mail.smtpd.test", "587");
        args.extend(["--format".into(), format.into()]);
        let run = check(&tb, &refs(&args), Some(wrong));
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(wrong), "{format} output shows the password");
            use base64::Engine;
            let plain = base64::engine::general_purpose::STANDARD
                .encode(format!("\0alice@smtpd.test\0{wrong}"));
            assert!(
                !text.contains(&plain),
                "{format} output shows the AUTH payload"
            );
        }
        assert!(
            run.stdout.contains("auth-failed"),
            "{format}: {}",
            run.stdout
        );
    }
}

#[test]
#[ignore = "needs the test bed"]
fn auth_off_on_port_25_gets_postfix_relay_access_denied() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--port",
            "25",
            "--security",
            "starttls",
            "--no-auth",
            "--from",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
        ],
        None,
    );
    assert_eq!(run.code, 1);
    let relay = check_of(&v, "relay");
    assert_eq!(relay["status"], "fail");
    let rcpt = relay["details"]["rcpt_reply"].as_str().unwrap();
    assert!(rcpt.contains("Relay access denied"), "{rcpt}");
    assert!(rcpt.starts_with("554 5.7.1"), "{rcpt}");
    let c = causes(&v);
    assert_eq!(
        c.first().map(String::as_str),
        Some("auth-required"),
        "{c:?}"
    );
    assert!(c.contains(&"ip-not-allowed".to_string()), "{c:?}");
    // The evidence quotes the exact exchange.
    let ev = &v["diagnosis"]["causes"][0]["evidence"][0]["lines"];
    assert!(
        ev.as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("Relay access denied")),
        "{ev}"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn implicit_tls_on_a_plaintext_port_is_wrong_security() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &refs(
            &[
                alice("mail.smtpd.test", "25"),
                vec!["--security".into(), "tls".into()],
            ]
            .concat(),
        ),
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        check_of(&v, "tls")["details"]["mode_mismatch"],
        "port-is-plaintext"
    );
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("wrong-security"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn starttls_on_an_implicit_tls_port_is_wrong_security() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &refs(
            &[
                alice("mail.smtpd.test", "2465"),
                vec!["--security".into(), "starttls".into()],
            ]
            .concat(),
        ),
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    let g = check_of(&v, "smtp.greeting");
    assert_eq!(g["details"]["mode_mismatch"], "port-expects-tls", "{g}");
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("wrong-security"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn certificate_problems_are_named_and_the_conversation_goes_on() {
    let tb = testbed();
    for (server, port, sec, problem) in [
        ("expired.smtpd.test", "587", "starttls", "expired"),
        ("wrongname.smtpd.test", "587", "starttls", "wrong-name"),
        ("selfsigned.smtpd.test", "465", "tls", "self-signed"),
    ] {
        let args = [alice(server, port), vec!["--security".into(), sec.into()]].concat();
        let (run, v) = check_json(&tb, &refs(&args), Some(PASSWORD));
        assert_eq!(run.code, 1, "{server}");
        let tls = check_of(&v, "tls");
        assert_eq!(tls["status"], "fail", "{server}: {tls}");
        assert_eq!(
            tls["details"]["certificate_problem"], problem,
            "{server}: {tls}"
        );
        assert_eq!(
            causes(&v).first().map(String::as_str),
            Some("tls-certificate"),
            "{server}: {:?}",
            causes(&v)
        );
        // The password is not sent to a server whose certificate fails…
        let auth = check_of(&v, "auth");
        assert_eq!(auth["status"], "skip", "{server}: {auth}");
        assert_eq!(auth["details"]["withheld_for_certificate"], problem);
        assert!(!auth["transcript"].to_string().contains("AUTH"), "{auth}");
        // …unless the user insists; the same conversation then goes on.
        let insist = [&args[..], &["--insecure-login".to_string()]].concat();
        let (_, v) = check_json(&tb, &refs(&insist), Some(PASSWORD));
        assert_eq!(check_of(&v, "auth")["status"], "pass", "{server}");
        assert_eq!(check_of(&v, "relay")["status"], "pass", "{server}");
    }
}

#[test]
#[ignore = "needs the test bed"]
fn closed_port_is_wrong_port() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &refs(&alice("mail.smtpd.test", "2526")),
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    assert_eq!(check_of(&v, "net.port")["details"]["failure"], "refused");
    assert_eq!(causes(&v).first().map(String::as_str), Some("wrong-port"));
    // The survey found the ports that do work.
    let ports = check_of(&v, "net.ports")["details"]["ports"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        ports
            .iter()
            .any(|p| p["port"] == 587 && p["speaks"] == "smtp"),
        "{ports:?}"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn unknown_server_name_is_dns_server_not_found() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &refs(&alice("nosuchhost.smtpd.test", "587")),
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    let d = check_of(&v, "dns.server");
    assert_eq!(d["details"]["failure"], "nxdomain", "{d}");
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("dns-server-not-found")
    );
    let (_, v) = check_json(
        &tb,
        &refs(&alice("noaddr.smtpd.test", "587")),
        Some(PASSWORD),
    );
    assert_eq!(
        check_of(&v, "dns.server")["details"]["failure"],
        "no-records"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn no_encryption_on_submission_is_tls_required() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--port",
            "587",
            "--security",
            "none",
            "--no-auth",
            "--from",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
        ],
        None,
    );
    assert_eq!(run.code, 1);
    let relay = check_of(&v, "relay");
    assert!(
        relay["details"]["mail_reply"]
            .as_str()
            .unwrap()
            .contains("Must issue a STARTTLS command first"),
        "{relay}"
    );
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("tls-required"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn sending_as_someone_else_is_sender_not_permitted() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--port",
            "587",
            "--user",
            "bob@smtpd.test",
            "--from",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
        ],
        Some("B0b-Str0ng-Pass"),
    );
    assert_eq!(run.code, 1);
    assert_eq!(check_of(&v, "auth")["status"], "pass");
    let relay = check_of(&v, "relay");
    assert!(
        relay["details"]["reply"]
            .as_str()
            .unwrap()
            .contains("not owned by user"),
        "{relay}"
    );
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("sender-not-permitted"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn relay_by_ip_needs_no_login() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "ipallowed.smtpd.test",
            "--port",
            "25",
            "--security",
            "none",
            "--no-auth",
            "--from",
            "device@smtpd.test",
            "--to",
            "someone@external.test",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(check_of(&v, "relay")["status"], "pass");
    assert_eq!(check_of(&v, "relay")["details"]["authenticated"], false);
}

#[test]
#[ignore = "needs the test bed"]
fn text_and_markdown_reports_carry_the_transcript_and_the_fix() {
    let tb = testbed();
    let args = [
        "--server",
        "mail.smtpd.test",
        "--port",
        "25",
        "--security",
        "starttls",
        "--no-auth",
        "--from",
        "alice@smtpd.test",
        "--to",
        "someone@external.test",
    ];
    let text = check(&tb, &args, None);
    assert!(text.stdout.contains("Diagnosis:"), "{}", text.stdout);
    assert!(text.stdout.contains("Relay access denied"));
    assert!(!text.stdout.contains("\x1b["), "no colour codes when piped");
    assert!(
        text.stderr.contains("relay"),
        "progress lines go to stderr: {}",
        text.stderr
    );
    let md = check(&tb, &[&args[..], &["--format", "markdown"]].concat(), None);
    assert!(md.stdout.starts_with("# smtp-doctor report"));
    assert!(md.stdout.contains("## Transcripts"));
    assert!(md.stdout.contains("RCPT TO:<someone@external.test>"));
    assert!(md.stdout.contains("auth-required"));
}

fn mx_run(tb: &Path, rcpt: &str, internal: bool) -> Value {
    let args = [
        "--server",
        "mail.smtpd.test",
        "--port",
        "587",
        "--user",
        "alice@smtpd.test",
        "--to",
        rcpt,
        "--format",
        "json",
    ];
    let run = check_in(tb, &args, Some(PASSWORD), internal);
    run.json()
}

#[test]
#[ignore = "needs the test bed"]
fn recipient_mx_good_null_refusing_and_missing() {
    let tb = testbed();
    let v = mx_run(&tb, "someone@external.test", true);
    let mx = check_of(&v, "recipient.mx");
    assert_eq!(mx["status"], "pass", "{mx}");
    assert_eq!(mx["details"]["mx"][0]["port25"], "connected");
    assert!(
        mx["details"]["mx"][0]["greeting"]
            .as_str()
            .unwrap()
            .starts_with("220")
    );

    let v = mx_run(&tb, "someone@nullmx.test", true);
    let mx = check_of(&v, "recipient.mx");
    assert_eq!(mx["details"]["null_mx"], true, "{mx}");
    // The relay took the recipient: the mail path passed, and what the
    // recipient's domain lacks is a warning.
    assert_eq!(
        warnings(&v).first().map(String::as_str),
        Some("recipient-domain-invalid")
    );
    assert!(causes(&v).is_empty(), "{:?}", causes(&v));

    // Port 25 of our own server connects, so the MX refusing it is evidence.
    let v = mx_run(&tb, "someone@refused25.test", true);
    let mx = check_of(&v, "recipient.mx");
    assert_eq!(mx["status"], "warn", "{mx}");
    assert_eq!(mx["details"]["port25_problem"], "refused");
    assert_eq!(mx["details"]["mx"][0]["port25"], "refused");
    assert!(warnings(&v).contains(&"recipient-domain-invalid".to_string()));

    let v = mx_run(&tb, "someone@nomail.test", true);
    assert_eq!(
        check_of(&v, "recipient.mx")["details"]["failure"],
        "no-mx-no-address"
    );

    let v = mx_run(&tb, "someone@nosuchdomain.test", true);
    assert_eq!(
        check_of(&v, "recipient.mx")["details"]["failure"],
        "nxdomain"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn an_mx_on_a_private_address_is_flagged_outside_an_internal_network() {
    let tb = testbed();
    let v = mx_run(&tb, "someone@external.test", false);
    let mx = check_of(&v, "recipient.mx");
    assert_eq!(mx["status"], "fail", "{mx}");
    assert_eq!(mx["details"]["mx"][0]["reserved"], true);
    assert_eq!(
        mx["details"]["mx"][0]["port25"], "not-probed",
        "private addresses are not probed"
    );
    // The domain exists: its mail server is private, which is said as such.
    assert!(
        warnings(&v).contains(&"recipient-mx-private".to_string()),
        "{v}"
    );
    assert!(!warnings(&v).contains(&"recipient-domain-invalid".to_string()));
}

#[test]
#[ignore = "needs the test bed"]
fn public_ip_comes_from_the_echo_names_and_dmarc_is_read() {
    let tb = testbed();
    let v = mx_run(&tb, "someone@external.test", true);
    let ip = check_of(&v, "net.public_ip");
    assert_eq!(ip["details"]["ip"], "127.0.0.1", "{ip}");
    assert!(
        ip["details"]["source"]
            .as_str()
            .unwrap()
            .contains("OpenDNS"),
        "{ip}"
    );
    let dmarc = check_of(&v, "sender.dmarc");
    assert_eq!(dmarc["details"]["policy"], "none", "{dmarc}");
}

fn relay_by_ip_from(tb: &Path, sender: &str, public_ip: &str) -> (Run, Value) {
    check_json(
        tb,
        &[
            "--server",
            "ipallowed.smtpd.test",
            "--port",
            "25",
            "--security",
            "none",
            "--no-auth",
            "--from",
            sender,
            "--to",
            "someone@external.test",
            "--public-ip",
            public_ip,
        ],
        None,
    )
}

#[test]
#[ignore = "needs the test bed"]
fn spf_of_the_sender_domain_is_evaluated_and_the_fix_merges_the_ip() {
    let tb = testbed();
    // Addresses from the documentation ranges: data for the evaluation
    // only, nothing connects to them.
    let (run, v) = relay_by_ip_from(&tb, "device@ip4.spf.smtpd.test", "192.0.2.44");
    assert_eq!(run.code, 0, "{}", run.stdout);
    let spf = check_of(&v, "sender.spf");
    assert_eq!(spf["details"]["result"], "pass", "{spf}");
    assert_eq!(spf["details"]["matched"], "ip4:192.0.2.0/24");

    let (run, v) = relay_by_ip_from(&tb, "device@ip4.spf.smtpd.test", "198.51.100.5");
    // The relay takes the mail: the verdict is OK, and receivers that check
    // SPF will refuse it, which the warning says.
    assert_eq!(run.code, 0);
    let spf = check_of(&v, "sender.spf");
    assert_eq!(spf["details"]["result"], "fail", "{spf}");
    assert_eq!(
        spf["details"]["fix_record"], "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.5 -all",
        "{spf}"
    );
    let c = &v["diagnosis"]["warnings"][0];
    assert_eq!(c["id"], "spf-not-authorized", "{c}");
    let fixes = c["fixes"].to_string();
    assert!(
        fixes.contains("v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.5 -all"),
        "the fix carries the merged record: {fixes}"
    );

    let (_, v) = relay_by_ip_from(&tb, "device@two.spf.smtpd.test", "192.0.2.44");
    let spf = check_of(&v, "sender.spf");
    assert_eq!(spf["details"]["result"], "permerror", "{spf}");
    assert!(!spf["details"]["fix_record"].as_str().unwrap().is_empty());

    let (_, v) = relay_by_ip_from(&tb, "device@include.spf.smtpd.test", "198.51.100.77");
    let spf = check_of(&v, "sender.spf");
    assert_eq!(spf["details"]["result"], "pass", "{spf}");
    assert!(
        spf["details"]["trace"].as_array().unwrap().len() > 3,
        "the trace shows the include"
    );
}

fn with_incoming(tb: &Path, user: &str, password: &str) -> Value {
    let (_, v) = check_json(
        tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--user",
            user,
            "--to",
            "someone@external.test",
            "--incoming-server",
            "mail.smtpd.test",
        ],
        Some(password),
    );
    v
}

#[test]
#[ignore = "needs the test bed"]
fn incoming_login_tells_a_wrong_password_from_smtp_login_switched_off() {
    let tb = testbed();
    let v = with_incoming(&tb, "alice@smtpd.test", PASSWORD);
    let inc = check_of(&v, "incoming.login");
    assert_eq!(inc["status"], "pass", "{inc}");
    assert_eq!(inc["details"]["protocol"], "IMAP");
    assert_eq!(inc["details"]["port"], 993);
    let lines: Vec<&str> = inc["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("[redacted]") && l.contains("LOGIN")),
        "{lines:?}"
    );
    assert!(!inc.to_string().contains(PASSWORD));

    // Both refuse: the password is wrong.
    let v = with_incoming(&tb, "alice@smtpd.test", "N0t-The-Passw0rd");
    assert_eq!(check_of(&v, "incoming.login")["status"], "fail");
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("auth-failed"),
        "{:?}",
        causes(&v)
    );

    // IMAP accepts what SMTP AUTH refuses: SMTP login is switched off.
    let v = with_incoming(&tb, "carol@smtpd.test", "Car0l-Imap-0nly");
    assert_eq!(check_of(&v, "auth")["status"], "fail");
    assert_eq!(check_of(&v, "incoming.login")["status"], "pass");
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("auth-disabled"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn send_delivers_one_real_message_only_when_asked() {
    let tb = testbed();
    let inbox = tb.join("mail/mailbox.test/inbox/new");
    let count = || std::fs::read_dir(&inbox).map(|d| d.count()).unwrap_or(0);
    let args = [
        "--server",
        "mail.smtpd.test",
        "--user",
        "alice@smtpd.test",
        "--to",
        "inbox@mailbox.test",
    ];
    let before = count();
    let (_, v) = check_json(&tb, &args, Some(PASSWORD));
    assert_eq!(check_of(&v, "send")["status"], "skip");
    assert_eq!(count(), before, "nothing is sent without --send");

    let (run, v) = check_json(&tb, &[&args[..], &["--send"]].concat(), Some(PASSWORD));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let send = check_of(&v, "send");
    assert_eq!(send["status"], "pass", "{send}");
    let qid = send["details"]["queue_id"]
        .as_str()
        .expect("queue id")
        .to_string();
    // Delivery is asynchronous: wait (bounded) for the file to appear.
    let mut found = None;
    for _ in 0..50 {
        if let Ok(dir) = std::fs::read_dir(&inbox) {
            for e in dir.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(&qid) && text.contains("Subject: smtp-doctor test message") {
                    found = Some(text);
                }
            }
        }
        if found.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let text =
        found.unwrap_or_else(|| panic!("message {qid} did not arrive in {}", inbox.display()));
    assert!(text.contains("This is a test message from smtp-doctor"));
    assert!(!text.contains(PASSWORD));
}

#[test]
#[ignore = "needs the test bed"]
fn relay_refused_by_a_server_that_offers_no_login_is_ip_not_allowed() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "connector.smtpd.test",
            "--port",
            "25",
            "--security",
            "starttls",
            "--no-auth",
            "--from",
            "scanner@smtpd.test",
            "--to",
            "someone@external.test",
        ],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(
        check_of(&v, "relay")["details"]["rcpt_reply"]
            .as_str()
            .unwrap()
            .contains("Relay access denied")
    );
    let c = causes(&v);
    assert_eq!(
        c.first().map(String::as_str),
        Some("ip-not-allowed"),
        "{c:?}"
    );
}

#[test]
#[ignore = "needs the test bed"]
fn an_unknown_mailbox_is_recipient_rejected() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &[
            "--server",
            "mail.smtpd.test",
            "--user",
            "alice@smtpd.test",
            "--to",
            "nobody@smtpd.test",
        ],
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    let rcpt = check_of(&v, "relay")["details"]["rcpt_reply"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rcpt.starts_with("550 5.1.1"), "{rcpt}");
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("recipient-rejected"),
        "{:?}",
        causes(&v)
    );
}

#[test]
#[ignore = "needs the test bed"]
fn blocklists_are_asked_only_when_wanted_and_their_codes_are_read() {
    let tb = testbed();
    let base = [
        "--server",
        "mail.smtpd.test",
        "--user",
        "alice@smtpd.test",
        "--to",
        "someone@external.test",
    ];
    let (_, v) = check_json(&tb, &base, Some(PASSWORD));
    assert_eq!(
        check_of(&v, "net.dnsbl")["status"],
        "skip",
        "off by default"
    );
    // 127.0.0.2 is every list's test entry.
    let (_, v) = check_json(
        &tb,
        &[&base[..], &["--dnsbl", "--public-ip", "127.0.0.2"]].concat(),
        Some(PASSWORD),
    );
    let bl = check_of(&v, "net.dnsbl");
    assert_eq!(bl["status"], "warn", "{bl}");
    let lists = bl["details"]["lists"].as_array().unwrap();
    let zen = lists
        .iter()
        .find(|l| l["list"] == "zen.spamhaus.org")
        .unwrap();
    assert_eq!(zen["listed"], true);
    assert!(zen["meaning"].as_str().unwrap().contains("SBL"), "{zen}");
    let barracuda = lists
        .iter()
        .find(|l| l["list"] == "b.barracudacentral.org")
        .unwrap();
    assert_eq!(barracuda["listed"], false);
    // After a login the provider's servers send: a note, not a cause.
    assert!(
        !causes(&v).contains(&"ip-blocklisted".to_string()),
        "{:?}",
        causes(&v)
    );
    assert!(
        v["diagnosis"]["notes"].to_string().contains("listed"),
        "{}",
        v["diagnosis"]["notes"]
    );
    // Relaying by IP, the listed address is the sender.
    let (_, v) = check_json(
        &tb,
        &[
            "--server",
            "ipallowed.smtpd.test",
            "--port",
            "25",
            "--security",
            "none",
            "--no-auth",
            "--from",
            "device@smtpd.test",
            "--to",
            "someone@external.test",
            "--dnsbl",
            "--public-ip",
            "127.0.0.2",
        ],
        None,
    );
    assert!(
        warnings(&v).contains(&"ip-blocklisted".to_string()),
        "{:?}",
        warnings(&v)
    );
    let (_, v) = check_json(
        &tb,
        &[&base[..], &["--dnsbl", "--public-ip", "127.0.0.3"]].concat(),
        Some(PASSWORD),
    );
    assert_eq!(check_of(&v, "net.dnsbl")["status"], "pass");
}

#[test]
#[ignore = "needs the test bed"]
fn incoming_login_over_pop3_with_tls_and_stls() {
    let tb = testbed();
    for (security, port) in [("tls", 995), ("starttls", 110)] {
        let args = [
            "--server",
            "mail.smtpd.test",
            "--user",
            "alice@smtpd.test",
            "--to",
            "someone@external.test",
            "--incoming-server",
            "mail.smtpd.test",
            "--incoming-protocol",
            "pop3",
            "--incoming-security",
            security,
        ];
        let (_, v) = check_json(&tb, &args, Some(PASSWORD));
        let inc = check_of(&v, "incoming.login");
        assert_eq!(inc["status"], "pass", "{security}: {inc}");
        assert_eq!(inc["details"]["port"], port);
        let lines = inc["transcript"].to_string();
        assert!(lines.contains("PASS [redacted]"), "{lines}");
        assert!(!lines.contains(PASSWORD));
        let (_, v) = check_json(&tb, &args, Some("Not-Alices-Passw0rd"));
        assert_eq!(
            check_of(&v, "incoming.login")["status"],
            "fail",
            "{security}"
        );
        assert_eq!(causes(&v).first().map(String::as_str), Some("auth-failed"));
    }
}

#[test]
#[ignore = "needs the test bed"]
fn a_server_offering_only_tls_1_0_is_tls_handshake_failed() {
    let tb = testbed();
    let (run, v) = check_json(
        &tb,
        &refs(&alice("mail.smtpd.test", "2587")),
        Some(PASSWORD),
    );
    assert_eq!(run.code, 1);
    let tls = check_of(&v, "tls");
    assert_eq!(
        tls["details"]["handshake_failure"], "protocol-version",
        "{tls}"
    );
    assert_eq!(
        causes(&v).first().map(String::as_str),
        Some("tls-handshake-failed"),
        "{:?}",
        causes(&v)
    );
    assert_eq!(
        check_of(&v, "auth")["status"],
        "skip",
        "no password without encryption"
    );
}
