//! Ingest: every supported input format becomes the canonical record at the edge.
//!
//! Readers stream: a file is read row by row and each row is handed to a [`Visitor`] as a
//! borrowed [`TxnRow`], so a file larger than memory works and the hot path does not
//! allocate per row. A row that breaks a rule is never dropped or guessed: it goes to
//! [`Visitor::reject`] with the file, the line (or element) and the reason, and the
//! [`IngestStats`] always reconcile: `read = accepted + rejected`.
//!
//! Formats: canonical CSV, JSON Lines and Parquet (`shared/reference/formats.md` §1), and
//! ISO 20022 pacs.008 / pain.001 XML (§4).
//!
//! This crate never prints; warnings (such as an ignored unknown column) go to `tracing`
//! and never contain row content.

mod clock;
mod columnar;
pub(crate) mod csv;
mod customers;
mod iso20022;
mod jsonl;
pub mod mapped;
mod order;
mod parquet;
mod rates;
mod row;
mod xsd;
mod zones;
pub use zones::parse_zone;

pub use clock::{wall_clock_utc, ClockSettings, EventClock, DEFAULT_EARLIEST_UTC};
pub use csv::{read_csv, read_csv_filtered, read_csv_from, read_csv_with, CsvOptions};
pub use customers::{read_customer_file, read_customers_from, CustomerFile, CustomerReject};
pub use iso20022::{is_document_refusal, read_iso20022, read_iso20022_from, MessageKind, XmlOptions};
pub use jsonl::{read_jsonl, read_jsonl_from};
pub use mapped::{mapped_columns, read_mapped, read_mapped_from, MappedColumns, Mapping};
pub use order::{too_late, OrderGuard, ReorderBuffer};
pub use parquet::{read_arrow_ipc, read_parquet, read_parquet_threads, ColumnarOptions, OFFSET_COLUMN};
pub use rates::{RateError, RateTable};
pub use row::{check_lengths, Coded, RowParser, MAX_ID_BYTES, MAX_NAME_BYTES, MAX_REFERENCE_BYTES};
pub use xsd::{message_id, validate_xml, Validation};

use osecwatch_formats::Format;
use osecwatch_model::{Timestamp, TxnRow};
use std::path::{Path, PathBuf};

/// Where a row came from: file and line (CSV, JSON Lines), row (Parquet) or element (XML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or `request body`).
    pub source: String,
    /// `line N`, `row N`, or an element and its byte offset.
    pub position: String,
}

/// A row or message that could not be accepted, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Where.
    pub location: Location,
    /// Why, in words, naming the field.
    pub reason: String,
    /// The offending input, truncated to a few hundred bytes, for the quarantine file.
    pub raw: String,
}

/// Receives the rows a reader produces.
pub trait Visitor {
    /// A valid row; `location` says where it came from, on request.
    fn accept(&mut self, row: &TxnRow<'_>, location: &dyn Fn() -> Location);
    /// A row that was refused.
    fn reject(&mut self, rejection: Rejection);
    /// A valid row that the reader's [`Prefilter`] said this visitor does not need to look
    /// into (only readers given a prefilter call this): its time, and the row on request. By
    /// default it is accepted like any other row, so a visitor that does not care loses nothing.
    fn pass<'a>(&mut self, _at: Timestamp, row: &dyn Fn() -> TxnRow<'a>, location: &dyn Fn() -> Location) {
        self.accept(&row(), location)
    }
    /// A row that is not an outgoing payment (a mapping's sign convention or filter said so):
    /// counted and not screened; `reason` says why in words, without row content.
    fn skip(&mut self, _location: &dyn Fn() -> Location, _reason: &str) {}
    /// `count` consecutive valid rows the [`Prefilter`] did not want, whose times never go
    /// back: each is at or after the one before it and every row the reader handed over
    /// before it from the same block. `first` and `last` are the first and the last time. A
    /// visitor that can take them as a whole (as if [`Visitor::pass`] had seen each) does so
    /// and returns true; by default it returns false, and the reader hands them to `pass`
    /// one by one. (Only the CSV reader, given a prefilter, calls this.)
    fn pass_run(&mut self, _count: u64, _first: Timestamp, _last: Timestamp) -> bool {
        false
    }
}

