//! Scenarios as data: check outcomes in, ranked causes out. The diagnosis
//! is a pure function, so each scenario builds the outcomes a real run
//! produced (with the real server replies) and checks the ranking, the
//! evidence and the fixes.

use serde_json::json;
use smtp_doctor::diagnose::{Diagnosis, Verdict, diagnose};
use smtp_doctor::probe::{CheckId, Dir, Outcome, Status, TranscriptLine};
use smtp_doctor::reply::Reply;
use smtp_doctor::settings::{Password, Security, Settings};

fn settings() -> Settings {
    Settings {
        account: "alice@example.com".into(),
        password: Password::new("pw-not-used-here"),
        server: "smtp.example.com".into(),
        port: 587,
        security: Security::Starttls,
        recipient: "friend@example.net".into(),
        ..Settings::default()
    }
}

fn o(id: CheckId, status: Status, summary: &str) -> Outcome {
    Outcome::new(id, status, summary)
}

fn line(dir: Dir, text: &str) -> TranscriptLine {
    TranscriptLine {
        t_ms: 0,
        dir,
        line: text.into(),
    }
}

/// A relay outcome as the engine records it, with its transcript.
fn relay(status: Status, authenticated: bool, rcpt_reply: &str) -> Outcome {
    let reply = Reply::parse(rcpt_reply).unwrap();
    let mut out = o(CheckId::Relay, status, "relay")
        .with("stage", "rcpt")
        .with("authenticated", authenticated)
        .with("accepted", status == Status::Pass)
        .with("rcpt_reply", rcpt_reply)
        .with_reply(Some(reply));
    out.transcript = vec![
        line(Dir::Client, "MAIL FROM:<alice@example.com>"),
        line(Dir::Client, "RCPT TO:<friend@example.net>"),
        line(Dir::Server, "250 2.1.0 Ok"),
        line(Dir::Server, rcpt_reply),
        line(Dir::Client, "RSET"),
        line(Dir::Server, "250 2.0.0 Ok"),
    ];
    out
}

fn ports(list: serde_json::Value) -> Outcome {
    o(CheckId::NetPorts, Status::Pass, "ports").with("ports", list)
}

fn ids(d: &Diagnosis) -> Vec<&str> {
    d.cause_ids()
}

fn warning_ids(d: &Diagnosis) -> Vec<&str> {
    d.warnings.iter().map(|w| w.id.as_str()).collect()
}

#[test]
fn relay_denied_without_login_on_a_server_offering_auth_is_auth_required() {
    let s = Settings {
        auth: false,
        port: 25,
        ..settings()
    };
    let out = vec![
        o(CheckId::Auth, Status::Skip, "off")
            .with("auth_offered", true)
            .with("offered_mechanisms", ["PLAIN", "LOGIN"]),
        relay(
            Status::Fail,
            false,
            "554 5.7.1 <friend@example.net>: Relay access denied",
        ),
    ];
    let d = diagnose(&out, &s);
    assert_eq!(d.verdict, Verdict::Problem);
    assert_eq!(&ids(&d)[..2], ["auth-required", "ip-not-allowed"]);
    let top = d.top().unwrap();
    assert!(
        top.evidence[0]
            .lines
            .iter()
            .any(|l| l == "S: 554 5.7.1 <friend@example.net>: Relay access denied"),
        "{:?}",
        top.evidence
    );
    assert!(
        top.evidence[0]
            .lines
            .iter()
            .any(|l| l == "C: RCPT TO:<friend@example.net>")
    );
    assert!(!top.fixes.is_empty());
}

#[test]
fn relay_denied_where_no_port_offers_auth_is_ip_not_allowed() {
    let s = Settings {
        auth: false,
        port: 25,
        ..settings()
    };
    let out = vec![
        o(CheckId::Auth, Status::Skip, "off").with("auth_offered", false),
        ports(
            json!([{"port": 25, "state": "connected", "speaks": "smtp", "starttls": false, "auth": []}]),
        ),
        relay(
            Status::Fail,
            false,
            "550 5.7.1 Unable to relay for friend@example.net",
        ),
    ];
    let d = diagnose(&out, &s);
    assert_eq!(ids(&d).first(), Some(&"ip-not-allowed"), "{:?}", ids(&d));
}

