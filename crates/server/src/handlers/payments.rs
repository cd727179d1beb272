//! Payments in: one (`/v1/screen`), a batch (`/v1/transactions`), an ISO 20022 message
//! (`/v1/iso20022/pacs.008`). Every input goes through the same readers as `scan`.

use crate::app::{error, submit, Answer, AppState, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use osecwatch_ingest::{Location, Rejection, Visitor};
use osecwatch_model::{Transaction, TxnRow};

/// Collects parsed rows with their positions.
#[derive(Default)]
struct Collect {
    rows: Vec<(String, Transaction)>,
    rejected: Vec<(String, String)>,
    /// Why the whole document was refused (ISO 20022), if it was.
    document: Option<String>,
    /// Rows of a bank export that are not outgoing payments, by reason.
    skipped: std::collections::BTreeMap<String, u64>,
}

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        self.rows.push((loc().position, row.to_owned_txn()));
    }
    fn reject(&mut self, r: Rejection) {
        if osecwatch_ingest::is_document_refusal(&r) && self.document.is_none() {
            self.document = Some(r.reason.clone());
        }
        self.rejected.push((r.location.position, r.reason));
    }
    fn skip(&mut self, _: &dyn Fn() -> Location, reason: &str) {
        osecwatch_ingest::count_reason(&mut self.skipped, reason);
    }
}

/// `POST /v1/screen`: exactly one payment, answered with its decision.
pub(crate) async fn screen(State(s): State<Shared>, body: Bytes) -> Answer {
    if body.iter().filter(|b| **b == b'\n').count() > 1 || body.trim_ascii().is_empty() {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send exactly one payment as a JSON object (use /v1/transactions for batches)",
        ));
    }
    let mut c = Collect::default();
    let _ = osecwatch_ingest::read_jsonl_from(std::path::Path::new("request body"), body.as_ref(), &mut c);
    if let Some((_, reason)) = c.rejected.into_iter().next() {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, reason));
    }
    let Some((_, t)) = c.rows.pop() else { return Err(error(StatusCode::UNPROCESSABLE_ENTITY, "empty body")) };
    let mut res = submit(&s, vec![t]).await?;
    match res.pop() {
        Some(Ok(v)) => Ok(Json(v).into_response()),
        Some(Err(e)) => {
            Err(error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY), e.to_string()))
        }
        None => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "no result")),
    }
}

/// Which mapping a batch names (`?map=NAME`).
#[derive(serde::Deserialize)]
pub(crate) struct BatchQuery {
    map: Option<String>,
}

/// `POST /v1/transactions`: JSON Lines, CSV with `Content-Type: text/csv`, or a bank
/// export read through a configured mapping (`?map=NAME`).
pub(crate) async fn transactions(
    State(s): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<BatchQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let mut c = Collect::default();
    let path = std::path::Path::new("request body");
    let read = if let Some(name) = &q.map {
        let Some(m) = s.maps.get(name) else {
            let known: Vec<&str> = s.maps.keys().map(String::as_str).collect();
            let msg = format!("no mapping `{name}` (configured with serve --map: {})", known.join(", "));
            return Err(error(StatusCode::UNPROCESSABLE_ENTITY, msg));
        };
        osecwatch_ingest::read_mapped_from(path, body.as_ref(), m, &mut c)
    } else if csv {
        osecwatch_ingest::read_csv_from(path, body.as_ref(), &mut c)
    } else {
        osecwatch_ingest::read_jsonl_from(path, body.as_ref(), &mut c)
    };
    if let Err(e) = read {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()));
    }
    batch_response(&s, c).await
}

/// `POST /v1/iso20022/pacs.008`: every credit transfer of the message.
pub(crate) async fn pacs008(State(s): State<Shared>, body: Bytes) -> Answer {
    let mut c = Collect::default();
    if let Err(e) =
        osecwatch_ingest::read_iso20022_from(std::path::Path::new("request body"), body.as_ref(), &s.xml, &mut c)
    {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()));
    }
    // A message cut short, of the wrong kind or malformed is refused whole: screening the
    // payments read before the damage would answer for a message nobody sent.
    if let Some(why) = c.document {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, format!("message refused, nothing screened: {why}")));
    }
    batch_response(&s, c).await
}

/// Screen a batch's valid rows; answer per-row results, the rejections, and the counts.
async fn batch_response(s: &AppState, c: Collect) -> Answer {
    let positions: Vec<String> = c.rows.iter().map(|(p, _)| p.clone()).collect();
    let txns: Vec<Transaction> = c.rows.into_iter().map(|(_, t)| t).collect();
    let n = txns.len();
    let res = if n == 0 { Vec::new() } else { submit(s, txns).await? };
    let mut accepted = 0;
    let mut rejected = c.rejected.len();
    let mut results = Vec::with_capacity(n);
    for (pos, r) in positions.into_iter().zip(res) {
        match r {
            Ok(v) => {
                accepted += 1;
                results.push(serde_json::json!({ "at": pos, "txn_id": v.txn_id, "decision": v.outcome.decision, "score": v.outcome.score, "rules": v.outcome.rules, "duplicate": v.duplicate, "seq": v.seq }));
            }
            Err(e) => {
                rejected += 1;
                results.push(serde_json::json!({ "at": pos, "status": e.status(), "error": e.to_string() }));
            }
        }
    }
    let rejections: Vec<serde_json::Value> =
        c.rejected.into_iter().map(|(at, reason)| serde_json::json!({ "at": at, "reason": reason })).collect();
    let skipped: u64 = c.skipped.values().sum();
    Ok(Json(serde_json::json!({
        "read": accepted as u64 + rejected as u64 + skipped,
        "accepted": accepted,
        "rejected": rejected,
        "skipped": skipped,
        "skipped_reasons": c.skipped,
        "results": results,
        "rejections": rejections,
    }))
    .into_response())
}
