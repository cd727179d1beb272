//! Scenario files: the institution and every population share and behaviour parameter.
//!
//! A scenario is TOML. A file may start with `extends = "default"` (a preset name or a
//! path relative to the file) and then only list what it changes; tables are merged key by
//! key. Unknown keys are errors, so a typo never silently falls back to a default.
//! After parsing, [`Scenario::validate`] checks every range and names the field and the
//! allowed values when something is out of bounds.

use osecwatch_model::{Channel, CountryCode, CurrencyCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shipped presets, embedded so `--scenario default` works from any directory.
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../../../scenarios/default.toml")),
    ("small", include_str!("../../../../scenarios/small.toml")),
    ("mimic", include_str!("../../../../scenarios/mimic.toml")),
    ("diaspora-heavy", include_str!("../../../../scenarios/diaspora-heavy.toml")),
    ("shared-hubs", include_str!("../../../../scenarios/shared-hubs.toml")),
];

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Neither a preset nor a readable file: (the name, why).
    #[error("scenario `{0}` is neither a preset ({presets}) nor a readable file: {1}", presets = preset_names())]
    NotFound(String, String),
    /// Not TOML of the scenario's shape (an unknown key, a wrong type).
    #[error("scenario `{source_name}`: {message}")]
    Parse {
        /// The scenario's name or file.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A value out of its range.
    #[error("scenario `{source_name}`: field `{field}` = {value}: allowed: {allowed}")]
    Invalid {
        /// The scenario's name or file.
        source_name: String,
        /// The field's path (`buyers.night_share`).
        field: String,
        /// The value given.
        value: String,
        /// What is allowed, in words.
        allowed: String,
    },
    /// `extends` chains more than 8 files, or loops: the scenario where it stopped.
    #[error("scenario `{0}`: `extends` chain is longer than 8 files or loops")]
    ExtendsLoop(String),
}

fn preset_names() -> String {
    PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

mod validate;

/// A weighted choice over countries (weights need not sum to one; they are normalised).
pub type CountryMix = BTreeMap<CountryCode, f64>;

/// A payment world to simulate: the institution and the behaviour of its customers. Every number of the shipped presets cites its source or says it is an assumption.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Kept so a written `scenario.toml` says where it came from; ignored on load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Preset name or file the scenario was loaded from (not part of the file format).
    #[serde(skip)]
    pub source: String,
    /// The institution and the period.
    pub institution: Institution,
    /// Shares of customers per archetype.
    pub population: Population,
    /// Everyday domestic life.
    pub domestic: Domestic,
    /// Corridors and facilitator locations.
    pub corridors: Corridors,
    /// The EUR/PHP rate.
    pub fx: Fx,
    /// Diaspora remittances.
    pub diaspora: Diaspora,
    /// Partners abroad.
    pub partner: Partner,
    /// Adult webcam consumers.
    pub webcam: Webcam,
    /// Romance-scam victims.
    pub romance: Romance,
    /// Child sponsors.
    pub sponsor: Sponsor,
    /// Travellers.
    pub traveller: Traveller,
    /// Sextortion victims.
    pub sextortion: Sextortion,
    /// Buyers.
    pub buyers: Buyers,
    /// Facilitators.
    pub facilitators: Facilitators,
    /// Honest payees paid by several customers: the look-alikes of a common beneficiary.
    pub hubs: Hubs,
    /// Customers who move to a new account part-way (absent: nobody moves).
    #[serde(default)]
    pub accounts: Accounts,
}

/// One person, several accounts: customers who open a new account part-way through the
/// period and pay from it from then on (OS-14, S7: a Westpac customer opened new accounts
/// after a prison sentence). Honest customers switch accounts too, so a link between two
/// accounts is no evidence by itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Share of all customers who move to a new account during the period.
    pub mover_share: f64,
    /// Share of buyers who do (instead of `mover_share`).
    pub buyer_mover_share: f64,
    /// Share of facilitators who move to a new wallet part-way (same name, same country);
    /// their buyers pay the new wallet from then on.
    #[serde(default)]
    pub facilitator_wallet_move_share: f64,
}

