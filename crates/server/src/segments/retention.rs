//! Retention of the two logs' sealed segments.
//!
//! A record's period begins at the end of the calendar year in which its segment was sealed
//! (GwG §8(4), second sentence: the year the record was made), or, for a payment of a customer
//! whose business relationship is known from the customer file, at the end of the calendar year
//! in which that relationship ended (first sentence); while it continues, the payment is kept.
//!
//! The audit log is a hash chain, so only whole segments can go, and only its oldest ones. The
//! payments log has no chain: a segment past its time is emptied when none of its payments
//! must be kept, and otherwise compacted (rewritten with only the payments still to keep).
//! Either way an audit record says first what is deleted, under which rule, and for the audit
//! log the hash of the last deleted record, which anchors the chain's new start; it holds none
//! of the deleted data.

use super::{compacted_name, empty, list, Segment};
use crate::StoreError;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// How long each log is kept, and when the active files are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    /// Seal the active files at the next snapshot once the payments log is this big.
    pub segment_bytes: u64,
    /// ... or once its oldest entry was written this many days ago.
    pub segment_days: u32,
    /// Years the payments log is kept after its period begins (0: kept for ever).
    pub payments_years: u32,
    /// The same for the audit log.
    pub audit_years: u32,
}

impl Default for LogRetention {
    /// GwG §8(4): five years. Monthly segments, so a deletion is at most a month late.
    fn default() -> LogRetention {
        LogRetention { segment_bytes: 1 << 30, segment_days: 31, payments_years: 5, audit_years: 5 }
    }
}

/// Each account's end of the business relationship (UTC seconds), `None` while it
/// continues; from the customer file's `relationship_ended` column.
pub type Relationships = HashMap<String, Option<i64>>;

/// The moment (UTC seconds) after which a record whose period begins in the calendar year of
/// `at` may be deleted: the end of that year plus `years` years.
pub fn deletable_after(at: i64, years: u32) -> i64 {
    let (year, _, _) = osecwatch_model::civil_from_days(at.div_euclid(86_400));
    osecwatch_model::days_from_civil(year + 1 + i64::from(years), 1, 1) * 86_400
}

/// The highest payment sequence number whose decision retention may have deleted with an
/// emptied audit segment (0: none deleted). A start never writes such a decision again.
pub fn decisions_deleted_through(audit_log: &Path) -> Result<u64, StoreError> {
    Ok(list(audit_log)?.iter().filter(|s| s.deleted).map(|s| s.seq_through).max().unwrap_or(0))
}

/// The audit log's sealed segments (not yet emptied) that retention deletes at `now`: a
/// prefix of the log, oldest first, each past its time.
pub fn due(segments: &[Segment], years: u32, now: i64) -> Vec<Segment> {
    if years == 0 {
        return Vec::new();
    }
    segments
        .iter()
        .take_while(|s| s.deleted || now >= deletable_after(s.sealed_at, years))
        .filter(|s| !s.deleted)
        .cloned()
        .collect()
}

/// What one retention run deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    /// Payments log segments emptied.
    pub payment_segments: usize,
    /// Payments log segments compacted.
    pub compacted_segments: usize,
    /// Payments deleted (emptied and compacted segments).
    pub payments_deleted: u64,
    /// Audit log segments emptied.
    pub audit_segments: usize,
    /// Up to this audit record, everything is deleted.
    pub audit_through: u64,
}

/// A payments log segment's compaction, prepared: the new file is written and synced.
struct Compaction {
    old: Segment,
    new_path: PathBuf,
    tmp: PathBuf,
    deleted: u64,
}

