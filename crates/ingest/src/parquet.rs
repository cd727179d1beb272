//! Columnar inputs: Parquet and Arrow IPC files with the canonical column names, typed as
//! data lakes type them, or as the canonical text.
//!
//! Accepted types per column (anything else is refused before a row is read, naming the
//! column, its type and what is supported):
//! - text columns: UTF-8 (`Utf8`, `LargeUtf8`, `Utf8View`) or dictionary-encoded UTF-8;
//! - `timestamp`: RFC 3339 text, or a TIMESTAMP in s/ms/µs/ns. With a time zone (TIMESTAMPTZ)
//!   it is an instant; without one it is a wall-clock time in [`ColumnarOptions::timezone`].
//!   A TIMESTAMPTZ keeps no sender-local offset, which the night and payday features need:
//!   the offset comes from an optional `utc_offset_minutes` integer column (osecwatch writes
//!   it), else from [`ColumnarOptions::sender_timezone`] at that instant;
//! - `amount`: decimal text, DECIMAL of any precision and scale, integers (whole units of
//!   the currency), or floats. **Floats** are read by their shortest decimal form (45.1 is
//!   45.10): a float with more decimals than its currency has (0.30000000000000004) is
//!   refused, never rounded;
//! - `merchant_category`: text or an integer (742 is `0742`);
//! - nulls are absent values (refused where the field is required).
//!
//! Rows then go through the same [`RowParser`] as CSV, so they are accepted and refused for
//! the same reasons.

use crate::columnar::{Deliver, Prepared};
use crate::row::field::{AMOUNT, MERCHANT_CATEGORY, TIMESTAMP};
use crate::row::map_columns;
use crate::{io, IngestError, IngestStats, Prefilter, Visitor};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, Decimal128Array, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    StringViewArray, TimestampSecondArray,
};
use arrow_schema::{DataType, Schema, TimeUnit};
use chrono_tz::Tz;
use osecwatch_model::{Timestamp, CANONICAL_COLUMNS};
use std::fs::File;
use std::path::Path;

/// How typed timestamps are read.
#[derive(Debug, Clone, Copy)]
pub struct ColumnarOptions {
    /// The zone of TIMESTAMP values without a time zone (wall-clock times); default UTC.
    pub timezone: Tz,
    /// The zone whose local time the features read for instants (TIMESTAMPTZ) when the file
    /// has no `utc_offset_minutes` column; default: `timezone`.
    pub sender_timezone: Option<Tz>,
}

impl Default for ColumnarOptions {
    fn default() -> Self {
        ColumnarOptions { timezone: Tz::UTC, sender_timezone: None }
    }
}

/// Rows per decoded batch: large enough that per-batch work (casts, length checks, channel
/// messages) is negligible, small enough to stay in cache-friendly tens of megabytes.
pub(crate) const BATCH_ROWS: usize = 65_536;

/// The optional column that carries each payment's sender-local offset beside a TIMESTAMPTZ.
pub const OFFSET_COLUMN: &str = "utc_offset_minutes";

/// How one canonical column is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// TIMESTAMP; `true` with a time zone (an instant).
    Time(bool),
    Int,
    Float,
    /// DECIMAL up to 38 digits, read as an integer and its scale.
    Decimal,
}

/// Read canonical Parquet, typed or text, decoding row groups on every core.
pub fn read_parquet(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    read_parquet_threads(path, &ColumnarOptions::default(), None, workers, v)
}

/// [`read_parquet`] with the time-zone settings for typed timestamps, a prefilter, and
/// `workers` threads decoding row groups (1: all on the calling
/// thread). Rows reach the visitor on the calling thread, in file order, either way.
pub fn read_parquet_threads(
    path: &Path,
    o: &ColumnarOptions,
    filter: Option<&dyn Prefilter>,
    workers: usize,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    guard(path, || parquet_threads(path, o, filter, workers, v))
}

/// The Parquet and Arrow decoders can panic on a damaged file (a column chunk with a
/// negative offset, found by `tests/no_panic.rs`): that is an error naming the file, not a
/// crash. Rows delivered before the damage stay delivered, as with any error mid-file.
fn guard(path: &Path, read: impl FnOnce() -> Result<IngestStats, IngestError>) -> Result<IngestStats, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".into());
        Err(IngestError::Format { path: path.to_path_buf(), message: format!("damaged file: {why}") })
    })
}

