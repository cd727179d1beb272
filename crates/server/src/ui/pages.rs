//! The workbench's pages: the queue, a case, its STR review, the dashboard, and the two
//! downloads (an attachment, an approved report's XML).

use super::actions::CLIENT_FIELDS;
use super::chart::{self, esc, Dot, PALETTE};
use super::session::Who;
use super::{blocking, error_page, money, page, signed_in, store_of, Nav};
use crate::app::{query, Shared};
use askama::Template;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use osecwatch_cases::{CaseDetail, CaseState, Filter};
use osecwatch_model::{CountryCode, Timestamp};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;

/// Cases on one queue page.
const PAGE: i64 = 50;

macro_rules! try_page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

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
    let mut parts: Vec<String> = Vec::new();
    for (k, v) in [
        ("state", &q.state),
        ("typology", &q.typology),
        ("assignee", &q.assignee),
        ("min_age_days", &q.min_age_days),
        ("corridor", &q.corridor),
        ("entity", &q.entity),
    ] {
        if let Some(v) = nonempty(v) {
            parts.push(format!("{k}={}", url_encode(&v)));
        }
    }
    parts.push(format!("page={page}"));
    format!("/ui/queue?{}", parts.join("&"))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    let typologies = ["OSEC-BUYER", "OSEC-FACILITATOR", "OSEC-ESCALATION"]
        .iter()
        .map(|t| (t.to_string(), q.typology.as_deref() == Some(*t)))
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

// ------------------------------------------------------------------ a case

struct PayRow {
    at: String,
    amount: String,
    recipient: String,
    country: String,
    channel: String,
    reference: String,
    marks: Vec<&'static str>,
}

struct RecipientRow {
    id: String,
    name: String,
    country: String,
    payments: usize,
    amount: String,
    engine_payers: String,
    other_cases: i64,
}

