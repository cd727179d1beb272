//! Alerts into cases. One active case per entity: a new alert joins it; a closed case
//! re-opens only when the alert brings payments the case did not have (and says so), else
//! the alert is filed with it as suppressed; a reported case gets a follow-up case that
//! refers to it. Work is done in chunks, each one transaction with its audit records, with
//! multi-row statements so that PostgreSQL's round trips do not dominate.

mod chunk;

#[cfg(test)]
pub(crate) use chunk::PAY_COLS;

use crate::{Actor, CaseError, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An alert as `scan` and `serve` write it (`alerts.jsonl`, `GET /v1/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertIn {
    /// The alert's id (`AL-...`).
    pub alert_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: String,
    /// The typology (`OSEC-BUYER`, ...).
    pub typology: String,
    /// Highest score reached.
    pub score: f64,
    /// `review` or `block`.
    pub decision: String,
    /// The rule ids that fired (the engine's field name).
    #[serde(default)]
    pub typologies: Vec<String>,
    /// The explanations, one sentence per rule.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Event time of the payment that raised it.
    pub raised_at: String,
    /// Event time of its latest update.
    pub updated_at: String,
    /// The payments behind it.
    #[serde(default)]
    pub txn_ids: Vec<String>,
    /// The rule pack's id and version, when the alert carries it.
    #[serde(default)]
    pub rule_pack: Option<String>,
}

impl AlertIn {
    /// Check what the store relies on; the reason names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.alert_id.is_empty() || self.alert_id.len() > 64 {
            return Err("alert_id is empty or longer than 64 characters".into());
        }
        if self.entity_type != "sender" && self.entity_type != "recipient" {
            return Err(format!("entity_type must be sender or recipient, not `{}`", self.entity_type));
        }
        if self.entity_id.is_empty() || self.entity_id.len() > 256 {
            return Err("entity_id is empty or longer than 256 bytes".into());
        }
        if !self.score.is_finite() {
            return Err("score is not a number".into());
        }
        for (name, t) in [("raised_at", &self.raised_at), ("updated_at", &self.updated_at)] {
            if chrono::DateTime::parse_from_rfc3339(t).is_err() {
                return Err(format!("{name} is not an RFC 3339 time"));
            }
        }
        Ok(())
    }
}

/// A payment of a case's evidence, in the canonical record's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIn {
    /// Payment id.
    pub txn_id: String,
    /// Event time (RFC 3339 with the sender's offset).
    pub at: String,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Sender account.
    pub sender_id: String,
    /// Sender name, if known.
    pub sender_name: Option<String>,
    /// Sender country.
    pub sender_country: String,
    /// Recipient account or wallet.
    pub recipient_id: String,
    /// Recipient name, if known.
    pub recipient_name: Option<String>,
    /// Recipient country.
    pub recipient_country: String,
    /// Channel (`bank_transfer`, `mto`, ...).
    pub channel: String,
    /// Payment reference, if any.
    pub reference: Option<String>,
}

impl PaymentIn {
    /// A payment of the canonical record, for a case's evidence.
    pub fn from_row(r: &osecwatch_model::TxnRow<'_>) -> PaymentIn {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        PaymentIn {
            txn_id: r.txn_id.to_string(),
            at: r.timestamp.to_rfc3339(),
            amount_minor: r.amount.minor,
            currency: r.amount.currency.to_string(),
            sender_id: r.sender_id.to_string(),
            sender_name: opt(r.sender_name),
            sender_country: r.sender_country.to_string(),
            recipient_id: r.recipient_id.to_string(),
            recipient_name: opt(r.recipient_name),
            recipient_country: r.recipient_country.to_string(),
            channel: r.channel.as_str().to_string(),
            reference: opt(r.reference),
        }
    }
}

/// What an import did, in alerts (not cases):
/// `alerts_read == created + joined + updated + unchanged + reopened + follow_ups + suppressed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Alerts given.
    pub alerts_read: u64,
    /// Alerts that opened a new case.
    pub created: u64,
    /// Alerts that joined an entity's active case.
    pub joined: u64,
    /// Alerts already in a case, updated (score, evidence).
    pub updated: u64,
    /// Alerts already in a case exactly as given (nothing to do).
    pub unchanged: u64,
    /// Alerts that re-opened a closed case with new payments.
    pub reopened: u64,
    /// Alerts that opened a follow-up to a reported case.
    pub follow_ups: u64,
    /// Alerts filed with a closed or reported case without new payments (no re-opening).
    pub suppressed: u64,
    /// Evidence payments recorded with their details.
    pub payments_recorded: u64,
}

/// Priority: the score, plus ten points per tenfold money at stake (EUR 10 -> +10, 1,000 -> +30).
pub(crate) fn priority(score: f64, amount_minor: i64) -> f64 {
    let major = (amount_minor.max(0) as f64) / 100.0;
    ((score + 10.0 * (1.0 + major).log10()) * 100.0).round() / 100.0
}

/// Alerts per transaction: enough to amortise a commit, few enough to keep a chunk's
/// statements under the parameter limits.
const CHUNK: usize = 10_000;

impl Store {
    /// Gather alerts into cases. `payments` gives the details of evidence payments (from the
    /// transactions the alerts were raised on); ids without details stay listed in the alert.
    pub fn import(
        &mut self,
        actor: &Actor,
        alerts: &[AlertIn],
        payments: &HashMap<String, PaymentIn>,
    ) -> Result<ImportSummary, CaseError> {
        let mut total = ImportSummary::default();
        for chunk in alerts.chunks(CHUNK) {
            for a in chunk {
                a.check().map_err(|why| CaseError::Invalid(format!("alert {}: {why}", a.alert_id)))?;
            }
            let s = self.write(|conn, chain, now| chunk::import_chunk(conn, chain, now, actor, chunk, payments))?;
            total.alerts_read += s.alerts_read;
            total.created += s.created;
            total.joined += s.joined;
            total.updated += s.updated;
            total.unchanged += s.unchanged;
            total.reopened += s.reopened;
            total.follow_ups += s.follow_ups;
            total.suppressed += s.suppressed;
            total.payments_recorded += s.payments_recorded;
        }
        // After a large load the planner's statistics are stale (PostgreSQL's autovacuum
        // catches up later; SQLite has none until asked), and the queue's plans suffer.
        if total.created + total.joined > 10_000 {
            self.conn.analyze()?;
        }
        Ok(total)
    }
}

/// An alert time as UTC (`...Z`), so that times from senders in different offsets compare
/// as text in both databases.
pub(crate) fn utc(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|_| t.to_string())
}

pub(crate) fn headline(a: &AlertIn) -> String {
    let first = a.reasons.first().map(String::as_str).unwrap_or("no explanation given");
    format!("{} {} (score {:.0}): {first}", a.typology, a.entity_type, a.score)
}
