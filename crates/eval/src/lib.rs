//! Evaluation on a world with known answers: how many offenders a rule pack catches, how
//! early, how much money it could have stopped, how much work it creates, and for whom.
//!
//! Inputs are a simulated world (`entity_labels.csv`, `txn_labels.csv`, the transactions)
//! and a scan's `alerts.jsonl` (plus `scores.jsonl`, the score histories that let any
//! threshold be replayed). Ground truth conventions are those of
//! `shared/reference/formats.md` §2: buyers and facilitators are the entities with a role
//! of that name and a `first_osec_at` (those with no OSEC payment in the period cannot be
//! detected from it and are not counted).
//!
//! This crate never prints; [`report::html`] renders the self-contained HTML report.

pub mod report;

use osecwatch_engine::ScoreRecord;
use osecwatch_ingest::{read_file, Location, RateTable, Rejection, Visitor};
use osecwatch_model::{Timestamp, TxnRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Why an evaluation could not read its inputs.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {message}")]
    /// A file is missing or not what it must hold.
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn input_err(path: &Path, m: impl ToString) -> EvalError {
    EvalError::Input { path: path.to_path_buf(), message: m.to_string() }
}

/// Ground truth for one entity.
#[derive(Debug, Clone)]
pub struct Label {
    /// `buyer`, `facilitator` or `benign`.
    pub role: String,
    /// The simulator's archetype (`heavy_buyer`, `diaspora_family`, ...).
    pub archetype: String,
    /// Time (UTC seconds) of the entity's first OSEC payment in the period, if any.
    pub first_osec: Option<i64>,
}

/// One OSEC payment (from the ground truth), amount in base-currency minor units.
#[derive(Debug, Clone)]
pub struct OsecPayment {
    /// The paying sender.
    pub sender: String,
    /// The recipient.
    pub recipient: String,
    /// Event time (UTC seconds).
    pub utc: i64,
    /// Amount in base-currency minor units.
    pub amount: i64,
}

/// The labelled world an evaluation runs against.
#[derive(Debug, Clone, Default)]
pub struct GroundTruth {
    /// Ground truth per entity id.
    pub labels: HashMap<String, Label>,
    /// Every sender that appears in the transactions, with its country.
    pub senders: HashMap<String, String>,
    /// Every OSEC payment, in time order.
    pub osec: Vec<OsecPayment>,
    /// Time of the first payment of the world (UTC seconds).
    pub first_utc: i64,
    /// Time of the last payment of the world (UTC seconds).
    pub last_utc: i64,
}

impl GroundTruth {
    /// Load `entity_labels.csv`, `txn_labels.csv` and `transactions.{csv,jsonl,parquet}`.
    pub fn load(dir: &Path) -> Result<GroundTruth, EvalError> {
        let mut w = GroundTruth { first_utc: i64::MAX, last_utc: i64::MIN, ..Default::default() };
        let ep = dir.join("entity_labels.csv");
        let mut r = csv::Reader::from_path(&ep).map_err(|e| input_err(&ep, e))?;
        for rec in r.records() {
            let rec = rec.map_err(|e| input_err(&ep, e))?;
            if rec.len() < 4 {
                return Err(input_err(&ep, "expected entity_id,role,archetype,first_osec_at"));
            }
            let first_osec = if rec[3].is_empty() {
                None
            } else {
                Some(Timestamp::parse_rfc3339(&rec[3]).map_err(|e| input_err(&ep, e))?.utc)
            };
            w.labels.insert(
                rec[0].to_string(),
                Label { role: rec[1].to_string(), archetype: rec[2].to_string(), first_osec },
            );
        }
        let lp = dir.join("txn_labels.csv");
        let mut r = csv::Reader::from_path(&lp).map_err(|e| input_err(&lp, e))?;
        let mut osec_ids = HashSet::new();
        let mut rec = csv::ByteRecord::new();
        while r.read_byte_record(&mut rec).map_err(|e| input_err(&lp, e))? {
            if rec.get(1) == Some(b"true") {
                osec_ids.insert(String::from_utf8_lossy(&rec[0]).into_owned());
            }
        }
        let tp = ["csv", "jsonl", "parquet"]
            .iter()
            .map(|e| dir.join(format!("transactions.{e}")))
            .find(|p| p.exists())
            .ok_or_else(|| input_err(dir, "no transactions.csv, .jsonl or .parquet"))?;
        struct V<'a> {
            w: &'a mut GroundTruth,
            ids: &'a HashSet<String>,
            rates: RateTable,
            rejected: u64,
        }
        impl Visitor for V<'_> {
            fn accept(&mut self, row: &TxnRow<'_>, _: &dyn Fn() -> Location) {
                let w = &mut *self.w;
                if !w.senders.contains_key(row.sender_id) {
                    w.senders.insert(row.sender_id.to_string(), row.sender_country.to_string());
                }
                w.first_utc = w.first_utc.min(row.timestamp.utc);
                w.last_utc = w.last_utc.max(row.timestamp.utc);
                if self.ids.contains(row.txn_id) {
                    let amount = self.rates.to_base_minor(row.amount).unwrap_or(0);
                    w.osec.push(OsecPayment {
                        sender: row.sender_id.to_string(),
                        recipient: row.recipient_id.to_string(),
                        utc: row.timestamp.utc,
                        amount,
                    });
                }
            }
            fn reject(&mut self, _: Rejection) {
                self.rejected += 1;
            }
        }
        let mut v = V { w: &mut w, ids: &osec_ids, rates: RateTable::eur_defaults(), rejected: 0 };
        read_file(&tp, &mut v).map_err(|e| input_err(&tp, e))?;
        if v.rejected > 0 {
            return Err(input_err(&tp, format!("{} rows could not be read; evaluate on a clean world", v.rejected)));
        }
        w.osec.sort_by_key(|p| p.utc);
        Ok(w)
    }

    fn truth(&self, role: &str) -> HashSet<&str> {
        self.labels.iter().filter(|(_, l)| l.role == role && l.first_osec.is_some()).map(|(k, _)| k.as_str()).collect()
    }

    /// Months covered by the transactions (at least one).
    pub fn months(&self) -> f64 {
        if self.last_utc < self.first_utc {
            return 1.0;
        }
        ((self.last_utc - self.first_utc) as f64 / (30.44 * 86_400.0)).max(1.0)
    }
}

