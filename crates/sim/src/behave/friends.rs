//! Small transfers to friends at home.

use super::*;

/// Small transfers to friends at home.
#[derive(Debug, Clone)]
pub struct Friends {
    pub friends: Vec<u32>,
    pub rate_per_day: f64,
    pub median: f64,
}

impl Friends {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Friends { friends, rate_per_day, median } = self;
        let len = m.len;
        for _ in 0..poisson(rng, *rate_per_day * len) {
            let r = friends.choose(rng).copied().expect("World::build gives a friends process 1-5 friends");
            let a = lognormal(rng, *median, 0.7);
            let amount = if rng.random::<f64>() < 0.5 { round_to(a, 5.0) } else { cents(a) };
            let channel = if rng.random::<f64>() < 0.3 { Channel::Wallet } else { Channel::BankTransfer };
            let reference = if rng.random::<f64>() < 0.7 { pick_ref(rng, &sh.ref_sets.friend) } else { 0 };
            let (day, tod) = (m.random_day(rng), tod_mix(rng, 0.15));
            out.push(Payment { day, tod, recipient: r, amount, channel, reference, ..Payment::default() });
        }
    }
}
