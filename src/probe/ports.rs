//! `net.ports`: the usual mail submission ports (25, 465, 587, 2525) probed
//! in parallel, each with what it speaks and whether it offers STARTTLS and
//! AUTH — the alternatives a user can switch to when the chosen port fails.

use super::Ctx;
use super::details as view;
use super::model::{CheckId, Outcome, Status};
use super::session::{Caps, Greeting, await_greeting, ehlo, helo_name};
use super::smtp::{self, Session, recognize_service};
use super::tls::TlsSetup;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub const SURVEY_PORTS: [u16; 4] = [25, 465, 587, 2525];

impl From<&PortReport> for view::PortRow {
    fn from(r: &PortReport) -> view::PortRow {
        let PortReport {
            port,
            state,
            connect_ms,
            speaks,
            banner,
            starttls,
            auth,
            note,
        } = r.clone();
        view::PortRow {
            port,
            state,
            speaks,
            starttls: Some(starttls),
            auth,
            banner,
            connect_ms,
            note,
        }
    }
}

/// What one port turned out to be.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PortReport {
    pub port: u16,
    /// connected, refused, timed-out, unreachable, error
    pub state: String,
    pub connect_ms: Option<u64>,
    /// smtp, smtp-tls (implicit TLS), other, silent, unknown
    pub speaks: Option<String>,
    pub banner: Option<String>,
    pub starttls: bool,
    pub auth: Vec<String>,
    pub note: Option<String>,
}

impl PortReport {
    pub fn is_smtp(&self) -> bool {
        matches!(self.speaks.as_deref(), Some("smtp" | "smtp-tls"))
    }
}

pub(super) async fn check_ports(ctx: &Ctx, ip: IpAddr) {
    let t = ctx.begin(CheckId::NetPorts);
    let host = ctx.settings.server_name().to_string();
    let setup = ctx.tls.as_ref().ok();
    let timeout = ctx.timeout();
    let probes =
        SURVEY_PORTS.map(|p| probe_port(ctx, SocketAddr::new(ip, p), setup, &host, timeout));
    let [a, b, c, d] = probes;
    let (a, b, c, d) = tokio::join!(a, b, c, d);
    let reports = [a, b, c, d];
    let smtp: Vec<String> = reports
        .iter()
        .filter(|r| r.is_smtp())
        .map(|r| {
            let mut s = format!("{}", r.port);
            let mut tags = Vec::new();
            if r.speaks.as_deref() == Some("smtp-tls") {
                tags.push("SSL/TLS".to_string());
            }
            if r.starttls {
                tags.push("STARTTLS".into());
            }
            if !r.auth.is_empty() {
                tags.push("AUTH".into());
            }
            if !tags.is_empty() {
                s.push_str(&format!(" ({})", tags.join(", ")));
            }
            s
        })
        .collect();
    let closed: Vec<String> = reports
        .iter()
        .filter(|r| !r.is_smtp())
        .map(|r| format!("{} {}", r.port, r.speaks.as_deref().unwrap_or(&r.state)))
        .collect();
    let (status, mut summary) = if smtp.is_empty() {
        (
            Status::Warn,
            "No usual mail port answers with SMTP".to_string(),
        )
    } else {
        (Status::Pass, format!("SMTP on {}", smtp.join(", ")))
    };
    if !closed.is_empty() {
        summary.push_str(&format!("; not usable: {}", closed.join(", ")));
    }
    let o = Outcome::new(CheckId::NetPorts, status, summary).with_view(view::NetPorts {
        address: Some(ip.to_string()),
        ports: Some(reports.iter().map(view::PortRow::from).collect()),
        ..Default::default()
    });
    ctx.finish(o, t, Vec::new());
}

