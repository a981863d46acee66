//! `smtp.ehlo`: what the server offers (extensions, login mechanisms,
//! STARTTLS) and the client address it sees.

use super::super::Ctx;
use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::smtp::{Session, SmtpError};
use super::{Chain, Step, Stop};
use crate::reply::Reply;
use crate::settings::Security;
use std::net::{IpAddr, SocketAddr};

/// What EHLO told us.
#[derive(Debug, Default, Clone)]
pub(in crate::probe) struct Caps {
    pub keywords: Vec<String>,
    pub auth: Vec<String>,
    pub starttls: bool,
    pub pipelining: bool,
    pub size: Option<u64>,
    pub client_address: Option<String>,
}

impl Caps {
    pub fn from_reply(reply: &Reply) -> Caps {
        let mut caps = Caps::default();
        if let Some(first) = reply.lines.first() {
            caps.client_address = echoed_address(first);
        }
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(kw) = words.next() else { continue };
            let kw_up = kw.to_ascii_uppercase();
            match kw_up.as_str() {
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = words.next().and_then(|w| w.parse().ok()),
                "AUTH" => caps.add_auth(words.map(str::to_string)),
                // Old servers announce AUTH=LOGIN PLAIN.
                _ => {
                    if let Some(rest) = kw_up.strip_prefix("AUTH=") {
                        caps.add_auth(
                            std::iter::once(rest.to_string()).chain(words.map(str::to_string)),
                        );
                    }
                }
            }
            caps.keywords.push(line.trim().to_string());
        }
        caps
    }

    fn add_auth(&mut self, mechs: impl Iterator<Item = String>) {
        for m in mechs {
            let m = m.to_ascii_uppercase();
            if !m.is_empty() && !self.auth.contains(&m) {
                self.auth.push(m);
            }
        }
    }

    pub fn offers(&self, mech: &str) -> bool {
        self.auth.iter().any(|m| m == mech)
    }

    /// The capabilities as the `smtp.ehlo` details.
    pub fn ehlo_view(&self) -> view::Ehlo {
        view::Ehlo {
            capabilities: Some(self.keywords.clone()),
            auth_mechanisms: Some(self.auth.clone()),
            starttls: Some(self.starttls),
            pipelining: Some(self.pipelining),
            size_limit: self.size,
            client_address: self.client_address.clone(),
            ..Default::default()
        }
    }

    /// The capabilities inside TLS, as the `tls` details.
    pub fn after_tls_view(&self) -> view::Tls {
        view::Tls {
            after_tls_capabilities: Some(self.keywords.clone()),
            after_tls_auth_mechanisms: Some(self.auth.clone()),
            after_tls_starttls: Some(self.starttls),
            after_tls_pipelining: Some(self.pipelining),
            after_tls_size_limit: self.size,
            ..Default::default()
        }
    }
}

/// The client address a server echoes in its EHLO reply, as Exim
/// ("Hello name [192.0.2.1]"), Exchange ("Hello [192.0.2.1]") and Gmail
/// ("at your service, [192.0.2.1]") do.
pub(super) fn echoed_address(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']')?;
        let inner = &after[..close];
        let inner = inner.strip_prefix("IPv6:").unwrap_or(inner);
        if inner.parse::<IpAddr>().is_ok() {
            return Some(inner.to_string());
        }
        rest = &after[close..];
    }
    None
}

