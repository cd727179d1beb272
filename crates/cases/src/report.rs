//! A case's STR: the payments, the customers' KYC and the beneficiaries' bank details turned
//! into a goAML report with the FIU profile's codes, checked, and saved as the case's draft.
//! The analyst's edits (narrative, indicators, missing fields) come in the request and are
//! kept with the draft, so a redraft does not lose them.

use crate::query::{need_role, payments_of};
use crate::sql::Conn;
use crate::{Actor, CaseError, DraftRecord, PaymentIn, Role, Store};
use osecwatch_goaml::{Client, Counterparty, NarrativeFacts, Profile, ReportInput, Reporter, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// What the analyst adds to a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftEdits {
    /// The narrative as edited (none: drafted from the case).
    #[serde(default)]
    pub narrative: Option<String>,
    /// Indicator codes (none: the profile's codes for the typology).
    #[serde(default)]
    pub indicators: Option<Vec<String>>,
    /// Customer fields to add or correct, by account.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Beneficiary details to add or correct, by account.
    #[serde(default)]
    pub counterparties: Vec<Counterparty>,
    /// What the institution did (`action`).
    #[serde(default)]
    pub action: Option<String>,
}

/// What every report of an institution is written with.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// The FIU profile.
    pub profile: Profile,
    /// The reporting institution.
    pub reporter: Reporter,
    /// An XSD to check against (else the profile's, if any).
    pub xsd: Option<std::path::PathBuf>,
}

/// A drafted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drafted {
    /// The report id.
    pub report_id: String,
    /// The case's version after the draft.
    pub version: i64,
    /// What stops it from being approved, in words; empty when it can be approved.
    pub problems: Vec<String>,
    /// Schema-quirk notes from an XSD check (not blocking).
    pub warnings: Vec<String>,
    /// The narrative used.
    pub narrative: String,
    /// The XML.
    pub xml: String,
}

fn merge<T: Serialize + for<'a> Deserialize<'a>>(base: T, over: &T) -> T {
    // Fields set in `over` win; absent ones (null) keep the base's.
    let mut b = serde_json::to_value(&base).unwrap_or_default();
    if let (Some(bm), Ok(serde_json::Value::Object(om))) = (b.as_object_mut(), serde_json::to_value(over)) {
        for (k, v) in om {
            if !v.is_null() && v != json!("") {
                bm.insert(k, v);
            }
        }
    }
    serde_json::from_value(b).unwrap_or(base)
}

fn local_hour(t: &str) -> Option<u32> {
    use chrono::Timelike;
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.hour())
}

impl Store {
    /// Draft (or redraft) the STR of a case with a profile, the institution's details and the
    /// analyst's edits. The settings' XSD (else the profile's), when given, is checked too; its
    /// errors become problems.
    pub fn draft_report(
        &mut self,
        actor: &Actor,
        case_id: &str,
        version: i64,
        settings: &ReportSettings,
        edits: &DraftEdits,
    ) -> Result<Drafted, CaseError> {
        let profile = &settings.profile;
        need_role(actor, &[Role::Analyst, Role::Supervisor, Role::Admin], "drafting a report")?;
        let now = self.now();
        let conn: &mut dyn Conn = self.conn.as_mut();
        let case = CaseFacts::load(conn, case_id)?;
        let indicators = edits.indicators.clone().unwrap_or_else(|| profile.indicators_for(&case.typology));
        profile.check_indicators(&indicators).map_err(|e| CaseError::Invalid(e.to_string()))?;
        let (clients, counterparties) = parties(conn, &case.payments, edits)?;
        let first = first_report(conn, case.follows.as_deref())?;
        let narrative = match edits.narrative.clone().filter(|n| !n.trim().is_empty()) {
            Some(n) => n,
            None => {
                let facts =
                    case.narrative_facts(case_id, &clients, &counterparties, &indicators, profile, first.as_ref());
                osecwatch_goaml::draft_narrative(&facts, profile.narrative_max_chars)
            }
        };
        let input = ReportInput {
            entity_reference: case_id.to_string(),
            refers_to_fiu_ref: first.as_ref().and_then(|r| r.1.clone()),
            submission_date: now,
            reason: narrative.clone(),
            action: edits.action.clone(),
            reporter: settings.reporter.clone(),
            clients: clients.into_values().collect(),
            counterparties: counterparties.into_values().collect(),
            transactions: case.payments.iter().map(transaction_of).collect(),
            indicators,
        };
        let (xml, problems, warnings) = write_and_check(&input, settings)?;
        let record = DraftRecord {
            profile: profile.name.clone(),
            narrative: narrative.clone(),
            xml: xml.clone(),
            problems: problems.clone(),
            refers_to: first.map(|r| r.0),
            edits: serde_json::to_string(edits).ok(),
        };
        let (report_id, version) = self.save_draft(actor, case_id, version, &record)?;
        Ok(Drafted { report_id, version, problems, warnings, narrative, xml })
    }