/// A question about one row alone, asked on the reader's worker threads: does the visitor
/// need this row in full ([`Visitor::accept`]) or only as a valid row in its place
/// ([`Visitor::pass`])? The scan engine uses it to keep its own thread free of the many
/// payments that cannot matter to the rule pack.
pub trait Prefilter: Sync {
    /// `coded`: the row's parsed values; `row`: the whole row, built on request (asking
    /// only `coded` is what keeps this cheap enough to ask of every row).
    fn wants<'a>(&self, coded: &Coded, row: &dyn Fn() -> TxnRow<'a>) -> bool;

    /// [`Prefilter::wants`] for a row at hand.
    fn wants_row(&self, row: &TxnRow<'_>) -> bool {
        self.wants(&Coded::of(row), &|| *row)
    }
}

/// A visitor that only counts what it is given (for tests, fuzzing and dry runs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Rows accepted.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
}

impl Visitor for Counter {
    fn accept(&mut self, _: &TxnRow<'_>, _: &dyn Fn() -> Location) {
        self.accepted += 1;
    }
    fn reject(&mut self, _: Rejection) {
        self.rejected += 1;
    }
}

impl Counter {
    /// Panics unless the reader's statistics agree with what it handed over.
    pub fn assert_reconciles(&self, s: &IngestStats) {
        assert_eq!(s.read, s.accepted + s.rejected + s.skipped, "read != accepted + rejected + skipped");
        assert_eq!(
            (s.accepted, s.rejected),
            (self.accepted, self.rejected),
            "stats disagree with the rows handed over"
        );
    }
}

/// Counts that always reconcile: `read == accepted + rejected + skipped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestStats {
    /// Rows (or messages) read: always `accepted + rejected`.
    pub read: u64,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Valid rows that are not outgoing payments (only mapped bank exports have them).
    pub skipped: u64,
}

impl IngestStats {
    /// Add another file's counts.
    pub fn add(&mut self, o: IngestStats) {
        self.read += o.read;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.skipped += o.skipped;
    }
}

/// Whole-file problems (a row-level problem is a [`Rejection`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The header lacks required columns.
    #[error("{path}: missing required column(s): {columns}")]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The missing columns, comma-separated.
        columns: String,
    },
    /// The file is not of its format (a broken header, not Parquet, a wrong column type).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The extension names no supported format.
    #[error("{path}: unsupported input format (expected .csv, .jsonl, .ndjson, .parquet, .arrow or .xml)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
}

/// Read one file of any supported format, choosing the reader by extension.
pub fn read_file(path: &Path, visitor: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    read_input(path, &InputOptions::default(), None, visitor)
}

/// [`read_file`] with options for ISO 20022 and for CSV input, and a prefilter (used by the
/// CSV and Parquet readers' workers; other formats accept every row).
pub fn read_file_opts(
    path: &Path,
    xml: &XmlOptions,
    csv: CsvOptions,
    filter: Option<&dyn Prefilter>,
    visitor: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    read_input(path, &InputOptions { xml: xml.clone(), csv, ..InputOptions::default() }, filter, visitor)
}

/// How inputs are read: every format's settings in one place.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// ISO 20022 messages.
    pub xml: XmlOptions,
    /// Canonical CSV.
    pub csv: CsvOptions,
    /// Typed timestamps in Parquet and Arrow IPC.
    pub columnar: ColumnarOptions,
    /// A bank export's mapping: every input is read through it.
    pub map: Option<Mapping>,
}

/// Read one input: through the mapping when one is given (a bank export), otherwise by its
/// extension; `filter` is asked by the CSV reader's workers.
pub fn read_input(
    path: &Path,
    o: &InputOptions,
    filter: Option<&dyn Prefilter>,
    visitor: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    if let Some(m) = &o.map {
        return read_mapped(path, m, visitor);
    }
    // The canonical formats are named by the same extensions the writers use.
    match osecwatch_formats::Format::from_path(path) {
        Some(Format::Csv) => {
            let file = std::fs::File::open(path).map_err(io(path))?;
            read_csv_filtered(path, file, o.csv, filter, visitor)
        }
        Some(Format::Jsonl) => read_jsonl(path, visitor),
        // The same thread setting as CSV (`scan --threads`): 0 keeps decoding on this thread.
        Some(Format::Parquet) => read_parquet_threads(path, &o.columnar, filter, o.csv.workers.max(1), visitor),
        None if is_arrow_ipc(path) => read_arrow_ipc(path, &o.columnar, visitor),
        None if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) => {
            let f = std::fs::File::open(path).map_err(io(path))?;
            read_iso20022_from(path, std::io::BufReader::new(f), &o.xml, visitor)
        }
        None => Err(IngestError::UnknownFormat { path: path.to_path_buf() }),
    }
}