#[test]
fn microsoft_tenant_attribution_is_a_connector_that_does_not_match() {
    let s = Settings {
        auth: false,
        port: 25,
        server: "contoso-com.mail.protection.outlook.com".into(),
        ..settings()
    };
    let out = vec![
        o(CheckId::Auth, Status::Skip, "off").with("auth_offered", false),
        relay(
            Status::Fail,
            false,
            "550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT0123.eop-nam02.prod.protection.outlook.com]",
        ),
    ];
    let d = diagnose(&out, &s);
    assert_eq!(ids(&d).first(), Some(&"ip-not-allowed"), "{:?}", ids(&d));
    assert_eq!(d.provider.as_deref(), Some("microsoft365"));
    let fixes = d.top().unwrap().fixes.join(" ");
    assert!(fixes.contains("Connectors"), "Microsoft's own fix: {fixes}");
}

#[test]
fn refused_anonymously_but_accepted_after_login_is_fine_and_said_so() {
    let out = vec![
        o(CheckId::Auth, Status::Pass, "logged in").with("auth_offered", true),
        relay(Status::Pass, true, "250 2.1.5 Ok"),
        relay(
            Status::Fail,
            false,
            "554 5.7.1 <friend@example.net>: Relay access denied",
        ),
    ];
    let mut out = out;
    out[2].id = CheckId::RelayAnonymous;
    out[2].status = Status::Pass;
    out[2].set("open_relay_suspected", false);
    let d = diagnose(&out, &settings());
    assert_eq!(d.verdict, Verdict::Ok, "{:?}", ids(&d));
    assert!(d.causes.is_empty());
    assert!(
        d.notes.iter().any(|n| n.text.contains("not an open relay")),
        "{:?}",
        d.notes
    );
}

#[test]
fn an_open_relay_is_flagged() {
    let mut anon = relay(Status::Pass, false, "250 2.1.5 Ok");
    anon.id = CheckId::RelayAnonymous;
    anon.status = Status::Warn;
    anon.set("open_relay_suspected", true);
    let d = diagnose(&[anon], &settings());
    assert!(
        d.notes.iter().any(|n| n.text.contains("open relay")),
        "{:?}",
        d.notes
    );
}

#[test]
fn port_25_timing_out_while_587_answers_is_port_blocked() {
    let s = Settings {
        port: 25,
        ..settings()
    };
    let out = vec![
        o(CheckId::NetPort, Status::Fail, "Port 25 did not answer")
            .with("port", 25)
            .with("failure", "timed-out"),
        ports(json!([
            {"port": 25, "state": "timed-out", "speaks": "silent", "starttls": false, "auth": []},
            {"port": 465, "state": "connected", "speaks": "smtp-tls", "starttls": false, "auth": ["PLAIN"]},
            {"port": 587, "state": "connected", "speaks": "smtp", "starttls": true, "auth": ["PLAIN", "LOGIN"]},
            {"port": 2525, "state": "refused", "starttls": false, "auth": []}
        ])),
    ];
    let d = diagnose(&out, &s);
    assert_eq!(ids(&d).first(), Some(&"port-blocked"), "{:?}", ids(&d));
    let fixes = d.top().unwrap().fixes.join(" ");
    assert!(
        fixes.contains("587"),
        "the fix names the port that answers: {fixes}"
    );
}

#[test]
fn everything_timing_out_points_at_the_network_or_the_server() {
    let out = vec![
        o(CheckId::NetPort, Status::Fail, "timed out")
            .with("port", 587)
            .with("failure", "timed-out"),
        ports(json!([
            {"port": 25, "state": "timed-out", "speaks": "silent", "auth": []},
            {"port": 587, "state": "timed-out", "speaks": "silent", "auth": []}
        ])),
    ];
    let d = diagnose(&out, &settings());
    let c = ids(&d);
    assert!(
        c.contains(&"port-blocked") && c.contains(&"server-unreachable"),
        "{c:?}"
    );
}

