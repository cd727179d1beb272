//! The two databases behind one small interface: a connection that runs SQL with positional
//! parameters (`$1`, `$2`, ... in both dialects) and returns rows of plain values. Every case
//! operation is written once against [`Conn`]; only transaction start and connection set-up
//! differ between SQLite and PostgreSQL.

use crate::CaseError;
use std::collections::HashMap;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn string(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Null => String::new(),
        }
    }
    pub(crate) fn opt(&self) -> Option<String> {
        self.text().map(str::to_string)
    }
    pub(crate) fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Real(f) => *f as i64,
            _ => 0,
        }
    }
    pub(crate) fn real(&self) -> f64 {
        match self {
            Value::Real(f) => *f,
            Value::Int(i) => *i as f64,
            _ => 0.0,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Real(f)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map(Into::into).unwrap_or(Value::Null)
    }
}

/// A row as values, in the order of the query's columns.
pub(crate) type Row = Vec<Value>;

/// What the case logic needs from a database connection.
pub(crate) trait Conn: Send {
    /// Start a write transaction that excludes other writers at once (so two creators of
    /// one case, or two appenders to the audit chain, queue instead of failing late).
    fn begin(&mut self) -> Result<(), CaseError>;
    fn commit(&mut self) -> Result<(), CaseError>;
    fn rollback(&mut self);
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, CaseError>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, CaseError>;
    /// Several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), CaseError>;
    /// `sqlite` or `postgres`, for messages and the few dialect differences in DDL.
    fn dialect(&self) -> &'static str;

    /// Insert many rows into `table` (`cols` in order), then `tail` (an `ON CONFLICT`
    /// clause, or empty); returns the rows inserted or updated. By default multi-row
    /// statements of at most [`MAX_PARAMS`](crate::MAX_PARAMS) parameters.
    fn bulk_insert(&mut self, table: &str, cols: &[&str], rows: &[Vec<Value>], tail: &str) -> Result<u64, CaseError> {
        insert_rows(self, table, cols, rows, tail)
    }

    /// Make this transaction's commit not wait for the disk (PostgreSQL: for transactions
    /// that only record a read; a database crash may lose the last fraction of a second of
    /// read records, never a change). No-op where commits are cheap already.
    fn relax_commit(&mut self) -> Result<(), CaseError> {
        Ok(())
    }

    /// Refresh the planner's statistics of the case tables after a large load.
    fn analyze(&mut self) -> Result<(), CaseError> {
        self.batch("ANALYZE cases; ANALYZE case_alerts; ANALYZE case_payments; ANALYZE audit")
    }
}

/// Multi-row INSERT statements of at most [`MAX_PARAMS`](crate::MAX_PARAMS) parameters.
fn insert_rows<C: Conn + ?Sized>(
    conn: &mut C,
    table: &str,
    cols: &[&str],
    rows: &[Vec<Value>],
    tail: &str,
) -> Result<u64, CaseError> {
    let mut n = 0;
    for chunk in rows.chunks((crate::MAX_PARAMS / cols.len().max(1)).max(1)) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * cols.len());
        for (i, r) in chunk.iter().enumerate() {
            crate::placeholders(&mut sql, i, cols.len());
            p.extend(r.iter().cloned());
        }
        sql.push(' ');
        sql.push_str(tail);
        n += conn.exec(&sql, &p)?;
    }
    Ok(n)
}

/// SQLite through rusqlite.
pub(crate) struct Sqlite {
    conn: rusqlite::Connection,
}

fn sqlite_err(e: rusqlite::Error) -> CaseError {
    CaseError::Db(format!("sqlite: {e}"))
}

impl Sqlite {
    pub(crate) fn open(path: &std::path::Path) -> Result<Sqlite, CaseError> {
        let conn = rusqlite::Connection::open(path).map_err(sqlite_err)?;
        // WAL: readers do not block the writer; NORMAL: a commit is durable at the next
        // checkpoint, which is SQLite's recommended setting for WAL; busy_timeout: a second
        // process waits for the writer's lock instead of failing.
        // cache_size and mmap_size: the evidence tables outgrow SQLite's default 8 MB page
        // cache, and reading through the map saves a copy per page (measured: a fifth of an
        // import's time was the kernel copying pages).
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
             PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;",
        )
        .map_err(sqlite_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sqlite_err)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Sqlite { conn })
    }
}

