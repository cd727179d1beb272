//! Reading cases: the queue (filtered, paged, by priority) and one case in full. Every read
//! is recorded in the audit chain with the user, like a change.

use crate::sql::{Row, Value};
use crate::{Actor, AuditRecord, CaseError, CaseState, PaymentIn, Role, Store};
use serde::Serialize;
use serde_json::json;

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only this state.
    pub state: Option<CaseState>,
    /// Only cases still being worked (open, investigating, pending approval).
    pub active: bool,
    /// Only cases assigned to this user (`-` for unassigned).
    pub assignee: Option<String>,
    /// Only this typology.
    pub typology: Option<String>,
    /// Only cases whose first alert is at least this many days old.
    pub min_age_days: Option<i64>,
    /// Only cases at or above this priority.
    pub min_priority: Option<f64>,
    /// Only this entity id.
    pub entity: Option<String>,
    /// Only cases with an evidence payment to this country (ISO alpha-2): the corridor.
    pub corridor: Option<String>,
    /// Include cases snoozed until later.
    pub include_snoozed: bool,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
    /// Cases to skip.
    pub offset: Option<i64>,
}

/// A case as the queue shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSummary {
    /// `C-000001`.
    pub case_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: String,
    /// The typology of its first alert.
    pub typology: String,
    /// Where the case is.
    pub state: CaseState,
    /// Who works on it.
    pub assignee: Option<String>,
    /// Score plus ten points per tenfold money at stake.
    pub priority: f64,
    /// Highest alert score.
    pub score: f64,
    /// Money in its evidence payments, minor units.
    pub amount_minor: i64,
    /// Event time of its first alert (UTC).
    pub first_alert_at: String,
    /// Event time of its latest alert (UTC).
    pub last_alert_at: String,
    /// Whole days since the first alert, by the store's clock.
    pub age_days: i64,
    /// Snoozed until (UTC), if snoozed.
    pub snoozed_until: Option<String>,
    /// Disposition, once closed.
    pub disposition: Option<String>,
    /// The reported case this one follows up.
    pub follow_up_of: Option<String>,
    /// Why it is in the queue, in one line.
    pub headline: String,
    /// Send it back with a change, so a stale view is refused.
    pub version: i64,
}

/// Counting stops here: a queue of more cases says "10,000 or more" (counting every row of a
/// large queue would cost more than the page itself).
pub const COUNT_CAP: i64 = 10_000;

/// One page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// Cases matching the filter, counted up to [`COUNT_CAP`].
    pub total: i64,
    /// Whether more cases than `total` match (the count stopped at the cap).
    pub more: bool,
    /// This page.
    pub cases: Vec<CaseSummary>,
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteView {
    /// Note number.
    pub id: i64,
    /// When (UTC).
    pub at: String,
    /// Who.
    pub author: String,
    /// The text.
    pub body: String,
}

/// A report drafted for a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    /// `R-000001`.
    pub report_id: String,
    /// `draft`, `returned`, `approved`.
    pub state: String,
    /// FIU profile.
    pub profile: String,
    /// The narrative.
    pub narrative: String,
    /// Validation problems found when drafted; an approved report has none.
    pub problems: Vec<String>,
    /// Who drafted it, and when.
    pub drafted_by: String,
    /// When drafted (UTC).
    pub drafted_at: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When approved.
    pub approved_at: Option<String>,
    /// The supervisor's comment when returned.
    pub returned_comment: Option<String>,
    /// When filed with the FIU.
    pub submitted_at: Option<String>,
    /// The FIU's reference number.
    pub fiu_ref: Option<String>,
    /// `submitted`, `acknowledged` or `rejected`.
    pub fiu_status: Option<String>,
    /// The FIU's message (rejection reason).
    pub fiu_message: Option<String>,
    /// The earlier report this one follows up.
    pub refers_to: Option<String>,
    /// Until when the reported customer's payments to the same recipients are blocked.
    pub release_at: Option<String>,
}

/// An alert within a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseAlert {
    /// Alert id.
    pub alert_id: String,
    /// Typology.
    pub typology: String,
    /// Score.
    pub score: f64,
    /// `review` or `block`.
    pub decision: String,
    /// Raised at (event time).
    pub raised_at: String,
    /// Rules that fired.
    pub rules: Vec<String>,
    /// Plain-language reasons.
    pub reasons: Vec<String>,
    /// Payment ids behind it.
    pub txn_ids: Vec<String>,
    /// Rule pack id and version.
    pub rule_pack: Option<String>,
}

