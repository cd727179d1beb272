//! `osecwatch map check`: what a mapping makes of a bank's export, before a scan relies on
//! it: the columns and dialect, the first rows as understood, and every problem in words.

use anyhow::Result;
use clap::Subcommand;
use osecwatch_ingest::{mapped_columns, read_mapped, Location, Mapping, Rejection, Visitor};
use osecwatch_model::TxnRow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum MapCommand {
    /// Show the first rows of an export as the mapping understands them, and each problem.
    Check {
        /// The mapping file (TOML).
        #[arg(long)]
        map: PathBuf,
        /// The export to read.
        #[arg(long)]
        input: PathBuf,
        /// How many rows to show.
        #[arg(long, default_value_t = 5)]
        rows: usize,
    },
}

/// Keeps the first rows and rejections, and counts every reason.
struct Checker {
    want: usize,
    rows: Vec<(String, [String; 13])>,
    rejected: Vec<Rejection>,
    reasons: BTreeMap<String, u64>,
    skipped: BTreeMap<String, u64>,
    header: Vec<String>,
}

impl Visitor for Checker {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        if self.rows.len() < self.want {
            let t = row;
            let f = [
                t.txn_id.to_string(),
                t.timestamp.to_rfc3339(),
                t.sender_id.to_string(),
                t.sender_name.to_string(),
                t.sender_country.to_string(),
                t.recipient_id.to_string(),
                t.recipient_name.to_string(),
                t.recipient_country.to_string(),
                t.amount.to_decimal_string(),
                t.amount.currency.to_string(),
                t.channel.to_string(),
                t.reference.to_string(),
                t.merchant_category.map(|m| m.to_string()).unwrap_or_default(),
            ];
            self.rows.push((loc().position, f));
        }
    }
    fn reject(&mut self, r: Rejection) {
        osecwatch_ingest::count_reason(&mut self.reasons, &generalise(&r.reason, &self.header));
        if self.rejected.len() < self.want {
            self.rejected.push(r);
        }
    }
    fn skip(&mut self, _: &dyn Fn() -> Location, reason: &str) {
        osecwatch_ingest::count_reason(&mut self.skipped, reason);
    }
}

/// A reason with its quoted values replaced by `...` (column and field names kept), so
/// rows with the same problem count together.
fn generalise(reason: &str, header: &[String]) -> String {
    let keep = |s: &str| {
        s.chars().count() <= 1 || header.iter().any(|h| h == s) || osecwatch_model::CANONICAL_COLUMNS.contains(&s)
    };
    let parts: Vec<&str> = reason.split('`').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts were inside backquotes.
        out.push_str(if i % 2 == 1 && i + 1 < parts.len() && !keep(p) { "..." } else { p });
    }
    out
}

pub fn run_map(c: MapCommand) -> Result<()> {
    let MapCommand::Check { map, input, rows } = c;
    let m = Mapping::from_file(&map)?;
    let cols = mapped_columns(&input, &m)?;
    let mut o = String::new();
    let _ = writeln!(o, "{} read with mapping `{}` ({})", input.display(), m.name, cols.dialect);
    let _ = writeln!(o, "  columns: {}", cols.header.join(" | "));
    for (field, from) in &cols.fields {
        let _ = writeln!(o, "  {field:18} <- {from}");
    }
    if !cols.unused.is_empty() {
        let _ = writeln!(o, "  not used (list them under `ignore` if that is meant): {}", cols.unused.join(", "));
    }
    let mut ch = Checker {
        want: rows,
        rows: vec![],
        rejected: vec![],
        reasons: BTreeMap::new(),
        skipped: BTreeMap::new(),
        header: cols.header.clone(),
    };
    let s = read_mapped(&input, &m, &mut ch)?;
    let _ = writeln!(o, "\n{}", crate::convert::counts(&s));
    for (at, f) in &ch.rows {
        let _ = writeln!(o, "\n  {at}:");
        for (name, v) in osecwatch_model::CANONICAL_COLUMNS.iter().zip(f) {
            let _ = writeln!(o, "    {name:18} {v}");
        }
    }
    for (r, n) in &ch.skipped {
        let _ = writeln!(o, "  skipped {n}: {r}");
    }
    if !ch.rejected.is_empty() {
        let _ = writeln!(o, "\nproblems ({} rows rejected):", s.rejected);
        for (r, n) in &ch.reasons {
            let _ = writeln!(o, "  {n} x {r}");
        }
        let _ = writeln!(o, "first rejected rows:");
        for r in &ch.rejected {
            let _ = writeln!(o, "  {}: {}", r.location.position, r.reason);
        }
    }
    crate::out(&o);
    if s.read > 0 && s.accepted == 0 {
        anyhow::bail!("no row of {} was understood as a payment: check the mapping", input.display());
    }
    Ok(())
}
