//! Payments to a romance scammer, growing, sometimes moving to a second recipient.

use super::*;

/// Payments to a romance scammer, growing, sometimes moving to a second recipient.
#[derive(Debug, Clone)]
pub struct Romance {
    pub recipients: [u32; 2],
    pub n_pay: u32,
    pub switch_at: u32,
    pub t: f64,
    pub k: u32,
    pub amount: f64,
}

impl Romance {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Romance { recipients, n_pay, switch_at, t, k, amount } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let r = &sc.romance;
        while *t < me as f64 && *k < *n_pay {
            if *t >= ms as f64 {
                let to = if *k >= *switch_at { recipients[1] } else { recipients[0] };
                let a = round_to(amount.min(r.max_amount), 10.0);
                let c = [Channel::Mto, Channel::BankTransfer, Channel::Wallet, Channel::Crypto]
                    .choose(rng)
                    .copied()
                    .expect("a non-empty constant list");
                let reference = pick_ref(rng, &sh.ref_sets.romance);
                let tod = tod_mix(rng, 0.3);
                out.push(Payment {
                    day: *t as i64,
                    tod,
                    recipient: to,
                    amount: a,
                    channel: c,
                    reference,
                    ..Payment::default()
                });
            }
            *k += 1;
            *amount *= r.growth_per_payment * lognormal(rng, 1.0, 0.15);
            *t += exp_gap(rng, std::f64::consts::LN_2 / r.days_between_median).max(0.5);
        }
    }
}
