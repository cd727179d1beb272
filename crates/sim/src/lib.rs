//! The payment-world simulator: a deterministic, labelled stream of one institution's
//! outgoing payments in which a few customers buy livestreamed child sexual abuse, hidden
//! among the ordinary life that looks like it.
//!
//! ```no_run
//! use osecwatch_sim::{simulate, Scenario, SimOptions};
//! use osecwatch_formats::Format;
//! let sc = Scenario::load("small").unwrap();
//! let opts = SimOptions { out_dir: "out/small".into(), format: Format::Csv };
//! let summary = simulate(&sc, &opts, &mut |_| {}).unwrap();
//! assert!(summary.transactions > 0);
//! ```
//!
//! How it works: [`world::World::build`] turns the scenario into customers, recipients and
//! one behaviour process per habit ([`behave`]). Generation then walks the period month by
//! month: every process appends its month of events to one buffer, the buffer is sorted by
//! (UTC instant, process, sequence), and everything safely before the next month's
//! earliest possible instant is written. Memory is bounded by the population plus one
//! month of payments; every process has its own RNG stream, so output is byte-identical for
//! the same scenario and seed.
//!
//! Outputs (`shared/reference/formats.md`): `transactions.{csv,jsonl,parquet}`,
//! `txn_labels.csv`, `entity_labels.csv`, plus `scenario.toml` (the resolved scenario) and
//! `summary.json`. The transaction file carries only what a bank sees.

mod behave;
mod cal;
mod kyc;
mod names;
pub mod scenario;
mod shared;
mod world;

pub use scenario::{Scenario, ScenarioError, PRESETS};
pub use shared::RecipientKind;
pub use world::Archetype;
use world::World;

use osecwatch_formats::{open_writer, Format, FormatError};
use osecwatch_model::{Money, Timestamp, TxnRow};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Where and how to write a world.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Directory the files go to (created if missing).
    pub out_dir: PathBuf,
    /// Format of the transaction file.
    pub format: Format,
}

/// Errors while writing a world.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The transaction writer failed.
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// Progress report, sent after each simulated month.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Months generated so far.
    pub months_done: usize,
    /// Months in the period.
    pub months_total: usize,
    /// Payments written so far.
    pub transactions: u64,
}

/// Per-archetype figures of a generated world.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArchetypeSummary {
    /// The archetype's name.
    pub archetype: &'static str,
    /// Customers of it.
    pub customers: u64,
    /// Payments they made.
    pub transactions: u64,
    /// Sum of amounts in minor units of the base currency.
    pub amount_minor: i64,
    /// Of those, OSEC payments.
    pub osec_transactions: u64,
}

