//! `osecwatch serve`: real-time screening over HTTP with the same engine and rule pack as
//! `scan`, durable on the embedded store (a write-ahead log and an audit log in a data
//! directory), secured with scoped tokens.
//!
//! Layout (one file per noun, as in mini-redis): [`wal`] the log of accepted payments,
//! [`audit`] the hash-chained audit log, [`auth`] tokens and scopes, [`core`] the single
//! thread that owns the engine and does group commit, and this file: configuration, the
//! HTTP routes, metrics and the OpenAPI document.
//!
//! Invariants: a payment is answered only after it is in the log (fsynced); the engine only
//! ever sees logged payments, in log order, so restarting from the log rebuilds exactly the
//! same state and alerts; nothing about a payment's content (names, ids, references) is
//! logged through `tracing`.

// Handlers return axum's `Response` as their error: it is what they answer with, and
// boxing it on the error path would only add an allocation.
#![allow(clippy::result_large_err)]

mod append;
pub mod audit;
pub mod auth;
pub mod core;
pub mod tls;
pub mod wal;

use crate::auth::{Denied, Scope, Tokens};
use crate::core::{AlertFilter, Core, CoreStats, Request, Screened};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use osecwatch_engine::{Engine, Feature, RulePack};
use osecwatch_ingest::{Location, Rejection, Visitor, XmlOptions};
use osecwatch_model::{Timestamp, Transaction, TxnRow};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// The rule pack used when none is configured.
pub const DEFAULT_PACK: &str = include_str!("../../../rules/osec.toml");

/// A problem with one of the service's files (write-ahead log, audit log).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line that is not what the file must hold (corrupt log, broken audit chain).
    #[error("{path}, line {line}: {message}")]
    Invalid { path: PathBuf, line: u64, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] osecwatch_engine::RuleError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Everything `serve` needs; see the README for the file and environment forms.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Rule pack file; `None` uses the shipped OSEC pack.
    pub rules: Option<PathBuf>,
    pub tokens: Tokens,
    /// Largest accepted request body, bytes (batch endpoints).
    pub body_limit: usize,
    /// Largest accepted body for single-payment screening, bytes.
    pub screen_limit: usize,
    pub xml: XmlOptions,
    /// Write a snapshot after this many new payments (and at graceful shutdown).
    pub snapshot_every: u64,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("osecwatch-data"),
            rules: None,
            tokens: Tokens::default(),
            body_limit: 16 << 20,
            screen_limit: 64 << 10,
            xml: XmlOptions::default(),
            snapshot_every: 5_000_000,
            tls: None,
        }
    }
}

/// Every route, with its method and the scope it needs (`None` = public). The router and
/// the OpenAPI document are both built from this list, and a test checks they agree.
pub const ROUTES: &[(&str, &str, Option<Scope>)] = &[
    ("POST", "/v1/screen", Some(Scope::Screen)),
    ("POST", "/v1/transactions", Some(Scope::Ingest)),
    ("POST", "/v1/iso20022/pacs.008", Some(Scope::Ingest)),
    ("GET", "/v1/alerts", Some(Scope::Read)),
    ("GET", "/v1/alerts/{id}", Some(Scope::Read)),
    ("GET", "/v1/entities/{id}", Some(Scope::Read)),
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
    ("GET", "/metrics", Some(Scope::Read)),
    ("GET", "/openapi.json", None),
    ("POST", "/v1/admin/snapshot", Some(Scope::Admin)),
];

/// Latency histogram buckets (seconds).
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, secs: f64) {
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Metrics {
    requests: std::sync::Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: BTreeMap<&'static str, Histogram>,
}

struct AppState {
    tx: mpsc::Sender<Request>,
    tokens: Tokens,
    core: Arc<CoreStats>,
    metrics: Metrics,
    ready: AtomicBool,
    xml: XmlOptions,
}

type Shared = Arc<AppState>;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// The token's name if it may use `scope`; else the 401 or 403 answer.
fn authorize<'s>(s: &'s AppState, headers: &HeaderMap, scope: Scope) -> Result<&'s str, Response> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match s.tokens.check(presented, scope) {
        Ok(name) => Ok(name),
        Err(Denied::Unauthenticated) => Err((
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            Json(serde_json::json!({ "error": "missing or unknown API token (Authorization: Bearer <token>)" })),
        )
            .into_response()),
        Err(Denied::Forbidden) => {
            Err(error(StatusCode::FORBIDDEN, format!("this token lacks the `{}` scope", scope_name(scope))))
        }
    }
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Screen => "screen",
        Scope::Ingest => "ingest",
        Scope::Read => "read",
        Scope::Admin => "admin",
    }
}

