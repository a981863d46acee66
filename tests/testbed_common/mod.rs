//! The running test bed, for the tests that need it (all of them marked
//! `#[ignore = "needs the test bed"]`; `tests/run.sh` runs them with
//! `--include-ignored`): its state directory, checked, and its DNS server.

#![allow(dead_code)]

use std::path::PathBuf;

/// The test bed's DNS server (dnsmasq on loopback).
pub const DNS: &str = "127.0.0.2:5353";

/// The running test bed's state directory; fails the test, never skips it,
/// when the test bed is not there (no ca.pem, or Postfix or Exim silent).
pub fn testbed() -> PathBuf {
    let dir = PathBuf::from(
        std::env::var_os("SMTP_DOCTOR_TESTBED")
            .expect("SMTP_DOCTOR_TESTBED is not set: run tests/run.sh, which starts the test bed"),
    );
    assert!(
        dir.join("ca.pem").is_file(),
        "SMTP_DOCTOR_TESTBED is set but {} has no ca.pem: is the test bed up?",
        dir.display()
    );
    for addr in ["127.0.0.2:587", "127.0.0.20:587"] {
        assert!(
            std::net::TcpStream::connect(addr).is_ok(),
            "nothing answers on {addr}: is the test bed (Postfix and Exim) up?"
        );
    }
    dir
}
