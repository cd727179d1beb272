//! Validating records on a worker thread: the quick path for the usual canonical row, the
//! full check with its reasons for the rest, UTF-8 checks, and the prefilter's question.

use super::cut::Chunk;
use super::rows::{whole_row, Parsed, RowRef, Rows, TEXT_COLUMNS};
use super::split::{has_bare_cr, span_of, split_lf, Line, Records};
use super::tokenize::{tokenize_core, tokenize_lf, Tokens};
use super::Ctx;
use crate::clip;
use crate::row::{Coded, RowParser};
use osecwatch_model::CANONICAL_COLUMNS;

/// Per-thread state for validating chunks (buffers reused from chunk to chunk).
pub(super) struct Worker {
    pub(super) parser: RowParser,
    pub(super) core: csv_core::Reader,
    pub(super) tokens: Tokens,
    /// Comma positions of a record too wide for split_lf's fixed array.
    pub(super) wide: Vec<u32>,
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
    pub(super) fn parse(&mut self, chunk: Chunk, ctx: &Ctx, out: &mut Parsed) {
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
    pub(super) fn split_and_validate(&mut self, text: String, ctx: &Ctx, out: &mut Parsed) {
        out.rows.start(ctx.filter.is_some());
        out.newlines = self.split_into(&text, ctx, &mut out.rows);
        out.text = text;
    }

    /// Split `text` (a block [`split_lf`] can split) and validate its records into `out`;
    /// returns the newlines in it.
    pub(super) fn split_into(&mut self, text: &str, ctx: &Ctx, out: &mut Rows) -> u64 {
        let mut each = Validate { parser: &mut self.parser, spans: &mut self.tokens.spans, text, ctx, out };
        let newlines = split_lf(text.as_bytes(), &mut self.wide, &mut each);
        out.close();
        newlines
    }
}

/// Validates each record [`split_lf`] finds in `text` into `out`.
pub(super) struct Validate<'a> {
    pub(super) parser: &'a mut RowParser,
    pub(super) spans: &'a mut Vec<(u32, u32)>,
    pub(super) text: &'a str,
    pub(super) ctx: &'a Ctx<'a>,
    pub(super) out: &'a mut Rows,
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
pub(super) fn validate(parser: &mut RowParser, text: &str, line: u64, spans: &[(u32, u32)], ctx: &Ctx, out: &mut Rows) {
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
pub(super) unsafe fn quick_row(
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
    // No field of a record shorter than the shortest limit can be over its limit.
    if end - start > crate::row::MAX_ID_BYTES as u32 && crate::row::check_lengths(|i| t(i).len()).is_err() {
        return false;
    }
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
pub(super) fn raw_record(text: &[u8], spans: &[(u32, u32)]) -> String {
    let field = |s: &(u32, u32)| String::from_utf8_lossy(text.get(s.0 as usize..s.1 as usize).unwrap_or_default());
    clip(&spans.iter().map(field).collect::<Vec<_>>().join(","))
}

pub(super) fn field_count_reason(n: usize, ctx: &Ctx) -> String {
    format!("row has {n} fields, header has {}", ctx.headers)
}

pub(super) fn utf8_reason(column: &str) -> String {
    format!("field `{column}` is not valid UTF-8")
}

/// The chunk's text as a `String`. Records with bytes that are not UTF-8 are refused (as
/// the `csv` crate's `StringRecord` would: wrong field count first, then the first bad
/// field) and their bytes blanked, so the rest of the chunk stays usable.
pub(super) fn utf8_or_blank(text: Vec<u8>, t: &Tokens, ctx: &Ctx) -> (String, Vec<(usize, String, String)>) {
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
