//! The fast path for typed columnar batches: every row's coded values (time, countries,
//! amount, currency, channel, merchant category) read straight from the typed arrays, with
//! no text in between, on worker threads, one Parquet row group per job; the prefilter asked
//! there too. The calling thread then hands rows to the visitor in file order: the rows the
//! prefilter wants in full, the others as runs ([`Visitor::pass_run`]). A row the fast path
//! cannot take (a refused row, or a shape it does not read, such as a float amount) is left
//! to the explaining per-row path, so the reasons are the same as everywhere else.

use crate::parquet::{row_text, Col, ColumnarOptions, RowBufs};
use crate::row::field::*;
use crate::row::{check_lengths, merchant_category, Coded, RowParser};
use crate::zones::ZoneCache;
use crate::{clip, IngestStats, Location, Prefilter, Rejection, Visitor};
use arrow_array::{Array, Int64Array};
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, TxnRow};

/// One batch's columns and what the fast path made of each row.
pub(crate) struct Prepared {
    pub(crate) cols: Vec<Col>,
    pub(crate) offsets: Option<Int64Array>,
    /// Per row: its coded values if the row is valid, else `None` (read again, slowly).
    pub(crate) coded: Vec<Option<Coded>>,
    /// Per row: whether the prefilter wants it in full (all true without a prefilter).
    pub(crate) wanted: Vec<bool>,
}

/// A coded column's parsed values, one per row (`None`: null or not a valid code, left to
/// the explaining path). Parsed column by column, each distinct value once where the
/// storage shows it: a dictionary entry once per batch; a short text (a view that holds
/// the whole value, as every country, currency and most channels are) once per run of the
/// same value.
fn codes<T: Copy>(col: &Col, rows: usize, parse: impl Fn(&[u8]) -> Option<T>) -> Vec<Option<T>> {
    match col {
        Col::View(a) => {
            let views = a.views();
            let mut last: Option<(u128, Option<T>)> = None;
            (0..rows)
                .map(|r| {
                    if a.is_null(r) {
                        return None;
                    }
                    let v = views[r];
                    // Up to 12 bytes the view is the value itself (length and bytes).
                    if (v as u32) > 12 {
                        return parse(a.value(r).as_bytes());
                    }
                    match last {
                        Some((k, t)) if k == v => t,
                        _ => {
                            let t = parse(a.value(r).as_bytes());
                            last = Some((v, t));
                            t
                        }
                    }
                })
                .collect()
        }
        Col::Dict(keys, values) => {
            let table: Vec<Option<T>> = (0..values.len()).map(|i| parse(values.value(i).as_bytes())).collect();
            (0..rows)
                .map(|r| if keys.is_null(r) { None } else { table.get(keys.value(r) as usize).copied().flatten() })
                .collect()
        }
        other => (0..rows).map(|r| other.text(r).and_then(|t| parse(t.as_bytes()))).collect(),
    }
}

/// Clears `ok` for rows whose value in a required free-text column is absent, empty or
/// starts with white space (those rows go to the explaining path, which says why).
fn require_visible(col: &Col, ok: &mut [bool]) {
    match col {
        Col::View(a) => {
            // A view holds the length in its low 32 bits and the value's first bytes next,
            // whether the value is inline or not: no look into the data buffers.
            for (k, v) in ok.iter_mut().zip(a.views().iter()) {
                *k &= (*v as u32) > 0 && !((*v >> 32) as u8).is_ascii_whitespace();
            }
            if let Some(n) = a.nulls() {
                for (r, k) in ok.iter_mut().enumerate() {
                    *k &= n.is_valid(r);
                }
            }
        }
        other => {
            for (r, k) in ok.iter_mut().enumerate() {
                *k &= other.text(r).and_then(|t| t.bytes().next()).is_some_and(|b| !b.is_ascii_whitespace());
            }
        }
    }
}

