//! The wizard's auto-detection against the real test DNS server: the
//! provider behind a domain's MX, and the RFC 6186/8314 SRV records.

use smtp_doctor::probe::autodetect::detect;
use smtp_doctor::settings::{Security, Settings};

fn settings() -> Option<Settings> {
    if std::env::var_os("SMTP_DOCTOR_TESTBED").is_none() {
        eprintln!("skipped: SMTP_DOCTOR_TESTBED is not set (run tests/run.sh)");
        return None;
    }
    Some(Settings {
        dns: Some("127.0.0.2:5353".into()),
        ..Settings::default()
    })
}

#[tokio::test]
async fn mx_names_the_provider_and_srv_names_the_server() {
    let Some(s) = settings() else { return };
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
