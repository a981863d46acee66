//! `tls`: implicit TLS (before the greeting), STARTTLS (after EHLO, with
//! the second EHLO), or no encryption; the certificate and its problems.

use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::smtp::{SmtpError, recognize_service};
use super::super::tls::{TlsInfo, TlsSetup};
use super::ehlo::{Caps, ehlo, helo_name};
use super::{Chain, Step, Stop};
use crate::reply::Reply;
use crate::settings::Security;
use std::time::Instant;

/// The handshake of an implicit-TLS session, right after the connect.
pub(super) async fn implicit(c: &mut Chain<'_>) -> Step<()> {
    let t = c.ctx.begin(CheckId::Tls);
    let setup = match c.setup.clone() {
        Ok(s) => s,
        Err(e) => return Err(setup_failed(c, t, e, CheckId::SmtpGreeting)),
    };
    match c.sess.start_tls(&setup, &c.host).await {
        Ok(info) => {
            c.cert_problem = info.problem.as_ref().map(|p| p.as_str().to_string());
            let o = trust_store_note(tls_outcome(&info, "implicit TLS"), &setup);
            c.finish(o, t, CheckId::SmtpGreeting);
            Ok(())
        }
        Err(e) => {
            let o = implicit_tls_failure(&e, &c.sess.sniffed_line(), &c.sess.sniffed(), c.port);
            c.finish(o, t, CheckId::SmtpGreeting);
            Err(Stop::new(
                CheckId::Tls,
                "Skipped: the encrypted connection could not be set up",
            ))
        }
    }
}

/// TLS could not be set up on this machine (no usable CA file, say).
fn setup_failed(c: &mut Chain<'_>, t: Instant, e: String, next: CheckId) -> Stop {
    c.finish(Outcome::new(CheckId::Tls, Status::Error, e), t, next);
    Stop::new(CheckId::Tls, "Skipped: TLS could not be set up")
}

/// The `tls` step after EHLO: STARTTLS, or the note that encryption is off.
/// Returns the capabilities the login and relay steps use.
pub(super) async fn after_ehlo(c: &mut Chain<'_>, caps: Caps) -> Step<Caps> {
    match c.ctx.settings.security {
        Security::Tls => Ok(caps),
        Security::None => {
            let t = c.ctx.begin(CheckId::Tls);
            c.finish(no_encryption(&caps), t, CheckId::Auth);
            Ok(caps)
        }
        Security::Starttls => starttls(c, &caps).await,
    }
}

fn no_encryption(caps: &Caps) -> Outcome {
    if caps.starttls {
        Outcome::new(
            CheckId::Tls,
            Status::Warn,
            "Encryption is off in the settings, although the server offers STARTTLS",
        )
        .with_view(view::Tls {
            starttls_offered: Some(true),
            ..mode("none")
        })
    } else {
        Outcome::new(
            CheckId::Tls,
            Status::Skip,
            "Encryption is off in the settings",
        )
        .with_view(mode("none"))
    }
}

/// STARTTLS, the handshake and the second EHLO.
async fn starttls(c: &mut Chain<'_>, caps: &Caps) -> Step<Caps> {
    let t = c.ctx.begin(CheckId::Tls);
    let setup = match c.setup.clone() {
        Ok(s) => s,
        Err(e) => return Err(setup_failed(c, t, e, CheckId::Auth)),
    };
    let no_tls = |c: &mut Chain<'_>, o: Outcome, why: &str| {
        c.finish(o, t, CheckId::Auth);
        Stop::new(CheckId::Tls, why)
    };
    if !caps.starttls {
        let o = Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!("The server does not offer STARTTLS on port {}", c.port),
        )
        .with_view(view::Tls {
            starttls_offered: Some(false),
            ..mode("STARTTLS")
        });
        return Err(no_tls(
            c,
            o,
            "Skipped: no encryption, so the password is not sent",
        ));
    }
    let reply = match starttls_command(c).await {
        Ok(r) => r,
        Err(o) => return Err(no_tls(c, o, "Skipped: no encryption")),
    };
    let injected = !c.sess.pending().is_empty();
    let info = match c.sess.start_tls(&setup, &c.host).await {
        Ok(info) => info,
        Err(e) => {
            return Err(no_tls(
                c,
                starttls_handshake_failed(&e),
                "Skipped: no encryption",
            ));
        }
    };
    c.cert_problem = info.problem.as_ref().map(|p| p.as_str().to_string());
    let mut o = trust_store_note(tls_outcome(&info, "STARTTLS"), &setup).with_reply(Some(reply));
    if injected {
        mark_injection(&mut o);
    }
    match ehlo_again(c, &mut o).await {
        Some(after) => {
            c.finish(o, t, CheckId::Auth);
            Ok(after)
        }
        None => Err(no_tls(c, o, "Skipped: EHLO after STARTTLS failed")),
    }
}