/// Collects parsed rows with their positions.
#[derive(Default)]
struct Collect {
    rows: Vec<(String, Transaction)>,
    rejected: Vec<(String, String)>,
}

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        self.rows.push((loc().position, row.to_owned_txn()));
    }
    fn reject(&mut self, r: Rejection) {
        self.rejected.push((r.location.position, r.reason));
    }
}

async fn submit(s: &AppState, txns: Vec<Transaction>) -> Result<Vec<Result<Screened, String>>, Response> {
    let (tx, rx) = oneshot::channel();
    s.tx.send(Request::Payments(txns, tx))
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    rx.await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))
}

async fn query<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&mut Engine) -> T + Send + 'static,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    let q: core::Query = Box::new(move |e| {
        let _ = tx.send(f(e));
    });
    s.tx.send(Request::Query(q)).await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    rx.await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))
}

fn record(s: &AppState, route: &'static str, status: u16, started: Instant) {
    if let Ok(mut m) = s.metrics.requests.lock() {
        *m.entry((route, status)).or_default() += 1;
    }
    if let Some(h) = s.metrics.latency.get(route) {
        h.observe(started.elapsed().as_secs_f64());
    }
}

/// The name of the token that made an admin request (for the audit log).
#[derive(Clone)]
struct Actor(String);

/// Every routed request passes here: the scope it needs comes from [`ROUTES`] (the same
/// table the OpenAPI document is built from), so what is documented is what is enforced;
/// then its status and latency are recorded.
async fn gate(State(s): State<Shared>, matched: MatchedPath, mut req: axum::extract::Request, next: Next) -> Response {
    let started = Instant::now();
    let route = ROUTES.iter().find(|(m, p, _)| *p == matched.as_str() && *m == req.method().as_str());
    let resp = match route {
        Some((_, _, Some(scope))) => match authorize(&s, req.headers(), *scope) {
            Ok(name) => {
                if *scope == Scope::Admin {
                    req.extensions_mut().insert(Actor(name.to_string()));
                }
                next.run(req).await
            }
            Err(r) => r,
        },
        _ => next.run(req).await,
    };
    if let Some((_, path, _)) = route {
        record(&s, path, resp.status().as_u16(), started);
    }
    resp
}

type Answer = Result<Response, Response>;

async fn screen(State(s): State<Shared>, body: Bytes) -> Answer {
    if body.iter().filter(|b| **b == b'\n').count() > 1 || body.trim_ascii().is_empty() {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send exactly one payment as a JSON object (use /v1/transactions for batches)",
        ));
    }
    let mut c = Collect::default();
    let _ = osecwatch_ingest::read_jsonl_from(std::path::Path::new("request body"), body.as_ref(), &mut c);
    if let Some((_, reason)) = c.rejected.into_iter().next() {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, reason));
    }
    let Some((_, t)) = c.rows.pop() else { return Err(error(StatusCode::UNPROCESSABLE_ENTITY, "empty body")) };
    let mut res = submit(&s, vec![t]).await?;
    match res.pop() {
        Some(Ok(v)) => Ok(Json(v).into_response()),
        Some(Err(e)) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, e)),
        None => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "no result")),
    }
}

