//! The arrows between layers point one way: the core (everything under
//! `src/` but `cli/`, `tui/` and `main.rs`) knows no front end, no argument
//! parser, no terminal library and no standard output; the two front ends
//! do not know each other. A change that breaks this fails here.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code without `//` comments, so docs may name what they avoid.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = fs::read_to_string(path).expect("a readable source file");
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_string()))
        .collect()
}

/// Whether `line` uses `word`. A module path (`crate::…`) must end there:
/// `crate::cli` is not `crate::clientconf`.
fn mentions(line: &str, word: &str) -> bool {
    let name = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word)
        .any(|(i, _)| !word.starts_with("crate::") || !line[i + word.len()..].starts_with(name))
}

#[test]
fn a_module_path_matches_only_itself() {
    assert!(mentions("use crate::cli::Args;", "crate::cli"));
    assert!(mentions("use crate::cli;", "crate::cli"));
    assert!(!mentions("use crate::clientconf::Client;", "crate::cli"));
    assert!(mentions("    eprintln!(\"x\");", "eprint"));
}

fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let in_layer = match layer {
            "core" => !(rel.starts_with("cli/") || rel.starts_with("tui/") || rel == "main.rs"),
            "tui" => rel.starts_with("tui/"),
            "cli" => rel.starts_with("cli/"),
            _ => unreachable!(),
        };
        if !in_layer {
            continue;
        }
        for (n, line) in code_lines(&f) {
            for word in forbidden {
                if mentions(&line, word) {
                    found.push(format!("src/{rel}:{n}: `{word}` in {}", line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_core_uses_no_front_end_no_terminal_and_no_stdout() {
    let v = violations(
        "core",
        &[
            "crate::cli",
            "crate::tui",
            "clap::",
            "ratatui",
            "crossterm",
            "println!",
            "print!(",
            "eprint",
            "stdout()",
            "stderr()",
        ],
    );
    assert!(
        v.is_empty(),
        "the core reaches a front end:\n{}",
        v.join("\n")
    );
}

#[test]
fn the_screen_does_not_use_the_command_line() {
    let v = violations("tui", &["crate::cli", "clap::"]);
    assert!(
        v.is_empty(),
        "the TUI depends on the CLI:\n{}",
        v.join("\n")
    );
}

#[test]
fn the_command_line_does_not_use_the_screen() {
    let v = violations("cli", &["crate::tui", "ratatui"]);
    assert!(
        v.is_empty(),
        "the CLI depends on the TUI:\n{}",
        v.join("\n")
    );
}

/// Screens are components: each handles its keys on its own state with a
/// read-only view of the rest and returns actions, which `App::apply`
/// alone carries out. A screen module that takes the whole app mutably
/// could change any state behind the others' backs; it fails here.
#[test]
fn no_screen_changes_the_whole_app() {
    let tui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut found = Vec::new();
    for name in [
        "start.rs",
        "wizard.rs",
        "dashboard.rs",
        "explain.rs",
        "modal.rs",
        "finding.rs",
    ] {
        let path = tui.join(name);
        for (n, line) in code_lines(&path) {
            let squeezed: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if squeezed.contains("mut App") || squeezed.contains("mut super::app::App") {
                found.push(format!("src/tui/{name}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a screen takes the app mutably (return an Action instead):\n{}",
        found.join("\n")
    );
}
