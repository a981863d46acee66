//! `send`: one real test message through the same settings, only when the
//! user asked for it. lettre carries the message; we report the server's
//! final reply and the queue id it gave.

use super::Ctx;
use super::model::{CheckId, Outcome, Status};
use crate::settings::Security;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::net::IpAddr;
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

fn message(sender: &str, rcpt: &str) -> Result<Message, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let body = format!(
        "This is a test message from smtp-doctor.\r\n\r\nIt was sent on purpose, to check that this mail server accepts and delivers mail from {sender}.\r\nSent at Unix time {now}.\r\n"
    );
    Message::builder()
        .from(sender.parse().map_err(|e| format!("sender: {e}"))?)
        .to(rcpt.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject("smtp-doctor test message")
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}

/// Sends the message to `ip` (already resolved, so no other resolver is
/// asked), verifying the certificate against the server name.
pub(super) async fn send(ctx: &Ctx, ip: IpAddr, local: Option<IpAddr>) -> Outcome {
    let id = CheckId::Send;
    let s = &ctx.settings;
    let host = s.server_name().to_string();
    let sender = s.effective_sender().to_string();
    let rcpt = s.recipient.trim().to_string();
    let msg = match message(&sender, &rcpt) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::new(
                id,
                Status::Error,
                format!("Could not build the test message: {e}"),
            );
        }
    };
    let mut params = TlsParameters::builder(host.clone());
    if let Some(path) = &s.ca_file {
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| Certificate::from_pem(&pem).map_err(|e| e.to_string()))
        {
            Ok(c) => params = params.add_root_certificate(c),
            Err(e) => return Outcome::new(id, Status::Error, format!("CA file: {e}")),
        }
    }
    let params = match params.build_rustls() {
        Ok(p) => p,
        Err(e) => return Outcome::new(id, Status::Error, format!("TLS setup: {e}")),
    };
    let tls = match s.security {
        Security::Tls => Tls::Wrapper(params),
        Security::Starttls => Tls::Required(params),
        Security::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(ip.to_string())
        .port(s.port)
        .tls(tls)
        .timeout(Some(ctx.timeout()));
    // The same EHLO name as the checks used, so a server that accepted
    // the relay test sees the same client.
    let helo = s.helo.trim();
    if !helo.is_empty() {
        b = b.hello_name(ClientId::Domain(helo.to_string()));
    } else if let Some(l) = local {
        let literal = match l {
            IpAddr::V4(v4) => format!("[{v4}]"),
            IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
        };
        b = b.hello_name(ClientId::Domain(literal));
    }
    if s.auth {
        b = b.credentials(Credentials::new(
            s.effective_login().to_string(),
            s.password.expose().to_string(),
        ));
    }
    let transport = b.build();
    let base = |status, summary: String| {
        Outcome::new(id, status, summary)
            .with("sender", &sender)
            .with("recipient", &rcpt)
    };
    // lettre's timeout covers each read, not the whole exchange: a server
    // that trickles its replies is bounded here.
    let limit = ctx.timeout() * 4;
    let sent = match tokio::time::timeout(limit, transport.send(msg)).await {
        Ok(r) => r,
        Err(_) => {
            return base(
                Status::Fail,
                format!(
                    "The server did not finish taking the test message within {} s",
                    limit.as_secs()
                ),
            )
            .with("error", "timeout");
        }
    };
    match sent {
        Ok(resp) => {
            let text: Vec<&str> = resp.message().collect();
            let reply = format!("{} {}", resp.code(), text.join(" "));
            let reply = ctx.redact(&reply);
            let qid = queue_id(&reply);
            let mut summary = format!("Test message accepted for <{rcpt}>: {reply}");
            if let Some(q) = &qid {
                summary = format!("Test message accepted for <{rcpt}>, queue id {q}");
            }
            base(Status::Pass, summary)
                .with("reply", &reply)
                .with("queue_id", qid)
        }
        Err(e) => {
            let err = ctx.redact(&e.to_string());
            base(
                Status::Fail,
                format!("The test message was not accepted: {err}"),
            )
            .with("error", err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::queue_id;

    #[test]
    fn queue_ids() {
        assert_eq!(
            queue_id("250 2.0.0 Ok: queued as 4XyZ12AbC").as_deref(),
            Some("4XyZ12AbC")
        );
        assert_eq!(queue_id("250 OK id=1rAbCd-0001Ef-2G"), None);
        assert_eq!(queue_id("250 2.0.0 Ok"), None);
    }
}
