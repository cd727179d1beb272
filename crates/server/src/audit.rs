//! The append-only audit log of decisions and admin actions, hash-chained: every line
//! carries the SHA-256 of the previous line's hash and its own content, so changing,
//! removing or reordering any line breaks the chain from there on (`osecwatch audit
//! verify`). Lines hold ids, decisions, scores and rule ids, never names or references.

mod check;

pub use check::{check, highest_seq_near_end, last_record, verify, verify_against_log, Checked, Verified};

use crate::append::Appender;
use crate::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the audit log, chained to the one before by its hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    /// Its number (1-based).
    pub n: u64,
    /// When (RFC 3339).
    pub at: String,
    /// `decision` or `admin`.
    pub kind: String,
    /// Log sequence number of the payment, for decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// What happened (ids, decision, rule ids; never names or references).
    pub data: serde_json::Value,
    /// The hash of the line before (hex; zeros for the first).
    pub prev: String,
    /// SHA-256 of this line's content and `prev` (hex).
    pub hash: String,
}

fn digest(prev: &str, n: u64, at: &str, kind: &str, seq: Option<u64>, data: &serde_json::Value) -> String {
    hex::encode(digest_text(prev, n, at, kind, seq, &data.to_string()))
}

/// The digest over `data` as written: serde_json writes a value the same way alone and inside
/// a record, so checking a line needs no round trip through `Value`.
fn digest_text(prev: &str, n: u64, at: &str, kind: &str, seq: Option<u64>, data: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(n.to_le_bytes());
    h.update(at.as_bytes());
    h.update(kind.as_bytes());
    h.update(seq.unwrap_or(0).to_le_bytes());
    h.update(data.as_bytes());
    h.finalize().into()
}

/// The hash-chained audit log, appended in batches.
pub struct AuditLog {
    out: Appender,
    /// A second handle for reading records back (first answers to retries).
    reader: File,
    /// The position of the active file's first byte in the log as a whole (the bytes of
    /// the sealed segments before it).
    base: u64,
    /// The number of the active file's first record, if it holds any.
    first_in_file: Option<u64>,
    /// The handle the background syncer syncs: swapped when the file is sealed.
    sync_file: Arc<Mutex<File>>,
    n: u64,
    last_hash: String,
    last_seq: u64,
    buf: Vec<u8>,
    /// Records written but not yet synced by [`AuditLog::sync`].
    unsynced: bool,
    /// The last record written to the file (number and hash), shared with the thread that
    /// syncs the file and then anchors it in the head file.
    written: Arc<Mutex<Head>>,
    head_path: PathBuf,
    head: Arc<File>,
}

/// The anchor of the chain: the number and hash of a record known to be in the file and
/// synced. Kept in `audit.head` beside the log and in every snapshot, so that records cut
/// from the end of the log are detected (the chain alone cannot tell a shorter log from a
/// complete one).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Head {
    /// Record number (0: none yet).
    pub n: u64,
    /// Its hash.
    pub hash: String,
}

/// The head file beside an audit log.
pub fn head_path(audit: &Path) -> PathBuf {
    audit.with_extension("head")
}

