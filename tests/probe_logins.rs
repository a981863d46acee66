//! The login guarantees, against scripted servers in process (they count
//! every AUTH and LOGIN on every connection, check the SASL payload, or
//! answer just before each timeout — nothing a real server does on
//! demand; the counts against real Postfix and Dovecot logs are in
//! tests/probe_real_logins.rs):
//! - AUTH is never sent when STARTTLS was asked for but not offered,
//!   refused, or failed, nor to a server whose certificate is not trusted
//!   (unless the user insists);
//! - a run makes at most one failed login across SMTP and IMAP, and one
//!   login in all when it sends a message;
//! - `--oauth-token-env` logs in with XOAUTH2 or OAUTHBEARER, with the
//!   exact payload, and the token is redacted like a password (no OAuth
//!   server exists in the test bed: the client side is tested here);
//! - one deadline bounds the main session however slowly a server answers.

mod probe_common;

use probe_common::*;
use smtp_doctor::diagnose::diagnose;
use smtp_doctor::probe::{CheckId, Status};
use smtp_doctor::report::{Format, Report};
use smtp_doctor::settings::{Incoming, IncomingProtocol, Password, Security, Settings};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PW: &str = "Right-Or-Wrong-9";

fn with_password(port: u16) -> Settings {
    Settings {
        password: Password::new(PW),
        ..settings("127.0.0.1", port)
    }
}

fn imap_at(port: u16) -> Option<Incoming> {
    Some(Incoming {
        server: "127.0.0.1".into(),
        port,
        protocol: IncomingProtocol::Imap,
        security: Security::None,
    })
}

/// STARTTLS asked for: not offered, refused, or its handshake fails.
#[tokio::test]
async fn auth_is_never_sent_without_the_encryption_asked_for() {
    for (offered, reply) in [
        (false, "454 4.7.0 unused"),
        (true, "454 4.7.0 TLS not available due to local problem"),
        (true, "220 2.0.0 Ready to start TLS"),
    ] {
        let mut cfg = Smtp::new("AUTH PLAIN LOGIN");
        cfg.starttls = offered;
        cfg.starttls_reply = reply;
        let cfg = Arc::new(cfg);
        let port = smtp_server(cfg.clone()).await;
        let st = Settings {
            security: Security::Starttls,
            allow_plaintext_auth: false,
            ..with_password(port)
        };
        let (out, _) = run(st).await;
        assert_eq!(get(&out, CheckId::Tls).status, Status::Fail, "{reply}");
        assert_eq!(get(&out, CheckId::Auth).status, Status::Skip, "{reply}");
        assert_eq!(
            cfg.auth_count(),
            0,
            "AUTH sent with STARTTLS {offered}/{reply}"
        );
    }
}

