//! `cases report`, the report's later steps (approve, return, filing) and `cases show`.

use super::CasesCommand;
use anyhow::{bail, Context, Result};
use clap::Args;
use osecwatch_cases::{Actor, DraftEdits, ReportSettings, Store};
use osecwatch_goaml::{Profile, Reporter};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ReportArgs {
    pub case_id: String,
    /// FIU profile: generic, de, or a profile file.
    #[arg(long, default_value = "generic")]
    pub profile: String,
    /// Write the XML here.
    #[arg(long)]
    pub out: PathBuf,
    /// The institution's reporting details (TOML; see examples/institution.toml).
    #[arg(long)]
    pub institution: Option<PathBuf>,
    /// Validate against this XSD too.
    #[arg(long)]
    pub xsd: Option<PathBuf>,
    /// The analyst's edits (JSON: narrative, indicators, clients, counterparties, action).
    #[arg(long)]
    pub edits: Option<PathBuf>,
    /// Case version (default: the current one).
    #[arg(long)]
    pub version: Option<i64>,
}

/// The institution's reporting details (TOML of [`Reporter`]).
pub fn load_reporter(path: Option<&Path>) -> Result<Reporter> {
    match path {
        None => Ok(Reporter::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("{}: not an institution file", p.display()))
        }
    }
}

/// `cases report`: returns the exit code (1 when the report is not fileable).
pub fn report(store: &mut Store, who: &Actor, r: &ReportArgs) -> Result<i32> {
    let profile = Profile::load(&r.profile)?;
    let reporter = load_reporter(r.institution.as_deref())?;
    let edits: DraftEdits = match &r.edits {
        Some(p) => {
            serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                .with_context(|| format!("{}: not an edits file", p.display()))?
        }
        None => store.last_edits(&r.case_id)?,
    };
    let version = match r.version {
        Some(v) => v,
        None => store.get(who, &r.case_id)?.summary.version,
    };
    let settings = ReportSettings { profile, reporter, xsd: r.xsd.clone() };
    let d = store.draft_report(who, &r.case_id, version, &settings, &edits)?;
    std::fs::write(&r.out, &d.xml).with_context(|| format!("writing {}", r.out.display()))?;
    for w in &d.warnings {
        eprintln!("warning: {w}");
    }
    if d.problems.is_empty() {
        crate::out(&format!(
            "{}: report {} drafted by {} with profile {} -> {}; it is a DRAFT until a different supervisor approves it (`osecwatch cases approve {} --report {}`)\n",
            r.case_id,
            d.report_id,
            who.user,
            settings.profile.name,
            r.out.display(),
            r.case_id,
            d.report_id
        ));
        Ok(0)
    } else {
        eprintln!(
            "{}: report {} is NOT fileable ({} problem(s)); the draft was written to {} for review:",
            r.case_id,
            d.report_id,
            d.problems.len(),
            r.out.display()
        );
        for p in &d.problems {
            eprintln!("  {p}");
        }
        Ok(1)
    }
}

/// A supervisor's or a filer's step on a report: approve, return, filing.
pub(super) fn step(store: &mut Store, who: &Actor, cmd: CasesCommand) -> Result<String> {
    Ok(match cmd {
        CasesCommand::Approve { case_id, report, profile } => {
            let p = Profile::load(&profile)?;
            let until = p.release_after(chrono::Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let r = store.approve(who, &case_id, &report, &until)?;
            format!(
                "{case_id}: report {report} approved by {}; the customer's payments to the same recipients are blocked until {until} unless the FIU consents earlier\n",
                r.approved_by.unwrap_or_default()
            )
        }
        CasesCommand::Return { case_id, report, comment } => {
            store.return_report(who, &case_id, &report, &comment)?;
            format!("{case_id}: report {report} returned to investigation\n")
        }
        CasesCommand::Filing { case_id, report, status, fiu_ref, message } => {
            store.record_filing(who, &case_id, &report, &status, fiu_ref.as_deref(), message.as_deref())?;
            format!("{case_id}: report {report} {status}\n")
        }
        _ => bail!("not a step of a report"),
    })
}

pub(super) fn show_text(d: &osecwatch_cases::CaseDetail) -> String {
    let s = &d.summary;
    let mut t = format!(
        "{} ({} {}, {}) state {} version {} priority {:.1}\n{}\nfirst alert {} ({} days ago), last {}; money at stake {:.2}\n",
        s.case_id,
        s.entity_type,
        s.entity_id,
        s.typology,
        s.state.as_str(),
        s.version,
        s.priority,
        s.headline,
        s.first_alert_at,
        s.age_days,
        s.last_alert_at,
        s.amount_minor as f64 / 100.0
    );
    for a in &d.alerts {
        t.push_str(&format!("alert {} {} score {:.0} ({})\n", a.alert_id, a.typology, a.score, a.decision));
        for r in &a.reasons {
            t.push_str(&format!("  - {r}\n"));
        }
    }
    t.push_str(&format!("{} evidence payment(s) with details\n", d.payments.len()));
    for n in &d.notes {
        t.push_str(&format!("note {} by {} at {}: {}\n", n.id, n.author, n.at, n.body));
    }
    for r in &d.reports {
        t.push_str(&format!(
            "report {} {} (profile {}, drafted by {}{}){}\n",
            r.report_id,
            r.state,
            r.profile,
            r.drafted_by,
            r.approved_by.as_ref().map(|a| format!(", approved by {a}")).unwrap_or_default(),
            if r.problems.is_empty() { String::new() } else { format!(": {} problem(s)", r.problems.len()) }
        ));
    }
    t.push_str(&format!("timeline: {} record(s)\n", d.timeline.len()));
    t
}
