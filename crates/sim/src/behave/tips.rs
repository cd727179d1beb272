//! Tips to cam performers abroad while a relationship with them lasts.

use super::*;

/// Tips to cam performers abroad while a relationship with them lasts.
#[derive(Debug, Clone)]
pub struct Tips {
    pub performers: Vec<Link>,
    pub rate_per_day: f64,
}

impl Tips {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Tips { performers, rate_per_day } = self;
        let sc = &sh.scenario;
        let len = m.len;
        let w = &sc.webcam;
        for _ in 0..poisson(rng, *rate_per_day * len) {
            let day = m.random_day(rng);
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
            out.push(Payment { day, tod, recipient: r, amount, channel: c, reference, ..Payment::default() });
        }
    }
}
