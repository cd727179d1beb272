//! The payments log's tail as the replay at start reads it: each payment in place, borrowing
//! its line, with a one-pass reader for lines as the service writes them.

use super::entry::{bad, not_an_entry, EntryError, SeedEntry, SUM_KEY, SUM_TAIL};
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp};
use serde::Deserialize;

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
    pub(super) fn quick(line: &'a [u8]) -> Option<LoggedPayment<'a>> {
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

    /// Its sender's account id as logged.
    pub fn sender_id(&self) -> &str {
        &self.sender_id
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
                Err(_) => Err(not_an_entry(&payment_error)),
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
