//! A report's life after drafting starts: the draft saved, returned by a supervisor, approved
//! by a supervisor other than the drafter, downloaded, filed; and the holds that approved
//! reports put on the reported customer's payments to the same recipients.

use crate::ops::{check_version, clean, load, next, update};
use crate::query::{need_role, report_of, ReportView, REPORT_COLS, STAFF};
use crate::sql::Conn;
use crate::{Actor, CaseError, CaseState, Role, Store};
use serde::Serialize;
use serde_json::json;

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

impl Store {
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
        self.report_text(actor, case_id, report_id, "report_downloaded")
    }

    /// The report's XML shown on screen (the workbench's preview): audited as a view, not a
    /// download.
    pub fn report_preview(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
    ) -> Result<(ReportView, String), CaseError> {
        self.report_text(actor, case_id, report_id, "report_viewed")
    }

    fn report_text(
        &mut self,
        actor: &Actor,
        case_id: &str,
        report_id: &str,
        action: &str,
    ) -> Result<(ReportView, String), CaseError> {
        need_role(actor, STAFF, "reading a report")?;
        self.write(|conn, chain, now| {
            let r = report_in(conn, case_id, report_id)?;
            let x = conn.query("SELECT xml FROM reports WHERE id = $1", &[report_id.into()])?;
            let xml = x.first().map(|r| r[0].string()).unwrap_or_default();
            chain.push(now, actor, action, Some(case_id), json!({"report": report_id, "state": r.state}));
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

    /// Read the FIU's answers to filed reports: CSV with a header naming at least
    /// `entity_reference` (the case id, which every report carries as its `entity_reference`)
    /// and `status`, and optionally `fiu_reference` and `message`; other columns are read
    /// past. Each answer is recorded on the case's approved report as [`Store::record_filing`]
    /// records one typed in by hand. Status words map as goAML's do: `accepted`, `processed`,
    /// `acknowledged` -> acknowledged; `rejected`, `failed` -> rejected; `submitted`,
    /// `received` -> submitted. A line that cannot be used is named with its line and reason
    /// (case ids and status words only: an answer file holds no personal data we would log),
    /// and the rest are recorded: read = recorded + rejected.
    pub fn import_fiu_answers(&mut self, actor: &Actor, csv_text: &str) -> Result<AnswerImport, CaseError> {
        need_role(actor, STAFF, "recording a filing")?;
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(csv_text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| CaseError::Invalid(format!("answer file: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let (Some(case_col), Some(status_col)) = (col("entity_reference"), col("status")) else {
            return Err(CaseError::Invalid(format!(
                "answer file: the header needs `entity_reference` and `status` (it has: {})",
                header.join(", ")
            )));
        };
        let (ref_col, msg_col) = (col("fiu_reference"), col("message"));
        let mut out = AnswerImport::default();
        for rec in r.records() {
            out.read += 1;
            let line = out.read + 1;
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    out.rejected.push((line, format!("not CSV: {e}")));
                    continue;
                }
            };
            let field = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).filter(|s| !s.is_empty());
            let Some(case_id) = field(Some(case_col)) else {
                out.rejected.push((line, "empty entity_reference".into()));
                continue;
            };
            let word = field(Some(status_col)).unwrap_or("").to_ascii_lowercase();
            let status = match word.as_str() {
                "accepted" | "processed" | "acknowledged" => "acknowledged",
                "rejected" | "failed" => "rejected",
                "submitted" | "received" => "submitted",
                _ => {
                    let why = format!(
                        "status `{word}`: accepted, processed, acknowledged, rejected, failed, submitted or received"
                    );
                    out.rejected.push((line, why));
                    continue;
                }
            };
            let report = match self.latest_approved_report(case_id)? {
                Some(rep) => rep,
                None => {
                    out.rejected.push((line, format!("case {case_id} has no approved report to answer")));
                    continue;
                }
            };
            match self.record_filing(actor, case_id, &report, status, field(ref_col), field(msg_col)) {
                Ok(_) => out.recorded.push((case_id.to_string(), report, status.to_string())),
                Err(CaseError::Invalid(m)) | Err(CaseError::NotFound(m)) => out.rejected.push((line, m)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The id of a case's latest approved report, if it has one.
    fn latest_approved_report(&mut self, case_id: &str) -> Result<Option<String>, CaseError> {
        let rows = self.conn.query(
            "SELECT id FROM reports WHERE case_id = $1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
            &[case_id.into()],
        )?;
        Ok(rows.first().map(|r| r[0].string()))
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
}

fn report_in(conn: &mut dyn Conn, case_id: &str, report_id: &str) -> Result<ReportView, CaseError> {
    let r = conn.query(
        &format!("SELECT {REPORT_COLS} FROM reports WHERE id = $1 AND case_id = $2"),
        &[report_id.into(), case_id.into()],
    )?;
    r.first().map(report_of).ok_or_else(|| CaseError::NotFound(format!("report {report_id} of case {case_id}")))
}

/// What an FIU answer file did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AnswerImport {
    /// Data lines read: `recorded.len() + rejected.len()`.
    pub read: u64,
    /// (case, report, status) recorded.
    pub recorded: Vec<(String, String, String)>,
    /// (line, reason) of the lines not used.
    pub rejected: Vec<(u64, String)>,
}
