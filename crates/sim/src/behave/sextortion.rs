//! A burst of escalating payments to a sextortionist.

use super::*;

/// A burst of escalating payments to a sextortionist.
#[derive(Debug, Clone)]
pub struct Sextortion {
    pub recipient: u32,
    pub plan: Vec<(u32, i64)>,
}

impl Sextortion {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Sextortion { recipient, plan } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let sx = &sc.sextortion;
        for &(day, amount) in plan.iter().filter(|(d, _)| (ms..me).contains(d)) {
            let c = [Channel::Wallet, Channel::Wallet, Channel::Mto, Channel::Crypto]
                .choose(rng)
                .copied()
                .expect("a non-empty constant list");
            let reference = if rng.random::<f64>() < 0.2 { pick_ref(rng, &sh.ref_sets.tip) } else { 0 };
            out.push(Payment {
                day: day as i64,
                tod: tod_mix(rng, sx.night_share),
                recipient: *recipient,
                amount,
                channel: c,
                reference,
                ..Payment::default()
            });
        }
    }
}
