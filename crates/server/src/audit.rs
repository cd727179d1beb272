//! The append-only audit log of decisions and admin actions, hash-chained: every line
//! carries the SHA-256 of the previous line's hash and its own content, so changing,
//! removing or reordering any line breaks the chain from there on (`osecwatch audit
//! verify`). Lines hold ids, decisions, scores and rule ids, never names or references.

use crate::append::Appender;
use crate::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
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

/// A record as the check reads it: borrowed text, `data` as written.
struct RawRecord<'a> {
    n: u64,
    at: std::borrow::Cow<'a, str>,
    kind: std::borrow::Cow<'a, str>,
    seq: Option<u64>,
    data: &'a str,
    prev: std::borrow::Cow<'a, str>,
    hash: std::borrow::Cow<'a, str>,
}

/// A record as serde reads it, for lines the one-pass reader leaves.
#[derive(Deserialize)]
struct SerdeRecord<'a> {
    n: u64,
    #[serde(borrow)]
    at: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash: std::borrow::Cow<'a, str>,
}

impl<'a> RawRecord<'a> {
    /// A line of the audit log (with its newline), or `None` if it is not a record.
    fn read(line: &'a [u8]) -> Option<RawRecord<'a>> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        RawRecord::quick(body).or_else(|| {
            let r: SerdeRecord = serde_json::from_slice(body).ok()?;
            Some(RawRecord {
                n: r.n,
                at: r.at,
                kind: r.kind,
                seq: r.seq,
                data: r.data.get(),
                prev: r.prev,
                hash: r.hash,
            })
        })
    }

