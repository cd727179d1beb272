//! Versioned migrations, applied in order at open. A database written by an older version is
//! brought forward, never dropped; one written by a newer version is refused (its tables may
//! mean something this version does not know). The SQL is the common subset of SQLite and
//! PostgreSQL: TEXT, BIGINT, DOUBLE PRECISION, ON CONFLICT, RETURNING.

use crate::sql::{Conn, Value};
use crate::CaseError;

/// (version, what it adds, SQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "cases, their alerts and the audit chain",
        "
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('case', 0);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    typology TEXT NOT NULL,
    state TEXT NOT NULL,
    -- entity_type:entity_id while the case is not closed or reported: at most one active case
    -- per entity, enforced by the database whoever creates it.
    active_key TEXT UNIQUE,
    disposition TEXT,
    disposition_reason TEXT,
    closed_at TEXT,
    closed_by TEXT,
    assignee TEXT,
    score DOUBLE PRECISION NOT NULL,
    amount_minor BIGINT NOT NULL,
    priority DOUBLE PRECISION NOT NULL,
    first_alert_at TEXT NOT NULL,
    last_alert_at TEXT NOT NULL,
    snoozed_until TEXT,
    snooze_reason TEXT,
    follow_up_of TEXT,
    -- The strongest alert's first reason: why the case is in the queue, in one line.
    headline TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_priority ON cases (priority DESC, id);
CREATE INDEX cases_state_priority ON cases (state, priority DESC, id);
CREATE INDEX cases_assignee ON cases (assignee, priority DESC, id);
CREATE INDEX cases_typology ON cases (typology, priority DESC, id);
CREATE INDEX cases_entity ON cases (entity_id);
CREATE TABLE case_alerts (
    alert_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    typology TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    decision TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rules TEXT NOT NULL,
    reasons TEXT NOT NULL,
    txn_ids TEXT NOT NULL,
    rule_pack TEXT
);
CREATE INDEX case_alerts_case ON case_alerts (case_id);
CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_case ON audit (case_id, seq);
",
    ),
    (
        2,
        "evidence payments, notes, tags, attachments, reports, customers' KYC, retention",
        "
CREATE TABLE case_payments (
    case_id TEXT NOT NULL REFERENCES cases(id),
    txn_id TEXT NOT NULL,
    at TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_name TEXT,
    sender_country TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    recipient_name TEXT,
    recipient_country TEXT NOT NULL,
    channel TEXT NOT NULL,
    reference TEXT,
    PRIMARY KEY (case_id, txn_id)
);
CREATE TABLE notes (
    id BIGINT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notes_case ON notes (case_id);
INSERT INTO counters (name, value) VALUES ('note', 0);
CREATE TABLE tags (case_id TEXT NOT NULL REFERENCES cases(id), tag TEXT NOT NULL, PRIMARY KEY (case_id, tag));
CREATE TABLE attachments (
    case_id TEXT NOT NULL REFERENCES cases(id),
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    state TEXT NOT NULL,
    profile TEXT NOT NULL,
    narrative TEXT NOT NULL,
    xml TEXT NOT NULL,
    problems TEXT NOT NULL,
    drafted_by TEXT NOT NULL,
    drafted_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    returned_comment TEXT,
    submitted_at TEXT,
    fiu_ref TEXT,
    fiu_status TEXT,
    fiu_message TEXT,
    refers_to TEXT,
    release_at TEXT,
    -- The analyst's edits (narrative, indicators, added fields) as JSON, kept for redrafts.
    edits TEXT
);
CREATE INDEX reports_case ON reports (case_id);
INSERT INTO counters (name, value) VALUES ('report', 0);
CREATE TABLE customers (
    account_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    kyc TEXT NOT NULL
);
CREATE TABLE counterparties (account_id TEXT PRIMARY KEY, data TEXT NOT NULL);
",
    ),
    (
        3,
        "the workbench: evidence payments by recipient and by country",
        "
CREATE INDEX case_payments_recipient ON case_payments (recipient_id, sender_id);
CREATE INDEX case_payments_country ON case_payments (recipient_country, case_id);
",
    ),
    (
        4,
        "evidence payments by payment id (the service's feed asks which it already has)",
        "
CREATE INDEX case_payments_txn ON case_payments (txn_id);
",
    ),
    (
        5,
        "PostgreSQL: a case's alerts and evidence checked against it per statement, not per row",
        // SQLite keeps its row-level foreign keys (cheap there); see `POSTGRES_ONLY`.
        "",
    ),
];

