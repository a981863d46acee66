//! The diagnosis: a pure function from check outcomes to ranked causes, each
//! with the evidence that points to it and fixes for the detected provider.
//!
//! It reasons the way an experienced support engineer does: a failed check
//! is a symptom, and the cause is found by combining symptoms — "Relay access
//! denied" with authentication off, while the server offers AUTH, means the
//! client must log in, not that the server is broken. Server replies are
//! classified by [`crate::classify`] (codes first, then text), and the cause
//! texts and fixes come from the catalog in `assets/`.

use crate::catalog::{ProviderEvidence, catalog};
use crate::classify;
use crate::probe::{CheckId, Dir, Outcome, Status};
use crate::reply::Reply;
use crate::settings::{Security, Settings};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Problem,
}

/// One piece of evidence: a check, what it found, and the exact lines.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Evidence {
    pub check: CheckId,
    pub summary: String,
    pub lines: Vec<String>,
}

/// A likely cause, with why we think so and what to do.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub id: String,
    pub title: String,
    pub explanation: String,
    /// How strongly the evidence points here, 0 to 1.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
    pub fixes: Vec<String>,
}

/// A remark that is not a cause of failure but worth knowing (an open
/// relay, a certificate close to expiry, "not an open relay").
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub check: CheckId,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    /// The detected provider id (`microsoft365`, `postfix`…), when known.
    pub provider: Option<String>,
    pub provider_name: Option<String>,
    pub causes: Vec<Finding>,
    pub notes: Vec<Note>,
}

impl Diagnosis {
    pub fn top(&self) -> Option<&Finding> {
        self.causes.first()
    }
    pub fn cause_ids(&self) -> Vec<&str> {
        self.causes.iter().map(|c| c.id.as_str()).collect()
    }
}

/// Collects findings while the rules run.
struct Board<'a> {
    by_id: HashMap<CheckId, &'a Outcome>,
    found: Vec<(String, f32, Vec<Evidence>)>,
    notes: Vec<Note>,
    vars: HashMap<&'static str, String>,
}

impl<'a> Board<'a> {
    fn get(&self, id: CheckId) -> Option<&'a Outcome> {
        self.by_id.get(&id).copied()
    }

    fn failed(&self, id: CheckId) -> Option<&'a Outcome> {
        self.get(id).filter(|o| o.status.is_problem())
    }

    fn add(&mut self, cause: &str, confidence: f32, ev: Evidence) {
        if let Some(f) = self.found.iter_mut().find(|f| f.0 == cause) {
            f.1 = f.1.max(confidence);
            if !f.2.contains(&ev) {
                f.2.push(ev);
            }
        } else {
            self.found.push((cause.to_string(), confidence, vec![ev]));
        }
    }

    fn note(&mut self, check: CheckId, text: impl Into<String>) {
        self.notes.push(Note {
            check,
            text: text.into(),
        });
    }
}

/// The evidence of one outcome: its summary and the exchange that decided
/// it (the last client command and the server reply to it).
pub fn evidence(o: &Outcome) -> Evidence {
    let mut lines = Vec::new();
    if let Some(r) = &o.reply {
        let code = r.code.to_string();
        let t = &o.transcript;
        if let Some(end) = t
            .iter()
            .rposition(|l| l.dir == Dir::Server && l.line.starts_with(&code))
        {
            let mut start = end;
            while start > 0
                && t[start - 1].dir == Dir::Server
                && t[start - 1].line.starts_with(&code)
            {
                start -= 1;
            }
            // Back to the command(s) this answers: with PIPELINING the
            // replies to earlier commands of the same write come between.
            while start > 0 && t[start - 1].dir == Dir::Server {
                start -= 1;
            }
            while start > 0 && t[start - 1].dir == Dir::Client {
                start -= 1;
            }
            if start == 0 && t[0].dir == Dir::Server && start < end {
                // No command before: keep only the reply itself.
                start = end;
                while start > 0
                    && t[start - 1].dir == Dir::Server
                    && t[start - 1].line.starts_with(&code)
                {
                    start -= 1;
                }
            }
            lines = t[start..=end]
                .iter()
                .map(|l| match l.dir {
                    Dir::Client => format!("C: {}", l.line),
                    Dir::Server => format!("S: {}", l.line),
                })
                .collect();
        }
        if lines.is_empty() {
            lines.push(format!("S: {}", r.summary()));
        }
    }
    Evidence {
        check: o.id,
        summary: o.summary.clone(),
        lines,
    }
}

