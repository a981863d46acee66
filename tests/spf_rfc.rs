//! The SPF evaluator against RFC 7208: the examples of its appendix A, the
//! scenarios of tests/data/spf/scenarios.txt over a scripted copy of the
//! test bed's zone, and the cases only a scripted zone can stage (timeouts,
//! hostile records, limits).

mod spf_zone;

use smtp_doctor::spf::{
    self, Addition, MAX_DNS_QUERIES, MAX_TRACE_STEPS, MemoryDns, QueryStatus, SpfResult, Step,
    TermOutcome, evaluate, merge_record, merge_records,
};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ------------------------------------------------------------------ scenarios

#[tokio::test]
async fn every_scenario_over_the_scripted_test_bed_zone() {
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    let list = spf_zone::scenarios(spf_zone::SCENARIOS);
    assert!(list.len() >= 50, "only {} scenarios", list.len());
    let failures = spf_zone::run_all(&zone, &list).await;
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n")
    );
}

#[test]
fn every_scenario_domain_is_in_the_zone_file() {
    // A typo in either file would otherwise turn a scenario into "none".
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    for s in spf_zone::scenarios(spf_zone::SCENARIOS) {
        if s.result == SpfResult::None || s.id.starts_with("temperror") {
            continue;
        }
        let domain = if s.sender.is_empty() {
            s.helo.clone()
        } else {
            s.sender.rsplit('@').next().unwrap().to_string()
        };
        assert!(
            zone.lookup_txt(&domain).is_ok(),
            "scenario {}: {domain} has no TXT record in spf.conf",
            s.id
        );
    }
}

// ------------------------------------------------------------------ appendix A

