//! The report as goAML XML: the shared structure, in the schema's element order, with the
//! profile's codes. Absent values are left out (the checks name them); text is escaped.

use crate::{decimal, split_phone, sql_date, Client, Profile, ReportInput, Reporter, Transaction};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

struct X {
    w: Writer<Vec<u8>>,
}

impl X {
    fn open(&mut self, name: &str) {
        let _ = self.w.write_event(Event::Start(BytesStart::new(name)));
    }
    fn close(&mut self, name: &str) {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
    }
    fn el(&mut self, name: &str, text: &str) {
        self.open(name);
        let _ = self.w.write_event(Event::Text(BytesText::new(text)));
        self.close(name);
    }
    fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            self.el(name, t.trim());
        }
    }
}

/// Write one `<report>` (no namespace, as goAML wants).
pub fn write_xml(r: &ReportInput, p: &Profile) -> String {
    let mut x = X { w: Writer::new_with_indent(Vec::new(), b' ', 2) };
    let _ = x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    x.open("report");
    header(&mut x, r, p);
    for t in &r.transactions {
        transaction(&mut x, r, p, t);
    }
    x.open("report_indicators");
    for i in &r.indicators {
        x.el("indicator", i);
    }
    x.close("report_indicators");
    x.close("report");
    let mut s = String::from_utf8(x.w.into_inner()).unwrap_or_default();
    s.push('\n');
    s
}

/// From `rentity_id` to `action`.
fn header(x: &mut X, r: &ReportInput, p: &Profile) {
    let rep = &r.reporter;
    x.opt("rentity_id", rep.rentity_id.map(|i| i.to_string()).as_deref());
    x.opt("rentity_branch", rep.rentity_branch.as_deref());
    x.el("submission_code", &p.submission_code);
    x.el("report_code", &p.report_code);
    x.opt("entity_reference", Some(&r.entity_reference));
    x.opt("fiu_ref_number", r.refers_to_fiu_ref.as_deref());
    x.el("submission_date", &sql_date(&r.submission_date).unwrap_or_default());
    x.opt("currency_code_local", rep.currency_code_local.as_deref());
    x.open("reporting_person");
    x.opt("first_name", rep.person_first_name.as_deref());
    x.opt("last_name", rep.person_last_name.as_deref());
    x.opt("email", rep.person_email.as_deref());
    x.close("reporting_person");
    let place = [rep.address.as_deref(), rep.city.as_deref(), rep.zip.as_deref(), rep.country_code.as_deref()];
    address(x, p, "location", place);
    x.opt("reason", Some(&r.reason));
    x.opt("action", r.action.as_deref());
}

/// A `t_address` of [street, city, zip, country].
fn address(x: &mut X, p: &Profile, tag: &str, [street, city, zip, country]: [Option<&str>; 4]) {
    x.open(tag);
    x.el("address_type", &p.codes.address_type);
    x.opt("address", street);
    x.opt("city", city);
    x.opt("zip", zip);
    x.opt("country_code", country);
    x.close(tag);
}

/// One payment: the customer's account as `t_from_my_client`, the beneficiary as `t_to`.
fn transaction(x: &mut X, r: &ReportInput, p: &Profile, t: &Transaction) {
    x.open("transaction");
    x.el("transactionnumber", &t.number);
    x.el("internal_ref_number", &r.entity_reference);
    x.el("transaction_location", channel_words(&t.channel));
    let desc = match t.reference.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(refr) => format!("Cross-border payment; payment reference: {refr}"),
        None => "Cross-border payment; no payment reference".to_string(),
    };
    x.el("transaction_description", &desc);
    x.el("date_transaction", &sql_date(&t.at).unwrap_or_default());
    x.opt("transmode_code", p.transmode.get(&t.channel).map(String::as_str));
    x.el("amount_local", &decimal(t.amount_minor));
    x.open("t_from_my_client");
    x.el("from_funds_code", &p.codes.funds_from);
    if let Some(c) = r.clients.iter().find(|c| c.account_id == t.from_account) {
        from_account(x, &r.reporter, p, c);
        x.opt("from_country", r.reporter.country_code.as_deref());
    }
    x.close("t_from_my_client");
    x.open("t_to");
    x.el("to_funds_code", &p.codes.funds_to);
    if let Some(c) = r.counterparties.iter().find(|c| c.account_id == t.to_account) {
        x.open("to_account");
        x.opt("institution_name", c.institution_name.as_deref());
        institution_id(x, c.swift.as_deref(), c.institution_code.as_deref());
        x.el("account", &c.account_id);
        x.opt("account_name", c.name.as_deref());
        x.close("to_account");
        x.opt("to_country", c.country.as_deref());
    }
    x.close("t_to");
    x.close("transaction");
}

