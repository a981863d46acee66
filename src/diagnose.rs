//! The diagnosis: a pure function from check outcomes to ranked causes, each
//! with the evidence that points to it and fixes for the detected provider.
//!
//! It reasons the way an experienced support engineer does: a failed check
//! is a symptom, and the cause is found by combining symptoms — "Relay access
//! denied" with authentication off, while the server offers AUTH, means the
//! client must log in, not that the server is broken. Server replies are
//! classified by [`crate::classify`] (codes first, then text), and the cause
//! texts and fixes come from the catalog in `assets/`.

use crate::catalog::{Fact, Fix, ProviderEvidence, catalog};
use crate::cause::CauseId;
use crate::classify;
use crate::probe::details::{self as view, PortRow};
use crate::probe::{CheckId, Dir, Outcome, Status};
use crate::reply::Reply;
use crate::settings::{Security, Settings};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

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
    pub id: CauseId,
    pub title: String,
    pub explanation: String,
    /// How strongly the evidence points here, 0 to 1.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
    /// What to do: the user's own steps first, then steps for whoever runs
    /// the server (they start with [`ADMIN_PREFIX`]).
    pub fixes: Vec<String>,
}

/// How a fix for the server's administrator begins.
pub const ADMIN_PREFIX: &str = "If you run the server: ";

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
    /// The first step of the mail path (DNS, connection, greeting, TLS,
    /// login, relay, send) that failed; none when the path passed.
    pub failed_step: Option<CheckId>,
    /// What stops this run's mail, most likely first.
    pub causes: Vec<Finding>,
    /// Findings that do not stop this run's mail: the path passed, or they
    /// sit off the path before the step where it broke.
    pub warnings: Vec<Finding>,
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

/// The mail path in the order a message travels it.
pub const MAIL_PATH: [CheckId; 8] = [
    CheckId::DnsServer,
    CheckId::NetPort,
    CheckId::SmtpGreeting,
    CheckId::SmtpEhlo,
    CheckId::Tls,
    CheckId::Auth,
    CheckId::Relay,
    CheckId::Send,
];

/// A cause while the rules run.
struct Found {
    id: CauseId,
    confidence: f32,
    evidence: Vec<Evidence>,
}

/// A cause with its tier (see [`tier`]).
type Ranked = (u8, Found);

/// Collects findings while the rules run.
struct Board<'a> {
    by_id: BTreeMap<CheckId, &'a Outcome>,
    found: Vec<Found>,
    notes: Vec<Note>,
    vars: BTreeMap<&'static str, String>,
}