/// The second EHLO, inside TLS; what it says goes into the `tls` outcome.
async fn ehlo_again(c: &mut Chain<'_>, o: &mut Outcome) -> Option<Caps> {
    let name = helo_name(c.ctx, c.sess.local);
    match ehlo(&mut c.sess, &name).await {
        Ok((r, after)) if r.is_positive() => {
            o.set_view(after.after_tls_view());
            Some(after)
        }
        Ok((r, _)) => {
            o.set_view(view::Tls {
                ehlo_after_tls: Some(r.summary().into()),
                ..Default::default()
            });
            None
        }
        Err(e) => {
            o.set_view(view::Tls {
                ehlo_after_tls: Some(e.to_string().into()),
                ..Default::default()
            });
            None
        }
    }
}

/// The STARTTLS command; a refusal or no answer is the `tls` outcome.
async fn starttls_command(c: &mut Chain<'_>) -> Result<Reply, Outcome> {
    match c.sess.command("STARTTLS").await {
        Ok(r) if r.code == 220 => Ok(r),
        Ok(r) => Err(Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!("The server refused STARTTLS: {}", r.summary()),
        )
        .with_view(mode("STARTTLS"))
        .with_reply(Some(r))),
        Err(e) => Err(Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!("No answer to STARTTLS: {e}"),
        )
        .with_view(mode("STARTTLS"))),
    }
}

fn starttls_handshake_failed(e: &SmtpError) -> Outcome {
    handshake_detail(
        Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!("The TLS handshake after STARTTLS failed: {e}"),
        ),
        e,
    )
    .with_view(view::Tls {
        error: Some(e.to_string()),
        ..mode("STARTTLS")
    })
}

fn mark_injection(o: &mut Outcome) {
    o.set_view(view::Tls {
        plaintext_after_starttls: Some(true),
        ..Default::default()
    });
    if o.status == Status::Pass {
        o.status = Status::Warn;
    }
    o.summary.push_str(
        "; the server sent unencrypted data right after agreeing to STARTTLS (discarded): a sign of a buggy server or of tampering on the way",
    );
}

/// What is wrong with the certificate, in plain words.
fn certificate_words(info: &TlsInfo, problem: &str) -> String {
    let cert = info.certificate.as_ref();
    match problem {
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
        "self-signed" => "The certificate is self-signed: no mail client will trust it".into(),
        "unknown-issuer" => {
            "The certificate is issued by an authority this computer does not trust".into()
        }
        "revoked" => "The certificate has been revoked".into(),
        _ => format!(
            "The certificate is not trusted: {}",
            info.problem_detail.as_deref().unwrap_or("unknown reason")
        ),
    }
}

