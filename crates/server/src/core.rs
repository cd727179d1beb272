//! The core: one thread that owns the engine, the write-ahead log and the audit log.
//!
//! Handlers send it requests over a channel. It takes every request waiting (a batch),
//! appends the batch's new payments to the log with one sync (group commit), processes them
//! through the engine in log order, writes their audit records with one more sync, and only
//! then answers. So an answered payment is always in the log, replaying the log reproduces
//! the engine's state and alerts exactly (same order, same ids), and throughput does not
//! pay one fsync per payment.

mod maintenance;
mod recovery;

pub use crate::admission::{Admission, Refusal};
use crate::audit::{AuditLog, AuditRecord};
use crate::dedupe::IdIndex;
use crate::snapshot::{SnapshotFile, SnapshotPolicy};
use crate::wal::{record_digest, SeedEntry, Wal};
use osecwatch_engine::{Decision, Engine, Outcome, SeedEvent, SeedOutcome};
use osecwatch_model::Transaction;
pub use recovery::{Incomplete, Logs, Replay};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The answer for one payment: the engine's outcome with the log position.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Screened {
    /// The payment's id.
    pub txn_id: String,
    /// Decision, score, rules and reasons.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Log sequence number; the same payment sent again gets its first answer back.
    pub seq: u64,
    /// Whether this was a retry answered from memory.
    pub duplicate: bool,
}

/// Why the core could not start, or could not write a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A logged payment that no longer reads as a payment.
    #[error("write-ahead log entry {seq}: {source}")]
    Entry {
        /// Its sequence number.
        seq: u64,
        /// What does not parse.
        source: crate::wal::EntryError,
    },
    /// A logged payment the engine refuses on replay.
    #[error("write-ahead log entry {seq}: {source}")]
    Replay {
        /// Its sequence number.
        seq: u64,
        /// Why the engine refuses it.
        source: osecwatch_engine::EngineError,
    },
    /// The audit log could not be written.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// The snapshot file could not be written.
    #[error("{}: {source}", path.display())]
    SnapshotIo {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The engine state could not be encoded.
    #[error("snapshot: {0}")]
    SnapshotEncode(serde_json::Error),
    /// No random key for the idempotency index.
    #[error("no randomness from the operating system for the idempotency index: {0}")]
    Random(getrandom::Error),
}

/// A read of the engine's state, run on the core thread between batches.
pub type Query = Box<dyn FnOnce(&mut Engine) + Send>;

/// What handlers ask of the core.
pub enum Request {
    /// Screen these payments; answers one result per payment, in order.
    Payments(Vec<Transaction>, oneshot::Sender<Vec<Result<Screened, Refusal>>>),
    /// Read the engine's state.
    Query(Query),
    /// Write a snapshot now (admin action by the named token); answers the log position.
    Snapshot(String, oneshot::Sender<Result<u64, CoreError>>),
    /// Log and apply a seed event sent by the named token.
    Seed(SeedEvent, String, oneshot::Sender<Result<SeedAnswer, Refusal>>),
    /// The daily upkeep of the logs: sealing and retention.
    Maintenance(String),
}

/// What a seed event did, with its place in the log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeedAnswer {
    /// Its log sequence number.
    pub seq: u64,
    /// The event time it was applied at.
    pub applied_at: String,
    /// What changed.
    #[serde(flatten)]
    pub outcome: SeedOutcome,
}

/// A payment's place in a batch: (request, payment within it).
type At = (usize, usize);

/// One request's payments and where its answer goes.
type PaymentRequest = (Vec<Transaction>, oneshot::Sender<Vec<Result<Screened, Refusal>>>);

/// Counters shared with the metrics endpoint.
#[derive(Default)]
pub struct CoreStats {
    /// Payments in the log.
    pub logged: AtomicU64,
    /// Payments allowed.
    pub allow: AtomicU64,
    /// Payments sent to review.
    pub review: AtomicU64,
    /// Payments blocked.
    pub block: AtomicU64,
    /// Retries answered from memory.
    pub duplicates: AtomicU64,
    /// Group commits.
    pub batches: AtomicU64,
    /// Senders with state.
    pub senders_tracked: AtomicU64,
    /// Recipients with state.
    pub recipients_tracked: AtomicU64,
    /// Alerts raised.
    pub alerts: AtomicU64,
    /// Payment ids in the idempotency index.
    pub ids_remembered: AtomicU64,
    /// Bytes of the idempotency index's table.
    pub index_bytes: AtomicU64,
}

