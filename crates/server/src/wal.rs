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

use crate::append::Appender;
use crate::StoreError;
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// What closes a line's checksum: `,"sum":"` + 16 hex digits + `"}`.
const SUM_KEY: &[u8] = b",\"sum\":\"";
const SUM_TAIL: usize = SUM_KEY.len() + 16 + 2;

/// One log line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    /// Position in the log (1-based, no gaps).
    pub seq: u64,
    /// The payment's fields as the canonical record has them, as text.
    pub txn_id: String,
    /// Event time (RFC 3339).
    pub timestamp: String,
    /// Sender id.
    pub sender_id: String,
    /// Sender name (empty if unknown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sender_name: String,
    /// Sender country.
    pub sender_country: String,
    /// Recipient id.
    pub recipient_id: String,
    /// Recipient name (empty if unknown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recipient_name: String,
    /// Recipient country.
    pub recipient_country: String,
    /// Amount as a plain decimal.
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// Channel name.
    pub channel: String,
    /// Reference (empty if none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference: String,
    /// Merchant category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_category: Option<u16>,
}

impl LogEntry {
    /// The log entry for a payment at `seq`.
    pub fn from_txn(seq: u64, t: &Transaction) -> LogEntry {
        LogEntry {
            seq,
            txn_id: t.txn_id.clone(),
            timestamp: t.timestamp.to_rfc3339(),
            sender_id: t.sender_id.clone(),
            sender_name: t.sender_name.clone().unwrap_or_default(),
            sender_country: t.sender_country.to_string(),
            recipient_id: t.recipient_id.clone(),
            recipient_name: t.recipient_name.clone().unwrap_or_default(),
            recipient_country: t.recipient_country.to_string(),
            amount: t.amount.to_decimal_string(),
            currency: t.amount.currency.to_string(),
            channel: t.channel.as_str().to_string(),
            reference: t.reference.clone().unwrap_or_default(),
            merchant_category: t.merchant_category,
        }
    }

    /// Back to the canonical record (log lines were validated before they were written).
    pub fn to_txn(&self) -> Result<Transaction, EntryError> {
        let currency = CurrencyCode::parse(&self.currency).map_err(bad("currency"))?;
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Ok(Transaction {
            txn_id: self.txn_id.clone(),
            timestamp: Timestamp::parse_rfc3339(&self.timestamp).map_err(bad("timestamp"))?,
            sender_id: self.sender_id.clone(),
            sender_name: opt(&self.sender_name),
            sender_country: CountryCode::parse(&self.sender_country).map_err(bad("sender_country"))?,
            recipient_id: self.recipient_id.clone(),
            recipient_name: opt(&self.recipient_name),
            recipient_country: CountryCode::parse(&self.recipient_country).map_err(bad("recipient_country"))?,
            amount: Money::new(
                osecwatch_model::parse_decimal_minor(&self.amount, currency.exponent()).map_err(bad("amount"))?,
                currency,
            ),
            channel: Channel::parse(&self.channel).map_err(bad("channel"))?,
            reference: opt(&self.reference),
            merchant_category: self.merchant_category,
        })
    }
}

/// A logged seed event: applied at `at` (the engine's event time when it arrived, so it
/// sits between the payments it came between), on behalf of `actor` (a token name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeedEntry {
    /// Position in the log (shared with payments).
    pub seq: u64,
    /// Event time it was applied at (RFC 3339).
    pub at: String,
    /// Wall-clock time it was received (RFC 3339), for the audit.
    pub received: String,
    /// The token that sent it.
    pub actor: String,
    /// The change.
    pub seed: osecwatch_engine::SeedEvent,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Logged {
    /// A payment.
    Payment(LogEntry),
    /// A seed event.
    Seed(SeedEntry),
}

impl Logged {
    /// Its position in the log.
    pub fn seq(&self) -> u64 {
        match self {
            Logged::Payment(e) => e.seq,
            Logged::Seed(e) => e.seq,
        }
    }

