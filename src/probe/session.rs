//! The main SMTP session (`net.port`, `smtp.greeting`, `smtp.ehlo`, `tls`,
//! `auth`, `relay`) and the anonymous relay test (`relay.anonymous`).
//!
//! One connection carries the main checks in the order a mail client uses
//! them; each check's transcript is the part of the conversation it covers.

use super::model::{CheckId, Outcome, Status};
use super::smtp::{self, Session, SmtpError, Tape, recognize_service};
use super::tls::{TlsInfo, TlsSetup};
use super::{Ctx, SessionFacts};
use crate::reply::Reply;
use crate::settings::Security;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a silent peer may stay silent before we check, on a second
/// connection, whether it is waiting for a TLS handshake.
const SILENT_TLS_PROBE: Duration = Duration::from_millis(1500);

/// What EHLO told us.
#[derive(Debug, Default, Clone)]
pub(super) struct Caps {
    pub keywords: Vec<String>,
    pub auth: Vec<String>,
    pub starttls: bool,
    pub pipelining: bool,
    pub size: Option<u64>,
    pub client_address: Option<String>,
}

impl Caps {
    pub fn from_reply(reply: &Reply) -> Caps {
        let mut caps = Caps::default();
        if let Some(first) = reply.lines.first() {
            caps.client_address = echoed_address(first);
        }
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(kw) = words.next() else { continue };
            let kw_up = kw.to_ascii_uppercase();
            match kw_up.as_str() {
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = words.next().and_then(|w| w.parse().ok()),
                "AUTH" => {
                    for m in words {
                        let m = m.to_ascii_uppercase();
                        if !caps.auth.contains(&m) {
                            caps.auth.push(m);
                        }
                    }
                }
                _ => {
                    // Old servers announce AUTH=LOGIN PLAIN.
                    if let Some(rest) = kw_up.strip_prefix("AUTH=") {
                        for m in std::iter::once(rest.to_string())
                            .chain(words.map(|w| w.to_ascii_uppercase()))
                        {
                            if !m.is_empty() && !caps.auth.contains(&m) {
                                caps.auth.push(m);
                            }
                        }
                    }
                }
            }
            caps.keywords.push(line.trim().to_string());
        }
        caps
    }

    fn record(&self, o: &mut Outcome, prefix: &str) {
        o.set(&format!("{prefix}capabilities"), &self.keywords);
        o.set(&format!("{prefix}auth_mechanisms"), &self.auth);
        o.set(&format!("{prefix}starttls"), self.starttls);
        o.set(&format!("{prefix}pipelining"), self.pipelining);
        if let Some(s) = self.size {
            o.set(&format!("{prefix}size_limit"), s);
        }
    }
}

/// The client address a server echoes in its EHLO reply, as Exim
/// ("Hello name [192.0.2.1]"), Exchange ("Hello [192.0.2.1]") and Gmail
/// ("at your service, [192.0.2.1]") do.
pub(super) fn echoed_address(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']')?;
        let inner = &after[..close];
        let inner = inner.strip_prefix("IPv6:").unwrap_or(inner);
        if inner.parse::<IpAddr>().is_ok() {
            return Some(inner.to_string());
        }
        rest = &after[close..];
    }
    None
}