/// `swift`, else `institution_code` (the schema's choice).
fn institution_id(x: &mut X, swift: Option<&str>, code: Option<&str>) {
    match (swift.filter(|s| !s.is_empty()), code.filter(|s| !s.is_empty())) {
        (Some(s), _) => x.el("swift", s),
        (None, Some(i)) => x.el("institution_code", i),
        _ => {}
    }
}

/// The customer's account with its holder as the primary signatory (`t_account_my_client`).
fn from_account(x: &mut X, rep: &Reporter, p: &Profile, c: &Client) {
    x.open("from_account");
    x.opt("institution_name", rep.institution_name.as_deref());
    institution_id(x, rep.swift.as_deref(), rep.institution_code.as_deref());
    x.opt("branch", c.branch.as_deref());
    x.el("account", &c.account_id);
    x.opt("currency_code", c.currency.as_deref().or(rep.currency_code_local.as_deref()));
    let name = format!("{} {}", c.first_name.as_deref().unwrap_or(""), c.last_name.as_deref().unwrap_or(""));
    x.opt("account_name", Some(name.trim()));
    x.opt("iban", c.iban.as_deref().map(|i| i.replace(' ', "")).as_deref());
    x.opt("client_number", c.customer_id.as_deref());
    x.el("personal_account_type", &p.codes.personal_account_type);
    x.open("signatory");
    x.el("is_primary", "1");
    x.open("t_person");
    x.opt("first_name", c.first_name.as_deref());
    x.opt("last_name", c.last_name.as_deref());
    x.opt("birthdate", c.birthdate.as_deref().and_then(sql_date).as_deref());
    x.opt("ssn", c.ssn.as_deref());
    x.opt("nationality1", c.nationality.as_deref());
    x.opt("residence", c.residence.as_deref());
    if let Some((cc, num)) = c.phone.as_deref().and_then(split_phone) {
        x.open("phones");
        x.open("phone");
        x.el("tph_contact_type", &p.codes.contact_type);
        x.el("tph_communication_type", &p.codes.communication_type);
        x.el("tph_country_prefix", &cc);
        x.el("tph_number", &num);
        x.close("phone");
        x.close("phones");
    }
    if c.address.is_some() && c.city.is_some() {
        x.open("addresses");
        let country = c.country.as_deref().or(c.residence.as_deref());
        address(x, p, "address", [c.address.as_deref(), c.city.as_deref(), c.zip.as_deref(), country]);
        x.close("addresses");
    }
    x.opt("occupation", c.occupation.as_deref());
    x.close("t_person");
    x.el("role", &p.codes.signatory_role);
    x.close("signatory");
    x.opt("opened", c.opened.as_deref().and_then(sql_date).as_deref());
    x.el("status_code", &p.codes.account_status);
    x.close("from_account");
}

fn channel_words(c: &str) -> &'static str {
    match c {
        "bank_transfer" => "Online or branch bank transfer",
        "mto" => "Money transfer operator",
        "wallet" => "Electronic wallet",
        "card" => "Card payment",
        "crypto" => "Crypto-asset transfer",
        "cash" => "Cash",
        _ => "Other channel",
    }
}
