//! Fuzz target: the iso20022 reader must never panic and its counts must reconcile.
//! Run with `cargo +nightly fuzz run iso20022` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = osecwatch_ingest::Counter::default();
    if let Ok(s) = osecwatch_ingest::read_iso20022_from(std::path::Path::new("fuzz.xml"), data, &Default::default(), &mut v) {
        v.assert_reconciles(&s);
    }
});
