//! The feature catalogue, and the computation of every feature from entity state.
//!
//! A feature is a number a rule can read by name (`sender.corridor_count_90d`). The
//! catalogue (one enum, [`Feature`]) gives each its name, how it is shown in an explanation
//! ([`ValueKind`]) and its meaning; `osecwatch` prints that list for analysts. The values
//! of one payment live in a [`Values`] array indexed by the enum.
//!
//! Computation: sender features in one pass over the sender's corridor payments
//! ([`WindowCounts`] gathers counts per window, then one step writes the values);
//! the costlier ones are worked out only if some rule of the pack reads them
//! ([`FeatureDemand`]). Recipient features from the recipient's inbound payments; payment
//! features from the current payment's [`PaymentFacts`].

use crate::facts::PaymentFacts;
use crate::rules::RulePack;
use crate::state::{SenderState, DAY, F_COVER, F_FAMILY, F_NIGHT, F_ORG, F_ROUND, F_SMALL, S_CAM, S_TRAVEL, S_VPN};
use crate::Engine;
use osecwatch_model::{Channel, CountryCode, Money, Timestamp, TxnRow};
use rustc_hash::{FxHashMap, FxHashSet};

macro_rules! features {
    ($( $id:ident = $name:literal, $kind:ident, $doc:literal; )*) => {
        /// Every feature a rule can use, by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Feature { $( #[doc = $doc] $id, )* }

        impl Feature {
            /// Every feature, in catalogue order (the order of [`Values`]).
            pub const ALL: &'static [Feature] = &[ $( Feature::$id, )* ];
            /// The name rule files use.
            pub fn name(self) -> &'static str {
                match self { $( Feature::$id => $name, )* }
            }
            /// How the value is shown in an explanation.
            pub fn kind(self) -> ValueKind {
                match self { $( Feature::$id => ValueKind::$kind, )* }
            }
            /// What the feature means, in plain words.
            pub fn doc(self) -> &'static str {
                match self { $( Feature::$id => $doc, )* }
            }
            /// Whether the feature is computed from other entities' risk (the network
            /// layer): rules that read one do not count towards an entity's own risk.
            pub fn is_network(self) -> bool {
                self.name().contains("network_risk")
                    || self.name().contains("risky_payers")
                    || self.name() == "payment.recipient_other_payers"
                    || self.name() == "recipient.alerted_senders_90d"
                    // Another account's evidence is not this account's own: counted as its
                    // own, one person would be two risky payers of the same recipient.
                    || self.name().starts_with("sender.linked_")
                    || self.name().ends_with("linked_known")
            }
            /// The feature a rule file names, if any.
            pub fn by_name(name: &str) -> Option<Feature> {
                match name { $( $name => Some(Feature::$id), )* _ => None }
            }
        }
        /// Number of features (the length of [`Values`]).
        pub const N_FEATURES: usize = [$( Feature::$id, )*].len();
    };
}

/// How a feature value is shown in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number.
    Count,
    /// An amount in the base currency.
    Money,
    /// A share, shown as a percentage.
    Share,
    /// A ratio with two decimals.
    Ratio,
    /// Yes or no.
    Flag,
}

