//! Seeds: buyers and facilitators confirmed from outside the payment stream (another bank's
//! report, a police request, an analyst's confirmed case), applied at a moment of event time.
//!
//! A seed changes the state, so the service logs it like a payment and replays it in log
//! order ([`Engine::apply_seed`] is deterministic in its inputs); the seed sets are part of
//! the snapshot. Seeds configured before a run ([`Engine::set_watchlist`],
//! [`Engine::set_confirmed_facilitators`]) are configuration, not state, and stay apart.
//!
//! What a seed does at the moment it is applied, with the same code as the stream:
//! - a **facilitator**: every unrelated payer of its last 365 days is re-scored now with the
//!   confirmed-facilitator rules (one hop back, AUSTRAC's "other payers of a known
//!   beneficiary"); from then on, a payment to it is scored as one to a known facilitator;
//! - a **buyer**: it is watch-listed (R-OSEC-09) and re-scored now; its own risk then counts
//!   for every recipient it paid, and a recipient that thereby crosses the known-facilitator
//!   line has its other payers re-scored (two hops: buyer -> facilitator -> other buyers).
//!
//! Alerts raised this way are retroactive: dated at the seed, with the earlier payments as
//! evidence. Removing a seed stops its effect on later payments; alerts already raised stay,
//! since they were raised on what was known then.

use crate::rules::EntitySide;
use crate::state::DAY;
use crate::{Engine, Moment, Outcome};
use osecwatch_model::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a seed says an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedRole {
    /// A sender confirmed as a buyer.
    Buyer,
    /// A recipient confirmed as a facilitator.
    Facilitator,
}

/// Whether the seed is added or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedAction {
    /// From now on the entities are seeds.
    Add,
    /// From now on they are not (alerts already raised stay).
    Remove,
}

/// A change to the seeds, as the service logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedEvent {
    /// Buyers (sender ids) or facilitators (recipient ids).
    pub role: SeedRole,
    /// Add or remove.
    pub action: SeedAction,
    /// The entity ids, as the payments carry them.
    pub ids: Vec<String>,
    /// Where the confirmation comes from (a case id, "police request 2026-118"); kept in
    /// the log and the audit, not used for scoring.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// What applying a seed event did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeedOutcome {
    /// Ids whose seed status changed (an id already seeded, or not seeded, is no change).
    pub changed: usize,
    /// Changed ids the engine holds no state for: seeded all the same, they take effect
    /// from their first payment.
    pub unknown: Vec<String>,
    /// Senders re-scored at the seed's moment.
    pub rescored: usize,
    /// Alerts raised at the seed's moment (retroactive).
    pub alerts_raised: usize,
}

/// The seed sets that events changed (sorted, so a snapshot is the same for the same state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seeds {
    pub(crate) buyers: BTreeSet<Box<str>>,
    pub(crate) facilitators: BTreeSet<Box<str>>,
}

impl Engine {
    /// Apply a seed event at event time `at` (the service uses its engine's event time, so
    /// the seed sits between the payments it came between); `event_id` names the event in
    /// alert ids (the service uses its log position). Deterministic: the same state, event
    /// and moment give the same state and alerts.
    pub fn apply_seed(&mut self, at: Timestamp, event_id: &str, ev: &SeedEvent) -> SeedOutcome {
        let moment = Moment { time: at, id: event_id };
        let alerts_before = self.alerts.items.len();
        let mut out = SeedOutcome::default();
        for id in &ev.ids {
            let set = match ev.role {
                SeedRole::Buyer => &mut self.seeds.buyers,
                SeedRole::Facilitator => &mut self.seeds.facilitators,
            };
            let changed = match ev.action {
                SeedAction::Add => set.insert(id.as_str().into()),
                SeedAction::Remove => set.remove(id.as_str()),
            };
            if !changed {
                continue;
            }
            out.changed += 1;
            let slot = match ev.role {
                SeedRole::Buyer => self.entities.senders.get(id),
                SeedRole::Facilitator => self.entities.recipients.get(id),
            };
            let Some(slot) = slot else {
                out.unknown.push(id.clone());
                continue;
            };
            out.rescored += match (ev.role, ev.action) {
                (SeedRole::Facilitator, SeedAction::Add) => {
                    self.entities.recipient_state[slot as usize].known = true;
                    self.rescore_payers(slot, None, moment)
                }
                (SeedRole::Buyer, SeedAction::Add) => self.seed_buyer(slot, moment),
                (SeedRole::Buyer, SeedAction::Remove) => {
                    self.entities.sender_state[slot as usize].on_watchlist = false;
                    0
                }
                (SeedRole::Facilitator, SeedAction::Remove) => 0,
            };
        }
        out.alerts_raised = self.alerts.items.len() - alerts_before;
        out
    }

    /// A confirmed buyer: watch-listed and scored now; then every recipient it paid in 365
    /// days gets its network risk again, and one that becomes a known facilitator has its
    /// other payers re-scored. Returns how many senders were scored.
    fn seed_buyer(&mut self, s: u32, at: Moment<'_>) -> usize {
        let now = at.time.utc;
        self.entities.sender_state[s as usize].on_watchlist = true;
        self.sender_features(s, now, false);
        self.network_recipient = None;
        self.retroactive = true;
        let mut dropped = Outcome::allow();
        let (best, own) = self.score_side(EntitySide::Sender, s, at, &mut dropped);
        self.retroactive = false;
        let alerted = self.reaches_review(EntitySide::Sender, best);
        let ss = &mut self.entities.sender_state[s as usize];
        ss.own_risk = (own / 100.0) as f32;
        ss.alert_active |= alerted;
        let mut recipients: Vec<u32> =
            ss.corridor.iter().filter(|p| now - p.utc <= 365 * DAY).map(|p| p.recipient).collect();
        recipients.sort_unstable();
        recipients.dedup();
        let mut scored = 1;
        for r in recipients {
            let net = self.payer_risk(r, None, now);
            scored += self.update_recipient_network(r, Some(s), at, net);
        }
        scored
    }

    /// The seeds events have set, buyers then facilitators (sorted).
    pub fn seeds(&self) -> (Vec<&str>, Vec<&str>) {
        (self.seeds.buyers.iter().map(|b| &**b).collect(), self.seeds.facilitators.iter().map(|b| &**b).collect())
    }
}