/// Read the head file beside `audit`, if there is one. An empty or unreadable one (a write
/// cut short) counts as none, with a warning: the snapshot's anchor still holds.
pub fn read_head(audit: &Path) -> Result<Option<Head>, StoreError> {
    let p = head_path(audit);
    match std::fs::read(&p) {
        Ok(b) if b.trim_ascii().is_empty() => Ok(None),
        Ok(b) => match serde_json::from_slice(b.trim_ascii()) {
            Ok(h) => Ok(Some(h)),
            Err(e) => {
                tracing::warn!("audit head file unreadable ({e}); not used");
                Ok(None)
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(&p)(e)),
    }
}

/// The head file's size: one record, padded, rewritten in place.
const HEAD_BYTES: usize = 128;

/// Open (or create) the head file for rewriting in place.
fn open_head(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

/// Rewrite the head file in place: one record of fixed size inside one disk sector, then one
/// `fdatasync`. No rename and no change of size, so there is no file-system metadata to
/// journal: a rename and two directory syncs a second slowed the payments log's own syncs.
fn write_head(file: &File, head: &Head) -> std::io::Result<()> {
    let mut b = serde_json::to_vec(head).map_err(std::io::Error::other)?;
    if b.len() >= HEAD_BYTES {
        return Err(std::io::Error::other("audit head longer than its record"));
    }
    b.resize(HEAD_BYTES - 1, b' ');
    b.push(b'\n');
    file.write_all_at(&b, 0)?;
    file.sync_data()
}

impl AuditLog {
    /// Open the audit file, verifying its chain against its head file and `anchors` (a
    /// broken chain or a cut tail refuses to start). A torn last line is cut back and
    /// reported. Returns the offsets of decision records above `decisions_after`.
    pub fn open(path: &Path, decisions_after: u64, anchors: &[&Head]) -> Result<(AuditLog, Checked), StoreError> {
        let io = StoreError::io(path);
        if !path.exists() {
            File::create(path).map_err(io)?;
        }
        let head = read_head(path)?;
        let all: Vec<&Head> = anchors.iter().copied().chain(head.as_ref()).collect();
        let t = std::time::Instant::now();
        let mut c = check(path, decisions_after, &all)?;
        tracing::info!(records = c.records, secs = t.elapsed().as_secs_f64(), "audit chain checked");
        let file = OpenOptions::new().read(true).append(true).open(path).map_err(io)?;
        if let Some(why) = &c.torn {
            tracing::warn!(record = c.records + 1, "audit log: {why}; cut back to the last complete record");
            file.set_len(c.good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let reader = File::open(path).map_err(io)?;
        let sync_file = Arc::new(Mutex::new(file.try_clone().map_err(io)?));
        let last_hash = c.last.as_ref().map(|r| r.hash.clone()).unwrap_or_else(|| GENESIS.to_string());
        let last_seq = c.max_seq;
        let written = Arc::new(Mutex::new(Head { n: c.records, hash: last_hash.clone() }));
        let log = AuditLog {
            out: Appender::new(file, path)?,
            reader,
            base: c.base,
            first_in_file: c.first_in_file,
            sync_file,
            n: c.records,
            last_hash,
            last_seq,
            buf: Vec::new(),
            unsynced: false,
            written,
            head: Arc::new(open_head(&head_path(path)).map_err(StoreError::io(&head_path(path)))?),
            head_path: head_path(path),
        };
        c.last = None;
        Ok((log, c))
    }

    /// The active file.
    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Highest payment sequence number with an audit record.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The chain's last record (number and hash), whether synced or not.
    pub fn head(&self) -> Head {
        Head { n: self.n, hash: self.last_hash.clone() }
    }

    /// Buffer a record; [`AuditLog::commit`] writes and syncs the buffered ones. Returns the
    /// byte offset the record will have in the file.
    pub fn push(&mut self, at: &str, kind: &str, seq: Option<u64>, data: serde_json::Value) -> u64 {
        let offset = self.base + self.out.len() + self.buf.len() as u64;
        self.n += 1;
        self.first_in_file.get_or_insert(self.n);
        let hash = digest(&self.last_hash, self.n, at, kind, seq, &data);
        let r = AuditRecord {
            n: self.n,
            at: at.to_string(),
            kind: kind.to_string(),
            seq,
            data,
            prev: self.last_hash.clone(),
            hash: hash.clone(),
        };
        if let Ok(line) = serde_json::to_vec(&r) {
            self.buf.extend_from_slice(&line);
            self.buf.push(b'\n');
        }
        self.last_hash = hash;
        if let Some(s) = seq {
            self.last_seq = self.last_seq.max(s);
        }
        offset
    }

    /// The record at a position [`AuditLog::push`] returned (written or still buffered, in
    /// the active file or in a sealed segment).
    pub fn read_at(&self, position: u64) -> Result<AuditRecord, StoreError> {
        let path = self.out.path();
        let bad = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: 0, message };
        let line = if position < self.base {
            let segs = crate::segments::list(path)?;
            let s = segs
                .iter()
                .find(|s| s.base <= position && position < s.end)
                .ok_or_else(|| bad(format!("no sealed segment holds position {position}")))?;
            if s.deleted {
                return Err(bad(format!("the record at position {position} was deleted by retention")));
            }
            let f = File::open(&s.path).map_err(StoreError::io(&s.path))?;
            read_line_at(&f, &s.path, position - s.base)?
        } else if position - self.base >= self.out.len() {
            let at = (position - self.base - self.out.len()) as usize;
            let rest = self.buf.get(at..).unwrap_or_default();
            rest[..memchr::memchr(b'\n', rest).ok_or_else(|| bad(format!("no record at position {position}")))?]
                .to_vec()
        } else {
            read_line_at(&self.reader, path, position - self.base)?
        };
        serde_json::from_slice(&line).map_err(|e| bad(format!("record at position {position}: {e}")))
    }

    /// Seal the active file into `sealed/` (everything in it committed and synced first) and
    /// start a new one; the payments log was sealed at `seq_through`. `None` if it is empty.
    pub fn seal(&mut self, now: i64) -> Result<Option<crate::segments::Segment>, StoreError> {
        self.commit()?;
        let Some(first) = self.first_in_file else { return Ok(None) };
        let path = self.out.path().to_path_buf();
        let io = StoreError::io(&path);
        let s = crate::segments::Segment {
            path: path.clone(),
            first,
            last: self.n,
            base: self.base,
            end: self.base + self.out.len(),
            seq_through: self.last_seq,
            sealed_at: now,
            deleted: false,
            kept: None,
        };
        let s = crate::segments::seal(&path, s)?;
        let file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(io)?;
        let clone = file.try_clone().map_err(io)?;
        self.reader = File::open(&path).map_err(io)?;
        self.out = Appender::new(file, &path)?;
        if let Ok(mut f) = self.sync_file.lock() {
            *f = clone;
        }
        self.base = s.end;
        self.first_in_file = None;
        Ok(Some(s))
    }

    /// Write and sync what was pushed since the last commit, and anchor it in the head file.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if !self.buf.is_empty() {
            // On failure the records stay buffered (the file was cut back), so the next
            // commit writes them again and the chain stays whole.
            self.out.write_synced(&self.buf)?;
            self.buf.clear();
        }
        self.unsynced = false;
        self.publish_written();
        self.anchor()
    }

    /// Write the buffered records without waiting for the disk: for decision records,
    /// which the write-ahead log already holds durably (a decision record lost with the
    /// machine is written again from the log at the next start, the same record). The
    /// core syncs them about once a second ([`AuditLog::sync`]); admin records, which no
    /// other file holds, go through [`AuditLog::commit`].
    pub fn write_unsynced(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.out.write(&self.buf, false)?;
        self.buf.clear();
        self.unsynced = true;
        self.publish_written();
        Ok(())
    }

    /// Everything pushed is in the file now: make it the record the next sync anchors.
    fn publish_written(&self) {
        if let Ok(mut w) = self.written.lock() {
            *w = Head { n: self.n, hash: self.last_hash.clone() };
        }
    }

    /// What a background thread needs to sync the file and anchor what it synced: the file,
    /// the last written record, and the head file.
    pub fn sync_handle(&self) -> Result<Syncer, StoreError> {
        Ok(Syncer { file: self.sync_file.clone(), written: self.written.clone(), head: self.head.clone(), anchored: 0 })
    }

    /// Sync records written by [`AuditLog::write_unsynced`], if any, and anchor them.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            self.out.sync()?;
            self.unsynced = false;
        }
        self.anchor()
    }

    /// Write the head file for what is in the file and synced.
    fn anchor(&self) -> Result<(), StoreError> {
        let w = self.written.lock().map(|w| w.clone()).unwrap_or_default();
        write_head(&self.head, &w).map_err(StoreError::io(&self.head_path))
    }
}

