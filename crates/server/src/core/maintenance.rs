//! The logs' upkeep on the core thread: sealing the active files into segments and deleting
//! sealed segments past their retention (see [`crate::segments`]), each recorded in the
//! audit log.

use super::{wall_clock, Core, CoreError};

impl Core {
    /// Seal both logs if the payments log is big or old enough, then delete the sealed
    /// segments past their retention. Runs after a snapshot (so a start rarely needs the
    /// sealed segments) and once a day without one (no pause for a snapshot: a start replays
    /// from the snapshot's position, in a sealed segment if need be).
    pub(super) fn seal_and_expire(&mut self, actor: &str) -> Result<(), CoreError> {
        let rules = self.snap.logs;
        let now = wall_clock().utc;
        let age = i64::from(rules.segment_days) * 86_400;
        if let Some(p) = self.wal.seal_if(rules.segment_bytes, age, now)? {
            let a = self.audit.seal(now)?;
            self.audit.push(
                &osecwatch_model::Timestamp::new(now, 0).to_rfc3339(),
                "admin",
                None,
                serde_json::json!({
                    "action": "sealed log segments",
                    "actor": actor,
                    "payments_log": p.name(),
                    "audit_log": a.as_ref().map(crate::segments::Segment::name),
                }),
            );
            self.audit.commit()?;
            tracing::info!(payments_through = p.last, "log segments sealed");
        }
        let relationships = self.snap.relationships.clone();
        let wal = self.wal.path().to_path_buf();
        let run = crate::segments::apply(
            &wal,
            &mut self.audit,
            &rules,
            relationships.as_deref(),
            &mut self.settled,
            now,
            actor,
        )?;
        if let Some(run) = run {
            tracing::info!(
                payment_segments = run.payment_segments,
                compacted_segments = run.compacted_segments,
                payments_deleted = run.payments_deleted,
                audit_segments = run.audit_segments,
                audit_through = run.audit_through,
                "log retention deleted sealed segments"
            );
        }
        Ok(())
    }
}
