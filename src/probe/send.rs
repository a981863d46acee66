//! `send`: one real test message through the same settings, only when the
//! user asked for it. It goes on the main session's connection right after
//! the relay test, with the login already made (one login per run), and
//! through our own driver, so every read is bounded in time and size and
//! every reply redacted like the rest of the session. lettre only formats
//! the message.

use super::Ctx;
use super::details as view;
use super::model::{CheckId, Outcome, Status};
use super::smtp::{Session, SmtpError};
use crate::reply::Reply;
use lettre::Message;
use lettre::message::header::ContentType;
use std::time::{SystemTime, UNIX_EPOCH};

/// The queue id in a final reply such as Postfix's
/// `250 2.0.0 Ok: queued as 4Xyz12`.
pub fn queue_id(reply: &str) -> Option<String> {
    let lower = reply.to_ascii_lowercase();
    let at = lower.find("queued as ")? + "queued as ".len();
    let id: String = reply[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    (!id.is_empty()).then_some(id)
}

fn message(sender: &str, rcpt: &str) -> Result<Vec<u8>, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let body = format!(
        "This is a test message from smtp-doctor.\r\n\r\nIt was sent on purpose, to check that this mail server accepts and delivers mail from {sender}.\r\nSent at Unix time {now}.\r\n"
    );
    let m = Message::builder()
        .from(sender.parse().map_err(|e| format!("sender: {e}"))?)
        .to(rcpt.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject("smtp-doctor test message")
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    Ok(m.formatted())
}

/// The message as DATA carries it (RFC 5321 §4.5.2): CRLF line ends, a
/// dot doubled at the start of a line, and the lone dot that ends it.
pub fn dot_stuffed(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    let text = msg.strip_suffix(b"\r\n").unwrap_or(msg);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// DATA on the open transaction, the message, and the server's final
/// reply. `cert_problem` is why the server's certificate is not trusted:
/// a mail client would not send over that connection, so neither do we
/// (unless the user insists with `--insecure-login`).
pub(super) async fn data(ctx: &Ctx, sess: &mut Session, cert_problem: Option<&str>) -> Outcome {
    let s = &ctx.settings;
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let base = |status, summary: String| {
        Outcome::new(CheckId::Send, status, summary).with_view(view::SendMessage {
            sender: Some(sender.clone()),
            recipient: Some(rcpt.clone()),
            ..Default::default()
        })
    };
    if let Some(p) = cert_problem
        && !s.insecure_login
    {
        return base(
            Status::Fail,
            format!("The test message was not sent: the server's certificate is not trusted ({p}), and a mail client would refuse the connection too"),
        )
        .with_view(failed("untrusted-certificate".into()));
    }
    let msg = match message(&sender, &rcpt) {
        Ok(m) => m,
        Err(e) => {
            let summary = format!("Could not build the test message: {e}");
            return Outcome::new(CheckId::Send, Status::Error, summary);
        }
    };
    match exchange(sess, &msg).await {
        Ok(r) if r.is_positive() => {
            let reply = r.summary();
            let qid = queue_id(&reply);
            let summary = match &qid {
                Some(q) => format!("Test message accepted for <{rcpt}>, queue id {q}"),
                None => format!("Test message accepted for <{rcpt}>: {reply}"),
            };
            base(Status::Pass, summary)
                .with_reply(Some(r))
                .with_view(view::SendMessage {
                    queue_id: Some(qid),
                    ..Default::default()
                })
        }
        Ok(r) => base(
            Status::Fail,
            format!("The test message was not accepted: {}", r.summary()),
        )
        .with_view(failed(r.summary()))
        .with_reply(Some(r)),
        Err(e) => base(
            Status::Fail,
            format!("The test message was not accepted: {e}"),
        )
        .with_view(failed(e.to_string())),
    }
}

fn failed(error: String) -> view::SendMessage {
    view::SendMessage {
        error: Some(error),
        ..Default::default()
    }
}

async fn exchange(sess: &mut Session, msg: &[u8]) -> Result<Reply, SmtpError> {
    let r = sess.command("DATA").await?;
    if r.code != 354 {
        return Ok(r);
    }
    let shown = format!("(the test message, {} bytes, and \".\")", msg.len());
    sess.send_bytes(&dot_stuffed(msg), &shown).await?;
    sess.read_reply().await
}

#[cfg(test)]
mod tests {
    use super::{dot_stuffed, queue_id};

    #[test]
    fn queue_ids() {
        assert_eq!(
            queue_id("250 2.0.0 Ok: queued as 4XyZ12AbC").as_deref(),
            Some("4XyZ12AbC")
        );
        assert_eq!(queue_id("250 OK id=1rAbCd-0001Ef-2G"), None);
        assert_eq!(queue_id("250 2.0.0 Ok"), None);
    }

    #[test]
    fn data_doubles_leading_dots_and_ends_with_a_lone_dot() {
        assert_eq!(
            dot_stuffed(b"Subject: x\r\n\r\n.hidden\nlast\r\n"),
            b"Subject: x\r\n\r\n..hidden\r\nlast\r\n.\r\n".to_vec()
        );
        assert_eq!(dot_stuffed(b"."), b"..\r\n.\r\n".to_vec());
    }
}
