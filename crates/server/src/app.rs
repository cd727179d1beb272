//! What every handler shares: the state, the one error shape, token checks, and the two
//! ways to reach the core (submit payments, query the engine).

use crate::auth::{Denied, Scope, Tokens};
use crate::core::{self, CoreStats, Refusal, Request, Screened};
use crate::metrics::Metrics;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use osecwatch_engine::Engine;
use osecwatch_ingest::XmlOptions;
use osecwatch_model::Transaction;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The state behind every route.
pub(crate) struct AppState {
    /// Requests to the core thread.
    pub(crate) tx: mpsc::Sender<Request>,
    pub(crate) tokens: Tokens,
    pub(crate) core: Arc<CoreStats>,
    pub(crate) metrics: Metrics,
    /// False once shutdown has begun.
    pub(crate) ready: AtomicBool,
    pub(crate) xml: XmlOptions,
    /// Bank export mappings by name (`?map=NAME` on the batch endpoint).
    pub(crate) maps: std::collections::BTreeMap<String, osecwatch_ingest::Mapping>,
    /// The case store, when cases are on.
    pub(crate) cases: Option<Arc<crate::cases::CaseService>>,
    /// The workbench's sessions and settings.
    pub(crate) ui: crate::ui::UiState,
}

pub(crate) type Shared = Arc<AppState>;

/// A handler's answer: the response, or the error response.
pub(crate) type Answer = Result<Response, Response>;

/// The one error shape every route answers with: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn shutting_down<E>(_: E) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
}

/// The token's name if it may use `scope`; else the 401 or 403 answer.
pub(crate) fn authorize<'s>(s: &'s AppState, headers: &HeaderMap, scope: Scope) -> Result<&'s str, Response> {
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
            Err(error(StatusCode::FORBIDDEN, format!("this token lacks the `{}` scope", scope.as_str())))
        }
    }
}

/// Screen payments on the core thread: one result per payment, in order.
pub(crate) async fn submit(s: &AppState, txns: Vec<Transaction>) -> Result<Vec<Result<Screened, Refusal>>, Response> {
    let (tx, rx) = oneshot::channel();
    s.tx.send(Request::Payments(txns, tx)).await.map_err(shutting_down)?;
    rx.await.map_err(shutting_down)
}

/// Run a read of the engine's state on the core thread.
pub(crate) async fn query<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&mut Engine) -> T + Send + 'static,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    let q: core::Query = Box::new(move |e| {
        let _ = tx.send(f(e));
    });
    s.tx.send(Request::Query(q)).await.map_err(shutting_down)?;
    rx.await.map_err(shutting_down)
}

/// Ask the core for a snapshot on behalf of `actor`.
pub(crate) async fn snapshot(s: &AppState, actor: String) -> Result<Result<u64, core::CoreError>, Response> {
    let (tx, rx) = oneshot::channel();
    s.tx.send(Request::Snapshot(actor, tx)).await.map_err(shutting_down)?;
    rx.await.map_err(shutting_down)
}

/// Ask the core to log and apply a seed event on behalf of `actor`.
pub(crate) async fn seed(
    s: &AppState,
    ev: osecwatch_engine::SeedEvent,
    actor: String,
) -> Result<Result<core::SeedAnswer, Refusal>, Response> {
    let (tx, rx) = oneshot::channel();
    s.tx.send(Request::Seed(ev, actor, tx)).await.map_err(shutting_down)?;
    rx.await.map_err(shutting_down)
}

/// The name of the token that made an admin request (for the audit log).
#[derive(Clone)]
pub(crate) struct Actor(pub(crate) String);
