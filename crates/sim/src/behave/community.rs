//! Payments to community payees: donations to a parish, tuition at a school, credit at a
//! shop, money sent through a pickup agent. Small, occasional, mostly daytime, from many
//! unrelated customers to the same few payees.

use super::*;

/// Payments to community payees: donations, tuition, store credit, pickup-agent transfers.
#[derive(Debug, Clone)]
pub struct Community {
    /// The payees this customer pays (one or two).
    pub payees: Vec<u32>,
    /// Mean payments a day.
    pub rate_per_day: f64,
    /// Median payment.
    pub median: f64,
}

impl Community {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        for _ in 0..poisson(rng, self.rate_per_day * m.len) {
            let recipient = *self.payees.choose(rng).expect("World::build gives a community process one or two payees");
            let amount = round_to(lognormal(rng, self.median, 0.6), 5.0);
            let channel = if rng.random::<f64>() < 0.6 { Channel::Mto } else { Channel::Wallet };
            let reference = if rng.random::<f64>() < 0.4 { pick_ref(rng, &sh.ref_sets.remittance) } else { 0 };
            let (day, tod) = (m.random_day(rng), tod_mix(rng, 0.15));
            out.push(Payment { day, tod, recipient, amount, channel, reference, ..Payment::default() });
        }
    }
}
