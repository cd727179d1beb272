//! The case audit chain: every change to a case and every read of one, with the user, in a
//! table where each record carries the SHA-256 of its content and of the record before it.
//! Records are written in the same transaction as the change they describe, so a change
//! without its record (or the reverse) cannot be committed. `audit_head` holds the last seq
//! and hash; every writer locks it first, which also serialises writers on PostgreSQL.

use crate::sql::{Conn, Value};
use crate::CaseError;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One record of the case audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Wall-clock time of the action (RFC 3339, UTC).
    pub at: String,
    /// Who: a user name, or `system` for automatic steps.
    pub actor: String,
    /// The actor's role at the time.
    pub role: String,
    /// What was done (`case_created`, `read`, `note_added`, `report_approved`, ...).
    pub action: String,
    /// The case concerned, if any.
    pub case_id: Option<String>,
    /// Details as JSON (ids, versions, states; never the KYC data itself).
    pub detail: serde_json::Value,
}

pub(crate) fn digest(prev: &str, r: &AuditRecord) -> String {
    let canon = serde_json::to_string(&(r.seq, &r.at, &r.actor, &r.role, &r.action, &r.case_id, &r.detail, prev))
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(canon.as_bytes());
    hex::encode(h.finalize())
}

/// An open chain inside a write transaction: records are buffered and written in bulk.
pub(crate) struct Chain {
    pub(crate) seq: i64,
    pub(crate) hash: String,
    pending: Vec<(AuditRecord, String, String)>,
}

impl Chain {
    /// Lock the head (first statement of every write transaction) and read it.
    pub(crate) fn lock(conn: &mut dyn Conn) -> Result<Chain, CaseError> {
        // One statement takes the lock and reads the head.
        let r = conn.query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash", &[])?;
        let row = r.first().ok_or_else(|| CaseError::Db("audit_head has no row".into()))?;
        Ok(Chain { seq: row[0].int(), hash: row[1].string(), pending: Vec::new() })
    }

    pub(crate) fn push(
        &mut self,
        at: &str,
        actor: &crate::Actor,
        action: &str,
        case_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        self.seq += 1;
        let r = AuditRecord {
            seq: self.seq,
            at: at.to_string(),
            actor: actor.user.clone(),
            role: actor.role.as_str().to_string(),
            action: action.to_string(),
            case_id: case_id.map(str::to_string),
            detail,
        };
        let h = digest(&self.hash, &r);
        let prev = std::mem::replace(&mut self.hash, h.clone());
        self.pending.push((r, prev, h));
    }

    /// Write the buffered records and the new head.
    pub(crate) fn flush(&mut self, conn: &mut dyn Conn) -> Result<(), CaseError> {
        let rows: Vec<Vec<Value>> = self
            .pending
            .iter()
            .map(|(r, prev, h)| {
                vec![
                    r.seq.into(),
                    r.at.as_str().into(),
                    r.actor.as_str().into(),
                    r.role.as_str().into(),
                    r.action.as_str().into(),
                    r.case_id.clone().into(),
                    r.detail.to_string().into(),
                    prev.as_str().into(),
                    h.as_str().into(),
                ]
            })
            .collect();
        conn.bulk_insert(
            "audit",
            &["seq", "at", "actor", "role", "action", "case_id", "detail", "prev", "hash"],
            &rows,
            "",
        )?;
        self.pending.clear();
        conn.exec(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[self.seq.into(), self.hash.as_str().into()],
        )?;
        Ok(())
    }
}

pub(crate) fn record_of(row: &[Value]) -> AuditRecord {
    AuditRecord {
        seq: row[0].int(),
        at: row[1].string(),
        actor: row[2].string(),
        role: row[3].string(),
        action: row[4].string(),
        case_id: row[5].opt(),
        detail: serde_json::from_str(&row[6].string()).unwrap_or(serde_json::Value::Null),
    }
}

pub(crate) const SELECT: &str = "SELECT seq, at, actor, role, action, case_id, detail, prev, hash FROM audit";

/// What a check of the chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Records checked.
    pub records: i64,
    /// Every problem, in words; empty when the chain is intact.
    pub problems: Vec<String>,
}

/// Recompute every record's hash and link, and compare the end with the head.
pub(crate) fn verify(conn: &mut dyn Conn) -> Result<ChainReport, CaseError> {
    let mut rep = ChainReport::default();
    let mut prev = "0".repeat(64);
    let mut expect = 1;
    let mut after = 0i64;
    loop {
        // Paged, so a long chain is not held in memory at once.
        let rows = conn.query(&format!("{SELECT} WHERE seq > $1 ORDER BY seq LIMIT 10000"), &[after.into()])?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let r = record_of(row);
            let (stored_prev, stored_hash) = (row[7].string(), row[8].string());
            if r.seq != expect {
                rep.problems.push(format!("record {}: expected seq {expect} (records missing or reordered)", r.seq));
            }
            if stored_prev != prev {
                rep.problems.push(format!("record {}: does not link to the record before it", r.seq));
            }
            if digest(&stored_prev, &r) != stored_hash {
                rep.problems.push(format!("record {}: its content was changed after it was written", r.seq));
            }
            prev = stored_hash;
            expect = r.seq + 1;
            after = r.seq;
            rep.records += 1;
        }
    }
    let head = conn.query("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
    if let Some(h) = head.first() {
        if h[0].int() != after || h[1].string() != prev {
            rep.problems.push(format!(
                "the head says {} records, the chain ends at {after}: records were removed from the end or the head was changed",
                h[0].int()
            ));
        }
    }
    Ok(rep)
}
