//! Calendar of the simulated period, local-time conversion, FX path and seeded RNG streams.

use chrono::{Offset, TimeZone};
use osecwatch_model::{civil_from_days, days_from_civil};
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Poisson, StandardNormal};
use rand_pcg::Pcg64Mcg;

pub type Rng = Pcg64Mcg;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent, reproducible RNG stream for (seed, purpose, index).
///
/// Every process gets its own stream, so the numbers one customer draws never depend on
/// how many others exist or in which order they run: the basis of byte-identical output.
pub fn rng_for(seed: u64, purpose: u64, index: u64) -> Rng {
    let hi = splitmix64(seed ^ splitmix64(purpose));
    let lo = splitmix64(index ^ hi.rotate_left(17));
    Pcg64Mcg::new((((hi as u128) << 64) | lo as u128) | 1)
}

/// Log-normal draw around `median` (the distribution's median; sigma of its log).
pub fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    LogNormal::new(median.max(0.01).ln(), sigma.max(1e-9)).map(|d| d.sample(rng)).unwrap_or(median)
}

/// Poisson count with the given mean (0 for a mean of 0 or less).
pub fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map(|d| d.sample(rng) as u32).unwrap_or(0)
}

/// Exponential waiting time for an event rate.
pub fn exp_gap(rng: &mut Rng, rate: f64) -> f64 {
    Exp::new(rate.max(1e-9)).map(|d| d.sample(rng)).unwrap_or(1e9)
}

/// A per-customer rate around `mean` (gamma, shape 2): habits differ between people.
pub fn gamma_rate(rng: &mut Rng, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    Gamma::new(2.0, mean / 2.0).map(|d| d.sample(rng)).unwrap_or(mean)
}

/// Minor units (cents) of an amount in major units, at least one.
pub fn cents(major: f64) -> i64 {
    (major * 100.0).round().max(1.0) as i64
}

/// A keyed 64-bit mix used to derive ids that reveal nothing about creation order.
pub fn mix64(key: u64, x: u64) -> u64 {
    splitmix64(splitmix64(key) ^ x)
}

/// Hourly UTC-offset table of one time zone over the simulated period (plus margins).
///
/// Looking the offset up in a table keeps chrono-tz out of the per-event path.
pub struct TzTable {
    first_hour: i64,
    offsets: Vec<i16>,
}

impl TzTable {
    pub fn new(tz: chrono_tz::Tz, from_utc: i64, to_utc: i64) -> TzTable {
        let first_hour = from_utc.div_euclid(3600);
        let last_hour = to_utc.div_euclid(3600) + 1;
        let offsets = (first_hour..=last_hour)
            .map(|h| {
                let dt = chrono::DateTime::from_timestamp(h * 3600, 0).unwrap_or_default().naive_utc();
                (tz.offset_from_utc_datetime(&dt).fix().local_minus_utc() / 60) as i16
            })
            .collect();
        TzTable { first_hour, offsets }
    }

    pub fn offset_at_utc(&self, utc: i64) -> i16 {
        let i = (utc.div_euclid(3600) - self.first_hour).clamp(0, self.offsets.len() as i64 - 1);
        self.offsets[i as usize]
    }

    /// Convert a local wall-clock second to (UTC, offset). In the autumn overlap the
    /// earlier offset wins; a time in the spring gap moves forward by the gap.
    pub fn local_to_utc(&self, local: i64) -> (i64, i16) {
        let o1 = self.offset_at_utc(local - 14 * 3600);
        let utc = local - o1 as i64 * 60;
        let o2 = self.offset_at_utc(utc);
        if o2 == o1 {
            (utc, o1)
        } else {
            let utc2 = local - o2 as i64 * 60;
            if self.offset_at_utc(utc2) == o2 {
                (utc2, o2)
            } else {
                (utc, o1)
            }
        }
    }
}

/// The simulated period in local days, with month boundaries.
pub struct Calendar {
    /// Local day number (days since 1970-01-01) of the first day.
    pub first_day: i64,
    pub n_days: u32,
    /// Day index (relative to `first_day`) at which each month starts; one extra entry
    /// marks the end of the period.
    pub month_starts: Vec<u32>,
    /// Calendar month (1-12) of each simulated month.
    pub month_numbers: Vec<u32>,
}

impl Calendar {
    pub fn new(year: i32, month: u32, day: u32, months: u32) -> Calendar {
        let first_day = days_from_civil(year as i64, month, day);
        let mut month_starts = Vec::with_capacity(months as usize + 1);
        let mut month_numbers = Vec::with_capacity(months as usize);
        let (mut y, mut m) = (year as i64, month);
        for i in 0..=months {
            // Months after the first start on the 1st; the first starts on `day`.
            let d = if i == 0 { day } else { 1 };
            month_starts.push((days_from_civil(y, m, d) - first_day) as u32);
            if i < months {
                month_numbers.push(m);
            }
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
        let n_days = *month_starts.last().unwrap_or(&0);
        Calendar { first_day, n_days, month_starts, month_numbers }
    }

    pub fn months(&self) -> usize {
        self.month_numbers.len()
    }

    /// 0 = Monday ... 6 = Sunday.
    pub fn weekday(&self, day: i64) -> u32 {
        (self.first_day + day + 3).rem_euclid(7) as u32
    }

    pub fn is_weekend(&self, day: i64) -> bool {
        self.weekday(day) >= 5
    }

    /// Day of month (1-31) of a day index.
    pub fn day_of_month(&self, day: i64) -> u32 {
        civil_from_days(self.first_day + day).2
    }

    /// Local wall-clock seconds at the start of day index `day`.
    pub fn local_secs(&self, day: i64) -> i64 {
        (self.first_day + day) * 86_400
    }
}

/// Daily PHP-per-base-currency rate: a seeded geometric random walk.
pub fn fx_path(seed: u64, start: f64, vol: f64, days: u32) -> Vec<f64> {
    let mut rng = rng_for(seed, 0xF0F0, 0);
    let mut rate = start;
    (0..days.max(1))
        .map(|_| {
            let r = rate;
            let z: f64 = StandardNormal.sample(&mut rng);
            rate *= (vol * z).exp();
            // Keep the walk within a plausible band around the start.
            rate = rate.clamp(start * 0.8, start * 1.25);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_dst_is_applied() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let t = TzTable::new(tz, 1_735_689_600, 1_767_225_600); // 2025
                                                                // 2025-01-15 12:00 local = 11:00 UTC (+60); 2025-07-15 12:00 local = 10:00 UTC (+120)
        let jan = days_from_civil(2025, 1, 15) * 86_400 + 12 * 3600;
        let jul = days_from_civil(2025, 7, 15) * 86_400 + 12 * 3600;
        assert_eq!(t.local_to_utc(jan), (jan - 3600, 60));
        assert_eq!(t.local_to_utc(jul), (jul - 7200, 120));
    }

    #[test]
    fn calendar_months() {
        let c = Calendar::new(2025, 1, 1, 12);
        assert_eq!(c.n_days, 365);
        assert_eq!((c.month_starts[1 + 1] - c.month_starts[1]), 28);
        assert_eq!(c.weekday(0), 2); // 2025-01-01 was a Wednesday
        assert_eq!(c.day_of_month(31), 1);
    }

    #[test]
    fn rng_streams_are_independent_and_reproducible() {
        use rand::Rng as _;
        let a: u64 = rng_for(1, 2, 3).random();
        let b: u64 = rng_for(1, 2, 3).random();
        let c: u64 = rng_for(1, 2, 4).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