/// The reporting institution and the simulated period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Institution {
    /// Display name of the fictitious institution.
    pub name: String,
    /// Its home country: customers live here, and a transfer elsewhere is cross-border.
    pub country: CountryCode,
    /// Its base currency (amounts in the scenario are in it).
    pub currency: CurrencyCode,
    /// Its IANA time zone: customers' local clock.
    pub timezone: String,
    /// First day of the period, `YYYY-MM-DD`, local time.
    pub start_date: String,
    /// Length of the period in calendar months.
    pub months: u32,
    /// Number of customers.
    pub customers: u64,
    /// Seed of every random stream: the same scenario and seed give the same world.
    pub seed: u64,
}

/// Shares of customers per archetype; the rest are domestic everyday customers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// Share of customers who remit to family abroad.
    pub diaspora_family: f64,
    /// Share with a partner abroad in the corridors.
    pub partner_abroad: f64,
    /// Share who consume adult cam sites.
    pub adult_webcam: f64,
    /// Share who are romance-scam victims.
    pub romance_scam_victim: f64,
    /// Share who sponsor a child through an NGO.
    pub child_sponsor: f64,
    /// Share who travel to the corridors on holiday.
    pub traveller: f64,
    /// Share who pay a sextortionist.
    pub sextortion_victim: f64,
    /// Share who buy livestreamed abuse.
    pub buyer: f64,
}

/// Everyday domestic life, common to every customer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Domestic {
    /// Mean card payments a customer makes a month (gamma-distributed per customer).
    pub card_payments_per_month: f64,
    /// Share of customers who pay rent by transfer.
    pub rent_share: f64,
    /// Median monthly rent.
    pub rent_median: f64,
    /// Mean transfers to friends at home a month.
    pub friend_transfers_per_month: f64,
    /// Median transfer to a friend.
    pub friend_amount_median: f64,
    /// Share of ordinary customers with a VPN subscription.
    pub vpn_subscriber_share: f64,
    /// Share of ordinary customers with occasional cam-site card spending.
    pub cam_site_share: f64,
    /// Share who buy crypto now and then.
    pub crypto_buyer_share: f64,
    /// Size of the domestic merchant pool.
    pub merchants: u32,
}

/// High-risk corridors and where facilitators are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Corridors {
    /// Countries the rule pack treats as high-risk corridors (for reference; the pack has its own list).
    pub high_risk: Vec<CountryCode>,
    /// Where facilitators are, with weights.
    pub osec_destinations: CountryMix,
}

/// The EUR/PHP rate path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fx {
    /// PHP per one unit of the base currency on the first day.
    pub php_per_base: f64,
    /// Standard deviation of the daily log change of the EUR/PHP rate.
    pub daily_volatility: f64,
}

/// Diaspora family remittances, the main look-alike.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Diaspora {
    /// Countries diaspora customers come from, with weights.
    pub origins: CountryMix,
    /// Median monthly remittance.
    pub monthly_amount_median: f64,
    /// Log-normal sigma of the monthly amount between customers.
    pub amount_sigma: f64,
    /// Most relatives a (non-extended) family sends to.
    pub recipients_max: u32,
    /// Share of diaspora customers who support an extended family.
    pub extended_family_share: f64,
    /// Range of relatives an extended family sends to.
    pub extended_recipients: [u32; 2],
    /// Share of relatives who carry the sender's surname.
    pub same_surname_share: f64,
    /// Days of the month remittances are sent on (paydays).
    pub payday_days: Vec<u32>,
    /// How many days a remittance may move around its payday.
    pub payday_jitter_days: u32,
    /// Mean extra transfers a month (gifts, emergencies).
    pub extras_per_month: f64,
    /// Median extra transfer.
    pub extra_amount_median: f64,
    /// How much more is sent in December.
    pub december_multiplier: f64,
    /// Share sent at night (sender-local).
    pub night_share: f64,
    /// Channels used, with weights.
    pub channels: BTreeMap<Channel, f64>,
}

/// Customers with a partner abroad.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// Where partners live, with weights.
    pub destinations: CountryMix,
    /// Median monthly support.
    pub monthly_amount_median: f64,
    /// Most in-laws also paid.
    pub in_laws_max: u32,
    /// Mean extra transfers a month.
    pub extras_per_month: f64,
    /// Share sent at night (sender-local).
    pub night_share: f64,
}