/// The best cause for a server reply, by the classifier.
fn classified(reply: Option<&Reply>) -> Option<(String, f32)> {
    let r = reply?;
    classify::classify(r)
        .into_iter()
        .next()
        .map(|m| (m.cause, m.confidence))
}

/// Diagnoses a run. Pure: the same outcomes and settings give the same
/// diagnosis.
pub fn diagnose(outcomes: &[Outcome], settings: &Settings) -> Diagnosis {
    let mut b = Board {
        by_id: outcomes.iter().map(|o| (o.id, o)).collect(),
        found: Vec::new(),
        notes: Vec::new(),
        vars: HashMap::new(),
    };
    fill_vars(&mut b, settings);
    reaching(&mut b);
    encryption(&mut b, settings);
    authentication(&mut b, settings);
    relaying(&mut b, settings);
    domains(&mut b, settings);
    unexplained_failures(&mut b);

    let provider = detect_provider(&b, settings);
    sender_spf(&mut b, provider.as_ref().map(|p| p.0.as_str()));
    let problem = !b.found.is_empty()
        || outcomes.iter().any(|o| {
            o.status == Status::Fail || (o.status == Status::Error && !informational(o.id))
        });
    let mut found = b.found;
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let causes = found
        .into_iter()
        .map(|(id, confidence, evidence)| {
            let pid = provider.as_ref().map(|p| p.0.as_str());
            finding(&id, confidence, evidence, pid, &b.vars)
        })
        .collect();
    let (provider, provider_name) = provider.unzip();
    Diagnosis {
        verdict: if problem {
            Verdict::Problem
        } else {
            Verdict::Ok
        },
        provider,
        provider_name,
        causes,
        notes: b.notes,
    }
}

