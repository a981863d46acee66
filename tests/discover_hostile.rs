//! Bad input for `discover`: hostile autoconfig files, hostile HTTPS
//! servers and a candidate that shows a different certificate on every
//! port. No real server produces these, so they are scripted in process
//! (loopback only); each must end in a clear result, bounded in time and
//! memory.

use smtp_doctor::probe::discover::{self, Source, SourceKind, Suggestion, autoconfig, http};
use smtp_doctor::probe::tls::TlsSetup;
use smtp_doctor::settings::{Security, Settings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const EMAIL: &str = "alice@example.test";

fn server(host: &str, port: &str, socket: &str, user: &str) -> String {
    format!(
        "<outgoingServer type=\"smtp\"><hostname>{host}</hostname><port>{port}</port><socketType>{socket}</socketType><username>{user}</username></outgoingServer>"
    )
}

fn file(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><clientConfig version=\"1.1\"><emailProvider id=\"example.test\"><domain>example.test</domain>{inner}</emailProvider></clientConfig>"
    )
}

#[test]
fn huge_file_is_refused() {
    let pad = "<!-- x -->".repeat(10_000);
    let e = autoconfig::parse(file(&pad).as_bytes(), EMAIL).unwrap_err();
    assert!(e.contains("larger than 64 KiB"), "{e}");
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    let e = autoconfig::parse(file(&deep).as_bytes(), EMAIL).unwrap_err();
    assert!(e.contains("nests deeper"), "{e}");
}

#[test]
fn entities_are_never_expanded() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><clientConfig><emailProvider><domain>&lol2;</domain></emailProvider></clientConfig>"#;
    let e = autoconfig::parse(laughs.as_bytes(), EMAIL).unwrap_err();
    assert!(e.contains("DTD"), "{e}");
    let undeclared = file(&server(
        "smtp.example.test&evil;",
        "587",
        "STARTTLS",
        "%EMAILADDRESS%",
    ));
    let e = autoconfig::parse(undeclared.as_bytes(), EMAIL).unwrap_err();
    assert!(e.contains("unknown entity"), "{e}");
}

