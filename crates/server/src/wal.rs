//! The write-ahead log of accepted payments: one canonical JSON object per line, with a
//! sequence number, appended and fsynced before the payment is processed or answered.
//!
//! Besides payments, the log holds the other events that change the engine's state from
//! outside the payment stream (seeds: [`SeedEntry`]), in the order they were applied, so
//! that replaying the log reproduces the state exactly.
//!
//! Group commit: the core appends a whole batch of payments and syncs once, so throughput
//! survives the fsync.
//!
//! Every line ends with `"sum"`: the first 8 bytes of the SHA-256 of the line without it, in
//! hex. A line whose sum does not match was changed or damaged: in the middle of the log that
//! stops the start, naming the line; as the very last line (or a last line without its
//! newline) it is a write cut short by a crash, never acknowledged, and is cut back and
//! reported. Lines of the previous version, without a sum, are read as before.
//!
//! Each payment also has a record digest ([`record_digest`]): the SHA-256 of its canonical
//! record without the sequence number. Its decision's audit record carries it, so a retry can
//! be told from a different payment under the same id, and `audit verify` can check every
//! logged payment against its decision.

mod entry;
mod replay;

pub use entry::{record_digest, EntryError, LogEntry, Logged, SeedEntry};
pub use replay::{LoggedPayment, Replayed};

use crate::append::Appender;
use crate::segments::Segment;
use crate::StoreError;
use entry::write_line;
use osecwatch_model::Transaction;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// A log opened at start.
pub struct Opened {
    /// The log, open for appending.
    pub wal: Wal,
    /// Entries after the position asked for (handed to the replay).
    pub tail_entries: u64,
    /// A torn last line that was cut back, described.
    pub cut: Option<String>,
    /// The last entry's sequence number (0: empty).
    pub last_seq: u64,
    /// The first sequence number the log still holds (earlier ones were deleted by
    /// retention); `last_seq + 1` when it holds none.
    pub first_seq: u64,
    /// Payments in the whole log.
    pub payments: u64,
}

/// The write-ahead log of accepted payments (JSON lines, group commit).
pub struct Wal {
    out: Appender,
    next_seq: u64,
    buf: Vec<u8>,
    /// The first and last sequence numbers in the active file, if it holds any.
    first_in_file: Option<u64>,
    last_in_file: u64,
    /// When the active file was started (UTC seconds), for sealing by age.
    started: i64,
}

/// What reading one file of the log found.
#[derive(Default)]
struct FileRead {
    first: Option<u64>,
    last: u64,
    entries: u64,
    payments: u64,
    tail_entries: u64,
    good_len: u64,
    cut: Option<String>,
}

/// Read one file of the log, checking every line and handing those after `keep_after` to
/// `replay`. Only the active file (`active`) may end in a torn line, which is reported in
/// [`FileRead::cut`]; anywhere else a damaged line is an error naming it.
fn read_file<E: From<StoreError>>(
    path: &Path,
    file: &std::fs::File,
    keep_after: u64,
    active: bool,
    replay: &mut impl FnMut(&[u8]) -> Result<bool, E>,
) -> Result<FileRead, E> {
    let io = StoreError::io(path);
    let mut out = FileRead::default();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = r.read_until(b'\n', &mut line).map_err(io)?;
        if read == 0 {
            break;
        }
        n += 1;
        let read_line = || -> Result<(u64, bool), String> {
            if line.last() != Some(&b'\n') {
                return Err("an incomplete last line".to_string());
            }
            match Logged::check_only(&line)? {
                Some(found) => Ok(found),
                None => Logged::parse(&line).map(|e| (e.seq(), matches!(e, Logged::Payment(_)))),
            }
        };
        match read_line() {
            Ok((seq, payment)) => {
                if !active && seq <= out.last {
                    let message = format!("entry {seq} after entry {}: out of order", out.last);
                    return Err(StoreError::Invalid { path: path.to_path_buf(), line: n, message }.into());
                }
                out.first.get_or_insert(seq);
                out.last = seq;
                out.entries += 1;
                out.payments += payment as u64;
                if seq > keep_after {
                    out.tail_entries += 1;
                    replay(line.strip_suffix(b"\n").unwrap_or(&line))?;
                }
            }
            Err(message) => {
                let mut rest = Vec::new();
                std::io::Read::read_to_end(&mut r, &mut rest).map_err(io)?;
                if !rest.is_empty() || !active {
                    return Err(StoreError::Invalid { path: path.to_path_buf(), line: n, message }.into());
                }
                // A write cut short by a crash: never acknowledged, dropped.
                tracing::warn!(line = n, "payments log: {message} at the end; cut back (a crash)");
                out.cut = Some(format!("line {n}: {message}; cut back as a write cut short by a crash"));
                break;
            }
        }
        out.good_len += read as u64;
    }
    Ok(out)
}

