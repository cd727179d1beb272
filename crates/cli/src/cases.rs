//! `osecwatch cases ...` and `osecwatch users ...`: the case store from the command line.
//! Alerts come in with `cases import` (as the system); everything else acts as the user whose
//! token is in `OSECWATCH_TOKEN`, checked against the data directory's token file, so the
//! CLI and the service see the same users and the same four-eyes rule.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use osecwatch_cases::files::{read_counterparties, read_customers};
use osecwatch_cases::{
    Actor, AlertIn, Backend, CaseState, Disposition, DraftEdits, Filter, PaymentIn, ReportSettings, RetentionRules,
    Role, Store,
};
use osecwatch_goaml::{Profile, Reporter};
use osecwatch_server::auth::{mint_user_token, Scope, Tokens};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

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
    Import(ImportArgs),
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
    Report(ReportArgs),
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
    /// Write the dispositions of closed cases as JSON Lines (for `eval --dispositions`).
    ExportDispositions {
        #[arg(long)]
        out: PathBuf,
    },
    /// Delete cases that ended more than the retention period ago (audited).
    Retention {
        /// Years after a case ended (GwG §8: five).
        #[arg(long, default_value_t = 5)]
        case_years: i64,
    },
    /// Check the case audit chain.
    AuditVerify,
    /// Benchmark the store: import synthetic alerts, list and filter, draft a 200-payment STR.
    Bench(crate::casebench::BenchArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// alerts.jsonl (none: only the customer and beneficiary files are loaded).
    #[arg(long, required_unless_present_any = ["customers", "counterparties"])]
    pub alerts: Option<PathBuf>,
    /// The payments the alerts were raised on (any input format), for the evidence details.
    #[arg(long)]
    pub transactions: Vec<PathBuf>,
    /// Customer file with KYC columns (see the README), for reports.
    #[arg(long)]
    pub customers: Option<PathBuf>,
    /// Beneficiary bank details (account_id, name, country, institution_name, swift, institution_code).
    #[arg(long)]
    pub counterparties: Option<PathBuf>,
    /// Where malformed alert lines go (default: alerts_quarantine.csv beside the alerts).
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
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
    #[arg(long)]
    pub include_snoozed: bool,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user (or change their role) and print a new token for them, once.
    Add {
        name: String,
        /// analyst, supervisor or admin.
        #[arg(long)]
        role: String,
    },
    /// Mint another token for an existing user (the same user for four eyes).
    Token { name: String },
}

#[derive(Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: UsersCommand,
}

pub fn run_users(a: UsersArgs) -> Result<()> {
    std::fs::create_dir_all(&a.store.data_dir)?;
    let file = a.store.data_dir.join("tokens.toml");
    let (name, secret) = match a.command {
        UsersCommand::Add { name, role } => {
            let r = Role::parse(&role).ok_or_else(|| anyhow!("role `{role}`: analyst, supervisor or admin"))?;
            let s = mint_user_token(&file, &name, Some(r)).map_err(anyhow::Error::msg)?;
            (name, s)
        }
        UsersCommand::Token { name } => {
            let s = mint_user_token(&file, &name, None).map_err(anyhow::Error::msg)?;
            (name, s)
        }
    };
    crate::out(&format!(
        "token for {name} (shown once; only its hash is stored in {}):\n{secret}\nuse it as OSECWATCH_TOKEN for `osecwatch cases` or as a Bearer token on /v1/cases\n",
        file.display()
    ));
    Ok(())
}

