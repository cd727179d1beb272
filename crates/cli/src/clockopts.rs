//! Command-line limits on event time, shared by `scan`, `network` and `serve` so that the
//! batch path and the service refuse the same rows (`osecwatch_ingest::EventClock`).

use anyhow::{bail, Result};
use clap::Args;
use osecwatch_ingest::ClockSettings;

#[derive(Args, Clone, Debug, Default)]
pub struct ClockArgs {
    /// Refuse payments dated more than this many seconds ahead of this machine's clock
    /// [default: 900]
    #[arg(long, value_name = "SECS")]
    pub max_future_skew: Option<i64>,
    /// One payment may move event time forward by at most this many seconds past the latest
    /// payment so far, unless it is recent by the wall clock [default: 604800, 7 days]
    #[arg(long, value_name = "SECS")]
    pub max_advance: Option<i64>,
    /// Refuse payments dated before this instant (RFC 3339) [default: 2000-01-01T00:00:00Z]
    #[arg(long, value_name = "TIME")]
    pub earliest: Option<String>,
}

impl ClockArgs {
    /// These flags where given, else `other`'s (a configuration file's).
    pub fn or(self, other: ClockArgs) -> ClockArgs {
        ClockArgs {
            max_future_skew: self.max_future_skew.or(other.max_future_skew),
            max_advance: self.max_advance.or(other.max_advance),
            earliest: self.earliest.or(other.earliest),
        }
    }

    pub fn settings(&self) -> Result<ClockSettings> {
        let d = ClockSettings::default();
        let skew = self.max_future_skew.unwrap_or(d.max_future_skew);
        let advance = self.max_advance.unwrap_or(d.max_advance);
        if skew < 0 || advance < 0 {
            bail!("--max-future-skew and --max-advance must be 0 or more seconds");
        }
        let earliest_utc = match &self.earliest {
            None => d.earliest_utc,
            Some(t) => {
                osecwatch_model::Timestamp::parse_rfc3339(t)
                    .map_err(|e| {
                        anyhow::anyhow!("--earliest `{t}` (expected RFC 3339, e.g. 2000-01-01T00:00:00Z): {e}")
                    })?
                    .utc
            }
        };
        Ok(ClockSettings { max_future_skew: skew, max_advance: advance, earliest_utc })
    }
}
