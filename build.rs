//! Records the git commit the binary is built from, for `--version`.
//!
//! A build from a source tarball (no `.git` beside Cargo.toml) or on a
//! machine without git gets "unknown"; this script never fails a build.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Asks cargo to rerun this script when `path` (as git names it) changes.
/// A file that does not exist is left out: cargo would rerun every build.
fn watch(git_path: &str) {
    if let Some(p) = git(&["rev-parse", "--git-path", git_path]) {
        let path = Path::new(&p);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    // Only this repository's own history counts: a tarball unpacked inside
    // some other checkout must not take that checkout's commit.
    let commit = if Path::new(&manifest).join(".git").exists() {
        // HEAD, and the branch it points to (a loose ref, or packed-refs).
        watch("HEAD");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&branch);
            watch("packed-refs");
        }
        git(&["rev-parse", "--short", "HEAD"])
    } else {
        None
    };
    let commit = commit
        .filter(|c| c.chars().all(|ch| ch.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SMTP_DOCTOR_COMMIT={commit}");
}
