//! Card spending at domestic merchants, skewed towards popular ones.

use super::*;

/// Card spending at domestic merchants, skewed towards popular ones.
#[derive(Debug, Clone)]
pub struct Card {
    pub rate_per_day: f64,
}

impl Card {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Card { rate_per_day } = self;
        let len = m.len;
        let pool = &sh.pools.domestic;
        for _ in 0..poisson(rng, *rate_per_day * len) {
            // Skewed towards popular merchants.
            let u: f64 = rng.random();
            let i = ((u * u) * pool.members.len() as f64) as usize;
            let i = i.min(pool.members.len() - 1);
            let r = pool.members[i];
            let amount = cents(lognormal(rng, pool.median[i] as f64, 0.6));
            let mcc = sh.merchant_mcc(r);
            let (day, tod) = (m.random_day(rng), tod_card(rng));
            out.push(Payment { day, tod, recipient: r, amount, channel: Channel::Card, mcc, ..Payment::default() });
        }
    }
}
