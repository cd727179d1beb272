//! The detection engine: incremental, event-at-a-time state per sender and recipient,
//! windowed features, a declarative rule pack, scores, decisions and explained alerts.
//!
//! ```no_run
//! use osecwatch_engine::{Engine, RulePack};
//! let pack = RulePack::builtin("osec").unwrap(); // or RulePack::from_file(path)
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
//! **Start reading here**, at [`Engine::process`]: it is the data path, step by step, and
//! each step lives in a file named after its job:
//!
//! | file | job |
//! |---|---|
//! | `prefilter.rs` | the first look: can this payment matter at all? ([`RelevanceFilter`] asks the same on reader threads) |
//! | `facts.rs` | what the payment says about itself: shared surname, organisation name, cover reference, round amount |
//! | `state.rs` | per-entity state (corridor payments, inbound payments), the id interner, expiry |
//! | `features.rs` | the feature catalogue ([`Feature`]) and the computation of every feature from state |
//! | `rules/` | the rule language: a TOML pack compiled into conditions, bands and explanations (`compile.rs`), evaluated and explained (`mod.rs`) |
//! | `score.rs` | every typology of one side evaluated on the features |
//! | `alerts.rs` | alerts raised, updated and explained |
//! | `tracks.rs` | score histories for evaluation (`scores.jsonl`) |
//! | `network.rs` | the network layer: payer edges, own and network risk, retroactive re-scoring |
//! | `networks.rs` | network records: connected groups of alerted buyers and facilitators |
//! | `snapshot.rs` | the learnt state saved and restored for the service |
//!
//! Invariants: library code never prints; no personal data in logs; the same input in the
//! same order gives the same alerts with the same ids.

mod alerts;
mod facts;
pub mod features;
pub mod network;
mod networks;
mod parties;
mod prefilter;
pub mod rules;
mod score;
mod seeds;
mod snapshot;
mod state;
mod tracks;

pub use facts::fnv1a;
pub use features::{Feature, ValueKind, Values, N_FEATURES};
pub use networks::{GraphEdge, Network, NetworkEdge, NetworkMember, PayerCounts, RecipientSummary};
pub use prefilter::RelevanceFilter;
pub use rules::{EntitySide, Evaluation, RuleError, RulePack, BUILTIN_PACKS};
pub use seeds::{SeedAction, SeedEvent, SeedOutcome, SeedRole};
pub use snapshot::{EngineSnapshot, SnapshotError};
pub use tracks::{FirstAt, ScoreRecord, THRESHOLD_STEP};

use alerts::AlertState;
use facts::{is_cover, is_org, is_round, surname_hash, PaymentFacts};
use features::Scratch;
use osecwatch_ingest::{Coded, RateError, RateTable};
use osecwatch_model::{CurrencyCode, TxnRow};
use prefilter::FirstLook;
use rustc_hash::FxHashSet;
use serde::Serialize;
use state::{ByEntity, Entities, Inbound, Pay, DAY, F_COVER, F_FAMILY, F_NIGHT, F_ORG, F_ROUND, F_SMALL};
use tracks::ScoreTrack;

/// What to do with a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Let it through.
    Allow,
    /// Let it through and have an analyst look at it.
    Review,
    /// Hold it.
    Block,
}

impl Decision {
    /// `allow`, `review` or `block`.
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
    /// The strongest decision of any typology involved.
    pub decision: Decision,
    /// Highest typology score involved (0-100).
    pub score: f64,
    /// Rule ids that fired for the sender or the recipient.
    pub rules: Vec<String>,
    /// Plain-language reasons when the decision is review or block.
    pub reasons: Vec<String>,
}

impl Outcome {
    fn allow() -> Outcome {
        Outcome { decision: Decision::Allow, score: 0.0, rules: Vec::new(), reasons: Vec::new() }
    }
}

/// An alert on one entity for one typology, updated as evidence grows.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Alert {
    /// `AL-` and 16 hex digits, stable for the same input.
    pub alert_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity's id as the payments carry it.
    pub entity_id: String,
    /// The typology's id (`OSEC-BUYER`, ...).
    pub typology: String,
    /// The highest score reached (0-100).
    pub score: f64,
    /// The strongest decision reached.
    pub decision: Decision,
    /// Rule ids that fired at the strongest evaluation.
    pub typologies: Vec<String>,
    /// One plain-language sentence per fired rule, with the numbers behind it.
    pub reasons: Vec<String>,
    /// Event time of the payment that raised it (RFC 3339).
    pub raised_at: String,
    /// Event time of the latest payment that updated it.
    pub updated_at: String,
    /// The payments behind it (at most 200).
    pub txn_ids: Vec<String>,
    /// The rule pack that raised it (`id@version`); empty in alerts from before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule_pack: String,
    /// Raised at a discovery, not at a payment of its own (a recipient it paid was found to
    /// be a facilitator, or a seed named it or its recipient): `raised_at` is the moment of
    /// discovery, the evidence its earlier payments.
    #[serde(default)]
    pub retroactive: bool,
}

