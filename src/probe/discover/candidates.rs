//! Probing one candidate without logging in: address, connection, TLS
//! (implicit or STARTTLS) with the certificate checked for the candidate's
//! name, greeting, EHLO and the AUTH mechanisms offered. One deadline bounds
//! the whole probe; every read is bounded by the SMTP driver.

use super::{Candidate, Probe, Suggestion};
use crate::probe::dns::LookupFailure as lookup_failure;
use crate::probe::lookup;
use crate::probe::model::{CheckId, TranscriptLine};
use crate::probe::session::{Caps, ehlo};
use crate::probe::smtp::{self, Session, Tape};
use crate::probe::tls::{TlsInfo, TlsSetup};
use crate::settings::Security;
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The EHLO name: the user's, or our address literal (RFC 5321 §4.1.3).
pub(super) fn helo_for(helo: &str, local: SocketAddr) -> String {
    let h = helo.trim();
    if !h.is_empty() {
        return h.to_string();
    }
    match local.ip() {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// The first address of a host (an IP literal as it is).
pub(super) async fn address(r: Option<&TokioResolver>, host: &str) -> Result<IpAddr, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ip);
    }
    let Some(r) = r else {
        return Err("no resolver".into());
    };
    match lookup::ips(r, host).await {
        Ok(v) if !v.is_empty() => Ok(v[0]),
        Ok(_) => Err(format!("{host} has no address")),
        Err((kind, _)) => Err(match kind {
            lookup_failure::NoSuchName => format!("{host} does not exist in DNS"),
            lookup_failure::NoRecords => format!("{host} has no address"),
            lookup_failure::Timeout => format!("{host}: no DNS answer in time"),
            lookup_failure::ResolverFailed => format!("{host}: the DNS server refused or failed"),
        }),
    }
}

fn note_tls(p: &mut Probe, info: &TlsInfo) {
    p.encrypted = true;
    p.tls_version = Some(info.version.clone());
    p.cert_ok = Some(info.problem.is_none());
    p.cert_problem = info.problem.as_ref().map(|x| x.as_str().to_string());
    if let Some(c) = &info.certificate {
        p.cert_names = c.names.iter().take(8).cloned().collect();
    }
}

/// An open session after greeting, EHLO and (when asked) STARTTLS, with
/// what was learned so far. `None` session: the probe ended early.
pub(super) async fn open(
    s: &Suggestion,
    r: Option<&TokioResolver>,
    setup: Option<&TlsSetup>,
    timeout: Duration,
    helo: &str,
    start: Instant,
) -> (Probe, Option<(Session, Caps)>) {
    let t0 = Instant::now();
    let mut p = Probe::default();
    let deadline = tokio::time::Instant::now() + timeout;
    let out = tokio::time::timeout_at(
        deadline,
        open_inner(&mut p, s, r, setup, timeout, helo, start),
    )
    .await;
    let sess = match out {
        Ok(sess) => sess,
        Err(_) => {
            if p.note.is_none() {
                p.note = Some(format!("no complete answer within {} s", timeout.as_secs()));
            }
            if p.state.is_empty() {
                p.state = "timed-out".into();
            }
            None
        }
    };
    p.ms = t0.elapsed().as_millis() as u64;
    (p, sess)
}

/// The steps of [`open`], in the order a mail program takes them. Each
/// step notes what it learned in `p`; a step that ends the probe says why
/// in `p.note` (or `p.state`) and returns None.
async fn open_inner(
    p: &mut Probe,
    s: &Suggestion,
    r: Option<&TokioResolver>,
    setup: Option<&TlsSetup>,
    timeout: Duration,
    helo: &str,
    start: Instant,
) -> Option<(Session, Caps)> {
    let mut sess = connect(p, s, r, timeout, start).await?;
    if s.security == Security::Tls {
        implicit_tls(p, &mut sess, s, setup).await?;
    }
    greeting(p, &mut sess).await?;
    let name = helo_for(helo, sess.local);
    let mut caps = first_ehlo(p, &mut sess, &name).await?;
    if s.security == Security::Starttls {
        caps = upgrade(p, &mut sess, s, setup, &caps, &name).await?;
    }
    p.auth = caps.auth.iter().take(16).cloned().collect();
    Some((sess, caps))
}

/// Resolves the host and opens the TCP connection: the state tells a
/// missing address from a refused, filtered or unreachable port.
async fn connect(
    p: &mut Probe,
    s: &Suggestion,
    r: Option<&TokioResolver>,
    timeout: Duration,
    start: Instant,
) -> Option<Session> {
    let ip = match address(r, &s.host).await {
        Ok(ip) => ip,
        Err(e) => {
            p.state = "no-address".into();
            p.note = Some(e);
            return None;
        }
    };
    let addr = SocketAddr::new(ip, s.port);
    p.address = Some(addr.to_string());
    let tcp = match smtp::connect(addr, timeout).await {
        Ok(t) => t,
        Err((kind, msg)) => {
            p.state = kind.as_str().into();
            p.note = Some(msg);
            return None;
        }
    };
    p.state = "connected".into();
    let tape = Tape::new(start, None, CheckId::Discover);
    Session::new(tcp, tape, timeout).ok()
}

