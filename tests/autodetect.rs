//! The wizard's auto-detection against the real test DNS server: the
//! provider behind a domain's MX, and the RFC 6186/8314 SRV records.

use smtp_doctor::probe::autodetect::detect;
use smtp_doctor::settings::{Security, Settings};

/// Settings that ask the test bed's DNS server (ignored tests: run by
/// tests/run.sh with `--include-ignored`).
fn settings() -> Settings {
    assert!(
        std::env::var_os("SMTP_DOCTOR_TESTBED").is_some(),
        "SMTP_DOCTOR_TESTBED is not set: run tests/run.sh, which starts the test bed"
    );
    Settings {
        dns: Some("127.0.0.2:5353".into()),
        ..Settings::default()
    }
}

#[tokio::test]
#[ignore = "needs the test bed"]
async fn mx_names_the_provider_and_srv_names_the_server() {
    let s = settings();
    let d = detect(&s, "m365.test").await;
    assert_eq!(d.provider.as_deref(), Some("microsoft365"), "{d:?}");
    let d = detect(&s, "smtpd.test").await;
    assert_eq!(d.mx_hosts, vec!["mail.smtpd.test".to_string()]);
    assert_eq!(
        d.srv,
        Some(("mail.smtpd.test".to_string(), 465, Security::Tls)),
        "implicit TLS first (RFC 8314)"
    );
    let d = detect(&s, "nosuchdomain.test").await;
    assert_eq!(d, Default::default());
}