/// A case in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDetail {
    /// The queue's view.
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// Why it was closed as it was.
    pub disposition_reason: Option<String>,
    /// When and by whom it was closed.
    pub closed_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Why it is snoozed.
    pub snooze_reason: Option<String>,
    /// Its alerts.
    pub alerts: Vec<CaseAlert>,
    /// Evidence payments with details, oldest first.
    pub payments: Vec<PaymentIn>,
    /// Notes, oldest first.
    pub notes: Vec<NoteView>,
    /// Tags.
    pub tags: Vec<String>,
    /// Attachments: (name, sha256, bytes).
    pub attachments: Vec<(String, String, i64)>,
    /// Reports, newest first.
    pub reports: Vec<ReportView>,
    /// Everything that happened to it (the audit records).
    pub timeline: Vec<AuditRecord>,
}

pub(crate) const SUMMARY_COLS: &str = "id, entity_type, entity_id, typology, state, assignee, priority, score, amount_minor, first_alert_at, last_alert_at, snoozed_until, disposition, follow_up_of, headline, version, disposition_reason, closed_at, closed_by, snooze_reason";

fn age_days(now: &str, first: &str) -> i64 {
    match (chrono::DateTime::parse_from_rfc3339(now), chrono::DateTime::parse_from_rfc3339(first)) {
        (Ok(n), Ok(f)) => (n - f).num_days().max(0),
        _ => 0,
    }
}

pub(crate) fn summary_of(r: &Row, now: &str) -> CaseSummary {
    CaseSummary {
        case_id: r[0].string(),
        entity_type: r[1].string(),
        entity_id: r[2].string(),
        typology: r[3].string(),
        state: CaseState::parse(&r[4].string()).unwrap_or(CaseState::Open),
        assignee: r[5].opt(),
        priority: r[6].real(),
        score: r[7].real(),
        amount_minor: r[8].int(),
        first_alert_at: r[9].string(),
        last_alert_at: r[10].string(),
        age_days: age_days(now, &r[9].string()),
        snoozed_until: r[11].opt(),
        disposition: r[12].opt(),
        follow_up_of: r[13].opt(),
        headline: r[14].string(),
        version: r[15].int(),
    }
}

pub(crate) fn need_role(actor: &Actor, roles: &[Role], what: &str) -> Result<(), CaseError> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(CaseError::Forbidden(format!(
            "{what} needs the role {}; {} is {}",
            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or "),
            actor.user,
            actor.role.as_str()
        )))
    }
}

/// Roles that may read and work cases.
pub(crate) const STAFF: &[Role] = &[Role::Analyst, Role::Supervisor, Role::Admin, Role::System];

fn json_list(v: &Value) -> Vec<String> {
    serde_json::from_str(&v.string()).unwrap_or_default()
}