async fn batch_response(s: &AppState, c: Collect) -> Answer {
    let positions: Vec<String> = c.rows.iter().map(|(p, _)| p.clone()).collect();
    let txns: Vec<Transaction> = c.rows.into_iter().map(|(_, t)| t).collect();
    let n = txns.len();
    let res = if n == 0 { Vec::new() } else { submit(s, txns).await? };
    let mut accepted = 0;
    let mut rejected = c.rejected.len();
    let mut results = Vec::with_capacity(n);
    for (pos, r) in positions.into_iter().zip(res) {
        match r {
            Ok(v) => {
                accepted += 1;
                results.push(serde_json::json!({ "at": pos, "txn_id": v.txn_id, "decision": v.outcome.decision, "score": v.outcome.score, "rules": v.outcome.rules, "duplicate": v.duplicate, "seq": v.seq }));
            }
            Err(e) => {
                rejected += 1;
                results.push(serde_json::json!({ "at": pos, "error": e }));
            }
        }
    }
    let rejections: Vec<serde_json::Value> =
        c.rejected.into_iter().map(|(at, reason)| serde_json::json!({ "at": at, "reason": reason })).collect();
    Ok(Json(serde_json::json!({
        "read": accepted + rejected,
        "accepted": accepted,
        "rejected": rejected,
        "results": results,
        "rejections": rejections,
    }))
    .into_response())
}

async fn transactions(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let mut c = Collect::default();
    let path = std::path::Path::new("request body");
    let read = if csv {
        osecwatch_ingest::read_csv_from(path, body.as_ref(), &mut c)
    } else {
        osecwatch_ingest::read_jsonl_from(path, body.as_ref(), &mut c)
    };
    if let Err(e) = read {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()));
    }
    batch_response(&s, c).await
}

async fn pacs008(State(s): State<Shared>, body: Bytes) -> Answer {
    let mut c = Collect::default();
    if let Err(e) =
        osecwatch_ingest::read_iso20022_from(std::path::Path::new("request body"), body.as_ref(), &s.xml, &mut c)
    {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()));
    }
    batch_response(&s, c).await
}

#[derive(Debug, Deserialize)]
struct AlertQuery {
    since: Option<String>,
    until: Option<String>,
    decision: Option<String>,
    typology: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn alerts(
    State(s): State<Shared>,
    q: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(q) = q.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    let ts = |name: &str, v: &Option<String>| -> Result<Option<i64>, Response> {
        v.as_deref()
            .map(|t| {
                Timestamp::parse_rfc3339(t)
                    .map(|t| t.utc)
                    .map_err(|e| error(StatusCode::BAD_REQUEST, format!("{name}: {e}")))
            })
            .transpose()
    };
    if let Some(d) = &q.decision {
        if d != "review" && d != "block" {
            return Err(error(StatusCode::BAD_REQUEST, format!("decision `{d}`: allowed: review, block")));
        }
    }
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(error(StatusCode::BAD_REQUEST, "limit: between 1 and 1000"));
    }
    let f = AlertFilter {
        since: ts("since", &q.since)?,
        until: ts("until", &q.until)?,
        decision: q.decision,
        typology: q.typology,
        offset: q.offset.unwrap_or(0),
        limit,
    };
    let (offset, lim) = (f.offset, f.limit);
    let (total, page) = query(&s, move |e| core::filter_alerts(e.alert_list(), &f)).await?;
    Ok(Json(serde_json::json!({ "total": total, "offset": offset, "limit": lim, "alerts": page })).into_response())
}

async fn alert_by_id(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    match query(&s, move |e| e.alert_list().find(|a| a.alert_id == id).cloned()).await? {
        Some(a) => Ok(Json(a).into_response()),
        None => Err(error(StatusCode::NOT_FOUND, "no alert with this id")),
    }
}

fn features(values: &[f64], prefix: &str) -> Vec<serde_json::Value> {
    Feature::ALL
        .iter()
        .filter(|f| f.name().starts_with(prefix))
        .map(|f| serde_json::json!({ "feature": f.name(), "value": values[*f as usize], "meaning": f.doc() }))
        .collect()
}

