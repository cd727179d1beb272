//! Sealed segments of the two append-only logs.
//!
//! The payments log and the audit log are each one active file (`payments.wal`,
//! `audit.jsonl`) and, in `sealed/` beside it, the segments sealed before. Both are sealed
//! together after a snapshot (and by the daily upkeep) once the payments log is big or old
//! enough, so a start from a snapshot rarely reads a sealed segment.
//!
//! A sealed segment's name says what it holds, so that nothing else needs to be read to
//! find a record: `payments-<first seq>-<last seq>-0-0-<last seq>-<sealed at>.wal` and
//! `audit-<first record>-<last record>-<first byte>-<end byte>-<highest seq>-<sealed
//! at>.jsonl` (the audit log's byte positions run on across segments, so a position the
//! idempotency index holds stays valid after a sealing and after a deletion; the highest
//! payment sequence number its records name tells which payments may have lost their
//! decisions to retention). A payments segment compacted by retention gains `-k<kept>`.
//! An empty sealed file is a segment whose records retention deleted; its name stays, so the
//! numbering and byte positions stay known. Retention is in `segments/retention.rs`.

mod retention;

pub use retention::{
    apply, decisions_deleted_through, deletable_after, due, LogRetention, Relationships, RetentionRun,
};

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
    /// Payments log only: compacted by retention, keeping this many entries (those of
    /// customers whose retention period has not run out); a seventh name field, `k<count>`.
    pub kept: Option<u64>,
}

impl Segment {
    /// Its file name.
    pub fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
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
    let (out, _) = supersede(list_raw(active)?);
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

/// Every file in `sealed/` named like this log's segments, superseded ones included.
fn list_raw(active: &Path) -> Result<Vec<Segment>, StoreError> {
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
        if v.len() != 6 && v.len() != 7 {
            return Err(bad());
        }
        let kept = match v.get(6) {
            Some(k) => Some(k.strip_prefix('k').and_then(|k| k.parse::<u64>().ok()).ok_or_else(bad)?),
            None => None,
        };
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
            kept,
        };
        if s.last < s.first || s.end < s.base {
            return Err(bad());
        }
        out.push(s);
    }
    Ok(out)
}

/// Split the segments into those in use and those superseded. A compacted segment replaces
/// the file of the same range it was made from (compaction only removes, so the version that
/// keeps fewer is the newer): two versions are there only when a compaction was cut short
/// after its new file was complete (written and synced first).
fn supersede(mut all: Vec<Segment>) -> (Vec<Segment>, Vec<Segment>) {
    all.sort_by_key(|s| (s.first, s.kept.unwrap_or(u64::MAX)));
    let mut used: Vec<Segment> = Vec::with_capacity(all.len());
    let mut gone = Vec::new();
    for s in all {
        match used.last() {
            Some(u) if u.first == s.first && u.last == s.last && u.kept.is_some() => gone.push(s),
            _ => used.push(s),
        }
    }
    (used, gone)
}

/// Remove the files that a completed compaction superseded (left by a crash between writing
/// the compacted file and removing its original).
pub(crate) fn remove_superseded(active: &Path) -> Result<usize, StoreError> {
    let (_, gone) = supersede(list_raw(active)?);
    for s in &gone {
        std::fs::remove_file(&s.path).map_err(StoreError::io(&s.path))?;
    }
    if !gone.is_empty() {
        sync_dir(&sealed_dir(active))?;
    }
    Ok(gone.len())
}

/// The files of a log that still hold records, oldest first: the sealed segments not
/// emptied by retention, then the active file.
pub fn files(active: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out: Vec<_> = list(active)?.into_iter().filter(|s| !s.deleted).map(|s| s.path).collect();
    out.push(active.to_path_buf());
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
    Ok(Segment { path, deleted: false, kept: None, ..s })
}

/// A segment's name with `kept` as its seventh field.
pub(crate) fn compacted_name(s: &Segment, kept: u64) -> PathBuf {
    let name = s.name();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
    let stem = match s.kept {
        Some(_) => stem.rsplit_once('-').map_or(stem, |(a, _)| a),
        None => stem,
    };
    s.path.with_file_name(format!("{stem}-k{kept}.{ext}"))
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
            kept: None,
        };
        let s = seal(&active, seg(1, 10, 0, 2, 1_700_000_000)).unwrap();
        assert!(!active.exists());
        std::fs::write(&active, b"y\n").unwrap();
        let t = seal(&active, seg(11, 12, 2, 4, 1_700_000_100)).unwrap();
        assert_eq!(list(&active).unwrap(), vec![s.clone(), t.clone()]);
        // A compaction cut short after its new file was complete: the newest version is used
        // (compaction only removes, so the one that keeps fewer), the others removed later.
        let k2 = compacted_name(&t, 2);
        std::fs::write(&k2, b"a\nb\n").unwrap();
        let k1 = compacted_name(&Segment { path: k2.clone(), kept: Some(2), ..t.clone() }, 1);
        std::fs::write(&k1, b"b\n").unwrap();
        assert!(k1.to_string_lossy().ends_with("-k1.jsonl"), "{}", k1.display());
        assert_eq!(list(&active).unwrap()[1].kept, Some(1));
        assert_eq!(remove_superseded(&active).unwrap(), 2);
        assert!(!t.path.exists() && !k2.exists() && k1.exists());
        std::fs::remove_file(&k1).unwrap();
        std::fs::write(&t.path, b"y\n").unwrap();
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
}
