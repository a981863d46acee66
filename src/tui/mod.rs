//! The terminal front end: a wizard novices can follow, the checks running
//! live in panes, and the most likely cause highlighted with its fixes.
//!
//! The shape is Elm-like ([`app`]): all state in one [`App`], one
//! [`Msg`] enum arriving on one channel (keys from an input thread, engine
//! events from the run, signals), a pure-ish `update` that returns
//! [`Effect`]s, and a `render` that only reads the state. The loop here is
//! the only code that touches the terminal, the network or the disk.
//!
//! Over SSH every byte counts: the screen is redrawn only when a message
//! changed something, and the spinner's clock runs only while checks run,
//! so an idle screen sends nothing. The terminal is restored on every exit:
//! `q`, Ctrl-C, an error (the guard's `Drop`), a panic (the hook restores
//! before the message is printed), SIGTERM and SIGHUP (turned into a quit
//! message). Nothing is ever logged to the screen.
//!
//! Defaults for a new check come from environment variables, for networks
//! with their own DNS or CA: `SMTP_DOCTOR_DNS` (IP[:PORT] of a DNS server),
//! `SMTP_DOCTOR_CA_FILE` (a PEM file of extra CAs) and
//! `SMTP_DOCTOR_ECHO_DNS` (the DNS server for the public-IP echo names).
//! The first two can also be set in the wizard's advanced step (key `a` on
//! the review).

pub mod app;
pub mod dashboard;
pub mod explain;
pub mod field;
pub mod finding;
pub mod modal;
pub mod start;
pub mod theme;
pub mod view;
pub mod wizard;

pub use app::{App, Effect, ListedProfile, Msg, Screen};
pub use theme::Theme;

use crate::clientconf::{self, Client};
use crate::exit::{
    EXIT_INTERNAL, EXIT_OK, EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, Exit,
};
use crate::probe::{self, Event};
use crate::profile::Store;
use crate::report::Format;
use crate::settings::{Password, Settings};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self as cevent, DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// Environment variable: the DNS server for new checks.
pub const DNS_ENV: &str = "SMTP_DOCTOR_DNS";
/// Environment variable: extra CA certificates for new checks.
pub const CA_ENV: &str = "SMTP_DOCTOR_CA_FILE";
/// Environment variable: the DNS server asked for the public-IP echo names
/// (the test bed points it at its own DNS, as `check --echo-dns` does).
pub const ECHO_DNS_ENV: &str = "SMTP_DOCTOR_ECHO_DNS";

/// The spinner's period while checks run.
const TICK: Duration = Duration::from_millis(150);
/// Messages handled before the next frame, so a burst of transcript lines
/// costs one redraw.
const BATCH: usize = 256;

/// The starting settings of a new check.
pub fn env_defaults() -> Settings {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    Settings {
        dns: var(DNS_ENV),
        echo_dns: var(ECHO_DNS_ENV),
        ca_file: var(CA_ENV).map(PathBuf::from),
        ..Settings::default()
    }
}

/// Draws the whole screen from the state; nothing drawn can hold a
/// control or bidirectional character ([`theme::sanitize_buffer`]).
pub fn render(app: &App, frame: &mut ratatui::Frame) {
    view::render(app, frame);
    theme::sanitize_buffer(frame.buffer_mut());
}

fn listed(store: &Store) -> Result<Vec<ListedProfile>, String> {
    let entries = store.list().map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .map(|e| ListedProfile {
            name: e.name,
            path: e.path,
            profile: e.profile.map_err(|err| err.to_string()),
        })
        .collect())
}

/// `smtp-doctor` without a command.
pub async fn run(ascii: bool) -> Result<u8, Exit> {
    let (app, store) = new_app(ascii);
    run_app(app, store, vec![Effect::LoadProfiles]).await
}

/// `smtp-doctor demo`: the whole app against a scripted server on loopback.
pub async fn demo(ascii: bool) -> Result<u8, Exit> {
    let server = crate::demo::DemoServer::start()
        .await
        .map_err(|e| Exit(EXIT_INTERNAL, format!("cannot start the demo server: {e}")))?;
    let settings = server.settings();
    let (mut app, store) = new_app(ascii);
    let mut effects = app.begin_run(settings, None, false);
    effects.push(Effect::LoadProfiles);
    app.set_flash(
        format!(
            "Demo: a scripted mail server on 127.0.0.1:{} refuses to relay without a login. Try the fix: press e, then 4; the demo password is {}.",
            server.port(),
            crate::demo::DEMO_PASSWORD
        ),
        false,
    );
    let code = run_app(app, store, effects).await;
    drop(server);
    code
}

