//! SPF records and macros: the first line is a record for example.com, the
//! rest the TXT text an `exp=` points to (its macros are expanded). Syntax
//! checking and a whole evaluation against in-memory DNS never panic, and
//! the expanded explanation stays bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smtp_doctor::spf::{self, MemoryDns};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (record, exp) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = spf::validate(record);
    let zone = MemoryDns::new()
        .with_txt("example.com", record)
        .with_txt("exp.example.com", exp)
        .with_txt("e.example.com", "v=spf1 -all exp=exp.example.com");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for sender in ["a.b+c@example.com", "x@e.example.com"] {
        let e = rt.block_on(spf::evaluate(&zone, "192.0.2.10".parse().unwrap(), sender, "h.example.net"));
        assert!(e.dns_queries <= spf::MAX_DNS_QUERIES);
        if let Some(x) = e.explanation {
            assert!(x.len() <= 64 * 1024);
        }
    }
});
