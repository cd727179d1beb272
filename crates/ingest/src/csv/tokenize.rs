//! Tokenised records: field bytes and spans, from the fast splitter or from `csv_core`
//! (the `csv` crate's own state machine) for blocks with quotes or bare carriage returns.

use super::split::{split_lf, Line};

/// Records of one chunk: field bytes, each record's field spans, and newline counts for
/// line numbers.
#[derive(Default)]
pub(super) struct Tokens {
    pub(super) text: Vec<u8>,
    pub(super) spans: Vec<(u32, u32)>,
    pub(super) recs: Vec<Rec>,
    /// Newlines in the input this chunk consumed.
    pub(super) newlines: u64,
}

#[derive(Clone, Copy)]
pub(super) struct Rec {
    /// Newlines in the chunk before the record's first byte.
    pub(super) line: u64,
    pub(super) first: u32,
    pub(super) n: u32,
}

/// [`split_lf`] into [`Tokens`].
pub(super) fn tokenize_lf(buf: &[u8], t: &mut Tokens) {
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
pub(super) fn tokenize_core(core: &mut csv_core::Reader, input: &[u8], eof: bool, t: &mut Tokens) -> usize {
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