impl Wal {
    /// Open (or create) the log: every line's checksum is checked (lines without one, of
    /// the previous version, are read in full instead), and the part after `keep_after` (the
    /// snapshot's position) is located for [`Tail::read`]; nothing is kept in memory. A torn
    /// last line (no newline, or a checksum that fails at the very end) is cut back and
    /// described in [`Opened::cut`]; a damaged line anywhere else is an error naming it.
    pub fn open(path: &Path, keep_after: u64) -> Result<Opened, StoreError> {
        Wal::open_replaying(path, keep_after, |_| Ok::<bool, StoreError>(true))
    }

    /// [`Wal::open`], handing each checked line after `keep_after` (without its newline) to
    /// `replay` as it goes, so that a start reads its log once: the checksums and the replay
    /// in one pass. The sealed segments come first, oldest first (see [`crate::segments`]).
    /// A damaged line in the middle is an error after part of the tail was handed over, so
    /// nothing may be committed before this returns.
    pub fn open_replaying<E: From<StoreError>>(
        path: &Path,
        keep_after: u64,
        mut replay: impl FnMut(&[u8]) -> Result<bool, E>,
    ) -> Result<Opened, E> {
        let io = StoreError::io(path);
        let sealed = crate::segments::list(path)?;
        let (mut last_seq, mut payments, mut tail_entries, mut first_seq) = (0, 0, 0, None);
        for s in &sealed {
            if !s.deleted {
                let f = std::fs::File::open(&s.path).map_err(StoreError::io(&s.path))?;
                let got = read_file(&s.path, &f, keep_after, false, &mut replay)?;
                // A compacted segment holds some of its range's entries, as many as its name says.
                let fits = match s.kept {
                    None => (got.first, got.last) == (Some(s.first), s.last),
                    Some(k) => got.entries == k && got.first >= Some(s.first) && got.last <= s.last,
                };
                if !fits {
                    let message = format!(
                        "holds {} entries from {:?} to {}, its name says {} to {}{}",
                        got.entries,
                        got.first,
                        got.last,
                        s.first,
                        s.last,
                        s.kept.map(|k| format!(", {k} kept")).unwrap_or_default()
                    );
                    return Err(StoreError::Invalid { path: s.path.clone(), line: 0, message }.into());
                }
                payments += got.payments;
                tail_entries += got.tail_entries;
                first_seq.get_or_insert(got.first.unwrap_or(s.first));
            }
            last_seq = s.last;
        }
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let got = read_file(path, &file, keep_after, true, &mut replay)?;
        if got.first.is_some_and(|f| f <= last_seq) {
            let message = format!("its first entry is {:?}, the sealed segments end at {last_seq}", got.first);
            return Err(StoreError::Invalid { path: path.to_path_buf(), line: 1, message }.into());
        }
        last_seq = last_seq.max(got.last);
        payments += got.payments;
        tail_entries += got.tail_entries;
        let first_seq = first_seq.or(got.first).unwrap_or(last_seq + 1);
        tracing::info!(entries = last_seq, "payments log checked");
        let len = file.metadata().map_err(io)?.len();
        if len != got.good_len {
            file.set_len(got.good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        // The active file began when the last segment was sealed, or when it was created.
        let started = sealed.last().map(|s| s.sealed_at).or_else(|| {
            let created = file.metadata().and_then(|m| m.created()).ok()?;
            Some(created.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
        });
        let wal = Wal {
            out: Appender::new(file, path)?,
            next_seq: last_seq + 1,
            buf: Vec::with_capacity(1 << 16),
            first_in_file: got.first,
            last_in_file: got.last,
            started: started.unwrap_or_else(|| crate::core::wall_clock().utc),
        };
        Ok(Opened { wal, tail_entries, cut: got.cut, last_seq, first_seq, payments })
    }

    /// Seal the active file (see [`crate::segments`]) and start a new one, if it holds any
    /// entry and is at least `min_bytes` big or was started `min_age` seconds before `now`.
    /// Every entry in it is synced already.
    pub fn seal_if(&mut self, min_bytes: u64, min_age: i64, now: i64) -> Result<Option<Segment>, StoreError> {
        let Some(first) = self.first_in_file else { return Ok(None) };
        if self.out.len() < min_bytes && now - self.started < min_age {
            return Ok(None);
        }
        let path = self.out.path().to_path_buf();
        let last = self.last_in_file;
        let s = Segment {
            path: path.clone(),
            first,
            last,
            base: 0,
            end: 0,
            seq_through: last,
            sealed_at: now,
            deleted: false,
            kept: None,
        };
        let s = crate::segments::seal(&path, s)?;
        let file =
            OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(StoreError::io(&path))?;
        self.out = Appender::new(file, &path)?;
        self.first_in_file = None;
        self.started = now;
        Ok(Some(s))
    }

    /// Never hand out a sequence number at or below `seq` (one the audit log already names,
    /// after the log's end was lost or cut): numbers are never reused.
    pub fn skip_past(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// The active file.
    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// The sequence number the next payment will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Append a batch and make it durable with one sync (group commit); returns each
    /// payment's sequence number and record digest. On failure nothing of the batch stays in
    /// the log and its sequence numbers are handed out again.
    pub fn append(&mut self, txns: &[&Transaction]) -> Result<Vec<(u64, String)>, StoreError> {
        self.buf.clear();
        let first = self.next_seq;
        let mut out = Vec::with_capacity(txns.len());
        for (i, t) in txns.iter().enumerate() {
            let seq = first + i as u64;
            let digest = write_line(&mut self.buf, &LogEntry::from_txn(seq, t))
                .map_err(|e| StoreError::io(self.out.path())(e.into()))?;
            out.push((seq, digest));
        }
        self.out.write_synced(&self.buf)?;
        self.next_seq = first + txns.len() as u64;
        if !txns.is_empty() {
            self.first_in_file.get_or_insert(first);
            self.last_in_file = self.next_seq - 1;
        }
        Ok(out)
    }

    /// Append a seed event and make it durable; returns it with its sequence number.
    pub fn append_seed(&mut self, mut entry: SeedEntry) -> Result<SeedEntry, StoreError> {
        entry.seq = self.next_seq;
        self.buf.clear();
        write_line(&mut self.buf, &entry).map_err(|e| StoreError::io(self.out.path())(e.into()))?;
        self.out.write_synced(&self.buf)?;
        self.first_in_file.get_or_insert(self.next_seq);
        self.last_in_file = self.next_seq;
        self.next_seq += 1;
        Ok(entry)
    }
}

/// Read a log for checking it against the audit log: every entry of every file, failing on
/// any damaged line (a torn last line included: the server cuts it back at its next start).
pub fn read_all(path: &Path) -> Result<Vec<Logged>, StoreError> {
    let mut out = Vec::new();
    for file in crate::segments::files(path)? {
        let io = StoreError::io(&file);
        let f = std::fs::File::open(&file).map_err(io)?;
        for (i, line) in BufReader::with_capacity(1 << 16, f).split(b'\n').enumerate() {
            let line = line.map_err(io)?;
            let e = Logged::parse(&line).map_err(|message| StoreError::Invalid {
                path: file.clone(),
                line: i as u64 + 1,
                message,
            })?;
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::entry::write_line;
    use super::*;

    fn txn(id: &str, amount: &str) -> Transaction {
        let line = format!(
            r#"{{"txn_id":"{id}","timestamp":"2025-03-01T22:00:00+01:00","sender_id":"S1","sender_country":"DE","recipient_id":"R1","recipient_country":"PH","amount":"{amount}","currency":"EUR","channel":"mto"}}"#
        );
        let mut rows = Vec::new();
        struct V<'a>(&'a mut Vec<Transaction>);
        impl osecwatch_ingest::Visitor for V<'_> {
            fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
                self.0.push(row.to_owned_txn());
            }
            fn reject(&mut self, r: osecwatch_ingest::Rejection) {
                panic!("{}", r.reason);
            }
        }
        osecwatch_ingest::read_jsonl_from(Path::new("t"), line.as_bytes(), &mut V(&mut rows)).unwrap();
        rows.pop().unwrap()
    }

    /// The case feed reads payments' details backwards from the log's end, block by block:
    /// lines cut by a block boundary are read whole, every id is found, nothing else kept.
    #[test]
    fn the_case_feed_finds_payments_from_the_end_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payments.wal");
        let mut buf = Vec::new();
        for i in 0..300 {
            let mut t = txn(&format!("P{i:03}"), &format!("{}.00", 10 + i));
            t.reference = Some("x".repeat(i % 37));
            write_line(&mut buf, &LogEntry::from_txn(i as u64 + 1, &t)).unwrap();
        }
        std::fs::write(&path, &buf).unwrap();
        let want: std::collections::HashSet<String> =
            ["P000", "P001", "P150", "P298", "P299", "NOPE"].iter().map(|s| s.to_string()).collect();
        for block in [1, 97, 256, 4096, 1 << 20] {
            let got = crate::cases::payments_from_log(&path, &want, block);
            assert_eq!(got.len(), 5, "block {block}: {:?}", got.keys());
            assert_eq!(got["P150"].amount_minor, 16_000, "block {block}");
            assert_eq!(got["P000"].reference.as_deref(), None, "block {block}: an empty reference is none");
            assert_eq!(got["P299"].reference.as_deref().map(str::len), Some(299 % 37), "block {block}");
        }
        // Only the tail is read when the ids are recent: a block that holds them is enough.
        let recent: std::collections::HashSet<String> = ["P299".to_string()].into_iter().collect();
        assert_eq!(crate::cases::payments_from_log(&path, &recent, 4096).len(), 1);
    }

    /// The one-pass reader of the replay reads what serde reads, and leaves anything unusual
    /// (escapes, another key order) to serde.
    #[test]
    fn the_quick_replay_reader_agrees_with_serde() {
        let mut buf = Vec::new();
        let mut t = txn("Q1", "45.50");
        t.sender_name = Some("Anna Muster".into());
        t.reference = Some("school fees".into());
        t.merchant_category = Some(5967);
        write_line(&mut buf, &LogEntry::from_txn(7, &t)).unwrap();
        write_line(&mut buf, &LogEntry::from_txn(8, &txn("Q2", "1.00"))).unwrap();
        t.recipient_name = Some("Rosa \"Lim\"".into());
        write_line(&mut buf, &LogEntry::from_txn(9, &t)).unwrap();
        let lines: Vec<&[u8]> = buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        for (i, line) in lines.iter().enumerate() {
            let serde = serde_json::from_slice::<LoggedPayment>(line).unwrap();
            match LoggedPayment::quick(line) {
                Some(q) => assert_eq!(format!("{q:?}"), format!("{serde:?}"), "line {i}"),
                None => assert_eq!(i, 2, "only the line with escapes is left to serde"),
            }
            let row = serde.row().unwrap();
            assert_eq!(row.to_owned_txn().txn_id, ["Q1", "Q2", "Q1"][i]);
        }
        // An entry of the previous version (no sum) reads the same.
        let old = std::str::from_utf8(lines[1]).unwrap();
        let old = old[..old.find(",\"sum\"").unwrap()].to_string() + "}";
        assert_eq!(LoggedPayment::quick(old.as_bytes()).unwrap().seq, 8);
    }

    #[test]
    fn the_record_digest_is_the_canonical_record_without_its_position() {
        assert_eq!(record_digest(&txn("A", "45.0")), record_digest(&txn("A", "45.00")));
        assert_ne!(record_digest(&txn("A", "45.00")), record_digest(&txn("A", "45.01")));
        assert_ne!(record_digest(&txn("A", "45.00")), record_digest(&txn("B", "45.00")));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("payments.wal");
        let mut w = Wal::open(&p, 0).unwrap().wal;
        let got = w.append(&[&txn("A", "45.00"), &txn("B", "45.00")]).unwrap();
        assert_eq!(got[0], (1, record_digest(&txn("A", "45.0"))));
        assert_eq!(got[1].0, 2);
    }

    /// A changed line in the middle stops the start naming it; a damaged or torn last line is
    /// cut back; lines of the previous version (no sum) still read.
    #[test]
    fn checksums_find_a_changed_line_and_a_torn_end_is_cut_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("payments.wal");
        let mut w = Wal::open(&p, 0).unwrap().wal;
        for k in 0..5 {
            w.append(&[&txn(&format!("T{k}"), "20.00")]).unwrap();
        }
        drop(w);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.lines().all(|l| l.contains(",\"sum\":\"")));
        // Line 3's amount changed (the first three changed, the first two put back).
        let changed = text.replacen("\"amount\":\"20.00\"", "\"amount\":\"2000.00\"", 3);
        let changed = changed.replacen("\"amount\":\"2000.00\"", "\"amount\":\"20.00\"", 2);
        std::fs::write(&p, &changed).unwrap();
        let e = Wal::open(&p, 0).err().expect("a changed line must stop the start").to_string();
        // Also when the line is before a snapshot's position (only its checksum is read).
        let e2 = Wal::open(&p, 4).err().expect("a changed line must stop the start").to_string();
        assert!(e2.contains("line 3") && e2.contains("checksum"), "{e2}");
        assert!(e.contains("line 3") && e.contains("checksum"), "{e}");
        // The same change on the last line: a crash's torn write, cut back.
        let lines: Vec<&str> = text.lines().collect();
        let last = lines[4].replacen("20.00", "21.00", 1);
        std::fs::write(&p, format!("{}\n{last}\n", lines[..4].join("\n"))).unwrap();
        let o = Wal::open(&p, 0).unwrap();
        assert_eq!((o.tail_entries, o.wal.next_seq(), o.payments), (4, 5, 4));
        assert!(o.cut.unwrap().contains("line 5"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{}\n", lines[..4].join("\n")));
        // Half a line: cut back too.
        std::fs::write(&p, format!("{}\n{}", lines[..4].join("\n"), &lines[4][..40])).unwrap();
        let mut seqs = Vec::new();
        let o = Wal::open_replaying(&p, 2, |line| {
            seqs.push(Replayed::parse(line).unwrap().seq());
            Ok::<bool, StoreError>(true)
        })
        .unwrap();
        assert_eq!((seqs, o.tail_entries, o.last_seq), (vec![3, 4], 2, 4));
        assert!(o.cut.unwrap().contains("incomplete"));
        // The previous version's lines, without sums.
        let old: Vec<String> = lines.iter().map(|l| l[..l.find(",\"sum\"").unwrap()].to_string() + "}").collect();
        std::fs::write(&p, old.join("\n") + "\n").unwrap();
        let o = Wal::open(&p, 3).unwrap();
        assert_eq!((o.tail_entries, o.cut, o.payments), (2, None, 5));
        let mut w = o.wal;
        w.skip_past(9);
        assert_eq!(w.append(&[&txn("N", "1.00")]).unwrap()[0].0, 10);
    }
}
