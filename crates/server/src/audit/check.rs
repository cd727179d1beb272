//! Reading an audit log back: the chain checked record by record (each against its hash and
//! the one before, the anchors, a torn last line told apart from damage), the whole log
//! against the payments log, and a quick look at its end for the replay.

use super::{digest_text, read_head, AuditRecord, Head, GENESIS};
use crate::StoreError;
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What a check of the whole log found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The number of the chain's last record (records deleted by retention included).
    pub records: u64,
    /// The position of the active file's first byte in the log as a whole.
    pub base: u64,
    /// The number of the active file's first record, if it holds any.
    pub first_in_file: Option<u64>,
    /// Records deleted by retention, as retention records name them: the last deleted
    /// record's number and hash.
    pub audit_retained: Vec<(u64, String)>,
    /// The payments log segments that retention records say were emptied or compacted.
    pub payments_retained: std::collections::HashSet<String>,
    /// The last record.
    pub last: Option<AuditRecord>,
    /// Length of the active file's complete records; a torn last line after it was a crash.
    pub good_len: u64,
    /// Why the last line was torn, if it was.
    pub torn: Option<String>,
    /// `(seq, position)` of the decision records with `seq` above the asked-for one.
    pub decisions: Vec<(u64, u64)>,
    /// SHA-256 of every snapshot the log records having written, oldest first.
    pub snapshots: Vec<String>,
    /// The highest log sequence number any record names.
    pub max_seq: u64,
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

/// The highest sequence number among the records in the last few megabytes of an audit log
/// (of its newest sealed segment when the active file names none), read without checking
/// anything (a hint for the replay, which runs while the chain is checked; the check
/// decides). 0 for a missing or empty log.
pub fn highest_seq_near_end(path: &Path) -> u64 {
    let found = highest_seq_near_end_of(path);
    if found > 0 {
        return found;
    }
    let sealed = crate::segments::list(path).unwrap_or_default();
    sealed.iter().rev().find(|s| !s.deleted).map_or(0, |s| highest_seq_near_end_of(&s.path))
}

/// The last few megabytes of a file, cut to whole lines (the first may be cut).
fn tail_of(path: &Path, bytes: u64) -> Vec<u8> {
    let Ok(f) = File::open(path) else { return Vec::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(bytes);
    let mut buf = vec![0u8; (len - start) as usize];
    if f.read_exact_at(&mut buf, start).is_err() {
        return Vec::new();
    }
    buf
}

fn highest_seq_near_end_of(path: &Path) -> u64 {
    #[derive(Deserialize)]
    struct SeqOnly {
        #[serde(default)]
        seq: Option<u64>,
    }
    // The first line may start before the window: it simply fails to parse.
    tail_of(path, 4 << 20)
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<SeqOnly>(l).ok().and_then(|r| r.seq))
        .max()
        .unwrap_or(0)
}

