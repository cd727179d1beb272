//! `cases import`: alerts into cases, with their payments' details, the customers' KYC and
//! the beneficiaries' bank details; malformed alert lines quarantined with line and reason.

use anyhow::{Context, Result};
use clap::Args;
use osecwatch_cases::files::{read_counterparties, read_customers};
use osecwatch_cases::{Actor, AlertIn, PaymentIn, Store};
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

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
        text.push_str(&file_summary("customers", &k));
    }
    if let Some(c) = &i.counterparties {
        let k = read_counterparties(c).map_err(anyhow::Error::msg)?;
        store.put_counterparties(&k.records)?;
        text.push_str(&file_summary("beneficiaries", &k));
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

/// One line on a customer or beneficiary file: read, used, rejected, and the first rejection.
fn file_summary<T>(what: &str, k: &osecwatch_cases::files::Keyed<T>) -> String {
    format!(
        "{what}: {} line(s) read, {} used, {} rejected{}\n",
        k.read,
        k.records.len(),
        k.rejected.len(),
        k.rejected.first().map(|r| format!(" (first: line {}: {})", r.line, r.reason)).unwrap_or_default()
    )
}