    /// A line's sequence number and whether it is a payment, without reading it in full;
    /// its checksum, if it has one, must match. `None` if the line does not start the usual
    /// way (it is then read in full).
    fn check_only(line: &[u8]) -> Result<Option<(u64, bool)>, String> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.len() > SUM_TAIL && body[body.len() - SUM_TAIL..].starts_with(SUM_KEY) {
            let (content, tail) = body.split_at(body.len() - SUM_TAIL);
            if line_sum(content) != tail[SUM_KEY.len()..SUM_KEY.len() + 16] {
                return Err("checksum does not match the line (it was changed or damaged)".into());
            }
        }
        let Some(rest) = body.strip_prefix(b"{\"seq\":".as_slice()) else { return Ok(None) };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq = std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok());
        Ok(seq.map(|seq| (seq, rest[digits..].starts_with(b",\"txn_id\":"))))
    }

    /// A line as the log holds it: a payment (the common case, tried first) or a seed event.
    /// The line's checksum, if it has one, must match.
    fn parse(line: &[u8]) -> Result<Logged, String> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.len() > SUM_TAIL && body[body.len() - SUM_TAIL..].starts_with(SUM_KEY) {
            let (content, tail) = body.split_at(body.len() - SUM_TAIL);
            let want = &tail[SUM_KEY.len()..SUM_KEY.len() + 16];
            if line_sum(content) != want {
                return Err("checksum does not match the line (it was changed or damaged)".into());
            }
        }
        Logged::parse_checked_before(line)
    }

    /// [`Logged::parse`] of a line whose checksum was already checked.
    fn parse_checked_before(line: &[u8]) -> Result<Logged, String> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        match serde_json::from_slice::<LogEntry>(body) {
            Ok(e) => Ok(Logged::Payment(e)),
            Err(payment_error) => match serde_json::from_slice::<SeedEntry>(body) {
                Ok(e) => Ok(Logged::Seed(e)),
                // Category and column only: serde's message can quote the line's values.
                Err(_) => Err(format!(
                    "not a log entry ({:?} error at column {})",
                    payment_error.classify(),
                    payment_error.column()
                )),
            },
        }
    }
}

/// The checksum of a line's content (everything before `,"sum"`, without the closing `}`):
/// 16 hex digits.
fn line_sum(content: &[u8]) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(content);
    h.update(b"}");
    let d = h.finalize();
    let mut out = [0u8; 16];
    hex::encode_to_slice(&d[..8], &mut out).expect("16 hex digits for 8 bytes");
    out
}

/// Append `entry` as one checksummed line to `buf`; returns the record digest of its content
/// without the sequence number (for payments).
fn write_line<T: Serialize>(buf: &mut Vec<u8>, entry: &T) -> Result<String, serde_json::Error> {
    let start = buf.len();
    serde_json::to_writer(&mut *buf, entry)?;
    let digest = content_digest(&buf[start..]);
    buf.pop(); // the closing brace, written again after the sum
    let sum = line_sum(&buf[start..]);
    buf.extend_from_slice(SUM_KEY);
    buf.extend_from_slice(&sum);
    buf.extend_from_slice(b"\"}\n");
    Ok(digest)
}

/// The digest of a serialised entry without its leading `"seq":N,`: 32 hex digits.
fn content_digest(json: &[u8]) -> String {
    let after_seq = json.iter().position(|b| *b == b',').map(|i| &json[i + 1..]).unwrap_or(json);
    hex::encode(&Sha256::digest(after_seq)[..16])
}

/// The record digest of a payment: what its decision's audit record carries. Two payments
/// with the same canonical record (after parsing: `45.0` and `45.00` are one amount) have the
/// same digest, whatever their sequence numbers.
pub fn record_digest(t: &Transaction) -> String {
    let json = serde_json::to_vec(&LogEntry::from_txn(0, t)).expect("a log entry always serialises");
    content_digest(&json)
}

