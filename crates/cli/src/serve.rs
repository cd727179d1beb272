//! `osecwatch serve` and `osecwatch audit verify`.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use osecwatch_server::{serve, ServeConfig};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); see the README. Flags and environment override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (env OSECWATCH_LISTEN; default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory for the write-ahead log, audit log and tokens (env OSECWATCH_DATA_DIR; default ./osecwatch-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Rule pack file or `builtin:NAME` (env OSECWATCH_RULES; default: the built-in OSEC pack).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// PEM certificate chain for HTTPS (env OSECWATCH_TLS_CERT).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (env OSECWATCH_TLS_KEY).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub clock: crate::clockopts::ClockArgs,
    /// How far behind the latest accepted payment a payment may be dated, in seconds; a
    /// later one is refused as late (409) unless it is a known duplicate [default: 86400]
    #[arg(long, value_name = "SECS")]
    pub allowed_lateness: Option<i64>,
    /// A bank export mapping the batch endpoint reads with `?map=NAME`: NAME=FILE
    /// (repeatable; see mappings/).
    #[arg(long, value_name = "NAME=FILE")]
    pub map: Vec<String>,
    #[command(flatten)]
    pub cases: CaseArgs,
}

/// The case side of the service.
#[derive(Args)]
pub struct CaseArgs {
    /// Case database: a SQLite file or a postgres:// URL (env OSECWATCH_DB; default DATA_DIR/cases.sqlite).
    #[arg(long)]
    pub db: Option<String>,
    /// PostgreSQL schema for the case tables (env OSECWATCH_DB_SCHEMA).
    #[arg(long)]
    pub db_schema: Option<String>,
    /// FIU profile for reports: generic, de, or a profile file [default: generic]
    #[arg(long)]
    pub fiu_profile: Option<String>,
    /// The institution's reporting details (TOML; see examples/institution.toml).
    #[arg(long)]
    pub institution: Option<PathBuf>,
    /// Seconds between two passes that file the engine's new alerts into cases [default: 10]
    #[arg(long, value_name = "SECS")]
    pub cases_feed_secs: Option<u64>,
    /// No case store: alerts stay in the engine only.
    #[arg(long)]
    pub no_cases: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    rules: Option<PathBuf>,
    tokens_file: Option<PathBuf>,
    body_limit_bytes: Option<usize>,
    screen_limit_bytes: Option<usize>,
    xml_party_fallback: Option<bool>,
    snapshot_every: Option<u64>,
    /// Debtor agent BIC -> channel for ISO 20022 payments.
    xml_agent_channels: Option<std::collections::BTreeMap<String, String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_future_skew_secs: Option<i64>,
    max_advance_secs: Option<i64>,
    /// RFC 3339.
    earliest: Option<String>,
    allowed_lateness_secs: Option<i64>,
    cases: Option<bool>,
    cases_db: Option<String>,
    cases_db_schema: Option<String>,
    fiu_profile: Option<String>,
    institution: Option<PathBuf>,
    cases_feed_secs: Option<u64>,
    case_retention_years: Option<i64>,
    log_segment_bytes: Option<u64>,
    log_segment_days: Option<u32>,
    payments_log_years: Option<u32>,
    audit_log_years: Option<u32>,
}

