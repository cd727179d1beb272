//! The detection engine: incremental, event-at-a-time state per sender and recipient,
//! windowed features, a declarative rule pack, scores, decisions and explained alerts.
//!
//! ```no_run
//! use osecwatch_engine::{Engine, RulePack};
//! let pack = RulePack::from_file("rules/osec.toml".as_ref()).unwrap();
//! let mut engine = Engine::new(pack).unwrap();
//! // for each canonical row in time order:
//! // let decision = engine.process(&row)?;
//! let alerts = engine.alerts();
//! ```
//!
//! The same engine serves batch scans and real-time screening: [`Engine::process`] takes
//! one payment, updates state and returns the decision for it. Payments must arrive in
//! event-time order (ingest enforces it).
//!
//! Invariants: library code never prints; no personal data in logs; the same input in the
//! same order gives the same alerts with the same ids.

pub mod features;
pub mod rules;

pub use features::{Kind, F, N_FEATURES};
pub use rules::{EntitySide, Evaluation, RuleError, RulePack};

use features::*;
use osecwatch_ingest::{Coded, RateError, RateTable};
use osecwatch_model::{CurrencyCode, Timestamp, TxnRow};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

/// What to do with a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Review,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }
}

/// The engine's answer for one payment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    /// Highest typology score involved (0-100).
    pub score: f64,
    /// Rule ids that fired for the sender or the recipient.
    pub rules: Vec<String>,
    /// Plain-language reasons when the decision is review or block.
    pub reasons: Vec<String>,
}

/// An alert on one entity for one typology, updated as evidence grows.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Alert {
    pub alert_id: String,
    pub entity_type: String,
    pub entity_id: String,
    pub typology: String,
    pub score: f64,
    pub decision: Decision,
    /// Rule ids that fired at the strongest evaluation.
    pub typologies: Vec<String>,
    /// One plain-language sentence per fired rule, with the numbers behind it.
    pub reasons: Vec<String>,
    pub raised_at: String,
    pub updated_at: String,
    pub txn_ids: Vec<String>,
}

/// Problems with a single payment (the caller quarantines the row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Rate(#[from] RateError),
}

const MAX_EVIDENCE: usize = 200;

/// Score milestones are kept in steps of this many points (0, 5, ..., 100).
pub const THRESHOLD_STEP: usize = 5;
const N_STEPS: usize = 100 / THRESHOLD_STEP + 1;

struct ScoreTrack {
    side: u8,
    typology: usize,
    entity_id: Box<str>,
    max_score: f64,
    first_at: [Option<(String, String)>; N_STEPS],
}

/// When an entity's corroborated score first reached a threshold.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FirstAt {
    pub threshold: f64,
    pub at: String,
    pub txn_id: String,
}

/// One line of `scores.jsonl`: an entity's score history for one typology.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ScoreRecord {
    pub entity_type: String,
    pub entity_id: String,
    pub typology: String,
    pub max_score: f64,
    pub first_at: Vec<FirstAt>,
}

struct AlertState {
    side: u8,
    typology: usize,
    alert: Alert,
    /// The alert's `txn_ids` as a set, so adding evidence does not rescan the list.
    evidence: FxHashSet<Box<str>>,
}

/// Per-(entity, typology) records kept in creation order, found by entity id without
/// allocating: the index is keyed by the id (once per entity), the typology is a short
/// list under it. Records outlive the entity's expired state.
struct ByEntity<T> {
    /// Per side (sender, recipient): entity id -> (typology, position in `items`).
    index: [EntityIndex; 2],
    items: Vec<T>,
}

type EntityIndex = FxHashMap<Box<str>, Vec<(usize, usize)>>;

impl<T> Default for ByEntity<T> {
    fn default() -> Self {
        ByEntity { index: Default::default(), items: Vec::new() }
    }
}

impl<T> ByEntity<T> {
    fn find(&self, side: u8, id: &str, typology: usize) -> Option<usize> {
        self.index[side as usize].get(id)?.iter().find(|(t, _)| *t == typology).map(|(_, i)| *i)
    }

    fn insert(&mut self, side: u8, id: &str, typology: usize, item: T) -> usize {
        let i = self.items.len();
        self.items.push(item);
        match self.index[side as usize].get_mut(id) {
            Some(list) => list.push((typology, i)),
            None => {
                self.index[side as usize].insert(id.into(), vec![(typology, i)]);
            }
        }
        i
    }

    fn clear(&mut self) {
        *self = ByEntity::default();
    }
}

/// Reused buffers for the per-payment feature computation, so scoring a payment does
/// not allocate.
#[derive(Default)]
struct Scratch {
    r30: FxHashSet<u32>,
    r90: FxHashSet<u32>,
    r365: FxHashSet<u32>,
    unrelated: FxHashSet<u32>,
    alerted: FxHashSet<u32>,
    countries: Vec<[u8; 2]>,
    amounts: Vec<i64>,
    times: Vec<i64>,
    trend: Vec<i64>,
    months: FxHashMap<i32, u32>,
    last_by_recipient: FxHashMap<u32, i32>,
}

impl Scratch {
    fn clear(&mut self) {
        self.r30.clear();
        self.r90.clear();
        self.r365.clear();
        self.unrelated.clear();
        self.alerted.clear();
        self.countries.clear();
        self.amounts.clear();
        self.times.clear();
        self.trend.clear();
        self.months.clear();
        self.last_by_recipient.clear();
    }
}

