//! Diaspora family remittances: a payday transfer, gifts to the extended family, extras (December more).

use super::*;

/// Diaspora family remittances: a payday transfer, gifts to the extended family, extras (December more).
#[derive(Debug, Clone)]
pub struct Family {
    pub recipients: Vec<u32>,
    pub monthly: f64,
    pub payday: u32,
    pub channel: Channel,
}

impl Family {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Family { recipients, monthly, payday, channel } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let len = m.len;
        let d = &sc.diaspora;
        let mult = if m.december { d.december_multiplier } else { 1.0 };
        let jitter = d.payday_jitter_days as i64;
        let base_day = m.day_of_month(*payday);
        let pay_day = (base_day + rng.random_range(-jitter..=jitter)).clamp(ms as i64, me as i64 - 1);
        let ch = |rng: &mut Rng| if rng.random::<f64>() < 0.85 { *channel } else { pick_channel(rng, &d.channels) };
        let step = if *monthly > 500.0 { 50.0 } else { 10.0 };
        let z: f64 = StandardNormal.sample(rng);
        let noise = 1.0 + 0.05 * z.clamp(-2.0, 2.0) * f64::from(u8::from(rng.random::<bool>()));
        let amount = round_to(*monthly * mult * noise, step);
        let reference = family_ref(rng, sh);
        let c = ch(rng);
        let tod = tod_mix(rng, d.night_share);
        out.push(Payment {
            day: pay_day,
            tod,
            recipient: recipients[0],
            amount,
            channel: c,
            reference,
            ..Payment::default()
        });
        // Extended families: several relatives get something most months.
        for &r in recipients.iter().skip(1) {
            if rng.random::<f64>() < if recipients.len() > 3 { 0.35 } else { 0.5 } {
                let a = round_to(lognormal(rng, 80.0, 0.5) * mult, 10.0);
                let dd = (pay_day + rng.random_range(0..=2)).min(me as i64 - 1);
                let (reference, c, tod) = (family_ref(rng, sh), ch(rng), tod_mix(rng, d.night_share));
                out.push(Payment {
                    day: dd,
                    tod,
                    recipient: r,
                    amount: a,
                    channel: c,
                    reference,
                    ..Payment::default()
                });
            }
        }
        let extras = d.extras_per_month * if m.december { 2.0 } else { 1.0 };
        for _ in 0..poisson(rng, extras * len / 30.4) {
            let r = recipients.choose(rng).copied().expect("World::build gives a family at least one recipient");
            let a = round_to(lognormal(rng, d.extra_amount_median, 0.6), 10.0);
            let reference = pick_ref(rng, &sh.ref_sets.remittance);
            let (day, c, tod) = (m.random_day(rng), ch(rng), tod_mix(rng, d.night_share));
            out.push(Payment { day, tod, recipient: r, amount: a, channel: c, reference, ..Payment::default() });
        }
    }
}