impl Store {
    /// The queue: cases by priority (highest first), filtered and paged.
    pub fn list(&mut self, actor: &Actor, f: &Filter) -> Result<Page, CaseError> {
        need_role(actor, STAFF, "reading cases")?;
        let now = self.now();
        let mut wh: Vec<String> = Vec::new();
        let mut p: Vec<Value> = Vec::new();
        fn add(wh: &mut Vec<String>, cond: &str, v: Value, p: &mut Vec<Value>) {
            p.push(v);
            wh.push(cond.replace('?', &format!("${}", p.len())));
        }
        if let Some(s) = f.state {
            add(&mut wh, "state = ?", s.as_str().into(), &mut p);
        }
        if f.active {
            wh.push("state IN ('open', 'investigating', 'pending_approval')".into());
        }
        match f.assignee.as_deref() {
            Some("-") => wh.push("assignee IS NULL".into()),
            Some(a) => add(&mut wh, "assignee = ?", a.into(), &mut p),
            None => {}
        }
        if let Some(t) = &f.typology {
            add(&mut wh, "typology = ?", t.as_str().into(), &mut p);
        }
        if let Some(d) = f.min_age_days {
            let cut = (self.clock)() - chrono::Duration::days(d);
            add(&mut wh, "first_alert_at <= ?", cut.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into(), &mut p);
        }
        if let Some(m) = f.min_priority {
            add(&mut wh, "priority >= ?", m.into(), &mut p);
        }
        if let Some(e) = &f.entity {
            add(&mut wh, "entity_id = ?", e.as_str().into(), &mut p);
        }
        if let Some(c) = &f.corridor {
            add(
                &mut wh,
                "EXISTS (SELECT 1 FROM case_payments p WHERE p.case_id = cases.id AND p.recipient_country = ?)",
                c.as_str().into(),
                &mut p,
            );
        }
        if !f.include_snoozed {
            add(&mut wh, "(snoozed_until IS NULL OR snoozed_until <= ?)", now.as_str().into(), &mut p);
        }
        let wsql = if wh.is_empty() { String::new() } else { format!(" WHERE {}", wh.join(" AND ")) };
        let limit = f.limit.unwrap_or(50).clamp(1, 500);
        let offset = f.offset.unwrap_or(0).max(0);
        let filter_json = json!({
            "state": f.state.map(|s| s.as_str()), "active": f.active, "assignee": f.assignee, "typology": f.typology,
            "min_age_days": f.min_age_days, "min_priority": f.min_priority, "entity": f.entity, "corridor": f.corridor,
            "limit": limit, "offset": offset,
        });
        self.write(|conn, chain, _| {
            conn.relax_commit()?;
            let mut cp = p.clone();
            cp.push((COUNT_CAP + 1).into());
            let total = conn
                .query(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM cases{wsql} LIMIT ${}) AS c", p.len() + 1), &cp)?;
            let total = total.first().map(|r| r[0].int()).unwrap_or(0);
            let more = total > COUNT_CAP;
            let total = total.min(COUNT_CAP);
            let mut q = p.clone();
            q.push(limit.into());
            q.push(offset.into());
            let sql = format!(
                "SELECT {SUMMARY_COLS} FROM cases{wsql} ORDER BY priority DESC, id LIMIT ${} OFFSET ${}",
                p.len() + 1,
                p.len() + 2
            );
            let cases: Vec<CaseSummary> = conn.query(&sql, &q)?.iter().map(|r| summary_of(r, &now)).collect();
            chain.push(&now, actor, "list", None, json!({"filter": filter_json, "returned": cases.len()}));
            Ok(Page { total, more, cases })
        })
    }

    /// For each recipient of a case's evidence, how many other entities with cases pay it
    /// too (from the case store's payments; the live engine knows more). Part of reading the
    /// case, so not audited apart.
    pub fn recipient_reach(&mut self, case_id: &str) -> Result<Vec<(String, i64)>, CaseError> {
        let rows = self.conn.query(
            "SELECT p.recipient_id, COUNT(DISTINCT o.sender_id) FROM (SELECT DISTINCT recipient_id, sender_id FROM case_payments WHERE case_id = $1) p \
             LEFT JOIN case_payments o ON o.recipient_id = p.recipient_id AND o.sender_id <> p.sender_id GROUP BY p.recipient_id ORDER BY p.recipient_id",
            &[case_id.into()],
        )?;
        Ok(rows.iter().map(|r| (r[0].string(), r[1].int())).collect())
    }

    /// Which of these payments are already recorded with their details in some case (the
    /// service's feed reads only the others from its payments log). Not audited: no user
    /// reads anything.
    pub fn recorded_payments(&mut self, ids: &[&str]) -> Result<std::collections::HashSet<String>, CaseError> {
        let mut out = std::collections::HashSet::new();
        for part in ids.chunks(500) {
            let marks: Vec<String> = (1..=part.len()).map(|i| format!("${i}")).collect();
            let params: Vec<Value> = part.iter().map(|t| (*t).into()).collect();
            let sql = format!("SELECT DISTINCT txn_id FROM case_payments WHERE txn_id IN ({})", marks.join(", "));
            out.extend(self.conn.query(&sql, &params)?.iter().map(|r| r[0].string()));
        }
        Ok(out)
    }

    /// A case's entity (type, id), for the service's own use (a seed after a confirmed case):
    /// no user reads anything, so nothing is audited.
    pub fn entity_of(&mut self, case_id: &str) -> Result<(String, String), CaseError> {
        let r = self.conn.query("SELECT entity_type, entity_id FROM cases WHERE id = $1", &[case_id.into()])?;
        r.first().map(|r| (r[0].string(), r[1].string())).ok_or_else(|| CaseError::NotFound(format!("case {case_id}")))
    }