    /// The edits saved with the case's latest report (to redraft from them).
    pub fn last_edits(&mut self, case_id: &str) -> Result<DraftEdits, CaseError> {
        let r = self
            .conn
            .query("SELECT edits FROM reports WHERE case_id = $1 ORDER BY id DESC LIMIT 1", &[case_id.into()])?;
        Ok(r.first().and_then(|r| serde_json::from_str(&r[0].string()).ok()).unwrap_or_default())
    }

    /// Store KYC records (customer file) for reports.
    pub fn put_kyc(&mut self, clients: &[Client]) -> Result<u64, CaseError> {
        let rows: Vec<(String, String, serde_json::Value)> = clients
            .iter()
            .map(|c| {
                (
                    c.account_id.clone(),
                    c.customer_id.clone().unwrap_or_default(),
                    serde_json::to_value(c).unwrap_or_default(),
                )
            })
            .collect();
        self.put_customers(&rows)
    }

    /// Store beneficiaries' bank details for reports.
    pub fn put_counterparties(&mut self, list: &[Counterparty]) -> Result<u64, CaseError> {
        let actor = Actor::system();
        let mut last: HashMap<&str, &Counterparty> = HashMap::new();
        for c in list {
            last.insert(c.account_id.as_str(), c);
        }
        let rows: Vec<&Counterparty> = last.into_values().collect();
        self.write(|conn, chain, now| {
            let mut n = 0;
            for chunk in rows.chunks(crate::MAX_PARAMS / 2) {
                let mut sql = String::from("INSERT INTO counterparties (account_id, data) VALUES ");
                let mut p = Vec::with_capacity(chunk.len() * 2);
                for (i, c) in chunk.iter().enumerate() {
                    crate::placeholders(&mut sql, i, 2);
                    p.extend([c.account_id.as_str().into(), serde_json::to_string(c).unwrap_or_default().into()]);
                }
                sql.push_str(" ON CONFLICT (account_id) DO UPDATE SET data = excluded.data");
                n += conn.exec(&sql, &p)?;
            }
            chain.push(now, &actor, "counterparties_loaded", None, json!({"accounts": rows.len()}));
            Ok(n)
        })
    }
}

/// What a report says about its case, read from the store.
struct CaseFacts {
    entity_type: String,
    entity_id: String,
    typology: String,
    follows: Option<String>,
    payments: Vec<PaymentIn>,
    /// The alerts' explanations, each once, strongest alert first.
    reasons: Vec<String>,
}