/// The user acting: `OSECWATCH_TOKEN` checked against the token file(s).
fn actor(store: &StoreArgs) -> Result<Actor> {
    let token = std::env::var("OSECWATCH_TOKEN").map_err(|_| {
        anyhow!("set OSECWATCH_TOKEN to your user token (`osecwatch users add NAME --role ROLE` makes one)")
    })?;
    let mut tokens = Tokens::default();
    let file = std::env::var_os("OSECWATCH_TOKENS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| store.data_dir.join("tokens.toml"));
    tokens.load_file(&file).map_err(anyhow::Error::msg)?;
    let id = tokens.identify(Some(token.trim()), Scope::Cases).map_err(|d| match d {
        osecwatch_server::auth::Denied::Unauthenticated => {
            anyhow!("OSECWATCH_TOKEN matches no token in {}", file.display())
        }
        osecwatch_server::auth::Denied::Forbidden => anyhow!("this token lacks the `cases` scope"),
    })?;
    let (user, role) =
        id.user.ok_or_else(|| anyhow!("token `{}` belongs to no user; case work needs a user token", id.token))?;
    Ok(Actor::new(&user, role))
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

pub fn run_cases(a: CasesArgs) -> Result<()> {
    if let CasesCommand::Bench(b) = a.command {
        return crate::casebench::run(b);
    }
    let mut store = a.store.open()?;
    match a.command {
        CasesCommand::Import(i) => {
            let s = import(&mut store, &i)?;
            crate::out(&s);
        }
        CasesCommand::List(l) => {
            let who = actor(&a.store)?;
            let state =
                l.state.as_deref().map(|s| CaseState::parse(s).ok_or_else(|| anyhow!("state `{s}`"))).transpose()?;
            let f = Filter {
                state,
                assignee: l.assignee,
                typology: l.typology,
                min_age_days: l.min_age_days,
                min_priority: l.min_priority,
                entity: l.entity,
                include_snoozed: l.include_snoozed,
                limit: Some(l.limit),
                offset: Some(l.offset),
            };
            let page = store.list(&who, &f)?;
            if l.json {
                crate::out(&format!("{}\n", serde_json::to_string_pretty(&page)?));
            } else {
                let mut t = format!(
                    "{}{} case(s); showing {}\n",
                    page.total,
                    if page.more { " or more" } else { "" },
                    page.cases.len()
                );
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
                crate::out(&t);
            }
        }
        CasesCommand::Show { case_id, json } => {
            let d = store.get(&actor(&a.store)?, &case_id)?;
            if json {
                crate::out(&format!("{}\n", serde_json::to_string_pretty(&d)?));
            } else {
                crate::out(&show_text(&d));
            }
        }
        CasesCommand::Assign { case_id, version, to } => {
            let to = (to != "-").then_some(to);
            let v = store.assign(&actor(&a.store)?, &case_id, version, to.as_deref())?;
            crate::out(&format!("{case_id}: assigned; version {v}\n"));
        }
        CasesCommand::Transition { case_id, version, to } => {
            let s = CaseState::parse(&to).ok_or_else(|| anyhow!("state `{to}`"))?;
            let v = store.transition(&actor(&a.store)?, &case_id, version, s)?;
            crate::out(&format!("{case_id}: {to}; version {v}\n"));
        }
        CasesCommand::Note { case_id, text } => {
            let id = store.add_note(&actor(&a.store)?, &case_id, &text)?;
            crate::out(&format!("{case_id}: note {id} added\n"));
        }
        CasesCommand::Tag { case_id, tag } => {
            store.tag(&actor(&a.store)?, &case_id, &tag)?;
            crate::out(&format!("{case_id}: tagged {tag}\n"));
        }
        CasesCommand::Attach { case_id, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "attachment".into());
            let sha = store.attach(&actor(&a.store)?, &case_id, &name, &bytes)?;
            crate::out(&format!("{case_id}: attached {name} ({} bytes, sha256 {sha})\n", bytes.len()));
        }
        CasesCommand::Snooze { case_id, version, until, reason } => {
            let v = store.snooze(&actor(&a.store)?, &case_id, version, &until, &reason)?;
            crate::out(&format!("{case_id}: snoozed until {until}; version {v}\n"));
        }
        CasesCommand::Close { case_id, version, disposition, reason } => {
            let d = Disposition::parse(&disposition).ok_or_else(|| {
                anyhow!(
                    "disposition `{disposition}`: confirmed_osec, false_positive, not_osec_but_suspicious or no_action"
                )
            })?;
            let v = store.close(&actor(&a.store)?, &case_id, version, d, reason.as_deref())?;
            crate::out(&format!("{case_id}: closed as {disposition}; version {v}\n"));
        }
        CasesCommand::Report(r) => {
            let who = actor(&a.store)?;
            let code = report(&mut store, &who, &r)?;
            if code != 0 {
                std::process::exit(code);
            }
        }
        CasesCommand::Approve { case_id, report, profile } => {
            let p = Profile::load(&profile)?;
            let until = p.release_after(chrono::Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let r = store.approve(&actor(&a.store)?, &case_id, &report, &until)?;
            crate::out(&format!(
                "{case_id}: report {report} approved by {}; the customer's payments to the same recipients are blocked until {until} unless the FIU consents earlier\n",
                r.approved_by.unwrap_or_default()
            ));
        }
        CasesCommand::Return { case_id, report, comment } => {
            store.return_report(&actor(&a.store)?, &case_id, &report, &comment)?;
            crate::out(&format!("{case_id}: report {report} returned to investigation\n"));
        }
        CasesCommand::Filing { case_id, report, status, fiu_ref, message } => {
            store.record_filing(
                &actor(&a.store)?,
                &case_id,
                &report,
                &status,
                fiu_ref.as_deref(),
                message.as_deref(),
            )?;
            crate::out(&format!("{case_id}: report {report} {status}\n"));
        }
        CasesCommand::ExportDispositions { out } => {
            let who = actor(&a.store)?;
            let d = store.dispositions(&who)?;
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?,
            );
            for r in &d {
                serde_json::to_writer(&mut w, r)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            crate::out(&format!("{} disposition(s) written to {}\n", d.len(), out.display()));
        }
        CasesCommand::Retention { case_years } => {
            let r = store.retention(&Actor::system(), &RetentionRules { case_years })?;
            crate::out(&format!(
                "retention: {} case(s) and {} attachment file(s) deleted (cases ended more than {case_years} years ago); the deletion is in the audit\n",
                r.cases, r.attachment_files
            ));
        }
        // Run above, before the data directory's store is opened.
        CasesCommand::Bench(_) => {}
        CasesCommand::AuditVerify => {
            let r = store.verify_audit()?;
            if r.problems.is_empty() {
                crate::out(&format!("case audit chain intact: {} records\n", r.records));
            } else {
                for p in &r.problems {
                    eprintln!("{p}");
                }
                bail!("case audit chain: {} problem(s) in {} records", r.problems.len(), r.records);
            }
        }
    }
    Ok(())
}

/// Read alerts, quarantining malformed lines; returns the alerts and the quarantine count.
pub fn read_alerts(path: &Path, quarantine: &Path) -> Result<(Vec<AlertIn>, u64, u64)> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut q: Option<csv::Writer<std::fs::File>> = None;
    let (mut read, mut bad) = (0u64, 0u64);
    let mut alerts = Vec::new();
    for (i, line) in std::io::BufReader::new(f).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        read += 1;
        let why = match serde_json::from_slice::<AlertIn>(&line) {
            Ok(a) => match a.check() {
                Ok(()) => {
                    alerts.push(a);
                    continue;
                }
                Err(w) => w,
            },
            // serde's message names the field and column, never the values.
            Err(e) => format!("not an alert: {e}"),
        };
        bad += 1;
        let w = match &mut q {
            Some(w) => w,
            None => {
                let mut w =
                    csv::Writer::from_path(quarantine).with_context(|| format!("creating {}", quarantine.display()))?;
                w.write_record(["file", "line", "reason"])?;
                q.insert(w)
            }
        };
        w.write_record([path.display().to_string(), (i + 1).to_string(), why])?;
    }
    if let Some(mut w) = q {
        w.flush()?;
    }
    Ok((alerts, read, bad))
}