fn parquet_threads(
    path: &Path,
    o: &ColumnarOptions,
    filter: Option<&dyn Prefilter>,
    workers: usize,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let builder = open_parquet(path)?;
    let schema = builder.schema().clone();
    let groups = builder.metadata().num_row_groups();
    if workers <= 1 || groups <= 1 {
        let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| fmt(e.to_string()))?;
        return read_batches(path, &schema, reader.map(|b| b.map_err(|e| e.to_string())), o, filter, v);
    }
    let l = layout(path, &schema)?;
    let source = path.display().to_string();
    let mut d = Deliver::new(&source, filter.is_some());
    crate::columnar::read_groups(path, groups, workers, &l, o, filter, &mut d, v)?;
    Ok(d.stats)
}

/// A Parquet reader's builder, or why the file is not Parquet.
///
/// Text columns are read as views into the decoded pages (no copy per value). The coded ones
/// (countries, currency, channel) were read as Arrow dictionaries before: the parquet crate
/// then rebuilt each dictionary by hashing (about 0.1 s per column on the 10 M-row bench
/// file); as views, each of these short values is parsed once per run of the same value.
pub(crate) fn open_parquet(
    path: &Path,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<File>, IngestError> {
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    let fmt = |e: parquet::errors::ParquetError| IngestError::Format {
        path: path.to_path_buf(),
        message: format!("not a Parquet file: {e}"),
    };
    let plain = ParquetRecordBatchReaderBuilder::try_new(File::open(path).map_err(io(path))?).map_err(fmt)?;
    let fields: Vec<arrow_schema::FieldRef> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let coded = ["sender_country", "recipient_country", "currency", "channel"].contains(&f.name().as_str());
            let free = ["txn_id", "sender_id", "sender_name", "recipient_id", "recipient_name", "reference"]
                .contains(&f.name().as_str());
            let hint = match f.data_type() {
                DataType::Utf8 if coded || free => Some(DataType::Utf8View),
                _ => None,
            };
            match hint {
                Some(t) => std::sync::Arc::new(f.as_ref().clone().with_data_type(t)),
                None => f.clone(),
            }
        })
        .collect();
    if fields.iter().zip(plain.schema().fields()).all(|(a, b)| a == b) {
        return Ok(plain);
    }
    let hinted = std::sync::Arc::new(Schema::new_with_metadata(fields, plain.schema().metadata().clone()));
    let options = ArrowReaderOptions::new().with_schema(hinted);
    ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).map_err(io(path))?, options).map_err(fmt)
}

/// Read an Arrow IPC file (`.arrow`, `.feather`, `.ipc`) with the same columns and types.
pub fn read_arrow_ipc(path: &Path, o: &ColumnarOptions, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    guard(path, || arrow_ipc_file(path, o, v))
}

fn arrow_ipc_file(path: &Path, o: &ColumnarOptions, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let file = File::open(path).map_err(io(path))?;
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
        .map_err(|e| fmt(format!("not an Arrow IPC file: {e}")))?;
    let schema = reader.schema();
    read_batches(path, &schema, reader.map(|b| b.map_err(|e| e.to_string())), o, None, v)
}

/// The kind of each canonical column, or the refusal naming the column and its type.
fn kinds(path: &Path, schema: &Schema, pos: &[Option<usize>; 13]) -> Result<[Kind; 13], IngestError> {
    let mut kinds = [Kind::Text; 13];
    for (c, p) in pos.iter().enumerate() {
        let Some(i) = p else { continue };
        let t = schema.field(*i).data_type();
        let text = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            || matches!(t, DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8));
        let int = t.is_integer();
        let kind = match (c, t) {
            _ if text => Some(Kind::Text),
            (TIMESTAMP, DataType::Timestamp(_, tz)) => Some(Kind::Time(tz.is_some())),
            (AMOUNT, DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..)) => {
                Some(Kind::Decimal)
            }
            // Wider than 128 bits: read as its exact decimal text.
            (AMOUNT, DataType::Decimal256(..)) => Some(Kind::Text),
            (AMOUNT, _) if int => Some(Kind::Int),
            (AMOUNT, DataType::Float16 | DataType::Float32 | DataType::Float64) => Some(Kind::Float),
            (MERCHANT_CATEGORY, _) if int => Some(Kind::Int),
            _ => None,
        };
        kinds[c] = kind.ok_or_else(|| {
            let supported = match c {
                TIMESTAMP => "text (RFC 3339) or TIMESTAMP (s, ms, µs, ns; with or without a time zone)",
                AMOUNT => "decimal text, DECIMAL, integers or floats",
                MERCHANT_CATEGORY => "text or integers",
                _ => "text (UTF-8, dictionary-encoded or not)",
            };
            IngestError::Format {
                path: path.to_path_buf(),
                message: format!("column `{}` is {t}; supported for it: {supported}", CANONICAL_COLUMNS[c]),
            }
        })?;
    }
    Ok(kinds)
}