/// Adult cam-site consumers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webcam {
    /// Mean cam-site token purchases a month.
    pub token_purchases_per_month: f64,
    /// Median token purchase.
    pub token_amount_median: f64,
    /// Share who also tip performers abroad directly.
    pub tipper_share: f64,
    /// Mean tips a month.
    pub tips_per_month: f64,
    /// Median tip.
    pub tip_amount_median: f64,
    /// Most performers a customer tips.
    pub performers_max: u32,
    /// Where performers live, with weights.
    pub performer_countries: CountryMix,
    /// Share of purchases and tips at night.
    pub night_share: f64,
}

/// Romance-scam victims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Romance {
    /// Where scammers receive money, with weights.
    pub destinations: CountryMix,
    /// Median first payment.
    pub first_amount_median: f64,
    /// Factor by which each payment grows.
    pub growth_per_payment: f64,
    /// Range of the number of payments.
    pub payments: [u32; 2],
    /// Median days between payments.
    pub days_between_median: f64,
    /// Share of victims moved on to a second recipient.
    pub new_recipient_share: f64,
    /// Largest single payment.
    pub max_amount: f64,
}

/// Child sponsors paying NGOs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sponsor {
    /// Number of NGOs sponsors pay.
    pub ngos: u32,
    /// Where the NGOs are, with weights.
    pub ngo_countries: CountryMix,
    /// Monthly sponsorship amounts to choose from.
    pub monthly_amounts: Vec<f64>,
}

/// Holiday travellers to the corridors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Traveller {
    /// Mean trips a year.
    pub trips_per_year: f64,
    /// Range of a trip's length in days.
    pub trip_days: [u32; 2],
    /// Destinations, with weights.
    pub destinations: CountryMix,
    /// Most friends made on a trip.
    pub local_friends_max: u32,
    /// Median transfer to such a friend.
    pub transfer_amount_median: f64,
    /// Mean transfers a month to those friends after the trip.
    pub transfers_per_month_after: f64,
}

/// Sextortion victims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sextortion {
    /// Where the sextortionists receive money, with weights.
    pub destinations: CountryMix,
    /// Range of the number of payments.
    pub payments: [u32; 2],
    /// Days over which the payments are spread at most.
    pub burst_days_max: u32,
    /// Largest first payment.
    pub first_payment_max: f64,
    /// Most a victim pays in all.
    pub total_max: f64,
    /// Share paid at night.
    pub night_share: f64,
}

/// Buyers of livestreamed abuse.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Buyers {
    /// Weights of light, medium and heavy buyers among the non-stealthy ones.
    pub class_mix: ClassMix,
    /// Range of a light buyer's sessions a month.
    pub light_per_month: [f64; 2],
    /// Range of a medium buyer's sessions a month.
    pub medium_per_month: [f64; 2],
    /// Range of a heavy buyer's sessions a month.
    pub heavy_per_month: [f64; 2],
    /// Median length of a buying career, months.
    pub career_median_months: f64,
    /// Range a career's length is clamped to, months.
    pub career_months: [f64; 2],
    /// Range of the factor amounts grow by over a career.
    pub escalation: [f64; 2],
    /// Median payment per session.
    pub amount_median: f64,
    /// 95th percentile of a payment per session.
    pub amount_p95: f64,
    /// Share of payments to the Philippines that are round PHP prices.
    pub round_php_share: f64,
    /// The round PHP prices.
    pub round_php_prices: Vec<u32>,
    /// Share of payments that are even amounts in the base currency.
    pub round_base_share: f64,
    /// Share of a heavy buyer's payments that pay several sessions at once.
    pub bundle_share_heavy: f64,
    /// Range of such a bundle payment.
    pub bundle_amount: [f64; 2],
    /// Share of payments at night (sender-local).
    pub night_share: f64,
    /// How much more often buyers pay at weekends.
    pub weekend_uplift: f64,
    /// Share of payments with a cover-story reference.
    pub cover_reference_share: f64,
    /// Channels used, with weights.
    pub channels: BTreeMap<Channel, f64>,
    /// Mean facilitators paid besides the main line.
    pub extra_facilitators_mean: f64,
    /// Mean months a buyer stays with one facilitator.
    pub facilitator_months_mean: f64,
    /// Share of buyers with a VPN subscription.
    pub vpn_share: f64,
    /// Share of buyers who also buy cam-site tokens.
    pub cam_token_share: f64,
    /// Share of buyers who travel to the Philippines.
    pub travel_share: f64,
    /// Share of buyers who also have a partner abroad.
    pub partner_abroad_share: f64,
    /// Share of buyers who mimic family remittances.
    pub stealthy_share: f64,
    /// Share of the other buyers who make only one to three payments in all (one-off payers).
    pub one_off_share: f64,
}

