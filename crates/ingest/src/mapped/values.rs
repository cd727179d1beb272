//! Source values in the bank's notation turned into canonical text: amounts with their
//! separators and sign, local date-times with a time zone, text in a legacy encoding.

pub(crate) use crate::zones::Ambiguous;
use crate::zones::{self, NoInstant};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use osecwatch_model::Timestamp;

/// How amounts are written.
#[derive(Debug, Clone)]
pub(crate) struct AmountRules {
    pub(crate) decimal: char,
    pub(crate) thousands: Option<char>,
    pub(crate) negative_is_outgoing: bool,
}

/// An amount as canonical decimal text, and whether the row is outgoing. `Err` says why the
/// value is not a number under the rules, in words.
pub(crate) fn amount(v: &str, r: &AmountRules, out: &mut String) -> Result<bool, String> {
    out.clear();
    let t = v.trim();
    let (neg, body) = if let Some(b) = t.strip_prefix('-') {
        (true, b)
    } else if let Some(b) = t.strip_suffix('-') {
        // German ledgers often put the sign after the number ("12,50-").
        (true, b)
    } else {
        (false, t.strip_prefix('+').unwrap_or(t))
    };
    let expected = || {
        let th = r.thousands.map_or("no thousands separator".to_string(), |c| format!("thousands `{c}`"));
        format!("`{v}` is not an amount written with decimal `{}` and {th}", r.decimal)
    };
    let mut seen_decimal = false;
    let mut digits_since_group = 0usize;
    let mut groups = false;
    for c in body.chars() {
        if c.is_ascii_digit() {
            out.push(c);
            digits_since_group += 1;
        } else if c == r.decimal && !seen_decimal {
            if groups && digits_since_group != 3 {
                return Err(expected());
            }
            seen_decimal = true;
            out.push('.');
        } else if Some(c) == r.thousands && !seen_decimal && !out.is_empty() {
            if groups && digits_since_group != 3 {
                return Err(expected());
            }
            groups = true;
            digits_since_group = 0;
        } else {
            return Err(expected());
        }
    }
    if out.is_empty() || out == "." || out.ends_with('.') || (groups && !seen_decimal && digits_since_group != 3) {
        return Err(expected());
    }
    if neg && !r.negative_is_outgoing {
        return Err(format!("`{v}` is negative; amounts of outgoing payments are positive in this mapping"));
    }
    Ok(neg || !r.negative_is_outgoing)
}

/// How date-times are read.
#[derive(Debug, Clone)]
pub(crate) struct TimeRules {
    pub(crate) format: Option<String>,
    pub(crate) zone: Tz,
    pub(crate) sender_zone: Tz,
    pub(crate) ambiguous: Ambiguous,
}

/// A source date-time as a canonical timestamp in the sender's local offset.
pub(crate) fn timestamp(v: &str, r: &TimeRules) -> Result<Timestamp, String> {
    let v = v.trim();
    let utc = match &r.format {
        Some(f) if f.contains("%z") || f.contains("%:z") => DateTime::parse_from_str(v, f)
            .map_err(|e| format!("`{v}` does not match the format `{f}` ({e})"))?
            .timestamp(),
        Some(f) => local_instant(naive(v, f)?, r, v)?,
        None => {
            match Timestamp::parse_rfc3339(v) {
                Ok(t) => t.utc,
                Err(_) => {
                    let n = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
                    .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S"))
                    .map_err(|_| {
                        format!("`{v}` is not an RFC 3339 date-time or `YYYY-MM-DD HH:MM:SS`; set `format` in the mapping")
                    })?;
                    local_instant(n, r, v)?
                }
            }
        }
    };
    let offset = zones::offset_at(r.sender_zone, utc).ok_or_else(|| format!("`{v}` is out of range"))?;
    Ok(Timestamp::new(utc, (offset / 60) as i16))
}

/// A date-time, or a date alone (read as local midnight).
fn naive(v: &str, f: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(v, f)
        .or_else(|e| {
            NaiveDate::parse_from_str(v, f).map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists")).map_err(|_| e)
        })
        .map_err(|e| format!("`{v}` does not match the format `{f}` ({e})"))
}

