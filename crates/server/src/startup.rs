//! Start-up and shutdown: the rule pack, the tokens, recovery from the data directory, the
//! core thread, the listener; then, when asked to stop, drain and let the core commit.

use crate::app::AppState;
use crate::auth::{self, Scope};
use crate::config::{Ready, ServeConfig};
use crate::core::{self, Core, CoreStats, Request};
use crate::metrics::Metrics;
use crate::routes::{self, Limits, ROUTES};
use crate::{audit, tls, wal, ServerError, DEFAULT_PACK};
use osecwatch_engine::{Engine, RulePack};
use osecwatch_model::Timestamp;
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
    let (engine, pack_text) = engine(&cfg)?;
    let generated = tokens(&mut cfg)?;
    let stats = Arc::new(CoreStats::default());
    let policy = crate::snapshot::SnapshotPolicy {
        path: cfg.data_dir.join("snapshot.json"),
        every: cfg.snapshot_every.max(1),
        pack_fingerprint: osecwatch_engine::fnv1a(pack_text.as_bytes()),
    };
    // Why a snapshot there is was not used; said in the log and in the start's audit record.
    let mut passed_over = None;
    let mut snapshot = crate::snapshot::load_snapshot(&policy).unwrap_or_else(|why| {
        passed_over = Some(why);
        None
    });
    let (wal_path, audit_path) = (cfg.data_dir.join("payments.wal"), cfg.data_dir.join("audit.jsonl"));
    let started = std::time::Instant::now();
    let (mut opened, (mut audit, mut checked)) = open_logs(&wal_path, &audit_path, snapshot.as_ref())?;
    let why_not = match &snapshot {
        Some(l) if l.file.last_seq > opened.last_seq => Some("it is ahead of the payments log"),
        // Its checksum matches, but the audit log never recorded writing it: edited and
        // re-summed, or written just before a crash. Either way the log decides.
        Some(l) if !checked.snapshots.contains(&l.sha256) => {
            Some("its checksum is not one the audit log records writing")
        }
        _ => None,
    };
    if let Some(why) = why_not {
        passed_over = Some(why.to_string());
        snapshot = None;
        drop((opened, audit));
        (opened, (audit, checked)) = open_logs(&wal_path, &audit_path, None)?;
    }
    let (replayed, in_log) = (opened.tail.entries, opened.payments);
    let now = Timestamp::new(osecwatch_ingest::wall_clock_utc(), 0).to_rfc3339();
    if generated.is_some() {
        audit.push(&now, "admin", None, serde_json::json!({ "action": "generated admin token", "actor": "serve" }));
    }
    let admission = core::Admission { clock: cfg.clock, lateness: cfg.allowed_lateness.max(0) };
    if let Some(why) = &passed_over {
        tracing::warn!("snapshot not used ({why}); rebuilding from the whole log");
    }
    let mut note = format!("started; {in_log} payments in the log, {replayed} log entries replayed");
    match (&snapshot, &passed_over) {
        (Some(l), _) => note.push_str(&format!(", from the snapshot at log position {}", l.file.last_seq)),
        (None, Some(why)) => note.push_str(&format!("; snapshot not used ({why}), the whole log replayed")),
        (None, None) => {}
    }
    let recovery = core::Recovery {
        wal: opened.wal,
        tail: opened.tail,
        last_logged: opened.last_seq,
        payments: opened.payments,
        audit,
        decisions: checked.decisions,
        snapshot,
    };
    let checked_in = started.elapsed();
    let mut core = Core::recover(engine, recovery, stats.clone(), policy, admission)?;
    tracing::info!(
        logs_checked_secs = checked_in.as_secs_f64(),
        replayed,
        replay_secs = (started.elapsed() - checked_in).as_secs_f64(),
        "recovered"
    );
    if let Some(cut) = &opened.cut {
        note.push_str(&format!("; payments log {cut}"));
    }
    if let Some(torn) = checked.torn {
        note.push_str(&format!("; audit log: {torn}, cut back"));
    }
    core.admin_record(&now, &note, "serve")?;
    let (tx, rx) = mpsc::channel::<Request>(65_536);
    let core_thread = std::thread::Builder::new().name("osecwatch-core".into()).spawn(move || core.run(rx))?;

    let state = Arc::new(AppState {
        tx,
        tokens: cfg.tokens.clone(),
        core: stats,
        metrics: Metrics::new(ROUTES.iter().map(|r| r.path)),
        ready: AtomicBool::new(true),
        xml: cfg.xml,
    });
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

