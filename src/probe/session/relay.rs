//! `relay`: MAIL FROM and RCPT TO on the main session (after the login),
//! never DATA — unless a real test message was asked for: then `send`
//! follows on the same connection, with the same login, so a run logs in
//! once whether it sends or not.

use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::send;
use super::super::smtp::{Session, SmtpError};
use super::auth::Authed;
use super::ehlo::Caps;
use super::{Chain, Step};
use crate::reply::Reply;

/// The replies to MAIL FROM and (when MAIL was accepted) RCPT TO.
pub(super) type Envelope = Result<(Reply, Option<Reply>), SmtpError>;

/// MAIL FROM and RCPT TO, pipelined when the server allows it; then RSET
/// and QUIT. Never DATA.
pub(super) async fn envelope(
    sess: &mut Session,
    sender: &str,
    rcpt: &str,
    pipelining: bool,
) -> Envelope {
    let mail = format!("MAIL FROM:<{sender}>");
    let to = format!("RCPT TO:<{rcpt}>");
    if pipelining {
        // One write for the whole envelope and its end (RFC 2920: RSET
        // may be pipelined, QUIT ends the group): one round trip in all.
        sess.send_pipelined(&[&mail, &to, "RSET", "QUIT"]).await?;
        let out = pipelined_replies(sess).await?;
        // The replies to RSET and QUIT come in the same flight.
        sess.finish_quit().await;
        return Ok(out);
    }
    let out = one_by_one(sess, &mail, &to).await?;
    sess.rset_and_quit(false).await;
    Ok(out)
}

/// MAIL FROM and RCPT TO, leaving the transaction open for DATA.
async fn open_envelope(sess: &mut Session, sender: &str, rcpt: &str, pipelining: bool) -> Envelope {
    let mail = format!("MAIL FROM:<{sender}>");
    let to = format!("RCPT TO:<{rcpt}>");
    if pipelining {
        sess.send_pipelined(&[&mail, &to]).await?;
        return pipelined_replies(sess).await;
    }
    one_by_one(sess, &mail, &to).await
}

async fn pipelined_replies(sess: &mut Session) -> Envelope {
    let m = sess.read_reply().await?;
    match sess.read_reply().await {
        Ok(r) => Ok((m.clone(), if m.is_positive() { Some(r) } else { None })),
        // A server that refuses MAIL (421 and close, say) may never
        // answer RCPT: its reply to MAIL is the evidence.
        Err(_) if !m.is_positive() => Ok((m, None)),
        Err(e) => Err(e),
    }
}

async fn one_by_one(sess: &mut Session, mail: &str, to: &str) -> Envelope {
    let m = sess.command(mail).await?;
    if !m.is_positive() {
        return Ok((m, None));
    }
    let r = sess.command(to).await?;
    Ok((m, Some(r)))
}

/// The relay step, and the test message after it when one was asked for.
pub(super) async fn run(c: &mut Chain<'_>, caps: &Caps, authed: Authed) -> Step<()> {
    let s = &c.ctx.settings;
    let t = c.ctx.begin(CheckId::Relay);
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let authenticated = authed == Authed::Yes;
    let how = if authenticated {
        "after login"
    } else {
        "without login"
    };
    let sending = s.send_test_message;
    let result = if sending {
        open_envelope(&mut c.sess, &sender, &rcpt, caps.pipelining).await
    } else {
        envelope(&mut c.sess, &sender, &rcpt, caps.pipelining).await
    };
    let o = relay_outcome(CheckId::Relay, result, &sender, &rcpt, how).with_view(view::Relay {
        authenticated: Some(authenticated),
        ..Default::default()
    });
    let passed = o.status == Status::Pass;
    c.finish(o, t, CheckId::Send);
    if sending && passed {
        let t = c.ctx.begin(CheckId::Send);
        let o = send::data(c.ctx, &mut c.sess, c.cert_problem.as_deref()).await;
        c.finish(o, t, CheckId::Send);
    }
    Ok(())
}

pub(super) fn relay_outcome(
    id: CheckId,
    result: Envelope,
    sender: &str,
    rcpt: &str,
    how: &str,
) -> Outcome {
    let base = |status, summary: String| {
        Outcome::new(id, status, summary).with_view(view::Relay {
            sender: Some(sender.to_string()),
            recipient: Some(rcpt.to_string()),
            ..Default::default()
        })
    };
    match result {
        Err(e) => base(
            Status::Error,
            format!("The relay test did not complete: {e}"),
        )
        .with_view(view::Relay {
            error: Some(e.to_string()),
            ..Default::default()
        }),
        Ok((mail, None)) => base(
            Status::Fail,
            format!(
                "The server refused the sender <{sender}> {how}: {}",
                mail.summary()
            ),
        )
        .with_view(view::Relay {
            stage: Some("mail".into()),
            mail_reply: Some(mail.summary()),
            ..Default::default()
        })
        .with_reply(Some(mail)),
        Ok((mail, Some(rcpt_reply))) => {
            let accepted = rcpt_reply.is_positive();
            let (status, summary) = if accepted {
                (
                    Status::Pass,
                    format!("The server accepts mail from <{sender}> to <{rcpt}> {how}"),
                )
            } else {
                (
                    Status::Fail,
                    format!(
                        "The server refused to relay to <{rcpt}> {how}: {}",
                        rcpt_reply.summary()
                    ),
                )
            };
            base(status, summary)
                .with_view(view::Relay {
                    stage: Some("rcpt".into()),
                    accepted: Some(accepted),
                    mail_reply: Some(mail.summary()),
                    rcpt_reply: Some(rcpt_reply.summary()),
                    ..Default::default()
                })
                .with_reply(Some(rcpt_reply))
        }
    }
}
