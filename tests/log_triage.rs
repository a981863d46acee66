//! Log triage (`smtp-doctor explain --log`) over real logs: the test bed's
//! own Postfix log (recorded by tests/data/logs/record.sh, see SOURCES.md
//! there), published Exim and sendmail lines, and hostile input around
//! them (a 100 MB line, binary data, a truncated gzip file). The binary is
//! run for the exit codes and formats.

use smtp_doctor::classify::classify_text;
use smtp_doctor::logscan::{self, Options, Triage};
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/logs")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).expect("fixture")
}

fn scan_bytes(bytes: Vec<u8>) -> Triage {
    logscan::scan_reader(Cursor::new(bytes), &Options::default())
}

fn counts(t: &Triage) -> Vec<(String, u64)> {
    t.causes
        .iter()
        .map(|r| (r.cause.clone(), r.count))
        .collect()
}

fn row<'a>(t: &'a Triage, cause: &str) -> &'a logscan::Row {
    t.causes
        .iter()
        .find(|r| r.cause == cause)
        .unwrap_or_else(|| panic!("no row {cause} in {:?}", counts(t)))
}

/// What record.sh drove (SOURCES.md): 5 failed logins, 2 relay denials,
/// 2 "not owned" senders, and one "not logged in" sender whose cause is
/// whatever the shared classifier says of that reply.
fn expected_postfix() -> (Vec<(String, u64)>, u64) {
    let mut want: Vec<(String, u64)> = vec![
        ("auth-failed".into(), 5),
        ("relay-denied".into(), 2),
        ("sender-not-permitted".into(), 2),
    ];
    let reply = "553 5.7.1 <alice@smtpd.test>: Sender address rejected: not logged in";
    let mut not_understood = 0;
    match classify_text(reply).first() {
        Some(m) => match want.iter_mut().find(|(c, _)| *c == m.cause) {
            Some(entry) => entry.1 += 1,
            None => want.push((m.cause.clone(), 1)),
        },
        None => not_understood = 1,
    }
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (want, not_understood)
}

fn check_postfix(t: &Triage) {
    let (want, not_understood) = expected_postfix();
    assert_eq!(counts(t), want);
    assert_eq!(t.findings, 10);
    assert_eq!(t.classified, 10 - not_understood);
    assert_eq!(t.not_understood.count, not_understood);
    assert_eq!(t.formats.postfix, 10);
    let auth = row(t, "auth-failed");
    assert_eq!(auth.auth_failed, 5);
    let users: Vec<(&str, u64)> = auth
        .users
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(
        users,
        [
            ("alice@smtpd.test", 3),
            ("carol@smtpd.test", 1),
            ("nobody@smtpd.test", 1)
        ]
    );
    assert_eq!(auth.client_ips[0].value, "127.0.0.1");
    assert_eq!(auth.client_ips[0].count, 5);
    let relay = row(t, "relay-denied");
    assert_eq!(relay.rejected, 2);
    assert_eq!(relay.recipient_domains[0].value, "example.net");
    assert_eq!(relay.sender_domains[0].value, "smtpd.test");
    assert!(relay.examples[0].contains("Relay access denied"));
    assert!(!relay.fixes.is_empty());
    assert!(relay.first <= relay.last);
}

#[test]
fn postfix_testbed_log_counts() {
    let t = logscan::scan_path(&data("postfix-testbed.log"), &Options::default()).unwrap();
    check_postfix(&t);
    assert_eq!(t.lines, 42);
    assert_eq!(t.skipped.long_lines + t.skipped.binary_lines, 0);
}

/// The same lines as `journalctl -o short-iso` prints them (an RFC 3339
/// time stamp in place of the syslog one), mixed with published Exim and
/// sendmail lines: each format is read in one pass.
#[test]
fn journal_prefix_and_mixed_formats() {
    let text = String::from_utf8(read("postfix-testbed.log")).unwrap();
    let mut mixed = String::new();
    for line in text.lines() {
        // "Nov 30 09:04:25 mail ..." -> "2026-11-30T09:04:25+0000 mail ..."
        let (_, rest) = line.split_at(16);
        mixed.push_str(&format!("2026-11-30T{}+0000 {rest}\n", &line[7..15]));
    }
    mixed.push_str(&String::from_utf8(read("exim-published.log")).unwrap());
    mixed.push_str(&String::from_utf8(read("sendmail-published.log")).unwrap());
    let t = scan_bytes(mixed.into_bytes());
    assert_eq!(t.formats.postfix, 10);
    assert_eq!(t.formats.exim, 5);
    assert_eq!(t.formats.sendmail, 2);
    let auth = row(&t, "auth-failed");
    assert_eq!(auth.count, 5);
    assert_eq!(auth.first, "2026-11-30T09:04:25+0000");
}