/// A log opened at start.
pub struct Opened {
    /// The log, open for appending.
    pub wal: Wal,
    /// The entries after the position asked for, to be read again.
    pub tail: Tail,
    /// A torn last line that was cut back, described.
    pub cut: Option<String>,
    /// The last entry's sequence number (0: empty).
    pub last_seq: u64,
    /// Payments in the whole log.
    pub payments: u64,
}

/// The part of the log after a snapshot's position, checked by [`Wal::open`], read again
/// entry by entry for the replay, so that the log's tail is never held in memory at once.
pub struct Tail {
    path: std::path::PathBuf,
    start: Option<u64>,
    end: u64,
    /// Entries in it.
    pub entries: u64,
}

impl Tail {
    /// Hand every line of the tail (without its newline) to `f`, in order, until `f` answers
    /// false. Their checksums were checked when the log was opened.
    pub fn read<E: From<StoreError>>(&self, mut f: impl FnMut(&[u8]) -> Result<bool, E>) -> Result<(), E> {
        let Some(start) = self.start else { return Ok(()) };
        let io = StoreError::io(&self.path);
        let mut file = std::fs::File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut r = BufReader::with_capacity(1 << 20, std::io::Read::take(file, self.end - start));
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).map_err(io)? == 0 {
                return Ok(());
            }
            if !f(line.strip_suffix(b"\n").unwrap_or(&line))? {
                return Ok(());
            }
        }
    }
}

/// A logged payment read in place (borrowing the line), for the replay: no allocation for a
/// payment of the usual shape.
#[derive(Debug, Deserialize)]
pub struct LoggedPayment<'a> {
    /// Position in the log.
    pub seq: u64,
    #[serde(borrow)]
    txn_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sender_id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    sender_name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sender_country: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    recipient_id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    recipient_name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    recipient_country: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    amount: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    currency: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    channel: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    reference: std::borrow::Cow<'a, str>,
    #[serde(default)]
    merchant_category: Option<u16>,
}

impl<'a> LoggedPayment<'a> {
    /// A payment line exactly as [`Wal::append`] writes it (keys in order, optional ones
    /// left out when empty, no escapes in its strings), read in one pass; `None` for anything
    /// else, which serde reads. Replaying a long tail is mostly this.
    fn quick(line: &'a [u8]) -> Option<LoggedPayment<'a>> {
        use std::borrow::Cow::Borrowed;
        let mut at = line.strip_prefix(b"{\"seq\":")?;
        let digits = at.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq = std::str::from_utf8(&at[..digits]).ok()?.parse().ok()?;
        at = &at[digits..];
        // `,"key":"value"`, the value without quotes or escapes.
        let mut text = |key: &[u8]| -> Option<&'a str> {
            let rest = at.strip_prefix(b",\"")?.strip_prefix(key)?.strip_prefix(b"\":\"")?;
            let end = memchr::memchr2(b'"', b'\\', rest)?;
            if rest[end] != b'"' {
                return None;
            }
            at = &rest[end + 1..];
            std::str::from_utf8(&rest[..end]).ok()
        };
        let txn_id = text(b"txn_id")?;
        let timestamp = text(b"timestamp")?;
        let sender_id = text(b"sender_id")?;
        let sender_name = text(b"sender_name");
        let sender_country = text(b"sender_country")?;
        let recipient_id = text(b"recipient_id")?;
        let recipient_name = text(b"recipient_name");
        let recipient_country = text(b"recipient_country")?;
        let amount = text(b"amount")?;
        let currency = text(b"currency")?;
        let channel = text(b"channel")?;
        let reference = text(b"reference");
        let mut merchant_category = None;
        if let Some(rest) = at.strip_prefix(b",\"merchant_category\":") {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            merchant_category = Some(std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?);
            at = &rest[digits..];
        }
        if !(at == b"}" || (at.starts_with(SUM_KEY) && at.len() == SUM_TAIL)) {
            return None;
        }
        Some(LoggedPayment {
            seq,
            txn_id: Borrowed(txn_id),
            timestamp: Borrowed(timestamp),
            sender_id: Borrowed(sender_id),
            sender_name: Borrowed(sender_name.unwrap_or_default()),
            sender_country: Borrowed(sender_country),
            recipient_id: Borrowed(recipient_id),
            recipient_name: Borrowed(recipient_name.unwrap_or_default()),
            recipient_country: Borrowed(recipient_country),
            amount: Borrowed(amount),
            currency: Borrowed(currency),
            channel: Borrowed(channel),
            reference: Borrowed(reference.unwrap_or_default()),
            merchant_category,
        })
    }

