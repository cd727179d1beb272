//! Readers for the canonical record in CSV, JSON Lines and Parquet.

use crate::{clip, IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::{
    parse_decimal_minor, plain_decimal_minor, Channel, CountryCode, CurrencyCode, Money, Timestamp, TxnRow,
    CANONICAL_COLUMNS,
};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

const REQUIRED: [bool; 13] = [true, true, true, false, true, true, false, true, true, true, true, false, false];

/// Parses the canonical fields of one row (given as text) into a [`TxnRow`].
///
/// Shared by every canonical reader so that CSV, JSON Lines and Parquet accept and refuse
/// exactly the same rows with the same reasons.
///
/// Two passes with one meaning: [`RowParser::quick`] reads a row of the usual shape from its
/// bytes and builds no error; anything it does not take (a refused row, or a valid one of an
/// unusual shape) is read again by the explaining parser, which finds the reason. `quick`
/// only ever calls the same field parsers (their `from_ascii` and plain forms), so a row it
/// accepts gets the values the explaining parser would give it.
#[derive(Default)]
pub struct RowParser {
    // Currency codes repeat on nearly every row; remember the last one parsed.
    last_currency: Option<([u8; 3], CurrencyCode)>,
    /// "YYYY-MM-DDT", "+HH:MM" and the UTC instant of that local midnight.
    last_day: Option<([u8; 11], [u8; 6], i64)>,
    last_offset: i16,
}

/// The values of a row other than its free text, as [`RowParser::quick`] reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coded {
    pub timestamp: Timestamp,
    pub sender_country: CountryCode,
    pub recipient_country: CountryCode,
    pub amount: Money,
    pub channel: Channel,
    pub merchant_category: Option<u16>,
}

impl Coded {
    /// The coded values of a whole row.
    pub fn of(row: &TxnRow<'_>) -> Coded {
        Coded {
            timestamp: row.timestamp,
            sender_country: row.sender_country,
            recipient_country: row.recipient_country,
            amount: row.amount,
            channel: row.channel,
            merchant_category: row.merchant_category,
        }
    }

    /// The whole row, given its text fields in [`CANONICAL_COLUMNS`] order (the coded
    /// positions of `f` are not read).
    pub fn with_text<'a>(&self, f: &[&'a str; 13]) -> TxnRow<'a> {
        TxnRow {
            txn_id: f[0],
            timestamp: self.timestamp,
            sender_id: f[2],
            sender_name: f[3],
            sender_country: self.sender_country,
            recipient_id: f[5],
            recipient_name: f[6],
            recipient_country: self.recipient_country,
            amount: self.amount,
            channel: self.channel,
            reference: f[11],
            merchant_category: self.merchant_category,
        }
    }
}