fn is_arrow_ipc(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["arrow", "feather", "ipc"].contains(&e.to_ascii_lowercase().as_str()))
}

/// The files a directory or a glob pattern names, in path order (hive partitions such as
/// `dt=2025-01-01/part-0.parquet` sort in time order); `None` for a plain file. A directory
/// is read as a dataset of one format (its Parquet files if any, else Arrow IPC, JSON Lines,
/// CSV, XML); an empty expansion is an error.
pub fn expand_input(p: &Path) -> Result<Option<Vec<PathBuf>>, IngestError> {
    let s = p.to_string_lossy();
    let mut files = if p.is_dir() {
        let mut out = Vec::new();
        let mut stack = vec![p.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).map_err(io(&d))? {
                let path = e.map_err(io(&d))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if readable(&path) {
                    out.push(path);
                }
            }
        }
        out
    } else if s.contains(['*', '?', '[']) && !p.exists() {
        let fmt = |m: String| IngestError::Format { path: p.to_path_buf(), message: m };
        let paths = glob::glob(&s).map_err(|e| fmt(format!("not a valid pattern: {e}")))?;
        paths
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fmt(e.to_string()))?
            .into_iter()
            .filter(|f| f.is_file())
            .collect()
    } else {
        return Ok(None);
    };
    if p.is_dir() {
        // A directory is a dataset of one format, as data lakes keep them: its Parquet files
        // if it has any (a `_SUCCESS` marker or a side file is not a payment file), else its
        // Arrow IPC, JSON Lines, CSV or XML files.
        let rank = |f: &PathBuf| match osecwatch_formats::Format::from_path(f) {
            Some(Format::Parquet) => 0,
            _ if is_arrow_ipc(f) => 1,
            Some(Format::Jsonl) => 2,
            Some(Format::Csv) => 3,
            _ => 4,
        };
        if let Some(best) = files.iter().map(rank).min() {
            files.retain(|f| rank(f) == best);
        }
    }
    if files.is_empty() {
        return Err(IngestError::Format { path: p.to_path_buf(), message: "names no payment files".into() });
    }
    files.sort();
    Ok(Some(files))
}

/// Whether a file's extension names a format osecwatch reads.
fn readable(p: &Path) -> bool {
    osecwatch_formats::Format::from_path(p).is_some()
        || is_arrow_ipc(p)
        || p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

/// Count one more row under `reason` (skip reasons, grouped rejections): the key is
/// allocated only the first time a reason is seen, not per row.
pub fn count_reason(counts: &mut std::collections::BTreeMap<String, u64>, reason: &str) {
    match counts.get_mut(reason) {
        Some(n) => *n += 1,
        None => {
            counts.insert(reason.to_string(), 1);
        }
    }
}

/// Truncate raw input for the quarantine file (on a character boundary).
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 400;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Writes rejections as CSV: `source,location,reason,raw`.
pub struct QuarantineWriter<W: std::io::Write> {
    w: ::csv::Writer<W>,
    /// Rejections written.
    pub count: u64,
}

impl<W: std::io::Write> QuarantineWriter<W> {
    /// A quarantine file on `inner`; writes the header row.
    pub fn new(inner: W) -> Result<Self, ::csv::Error> {
        let mut w = ::csv::Writer::from_writer(inner);
        w.write_record(["source", "location", "reason", "raw"])?;
        Ok(QuarantineWriter { w, count: 0 })
    }

    /// Write one rejection.
    pub fn write(&mut self, r: &Rejection) -> Result<(), ::csv::Error> {
        self.count += 1;
        self.w.write_record([&r.location.source, &r.location.position, &r.reason, &r.raw])
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// The I/O error of reading `path`.
pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io { path: path.to_path_buf(), source }
}
