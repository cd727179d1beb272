//! Alerts: raised when an entity's corroborated score first reaches review, updated as
//! evidence grows, and explained in plain words.
//!
//! One alert per (entity, typology). Its id is FNV-1a of (side, entity, typology, the
//! payment that raised it), so the same input gives the same ids. Its evidence is the
//! entity's corridor payments of the last 90 days (for a recipient: its senders' payments
//! to it), at most [`MAX_EVIDENCE`] ids.

use crate::facts::fnv1a;
use crate::rules::{EntitySide, Evaluation, Fact};
use crate::state::DAY;
use crate::{Alert, Decision, Engine, Moment, Outcome};
use rustc_hash::FxHashSet;

/// Most payment ids an alert lists as evidence.
pub(crate) const MAX_EVIDENCE: usize = 200;

/// An alert with what the engine needs to keep it up to date.
pub(crate) struct AlertState {
    pub(crate) side: EntitySide,
    pub(crate) typology: usize,
    pub(crate) alert: Alert,
    /// The alert's `txn_ids` as a set, so adding evidence does not rescan the list.
    pub(crate) evidence: FxHashSet<Box<str>>,
}

impl AlertState {
    /// Wrap an alert (from a snapshot) with its evidence set.
    pub(crate) fn of(side: EntitySide, typology: usize, alert: Alert) -> AlertState {
        let evidence = alert.txn_ids.iter().map(|x| Box::<str>::from(x.as_str())).collect();
        AlertState { side, typology, alert, evidence }
    }
}

impl Engine {
    /// Record the typology outcome for this payment and raise or update the entity's alert.
    pub(crate) fn apply(
        &mut self,
        t: usize,
        side: EntitySide,
        entity: u32,
        ev: &Evaluation,
        at: Moment<'_>,
        outcome: &mut Outcome,
    ) {
        for (ri, p) in &ev.fired {
            if *p > 0.0 {
                outcome.rules.push(self.pack.rules[*ri].id.clone());
            }
        }
        if !ev.corroborated {
            return;
        }
        if self.track_scores && ev.score > 0.0 {
            self.track(t, side, entity, ev.score, at);
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
        let ts = at.time.to_rfc3339();
        let name = self.entities.name(side, entity);
        let found = self.alerts.find(side, name, t);
        // An alert that already lists its fill of evidence takes no more, and ids it holds are
        // not copied again: copying every id of a busy recipient's window on each payment
        // was a fifth of the engine's time on the service's benchmark workload.
        let evidence = match found.map(|i| &self.alerts.items[i]) {
            Some(a) if a.alert.txn_ids.len() >= MAX_EVIDENCE => Vec::new(),
            Some(a) => self.evidence(side, entity, Some(&a.evidence)),
            None => self.evidence(side, entity, None),
        };
        match found {
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
                let entity_type = side.as_str();
                let typology = self.pack.typologies[t].id.clone();
                let id_src = format!("{entity_type}|{name}|{typology}|{}", at.id);
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
                    rule_pack: self.pack_label.clone(),
                    retroactive: self.retroactive,
                };
                let name = self.entities.name(side, entity);
                self.alerts.insert(side, name, t, AlertState { side, typology: t, alert, evidence: set });
            }
        }
    }

    /// The payment ids behind an entity's alert, in the order they came: its corridor payments
    /// of the last 90 days, or for a recipient its senders' payments to it; without those in
    /// `held` (the ids an existing alert lists), which are not copied.
    fn evidence(&self, side: EntitySide, entity: u32, held: Option<&FxHashSet<Box<str>>>) -> Vec<Box<str>> {
        let e = &self.entities;
        let is_new = |id: &str| !held.is_some_and(|h| h.contains(id));
        match side {
            EntitySide::Sender => {
                let ss = &e.sender_state[entity as usize];
                let now = ss.last_seen;
                ss.corridor
                    .iter()
                    .filter(|p| p.utc >= now - 90 * DAY && is_new(&p.txn_id))
                    .map(|p| p.txn_id.clone())
                    .collect()
            }
            EntitySide::Recipient => {
                // The recipient's evidence is the senders' payments to it, kept on the senders.
                let rs = &e.recipient_state[entity as usize];
                let now = rs.last_seen;
                let mut out = Vec::new();
                for i in rs.inbound.iter().filter(|i| now - i.utc <= 90 * DAY) {
                    if let Some(p) = e.sender_state[i.sender as usize]
                        .corridor
                        .iter()
                        .rev()
                        .find(|p| p.utc == i.utc && p.recipient == entity)
                    {
                        if is_new(&p.txn_id) {
                            out.push(p.txn_id.clone());
                        }
                    }
                }
                out
            }
        }
    }

    /// The fired rules' ids (positive points only) and one sentence per fired rule, with
    /// the numbers filled in from the current feature values.
    fn reasons(&self, ev: &Evaluation, entity: u32, side: EntitySide) -> (Vec<String>, Vec<String>) {
        let settings = &self.pack.settings;
        let currency = settings.base_currency.as_str();
        let facts = |f: Fact| -> String {
            match f {
                Fact::SmallAmount => {
                    let unit = 10f64.powi(settings.base_currency.exponent() as i32);
                    format!("{currency} {:.0}", settings.small_minor as f64 / unit)
                }
                Fact::NightHours => format!("{:02}:00 and {:02}:00", settings.night_start, settings.night_end),
                Fact::CorridorCountries90 => match side {
                    EntitySide::Recipient => String::new(),
                    EntitySide::Sender => self.corridor_countries(entity),
                },
                Fact::RecipientId => match self.network_recipient {
                    Some(r) => self.entities.name(EntitySide::Recipient, r).to_string(),
                    None => String::new(),
                },
                Fact::LinkedWallet => {
                    let r = match side {
                        EntitySide::Recipient => Some(entity),
                        EntitySide::Sender => self.network_recipient,
                    };
                    let now = self.last_utc;
                    match r.and_then(|r| self.known_wallet_of(r, now)) {
                        Some(o) => self.entities.name(EntitySide::Recipient, o).to_string(),
                        None => String::new(),
                    }
                }
                Fact::LinkedAccounts => match side {
                    EntitySide::Recipient => String::new(),
                    EntitySide::Sender => self.linked_account_text(entity),
                },
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

    /// The countries a sender paid in 90 days, most payments first.
    fn corridor_countries(&self, s: u32) -> String {
        let ss = &self.entities.sender_state[s as usize];
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

impl Engine {
    /// All alerts raised so far, in the order they were raised.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alert_list().cloned().collect()
    }

    /// The alerts, borrowed, in the order they were raised.
    pub fn alert_list(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.alerts.items.iter().map(|a| &a.alert)
    }

    /// Number of alerts raised so far.
    pub fn alert_count(&self) -> usize {
        self.alerts.items.len()
    }
}
