//! `osecwatch convert`: any supported input to canonical CSV, JSON Lines or Parquet, with
//! the same quarantine as `scan`, so users can see what osecwatch understood.

use anyhow::{Context, Result};
use clap::Args;
use osecwatch_formats::{open_writer, Format, FormatError, TxnWriter};
use osecwatch_ingest::{
    read_input, IngestStats, InputOptions, Location, Mapping, QuarantineWriter, Rejection, Visitor,
};
use osecwatch_model::TxnRow;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

#[derive(Args)]
pub struct ConvertArgs {
    /// Input files: canonical CSV/JSONL/Parquet or ISO 20022 pacs.008/pain.001 XML.
    #[arg(long, num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// Output file; its extension (.csv, .jsonl, .parquet) chooses the format. Rejected
    /// rows go to `<out>.quarantine.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// Read the inputs as a bank's own CSV export through this mapping file (see `scan --map`).
    #[arg(long)]
    pub map: Option<PathBuf>,
    #[command(flatten)]
    pub xml: crate::xmlopts::XmlArgs,
    #[command(flatten)]
    pub zones: crate::scan::ZoneArgs,
}

struct ConvertVisitor {
    writer: Box<dyn TxnWriter>,
    quarantine: QuarantineWriter<BufWriter<File>>,
    error: Option<anyhow::Error>,
}

impl Visitor for ConvertVisitor {
    fn accept(&mut self, row: &TxnRow<'_>, _loc: &dyn Fn() -> Location) {
        if let Err(e) = self.writer.write(row) {
            self.error.get_or_insert(e.into());
        }
    }
    fn reject(&mut self, r: Rejection) {
        if let Err(e) = self.quarantine.write(&r) {
            self.error.get_or_insert(e.into());
        }
    }
}

pub fn run_convert(a: ConvertArgs) -> Result<()> {
    let format = Format::from_path(&a.out)
        .with_context(|| format!("--out {}: extension must be .csv, .jsonl or .parquet", a.out.display()))?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let qpath = PathBuf::from(format!("{}.quarantine.csv", a.out.display()));
    let q = File::create(&qpath).with_context(|| format!("creating {}", qpath.display()))?;
    let mut v = ConvertVisitor {
        writer: open_writer(&a.out, format)?,
        quarantine: QuarantineWriter::new(BufWriter::new(q))?,
        error: None,
    };
    let xml = a.xml.options()?;
    let opts = InputOptions {
        xml,
        map: a.map.as_deref().map(Mapping::from_file).transpose()?,
        columnar: a.zones.options()?,
        ..InputOptions::default()
    };
    let bar = crate::spinner("converting");
    let mut total = IngestStats::default();
    let mut lines = String::new();
    for input in &a.input {
        let s = read_input(input, &opts, None, &mut v)?;
        lines.push_str(&format!("  {}: {}\n", input.display(), counts(&s)));
        total.add(s);
    }
    if let Some(e) = v.error.take() {
        return Err(e);
    }
    v.writer.finish().map_err(|e: FormatError| anyhow::anyhow!(e))?;
    bar.finish_and_clear();
    v.quarantine.flush()?;
    crate::out(&format!(
        "converted {} file(s) into {}: {}\n{lines}  rejected rows: {}\n",
        a.input.len(),
        a.out.display(),
        counts(&total),
        qpath.display()
    ));
    Ok(())
}

/// `read N = accepted A + rejected R [+ skipped S]`.
pub fn counts(s: &IngestStats) -> String {
    let skipped =
        if s.skipped > 0 { format!(" + skipped {} (not outgoing payments)", s.skipped) } else { String::new() };
    format!("read {} = accepted {} + rejected {}{skipped}", s.read, s.accepted, s.rejected)
}
