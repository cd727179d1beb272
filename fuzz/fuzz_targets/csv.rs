//! Fuzz target: the csv reader must never panic and its counts must reconcile, also with
//! tiny blocks (so records cross block ends) and with parallel workers.
//! Run with `cargo +nightly fuzz run csv` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osecwatch_ingest::{read_csv_with, Counter, CsvOptions};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.csv");
    let mut whole = Counter::default();
    let a = read_csv_with(path, data, CsvOptions { block: 1 << 18, workers: 0 }, &mut whole);
    let mut small = Counter::default();
    let b = read_csv_with(path, data, CsvOptions { block: 64, workers: 2 }, &mut small);
    if let (Ok(a), Ok(b)) = (a, b) {
        whole.assert_reconciles(&a);
        small.assert_reconciles(&b);
        assert_eq!(a, b, "the block size and the workers change nothing");
    }
});
