//! `smtp.greeting`: the server's first words, and what a peer that does
//! not greet like a mail server is instead.

use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::smtp::{self, Session, SmtpError, Tape, recognize_service};
use super::super::tls::TlsSetup;
use super::{Chain, Step, Stop};
use crate::reply::Reply;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a silent peer may stay silent before we check, on a second
/// connection, whether it is waiting for a TLS handshake.
const SILENT_TLS_PROBE: Duration = Duration::from_millis(1500);

pub(in crate::probe) enum Greeting {
    Reply(Reply),
    /// Silent on the plain connection, but a TLS handshake succeeds.
    ExpectsTls,
    Failed(SmtpError),
}

/// Waits for the greeting. If the peer stays silent, a second connection
/// checks whether it waits for a TLS handshake, and the wait ends early
/// when it does.
pub(in crate::probe) async fn await_greeting(
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

/// Whether a fresh connection to `addr` completes a TLS handshake. Nothing
/// of it is kept, and nothing secret is sent on it.
async fn speaks_tls(addr: SocketAddr, setup: &TlsSetup, host: &str, timeout: Duration) -> bool {
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
fn greeting_failure(e: &SmtpError, sniffed: &[u8], port: u16) -> (String, Option<&'static str>) {
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

/// The greeting step.
pub(super) async fn run(c: &mut Chain<'_>) -> Step<()> {
    let t = c.ctx.begin(CheckId::SmtpGreeting);
    // On an implicit-TLS connection the handshake already told what the
    // port speaks.
    let probe = match (&c.setup, c.implicit_tls) {
        (Ok(s), false) => Some(s.clone()),
        _ => None,
    };
    let greeting = await_greeting(&mut c.sess, probe.as_ref(), &c.host).await;
    let (o, stop) = match greeting {
        Greeting::Reply(r) if r.code == 220 => {
            let o = Outcome::new(
                CheckId::SmtpGreeting,
                Status::Pass,
                format!("Greeted: {}", r.summary()),
            )
            .with_view(view::Greeting {
                banner: Some(r.text()),
                ..Default::default()
            })
            .with_reply(Some(r));
            c.mark_greeted();
            (o, None)
        }
        Greeting::Reply(r) => refused(r),
        Greeting::ExpectsTls => expects_tls(c.port),
        Greeting::Failed(e) => failed(c, &e),
    };
    c.finish(o, t, CheckId::SmtpEhlo);
    match stop {
        Some(why) => Err(Stop::new(CheckId::SmtpGreeting, why)),
        None => Ok(()),
    }
}

type Found = (Outcome, Option<&'static str>);

fn refused(r: Reply) -> Found {
    let summary = if r.code == 421 || r.code == 554 {
        format!(
            "The server refused the session at greeting: {}",
            r.summary()
        )
    } else {
        format!("Unexpected greeting: {}", r.summary())
    };
    let o = Outcome::new(CheckId::SmtpGreeting, Status::Fail, summary)
        .with_view(view::Greeting {
            refused: Some(true),
            ..Default::default()
        })
        .with_reply(Some(r));
    (o, Some("Skipped: the server refused the session"))
}

fn expects_tls(port: u16) -> Found {
    let o = Outcome::new(
        CheckId::SmtpGreeting,
        Status::Fail,
        format!(
            "Port {port} stays silent on a plain connection but answers a TLS handshake: it expects SSL/TLS from the first byte"
        ),
    )
    .with_view(view::Greeting {
        mode_mismatch: Some("port-expects-tls".into()),
        ..Default::default()
    });
    (
        o,
        Some("Skipped: the encryption setting does not match the port"),
    )
}

fn failed(c: &Chain<'_>, e: &SmtpError) -> Found {
    let (summary, service) = greeting_failure(e, &c.sess.sniffed(), c.port);
    let o = Outcome::new(CheckId::SmtpGreeting, Status::Fail, summary).with_view(view::Greeting {
        error: Some(e.to_string()),
        not_smtp: service.map(|s| s.to_string()),
        silent: e.is_timeout().then_some(true),
        ..Default::default()
    });
    (o, Some("Skipped: the server did not greet"))
}