features! {
    CorridorCount1 = "sender.corridor_count_1d", Count, "transfers to high-risk countries in 24 hours";
    CorridorCount7 = "sender.corridor_count_7d", Count, "transfers to high-risk countries in 7 days";
    CorridorCount30 = "sender.corridor_count_30d", Count, "transfers to high-risk countries in 30 days";
    CorridorCount90 = "sender.corridor_count_90d", Count, "transfers to high-risk countries in 90 days";
    CorridorCount365 = "sender.corridor_count_365d", Count, "transfers to high-risk countries in 365 days";
    SmallCount30 = "sender.small_corridor_count_30d", Count, "small transfers to high-risk countries in 30 days";
    SmallCount90 = "sender.small_corridor_count_90d", Count, "small transfers to high-risk countries in 90 days";
    CorridorSum30 = "sender.corridor_sum_30d", Money, "sum sent to high-risk countries in 30 days";
    CorridorSum90 = "sender.corridor_sum_90d", Money, "sum sent to high-risk countries in 90 days";
    Recipients30 = "sender.distinct_recipients_30d", Count, "distinct corridor recipients in 30 days";
    Recipients90 = "sender.distinct_recipients_90d", Count, "distinct corridor recipients in 90 days";
    Recipients365 = "sender.distinct_recipients_365d", Count, "distinct corridor recipients in 365 days";
    Unrelated90 = "sender.unrelated_recipients_90d", Count, "distinct corridor recipients in 90 days who share no surname with the sender and are not organisations";
    Countries90 = "sender.distinct_countries_90d", Count, "distinct high-risk countries paid in 90 days";
    Median90 = "sender.median_amount_90d", Money, "median corridor transfer in 90 days";
    SmallShare90 = "sender.small_share_90d", Share, "share of corridor transfers that are small, 90 days";
    RoundShare90 = "sender.round_share_90d", Share, "share of corridor transfers with round amounts (in the base currency or in PHP after conversion), 90 days";
    NightCount90 = "sender.night_count_90d", Count, "corridor transfers at night (sender-local), 90 days";
    NightShare90 = "sender.night_share_90d", Share, "share of corridor transfers at night, 90 days";
    CoverCount90 = "sender.cover_ref_count_90d", Count, "corridor transfers with a cover-story reference, 90 days";
    CoverShare90 = "sender.cover_ref_share_90d", Share, "share of corridor transfers with a cover-story reference, 90 days";
    GapCv365 = "sender.gap_cv_365d", Ratio, "coefficient of variation of days between corridor transfers, 365 days";
    MaxPerMonth90 = "sender.max_per_month_90d", Count, "most corridor transfers in one calendar month, 90 days";
    PaydayShare = "sender.payday_share_365d", Share, "share of corridor transfers in the year made within two days of the sender's most common day of the month (payday remittances cluster there; at least 4 transfers)";
    MonthlyPattern = "sender.monthly_pattern_share", Share, "share of repeat payments to the same recipient 25-35 days apart (payday cadence), 365 days";
    AmountTrend180 = "sender.amount_trend_180d", Ratio, "Kendall trend of corridor amounts over 180 days (-1 falling to +1 rising)";
    RateRatio = "sender.rate_ratio_90d", Ratio, "corridor transfers in the last 90 days over the 90 days before";
    FamilyShare90 = "sender.surname_match_share_90d", Share, "share of corridor transfers to recipients sharing the sender's surname, 90 days";
    MaxToOneUnrelated30 = "sender.max_to_one_unrelated_30d", Count, "the most small corridor transfers in 30 days to one recipient who shares no surname with the sender and is not an organisation (sessions bought from one person, R13: several payments a month to the same non-family beneficiary)";
    FamilyMonths365 = "sender.family_months_365d", Count, "calendar months in 365 days with a corridor transfer to a person sharing the sender's surname (an established family remittance)";
    FamilyMonthShare365 = "sender.family_month_share_365d", Share, "of the calendar months from the sender's first corridor transfer in 365 days to its latest, the share with a transfer to a person sharing the sender's surname";
    OrgShare90 = "sender.org_recipient_share_90d", Share, "share of corridor transfers to organisations, 90 days";
    Vpn90 = "sender.vpn_90d", Count, "payments to VPN/anonymity merchants in 90 days";
    Cam90 = "sender.cam_90d", Count, "payments to cam-site/dating merchants in 90 days";
    SideSpend90 = "sender.side_spend_90d", Count, "payments to VPN, anonymity or cam-site merchants in 90 days";
    Travel365 = "sender.travel_365d", Count, "flights, hotels or card spending in high-risk countries in 365 days";
    SharedRecipients90 = "sender.shared_recipients_90d", Count, "corridor recipients (90 days) also paid small amounts by at least two other unrelated senders";
    Watchlist = "sender.on_watchlist", Flag, "sender is on the configured watch list";
    PayAmount = "payment.amount", Money, "amount of this payment";
    PayNight = "payment.is_night", Flag, "this payment was made at night";
    PayNovelRecipient = "payment.novel_recipient", Flag, "first payment to this recipient in 365 days";
    PayNovelCountry = "payment.novel_country", Flag, "first payment to this country in 365 days";
    PayCover = "payment.cover_ref", Flag, "this payment's reference matches the cover-story list";
    PayFamily = "payment.surname_match", Flag, "sender and recipient share a surname";
    RSenders90 = "recipient.distinct_senders_90d", Count, "distinct senders paying this recipient small cross-border amounts, 90 days";
    RUnrelated90 = "recipient.unrelated_senders_90d", Count, "of those, senders sharing no surname with the recipient";
    RSmallCount90 = "recipient.small_inbound_count_90d", Count, "small cross-border payments received, 90 days";
    RNightShare90 = "recipient.inbound_night_share_90d", Share, "share of those sent at night (sender-local)";
    RMedian90 = "recipient.median_inbound_90d", Money, "median small inbound payment, 90 days";
    RAlerted90 = "recipient.alerted_senders_90d", Count, "senders with an open buyer alert who paid this recipient, 90 days";
    RIsOrg = "recipient.is_organisation", Flag, "recipient's name is an organisation's (e.V., Inc, Foundation...)";
    PayRecipientRisk = "payment.recipient_network_risk", Share, "how far the risky payers of this payment's recipient exceed chance: 1 - P(at least k of its n other unrelated payers of 365 days risky, at a 10 % background rate), each payer judged on its own evidence alone; at most 50 % unless two are risky; for a recipient with at most 10 such payers, at least 1 - P(at least k of n suspects at 25 %) when three or more score 30 on their own; halved for organisations";
    PayRecipientRisky = "payment.recipient_risky_payers", Count, "other unrelated payers of this payment's recipient in 365 days on whose own evidence its network risk rests: those scoring at least 60 (clearly past the buyer review threshold), or, where three or more of at most ten score at least 30 and that weighs more, those";
    PayRecipientPayers = "payment.recipient_other_payers", Count, "other unrelated payers of this payment's recipient in 365 days";
    MaxRecipientRisk365 = "sender.max_recipient_risk_365d", Share, "the highest network risk among the recipients the sender paid in 365 days, from their other payers";
    RNetworkRisk = "recipient.network_risk", Share, "how far this recipient's risky payers exceed chance (as payment.recipient_network_risk, from all its payers)";
    RRiskyPayers365 = "recipient.risky_payers_365d", Count, "unrelated payers in 365 days on whose own evidence the recipient's network risk rests (as payment.recipient_risky_payers, from all its payers)";
    RUnrelatedPayers365 = "recipient.unrelated_payers_365d", Count, "distinct payers in 365 days who share no surname with the recipient";
    PayRecipientConfirmed = "payment.recipient_confirmed", Flag, "this payment's recipient was confirmed as a facilitator elsewhere (a seed: another bank's report, a police request)";
    RConfirmed = "recipient.confirmed", Flag, "the recipient was confirmed as a facilitator elsewhere (a seed)";
    PayRecipientLinkedKnown = "payment.recipient_linked_known", Flag, "this payment's recipient has the same name and country as a known or confirmed facilitator and shares a payer with it (a new wallet of the same holder)";
    RLinkedKnown = "recipient.linked_known", Flag, "the recipient has the same name and country as a known or confirmed facilitator and shares a payer with it (a new wallet of the same holder)";
    LinkedAccounts = "sender.linked_accounts", Count, "other accounts of the same customer (a customer file's same-party link) that the engine holds state for";
    LinkedOwnRisk = "sender.linked_max_own_risk", Share, "the highest buyer risk from their own evidence (0-1) among the other accounts of the same customer (customer file)";
}