    /// A record exactly as [`AuditLog::push`] writes it (`n`, `at`, `kind`, `seq` if any,
    /// `data`, then `prev` and `hash` of 64 hex digits each, no escapes before `data`), read
    /// without parsing `data`: the hash covers it as written. `None` for anything else.
    fn quick(body: &'a [u8]) -> Option<RawRecord<'a>> {
        use std::borrow::Cow::Borrowed;
        const TAIL: usize = r#","prev":""#.len() + 64 + r#"","hash":""#.len() + 64 + 2;
        if body.len() < TAIL {
            return None;
        }
        let (head, tail) = body.split_at(body.len() - TAIL);
        let tail = std::str::from_utf8(tail).ok()?;
        let prev = tail.strip_prefix(r#","prev":""#)?.get(..64)?;
        let hash = tail.get(TAIL - 66..TAIL - 2)?;
        if &tail[r#","prev":""#.len() + 64..TAIL - 66] != r#"","hash":""# || !tail.ends_with("\"}") {
            return None;
        }
        let mut at = head.strip_prefix(br#"{"n":"#.as_slice())?;
        let number = |at: &mut &'a [u8]| -> Option<u64> {
            let d = at.iter().take_while(|b| b.is_ascii_digit()).count();
            let v = std::str::from_utf8(&at[..d]).ok()?.parse().ok()?;
            *at = &at[d..];
            Some(v)
        };
        let n = number(&mut at)?;
        let text = |at: &mut &'a [u8], key: &[u8]| -> Option<&'a str> {
            let rest = at.strip_prefix(b",\"")?.strip_prefix(key)?.strip_prefix(b"\":\"")?;
            let end = memchr::memchr2(b'"', b'\\', rest)?;
            if rest[end] != b'"' {
                return None;
            }
            *at = &rest[end + 1..];
            std::str::from_utf8(&rest[..end]).ok()
        };
        let when = text(&mut at, b"at")?;
        let kind = text(&mut at, b"kind")?;
        let mut seq = None;
        if let Some(rest) = at.strip_prefix(br#","seq":"#.as_slice()) {
            at = rest;
            seq = Some(number(&mut at)?);
        }
        let data = std::str::from_utf8(at.strip_prefix(br#","data":"#.as_slice())?).ok()?;
        Some(RawRecord {
            n,
            at: Borrowed(when),
            kind: Borrowed(kind),
            seq,
            data,
            prev: Borrowed(prev),
            hash: Borrowed(hash),
        })
    }
}

/// The hash-chained audit log, appended in batches.
pub struct AuditLog {
    out: Appender,
    /// A second handle for reading records back (first answers to retries).
    reader: File,
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

/// What a check of the whole file found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Records in the chain.
    pub records: u64,
    /// The last record.
    pub last: Option<AuditRecord>,
    /// Length of the complete records; a torn last line after it was a crash.
    pub good_len: u64,
    /// Why the last line was torn, if it was.
    pub torn: Option<String>,
    /// `(seq, byte offset)` of the decision records with `seq` above the asked-for one.
    pub decisions: Vec<(u64, u64)>,
    /// SHA-256 of every snapshot the log records having written, oldest first.
    pub snapshots: Vec<String>,
    /// The highest log sequence number any record names.
    pub max_seq: u64,
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

/// The highest sequence number among the records in the last few megabytes of an audit log,
/// read without checking anything (a hint for the replay, which runs while the chain is
/// checked; the check decides). 0 for a missing or empty file.
pub fn highest_seq_near_end(path: &Path) -> u64 {
    const TAIL: u64 = 4 << 20;
    let Ok(f) = File::open(path) else { return 0 };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL);
    let mut buf = vec![0u8; (len - start) as usize];
    if f.read_exact_at(&mut buf, start).is_err() {
        return 0;
    }
    #[derive(Deserialize)]
    struct SeqOnly {
        #[serde(default)]
        seq: Option<u64>,
    }
    // The first line may start before the window: it simply fails to parse.
    buf.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<SeqOnly>(l).ok().and_then(|r| r.seq))
        .max()
        .unwrap_or(0)
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

/// Check the chain of an audit file; returns the number of records and the last one. A torn
/// last line (a crash in the middle of a write) is an error here: [`check`] tells it apart.
pub fn verify(path: &Path) -> Result<(u64, Option<AuditRecord>), StoreError> {
    let c = check(path, u64::MAX, &[])?;
    if let Some(why) = c.torn {
        return Err(StoreError::Invalid { path: path.to_path_buf(), line: c.records + 1, message: why });
    }
    Ok((c.records, c.last))
}

/// Check the chain of an audit file, and that each anchor `(n, hash)` is in it. A last line
/// that is incomplete or not a record is reported as torn (a crash), not as an error; any
/// other broken line is an error naming it. Collects the offsets of decision records with a
/// sequence number above `decisions_after`.
pub fn check(path: &Path, decisions_after: u64, anchors: &[&Head]) -> Result<Checked, StoreError> {
    let io = StoreError::io(path);
    let f = File::open(path).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut prev = GENESIS.to_string();
    let mut out = Checked::default();
    let mut line = Vec::new();
    let mut last_line = Vec::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let read = r.read_until(b'\n', &mut line).map_err(io)?;
        if read == 0 {
            break;
        }
        let ln = out.records + 1;
        let broken = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: ln, message };
        let complete = line.last() == Some(&b'\n');
        let rec = if complete { RawRecord::read(&line) } else { None };
        let Some(rec) = rec else {
            // Only the very last line may be torn; anything after it means damage.
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).map_err(io)?;
            let why = if complete { "not an audit record" } else { "an incomplete last line" };
            if rest.is_empty() {
                out.torn = Some(format!("{why} (a write cut short by a crash)"));
                break;
            }
            return Err(broken(format!("{why}, with more records after it")));
        };
        if rec.n != ln {
            return Err(broken(format!(
                "record number {} where {ln} was expected (a line was removed or inserted)",
                rec.n
            )));
        }
        if rec.prev != prev {
            return Err(broken("`prev` does not match the previous record's hash".into()));
        }
        let h = digest_text(&rec.prev, rec.n, &rec.at, &rec.kind, rec.seq, rec.data);
        let mut stated = [0u8; 32];
        if hex::decode_to_slice(rec.hash.as_bytes(), &mut stated).is_err() || h != stated {
            return Err(broken("content does not match its hash (the record was altered)".into()));
        }
        for a in anchors {
            if a.n == rec.n && a.hash != rec.hash {
                return Err(broken(format!("record {} is not the one anchored (hash {})", rec.n, a.hash)));
            }
        }
        if rec.kind == "decision" {
            if let Some(seq) = rec.seq.filter(|s| *s > decisions_after) {
                out.decisions.push((seq, offset));
            }
        } else if rec.kind == "admin" {
            let data: serde_json::Value = serde_json::from_str(rec.data).unwrap_or_default();
            if let (Some("snapshot"), Some(sha)) = (data["action"].as_str(), data["sha256"].as_str()) {
                out.snapshots.push(sha.to_string());
            }
        }
        out.max_seq = out.max_seq.max(rec.seq.unwrap_or(0));
        prev.clear();
        prev.push_str(&rec.hash);
        last_line.clear();
        last_line.extend_from_slice(&line);
        offset += read as u64;
        out.good_len = offset;
        out.records += 1;
    }
    if out.records > 0 {
        out.last = serde_json::from_slice(&last_line).ok();
    }
    for a in anchors {
        if a.n > out.records {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                line: out.records + 1,
                message: format!(
                    "the log ends at record {} but record {} (hash {}) was written and synced before: records were removed from its end",
                    out.records, a.n, a.hash
                ),
            });
        }
    }
    Ok(out)
}

