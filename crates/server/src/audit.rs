//! The append-only audit log of decisions and admin actions, hash-chained: every line
//! carries the SHA-256 of the previous line's hash and its own content, so changing,
//! removing or reordering any line breaks the chain from there on (`osecwatch audit
//! verify`). Lines hold ids, decisions, scores and rule ids, never names or references.

use crate::append::Appender;
use crate::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::Path;

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
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(n.to_le_bytes());
    h.update(at.as_bytes());
    h.update(kind.as_bytes());
    h.update(seq.unwrap_or(0).to_le_bytes());
    h.update(data.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The hash-chained audit log, appended in batches.
pub struct AuditLog {
    out: Appender,
    n: u64,
    last_hash: String,
    last_seq: u64,
    buf: Vec<u8>,
    /// Records written but not yet synced by [`AuditLog::sync`].
    unsynced: bool,
}

/// Check the chain of an audit file; returns the number of records.
pub fn verify(path: &Path) -> Result<(u64, Option<AuditRecord>), StoreError> {
    let io = StoreError::io(path);
    let f = File::open(path).map_err(io)?;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    let mut last = None;
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(io)?;
        let ln = i as u64 + 1;
        let broken = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: ln, message };
        let r: AuditRecord = serde_json::from_str(&line).map_err(|e| broken(format!("not an audit record: {e}")))?;
        if r.n != ln {
            return Err(broken(format!(
                "record number {} where {ln} was expected (a line was removed or inserted)",
                r.n
            )));
        }
        if r.prev != prev {
            return Err(broken("`prev` does not match the previous record's hash".into()));
        }
        let h = digest(&r.prev, r.n, &r.at, &r.kind, r.seq, &r.data);
        if h != r.hash {
            return Err(broken("content does not match its hash (the record was altered)".into()));
        }
        prev = r.hash.clone();
        count += 1;
        last = Some(r);
    }
    Ok((count, last))
}

impl AuditLog {
    /// Open the audit file, verifying its chain first (a broken chain refuses to start).
    pub fn open(path: &Path) -> Result<AuditLog, StoreError> {
        let io = StoreError::io(path);
        if !path.exists() {
            File::create(path).map_err(io)?;
        }
        let (n, last) = verify(path)?;
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        let last_hash = last.as_ref().map(|r| r.hash.clone()).unwrap_or_else(|| GENESIS.to_string());
        let last_seq = last.as_ref().and_then(|r| r.seq).unwrap_or(0);
        Ok(AuditLog { out: Appender::new(file, path)?, n, last_hash, last_seq, buf: Vec::new(), unsynced: false })
    }

    /// Highest payment sequence number with an audit record.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Buffer a record; [`AuditLog::commit`] writes and syncs the buffered ones.
    pub fn push(&mut self, at: &str, kind: &str, seq: Option<u64>, data: serde_json::Value) {
        self.n += 1;
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
    }

    /// Write and sync what was pushed since the last commit.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // On failure the records stay buffered (the file was cut back), so the next commit
        // writes them again and the chain stays whole.
        self.out.write_synced(&self.buf)?;
        self.buf.clear();
        self.unsynced = false;
        Ok(())
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
        Ok(())
    }

    /// A second handle on the file, for a thread that syncs it in the background.
    pub fn sync_handle(&self) -> Result<File, StoreError> {
        self.out.try_clone_file()
    }

    /// Sync records written by [`AuditLog::write_unsynced`], if any.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            self.out.sync()?;
            self.unsynced = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_is_detected() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut a = AuditLog::open(&p).unwrap();
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
        assert!(AuditLog::open(&p).is_err());
        std::fs::write(&p, &text).unwrap();
        let mut a = AuditLog::open(&p).unwrap();
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
        let mut a = AuditLog::open(&p).unwrap();
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
        assert_eq!(AuditLog::open(&p).unwrap().last_seq(), 2);
    }
}