/// The value of every feature for one payment, indexed by [`Feature`].
pub type Values = [f64; N_FEATURES];

/// Reused buffers for the per-payment feature computation, so scoring a payment does
/// not allocate.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) recipients_30d: FxHashSet<u32>,
    pub(crate) recipients_90d: FxHashSet<u32>,
    pub(crate) recipients_365d: FxHashSet<u32>,
    pub(crate) unrelated: FxHashSet<u32>,
    pub(crate) countries: Vec<[u8; 2]>,
    pub(crate) amounts: Vec<i64>,
    pub(crate) times: Vec<i64>,
    pub(crate) trend: Vec<i64>,
    pub(crate) months: FxHashMap<i32, u32>,
    pub(crate) last_by_recipient: FxHashMap<u32, i32>,
    pub(crate) seen_recipients: Vec<u32>,
    pub(crate) unrelated_30d: FxHashMap<u32, u32>,
}

/// Distinct senders among a recipient's inbound payments, counted without hashing: one
/// stamp per sender slot, valid for the current round, with a bit per set. A hub keeps up to
/// [`crate::state::MAX_INBOUND`] inbound payments and is looked at on every payment to it, so
/// three hash sets and a sort per payment made a hub's payments several times dearer than
/// others; marks make the distinct counts one array access per inbound payment.
#[derive(Default)]
pub(crate) struct Marks {
    stamp: Vec<u32>,
    bits: Vec<u8>,
    round: u32,
}

