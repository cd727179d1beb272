//! The snapshot file: the engine's state at a log position, written atomically, read back
//! only if it is intact and was made with the same rule pack. A snapshot only saves replay
//! time: one that cannot be used is passed over with a warning and the whole log replayed.
//!
//! Integrity: `snapshot.json` ends with a line `# sha256 <hex>` over everything before it, and
//! the same digest goes into the audit log when the snapshot is written, so an edited snapshot
//! fails either its own checksum or, re-summed, the hash chain's record of it. The snapshot
//! names the audit record it was taken at (number and hash): an audit log cut below that is
//! detected at start. The idempotency index is a binary file of its own, `dedupe-<seq>.bin`,
//! named with its SHA-256 in the snapshot.

use crate::audit::Head;
use crate::core::CoreError;
use crate::dedupe::IdIndex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What a snapshot file holds.
#[derive(Serialize, Deserialize)]
pub struct SnapshotFile {
    /// Every log entry up to this sequence number is reflected in the state.
    pub last_seq: u64,
    /// FNV-1a of the rule pack text: a snapshot is only valid for the pack that made it.
    pub pack_fingerprint: u64,
    /// The engine's learnt state.
    pub engine: osecwatch_engine::EngineSnapshot,
    /// The latest accepted event time (UTC seconds) when the snapshot was written.
    pub watermark: Option<i64>,
    /// The audit log's last record when the snapshot was written (synced before).
    pub audit: Head,
    /// The idempotency index file (in the data directory) and its SHA-256.
    pub dedupe_file: String,
    /// SHA-256 of the index file, hex.
    pub dedupe_sha256: String,
}

/// A snapshot read back: its content, its checksum and its idempotency index.
pub struct Loaded {
    /// The file's content.
    pub file: SnapshotFile,
    /// Its SHA-256 (hex), as the audit log records it.
    pub sha256: String,
    /// The idempotency index it names.
    pub index: IdIndex,
}

/// Where and how often the core writes snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    /// The snapshot file.
    pub path: PathBuf,
    /// Write one after this many new payments.
    pub every: u64,
    /// FNV-1a of the rule pack's text.
    pub pack_fingerprint: u64,
    /// When the logs are sealed into segments (after a snapshot) and how long they are kept.
    pub logs: crate::segments::LogRetention,
    /// Customers' business relationships (the customer file's `relationship_ended`), which
    /// the payments log's retention follows; `None` when the file does not say.
    pub relationships: Option<std::sync::Arc<crate::segments::Relationships>>,
}

const SUM_LINE: &str = "\n# sha256 ";

/// Read a snapshot if there is one, it is intact and it was made with this rule pack.
/// `Ok(None)`: there is none; `Err(why)`: there is one, passed over for the reason given.
pub fn load_snapshot(p: &SnapshotPolicy) -> Result<Option<Loaded>, String> {
    let text = match std::fs::read(&p.path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("unreadable: {e}")),
    };
    check(&text, p).map(Some)
}

fn check(text: &[u8], p: &SnapshotPolicy) -> Result<Loaded, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_string())?;
    let Some(at) = text.rfind(SUM_LINE) else {
        return Err("no checksum line: written by an earlier version".into());
    };
    let (body, sum) = (&text[..at], text[at + SUM_LINE.len()..].trim_end());
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    if sha != sum {
        return Err("its checksum does not match its content (changed or damaged)".into());
    }
    let file: SnapshotFile = serde_json::from_str(body).map_err(|e| format!("unusable: {e}"))?;
    if file.pack_fingerprint != p.pack_fingerprint {
        return Err("made with another rule pack".into());
    }
    let ix_path = dir_of(&p.path).join(&file.dedupe_file);
    let bytes = std::fs::read(&ix_path).map_err(|e| format!("{}: {e}", file.dedupe_file))?;
    if hex::encode(Sha256::digest(&bytes)) != file.dedupe_sha256 {
        return Err(format!("{}: checksum does not match", file.dedupe_file));
    }
    let index = IdIndex::from_bytes(&bytes).map_err(|e| e.to_string())?;
    Ok(Loaded { file, sha256: sha, index })
}

fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Write the index file and then `f` to `path`, each atomically (temporary file, sync,
/// rename, sync of the directory); returns the snapshot's SHA-256. Index files of earlier
/// snapshots are removed once the new snapshot is in place.
pub(crate) fn write(path: &Path, f: &mut SnapshotFile, index: &IdIndex) -> Result<String, CoreError> {
    let dir = dir_of(path);
    let ix_bytes = index.to_bytes();
    f.dedupe_sha256 = hex::encode(Sha256::digest(&ix_bytes));
    f.dedupe_file = format!("dedupe-{}.bin", f.last_seq);
    atomic_write(&dir.join(&f.dedupe_file), &ix_bytes)?;
    let mut body = serde_json::to_vec(f).map_err(CoreError::SnapshotEncode)?;
    let sha = hex::encode(Sha256::digest(&body));
    body.extend_from_slice(SUM_LINE.as_bytes());
    body.extend_from_slice(sha.as_bytes());
    body.push(b'\n');
    atomic_write(path, &body)?;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("dedupe-") && name.ends_with(".bin") && name != f.dedupe_file.as_str() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(sha)
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), CoreError> {
    let tmp = path.with_extension("tmp");
    let err = |source: std::io::Error| CoreError::SnapshotIo { path: tmp.clone(), source };
    {
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(bytes).map_err(err)?;
        file.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Ok(d) = std::fs::File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}
