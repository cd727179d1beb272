//! Sealed segments of the two append-only logs, and their retention.
//!
//! The payments log and the audit log are each one active file (`payments.wal`,
//! `audit.jsonl`) and, in `sealed/` beside it, the segments sealed before. A segment is
//! sealed right after a snapshot, when the active file is big or old enough: everything in
//! it is then already reflected in the snapshot, so the replay at start reads only the
//! active file (and the sealed ones only when a snapshot cannot be used).
//!
//! A sealed segment's name says what it holds, so that nothing else needs to be read to
//! find a record: `payments-<first seq>-<last seq>-0-0-<last seq>-<sealed at>.wal` and
//! `audit-<first record>-<last record>-<first byte>-<end byte>-<highest seq>-<sealed
//! at>.jsonl` (the audit log's byte positions run on across segments, so a position the
//! idempotency index holds stays valid after a rotation and after a deletion; the highest
//! payment sequence number its records name tells `audit verify` which payments lost their
//! decisions to retention).
//!
//! Retention deletes whole segments: a segment's records are kept until the end of the
//! calendar year in which it was sealed plus the configured number of years (GwG §8(4):
//! the five years begin at the end of the calendar year). Deleting empties the file and
//! keeps its name, so the numbering and byte positions stay known; the audit log records the
//! deletion first (what, when, under which rule, and for the audit log the hash of the last
//! deleted record, which anchors the chain's new start), then the files are emptied.

use crate::StoreError;
use std::path::{Path, PathBuf};

/// One sealed segment, as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The file.
    pub path: PathBuf,
    /// First sequence number (payments log) or record number (audit log) in it.
    pub first: u64,
    /// The last.
    pub last: u64,
    /// Audit log only: the position of its first byte in the log as a whole.
    pub base: u64,
    /// Audit log only: the position after its last byte.
    pub end: u64,
    /// The highest payment sequence number in it (its last entry, or the highest one its
    /// audit records name).
    pub seq_through: u64,
    /// When it was sealed (UTC seconds).
    pub sealed_at: i64,
    /// Emptied by retention (its records deleted, its name kept).
    pub deleted: bool,
}

/// The directory of sealed segments beside an active log file.
pub fn sealed_dir(active: &Path) -> PathBuf {
    active.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("sealed")
}

fn stem_ext(active: &Path) -> (String, String) {
    let stem = active.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = active.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    (stem, ext)
}

/// The sealed segments of an active log, oldest first. A file in `sealed/` whose name
/// starts like this log's but does not parse is an error: it may hold records.
pub fn list(active: &Path) -> Result<Vec<Segment>, StoreError> {
    let dir = sealed_dir(active);
    let (stem, ext) = stem_ext(active);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&dir)(e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(StoreError::io(&dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&format!("{stem}-")) else { continue };
        if name.ends_with(".tmp") {
            continue;
        }
        let bad = || StoreError::Invalid {
            path: e.path(),
            line: 0,
            message: format!("not a sealed segment's name ({stem}-FIRST-LAST-BASE-END-SEQ-SEALED.{ext})"),
        };
        let fields = rest.strip_suffix(&format!(".{ext}")).ok_or_else(bad)?;
        let v: Vec<&str> = fields.split('-').collect();
        if v.len() != 6 {
            return Err(bad());
        }
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let len = e.metadata().map_err(StoreError::io(&e.path()))?.len();
        let s = Segment {
            path: e.path(),
            first: num(v[0])?,
            last: num(v[1])?,
            base: num(v[2])?,
            end: num(v[3])?,
            seq_through: num(v[4])?,
            sealed_at: v[5].parse::<i64>().map_err(|_| bad())?,
            deleted: len == 0,
        };
        if s.last < s.first || s.end < s.base {
            return Err(bad());
        }
        out.push(s);
    }
    out.sort_by_key(|s| s.first);
    for w in out.windows(2) {
        if w[1].first != w[0].last + 1 {
            return Err(StoreError::Invalid {
                path: w[1].path.clone(),
                line: 0,
                message: format!(
                    "segments do not follow each other: {} ends at {}, this one starts at {}",
                    w[0].path.display(),
                    w[0].last,
                    w[1].first
                ),
            });
        }
    }
    Ok(out)
}

/// Move the active file into `sealed/` under the name that describes it, and make the
/// rename durable. The caller has synced the file and reopens a new active one.
pub(crate) fn seal(active: &Path, s: Segment) -> Result<Segment, StoreError> {
    let dir = sealed_dir(active);
    std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
    let (stem, ext) = stem_ext(active);
    let path = dir.join(format!(
        "{stem}-{:012}-{:012}-{:015}-{:015}-{:012}-{}.{ext}",
        s.first, s.last, s.base, s.end, s.seq_through, s.sealed_at
    ));
    std::fs::rename(active, &path).map_err(StoreError::io(active))?;
    sync_dir(&dir)?;
    sync_dir(active.parent().unwrap_or(Path::new(".")))?;
    Ok(Segment { path, deleted: false, ..s })
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(StoreError::io(d))
}

/// Empty a sealed segment (its records deleted, its name kept) durably.
pub(crate) fn empty(s: &Segment) -> Result<(), StoreError> {
    let f = std::fs::OpenOptions::new().write(true).open(&s.path).map_err(StoreError::io(&s.path))?;
    f.set_len(0).and_then(|()| f.sync_all()).map_err(StoreError::io(&s.path))
}

