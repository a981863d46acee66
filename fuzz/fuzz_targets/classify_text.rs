//! The classifier (what `explain` runs) on arbitrary text: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = smtp_doctor::classify::classify_text(&text);
    let _ = smtp_doctor::explain::explain(&text);
});