    /// One case in full; the read is audited.
    pub fn get(&mut self, actor: &Actor, case_id: &str) -> Result<CaseDetail, CaseError> {
        need_role(actor, STAFF, "reading a case")?;
        self.write(|conn, chain, now| {
            conn.relax_commit()?;
            let r = conn.query(&format!("SELECT {SUMMARY_COLS} FROM cases WHERE id = $1"), &[case_id.into()])?;
            let row = r.first().ok_or_else(|| CaseError::NotFound(format!("case {case_id}")))?;
            chain.push(now, actor, "read", Some(case_id), json!({}));
            let id: Value = case_id.into();
            let alerts = conn
                .query(
                    "SELECT alert_id, typology, score, decision, raised_at, rules, reasons, txn_ids, rule_pack FROM case_alerts WHERE case_id = $1 ORDER BY raised_at, alert_id",
                    std::slice::from_ref(&id),
                )?
                .iter()
                .map(|a| CaseAlert {
                    alert_id: a[0].string(),
                    typology: a[1].string(),
                    score: a[2].real(),
                    decision: a[3].string(),
                    raised_at: a[4].string(),
                    rules: json_list(&a[5]),
                    reasons: json_list(&a[6]),
                    txn_ids: json_list(&a[7]),
                    rule_pack: a[8].opt(),
                })
                .collect();
            let payments = payments_of(conn, case_id)?;
            let notes = conn
                .query("SELECT id, at, author, body FROM notes WHERE case_id = $1 ORDER BY id", std::slice::from_ref(&id))?
                .iter()
                .map(|n| NoteView { id: n[0].int(), at: n[1].string(), author: n[2].string(), body: n[3].string() })
                .collect();
            let tags = conn
                .query("SELECT tag FROM tags WHERE case_id = $1 ORDER BY tag", std::slice::from_ref(&id))?
                .iter()
                .map(|t| t[0].string())
                .collect();
            let attachments = conn
                .query("SELECT name, sha256, bytes FROM attachments WHERE case_id = $1 ORDER BY at, name", std::slice::from_ref(&id))?
                .iter()
                .map(|t| (t[0].string(), t[1].string(), t[2].int()))
                .collect();
            let reports = reports_of(conn, case_id)?;
            let timeline = conn
                .query(&format!("{} WHERE case_id = $1 ORDER BY seq", crate::audit::SELECT), std::slice::from_ref(&id))?
                .iter()
                .map(|r| crate::audit::record_of(r))
                .collect();
            Ok(CaseDetail {
                summary: summary_of(row, now),
                disposition_reason: row[16].opt(),
                closed_at: row[17].opt(),
                closed_by: row[18].opt(),
                snooze_reason: row[19].opt(),
                alerts,
                payments,
                notes,
                tags,
                attachments,
                reports,
                timeline,
            })
        })
    }
}

pub(crate) fn payments_of(conn: &mut dyn crate::sql::Conn, case_id: &str) -> Result<Vec<PaymentIn>, CaseError> {
    Ok(conn
        .query(
            "SELECT txn_id, at, amount_minor, currency, sender_id, sender_name, sender_country, recipient_id, recipient_name, recipient_country, channel, reference FROM case_payments WHERE case_id = $1 ORDER BY at, txn_id",
            &[case_id.into()],
        )?
        .iter()
        .map(|p| PaymentIn {
            txn_id: p[0].string(),
            at: p[1].string(),
            amount_minor: p[2].int(),
            currency: p[3].string(),
            sender_id: p[4].string(),
            sender_name: p[5].opt(),
            sender_country: p[6].string(),
            recipient_id: p[7].string(),
            recipient_name: p[8].opt(),
            recipient_country: p[9].string(),
            channel: p[10].string(),
            reference: p[11].opt(),
        })
        .collect())
}

pub(crate) const REPORT_COLS: &str = "id, state, profile, narrative, problems, drafted_by, drafted_at, approved_by, approved_at, returned_comment, submitted_at, fiu_ref, fiu_status, fiu_message, refers_to, release_at";

pub(crate) fn report_of(r: &Row) -> ReportView {
    ReportView {
        report_id: r[0].string(),
        state: r[1].string(),
        profile: r[2].string(),
        narrative: r[3].string(),
        problems: json_list(&r[4]),
        drafted_by: r[5].string(),
        drafted_at: r[6].string(),
        approved_by: r[7].opt(),
        approved_at: r[8].opt(),
        returned_comment: r[9].opt(),
        submitted_at: r[10].opt(),
        fiu_ref: r[11].opt(),
        fiu_status: r[12].opt(),
        fiu_message: r[13].opt(),
        refers_to: r[14].opt(),
        release_at: r[15].opt(),
    }
}

pub(crate) fn reports_of(conn: &mut dyn crate::sql::Conn, case_id: &str) -> Result<Vec<ReportView>, CaseError> {
    Ok(conn
        .query(&format!("SELECT {REPORT_COLS} FROM reports WHERE case_id = $1 ORDER BY id DESC"), &[case_id.into()])?
        .iter()
        .map(report_of)
        .collect())
}