/// Which of the costlier sender features to work out: while scoring, those the pack
/// reads; for a profile, all of them.
struct Demand {
    r30: bool,
    r90: bool,
    r365: bool,
    unrelated: bool,
    countries: bool,
    amounts: bool,
    times: bool,
    months: bool,
    gaps: bool,
    dom: bool,
    trend: bool,
    shared: bool,
}

impl Demand {
    /// What the pack reads, or everything (`all`, for a profile).
    fn of(pack: &RulePack, all: bool) -> Demand {
        let u = |f: F| all || pack.uses(f);
        Demand {
            r30: u(F::Recipients30),
            r90: u(F::Recipients90) || u(F::SharedRecipients90),
            r365: u(F::Recipients365),
            unrelated: u(F::Unrelated90),
            countries: u(F::Countries90),
            amounts: u(F::Median90),
            times: u(F::GapCv365),
            months: u(F::MaxPerMonth90),
            gaps: u(F::MonthlyPattern),
            dom: u(F::PaydayShare),
            trend: u(F::AmountTrend180),
            shared: u(F::SharedRecipients90),
        }
    }
}

/// Facts about the current payment, worked out once in `process`.
#[derive(Default, Clone, Copy)]
struct PayFacts {
    base: i64,
    cover: bool,
    family: bool,
    corridor: bool,
    novel_recipient: bool,
    novel_country: bool,
}

fn name_of<'a>(senders: &'a Interner, recipients: &'a Interner, side: u8, entity: u32) -> &'a str {
    if side == 0 {
        &senders.names[entity as usize]
    } else {
        &recipients.names[entity as usize]
    }
}

/// Interns entity ids so state is keyed by small integers; slots of expired entities are
/// reused.
#[derive(Default)]
struct Interner {
    map: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    free: Vec<u32>,
}

/// Returned by [`Interner::get_or_insert`]: the slot and whether it is new (its state must
/// be (re)initialised).
enum Slot {
    Existing(u32),
    Fresh(u32),
}

impl Interner {
    fn get_or_insert(&mut self, id: &str) -> Slot {
        if let Some(i) = self.map.get(id) {
            return Slot::Existing(*i);
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.names[i as usize] = id.into();
                i
            }
            None => {
                self.names.push(id.into());
                (self.names.len() - 1) as u32
            }
        };
        self.map.insert(id.into(), i);
        Slot::Fresh(i)
    }

    fn remove(&mut self, i: u32) {
        let name = std::mem::take(&mut self.names[i as usize]);
        self.map.remove(&name);
        self.free.push(i);
    }

    fn live(&self) -> usize {
        self.map.len()
    }
}

/// Everything the engine has learnt, for snapshots: restoring it and then processing the
/// payments logged after it gives the same state as processing every payment. Score
/// histories (for evaluation) are not included.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct EngineSnapshot {
    pub version: u32,
    senders: Vec<Box<str>>,
    sender_free: Vec<u32>,
    sender_state: Vec<SenderState>,
    recipients: Vec<Box<str>>,
    recipient_free: Vec<u32>,
    recipient_state: Vec<RecipientState>,
    alerts: Vec<(u8, usize, Alert)>,
    stats: EngineStats,
    next_sweep: i64,
    last_utc: i64,
}

const SNAPSHOT_VERSION: u32 = 2;

/// Entities without activity for this long are forgotten (the longest feature window).
const EXPIRY: i64 = 366 * DAY;

/// Counters for the summary.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct EngineStats {
    pub processed: u64,
    pub relevant: u64,
    pub allow: u64,
    pub review: u64,
    pub block: u64,
    pub senders_tracked: u64,
    pub recipients_tracked: u64,
}

pub struct Engine {
    pack: RulePack,
    rates: RateTable,
    php: Option<f64>,
    senders: Interner,
    sender_state: Vec<SenderState>,
    recipients: Interner,
    recipient_state: Vec<RecipientState>,
    watchlist: FxHashSet<Box<str>>,
    alerts: ByEntity<AlertState>,
    next_sweep: i64,
    tracks: ByEntity<ScoreTrack>,
    scratch: Scratch,
    last_utc: i64,
    track_scores: bool,
    sender_typologies: Vec<usize>,
    recipient_typologies: Vec<usize>,
    stats: EngineStats,
    values: Values,
}

fn surname_hash(name: &str) -> u64 {
    let last = name.split_whitespace().next_back().unwrap_or("");
    if last.len() < 2 {
        return 0;
    }
    if last.is_ascii() {
        // Same bytes as `to_lowercase`, without the allocation.
        let mut h: u64 = FNV_OFFSET;
        for b in last.bytes() {
            h = fnv_step(h, b.to_ascii_lowercase());
        }
        h
    } else {
        fnv1a(last.to_lowercase().as_bytes())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
}

/// How the engine sees a payment before looking at any state.
struct FirstLook {
    side_kind: Option<u8>,
    corridor: bool,
    watch: bool,
}

impl FirstLook {
    /// A transfer to a high-risk country abroad, side spending (by MCC, or a card payment
    /// in a high-risk country abroad), or a watch-listed sender (`watch`): anything else is
    /// allowed without touching state.
    fn of(st: &rules::Settings, row: &Coded, watch: bool) -> FirstLook {
        let cross_border = row.recipient_country != row.sender_country;
        let risky = cross_border && st.is_high_risk(row.recipient_country);
        let mcc = row.merchant_category.unwrap_or(0);
        let side_kind = match st.mcc_kind(mcc) {
            0 if mcc != 0 && risky => Some(S_TRAVEL),
            0 => None,
            k => Some(k),
        };
        let transfer =
            !matches!(row.channel, osecwatch_model::Channel::Card | osecwatch_model::Channel::Cash) && mcc == 0;
        FirstLook { side_kind, corridor: transfer && risky, watch }
    }

    fn watched(watchlist: &FxHashSet<Box<str>>, sender_id: &str) -> bool {
        !watchlist.is_empty() && watchlist.contains(sender_id)
    }

    fn relevant(&self) -> bool {
        self.corridor || self.side_kind.is_some() || self.watch
    }
}

/// Which payments the engine needs in full, as a value reader threads can share: the same
/// [`FirstLook`] as [`Engine::process`], plus any payment the rates cannot convert (so
/// `process` refuses it with the reason). The rest only need [`Engine::pass`].
pub struct Needs {
    settings: rules::Settings,
    rates: RateTable,
    watchlist: FxHashSet<Box<str>>,
}

impl Needs {
    /// Apart, so that the common case (no watch list) saves no registers for it.
    #[inline(never)]
    fn watched<'a>(&self, row: &dyn Fn() -> TxnRow<'a>) -> bool {
        self.watchlist.contains(row().sender_id)
    }
}

