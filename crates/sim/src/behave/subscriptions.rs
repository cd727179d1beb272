//! Monthly subscriptions (phone, streaming, gym, VPN) on fixed days.

use super::*;

/// Monthly subscriptions (phone, streaming, gym, VPN) on fixed days.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    pub items: Vec<(u32, i64, u32)>,
}

impl Subscriptions {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Subscriptions { items } = self;
        for (r, amount, dom) in items.iter() {
            let d = m.day_of_month(*dom);
            out.push(Payment {
                day: d,
                tod: tod_standing(rng),
                recipient: *r,
                amount: *amount,
                channel: Channel::Card,
                mcc: sh.merchant_mcc(*r),
                ..Payment::default()
            });
        }
    }
}