/// Delete what is past its retention at `now` in both logs: first a retention record in the
/// audit log, committed, then the files emptied or replaced by their compacted form. A crash
/// in between leaves work the next run does again (and records again). `settled` remembers
/// the segments found to hold only payments still to keep, so they are not read again while
/// the relationships stay the same.
pub fn apply(
    payments_log: &Path,
    audit: &mut crate::audit::AuditLog,
    rules: &LogRetention,
    relationships: Option<&Relationships>,
    settled: &mut HashSet<PathBuf>,
    now: i64,
    actor: &str,
) -> Result<Option<RetentionRun>, StoreError> {
    super::remove_superseded(payments_log)?;
    let mut emptied = Vec::new();
    let mut compactions = Vec::new();
    if rules.payments_years > 0 {
        for s in list(payments_log)? {
            if s.deleted || now < deletable_after(s.sealed_at, rules.payments_years) || settled.contains(&s.path) {
                continue;
            }
            match relationships {
                None => emptied.push(s),
                Some(rel) => match compact(&s, rel, rules.payments_years, now)? {
                    Plan::Empty => emptied.push(s),
                    Plan::Keep => {
                        settled.insert(s.path);
                    }
                    Plan::Compact(c) => compactions.push(c),
                },
            }
        }
    }
    let aud = due(&list(audit.path())?, rules.audit_years, now);
    if emptied.is_empty() && compactions.is_empty() && aud.is_empty() {
        return Ok(None);
    }
    let mut run = RetentionRun::default();
    let record = retention_record(rules, actor, &emptied, &compactions, &aud, &mut run)?;
    let at = osecwatch_model::Timestamp::new(now, 0).to_rfc3339();
    audit.push(&at, "admin", None, record);
    audit.commit()?;
    for s in emptied.iter().chain(&aud) {
        empty(s)?;
    }
    for c in compactions {
        // The new file is complete before the old goes: a crash between the two leaves both,
        // and `list` takes the compacted one.
        std::fs::rename(&c.tmp, &c.new_path).map_err(StoreError::io(&c.tmp))?;
        std::fs::remove_file(&c.old.path).map_err(StoreError::io(&c.old.path))?;
        super::sync_dir(c.new_path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(Some(run))
}

/// The audit record of a retention run (and its summary): which segments, which entries and
/// records, under which rule; never any of the deleted data.
fn retention_record(
    rules: &LogRetention,
    actor: &str,
    emptied: &[Segment],
    compactions: &[Compaction],
    aud: &[Segment],
    run: &mut RetentionRun,
) -> Result<serde_json::Value, StoreError> {
    let rule = "kept until the end of the calendar year in which the segment was sealed, or in which the customer's business relationship ended if the customer file says so (kept while it continues), plus the years given (GwG §8(4))";
    let mut record = serde_json::json!({ "action": "retention", "actor": actor, "rule": rule });
    if !emptied.is_empty() || !compactions.is_empty() {
        run.payment_segments = emptied.len();
        run.compacted_segments = compactions.len();
        run.payments_deleted = emptied.iter().map(|s| s.kept.unwrap_or(s.last - s.first + 1)).sum::<u64>()
            + compactions.iter().map(|c| c.deleted).sum::<u64>();
        let compacted: Vec<serde_json::Value> = compactions
            .iter()
            .map(|c| {
                let name = c.new_path.file_name().unwrap_or_default().to_string_lossy();
                serde_json::json!({ "segment": name, "replaces": c.old.name(), "entries_deleted": c.deleted })
            })
            .collect();
        record["payments_log"] = serde_json::json!({
            "years": rules.payments_years,
            "segments": emptied.iter().map(Segment::name).collect::<Vec<_>>(),
            "compacted": compacted,
        });
    }
    if let Some(last) = aud.last() {
        let rec = crate::audit::last_record(&last.path)?;
        if rec.n != last.last {
            let message = format!("its last record is {}, its name says {}", rec.n, last.last);
            return Err(StoreError::Invalid { path: last.path.clone(), line: 0, message });
        }
        run.audit_segments = aud.len();
        run.audit_through = last.last;
        record["audit_log"] = serde_json::json!({
            "years": rules.audit_years,
            "segments": aud.iter().map(Segment::name).collect::<Vec<_>>(),
            "deleted_through_record": last.last,
            "last_deleted_hash": rec.hash,
            "decisions_through_seq": last.seq_through,
        });
    }
    Ok(record)
}

/// What to do with a payments log segment past its time.
enum Plan {
    /// None of its payments must be kept.
    Empty,
    /// All of them must be kept.
    Keep,
    /// Some: the compacted file is written.
    Compact(Compaction),
}

/// Sort a segment's entries into those to keep (payments of customers whose relationship
/// continues, or ended too recently) and the rest, writing the kept lines to a temporary file
/// as it goes; seed events go with the segment's own time.
fn compact(s: &Segment, rel: &Relationships, years: u32, now: i64) -> Result<Plan, StoreError> {
    let keep = |sender: &str| match rel.get(sender) {
        None => false,
        Some(None) => true,
        Some(Some(ended)) => now < deletable_after((*ended).max(s.sealed_at), years),
    };
    let tmp = s.path.with_extension("tmp");
    let io = StoreError::io(&s.path);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(StoreError::io(&tmp))?);
    let (mut kept, mut total) = (0u64, 0u64);
    let f = std::fs::File::open(&s.path).map_err(io)?;
    for line in BufReader::with_capacity(1 << 16, f).split(b'\n') {
        let line = line.map_err(io)?;
        total += 1;
        // Seed events, and anything not a payment, go with the segment's own time.
        let kept_payment =
            matches!(crate::wal::Replayed::parse(&line), Ok(crate::wal::Replayed::Payment(p)) if keep(p.sender_id()));
        if kept_payment {
            kept += 1;
            out.write_all(&line).and_then(|()| out.write_all(b"\n")).map_err(StoreError::io(&tmp))?;
        }
    }
    let file = out.into_inner().map_err(|e| StoreError::io(&tmp)(e.into_error()))?;
    if kept == 0 || kept == total {
        drop(file);
        let _ = std::fs::remove_file(&tmp);
        return Ok(if kept == 0 { Plan::Empty } else { Plan::Keep });
    }
    file.sync_all().map_err(StoreError::io(&tmp))?;
    Ok(Plan::Compact(Compaction { old: s.clone(), new_path: compacted_name(s, kept), tmp, deleted: total - kept }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_counts_from_the_end_of_the_calendar_year() {
        // Sealed 2020-03-01: kept to the end of 2025 with five years.
        let sealed = osecwatch_model::Timestamp::parse_rfc3339("2020-03-01T00:00:00Z").unwrap().utc;
        let end_2025 = osecwatch_model::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap().utc;
        assert_eq!(deletable_after(sealed, 5), end_2025);
        let seg = |first, at, deleted| Segment {
            path: PathBuf::new(),
            first,
            last: first,
            base: 0,
            end: 0,
            seq_through: first,
            sealed_at: at,
            deleted,
            kept: None,
        };
        let later = osecwatch_model::Timestamp::parse_rfc3339("2021-06-01T00:00:00Z").unwrap().utc;
        let segs = vec![seg(1, sealed, true), seg(2, sealed, false), seg(3, later, false), seg(4, sealed, false)];
        assert!(due(&segs, 5, end_2025 - 1).is_empty());
        // Only a prefix: segment 4 waits behind segment 3.
        assert_eq!(due(&segs, 5, end_2025).iter().map(|s| s.first).collect::<Vec<_>>(), vec![2]);
        assert!(due(&segs, 0, i64::MAX).is_empty(), "0 years: kept for ever");
    }
}
