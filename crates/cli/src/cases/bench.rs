//! `osecwatch cases bench`: the case store's benchmark. Synthetic alerts (fixed seed) are
//! imported into a fresh store, then the queue is listed with the filters an analyst uses and
//! a report is drafted for a case with 200 payments; the figures are wall-clock times on this
//! machine (noisy: run the two backends side by side, as `scripts/bench-cases.sh` does).

use anyhow::Result;
use clap::Args;
use osecwatch_cases::{Actor, AlertIn, Backend, CaseState, DraftEdits, Filter, PaymentIn, ReportSettings, Role, Store};
use std::collections::HashMap;
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// Alerts to import.
    #[arg(long, default_value_t = 100_000)]
    pub alerts: usize,
    /// List queries to time.
    #[arg(long, default_value_t = 1_000)]
    pub queries: usize,
    /// Reports to draft (each of a case with 200 payments).
    #[arg(long, default_value_t = 20)]
    pub drafts: usize,
    /// A postgres:// URL (a fresh schema is made and dropped); default: SQLite in a temporary directory.
    #[arg(long)]
    pub db: Option<String>,
    /// Payments of the one big case (the draft benchmark's, and the workbench's case page).
    #[arg(long, default_value_t = 200)]
    pub big_payments: usize,
    /// Keep the SQLite store in this data directory (for `scripts/bench-ui.sh`, which serves it).
    #[arg(long, conflicts_with = "db")]
    pub keep: Option<std::path::PathBuf>,
}

fn lcg(x: &mut u64) -> u64 {
    *x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *x >> 33
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub fn run(a: BenchArgs) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = match &a.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => tmp.path().to_path_buf(),
    };
    let schema = format!("bench_{}", std::process::id());
    let backend = match &a.db {
        Some(u) => Backend::Postgres { url: u.clone(), schema: Some(schema.clone()) },
        None => Backend::Sqlite(dir.join("cases.sqlite")),
    };
    let mut st = Store::open(&backend, &dir)?;
    let (alerts, payments) = synthetic(a.alerts, a.big_payments);
    let sys = Actor::system();
    let t = Instant::now();
    let s = st.import(&sys, &alerts, &payments)?;
    let import_s = t.elapsed().as_secs_f64();
    let who = Actor::new("bench-analyst", Role::Analyst);
    let total = s.created;
    // The filters of a working day: the queue, by state, by typology, unassigned, aged,
    // high priority, one entity, and a deep page.
    let filters = [
        Filter::default(),
        Filter { state: Some(CaseState::Open), ..Default::default() },
        Filter { typology: Some("OSEC-FACILITATOR".into()), ..Default::default() },
        Filter { assignee: Some("-".into()), state: Some(CaseState::Open), ..Default::default() },
        Filter { min_age_days: Some(30), ..Default::default() },
        Filter { min_priority: Some(120.0), ..Default::default() },
        Filter { entity: Some("S000042".into()), ..Default::default() },
        Filter { offset: Some(5_000), ..Default::default() },
    ];
    let mut times = Vec::with_capacity(a.queries);
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); filters.len()];
    for q in 0..a.queries {
        let t = Instant::now();
        st.list(&who, &filters[q % filters.len()])?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        times.push(ms);
        per[q % filters.len()].push(ms);
    }
    let (p50, p99) = (pct(&mut times, 0.5), pct(&mut times, 0.99));
    let names =
        ["queue", "state", "typology", "unassigned", "aged 30 d", "priority >= 120", "one entity", "page at 5,000"];
    let per_filter: Vec<String> = per.iter_mut().zip(names).map(|(v, n)| format!("{n} {:.1}", pct(v, 0.99))).collect();
    // The case with 200 payments.
    let big = st.list(&who, &Filter { entity: Some("BIG-SENDER".into()), ..Default::default() })?.cases[0].clone();
    st.put_kyc(&[osecwatch_goaml::Client::sample("BIG-SENDER")])?;
    let settings = ReportSettings {
        profile: osecwatch_goaml::Profile::load("generic")?,
        reporter: toml::from_str(super::demo::DEMO_INSTITUTION)?,
        xsd: None,
    };
    let mut version = big.version;
    let mut dt = Vec::new();
    let mut n_tx = 0;
    for _ in 0..a.drafts {
        let t = Instant::now();
        let d = st.draft_report(&who, &big.case_id, version, &settings, &DraftEdits::default())?;
        dt.push(t.elapsed().as_secs_f64() * 1e3);
        version = d.version;
        n_tx = d.xml.matches("<transaction>").count();
    }
    let (d50, dmax) = (pct(&mut dt, 0.5), pct(&mut dt, 1.0));
    crate::out(&format!(
        "case store benchmark on {}{}\n  import {} alerts ({} payments with details): {:.2} s ({} cases opened, {} joined) -> {:.0} alerts/s\n  list/filter among {} cases, {} queries over 8 filters: p50 {:.2} ms, p99 {:.2} ms (p99 by filter, ms: {})\n  draft an STR of {} payments, {} times: median {:.1} ms, max {:.1} ms\n",
        st.dialect(),
        a.keep.as_ref().map(|d| format!(" (kept in {})", d.display())).unwrap_or_default(),
        s.alerts_read,
        payments.len(),
        import_s,
        s.created,
        s.joined,
        s.alerts_read as f64 / import_s,
        total,
        a.queries,
        p50,
        p99,
        per_filter.join(", "),
        n_tx,
        a.drafts,
        d50,
        dmax
    ));
    drop(st);
    if let Some(u) = &a.db {
        if let Ok(mut c) = postgres_drop(u) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
    Ok(())
}

