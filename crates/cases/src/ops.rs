//! Changes to a case: assignment, state, notes, tags, attachments, snooze, disposition, and
//! the report's life (draft, return, approval by a different supervisor, filing). Each change
//! names the version the caller saw; the update only applies at that version, so of two
//! analysts acting at once one wins and the other gets [`CaseError::Conflict`] with the
//! changes made since.

use crate::audit::Chain;
use crate::query::{need_role, report_of, summary_of, CaseSummary, ReportView, REPORT_COLS, STAFF, SUMMARY_COLS};
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

/// A report draft as it is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftRecord {
    /// The FIU profile's name.
    pub profile: String,
    /// The narrative.
    pub narrative: String,
    /// The XML.
    pub xml: String,
    /// What stops it from being approved; empty: it can be approved.
    pub problems: Vec<String>,
    /// The earlier report a follow-up refers to.
    pub refers_to: Option<String>,
    /// The analyst's edits as JSON (kept for the next draft), if any.
    pub edits: Option<String>,
}

/// A block that follows an approved report: the reported customer's payments to the same
/// recipients are held until the FIU consents or the waiting period ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// The reported case.
    pub case_id: String,
    /// The customer.
    pub sender_id: String,
    /// The recipients of the reported payments.
    pub recipients: Vec<String>,
    /// Release time (UTC).
    pub until: String,
}

/// What a retention run deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionSummary {
    /// Cases deleted.
    pub cases: u64,
    /// Attachment files deleted.
    pub attachment_files: u64,
}

fn load(conn: &mut dyn Conn, case_id: &str, now: &str) -> Result<CaseSummary, CaseError> {
    let r = conn.query(&format!("SELECT {SUMMARY_COLS} FROM cases WHERE id = $1"), &[case_id.into()])?;
    r.first().map(|r| summary_of(r, now)).ok_or_else(|| CaseError::NotFound(format!("case {case_id}")))
}

/// Refuse a stale version with the changes since.
fn check_version(conn: &mut dyn Conn, c: &CaseSummary, expected: i64) -> Result<(), CaseError> {
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
fn update(
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

fn clean(text: &str, what: &str, max: usize) -> Result<String, CaseError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CaseError::Invalid(format!("{what} is empty")));
    }
    if t.len() > max {
        return Err(CaseError::Invalid(format!("{what} is longer than {max} bytes")));
    }
    Ok(t.to_string())
}