async fn entity(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    let out = query(&s, move |e| {
        let now = Timestamp::new(e.last_event_utc(), 0);
        let sender = e.knows_sender(&id).then(|| e.sender_values(&id, now)).flatten();
        let recipient = e.knows_recipient(&id).then(|| e.recipient_values(&id, now)).flatten();
        let alerts: Vec<_> = e.alert_list().filter(|a| a.entity_id == id).cloned().collect();
        if sender.is_none() && recipient.is_none() && alerts.is_empty() {
            return None;
        }
        Some(serde_json::json!({
            "entity_id": id,
            "as_sender": sender.map(|v| features(&v, "sender.")),
            "as_recipient": recipient.map(|v| features(&v, "recipient.")),
            "alerts": alerts,
            "explanation": "features are computed over the windows in their names, as of the latest payment the engine has seen; alerts carry the plain-language reasons",
        }))
    })
    .await?;
    match out {
        Some(v) => Ok(Json(v).into_response()),
        None => Err(error(
            StatusCode::NOT_FOUND,
            "no state or alert for this entity (unknown, or idle past the longest window)",
        )),
    }
}

async fn snapshot(State(s): State<Shared>, Extension(Actor(actor)): Extension<Actor>) -> Answer {
    let (tx, rx) = oneshot::channel();
    s.tx.send(Request::Snapshot(actor, tx))
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    match rx.await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))? {
        Ok(seq) => Ok(Json(serde_json::json!({ "snapshot_at_log_position": seq })).into_response()),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<Shared>) -> Response {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(s): State<Shared>) -> Response {
    let mut o = String::new();
    use std::fmt::Write as _;
    let c = &s.core;
    let _ = writeln!(
        o,
        "# HELP osecwatch_requests_total HTTP requests by route and status.\n# TYPE osecwatch_requests_total counter"
    );
    if let Ok(m) = s.metrics.requests.lock() {
        for ((route, code), n) in m.iter() {
            let _ = writeln!(o, "osecwatch_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}");
        }
    }
    let _ = writeln!(
        o,
        "# HELP osecwatch_decisions_total Screening decisions by outcome.\n# TYPE osecwatch_decisions_total counter"
    );
    for (d, v) in [("allow", &c.allow), ("review", &c.review), ("block", &c.block)] {
        let _ = writeln!(o, "osecwatch_decisions_total{{decision=\"{d}\"}} {}", v.load(Ordering::Relaxed));
    }
    let _ = writeln!(o, "# HELP osecwatch_request_duration_seconds Request latency.\n# TYPE osecwatch_request_duration_seconds histogram");
    for (route, h) in &s.metrics.latency {
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += h.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(o, "osecwatch_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cum}");
        }
        cum += h.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(o, "osecwatch_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            o,
            "osecwatch_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "osecwatch_request_duration_seconds_count{{route=\"{route}\"}} {cum}");
    }
    for (name, help, v) in [
        ("osecwatch_log_entries", "Payments in the write-ahead log.", &c.logged),
        ("osecwatch_duplicates_total", "Payments received again (answered from the log).", &c.duplicates),
        ("osecwatch_commit_batches_total", "Group commits.", &c.batches),
        ("osecwatch_senders_tracked", "Senders with state.", &c.senders_tracked),
        ("osecwatch_recipients_tracked", "Recipients with state.", &c.recipients_tracked),
        ("osecwatch_alerts", "Alerts raised.", &c.alerts),
    ] {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", v.load(Ordering::Relaxed));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], o).into_response()
}

/// The OpenAPI 3 document, built from [`ROUTES`].
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for (method, path, scope) in ROUTES {
        let entry = paths.entry(path.to_string()).or_insert_with(|| serde_json::json!({}));
        let mut op = serde_json::json!({
            "summary": summary_of(path),
            "responses": {
                "200": { "description": "success" },
                "400": { "description": "bad query parameters" },
                "401": { "description": "missing or unknown token" },
                "403": { "description": "token lacks the scope" },
                "404": { "description": "not found" },
                "413": { "description": "body too large" },
                "422": { "description": "invalid payment: the error names the field and why" }
            }
        });
        if let Some(s) = scope {
            op["security"] = serde_json::json!([{ "bearer": [scope_name(*s)] }]);
        }
        if path.contains("{id}") {
            op["parameters"] =
                serde_json::json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
        }
        if *method == "POST" {
            op["requestBody"] = serde_json::json!({ "required": true, "content": body_of(path) });
        }
        entry[method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.0.3",
        "info": { "title": "osecwatch screening API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Screen payments for livestreamed child sexual abuse before they are released. Financial metadata only." },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Payment": {
                    "type": "object",
                    "required": ["txn_id", "timestamp", "sender_id", "sender_country", "recipient_id", "recipient_country", "amount", "currency", "channel"],
                    "properties": {
                        "txn_id": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"},
                        "sender_id": {"type": "string"}, "sender_name": {"type": "string"}, "sender_country": {"type": "string"},
                        "recipient_id": {"type": "string"}, "recipient_name": {"type": "string"}, "recipient_country": {"type": "string"},
                        "amount": {"type": "string"}, "currency": {"type": "string"},
                        "channel": {"type": "string", "enum": ["bank_transfer", "mto", "wallet", "card", "crypto", "cash", "other"]},
                        "reference": {"type": "string"}, "merchant_category": {"type": "string"}
                    }
                }
            }
        },
        "paths": paths,
    })
}

