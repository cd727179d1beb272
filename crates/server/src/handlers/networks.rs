//! Networks: `GET /v1/networks` (paged) and `GET /v1/networks/{id}`: connected groups of
//! alerted buyers and facilitators with the payments between them; `/v1/network/seeds`:
//! buyers and facilitators confirmed elsewhere, sent as logged events.

use crate::app::{error, query, Actor, Answer, Shared};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use osecwatch_engine::SeedEvent;
use serde::Deserialize;

/// At most this many ids in one seed event (a larger list is sent in parts).
const MAX_SEED_IDS: usize = 10_000;
/// The longest entity id a seed may name, in bytes.
const MAX_ID_BYTES: usize = 256;

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

/// The network with this id, or the 404 answer.
async fn network(s: &Shared, id: String) -> Result<osecwatch_engine::Network, axum::response::Response> {
    query(s, move |e| e.networks().into_iter().find(|n| n.network_id == id))
        .await?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no network with this id"))
}

/// `GET /v1/networks/{id}`.
pub(crate) async fn by_id(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
    Ok(Json(network(&s, id).await?).into_response())
}

/// Which picture `GET /v1/networks/{id}/svg` draws.
#[derive(Debug, Deserialize)]
pub(crate) struct Picture {
    /// A member's id: its ego network instead of the whole network.
    focus: Option<String>,
}

/// `GET /v1/networks/{id}/svg[?focus=ID]`: the network's picture (hubs folded), or one
/// member's ego network.
pub(crate) async fn picture(
    State(s): State<Shared>,
    UrlPath(id): UrlPath<String>,
    q: Result<Query<Picture>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(q) = q.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    let n = network(&s, id).await?;
    let svg = match &q.focus {
        None => osecwatch_svg::network_svg(&n),
        Some(f) => osecwatch_svg::ego_svg(&n, f)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, "focus: not a member of this network"))?,
    };
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response())
}

/// `GET /v1/network/seeds`.
pub(crate) async fn seeds(State(s): State<Shared>) -> Answer {
    let (buyers, facilitators) = query(&s, |e| {
        let (b, f) = e.seeds();
        let own = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
        (own(b), own(f))
    })
    .await?;
    Ok(Json(serde_json::json!({ "buyers": buyers, "facilitators": facilitators })).into_response())
}

/// `POST /v1/network/seeds`: one seed event, checked, then logged and applied by the core.
pub(crate) async fn add_seed(
    State(s): State<Shared>,
    Extension(Actor(actor)): Extension<Actor>,
    body: Result<Json<SeedEvent>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(ev) = body.map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))?;
    check_seed(&ev).map_err(|why| error(StatusCode::UNPROCESSABLE_ENTITY, why))?;
    match crate::app::seed(&s, ev, actor).await? {
        Ok(answer) => Ok(Json(answer).into_response()),
        Err(e) => Err(error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

/// Why a seed event is refused before it is logged, if it is.
fn check_seed(ev: &SeedEvent) -> Result<(), String> {
    if ev.ids.is_empty() {
        return Err("ids: at least one entity id".into());
    }
    if ev.ids.len() > MAX_SEED_IDS {
        return Err(format!("ids: at most {MAX_SEED_IDS} in one event (send the rest in another)"));
    }
    for (i, id) in ev.ids.iter().enumerate() {
        if id.trim().is_empty() || id.trim() != id {
            return Err(format!("ids[{i}]: empty or with surrounding spaces"));
        }
        if id.len() > MAX_ID_BYTES {
            return Err(format!("ids[{i}]: longer than {MAX_ID_BYTES} bytes"));
        }
    }
    if ev.source.len() > 1000 {
        return Err("source: at most 1000 bytes".into());
    }
    Ok(())
}
