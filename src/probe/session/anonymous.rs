//! `relay.anonymous`: the relay test again on a second connection without
//! login. It tells whether this IP may relay without login, and flags an
//! open relay. Nothing secret is sent on it, and its tape redacts like the
//! main session's, so a server that echoes credentials cannot leak them.

use super::super::Ctx;
use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::smtp::{self, Session, Tape};
use super::SESSION_BUDGET;
use super::ehlo::{ehlo, helo_name};
use super::relay::{envelope, relay_outcome};
use crate::reply::Reply;
use crate::settings::Security;
use std::net::SocketAddr;
use tokio::sync::watch;

type Greeted = watch::Receiver<Option<Option<SocketAddr>>>;

const NOT_GREETED: &str = "Skipped: the server did not greet on the main connection";

pub(in crate::probe) async fn anonymous_relay(ctx: &Ctx, addr: SocketAddr, mut greeted: Greeted) {
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
    // does not talk SMTP is not reported twice. It is dropped at once when
    // the main session finds the server does not greet: nothing to learn,
    // and no reason to wait out its timeout.
    let t = ctx.begin(id);
    let mut tape = ctx.tape(id);
    let o = tokio::select! {
        r = anonymous_session(ctx, addr, &mut tape) => match r {
            Ok(o) | Err(o) => o,
        },
        () = main_failed(greeted.clone()) => {
            ctx.skip(&[id], NOT_GREETED);
            return;
        }
    };
    if !greeted_ok(&mut greeted).await {
        ctx.skip(&[id], NOT_GREETED);
        return;
    }
    let mut lines = tape.take();
    lines.sort_by_key(|l| l.t_ms);
    ctx.finish(o, t, lines);
}

/// Ends when the main session reports that the server did not greet;
/// never ends otherwise.
async fn main_failed(mut verdict: Greeted) {
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
}

async fn greeted_ok(greeted: &mut Greeted) -> bool {
    loop {
        if let Some(v) = *greeted.borrow_and_update() {
            return v.is_some();
        }
        if greeted.changed().await.is_err() {
            return false;
        }
    }
}

/// The outcome when the second session ran out of time.
fn too_long(budget: std::time::Duration) -> Outcome {
    err(format!(
        "Took too long: the second session did not finish within {} s (the server answers slowly at every step)",
        budget.as_secs()
    ))
    .with_limit(budget)
}

fn err(summary: String) -> Outcome {
    Outcome::new(CheckId::RelayAnonymous, Status::Error, summary)
}

async fn anonymous_session(
    ctx: &Ctx,
    addr: SocketAddr,
    tape: &mut Tape,
) -> Result<Outcome, Outcome> {
    let id = CheckId::RelayAnonymous;
    let budget = ctx.timeout() * SESSION_BUDGET;
    let deadline = tokio::time::Instant::now() + budget;
    let tcp = smtp::connect(addr, ctx.timeout()).await.map_err(|(k, m)| {
        err(format!(
            "Could not open a second connection ({}): {m}",
            k.as_str()
        ))
    })?;
    let mut sess = Session::new(tcp, std::mem::replace(tape, ctx.tape(id)), ctx.timeout())
        .map_err(|e| err(e.to_string()))?;
    // One deadline for the whole session, like the main one; what was
    // said before it stays in the transcript.
    let result = match tokio::time::timeout_at(deadline, anonymous_steps(ctx, &mut sess)).await {
        Ok(r) => r,
        Err(_) => Err(too_long(budget)),
    };
    // A server that never greeted is not kept waiting for a QUIT reply.
    if result.is_ok() {
        sess.quit_nowait().await;
    }
    *tape = std::mem::replace(&mut sess.tape, ctx.tape(id));
    result
}

async fn anonymous_steps(ctx: &Ctx, sess: &mut Session) -> Result<Outcome, Outcome> {
    let s = &ctx.settings;
    let host = s.server_name().to_string();
    let setup = ctx.tls.as_ref().ok();
    if s.security == Security::Tls {
        let setup = setup.ok_or_else(|| err("TLS could not be set up".into()))?;
        sess.start_tls(setup, &host)
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
    let pipelining = hello(ctx, sess, &host).await?;
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let result = envelope(sess, &sender, &rcpt, pipelining).await;
    Ok(judge(relay_outcome(
        CheckId::RelayAnonymous,
        result,
        &sender,
        &rcpt,
        "without login",
    )))
}

/// EHLO, and STARTTLS with the second EHLO when the settings use it.
/// Returns whether the server allows pipelining.
async fn hello(ctx: &Ctx, sess: &mut Session, host: &str) -> Result<bool, Outcome> {
    let name = helo_name(ctx, sess.local);
    let (_, mut caps) = ehlo(sess, &name)
        .await
        .map_err(|e| err(format!("EHLO failed: {e}")))?;
    if ctx.settings.security == Security::Starttls && caps.starttls {
        let setup = ctx
            .tls
            .as_ref()
            .map_err(|_| err("TLS could not be set up".into()))?;
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
    Ok(caps.pipelining)
}

/// Relaying without login is what an open relay does; refusing is right.
fn suspected(open_relay: bool) -> view::Relay {
    view::Relay {
        open_relay_suspected: Some(open_relay),
        ..Default::default()
    }
}

fn judge(mut o: Outcome) -> Outcome {
    let rcpt = o.detail_str("recipient").unwrap_or_default().to_string();
    match o.status {
        Status::Pass => {
            o.status = Status::Warn;
            o.summary = format!(
                "Without any login the server relays from this IP to <{rcpt}>: either this IP is explicitly allowed, or the server is an open relay"
            );
            o.set_view(suspected(true));
        }
        Status::Fail => {
            o.status = Status::Pass;
            o.summary = format!(
                "Without login the server refuses to relay ({}): not an open relay",
                o.reply.as_ref().map(Reply::summary).unwrap_or_default()
            );
            o.set_view(suspected(false));
        }
        _ => {}
    }
    o
}
