//! goAML suspicious transaction reports: the XML, the FIU profile that supplies its codes,
//! the checks a report must pass before it is filed, and the narrative drafted from a case.
//!
//! The structure of a goAML report is common to every FIU (UNODC's schema, 5.x); the lookup
//! codes differ per FIU. So the writer ([`write_xml`]) knows only the structure, and a
//! [`Profile`] (a TOML file; `generic` and `de` are built in) gives the codes, the indicator
//! list and the fields an FIU makes mandatory beyond the schema. [`check`] names every
//! missing or invalid field in words before anything is written as final; [`validate_xsd`]
//! runs a user-supplied XSD through `xmllint` and says when the schema's own patterns are
//! the problem.

mod check;
mod narrative;
mod profile;
mod write;
mod xsd;

pub use check::check;
pub use narrative::{draft_narrative, NarrativeFacts};
pub use profile::{Profile, ProfileError};
pub use write::write_xml;
pub use xsd::{validate_xsd, XsdResult};

use serde::{Deserialize, Serialize};

/// The reporting institution and its compliance officer (from the institution's settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    /// The FIU's id of the reporting entity (`rentity_id`, an integer >= 1).
    pub rentity_id: Option<i64>,
    /// The reporting branch.
    pub rentity_branch: Option<String>,
    /// The institution's name (for the customers' accounts).
    pub institution_name: Option<String>,
    /// The institution's BIC.
    pub swift: Option<String>,
    /// The institution's national code (when it has no BIC).
    pub institution_code: Option<String>,
    /// Local currency (ISO 4217).
    pub currency_code_local: Option<String>,
    /// The reporting officer's first name.
    pub person_first_name: Option<String>,
    /// The reporting officer's last name.
    pub person_last_name: Option<String>,
    /// The reporting officer's e-mail.
    pub person_email: Option<String>,
    /// Street address of the reporting location.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Post code.
    pub zip: Option<String>,
    /// Country (ISO 3166 alpha-2).
    pub country_code: Option<String>,
}

/// One of the bank's customers in the report (`t_from_my_client`), with what KYC holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The account the payments left from.
    pub account_id: String,
    /// The bank's customer number.
    pub customer_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Birth date (YYYY-MM-DD).
    pub birthdate: Option<String>,
    /// Tax or social security number.
    pub ssn: Option<String>,
    /// Nationality (ISO alpha-2); reported, never scored.
    pub nationality: Option<String>,
    /// Country of residence.
    pub residence: Option<String>,
    /// Phone number with its country prefix, e.g. `+49 30 1234567`.
    pub phone: Option<String>,
    /// Occupation.
    pub occupation: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Post code.
    pub zip: Option<String>,
    /// Country of the address.
    pub country: Option<String>,
    /// IBAN of the account.
    pub iban: Option<String>,
    /// Account opening date (YYYY-MM-DD).
    pub opened: Option<String>,
    /// Account currency.
    pub currency: Option<String>,
    /// Branch that holds the account.
    pub branch: Option<String>,
}

impl Reporter {
    /// A complete, fictitious reporting institution (Musterbank), for tests and benchmarks.
    pub fn sample() -> Reporter {
        let s = |v: &str| Some(v.to_string());
        Reporter {
            rentity_id: Some(4711),
            rentity_branch: s("HQ"),
            institution_name: s("Musterbank AG"),
            swift: s("MUSTDEFFXXX"),
            institution_code: None,
            currency_code_local: s("EUR"),
            person_first_name: s("Erika"),
            person_last_name: s("Muster"),
            person_email: s("mlro@musterbank.example"),
            address: s("Hauptstr. 1"),
            city: s("Berlin"),
            zip: s("10115"),
            country_code: s("DE"),
        }
    }
}

impl Client {
    /// A complete, fictitious customer of `account_id` (every field a report needs), for
    /// tests, benchmarks and examples.
    pub fn sample(account_id: &str) -> Client {
        let s = |v: &str| Some(v.to_string());
        Client {
            account_id: account_id.to_string(),
            customer_id: s("K-1"),
            first_name: s("Max"),
            last_name: s("Beispiel"),
            birthdate: s("1970-05-04"),
            ssn: s("12345678901"),
            nationality: s("DE"),
            residence: s("DE"),
            phone: s("+49 30 1234567"),
            occupation: s("Engineer"),
            address: s("Ringstr. 5"),
            city: s("Köln"),
            zip: s("50667"),
            country: s("DE"),
            iban: s("DE89370400440532013000"),
            opened: s("2015-01-10"),
            currency: s("EUR"),
            branch: s("Köln"),
        }
    }
}

/// A foreign beneficiary (`t_to`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterparty {
    /// The account or wallet id as the payments carry it.
    pub account_id: String,
    /// The beneficiary's name, if known.
    pub name: Option<String>,
    /// Country (ISO alpha-2).
    pub country: Option<String>,
    /// The beneficiary's bank or wallet provider.
    pub institution_name: Option<String>,
    /// Its BIC.
    pub swift: Option<String>,
    /// Its national institution code (when it has no BIC).
    pub institution_code: Option<String>,
}

/// One reported payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The payment id (`transactionnumber`).
    pub number: String,
    /// Event time (RFC 3339).
    pub at: String,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Channel (`bank_transfer`, `mto`, ...).
    pub channel: String,
    /// The customer's account.
    pub from_account: String,
    /// The beneficiary's account.
    pub to_account: String,
    /// Payment reference, if any.
    pub reference: Option<String>,
}

/// Everything one report says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInput {
    /// The case id (`entity_reference`).
    pub entity_reference: String,
    /// The FIU's reference of an earlier report this one follows up.
    pub refers_to_fiu_ref: Option<String>,
    /// Submission time (RFC 3339).
    pub submission_date: String,
    /// The narrative (`reason`).
    pub reason: String,
    /// What the institution did (`action`), if anything.
    pub action: Option<String>,
    /// The reporting institution.
    pub reporter: Reporter,
    /// The bank's customers involved.
    pub clients: Vec<Client>,
    /// The beneficiaries.
    pub counterparties: Vec<Counterparty>,
    /// The payments.
    pub transactions: Vec<Transaction>,
    /// Indicator codes (from the profile's list).
    pub indicators: Vec<String>,
}

/// Minor units as a decimal with two places (`4500` -> `45.00`).
pub(crate) fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// RFC 3339 -> goAML's `sql_date` (`YYYY-MM-DDTHH:MM:SS`, the sender's local time).
pub(crate) fn sql_date(t: &str) -> Option<String> {
    if t.len() == 10 {
        return chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(|d| format!("{d}T00:00:00"));
    }
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// `+49 30 1234567` -> ("49", "30 1234567").
pub(crate) fn split_phone(p: &str) -> Option<(String, String)> {
    let p = p.trim().strip_prefix('+')?;
    let (cc, rest) = p.split_once([' ', '-'])?;
    (!cc.is_empty() && cc.len() <= 4 && cc.bytes().all(|b| b.is_ascii_digit()) && !rest.trim().is_empty())
        .then(|| (cc.to_string(), rest.trim().to_string()))
}

/// ISO 13616 check digits (mod 97).
pub fn iban_ok(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() < 15 || s.len() > 34 || !s.is_ascii() {
        return false;
    }
    let moved = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in moved.chars() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        // A letter stands for two digits.
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

#[cfg(test)]
mod tests;
