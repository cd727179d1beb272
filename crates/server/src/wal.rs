//! The write-ahead log of accepted payments: one canonical JSON object per line, with a
//! sequence number, appended and fsynced before the payment is processed or answered.
//!
//! Besides payments, the log holds the other events that change the engine's state from
//! outside the payment stream (seeds: [`SeedEntry`]), in the order they were applied, so
//! that replaying the log reproduces the state exactly.
//!
//! Group commit: the core appends a whole batch of payments and syncs once, so throughput
//! survives the fsync. A crash can leave a torn last line; opening the log drops it (that
//! payment was never acknowledged) and truncates the file to the last complete line.

use crate::append::Appender;
use crate::StoreError;
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

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

    /// A line as the log holds it: a payment (the common case, tried first) or a seed event.
    fn parse(line: &[u8]) -> Result<Logged, serde_json::Error> {
        match serde_json::from_slice::<LogEntry>(line) {
            Ok(e) => Ok(Logged::Payment(e)),
            Err(payment_error) => match serde_json::from_slice::<SeedEntry>(line) {
                Ok(e) => Ok(Logged::Seed(e)),
                Err(_) => Err(payment_error),
            },
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
    /// Open (or create) the log and return every complete entry in it.
    pub fn open(path: &Path) -> Result<(Wal, Vec<Logged>), StoreError> {
        let io = StoreError::io(path);
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let mut entries = Vec::new();
        let mut good_len = 0u64;
        {
            let mut r = BufReader::new(&file);
            let mut line = Vec::new();
            let mut n = 0u64;
            loop {
                line.clear();
                let read = r.read_until(b'\n', &mut line).map_err(io)?;
                if read == 0 {
                    break;
                }
                n += 1;
                if line.last() != Some(&b'\n') {
                    // A torn write at the end: never acknowledged, dropped.
                    tracing::warn!(line = n, "dropping an incomplete last log line");
                    break;
                }
                let e = Logged::parse(&line).map_err(|e| StoreError::Invalid {
                    path: path.to_path_buf(),
                    line: n,
                    message: e.to_string(),
                })?;
                entries.push(e);
                good_len += read as u64;
            }
        }
        let len = file.metadata().map_err(io)?.len();
        if len != good_len {
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let next_seq = entries.last().map(|e| e.seq() + 1).unwrap_or(1);
        Ok((Wal { out: Appender::new(file, path)?, next_seq, buf: Vec::with_capacity(1 << 16) }, entries))
    }

    /// The sequence number the next payment will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Append a batch and make it durable with one sync (group commit). On failure nothing
    /// of the batch stays in the log and its sequence numbers are handed out again.
    pub fn append(&mut self, txns: &[&Transaction]) -> Result<Vec<u64>, StoreError> {
        self.buf.clear();
        let first = self.next_seq;
        for (i, t) in txns.iter().enumerate() {
            let e = LogEntry::from_txn(first + i as u64, t);
            serde_json::to_writer(&mut self.buf, &e).map_err(|e| StoreError::io(self.out.path())(e.into()))?;
            self.buf.push(b'\n');
        }
        self.out.write_synced(&self.buf)?;
        self.next_seq = first + txns.len() as u64;
        Ok((first..self.next_seq).collect())
    }

    /// Append a seed event and make it durable; returns it with its sequence number.
    pub fn append_seed(&mut self, mut entry: SeedEntry) -> Result<SeedEntry, StoreError> {
        entry.seq = self.next_seq;
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &entry).map_err(|e| StoreError::io(self.out.path())(e.into()))?;
        self.buf.push(b'\n');
        self.out.write_synced(&self.buf)?;
        self.next_seq += 1;
        Ok(entry)
    }
}
