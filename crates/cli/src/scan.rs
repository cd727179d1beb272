//! `osecwatch scan`: run a rule pack over payment files and write explained alerts.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use osecwatch_engine::{Decision, Engine};
use osecwatch_ingest::{
    read_input, ClockSettings, CsvOptions, EventClock, IngestStats, InputOptions, Location, OrderGuard,
    QuarantineWriter, Rejection, ReorderBuffer, Visitor,
};
use osecwatch_model::{Timestamp, TxnRow};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct ScanArgs {
    /// Payment files (canonical CSV, JSON Lines or Parquet), read in the order given.
    #[arg(long, num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// Read the inputs as a bank's own CSV export through this mapping file (TOML: columns,
    /// dialect, encoding, number and date notation; see mappings/). Rows that are not
    /// outgoing payments are counted as skipped with their reason.
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// Rule pack file (TOML), or `builtin:NAME`; default: the built-in OSEC pack
    /// (`osecwatch rules show` prints it).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Output directory for alerts.jsonl, networks.jsonl (with a picture per network in
    /// networks/), scores.jsonl, quarantine.csv and scan_summary.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Accept payments up to this many seconds out of time order (buffered and re-sorted);
    /// 0 quarantines any payment earlier than the one before it.
    #[arg(long, default_value_t = 0)]
    pub reorder_window: i64,
    /// Process payments in file order, as the service does, accepting those up to this many
    /// seconds behind the latest payment before them (not re-sorted; later ones are
    /// quarantined as late). Scanning a service's payments log with the service's allowed
    /// lateness gives the service's alerts. 0: strict time order.
    #[arg(long, default_value_t = 0, conflicts_with = "reorder_window")]
    pub allowed_lateness: i64,
    #[command(flatten)]
    pub clock: crate::clockopts::ClockArgs,
    #[command(flatten)]
    pub zones: ZoneArgs,
    /// Sender ids on a watch list (one per line), for R-OSEC-09.
    #[arg(long)]
    pub watchlist: Option<PathBuf>,
    /// Customer file (CSV with `account_id` and `customer_id` columns; others are read past):
    /// accounts of one customer are linked (same party), so a new account of a customer
    /// whose other account shows buyer evidence is alerted at once (R-OSEC-LINK), and in a
    /// recipient's network risk one customer's accounts are one payer. Malformed lines are
    /// listed in scan_summary.json with their line and reason; the rest are used.
    #[arg(long)]
    pub customers: Option<PathBuf>,
    /// Threads that check CSV blocks or decode Parquet row groups beside the engine
    /// (default: one per core; 0 or 1 = everything on one thread).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub xml: crate::xmlopts::XmlArgs,
}

/// Time zones for typed timestamps in Parquet and Arrow IPC files.
#[derive(Args)]
pub struct ZoneArgs {
    /// The zone of TIMESTAMP columns without a time zone (wall-clock times) [default: UTC]
    #[arg(long, value_name = "IANA ZONE")]
    pub timezone: Option<String>,
    /// The zone whose local time night and payday features read for TIMESTAMPTZ columns
    /// (instants) when the file has no utc_offset_minutes column [default: --timezone]
    #[arg(long, value_name = "IANA ZONE")]
    pub sender_timezone: Option<String>,
}

impl ZoneArgs {
    pub fn options(&self) -> Result<osecwatch_ingest::ColumnarOptions> {
        let zone = |z: &Option<String>, flag: &str| -> Result<Option<chrono_tz::Tz>> {
            z.as_deref()
                .map(|s| osecwatch_ingest::parse_zone(s, &format!("--{flag}")))
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        Ok(osecwatch_ingest::ColumnarOptions {
            timezone: zone(&self.timezone, "timezone")?.unwrap_or(chrono_tz::Tz::UTC),
            sender_timezone: zone(&self.sender_timezone, "sender-timezone")?,
        })
    }
}

struct ScanVisitor<'a> {
    engine: &'a mut Engine,
    /// Event time no single row can hijack (the same check as the service's).
    clock: EventClock,
    /// The wall clock at the start of the scan.
    wall: i64,
    guard: OrderGuard,
    reorder: Option<ReorderBuffer>,
    quarantine: QuarantineWriter<BufWriter<File>>,
    late_rejects: u64,
    decisions: [u64; 3],
    bar: &'a ProgressBar,
    seen: u64,
    error: Option<anyhow::Error>,
    /// Rows skipped as not outgoing payments, by reason.
    skipped: BTreeMap<String, u64>,
    /// Files: (this file's name, whether it comes from a directory or pattern, whether a
    /// row of it has been seen), the previous file's name, the latest time seen.
    file: (String, bool, bool),
    prev_file: String,
    latest: i64,
    window: i64,
}

