//! Score histories for evaluation: when each entity's corroborated score first reached
//! each threshold step, so `osecwatch eval` can replay any review threshold without
//! scanning again (`scores.jsonl`). A long-running service turns them off
//! ([`Engine::set_track_scores`]): they grow with every entity ever scored.

use crate::rules::EntitySide;
use crate::Engine;
use crate::Moment;
use serde::Serialize;

/// Score milestones are kept in steps of this many points (0, 5, ..., 100).
pub const THRESHOLD_STEP: usize = 5;
const N_STEPS: usize = 100 / THRESHOLD_STEP + 1;

pub(crate) struct ScoreTrack {
    side: EntitySide,
    typology: usize,
    entity_id: Box<str>,
    max_score: f64,
    /// Per step: (event time, payment id) of the first payment at or above it.
    first_at: [Option<(String, String)>; N_STEPS],
}

/// When an entity's corroborated score first reached a threshold.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FirstAt {
    /// The threshold (a multiple of [`THRESHOLD_STEP`]).
    pub threshold: f64,
    /// Event time of the payment that reached it (RFC 3339).
    pub at: String,
    /// That payment's id.
    pub txn_id: String,
}

/// One line of `scores.jsonl`: an entity's score history for one typology.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ScoreRecord {
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: String,
    /// The typology's id.
    pub typology: String,
    /// The highest corroborated score reached.
    pub max_score: f64,
    /// The first payment at or above each threshold step reached, lowest first.
    pub first_at: Vec<FirstAt>,
}

impl Engine {
    /// Keep score histories for evaluation (on by default). A long-running service turns
    /// them off: they grow with every entity ever scored.
    pub fn set_track_scores(&mut self, on: bool) {
        self.track_scores = on;
    }

    /// Remember when an entity's corroborated score first reached each threshold step.
    pub(crate) fn track(&mut self, t: usize, side: EntitySide, entity: u32, score: f64, at: Moment<'_>) {
        let name = self.entities.name(side, entity);
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
                tr.first_at[s] = Some((at.time.to_rfc3339(), at.id.to_string()));
            }
        }
    }

    /// Score history of every entity that ever had a corroborated score, in first-seen order.
    pub fn score_tracks(&self) -> Vec<ScoreRecord> {
        self.tracks
            .items
            .iter()
            .map(|tr| ScoreRecord {
                entity_type: tr.side.as_str().to_string(),
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
}
