//! The workbench's queue and STR review pages, and the approved report's download.

use super::actions::CLIENT_FIELDS;
use super::chart::esc;
use super::{blocking, error_page, money, page, signed_in, store_of, Nav};
use crate::app::{query, Shared};
use askama::Template;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use osecwatch_cases::{CaseState, Filter};
use serde::Deserialize;

/// Cases on one queue page.
const PAGE: i64 = 50;

// ------------------------------------------------------------------ the queue

#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    state: Option<String>,
    typology: Option<String>,
    assignee: Option<String>,
    min_age_days: Option<String>,
    corridor: Option<String>,
    entity: Option<String>,
    page: Option<i64>,
}

struct QueueRow {
    case_id: String,
    priority: String,
    entity_type: String,
    entity_id: String,
    typology: String,
    state: &'static str,
    assignee: String,
    amount: String,
    age_days: i64,
    headline: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    nav: Option<Nav>,
    total: i64,
    more: bool,
    rows: Vec<QueueRow>,
    states: Vec<(&'static str, bool)>,
    typologies: Vec<(String, bool)>,
    assignee: String,
    min_age: String,
    corridor: String,
    entity: String,
    prev: Option<String>,
    next: Option<String>,
    first: i64,
    last: i64,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from)
}

/// The query string of a queue page (filters are states, codes and ids: no personal data).
fn queue_href(q: &QueueQuery, page: i64) -> String {
    let mut parts: Vec<(&str, String)> = [
        ("state", &q.state),
        ("typology", &q.typology),
        ("assignee", &q.assignee),
        ("min_age_days", &q.min_age_days),
        ("corridor", &q.corridor),
        ("entity", &q.entity),
    ]
    .into_iter()
    .filter_map(|(k, v)| nonempty(v).map(|v| (k, v)))
    .collect();
    parts.push(("page", page.to_string()));
    format!("/ui/queue?{}", serde_urlencoded::to_string(&parts).unwrap_or_default())
}

/// `GET /ui/queue`: active cases by priority, filtered and paged.
pub(crate) async fn queue(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let Query(q) = q.unwrap_or_default();
    let svc = try_page!(store_of(&s, &who));
    let state = nonempty(&q.state).and_then(|x| CaseState::parse(&x));
    let page_no = q.page.unwrap_or(1).max(1);
    let filter = Filter {
        state,
        assignee: nonempty(&q.assignee),
        typology: nonempty(&q.typology),
        min_age_days: nonempty(&q.min_age_days).and_then(|d| d.parse().ok()),
        corridor: nonempty(&q.corridor).map(|c| c.to_ascii_uppercase()),
        entity: nonempty(&q.entity),
        limit: Some(PAGE),
        offset: Some((page_no - 1) * PAGE),
        ..Default::default()
    };
    let actor = who.actor();
    // Without a chosen state the queue is the work still to do: the active states.
    let active_only = state.is_none();
    let (p, currency) = try_page!(
        blocking(&who, svc, move |c| {
            let f = Filter { active: active_only, ..filter };
            let currency = c.settings.reporter.currency_code_local.clone().unwrap_or_else(|| "EUR".into());
            c.with(|st| st.list(&actor, &f)).map(|p| (p, currency))
        })
        .await
    );
    let rows = p
        .cases
        .iter()
        .map(|c| QueueRow {
            case_id: c.case_id.clone(),
            priority: format!("{:.0}", c.priority),
            entity_type: c.entity_type.clone(),
            entity_id: c.entity_id.clone(),
            typology: c.typology.clone(),
            state: c.state.as_str(),
            assignee: c.assignee.clone().unwrap_or_else(|| "-".into()),
            amount: money(&currency, c.amount_minor),
            age_days: c.age_days,
            headline: c.headline.clone(),
        })
        .collect::<Vec<_>>();
    // The filter offers the typologies of the pack the service runs.
    let pack: Vec<String> =
        query(&s, |e| e.pack().typologies.iter().map(|t| t.id.clone()).collect()).await.unwrap_or_default();
    let typologies = pack
        .into_iter()
        .map(|t| {
            let chosen = q.typology.as_deref() == Some(t.as_str());
            (t, chosen)
        })
        .collect();
    let states = ["open", "investigating", "pending_approval", "reported", "closed"]
        .iter()
        .map(|x| (*x, state.map(|s| s.as_str()) == Some(*x)))
        .collect();
    let first = (page_no - 1) * PAGE + if rows.is_empty() { 0 } else { 1 };
    let last = (page_no - 1) * PAGE + rows.len() as i64;
    let t = QueuePage {
        nav: Nav::of(&who),
        total: p.total,
        more: p.more,
        prev: (page_no > 1).then(|| queue_href(&q, page_no - 1)),
        next: (last < p.total || p.more).then(|| queue_href(&q, page_no + 1)),
        rows,
        states,
        typologies,
        assignee: q.assignee.clone().unwrap_or_default(),
        min_age: q.min_age_days.clone().unwrap_or_default(),
        corridor: q.corridor.clone().unwrap_or_default(),
        entity: q.entity.clone().unwrap_or_default(),
        first,
        last,
    };
    page(StatusCode::OK, t)
}

