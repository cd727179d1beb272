//! The figures a compliance team's dashboard shows: alerts per day by typology, open cases by
//! age, overdue cases, and per rule how its closed cases were judged (which rules earn their
//! keep). Read like any other view, so the read is audited.

use crate::query::{need_role, STAFF};
use crate::{Actor, CaseError, Store};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Alerts of one day and typology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD` of the alert's event time (UTC).
    pub day: String,
    /// Typology.
    pub typology: String,
    /// Alerts raised that day.
    pub alerts: i64,
}

/// Open cases in one age band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgeBand {
    /// `0-7 days`, ...
    pub band: &'static str,
    /// Active cases whose first alert is that old.
    pub cases: i64,
}

/// How the closed cases a rule took part in were judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleYield {
    /// Rule id.
    pub rule: String,
    /// Closed as `confirmed_osec`.
    pub confirmed: i64,
    /// Reported to the FIU (an approved STR).
    pub reported: i64,
    /// Closed as `false_positive`.
    pub false_positive: i64,
    /// Closed as `not_osec_but_suspicious` or `no_action`.
    pub other: i64,
}

impl RuleYield {
    /// Confirmed or reported among those and the false positives (`None` before any).
    pub fn true_share(&self) -> Option<f64> {
        let t = self.confirmed + self.reported;
        let n = t + self.false_positive;
        (n > 0).then(|| t as f64 / n as f64)
    }

    /// Cases judged in all.
    pub fn judged(&self) -> i64 {
        self.confirmed + self.reported + self.false_positive + self.other
    }
}

/// The dashboard's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// Alerts per day and typology over the `days` days up to the latest alert.
    pub alerts_per_day: Vec<DayCount>,
    /// Active (not closed, not reported) cases by age of their first alert.
    pub open_by_age: Vec<AgeBand>,
    /// Active cases older than the overdue limit.
    pub overdue: i64,
    /// The limit, days.
    pub overdue_days: i64,
    /// Per rule, how its closed cases were judged; most judged first.
    pub rules: Vec<RuleYield>,
    /// Cases per state.
    pub states: Vec<(String, i64)>,
}

/// Age bands of the open-cases chart: (label, lower bound in days).
const BANDS: [(&str, i64); 4] = [("0-7 days", 0), ("8-30 days", 8), ("31-90 days", 31), ("over 90 days", 91)];

impl Store {
    /// The dashboard: `days` days of alerts (ending at the latest alert's day), cases older
    /// than `overdue_days` counted as overdue.
    pub fn dashboard(&mut self, actor: &Actor, days: i64, overdue_days: i64) -> Result<Dashboard, CaseError> {
        need_role(actor, STAFF, "reading the dashboard")?;
        let clock_now = (self.clock)();
        self.write(|conn, chain, now| {
            conn.relax_commit()?;
            // The day part of an RFC 3339 text is its first ten characters, on both backends.
            let last = conn.query("SELECT MAX(raised_at) FROM case_alerts", &[])?;
            let last = last.first().and_then(|r| r[0].opt()).unwrap_or_default();
            let mut alerts_per_day = Vec::new();
            if let Ok(last) = chrono::DateTime::parse_from_rfc3339(&last) {
                let from = (last - chrono::Duration::days(days.max(1) - 1)).format("%Y-%m-%d").to_string();
                let rows = conn.query(
                    "SELECT SUBSTR(raised_at, 1, 10) AS d, typology, COUNT(*) FROM case_alerts WHERE raised_at >= $1 GROUP BY d, typology ORDER BY d, typology",
                    &[from.into()],
                )?;
                alerts_per_day =
                    rows.iter().map(|r| DayCount { day: r[0].string(), typology: r[1].string(), alerts: r[2].int() }).collect();
            }
            let cut = |d: i64| (clock_now - chrono::Duration::days(d)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let active = "state IN ('open', 'investigating', 'pending_approval')";
            let mut open_by_age = Vec::new();
            for (i, (band, lo)) in BANDS.iter().enumerate() {
                // first_alert_at <= now - lo days, and > now - next band's lower bound.
                let mut sql = format!("SELECT COUNT(*) FROM cases WHERE {active} AND first_alert_at <= $1");
                let mut p = vec![cut(*lo).into()];
                if let Some((_, hi)) = BANDS.get(i + 1) {
                    sql.push_str(" AND first_alert_at > $2");
                    p.push(cut(*hi).into());
                }
                let n = conn.query(&sql, &p)?.first().map(|r| r[0].int()).unwrap_or(0);
                open_by_age.push(AgeBand { band, cases: n });
            }
            let overdue = conn
                .query(&format!("SELECT COUNT(*) FROM cases WHERE {active} AND first_alert_at <= $1"), &[cut(overdue_days).into()])?
                .first()
                .map(|r| r[0].int())
                .unwrap_or(0);
            let states = conn
                .query("SELECT state, COUNT(*) FROM cases GROUP BY state ORDER BY state", &[])?
                .iter()
                .map(|r| (r[0].string(), r[1].int()))
                .collect();
            let judged = conn.query(
                "SELECT a.rules, c.disposition, c.id, c.state FROM case_alerts a JOIN cases c ON c.id = a.case_id WHERE c.disposition IS NOT NULL OR c.state = 'reported'",
                &[],
            )?;
            let mut per: BTreeMap<String, RuleYield> = BTreeMap::new();
            // A rule counts once per case and judgement, however many of the case's alerts it fired in.
            let mut seen = std::collections::HashSet::new();
            for r in &judged {
                let rules: Vec<String> = serde_json::from_str(&r[0].string()).unwrap_or_default();
                let disposition = r[1].opt().unwrap_or_default();
                for rule in rules {
                    if !seen.insert((rule.clone(), r[2].string())) {
                        continue;
                    }
                    let y = per.entry(rule.clone()).or_insert_with(|| RuleYield { rule, ..Default::default() });
                    match disposition.as_str() {
                        _ if r[3].string() == "reported" => y.reported += 1,
                        "confirmed_osec" => y.confirmed += 1,
                        "false_positive" => y.false_positive += 1,
                        _ => y.other += 1,
                    }
                }
            }
            let mut rules: Vec<RuleYield> = per.into_values().collect();
            rules.sort_by(|a, b| b.judged().cmp(&a.judged()).then_with(|| a.rule.cmp(&b.rule)));
            chain.push(now, actor, "dashboard", None, json!({"days": days, "overdue_days": overdue_days}));
            Ok(Dashboard { alerts_per_day, open_by_age, overdue, overdue_days, rules, states })
        })
    }
}
