//! Files the user names on the command line that are not what they seem: a
//! FIFO or a huge file given as `--ca-file` gives a clear error at once,
//! never a hang or a memory flood.

use std::process::Command;
use std::time::{Duration, Instant};

fn check_with_ca(ca: &std::path::Path) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-doctor"))
        .args(["check", "--server", "127.0.0.1", "--port", "9", "--no-auth"])
        .args(["--from", "a@example.test", "--to", "b@example.net"])
        .args([
            "--dns",
            "127.0.0.1:9",
            "--echo-dns",
            "127.0.0.1:9",
            "--timeout",
            "1",
        ])
        .arg("--ca-file")
        .arg(ca)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
        started.elapsed(),
    )
}

#[test]
fn a_fifo_as_ca_file_is_refused_without_waiting() {
    let dir = std::env::temp_dir().join(format!("smtp-doctor-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("ca.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let (code, text, took) = check_with_ca(&fifo);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(took < Duration::from_secs(30), "it waited {took:?}");
    assert!(text.contains("named pipe"), "{text}");
    assert_ne!(code, Some(0), "{text}");
}

#[test]
fn a_huge_ca_file_is_refused_by_its_size() {
    let dir = std::env::temp_dir().join(format!("smtp-doctor-bigca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("ca.pem");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(40 * 1024 * 1024).unwrap(); // sparse: no disk used
    let (code, text, _) = check_with_ca(&big);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.contains("larger than 16 MiB"), "{text}");
    assert_ne!(code, Some(0), "{text}");
}
