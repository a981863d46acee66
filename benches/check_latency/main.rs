//! How long a full smtp-doctor diagnosis takes on a slow link, compared with
//! the longest chain of round trips its checks really need.
//!
//! The real test bed (Postfix + Dovecot on 127.0.0.2, dnsmasq on
//! 127.0.0.2:5353) sits behind a loopback proxy that holds back every chunk
//! the server sends by a fixed delay, so one SMTP round trip costs that
//! delay. A small DNS responder sends `mail.smtpd.test` to the proxy, so the
//! certificate matches and the run is the one a user with a working account
//! sees. Parts:
//!
//! 1. `check`: the full run, its critical path and their ratio, with the
//!    per-check durations and the main session's transcript timestamps.
//! 2. `timeouts`: one alternative port black-holed or silent, and a silent
//!    or black-holed main port: the run should cost one timeout, not more.
//! 3. `tui`: the interactive screen under tmux: time to the first frame,
//!    bytes written per second while running and while idle, peak RSS.
//! 4. `swaks`: the binary's full `check` against one `swaks --quit-after
//!    RCPT` conversation through the same proxy.
//!
//! Run: `cargo bench --bench check_latency` (as root; it starts the test
//! bed when none is running). `-- check swaks` runs only those parts.
//! Environment: `SMTP_DOCTOR_BENCH_DELAY_MS` (default 50),
//! `SMTP_DOCTOR_BENCH_RUNS` (default 5), `SMTP_DOCTOR_BENCH_TIMEOUT`
//! (seconds, default 10: smtp-doctor's default).
//!
//! It prints figures; it is not a pass/fail test.

mod proxy;
mod testbed;
mod tui;

use proxy::{Mode, Net};
use smtp_doctor::probe::{self, CheckId, Dir, Event, Outcome, Status, TranscriptLine};
use smtp_doctor::settings::{Password, Security, Settings};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NAME: &str = "mail.smtpd.test";
const ACCOUNT: &str = "alice@smtpd.test";
const PASSWORD: &str = "Corr3ct-H0rse-Battery";
const RECIPIENT: &str = "someone@external.test";
const TESTBED_DNS: &str = "127.0.0.2:5353";
const POSTFIX: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The proxy's DNS responder; the run's `--dns`.
const BENCH_DNS: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 50), 5353);
/// The ports smtp-doctor looks at (`net.ports` surveys all of them).
const PORTS: [u16; 4] = [25, 465, 587, 2525];

/// One proxied server: an address whose four mail ports forward to
/// Postfix, except the ones listed.
struct Site {
    key: &'static str,
    ip: Ipv4Addr,
    odd: &'static [(u16, Mode)],
    what: &'static str,
}

const CLEAN: Site = Site {
    key: "clean",
    ip: Ipv4Addr::new(127, 0, 0, 50),
    odd: &[],
    what: "every port forwarded",
};
const FAULTS: [Site; 4] = [
    Site {
        key: "alt-blackhole",
        ip: Ipv4Addr::new(127, 0, 0, 51),
        odd: &[(2525, Mode::BlackHole)],
        what: "alternative port 2525 black-holed",
    },
    Site {
        key: "alt-silent",
        ip: Ipv4Addr::new(127, 0, 0, 52),
        odd: &[(2525, Mode::Silent)],
        what: "alternative port 2525 silent",
    },
    Site {
        key: "main-silent",
        ip: Ipv4Addr::new(127, 0, 0, 53),
        odd: &[(587, Mode::Silent)],
        what: "main port 587 silent (silent server)",
    },
    Site {
        key: "main-blackhole",
        ip: Ipv4Addr::new(127, 0, 0, 54),
        odd: &[(587, Mode::BlackHole)],
        what: "main port 587 black-holed",
    },
];