/// A value as SQLite binds it, borrowed (no copy of the text).
fn to_sqlite(v: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::ValueRef as V;
    rusqlite::types::ToSqlOutput::Borrowed(match v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.as_bytes()),
    })
}

/// `$n` -> `?n`. Both mean "parameter n", but SQLite resolves a `$name` by a linear search
/// of the names seen so far (quadratic in a multi-row insert of thousands of parameters),
/// while `?n` is the number itself. Statements here have no `$` inside string literals.
fn numbered(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    std::borrow::Cow::Owned(sql.replace('$', "?"))
}

/// Bind every parameter by its number.
fn bind(st: &mut rusqlite::CachedStatement<'_>, params: &[Value]) -> Result<(), CaseError> {
    st.clear_bindings();
    let n = st.parameter_count();
    if n > params.len() {
        return Err(CaseError::Db(format!("sqlite: the statement has {n} parameters, {} given", params.len())));
    }
    for (i, v) in params.iter().take(n).enumerate() {
        st.raw_bind_parameter(i + 1, to_sqlite(v)).map_err(sqlite_err)?;
    }
    Ok(())
}

impl Conn for Sqlite {
    fn begin(&mut self) -> Result<(), CaseError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_err)
    }
    fn commit(&mut self) -> Result<(), CaseError> {
        self.conn.execute_batch("COMMIT").map_err(sqlite_err)
    }
    fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, CaseError> {
        let mut st = self.conn.prepare_cached(&numbered(sql)).map_err(sqlite_err)?;
        bind(&mut st, params)?;
        st.raw_execute().map(|n| n as u64).map_err(sqlite_err)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, CaseError> {
        let mut st = self.conn.prepare_cached(&numbered(sql)).map_err(sqlite_err)?;
        let n = st.column_count();
        bind(&mut st, params)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sqlite_err)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                use rusqlite::types::ValueRef as R;
                row.push(match r.get_ref(i).map_err(sqlite_err)? {
                    R::Null => Value::Null,
                    R::Integer(i) => Value::Int(i),
                    R::Real(f) => Value::Real(f),
                    R::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    R::Blob(b) => Value::Text(hex::encode(b)),
                });
            }
            out.push(row);
        }
        Ok(out)
    }
    fn batch(&mut self, sql: &str) -> Result<(), CaseError> {
        self.conn.execute_batch(sql).map_err(sqlite_err)
    }
    fn dialect(&self) -> &'static str {
        "sqlite"
    }
}

/// PostgreSQL through the synchronous `postgres` client (call it from a blocking thread,
/// never from an async task).
pub(crate) struct Postgres {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

fn pg_err(e: postgres::Error) -> CaseError {
    // The server's own message (with its detail) says more than the client's summary.
    match e.as_db_error() {
        Some(db) => CaseError::Db(format!("postgres: {} ({})", db.message(), db.code().code())),
        None => CaseError::Db(format!("postgres: {e}")),
    }
}

impl Postgres {
    pub(crate) fn connect(url: &str, schema: Option<&str>) -> Result<Postgres, CaseError> {
        let client = postgres::Client::connect(url, postgres::NoTls).map_err(pg_err)?;
        let mut pg = Postgres { client, statements: HashMap::new() };
        if let Some(s) = schema {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(CaseError::Invalid(format!("schema name `{s}`: letters, digits and _ only")));
            }
            pg.batch(&format!("CREATE SCHEMA IF NOT EXISTS {s}; SET search_path TO {s}"))?;
        }
        Ok(pg)
    }
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, CaseError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client.prepare(sql).map_err(pg_err)?;
        // Bulk inserts make statements of many lengths; keep the cache bounded.
        if self.statements.len() < 512 {
            self.statements.insert(sql.to_string(), st.clone());
        }
        Ok(st)
    }
}

#[derive(Debug)]
struct PgValue<'a>(&'a Value);