/// The line at `at` in `f`, without its newline.
fn read_line_at(f: &File, path: &Path, at: u64) -> Result<Vec<u8>, StoreError> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 1024];
    let mut pos = at;
    loop {
        let k = f.read_at(&mut chunk, pos).map_err(StoreError::io(path))?;
        if k == 0 {
            let message = format!("record at offset {at} has no end");
            return Err(StoreError::Invalid { path: path.to_path_buf(), line: 0, message });
        }
        if let Some(e) = memchr::memchr(b'\n', &chunk[..k]) {
            line.extend_from_slice(&chunk[..e]);
            return Ok(line);
        }
        line.extend_from_slice(&chunk[..k]);
        pos += k as u64;
    }
}

/// Syncs the audit log from another thread and then anchors the records it synced.
pub struct Syncer {
    file: Arc<Mutex<File>>,
    written: Arc<Mutex<Head>>,
    head: Arc<File>,
    /// The record last anchored by this syncer: an idle log costs no writes.
    anchored: u64,
}

impl Syncer {
    /// Sync, then write the head file naming the last record written before the sync.
    pub fn sync(&mut self) -> std::io::Result<()> {
        let w = self.written.lock().map(|w| w.clone()).unwrap_or_default();
        if w.n == self.anchored {
            return Ok(());
        }
        self.file.lock().map_err(|_| std::io::Error::other("audit file handle poisoned"))?.sync_data()?;
        write_head(&self.head, &w)?;
        self.anchored = w.n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: &Path) -> Result<AuditLog, StoreError> {
        AuditLog::open(p, 0, &[]).map(|(a, _)| a)
    }

