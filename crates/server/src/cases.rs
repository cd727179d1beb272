//! Cases in the service: the case store behind `/v1/cases`, the feed that files the live
//! engine's alerts into cases, and the holds that approved reports put on a reported
//! customer's payments to the same recipients.
//!
//! The store is synchronous (SQLite or PostgreSQL); handlers reach it on tokio's blocking
//! pool, one at a time through a mutex (case work is human-paced; the store's own version
//! checks and audit lock keep several services on one PostgreSQL database consistent).

use crate::app::{query, AppState};
use crate::wal::Replayed;
use osecwatch_cases::{Actor, AlertIn, Hold, PaymentIn, ReportSettings, Store};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Where cases are kept and how reports are written.
#[derive(Debug, Clone)]
pub struct CasesConfig {
    /// `--db`: a SQLite file or a postgres:// URL; `None`: `cases.sqlite` in the data directory.
    pub db: Option<String>,
    /// PostgreSQL schema.
    pub schema: Option<String>,
    /// FIU profile name or file.
    pub profile: String,
    /// The institution's reporting details (TOML).
    pub institution: Option<PathBuf>,
    /// Seconds between two passes of the alert feed.
    pub feed_secs: u64,
    /// Years a closed or reported case is kept (GwG §8: five); the service deletes older
    /// ones once a day, audited.
    pub retention_years: i64,
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            db: None,
            schema: None,
            profile: "generic".into(),
            institution: None,
            feed_secs: 10,
            retention_years: 5,
        }
    }
}

/// Blocks from approved reports, by sender: (recipients, release time UTC seconds, case).
#[derive(Debug, Default)]
pub struct HoldTable(HashMap<String, Vec<(HashSet<String>, i64, String)>>);

impl HoldTable {
    /// The hold on a payment from `sender` to `recipient`, if any; `now` (the wall clock) is
    /// read only for a sender that has holds, so a payment of anyone else costs one lookup.
    pub fn check(&self, sender: &str, recipient: &str, now: impl FnOnce() -> i64) -> Option<(&str, i64)> {
        let holds = self.0.get(sender)?;
        let now = now();
        holds
            .iter()
            .find(|(r, until, _)| *until > now && r.contains(recipient))
            .map(|(_, until, case)| (case.as_str(), *until))
    }
    fn from(holds: Vec<Hold>) -> HoldTable {
        let mut t: HashMap<String, Vec<(HashSet<String>, i64, String)>> = HashMap::new();
        for h in holds {
            let until = chrono::DateTime::parse_from_rfc3339(&h.until).map(|d| d.timestamp()).unwrap_or(0);
            t.entry(h.sender_id).or_default().push((h.recipients.into_iter().collect(), until, h.case_id));
        }
        HoldTable(t)
    }
}

/// The shared hold table (the core reads it for every payment).
pub type Holds = Arc<RwLock<HoldTable>>;

/// The case side of the service.
pub struct CaseService {
    pub(crate) store: Mutex<Store>,
    pub(crate) settings: ReportSettings,
    pub(crate) holds: Holds,
    wal: PathBuf,
}

impl CaseService {
    /// Open the store (migrating it), load the profile and the institution's details.
    pub fn open(cfg: &CasesConfig, data_dir: &std::path::Path, holds: Holds) -> Result<CaseService, String> {
        let backend = osecwatch_cases::Backend::parse(cfg.db.as_deref(), data_dir, cfg.schema.as_deref());
        let store = Store::open(&backend, data_dir).map_err(|e| format!("case store: {e}"))?;
        let profile = osecwatch_goaml::Profile::load(&cfg.profile).map_err(|e| e.to_string())?;
        let reporter = match &cfg.institution {
            None => osecwatch_goaml::Reporter::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
            }
        };
        let svc = CaseService {
            store: Mutex::new(store),
            settings: ReportSettings { profile, reporter, xsd: None },
            holds,
            wal: data_dir.join("payments.wal"),
        };
        svc.refresh_holds();
        Ok(svc)
    }

    /// Run `f` on the store (call from a blocking thread).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut g = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A supervisor approves a report (four eyes checked by the store); the block on the
    /// reported customer's payments lasts until the profile's release time. The holds are
    /// reloaded at once. The API and the workbench both approve through here.
    pub(crate) fn approve(
        &self,
        who: &Actor,
        case_id: &str,
        report_id: &str,
    ) -> Result<osecwatch_cases::ReportView, osecwatch_cases::CaseError> {
        let until =
            self.settings.profile.release_after(chrono::Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let r = self.with(|st| st.approve(who, case_id, report_id, &until))?;
        self.refresh_holds();
        Ok(r)
    }

    /// Reload the blocks from approved reports.
    pub(crate) fn refresh_holds(&self) {
        match self.with(|s| s.holds()) {
            Ok(h) => *self.holds.write().unwrap_or_else(|p| p.into_inner()) = HoldTable::from(h),
            Err(e) => tracing::error!(error = %e, "reading holds from the case store failed"),
        }
    }

    /// The details of the given payments, from the payments log.
    fn payments_from_log(&self, ids: &HashSet<String>) -> HashMap<String, PaymentIn> {
        payments_from_log(&self.wal, ids, 4 << 20)
    }
}