    /// The payment as the engine reads it (log lines were validated before they were written).
    pub fn row(&self) -> Result<osecwatch_model::TxnRow<'_>, EntryError> {
        let currency = CurrencyCode::parse(&self.currency).map_err(bad("currency"))?;
        Ok(osecwatch_model::TxnRow {
            txn_id: &self.txn_id,
            timestamp: Timestamp::parse_rfc3339(&self.timestamp).map_err(bad("timestamp"))?,
            sender_id: &self.sender_id,
            sender_name: &self.sender_name,
            sender_country: CountryCode::parse(&self.sender_country).map_err(bad("sender_country"))?,
            recipient_id: &self.recipient_id,
            recipient_name: &self.recipient_name,
            recipient_country: CountryCode::parse(&self.recipient_country).map_err(bad("recipient_country"))?,
            amount: Money::new(
                osecwatch_model::parse_decimal_minor(&self.amount, currency.exponent()).map_err(bad("amount"))?,
                currency,
            ),
            channel: Channel::parse(&self.channel).map_err(bad("channel"))?,
            reference: &self.reference,
            merchant_category: self.merchant_category,
        })
    }

    /// Its event time as logged (RFC 3339).
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }
}

/// A line of the log's tail read for the replay: a payment in place, or a seed event.
pub enum Replayed<'a> {
    /// A payment.
    Payment(LoggedPayment<'a>),
    /// A seed event.
    Seed(SeedEntry),
}

impl Replayed<'_> {
    /// A line (checksum already checked) read for the replay.
    pub fn parse(line: &[u8]) -> Result<Replayed<'_>, String> {
        if let Some(p) = LoggedPayment::quick(line) {
            return Ok(Replayed::Payment(p));
        }
        match serde_json::from_slice::<LoggedPayment>(line) {
            Ok(p) => Ok(Replayed::Payment(p)),
            Err(payment_error) => match serde_json::from_slice::<SeedEntry>(line) {
                Ok(e) => Ok(Replayed::Seed(e)),
                Err(_) => Err(format!(
                    "not a log entry ({:?} error at column {})",
                    payment_error.classify(),
                    payment_error.column()
                )),
            },
        }
    }

    /// Its position in the log.
    pub fn seq(&self) -> u64 {
        match self {
            Replayed::Payment(p) => p.seq,
            Replayed::Seed(s) => s.seq,
        }
    }
}

/// A logged payment that no longer reads as a canonical record.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EntryError {
    /// The field that does not parse.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

/// The error for a field of a logged payment that does not parse.
fn bad<E: std::fmt::Display>(field: &'static str) -> impl Fn(E) -> EntryError {
    move |e| EntryError { field, message: e.to_string() }
}

