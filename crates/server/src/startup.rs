//! Start-up and shutdown: the rule pack, the tokens, recovery from the data directory, the
//! core thread, the listener; then, when asked to stop, drain and let the core commit.

use crate::app::AppState;
use crate::auth::{self, Scope};
use crate::config::{Ready, ServeConfig};
use crate::core::{self, Core, CoreStats, Request};
use crate::metrics::Metrics;
use crate::routes::{self, Limits, ROUTES};
use crate::{audit, tls, wal, ServerError};
use osecwatch_engine::{Engine, RulePack};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Recover from the data directory, listen, and serve until `shutdown` resolves; then stop
/// accepting, drain in-flight requests and let the core commit.
pub async fn serve(
    mut cfg: ServeConfig,
    on_ready: impl FnOnce(Ready),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let (_, pack_text) = engine(&cfg, None)?;
    // Read once: its same-party links go to the engine of each recovery attempt, its
    // business relationships to the payments log's retention.
    let mut customers = customer_file(&cfg.data_dir)?;
    let generated = tokens(&mut cfg)?;
    let stats = Arc::new(CoreStats::default());
    let policy = crate::snapshot::SnapshotPolicy {
        path: cfg.data_dir.join("snapshot.json"),
        every: cfg.snapshot_every.max(1),
        pack_fingerprint: osecwatch_engine::fnv1a(pack_text.as_bytes()),
        logs: cfg.logs,
        relationships: customers.as_mut().and_then(|f| f.relationships.take()).map(Arc::new),
    };
    let admission = core::Admission { clock: cfg.clock, lateness: cfg.allowed_lateness.max(0) };
    let started = std::time::Instant::now();
    // Why a snapshot there is was not used; said in the log and in the start's audit record.
    let mut passed_over = None;
    let mut snapshot = crate::snapshot::load_snapshot(&policy).unwrap_or_else(|why| {
        passed_over = Some(why);
        None
    });
    let mut hint = audit::highest_seq_near_end(&cfg.data_dir.join("audit.jsonl"));
    let (mut core, mut r) = loop {
        let from = snapshot.as_ref().map(|l| l.file.last_seq);
        let links = customers.as_ref().map(|f| f.links.as_slice());
        match recover(&cfg, links, snapshot.take(), hint, &stats, &policy, admission)? {
            Attempt::Done(core, r) => break (*core, r),
            Attempt::SnapshotUnusable(why) => {
                tracing::warn!("snapshot not used ({why}); rebuilding from the whole log");
                passed_over = Some(why.to_string());
            }
            Attempt::Incomplete => {
                tracing::warn!(from, "the audit log lacks decisions the replay assumed; replaying again");
                hint = 0;
            }
        }
    };
    let now = core::wall_clock().to_rfc3339();
    if generated.is_some() {
        core.admin_record(&now, "generated admin token", "serve")?;
    }
    let mut note = format!("started; {} payments in the log, {} log entries replayed", r.in_log, r.replayed);
    match (r.snapshot_at, &passed_over) {
        (Some(at), _) => note.push_str(&format!(", from the snapshot at log position {at}")),
        (None, Some(why)) => note.push_str(&format!("; snapshot not used ({why}), the whole log replayed")),
        (None, None) => {}
    }
    tracing::info!(secs = started.elapsed().as_secs_f64(), replayed = r.replayed, "recovered");
    if let Some(cut) = r.wal_cut.take() {
        note.push_str(&format!("; payments log {cut}"));
    }
    if let Some(torn) = r.audit_torn.take() {
        note.push_str(&format!("; audit log: {torn}, cut back"));
    }
    let (replayed, in_log) = (r.replayed, r.in_log);
    core.admin_record(&now, &note, "serve")?;
    let holds: crate::cases::Holds = Default::default();
    core.set_holds(holds.clone());
    let cases = open_cases(&cfg, holds.clone()).await?;
    let (tx, rx) = mpsc::channel::<Request>(65_536);
    let core_thread = std::thread::Builder::new().name("osecwatch-core".into()).spawn(move || core.run(rx))?;

    let state = Arc::new(AppState {
        tx,
        tokens: cfg.tokens.clone(),
        core: stats,
        metrics: Metrics::new(ROUTES.iter().map(|r| r.path)),
        ready: AtomicBool::new(true),
        xml: cfg.xml,
        maps: cfg.maps.clone(),
        cases,
        ui: crate::ui::UiState::new(cfg.tls.is_some()),
    });
    if let Some(c) = &cfg.cases {
        tokio::spawn(crate::cases::feed(
            state.clone(),
            std::time::Duration::from_secs(c.feed_secs.max(1)),
            c.retention_years,
        ));
    }
    tokio::spawn(log_upkeep(Arc::downgrade(&state)));
    let app = routes::router(state.clone(), Limits { body: cfg.body_limit, screen: cfg.screen_limit });
    let acceptor = match &cfg.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, in_log, replayed, tls = acceptor.is_some(), "osecwatch serving");
    on_ready(Ready { addr, generated_admin_token: generated, recovered_payments: in_log, tls: acceptor.is_some() });
    let st = state.clone();
    let stop = async move {
        shutdown.await;
        st.ready.store(false, Ordering::Relaxed);
    };
    match acceptor {
        Some(acc) => axum::serve(tls::TlsListener::new(listener, acc)?, app).with_graceful_shutdown(stop).await?,
        None => axum::serve(listener, app).with_graceful_shutdown(stop).await?,
    }
    // Dropping the last sender lets the core finish its batch and stop.
    drop(state);
    let _ = tokio::task::spawn_blocking(move || core_thread.join()).await;
    Ok(())
}