/// The EHLO name: the user's, or our address literal (RFC 5321 §4.1.3).
pub(super) fn helo_name(ctx: &Ctx, local: SocketAddr) -> String {
    let h = ctx.settings.helo.trim();
    if !h.is_empty() {
        return h.to_string();
    }
    match local.ip() {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

pub(super) enum Greeting {
    Reply(Reply),
    /// Silent on the plain connection, but a TLS handshake succeeds.
    ExpectsTls,
    Failed(SmtpError),
}

/// Waits for the greeting. If the peer stays silent, a second connection
/// checks whether it waits for a TLS handshake, and the wait ends early
/// when it does.
pub(super) async fn await_greeting(
    sess: &mut Session,
    setup: Option<&TlsSetup>,
    host: &str,
) -> Greeting {
    let addr = sess.peer;
    let timeout = sess.timeout();
    let heard = sess.sniff_record();
    // Only a peer that has said nothing at all is probed, and never port
    // 25: a client that talks before the greeting there is what greeting
    // delays (Postfix postscreen, sendmail greet_pause) are set to catch.
    let probe = async {
        tokio::time::sleep(SILENT_TLS_PROBE.min(timeout / 2)).await;
        let silent = heard.lock().map(|b| b.is_empty()).unwrap_or(false);
        match setup {
            Some(s) if silent && addr.port() != 25 => speaks_tls(addr, s, host, timeout).await,
            _ => false,
        }
    };
    tokio::pin!(probe);
    let read = sess.read_reply();
    tokio::pin!(read);
    tokio::select! {
        r = &mut read => match r {
            Ok(reply) => Greeting::Reply(reply),
            Err(e) => Greeting::Failed(e),
        },
        true = &mut probe => Greeting::ExpectsTls,
    }
}

/// Whether a fresh connection to `addr` completes a TLS handshake.
pub(super) async fn speaks_tls(
    addr: SocketAddr,
    setup: &TlsSetup,
    host: &str,
    timeout: Duration,
) -> bool {
    let Ok(tcp) = smtp::connect(addr, timeout).await else {
        return false;
    };
    let tape = Tape::new(Instant::now(), None, CheckId::Tls);
    let Ok(mut s) = Session::new(tcp, tape, timeout) else {
        return false;
    };
    s.start_tls(setup, host).await.is_ok()
}

/// Describes a greeting that failed, in plain words.
pub(super) fn greeting_failure(
    e: &SmtpError,
    sniffed: &[u8],
    port: u16,
) -> (String, Option<&'static str>) {
    match e {
        SmtpError::Malformed { .. } => match recognize_service(sniffed) {
            Some(svc) => (
                format!("Port {port} is answered by {svc}, not by a mail (SMTP) server"),
                Some(svc),
            ),
            None => (
                format!("Port {port} answered with something that is not SMTP"),
                Some("an unknown service"),
            ),
        },
        SmtpError::Timeout { secs, .. } => (
            format!(
                "The server accepted the connection on port {port} but sent no greeting within {secs} s"
            ),
            None,
        ),
        SmtpError::Closed { .. } => (
            format!("The server on port {port} closed the connection without greeting"),
            None,
        ),
        SmtpError::LineTooLong | SmtpError::TooManyLines => (
            format!("The server on port {port} sent an endless greeting ({e})"),
            None,
        ),
        other => (format!("No greeting on port {port}: {other}"), None),
    }
}

/// Sends EHLO (falling back to HELO for servers that do not know it).
pub(super) async fn ehlo(sess: &mut Session, name: &str) -> Result<(Reply, Caps), SmtpError> {
    let reply = sess.command(&format!("EHLO {name}")).await?;
    if reply.code == 250 {
        let caps = Caps::from_reply(&reply);
        return Ok((reply, caps));
    }
    if reply.code == 500 || reply.code == 502 {
        let helo = sess.command(&format!("HELO {name}")).await?;
        return Ok((helo, Caps::default()));
    }
    Ok((reply, Caps::default()))
}

fn tls_outcome(info: &TlsInfo, how: &str) -> Outcome {
    let cert = info.certificate.as_ref();
    let (status, summary) = match (&info.problem, cert) {
        (Some(p), _) => {
            let words = match p.as_str() {
                "expired" => format!(
                    "The server's certificate has expired ({})",
                    cert.map(|c| c.not_after.as_str()).unwrap_or("date unknown")
                ),
                "not-yet-valid" => {
                    "The server's certificate is not valid yet (check the server's clock)".into()
                }
                "wrong-name" => format!(
                    "The certificate is for {}, not for the server name you entered",
                    cert.map(|c| c.names.join(", "))
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "another name".into())
                ),
                "self-signed" => {
                    "The certificate is self-signed: no mail client will trust it".into()
                }
                "unknown-issuer" => {
                    "The certificate is issued by an authority this computer does not trust".into()
                }
                "revoked" => "The certificate has been revoked".into(),
                _ => format!(
                    "The certificate is not trusted: {}",
                    info.problem_detail.as_deref().unwrap_or("unknown reason")
                ),
            };
            (Status::Fail, words)
        }
        (None, Some(c)) if c.days_left < 14 => (
            Status::Warn,
            format!(
                "{how}: {} {}; the certificate expires in {} days",
                info.version, info.cipher, c.days_left
            ),
        ),
        (None, Some(c)) => (
            Status::Pass,
            format!(
                "{how}: {} {}; certificate valid for {} more days",
                info.version, info.cipher, c.days_left
            ),
        ),
        (None, None) => (
            Status::Warn,
            format!(
                "{how}: {} {}; no certificate details",
                info.version, info.cipher
            ),
        ),
    };
    let mut o = Outcome::new(CheckId::Tls, status, summary)
        .with("mode", how)
        .with("version", &info.version)
        .with("cipher", &info.cipher);
    if let Some(c) = cert {
        o.set("certificate", c);
    }
    if let Some(p) = &info.problem {
        o.set("certificate_problem", p.as_str());
        o.set("certificate_error", &info.problem_detail);
    }
    o
}

/// With no trusted roots on this machine every certificate looks
/// untrusted: say so, rather than blame the server.
fn trust_store_note(mut o: Outcome, setup: &TlsSetup) -> Outcome {
    if setup.system_roots == 0 && setup.extra_roots == 0 && o.status == Status::Fail {
        o.summary.push_str(
            " — but this computer has no trusted root certificates installed (install the ca-certificates package), so no certificate could be trusted",
        );
        o.set("no_trust_store", true);
    }
    o
}

struct Chain<'a> {
    ctx: &'a Ctx,
    sess: Session,
    host: String,
    port: u16,
    facts: &'a watch::Sender<Option<SessionFacts>>,
    greeted: watch::Sender<Option<Option<SocketAddr>>>,
    relay_ok: bool,
    /// Why the server's certificate is not trusted, when it is not.
    cert_problem: Option<String>,
}

impl Chain<'_> {
    fn finish(&mut self, o: Outcome, started: Instant, next: CheckId) {
        let lines = self.sess.tape.switch(next);
        self.ctx.finish(o, started, lines);
    }
}

