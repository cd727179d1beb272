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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackMeta,
    settings: SettingsFile,
    typologies: Vec<TypologyFile>,
    rules: Vec<RuleFile>,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    base_currency: String,
    high_risk_countries: Vec<String>,
    small_amount: f64,
    night_start_hour: u8,
    night_end_hour: u8,
    cover_keywords: Vec<String>,
    vpn_mccs: Vec<u16>,
    cam_mccs: Vec<u16>,
    travel_mccs: Vec<u16>,
    organisation_markers: Vec<String>,
    #[serde(default)]
    rates: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypologyFile {
    id: String,
    entity: String,
    description: String,
    review: f64,
    block: f64,
    #[serde(default = "one")]
    min_rules: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    typology: String,
    description: String,
    sources: Vec<String>,
    #[serde(default)]
    when: Vec<String>,
    score_by: Option<String>,
    #[serde(default)]
    bands: Vec<BandFile>,
    points: Option<f64>,
    explain: String,
    #[serde(default)]
    sufficient: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    min: f64,
    points: f64,
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
pub const BUILTIN_PACKS: &[(&str, &str)] =
    &[("osec", include_str!("../../../rules/osec.toml")), ("baseline", include_str!("../../../rules/baseline.toml"))];

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
        let text = std::fs::read_to_string(path)
            .map_err(|e| RuleError::Parse { file: path.display().to_string(), message: e.to_string() })?;
        RulePack::from_toml(&text, &path.display().to_string())
    }

    /// Compile a pack from its TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<RulePack, RuleError> {
        let pf: PackFile =
            toml::from_str(text).map_err(|e| RuleError::Parse { file: file.into(), message: e.to_string() })?;
        let pack_err = |problem: String| RuleError::Pack { file: file.into(), problem };
        let settings = compile_settings(&pf.settings, file)?;
        let typologies = compile_typologies(&pf.typologies, file)?;
        let mut rules: Vec<Rule> = Vec::new();
        for r in &pf.rules {
            let rule = compile_rule(r, &typologies, &rules, file)?;
            rules.push(rule);
        }
        if rules.is_empty() {
            return Err(pack_err("the pack has no rules".into()));
        }
        let by_typology =
            (0..typologies.len()).map(|t| (0..rules.len()).filter(|r| rules[*r].typology == t).collect()).collect();
        let mut uses = [false; N_FEATURES];
        for r in &rules {
            let explained =
                r.explain.iter().filter_map(|s| if let TemplatePart::Value(f, _) = s { Some(*f) } else { None });
            for f in r.when.iter().map(|c| c.f).chain(r.score_by).chain(explained) {
                uses[f as usize] = true;
            }
        }
        let network = rules.iter().map(Rule::is_network).collect();
        Ok(RulePack { meta: pf.pack, settings, typologies, rules, by_typology, uses, network })
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

/// The `[settings]` table compiled: codes validated, lists turned into lookup tables.
fn compile_settings(st: &SettingsFile, file: &str) -> Result<Settings, RuleError> {
    let pack_err = |problem: String| RuleError::Pack { file: file.into(), problem };
    let base_currency = osecwatch_model::CurrencyCode::parse(&st.base_currency)
        .map_err(|e| pack_err(format!("settings.base_currency: {e}")))?;
    let mut risky = Box::new([false; COUNTRY_SLOTS]);
    for c in &st.high_risk_countries {
        let cc = CountryCode::parse(c).map_err(|e| pack_err(format!("settings.high_risk_countries: {e}")))?;
        risky[cc.index()] = true;
    }
    let mut mcc_kind = Box::new([0u8; 10_000]);
    // Later lists first, so an MCC on several lists keeps the earliest kind.
    for (kind, list) in [(S_TRAVEL, &st.travel_mccs), (S_CAM, &st.cam_mccs), (S_VPN, &st.vpn_mccs)] {
        for m in list {
            let slot = mcc_kind
                .get_mut(*m as usize)
                .ok_or_else(|| pack_err(format!("settings: merchant category {m} is not a 4-digit ISO 18245 code")))?;
            *slot = kind;
        }
    }
    if !(st.small_amount.is_finite() && st.small_amount > 0.0) {
        return Err(pack_err(format!("settings.small_amount = {}: must be a positive amount", st.small_amount)));
    }
    if st.night_start_hour > 23 || st.night_end_hour > 23 {
        return Err(pack_err("settings.night_start_hour / night_end_hour: hours 0-23".into()));
    }
    Ok(Settings {
        base_currency,
        small_minor: (st.small_amount * 10f64.powi(base_currency.exponent() as i32)).round() as i64,
        night_start: st.night_start_hour,
        night_end: st.night_end_hour,
        cover_keywords: st.cover_keywords.iter().map(|k| k.to_lowercase()).collect(),
        organisation_markers: st.organisation_markers.iter().map(|k| k.to_lowercase()).collect(),
        rates: st.rates.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        risky,
        mcc_kind,
    })
}

