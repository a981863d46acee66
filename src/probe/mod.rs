//! The check engine.
//!
//! Checks run concurrently on tokio. Each check starts as soon as what it
//! needs is known: `dns.server` first; then the main SMTP session
//! (`net.port` → [`tls`] → `smtp.greeting` → `smtp.ehlo` → `tls` → `auth` →
//! `relay` → `send`, see `session`), the survey of the other mail ports (`net.ports`) and the
//! anonymous relay test (`relay.anonymous`, once the server has greeted) all
//! at the same time. A run takes about as long as its slowest chain.
//!
//! Checks never print: they emit [`Event`]s on one channel, which the TUI and
//! the CLI consume alike. A run is cancelled by dropping or cancelling its
//! [`Run`]; every network step has a timeout and every read a size bound.

pub mod autodetect;
pub mod details;
pub mod discover;
pub mod dns;
pub mod domains;
mod incoming;
pub mod lookup;
pub mod model;
pub mod ports;
mod secrets;
mod send;
pub mod sender_spf;
mod session;
pub mod smtp;
pub mod tls;

pub use model::{CheckId, Dir, Event, Group, Outcome, Status, TranscriptLine};

use crate::settings::Settings;
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Shared state of one run.
pub(crate) struct Ctx {
    pub settings: Settings,
    pub start: Instant,
    tx: mpsc::UnboundedSender<Event>,
    pub tls: Result<tls::TlsSetup, String>,
    dns: Result<(TokioResolver, String), String>,
    outcomes: Mutex<Vec<Outcome>>,
    /// Every encoding of the password and the token (see [`secrets`]).
    secrets: Vec<Vec<u8>>,
    /// What the incoming-mail login found, once it has finished: the SMTP
    /// login waits for it, so a wrong password fails only once per run.
    pub incoming_verdict: watch::Sender<Option<incoming::Verdict>>,
}

impl Ctx {
    /// The run's resolver (the `--dns` override or the system's).
    pub fn resolver(&self) -> Result<&TokioResolver, String> {
        self.dns.as_ref().map(|(r, _)| r).map_err(Clone::clone)
    }

    pub fn resolver_label(&self) -> &str {
        self.dns
            .as_ref()
            .map(|(_, l)| l.as_str())
            .unwrap_or("no resolver")
    }

    /// Runs a check that produces its outcome in one go.
    pub async fn timed<F: std::future::Future<Output = Outcome>>(&self, id: CheckId, f: F) {
        let t = self.begin(id);
        let mut o = lookup::logged(self, id, f).await;
        let lines = std::mem::take(&mut o.transcript);
        self.finish(o, t, lines);
    }

    pub fn begin(&self, id: CheckId) -> Instant {
        let _ = self.tx.send(Event::Started(id));
        Instant::now()
    }

    pub fn progress(&self, id: CheckId, text: impl Into<String>) {
        let _ = self.tx.send(Event::Progress(id, text.into()));
    }

    /// A transcript for `id` that forwards its lines as events and knows
    /// every secret of the run.
    pub fn tape(&self, id: CheckId) -> smtp::Tape {
        self.with_secrets(smtp::Tape::new(self.start, Some(self.tx.clone()), id))
    }

    /// A transcript that is not shown (the port survey keeps only what it
    /// reports), redacting all the same: banners and replies end up in
    /// findings.
    pub fn quiet_tape(&self, id: CheckId) -> smtp::Tape {
        self.with_secrets(smtp::Tape::new(self.start, None, id))
    }

    fn with_secrets(&self, mut tape: smtp::Tape) -> smtp::Tape {
        for s in &self.secrets {
            tape.add_secret_bytes(s);
        }
        tape
    }