/// Weights of the buyer classes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassMix {
    /// Weight of light buyers.
    pub light: f64,
    /// Weight of medium buyers.
    pub medium: f64,
    /// Weight of heavy buyers.
    pub heavy: f64,
}

/// Facilitators and how buyers attach to them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Facilitators {
    /// Facilitators per buyer (at least one if there are buyers).
    pub per_buyer: f64,
    /// Added to a facilitator's degree when buyers pick one (higher: less concentration on popular ones).
    pub attachment_smoothing: f64,
    /// Share of facilitator accounts that belong to the child dealt with directly.
    pub victim_direct_share: f64,
    /// Share of facilitators who are kin of a diaspora customer of the bank.
    pub family_income_share: f64,
}

/// Honest payees paid by several customers of the bank, so that "paid by several people"
/// alone is no sign of a facilitator (`shared/reference/network.md` §3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hubs {
    /// Share of diaspora customers whose main recipient is a household member also paid by
    /// other customers (the relative who collects for the family).
    pub family_hub_share: f64,
    /// Range of customers paying one household hub.
    pub family_hub_payers: [u32; 2],
    /// Churches, schools, shops and cash-pickup agents in the diaspora's countries.
    pub community_payees: u32,
    /// Share of diaspora and partner-abroad customers who also pay one or two of them.
    pub community_payer_share: f64,
    /// Mean payments a year to them per paying customer.
    pub community_payments_per_year: f64,
    /// Median payment to them.
    pub community_amount_median: f64,
    /// Share of a tipper's performers who are already tipped by another customer.
    pub shared_performer_share: f64,
}

impl Scenario {
    /// Load a preset by name or a TOML file by path, following `extends`.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        let (value, source_name) = load_value(name_or_path, None, 0)?;
        Self::from_value(value, &source_name)
    }

    /// Parse scenario text; `extends` is resolved against presets and `base_dir`.
    pub fn from_toml_str(text: &str, source_name: &str, base_dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let value = resolve_extends(parse_table(text, source_name)?, source_name, base_dir, 0)?;
        Self::from_value(value, source_name)
    }

    fn from_value(value: toml::Table, source_name: &str) -> Result<Scenario, ScenarioError> {
        let sc: Scenario = toml::Value::Table(value).try_into().map_err(|e: toml::de::Error| ScenarioError::Parse {
            source_name: source_name.into(),
            message: e.message().to_string(),
        })?;
        sc.validate(source_name)?;
        Ok(Scenario { source: source_name.to_string(), ..sc })
    }

    /// Serialise back to TOML (written next to the output so a world can be regenerated).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Parse `YYYY-MM-DD` into (year, month, day).
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    (1990..=2100).contains(&d.year()).then(|| (d.year(), d.month(), d.day()))
}

fn parse_table(text: &str, source_name: &str) -> Result<toml::Table, ScenarioError> {
    text.parse::<toml::Table>().map_err(|e| ScenarioError::Parse {
        source_name: source_name.into(),
        message: e.to_string().trim().to_string(),
    })
}

fn load_value(
    name_or_path: &str,
    base_dir: Option<&Path>,
    depth: usize,
) -> Result<(toml::Table, String), ScenarioError> {
    if depth > 8 {
        return Err(ScenarioError::ExtendsLoop(name_or_path.to_string()));
    }
    if let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
        let t = parse_table(text, name_or_path)?;
        return Ok((resolve_extends(t, name_or_path, None, depth)?, name_or_path.to_string()));
    }
    let path: PathBuf = match base_dir {
        Some(b) if Path::new(name_or_path).is_relative() => b.join(name_or_path),
        _ => PathBuf::from(name_or_path),
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| ScenarioError::NotFound(name_or_path.to_string(), e.to_string()))?;
    let source = path.display().to_string();
    let t = parse_table(&text, &source)?;
    let dir = path.parent().map(Path::to_path_buf);
    Ok((resolve_extends(t, &source, dir.as_deref(), depth)?, source))
}