fn summary_of(path: &str) -> &'static str {
    match path {
        "/v1/screen" => "Screen one payment: decision, score, rules and reasons; the payment becomes part of the state",
        "/v1/transactions" => {
            "Ingest a batch (JSON Lines, or CSV with Content-Type text/csv): per-row results and rejections"
        }
        "/v1/iso20022/pacs.008" => "Screen every credit transfer of an ISO 20022 pacs.008 message",
        "/v1/alerts" => "List alerts (filters: since, until, decision, typology; paging: offset, limit)",
        "/v1/alerts/{id}" => "One alert",
        "/v1/entities/{id}" => "Risk profile of a sender or recipient: current features, explained, and its alerts",
        "/healthz" => "Liveness",
        "/readyz" => "Readiness (state rebuilt from the log)",
        "/metrics" => "Prometheus metrics",
        "/v1/admin/snapshot" => "Write a snapshot of the engine state now (admin; recorded in the audit log)",
        _ => "This document",
    }
}

fn body_of(path: &str) -> serde_json::Value {
    match path {
        "/v1/screen" => {
            serde_json::json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Payment" } } })
        }
        "/v1/transactions" => {
            serde_json::json!({ "application/x-ndjson": { "schema": { "type": "string" } }, "text/csv": { "schema": { "type": "string" } } })
        }
        _ => serde_json::json!({ "application/xml": { "schema": { "type": "string" } } }),
    }
}

async fn openapi_doc() -> Json<serde_json::Value> {
    Json(openapi())
}

fn router(state: Shared, body_limit: usize, screen_limit: usize) -> Router {
    Router::new()
        .route("/v1/screen", post(screen).layer(DefaultBodyLimit::max(screen_limit)))
        .route("/v1/transactions", post(transactions))
        .route("/v1/iso20022/pacs.008", post(pacs008))
        .route("/v1/alerts", get(alerts))
        .route("/v1/alerts/{id}", get(alert_by_id))
        .route("/v1/entities/{id}", get(entity))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_doc))
        .route("/v1/admin/snapshot", post(snapshot))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// What `serve` reports once it listens.
#[derive(Debug, Clone)]
pub struct Ready {
    pub addr: SocketAddr,
    /// A newly generated admin token, when no token was configured; shown once.
    pub generated_admin_token: Option<String>,
    pub recovered_payments: u64,
    pub tls: bool,
}