struct Collect<'a> {
    want: &'a HashSet<&'a str>,
    got: HashMap<String, PaymentIn>,
}

impl osecwatch_ingest::Visitor for Collect<'_> {
    fn accept(&mut self, r: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
        if !self.want.contains(r.txn_id) {
            return;
        }
        self.got.insert(r.txn_id.to_string(), PaymentIn::from_row(r));
    }
    fn reject(&mut self, _: osecwatch_ingest::Rejection) {}
}

/// The evidence payments' details from the transaction files.
pub fn evidence(files: &[PathBuf], alerts: &[AlertIn]) -> Result<HashMap<String, PaymentIn>> {
    let want: HashSet<&str> = alerts.iter().flat_map(|a| a.txn_ids.iter().map(String::as_str)).collect();
    let mut c = Collect { want: &want, got: HashMap::new() };
    for f in files {
        osecwatch_ingest::read_file(f, &mut c).with_context(|| format!("reading {}", f.display()))?;
    }
    Ok(c.got)
}

/// `cases import`: returns the summary text.
pub fn import(store: &mut Store, i: &ImportArgs) -> Result<String> {
    let started = std::time::Instant::now();
    let bar = crate::spinner("reading alerts");
    let (alerts, read, bad, q) = match &i.alerts {
        Some(a) => {
            let q = i.quarantine.clone().unwrap_or_else(|| a.with_file_name("alerts_quarantine.csv"));
            let (alerts, read, bad) = read_alerts(a, &q)?;
            (alerts, read, bad, q)
        }
        None => (Vec::new(), 0, 0, PathBuf::new()),
    };
    bar.set_message("reading the evidence payments");
    let payments = evidence(&i.transactions, &alerts)?;
    let mut text = String::new();
    if let Some(c) = &i.customers {
        let k = read_customers(c).map_err(anyhow::Error::msg)?;
        store.put_kyc(&k.records)?;
        text.push_str(&format!(
            "customers: {} line(s) read, {} used, {} rejected{}\n",
            k.read,
            k.records.len(),
            k.rejected.len(),
            k.rejected.first().map(|r| format!(" (first: line {}: {})", r.line, r.reason)).unwrap_or_default()
        ));
    }
    if let Some(c) = &i.counterparties {
        let k = read_counterparties(c).map_err(anyhow::Error::msg)?;
        store.put_counterparties(&k.records)?;
        text.push_str(&format!(
            "beneficiaries: {} line(s) read, {} used, {} rejected{}\n",
            k.read,
            k.records.len(),
            k.rejected.len(),
            k.rejected.first().map(|r| format!(" (first: line {}: {})", r.line, r.reason)).unwrap_or_default()
        ));
    }
    bar.set_message(format!("filing {} alerts into cases", alerts.len()));
    let s = store.import(&Actor::system(), &alerts, &payments)?;
    bar.finish_and_clear();
    text.push_str(&format!(
        "alerts: {read} read = {} filed + {bad} quarantined{}\ncases: {} opened, {} joined, {} updated, {} unchanged, {} re-opened with new payments, {} follow-ups of reported cases, {} suppressed (no new payments)\nevidence: {} payment(s) recorded with details\nin {:.1} s\n",
        s.alerts_read,
        if bad > 0 { format!(" (see {})", q.display()) } else { String::new() },
        s.created,
        s.joined,
        s.updated,
        s.unchanged,
        s.reopened,
        s.follow_ups,
        s.suppressed,
        s.payments_recorded,
        started.elapsed().as_secs_f64()
    ));
    Ok(text)
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

fn show_text(d: &osecwatch_cases::CaseDetail) -> String {
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

/// The demo's institution (fictitious), so the demo runs outside the source tree too.
const DEMO_INSTITUTION: &str = include_str!("../../../examples/institution.toml");

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