/// The core: owns the engine, the log and the audit log; runs on its own thread.
pub struct Core {
    engine: Engine,
    wal: Wal,
    audit: AuditLog,
    /// Every payment id accepted within the allowed lateness, with its audit record.
    index: IdIndex,
    stats: Arc<CoreStats>,
    snap: SnapshotPolicy,
    last_seq: u64,
    since_snapshot: u64,
    /// The watermark (latest accepted event time) and the checks against it.
    clock: osecwatch_ingest::EventClock,
    lateness: i64,
    /// Blocks from approved reports (read for every payment; written by the case side).
    holds: Option<crate::cases::Holds>,
    /// Sealed payments log segments past their time whose payments must all be kept (the
    /// relationships do not change while the service runs): not read again.
    settled: std::collections::HashSet<std::path::PathBuf>,
}

fn summary(seq: u64, t: &Transaction, outcome: Outcome) -> Screened {
    Screened { txn_id: t.txn_id.clone(), outcome, seq, duplicate: false }
}

/// The answer a retry gets: the first answer, from its audit record.
fn first_answer(txn_id: &str, rec: &AuditRecord) -> Screened {
    let d = &rec.data;
    let decision = serde_json::from_value(d["decision"].clone()).unwrap_or(Decision::Allow);
    let rules = d["rules"].as_array().map(|a| a.iter().filter_map(|r| r.as_str().map(String::from)).collect());
    Screened {
        txn_id: txn_id.to_string(),
        outcome: Outcome {
            decision,
            score: d["score"].as_f64().unwrap_or(0.0),
            rules: rules.unwrap_or_default(),
            reasons: vec!["already screened: this is the decision it got then".to_string()],
        },
        seq: rec.seq.unwrap_or(0),
        duplicate: true,
    }
}

impl Core {
    /// Where the blocks from approved reports are kept.
    pub(crate) fn set_holds(&mut self, holds: crate::cases::Holds) {
        self.holds = Some(holds);
    }

    /// Write the snapshot atomically (index file, then the snapshot; each a temporary file,
    /// sync, rename), after syncing the audit log it refers to; then record its checksum in
    /// the audit log.
    pub fn write_snapshot(&mut self, actor: &str) -> Result<u64, CoreError> {
        self.audit.write_unsynced()?;
        self.audit.sync()?;
        let mut f = SnapshotFile {
            last_seq: self.last_seq,
            pack_fingerprint: self.snap.pack_fingerprint,
            engine: self.engine.snapshot(),
            watermark: self.clock.highest(),
            audit: self.audit.head(),
            dedupe_file: String::new(),
            dedupe_sha256: String::new(),
        };
        let sha = crate::snapshot::write(&self.snap.path, &mut f, &self.index)?;
        self.since_snapshot = 0;
        let now = wall_clock().to_rfc3339();
        self.audit.push(
            &now,
            "admin",
            None,
            serde_json::json!({ "action": "snapshot", "log_position": self.last_seq, "sha256": sha, "actor": actor, "ids_remembered": self.index.len() }),
        );
        self.audit.commit()?;
        self.seal_and_expire(actor)?;
        Ok(self.last_seq)
    }

    /// Record an administrative action in the audit log, durably.
    pub fn admin_record(&mut self, at: &str, action: &str, actor: &str) -> Result<(), CoreError> {
        self.audit.push(at, "admin", None, serde_json::json!({ "action": action, "actor": actor }));
        Ok(self.audit.commit()?)
    }

    fn publish(&self) {
        let s = self.engine.stats();
        self.stats.senders_tracked.store(s.senders_tracked, Ordering::Relaxed);
        self.stats.recipients_tracked.store(s.recipients_tracked, Ordering::Relaxed);
        self.stats.alerts.store(self.engine.alert_count() as u64, Ordering::Relaxed);
        self.stats.ids_remembered.store(self.index.len() as u64, Ordering::Relaxed);
        self.stats.index_bytes.store(self.index.bytes() as u64, Ordering::Relaxed);
    }