/// The details of the given payments, from the payments log read backwards from its end in
/// blocks of `block` bytes: a feed pass's new evidence is the latest payments, so a pass
/// reads the log's tail, not the whole log (a retroactive alert's older payments take it
/// further back, into the sealed segments). Stops when every id is found, or at the log's
/// start.
pub(crate) fn payments_from_log(
    wal: &std::path::Path,
    ids: &HashSet<String>,
    block: u64,
) -> HashMap<String, PaymentIn> {
    let mut out = HashMap::new();
    let files = crate::segments::files(wal).unwrap_or_else(|_| vec![wal.to_path_buf()]);
    for file in files.iter().rev() {
        if out.len() >= ids.len() {
            break;
        }
        payments_from_file(file, ids, block, &mut out);
    }
    out
}

fn payments_from_file(file: &std::path::Path, ids: &HashSet<String>, block: u64, out: &mut HashMap<String, PaymentIn>) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(file) else { return };
    let Ok(mut end) = f.metadata().map(|m| m.len()) else { return };
    // The start of a line cut by the last block boundary: it ends the next (earlier) block.
    let mut carry: Vec<u8> = Vec::new();
    while end > 0 && out.len() < ids.len() {
        let start = end.saturating_sub(block.max(1));
        let mut buf = vec![0u8; (end - start) as usize];
        if f.seek(SeekFrom::Start(start)).is_err() || f.read_exact(&mut buf).is_err() {
            break;
        }
        buf.extend_from_slice(&carry);
        // Unless at the file's start, the block's first line may be cut: keep it for later.
        let first = if start == 0 { 0 } else { memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1) };
        carry = buf[..first].to_vec();
        for line in buf[first..].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(Replayed::Payment(p)) = Replayed::parse(line) else { continue };
            let Ok(r) = p.row() else { continue };
            if ids.contains(r.txn_id) && !out.contains_key(r.txn_id) {
                out.insert(r.txn_id.to_string(), PaymentIn::from_row(&r));
            }
        }
        end = start;
    }
}

/// Why a store call from a request did not give its answer.
#[derive(Debug)]
pub(crate) enum StoreFailure {
    /// The store refused or failed.
    Case(osecwatch_cases::CaseError),
    /// The blocking task died (a panic in the store call, or shutdown).
    Task,
}

/// Run a store call on tokio's blocking pool (the store is synchronous): the API's and the
/// workbench's one way to the store.
pub(crate) async fn run_blocking<T: Send + 'static>(
    svc: Arc<CaseService>,
    f: impl FnOnce(&CaseService) -> Result<T, osecwatch_cases::CaseError> + Send + 'static,
) -> Result<T, StoreFailure> {
    tokio::task::spawn_blocking(move || f(&svc)).await.map_err(|_| StoreFailure::Task)?.map_err(StoreFailure::Case)
}

/// What the feed remembers between passes: a fingerprint of each alert (its update time,
/// evidence count and score), by the alert's position in the engine's list (alerts are only
/// ever appended), so a pass allocates nothing per unchanged alert.
type Seen = Vec<u64>;

fn fingerprint(a: &osecwatch_engine::Alert) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&a.updated_at, a.txn_ids.len(), a.score.to_bits()).hash(&mut h);
    h.finish()
}

