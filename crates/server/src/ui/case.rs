//! The case page: what the store holds of a case, with what the live engine adds (the pack's
//! marks, who else pays each recipient, the entity's network), and an attachment's download.

use super::chart::{self, Dot, PALETTE};
use super::session::Who;
use super::{blocking, money, page, signed_in, store_of, Nav};
use crate::app::{query, Shared};
use askama::Template;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use osecwatch_cases::{CaseDetail, CaseState};
use osecwatch_model::{CountryCode, Timestamp};
use std::collections::HashMap;
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
    let network = ego_network(s, &entity).await;
    query(s, move |e| {
        let st = &e.pack().settings;
        let high_risk =
            countries.into_iter().filter(|c| CountryCode::parse(c).is_ok_and(|cc| st.is_high_risk(cc))).collect();
        let night = (st.night_start, st.night_end);
        let small_minor = st.small_minor;
        let base = st.base_currency.to_string();
        let cover = st.cover_keywords.clone();
        let now = Timestamp::new(e.last_event_utc(), 0);
        let mut payers = HashMap::new();
        for r in recipients {
            if let Some(v) = e.recipient_values(&r, now) {
                payers.insert(r, v[osecwatch_engine::Feature::RUnrelatedPayers365 as usize]);
            }
        }
        EngineView { high_risk, night, small_minor, base, cover, payers, network: None }
    })
    .await
    .ok()
    .map(|mut v| {
        v.network = network;
        v
    })
}

/// How long the networks computed for one case page serve the next ones. Computing them reads
/// every alert and its payers on the core thread: about 25 ms with 9,000 alerts under load
/// (`/v1/networks` in `bench-serve.sh`'s steady state), a stall of live decisions that an
/// analyst paging through cases should not cause on every page.
const NETWORKS_FRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// The entity's ego network, from networks at most [`NETWORKS_FRESH`] old.
async fn ego_network(s: &Shared, entity: &str) -> Option<String> {
    let cached = {
        let g = s.ui.networks.lock().unwrap_or_else(|p| p.into_inner());
        g.as_ref().filter(|(at, _)| at.elapsed() < NETWORKS_FRESH).map(|(_, n)| n.clone())
    };
    let all = match cached {
        Some(n) => n,
        None => {
            let n = std::sync::Arc::new(query(s, |e| e.networks()).await.ok()?);
            *s.ui.networks.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), n.clone()));
            n
        }
    };
    all.iter().find(|n| n.members.iter().any(|m| m.entity_id == entity)).and_then(|n| osecwatch_svg::ego_svg(n, entity))
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
    let reach: HashMap<String, i64> = reach.into_iter().collect();
    let (payments, dots) = marked_payments(&d.payments, &ev, &reach, recipients);
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
    let recipient_rows = recipient_rows(&d.payments, &ev, &reach, recipients, currency);
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

/// The evidence payments as table rows with their marks, and as the timeline's dots.
fn marked_payments<'p>(
    list: &'p [osecwatch_cases::PaymentIn],
    ev: &EngineView,
    reach: &HashMap<String, i64>,
    recipients: &[String],
) -> (Vec<PayRow>, Vec<Dot<'p>>) {
    let colour_of: HashMap<&str, usize> = recipients.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
    let is_night = |h: u8| {
        if ev.night.0 > ev.night.1 {
            h >= ev.night.0 || h < ev.night.1
        } else {
            h >= ev.night.0 && h < ev.night.1
        }
    };
    let shared = |r: &str| ev.payers.get(r).is_some_and(|n| *n >= 2.0) || reach.get(r).is_some_and(|n| *n > 0);
    let mut dots = Vec::with_capacity(list.len());
    let mut payments = Vec::with_capacity(list.len());
    for p in list {
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
    (payments, dots)
}

/// One row per recipient: its payments and money in the case, and who else pays it.
fn recipient_rows(
    list: &[osecwatch_cases::PaymentIn],
    ev: &EngineView,
    reach: &HashMap<String, i64>,
    recipients: &[String],
    currency: &str,
) -> Vec<RecipientRow> {
    recipients
        .iter()
        .map(|r| {
            let ps: Vec<_> = list.iter().filter(|p| &p.recipient_id == r).collect();
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
        .collect()
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