    #[test]
    fn tampering_is_detected() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut a = open(&p).unwrap();
        for i in 0..5 {
            a.push(
                "2025-01-01T00:00:00+00:00",
                "decision",
                Some(i + 1),
                serde_json::json!({"decision": "allow", "i": i}),
            );
        }
        a.commit().unwrap();
        assert_eq!(verify(&p).unwrap().0, 5);
        let text = std::fs::read_to_string(&p).unwrap();
        // Alter a decision.
        std::fs::write(&p, text.replacen("\"allow\",\"i\":2", "\"block\",\"i\":2", 1)).unwrap();
        let e = verify(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("altered"), "{e}");
        // Remove a line.
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&p, [lines[0], lines[2], lines[3]].join("\n") + "\n").unwrap();
        let e = verify(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("removed"), "{e}");
        // A broken chain refuses to open; the intact one continues where it stopped.
        assert!(open(&p).is_err());
        std::fs::write(&p, &text).unwrap();
        let mut a = open(&p).unwrap();
        assert_eq!(a.last_seq(), 5);
        a.push("2025-01-02T00:00:00+00:00", "admin", None, serde_json::json!({"action": "x"}));
        a.commit().unwrap();
        assert_eq!(verify(&p).unwrap().0, 6);
    }

    /// Records written without a sync are in the file at once (a crash of the process keeps
    /// them), chained with the synced ones, and a sync with nothing pending is a no-op.
    #[test]
    fn unsynced_records_are_in_the_file_and_chained() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut a = open(&p).unwrap();
        a.push("2025-01-01T00:00:00+00:00", "decision", Some(1), serde_json::json!({"decision": "allow"}));
        a.write_unsynced().unwrap();
        assert_eq!(verify(&p).unwrap().0, 1);
        a.push("2025-01-01T00:00:01+00:00", "admin", None, serde_json::json!({"action": "x"}));
        a.commit().unwrap();
        a.push("2025-01-01T00:00:02+00:00", "decision", Some(2), serde_json::json!({"decision": "block"}));
        a.write_unsynced().unwrap();
        a.sync().unwrap();
        a.sync().unwrap();
        let (n, last) = verify(&p).unwrap();
        assert_eq!((n, last.and_then(|r| r.seq)), (3, Some(2)));
        drop(a);
        assert_eq!(open(&p).unwrap().last_seq(), 2);
    }

    /// A torn last line is a crash: cut back and reported, the log opens. Records cut from
    /// the end below the head file's anchor stop the start. A record reads back at its offset.
    #[test]
    fn a_torn_end_is_cut_back_and_a_cut_tail_is_detected_by_the_head() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut a = open(&p).unwrap();
        let mut offsets = Vec::new();
        for i in 0..6u64 {
            offsets.push(a.push(
                "2025-01-01T00:00:00+00:00",
                "decision",
                Some(i + 1),
                serde_json::json!({"txn_id": format!("T{i}")}),
            ));
        }
        // Readable while still buffered, and after the write.
        assert_eq!(a.read_at(offsets[5]).unwrap().data["txn_id"], "T5");
        a.commit().unwrap();
        assert_eq!(a.read_at(offsets[2]).unwrap().data["txn_id"], "T2");
        assert_eq!(read_head(&p).unwrap().unwrap().n, 6);
        drop(a);
        let full = std::fs::read_to_string(&p).unwrap();
        // Torn: half of a seventh record with no newline.
        std::fs::write(&p, format!("{full}{{\"n\":7,\"at\":\"2025")).unwrap();
        let (a, c) = AuditLog::open(&p, 0, &[]).unwrap();
        assert!(c.torn.unwrap().contains("incomplete"));
        assert_eq!((a.head().n, std::fs::read_to_string(&p).unwrap()), (6, full.clone()));
        drop(a);
        // The last two records cut: the head file says six were synced.
        let lines: Vec<&str> = full.lines().collect();
        std::fs::write(&p, lines[..4].join("\n") + "\n").unwrap();
        let e = open(&p).err().expect("a cut tail must stop the start").to_string();
        assert!(e.contains("ends at record 4") && e.contains("record 6"), "{e}");
        assert!(verify_against_log(&p, None).is_err());
        // An anchor whose hash differs (a chain rewritten from there on).
        std::fs::write(&p, &full).unwrap();
        let wrong = Head { n: 3, hash: "00".repeat(32) };
        let e = AuditLog::open(&p, 0, &[&wrong]).err().unwrap().to_string();
        assert!(e.contains("line 3") && e.contains("anchored"), "{e}");
        // A damaged record in the middle is not a crash.
        std::fs::write(&p, full.replacen("\"n\":3", "\"n\":3x", 1)).unwrap();
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("line 3") && e.contains("more records after it"), "{e}");
    }
}
