//! Readers for the canonical record in CSV, JSON Lines and Parquet.

use crate::{clip, IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::{
    parse_decimal_minor, Channel, CountryCode, CurrencyCode, Money, Timestamp, TxnRow, CANONICAL_COLUMNS,
};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

const REQUIRED: [bool; 13] = [true, true, true, false, true, true, false, true, true, true, true, false, false];

/// Parses the canonical fields of one row (given as text) into a [`TxnRow`].
///
/// Shared by every canonical reader so that CSV, JSON Lines and Parquet accept and refuse
/// exactly the same rows with the same reasons.
#[derive(Default)]
pub struct RowParser {
    // Currency codes repeat on nearly every row; remember the last one parsed.
    last_currency: Option<([u8; 3], CurrencyCode)>,
    /// "YYYY-MM-DDT", "+HH:MM" and the UTC instant of that local midnight.
    last_day: Option<([u8; 11], [u8; 6], i64)>,
    last_offset: i16,
}

impl RowParser {
    /// `f` holds the 13 canonical fields in [`CANONICAL_COLUMNS`] order ("" = absent).
    pub fn parse<'a>(&mut self, f: &[&'a str; 13]) -> Result<TxnRow<'a>, String> {
        for (i, v) in f.iter().enumerate() {
            // Most fields start with a visible character: one byte decides.
            let blank = v.as_bytes().first().is_none_or(|b| b.is_ascii_whitespace())
                && v.bytes().all(|b| b.is_ascii_whitespace());
            if REQUIRED[i] && blank {
                return Err(format!("required field `{}` is empty", CANONICAL_COLUMNS[i]));
            }
        }
        // Codes, amounts and timestamps are parsed exactly as given: surrounding spaces
        // make them malformed rather than silently repaired.
        let timestamp = self.timestamp(f[1])?;
        let sender_country = CountryCode::parse(f[4]).map_err(|e| format!("sender_country: {e}"))?;
        let recipient_country = CountryCode::parse(f[7]).map_err(|e| format!("recipient_country: {e}"))?;
        let cur_text = f[9];
        let cur3 = <[u8; 3]>::try_from(cur_text.as_bytes()).ok();
        let currency = match (&self.last_currency, cur3) {
            (Some((t, c)), Some(b)) if *t == b => *c,
            _ => {
                let c = CurrencyCode::parse(cur_text).map_err(|e| format!("currency: {e}"))?;
                self.last_currency = cur3.map(|b| (b, c));
                c
            }
        };
        let minor = parse_decimal_minor(f[8], currency.exponent()).map_err(|e| e.to_string())?;
        if minor <= 0 {
            return Err(format!("amount `{}` must be strictly positive", f[8]));
        }
        let channel = Channel::parse(f[10]).map_err(|e| e.to_string())?;
        let mcc_text = f[12];
        let merchant_category = if mcc_text.is_empty() {
            None
        } else if mcc_text.len() == 4 && mcc_text.bytes().all(|b| b.is_ascii_digit()) {
            mcc_text.parse::<u16>().ok()
        } else {
            return Err(format!("merchant_category `{mcc_text}` is not a 4-digit ISO 18245 code"));
        };
        Ok(TxnRow {
            txn_id: f[0],
            timestamp,
            sender_id: f[2],
            sender_name: f[3],
            sender_country,
            recipient_id: f[5],
            recipient_name: f[6],
            recipient_country,
            amount: Money::new(minor, currency),
            channel,
            reference: f[11],
            merchant_category,
        })
    }

    /// Timestamps of consecutive rows usually share their date and offset; the calendar
    /// part is then reused and only the time of day is parsed.
    fn timestamp(&mut self, s: &str) -> Result<Timestamp, String> {
        let b = s.as_bytes();
        if b.len() == 25 {
            if let Some((prefix, suffix, day_start)) = &self.last_day {
                let (head, tail) = (<[u8; 11]>::try_from(&b[..11]).ok(), <[u8; 6]>::try_from(&b[19..]).ok());
                if head == Some(*prefix) && tail == Some(*suffix) && b[13] == b':' && b[16] == b':' {
                    let d = |i: usize| b[i].wrapping_sub(b'0');
                    let digits = [d(11), d(12), d(14), d(15), d(17), d(18)];
                    if digits.iter().all(|x| *x < 10) {
                        let (h, m, sec) =
                            (digits[0] * 10 + digits[1], digits[2] * 10 + digits[3], digits[4] * 10 + digits[5]);
                        if h < 24 && m < 60 && sec < 60 {
                            let utc = day_start + h as i64 * 3600 + m as i64 * 60 + sec as i64;
                            return Ok(Timestamp::new(utc, self.last_offset));
                        }
                    }
                }
            }
        }
        let t = Timestamp::parse_rfc3339(s).map_err(|e| e.to_string())?;
        if b.len() == 25 {
            let mut prefix = [0u8; 11];
            prefix.copy_from_slice(&b[..11]);
            let mut suffix = [0u8; 6];
            suffix.copy_from_slice(&b[19..]);
            let sod = t.local_secs().rem_euclid(86_400);
            self.last_day = Some((prefix, suffix, t.utc - sod));
            self.last_offset = t.offset_min;
        }
        Ok(t)
    }
}

