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

mod narrative;
mod profile;
mod write;
mod xsd;

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

/// Every problem that stops the report from being filed, in words, each naming where it is
/// (`transaction TX123: to_account.swift or institution_code is required`).
pub fn check(r: &ReportInput, p: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    let need = |out: &mut Vec<String>, v: &Option<String>, what: &str| {
        if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
            out.push(what.to_string());
        }
    };
    let rep = &r.reporter;
    if rep.rentity_id.is_none_or(|i| i < 1) {
        out.push("report: rentity_id (the FIU's id of your institution, >= 1) is required".into());
    }
    need(&mut out, &rep.rentity_branch, "report: rentity_branch is required");
    need(&mut out, &rep.currency_code_local, "report: currency_code_local is required");
    need(&mut out, &rep.person_first_name, "report: reporting_person.first_name is required");
    need(&mut out, &rep.person_last_name, "report: reporting_person.last_name is required");
    need(&mut out, &rep.address, "report: location.address is required");
    need(&mut out, &rep.city, "report: location.city is required");
    need(&mut out, &rep.country_code, "report: location.country_code is required");
    need(&mut out, &rep.institution_name, "report: the institution's name (from_account.institution_name) is required");
    if rep.swift.is_none() && rep.institution_code.is_none() {
        out.push("report: the institution's swift or institution_code (from_account) is required".into());
    }
    if p.entity_reference_required && r.entity_reference.trim().is_empty() {
        out.push(format!("report: entity_reference is required by profile {}", p.name));
    }
    if r.entity_reference.len() > 255 {
        out.push("report: entity_reference is longer than 255 characters".into());
    }
    if r.reason.trim().is_empty() {
        out.push("report: reason (the narrative) is empty".into());
    }
    let chars = r.reason.chars().count();
    if chars > p.narrative_max_chars {
        out.push(format!("report: reason has {chars} characters, at most {} are allowed", p.narrative_max_chars));
    }
    if r.transactions.is_empty() {
        out.push(
            "report: no transaction to report (an STR needs at least one; the case has no payment details)".into(),
        );
    }
    if r.indicators.is_empty() {
        out.push("report: report_indicators needs at least one indicator code".into());
    }
    for i in &r.indicators {
        if !p.indicators.contains_key(i) {
            out.push(format!("report: indicator `{i}` is not in profile {}'s list", p.name));
        }
    }
    for f in &p.mandatory.fields {
        if f == "reporting_person.email" {
            need(
                &mut out,
                &rep.person_email,
                &format!("report: reporting_person.email is required by profile {}", p.name),
            );
        }
    }
    for c in &r.clients {
        let at = format!("customer of account {}", c.account_id);
        let fields: [(&Option<String>, &str); 11] = [
            (&c.first_name, "first_name"),
            (&c.last_name, "last_name"),
            (&c.birthdate, "birthdate"),
            (&c.ssn, "ssn (tax or social security number)"),
            (&c.nationality, "nationality1"),
            (&c.residence, "residence"),
            (&c.phone, "phones.phone"),
            (&c.occupation, "occupation"),
            (&c.opened, "from_account.opened"),
            (&c.customer_id, "from_account.client_number"),
            (&c.branch, "from_account.branch"),
        ];
        for (v, name) in fields {
            need(&mut out, v, &format!("{at}: {name} is required (add it to the customer file)"));
        }
        if let Some(b) = &c.birthdate {
            if sql_date(b).is_none() {
                out.push(format!("{at}: birthdate `{b}` is not a date (YYYY-MM-DD)"));
            }
        }
        if let Some(o) = &c.opened {
            if sql_date(o).is_none() {
                out.push(format!("{at}: from_account.opened is not a date (YYYY-MM-DD)"));
            }
        }
        if let Some(ph) = &c.phone {
            if split_phone(ph).is_none() {
                out.push(format!("{at}: phone must start with + and the country prefix (`+49 30 1234567`)"));
            }
        }
        if p.mandatory.fields.iter().any(|f| f == "from_account.iban") {
            need(&mut out, &c.iban, &format!("{at}: from_account.iban is required by profile {}", p.name));
        }
        if let Some(i) = &c.iban {
            if !iban_ok(i) {
                out.push(format!("{at}: from_account.iban fails its check digits"));
            }
        }
    }
    let mut first_to: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut count_to: std::collections::HashMap<&str, usize> = Default::default();
    for t in &r.transactions {
        let at = format!("transaction {}", t.number);
        if t.number.is_empty() || t.number.chars().count() > 100 {
            out.push(format!("{at}: transactionnumber must have 1 to 100 characters"));
        }
        match sql_date(&t.at) {
            Some(d) if d.as_str() >= "1753-01-01" => {}
            _ => out.push(format!("{at}: date_transaction `{}` is not a time after 1753", t.at)),
        }
        if t.amount_minor <= 0 {
            out.push(format!("{at}: amount_local must be positive"));
        }
        if let Some(local) = &rep.currency_code_local {
            if &t.currency != local {
                out.push(format!(
                    "{at}: amount is in {}, the report's local currency is {local}; goAML wants amount_local (convert it and give from_foreign_currency)",
                    t.currency
                ));
            }
        }
        if !p.transmode.contains_key(&t.channel) {
            out.push(format!("{at}: channel `{}` has no transmode code in profile {}", t.channel, p.name));
        }
        if !r.clients.iter().any(|c| c.account_id == t.from_account) {
            out.push(format!("{at}: the paying account {} is not among the report's customers", t.from_account));
        }
        first_to.entry(t.to_account.as_str()).or_insert(t.number.as_str());
        *count_to.entry(t.to_account.as_str()).or_default() += 1;
    }
    // Beneficiary problems are the beneficiary's, not each payment's: said once, naming the
    // first payment and how many more go to it.
    for (to, first) in &first_to {
        let n = count_to[to];
        let at = if n > 1 { format!("transaction {first} and {} more", n - 1) } else { format!("transaction {first}") };
        match r.counterparties.iter().find(|c| c.account_id == *to) {
            None => out.push(format!("{at}: beneficiary {to} has no details")),
            Some(c) => {
                if c.institution_name.as_deref().is_none_or(str::is_empty) {
                    out.push(format!("{at}: to_account.institution_name is required (beneficiary {})", c.account_id));
                }
                if c.swift.as_deref().is_none_or(str::is_empty)
                    && c.institution_code.as_deref().is_none_or(str::is_empty)
                {
                    out.push(format!(
                        "{at}: to_account.swift or institution_code is required (beneficiary {})",
                        c.account_id
                    ));
                }
                if let Some(s) = c.swift.as_deref().filter(|s| !s.is_empty()) {
                    if !(s.len() == 8 || s.len() == 11) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        out.push(format!("{at}: to_account.swift `{s}` is not a BIC (8 or 11 letters and digits)"));
                    }
                }
                if c.country.as_deref().is_none_or(|s| s.len() != 2) {
                    out.push(format!("{at}: to_country is required (beneficiary {})", c.account_id));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
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
        for d in if v >= 10 { vec![v / 10, v % 10] } else { vec![v] } {
            rem = (rem * 10 + d) % 97;
        }
    }
    rem == 1
}

#[cfg(test)]
mod tests;
