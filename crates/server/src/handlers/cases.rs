//! `/v1/cases`: the queue, a case, its notes, assignment, state, disposition, and its report
//! (draft, return, approve, download, filing). Every request acts as the user its token
//! belongs to; the store checks roles, versions and four eyes, and audits every read.

use crate::app::{error, Answer, Shared};
use crate::cases::CaseService;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use osecwatch_cases::{Actor, CaseError, CaseState, Disposition, DraftEdits, Filter};
use serde::Deserialize;
use std::sync::Arc;

/// The user behind a case request (set by the gate from the token's user).
#[derive(Clone)]
pub(crate) struct CaseActor(pub(crate) Actor);

fn answer(e: CaseError) -> Response {
    match e {
        CaseError::NotFound(m) => error(StatusCode::NOT_FOUND, format!("{m} not found")),
        CaseError::Forbidden(m) => error(StatusCode::FORBIDDEN, m),
        CaseError::Invalid(m) => error(StatusCode::UNPROCESSABLE_ENTITY, m),
        CaseError::Conflict { case_id, expected, current, changes } => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": format!("case {case_id} is at version {current}, not {expected}: it changed since you read it"),
                "current_version": current,
                "changes": changes,
            })),
        )
            .into_response(),
        // Database and file errors may carry values; the client gets the kind, the log the rest.
        e @ (CaseError::Db(_) | CaseError::Io { .. }) => {
            tracing::error!(error = %e, "case store");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the case store failed; see the service log")
        }
    }
}