/// Open the payments log and the audit log side by side (each reads its whole file: the
/// log's checksums, the audit's hash chain), from the snapshot's position if there is one.
fn open_logs(
    wal_path: &Path,
    audit_path: &Path,
    snapshot: Option<&crate::snapshot::Loaded>,
) -> Result<(wal::Opened, (audit::AuditLog, audit::Checked)), ServerError> {
    let from = snapshot.map_or(0, |l| l.file.last_seq);
    let anchors: Vec<&audit::Head> = snapshot.iter().map(|l| &l.file.audit).collect();
    let (w, a) = std::thread::scope(|s| {
        let audit = s.spawn(|| audit::AuditLog::open(audit_path, from, &anchors));
        let w = wal::Wal::open(wal_path, from);
        (w, audit.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    Ok((w?, a?))
}

/// The engine with the configured (or built-in) pack and the data directory's watch list;
/// and the pack's text, whose fingerprint ties snapshots to it.
fn engine(cfg: &ServeConfig) -> Result<(Engine, String), ServerError> {
    let (pack, pack_text) = match &cfg.rules {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ServerError::Read { path: p.clone(), source })?;
            (RulePack::from_toml(&text, &p.display().to_string())?, text)
        }
        None => (RulePack::from_toml(DEFAULT_PACK, "rules/osec.toml (built in)")?, DEFAULT_PACK.to_string()),
    };
    let mut engine = Engine::new(pack)?;
    if let Ok(w) = std::fs::read_to_string(cfg.data_dir.join("watchlist.txt")) {
        engine
            .set_watchlist(w.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    // Same-party links, like the watch list: configuration read at each start (the log
    // replays with the links of this start).
    let customers = cfg.data_dir.join("customers.csv");
    if customers.exists() {
        let f = osecwatch_ingest::read_customer_file(&customers)?;
        let (read, rejected) = (f.read, f.rejected.len());
        for r in &f.rejected {
            tracing::warn!(line = r.line, reason = %r.reason, "customer file: line rejected");
        }
        let linked = engine.set_same_party(f.links);
        tracing::info!(read, rejected, linked_customers = linked, "customer file: same-party links");
    }
    Ok((engine, pack_text))
}

/// Tokens: the configured ones, else the data directory's, else a new admin token (its
/// digest stored, the secret returned to be shown once).
fn tokens(cfg: &mut ServeConfig) -> Result<Option<String>, ServerError> {
    if !cfg.tokens.is_empty() {
        return Ok(None);
    }
    let token_file = cfg.data_dir.join("tokens.toml");
    if token_file.exists() {
        cfg.tokens.load_file(&token_file)?;
        return Ok(None);
    }
    let secret = auth::generate_secret()?;
    let entry = auth::TokenEntry {
        name: "admin".into(),
        sha256: hex::encode(auth::digest(&secret)),
        scopes: vec![Scope::Admin],
    };
    write_token_file(&token_file, &entry)?;
    cfg.tokens.add_entry(&entry)?;
    Ok(Some(secret))
}

fn write_token_file(path: &Path, entry: &auth::TokenEntry) -> Result<(), ServerError> {
    let text = toml::to_string(&auth::TokenFile { tokens: vec![entry.clone()] }).map_err(ServerError::TokenFile)?;
    std::fs::write(path, format!("# API tokens (SHA-256 digests only; the secrets are not stored)\n{text}"))?;
    Ok(())
}