/// The `[[typologies]]` compiled: entity side, thresholds in range, ids unique.
fn compile_typologies(list: &[TypologyFile], file: &str) -> Result<Vec<Typology>, RuleError> {
    let pack_err = |problem: String| RuleError::Pack { file: file.into(), problem };
    let mut typologies = Vec::new();
    for t in list {
        let entity = match t.entity.as_str() {
            "sender" => EntitySide::Sender,
            "recipient" => EntitySide::Recipient,
            other => {
                return Err(pack_err(format!("typology `{}`: entity `{other}`: allowed: sender, recipient", t.id)))
            }
        };
        if !(0.0..=100.0).contains(&t.review) || !(0.0..=100.0).contains(&t.block) || t.block < t.review {
            return Err(pack_err(format!(
                "typology `{}`: thresholds must satisfy 0 <= review <= block <= 100 (got review {}, block {})",
                t.id, t.review, t.block
            )));
        }
        if typologies.iter().any(|x: &Typology| x.id == t.id) {
            return Err(pack_err(format!("typology `{}` is defined twice", t.id)));
        }
        typologies.push(Typology {
            id: t.id.clone(),
            entity,
            description: t.description.clone(),
            review: t.review,
            block: t.block,
            min_rules: t.min_rules,
        });
    }
    Ok(typologies)
}