/// The case store's settings: flags, then environment, then the configuration file.
fn cases_config(a: CaseArgs, file: &mut FileConfig) -> Result<Option<osecwatch_server::cases::CasesConfig>> {
    if a.no_cases || file.cases == Some(false) {
        return Ok(None);
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut c = osecwatch_server::cases::CasesConfig {
        db: a.db.or_else(|| env("OSECWATCH_DB")).or(file.cases_db.take()),
        schema: a.db_schema.or_else(|| env("OSECWATCH_DB_SCHEMA")).or(file.cases_db_schema.take()),
        institution: a.institution.or(file.institution.take()),
        ..Default::default()
    };
    if let Some(p) = a.fiu_profile.or(file.fiu_profile.take()) {
        c.profile = p;
    }
    if let Some(f) = a.cases_feed_secs.or(file.cases_feed_secs) {
        c.feed_secs = f.max(1);
    }
    if let Some(y) = file.case_retention_years {
        if y < 1 {
            bail!("case_retention_years must be at least 1");
        }
        c.retention_years = y;
    }
    Ok(Some(c))
}

/// When the logs are sealed and how long they are kept (configuration file only).
fn log_retention(file: &FileConfig, r: &mut osecwatch_server::segments::LogRetention) -> Result<()> {
    if let Some(b) = file.log_segment_bytes {
        r.segment_bytes = b.max(1);
    }
    if let Some(d) = file.log_segment_days {
        r.segment_days = d.max(1);
    }
    // 0 keeps a log for ever; anything shorter than a year could delete records the
    // idempotency index (up to a year of allowed lateness) still points at.
    for (key, years, to) in [
        ("payments_log_years", file.payments_log_years, &mut r.payments_years),
        ("audit_log_years", file.audit_log_years, &mut r.audit_years),
    ] {
        if let Some(y) = years {
            *to = y;
        }
        if *to > 100 {
            bail!("{key} must be 0 (kept for ever) to 100 years, got {to}");
        }
    }
    Ok(())
}

/// The service's settings: flags, then environment, then the configuration file.
fn config(a: ServeArgs) -> Result<ServeConfig> {
    let mut file: FileConfig = match &a.config {
        Some(p) => toml::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("configuration {}", p.display()))?,
        None => FileConfig::default(),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut cfg = ServeConfig { cases: cases_config(a.cases, &mut file)?, ..ServeConfig::default() };
    log_retention(&file, &mut cfg.logs)?;
    if let Some(l) = a.listen.or_else(|| env("OSECWATCH_LISTEN")).or(file.listen) {
        cfg.listen = l.parse().with_context(|| format!("listen address `{l}` (expected e.g. 127.0.0.1:8080)"))?;
    }
    if let Some(d) = a.data_dir.or_else(|| env("OSECWATCH_DATA_DIR").map(PathBuf::from)).or(file.data_dir) {
        cfg.data_dir = d;
    }
    cfg.rules = a.rules.or_else(|| env("OSECWATCH_RULES").map(PathBuf::from)).or(file.rules);
    for m in &a.map {
        let Some((name, path)) = m.split_once('=') else { bail!("--map `{m}`: expected NAME=FILE") };
        let mapping = osecwatch_ingest::Mapping::from_file(path.as_ref())?;
        cfg.maps.insert(name.to_string(), mapping);
    }
    if let Some(b) = file.body_limit_bytes {
        cfg.body_limit = b;
    }
    if let Some(b) = file.screen_limit_bytes {
        cfg.screen_limit = b;
    }
    cfg.xml.party_fallback = file.xml_party_fallback.unwrap_or(false);
    for (bic, ch) in file.xml_agent_channels.unwrap_or_default() {
        let ch = osecwatch_model::Channel::parse(&ch).map_err(|e| anyhow::anyhow!("xml_agent_channels.{bic}: {e}"))?;
        cfg.xml.channel_by_agent.insert(bic.to_ascii_uppercase(), ch);
    }
    if let Some(n) = file.snapshot_every {
        cfg.snapshot_every = n;
    }
    let from_file = crate::clockopts::ClockArgs {
        max_future_skew: file.max_future_skew_secs,
        max_advance: file.max_advance_secs,
        earliest: file.earliest,
    };
    cfg.clock = a.clock.or(from_file).settings()?;
    if let Some(l) = a.allowed_lateness.or(file.allowed_lateness_secs) {
        let max = osecwatch_server::dedupe::MAX_LATENESS_SECS;
        if !(0..=max).contains(&l) {
            bail!("allowed lateness must be 0 to {max} seconds (a year), got {l}");
        }
        cfg.allowed_lateness = l;
    }
    let cert = a.tls_cert.or_else(|| env("OSECWATCH_TLS_CERT").map(PathBuf::from)).or(file.tls_cert);
    let key = a.tls_key.or_else(|| env("OSECWATCH_TLS_KEY").map(PathBuf::from)).or(file.tls_key);
    cfg.tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => bail!("TLS needs both a certificate and a key (--tls-cert and --tls-key)"),
    };
    if let Some(f) = env("OSECWATCH_TOKENS_FILE").map(PathBuf::from).or(file.tokens_file) {
        cfg.tokens.load_file(&f).map_err(anyhow::Error::msg)?;
    }
    if let Some(t) = env("OSECWATCH_TOKENS") {
        cfg.tokens.load_env(&t).map_err(anyhow::Error::msg)?;
    }
    Ok(cfg)
}

pub fn run_serve(a: ServeArgs) -> Result<()> {
    let cfg = config(a)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let data = cfg.data_dir.clone();
    rt.block_on(async move {
        let shutdown = async {
            #[cfg(unix)]
            {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return std::future::pending::<()>().await,
                };
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        };
        serve(
            cfg,
            |r| {
                let mut o = format!(
                    "osecwatch serve: listening on {}://{} (data: {}, {} payments recovered from the log)\n",
                    if r.tls { "https" } else { "http" },
                    r.addr,
                    data.display(),
                    r.recovered_payments
                );
                if let Some(t) = r.generated_admin_token {
                    o.push_str(&format!(
                        "admin token (shown once; only its hash is stored in {}/tokens.toml):\n{t}\n",
                        data.display()
                    ));
                }
                crate::out(&o);
            },
            shutdown,
        )
        .await
    })?;
    crate::out("osecwatch serve: stopped\n");
    Ok(())
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check an audit log: its hash chain, its head file (no records cut from the end), and
    /// every payment of the payments log beside it against its decision.
    Verify {
        /// Audit log file (default: ./osecwatch-data/audit.jsonl).
        #[arg(default_value = "osecwatch-data/audit.jsonl")]
        file: PathBuf,
        /// Payments log to check it against (default: payments.wal beside the audit log, if
        /// there is one).
        #[arg(long)]
        log: Option<PathBuf>,
    },
}

pub fn run_audit(c: AuditCommand) -> Result<()> {
    match c {
        AuditCommand::Verify { file, log } => {
            let log = log.or_else(|| {
                let p = file.with_file_name("payments.wal");
                p.exists().then_some(p)
            });
            match osecwatch_server::audit::verify_against_log(&file, log.as_deref()) {
                Ok(v) => {
                    let head = match &v.head {
                        Some(h) => format!("; anchored at record {}", h.n),
                        None => "; no head file (a data directory of an earlier version)".to_string(),
                    };
                    let against = match &log {
                        Some(l) => format!("; all {} payments of {} have their decision", v.payments, l.display()),
                        None => String::new(),
                    };
                    crate::out(&format!(
                        "audit log {}: {} records, chain intact{head}{against}\n",
                        file.display(),
                        v.records
                    ));
                    Ok(())
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("  {p}");
                    }
                    bail!("audit log tampered or damaged: {} problem(s), the first: {}", problems.len(), problems[0])
                }
            }
        }
    }
}