/// What `audit verify` found in a data directory.
#[derive(Debug)]
pub struct Verified {
    /// Records in the chain.
    pub records: u64,
    /// The head file's anchor, if there is one.
    pub head: Option<Head>,
    /// Payments in the payments log, each with its decision.
    pub payments: u64,
}

/// Check an audit log as a whole: its chain, its head file (no records cut from the end),
/// and, if `wal` is given, against the payments log: every logged payment has exactly one
/// decision, for the same record (digest), and no decision names a payment the log does
/// not hold. Every problem found is listed.
pub fn verify_against_log(path: &Path, wal: Option<&Path>) -> Result<Verified, Vec<String>> {
    let head = read_head(path).map_err(|e| vec![e.to_string()])?;
    let anchors: Vec<&Head> = head.iter().collect();
    let c = check(path, 0, &anchors).map_err(|e| vec![e.to_string()])?;
    let mut problems = Vec::new();
    if let Some(t) = &c.torn {
        problems.push(format!(
            "{}, record {}: {t}; the service cuts it back at its next start",
            path.display(),
            c.records + 1
        ));
    }
    let mut payments = 0;
    if let Some(wal) = wal {
        let entries = crate::wal::read_all(wal).map_err(|e| vec![e.to_string()])?;
        let mut decided: std::collections::HashMap<u64, Option<String>> = std::collections::HashMap::new();
        let f = File::open(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        for (i, line) in BufReader::new(f).lines().enumerate().take(c.records as usize) {
            let Ok(rec) = line
                .map_err(|e| e.to_string())
                .and_then(|l| serde_json::from_str::<AuditRecord>(&l).map_err(|e| e.to_string()))
            else {
                continue;
            };
            if rec.kind != "decision" {
                continue;
            }
            let Some(seq) = rec.seq else { continue };
            let digest = rec.data["record"].as_str().map(String::from);
            if decided.insert(seq, digest).is_some() {
                problems.push(format!("{}, line {}: a second decision for log position {seq}", path.display(), i + 1));
            }
        }
        for e in &entries {
            let crate::wal::Logged::Payment(p) = e else { continue };
            payments += 1;
            match decided.remove(&p.seq) {
                None => problems
                    .push(format!("log position {}: a logged payment without a decision in the audit log", p.seq)),
                Some(Some(d)) => {
                    let t = p.to_txn().map_err(|e| vec![format!("log position {}: {e}", p.seq)])?;
                    if d != crate::wal::record_digest(&t) {
                        problems.push(format!(
                            "log position {}: the payment in the log is not the one decided (record digest differs)",
                            p.seq
                        ));
                    }
                }
                // A decision of the previous version: no digest to compare.
                Some(None) => {}
            }
        }
        let mut orphans: Vec<u64> = decided.into_keys().collect();
        orphans.sort_unstable();
        for seq in orphans.iter().take(20) {
            problems.push(format!("log position {seq}: a decision for a payment the payments log does not hold"));
        }
        if orphans.len() > 20 {
            problems.push(format!("... and {} more decisions without their payment", orphans.len() - 20));
        }
    }
    if problems.is_empty() {
        Ok(Verified { records: c.records, head, payments })
    } else {
        Err(problems)
    }
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
        let last_hash = c.last.as_ref().map(|r| r.hash.clone()).unwrap_or_else(|| GENESIS.to_string());
        let last_seq = c.max_seq;
        let written = Arc::new(Mutex::new(Head { n: c.records, hash: last_hash.clone() }));
        let log = AuditLog {
            out: Appender::new(file, path)?,
            reader,
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
        let offset = self.out.len() + self.buf.len() as u64;
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
        offset
    }

    /// The record at a byte offset [`AuditLog::push`] returned (written or still buffered).
    pub fn read_at(&self, offset: u64) -> Result<AuditRecord, StoreError> {
        let path = self.out.path();
        let bad = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: 0, message };
        let line = if offset >= self.out.len() {
            let at = (offset - self.out.len()) as usize;
            let rest = self.buf.get(at..).unwrap_or_default();
            rest[..memchr_nl(rest).ok_or_else(|| bad(format!("no record at offset {offset}")))?].to_vec()
        } else {
            let mut line = Vec::new();
            let mut chunk = [0u8; 1024];
            let mut at = offset;
            loop {
                let k = self.reader.read_at(&mut chunk, at).map_err(StoreError::io(path))?;
                if k == 0 {
                    return Err(bad(format!("record at offset {offset} has no end")));
                }
                if let Some(e) = memchr_nl(&chunk[..k]) {
                    line.extend_from_slice(&chunk[..e]);
                    break line;
                }
                line.extend_from_slice(&chunk[..k]);
                at += k as u64;
            }
        };
        serde_json::from_slice(&line).map_err(|e| bad(format!("record at offset {offset}: {e}")))
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
        Ok(Syncer {
            file: self.out.try_clone_file()?,
            written: self.written.clone(),
            head: self.head.clone(),
            anchored: 0,
        })
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

/// Syncs the audit log from another thread and then anchors the records it synced.
pub struct Syncer {
    file: File,
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
        self.file.sync_data()?;
        write_head(&self.head, &w)?;
        self.anchored = w.n;
        Ok(())
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: &Path) -> Result<AuditLog, StoreError> {
        AuditLog::open(p, 0, &[]).map(|(a, _)| a)
    }

    /// The one-pass reader of the check reads records as serde does.
    #[test]
    fn the_quick_record_reader_agrees_with_serde() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut a = open(&p).unwrap();
        a.push(
            "2025-01-01T00:00:00+00:00",
            "decision",
            Some(7),
            serde_json::json!({"txn_id": "T\"1", "rules": ["R-1"]}),
        );
        a.push("2025-01-01T00:00:01+00:00", "admin", None, serde_json::json!({"action": "snapshot", "sha256": "ab"}));
        a.commit().unwrap();
        let text = std::fs::read(&p).unwrap();
        for line in text.split_inclusive(|b| *b == b'\n') {
            let body = &line[..line.len() - 1];
            let q = RawRecord::quick(body).expect("a record as push writes it");
            let r: SerdeRecord = serde_json::from_slice(body).unwrap();
            assert_eq!(
                (q.n, &q.at, &q.kind, q.seq, q.data, &q.prev, &q.hash),
                (r.n, &r.at, &r.kind, r.seq, r.data.get(), &r.prev, &r.hash)
            );
        }
        assert_eq!(verify(&p).unwrap().0, 2);
        assert!(RawRecord::quick(b"{\"n\":1}").is_none());
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