fn new_app(ascii: bool) -> (App, Result<Store, String>) {
    let store = Store::open_default().map_err(|e| e.to_string());
    let dir = store
        .as_ref()
        .map(|s| s.dir().to_path_buf())
        .unwrap_or_default();
    let mut app = App::new(Theme::from_env(ascii), dir, env_defaults());
    app.export_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    (app, store)
}

/// Carries out effects: the only place with I/O besides the terminal.
struct Runtime {
    tx: UnboundedSender<Msg>,
    store: Result<Store, String>,
    run: Option<JoinHandle<()>>,
}

impl Runtime {
    fn cancel(&mut self) {
        // Dropping the run (with the aborted task) cancels every check.
        if let Some(h) = self.run.take() {
            h.abort();
        }
    }

    /// Runs `work` on a blocking thread and posts its message to the loop.
    /// Everything that touches the disk goes this way: a profile folder on
    /// a hung network file system, or a FIFO where a file should be, must
    /// never stop the loop from answering q, Ctrl-C and signals.
    fn off_loop(&self, work: impl FnOnce() -> Msg + Send + 'static) {
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(work());
        });
    }

    /// The store, for a blocking thread.
    fn store_owned(&self) -> Result<Store, String> {
        self.store.clone()
    }

    fn perform(&mut self, app: &App, effect: Effect) -> Option<Msg> {
        match effect {
            Effect::StartRun { run_id, settings } => {
                self.cancel();
                let tx = self.tx.clone();
                self.run = Some(tokio::spawn(async move {
                    // Loading the system's and the user's CA certificates
                    // reads files: on a blocking thread, like the store.
                    let Ok(mut run) =
                        tokio::task::spawn_blocking(move || probe::start(settings)).await
                    else {
                        return;
                    };
                    while let Some(event) = run.events.recv().await {
                        let done = matches!(event, Event::Done);
                        if tx.send(Msg::Probe { run_id, event }).is_err() || done {
                            break;
                        }
                    }
                }));
                None
            }
            Effect::CancelRun => {
                self.cancel();
                None
            }
            Effect::LoadProfiles => {
                let store = self.store_owned();
                self.off_loop(move || {
                    Msg::Profiles(store.as_ref().map_err(Clone::clone).and_then(listed))
                });
                None
            }
            Effect::SaveProfile { profile, overwrite } => {
                let store = self.store_owned();
                self.off_loop(move || {
                    Msg::ProfileSaved(store.and_then(|s| {
                        s.save(&profile, overwrite)
                            .map(|p| (profile.name.clone(), p))
                            .map_err(|e| e.to_string())
                    }))
                });
                None
            }
            Effect::DeleteProfile(name) => {
                let store = self.store_owned();
                self.off_loop(move || {
                    Msg::ProfileChanged(store.and_then(|s| {
                        s.delete(&name)
                            .map(|p| format!("Deleted profile \"{name}\" ({})", p.display()))
                            .map_err(|e| e.to_string())
                    }))
                });
                None
            }
            Effect::RenameProfile { from, to } => {
                let store = self.store_owned();
                self.off_loop(move || {
                    Msg::ProfileChanged(store.and_then(|s| {
                        s.rename(&from, &to)
                            .map(|_| format!("Renamed profile \"{from}\" to \"{to}\""))
                            .map_err(|e| e.to_string())
                    }))
                });
                None
            }
            Effect::DuplicateProfile { from, to } => {
                let store = self.store_owned();
                self.off_loop(move || {
                    Msg::ProfileChanged(store.and_then(|s| {
                        s.duplicate(&from, &to)
                            .map(|_| format!("Copied profile \"{from}\" to \"{to}\""))
                            .map_err(|e| e.to_string())
                    }))
                });
                None
            }
            Effect::Export(format) => match export_job(app, format) {
                Ok(job) => {
                    self.off_loop(move || Msg::Exported(job.write()));
                    None
                }
                Err(e) => Some(Msg::Exported(Err(e))),
            },
            Effect::ExportClient { client, settings } => {
                let dir = app.export_dir.clone();
                self.off_loop(move || write_client_export(&dir, client, &settings));
                None
            }
            Effect::DetectProvider { domain, settings } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let found = probe::autodetect::detect(&settings, &domain).await;
                    let msg = match (found.provider, found.srv) {
                        (Some(provider), _) => Msg::ProviderDetected { domain, provider },
                        (None, Some((server, port, security))) => Msg::SrvDetected {
                            domain,
                            server,
                            port,
                            security,
                        },
                        (None, None) => return,
                    };
                    let _ = tx.send(msg);
                });
                None
            }
            Effect::Discover(settings) => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(wizard::find_settings(*settings).await);
                });
                None
            }
            Effect::TriageLog { id, path } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let opts = crate::logscan::Options::default();
                    let result = crate::logscan::scan_path(&path, &opts)
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::LogTriaged { id, result });
                });
                None
            }
        }
    }
}

