//! Cases: the alerts of one entity gathered for an investigation, with the payments as
//! evidence, notes, tags, attachments, an assignee, a priority, a state, a disposition, and
//! the suspicious transaction reports drafted from them, approved by a second person.
//!
//! One [`Store`] over two databases: embedded SQLite (the default: a file in the data
//! directory) and PostgreSQL. Every operation is written once against a small connection
//! interface (`sql.rs`); migrations (`schema.rs`) are applied at open. Every change and
//! every read of a case is written to a hash-chained audit table in the same transaction
//! (`audit.rs`). Changes to a case carry the version the caller saw; a stale version is
//! refused with what changed since ([`CaseError::Conflict`]).
//!
//! Library code: nothing here prints; times come from the caller's clock.

mod audit;
pub mod files;
mod filing;
mod import;
mod ops;
mod query;
mod report;
mod schema;
mod sql;
mod stats;

pub use audit::{AuditRecord, ChainReport};
pub use filing::{AnswerImport, DraftRecord, Hold};
pub use import::{AlertIn, ImportSummary, PaymentIn};
pub use ops::{Disposition, DispositionRecord, RetentionRules, RetentionSummary};
pub use query::{CaseAlert, CaseDetail, CaseSummary, Filter, NoteView, Page, ReportView};
pub use report::{DraftEdits, Drafted, ReportSettings};
pub use schema::SCHEMA_VERSION;
pub use stats::{AgeBand, Dashboard, DayCount, RuleYield};

use serde::{Deserialize, Serialize};
use sql::Conn;
use std::path::{Path, PathBuf};

/// At most this many parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
pub(crate) const MAX_PARAMS: usize = 30_000;

/// Append `($k, $k+1, ...)` for row `i` of a multi-row insert.
pub(crate) fn placeholders(sql: &mut String, i: usize, cols: usize) {
    use std::fmt::Write;
    if i > 0 {
        sql.push(',');
    }
    sql.push('(');
    for c in 0..cols {
        if c > 0 {
            sql.push(',');
        }
        let _ = write!(sql, "${}", i * cols + c + 1);
    }
    sql.push(')');
}

/// Why a case operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The database refused or could not be reached.
    #[error("{0}")]
    Db(String),
    /// No case (or report) with this id.
    #[error("{0} not found")]
    NotFound(String),
    /// The caller's role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The case changed since the caller read it.
    #[error("case {case_id} is at version {current}, not {expected}: it changed since you read it ({})", changes.iter().map(|c| c.action.as_str()).collect::<Vec<_>>().join(", "))]
    Conflict {
        /// The case.
        case_id: String,
        /// The version the caller sent.
        expected: i64,
        /// The version now.
        current: i64,
        /// The audit records of the changes since `expected`.
        changes: Vec<AuditRecord>,
    },
    /// The action is not possible in the case's state, or an argument is wrong.
    #[error("{0}")]
    Invalid(String),
    /// An attachment could not be stored.
    #[error("attachment store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Investigates cases and drafts reports.
    Analyst,
    /// Also approves reports drafted by someone else.
    Supervisor,
    /// Everything, and administration (retention).
    Admin,
    /// Automatic steps: alert import, retention job.
    System,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }
    /// Parse a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "analyst" => Role::Analyst,
            "supervisor" => Role::Supervisor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Who acts: a named user with a role. Approval compares users, never tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's name.
    pub user: String,
    /// The user's role.
    pub role: Role,
}

impl Actor {
    /// A named user.
    pub fn new(user: &str, role: Role) -> Actor {
        Actor { user: user.to_string(), role }
    }
    /// The automatic actor (alert import, retention).
    pub fn system() -> Actor {
        Actor { user: "system".into(), role: Role::System }
    }
}

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// New, not yet looked at.
    Open,
    /// An analyst is working on it.
    Investigating,
    /// A report is drafted and waits for a supervisor.
    PendingApproval,
    /// The report was approved for filing.
    Reported,
    /// Closed with a disposition.
    Closed,
}

impl CaseState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Investigating => "investigating",
            CaseState::PendingApproval => "pending_approval",
            CaseState::Reported => "reported",
            CaseState::Closed => "closed",
        }
    }
    /// Parse a state name.
    pub fn parse(s: &str) -> Option<CaseState> {
        Some(match s {
            "open" => CaseState::Open,
            "investigating" => CaseState::Investigating,
            "pending_approval" => CaseState::PendingApproval,
            "reported" => CaseState::Reported,
            "closed" => CaseState::Closed,
            _ => return None,
        })
    }
    /// Whether the case is still being worked (it holds the entity's one active slot).
    pub fn active(self) -> bool {
        matches!(self, CaseState::Open | CaseState::Investigating | CaseState::PendingApproval)
    }
}

