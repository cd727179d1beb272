//! Validated rows of one block as the visitor will get them: rows one by one, with
//! rejections and runs of passed rows between them.

use super::check::Worker;
use super::Ctx;
use crate::row::Coded;
use crate::{IngestStats, Location, Rejection, Visitor};
use osecwatch_model::{Timestamp, TxnRow};

/// A validated row: the parsed values, and where its text fields lie in the chunk's text.
#[derive(Clone, Copy)]
pub(super) struct RowRef {
    pub(super) line: u64,
    /// txn_id, sender_id, sender_name, recipient_id, recipient_name, reference.
    pub(super) text: [(u32, u32); 6],
    pub(super) coded: Coded,
    /// What the prefilter said (true without one).
    pub(super) wanted: bool,
}

pub(super) const TEXT_COLUMNS: [usize; 6] = [0, 2, 3, 5, 6, 11];

/// The whole row from its coded values and its text: `text(k)` is column `TEXT_COLUMNS[k]`.
#[inline]
pub(super) fn whole_row<'a>(coded: &Coded, text: impl Fn(usize) -> &'a str) -> TxnRow<'a> {
    let mut f = [""; 13];
    for (k, c) in TEXT_COLUMNS.into_iter().enumerate() {
        f[c] = text(k);
    }
    coded.with_text(&f)
}

pub(super) struct Rejected {
    pub(super) line: u64,
    pub(super) reason: String,
    pub(super) raw: String,
}

/// Consecutive valid rows the prefilter did not want, none earlier than any row before it
/// in the chunk: the visitor may take them as one [`Visitor::pass_run`] instead of a call
/// per row, which is most of a scan's rows.
#[derive(Clone, Copy)]
pub(super) struct PassRun {
    pub(super) count: u64,
    pub(super) first: Timestamp,
    pub(super) last: Timestamp,
    /// Where the run's records lie in the chunk's text, and the line of the first, to hand
    /// them over one by one when the visitor does not take the run whole.
    pub(super) text: (u32, u32),
    pub(super) line: u64,
}

/// What interrupts the list of rows handed over one by one.
pub(super) enum Break {
    Reject(Rejected),
    Run(PassRun),
}

/// Validated rows in file order, as the visitor will get them: rows one by one, and
/// between them (at `before`, an index into `rows`) rejections and runs of passed rows.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) rows: Vec<RowRef>,
    pub(super) breaks: Vec<(usize, Break)>,
    /// Whether unwanted rows are gathered into runs (only where the run's text can be
    /// split again: blocks [`split_lf`] split).
    pub(super) runs: bool,
    pub(super) open: Option<PassRun>,
    /// The latest time of a row kept so far in the chunk.
    pub(super) high: i64,
}

impl Rows {
    pub(super) fn start(&mut self, runs: bool) {
        self.rows.clear();
        self.breaks.clear();
        self.runs = runs;
        self.open = None;
        self.high = i64::MIN;
    }

    /// A valid row whose record spans `start..end` of the chunk's text.
    #[inline]
    pub(super) fn row(&mut self, row: RowRef, start: u32, end: u32) {
        if row.wanted || !self.join_run(row.coded.timestamp, row.line, start, end) {
            self.keep(row);
        }
    }

    /// A row the prefilter did not want joins the open run, or opens one, if runs are
    /// gathered and its time does not go back; false leaves it to [`Rows::keep`].
    #[inline]
    pub(super) fn join_run(&mut self, at: Timestamp, line: u64, start: u32, end: u32) -> bool {
        if !self.runs || at.utc < self.high {
            return false;
        }
        self.high = at.utc;
        match &mut self.open {
            Some(r) => {
                r.count += 1;
                r.last = at;
                r.text.1 = end;
            }
            None => self.open = Some(PassRun { count: 1, first: at, last: at, text: (start, end), line }),
        }
        true
    }

