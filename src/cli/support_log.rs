//! `check --log FILE` and `--verbose`: a timestamped record of a run for a
//! support ticket: the settings (as the JSON report shows them), every
//! check's start and finish with status and duration, every line of every
//! connection, every DNS question with its answer, and the diagnosis.
//!
//! It is fed by the engine's event stream. Transcript lines arrive redacted
//! at the source; every line is redacted once more here with the same rule
//! (the password, and its AUTH PLAIN and AUTH LOGIN encodings) and made
//! printable before it is written.

use super::{EXIT_USAGE, Exit};
use crate::diagnose::Diagnosis;
use crate::probe::smtp::{Tape, printable};
use crate::probe::{CheckId, Dir, Event, Outcome};
use crate::settings::Settings;
use base64::Engine as _;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct SupportLog {
    sinks: Vec<Box<dyn Write + Send>>,
    start: Instant,
    redactor: Tape,
    /// Checks whose transcript came line by line (the rest is written from
    /// the finished outcome).
    live: HashSet<CheckId>,
}

impl SupportLog {
    /// A log to `file` and/or standard error; `None` when neither is asked.
    /// A file that cannot be created is a usage error, before anything runs.
    pub fn open(
        file: Option<&Path>,
        verbose: bool,
        settings: &Settings,
    ) -> Result<Option<SupportLog>, Exit> {
        let mut sinks: Vec<Box<dyn Write + Send>> = Vec::new();
        if let Some(path) = file {
            let f = create_private(path).map_err(|e| {
                Exit(
                    EXIT_USAGE,
                    format!("Cannot create the log file {}: {e}", path.display()),
                )
            })?;
            sinks.push(Box::new(std::io::LineWriter::new(f)));
        }
        if verbose {
            sinks.push(Box::new(std::io::stderr()));
        }
        if sinks.is_empty() {
            return Ok(None);
        }
        Ok(Some(SupportLog::to_sinks(sinks, settings)))
    }

    pub fn to_sinks(sinks: Vec<Box<dyn Write + Send>>, settings: &Settings) -> SupportLog {
        let start = Instant::now();
        let mut redactor = Tape::new(start, None, CheckId::Auth);
        let (login, pw) = (settings.effective_login(), settings.password.expose());
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        redactor.add_secret(pw);
        redactor.add_secret(&b64(pw));
        redactor.add_secret(&b64(&format!("\0{login}\0{pw}")));
        let mut log = SupportLog {
            sinks,
            start,
            redactor,
            live: HashSet::new(),
        };
        log.line(
            "start",
            None,
            &format!(
                "smtp-doctor {} ({}) check",
                env!("CARGO_PKG_VERSION"),
                env!("SMTP_DOCTOR_COMMIT")
            ),
        );
        let shown = serde_json::to_string(settings).unwrap_or_default();
        log.line("settings", None, &shown);
        log.line(
            "settings",
            None,
            &format!(
                "password given: {}",
                if settings.password.is_empty() {
                    "no"
                } else {
                    "yes"
                }
            ),
        );
        log
    }

    /// One timestamped line to every sink; a sink that fails is dropped
    /// (a full disk must not stop the check).
    fn line(&mut self, kind: &str, id: Option<CheckId>, text: &str) {
        let text = printable(self.redactor.redact(text).as_bytes());
        let id = id.map(CheckId::as_str).unwrap_or("-");
        let line = format!(
            "{} +{:>8.3}s {:<8} {:<16} {}\n",
            utc_now(),
            self.start.elapsed().as_secs_f64(),
            kind,
            id,
            text
        );
        self.sinks
            .retain_mut(|s| s.write_all(line.as_bytes()).is_ok());
    }

    pub fn event(&mut self, ev: &Event) {
        match ev {
            Event::Started(id) => self.line("begin", Some(*id), id.title()),
            Event::Progress(id, text) => self.line("progress", Some(*id), text),
            Event::Log(id, text) => self.line("dns", Some(*id), text),
            Event::Transcript(id, l) => {
                self.live.insert(*id);
                self.line(arrow(l.dir), Some(*id), &l.line);
            }
            Event::Finished(o) => self.finished(o),
            Event::Done => self.line("done", None, "every check has finished"),
        }
    }

    fn finished(&mut self, o: &Outcome) {
        if !self.live.contains(&o.id) {
            for l in &o.transcript {
                let text = format!("[{} ms] {}", l.t_ms, l.line);
                self.line(arrow(l.dir), Some(o.id), &text);
            }
        }
        self.line(
            "end",
            Some(o.id),
            &format!(
                "{} in {} ms: {}",
                o.status.as_str(),
                o.duration.as_millis(),
                o.summary
            ),
        );
        if !o.details.is_empty() {
            let details = serde_json::to_string(&o.details).unwrap_or_default();
            self.line("details", Some(o.id), &details);
        }
    }

    /// The verdict and the ranked causes, then the total time.
    pub fn finish(&mut self, diagnosis: &Diagnosis, total_ms: u64) {
        self.line(
            "verdict",
            None,
            &format!("{:?}", diagnosis.verdict).to_lowercase(),
        );
        for c in &diagnosis.causes {
            let text = format!("{} ({:.0}% sure): {}", c.id, c.confidence * 100.0, c.title);
            self.line("cause", None, &text);
        }
        self.line("total", None, &format!("{total_ms} ms"));
        for s in &mut self.sinks {
            let _ = s.flush();
        }
    }
}

fn arrow(dir: Dir) -> &'static str {
    match dir {
        Dir::Client => "C:",
        Dir::Server => "S:",
    }
}

/// Creates (or truncates) the file readable by its owner alone: the log
/// holds server names, logins and replies.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn utc_now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    utc(since.as_secs(), since.subsec_millis())
}

fn utc(secs: u64, millis: u32) -> String {
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a count of days since 1970-01-01,
/// counted in 400-year eras of 146 097 days that start on 1 March.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Status, TranscriptLine};
    use crate::settings::Password;
    use std::sync::{Arc, Mutex};

    #[test]
    fn dates() {
        assert_eq!(utc(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(utc(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(utc(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_redacted_and_printable() {
        let settings = Settings {
            login: "bob@example.org".into(),
            password: Password::new("s3cret-pw"),
            ..Settings::default()
        };
        let out = Shared::default();
        let mut log = SupportLog::to_sinks(vec![Box::new(out.clone())], &settings);
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        for line in [
            "s3cret-pw".to_string(),
            b64("s3cret-pw"),
            b64("\0bob@example.org\0s3cret-pw"),
            "bell\u{7} and\nnewline".to_string(),
        ] {
            let l = TranscriptLine {
                t_ms: 1,
                dir: Dir::Server,
                line,
            };
            log.event(&Event::Transcript(CheckId::Auth, l));
        }
        log.event(&Event::Finished(Box::new(Outcome::new(
            CheckId::Auth,
            Status::Fail,
            "refused",
        ))));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains(&b64("s3cret-pw")), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 3, "{text}");
        assert!(text.contains("bell\\x07 and\\x0anewline"), "{text}");
        assert!(
            text.contains("auth             fail in 0 ms: refused"),
            "{text}"
        );
        // Every line starts with a timestamp.
        assert!(
            text.lines()
                .all(|l| l.len() > 24 && &l[4..5] == "-" && &l[23..24] == "Z"),
            "{text}"
        );
    }
}
