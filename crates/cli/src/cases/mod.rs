//! `osecwatch cases ...` and `osecwatch users ...`: the case store from the command line.
//! Alerts come in with `cases import` (as the system); everything else acts as the user whose
//! token is in `OSECWATCH_TOKEN`, checked against the data directory's token file, so the
//! CLI and the service see the same users and the same four-eyes rule.

mod bench;
mod demo;
mod import;
mod report;
mod users;

pub use demo::{demo_cases, demo_serve};
pub use users::{run_users, UsersArgs};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use osecwatch_cases::{Actor, Backend, CaseState, Disposition, Filter, RetentionRules, Store};
use std::io::Write;
use std::path::PathBuf;

/// Where the case store is.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// Data directory (token file, attachments; the SQLite store by default) (env OSECWATCH_DATA_DIR).
    #[arg(long, global = true, env = "OSECWATCH_DATA_DIR", default_value = "osecwatch-data")]
    pub data_dir: PathBuf,
    /// The case database: a SQLite file (default DATA_DIR/cases.sqlite) or a postgres:// URL (env OSECWATCH_DB).
    #[arg(long, global = true, env = "OSECWATCH_DB")]
    pub db: Option<String>,
    /// PostgreSQL schema for the tables (default: the server's search path).
    #[arg(long, global = true, env = "OSECWATCH_DB_SCHEMA")]
    pub db_schema: Option<String>,
}

impl StoreArgs {
    pub fn open(&self) -> Result<Store> {
        let b = Backend::parse(self.db.as_deref(), &self.data_dir, self.db_schema.as_deref());
        Store::open(&b, &self.data_dir).with_context(|| match &b {
            Backend::Sqlite(p) => format!("opening the case store {}", p.display()),
            Backend::Postgres { .. } => "opening the case store on PostgreSQL".to_string(),
        })
    }
}

#[derive(Args)]
pub struct CasesArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: CasesCommand,
}