fn postgres_drop(url: &str) -> Result<postgres::Client> {
    Ok(postgres::Client::connect(url, postgres::NoTls)?)
}

/// `n` alerts on `n` entities (so `n` cases), five payments each; one sender with `big`
/// payments to ten recipients.
fn synthetic(n: usize, big: usize) -> (Vec<AlertIn>, HashMap<String, PaymentIn>) {
    let mut x = 42u64;
    let mut alerts = Vec::with_capacity(n);
    let mut pays = HashMap::with_capacity(n * 5 + 200);
    for i in 0..n {
        let e = i;
        let recipient = e % 7 == 0;
        let entity = if recipient { format!("R{e:06}") } else { format!("S{e:06}") };
        let day = 1 + lcg(&mut x) % 150;
        let at = |d: u64, h: u64| format!("2025-{:02}-{:02}T{:02}:10:00+01:00", 1 + (d / 28).min(11), 1 + d % 28, h);
        let mut ids = Vec::with_capacity(5);
        for k in 0..5 {
            let id = format!("T{i:07}-{k}");
            let (s, r) = if recipient {
                (format!("S{:06}", lcg(&mut x) % 50_000), entity.clone())
            } else {
                (entity.clone(), format!("R{:06}", lcg(&mut x) % 20_000))
            };
            pays.insert(id.clone(), payment(&id, &at(day, 20 + k % 4), 1_000 + (lcg(&mut x) % 20_000) as i64, &s, &r));
            ids.push(id);
        }
        alerts.push(AlertIn {
            alert_id: format!("AL-{i:016x}"),
            entity_type: if recipient { "recipient" } else { "sender" }.into(),
            entity_id: entity,
            typology: if recipient { "OSEC-FACILITATOR" } else { "OSEC-BUYER" }.into(),
            score: 50.0 + (lcg(&mut x) % 50) as f64,
            decision: "review".into(),
            typologies: vec!["R-OSEC-01".into(), "R-OSEC-02".into()],
            reasons: vec![
                "R-OSEC-01: 6 transfers of at most EUR 250 to high-risk countries (PH) in 30 days (+18)".into()
            ],
            raised_at: at(day, 22),
            updated_at: at(day + 3, 23),
            txn_ids: ids,
            rule_pack: Some("osec".into()),
        });
    }
    let mut ids = Vec::with_capacity(big);
    for k in 0..big as u64 {
        let id = format!("TBIG-{k:03}");
        let at = format!("2025-{:02}-{:02}T{:02}:{:02}:00+01:00", 1 + (k / 40).min(11), 1 + k % 28, 18 + k % 6, k % 60);
        pays.insert(id.clone(), payment(&id, &at, 2_000 + k as i64 * 37, "BIG-SENDER", &format!("RBIG-{}", k % 10)));
        ids.push(id);
    }
    alerts.push(AlertIn {
        alert_id: "AL-big".into(),
        entity_type: "sender".into(),
        entity_id: "BIG-SENDER".into(),
        typology: "OSEC-BUYER".into(),
        score: 99.0,
        decision: "block".into(),
        typologies: vec!["R-OSEC-01".into()],
        reasons: vec!["R-OSEC-01: 40 transfers of at most EUR 250 to high-risk countries (PH) in 30 days (+25)".into()],
        raised_at: "2025-01-01T22:30:00+01:00".into(),
        updated_at: "2025-05-28T23:30:00+01:00".into(),
        txn_ids: ids,
        rule_pack: Some("osec".into()),
    });
    (alerts, pays)
}

fn payment(id: &str, at: &str, minor: i64, s: &str, r: &str) -> PaymentIn {
    PaymentIn {
        txn_id: id.into(),
        at: at.into(),
        amount_minor: minor,
        currency: "EUR".into(),
        sender_id: s.into(),
        sender_name: Some("A Sender".into()),
        sender_country: "DE".into(),
        recipient_id: r.into(),
        recipient_name: Some("A Recipient".into()),
        recipient_country: "PH".into(),
        channel: "mto".into(),
        reference: None,
    }
}
