//! Finds the running test bed (Postfix, Dovecot, dnsmasq on 127.0.0.2), or
//! starts a private one the way tests/run.sh does and stops it at the end.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Testbed {
    pub dir: PathBuf,
    /// Whether this benchmark started it (and so stops it).
    owned: bool,
}

impl Testbed {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The running test bed, or a new one in a fresh directory.
    pub fn find_or_start() -> Result<Testbed, String> {
        if let Some(dir) = std::env::var_os("SMTP_DOCTOR_TESTBED") {
            let dir = PathBuf::from(dir);
            if !dir.join("ca.pem").is_file() || !postfix_answers() {
                return Err(format!(
                    "SMTP_DOCTOR_TESTBED={} but no test bed answers there",
                    dir.display()
                ));
            }
            return Ok(Testbed { dir, owned: false });
        }
        if postfix_answers() {
            return running_dir()
                .map(|dir| Testbed { dir, owned: false })
                .ok_or_else(|| {
                    "a test bed answers on 127.0.0.2:587 but its directory is unknown: set SMTP_DOCTOR_TESTBED"
                        .to_string()
                });
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("mktemp")
            .args(["-d", "/tmp/smtp-doctor-bench.XXXXXX"])
            .output()
            .map_err(|e| format!("mktemp: {e}"))?;
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        eprintln!("starting a test bed in {}", dir.display());
        let tb = Testbed { dir, owned: true };
        for (script, arg) in [("install.sh", None), ("up.sh", Some(&tb.dir))] {
            let mut cmd = Command::new("bash");
            cmd.arg(root.join("tests/testbed").join(script));
            if let Some(a) = arg {
                cmd.arg(a);
            }
            let st = cmd.status().map_err(|e| format!("{script}: {e}"))?;
            if !st.success() {
                return Err(format!("tests/testbed/{script} failed ({st})"));
            }
        }
        Ok(tb)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if self.owned {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let _ = Command::new("bash")
                .arg(root.join("tests/testbed/down.sh"))
                .arg(&self.dir)
                .status();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether Postfix greets on 127.0.0.2:587.
pub fn postfix_answers() -> bool {
    let sa: SocketAddr = ([127, 0, 0, 2], 587).into();
    let Ok(s) = TcpStream::connect_timeout(&sa, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut line = String::new();
    let _ = BufReader::new(s).read_line(&mut line);
    line.starts_with("220 mail.smtpd.test")
}

/// The directory of the running test bed: /tmp/tb, or the one Postfix's
/// master process runs in (up.sh starts it in STATE/queue).
fn running_dir() -> Option<PathBuf> {
    let usual = PathBuf::from("/tmp/tb");
    if usual.join("ca.pem").is_file() {
        return Some(usual);
    }
    let procs = std::fs::read_dir("/proc").ok()?;
    for entry in procs.flatten().take(100_000) {
        let p = entry.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if comm.trim() != "master" {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(p.join("cwd"))
            && cwd.ends_with("queue")
            && let Some(dir) = cwd.parent()
            && dir.join("ca.pem").is_file()
        {
            return Some(dir.to_path_buf());
        }
    }
    None
}
