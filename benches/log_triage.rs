//! How fast `smtp-doctor explain --log` reads a big Postfix log, and how
//! much memory it holds while doing so.
//!
//! Writes a Postfix log of `SMTP_DOCTOR_BENCH_LOG_MB` MiB (default 1024)
//! to a temporary file: about 70 % ordinary lines (connections, TLS,
//! queue manager, deliveries, disconnects) and the rest refusals of
//! several kinds (relay denied, failed SASL logins, sender not owned,
//! unknown users, a blocklist hit, bounces and deferrals with the remote
//! reply). Then, on one thread: `grep -c reject` over the file (the floor:
//! one pass of a tuned byte search), the triage itself, and `grep -c`
//! again; it prints MB/s for each and the peak resident memory of this
//! process (VmHWM) before and after the triage.
//!
//! Run: `cargo bench --bench log_triage`. Targets: ≥ 200 MB/s and
//! ≤ 50 MB peak RSS. It prints figures; it is not a pass/fail test.

use smtp_doctor::logscan::{self, Options};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    // `cargo test --all-targets` runs this file too, without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("log_triage: a benchmark; run it with `cargo bench --bench log_triage`");
        return;
    }
    let mb: u64 = std::env::var("SMTP_DOCTOR_BENCH_LOG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::temp_dir().join(format!("smtp-doctor-log-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("log_triage: cannot make {}: {e}", dir.display());
        std::process::exit(1);
    }
    let path = dir.join("mail.log");
    let result = bench(&path, mb * 1024 * 1024);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("log_triage: {e}");
        std::process::exit(1);
    }
}

fn bench(path: &Path, size: u64) -> Result<(), String> {
    let started = Instant::now();
    let (lines, refusals) = generate(path, size).map_err(|e| format!("writing the log: {e}"))?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    println!(
        "generated {:.0} MB, {lines} lines, {refusals} refusals ({:.1} %) in {:.1} s",
        bytes as f64 / 1e6,
        refusals as f64 * 100.0 / lines as f64,
        started.elapsed().as_secs_f64()
    );
    let grep = |label: &str| -> Result<(), String> {
        let t = Instant::now();
        let out = Command::new("grep")
            .args(["-c", "reject"])
            .arg(path)
            .output()
            .map_err(|e| format!("grep: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "grep -c reject ({label}): {} matches, {:.2} s, {:.0} MB/s",
            String::from_utf8_lossy(&out.stdout).trim(),
            secs,
            bytes as f64 / 1e6 / secs
        );
        Ok(())
    };
    grep("first, warms the page cache")?;
    // Where the time goes: reading and splitting lines alone, then with the
    // key-word search every line gets.
    let split = |prefilter: bool| -> Result<(), String> {
        let keys = smtp_doctor::logscan::formats::KEYS
            .iter()
            .map(|k| regex::escape(k))
            .collect::<Vec<_>>()
            .join("|");
        let re = regex::bytes::Regex::new(&keys).map_err(|e| e.to_string())?;
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let (mut n, mut hits) = (0u64, 0u64);
        logscan::lines::for_each_line(
            std::io::BufReader::with_capacity(256 * 1024, file),
            64 * 1024,
            |l| {
                n += 1;
                if let (true, logscan::lines::Line::Text(b)) = (prefilter, l)
                    && re.is_match(b)
                {
                    hits += 1;
                }
            },
        )
        .map_err(|(e, _)| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "lines split{}: {n} lines{}, {:.2} s, {:.0} MB/s",
            if prefilter {
                " + key-word search"
            } else {
                " only"
            },
            if prefilter {
                format!(", {hits} candidates")
            } else {
                String::new()
            },
            secs,
            bytes as f64 / 1e6 / secs
        );
        Ok(())
    };
    split(false)?;
    split(true)?;
    println!("peak RSS before the triage: {}", vm_hwm());
    let t = Instant::now();
    let triage = logscan::scan_path(path, &Options::default()).map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "triage: {:.2} s, {:.0} MB/s on one thread; {} lines, {} findings, {} recognized, {} not understood",
        secs,
        bytes as f64 / 1e6 / secs,
        triage.lines,
        triage.findings,
        triage.classified,
        triage.not_understood.count
    );
    for r in &triage.causes {
        println!("  {:>9}  {}", r.count, r.cause);
    }
    println!("peak RSS after the triage: {}", vm_hwm());
    grep("again")?;
    Ok(())
}