impl postgres::types::ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self.0 {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

/// A value in COPY's text format (`\N` for NULL; backslash, tab, newline and CR escaped).
fn copy_text(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Real(f) => out.push_str(&format!("{f:?}")),
        Value::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

impl Conn for Postgres {
    /// COPY into a temporary table, then one INSERT ... SELECT with the conflict clause: the
    /// server parses one statement instead of thousands of parameters (measured: a multi-row
    /// insert kept the server's core busy for most of an import).
    fn bulk_insert(&mut self, table: &str, cols: &[&str], rows: &[Vec<Value>], tail: &str) -> Result<u64, CaseError> {
        // A few rows (a read's audit record): one INSERT is one round trip, COPY four.
        if rows.len() < 256 {
            return insert_rows(self, table, cols, rows, tail);
        }
        // Without a conflict clause the rows go straight into the table; with one, through a
        // temporary table that the INSERT ... SELECT applies the clause from.
        let direct = tail.trim().is_empty();
        let tmp = if direct { table.to_string() } else { format!("bulk_{table}") };
        if !direct {
            self.batch(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table}) ON COMMIT DELETE ROWS; TRUNCATE {tmp}"
            ))?;
        }
        let list = cols.join(", ");
        let mut w = self.client.copy_in(&format!("COPY {tmp} ({list}) FROM STDIN")).map_err(pg_err)?;
        let mut buf = String::with_capacity(1 << 16);
        use std::io::Write;
        for r in rows {
            for (i, v) in r.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                copy_text(&mut buf, v);
            }
            buf.push('\n');
            if buf.len() > 1 << 20 {
                w.write_all(buf.as_bytes()).map_err(|e| CaseError::Db(format!("postgres: COPY: {e}")))?;
                buf.clear();
            }
        }
        w.write_all(buf.as_bytes()).map_err(|e| CaseError::Db(format!("postgres: COPY: {e}")))?;
        let copied = w.finish().map_err(pg_err)?;
        if direct {
            return Ok(copied);
        }
        self.exec(&format!("INSERT INTO {table} ({list}) SELECT {list} FROM {tmp} {tail}"), &[])
    }

    fn relax_commit(&mut self) -> Result<(), CaseError> {
        self.batch("SET LOCAL synchronous_commit = off")
    }

    fn begin(&mut self) -> Result<(), CaseError> {
        self.client.batch_execute("BEGIN").map_err(pg_err)
    }
    fn commit(&mut self) -> Result<(), CaseError> {
        self.client.batch_execute("COMMIT").map_err(pg_err)
    }
    fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, CaseError> {
        let st = self.statement(sql)?;
        let p: Vec<PgValue> = params.iter().map(PgValue).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            p.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
        self.client.execute(&st, &refs).map_err(pg_err)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, CaseError> {
        use postgres::types::Type;
        let st = self.statement(sql)?;
        let p: Vec<PgValue> = params.iter().map(PgValue).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            p.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
        let rows = self.client.query(&st, &refs).map_err(pg_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut row = Vec::with_capacity(r.len());
            for (i, c) in r.columns().iter().enumerate() {
                let t = c.type_();
                let v = if *t == Type::INT8 {
                    r.try_get::<_, Option<i64>>(i).map(|x| x.map(Value::Int))
                } else if *t == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i).map(|x| x.map(|x| Value::Int(x as i64)))
                } else if *t == Type::FLOAT8 {
                    r.try_get::<_, Option<f64>>(i).map(|x| x.map(Value::Real))
                } else if *t == Type::BOOL {
                    r.try_get::<_, Option<bool>>(i).map(|x| x.map(|b| Value::Int(b as i64)))
                } else {
                    r.try_get::<_, Option<String>>(i).map(|x| x.map(Value::Text))
                }
                .map_err(|e| CaseError::Db(format!("postgres: column {} ({t}): {e}", c.name())))?;
                row.push(v.unwrap_or(Value::Null));
            }
            out.push(row);
        }
        Ok(out)
    }
    fn batch(&mut self, sql: &str) -> Result<(), CaseError> {
        self.client.batch_execute(sql).map_err(pg_err)
    }
    fn dialect(&self) -> &'static str {
        "postgres"
    }
}
