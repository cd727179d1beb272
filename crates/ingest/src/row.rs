//! The canonical row parser, shared by every canonical reader (CSV, JSON Lines, Parquet)
//! so that all of them accept and refuse exactly the same rows with the same reasons, and
//! the header mapping they share.

use crate::{IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::{
    parse_decimal_minor, plain_decimal_minor, Channel, CountryCode, CurrencyCode, Money, Timestamp, TxnRow,
    CANONICAL_COLUMNS,
};
use std::path::Path;

/// Positions of the canonical fields in [`CANONICAL_COLUMNS`], for the readers that index a
/// row's 13 values.
pub(crate) mod field {
    pub(crate) const TXN_ID: usize = 0;
    pub(crate) const TIMESTAMP: usize = 1;
    pub(crate) const SENDER_ID: usize = 2;
    pub(crate) const SENDER_NAME: usize = 3;
    pub(crate) const SENDER_COUNTRY: usize = 4;
    pub(crate) const RECIPIENT_ID: usize = 5;
    pub(crate) const RECIPIENT_NAME: usize = 6;
    pub(crate) const RECIPIENT_COUNTRY: usize = 7;
    pub(crate) const AMOUNT: usize = 8;
    pub(crate) const CURRENCY: usize = 9;
    pub(crate) const CHANNEL: usize = 10;
    pub(crate) const REFERENCE: usize = 11;
    pub(crate) const MERCHANT_CATEGORY: usize = 12;
}

/// The canonical fields a row must have, by position.
pub(crate) const REQUIRED: [bool; 13] =
    [true, true, true, false, true, true, false, true, true, true, true, false, false];

/// The longest id (`txn_id`, `sender_id`, `recipient_id`) accepted, in bytes: IBANs are 34
/// characters, ISO 20022 ids 35, UETRs 36; 256 leaves room for any scheme's prefix while
/// keeping one hostile row from costing memory everywhere the id is kept.
pub const MAX_ID_BYTES: usize = 256;
/// The longest name accepted, in bytes (ISO 20022 allows 140 characters).
pub const MAX_NAME_BYTES: usize = 256;
/// The longest reference accepted, in bytes (ISO 20022 unstructured remittance information:
/// 140 characters, repeatable).
pub const MAX_REFERENCE_BYTES: usize = 1024;
/// The byte limit per canonical column (coded columns are bounded by their own parsers).
const MAX_BYTES: [usize; 13] = [
    MAX_ID_BYTES,
    usize::MAX,
    MAX_ID_BYTES,
    MAX_NAME_BYTES,
    usize::MAX,
    MAX_ID_BYTES,
    MAX_NAME_BYTES,
    usize::MAX,
    usize::MAX,
    usize::MAX,
    usize::MAX,
    MAX_REFERENCE_BYTES,
    usize::MAX,
];

/// Refuse a free-text field over its limit (`len(i)`: the byte length of column `i` of
/// [`CANONICAL_COLUMNS`]), naming the field and the limit, never the value.
pub fn check_lengths(len: impl Fn(usize) -> usize) -> Result<(), String> {
    for (i, max) in MAX_BYTES.iter().enumerate() {
        let n = len(i);
        if n > *max {
            return Err(format!("`{}` is {n} bytes long; at most {max} are accepted", CANONICAL_COLUMNS[i]));
        }
    }
    Ok(())
}

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
    /// Event time with the sender's local offset.
    pub timestamp: Timestamp,
    /// Sender's country.
    pub sender_country: CountryCode,
    /// Recipient's country.
    pub recipient_country: CountryCode,
    /// Amount and currency.
    pub amount: Money,
    /// Payment channel.
    pub channel: Channel,
    /// Merchant category (ISO 18245), for card payments.
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
            Some(coded) => {
                check_lengths(|i| f[i].len())?;
                Ok(coded.with_text(f))
            }
            None => self.explain(f),
        }
    }

    /// The coded values of a row in the usual shape, read in one pass over the field bytes
    /// (`field(i)`: column `i` of [`CANONICAL_COLUMNS`], empty = absent); `None` for anything
    /// else, which [`RowParser::parse`] reads with reasons. Whatever this accepts, `parse`
    /// accepts with the same values, unless a free-text field is over its length limit
    /// ([`check_lengths`], which the caller applies: the CSV reader only to records longer
    /// than the shortest limit, so the usual row pays one comparison); it does not check that
    /// the free-text fields are UTF-8.
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
        check_lengths(|i| f[i].len())?;
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
pub(crate) fn merchant_category(b: &[u8]) -> Option<Option<u16>> {
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
pub(crate) fn deliver(
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
            None => unknown.push(i + 1),
        }
    }
    if !unknown.is_empty() {
        // Positions only: a file without a header row would put its first payment's names
        // and ids here, and logs never hold input values.
        tracing::warn!(file = %path.display(), positions = ?unknown, "ignoring columns that are not canonical");
    }
    let missing: Vec<&str> =
        (0..13).filter(|i| REQUIRED[*i] && pos[*i].is_none()).map(|i| CANONICAL_COLUMNS[i]).collect();
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns { path: path.to_path_buf(), columns: missing.join(", ") });
    }
    Ok(pos)
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
