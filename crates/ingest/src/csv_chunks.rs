//! Canonical CSV, read in chunks that are tokenised and validated in parallel.
//!
//! Why not one `csv::Reader` loop: checking every field of every row (the quarantine
//! guarantee) is most of what a scan costs, and a record-at-a-time state machine keeps it
//! on one core. Here the file is cut into blocks at record boundaries; workers split and
//! validate blocks independently; the caller's visitor still sees rows (and rejections) on
//! the calling thread in file order, so nothing downstream changes.
//!
//! - A block without a double quote is cut after its last `\n` (outside quotes every `\n`
//!   ends a record) and split 64 bytes at a time with vector compares that mark commas and
//!   newlines (a `\r` before a newline is dropped); each record is validated as soon as its
//!   newline is found, while the block is in cache. This is the common case and the fast one:
//!   in a file with the canonical header, a record goes first through [`RowParser::quick`],
//!   and only what that does not take goes through the full check with its reasons.
//! - A block with a quote, or with a bare `\r` (a terminator for the `csv` crate),
//!   is tokenised by `csv_core`, the state machine under the `csv` crate, with the same
//!   settings, so quoting, escaped quotes and odd terminators mean exactly what they mean
//!   to every other `csv` user. The cut is then the end of the last complete record.
//! - A record longer than a block grows the block; memory is bounded by the longest
//!   record, not by the file.
//!
//! A caller may pass a [`Prefilter`]: workers ask it about every valid row, and rows it does
//! not want reach [`Visitor::pass`] instead of [`Visitor::accept`]. Consecutive unwanted rows
//! whose times never go back within their block are gathered into runs, offered whole to
//! [`Visitor::pass_run`]; a run the visitor declines is split and checked again and handed
//! to `pass` row by row, so a visitor sees the same rows either way.
//!
//! Line numbers are those of the line where a record starts (empty lines skipped), which is
//! what an analyst opening the file expects. (The `csv` crate's own positions count from
//! the end of the previous record, which is off by one in CRLF files.)

use crate::canonical::{map_columns, Coded, RowParser};
use crate::{clip, IngestError, IngestStats, Location, Prefilter, Rejection, Visitor};
use osecwatch_model::{Timestamp, TxnRow, CANONICAL_COLUMNS};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

/// How a CSV file is read.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    /// Bytes read per block (a block grows when one record is longer).
    pub block: usize,
    /// Threads that tokenise and validate blocks; 0 does everything on the calling thread.
    pub workers: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // On one core the hand-offs would only cost time.
        CsvOptions { block: 1 << 18, workers: if cores > 1 { cores } else { 0 } }
    }
}

/// Read canonical CSV (with a header row) from any reader; `path` names the source.
pub fn read_csv_with<R: Read + Send>(
    path: &Path,
    r: R,
    opts: CsvOptions,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    read_csv_filtered(path, r, opts, None, v)
}

/// [`read_csv_with`], asking `filter` on the worker threads which valid rows the visitor
/// wants in full; the others reach [`Visitor::pass`].
pub fn read_csv_filtered<R: Read + Send>(
    path: &Path,
    r: R,
    opts: CsvOptions,
    filter: Option<&dyn Prefilter>,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let mut chunker = Chunker::new(path, r, opts.block.max(64))?;
    let canonical = chunker.headers == 13 && (0..13).all(|c| chunker.pos[c] == Some(c));
    let ctx = Ctx { headers: chunker.headers, pos: chunker.pos, canonical, filter };
    let mut out = Delivery::new(path.display().to_string(), chunker.first_line);
    if opts.workers == 0 {
        let mut w = Worker::default();
        let mut shell = Parsed::default();
        while let Some(chunk) = chunker.next_chunk()? {
            w.parse(chunk, &ctx, &mut shell);
            out.deliver(&mut shell, &ctx, v);
            chunker.recycle(std::mem::take(&mut shell.text).into_bytes());
        }
        return Ok(out.stats);
    }
    read_parallel(chunker, &ctx, opts.workers, &mut out, v)?;
    Ok(out.stats)
}

/// What a worker needs to know about the file, and the visitor's prefilter.
#[derive(Clone, Copy)]
struct Ctx<'f> {
    headers: usize,
    pos: [Option<usize>; 13],
    /// The header is exactly the canonical columns in canonical order.
    canonical: bool,
    filter: Option<&'f dyn Prefilter>,
}

