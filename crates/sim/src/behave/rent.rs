//! Rent to a landlord at the start of each month.

use super::*;

/// Rent to a landlord at the start of each month.
#[derive(Debug, Clone)]
pub struct Rent {
    pub landlord: u32,
    pub amount: i64,
    pub day: u32,
}

impl Rent {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Rent { landlord, amount, day } = self;
        let d = m.day_of_month(*day);
        out.push(Payment {
            day: d,
            tod: tod_standing(rng),
            recipient: *landlord,
            amount: *amount,
            channel: Channel::BankTransfer,
            reference: sh.month_refs[m.index],
            ..Payment::default()
        });
    }
}
