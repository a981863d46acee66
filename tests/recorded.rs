//! Recorded runs in, causes out: the check outcomes of real runs against
//! the test bed's Postfix and Exim (`tests/fixtures/runs/`, written by
//! `bash tests/fixtures/record.sh`) are diagnosed again under a plain
//! `cargo test`, with no server. Each must rank its scenario's cause first,
//! and the diagnosis must be the same byte for byte however often it runs.

use serde_json::Value;
use smtp_doctor::diagnose::diagnose;
use smtp_doctor::probe::Outcome;
use smtp_doctor::settings::{Password, Settings};
use std::path::PathBuf;

struct Recording {
    file: String,
    expected: String,
    settings: Settings,
    outcomes: Vec<Outcome>,
    recorded_first: String,
}

fn first_of(diagnosis: &Value) -> String {
    if diagnosis["verdict"] == "ok" {
        return "ok".into();
    }
    diagnosis["causes"][0]["id"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

fn recordings() -> Vec<Recording> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/runs exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 16, "too few recordings in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let report = &doc["report"];
            let mut settings: Settings = serde_json::from_value(report["settings"].clone())
                .unwrap_or_else(|e| panic!("{}: settings: {e}", path.display()));
            if report["settings"]["password_given"] == true {
                // The report never holds the password; the diagnosis only
                // needs to know one was given.
                settings.password = Password::new("recorded");
            }
            let outcomes: Vec<Outcome> = serde_json::from_value(report["checks"].clone())
                .unwrap_or_else(|e| panic!("{}: checks: {e}", path.display()));
            Recording {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                expected: doc["expected_first"].as_str().unwrap().to_string(),
                settings,
                outcomes,
                recorded_first: first_of(&report["diagnosis"]),
            }
        })
        .collect()
}

#[test]
fn every_recorded_run_ranks_its_cause_first() {
    let mut wrong = Vec::new();
    for r in recordings() {
        let d = diagnose(&r.outcomes, &r.settings);
        let got = first_of(&serde_json::to_value(&d).unwrap());
        if got != r.expected {
            wrong.push(format!(
                "{}: first {got}, want {} (the live run said {})",
                r.file, r.expected, r.recorded_first
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_diagnosis_is_the_same_byte_for_byte() {
    for r in recordings() {
        let once = serde_json::to_string(&diagnose(&r.outcomes, &r.settings)).unwrap();
        for _ in 0..25 {
            let again = serde_json::to_string(&diagnose(&r.outcomes, &r.settings)).unwrap();
            assert_eq!(
                once, again,
                "{}: the diagnosis changed between runs",
                r.file
            );
        }
    }
}

#[test]
fn recordings_cover_both_server_families() {
    let all = recordings();
    for family in ["postfix.", "exim."] {
        let n = all.iter().filter(|r| r.file.starts_with(family)).count();
        assert!(n >= 8, "only {n} recordings of {family}");
    }
}

#[test]
fn every_recorded_detail_is_declared_in_its_typed_view() {
    let mut undeclared = Vec::new();
    for r in recordings() {
        for o in &r.outcomes {
            for key in smtp_doctor::probe::details::undeclared_keys(o.id, &o.details) {
                undeclared.push(format!("{}: {} has {key}", r.file, o.id));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "details the typed views in src/probe/details.rs do not name:\n{}",
        undeclared.join("\n")
    );
}