/// [`Marks`] sets: any sender, an unrelated sender, an alerted sender.
pub(crate) const M_ANY: u8 = 1;
/// See [`M_ANY`].
pub(crate) const M_UNRELATED: u8 = 2;
/// See [`M_ANY`].
pub(crate) const M_ALERTED: u8 = 4;

impl Marks {
    /// Start a new count over senders with slots below `n_senders`.
    pub(crate) fn begin(&mut self, n_senders: usize) {
        if self.stamp.len() < n_senders {
            self.stamp.resize(n_senders, 0);
            self.bits.resize(n_senders, 0);
        }
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.stamp.fill(0);
            self.round = 1;
        }
    }

    /// Put sender `s` in set `bit`; true if it was not in it yet this round.
    #[inline]
    pub(crate) fn insert(&mut self, s: u32, bit: u8) -> bool {
        let i = s as usize;
        if self.stamp[i] != self.round {
            self.stamp[i] = self.round;
            self.bits[i] = 0;
        }
        let new = self.bits[i] & bit == 0;
        self.bits[i] |= bit;
        new
    }
}

impl Scratch {
    fn clear(&mut self) {
        self.recipients_30d.clear();
        self.recipients_90d.clear();
        self.recipients_365d.clear();
        self.unrelated.clear();
        self.countries.clear();
        self.amounts.clear();
        self.times.clear();
        self.trend.clear();
        self.months.clear();
        self.last_by_recipient.clear();
        self.seen_recipients.clear();
        self.unrelated_30d.clear();
    }
}

/// Which of the costlier sender features to work out: while scoring, those the pack
/// reads; for a profile, all of them.
struct FeatureDemand {
    recipients_30d: bool,
    recipients_90d: bool,
    recipients_365d: bool,
    unrelated: bool,
    countries: bool,
    amounts: bool,
    times: bool,
    months: bool,
    gaps: bool,
    day_of_month: bool,
    trend: bool,
    shared: bool,
    network: bool,
    to_one_unrelated: bool,
    family_months: bool,
}

impl FeatureDemand {
    /// What the pack reads, or everything (`all`, for a profile).
    fn of(pack: &RulePack, all: bool) -> FeatureDemand {
        let u = |f: Feature| all || pack.uses(f);
        FeatureDemand {
            recipients_30d: u(Feature::Recipients30),
            recipients_90d: u(Feature::Recipients90) || u(Feature::SharedRecipients90),
            recipients_365d: u(Feature::Recipients365),
            unrelated: u(Feature::Unrelated90),
            countries: u(Feature::Countries90),
            amounts: u(Feature::Median90),
            times: u(Feature::GapCv365),
            months: u(Feature::MaxPerMonth90),
            gaps: u(Feature::MonthlyPattern),
            day_of_month: u(Feature::PaydayShare),
            trend: u(Feature::AmountTrend180),
            shared: u(Feature::SharedRecipients90),
            network: u(Feature::MaxRecipientRisk365),
            to_one_unrelated: u(Feature::MaxToOneUnrelated30),
            family_months: u(Feature::FamilyMonths365) || u(Feature::FamilyMonthShare365),
        }
    }
}

/// Counts over a sender's corridor payments, per window, gathered in one pass (the sets and
/// lists the demanded features need go to [`Scratch`]).
#[derive(Default)]
struct WindowCounts {
    count_1d: u32,
    count_7d: u32,
    count_30d: u32,
    count_90d: u32,
    count_365d: u32,
    /// Payments 91-180 days old: the 90 days before the last 90.
    count_previous_90d: u32,
    small_30d: u32,
    small_90d: u32,
    sum_30d: i64,
    sum_90d: i64,
    night_90d: u32,
    cover_90d: u32,
    round_90d: u32,
    family_90d: u32,
    org_90d: u32,
    /// Calendar months (year * 12 + month, modulo 32: 13 months at most fit) with a
    /// transfer to a person sharing the sender's surname, 365 days.
    family_months: u32,
    /// Calendar months of the oldest and the newest corridor transfer in 365 days.
    first_month: Option<i32>,
    last_month: i32,
    /// Payday clustering: payments per day of the month over the year.
    by_day_of_month: [u32; 31],
    /// Payday cadence: gaps between repeat payments to the same recipient, and how many of
    /// them are 25-35 days.
    monthly_gaps: u32,
    repeat_gaps: u32,
}