// ------------------------------------------------------------------ the STR review

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    nav: Option<Nav>,
    csrf: String,
    case_id: String,
    entity_type: String,
    entity_id: String,
    case_state: &'static str,
    version: i64,
    profile: String,
    report: Option<osecwatch_cases::ReportView>,
    xml: String,
    can_approve: bool,
    can_draft: bool,
    approved: bool,
    narrative: String,
    drafted_narrative: String,
    action: String,
    client_fields: Vec<(&'static str, &'static str, String)>,
}

/// `GET /ui/cases/{id}/report`: the latest report with its validation and XML, the draft form
/// (analysts), approve and return (supervisors other than the drafter).
pub(crate) async fn report(State(s): State<Shared>, headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let svc = try_page!(store_of(&s, &who));
    let actor = who.actor();
    let (d, xml, edits, profile) = try_page!(
        blocking(&who, svc, move |c| {
            c.with(|st| {
                let d = st.get(&actor, &id)?;
                let xml = match d.reports.first() {
                    Some(r) => Some(st.report_preview(&actor, &id, &r.report_id)?.1),
                    None => None,
                };
                let edits = st.last_edits(&id)?;
                Ok((d, xml, edits, c.settings.profile.name.clone()))
            })
        })
        .await
    );
    let c = &d.summary;
    let report = d.reports.first().cloned();
    let draft = report.as_ref().is_some_and(|r| r.state == "draft");
    let can_approve = draft && who.supervises() && report.as_ref().is_some_and(|r| r.drafted_by != who.user);
    let own = edits.clients.iter().find(|x| x.account_id == c.entity_id);
    let own = own.and_then(|x| serde_json::to_value(x).ok()).unwrap_or_default();
    let client_fields = if c.entity_type == "sender" {
        CLIENT_FIELDS
            .iter()
            .map(|(n, l)| (*n, *l, own.get(*n).and_then(|v| v.as_str()).unwrap_or("").to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let t = ReportPage {
        nav: Nav::of(&who),
        csrf: who.csrf.clone(),
        case_id: c.case_id.clone(),
        entity_type: c.entity_type.clone(),
        entity_id: c.entity_id.clone(),
        case_state: c.state.as_str(),
        version: c.version,
        profile,
        approved: report.as_ref().is_some_and(|r| r.state == "approved"),
        narrative: edits.narrative.clone().or_else(|| report.as_ref().map(|r| r.narrative.clone())).unwrap_or_default(),
        drafted_narrative: if edits.narrative.is_some() {
            String::new()
        } else {
            report.as_ref().map(|r| r.narrative.clone()).unwrap_or_default()
        },
        action: edits.action.clone().unwrap_or_default(),
        report,
        xml: xml.unwrap_or_default(),
        can_approve,
        can_draft: c.state.active(),
        client_fields,
    };
    page(StatusCode::OK, t)
}

/// `GET /ui/cases/{id}/report/{rid}/xml`: an approved report's XML as a file; audited.
pub(crate) async fn download(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((id, rid)): UrlPath<(String, String)>,
) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let svc = try_page!(store_of(&s, &who));
    let actor = who.actor();
    let (r, xml) = try_page!(blocking(&who, svc, move |c| c.with(|st| st.report_xml(&actor, &id, &rid))).await);
    if r.state != "approved" {
        return error_page(
            Some(&who),
            StatusCode::CONFLICT,
            format!("report {} is {}: only an approved report is filed", r.report_id, r.state),
        );
    }
    let name = format!("attachment; filename=\"{}.xml\"", esc(&r.report_id).replace('"', ""));
    let mut resp =
        ([(header::CONTENT_TYPE, "application/xml; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], xml)
            .into_response();
    if let Ok(v) = name.parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_keep_the_filters() {
        let q = QueueQuery {
            typology: Some("OSEC-BUYER".into()),
            entity: Some("DE 1&2=3".into()),
            corridor: Some(" ".into()),
            ..Default::default()
        };
        let href = queue_href(&q, 3);
        let (path, query) = href.split_once('?').unwrap();
        assert_eq!(path, "/ui/queue");
        let back: QueueQuery = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(back.typology.as_deref(), Some("OSEC-BUYER"));
        assert_eq!(back.entity.as_deref(), Some("DE 1&2=3"), "odd characters survive: {href}");
        assert_eq!((back.corridor, back.state, back.page), (None, None, Some(3)), "empty filters are left out");
    }
}
