//! One chunk of an import, in phases: load the alerts filed before and the entities' cases;
//! place each alert (join, open, re-open, follow up, suppress) and absorb it into its case,
//! in memory; reserve the new cases' ids; write cases, alerts, payments and audit records in
//! bulk; update the existing cases that changed, each at the version it was read at.

use super::{headline, priority, utc, AlertIn, ImportSummary, PaymentIn};
use crate::audit::Chain;
use crate::sql::{Conn, Row, Value};
use crate::{Actor, CaseError, CaseState};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// A case as the import works on it.
#[derive(Debug, Clone)]
struct Work {
    id: String,
    key: String,
    entity_type: String,
    entity_id: String,
    typology: String,
    state: CaseState,
    disposition: Option<String>,
    score: f64,
    amount: i64,
    first: String,
    last: String,
    version: i64,
    follow_up_of: Option<String>,
    headline: String,
    /// Not in the database yet.
    new: bool,
    /// Changed in this chunk.
    dirty: bool,
    /// Payments whose details were added in this chunk (so the amount is re-summed).
    paid: bool,
}

impl Work {
    /// A case opened by alert `a` (`follow_up_of`: the reported case it follows).
    fn fresh(id: &str, key: &str, a: &AlertIn, follow_up_of: Option<String>) -> Work {
        Work {
            id: id.to_string(),
            key: key.to_string(),
            entity_type: a.entity_type.clone(),
            entity_id: a.entity_id.clone(),
            typology: a.typology.clone(),
            state: CaseState::Open,
            disposition: None,
            score: a.score,
            amount: 0,
            first: utc(&a.raised_at),
            last: utc(&a.updated_at),
            headline: headline(a),
            version: 1,
            follow_up_of,
            new: true,
            dirty: true,
            paid: false,
        }
    }
}

const CASE_COLS: &str = "id, entity_type, entity_id, typology, state, disposition, score, amount_minor, first_alert_at, last_alert_at, version, follow_up_of, headline";

fn work_of(r: &Row) -> Work {
    let (et, eid) = (r[1].string(), r[2].string());
    Work {
        id: r[0].string(),
        key: format!("{et}:{eid}"),
        entity_type: et,
        entity_id: eid,
        typology: r[3].string(),
        state: CaseState::parse(&r[4].string()).unwrap_or(CaseState::Open),
        disposition: r[5].opt(),
        score: r[6].real(),
        amount: r[7].int(),
        first: r[8].string(),
        last: r[9].string(),
        version: r[10].int(),
        follow_up_of: r[11].opt(),
        headline: r[12].string(),
        new: false,
        dirty: false,
        paid: false,
    }
}

fn in_list(sql: &mut String, from: usize, n: usize) {
    use std::fmt::Write;
    sql.push('(');
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        let _ = write!(sql, "${}", from + i);
    }
    sql.push(')');
}

pub(super) fn import_chunk(
    conn: &mut dyn Conn,
    chain: &mut Chain,
    now: &str,
    actor: &Actor,
    alerts: &[AlertIn],
    payments: &HashMap<String, PaymentIn>,
) -> Result<ImportSummary, CaseError> {
    let mut c = Chunk::load(conn, alerts, now, actor)?;
    for a in alerts {
        if c.same.contains(&a.alert_id) {
            c.sum.unchanged += 1;
            continue;
        }
        let (case_id, how) = c.place(conn, chain, a)?;
        c.count(how);
        if how != Filed::Suppressed {
            c.absorb(&case_id, a, payments);
        }
        c.alert_rows.push((a, case_id));
    }
    c.reserve_ids(conn)?;
    c.write_new_cases(conn, chain)?;
    c.write_alerts(conn, chain)?;
    c.write_payments(conn)?;
    c.update_existing(conn)?;
    Ok(c.sum)
}

/// Where an alert went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filed {
    Created,
    Joined,
    Updated,
    Reopened,
    FollowUp,
    Suppressed,
}