impl WindowCounts {
    fn gather(ss: &SenderState, now: i64, d: &FeatureDemand, sc: &mut Scratch) -> WindowCounts {
        let mut w = WindowCounts::default();
        for p in ss.corridor.iter() {
            let age = now - p.utc;
            if age <= 365 * DAY {
                w.count_365d += 1;
                if d.family_months {
                    if p.flags & (F_FAMILY | F_ORG) == F_FAMILY {
                        w.family_months |= 1 << p.month.rem_euclid(32);
                    }
                    w.first_month.get_or_insert(p.month);
                    w.last_month = p.month;
                }
                if d.recipients_365d {
                    sc.recipients_365d.insert(p.recipient);
                }
                if d.times {
                    sc.times.push(p.utc);
                }
                if d.day_of_month {
                    w.by_day_of_month[(p.dom as usize).clamp(1, 31) - 1] += 1;
                }
                if d.gaps {
                    if let Some(prev) = sc.last_by_recipient.insert(p.recipient, p.local_day) {
                        let g = p.local_day - prev;
                        if g >= 2 {
                            w.repeat_gaps += 1;
                            w.monthly_gaps += (25..=35).contains(&g) as u32;
                        }
                    }
                }
            }
            if age > 90 * DAY && age <= 180 * DAY {
                w.count_previous_90d += 1;
            }
            if d.trend && age <= 180 * DAY {
                sc.trend.push(p.amount);
            }
            if age <= 90 * DAY {
                w.count_90d += 1;
                w.sum_90d += p.amount;
                if d.recipients_90d {
                    sc.recipients_90d.insert(p.recipient);
                }
                if d.unrelated && p.flags & (F_FAMILY | F_ORG) == 0 {
                    sc.unrelated.insert(p.recipient);
                }
                if d.countries && !sc.countries.contains(&p.country) {
                    sc.countries.push(p.country);
                }
                if d.amounts {
                    sc.amounts.push(p.amount);
                }
                w.small_90d += (p.flags & F_SMALL != 0) as u32;
                w.night_90d += (p.flags & F_NIGHT != 0) as u32;
                w.cover_90d += (p.flags & F_COVER != 0) as u32;
                w.round_90d += (p.flags & F_ROUND != 0) as u32;
                w.family_90d += (p.flags & F_FAMILY != 0) as u32;
                w.org_90d += (p.flags & F_ORG != 0) as u32;
                if d.months {
                    *sc.months.entry(p.month).or_default() += 1;
                }
            }
            if age <= 30 * DAY {
                w.count_30d += 1;
                w.sum_30d += p.amount;
                if d.recipients_30d {
                    sc.recipients_30d.insert(p.recipient);
                }
                w.small_30d += (p.flags & F_SMALL != 0) as u32;
                if d.to_one_unrelated && p.flags & (F_SMALL | F_FAMILY | F_ORG) == F_SMALL {
                    *sc.unrelated_30d.entry(p.recipient).or_default() += 1;
                }
            }
            if age <= 7 * DAY {
                w.count_7d += 1;
            }
            if age <= DAY {
                w.count_1d += 1;
            }
        }
        w
    }

    /// Months with a family transfer over the months the sender's corridor history spans.
    /// The first and the latest month count only if they hold one: history may start after
    /// that month's payday, and the latest month may not have reached it yet.
    fn family_month_share(&self) -> f64 {
        let Some(first) = self.first_month else { return 0.0 };
        let family = self.family_months.count_ones();
        let has = |m: i32| self.family_months & (1 << m.rem_euclid(32)) != 0;
        let mut months = (self.last_month - first + 1).clamp(1, 13) as u32;
        if !has(first) {
            months -= 1;
        }
        if self.last_month != first && !has(self.last_month) {
            months -= 1;
        }
        if months == 0 {
            0.0
        } else {
            f64::from(family) / f64::from(months)
        }
    }

    /// The busiest 5-day window of the month (wrapping at month end), at least 4 payments.
    fn payday_share(&self, demanded: bool) -> f64 {
        if self.count_365d < 4 || !demanded {
            return 0.0;
        }
        let by_dom = &self.by_day_of_month;
        let best = (0..31).map(|c| (0..5).map(|k| by_dom[(c + 31 + k - 2) % 31]).sum::<u32>()).max().unwrap_or(0);
        best as f64 / self.count_365d as f64
    }
}

