//! One customer built: a name, everyday habits, and the habits of its archetype.

use super::*;

/// What every customer's build reads.
pub(super) struct Context<'a> {
    pub(super) sc: &'a Scenario,
    pub(super) cal: &'a Calendar,
    pub(super) pools: &'a Pools,
    pub(super) home: CountryCode,
}

/// One customer being built: a name, everyday life, and the habits of its archetype.
pub(super) struct Life<'a, 'b> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) b: &'b mut Builder,
    pub(super) procs: &'b mut Processes,
    pub(super) customer: u32,
}

impl Life<'_, '_> {
    pub(super) fn add(&mut self, behaviour: Behaviour) {
        self.procs.add(self.customer, behaviour);
    }

    pub(super) fn build(&mut self, arch: Archetype, market: &mut FacilitatorMarket, payees: &mut SharedPayees) {
        let mut crng = rng_for(self.b.seed, 0xC057, self.customer as u64);
        let (origin, kin, surname) = self.name(arch, market, &mut crng);
        self.everyday(arch, &mut crng);
        match arch {
            Archetype::DomesticEveryday => {}
            Archetype::DiasporaFamily | Archetype::DiasporaExtendedFamily => {
                let origin = origin.expect("a diaspora customer's origin is drawn in Life::name");
                self.diaspora(arch, origin, kin, surname, payees, &mut crng);
                self.community(payees, &mut crng);
            }
            Archetype::PartnerAbroad => {
                self.partner(&mut crng);
                self.community(payees, &mut crng);
            }
            Archetype::AdultWebcam => self.adult_webcam(payees, &mut crng),
            Archetype::RomanceScamVictim => self.romance_victim(&mut crng),
            Archetype::ChildSponsor => self.child_sponsor(&mut crng),
            Archetype::Traveller => {
                let trips = plan_trips(self.b, &mut crng, self.ctx, None, self.ctx.sc.traveller.trips_per_year);
                self.add(Behaviour::Trips(Trips { trips }));
            }
            Archetype::SextortionVictim => self.sextortion_victim(&mut crng),
            Archetype::LightBuyer | Archetype::MediumBuyer | Archetype::HeavyBuyer | Archetype::StealthyBuyer => {
                self.buyer(arch, market, &mut crng)
            }
        }
    }

    /// The customer's name: diaspora senders carry their origin's names, everyone else the
    /// general mix; a kin link to a facilitator fixes the surname. Returns the origin, the
    /// kin facilitator and the surname.
    pub(super) fn name(
        &mut self,
        arch: Archetype,
        market: &mut FacilitatorMarket,
        crng: &mut Rng,
    ) -> (Option<CountryCode>, Option<u32>, &'static str) {
        let b = &mut *self.b;
        let mut origin = None;
        let mut kin = None;
        let culture = match arch {
            Archetype::DiasporaFamily | Archetype::DiasporaExtendedFamily => {
                let o = pick_country(crng, &self.ctx.sc.diaspora.origins);
                origin = Some(o);
                if let Some(pos) = market.kin_pending.iter().position(|f| b.recipients[*f as usize].country == o) {
                    kin = Some(market.kin_pending.swap_remove(pos));
                }
                Culture::of_country(o.as_str())
            }
            _ => general_culture(crng),
        };
        let kin_surname = kin
            .map(|f| surname_of(b.recipient_name(f), Culture::of_country(b.recipients[f as usize].country.as_str())));
        let given = *culture.given_names().choose(crng).expect("every culture has given names");
        let surname = kin_surname
            .unwrap_or_else(|| culture.surnames().choose(crng).copied().expect("every culture has surnames"));
        b.add_customer(&format!("{given} {surname}"));
        (origin, kin, surname)
    }