/// One chunk's work: the cases it touches, in memory, and the rows it will write.
struct Chunk<'a> {
    now: &'a str,
    actor: &'a Actor,
    sum: ImportSummary,
    /// Alerts filed before -> their case.
    known: HashMap<String, String>,
    /// Alerts filed before exactly as given (nothing to do).
    same: HashSet<String>,
    /// Cases by id (new ones under a temporary `#newN` id until [`Chunk::reserve_ids`]).
    cases: HashMap<String, Work>,
    /// Entity key -> its current case (the active one, else the latest).
    current: HashMap<String, String>,
    /// Evidence of inactive cases, loaded when an alert needs to be compared with it.
    evidence: HashMap<String, HashSet<String>>,
    new_cases: Vec<String>,
    alert_rows: Vec<(&'a AlertIn, String)>,
    pay_rows: Vec<(String, &'a PaymentIn)>,
    seen_pay: HashSet<(String, String)>,
    /// Temporary id -> the case's real id.
    rename: HashMap<String, String>,
}

const ALERT_COLS: &[&str] = &[
    "alert_id",
    "case_id",
    "typology",
    "score",
    "decision",
    "raised_at",
    "updated_at",
    "rules",
    "reasons",
    "txn_ids",
    "rule_pack",
];
pub(crate) const PAY_COLS: &[&str] = &[
    "case_id",
    "txn_id",
    "at",
    "amount_minor",
    "currency",
    "sender_id",
    "sender_name",
    "sender_country",
    "recipient_id",
    "recipient_name",
    "recipient_country",
    "channel",
    "reference",
];
const CASE_INSERT_COLS: &[&str] = &[
    "id",
    "entity_type",
    "entity_id",
    "typology",
    "state",
    "active_key",
    "score",
    "amount_minor",
    "priority",
    "first_alert_at",
    "last_alert_at",
    "follow_up_of",
    "version",
    "created_at",
    "updated_at",
    "headline",
];

impl<'a> Chunk<'a> {
    /// The alerts filed before and the cases of the chunk's entities.
    fn load(
        conn: &mut dyn Conn,
        alerts: &'a [AlertIn],
        now: &'a str,
        actor: &'a Actor,
    ) -> Result<Chunk<'a>, CaseError> {
        let mut c = Chunk {
            now,
            actor,
            sum: ImportSummary { alerts_read: alerts.len() as u64, ..Default::default() },
            known: HashMap::new(),
            same: HashSet::new(),
            cases: HashMap::new(),
            current: HashMap::new(),
            evidence: HashMap::new(),
            new_cases: Vec::new(),
            alert_rows: Vec::new(),
            pay_rows: Vec::new(),
            seen_pay: HashSet::new(),
            rename: HashMap::new(),
        };
        let ids: Vec<Value> = alerts.iter().map(|a| a.alert_id.as_str().into()).collect();
        let mut sql =
            String::from("SELECT alert_id, case_id, txn_ids, updated_at, score FROM case_alerts WHERE alert_id IN ");
        in_list(&mut sql, 1, ids.len());
        let given: HashMap<&str, &AlertIn> = alerts.iter().map(|a| (a.alert_id.as_str(), a)).collect();
        for r in conn.query(&sql, &ids)? {
            let id = r[0].string();
            let unchanged = given.get(id.as_str()).is_some_and(|a| {
                r[3].string() == a.updated_at
                    && r[4].real() == a.score
                    && serde_json::from_str::<Vec<String>>(&r[2].string()).ok().as_ref() == Some(&a.txn_ids)
            });
            if unchanged {
                c.same.insert(id.clone());
            }
            c.known.insert(id, r[1].string());
        }
        let mut entity_ids: Vec<&str> = alerts.iter().map(|a| a.entity_id.as_str()).collect();
        entity_ids.sort_unstable();
        entity_ids.dedup();
        let mut sql = format!("SELECT {CASE_COLS} FROM cases WHERE entity_id IN ");
        in_list(&mut sql, 1, entity_ids.len());
        sql.push_str(" ORDER BY created_at, id");
        let p: Vec<Value> = entity_ids.iter().map(|e| (*e).into()).collect();
        for r in conn.query(&sql, &p)? {
            let w = work_of(&r);
            let replace = match c.current.get(&w.key).and_then(|id| c.cases.get(id)) {
                Some(old) => w.state.active() || !old.state.active(),
                None => true,
            };
            if replace {
                c.current.insert(w.key.clone(), w.id.clone());
            }
            c.cases.insert(w.id.clone(), w);
        }
        Ok(c)
    }

    fn count(&mut self, how: Filed) {
        let n = match how {
            Filed::Created => &mut self.sum.created,
            Filed::Joined => &mut self.sum.joined,
            Filed::Updated => &mut self.sum.updated,
            Filed::Reopened => &mut self.sum.reopened,
            Filed::FollowUp => &mut self.sum.follow_ups,
            Filed::Suppressed => &mut self.sum.suppressed,
        };
        *n += 1;
    }

    /// A new case for alert `a` (a follow-up of `of` when given).
    fn open(&mut self, key: &str, a: &AlertIn, of: Option<String>) -> String {
        let tmp = format!("#new{}", self.new_cases.len() + 1);
        self.cases.insert(tmp.clone(), Work::fresh(&tmp, key, a, of));
        self.current.insert(key.to_string(), tmp.clone());
        self.new_cases.push(tmp.clone());
        tmp
    }

    /// The case alert `a` goes to: its own case if filed before, else the entity's active
    /// case, a closed case re-opened by new payments, a follow-up of a reported case, or a
    /// new case.
    fn place(&mut self, conn: &mut dyn Conn, chain: &mut Chain, a: &AlertIn) -> Result<(String, Filed), CaseError> {
        let key = format!("{}:{}", a.entity_type, a.entity_id);
        let target = self.known.get(&a.alert_id).or_else(|| self.current.get(&key)).cloned();
        let Some((id, st)) = target.and_then(|id| self.cases.get(&id)).map(|w| (w.id.clone(), w.state)) else {
            return Ok((self.open(&key, a, None), Filed::Created));
        };
        if st.active() {
            let how = if self.known.contains_key(&a.alert_id) { Filed::Updated } else { Filed::Joined };
            return Ok((id, how));
        }
        if !self.evidence.contains_key(&id) {
            self.evidence.insert(id.clone(), load_evidence(conn, &id)?);
        }
        let had = &self.evidence[&id];
        let fresh = a.txn_ids.iter().filter(|t| !had.contains(*t)).count();
        let (now, actor) = (self.now, self.actor);
        let w = self.cases.get_mut(&id).ok_or_else(|| CaseError::Db(format!("case {id} vanished")))?;
        if fresh == 0 {
            let why = format!("no payments the case did not already have since it was {}", closed_words(w));
            chain.push(now, actor, "alert_suppressed", Some(&id), json!({"alert_id": a.alert_id, "why": why}));
            return Ok((id, Filed::Suppressed));
        }
        if st == CaseState::Reported {
            return Ok((self.open(&key, a, Some(id)), Filed::FollowUp));
        }
        let why = format!("re-opened: {fresh} new payment(s) since it was {}", closed_words(w));
        w.state = CaseState::Open;
        w.disposition = None;
        w.dirty = true;
        chain.push(
            now,
            actor,
            "case_reopened",
            Some(&id),
            json!({"alert_id": a.alert_id, "why": why, "new_payments": fresh}),
        );
        Ok((id, Filed::Reopened))
    }

    /// What alert `a` adds to its case: score, times, headline, evidence payments.
    fn absorb(&mut self, case_id: &str, a: &AlertIn, payments: &'a HashMap<String, PaymentIn>) {
        let Some(w) = self.cases.get_mut(case_id) else { return };
        if a.score > w.score {
            w.score = a.score;
            w.headline = headline(a);
        }
        let (first, last) = (utc(&a.raised_at), utc(&a.updated_at));
        if first < w.first {
            w.first = first;
        }
        if last > w.last {
            w.last = last;
        }
        w.dirty = true;
        for t in &a.txn_ids {
            if let Some(p) = payments.get(t) {
                if self.seen_pay.insert((case_id.to_string(), t.clone())) {
                    self.pay_rows.push((case_id.to_string(), p));
                    if w.new {
                        w.amount += p.amount_minor;
                    }
                    w.paid = true;
                }
            }
        }
        if let Some(ev) = self.evidence.get_mut(case_id) {
            ev.extend(a.txn_ids.iter().cloned());
        }
    }

    /// Real ids for the new cases, from the counter (serialised by the audit lock).
    fn reserve_ids(&mut self, conn: &mut dyn Conn) -> Result<(), CaseError> {
        if self.new_cases.is_empty() {
            return Ok(());
        }
        let r = conn.query(
            "UPDATE counters SET value = value + $1 WHERE name = 'case' RETURNING value",
            &[(self.new_cases.len() as i64).into()],
        )?;
        let last = r.first().map(|r| r[0].int()).unwrap_or(0);
        let first = last - self.new_cases.len() as i64 + 1;
        for (i, tmp) in self.new_cases.iter().enumerate() {
            self.rename.insert(tmp.clone(), format!("C-{:06}", first + i as i64));
        }
        Ok(())
    }

    fn real(&self, id: &str) -> String {
        self.rename.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    fn is_new(&self, id: &str) -> bool {
        self.cases.get(id).is_some_and(|w| w.new)
    }

    /// New cases in bulk, each with its audit record naming its first alerts. A concurrent
    /// creator of the same entity's case cannot slip in (the audit lock serialises writers);
    /// the unique active_key would refuse it if it did.
    fn write_new_cases(&self, conn: &mut dyn Conn, chain: &mut Chain) -> Result<(), CaseError> {
        let now = self.now;
        let rows: Vec<Vec<Value>> = self
            .new_cases
            .iter()
            .map(|t| {
                let w = &self.cases[t];
                vec![
                    self.real(&w.id).into(),
                    w.entity_type.as_str().into(),
                    w.entity_id.as_str().into(),
                    w.typology.as_str().into(),
                    w.state.as_str().into(),
                    w.key.as_str().into(),
                    w.score.into(),
                    w.amount.into(),
                    priority(w.score, w.amount).into(),
                    w.first.as_str().into(),
                    w.last.as_str().into(),
                    w.follow_up_of.clone().into(),
                    1i64.into(),
                    now.into(),
                    now.into(),
                    w.headline.as_str().into(),
                ]
            })
            .collect();
        conn.bulk_insert("cases", CASE_INSERT_COLS, &rows, "")?;
        let mut first_alerts: HashMap<&str, Vec<&str>> = HashMap::new();
        for (a, case) in self.alert_rows.iter().filter(|(_, c)| self.is_new(c)) {
            first_alerts.entry(case.as_str()).or_default().push(a.alert_id.as_str());
        }
        for t in &self.new_cases {
            let w = &self.cases[t];
            let alerts = first_alerts.get(t.as_str()).cloned().unwrap_or_default();
            let mut detail = json!({"entity_type": w.entity_type, "typology": w.typology, "alerts": alerts});
            let action = match &w.follow_up_of {
                Some(first) => {
                    detail["refers_to"] = json!(first);
                    "follow_up_opened"
                }
                None => "case_created",
            };
            chain.push(now, self.actor, action, Some(&self.real(t)), detail);
        }
        Ok(())
    }

    /// Alerts: new ones cannot conflict and go in directly, known ones are upserted; the
    /// same alert twice in one chunk keeps its last line. An alert joining an existing case
    /// gets its own audit record.
    fn write_alerts(&self, conn: &mut dyn Conn, chain: &mut Chain) -> Result<(), CaseError> {
        let last_of: HashMap<&str, usize> =
            self.alert_rows.iter().enumerate().map(|(i, (a, _))| (a.alert_id.as_str(), i)).collect();
        let (mut fresh, mut again): (Vec<Vec<Value>>, Vec<Vec<Value>>) = (Vec::new(), Vec::new());
        for (i, (a, case)) in self.alert_rows.iter().enumerate() {
            if !self.is_new(case) {
                let detail = json!({"alert_id": a.alert_id, "score": a.score, "payments": a.txn_ids.len()});
                chain.push(self.now, self.actor, "alert_filed", Some(&self.real(case)), detail);
            }
            if last_of[a.alert_id.as_str()] != i {
                continue;
            }
            let row = vec![
                a.alert_id.as_str().into(),
                self.real(case).into(),
                a.typology.as_str().into(),
                a.score.into(),
                a.decision.as_str().into(),
                a.raised_at.as_str().into(),
                a.updated_at.as_str().into(),
                json!(a.typologies).to_string().into(),
                json!(a.reasons).to_string().into(),
                json!(a.txn_ids).to_string().into(),
                a.rule_pack.clone().into(),
            ];
            if self.known.contains_key(&a.alert_id) {
                again.push(row);
            } else {
                fresh.push(row);
            }
        }
        conn.bulk_insert("case_alerts", ALERT_COLS, &fresh, "")?;
        conn.bulk_insert(
            "case_alerts",
            ALERT_COLS,
            &again,
            "ON CONFLICT (alert_id) DO UPDATE SET case_id = excluded.case_id, score = excluded.score, decision = excluded.decision, updated_at = excluded.updated_at, rules = excluded.rules, reasons = excluded.reasons, txn_ids = excluded.txn_ids, rule_pack = excluded.rule_pack",
        )?;
        Ok(())
    }

    /// Evidence payments: a new case's cannot be there yet; an existing case's may be.
    fn write_payments(&mut self, conn: &mut dyn Conn) -> Result<(), CaseError> {
        let (mut fresh, mut again): (Vec<Vec<Value>>, Vec<Vec<Value>>) = (Vec::new(), Vec::new());
        for (case, x) in &self.pay_rows {
            let row = vec![
                self.real(case).into(),
                x.txn_id.as_str().into(),
                x.at.as_str().into(),
                x.amount_minor.into(),
                x.currency.as_str().into(),
                x.sender_id.as_str().into(),
                x.sender_name.clone().into(),
                x.sender_country.as_str().into(),
                x.recipient_id.as_str().into(),
                x.recipient_name.clone().into(),
                x.recipient_country.as_str().into(),
                x.channel.as_str().into(),
                x.reference.clone().into(),
            ];
            if self.is_new(case) {
                fresh.push(row);
            } else {
                again.push(row);
            }
        }
        self.sum.payments_recorded += conn.bulk_insert("case_payments", PAY_COLS, &fresh, "")?;
        self.sum.payments_recorded +=
            conn.bulk_insert("case_payments", PAY_COLS, &again, "ON CONFLICT (case_id, txn_id) DO NOTHING")?;
        Ok(())
    }

    /// Existing cases that changed: one statement each (few: most alerts open new cases).
    fn update_existing(&self, conn: &mut dyn Conn) -> Result<(), CaseError> {
        for w in self.cases.values().filter(|w| !w.new && w.dirty) {
            let amount = if w.paid {
                let r = conn.query(
                    "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM case_payments WHERE case_id = $1",
                    &[w.id.as_str().into()],
                )?;
                r.first().map(|r| r[0].int()).unwrap_or(w.amount)
            } else {
                w.amount
            };
            let active: Value = if w.state.active() { w.key.as_str().into() } else { Value::Null };
            let n = conn.exec(
                "UPDATE cases SET state = $1, active_key = $2, disposition = $3, score = $4, amount_minor = $5, priority = $6, first_alert_at = $7, last_alert_at = $8, version = version + 1, updated_at = $9, headline = $12 WHERE id = $10 AND version = $11",
                &[
                    w.state.as_str().into(),
                    active,
                    w.disposition.clone().into(),
                    w.score.into(),
                    amount.into(),
                    priority(w.score, amount).into(),
                    w.first.as_str().into(),
                    w.last.as_str().into(),
                    self.now.into(),
                    w.id.as_str().into(),
                    w.version.into(),
                    w.headline.as_str().into(),
                ],
            )?;
            if n != 1 {
                return Err(CaseError::Db(format!("case {} changed during the import; run it again", w.id)));
            }
        }
        Ok(())
    }
}

fn closed_words(w: &Work) -> String {
    match (w.state, &w.disposition) {
        (CaseState::Reported, _) => "reported".into(),
        (_, Some(d)) => format!("closed as {d}"),
        _ => "closed".into(),
    }
}

fn load_evidence(conn: &mut dyn Conn, case_id: &str) -> Result<HashSet<String>, CaseError> {
    let mut set = HashSet::new();
    for r in conn.query("SELECT txn_ids FROM case_alerts WHERE case_id = $1", &[case_id.into()])? {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(&r[0].string()) {
            set.extend(v);
        }
    }
    for r in conn.query("SELECT txn_id FROM case_payments WHERE case_id = $1", &[case_id.into()])? {
        set.insert(r[0].string());
    }
    Ok(set)
}