/// Migrations with a PostgreSQL form of their own (version, SQL); SQLite applies the common one.
///
/// 5: PostgreSQL checks a foreign key with one query and a row lock per inserted row; an
/// import of 100,000 alerts inserts 600,000 rows that point at a case, and those checks were
/// about a third of the server's work (measured: 50,000 evidence rows took 0.49 s with the key
/// and 0.29 s without). The same rule, that every alert and evidence row belongs to a case
/// that exists, is kept by triggers that check a whole statement's rows with one anti-join,
/// and a deletion of cases that would leave rows behind is refused the same way (a case's id
/// never changes). A row-level
/// key also locks the case against a concurrent deletion; here every writer already takes the
/// audit chain's head first (`audit::Chain::lock`), so writes to cases are serial.
const POSTGRES_ONLY: &[(i64, &str)] = &[(
    5,
    "
ALTER TABLE case_payments DROP CONSTRAINT IF EXISTS case_payments_case_id_fkey;
ALTER TABLE case_alerts DROP CONSTRAINT IF EXISTS case_alerts_case_id_fkey;
CREATE FUNCTION osecwatch_rows_need_case() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = n.case_id)) THEN
        RAISE EXCEPTION 'insert into % names a case that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$body$;
CREATE FUNCTION osecwatch_cases_keep_rows() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM case_payments p WHERE p.case_id = o.id)
                                        OR EXISTS (SELECT 1 FROM case_alerts a WHERE a.case_id = o.id)) THEN
        RAISE EXCEPTION 'a deleted case still has alerts or evidence payments'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$body$;
CREATE TRIGGER case_payments_need_case AFTER INSERT ON case_payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION osecwatch_rows_need_case();
CREATE TRIGGER case_payments_need_case_upd AFTER UPDATE ON case_payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION osecwatch_rows_need_case();
CREATE TRIGGER case_alerts_need_case AFTER INSERT ON case_alerts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION osecwatch_rows_need_case();
CREATE TRIGGER case_alerts_need_case_upd AFTER UPDATE ON case_alerts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION osecwatch_rows_need_case();
CREATE TRIGGER cases_keep_rows AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION osecwatch_cases_keep_rows();
",
)];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 5;

/// Bring the database up to `target` (the newest unless a test asks for an older one).
pub(crate) fn migrate(conn: &mut dyn Conn, target: i64, now: &str) -> Result<Vec<i64>, CaseError> {
    conn.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")?;
    conn.begin()?;
    if conn.dialect() == "postgres" {
        // Two services starting at once on one database: the second waits for the first's
        // migrations instead of applying them again.
        if let Err(e) = conn.exec("LOCK TABLE schema_migrations IN EXCLUSIVE MODE", &[]) {
            conn.rollback();
            return Err(e);
        }
    }
    let done = conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]);
    let current = match done {
        Ok(r) => r.first().and_then(|r| r.first()).map(Value::int).unwrap_or(0),
        Err(e) => {
            conn.rollback();
            return Err(e);
        }
    };
    if current > SCHEMA_VERSION {
        conn.rollback();
        return Err(CaseError::Invalid(format!(
            "the case database is at schema version {current}, newer than this build knows ({SCHEMA_VERSION}); use a newer osecwatch"
        )));
    }
    let mut applied = Vec::new();
    for (v, name, sql) in MIGRATIONS {
        if *v <= current || *v > target {
            continue;
        }
        // PostgreSQL compares text under the database's collation (strcoll) unless told
        // otherwise; ids and ISO times want bytewise order, which is also SQLite's, so both
        // backends sort alike (measured: collation compares were the server's top cost in an
        // import).
        let own = POSTGRES_ONLY.iter().find(|(pv, _)| pv == v).map(|(_, s)| *s);
        let sql: std::borrow::Cow<str> = if conn.dialect() == "postgres" {
            std::borrow::Cow::Owned(own.unwrap_or(sql).replace(" TEXT", " TEXT COLLATE \"C\""))
        } else {
            std::borrow::Cow::Borrowed(sql)
        };
        let r = conn.batch(&sql).and_then(|_| {
            conn.exec(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                &[(*v).into(), (*name).into(), now.into()],
            )
        });
        if let Err(e) = r {
            conn.rollback();
            return Err(CaseError::Db(format!("migration {v} ({name}): {e}")));
        }
        applied.push(*v);
    }
    conn.commit()?;
    Ok(applied)
}
