//! Splitting a block with no quotes, 64 bytes at a time: vector compares mark commas and
//! newlines, and each record is handed on as soon as its newline is found.

/// Bits `i` set where `b[i]` is a comma (first) and where it is a newline (second): finding
/// delimiters 64 bytes at a time, with vector compares, is what makes splitting cheap.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(super) fn delimiters(b: &[u8; 64]) -> (u64, u64) {
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
pub(super) fn delimiters(b: &[u8; 64]) -> (u64, u64) {
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
pub(super) struct Line<'a> {
    pub(super) start: u32,
    pub(super) commas: &'a [u32],
    pub(super) end: u32,
}

impl Line<'_> {
    pub(super) fn fields(&self) -> usize {
        self.commas.len() + 1
    }

    /// Where field `i` starts and ends.
    pub(super) fn span(&self, i: usize) -> (u32, u32) {
        span_of(self.start, self.commas, self.end, i)
    }

    pub(super) fn spans_into(&self, out: &mut Vec<(u32, u32)>) {
        out.clear();
        out.extend((0..self.fields()).map(|i| self.span(i)));
    }
}

/// Field `i` of a record that starts at `start`, ends at `end` and has these commas.
#[inline(always)]
pub(super) fn span_of(start: u32, commas: &[u32], end: u32, i: usize) -> (u32, u32) {
    let a = if i == 0 { start } else { commas[i - 1] + 1 };
    let b = if i == commas.len() { end } else { commas[i] };
    (a, b)
}

/// Commas a record may have before [`split_lf`] stops keeping them in a fixed array and
/// finds them again on its own (rows of this format have 12).
pub(super) const INLINE_COMMAS: usize = 16;

/// Split a block with no quotes and no bare `\r`, calling `record(line, fields)` for each
/// record (`line`: newlines before it); returns the newlines in the block. Lines end at `\n`
/// (a `\r` before it dropped), fields at `,`; empty lines are skipped, as `csv` does.
///
/// Every field starts right after an ASCII delimiter (or at the block's start, a record
/// start) and ends at one (or at the block's end), so in a block that is valid UTF-8 no
/// field boundary falls inside a character.
#[inline]
pub(super) fn split_lf(buf: &[u8], wide: &mut Vec<u32>, record: &mut impl Records) -> u64 {
    // The current record's commas: the first INLINE_COMMAS in a fixed array (the index is
    // masked, so no bounds check), their count in `k`.
    let mut commas = [0u32; INLINE_COMMAS];
    let (mut k, mut start, mut nl, mut base) = (0usize, 0usize, 0u64, 0usize);
    // Inlined at both calls (a call per row costs more than the code it saves).
    #[inline(always)]
    pub(super) fn emit(
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
    pub(super) fn push_commas(commas: &mut [u32; INLINE_COMMAS], k: &mut usize, base: usize, mut mask: u64) {
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
pub(super) trait Records {
    fn record(&mut self, line: u64, l: Line<'_>);
}

impl<F: FnMut(u64, Line<'_>)> Records for F {
    fn record(&mut self, line: u64, l: Line<'_>) {
        self(line, l)
    }
}

/// Whether a block holds a `\r` that does not end a line: `csv` takes it as a record
/// terminator, which [`split_lf`] does not, so such a block goes to [`tokenize_core`].
pub(super) fn has_bare_cr(buf: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', buf).any(|i| buf.get(i + 1) != Some(&b'\n'))
}