/// A block cut at a record boundary: raw bytes (no quotes; split by the fast path), or
/// records already tokenised by `csv_core` while finding the cut.
enum Chunk {
    Plain(Vec<u8>),
    Tokens(Tokens),
}

/// Records of one chunk: field bytes, each record's field spans, and newline counts for
/// line numbers.
#[derive(Default)]
struct Tokens {
    text: Vec<u8>,
    spans: Vec<(u32, u32)>,
    recs: Vec<Rec>,
    /// Newlines in the input this chunk consumed.
    newlines: u64,
}

#[derive(Clone, Copy)]
struct Rec {
    /// Newlines in the chunk before the record's first byte.
    line: u64,
    first: u32,
    n: u32,
}

/// A validated row: the parsed values, and where its text fields lie in the chunk's text.
#[derive(Clone, Copy)]
struct RowRef {
    line: u64,
    /// txn_id, sender_id, sender_name, recipient_id, recipient_name, reference.
    text: [(u32, u32); 6],
    coded: Coded,
    /// What the prefilter said (true without one).
    wanted: bool,
}

const TEXT_COLUMNS: [usize; 6] = [0, 2, 3, 5, 6, 11];

/// The whole row from its coded values and its text: `text(k)` is column `TEXT_COLUMNS[k]`.
#[inline]
fn whole_row<'a>(coded: &Coded, text: impl Fn(usize) -> &'a str) -> TxnRow<'a> {
    let mut f = [""; 13];
    for (k, c) in TEXT_COLUMNS.into_iter().enumerate() {
        f[c] = text(k);
    }
    coded.with_text(&f)
}

struct Rejected {
    line: u64,
    reason: String,
    raw: String,
}

/// Consecutive valid rows the prefilter did not want, none earlier than any row before it
/// in the chunk: the visitor may take them as one [`Visitor::pass_run`] instead of a call
/// per row, which is most of a scan's rows.
#[derive(Clone, Copy)]
struct PassRun {
    count: u64,
    first: Timestamp,
    last: Timestamp,
    /// Where the run's records lie in the chunk's text, and the line of the first, to hand
    /// them over one by one when the visitor does not take the run whole.
    text: (u32, u32),
    line: u64,
}

/// What interrupts the list of rows handed over one by one.
enum Break {
    Reject(Rejected),
    Run(PassRun),
}

/// Validated rows in file order, as the visitor will get them: rows one by one, and
/// between them (at `before`, an index into `rows`) rejections and runs of passed rows.
#[derive(Default)]
struct Rows {
    rows: Vec<RowRef>,
    breaks: Vec<(usize, Break)>,
    /// Whether unwanted rows are gathered into runs (only where the run's text can be
    /// split again: blocks [`split_lf`] split).
    runs: bool,
    open: Option<PassRun>,
    /// The latest time of a row kept so far in the chunk.
    high: i64,
}

impl Rows {
    fn start(&mut self, runs: bool) {
        self.rows.clear();
        self.breaks.clear();
        self.runs = runs;
        self.open = None;
        self.high = i64::MIN;
    }

    /// A valid row whose record spans `start..end` of the chunk's text.
    #[inline]
    fn row(&mut self, row: RowRef, start: u32, end: u32) {
        if row.wanted || !self.join_run(row.coded.timestamp, row.line, start, end) {
            self.keep(row);
        }
    }

    /// A row the prefilter did not want joins the open run, or opens one, if runs are
    /// gathered and its time does not go back; false leaves it to [`Rows::keep`].
    #[inline]
    fn join_run(&mut self, at: Timestamp, line: u64, start: u32, end: u32) -> bool {
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
    fn keep(&mut self, row: RowRef) {
        self.close();
        self.high = self.high.max(row.coded.timestamp.utc);
        self.rows.push(row);
    }

    fn reject(&mut self, line: u64, reason: String, raw: String) {
        self.close();
        self.breaks.push((self.rows.len(), Break::Reject(Rejected { line, reason, raw })));
    }

    /// End the open run (at the end of the chunk, or before a row that is not in it).
    fn close(&mut self) {
        if let Some(r) = self.open.take() {
            self.breaks.push((self.rows.len(), Break::Run(r)));
        }
    }
}

/// A chunk after validation: every record became a row, a rejection or part of a run. Its
/// buffers travel back to be reused.
#[derive(Default)]
struct Parsed {
    text: String,
    rows: Rows,
    newlines: u64,
}

impl Parsed {
    fn clear(&mut self) {
        self.text.clear();
        self.rows.start(false);
        self.newlines = 0;
    }
}

/// Hands validated rows to the visitor in file order and keeps the counts.
struct Delivery {
    source: String,
    /// Line number of the first line of the next chunk.
    line_base: u64,
    stats: IngestStats,
    /// For the runs a visitor wants row by row: they are split and checked again.
    again: Worker,
    again_rows: Rows,
}

impl Delivery {
    fn new(source: String, line_base: u64) -> Delivery {
        let (again, again_rows) = (Worker::default(), Rows::default());
        Delivery { source, line_base, stats: IngestStats::default(), again, again_rows }
    }