/// One `[[rules]]` entry compiled: its typology, conditions, bands, template and sources
/// checked; `earlier` are the rules before it (ids must be unique).
fn compile_rule(r: &RuleFile, typologies: &[Typology], earlier: &[Rule], file: &str) -> Result<Rule, RuleError> {
    let err = |problem: String| RuleError::Rule { file: file.into(), rule: r.id.clone(), problem };
    if earlier.iter().any(|x| x.id == r.id) {
        return Err(err("the id is used twice".into()));
    }
    let typology = typologies.iter().position(|t| t.id == r.typology).ok_or_else(|| {
        err(format!(
            "unknown typology `{}` (defined: {})",
            r.typology,
            typologies.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let side = typologies[typology].entity;
    let feature = |name: &str, what: &str| -> Result<Feature, RuleError> {
        let f = Feature::by_name(name)
            .ok_or_else(|| err(format!("{what}: unknown feature `{name}`; known features: {}", known_features())))?;
        let prefix = f.name().split('.').next().unwrap_or("");
        if prefix != "payment" && prefix != side.as_str() {
            return Err(err(format!(
                "{what}: feature `{name}` describes the {prefix}, but typology `{}` scores the {}",
                r.typology,
                side.as_str()
            )));
        }
        Ok(f)
    };
    let mut when = Vec::new();
    for c in &r.when {
        when.push(
            parse_cond(c)
                .map_err(|p| err(format!("condition `{c}`: {p}")))
                .and_then(|(name, op, v)| Ok(Condition { f: feature(&name, &format!("condition `{c}`"))?, op, v }))?,
        );
    }
    let score_by = r.score_by.as_deref().map(|n| feature(n, "score_by")).transpose()?;
    let mut bands: Vec<(f64, f64)> = r.bands.iter().map(|b| (b.min, b.points)).collect();
    if score_by.is_some() == bands.is_empty() {
        return Err(err("give either `score_by` with `bands`, or neither".into()));
    }
    if score_by.is_some() == r.points.is_some() {
        return Err(err("give either fixed `points` or `score_by` with `bands`".into()));
    }
    if bands.windows(2).any(|w| w[1].0 <= w[0].0) {
        return Err(err("bands must be listed with increasing `min`".into()));
    }
    bands.shrink_to_fit();
    if r.sources.is_empty() {
        return Err(err("`sources` is empty: every rule cites where its logic comes from".into()));
    }
    let explain = parse_template(&r.explain, &feature).map_err(|e| match e {
        TemplateError::Rule(e) => e,
        TemplateError::Syntax(p) => err(format!("explain: {p}")),
    })?;
    Ok(Rule {
        id: r.id.clone(),
        typology,
        description: r.description.clone(),
        sources: r.sources.clone(),
        when,
        score_by,
        bands,
        points: r.points.unwrap_or(0.0),
        explain,
        sufficient: r.sufficient,
    })
}

fn known_features() -> String {
    Feature::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

fn parse_cond(s: &str) -> Result<(String, Op, f64), String> {
    let ops = [(">=", Op::Ge), ("<=", Op::Le), ("==", Op::Eq), ("!=", Op::Ne), (">", Op::Gt), ("<", Op::Lt)];
    for (tok, op) in ops {
        if let Some((l, r)) = s.split_once(tok) {
            let v: f64 = r.trim().parse().map_err(|_| format!("`{}` is not a number", r.trim()))?;
            return Ok((l.trim().to_string(), op, v));
        }
    }
    Err("expected `<feature> <op> <number>` with op one of >=, >, <=, <, ==, !=".into())
}

enum TemplateError {
    Rule(RuleError),
    Syntax(String),
}

fn parse_template(
    t: &str,
    feature: &dyn Fn(&str, &str) -> Result<Feature, RuleError>,
) -> Result<Vec<TemplatePart>, TemplateError> {
    let mut segs = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            segs.push(TemplatePart::Text(rest[..open].to_string()));
        }
        let close = rest[open..].find('}').ok_or_else(|| TemplateError::Syntax("unclosed `{`".into()))? + open;
        let inner = &rest[open + 1..close];
        let (name, fmt) = match inner.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (inner.trim(), None),
        };
        let seg = match name {
            "sender.corridor_countries_90d" => TemplatePart::Fact(Fact::CorridorCountries90),
            "settings.small_amount" => TemplatePart::Fact(Fact::SmallAmount),
            "settings.night_hours" => TemplatePart::Fact(Fact::NightHours),
            "payment.recipient_id" => TemplatePart::Fact(Fact::RecipientId),
            "sender.linked_account_ids" => TemplatePart::Fact(Fact::LinkedAccounts),
            "payment.linked_wallet_id" | "recipient.linked_wallet_id" => TemplatePart::Fact(Fact::LinkedWallet),
            _ => {
                let f = feature(name, &format!("explain placeholder `{{{inner}}}`")).map_err(TemplateError::Rule)?;
                let kind = match fmt {
                    None => f.kind(),
                    Some("money") => ValueKind::Money,
                    Some("pct") => ValueKind::Share,
                    Some("int") => ValueKind::Count,
                    Some("ratio") => ValueKind::Ratio,
                    Some(other) => {
                        return Err(TemplateError::Syntax(format!(
                            "format `{other}` in `{{{inner}}}`: allowed: money, pct, int, ratio"
                        )))
                    }
                };
                TemplatePart::Value(f, kind)
            }
        };
        segs.push(seg);
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        segs.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(segs)
}
