//! Changes to a case: assignment, state, notes, tags, attachments, snooze, disposition, and
//! the report's life (draft, return, approval by a different supervisor, filing). Each change
//! names the version the caller saw; the update only applies at that version, so of two
//! analysts acting at once one wins and the other gets [`CaseError::Conflict`] with the
//! changes made since.

use crate::audit::Chain;
use crate::query::{need_role, summary_of, CaseSummary, STAFF, SUMMARY_COLS};
use crate::sql::{Conn, Value};
use crate::{Actor, CaseError, CaseState, Role, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The analysts confirmed OSEC payments.
    ConfirmedOsec,
    /// Not suspicious (a reason is required).
    FalsePositive,
    /// Suspicious, but of something else.
    NotOsecButSuspicious,
    /// Nothing to do.
    NoAction,
}

impl Disposition {
    /// The disposition's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::ConfirmedOsec => "confirmed_osec",
            Disposition::FalsePositive => "false_positive",
            Disposition::NotOsecButSuspicious => "not_osec_but_suspicious",
            Disposition::NoAction => "no_action",
        }
    }
    /// Parse a disposition name.
    pub fn parse(s: &str) -> Option<Disposition> {
        Some(match s {
            "confirmed_osec" => Disposition::ConfirmedOsec,
            "false_positive" => Disposition::FalsePositive,
            "not_osec_but_suspicious" => Disposition::NotOsecButSuspicious,
            "no_action" => Disposition::NoAction,
            _ => return None,
        })
    }
}

/// A closed case's decision, as exported for evaluation and for the engine's seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispositionRecord {
    /// The case.
    pub case_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: String,
    /// The case's typology.
    pub typology: String,
    /// The decision.
    pub disposition: String,
    /// Why (required for a false positive).
    pub reason: Option<String>,
    /// When it was closed (UTC).
    pub closed_at: String,
    /// Who closed it.
    pub closed_by: String,
    /// The alerts it covered.
    pub alert_ids: Vec<String>,
}

/// How long records are kept after a case ends (GwG §8: five years after the business
/// relationship ends; the case's closing is the moment this store knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRules {
    /// Closed or reported cases, with their alerts, payments, notes, reports and attachments.
    pub case_years: i64,
}

impl Default for RetentionRules {
    fn default() -> RetentionRules {
        RetentionRules { case_years: 5 }
    }
}

/// What a retention run deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionSummary {
    /// Cases deleted.
    pub cases: u64,
    /// Attachment files deleted.
    pub attachment_files: u64,
}

pub(crate) fn load(conn: &mut dyn Conn, case_id: &str, now: &str) -> Result<CaseSummary, CaseError> {
    let r = conn.query(&format!("SELECT {SUMMARY_COLS} FROM cases WHERE id = $1"), &[case_id.into()])?;
    r.first().map(|r| summary_of(r, now)).ok_or_else(|| CaseError::NotFound(format!("case {case_id}")))
}

/// Refuse a stale version with the changes since.
pub(crate) fn check_version(conn: &mut dyn Conn, c: &CaseSummary, expected: i64) -> Result<(), CaseError> {
    if c.version == expected {
        return Ok(());
    }
    let rows = conn.query(
        &format!("{} WHERE case_id = $1 AND action <> 'read' ORDER BY seq", crate::audit::SELECT),
        &[c.case_id.as_str().into()],
    )?;
    let changes = rows
        .iter()
        .map(|r| crate::audit::record_of(r))
        .filter(|r| r.detail.get("version").and_then(|v| v.as_i64()).is_some_and(|v| v > expected))
        .collect();
    Err(CaseError::Conflict { case_id: c.case_id.clone(), expected, current: c.version, changes })
}

/// Apply `set` (SQL assignments from `$3` on) at `expected`, bumping the version.
pub(crate) fn update(
    conn: &mut dyn Conn,
    case_id: &str,
    expected: i64,
    now: &str,
    set: &str,
    params: Vec<Value>,
) -> Result<i64, CaseError> {
    let mut p: Vec<Value> = vec![case_id.into(), expected.into(), now.into()];
    p.extend(params);
    let sql = format!("UPDATE cases SET version = version + 1, updated_at = $3, {set} WHERE id = $1 AND version = $2");
    if conn.exec(&sql, &p)? != 1 {
        // Only reachable if a writer bypassed the audit lock.
        return Err(CaseError::Db(format!("case {case_id} changed underneath")));
    }
    Ok(expected + 1)
}

