//! The dashboard: alerts per day by typology, open cases by age, overdue cases, what each
//! rule's cases came to, and the engine's throughput.

use super::chart::{esc, PALETTE};
use super::{blocking, page, signed_in, store_of, Nav};
use crate::app::Shared;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::fmt::Write;
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