/// The main session, in the order a mail client would go.
/// Returns the server address when the relay test passed.
pub(super) async fn main_chain(
    ctx: &Ctx,
    addrs: &[IpAddr],
    greeted: watch::Sender<Option<Option<SocketAddr>>>,
    facts: &watch::Sender<Option<SessionFacts>>,
) -> Option<IpAddr> {
    let port = ctx.settings.port;
    let host = ctx.settings.server_name().to_string();
    let t = ctx.begin(CheckId::NetPort);
    let mut tried = Vec::new();
    let mut tcp = None;
    for ip in addrs.iter().take(3) {
        let sa = SocketAddr::new(*ip, port);
        ctx.progress(CheckId::NetPort, format!("connecting to {sa}"));
        let t0 = Instant::now();
        match smtp::connect(sa, ctx.timeout()).await {
            Ok(s) => {
                tried.push(serde_json::json!({"address": sa.to_string(), "result": "connected", "ms": t0.elapsed().as_millis() as u64}));
                tcp = Some((s, sa, t0.elapsed()));
                break;
            }
            Err((kind, msg)) => tried.push(serde_json::json!({"address": sa.to_string(), "result": kind.as_str(), "error": msg, "ms": t0.elapsed().as_millis() as u64})),
        }
    }
    let rest = [
        CheckId::SmtpGreeting,
        CheckId::SmtpEhlo,
        CheckId::Tls,
        CheckId::Auth,
        CheckId::Relay,
    ];
    let Some((tcp, sa, took)) = tcp else {
        let first = tried
            .first()
            .and_then(|v| v["result"].as_str())
            .unwrap_or("error")
            .to_string();
        let failure = if tried.iter().any(|v| v["result"] == "refused") {
            "refused".to_string()
        } else {
            first
        };
        let summary = match failure.as_str() {
            "refused" => {
                format!("Nothing accepts connections on port {port} of {host} (connection refused)")
            }
            "timed-out" => format!(
                "Port {port} of {host} did not answer within {} s: a firewall is probably dropping it",
                ctx.timeout().as_secs()
            ),
            "unreachable" => format!("{host} cannot be reached from this network (no route)"),
            _ => format!("Could not connect to port {port} of {host}"),
        };
        ctx.finish(
            Outcome::new(CheckId::NetPort, Status::Fail, summary)
                .with("port", port)
                .with("failure", &failure)
                .with("attempts", &tried),
            t,
            Vec::new(),
        );
        ctx.skip(&rest, &format!("Skipped: could not connect to port {port}"));
        let _ = greeted.send(Some(None));
        return None;
    };
    ctx.finish(
        Outcome::new(
            CheckId::NetPort,
            Status::Pass,
            format!("Connected to {sa} in {} ms", took.as_millis()),
        )
        .with("port", port)
        .with("address", sa.to_string())
        .with("connect_ms", took.as_millis() as u64)
        .with("attempts", &tried),
        t,
        Vec::new(),
    );
    let first = if ctx.settings.security == Security::Tls {
        CheckId::Tls
    } else {
        CheckId::SmtpGreeting
    };
    let sess = match Session::new(tcp, ctx.tape(first), ctx.timeout()) {
        Ok(s) => s,
        Err(e) => {
            ctx.skip(
                &rest,
                &format!("Skipped: the connection failed at once ({e})"),
            );
            let _ = greeted.send(Some(None));
            return None;
        }
    };
    let mut chain = Chain {
        ctx,
        sess,
        host,
        port,
        facts,
        greeted,
        relay_ok: false,
        cert_problem: None,
    };
    let ok = run_session(&mut chain).await;
    chain.greeted.send_if_modified(|g| {
        let first = g.is_none();
        if first {
            *g = Some(ok.then_some(sa));
        }
        first
    });
    if ok {
        chain.sess.quit().await;
    }
    chain.relay_ok.then_some(sa.ip())
}

