//! Event-time order: the engine needs payments in time order. Input that is not gets
//! either a bounded reorder window or a clear rejection, never silent misordering.

use osecwatch_model::{Transaction, TxnRow};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The one definition of "too late", shared by `scan` (its allowed lateness and its reorder
/// window) and the service (its allowed lateness): a payment dated more than `allowed`
/// seconds behind the highest event time seen so far. Returns by how many seconds it is
/// behind that time, if it is too late.
#[inline]
pub fn too_late(utc: i64, highest: Option<i64>, allowed: i64) -> Option<i64> {
    let h = highest?;
    (utc < h.saturating_sub(allowed)).then(|| h - utc)
}

/// Passes rows through in file order with no buffering, like the service: a row dated more
/// than the allowed lateness (default 0: any row earlier than the latest before it) behind
/// the latest row is refused with a reason.
#[derive(Debug, Default)]
pub struct OrderGuard {
    highest: Option<i64>,
    allowed: i64,
}

impl OrderGuard {
    /// A guard that lets rows be up to `allowed_lateness` seconds behind the latest.
    pub fn new(allowed_lateness: i64) -> OrderGuard {
        OrderGuard { highest: None, allowed: allowed_lateness.max(0) }
    }

    /// Accept `utc` unless it is too late; else the reason.
    #[inline]
    pub fn check(&mut self, utc: i64) -> Result<(), String> {
        if let Some(by) = too_late(utc, self.highest, self.allowed) {
            return Err(late(by, self.allowed));
        }
        self.highest = Some(self.highest.map_or(utc, |h| h.max(utc)));
        Ok(())
    }

    /// Rows whose times never go back, from `first` to `last`: all pass if the first does
    /// (each is at or after the one before it, so none is further behind); false, with
    /// nothing changed, if the first is too late.
    pub fn check_run(&mut self, first: i64, last: i64) -> bool {
        debug_assert!(first <= last);
        if too_late(first, self.highest, self.allowed).is_some() {
            return false;
        }
        self.highest = Some(self.highest.map_or(last, |h| h.max(last)));
        true
    }
}

#[cold]
fn late(by_secs: i64, allowed: i64) -> String {
    if allowed == 0 {
        format!("out of time order: {by_secs}s before the latest payment; sort the input, or allow a reorder window or a lateness")
    } else {
        format!("late: {by_secs} s behind the latest payment, more than the allowed lateness ({allowed} s)")
    }
}

/// Holds rows for up to `window` seconds of event time and releases them sorted.
///
/// A row dated more than `window` seconds behind the latest row seen is too late ([`too_late`]:
/// the same definition as the service's allowed lateness); [`ReorderBuffer::push`] refuses it
/// with a reason. Every row it takes is at or after every row already released. Memory is bounded by
/// the number of rows inside one window.
pub struct ReorderBuffer {
    window: i64,
    heap: BinaryHeap<Reverse<Held>>,
    seq: u64,
    max_seen: i64,
}

/// A buffered row, ordered by (event time, arrival) so equal times keep arrival order.
struct Held {
    key: (i64, u64),
    txn: Transaction,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

impl ReorderBuffer {
    /// A buffer that holds payments up to `window_secs` to put them back in time order.
    pub fn new(window_secs: i64) -> Self {
        ReorderBuffer { window: window_secs.max(0), heap: BinaryHeap::new(), seq: 0, max_seen: i64::MIN }
    }

    /// Buffer a row; rows that became safe to release are passed to `out` in time order.
    pub fn push(&mut self, row: &TxnRow<'_>, out: &mut dyn FnMut(&Transaction)) -> Result<(), String> {
        let utc = row.timestamp.utc;
        let highest = (self.max_seen != i64::MIN).then_some(self.max_seen);
        if let Some(by) = too_late(utc, highest, self.window) {
            return Err(format!(
                "out of time order by more than the reorder window: {by} s behind the latest payment, the window is {} s",
                self.window
            ));
        }
        self.seq += 1;
        self.heap.push(Reverse(Held { key: (utc, self.seq), txn: row.to_owned_txn() }));
        self.max_seen = self.max_seen.max(utc);
        let horizon = self.max_seen.saturating_sub(self.window);
        while self.heap.peek().is_some_and(|Reverse(h)| h.key.0 <= horizon) {
            if let Some(Reverse(h)) = self.heap.pop() {
                out(&h.txn);
            }
        }
        Ok(())
    }

    /// Release everything still buffered (end of input).
    pub fn finish(&mut self, out: &mut dyn FnMut(&Transaction)) {
        while let Some(Reverse(h)) = self.heap.pop() {
            out(&h.txn);
        }
    }
}