/// The EHLO name: the user's, or our address literal (RFC 5321 §4.1.3).
pub(in crate::probe) fn helo_name(ctx: &Ctx, local: SocketAddr) -> String {
    let h = ctx.settings.helo.trim();
    if !h.is_empty() {
        return h.to_string();
    }
    match local.ip() {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// Sends EHLO (falling back to HELO for servers that do not know it).
pub(in crate::probe) async fn ehlo(
    sess: &mut Session,
    name: &str,
) -> Result<(Reply, Caps), SmtpError> {
    let reply = sess.command(&format!("EHLO {name}")).await?;
    if reply.code == 250 {
        let caps = Caps::from_reply(&reply);
        return Ok((reply, caps));
    }
    if reply.code == 500 || reply.code == 502 {
        let helo = sess.command(&format!("HELO {name}")).await?;
        return Ok((helo, Caps::default()));
    }
    Ok((reply, Caps::default()))
}

/// The EHLO step.
pub(super) async fn run(c: &mut Chain<'_>) -> Step<Caps> {
    let ctx = c.ctx;
    let t = ctx.begin(CheckId::SmtpEhlo);
    let name = helo_name(ctx, c.sess.local);
    let (o, caps) = match ehlo(&mut c.sess, &name).await {
        Ok((reply, caps)) if reply.is_positive() => {
            let o = passed(&name, &caps, reply);
            c.share_facts(caps.client_address.as_deref().and_then(|a| a.parse().ok()));
            (o, Some(caps))
        }
        Ok((reply, _)) => {
            let o = Outcome::new(
                CheckId::SmtpEhlo,
                Status::Fail,
                format!("The server rejected EHLO {name}: {}", reply.summary()),
            )
            .with_view(view::Ehlo {
                helo_name: Some(name.clone()),
                ..Default::default()
            })
            .with_reply(Some(reply));
            (o, None)
        }
        Err(e) => {
            let o = Outcome::new(
                CheckId::SmtpEhlo,
                Status::Fail,
                format!("No answer to EHLO: {e}"),
            )
            .with_view(view::Ehlo {
                error: Some(e.to_string()),
                ..Default::default()
            });
            (o, None)
        }
    };
    let next = match (&caps, ctx.settings.security) {
        (Some(_), Security::Tls | Security::None) => CheckId::Auth,
        _ => CheckId::Tls,
    };
    c.finish(o, t, next);
    caps.ok_or_else(|| Stop::new(CheckId::SmtpEhlo, "Skipped: EHLO failed"))
}

fn passed(name: &str, caps: &Caps, reply: Reply) -> Outcome {
    let mut summary = if caps.keywords.is_empty() {
        "The server answered EHLO but announced no extensions".to_string()
    } else {
        format!("{} extensions: {}", caps.keywords.len(), short_caps(caps))
    };
    if let Some(ip) = &caps.client_address {
        summary.push_str(&format!("; it sees you as {ip}"));
    }
    Outcome::new(CheckId::SmtpEhlo, Status::Pass, summary)
        .with_view(view::Ehlo {
            helo_name: Some(name.to_string()),
            server_name: Some(reply.lines.first().cloned().unwrap_or_default()),
            ..caps.ehlo_view()
        })
        .with_reply(Some(reply))
}

fn short_caps(caps: &Caps) -> String {
    caps.keywords
        .iter()
        .map(|k| k.split_whitespace().next().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_addresses_from_real_ehlo_lines() {
        assert_eq!(
            echoed_address("mx.example.com Hello client.example [192.0.2.7]"),
            Some("192.0.2.7".into())
        );
        assert_eq!(
            echoed_address("smtp.gmail.com at your service, [2001:db8::5]"),
            Some("2001:db8::5".into())
        );
        assert_eq!(
            echoed_address("mail.example.test Hello [IPv6:2001:db8::1]"),
            Some("2001:db8::1".into())
        );
        assert_eq!(echoed_address("mail.smtpd.test"), None);
        assert_eq!(
            echoed_address("host [not-an-ip] and [198.51.100.2]"),
            Some("198.51.100.2".into())
        );
    }

    #[test]
    fn capabilities_include_unknown_ones_and_old_auth_form() {
        let r = Reply::from_lines(&[
            "250-mail.example.test",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-X-SHINY-NEW",
            "250-AUTH=LOGIN PLAIN",
            "250-AUTH PLAIN LOGIN CRAM-MD5",
            "250 STARTTLS",
        ])
        .unwrap();
        let c = Caps::from_reply(&r);
        assert!(c.pipelining && c.starttls);
        assert_eq!(c.size, Some(10_240_000));
        assert_eq!(c.auth, vec!["LOGIN", "PLAIN", "CRAM-MD5"]);
        assert!(c.keywords.iter().any(|k| k == "X-SHINY-NEW"));
    }
}