struct Conf {
    delay: Duration,
    runs: usize,
    timeout: u64,
}

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs this file too, without `--bench`.
    if !args.iter().any(|a| a == "--bench") {
        println!("check_latency: a benchmark; run it with `cargo bench --bench check_latency`");
        return;
    }
    let wanted: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let part = |p: &str| wanted.is_empty() || wanted.contains(&p);
    let conf = Conf {
        delay: Duration::from_millis(env_num("SMTP_DOCTOR_BENCH_DELAY_MS", 50).clamp(1, 1000)),
        runs: env_num("SMTP_DOCTOR_BENCH_RUNS", 5).clamp(1, 50) as usize,
        timeout: env_num("SMTP_DOCTOR_BENCH_TIMEOUT", 10).clamp(1, 60),
    };
    if let Err(e) = bench(&conf, &part) {
        eprintln!("check_latency: {e}");
        std::process::exit(1);
    }
}

fn bench(conf: &Conf, part: &dyn Fn(&str) -> bool) -> Result<(), String> {
    if !is_root() {
        return Err("needs root: the proxy listens on ports 25 and 465 of 127.0.0.50-54".into());
    }
    let started = Instant::now();
    machine();
    let tb = testbed::Testbed::find_or_start()?;
    println!("test bed: {}", tb.dir.display());
    let mut net = Net::new().map_err(|e| e.to_string())?;
    let upstream = SocketAddr::new(POSTFIX.into(), 0);
    for site in std::iter::once(&CLEAN).chain(FAULTS.iter()) {
        for port in PORTS {
            let mode = site
                .odd
                .iter()
                .find(|(p, _)| *p == port)
                .map(|(_, m)| *m)
                .unwrap_or(Mode::Forward);
            net.listen(SocketAddrV4::new(site.ip, port), mode, upstream)
                .map_err(|e| format!("cannot listen on {}:{port}: {e}", site.ip))?;
        }
    }
    let dns_up: SocketAddr = TESTBED_DNS.parse().map_err(|e| format!("{e}"))?;
    net.dns(BENCH_DNS, NAME, dns_up)
        .map_err(|e| format!("cannot listen on {BENCH_DNS}/udp: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let d = conf.delay;
    println!(
        "delay: every chunk the server sends is held back {} ms (one round trip); client bytes go at once",
        d.as_millis()
    );
    let mut sum = Summary::default();
    let mut clean_total = None;
    if part("check") || part("timeouts") {
        clean_total = Some(part_check(&rt, &net, &tb, conf, &mut sum, part("check")));
    }
    if part("timeouts") {
        part_timeouts(
            &rt,
            &net,
            &tb,
            conf,
            clean_total.unwrap_or_default(),
            &mut sum,
        );
    }
    if part("swaks") {
        part_swaks(&net, &tb, conf, &mut sum);
    }
    if part("tui") {
        // The profile run goes to the site with a black-holed port, so
        // that it lasts about one timeout with the spinner turning.
        net.set_target(FAULTS[0].ip);
        net.set_delay(d);
        let bin = Path::new(env!("CARGO_BIN_EXE_smtp-doctor"));
        println!(
            "\n== 3. The interactive screen (release binary under tmux, recorded by script) =="
        );
        let lines = tui::measure(bin, &tb.ca(), BENCH_DNS, conf.timeout);
        for l in &lines {
            println!("{l}");
        }
        sum.lines
            .extend(lines.into_iter().filter(|l| l.contains("RESULT")));
    }
    println!("\n== Summary ==");
    for l in &sum.lines {
        println!("{l}");
    }
    println!("(benchmark took {:.0} s)", started.elapsed().as_secs_f64());
    drop(net);
    drop(tb);
    Ok(())
}

#[derive(Default)]
struct Summary {
    lines: Vec<String>,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    println!("machine: {cores} cores, {cpu}; load average {load}");
}

fn settings(ca: &Path, timeout: u64) -> Settings {
    Settings {
        account: ACCOUNT.into(),
        password: Password::new(PASSWORD),
        server: NAME.into(),
        port: 587,
        security: Security::Starttls,
        auth: true,
        recipient: RECIPIENT.into(),
        timeout_secs: timeout,
        dns: Some(BENCH_DNS.to_string()),
        echo_dns: Some(TESTBED_DNS.into()),
        ca_file: Some(ca.to_path_buf()),
        internal_network: true,
        ..Settings::default()
    }
}

/// One run with what happened when.
struct Timed {
    total: Duration,
    outcomes: Vec<Outcome>,
    /// Wall milliseconds since the start at which each check finished.
    finished: HashMap<CheckId, f64>,
    started: HashMap<CheckId, f64>,
    /// Every transcript line the run reported live, with its check.
    lines: Vec<(CheckId, TranscriptLine)>,
}

impl Timed {
    fn outcome(&self, id: CheckId) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }
}

fn timed_run(rt: &tokio::runtime::Runtime, s: Settings) -> Timed {
    let t0 = Instant::now();
    let mut finished = HashMap::new();
    let mut started = HashMap::new();
    let mut lines = Vec::new();
    // A bound on the run as a whole: the engine's own timeouts end it much
    // sooner; a run cut here reports no outcomes.
    let limit = Duration::from_secs(s.timeout_secs * 6 + 10);
    let run = probe::run(s, |ev| {
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        match ev {
            Event::Started(id) => {
                started.entry(*id).or_insert(ms);
            }
            Event::Finished(o) => {
                finished.insert(o.id, ms);
            }
            Event::Transcript(id, l) => lines.push((*id, l.clone())),
            _ => {}
        }
    });
    let outcomes = rt
        .block_on(async move { tokio::time::timeout(limit, run).await })
        .unwrap_or_default();
    Timed {
        total: t0.elapsed(),
        outcomes,
        finished,
        started,
        lines,
    }
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The round trips each chain needs, from what the server offered.
struct Need {
    tls: u32,
    auth: u32,
    envelope: u32,
    how: String,
}

impl Need {
    fn of(t: &Timed) -> Need {
        let tls_v = t
            .outcome(CheckId::Tls)
            .and_then(|o| o.detail_str("version").map(str::to_string))
            .unwrap_or_default();
        let tls = if tls_v.contains("1.3") || tls_v.contains("1_3") {
            1
        } else {
            2
        };
        let mech = t
            .outcome(CheckId::Auth)
            .and_then(|o| o.detail_str("mechanism").map(str::to_string))
            .unwrap_or_else(|| "PLAIN".into());
        let auth = if mech == "LOGIN" { 3 } else { 1 };
        let pipelining = t
            .outcome(CheckId::Tls)
            .and_then(|o| o.detail_bool("after_tls_pipelining"))
            .or_else(|| {
                t.outcome(CheckId::SmtpEhlo)
                    .and_then(|o| o.detail_bool("pipelining"))
            })
            .unwrap_or(false);
        let envelope = if pipelining { 1 } else { 2 };
        Need {
            tls,
            auth,
            envelope,
            how: format!(
                "{} ({tls} RTT), AUTH {mech} ({auth}), PIPELINING {}",
                if tls_v.is_empty() { "TLS ?" } else { &tls_v },
                if pipelining { "offered" } else { "not offered" }
            ),
        }
    }

    /// The main session: greeting, EHLO, STARTTLS, TLS, EHLO, AUTH, MAIL+RCPT.
    fn main(&self) -> u32 {
        3 + self.tls + 1 + self.auth + self.envelope
    }

    /// The anonymous relay test on a connection of its own: greeting,
    /// EHLO, STARTTLS, TLS, EHLO, MAIL+RCPT (it needs nothing from the
    /// main session).
    fn anonymous(&self) -> u32 {
        3 + self.tls + 1 + self.envelope
    }

    /// The survey of a STARTTLS port: greeting, EHLO, STARTTLS, TLS, EHLO.
    fn ports(&self) -> u32 {
        3 + self.tls + 1
    }
}

/// Part 1: the clean run; returns its median total.
fn part_check(
    rt: &tokio::runtime::Runtime,
    net: &Net,
    tb: &testbed::Testbed,
    conf: &Conf,
    sum: &mut Summary,
    show: bool,
) -> Duration {
    let d = conf.delay;
    let dm = ms(d);
    net.set_target(CLEAN.ip);
    if show {
        println!(
            "\n== 1. Full check through the delay proxy ({NAME} -> {}, {}) ==",
            CLEAN.ip, CLEAN.what
        );
    }
    // Without delay first: what the work itself costs (TLS, Dovecot, DNS).
    net.set_delay(Duration::ZERO);
    let _ = timed_run(rt, settings(&tb.ca(), conf.timeout));
    let zero: Vec<Timed> = (0..conf.runs.min(3))
        .map(|_| timed_run(rt, settings(&tb.ca(), conf.timeout)))
        .collect();
    let base = median(&zero.iter().map(|r| r.total).collect::<Vec<_>>());
    net.set_delay(d);
    let runs: Vec<Timed> = (0..conf.runs)
        .map(|_| timed_run(rt, settings(&tb.ca(), conf.timeout)))
        .collect();
    let totals: Vec<Duration> = runs.iter().map(|r| r.total).collect();
    let med = median(&totals);
    if !show {
        return med;
    }
    let Some(run) = runs.iter().find(|r| r.total == med) else {
        return med;
    };
    let need = Need::of(run);
    let cp = need.main().max(need.anonymous()).max(need.ports());
    let cp_ms = f64::from(cp) * dm;
    println!("statuses: {}", statuses(run));
    println!("server offered: {}", need.how);
    println!(
        "critical path, from first principles (one RTT = {dm:.0} ms; DNS on dnsmasq and the TCP handshake with the proxy are not delayed):"
    );
    println!(
        "  main session  : greeting 1 + EHLO 1 + STARTTLS 1 + TLS {} + EHLO 1 + AUTH {} + MAIL/RCPT {} = {} RTT",
        need.tls,
        need.auth,
        need.envelope,
        need.main()
    );
    println!(
        "  relay.anonymous: own connection: greeting 1 + EHLO 1 + STARTTLS 1 + TLS {} + EHLO 1 + MAIL/RCPT {} = {} RTT",
        need.tls,
        need.envelope,
        need.anonymous()
    );
    println!(
        "  net.ports     : greeting 1 + EHLO 1 + STARTTLS 1 + TLS {} + EHLO 1 = {} RTT (465: TLS, greeting, EHLO = {})",
        need.tls,
        need.ports(),
        need.tls + 2
    );
    println!(
        "  net.public_ip : after the main EHLO = 2 RTT, then DNS; recipient.mx, sender.*: DNS and Postfix directly = 0"
    );
    println!("  => critical path {cp} RTT = {cp_ms:.0} ms");
    println!("\nper check (median run; start/end since the run began):");
    println!(
        "  {:<16} {:<6} {:>8} {:>8} {:>9} {:>7}",
        "check", "status", "start", "end", "duration", "end/RTT"
    );
    for o in &run.outcomes {
        let st = run.started.get(&o.id).copied().unwrap_or(0.0);
        let en = run.finished.get(&o.id).copied().unwrap_or(0.0);
        println!(
            "  {:<16} {:<6} {:>6.0}ms {:>6.0}ms {:>7}ms {:>7.1}",
            o.id.as_str(),
            o.status.as_str(),
            st,
            en,
            o.duration.as_millis(),
            en / dm
        );
    }
    println!(
        "\nmain session transcript (t = ms since start, +wait = since the previous client line):"
    );
    let main_ids = [
        CheckId::SmtpGreeting,
        CheckId::SmtpEhlo,
        CheckId::Tls,
        CheckId::Auth,
        CheckId::Relay,
    ];
    let main: Vec<&TranscriptLine> = run
        .lines
        .iter()
        .filter(|(id, _)| main_ids.contains(id))
        .map(|(_, l)| l)
        .collect();
    let waits = print_timeline(&main, dm);
    let rcpt_at = needed_reply(&main);
    let rcpt = rcpt_at.map(|k| main[k].t_ms);
    let anon: Vec<&TranscriptLine> = run
        .lines
        .iter()
        .filter(|(id, _)| *id == CheckId::RelayAnonymous)
        .map(|(_, l)| l)
        .collect();
    let anon_rcpt = needed_reply(&anon).map(|k| anon[k].t_ms);
    let total = ms(med);
    println!(
        "  {waits} waits for the server on the main connection (the TLS handshake is the gap after the STARTTLS reply)"
    );
    if let Some(t) = rcpt {
        println!(
            "  last reply a check needs (RCPT) at {t} ms = {:.1} RTT; relay.anonymous's at {} ms",
            t as f64 / dm,
            anon_rcpt
                .map(|t| t.to_string())
                .unwrap_or_else(|| "?".into())
        );
        let later = &main[rcpt_at.map_or(main.len(), |k| k + 1)..];
        let sent: Vec<&str> = later
            .iter()
            .filter(|l| l.dir == Dir::Client)
            .map(|l| l.line.as_str())
            .collect();
        if let Some(end) = later
            .iter()
            .filter(|l| l.dir == Dir::Server)
            .map(|l| l.t_ms)
            .max()
        {
            println!(
                "  after it the main session sent {} and waited for the replies until {end} ms (+{} ms = {:.1} RTT)",
                sent.join(" + "),
                end - t,
                (end - t) as f64 / dm
            );
        }
    }
    let totals_s: Vec<String> = totals.iter().map(|t| format!("{:.0}", ms(*t))).collect();
    println!("\nruns: {} ms", totals_s.join(", "));
    if let Some(z) = zero.iter().find(|r| r.total == base) {
        let mut ends: Vec<(f64, &str)> =
            z.finished.iter().map(|(id, t)| (*t, id.as_str())).collect();
        ends.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ends: Vec<String> = ends
            .iter()
            .rev()
            .take(6)
            .map(|(t, id)| format!("{id} {t:.0}"))
            .collect();
        println!(
            "without delay: {:.0} ms (median of {}; the work itself: TLS, Dovecot, DNS); last checks to end (ms): {}",
            ms(base),
            zero.len(),
            ends.join(", ")
        );
    }
    let start = run.started.get(&CheckId::DnsServer).copied().unwrap_or(0.0);
    println!(
        "the first check starts {start:.0} ms after probe::run is called (CA and resolver set-up)"
    );
    let ratio = total / cp_ms;
    let verdict = if ratio <= 1.15 { "met" } else { "missed" };
    let needed = rcpt.map(|t| t.max(anon_rcpt.unwrap_or(0)) as f64);
    println!(
        "RESULT total {total:.0} ms (median of {}), critical path {cp} x {dm:.0} = {cp_ms:.0} ms, ratio {ratio:.2} (target <= 1.15: {verdict})",
        conf.runs
    );
    let mut line = format!(
        "  full check, {dm:.0} ms RTT: {total:.0} ms; critical path {cp} RTT = {cp_ms:.0} ms; ratio {ratio:.2} (target <= 1.15: {verdict})"
    );
    if let Some(n) = needed {
        let after = format!(
            "the last reply a check needs arrived at {n:.0} ms ({:.2} x critical path); the run then waited {:.0} ms more ({:.1} RTT)",
            n / cp_ms,
            total - n,
            (total - n) / dm
        );
        println!("RESULT {after}");
        line.push_str(&format!("; {after}"));
    }
    sum.lines.push(line);
    sum.lines
        .push(format!("  the same run without delay: {:.0} ms", ms(base)));
    med
}

fn statuses(run: &Timed) -> String {
    let mut by: Vec<String> = Vec::new();
    for st in [
        Status::Pass,
        Status::Warn,
        Status::Fail,
        Status::Error,
        Status::Skip,
    ] {
        let ids: Vec<&str> = run
            .outcomes
            .iter()
            .filter(|o| o.status == st)
            .map(|o| o.id.as_str())
            .collect();
        if !ids.is_empty() {
            by.push(format!("{} {}", st.as_str(), ids.join(" ")));
        }
    }
    by.join("; ")
}

/// Prints the lines with their times; returns how many times the client
/// waited for the server.
fn print_timeline(lines: &[&TranscriptLine], dm: f64) -> usize {
    let mut last_client: u64 = 0;
    let mut waiting = true;
    let mut waits = 0;
    for l in lines {
        let (tag, extra) = match l.dir {
            Dir::Client => {
                last_client = l.t_ms;
                waiting = true;
                ("C", String::new())
            }
            Dir::Server => {
                let e = if waiting {
                    waits += 1;
                    let w = l.t_ms.saturating_sub(last_client);
                    format!("  +{w} ms = {:.1} RTT", w as f64 / dm)
                } else {
                    String::new()
                };
                waiting = false;
                ("S", e)
            }
        };
        let mut text = l.line.clone();
        if text.len() > 60 {
            text.truncate(57);
            text.push_str("...");
        }
        println!("  {:>6} {tag}: {text:<60}{extra}", l.t_ms);
    }
    waits
}

/// Where the reply to RCPT TO is (the second server line after a
/// pipelined MAIL+RCPT, the first otherwise).
fn needed_reply(lines: &[&TranscriptLine]) -> Option<usize> {
    let i = lines
        .iter()
        .position(|l| l.dir == Dir::Client && l.line.starts_with("RCPT TO"))?;
    let pipelined =
        i > 0 && lines[i - 1].dir == Dir::Client && lines[i - 1].line.starts_with("MAIL FROM");
    let skip = if pipelined { 1 } else { 0 };
    lines
        .iter()
        .enumerate()
        .skip(i + 1)
        .filter(|(_, l)| l.dir == Dir::Server)
        .nth(skip)
        .map(|(k, _)| k)
}

/// Part 2: a black-holed or silent port costs one timeout.
fn part_timeouts(
    rt: &tokio::runtime::Runtime,
    net: &Net,
    tb: &testbed::Testbed,
    conf: &Conf,
    clean: Duration,
    sum: &mut Summary,
) {
    let t = conf.timeout as f64 * 1e3;
    println!(
        "\n== 2. Unanswered ports (timeout {} s, delay {} ms; clean run {:.0} ms) ==",
        conf.timeout,
        conf.delay.as_millis(),
        ms(clean)
    );
    net.set_delay(conf.delay);
    for site in &FAULTS {
        net.set_target(site.ip);
        let run = timed_run(rt, settings(&tb.ca(), conf.timeout));
        let total = ms(run.total);
        let over = total - ms(clean);
        let ok = total <= ms(clean) + t;
        let modes: Vec<String> = site
            .odd
            .iter()
            .map(|(p, m)| format!("{p} {}", m.label()))
            .collect();
        println!(
            "{} ({}: {}; the rest forwarded):",
            site.key,
            site.ip,
            modes.join(", ")
        );
        for id in [
            CheckId::NetPort,
            CheckId::SmtpGreeting,
            CheckId::NetPorts,
            CheckId::Relay,
            CheckId::RelayAnonymous,
            CheckId::NetPublicIp,
        ] {
            if let Some(o) = run.outcome(id) {
                let mut s = o.summary.clone();
                if s.len() > 110 {
                    s.truncate(107);
                    s.push_str("...");
                }
                println!(
                    "  {:<16} {:<5} end {:>6.0}ms  {s}",
                    id.as_str(),
                    o.status.as_str(),
                    run.finished.get(&id).copied().unwrap_or(0.0)
                );
            }
        }
        let mut ends: Vec<(f64, &str)> = run
            .outcomes
            .iter()
            .map(|o| {
                (
                    run.finished.get(&o.id).copied().unwrap_or(0.0),
                    o.id.as_str(),
                )
            })
            .collect();
        ends.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ends: Vec<String> = ends.iter().map(|(t, id)| format!("{id} {t:.0}")).collect();
        println!("  every check's end (ms): {}", ends.join(", "));
        let line = format!(
            "{} ms = clean + {:.0} ms = clean + {:.2} timeouts ({})",
            total.round(),
            over,
            over / t,
            if ok {
                "within one timeout"
            } else {
                "MORE than one timeout"
            }
        );
        println!("  RESULT {line}");
        sum.lines.push(format!("  {}: {line}", site.what));
    }
    net.set_target(CLEAN.ip);
}

/// A child process's wall time and peak RSS (VmHWM, sampled).
struct ChildRun {
    wall: Duration,
    ok: bool,
    peak_kb: u64,
}

fn run_child(mut cmd: Command, limit: Duration) -> Result<ChildRun, String> {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let pid = child.id();
    let done = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let status = std::thread::scope(|s| {
        s.spawn(|| {
            let path = format!("/proc/{pid}/status");
            while !done.load(Ordering::Relaxed) && t0.elapsed() < limit {
                if let Some(kb) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|st| status_kb(&st, "VmHWM:"))
                {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let mut st = None;
        while t0.elapsed() < limit {
            match child.try_wait() {
                Ok(Some(s)) => {
                    st = Some(s);
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_micros(500)),
                Err(_) => break,
            }
        }
        done.store(true, Ordering::Relaxed);
        st
    });
    let wall = t0.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("still running after {} s", limit.as_secs()));
    };
    Ok(ChildRun {
        wall,
        ok: status.success(),
        peak_kb: peak.load(Ordering::Relaxed),
    })
}

pub fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Part 4: the binary's full check against one swaks conversation.
fn part_swaks(net: &Net, tb: &testbed::Testbed, conf: &Conf, sum: &mut Summary) {
    let bin = env!("CARGO_BIN_EXE_smtp-doctor");
    net.set_target(CLEAN.ip);
    net.set_delay(conf.delay);
    println!(
        "\n== 4. smtp-doctor check (release binary) vs one swaks --quit-after RCPT, both through the proxy ({} ms) ==",
        conf.delay.as_millis()
    );
    let ca = tb.ca();
    let doctor = || {
        let mut c = Command::new(bin);
        c.args([
            "check",
            "--server",
            NAME,
            "--port",
            "587",
            "--security",
            "starttls",
        ])
        .args(["--user", ACCOUNT, "--from", ACCOUNT, "--to", RECIPIENT])
        .args(["--password-env", "SMTP_DOCTOR_BENCH_PASSWORD"])
        .arg("--dns")
        .arg(BENCH_DNS.to_string())
        .args(["--echo-dns", TESTBED_DNS, "--internal", "--format", "json"])
        .arg("--ca-file")
        .arg(&ca)
        .arg("--timeout")
        .arg(conf.timeout.to_string())
        .env("SMTP_DOCTOR_BENCH_PASSWORD", PASSWORD);
        c
    };
    let swaks = || {
        let mut c = Command::new("swaks");
        c.arg("--server")
            .arg(format!("{}:587", CLEAN.ip))
            .args(["--helo", "client.test", "-tls", "-a", "PLAIN"])
            .args([
                "-au", ACCOUNT, "-ap", PASSWORD, "--from", ACCOUNT, "--to", RECIPIENT,
            ])
            .args(["--quit-after", "RCPT"]);
        c
    };
    let limit = Duration::from_secs(conf.timeout * 3 + 10);
    let mut d_times = Vec::new();
    let mut s_times = Vec::new();
    let mut peaks = Vec::new();
    let mut failures = Vec::new();
    for _ in 0..conf.runs.min(5) {
        match run_child(doctor(), limit) {
            Ok(r) => {
                d_times.push(r.wall);
                peaks.push(r.peak_kb);
            }
            Err(e) => failures.push(format!("smtp-doctor: {e}")),
        }
        match run_child(swaks(), limit) {
            Ok(r) if r.ok => s_times.push(r.wall),
            Ok(_) => failures.push("swaks exited with an error".into()),
            Err(e) => failures.push(format!("swaks: {e}")),
        }
    }
    for f in &failures {
        println!("  problem: {f}");
    }
    if d_times.is_empty() || s_times.is_empty() {
        println!("  RESULT not measured");
        return;
    }
    let fmt = |v: &[Duration]| {
        v.iter()
            .map(|t| format!("{:.0}", ms(*t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (dm, sm) = (ms(median(&d_times)), ms(median(&s_times)));
    println!("  smtp-doctor check: {} ms", fmt(&d_times));
    println!("  swaks            : {} ms", fmt(&s_times));
    println!(
        "  swaks makes 9 waits: greeting, EHLO, STARTTLS, TLS, EHLO, AUTH, MAIL, RCPT, QUIT (no pipelining)"
    );
    let ratio = dm / sm;
    let line = format!(
        "full check {dm:.0} ms vs swaks {sm:.0} ms (medians): ratio {ratio:.2} ({})",
        if ratio <= 1.0 {
            "the diagnosis is not slower than one conversation"
        } else {
            "the diagnosis is SLOWER than one conversation"
        }
    );
    println!("  RESULT {line}");
    sum.lines.push(format!("  {line}"));
    let peak = peaks.iter().copied().max().unwrap_or(0);
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    let line = format!(
        "smtp-doctor check peak RSS {:.1} MB (VmHWM, target < 20 MB); release binary {:.1} MB (target < 10 MB)",
        peak as f64 / 1024.0,
        size as f64 / 1024.0 / 1024.0
    );
    println!("  RESULT {line}");
    sum.lines.push(format!("  {line}"));
}