/// When something is scored and what triggered it: a payment (its event time and id), or
/// a seed event (the event time it was applied at and its log id). Alerts take their time
/// and their id's source from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment<'a> {
    pub(crate) time: osecwatch_model::Timestamp,
    pub(crate) id: &'a str,
}

impl<'a> Moment<'a> {
    fn of(row: &TxnRow<'a>) -> Moment<'a> {
        Moment { time: row.timestamp, id: row.txn_id }
    }
}

/// Problems with a single payment (the caller quarantines the row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The amount cannot be converted to the base currency.
    #[error(transparent)]
    Rate(#[from] RateError),
}

/// Counters for the summary.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct EngineStats {
    /// Payments seen (processed or passed).
    pub processed: u64,
    /// Payments that could matter and were looked into.
    pub relevant: u64,
    /// Payments allowed.
    pub allow: u64,
    /// Payments sent to review.
    pub review: u64,
    /// Payments blocked.
    pub block: u64,
    /// Senders with state now.
    pub senders_tracked: u64,
    /// Recipients with state now.
    pub recipients_tracked: u64,
}

/// The detection engine: feed it payments in event-time order with [`Engine::process`].
pub struct Engine {
    /// The compiled rule pack.
    pack: RulePack,
    /// Exchange rates to the pack's base currency.
    rates: RateTable,
    /// PHP per unit of the base currency, for round-peso prices paid in the base currency.
    php_per_base: Option<f64>,
    /// Interned ids and per-entity state, both sides.
    entities: Entities,
    /// Sender ids on the watch list (R-OSEC-09).
    watchlist: FxHashSet<Box<str>>,
    /// Recipient ids confirmed as facilitators elsewhere (seeds).
    confirmed: FxHashSet<Box<str>>,
    /// Buyers and facilitators seeded by events ([`Engine::apply_seed`]): state, unlike
    /// the two configured sets above.
    seeds: seeds::Seeds,
    /// Accounts of one customer (configuration, like the watch list).
    parties: parties::Parties,
    /// Alerts per (entity, typology), in the order raised.
    alerts: ByEntity<AlertState>,
    /// Score histories per (entity, typology), for evaluation.
    tracks: ByEntity<ScoreTrack>,
    /// Whether `tracks` is kept.
    track_scores: bool,
    /// Typology indexes per side ([`EntitySide::index`]).
    typologies: [Vec<usize>; 2],
    /// Reused buffers of the feature computation.
    scratch: Scratch,
    /// Distinct-sender marks for recipients' inbound payments.
    marks: features::Marks,
    /// The feature values of the payment being scored.
    values: Values,
    /// Counters for the summary.
    stats: EngineStats,
    /// Event time at which idle entities are next swept.
    next_sweep: i64,
    /// Event time of the latest payment seen.
    last_utc: i64,
    /// The recipient a network rule's explanation names (the current payment's, or the
    /// known facilitator during retroactive re-scoring).
    network_recipient: Option<u32>,
    /// Alerts raised now are retroactive (re-scoring an earlier payer).
    retroactive: bool,
    /// `id@version` of the pack, written on every alert and decision record.
    pack_label: String,
}

impl Engine {
    /// An engine with no state for this pack (its rates must convert to its base currency).
    pub fn new(pack: RulePack) -> Result<Engine, RateError> {
        let rates = if pack.settings.rates.is_empty() && pack.settings.base_currency == CurrencyCode::EUR {
            RateTable::eur_defaults()
        } else {
            RateTable::new(pack.settings.base_currency, &pack.settings.rates)?
        };
        let php_per_base = CurrencyCode::parse("PHP").ok().and_then(|c| rates.per_base(c));
        let of_side =
            |side: EntitySide| (0..pack.typologies.len()).filter(|t| pack.typologies[*t].entity == side).collect();
        let typologies = [of_side(EntitySide::Sender), of_side(EntitySide::Recipient)];
        let pack_label = format!("{}@{}", pack.meta.id, pack.meta.version);
        Ok(Engine {
            pack_label,
            pack,
            rates,
            php_per_base,
            entities: Entities::default(),
            watchlist: FxHashSet::default(),
            confirmed: FxHashSet::default(),
            seeds: seeds::Seeds::default(),
            parties: parties::Parties::default(),
            alerts: ByEntity::default(),
            tracks: ByEntity::default(),
            track_scores: true,
            typologies,
            scratch: Scratch::default(),
            marks: features::Marks::default(),
            values: [0.0; N_FEATURES],
            stats: EngineStats::default(),
            next_sweep: i64::MIN,
            last_utc: 0,
            network_recipient: None,
            retroactive: false,
        })
    }

