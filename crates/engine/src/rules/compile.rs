//! A pack file compiled: the TOML as written (`PackFile`), its settings, typologies and
//! rules checked and turned into the lookup tables, conditions and templates the engine
//! evaluates. Every refusal names the file, the rule and what is wrong.

use super::*;

/// Compile a pack from its TOML text; `file` names it in errors.
pub(super) fn pack(text: &str, file: &str) -> Result<RulePack, RuleError> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackMeta,
    settings: SettingsFile,
    typologies: Vec<TypologyFile>,
    rules: Vec<RuleFile>,
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
