//! Canonical transaction files: CSV (with header), JSON Lines and Parquet.
//!
//! All three carry exactly the columns of [`osecwatch_model::CANONICAL_COLUMNS`]
//! (`shared/reference/formats.md` section 1). Writers take borrowed [`TxnRow`]s so that a
//! producer can stream millions of rows without allocating per row.
//!
//! ```no_run
//! use osecwatch_formats::{open_writer, Format};
//! # fn rows() -> Vec<osecwatch_model::Transaction> { vec![] }
//! let mut w = open_writer("out/transactions.csv".as_ref(), Format::Csv).unwrap();
//! for t in rows() {
//!     w.write(&t.as_row()).unwrap();
//! }
//! w.finish().unwrap();
//! ```
//!
//! This crate never prints; errors carry the path they concern.

mod write;

pub use write::{open_writer, CsvTxnWriter, JsonlTxnWriter, ParquetTxnWriter, TxnWriter};

use std::path::{Path, PathBuf};

/// A canonical file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Canonical CSV with a header row.
    Csv,
    /// JSON Lines, one object per payment.
    Jsonl,
    /// Parquet with every column as UTF-8 text.
    Parquet,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Jsonl, Format::Parquet];

    /// Choose a format from a file name (`.csv`, `.jsonl`/`.ndjson`, `.parquet`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// A format by its name (`csv`, `jsonl`, `parquet`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The usual file extension.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }
}

/// Errors from reading or writing canonical files.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file cannot be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The CSV writer failed.
    #[error("{path}: CSV: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// The Parquet writer failed.
    #[error("{path}: Parquet: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow batch could not be built.
    #[error("{path}: Arrow: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: arrow_schema::ArrowError,
    },
}
