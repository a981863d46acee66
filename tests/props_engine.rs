//! Property tests of the parsers that read outside text: SMTP replies, the
//! classifier, SPF records and their macros, profile files, and the
//! printable filter. They run on stable under `cargo test` with
//! proptest's default 256 cases, except where a case is slow (noted).
//! The same targets exist as libFuzzer targets under `fuzz/`.

use proptest::prelude::*;
use smtp_doctor::classify::{classify, classify_text};
use smtp_doctor::printable::{needs_escape, printable, printable_lines};
use smtp_doctor::profile;
use smtp_doctor::reply::{Reply, parse_line};
use smtp_doctor::spf::{self, MemoryDns};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Characters the generators favour: reply syntax, SPF syntax, controls,
/// bidi characters and multi-byte text, so cases reach deep paths.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => prop::sample::select(vec![
            '\r', '\n', '\t', '\x1b', '\x7f', '\u{9b}', '\u{202e}', '\u{2066}', '\u{0}', '%',
            '{', '}', '-', '.', ':', '/', '=', 'é', '日', '\u{fffd}',
        ]),
        1 => any::<char>(),
    ]
}

fn tricky_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn reply_lines_never_panic(s in tricky_string(200)) {
        let _ = parse_line(&s);
        let _ = Reply::parse(&s);
        if let Some(r) = Reply::parse(&s) {
            prop_assert!((200..600).contains(&r.code));
            let _ = r.summary();
            let _ = classify(&r);
        }
    }

    #[test]
    fn reply_codes_round_trip(
        code in 200u16..600,
        enhanced in proptest::option::of((0u16..1000, 0u16..1000)),
        texts in prop::collection::vec("[ -~]{0,40}", 1..5),
    ) {
        let mut raw = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let sep = if i + 1 == texts.len() { ' ' } else { '-' };
            let t = match enhanced {
                Some((s, d)) if i == 0 => format!("{}.{s}.{d} {t}", code / 100),
                _ => t.clone(),
            };
            raw.push(format!("{code}{sep}{t}\r\n"));
        }
        let r = Reply::from_lines(&raw).expect("well-formed lines parse");
        prop_assert_eq!(r.code, code);
        prop_assert_eq!(r.lines.len(), texts.len());
        // Enhanced codes exist for classes 2, 4 and 5 only (RFC 3463).
        if let (Some((s, d)), 2 | 4 | 5) = (enhanced, code / 100) {
            let e = r.enhanced.expect("an enhanced code of the reply's class is kept");
            prop_assert_eq!(u16::from(e.class), code / 100);
            prop_assert_eq!(e.to_string(), format!("{}.{s}.{d}", code / 100));
        }
    }

    #[test]
    fn bytes_as_replies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = Reply::parse(&s);
        let _ = classify_text(&s);
    }
}

proptest! {
    // The classifier runs every pattern over the text, about 0.1 s a case
    // in a debug build: 32 cases of up to 2 KiB keep this near 2 s.
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn classifier_takes_any_text_in_bounded_time(
        s in tricky_string(2048),
        prefix in prop::sample::select(vec!["", "554 5.7.1 ", "535-5.7.8 ", "550 ", "421 4.7.0 "]),
    ) {
        let text = format!("{prefix}{s}");
        let start = Instant::now();
        let _ = classify_text(&text);
        // A generous fence, not a benchmark: catastrophic backtracking or a
        // quadratic loop would take seconds here.
        prop_assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    }
}

fn spf_term() -> impl Strategy<Value = String> {
    let name = "[a-z0-9%{}._-]{0,30}";
    prop_oneof![
        Just("all".to_string()),
        name.prop_map(|n| format!("include:{n}")),
        name.prop_map(|n| format!("a:{n}")),
        name.prop_map(|n| format!("mx:{n}/24")),
        name.prop_map(|n| format!("exists:{n}")),
        name.prop_map(|n| format!("redirect={n}")),
        name.prop_map(|n| format!("exp={n}")),
        "[0-9./]{0,20}".prop_map(|n| format!("ip4:{n}")),
        "[0-9a-f:/]{0,30}".prop_map(|n| format!("ip6:{n}")),
        "%\\{[slodiphcrtv][0-9]{0,3}r?[-.+,/_=]{0,3}\\}"
            .prop_map(|m| format!("exists:{m}.example")),
        tricky_string(30),
    ]
}

