//! Behaviour processes: one per habit of a customer (card spending, rent, family
//! remittances, buying abuse...). Each owns its RNG stream and produces its events one
//! simulated month at a time, so the generator never holds more than a month of payments.

use crate::scenario::Buyers;
use crate::world::{pick_channel, PoolId, Shared};
use osecwatch_model::{Channel, CountryCode};
use rand::seq::IndexedRandom;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use crate::cal::{cents, exp_gap, lognormal, poisson, Rng};

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

/// What a process does. Parameters that vary per customer live here; shared ones are
/// read from the scenario in [`Shared`].
#[derive(Debug, Clone)]
pub enum Behaviour {
    Card {
        rate_per_day: f64,
    },
    Rent {
        landlord: u32,
        amount: i64,
        day: u32,
    },
    Friends {
        friends: Vec<u32>,
        rate_per_day: f64,
        median: f64,
    },
    Subscriptions {
        items: Vec<(u32, i64, u32)>,
    },
    Merchant {
        pool: PoolId,
        rate_per_day: f64,
        night_share: f64,
        channel: Channel,
    },
    Family {
        recipients: Vec<u32>,
        monthly: f64,
        payday: u32,
        channel: Channel,
    },
    Partner {
        partner: u32,
        in_laws: Vec<u32>,
        monthly: f64,
        day: u32,
    },
    Tips {
        performers: Vec<Link>,
        rate_per_day: f64,
    },
    Romance {
        recipients: [u32; 2],
        n_pay: u32,
        switch_at: u32,
        t: f64,
        k: u32,
        amount: f64,
    },
    Sponsor {
        ngo: u32,
        amount: i64,
        day: u32,
        reference: u32,
    },
    Trips {
        trips: Vec<Trip>,
    },
    Sextortion {
        recipient: u32,
        plan: Vec<(u32, i64)>,
    },
    Osec {
        heavy: bool,
        stealthy: bool,
        rate_per_day: f64,
        career_start: f64,
        career_end: f64,
        escalation: f64,
        links: Vec<Link>,
        t: f64,
        stealth_amount: f64,
        stealth_day: u32,
    },
}

pub struct Proc {
    pub customer: u32,
    rng: Rng,
    seq: u32,
    beh: Behaviour,
}

const HOUR: i64 = 3600;

/// Seconds into the local day, by profile. Night runs 19:00-02:00 (§3.7), so a night
/// time may fall after midnight, on the next day.
fn tod_day(rng: &mut Rng) -> i64 {
    8 * HOUR + rng.random_range(0..11 * HOUR)
}
fn tod_night(rng: &mut Rng) -> i64 {
    19 * HOUR + rng.random_range(0..7 * HOUR)
}
fn tod_mix(rng: &mut Rng, night_share: f64) -> i64 {
    if rng.random::<f64>() < night_share {
        tod_night(rng)
    } else {
        tod_day(rng)
    }
}
fn tod_card(rng: &mut Rng) -> i64 {
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
fn tod_standing(rng: &mut Rng) -> i64 {
    5 * HOUR + rng.random_range(0..2 * HOUR)
}

fn round_to(x: f64, step: f64) -> i64 {
    cents(((x / step).round() * step).max(step))
}

const NICE_AMOUNTS: [f64; 19] =
    [10., 15., 20., 25., 30., 40., 50., 60., 70., 75., 80., 100., 120., 150., 200., 250., 300., 400., 500.];

/// Amount of one OSEC payment in minor units of the base currency (§3.1): log-normal
/// around the median, escalated over the career; a share are round PHP prices converted at
/// the day's rate (so not round in euros), a share are even euro amounts, and heavy
/// buyers sometimes pay bundles of several sessions.
pub fn osec_amount(rng: &mut Rng, b: &Buyers, escalation: f64, heavy: bool, to_ph: bool, php_per_base: f64) -> i64 {
    if heavy && rng.random::<f64>() < b.bundle_share_heavy {
        return round_to(rng.random_range(b.bundle_amount[0]..=b.bundle_amount[1]), 10.0);
    }
    let sigma = (b.amount_p95 / b.amount_median).ln() / 1.645;
    let target = lognormal(rng, b.amount_median * escalation, sigma).clamp(3.0, 2000.0);
    let u: f64 = rng.random();
    if to_ph && u < b.round_php_share {
        let php = target * php_per_base;
        let price = b
            .round_php_prices
            .iter()
            .min_by(|a, c| {
                let da = (php / **a as f64).ln().abs();
                let dc = (php / **c as f64).ln().abs();
                da.total_cmp(&dc)
            })
            .copied()
            .unwrap_or(1500);
        cents(price as f64 / php_per_base)
    } else if u < b.round_php_share + b.round_base_share {
        let nice = NICE_AMOUNTS
            .iter()
            .min_by(|a, c| (target / **a).ln().abs().total_cmp(&(target / **c).ln().abs()))
            .copied()
            .unwrap_or(50.0);
        cents(nice)
    } else {
        cents(target)
    }
}

/// Collects one process's events for a month, dropping any that fall outside the period.
struct Out<'a> {
    sh: &'a Shared,
    proc_: u32,
    customer: u32,
    seq: &'a mut u32,
    buf: &'a mut Vec<Event>,
    /// The period in UTC: events abroad can fall outside it even on an in-period local day.
    start_utc: i64,
    end_utc: i64,
}