impl<'a> Board<'a> {
    fn get(&self, id: CheckId) -> Option<&'a Outcome> {
        self.by_id.get(&id).copied()
    }

    fn failed(&self, id: CheckId) -> Option<&'a Outcome> {
        self.get(id).filter(|o| o.status.is_problem())
    }

    fn passed(&self, id: CheckId) -> bool {
        self.get(id).is_some_and(|o| o.status == Status::Pass)
    }

    fn add(&mut self, cause: CauseId, confidence: f32, ev: Evidence) {
        if let Some(f) = self.found.iter_mut().find(|f| f.id == cause) {
            f.confidence = f.confidence.max(confidence);
            if !f.evidence.contains(&ev) {
                f.evidence.push(ev);
            }
        } else {
            self.found.push(Found {
                id: cause,
                confidence,
                evidence: vec![ev],
            });
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

/// The best cause for a server reply, by the classifier. Classifier
/// patterns name causes by their wire id; one this build does not know is
/// no cause.
fn classified(reply: Option<&Reply>) -> Option<(CauseId, f32)> {
    let r = reply?;
    classify::classify(r)
        .into_iter()
        .find_map(|m| CauseId::parse(&m.cause).map(|c| (c, m.confidence)))
}

/// Diagnoses a run. Pure and deterministic: the same outcomes and settings
/// give the same diagnosis, byte for byte.
pub fn diagnose(outcomes: &[Outcome], settings: &Settings) -> Diagnosis {
    let mut b = Board {
        by_id: outcomes.iter().map(|o| (o.id, o)).collect(),
        found: Vec::new(),
        notes: Vec::new(),
        vars: BTreeMap::new(),
    };
    fill_vars(&mut b, settings);
    reaching(&mut b);
    encryption(&mut b, settings);
    authentication(&mut b, settings);
    relaying(&mut b, settings);
    domains(&mut b, settings);
    discovery(&mut b, settings);

    let provider = detect_provider(&b, settings);
    sender_spf(&mut b, provider.as_ref().map(|p| p.0.as_str()));
    let failed_step = MAIL_PATH
        .into_iter()
        .find(|id| b.failed(*id).is_some() || withheld(&b, *id, settings));
    if let Some(step) = failed_step {
        unexplained_failure(&mut b, step);
    }
    // A cause that a passed check disproves is never shown.
    let found: Vec<Found> = std::mem::take(&mut b.found)
        .into_iter()
        .filter(|f| !f.id.contradicted_by().iter().any(|c| b.passed(*c)))
        .collect();
    let facts = facts(&b, settings);
    let pid = provider.as_ref().map(|p| p.0.as_str());
    let build = |f: Found| {
        let mut finding = finding(f.id, f.confidence, f.evidence, pid, &b.vars, Some(&facts));
        finding.evidence.sort_by_key(|e| path_rank(e.check));
        finding
    };
    let (mut causes, mut warnings): (Vec<Ranked>, Vec<Ranked>) = found
        .into_iter()
        .map(|f| (tier(&f, failed_step), f))
        .partition(|(t, _)| *t < 2);
    let order = |a: &Ranked, z: &Ranked| {
        a.0.cmp(&z.0)
            .then(z.1.confidence.total_cmp(&a.1.confidence))
            .then(a.1.id.cmp(&z.1.id))
    };
    causes.sort_by(order);
    warnings.sort_by(order);
    let causes = causes.into_iter().map(|(_, f)| build(f)).collect();
    let warnings = warnings.into_iter().map(|(_, f)| build(f)).collect();
    let (provider, provider_name) = provider.unzip();
    Diagnosis {
        verdict: if failed_step.is_some() {
            Verdict::Problem
        } else {
            Verdict::Ok
        },
        provider,
        provider_name,
        failed_step,
        causes,
        warnings,
        notes: b.notes,
    }
}

/// A step the settings ask for that was not taken, so the path stops there:
/// the login, when smtp-doctor kept the password back.
fn withheld(b: &Board<'_>, id: CheckId, s: &Settings) -> bool {
    id == CheckId::Auth
        && s.auth
        && b.get(id).is_some_and(|o| {
            o.status == Status::Skip && {
                let a: view::Auth = o.view();
                a.withheld_unencrypted == Some(true) || a.withheld_for_certificate.is_some()
            }
        })
}

/// Where a check sits on the mail path; checks off it come after.
fn path_rank(id: CheckId) -> usize {
    MAIL_PATH
        .iter()
        .position(|p| *p == id)
        .unwrap_or(MAIL_PATH.len())
}

/// 0: the cause explains the step where the path broke (its evidence comes
/// from that step, or it names that step and its evidence comes from a
/// check off the path, like a recipient domain with no mail server when
/// RCPT failed); 1: evidence from the path but another step; 2: nothing
/// this run's mail stopped at — a warning.
fn tier(f: &Found, failed_step: Option<CheckId>) -> u8 {
    let Some(step) = failed_step else {
        return 2;
    };
    let on_path = |c: CheckId| MAIL_PATH.contains(&c);
    if f.evidence.iter().any(|e| e.check == step)
        || (f.id.step() == step && f.evidence.iter().any(|e| !on_path(e.check)))
    {
        0
    } else if f
        .evidence
        .iter()
        .any(|e| on_path(e.check) && path_rank(e.check) <= path_rank(step))
    {
        1
    } else {
        2
    }
}

/// What the run knows that decides which fix steps apply.
fn facts(b: &Board<'_>, s: &Settings) -> HashSet<Fact> {
    let mut f = HashSet::new();
    f.insert(if s.auth { Fact::AuthOn } else { Fact::AuthOff });
    f.insert(if s.security == Security::None {
        Fact::Unencrypted
    } else {
        Fact::Encrypted
    });
    if s.port == 25 {
        f.insert(Fact::Port25);
    }
    if b.passed(CheckId::Auth) {
        f.insert(Fact::AuthPassed);
    }
    if b.vars.contains_key("suggested_port") {
        f.insert(Fact::OtherPortWorks);
    }
    if b.vars.contains_key("working_settings") {
        f.insert(Fact::WorkingSettingsFound);
    }
    f
}

/// Placeholders whose value only a run can know; a fix that needs one the
/// run did not find is left out rather than filled with a guess.
const RUN_ONLY: [&str; 6] = [
    "suggested_port",
    "suggested_security",
    "cert_names",
    "mx_addresses",
    "working_settings",
    "working_source",
];

/// Builds a finding from the catalog entry of `id`. With `facts` (a run)
/// only the fix steps that apply are kept and every placeholder must be
/// known; without (`explain`, no run), neutral words fill the gaps.
pub fn finding(
    id: CauseId,
    confidence: f32,
    evidence: Vec<Evidence>,
    provider: Option<&str>,
    vars: &BTreeMap<&'static str, String>,
    facts: Option<&HashSet<Fact>>,
) -> Finding {
    let entry = catalog().cause(id.as_str());
    let mut user = Vec::new();
    let mut admin = Vec::new();
    for fix in entry.map(|c| fix_steps(c, provider)).unwrap_or_default() {
        match facts {
            Some(facts) => {
                let missing = RUN_ONLY
                    .iter()
                    .any(|k| fix.text.contains(&format!("{{{k}}}")) && !vars.contains_key(k));
                if missing || !fix.applies(facts) {
                    continue;
                }
            }
            None if fix.when.iter().any(|f| f.needs_run()) => continue,
            None => {}
        }
        let text = fill(&fix.text, vars);
        let (list, text) = if fix.admin {
            (&mut admin, format!("{ADMIN_PREFIX}{text}"))
        } else {
            (&mut user, text)
        };
        if !list.contains(&text) {
            list.push(text);
        }
    }
    user.extend(admin);
    Finding {
        id,
        title: entry
            .map(|c| c.title.clone())
            .unwrap_or_else(|| id.to_string()),
        explanation: entry
            .map(|c| fill(&c.explanation, vars))
            .unwrap_or_default(),
        confidence: (f64::from(confidence) * 100.0).round() / 100.0,
        evidence,
        fixes: user,
    }
}

/// The fix steps for a provider: a provider's own list replaces the generic
/// one; server software (Postfix, Exim, Exchange) adds its administrator
/// hints after the generic steps.
fn fix_steps<'c>(c: &'c crate::catalog::Cause, provider: Option<&str>) -> Vec<&'c Fix> {
    let software = provider
        .and_then(|p| catalog().provider(p))
        .is_some_and(|p| p.software);
    if software {
        let generic = c.fixes_for(None).iter();
        let extra = provider
            .and_then(|p| c.fixes.get(p))
            .map(|l| l.iter().filter(|f| f.admin).collect::<Vec<_>>())
            .unwrap_or_default();
        generic.chain(extra).collect()
    } else {
        c.fixes_for(provider).iter().collect()
    }
}