/// One batch's column in a shape rows can be read from.
pub(crate) enum Col {
    Text(StringArray),
    /// Seconds; `true` for instants.
    Time(TimestampSecondArray, bool),
    Int(Int64Array),
    Float(Float64Array),
    /// Unscaled values and the scale.
    Decimal(Decimal128Array, i8),
    /// Dictionary-encoded text (an Arrow IPC file's dictionary column): keys and the dictionary.
    Dict(Int32Array, StringArray),
    /// Text as views into the decoded pages (every text column of a Parquet file): no copy
    /// per value.
    View(StringViewArray),
    Absent,
}

impl Col {
    /// The text of row `r` of a text column (`None` if null or not text).
    #[inline]
    pub(crate) fn text(&self, r: usize) -> Option<&str> {
        match self {
            Col::Text(a) if !a.is_null(r) => Some(a.value(r)),
            Col::Dict(k, v) if !k.is_null(r) => Some(v.value(k.value(r) as usize)),
            Col::View(a) if !a.is_null(r) => Some(a.value(r)),
            _ => None,
        }
    }
}

fn to_col(a: &ArrayRef, k: Kind) -> Result<Col, String> {
    use arrow_cast::cast;
    Ok(match k {
        Kind::Text => {
            if let Some(v) = a.as_any().downcast_ref::<StringViewArray>() {
                return Ok(Col::View(v.clone()));
            }
            if let Some(d) = a.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
                if let Some(v) = d.values().as_any().downcast_ref::<StringArray>() {
                    return Ok(Col::Dict(d.keys().clone(), v.clone()));
                }
            }
            let s = cast(a, &DataType::Utf8).map_err(|e| e.to_string())?;
            Col::Text(s.as_any().downcast_ref::<StringArray>().ok_or("not text")?.clone())
        }
        Kind::Time(instant) => {
            // Seconds are what the canonical record keeps; a finer unit is truncated.
            let tz = match a.data_type() {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            let s = cast(a, &DataType::Timestamp(TimeUnit::Second, tz)).map_err(|e| e.to_string())?;
            let ts = s.as_any().downcast_ref::<TimestampSecondArray>().ok_or("not a timestamp")?.clone();
            Col::Time(ts, instant)
        }
        Kind::Int => {
            let s = cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
            Col::Int(s.as_any().downcast_ref::<Int64Array>().ok_or("not an integer")?.clone())
        }
        Kind::Float => {
            let s = cast(a, &DataType::Float64).map_err(|e| e.to_string())?;
            Col::Float(s.as_any().downcast_ref::<Float64Array>().ok_or("not a float")?.clone())
        }
        Kind::Decimal => {
            let scale = match a.data_type() {
                DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal128(_, s) => *s,
                _ => 0,
            };
            let s = cast(a, &DataType::Decimal128(38, scale)).map_err(|e| e.to_string())?;
            Col::Decimal(s.as_any().downcast_ref::<Decimal128Array>().ok_or("not a decimal")?.clone(), scale)
        }
    })
}

/// What a reader needs to turn batches into rows: where each canonical column is, how it
/// is typed, and the offset column.
pub(crate) struct Layout {
    pos: [Option<usize>; 13],
    kinds: [Kind; 13],
    offset_col: Option<usize>,
}

fn layout(path: &Path, schema: &Schema) -> Result<Layout, IngestError> {
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).filter(|n| *n != OFFSET_COLUMN).collect();
    let mut pos = map_columns(path, names.iter().copied())?;
    // `map_columns` saw the names without the offset column: positions back in the schema.
    for p in pos.iter_mut().flatten() {
        *p = schema.index_of(names[*p]).expect("a name of this schema");
    }
    let kinds = kinds(path, schema, &pos)?;
    let offset_col = schema.index_of(OFFSET_COLUMN).ok();
    if let Some(i) = offset_col {
        if !schema.field(i).data_type().is_integer() {
            return Err(fmt(format!(
                "column `{OFFSET_COLUMN}` is {}; supported: integers",
                schema.field(i).data_type()
            )));
        }
    }
    Ok(Layout { pos, kinds, offset_col })
}

/// A batch's columns in readable shape, every row read the fast way where it can be.
pub(crate) fn prepare_batch(
    batch: &RecordBatch,
    l: &Layout,
    o: &ColumnarOptions,
    filter: Option<&dyn Prefilter>,
) -> Result<Prepared, String> {
    let cols = (0..13)
        .map(|c| match l.pos[c] {
            Some(i) => to_col(batch.column(i), l.kinds[c]),
            None => Ok(Col::Absent),
        })
        .collect::<Result<Vec<Col>, String>>()?;
    let offsets = match l.offset_col {
        Some(i) => match to_col(batch.column(i), Kind::Int)? {
            Col::Int(a) => Some(a),
            _ => None,
        },
        None => None,
    };
    let p = Prepared { cols, offsets, coded: Vec::new(), wanted: Vec::new() };
    Ok(crate::columnar::prepare(p, batch.num_rows(), o, filter))
}

