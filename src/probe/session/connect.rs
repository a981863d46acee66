//! `net.port`: the TCP connection, to up to three of the server's
//! addresses in turn.

use super::super::Ctx;
use super::super::details as view;
use super::super::model::{CheckId, Outcome, Status};
use super::super::smtp::{self, Session};
use super::{Stop, skip_dependents};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Connects and opens the session; `None` when the session cannot start
/// (the dependent checks are then skipped).
pub(super) async fn run(ctx: &Ctx, addrs: &[IpAddr], implicit_tls: bool) -> Option<Session> {
    let port = ctx.settings.port;
    let t = ctx.begin(CheckId::NetPort);
    let (tcp, tried) = attempts(ctx, addrs, port).await;
    let Some((tcp, sa, took)) = tcp else {
        ctx.finish(refused(ctx, port, &tried), t, Vec::new());
        let stop = Stop::new(
            CheckId::NetPort,
            format!("Skipped: could not connect to port {port}"),
        );
        skip_dependents(ctx, &stop, implicit_tls);
        return None;
    };
    let o = Outcome::new(
        CheckId::NetPort,
        Status::Pass,
        format!("Connected to {sa} in {} ms", took.as_millis()),
    )
    .with_view(view::NetPort {
        port: Some(port),
        address: Some(sa.to_string()),
        connect_ms: Some(took.as_millis() as u64),
        attempts: Some(view::values(&tried)),
        ..Default::default()
    });
    ctx.finish(o, t, Vec::new());
    let first = if implicit_tls {
        CheckId::Tls
    } else {
        CheckId::SmtpGreeting
    };
    match Session::new(tcp, ctx.tape(first), ctx.timeout()) {
        Ok(s) => Some(s),
        Err(e) => {
            let why = format!("Skipped: the connection failed at once ({e})");
            skip_dependents(ctx, &Stop::new(CheckId::NetPort, why), implicit_tls);
            None
        }
    }
}

type Connected = Option<(tokio::net::TcpStream, SocketAddr, Duration)>;

/// Tries the addresses in turn; every attempt is reported.
async fn attempts(ctx: &Ctx, addrs: &[IpAddr], port: u16) -> (Connected, Vec<Value>) {
    let mut tried = Vec::new();
    for ip in addrs.iter().take(3) {
        let sa = SocketAddr::new(*ip, port);
        ctx.progress(CheckId::NetPort, format!("connecting to {sa}"));
        let t0 = Instant::now();
        let ms = |t0: Instant| t0.elapsed().as_millis() as u64;
        match smtp::connect(sa, ctx.timeout()).await {
            Ok(s) => {
                tried.push(json!({"address": sa.to_string(), "result": "connected", "ms": ms(t0)}));
                return (Some((s, sa, t0.elapsed())), tried);
            }
            Err((kind, msg)) => tried.push(json!({"address": sa.to_string(), "result": kind.as_str(), "error": msg, "ms": ms(t0)})),
        }
    }
    (None, tried)
}

/// The outcome when no address accepted the connection.
fn refused(ctx: &Ctx, port: u16, tried: &[Value]) -> Outcome {
    let host = ctx.settings.server_name();
    let first = tried
        .first()
        .and_then(|v| v["result"].as_str())
        .unwrap_or("error")
        .to_string();
    let failure = if tried.iter().any(|v| v["result"] == "refused") {
        "refused".to_string()
    } else {
        first
    };
    let summary = match failure.as_str() {
        "refused" => {
            format!("Nothing accepts connections on port {port} of {host} (connection refused)")
        }
        "timed-out" => format!(
            "Port {port} of {host} did not answer within {} s: a firewall is probably dropping it",
            ctx.timeout().as_secs()
        ),
        "unreachable" => format!("{host} cannot be reached from this network (no route)"),
        _ => format!("Could not connect to port {port} of {host}"),
    };
    Outcome::new(CheckId::NetPort, Status::Fail, summary).with_view(view::NetPort {
        port: Some(port),
        failure: Some(failure),
        attempts: Some(view::values(tried)),
        ..Default::default()
    })
}
