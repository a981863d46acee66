//! `auth`: one login (never retried: repeated failures lock accounts), with
//! the password over PLAIN or LOGIN, or with an OAuth 2 access token over
//! XOAUTH2 or OAUTHBEARER.
//!
//! The password is withheld from an unencrypted connection (unless the
//! user allowed it for this run) and from a server whose certificate is
//! not trusted (unless `--insecure-login`).
//!
//! One failed login per run, across protocols: servers count failures per
//! account (fail2ban, Microsoft's smart lockout), whatever the protocol.
//! When an incoming server is given, its login goes first and this step
//! waits for it. If it refused the same login and password, the password
//! is wrong, and trying SMTP AUTH would only be a second failure: the login
//! is not tried here, and the finding says why (`attempted: false`). If it
//! accepted, SMTP AUTH is tried, and a refusal then means SMTP login is
//! switched off for the account (or needs an app password) — the one
//! distinction the incoming login is there to make. If it could not tell
//! (no connection, not an IMAP/POP3 server), SMTP AUTH is the only
//! attempt. So a wrong password costs one failure, and a right one still
//! tells "wrong password" from "SMTP login switched off".

use super::super::details as view;
use super::super::incoming::Verdict;
use super::super::model::{CheckId, Outcome, Status};
use super::super::secrets;
use super::super::smtp::{Session, SmtpError};
use super::ehlo::Caps;
use super::{Chain, Step, Stop};
use crate::reply::Reply;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The login state after the `auth` check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Authed {
    Yes,
    /// Authentication is off in the settings: relay runs without login.
    NotAsked,
}

const NO_LOGIN: &str = "Skipped: the login did not succeed";

/// The login step.
pub(super) async fn run(c: &mut Chain<'_>, caps: &Caps) -> Step<Authed> {
    let t = c.ctx.begin(CheckId::Auth);
    let outcome = match before_login(c, caps) {
        Ok(mech) => login(c, caps, mech).await,
        Err(o) => *o,
    };
    let authed = match (outcome.status, c.ctx.settings.auth) {
        (Status::Pass, _) => Some(Authed::Yes),
        (_, false) => Some(Authed::NotAsked),
        _ => None,
    };
    c.finish(outcome, t, CheckId::Relay);
    authed.ok_or_else(|| Stop::new(CheckId::Auth, NO_LOGIN))
}

/// The mechanism to log in with, or the outcome that says why there is no
/// login.
fn before_login(c: &Chain<'_>, caps: &Caps) -> Result<&'static str, Box<Outcome>> {
    let s = &c.ctx.settings;
    let offered = |o: Outcome| o.with_view(offered_view(&caps.auth));
    if !s.auth {
        let why = "Authentication is turned off in the settings";
        return Err(Box::new(offered(Outcome::new(
            CheckId::Auth,
            Status::Skip,
            why,
        ))));
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
        );
        return Err(Box::new(offered(o).with_view(view::Auth {
            withheld_for_certificate: Some(problem.to_string()),
            ..Default::default()
        })));
    }
    if !c.sess.is_tls() && !s.allow_plaintext_auth {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Skip,
            "Not attempted: the connection is not encrypted, and the password would be readable on the network",
        )
        .with_view(view::Auth {
            offered_mechanisms: Some(caps.auth.clone()),
            withheld_unencrypted: Some(true),
            ..Default::default()
        });
        return Err(Box::new(o));
    }
    mechanism(c, caps)
}