/// The TLS handshake of an SSL/TLS port, before any SMTP. A plain SMTP
/// greeting instead of a handshake is named as such: it is the usual
/// mix-up of port and encryption.
async fn implicit_tls(
    p: &mut Probe,
    sess: &mut Session,
    s: &Suggestion,
    setup: Option<&TlsSetup>,
) -> Option<()> {
    let Some(setup) = setup else {
        p.note = Some("no TLS set-up on this computer".into());
        return None;
    };
    match sess.start_tls(setup, &s.host).await {
        Ok(info) => {
            note_tls(p, &info);
            Some(())
        }
        Err(e) => {
            let seen = sess.sniffed();
            p.note = Some(if seen.starts_with(b"220") {
                "plain SMTP here, not SSL/TLS".into()
            } else {
                format!("no TLS handshake: {e}")
            });
            None
        }
    }
}

/// The server's greeting: a 220, or a refusal; something that is not a
/// mail server at all is named when its first bytes say what it is.
async fn greeting(p: &mut Probe, sess: &mut Session) -> Option<()> {
    match sess.read_reply().await {
        Ok(r) if r.code == 220 => {
            p.greeting = Some(r.summary());
            Some(())
        }
        Ok(r) => {
            p.greeting = Some(r.summary());
            p.note = Some("the server refused the session".into());
            None
        }
        Err(e) => {
            p.note = Some(match smtp::recognize_service(&sess.sniffed()) {
                Some(svc) => format!("answered by {svc}, not by a mail server"),
                None => format!("no greeting: {e}"),
            });
            None
        }
    }
}

/// The first EHLO, whose capabilities count until STARTTLS (if any).
async fn first_ehlo(p: &mut Probe, sess: &mut Session, name: &str) -> Option<Caps> {
    let (reply, caps) = match ehlo(sess, name).await {
        Ok(x) => x,
        Err(e) => {
            p.note = Some(format!("EHLO failed: {e}"));
            return None;
        }
    };
    if !reply.is_positive() {
        p.note = Some(format!("EHLO refused: {}", reply.summary()));
        return None;
    }
    Some(caps)
}

/// STARTTLS, the handshake and the EHLO again; the capabilities after TLS
/// are the ones that count (servers often offer AUTH only then).
async fn upgrade(
    p: &mut Probe,
    sess: &mut Session,
    s: &Suggestion,
    setup: Option<&TlsSetup>,
    caps: &Caps,
    name: &str,
) -> Option<Caps> {
    if !caps.starttls {
        p.note = Some("STARTTLS is not offered here".into());
        sess.quit_nowait().await;
        return None;
    }
    let Some(setup) = setup else {
        p.note = Some("no TLS set-up on this computer".into());
        return None;
    };
    match sess.command("STARTTLS").await {
        Ok(r) if r.code == 220 => {}
        Ok(r) => {
            p.note = Some(format!("STARTTLS refused: {}", r.summary()));
            return None;
        }
        Err(e) => {
            p.note = Some(format!("STARTTLS failed: {e}"));
            return None;
        }
    }
    match sess.start_tls(setup, &s.host).await {
        Ok(info) => note_tls(p, &info),
        Err(e) => {
            p.note = Some(format!("no TLS handshake after STARTTLS: {e}"));
            return None;
        }
    }
    match ehlo(sess, name).await {
        Ok((r, c)) if r.is_positive() => Some(c),
        Ok((r, _)) => {
            p.note = Some(format!("EHLO after STARTTLS refused: {}", r.summary()));
            None
        }
        Err(e) => {
            p.note = Some(format!("EHLO after STARTTLS failed: {e}"));
            None
        }
    }
}

/// Probes one candidate and closes the connection.
pub(super) async fn probe(
    s: Suggestion,
    r: Option<&TokioResolver>,
    setup: Option<&TlsSetup>,
    timeout: Duration,
    helo: &str,
    start: Instant,
) -> (Candidate, Vec<TranscriptLine>) {
    let (mut p, sess) = open(&s, r, setup, timeout, helo, start).await;
    let mut lines = Vec::new();
    if let Some((mut sess, _)) = sess {
        sess.quit_nowait().await;
        lines = sess.tape.take();
    }
    if p.note.is_none() && s.security == Security::None {
        p.note = Some("no encryption: a password would cross the network readable".into());
    }
    (Candidate::new(s, p), lines)
}
