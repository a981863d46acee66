//! Shared by the SPF tests: the test bed's SPF zone (the dnsmasq lines of
//! tests/testbed/dnsmasq.d/spf.conf) read into a scripted zone, and the
//! scenario table of tests/data/spf/scenarios.txt with its checks.
//!
//! Reading the very lines the real test DNS server serves means the
//! scripted zone and the real one cannot drift apart: the same scenarios run
//! over both (the real one only under the test bed).

#![allow(dead_code)]

use smtp_doctor::spf::{Evaluation, MemoryDns, SpfResult};
use std::net::IpAddr;

pub const SPF_CONF: &str = include_str!("../testbed/dnsmasq.d/spf.conf");
pub const SCENARIOS: &str = include_str!("../data/spf/scenarios.txt");

/// Reads dnsmasq configuration lines into a scripted zone, the way dnsmasq
/// answers them: `txt-record`, `host-record` (addresses and the PTR of the
/// first name), `mx-host`, `ptr-record`, and `server=/zone/...` (a zone
/// whose servers do not answer). `local=` lines need nothing: a name
/// without records is NXDOMAIN anyway.
pub fn dnsmasq_zone(conf: &str) -> MemoryDns {
    let mut zone = MemoryDns::new();
    for (n, line) in conf.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: no '=' in {line:?}", n + 1));
        zone = match key {
            "txt-record" => {
                let (name, rest) = value.split_once(',').unwrap_or((value, ""));
                let strings = quoted_strings(rest);
                let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
                zone.with_txt_strings(name, &refs)
            }
            "host-record" => {
                let mut names = Vec::new();
                let mut addrs = Vec::new();
                for field in value.split(',') {
                    if let Ok(ip) = field.parse::<IpAddr>() {
                        addrs.push(ip);
                    } else if !field.bytes().all(|b| b.is_ascii_digit()) {
                        names.push(field);
                    }
                }
                for name in &names {
                    for ip in &addrs {
                        zone = zone.with_addr(name, *ip);
                    }
                }
                for ip in &addrs {
                    zone = zone.with_ptr(*ip, names[0]);
                }
                zone
            }
            "mx-host" => {
                let f: Vec<&str> = value.split(',').collect();
                assert_eq!(f.len(), 3, "line {}: mx-host=name,host,preference", n + 1);
                zone.with_mx(f[0], f[2].parse().expect("MX preference"), f[1])
            }
            "ptr-record" => {
                let (rev, target) = value.split_once(',').expect("ptr-record=name,target");
                zone.with_ptr(reverse_v4(rev), target)
            }
            "server" => {
                let zone_name = value
                    .strip_prefix('/')
                    .and_then(|v| v.split('/').next())
                    .expect("server=/zone/address");
                zone.with_failing_zone(zone_name)
            }
            "local" => zone,
            other => panic!("line {}: the scripted zone does not know {other}=", n + 1),
        };
    }
    zone
}

/// `"part1","part2"` → the strings, without their quotes.
fn quoted_strings(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(after) = rest.strip_prefix('"') {
        let end = after.find('"').expect("closing quote");
        out.push(after[..end].to_string());
        rest = after[end + 1..].trim_start_matches(',').trim();
    }
    assert!(rest.is_empty(), "unquoted TXT text: {rest:?}");
    out
}

fn reverse_v4(name: &str) -> IpAddr {
    let labels: Vec<&str> = name
        .strip_suffix(".in-addr.arpa")
        .expect("an in-addr.arpa name")
        .split('.')
        .rev()
        .collect();
    labels.join(".").parse().expect("four labels")
}

/// One line of the scenario table.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub ip: IpAddr,
    pub sender: String,
    pub helo: String,
    pub result: SpfResult,
    /// None for "-": no mechanism matched.
    pub matched: Option<String>,
    pub checks: Vec<(String, String)>,
    pub line: usize,
}