/// What was generated.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Where the scenario came from (preset name or file).
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The base currency.
    pub currency: String,
    /// First day of the period.
    pub period_start: String,
    /// Months in the period.
    pub months: u32,
    /// Customers.
    pub customers: u64,
    /// Recipients that received at least one payment.
    pub recipients_paid: u64,
    /// Payments written.
    pub transactions: u64,
    /// Of those, OSEC payments.
    pub osec_transactions: u64,
    /// All money paid, in base-currency minor units.
    pub amount_minor: i64,
    /// OSEC money paid, in base-currency minor units.
    pub osec_amount_minor: i64,
    /// Buyers in the population.
    pub buyers: u64,
    /// Buyers with at least one OSEC payment in the period.
    pub buyers_with_osec: u64,
    /// Facilitators paid at least once.
    pub facilitators_paid: u64,
    /// Counts per archetype.
    pub by_archetype: Vec<ArchetypeSummary>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl Summary {
    /// OSEC payments / all payments.
    pub fn osec_share_of_transactions(&self) -> f64 {
        self.osec_transactions as f64 / self.transactions.max(1) as f64
    }
    /// OSEC money / all money.
    pub fn osec_share_of_amount(&self) -> f64 {
        self.osec_amount_minor as f64 / self.amount_minor.max(1) as f64
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io { path: path.to_path_buf(), source }
}

/// Generate the world described by `scenario` into `opts.out_dir`.
pub fn simulate(
    scenario: &Scenario,
    opts: &SimOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, SimError> {
    std::fs::create_dir_all(&opts.out_dir).map_err(io_err(&opts.out_dir))?;
    let t0 = std::time::Instant::now();
    let mut world = World::build(scenario);
    tracing::info!(
        customers = world.customers.len(),
        recipients = world.shared.recipients.len(),
        processes = world.procs.len(),
        secs = t0.elapsed().as_secs_f64(),
        "population built"
    );
    let tx_path = opts.out_dir.join(format!("transactions.{}", opts.format.extension()));
    let labels_path = opts.out_dir.join("txn_labels.csv");
    let mut writer = open_writer(&tx_path, opts.format)?;
    let lf = File::create(&labels_path).map_err(io_err(&labels_path))?;
    let mut labels = BufWriter::with_capacity(1 << 20, lf);
    labels.write_all(b"txn_id,is_osec\n").map_err(io_err(&labels_path))?;

    let mut t = Tally::new(&world);
    let mut rows = Rows {
        writer: &mut *writer,
        labels: &mut labels,
        labels_path: &labels_path,
        id: String::new(),
        line: Vec::new(),
    };
    write_months(&mut world, scenario.institution.country, &mut rows, &mut t, progress)?;
    let sh = &world.shared;
    writer.finish()?;
    labels.flush().map_err(io_err(&labels_path))?;

    let ent_path = opts.out_dir.join("entity_labels.csv");
    let paid = write_entity_labels(&world, &t, &ent_path)?;
    let cust_path = opts.out_dir.join("customers.csv");
    write_customers(&world, &cust_path)?;
    write_counterparties(&world, &opts.out_dir.join("counterparties.csv"))?;
    let sc_path = opts.out_dir.join("scenario.toml");
    std::fs::write(&sc_path, scenario.to_toml()).map_err(io_err(&sc_path))?;
    let summary = Summary {
        scenario: scenario.source.clone(),
        seed: scenario.institution.seed,
        currency: sh.currency.to_string(),
        period_start: scenario.institution.start_date.clone(),
        months: scenario.institution.months,
        customers: world.customers.len() as u64,
        recipients_paid: paid.recipients,
        transactions: t.total,
        osec_transactions: t.osec,
        amount_minor: t.amount,
        osec_amount_minor: t.osec_amount,
        buyers: paid.buyers,
        buyers_with_osec: paid.buyers_with_osec,
        facilitators_paid: paid.facilitators,
        by_archetype: t.by_archetype,
        files: vec![
            tx_path,
            labels_path,
            ent_path.clone(),
            cust_path,
            sc_path.clone(),
            opts.out_dir.join("summary.json"),
        ],
    };
    let sum_path = opts.out_dir.join("summary.json");
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| SimError::Io { path: sum_path.clone(), source: e.into() })?;
    std::fs::write(&sum_path, json).map_err(io_err(&sum_path))?;
    Ok(summary)
}

/// Where the rows go: the transaction file and its labels, with the buffers reused per row.
struct Rows<'a> {
    writer: &'a mut dyn osecwatch_formats::TxnWriter,
    labels: &'a mut BufWriter<File>,
    labels_path: &'a Path,
    id: String,
    line: Vec<u8>,
}

impl Rows<'_> {
    /// Write event `e` as payment number `total`, with its label line.
    fn write(
        &mut self,
        world: &World,
        country: osecwatch_model::CountryCode,
        e: &behave::Event,
        total: u64,
    ) -> Result<(), SimError> {
        let sh = &world.shared;
        self.id.clear();
        self.id.push_str("TX");
        let mut ib = itoa::Buffer::new();
        let digits = ib.format(total);
        for _ in digits.len()..12 {
            self.id.push('0');
        }
        self.id.push_str(digits);
        let (sender_id, sender_name) = world.sender(e.customer, e.utc);
        let (recipient_id, recipient_name) = world.payee(e.recipient, e.utc);
        let row = TxnRow {
            txn_id: &self.id,
            timestamp: Timestamp::new(e.utc, e.offset_min),
            sender_id,
            sender_name,
            sender_country: country,
            recipient_id,
            recipient_name,
            recipient_country: sh.recipients[e.recipient as usize].country,
            amount: Money::new(e.amount, sh.currency),
            channel: e.channel,
            reference: &sh.refs[e.reference as usize],
            merchant_category: (e.mcc != 0).then_some(e.mcc),
        };
        self.writer.write(&row)?;
        self.line.clear();
        self.line.extend_from_slice(self.id.as_bytes());
        self.line.extend_from_slice(if e.osec { b",true\n" } else { b",false\n" });
        self.labels.write_all(&self.line).map_err(io_err(self.labels_path))
    }
}

