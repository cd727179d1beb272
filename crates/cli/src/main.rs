//! `osecwatch`: the command-line front of the engine. Each subcommand wires library crates
//! together; all printing and exit codes live here, never in the libraries.

mod cases;
mod clockopts;
mod convert;
mod eval;
mod map;
mod network;
mod rules;
mod scan;
mod serve;
mod shapes;
mod simulate;
mod validate;
mod xmlopts;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "osecwatch",
    version,
    about = "Find, stop and report payments for livestreamed child sexual abuse (OSEC)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a labelled synthetic payment world from a scenario.
    Simulate(simulate::SimulateArgs),
    /// The showcase: simulate the default world, then scan it with the OSEC pack and the baseline.
    Demo(simulate::DemoArgs),
    /// Run a rule pack over payment files and write explained alerts.
    Scan(scan::ScanArgs),
    /// Batch network analysis: the scan, plus the payment graph (GraphML), the top hubs and
    /// propagation from seeds confirmed elsewhere.
    Network(network::NetworkArgs),
    /// Judge alerts against a world's ground truth (and write the HTML report).
    Eval(eval::EvalArgs),
    /// Propose review and block thresholds for an alert budget or a precision target.
    Tune(eval::TuneArgs),
    /// Real-time screening service (HTTP API) on the embedded store.
    Serve(serve::ServeArgs),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(serve::AuditCommand),
    /// Convert any supported input into canonical CSV, JSON Lines or Parquet.
    Convert(convert::ConvertArgs),
    /// Validate ISO 20022 files against the official XSDs and say why they fail.
    Validate(validate::ValidateArgs),
    /// Cases: alerts gathered for investigation, dispositions, goAML reports.
    Cases(cases::CasesArgs),
    /// Users and their tokens for case work.
    Users(cases::UsersArgs),
    /// List the shipped scenario presets.
    Scenarios,
    /// Rule packs: print a built-in pack, check an edited one, list the features rules read.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Bank exports as they come: check what a mapping file makes of one.
    #[command(subcommand)]
    Map(map::MapCommand),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// A spinner on stderr for a step whose length is unknown; hidden when stderr is not a
/// terminal (indicatif's default), so scripts and tests see only the summary.
pub fn spinner(msg: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Write to stdout; a closed pipe (`osecwatch ... | head`) ends output quietly instead
/// of panicking like `println!` would.
pub fn out(text: &str) {
    use std::io::Write;
    let mut so = std::io::stdout().lock();
    if so.write_all(text.as_bytes()).and_then(|_| so.flush()).is_err() {
        std::process::exit(0);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(a) => simulate::run_simulate(a),
        Command::Demo(a) => simulate::run_demo(a),
        Command::Scan(a) => scan::run_scan(a),
        Command::Rules(c) => rules::run_rules(c),
        Command::Map(c) => map::run_map(c),
        Command::Network(a) => network::run_network(a),
        Command::Convert(a) => convert::run_convert(a),
        Command::Eval(a) => eval::run_eval(a),
        Command::Serve(a) => serve::run_serve(a),
        Command::Audit(c) => serve::run_audit(c),
        Command::Tune(a) => eval::run_tune(a),
        Command::Cases(a) => cases::run_cases(a),
        Command::Users(a) => cases::run_users(a),
        Command::Validate(a) => {
            let code = validate::run_validate(a)?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Command::Scenarios => {
            for (name, text) in osecwatch_sim::PRESETS {
                let first = text.lines().next().unwrap_or("").trim_start_matches('#').trim();
                out(&format!("{name:16} {first}\n"));
            }
            Ok(())
        }
    }
}