    /// Whether `id` has its outcome.
    pub fn is_finished(&self, id: CheckId) -> bool {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|o| o.id == id)
    }

    /// Records a finished check.
    pub fn finish(&self, mut outcome: Outcome, started: Instant, transcript: Vec<TranscriptLine>) {
        outcome.duration = started.elapsed();
        outcome.transcript = transcript;
        if outcome.id == CheckId::IncomingLogin {
            self.incoming_verdict
                .send_replace(Some(incoming::Verdict::of(&outcome)));
        }
        let _ = self.tx.send(Event::Finished(Box::new(outcome.clone())));
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(outcome);
    }

    /// Marks checks as skipped because something they need failed.
    pub fn skip(&self, ids: &[CheckId], why: &str) {
        for &id in ids {
            let t = self.begin(id);
            self.finish(Outcome::skip(id, why), t, Vec::new());
        }
    }

    pub fn timeout(&self) -> Duration {
        self.settings.timeout()
    }
}

/// A run in progress.
pub struct Run {
    pub events: mpsc::UnboundedReceiver<Event>,
    handle: Option<JoinHandle<Vec<Outcome>>>,
}

impl Run {
    /// Stops the run: every connection is dropped at once.
    pub fn cancel(&self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }

    /// Waits for the end of the run and returns every outcome in check order.
    /// A cancelled run returns what had finished.
    pub async fn finish(mut self) -> Vec<Outcome> {
        match self.handle.take() {
            Some(h) => h.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Starts a run on the current tokio runtime.
pub fn start(settings: Settings) -> Run {
    let (tx, events) = mpsc::unbounded_channel();
    let tls = tls::TlsSetup::load(settings.ca_file.as_deref());
    let dns = dns::resolver(&settings);
    let secrets = secrets::all(
        settings.effective_login(),
        settings.password.expose(),
        settings.oauth_token.expose(),
    );
    let ctx = Arc::new(Ctx {
        settings,
        start: Instant::now(),
        tx,
        tls,
        dns,
        outcomes: Mutex::new(Vec::new()),
        secrets,
        incoming_verdict: watch::channel(None).0,
    });
    let handle = tokio::spawn(async move {
        run_all(&ctx).await;
        // Every check ends with an outcome, even one no path reached.
        let done: Vec<CheckId> = ctx
            .outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|o| o.id)
            .collect();
        for id in CheckId::ALL {
            if !done.contains(&id) {
                ctx.skip(&[id], "Not run");
            }
        }
        let _ = ctx.tx.send(Event::Done);
        let mut out = std::mem::take(&mut *ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner()));
        out.sort_by_key(|o| o.id);
        out
    });
    Run {
        events,
        handle: Some(handle),
    }
}

/// Runs every check and calls `on_event` for each event as it happens.
pub async fn run(settings: Settings, mut on_event: impl FnMut(&Event)) -> Vec<Outcome> {
    let mut run = start(settings);
    while let Some(ev) = run.events.recv().await {
        on_event(&ev);
        if matches!(ev, Event::Done) {
            break;
        }
    }
    run.finish().await
}

/// Runs futures concurrently and returns their outputs in order.
pub(crate) async fn join_all<T, F: std::future::Future<Output = T>>(futs: Vec<F>) -> Vec<T> {
    let mut futs: Vec<Option<std::pin::Pin<Box<F>>>> =
        futs.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in futs.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        out[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

const AFTER_DNS: [CheckId; 9] = [
    CheckId::NetPort,
    CheckId::NetPorts,
    CheckId::SmtpGreeting,
    CheckId::SmtpEhlo,
    CheckId::Tls,
    CheckId::Auth,
    CheckId::Relay,
    CheckId::RelayAnonymous,
    CheckId::Send,
];

/// What the main session learned that other checks wait for: the address
/// the server echoed in EHLO, our local address, and the server address
/// that answered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SessionFacts {
    pub ehlo_echo: Option<IpAddr>,
    pub local: Option<IpAddr>,
}

async fn run_all(ctx: &Ctx) {
    let (facts_tx, facts_rx) = watch::channel(None::<SessionFacts>);
    tokio::join!(
        server_checks(ctx, facts_tx),
        sender_side(ctx, facts_rx),
        ctx.timed(CheckId::RecipientMx, domains::recipient_mx(ctx)),
        ctx.timed(CheckId::SenderDmarc, domains::sender_dmarc(ctx)),
        ctx.timed(CheckId::IncomingLogin, incoming::incoming_login(ctx)),
        ctx.timed(CheckId::Discover, discover::check(ctx)),
    );
}

/// `dns.server`, then the main session (with the real test message when
/// asked), the port survey and the anonymous relay test at once.
async fn server_checks(ctx: &Ctx, facts: watch::Sender<Option<SessionFacts>>) {
    let t = ctx.begin(CheckId::DnsServer);
    let (outcome, addrs) = dns::check_server(ctx).await;
    ctx.finish(outcome, t, Vec::new());
    if addrs.is_empty() {
        let _ = facts.send(Some(SessionFacts::default()));
        ctx.skip(
            &AFTER_DNS,
            "Skipped: the server name did not resolve to an address",
        );
        return;
    }
    // The main session tells the anonymous relay test which address
    // answered and whether the server greeted.
    let (greeted_tx, greeted_rx) = watch::channel(None::<Option<SocketAddr>>);
    let survey_addr: IpAddr = addrs[0];
    tokio::join!(
        session::main_chain(ctx, &addrs, greeted_tx, &facts),
        ports::check_ports(ctx, survey_addr),
        session::anonymous_relay(
            ctx,
            SocketAddr::new(survey_addr, ctx.settings.port),
            greeted_rx
        ),
    );
    facts.send_if_modified(|f| {
        if f.is_none() {
            *f = Some(SessionFacts::default());
            true
        } else {
            false
        }
    });
    // The message itself goes on the main session's connection, after the
    // relay test and with its login: the main session has its outcome when
    // it got that far.
    if !ctx.is_finished(CheckId::Send) {
        let why = if ctx.settings.send_test_message {
            "Skipped: the relay test did not pass, so the message would be refused"
        } else {
            "Not asked: no message is sent unless you choose to send a test message"
        };
        ctx.skip(&[CheckId::Send], why);
    }
}

/// `net.public_ip` (echo services asked at once, the EHLO echo awaited),
/// then `sender.spf`, `net.ptr` and `net.dnsbl` for that address.
async fn sender_side(ctx: &Ctx, mut facts: watch::Receiver<Option<SessionFacts>>) {
    let t = ctx.begin(CheckId::NetPublicIp);
    let wait_facts = async {
        loop {
            if let Some(f) = *facts.borrow_and_update() {
                return f;
            }
            if facts.changed().await.is_err() {
                return SessionFacts::default();
            }
        }
    };
    let echoes = async {
        if ctx.settings.public_ip.is_some() {
            Vec::new()
        } else {
            lookup::logged(ctx, CheckId::NetPublicIp, domains::echo_sightings(ctx)).await
        }
    };
    let (f, sightings) = tokio::join!(wait_facts, echoes);
    let (o, ip) = domains::public_ip(ctx, f.ehlo_echo, f.local, sightings);
    ctx.finish(o, t, Vec::new());
    let Some(ip) = ip else {
        ctx.skip(
            &[CheckId::SenderSpf, CheckId::NetPtr, CheckId::NetDnsbl],
            "Skipped: the public IP address is not known",
        );
        return;
    };
    let dnsbl = async {
        if ctx.settings.dnsbl {
            ctx.timed(CheckId::NetDnsbl, domains::dnsbl(ctx, ip)).await;
        } else {
            ctx.skip(
                &[CheckId::NetDnsbl],
                "Off (turn on blocklist lookups to check them)",
            );
        }
    };
    tokio::join!(
        ctx.timed(CheckId::SenderSpf, sender_spf::sender_spf(ctx, ip)),
        ctx.timed(CheckId::NetPtr, domains::ptr(ctx, ip)),
        dnsbl
    );
}
