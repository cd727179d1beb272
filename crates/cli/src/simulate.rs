//! `osecwatch simulate` and `osecwatch demo`.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use osecwatch_formats::Format;
use osecwatch_sim::{simulate, Progress, Scenario, SimOptions, Summary};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct SimulateArgs {
    /// Preset name (default, small, mimic, diaspora-heavy) or path to a scenario TOML file.
    #[arg(long, default_value = "default")]
    pub scenario: String,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Transaction file format: csv, jsonl or parquet.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the number of customers.
    #[arg(long)]
    pub customers: Option<u64>,
    /// Override the number of months.
    #[arg(long)]
    pub months: Option<u32>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also write the payments as a bank's own export would hold them, to try a shipped
    /// mapping on (mappings/NAME.toml): de-bank-csv, remittance-ledger (comma-separated for both).
    #[arg(long, value_delimiter = ',')]
    pub export_shape: Vec<String>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo writes its world.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Scenario to run (default: the 100,000-customer German bank).
    #[arg(long, default_value = "default")]
    pub scenario: String,
    /// Directory holding osec.toml and baseline.toml (default: the built-in packs).
    #[arg(long)]
    pub rules_dir: Option<PathBuf>,
    /// Then open the analyst workbench on the demo's cases (`serve` on OUT/data; sign in at
    /// http://LISTEN/ui with the demo tokens printed). `--serve` on a finished demo directory
    /// skips the rest and only serves.
    #[arg(long)]
    pub serve: bool,
    /// Where `--serve` listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn load_scenario(name: &str, seed: Option<u64>, customers: Option<u64>, months: Option<u32>) -> Result<Scenario> {
    let mut sc = Scenario::load(name)?;
    if let Some(s) = seed {
        sc.institution.seed = s;
    }
    if let Some(c) = customers {
        sc.institution.customers = c;
    }
    if let Some(m) = months {
        sc.institution.months = m;
    }
    let source = sc.source.clone();
    sc.validate(&format!("{source} (with command-line overrides)"))?;
    Ok(sc)
}

pub fn run_simulate(a: SimulateArgs) -> Result<()> {
    let Some(format) = Format::parse(&a.format) else {
        bail!("--format `{}`: allowed: csv, jsonl, parquet", a.format);
    };
    let sc = load_scenario(&a.scenario, a.seed, a.customers, a.months)?;
    for s in &a.export_shape {
        if format != Format::Csv {
            bail!("--export-shape needs --format csv (the shape is written from transactions.csv)");
        }
        crate::shapes::check_shape(s)?;
    }
    let summary = run_with_progress(&sc, &a.out, format, a.quiet)?;
    print_summary(&summary);
    for s in &a.export_shape {
        let p = crate::shapes::write_shape(s, &a.out)?;
        crate::out(&format!("  export in the `{s}` shape: {}\n", p.display()));
    }
    Ok(())
}

