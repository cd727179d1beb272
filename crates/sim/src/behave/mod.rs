//! Behaviour processes: one per habit of a customer (card spending, rent, family
//! remittances, buying abuse...). Each owns its RNG stream and produces its events one
//! simulated month at a time, so the generator never holds more than a month of payments.
//!
//! One file per behaviour, as mini-redis has one file per command: each defines the
//! behaviour's per-customer parameters and its `gen_month`; [`Behaviour`] names them all
//! and delegates.

mod card;
mod community;
mod family;
mod friends;
mod merchant;
mod osec;
mod partner;
mod rent;
mod romance;
mod sextortion;
mod sponsor;
mod subscriptions;
mod tips;
mod trips;

pub use card::Card;
pub use community::Community;
pub use family::Family;
pub use friends::Friends;
pub use merchant::Merchant;
pub use osec::Osec;
pub use partner::Partner;
pub use rent::Rent;
pub use romance::Romance;
pub use sextortion::Sextortion;
pub use sponsor::Sponsor;
pub use subscriptions::Subscriptions;
pub use tips::Tips;
pub use trips::Trips;

use crate::cal::{cents, exp_gap, lognormal, poisson, Rng};
use crate::shared::{pick_channel, pick_ref, PoolId, Shared};
use osecwatch_model::{Channel, CountryCode};
use rand::seq::IndexedRandom;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

/// One generated payment before it gets its id. Sorting key: (`utc`, `proc_`, `seq`),
/// unique, so the output order is fully determined.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub utc: i64,
    pub proc_: u32,
    pub seq: u32,
    pub customer: u32,
    pub recipient: u32,
    pub amount: i64,
    pub reference: u32,
    pub offset_min: i16,
    pub mcc: u16,
    pub channel: Channel,
    pub osec: bool,
}

/// A time-limited relationship with a payee (a facilitator, a performer).
#[derive(Debug, Clone)]
pub struct Link {
    pub recipient: u32,
    /// Days relative to the first day of the period (negative: before it).
    pub start: f64,
    pub end: f64,
    pub weight: f64,
}

#[derive(Debug, Clone)]
pub struct Trip {
    pub country: CountryCode,
    pub start: u32,
    pub len: u32,
    pub friends: Vec<u32>,
    pub airline: u32,
}

/// What a process does: one behaviour, with the parameters that vary per customer (shared
/// ones are read from the scenario in [`Shared`]).
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// See [`Card`].
    Card(Card),
    /// See [`Rent`].
    Rent(Rent),
    /// See [`Friends`].
    Friends(Friends),
    /// See [`Subscriptions`].
    Subscriptions(Subscriptions),
    /// See [`Merchant`].
    Merchant(Merchant),
    /// See [`Family`].
    Family(Family),
    /// See [`Partner`].
    Partner(Partner),
    /// See [`Tips`].
    Tips(Tips),
    /// See [`Romance`].
    Romance(Romance),
    /// See [`Sponsor`].
    Sponsor(Sponsor),
    /// See [`Trips`].
    Trips(Trips),
    /// See [`Sextortion`].
    Sextortion(Sextortion),
    /// See [`Osec`].
    Osec(Osec),
    /// See [`Community`].
    Community(Community),
}

impl Behaviour {
    fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        match self {
            Behaviour::Card(b) => b.gen_month(rng, m, out),
            Behaviour::Rent(b) => b.gen_month(rng, m, out),
            Behaviour::Friends(b) => b.gen_month(rng, m, out),
            Behaviour::Subscriptions(b) => b.gen_month(rng, m, out),
            Behaviour::Merchant(b) => b.gen_month(rng, m, out),
            Behaviour::Family(b) => b.gen_month(rng, m, out),
            Behaviour::Partner(b) => b.gen_month(rng, m, out),
            Behaviour::Tips(b) => b.gen_month(rng, m, out),
            Behaviour::Romance(b) => b.gen_month(rng, m, out),
            Behaviour::Sponsor(b) => b.gen_month(rng, m, out),
            Behaviour::Trips(b) => b.gen_month(rng, m, out),
            Behaviour::Sextortion(b) => b.gen_month(rng, m, out),
            Behaviour::Osec(b) => b.gen_month(rng, m, out),
            Behaviour::Community(b) => b.gen_month(rng, m, out),
        }
    }
}