/// Words for a placeholder the run does not know (as in `explain`, where
/// there is no run at all).
const NEUTRAL: [(&str, &str); 12] = [
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
    ("cert_names", "the names shown in the certificate"),
    ("mx_addresses", "private addresses"),
];

/// Replaces `{name}` placeholders with what the run knows, and the rest
/// with neutral words.
pub fn fill(text: &str, vars: &BTreeMap<&'static str, String>) -> String {
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
                .and_then(|o| o.view::<view::PublicIp>().ip)
        })
        .or_else(|| {
            b.by_id
                .get(&CheckId::SmtpEhlo)
                .and_then(|o| o.view::<view::Ehlo>().client_address)
        });
    if let Some(ip) = ip {
        v.insert("ip", ip);
    }
    if let Some((port, sec)) = suggested_port(b.by_id.get(&CheckId::NetPorts).copied(), s.port)
        .filter(|sug| *sug != (s.port, s.security))
    {
        let v = &mut b.vars;
        v.insert("suggested_port", port.to_string());
        v.insert("suggested_security", sec.label().to_string());
    }
    if let Some(cert) = b
        .get(CheckId::Tls)
        .and_then(|o| o.view::<view::Tls>().certificate)
        .filter(|c| !c.names.is_empty())
    {
        let list: Vec<&str> = cert.names.iter().map(String::as_str).take(5).collect();
        b.vars.insert("cert_names", list.join(", "));
    }
    b.vars.insert(
        "spf_record",
        "(see the sender domain's SPF check)".to_string(),
    );
}