    /// Everyday life, common to all customers (buyers included: they live ordinary lives).
    pub(super) fn everyday(&mut self, arch: Archetype, crng: &mut Rng) {
        let (sc, pools, home) = (self.ctx.sc, self.ctx.pools, self.ctx.home);
        let dm = &sc.domestic;
        let bm = &sc.buyers;
        self.add(Behaviour::Card(Card { rate_per_day: gamma_rate(crng, dm.card_payments_per_month) / 30.4 }));
        if crng.random::<f64>() < dm.rent_share {
            let landlord = self.b.add_person(home, RecipientKind::Landlord, None);
            let amount = (lognormal(crng, dm.rent_median, 0.3) / 10.0).round() * 10.0;
            let day = crng.random_range(1..=3);
            self.add(Behaviour::Rent(Rent { landlord, amount: cents(amount), day }));
        }
        let friend_rate = gamma_rate(crng, dm.friend_transfers_per_month) / 30.4;
        if friend_rate > 0.0 {
            let k = crng.random_range(1..=5);
            let friends = (0..k).map(|_| self.b.add_person(home, RecipientKind::Friend, None)).collect();
            self.add(Behaviour::Friends(Friends {
                friends,
                rate_per_day: friend_rate,
                median: dm.friend_amount_median,
            }));
        }
        let mut subs = vec![pick_member(crng, &pools.phone)];
        if crng.random::<f64>() < 0.6 {
            subs.push(pick_member(crng, &pools.streaming));
        }
        if crng.random::<f64>() < 0.2 {
            subs.push(pick_member(crng, &pools.gym));
        }
        let vpn_share = if arch.is_buyer() { bm.vpn_share } else { dm.vpn_subscriber_share };
        if crng.random::<f64>() < vpn_share {
            subs.push(pick_member(crng, &pools.vpn));
        }
        let items = subs
            .into_iter()
            .map(|(r, med)| (r, cents((med as f64).round() - 0.01), crng.random_range(1..=28)))
            .collect();
        self.add(Behaviour::Subscriptions(Subscriptions { items }));
        let cam_share = if arch.is_buyer() { bm.cam_token_share } else { dm.cam_site_share };
        if arch != Archetype::AdultWebcam && crng.random::<f64>() < cam_share {
            self.add(Behaviour::Merchant(Merchant {
                pool: PoolId::Cam,
                rate_per_day: 1.0 / 30.4,
                night_share: 0.7,
                channel: Channel::Card,
            }));
        }
        if crng.random::<f64>() < dm.crypto_buyer_share {
            self.add(Behaviour::Merchant(Merchant {
                pool: PoolId::Crypto,
                rate_per_day: 0.5 / 30.4,
                night_share: 0.2,
                channel: Channel::Crypto,
            }));
        }
    }

    /// Remittances to the family at home (several relatives for an extended family).
    pub(super) fn diaspora(
        &mut self,
        arch: Archetype,
        o: CountryCode,
        kin: Option<u32>,
        surname: &'static str,
        payees: &mut SharedPayees,
        crng: &mut Rng,
    ) {
        let dsc = &self.ctx.sc.diaspora;
        let k = if arch == Archetype::DiasporaExtendedFamily {
            crng.random_range(dsc.extended_recipients[0]..=dsc.extended_recipients[1])
        } else {
            crng.random_range(1..=dsc.recipients_max)
        };
        let mut recips = Vec::new();
        if let Some(f) = kin {
            recips.push(f);
        } else if crng.random::<f64>() < self.ctx.sc.hubs.family_hub_share {
            recips.push(payees.household(self.b, crng, self.ctx.sc, o, surname));
        }
        while recips.len() < k as usize {
            let same = crng.random::<f64>() < dsc.same_surname_share;
            recips.push(self.b.add_person(o, RecipientKind::FamilyMember, same.then_some(surname)));
        }
        let monthly = lognormal(crng, dsc.monthly_amount_median, dsc.amount_sigma);
        let payday = *dsc.payday_days.choose(crng).expect("scenario validation: diaspora.payday_days is non-empty");
        let channel = pick_channel(crng, &dsc.channels);
        self.add(Behaviour::Family(Family { recipients: recips, monthly, payday, channel }));
    }

    /// A partner abroad and the in-laws, paid monthly and now and then.
    pub(super) fn partner(&mut self, rng: &mut Rng) {
        let pa = &self.ctx.sc.partner;
        let c = pick_country(rng, &pa.destinations);
        let partner = self.b.add_person(c, RecipientKind::Partner, None);
        let psur = surname_of(self.b.recipient_name(partner), Culture::of_country(c.as_str()));
        let k = rng.random_range(0..=pa.in_laws_max);
        let in_laws = (0..k).map(|_| self.b.add_person(c, RecipientKind::InLaw, Some(psur))).collect();
        let monthly = lognormal(rng, pa.monthly_amount_median, 0.4);
        self.add(Behaviour::Partner(Partner { partner, in_laws, monthly, day: rng.random_range(1..=28) }));
    }

    /// Donations, tuition or store credit to one or two community payees, for some customers.
    pub(super) fn community(&mut self, payees: &SharedPayees, crng: &mut Rng) {
        let h = &self.ctx.sc.hubs;
        if crng.random::<f64>() >= h.community_payer_share {
            return;
        }
        let n = crng.random_range(1..=2);
        let chosen = (0..n).map(|_| *payees.community.choose(crng).expect("validation: hubs.community_payees >= 1"));
        let chosen = chosen.collect();
        let rate_per_day = gamma_rate(crng, h.community_payments_per_year / 12.0) / 30.4;
        self.add(Behaviour::Community(Community { payees: chosen, rate_per_day, median: h.community_amount_median }));
    }