/// Hand a parsed row to the visitor, or its rejection; keeps the counts.
fn deliver(
    parsed: Result<TxnRow<'_>, String>,
    stats: &mut IngestStats,
    v: &mut dyn Visitor,
    loc: &dyn Fn() -> Location,
    raw: impl FnOnce() -> String,
) {
    match parsed {
        Ok(row) => {
            stats.accepted += 1;
            v.accept(&row, loc);
        }
        Err(reason) => {
            stats.rejected += 1;
            v.reject(Rejection { location: loc(), reason, raw: raw() });
        }
    }
}

/// Map header names to canonical positions; error on missing required columns, warn once
/// on unknown ones.
pub(crate) fn map_columns<'h>(
    path: &Path,
    headers: impl Iterator<Item = &'h str>,
) -> Result<[Option<usize>; 13], IngestError> {
    let mut pos = [None; 13];
    let mut unknown = Vec::new();
    for (i, h) in headers.enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match CANONICAL_COLUMNS.iter().position(|c| *c == h) {
            Some(c) => pos[c] = Some(i),
            None => unknown.push(h.to_string()),
        }
    }
    if !unknown.is_empty() {
        tracing::warn!(file = %path.display(), columns = ?unknown, "ignoring unknown columns");
    }
    let missing: Vec<&str> =
        (0..13).filter(|i| REQUIRED[*i] && pos[*i].is_none()).map(|i| CANONICAL_COLUMNS[i]).collect();
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns { path: path.to_path_buf(), columns: missing.join(", ") });
    }
    Ok(pos)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io { path: path.to_path_buf(), source }
}

/// Read canonical CSV (with a header row); with more than one core, blocks of the file
/// are validated in parallel (see [`crate::read_csv_with`]); rows still reach the visitor on
/// the calling thread, in file order.
pub fn read_csv(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let file = File::open(path).map_err(io(path))?;
    crate::read_csv_with(path, file, crate::CsvOptions::default(), v)
}

/// Read canonical CSV from any reader on the calling thread; `path` names the source.
pub fn read_csv_from<R: std::io::Read + Send>(
    path: &Path,
    r: R,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    crate::read_csv_with(path, r, crate::CsvOptions { workers: 0, ..crate::CsvOptions::default() }, v)
}

/// Read canonical JSON Lines: one object per line with the canonical keys. Values are
/// strings (numbers are accepted for `amount` and `merchant_category`); `null` or a
/// missing key means absent. Blank lines are skipped and not counted.
pub fn read_jsonl(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let file = File::open(path).map_err(io(path))?;
    read_jsonl_from(path, BufReader::with_capacity(1 << 20, file), v)
}

