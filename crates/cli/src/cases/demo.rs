//! The demo's case step.

use super::import::{import, ImportArgs};
use super::StoreArgs;
use anyhow::{Context, Result};
use osecwatch_cases::{Actor, DraftEdits, Filter, ReportSettings, Role};
use osecwatch_goaml::Profile;
use osecwatch_server::auth::mint_user_token;
use std::path::Path;

/// The demo's institution (fictitious), so the demo runs outside the source tree too.
pub(super) const DEMO_INSTITUTION: &str = include_str!("../../../../examples/institution.toml");

/// The demo's case step: the OSEC scan's alerts into cases (SQLite in `OUT/data`), a demo
/// analyst and supervisor, and a sample STR for the top case, drafted by the analyst and left
/// a draft (approval needs the supervisor: four eyes).
pub fn demo_cases(out: &Path, transactions: &Path) -> Result<String> {
    let data = out.join("data");
    std::fs::create_dir_all(&data)?;
    let store = StoreArgs { data_dir: data.clone(), db: None, db_schema: None };
    let mut st = store.open()?;
    let i = ImportArgs {
        alerts: Some(out.join("scan-osec/alerts.jsonl")),
        transactions: vec![transactions.to_path_buf()],
        customers: Some(out.join("customers.csv")),
        counterparties: Some(out.join("counterparties.csv")),
        quarantine: None,
    };
    let mut text = String::from("\nfiling the OSEC alerts into cases ...\n");
    text.push_str(&import(&mut st, &i)?);
    // The service started by `demo --serve` reads the institution from here.
    std::fs::write(data.join("institution.toml"), DEMO_INSTITUTION)?;
    let tokens = data.join("tokens.toml");
    let analyst = mint_user_token(&tokens, "demo-analyst", Some(Role::Analyst)).map_err(anyhow::Error::msg)?;
    let supervisor = mint_user_token(&tokens, "demo-supervisor", Some(Role::Supervisor)).map_err(anyhow::Error::msg)?;
    let who = Actor::new("demo-analyst", Role::Analyst);
    let page = st.list(&who, &Filter { limit: Some(1), ..Default::default() })?;
    let Some(top) = page.cases.first() else {
        text.push_str("no case to report\n");
        return Ok(text);
    };
    let settings = ReportSettings {
        profile: Profile::load("de")?,
        reporter: toml::from_str(DEMO_INSTITUTION).context("the demo institution")?,
        xsd: None,
    };
    let d = st.draft_report(&who, &top.case_id, top.version, &settings, &DraftEdits::default())?;
    let xml = out.join("sample-str.xml");
    std::fs::write(&xml, &d.xml)?;
    text.push_str(&format!(
        "sample STR for the top case {} ({} {}): {} ({} problem(s)); a DRAFT by demo-analyst: approval needs the supervisor\n",
        top.case_id,
        top.entity_type,
        top.entity_id,
        xml.display(),
        d.problems.len()
    ));
    for p in d.problems.iter().take(5) {
        text.push_str(&format!("  {p}\n"));
    }
    text.push_str(&format!(
        "demo users (tokens shown once; hashes in {}):\n  demo-analyst     {analyst}\n  demo-supervisor  {supervisor}\nlook at the queue:  OSECWATCH_TOKEN=<analyst token> osecwatch cases list --data-dir {}\napprove the draft:  OSECWATCH_TOKEN=<supervisor token> osecwatch cases approve {} --report {} --data-dir {}\n",
        tokens.display(),
        data.display(),
        top.case_id,
        d.report_id,
        data.display()
    ));
    Ok(text)
}

/// `demo --serve`: the service on the demo's data directory, with the workbench. The demo
/// users' tokens live in that directory's `tokens.toml` (hashes only), so fresh ones are
/// minted and printed for the two demo users.
pub fn demo_serve(out: &Path, listen: &str) -> Result<()> {
    use clap::Parser;
    let data = out.join("data");
    let tokens = data.join("tokens.toml");
    let analyst = mint_user_token(&tokens, "demo-analyst", Some(Role::Analyst)).map_err(anyhow::Error::msg)?;
    let supervisor = mint_user_token(&tokens, "demo-supervisor", Some(Role::Supervisor)).map_err(anyhow::Error::msg)?;
    crate::out(&format!(
        "\nthe workbench: http://{listen}/ui (stop with Ctrl-C)\nsign in with a demo user's token (shown once):\n  demo-analyst     {analyst}\n  demo-supervisor  {supervisor}\n\n"
    ));
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        serve: crate::serve::ServeArgs,
    }
    let data_s = data.display().to_string();
    let inst = data.join("institution.toml").display().to_string();
    let w = Wrap::try_parse_from([
        "serve",
        "--listen",
        listen,
        "--data-dir",
        &data_s,
        "--fiu-profile",
        "de",
        "--institution",
        &inst,
    ])?;
    crate::serve::run_serve(w.serve)
}