/// The feed: every `feed_secs`, the alerts the engine raised or updated since the last pass
/// are filed into cases, with their payments' details read from the payments log.
pub(crate) async fn feed(state: Arc<AppState>, every: std::time::Duration, retention_years: i64) {
    let Some(svc) = state.cases.clone() else { return };
    let mut seen: Seen = Vec::new();
    let mut last_retention: Option<std::time::Instant> = None;
    loop {
        tokio::time::sleep(every).await;
        if !state.ready.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        // The retention job: once a day, as the system, recorded in the case audit.
        if last_retention.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(86_400)) {
            last_retention = Some(std::time::Instant::now());
            if !retention(&svc, retention_years).await {
                return;
            }
        }
        // The alert list is read in slices, each one short request to the core thread, so a
        // long list never holds up live decisions for long.
        let prev = Arc::new(std::mem::take(&mut seen));
        let mut changed = Vec::new();
        let mut from = 0;
        loop {
            let p = prev.clone();
            let Ok((mut part, part_seen, next)) = query(&state, move |e| changed_alerts(e, &p, from)).await else {
                return;
            };
            changed.append(&mut part);
            seen.extend(part_seen);
            match next {
                Some(n) => from = n,
                None => break,
            }
        }
        if changed.is_empty() {
            continue;
        }
        let alerts: Vec<AlertIn> = changed
            .into_iter()
            .map(|a| AlertIn {
                alert_id: a.alert_id,
                entity_type: a.entity_type,
                entity_id: a.entity_id,
                typology: a.typology,
                score: a.score,
                decision: a.decision.as_str().to_string(),
                typologies: a.typologies,
                reasons: a.reasons,
                raised_at: a.raised_at,
                updated_at: a.updated_at,
                txn_ids: a.txn_ids,
                rule_pack: (!a.rule_pack.is_empty()).then_some(a.rule_pack),
            })
            .collect();
        match file(&svc, alerts).await {
            // Filed again at the next pass.
            Some(false) => seen.clear(),
            Some(true) => {}
            None => return,
        }
    }
}

/// One retention run on the blocking pool; false when the runtime is shutting down.
async fn retention(svc: &Arc<CaseService>, years: i64) -> bool {
    let svc = svc.clone();
    let rules = osecwatch_cases::RetentionRules { case_years: years };
    match tokio::task::spawn_blocking(move || svc.with(|s| s.retention(&Actor::system(), &rules))).await {
        Ok(Ok(r)) if r.cases > 0 => {
            tracing::info!(cases = r.cases, files = r.attachment_files, "retention deleted cases")
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
        Err(_) => return false,
    }
    true
}

/// File changed alerts into cases, with the details of the evidence payments no case holds
/// yet read from the payments log; whether it worked (`None`: the runtime is shutting down).
async fn file(svc: &Arc<CaseService>, alerts: Vec<AlertIn>) -> Option<bool> {
    let svc = svc.clone();
    let r = tokio::task::spawn_blocking(move || {
        let ids: Vec<&str> = {
            let mut v: Vec<&str> = alerts.iter().flat_map(|a| a.txn_ids.iter().map(String::as_str)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let known = svc.with(|s| s.recorded_payments(&ids))?;
        let missing: HashSet<String> = ids.iter().filter(|t| !known.contains(**t)).map(|t| t.to_string()).collect();
        let details = svc.payments_from_log(&missing);
        svc.with(|s| s.import(&Actor::system(), &alerts, &details))
    })
    .await
    .ok()?;
    match r {
        Ok(sum) => {
            tracing::info!(
                created = sum.created,
                joined = sum.joined,
                updated = sum.updated,
                "alerts filed into cases"
            );
            Some(true)
        }
        Err(e) => {
            tracing::error!(error = %e, "filing alerts into cases failed");
            Some(false)
        }
    }
}

/// At most this many alerts are looked at, or evidence ids copied, in one request to the
/// core thread.
const SLICE_ALERTS: usize = 2_000;
const SLICE_IDS: usize = 20_000;

/// The alerts from position `from` that changed since the last pass (not in `prev` with the
/// same fingerprint), their fingerprints, and where the next slice starts (`None`: done).
fn changed_alerts(
    e: &mut osecwatch_engine::Engine,
    prev: &Seen,
    from: usize,
) -> (Vec<osecwatch_engine::Alert>, Seen, Option<usize>) {
    let mut changed = Vec::new();
    let mut seen = Seen::with_capacity(SLICE_ALERTS);
    let mut ids = 0;
    for (i, a) in e.alert_list().enumerate().skip(from) {
        if i - from >= SLICE_ALERTS || ids >= SLICE_IDS {
            return (changed, seen, Some(i));
        }
        let fp = fingerprint(a);
        if prev.get(i) != Some(&fp) {
            ids += a.txn_ids.len();
            changed.push(a.clone());
        }
        seen.push(fp);
    }
    (changed, seen, None)
}