/// The write-ahead log of accepted payments (JSON lines, group commit).
pub struct Wal {
    out: Appender,
    next_seq: u64,
    buf: Vec<u8>,
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
    /// in one pass. A damaged line in the middle is an error after part of the tail was
    /// handed over, so nothing may be committed before this returns.
    pub fn open_replaying<E: From<StoreError>>(
        path: &Path,
        keep_after: u64,
        mut replay: impl FnMut(&[u8]) -> Result<bool, E>,
    ) -> Result<Opened, E> {
        let io = StoreError::io(path);
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let (mut cut, mut last_seq, mut payments) = (None, 0, 0);
        let mut tail = Tail { path: path.to_path_buf(), start: None, end: 0, entries: 0 };
        let mut good_len = 0u64;
        {
            let mut r = BufReader::with_capacity(1 << 16, &file);
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
                        last_seq = seq;
                        payments += payment as u64;
                        if seq > keep_after {
                            tail.start.get_or_insert(good_len);
                            tail.entries += 1;
                            replay(line.strip_suffix(b"\n").unwrap_or(&line))?;
                        }
                    }
                    Err(message) => {
                        let mut rest = Vec::new();
                        std::io::Read::read_to_end(&mut r, &mut rest).map_err(io)?;
                        if !rest.is_empty() {
                            return Err(StoreError::Invalid { path: path.to_path_buf(), line: n, message }.into());
                        }
                        // A write cut short by a crash: never acknowledged, dropped.
                        tracing::warn!(line = n, "payments log: {message} at the end; cut back (a crash)");
                        cut = Some(format!("line {n}: {message}; cut back as a write cut short by a crash"));
                        break;
                    }
                }
                good_len += read as u64;
            }
        }
        tail.end = good_len;
        tracing::info!(entries = last_seq, "payments log checked");
        let len = file.metadata().map_err(io)?.len();
        if len != good_len {
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let wal = Wal { out: Appender::new(file, path)?, next_seq: last_seq + 1, buf: Vec::with_capacity(1 << 16) };
        Ok(Opened { wal, tail, cut, last_seq, payments })
    }

    /// Never hand out a sequence number at or below `seq` (one the audit log already names,
    /// after the log's end was lost or cut): numbers are never reused.
    pub fn skip_past(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq + 1);
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
        Ok(out)
    }

    /// Append a seed event and make it durable; returns it with its sequence number.
    pub fn append_seed(&mut self, mut entry: SeedEntry) -> Result<SeedEntry, StoreError> {
        entry.seq = self.next_seq;
        self.buf.clear();
        write_line(&mut self.buf, &entry).map_err(|e| StoreError::io(self.out.path())(e.into()))?;
        self.out.write_synced(&self.buf)?;
        self.next_seq += 1;
        Ok(entry)
    }
}

/// Read a log for checking it against the audit log: every entry, failing on any damaged
/// line (a torn last line included: the server cuts it back at its next start).
pub fn read_all(path: &Path) -> Result<Vec<Logged>, StoreError> {
    let io = StoreError::io(path);
    let f = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, line) in BufReader::with_capacity(1 << 16, f).split(b'\n').enumerate() {
        let line = line.map_err(io)?;
        let e = Logged::parse(&line).map_err(|message| StoreError::Invalid {
            path: path.to_path_buf(),
            line: i as u64 + 1,
            message,
        })?;
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        assert_eq!((o.tail.entries, o.wal.next_seq(), o.payments), (4, 5, 4));
        assert!(o.cut.unwrap().contains("line 5"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{}\n", lines[..4].join("\n")));
        // Half a line: cut back too.
        std::fs::write(&p, format!("{}\n{}", lines[..4].join("\n"), &lines[4][..40])).unwrap();
        let o = Wal::open(&p, 2).unwrap();
        let mut seqs = Vec::new();
        o.tail
            .read(|line| -> Result<bool, StoreError> {
                seqs.push(Replayed::parse(line).unwrap().seq());
                Ok(true)
            })
            .unwrap();
        assert_eq!((seqs, o.last_seq), (vec![3, 4], 4));
        assert!(o.cut.unwrap().contains("incomplete"));
        // The previous version's lines, without sums.
        let old: Vec<String> = lines.iter().map(|l| l[..l.find(",\"sum\"").unwrap()].to_string() + "}").collect();
        std::fs::write(&p, old.join("\n") + "\n").unwrap();
        let o = Wal::open(&p, 3).unwrap();
        assert_eq!((o.tail.entries, o.cut, o.payments), (2, None, 5));
        let mut w = o.wal;
        w.skip_past(9);
        assert_eq!(w.append(&[&txn("N", "1.00")]).unwrap()[0].0, 10);
    }
}