    /// Cam-site tokens at night, and for some tips to performers abroad.
    pub(super) fn adult_webcam(&mut self, payees: &mut SharedPayees, crng: &mut Rng) {
        let w = &self.ctx.sc.webcam;
        let rate = gamma_rate(crng, w.token_purchases_per_month) / 30.4;
        self.add(Behaviour::Merchant(Merchant {
            pool: PoolId::Cam,
            rate_per_day: rate,
            night_share: w.night_share,
            channel: Channel::Card,
        }));
        if crng.random::<f64>() < w.tipper_share {
            let k = crng.random_range(1..=w.performers_max);
            let n_days = self.ctx.cal.n_days as f64;
            let performers = (0..k)
                .map(|_| {
                    let c = pick_country(crng, &w.performer_countries);
                    let r = payees.performer(self.b, crng, self.ctx.sc, c);
                    let start = crng.random::<f64>() * n_days * 0.8;
                    let len = lognormal(crng, 120.0, 0.8);
                    Link { recipient: r, start, end: start + len, weight: 1.0 }
                })
                .collect();
            self.add(Behaviour::Tips(Tips { performers, rate_per_day: gamma_rate(crng, w.tips_per_month) / 30.4 }));
        }
    }

    /// Growing payments to a romance scammer, sometimes moving to a second one.
    pub(super) fn romance_victim(&mut self, crng: &mut Rng) {
        let r = &self.ctx.sc.romance;
        let c = pick_country(crng, &r.destinations);
        let first = self.b.add_person(c, RecipientKind::RomanceScammer, None);
        let second = self.b.add_person(pick_country(crng, &r.destinations), RecipientKind::RomanceScammer, None);
        let n_pay = crng.random_range(r.payments[0]..=r.payments[1]);
        let switch_at =
            if crng.random::<f64>() < r.new_recipient_share { crng.random_range(1..=n_pay) } else { u32::MAX };
        let start = crng.random::<f64>() * self.ctx.cal.n_days as f64 * 0.7;
        self.add(Behaviour::Romance(Romance {
            recipients: [first, second],
            n_pay,
            switch_at,
            t: start,
            k: 0,
            amount: lognormal(crng, r.first_amount_median, 0.4),
        }));
    }

    /// A monthly child sponsorship to an NGO, with the child's name in the reference.
    pub(super) fn child_sponsor(&mut self, crng: &mut Rng) {
        let s = &self.ctx.sc.sponsor;
        let ngo = ngo_recipient(self.b, crng, s.ngos, &s.ngo_countries);
        let amount =
            *s.monthly_amounts.choose(crng).expect("scenario validation: sponsor.monthly_amounts is non-empty");
        let child = Culture::Filipino.given_names().choose(crng).copied().expect("every culture has given names");
        let no: u32 = crng.random_range(10_000..99_999);
        let reference = self.b.intern(&format!("school fees {child} Pate {no}"));
        self.add(Behaviour::Sponsor(Sponsor { ngo, amount: cents(amount), day: crng.random_range(1..=3), reference }));
    }

    /// A burst of escalating payments to one sextortionist, up to a total.
    pub(super) fn sextortion_victim(&mut self, crng: &mut Rng) {
        let s = &self.ctx.sc.sextortion;
        let c = pick_country(crng, &s.destinations);
        let r = self.b.add_person(c, RecipientKind::Sextortionist, None);
        let k = crng.random_range(s.payments[0]..=s.payments[1]);
        let start = crng.random_range(0..self.ctx.cal.n_days.max(1));
        let mut total = 0.0;
        let mut plan = Vec::new();
        let mut amount = crng.random_range(30.0..s.first_payment_max);
        for _ in 0..k {
            if total + amount > s.total_max {
                break;
            }
            let day = start + crng.random_range(0..=s.burst_days_max);
            plan.push((day, cents((amount / 5.0).round() * 5.0)));
            total += amount;
            amount *= crng.random_range(1.0..1.8);
        }
        plan.sort_unstable();
        self.add(Behaviour::Sextortion(Sextortion { recipient: r, plan }));
    }

