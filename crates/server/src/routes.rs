//! Every route, written once: its method, path, scope, handler and OpenAPI summary. The
//! router, the token gate, the metrics and the OpenAPI document are all built from
//! [`ROUTES`], so what is documented is what is routed and what is enforced.

use crate::app::{authorize, error, Actor, Shared};
use crate::auth::Scope;
use crate::handlers::{admin, alerts, cases, entities, health, networks, payments};
use crate::{metrics, openapi};
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use std::time::Instant;

/// What a route's request body is, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body (GET).
    None,
    /// One payment as a JSON object.
    Payment,
    /// Payments as JSON Lines, or CSV with `Content-Type: text/csv`.
    Batch,
    /// An ISO 20022 XML message.
    Xml,
    /// A seed event as a JSON object.
    Seed,
    /// A case request as a JSON object (see the summary).
    CaseJson,
}

/// Body size limits per kind of route.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Batch endpoints, bytes.
    pub body: usize,
    /// Single-payment screening, bytes.
    pub screen: usize,
}

/// One route of the API.
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, with `{id}` for a path parameter.
    pub path: &'static str,
    /// The scope a token needs (`None`: public).
    pub scope: Option<Scope>,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// The request body.
    pub body: Body,
    handler: fn(Limits) -> MethodRouter<Shared>,
}

/// Every route of the service.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/screen",
        scope: Some(Scope::Screen),
        summary: "Screen one payment: decision, score, rules and reasons; the payment becomes part of the state",
        body: Body::Payment,
        handler: |l| post(payments::screen).layer(DefaultBodyLimit::max(l.screen)),
    },
    Route {
        method: "POST",
        path: "/v1/transactions",
        scope: Some(Scope::Ingest),
        summary: "Ingest a batch (JSON Lines, CSV with Content-Type text/csv, or a bank export with ?map=NAME for a mapping given to serve --map): per-row results, rejections and skipped rows",
        body: Body::Batch,
        handler: |_| post(payments::transactions),
    },
    Route {
        method: "POST",
        path: "/v1/iso20022/pacs.008",
        scope: Some(Scope::Ingest),
        summary: "Screen every credit transfer of an ISO 20022 pacs.008 message",
        body: Body::Xml,
        handler: |_| post(payments::pacs008),
    },
    Route {
        method: "GET",
        path: "/v1/alerts",
        scope: Some(Scope::Read),
        summary: "List alerts (filters: since, until, decision, typology; paging: offset, limit)",
        body: Body::None,
        handler: |_| get(alerts::list),
    },
    Route {
        method: "GET",
        path: "/v1/alerts/{id}",
        scope: Some(Scope::Read),
        summary: "One alert",
        body: Body::None,
        handler: |_| get(alerts::by_id),
    },
    Route {
        method: "GET",
        path: "/v1/networks",
        scope: Some(Scope::Read),
        summary: "List networks: connected groups of alerted buyers and facilitators with the payments between them (paging: offset, limit)",
        body: Body::None,
        handler: |_| get(networks::list),
    },
    Route {
        method: "GET",
        path: "/v1/networks/{id}",
        scope: Some(Scope::Read),
        summary: "One network",
        body: Body::None,
        handler: |_| get(networks::by_id),
    },
    Route {
        method: "GET",
        path: "/v1/networks/{id}/svg",
        scope: Some(Scope::Read),
        summary: "One network's picture (SVG): buyers, facilitators, the payments between them; each facilitator's other payers folded into one node; `focus=ID`: one member's ego network",
        body: Body::None,
        handler: |_| get(networks::picture),
    },
    Route {
        method: "GET",
        path: "/v1/network/seeds",
        scope: Some(Scope::Read),
        summary: "The buyers and facilitators seeded by events",
        body: Body::None,
        handler: |_| get(networks::seeds),
    },
    Route {
        method: "POST",
        path: "/v1/network/seeds",
        scope: Some(Scope::Admin),
        summary: "Seed (or withdraw) buyers or facilitators confirmed elsewhere: logged like a payment, applied at the engine's event time; earlier payers are re-scored and may raise retroactive alerts (admin; recorded in the audit log)",
        body: Body::Seed,
        handler: |_| post(networks::add_seed),
    },
    Route {
        method: "GET",
        path: "/v1/cases",
        scope: Some(Scope::Cases),
        summary: "The case queue by priority (filters: state, assignee (`-`: unassigned), typology, min_age_days, min_priority, entity, corridor (recipient country), active (open, investigating, pending_approval only), include_snoozed; paging: offset, limit); the read is audited with the user",
        body: Body::None,
        handler: |_| get(cases::list),
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}",
        scope: Some(Scope::Cases),
        summary: "One case: alerts, evidence payments, notes, tags, attachments, reports, timeline; the read is audited with the user",
        body: Body::None,
        handler: |_| get(cases::by_id),
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}",
        scope: Some(Scope::Cases),
        summary: "Change a case: {action: assign|transition|close|snooze|tag, version, ...}; a stale version gets 409 with the changes since; closing as confirmed_osec seeds the entity in the engine",
        body: Body::CaseJson,
        handler: |_| post(cases::change),
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/notes",
        scope: Some(Scope::Cases),
        summary: "Add a note: {text}",
        body: Body::CaseJson,
        handler: |_| post(cases::note),
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/report",
        scope: Some(Scope::Cases),
        summary: "The goAML STR: {action: draft (version, edits), return (report_id, comment), approve (report_id; a supervisor other than the drafter), download (report_id; application/xml), filing (report_id, status, fiu_ref, message)}",
        body: Body::CaseJson,
        handler: |_| post(cases::report),
    },
    Route {
        method: "GET",
        path: "/v1/entities/{id}",
        scope: Some(Scope::Read),
        summary: "Risk profile of a sender or recipient: current features, explained, and its alerts",
        body: Body::None,
        handler: |_| get(entities::profile),
    },
    Route {
        method: "GET",
        path: "/healthz",
        scope: None,
        summary: "Liveness",
        body: Body::None,
        handler: |_| get(health::healthz),
    },
    Route {
        method: "GET",
        path: "/readyz",
        scope: None,
        summary: "Readiness (state rebuilt from the log)",
        body: Body::None,
        handler: |_| get(health::readyz),
    },
    Route {
        method: "GET",
        path: "/metrics",
        scope: Some(Scope::Read),
        summary: "Prometheus metrics",
        body: Body::None,
        handler: |_| get(metrics::metrics),
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        scope: None,
        summary: "This document",
        body: Body::None,
        handler: |_| get(openapi::document),
    },
    Route {
        method: "POST",
        path: "/v1/admin/snapshot",
        scope: Some(Scope::Admin),
        summary: "Write a snapshot of the engine state now (admin; recorded in the audit log)",
        body: Body::None,
        handler: |_| post(admin::snapshot),
    },
];

