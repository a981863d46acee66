//! Outside text never reaches a terminal raw: an ESC, a CSI sequence, the
//! one-character CSI U+009B, DEL and a right-to-left override in a server
//! reply, an SPF record, a profile file and the settings come out as
//! visible escapes in the text and Markdown reports, `profiles list/show`,
//! the progress and error lines of `check`, and the interactive screen.

mod tui_common;

use smtp_doctor::diagnose::diagnose;
use smtp_doctor::printable::needs_escape;
use smtp_doctor::probe::{Dir, Status, TranscriptLine};
use smtp_doctor::profile::{Profile, Store};
use smtp_doctor::report::{Format, Report};
use smtp_doctor::tui::{ListedProfile, Msg};
use std::path::PathBuf;
use std::process::Command;
use tui_common::*;

/// Every kind of character a terminal obeys, in one string.
const EVIL: &str = "x\x1b]0;owned\x07\x1b[2J\u{9b}31m\x7f\u{202e}gro.live";

fn raw_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| needs_escape(c) && c != '\n')
        .collect()
}

fn assert_printable(what: &str, s: &str) {
    let bad = raw_chars(s);
    assert!(bad.is_empty(), "{what} holds raw {bad:?}:\n{s}");
}

/// The demo's outcomes with hostile text where a server or DNS puts text:
/// a summary, a transcript line, and (in the diagnosis) evidence lines and
/// a fix quoting an SPF record.
fn hostile_run() -> (
    smtp_doctor::settings::Settings,
    Vec<smtp_doctor::probe::Outcome>,
) {
    let mut settings = demo_settings();
    settings.helo = EVIL.into();
    let mut outcomes = demo_outcomes(false);
    for o in &mut outcomes {
        if o.status.is_problem() {
            o.summary = format!("Server said: {EVIL}");
            o.transcript.push(TranscriptLine {
                t_ms: 3,
                dir: Dir::Server,
                line: format!("554 5.7.1 {EVIL}"),
            });
        }
    }
    assert!(outcomes.iter().any(|o| o.status == Status::Fail));
    (settings, outcomes)
}

#[test]
fn reports_show_hostile_text_as_escapes() {
    let (settings, outcomes) = hostile_run();
    let mut diagnosis = diagnose(&outcomes, &settings);
    let f = diagnosis
        .causes
        .first_mut()
        .expect("the demo run has a cause");
    f.evidence[0].lines.push(format!("554 {EVIL}"));
    f.fixes
        .push(format!("Publish v=spf1 ip4:192.0.2.1 {EVIL} -all"));
    diagnosis.notes.push(smtp_doctor::diagnose::Note {
        check: outcomes[0].id,
        text: EVIL.into(),
    });
    diagnosis.provider_name = Some(EVIL.into());
    let report = Report {
        settings: &settings,
        checks: &outcomes,
        diagnosis: &diagnosis,
        total_ms: 5,
    };
    for color in [false, true] {
        let text = report.render(Format::Text, color);
        // Colour codes are ours; take them out before looking.
        let ours = text
            .replace("\x1b[0m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[36m", "");
        assert_printable(&format!("text (colour {color})"), &ours);
        assert!(text.contains("\\x1b[2J\\u{9b}31m\\x7f\\u{202e}"), "{text}");
        assert!(
            text.contains("v=spf1 ip4:192.0.2.1 x\\x1b]0;owned\\x07"),
            "{text}"
        );
    }
    let md = report.render(Format::Markdown, false);
    assert_printable("markdown", &md);
    assert!(md.contains("\\u{202e}gro.live"), "{md}");
    // JSON keeps exact strings, every one of these characters as a \u
    // escape (serde_json writes only C0 controls that way by itself).
    let json = report.render(Format::Json, false);
    assert_printable("json", &json);
    assert!(
        json.contains("\\u001b[2J\\u009b31m\\u007f\\u202egro.live"),
        "{json}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["settings"]["helo"], EVIL, "the data is unchanged");
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smtp-doctor-print-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("profiles")).unwrap();
    d
}

