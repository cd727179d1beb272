//! Recovery at start: the engine rebuilt from the snapshot and the payments log's tail while
//! another thread checks the audit chain, then settled with what the audit log holds.

use super::{decision_record, seed_event_id, seed_record, Admission, Core, CoreError, CoreStats};
use crate::audit::AuditLog;
use crate::dedupe::IdIndex;
use crate::snapshot::SnapshotPolicy;
use crate::wal::{record_digest, Wal};
use osecwatch_engine::Engine;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The engine after the replay of the log's tail, before the audit log (checked meanwhile on
/// another thread) settles which decisions it already holds.
pub struct Replay {
    engine: Engine,
    clock: osecwatch_ingest::EventClock,
    index: IdIndex,
    from: u64,
    hint: u64,
    /// Payments up to here may have lost their decisions to retention: none is written again.
    gone: u64,
    /// Payments that may still be inside the allowed lateness: (id hash, event time, seq).
    candidates: std::collections::VecDeque<(u64, i64, u64)>,
    /// Audit records the replay may have to write (entries after `hint`), in log order.
    pending: Vec<Pending>,
    /// Payments replayed at or before `hint`, each of which must have its decision already.
    audited_payments: u64,
}

/// An audit record the replay may have to write: (seq, time, kind, data).
type Pending = (u64, String, &'static str, serde_json::Value);

/// What the start needs besides the replay: the log open for appending, the audit log
/// opened against it.
pub struct Logs {
    /// The write-ahead log, open for appending.
    pub wal: Wal,
    /// The log's last sequence number.
    pub last_logged: u64,
    /// The first sequence number the log still holds (earlier ones deleted by retention).
    pub first_logged: u64,
    /// Payments in the whole log.
    pub payments: u64,
    /// The audit log, open for appending.
    pub audit: AuditLog,
    /// `(seq, offset)` of the audit's decision records after the snapshot's position.
    pub decisions: Vec<(u64, u64)>,
}

/// The replay assumed the audit log held every decision up to its hint, and it does not: the
/// start replays again, keeping every decision it may have to write.
#[derive(Debug)]
pub struct Incomplete;

impl Replay {
    /// One line of the log's tail through the engine.
    fn replay_line(&mut self, line: &[u8], lateness: i64) -> Result<bool, CoreError> {
        let logged = crate::wal::Replayed::parse(line).map_err(|message| CoreError::Entry {
            seq: 0,
            source: crate::wal::EntryError { field: "line", message },
        })?;
        if logged.seq() <= self.from {
            return Ok(true);
        }
        let p = match logged {
            crate::wal::Replayed::Payment(p) => p,
            crate::wal::Replayed::Seed(s) => {
                let at = osecwatch_model::Timestamp::parse_rfc3339(&s.at).map_err(|e| CoreError::Entry {
                    seq: s.seq,
                    source: crate::wal::EntryError { field: "at", message: e.to_string() },
                })?;
                let o = self.engine.apply_seed(at, &seed_event_id(s.seq), &s.seed);
                if s.seq > self.hint {
                    self.pending.push((s.seq, s.received.clone(), "seed", seed_record(&s, &o)));
                }
                return Ok(true);
            }
        };
        let row = p.row().map_err(|source| CoreError::Entry { seq: p.seq, source })?;
        // Logged payments were admitted when they arrived: they move the watermark, with no
        // check now (a replay must give the state the live service had).
        self.clock.observe(row.timestamp.utc);
        let o = self.engine.process(&row).map_err(|source| CoreError::Replay { seq: p.seq, source })?;
        // A payment at or below `gone` was decided long ago and its decision may be deleted by
        // retention by now: never written again, and not counted against the audit log.
        if p.seq > self.gone && p.seq > self.hint {
            let t = row.to_owned_txn();
            self.pending.push((
                p.seq,
                p.timestamp().to_string(),
                "decision",
                decision_record(&t, &o, &record_digest(&t), self.engine.pack_label()),
            ));
        } else if p.seq > self.gone {
            self.audited_payments += 1;
        }
        // Ids that may still be within the allowed lateness at the end; the oldest go as the
        // watermark moves on.
        let cutoff = self.clock.highest().unwrap_or(row.timestamp.utc).saturating_sub(lateness);
        while self.candidates.front().is_some_and(|c| c.1 < cutoff) {
            self.candidates.pop_front();
        }
        if row.timestamp.utc >= cutoff {
            self.candidates.push_back((self.index.hash(row.txn_id), row.timestamp.utc, p.seq));
        }
        Ok(true)
    }
}

impl Core {
    /// Rebuild the engine from the snapshot and the log's tail, which `read_log` hands over
    /// line by line from the snapshot's position (the one pass that also checks the log's
    /// checksums). The audit log is checked at the same time on another thread, so the replay cannot ask it which decisions it holds:
    /// it assumes those up to `hint` (the highest sequence number near the audit's end) and
    /// keeps what it would write for later entries; [`Core::settle`] finds out.
    pub fn replay(
        mut engine: Engine,
        snapshot: Option<crate::snapshot::Loaded>,
        admission: Admission,
        hint: u64,
        gone: u64,
        read_log: impl FnOnce(
            u64,
            &mut dyn FnMut(&[u8]) -> Result<bool, CoreError>,
        ) -> Result<crate::wal::Opened, CoreError>,
    ) -> Result<(Replay, crate::wal::Opened), CoreError> {
        let mut clock = osecwatch_ingest::EventClock::new(admission.clock);
        engine.set_track_scores(false);
        let mut from = 0;
        let mut index = None;
        if let Some(l) = snapshot {
            // `restore` checks everything before it changes the engine, so a refusal leaves
            // the engine empty and the full replay below starts from a clean state.
            match engine.restore(l.file.engine) {
                Ok(()) => {
                    if let Some(w) = l.file.watermark {
                        clock.observe(w);
                    }
                    from = l.file.last_seq;
                    index = Some(l.index);
                }
                Err(why) => tracing::warn!("snapshot not used ({why}); rebuilding from the whole log"),
            }
        }
        let index = match index {
            Some(i) => i,
            None => IdIndex::new_random().map_err(CoreError::Random)?,
        };
        let mut r = Replay {
            engine,
            clock,
            index,
            from,
            hint,
            gone,
            candidates: Default::default(),
            pending: Vec::new(),
            audited_payments: 0,
        };
        let opened = read_log(from, &mut |line| r.replay_line(line, admission.lateness))?;
        Ok((r, opened))
    }

    /// Settle the replay with the checked audit log: payments without a decision record get
    /// theirs now, every payment id within the allowed lateness goes into the idempotency
    /// index, and sequence numbers continue after every one the audit log names.
    pub fn settle(
        r: Replay,
        logs: Logs,
        stats: Arc<CoreStats>,
        snap: SnapshotPolicy,
        admission: Admission,
    ) -> Result<Result<Core, Incomplete>, CoreError> {
        let Logs { mut wal, last_logged, first_logged, payments, mut audit, mut decisions } = logs;
        // In file order the numbers can repeat (an earlier version wrote decisions again at
        // each start) or step back; the first record of a number is its decision.
        decisions.sort_by_key(|(seq, _)| *seq);
        decisions.dedup_by_key(|(seq, _)| *seq);
        let Replay { engine, clock, mut index, from, hint, gone, candidates, pending, audited_payments } = r;
        let upto = hint.min(last_logged);
        // Decisions of payments deleted by retention have nothing to be compared with.
        let after = from.max(first_logged.saturating_sub(1)).max(gone);
        let held = decisions.iter().filter(|(seq, _)| *seq > after && *seq <= upto).count() as u64;
        if held != audited_payments {
            return Ok(Err(Incomplete));
        }
        let offset_of = |seq: u64| -> Option<u64> {
            decisions.binary_search_by_key(&seq, |(s, _)| *s).ok().map(|i| decisions[i].1)
        };
        let mut written = std::collections::HashMap::new();
        for (seq, at, kind, data) in pending {
            match kind {
                "seed" if seq > audit.last_seq() => {
                    audit.push(&at, kind, Some(seq), data);
                }
                "decision" if offset_of(seq).is_none() => {
                    written.insert(seq, audit.push(&at, kind, Some(seq), data));
                }
                _ => {}
            }
        }
        if let Some(w) = clock.highest() {
            index.set_cutoff(w.saturating_sub(admission.lateness));
        }
        for (hash, utc, seq) in candidates {
            if let Some(offset) = offset_of(seq).or_else(|| written.get(&seq).copied()) {
                if index.keeps(utc) {
                    index.insert(hash, utc, offset);
                }
            }
        }
        // A sequence number the audit log already names is never handed out again (the
        // log's end was lost or cut: those payments are gone, their decisions stay).
        if audit.last_seq() > last_logged {
            tracing::error!(
                log_ends_at = last_logged,
                audit_names = audit.last_seq(),
                "the audit log has decisions for payments the log no longer holds; new payments are numbered after them"
            );
        }
        wal.skip_past(audit.last_seq());
        audit.commit()?;
        stats.logged.store(payments, Ordering::Relaxed);
        let core = Core {
            engine,
            last_seq: last_logged,
            wal,
            audit,
            index,
            stats,
            snap,
            since_snapshot: last_logged.saturating_sub(from),
            clock,
            lateness: admission.lateness,
            holds: None,
            settled: Default::default(),
        };
        core.publish();
        Ok(Ok(core))
    }
}