/// Once a day (the first a day after the start: a start has just checked everything), the
/// core seals the logs if they are due and deletes what is past its retention. It holds the
/// state weakly, so that it never keeps the core running at shutdown.
async fn log_upkeep(state: std::sync::Weak<AppState>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
        let Some(state) = state.upgrade() else { return };
        if !state.ready.load(Ordering::Relaxed) {
            return;
        }
        let tx = state.tx.clone();
        drop(state);
        if tx.send(Request::Maintenance("serve (daily)".into())).await.is_err() {
            return;
        }
    }
}

/// The case store, when cases are on (opened and migrated on the blocking pool).
async fn open_cases(
    cfg: &ServeConfig,
    holds: crate::cases::Holds,
) -> Result<Option<Arc<crate::cases::CaseService>>, ServerError> {
    let Some(c) = cfg.cases.clone() else { return Ok(None) };
    let dir = cfg.data_dir.clone();
    let svc = tokio::task::spawn_blocking(move || crate::cases::CaseService::open(&c, &dir, holds))
        .await
        .map_err(|e| ServerError::Cases(e.to_string()))?
        .map_err(ServerError::Cases)?;
    Ok(Some(Arc::new(svc)))
}

/// What one attempt at recovery found besides the core.
struct Recovered {
    in_log: u64,
    replayed: u64,
    snapshot_at: Option<u64>,
    wal_cut: Option<String>,
    audit_torn: Option<String>,
}