/// The router: every route of [`ROUTES`] behind the gate, JSON answers for unknown paths.
pub(crate) fn router(state: Shared, limits: Limits) -> Router {
    let mut r = Router::new();
    for route in ROUTES {
        r = r.route(route.path, (route.handler)(limits));
    }
    r.route_layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .merge(crate::ui::router())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route (see /openapi.json)") })
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// Every error answer in the one shape, `{"error": "..."}`: the answers axum writes itself
/// (a body over the limit, a path it cannot extract) are plain text, so a client would need
/// a second way to read errors.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // JSON errors stay as they are, and so do the workbench's error pages.
    let own_shape = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if own_shape {
        return resp;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "request body too large: /v1/screen takes one payment (64 KiB by default), batches 16 MiB by default (settings: screen_limit_bytes, body_limit_bytes)".to_string()
        }
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let (mut parts, _) = resp.into_parts();
    let fresh = error(status, message);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.extend(fresh_parts.headers);
    Response::from_parts(parts, body)
}

/// Every routed request passes here: its route in [`ROUTES`] gives the scope it needs, so
/// what is documented is what is enforced; a request that matches no entry of the table
/// (another method on a known path) is refused, never let through unchecked. Then its
/// status and latency are recorded.
async fn gate(State(s): State<Shared>, matched: MatchedPath, mut req: axum::extract::Request, next: Next) -> Response {
    let started = Instant::now();
    let Some(route) = ROUTES.iter().find(|r| r.path == matched.as_str() && r.method == req.method().as_str()) else {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} is not allowed on {}", req.method(), matched.as_str()),
        );
    };
    let resp = match route.scope {
        Some(scope) => match authorize(&s, req.headers(), scope) {
            Ok(name) => {
                if scope == Scope::Admin {
                    req.extensions_mut().insert(Actor(name.to_string()));
                }
                if scope == Scope::Cases {
                    // Case work is done by users: the token's user and role, not the token.
                    let presented = req
                        .headers()
                        .get(axum::http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .map(str::trim);
                    match s.tokens.identify(presented, scope).ok().and_then(|i| i.user) {
                        Some((user, role)) => {
                            req.extensions_mut().insert(cases::CaseActor(osecwatch_cases::Actor::new(&user, role)))
                        }
                        None => {
                            let r = error(
                                StatusCode::FORBIDDEN,
                                "this token belongs to no user; case work needs a user token (`osecwatch users add`)",
                            );
                            s.metrics.record(route.path, r.status().as_u16(), started);
                            return r;
                        }
                    };
                }
                next.run(req).await
            }
            Err(r) => r,
        },
        None => next.run(req).await,
    };
    s.metrics.record(route.path, resp.status().as_u16(), started);
    resp
}