/// Recover from the data directory, listen, and serve until `shutdown` resolves; then stop
/// accepting, drain in-flight requests and let the core commit.
pub async fn serve(
    mut cfg: ServeConfig,
    on_ready: impl FnOnce(Ready),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let (pack, pack_text) = match &cfg.rules {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ServerError::Config(format!("{}: {e}", p.display())))?;
            (RulePack::from_toml(&text, &p.display().to_string())?, text)
        }
        None => (RulePack::from_toml(DEFAULT_PACK, "rules/osec.toml (built in)")?, DEFAULT_PACK.to_string()),
    };
    let mut engine = Engine::new(pack).map_err(|e| ServerError::Config(e.to_string()))?;
    if let Ok(w) = std::fs::read_to_string(cfg.data_dir.join("watchlist.txt")) {
        engine
            .set_watchlist(w.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    // Tokens: configured ones, else the data directory's, else a new admin token.
    let token_file = cfg.data_dir.join("tokens.toml");
    let mut generated = None;
    if cfg.tokens.is_empty() {
        if token_file.exists() {
            cfg.tokens.load_file(&token_file).map_err(ServerError::Config)?;
        } else {
            let secret = auth::generate_secret().map_err(ServerError::Config)?;
            let entry = auth::TokenEntry {
                name: "admin".into(),
                sha256: hex::encode(auth::digest(&secret)),
                scopes: vec![Scope::Admin],
            };
            let text = toml::to_string(&auth::TokenFile { tokens: vec![entry.clone()] })
                .map_err(|e| ServerError::Config(e.to_string()))?;
            std::fs::write(
                &token_file,
                format!("# API tokens (SHA-256 digests only; the secrets are not stored)\n{text}"),
            )?;
            cfg.tokens.add_entry(&entry).map_err(ServerError::Config)?;
            generated = Some(secret);
        }
    }
    let (wal, entries) = wal::Wal::open(&cfg.data_dir.join("payments.wal"))?;
    let recovered = entries.len() as u64;
    let mut audit = audit::AuditLog::open(&cfg.data_dir.join("audit.jsonl"))?;
    let now = Timestamp::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
        0,
    )
    .to_rfc3339();
    if generated.is_some() {
        audit.push(&now, "admin", None, serde_json::json!({ "action": "generated admin token", "actor": "serve" }));
    }
    let stats = Arc::new(CoreStats::default());
    let policy = core::SnapshotPolicy {
        path: cfg.data_dir.join("snapshot.json"),
        every: cfg.snapshot_every.max(1),
        pack_fingerprint: osecwatch_engine::fnv1a(pack_text.as_bytes()),
    };
    let mut core = Core::recover(engine, wal, entries, audit, stats.clone(), policy).map_err(ServerError::Config)?;
    core.admin_record(&now, &format!("started; {recovered} payments recovered from the log"), "serve")
        .map_err(ServerError::Config)?;
    let (tx, rx) = mpsc::channel::<Request>(65_536);
    let core_thread = std::thread::Builder::new().name("osecwatch-core".into()).spawn(move || core.run(rx))?;

    let mut latency = BTreeMap::new();
    for (_, path, _) in ROUTES {
        latency.insert(*path, Histogram::default());
    }
    let state = Arc::new(AppState {
        tx,
        tokens: cfg.tokens.clone(),
        core: stats,
        metrics: Metrics { requests: Default::default(), latency },
        ready: AtomicBool::new(true),
        xml: cfg.xml,
    });
    let app = router(state.clone(), cfg.body_limit, cfg.screen_limit);
    let acceptor = match &cfg.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key).map_err(ServerError::Config)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, recovered, tls = acceptor.is_some(), "osecwatch serving");
    on_ready(Ready { addr, generated_admin_token: generated, recovered_payments: recovered, tls: acceptor.is_some() });
    let st = state.clone();
    let stop = async move {
        shutdown.await;
        st.ready.store(false, Ordering::Relaxed);
    };
    match acceptor {
        Some(acc) => axum::serve(tls::TlsListener::new(listener, acc)?, app).with_graceful_shutdown(stop).await?,
        None => axum::serve(listener, app).with_graceful_shutdown(stop).await?,
    }
    // Dropping the last sender lets the core finish its batch and stop.
    drop(state);
    let _ = tokio::task::spawn_blocking(move || core_thread.join()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_route_with_its_scope() {
        let doc = openapi();
        for (method, path, scope) in ROUTES {
            let op = &doc["paths"][*path][method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} missing from the OpenAPI document");
            match scope {
                Some(s) => assert_eq!(op["security"][0]["bearer"][0], scope_name(*s)),
                None => assert!(op.get("security").is_none()),
            }
        }
        let n: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(n, ROUTES.len());
    }
}