pub(crate) fn clean(text: &str, what: &str, max: usize) -> Result<String, CaseError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CaseError::Invalid(format!("{what} is empty")));
    }
    if t.len() > max {
        return Err(CaseError::Invalid(format!("{what} is longer than {max} bytes")));
    }
    Ok(t.to_string())
}

pub(crate) fn next(conn: &mut dyn Conn, counter: &str) -> Result<i64, CaseError> {
    let r = conn.query("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", &[counter.into()])?;
    r.first().map(|r| r[0].int()).ok_or_else(|| CaseError::Db(format!("counter {counter} missing")))
}

impl Store {
    fn change(
        &mut self,
        actor: &Actor,
        case_id: &str,
        expected: i64,
        f: impl FnOnce(&mut dyn Conn, &mut Chain, &str, &CaseSummary) -> Result<serde_json::Value, CaseError>,
        action: &str,
    ) -> Result<i64, CaseError> {
        need_role(actor, STAFF, action)?;
        self.write(|conn, chain, now| {
            let c = load(conn, case_id, now)?;
            check_version(conn, &c, expected)?;
            let mut detail = f(conn, chain, now, &c)?;
            detail["version"] = json!(expected + 1);
            chain.push(now, actor, action, Some(case_id), detail);
            Ok(expected + 1)
        })
    }

    /// Assign the case to a user (or to nobody).
    pub fn assign(&mut self, actor: &Actor, case_id: &str, version: i64, to: Option<&str>) -> Result<i64, CaseError> {
        let to = to.map(|t| clean(t, "assignee", 128)).transpose()?;
        self.change(
            actor,
            case_id,
            version,
            |conn, _, now, c| {
                update(conn, case_id, version, now, "assignee = $4", vec![to.clone().into()])?;
                Ok(json!({"from": c.assignee, "to": to}))
            },
            "assigned",
        )
    }

    /// Move between `open` and `investigating` (the other states have their own steps).
    pub fn transition(&mut self, actor: &Actor, case_id: &str, version: i64, to: CaseState) -> Result<i64, CaseError> {
        self.change(
            actor,
            case_id,
            version,
            |conn, _, now, c| {
                let ok = matches!(
                    (c.state, to),
                    (CaseState::Open, CaseState::Investigating) | (CaseState::Investigating, CaseState::Open)
                );
                if !ok {
                    return Err(CaseError::Invalid(format!(
                        "case {case_id} cannot go from {} to {} this way ({})",
                        c.state.as_str(),
                        to.as_str(),
                        match to {
                            CaseState::PendingApproval => "draft a report without problems",
                            CaseState::Reported => "a supervisor approves the report",
                            CaseState::Closed => "close it with a disposition",
                            _ => "open <-> investigating only",
                        }
                    )));
                }
                update(conn, case_id, version, now, "state = $4", vec![to.as_str().into()])?;
                Ok(json!({"from": c.state.as_str(), "to": to.as_str()}))
            },
            "state_changed",
        )
    }

    /// Close with a disposition (a false positive needs a reason).
    pub fn close(
        &mut self,
        actor: &Actor,
        case_id: &str,
        version: i64,
        d: Disposition,
        reason: Option<&str>,
    ) -> Result<i64, CaseError> {
        let reason = reason.map(|r| clean(r, "reason", 4000)).transpose()?;
        if d == Disposition::FalsePositive && reason.is_none() {
            return Err(CaseError::Invalid("a false positive needs a reason".into()));
        }
        self.change(actor, case_id, version, |conn, _, now, c| {
            if matches!(c.state, CaseState::Closed | CaseState::PendingApproval) {
                return Err(CaseError::Invalid(format!(
                    "case {case_id} is {}: {}",
                    c.state.as_str(),
                    if c.state == CaseState::Closed { "already closed" } else { "a report waits for approval; have it returned first" }
                )));
            }
            update(
                conn,
                case_id,
                version,
                now,
                "state = 'closed', active_key = NULL, disposition = $4, disposition_reason = $5, closed_at = $3, closed_by = $6",
                vec![d.as_str().into(), reason.clone().into(), actor.user.as_str().into()],
            )?;
            Ok(json!({"from": c.state.as_str(), "disposition": d.as_str(), "reason": reason}))
        }, "closed")
    }

