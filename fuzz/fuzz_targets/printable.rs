//! printable(): nothing a terminal obeys survives, and printable text is
//! left as it is.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smtp_doctor::printable::{needs_escape, printable, printable_lines};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let one = printable(&text);
    assert!(!one.chars().any(|c| needs_escape(c) || c.is_control()));
    assert_eq!(printable(&one), one);
    let many = printable_lines(&text);
    assert!(!many.chars().any(|c| needs_escape(c) && c != '\n'));
});
