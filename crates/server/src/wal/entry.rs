//! One line of the payments log: the payment or seed event it holds, its checksum, and the
//! record digest that ties a payment to its decision in the audit log.

use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What closes a line's checksum: `,"sum":"` + 16 hex digits + `"}`.
pub(super) const SUM_KEY: &[u8] = b",\"sum\":\"";
pub(super) const SUM_TAIL: usize = SUM_KEY.len() + 16 + 2;

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
    pub(super) fn check_only(line: &[u8]) -> Result<Option<(u64, bool)>, String> {
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
    pub(super) fn parse(line: &[u8]) -> Result<Logged, String> {
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
                Err(_) => Err(not_an_entry(&payment_error)),
            },
        }
    }
}

/// Why a line is not a log entry: the error's category and column only, since serde's
/// message can quote the line's values.
pub(super) fn not_an_entry(e: &serde_json::Error) -> String {
    format!("not a log entry ({:?} error at column {})", e.classify(), e.column())
}

/// The checksum of a line's content (everything before `,"sum"`, without the closing `}`):
/// 16 hex digits.
pub(super) fn line_sum(content: &[u8]) -> [u8; 16] {
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
pub(super) fn write_line<T: Serialize>(buf: &mut Vec<u8>, entry: &T) -> Result<String, serde_json::Error> {
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
pub(super) fn bad<E: std::fmt::Display>(field: &'static str) -> impl Fn(E) -> EntryError {
    move |e| EntryError { field, message: e.to_string() }
}
