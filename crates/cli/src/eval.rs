//! `osecwatch eval` and `osecwatch tune`: judge alerts against a world's ground truth.

use anyhow::{bail, Context, Result};
use clap::Args;
use osecwatch_eval::{evaluate, load_alerts, load_scores, report, tune, Evaluation, GroundTruth, Proposal, Target};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct EvalArgs {
    /// World directory (entity_labels.csv, txn_labels.csv, transactions.*).
    #[arg(long)]
    pub world: PathBuf,
    /// alerts.jsonl of the pack to judge (its scores.jsonl beside it is used for curves).
    #[arg(long, required_unless_present = "dispositions")]
    pub alerts: Option<PathBuf>,
    /// Analysts' dispositions (`osecwatch cases export-dispositions`): compared with the ground truth.
    #[arg(long)]
    pub dispositions: Option<PathBuf>,
    /// alerts.jsonl of a comparison pack (the baseline), shown side by side.
    #[arg(long)]
    pub baseline_alerts: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write all figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args)]
pub struct TuneArgs {
    #[arg(long)]
    pub world: PathBuf,
    /// scores.jsonl written by `scan`.
    #[arg(long)]
    pub scores: PathBuf,
    /// Target: at most this many sender alerts per 10,000 senders.
    #[arg(long, conflicts_with = "min_precision")]
    pub budget: Option<f64>,
    /// Target: at least this buyer precision (0-1).
    #[arg(long)]
    pub min_precision: Option<f64>,
    /// Precision the block threshold must reach.
    #[arg(long, default_value_t = 0.5)]
    pub block_precision: f64,
}

fn name_of(alerts: &Path) -> String {
    alerts
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().trim_start_matches("scan-").to_string())
        .unwrap_or_else(|| "pack".into())
}

pub fn eval_pack(world: &GroundTruth, alerts: &Path) -> Result<Evaluation> {
    let a = load_alerts(alerts)?;
    let sp = alerts.with_file_name("scores.jsonl");
    let scores = if sp.exists() { Some(load_scores(&sp)?) } else { None };
    Ok(evaluate(&name_of(alerts), world, &a, scores.as_deref()))
}

pub fn summary_text(e: &Evaluation) -> String {
    let mut o = String::new();
    let b = &e.buyers;
    let _ = writeln!(o, "{}:", e.pack);
    let _ = writeln!(
        o,
        "  buyers:        recall {:.2} ({} of {}), precision {:.2} ({} senders alerted), F1 {:.3}",
        b.recall, b.true_positives, b.truth, b.precision, b.flagged, b.f1
    );
    let f = &e.facilitators;
    let _ = writeln!(
        o,
        "  facilitators:  recall {:.2} ({} of {}), precision {:.2} ({} recipients alerted), F1 {:.3}",
        f.recall, f.true_positives, f.truth, f.precision, f.flagged, f.f1
    );
    let _ = writeln!(
        o,
        "  workload:      {:.1} sender alerts per 10,000 senders, {:.1} alerts per month",
        e.sender_alerts_per_10k, e.alerts_per_month
    );
    let _ = writeln!(
        o,
        "  detection:     median {} days and {} OSEC payments after the first; {:.0} paid before detection; {:.1} % of all OSEC money flowed after it",
        e.median_days_to_detection.map(|d| format!("{d:.0}")).unwrap_or_else(|| "-".into()),
        e.median_payments_before_detection.map(|d| format!("{d:.0}")).unwrap_or_else(|| "-".into()),
        e.osec_amount_before_detection,
        e.share_after_detection * 100.0
    );
    let fps: Vec<String> = e
        .false_positives_by_archetype
        .iter()
        .filter(|r| r.flagged > 0)
        .map(|r| format!("{} {} ({:.2} %)", r.group, r.flagged, r.rate * 100.0))
        .collect();
    let _ =
        writeln!(o, "  false positives by archetype: {}", if fps.is_empty() { "none".into() } else { fps.join(", ") });
    o
}

