//! `incoming.login`: one login on the incoming server (IMAP or POP3) with
//! the same credentials, then logout.
//!
//! It tells apart what users cannot: when both logins fail the password is
//! wrong; when the incoming login works and SMTP AUTH does not, SMTP login
//! is switched off for the account or needs an app password. One attempt
//! only, and it goes first: the SMTP login waits for its [`Verdict`] and is
//! not tried when this one was refused (see `session/auth.rs`), so a wrong
//! password fails once per run.

use super::Ctx;
use super::details as view;
use super::model::{CheckId, Outcome, Status};
use super::secrets::imap_quote;
use super::smtp::{self, Session, SmtpError};
use crate::settings::{Incoming, IncomingProtocol, Security};
use std::net::SocketAddr;

/// What the incoming login tells the SMTP login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The server accepted the login and password.
    Accepted,
    /// The server refused them.
    Refused,
    /// No answer either way (not run, no connection, not a mail server).
    Unknown,
}

impl Verdict {
    pub fn of(o: &Outcome) -> Verdict {
        match (o.status, o.detail_bool("accepted")) {
            (Status::Pass, _) => Verdict::Accepted,
            (Status::Fail, Some(false)) => Verdict::Refused,
            _ => Verdict::Unknown,
        }
    }
}

/// How many step timeouts the whole incoming login may take.
const BUDGET: u32 = 3;

pub(super) async fn incoming_login(ctx: &Ctx) -> Outcome {
    let budget = ctx.timeout() * BUDGET;
    match tokio::time::timeout(budget, login_once(ctx)).await {
        Ok(o) => o,
        Err(_) => Outcome::new(
            CheckId::IncomingLogin,
            Status::Error,
            format!(
                "Took too long: the incoming login did not finish within {} s",
                budget.as_secs()
            ),
        )
        .with_limit(budget),
    }
}

async fn login_once(ctx: &Ctx) -> Outcome {
    let id = CheckId::IncomingLogin;
    let s = &ctx.settings;
    let Some(inc) = s.incoming.clone() else {
        return Outcome::skip(id, "No incoming server given");
    };
    if !s.auth {
        return Outcome::skip(id, "No login to test (authentication is off)");
    }
    if s.password.is_empty() {
        return Outcome::skip(id, "No password to test (the login uses an access token)");
    }
    let host = inc.server.trim().trim_end_matches('.').to_string();
    let base = |status, summary: String| {
        Outcome::new(id, status, summary).with_view(view::IncomingLogin {
            server: Some(host.clone()),
            port: Some(inc.port),
            protocol: Some(inc.protocol.label().into()),
            security: Some(inc.security.as_str().into()),
            ..Default::default()
        })
    };
    if inc.security == Security::None && !s.allow_plaintext_auth {
        return base(
            Status::Skip,
            "Not attempted: the incoming connection would not be encrypted".into(),
        );
    }
    let mut sess = match open(ctx, &host, inc.port).await {
        Ok(sess) => sess,
        Err((summary, failure)) => {
            let o = base(Status::Error, summary);
            return match failure {
                Some(f) => o.with_view(view::IncomingLogin {
                    failure: Some(f.into()),
                    ..Default::default()
                }),
                None => o,
            };
        }
    };
    let login = s.effective_login().to_string();
    let result = match inc.protocol {
        IncomingProtocol::Imap => imap(ctx, &mut sess, &host, inc.security, &login).await,
        IncomingProtocol::Pop3 => pop3(ctx, &mut sess, &host, inc.security, &login).await,
    };
    let mut o = judge(result, base, &inc, &host, &login);
    o.set_view(view::IncomingLogin {
        login: Some(login),
        ..Default::default()
    });
    o.transcript = sess.tape.take();
    o
}

/// Resolves and connects; the error's words and, for a failed connect,
/// how it failed.
async fn open(ctx: &Ctx, host: &str, port: u16) -> Result<Session, (String, Option<&'static str>)> {
    let ip = resolve(ctx, host).await.map_err(|e| (e, None))?;
    let tcp = smtp::connect(SocketAddr::new(ip, port), ctx.timeout())
        .await
        .map_err(|(k, m)| {
            (
                format!("Could not connect to {host}:{port} ({}): {m}", k.as_str()),
                Some(k.as_str()),
            )
        })?;
    Session::new(tcp, ctx.tape(CheckId::IncomingLogin), ctx.timeout())
        .map_err(|e| (e.to_string(), None))
}

/// The outcome of the login exchange.
fn judge(
    result: Login,
    base: impl Fn(Status, String) -> Outcome,
    inc: &Incoming,
    host: &str,
    login: &str,
) -> Outcome {
    let proto = inc.protocol.label();
    match result {
        Ok(Ok(line)) => base(
            Status::Pass,
            format!("Logged in to {proto} on {host} as {login}"),
        )
        .with_view(answered(true, line)),
        Ok(Err(line)) => base(
            Status::Fail,
            format!("The {proto} server rejected the login for {login}: {line}"),
        )
        .with_view(answered(false, line)),
        Err(SmtpError::Malformed { line }) => base(
            Status::Error,
            format!(
                "{host}:{} does not answer like an {proto} server (it said \"{line}\"): check the incoming server, port and protocol",
                inc.port
            ),
        )
        .with_view(view::IncomingLogin {
            wrong_service: Some(true),
            ..Default::default()
        }),
        Err(e) => base(
            Status::Error,
            format!("The {proto} login did not complete: {e}"),
        ),
    }
}