    fn deliver(&mut self, p: &mut Parsed, ctx: &Ctx, v: &mut dyn Visitor) {
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
fn hand_over(text: &str, source: &str, base: u64, row: &RowRef, v: &mut dyn Visitor) {
    let txn = || whole_row(&row.coded, |k| text.get(row.text[k].0 as usize..row.text[k].1 as usize).unwrap_or(""));
    let line = base + row.line;
    let loc = || Location { source: source.to_string(), position: format!("line {line}") };
    if row.wanted {
        v.accept(&txn(), &loc);
    } else {
        v.pass(row.coded.timestamp, &txn, &loc);
    }
}

/// Reads blocks and cuts them at record boundaries (on one thread: the cut needs to know
/// whether it is inside a quoted field, which depends on everything before it).
struct Chunker<R> {
    path: std::path::PathBuf,
    r: R,
    block: usize,
    carry: Vec<u8>,
    eof: bool,
    pool: Vec<Vec<u8>>,
    core: csv_core::Reader,
    headers: usize,
    pos: [Option<usize>; 13],
    first_line: u64,
}

impl<R: Read> Chunker<R> {
    fn new(path: &Path, r: R, block: usize) -> Result<Self, IngestError> {
        let mut c = Chunker {
            path: path.to_path_buf(),
            r,
            block,
            carry: Vec::new(),
            eof: false,
            pool: Vec::new(),
            core: csv_core::Reader::new(),
            headers: 0,
            pos: [None; 13],
            first_line: 1,
        };
        c.read_header()?;
        Ok(c)
    }

    fn format_error(&self, message: String) -> IngestError {
        IngestError::Format { path: self.path.clone(), message }
    }

    /// The header is the first record; read with the `csv` crate itself.
    fn read_header(&mut self) -> Result<(), IngestError> {
        let mut want = self.block;
        loop {
            let mut buf = std::mem::take(&mut self.carry);
            self.fill(&mut buf, want)?;
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(buf.as_slice());
            let mut rec = csv::ByteRecord::new();
            rdr.read_byte_record(&mut rec).map_err(|e| self.format_error(format!("header: {e}")))?;
            let end = rdr.position().byte() as usize;
            // The header is complete once its terminator was read (or the input ended).
            let complete = self.eof || (end < buf.len() || buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r'));
            if !complete {
                self.carry = buf;
                want = want.saturating_mul(2);
                continue;
            }
            let names: Vec<String> = rec.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
            self.pos = map_columns(&self.path, names.iter().map(String::as_str))?;
            self.headers = rec.len();
            self.first_line = 1 + memchr::memchr_iter(b'\n', &buf[..end]).count() as u64;
            self.carry = buf.split_off(end.min(buf.len()));
            return Ok(());
        }
    }

    /// Append input to `buf` until it holds `want` bytes or the input ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), IngestError> {
        while buf.len() < want && !self.eof {
            let need = want - buf.len();
            buf.reserve(need);
            // `read_to_end` reads into spare capacity without zeroing it first.
            match (&mut self.r).take(need as u64).read_to_end(buf) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(IngestError::Io { path: self.path.clone(), source }),
            }
        }
        Ok(())
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.pool.len() < 4 {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// The next block, cut after its last complete record; `None` at the end.
    fn next_chunk(&mut self) -> Result<Option<Chunk>, IngestError> {
        let mut want = self.block;
        loop {
            let mut buf = self.pool.pop().unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(&self.carry);
            self.carry.clear();
            self.fill(&mut buf, want)?;
            if buf.is_empty() {
                return Ok(None);
            }
            if memchr::memchr(b'"', &buf).is_none() {
                let cut = if self.eof { Some(buf.len()) } else { memchr::memrchr(b'\n', &buf).map(|i| i + 1) };
                if let Some(cut) = cut {
                    self.carry.extend_from_slice(&buf[cut..]);
                    buf.truncate(cut);
                    return Ok(Some(Chunk::Plain(buf)));
                }
            } else {
                let mut t = Tokens::default();
                let used = tokenize_core(&mut self.core, &buf, self.eof, &mut t);
                if used > 0 || self.eof {
                    self.carry.extend_from_slice(&buf[used..]);
                    self.recycle(buf);
                    return Ok(Some(Chunk::Tokens(t)));
                }
            }
            // One record is longer than the block: read on.
            self.carry = buf;
            want = self.carry.len().saturating_mul(2);
        }
    }
}

/// Bits `i` set where `b[i]` is a comma (first) and where it is a newline (second): finding
/// delimiters 64 bytes at a time, with vector compares, is what makes splitting cheap.
#[cfg(target_arch = "x86_64")]
#[inline]
fn delimiters(b: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let (mut commas, mut newlines) = (0u64, 0u64);
    // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions always exist; each
    // load reads 16 bytes inside `b` (k * 16 + 16 <= 64), and `loadu` needs no alignment.
    unsafe {
        let (comma, nl) = (_mm_set1_epi8(b',' as i8), _mm_set1_epi8(b'\n' as i8));
        for k in 0..4 {
            let v = _mm_loadu_si128(b.as_ptr().add(16 * k).cast());
            commas |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)) as u16 as u64) << (16 * k);
            newlines |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u16 as u64) << (16 * k);
        }
    }
    (commas, newlines)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn delimiters(b: &[u8; 64]) -> (u64, u64) {
    let (mut commas, mut newlines) = (0u64, 0u64);
    for (i, c) in b.iter().enumerate() {
        commas |= ((*c == b',') as u64) << i;
        newlines |= ((*c == b'\n') as u64) << i;
    }
    (commas, newlines)
}

/// One record as [`split_lf`] finds it: where it starts, where its commas are, and where it
/// ends (before the newline, and before a `\r` ahead of it).
#[derive(Clone, Copy)]
struct Line<'a> {
    start: u32,
    commas: &'a [u32],
    end: u32,
}