/// One alert line of `alerts.jsonl`, read leniently: only the fields `formats.md` §3
/// requires of any alert producer, not every field osecwatch's own `Alert` carries, so
/// alerts from another system can be judged too.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertIn {
    /// The alert's id.
    pub alert_id: String,
    /// `sender` or `recipient`.
    pub entity_type: String,
    /// The entity alerted on.
    pub entity_id: String,
    /// The typology's id.
    #[serde(default)]
    pub typology: String,
    /// The alert's score (0-100).
    pub score: f64,
    /// `review` or `block`.
    pub decision: String,
    /// Rule ids that fired.
    #[serde(default)]
    pub typologies: Vec<String>,
    /// When the alert was raised (RFC 3339).
    pub raised_at: String,
    /// `raised_at` as UTC seconds.
    #[serde(skip)]
    pub raised_utc: i64,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| input_err(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| input_err(path, format!("line {}: {e}", i + 1))))
        .collect()
}

/// Read `alerts.jsonl`; a line that is not an alert is an error naming the line.
pub fn load_alerts(path: &Path) -> Result<Vec<AlertIn>, EvalError> {
    let mut a: Vec<AlertIn> = read_jsonl(path)?;
    for x in &mut a {
        x.raised_utc = Timestamp::parse_rfc3339(&x.raised_at)
            .map_err(|e| input_err(path, format!("alert {}: {e}", x.alert_id)))?
            .utc;
    }
    Ok(a)
}

/// Read `scores.jsonl` as `scan` writes it.
pub fn load_scores(path: &Path) -> Result<Vec<ScoreRecord>, EvalError> {
    read_jsonl(path)
}

/// Precision, recall and F1 for one kind of entity.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Detection {
    /// Entities of this kind in the ground truth.
    pub truth: usize,
    /// Entities of this kind alerted on.
    pub flagged: usize,
    /// Alerted entities that are in the ground truth.
    pub true_positives: usize,
    /// Alerted entities that are not.
    pub false_positives: usize,
    /// Alerts on entities the ground truth does not know (counted as false positives).
    pub unknown_entities: usize,
    /// True positives / flagged (0 with no alerts).
    pub precision: f64,
    /// True positives / truth (0 with no truth).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