/// A report to write: made on the loop (it reads the state), written on a
/// blocking thread.
struct ExportJob {
    dir: PathBuf,
    stem: String,
    ext: &'static str,
    text: String,
}

impl ExportJob {
    /// Writes the report next to the user, never over a file: the working
    /// directory first, the home directory when that is not writable.
    fn write(self) -> Result<PathBuf, String> {
        let ExportJob {
            dir,
            stem,
            ext,
            text,
        } = self;
        write_new(&dir, &stem, ext, text.as_bytes()).or_else(|first| {
            match std::env::var_os("HOME").map(PathBuf::from) {
                Some(home) if home != dir => {
                    write_new(&home, &stem, ext, text.as_bytes()).map_err(|_| first)
                }
                _ => Err(first),
            }
        })
    }
}

/// The dashboard's report, ready to be written.
fn export_job(app: &App, format: Format) -> Result<ExportJob, String> {
    let Screen::Dashboard(d) = &app.screen else {
        return Err("there is no report on this screen".into());
    };
    let text = d.report(format);
    let ext = match format {
        Format::Json => "json",
        Format::Markdown => "md",
        Format::Text => "txt",
    };
    let server: String = d
        .settings
        .server_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stem = format!("smtp-doctor-{server}-{}", utc_stamp(secs));
    Ok(ExportJob {
        dir: app.export_dir.clone(),
        stem,
        ext,
        text,
    })
}

/// Carries out [`Effect::ExportClient`] (on a blocking thread): writes
/// the settings for `client` into `dir` as `smtp-doctor config --client`
/// prints them without `--include-password`, each file named
/// `smtp-doctor-` and the export's own name (`-2`… before the extension
/// when taken: nothing is replaced), readable only by the user (msmtp
/// insists on that for its file). The password is never written: it is
/// dropped from the settings here too. When one file cannot be written,
/// those already written are removed again.
pub fn write_client_export(dir: &Path, client: Client, settings: &Settings) -> Msg {
    Msg::ClientExported(client_files(dir, client, settings).map(|paths| (client, paths)))
}

fn client_files(dir: &Path, client: Client, settings: &Settings) -> Result<Vec<PathBuf>, String> {
    let mut settings = settings.clone();
    settings.password = Password::default();
    if let Some(ca) = &settings.ca_file {
        // The mail program may start in another directory.
        if let Ok(abs) = std::fs::canonicalize(ca) {
            settings.ca_file = Some(abs);
        }
    }
    let export = clientconf::generate(&settings, client, &clientconf::Options::default())?;
    let mut written = Vec::new();
    for f in &export.files {
        let name = modal::client_file_name(&f.name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) => (stem, ext),
            None => (name.as_str(), ""),
        };
        match create_new(dir, stem, ext, f.content.as_bytes(), Some(0o600)) {
            Ok(path) => written.push(path),
            Err(e) => {
                for p in &written {
                    let _ = std::fs::remove_file(p);
                }
                return Err(e);
            }
        }
    }
    Ok(written)
}

/// Creates `dir/stem.ext` (or `stem-2.ext`…) without replacing anything.
fn write_new(dir: &Path, stem: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    create_new(dir, stem, ext, bytes, None)
}

/// Creates `dir/stem.ext` (`dir/stem` when `ext` is empty), or
/// `stem-2.ext`… when taken, with this file mode if given.
fn create_new(
    dir: &Path,
    stem: &str,
    ext: &str,
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let dot = if ext.is_empty() { "" } else { "." };
    for n in 1..100 {
        let name = if n == 1 {
            format!("{stem}{dot}{ext}")
        } else {
            format!("{stem}-{n}{dot}{ext}")
        };
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        match options.open(&path) {
            Ok(mut f) => {
                f.write_all(bytes)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok(path.canonicalize().unwrap_or(path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!("too many files named {stem} in {}", dir.display()))
}

/// `20260501-142233` (UTC) from Unix seconds.
pub fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Restores the terminal: main screen, cooked mode, visible cursor.
/// Errors are ignored: after SIGHUP there is no terminal left to restore.
fn restore_terminal() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Restores the terminal when dropped, whatever the way out.
struct TermGuard;

impl TermGuard {
    fn enter() -> io::Result<TermGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let guard = TermGuard;
        execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
        Ok(guard)
    }
}

impl Drop for TermGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic anywhere restores the terminal first, so its message lands on
/// a readable screen, then ends the program.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
            std::process::exit(i32::from(EXIT_INTERNAL));
        }));
    });
}