#[test]
fn implicit_tls_against_a_plaintext_port_and_the_reverse() {
    let tls_on_plain = o(CheckId::Tls, Status::Fail, "Port 25 speaks plain SMTP")
        .with("mode_mismatch", "port-is-plaintext");
    let d = diagnose(
        &[tls_on_plain],
        &Settings {
            port: 25,
            security: Security::Tls,
            ..settings()
        },
    );
    assert_eq!(ids(&d).first(), Some(&"wrong-security"));
    assert!(
        d.top()
            .unwrap()
            .fixes
            .iter()
            .any(|f| f.contains("STARTTLS")),
        "{:?}",
        d.top().unwrap().fixes
    );
    let starttls_on_tls = o(
        CheckId::SmtpGreeting,
        Status::Fail,
        "silent but answers TLS",
    )
    .with("mode_mismatch", "port-expects-tls");
    let d = diagnose(
        &[starttls_on_tls],
        &Settings {
            port: 2465,
            ..settings()
        },
    );
    assert_eq!(ids(&d).first(), Some(&"wrong-security"));
    assert!(
        d.top().unwrap().fixes.iter().any(|f| f.contains("SSL/TLS")),
        "{:?}",
        d.top().unwrap().fixes
    );
}

#[test]
fn must_issue_starttls_first_is_tls_required() {
    let s = Settings {
        security: Security::None,
        auth: false,
        ..settings()
    };
    let mut r = relay(
        Status::Fail,
        false,
        "530 5.7.0 Must issue a STARTTLS command first",
    );
    r.set("stage", "mail");
    let d = diagnose(&[r], &s);
    assert_eq!(ids(&d).first(), Some(&"tls-required"), "{:?}", ids(&d));
}

#[test]
fn wrong_password_is_auth_failed_and_gmail_app_password_is_named() {
    let auth = |reply: &str| {
        o(CheckId::Auth, Status::Fail, "rejected")
            .with("auth_offered", true)
            .with_reply(Reply::parse(reply))
    };
    let d = diagnose(
        &[auth(
            "535 5.7.8 Error: authentication failed: authentication failure",
        )],
        &settings(),
    );
    assert_eq!(ids(&d).first(), Some(&"auth-failed"));
    let s = Settings {
        server: "smtp.gmail.com".into(),
        ..settings()
    };
    let d = diagnose(
        &[auth(
            "534-5.7.9 Application-specific password required. For more information, go to\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
        )],
        &s,
    );
    assert_eq!(
        ids(&d).first(),
        Some(&"app-password-required"),
        "{:?}",
        ids(&d)
    );
    assert_eq!(d.provider.as_deref(), Some("google"));
}

#[test]
fn incoming_login_working_while_smtp_auth_fails_is_auth_disabled() {
    let auth = o(CheckId::Auth, Status::Fail, "rejected")
        .with("auth_offered", true)
        .with_reply(Reply::parse("535 5.7.3 Authentication unsuccessful"));
    let inc = o(CheckId::IncomingLogin, Status::Pass, "IMAP login ok");
    let d = diagnose(&[auth.clone(), inc], &settings());
    assert_eq!(ids(&d).first(), Some(&"auth-disabled"), "{:?}", ids(&d));
    let inc_fail = o(CheckId::IncomingLogin, Status::Fail, "IMAP login rejected");
    let d = diagnose(&[auth, inc_fail], &settings());
    assert_eq!(ids(&d).first(), Some(&"auth-failed"), "{:?}", ids(&d));
}

#[test]
fn recipient_domain_without_working_mx_is_recipient_domain_invalid() {
    let mx = o(
        CheckId::RecipientMx,
        Status::Fail,
        "example.net publishes a null MX",
    )
    .with("null_mx", true);
    let d = diagnose(&[mx], &settings());
    // Off the mail path and with no step failed: a warning, not a cause.
    assert!(d.causes.is_empty(), "{:?}", ids(&d));
    assert_eq!(warning_ids(&d).first(), Some(&"recipient-domain-invalid"));
}

#[test]
fn an_mx_silent_on_25_is_only_evidence_when_port_25_works_elsewhere() {
    let mx = o(CheckId::RecipientMx, Status::Warn, "port 25 did not answer")
        .with("port25_problem", "timed-out")
        .with(
            "mx",
            json!([{"host": "mx.example.net", "port25": "timed-out"}]),
        );
    let blocked_here = ports(json!([{"port": 25, "state": "timed-out", "auth": []}]));
    let d = diagnose(&[mx.clone(), blocked_here], &settings());
    assert!(
        !ids(&d).contains(&"recipient-domain-invalid"),
        "{:?}",
        ids(&d)
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.text.contains("blocks outgoing port 25")),
        "{:?}",
        d.notes
    );
    let open_here =
        ports(json!([{"port": 25, "state": "connected", "speaks": "smtp", "auth": []}]));
    let d = diagnose(&[mx, open_here], &settings());
    assert!(
        warning_ids(&d).contains(&"recipient-domain-invalid"),
        "{:?}",
        warning_ids(&d)
    );
}