    /// The rule pack's `id@version`, as alerts and decision records carry it.
    pub fn pack_label(&self) -> &str {
        &self.pack_label
    }

    /// Process one payment (in time order): update state, score, raise or update alerts,
    /// and return the decision for this payment.
    pub fn process(&mut self, row: &TxnRow<'_>) -> Result<Outcome, EngineError> {
        // 1. The first look: most payments cannot matter and are allowed untouched.
        self.count(row.timestamp);
        let base = self.rates.to_base_minor(row.amount)?;
        let watch = FirstLook::watched(&self.watchlist, row.sender_id)
            || (!self.seeds.buyers.is_empty() && self.seeds.buyers.contains(row.sender_id));
        let look = FirstLook::of(&self.pack.settings, &Coded::of(row), watch);
        if !look.relevant() {
            self.stats.allow += 1;
            return Ok(Outcome::allow());
        }
        self.stats.relevant += 1;
        let now = row.timestamp.utc;
        self.sweep(now);

        // 2. What the payment says about itself.
        let sender_surname = surname_hash(row.sender_name);
        let recipient_surname = surname_hash(row.recipient_name);
        let mut facts = PaymentFacts {
            base,
            cover: is_cover(&self.pack.settings, row.reference),
            family: sender_surname != 0 && sender_surname == recipient_surname,
            corridor: look.corridor,
            ..PaymentFacts::default()
        };

        // 3. State: the sender, and for a corridor transfer the recipient and the payment.
        let s = self.entities.sender_slot(row.sender_id, sender_surname);
        self.entities.sender_state[s as usize].party = self.parties.of(row.sender_id);
        let recipient = look.corridor.then(|| self.record_corridor(row, s, &facts, recipient_surname));
        let ss = &mut self.entities.sender_state[s as usize];
        if let Some(k) = look.side_kind {
            ss.side.push_back((now, k));
        }
        ss.on_watchlist = look.watch;
        ss.last_seen = now;
        ss.prune(now);
        if let Some(r) = recipient {
            // Novelty against what the sender paid before this payment (the last entry).
            let before = ss.corridor.len() - 1;
            let rc = row.recipient_country.as_bytes();
            facts.novel_recipient = !ss.corridor.iter().take(before).any(|p| p.recipient == r);
            facts.novel_country = !ss.corridor.iter().take(before).any(|p| p.country == rc);
            if facts.novel_recipient && !facts.family {
                self.link_wallet(s, r);
            }
        }

        // 4. Features and scores: the sender (with its recipient's network risk), then the
        //    recipient of a small corridor payment; then the recipient's network risk from
        //    all its payers, which may make it a known facilitator and re-score its payers.
        self.sender_features(s, now, false);
        self.payment_features(row, facts);
        if let Some(r) = recipient {
            self.payment_network_features(r, s, now);
        }
        self.network_recipient = recipient;
        let mut outcome = Outcome::allow();
        let (best_sender, own) = self.score_side(EntitySide::Sender, s, Moment::of(row), &mut outcome);
        let alerted = self.reaches_review(EntitySide::Sender, best_sender);
        let ss = &mut self.entities.sender_state[s as usize];
        ss.own_risk = (own / 100.0) as f32;
        ss.alert_active = alerted;
        let small = base <= self.pack.settings.small_minor;
        if let Some(r) = recipient {
            // Once: scoring the recipient changes no payer's own risk.
            let net = self.payer_risk(r, None, now);
            if small {
                self.recipient_features(r, now, net);
                self.score_side(EntitySide::Recipient, r, Moment::of(row), &mut outcome);
            }
            self.update_recipient_network(r, Some(s), Moment::of(row), net);
        }
        self.network_recipient = None;
        match outcome.decision {
            Decision::Allow => self.stats.allow += 1,
            Decision::Review => self.stats.review += 1,
            Decision::Block => self.stats.block += 1,
        }
        Ok(outcome)
    }