/// The best alternative port from the survey: submission with STARTTLS and
/// AUTH first, then implicit TLS, then 2525, then 25.
pub fn suggested_port(ports: Option<&Outcome>, current: u16) -> Option<(u16, Security)> {
    let list = ports?.view::<view::NetPorts>().ports?;
    let get = |p: u16| list.iter().find(|r| r.port == p);
    let speaks = |r: &PortRow, what: &str| r.speaks.as_deref() == Some(what);
    let has_auth = |r: &PortRow| !r.auth.is_empty();
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
                    && (*sec != Security::Starttls || r.starttls == Some(true))
                    && (has_auth(r) || *what == "smtp-tls" || *p == 587)
            })
        })
        .map(|(p, _, s)| (*p, *s))
}

fn any_port_offers_auth(b: &Board<'_>) -> bool {
    b.get(CheckId::NetPorts)
        .and_then(|o| o.view::<view::NetPorts>().ports)
        .is_some_and(|l| l.iter().any(|r| !r.auth.is_empty()))
}

fn reaching(b: &mut Board<'_>) {
    if let Some(o) = b.failed(CheckId::DnsServer) {
        let conf = match o.view::<view::DnsServer>().failure.as_deref() {
            Some("nxdomain" | "no-records") => 0.95,
            _ => 0.6,
        };
        b.add(CauseId::DnsServerNotFound, conf, evidence(o));
    }
    if let Some(o) = b.failed(CheckId::NetPort) {
        let others_answer = suggested_port(
            b.get(CheckId::NetPorts),
            o.view::<view::NetPort>().port.unwrap_or(0),
        )
        .is_some();
        let failure = o.view::<view::NetPort>().failure;
        match failure.as_deref() {
            Some("refused") => b.add(CauseId::WrongPort, 0.9, evidence(o)),
            Some("timed-out") if others_answer => b.add(CauseId::PortBlocked, 0.95, evidence(o)),
            Some("timed-out") => {
                b.add(CauseId::PortBlocked, 0.7, evidence(o));
                b.add(CauseId::ServerUnreachable, 0.5, evidence(o));
            }
            Some("unreachable") => b.add(CauseId::ServerUnreachable, 0.9, evidence(o)),
            _ => b.add(CauseId::ServerUnreachable, 0.6, evidence(o)),
        }
        if let Some(p) = b.get(CheckId::NetPorts)
            && others_answer
        {
            b.add(
                if failure.as_deref() == Some("refused") {
                    CauseId::WrongPort
                } else {
                    CauseId::PortBlocked
                },
                0.0,
                evidence(p),
            );
        }
    }
    if let Some(o) = b.failed(CheckId::SmtpGreeting) {
        let g: view::Greeting = o.view();
        if g.mode_mismatch.is_some() || g.limits.overall_timeout == Some(true) {
            // A mismatch is told with encryption; a server too slow to
            // finish in time is said as such by the check, with no cause
            // that would be a guess.
            return;
        }
        if let Some(svc) = g.not_smtp {
            if svc.contains("TLS") {
                b.add(CauseId::WrongSecurity, 0.9, evidence(o));
            } else {
                b.add(CauseId::NotSmtp, 0.9, evidence(o));
            }
        } else if g.refused == Some(true) {
            let (cause, conf) =
                classified(o.reply.as_ref()).unwrap_or((CauseId::IpBlocklisted, 0.5));
            b.add(cause, conf, evidence(o));
        } else if g.silent == Some(true) {
            b.add(CauseId::PortBlocked, 0.6, evidence(o));
            b.add(CauseId::NotSmtp, 0.4, evidence(o));
        } else {
            b.add(CauseId::NotSmtp, 0.6, evidence(o));
        }
    }
}

/// The encryption mismatch a greeting or TLS check found, if any.
fn mode_mismatch(o: &Outcome) -> Option<String> {
    match o.id {
        CheckId::SmtpGreeting => o.view::<view::Greeting>().mode_mismatch,
        CheckId::Tls => o.view::<view::Tls>().mode_mismatch,
        _ => None,
    }
}