/// Every row's timestamp the fast way (`None`: null, out of range, or an offset column
/// value that is not an offset).
fn timestamps(p: &Prepared, rows: usize, o: &ColumnarOptions) -> Vec<Option<Timestamp>> {
    let mut zones = ZoneCache::default();
    // Row `r`'s offset column in seconds: `Some(None)` when it gives none, `None` when its
    // value is not an offset (at most 18 hours).
    let given = |r: usize| match p.offsets.as_ref().filter(|x| !x.is_null(r)).map(|x| x.value(r)) {
        None => Some(None),
        Some(m) if (-1080..=1080).contains(&m) => Some(Some(m as i32 * 60)),
        Some(_) => None,
    };
    match &p.cols[TIMESTAMP] {
        Col::Time(a, true) => {
            let zone = o.sender_timezone.unwrap_or(o.timezone);
            (0..rows)
                .map(|r| {
                    if a.is_null(r) {
                        return None;
                    }
                    let secs = a.value(r);
                    let off = match given(r)? {
                        Some(off) => off,
                        None => zones.at_instant(zone, secs)?,
                    };
                    Some(Timestamp::new(secs, (off / 60) as i16))
                })
                .collect()
        }
        Col::Time(a, false) => (0..rows)
            .map(|r| {
                if a.is_null(r) {
                    return None;
                }
                let secs = a.value(r);
                let off = zones.at_local(o.timezone, secs)?;
                let shown = given(r)?.unwrap_or(off);
                Some(Timestamp::new(secs - off as i64, (shown / 60) as i16))
            })
            .collect(),
        Col::Text(a) => {
            (0..rows).map(|r| if a.is_null(r) { None } else { Timestamp::parse_rfc3339(a.value(r)).ok() }).collect()
        }
        _ => vec![None; rows],
    }
}

/// Minor units of row `r`'s amount in a currency of exponent `exp` (`None`: null, not
/// exact in that currency, or a shape the fast path does not read).
#[inline]
fn minor_units(col: &Col, r: usize, exp: u32) -> Option<i64> {
    match col {
        Col::Decimal(a, scale) if !a.is_null(r) => {
            let v = a.value(r);
            let s = *scale as i32 - exp as i32;
            let m = if s == 0 {
                v
            } else if s > 0 {
                let d = 10i128.checked_pow(s as u32)?;
                (v % d == 0).then(|| v / d)?
            } else {
                v.checked_mul(10i128.checked_pow((-s) as u32)?)?
            };
            i64::try_from(m).ok()
        }
        Col::Int(a) if !a.is_null(r) => a.value(r).checked_mul(10i64.checked_pow(exp)?),
        Col::Text(a) if !a.is_null(r) => osecwatch_model::plain_decimal_minor(a.value(r).as_bytes(), exp as u8),
        _ => None,
    }
}

/// Row `r`'s merchant category: `Some(None)` for none, `None` if it is not a category.
#[inline]
fn category(col: &Col, r: usize) -> Option<Option<u16>> {
    match col {
        Col::Int(a) if a.is_null(r) => Some(None),
        Col::Int(a) => Some(Some(u16::try_from(a.value(r)).ok().filter(|m| *m <= 9999)?)),
        other => merchant_category(other.text(r).unwrap_or("").as_bytes()),
    }
}