impl Line<'_> {
    fn fields(&self) -> usize {
        self.commas.len() + 1
    }

    /// Where field `i` starts and ends.
    fn span(&self, i: usize) -> (u32, u32) {
        span_of(self.start, self.commas, self.end, i)
    }

    fn spans_into(&self, out: &mut Vec<(u32, u32)>) {
        out.clear();
        out.extend((0..self.fields()).map(|i| self.span(i)));
    }
}

/// Field `i` of a record that starts at `start`, ends at `end` and has these commas.
#[inline(always)]
fn span_of(start: u32, commas: &[u32], end: u32, i: usize) -> (u32, u32) {
    let a = if i == 0 { start } else { commas[i - 1] + 1 };
    let b = if i == commas.len() { end } else { commas[i] };
    (a, b)
}

/// Commas a record may have before [`split_lf`] stops keeping them in a fixed array and
/// finds them again on its own (rows of this format have 12).
const INLINE_COMMAS: usize = 16;

/// Split a block with no quotes and no bare `\r`, calling `record(line, fields)` for each
/// record (`line`: newlines before it); returns the newlines in the block. Lines end at `\n`
/// (a `\r` before it dropped), fields at `,`; empty lines are skipped, as `csv` does.
///
/// Every field starts right after an ASCII delimiter (or at the block's start, a record
/// start) and ends at one (or at the block's end), so in a block that is valid UTF-8 no
/// field boundary falls inside a character.
#[inline]
fn split_lf(buf: &[u8], wide: &mut Vec<u32>, record: &mut impl Records) -> u64 {
    // The current record's commas: the first INLINE_COMMAS in a fixed array (the index is
    // masked, so no bounds check), their count in `k`.
    let mut commas = [0u32; INLINE_COMMAS];
    let (mut k, mut start, mut nl, mut base) = (0usize, 0usize, 0u64, 0usize);
    // Inlined at both calls (a call per row costs more than the code it saves).
    #[inline(always)]
    fn emit(
        record: &mut impl Records,
        wide: &mut Vec<u32>,
        buf: &[u8],
        (commas, k): (&[u32; INLINE_COMMAS], usize),
        (start, end, nl): (usize, usize, u64),
    ) {
        let (s, e) = (start as u32, end as u32);
        if k <= INLINE_COMMAS {
            record.record(nl, Line { start: s, commas: &commas[..k], end: e });
        } else {
            // A very wide record: find its commas again, into the growable list.
            wide.clear();
            wide.extend(memchr::memchr_iter(b',', &buf[start..end]).map(|c| (start + c) as u32));
            record.record(nl, Line { start: s, commas: wide, end: e });
        }
    }
    // Appends the positions of the commas in `mask` (bits of the block at `base`).
    #[inline(always)]
    fn push_commas(commas: &mut [u32; INLINE_COMMAS], k: &mut usize, base: usize, mut mask: u64) {
        while mask != 0 {
            commas[*k & (INLINE_COMMAS - 1)] = (base + mask.trailing_zeros() as usize) as u32;
            *k += 1;
            mask &= mask - 1;
        }
    }
    let mut padded = [0u8; 64];
    while base < buf.len() {
        let block: &[u8; 64] = match buf.get(base..base + 64).and_then(|b| b.try_into().ok()) {
            Some(b) => b,
            None => {
                // The last bytes, padded with zeros (never a delimiter).
                let rest = &buf[base..];
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        let (mut c, mut n) = delimiters(block);
        // Commas and newlines are taken apart: the commas up to each newline, without a
        // branch on which is which, then the newline.
        while n != 0 {
            let below = (n & n.wrapping_neg()) - 1;
            push_commas(&mut commas, &mut k, base, c & below);
            c &= !below;
            let p = base + n.trailing_zeros() as usize;
            let end = if p > start && buf[p - 1] == b'\r' { p - 1 } else { p };
            if end > start || k > 0 {
                emit(record, wide, buf, (&commas, k), (start, end, nl));
            }
            k = 0;
            start = p + 1;
            nl += 1;
            n &= n - 1;
        }
        push_commas(&mut commas, &mut k, base, c);
        base += 64;
    }
    // A last record without a newline (the end of the file).
    if buf.len() > start || k > 0 {
        emit(record, wide, buf, (&commas, k), (start, buf.len(), nl));
    }
    nl
}

/// What [`split_lf`] does with each record it finds.
trait Records {
    fn record(&mut self, line: u64, l: Line<'_>);
}

impl<F: FnMut(u64, Line<'_>)> Records for F {
    fn record(&mut self, line: u64, l: Line<'_>) {
        self(line, l)
    }
}

/// Whether a block holds a `\r` that does not end a line: `csv` takes it as a record
/// terminator, which [`split_lf`] does not, so such a block goes to [`tokenize_core`].
fn has_bare_cr(buf: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', buf).any(|i| buf.get(i + 1) != Some(&b'\n'))
}

/// [`split_lf`] into [`Tokens`].
fn tokenize_lf(buf: &[u8], t: &mut Tokens) {
    t.recs.clear();
    t.spans.clear();
    let mut wide = Vec::new();
    t.newlines = split_lf(buf, &mut wide, &mut |line, l: Line<'_>| {
        t.recs.push(Rec { line, first: t.spans.len() as u32, n: l.fields() as u32 });
        t.spans.extend((0..l.fields()).map(|i| l.span(i)));
    });
}

/// Tokenise complete records with `csv_core` (the `csv` crate's defaults); field bytes go
/// to `t.text`. Returns the bytes consumed: up to the end of the last complete record, or
/// everything when `eof`.
fn tokenize_core(core: &mut csv_core::Reader, input: &[u8], eof: bool, t: &mut Tokens) -> usize {
    use csv_core::ReadRecordResult as R;
    core.reset();
    t.spans.clear();
    t.recs.clear();
    // Unescaping never makes a field longer than its input.
    t.text.clear();
    t.text.resize(input.len(), 0);
    let mut ends: Vec<usize> = vec![0; 64];
    let (mut pos, mut out, mut nl, mut used, mut used_nl) = (0usize, 0usize, 0u64, 0usize, 0u64);
    'records: loop {
        // Skip empty lines here so a record's line is the one it starts on.
        while pos < input.len() && (input[pos] == b'\n' || input[pos] == b'\r') {
            nl += (input[pos] == b'\n') as u64;
            pos += 1;
        }
        if pos == input.len() && !eof {
            break;
        }
        if pos == input.len() {
            // Consumed through the end: trailing empty lines count as read.
            used = pos;
            used_nl = nl;
            break;
        }
        let (rec_out, rec_nl) = (out, nl);
        let mut nends = 0usize;
        loop {
            let (res, nin, nout, nend) = core.read_record(&input[pos..], &mut t.text[out..], &mut ends[nends..]);
            nl += memchr::memchr_iter(b'\n', &input[pos..pos + nin]).count() as u64;
            pos += nin;
            out += nout;
            nends += nend;
            match res {
                R::InputEmpty if pos < input.len() => continue,
                R::InputEmpty if !eof => break 'records, // an incomplete record: next chunk
                R::InputEmpty => continue,               // empty input tells csv_core the input ended
                R::OutputFull => t.text.resize(t.text.len() * 2 + 64, 0),
                R::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                R::Record => {
                    let first = t.spans.len() as u32;
                    let mut s = rec_out;
                    for e in &ends[..nends] {
                        t.spans.push((s as u32, (rec_out + e) as u32));
                        s = rec_out + e;
                    }
                    t.recs.push(Rec { line: rec_nl, first, n: nends as u32 });
                    used = pos;
                    used_nl = nl;
                    continue 'records;
                }
                R::End => {
                    used = pos;
                    used_nl = nl;
                    break 'records;
                }
            }
        }
    }
    // Records after the last complete one belong to the next chunk.
    let keep = t.spans.last().map_or(0, |s| s.1 as usize);
    t.text.truncate(keep);
    t.newlines = used_nl;
    used
}

/// Per-thread state for validating chunks (buffers reused from chunk to chunk).
struct Worker {
    parser: RowParser,
    core: csv_core::Reader,
    tokens: Tokens,
    /// Comma positions of a record too wide for split_lf's fixed array.
    wide: Vec<u32>,
}

impl Default for Worker {
    fn default() -> Self {
        // `csv_core::Reader::default()` has no state machine built; `new` builds it.
        Worker {
            parser: RowParser::default(),
            core: csv_core::Reader::new(),
            tokens: Tokens::default(),
            wide: Vec::new(),
        }
    }
}

impl Worker {
    /// Tokenise (if needed), check UTF-8 and validate every record of a chunk into `out`.
    fn parse(&mut self, chunk: Chunk, ctx: &Ctx, out: &mut Parsed) {
        out.clear();
        let mut t = std::mem::take(&mut self.tokens);
        let text = match chunk {
            Chunk::Tokens(mut given) => {
                std::mem::swap(&mut t, &mut given);
                t.text
            }
            Chunk::Plain(buf) if has_bare_cr(&buf) => {
                tokenize_core(&mut self.core, &buf, true, &mut t);
                t.text
            }
            // simdutf8 checks with vector instructions: several times faster than
            // `String::from_utf8` on text with accented names, and this runs on every byte.
            Chunk::Plain(buf) if simdutf8::basic::from_utf8(&buf).is_ok() => {
                // SAFETY: checked just above to be valid UTF-8.
                let text = unsafe { String::from_utf8_unchecked(buf) };
                self.tokens = t;
                return self.split_and_validate(text, ctx, out);
            }
            Chunk::Plain(buf) => {
                tokenize_lf(&buf, &mut t);
                buf
            }
        };
        t.text = Vec::new();
        let (owned, bad) = utf8_or_blank(text, &t, ctx);
        out.newlines = t.newlines;
        let mut bad = bad.into_iter().peekable();
        for (i, rec) in t.recs.iter().enumerate() {
            if let Some((_, reason, raw)) = bad.next_if(|b| b.0 == i) {
                out.rows.reject(rec.line, reason, raw);
                continue;
            }
            let spans = &t.spans[rec.first as usize..(rec.first + rec.n) as usize];
            validate(&mut self.parser, &owned, rec.line, spans, ctx, &mut out.rows);
        }
        out.text = owned;
        self.tokens = t;
    }

    /// The common case, in one pass while the block is in cache: split the block and
    /// validate each record as soon as its newline is found. Passed rows go into runs.
    fn split_and_validate(&mut self, text: String, ctx: &Ctx, out: &mut Parsed) {
        out.rows.start(ctx.filter.is_some());
        out.newlines = self.split_into(&text, ctx, &mut out.rows);
        out.text = text;
    }

    /// Split `text` (a block [`split_lf`] can split) and validate its records into `out`;
    /// returns the newlines in it.
    fn split_into(&mut self, text: &str, ctx: &Ctx, out: &mut Rows) -> u64 {
        let mut each = Validate { parser: &mut self.parser, spans: &mut self.tokens.spans, text, ctx, out };
        let newlines = split_lf(text.as_bytes(), &mut self.wide, &mut each);
        out.close();
        newlines
    }
}

/// Validates each record [`split_lf`] finds in `text` into `out`.
struct Validate<'a> {
    parser: &'a mut RowParser,
    spans: &'a mut Vec<(u32, u32)>,
    text: &'a str,
    ctx: &'a Ctx<'a>,
    out: &'a mut Rows,
}