/// Generate the period month by month and write every event in time order, counting it.
fn write_months(
    world: &mut World,
    country: osecwatch_model::CountryCode,
    rows: &mut Rows<'_>,
    t: &mut Tally,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SimError> {
    let n_cust = world.customers.len();
    let n_rec = world.shared.recipients.len();
    let months = world.shared.cal.months();
    let mut buf: Vec<behave::Event> = Vec::new();
    for m in 0..months {
        for (i, p) in world.procs.iter_mut().enumerate() {
            p.gen_month(i as u32, m, &world.shared, &mut buf);
        }
        buf.sort_unstable_by_key(|e| (e.utc, e.proc_, e.seq));
        // Later months' events are local times at or after the next month's first day,
        // i.e. no earlier than its UTC instant minus the largest offset (UTC+14).
        let cal = &world.shared.cal;
        let cutoff =
            if m + 1 == months { i64::MAX } else { cal.local_secs(cal.month_starts[m + 1] as i64) - 14 * 3600 };
        let k = buf.partition_point(|e| e.utc < cutoff);
        let mut warm = 0u8;
        for (j, e) in buf[..k].iter().enumerate() {
            // Touch the entities a few dozen rows ahead (see `EntityText::touch`).
            if j % 32 == 0 {
                for f in buf[(j + 32).min(k)..(j + 64).min(k)].iter() {
                    warm ^= world.text.touch(f.customer, f.recipient);
                }
            }
            t.total += 1;
            rows.write(world, country, e, t.total)?;
            let account = e.customer as usize + world.moved(e.customer, e.utc) as usize * n_cust;
            let wallet = e.recipient as usize + world.wallet_moved(e.recipient, e.utc) as usize * n_rec;
            let rec = &world.shared.recipients[e.recipient as usize];
            let archetype = world.customers[e.customer as usize].archetype;
            t.count(e, account, wallet, archetype, rec.kind.is_facilitator(), Timestamp::new(e.utc, e.offset_min));
        }
        std::hint::black_box(warm);
        buf.drain(..k);
        progress(Progress { months_done: m + 1, months_total: months, transactions: t.total });
    }
    Ok(())
}

/// What one run wrote, counted as it is written: per entity (for the labels) and per
/// archetype (for the summary).
struct Tally {
    /// Per account: a customer's first account at its index, a second account (after a
    /// move) at the number of customers plus its index.
    customer_txns: Vec<u32>,
    recipient_txns: Vec<u32>,
    customer_first: Vec<Option<Timestamp>>,
    recipient_first: Vec<Option<Timestamp>>,
    by_archetype: Vec<ArchetypeSummary>,
    total: u64,
    osec: u64,
    amount: i64,
    osec_amount: i64,
}

impl Tally {
    fn new(world: &World) -> Tally {
        let (n_cust, n_rec) = (world.customers.len(), world.shared.recipients.len());
        let mut by_archetype: Vec<ArchetypeSummary> =
            Archetype::ALL.iter().map(|a| ArchetypeSummary { archetype: a.as_str(), ..Default::default() }).collect();
        for c in &world.customers {
            by_archetype[c.archetype as usize].customers += 1;
        }
        Tally {
            customer_txns: vec![0; 2 * n_cust],
            recipient_txns: vec![0; 2 * n_rec],
            customer_first: vec![None; 2 * n_cust],
            recipient_first: vec![None; 2 * n_rec],
            by_archetype,
            total: 0,
            osec: 0,
            amount: 0,
            osec_amount: 0,
        }
    }

    /// One payment written (`total` is counted by the caller, which numbers the ids).
    #[inline]
    fn count(
        &mut self,
        e: &behave::Event,
        account: usize,
        wallet: usize,
        archetype: Archetype,
        to_facilitator: bool,
        ts: Timestamp,
    ) {
        self.customer_txns[account] += 1;
        self.recipient_txns[wallet] += 1;
        let a = &mut self.by_archetype[archetype as usize];
        a.transactions += 1;
        a.amount_minor += e.amount;
        self.amount += e.amount;
        if e.osec {
            self.osec += 1;
            self.osec_amount += e.amount;
            a.osec_transactions += 1;
            self.customer_first[account].get_or_insert(ts);
            if to_facilitator {
                self.recipient_first[wallet].get_or_insert(ts);
            }
        }
    }
}

/// Entities the labels found paid.
struct Paid {
    recipients: u64,
    facilitators: u64,
    buyers: u64,
    buyers_with_osec: u64,
}

/// The customer file a bank would have: one line per account of the institution's
/// customers, with the customer it belongs to, so that accounts of one person can be linked
/// (`osecwatch scan --customers`), and the KYC columns a suspicious transaction report needs
/// (`osecwatch cases import --customers`). A second account's `opened` is the day of the move.
///
/// The KYC values are synthetic and drawn from a hash of the customer's index only, never
/// from its archetype, so nothing in them tells a buyer from a family remitter. Nationality
/// is the institution's country for everyone: it is reported, never scored.
fn write_customers(world: &World, path: &Path) -> Result<(), SimError> {
    let f = File::create(path).map_err(io_err(path))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    let csv_err =
        |e: csv::Error| SimError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) };
    w.write_record([
        "account_id",
        "customer_id",
        "name",
        "country",
        "opened",
        "birthdate",
        "ssn",
        "nationality",
        "residence",
        "phone",
        "occupation",
        "address",
        "city",
        "zip",
        "iban",
        "currency",
        "branch",
    ])
    .map_err(csv_err)?;
    let country = world.shared.scenario.institution.country.to_string();
    let currency = world.shared.currency.to_string();
    let start = &world.shared.scenario.institution.start_date;
    for i in 0..world.customers.len() as u32 {
        let cid = world.customer_id(i);
        let (id, name) = world.text.customer(i);
        let k = kyc::Kyc::of(world.shared.scenario.institution.seed, i, &country, start);
        let iban =
            |acc: &str| if acc.len() >= 15 && acc.starts_with(&country) { acc.to_string() } else { String::new() };
        let row = |acc: &str, nm: &str, opened: &str| {
            [
                acc.to_string(),
                cid.clone(),
                nm.to_string(),
                country.clone(),
                opened.to_string(),
                k.birthdate.clone(),
                k.ssn.clone(),
                country.clone(),
                country.clone(),
                k.phone.clone(),
                k.occupation.to_string(),
                k.address.clone(),
                k.city.to_string(),
                k.zip.clone(),
                iban(acc),
                currency.clone(),
                k.city.to_string(),
            ]
        };
        w.write_record(row(id, name, &k.opened)).map_err(csv_err)?;
        let at = world.moved_at[i as usize];
        if at != i64::MAX {
            let (id2, name2) = world.text.second_account(i);
            let opened = Timestamp::new(at, 0).to_rfc3339();
            w.write_record(row(id2, name2, &opened[..10])).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io_err(path))?;
    Ok(())
}