/// Everything after the TCP connect. Returns whether the server greeted.
async fn run_session(c: &mut Chain<'_>) -> bool {
    let ctx = c.ctx;
    let security = ctx.settings.security;
    let setup = match &ctx.tls {
        Ok(s) => Some(s.clone()),
        Err(e) => {
            if security != Security::None {
                let t = ctx.begin(CheckId::Tls);
                c.finish(
                    Outcome::new(CheckId::Tls, Status::Error, e.clone()),
                    t,
                    CheckId::SmtpGreeting,
                );
            }
            None
        }
    };
    if security == Security::Tls {
        let Some(setup) = setup.as_ref() else {
            ctx.skip(
                &[
                    CheckId::SmtpGreeting,
                    CheckId::SmtpEhlo,
                    CheckId::Auth,
                    CheckId::Relay,
                ],
                "Skipped: TLS could not be set up",
            );
            return false;
        };
        let t = ctx.begin(CheckId::Tls);
        match c.sess.start_tls(setup, &c.host).await {
            Ok(info) => {
                c.cert_problem = info.problem.as_ref().map(|p| p.as_str().to_string());
                let o = trust_store_note(tls_outcome(&info, "implicit TLS"), setup);
                c.finish(o, t, CheckId::SmtpGreeting);
            }
            Err(e) => {
                let sniffed = c.sess.sniffed();
                let o = implicit_tls_failure(&e, &sniffed, c.port);
                c.finish(o, t, CheckId::SmtpGreeting);
                ctx.skip(
                    &[
                        CheckId::SmtpGreeting,
                        CheckId::SmtpEhlo,
                        CheckId::Auth,
                        CheckId::Relay,
                    ],
                    "Skipped: the encrypted connection could not be set up",
                );
                return false;
            }
        }
    }
    // Greeting.
    let t = ctx.begin(CheckId::SmtpGreeting);
    let probe_setup = if security == Security::Tls {
        None
    } else {
        setup.as_ref()
    };
    let greeting = await_greeting(&mut c.sess, probe_setup, &c.host).await;
    let after_greeting: &[CheckId] = if security == Security::Tls {
        &[CheckId::SmtpEhlo, CheckId::Auth, CheckId::Relay]
    } else {
        &[
            CheckId::SmtpEhlo,
            CheckId::Tls,
            CheckId::Auth,
            CheckId::Relay,
        ]
    };
    let banner = match greeting {
        Greeting::Reply(r) if r.code == 220 => {
            let o = Outcome::new(
                CheckId::SmtpGreeting,
                Status::Pass,
                format!("Greeted: {}", r.summary()),
            )
            .with("banner", r.text())
            .with_reply(Some(r.clone()));
            c.finish(o, t, CheckId::SmtpEhlo);
            let sa = c.sess.peer;
            c.greeted.send_replace(Some(Some(sa)));
            r.text()
        }
        Greeting::Reply(r) => {
            let summary = if r.code == 421 || r.code == 554 {
                format!(
                    "The server refused the session at greeting: {}",
                    r.summary()
                )
            } else {
                format!("Unexpected greeting: {}", r.summary())
            };
            let o = Outcome::new(CheckId::SmtpGreeting, Status::Fail, summary)
                .with("refused", true)
                .with_reply(Some(r));
            c.finish(o, t, CheckId::SmtpEhlo);
            ctx.skip(after_greeting, "Skipped: the server refused the session");
            return false;
        }
        Greeting::ExpectsTls => {
            let o = Outcome::new(
                CheckId::SmtpGreeting,
                Status::Fail,
                format!(
                    "Port {} stays silent on a plain connection but answers a TLS handshake: it expects SSL/TLS from the first byte",
                    c.port
                ),
            )
            .with("mode_mismatch", "port-expects-tls");
            c.finish(o, t, CheckId::SmtpEhlo);
            ctx.skip(
                after_greeting,
                "Skipped: the encryption setting does not match the port",
            );
            return false;
        }
        Greeting::Failed(e) => {
            let sniffed = c.sess.sniffed();
            let (summary, service) = greeting_failure(&e, &sniffed, c.port);
            let mut o = Outcome::new(CheckId::SmtpGreeting, Status::Fail, summary)
                .with("error", e.to_string());
            if let Some(svc) = service {
                o.set("not_smtp", svc);
            }
            if e.is_timeout() {
                o.set("silent", true);
            }
            c.finish(o, t, CheckId::SmtpEhlo);
            ctx.skip(after_greeting, "Skipped: the server did not greet");
            return false;
        }
    };
    let _ = banner;
    let caps = match run_ehlo(c).await {
        Some(caps) => caps,
        None => {
            let rest: &[CheckId] = if security == Security::Tls {
                &[CheckId::Auth, CheckId::Relay]
            } else {
                &[CheckId::Tls, CheckId::Auth, CheckId::Relay]
            };
            ctx.skip(rest, "Skipped: EHLO failed");
            return true;
        }
    };
    let caps = match security {
        Security::Starttls => match run_starttls(c, setup.as_ref(), &caps).await {
            Some(caps) => caps,
            None => return true,
        },
        Security::None => {
            let t = ctx.begin(CheckId::Tls);
            let o = if caps.starttls {
                Outcome::new(
                    CheckId::Tls,
                    Status::Warn,
                    "Encryption is off in the settings, although the server offers STARTTLS",
                )
                .with("mode", "none")
                .with("starttls_offered", true)
            } else {
                Outcome::new(
                    CheckId::Tls,
                    Status::Skip,
                    "Encryption is off in the settings",
                )
                .with("mode", "none")
            };
            c.finish(o, t, CheckId::Auth);
            caps
        }
        Security::Tls => caps,
    };
    let authed = run_auth(c, &caps).await;
    run_relay(c, &caps, authed).await;
    true
}

/// Why a handshake failed when the peer does speak TLS: no protocol
/// version in common (a server still on TLS 1.0/1.1), or no cipher.
pub(super) fn handshake_failure(e: &SmtpError) -> Option<&'static str> {
    let SmtpError::Tls(text) = e else { return None };
    if text.contains("ProtocolVersion")
        || text.contains("PeerIncompatible")
        || text.contains("incompatible")
    {
        Some("protocol-version")
    } else if text.contains("HandshakeFailure") || text.contains("InsufficientSecurity") {
        Some("no-common-cipher")
    } else {
        None
    }
}

fn handshake_detail(mut o: Outcome, e: &SmtpError) -> Outcome {
    if let Some(kind) = handshake_failure(e) {
        o.set("handshake_failure", kind);
        o.summary.push_str(match kind {
            "protocol-version" => ": the server and smtp-doctor share no TLS version (the server likely offers only TLS 1.0 or 1.1, which modern programs refuse)",
            _ => ": the server and smtp-doctor share no cipher",
        });
    }
    o
}

fn implicit_tls_failure(e: &SmtpError, sniffed: &[u8], port: u16) -> Outcome {
    let text = String::from_utf8_lossy(sniffed);
    if text.starts_with("220") {
        let banner = text.lines().next().unwrap_or("").to_string();
        return Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!(
                "Port {port} speaks plain SMTP (it greeted with \"{}\" before any encryption), so SSL/TLS cannot work here",
                smtp::printable(banner.as_bytes())
            ),
        )
        .with("mode", "implicit TLS")
        .with("mode_mismatch", "port-is-plaintext")
        .with("banner", smtp::printable(banner.as_bytes()))
        .with("error", e.to_string());
    }
    let summary = match e {
        SmtpError::Timeout { secs, .. } => {
            format!("No TLS handshake on port {port} within {secs} s")
        }
        other => format!("The TLS handshake on port {port} failed: {other}"),
    };
    let mut o = handshake_detail(Outcome::new(CheckId::Tls, Status::Fail, summary), e)
        .with("mode", "implicit TLS")
        .with("error", e.to_string());
    if let Some(svc) = recognize_service(sniffed) {
        o.set("not_smtp", svc);
    }
    o
}