/// Reads the terminal on a thread of its own and posts keys, pastes and
/// resizes to the loop.
fn spawn_input(tx: UnboundedSender<Msg>) {
    let fallback = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("smtp-doctor-input".into())
        .spawn(move || {
            loop {
                if tx.is_closed() {
                    return;
                }
                let msg = match cevent::poll(Duration::from_millis(250)) {
                    Ok(false) => continue,
                    Ok(true) => match cevent::read() {
                        Ok(cevent::Event::Key(k)) => Msg::Key(k),
                        Ok(cevent::Event::Paste(s)) => Msg::Paste(s),
                        Ok(cevent::Event::Resize(..)) => Msg::Resize,
                        Ok(_) => continue,
                        Err(_) => Msg::Quit,
                    },
                    Err(_) => Msg::Quit,
                };
                let end = matches!(msg, Msg::Quit);
                if tx.send(msg).is_err() || end {
                    return;
                }
            }
        });
    if spawned.is_err() {
        let _ = fallback.send(Msg::Quit);
    }
}

/// The exit code a signal or Ctrl-C asked for (0: none did).
static ENDED_BY: AtomicU8 = AtomicU8::new(0);

/// SIGTERM, SIGHUP and SIGINT become a quit message, so the loop ends and
/// the guard restores the terminal; the program then ends with 128 + the
/// signal number.
fn spawn_signals(tx: &UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, code) in [
        (SignalKind::terminate(), EXIT_SIGTERM),
        (SignalKind::hangup(), EXIT_SIGHUP),
        (SignalKind::interrupt(), EXIT_SIGINT),
    ] {
        if let Ok(mut s) = signal(kind) {
            let tx = tx.clone();
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = ENDED_BY.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
                    let _ = tx.send(Msg::Quit);
                }
            });
        }
    }
}

/// Ctrl-C typed on the screen ends it as SIGINT would (130).
fn note_ctrl_c(msg: &Msg) {
    if let Msg::Key(k) = msg
        && k.code == cevent::KeyCode::Char('c')
        && k.modifiers.contains(cevent::KeyModifiers::CONTROL)
    {
        let _ = ENDED_BY.compare_exchange(0, EXIT_SIGINT, Ordering::SeqCst, Ordering::SeqCst);
    }
}

async fn run_app(
    mut app: App,
    store: Result<Store, String>,
    initial: Vec<Effect>,
) -> Result<u8, Exit> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(Exit(
            EXIT_USAGE,
            "the interactive screen needs a terminal; in scripts use `smtp-doctor check ...` (see --help)"
                .into(),
        ));
    }
    if theme::Terminal::from_env().dumb {
        return Err(Exit(
            EXIT_USAGE,
            "the interactive screen cannot run on this terminal (TERM=dumb: it cannot move the cursor); use the command line instead: `smtp-doctor check --help`"
                .into(),
        ));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut rt = Runtime {
        tx: tx.clone(),
        store,
        run: None,
    };
    spawn_signals(&tx);
    let guard = TermGuard::enter()
        .map_err(|e| Exit(EXIT_INTERNAL, format!("cannot use the terminal: {e}")))?;
    let result = match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(mut terminal) => {
            spawn_input(tx.clone());
            drop(tx);
            let r = event_loop(&mut terminal, &mut app, &mut rt, &mut rx, initial).await;
            let _ = terminal.show_cursor();
            r
        }
        Err(e) => Err(e),
    };
    rt.cancel();
    drop(guard);
    result
        .map(|_| match ENDED_BY.load(Ordering::SeqCst) {
            0 => EXIT_OK,
            code => code,
        })
        .map_err(|e| Exit(EXIT_INTERNAL, format!("the terminal failed: {e}")))
}

fn dispatch(app: &mut App, rt: &mut Runtime, effects: Vec<Effect>) {
    let mut queue = VecDeque::from(effects);
    while let Some(e) = queue.pop_front() {
        if let Some(msg) = rt.perform(app, e) {
            queue.extend(app.update(msg));
        }
    }
}

async fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    rt: &mut Runtime,
    rx: &mut UnboundedReceiver<Msg>,
    initial: Vec<Effect>,
) -> Result<(), B::Error> {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    dispatch(app, rt, initial);
    loop {
        if app.quit {
            return Ok(());
        }
        if app.dirty {
            terminal.draw(|f| render(app, f))?;
            app.dirty = false;
        }
        let msg = tokio::select! {
            m = rx.recv() => match m {
                Some(m) => m,
                None => return Ok(()),
            },
            _ = ticker.tick(), if app.animating() => Msg::Tick,
        };
        note_ctrl_c(&msg);
        let effects = app.update(msg);
        dispatch(app, rt, effects);
        for _ in 0..BATCH {
            if app.quit {
                break;
            }
            match rx.try_recv() {
                Ok(m) => {
                    note_ctrl_c(&m);
                    let effects = app.update(m);
                    dispatch(app, rt, effects);
                }
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_777_647_753), "20260501-150233");
    }
}
