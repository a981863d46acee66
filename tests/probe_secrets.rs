//! Every connection a run makes redacts the credentials: a scripted server
//! (in process, on loopback: no real server does this) puts the password
//! in every encoding into its greeting and every reply, and echoes every
//! line it receives with its base64 decoding, on the main session, the
//! anonymous relay test, the port survey, the incoming (IMAP) login and
//! the test message. For passwords of 1, 3, 8 and 200 characters with a tab
//! and DEL in them, no form of the password may reach the JSON, text or
//! Markdown report, the events, or the CLI's output and stderr.

mod probe_common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use probe_common::*;
use smtp_doctor::diagnose::diagnose;
use smtp_doctor::probe::smtp::printable;
use smtp_doctor::probe::{CheckId, Status};
use smtp_doctor::report::{Format, Report};
use smtp_doctor::settings::{Incoming, IncomingProtocol, Password, Security, Settings};
use std::sync::Arc;
use tokio::net::TcpListener;

const LOGIN: &str = "alice@example.test";

fn passwords() -> Vec<String> {
    let long: String = (0..200)
        .map(|i| match i % 50 {
            7 => '\t',
            31 => '\u{7f}',
            n => (b'A' + (n % 26) as u8) as char,
        })
        .collect();
    vec![
        "\u{7f}".into(),
        "q\tZ".into(),
        "Pq\t3\u{7f}x\"9".into(),
        long,
    ]
}

/// Every form the password (or the token) leaves this program in.
fn forms(pw: &str) -> Vec<Vec<u8>> {
    let quoted = pw.replace('\\', "\\\\").replace('"', "\\\"");
    vec![
        pw.as_bytes().to_vec(),
        quoted.into_bytes(),
        B64.encode(pw).into_bytes(),
        B64.encode(format!("\0{LOGIN}\0{pw}")).into_bytes(),
        B64.encode(format!("{LOGIN}\0{LOGIN}\0{pw}")).into_bytes(),
        B64.encode(LOGIN).into_bytes(),
    ]
}

/// The texts that would betray `pw`: each form raw and made printable.
fn traces(pw: &str) -> Vec<String> {
    let mut out = Vec::new();
    for f in forms(pw) {
        out.push(String::from_utf8_lossy(&f).into_owned());
        out.push(printable(&f));
    }
    out.sort();
    out.dedup();
    out
}

fn assert_clean(what: &str, text: &str, pw: &str) {
    for t in traces(pw) {
        assert!(
            !text.contains(&t),
            "{what} holds a trace of the {}-character password: {t:?}",
            pw.chars().count()
        );
    }
}

/// Binds the ports the survey looks at on `host` (25, 465 and 587 need
/// root, as tests/run.sh has); returns how many were bound.
async fn survey_ports(host: &str, cfg: &Arc<Smtp>) -> usize {
    let mut bound = 0;
    for port in [25, 465, 587] {
        if let Ok(l) = TcpListener::bind((host, port)).await {
            let cfg = cfg.clone();
            serve_on(l, move |s| smtp_session(s, cfg.clone()));
            bound += 1;
        }
    }
    bound
}

async fn echo_run(host: &str, pw: &str, mechs: &'static str) -> usize {
    let seeds = forms(pw);
    let mut smtp = Smtp::new(mechs);
    smtp.extra = seeds.clone();
    smtp.echo = true;
    let smtp = Arc::new(smtp);
    // The main port is 2525, which the survey also probes.
    let main = TcpListener::bind((host, 2525)).await.expect("bind 2525");
    let cfg = smtp.clone();
    serve_on(main, move |s| smtp_session(s, cfg.clone()));
    let surveyed = survey_ports(host, &smtp).await;
    let mut imap = Imap::new(true);
    imap.extra = seeds;
    imap.echo = true;
    let imap_port = imap_server(Arc::new(imap)).await;
    let st = Settings {
        password: Password::new(pw),
        send_test_message: true,
        incoming: Some(Incoming {
            server: "127.0.0.1".into(),
            port: imap_port,
            protocol: IncomingProtocol::Imap,
            security: Security::None,
        }),
        ..settings(host, 2525)
    };
    let (out, events) = run(st.clone()).await;
    // The run did go through every connection that carries a secret.
    for id in [
        CheckId::Auth,
        CheckId::IncomingLogin,
        CheckId::Relay,
        CheckId::Send,
    ] {
        let o = get(&out, id);
        assert_eq!(o.status, Status::Pass, "{id}: {}", o.summary);
    }
    assert!(smtp.auth_count() >= 1);
    assert_ne!(get(&out, CheckId::RelayAnonymous).status, Status::Skip);
    let d = diagnose(&out, &st);
    let r = Report {
        settings: &st,
        checks: &out,
        diagnosis: &d,
        total_ms: 0,
    };
    for f in [Format::Json, Format::Markdown, Format::Text] {
        let text = r.render(f, false);
        assert_clean(&format!("{f:?}"), &text, pw);
        assert!(text.contains("[redacted]"), "{f:?} shows the redaction");
    }
    assert_clean("the events", &events.join("\n"), pw);
    assert_clean("the outcomes", &format!("{out:?}"), pw);
    surveyed
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoing_server_on_every_connection_leaves_no_trace_of_any_password() {
    let mut surveyed = 0;
    for (i, pw) in passwords().iter().enumerate() {
        // PLAIN and LOGIN in turn, so both encodings are echoed.
        let mechs = if i % 2 == 0 {
            "AUTH PLAIN"
        } else {
            "AUTH LOGIN"
        };
        let host = format!("127.0.0.{}", 61 + i);
        surveyed = echo_run(&host, pw, mechs).await;
    }
    if surveyed < 3 {
        eprintln!(
            "note: ports 25/465/587 could not be bound (not root): the survey was checked on 2525 only"
        );
    }
}

/// The CLI too: stdout in every format and stderr (progress and the
/// verbose support log) hold no trace.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_prints_no_trace_of_an_echoed_password() {
    let pw = "Pq\t3\u{7f}x\"9";
    let mut smtp = Smtp::new("AUTH PLAIN LOGIN");
    smtp.extra = forms(pw);
    smtp.echo = true;
    let port = smtp_server(Arc::new(smtp)).await;
    for format in ["json", "text", "markdown"] {
        let port = port.to_string();
        let args = [
            "check",
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "none",
            "--allow-plaintext-auth",
            "--user",
            LOGIN,
            "--to",
            "bob@example.net",
            "--dns",
            refusing_dns(),
            "--echo-dns",
            refusing_dns(),
            "--public-ip",
            "127.0.0.1",
            "--timeout",
            "2",
            "--password-env",
            "PROBE_SECRET_PW",
            "--format",
            format,
            "--verbose",
        ];
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
                .args(args)
                .env("PROBE_SECRET_PW", pw)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains("[redacted]"), "{format}: {stdout}");
        assert_clean(&format!("{format} stdout"), &stdout, pw);
        assert_clean(&format!("{format} stderr"), &stderr, pw);
    }
}