async fn run_ehlo(c: &mut Chain<'_>) -> Option<Caps> {
    let ctx = c.ctx;
    let t = ctx.begin(CheckId::SmtpEhlo);
    let name = helo_name(ctx, c.sess.local);
    match ehlo(&mut c.sess, &name).await {
        Ok((reply, caps)) if reply.is_positive() => {
            let mut summary = if caps.keywords.is_empty() {
                "The server answered EHLO but announced no extensions".to_string()
            } else {
                format!("{} extensions: {}", caps.keywords.len(), short_caps(&caps))
            };
            if let Some(ip) = &caps.client_address {
                summary.push_str(&format!("; it sees you as {ip}"));
            }
            let mut o = Outcome::new(CheckId::SmtpEhlo, Status::Pass, summary)
                .with("helo_name", &name)
                .with(
                    "server_name",
                    reply.lines.first().cloned().unwrap_or_default(),
                );
            caps.record(&mut o, "");
            if let Some(ip) = &caps.client_address {
                o.set("client_address", ip);
            }
            let _ = c.facts.send(Some(SessionFacts {
                ehlo_echo: caps.client_address.as_deref().and_then(|a| a.parse().ok()),
                local: Some(c.sess.local.ip()),
            }));
            let next = if ctx.settings.security == Security::Starttls {
                CheckId::Tls
            } else {
                CheckId::Auth
            };
            c.finish(o.with_reply(Some(reply)), t, next);
            Some(caps)
        }
        Ok((reply, _)) => {
            let o = Outcome::new(
                CheckId::SmtpEhlo,
                Status::Fail,
                format!("The server rejected EHLO {name}: {}", reply.summary()),
            )
            .with("helo_name", &name)
            .with_reply(Some(reply));
            c.finish(o, t, CheckId::Tls);
            None
        }
        Err(e) => {
            let o = Outcome::new(
                CheckId::SmtpEhlo,
                Status::Fail,
                format!("No answer to EHLO: {e}"),
            )
            .with("error", e.to_string());
            c.finish(o, t, CheckId::Tls);
            None
        }
    }
}

fn short_caps(caps: &Caps) -> String {
    caps.keywords
        .iter()
        .map(|k| k.split_whitespace().next().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// STARTTLS, the handshake and the second EHLO. Returns the capabilities
/// after TLS, or `None` when the session cannot go on.
async fn run_starttls(c: &mut Chain<'_>, setup: Option<&TlsSetup>, caps: &Caps) -> Option<Caps> {
    let ctx = c.ctx;
    let Some(setup) = setup else {
        ctx.skip(
            &[CheckId::Auth, CheckId::Relay],
            "Skipped: TLS could not be set up",
        );
        return None;
    };
    let t = ctx.begin(CheckId::Tls);
    if !caps.starttls {
        let o = Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!("The server does not offer STARTTLS on port {}", c.port),
        )
        .with("mode", "STARTTLS")
        .with("starttls_offered", false);
        c.finish(o, t, CheckId::Auth);
        ctx.skip(
            &[CheckId::Auth, CheckId::Relay],
            "Skipped: no encryption, so the password is not sent",
        );
        return None;
    }
    let reply = match c.sess.command("STARTTLS").await {
        Ok(r) if r.code == 220 => r,
        Ok(r) => {
            let o = Outcome::new(
                CheckId::Tls,
                Status::Fail,
                format!("The server refused STARTTLS: {}", r.summary()),
            )
            .with("mode", "STARTTLS")
            .with_reply(Some(r));
            c.finish(o, t, CheckId::Auth);
            ctx.skip(&[CheckId::Auth, CheckId::Relay], "Skipped: no encryption");
            return None;
        }
        Err(e) => {
            let o = Outcome::new(
                CheckId::Tls,
                Status::Fail,
                format!("No answer to STARTTLS: {e}"),
            )
            .with("mode", "STARTTLS");
            c.finish(o, t, CheckId::Auth);
            ctx.skip(&[CheckId::Auth, CheckId::Relay], "Skipped: no encryption");
            return None;
        }
    };
    let injected = !c.sess.pending().is_empty();
    let info = match c.sess.start_tls(setup, &c.host).await {
        Ok(info) => info,
        Err(e) => {
            let o = handshake_detail(
                Outcome::new(
                    CheckId::Tls,
                    Status::Fail,
                    format!("The TLS handshake after STARTTLS failed: {e}"),
                ),
                &e,
            )
            .with("mode", "STARTTLS")
            .with("error", e.to_string());
            c.finish(o, t, CheckId::Auth);
            ctx.skip(&[CheckId::Auth, CheckId::Relay], "Skipped: no encryption");
            return None;
        }
    };
    c.cert_problem = info.problem.as_ref().map(|p| p.as_str().to_string());
    let mut o = trust_store_note(tls_outcome(&info, "STARTTLS"), setup).with_reply(Some(reply));
    if injected {
        o.set("plaintext_after_starttls", true);
        if o.status == Status::Pass {
            o.status = Status::Warn;
        }
        o.summary.push_str(
            "; the server sent unencrypted data right after agreeing to STARTTLS (discarded): a sign of a buggy server or of tampering on the way",
        );
    }
    let name = helo_name(ctx, c.sess.local);
    let after = match ehlo(&mut c.sess, &name).await {
        Ok((r, caps)) if r.is_positive() => caps,
        Ok((r, _)) => {
            o.set("ehlo_after_tls", r.summary());
            c.finish(o, t, CheckId::Auth);
            ctx.skip(
                &[CheckId::Auth, CheckId::Relay],
                "Skipped: EHLO after STARTTLS failed",
            );
            return None;
        }
        Err(e) => {
            o.set("ehlo_after_tls", e.to_string());
            c.finish(o, t, CheckId::Auth);
            ctx.skip(
                &[CheckId::Auth, CheckId::Relay],
                "Skipped: EHLO after STARTTLS failed",
            );
            return None;
        }
    };
    after.record(&mut o, "after_tls_");
    c.finish(o, t, CheckId::Auth);
    Some(after)
}

/// The login state after the `auth` check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Authed {
    Yes,
    No,
    /// Authentication is off in the settings: relay runs without login.
    NotAsked,
}