/// One habit of one customer: its behaviour, its own RNG stream, and a counter that orders
/// its events.
pub struct Process {
    /// The customer whose payments these are.
    pub customer: u32,
    rng: Rng,
    seq: u32,
    behaviour: Behaviour,
}

impl Process {
    /// A process for `customer` drawing from `rng`.
    pub fn new(customer: u32, rng: Rng, behaviour: Behaviour) -> Process {
        Process { customer, rng, seq: 0, behaviour }
    }

    /// Append this process's events of simulated month `m` to `buf` (unsorted); `idx` is the
    /// process's number, the second sort key.
    pub fn gen_month(&mut self, idx: u32, m: usize, sh: &Shared, buf: &mut Vec<Event>) {
        let (start, end) = (sh.cal.month_starts[m], sh.cal.month_starts[m + 1]);
        let month =
            Month { sh, index: m, start, end, len: (end - start) as f64, december: sh.cal.month_numbers[m] == 12 };
        let mut out = MonthSink {
            sh,
            proc_: idx,
            customer: self.customer,
            seq: &mut self.seq,
            buf,
            start_utc: sh.period_utc.0,
            end_utc: sh.period_utc.1,
        };
        self.behaviour.gen_month(&mut self.rng, &month, &mut out);
    }
}

/// The simulated month a process generates: days `[start, end)` of the period.
#[derive(Clone, Copy)]
pub(crate) struct Month<'a> {
    pub(crate) sh: &'a Shared,
    /// The month's number in the period (0 = the first).
    pub(crate) index: usize,
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// Days in the month.
    pub(crate) len: f64,
    pub(crate) december: bool,
}

impl Month<'_> {
    /// A day of the month, uniformly.
    pub(crate) fn random_day(&self, rng: &mut Rng) -> i64 {
        self.start as i64 + rng.random_range(0..(self.end - self.start).max(1)) as i64
    }

    /// The day of this month whose day of month is `dom` (or the month's last day).
    pub(crate) fn day_of_month(&self, dom: u32) -> i64 {
        let first_dom = self.sh.cal.day_of_month(self.start as i64);
        let d = self.start as i64 + dom as i64 - first_dom as i64;
        d.clamp(self.start as i64, self.end as i64 - 1)
    }
}

/// One payment a behaviour makes: on a day of the period at a local time of day.
#[derive(Clone, Copy)]
pub(crate) struct Payment {
    /// Day of the period.
    pub(crate) day: i64,
    /// Seconds into the local day (may pass midnight).
    pub(crate) tod: i64,
    /// Time zone table of the place it is made (0: the institution's).
    pub(crate) tz: u8,
    pub(crate) recipient: u32,
    /// Minor units of the base currency.
    pub(crate) amount: i64,
    pub(crate) channel: Channel,
    /// Merchant category; 0 for transfers.
    pub(crate) mcc: u16,
    /// Interned reference; 0 for none.
    pub(crate) reference: u32,
    /// Ground truth: a payment for abuse.
    pub(crate) osec: bool,
}

impl Default for Payment {
    fn default() -> Self {
        Payment {
            day: 0,
            tod: 0,
            tz: 0,
            recipient: 0,
            amount: 0,
            channel: Channel::BankTransfer,
            mcc: 0,
            reference: 0,
            osec: false,
        }
    }
}

/// Collects one process's events for a month, dropping any that fall outside the period.
pub(crate) struct MonthSink<'a> {
    sh: &'a Shared,
    proc_: u32,
    customer: u32,
    seq: &'a mut u32,
    buf: &'a mut Vec<Event>,
    /// The period in UTC: events abroad can fall outside it even on an in-period local day.
    start_utc: i64,
    end_utc: i64,
}

impl MonthSink<'_> {
    pub(crate) fn push(&mut self, p: Payment) {
        if p.day < 0 {
            return;
        }
        let local = self.sh.cal.local_secs(p.day) + p.tod;
        let (utc, offset_min) = self.sh.tz[p.tz as usize].local_to_utc(local);
        if utc < self.start_utc || utc >= self.end_utc {
            return;
        }
        *self.seq += 1;
        self.buf.push(Event {
            utc,
            proc_: self.proc_,
            seq: *self.seq,
            customer: self.customer,
            recipient: p.recipient,
            amount: p.amount,
            reference: p.reference,
            offset_min,
            mcc: p.mcc,
            channel: p.channel,
            osec: p.osec,
        });
    }
}

