//! Ingest alone: read and validate a canonical CSV file, counting rows (no engine).
//!
//!   cargo run --release -p osecwatch-ingest --example read_csv -- FILE [WORKERS]
//!
//! Prints rows, seconds and rows per second; WORKERS 0 keeps everything on one thread.

use osecwatch_ingest::{read_csv_with, Counter, CsvOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: read_csv FILE [WORKERS]")?);
    let mut opts = CsvOptions::default();
    if let Some(w) = args.next() {
        opts.workers = w.parse()?;
    }
    let start = Instant::now();
    let mut c = Counter::default();
    let s = read_csv_with(&path, std::fs::File::open(&path)?, opts, &mut c)?;
    c.assert_reconciles(&s);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} rows ({} rejected) in {secs:.3} s = {:.2} M rows/s with {} workers",
        s.read,
        s.rejected,
        s.read as f64 / secs / 1e6,
        opts.workers
    );
    Ok(())
}