async fn run_auth(c: &mut Chain<'_>, caps: &Caps) -> Authed {
    let ctx = c.ctx;
    let s = &ctx.settings;
    let t = ctx.begin(CheckId::Auth);
    if !s.auth {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Skip,
            "Authentication is turned off in the settings",
        )
        .with("offered_mechanisms", &caps.auth)
        .with("auth_offered", !caps.auth.is_empty());
        c.finish(o, t, CheckId::Relay);
        return Authed::NotAsked;
    }
    // A certificate that is not trusted means anyone in the middle could be
    // the server: the password is not sent unless the user insists.
    if let Some(problem) = c.cert_problem.clone()
        && !s.insecure_login
    {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Skip,
            format!(
                "Not attempted: the server's certificate is not trusted ({problem}), so the password could go to an impostor"
            ),
        )
        .with("offered_mechanisms", &caps.auth)
        .with("auth_offered", !caps.auth.is_empty())
        .with("withheld_for_certificate", &problem);
        c.finish(o, t, CheckId::Relay);
        return Authed::No;
    }
    if !c.sess.is_tls() && !s.allow_plaintext_auth {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Skip,
            "Not attempted: the connection is not encrypted, and the password would be readable on the network",
        )
        .with("offered_mechanisms", &caps.auth)
        .with("withheld_unencrypted", true);
        c.finish(o, t, CheckId::Relay);
        return Authed::No;
    }
    if caps.auth.is_empty() {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Fail,
            format!(
                "The server does not offer login (AUTH) on port {} with this encryption",
                c.port
            ),
        )
        .with("offered_mechanisms", Vec::<String>::new())
        .with("auth_offered", false);
        c.finish(o, t, CheckId::Relay);
        return Authed::No;
    }
    let mech = if caps.auth.iter().any(|m| m == "PLAIN") {
        "PLAIN"
    } else if caps.auth.iter().any(|m| m == "LOGIN") {
        "LOGIN"
    } else {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Fail,
            format!(
                "The server offers only {} for login, which smtp-doctor (and most mail clients) cannot use",
                caps.auth.join(", ")
            ),
        )
        .with("offered_mechanisms", &caps.auth)
        .with("auth_offered", true)
        .with("unsupported_mechanisms", true);
        c.finish(o, t, CheckId::Relay);
        return Authed::No;
    };
    let login = s.effective_login().to_string();
    let result = auth_exchange(&mut c.sess, mech, &login, s.password.expose()).await;
    let base = |status, summary: String| {
        Outcome::new(CheckId::Auth, status, summary)
            .with("mechanism", mech)
            .with("login", &login)
            .with("offered_mechanisms", &caps.auth)
            .with("auth_offered", true)
    };
    match result {
        Ok(r) if r.code == 235 => {
            c.finish(
                base(Status::Pass, format!("Logged in as {login} ({mech})")).with_reply(Some(r)),
                t,
                CheckId::Relay,
            );
            Authed::Yes
        }
        Ok(r) => {
            let o = base(
                Status::Fail,
                format!("The server rejected the login for {login}: {}", r.summary()),
            )
            .with_reply(Some(r));
            c.finish(o, t, CheckId::Relay);
            Authed::No
        }
        Err(e) => {
            let o = base(Status::Fail, format!("The login did not complete: {e}"))
                .with("error", e.to_string());
            c.finish(o, t, CheckId::Relay);
            Authed::No
        }
    }
}

/// One AUTH attempt (never retried: repeated failures lock accounts).
async fn auth_exchange(
    sess: &mut Session,
    mech: &str,
    login: &str,
    password: &str,
) -> Result<Reply, SmtpError> {
    sess.tape.add_secret(&B64.encode(password));
    match mech {
        "PLAIN" => {
            let payload = B64.encode(format!("\0{login}\0{password}"));
            sess.tape.add_secret(&payload);
            sess.send_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN [redacted]")
                .await?;
            let r = sess.read_reply().await?;
            if r.code == 334 {
                // A server that ignores the initial response asks again;
                // answer with "*" (cancel) rather than send the secret twice.
                sess.send("*").await?;
                return sess.read_reply().await;
            }
            Ok(r)
        }
        _ => {
            let r = sess.command("AUTH LOGIN").await?;
            if r.code != 334 {
                return Ok(r);
            }
            let user = B64.encode(login);
            sess.send_secret(&user, "[redacted]").await?;
            let r = sess.read_reply().await?;
            if r.code != 334 {
                return Ok(r);
            }
            let pass = B64.encode(password);
            sess.send_secret(&pass, "[redacted]").await?;
            sess.read_reply().await
        }
    }
}

