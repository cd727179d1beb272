//! Administration: `POST /v1/admin/snapshot`, recorded in the audit log with the token.

use crate::app::{error, Actor, Answer, Shared};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};

/// `POST /v1/admin/snapshot`.
pub(crate) async fn snapshot(State(s): State<Shared>, Extension(Actor(actor)): Extension<Actor>) -> Answer {
    match crate::app::snapshot(&s, actor).await? {
        Ok(seq) => Ok(Json(serde_json::json!({ "snapshot_at_log_position": seq })).into_response()),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
