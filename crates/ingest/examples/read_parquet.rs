//! Ingest alone: read and validate a Parquet file, counting rows (no engine, no prefilter).
//!
//!   cargo run --release -p osecwatch-ingest --example read_parquet -- FILE [WORKERS]
//!
//! Prints rows, seconds and rows per second; WORKERS 1 keeps everything on one thread.

use osecwatch_ingest::{read_parquet_threads, ColumnarOptions, Counter};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: read_parquet FILE [WORKERS]")?);
    let workers = match args.next() {
        Some(w) => w.parse()?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let start = Instant::now();
    let mut c = Counter::default();
    let s = read_parquet_threads(&path, &ColumnarOptions::default(), None, workers, &mut c)?;
    c.assert_reconciles(&s);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} rows ({} rejected) in {secs:.3} s = {:.2} M rows/s with {workers} workers",
        s.read,
        s.rejected,
        s.read as f64 / secs / 1e6
    );
    Ok(())
}