fn spf_record() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                prop::sample::select(vec!["", "+", "-", "~", "?"]),
                spf_term(),
            ),
            0..8,
        ),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(terms, prefix)| {
            let body: Vec<String> = terms.into_iter().map(|(q, t)| format!("{q}{t}")).collect();
            let head = if prefix { "v=spf1 " } else { "" };
            format!("{head}{}", body.join(" "))
        })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn spf_validation_never_panics(record in spf_record()) {
        let _ = spf::validate(&record);
        let _ = spf::is_spf_record(&record);
    }
}

proptest! {
    // Each case is a whole evaluation against in-memory DNS: 64 cases.
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn spf_evaluation_and_macro_expansion_stay_bounded(
        record in spf_record(),
        exp_text in tricky_string(300),
        local in "[a-zA-Z0-9.%{}+_-]{0,64}",
    ) {
        let zone = MemoryDns::new()
            .with_txt("example.com", &record)
            .with_txt("exp.example.com", &exp_text)
            .with_txt("e.example.com", "v=spf1 -all exp=exp.example.com");
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let sender = format!("{local}@example.com");
        let e = rt().block_on(spf::evaluate(&zone, ip, &sender, "mta.example.net"));
        prop_assert!(e.dns_queries <= spf::MAX_DNS_QUERIES);
        prop_assert!(e.trace.len() <= spf::MAX_TRACE_STEPS + 1);
        // The explanation is expanded from outside text: never unbounded.
        if let Some(x) = &e.explanation {
            prop_assert!(x.len() <= 64 * 1024, "explanation of {} bytes", x.len());
        }
        let e = rt().block_on(spf::evaluate(&zone, ip, &format!("{local}@e.example.com"), "h"));
        if let Some(x) = &e.explanation {
            prop_assert!(x.len() <= 64 * 1024, "explanation of {} bytes", x.len());
        }
    }
}

proptest! {
    #[test]
    fn profile_parse_gives_a_profile_or_a_clear_error(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        match profile::parse(&text, Path::new("/p/x.json"), "x") {
            Ok(p) => prop_assert_eq!(p.name, "x"),
            Err(e) => {
                prop_assert!(e.is_damaged(), "{e}");
                prop_assert!(e.to_string().contains("/p/x.json"), "{e}");
            }
        }
    }

    #[test]
    fn profile_parse_of_near_valid_json(
        server in tricky_string(40),
        port in any::<u32>(),
        schema in 0u64..4,
        extra in proptest::option::of("[a-z]{1,8}"),
    ) {
        let mut v = serde_json::json!({
            "schema": schema, "account": "a@example.com", "server": server,
            "port": port, "security": "starttls", "auth": true,
        });
        if let Some(k) = extra {
            v[k] = serde_json::json!(1);
        }
        match profile::parse(&v.to_string(), Path::new("/p/x.json"), "x") {
            Ok(p) => {
                prop_assert_eq!(u32::from(p.settings.port), port);
                prop_assert_eq!(p.settings.server, server);
            }
            Err(e) => prop_assert!(e.is_damaged(), "{e}"),
        }
    }

    #[test]
    fn printable_output_holds_no_control_or_bidi_character(s in tricky_string(200)) {
        let one = printable(&s);
        prop_assert!(!one.chars().any(needs_escape), "{one:?}");
        prop_assert!(!one.chars().any(char::is_control), "{one:?}");
        let many = printable_lines(&s);
        prop_assert!(!many.chars().any(|c| needs_escape(c) && c != '\n'), "{many:?}");
        prop_assert_eq!(many.matches('\n').count(), s.matches('\n').count());
        // Idempotent: printable text stays as it is.
        prop_assert_eq!(printable(&one), one.clone());
        // Nothing else changes: without escapes, the text is the input.
        if !s.chars().any(needs_escape) {
            prop_assert_eq!(one.as_ref(), s.as_str());
        }
    }
}