/// PLAIN or LOGIN for a password; XOAUTH2 or OAUTHBEARER for a token.
fn mechanism(c: &Chain<'_>, caps: &Caps) -> Result<&'static str, Box<Outcome>> {
    if caps.auth.is_empty() {
        let o = Outcome::new(
            CheckId::Auth,
            Status::Fail,
            format!(
                "The server does not offer login (AUTH) on port {} with this encryption",
                c.port
            ),
        );
        return Err(Box::new(o.with_view(offered_view(&[]))));
    }
    let token = !c.ctx.settings.oauth_token.is_empty();
    let wanted: &[&'static str] = if token {
        &["XOAUTH2", "OAUTHBEARER"]
    } else {
        &["PLAIN", "LOGIN"]
    };
    if let Some(m) = wanted.iter().find(|m| caps.offers(m)) {
        return Ok(m);
    }
    let summary = if token {
        format!(
            "The server offers only {} for login, not XOAUTH2 or OAUTHBEARER, so the access token cannot be used",
            caps.auth.join(", ")
        )
    } else {
        format!(
            "The server offers only {} for login, which smtp-doctor (and most mail clients) cannot use",
            caps.auth.join(", ")
        )
    };
    Err(Box::new(
        Outcome::new(CheckId::Auth, Status::Fail, summary).with_view(view::Auth {
            unsupported_mechanisms: Some(true),
            ..offered_view(&caps.auth)
        }),
    ))
}

/// Waits for the incoming login (when there is one), then logs in once.
async fn login(c: &mut Chain<'_>, caps: &Caps, mech: &'static str) -> Outcome {
    let ctx = c.ctx;
    let s = &ctx.settings;
    let login = s.effective_login().to_string();
    let base = |status, summary: String| {
        Outcome::new(CheckId::Auth, status, summary).with_view(view::Auth {
            mechanism: Some(mech.to_string()),
            login: Some(login.clone()),
            auth_offered: Some(true),
            ..offered_view(&caps.auth)
        })
    };
    if let Some(Verdict::Refused) = incoming_verdict(c).await {
        let proto = s
            .incoming
            .as_ref()
            .map(|i| i.protocol.label())
            .unwrap_or("incoming");
        return base(
            Status::Fail,
            format!(
                "Not tried on the SMTP server: the incoming ({proto}) server already refused the login for {login} with this password, so the password is most likely wrong (a second failed login would count toward locking the account)"
            ),
        )
        .with_view(view::Auth {
            attempted: Some(false),
            refused_by: Some(CheckId::IncomingLogin.as_str().into()),
            ..Default::default()
        });
    }
    let result = match mech {
        "XOAUTH2" | "OAUTHBEARER" => {
            token_exchange(&mut c.sess, mech, &login, s.oauth_token.expose()).await
        }
        _ => password_exchange(&mut c.sess, mech, &login, s.password.expose()).await,
    };
    match result {
        Ok(r) if r.code == 235 => {
            base(Status::Pass, format!("Logged in as {login} ({mech})")).with_reply(Some(r))
        }
        Ok(r) => base(
            Status::Fail,
            format!("The server rejected the login for {login}: {}", r.summary()),
        )
        .with_reply(Some(r)),
        Err(e) => {
            base(Status::Fail, format!("The login did not complete: {e}")).with_view(view::Auth {
                error: Some(e.to_string()),
                ..Default::default()
            })
        }
    }
}

/// The mechanisms the server offers, and whether it offers any.
fn offered_view(mechanisms: &[String]) -> view::Auth {
    view::Auth {
        offered_mechanisms: Some(mechanisms.to_vec()),
        auth_offered: Some(!mechanisms.is_empty()),
        ..Default::default()
    }
}

/// What the incoming login found, when an incoming server is given.
async fn incoming_verdict(c: &Chain<'_>) -> Option<Verdict> {
    c.ctx.settings.incoming.as_ref()?;
    let mut rx = c.ctx.incoming_verdict.subscribe();
    if rx.borrow().is_none() {
        c.ctx.progress(
            CheckId::Auth,
            "waiting for the incoming-mail login first, so a wrong password is tried only once",
        );
    }
    let v = rx.wait_for(Option::is_some).await.ok()?;
    *v
}

/// One AUTH PLAIN or AUTH LOGIN exchange (also discovery's one login).
pub(in crate::probe) async fn password_exchange(
    sess: &mut Session,
    mech: &str,
    login: &str,
    password: &str,
) -> Result<Reply, SmtpError> {
    if mech == "PLAIN" {
        let payload = secrets::plain(login, password);
        sess.send_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN [redacted]")
            .await?;
        let r = sess.read_reply().await?;
        if r.code == 334 {
            // A server that ignores the initial response asks again;
            // answer with "*" (cancel) rather than send the secret twice.
            sess.send("*").await?;
            return sess.read_reply().await;
        }
        return Ok(r);
    }
    let r = sess.command("AUTH LOGIN").await?;
    if r.code != 334 {
        return Ok(r);
    }
    sess.send_secret(&B64.encode(login), "[redacted]").await?;
    let r = sess.read_reply().await?;
    if r.code != 334 {
        return Ok(r);
    }
    sess.send_secret(&B64.encode(password), "[redacted]")
        .await?;
    sess.read_reply().await
}

/// One AUTH XOAUTH2 or OAUTHBEARER exchange with the access token.
async fn token_exchange(
    sess: &mut Session,
    mech: &str,
    login: &str,
    token: &str,
) -> Result<Reply, SmtpError> {
    let payload = if mech == "XOAUTH2" {
        secrets::xoauth2(login, token)
    } else {
        secrets::oauthbearer(login, token)
    };
    sess.send_secret(
        &format!("AUTH {mech} {payload}"),
        &format!("AUTH {mech} [redacted]"),
    )
    .await?;
    let r = sess.read_reply().await?;
    if r.code == 334 {
        // A refused token comes back as a challenge with the error (base64
        // JSON); the client ends the exchange with an empty response
        // (XOAUTH2) or a lone ^A (OAUTHBEARER, RFC 7628 §3.2.3), and the
        // server then gives its final reply.
        let end = if mech == "XOAUTH2" { "" } else { "AQ==" };
        sess.send(end).await?;
        return sess.read_reply().await;
    }
    Ok(r)
}