/// MAIL FROM and RCPT TO, pipelined when the server allows it; then RSET.
/// Never DATA.
pub(super) async fn envelope(
    sess: &mut Session,
    sender: &str,
    rcpt: &str,
    pipelining: bool,
) -> Result<(Reply, Option<Reply>), SmtpError> {
    let mail = format!("MAIL FROM:<{sender}>");
    let to = format!("RCPT TO:<{rcpt}>");
    if pipelining {
        // One write for the whole envelope and its end (RFC 2920: RSET
        // may be pipelined, QUIT ends the group): one round trip in all.
        sess.send_pipelined(&[&mail, &to, "RSET", "QUIT"]).await?;
        let m = sess.read_reply().await?;
        let out = match sess.read_reply().await {
            Ok(r) => (m.clone(), if m.is_positive() { Some(r) } else { None }),
            // A server that refuses MAIL (421 and close, say) may never
            // answer RCPT: its reply to MAIL is the evidence.
            Err(_) if !m.is_positive() => (m, None),
            Err(e) => return Err(e),
        };
        // The replies to RSET and QUIT come in the same flight.
        sess.finish_quit().await;
        return Ok(out);
    }
    let m = sess.command(&mail).await?;
    let out = if !m.is_positive() {
        (m, None)
    } else {
        let r = sess.command(&to).await?;
        (m, Some(r))
    };
    sess.rset_and_quit(false).await;
    Ok(out)
}

async fn run_relay(c: &mut Chain<'_>, caps: &Caps, authed: Authed) {
    let ctx = c.ctx;
    let s = &ctx.settings;
    let t = ctx.begin(CheckId::Relay);
    if authed == Authed::No {
        let o = Outcome::skip(CheckId::Relay, "Skipped: the login did not succeed");
        c.finish(o, t, CheckId::Relay);
        return;
    }
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let authenticated = authed == Authed::Yes;
    let how = if authenticated {
        "after login"
    } else {
        "without login"
    };
    let result = envelope(&mut c.sess, &sender, &rcpt, caps.pipelining).await;
    let o = relay_outcome(CheckId::Relay, result, &sender, &rcpt, how)
        .with("authenticated", authenticated);
    c.relay_ok = o.status == Status::Pass;
    c.finish(o, t, CheckId::Relay);
}

fn relay_outcome(
    id: CheckId,
    result: Result<(Reply, Option<Reply>), SmtpError>,
    sender: &str,
    rcpt: &str,
    how: &str,
) -> Outcome {
    let base = |status, summary: String| {
        Outcome::new(id, status, summary)
            .with("sender", sender)
            .with("recipient", rcpt)
    };
    match result {
        Err(e) => base(
            Status::Error,
            format!("The relay test did not complete: {e}"),
        )
        .with("error", e.to_string()),
        Ok((mail, None)) => base(
            Status::Fail,
            format!(
                "The server refused the sender <{sender}> {how}: {}",
                mail.summary()
            ),
        )
        .with("stage", "mail")
        .with("mail_reply", mail.summary())
        .with_reply(Some(mail)),
        Ok((mail, Some(rcpt_reply))) if rcpt_reply.is_positive() => base(
            Status::Pass,
            format!("The server accepts mail from <{sender}> to <{rcpt}> {how}"),
        )
        .with("stage", "rcpt")
        .with("accepted", true)
        .with("mail_reply", mail.summary())
        .with("rcpt_reply", rcpt_reply.summary())
        .with_reply(Some(rcpt_reply)),
        Ok((mail, Some(rcpt_reply))) => base(
            Status::Fail,
            format!(
                "The server refused to relay to <{rcpt}> {how}: {}",
                rcpt_reply.summary()
            ),
        )
        .with("stage", "rcpt")
        .with("accepted", false)
        .with("mail_reply", mail.summary())
        .with("rcpt_reply", rcpt_reply.summary())
        .with_reply(Some(rcpt_reply)),
    }
}