struct AlertRow {
    alert_id: String,
    typology: String,
    score: String,
    decision: String,
    raised_at: String,
    rules: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Option<Nav>,
    csrf: String,
    c: osecwatch_cases::CaseSummary,
    disposition: Option<String>,
    assignee: String,
    priority: String,
    score: String,
    amount: String,
    snoozed: Option<String>,
    tags: String,
    report_state: Option<String>,
    reasons: Vec<String>,
    alerts: Vec<AlertRow>,
    chart: String,
    legend: Vec<(&'static str, String)>,
    recipients: Vec<RecipientRow>,
    payments: Vec<PayRow>,
    night_hours: String,
    small: String,
    network: Option<String>,
    notes: Vec<osecwatch_cases::NoteView>,
    attachments: Vec<(String, String, i64)>,
    active: bool,
    users: Vec<(String, bool)>,
    transitions: Vec<&'static str>,
    history: Vec<(String, String, String)>,
}

/// What the engine adds to a case page: the pack's marks, who else pays the recipients, and
/// the entity's network picture.
struct EngineView {
    high_risk: Vec<String>,
    night: (u8, u8),
    small_minor: i64,
    base: String,
    cover: Vec<String>,
    payers: HashMap<String, f64>,
    network: Option<String>,
}

async fn engine_view(
    s: &Shared,
    entity: String,
    recipients: Vec<String>,
    countries: Vec<String>,
) -> Option<EngineView> {
    query(s, move |e| {
        let st = &e.pack().settings;
        let high_risk =
            countries.into_iter().filter(|c| CountryCode::parse(c).is_ok_and(|cc| st.is_high_risk(cc))).collect();
        let night = (st.night_start, st.night_end);
        let small_minor = st.small_minor;
        let base = st.base_currency.to_string();
        let cover = st.cover_keywords.clone();
        let now = Timestamp::new(e.last_event_utc(), 0);
        let idx = osecwatch_engine::Feature::ALL.iter().position(|f| f.name() == "recipient.unrelated_payers_365d");
        let mut payers = HashMap::new();
        for r in recipients {
            if let (Some(v), Some(i)) = (e.recipient_values(&r, now), idx) {
                payers.insert(r, v[osecwatch_engine::Feature::ALL[i] as usize]);
            }
        }
        let network = e
            .networks()
            .into_iter()
            .find(|n| n.members.iter().any(|m| m.entity_id == entity))
            .and_then(|n| osecwatch_svg::ego_svg(&n, &entity));
        EngineView { high_risk, night, small_minor, base, cover, payers, network }
    })
    .await
    .ok()
}

/// `GET /ui/cases/{id}`.
pub(crate) async fn case(State(s): State<Shared>, headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let svc = try_page!(store_of(&s, &who));
    let actor = who.actor();
    let (d, reach, currency) = try_page!(
        blocking(&who, svc, move |c| {
            let currency = c.settings.reporter.currency_code_local.clone().unwrap_or_else(|| "EUR".into());
            c.with(|st| Ok((st.get(&actor, &id)?, st.recipient_reach(&id)?, currency)))
        })
        .await
    );
    let mut recipients: Vec<String> = d.payments.iter().map(|p| p.recipient_id.clone()).collect();
    recipients.sort();
    recipients.dedup();
    let mut countries: Vec<String> = d.payments.iter().map(|p| p.recipient_country.clone()).collect();
    countries.sort();
    countries.dedup();
    let ev = engine_view(&s, d.summary.entity_id.clone(), recipients.clone(), countries).await;
    let users = s.tokens.users();
    page(StatusCode::OK, case_page(&who, d, reach, ev, &recipients, &users, &currency))
}

fn case_page(
    who: &Who,
    d: CaseDetail,
    reach: Vec<(String, i64)>,
    ev: Option<EngineView>,
    recipients: &[String],
    users: &[(String, osecwatch_cases::Role)],
    currency: &str,
) -> CasePage {
    let ev = ev.unwrap_or(EngineView {
        high_risk: Vec::new(),
        night: (20, 4),
        small_minor: 25_000,
        base: currency.to_string(),
        cover: Vec::new(),
        payers: HashMap::new(),
        network: None,
    });
    let colour_of: HashMap<&str, usize> = recipients.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
    let reach: HashMap<String, i64> = reach.into_iter().collect();
    let is_night = |h: u8| {
        if ev.night.0 > ev.night.1 {
            h >= ev.night.0 || h < ev.night.1
        } else {
            h >= ev.night.0 && h < ev.night.1
        }
    };
    let shared = |r: &str| ev.payers.get(r).is_some_and(|n| *n >= 2.0) || reach.get(r).is_some_and(|n| *n > 0);
    let mut dots = Vec::with_capacity(d.payments.len());
    let mut payments = Vec::with_capacity(d.payments.len());
    for p in &d.payments {
        let at = chrono::DateTime::parse_from_rfc3339(&p.at).ok();
        let hour = at.map(|t| chrono::Timelike::hour(&t) as u8).unwrap_or(12);
        let night = is_night(hour);
        let reference = p.reference.clone().unwrap_or_default();
        let lower = reference.to_lowercase();
        let mut marks = Vec::new();
        if ev.high_risk.contains(&p.recipient_country) {
            marks.push("corridor");
        }
        if night {
            marks.push("night");
        }
        if p.currency == ev.base && p.amount_minor <= ev.small_minor {
            marks.push("small");
        }
        if !lower.is_empty() && ev.cover.iter().any(|k| lower.contains(k.as_str())) {
            marks.push("cover");
        }
        if shared(&p.recipient_id) {
            marks.push("shared");
        }
        if let Some(t) = at {
            dots.push(Dot {
                utc: t.timestamp(),
                local_hour: hour,
                offset: t.offset().local_minus_utc(),
                amount: p.amount_minor as f64 / 100.0,
                recipient: colour_of.get(p.recipient_id.as_str()).copied().unwrap_or(0),
                txn_id: &p.txn_id,
                night,
            });
        }
        payments.push(PayRow {
            at: at.map(|t| t.format("%Y-%m-%d %H:%M %:z").to_string()).unwrap_or_else(|| p.at.clone()),
            amount: money(&p.currency, p.amount_minor),
            recipient: match &p.recipient_name {
                Some(n) => format!("{} {n}", p.recipient_id),
                None => p.recipient_id.clone(),
            },
            country: p.recipient_country.clone(),
            channel: p.channel.clone(),
            reference,
            marks,
        });
    }
    let chart = chart::timeline(&dots, currency, ev.night);
    let legend = recipients
        .iter()
        .enumerate()
        .take(PALETTE.len())
        .map(|(i, r)| (PALETTE[i], r.clone()))
        .chain(
            (recipients.len() > PALETTE.len()).then(|| (PALETTE[0], "colours repeat after 8 recipients".to_string())),
        )
        .collect();
    let recipient_rows = recipients
        .iter()
        .map(|r| {
            let ps: Vec<_> = d.payments.iter().filter(|p| &p.recipient_id == r).collect();
            RecipientRow {
                id: r.clone(),
                name: ps.first().and_then(|p| p.recipient_name.clone()).unwrap_or_default(),
                country: ps.first().map(|p| p.recipient_country.clone()).unwrap_or_default(),
                payments: ps.len(),
                amount: money(currency, ps.iter().map(|p| p.amount_minor).sum()),
                engine_payers: ev
                    .payers
                    .get(r)
                    .map(|n| format!("{n:.0}"))
                    .unwrap_or_else(|| "not in the live window".into()),
                other_cases: reach.get(r).copied().unwrap_or(0),
            }
        })
        .collect();
    let mut reasons: Vec<String> = Vec::new();
    for a in &d.alerts {
        for r in &a.reasons {
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
    }
    let c = &d.summary;
    let active = c.state.active();
    let transitions = match c.state {
        CaseState::Open => vec!["investigating"],
        CaseState::Investigating => vec!["open"],
        _ => vec![],
    };
    CasePage {
        nav: Nav::of(who),
        csrf: who.csrf.clone(),
        disposition: c.disposition.clone().map(|x| match &d.disposition_reason {
            Some(r) => format!("{x}: {r}"),
            None => x,
        }),
        assignee: c.assignee.clone().unwrap_or_else(|| "nobody".into()),
        priority: format!("{:.0}", c.priority),
        score: format!("{:.0}", c.score),
        amount: money(currency, c.amount_minor),
        snoozed: c.snoozed_until.clone().map(|u| format!("until {u}: {}", d.snooze_reason.clone().unwrap_or_default())),
        tags: d.tags.join(", "),
        report_state: d.reports.first().map(|r| format!("{} {}", r.report_id, r.state)),
        reasons,
        alerts: d
            .alerts
            .iter()
            .map(|a| AlertRow {
                alert_id: a.alert_id.clone(),
                typology: a.typology.clone(),
                score: format!("{:.0}", a.score),
                decision: a.decision.clone(),
                raised_at: a.raised_at.clone(),
                rules: a.rules.join(", "),
            })
            .collect(),
        chart,
        legend,
        recipients: recipient_rows,
        payments,
        night_hours: format!("{:02}:00-{:02}:00", ev.night.0, ev.night.1),
        small: money(&ev.base, ev.small_minor),
        network: ev.network,
        notes: d.notes.clone(),
        attachments: d.attachments.clone(),
        active,
        users: users.iter().map(|(u, _)| (u.clone(), c.assignee.as_deref() == Some(u.as_str()))).collect(),
        transitions,
        history: d.timeline.iter().map(|r| (r.at.clone(), r.actor.clone(), r.action.replace('_', " "))).collect(),
        c: d.summary.clone(),
    }
}

/// `GET /ui/cases/{id}/attachments/{sha}`: the file, checked against its SHA-256, audited.
pub(crate) async fn attachment(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath((id, sha)): UrlPath<(String, String)>,
) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let svc = try_page!(store_of(&s, &who));
    let actor = who.actor();
    let bytes = try_page!(blocking(&who, svc, move |c| c.with(|st| st.attachment(&actor, &id, &sha))).await);
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CONTENT_DISPOSITION, "attachment"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
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

// ------------------------------------------------------------------ the dashboard

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Option<Nav>,
    d: osecwatch_cases::Dashboard,
    days: i64,
    chart: String,
    legend: Vec<(&'static str, String)>,
    rules: Vec<(String, i64, i64, i64, i64, String)>,
    engine: (u64, String, u64, String),
}

/// Days of alerts the dashboard draws.
const DAYS: i64 = 30;
/// Active cases older than this are overdue.
const OVERDUE_DAYS: i64 = 30;

/// `GET /ui/dashboard`.
pub(crate) async fn dashboard(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let who = try_page!(signed_in(&s, &headers));
    let svc = try_page!(store_of(&s, &who));
    let actor = who.actor();
    let d = try_page!(blocking(&who, svc, move |c| c.with(|st| st.dashboard(&actor, DAYS, OVERDUE_DAYS))).await);
    let (chart, legend) = day_bars(&d.alerts_per_day, DAYS);
    let rules = d
        .rules
        .iter()
        .map(|r| {
            let share = r.true_share().map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "-".into());
            (r.rule.clone(), r.confirmed, r.reported, r.false_positive, r.other, share)
        })
        .collect();
    use std::sync::atomic::Ordering::Relaxed;
    let st = &s.core;
    let logged = st.logged.load(Relaxed);
    let secs = s.ui.started.elapsed().as_secs_f64().max(1.0);
    let engine = (
        logged,
        format!("{} / {} / {}", st.allow.load(Relaxed), st.review.load(Relaxed), st.block.load(Relaxed)),
        st.alerts.load(Relaxed),
        format!("{:.1} payments a second over {:.0} minutes", logged as f64 / secs, secs / 60.0),
    );
    page(StatusCode::OK, DashboardPage { nav: Nav::of(&who), d, days: DAYS, chart, legend, rules, engine })
}

/// Alerts per day as stacked bars, one colour per typology: `n` days ending at the latest
/// day with alerts, days without alerts drawn empty.
fn day_bars(days: &[osecwatch_cases::DayCount], n: i64) -> (String, Vec<(&'static str, String)>) {
    let mut typologies: Vec<&str> = days.iter().map(|d| d.typology.as_str()).collect();
    typologies.sort();
    typologies.dedup();
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let last = days.iter().filter_map(|d| parse(&d.day)).max();
    let mut per_day: Vec<(String, Vec<i64>)> = match last {
        Some(last) => (0..n)
            .rev()
            .map(|k| ((last - chrono::Duration::days(k)).format("%Y-%m-%d").to_string(), vec![0; typologies.len()]))
            .collect(),
        None => Vec::new(),
    };
    for d in days {
        let i = typologies.iter().position(|t| *t == d.typology).unwrap_or(0);
        if let Some((_, v)) = per_day.iter_mut().find(|(x, _)| *x == d.day) {
            v[i] += d.alerts;
        }
    }
    let (w, h, left, bottom) = (760.0, 220.0, 40.0, 28.0);
    let max = per_day.iter().map(|(_, v)| v.iter().sum::<i64>()).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="bars" role="img" aria-labelledby="bars-title"><title id="bars-title">Alerts per day, stacked by typology; the highest day has {max} alerts</title>"#
    );
    if per_day.is_empty() {
        s.push_str(r#"<text x="20" y="40">no alerts yet</text></svg>"#);
        return (s, Vec::new());
    }
    let bw = (w - left - 10.0) / per_day.len() as f64;
    for (k, (day, v)) in per_day.iter().enumerate() {
        let mut y = h - bottom;
        for (i, n) in v.iter().enumerate() {
            let bh = *n as f64 / max * (h - bottom - 12.0);
            y -= bh;
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{} {}: {n}</title></rect>"#,
                left + k as f64 * bw + 1.0,
                (bw - 2.0).max(1.0),
                PALETTE[i % PALETTE.len()],
                esc(day),
                esc(typologies[i])
            );
        }
        if k == 0 || k + 1 == per_day.len() {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                left + k as f64 * bw,
                h - 8.0,
                esc(day)
            );
        }
    }
    let _ = write!(s, r#"<text x="4" y="16" font-size="11">{max}</text></svg>"#);
    let legend = typologies.iter().enumerate().map(|(i, t)| (PALETTE[i % PALETTE.len()], t.to_string())).collect();
    (s, legend)
}