pub fn run_demo(a: DemoArgs) -> Result<()> {
    if a.serve && a.out.join("data/cases.sqlite").exists() && a.out.join("report.html").exists() {
        crate::out(&format!("osecwatch demo: {} holds a finished demo; serving it\n", a.out.display()));
        return crate::cases::demo_serve(&a.out, &a.listen);
    }
    let started = Instant::now();
    let sc = load_scenario(&a.scenario, None, None, None)?;
    crate::out(&format!(
        "osecwatch demo: simulating the `{}` world ({} customers, {} months) into {}\n",
        sc.source,
        sc.institution.customers,
        sc.institution.months,
        a.out.display()
    ));
    let summary = run_with_progress(&sc, &a.out, Format::Csv, false)?;
    print_summary(&summary);
    let tx = a.out.join("transactions.csv");
    for pack in ["osec", "baseline"] {
        let rules = match &a.rules_dir {
            Some(d) => d.join(format!("{pack}.toml")),
            None => PathBuf::from(format!("builtin:{pack}")),
        };
        let out = a.out.join(format!("scan-{pack}"));
        crate::out(&format!("\nscanning with {} ...\n", rules.display()));
        let (s, _) =
            crate::scan::scan(std::slice::from_ref(&tx), Some(&rules), &out, &crate::scan::ScanOptions::default())?;
        crate::scan::print_scan(&s, &out);
    }
    crate::out("\nevaluating against the ground truth ...\n");
    let bar = crate::spinner("loading the world's labels");
    let world = osecwatch_eval::GroundTruth::load(&a.out)?;
    bar.set_message("evaluating");
    let main = crate::eval::eval_pack(&world, &a.out.join("scan-osec/alerts.jsonl"))?;
    let base = crate::eval::eval_pack(&world, &a.out.join("scan-baseline/alerts.jsonl"))?;
    let scores = osecwatch_eval::load_scores(&a.out.join("scan-osec/scores.jsonl"))?;
    let proposal = osecwatch_eval::tune(&world, &scores, osecwatch_eval::Target::AlertBudget(50.0), 0.5);
    bar.set_message("drawing the report");
    let report = a.out.join("report.html");
    std::fs::write(
        &report,
        osecwatch_eval::report::html(&main, Some(&base), Some(&proposal), "osecwatch demo: the default world"),
    )?;
    bar.finish_and_clear();
    crate::out(&crate::eval::summary_text(&main));
    crate::out(&crate::eval::summary_text(&base));
    crate::out(&format!(
        "\nthresholds for a budget of 50 alerts per 10,000 senders:\n{}",
        crate::eval::proposal_text(&proposal)
    ));
    let cases_text = crate::cases::demo_cases(&a.out, &tx)?;
    crate::out(&cases_text);
    crate::out(&format!(
        "\ndemo finished in {:.0} s. Open the report: {}\n",
        started.elapsed().as_secs_f64(),
        report.display()
    ));
    if a.serve {
        return crate::cases::demo_serve(&a.out, &a.listen);
    }
    Ok(())
}

fn run_with_progress(sc: &Scenario, out: &std::path::Path, format: Format, quiet: bool) -> Result<Summary> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(sc.institution.months as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:30}] month {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("building population");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let start = Instant::now();
    let opts = SimOptions { out_dir: out.to_path_buf(), format };
    let summary = simulate(sc, &opts, &mut |p: Progress| {
        bar.set_position(p.months_done as u64);
        bar.set_message(format!("{} payments", p.transactions));
    })
    .with_context(|| format!("simulating into {}", out.display()))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    crate::out(&format!(
        "generated {} payments in {:.1} s ({:.2} M payments/s)\n",
        summary.transactions,
        secs,
        summary.transactions as f64 / secs / 1e6
    ));
    Ok(summary)
}

fn eur(minor: i64) -> String {
    format!("{:.0}", minor as f64 / 100.0)
}

pub fn print_summary(s: &Summary) {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "world `{}` (seed {}), {} months from {}, amounts in {}",
        s.scenario, s.seed, s.months, s.period_start, s.currency
    );
    let _ = writeln!(
        o,
        "  customers {:>10}   recipients paid {:>10}   payments {:>12}",
        s.customers, s.recipients_paid, s.transactions
    );
    let _ = writeln!(
        o,
        "  OSEC payments {} ({:.4} % of payments, {:.4} % of {}), buyers {} ({} with OSEC payments in the period), facilitators paid {}",
        s.osec_transactions,
        100.0 * s.osec_share_of_transactions(),
        100.0 * s.osec_share_of_amount(),
        s.currency,
        s.buyers,
        s.buyers_with_osec,
        s.facilitators_paid
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "  {:<26} {:>10} {:>12} {:>14} {:>8}", "archetype", "customers", "payments", "amount", "OSEC");
    for a in s.by_archetype.iter().filter(|a| a.customers > 0) {
        let _ = writeln!(
            o,
            "  {:<26} {:>10} {:>12} {:>14} {:>8}",
            a.archetype,
            a.customers,
            a.transactions,
            eur(a.amount_minor),
            a.osec_transactions
        );
    }
    let _ = writeln!(o);
    for f in &s.files {
        let _ = writeln!(o, "  wrote {}", f.display());
    }
    crate::out(&o);
}
