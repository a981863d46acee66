//! SMTP reply parsing and classification of arbitrary bytes: never panics;
//! a parsed reply has a code of 200 to 599.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smtp_doctor::reply::{Reply, parse_line};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = parse_line(line);
    }
    if let Some(r) = Reply::parse(&text) {
        assert!((200..600).contains(&r.code));
        let _ = r.summary();
        let _ = smtp_doctor::classify::classify(&r);
    }
});