impl Records for Validate<'_> {
    // Inlined into the splitting loop: a call per row, with the loop's state saved and
    // restored around it, cost about 40 instructions per row.
    #[inline(always)]
    fn record(&mut self, line: u64, l: Line<'_>) {
        let Validate { parser, spans, text, ctx, out } = self;
        let quick = match <&[u32; 12]>::try_from(l.commas) {
            // SAFETY: `l` is a record split_lf found in `text`.
            Ok(c) if ctx.canonical => unsafe { quick_row(parser, text, line, (l.start, c, l.end), ctx, out) },
            _ => false,
        };
        if !quick {
            l.spans_into(spans);
            validate(parser, text, line, spans, ctx, out)
        }
    }
}

/// Validate one record (its fields given as spans of `text`) into a row or a rejection.
fn validate(parser: &mut RowParser, text: &str, line: u64, spans: &[(u32, u32)], ctx: &Ctx, out: &mut Rows) {
    let raw = || raw_record(text.as_bytes(), spans);
    if spans.len() != ctx.headers {
        return out.reject(line, field_count_reason(spans.len(), ctx), raw());
    }
    let mut f: [&str; 13] = [""; 13];
    for (c, p) in ctx.pos.iter().enumerate() {
        if let Some(i) = p {
            match text.get(spans[*i].0 as usize..spans[*i].1 as usize) {
                Some(s) => f[c] = s,
                // Valid text overall, but a field boundary splits a character.
                None => return out.reject(line, utf8_reason(CANONICAL_COLUMNS[c]), raw()),
            }
        }
    }
    let row = match parser.parse(&f) {
        Ok(row) => row,
        Err(reason) => return out.reject(line, reason, raw()),
    };
    let wanted = ctx.filter.is_none_or(|f| f.wants_row(&row));
    let span = |c: usize| ctx.pos[c].map_or((0, 0), |i| spans[i]);
    let whole = (spans.first().map_or(0, |s| s.0), spans.last().map_or(0, |s| s.1));
    let row = RowRef { line, text: TEXT_COLUMNS.map(span), coded: Coded::of(&row), wanted };
    out.row(row, whole.0, whole.1);
}