fn read_batches(
    path: &Path,
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch, String>>,
    o: &ColumnarOptions,
    filter: Option<&dyn Prefilter>,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let l = layout(path, schema)?;
    let source = path.display().to_string();
    let mut d = Deliver::new(&source, filter.is_some());
    for batch in batches {
        let batch = batch.map_err(|e| fmt(format!("after row {}: {e}", d.row_no)))?;
        let p = prepare_batch(&batch, &l, o, filter).map_err(|e| fmt(format!("after row {}: {e}", d.row_no)))?;
        d.batch(&p, o, v);
    }
    Ok(d.stats)
}

/// Reused text buffers for rows read the explaining way.
#[derive(Default)]
pub(crate) struct RowBufs {
    ts: String,
    amount: String,
    mcc: String,
}

/// A row as canonical text (typed values written out), and a problem found on the way.
pub(crate) fn row_text<'a>(
    cols: &'a [Col],
    offsets: Option<&Int64Array>,
    r: usize,
    o: &ColumnarOptions,
    b: &'a mut RowBufs,
) -> ([&'a str; 13], Option<String>) {
    let mut problem = None;
    let mut typed = [false; 13];
    for (c, col) in cols.iter().enumerate() {
        let buf = match c {
            TIMESTAMP => &mut b.ts,
            MERCHANT_CATEGORY => &mut b.mcc,
            _ => &mut b.amount,
        };
        typed[c] = true;
        match col {
            Col::Time(a, instant) if !a.is_null(r) => {
                let off = offsets.filter(|x| !x.is_null(r)).map(|x| x.value(r));
                match time_text(a.value(r), *instant, off, o) {
                    Ok(t) => *buf = t,
                    Err(e) => problem = Some(format!("timestamp: {e}")),
                }
            }
            Col::Int(a) if !a.is_null(r) => {
                let x = a.value(r);
                *buf =
                    if c == MERCHANT_CATEGORY && (0..=9999).contains(&x) { format!("{x:04}") } else { x.to_string() };
            }
            Col::Float(a) if !a.is_null(r) => {
                let x = a.value(r);
                *buf = if x.is_finite() { format!("{x}") } else { format!("{x} (not a number)") };
            }
            Col::Decimal(a, scale) if !a.is_null(r) => *buf = decimal_text(a.value(r), *scale),
            _ => typed[c] = false,
        }
    }
    let mut f: [&str; 13] = [""; 13];
    for (c, col) in cols.iter().enumerate() {
        f[c] = match col.text(r) {
            Some(s) => s,
            None if typed[c] => match c {
                TIMESTAMP => &b.ts,
                MERCHANT_CATEGORY => &b.mcc,
                _ => &b.amount,
            },
            _ => "",
        };
    }
    (f, problem)
}

/// An unscaled decimal as text: 4500 at scale 2 is `45.00`.
fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        // A negative scale multiplies; one past 128 bits is shown as what it is.
        return match 10i128.checked_pow(scale.unsigned_abs() as u32).and_then(|m| v.checked_mul(m)) {
            Some(x) => x.to_string(),
            None => format!("{v}e{}", -scale),
        };
    }
    let digits = v.unsigned_abs().to_string();
    let s = scale as usize;
    let digits = if digits.len() <= s { format!("{}{digits}", "0".repeat(s + 1 - digits.len())) } else { digits };
    let (int, frac) = digits.split_at(digits.len() - s);
    format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
}

/// A typed timestamp as canonical text: an instant at the sender's offset, or a wall-clock
/// time in the configured zone.
fn time_text(secs: i64, instant: bool, offset_min: Option<i64>, o: &ColumnarOptions) -> Result<String, String> {
    use crate::zones::{instant_of, naive, offset_at, Ambiguous};
    let utc = if instant {
        secs
    } else {
        let local = naive(secs).ok_or("out of range")?;
        // The earlier instant when the time occurs twice: only a skipped time is refused.
        instant_of(o.timezone, local, Ambiguous::Earliest)
            .map_err(|_| format!("{local} does not exist in {} (the clocks went forward)", o.timezone))?
    };
    let off = match offset_min {
        Some(m) if (-18 * 60..=18 * 60).contains(&m) => m as i16,
        Some(m) => return Err(format!("{OFFSET_COLUMN} {m} is not an offset (at most 18 hours)")),
        None => {
            let zone = if instant { o.sender_timezone.unwrap_or(o.timezone) } else { o.timezone };
            (offset_at(zone, utc).ok_or("out of range")? / 60) as i16
        }
    };
    Ok(Timestamp::new(utc, off).to_rfc3339())
}
