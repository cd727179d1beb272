//! Support for a partner abroad and the in-laws.

use super::*;

/// Support for a partner abroad and the in-laws.
#[derive(Debug, Clone)]
pub struct Partner {
    pub partner: u32,
    pub in_laws: Vec<u32>,
    pub monthly: f64,
    pub day: u32,
}

impl Partner {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Partner { partner, in_laws, monthly, day } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let len = m.len;
        let p = &sc.partner;
        let d = (m.day_of_month(*day) + rng.random_range(-4..=4)).clamp(ms as i64, me as i64 - 1);
        let amount = round_to(lognormal(rng, *monthly, 0.15), 10.0);
        let reference = family_ref(rng, sh);
        let tod = tod_mix(rng, p.night_share);
        out.push(Payment {
            day: d,
            tod,
            recipient: *partner,
            amount,
            channel: Channel::Mto,
            reference,
            ..Payment::default()
        });
        for _ in 0..poisson(rng, p.extras_per_month * len / 30.4) {
            let r = if in_laws.is_empty() || rng.random::<f64>() < 0.7 {
                *partner
            } else {
                in_laws.choose(rng).copied().expect("in_laws is not empty (checked above)")
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
                .expect("a non-empty constant list");
            let (day, tod) = (m.random_day(rng), tod_mix(rng, p.night_share));
            out.push(Payment { day, tod, recipient: r, amount: a, channel: c, reference, ..Payment::default() });
        }
    }
}
