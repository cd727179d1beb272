//! Validation of a scenario: every range checked, the first problem reported with its field
//! path, its value and what is allowed, one function per section of the file.

use super::*;

impl Scenario {
    /// Check every range. The first problem found is reported with its field path.
    pub fn validate(&self, source_name: &str) -> Result<(), ScenarioError> {
        let mut v = Validator { source_name, error: None };
        v.institution(self);
        v.population(self);
        v.domestic_and_corridors(self);
        v.diaspora(self);
        v.confounders(self);
        v.buyers(self);
        v.facilitators_and_hubs(self);
        v.share("accounts.mover_share", self.accounts.mover_share);
        v.share("accounts.buyer_mover_share", self.accounts.buyer_mover_share);
        v.share("accounts.facilitator_wallet_move_share", self.accounts.facilitator_wallet_move_share);
        match v.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

struct Validator<'a> {
    source_name: &'a str,
    error: Option<ScenarioError>,
}

impl Validator<'_> {
    fn check(&mut self, ok: bool, field: &str, value: &str, allowed: &str) {
        if !ok && self.error.is_none() {
            self.error = Some(ScenarioError::Invalid {
                source_name: self.source_name.to_string(),
                field: field.to_string(),
                value: value.to_string(),
                allowed: allowed.to_string(),
            });
        }
    }
    fn share(&mut self, field: &str, x: f64) {
        self.check((0.0..=1.0).contains(&x), field, &x.to_string(), "a share between 0 and 1");
    }
    fn rate(&mut self, field: &str, x: f64, lo: f64, hi: f64) {
        self.check(
            x.is_finite() && x >= lo && x <= hi,
            field,
            &x.to_string(),
            &format!("a number between {lo} and {hi}"),
        );
    }
    fn amount(&mut self, field: &str, x: f64) {
        self.check(
            x.is_finite() && x > 0.0 && x < 1e7,
            field,
            &x.to_string(),
            "a positive amount in the base currency below 10,000,000",
        );
    }
    fn range_u(&mut self, field: &str, x: u64, lo: u64, hi: u64) {
        self.check(x >= lo && x <= hi, field, &x.to_string(), &format!("a whole number between {lo} and {hi}"));
    }
    fn pair_u(&mut self, field: &str, p: [u32; 2], lo: u32, hi: u32) {
        self.check(
            p[0] >= lo && p[0] <= p[1] && p[1] <= hi,
            field,
            &format!("{p:?}"),
            &format!("[min, max] with {lo} <= min <= max <= {hi}"),
        );
    }
    fn pair_f(&mut self, field: &str, p: [f64; 2], lo: f64, hi: f64) {
        self.check(
            p[0] >= lo && p[0] <= p[1] && p[1] <= hi,
            field,
            &format!("{p:?}"),
            &format!("[min, max] with {lo} <= min <= max <= {hi}"),
        );
    }
    fn mix(&mut self, field: &str, m: &CountryMix) {
        let ok = !m.is_empty() && m.values().all(|w| w.is_finite() && *w >= 0.0) && m.values().sum::<f64>() > 0.0;
        self.check(
            ok,
            field,
            &format!("{m:?}"),
            "a table of country codes to non-negative weights with a positive sum",
        );
    }
    fn channels(&mut self, field: &str, m: &BTreeMap<Channel, f64>) {
        let ok = !m.is_empty() && m.values().all(|w| w.is_finite() && *w >= 0.0) && m.values().sum::<f64>() > 0.0;
        self.check(ok, field, &format!("{m:?}"), "a table of channels (bank_transfer, mto, wallet, card, crypto, cash, other) to non-negative weights with a positive sum");
    }
}

