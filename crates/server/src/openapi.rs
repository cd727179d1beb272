//! The OpenAPI 3 document, built from [`ROUTES`](crate::routes::ROUTES).

use crate::routes::{Body, ROUTES};
use axum::Json;

/// The OpenAPI 3 document of every route.
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| serde_json::json!({}));
        let mut op = serde_json::json!({
            "summary": route.summary,
            "responses": {
                "200": { "description": "success" },
                "400": { "description": "bad query parameters" },
                "401": { "description": "missing or unknown token" },
                "403": { "description": "token lacks the scope" },
                "404": { "description": "not found" },
                "409": { "description": "late: dated more than the allowed lateness behind the latest accepted payment; for cases: a stale version (the answer lists the changes since)" },
                "413": { "description": "body too large" },
                "422": { "description": "invalid payment (the error names the field and why), or an event time refused: from the future, before the earliest time, or too far ahead of the stream" }
            }
        });
        if let Some(s) = route.scope {
            op["security"] = serde_json::json!([{ "bearer": [s.as_str()] }]);
        }
        if route.path.contains("{id}") {
            op["parameters"] =
                serde_json::json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
        }
        if let Some(content) = content_of(route.body) {
            op["requestBody"] = serde_json::json!({ "required": true, "content": content });
        }
        entry[route.method.to_lowercase()] = op;
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
                },
                "SeedEvent": {
                    "type": "object",
                    "required": ["role", "action", "ids"],
                    "properties": {
                        "role": {"type": "string", "enum": ["buyer", "facilitator"]},
                        "action": {"type": "string", "enum": ["add", "remove"]},
                        "ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 10000},
                        "source": {"type": "string", "description": "where the confirmation comes from (a case id, a police request)"}
                    }
                }
            }
        },
        "paths": paths,
    })
}

/// The request body's media types and schema (none for a route without a body).
fn content_of(body: Body) -> Option<serde_json::Value> {
    Some(match body {
        Body::Payment => {
            serde_json::json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Payment" } } })
        }
        Body::Batch => {
            serde_json::json!({ "application/x-ndjson": { "schema": { "type": "string" } }, "text/csv": { "schema": { "type": "string" } } })
        }
        Body::Xml => serde_json::json!({ "application/xml": { "schema": { "type": "string" } } }),
        Body::CaseJson => {
            serde_json::json!({ "application/json": { "schema": { "type": "object", "description": "see the route's summary" } } })
        }
        Body::Seed => {
            serde_json::json!({ "application/json": { "schema": { "$ref": "#/components/schemas/SeedEvent" } } })
        }
        Body::None => return None,
    })
}

/// `GET /openapi.json`.
pub(crate) async fn document() -> Json<serde_json::Value> {
    Json(openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_route_with_its_scope() {
        let doc = openapi();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(op.is_object(), "{} {} missing from the OpenAPI document", r.method, r.path);
            assert_eq!(op["summary"], r.summary);
            match r.scope {
                Some(s) => assert_eq!(op["security"][0]["bearer"][0], s.as_str()),
                None => assert!(op.get("security").is_none()),
            }
            assert_eq!(op.get("requestBody").is_some(), r.body != Body::None, "{}", r.path);
            assert!(r.body == Body::None || r.method == "POST", "{}: a GET with a body", r.path);
        }
        let n: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(n, ROUTES.len());
    }
}