/// Appendix A.1: records for example.com and which client addresses pass.
#[tokio::test]
async fn appendix_a_1_simple_examples() {
    let table = spf_zone::APPENDIX_A_1;
    let mut wrong = Vec::new();
    for (record, passing, failing) in table {
        let zone = spf_zone::appendix_a_zone().with_txt("example.com", record);
        for (addrs, want) in [(*passing, SpfResult::Pass), (*failing, SpfResult::Fail)] {
            for a in addrs {
                let e = evaluate(&zone, ip(a), "user@example.com", "mta.example.net").await;
                if e.result != want {
                    wrong.push(format!(
                        "{record} for {a}: {} (expected {want})\n{}",
                        e.result,
                        e.trace_text()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Appendix A.2: an include of two domains, and domains that redirect.
#[tokio::test]
async fn appendix_a_2_multiple_domains() {
    let zone = spf_zone::appendix_a_zone()
        .with_txt("example.com", "v=spf1 mx -all")
        .with_txt(
            "example.org",
            "v=spf1 include:example.com include:example.net -all",
        )
        .with_txt("la.example.org", "v=spf1 redirect=example.org")
        .with_txt("ny.example.org", "v=spf1 redirect=example.org")
        .with_txt("sf.example.org", "v=spf1 redirect=example.org");
    for sender in ["a@la.example.org", "a@ny.example.org", "a@sf.example.org"] {
        let e = evaluate(&zone, ip("192.0.2.129"), sender, "h.example.net").await;
        assert_eq!(e.result, SpfResult::Pass, "{sender}\n{}", e.trace_text());
        assert_eq!(e.matched.as_deref(), Some("include:example.com"));
        assert_eq!(e.matched_domain.as_deref(), Some("example.org"));
        assert_eq!(e.lookups, 3, "redirect, include and the mx inside it");
    }
    // example.net has no record in the appendix's zone: reaching that
    // include is a permerror (section 5.2: "none" maps to permerror).
    let e = evaluate(&zone, ip("192.0.2.140"), "a@la.example.org", "h").await;
    assert_eq!(e.result, SpfResult::PermError);
    assert!(e.error.unwrap().contains("example.net has no SPF record"));
    // With a record at example.net, the union of both domains' servers.
    let zone = zone.with_txt("example.net", "v=spf1 ip4:198.51.100.0/24 -all");
    for (addr, want) in [
        ("198.51.100.7", SpfResult::Pass),
        ("192.0.2.130", SpfResult::Pass),
        ("192.0.2.140", SpfResult::Fail),
    ] {
        let e = evaluate(&zone, ip(addr), "a@sf.example.org", "h").await;
        assert_eq!(e.result, want, "{addr}\n{}", e.trace_text());
    }
}

/// Appendix A.3: users allowed from anywhere, or from their own servers,
/// through exists: and macros.
#[tokio::test]
async fn appendix_a_3_dnsbl_style() {
    let zone = spf_zone::appendix_a_3_zone();
    let table = spf_zone::APPENDIX_A_3;
    for (sender, addr, want) in table {
        let e = evaluate(&zone, ip(addr), sender, "h.example.net").await;
        assert_eq!(e.result, *want, "{sender} from {addr}\n{}", e.trace_text());
    }
    let e = evaluate(&zone, ip("192.168.15.15"), "joel@example.com", "h").await;
    assert_eq!(e.matched.as_deref(), Some("include:remote-users._spf.%{d}"));
    assert_eq!(e.void_lookups, 1, "mobile-users found no joel");
}

/// Appendix A.4: "the IP address is within a range and the reverse DNS
/// matches", by De Morgan's law over -include.
#[tokio::test]
async fn appendix_a_4_multiple_requirements() {
    let zone = |ptr_record: &str| {
        spf_zone::appendix_a_zone()
            .with_txt_strings(
                "example.com",
                &[
                    "v=spf1 ",
                    "-include:ip4._spf.%{d} ",
                    "-include:ptr._spf.%{d} ",
                    "+all",
                ],
            )
            .with_txt("ip4._spf.example.com", "v=spf1 -ip4:192.0.2.0/24 +all")
            .with_txt("ptr._spf.example.com", ptr_record)
    };
    // With the ptr mechanism naming example.com (the evident intent): only
    // an address in range whose name is in example.com passes.
    let fixed = zone("v=spf1 -ptr:example.com +all");
    for (addr, want) in [
        ("192.0.2.65", SpfResult::Pass),
        ("192.0.2.129", SpfResult::Pass),
        ("192.0.2.140", SpfResult::Fail),
        ("10.0.0.4", SpfResult::Fail),
        ("198.51.100.1", SpfResult::Fail),
    ] {
        let e = evaluate(&fixed, ip(addr), "a@example.com", "h").await;
        assert_eq!(e.result, want, "{addr}\n{}", e.trace_text());
    }
    // As printed, "-ptr" looks for names within ptr._spf.example.com, which
    // no client has, so the record refuses everyone.
    let printed = zone("v=spf1 -ptr +all");
    let e = evaluate(&printed, ip("192.0.2.65"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Fail, "{}", e.trace_text());
    assert_eq!(e.matched.as_deref(), Some("-include:ptr._spf.%{d}"));
}

// ------------------------------------------------------------------ temperror

#[tokio::test]
async fn a_timeout_is_temperror_wherever_the_evaluation_needs_the_answer() {
    let base = || {
        MemoryDns::new()
            .with_txt("txt.example", "v=spf1 -all")
            .with_txt("a.example", "v=spf1 a:host.example -all")
            .with_txt("mx.example", "v=spf1 mx -all")
            .with_mx("mx.example", 10, "mx1.example")
            .with_txt("exists.example", "v=spf1 exists:%{l}.users.example -all")
            .with_txt("inc.example", "v=spf1 include:txt2.example -all")
            .with_txt("redir.example", "v=spf1 redirect=txt2.example")
    };
    let zone = base()
        .with_failure("txt.example", "TXT", "timed out")
        .with_failure("host.example", "A", "timed out")
        .with_failure("mx1.example", "A", "timed out")
        .with_failure("mx.example", "*", "SERVFAIL")
        .with_failure("bob.users.example", "A", "timed out")
        .with_failure("txt2.example", "TXT", "SERVFAIL");
    for sender in [
        "bob@txt.example",
        "bob@a.example",
        "bob@mx.example",
        "bob@exists.example",
        "bob@inc.example",
        "bob@redir.example",
    ] {
        let e = evaluate(&zone, ip("192.0.2.1"), sender, "h").await;
        assert_eq!(
            e.result,
            SpfResult::TempError,
            "{sender}\n{}",
            e.trace_text()
        );
        let err = e.error.unwrap();
        assert!(
            err.contains("timed out") || err.contains("SERVFAIL"),
            "{sender}: {err}"
        );
        assert!(
            e.trace.iter().any(|s| matches!(
                &s.step,
                Step::Query {
                    status: QueryStatus::Failed,
                    ..
                }
            )),
            "{sender}: the failed query is in the trace"
        );
    }
    // Only the MX host's address times out: still temperror.
    let zone = base().with_failure("mx1.example", "A", "timed out");
    let e = evaluate(&zone, ip("192.0.2.1"), "bob@mx.example", "h").await;
    assert_eq!(e.result, SpfResult::TempError);
    assert!(e.error.unwrap().contains("mx1.example"));
}

#[tokio::test]
async fn a_failed_ptr_lookup_is_no_match_and_a_failed_exp_is_no_explanation() {
    let zone = MemoryDns::new()
        .with_txt(
            "example.com",
            "v=spf1 ptr ip4:192.0.2.0/24 -all exp=why.example.com",
        )
        .with_failure("192.0.2.1", "PTR", "timed out")
        .with_failure("203.0.113.1", "PTR", "timed out")
        .with_failure("why.example.com", "TXT", "timed out");
    // RFC 7208 section 5.5: a DNS error in the PTR lookup is no match.
    let e = evaluate(&zone, ip("192.0.2.1"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Pass, "{}", e.trace_text());
    // Section 6.2: failing to get the explanation changes nothing else.
    let e = evaluate(&zone, ip("203.0.113.1"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Fail, "{}", e.trace_text());
    assert_eq!(e.explanation, None);
    assert_eq!(e.error, None);
}

// ------------------------------------------------------------------ exp=

#[tokio::test]
async fn explanations_follow_redirect_but_not_include() {
    let zone = MemoryDns::new()
        .with_txt("a.example", "v=spf1 redirect=b.example exp=expa.example")
        .with_txt("b.example", "v=spf1 -all exp=expb.example")
        .with_txt("expa.example", "not this one")
        .with_txt("expb.example", "%{d} refuses %{c} for %{S} (see %{r}).")
        .with_txt(
            "c.example",
            "v=spf1 include:d.example -all exp=expc.example",
        )
        .with_txt("d.example", "v=spf1 -all exp=expd.example")
        .with_txt("expc.example", "c says no")
        .with_txt("expd.example", "not this one either")
        .with_txt("two.example", "v=spf1 -all exp=exptwo.example")
        .with_txt("exptwo.example", "one")
        .with_txt("exptwo.example", "two")
        .with_txt("bad.example", "v=spf1 -all exp=expbad.example")
        .with_txt("expbad.example", "100% sure")
        .with_txt("nx.example", "v=spf1 -all exp=nothing.example")
        .with_txt("soft.example", "v=spf1 ~all exp=expc.example");
    let table = [
        // redirect: the target's exp, with the target as %{d}
        (
            "x+y@a.example",
            Some("b.example refuses 192.0.2.1 for x%2By%40a.example (see unknown)."),
        ),
        // include: the including record's exp
        ("x@c.example", Some("c says no")),
        // two TXT records, a syntax error, no record: no explanation
        ("x@two.example", None),
        ("x@bad.example", None),
        ("x@nx.example", None),
        // only a fail gets one
        ("x@soft.example", None),
    ];
    for (sender, want) in table {
        let e = evaluate(&zone, ip("192.0.2.1"), sender, "h").await;
        assert!(
            matches!(e.result, SpfResult::Fail | SpfResult::SoftFail),
            "{sender}: {}",
            e.result
        );
        assert_eq!(
            e.explanation.as_deref(),
            want,
            "{sender}\n{}",
            e.trace_text()
        );
    }
}

// ------------------------------------------------------------------ ptr, %{p}, mx

#[tokio::test]
async fn ptr_looks_at_the_first_ten_names_only() {
    let client = ip("192.0.2.9");
    let mut zone = MemoryDns::new().with_txt("example.com", "v=spf1 ptr -all");
    for i in 1..=12 {
        zone = zone.with_ptr(client, &format!("h{i}.other.example"));
    }
    // The 11th name is in example.com and resolves back: ignored.
    let late = zone
        .clone()
        .with_ptr(client, "mail.example.com")
        .with_addr("mail.example.com", client);
    let e = evaluate(&late, client, "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Fail, "{}", e.trace_text());
    // Among the first ten it counts.
    let early = MemoryDns::new()
        .with_txt("example.com", "v=spf1 ptr -all")
        .with_ptr(client, "h1.other.example")
        .with_ptr(client, "mail.example.com")
        .with_addr("mail.example.com", client);
    let e = evaluate(&early, client, "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Pass, "{}", e.trace_text());
}

#[tokio::test]
async fn the_p_macro_prefers_a_validated_name_in_the_domain() {
    let client = ip("192.0.2.9");
    let zone = MemoryDns::new()
        .with_txt("example.com", "v=spf1 exists:%{p}._allow.example.com -all")
        .with_ptr(client, "other.example.net")
        .with_ptr(client, "mx.example.com")
        .with_ptr(client, "liar.example.com")
        .with_addr("other.example.net", client)
        .with_addr("mx.example.com", client)
        .with_addr("mx.example.com._allow.example.com", ip("127.0.0.2"));
    let e = evaluate(&zone, client, "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Pass, "{}", e.trace_text());
    // No validated name: "unknown".
    let zone = MemoryDns::new()
        .with_txt("example.com", "v=spf1 exists:%{p}._allow.example.com -all")
        .with_addr("unknown._allow.example.com", ip("127.0.0.2"));
    let e = evaluate(&zone, client, "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Pass, "{}", e.trace_text());
}

#[tokio::test]
async fn a_null_mx_names_no_host() {
    let zone = MemoryDns::new()
        .with_txt("example.com", "v=spf1 mx ?all")
        .with_mx("example.com", 0, ".");
    let e = evaluate(&zone, ip("192.0.2.1"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Neutral);
    assert_eq!(e.dns_queries, 2, "TXT and MX, no address lookup");
}

#[tokio::test]
async fn ipv6_macros_and_dual_prefixes() {
    let client = ip("2001:db8::cb01");
    let zone = MemoryDns::new()
        .with_txt(
            "example.com",
            "v=spf1 a/24//127 exists:%{ir}.%{v}._spf.%{d2} -all",
        )
        .with_addr("example.com", ip("192.0.2.1"))
        .with_addr("example.com", ip("2001:db8::cb00"))
        .with_addr(
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
            ip("127.0.0.2"),
        );
    let e = evaluate(&zone, client, "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Pass, "{}", e.trace_text());
    assert_eq!(e.matched.as_deref(), Some("a/24//127"));
    let e = evaluate(&zone, ip("2001:db8::cb03"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Fail, "{}", e.trace_text());
}

// ------------------------------------------------------------------ bounds

#[tokio::test]
async fn the_worst_record_within_the_limits_stays_bounded() {
    // Ten mx mechanisms, each with ten MX hosts: the most DNS traffic the
    // RFC's limits allow without %{p}.
    let mut zone = MemoryDns::new();
    let mut terms = Vec::new();
    for m in 0..10 {
        let name = format!("m{m}.example.com");
        terms.push(format!("mx:{name}"));
        for h in 0..10 {
            let host = format!("h{h}.{name}");
            zone = zone
                .with_mx(&name, h, &host)
                .with_addr(&host, ip(&format!("198.51.100.{}", m * 10 + h)));
        }
    }
    let zone = zone.with_txt("example.com", &format!("v=spf1 {} -all", terms.join(" ")));
    let e = evaluate(&zone, ip("203.0.113.1"), "a@example.com", "h").await;
    assert_eq!(e.result, SpfResult::Fail, "{}", e.trace_text());
    assert_eq!(e.lookups, 10);
    assert_eq!(e.dns_queries, 1 + 10 + 100);
    assert!(e.dns_queries <= MAX_DNS_QUERIES);
}

#[tokio::test]
async fn hostile_records_end_cleanly() {
    // Too long to be a record anyone publishes.
    let huge = format!("v=spf1 {} -all", vec!["ip4:203.0.113.1"; 1000].join(" "));
    // Long enough to bloat a trace.
    let long = format!("v=spf1 {} -all", vec!["ip4:1.1.1.1"; 600].join(" "));
    let zone = MemoryDns::new()
        .with_txt("huge.example", &huge)
        .with_txt("long.example", &long);
    let e = evaluate(&zone, ip("192.0.2.1"), "a@huge.example", "h").await;
    assert_eq!(e.result, SpfResult::PermError);
    assert!(e.error.unwrap().contains("bytes long"));
    let e = evaluate(&zone, ip("192.0.2.1"), "a@long.example", "h").await;
    assert_eq!(e.result, SpfResult::Fail);
    assert!(e.trace.len() <= MAX_TRACE_STEPS + 2, "{}", e.trace.len());
    assert!(
        e.trace
            .iter()
            .any(|s| matches!(s.step, Step::Truncated { omitted } if omitted > 0))
    );
    assert!(
        matches!(
            e.trace.last().unwrap().step,
            Step::Result {
                result: SpfResult::Fail,
                ..
            }
        ),
        "the final result stays in the trace"
    );
}

// ------------------------------------------------------------------ the trace

#[tokio::test]
async fn the_trace_shows_queries_mechanisms_and_nesting() {
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    let e = evaluate(
        &zone,
        ip("198.51.100.20"),
        "alice@include.spf.smtpd.test",
        "mta.example.net",
    )
    .await;
    let text = e.trace_text();
    let expected = [
        "include.spf.smtpd.test (the sender's domain)",
        "    DNS TXT include.spf.smtpd.test: \"v=spf1 ip4:192.0.2.0/24 include:_spf.provider.spf.smtpd.test -all\"",
        "  record: v=spf1 ip4:192.0.2.0/24 include:_spf.provider.spf.smtpd.test -all",
        "  ip4:192.0.2.0/24: no match - 198.51.100.20 is not in 192.0.2.0/24 [lookups 0/10]",
        "  include:_spf.provider.spf.smtpd.test: match - _spf.provider.spf.smtpd.test gives pass [lookups 1/10]",
        "  _spf.provider.spf.smtpd.test (include:_spf.provider.spf.smtpd.test)",
        "      DNS TXT _spf.provider.spf.smtpd.test: \"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 ~all\"",
        "    record: v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 ~all",
        "    ip4:198.51.100.0/24: match - 198.51.100.20 is in 198.51.100.0/24 [lookups 1/10]",
        "    => pass for _spf.provider.spf.smtpd.test: 'ip4:198.51.100.0/24' in the record of _spf.provider.spf.smtpd.test matched",
        "  => pass for include.spf.smtpd.test: 'include:_spf.provider.spf.smtpd.test' in the record of include.spf.smtpd.test matched",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected, "\n{text}");
    let depths: Vec<u32> = e.trace.iter().map(|s| s.depth).collect();
    assert_eq!(depths, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
    let include = e
        .trace
        .iter()
        .find(|s| matches!(&s.step, Step::Mechanism { term, .. } if term.starts_with("include")))
        .unwrap();
    assert!(matches!(
        include.step,
        Step::Mechanism {
            outcome: TermOutcome::Match,
            position: 24,
            lookups: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn the_evaluation_serializes_for_the_json_report() {
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    let e = evaluate(
        &zone,
        ip("192.0.2.5"),
        "alice@void.spf.smtpd.test",
        "mta.example.net",
    )
    .await;
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["result"], "permerror");
    assert_eq!(v["ip"], "192.0.2.5");
    assert_eq!(v["void_lookups"], 3);
    assert_eq!(v["domain"], "void.spf.smtpd.test");
    let steps = v["trace"].as_array().unwrap();
    assert_eq!(steps[0]["step"], "start");
    assert_eq!(steps[0]["depth"], 0);
    let void_queries = steps
        .iter()
        .filter(|s| s["step"] == "query" && s["void"] == true)
        .count();
    assert_eq!(void_queries, 3);
    let mech = steps.iter().find(|s| s["step"] == "mechanism").unwrap();
    assert_eq!(mech["term"], "a:nx1.void.spf.smtpd.test");
    assert_eq!(mech["outcome"], "no_match");
    assert_eq!(mech["position"], 7);
    let softfail = evaluate(
        &zone,
        ip("203.0.113.9"),
        "alice@softfail.spf.smtpd.test",
        "h",
    )
    .await;
    assert_eq!(
        serde_json::to_value(&softfail).unwrap()["result"],
        "softfail"
    );
}

// ------------------------------------------------------------------ the fix

/// The merged record really fixes the failure: publish it in place of
/// what is there, evaluate again, and the client passes.
#[tokio::test]
async fn the_merged_record_makes_the_client_pass() {
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    let cases: [(&str, &str, Addition); 6] = [
        (
            "203.0.113.9",
            "ip4.spf.smtpd.test",
            Addition::Ip(ip("203.0.113.9")),
        ),
        (
            "203.0.113.9",
            "softfail.spf.smtpd.test",
            Addition::Ip(ip("203.0.113.9")),
        ),
        (
            "2001:db8:7::1",
            "mx.spf.smtpd.test",
            Addition::Ip(ip("2001:db8:7::1")),
        ),
        (
            "198.51.100.20",
            "ip4.spf.smtpd.test",
            Addition::Include("_spf.provider.spf.smtpd.test".into()),
        ),
        (
            "203.0.113.9",
            "two.spf.smtpd.test",
            Addition::Ip(ip("203.0.113.9")),
        ),
        (
            "203.0.113.9",
            "syntax.spf.smtpd.test",
            Addition::Ip(ip("203.0.113.9")),
        ),
    ];
    for (client, domain, add) in cases {
        let sender = format!("alice@{domain}");
        let before = evaluate(&zone, ip(client), &sender, "h").await;
        assert_ne!(before.result, SpfResult::Pass, "{domain}");
        let existing: Vec<&str> = before.records.iter().map(String::as_str).collect();
        let merged = merge_records(&existing, add);
        assert!(spf::validate(&merged.record).is_ok(), "{}", merged.record);
        // The fixed zone: the same names, with the one merged record.
        let fixed = spf_zone::dnsmasq_zone(
            &spf_zone::SPF_CONF.replace(&format!("txt-record={domain},"), "# replaced: "),
        )
        .with_txt(domain, &merged.record);
        let after = evaluate(&fixed, ip(client), &sender, "h").await;
        assert_eq!(
            after.result,
            SpfResult::Pass,
            "{domain} with {}\n{}",
            merged.record,
            after.trace_text()
        );
        if domain.starts_with("two") || domain.starts_with("syntax") {
            assert!(
                merged.warning.is_some(),
                "{domain}: a warning about the old record"
            );
        }
    }
    // A domain without a record gets a new one.
    let m = merge_record(None, Addition::Ip(ip("203.0.113.9")));
    let fixed = MemoryDns::new().with_txt("new.example", &m.record);
    let e = evaluate(&fixed, ip("203.0.113.9"), "a@new.example", "h").await;
    assert_eq!(e.result, SpfResult::Pass);
}

/// Records made of random pieces of SPF syntax (and some that are not)
/// never make the evaluator panic, loop or leave its bounds.
#[tokio::test]
async fn random_records_end_in_a_result_within_bounds() {
    const PIECES: &[&str] = &[
        "v=spf1",
        "V=SPF1",
        " ",
        "  ",
        "a",
        "mx",
        "ptr",
        "all",
        "-",
        "+",
        "~",
        "?",
        "include",
        "exists",
        "ip4",
        "ip6",
        "redirect",
        "exp",
        "=",
        ":",
        "/",
        "//",
        "24",
        "0",
        "33",
        "129",
        "192.0.2.1",
        "2001:db8::1",
        "::",
        "r.example",
        "%{d}",
        "%{ir}",
        "%{l1r+}",
        "%{p}",
        "%{c}",
        "%",
        "%%",
        "%-",
        "%_",
        "{",
        "}",
        ".",
        "..",
        "é",
        "\t",
        "x",
        "-all",
        "~all",
        "r.example.",
        "%{d2}",
        "%{o}",
        "%{h}",
        "%{v}",
        "%{s}",
        "%{i0}",
        "_spf",
        "123",
    ];
    const TERMS: &[&str] = &[
        "a",
        "mx/24",
        "ptr",
        "-all",
        "~all",
        "?all",
        "ip4:192.0.2.0/24",
        "ip6:2001:db8::/32",
        "include:r.example",
        "redirect=r.example",
        "exp=r.example",
        "exists:%{ir}.r.example",
        "a:%{d}",
        "mx:r.example//64",
        "-ptr:r.example",
        "?a/0",
        "exists:%{p}.r.example",
        "include:n.example",
        "a:n1.example",
        "mx:n2.example",
        "foo=bar",
    ];
    // A small deterministic generator: the same records on every run.
    let mut seed: u64 = 0x5eed_5eed_5eed_5eed;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap()
    };
    for round in 0..1500 {
        let mut record = String::from("v=spf1");
        for _ in 0..next(12) {
            record.push(' ');
            if next(10) < 7 {
                record.push_str(TERMS[next(TERMS.len())]);
                continue;
            }
            for _ in 0..1 + next(4) {
                record.push_str(PIECES[next(PIECES.len())]);
            }
        }
        let zone = MemoryDns::new()
            .with_txt("r.example", &record)
            .with_txt(
                "r.example",
                if round % 7 == 0 {
                    "v=spf1 -all"
                } else {
                    "other"
                },
            )
            .with_addr("r.example", ip("192.0.2.1"))
            .with_mx("r.example", 10, "r.example")
            .with_ptr(ip("192.0.2.1"), "r.example");
        let client = if round % 2 == 0 {
            ip("192.0.2.1")
        } else {
            ip("2001:db8::1")
        };
        let e = evaluate(&zone, client, "u@r.example", "r.example").await;
        assert!(e.lookups <= 11 && e.void_lookups <= 3, "{record}: {e:?}");
        assert!(e.dns_queries <= MAX_DNS_QUERIES, "{record}");
        assert_eq!(
            e.error.is_some(),
            matches!(e.result, SpfResult::PermError | SpfResult::TempError),
            "{record}: {e:?}"
        );
        // What the evaluator accepted, the validator accepts too.
        if e.records.len() == 1 && e.result != SpfResult::PermError {
            assert!(spf::validate(&record).is_ok(), "{record}");
        }
    }
}