fn detection(truth: &HashSet<&str>, flagged: &HashSet<&str>, known: &dyn Fn(&str) -> bool) -> Detection {
    let tp = flagged.iter().filter(|f| truth.contains(**f)).count();
    let precision = if flagged.is_empty() { 0.0 } else { tp as f64 / flagged.len() as f64 };
    let recall = if truth.is_empty() { 0.0 } else { tp as f64 / truth.len() as f64 };
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    Detection {
        truth: truth.len(),
        flagged: flagged.len(),
        true_positives: tp,
        false_positives: flagged.len() - tp,
        unknown_entities: flagged.iter().filter(|f| !known(f)).count(),
        precision,
        recall,
        f1,
    }
}

/// How early one buyer was detected.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimeToDetection {
    /// The buyer's id.
    pub buyer: String,
    /// The buyer's archetype.
    pub archetype: String,
    /// Days from the first OSEC payment to the first alert (negative: alerted before it).
    pub days: f64,
    /// OSEC payments the buyer made before its first alert.
    pub osec_payments_before: usize,
    /// OSEC money paid before the first alert (base currency).
    pub amount_before: f64,
    /// OSEC money paid from the first alert on (what a block could have stopped).
    pub amount_after: f64,
}

/// A share of a group that was flagged.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Rate {
    /// The group (an archetype, a country).
    pub group: String,
    /// Members of the group.
    pub total: usize,
    /// Members flagged.
    pub flagged: usize,
    /// flagged / total.
    pub rate: f64,
}

/// A point of a threshold curve.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurvePoint {
    /// Review threshold of this point.
    pub threshold: f64,
    /// Senders alerted at it.
    pub flagged: usize,
    /// Buyer precision at it.
    pub precision: f64,
    /// Buyer recall at it.
    pub recall: f64,
    /// Sender alerts per 10,000 senders at it.
    pub alerts_per_10k: f64,
}

/// Everything `osecwatch eval` reports for one pack.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The pack's id.
    pub pack: String,
    /// Buyers (senders) found.
    pub buyers: Detection,
    /// Facilitators (recipients) found.
    pub facilitators: Detection,
    /// Senders in the world.
    pub senders: usize,
    /// Sender alerts per 10,000 senders: the analysts' workload.
    pub sender_alerts_per_10k: f64,
    /// Sender alerts per month of the period.
    pub alerts_per_month: f64,
    /// Sender alerts per calendar month (`YYYY-MM`).
    pub alerts_by_month: BTreeMap<String, usize>,
    /// Per detected buyer: how early.
    pub time_to_detection: Vec<TimeToDetection>,
    /// Median days from a buyer's first OSEC payment to its first alert.
    pub median_days_to_detection: Option<f64>,
    /// Median OSEC payments a detected buyer made before its first alert.
    pub median_payments_before_detection: Option<f64>,
    /// All OSEC money in the world (base currency).
    pub osec_amount_total: f64,
    /// OSEC money paid before each buyer's first alert (undetected buyers: all of it).
    pub osec_amount_before_detection: f64,
    /// Share of all OSEC money that flowed after the buyer's first alert: what blocking
    /// could have stopped.
    pub share_after_detection: f64,
    /// Buyer recall by buyer archetype.
    pub recall_by_archetype: Vec<Rate>,
    /// Benign senders alerted, by archetype (rate = alerted / all senders of it).
    pub false_positives_by_archetype: Vec<Rate>,
    /// (benign archetype, rule id) -> alerts, most frequent first.
    pub false_positive_rules: Vec<(String, String, usize)>,
    /// Alert rate of benign senders by sender country.
    pub benign_rate_by_country: Vec<Rate>,
    /// Precision, recall and workload over review thresholds (from `scores.jsonl`).
    pub curve: Vec<CurvePoint>,
    /// Max score of every scored sender, by archetype (for the distribution plot).
    pub scores_by_archetype: BTreeMap<String, Vec<f64>>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn month_of(utc: i64) -> String {
    let (y, m, _) = osecwatch_model::civil_from_days(utc.div_euclid(86_400));
    format!("{y:04}-{m:02}")
}