/// Parses `id | ip | sender | helo | result | matched | checks`, where
/// checks are `key=value` pairs separated by " ; ": error (the whole
/// error), error-has (a part of it), exp (the explanation), lookups, voids,
/// matched_domain.
pub fn scenarios(text: &str) -> Vec<Scenario> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(f.len(), 7, "scenarios line {}: 7 columns: {line}", n + 1);
        let checks = f[6]
            .split(" ; ")
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                let (k, v) = c
                    .trim()
                    .split_once('=')
                    .unwrap_or_else(|| panic!("check {c:?}"));
                (k.to_string(), v.to_string())
            })
            .collect();
        out.push(Scenario {
            id: f[0].to_string(),
            ip: f[1]
                .parse()
                .unwrap_or_else(|_| panic!("line {}: ip", n + 1)),
            sender: f[2].to_string(),
            helo: f[3].to_string(),
            result: f[4].parse().unwrap(),
            matched: (f[5] != "-").then(|| f[5].to_string()),
            checks,
            line: n + 1,
        });
    }
    out
}

/// What in `e` disagrees with the scenario, one line each.
pub fn mismatches(s: &Scenario, e: &Evaluation) -> Vec<String> {
    let mut bad = Vec::new();
    if e.result != s.result {
        bad.push(format!("result {} (expected {})", e.result, s.result));
    }
    if e.matched != s.matched {
        bad.push(format!(
            "matched {:?} (expected {:?})",
            e.matched, s.matched
        ));
    }
    let error = e.error.clone().unwrap_or_default();
    for (k, v) in &s.checks {
        let ok = match k.as_str() {
            "error" => &error == v,
            "error-has" => error.contains(v.as_str()),
            "exp" => e.explanation.as_deref() == Some(v.as_str()),
            "lookups" => e.lookups.to_string() == *v,
            "voids" => e.void_lookups.to_string() == *v,
            "matched_domain" => e.matched_domain.as_deref() == Some(v.as_str()),
            other => panic!("scenario {}: unknown check {other}", s.id),
        };
        if !ok {
            let got = match k.as_str() {
                "error" | "error-has" => format!("{:?}", e.error),
                "exp" => format!("{:?}", e.explanation),
                "lookups" => e.lookups.to_string(),
                "voids" => e.void_lookups.to_string(),
                _ => format!("{:?}", e.matched_domain),
            };
            bad.push(format!("{k} {v:?}: got {got}"));
        }
    }
    if !s.checks.iter().any(|(k, _)| k == "exp") && e.explanation.is_some() {
        bad.push(format!("unexpected explanation {:?}", e.explanation));
    }
    if !matches!(s.result, SpfResult::PermError | SpfResult::TempError) && e.error.is_some() {
        bad.push(format!("unexpected error {:?}", e.error));
    }
    bad
}