/// An implicit-TLS server with a self-signed certificate for 127.0.0.1.
async fn self_signed_server(cfg: Arc<Smtp>) -> u16 {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    serve(move |tcp| {
        let (acceptor, cfg) = (acceptor.clone(), cfg.clone());
        async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                smtp_session(tls, cfg).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn the_password_is_withheld_from_an_untrusted_certificate_unless_insisted() {
    for insist in [false, true] {
        let cfg = Arc::new(Smtp::new("AUTH PLAIN LOGIN"));
        let port = self_signed_server(cfg.clone()).await;
        let st = Settings {
            security: Security::Tls,
            allow_plaintext_auth: false,
            insecure_login: insist,
            ..with_password(port)
        };
        let (out, _) = run(st).await;
        let tls = get(&out, CheckId::Tls);
        assert_eq!(tls.status, Status::Fail, "{}", tls.summary);
        let auth = get(&out, CheckId::Auth);
        if insist {
            assert_eq!(auth.status, Status::Pass, "{}", auth.summary);
            assert_eq!(cfg.auth_count(), 1);
        } else {
            assert_eq!(auth.status, Status::Skip, "{}", auth.summary);
            assert!(auth.detail_str("withheld_for_certificate").is_some());
            assert_eq!(
                cfg.auth_count(),
                0,
                "the password went to an untrusted server"
            );
        }
    }
}

/// A wrong password: the IMAP server refuses it, and SMTP AUTH is not
/// tried at all; the diagnosis still says the password is wrong.
#[tokio::test]
async fn a_wrong_password_fails_once_across_imap_and_smtp() {
    let smtp = Arc::new(Smtp::new("AUTH PLAIN LOGIN"));
    let port = smtp_server(smtp.clone()).await;
    let imap = Arc::new(Imap::new(false));
    let imap_port = imap_server(imap.clone()).await;
    let st = Settings {
        incoming: imap_at(imap_port),
        send_test_message: true,
        ..with_password(port)
    };
    let (out, _) = run(st.clone()).await;
    assert_eq!(imap.login_count(), 1);
    assert_eq!(smtp.auth_count(), 0, "a second failure after IMAP refused");
    let auth = get(&out, CheckId::Auth);
    assert_eq!(auth.status, Status::Fail, "{}", auth.summary);
    assert_eq!(auth.detail_bool("attempted"), Some(false));
    assert_eq!(get(&out, CheckId::Send).status, Status::Skip);
    let d = diagnose(&out, &st);
    assert_eq!(
        d.cause_ids().first(),
        Some(&"auth-failed"),
        "{:?}",
        d.cause_ids()
    );
}

/// The right password that SMTP refuses while IMAP takes it: one SMTP
/// attempt, and the diagnosis says SMTP login is switched off.
#[tokio::test]
async fn imap_accepting_lets_smtp_auth_tell_it_is_switched_off() {
    let mut smtp = Smtp::new("AUTH PLAIN LOGIN");
    smtp.auth_reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.";
    let smtp = Arc::new(smtp);
    let port = smtp_server(smtp.clone()).await;
    let imap = Arc::new(Imap::new(true));
    let imap_port = imap_server(imap.clone()).await;
    let st = Settings {
        incoming: imap_at(imap_port),
        ..with_password(port)
    };
    let (out, _) = run(st.clone()).await;
    assert_eq!((imap.login_count(), smtp.auth_count()), (1, 1));
    assert_eq!(get(&out, CheckId::Auth).status, Status::Fail);
    let d = diagnose(&out, &st);
    assert_eq!(
        d.cause_ids().first(),
        Some(&"auth-disabled"),
        "{:?}",
        d.cause_ids()
    );
}

/// No answer from the incoming server: SMTP AUTH is the one attempt.
#[tokio::test]
async fn an_unreachable_incoming_server_leaves_smtp_auth_the_one_attempt() {
    let smtp = Arc::new(Smtp::new("AUTH PLAIN LOGIN"));
    let port = smtp_server(smtp.clone()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let st = Settings {
        incoming: imap_at(closed_port),
        ..with_password(port)
    };
    let (out, _) = run(st).await;
    assert_eq!(get(&out, CheckId::IncomingLogin).status, Status::Error);
    assert_eq!(smtp.auth_count(), 1);
    assert_eq!(get(&out, CheckId::Auth).status, Status::Pass);
}

/// Sending the test message logs in once: on the main session, right
/// after the relay test, not on a connection of its own.
#[tokio::test]
async fn sending_a_message_logs_in_once() {
    for (reply, sent) in [("235 2.7.0 ok", true), ("535 5.7.8 bad password", false)] {
        let mut smtp = Smtp::new("AUTH PLAIN LOGIN");
        smtp.auth_reply = reply;
        let smtp = Arc::new(smtp);
        let port = smtp_server(smtp.clone()).await;
        let st = Settings {
            send_test_message: true,
            ..with_password(port)
        };
        let (out, _) = run(st).await;
        assert_eq!(smtp.auth_count(), 1, "{reply}");
        let send = get(&out, CheckId::Send);
        if sent {
            assert_eq!(send.status, Status::Pass, "{}", send.summary);
            assert_eq!(send.detail_str("queue_id"), Some("ECHO1"));
            assert!(
                send.transcript.iter().any(|l| l.line == "DATA"),
                "{:?}",
                send.transcript
            );
        } else {
            assert_eq!(send.status, Status::Skip, "{}", send.summary);
        }
    }
}

const TOKEN: &str = "ya29.a0-Probe-Access-Token_0123456789";

fn token_settings(port: u16) -> Settings {
    Settings {
        password: Password::default(),
        oauth_token: Password::new(TOKEN),
        ..settings("127.0.0.1", port)
    }
}

#[tokio::test]
async fn an_access_token_logs_in_with_xoauth2_or_oauthbearer() {
    let cases = [
        (
            "AUTH LOGIN XOAUTH2 OAUTHBEARER",
            "XOAUTH2",
            format!("user=alice@example.test\x01auth=Bearer {TOKEN}\x01\x01"),
        ),
        (
            "AUTH PLAIN OAUTHBEARER",
            "OAUTHBEARER",
            format!("n,a=alice@example.test,\x01auth=Bearer {TOKEN}\x01\x01"),
        ),
    ];
    for (offer, mech, payload) in cases {
        let mut smtp = Smtp::new(offer);
        smtp.expect_payload = Some(payload);
        smtp.extra = vec![TOKEN.as_bytes().to_vec()];
        smtp.echo = true;
        let smtp = Arc::new(smtp);
        let port = smtp_server(smtp.clone()).await;
        let st = token_settings(port);
        let (out, events) = run(st.clone()).await;
        let auth = get(&out, CheckId::Auth);
        assert_eq!(auth.status, Status::Pass, "{mech}: {}", auth.summary);
        assert_eq!(auth.detail_str("mechanism"), Some(mech));
        assert_eq!(smtp.auth_count(), 1);
        let d = diagnose(&out, &st);
        let r = Report {
            settings: &st,
            checks: &out,
            diagnosis: &d,
            total_ms: 0,
        };
        for f in [Format::Json, Format::Markdown, Format::Text] {
            assert!(!r.render(f, false).contains(TOKEN), "{f:?} shows the token");
        }
        assert!(!events.join("\n").contains(TOKEN));
    }
}

/// A refused token comes back as a 334 challenge; the client ends the
/// exchange and reports the server's final refusal.
#[tokio::test]
async fn a_refused_token_ends_the_exchange_cleanly() {
    let mut smtp = Smtp::new("AUTH XOAUTH2");
    smtp.auth_reply = "334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=";
    smtp.after_challenge = "535 5.7.8 Username and Password not accepted";
    let port = smtp_server(Arc::new(smtp)).await;
    let (out, _) = run(token_settings(port)).await;
    let auth = get(&out, CheckId::Auth);
    assert_eq!(auth.status, Status::Fail, "{}", auth.summary);
    assert_eq!(auth.reply.as_ref().map(|r| r.code), Some(535));
}

#[tokio::test]
async fn a_token_login_needs_an_oauth_mechanism() {
    let smtp = Arc::new(Smtp::new("AUTH PLAIN LOGIN"));
    let port = smtp_server(smtp.clone()).await;
    let (out, _) = run(token_settings(port)).await;
    let auth = get(&out, CheckId::Auth);
    assert_eq!(auth.status, Status::Fail);
    assert_eq!(auth.detail_bool("unsupported_mechanisms"), Some(true));
    assert_eq!(smtp.auth_count(), 0);
}

/// Every reply comes just before the step timeout: each step passes, but
/// the session as a whole ends at its deadline with a clear outcome.
#[tokio::test]
async fn a_server_slow_at_every_step_meets_one_deadline() {
    let mut smtp = Smtp::new("AUTH PLAIN LOGIN");
    smtp.delay = Duration::from_millis(T * 1000 - 300);
    let port = smtp_server(Arc::new(smtp)).await;
    let started = Instant::now();
    let (out, _) = run(with_password(port)).await;
    let took = started.elapsed();
    let late: Vec<_> = out
        .iter()
        .filter(|o| o.detail_bool("overall_timeout") == Some(true))
        .collect();
    assert!(!late.is_empty(), "{out:#?}");
    for o in &late {
        assert_eq!(o.status, Status::Error);
        assert!(o.summary.starts_with("Took too long"), "{}", o.summary);
    }
    assert_eq!(get(&out, CheckId::SmtpGreeting).status, Status::Pass);
    // Three step timeouts after the connect, and a little for the rest.
    assert!(took < Duration::from_secs(T * 3 + 2), "took {took:?}");
}

/// The flag itself: the token comes from the environment variable named,
/// stands in for the password, and a missing variable is a usage error.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_reads_the_token_from_the_environment() {
    let mut smtp = Smtp::new("AUTH XOAUTH2");
    smtp.expect_payload = Some(format!(
        "user=alice@example.test\x01auth=Bearer {TOKEN}\x01\x01"
    ));
    let port = smtp_server(Arc::new(smtp)).await.to_string();
    let run_cli = |var: &'static str| {
        let port = port.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
                .args(["check", "--server", "127.0.0.1", "--port", &port])
                .args(["--security", "none", "--allow-plaintext-auth"])
                .args(["--user", "alice@example.test", "--to", "bob@example.net"])
                .args(["--dns", refusing_dns(), "--echo-dns", refusing_dns()])
                .args(["--public-ip", "127.0.0.1", "--timeout", "2"])
                .args(["--oauth-token-env", var, "--format", "json"])
                .env("PROBE_OAUTH_TOKEN", TOKEN)
                .env_remove("PROBE_OAUTH_UNSET")
                .output()
                .unwrap()
        })
    };
    let out = run_cli("PROBE_OAUTH_TOKEN").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let auth = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "auth")
        .unwrap();
    assert_eq!(auth["status"], "pass", "{auth}");
    assert_eq!(auth["details"]["mechanism"], "XOAUTH2");
    assert!(!stdout.contains(TOKEN) && !String::from_utf8_lossy(&out.stderr).contains(TOKEN));
    let out = run_cli("PROBE_OAUTH_UNSET").await.unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PROBE_OAUTH_UNSET is not set"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