/// Evaluate one pack's alerts (and optional score histories) against the world.
pub fn evaluate(pack: &str, w: &GroundTruth, alerts: &[AlertIn], scores: Option<&[ScoreRecord]>) -> Evaluation {
    let buyers = w.truth("buyer");
    let facs = w.truth("facilitator");
    let known = |id: &str| w.labels.contains_key(id);
    let flagged_s: HashSet<&str> =
        alerts.iter().filter(|a| a.entity_type == "sender").map(|a| a.entity_id.as_str()).collect();
    let flagged_r: HashSet<&str> =
        alerts.iter().filter(|a| a.entity_type == "recipient").map(|a| a.entity_id.as_str()).collect();
    let senders = w.senders.len().max(1);
    let mut by_month: BTreeMap<String, usize> = BTreeMap::new();
    for a in alerts {
        *by_month.entry(month_of(a.raised_utc)).or_default() += 1;
    }
    // First alert per sender.
    let mut first_alert: HashMap<&str, i64> = HashMap::new();
    for a in alerts.iter().filter(|a| a.entity_type == "sender") {
        let e = first_alert.entry(a.entity_id.as_str()).or_insert(a.raised_utc);
        *e = (*e).min(a.raised_utc);
    }
    let ttd = time_to_detection(w, &buyers, &first_alert);
    let total: i64 = w.osec.iter().filter(|p| buyers.contains(p.sender.as_str())).map(|p| p.amount).sum();
    let before: f64 = ttd.iter().map(|t| t.amount_before).sum();
    let after: f64 = ttd.iter().map(|t| t.amount_after).sum();
    let mut days: Vec<f64> = ttd.iter().map(|t| t.days).collect();
    let mut pays: Vec<f64> = ttd.iter().map(|t| t.osec_payments_before as f64).collect();

    let group_rate = |filter: &dyn Fn(&Label) -> bool, key: &dyn Fn(&str, &Label) -> String| -> Vec<Rate> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (id, l) in w.labels.iter().filter(|(id, l)| w.senders.contains_key(id.as_str()) && filter(l)) {
            let e = m.entry(key(id, l)).or_default();
            e.0 += 1;
            e.1 += flagged_s.contains(id.as_str()) as usize;
        }
        m.into_iter()
            .map(|(group, (total, flagged))| Rate { group, total, flagged, rate: flagged as f64 / total.max(1) as f64 })
            .collect()
    };
    let recall_by_archetype = group_rate(&|l| l.role == "buyer" && l.first_osec.is_some(), &|_, l| l.archetype.clone());
    let false_positives_by_archetype = group_rate(&|l| l.role != "buyer", &|_, l| l.archetype.clone());
    let benign_rate_by_country =
        group_rate(&|l| l.role != "buyer", &|id, _| w.senders.get(id).cloned().unwrap_or_default());
    let mut fp_rules: HashMap<(String, String), usize> = HashMap::new();
    for a in alerts.iter().filter(|a| a.entity_type == "sender" && !buyers.contains(a.entity_id.as_str())) {
        let arch = w.labels.get(&a.entity_id).map(|l| l.archetype.clone()).unwrap_or_else(|| "(unknown entity)".into());
        for r in &a.typologies {
            *fp_rules.entry((arch.clone(), r.clone())).or_default() += 1;
        }
    }
    let mut false_positive_rules: Vec<(String, String, usize)> =
        fp_rules.into_iter().map(|((a, r), n)| (a, r, n)).collect();
    false_positive_rules.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));

    let mut scores_by_archetype: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let curve = match scores {
        Some(sc) => {
            for s in sc.iter().filter(|s| s.entity_type == "sender") {
                let arch = w
                    .labels
                    .get(&s.entity_id)
                    .map(|l| l.archetype.clone())
                    .unwrap_or_else(|| "(unknown entity)".into());
                scores_by_archetype.entry(arch).or_default().push(s.max_score);
            }
            curve(sc, &buyers, senders)
        }
        None => Vec::new(),
    };
    Evaluation {
        pack: pack.to_string(),
        buyers: detection(&buyers, &flagged_s, &known),
        facilitators: detection(&facs, &flagged_r, &known),
        senders: w.senders.len(),
        sender_alerts_per_10k: flagged_s.len() as f64 * 10_000.0 / senders as f64,
        alerts_per_month: alerts.len() as f64 / w.months(),
        alerts_by_month: by_month,
        median_days_to_detection: median(&mut days),
        median_payments_before_detection: median(&mut pays),
        time_to_detection: ttd,
        osec_amount_total: total as f64 / 100.0,
        osec_amount_before_detection: before,
        share_after_detection: if total == 0 { 0.0 } else { after / (total as f64 / 100.0) },
        recall_by_archetype,
        false_positives_by_archetype,
        false_positive_rules,
        benign_rate_by_country,
        curve,
        scores_by_archetype,
    }
}