impl Validator<'_> {
    /// The institution and the period.
    fn institution(&mut self, sc: &Scenario) {
        let i = &sc.institution;
        self.check(!i.name.trim().is_empty(), "institution.name", &i.name, "a non-empty name");
        self.check(
            i.timezone.parse::<chrono_tz::Tz>().is_ok(),
            "institution.timezone",
            &i.timezone,
            "an IANA time zone such as Europe/Berlin",
        );
        self.check(
            parse_date(&i.start_date).is_some(),
            "institution.start_date",
            &i.start_date,
            "a date YYYY-MM-DD between 1990 and 2100",
        );
        self.range_u("institution.months", i.months as u64, 1, 240);
        self.range_u("institution.customers", i.customers, 1, 100_000_000);
    }

    /// Shares of customers per archetype, and their sum.
    fn population(&mut self, sc: &Scenario) {
        let p = &sc.population;
        let shares = [
            ("population.diaspora_family", p.diaspora_family),
            ("population.partner_abroad", p.partner_abroad),
            ("population.adult_webcam", p.adult_webcam),
            ("population.romance_scam_victim", p.romance_scam_victim),
            ("population.child_sponsor", p.child_sponsor),
            ("population.traveller", p.traveller),
            ("population.sextortion_victim", p.sextortion_victim),
            ("population.buyer", p.buyer),
        ];
        for (f, s) in shares {
            self.share(f, s);
        }
        let total: f64 = shares.iter().map(|s| s.1).sum();
        self.check(
            total <= 1.0,
            "population (sum of shares)",
            &format!("{total:.4}"),
            "a sum of at most 1 (the rest are domestic_everyday customers)",
        );
    }

    /// Everyday domestic life, the corridors and the FX path.
    fn domestic_and_corridors(&mut self, sc: &Scenario) {
        let d = &sc.domestic;
        self.rate("domestic.card_payments_per_month", d.card_payments_per_month, 0.0, 200.0);
        self.share("domestic.rent_share", d.rent_share);
        self.amount("domestic.rent_median", d.rent_median);
        self.rate("domestic.friend_transfers_per_month", d.friend_transfers_per_month, 0.0, 100.0);
        self.amount("domestic.friend_amount_median", d.friend_amount_median);
        self.share("domestic.vpn_subscriber_share", d.vpn_subscriber_share);
        self.share("domestic.cam_site_share", d.cam_site_share);
        self.share("domestic.crypto_buyer_share", d.crypto_buyer_share);
        self.range_u("domestic.merchants", d.merchants as u64, 10, 1_000_000);
        self.check(
            !sc.corridors.high_risk.is_empty(),
            "corridors.high_risk",
            "[]",
            "a non-empty list of country codes",
        );
        self.mix("corridors.osec_destinations", &sc.corridors.osec_destinations);
        self.rate("fx.php_per_base", sc.fx.php_per_base, 0.001, 1e6);
        self.rate("fx.daily_volatility", sc.fx.daily_volatility, 0.0, 0.1);
    }

    /// Diaspora remittances.
    fn diaspora(&mut self, sc: &Scenario) {
        let di = &sc.diaspora;
        self.mix("diaspora.origins", &di.origins);
        self.amount("diaspora.monthly_amount_median", di.monthly_amount_median);
        self.rate("diaspora.amount_sigma", di.amount_sigma, 0.0, 3.0);
        self.range_u("diaspora.recipients_max", di.recipients_max as u64, 1, 3);
        self.share("diaspora.extended_family_share", di.extended_family_share);
        self.pair_u("diaspora.extended_recipients", di.extended_recipients, 2, 20);
        self.share("diaspora.same_surname_share", di.same_surname_share);
        self.check(
            !di.payday_days.is_empty() && di.payday_days.iter().all(|d| (1..=28).contains(d)),
            "diaspora.payday_days",
            &format!("{:?}", di.payday_days),
            "a non-empty list of days of month between 1 and 28",
        );
        self.range_u("diaspora.payday_jitter_days", di.payday_jitter_days as u64, 0, 10);
        self.rate("diaspora.extras_per_month", di.extras_per_month, 0.0, 30.0);
        self.amount("diaspora.extra_amount_median", di.extra_amount_median);
        self.rate("diaspora.december_multiplier", di.december_multiplier, 0.1, 10.0);
        self.share("diaspora.night_share", di.night_share);
        self.channels("diaspora.channels", &di.channels);
    }

    /// The other look-alikes: partners, webcam consumers, romance-scam victims, sponsors, travellers, sextortion victims.
    fn confounders(&mut self, sc: &Scenario) {
        let pa = &sc.partner;
        self.mix("partner.destinations", &pa.destinations);
        self.amount("partner.monthly_amount_median", pa.monthly_amount_median);
        self.range_u("partner.in_laws_max", pa.in_laws_max as u64, 0, 10);
        self.rate("partner.extras_per_month", pa.extras_per_month, 0.0, 30.0);
        self.share("partner.night_share", pa.night_share);
        let w = &sc.webcam;
        self.rate("webcam.token_purchases_per_month", w.token_purchases_per_month, 0.0, 100.0);
        self.amount("webcam.token_amount_median", w.token_amount_median);
        self.share("webcam.tipper_share", w.tipper_share);
        self.rate("webcam.tips_per_month", w.tips_per_month, 0.0, 100.0);
        self.amount("webcam.tip_amount_median", w.tip_amount_median);
        self.range_u("webcam.performers_max", w.performers_max as u64, 1, 50);
        self.mix("webcam.performer_countries", &w.performer_countries);
        self.share("webcam.night_share", w.night_share);
        let r = &sc.romance;
        self.mix("romance.destinations", &r.destinations);
        self.amount("romance.first_amount_median", r.first_amount_median);
        self.rate("romance.growth_per_payment", r.growth_per_payment, 1.0, 3.0);
        self.pair_u("romance.payments", r.payments, 1, 200);
        self.rate("romance.days_between_median", r.days_between_median, 0.5, 120.0);
        self.share("romance.new_recipient_share", r.new_recipient_share);
        self.amount("romance.max_amount", r.max_amount);
        let s = &sc.sponsor;
        self.range_u("sponsor.ngos", s.ngos as u64, 1, 10_000);
        self.mix("sponsor.ngo_countries", &s.ngo_countries);
        self.check(
            !s.monthly_amounts.is_empty() && s.monthly_amounts.iter().all(|a| *a > 0.0 && *a < 1e6),
            "sponsor.monthly_amounts",
            &format!("{:?}", s.monthly_amounts),
            "a non-empty list of positive amounts",
        );
        let t = &sc.traveller;
        self.rate("traveller.trips_per_year", t.trips_per_year, 0.0, 50.0);
        self.pair_u("traveller.trip_days", t.trip_days, 1, 365);
        self.mix("traveller.destinations", &t.destinations);
        self.range_u("traveller.local_friends_max", t.local_friends_max as u64, 0, 20);
        self.amount("traveller.transfer_amount_median", t.transfer_amount_median);
        self.rate("traveller.transfers_per_month_after", t.transfers_per_month_after, 0.0, 30.0);
        let sx = &sc.sextortion;
        self.mix("sextortion.destinations", &sx.destinations);
        self.pair_u("sextortion.payments", sx.payments, 1, 50);
        self.range_u("sextortion.burst_days_max", sx.burst_days_max as u64, 1, 60);
        self.amount("sextortion.first_payment_max", sx.first_payment_max);
        self.amount("sextortion.total_max", sx.total_max);
        self.share("sextortion.night_share", sx.night_share);
    }

    /// Buyers.
    fn buyers(&mut self, sc: &Scenario) {
        let b = &sc.buyers;
        self.share("buyers.class_mix.light", b.class_mix.light);
        self.share("buyers.class_mix.medium", b.class_mix.medium);
        self.share("buyers.class_mix.heavy", b.class_mix.heavy);
        let cm = b.class_mix.light + b.class_mix.medium + b.class_mix.heavy;
        self.check(cm > 0.0, "buyers.class_mix", &format!("{cm}"), "weights with a positive sum");
        self.pair_f("buyers.light_per_month", b.light_per_month, 0.01, 200.0);
        self.pair_f("buyers.medium_per_month", b.medium_per_month, 0.01, 200.0);
        self.pair_f("buyers.heavy_per_month", b.heavy_per_month, 0.01, 200.0);
        self.rate("buyers.career_median_months", b.career_median_months, 0.5, 240.0);
        self.pair_f("buyers.career_months", b.career_months, 0.5, 480.0);
        self.pair_f("buyers.escalation", b.escalation, 1.0, 10.0);
        self.amount("buyers.amount_median", b.amount_median);
        self.check(
            b.amount_p95 > b.amount_median,
            "buyers.amount_p95",
            &b.amount_p95.to_string(),
            "an amount above buyers.amount_median",
        );
        self.share("buyers.round_php_share", b.round_php_share);
        self.check(
            !b.round_php_prices.is_empty() && b.round_php_prices.iter().all(|p| *p > 0),
            "buyers.round_php_prices",
            &format!("{:?}", b.round_php_prices),
            "a non-empty list of positive PHP prices",
        );
        self.share("buyers.round_base_share", b.round_base_share);
        self.check(
            b.round_php_share + b.round_base_share <= 1.0,
            "buyers.round_base_share",
            &b.round_base_share.to_string(),
            "at most 1 - buyers.round_php_share",
        );
        self.share("buyers.bundle_share_heavy", b.bundle_share_heavy);
        self.pair_f("buyers.bundle_amount", b.bundle_amount, 1.0, 1e6);
        self.share("buyers.night_share", b.night_share);
        self.rate("buyers.weekend_uplift", b.weekend_uplift, 0.1, 10.0);
        self.share("buyers.cover_reference_share", b.cover_reference_share);
        self.channels("buyers.channels", &b.channels);
        self.rate("buyers.extra_facilitators_mean", b.extra_facilitators_mean, 0.0, 50.0);
        self.rate("buyers.facilitator_months_mean", b.facilitator_months_mean, 0.1, 240.0);
        self.share("buyers.vpn_share", b.vpn_share);
        self.share("buyers.cam_token_share", b.cam_token_share);
        self.share("buyers.travel_share", b.travel_share);
        self.share("buyers.partner_abroad_share", b.partner_abroad_share);
        self.share("buyers.stealthy_share", b.stealthy_share);
        self.share("buyers.one_off_share", b.one_off_share);
    }

    /// Facilitators and honest hubs.
    fn facilitators_and_hubs(&mut self, sc: &Scenario) {
        let f = &sc.facilitators;
        self.rate("facilitators.per_buyer", f.per_buyer, 0.01, 100.0);
        self.rate("facilitators.attachment_smoothing", f.attachment_smoothing, 0.01, 1000.0);
        self.share("facilitators.victim_direct_share", f.victim_direct_share);
        self.share("facilitators.family_income_share", f.family_income_share);
        let h = &sc.hubs;
        self.share("hubs.family_hub_share", h.family_hub_share);
        self.pair_u("hubs.family_hub_payers", h.family_hub_payers, 2, 20);
        self.range_u("hubs.community_payees", h.community_payees as u64, 1, 100_000);
        self.share("hubs.community_payer_share", h.community_payer_share);
        self.rate("hubs.community_payments_per_year", h.community_payments_per_year, 0.0, 365.0);
        self.amount("hubs.community_amount_median", h.community_amount_median);
        self.share("hubs.shared_performer_share", h.shared_performer_share);
    }
}