/// Which database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL and the schema to use (created if missing).
    Postgres {
        /// `postgres://user@host:port/db` or a key=value string.
        url: String,
        /// Schema for the tables (`public` when none).
        schema: Option<String>,
    },
}

impl Backend {
    /// `--db` as the CLI takes it: a `postgres://` or `postgresql://` URL, or a SQLite path
    /// (default: `cases.sqlite` in the data directory).
    pub fn parse(db: Option<&str>, data_dir: &Path, schema: Option<&str>) -> Backend {
        match db {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Backend::Postgres { url: u.to_string(), schema: schema.map(str::to_string) }
            }
            Some(p) => Backend::Sqlite(PathBuf::from(p)),
            None => Backend::Sqlite(data_dir.join("cases.sqlite")),
        }
    }
}

/// A clock for the store's wall-clock times (tests fix it).
pub type Clock = Box<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send>;

/// The case store.
pub struct Store {
    conn: Box<dyn Conn>,
    attachments: PathBuf,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.conn.dialect())
    }
}

impl Store {
    /// Open (and migrate) a store; attachments go to `data_dir/attachments`.
    pub fn open(backend: &Backend, data_dir: &Path) -> Result<Store, CaseError> {
        Store::open_at(backend, data_dir, SCHEMA_VERSION)
    }

    /// Open and migrate only up to `version` (to test upgrades from older databases).
    pub fn open_at(backend: &Backend, data_dir: &Path, version: i64) -> Result<Store, CaseError> {
        let conn: Box<dyn Conn> = match backend {
            Backend::Sqlite(p) => {
                if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(d).map_err(|source| CaseError::Io { path: d.to_path_buf(), source })?;
                }
                Box::new(sql::Sqlite::open(p)?)
            }
            Backend::Postgres { url, schema } => Box::new(sql::Postgres::connect(url, schema.as_deref())?),
        };
        let mut s = Store { conn, attachments: data_dir.join("attachments"), clock: Box::new(chrono::Utc::now) };
        let now = s.now();
        schema::migrate(s.conn.as_mut(), version, &now)?;
        Ok(s)
    }

    /// Use another clock (tests, replays).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// `sqlite` or `postgres`.
    pub fn dialect(&self) -> &'static str {
        self.conn.dialect()
    }

    /// The schema version the database is at.
    pub fn schema_version(&mut self) -> Result<i64, CaseError> {
        let r = self.conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
        Ok(r.first().map(|r| r[0].int()).unwrap_or(0))
    }

    pub(crate) fn now(&self) -> String {
        (self.clock)().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Run `f` in a write transaction with the audit chain locked; the chain's buffered
    /// records are written before commit. Any error rolls everything back.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Conn, &mut audit::Chain, &str) -> Result<T, CaseError>,
    ) -> Result<T, CaseError> {
        let now = self.now();
        self.conn.begin()?;
        let r = (|| {
            let mut chain = audit::Chain::lock(self.conn.as_mut())?;
            let v = f(self.conn.as_mut(), &mut chain, &now)?;
            chain.flush(self.conn.as_mut())?;
            Ok(v)
        })();
        match r {
            Ok(v) => {
                self.conn.commit()?;
                Ok(v)
            }
            Err(e) => {
                self.conn.rollback();
                Err(e)
            }
        }
    }

    /// Check the audit chain end to end.
    pub fn verify_audit(&mut self) -> Result<ChainReport, CaseError> {
        audit::verify(self.conn.as_mut())
    }

    /// The audit records of one case (its timeline), oldest first.
    pub fn audit_of(&mut self, case_id: &str) -> Result<Vec<AuditRecord>, CaseError> {
        let rows = self.conn.query(&format!("{} WHERE case_id = $1 ORDER BY seq", audit::SELECT), &[case_id.into()])?;
        Ok(rows.iter().map(|r| audit::record_of(r)).collect())
    }

    /// The whole audit chain from `after` (exclusive), at most `limit` records.
    pub fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, CaseError> {
        let rows = self
            .conn
            .query(&format!("{} WHERE seq > $1 ORDER BY seq LIMIT $2", audit::SELECT), &[after.into(), limit.into()])?;
        Ok(rows.iter().map(|r| audit::record_of(r)).collect())
    }

    #[cfg(test)]
    pub(crate) fn raw(&mut self) -> &mut dyn Conn {
        self.conn.as_mut()
    }

    /// Change a stored audit record's action (only to test that verification notices).
    #[doc(hidden)]
    pub fn tamper_audit_for_test(&mut self, seq: i64, action: &str) -> Result<(), CaseError> {
        self.conn.exec("UPDATE audit SET action = $1 WHERE seq = $2", &[action.into(), seq.into()]).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