#[derive(Subcommand)]
pub enum CasesCommand {
    /// Gather alerts (alerts.jsonl from `scan` or `serve`) into cases.
    Import(import::ImportArgs),
    /// The queue: cases by priority, filtered.
    List(ListArgs),
    /// One case in full (the read is audited).
    Show {
        case_id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Assign a case (`-` for nobody).
    Assign {
        case_id: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        to: String,
    },
    /// Move a case between open and investigating.
    Transition {
        case_id: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        to: String,
    },
    /// Add a note.
    Note { case_id: String, text: String },
    /// Add a tag.
    Tag { case_id: String, tag: String },
    /// Attach a file (stored under its SHA-256 in the data directory).
    Attach { case_id: String, file: PathBuf },
    /// Snooze until a time, with a reason.
    Snooze {
        case_id: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        until: String,
        #[arg(long)]
        reason: String,
    },
    /// Close with a disposition (confirmed_osec, false_positive, not_osec_but_suspicious, no_action).
    Close {
        case_id: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        disposition: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Draft the case's goAML STR and write it; exits 1 naming every problem if it is not fileable.
    Report(report::ReportArgs),
    /// Approve a drafted report (a supervisor other than the drafter).
    Approve {
        case_id: String,
        #[arg(long)]
        report: String,
        /// FIU profile, for the release date of the block (working days).
        #[arg(long, default_value = "generic")]
        profile: String,
    },
    /// Send a draft back to the analyst with a comment.
    Return {
        case_id: String,
        #[arg(long)]
        report: String,
        #[arg(long)]
        comment: String,
    },
    /// Record the filing: submitted, or the FIU's acknowledgement or rejection.
    Filing {
        case_id: String,
        #[arg(long)]
        report: String,
        #[arg(long)]
        status: String,
        #[arg(long)]
        fiu_ref: Option<String>,
        #[arg(long)]
        message: Option<String>,
    },
    /// Record the FIU's answers from its answer file (CSV: entity_reference = the case id,
    /// status, and optionally fiu_reference and message; other columns read past).
    FiuAnswers {
        #[arg(long)]
        file: PathBuf,
    },
    /// Write the dispositions of closed cases as JSON Lines (for `eval --dispositions`).
    ExportDispositions {
        #[arg(long)]
        out: PathBuf,
    },
    /// Delete cases whose retention has run out: the years given after the end of the calendar
    /// year in which they ended (GwG §8(4)); audited.
    Retention {
        /// Years after a case ended (GwG §8: five).
        #[arg(long, default_value_t = 5)]
        case_years: i64,
    },
    /// Check the case audit chain.
    AuditVerify,
    /// Benchmark the store: import synthetic alerts, list and filter, draft a 200-payment STR.
    Bench(bench::BenchArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    pub state: Option<String>,
    /// A user, or `-` for unassigned.
    #[arg(long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub typology: Option<String>,
    #[arg(long)]
    pub min_age_days: Option<i64>,
    #[arg(long)]
    pub min_priority: Option<f64>,
    #[arg(long)]
    pub entity: Option<String>,
    /// Only cases with an evidence payment to this country (ISO code): the corridor.
    #[arg(long)]
    pub corridor: Option<String>,
    /// Only cases still being worked (open, investigating, pending approval).
    #[arg(long)]
    pub active: bool,
    #[arg(long)]
    pub include_snoozed: bool,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
    #[arg(long)]
    pub json: bool,
}

pub fn run_cases(a: CasesArgs) -> Result<()> {
    let mut store = match a.command {
        CasesCommand::Bench(b) => return bench::run(b),
        _ => a.store.open()?,
    };
    let text = match a.command {
        CasesCommand::Import(i) => import::import(&mut store, &i)?,
        CasesCommand::Retention { case_years } => {
            let r = store.retention(&Actor::system(), &RetentionRules { case_years })?;
            format!(
                "retention: {} case(s) and {} attachment file(s) deleted (cases that ended before the calendar year {case_years} years back); the deletion is in the audit\n",
                r.cases, r.attachment_files
            )
        }
        CasesCommand::AuditVerify => audit_verify(&mut store)?,
        CasesCommand::Report(r) => {
            let code = report::report(&mut store, &users::actor(&a.store)?, &r)?;
            if code != 0 {
                std::process::exit(code);
            }
            String::new()
        }
        cmd => {
            let who = users::actor(&a.store)?;
            match cmd {
                CasesCommand::List(l) => list(&mut store, &who, l)?,
                CasesCommand::Show { case_id, json } => {
                    let d = store.get(&who, &case_id)?;
                    if json {
                        format!("{}\n", serde_json::to_string_pretty(&d)?)
                    } else {
                        report::show_text(&d)
                    }
                }
                CasesCommand::ExportDispositions { out } => export_dispositions(&mut store, &who, &out)?,
                CasesCommand::FiuAnswers { file } => fiu_answers(&mut store, &who, &file)?,
                cmd @ (CasesCommand::Approve { .. } | CasesCommand::Return { .. } | CasesCommand::Filing { .. }) => {
                    report::step(&mut store, &who, cmd)?
                }
                cmd => change(&mut store, &who, cmd)?,
            }
        }
    };
    crate::out(&text);
    Ok(())
}

/// `cases list`: the queue as a table, or JSON.
fn list(store: &mut Store, who: &Actor, l: ListArgs) -> Result<String> {
    let state = l.state.as_deref().map(|s| CaseState::parse(s).ok_or_else(|| anyhow!("state `{s}`"))).transpose()?;
    let f = Filter {
        state,
        assignee: l.assignee,
        typology: l.typology,
        min_age_days: l.min_age_days,
        min_priority: l.min_priority,
        entity: l.entity,
        corridor: l.corridor.map(|c| c.to_ascii_uppercase()),
        active: l.active,
        include_snoozed: l.include_snoozed,
        limit: Some(l.limit),
        offset: Some(l.offset),
    };
    let page = store.list(who, &f)?;
    if l.json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&page)?));
    }
    let more = if page.more { " or more" } else { "" };
    let mut t = format!("{}{more} case(s); showing {}\n", page.total, page.cases.len());
    t.push_str("case      state             prio   v  assignee    why\n");
    for c in &page.cases {
        t.push_str(&format!(
            "{:9} {:17} {:5.1} {:>3}  {:11} {}\n",
            c.case_id,
            c.state.as_str(),
            c.priority,
            c.version,
            c.assignee.as_deref().unwrap_or("-"),
            c.headline
        ));
    }
    Ok(t)
}