    /// Serve requests until every sender is gone (graceful shutdown drains the channel).
    /// A background thread syncs the audit log once a second, off the decision path.
    pub fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let background_sync = match self.audit.sync_handle() {
            Ok(mut syncer) => {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        if let Err(e) = syncer.sync() {
                            tracing::error!(error = %e, "audit log sync failed");
                        }
                    }
                });
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "no background audit sync; syncing after every batch");
                false
            }
        };
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < 4096 {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.handle(batch);
            if !background_sync {
                if let Err(e) = self.audit.sync() {
                    tracing::error!(error = %e, "audit log sync failed");
                }
            }
            if self.since_snapshot >= self.snap.every {
                if let Err(e) = self.write_snapshot("serve") {
                    tracing::error!(error = %e, "snapshot failed; the log still has everything");
                }
            }
        }
        // Graceful shutdown: a snapshot makes the next start fast.
        if self.since_snapshot > 0 {
            if let Err(e) = self.write_snapshot("serve (shutdown)") {
                tracing::error!(error = %e, "snapshot at shutdown failed; the log still has everything");
            }
        }
        let _ = self.audit.commit();
        if let Err(e) = self.audit.sync() {
            tracing::error!(error = %e, "audit log sync at shutdown failed");
        }
        stop.store(true, Ordering::Relaxed);
    }

    /// One batch of requests: payments are triaged (retries, refusals), the new ones logged
    /// with one sync and processed in log order, then queries and snapshots run, and every
    /// request is answered.
    fn handle(&mut self, batch: Vec<Request>) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let mut payments: Vec<PaymentRequest> = Vec::new();
        let mut queries = Vec::new();
        let mut snapshots = Vec::new();
        let mut seeds = Vec::new();
        let mut upkeep = Vec::new();
        for r in batch {
            match r {
                Request::Payments(t, tx) => payments.push((t, tx)),
                Request::Query(q) => queries.push(q),
                Request::Snapshot(actor, tx) => snapshots.push((actor, tx)),
                Request::Seed(ev, actor, tx) => seeds.push((ev, actor, tx)),
                Request::Maintenance(actor) => upkeep.push(actor),
            }
        }
        let clock_before = self.clock.clone();
        let (mut results, to_log, repeats) = self.triage(&payments);
        if !to_log.is_empty() && !self.log_and_process(&payments, &to_log, &mut results) {
            // Nothing of the batch was logged: the watermark is where it was.
            self.clock = clock_before;
        }
        Core::answer_repeats(&payments, &repeats, &mut results);
        // After the batch's payments: the log order is the order applied.
        for (ev, actor, tx) in seeds {
            let _ = tx.send(self.log_and_apply_seed(ev, actor));
        }
        for q in queries {
            q(&mut self.engine);
        }
        for (actor, tx) in snapshots {
            let _ = tx.send(self.write_snapshot(&actor));
        }
        for actor in upkeep {
            if let Err(e) = self.seal_and_expire(&actor) {
                tracing::error!(error = %e, "log upkeep failed; the logs still have everything");
            }
        }
        self.publish();
        for ((_, tx), res) in payments.into_iter().zip(results) {
            let _ = tx.send(res);
        }
    }

    /// Decide what to log: new payments the engine can price, in arrival order. A payment
    /// id already accepted gets its first answer if the record is the same, else a conflict;
    /// the same within the batch, once the first is decided. The others get a refusal.
    /// Returns a result per payment (those to log hold `NotDurable` until they are logged),
    /// the (request, payment) positions to log with their ids' hashes, and the repeats within the batch with the
    /// position of their first.
    #[allow(clippy::type_complexity)]
    fn triage(
        &mut self,
        payments: &[PaymentRequest],
    ) -> (Vec<Vec<Result<Screened, Refusal>>>, Vec<(At, u64)>, Vec<(At, At)>) {
        let mut results = Vec::with_capacity(payments.len());
        let mut to_log: Vec<(At, u64)> = Vec::new();
        let mut repeats = Vec::new();
        let mut in_batch: HashMap<&str, (usize, usize)> = HashMap::new();
        let wall = osecwatch_ingest::wall_clock_utc();
        for (pi, (txns, _)) in payments.iter().enumerate() {
            let mut res = Vec::with_capacity(txns.len());
            for (ti, t) in txns.iter().enumerate() {
                // One hash of the id serves the lookup here and the insert once it is logged.
                let hash = self.index.hash(&t.txn_id);
                if let Some(known) = self.known(t, hash) {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    res.push(known);
                } else if let Some(&first) = in_batch.get(t.txn_id.as_str()) {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    repeats.push(((pi, ti), first));
                    res.push(Err(Refusal::NotDurable));
                } else if let Err(e) = self.engine.check_currency(t.amount.currency) {
                    res.push(Err(e.into()));
                } else if let Err(why) = self.admit(t.timestamp.utc, wall) {
                    res.push(Err(why));
                } else {
                    in_batch.insert(t.txn_id.as_str(), (pi, ti));
                    to_log.push(((pi, ti), hash));
                    res.push(Err(Refusal::NotDurable));
                }
            }
            results.push(res);
        }
        (results, to_log, repeats)
    }

    /// The answer for a payment id already accepted: its first answer if the record is the
    /// same, else a conflict. Every hit of the index is confirmed against the audit record it
    /// points to (the id itself), so a hash collision is a new payment, never a lost one.
    fn known(&self, t: &Transaction, hash: u64) -> Option<Result<Screened, Refusal>> {
        let offsets = self.index.offsets(hash);
        for off in offsets {
            let rec = match self.audit.read_at(off) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "idempotency index: audit record unreadable; refusing the payment");
                    return Some(Err(Refusal::NotDurable));
                }
            };
            if rec.data["txn_id"].as_str() != Some(t.txn_id.as_str()) {
                continue;
            }
            let same = match rec.data["record"].as_str() {
                Some(d) => d == record_digest(t),
                // A decision of the previous version, without a record digest: the id is all
                // there is to compare.
                None => true,
            };
            return Some(if same {
                Ok(first_answer(&t.txn_id, &rec))
            } else {
                Err(Refusal::Conflict { txn_id: t.txn_id.clone(), seq: rec.seq.unwrap_or(0) })
            });
        }
        None
    }

    /// A repeat within the batch gets what its first got, or a conflict if its record differs.
    fn answer_repeats(
        payments: &[PaymentRequest],
        repeats: &[(At, At)],
        results: &mut [Vec<Result<Screened, Refusal>>],
    ) {
        for &((p, t), (fp, ft)) in repeats {
            let (first, this) = (&payments[fp].0[ft], &payments[p].0[t]);
            results[p][t] = match &results[fp][ft] {
                Ok(s) if first == this => {
                    let mut s = s.clone();
                    s.duplicate = true;
                    s.outcome.reasons = vec!["already screened: this is the decision it got then".to_string()];
                    Ok(s)
                }
                Ok(s) => Err(Refusal::Conflict { txn_id: this.txn_id.clone(), seq: s.seq }),
                Err(_) => Err(Refusal::NotDurable),
            };
        }
    }

    /// Admit an event time: not late behind the watermark, and nothing the clock refuses;
    /// an admitted time moves the watermark (so later payments of the batch see it).
    fn admit(&mut self, utc: i64, wall: i64) -> Result<(), Refusal> {
        if let Some(by) = osecwatch_ingest::too_late(utc, self.clock.highest(), self.lateness) {
            let ts = |u| osecwatch_model::Timestamp::new(u, 0).to_rfc3339();
            return Err(Refusal::Late { at: ts(utc), watermark: ts(utc + by), lateness: self.lateness });
        }
        self.clock.check(utc, wall).map_err(Refusal::EventTime)
    }

    /// Append the payments at `to_log` with one sync, then process them in log order and
    /// audit each decision; if the append fails, they stay refused as not durable and the
    /// answer is false.
    fn log_and_process(
        &mut self,
        payments: &[PaymentRequest],
        to_log: &[(At, u64)],
        results: &mut [Vec<Result<Screened, Refusal>>],
    ) -> bool {
        let mut logged = false;
        let refs: Vec<&Transaction> = to_log.iter().map(|((p, t), _)| &payments[*p].0[*t]).collect();
        match self.wal.append(&refs) {
            Ok(seqs) => {
                if let Some(w) = self.clock.highest() {
                    self.index.set_cutoff(w.saturating_sub(self.lateness));
                }
                for (((p, t), hash), (seq, digest)) in to_log.iter().zip(seqs) {
                    results[*p][*t] = self.process_logged(&payments[*p].0[*t], *hash, seq, &digest);
                }
                self.stats.logged.fetch_add(to_log.len() as u64, Ordering::Relaxed);
                self.last_seq = self.wal.next_seq() - 1;
                self.since_snapshot += to_log.len() as u64;
                logged = true;
            }
            Err(e) => tracing::error!(error = %e, "write-ahead log append failed; refusing the batch"),
        }
        // Decision records are written without waiting for the disk: the log above holds
        // these payments durably and a lost record is written again from it at the next
        // start; `run` syncs the audit about once a second.
        if let Err(e) = self.audit.write_unsynced() {
            tracing::error!(error = %e, "audit log write failed");
        }
        logged
    }

    /// A payment now in the log at `seq`: through the engine, counted, audited, remembered
    /// for retries.
    fn process_logged(&mut self, txn: &Transaction, hash: u64, seq: u64, digest: &str) -> Result<Screened, Refusal> {
        let mut o = self.engine.process(&txn.as_row())?;
        if let Some(h) = &self.holds {
            let table = h.read().unwrap_or_else(|p| p.into_inner());
            if let Some((case, until)) = table.check(&txn.sender_id, &txn.recipient_id, || wall_clock().utc) {
                // For the compliance system that called: never shown to the customer or the
                // front office (tipping-off ban, GwG §47).
                o.decision = Decision::Block;
                o.rules.push("HOLD-STR".into());
                o.reasons.push(format!(
                    "held: the customer's payments to this recipient were reported in case {case}; released at {} unless the FIU consents earlier (compliance only: do not disclose to the customer)",
                    osecwatch_model::Timestamp::new(until, 0).to_rfc3339()
                ));
            }
        }
        let counter = match o.decision {
            Decision::Allow => &self.stats.allow,
            Decision::Review => &self.stats.review,
            Decision::Block => &self.stats.block,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let offset = self.audit.push(
            &txn.timestamp.to_rfc3339(),
            "decision",
            Some(seq),
            decision_record(txn, &o, digest, self.engine.pack_label()),
        );
        self.index.insert(hash, txn.timestamp.utc, offset);
        Ok(summary(seq, txn, o))
    }

    /// Log a seed event (one sync), then apply it at the engine's event time and audit it.
    fn log_and_apply_seed(&mut self, seed: SeedEvent, actor: String) -> Result<SeedAnswer, Refusal> {
        let wall = wall_clock();
        // The engine's event time, so a seed sits between the payments it came between;
        // before any payment, the wall clock.
        let at = match self.engine.last_event_utc() {
            0 => wall,
            utc => osecwatch_model::Timestamp::new(utc, 0),
        };
        let entry = SeedEntry { seq: 0, at: at.to_rfc3339(), received: wall.to_rfc3339(), actor, seed };
        let entry = self.wal.append_seed(entry).map_err(|e| {
            tracing::error!(error = %e, "write-ahead log append failed; refusing the seed event");
            Refusal::NotDurable
        })?;
        let outcome = self.engine.apply_seed(at, &seed_event_id(entry.seq), &entry.seed);
        self.audit.push(&entry.received, "seed", Some(entry.seq), seed_record(&entry, &outcome));
        if let Err(e) = self.audit.commit() {
            tracing::error!(error = %e, "audit log commit failed");
        }
        self.last_seq = entry.seq;
        self.since_snapshot += 1;
        Ok(SeedAnswer { seq: entry.seq, applied_at: entry.at, outcome })
    }
}

