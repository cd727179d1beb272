//! Occasional purchases from one of the shared merchant pools (cam sites, crypto exchanges).

use super::*;

/// Occasional purchases from one of the shared merchant pools (cam sites, crypto exchanges).
#[derive(Debug, Clone)]
pub struct Merchant {
    pub pool: PoolId,
    pub rate_per_day: f64,
    pub night_share: f64,
    pub channel: Channel,
}

impl Merchant {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Merchant { pool, rate_per_day, night_share, channel } = self;
        let len = m.len;
        let p = match pool {
            PoolId::Cam => &sh.pools.cam,
            PoolId::Crypto => &sh.pools.crypto,
        };
        for _ in 0..poisson(rng, *rate_per_day * len) {
            let i = rng.random_range(0..p.members.len());
            let amount = cents(lognormal(rng, p.median[i] as f64, 0.5));
            let (day, tod) = (m.random_day(rng), tod_mix(rng, *night_share));
            out.push(Payment {
                day,
                tod,
                recipient: p.members[i],
                amount,
                channel: *channel,
                mcc: sh.merchant_mcc(p.members[i]),
                ..Payment::default()
            });
        }
    }
}