#[test]
fn exim_published_lines() {
    let t = logscan::scan_path(&data("exim-published.log"), &Options::default()).unwrap();
    // 3 "rejected RCPT ... relay not permitted", 2 "**" bounces.
    assert_eq!(t.findings, 5);
    assert_eq!(t.formats.exim, 5);
    assert_eq!(t.classified + t.not_understood.count, 5);
    let relay = row(&t, "relay-denied");
    assert_eq!(relay.count, 3);
    assert_eq!(relay.rejected, 3);
    let ips: Vec<(&str, u64)> = relay
        .client_ips
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(ips, [("10.216.16.46", 2), ("82.227.216.130", 1)]);
    assert_eq!(relay.sender_domains[0].value, "ukr.net");
    assert_eq!(relay.first, "2011-02-13 22:37:13");
    assert_eq!(relay.last, "2011-05-29 00:09:47");
    // The bounces: the remote reply "550 #5.1.0 Address rejected." is
    // classified by the shared classifier, or counted as not understood.
    let bounce = "550 #5.1.0 Address rejected.";
    match classify_text(bounce).first() {
        Some(m) => assert_eq!(row(&t, &m.cause).bounced, 2),
        None => assert_eq!(t.not_understood.count, 2),
    }
}

#[test]
fn sendmail_published_lines() {
    let t = logscan::scan_path(&data("sendmail-published.log"), &Options::default()).unwrap();
    // Two reject= lines; the dsn=2.0.0 delivery is not a finding.
    assert_eq!(t.findings, 2);
    assert_eq!(t.formats.sendmail, 2);
    let relay = row(&t, "relay-denied");
    assert_eq!(relay.count, 1);
    assert_eq!(relay.client_ips[0].value, "172.30.1.108");
    assert_eq!(relay.recipient_domains[0].value, "gmail.com");
    assert_eq!(t.classified + t.not_understood.count, 2);
}

/// A 100 MB line, lines of binary data and NUL bytes around the real
/// log: the long line is skipped and measured, never held, and the counts
/// of the real lines do not change.
#[test]
fn long_line_and_binary_data_are_counted_not_read() {
    let log = read("postfix-testbed.log");
    let (head, tail) = log.split_at(log.len() / 2);
    let cut = head.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let (head, rest) = log.split_at(cut);
    let _ = tail;
    let hundred_mb = 100 * 1024 * 1024u64;
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 256) as u8).collect();
    let reader = Cursor::new(head.to_vec())
        .chain(std::io::repeat(b'x').take(hundred_mb))
        .chain(Cursor::new(b"\n".to_vec()))
        .chain(Cursor::new(binary))
        .chain(Cursor::new(
            b"\nreject\0 NOQUEUE: reject: with a NUL\n".to_vec(),
        ))
        .chain(Cursor::new(rest.to_vec()));
    let t = logscan::scan_reader(reader, &Options::default());
    check_postfix(&t);
    assert_eq!(t.skipped.long_lines, 1);
    assert_eq!(t.skipped.long_line_bytes, hundred_mb);
    assert!(t.skipped.binary_lines >= 1, "{:?}", t.skipped);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_is_read_and_a_truncated_one_is_reported() {
    let log = read("postfix-testbed.log");
    let gz = gzip(&log);
    let t = scan_bytes(gz.clone());
    assert!(t.gzip);
    check_postfix(&t);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);

    let cut = scan_bytes(gz[..gz.len() / 2].to_vec());
    assert!(cut.gzip);
    assert_eq!(cut.warnings.len(), 1, "{:?}", cut.warnings);
    assert!(cut.warnings[0].contains("gzip"), "{}", cut.warnings[0]);
    assert!(cut.findings < 10);
    assert!(cut.bytes < log.len() as u64);
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"));
    c.env("NO_COLOR", "1");
    c
}

