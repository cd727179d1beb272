//! What stops a report from being filed, in words: each problem names where it is
//! (`transaction TX123: to_account.swift or institution_code is required`) and what to do.

use crate::{iban_ok, split_phone, sql_date, Client, Profile, ReportInput};
use std::collections::{BTreeMap, HashMap};

/// Every problem that stops the report from being filed, sorted, each once.
pub fn check(r: &ReportInput, p: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    check_report(r, p, &mut out);
    for c in &r.clients {
        check_client(c, p, &mut out);
    }
    check_transactions(r, p, &mut out);
    out.sort();
    out.dedup();
    out
}

fn need(out: &mut Vec<String>, v: &Option<String>, what: &str) {
    if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
        out.push(what.to_string());
    }
}

/// The header: the reporting institution, the reference, the narrative, the indicators.
fn check_report(r: &ReportInput, p: &Profile, out: &mut Vec<String>) {
    let rep = &r.reporter;
    if rep.rentity_id.is_none_or(|i| i < 1) {
        out.push("report: rentity_id (the FIU's id of your institution, >= 1) is required".into());
    }
    need(out, &rep.rentity_branch, "report: rentity_branch is required");
    need(out, &rep.currency_code_local, "report: currency_code_local is required");
    need(out, &rep.person_first_name, "report: reporting_person.first_name is required");
    need(out, &rep.person_last_name, "report: reporting_person.last_name is required");
    need(out, &rep.address, "report: location.address is required");
    need(out, &rep.city, "report: location.city is required");
    need(out, &rep.country_code, "report: location.country_code is required");
    need(out, &rep.institution_name, "report: the institution's name (from_account.institution_name) is required");
    if rep.swift.is_none() && rep.institution_code.is_none() {
        out.push("report: the institution's swift or institution_code (from_account) is required".into());
    }
    if p.mandatory.fields.iter().any(|f| f == "reporting_person.email") {
        need(out, &rep.person_email, &format!("report: reporting_person.email is required by profile {}", p.name));
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
    for i in r.indicators.iter().filter(|i| !p.indicators.contains_key(*i)) {
        out.push(format!("report: indicator `{i}` is not in profile {}'s list", p.name));
    }
}

/// One of the bank's customers (`t_person_my_client` and `t_account_my_client`).
fn check_client(c: &Client, p: &Profile, out: &mut Vec<String>) {
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
        need(out, v, &format!("{at}: {name} is required (add it to the customer file)"));
    }
    if c.birthdate.as_deref().is_some_and(|b| sql_date(b).is_none()) {
        out.push(format!("{at}: birthdate `{}` is not a date (YYYY-MM-DD)", c.birthdate.as_deref().unwrap_or("")));
    }
    if c.opened.as_deref().is_some_and(|o| sql_date(o).is_none()) {
        out.push(format!("{at}: from_account.opened is not a date (YYYY-MM-DD)"));
    }
    if c.phone.as_deref().is_some_and(|ph| split_phone(ph).is_none()) {
        out.push(format!("{at}: phone must start with + and the country prefix (`+49 30 1234567`)"));
    }
    if p.mandatory.fields.iter().any(|f| f == "from_account.iban") {
        need(out, &c.iban, &format!("{at}: from_account.iban is required by profile {}", p.name));
    }
    if c.iban.as_deref().is_some_and(|i| !iban_ok(i)) {
        out.push(format!("{at}: from_account.iban fails its check digits"));
    }
}

/// The payments, then their beneficiaries. A beneficiary's problem is said once, naming its
/// first payment and how many more go to it, not once per payment.
fn check_transactions(r: &ReportInput, p: &Profile, out: &mut Vec<String>) {
    let mut first_to: BTreeMap<&str, &str> = BTreeMap::new();
    let mut count_to: HashMap<&str, usize> = HashMap::new();
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
        if let Some(local) = r.reporter.currency_code_local.as_ref().filter(|l| **l != t.currency) {
            out.push(format!(
                "{at}: amount is in {}, the report's local currency is {local}; goAML wants amount_local (convert it and give from_foreign_currency)",
                t.currency
            ));
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
    for (to, first) in &first_to {
        let n = count_to[to];
        let at = if n > 1 { format!("transaction {first} and {} more", n - 1) } else { format!("transaction {first}") };
        let Some(c) = r.counterparties.iter().find(|c| c.account_id == *to) else {
            out.push(format!("{at}: beneficiary {to} has no details"));
            continue;
        };
        let empty = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
        if empty(&c.institution_name) {
            out.push(format!("{at}: to_account.institution_name is required (beneficiary {to})"));
        }
        if empty(&c.swift) && empty(&c.institution_code) {
            out.push(format!("{at}: to_account.swift or institution_code is required (beneficiary {to})"));
        }
        if let Some(s) = c.swift.as_deref().filter(|s| !s.is_empty()) {
            if !(s.len() == 8 || s.len() == 11) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                out.push(format!("{at}: to_account.swift `{s}` is not a BIC (8 or 11 letters and digits)"));
            }
        }
        if c.country.as_deref().is_none_or(|s| s.len() != 2) {
            out.push(format!("{at}: to_country is required (beneficiary {to})"));
        }
    }
}
