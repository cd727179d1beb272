//! The declarative rule language: a TOML file an analyst can read and change.
//!
//! A pack has `[pack]` metadata, `[settings]` (corridor countries, what counts as small,
//! night hours, keyword and merchant lists, exchange rates), `[[typologies]]` (which entity
//! they score, review and block thresholds, how many rules must agree) and `[[rules]]`.
//! A rule names its typology, its conditions (`when = ["sender.corridor_count_90d >= 3"]`),
//! how many points it adds (fixed `points`, or `bands` over a `score_by` feature; negative
//! points mitigate), a plain-language `explain` template with `{feature}` placeholders, and
//! its `sources`. Every problem in a file is reported with the rule id and what is wrong.

use crate::features::{Feature, ValueKind, Values, N_FEATURES};
use crate::state::{S_CAM, S_TRAVEL, S_VPN};
use osecwatch_model::{CountryCode, COUNTRY_SLOTS};
use serde::Deserialize;
use std::collections::BTreeMap;

mod compile;

/// Why a rule pack was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule pack `{file}`: {message}")]
    /// The file cannot be read, or is not TOML of the pack's shape.
    Parse {
        /// The pack file.
        file: String,
        /// What is wrong.
        message: String,
    },
    #[error("rule pack `{file}`, rule `{rule}`: {problem}")]
    /// One rule is wrong.
    Rule {
        /// The pack file.
        file: String,
        /// The rule's id.
        rule: String,
        /// What is wrong with it.
        problem: String,
    },
    #[error("rule pack `{file}`: {problem}")]
    /// The settings or typologies are wrong.
    Pack {
        /// The pack file.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

/// Identity of a rule pack (`[pack]`), recorded with every scan.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    /// Stable id (`osec`, `baseline`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Version of the pack's rules, bumped on every change.
    pub version: String,
    /// What the pack is for.
    pub description: String,
}

/// Compiled settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Currency every amount is converted to before scoring.
    pub base_currency: osecwatch_model::CurrencyCode,
    /// Small amount threshold in base-currency minor units.
    pub small_minor: i64,
    /// First hour of the night (sender-local, 0-23).
    pub night_start: u8,
    /// Hour the night ends (exclusive; may be before `night_start`, wrapping midnight).
    pub night_end: u8,
    /// Lower-cased reference keywords that read like cover stories.
    pub cover_keywords: Vec<String>,
    /// Lower-cased name markers of organisations (e.V., Inc, Foundation...).
    pub organisation_markers: Vec<String>,
    /// Exchange rates given by the pack: (currency, units per unit of the base currency).
    pub rates: Vec<(String, f64)>,
    /// The high-risk countries as a table over every two-letter code, and the VPN, cam and
    /// travel MCC lists as one table of side-spending kinds: every payment asks both.
    risky: Box<[bool; COUNTRY_SLOTS]>,
    mcc_kind: Box<[u8; 10_000]>,
}

impl Settings {
    /// Whether a country is one of the pack's high-risk corridors.
    pub fn is_high_risk(&self, c: CountryCode) -> bool {
        self.risky[c.index()]
    }

    /// The side-spending kind the pack gives this MCC (VPN before cam before travel), or 0.
    pub fn mcc_kind(&self, mcc: u16) -> u8 {
        self.mcc_kind.get(mcc as usize).copied().unwrap_or(0)
    }

    /// Night per the pack's hours, which may wrap midnight (20 -> 4).
    pub fn is_night(&self, hour: u8) -> bool {
        if self.night_start <= self.night_end {
            hour >= self.night_start && hour < self.night_end
        } else {
            hour >= self.night_start || hour < self.night_end
        }
    }
}

/// Which entity a typology scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitySide {
    /// The customer who sends (a possible buyer).
    Sender,
    /// The payee abroad (a possible facilitator).
    Recipient,
}

impl EntitySide {
    /// `sender` or `recipient`, as rule files and alerts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntitySide::Sender => "sender",
            EntitySide::Recipient => "recipient",
        }
    }

    /// 0 for the sender, 1 for the recipient: the index of per-side tables, and the form
    /// snapshots store.
    pub fn index(self) -> usize {
        match self {
            EntitySide::Sender => 0,
            EntitySide::Recipient => 1,
        }
    }

    /// The side a snapshot stored as [`EntitySide::index`].
    pub fn from_index(i: u8) -> Option<EntitySide> {
        match i {
            0 => Some(EntitySide::Sender),
            1 => Some(EntitySide::Recipient),
            _ => None,
        }
    }
}