/// Probes one port within one timeout in all.
async fn probe_port(
    ctx: &Ctx,
    addr: SocketAddr,
    setup: Option<&TlsSetup>,
    host: &str,
    timeout: Duration,
) -> PortReport {
    let mut rep = PortReport {
        port: addr.port(),
        ..PortReport::default()
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let work = async {
        let t0 = Instant::now();
        let tcp = match smtp::connect(addr, timeout).await {
            Ok(s) => s,
            Err((kind, msg)) => {
                rep.state = kind.as_str().into();
                rep.note = Some(msg);
                return;
            }
        };
        rep.state = "connected".into();
        rep.connect_ms = Some(t0.elapsed().as_millis() as u64);
        // Nothing secret is sent here, but a server may echo anything:
        // banners and replies kept in the report are redacted all the same.
        let tape = ctx.quiet_tape(CheckId::NetPorts);
        let Ok(mut sess) = Session::new(tcp, tape, timeout) else {
            return;
        };
        if addr.port() == 465
            && let Some(setup) = setup
        {
            match sess.start_tls(setup, host).await {
                Ok(_) => {
                    rep.speaks = Some("smtp-tls".into());
                    survey_smtp(ctx, &mut sess, &mut rep, None, host).await;
                }
                Err(e) => {
                    let banner = sess.sniffed_line();
                    if banner.starts_with("220") {
                        rep.speaks = Some("smtp".into());
                        rep.banner = Some(banner);
                        rep.note = Some("plain SMTP, not SSL/TLS".into());
                    } else {
                        rep.speaks = Some("unknown".into());
                        rep.note = Some(e.to_string());
                    }
                }
            }
            return;
        }
        survey_smtp(ctx, &mut sess, &mut rep, setup, host).await;
    };
    if tokio::time::timeout_at(deadline, work).await.is_err() && rep.speaks.is_none() {
        rep.speaks = Some("silent".into());
    }
    rep
}

/// Reads the greeting (detecting an implicit-TLS port on the way), then
/// EHLO for the capabilities, then QUIT.
async fn survey_smtp(
    ctx: &Ctx,
    sess: &mut Session,
    rep: &mut PortReport,
    setup: Option<&TlsSetup>,
    host: &str,
) {
    let plain = !sess.is_tls();
    match await_greeting(sess, setup, host).await {
        Greeting::Reply(r) if r.code == 220 => {
            if plain {
                rep.speaks = Some("smtp".into());
            }
            rep.banner = Some(r.summary());
        }
        Greeting::Reply(r) => {
            rep.speaks = Some(if plain { "smtp" } else { "smtp-tls" }.into());
            rep.banner = Some(r.summary());
            rep.note = Some("refused the session".into());
            return;
        }
        Greeting::ExpectsTls => {
            rep.speaks = Some("smtp-tls".into());
            rep.note = Some("silent until a TLS handshake".into());
            return;
        }
        Greeting::Failed(e) => {
            let svc = recognize_service(&sess.sniffed());
            rep.speaks = Some(if e.is_timeout() { "silent" } else { "other" }.into());
            rep.note = Some(svc.map(str::to_string).unwrap_or_else(|| e.to_string()));
            return;
        }
    }
    let name = helo_name(ctx, sess.local);
    let Ok((r, caps)) = ehlo(sess, &name).await else {
        return;
    };
    if !r.is_positive() {
        return;
    }
    apply_caps(rep, &caps);
    // Many servers offer AUTH only after STARTTLS: look behind it too.
    if plain
        && caps.starttls
        && let Some(setup) = setup
        && matches!(sess.command("STARTTLS").await, Ok(r) if r.code == 220)
        && sess.start_tls(setup, host).await.is_ok()
        && let Ok((r, after)) = ehlo(sess, &name).await
        && r.is_positive()
    {
        for m in after.auth {
            if !rep.auth.contains(&m) {
                rep.auth.push(m);
            }
        }
    }
    sess.quit_nowait().await;
}

fn apply_caps(rep: &mut PortReport, caps: &Caps) {
    rep.starttls = caps.starttls;
    rep.auth = caps.auth.clone();
}
