//! Alerts out: `GET /v1/alerts` (filtered, paged) and `GET /v1/alerts/{id}`.

use crate::app::{error, query, Answer, Shared};
use crate::core::{self, AlertFilter};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use osecwatch_model::Timestamp;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct AlertQuery {
    since: Option<String>,
    until: Option<String>,
    decision: Option<String>,
    typology: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /v1/alerts`.
pub(crate) async fn list(
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

/// `GET /v1/alerts/{id}`.
pub(crate) async fn by_id(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    match query(&s, move |e| e.alert_list().find(|a| a.alert_id == id).cloned()).await? {
        Some(a) => Ok(Json(a).into_response()),
        None => Err(error(StatusCode::NOT_FOUND, "no alert with this id")),
    }
}