impl ScanVisitor<'_> {
    fn process(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        match self.engine.process(row) {
            Ok(o) => {
                self.decisions[match o.decision {
                    Decision::Allow => 0,
                    Decision::Review => 1,
                    Decision::Block => 2,
                }] += 1
            }
            Err(e) => self.reject_late(loc(), e.to_string()),
        }
    }

    /// A payment the reorder buffer releases: its file position is gone, its id names it.
    fn release(&mut self, t: &osecwatch_model::Transaction) {
        self.process(&t.as_row(), &|| Location { source: "reorder buffer".into(), position: t.txn_id.clone() });
    }

    fn tick(&mut self) {
        self.tick_by(1);
    }

    fn tick_by(&mut self, n: u64) {
        let before = self.seen;
        self.seen += n;
        if before >> 18 != self.seen >> 18 {
            self.bar.set_position(self.seen);
        }
    }

    /// A new input begins; `grouped` names it when it comes from a directory or a pattern,
    /// whose files must not overlap in time beyond the reorder window.
    fn file_start(&mut self, name: String, grouped: bool, window: i64) {
        self.prev_file = std::mem::replace(&mut self.file, (name, grouped, false)).0;
        self.window = window;
    }

    /// The first row of a file of a directory or pattern must not go back in time beyond
    /// the reorder window: such files were written for other periods and overlap.
    #[inline]
    fn seen_time(&mut self, utc: i64) {
        if !self.file.2 {
            self.file.2 = true;
            if self.file.1 && self.latest != i64::MIN && utc < self.latest - self.window && self.error.is_none() {
                let (at, latest) = (Timestamp::new(utc, 0), Timestamp::new(self.latest, 0));
                self.error = Some(anyhow::anyhow!(
                    "{} starts at {at}, before the latest payment of {} ({latest}) by more than the reorder window ({} s): \
                     the files overlap in time; read them in time order, or allow more with --reorder-window",
                    self.file.0,
                    self.prev_file,
                    self.window
                ));
            }
        }
        self.latest = self.latest.max(utc);
    }

    fn reject_late(&mut self, location: Location, reason: String) {
        self.late_rejects += 1;
        let r = Rejection { location, reason, raw: String::new() };
        self.reject(r);
    }
}

impl Visitor for ScanVisitor<'_> {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        self.tick();
        self.seen_time(row.timestamp.utc);
        if let Err(reason) = self.clock.check(row.timestamp.utc, self.wall) {
            return self.reject_late(loc(), reason);
        }
        if let Some(mut rb) = self.reorder.take() {
            let res = rb.push(row, &mut |t| self.release(t));
            self.reorder = Some(rb);
            if let Err(reason) = res {
                self.reject_late(loc(), reason);
            }
            return;
        }
        match self.guard.check(row.timestamp.utc) {
            Ok(()) => self.process(row, loc),
            Err(reason) => self.reject_late(loc(), reason),
        }
    }

    fn pass<'a>(&mut self, at: Timestamp, row: &dyn Fn() -> TxnRow<'a>, loc: &dyn Fn() -> Location) {
        if self.reorder.is_some() {
            // The reorder buffer keeps whole payments, whatever the engine will make of them.
            return self.accept(&row(), loc);
        }
        self.tick();
        self.seen_time(at.utc);
        if let Err(reason) = self.clock.check(at.utc, self.wall) {
            return self.reject_late(loc(), reason);
        }
        match self.guard.check(at.utc) {
            Ok(()) => {
                self.engine.pass(at);
                self.decisions[0] += 1;
            }
            Err(reason) => self.reject_late(loc(), reason),
        }
    }

    fn pass_run(&mut self, count: u64, first: Timestamp, last: Timestamp) -> bool {
        // A run starting before the last payment has late rows, which get named one by one.
        if self.reorder.is_some() {
            return false;
        }
        self.seen_time(first.utc);
        let before = self.clock.clone();
        if !self.clock.check_run(first.utc, last.utc, self.wall) {
            return false;
        }
        if !self.guard.check_run(first.utc, last.utc) {
            self.clock = before;
            return false;
        }
        self.latest = self.latest.max(last.utc);
        self.tick_by(count);
        self.engine.pass_run(count, last);
        self.decisions[0] += count;
        true
    }

    fn reject(&mut self, r: Rejection) {
        if let Err(e) = self.quarantine.write(&r) {
            self.error.get_or_insert(anyhow::anyhow!("writing quarantine: {e}"));
        }
    }

    fn skip(&mut self, _: &dyn Fn() -> Location, reason: &str) {
        self.tick();
        osecwatch_ingest::count_reason(&mut self.skipped, reason);
    }
}

