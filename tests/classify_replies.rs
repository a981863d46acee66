//! Real server replies in, cause ids out.
//!
//! `tests/data/replies.json` holds replies and error texts seen in the wild,
//! each with the source it was seen in and the cause smtp-doctor should name
//! first. Every mismatch is printed before the test fails, so one run shows
//! everything a pattern change broke. The provider tests check detection
//! from the server name, MX hosts, banner, EHLO and sender domain.

use serde::Deserialize;
use smtp_doctor::catalog::{ProviderEvidence, catalog};
use smtp_doctor::classify::{classify, classify_text, patterns};
use smtp_doctor::reply::Reply;
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct Data {
    replies: Vec<ReplyCase>,
    explain: Vec<TextCase>,
    no_match: Vec<NoMatch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyCase {
    reply: String,
    family: String,
    language: String,
    cause: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextCase {
    text: String,
    family: String,
    language: String,
    cause: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoMatch {
    text: String,
    family: String,
    language: String,
    why: String,
    source: String,
}

fn data() -> Data {
    serde_json::from_str(include_str!("data/replies.json")).expect("tests/data/replies.json")
}

/// The cause ids of DESIGN.md's contract.
const DESIGN_CAUSES: &[&str] = &smtp_doctor::catalog::CAUSE_IDS;

/// Fails with every message at once, or passes when there are none.
fn report(what: &str, failures: &[String]) {
    for f in failures {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} {what} failed", failures.len());
}

#[test]
fn real_replies_give_the_expected_top_cause() {
    let mut failures = Vec::new();
    for case in data().replies {
        let Some(reply) = Reply::parse(&case.reply) else {
            failures.push(format!(
                "unparsable reply: {:?} ({})",
                case.reply, case.source
            ));
            continue;
        };
        let got = classify(&reply);
        let top = got.first().map(|m| m.cause.as_str());
        if top != Some(case.cause.as_str()) {
            failures.push(format!(
                "[{} {}] {:?}\n  expected {}, got {:?}\n  source {}",
                case.family,
                case.language,
                case.reply,
                case.cause,
                got.iter()
                    .map(|m| format!("{} {:.2} ({})", m.cause, m.confidence, m.pattern))
                    .collect::<Vec<_>>(),
                case.source
            ));
        }
    }
    report("replies", &failures);
}

#[test]
fn explain_texts_give_the_expected_top_cause() {
    let mut failures = Vec::new();
    for case in data().explain {
        let got = classify_text(&case.text);
        if got.first().map(|m| m.cause.as_str()) != Some(case.cause.as_str()) {
            failures.push(format!(
                "[{} {}] {:?}\n  expected {}, got {:?}\n  source {}",
                case.family, case.language, case.text, case.cause, got, case.source
            ));
        }
    }
    report("explain texts", &failures);
}

#[test]
fn unknown_texts_give_no_cause() {
    let mut failures = Vec::new();
    for case in data().no_match {
        let got = classify_text(&case.text);
        if !got.is_empty() {
            failures.push(format!(
                "[{} {}] {:?}\n  expected no cause ({}), got {got:?}\n  source {}",
                case.family, case.language, case.text, case.why, case.source
            ));
        }
    }
    report("no-match texts", &failures);
}

#[test]
fn the_table_is_broad_enough() {
    let d = data();
    let families: BTreeSet<&str> = d
        .replies
        .iter()
        .map(|c| c.family.as_str())
        .chain(d.explain.iter().map(|c| c.family.as_str()))
        .chain(d.no_match.iter().map(|c| c.family.as_str()))
        .filter(|f| !matches!(*f, "other" | "rfc"))
        .collect();
    assert!(d.replies.len() >= 150, "only {} replies", d.replies.len());
    assert!(families.len() >= 25, "only families {families:?}");
    assert!(
        d.explain.len() >= 50,
        "only {} explain texts",
        d.explain.len()
    );
    assert!(
        d.no_match.len() >= 25,
        "only {} no-match texts",
        d.no_match.len()
    );
    let languages: BTreeSet<&str> = d
        .replies
        .iter()
        .map(|c| c.language.as_str())
        .chain(d.explain.iter().map(|c| c.language.as_str()))
        .collect();
    for lang in ["en", "fr", "de", "es", "it", "pt"] {
        assert!(
            languages.contains(lang),
            "no entry in {lang}: {languages:?}"
        );
    }
    let sources = d
        .replies
        .iter()
        .map(|c| c.source.as_str())
        .chain(d.explain.iter().map(|c| c.source.as_str()));
    for source in sources {
        // A URL, or a server's source file or an RFC named precisely.
        assert!(source.trim().len() >= 10, "no real source: {source:?}");
    }
    // A no-match entry is either a real text with its URL or one of the
    // few hand-made sanity texts that are not replies at all.
    for case in &d.no_match {
        assert!(
            case.source.starts_with("http") || case.source.starts_with("constructed"),
            "{:?}: source {:?}",
            case.text,
            case.source
        );
    }
}

/// The corpus counted by family and by language; `cargo test --test
/// classify_replies corpus_size -- --nocapture` prints the table.
#[test]
fn corpus_size_by_family_and_language() {
    use std::collections::BTreeMap;
    let d = data();
    let mut by_family: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut by_language: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let entries = d
        .replies
        .iter()
        .map(|c| (0, c.family.as_str(), c.language.as_str()))
        .chain(
            d.explain
                .iter()
                .map(|c| (1, c.family.as_str(), c.language.as_str())),
        )
        .chain(
            d.no_match
                .iter()
                .map(|c| (2, c.family.as_str(), c.language.as_str())),
        );
    for (kind, family, language) in entries {
        by_family.entry(family).or_default()[kind] += 1;
        by_language.entry(language).or_default()[kind] += 1;
    }
    let print = |title: &str, table: &BTreeMap<&str, [usize; 3]>| {
        println!("{title:<14} replies explain no_match total");
        for (name, [r, e, n]) in table {
            println!("{name:<14} {r:>7} {e:>7} {n:>8} {:>5}", r + e + n);
        }
    };
    print("family", &by_family);
    print("language", &by_language);
    let total = d.replies.len() + d.explain.len() + d.no_match.len();
    println!(
        "total: {} replies, {} explain texts, {} no-match texts ({total})",
        d.replies.len(),
        d.explain.len(),
        d.no_match.len()
    );
    let counted: usize = by_family.values().flatten().sum();
    assert_eq!(counted, total);
    // Patterns that decide no entry of the corpus (never the best match
    // for its cause): candidates for a real example, or for removal.
    let mut used = BTreeSet::new();
    for case in &d.replies {
        if let Some(reply) = Reply::parse(&case.reply) {
            used.extend(classify(&reply).into_iter().map(|m| m.pattern));
        }
    }
    for case in &d.explain {
        used.extend(classify_text(&case.text).into_iter().map(|m| m.pattern));
    }
    let unused: Vec<&str> = patterns()
        .iter()
        .map(|p| p.id.as_str())
        .filter(|id| !used.contains(*id))
        .collect();
    println!(
        "patterns that decide no corpus entry ({} of {}): {unused:?}",
        unused.len(),
        patterns().len()
    );
}

#[test]
fn every_cause_named_anywhere_is_in_the_catalog_with_generic_fixes() {
    let d = data();
    let named = DESIGN_CAUSES
        .iter()
        .copied()
        .chain(d.replies.iter().map(|c| c.cause.as_str()))
        .chain(d.explain.iter().map(|c| c.cause.as_str()))
        .chain(patterns().iter().map(|p| p.cause.as_str()));
    let mut missing = Vec::new();
    for id in named.collect::<BTreeSet<_>>() {
        match catalog().cause(id) {
            Some(c) if !c.fixes_for(None).is_empty() => {}
            _ => missing.push(format!("cause {id} missing or without generic fixes")),
        }
    }
    report("causes", &missing);
}

fn detect(ev: &ProviderEvidence<'_>) -> Option<&'static str> {
    catalog().detect_provider(ev).map(|p| p.id.as_str())
}

fn by_server(server: &str) -> Option<&'static str> {
    detect(&ProviderEvidence {
        server: Some(server),
        ..Default::default()
    })
}

fn by_banner(banner: &str) -> Option<&'static str> {
    detect(&ProviderEvidence {
        banner: Some(banner),
        ..Default::default()
    })
}

#[test]
fn providers_are_detected_from_the_server_name() {
    assert_eq!(by_server("smtp.office365.com"), Some("microsoft365"));
    assert_eq!(by_server("SMTP.Gmail.COM."), Some("google"));
    assert_eq!(by_server("smtp-mail.outlook.com"), Some("outlook_com"));
    assert_eq!(
        by_server("email-smtp.eu-west-1.amazonaws.com"),
        Some("amazon_ses")
    );
    assert_eq!(by_server("smtp.sendgrid.net"), Some("sendgrid"));
    assert_eq!(by_server("smtp.eu.mailgun.org"), Some("mailgun"));
    assert_eq!(by_server("evil-office365.com"), None);
    assert_eq!(by_server("smtp.office365.com.evil.example"), None);
    assert_eq!(by_server("notgmail.com"), None);
    assert_eq!(by_server("mail.example.org"), None);
}

#[test]
fn providers_are_detected_from_mx_hosts() {
    let mx = |hosts: &[&str]| -> Option<&'static str> {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let c = catalog();
        let direct = c.provider_for_mx(&hosts).map(|p| p.id.as_str());
        let ev = ProviderEvidence {
            mx_hosts: &hosts,
            ..Default::default()
        };
        assert_eq!(direct, c.detect_provider(&ev).map(|p| p.id.as_str()));
        direct
    };
    assert_eq!(
        mx(&["acme-com.mail.protection.outlook.com."]),
        Some("microsoft365")
    );
    assert_eq!(mx(&["ASPMX.L.GOOGLE.COM"]), Some("google"));
    assert_eq!(mx(&["mx1.example.net", "mx.zoho.eu"]), Some("zoho"));
    assert_eq!(mx(&["mx.fake-google.com"]), None);
}

#[test]
fn providers_are_detected_from_banners() {
    let cases = [
        (
            "p3plcpnl0749.prod.phx3.secureserver.net ESMTP Exim 4.89 #1 Tue, 13 Mar 2018 05:21:15 -0700",
            Some("exim"),
        ),
        (
            "mail.example.org ESMTP Postfix (Debian/GNU)",
            Some("postfix"),
        ),
        (
            "YQBPR0101CA0294.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sun, 5 Jan 2025",
            Some("microsoft365"),
        ),
        (
            "mail.borschow.com Microsoft ESMTP MAIL Service, Version: 6.0.3790.1830 ready at Tue, 7 Apr 2009 21:56:53 -0400",
            Some("exchange"),
        ),
        (
            "mx.zohomail.com SMTP Server ready January 25, 2018 12:17:24 AM PST",
            Some("zoho"),
        ),
        ("smtp.mail.yahoo.com ESMTP ready", Some("yahoo")),
        (
            "SG ESMTP service ready at ismtpd0003p1lon1.sendgrid.net",
            Some("sendgrid"),
        ),
        (
            "smtp.gmail.com ESMTP s187sm10155718pfs.83 - gsmtp",
            Some("google"),
        ),
        ("opensips105 ESMTP Haraka 2.5.0 ready", None),
        ("mx1.poolp.org ESMTP OpenSMTPD", None),
    ];
    let mut failures = Vec::new();
    for (banner, want) in cases {
        let got = by_banner(banner);
        if got != want {
            failures.push(format!("{banner:?}: expected {want:?}, got {got:?}"));
        }
    }
    report("banners", &failures);
}

#[test]
fn providers_are_detected_from_ehlo_and_sender_domain() {
    let ehlo = vec![
        "exchange Hello [192.0.2.7]".to_string(),
        "AUTH NTLM LOGIN".to_string(),
    ];
    let ev = ProviderEvidence {
        ehlo_lines: &ehlo,
        ..Default::default()
    };
    assert_eq!(detect(&ev), Some("exchange"));
    let ev = ProviderEvidence {
        sender_domain: Some("Hotmail.com"),
        ..Default::default()
    };
    assert_eq!(detect(&ev), Some("outlook_com"));
    assert_eq!(detect(&ProviderEvidence::default()), None);
}

#[test]
fn the_server_name_outweighs_a_generic_banner() {
    let ev = ProviderEvidence {
        server: Some("smtp.office365.com"),
        banner: Some("BN6PR03CA0021.outlook.office365.com Microsoft ESMTP MAIL Service ready"),
        ..Default::default()
    };
    assert_eq!(detect(&ev), Some("microsoft365"));
}

#[test]
fn presets_come_from_consumer_domains() {
    let c = catalog();
    let (p, preset) = c.preset_for_domain("GMAIL.com").expect("gmail preset");
    assert_eq!(p.id, "google");
    assert_eq!(
        (
            preset.server.as_str(),
            preset.port,
            preset.security.as_str()
        ),
        ("smtp.gmail.com", 587, "starttls")
    );
    assert_eq!(
        c.preset_for_domain("me.com").map(|(p, _)| p.id.as_str()),
        Some("icloud")
    );
    assert_eq!(
        c.preset_for_domain("someone@yahoo.co.uk")
            .map(|(p, _)| p.id.as_str()),
        Some("yahoo")
    );
    assert!(c.preset_for_domain("example.org").is_none());
    assert!(c.preset_for_domain("mail.gmail.com").is_none());
}