/// The last record of a (sealed) audit file, read from its end.
pub fn last_record(path: &Path) -> Result<AuditRecord, StoreError> {
    let tail = tail_of(path, 1 << 20);
    tail.split(|b| *b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .and_then(|l| serde_json::from_slice(l).ok())
        .ok_or_else(|| StoreError::Invalid { path: path.to_path_buf(), line: 0, message: "no last record".into() })
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

/// Where the chain stands between one file and the next.
struct Chain {
    /// The hash the next record must name; `None` before the first record still held, when
    /// the ones before it were deleted by retention.
    prev: Option<String>,
    /// The number the next record must have.
    next_n: u64,
    /// The first record still held after deleted ones: its number and the hash it names.
    start: Option<(u64, String)>,
    /// The last complete line read, for [`Checked::last`].
    last_line: Vec<u8>,
}

/// Check the chain of an audit log (its sealed segments, then the active file at `path`),
/// and that each anchor `(n, hash)` is in it. A last line of the active file that is
/// incomplete or not a record is reported as torn (a crash), not as an error; any other
/// broken line is an error naming it. Records deleted by retention (emptied segments, only
/// ever the oldest) must be named by a retention record that anchors the chain's new start.
/// Collects the positions of decision records with a sequence number above `decisions_after`.
pub fn check(path: &Path, decisions_after: u64, anchors: &[&Head]) -> Result<Checked, StoreError> {
    let sealed = crate::segments::list(path)?;
    let mut out = Checked::default();
    let mut chain = Chain { prev: Some(GENESIS.to_string()), next_n: 1, start: None, last_line: Vec::new() };
    let mut base = 0;
    for s in &sealed {
        let wrong = |message: String| StoreError::Invalid { path: s.path.clone(), line: 0, message };
        if s.deleted {
            if chain.next_n > 1 && chain.prev.is_some() {
                return Err(wrong(
                    "emptied while older records are still held: retention deletes only the oldest".into(),
                ));
            }
            chain.prev = None;
            chain.next_n = s.last + 1;
        } else {
            if chain.next_n != s.first {
                return Err(wrong(format!("starts at record {}, {} was expected", s.first, chain.next_n)));
            }
            let len = check_file(&s.path, s.base, false, decisions_after, anchors, &mut chain, &mut out)?;
            if chain.next_n != s.last + 1 || len != s.end - s.base {
                return Err(wrong(format!(
                    "holds records {} to {} in {len} bytes, its name says {} to {} in {} bytes",
                    s.first,
                    chain.next_n - 1,
                    s.first,
                    s.last,
                    s.end - s.base
                )));
            }
        }
        base = s.end;
    }
    out.base = base;
    out.first_in_file = Some(chain.next_n);
    out.good_len = check_file(path, base, true, decisions_after, anchors, &mut chain, &mut out)?;
    if chain.next_n == out.first_in_file.unwrap_or(0) {
        out.first_in_file = None;
    }
    out.records = chain.next_n - 1;
    if out.records > 0 && !chain.last_line.is_empty() {
        out.last = serde_json::from_slice(&chain.last_line).ok();
    }
    let deleted = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: 0, message };
    match (&chain.start, &chain.prev) {
        (Some((n, prev)), _) => {
            if !out.audit_retained.iter().any(|(through, hash)| through + 1 == *n && hash == prev) {
                return Err(deleted(format!(
                    "records 1 to {} are gone, and no retention record in the log says they were deleted (with the hash of record {})",
                    n - 1,
                    n - 1
                )));
            }
        }
        (None, None) => {
            return Err(deleted(format!("records 1 to {} were deleted and no record is left to say so", out.records)))
        }
        (None, Some(_)) => {}
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

/// Check one file of the chain, continuing `chain`; returns the length of its complete
/// records. Only the active file (`active`) may end in a torn line.
fn check_file(
    path: &Path,
    base: u64,
    active: bool,
    decisions_after: u64,
    anchors: &[&Head],
    chain: &mut Chain,
    out: &mut Checked,
) -> Result<u64, StoreError> {
    let io = StoreError::io(path);
    let f = File::open(path).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut line = Vec::new();
    let mut offset = 0u64;
    let mut ln = 0u64;
    loop {
        line.clear();
        let read = r.read_until(b'\n', &mut line).map_err(io)?;
        if read == 0 {
            break;
        }
        ln += 1;
        let broken = |message: String| StoreError::Invalid { path: path.to_path_buf(), line: ln, message };
        let complete = line.last() == Some(&b'\n');
        let rec = if complete { RawRecord::read(&line) } else { None };
        let Some(rec) = rec else {
            // Only the very last line may be torn; anything after it means damage.
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).map_err(io)?;
            let why = if complete { "not an audit record" } else { "an incomplete last line" };
            if rest.is_empty() && active {
                out.torn = Some(format!("{why} (a write cut short by a crash)"));
                break;
            }
            return Err(broken(format!("{why}, with more records after it")));
        };
        if rec.n != chain.next_n {
            return Err(broken(format!(
                "record number {} where {} was expected (a line was removed or inserted)",
                rec.n, chain.next_n
            )));
        }
        match &chain.prev {
            None => chain.start = Some((rec.n, rec.prev.to_string())),
            Some(p) if *p != rec.prev => {
                return Err(broken("`prev` does not match the previous record's hash".into()));
            }
            Some(_) => {}
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
                out.decisions.push((seq, base + offset));
            }
        } else if rec.kind == "admin" {
            admin_record(rec.data, out);
        }
        out.max_seq = out.max_seq.max(rec.seq.unwrap_or(0));
        // The buffer is reused: this runs for every record of the log at each start.
        let prev = chain.prev.get_or_insert_with(String::new);
        prev.clear();
        prev.push_str(&rec.hash);
        chain.next_n += 1;
        chain.last_line.clear();
        chain.last_line.extend_from_slice(&line);
        offset += read as u64;
    }
    Ok(offset)
}

/// What an admin record tells the check: a snapshot written, or records deleted by retention.
fn admin_record(data: &str, out: &mut Checked) {
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    match data["action"].as_str() {
        Some("snapshot") => {
            if let Some(sha) = data["sha256"].as_str() {
                out.snapshots.push(sha.to_string());
            }
        }
        Some("retention") => {
            let a = &data["audit_log"];
            if let (Some(n), Some(hash)) = (a["deleted_through_record"].as_u64(), a["last_deleted_hash"].as_str()) {
                out.audit_retained.push((n, hash.to_string()));
            }
            let p = &data["payments_log"];
            let names = p["segments"].as_array().into_iter().flatten().filter_map(|v| v.as_str());
            let compacted = p["compacted"].as_array().into_iter().flatten().filter_map(|v| v["segment"].as_str());
            out.payments_retained.extend(names.chain(compacted).map(String::from));
        }
        _ => {}
    }
}

/// Ranges of log positions (first, last).
type Ranges = Vec<(u64, u64)>;

/// Payments log segments emptied or compacted without a retention record that names them;
/// and the ranges of log positions whose payments retention deleted (all or some of them).
fn retention_problems(wal: &Path, c: &Checked) -> Result<(Vec<String>, Ranges), StoreError> {
    let (mut problems, mut ranges) = (Vec::new(), Vec::new());
    for s in crate::segments::list(wal)?.iter().filter(|s| s.deleted || s.kept.is_some()) {
        if c.payments_retained.contains(&s.name()) {
            ranges.push((s.first, s.last));
        } else {
            problems.push(format!(
                "{}: {}, but no retention record in the audit log deletes payments log entries {} to {}",
                s.path.display(),
                if s.deleted { "emptied" } else { "compacted" },
                s.first,
                s.last
            ));
        }
    }
    Ok((problems, ranges))
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
        let audit_files = crate::segments::files(path).map_err(|e| vec![e.to_string()])?;
        for file in &audit_files {
            let f = File::open(file).map_err(|e| vec![format!("{}: {e}", file.display())])?;
            for (i, line) in BufReader::new(f).lines().enumerate() {
                // A torn last line is reported above; the chain was checked.
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
                    problems.push(format!(
                        "{}, line {}: a second decision for log position {seq}",
                        file.display(),
                        i + 1
                    ));
                }
            }
        }
        let (found, deleted_ranges) = retention_problems(wal, &c).map_err(|e| vec![e.to_string()])?;
        problems.extend(found);
        // Decisions deleted by retention: the payments up to here may have none left.
        let decisions_gone = crate::segments::decisions_deleted_through(path).map_err(|e| vec![e.to_string()])?;
        for e in &entries {
            let crate::wal::Logged::Payment(p) = e else { continue };
            payments += 1;
            match decided.remove(&p.seq) {
                None if p.seq <= decisions_gone => {}
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
        // Payments deleted by retention: their decisions may outlive them.
        let mut orphans: Vec<u64> =
            decided.into_keys().filter(|seq| !deleted_ranges.iter().any(|(a, b)| (a..=b).contains(&seq))).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;

    /// The one-pass reader of the check reads records as serde does.
    #[test]
    fn the_quick_record_reader_agrees_with_serde() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let (mut a, _) = AuditLog::open(&p, 0, &[]).unwrap();
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
}