/// How long each log is kept, and when the active files are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    /// Seal the active files at the next snapshot once the payments log is this big.
    pub segment_bytes: u64,
    /// ... or once its oldest entry was written this many days ago.
    pub segment_days: u32,
    /// Years the payments log is kept after the end of the calendar year it was sealed in
    /// (0: kept for ever).
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

/// The moment (UTC seconds) after which a segment sealed at `sealed_at` may be deleted:
/// the end of that calendar year plus `years` years.
pub fn deletable_after(sealed_at: i64, years: u32) -> i64 {
    let (year, _, _) = osecwatch_model::civil_from_days(sealed_at.div_euclid(86_400));
    osecwatch_model::days_from_civil(year + 1 + i64::from(years), 1, 1) * 86_400
}

/// The sealed segments (not yet emptied) that retention deletes at `now`: a prefix of the
/// log, oldest first, each past its time.
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
    /// Payments log segments emptied, and the last sequence number deleted.
    pub payment_segments: usize,
    /// Up to this payments log position, everything is deleted.
    pub payments_through: u64,
    /// Audit log segments emptied.
    pub audit_segments: usize,
    /// Up to this audit record, everything is deleted.
    pub audit_through: u64,
}

/// Delete the sealed segments of both logs that are past their retention at `now`: first a
/// retention record in the audit log, committed (what, under which rule, and the hash of the
/// last deleted audit record, which anchors the chain's new start), then the files emptied.
/// A crash in between leaves files the next run empties; the record already says so.
pub fn apply(
    payments_log: &Path,
    audit: &mut crate::audit::AuditLog,
    rules: &LogRetention,
    now: i64,
    actor: &str,
) -> Result<Option<RetentionRun>, StoreError> {
    let pay = due(&list(payments_log)?, rules.payments_years, now);
    let aud = due(&list(audit.path())?, rules.audit_years, now);
    if pay.is_empty() && aud.is_empty() {
        return Ok(None);
    }
    let names = |v: &[Segment]| -> Vec<String> {
        v.iter().map(|s| s.path.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect()
    };
    let rule =
        "kept until the end of the calendar year in which the segment was sealed, plus the years given (GwG §8(4))";
    let mut record = serde_json::json!({ "action": "retention", "actor": actor, "rule": rule });
    let mut run = RetentionRun::default();
    if let Some(last) = pay.last() {
        run.payment_segments = pay.len();
        run.payments_through = last.last;
        record["payments_log"] = serde_json::json!({
            "years": rules.payments_years,
            "segments": names(&pay),
            "deleted_through_seq": last.last,
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
            "segments": names(&aud),
            "deleted_through_record": last.last,
            "last_deleted_hash": rec.hash,
            "decisions_through_seq": last.seq_through,
        });
    }
    let at = osecwatch_model::Timestamp::new(now, 0).to_rfc3339();
    audit.push(&at, "admin", None, record);
    audit.commit()?;
    for s in pay.iter().chain(&aud) {
        empty(s)?;
    }
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_gaps_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let active = d.path().join("audit.jsonl");
        std::fs::write(&active, b"x\n").unwrap();
        let seg = |first, last, base, end, sealed_at| Segment {
            path: PathBuf::new(),
            first,
            last,
            base,
            end,
            seq_through: last + 100,
            sealed_at,
            deleted: false,
        };
        let s = seal(&active, seg(1, 10, 0, 2, 1_700_000_000)).unwrap();
        assert!(!active.exists());
        std::fs::write(&active, b"y\n").unwrap();
        let t = seal(&active, seg(11, 12, 2, 4, 1_700_000_100)).unwrap();
        assert_eq!(list(&active).unwrap(), vec![s.clone(), t.clone()]);
        // The payments log's segments are another file family in the same directory.
        assert!(list(&d.path().join("payments.wal")).unwrap().is_empty());
        empty(&s).unwrap();
        assert!(list(&active).unwrap()[0].deleted);
        std::fs::remove_file(&t.path).unwrap();
        std::fs::write(
            sealed_dir(&active)
                .join("audit-000000000012-000000000013-000000000000004-000000000000006-000000000013-1.jsonl"),
            b"z\n",
        )
        .unwrap();
        let e = list(&active).unwrap_err().to_string();
        assert!(e.contains("do not follow"), "{e}");
        std::fs::write(sealed_dir(&active).join("audit-x.jsonl"), b"z\n").unwrap();
        assert!(list(&active).unwrap_err().to_string().contains("not a sealed segment"));
    }

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
        };
        let later = osecwatch_model::Timestamp::parse_rfc3339("2021-06-01T00:00:00Z").unwrap().utc;
        let segs = vec![seg(1, sealed, true), seg(2, sealed, false), seg(3, later, false), seg(4, sealed, false)];
        assert!(due(&segs, 5, end_2025 - 1).is_empty());
        // Only a prefix: segment 4 waits behind segment 3.
        assert_eq!(due(&segs, 5, end_2025).iter().map(|s| s.first).collect::<Vec<_>>(), vec![2]);
        assert!(due(&segs, 0, i64::MAX).is_empty(), "0 years: kept for ever");
    }
}