impl CaseFacts {
    fn load(conn: &mut dyn Conn, case_id: &str) -> Result<CaseFacts, CaseError> {
        let r = conn.query(
            "SELECT entity_type, entity_id, typology, follow_up_of FROM cases WHERE id = $1",
            &[case_id.into()],
        )?;
        let row = r.first().ok_or_else(|| CaseError::NotFound(format!("case {case_id}")))?;
        let mut scored: Vec<(f64, String)> = Vec::new();
        for a in conn.query("SELECT score, reasons FROM case_alerts WHERE case_id = $1", &[case_id.into()])? {
            for r in serde_json::from_str::<Vec<String>>(&a[1].string()).unwrap_or_default() {
                if !scored.iter().any(|(_, x)| *x == r) {
                    scored.push((a[0].real(), r));
                }
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(CaseFacts {
            entity_type: row[0].string(),
            entity_id: row[1].string(),
            typology: row[2].string(),
            follows: row[3].opt(),
            payments: payments_of(conn, case_id)?,
            reasons: scored.into_iter().map(|r| r.1).collect(),
        })
    }

    fn narrative_facts(
        &self,
        case_id: &str,
        clients: &BTreeMap<String, Client>,
        counterparties: &BTreeMap<String, Counterparty>,
        indicators: &[String],
        profile: &Profile,
        first: Option<&(String, Option<String>)>,
    ) -> NarrativeFacts {
        let pays = &self.payments;
        // Beneficiary countries, most payments first.
        let mut countries: BTreeMap<String, usize> = BTreeMap::new();
        for p in pays {
            let c = counterparties.get(&p.recipient_id).and_then(|c| c.country.clone()).unwrap_or_default();
            *countries.entry(c).or_default() += 1;
        }
        let mut countries: Vec<(String, usize)> = countries.into_iter().filter(|(c, _)| !c.is_empty()).collect();
        countries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        NarrativeFacts {
            case_id: case_id.to_string(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            typology: self.typology.clone(),
            payments: pays.len(),
            recipients: counterparties.len(),
            payers: clients.len(),
            countries: countries.into_iter().map(|c| c.0).collect(),
            first_at: pays.first().map(|p| p.at.clone()).unwrap_or_default(),
            last_at: pays.last().map(|p| p.at.clone()).unwrap_or_default(),
            total_minor: pays.iter().map(|p| p.amount_minor).sum(),
            min_minor: pays.iter().map(|p| p.amount_minor).min().unwrap_or(0),
            max_minor: pays.iter().map(|p| p.amount_minor).max().unwrap_or(0),
            currency: pays.first().map(|p| p.currency.clone()).unwrap_or_else(|| "EUR".into()),
            night: pays.iter().filter(|p| local_hour(&p.at).is_some_and(|h| !(6..22).contains(&h))).count(),
            reasons: self.reasons.clone(),
            indicators: indicators.iter().filter_map(|i| profile.indicators.get(i).cloned()).collect(),
            follows: first.map(|(id, fiu)| match fiu {
                Some(f) => format!("{id} (FIU reference {f})"),
                None => id.clone(),
            }),
        }
    }
}

/// The report's customers and beneficiaries, by account.
type Parties = (BTreeMap<String, Client>, BTreeMap<String, Counterparty>);

/// The bank's customers (every paying account: several for a beneficiary's case) with their
/// KYC, and the beneficiaries with their bank details, both with the analyst's edits.
fn parties(conn: &mut dyn Conn, payments: &[PaymentIn], edits: &DraftEdits) -> Result<Parties, CaseError> {
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    let mut counterparties: BTreeMap<String, Counterparty> = BTreeMap::new();
    for p in payments {
        if !clients.contains_key(&p.sender_id) {
            let kyc = conn.query(
                "SELECT customer_id, kyc FROM customers WHERE account_id = $1",
                &[p.sender_id.as_str().into()],
            )?;
            let mut c: Client = kyc.first().and_then(|k| serde_json::from_str(&k[1].string()).ok()).unwrap_or_default();
            c.account_id = p.sender_id.clone();
            if c.customer_id.is_none() {
                c.customer_id = kyc.first().map(|k| k[0].string());
            }
            clients.insert(p.sender_id.clone(), c);
        }
        if !counterparties.contains_key(&p.recipient_id) {
            let d =
                conn.query("SELECT data FROM counterparties WHERE account_id = $1", &[p.recipient_id.as_str().into()])?;
            let mut c: Counterparty =
                d.first().and_then(|k| serde_json::from_str(&k[0].string()).ok()).unwrap_or_default();
            c.account_id = p.recipient_id.clone();
            c.name = c.name.or_else(|| p.recipient_name.clone());
            c.country = c.country.or_else(|| Some(p.recipient_country.clone()));
            counterparties.insert(p.recipient_id.clone(), c);
        }
    }
    for e in &edits.clients {
        if let Some(c) = clients.get_mut(&e.account_id) {
            *c = merge(c.clone(), e);
        }
    }
    for e in &edits.counterparties {
        if let Some(c) = counterparties.get_mut(&e.account_id) {
            *c = merge(c.clone(), e);
        }
    }
    Ok((clients, counterparties))
}

/// A follow-up's first report: its id and the FIU's reference.
fn first_report(conn: &mut dyn Conn, follows: Option<&str>) -> Result<Option<(String, Option<String>)>, CaseError> {
    let Some(f) = follows else { return Ok(None) };
    let r = conn.query(
        "SELECT id, fiu_ref FROM reports WHERE case_id = $1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
        &[f.into()],
    )?;
    Ok(r.first().map(|r| (r[0].string(), r[1].opt())))
}

fn transaction_of(p: &PaymentIn) -> Transaction {
    Transaction {
        number: p.txn_id.clone(),
        at: p.at.clone(),
        amount_minor: p.amount_minor,
        currency: p.currency.clone(),
        channel: p.channel.clone(),
        from_account: p.sender_id.clone(),
        to_account: p.recipient_id.clone(),
        reference: p.reference.clone(),
    }
}

/// The XML and what stops it from being filed (the profile's checks, then the schema's);
/// schema-quirk notes are warnings.
fn write_and_check(
    input: &ReportInput,
    settings: &ReportSettings,
) -> Result<(String, Vec<String>, Vec<String>), CaseError> {
    let profile = &settings.profile;
    let mut problems = osecwatch_goaml::check(input, profile);
    if profile.one_report_per_subject && input.clients.len() > 1 {
        problems.push(format!(
            "report: profile {} wants one report per customer and this case involves {}; osecwatch drafts one report per case",
            profile.name,
            input.clients.len()
        ));
    }
    let xml = osecwatch_goaml::write_xml(input, profile);
    let mut warnings = Vec::new();
    if let Some(x) = settings.xsd.as_deref().or_else(|| profile.xsd_path()) {
        let v = osecwatch_goaml::validate_xsd(&xml, x).map_err(CaseError::Invalid)?;
        problems.extend(v.errors.into_iter().map(|e| format!("schema {}: {e}", x.display())));
        warnings.extend(v.quirks);
    }
    Ok((xml, problems, warnings))
}
