//! Fixed-point money: an integer count of the currency's minor unit.

use crate::CurrencyCode;

/// An amount in integer minor units (cents for EUR) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// Amount in minor units of the currency (cents for EUR).
    pub minor: i64,
    /// The currency.
    pub currency: CurrencyCode,
}

impl Money {
    /// An amount of `minor` units of `currency`.
    pub fn new(minor: i64, currency: CurrencyCode) -> Self {
        Money { minor, currency }
    }

    /// Append the amount in major units with exactly `exponent` decimals (`45.00`).
    pub fn write_decimal(&self, out: &mut Vec<u8>) {
        format_minor(self.minor, self.currency.exponent(), out)
    }

    /// The amount as a plain decimal (`45.00`), exactly.
    pub fn to_decimal_string(&self) -> String {
        let mut v = Vec::with_capacity(24);
        self.write_decimal(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }
}

/// Why a decimal amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a plain decimal number.
    #[error("amount `{0}` is not a decimal number with `.` as separator")]
    Syntax(String),
    /// More decimals than the currency has: (the text, the currency's exponent).
    #[error("amount `{0}` has more decimals than the currency allows ({1})")]
    TooPrecise(String, u8),
    /// Too large for 64-bit minor units.
    #[error("amount `{0}` is too large")]
    Overflow(String),
}

/// Append `minor` as a decimal in major units with `exponent` decimals.
///
/// Written by hand because it runs once per row on the simulator's and the writers' hot
/// path, where going through `format!` and floats would cost both time and exactness.
pub fn format_minor(minor: i64, exponent: u8, out: &mut Vec<u8>) {
    if minor < 0 {
        out.push(b'-');
    }
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(exponent as u32);
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(abs / scale).as_bytes());
    if exponent > 0 {
        out.push(b'.');
        let frac = abs % scale;
        let digits = b.format(frac).as_bytes();
        for _ in digits.len()..exponent as usize {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    }
}

/// Parse a decimal in major units (`45`, `45.5`, `45.50`) into minor units.
///
/// Refuses signs other than a leading `-`, exponents, thousands separators and more
/// decimals than the currency has: such input is quarantined, never rounded.
#[inline]
pub fn parse_decimal_minor(s: &str, exponent: u8) -> Result<i64, MoneyError> {
    match plain_decimal_minor(s.as_bytes(), exponent) {
        Some(v) => Ok(v),
        None => parse_decimal_general(s, exponent),
    }
}

/// [`parse_decimal_minor`] for every shape the one-pass path leaves: signs, errors, long
/// or over-precise amounts.
#[cold]
fn parse_decimal_general(s: &str, exponent: u8) -> Result<i64, MoneyError> {
    let err = || MoneyError::Syntax(s.to_string());
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    if body.contains('.') && frac.is_empty() {
        return Err(err());
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    if frac.len() > exponent as usize {
        // Trailing zeros beyond the exponent carry no value; anything else would be lost.
        if frac[exponent as usize..].bytes().any(|c| c != b'0') {
            return Err(MoneyError::TooPrecise(s.to_string(), exponent));
        }
    }
    let overflow = || MoneyError::Overflow(s.to_string());
    let mut v: i64 = 0;
    for c in int.bytes() {
        v = v.checked_mul(10).and_then(|v| v.checked_add((c - b'0') as i64)).ok_or_else(overflow)?;
    }
    let fb = frac.as_bytes();
    for i in 0..exponent as usize {
        let d = fb.get(i).map(|c| (c - b'0') as i64).unwrap_or(0);
        v = v.checked_mul(10).and_then(|v| v.checked_add(d)).ok_or_else(overflow)?;
    }
    Ok(if neg { -v } else { v })
}

/// The common shape, `digits[.digits]` with no more fraction digits than the currency has,
/// in one pass; `None` for anything else (signs, errors, long or over-precise amounts), for
/// which [`parse_decimal_minor`] gives the value or the error.
#[inline(always)]
pub fn plain_decimal_minor(b: &[u8], exponent: u8) -> Option<i64> {
    // 14 characters keep the value below 10^14 * 10^exponent, far from i64 overflow.
    if b.is_empty() || b.len() > 14 || exponent > 4 {
        return None;
    }
    let mut v: i64 = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut frac = 0usize;
    if i < b.len() {
        if b[i] != b'.' || i + 1 == b.len() {
            return None;
        }
        for c in &b[i + 1..] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        frac = b.len() - i - 1;
    }
    if frac > exponent as usize {
        return None;
    }
    Some(v * 10i64.pow((exponent as usize - frac) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(m: i64, e: u8) -> String {
        let mut v = Vec::new();
        format_minor(m, e, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_minor_units() {
        assert_eq!(fmt(4500, 2), "45.00");
        assert_eq!(fmt(5, 2), "0.05");
        assert_eq!(fmt(123456, 2), "1234.56");
        assert_eq!(fmt(-250, 2), "-2.50");
        assert_eq!(fmt(1500, 0), "1500");
        assert_eq!(fmt(1, 3), "0.001");
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_decimal_minor("45.00", 2), Ok(4500));
        assert_eq!(parse_decimal_minor("45", 2), Ok(4500));
        assert_eq!(parse_decimal_minor("45.5", 2), Ok(4550));
        assert_eq!(parse_decimal_minor("0.07", 2), Ok(7));
        assert_eq!(parse_decimal_minor("12.300", 2), Ok(1230));
        assert_eq!(parse_decimal_minor("1500", 0), Ok(1500));
        assert!(matches!(parse_decimal_minor("12.345", 2), Err(MoneyError::TooPrecise(..))));
        for bad in ["", ".", "1.", ".5", "1,5", "1e3", "+4", "4 5", "abc", "--1"] {
            assert!(parse_decimal_minor(bad, 2).is_err(), "{bad:?} should fail");
        }
        assert!(matches!(parse_decimal_minor("99999999999999999999", 2), Err(MoneyError::Overflow(_))));
    }

    #[test]
    fn format_and_parse_round_trip() {
        for m in [0i64, 1, 99, 100, 4599, 123_456_789] {
            assert_eq!(parse_decimal_minor(&fmt(m, 2), 2), Ok(m));
        }
    }
}
