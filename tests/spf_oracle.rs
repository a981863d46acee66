//! smtp-doctor's SPF evaluator checked against an independent
//! implementation, the mailrs-spf crate, over the same scripted zones: the
//! scenarios of tests/data/spf/scenarios.txt and the examples of RFC 7208
//! appendix A.1 and A.3.
//!
//! Where the two disagree because mailrs-spf departs from RFC 7208, the case
//! stays in the table, is listed in ORACLE_DEPARTS with the reason, and
//! smtp-doctor must give the RFC's result (the scenario's expectation)
//! while mailrs-spf must still give the other one, so that the list stays
//! true. Every other case must agree.

mod spf_zone;

use mailrs_spf::{SpfError, SpfResolver, VerifyInput};
use smtp_doctor::spf::{DnsFail, MemoryDns, SpfResult, evaluate};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

/// Cases where mailrs-spf 3.0 gives another result than RFC 7208 asks for.
const ORACLE_DEPARTS: &[(&str, &str)] = &[
    (
        "ip4-mapped-ipv6",
        "section 5 (and 4.1): an IPv4-mapped IPv6 client is an IPv4 client, so ip4 \
         applies; mailrs-spf compares it as IPv6 and no ip4 term matches",
    ),
    (
        "none-spf10-is-not-spf1",
        "section 4.5: a record is selected only if 'v=spf1' is followed by a space \
         or the end; mailrs-spf selects 'v=spf10 +all' and then fails to parse it",
    ),
    (
        "case",
        "section 4.5 and 12: the version tag and mechanism names are \
         case-insensitive (ABNF strings); mailrs-spf only knows lowercase 'v=spf1'",
    ),
    (
        "include-none",
        "section 5.2: an include whose target has no SPF record is permerror; \
         mailrs-spf treats it as no match",
    ),
    (
        "include-nxdomain",
        "section 5.2: an include whose target does not exist is permerror; \
         mailrs-spf treats it as no match",
    ),
    (
        "syntax-error-after-all",
        "sections 4.6 and 5.6: a prefix length above 32 is a syntax error, and a \
         syntax error anywhere makes the record permerror, even after an all that \
         matches; mailrs-spf accepts '/33' and returns the all's pass",
    ),
    (
        "syntax-error-in-include",
        "section 4.6 / 12: 'a:mail.example.123' is not a domain-spec (its last label \
         is not a toplabel); mailrs-spf does not check the domain-end",
    ),
    (
        "lookups-exactly-10",
        "section 4.6.4: ten DNS-querying terms are allowed; mailrs-spf also counts \
         the first TXT lookup and every MX host's address lookup, and stops early",
    ),
    (
        "void-over-2",
        "section 4.6.4: a third void lookup is permerror; mailrs-spf has no \
         void-lookup limit",
    ),
    (
        "ptr-pass",
        "section 5.5: ptr is defined (though discouraged); mailrs-spf refuses any \
         record with ptr as permerror",
    ),
    (
        "ptr-not-validated",
        "as ptr-pass: mailrs-spf does not implement ptr",
    ),
    (
        "ptr-other-domain",
        "as ptr-pass: mailrs-spf does not implement ptr",
    ),
    ("ptr-none", "as ptr-pass: mailrs-spf does not implement ptr"),
];

/// The same departure for the appendix's "v=spf1 ptr -all" cases.
fn appendix_departure(record: &str) -> Option<&'static str> {
    record
        .contains("ptr")
        .then_some("section 5.5: mailrs-spf does not implement ptr (permerror)")
}

// ------------------------------------------------------------------ the oracle

/// mailrs-spf's resolver trait over a scripted zone. Its contract: no
/// record or no name is an empty list; a failure is DnsTempError.
struct Oracle<'z>(&'z MemoryDns);

type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<Vec<T>, SpfError>> + Send + 'a>>;

fn convert<T: Send + 'static>(r: Result<Vec<T>, DnsFail>) -> Result<Vec<T>, SpfError> {
    match r {
        Ok(v) => Ok(v),
        Err(DnsFail::NxDomain | DnsFail::NoRecords) => Ok(Vec::new()),
        Err(DnsFail::Temp(why)) => Err(SpfError::DnsTempError(why)),
    }
}

