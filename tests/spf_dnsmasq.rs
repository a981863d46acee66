//! The SPF scenarios against the real test DNS server (dnsmasq on
//! 127.0.0.2 port 5353, serving tests/testbed/dnsmasq.d/spf.conf) through
//! hickory, as a real run asks.
//!
//! Ignored under a plain `cargo test` ("needs the test bed"); tests/run.sh
//! starts the test bed and runs them with `--include-ignored`, and then they
//! fail if the server does not answer.

mod spf_zone;

use smtp_doctor::spf::{Evaluation, HickoryDns, SpfDns, Step, evaluate};
use std::net::SocketAddr;
use std::time::Duration;

/// The test DNS server: SMTP_DOCTOR_DNS when set (tests/run.sh sets it to
/// the same address), never anything off loopback.
fn server() -> SocketAddr {
    let addr: SocketAddr = std::env::var("SMTP_DOCTOR_DNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| "127.0.0.2:5353".parse().unwrap());
    assert!(
        addr.ip().is_loopback(),
        "the test DNS server must be on loopback: {addr}"
    );
    addr
}

fn resolver() -> HickoryDns {
    let mut builder = smtp_doctor::probe::dns::builder_at(server());
    // The temperror scenarios wait for a timeout; keep it short.
    builder.options_mut().timeout = Duration::from_secs(1);
    builder.options_mut().attempts = 1;
    HickoryDns::new(builder.build().expect("a resolver for the test DNS server"))
}

/// These tests are ignored under a plain `cargo test`; tests/run.sh runs
/// them with `--include-ignored`, and then a missing test bed fails them.
fn testbed() {
    assert!(
        std::env::var_os("SMTP_DOCTOR_TESTBED").is_some(),
        "SMTP_DOCTOR_TESTBED is not set: run tests/run.sh, which starts the test bed"
    );
}

/// The query steps of a trace, comparable across servers: answers sorted
/// (dnsmasq does not keep the order of the configuration), a failure's
/// wording dropped.
fn queries(e: &Evaluation) -> Vec<String> {
    e.trace
        .iter()
        .filter_map(|s| match &s.step {
            Step::Query {
                rtype,
                name,
                status,
                answer,
                void,
            } => {
                let mut answer = answer.clone();
                answer.sort();
                if matches!(status, smtp_doctor::spf::QueryStatus::Failed) {
                    answer.clear();
                }
                // A long answer is cut in the trace, at a point that
                // depends on the server's order: compare its size only.
                if let Some(more) = answer.iter().find(|a| a.starts_with("... and")) {
                    answer = vec![format!("10 shown {more}")];
                }
                Some(format!("{rtype} {name} {status:?} {answer:?} void={void}"))
            }
            _ => None,
        })
        .collect()
}

/// Fails at once, rather than after a timeout per scenario, when the test
/// DNS server does not answer with the SPF zone.
async fn require_zone(dns: &HickoryDns) {
    let txt = dns.txt("ip4.spf.smtpd.test").await;
    assert_eq!(
        txt,
        Ok(vec!["v=spf1 ip4:192.0.2.0/24 -all".to_string()]),
        "the test DNS server at {} does not serve tests/testbed/dnsmasq.d/spf.conf \
         (is dnsmasq started with --conf-dir for tests/testbed/dnsmasq.d?)",
        server()
    );
}

#[tokio::test]
#[ignore = "needs the test bed"]
async fn the_test_dns_server_serves_the_spf_zone() {
    testbed();
    let dns = resolver();
    require_zone(&dns).await;
    // The two strings of one record come back joined without a space.
    let multi = dns.txt("multi.spf.smtpd.test").await.unwrap();
    assert_eq!(multi, ["v=spf1 ip4:192.0.2.0/24 -all"]);
    assert_eq!(
        dns.a("nx1.void.spf.smtpd.test").await,
        Err(smtp_doctor::spf::DnsFail::NxDomain)
    );
    assert_eq!(
        dns.a("nodata.void.spf.smtpd.test").await,
        Err(smtp_doctor::spf::DnsFail::NoRecords)
    );
    let ptr = dns.ptr("192.0.2.50".parse().unwrap()).await.unwrap();
    assert_eq!(ptr, ["mta.ptr.spf.smtpd.test"]);
    // Macros can put "_" anywhere in a label: still a plain question.
    assert_eq!(
        dns.a("first_last.nope.spf.smtpd.test").await,
        Err(smtp_doctor::spf::DnsFail::NxDomain)
    );
    let mx = dns.mx("mx.spf.smtpd.test").await.unwrap();
    assert!(
        mx.contains(&(10, "mail1.mx.spf.smtpd.test".to_string())),
        "{mx:?}"
    );
}

#[tokio::test]
#[ignore = "needs the test bed"]
async fn every_scenario_over_the_real_test_dns_server() {
    testbed();
    let dns = resolver();
    require_zone(&dns).await;
    let list = spf_zone::scenarios(spf_zone::SCENARIOS);
    let failures = spf_zone::run_all(&dns, &list).await;
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed against {}:\n{}",
        failures.len(),
        list.len(),
        server(),
        failures.join("\n")
    );
}

/// The scripted zone of tests/spf_rfc.rs answers exactly as dnsmasq does:
/// the same queries, the same answers, the same NXDOMAIN / no-records.
#[tokio::test]
#[ignore = "needs the test bed"]
async fn the_scripted_zone_answers_like_the_real_server() {
    testbed();
    let real = resolver();
    require_zone(&real).await;
    let scripted = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    let mut differ = Vec::new();
    for s in spf_zone::scenarios(spf_zone::SCENARIOS) {
        let a = evaluate(&real, s.ip, &s.sender, &s.helo).await;
        let b = evaluate(&scripted, s.ip, &s.sender, &s.helo).await;
        if queries(&a) != queries(&b) {
            differ.push(format!(
                "{}:\n  real:     {:?}\n  scripted: {:?}",
                s.id,
                queries(&a),
                queries(&b)
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
