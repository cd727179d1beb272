//! The narrative (`reason`): what happened, in plain words, from the case's facts and the
//! alerts' explanations. The analyst edits it before approval; the draft only starts it.

use crate::decimal;
use serde::{Deserialize, Serialize};

/// What the narrative is drafted from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrativeFacts {
    /// The case id.
    pub case_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The customer or beneficiary account.
    pub entity_id: String,
    /// The case's typology.
    pub typology: String,
    /// Payments reported.
    pub payments: usize,
    /// Distinct beneficiaries.
    pub recipients: usize,
    /// Distinct payers (for a beneficiary case).
    pub payers: usize,
    /// Beneficiary countries, most frequent first.
    pub countries: Vec<String>,
    /// First and last payment (RFC 3339).
    pub first_at: String,
    /// Last payment.
    pub last_at: String,
    /// Total, minor units.
    pub total_minor: i64,
    /// Smallest and largest payment.
    pub min_minor: i64,
    /// Largest payment.
    pub max_minor: i64,
    /// Currency.
    pub currency: String,
    /// Payments between 22:00 and 06:00 in the sender's local time.
    pub night: usize,
    /// The alerts' explanations, strongest first.
    pub reasons: Vec<String>,
    /// Meanings of the indicator codes.
    pub indicators: Vec<String>,
    /// The earlier report this one follows, if any.
    pub follows: Option<String>,
}

/// Draft the narrative, at most `max_chars` characters.
pub fn draft_narrative(f: &NarrativeFacts, max_chars: usize) -> String {
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    let mut s = String::new();
    if let Some(first) = &f.follows {
        s.push_str(&format!(
            "Follow-up to our report {first} on the same customer: further payments after that report.\n\n"
        ));
    }
    let who = if f.entity_type == "recipient" {
        format!("beneficiary account {} (paid by {} of our customers)", f.entity_id, f.payers)
    } else {
        format!("our customer's account {}", f.entity_id)
    };
    s.push_str(&format!(
        "Between {} and {}, {} made {} payment(s) totalling {} {} to {} beneficiary account(s) in {}. ",
        day(&f.first_at),
        day(&f.last_at),
        who,
        f.payments,
        decimal(f.total_minor),
        f.currency,
        f.recipients,
        if f.countries.is_empty() { "unknown countries".to_string() } else { f.countries.join(", ") },
    ));
    if f.payments > 0 {
        s.push_str(&format!(
            "Single payments were between {} and {} {}; {} of them were made between 22:00 and 06:00 local time. ",
            decimal(f.min_minor),
            decimal(f.max_minor),
            f.currency,
            f.night
        ));
    }
    s.push_str(&format!(
        "The pattern matches published indicators of payments for livestreamed sexual abuse of children (typology {}): small, irregular cross-border payments to several beneficiaries in a high-risk corridor.\n\n",
        f.typology
    ));
    if !f.indicators.is_empty() {
        s.push_str("Indicators: ");
        s.push_str(&f.indicators.join("; "));
        s.push_str(".\n\n");
    }
    s.push_str("Why the monitoring raised it:\n");
    let tail = format!(
        "\nThe report is based on transaction data only; no content was viewed. Case reference: {}.",
        f.case_id
    );
    let budget = max_chars.saturating_sub(s.chars().count() + tail.chars().count());
    let mut used = 0;
    for r in &f.reasons {
        let line = format!("- {r}\n");
        let n = line.chars().count();
        if used + n > budget {
            break;
        }
        s.push_str(&line);
        used += n;
    }
    s.push_str(&tail);
    s.chars().take(max_chars).collect()
}