#[test]
fn a_clean_run_is_ok_with_no_causes() {
    let out = vec![
        o(CheckId::DnsServer, Status::Pass, "resolves"),
        o(CheckId::Auth, Status::Pass, "logged in"),
        relay(Status::Pass, true, "250 2.1.5 Ok"),
        o(CheckId::SenderDmarc, Status::Error, "lookup failed"),
    ];
    let d = diagnose(&out, &settings());
    assert_eq!(
        d.verdict,
        Verdict::Ok,
        "an informational check's error is not a problem: {:?}",
        ids(&d)
    );
}

#[test]
fn a_gmail_user_at_home_is_not_told_to_fix_gmail_dot_com_spf() {
    // gmail.com's record reaches Google's servers through redirect=; a home
    // address soft-fails, which does not matter after a login.
    let s = Settings {
        server: "smtp.gmail.com".into(),
        account: "someone@gmail.com".into(),
        ..settings()
    };
    let spf = o(CheckId::SenderSpf, Status::Warn, "gmail.com's SPF soft-fails the home address")
        .with("result", "softfail")
        .with("domain", "gmail.com")
        .with("own_ip_sends", false)
        .with("records", ["v=spf1 redirect=_spf.google.com"])
        .with("trace_text", "gmail.com: v=spf1 redirect=_spf.google.com\n  _spf.google.com: v=spf1 include:_netblocks.google.com ~all\n");
    let out = vec![
        o(CheckId::Auth, Status::Pass, "logged in").with("auth_offered", true),
        relay(Status::Pass, true, "250 2.1.5 OK"),
        spf,
    ];
    let d = diagnose(&out, &s);
    assert_eq!(d.verdict, Verdict::Ok, "{:?}", ids(&d));
    assert!(!ids(&d).contains(&"spf-not-authorized"));
}

#[test]
fn a_custom_domain_on_microsoft_365_without_its_include_gets_the_merged_record() {
    let s = Settings {
        server: "smtp.office365.com".into(),
        account: "it@contoso.example".into(),
        ..settings()
    };
    let spf = o(CheckId::SenderSpf, Status::Warn, "fails")
        .with("result", "fail")
        .with("domain", "contoso.example")
        .with("own_ip_sends", false)
        .with("records", ["v=spf1 ip4:192.0.2.0/24 -all"])
        .with(
            "trace_text",
            "contoso.example: v=spf1 ip4:192.0.2.0/24 -all\n",
        );
    let d = diagnose(&[spf], &s);
    let top = d.warnings.first().expect("a warning");
    assert_eq!(top.id, "spf-not-authorized");
    assert!(
        top.fixes
            .iter()
            .any(|f| f.contains("v=spf1 ip4:192.0.2.0/24 include:spf.protection.outlook.com -all")),
        "{:?}",
        top.fixes
    );
}

#[test]
fn the_sender_domain_does_not_name_the_server_provider() {
    // A contact form on shared hosting sends as a Gmail address through
    // its own Postfix.
    let s = Settings {
        server: "mail.hosting.example".into(),
        sender: "shop@gmail.com".into(),
        ..settings()
    };
    let greeting = o(CheckId::SmtpGreeting, Status::Pass, "greeted")
        .with("banner", "mail.hosting.example ESMTP Postfix");
    let d = diagnose(&[greeting], &s);
    assert_eq!(d.provider.as_deref(), Some("postfix"), "{:?}", d.provider);
}

#[test]
fn an_incoming_server_that_is_not_one_does_not_blame_the_password() {
    let auth = o(CheckId::Auth, Status::Fail, "rejected")
        .with("auth_offered", true)
        .with_reply(Reply::parse("535 5.7.3 Authentication unsuccessful"));
    let inc = o(
        CheckId::IncomingLogin,
        Status::Error,
        "does not answer like an IMAP server",
    )
    .with("wrong_service", true);
    let d = diagnose(&[auth, inc], &settings());
    let top = d.top().unwrap();
    assert!(
        top.confidence < 0.95,
        "the wrong incoming server is no evidence: {:?}",
        d.causes
    );
}