impl osecwatch_ingest::Prefilter for Needs {
    fn wants<'a>(&self, coded: &Coded, row: &dyn Fn() -> TxnRow<'a>) -> bool {
        FirstLook::of(&self.settings, coded, false).relevant()
            || !self.rates.knows(coded.amount.currency)
            || (!self.watchlist.is_empty() && self.watched(row))
    }
}

/// FNV-1a: a stable hash (unlike std's, it never changes between releases), used for
/// surname matching and alert ids.
pub fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(FNV_OFFSET, |h, x| fnv_step(h, *x))
}

impl Engine {
    pub fn new(pack: RulePack) -> Result<Engine, RateError> {
        let rates = if pack.settings.rates.is_empty() && pack.settings.base_currency == CurrencyCode::EUR {
            RateTable::eur_defaults()
        } else {
            RateTable::new(pack.settings.base_currency, &pack.settings.rates)?
        };
        let php = CurrencyCode::parse("PHP").ok().and_then(|c| rates.per_base(c));
        let sender_typologies =
            (0..pack.typologies.len()).filter(|t| pack.typologies[*t].entity == EntitySide::Sender).collect();
        let recipient_typologies =
            (0..pack.typologies.len()).filter(|t| pack.typologies[*t].entity == EntitySide::Recipient).collect();
        Ok(Engine {
            pack,
            rates,
            php,
            senders: Interner::default(),
            sender_state: Vec::new(),
            recipients: Interner::default(),
            recipient_state: Vec::new(),
            watchlist: FxHashSet::default(),
            alerts: ByEntity::default(),
            sender_typologies,
            recipient_typologies,
            stats: EngineStats::default(),
            values: [0.0; N_FEATURES],
            next_sweep: i64::MIN,
            tracks: ByEntity::default(),
            scratch: Scratch::default(),
            last_utc: 0,
            track_scores: true,
        })
    }

    /// Capture the engine's learnt state.
    pub fn snapshot(&self) -> EngineSnapshot {
        EngineSnapshot {
            version: SNAPSHOT_VERSION,
            senders: self.senders.names.clone(),
            sender_free: self.senders.free.clone(),
            sender_state: self.sender_state.clone(),
            recipients: self.recipients.names.clone(),
            recipient_free: self.recipients.free.clone(),
            recipient_state: self.recipient_state.clone(),
            alerts: self.alerts.items.iter().map(|a| (a.side, a.typology, a.alert.clone())).collect(),
            stats: self.stats.clone(),
            next_sweep: self.next_sweep,
            last_utc: self.last_utc,
        }
    }

    /// Replace the learnt state with a snapshot taken from an engine with the same pack.
    pub fn restore(&mut self, s: EngineSnapshot) -> Result<(), String> {
        if s.version != SNAPSHOT_VERSION {
            return Err(format!("snapshot version {} (this build reads {SNAPSHOT_VERSION})", s.version));
        }
        if s.senders.len() != s.sender_state.len() || s.recipients.len() != s.recipient_state.len() {
            return Err("snapshot is inconsistent (ids and states differ in number)".into());
        }
        if s.alerts.iter().any(|(_, t, _)| *t >= self.pack.typologies.len()) {
            return Err("snapshot refers to typologies the rule pack does not have".into());
        }
        let intern = |names: Vec<Box<str>>, free: Vec<u32>| {
            let map =
                names.iter().enumerate().filter(|(_, n)| !n.is_empty()).map(|(i, n)| (n.clone(), i as u32)).collect();
            Interner { map, names, free }
        };
        self.senders = intern(s.senders, s.sender_free);
        self.sender_state = s.sender_state;
        self.recipients = intern(s.recipients, s.recipient_free);
        self.recipient_state = s.recipient_state;
        self.alerts.clear();
        for (side, typology, alert) in s.alerts {
            let evidence = alert.txn_ids.iter().map(|x| Box::<str>::from(x.as_str())).collect();
            let id: Box<str> = alert.entity_id.as_str().into();
            self.alerts.insert(side, &id, typology, AlertState { side, typology, alert, evidence });
        }
        self.stats = s.stats;
        self.next_sweep = s.next_sweep;
        self.last_utc = s.last_utc;
        Ok(())
    }

    /// Keep score histories for evaluation (on by default). A long-running service turns
    /// them off: they grow with every entity ever scored.
    pub fn set_track_scores(&mut self, on: bool) {
        self.track_scores = on;
    }