impl RowParser {
    /// `f` holds the 13 canonical fields in [`CANONICAL_COLUMNS`] order ("" = absent).
    pub fn parse<'a>(&mut self, f: &[&'a str; 13]) -> Result<TxnRow<'a>, String> {
        match self.quick(|i| f[i].as_bytes()) {
            Some(coded) => Ok(coded.with_text(f)),
            None => self.explain(f),
        }
    }

    /// The coded values of a row in the usual shape, read in one pass over the field bytes
    /// (`field(i)`: column `i` of [`CANONICAL_COLUMNS`], empty = absent); `None` for anything
    /// else, which [`RowParser::parse`] reads with reasons. Whatever this accepts, `parse`
    /// accepts with the same values; it does not check that the free-text fields are UTF-8.
    #[inline(always)]
    pub fn quick<'a>(&mut self, field: impl Fn(usize) -> &'a [u8]) -> Option<Coded> {
        // Required free text: a visible first byte is enough to know it is not blank. The
        // coded fields cannot parse when blank.
        let visible = |i: usize| field(i).first().is_some_and(|c| !c.is_ascii_whitespace());
        if !(visible(0) && visible(2) && visible(5)) {
            return None;
        }
        let timestamp = self.timestamp(field(1))?;
        let sender_country = CountryCode::from_ascii(field(4))?;
        let recipient_country = CountryCode::from_ascii(field(7))?;
        let currency = self.currency(field(9))?;
        let minor = plain_decimal_minor(field(8), currency.exponent()).filter(|m| *m > 0)?;
        let channel = Channel::from_ascii(field(10))?;
        let merchant_category = merchant_category(field(12))?;
        let amount = Money::new(minor, currency);
        Some(Coded { timestamp, sender_country, recipient_country, amount, channel, merchant_category })
    }

    /// The full check, in the order the reasons should be given.
    #[cold]
    fn explain<'a>(&mut self, f: &[&'a str; 13]) -> Result<TxnRow<'a>, String> {
        for (i, v) in f.iter().enumerate() {
            if REQUIRED[i] && v.bytes().all(|b| b.is_ascii_whitespace()) {
                return Err(format!("required field `{}` is empty", CANONICAL_COLUMNS[i]));
            }
        }
        // Codes, amounts and timestamps are parsed exactly as given: surrounding spaces
        // make them malformed rather than silently repaired.
        let timestamp = Timestamp::parse_rfc3339(f[1]).map_err(|e| e.to_string())?;
        let sender_country = CountryCode::parse(f[4]).map_err(|e| format!("sender_country: {e}"))?;
        let recipient_country = CountryCode::parse(f[7]).map_err(|e| format!("recipient_country: {e}"))?;
        let currency = CurrencyCode::parse(f[9]).map_err(|e| format!("currency: {e}"))?;
        let minor = parse_decimal_minor(f[8], currency.exponent()).map_err(|e| e.to_string())?;
        if minor <= 0 {
            return Err(format!("amount `{}` must be strictly positive", f[8]));
        }
        let channel = Channel::parse(f[10]).map_err(|e| e.to_string())?;
        let merchant_category = merchant_category(f[12].as_bytes())
            .ok_or_else(|| format!("merchant_category `{}` is not a 4-digit ISO 18245 code", f[12]))?;
        let amount = Money::new(minor, currency);
        Ok(Coded { timestamp, sender_country, recipient_country, amount, channel, merchant_category }.with_text(f))
    }

    /// The currency of the previous row again costs a 3-byte compare.
    #[inline(always)]
    fn currency(&mut self, b: &[u8]) -> Option<CurrencyCode> {
        let key = <[u8; 3]>::try_from(b).ok()?;
        match self.last_currency {
            Some((k, c)) if k == key => Some(c),
            _ => {
                let c = CurrencyCode::parse(std::str::from_utf8(b).ok()?).ok()?;
                self.last_currency = Some((key, c));
                Some(c)
            }
        }
    }

    /// Timestamps of consecutive rows usually share their date and offset; the calendar
    /// part is then reused and only the time of day is read.
    #[inline(always)]
    fn timestamp(&mut self, b: &[u8]) -> Option<Timestamp> {
        if let (Some((prefix, suffix, day_start)), 25) = (&self.last_day, b.len()) {
            if b[..11] == prefix[..] && b[19..] == suffix[..] && b[13] == b':' && b[16] == b':' {
                let d = |i: usize| b[i].wrapping_sub(b'0');
                let digits = [d(11), d(12), d(14), d(15), d(17), d(18)];
                if digits.iter().all(|x| *x < 10) {
                    let (h, m, sec) =
                        (digits[0] * 10 + digits[1], digits[2] * 10 + digits[3], digits[4] * 10 + digits[5]);
                    if h < 24 && m < 60 && sec < 60 {
                        let utc = day_start + h as i64 * 3600 + m as i64 * 60 + sec as i64;
                        return Some(Timestamp::new(utc, self.last_offset));
                    }
                }
            }
        }
        self.timestamp_new_day(b)
    }

    #[cold]
    fn timestamp_new_day(&mut self, b: &[u8]) -> Option<Timestamp> {
        let t = Timestamp::parse_rfc3339(std::str::from_utf8(b).ok()?).ok()?;
        if b.len() == 25 {
            let mut prefix = [0u8; 11];
            prefix.copy_from_slice(&b[..11]);
            let mut suffix = [0u8; 6];
            suffix.copy_from_slice(&b[19..]);
            let sod = t.local_secs().rem_euclid(86_400);
            self.last_day = Some((prefix, suffix, t.utc - sod));
            self.last_offset = t.offset_min;
        }
        Some(t)
    }
}

