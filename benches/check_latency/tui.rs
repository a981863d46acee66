//! The interactive screen, measured from outside: the release binary runs
//! in a tmux pane of its own (a private tmux server on a socket in a
//! temporary directory), under `script`, which records every byte it
//! writes to the terminal with the time it was written.
//!
//! Two sessions: `smtp-doctor demo` (the scripted server in process), and
//! `smtp-doctor` running a saved profile against the delay proxy with port
//! 2525 black-holed, so that a run lasts about one timeout with the
//! spinner turning.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pane's size.
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How long the screen must stay unchanged to count as settled.
const QUIET: Duration = Duration::from_millis(1500);
/// How long the idle screen is watched.
const IDLE: Duration = Duration::from_secs(5);

/// Detail lines and result lines.
pub fn measure(bin: &Path, ca: &Path, dns: std::net::SocketAddrV4, timeout: u64) -> Vec<String> {
    let mut out = Vec::new();
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    out.push(format!(
        "  binary {}: {:.1} MB",
        bin.display(),
        size as f64 / 1024.0 / 1024.0
    ));
    for tool in ["tmux", "script"] {
        let found = Command::new(tool)
            .arg(if tool == "tmux" { "-V" } else { "--version" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            out.push(format!("  TUI not measured: {tool} is not installed"));
            return out;
        }
    }
    let dir = match tempdir() {
        Ok(d) => d,
        Err(e) => {
            out.push(format!("  TUI not measured: {e}"));
            return out;
        }
    };
    match demo(bin, &dir) {
        Ok(lines) => out.extend(lines),
        Err(e) => out.push(format!("  demo not measured: {e}")),
    }
    match profile_run(bin, &dir, ca, dns, timeout) {
        Ok(lines) => out.extend(lines),
        Err(e) => out.push(format!("  profile run not measured: {e}")),
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn tempdir() -> Result<PathBuf, String> {
    let o = Command::new("mktemp")
        .args(["-d", "/tmp/smtp-doctor-tui.XXXXXX"])
        .output()
        .map_err(|e| format!("mktemp: {e}"))?;
    let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let cfg = dir.join("cfg");
    std::fs::create_dir_all(cfg.join("profiles")).map_err(|e| e.to_string())?;
    for d in [cfg.clone(), cfg.join("profiles")] {
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
    }
    Ok(dir)
}

/// One program in a tmux pane under `script`.
struct Pane {
    sock: PathBuf,
    out: PathBuf,
    timing: PathBuf,
    pid: u32,
}

impl Pane {
    fn start(dir: &Path, name: &str, bin: &Path, args: &str) -> Result<Pane, String> {
        let sock = dir.join(format!("{name}.sock"));
        let out = dir.join(format!("{name}.out"));
        let timing = dir.join(format!("{name}.timing"));
        let inner = format!(
            "exec env SMTP_DOCTOR_CONFIG_DIR='{}' '{}' {args}",
            dir.join("cfg").display(),
            bin.display()
        );
        let cmd = format!(
            "script -q -f -O '{}' -T '{}' -c \"{inner}\"",
            out.display(),
            timing.display()
        );
        let st = Command::new("tmux")
            .arg("-S")
            .arg(&sock)
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "bench"])
            .args(["-x", &COLS.to_string(), "-y", &ROWS.to_string()])
            .arg(cmd)
            .status()
            .map_err(|e| format!("tmux: {e}"))?;
        if !st.success() {
            return Err(format!("tmux new-session failed ({st})"));
        }
        let mut pane = Pane {
            sock,
            out,
            timing,
            pid: 0,
        };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Some(pid) = pane.program_pid() {
                pane.pid = pid;
                return Ok(pane);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        pane.stop();
        Err("smtp-doctor did not start in the pane".into())
    }

    fn tmux(&self, args: &[&str]) -> Option<String> {
        let o = Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// The program `script` runs (its only child).
    fn program_pid(&self) -> Option<u32> {
        let script: u32 = self
            .tmux(&["display", "-p", "-t", "bench", "#{pane_pid}"])?
            .trim()
            .parse()
            .ok()?;
        let kids =
            std::fs::read_to_string(format!("/proc/{script}/task/{script}/children")).ok()?;
        let pid: u32 = kids.split_whitespace().next()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "smtp-doctor").then_some(pid)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "bench"];
        args.extend_from_slice(keys);
        let _ = self.tmux(&args);
    }

    fn bytes(&self) -> u64 {
        std::fs::metadata(&self.out).map(|m| m.len()).unwrap_or(0)
    }

    /// Waits until nothing was written for `QUIET`, at most `limit`.
    fn settle(&self, limit: Duration) -> bool {
        let t0 = Instant::now();
        let mut last = self.bytes();
        let mut since = Instant::now();
        while t0.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.bytes();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= QUIET && now > 0 {
                return true;
            }
        }
        false
    }

    /// The chunks written so far: (seconds since script started, bytes).
    fn chunks(&self) -> Vec<(f64, u64)> {
        let text = std::fs::read_to_string(&self.timing).unwrap_or_default();
        let mut t = 0.0;
        let mut out = Vec::new();
        for l in text.lines() {
            let mut w = l.split_whitespace();
            if let (Some(Ok(d)), Some(Ok(n))) = (
                w.next().map(str::parse::<f64>),
                w.next().map(str::parse::<u64>),
            ) {
                t += d;
                out.push((t, n));
            }
        }
        out
    }

    fn peak_kb(&self) -> Option<u64> {
        let st = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        crate::status_kb(&st, "VmHWM:")
    }

    fn first_line(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "bench"])
            .and_then(|s| {
                s.lines()
                    .next()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .unwrap_or_default()
    }

    fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
            && std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
                .is_ok_and(|c| c.trim() == "smtp-doctor")
    }

    /// Quits with `q` (twice if a screen is in between), then ends this
    /// tmux server.
    fn stop(&self) {
        for _ in 0..3 {
            if self.pid == 0 || !self.alive() {
                break;
            }
            self.keys(&["q"]);
            let t0 = Instant::now();
            while self.alive() && t0.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The end of the first frame: the first burst of output (chunks less than
/// 5 ms apart) after the switch to the alternate screen.
fn first_frame(chunks: &[(f64, u64)]) -> Option<f64> {
    let start = chunks.iter().position(|(_, n)| *n > 100)?;
    let mut end = chunks[start].0;
    for (t, _) in &chunks[start + 1..] {
        if t - end > 0.005 {
            break;
        }
        end = *t;
    }
    Some(end)
}

/// Bytes and duration of the chunks written after `from` bytes.
fn after(chunks: &[(f64, u64)], from: u64) -> (u64, f64, f64) {
    let mut seen = 0;
    let mut bytes = 0;
    let mut first = None;
    let mut last = 0.0;
    for (t, n) in chunks {
        if seen >= from {
            bytes += n;
            first.get_or_insert(*t);
            last = *t;
        }
        seen += n;
    }
    let first = first.unwrap_or(0.0);
    (bytes, first, last - first)
}

fn idle(p: &Pane) -> u64 {
    let before = p.bytes();
    std::thread::sleep(IDLE);
    p.bytes().saturating_sub(before)
}

fn demo(bin: &Path, dir: &Path) -> Result<Vec<String>, String> {
    let mut out = vec![format!("smtp-doctor demo in a {COLS}x{ROWS} pane:")];
    let p = Pane::start(dir, "demo", bin, "demo")?;
    if !p.settle(Duration::from_secs(20)) {
        p.stop();
        return Err("the screen did not settle within 20 s".into());
    }
    let chunks = p.chunks();
    let ff = first_frame(&chunks);
    let (run_bytes, _, run_secs) = after(&chunks, 0);
    let idle_bytes = idle(&p);
    let before = p.bytes();
    p.keys(&["r"]);
    let settled = p.settle(Duration::from_secs(20));
    let (re_bytes, _, re_secs) = after(&p.chunks(), before);
    let peak = p.peak_kb();
    let head = p.first_line();
    p.stop();
    out.push(format!("  screen: {head}"));
    out.push(format!(
        "  first run: {run_bytes} bytes in {:.0} ms (first byte to last); rerun (r): {re_bytes} bytes in {:.0} ms{}",
        run_secs * 1e3,
        re_secs * 1e3,
        if settled { "" } else { " (did not settle)" }
    ));
    out.push(format!(
        "  RESULT demo: first frame {} ms after start; idle {} bytes/s over {} s (target 0); run {run_bytes} bytes; peak RSS {}",
        ff.map(|t| format!("{:.0}", t * 1e3)).unwrap_or_else(|| "?".into()),
        idle_bytes / IDLE.as_secs(),
        IDLE.as_secs(),
        mb(peak)
    ));
    Ok(out)
}

fn mb(kb: Option<u64>) -> String {
    kb.map(|k| format!("{:.1} MB (target < 20 MB)", k as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}

fn profile_run(
    bin: &Path,
    dir: &Path,
    ca: &Path,
    dns: std::net::SocketAddrV4,
    timeout: u64,
) -> Result<Vec<String>, String> {
    // The benchmark's DNS responder decides which proxied site the name
    // reaches; the public IP is given, so no echo service is asked.
    let profile = serde_json::json!({
        "schema": 1,
        "account": crate::ACCOUNT,
        "server": crate::NAME,
        "port": 587,
        "security": "starttls",
        "auth": true,
        "recipient": crate::RECIPIENT,
        "timeout_secs": timeout,
        "dns": dns.to_string(),
        "ca_file": ca,
        "public_ip": "127.0.0.1",
        "internal_network": true,
        "password": crate::PASSWORD,
    });
    let path = dir.join("cfg/profiles/bench.json");
    std::fs::write(&path, profile.to_string()).map_err(|e| e.to_string())?;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let mut out = vec![format!(
        "smtp-doctor (start screen, then the saved profile run through the proxy; {} s timeout):",
        timeout
    )];
    let p = Pane::start(dir, "profile", bin, "")?;
    if !p.settle(Duration::from_secs(10)) {
        p.stop();
        return Err("the start screen did not settle".into());
    }
    let ff = first_frame(&p.chunks());
    let start_idle = idle(&p);
    let before = p.bytes();
    p.keys(&["G"]);
    std::thread::sleep(Duration::from_millis(200));
    p.keys(&["Enter"]);
    let settled = p.settle(Duration::from_secs(timeout * 3 + 10));
    let (bytes, _, secs) = after(&p.chunks(), before);
    let idle_bytes = idle(&p);
    let peak = p.peak_kb();
    let head = p.first_line();
    p.stop();
    out.push(format!("  screen: {head}"));
    let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
    out.push(format!(
        "  RESULT start screen: first frame {} ms after start; idle {} bytes/s (target 0)",
        ff.map(|t| format!("{:.0}", t * 1e3))
            .unwrap_or_else(|| "?".into()),
        start_idle / IDLE.as_secs()
    ));
    out.push(format!(
        "  RESULT during a run: {bytes} bytes in {:.1} s = {rate:.0} bytes/s{}; idle after it {} bytes/s; peak RSS {}",
        secs,
        if settled { "" } else { " (did not settle)" },
        idle_bytes / IDLE.as_secs(),
        mb(peak)
    ));
    Ok(out)
}
