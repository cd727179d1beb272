//! The analyst workbench under `/ui`: pages rendered on the server (askama templates compiled
//! into the binary), one small script for the queue's keys, every asset in the binary.
//!
//! Sign-in exchanges a user token for a session cookie ([`session`]); every form carries
//! the session's CSRF token and is refused without it; pages and buttons follow the user's
//! role, and the case store enforces the same rules again (four eyes included), so the UI
//! can never do what the API would refuse. Every page reads the store as the signed-in user,
//! so reads are audited like the API's. URLs carry ids only; no personal data goes into
//! query strings or the log.

/// A page handler's early return: the value, or the response (sign-in redirect, error page).
macro_rules! try_page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

mod actions;
mod case;
mod chart;
mod dashboard;
mod pages;
pub mod session;

use crate::app::Shared;
use crate::cases::{run_blocking, StoreFailure};
use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use session::{Sessions, Who};
use std::time::Instant;

/// What the workbench keeps besides the service's state.
pub struct UiState {
    /// Signed-in sessions.
    pub sessions: Sessions,
    /// Cookies get `Secure` when the service speaks TLS.
    pub secure: bool,
    /// When the service started (the dashboard's throughput).
    pub started: Instant,
    /// The engine's networks as last computed for a case page, and when.
    pub(crate) networks: std::sync::Mutex<Option<(Instant, std::sync::Arc<Vec<osecwatch_engine::Network>>)>>,
}

impl UiState {
    /// The workbench of a service (TLS or not).
    pub fn new(secure: bool) -> UiState {
        UiState { sessions: Sessions::default(), secure, started: Instant::now(), networks: Default::default() }
    }
}

/// The workbench's routes (outside the API's token gate: pages use the session cookie).
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui/login", get(actions::login_page).post(actions::login))
        .route("/ui/logout", post(actions::logout))
        .route("/ui/queue", get(pages::queue))
        .route("/ui/dashboard", get(dashboard::dashboard))
        .route("/ui/cases/{id}", get(case::case))
        .route("/ui/cases/{id}/attachments/{sha}", get(case::attachment))
        .route("/ui/cases/{id}/report", get(pages::report))
        .route("/ui/cases/{id}/report/{rid}/xml", get(pages::download))
        .route("/ui/cases/{id}/{action}", post(actions::case_action))
        .route("/ui/cases/{id}/report/{action}", post(actions::report_action))
        .route("/ui/assets/ui.css", get(|| async { asset("text/css", include_str!("../../assets/ui.css")) }))
        .route("/ui/assets/ui.js", get(|| async { asset("text/javascript", include_str!("../../assets/ui.js")) }))
}

fn asset(ctype: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

/// The header's view of the signed-in user.
pub(crate) struct Nav {
    user: String,
    role: &'static str,
    csrf: String,
    flash: Option<session::Flash>,
}

impl Nav {
    fn of(w: &Who) -> Option<Nav> {
        Some(Nav { user: w.user.clone(), role: w.role.as_str(), csrf: w.csrf.clone(), flash: w.flash.clone() })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    title: String,
    message: String,
}

/// A page, with headers that keep it out of caches, frames and other origins' scripts.
pub(crate) fn page(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, secure_headers(), Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a workbench page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                secure_headers(),
                Html("<p>the page could not be rendered</p>".to_string()),
            )
                .into_response()
        }
    }
}

