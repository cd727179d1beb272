//! Alerts out: `GET /v1/alerts` (filtered, paged) and `GET /v1/alerts/{id}`.

use crate::app::{error, query, Answer, Shared};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use osecwatch_engine::Alert;
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
    let (total, page) = query(&s, move |e| filter_alerts(e.alert_list(), &f)).await?;
    Ok(Json(serde_json::json!({ "total": total, "offset": offset, "limit": lim, "alerts": page })).into_response())
}

/// `GET /v1/alerts/{id}`.
pub(crate) async fn by_id(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    match query(&s, move |e| e.alert_list().find(|a| a.alert_id == id).cloned()).await? {
        Some(a) => Ok(Json(a).into_response()),
        None => Err(error(StatusCode::NOT_FOUND, "no alert with this id")),
    }
}

/// Alerts filtered and paged for the API.
fn filter_alerts<'a>(all: impl Iterator<Item = &'a Alert>, f: &AlertFilter) -> (usize, Vec<Alert>) {
    let keep: Vec<&Alert> = all
        .filter(|a| f.decision.as_deref().is_none_or(|d| a.decision.as_str() == d))
        .filter(|a| f.typology.as_deref().is_none_or(|t| a.typology == t || a.typologies.iter().any(|r| r == t)))
        .filter(|a| {
            let at = osecwatch_model::Timestamp::parse_rfc3339(&a.raised_at).map(|t| t.utc).unwrap_or(0);
            f.since.is_none_or(|s| at >= s) && f.until.is_none_or(|u| at < u)
        })
        .collect();
    let total = keep.len();
    (total, keep.into_iter().skip(f.offset).take(f.limit).cloned().collect())
}

/// Which alerts `GET /v1/alerts` returns.
#[derive(Debug, Clone, Default)]
struct AlertFilter {
    /// Raised at or after (UTC seconds).
    pub since: Option<i64>,
    /// Raised before (UTC seconds).
    pub until: Option<i64>,
    /// `review` or `block`.
    pub decision: Option<String>,
    /// A typology id or a rule id.
    pub typology: Option<String>,
    /// Alerts to skip.
    pub offset: usize,
    /// Alerts to return at most.
    pub limit: usize,
}
