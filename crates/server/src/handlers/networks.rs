//! Networks: `GET /v1/networks` (paged) and `GET /v1/networks/{id}`: connected groups of
//! alerted buyers and facilitators with the payments between them.

use crate::app::{error, query, Answer, Shared};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /v1/networks`: ordered by first payment.
pub(crate) async fn list(
    State(s): State<Shared>,
    q: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(q) = q.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(error(StatusCode::BAD_REQUEST, "limit: between 1 and 1000"));
    }
    let offset = q.offset.unwrap_or(0);
    let (total, page) = query(&s, move |e| {
        let all = e.networks();
        let total = all.len();
        (total, all.into_iter().skip(offset).take(limit).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(serde_json::json!({ "total": total, "offset": offset, "limit": limit, "networks": page })).into_response())
}

/// `GET /v1/networks/{id}`.
pub(crate) async fn by_id(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    match query(&s, move |e| e.networks().into_iter().find(|n| n.network_id == id)).await? {
        Some(n) => Ok(Json(n).into_response()),
        None => Err(error(StatusCode::NOT_FOUND, "no network with this id")),
    }
}
