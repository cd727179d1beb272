//! Event time that no single payment can hijack.
//!
//! The engine's windows run on event time: a payment's own timestamp. Left unchecked, one
//! payment dated `9999-12-31` would make every customer's history look expired, and in a
//! time-ordered file it would make every row after it "late". [`EventClock`] is the one
//! check `scan` and `serve` both put in front of the engine, so both refuse the same rows:
//!
//! - a payment more than `max_future_skew` ahead of this machine's clock is refused (no
//!   payment comes from the future);
//! - a payment before `earliest` is refused (year 0001 is a data error, not a payment);
//! - a payment more than `max_advance` ahead of the latest accepted event time is refused,
//!   unless it is also recent by the wall clock (live traffic after a quiet spell). This
//!   is what holds when last year's payments are replayed and the wall clock says nothing:
//!   one row far ahead of the others is refused itself, and event time stays where the
//!   stream is.
//!
//! How far *behind* a payment may be is the lateness rule (`OrderGuard`, the reorder
//! window, the service's allowed lateness), measured from the same latest event time.

/// Limits on event time; every field in seconds except `earliest_utc` (a UTC instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSettings {
    /// How far ahead of the wall clock a payment may be dated.
    pub max_future_skew: i64,
    /// How far one payment may advance the latest event time (unless it is recent by the
    /// wall clock).
    pub max_advance: i64,
    /// The earliest event time accepted (UTC seconds).
    pub earliest_utc: i64,
}

/// 2000-01-01T00:00:00Z: no screening engine is fed payments from before it.
pub const DEFAULT_EARLIEST_UTC: i64 = 946_684_800;

impl Default for ClockSettings {
    fn default() -> Self {
        ClockSettings { max_future_skew: 15 * 60, max_advance: 7 * 86_400, earliest_utc: DEFAULT_EARLIEST_UTC }
    }
}

/// The latest accepted event time and the checks against it.
#[derive(Debug, Clone, Default)]
pub struct EventClock {
    settings: ClockSettings,
    highest: Option<i64>,
}

impl EventClock {
    /// A clock with these limits and no event time yet.
    pub fn new(settings: ClockSettings) -> EventClock {
        EventClock { settings, highest: None }
    }

    /// The limits.
    pub fn settings(&self) -> ClockSettings {
        self.settings
    }

    /// The latest accepted event time (UTC seconds), if any payment was accepted.
    pub fn highest(&self) -> Option<i64> {
        self.highest
    }

    /// Accept `utc` (a payment's event time) given the wall clock `wall` (UTC seconds), and
    /// move the latest event time; or say why not, changing nothing.
    #[inline]
    pub fn check(&mut self, utc: i64, wall: i64) -> Result<(), String> {
        self.admissible(utc, wall)?;
        self.observe(utc);
        Ok(())
    }

    /// Whether `utc` may be accepted, without moving anything.
    #[inline]
    pub fn admissible(&self, utc: i64, wall: i64) -> Result<(), String> {
        let s = &self.settings;
        if utc > wall.saturating_add(s.max_future_skew) {
            return Err(future(utc, wall, s.max_future_skew));
        }
        if utc < s.earliest_utc {
            return Err(too_early(utc, s.earliest_utc));
        }
        if let Some(h) = self.highest {
            if utc > h.saturating_add(s.max_advance) && utc < wall.saturating_sub(s.max_advance) {
                return Err(too_far_ahead(utc, h, s.max_advance));
            }
        }
        Ok(())
    }

    /// Move the latest event time to `utc` if it is later (an accepted or logged payment).
    #[inline]
    pub fn observe(&mut self, utc: i64) {
        self.highest = Some(self.highest.map_or(utc, |h| h.max(utc)));
    }

    /// Rows whose times never go back, from `first` to `last`: all of them pass if none can
    /// fail (then the latest time is `last`); false, with nothing changed, if a row might
    /// fail and the rows must be checked one by one.
    #[inline]
    pub fn check_run(&mut self, first: i64, last: i64, wall: i64) -> bool {
        // A span within `max_advance` means no step inside it is larger.
        if last - first > self.settings.max_advance || self.admissible(first, wall).is_err() {
            return false;
        }
        if last > wall.saturating_add(self.settings.max_future_skew) {
            return false;
        }
        self.observe(last);
        true
    }
}

/// The wall clock, in UTC seconds.
pub fn wall_clock_utc() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn rfc3339(utc: i64) -> String {
    osecwatch_model::Timestamp::new(utc, 0).to_rfc3339()
}

#[cold]
fn future(utc: i64, wall: i64, skew: i64) -> String {
    format!(
        "dated {}, more than {skew} s ahead of this machine's clock ({}): a payment cannot come from the future (setting: max future skew)",
        rfc3339(utc),
        rfc3339(wall)
    )
}

#[cold]
fn too_early(utc: i64, earliest: i64) -> String {
    format!("dated {}, before the earliest event time accepted ({})", rfc3339(utc), rfc3339(earliest))
}

#[cold]
fn too_far_ahead(utc: i64, highest: i64, max_advance: i64) -> String {
    format!(
        "dated {}, {} s ahead of the latest payment so far ({}): one payment may move event time forward by at most {max_advance} s (setting: max advance)",
        rfc3339(utc),
        utc - highest,
        rfc3339(highest)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: i64 = 1_795_000_000; // 2026-11
    const Y2025: i64 = 1_735_689_600; // 2025-01-01

    #[test]
    fn the_far_future_and_year_one_are_refused_and_move_nothing() {
        let mut c = EventClock::new(ClockSettings::default());
        let y9999 = osecwatch_model::Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap().utc;
        let y0001 = osecwatch_model::Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap().utc;
        assert!(c.check(y9999, WALL).unwrap_err().contains("future"));
        assert!(c.check(y0001, WALL).unwrap_err().contains("earliest"));
        assert_eq!(c.highest(), None);
        c.check(WALL + 60, WALL).unwrap();
        assert!(c.check(WALL + 16 * 60, WALL).is_err());
        assert_eq!(c.highest(), Some(WALL + 60));
    }

    #[test]
    fn on_replay_one_payment_far_ahead_is_refused_and_the_stream_goes_on() {
        let mut c = EventClock::new(ClockSettings::default());
        for i in 0..100 {
            c.check(Y2025 + i * 3_600, WALL).unwrap();
        }
        let half_year_on = Y2025 + 180 * 86_400;
        assert!(c.check(half_year_on, WALL).unwrap_err().contains("ahead of the latest payment"));
        // The next ordinary payment is not affected, and a quiet week is allowed.
        c.check(Y2025 + 100 * 3_600, WALL).unwrap();
        c.check(Y2025 + 100 * 3_600 + 6 * 86_400, WALL).unwrap();
        // Live traffic after a long quiet spell is recent by the wall clock: accepted.
        c.check(WALL - 30, WALL).unwrap();
        assert_eq!(c.highest(), Some(WALL - 30));
    }

    #[test]
    fn a_run_passes_whole_only_when_no_row_in_it_can_fail() {
        let mut c = EventClock::new(ClockSettings::default());
        assert!(c.check_run(Y2025, Y2025 + 86_400, WALL));
        assert!(!c.check_run(Y2025 + 86_400, Y2025 + 30 * 86_400, WALL), "a span beyond max advance");
        assert!(!c.check_run(Y2025 + 20 * 86_400, Y2025 + 21 * 86_400, WALL), "starts too far ahead");
        assert!(!c.check_run(WALL - 10, WALL + 3_600, WALL), "ends in the future");
        assert_eq!(c.highest(), Some(Y2025 + 86_400));
    }
}