fn time_to_detection(
    w: &GroundTruth,
    buyers: &HashSet<&str>,
    first_alert: &HashMap<&str, i64>,
) -> Vec<TimeToDetection> {
    let mut out: Vec<TimeToDetection> = Vec::new();
    let mut by_sender: HashMap<&str, Vec<&OsecPayment>> = HashMap::new();
    for p in &w.osec {
        by_sender.entry(p.sender.as_str()).or_default().push(p);
    }
    let mut ids: Vec<&&str> = buyers.iter().collect();
    ids.sort();
    for b in ids {
        let Some(&alert) = first_alert.get(*b) else { continue };
        let label = &w.labels[*b];
        let pays = by_sender.get(*b).cloned().unwrap_or_default();
        let first = label.first_osec.unwrap_or(alert);
        let before: Vec<&&OsecPayment> = pays.iter().filter(|p| p.utc < alert).collect();
        let amount_before = before.iter().map(|p| p.amount).sum::<i64>() as f64 / 100.0;
        let amount_after = pays.iter().filter(|p| p.utc >= alert).map(|p| p.amount).sum::<i64>() as f64 / 100.0;
        out.push(TimeToDetection {
            buyer: b.to_string(),
            archetype: label.archetype.clone(),
            days: (alert - first) as f64 / 86_400.0,
            osec_payments_before: before.len(),
            amount_before,
            amount_after,
        });
    }
    out
}

/// Precision, recall and alert load for every threshold step, from score histories.
pub fn curve(scores: &[ScoreRecord], buyers: &HashSet<&str>, senders: usize) -> Vec<CurvePoint> {
    let sender_scores: Vec<(&str, f64)> =
        scores.iter().filter(|s| s.entity_type == "sender").map(|s| (s.entity_id.as_str(), s.max_score)).collect();
    (0..=20)
        .map(|i| {
            let th = i as f64 * 5.0;
            let flagged: HashSet<&str> =
                sender_scores.iter().filter(|(_, s)| *s >= th && *s > 0.0).map(|(id, _)| *id).collect();
            let tp = flagged.iter().filter(|f| buyers.contains(**f)).count();
            CurvePoint {
                threshold: th,
                flagged: flagged.len(),
                precision: if flagged.is_empty() { 0.0 } else { tp as f64 / flagged.len() as f64 },
                recall: if buyers.is_empty() { 0.0 } else { tp as f64 / buyers.len() as f64 },
                alerts_per_10k: flagged.len() as f64 * 10_000.0 / senders.max(1) as f64,
            }
        })
        .collect()
}

/// What `tune` optimises for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// At most this many sender alerts per 10,000 senders.
    AlertBudget(f64),
    /// At least this buyer precision.
    MinPrecision(f64),
}

/// An entity just below the proposed review line.
#[derive(Debug, Clone, Serialize)]
pub struct BelowLine {
    /// The sender.
    pub entity_id: String,
    /// Its highest corroborated score.
    pub max_score: f64,
    /// Its role in the ground truth.
    pub role: String,
    /// Its archetype.
    pub archetype: String,
}

/// Thresholds proposed by [`tune`] for a target.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// The review threshold that meets the target, with its figures (`None`: no threshold does).
    pub review: Option<CurvePoint>,
    /// The block threshold at the block precision asked for.
    pub block: Option<CurvePoint>,
    /// A sample of senders scoring within 10 points below the review threshold, spread
    /// over that band: what lowering the threshold would add.
    pub below_line: Vec<BelowLine>,
    /// All senders in that band, counted by "role / archetype".
    pub below_line_counts: BTreeMap<String, usize>,
}

