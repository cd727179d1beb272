//! Buying livestreamed abuse from facilitators, over a career that escalates.

use super::*;
use crate::scenario::Buyers;

/// Buying livestreamed abuse from facilitators, over a career that escalates.
#[derive(Debug, Clone)]
pub struct Osec {
    pub heavy: bool,
    pub stealthy: bool,
    pub rate_per_day: f64,
    pub career_start: f64,
    pub career_end: f64,
    pub escalation: f64,
    pub links: Vec<Link>,
    pub t: f64,
    pub stealth_amount: f64,
    pub stealth_day: u32,
    /// Payments left to make (`u32::MAX` for a buyer who keeps buying; a one-off payer
    /// stops after one to three).
    pub remaining: u32,
}

impl Osec {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Osec {
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
            remaining,
        } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let b = &sc.buyers;
        let career = (*career_end - *career_start).max(1.0);
        let factor = |t: f64| 1.0 + (*escalation - 1.0) * ((t - *career_start) / career).clamp(0.0, 1.0);
        let pick_link = |rng: &mut Rng, t: f64| -> u32 {
            let active: Vec<&Link> = links.iter().filter(|l| l.start <= t && t < l.end).collect();
            let pool: Vec<&Link> = if active.is_empty() { links.iter().rev().take(1).collect() } else { active };
            let total: f64 = pool.iter().map(|l| l.weight).sum();
            let mut x = rng.random::<f64>() * total;
            for l in &pool {
                if x < l.weight {
                    return l.recipient;
                }
                x -= l.weight;
            }
            pool.last().map(|l| l.recipient).expect("World::build gives every buyer at least one facilitator link")
        };
        if *stealthy {
            // Mimics a family remittance: fixed days, a fixed round amount, mostly daytime.
            let k = ((*rate_per_day * 30.4).round() as i64).clamp(1, 4);
            for j in 0..k {
                let day = m.day_of_month(*stealth_day) + j * 7 + rng.random_range(-1..=1);
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
                out.push(Payment {
                    day,
                    tod,
                    recipient: r,
                    amount: cents(*stealth_amount),
                    channel: Channel::Mto,
                    reference,
                    osec: true,
                    ..Payment::default()
                });
            }
            return;
        }
        // Weekend uplift by thinning: propose at the weekend rate, accept weekdays less.
        let w_max = b.weekend_uplift.max(1.0);
        let avg_w = (5.0 + 2.0 * b.weekend_uplift) / 7.0;
        while *t < me as f64 && *t < *career_end && *remaining > 0 {
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
            out.push(Payment {
                day,
                tod,
                recipient,
                amount,
                channel,
                mcc,
                reference,
                osec: true,
                ..Payment::default()
            });
            *remaining -= 1;
        }
    }
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
            .expect("scenario validation: buyers.round_php_prices is non-empty");
        cents(price as f64 / php_per_base)
    } else if u < b.round_php_share + b.round_base_share {
        let nice = NICE_AMOUNTS
            .iter()
            .min_by(|a, c| (target / **a).ln().abs().total_cmp(&(target / **c).ln().abs()))
            .copied()
            .expect("NICE_AMOUNTS is non-empty");
        cents(nice)
    } else {
        cents(target)
    }
}