fn resolve_extends(
    mut t: toml::Table,
    source_name: &str,
    base_dir: Option<&Path>,
    depth: usize,
) -> Result<toml::Table, ScenarioError> {
    let Some(parent) = t.remove("extends") else { return Ok(t) };
    let Some(parent) = parent.as_str().map(str::to_string) else {
        return Err(ScenarioError::Invalid {
            source_name: source_name.into(),
            field: "extends".into(),
            value: parent.to_string(),
            allowed: "a preset name or a path to a scenario file".into(),
        });
    };
    let (mut base, _) = load_value(&parent, base_dir, depth + 1)?;
    merge(&mut base, t);
    base.insert("extends".into(), toml::Value::String(parent));
    Ok(base)
}

/// Overlay `top` on `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) if !is_weight_table(&k) => merge(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Weight tables (country mixes, channel mixes) are replaced whole: merging them would
/// leave the parent's countries in a mix the child meant to redefine.
fn is_weight_table(key: &str) -> bool {
    matches!(
        key,
        "osec_destinations" | "origins" | "destinations" | "performer_countries" | "ngo_countries" | "channels"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_and_validates() {
        for (name, _) in PRESETS {
            let s = Scenario::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(s.institution.customers > 0);
        }
    }

    #[test]
    fn extends_overrides_only_what_it_names() {
        let s = Scenario::from_toml_str("extends = \"default\"\n[institution]\ncustomers = 77\n", "t", None).unwrap();
        let d = Scenario::load("default").unwrap();
        assert_eq!(s.institution.customers, 77);
        assert_eq!(s.institution.seed, d.institution.seed);
        assert_eq!(s.buyers, d.buyers);
    }

    fn err(text: &str) -> String {
        Scenario::from_toml_str(text, "t.toml", None).unwrap_err().to_string()
    }

    #[test]
    fn bad_values_name_the_field_and_the_allowed_values() {
        let e = err("extends = \"default\"\n[buyers]\nnight_share = 1.5\n");
        assert!(e.contains("buyers.night_share") && e.contains("between 0 and 1"), "{e}");
        let e = err("extends = \"default\"\n[institution]\ntimezone = \"Mars/Olympus\"\n");
        assert!(e.contains("institution.timezone") && e.contains("IANA"), "{e}");
        let e = err("extends = \"default\"\n[institution]\nmonths = 0\n");
        assert!(e.contains("institution.months") && e.contains("between 1 and 240"), "{e}");
        let e = err("extends = \"default\"\n[population]\nbuyer = 0.6\ndiaspora_family = 0.6\n");
        assert!(e.contains("sum of shares"), "{e}");
        let e = err("extends = \"default\"\n[buyers.channels]\nswift = 1.0\n");
        assert!(e.contains("swift") && e.contains("bank_transfer"), "{e}");
        let e = err("extends = \"default\"\n[corridors.osec_destinations]\nXY = 1.0\n");
        assert!(e.contains("XY") && e.contains("3166"), "{e}");
        let e = err("extends = \"default\"\n[institution]\nstart_date = \"2025-02-30\"\n");
        assert!(e.contains("institution.start_date") && e.contains("YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn unknown_fields_and_missing_presets_are_errors() {
        let e = err("extends = \"default\"\n[buyers]\nnight_shar = 0.5\n");
        assert!(e.contains("night_shar") && e.contains("night_share"), "{e}");
        let e = err("extends = \"nonexistent\"\n");
        assert!(e.contains("nonexistent") && e.contains("default"), "{e}");
        let e = err("[institution]\nname = \"x\"\n");
        assert!(e.contains("missing field"), "{e}");
        let e = err("this is = not toml [");
        assert!(e.contains("t.toml"), "{e}");
    }
}