/// VmHWM of this process, as /proc/self/status writes it.
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A small deterministic generator (xorshift), so every run writes the
/// same log.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DOMAINS: [&str; 8] = [
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "shop.example",
    "corp.example",
    "news.example",
    "school.example",
];
const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

/// Writes about `size` bytes of Postfix log; returns (lines, refusals).
fn generate(path: &Path, size: u64) -> std::io::Result<(u64, u64)> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut written, mut lines, mut refusals) = (0u64, 0u64, 0u64);
    let mut line = String::with_capacity(512);
    let mut t = 0u64;
    while written < size {
        t += rng.below(3);
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let day = 1 + (t / 86400) % 28;
        let pid = 1000 + rng.below(30000);
        let ip = format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let d1 = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
        let d2 = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
        let qid = format!("{:010X}", rng.next() & 0xff_ffff_ffff);
        let pre = format!("Nov {day:2} {h:02}:{m:02}:{s:02} mx1 postfix");
        line.clear();
        let kind = rng.below(100);
        use std::fmt::Write as _;
        let _ = match kind {
            0..=14 => write!(
                line,
                "{pre}/smtpd[{pid}]: connect from client{pid}.{d1}[{ip}]"
            ),
            15..=24 => write!(
                line,
                "{pre}/smtpd[{pid}]: disconnect from client{pid}.{d1}[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
            ),
            25..=34 => write!(
                line,
                "{pre}/smtpd[{pid}]: Anonymous TLS connection established from client{pid}.{d1}[{ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
            ),
            35..=44 => write!(
                line,
                "{pre}/qmgr[{pid}]: {qid}: from=<{user}@{d1}>, size={}, nrcpt=1 (queue active)",
                1000 + rng.below(90000)
            ),
            45..=54 => write!(
                line,
                "{pre}/smtp[{pid}]: {qid}: to=<{user}@{d2}>, relay=mx.{d2}[{ip}]:25, delay=0.4, delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {qid})"
            ),
            55..=62 => write!(
                line,
                "{pre}/cleanup[{pid}]: {qid}: message-id=<{}.{}@{d1}>",
                rng.next(),
                pid
            ),
            63..=69 => write!(line, "{pre}/qmgr[{pid}]: {qid}: removed"),
            70..=77 => write!(
                line,
                "{pre}/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <{user}@{d2}>: Relay access denied; from=<{user}@{d1}> to=<{user}@{d2}> proto=ESMTP helo=<client.{d1}>"
            ),
            78..=84 => write!(
                line,
                "{pre}/submission/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}@{d1}"
            ),
            85..=88 => write!(
                line,
                "{pre}/submission/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 553 5.7.1 <{user}@{d1}>: Sender address rejected: not owned by user {user}@{d2}; from=<{user}@{d1}> to=<x@{d2}> proto=ESMTP helo=<pc>"
            ),
            89..=91 => write!(
                line,
                "{pre}/smtpd[{pid}]: NOQUEUE: reject: RCPT from mail.{d1}[{ip}]: 550 5.1.1 <{user}{pid}@{d2}>: Recipient address rejected: User unknown in virtual mailbox table; from=<{user}@{d1}> to=<{user}{pid}@{d2}> proto=ESMTP helo=<mail.{d1}>"
            ),
            92..=93 => write!(
                line,
                "{pre}/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; from=<{user}@{d1}> to=<{user}@{d2}> proto=ESMTP helo=<x>"
            ),
            94..=96 => write!(
                line,
                "{pre}/smtp[{pid}]: {qid}: to=<{user}@{d2}>, relay=mx.{d2}[{ip}]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.7.1, status=bounced (host mx.{d2}[{ip}] said: 550 5.7.1 Recipient address rejected: Access denied (in reply to RCPT TO command))"
            ),
            _ => write!(
                line,
                "{pre}/smtp[{pid}]: {qid}: to=<{user}@{d2}>, relay=mx.{d2}[{ip}]:25, delay=300, delays=0.1/0/0.5/299, dsn=4.7.1, status=deferred (host mx.{d2}[{ip}] said: 450 4.7.1 <{user}@{d2}>: Recipient address rejected: Greylisted, see https://postgrey.example/ (in reply to RCPT TO command))"
            ),
        };
        if kind >= 70 {
            refusals += 1;
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    w.flush()?;
    Ok((lines, refusals))
}