/// Builds a finding from the catalog entry of `id`.
pub fn finding(
    id: &str,
    confidence: f32,
    evidence: Vec<Evidence>,
    provider: Option<&str>,
    vars: &HashMap<&'static str, String>,
) -> Finding {
    let entry = catalog().cause(id);
    Finding {
        id: id.to_string(),
        title: entry
            .map(|c| c.title.clone())
            .unwrap_or_else(|| id.to_string()),
        explanation: entry
            .map(|c| fill(&c.explanation, vars))
            .unwrap_or_default(),
        confidence: (f64::from(confidence) * 100.0).round() / 100.0,
        evidence,
        fixes: entry
            .map(|c| {
                c.fixes_for(provider)
                    .iter()
                    .map(|f| fill(f, vars))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Words for a placeholder the run does not know (as in `explain`, where
/// there is no run at all).
const NEUTRAL: [(&str, &str); 10] = [
    ("server", "your outgoing server"),
    ("port", "the port"),
    ("security", "the encryption setting"),
    ("login", "your login"),
    ("sender", "your address"),
    ("recipient", "the recipient"),
    ("ip", "your public IP address"),
    ("suggested_port", "587"),
    ("suggested_security", "STARTTLS"),
    (
        "spf_record",
        "an SPF record that lists your sending IP address",
    ),
];

/// Replaces `{name}` placeholders with what the run knows, and the rest
/// with neutral words.
pub fn fill(text: &str, vars: &HashMap<&'static str, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    for (k, v) in NEUTRAL {
        // An unknown value in parentheses is an aside: leave it out.
        out = out.replace(&format!(" ({{{k}}})"), "");
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn fill_vars(b: &mut Board<'_>, s: &Settings) {
    let v = &mut b.vars;
    v.insert("server", s.server_name().to_string());
    v.insert("port", s.port.to_string());
    v.insert("security", s.security.label().to_string());
    v.insert("login", s.effective_login().to_string());
    v.insert("sender", s.effective_sender().to_string());
    v.insert("recipient", s.recipient.trim().to_string());
    let ip = s
        .public_ip
        .map(|i| i.to_string())
        .or_else(|| {
            b.by_id
                .get(&CheckId::NetPublicIp)
                .and_then(|o| o.detail_str("ip"))
                .map(str::to_string)
        })
        .or_else(|| {
            b.by_id
                .get(&CheckId::SmtpEhlo)
                .and_then(|o| o.detail_str("client_address"))
                .map(str::to_string)
        });
    if let Some(ip) = ip {
        v.insert("ip", ip);
    }
    let (port, sec) = suggested_port(b.by_id.get(&CheckId::NetPorts).copied(), s.port)
        .unwrap_or((587, Security::Starttls));
    let v = &mut b.vars;
    v.insert("suggested_port", port.to_string());
    v.insert("suggested_security", sec.label().to_string());
    v.insert(
        "spf_record",
        "(see the sender domain's SPF check)".to_string(),
    );
}

/// The best alternative port from the survey: submission with STARTTLS and
/// AUTH first, then implicit TLS, then 2525, then 25.
pub fn suggested_port(ports: Option<&Outcome>, current: u16) -> Option<(u16, Security)> {
    let list = ports?.details.get("ports")?.as_array()?;
    let get = |p: u16| {
        list.iter()
            .find(|r| r["port"].as_u64() == Some(u64::from(p)))
    };
    let speaks = |r: &Value, what: &str| r["speaks"].as_str() == Some(what);
    let has_auth = |r: &Value| r["auth"].as_array().is_some_and(|a| !a.is_empty());
    let order: [(u16, &str, Security); 4] = [
        (587, "smtp", Security::Starttls),
        (465, "smtp-tls", Security::Tls),
        (2525, "smtp", Security::Starttls),
        (25, "smtp", Security::Starttls),
    ];
    order
        .iter()
        .filter(|(p, _, _)| *p != current)
        .find(|(p, what, sec)| {
            get(*p).is_some_and(|r| {
                speaks(r, what)
                    && (*sec != Security::Starttls || r["starttls"].as_bool() == Some(true))
                    && (has_auth(r) || *what == "smtp-tls" || *p == 587)
            })
        })
        .map(|(p, _, s)| (*p, *s))
}

fn any_port_offers_auth(b: &Board<'_>) -> bool {
    b.get(CheckId::NetPorts)
        .and_then(|o| o.details.get("ports"))
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|r| r["auth"].as_array().is_some_and(|a| !a.is_empty()))
        })
}

fn reaching(b: &mut Board<'_>) {
    if let Some(o) = b.failed(CheckId::DnsServer) {
        let conf = match o.detail_str("failure") {
            Some("nxdomain" | "no-records") => 0.95,
            _ => 0.6,
        };
        b.add("dns-server-not-found", conf, evidence(o));
    }
    if let Some(o) = b.failed(CheckId::NetPort) {
        let others_answer = suggested_port(
            b.get(CheckId::NetPorts),
            o.details.get("port").and_then(Value::as_u64).unwrap_or(0) as u16,
        )
        .is_some();
        match o.detail_str("failure") {
            Some("refused") => b.add("wrong-port", 0.9, evidence(o)),
            Some("timed-out") if others_answer => b.add("port-blocked", 0.95, evidence(o)),
            Some("timed-out") => {
                b.add("port-blocked", 0.7, evidence(o));
                b.add("server-unreachable", 0.5, evidence(o));
            }
            Some("unreachable") => b.add("server-unreachable", 0.9, evidence(o)),
            _ => b.add("server-unreachable", 0.6, evidence(o)),
        }
        if let Some(p) = b.get(CheckId::NetPorts)
            && others_answer
        {
            b.add(
                if o.detail_str("failure") == Some("refused") {
                    "wrong-port"
                } else {
                    "port-blocked"
                },
                0.0,
                evidence(p),
            );
        }
    }
    if let Some(o) = b.failed(CheckId::SmtpGreeting) {
        if o.detail_str("mode_mismatch").is_some() {
            return; // handled with encryption
        }
        if let Some(svc) = o.detail_str("not_smtp") {
            if svc.contains("TLS") {
                b.add("wrong-security", 0.9, evidence(o));
            } else {
                b.add("not-smtp", 0.9, evidence(o));
            }
        } else if o.detail_bool("refused") == Some(true) {
            let (cause, conf) =
                classified(o.reply.as_ref()).unwrap_or(("ip-blocklisted".into(), 0.5));
            b.add(&cause, conf, evidence(o));
        } else if o.detail_bool("silent") == Some(true) {
            b.add("port-blocked", 0.6, evidence(o));
            b.add("not-smtp", 0.4, evidence(o));
        } else {
            b.add("not-smtp", 0.6, evidence(o));
        }
    }
}

fn encryption(b: &mut Board<'_>, s: &Settings) {
    for id in [CheckId::SmtpGreeting, CheckId::Tls] {
        if let Some(o) = b.failed(id)
            && let Some(m) = o.detail_str("mode_mismatch")
        {
            let (sec, port) = match m {
                "port-expects-tls" => (Security::Tls, s.port),
                _ => (Security::Starttls, s.port),
            };
            b.vars.insert("suggested_security", sec.label().to_string());
            b.vars.insert("suggested_port", port.to_string());
            b.add("wrong-security", 0.95, evidence(o));
        }
    }
    if let Some(o) = b.failed(CheckId::Tls) {
        if o.detail_str("certificate_problem").is_some() {
            b.add("tls-certificate", 0.9, evidence(o));
        } else if o.detail_bool("starttls_offered") == Some(false) {
            b.add("wrong-security", 0.7, evidence(o));
        } else if o.detail_str("handshake_failure").is_some() {
            let mut ev = evidence(o);
            if let Some(err) = o.detail_str("error") {
                ev.lines.push(format!("TLS: {err}"));
            }
            b.add("tls-handshake-failed", 0.85, ev);
        } else if o.detail_str("mode_mismatch").is_none() {
            b.add("wrong-security", 0.4, evidence(o));
        }
    }
    if let Some(o) = b.get(CheckId::Tls) {
        if o.status == Status::Warn && o.detail_bool("starttls_offered") == Some(true) {
            b.note(o.id, "The server offers STARTTLS: turn encryption on so the password and mail are protected.");
        }
        if let Some(days) = o
            .details
            .get("certificate")
            .and_then(|c| c.get("days_left"))
            .and_then(Value::as_i64)
            && (0..14).contains(&days)
        {
            b.note(
                o.id,
                format!("The server's certificate expires in {days} days."),
            );
        }
    }
}

fn authentication(b: &mut Board<'_>, s: &Settings) {
    let Some(o) = b.failed(CheckId::Auth) else {
        return;
    };
    if o.detail_bool("auth_offered") == Some(false) {
        let conf = if s.security == Security::None {
            0.7
        } else {
            0.85
        };
        b.add("auth-not-offered", conf, evidence(o));
        return;
    }
    if o.detail_bool("unsupported_mechanisms") == Some(true) {
        b.add("auth-mechanism-unsupported", 0.9, evidence(o));
        return;
    }
    match classified(o.reply.as_ref()) {
        Some((cause, conf)) => b.add(&cause, conf.max(0.6), evidence(o)),
        None => b.add("auth-failed", 0.7, evidence(o)),
    }
}

fn relaying(b: &mut Board<'_>, s: &Settings) {
    if let Some(o) = b.failed(CheckId::Relay) {
        let cause = classified(o.reply.as_ref());
        let authenticated = o.detail_bool("authenticated") == Some(true);
        let relay_denied = cause.as_ref().is_some_and(|c| c.0 == "relay-denied")
            || (cause.is_none() && o.detail_str("stage") == Some("rcpt"));
        if relay_denied && !authenticated {
            let offers_auth = b
                .get(CheckId::Auth)
                .and_then(|a| a.detail_bool("auth_offered"))
                .unwrap_or(false)
                || any_port_offers_auth(b);
            if !s.auth && offers_auth {
                b.add("auth-required", 0.95, evidence(o));
                b.add("ip-not-allowed", 0.6, evidence(o));
            } else {
                b.add("ip-not-allowed", 0.85, evidence(o));
                b.add("auth-required", 0.6, evidence(o));
            }
        } else if relay_denied {
            b.add("relay-denied", 0.8, evidence(o));
            b.add("sender-not-permitted", 0.4, evidence(o));
        } else if let Some((c, conf)) = cause {
            b.add(&c, conf, evidence(o));
        } else if o.status == Status::Fail {
            b.add("relay-denied", 0.5, evidence(o));
        }
    }
    let relay_ok = b
        .get(CheckId::Relay)
        .is_some_and(|o| o.status == Status::Pass && o.detail_bool("authenticated") == Some(true));
    if let Some(o) = b.get(CheckId::RelayAnonymous) {
        match o.detail_bool("open_relay_suspected") {
            Some(true) => b.note(
                o.id,
                "Without any login the server relays mail from this IP to an outside address. If this IP is not meant to be trusted (an office connector, a known device), the server is an open relay: spammers will abuse it. Restrict relaying to authenticated users and known IPs.",
            ),
            Some(false) if relay_ok => b.note(
                o.id,
                "Relaying needs a login, as it should: the server is not an open relay.",
            ),
            _ => {}
        }
    }
}

/// Checks that inform but cannot by themselves stop mail: when they cannot
/// be completed (an error), the verdict does not turn into a problem.
fn informational(id: CheckId) -> bool {
    matches!(
        id,
        CheckId::NetPublicIp
            | CheckId::NetPtr
            | CheckId::NetDnsbl
            | CheckId::SenderDmarc
            | CheckId::SenderSpf
            | CheckId::RecipientMx
            | CheckId::NetPorts
            | CheckId::RelayAnonymous
            | CheckId::IncomingLogin
    )
}

fn port_state(b: &Board<'_>, port: u16) -> Option<String> {
    let list = b.get(CheckId::NetPorts)?.details.get("ports")?.as_array()?;
    list.iter()
        .find(|r| r["port"].as_u64() == Some(u64::from(port)))
        .and_then(|r| r["state"].as_str().map(str::to_string))
}

/// The recipient's domain, the sender's reputation and reverse DNS.
fn domains(b: &mut Board<'_>, s: &Settings) {
    if let Some(o) = b.get(CheckId::RecipientMx) {
        match o.status {
            Status::Fail => b.add("recipient-domain-invalid", 0.85, evidence(o)),
            Status::Warn if o.detail_str("port25_problem").is_some() => {
                // The MX hosts exist but port 25 refused or ignored us. Only
                // evidence when this network reaches port 25 elsewhere (the
                // survey of your own server); many networks block it.
                if port_state(b, 25).as_deref() == Some("connected") {
                    let relayed = b
                        .get(CheckId::Relay)
                        .is_some_and(|r| r.status == Status::Pass);
                    b.add(
                        "recipient-domain-invalid",
                        if relayed { 0.45 } else { 0.6 },
                        evidence(o),
                    );
                } else {
                    b.note(
                        o.id,
                        "Port 25 of the recipient's mail servers did not answer from here, and port 25 of your own server did not either: this network probably blocks outgoing port 25 (common on home and cloud networks). That is not a fault of the recipient domain; send through port 587 with login.",
                    );
                }
            }
            _ => {}
        }
    }
    if let Some(o) = b.get(CheckId::NetPtr)
        && o.status == Status::Warn
    {
        // A missing PTR matters when this machine hands mail straight to
        // the recipient's own mail server (the server tested is one of the
        // recipient domain's MX hosts); through a relay or a provider it
        // does not.
        if talks_to_recipient_mx(b, s) {
            b.add("reverse-dns-missing", 0.6, evidence(o));
        } else {
            b.note(
                o.id,
                format!(
                    "{} It matters only if this machine sends to other mail servers directly.",
                    o.summary
                ),
            );
        }
    }
    if let Some(o) = b.get(CheckId::NetDnsbl)
        && o.status == Status::Warn
    {
        // Home and office ranges are listed on policy lists by design;
        // that matters only when this address hands mail on without a
        // login, not for authenticated submission through a provider.
        if s.auth {
            b.note(
                o.id,
                format!(
                    "{} This matters only when this address sends mail without logging in.",
                    o.summary
                ),
            );
        } else {
            b.add("ip-blocklisted", 0.6, evidence(o));
        }
    }
    if let Some(o) = b.get(CheckId::IncomingLogin) {
        incoming_vs_smtp(b, o);
    }
}

/// Whether the server tested is one of the recipient domain's MX hosts.
fn talks_to_recipient_mx(b: &Board<'_>, s: &Settings) -> bool {
    let server = s.server_name().to_ascii_lowercase();
    let server_ips = b
        .get(CheckId::DnsServer)
        .map(|o| o.detail_strs("addresses"))
        .unwrap_or_default();
    b.get(CheckId::RecipientMx)
        .and_then(|o| o.details.get("mx"))
        .and_then(Value::as_array)
        .is_some_and(|hosts| {
            hosts.iter().any(|h| {
                h["host"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&server))
                    || h["addresses"].as_array().is_some_and(|a| {
                        a.iter().any(|ip| {
                            ip.as_str()
                                .is_some_and(|ip| server_ips.iter().any(|x| x == ip))
                        })
                    })
            })
        })
}

/// The sender domain's SPF. With a login the provider's servers send the
/// mail on, so their include belongs in the record; without one, this
/// machine's address does.
fn sender_spf(b: &mut Board<'_>, provider: Option<&str>) {
    let Some(o) = b.get(CheckId::SenderSpf) else {
        return;
    };
    let result = o.detail_str("result").unwrap_or("");
    if matches!(result, "pass" | "temperror" | "") {
        return;
    }
    let own_ip_sends = o.detail_bool("own_ip_sends") == Some(true);
    let records = o.detail_strs("records");
    let include = provider.and_then(crate::probe::sender_spf::provider_include);
    let (record, warning, conf) = if own_ip_sends {
        let conf = if result == "fail" { 0.75 } else { 0.5 };
        (
            o.detail_str("fix_record").map(str::to_string),
            o.detail_str("fix_warning").map(str::to_string),
            conf,
        )
    } else if let Some(inc) = include.filter(|inc| {
        // The provider's servers are covered when the evaluation reached
        // its include anywhere (directly, nested, or through redirect=),
        // and a domain the provider itself hosts (gmail.com) is its own.
        let trace = o.detail_str("trace_text").unwrap_or("");
        let domain = o.detail_str("domain").unwrap_or("");
        let hosted = provider
            .and_then(|p| catalog().provider(p))
            .is_some_and(|p| p.hosts_domain(domain));
        !hosted && !trace.contains(inc) && !records.iter().any(|r| r.contains(inc))
    }) {
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        let m = crate::spf::merge_records(&refs, crate::spf::Addition::Include(inc.to_string()));
        (Some(m.record), m.warning, 0.6)
    } else if result == "permerror" {
        (
            o.detail_str("fix_record").map(str::to_string),
            o.detail_str("fix_warning").map(str::to_string),
            0.5,
        )
    } else {
        b.note(
            o.id,
            format!(
                "{} It does not stop mail sent with a login through your provider.",
                o.summary
            ),
        );
        return;
    };
    if let Some(r) = record {
        b.vars.insert("spf_record", r);
    }
    if let Some(w) = warning {
        b.note(o.id, format!("SPF: {w}"));
    }
    let mut ev = evidence(o);
    for r in &records {
        ev.lines
            .push(format!("TXT {}: {r}", o.detail_str("domain").unwrap_or("")));
    }
    if let Some(n) = o.details.get("lookups").and_then(Value::as_u64) {
        ev.lines.push(format!("DNS lookups: {n} of 10"));
    }
    b.add("spf-not-authorized", conf, ev);
}

/// Incoming login works while SMTP AUTH fails: SMTP login is switched off
/// for the account, or needs an app password. Both fail: the password.
fn incoming_vs_smtp(b: &mut Board<'_>, inc: &Outcome) {
    let Some(auth) = b.failed(CheckId::Auth) else {
        return;
    };
    match inc.status {
        Status::Pass => {
            b.add("auth-disabled", 0.85, evidence(inc));
            b.add("auth-disabled", 0.85, evidence(auth));
            b.add("app-password-required", 0.6, evidence(inc));
            if let Some(f) = b.found.iter_mut().find(|f| f.0 == "auth-failed") {
                f.1 = f.1.min(0.4);
            }
        }
        Status::Fail => b.add("auth-failed", 0.95, evidence(inc)),
        _ => {}
    }
}

/// A failed check that no rule explained still gets a cause from its reply.
fn unexplained_failures(b: &mut Board<'_>) {
    if !b.found.is_empty() {
        return;
    }
    let failed: Vec<&Outcome> = b
        .by_id
        .values()
        .copied()
        .filter(|o| o.status.is_problem())
        .collect();
    for o in failed {
        if let Some((cause, conf)) = classified(o.reply.as_ref()) {
            b.add(&cause, conf * 0.8, evidence(o));
        }
    }
}

fn detect_provider(b: &Board<'_>, s: &Settings) -> Option<(String, String)> {
    let banner = b
        .get(CheckId::SmtpGreeting)
        .and_then(|o| o.detail_str("banner"));
    let mut ehlo: Vec<String> = Vec::new();
    if let Some(o) = b.get(CheckId::SmtpEhlo) {
        if let Some(n) = o.detail_str("server_name") {
            ehlo.push(n.to_string());
        }
        if let Some(Value::Array(caps)) = o.details.get("capabilities") {
            ehlo.extend(caps.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    // The server identifies itself by name, banner and EHLO; the sender's
    // domain says nothing about it (a contact form may send as a Gmail
    // address through its own hosting's Postfix).
    let ev = ProviderEvidence {
        server: Some(s.server_name()),
        banner,
        ehlo_lines: &ehlo,
        sender_domain: None,
        mx_hosts: &[],
    };
    catalog()
        .detect_provider(&ev)
        .map(|p| (p.id.clone(), p.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_uses_known_values_and_drops_unknown_asides() {
        let mut vars = HashMap::new();
        vars.insert("server", "smtp.example.com".to_string());
        assert_eq!(
            fill("Use {server} on {suggested_port}.", &vars),
            "Use smtp.example.com on 587."
        );
        assert_eq!(
            fill("Allow your address ({ip}) now.", &vars),
            "Allow your address now."
        );
        assert_eq!(fill("Allow {ip}.", &vars), "Allow your public IP address.");
        vars.insert("ip", "192.0.2.7".to_string());
        assert_eq!(
            fill("Allow your address ({ip}) now.", &vars),
            "Allow your address (192.0.2.7) now."
        );
    }
}