async fn with_store<T: Send + 'static>(
    s: &Shared,
    f: impl FnOnce(&CaseService) -> Result<T, CaseError> + Send + 'static,
) -> Result<T, Response> {
    let svc: Arc<CaseService> =
        s.cases.clone().ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "cases are not configured"))?;
    crate::cases::run_blocking(svc, f).await.map_err(|e| match e {
        crate::cases::StoreFailure::Case(e) => answer(e),
        crate::cases::StoreFailure::Task => error(StatusCode::INTERNAL_SERVER_ERROR, "case task failed"),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    state: Option<String>,
    assignee: Option<String>,
    typology: Option<String>,
    min_age_days: Option<i64>,
    min_priority: Option<f64>,
    entity: Option<String>,
    corridor: Option<String>,
    active: Option<bool>,
    include_snoozed: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /v1/cases`.
pub(crate) async fn list(
    State(s): State<Shared>,
    Extension(CaseActor(who)): Extension<CaseActor>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(q) = q.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    let state = match q.state.as_deref() {
        None => None,
        Some(x) => Some(CaseState::parse(x).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                format!("state `{x}`: open, investigating, pending_approval, reported, closed"),
            )
        })?),
    };
    if q.limit.is_some_and(|l| !(1..=500).contains(&l)) {
        return Err(error(StatusCode::BAD_REQUEST, "limit: between 1 and 500"));
    }
    let f = Filter {
        state,
        assignee: q.assignee,
        typology: q.typology,
        min_age_days: q.min_age_days,
        min_priority: q.min_priority,
        entity: q.entity,
        corridor: q.corridor.map(|c| c.to_ascii_uppercase()),
        active: q.active.unwrap_or(false),
        include_snoozed: q.include_snoozed.unwrap_or(false),
        limit: q.limit,
        offset: q.offset,
    };
    let page = with_store(&s, move |c| c.with(|st| st.list(&who, &f))).await?;
    Ok(Json(page).into_response())
}

/// `GET /v1/cases/{id}`.
pub(crate) async fn by_id(
    State(s): State<Shared>,
    Extension(CaseActor(who)): Extension<CaseActor>,
    UrlPath(id): UrlPath<String>,
) -> Answer {
    let d = with_store(&s, move |c| c.with(|st| st.get(&who, &id))).await?;
    Ok(Json(d).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    text: String,
}

/// `POST /v1/cases/{id}/notes`.
pub(crate) async fn note(
    State(s): State<Shared>,
    Extension(CaseActor(who)): Extension<CaseActor>,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<NoteBody>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(b) = body.map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))?;
    let n = with_store(&s, move |c| c.with(|st| st.add_note(&who, &id, &b.text))).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "note": n }))).into_response())
}

/// A change to a case: the version the caller saw, and what to do.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Change {
    /// Assign (`to`: a user, or null for nobody).
    Assign { version: i64, to: Option<String> },
    /// Open <-> investigating.
    Transition { version: i64, to: String },
    /// Close with a disposition.
    Close { version: i64, disposition: String, reason: Option<String> },
    /// Snooze until a time.
    Snooze { version: i64, until: String, reason: String },
    /// Add a tag.
    Tag { tag: String },
}

/// `POST /v1/cases/{id}`: assign, transition, close, snooze, tag.
pub(crate) async fn change(
    State(s): State<Shared>,
    Extension(CaseActor(who)): Extension<CaseActor>,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<Change>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(ch) = body.map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))?;
    let seed_on_close = matches!(&ch, Change::Close { disposition, .. } if disposition == "confirmed_osec");
    let closer = who.user.clone();
    let case_id = id.clone();
    // The new version (none for a tag), and for a confirmed case its entity.
    let (version, confirmed) = with_store(&s, move |c| {
        c.with(|st| {
            let v = match ch {
                Change::Assign { version, to } => st.assign(&who, &id, version, to.as_deref())?,
                Change::Transition { version, to } => {
                    let to = CaseState::parse(&to).ok_or_else(|| CaseError::Invalid(format!("state `{to}`")))?;
                    st.transition(&who, &id, version, to)?
                }
                Change::Close { version, disposition, reason } => {
                    let d = Disposition::parse(&disposition).ok_or_else(|| {
                        CaseError::Invalid(format!(
                            "disposition `{disposition}`: confirmed_osec, false_positive, not_osec_but_suspicious, no_action"
                        ))
                    })?;
                    st.close(&who, &id, version, d, reason.as_deref())?
                }
                Change::Snooze { version, until, reason } => st.snooze(&who, &id, version, &until, &reason)?,
                Change::Tag { tag } => {
                    st.tag(&who, &id, &tag)?;
                    return Ok((None, None));
                }
            };
            let entity = if seed_on_close { Some(st.entity_of(&id)?) } else { None };
            Ok((Some(v), entity))
        })
    })
    .await?;
    let seeded = match confirmed {
        Some((entity_type, entity_id)) => seed_confirmed(&s, &entity_type, entity_id, &case_id, &closer).await,
        None => None,
    };
    Ok(Json(serde_json::json!({ "version": version, "seed": seeded })).into_response())
}

/// The report steps.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ReportStep {
    /// Draft (or redraft) with the analyst's edits.
    Draft {
        version: i64,
        #[serde(default)]
        edits: Option<DraftEdits>,
    },
    /// A supervisor sends it back.
    Return { report_id: String, comment: String },
    /// A different supervisor approves it.
    Approve { report_id: String },
    /// The XML (application/xml).
    Download { report_id: String },
    /// Record the filing: submitted, acknowledged (with the FIU's reference), rejected.
    Filing { report_id: String, status: String, fiu_ref: Option<String>, message: Option<String> },
}

/// `POST /v1/cases/{id}/report`.
pub(crate) async fn report(
    State(s): State<Shared>,
    Extension(CaseActor(who)): Extension<CaseActor>,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<ReportStep>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(step) = body.map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))?;
    enum Out {
        Json(serde_json::Value),
        Xml(String),
    }
    let out = with_store(&s, move |c| {
        let r = match step {
            ReportStep::Draft { version, edits } => c.with(|st| {
                let edits = match edits {
                    Some(e) => e,
                    None => st.last_edits(&id)?,
                };
                st.draft_report(&who, &id, version, &c.settings, &edits)
                    .map(|d| Out::Json(serde_json::to_value(d).unwrap_or_default()))
            }),
            ReportStep::Return { report_id, comment } => c
                .with(|st| st.return_report(&who, &id, &report_id, &comment))
                .map(|_| Out::Json(serde_json::json!({ "returned": report_id }))),
            ReportStep::Approve { report_id } => {
                c.approve(&who, &id, &report_id).map(|r| Out::Json(serde_json::to_value(r).unwrap_or_default()))
            }
            ReportStep::Download { report_id } => {
                c.with(|st| st.report_xml(&who, &id, &report_id)).map(|(_, x)| Out::Xml(x))
            }
            ReportStep::Filing { report_id, status, fiu_ref, message } => c
                .with(|st| st.record_filing(&who, &id, &report_id, &status, fiu_ref.as_deref(), message.as_deref()))
                .map(|r| Out::Json(serde_json::to_value(r).unwrap_or_default())),
        };
        r
    })
    .await?;
    Ok(match out {
        Out::Json(v) => Json(v).into_response(),
        Out::Xml(x) => ([(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")], x).into_response(),
    })
}

/// A confirmed buyer or facilitator becomes a seed: logged, replayed, raising the risk of its
/// counterparts (the network rules). Returns the seed's answer, if it was applied.
pub(crate) async fn seed_confirmed(
    s: &Shared,
    entity_type: &str,
    entity_id: String,
    case: &str,
    closer: &str,
) -> Option<serde_json::Value> {
    let role = if entity_type == "recipient" {
        osecwatch_engine::SeedRole::Facilitator
    } else {
        osecwatch_engine::SeedRole::Buyer
    };
    let case_id = case.rsplit('/').next().unwrap_or(case);
    let ev = osecwatch_engine::SeedEvent {
        role,
        action: osecwatch_engine::SeedAction::Add,
        ids: vec![entity_id],
        source: format!("case {case_id} confirmed_osec"),
    };
    match crate::app::seed(s, ev, format!("user {closer}")).await {
        Ok(Ok(a)) => Some(serde_json::to_value(a).unwrap_or_default()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "seeding a confirmed case failed");
            None
        }
        Err(_) => None,
    }
}