    /// Snooze until a time (RFC 3339), with a reason; the queue hides it until then.
    pub fn snooze(
        &mut self,
        actor: &Actor,
        case_id: &str,
        version: i64,
        until: &str,
        reason: &str,
    ) -> Result<i64, CaseError> {
        let until = chrono::DateTime::parse_from_rfc3339(until)
            .map_err(|_| CaseError::Invalid(format!("snooze until `{until}`: not an RFC 3339 time")))?
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let reason = clean(reason, "snooze reason", 1000)?;
        self.change(
            actor,
            case_id,
            version,
            |conn, _, now, c| {
                if !c.state.active() {
                    return Err(CaseError::Invalid(format!(
                        "case {case_id} is {}; only active cases are snoozed",
                        c.state.as_str()
                    )));
                }
                if until.as_str() <= now {
                    return Err(CaseError::Invalid("snooze until a time in the past".into()));
                }
                update(
                    conn,
                    case_id,
                    version,
                    now,
                    "snoozed_until = $4, snooze_reason = $5",
                    vec![until.as_str().into(), reason.as_str().into()],
                )?;
                Ok(json!({"until": until, "reason": reason}))
            },
            "snoozed",
        )
    }

    /// Add a note (no version needed: notes only add).
    pub fn add_note(&mut self, actor: &Actor, case_id: &str, body: &str) -> Result<i64, CaseError> {
        need_role(actor, STAFF, "adding a note")?;
        let body = clean(body, "note", 20_000)?;
        self.write(|conn, chain, now| {
            load(conn, case_id, now)?;
            let id = next(conn, "note")?;
            conn.exec(
                "INSERT INTO notes (id, case_id, at, author, body) VALUES ($1, $2, $3, $4, $5)",
                &[id.into(), case_id.into(), now.into(), actor.user.as_str().into(), body.as_str().into()],
            )?;
            chain.push(now, actor, "note_added", Some(case_id), json!({"note": id, "chars": body.chars().count()}));
            Ok(id)
        })
    }

    /// Add a tag.
    pub fn tag(&mut self, actor: &Actor, case_id: &str, tag: &str) -> Result<(), CaseError> {
        need_role(actor, STAFF, "tagging")?;
        let tag = clean(tag, "tag", 64)?;
        self.write(|conn, chain, now| {
            load(conn, case_id, now)?;
            conn.exec(
                "INSERT INTO tags (case_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[case_id.into(), tag.as_str().into()],
            )?;
            chain.push(now, actor, "tagged", Some(case_id), json!({"tag": tag}));
            Ok(())
        })
    }