#[test]
fn wrong_types_and_unknown_placeholders_leave_the_entry_out_with_the_reason() {
    let xml = file(
        &[
            server("smtp.example.test", "99999", "SSL", "%EMAILADDRESS%"),
            server("smtp.example.test", "465", "TLS-ish", "%EMAILADDRESS%"),
            server("smtp.example.test", "587", "STARTTLS", "%PASSWORD%"),
            server("smtp.%EMAILHOST%", "587", "STARTTLS", "%EMAILADDRESS%"),
            server("bad host name!", "587", "STARTTLS", ""),
            server("smtp.example.test", "587", "STARTTLS", "%EMAILLOCALPART%"),
        ]
        .concat(),
    );
    let f = autoconfig::parse(xml.as_bytes(), EMAIL).unwrap();
    assert_eq!(f.outgoing.len(), 1, "{:?}", f.outgoing);
    assert_eq!(f.outgoing[0].username, "alice");
    assert_eq!(f.refused.len(), 5, "{:?}", f.refused);
    let all = f.refused.join("\n");
    for want in [
        "99999",
        "TLS-ish",
        "%PASSWORD%",
        "%EMAILHOST%",
        "not a host name",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
}

#[test]
fn a_file_for_another_domain_says_so() {
    let xml = file("").replace(
        "<domain>example.test</domain>",
        "<domain>bank.test</domain>",
    );
    let f = autoconfig::parse(xml.as_bytes(), EMAIL).unwrap();
    assert_eq!(
        f.domains,
        ["bank.test"],
        "discover refuses it for example.test"
    );
}

struct Pki {
    ca_file: std::path::PathBuf,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn pki(dir: &std::path::Path) -> Pki {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    Pki {
        ca_file,
        issuer: rcgen::Issuer::new(params, key),
    }
}

fn acceptor(pki: &Pki, name: &str) -> TlsAcceptor {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .signed_by(&key, &pki.issuer)
        .unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sd-discover-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An HTTPS server that answers every request with `answer` (written in
/// pieces when `drip`), certificate for autoconfig.example.test.
async fn https(pki: &Pki, answer: Vec<u8>, drip: bool) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acc = acceptor(pki, "autoconfig.example.test");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acc = acc.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acc.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                if drip {
                    for b in answer.chunks(1) {
                        if s.write_all(b).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                } else {
                    let _ = s.write_all(&answer).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

async fn get(pki: &Pki, addr: std::net::SocketAddr) -> (Result<http::Fetched, String>, Duration) {
    let setup = TlsSetup::load(Some(&pki.ca_file)).unwrap();
    let t = Instant::now();
    let r = http::get(
        addr,
        "autoconfig.example.test",
        "/mail/config-v1.1.xml",
        &setup,
        Duration::from_secs(2),
    )
    .await;
    (r, t.elapsed())
}

#[tokio::test]
async fn hostile_https_answers_end_in_clear_errors() {
    let dir = tempdir("https");
    let pki = pki(&dir);
    // An endless body: cut at the bound, not read into memory.
    let mut endless = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n".to_vec();
    endless.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    let (r, _) = get(&pki, https(&pki, endless, false).await).await;
    assert!(r.unwrap_err().contains("larger than 64 KiB"));
    // A redirect is handed back, never followed.
    let redirect =
        b"HTTP/1.1 302 Found\r\nLocation: http://evil.test/x.xml\r\nContent-Length: 0\r\n\r\n"
            .to_vec();
    let (r, _) = get(&pki, https(&pki, redirect, false).await).await;
    let r = r.unwrap();
    assert_eq!(
        (r.status, r.location.as_deref()),
        (302, Some("http://evil.test/x.xml"))
    );
    // A byte every 200 ms: the deadline ends it.
    let (r, took) = get(
        &pki,
        https(
            &pki,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<a>".to_vec(),
            true,
        )
        .await,
    )
    .await;
    assert!(r.unwrap_err().contains("within 2 s"));
    assert!(took < Duration::from_secs(4), "{took:?}");
    // Plain HTTP on the HTTPS port: no handshake, nothing trusted.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = l.accept().await {
            let _ = tcp
                .write_all(b"HTTP/1.0 200 OK\r\n\r\n<clientConfig/>")
                .await;
        }
    });
    let (r, _) = get(&pki, addr).await;
    assert!(r.unwrap_err().contains("TLS handshake failed"));
    // A certificate for another name: refused before any byte is read.
    let other = TlsSetup::load(Some(&pki.ca_file)).unwrap();
    let addr = https(
        &pki,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        false,
    )
    .await;
    let e = http::get(
        addr,
        "autoconfig.other.test",
        "/",
        &other,
        Duration::from_secs(2),
    )
    .await
    .unwrap_err();
    assert!(e.contains("not valid for autoconfig.other.test"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A scripted SMTP server with implicit TLS, a certificate for `name`.
async fn smtps(pki: &Pki, name: &str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let acc = acceptor(pki, name);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acc = acc.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acc.accept(tcp).await else {
                    return;
                };
                let _ = s.write_all(b"220 hostile ESMTP\r\n").await;
                let mut buf = [0u8; 512];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let line = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                    let reply: &[u8] = if line.starts_with("EHLO") {
                        b"250-hostile\r\n250 AUTH PLAIN LOGIN\r\n"
                    } else {
                        b"221 bye\r\n"
                    };
                    if s.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_different_certificate_on_every_port_works_nowhere() {
    let dir = tempdir("certs");
    let pki = pki(&dir);
    let mut list = Vec::new();
    for name in ["a.test", "b.test", "c.test", "d.test"] {
        let port = smtps(&pki, name).await;
        list.push(Suggestion {
            host: "127.0.0.1".into(),
            port,
            security: Security::Tls,
            username: EMAIL.into(),
            username_form: "full address".into(),
            declared_auth: Vec::new(),
            sources: vec![Source {
                kind: SourceKind::Guess,
                detail: format!("port {port}"),
            }],
        });
    }
    let settings = Settings {
        account: EMAIL.into(),
        ca_file: Some(pki.ca_file.clone()),
        dns: Some("127.0.0.1:9".into()),
        timeout_secs: 3,
        ..Settings::default()
    };
    let t = Instant::now();
    let got = discover::probe_suggestions(&settings, list).await;
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(got.len(), 4);
    for c in &got {
        assert!(!c.works, "{c:?}");
        assert_eq!(c.probe.cert_ok, Some(false));
        assert_eq!(c.probe.cert_problem.as_deref(), Some("wrong-name"));
        assert_eq!(
            c.probe.auth,
            ["PLAIN", "LOGIN"],
            "probed to the end, no login"
        );
    }
    let names: Vec<String> = got
        .iter()
        .flat_map(|c| c.probe.cert_names.clone())
        .collect();
    assert_eq!(
        names.len(),
        4,
        "each port shows its own certificate: {names:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
