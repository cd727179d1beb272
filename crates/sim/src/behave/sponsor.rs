//! A child sponsorship paid to an NGO each month.

use super::*;

/// A child sponsorship paid to an NGO each month.
#[derive(Debug, Clone)]
pub struct Sponsor {
    pub ngo: u32,
    pub amount: i64,
    pub day: u32,
    pub reference: u32,
}

impl Sponsor {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let Sponsor { ngo, amount, day, reference } = self;
        let d = m.day_of_month(*day);
        out.push(Payment {
            day: d,
            tod: tod_standing(rng),
            recipient: *ngo,
            amount: *amount,
            channel: Channel::BankTransfer,
            reference: *reference,
            ..Payment::default()
        });
    }
}