fn share(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Engine {
    /// The sender's feature values into `self.values` (all of them if `all`, else those the
    /// pack reads; the rest are 0).
    pub(crate) fn sender_features(&mut self, s: u32, now: i64, all: bool) {
        let d = FeatureDemand::of(&self.pack, all);
        let mut sc = std::mem::take(&mut self.scratch);
        sc.clear();
        let ss = &self.entities.sender_state[s as usize];
        let w = WindowCounts::gather(ss, now, &d, &mut sc);
        let shared = if d.shared { self.shared_recipients(&sc, s, now) } else { 0 };
        let network = if d.network { self.max_recipient_risk(s, now, &mut sc.seen_recipients) } else { 0.0 };
        let (linked, linked_risk) = self.linked_accounts(s);
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        let x = &mut self.values;
        x.fill(0.0);
        x[Feature::LinkedAccounts as usize] = linked as f64;
        x[Feature::LinkedOwnRisk as usize] = linked_risk;
        let side90 = |k: u8| ss.side.iter().filter(|(t, kk)| *kk == k && now - t <= 90 * DAY).count() as f64;
        x[Feature::CorridorCount1 as usize] = w.count_1d as f64;
        x[Feature::CorridorCount7 as usize] = w.count_7d as f64;
        x[Feature::CorridorCount30 as usize] = w.count_30d as f64;
        x[Feature::CorridorCount90 as usize] = w.count_90d as f64;
        x[Feature::CorridorCount365 as usize] = w.count_365d as f64;
        x[Feature::SmallCount30 as usize] = w.small_30d as f64;
        x[Feature::SmallCount90 as usize] = w.small_90d as f64;
        x[Feature::CorridorSum30 as usize] = w.sum_30d as f64 / unit;
        x[Feature::CorridorSum90 as usize] = w.sum_90d as f64 / unit;
        x[Feature::Recipients30 as usize] = sc.recipients_30d.len() as f64;
        x[Feature::Recipients90 as usize] = sc.recipients_90d.len() as f64;
        x[Feature::Recipients365 as usize] = sc.recipients_365d.len() as f64;
        x[Feature::Unrelated90 as usize] = sc.unrelated.len() as f64;
        x[Feature::Countries90 as usize] = sc.countries.len() as f64;
        x[Feature::Median90 as usize] = median(&mut sc.amounts) / unit;
        x[Feature::SmallShare90 as usize] = share(w.small_90d, w.count_90d);
        x[Feature::RoundShare90 as usize] = share(w.round_90d, w.count_90d);
        x[Feature::NightCount90 as usize] = w.night_90d as f64;
        x[Feature::NightShare90 as usize] = share(w.night_90d, w.count_90d);
        x[Feature::CoverCount90 as usize] = w.cover_90d as f64;
        x[Feature::CoverShare90 as usize] = share(w.cover_90d, w.count_90d);
        x[Feature::GapCv365 as usize] = gap_cv(&sc.times);
        x[Feature::MaxPerMonth90 as usize] = sc.months.values().copied().max().unwrap_or(0) as f64;
        x[Feature::MonthlyPattern as usize] = share(w.monthly_gaps, w.repeat_gaps);
        x[Feature::PaydayShare as usize] = w.payday_share(d.day_of_month);
        x[Feature::AmountTrend180 as usize] = if sc.trend.len() >= 6 { kendall_tau(&sc.trend) } else { 0.0 };
        x[Feature::RateRatio as usize] =
            if w.count_previous_90d == 0 { 0.0 } else { w.count_90d as f64 / w.count_previous_90d as f64 };
        x[Feature::FamilyShare90 as usize] = share(w.family_90d, w.count_90d);
        x[Feature::FamilyMonths365 as usize] = w.family_months.count_ones() as f64;
        x[Feature::MaxToOneUnrelated30 as usize] = sc.unrelated_30d.values().copied().max().unwrap_or(0) as f64;
        x[Feature::FamilyMonthShare365 as usize] = w.family_month_share();
        x[Feature::OrgShare90 as usize] = share(w.org_90d, w.count_90d);
        x[Feature::Vpn90 as usize] = side90(S_VPN);
        x[Feature::Cam90 as usize] = side90(S_CAM);
        x[Feature::SideSpend90 as usize] = side90(S_VPN) + side90(S_CAM);
        x[Feature::Travel365 as usize] = ss.side.iter().filter(|(_, k)| *k == S_TRAVEL).count() as f64;
        x[Feature::SharedRecipients90 as usize] = shared as f64;
        x[Feature::Watchlist as usize] = ss.on_watchlist as u8 as f64;
        x[Feature::MaxRecipientRisk365 as usize] = network;
        self.scratch = sc;
    }

    /// Of the sender's recipients in 90 days (`sc.recipients_90d`), those that are not
    /// organisations and are also paid small amounts by at least two other unrelated senders.
    fn shared_recipients(&self, sc: &Scratch, s: u32, now: i64) -> usize {
        sc.recipients_90d
            .iter()
            .filter(|r| {
                let rs = &self.entities.recipient_state[**r as usize];
                // Other unrelated senders: the recipient's count minus this sender if it counts.
                let me = rs.inbound.iter().any(|i| i.sender == s && !i.family && now - i.utc <= 90 * DAY) as u32;
                !rs.is_org && rs.unrelated_senders.saturating_sub(me) >= 2
            })
            .count()
    }

    /// The current payment's own features into `self.values`.
    pub(crate) fn payment_features(&mut self, row: &TxnRow<'_>, f: PaymentFacts) {
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        let night = self.pack.settings.is_night(row.timestamp.local_hour());
        let x = &mut self.values;
        x[Feature::PayAmount as usize] = f.base as f64 / unit;
        x[Feature::PayNight as usize] = night as u8 as f64;
        x[Feature::PayNovelRecipient as usize] = (f.corridor && f.novel_recipient) as u8 as f64;
        x[Feature::PayNovelCountry as usize] = (f.corridor && f.novel_country) as u8 as f64;
        x[Feature::PayCover as usize] = f.cover as u8 as f64;
        x[Feature::PayFamily as usize] = f.family as u8 as f64;
    }

    /// The recipient's feature values into `self.values` (sender features stay as they are).
    /// `net`: the recipient's network risk from all its payers ([`Engine::payer_risk`]).
    pub(crate) fn recipient_features(&mut self, r: u32, now: i64, net: crate::network::PayerRisk) {
        let mut sc = std::mem::take(&mut self.scratch);
        sc.clear();
        let rs = &self.entities.recipient_state[r as usize];
        let (mut n, mut night) = (0u32, 0u32);
        let (mut senders, mut unrelated, mut alerted) = (0u32, 0u32, 0u32);
        let marks = &mut self.marks;
        marks.begin(self.entities.sender_state.len());
        for i in rs.inbound.iter().filter(|i| now - i.utc <= 90 * DAY) {
            n += 1;
            night += i.night as u32;
            senders += marks.insert(i.sender, M_ANY) as u32;
            if !i.family {
                unrelated += marks.insert(i.sender, M_UNRELATED) as u32;
            }
            if self.entities.sender_state[i.sender as usize].alert_active {
                alerted += marks.insert(i.sender, M_ALERTED) as u32;
            }
            sc.amounts.push(i.amount);
        }
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        let confirmed = self.is_confirmed(r);
        let linked = self.known_wallet_of(r, now).is_some();
        let x = &mut self.values;
        x[Feature::RConfirmed as usize] = confirmed as u8 as f64;
        x[Feature::RLinkedKnown as usize] = linked as u8 as f64;
        x[Feature::RNetworkRisk as usize] = net.risk;
        x[Feature::RRiskyPayers365 as usize] = net.risky as f64;
        x[Feature::RUnrelatedPayers365 as usize] = net.unrelated as f64;
        x[Feature::RSenders90 as usize] = senders as f64;
        x[Feature::RUnrelated90 as usize] = unrelated as f64;
        x[Feature::RSmallCount90 as usize] = n as f64;
        x[Feature::RNightShare90 as usize] = share(night, n);
        x[Feature::RMedian90 as usize] = median(&mut sc.amounts) / unit;
        x[Feature::RAlerted90 as usize] = alerted as f64;
        x[Feature::RIsOrg as usize] = rs.is_org as u8 as f64;
        self.scratch = sc;
    }
}

/// Profiles: an entity's features "as of" a time, without a payment (for `serve`'s entity
/// view and for tests).
impl Engine {
    /// Current feature values of a sender (all of them).
    pub fn sender_values(&mut self, sender_id: &str, at: Timestamp) -> Option<Values> {
        let s = self.entities.senders.get(sender_id)?;
        self.entities.sender_state[s as usize].prune(at.utc);
        self.sender_features(s, at.utc, true);
        // A probe, not a payment: amount of one minor unit, no corridor, no reference.
        let row = self.probe(at, sender_id)?;
        self.payment_features(&row, PaymentFacts { base: 1, ..PaymentFacts::default() });
        Some(self.values)
    }

    /// Current feature values of a recipient.
    pub fn recipient_values(&mut self, recipient_id: &str, at: Timestamp) -> Option<Values> {
        let r = self.entities.recipients.get(recipient_id)?;
        self.entities.recipient_state[r as usize].prune(at.utc);
        self.values.fill(0.0);
        let net = self.payer_risk(r, None, at.utc);
        self.recipient_features(r, at.utc, net);
        Some(self.values)
    }

    /// A payment-shaped probe for reading features "as of" a time without a payment.
    fn probe<'a>(&self, at: Timestamp, sender_id: &'a str) -> Option<TxnRow<'a>> {
        let home = CountryCode::parse("DE").ok()?;
        Some(TxnRow {
            txn_id: "",
            timestamp: at,
            sender_id,
            sender_name: "",
            sender_country: home,
            recipient_id: "",
            recipient_name: "",
            recipient_country: home,
            amount: Money::new(1, self.pack.settings.base_currency),
            channel: Channel::Other,
            reference: "",
            merchant_category: None,
        })
    }
}