#[test]
fn profiles_list_and_show_escape_what_a_file_holds() {
    let dir = temp_dir("profiles");
    let store = Store::at(dir.join("profiles"));
    let mut settings = good_settings();
    settings.server = EVIL.into();
    settings.account = EVIL.into();
    settings.dns = Some(EVIL.into());
    store
        .save(
            &Profile {
                name: "office".into(),
                settings,
                save_password: false,
            },
            false,
        )
        .unwrap();
    // A file whose name is not a profile name, listed as damaged.
    std::fs::write(dir.join("profiles").join(format!("{EVIL}.json")), "{}").unwrap();
    for args in [&["profiles", "list"][..], &["profiles", "show", "office"]] {
        let out = binary()
            .args(args)
            .env("SMTP_DOCTOR_CONFIG_DIR", &dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert_printable(&format!("{args:?}"), &stdout);
        assert_printable(&format!("{args:?} stderr"), &stderr);
        assert!(stdout.contains("x\\x1b]0;owned\\x07"), "{args:?}: {stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_errors_on_stderr_are_printable() {
    let out = binary()
        .args([
            "check", "--server", EVIL, "--to", EVIL, "--helo", EVIL, "-q",
        ])
        .env("SMTP_DOCTOR_DNS", "127.0.0.2:5353")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_printable("check stderr", &stderr);
    assert!(stderr.contains("\\u{202e}"), "{stderr}");
}

/// A DNS server on loopback answering REFUSED to everything at once, so a
/// run's domain checks end quickly without leaving the machine.
fn refusing_dns() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let mut q = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut q) {
                if n >= 12 {
                    let mut a = q[..n].to_vec();
                    a[2] = 0x80 | (q[2] & 0x79);
                    a[3] = 0x05;
                    let _ = sock.send_to(&a, from);
                }
            }
        });
        addr
    })
}

/// A hostile server (no real server sends control characters in its
/// greeting, so this one is scripted): its reply reaches the progress
/// lines on standard error and the report on standard output escaped.
#[test]
fn a_hostile_greeting_is_escaped_in_progress_and_report() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(8) {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let _ = c.write_all(format!("554 5.7.1 {EVIL}\r\n").as_bytes());
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let _ = c.write_all(format!("554 5.7.1 {EVIL}\r\n").as_bytes());
                    line.clear();
                }
            });
        }
    });
    for format in ["text", "markdown"] {
        let out = binary()
            .args([
                "check",
                "--server",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--security",
                "none",
                "--no-auth",
                "--to",
                "bob@example.net",
                "--from",
                "alice@example.org",
                "--internal",
                "--public-ip",
                "192.0.2.1",
                "--timeout",
                "3",
                "--dns",
                refusing_dns(),
                "--echo-dns",
                refusing_dns(),
                "--format",
                format,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_printable("progress", &stderr);
        assert_printable(format, &stdout);
        // (The engine escapes binary in replies its own way; the bidi
        // override is the report's to escape.)
        assert!(stdout.contains("\\u{202e}gro.live"), "{format}: {stdout}");
        assert!(stderr.contains("\\u{202e}gro.live"), "{stderr}");
    }
}

#[test]
fn the_screen_never_draws_a_control_or_bidi_character() {
    // A profile with hostile settings, and a damaged one with a hostile
    // name and error, on the start screen.
    let mut a = app();
    let mut settings = good_settings();
    settings.server = EVIL.into();
    settings.account = EVIL.into();
    a.update(Msg::Profiles(Ok(vec![
        ListedProfile {
            name: EVIL.into(),
            path: PathBuf::from(format!("/p/{EVIL}.json")),
            profile: Ok(Profile {
                name: EVIL.into(),
                settings,
                save_password: false,
            }),
        },
        ListedProfile {
            name: format!("b{EVIL}"),
            path: PathBuf::from("/p/b.json"),
            profile: Err(format!("damaged: {EVIL}")),
        },
    ])));
    let mut screens = vec![("start", draw(&a, 100, 30))];
    a.update(ch('j'));
    screens.push(("start, damaged selected", draw(&a, 100, 30)));
    // The dashboard with a hostile reply in summaries and the transcript.
    let mut d = app();
    d.begin_run(demo_settings(), None, false);
    let (_, outcomes) = hostile_run();
    feed_run(&mut d, outcomes);
    screens.push(("dashboard", draw(&d, 120, 40)));
    press(&mut d, [key(ratatui::crossterm::event::KeyCode::Tab)]);
    screens.push(("dashboard, next pane", draw(&d, 120, 40)));
    let mut seen_escape = false;
    for (what, backend) in screens {
        for cell in backend.buffer().content.iter() {
            let bad = raw_chars(cell.symbol());
            assert!(bad.is_empty(), "{what}: a cell holds {bad:?}");
        }
        seen_escape |=
            backend.to_string().contains("\\x1b") || backend.to_string().contains("\\u{202e}");
    }
    // The hostile text is shown, as escapes, not silently dropped.
    assert!(seen_escape, "no escape shown on any screen");
}

#[test]
fn the_last_guard_strips_bidi_characters_from_any_cell() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
    buf.set_string(0, 0, "ab", ratatui::style::Style::new());
    buf[(0, 0)].set_symbol("a\u{202e}");
    buf[(1, 0)].set_symbol("\u{2066}");
    smtp_doctor::tui::theme::sanitize_buffer(&mut buf);
    assert_eq!(buf[(0, 0)].symbol(), "a");
    assert_eq!(buf[(1, 0)].symbol(), "?");
}
