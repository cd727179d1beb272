//! Entity profiles: `GET /v1/entities/{id}`, a sender's or recipient's current features
//! with their meaning, and its alerts.

use crate::app::{error, query, Answer, Shared};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use osecwatch_engine::Feature;
use osecwatch_model::Timestamp;

/// The features of one side, named and explained.
fn features(values: &[f64], prefix: &str) -> Vec<serde_json::Value> {
    Feature::ALL
        .iter()
        .filter(|f| f.name().starts_with(prefix))
        .map(|f| serde_json::json!({ "feature": f.name(), "value": values[*f as usize], "meaning": f.doc() }))
        .collect()
}

/// `GET /v1/entities/{id}`.
pub(crate) async fn profile(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> Answer {
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