fn secure_headers() -> [(header::HeaderName, &'static str); 5] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        // Inline styles only in the pages' SVG; scripts only from the binary's asset.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    ]
}

/// An error page for a signed-in user.
pub(crate) fn error_page(w: Option<&Who>, status: StatusCode, message: impl Into<String>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error").to_string();
    page(status, ErrorPage { nav: w.and_then(Nav::of), title, message: message.into() })
}

/// The signed-in user, or the redirect to sign-in.
pub(crate) fn signed_in(s: &Shared, headers: &HeaderMap) -> Result<Who, Response> {
    session::cookie(headers, session::COOKIE)
        .and_then(|id| s.ui.sessions.get(id))
        .ok_or_else(|| Redirect::to("/ui/login").into_response())
}

/// The signed-in user of a form post whose CSRF token matches; else the refusal.
pub(crate) fn checked_form(
    s: &Shared,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Result<Who, Response> {
    let who = signed_in(s, headers).map_err(|_| {
        error_page(None, StatusCode::FORBIDDEN, "your session has ended; sign in again (the form was not applied)")
    })?;
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    if !session::same_secret(sent, &who.csrf) {
        tracing::warn!("workbench form refused: missing or wrong CSRF token");
        return Err(error_page(
            Some(&who),
            StatusCode::FORBIDDEN,
            "this form did not carry the page's security token (CSRF); nothing was changed. Reload the page and try again.",
        ));
    }
    Ok(who)
}

/// The case store, or the page saying cases are off.
pub(crate) fn store_of(s: &Shared, w: &Who) -> Result<std::sync::Arc<crate::cases::CaseService>, Response> {
    s.cases.clone().ok_or_else(|| {
        error_page(Some(w), StatusCode::SERVICE_UNAVAILABLE, "cases are not configured in this service (--no-cases)")
    })
}

/// What a store failure means for the user: its status and the words to show (database
/// details go to the log, not the page).
pub(crate) fn refusal(e: StoreFailure) -> (StatusCode, String) {
    use osecwatch_cases::CaseError as E;
    match e {
        StoreFailure::Case(E::NotFound(m)) => (StatusCode::NOT_FOUND, format!("{m} not found")),
        StoreFailure::Case(E::Forbidden(m)) => (StatusCode::FORBIDDEN, m),
        StoreFailure::Case(E::Invalid(m)) => (StatusCode::UNPROCESSABLE_ENTITY, m),
        StoreFailure::Case(E::Conflict { case_id, .. }) => {
            (StatusCode::CONFLICT, format!("case {case_id} changed since you opened it; reload the case and try again"))
        }
        StoreFailure::Case(e @ (E::Db(_) | E::Io { .. })) => {
            tracing::error!(error = %e, "case store (workbench)");
            (StatusCode::INTERNAL_SERVER_ERROR, "the case store failed; see the service log".into())
        }
        StoreFailure::Task => (StatusCode::INTERNAL_SERVER_ERROR, "the case task failed".into()),
    }
}

/// Run a store call on the blocking pool for a page: a failure is the error page.
pub(crate) async fn blocking<T: Send + 'static>(
    w: &Who,
    svc: std::sync::Arc<crate::cases::CaseService>,
    f: impl FnOnce(&crate::cases::CaseService) -> Result<T, osecwatch_cases::CaseError> + Send + 'static,
) -> Result<T, Response> {
    run_blocking(svc, f).await.map_err(|e| {
        let (status, why) = refusal(e);
        error_page(Some(w), status, why)
    })
}

/// The signed-in user of a form post whose CSRF token matches, and the case store.
pub(crate) fn form_with_store(
    s: &Shared,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Result<(Who, std::sync::Arc<crate::cases::CaseService>), Response> {
    let who = checked_form(s, headers, form)?;
    let svc = store_of(s, &who)?;
    Ok((who, svc))
}

/// Money in minor units as `EUR 1,234.56`.
pub(crate) fn money(currency: &str, minor: i64) -> String {
    let neg = minor < 0;
    let m = minor.unsigned_abs();
    let whole = (m / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{currency} {}{grouped}.{:02}", if neg { "-" } else { "" }, m % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_is_grouped() {
        assert_eq!(super::money("EUR", 123456789), "EUR 1,234,567.89");
        assert_eq!(super::money("EUR", 5), "EUR 0.05");
        assert_eq!(super::money("PHP", -100000), "PHP -1,000.00");
    }
}