fn next(conn: &mut dyn Conn, counter: &str) -> Result<i64, CaseError> {
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

    /// Save a report draft (replacing an earlier draft or returned report of the case). With
    /// no problems the case moves to `pending_approval`; with problems it stays where it is.
    pub fn save_draft(
        &mut self,
        actor: &Actor,
        case_id: &str,
        version: i64,
        d: &DraftRecord,
    ) -> Result<(String, i64), CaseError> {
        let (profile, problems) = (d.profile.as_str(), &d.problems);
        need_role(actor, &[Role::Analyst, Role::Supervisor, Role::Admin], "drafting a report")?;
        self.write(|conn, chain, now| {
            let c = load(conn, case_id, now)?;
            check_version(conn, &c, version)?;
            if !c.state.active() {
                return Err(CaseError::Invalid(format!("case {case_id} is {}; reports are drafted for active cases", c.state.as_str())));
            }
            let open = conn.query("SELECT id FROM reports WHERE case_id = $1 AND state IN ('draft', 'returned')", &[case_id.into()])?;
            let id = match open.first() {
                Some(r) => r[0].string(),
                None => format!("R-{:06}", next(conn, "report")?),
            };
            conn.exec("DELETE FROM reports WHERE id = $1", &[id.as_str().into()])?;
            conn.exec(
                "INSERT INTO reports (id, case_id, state, profile, narrative, xml, problems, drafted_by, drafted_at, refers_to, edits) VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    id.as_str().into(),
                    case_id.into(),
                    profile.into(),
                    d.narrative.as_str().into(),
                    d.xml.as_str().into(),
                    json!(problems).to_string().into(),
                    actor.user.as_str().into(),
                    now.into(),
                    d.refers_to.clone().into(),
                    d.edits.clone().into(),
                ],
            )?;
            let to = if problems.is_empty() { CaseState::PendingApproval } else { c.state };
            let v = update(conn, case_id, version, now, "state = $4", vec![to.as_str().into()])?;
            chain.push(
                now,
                actor,
                "report_drafted",
                Some(case_id),
                json!({"report": id, "profile": profile, "problems": problems.len(), "state": to.as_str(), "version": v}),
            );
            Ok((id.clone(), v))
        })
    }

    /// A supervisor sends the draft back with a comment; the case returns to `investigating`.
    pub fn return_report(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
        comment: &str,
    ) -> Result<(), CaseError> {
        need_role(actor, &[Role::Supervisor, Role::Admin], "returning a report")?;
        let comment = clean(comment, "comment", 4000)?;
        self.write(|conn, chain, now| {
            let c = load(conn, case_id, now)?;
            let r = report_in(conn, case_id, report_id)?;
            if r.state != "draft" {
                return Err(CaseError::Invalid(format!("report {report_id} is {}, not a draft", r.state)));
            }
            conn.exec(
                "UPDATE reports SET state = 'returned', returned_comment = $1 WHERE id = $2",
                &[comment.as_str().into(), report_id.into()],
            )?;
            let v = update(conn, case_id, c.version, now, "state = 'investigating'", vec![])?;
            chain.push(now, actor, "report_returned", Some(case_id), json!({"report": report_id, "version": v}));
            Ok(())
        })
    }

    /// A supervisor other than the drafter approves: the report is final and the case
    /// `reported`. `release_at` is when the block on the customer's payments to the same
    /// recipients ends (FIU consent or the legal waiting period).
    pub fn approve(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
        release_at: &str,
    ) -> Result<ReportView, CaseError> {
        need_role(actor, &[Role::Supervisor, Role::Admin], "approving a report")?;
        self.write(|conn, chain, now| {
            let c = load(conn, case_id, now)?;
            let r = report_in(conn, case_id, report_id)?;
            if r.drafted_by == actor.user {
                return Err(CaseError::Forbidden(format!(
                    "four eyes: {} drafted report {report_id} and cannot approve it; another supervisor must",
                    actor.user
                )));
            }
            if r.state != "draft" {
                return Err(CaseError::Invalid(format!("report {report_id} is {}, not a draft", r.state)));
            }
            if !r.problems.is_empty() {
                return Err(CaseError::Invalid(format!(
                    "report {report_id} has {} validation problem(s); fix them and draft again: {}",
                    r.problems.len(),
                    r.problems.join("; ")
                )));
            }
            if c.state != CaseState::PendingApproval {
                return Err(CaseError::Invalid(format!("case {case_id} is {}, not pending_approval", c.state.as_str())));
            }
            conn.exec(
                "UPDATE reports SET state = 'approved', approved_by = $1, approved_at = $2, release_at = $3 WHERE id = $4",
                &[actor.user.as_str().into(), now.into(), release_at.into(), report_id.into()],
            )?;
            let v = update(conn, case_id, c.version, now, "state = 'reported', active_key = NULL", vec![])?;
            chain.push(now, actor, "report_approved", Some(case_id), json!({"report": report_id, "drafted_by": r.drafted_by, "release_at": release_at, "version": v}));
            report_in(conn, case_id, report_id)
        })
    }

    /// The report's XML, for download; recorded in the audit with the user.
    pub fn report_xml(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
    ) -> Result<(ReportView, String), CaseError> {
        need_role(actor, STAFF, "downloading a report")?;
        self.write(|conn, chain, _now| {
            let r = report_in(conn, case_id, report_id)?;
            let x = conn.query("SELECT xml FROM reports WHERE id = $1", &[report_id.into()])?;
            let xml = x.first().map(|r| r[0].string()).unwrap_or_default();
            chain.push(_now, actor, "report_downloaded", Some(case_id), json!({"report": report_id, "state": r.state}));
            Ok((r, xml))
        })
    }

    /// Record the filing: submitted, or the FIU's acknowledgement (with its reference number)
    /// or rejection (with its message).
    pub fn record_filing(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
        status: &str,
        fiu_ref: Option<&str>,
        message: Option<&str>,
    ) -> Result<ReportView, CaseError> {
        need_role(actor, STAFF, "recording a filing")?;
        if !matches!(status, "submitted" | "acknowledged" | "rejected") {
            return Err(CaseError::Invalid(format!("filing status `{status}`: submitted, acknowledged or rejected")));
        }
        self.write(|conn, chain, now| {
            let r = report_in(conn, case_id, report_id)?;
            if r.state != "approved" {
                return Err(CaseError::Invalid(format!("report {report_id} is {}; only an approved report is filed", r.state)));
            }
            conn.exec(
                "UPDATE reports SET fiu_status = $1, fiu_ref = COALESCE($2, fiu_ref), fiu_message = $3, submitted_at = COALESCE(submitted_at, $4) WHERE id = $5",
                &[status.into(), fiu_ref.into(), message.into(), now.into(), report_id.into()],
            )?;
            chain.push(now, actor, "filing_recorded", Some(case_id), json!({"report": report_id, "status": status, "fiu_ref": fiu_ref}));
            report_in(conn, case_id, report_id)
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

    /// Active blocks from approved reports: every reported sender case whose release time
    /// is still ahead.
    pub fn holds(&mut self) -> Result<Vec<Hold>, CaseError> {
        let now = self.now();
        let rows = self.conn.query(
            "SELECT c.id, c.entity_id, r.release_at FROM reports r JOIN cases c ON c.id = r.case_id WHERE r.state = 'approved' AND c.entity_type = 'sender' AND r.release_at > $1 ORDER BY c.id",
            &[now.as_str().into()],
        )?;
        let mut out = Vec::new();
        for r in rows {
            let rec = self
                .conn
                .query(
                    "SELECT DISTINCT recipient_id FROM case_payments WHERE case_id = $1 ORDER BY recipient_id",
                    &[r[0].clone()],
                )?
                .iter()
                .map(|x| x[0].string())
                .collect();
            out.push(Hold { case_id: r[0].string(), sender_id: r[1].string(), recipients: rec, until: r[2].string() });
        }
        Ok(out)
    }

    /// Delete cases that ended more than the rule's years ago, with everything they hold;
    /// the deletion is audited (how many, under which rule), the data is not.
    pub fn retention(&mut self, actor: &Actor, rules: &RetentionRules) -> Result<RetentionSummary, CaseError> {
        need_role(actor, &[Role::Admin, Role::System], "running retention")?;
        let cut = ((self.clock)() - chrono::Duration::days(rules.case_years * 365 + rules.case_years / 4))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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
                json!({"rule": format!("cases ended before {cut} ({} years)", rules.case_years), "cases": ids.len(), "attachment_files": removed}),
            );
            Ok(RetentionSummary { cases: ids.len() as u64, attachment_files: removed })
        })
    }

    /// Store customers' KYC fields (from the customer file) for reports: account -> fields.
    pub fn put_customers(&mut self, rows: &[(String, String, serde_json::Value)]) -> Result<u64, CaseError> {
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

    /// A customer's KYC fields by account id.
    pub fn customer(&mut self, account_id: &str) -> Result<Option<(String, serde_json::Value)>, CaseError> {
        let r =
            self.conn.query("SELECT customer_id, kyc FROM customers WHERE account_id = $1", &[account_id.into()])?;
        Ok(r.first().map(|r| (r[0].string(), serde_json::from_str(&r[1].string()).unwrap_or_default())))
    }
}

fn report_in(conn: &mut dyn Conn, case_id: &str, report_id: &str) -> Result<ReportView, CaseError> {
    let r = conn.query(
        &format!("SELECT {REPORT_COLS} FROM reports WHERE id = $1 AND case_id = $2"),
        &[report_id.into(), case_id.into()],
    )?;
    r.first().map(report_of).ok_or_else(|| CaseError::NotFound(format!("report {report_id} of case {case_id}")))
}