fn encryption(b: &mut Board<'_>, s: &Settings) {
    for id in [CheckId::SmtpGreeting, CheckId::Tls] {
        if let Some(o) = b.failed(id)
            && let Some(m) = mode_mismatch(o)
        {
            let (sec, port) = match m.as_str() {
                "port-expects-tls" => (Security::Tls, s.port),
                _ => (Security::Starttls, s.port),
            };
            b.vars.insert("suggested_security", sec.label().to_string());
            b.vars.insert("suggested_port", port.to_string());
            b.add(CauseId::WrongSecurity, 0.95, evidence(o));
        }
    }
    if let Some(o) = b.failed(CheckId::Tls) {
        let t: view::Tls = o.view();
        if t.certificate_problem.is_some() {
            b.add(CauseId::TlsCertificate, 0.9, evidence(o));
        } else if t.starttls_offered == Some(false) {
            b.add(CauseId::WrongSecurity, 0.7, evidence(o));
        } else if t.handshake_failure.is_some() {
            let mut ev = evidence(o);
            if let Some(err) = &t.error {
                ev.lines.push(format!("TLS: {err}"));
            }
            b.add(CauseId::TlsHandshakeFailed, 0.85, ev);
        } else if t.mode_mismatch.is_none() {
            b.add(CauseId::WrongSecurity, 0.4, evidence(o));
        }
    }
    if let Some(o) = b.get(CheckId::Tls) {
        let t: view::Tls = o.view();
        if o.status == Status::Warn && t.starttls_offered == Some(true) {
            b.note(o.id, "The server offers STARTTLS: turn encryption on so the password and mail are protected.");
        }
        if let Some(days) = t.certificate.and_then(|c| c.days_left)
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
    if let Some(o) = b.get(CheckId::Auth)
        && o.status == Status::Skip
        && s.auth
    {
        withheld_login(b, o, s);
        return;
    }
    let Some(o) = b.failed(CheckId::Auth) else {
        return;
    };
    let a: view::Auth = o.view();
    if a.auth_offered == Some(false) {
        let conf = if s.security == Security::None {
            0.7
        } else {
            0.85
        };
        b.add(CauseId::AuthNotOffered, conf, evidence(o));
        return;
    }
    if a.unsupported_mechanisms == Some(true) {
        b.add(CauseId::AuthMechanismUnsupported, 0.9, evidence(o));
        return;
    }
    match classified(o.reply.as_ref()) {
        Some((cause, conf)) => b.add(cause, conf.max(0.6), evidence(o)),
        None => b.add(CauseId::AuthFailed, 0.7, evidence(o)),
    }
}

/// The settings ask for a login, but smtp-doctor kept the password back:
/// the connection is not encrypted (and no consent was given for this run)
/// or the certificate is not trusted. What a mail client with these
/// settings meets depends on what the server offers without encryption.
fn withheld_login(b: &mut Board<'_>, auth: &Outcome, s: &Settings) {
    let a: view::Auth = auth.view();
    if a.withheld_for_certificate.is_some() {
        return; // the certificate finding explains it
    }
    if s.security != Security::None {
        return;
    }
    let ehlo = b.get(CheckId::SmtpEhlo);
    let caps: view::Ehlo = ehlo.map(|o| o.view()).unwrap_or_default();
    let starttls = caps.starttls == Some(true);
    let clear_auth = a.offered_mechanisms.is_some_and(|m| !m.is_empty());
    let mut ev = evidence(auth);
    if ehlo.is_some() {
        ev.lines.push(format!(
            "EHLO: {}",
            caps.capabilities.clone().unwrap_or_default().join(", ")
        ));
    }
    if starttls {
        // A client set to "no encryption" is asked to use STARTTLS on this
        // very port: the setting to change is the encryption.
        b.vars.insert("suggested_port", s.port.to_string());
        b.vars
            .insert("suggested_security", Security::Starttls.label().to_string());
        if let Some(anon) = b.get(CheckId::RelayAnonymous)
            && anon.reply.is_some()
        {
            ev.lines.extend(evidence(anon).lines);
        }
        if clear_auth {
            b.add(CauseId::WrongSecurity, 0.85, ev);
        } else {
            // No login without encryption: for this client the server
            // requires TLS.
            b.add(CauseId::TlsRequired, 0.9, ev);
        }
    } else if !clear_auth {
        b.add(CauseId::AuthNotOffered, 0.8, ev);
    } else {
        b.note(
            auth.id,
            "The server offers a login without encryption; smtp-doctor did not send your password in clear. Rerun with --allow-plaintext-auth to test it, only on a network you trust.",
        );
    }
}

fn relaying(b: &mut Board<'_>, s: &Settings) {
    if let Some(o) = b.failed(CheckId::Relay) {
        relay_refused(b, o, s);
    }
    let relay_ok = b.get(CheckId::Relay).is_some_and(|o| {
        o.status == Status::Pass && o.view::<view::Relay>().authenticated == Some(true)
    });
    if let Some(o) = b.get(CheckId::RelayAnonymous) {
        match o.view::<view::Relay>().open_relay_suspected {
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

/// MAIL or RCPT was refused. The reply's wording differs from server to
/// server; what the run knows decides between the causes it can mean: a
/// refusal without a login where logins are offered means "log in"; after
/// a login that passed it can't mean that, and a sender other than the
/// login is then the likely reason.
fn relay_refused(b: &mut Board<'_>, o: &Outcome, s: &Settings) {
    let cause = classified(o.reply.as_ref());
    let relay: view::Relay = o.view();
    let authenticated = relay.authenticated == Some(true);
    let stage_mail = relay.stage.as_deref() == Some("mail");
    let refusal = matches!(
        cause.map(|c| c.0),
        Some(CauseId::RelayDenied | CauseId::AuthRequired | CauseId::IpNotAllowed)
    ) || (cause.is_none() && relay.stage.as_deref() == Some("rcpt"));
    let sender = s.effective_sender();
    let sender_is_login = sender.eq_ignore_ascii_case(s.effective_login().trim());
    if authenticated {
        match cause {
            Some((CauseId::SenderNotPermitted, conf)) => {
                b.add(CauseId::SenderNotPermitted, conf.max(0.8), evidence(o));
            }
            _ if (refusal || stage_mail) && !sender_is_login => {
                b.add(CauseId::SenderNotPermitted, 0.8, evidence(o));
                b.add(CauseId::RelayDenied, 0.5, evidence(o));
            }
            _ if refusal => b.add(CauseId::RelayDenied, 0.8, evidence(o)),
            Some((c, conf)) => b.add(c, conf, evidence(o)),
            None => b.add(CauseId::RelayDenied, 0.5, evidence(o)),
        }
        return;
    }
    if let Some((CauseId::TlsRequired, conf)) = cause {
        b.add(CauseId::TlsRequired, conf.max(0.9), evidence(o));
        return;
    }
    if refusal {
        let offers_auth = b
            .get(CheckId::Auth)
            .and_then(|a| a.view::<view::Auth>().auth_offered)
            .unwrap_or(false)
            || any_port_offers_auth(b);
        if !s.auth && offers_auth {
            b.add(CauseId::AuthRequired, 0.95, evidence(o));
            b.add(CauseId::IpNotAllowed, 0.6, evidence(o));
        } else if s.auth {
            // The login was not made (withheld or failed before): the
            // refusal follows from that, and the login's own finding says
            // why; relaying by address is the way without one.
            b.add(CauseId::AuthRequired, 0.6, evidence(o));
        } else {
            b.add(CauseId::IpNotAllowed, 0.85, evidence(o));
            b.add(CauseId::AuthRequired, 0.6, evidence(o));
        }
    } else if let Some((c, conf)) = cause {
        b.add(c, conf, evidence(o));
    } else if o.status == Status::Fail {
        b.add(CauseId::RelayDenied, 0.5, evidence(o));
    }
}

fn port_state(b: &Board<'_>, port: u16) -> Option<String> {
    let list = b.get(CheckId::NetPorts)?.view::<view::NetPorts>().ports?;
    list.into_iter().find(|r| r.port == port).map(|r| r.state)
}

/// The recipient's domain, the sender's reputation and reverse DNS.
fn domains(b: &mut Board<'_>, s: &Settings) {
    if let Some(o) = b.get(CheckId::RecipientMx) {
        match o.status {
            Status::Fail => recipient_unreachable(b, o, s),
            Status::Warn
                if o.view::<view::RecipientMx>()
                    .port25_problem
                    .flatten()
                    .is_some() =>
            {
                // The MX hosts exist but port 25 refused or ignored us. Only
                // evidence when this network reaches port 25 elsewhere (the
                // survey of your own server); many networks block it.
                if port_state(b, 25).as_deref() == Some("connected") {
                    let relayed = b
                        .get(CheckId::Relay)
                        .is_some_and(|r| r.status == Status::Pass);
                    b.add(
                        CauseId::RecipientDomainInvalid,
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
            b.add(CauseId::ReverseDnsMissing, 0.6, evidence(o));
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
            b.add(CauseId::IpBlocklisted, 0.6, evidence(o));
        }
    }
    if let Some(o) = b.get(CheckId::IncomingLogin) {
        incoming_vs_smtp(b, o);
    }
}

/// The recipient's domain has no usable mail server. When it names MX hosts
/// that resolve, the domain exists: they sit at private addresses. From
/// inside a private network (the server tested is on one too) that is how
/// internal domains look, not a fault.
fn recipient_unreachable(b: &mut Board<'_>, o: &Outcome, s: &Settings) {
    let mx: view::RecipientMx = o.view();
    let private: Vec<String> = mx
        .mx
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h.resolves)
        .flat_map(|h| h.addresses)
        .collect();
    if private.is_empty() {
        b.add(CauseId::RecipientDomainInvalid, 0.85, evidence(o));
        return;
    }
    let domain = mx
        .domain
        .unwrap_or_else(|| "The recipient's domain".to_string());
    let shown: Vec<&str> = private.iter().map(String::as_str).take(4).collect();
    if s.internal_network || private_world(b, s) {
        b.note(
            o.id,
            format!(
                "{domain}'s mail server is at {}, a private address; the server you send through is on a private network too, so that is expected.",
                shown.join(", ")
            ),
        );
        return;
    }
    b.vars.insert("mx_addresses", shown.join(", "));
    b.add(CauseId::RecipientMxPrivate, 0.8, evidence(o));
}

/// Whether the server tested is on a private network address (RFC 1918,
/// unique local, shared address space): the user is inside a private
/// network, where private MX hosts are normal. Loopback does not count: a
/// relay on this very machine usually hands mail on to the Internet.
fn private_world(b: &Board<'_>, s: &Settings) -> bool {
    let mut addrs: Vec<IpAddr> = server_addresses(b)
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    if let Ok(ip) = s.server_name().trim_matches(['[', ']']).parse::<IpAddr>() {
        addrs.push(ip);
    }
    !addrs.is_empty()
        && addrs
            .iter()
            .all(|ip| !ip.is_loopback() && crate::probe::lookup::is_reserved(*ip))
}

/// The addresses the server's name resolved to.
fn server_addresses(b: &Board<'_>) -> Vec<String> {
    b.get(CheckId::DnsServer)
        .and_then(|o| o.view::<view::DnsServer>().addresses)
        .unwrap_or_default()
}

/// Whether the server tested is one of the recipient domain's MX hosts.
fn talks_to_recipient_mx(b: &Board<'_>, s: &Settings) -> bool {
    let server = s.server_name();
    let server_ips = server_addresses(b);
    b.get(CheckId::RecipientMx)
        .and_then(|o| o.view::<view::RecipientMx>().mx)
        .is_some_and(|hosts| {
            hosts.iter().any(|h| {
                h.host.eq_ignore_ascii_case(server)
                    || h.addresses.iter().any(|ip| server_ips.contains(ip))
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
    let spf: view::Spf = o.view();
    let result = spf.result.as_deref().unwrap_or("");
    if matches!(result, "pass" | "temperror" | "") {
        return;
    }
    let own_ip_sends = spf.own_ip_sends == Some(true);
    let records = spf.records.clone().unwrap_or_default();
    let domain = spf.domain.clone().unwrap_or_default();
    let include = provider.and_then(crate::probe::sender_spf::provider_include);
    let (record, warning, conf) = if own_ip_sends {
        let conf = if result == "fail" { 0.75 } else { 0.5 };
        (
            spf.fix_record.clone(),
            spf.fix_warning.clone().flatten(),
            conf,
        )
    } else if let Some(inc) = include.filter(|inc| {
        // The provider's servers are covered when the evaluation reached
        // its include anywhere (directly, nested, or through redirect=),
        // and a domain the provider itself hosts (gmail.com) is its own.
        let trace = spf.trace_text.as_deref().unwrap_or("");
        let hosted = provider
            .and_then(|p| catalog().provider(p))
            .is_some_and(|p| p.hosts_domain(&domain));
        !hosted && !trace.contains(inc) && !records.iter().any(|r| r.contains(inc))
    }) {
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        let m = crate::spf::merge_records(&refs, crate::spf::Addition::Include(inc.to_string()));
        (Some(m.record), m.warning, 0.6)
    } else if result == "permerror" {
        (
            spf.fix_record.clone(),
            spf.fix_warning.clone().flatten(),
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
        ev.lines.push(format!("TXT {domain}: {r}"));
    }
    if let Some(n) = spf.lookups {
        ev.lines.push(format!("DNS lookups: {n} of 10"));
    }
    b.add(CauseId::SpfNotAuthorized, conf, ev);
}

/// What discovery found: settings that work (the fixes name them), and a
/// provider that accepts only OAuth2, where no password can work.
fn discovery(b: &mut Board<'_>, s: &Settings) {
    let Some(o) = b.get(CheckId::Discover) else {
        return;
    };
    let d: view::Discover = o.view();
    if d.oauth_only == Some(true) && s.auth && !b.passed(CheckId::Auth) {
        let mut ev = evidence(o);
        if let Some(p) = &d.oauth_provider {
            ev.lines.push(format!(
                "{p} accepts only OAuth2 for sending, not a password"
            ));
        }
        ev.lines.extend(d.oauth_docs.clone().unwrap_or_default());
        b.add(CauseId::OauthRequired, 0.95, ev);
        if let Some(auth) = b.failed(CheckId::Auth) {
            b.add(CauseId::OauthRequired, 0.95, evidence(auth));
        }
    }
    if d.matches_settings == Some(true) {
        return;
    }
    let best = d.candidates.unwrap_or_default().into_iter().find(|c| {
        c.works
            && !(c.host.eq_ignore_ascii_case(s.server_name())
                && c.port == s.port
                && Security::parse(&c.security) == Some(s.security))
    });
    if let Some(c) = best {
        let security =
            Security::parse(&c.security).map_or(c.security.clone(), |x| x.label().to_string());
        let mut text = format!("server {}, port {}, {security}", c.host, c.port);
        if let Some(user) = c.username.as_ref().filter(|u| !u.is_empty()) {
            text.push_str(&format!(", username {user}"));
        }
        b.vars.insert("working_settings", text);
        let source = c.source_kinds();
        b.vars.insert(
            "working_source",
            if source.is_empty() {
                "discovery".to_string()
            } else {
                source
            },
        );
    }
}

/// Incoming login works while SMTP AUTH fails: SMTP login is switched off
/// for the account, or needs an app password. Both fail: the password.
fn incoming_vs_smtp(b: &mut Board<'_>, inc: &Outcome) {
    let Some(auth) = b.failed(CheckId::Auth) else {
        return;
    };
    match inc.status {
        Status::Pass => {
            b.add(CauseId::AuthDisabled, 0.85, evidence(auth));
            b.add(CauseId::AuthDisabled, 0.85, evidence(inc));
            b.add(CauseId::AppPasswordRequired, 0.6, evidence(inc));
            if let Some(f) = b.found.iter_mut().find(|f| f.id == CauseId::AuthFailed) {
                f.confidence = f.confidence.min(0.4);
            }
        }
        Status::Fail => b.add(CauseId::AuthFailed, 0.95, evidence(inc)),
        _ => {}
    }
}

/// The step where the path broke still gets a cause from its reply when no
/// rule explained it; a reply the classifier does not know gives none.
fn unexplained_failure(b: &mut Board<'_>, step: CheckId) {
    if b.found
        .iter()
        .any(|f| f.evidence.iter().any(|e| e.check == step))
    {
        return;
    }
    if let Some(o) = b.failed(step)
        && let Some((cause, conf)) = classified(o.reply.as_ref())
    {
        b.add(cause, conf * 0.8, evidence(o));
    }
}

fn detect_provider(b: &Board<'_>, s: &Settings) -> Option<(String, String)> {
    let banner = b
        .get(CheckId::SmtpGreeting)
        .and_then(|o| o.view::<view::Greeting>().banner);
    let mut ehlo: Vec<String> = Vec::new();
    if let Some(o) = b.get(CheckId::SmtpEhlo) {
        let e: view::Ehlo = o.view();
        ehlo.extend(e.server_name);
        ehlo.extend(e.capabilities.unwrap_or_default());
    }
    // The server identifies itself by name, banner and EHLO; the sender's
    // domain says nothing about it (a contact form may send as a Gmail
    // address through its own hosting's Postfix).
    let ev = ProviderEvidence {
        server: Some(s.server_name()),
        banner: banner.as_deref(),
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
        let mut vars = BTreeMap::new();
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