/// `relay.anonymous`: the relay test again on a second connection without
/// login. It tells whether this IP may relay without login, and flags an
/// open relay.
pub(super) async fn anonymous_relay(
    ctx: &Ctx,
    addr: SocketAddr,
    mut greeted: watch::Receiver<Option<Option<SocketAddr>>>,
) {
    let id = CheckId::RelayAnonymous;
    if !ctx.settings.auth {
        ctx.skip(
            &[id],
            "Skipped: authentication is off, so the relay test above already ran without login",
        );
        return;
    }
    // The second connection starts at once, beside the main session; its
    // result counts only if the main session was greeted, so a server that
    // does not talk SMTP is not reported twice.
    let t = ctx.begin(id);
    let mut tape = ctx.tape(id);
    let mut verdict = greeted.clone();
    let main_failed = async move {
        loop {
            let now = *verdict.borrow_and_update();
            match now {
                Some(None) => return,
                // Greeted: this branch never ends; the session decides.
                Some(Some(_)) => std::future::pending::<()>().await,
                None => {}
            }
            if verdict.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    // Dropped at once when the main session finds the server does not
    // greet: nothing to learn, and no reason to wait out its timeout.
    let o = tokio::select! {
        r = anonymous_session(ctx, addr, &mut tape) => match r {
            Ok(o) | Err(o) => o,
        },
        () = main_failed => {
            ctx.skip(&[id], "Skipped: the server did not greet on the main connection");
            return;
        }
    };
    let greeted_ok = loop {
        if let Some(v) = *greeted.borrow_and_update() {
            break v.is_some();
        }
        if greeted.changed().await.is_err() {
            break false;
        }
    };
    if !greeted_ok {
        ctx.skip(
            &[id],
            "Skipped: the server did not greet on the main connection",
        );
        return;
    }
    let mut lines = tape.take();
    lines.sort_by_key(|l| l.t_ms);
    ctx.finish(o, t, lines);
}

async fn anonymous_session(
    ctx: &Ctx,
    addr: SocketAddr,
    tape: &mut Tape,
) -> Result<Outcome, Outcome> {
    let id = CheckId::RelayAnonymous;
    let s = &ctx.settings;
    let host = s.server_name().to_string();
    let err = |summary: String| Outcome::new(id, Status::Error, summary);
    let tcp = smtp::connect(addr, ctx.timeout()).await.map_err(|(k, m)| {
        err(format!(
            "Could not open a second connection ({}): {m}",
            k.as_str()
        ))
    })?;
    let mut sess = Session::new(tcp, std::mem::replace(tape, ctx.tape(id)), ctx.timeout())
        .map_err(|e| err(e.to_string()))?;
    let result = anonymous_steps(ctx, &mut sess, &host).await;
    // A server that never greeted is not kept waiting for a QUIT reply.
    if result.is_ok() {
        sess.quit_nowait().await;
    }
    *tape = std::mem::replace(&mut sess.tape, ctx.tape(id));
    result
}

async fn anonymous_steps(ctx: &Ctx, sess: &mut Session, host: &str) -> Result<Outcome, Outcome> {
    let id = CheckId::RelayAnonymous;
    let s = &ctx.settings;
    let err = |summary: String| Outcome::new(id, Status::Error, summary);
    let setup = ctx.tls.as_ref().ok();
    if s.security == Security::Tls {
        let setup = setup.ok_or_else(|| err("TLS could not be set up".into()))?;
        sess.start_tls(setup, host)
            .await
            .map_err(|e| err(format!("TLS failed: {e}")))?;
    }
    let g = sess
        .read_reply()
        .await
        .map_err(|e| err(format!("No greeting: {e}")))?;
    if g.code != 220 {
        return Err(err(format!(
            "The server refused the second connection: {}",
            g.summary()
        )));
    }
    let name = helo_name(ctx, sess.local);
    let (_, mut caps) = ehlo(sess, &name)
        .await
        .map_err(|e| err(format!("EHLO failed: {e}")))?;
    if s.security == Security::Starttls && caps.starttls {
        let setup = setup.ok_or_else(|| err("TLS could not be set up".into()))?;
        let r = sess
            .command("STARTTLS")
            .await
            .map_err(|e| err(format!("STARTTLS failed: {e}")))?;
        if r.code == 220 {
            sess.start_tls(setup, host)
                .await
                .map_err(|e| err(format!("TLS failed: {e}")))?;
            caps = ehlo(sess, &name)
                .await
                .map_err(|e| err(format!("EHLO failed: {e}")))?
                .1;
        }
    }
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let result = envelope(sess, &sender, &rcpt, caps.pipelining).await;
    let mut o = relay_outcome(id, result, &sender, &rcpt, "without login");
    match o.status {
        Status::Pass => {
            o.status = Status::Warn;
            o.summary = format!(
                "Without any login the server relays from this IP to <{rcpt}>: either this IP is explicitly allowed, or the server is an open relay"
            );
            o.set("open_relay_suspected", true);
        }
        Status::Fail => {
            o.status = Status::Pass;
            o.summary = format!(
                "Without login the server refuses to relay ({}): not an open relay",
                o.reply.as_ref().map(Reply::summary).unwrap_or_default()
            );
            o.set("open_relay_suspected", false);
        }
        _ => {}
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_addresses_from_real_ehlo_lines() {
        assert_eq!(
            echoed_address("mx.example.com Hello client.example [192.0.2.7]"),
            Some("192.0.2.7".into())
        );
        assert_eq!(
            echoed_address("smtp.gmail.com at your service, [2001:db8::5]"),
            Some("2001:db8::5".into())
        );
        assert_eq!(
            echoed_address("mail.example.test Hello [IPv6:2001:db8::1]"),
            Some("2001:db8::1".into())
        );
        assert_eq!(echoed_address("mail.smtpd.test"), None);
        assert_eq!(
            echoed_address("host [not-an-ip] and [198.51.100.2]"),
            Some("198.51.100.2".into())
        );
    }

    #[test]
    fn capabilities_include_unknown_ones_and_old_auth_form() {
        let r = Reply::from_lines(&[
            "250-mail.example.test",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-X-SHINY-NEW",
            "250-AUTH=LOGIN PLAIN",
            "250-AUTH PLAIN LOGIN CRAM-MD5",
            "250 STARTTLS",
        ])
        .unwrap();
        let c = Caps::from_reply(&r);
        assert!(c.pipelining && c.starttls);
        assert_eq!(c.size, Some(10_240_000));
        assert_eq!(c.auth, vec!["LOGIN", "PLAIN", "CRAM-MD5"]);
        assert!(c.keywords.iter().any(|k| k == "X-SHINY-NEW"));
    }
}