    /// Remember a corridor transfer: on its sender as a [`Pay`], and, if it is small, on its
    /// recipient as an [`Inbound`]. Returns the recipient's slot.
    fn record_corridor(&mut self, row: &TxnRow<'_>, s: u32, facts: &PaymentFacts, recipient_surname: u64) -> u32 {
        let settings = &self.pack.settings;
        let now = row.timestamp.utc;
        let small = facts.base <= settings.small_minor;
        let night = settings.is_night(row.timestamp.local_hour());
        let r =
            self.entities.recipient_slot(row.recipient_id, recipient_surname, || is_org(settings, row.recipient_name));
        {
            let rs = &mut self.entities.recipient_state[r as usize];
            if rs.name == 0 {
                rs.name = facts::full_name_hash(row.recipient_name);
                rs.country = row.recipient_country.as_bytes();
            }
        }
        let e = &mut self.entities;
        e.recipient_state[r as usize].last_seen = now;
        let rs = &e.recipient_state[r as usize];
        let family = rs.surname != 0 && rs.surname == e.sender_state[s as usize].surname;
        let mut flags = 0u8;
        flags |= if small { F_SMALL } else { 0 };
        flags |= if is_round(settings, self.php_per_base, facts.base, row) { F_ROUND } else { 0 };
        flags |= if facts.cover { F_COVER } else { 0 };
        flags |= if family { F_FAMILY } else { 0 };
        flags |= if night { F_NIGHT } else { 0 };
        flags |= if rs.is_org { F_ORG } else { 0 };
        let local_day = row.timestamp.local_secs().div_euclid(DAY) as i32;
        let (y, m, dom) = osecwatch_model::civil_from_days(local_day as i64);
        let base = facts.base;
        e.sender_state[s as usize].corridor.push_back(Pay {
            utc: now,
            local_day,
            month: y as i32 * 12 + m as i32,
            dom: dom as u8,
            amount: facts.base,
            recipient: r,
            country: row.recipient_country.as_bytes(),
            flags,
            txn_id: row.txn_id.into(),
        });
        if small {
            let rs = &mut e.recipient_state[r as usize];
            rs.inbound.push_back(Inbound { utc: now, sender: s, amount: facts.base, family, night });
            rs.prune(now);
            let marks = &mut self.marks;
            marks.begin(e.sender_state.len());
            rs.unrelated_senders =
                rs.inbound.iter().filter(|i| !i.family && marks.insert(i.sender, features::M_UNRELATED)).count() as u32;
        }
        self.record_edge(r, s, now, base, night, family);
        r
    }

    /// Forget entities idle for longer than the longest window. Runs once per day of
    /// event time; their alerts stay.
    fn sweep(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + DAY;
        self.entities.sweep(now);
    }

    /// Sender ids on a watch list (offender registers, SHPO restrictions): R-OSEC-09.
    pub fn set_watchlist(&mut self, ids: impl IntoIterator<Item = String>) {
        self.watchlist = ids.into_iter().map(Into::into).collect();
    }

    /// Recipient ids confirmed as facilitators elsewhere (another bank's report, a police
    /// request): a payment to one is scored by the pack's confirmed-facilitator rules. Buyer
    /// seeds go on the watch list ([`Engine::set_watchlist`]).
    pub fn set_confirmed_facilitators(&mut self, ids: impl IntoIterator<Item = String>) {
        self.confirmed = ids.into_iter().map(Into::into).collect();
    }

    /// The rule pack the engine scores with.
    pub fn pack(&self) -> &RulePack {
        &self.pack
    }

    /// Counters so far, with the number of entities holding state now.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        s.senders_tracked = self.entities.senders.live() as u64;
        s.recipients_tracked = self.entities.recipients.live() as u64;
        s
    }

    /// Whether payments in this currency can be converted to the base currency.
    pub fn check_currency(&self, c: CurrencyCode) -> Result<(), RateError> {
        self.rates.to_base_minor(osecwatch_model::Money::new(0, c)).map(|_| ())
    }

    /// Event time of the latest payment processed (0 before any).
    pub fn last_event_utc(&self) -> i64 {
        self.last_utc
    }

    /// Whether the engine holds state for this sender id.
    pub fn knows_sender(&self, id: &str) -> bool {
        self.entities.senders.get(id).is_some()
    }

    /// Whether the engine holds state for this recipient id.
    pub fn knows_recipient(&self, id: &str) -> bool {
        self.entities.recipients.get(id).is_some()
    }
}