    /// Sender ids on a watch list (offender registers, SHPO restrictions): R-OSEC-09.
    pub fn set_watchlist(&mut self, ids: impl IntoIterator<Item = String>) {
        self.watchlist = ids.into_iter().map(Into::into).collect();
    }

    pub fn pack(&self) -> &RulePack {
        &self.pack
    }

    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        s.senders_tracked = self.senders.live() as u64;
        s.recipients_tracked = self.recipients.live() as u64;
        s
    }

    /// Forget entities idle for longer than the longest window. Runs once per day of
    /// event time; their alerts stay.
    fn sweep(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + DAY;
        for i in 0..self.sender_state.len() {
            if !self.senders.names[i].is_empty() && self.sender_state[i].last_seen < now - EXPIRY {
                self.sender_state[i] = SenderState::default();
                self.senders.remove(i as u32);
            }
        }
        for i in 0..self.recipient_state.len() {
            if !self.recipients.names[i].is_empty() && self.recipient_state[i].last_seen < now - EXPIRY {
                self.recipient_state[i] = RecipientState::default();
                self.recipients.remove(i as u32);
            }
        }
    }

    fn is_org(&self, name: &str) -> bool {
        let n = name.to_lowercase();
        self.pack.settings.organisation_markers.iter().any(|m| {
            n.split(|c: char| c.is_whitespace() || c == ',').any(|tok| tok == m.as_str())
                || (m.contains(' ') && n.contains(m.as_str()))
        })
    }

    fn is_cover(&self, reference: &str) -> bool {
        if reference.is_empty() {
            return false;
        }
        let r = reference.to_lowercase();
        r.contains('@') || self.pack.settings.cover_keywords.iter().any(|k| r.contains(k.as_str()))
    }

    fn is_round(&self, base_minor: i64, row: &TxnRow<'_>) -> bool {
        let unit = 10i64.pow(self.pack.settings.base_currency.exponent() as u32);
        if base_minor % (5 * unit) == 0 {
            return true;
        }
        if row.amount.currency.as_str() == "PHP" {
            let u = 10i64.pow(row.amount.currency.exponent() as u32);
            return row.amount.minor % (100 * u) == 0;
        }
        // A round PHP price paid in the base currency (OS-10): within 0.5 % of a multiple
        // of PHP 500 at the configured rate.
        if let Some(php_per_base) = self.php {
            let php = base_minor as f64 / unit as f64 * php_per_base;
            if php >= 450.0 {
                let nearest = (php / 500.0).round() * 500.0;
                return ((php - nearest) / nearest).abs() < 0.005;
            }
        }
        false
    }

    /// What a reader's worker threads can ask in place of the engine: which payments it
    /// needs to see in full. Take it after [`Engine::set_watchlist`].
    pub fn needs(&self) -> Needs {
        Needs { settings: self.pack.settings.clone(), rates: self.rates.clone(), watchlist: self.watchlist.clone() }
    }

    /// A payment that [`Needs`] said cannot matter: counted and allowed, exactly as
    /// [`Engine::process`] would, without looking further.
    pub fn pass(&mut self, at: Timestamp) {
        self.count(at);
        self.stats.allow += 1;
    }

    /// `count` payments in time order, up to `last`, that [`Needs`] said cannot matter:
    /// as [`Engine::pass`] for each.
    pub fn pass_run(&mut self, count: u64, last: Timestamp) {
        self.stats.processed += count;
        self.stats.allow += count;
        self.last_utc = self.last_utc.max(last.utc);
    }

    fn count(&mut self, at: Timestamp) {
        self.stats.processed += 1;
        self.last_utc = self.last_utc.max(at.utc);
    }

    /// Process one payment (in time order): update state, score, raise or update alerts,
    /// and return the decision for this payment.
    pub fn process(&mut self, row: &TxnRow<'_>) -> Result<Outcome, EngineError> {
        self.count(row.timestamp);
        let base = self.rates.to_base_minor(row.amount)?;
        let st = &self.pack.settings;
        let now = row.timestamp.utc;
        let look = FirstLook::of(st, &Coded::of(row), FirstLook::watched(&self.watchlist, row.sender_id));
        if !look.relevant() {
            self.stats.allow += 1;
            return Ok(Outcome { decision: Decision::Allow, score: 0.0, rules: Vec::new(), reasons: Vec::new() });
        }
        let FirstLook { side_kind, corridor, watch } = look;
        let rc = row.recipient_country.as_bytes();
        let small = base <= st.small_minor;
        self.stats.relevant += 1;
        self.sweep(now);
        let sender_surname = surname_hash(row.sender_name);
        let recipient_surname = surname_hash(row.recipient_name);
        let mut facts = PayFacts {
            base,
            cover: self.is_cover(row.reference),
            family: sender_surname != 0 && sender_surname == recipient_surname,
            corridor,
            ..PayFacts::default()
        };

        // Sender state.
        let s = match self.senders.get_or_insert(row.sender_id) {
            Slot::Existing(s) => s,
            Slot::Fresh(s) => {
                let st = SenderState { surname: sender_surname, ..Default::default() };
                if s as usize == self.sender_state.len() {
                    self.sender_state.push(st);
                } else {
                    self.sender_state[s as usize] = st;
                }
                s
            }
        };
        let hour = row.timestamp.local_hour();
        let night = self.pack.settings.is_night(hour);
        let mut recipient_idx = None;
        if corridor {
            let r = match self.recipients.get_or_insert(row.recipient_id) {
                Slot::Existing(r) => r,
                Slot::Fresh(r) => {
                    let st = RecipientState {
                        surname: recipient_surname,
                        is_org: self.is_org(row.recipient_name),
                        ..Default::default()
                    };
                    if r as usize == self.recipient_state.len() {
                        self.recipient_state.push(st);
                    } else {
                        self.recipient_state[r as usize] = st;
                    }
                    r
                }
            };
            recipient_idx = Some(r);
            self.recipient_state[r as usize].last_seen = now;
            let rs = &self.recipient_state[r as usize];
            let family = rs.surname != 0 && rs.surname == self.sender_state[s as usize].surname;
            let mut flags = 0u8;
            flags |= if small { F_SMALL } else { 0 };
            flags |= if self.is_round(base, row) { F_ROUND } else { 0 };
            flags |= if facts.cover { F_COVER } else { 0 };
            flags |= if family { F_FAMILY } else { 0 };
            flags |= if night { F_NIGHT } else { 0 };
            flags |= if rs.is_org { F_ORG } else { 0 };
            let local_day = row.timestamp.local_secs().div_euclid(DAY) as i32;
            let (y, m, dom) = osecwatch_model::civil_from_days(local_day as i64);
            let ss = &mut self.sender_state[s as usize];
            ss.corridor.push_back(Pay {
                utc: now,
                local_day,
                month: y as i32 * 12 + m as i32,
                dom: dom as u8,
                amount: base,
                recipient: r,
                country: rc,
                flags,
                txn_id: row.txn_id.into(),
            });
            if small {
                let rs = &mut self.recipient_state[r as usize];
                rs.inbound.push_back(Inbound { utc: now, sender: s, amount: base, family, night });
                rs.prune(now);
                let seen = &mut self.scratch.unrelated;
                seen.clear();
                rs.unrelated_senders = rs.inbound.iter().filter(|i| !i.family && seen.insert(i.sender)).count() as u32;
            }
        }
        let ss = &mut self.sender_state[s as usize];
        if let Some(k) = side_kind {
            ss.side.push_back((now, k));
        }
        ss.on_watchlist = watch;
        ss.last_seen = now;
        ss.prune(now);
        if let Some(r) = recipient_idx {
            // Novelty against what the sender paid before this payment (the last entry).
            let before = ss.corridor.len() - 1;
            facts.novel_recipient = !ss.corridor.iter().take(before).any(|p| p.recipient == r);
            facts.novel_country = !ss.corridor.iter().take(before).any(|p| p.country == rc);
        }

        // Sender features and typologies.
        self.sender_features(s, now, false);
        self.payment_features(row, facts);
        let mut outcome = Outcome { decision: Decision::Allow, score: 0.0, rules: Vec::new(), reasons: Vec::new() };
        let mut best_sender = 0.0f64;
        for ti in 0..self.sender_typologies.len() {
            let t = self.sender_typologies[ti];
            let ev = self.pack.evaluate(t, &self.values);
            best_sender = best_sender.max(if ev.corroborated { ev.score } else { 0.0 });
            self.apply(t, 0, s, &ev, row, &mut outcome);
        }
        self.sender_state[s as usize].alert_active =
            self.sender_typologies.iter().any(|t| best_sender >= self.pack.typologies[*t].review);

        // Recipient features and typologies (only cross-border small payments build them).
        if let (Some(r), true) = (recipient_idx, small) {
            self.recipient_features(r, now);
            for ti in 0..self.recipient_typologies.len() {
                let t = self.recipient_typologies[ti];
                let ev = self.pack.evaluate(t, &self.values);
                self.apply(t, 1, r, &ev, row, &mut outcome);
            }
        }
        match outcome.decision {
            Decision::Allow => self.stats.allow += 1,
            Decision::Review => self.stats.review += 1,
            Decision::Block => self.stats.block += 1,
        }
        Ok(outcome)
    }

    /// Record the typology outcome for this payment and raise or update the entity's alert.
    fn apply(&mut self, t: usize, side: u8, entity: u32, ev: &Evaluation, row: &TxnRow<'_>, outcome: &mut Outcome) {
        for (ri, p) in &ev.fired {
            if *p > 0.0 {
                outcome.rules.push(self.pack.rules[*ri].id.clone());
            }
        }
        if !ev.corroborated {
            return;
        }
        if self.track_scores && ev.score > 0.0 {
            self.track(t, side, entity, ev.score, row);
        }
        let typ = &self.pack.typologies[t];
        if ev.score < typ.review {
            return;
        }
        let decision = if ev.score >= typ.block { Decision::Block } else { Decision::Review };
        outcome.decision = outcome.decision.max(decision);
        outcome.score = outcome.score.max(ev.score);
        let (rules, sentences) = self.reasons(ev, entity, side);
        outcome.reasons.extend(sentences.iter().cloned());
        let evidence = self.evidence(side, entity);
        let ts = row.timestamp.to_rfc3339();
        let name = name_of(&self.senders, &self.recipients, side, entity);
        match self.alerts.find(side, name, t) {
            Some(i) => {
                let a = &mut self.alerts.items[i];
                a.alert.updated_at = ts;
                for id in evidence {
                    if a.alert.txn_ids.len() >= MAX_EVIDENCE {
                        break;
                    }
                    if a.evidence.insert(id.clone()) {
                        a.alert.txn_ids.push(id.into());
                    }
                }
                if ev.score > a.alert.score {
                    a.alert.score = ev.score;
                    a.alert.decision = a.alert.decision.max(decision);
                    a.alert.typologies = rules;
                    a.alert.reasons = sentences;
                }
            }
            None => {
                let entity_type = if side == 0 { "sender" } else { "recipient" };
                let typology = self.pack.typologies[t].id.clone();
                let id_src = format!("{entity_type}|{name}|{typology}|{}", row.txn_id);
                let mut set = FxHashSet::default();
                let mut txn_ids = Vec::new();
                for id in evidence.into_iter().take(MAX_EVIDENCE) {
                    if set.insert(id.clone()) {
                        txn_ids.push(id.into());
                    }
                }
                let alert = Alert {
                    alert_id: format!("AL-{:016x}", fnv1a(id_src.as_bytes())),
                    entity_type: entity_type.to_string(),
                    entity_id: name.to_string(),
                    typology,
                    score: ev.score,
                    decision,
                    typologies: rules,
                    reasons: sentences,
                    raised_at: ts.clone(),
                    updated_at: ts,
                    txn_ids,
                };
                let name = name_of(&self.senders, &self.recipients, side, entity);
                self.alerts.insert(side, name, t, AlertState { side, typology: t, alert, evidence: set });
            }
        }
    }

    fn evidence(&self, side: u8, entity: u32) -> Vec<Box<str>> {
        if side == 0 {
            let ss = &self.sender_state[entity as usize];
            let now = ss.last_seen;
            ss.corridor.iter().filter(|p| p.utc >= now - 90 * DAY).map(|p| p.txn_id.clone()).collect()
        } else {
            // The recipient's evidence is the senders' payments to it, kept on the senders.
            let rs = &self.recipient_state[entity as usize];
            let now = rs.last_seen;
            let mut out = Vec::new();
            for i in rs.inbound.iter().filter(|i| now - i.utc <= 90 * DAY) {
                if let Some(p) = self.sender_state[i.sender as usize]
                    .corridor
                    .iter()
                    .rev()
                    .find(|p| p.utc == i.utc && p.recipient == entity)
                {
                    out.push(p.txn_id.clone());
                }
            }
            out
        }
    }

    fn reasons(&self, ev: &Evaluation, entity: u32, side: u8) -> (Vec<String>, Vec<String>) {
        let currency = self.pack.settings.base_currency.as_str();
        let facts = |f: rules::Fact| -> String {
            match f {
                rules::Fact::SmallAmount => {
                    let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
                    format!("{currency} {:.0}", self.pack.settings.small_minor as f64 / unit)
                }
                rules::Fact::NightHours => {
                    format!("{:02}:00 and {:02}:00", self.pack.settings.night_start, self.pack.settings.night_end)
                }
                rules::Fact::CorridorCountries90 => {
                    if side != 0 {
                        return String::new();
                    }
                    let ss = &self.sender_state[entity as usize];
                    let now = ss.last_seen;
                    let mut counts: Vec<([u8; 2], u32)> = Vec::new();
                    for p in ss.corridor.iter().filter(|p| p.utc >= now - 90 * DAY) {
                        match counts.iter_mut().find(|c| c.0 == p.country) {
                            Some(c) => c.1 += 1,
                            None => counts.push((p.country, 1)),
                        }
                    }
                    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    counts.iter().map(|(c, _)| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(", ")
                }
            }
        };
        let mut rules = Vec::new();
        let mut sentences = Vec::new();
        for (ri, p) in &ev.fired {
            let r = &self.pack.rules[*ri];
            let text = r.explain(&self.values, &facts, currency);
            if *p > 0.0 {
                rules.push(r.id.clone());
                sentences.push(format!("{}: {} (+{:.0})", r.id, text, p));
            } else {
                sentences.push(format!("{} (mitigating): {} ({:.0})", r.id, text, p));
            }
        }
        (rules, sentences)
    }

    fn sender_features(&mut self, s: u32, now: i64, all: bool) {
        let d = Demand::of(&self.pack, all);
        let mut sc = std::mem::take(&mut self.scratch);
        sc.clear();
        let x = &mut self.values;
        x.fill(0.0);
        let ss = &self.sender_state[s as usize];
        let c = &ss.corridor;
        let (mut n1, mut n7, mut n30, mut n90, mut n365, mut sm30, mut sm90) = (0, 0, 0, 0, 0, 0, 0);
        let (mut sum30, mut sum90) = (0i64, 0i64);
        let (mut night90, mut cover90, mut round90, mut family90, mut org90) = (0, 0, 0, 0, 0);
        let mut prev90 = 0;
        // Payday clustering: payments per day of the month over the year.
        let mut by_dom = [0u32; 31];
        // Payday cadence: gaps between repeat payments to the same recipient.
        let (mut monthly_gaps, mut all_gaps) = (0u32, 0u32);
        for p in c.iter() {
            let age = now - p.utc;
            if age <= 365 * DAY {
                n365 += 1;
                if d.r365 {
                    sc.r365.insert(p.recipient);
                }
                if d.times {
                    sc.times.push(p.utc);
                }
                if d.dom {
                    by_dom[(p.dom as usize).clamp(1, 31) - 1] += 1;
                }
                if d.gaps {
                    if let Some(prev) = sc.last_by_recipient.insert(p.recipient, p.local_day) {
                        let g = p.local_day - prev;
                        if g >= 2 {
                            all_gaps += 1;
                            monthly_gaps += (25..=35).contains(&g) as u32;
                        }
                    }
                }
            }
            if age > 90 * DAY && age <= 180 * DAY {
                prev90 += 1;
            }
            if d.trend && age <= 180 * DAY {
                sc.trend.push(p.amount);
            }
            if age <= 90 * DAY {
                n90 += 1;
                sum90 += p.amount;
                if d.r90 {
                    sc.r90.insert(p.recipient);
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
                sm90 += (p.flags & F_SMALL != 0) as u32;
                night90 += (p.flags & F_NIGHT != 0) as u32;
                cover90 += (p.flags & F_COVER != 0) as u32;
                round90 += (p.flags & F_ROUND != 0) as u32;
                family90 += (p.flags & F_FAMILY != 0) as u32;
                org90 += (p.flags & F_ORG != 0) as u32;
                if d.months {
                    *sc.months.entry(p.month).or_default() += 1;
                }
            }
            if age <= 30 * DAY {
                n30 += 1;
                sum30 += p.amount;
                if d.r30 {
                    sc.r30.insert(p.recipient);
                }
                sm30 += (p.flags & F_SMALL != 0) as u32;
            }
            if age <= 7 * DAY {
                n7 += 1;
            }
            if age <= DAY {
                n1 += 1;
            }
        }
        // The busiest 5-day window of the month (wrapping at month end), at least 4 payments.
        let payday_share = if n365 < 4 || !d.dom {
            0.0
        } else {
            let best = (0..31).map(|c| (0..5).map(|k| by_dom[(c + 31 + k - 2) % 31]).sum::<u32>()).max().unwrap_or(0);
            best as f64 / n365 as f64
        };
        let shared = if !d.shared {
            0
        } else {
            sc.r90
                .iter()
                .filter(|r| {
                    let rs = &self.recipient_state[**r as usize];
                    // Other unrelated senders: the recipient's count minus this sender if it counts.
                    let me = rs.inbound.iter().any(|i| i.sender == s && !i.family && now - i.utc <= 90 * DAY) as u32;
                    !rs.is_org && rs.unrelated_senders.saturating_sub(me) >= 2
                })
                .count()
        };
        let side90 = |k: u8| ss.side.iter().filter(|(t, kk)| *kk == k && now - t <= 90 * DAY).count() as f64;
        let div = |a: u32, b: u32| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        x[F::CorridorCount1 as usize] = n1 as f64;
        x[F::CorridorCount7 as usize] = n7 as f64;
        x[F::CorridorCount30 as usize] = n30 as f64;
        x[F::CorridorCount90 as usize] = n90 as f64;
        x[F::CorridorCount365 as usize] = n365 as f64;
        x[F::SmallCount30 as usize] = sm30 as f64;
        x[F::SmallCount90 as usize] = sm90 as f64;
        x[F::CorridorSum30 as usize] = sum30 as f64 / unit;
        x[F::CorridorSum90 as usize] = sum90 as f64 / unit;
        x[F::Recipients30 as usize] = sc.r30.len() as f64;
        x[F::Recipients90 as usize] = sc.r90.len() as f64;
        x[F::Recipients365 as usize] = sc.r365.len() as f64;
        x[F::Unrelated90 as usize] = sc.unrelated.len() as f64;
        x[F::Countries90 as usize] = sc.countries.len() as f64;
        x[F::Median90 as usize] = median(&mut sc.amounts) / unit;
        x[F::SmallShare90 as usize] = div(sm90, n90);
        x[F::RoundShare90 as usize] = div(round90, n90);
        x[F::NightCount90 as usize] = night90 as f64;
        x[F::NightShare90 as usize] = div(night90, n90);
        x[F::CoverCount90 as usize] = cover90 as f64;
        x[F::CoverShare90 as usize] = div(cover90, n90);
        x[F::GapCv365 as usize] = gap_cv(&sc.times);
        x[F::MaxPerMonth90 as usize] = sc.months.values().copied().max().unwrap_or(0) as f64;
        x[F::MonthlyPattern as usize] = div(monthly_gaps, all_gaps);
        x[F::PaydayShare as usize] = payday_share;
        x[F::AmountTrend180 as usize] = if sc.trend.len() >= 6 { kendall_tau(&sc.trend) } else { 0.0 };
        x[F::RateRatio as usize] = if prev90 == 0 { 0.0 } else { n90 as f64 / prev90 as f64 };
        x[F::FamilyShare90 as usize] = div(family90, n90);
        x[F::OrgShare90 as usize] = div(org90, n90);
        x[F::Vpn90 as usize] = side90(S_VPN);
        x[F::Cam90 as usize] = side90(S_CAM);
        x[F::SideSpend90 as usize] = side90(S_VPN) + side90(S_CAM);
        x[F::Travel365 as usize] = ss.side.iter().filter(|(_, k)| *k == S_TRAVEL).count() as f64;
        x[F::SharedRecipients90 as usize] = shared as f64;
        x[F::Watchlist as usize] = ss.on_watchlist as u8 as f64;
        self.scratch = sc;
    }

    fn payment_features(&mut self, row: &TxnRow<'_>, f: PayFacts) {
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        let night = self.pack.settings.is_night(row.timestamp.local_hour());
        let x = &mut self.values;
        x[F::PayAmount as usize] = f.base as f64 / unit;
        x[F::PayNight as usize] = night as u8 as f64;
        x[F::PayNovelRecipient as usize] = (f.corridor && f.novel_recipient) as u8 as f64;
        x[F::PayNovelCountry as usize] = (f.corridor && f.novel_country) as u8 as f64;
        x[F::PayCover as usize] = f.cover as u8 as f64;
        x[F::PayFamily as usize] = f.family as u8 as f64;
    }

    fn recipient_features(&mut self, r: u32, now: i64) {
        let mut sc = std::mem::take(&mut self.scratch);
        sc.clear();
        let rs = &self.recipient_state[r as usize];
        let (mut n, mut night) = (0u32, 0u32);
        for i in rs.inbound.iter().filter(|i| now - i.utc <= 90 * DAY) {
            n += 1;
            night += i.night as u32;
            sc.r90.insert(i.sender);
            if !i.family {
                sc.unrelated.insert(i.sender);
            }
            if self.sender_state[i.sender as usize].alert_active {
                sc.alerted.insert(i.sender);
            }
            sc.amounts.push(i.amount);
        }
        let unit = 10f64.powi(self.pack.settings.base_currency.exponent() as i32);
        let x = &mut self.values;
        x[F::RSenders90 as usize] = sc.r90.len() as f64;
        x[F::RUnrelated90 as usize] = sc.unrelated.len() as f64;
        x[F::RSmallCount90 as usize] = n as f64;
        x[F::RNightShare90 as usize] = if n == 0 { 0.0 } else { night as f64 / n as f64 };
        x[F::RMedian90 as usize] = median(&mut sc.amounts) / unit;
        x[F::RAlerted90 as usize] = sc.alerted.len() as f64;
        x[F::RIsOrg as usize] = rs.is_org as u8 as f64;
        self.scratch = sc;
    }

    /// Remember when an entity's corroborated score first reached each threshold step, so
    /// evaluation can replay any threshold without rescanning.
    fn track(&mut self, t: usize, side: u8, entity: u32, score: f64, row: &TxnRow<'_>) {
        let name = name_of(&self.senders, &self.recipients, side, entity);
        let i = match self.tracks.find(side, name, t) {
            Some(i) => i,
            None => {
                let track = ScoreTrack {
                    side,
                    typology: t,
                    entity_id: name.into(),
                    max_score: 0.0,
                    first_at: Default::default(),
                };
                self.tracks.insert(side, name, t, track)
            }
        };
        let tr = &mut self.tracks.items[i];
        tr.max_score = tr.max_score.max(score);
        let step = (score / THRESHOLD_STEP as f64).floor() as usize;
        for s in 0..=step.min(N_STEPS - 1) {
            if tr.first_at[s].is_none() {
                tr.first_at[s] = Some((row.timestamp.to_rfc3339(), row.txn_id.to_string()));
            }
        }
    }

    /// Score history of every entity that ever had a corroborated score, in first-seen order.
    pub fn score_tracks(&self) -> Vec<ScoreRecord> {
        self.tracks
            .items
            .iter()
            .map(|tr| ScoreRecord {
                entity_type: if tr.side == 0 { "sender" } else { "recipient" }.to_string(),
                entity_id: tr.entity_id.to_string(),
                typology: self.pack.typologies[tr.typology].id.clone(),
                max_score: tr.max_score,
                first_at: tr
                    .first_at
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        f.as_ref().map(|(ts, txn)| FirstAt {
                            threshold: (i * THRESHOLD_STEP) as f64,
                            at: ts.clone(),
                            txn_id: txn.clone(),
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// Whether payments in this currency can be converted to the base currency.
    pub fn check_currency(&self, c: CurrencyCode) -> Result<(), RateError> {
        self.rates.to_base_minor(osecwatch_model::Money::new(0, c)).map(|_| ())
    }

    /// Event time of the latest payment processed (0 before any).
    pub fn last_event_utc(&self) -> i64 {
        self.last_utc
    }

    pub fn alert_count(&self) -> usize {
        self.alerts.items.len()
    }

    /// Whether the engine holds state for this sender id.
    pub fn knows_sender(&self, id: &str) -> bool {
        self.senders.map.contains_key(id)
    }

    /// Whether the engine holds state for this recipient id.
    pub fn knows_recipient(&self, id: &str) -> bool {
        self.recipients.map.contains_key(id)
    }

    /// Current feature values of a recipient.
    pub fn recipient_values(&mut self, recipient_id: &str, at: Timestamp) -> Option<Values> {
        let r = *self.recipients.map.get(recipient_id)?;
        self.recipient_state[r as usize].prune(at.utc);
        self.values.fill(0.0);
        self.recipient_features(r, at.utc);
        Some(self.values)
    }

    /// A payment-shaped probe for reading features "as of" a time without a payment.
    fn probe<'a>(&self, at: Timestamp, sender_id: &'a str) -> Option<TxnRow<'a>> {
        let home = osecwatch_model::CountryCode::parse("DE").ok()?;
        Some(TxnRow {
            txn_id: "",
            timestamp: at,
            sender_id,
            sender_name: "",
            sender_country: home,
            recipient_id: "",
            recipient_name: "",
            recipient_country: home,
            amount: osecwatch_model::Money::new(1, self.pack.settings.base_currency),
            channel: osecwatch_model::Channel::Other,
            reference: "",
            merchant_category: None,
        })
    }

    /// All alerts raised so far, in the order they were raised.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alert_list().cloned().collect()
    }

    /// The alerts, borrowed, in the order they were raised.
    pub fn alert_list(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.alerts.items.iter().map(|a| &a.alert)
    }

    /// Current feature values of a sender (for profiles and tests).
    pub fn sender_values(&mut self, sender_id: &str, at: Timestamp) -> Option<Values> {
        let s = *self.senders.map.get(sender_id)?;
        self.sender_state[s as usize].prune(at.utc);
        self.sender_features(s, at.utc, true);
        // A probe, not a payment: amount of one minor unit, no corridor, no reference.
        let row = self.probe(at, sender_id)?;
        self.payment_features(&row, PayFacts { base: 1, ..PayFacts::default() });
        Some(self.values)
    }
}