/// The usual record of a block that [`split_lf`] split: every canonical column, in
/// canonical order, in the usual shape (see [`RowParser::quick`]); given as its start, its 12
/// commas and its end. Returns false, having added nothing to `out`, to leave the record to
/// [`validate`], which gives the same row or the reason.
///
/// # Safety
/// The record must be one [`split_lf`] found in `text`: then every field lies within `text`
/// and starts and ends next to an ASCII delimiter or at a record boundary, so never inside a
/// character. Fields are sliced without checking that again, because this runs on every row
/// and the checks cost about a tenth of a scan's instructions.
#[inline]
unsafe fn quick_row(
    parser: &mut RowParser,
    text: &str,
    line: u64,
    (start, commas, end): (u32, &[u32; 12], u32),
    ctx: &Ctx,
    out: &mut Rows,
) -> bool {
    let span = |i: usize| span_of(start, commas, end, i);
    let t = |i: usize| {
        let (a, b) = span(i);
        let (a, b) = (a as usize, b as usize);
        debug_assert!(a <= b && text.is_char_boundary(a) && text.is_char_boundary(b));
        // SAFETY: a <= b <= len, both on character boundaries (the caller's promise).
        unsafe { text.get_unchecked(a..b) }
    };
    let Some(coded) = parser.quick(|i| t(i).as_bytes()) else {
        return false;
    };
    let wanted = match ctx.filter {
        None => true,
        Some(filter) => filter.wants(&coded, &|| whole_row(&coded, |k| t(TEXT_COLUMNS[k]))),
    };
    // Most rows: passed, in a run, with no row record of their own.
    if !wanted && out.join_run(coded.timestamp, line, start, end) {
        return true;
    }
    // Element by element: `TEXT_COLUMNS.map(span)` costs 5 instructions per row more.
    let [a, b, c, d, e, f] = TEXT_COLUMNS;
    out.keep(RowRef { line, text: [span(a), span(b), span(c), span(d), span(e), span(f)], coded, wanted });
    true
}

