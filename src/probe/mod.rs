//! The check engine.
//!
//! Checks run concurrently on tokio. Each check starts as soon as what it
//! needs is known: `dns.server` first; then the main SMTP session
//! (`net.port` → [`tls`] → `smtp.greeting` → `smtp.ehlo` → `tls` → `auth` →
//! `relay`), the survey of the other mail ports (`net.ports`) and the
//! anonymous relay test (`relay.anonymous`, once the server has greeted) all
//! at the same time. A run takes about as long as its slowest chain.
//!
//! Checks never print: they emit [`Event`]s on one channel, which the TUI and
//! the CLI consume alike. A run is cancelled by dropping or cancelling its
//! [`Run`]; every network step has a timeout and every read a size bound.

pub mod dns;
pub mod model;
mod ports;
mod session;
pub mod smtp;
pub mod tls;

pub use model::{CheckId, Dir, Event, Group, Outcome, Status, TranscriptLine};

use crate::settings::Settings;
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
    outcomes: Mutex<Vec<Outcome>>,
}

impl Ctx {
    pub fn begin(&self, id: CheckId) -> Instant {
        let _ = self.tx.send(Event::Started(id));
        Instant::now()
    }

    pub fn progress(&self, id: CheckId, text: impl Into<String>) {
        let _ = self.tx.send(Event::Progress(id, text.into()));
    }

    pub fn tape(&self, id: CheckId) -> smtp::Tape {
        let mut tape = smtp::Tape::new(self.start, Some(self.tx.clone()), id);
        tape.add_secret(self.settings.password.expose());
        tape
    }

    /// Records a finished check.
    pub fn finish(&self, mut outcome: Outcome, started: Instant, transcript: Vec<TranscriptLine>) {
        outcome.duration = started.elapsed();
        outcome.transcript = transcript;
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
    let ctx = Arc::new(Ctx {
        settings,
        start: Instant::now(),
        tx,
        tls,
        outcomes: Mutex::new(Vec::new()),
    });
    let handle = tokio::spawn(async move {
        run_all(&ctx).await;
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

const AFTER_DNS: [CheckId; 8] = [
    CheckId::NetPort,
    CheckId::NetPorts,
    CheckId::SmtpGreeting,
    CheckId::SmtpEhlo,
    CheckId::Tls,
    CheckId::Auth,
    CheckId::Relay,
    CheckId::RelayAnonymous,
];

async fn run_all(ctx: &Ctx) {
    let t = ctx.begin(CheckId::DnsServer);
    let (outcome, addrs) = dns::check_server(&ctx.settings).await;
    ctx.finish(outcome, t, Vec::new());
    if addrs.is_empty() {
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
        session::main_chain(ctx, &addrs, greeted_tx),
        ports::check_ports(ctx, survey_addr),
        session::anonymous_relay(ctx, greeted_rx),
    );
}