/// A typology: what is scored, and the thresholds for review and block.
#[derive(Debug, Clone)]
pub struct Typology {
    /// Its id (`OSEC-BUYER`, ...).
    pub id: String,
    /// The entity it scores.
    pub entity: EntitySide,
    /// What it describes.
    pub description: String,
    /// Score (0-100) at or above which a payment goes to review and an alert is raised.
    pub review: f64,
    /// Score at or above which a payment is blocked.
    pub block: f64,
    /// How many rules with positive points must agree before an alert is raised.
    pub min_rules: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

#[derive(Debug, Clone)]
struct Condition {
    f: Feature,
    op: Op,
    v: f64,
}

impl Condition {
    fn holds(&self, x: &Values) -> bool {
        let a = x[self.f as usize];
        match self.op {
            Op::Ge => a >= self.v,
            Op::Gt => a > self.v,
            Op::Le => a <= self.v,
            Op::Lt => a < self.v,
            Op::Eq => (a - self.v).abs() < 1e-9,
            Op::Ne => (a - self.v).abs() >= 1e-9,
        }
    }
}

/// Text facts that are not numbers but read well in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// The high-risk countries a sender paid in 90 days, most paid first.
    CorridorCountries90,
    /// The pack's small-amount threshold, with its currency.
    SmallAmount,
    /// The pack's night hours.
    NightHours,
    /// The id of the recipient a network rule is about.
    RecipientId,
    /// The other accounts of the sender's customer, with their own risk.
    LinkedAccounts,
    /// The older wallet, a known facilitator, of the recipient's holder.
    LinkedWallet,
}

#[derive(Debug, Clone)]
enum TemplatePart {
    Text(String),
    Value(Feature, ValueKind),
    Fact(Fact),
}

/// A compiled rule: conditions, points and an explanation template.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id (`R-OSEC-01`, ...).
    pub id: String,
    /// Index of its typology in [`RulePack::typologies`].
    pub typology: usize,
    /// What it detects.
    pub description: String,
    /// Where its logic comes from (source ids of the indicators).
    pub sources: Vec<String>,
    when: Vec<Condition>,
    score_by: Option<Feature>,
    bands: Vec<(f64, f64)>,
    points: f64,
    explain: Vec<TemplatePart>,
    /// Whether it raises an alert on its own, without `min_rules` agreeing.
    pub sufficient: bool,
}

impl Rule {
    /// The rule's conditions as (feature, operator, value), for documentation and tests.
    pub fn conditions(&self) -> Vec<(Feature, &'static str, f64)> {
        self.when
            .iter()
            .map(|c| {
                let op = match c.op {
                    Op::Ge => ">=",
                    Op::Gt => ">",
                    Op::Le => "<=",
                    Op::Lt => "<",
                    Op::Eq => "==",
                    Op::Ne => "!=",
                };
                (c.f, op, c.v)
            })
            .collect()
    }

    /// Whether the rule reads a network feature (one computed from other entities' risk).
    pub fn is_network(&self) -> bool {
        self.when.iter().map(|c| c.f).chain(self.score_by).any(Feature::is_network)
    }

    /// The banded feature and its (min, points) bands, or None for fixed points.
    pub fn scoring(&self) -> (Option<Feature>, &[(f64, f64)], f64) {
        (self.score_by, &self.bands, self.points)
    }

    /// Points this rule gives for the feature values (0 = does not fire).
    pub fn points(&self, x: &Values) -> f64 {
        if !self.when.iter().all(|c| c.holds(x)) {
            return 0.0;
        }
        match self.score_by {
            Some(f) => {
                let v = x[f as usize];
                self.bands.iter().rev().find(|(min, _)| v >= *min).map(|(_, p)| *p).unwrap_or(0.0)
            }
            None => self.points,
        }
    }

    /// The plain-language sentence with the numbers filled in.
    pub fn explain(&self, x: &Values, facts: &dyn Fn(Fact) -> String, currency: &str) -> String {
        let mut s = String::new();
        for seg in &self.explain {
            match seg {
                TemplatePart::Text(t) => s.push_str(t),
                TemplatePart::Value(f, k) => s.push_str(&format_value(x[*f as usize], *k, currency)),
                TemplatePart::Fact(f) => s.push_str(&facts(*f)),
            }
        }
        s
    }
}

/// A feature value as an explanation shows it, by its kind.
pub fn format_value(v: f64, kind: ValueKind, currency: &str) -> String {
    match kind {
        ValueKind::Count => format!("{}", v.round() as i64),
        ValueKind::Money => format!("{currency} {:.2}", v),
        ValueKind::Share => format!("{:.0} %", v * 100.0),
        ValueKind::Ratio => format!("{v:.2}"),
        ValueKind::Flag => (if v != 0.0 { "yes" } else { "no" }).to_string(),
    }
}

