//! The main SMTP session and the anonymous relay test, one module per step:
//! [`connect`] (`net.port`), [`greeting`] (`smtp.greeting`), [`ehlo`]
//! (`smtp.ehlo`), [`encryption`] (`tls`: STARTTLS, implicit TLS or none),
//! [`auth`], [`relay`] (`relay`, then `send` when asked) and [`anonymous`]
//! (`relay.anonymous`).
//!
//! One connection carries the main checks in the order a mail client uses
//! them; each check's transcript is the part of the conversation it covers.
//! A step that cannot go on returns a [`Stop`]; the checks that need it are
//! skipped as [`CheckId::deps_in`] says — the one table of what needs what.
//! The whole session has one deadline besides each step's timeout, so a
//! peer that answers just before every timeout cannot stretch it.

mod anonymous;
mod auth;
mod connect;
mod ehlo;
mod encryption;
mod greeting;
mod relay;

pub(super) use anonymous::anonymous_relay;
pub(in crate::probe) use auth::password_exchange;
pub(super) use ehlo::{Caps, ehlo, helo_name};
pub(super) use greeting::{Greeting, await_greeting};

use super::model::{CheckId, Outcome, Status};
use super::smtp::Session;
use super::tls::TlsSetup;
use super::{Ctx, SessionFacts};
use crate::settings::Security;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The checks of the main session (`send` has its own words when skipped).
const SESSION: [CheckId; 6] = [
    CheckId::NetPort,
    CheckId::SmtpGreeting,
    CheckId::SmtpEhlo,
    CheckId::Tls,
    CheckId::Auth,
    CheckId::Relay,
];

/// How many step timeouts the whole session may take, after the connect
/// (one more when a message is sent).
const SESSION_BUDGET: u32 = 3;

/// A step that cannot go on: the check that decided it (its outcome is
/// recorded) and the words for the checks that need it.
pub(super) struct Stop {
    pub at: CheckId,
    pub why: String,
}

impl Stop {
    pub fn new(at: CheckId, why: impl Into<String>) -> Stop {
        Stop {
            at,
            why: why.into(),
        }
    }
}

pub(super) type Step<T> = Result<T, Stop>;

/// Skips every session check that needs `stop.at`.
fn skip_dependents(ctx: &Ctx, stop: &Stop, implicit_tls: bool) {
    let ids = stop.at.dependents(implicit_tls, &SESSION);
    ctx.skip(&ids, &stop.why);
}

/// The state of the main session as it goes from step to step.
pub(super) struct Chain<'a> {
    pub ctx: &'a Ctx,
    pub sess: Session,
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
    pub setup: Result<TlsSetup, String>,
    facts: &'a watch::Sender<Option<SessionFacts>>,
    greeted: watch::Sender<Option<Option<SocketAddr>>>,
    /// Whether the server greeted with 220.
    pub greeted_ok: bool,
    /// Why the server's certificate is not trusted, when it is not.
    pub cert_problem: Option<String>,
}

impl Chain<'_> {
    /// Records a finished step; the lines that follow belong to `next`.
    pub fn finish(&mut self, o: Outcome, started: Instant, next: CheckId) {
        let lines = self.sess.tape.switch(next);
        self.ctx.finish(o, started, lines);
    }

    /// Tells the anonymous relay test that the server greeted.
    pub fn mark_greeted(&mut self) {
        self.greeted_ok = true;
        self.greeted.send_replace(Some(Some(self.sess.peer)));
    }

    /// Tells the sender-side checks what EHLO taught.
    pub fn share_facts(&self, echo: Option<IpAddr>) {
        let _ = self.facts.send(Some(SessionFacts {
            ehlo_echo: echo,
            local: Some(self.sess.local.ip()),
        }));
    }

    /// The session's checks in the order they run, with `send` when asked.
    fn order(&self) -> Vec<CheckId> {
        let mut ids = SESSION.to_vec();
        ids.sort_by_key(|c| c.depth(self.implicit_tls));
        if self.ctx.settings.send_test_message {
            ids.push(CheckId::Send);
        }
        ids
    }

    /// The deadline passed: the step under way fails as too slow and the
    /// ones after it are skipped.
    fn too_long(&mut self, budget: Duration) {
        let open: Vec<CheckId> = self
            .order()
            .into_iter()
            .filter(|id| !self.ctx.is_finished(*id))
            .collect();
        let Some((&now, rest)) = open.split_first() else {
            return;
        };
        let o = Outcome::new(
            now,
            Status::Error,
            format!(
                "Took too long: the session did not finish within {} s (the server answers slowly at every step)",
                budget.as_secs()
            ),
        )
        .with_limit(budget);
        let lines = self.sess.tape.take();
        self.ctx.finish(o, Instant::now(), lines);
        let rest: Vec<CheckId> = rest
            .iter()
            .copied()
            .filter(|id| *id != CheckId::Send)
            .collect();
        self.ctx.skip(&rest, "Skipped: the session took too long");
    }
}

/// The main session, in the order a mail client would go, ending with the
/// real test message when one was asked for.
pub(super) async fn main_chain(
    ctx: &Ctx,
    addrs: &[IpAddr],
    greeted: watch::Sender<Option<Option<SocketAddr>>>,
    facts: &watch::Sender<Option<SessionFacts>>,
) {
    let implicit_tls = ctx.settings.security == Security::Tls;
    let opened = connect::run(ctx, addrs, implicit_tls).await;
    let Some(sess) = opened else {
        greeted.send_replace(Some(None));
        return;
    };
    let mut chain = Chain {
        ctx,
        host: ctx.settings.server_name().to_string(),
        port: ctx.settings.port,
        implicit_tls,
        setup: ctx.tls.clone(),
        sess,
        facts,
        greeted,
        greeted_ok: false,
        cert_problem: None,
    };
    let mut budget = ctx.timeout() * SESSION_BUDGET;
    if ctx.settings.send_test_message {
        budget += ctx.timeout();
    }
    let deadline = tokio::time::Instant::now() + budget;
    match tokio::time::timeout_at(deadline, steps(&mut chain)).await {
        Ok(Ok(())) => {}
        Ok(Err(stop)) => skip_dependents(ctx, &stop, implicit_tls),
        Err(_) => chain.too_long(budget),
    }
    let ok = chain.greeted_ok;
    chain.greeted.send_if_modified(|g| {
        let first = g.is_none();
        if first {
            *g = Some(None);
        }
        first
    });
    if ok {
        chain.sess.quit().await;
    }
}

/// Every step after the TCP connect, in order.
async fn steps(c: &mut Chain<'_>) -> Step<()> {
    if c.implicit_tls {
        encryption::implicit(c).await?;
    }
    greeting::run(c).await?;
    let caps = ehlo::run(c).await?;
    let caps = encryption::after_ehlo(c, caps).await?;
    let authed = auth::run(c, &caps).await?;
    relay::run(c, &caps, authed).await
}