/// The wall clock, to the second, in UTC.
pub(crate) fn wall_clock() -> osecwatch_model::Timestamp {
    osecwatch_model::Timestamp::new(osecwatch_ingest::wall_clock_utc(), 0)
}

/// The id a seed event's alerts are derived from: its log position.
fn seed_event_id(seq: u64) -> String {
    format!("seed-{seq}")
}

/// What the audit log keeps for a seed event: who, what, which ids, and what it did.
fn seed_record(e: &SeedEntry, o: &SeedOutcome) -> serde_json::Value {
    serde_json::json!({
        "actor": e.actor,
        "role": e.seed.role,
        "action": e.seed.action,
        "ids": e.seed.ids,
        "source": e.seed.source,
        "applied_at": e.at,
        "changed": o.changed,
        "rescored": o.rescored,
        "alerts_raised": o.alerts_raised,
    })
}

/// What the audit log keeps for a decision: ids, decision, score and rule ids, and the
/// digest of the payment's canonical record (which tells a retry from a different payment
/// under the same id, and ties the decision to its line in the payments log); no names, no
/// references, no amounts.
fn decision_record(t: &Transaction, o: &Outcome, digest: &str, pack: &str) -> serde_json::Value {
    serde_json::json!({
        "txn_id": t.txn_id,
        "decision": o.decision,
        "score": o.score,
        "rules": o.rules,
        "record": digest,
        "rule_pack": pack,
    })
}
