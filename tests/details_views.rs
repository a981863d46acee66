//! The typed views of check details are the only way the probe writes
//! them. Two proofs: every recorded real run (`tests/fixtures/runs/`) reads
//! into its views and writes back to the very same details, so a probe
//! writing through the views writes what the report always held; and no
//! file under `src/probe` writes a detail by string key.

use serde_json::Value;
use smtp_doctor::probe::Outcome;
use smtp_doctor::probe::details::rewritten;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn recorded_details_survive_their_views_unchanged() {
    let dir = root().join("tests/fixtures/runs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 16, "too few recordings");
    let mut wrong = Vec::new();
    let mut compared = 0;
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let outcomes: Vec<Outcome> = serde_json::from_value(doc["report"]["checks"].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for o in outcomes {
            compared += 1;
            match rewritten(o.id, &o.details) {
                Err(e) => wrong.push(format!("{name} {}: {e}", o.id)),
                Ok(back) if back != o.details => wrong.push(format!(
                    "{name} {}:\n  recorded  {}\n  rewritten {}",
                    o.id,
                    Value::Object(o.details.clone()),
                    Value::Object(back)
                )),
                Ok(_) => {}
            }
        }
    }
    assert!(compared >= 16 * 18, "only {compared} outcomes compared");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The lines of `src` that write a detail by key: `.with("` or `.set("`
/// (also split over lines, `.with(\n "key"`), or a `details.insert`.
fn keyed_writes(src: &str) -> Vec<String> {
    let squeezed: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut found = Vec::new();
    for pat in [
        ".with(\"",
        ".set(\"",
        ".with( \"",
        ".set( \"",
        ".set(&format!",
        "details.insert(",
    ] {
        for (i, _) in squeezed.match_indices(pat) {
            let end = (i + 60).min(squeezed.len());
            let end = (end..squeezed.len())
                .find(|&e| squeezed.is_char_boundary(e))
                .unwrap_or(squeezed.len());
            found.push(squeezed[i..end].to_string());
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_scan_sees_a_keyed_write() {
    assert_eq!(keyed_writes("o.set(\"x\", 1);").len(), 1);
    assert_eq!(
        keyed_writes("Outcome::new(a, b, c)\n    .with(\n        \"k\",\n 2)").len(),
        1
    );
    assert_eq!(keyed_writes("o.set(&format!(\"{p}x\"), 1)").len(), 1);
    assert!(keyed_writes("o.with_view(view::Auth { ..Default::default() })").is_empty());
}

#[test]
fn the_probe_writes_no_detail_by_key() {
    let mut files = Vec::new();
    rust_files(&root().join("src/probe"), &mut files);
    assert!(files.len() > 10);
    let mut wrong = Vec::new();
    for f in files {
        // The model defines the outcome (and its reply fields) itself.
        if f.ends_with("probe/model.rs") {
            continue;
        }
        for w in keyed_writes(&std::fs::read_to_string(&f).unwrap()) {
            wrong.push(format!("{}: {w}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "details written by key (fill the check's view and use set_view):\n{}",
        wrong.join("\n")
    );
}