/// The server's answer to the login.
fn answered(accepted: bool, line: String) -> view::IncomingLogin {
    view::IncomingLogin {
        accepted: Some(accepted),
        reply: view::ReplyFields {
            reply: Some(line),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn resolve(ctx: &Ctx, host: &str) -> Result<std::net::IpAddr, String> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        return Ok(ip);
    }
    let r = ctx.resolver()?;
    let v = super::lookup::ips(r, host)
        .await
        .map_err(|(_, e)| format!("The incoming server {host} does not resolve: {e}"))?;
    v.first()
        .copied()
        .ok_or_else(|| format!("{host} has no address"))
}

type Login = Result<Result<String, String>, SmtpError>;

/// TLS for the incoming session; a certificate that is not trusted ends
/// it before any password is sent (unless the user insists).
async fn tls_if(ctx: &Ctx, sess: &mut Session, host: &str) -> Result<(), SmtpError> {
    let setup = ctx.tls.as_ref().map_err(|e| SmtpError::Tls(e.clone()))?;
    let info = sess.start_tls(setup, host).await?;
    match info.problem {
        Some(p) if !ctx.settings.insecure_login => Err(SmtpError::Tls(format!(
            "the certificate is not trusted ({}), so the password was not sent",
            p.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Not what an incoming mail server says: a wrong server or port, not a
/// wrong password.
fn not_incoming(line: String) -> SmtpError {
    SmtpError::Malformed { line }
}

/// Reads IMAP lines until the tagged response for `tag`, all within one
/// timeout.
async fn imap_tagged(sess: &mut Session, tag: &str) -> Result<String, SmtpError> {
    let limit = sess.timeout();
    let wait = async {
        for _ in 0..50 {
            let line = sess.read_text_line().await?;
            if line.starts_with(&format!("{tag} ")) {
                return Ok(line);
            }
        }
        Err(SmtpError::TooManyLines)
    };
    tokio::time::timeout(limit, wait)
        .await
        .unwrap_or(Err(SmtpError::Timeout {
            secs: limit.as_secs(),
            partial: String::new(),
        }))
}

async fn imap(ctx: &Ctx, sess: &mut Session, host: &str, security: Security, login: &str) -> Login {
    if security == Security::Tls {
        tls_if(ctx, sess, host).await?;
    }
    let greet = sess.read_text_line().await?;
    if !greet.starts_with("* OK") {
        return Err(not_incoming(greet));
    }
    if security == Security::Starttls {
        sess.send("a1 STARTTLS").await?;
        let r = imap_tagged(sess, "a1").await?;
        if !r.starts_with("a1 OK") {
            return Err(SmtpError::Tls(format!("STARTTLS refused: {r}")));
        }
        tls_if(ctx, sess, host).await?;
    }
    let pw = ctx.settings.password.expose();
    let (Some(u), Some(p)) = (imap_quote(login), imap_quote(pw)) else {
        return Ok(Err("the login or password contains a line break".into()));
    };
    sess.tape.add_secret(&p);
    sess.send_secret(
        &format!("a2 LOGIN {u} {p}"),
        &format!("a2 LOGIN {u} [redacted]"),
    )
    .await?;
    let r = imap_tagged(sess, "a2").await?;
    let ok = r.starts_with("a2 OK");
    let _ = sess.send("a3 LOGOUT").await;
    let _ = imap_tagged(sess, "a3").await;
    Ok(if ok { Ok(r) } else { Err(r) })
}

async fn pop3(ctx: &Ctx, sess: &mut Session, host: &str, security: Security, login: &str) -> Login {
    if security == Security::Tls {
        tls_if(ctx, sess, host).await?;
    }
    let greet = sess.read_text_line().await?;
    if !greet.starts_with("+OK") {
        return Err(not_incoming(greet));
    }
    if security == Security::Starttls {
        sess.send("STLS").await?;
        let r = sess.read_text_line().await?;
        if !r.starts_with("+OK") {
            return Err(SmtpError::Tls(format!("STLS refused: {r}")));
        }
        tls_if(ctx, sess, host).await?;
    }
    if login.contains(['\r', '\n']) || ctx.settings.password.expose().contains(['\r', '\n']) {
        return Ok(Err("the login or password contains a line break".into()));
    }
    sess.send(&format!("USER {login}")).await?;
    let r = sess.read_text_line().await?;
    if !r.starts_with("+OK") {
        // Some servers refuse the user name itself for a bad login.
        return Ok(Err(r));
    }
    let pw = ctx.settings.password.expose().to_string();
    sess.send_secret(&format!("PASS {pw}"), "PASS [redacted]")
        .await?;
    let r = sess.read_text_line().await?;
    let ok = r.starts_with("+OK");
    let _ = sess.send("QUIT").await;
    let _ = sess.read_text_line().await;
    Ok(if ok { Ok(r) } else { Err(r) })
}

#[cfg(test)]
mod tests {
    use super::super::secrets::imap_quote;

    #[test]
    fn imap_quoting() {
        assert_eq!(imap_quote("a\"b\\c").unwrap(), "\"a\\\"b\\\\c\"");
        assert!(imap_quote("line\r\nbreak").is_none());
    }
}