#[test]
fn cli_formats_and_exit_codes() {
    let path = data("postfix-testbed.log");
    let out = bin()
        .args(["explain", "--format", "json", "--log"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["findings"], 10);
    let (want, _) = expected_postfix();
    let got: Vec<(String, u64)> = v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["cause"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);

    let out = bin()
        .args(["explain", "--format", "markdown", "--log"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| 2 | 2 | `relay-denied` |"), "{md}");

    let out = bin()
        .args(["explain", "--log"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SASL users: alice@smtpd.test (3)"), "{text}");

    // Standard input, with nothing known in it: exit 1.
    let mut child = bin()
        .args(["explain", "--log", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Nov 30 09:04:25 mail postfix/qmgr[1]: 4ABC: removed\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cli_refuses_what_is_not_a_log_file() {
    let dir = std::env::temp_dir().join(format!("smtp-doctor-logtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let missing = dir.join("missing.log");
    let mut cases = vec![(dir.clone(), "directory"), (missing, "no such file")];
    if made.is_ok_and(|s| s.success()) {
        cases.push((fifo, "not a regular file"));
    }
    for (path, words) in cases {
        let started = Instant::now();
        let out = bin()
            .args(["explain", "--log"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[path = "tui_common/mod.rs"]
mod tui_common;

/// The explain screen: a pasted log path starts a triage off the UI loop
/// (an effect), its result (a message) shows the table, Enter opens a row.
#[test]
fn tui_explain_screen_triages_a_pasted_log_path() {
    use ratatui::crossterm::event::KeyCode;
    use smtp_doctor::tui::explain::LogView;
    use smtp_doctor::tui::{Effect, Msg, Screen};
    use tui_common::*;

    let mut a = app();
    press(&mut a, [ch('j'), key(KeyCode::Enter)]);
    assert!(matches!(a.screen, Screen::Explain(_)));
    let path = data("postfix-testbed.log");
    let effects = a.update(Msg::Paste(format!("@{}", path.display())));
    let (id, asked) = match effects.as_slice() {
        [Effect::TriageLog { id, path }] => (*id, path.clone()),
        other => panic!("expected one TriageLog effect, got {other:?}"),
    };
    assert_eq!(asked, path);
    // The runtime runs the scan on a blocking thread; here, directly.
    let result = logscan::scan_path(&asked, &Options::default())
        .map(Box::new)
        .map_err(|e| e.to_string());
    // An answer for an older request is dropped.
    a.update(Msg::LogTriaged {
        id: id + 7,
        result: Err("stale".into()),
    });
    a.update(Msg::LogTriaged { id, result });
    let shown = screen_text(&a, 120, 40);
    assert!(shown.contains("relay-denied"), "{shown}");
    assert!(shown.contains("auth-failed"), "{shown}");
    // Down to the second row (relay-denied), Enter opens its explanation.
    press(&mut a, [key(KeyCode::Down), key(KeyCode::Enter)]);
    match &a.screen {
        Screen::Explain(e) => match &e.log {
            Some(LogView::Done { selected, open, .. }) => assert!(*open && *selected == 1),
            other => panic!("{other:?}"),
        },
        _ => panic!("left the explain screen"),
    }
    let shown = screen_text(&a, 120, 40);
    assert!(shown.contains("Example lines"), "{shown}");
    assert!(shown.contains("Relay access denied"), "{shown}");
    // Esc closes the row, a second Esc leaves.
    press(&mut a, [key(KeyCode::Esc)]);
    assert!(matches!(a.screen, Screen::Explain(_)));
    press(&mut a, [key(KeyCode::Esc)]);
    assert!(matches!(a.screen, Screen::Start(_)));
}

/// The cause the shared classifier gives a reason text, or None.
fn cause_of(reason: &str) -> Option<String> {
    classify_text(reason).first().map(|m| m.cause.clone())
}

/// The test bed's Exim (recorded by tests/data/logs/record-exim.sh): each
/// line's reason goes through the shared classifier; the table must hold
/// exactly those counts, with the fields Exim logs.
#[test]
fn exim_testbed_log_counts() {
    let t = logscan::scan_path(&data("exim-testbed.log"), &Options::default()).unwrap();
    assert_eq!(t.lines, 10);
    assert_eq!(t.findings, 10);
    assert_eq!(t.formats.exim, 10);
    // What record-exim.sh drove, by the reason Exim logs for it.
    let driven = [
        ("relay not permitted", 2),
        (
            "535 Incorrect authentication data (set_id=alice@smtpd.test)",
            3,
        ),
        (
            "Sender <alice@smtpd.test> does not match your login bob@smtpd.test",
            2,
        ),
        ("STARTTLS required before MAIL", 2),
        ("Unrouteable address", 1),
    ];
    let mut want: Vec<(String, u64)> = Vec::new();
    let mut not_understood = 0;
    for (reason, n) in driven {
        match cause_of(reason) {
            Some(c) => match want.iter_mut().find(|(w, _)| *w == c) {
                Some(e) => e.1 += n,
                None => want.push((c, n)),
            },
            None => not_understood += n,
        }
    }
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(counts(&t), want);
    assert_eq!(t.not_understood.count, not_understood);
    // These two the classifier has known from the start.
    assert_eq!(row(&t, "relay-denied").count, 2);
    let auth = row(&t, "auth-failed");
    assert_eq!(auth.auth_failed, 3);
    assert_eq!(auth.users[0].value, "alice@smtpd.test");
    assert_eq!(auth.users[0].count, 3);
    assert_eq!(auth.client_ips[0].value, "127.0.0.1");
    let relay = row(&t, "relay-denied");
    assert_eq!(relay.recipient_domains[0].value, "example.net");
    assert_eq!(relay.sender_domains[0].value, "smtpd.test");
}