/// `eval --dispositions`: the analysts' decisions against the ground truth, in words.
fn dispositions_text(world: &GroundTruth, path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut ds = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        ds.push(
            serde_json::from_str::<osecwatch_eval::DispositionIn>(line)
                .with_context(|| format!("{} line {}: not a disposition", path.display(), i + 1))?,
        );
    }
    let a = osecwatch_eval::dispositions_vs_truth(world, &ds);
    let mut o = String::new();
    let _ = writeln!(o, "analysts' dispositions against the ground truth ({} cases):", a.cases);
    for (k, n) in &a.table {
        let _ = writeln!(o, "  {k:40} {n}");
    }
    let _ = writeln!(
        o,
        "  confirmed right {}, confirmed on a benign entity {}, dismissed although OSEC {}, dismissed and benign {}",
        a.confirmed_right, a.confirmed_wrong, a.dismissed_osec, a.dismissed_right
    );
    Ok(o)
}

pub fn run_eval(a: EvalArgs) -> Result<()> {
    let bar = crate::spinner("loading the world's ground truth");
    let world = GroundTruth::load(&a.world).context("loading the world")?;
    let Some(alerts) = &a.alerts else {
        bar.finish_and_clear();
        let d = a.dispositions.as_deref().context("--alerts or --dispositions")?;
        crate::out(&dispositions_text(&world, d)?);
        return Ok(());
    };
    bar.set_message("evaluating");
    let main = eval_pack(&world, alerts)?;
    let base = a.baseline_alerts.as_deref().map(|p| eval_pack(&world, p)).transpose()?;
    bar.finish_and_clear();
    let mut o = summary_text(&main);
    if let Some(b) = &base {
        o.push_str(&summary_text(b));
    }
    if let Some(r) = &a.report {
        std::fs::write(r, report::html(&main, base.as_ref(), None, "osecwatch evaluation"))
            .with_context(|| format!("writing {}", r.display()))?;
        let _ = writeln!(o, "report: {}", r.display());
    }
    if let Some(d) = &a.dispositions {
        o.push_str(&dispositions_text(&world, d)?);
    }
    if let Some(j) = &a.json {
        let v = serde_json::json!({ "main": main, "baseline": base });
        std::fs::write(j, serde_json::to_string_pretty(&v)?)?;
    }
    crate::out(&o);
    Ok(())
}

pub fn proposal_text(p: &Proposal) -> String {
    let mut o = String::new();
    match &p.review {
        None => o.push_str("no threshold meets the target\n"),
        Some(r) => {
            let _ = writeln!(
                o,
                "review threshold {:.0}: {} senders ({:.1} per 10,000), precision {:.2}, recall {:.2}",
                r.threshold, r.flagged, r.alerts_per_10k, r.precision, r.recall
            );
            match &p.block {
                Some(b) => {
                    let _ = writeln!(
                        o,
                        "block threshold  {:.0}: {} senders, precision {:.2}, recall {:.2}",
                        b.threshold, b.flagged, b.precision, b.recall
                    );
                }
                None => o.push_str("block threshold: none reaches the block precision\n"),
            }
            let _ = writeln!(o, "just below the review line (what a lower threshold would add):");
            for (k, n) in &p.below_line_counts {
                let _ = writeln!(o, "  {n:>6}  {k}");
            }
            let _ = writeln!(o, "  a sample:");
            for s in &p.below_line {
                let _ = writeln!(o, "  {:<26} score {:>3.0}  {} / {}", s.entity_id, s.max_score, s.role, s.archetype);
            }
        }
    }
    o
}

pub fn run_tune(a: TuneArgs) -> Result<()> {
    let target = match (a.budget, a.min_precision) {
        (Some(b), None) if b > 0.0 => Target::AlertBudget(b),
        (None, Some(p)) if (0.0..=1.0).contains(&p) => Target::MinPrecision(p),
        _ => bail!("give one target: --budget N (alerts per 10,000 senders, > 0) or --min-precision P (0-1)"),
    };
    let bar = crate::spinner("loading the world's ground truth and the scores");
    let world = GroundTruth::load(&a.world).context("loading the world")?;
    let scores = load_scores(&a.scores)?;
    bar.finish_and_clear();
    crate::out(&proposal_text(&tune(&world, &scores, target, a.block_precision)));
    Ok(())
}