pub fn read_jsonl_from<R: BufRead>(path: &Path, mut r: R, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut parser = RowParser::default();
    let mut buf = Vec::new();
    let mut warned_unknown = false;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = line_no;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        stats.read += 1;
        let loc = || Location { source: source.clone(), position: format!("line {line}") };
        let raw = || clip(String::from_utf8_lossy(&buf).trim_end());
        let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&buf) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => {
                stats.rejected += 1;
                v.reject(Rejection { location: loc(), reason: "line is not a JSON object".into(), raw: raw() });
                continue;
            }
            Err(e) => {
                stats.rejected += 1;
                v.reject(Rejection { location: loc(), reason: format!("invalid JSON: {e}"), raw: raw() });
                continue;
            }
        };
        if !warned_unknown {
            let unknown: Vec<&String> = obj.keys().filter(|k| !CANONICAL_COLUMNS.contains(&k.as_str())).collect();
            if !unknown.is_empty() {
                tracing::warn!(file = %path.display(), keys = ?unknown, "ignoring unknown keys");
                warned_unknown = true;
            }
        }
        let mut numbers: [String; 13] = Default::default();
        let mut problem = None;
        for (i, c) in CANONICAL_COLUMNS.iter().enumerate() {
            match obj.get(*c) {
                None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => {}
                Some(serde_json::Value::Number(n)) if *c == "amount" || *c == "merchant_category" => {
                    numbers[i] = n.to_string();
                }
                Some(other) => problem = Some(format!("field `{c}` must be a string, found {}", kind(other))),
            }
        }
        if let Some(reason) = problem {
            stats.rejected += 1;
            v.reject(Rejection { location: loc(), reason, raw: raw() });
            continue;
        }
        let mut f: [&str; 13] = [""; 13];
        for (i, c) in CANONICAL_COLUMNS.iter().enumerate() {
            f[i] = match obj.get(*c) {
                Some(serde_json::Value::String(s)) => s.as_str(),
                _ => numbers[i].as_str(),
            };
        }
        deliver(parser.parse(&f), &mut stats, v, &loc, raw);
    }
    Ok(stats)
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Read canonical Parquet: the canonical columns as UTF-8 text (as osecwatch writes them).
pub fn read_parquet(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    use arrow_array::{Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fmt = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let file = File::open(path).map_err(io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fmt(format!("not a Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let pos = map_columns(path, schema.fields().iter().map(|f| f.name().as_str()))?;
    for (c, p) in pos.iter().enumerate() {
        if let Some(i) = p {
            if schema.field(*i).data_type() != &arrow_schema::DataType::Utf8 {
                return Err(fmt(format!(
                    "column `{}` is {}, expected UTF-8 text",
                    CANONICAL_COLUMNS[c],
                    schema.field(*i).data_type()
                )));
            }
        }
    }
    let reader = builder.build().map_err(|e| fmt(e.to_string()))?;
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut parser = RowParser::default();
    let mut row_no = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| fmt(format!("after row {row_no}: {e}")))?;
        let cols: Vec<Option<&StringArray>> =
            pos.iter().map(|p| p.and_then(|i| batch.column(i).as_any().downcast_ref::<StringArray>())).collect();
        for r in 0..batch.num_rows() {
            row_no += 1;
            stats.read += 1;
            let mut f: [&str; 13] = [""; 13];
            for (c, col) in cols.iter().enumerate() {
                if let Some(col) = col {
                    if !col.is_null(r) {
                        f[c] = col.value(r);
                    }
                }
            }
            let n = row_no;
            let loc = || Location { source: source.clone(), position: format!("row {n}") };
            deliver(parser.parse(&f), &mut stats, v, &loc, || clip(&f.join(",")));
        }
    }
    Ok(stats)
}