/// The changes to a case: assign, transition, note, tag, attach, snooze, close.
fn change(store: &mut Store, who: &Actor, cmd: CasesCommand) -> Result<String> {
    Ok(match cmd {
        CasesCommand::Assign { case_id, version, to } => {
            let to = (to != "-").then_some(to);
            let v = store.assign(who, &case_id, version, to.as_deref())?;
            format!("{case_id}: assigned; version {v}\n")
        }
        CasesCommand::Transition { case_id, version, to } => {
            let s = CaseState::parse(&to).ok_or_else(|| anyhow!("state `{to}`"))?;
            let v = store.transition(who, &case_id, version, s)?;
            format!("{case_id}: {to}; version {v}\n")
        }
        CasesCommand::Note { case_id, text } => {
            let id = store.add_note(who, &case_id, &text)?;
            format!("{case_id}: note {id} added\n")
        }
        CasesCommand::Tag { case_id, tag } => {
            store.tag(who, &case_id, &tag)?;
            format!("{case_id}: tagged {tag}\n")
        }
        CasesCommand::Attach { case_id, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "attachment".into());
            let sha = store.attach(who, &case_id, &name, &bytes)?;
            format!("{case_id}: attached {name} ({} bytes, sha256 {sha})\n", bytes.len())
        }
        CasesCommand::Snooze { case_id, version, until, reason } => {
            let v = store.snooze(who, &case_id, version, &until, &reason)?;
            format!("{case_id}: snoozed until {until}; version {v}\n")
        }
        CasesCommand::Close { case_id, version, disposition, reason } => {
            let d = Disposition::parse(&disposition).ok_or_else(|| {
                anyhow!(
                    "disposition `{disposition}`: confirmed_osec, false_positive, not_osec_but_suspicious or no_action"
                )
            })?;
            let v = store.close(who, &case_id, version, d, reason.as_deref())?;
            format!("{case_id}: closed as {disposition}; version {v}\n")
        }
        _ => bail!("not a change to a case"),
    })
}

/// `cases export-dispositions`: closed cases as JSON Lines.
fn export_dispositions(store: &mut Store, who: &Actor, out: &std::path::Path) -> Result<String> {
    let d = store.dispositions(who)?;
    let f = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for r in &d {
        serde_json::to_writer(&mut w, r)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(format!("{} disposition(s) written to {}\n", d.len(), out.display()))
}

/// `cases audit-verify`.
fn audit_verify(store: &mut Store) -> Result<String> {
    let r = store.verify_audit()?;
    if !r.problems.is_empty() {
        for p in &r.problems {
            eprintln!("{p}");
        }
        bail!("case audit chain: {} problem(s) in {} records", r.problems.len(), r.records);
    }
    Ok(format!("case audit chain intact: {} records\n", r.records))
}

/// `cases fiu-answers`: the FIU's answer file recorded on the cases' approved reports.
fn fiu_answers(store: &mut Store, who: &Actor, file: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let a = store.import_fiu_answers(who, &text)?;
    let mut o = format!(
        "{}: read {} = recorded {} + rejected {}\n",
        file.display(),
        a.read,
        a.recorded.len(),
        a.rejected.len()
    );
    for (case, report, status) in &a.recorded {
        o.push_str(&format!("  {case}: report {report} {status}\n"));
    }
    for (line, why) in &a.rejected {
        o.push_str(&format!("  line {line}: {why}\n"));
    }
    Ok(o)
}