/// A refused record as the quarantine shows it: its fields joined by commas, clipped.
fn raw_record(text: &[u8], spans: &[(u32, u32)]) -> String {
    let field = |s: &(u32, u32)| String::from_utf8_lossy(text.get(s.0 as usize..s.1 as usize).unwrap_or_default());
    clip(&spans.iter().map(field).collect::<Vec<_>>().join(","))
}

fn field_count_reason(n: usize, ctx: &Ctx) -> String {
    format!("row has {n} fields, header has {}", ctx.headers)
}

fn utf8_reason(column: &str) -> String {
    format!("field `{column}` is not valid UTF-8")
}

/// The chunk's text as a `String`. Records with bytes that are not UTF-8 are refused (as
/// the `csv` crate's `StringRecord` would: wrong field count first, then the first bad
/// field) and their bytes blanked, so the rest of the chunk stays usable.
fn utf8_or_blank(text: Vec<u8>, t: &Tokens, ctx: &Ctx) -> (String, Vec<(usize, String, String)>) {
    let mut bytes = match String::from_utf8(text) {
        Ok(s) => return (s, Vec::new()),
        Err(e) => e.into_bytes(),
    };
    let mut bad = Vec::new();
    for (i, rec) in t.recs.iter().enumerate() {
        let spans = &t.spans[rec.first as usize..(rec.first + rec.n) as usize];
        let field = |s: &(u32, u32)| &bytes[s.0 as usize..s.1 as usize];
        let Some(bad_field) = spans.iter().position(|s| std::str::from_utf8(field(s)).is_err()) else {
            continue;
        };
        let raw = raw_record(&bytes, spans);
        let reason = if spans.len() != ctx.headers {
            field_count_reason(spans.len(), ctx)
        } else {
            let col = ctx.pos.iter().position(|p| *p == Some(bad_field));
            utf8_reason(col.map_or("an ignored column", |c| CANONICAL_COLUMNS[c]))
        };
        bad.push((i, reason, raw));
        for s in spans {
            bytes[s.0 as usize..s.1 as usize].fill(b'?');
        }
    }
    // Whatever is left outside records (there should be nothing) is blanked too.
    loop {
        match String::from_utf8(bytes) {
            Ok(s) => return (s, bad),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let len = e.utf8_error().error_len().unwrap_or(e.as_bytes().len() - at);
                bytes = e.into_bytes();
                bytes[at..at + len].fill(b'?');
            }
        }
    }
}