/// A merchant category: absent (empty) or four digits; `None` for anything else.
#[inline(always)]
fn merchant_category(b: &[u8]) -> Option<Option<u16>> {
    match *b {
        [] => Some(None),
        [a, b, c, d] => {
            let [a, b, c, d] = [a, b, c, d].map(|x| x.wrapping_sub(b'0') as u16);
            if a > 9 || b > 9 || c > 9 || d > 9 {
                return None;
            }
            Some(Some(a * 1000 + b * 100 + c * 10 + d))
        }
        _ => None,
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

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Field values: usual ones first, then unusual but valid and refused ones after `|`
    // (drawn less often, so that most rows get far enough for every check to matter). The
    // timestamps share days and offsets so the parser's day cache is hit and missed.
    const IDS: (&[&str], &[&str]) = (&["TX1", "DE68250091567001444857", "é1"], &["", " ", " TX", "\tX"]);
    const TIMES: (&[&str], &[&str]) = (
        &[
            "2025-01-01T08:30:09+07:00",
            "2025-01-01T23:59:59+07:00",
            "2025-01-01T00:00:00+08:00",
            "2025-01-02T08:30:09+07:00",
            "2025-01-01T08:30:09-03:30",
        ],
        &[
            "2025-01-01T24:00:00+07:00",
            "2025-01-01T08:60:09+07:00",
            "2025-01-01T08:30:60+07:00",
            "2025-01-01T8:30:09+07:00x",
            "2025-02-30T08:30:09+07:00",
            "2025-01-01T08:30:09Z",
            "2025-01-01T08:30:09.1234Z",
            "2025-01-01T08:30:09.123+01:00",
            "2025-01-01 08:30:09+07:00",
            "2025-01-01T08:30:09+24:00",
            "",
        ],
    );
    const COUNTRIES: (&[&str], &[&str]) = (&["PH", "DE", "XK"], &["ph", "QQ", "P", "PHL", "", "P\u{e9}"]);
    const AMOUNTS: (&[&str], &[&str]) = (
        &["45", "45.5", "45.50", "0.01", "1234.56"],
        &[
            "45.505",
            "45.500",
            "0",
            "0.00",
            "-5",
            "1e3",
            " 45",
            "99999999999999",
            "123456789012345.00",
            ".5",
            "5.",
            "007.10",
            "",
        ],
    );
    const CURRENCIES: (&[&str], &[&str]) = (&["EUR", "PHP", "JPY", "KWD"], &["XXX", "eur", "EU", ""]);
    const CHANNELS: (&[&str], &[&str]) =
        (&["bank_transfer", "mto", "wallet", "card", "crypto", "cash", "other"], &["swift", "Card", "mto ", ""]);
    const MCCS: (&[&str], &[&str]) = (&["", "5812", "0000", "9999"], &["581", "58a2", " 581", "58120", "5/12", "5:12"]);
    const TEXT: (&[&str], &[&str]) = (&["", "Jan Lorenz", "Ünal Öztürk"], &[" ", "ref 12"]);

    fn row() -> impl Strategy<Value = [&'static str; 13]> {
        let s = |(usual, odd): (&'static [&'static str], &'static [&'static str])| prop_oneof![6 => prop::sample::select(usual), 1 => prop::sample::select(odd)];
        (
            (s(IDS), s(TIMES), s(IDS), s(TEXT), s(COUNTRIES), s(IDS), s(TEXT)),
            (s(COUNTRIES), s(AMOUNTS), s(CURRENCIES), s(CHANNELS), s(TEXT), s(MCCS)),
        )
            .prop_map(|((a, b, c, d, e, f, g), (h, i, j, k, l, m))| [a, b, c, d, e, f, g, h, i, j, k, l, m])
    }

    proptest! {
        /// One parser reading a sequence of rows (so with its caches warm) gives every row
        /// exactly what a fresh parser's full check gives: the fast path and the caches
        /// never change a value, an acceptance or a reason.
        #[test]
        fn the_fast_path_agrees_with_the_full_check(rows in prop::collection::vec(row(), 1..40)) {
            let mut warm = RowParser::default();
            for f in &rows {
                let fast = warm.parse(f);
                let full = RowParser::default().explain(f);
                prop_assert_eq!(&fast, &full, "row {:?}", f);
            }
        }
    }

    #[test]
    fn the_fast_path_takes_the_usual_row() {
        let f = [
            "TX1",
            "2025-01-01T08:30:09+07:00",
            "S1",
            "Jan Lorenz",
            "DE",
            "R1",
            "",
            "PH",
            "45.50",
            "EUR",
            "mto",
            "",
            "5812",
        ];
        let c = RowParser::default().quick(|i| f[i].as_bytes()).expect("the usual row takes the fast path");
        assert_eq!(c.amount.minor, 4550);
        assert_eq!(c.merchant_category, Some(5812));
        assert_eq!(c.timestamp.utc, 1_735_695_009);
    }
}