/// Read each row of a batch the fast way, column by column, and ask the prefilter about
/// the valid ones. A row the fast way cannot take is `None`, left to the explaining path.
pub(crate) fn prepare(mut p: Prepared, rows: usize, o: &ColumnarOptions, filter: Option<&dyn Prefilter>) -> Prepared {
    let mut ok = vec![true; rows];
    for c in [TXN_ID, SENDER_ID, RECIPIENT_ID] {
        require_visible(&p.cols[c], &mut ok);
    }
    // Each row's free-text lengths are checked only when some value of the batch is over
    // the shortest limit.
    let short = p.cols.iter().all(|c| match c {
        Col::Text(a) => a.offsets().windows(2).all(|w| (w[1] - w[0]) as usize <= crate::row::MAX_ID_BYTES),
        // A view's low 32 bits are the value's length.
        Col::View(a) => a.views().iter().all(|v| (*v as u32) as usize <= crate::row::MAX_ID_BYTES),
        _ => true,
    });
    if !short {
        for (r, k) in ok.iter_mut().enumerate() {
            *k = *k && check_lengths(|c| p.cols[c].text(r).map_or(0, str::len)).is_ok();
        }
    }
    let country = |b: &[u8]| CountryCode::from_ascii(b);
    let senders = codes(&p.cols[SENDER_COUNTRY], rows, country);
    let recipients = codes(&p.cols[RECIPIENT_COUNTRY], rows, country);
    let currencies = codes(&p.cols[CURRENCY], rows, |b| {
        <[u8; 3]>::try_from(b).ok()?;
        CurrencyCode::parse(std::str::from_utf8(b).ok()?).ok()
    });
    let channels = codes(&p.cols[CHANNEL], rows, Channel::from_ascii);
    let times = timestamps(&p, rows, o);
    let (amount, mcc) = (&p.cols[AMOUNT], &p.cols[MERCHANT_CATEGORY]);
    p.coded = (0..rows)
        .map(|r| {
            if !ok[r] {
                return None;
            }
            let currency = currencies[r]?;
            let minor = minor_units(amount, r, currency.exponent() as u32)?;
            if minor <= 0 {
                return None;
            }
            Some(Coded {
                timestamp: times[r]?,
                sender_country: senders[r]?,
                recipient_country: recipients[r]?,
                amount: Money::new(minor, currency),
                channel: channels[r]?,
                merchant_category: category(mcc, r)?,
            })
        })
        .collect();
    p.wanted = match filter {
        None => vec![true; rows],
        Some(f) => (0..rows)
            .map(|r| match &p.coded[r] {
                Some(c) => {
                    // The texts only if the prefilter looks at the whole row.
                    let cols = &p.cols;
                    let row = move || {
                        let t = texts(cols, r);
                        // The texts borrow from the batch's arrays, not from `t`.
                        c.with_text(&t)
                    };
                    f.wants(c, &row)
                }
                None => true,
            })
            .collect(),
    };
    p
}

/// The free-text fields of a row, in canonical order (the coded positions, which
/// [`Coded::with_text`] does not read, left empty).
fn texts(cols: &[Col], r: usize) -> [&str; 13] {
    const FREE: [usize; 6] = [TXN_ID, SENDER_ID, SENDER_NAME, RECIPIENT_ID, RECIPIENT_NAME, REFERENCE];
    let mut f = [""; 13];
    for c in FREE {
        f[c] = cols[c].text(r).unwrap_or("");
    }
    f
}

/// Hands a prepared batch's rows to the visitor, in order.
pub(crate) struct Deliver<'s> {
    pub(crate) source: &'s str,
    pub(crate) row_no: u64,
    pub(crate) stats: IngestStats,
    pub(crate) parser: RowParser,
    pub(crate) bufs: RowBufs,
    pub(crate) filtered: bool,
}

impl<'s> Deliver<'s> {
    pub(crate) fn new(source: &'s str, filtered: bool) -> Self {
        Deliver {
            source,
            row_no: 0,
            stats: IngestStats::default(),
            parser: RowParser::default(),
            bufs: RowBufs::default(),
            filtered,
        }
    }

    pub(crate) fn batch(&mut self, p: &Prepared, o: &ColumnarOptions, v: &mut dyn Visitor) {
        let n = p.coded.len();
        let mut r = 0;
        while r < n {
            // A run of valid rows the prefilter does not want, in time order.
            if self.filtered && !p.wanted[r] && p.coded[r].is_some() {
                let start = r;
                let first = p.coded[r].as_ref().map(|c| c.timestamp).expect("checked");
                let mut last = first;
                while r + 1 < n && !p.wanted[r + 1] {
                    match &p.coded[r + 1] {
                        Some(c) if c.timestamp.utc >= last.utc => last = c.timestamp,
                        _ => break,
                    }
                    r += 1;
                }
                r += 1;
                let count = (r - start) as u64;
                let base = self.row_no;
                self.row_no += count;
                self.stats.read += count;
                self.stats.accepted += count;
                if !v.pass_run(count, first, last) {
                    for k in start..r {
                        let c = p.coded[k].as_ref().expect("a run holds valid rows");
                        let t = texts(&p.cols, k);
                        let at = base + 1 + (k - start) as u64;
                        let loc = || Location { source: self.source.to_string(), position: format!("row {at}") };
                        v.pass(c.timestamp, &|| c.with_text(&t), &loc);
                    }
                }
                continue;
            }
            self.row_no += 1;
            self.stats.read += 1;
            let at = self.row_no;
            let loc = || Location { source: self.source.to_string(), position: format!("row {at}") };
            match &p.coded[r] {
                Some(c) => {
                    self.stats.accepted += 1;
                    let t = texts(&p.cols, r);
                    v.accept(&c.with_text(&t), &loc);
                }
                None => {
                    let (f, problem) = row_text(&p.cols, p.offsets.as_ref(), r, o, &mut self.bufs);
                    let parsed: Result<TxnRow<'_>, String> = match problem {
                        Some(e) => Err(e),
                        None => self.parser.parse(&f),
                    };
                    match parsed {
                        Ok(row) => {
                            self.stats.accepted += 1;
                            v.accept(&row, &loc);
                        }
                        Err(reason) => {
                            self.stats.rejected += 1;
                            v.reject(Rejection { location: loc(), reason, raw: clip(&f.join(",")) });
                        }
                    }
                }
            }
            r += 1;
        }
    }
}