    /// Store an attachment under its SHA-256 (in the data directory) and list it on the case.
    pub fn attach(&mut self, actor: &Actor, case_id: &str, name: &str, bytes: &[u8]) -> Result<String, CaseError> {
        need_role(actor, STAFF, "attaching")?;
        let name = clean(name, "attachment name", 255)?;
        let sha = hex::encode(Sha256::digest(bytes));
        let dir = self.attachments.clone();
        let path = dir.join(&sha);
        self.write(|conn, chain, now| {
            load(conn, case_id, now)?;
            if !path.exists() {
                std::fs::create_dir_all(&dir).map_err(|source| CaseError::Io { path: dir.clone(), source })?;
                let tmp = dir.join(format!("{sha}.tmp"));
                std::fs::write(&tmp, bytes)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|source| CaseError::Io { path: path.clone(), source })?;
            }
            conn.exec(
                "INSERT INTO attachments (case_id, sha256, name, bytes, at, author) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[case_id.into(), sha.as_str().into(), name.as_str().into(), (bytes.len() as i64).into(), now.into(), actor.user.as_str().into()],
            )?;
            chain.push(now, actor, "attached", Some(case_id), json!({"sha256": sha, "bytes": bytes.len()}));
            Ok(sha.clone())
        })
    }

    /// Read an attachment back (checked against its SHA-256).
    pub fn attachment(&mut self, actor: &Actor, case_id: &str, sha: &str) -> Result<Vec<u8>, CaseError> {
        need_role(actor, STAFF, "reading an attachment")?;
        let path = self.attachments.join(sha);
        self.write(|conn, chain, now| {
            let r = conn.query(
                "SELECT name FROM attachments WHERE case_id = $1 AND sha256 = $2",
                &[case_id.into(), sha.into()],
            )?;
            if r.is_empty() {
                return Err(CaseError::NotFound(format!("attachment {sha} of case {case_id}")));
            }
            let bytes = std::fs::read(&path).map_err(|source| CaseError::Io { path: path.clone(), source })?;
            if hex::encode(Sha256::digest(&bytes)) != sha {
                return Err(CaseError::Invalid(format!(
                    "attachment {sha}: the stored file no longer matches its SHA-256"
                )));
            }
            chain.push(now, actor, "attachment_read", Some(case_id), json!({"sha256": sha}));
            Ok(bytes)
        })
    }

    /// Dispositions of closed cases (for `eval --dispositions` and the engine's seeds).
    pub fn dispositions(&mut self, actor: &Actor) -> Result<Vec<DispositionRecord>, CaseError> {
        need_role(actor, STAFF, "exporting dispositions")?;
        self.write(|conn, chain, now| {
            let rows = conn.query(
                "SELECT id, entity_type, entity_id, typology, disposition, disposition_reason, closed_at, closed_by FROM cases WHERE disposition IS NOT NULL ORDER BY closed_at, id",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let alerts = conn
                    .query("SELECT alert_id FROM case_alerts WHERE case_id = $1 ORDER BY alert_id", &[r[0].clone()])?
                    .iter()
                    .map(|a| a[0].string())
                    .collect();
                out.push(DispositionRecord {
                    case_id: r[0].string(),
                    entity_type: r[1].string(),
                    entity_id: r[2].string(),
                    typology: r[3].string(),
                    disposition: r[4].string(),
                    reason: r[5].opt(),
                    closed_at: r[6].string(),
                    closed_by: r[7].string(),
                    alert_ids: alerts,
                });
            }
            chain.push(now, actor, "dispositions_exported", None, json!({"records": out.len()}));
            Ok(out)
        })
    }

    /// Delete cases whose retention period has run out, with everything they hold: the
    /// period begins at the end of the calendar year in which the case ended (GwG §8(4)), so a
    /// case closed in 2025 goes on 1 January 2031 with five years. The deletion is audited
    /// (how many, under which rule), the data is not.
    pub fn retention(&mut self, actor: &Actor, rules: &RetentionRules) -> Result<RetentionSummary, CaseError> {
        need_role(actor, &[Role::Admin, Role::System], "running retention")?;
        use chrono::Datelike;
        let year = i64::from((self.clock)().year()) - rules.case_years.max(0);
        let cut = format!("{year:04}-01-01T00:00:00Z");
        let dir = self.attachments.clone();
        self.write(|conn, chain, now| {
            let ids: Vec<Value> = conn
                .query(
                    "SELECT id FROM cases WHERE state IN ('closed', 'reported') AND COALESCE(closed_at, updated_at) < $1 ORDER BY id",
                    &[cut.as_str().into()],
                )?
                .into_iter()
                .map(|r| r[0].clone())
                .collect();
            let mut files = Vec::new();
            for id in &ids {
                for r in conn.query("SELECT sha256 FROM attachments WHERE case_id = $1", std::slice::from_ref(id))? {
                    files.push(r[0].string());
                }
                for t in ["case_alerts", "case_payments", "notes", "tags", "attachments", "reports"] {
                    conn.exec(&format!("DELETE FROM {t} WHERE case_id = $1"), std::slice::from_ref(id))?;
                }
                conn.exec("DELETE FROM cases WHERE id = $1", std::slice::from_ref(id))?;
            }
            let mut removed = 0u64;
            for sha in &files {
                // A file shared with a case that is kept stays.
                let still = conn.query("SELECT 1 FROM attachments WHERE sha256 = $1", &[sha.as_str().into()])?;
                if still.is_empty() && std::fs::remove_file(dir.join(sha)).is_ok() {
                    removed += 1;
                }
            }
            chain.push(
                now,
                actor,
                "retention_deleted",
                None,
                json!({"rule": format!("cases ended before {cut}: {} years after the end of the calendar year they ended in (GwG §8(4))", rules.case_years), "cases": ids.len(), "attachment_files": removed}),
            );
            Ok(RetentionSummary { cases: ids.len() as u64, attachment_files: removed })
        })
    }

    /// Store customers' KYC fields (from the customer file) for reports: account -> fields.
    pub(crate) fn put_customers(&mut self, rows: &[(String, String, serde_json::Value)]) -> Result<u64, CaseError> {
        let actor = Actor::system();
        self.write(|conn, chain, now| {
            let mut n = 0;
            for chunk in rows.chunks(crate::MAX_PARAMS / 3) {
                let mut sql = String::from("INSERT INTO customers (account_id, customer_id, kyc) VALUES ");
                let mut p = Vec::with_capacity(chunk.len() * 3);
                for (i, (a, c, k)) in chunk.iter().enumerate() {
                    crate::placeholders(&mut sql, i, 3);
                    p.extend([a.as_str().into(), c.as_str().into(), k.to_string().into()]);
                }
                sql.push_str(
                    " ON CONFLICT (account_id) DO UPDATE SET customer_id = excluded.customer_id, kyc = excluded.kyc",
                );
                n += conn.exec(&sql, &p)?;
            }
            chain.push(now, &actor, "customers_loaded", None, json!({"accounts": rows.len()}));
            Ok(n)
        })
    }
}