impl SpfResolver for Oracle<'_> {
    fn lookup_txt<'s, 'd, 'f>(&'s self, domain: &'d str) -> Answer<'f, String>
    where
        's: 'f,
        'd: 'f,
        Self: 'f,
    {
        let r = convert(self.0.lookup_txt(domain));
        Box::pin(async move { r })
    }

    fn lookup_a<'s, 'd, 'f>(&'s self, domain: &'d str) -> Answer<'f, IpAddr>
    where
        's: 'f,
        'd: 'f,
        Self: 'f,
    {
        let r = convert(self.0.lookup_a(domain));
        Box::pin(async move { r })
    }

    fn lookup_aaaa<'s, 'd, 'f>(&'s self, domain: &'d str) -> Answer<'f, IpAddr>
    where
        's: 'f,
        'd: 'f,
        Self: 'f,
    {
        let r = convert(self.0.lookup_aaaa(domain));
        Box::pin(async move { r })
    }

    fn lookup_mx<'s, 'd, 'f>(&'s self, domain: &'d str) -> Answer<'f, (u16, String)>
    where
        's: 'f,
        'd: 'f,
        Self: 'f,
    {
        let r = convert(self.0.lookup_mx(domain)).map(|v| {
            v.into_iter()
                .map(|(p, h)| (p, h.trim_end_matches('.').to_string()))
                .collect()
        });
        Box::pin(async move { r })
    }
}

fn from_oracle(r: &mailrs_spf::SpfResult) -> SpfResult {
    r.as_str().parse().expect("an SPF result")
}

async fn oracle(zone: &MemoryDns, ip: IpAddr, sender: &str, helo: &str) -> SpfResult {
    let input = VerifyInput {
        ip,
        helo: helo.to_string(),
        mail_from: sender.to_string(),
    };
    from_oracle(&mailrs_spf::verify(&Oracle(zone), &input).await)
}

// ------------------------------------------------------------------ the table

struct Case {
    id: String,
    zone: MemoryDns,
    ip: IpAddr,
    sender: String,
    helo: String,
    /// RFC 7208's result.
    expected: SpfResult,
    departs: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let zone = spf_zone::dnsmasq_zone(spf_zone::SPF_CONF);
    for s in spf_zone::scenarios(spf_zone::SCENARIOS) {
        let departs = ORACLE_DEPARTS
            .iter()
            .find(|(id, _)| *id == s.id)
            .map(|(_, why)| *why);
        out.push(Case {
            id: s.id,
            zone: zone.clone(),
            ip: s.ip,
            sender: s.sender,
            helo: s.helo,
            expected: s.result,
            departs,
        });
    }
    for (record, passing, failing) in spf_zone::APPENDIX_A_1 {
        let zone = spf_zone::appendix_a_zone().with_txt("example.com", record);
        for (addrs, expected) in [(*passing, SpfResult::Pass), (*failing, SpfResult::Fail)] {
            for a in addrs {
                out.push(Case {
                    id: format!("A.1 '{record}' for {a}"),
                    zone: zone.clone(),
                    ip: a.parse().unwrap(),
                    sender: "user@example.com".into(),
                    helo: "mta.example.net".into(),
                    expected,
                    departs: appendix_departure(record),
                });
            }
        }
    }
    let zone = spf_zone::appendix_a_3_zone();
    for (sender, addr, expected) in spf_zone::APPENDIX_A_3 {
        out.push(Case {
            id: format!("A.3 {sender} from {addr}"),
            zone: zone.clone(),
            ip: addr.parse().unwrap(),
            sender: (*sender).into(),
            helo: "mta.example.net".into(),
            expected: *expected,
            departs: None,
        });
    }
    out
}

#[tokio::test]
async fn smtp_doctor_and_mailrs_spf_agree_except_where_the_rfc_says_otherwise() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut problems = Vec::new();
    let (mut agreed, mut departed) = (0, 0);
    for c in &cases {
        let ours = evaluate(&c.zone, c.ip, &c.sender, &c.helo).await;
        let theirs = oracle(&c.zone, c.ip, &c.sender, &c.helo).await;
        if ours.result != c.expected {
            problems.push(format!(
                "{}: smtp-doctor gives {}, RFC 7208 {} (mailrs-spf {theirs})\n{}",
                c.id,
                ours.result,
                c.expected,
                ours.trace_text()
            ));
            continue;
        }
        match c.departs {
            None if theirs == ours.result => agreed += 1,
            None => problems.push(format!(
                "{}: smtp-doctor gives {}, mailrs-spf {theirs}; if mailrs-spf departs from \
                 RFC 7208 here, list the case in ORACLE_DEPARTS with the reason\n{}",
                c.id,
                ours.result,
                ours.trace_text()
            )),
            Some(_) if theirs != ours.result => departed += 1,
            Some(why) => problems.push(format!(
                "{}: listed as a departure ({why}), but both now give {theirs}: drop it \
                 from the list",
                c.id
            )),
        }
    }
    println!(
        "{} cases: {agreed} agree, {departed} differ where mailrs-spf departs from RFC 7208",
        cases.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