/// Runs every scenario over `dns` and returns one report line per
/// disagreement (with the trace), so that a failure shows them all.
pub async fn run_all(dns: &impl smtp_doctor::spf::SpfDns, list: &[Scenario]) -> Vec<String> {
    let mut failures = Vec::new();
    for s in list {
        let e = smtp_doctor::spf::evaluate(dns, s.ip, &s.sender, &s.helo).await;
        let bad = mismatches(s, &e);
        if !bad.is_empty() {
            failures.push(format!(
                "scenario {} (line {}): {}\n{}",
                s.id,
                s.line,
                bad.join("; "),
                e.trace_text()
            ));
        }
    }
    failures
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The DNS setup of RFC 7208 appendix A (the CNAME for www is left out: no
/// example uses it).
pub fn appendix_a_zone() -> MemoryDns {
    MemoryDns::new()
        .with_mx("example.com", 10, "mail-a.example.com")
        .with_mx("example.com", 20, "mail-b.example.com")
        .with_addr("example.com", ip("192.0.2.10"))
        .with_addr("example.com", ip("192.0.2.11"))
        .with_addr("amy.example.com", ip("192.0.2.65"))
        .with_addr("bob.example.com", ip("192.0.2.66"))
        .with_addr("mail-a.example.com", ip("192.0.2.129"))
        .with_addr("mail-b.example.com", ip("192.0.2.130"))
        .with_mx("example.org", 10, "mail-c.example.org")
        .with_addr("mail-c.example.org", ip("192.0.2.140"))
        .with_ptr(ip("192.0.2.10"), "example.com")
        .with_ptr(ip("192.0.2.11"), "example.com")
        .with_ptr(ip("192.0.2.65"), "amy.example.com")
        .with_ptr(ip("192.0.2.66"), "bob.example.com")
        .with_ptr(ip("192.0.2.129"), "mail-a.example.com")
        .with_ptr(ip("192.0.2.130"), "mail-b.example.com")
        .with_ptr(ip("192.0.2.140"), "mail-c.example.org")
        // "A rogue reverse IP domain that claims to be something it's not"
        .with_ptr(ip("10.0.0.4"), "bob.example.com")
}

/// Appendix A.1: records published for example.com, the client addresses
/// that pass, and (beyond what the appendix lists) some that fail.
pub const APPENDIX_A_1: &[(&str, &[&str], &[&str])] = &[
    (
        "v=spf1 +all",
        &["192.0.2.10", "10.0.0.4", "198.51.100.1", "2001:db8::1"],
        &[],
    ),
    (
        "v=spf1 a -all",
        &["192.0.2.10", "192.0.2.11"],
        &["192.0.2.65", "192.0.2.129", "10.0.0.4"],
    ),
    // "no sending hosts pass since example.org has no A records"
    (
        "v=spf1 a:example.org -all",
        &[],
        &["192.0.2.10", "192.0.2.140", "192.0.2.65"],
    ),
    (
        "v=spf1 mx -all",
        &["192.0.2.129", "192.0.2.130"],
        &["192.0.2.10", "192.0.2.140"],
    ),
    (
        "v=spf1 mx:example.org -all",
        &["192.0.2.140"],
        &["192.0.2.129", "192.0.2.10"],
    ),
    (
        "v=spf1 mx mx:example.org -all",
        &["192.0.2.129", "192.0.2.130", "192.0.2.140"],
        &["192.0.2.10", "192.0.2.65"],
    ),
    // "any sending host in 192.0.2.128/30 or 192.0.2.140/30 passes"
    (
        "v=spf1 mx/30 mx:example.org/30 -all",
        &[
            "192.0.2.128",
            "192.0.2.129",
            "192.0.2.131",
            "192.0.2.140",
            "192.0.2.143",
        ],
        &["192.0.2.127", "192.0.2.132", "192.0.2.139", "192.0.2.144"],
    ),
    // 65 passes (valid reverse name in example.com), 140 fails (valid,
    // but not in example.com), 10.0.0.4 fails (its name does not resolve
    // back to it)
    (
        "v=spf1 ptr -all",
        &["192.0.2.65", "192.0.2.10"],
        &["192.0.2.140", "10.0.0.4"],
    ),
    (
        "v=spf1 ip4:192.0.2.128/28 -all",
        &["192.0.2.129", "192.0.2.143"],
        &["192.0.2.65", "192.0.2.144"],
    ),
];

/// Appendix A.3: example.com's users may send from anywhere (mobile-users)
/// or from their own servers (remote-users), through exists: and macros.
pub fn appendix_a_3_zone() -> MemoryDns {
    appendix_a_zone()
        .with_txt(
            "example.com",
            "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all",
        )
        .with_txt(
            "mobile-users._spf.example.com",
            "v=spf1 exists:%{l1r+}.%{d}",
        )
        .with_txt(
            "remote-users._spf.example.com",
            "v=spf1 exists:%{ir}.%{l1r+}.%{d}",
        )
        .with_addr("mary.mobile-users._spf.example.com", ip("127.0.0.2"))
        .with_addr("fred.mobile-users._spf.example.com", ip("127.0.0.2"))
        .with_addr(
            "15.15.168.192.joel.remote-users._spf.example.com",
            ip("127.0.0.2"),
        )
        .with_addr(
            "16.15.168.192.joel.remote-users._spf.example.com",
            ip("127.0.0.2"),
        )
}

/// (sender, client address, result) over [`appendix_a_3_zone`].
pub const APPENDIX_A_3: &[(&str, &str, SpfResult)] = &[
    ("mary@example.com", "198.51.100.9", SpfResult::Pass),
    ("fred@example.com", "203.0.113.4", SpfResult::Pass),
    // l1r+: the part before the first "+", so sub-addresses work
    ("fred+lists@example.com", "203.0.113.4", SpfResult::Pass),
    ("joel@example.com", "192.168.15.15", SpfResult::Pass),
    ("joel@example.com", "192.168.15.16", SpfResult::Pass),
    ("joel@example.com", "192.168.15.17", SpfResult::Fail),
    ("bob@example.com", "198.51.100.9", SpfResult::Fail),
    ("bob@example.com", "192.0.2.129", SpfResult::Pass),
];
