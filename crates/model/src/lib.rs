//! The canonical payment record of osecwatch and the small value types it is made of.
//!
//! Every input format converts into [`Transaction`] at the edge, and every output format is
//! written from it (or from its borrowed twin, [`TxnRow`]). The column contract is in
//! `shared/reference/formats.md` section 1 and in [`CANONICAL_COLUMNS`].
//!
//! Invariants this crate keeps:
//! - money is an integer number of minor units of its currency ([`Money`]); no floats;
//! - timestamps are a UTC instant plus the sender's local offset ([`Timestamp`]), so that
//!   time-of-day features can use local time while ordering uses the instant;
//! - country and currency codes are validated, fixed-size and `Copy`.
//!
//! This crate does no I/O and has no heavy dependencies, so every other crate can use it.

mod codes;
mod money;
mod time;

pub use codes::{Channel, CodeError, CountryCode, CurrencyCode, COUNTRY_SLOTS};
pub use money::{format_minor, parse_decimal_minor, plain_decimal_minor, Money, MoneyError};
pub use time::{civil_from_days, days_from_civil, Timestamp, TimestampError};

/// Column names of the canonical record, in the order osecwatch writes them.
pub const CANONICAL_COLUMNS: [&str; 13] = [
    "txn_id",
    "timestamp",
    "sender_id",
    "sender_name",
    "sender_country",
    "recipient_id",
    "recipient_name",
    "recipient_country",
    "amount",
    "currency",
    "channel",
    "reference",
    "merchant_category",
];

/// One payment in the canonical model, owning its strings.
///
/// Readers produce this; the engine interns its ids on arrival so the hot path does not
/// clone strings per event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The payment's unique id.
    pub txn_id: String,
    /// Event time, with the sender's local offset.
    pub timestamp: Timestamp,
    /// The sender's account or customer id.
    pub sender_id: String,
    /// The sender's name, if known.
    pub sender_name: Option<String>,
    /// The sender's country.
    pub sender_country: CountryCode,
    /// The recipient's account or wallet id.
    pub recipient_id: String,
    /// The recipient's name, if known.
    pub recipient_name: Option<String>,
    /// The recipient's country.
    pub recipient_country: CountryCode,
    /// Amount in minor units, with its currency.
    pub amount: Money,
    /// Payment channel.
    pub channel: Channel,
    /// Free-text reference, if any.
    pub reference: Option<String>,
    /// Merchant category (ISO 18245), for card payments.
    pub merchant_category: Option<u16>,
}

impl Transaction {
    /// Borrow this record as a row for the writers.
    pub fn as_row(&self) -> TxnRow<'_> {
        TxnRow {
            txn_id: &self.txn_id,
            timestamp: self.timestamp,
            sender_id: &self.sender_id,
            sender_name: self.sender_name.as_deref().unwrap_or(""),
            sender_country: self.sender_country,
            recipient_id: &self.recipient_id,
            recipient_name: self.recipient_name.as_deref().unwrap_or(""),
            recipient_country: self.recipient_country,
            amount: self.amount,
            channel: self.channel,
            reference: self.reference.as_deref().unwrap_or(""),
            merchant_category: self.merchant_category,
        }
    }
}

/// A canonical record that borrows its strings: what writers consume, so producers such as
/// the simulator can emit rows without allocating. Empty strings mean "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnRow<'a> {
    /// The payment's unique id.
    pub txn_id: &'a str,
    /// Event time, with the sender's local offset.
    pub timestamp: Timestamp,
    /// The sender's account or customer id.
    pub sender_id: &'a str,
    /// The sender's name (empty if unknown).
    pub sender_name: &'a str,
    /// The sender's country.
    pub sender_country: CountryCode,
    /// The recipient's account or wallet id.
    pub recipient_id: &'a str,
    /// The recipient's name (empty if unknown).
    pub recipient_name: &'a str,
    /// The recipient's country.
    pub recipient_country: CountryCode,
    /// Amount in minor units, with its currency.
    pub amount: Money,
    /// Payment channel.
    pub channel: Channel,
    /// Free-text reference (empty if none).
    pub reference: &'a str,
    /// Merchant category (ISO 18245), for card payments.
    pub merchant_category: Option<u16>,
}

impl TxnRow<'_> {
    /// Copy into an owned [`Transaction`].
    pub fn to_owned_txn(&self) -> Transaction {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Transaction {
            txn_id: self.txn_id.to_string(),
            timestamp: self.timestamp,
            sender_id: self.sender_id.to_string(),
            sender_name: opt(self.sender_name),
            sender_country: self.sender_country,
            recipient_id: self.recipient_id.to_string(),
            recipient_name: opt(self.recipient_name),
            recipient_country: self.recipient_country,
            amount: self.amount,
            channel: self.channel,
            reference: opt(self.reference),
            merchant_category: self.merchant_category,
        }
    }
}

/// Write a merchant category code as the four digits the canonical record uses.
pub fn format_mcc(mcc: u16, out: &mut [u8; 4]) {
    let mut v = mcc;
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}
