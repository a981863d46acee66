//! Profile files of arbitrary bytes: a profile or an error that says the
//! file is damaged and names it; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match smtp_doctor::profile::parse(&text, Path::new("/p/x.json"), "x") {
        Ok(p) => assert_eq!(p.name, "x"),
        Err(e) => assert!(e.is_damaged() && e.to_string().contains("/p/x.json")),
    }
});