/// A compiled rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    /// Identity and version.
    pub meta: PackMeta,
    /// Compiled settings.
    pub settings: Settings,
    /// Typologies, in file order.
    pub typologies: Vec<Typology>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// Rules per typology, in file order.
    pub by_typology: Vec<Vec<usize>>,
    /// Features some rule reads (condition, score, explanation): the engine works out only
    /// these while scoring, so a small pack costs little.
    uses: [bool; N_FEATURES],
    /// Per rule: whether it reads a network feature ([`Rule::is_network`]).
    network: Vec<bool>,
}

/// Outcome of scoring one typology for one entity.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// The sum of the fired rules' points, clamped to 0-100.
    pub score: f64,
    /// (rule index, points), positive and negative, in file order.
    pub fired: Vec<(usize, f64)>,
    /// Whether enough rules agree to raise an alert at all.
    pub corroborated: bool,
    /// The score from rules that read no network feature: the entity's own evidence.
    pub own_score: f64,
    /// Whether those rules alone agree enough.
    pub own_corroborated: bool,
}

/// The packs built into the binary, by name: what every command uses when no pack file is
/// given, so a command works outside the source tree (`osecwatch rules show NAME` prints one).
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("osec", include_str!("../../../../rules/osec.toml")),
    ("baseline", include_str!("../../../../rules/baseline.toml")),
];

impl RulePack {
    /// The text of a built-in pack (`osec`, `baseline`).
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN_PACKS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Compile a built-in pack.
    pub fn builtin(name: &str) -> Result<RulePack, RuleError> {
        let text = Self::builtin_text(name).ok_or_else(|| RuleError::Parse {
            file: format!("builtin:{name}"),
            message: format!(
                "no built-in pack `{name}` (built in: {})",
                BUILTIN_PACKS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })?;
        RulePack::from_toml(text, &format!("builtin:{name}"))
    }

    /// Read and compile a pack file.
    pub fn from_file(path: &std::path::Path) -> Result<RulePack, RuleError> {
        Ok(Self::load(Some(path))?.0)
    }

    /// The pack a command names: a file, `builtin:NAME`, or (none) the built-in OSEC pack;
    /// with its text (the service ties snapshots to its fingerprint).
    pub fn load(spec: Option<&std::path::Path>) -> Result<(RulePack, std::borrow::Cow<'static, str>), RuleError> {
        let builtin = |p: &std::path::Path| p.to_str().and_then(|s| s.strip_prefix("builtin:")).map(str::to_owned);
        match spec {
            Some(path) if builtin(path).is_none() => {
                let file = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| RuleError::Parse { file: file.clone(), message: e.to_string() })?;
                Ok((RulePack::from_toml(&text, &file)?, text.into()))
            }
            _ => {
                let name = spec.and_then(builtin).unwrap_or_else(|| "osec".to_owned());
                Ok((Self::builtin(&name)?, Self::builtin_text(&name).unwrap_or_default().into()))
            }
        }
    }

    /// Compile a pack from its TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<RulePack, RuleError> {
        compile::pack(text, file)
    }

    /// Whether any rule reads feature `f`.
    pub fn uses(&self, f: Feature) -> bool {
        self.uses[f as usize]
    }

    /// Score typology `t` on the given feature values.
    pub fn evaluate(&self, t: usize, x: &Values) -> Evaluation {
        let mut ev = Evaluation::default();
        let (mut positive, mut own_positive) = (0, 0);
        let (mut sufficient, mut own_sufficient) = (false, false);
        for &ri in &self.by_typology[t] {
            let r = &self.rules[ri];
            let p = r.points(x);
            if p != 0.0 {
                ev.fired.push((ri, p));
                ev.score += p;
                let own = !self.network[ri];
                if own {
                    ev.own_score += p;
                }
                if p > 0.0 {
                    positive += 1;
                    sufficient |= r.sufficient;
                    own_positive += own as u32;
                    own_sufficient |= own && r.sufficient;
                }
            }
        }
        ev.score = ev.score.clamp(0.0, 100.0);
        ev.own_score = ev.own_score.clamp(0.0, 100.0);
        let min = self.typologies[t].min_rules;
        ev.corroborated = positive >= min || sufficient;
        ev.own_corroborated = own_positive >= min || own_sufficient;
        ev
    }
}
