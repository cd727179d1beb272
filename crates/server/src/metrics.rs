//! Request counts and latencies per route, and the Prometheus text exposition.
//!
//! Written by hand: a dozen lines of the text format, against a dependency whose registry
//! model fits this static set of metrics poorly.

use crate::app::Shared;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Latency histogram buckets (seconds).
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, secs: f64) {
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Counts by (route, status) and a latency histogram per route.
pub(crate) struct Metrics {
    requests: std::sync::Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: BTreeMap<&'static str, Histogram>,
}

impl Metrics {
    /// Metrics for these routes (paths).
    pub(crate) fn new(routes: impl Iterator<Item = &'static str>) -> Metrics {
        Metrics { requests: Default::default(), latency: routes.map(|r| (r, Histogram::default())).collect() }
    }

    /// One answered request.
    pub(crate) fn record(&self, route: &'static str, status: u16, started: Instant) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status)).or_default() += 1;
        }
        if let Some(h) = self.latency.get(route) {
            h.observe(started.elapsed().as_secs_f64());
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(s): State<Shared>) -> Response {
    let mut o = String::new();
    use std::fmt::Write as _;
    let c = &s.core;
    let _ = writeln!(
        o,
        "# HELP osecwatch_requests_total HTTP requests by route and status.\n# TYPE osecwatch_requests_total counter"
    );
    if let Ok(m) = s.metrics.requests.lock() {
        for ((route, code), n) in m.iter() {
            let _ = writeln!(o, "osecwatch_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}");
        }
    }
    let _ = writeln!(
        o,
        "# HELP osecwatch_decisions_total Screening decisions by outcome.\n# TYPE osecwatch_decisions_total counter"
    );
    for (d, v) in [("allow", &c.allow), ("review", &c.review), ("block", &c.block)] {
        let _ = writeln!(o, "osecwatch_decisions_total{{decision=\"{d}\"}} {}", v.load(Ordering::Relaxed));
    }
    let _ = writeln!(o, "# HELP osecwatch_request_duration_seconds Request latency.\n# TYPE osecwatch_request_duration_seconds histogram");
    for (route, h) in &s.metrics.latency {
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += h.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(o, "osecwatch_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cum}");
        }
        cum += h.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(o, "osecwatch_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            o,
            "osecwatch_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "osecwatch_request_duration_seconds_count{{route=\"{route}\"}} {cum}");
    }
    for (name, help, v) in [
        ("osecwatch_log_entries", "Payments in the write-ahead log.", &c.logged),
        ("osecwatch_duplicates_total", "Payments received again (answered from the log).", &c.duplicates),
        ("osecwatch_commit_batches_total", "Group commits.", &c.batches),
        ("osecwatch_senders_tracked", "Senders with state.", &c.senders_tracked),
        ("osecwatch_recipients_tracked", "Recipients with state.", &c.recipients_tracked),
        ("osecwatch_alerts", "Alerts raised.", &c.alerts),
        (
            "osecwatch_idempotency_ids",
            "Payment ids remembered for retries (those within the allowed lateness).",
            &c.ids_remembered,
        ),
        ("osecwatch_idempotency_index_bytes", "Bytes of the idempotency index's table.", &c.index_bytes),
    ] {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", v.load(Ordering::Relaxed));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], o).into_response()
}
