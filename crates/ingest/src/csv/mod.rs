//! Canonical CSV, read in chunks that are tokenised and validated in parallel.
//!
//! Why not one `csv::Reader` loop: checking every field of every row (the quarantine
//! guarantee) is most of what a scan costs, and a record-at-a-time state machine keeps it
//! on one core. Here the file is cut into blocks at record boundaries; workers split and
//! validate blocks independently; the caller's visitor still sees rows (and rejections) on
//! the calling thread in file order, so nothing downstream changes.
//!
//! - A block without a double quote is cut after its last `\n` (outside quotes every `\n`
//!   ends a record) and split 64 bytes at a time with vector compares that mark commas and
//!   newlines (a `\r` before a newline is dropped); each record is validated as soon as its
//!   newline is found, while the block is in cache. This is the common case and the fast one:
//!   in a file with the canonical header, a record goes first through [`RowParser::quick`],
//!   and only what that does not take goes through the full check with its reasons.
//! - A block with a quote, or with a bare `\r` (a terminator for the `csv` crate),
//!   is tokenised by `csv_core`, the state machine under the `csv` crate, with the same
//!   settings, so quoting, escaped quotes and odd terminators mean exactly what they mean
//!   to every other `csv` user. The cut is then the end of the last complete record.
//! - A record longer than a block grows the block; memory is bounded by the longest
//!   record, not by the file.
//!
//! A caller may pass a [`Prefilter`]: workers ask it about every valid row, and rows it does
//! not want reach [`Visitor::pass`] instead of [`Visitor::accept`]. Consecutive unwanted rows
//! whose times never go back within their block are gathered into runs, offered whole to
//! [`Visitor::pass_run`]; a run the visitor declines is split and checked again and handed
//! to `pass` row by row, so a visitor sees the same rows either way.
//!
//! Line numbers are those of the line where a record starts (empty lines skipped), which is
//! what an analyst opening the file expects. (The `csv` crate's own positions count from
//! the end of the previous record, which is off by one in CRLF files.)

mod check;
mod cut;
mod parallel;
mod rows;
mod split;
mod tokenize;

use crate::io;
use crate::{IngestError, IngestStats, Prefilter, Visitor};
use check::Worker;
use cut::Chunker;
use rows::{Delivery, Parsed};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// How a CSV file is read.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    /// Bytes read per block (a block grows when one record is longer).
    pub block: usize,
    /// Threads that tokenise and validate blocks; 0 does everything on the calling thread.
    pub workers: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // On one core the hand-offs would only cost time.
        CsvOptions { block: 1 << 18, workers: if cores > 1 { cores } else { 0 } }
    }
}

/// Read canonical CSV (with a header row) from any reader; `path` names the source.
pub fn read_csv_with<R: Read + Send>(
    path: &Path,
    r: R,
    opts: CsvOptions,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    read_csv_filtered(path, r, opts, None, v)
}

/// [`read_csv_with`], asking `filter` on the worker threads which valid rows the visitor
/// wants in full; the others reach [`Visitor::pass`].
pub fn read_csv_filtered<R: Read + Send>(
    path: &Path,
    r: R,
    opts: CsvOptions,
    filter: Option<&dyn Prefilter>,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let mut chunker = Chunker::new(path, r, opts.block.max(64))?;
    let canonical = chunker.headers == 13 && (0..13).all(|c| chunker.pos[c] == Some(c));
    let ctx = Ctx { headers: chunker.headers, pos: chunker.pos, canonical, filter };
    let mut out = Delivery::new(path.display().to_string(), chunker.first_line);
    if opts.workers == 0 {
        let mut w = Worker::default();
        let mut shell = Parsed::default();
        while let Some(chunk) = chunker.next_chunk()? {
            w.parse(chunk, &ctx, &mut shell);
            out.deliver(&mut shell, &ctx, v);
            chunker.recycle(std::mem::take(&mut shell.text).into_bytes());
        }
        return Ok(out.stats);
    }
    parallel::read_parallel(chunker, &ctx, opts.workers, &mut out, v)?;
    Ok(out.stats)
}

/// What a worker needs to know about the file, and the visitor's prefilter.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'f> {
    pub(super) headers: usize,
    pub(super) pos: [Option<usize>; 13],
    /// The header is exactly the canonical columns in canonical order.
    pub(super) canonical: bool,
    pub(super) filter: Option<&'f dyn Prefilter>,
}

/// Read canonical CSV (with a header row); with more than one core, blocks of the file
/// are validated in parallel (see [`read_csv_with`]); rows still reach the visitor on
/// the calling thread, in file order.
pub fn read_csv(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let file = File::open(path).map_err(io(path))?;
    read_csv_with(path, file, CsvOptions::default(), v)
}

/// Read canonical CSV from any reader on the calling thread; `path` names the source.
pub fn read_csv_from<R: std::io::Read + Send>(
    path: &Path,
    r: R,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    read_csv_with(path, r, CsvOptions { workers: 0, ..CsvOptions::default() }, v)
}
