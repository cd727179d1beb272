//! Time zones for inputs that carry wall-clock times or instants without the sender's
//! offset (bank exports, typed Parquet): the one definition of a zone's offset at an
//! instant and of the instant a wall-clock time names, and a cache of both by hour.

use chrono::{LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// An IANA zone by name; the error names `what` (a flag or a mapping setting) and the value.
pub fn parse_zone(name: &str, what: &str) -> Result<Tz, String> {
    name.parse().map_err(|_| format!("{what} `{name}` is not an IANA time zone (Europe/Berlin)"))
}

/// What a local time that occurs twice (the autumn DST change) becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ambiguous {
    Earliest,
    Latest,
    Reject,
}

/// Why a wall-clock time names no single instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoInstant {
    /// It occurs twice and the policy rejects such times.
    Twice,
    /// The clocks skipped it (spring forward).
    Skipped,
}

/// The zone's offset from UTC (seconds) at an instant.
pub(crate) fn offset_at(tz: Tz, utc: i64) -> Option<i32> {
    let t = chrono::DateTime::from_timestamp(utc, 0)?.naive_utc();
    Some(tz.offset_from_utc_datetime(&t).fix().local_minus_utc())
}

/// The instant (seconds since 1970 UTC) a wall-clock time names in the zone.
pub(crate) fn instant_of(tz: Tz, local: NaiveDateTime, ambiguous: Ambiguous) -> Result<i64, NoInstant> {
    match (tz.from_local_datetime(&local), ambiguous) {
        (LocalResult::Single(t), _) => Ok(t.timestamp()),
        (LocalResult::Ambiguous(a, _), Ambiguous::Earliest) => Ok(a.timestamp()),
        (LocalResult::Ambiguous(_, b), Ambiguous::Latest) => Ok(b.timestamp()),
        (LocalResult::Ambiguous(..), Ambiguous::Reject) => Err(NoInstant::Twice),
        (LocalResult::None, _) => Err(NoInstant::Skipped),
    }
}

/// Wall-clock seconds (a local time written as if it were UTC) as a date-time.
pub(crate) fn naive(local_secs: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp(local_secs, 0).map(|t| t.naive_utc())
}

/// [`offset_at`] and the offset of a wall-clock time, looked up once per hour of data:
/// zones change offset on the hour, so rows in the same hour share the answer.
#[derive(Default)]
pub(crate) struct ZoneCache {
    hour: Option<i64>,
    offset: Option<i32>,
    local_hour: Option<i64>,
    local_offset: Option<i32>,
}

impl ZoneCache {
    /// [`offset_at`], cached.
    pub(crate) fn at_instant(&mut self, tz: Tz, utc: i64) -> Option<i32> {
        let h = utc.div_euclid(3600);
        if self.hour != Some(h) {
            self.offset = offset_at(tz, h * 3600);
            self.hour = Some(h);
        }
        self.offset
    }

    /// The offset of a wall-clock time in the zone, by [`instant_of`] with the earlier
    /// instant when it occurs twice; `None` when the clocks skipped it.
    pub(crate) fn at_local(&mut self, tz: Tz, local: i64) -> Option<i32> {
        let h = local.div_euclid(3600);
        if self.local_hour != Some(h) {
            let start = h * 3600;
            self.local_offset =
                naive(start).and_then(|n| instant_of(tz, n, Ambiguous::Earliest).ok()).map(|utc| (start - utc) as i32);
            self.local_hour = Some(h);
        }
        self.local_offset
    }
}
