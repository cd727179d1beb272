//! The snapshot file: the engine's state at a log position, written atomically, read back
//! only if it was made with the same rule pack. A snapshot only saves replay time.

use crate::core::CoreError;
use osecwatch_engine::Decision;
use serde::Serialize;

/// What a snapshot file holds.
#[derive(Serialize, serde::Deserialize)]
pub struct SnapshotFile {
    /// Every log entry up to this sequence number is reflected in the state.
    pub last_seq: u64,
    /// FNV-1a of the rule pack text: a snapshot is only valid for the pack that made it.
    pub pack_fingerprint: u64,
    /// The engine's learnt state.
    pub engine: osecwatch_engine::EngineSnapshot,
    /// Remembered payment ids for retries: (id hash, seq, decision, score).
    pub seen: Vec<(u64, u64, Decision, f64)>,
    /// The latest accepted event time (UTC seconds) when the snapshot was written.
    #[serde(default)]
    pub watermark: Option<i64>,
}

/// Where and how often the core writes snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    /// The snapshot file.
    pub path: std::path::PathBuf,
    /// Write one after this many new payments.
    pub every: u64,
    /// FNV-1a of the rule pack's text.
    pub pack_fingerprint: u64,
}

/// Read a snapshot if there is one and it was made with this rule pack. The snapshot only
/// saves replay time; the log is the record, so a snapshot that cannot be used is passed
/// over with a warning and the whole log is replayed instead of refusing to start.
pub fn load_snapshot(p: &SnapshotPolicy) -> Option<SnapshotFile> {
    let text = match std::fs::read(&p.path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("snapshot unreadable ({e}); rebuilding from the whole log");
            return None;
        }
    };
    let f: SnapshotFile = match serde_json::from_slice(&text) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("snapshot unusable ({e}); rebuilding from the whole log");
            return None;
        }
    };
    if f.pack_fingerprint != p.pack_fingerprint {
        tracing::warn!("snapshot was made with another rule pack; rebuilding from the whole log");
        return None;
    }
    Some(f)
}

/// Write `f` to `path` atomically (temporary file, sync, rename, sync of the directory).
pub(crate) fn write(path: &std::path::Path, f: &SnapshotFile) -> Result<(), CoreError> {
    let tmp = path.with_extension("tmp");
    let err = |source: std::io::Error| CoreError::SnapshotIo { path: tmp.clone(), source };
    {
        let file = std::fs::File::create(&tmp).map_err(err)?;
        let mut w = std::io::BufWriter::new(&file);
        serde_json::to_writer(&mut w, f).map_err(CoreError::SnapshotEncode)?;
        use std::io::Write as _;
        w.flush().map_err(err)?;
        drop(w);
        file.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