impl Out<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        day: i64,
        tod: i64,
        tz: u8,
        recipient: u32,
        amount: i64,
        channel: Channel,
        mcc: u16,
        reference: u32,
        osec: bool,
    ) {
        if day < 0 {
            return;
        }
        let local = self.sh.cal.local_secs(day) + tod;
        let (utc, offset_min) = self.sh.tz[tz as usize].local_to_utc(local);
        if utc < self.start_utc || utc >= self.end_utc {
            return;
        }
        *self.seq += 1;
        self.buf.push(Event {
            utc,
            proc_: self.proc_,
            seq: *self.seq,
            customer: self.customer,
            recipient,
            amount,
            reference,
            offset_min,
            mcc,
            channel,
            osec,
        });
    }
}

fn pick_ref(rng: &mut Rng, set: &[u32]) -> u32 {
    set.choose(rng).copied().unwrap_or(0)
}

/// The day index in [ms, me) whose day of month is `dom` (or the month's last day).
fn day_in_month(sh: &Shared, ms: u32, me: u32, dom: u32) -> i64 {
    let first_dom = sh.cal.day_of_month(ms as i64);
    let d = ms as i64 + dom as i64 - first_dom as i64;
    d.clamp(ms as i64, me as i64 - 1)
}

impl Proc {
    pub fn new(customer: u32, rng: Rng, beh: Behaviour) -> Proc {
        Proc { customer, rng, seq: 0, beh }
    }