/// How one attempt at recovery ended.
enum Attempt {
    Done(Box<Core>, Recovered),
    /// The snapshot turned out unusable (why): try again without it.
    SnapshotUnusable(&'static str),
    /// The audit log lacked decisions the replay assumed: try again assuming none.
    Incomplete,
}

/// One attempt at recovery: the audit log's chain is checked on another thread while this one
/// checks the payments log and replays its tail from the snapshot; then the two are settled.
fn recover(
    cfg: &ServeConfig,
    links: Option<&[(String, String)]>,
    snapshot: Option<crate::snapshot::Loaded>,
    hint: u64,
    stats: &Arc<CoreStats>,
    policy: &crate::snapshot::SnapshotPolicy,
    admission: core::Admission,
) -> Result<Attempt, ServerError> {
    let (wal_path, audit_path) = (cfg.data_dir.join("payments.wal"), cfg.data_dir.join("audit.jsonl"));
    let from = snapshot.as_ref().map_or(0, |l| l.file.last_seq);
    let anchors: Vec<audit::Head> = snapshot.iter().map(|l| l.file.audit.clone()).collect();
    let sha = snapshot.as_ref().map(|l| l.sha256.clone());
    let (engine, _) = engine(cfg, links)?;
    std::thread::scope(|s| {
        let checking = s.spawn(|| {
            let refs: Vec<&audit::Head> = anchors.iter().collect();
            audit::AuditLog::open(&audit_path, from, &refs)
        });
        let t = std::time::Instant::now();
        let gone = crate::segments::decisions_deleted_through(&audit_path)?;
        let (replay, opened) = Core::replay(engine, snapshot, admission, hint, gone, |keep_after, f| {
            wal::Wal::open_replaying(&wal_path, keep_after, f)
        })?;
        tracing::info!(
            entries = opened.tail_entries,
            secs = t.elapsed().as_secs_f64(),
            "payments log checked and its tail replayed"
        );
        if from > opened.last_seq {
            return Ok(Attempt::SnapshotUnusable("it is ahead of the payments log"));
        }
        let (audit, checked) = checking.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        if let Some(sha) = &sha {
            if !checked.snapshots.contains(sha) {
                // Its checksum matches, but the audit log never recorded writing it: edited
                // and re-summed, or written just before a crash. Either way the log decides.
                return Ok(Attempt::SnapshotUnusable("its checksum is not one the audit log records writing"));
            }
        }
        let logs = core::Logs {
            wal: opened.wal,
            last_logged: opened.last_seq,
            first_logged: opened.first_seq,
            payments: opened.payments,
            audit,
            decisions: checked.decisions,
        };
        let r = Recovered {
            in_log: opened.payments,
            replayed: opened.tail_entries,
            snapshot_at: sha.is_some().then_some(from),
            wal_cut: opened.cut,
            audit_torn: checked.torn,
        };
        Ok(match Core::settle(replay, logs, stats.clone(), policy.clone(), admission)? {
            Ok(core) => Attempt::Done(Box::new(core), r),
            Err(core::Incomplete) => Attempt::Incomplete,
        })
    })
}

/// The engine with the configured (or built-in) pack and the data directory's watch list;
/// and the pack's text, whose fingerprint ties snapshots to it.
fn engine(cfg: &ServeConfig, links: Option<&[(String, String)]>) -> Result<(Engine, String), ServerError> {
    let (pack, pack_text) = RulePack::load(cfg.rules.as_deref())?;
    let pack_text = pack_text.into_owned();
    let mut engine = Engine::new(pack)?;
    if let Ok(w) = std::fs::read_to_string(cfg.data_dir.join("watchlist.txt")) {
        engine
            .set_watchlist(w.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    // Same-party links, like the watch list: configuration read at each start (the log
    // replays with the links of this start).
    if let Some(links) = links {
        let linked = engine.set_same_party(links.iter().cloned());
        tracing::info!(linked_customers = linked, "customer file: same-party links");
    }
    Ok((engine, pack_text))
}

/// The data directory's customer file, if there is one: same-party links and, with the
/// `relationship_ended` column, the business relationships retention follows.
fn customer_file(dir: &Path) -> Result<Option<osecwatch_ingest::CustomerFile>, ServerError> {
    let customers = dir.join("customers.csv");
    if !customers.exists() {
        return Ok(None);
    }
    let f = osecwatch_ingest::read_customer_file(&customers)?;
    for r in &f.rejected {
        tracing::warn!(line = r.line, reason = %r.reason, "customer file: line rejected");
    }
    tracing::info!(read = f.read, rejected = f.rejected.len(), "customer file read");
    Ok(Some(f))
}

/// Tokens: the configured ones, else the data directory's, else a new admin token (its
/// digest stored, the secret returned to be shown once).
fn tokens(cfg: &mut ServeConfig) -> Result<Option<String>, ServerError> {
    let token_file = cfg.data_dir.join("tokens.toml");
    if !cfg.tokens.is_empty() {
        // Configured tokens replace the data directory's service tokens, but users and their
        // tokens (`osecwatch users add`) live there and stay valid.
        if token_file.exists() {
            cfg.tokens.load_users_of(&token_file)?;
        }
        return Ok(None);
    }
    let mut file = auth::TokenFile::default();
    if token_file.exists() {
        cfg.tokens.load_file(&token_file)?;
        let text = std::fs::read_to_string(&token_file)?;
        file = toml::from_str(&text).map_err(|e| ServerError::Tokens(auth::TokenError::Parse(e)))?;
        // A file with only users' tokens (from `osecwatch users add` before the first start)
        // still needs a service token.
        if file.tokens.iter().any(|t| t.user.is_none()) {
            return Ok(None);
        }
    }
    let secret = auth::generate_secret()?;
    let entry = auth::TokenEntry {
        name: "admin".into(),
        sha256: hex::encode(auth::digest(&secret)),
        scopes: vec![Scope::Admin],
        user: None,
    };
    file.tokens.push(entry.clone());
    write_token_file(&token_file, &file)?;
    cfg.tokens.add_entry(&entry)?;
    Ok(Some(secret))
}

fn write_token_file(path: &Path, file: &auth::TokenFile) -> Result<(), ServerError> {
    let text = toml::to_string(file).map_err(ServerError::TokenFile)?;
    std::fs::write(path, format!("# API tokens (SHA-256 digests only; the secrets are not stored)\n{text}"))?;
    Ok(())
}
