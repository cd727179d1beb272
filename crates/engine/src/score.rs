//! Scoring: every typology of one side evaluated on the current feature values, each
//! result applied to the payment's outcome and the entity's alert.

use crate::rules::EntitySide;
use crate::{Engine, Moment, Outcome};

impl Engine {
    /// Evaluate every typology that scores `side` for `entity` on `self.values`, apply each
    /// to `outcome` and the entity's alert, and return the best corroborated score and the
    /// best corroborated score from the entity's own evidence (rules that read no network
    /// feature); 0 where none is corroborated.
    pub(crate) fn score_side(
        &mut self,
        side: EntitySide,
        entity: u32,
        at: Moment<'_>,
        outcome: &mut Outcome,
    ) -> (f64, f64) {
        let (mut best, mut own) = (0.0f64, 0.0f64);
        for ti in 0..self.typologies[side.index()].len() {
            let t = self.typologies[side.index()][ti];
            let ev = self.pack.evaluate(t, &self.values);
            best = best.max(if ev.corroborated { ev.score } else { 0.0 });
            own = own.max(if ev.own_corroborated { ev.own_score } else { 0.0 });
            self.apply(t, side, entity, &ev, at, outcome);
        }
        (best, own)
    }

    /// Whether a best sender score reaches review for any sender typology (the sender then
    /// counts as alerted for its recipients' network features).
    pub(crate) fn reaches_review(&self, side: EntitySide, best: f64) -> bool {
        self.typologies[side.index()].iter().any(|t| best >= self.pack.typologies[*t].review)
    }
}