    /// Append this process's events of simulated month `m` to `buf` (unsorted).
    pub fn gen_month(&mut self, idx: u32, m: usize, sh: &Shared, buf: &mut Vec<Event>) {
        let ms = sh.cal.month_starts[m];
        let me = sh.cal.month_starts[m + 1];
        let len = (me - ms) as f64;
        let sc = &sh.scenario;
        let rng = &mut self.rng;
        let mut out = Out {
            sh,
            proc_: idx,
            customer: self.customer,
            seq: &mut self.seq,
            buf,
            start_utc: sh.period_utc.0,
            end_utc: sh.period_utc.1,
        };
        let rand_day = |rng: &mut Rng| ms as i64 + rng.random_range(0..(me - ms).max(1)) as i64;
        let december = sh.cal.month_numbers[m] == 12;
        match &mut self.beh {
            Behaviour::Card { rate_per_day } => {
                let pool = &sh.pools.domestic;
                for _ in 0..poisson(rng, *rate_per_day * len) {
                    // Skewed towards popular merchants.
                    let u: f64 = rng.random();
                    let i = ((u * u) * pool.members.len() as f64) as usize;
                    let i = i.min(pool.members.len() - 1);
                    let r = pool.members[i];
                    let amount = cents(lognormal(rng, pool.median[i] as f64, 0.6));
                    let mcc = sh.merchant_mcc(r);
                    let (day, tod) = (rand_day(rng), tod_card(rng));
                    out.push(day, tod, 0, r, amount, Channel::Card, mcc, 0, false);
                }
            }
            Behaviour::Rent { landlord, amount, day } => {
                let d = day_in_month(sh, ms, me, *day);
                out.push(
                    d,
                    tod_standing(rng),
                    0,
                    *landlord,
                    *amount,
                    Channel::BankTransfer,
                    0,
                    sh.month_refs[m],
                    false,
                );
            }
            Behaviour::Friends { friends, rate_per_day, median } => {
                for _ in 0..poisson(rng, *rate_per_day * len) {
                    let r = friends.choose(rng).copied().unwrap_or(0);
                    let a = lognormal(rng, *median, 0.7);
                    let amount = if rng.random::<f64>() < 0.5 { round_to(a, 5.0) } else { cents(a) };
                    let channel = if rng.random::<f64>() < 0.3 { Channel::Wallet } else { Channel::BankTransfer };
                    let reference = if rng.random::<f64>() < 0.7 { pick_ref(rng, &sh.ref_sets.friend) } else { 0 };
                    let (day, tod) = (rand_day(rng), tod_mix(rng, 0.15));
                    out.push(day, tod, 0, r, amount, channel, 0, reference, false);
                }
            }
            Behaviour::Subscriptions { items } => {
                for (r, amount, dom) in items.iter() {
                    let d = day_in_month(sh, ms, me, *dom);
                    out.push(d, tod_standing(rng), 0, *r, *amount, Channel::Card, sh.merchant_mcc(*r), 0, false);
                }
            }
            Behaviour::Merchant { pool, rate_per_day, night_share, channel } => {
                let p = match pool {
                    PoolId::Cam => &sh.pools.cam,
                    PoolId::Crypto => &sh.pools.crypto,
                };
                for _ in 0..poisson(rng, *rate_per_day * len) {
                    let i = rng.random_range(0..p.members.len());
                    let amount = cents(lognormal(rng, p.median[i] as f64, 0.5));
                    let (day, tod) = (rand_day(rng), tod_mix(rng, *night_share));
                    out.push(day, tod, 0, p.members[i], amount, *channel, sh.merchant_mcc(p.members[i]), 0, false);
                }
            }
            Behaviour::Family { recipients, monthly, payday, channel } => {
                let d = &sc.diaspora;
                let mult = if december { d.december_multiplier } else { 1.0 };
                let jitter = d.payday_jitter_days as i64;
                let base_day = day_in_month(sh, ms, me, *payday);
                let pay_day = (base_day + rng.random_range(-jitter..=jitter)).clamp(ms as i64, me as i64 - 1);
                let ch =
                    |rng: &mut Rng| if rng.random::<f64>() < 0.85 { *channel } else { pick_channel(rng, &d.channels) };
                let step = if *monthly > 500.0 { 50.0 } else { 10.0 };
                let z: f64 = StandardNormal.sample(rng);
                let noise = 1.0 + 0.05 * z.clamp(-2.0, 2.0) * f64::from(u8::from(rng.random::<bool>()));
                let amount = round_to(*monthly * mult * noise, step);
                let reference = family_ref(rng, sh);
                let c = ch(rng);
                let tod = tod_mix(rng, d.night_share);
                out.push(pay_day, tod, 0, recipients[0], amount, c, 0, reference, false);
                // Extended families: several relatives get something most months.
                for &r in recipients.iter().skip(1) {
                    if rng.random::<f64>() < if recipients.len() > 3 { 0.35 } else { 0.5 } {
                        let a = round_to(lognormal(rng, 80.0, 0.5) * mult, 10.0);
                        let dd = (pay_day + rng.random_range(0..=2)).min(me as i64 - 1);
                        let (reference, c, tod) = (family_ref(rng, sh), ch(rng), tod_mix(rng, d.night_share));
                        out.push(dd, tod, 0, r, a, c, 0, reference, false);
                    }
                }
                let extras = d.extras_per_month * if december { 2.0 } else { 1.0 };
                for _ in 0..poisson(rng, extras * len / 30.4) {
                    let r = recipients.choose(rng).copied().unwrap_or(recipients[0]);
                    let a = round_to(lognormal(rng, d.extra_amount_median, 0.6), 10.0);
                    let reference = pick_ref(rng, &sh.ref_sets.remittance);
                    let (day, c, tod) = (rand_day(rng), ch(rng), tod_mix(rng, d.night_share));
                    out.push(day, tod, 0, r, a, c, 0, reference, false);
                }
            }
            Behaviour::Partner { partner, in_laws, monthly, day } => {
                let p = &sc.partner;
                let d = (day_in_month(sh, ms, me, *day) + rng.random_range(-4..=4)).clamp(ms as i64, me as i64 - 1);
                let amount = round_to(lognormal(rng, *monthly, 0.15), 10.0);
                let reference = family_ref(rng, sh);
                let tod = tod_mix(rng, p.night_share);
                out.push(d, tod, 0, *partner, amount, Channel::Mto, 0, reference, false);
                for _ in 0..poisson(rng, p.extras_per_month * len / 30.4) {
                    let r = if in_laws.is_empty() || rng.random::<f64>() < 0.7 {
                        *partner
                    } else {
                        in_laws.choose(rng).copied().unwrap_or(*partner)
                    };
                    let a = round_to(lognormal(rng, 80.0, 0.6), 5.0);
                    let reference = if rng.random::<f64>() < 0.5 {
                        pick_ref(rng, &sh.ref_sets.tip)
                    } else {
                        pick_ref(rng, &sh.ref_sets.remittance)
                    };
                    let c = [Channel::Mto, Channel::Wallet, Channel::BankTransfer]
                        .choose(rng)
                        .copied()
                        .unwrap_or(Channel::Mto);
                    let (day, tod) = (rand_day(rng), tod_mix(rng, p.night_share));
                    out.push(day, tod, 0, r, a, c, 0, reference, false);
                }
            }
            Behaviour::Tips { performers, rate_per_day } => {
                let w = &sc.webcam;
                for _ in 0..poisson(rng, *rate_per_day * len) {
                    let day = rand_day(rng);
                    let active: Vec<u32> = performers
                        .iter()
                        .filter(|l| l.start <= day as f64 && (day as f64) < l.end)
                        .map(|l| l.recipient)
                        .collect();
                    let Some(&r) = active.choose(rng) else { continue };
                    let a = lognormal(rng, w.tip_amount_median, 0.5);
                    let amount = if rng.random::<f64>() < 0.5 { round_to(a, 5.0) } else { cents(a) };
                    let c = if rng.random::<f64>() < 0.6 { Channel::Wallet } else { Channel::Mto };
                    let reference = if rng.random::<f64>() < 0.5 { pick_ref(rng, &sh.ref_sets.tip) } else { 0 };
                    let tod = tod_mix(rng, w.night_share);
                    out.push(day, tod, 0, r, amount, c, 0, reference, false);
                }
            }
            Behaviour::Romance { recipients, n_pay, switch_at, t, k, amount } => {
                let r = &sc.romance;
                while *t < me as f64 && *k < *n_pay {
                    if *t >= ms as f64 {
                        let to = if *k >= *switch_at { recipients[1] } else { recipients[0] };
                        let a = round_to(amount.min(r.max_amount), 10.0);
                        let c = [Channel::Mto, Channel::BankTransfer, Channel::Wallet, Channel::Crypto]
                            .choose(rng)
                            .copied()
                            .unwrap_or(Channel::Mto);
                        let reference = pick_ref(rng, &sh.ref_sets.romance);
                        let tod = tod_mix(rng, 0.3);
                        out.push(*t as i64, tod, 0, to, a, c, 0, reference, false);
                    }
                    *k += 1;
                    *amount *= r.growth_per_payment * lognormal(rng, 1.0, 0.15);
                    *t += exp_gap(rng, std::f64::consts::LN_2 / r.days_between_median).max(0.5);
                }
            }
            Behaviour::Sponsor { ngo, amount, day, reference } => {
                let d = day_in_month(sh, ms, me, *day);
                out.push(d, tod_standing(rng), 0, *ngo, *amount, Channel::BankTransfer, 0, *reference, false);
            }
            Behaviour::Trips { trips } => {
                let tr = &sc.traveller;
                for trip in trips.iter() {
                    let tz = sh.tz_of_country.get(&trip.country).copied().unwrap_or(0);
                    let Some((hotels, shops, atms)) = sh.pools.abroad.get(&trip.country) else { continue };
                    let flight_day = trip.start as i64 - 21 - (trip.start as i64 * 7919 % 70);
                    if (ms as i64..me as i64).contains(&flight_day) {
                        let a = cents(lognormal(rng, 900.0, 0.3));
                        out.push(flight_day, tod_mix(rng, 0.2), 0, trip.airline, a, Channel::Card, 4511, 0, false);
                    }
                    let (s, e) = (trip.start as i64, (trip.start + trip.len) as i64);
                    for day in (ms as i64).max(s)..(me as i64).min(e) {
                        if day == s {
                            let h = hotels.members[rng.random_range(0..hotels.members.len())];
                            let a = cents(lognormal(rng, 70.0, 0.4) * trip.len as f64);
                            out.push(day, tod_day(rng), tz, h, a, Channel::Card, 7011, 0, false);
                        }
                        for _ in 0..poisson(rng, 2.0) {
                            let i = rng.random_range(0..shops.members.len());
                            let a = cents(lognormal(rng, shops.median[i] as f64, 0.6));
                            out.push(day, tod_card(rng), tz, shops.members[i], a, Channel::Card, 5812, 0, false);
                        }
                        if rng.random::<f64>() < 0.25 {
                            let i = rng.random_range(0..atms.members.len());
                            let a = round_to(lognormal(rng, 100.0, 0.4), 10.0);
                            out.push(day, tod_day(rng), tz, atms.members[i], a, Channel::Card, 6011, 0, false);
                        }
                    }
                    // Small transfers to friends made there, during the trip and for two months after.
                    if !trip.friends.is_empty() {
                        for day in (ms as i64).max(s)..(me as i64).min(e + 60) {
                            let rate = if day < e { 0.08 } else { tr.transfers_per_month_after / 30.4 };
                            if rng.random::<f64>() < rate {
                                let r = trip.friends.choose(rng).copied().unwrap_or(0);
                                let a = round_to(lognormal(rng, tr.transfer_amount_median, 0.6), 5.0);
                                let c = if rng.random::<f64>() < 0.5 { Channel::Wallet } else { Channel::Mto };
                                let reference =
                                    if rng.random::<f64>() < 0.5 { pick_ref(rng, &sh.ref_sets.tip) } else { 0 };
                                let tz_here = if day < e { tz } else { 0 };
                                out.push(day, tod_mix(rng, 0.3), tz_here, r, a, c, 0, reference, false);
                            }
                        }
                    }
                }
            }
            Behaviour::Sextortion { recipient, plan } => {
                let sx = &sc.sextortion;
                for &(day, amount) in plan.iter().filter(|(d, _)| (ms..me).contains(d)) {
                    let c = [Channel::Wallet, Channel::Wallet, Channel::Mto, Channel::Crypto]
                        .choose(rng)
                        .copied()
                        .unwrap_or(Channel::Wallet);
                    let reference = if rng.random::<f64>() < 0.2 { pick_ref(rng, &sh.ref_sets.tip) } else { 0 };
                    out.push(day as i64, tod_mix(rng, sx.night_share), 0, *recipient, amount, c, 0, reference, false);
                }
            }
            Behaviour::Osec {
                heavy,
                stealthy,
                rate_per_day,
                career_start,
                career_end,
                escalation,
                links,
                t,
                stealth_amount,
                stealth_day,
            } => {
                let b = &sc.buyers;
                let career = (*career_end - *career_start).max(1.0);
                let factor = |t: f64| 1.0 + (*escalation - 1.0) * ((t - *career_start) / career).clamp(0.0, 1.0);
                let pick_link = |rng: &mut Rng, t: f64| -> u32 {
                    let active: Vec<&Link> = links.iter().filter(|l| l.start <= t && t < l.end).collect();
                    let pool: Vec<&Link> =
                        if active.is_empty() { links.iter().rev().take(1).collect() } else { active };
                    let total: f64 = pool.iter().map(|l| l.weight).sum();
                    let mut x = rng.random::<f64>() * total;
                    for l in &pool {
                        if x < l.weight {
                            return l.recipient;
                        }
                        x -= l.weight;
                    }
                    pool.last().map(|l| l.recipient).unwrap_or(0)
                };
                if *stealthy {
                    // Mimics a family remittance: fixed days, a fixed round amount, mostly daytime.
                    let k = ((*rate_per_day * 30.4).round() as i64).clamp(1, 4);
                    for j in 0..k {
                        let day = day_in_month(sh, ms, me, *stealth_day) + j * 7 + rng.random_range(-1..=1);
                        let dayf = day as f64;
                        if day < ms as i64 || day >= me as i64 || dayf < *career_start || dayf >= *career_end {
                            continue;
                        }
                        let r = pick_link(rng, dayf);
                        let reference = if rng.random::<f64>() < b.cover_reference_share {
                            pick_ref(rng, &sh.ref_sets.remittance)
                        } else {
                            0
                        };
                        let tod = tod_mix(rng, b.night_share / 2.0);
                        out.push(day, tod, 0, r, cents(*stealth_amount), Channel::Mto, 0, reference, true);
                    }
                    return;
                }
                // Weekend uplift by thinning: propose at the weekend rate, accept weekdays less.
                let w_max = b.weekend_uplift.max(1.0);
                let avg_w = (5.0 + 2.0 * b.weekend_uplift) / 7.0;
                while *t < me as f64 && *t < *career_end {
                    let now = *t;
                    *t += exp_gap(rng, *rate_per_day * factor(now) * w_max / avg_w);
                    let day = now.floor() as i64;
                    let w = if sh.cal.is_weekend(day) { b.weekend_uplift } else { 1.0 };
                    if rng.random::<f64>() >= w / w_max || now < ms as f64 || now < 0.0 {
                        continue;
                    }
                    let channel = pick_channel(rng, &b.channels);
                    let fac = pick_link(rng, now);
                    let (recipient, mcc) = match channel {
                        Channel::Card => {
                            let p = &sh.pools.cam;
                            let r = p.members[rng.random_range(0..p.members.len())];
                            (r, sh.merchant_mcc(r))
                        }
                        Channel::Crypto => {
                            let p = &sh.pools.crypto;
                            (p.members[rng.random_range(0..p.members.len())], 6051)
                        }
                        _ => (fac, 0),
                    };
                    let to_ph = sh.recipient_country(recipient) == sh.php;
                    let fx = sh.fx_php[(day.max(0) as usize).min(sh.fx_php.len() - 1)];
                    let amount = osec_amount(rng, b, factor(now), *heavy, to_ph, fx);
                    let reference = if mcc == 0 && rng.random::<f64>() < b.cover_reference_share {
                        pick_ref(rng, &sh.ref_sets.remittance)
                    } else {
                        0
                    };
                    let tod = tod_mix(rng, b.night_share);
                    out.push(day, tod, 0, recipient, amount, channel, mcc, reference, true);
                }
            }
        }
    }
}

fn family_ref(rng: &mut Rng, sh: &Shared) -> u32 {
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
    use super::*;
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
