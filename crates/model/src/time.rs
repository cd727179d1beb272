//! Event time: a UTC instant plus the sender's local UTC offset.
//!
//! The calendar arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days`,
//! written out here because formatting a timestamp runs once per row on the hot path and a
//! general date library costs several times more there. Tests check it against chrono.

use std::fmt;

/// A UTC instant (seconds since the Unix epoch) with the local offset of the sender.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// The instant, seconds since 1970 UTC.
    pub utc: i64,
    /// Local offset from UTC in minutes (+60 for CET, +480 for Manila).
    pub offset_min: i16,
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not an RFC 3339 date-time with offset.
    #[error("timestamp `{0}` is not RFC 3339 with a UTC offset (e.g. 2025-03-01T22:14:05+01:00)")]
    Syntax(String),
    /// A field out of range (a 30 February, hour 24).
    #[error("timestamp `{0}` has an out-of-range field")]
    Range(String),
}

impl Timestamp {
    /// An instant with the sender's local offset in minutes.
    pub fn new(utc: i64, offset_min: i16) -> Self {
        Timestamp { utc, offset_min }
    }

    /// Seconds since the epoch on the sender's local wall clock.
    pub fn local_secs(&self) -> i64 {
        self.utc + self.offset_min as i64 * 60
    }

    /// Local hour of day, 0-23.
    pub fn local_hour(&self) -> u8 {
        (self.local_secs().rem_euclid(86_400) / 3600) as u8
    }

    /// Write `YYYY-MM-DDTHH:MM:SS+HH:MM` (25 bytes) into `out`.
    pub fn write_rfc3339(&self, out: &mut [u8; 25]) {
        let local = self.local_secs();
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let y = y.clamp(0, 9999) as u32;
        put4(&mut out[0..4], y);
        out[4] = b'-';
        put2(&mut out[5..7], m);
        out[7] = b'-';
        put2(&mut out[8..10], d);
        out[10] = b'T';
        put2(&mut out[11..13], (sod / 3600) as u32);
        out[13] = b':';
        put2(&mut out[14..16], ((sod / 60) % 60) as u32);
        out[16] = b':';
        put2(&mut out[17..19], (sod % 60) as u32);
        let off = self.offset_min as i32;
        out[19] = if off < 0 { b'-' } else { b'+' };
        let a = off.unsigned_abs();
        put2(&mut out[20..22], a / 60);
        out[22] = b':';
        put2(&mut out[23..25], a % 60);
    }

    /// RFC 3339 with the local offset (`2025-01-01T22:30:00+01:00`).
    pub fn to_rfc3339(&self) -> String {
        let mut b = [0u8; 25];
        self.write_rfc3339(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    }

    /// Parse RFC 3339 with an explicit offset (`Z` counts as `+00:00`). Fractional seconds
    /// are accepted and truncated: payment systems send them, features never need them.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let syntax = || TimestampError::Syntax(s.to_string());
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(syntax());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = b.get(r).ok_or_else(syntax)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(syntax());
            }
            Ok(part.iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64))
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(syntax());
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(syntax());
            }
        }
        let offset_min: i64 = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::Range(s.to_string()));
                }
                let v = oh * 60 + om;
                if *sign == b'-' {
                    -v
                } else {
                    v
                }
            }
            _ => return Err(syntax()),
        };
        let dim = days_in_month(y, mo as u32);
        if !(1..=12).contains(&mo) || d < 1 || d > dim as i64 || h > 23 || mi > 59 || se > 60 {
            return Err(TimestampError::Range(s.to_string()));
        }
        // A leap second is folded onto the next second.
        let local = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se;
        Ok(Timestamp { utc: local - offset_min * 60, offset_min: offset_min as i16 })
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn put2(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

fn put4(out: &mut [u8], v: u32) {
    put2(&mut out[0..2], v / 100);
    put2(&mut out[2..4], v % 100);
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset, TimeZone};

    #[test]
    fn formatting_matches_chrono() {
        let offsets = [-300i16, 0, 60, 120, 330, 480, -570];
        let mut utc = -86_400 * 400i64;
        while utc < 4_102_444_800 {
            for &o in &offsets {
                let ts = Timestamp::new(utc, o);
                let tz = FixedOffset::east_opt(o as i32 * 60).unwrap();
                let expect = tz.timestamp_opt(utc, 0).unwrap().format("%Y-%m-%dT%H:%M:%S%:z").to_string();
                assert_eq!(ts.to_rfc3339(), expect);
            }
            utc += 7_919_311; // a prime stride visits many days, hours and seconds
        }
    }

    #[test]
    fn parse_round_trips_and_agrees_with_chrono() {
        for s in ["2025-03-01T22:14:05+01:00", "2024-02-29T00:00:00-05:00", "1999-12-31T23:59:59+08:00"] {
            let ts = Timestamp::parse_rfc3339(s).unwrap();
            assert_eq!(ts.to_rfc3339(), s);
            let c = DateTime::parse_from_rfc3339(s).unwrap();
            assert_eq!(ts.utc, c.timestamp());
        }
        let z = Timestamp::parse_rfc3339("2025-01-01T10:00:00.123Z").unwrap();
        assert_eq!(z.to_rfc3339(), "2025-01-01T10:00:00+00:00");
    }

    #[test]
    fn parse_refuses_bad_input() {
        for s in [
            "",
            "2025-03-01",
            "2025-03-01T22:14:05",
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-03-01T24:00:00Z",
            "2025-03-01T22:14:05+1:00",
            "2025-03-01X22:14:05Z",
            "2025-03-01T22:14:05.Z",
            "２025-03-01T22:14:05Z",
            "2025-03-01T22:14:05+01:00junk",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_err(), "{s:?} should fail");
        }
    }

    #[test]
    fn local_hour_uses_the_offset() {
        let ts = Timestamp::parse_rfc3339("2025-03-01T22:14:05+01:00").unwrap();
        assert_eq!(ts.local_hour(), 22);
        assert_eq!(Timestamp::new(ts.utc, 480).local_hour(), 5);
    }
}