/// Propose review and block thresholds for a target. The review threshold is the lowest
/// step meeting the target; the block threshold the lowest step at or above it whose
/// precision reaches `block_precision` (none if no step does).
pub fn tune(w: &GroundTruth, scores: &[ScoreRecord], target: Target, block_precision: f64) -> Proposal {
    let buyers = w.truth("buyer");
    let c = curve(scores, &buyers, w.senders.len());
    let ok = |p: &CurvePoint| match target {
        Target::AlertBudget(b) => p.alerts_per_10k <= b,
        Target::MinPrecision(m) => p.precision >= m && p.flagged > 0,
    };
    let review = c.iter().filter(|p| p.threshold >= 5.0).find(|p| ok(p)).cloned();
    let block = review.as_ref().and_then(|r| {
        c.iter()
            .filter(|p| p.threshold >= r.threshold)
            .find(|p| p.precision >= block_precision && p.flagged > 0)
            .cloned()
    });
    let mut below_line = Vec::new();
    let mut below_line_counts = BTreeMap::new();
    if let Some(r) = &review {
        let mut v: Vec<&ScoreRecord> = scores
            .iter()
            .filter(|s| s.entity_type == "sender" && s.max_score < r.threshold && s.max_score >= r.threshold - 10.0)
            .collect();
        v.sort_by(|a, b| b.max_score.total_cmp(&a.max_score).then(a.entity_id.cmp(&b.entity_id)));
        for s in &v {
            let key = w
                .labels
                .get(&s.entity_id)
                .map(|l| format!("{} / {}", l.role, l.archetype))
                .unwrap_or_else(|| "(unknown)".into());
            *below_line_counts.entry(key).or_insert(0) += 1;
        }
        // An even spread over the band, not just its top.
        let step = v.len().div_ceil(25).max(1);
        below_line = v
            .into_iter()
            .step_by(step)
            .map(|s| {
                let l = w.labels.get(&s.entity_id);
                BelowLine {
                    entity_id: s.entity_id.clone(),
                    max_score: s.max_score,
                    role: l.map(|l| l.role.clone()).unwrap_or_else(|| "(unknown)".into()),
                    archetype: l.map(|l| l.archetype.clone()).unwrap_or_else(|| "(unknown)".into()),
                }
            })
            .collect();
    }
    Proposal { review, block, below_line, below_line_counts }
}

/// One analyst decision (a line of `osecwatch cases export-dispositions`), as far as the
/// comparison with the ground truth needs it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DispositionIn {
    /// The case.
    pub case_id: String,
    /// The entity.
    pub entity_id: String,
    /// `confirmed_osec`, `false_positive`, `not_osec_but_suspicious`, `no_action`.
    pub disposition: String,
}

/// How analysts' dispositions compare with the ground truth.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DispositionAgreement {
    /// Dispositions read.
    pub cases: u64,
    /// `disposition on truth` -> count; truth is `buyer`, `facilitator`, `benign` or `unknown`.
    pub table: std::collections::BTreeMap<String, u64>,
    /// Confirmed OSEC on an entity that is OSEC in truth.
    pub confirmed_right: u64,
    /// Confirmed OSEC on a benign entity (a wrong report).
    pub confirmed_wrong: u64,
    /// Dismissed (false positive, no action) although OSEC in truth (a missed buyer or facilitator).
    pub dismissed_osec: u64,
    /// Dismissed and benign in truth.
    pub dismissed_right: u64,
}

/// Compare dispositions with the world's labels.
pub fn dispositions_vs_truth(w: &GroundTruth, ds: &[DispositionIn]) -> DispositionAgreement {
    let mut a = DispositionAgreement { cases: ds.len() as u64, ..Default::default() };
    for d in ds {
        let truth = w.labels.get(&d.entity_id).map(|l| l.role.clone()).unwrap_or_else(|| "unknown".into());
        *a.table.entry(format!("{} on {truth}", d.disposition)).or_default() += 1;
        let osec = truth == "buyer" || truth == "facilitator";
        match (d.disposition.as_str(), osec, truth.as_str()) {
            ("confirmed_osec", true, _) => a.confirmed_right += 1,
            ("confirmed_osec", false, "benign") => a.confirmed_wrong += 1,
            ("false_positive" | "no_action", true, _) => a.dismissed_osec += 1,
            ("false_positive" | "no_action", false, "benign") => a.dismissed_right += 1,
            _ => {}
        }
    }
    a
}