#[derive(Serialize)]
pub struct ScanSummary {
    rules: String,
    pack_version: String,
    inputs: Vec<String>,
    read: u64,
    accepted: u64,
    rejected: u64,
    /// Rows of a mapped export that are not outgoing payments, by reason.
    skipped: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    skipped_reasons: BTreeMap<String, u64>,
    decisions: BTreeMap<&'static str, u64>,
    alerts: u64,
    alerts_by_typology: BTreeMap<String, u64>,
    alerts_by_decision: BTreeMap<&'static str, u64>,
    senders_tracked: u64,
    recipients_tracked: u64,
    /// The customer file, if one was given: lines read, used, customers with several
    /// accounts, and the rejected lines with their reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_file: Option<CustomerFileSummary>,
    seconds: f64,
    payments_per_second: f64,
}

/// What a scan made of its customer file.
#[derive(Debug, Serialize)]
pub struct CustomerFileSummary {
    path: String,
    read: u64,
    used: u64,
    /// Customers with two or more accounts: the same-party links.
    linked_customers: usize,
    rejected: Vec<CustomerLineRejected>,
}

/// One rejected line of the customer file.
#[derive(Debug, Serialize)]
pub struct CustomerLineRejected {
    line: u64,
    reason: String,
}

impl ScanArgs {
    /// The scan's options from its flags (no seeds).
    pub fn options(&self) -> Result<ScanOptions<'_>> {
        let mut csv = CsvOptions::default();
        if let Some(n) = self.threads {
            csv.workers = if n <= 1 { 0 } else { n };
        }
        Ok(ScanOptions {
            window: self.reorder_window,
            lateness: self.allowed_lateness,
            clock: self.clock.settings()?,
            watchlist: self.watchlist.as_deref(),
            customers: self.customers.as_deref(),
            quiet: self.quiet,
            xml: self.xml.options()?,
            csv,
            map: self.map.as_deref().map(osecwatch_ingest::Mapping::from_file).transpose()?,
            columnar: self.zones.options()?,
            ..ScanOptions::default()
        })
    }
}

/// The inputs with directories and patterns expanded; `true` for files from an expansion.
fn expand(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for p in inputs {
        match osecwatch_ingest::expand_input(p)? {
            Some(files) => out.extend(files.into_iter().map(|f| (f, true))),
            None => out.push((p.clone(), false)),
        }
    }
    Ok(out)
}

pub fn run_scan(a: ScanArgs) -> Result<()> {
    let opts = a.options()?;
    let (summary, _) = scan(&a.input, a.rules.as_deref(), &a.out, &opts)?;
    print_scan(&summary, &a.out);
    Ok(())
}

pub fn print_scan(summary: &ScanSummary, out: &Path) {
    let mut o = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        o,
        "scanned {} payments with `{}` in {:.1} s ({:.2} M payments/s)",
        summary.read,
        summary.rules,
        summary.seconds,
        summary.payments_per_second / 1e6
    );
    if summary.skipped > 0 {
        let why: Vec<String> = summary.skipped_reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let _ = writeln!(
            o,
            "  read {} = accepted {} + rejected {} (see quarantine.csv) + skipped {} (not outgoing payments: {})",
            summary.read,
            summary.accepted,
            summary.rejected,
            summary.skipped,
            why.join("; ")
        );
    } else {
        let _ = writeln!(
            o,
            "  read {} = accepted {} + rejected {} (see quarantine.csv)",
            summary.read, summary.accepted, summary.rejected
        );
    }
    let _ = writeln!(
        o,
        "  decisions: allow {}, review {}, block {}",
        summary.decisions["allow"], summary.decisions["review"], summary.decisions["block"]
    );
    if let Some(c) = &summary.customer_file {
        let _ = writeln!(
            o,
            "  customer file: read {} = used {} + rejected {} (listed in scan_summary.json); {} customers with several accounts linked",
            c.read,
            c.used,
            c.rejected.len(),
            c.linked_customers
        );
    }
    let _ = writeln!(o, "  alerts: {}", summary.alerts);
    for (t, n) in &summary.alerts_by_typology {
        let _ = writeln!(o, "    {t}: {n}");
    }
    let _ = writeln!(o, "  wrote {}", out.join("alerts.jsonl").display());
    crate::out(&o);
}

