//! Writers for canonical transaction files.

use crate::{Format, FormatError};
use arrow_array::builder::{Decimal128Builder, Int16Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use osecwatch_model::{format_mcc, TxnRow, CANONICAL_COLUMNS};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Something that takes canonical rows and writes them somewhere.
pub trait TxnWriter {
    /// Write one payment.
    fn write(&mut self, row: &TxnRow<'_>) -> Result<(), FormatError>;
    /// Flush everything and close the file. Rows written before an error in `finish` may
    /// be incomplete on disk, which is why callers must check its result.
    fn finish(self: Box<Self>) -> Result<(), FormatError>;
}

/// Create `path` and return a writer for `format`.
pub fn open_writer(path: &Path, format: Format) -> Result<Box<dyn TxnWriter>, FormatError> {
    let file = File::create(path).map_err(|source| FormatError::Io { path: path.to_path_buf(), source })?;
    Ok(match format {
        Format::Csv => Box::new(CsvTxnWriter::new(file, path)?),
        Format::Jsonl => Box::new(JsonlTxnWriter::new(file, path)),
        Format::Parquet => Box::new(ParquetTxnWriter::new(file, path)?),
    })
}

/// Scratch space for the two formatted fields every row needs; reused across rows.
#[derive(Default)]
struct Scratch {
    ts: [u8; 25],
    amount: Vec<u8>,
    mcc: [u8; 4],
}

impl Scratch {
    fn fill(&mut self, row: &TxnRow<'_>) {
        row.timestamp.write_rfc3339(&mut self.ts);
        self.amount.clear();
        row.amount.write_decimal(&mut self.amount);
        if let Some(m) = row.merchant_category {
            format_mcc(m, &mut self.mcc);
        }
    }
}

/// CSV with the canonical header row (RFC 4180: `,` separator, `"` quoting, `\n` rows).
///
/// Rows are encoded by hand rather than through `csv::Writer`: its byte-at-a-time field
/// state machine was over a quarter of the simulator's time, and only the free-text fields
/// (ids, names, reference) can ever need quoting. Tests read the output back with the
/// `csv` crate to prove the encoding is standard.
pub struct CsvTxnWriter<W: Write> {
    out: BufWriter<W>,
    path: PathBuf,
    line: Vec<u8>,
    scratch: Scratch,
}

impl<W: Write> CsvTxnWriter<W> {
    /// A writer to `w` (`path` names it in errors); writes the header row.
    pub fn new(w: W, path: &Path) -> Result<Self, FormatError> {
        let mut out = BufWriter::with_capacity(1 << 20, w);
        let mut header = CANONICAL_COLUMNS.join(",");
        header.push('\n');
        out.write_all(header.as_bytes()).map_err(|source| FormatError::Io { path: path.to_path_buf(), source })?;
        Ok(CsvTxnWriter { out, path: path.to_path_buf(), line: Vec::with_capacity(512), scratch: Scratch::default() })
    }

    /// Finish and hand back the underlying writer (used by tests writing to memory).
    pub fn into_inner(self) -> Result<W, FormatError> {
        let path = self.path;
        self.out.into_inner().map_err(|e| FormatError::Io { path, source: e.into_error() })
    }
}

/// Bytes that force a CSV field into quotes.
const NEEDS_QUOTE: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// Append a CSV field, quoting it only when it contains a separator, quote or line break.
#[inline]
fn csv_field(out: &mut Vec<u8>, s: &[u8]) {
    // No early exit: a branch-free OR over a short field is faster than a search.
    let quote = s.iter().fold(false, |q, &c| q | NEEDS_QUOTE[c as usize]);
    if quote {
        out.push(b'"');
        for &c in s {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

impl<W: Write> TxnWriter for CsvTxnWriter<W> {
    fn write(&mut self, row: &TxnRow<'_>) -> Result<(), FormatError> {
        let s = &mut self.scratch;
        s.fill(row);
        let l = &mut self.line;
        l.clear();
        csv_field(l, row.txn_id.as_bytes());
        l.push(b',');
        l.extend_from_slice(&s.ts);
        l.push(b',');
        csv_field(l, row.sender_id.as_bytes());
        l.push(b',');
        csv_field(l, row.sender_name.as_bytes());
        l.push(b',');
        l.extend_from_slice(&row.sender_country.as_bytes());
        l.push(b',');
        csv_field(l, row.recipient_id.as_bytes());
        l.push(b',');
        csv_field(l, row.recipient_name.as_bytes());
        l.push(b',');
        l.extend_from_slice(&row.recipient_country.as_bytes());
        l.push(b',');
        l.extend_from_slice(&s.amount);
        l.push(b',');
        l.extend_from_slice(row.amount.currency.as_str().as_bytes());
        l.push(b',');
        l.extend_from_slice(row.channel.as_str().as_bytes());
        l.push(b',');
        csv_field(l, row.reference.as_bytes());
        l.push(b',');
        if row.merchant_category.is_some() {
            l.extend_from_slice(&s.mcc);
        }
        l.push(b'\n');
        self.out.write_all(l).map_err(|source| FormatError::Io { path: self.path.clone(), source })
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.flush().map_err(|source| FormatError::Io { path: self.path.clone(), source })
    }
}

/// JSON Lines: one object per row with the canonical keys; absent optional fields are
/// written as `null` so every line has the same keys.
pub struct JsonlTxnWriter<W: Write> {
    out: BufWriter<W>,
    path: PathBuf,
    line: Vec<u8>,
    scratch: Scratch,
}

impl<W: Write> JsonlTxnWriter<W> {
    /// A writer to `w` (`path` names it in errors).
    pub fn new(w: W, path: &Path) -> Self {
        JsonlTxnWriter {
            out: BufWriter::with_capacity(1 << 20, w),
            path: path.to_path_buf(),
            line: Vec::with_capacity(512),
            scratch: Scratch::default(),
        }
    }
}

fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
            // Bytes come from &str, so multi-byte UTF-8 passes through unchanged.
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_opt(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        json_str(out, s);
    }
}

impl<W: Write> TxnWriter for JsonlTxnWriter<W> {
    fn write(&mut self, row: &TxnRow<'_>) -> Result<(), FormatError> {
        let s = &mut self.scratch;
        s.fill(row);
        let l = &mut self.line;
        l.clear();
        l.extend_from_slice(b"{\"txn_id\":");
        json_str(l, row.txn_id.as_bytes());
        l.extend_from_slice(b",\"timestamp\":");
        json_str(l, &s.ts);
        l.extend_from_slice(b",\"sender_id\":");
        json_str(l, row.sender_id.as_bytes());
        l.extend_from_slice(b",\"sender_name\":");
        json_opt(l, row.sender_name.as_bytes());
        l.extend_from_slice(b",\"sender_country\":");
        json_str(l, &row.sender_country.as_bytes());
        l.extend_from_slice(b",\"recipient_id\":");
        json_str(l, row.recipient_id.as_bytes());
        l.extend_from_slice(b",\"recipient_name\":");
        json_opt(l, row.recipient_name.as_bytes());
        l.extend_from_slice(b",\"recipient_country\":");
        json_str(l, &row.recipient_country.as_bytes());
        // The amount is a string so that no JSON reader turns it into a float.
        l.extend_from_slice(b",\"amount\":");
        json_str(l, &s.amount);
        l.extend_from_slice(b",\"currency\":");
        json_str(l, row.amount.currency.as_str().as_bytes());
        l.extend_from_slice(b",\"channel\":");
        json_str(l, row.channel.as_str().as_bytes());
        l.extend_from_slice(b",\"reference\":");
        json_opt(l, row.reference.as_bytes());
        l.extend_from_slice(b",\"merchant_category\":");
        if row.merchant_category.is_some() {
            json_str(l, &s.mcc);
        } else {
            l.extend_from_slice(b"null");
        }
        l.extend_from_slice(b"}\n");
        self.out.write_all(l).map_err(|source| FormatError::Io { path: self.path.clone(), source })
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.flush().map_err(|source| FormatError::Io { path: self.path.clone(), source })
    }
}

/// Rows per Parquet row group: large enough for good compression, small enough that the
/// builders stay a few tens of megabytes.
const PARQUET_BATCH: usize = 65_536;

/// The scale of the `amount` column: three decimals hold every ISO 4217 currency but the
/// few with four (CLF, UYW), which the writer refuses rather than round.
pub const AMOUNT_SCALE: i8 = 3;

/// Parquet typed as data lakes type it: `timestamp` a TIMESTAMP(µs, UTC) with the sender's
/// local offset beside it in `utc_offset_minutes` (a TIMESTAMPTZ keeps only the instant, and
/// the night and payday features need the sender's local time), `amount` a DECIMAL(18, 3),
/// `merchant_category` a SMALLINT, the rest UTF-8 text (optional ones nullable). DuckDB,
/// Spark and pandas read it as it is; osecwatch reads it back to the same records.
pub struct ParquetTxnWriter {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    text: Vec<StringBuilder>,
    ts: TimestampMicrosecondBuilder,
    amount: Decimal128Builder,
    mcc: Int16Builder,
    offset: Int16Builder,
    rows: usize,
    path: PathBuf,
}

/// The Arrow schema of the Parquet files osecwatch writes.
pub fn canonical_schema() -> SchemaRef {
    let optional = ["sender_name", "recipient_name", "reference", "merchant_category"];
    let mut fields: Vec<Field> = CANONICAL_COLUMNS
        .iter()
        .map(|c| {
            let t = match *c {
                "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "amount" => DataType::Decimal128(18, AMOUNT_SCALE),
                "merchant_category" => DataType::Int16,
                _ => DataType::Utf8,
            };
            Field::new(*c, t, optional.contains(c))
        })
        .collect();
    fields.push(Field::new("utc_offset_minutes", DataType::Int16, false));
    Arc::new(Schema::new(fields))
}

/// The text columns, by position in [`CANONICAL_COLUMNS`].
const TEXT: [usize; 10] = [0, 2, 3, 4, 5, 6, 7, 9, 10, 11];

impl ParquetTxnWriter {
    /// A writer to `file` (`path` names it in errors).
    pub fn new(file: File, path: &Path) -> Result<Self, FormatError> {
        let schema = canonical_schema();
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|source| FormatError::Parquet { path: path.to_path_buf(), source })?;
        Ok(ParquetTxnWriter {
            writer,
            schema,
            text: TEXT.iter().map(|_| StringBuilder::new()).collect(),
            ts: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            amount: Decimal128Builder::new()
                .with_precision_and_scale(18, AMOUNT_SCALE)
                .expect("18, 3 is a valid decimal"),
            mcc: Int16Builder::new(),
            offset: Int16Builder::new(),
            rows: 0,
            path: path.to_path_buf(),
        })
    }

    fn flush_batch(&mut self) -> Result<(), FormatError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut text = self.text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(14);
        for c in 0..CANONICAL_COLUMNS.len() {
            arrays.push(match c {
                1 => Arc::new(self.ts.finish()),
                8 => Arc::new(self.amount.finish()),
                12 => Arc::new(self.mcc.finish()),
                _ => text.next().expect("one builder per text column"),
            });
        }
        arrays.push(Arc::new(self.offset.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|source| FormatError::Arrow { path: self.path.clone(), source })?;
        self.writer.write(&batch).map_err(|source| FormatError::Parquet { path: self.path.clone(), source })?;
        self.rows = 0;
        Ok(())
    }
}

impl TxnWriter for ParquetTxnWriter {
    fn write(&mut self, row: &TxnRow<'_>) -> Result<(), FormatError> {
        let exp = row.amount.currency.exponent() as i8;
        if exp > AMOUNT_SCALE {
            let source = arrow_schema::ArrowError::InvalidArgumentError(format!(
                "{} has {exp} decimals; the amount column holds {AMOUNT_SCALE}",
                row.amount.currency
            ));
            return Err(FormatError::Arrow { path: self.path.clone(), source });
        }
        fn opt(v: &str) -> Option<&str> {
            (!v.is_empty()).then_some(v)
        }
        let t = &mut self.text;
        t[0].append_value(row.txn_id);
        t[1].append_value(row.sender_id);
        t[2].append_option(opt(row.sender_name));
        t[3].append_value(row.sender_country.as_str());
        t[4].append_value(row.recipient_id);
        t[5].append_option(opt(row.recipient_name));
        t[6].append_value(row.recipient_country.as_str());
        t[7].append_value(row.amount.currency.as_str());
        t[8].append_value(row.channel.as_str());
        t[9].append_option(opt(row.reference));
        self.ts.append_value(row.timestamp.utc * 1_000_000);
        self.amount.append_value(row.amount.minor as i128 * 10i128.pow((AMOUNT_SCALE - exp) as u32));
        self.mcc.append_option(row.merchant_category.map(|m| m as i16));
        self.offset.append_value(row.timestamp.offset_min);
        self.rows += 1;
        if self.rows >= PARQUET_BATCH {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.flush_batch()?;
        let path = self.path.clone();
        self.writer.close().map_err(|source| FormatError::Parquet { path, source })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction};

    fn hostile() -> Vec<Transaction> {
        let texts = ["plain", "a,b", "say \"hi\"", "line\nbreak", "cr\rlf", " padded ", "Ünïcødé ✓", "", "\t\u{1}ctl"];
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Transaction {
                txn_id: format!("T{i},x"),
                timestamp: Timestamp::new(1_735_700_000 + i as i64, 60),
                sender_id: format!("S\"{i}"),
                sender_name: (!t.is_empty()).then(|| t.to_string()),
                sender_country: CountryCode::parse("DE").unwrap(),
                recipient_id: format!("R{i}"),
                recipient_name: Some(format!("{t}{t}")),
                recipient_country: CountryCode::parse("PH").unwrap(),
                amount: Money::new(
                    4500 + i as i64,
                    CurrencyCode::parse(if i % 2 == 0 { "EUR" } else { "JPY" }).unwrap(),
                ),
                channel: Channel::ALL[i % Channel::ALL.len()],
                reference: (!t.is_empty()).then(|| format!("ref {t}")),
                merchant_category: (i % 3 == 0).then_some(5967 + i as u16),
            })
            .collect()
    }

    #[test]
    fn csv_output_is_standard_csv_for_any_text() {
        let mut w = CsvTxnWriter::new(Vec::new(), Path::new("mem.csv")).unwrap();
        let txns = hostile();
        for t in &txns {
            w.write(&t.as_row()).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CANONICAL_COLUMNS.to_vec());
        let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(recs.len(), txns.len());
        for (rec, t) in recs.iter().zip(&txns) {
            assert_eq!(&rec[0], t.txn_id);
            assert_eq!(&rec[1], t.timestamp.to_rfc3339());
            assert_eq!(&rec[2], t.sender_id);
            assert_eq!(&rec[3], t.sender_name.as_deref().unwrap_or(""));
            assert_eq!(&rec[6], t.recipient_name.as_deref().unwrap_or(""));
            assert_eq!(&rec[8], t.amount.to_decimal_string());
            assert_eq!(&rec[9], t.amount.currency.as_str());
            assert_eq!(&rec[10], t.channel.as_str());
            assert_eq!(&rec[11], t.reference.as_deref().unwrap_or(""));
            assert_eq!(&rec[12], t.merchant_category.map(|m| m.to_string()).unwrap_or_default());
        }
    }

    #[test]
    fn jsonl_output_is_valid_json_with_every_key() {
        let mut w = JsonlTxnWriter::new(Vec::new(), Path::new("mem.jsonl"));
        let txns = hostile();
        for t in &txns {
            w.write(&t.as_row()).unwrap();
        }
        let bytes = w.out.into_inner().map_err(|e| e.into_error()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        for (line, t) in text.lines().zip(&txns) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for c in CANONICAL_COLUMNS {
                assert!(v.get(c).is_some(), "missing key {c}");
            }
            assert_eq!(v["txn_id"], t.txn_id.as_str());
            assert_eq!(v["sender_id"], t.sender_id.as_str());
            // Empty optional text is written as null: absent and empty mean the same.
            match t.recipient_name.as_deref() {
                Some("") | None => assert!(v["recipient_name"].is_null()),
                Some(n) => assert_eq!(v["recipient_name"], n),
            }
            match &t.reference {
                Some(r) => assert_eq!(v["reference"], r.as_str()),
                None => assert!(v["reference"].is_null()),
            }
            assert_eq!(v["amount"], t.amount.to_decimal_string().as_str());
        }
        assert_eq!(text.lines().count(), txns.len());
    }
}