/// One thread cuts blocks, `workers` threads validate them, the calling thread delivers
/// them in order. At most a fixed number of chunks is in flight, so memory stays bounded.
fn read_parallel<R: Read + Send>(
    mut chunker: Chunker<R>,
    ctx: &Ctx,
    workers: usize,
    out: &mut Delivery,
    v: &mut dyn Visitor,
) -> Result<(), IngestError> {
    let in_flight_max = 2 * workers + 2;
    let (job_tx, job_rx) = sync_channel::<(u64, Chunk, Parsed)>(workers);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = sync_channel::<(u64, Parsed)>(in_flight_max);
    let (back_tx, back_rx) = channel::<Parsed>();
    std::thread::scope(|scope| {
        let cutter = scope.spawn(move || -> Result<(), IngestError> {
            let mut shells: Vec<Parsed> = Vec::new();
            let (mut in_flight, mut seq) = (0usize, 0u64);
            loop {
                // Take back what was delivered; wait for it when too much is out.
                loop {
                    let back = if in_flight >= in_flight_max { back_rx.recv().ok() } else { back_rx.try_recv().ok() };
                    let Some(mut p) = back else { break };
                    in_flight -= 1;
                    chunker.recycle(std::mem::take(&mut p.text).into_bytes());
                    shells.push(p);
                }
                if in_flight >= in_flight_max {
                    return Ok(()); // the deliverer stopped
                }
                let Some(chunk) = chunker.next_chunk()? else { return Ok(()) };
                let shell = shells.pop().unwrap_or_default();
                if job_tx.send((seq, chunk, shell)).is_err() {
                    return Ok(());
                }
                seq += 1;
                in_flight += 1;
            }
        });
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || {
                let mut w = Worker::default();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, chunk, mut shell)) = job else { return };
                    w.parse(chunk, ctx, &mut shell);
                    if done_tx.send((seq, shell)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, Parsed> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, p) in done_rx.iter() {
            pending.insert(seq, p);
            while let Some(mut p) = pending.remove(&next) {
                out.deliver(&mut p, ctx, v);
                next += 1;
                let _ = back_tx.send(p);
            }
        }
        drop(back_tx);
        cutter.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