/// Decode row groups on `workers` threads (each takes the next group not yet taken, at most
/// a few groups ahead of delivery, so memory stays bounded) and deliver their rows on the
/// calling thread in file order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_groups(
    path: &std::path::Path,
    groups: usize,
    workers: usize,
    l: &crate::parquet::Layout,
    o: &ColumnarOptions,
    filter: Option<&dyn Prefilter>,
    d: &mut Deliver<'_>,
    v: &mut dyn Visitor,
) -> Result<(), crate::IngestError> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let fmt = |m: String| crate::IngestError::Format { path: path.to_path_buf(), message: m };
    // (group, batch in group): a prepared batch, or the group's end with its batch count.
    type Item = (usize, usize, Result<Option<Prepared>, String>);
    let next = AtomicUsize::new(0);
    let delivered = (Mutex::new(0usize), Condvar::new());
    let ahead = workers + 1;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(2 * workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, delivered) = (&next, &delivered);
            scope.spawn(move || loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= groups {
                    return;
                }
                {
                    let (lock, cv) = delivered;
                    let Ok(mut at) = lock.lock() else { return };
                    while g >= *at + ahead {
                        at = match cv.wait(at) {
                            Ok(a) => a,
                            Err(_) => return,
                        };
                    }
                }
                let reader = crate::parquet::open_parquet(path).map_err(|e| e.to_string()).and_then(|b| {
                    b.with_row_groups(vec![g])
                        .with_batch_size(crate::parquet::BATCH_ROWS)
                        .build()
                        .map_err(|e| e.to_string())
                });
                let mut n = 0;
                match reader {
                    Err(e) => {
                        let _ = tx.send((g, 0, Err(e)));
                        return;
                    }
                    Ok(reader) => {
                        for batch in reader {
                            let p = batch
                                .map_err(|e| e.to_string())
                                .and_then(|b| crate::parquet::prepare_batch(&b, l, o, filter));
                            let failed = p.is_err();
                            if tx.send((g, n, p.map(Some))).is_err() || failed {
                                return;
                            }
                            n += 1;
                        }
                    }
                }
                if tx.send((g, n, Ok(None))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<(usize, usize), Option<Prepared>> = BTreeMap::new();
        let (mut g, mut n) = (0usize, 0usize);
        let mut result = Ok(());
        for (group, batch, item) in rx.iter() {
            match item {
                Err(e) => {
                    result = Err(fmt(format!("row group {group}: {e}")));
                    break;
                }
                Ok(p) => {
                    pending.insert((group, batch), p);
                }
            }
            while let Some(p) = pending.remove(&(g, n)) {
                match p {
                    Some(p) => {
                        d.batch(&p, o, v);
                        n += 1;
                    }
                    None => {
                        g += 1;
                        n = 0;
                        let (lock, cv) = &delivered;
                        if let Ok(mut at) = lock.lock() {
                            *at = g;
                        }
                        cv.notify_all();
                    }
                }
            }
        }
        // Unblock workers waiting for delivery when it stopped early.
        if let Ok(mut at) = delivered.0.lock() {
            *at = usize::MAX / 2;
        }
        delivered.1.notify_all();
        drop(rx);
        result
    })
}
