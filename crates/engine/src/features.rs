//! Incremental per-entity state and the feature catalogue computed from it.
//!
//! Only payments that can matter for OSEC create state: transfers to high-risk corridor
//! countries (sender side), small cross-border inbound payments (recipient side) and
//! side spending (VPN, cam sites, travel). Purely domestic everyday payments pass through
//! without touching memory, so state is bounded by the entities active in the corridors.
//!
//! Memory per active entity (documented in ARCHITECTURE.md): a sender keeps one
//! [`Pay`] (48 bytes + its txn id) per corridor payment of the last 365 days (at most
//! [`MAX_CORRIDOR`]) and one 16-byte record per side-spend payment of the last 365 days;
//! a recipient keeps one 24-byte [`Inbound`] per small inbound payment of the last 90 days
//! (at most [`MAX_INBOUND`]).

use std::collections::VecDeque;

pub const DAY: i64 = 86_400;
pub const MAX_CORRIDOR: usize = 2048;
pub const MAX_INBOUND: usize = 4096;
pub const MAX_SIDE: usize = 512;

/// One corridor payment remembered by its sender.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pay {
    pub utc: i64,
    /// Local day number (days since 1970 on the sender's wall clock).
    pub local_day: i32,
    /// Calendar month (year * 12 + month) and day of month of `local_day`, kept so the
    /// per-payment features do not redo calendar arithmetic for every remembered payment.
    pub month: i32,
    pub dom: u8,
    pub amount: i64,
    pub recipient: u32,
    pub country: [u8; 2],
    pub flags: u8,
    pub txn_id: Box<str>,
}

pub const F_SMALL: u8 = 1;
pub const F_ROUND: u8 = 2;
pub const F_COVER: u8 = 4;
pub const F_FAMILY: u8 = 8;
pub const F_NIGHT: u8 = 16;
pub const F_ORG: u8 = 32;

/// Side spending kinds.
pub const S_VPN: u8 = 1;
pub const S_CAM: u8 = 2;
pub const S_TRAVEL: u8 = 3;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SenderState {
    pub surname: u64,
    pub corridor: VecDeque<Pay>,
    pub side: VecDeque<(i64, u8)>,
    pub last_seen: i64,
    pub on_watchlist: bool,
    /// Whether the sender's buyer score was at or above review at its last payment (for
    /// the network rule on its recipients).
    pub alert_active: bool,
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Inbound {
    pub utc: i64,
    pub sender: u32,
    pub amount: i64,
    pub family: bool,
    pub night: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RecipientState {
    pub surname: u64,
    pub is_org: bool,
    pub inbound: VecDeque<Inbound>,
    pub last_seen: i64,
    /// Distinct unrelated senders in the window at the last update (used by senders'
    /// common-beneficiary feature without rescanning every recipient).
    pub unrelated_senders: u32,
}

impl SenderState {
    pub fn prune(&mut self, now: i64) {
        while self.corridor.front().is_some_and(|p| p.utc < now - 365 * DAY) || self.corridor.len() > MAX_CORRIDOR {
            self.corridor.pop_front();
        }
        while self.side.front().is_some_and(|s| s.0 < now - 365 * DAY) || self.side.len() > MAX_SIDE {
            self.side.pop_front();
        }
    }
}

impl RecipientState {
    pub fn prune(&mut self, now: i64) {
        while self.inbound.front().is_some_and(|p| p.utc < now - 90 * DAY) || self.inbound.len() > MAX_INBOUND {
            self.inbound.pop_front();
        }
    }
}

macro_rules! features {
    ($( $id:ident = $name:literal, $kind:ident, $doc:literal; )*) => {
        /// Every feature a rule can use, by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum F { $( $id, )* }

        impl F {
            pub const ALL: &'static [F] = &[ $( F::$id, )* ];
            pub fn name(self) -> &'static str {
                match self { $( F::$id => $name, )* }
            }
            pub fn kind(self) -> Kind {
                match self { $( F::$id => Kind::$kind, )* }
            }
            pub fn doc(self) -> &'static str {
                match self { $( F::$id => $doc, )* }
            }
            pub fn by_name(name: &str) -> Option<F> {
                match name { $( $name => Some(F::$id), )* _ => None }
            }
        }
        pub const N_FEATURES: usize = [$( F::$id, )*].len();
    };
}

/// How a feature value is shown in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Money,
    Share,
    Ratio,
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
}

pub type Values = [f64; N_FEATURES];

/// Median of a small list (sorted in place).
pub fn median(v: &mut [i64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
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

    #[test]
    fn feature_names_are_unique_and_resolvable() {
        let mut seen = std::collections::HashSet::new();
        for f in F::ALL {
            assert!(seen.insert(f.name()), "duplicate {}", f.name());
            assert_eq!(F::by_name(f.name()), Some(*f));
        }
        assert_eq!(F::ALL.len(), N_FEATURES);
    }
}