const HOUR: i64 = 3600;

/// Seconds into the local day, by profile. Night runs 19:00-02:00 (§3.7), so a night
/// time may fall after midnight, on the next day.
pub(crate) fn tod_day(rng: &mut Rng) -> i64 {
    8 * HOUR + rng.random_range(0..11 * HOUR)
}
pub(crate) fn tod_night(rng: &mut Rng) -> i64 {
    19 * HOUR + rng.random_range(0..7 * HOUR)
}
pub(crate) fn tod_mix(rng: &mut Rng, night_share: f64) -> i64 {
    if rng.random::<f64>() < night_share {
        tod_night(rng)
    } else {
        tod_day(rng)
    }
}
pub(crate) fn tod_card(rng: &mut Rng) -> i64 {
    let x: f64 = rng.random();
    let base = if x < 0.1 {
        7
    } else if x < 0.8 {
        10
    } else {
        19
    };
    let span = if base == 10 { 9 } else { 3 };
    base * HOUR + rng.random_range(0..span * HOUR)
}
pub(crate) fn tod_standing(rng: &mut Rng) -> i64 {
    5 * HOUR + rng.random_range(0..2 * HOUR)
}

pub(crate) fn round_to(x: f64, step: f64) -> i64 {
    cents(((x / step).round() * step).max(step))
}

/// A reference for a family payment: none, a family-only one or a remittance one.
pub(crate) fn family_ref(rng: &mut Rng, sh: &Shared) -> u32 {
    let x: f64 = rng.random();
    if x < 0.35 {
        0
    } else if x < 0.7 {
        pick_ref(rng, &sh.ref_sets.family_only)
    } else {
        pick_ref(rng, &sh.ref_sets.remittance)
    }
}

#[cfg(test)]
mod tests {
    use super::osec::osec_amount;
    use crate::cal::rng_for;
    use crate::scenario::Scenario;

    fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    }

    #[test]
    fn osec_amounts_follow_the_lognormal_prior() {
        let mut b = Scenario::load("default").unwrap().buyers;
        b.round_php_share = 0.0;
        b.round_base_share = 0.0;
        let mut rng = rng_for(1, 2, 3);
        let v: Vec<f64> =
            (0..40_000).map(|_| osec_amount(&mut rng, &b, 1.0, false, true, 63.0) as f64 / 100.0).collect();
        let (median, p95) = (quantile(v.clone(), 0.5), quantile(v, 0.95));
        assert!((median / b.amount_median - 1.0).abs() < 0.05, "median {median}");
        assert!((p95 / b.amount_p95 - 1.0).abs() < 0.1, "p95 {p95}");
        // Escalation scales the whole distribution.
        let v2: Vec<f64> =
            (0..40_000).map(|_| osec_amount(&mut rng, &b, 2.0, false, true, 63.0) as f64 / 100.0).collect();
        let m2 = quantile(v2, 0.5);
        assert!((m2 / (2.0 * b.amount_median) - 1.0).abs() < 0.06, "escalated median {m2}");
    }

    #[test]
    fn round_php_prices_are_round_only_in_pesos() {
        let mut b = Scenario::load("default").unwrap().buyers;
        b.round_php_share = 1.0;
        b.round_base_share = 0.0;
        let fx = 63.37;
        let mut rng = rng_for(4, 5, 6);
        let mut round_eur = 0;
        for _ in 0..2000 {
            let minor = osec_amount(&mut rng, &b, 1.0, false, true, fx);
            let php = minor as f64 / 100.0 * fx;
            let nearest = b.round_php_prices.iter().map(|p| (*p as f64 - php).abs()).fold(f64::MAX, f64::min);
            assert!(nearest < 1.0, "{php} PHP is not a listed price");
            round_eur += (minor % 100 == 0) as u32;
        }
        assert!(round_eur < 100, "{round_eur} of 2000 came out as whole euros");
    }

    #[test]
    fn heavy_buyers_bundle_sessions() {
        let mut b = Scenario::load("default").unwrap().buyers;
        b.bundle_share_heavy = 1.0;
        let mut rng = rng_for(7, 8, 9);
        for _ in 0..500 {
            let a = osec_amount(&mut rng, &b, 1.0, true, true, 63.0) as f64 / 100.0;
            assert!(a >= b.bundle_amount[0] && a <= b.bundle_amount[1] + 10.0, "{a}");
        }
    }
}
