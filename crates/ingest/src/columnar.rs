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
    /// Every text value of the batch is within the shortest length limit, so rows need no
    /// length check of their own.
    pub(crate) short: bool,
    /// The coded columns' dictionaries, each entry checked once.
    pub(crate) dict: DictCodes,
}

/// A dictionary-encoded coded column's entries, parsed once per batch: position by key.
#[derive(Default)]
pub(crate) struct DictCodes {
    /// Per canonical column (countries, currency, channel): the parsed entries.
    tables: Vec<(usize, Vec<Coded1>)>,
}

/// One parsed dictionary entry (`None` inside: not a valid code).
#[derive(Clone, Copy)]
pub(crate) enum Coded1 {
    Country(Option<CountryCode>),
    Currency(Option<CurrencyCode>),
    Channel(Option<Channel>),
}

impl DictCodes {
    fn build(cols: &[Col]) -> DictCodes {
        let mut tables = Vec::new();
        for c in [SENDER_COUNTRY, RECIPIENT_COUNTRY, CURRENCY, CHANNEL] {
            if let Col::Dict(_, values) = &cols[c] {
                let parse = |i: usize| {
                    let b = values.value(i).as_bytes();
                    match c {
                        SENDER_COUNTRY | RECIPIENT_COUNTRY => Coded1::Country(CountryCode::from_ascii(b)),
                        CURRENCY => {
                            Coded1::Currency(std::str::from_utf8(b).ok().and_then(|s| CurrencyCode::parse(s).ok()))
                        }
                        _ => Coded1::Channel(Channel::from_ascii(b)),
                    }
                };
                tables.push((c, (0..values.len()).map(parse).collect()));
            }
        }
        DictCodes { tables }
    }

    /// The parsed entry of row `r` of canonical column `c` if it is dictionary-encoded
    /// (`None`: not a dictionary column, or a null, left to the text path).
    #[inline]
    fn get(&self, cols: &[Col], c: usize, r: usize) -> Option<Coded1> {
        let Col::Dict(keys, _) = &cols[c] else { return None };
        if keys.is_null(r) {
            return None;
        }
        // At most four tables: a scan is cheaper than a map.
        let (_, table) = self.tables.iter().find(|(col, _)| *col == c)?;
        table.get(keys.value(r) as usize).copied()
    }
}

/// The fast reading of one row, or `None` to leave it to the explaining path.
fn fast_row(
    p: &Prepared,
    r: usize,
    o: &ColumnarOptions,
    zones: &mut ZoneCache,
    last_cur: &mut Option<([u8; 3], CurrencyCode)>,
) -> Option<Coded> {
    let text = |c: usize| -> Option<&[u8]> {
        match &p.cols[c] {
            Col::Text(_) | Col::Dict(..) | Col::View(_) | Col::Absent => {
                Some(p.cols[c].text(r).unwrap_or("").as_bytes())
            }
            _ => None,
        }
    };
    let visible = |c: usize| text(c).and_then(|b| b.first()).is_some_and(|b| !b.is_ascii_whitespace());
    if !(visible(TXN_ID) && visible(SENDER_ID) && visible(RECIPIENT_ID)) {
        return None;
    }
    if !p.short {
        check_lengths(|c| text(c).map_or(0, <[u8]>::len)).ok()?;
    }
    let timestamp = match &p.cols[TIMESTAMP] {
        Col::Time(a, instant) if !a.is_null(r) => {
            let secs = a.value(r);
            let given = p.offsets.as_ref().filter(|x| !x.is_null(r)).map(|x| x.value(r));
            if *instant {
                let off = match given {
                    Some(m) if (-1080..=1080).contains(&m) => m as i32 * 60,
                    Some(_) => return None,
                    None => zones.at_instant(o.sender_timezone.unwrap_or(o.timezone), secs)?,
                };
                Timestamp::new(secs, (off / 60) as i16)
            } else {
                let off = zones.at_local(o.timezone, secs)?;
                let utc = secs - off as i64;
                let shown = match given {
                    Some(m) if (-1080..=1080).contains(&m) => m as i32 * 60,
                    Some(_) => return None,
                    None => off,
                };
                Timestamp::new(utc, (shown / 60) as i16)
            }
        }
        Col::Text(_) => Timestamp::parse_rfc3339(std::str::from_utf8(text(TIMESTAMP)?).ok()?).ok()?,
        _ => return None,
    };
    let sender_country = match p.dict.get(&p.cols, SENDER_COUNTRY, r) {
        Some(Coded1::Country(c)) => c?,
        _ => CountryCode::from_ascii(text(SENDER_COUNTRY)?)?,
    };
    let recipient_country = match p.dict.get(&p.cols, RECIPIENT_COUNTRY, r) {
        Some(Coded1::Country(c)) => c?,
        _ => CountryCode::from_ascii(text(RECIPIENT_COUNTRY)?)?,
    };
    let currency = match p.dict.get(&p.cols, CURRENCY, r) {
        Some(Coded1::Currency(c)) => c?,
        _ => {
            let cur = <[u8; 3]>::try_from(text(CURRENCY)?).ok()?;
            match last_cur {
                Some((k, c)) if *k == cur => *c,
                _ => {
                    let c = CurrencyCode::parse(std::str::from_utf8(&cur).ok()?).ok()?;
                    *last_cur = Some((cur, c));
                    c
                }
            }
        }
    };
    let exp = currency.exponent() as u32;
    let minor: i64 = match &p.cols[AMOUNT] {
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
            i64::try_from(m).ok()?
        }
        Col::Int(a) if !a.is_null(r) => a.value(r).checked_mul(10i64.checked_pow(exp)?)?,
        Col::Text(a) if !a.is_null(r) => osecwatch_model::plain_decimal_minor(a.value(r).as_bytes(), exp as u8)?,
        _ => return None,
    };
    if minor <= 0 {
        return None;
    }
    let channel = match p.dict.get(&p.cols, CHANNEL, r) {
        Some(Coded1::Channel(c)) => c?,
        _ => Channel::from_ascii(text(CHANNEL)?)?,
    };
    let merchant_category = match &p.cols[MERCHANT_CATEGORY] {
        Col::Int(a) if a.is_null(r) => None,
        Col::Int(a) => Some(u16::try_from(a.value(r)).ok().filter(|m| *m <= 9999)?),
        _ => merchant_category(text(MERCHANT_CATEGORY)?)?,
    };
    Some(Coded {
        timestamp,
        sender_country,
        recipient_country,
        amount: Money::new(minor, currency),
        channel,
        merchant_category,
    })
}

/// Read each row of a batch the fast way, and ask the prefilter about the valid ones.
pub(crate) fn prepare(mut p: Prepared, rows: usize, o: &ColumnarOptions, filter: Option<&dyn Prefilter>) -> Prepared {
    let mut zones = ZoneCache::default();
    let mut cur = None;
    p.dict = DictCodes::build(&p.cols);
    p.short = p.cols.iter().all(|c| match c {
        Col::Text(a) => a.offsets().windows(2).all(|w| (w[1] - w[0]) as usize <= crate::row::MAX_ID_BYTES),
        // A view's low 32 bits are the value's length.
        Col::View(a) => a.views().iter().all(|v| (*v as u32) as usize <= crate::row::MAX_ID_BYTES),
        _ => true,
    });
    p.coded = (0..rows).map(|r| fast_row(&p, r, o, &mut zones, &mut cur)).collect();
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