/// The beneficiaries' bank details a report needs (`osecwatch cases import --counterparties`):
/// every recipient wallet or account with its (synthetic) institution and BIC.
fn write_counterparties(world: &World, path: &Path) -> Result<(), SimError> {
    let f = File::create(path).map_err(io_err(path))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    let csv_err =
        |e: csv::Error| SimError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) };
    w.write_record(["account_id", "name", "country", "institution_name", "swift"]).map_err(csv_err)?;
    let nr = world.shared.recipients.len() as u32;
    for i in 0..nr {
        let c = world.shared.recipients[i as usize].country.to_string();
        let (inst, bic) = kyc::institution(world.shared.scenario.institution.seed, i, &c);
        let (first, second) = (world.text.recipient(i), world.text.second_wallet(i));
        w.write_record([first.0, first.1, &c, &inst, &bic]).map_err(csv_err)?;
        if second.0 != first.0 {
            w.write_record([second.0, second.1, &c, &inst, &bic]).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io_err(path))?;
    Ok(())
}

/// Entity labels: every sender and recipient that appears in the transactions.
fn write_entity_labels(world: &World, t: &Tally, ent_path: &Path) -> Result<Paid, SimError> {
    let ef = File::create(ent_path).map_err(io_err(ent_path))?;
    let mut ent = csv::Writer::from_writer(BufWriter::new(ef));
    let csv_err =
        |e: csv::Error| SimError::Io { path: ent_path.to_path_buf(), source: std::io::Error::other(e.to_string()) };
    ent.write_record(["entity_id", "role", "archetype", "first_osec_at"]).map_err(csv_err)?;
    let fmt_first = |t: &Option<Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let (mut buyers, mut buyers_with_osec) = (0u64, 0u64);
    let n = world.customers.len();
    // Every account that paid: first accounts, then second accounts (after a move), each
    // with its customer's role.
    for account in 0..2 * n {
        let (i, second) = (account % n, account >= n);
        if t.customer_txns[account] == 0 {
            continue;
        }
        let c = &world.customers[i];
        let role = if c.archetype.is_buyer() { "buyer" } else { "benign" };
        if c.archetype.is_buyer() {
            buyers += 1;
            buyers_with_osec += t.customer_first[account].is_some() as u64;
        }
        let id = if second { world.text.second_account(i as u32).0 } else { world.text.customer(i as u32).0 };
        ent.write_record([id, role, c.archetype.as_str(), &fmt_first(&t.customer_first[account])]).map_err(csv_err)?;
    }
    let (mut recipients_paid, mut facilitators_paid) = (0u64, 0u64);
    let nr = world.shared.recipients.len();
    // First wallets, then second wallets (after a facilitator's move).
    for wallet in 0..2 * nr {
        let (i, second) = (wallet % nr, wallet >= nr);
        if t.recipient_txns[wallet] == 0 {
            continue;
        }
        let r = &world.shared.recipients[i];
        recipients_paid += 1;
        let role = if r.kind.is_facilitator() { "facilitator" } else { "benign" };
        facilitators_paid += r.kind.is_facilitator() as u64;
        let id = if second { world.text.second_wallet(i as u32).0 } else { world.text.recipient(i as u32).0 };
        ent.write_record([id, role, r.kind.as_str(), &fmt_first(&t.recipient_first[wallet])]).map_err(csv_err)?;
    }
    ent.flush().map_err(io_err(ent_path))?;
    Ok(Paid { recipients: recipients_paid, facilitators: facilitators_paid, buyers, buyers_with_osec })
}