fn tls_outcome(info: &TlsInfo, how: &str) -> Outcome {
    let cert = info.certificate.as_ref();
    let (v, c) = (&info.version, &info.cipher);
    let (status, summary) = match (&info.problem, cert) {
        (Some(p), _) => (Status::Fail, certificate_words(info, p.as_str())),
        (None, Some(cert)) if cert.days_left < 14 => (
            Status::Warn,
            format!(
                "{how}: {v} {c}; the certificate expires in {} days",
                cert.days_left
            ),
        ),
        (None, Some(cert)) => (
            Status::Pass,
            format!(
                "{how}: {v} {c}; certificate valid for {} more days",
                cert.days_left
            ),
        ),
        (None, None) => (
            Status::Warn,
            format!("{how}: {v} {c}; no certificate details"),
        ),
    };
    let problem = info.problem.as_ref();
    Outcome::new(CheckId::Tls, status, summary).with_view(view::Tls {
        version: Some(v.to_string()),
        cipher: Some(c.to_string()),
        certificate: cert.map(certificate),
        certificate_problem: problem.map(|p| p.as_str().to_string()),
        certificate_error: problem.map(|_| info.problem_detail.clone()),
        ..mode(how)
    })
}

fn certificate(c: &crate::probe::tls::CertInfo) -> view::Certificate {
    view::Certificate {
        subject: Some(c.subject.clone()),
        issuer: Some(c.issuer.clone()),
        names: c.names.clone(),
        not_before: Some(c.not_before.clone()),
        not_after: Some(c.not_after.clone()),
        days_left: Some(c.days_left),
        self_signed: Some(c.self_signed),
        chain_len: Some(c.chain_len as u64),
    }
}

/// The `tls` details naming the encryption mode.
fn mode(how: &str) -> view::Tls {
    view::Tls {
        mode: Some(how.to_string()),
        ..Default::default()
    }
}

/// With no trusted roots on this machine every certificate looks
/// untrusted: say so, rather than blame the server.
fn trust_store_note(mut o: Outcome, setup: &TlsSetup) -> Outcome {
    if setup.system_roots == 0 && setup.extra_roots == 0 && o.status == Status::Fail {
        o.summary.push_str(
            " — but this computer has no trusted root certificates installed (install the ca-certificates package), so no certificate could be trusted",
        );
        o.set_view(view::Tls {
            no_trust_store: Some(true),
            ..Default::default()
        });
    }
    o
}

/// Why a handshake failed when the peer does speak TLS: no protocol
/// version in common (a server still on TLS 1.0/1.1), or no cipher.
fn handshake_failure(e: &SmtpError) -> Option<&'static str> {
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
        o.set_view(view::Tls {
            handshake_failure: Some(kind.to_string()),
            ..Default::default()
        });
        o.summary.push_str(match kind {
            "protocol-version" => ": the server and smtp-doctor share no TLS version (the server likely offers only TLS 1.0 or 1.1, which modern programs refuse)",
            _ => ": the server and smtp-doctor share no cipher",
        });
    }
    o
}

/// A failed implicit-TLS handshake: a port that greets in plain SMTP, or
/// a handshake that did not complete. `banner` is the first line the peer
/// sent, redacted and printable; `raw` its first bytes, for recognizing it.
fn implicit_tls_failure(e: &SmtpError, banner: &str, raw: &[u8], port: u16) -> Outcome {
    if banner.starts_with("220") {
        return Outcome::new(
            CheckId::Tls,
            Status::Fail,
            format!(
                "Port {port} speaks plain SMTP (it greeted with \"{banner}\" before any encryption), so SSL/TLS cannot work here"
            ),
        )
        .with_view(view::Tls {
            mode_mismatch: Some("port-is-plaintext".into()),
            banner: Some(banner.to_string()),
            error: Some(e.to_string()),
            ..mode("implicit TLS")
        });
    }
    let summary = match e {
        SmtpError::Timeout { secs, .. } => {
            format!("No TLS handshake on port {port} within {secs} s")
        }
        other => format!("The TLS handshake on port {port} failed: {other}"),
    };
    handshake_detail(Outcome::new(CheckId::Tls, Status::Fail, summary), e).with_view(view::Tls {
        error: Some(e.to_string()),
        not_smtp: recognize_service(raw).map(|s| s.to_string()),
        ..mode("implicit TLS")
    })
}