/// One JSON object per line.
fn write_jsonl<T: Serialize>(path: &Path, items: impl IntoIterator<Item = T>) -> Result<()> {
    let mut w = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    for item in items {
        serde_json::to_writer(&mut w, &item)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// The engine's configuration beyond the pack: the watch list with buyer seeds, facilitator
/// seeds, and same-party links from the customer file (what the file gave, for the summary).
fn configure(engine: &mut Engine, o: &ScanOptions<'_>) -> Result<Option<CustomerFileSummary>> {
    let mut watch: Vec<String> = o.seed_buyers.clone();
    if let Some(w) = o.watchlist {
        let text = std::fs::read_to_string(w).with_context(|| format!("reading watch list {}", w.display()))?;
        watch.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    if !watch.is_empty() {
        engine.set_watchlist(watch);
    }
    if !o.seed_facilitators.is_empty() {
        engine.set_confirmed_facilitators(o.seed_facilitators.iter().cloned());
    }
    Ok(match o.customers {
        Some(p) => {
            let f = osecwatch_ingest::read_customer_file(p)?;
            let used = f.links.len() as u64;
            let linked_customers = engine.set_same_party(f.links);
            Some(CustomerFileSummary {
                path: p.display().to_string(),
                read: f.read,
                used,
                linked_customers,
                rejected: f
                    .rejected
                    .into_iter()
                    .map(|r| CustomerLineRejected { line: r.line, reason: r.reason })
                    .collect(),
            })
        }
        None => None,
    })
}

/// `alerts.jsonl`; returns the alerts counted by typology and by decision.
#[allow(clippy::type_complexity)]
fn write_alerts(
    path: &Path,
    alerts: &[osecwatch_engine::Alert],
) -> Result<(BTreeMap<String, u64>, BTreeMap<&'static str, u64>)> {
    let mut w = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let mut by_typ = BTreeMap::new();
    let mut by_dec = BTreeMap::new();
    for a in alerts {
        serde_json::to_writer(&mut w, a)?;
        w.write_all(b"\n")?;
        *by_typ.entry(a.typology.clone()).or_insert(0) += 1;
        *by_dec.entry(a.decision.as_str()).or_insert(0) += 1;
    }
    w.flush()?;
    Ok((by_typ, by_dec))
}

/// One SVG per network, `networks/NW-....svg`; pictures of an earlier scan into the same
/// folder are removed first, so the folder holds exactly this scan's networks.
fn write_network_pictures(dir: &Path, networks: &[osecwatch_engine::Network]) -> Result<()> {
    if dir.exists() {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = entry?.path();
            if p.extension().is_some_and(|x| x == "svg") {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for n in networks {
        let p = dir.join(format!("{}.svg", n.network_id));
        std::fs::write(&p, osecwatch_svg::network_svg(n)).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// How a scan reads its input, beyond the files and the pack.
#[derive(Default)]
pub struct ScanOptions<'a> {
    /// Seconds of reordering allowed (0: a late payment is quarantined).
    pub window: i64,
    /// Seconds a payment may be behind the latest one, processed in file order.
    pub lateness: i64,
    /// Limits on event time (future skew, earliest, advance).
    pub clock: ClockSettings,
    pub watchlist: Option<&'a Path>,
    /// The customer file behind same-party links.
    pub customers: Option<&'a Path>,
    pub quiet: bool,
    pub xml: osecwatch_ingest::XmlOptions,
    pub csv: CsvOptions,
    /// A bank export's mapping, when the inputs are one.
    pub map: Option<osecwatch_ingest::Mapping>,
    /// Time zones for typed timestamps (Parquet, Arrow IPC).
    pub columnar: osecwatch_ingest::ColumnarOptions,
    /// Buyer seeds: sender ids confirmed elsewhere, added to the watch list.
    pub seed_buyers: Vec<String>,
    /// Facilitator seeds: recipient ids confirmed elsewhere.
    pub seed_facilitators: Vec<String>,
}

/// Run the pack over the inputs and write the scan's files; returns the summary and the
/// engine (for `osecwatch network`, which writes the graph from it).
pub fn scan(
    inputs: &[PathBuf],
    rules: Option<&Path>,
    out: &Path,
    o: &ScanOptions<'_>,
) -> Result<(ScanSummary, Engine)> {
    let (window, quiet, xml, csv) = (o.window, o.quiet, &o.xml, o.csv);
    if window < 0 {
        bail!("--reorder-window must be 0 or more seconds");
    }
    if o.lateness < 0 {
        bail!("--allowed-lateness must be 0 or more seconds");
    }
    let pack = crate::rules::load_pack(rules)?;
    let pack_id = pack.meta.id.clone();
    let pack_version = pack.meta.version.clone();
    let mut engine = Engine::new(pack).context("rule pack rates")?;
    let customer_file = configure(&mut engine, o)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let qpath = out.join("quarantine.csv");
    let qfile = File::create(&qpath).with_context(|| format!("creating {}", qpath.display()))?;
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} scanning {pos} payments ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let start = Instant::now();
    let mut stats = IngestStats::default();
    // Reader threads sort out the payments the pack cannot care about.
    let filter = engine.relevance_filter();
    let mut v = ScanVisitor {
        engine: &mut engine,
        clock: EventClock::new(o.clock),
        wall: osecwatch_ingest::wall_clock_utc(),
        guard: OrderGuard::new(o.lateness),
        reorder: (window > 0).then(|| ReorderBuffer::new(window)),
        quarantine: QuarantineWriter::new(BufWriter::new(qfile))?,
        late_rejects: 0,
        decisions: [0; 3],
        bar: &bar,
        seen: 0,
        error: None,
        skipped: BTreeMap::new(),
        file: (String::new(), false, true),
        prev_file: String::new(),
        latest: i64::MIN,
        window: 0,
    };
    let read_opts = InputOptions { xml: xml.clone(), csv, columnar: o.columnar, map: o.map.clone() };
    for (input, grouped) in expand(inputs)? {
        v.file_start(input.display().to_string(), grouped, window);
        let s = read_input(&input, &read_opts, Some(&filter), &mut v)?;
        stats.add(s);
        if v.error.is_some() {
            break;
        }
    }
    if let Some(mut rb) = v.reorder.take() {
        rb.finish(&mut |t| v.release(t));
    }
    if let Some(e) = v.error.take() {
        return Err(e);
    }
    v.quarantine.flush()?;
    let late = v.late_rejects;
    let skipped_reasons = std::mem::take(&mut v.skipped);
    let decisions = v.decisions;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    // Rows refused after ingest (order, currency) move from accepted to rejected, so the
    // counts still reconcile.
    stats.accepted -= late;
    stats.rejected += late;
    debug_assert_eq!(stats.read, stats.accepted + stats.rejected + stats.skipped);
    let alerts = engine.alerts();
    let (by_typ, by_dec) = write_alerts(&out.join("alerts.jsonl"), &alerts)?;
    // Networks: connected groups of alerted buyers and facilitators, each with its picture.
    let networks = engine.networks();
    write_network_pictures(&out.join("networks"), &networks)?;
    write_jsonl(&out.join("networks.jsonl"), networks)?;
    // Score histories, so eval and tune can replay any threshold.
    write_jsonl(&out.join("scores.jsonl"), engine.score_tracks())?;
    let es = engine.stats();
    let summary = ScanSummary {
        rules: pack_id,
        pack_version,
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        read: stats.read,
        accepted: stats.accepted,
        rejected: stats.rejected,
        skipped: stats.skipped,
        skipped_reasons,
        decisions: BTreeMap::from([("allow", decisions[0]), ("review", decisions[1]), ("block", decisions[2])]),
        alerts: alerts.len() as u64,
        alerts_by_typology: by_typ,
        alerts_by_decision: by_dec,
        senders_tracked: es.senders_tracked,
        recipients_tracked: es.recipients_tracked,
        customer_file,
        seconds: secs,
        payments_per_second: stats.read as f64 / secs.max(1e-9),
    };
    std::fs::write(out.join("scan_summary.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok((summary, engine))
}
