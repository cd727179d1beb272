//! Trips abroad: the flight, card spending there, transfers to friends made there.

use super::*;

/// Trips abroad: the flight, card spending there, transfers to friends made there.
#[derive(Debug, Clone)]
pub struct Trips {
    pub trips: Vec<Trip>,
}

impl Trips {
    pub(super) fn gen_month(&mut self, rng: &mut Rng, m: &Month<'_>, out: &mut MonthSink<'_>) {
        let sh = m.sh;
        let Trips { trips } = self;
        let sc = &sh.scenario;
        let (ms, me) = (m.start, m.end);
        let tr = &sc.traveller;
        for trip in trips.iter() {
            // A destination without its own time zone table is spent in on the home clock.
            let tz = sh.tz_of_country.get(&trip.country).copied().unwrap_or(0);
            let Some((hotels, shops, atms)) = sh.pools.abroad.get(&trip.country) else { continue };
            let flight_day = trip.start as i64 - 21 - (trip.start as i64 * 7919 % 70);
            if (ms as i64..me as i64).contains(&flight_day) {
                let a = cents(lognormal(rng, 900.0, 0.3));
                out.push(Payment {
                    day: flight_day,
                    tod: tod_mix(rng, 0.2),
                    recipient: trip.airline,
                    amount: a,
                    channel: Channel::Card,
                    mcc: 4511,
                    ..Payment::default()
                });
            }
            let (s, e) = (trip.start as i64, (trip.start + trip.len) as i64);
            for day in (ms as i64).max(s)..(me as i64).min(e) {
                if day == s {
                    let h = hotels.members[rng.random_range(0..hotels.members.len())];
                    let a = cents(lognormal(rng, 70.0, 0.4) * trip.len as f64);
                    out.push(Payment {
                        day,
                        tod: tod_day(rng),
                        tz,
                        recipient: h,
                        amount: a,
                        channel: Channel::Card,
                        mcc: 7011,
                        ..Payment::default()
                    });
                }
                for _ in 0..poisson(rng, 2.0) {
                    let i = rng.random_range(0..shops.members.len());
                    let a = cents(lognormal(rng, shops.median[i] as f64, 0.6));
                    out.push(Payment {
                        day,
                        tod: tod_card(rng),
                        tz,
                        recipient: shops.members[i],
                        amount: a,
                        channel: Channel::Card,
                        mcc: 5812,
                        ..Payment::default()
                    });
                }
                if rng.random::<f64>() < 0.25 {
                    let i = rng.random_range(0..atms.members.len());
                    let a = round_to(lognormal(rng, 100.0, 0.4), 10.0);
                    out.push(Payment {
                        day,
                        tod: tod_day(rng),
                        tz,
                        recipient: atms.members[i],
                        amount: a,
                        channel: Channel::Card,
                        mcc: 6011,
                        ..Payment::default()
                    });
                }
            }
            // Small transfers to friends made there, during the trip and for two months after.
            if !trip.friends.is_empty() {
                for day in (ms as i64).max(s)..(me as i64).min(e + 60) {
                    let rate = if day < e { 0.08 } else { tr.transfers_per_month_after / 30.4 };
                    if rng.random::<f64>() < rate {
                        let r = trip.friends.choose(rng).copied().expect("trip.friends is not empty (checked above)");
                        let a = round_to(lognormal(rng, tr.transfer_amount_median, 0.6), 5.0);
                        let c = if rng.random::<f64>() < 0.5 { Channel::Wallet } else { Channel::Mto };
                        let reference = if rng.random::<f64>() < 0.5 { pick_ref(rng, &sh.ref_sets.tip) } else { 0 };
                        let tz_here = if day < e { tz } else { 0 };
                        out.push(Payment {
                            day,
                            tod: tod_mix(rng, 0.3),
                            tz: tz_here,
                            recipient: r,
                            amount: a,
                            channel: c,
                            reference,
                            ..Payment::default()
                        });
                    }
                }
            }
        }
    }
}
