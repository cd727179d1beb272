//! Snapshots of the engine's learnt state, so a service restarts from a snapshot plus the
//! payments logged after it instead of from the whole log.
//!
//! Invariant: restoring a snapshot and then processing the payments logged after it gives
//! the same state and alerts as processing every payment. `restore` checks everything
//! before it changes the engine, so a refused snapshot leaves the engine as it was.

use crate::alerts::AlertState;
use crate::rules::EntitySide;
use crate::seeds::Seeds;
use crate::state::{Entities, Interner, RecipientState, SenderState};
use crate::{Alert, Engine, EngineStats};

/// The snapshot format this build writes and reads.
// 3: recipients keep payer edges and network risk, senders their own risk. A version-2
// snapshot is passed over and the log replayed, which rebuilds them.
const SNAPSHOT_VERSION: u32 = 3;

/// Everything the engine has learnt, for snapshots. Score histories (for evaluation) are
/// not included.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct EngineSnapshot {
    /// The snapshot format (see [`Engine::restore`]).
    pub version: u32,
    senders: Vec<Box<str>>,
    sender_free: Vec<u32>,
    sender_state: Vec<SenderState>,
    recipients: Vec<Box<str>>,
    recipient_free: Vec<u32>,
    recipient_state: Vec<RecipientState>,
    /// (side as [`EntitySide::index`], typology index, alert).
    alerts: Vec<(u8, usize, Alert)>,
    stats: EngineStats,
    next_sweep: i64,
    last_utc: i64,
    /// Seeds set by events (older snapshots have none: they predate seed events).
    #[serde(default)]
    seeds: Seeds,
}

/// Why a snapshot was not restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Written by a build with another snapshot format.
    #[error("snapshot version {found} (this build reads {SNAPSHOT_VERSION})")]
    Version {
        /// The version the snapshot carries.
        found: u32,
    },
    /// Ids and states differ in number.
    #[error("snapshot is inconsistent (ids and states differ in number)")]
    Inconsistent,
    /// An alert names a typology index the engine's pack does not have.
    #[error("snapshot refers to typologies the rule pack does not have")]
    UnknownTypology,
    /// An alert names an entity side other than sender (0) or recipient (1).
    #[error("snapshot refers to entity side {0}, which is neither sender (0) nor recipient (1)")]
    UnknownSide(u8),
}

impl Engine {
    /// Capture the engine's learnt state.
    pub fn snapshot(&self) -> EngineSnapshot {
        let e = &self.entities;
        EngineSnapshot {
            version: SNAPSHOT_VERSION,
            senders: e.senders.names.clone(),
            sender_free: e.senders.free.clone(),
            sender_state: e.sender_state.clone(),
            recipients: e.recipients.names.clone(),
            recipient_free: e.recipients.free.clone(),
            recipient_state: e.recipient_state.clone(),
            alerts: self.alerts.items.iter().map(|a| (a.side.index() as u8, a.typology, a.alert.clone())).collect(),
            stats: self.stats.clone(),
            next_sweep: self.next_sweep,
            last_utc: self.last_utc,
            seeds: self.seeds.clone(),
        }
    }

    /// Replace the learnt state with a snapshot taken from an engine with the same pack.
    pub fn restore(&mut self, s: EngineSnapshot) -> Result<(), SnapshotError> {
        if s.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version { found: s.version });
        }
        if s.senders.len() != s.sender_state.len() || s.recipients.len() != s.recipient_state.len() {
            return Err(SnapshotError::Inconsistent);
        }
        if s.alerts.iter().any(|(_, t, _)| *t >= self.pack.typologies.len()) {
            return Err(SnapshotError::UnknownTypology);
        }
        if let Some((side, _, _)) = s.alerts.iter().find(|(side, _, _)| EntitySide::from_index(*side).is_none()) {
            return Err(SnapshotError::UnknownSide(*side));
        }
        self.entities = Entities {
            senders: Interner::from_slots(s.senders, s.sender_free),
            sender_state: s.sender_state,
            recipients: Interner::from_slots(s.recipients, s.recipient_free),
            recipient_state: s.recipient_state,
        };
        self.alerts.clear();
        for (side, typology, alert) in s.alerts {
            let side = EntitySide::from_index(side).expect("every side was checked above");
            let id: Box<str> = alert.entity_id.as_str().into();
            self.alerts.insert(side, &id, typology, AlertState::of(side, typology, alert));
        }
        self.stats = s.stats;
        self.next_sweep = s.next_sweep;
        self.last_utc = s.last_utc;
        self.seeds = s.seeds;
        self.apply_parties();
        Ok(())
    }
}
