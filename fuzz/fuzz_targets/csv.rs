//! Fuzz target: the csv reader must never panic and its counts must reconcile.
//! Run with `cargo +nightly fuzz run csv` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = osecwatch_ingest::Counter::default();
    if let Ok(s) = osecwatch_ingest::read_csv_from(std::path::Path::new("fuzz.csv"), data, &mut v) {
        v.assert_reconciles(&s);
    }
});