    /// A row handed over on its own.
    #[inline]
    pub(super) fn keep(&mut self, row: RowRef) {
        self.close();
        self.high = self.high.max(row.coded.timestamp.utc);
        self.rows.push(row);
    }

    pub(super) fn reject(&mut self, line: u64, reason: String, raw: String) {
        self.close();
        self.breaks.push((self.rows.len(), Break::Reject(Rejected { line, reason, raw })));
    }

    /// End the open run (at the end of the chunk, or before a row that is not in it).
    pub(super) fn close(&mut self) {
        if let Some(r) = self.open.take() {
            self.breaks.push((self.rows.len(), Break::Run(r)));
        }
    }
}

/// A chunk after validation: every record became a row, a rejection or part of a run. Its
/// buffers travel back to be reused.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) text: String,
    pub(super) rows: Rows,
    pub(super) newlines: u64,
}

impl Parsed {
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.rows.start(false);
        self.newlines = 0;
    }
}

/// Hands validated rows to the visitor in file order and keeps the counts.
pub(super) struct Delivery {
    pub(super) source: String,
    /// Line number of the first line of the next chunk.
    pub(super) line_base: u64,
    pub(super) stats: IngestStats,
    /// For the runs a visitor wants row by row: they are split and checked again.
    pub(super) again: Worker,
    pub(super) again_rows: Rows,
}

impl Delivery {
    pub(super) fn new(source: String, line_base: u64) -> Delivery {
        let (again, again_rows) = (Worker::default(), Rows::default());
        Delivery { source, line_base, stats: IngestStats::default(), again, again_rows }
    }

    pub(super) fn deliver(&mut self, p: &mut Parsed, ctx: &Ctx, v: &mut dyn Visitor) {
        let base = self.line_base;
        let source = &self.source;
        let text = p.text.as_str();
        let rows = &p.rows.rows;
        let mut from = 0;
        let (mut accepted, mut rejected) = (rows.len() as u64, 0u64);
        // Breaks are rare next to rows: deliver the rows up to each, then it.
        for (before, b) in p.rows.breaks.drain(..) {
            for row in &rows[from..before] {
                hand_over(text, source, base, row, v);
            }
            from = before;
            match b {
                Break::Reject(r) => {
                    rejected += 1;
                    let location = Location { source: source.clone(), position: format!("line {}", base + r.line) };
                    v.reject(Rejection { location, reason: r.reason, raw: r.raw });
                }
                Break::Run(r) => {
                    accepted += r.count;
                    if !v.pass_run(r.count, r.first, r.last) {
                        // The same records again, one by one: they are valid and unwanted,
                        // so each comes back as a row for `pass`.
                        let part = &text[r.text.0 as usize..r.text.1 as usize];
                        let again = &mut self.again_rows;
                        again.start(false);
                        self.again.split_into(part, ctx, again);
                        debug_assert!(again.breaks.is_empty() && again.rows.len() as u64 == r.count);
                        for row in &again.rows {
                            hand_over(part, source, base + r.line, row, v);
                        }
                    }
                }
            }
        }
        for row in &rows[from..] {
            hand_over(text, source, base, row, v);
        }
        self.stats.read += accepted + rejected;
        self.stats.accepted += accepted;
        self.stats.rejected += rejected;
        self.line_base += p.newlines;
    }
}

/// One valid row to the visitor: `accept` if the prefilter wanted it, else `pass`.
#[inline]
pub(super) fn hand_over(text: &str, source: &str, base: u64, row: &RowRef, v: &mut dyn Visitor) {
    let txn = || whole_row(&row.coded, |k| text.get(row.text[k].0 as usize..row.text[k].1 as usize).unwrap_or(""));
    let line = base + row.line;
    let loc = || Location { source: source.to_string(), position: format!("line {line}") };
    if row.wanted {
        v.accept(&txn(), &loc);
    } else {
        v.pass(row.coded.timestamp, &txn, &loc);
    }
}