/// Median of a small list (sorted in place).
pub fn median(v: &mut [i64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    // Selection, not a sort: linear, and a hub's 90 days can hold thousands of payments.
    let n = v.len();
    let (below, mid, _) = v.select_nth_unstable(n / 2);
    let mid = *mid;
    if n % 2 == 1 {
        mid as f64
    } else {
        let lower = below.iter().copied().max().expect("an even, non-empty slice has a lower half");
        (lower + mid) as f64 / 2.0
    }
}

/// Kendall's tau between time order and amount: +1 strictly rising, -1 falling.
pub fn kendall_tau(amounts: &[i64]) -> f64 {
    let n = amounts.len();
    if n < 3 {
        return 0.0;
    }
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += (amounts[j] - amounts[i]).signum();
        }
    }
    s as f64 / (n * (n - 1) / 2) as f64
}

/// Coefficient of variation of the gaps between sorted times (in days).
pub fn gap_cv(times: &[i64]) -> f64 {
    if times.len() < 3 {
        return 0.0;
    }
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64 / DAY as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    if mean <= 0.0 {
        return 0.0;
    }
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    var.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_hand_computed_values() {
        assert_eq!(median(&mut [5, 1, 3]), 3.0);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2.5);
        assert_eq!(median(&mut [7, 7, 1, 9]), 7.0);
        assert_eq!(median(&mut [2]), 2.0);
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(kendall_tau(&[1, 2, 3, 4]), 1.0);
        assert_eq!(kendall_tau(&[4, 3, 2, 1]), -1.0);
        // 1,3,2: pairs (1,3)+ (1,2)+ (3,2)- => 1/3
        assert!((kendall_tau(&[1, 3, 2]) - 1.0 / 3.0).abs() < 1e-12);
        // Perfectly monthly gaps have no variation; bursts have a lot.
        let monthly: Vec<i64> = (0..6).map(|i| i * 30 * DAY).collect();
        assert!(gap_cv(&monthly) < 1e-9);
        let bursty = [0, DAY, 2 * DAY, 40 * DAY, 41 * DAY, 90 * DAY];
        // gaps 1,1,38,1,49: mean 18, sd = sqrt(((17^2)*3 + 20^2 + 31^2)/5)
        let expect = (((17f64.powi(2)) * 3.0 + 20f64.powi(2) + 31f64.powi(2)) / 5.0).sqrt() / 18.0;
        assert!((gap_cv(&bursty) - expect).abs() < 1e-9);
    }

    /// Marks count distinct senders per set, and a new round forgets the last one.
    #[test]
    fn marks_count_distinct_senders_per_round() {
        let mut m = Marks::default();
        m.begin(10);
        assert!(m.insert(3, M_ANY) && !m.insert(3, M_ANY) && m.insert(3, M_UNRELATED));
        assert!(m.insert(9, M_ALERTED) && !m.insert(9, M_ALERTED));
        m.begin(12);
        assert!(m.insert(3, M_ANY) && m.insert(11, M_ANY));
    }

    #[test]
    fn feature_names_are_unique_and_resolvable() {
        let mut seen = std::collections::HashSet::new();
        for f in Feature::ALL {
            assert!(seen.insert(f.name()), "duplicate {}", f.name());
            assert_eq!(Feature::by_name(f.name()), Some(*f));
        }
        assert_eq!(Feature::ALL.len(), N_FEATURES);
    }
}