fn local_instant(n: NaiveDateTime, r: &TimeRules, v: &str) -> Result<i64, String> {
    zones::instant_of(r.zone, n, r.ambiguous).map_err(|why| match why {
        NoInstant::Twice => {
            format!("`{v}` occurs twice in {} (the clocks went back); the mapping rejects such times", r.zone)
        }
        NoInstant::Skipped => format!("`{v}` does not exist in {} (the clocks went forward)", r.zone),
    })
}

/// The text encodings a source may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    /// Windows-1252, which German exports use; ISO-8859-1 text reads the same (the two
    /// differ only in 0x80-0x9F, control codes in ISO-8859-1 that exports do not hold).
    Windows1252,
}

/// One field's bytes as text.
pub(crate) fn decode<'a>(b: &'a [u8], e: Encoding) -> Result<std::borrow::Cow<'a, str>, String> {
    match e {
        Encoding::Utf8 => std::str::from_utf8(b)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|_| "the row is not UTF-8 text; set `encoding = \"windows-1252\"` in the mapping".to_string()),
        Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> AmountRules {
        AmountRules { decimal: ',', thousands: Some('.'), negative_is_outgoing: true }
    }

    #[test]
    fn amounts_in_german_notation() {
        let mut s = String::new();
        assert_eq!(amount("-1.234,50", &de(), &mut s), Ok(true));
        assert_eq!(s, "1234.50");
        assert_eq!(amount("12,50-", &de(), &mut s), Ok(true));
        assert_eq!(s, "12.50");
        assert_eq!(amount("+2.345,67", &de(), &mut s), Ok(false));
        assert!(amount("12.5,0", &de(), &mut s).unwrap_err().contains("decimal `,`"));
        assert!(amount("1,2,3", &de(), &mut s).is_err());
        assert!(amount("", &de(), &mut s).is_err());
        let plain = AmountRules { decimal: '.', thousands: None, negative_is_outgoing: false };
        assert_eq!(amount("45.00", &plain, &mut s), Ok(true));
        assert!(amount("-45.00", &plain, &mut s).unwrap_err().contains("negative"));
        assert!(amount("1,000.00", &plain, &mut s).is_err());
    }

    #[test]
    fn local_times_take_the_zone_with_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let r = TimeRules {
            format: Some("%d.%m.%Y %H:%M:%S".into()),
            zone: berlin,
            sender_zone: berlin,
            ambiguous: Ambiguous::Reject,
        };
        assert_eq!(timestamp("01.03.2025 22:14:05", &r).unwrap().to_rfc3339(), "2025-03-01T22:14:05+01:00");
        assert_eq!(timestamp("01.07.2025 22:14:05", &r).unwrap().to_rfc3339(), "2025-07-01T22:14:05+02:00");
        assert!(timestamp("30.03.2025 02:30:00", &r).unwrap_err().contains("went forward"));
        assert!(timestamp("26.10.2025 02:30:00", &r).unwrap_err().contains("twice"));
        let early = TimeRules { ambiguous: Ambiguous::Earliest, ..r.clone() };
        assert_eq!(timestamp("26.10.2025 02:30:00", &early).unwrap().to_rfc3339(), "2025-10-26T02:30:00+02:00");
        assert!(timestamp("2025-03-01 22:14", &r).unwrap_err().contains("format"));
        // An instant in UTC shown at the sender's local offset.
        let utc = TimeRules { format: None, zone: Tz::UTC, sender_zone: berlin, ambiguous: Ambiguous::Reject };
        assert_eq!(timestamp("2025-03-01 21:14:05", &utc).unwrap().to_rfc3339(), "2025-03-01T22:14:05+01:00");
    }

    #[test]
    fn legacy_encodings_decode() {
        assert_eq!(decode(b"\xdcberweisung", Encoding::Windows1252).unwrap(), "Überweisung");
        assert!(decode(b"\xdcberweisung", Encoding::Utf8).unwrap_err().contains("windows-1252"));
    }
}