    /// A buyer's career: its rate, length and escalation, the facilitators it pays over
    /// time, and the partner abroad or trips some buyers also have.
    pub(super) fn buyer(&mut self, arch: Archetype, market: &mut FacilitatorMarket, crng: &mut Rng) {
        let (sc, cal) = (self.ctx.sc, self.ctx.cal);
        let bm = &sc.buyers;
        let n_days = cal.n_days as f64;
        let range = match arch {
            Archetype::HeavyBuyer => bm.heavy_per_month,
            Archetype::MediumBuyer => bm.medium_per_month,
            Archetype::LightBuyer => bm.light_per_month,
            // Stealthy buyers keep a steady medium-ish cadence.
            _ => [1.0, bm.medium_per_month[0].max(1.0) + 1.0],
        };
        let rate = crng.random_range(range[0]..=range[1]) / 30.4;
        let career =
            lognormal(crng, bm.career_median_months, 0.8).clamp(bm.career_months[0], bm.career_months[1]) * 30.4;
        let stealthy = arch == Archetype::StealthyBuyer;
        // One-off payers (R1) make one to three payments, all inside the period.
        let one_off = !stealthy && crng.random::<f64>() < bm.one_off_share;
        // Careers overlap the period; many started before it (§3.2: years-long careers).
        let start = if one_off {
            crng.random::<f64>() * (n_days - 30.0).max(1.0)
        } else {
            -career + crng.random::<f64>() * (n_days + career - 14.0).max(1.0)
        };
        let end = start + career;
        let esc = crng.random_range(bm.escalation[0]..=bm.escalation[1]);
        let remaining = if one_off { crng.random_range(1..=3) } else { u32::MAX };
        let mut links: Vec<Link> = Vec::new();
        let churn = bm.facilitator_months_mean * 30.4;
        let mut t = start;
        loop {
            let life = if stealthy { career } else { -churn * (1.0 - crng.random::<f64>()).ln() };
            let e = (t + life).min(end);
            let r = market.attach(crng, &links);
            links.push(Link { recipient: r, start: t, end: e, weight: 2.0 });
            if e >= end {
                break;
            }
            t = e;
        }
        if !stealthy && !one_off {
            for _ in 0..poisson(crng, bm.extra_facilitators_mean) {
                let s = start + crng.random::<f64>() * career;
                let life = -churn * (1.0 - crng.random::<f64>()).ln();
                let r = market.attach(crng, &links);
                links.push(Link { recipient: r, start: s, end: (s + life).min(end), weight: 1.0 });
            }
        }
        let stealth_amount =
            [50.0, 80.0, 100.0, 120.0, 150.0].choose(crng).copied().expect("a non-empty constant list");
        let stealth_day = crng.random_range(1..=28);
        self.add(Behaviour::Osec(Osec {
            heavy: arch == Archetype::HeavyBuyer,
            stealthy,
            rate_per_day: rate,
            career_start: start,
            career_end: end,
            escalation: esc,
            links,
            t: start.max(0.0),
            stealth_amount,
            stealth_day,
            remaining,
        }));
        if crng.random::<f64>() < bm.partner_abroad_share {
            self.partner(crng);
        }
        if crng.random::<f64>() < bm.travel_share {
            let trips = plan_trips(self.b, crng, self.ctx, Some(cc("PH")), 1.5);
            self.add(Behaviour::Trips(Trips { trips }));
        }
    }
}

pub(super) fn surname_of(full: &str, culture: Culture) -> &'static str {
    culture
        .surnames()
        .iter()
        .filter(|s| full.ends_with(&format!(" {s}")))
        .max_by_key(|s| s.len())
        .copied()
        .expect("a kin or partner name was made from this culture's surnames")
}

pub(super) fn ngo_recipient(b: &mut Builder, rng: &mut Rng, n: u32, countries: &CountryMix) -> u32 {
    // NGOs are shared by many sponsors: created once per (index), then reused.
    let i = rng.random_range(0..n) as usize;
    let name = NGO_NAMES[i % NGO_NAMES.len()];
    let name = if i >= NGO_NAMES.len() { format!("{name} {}", i / NGO_NAMES.len() + 1) } else { name.to_string() };
    if let Some(r) = b.ngos.get(&i) {
        return *r;
    }
    let mut crng = rng_for(b.seed, 0x460, i as u64);
    let c = pick_country(&mut crng, countries);
    let r = b.add_recipient(&name, c, RecipientKind::Ngo, 0);
    b.ngos.insert(i, r);
    r
}

/// Trips abroad (to `dest`, or to the scenario's destinations), with friends made there.
pub(super) fn plan_trips(
    b: &mut Builder,
    rng: &mut Rng,
    ctx: &Context<'_>,
    dest: Option<CountryCode>,
    per_year: f64,
) -> Vec<Trip> {
    let (cal, pools) = (ctx.cal, ctx.pools);
    let t = &ctx.sc.traveller;
    let years = cal.n_days as f64 / 365.0;
    let k = poisson(rng, per_year * years).max(1);
    let mut trips: Vec<Trip> = (0..k)
        .map(|_| {
            let c = dest.unwrap_or_else(|| pick_country(rng, &t.destinations));
            let start = rng.random_range(0..cal.n_days.max(1));
            let len = rng.random_range(t.trip_days[0]..=t.trip_days[1]);
            let nf = rng.random_range(0..=t.local_friends_max);
            let friends = (0..nf).map(|_| b.add_person(c, RecipientKind::LocalFriend, None)).collect();
            let airline = pick_member(rng, &pools.airlines).0;
            Trip { country: c, start, len, friends, airline }
        })
        .collect();
    trips.sort_by_key(|t| t.start);
    trips
}
