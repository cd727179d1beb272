//! Event-time order: the engine needs payments in time order. Input that is not gets
//! either a bounded reorder window or a clear rejection, never silent misordering.

use osecwatch_model::{Transaction, TxnRow};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Passes rows through in time order with no buffering; a row earlier than the last one
/// passed is refused with a reason.
#[derive(Debug, Default)]
pub struct OrderGuard {
    last_utc: Option<i64>,
}

impl OrderGuard {
    /// Accept `utc` if it is not earlier than every time before it; else the reason.
    #[inline]
    pub fn check(&mut self, utc: i64) -> Result<(), String> {
        match self.last_utc {
            Some(last) if utc < last => Err(late(last - utc)),
            _ => {
                self.last_utc = Some(utc);
                Ok(())
            }
        }
    }

    /// Rows whose times never go back, from `first` to `last`: all pass if the first does
    /// (then `last` is the latest time); false, with nothing changed, if the first is late.
    pub fn check_run(&mut self, first: i64, last: i64) -> bool {
        debug_assert!(first <= last);
        if self.last_utc.is_some_and(|l| first < l) {
            return false;
        }
        self.last_utc = Some(last);
        true
    }
}

#[cold]
fn late(by_secs: i64) -> String {
    format!("out of time order: {by_secs}s before the previous payment; sort the input or allow a reorder window")
}

/// Holds rows for up to `window` seconds of event time and releases them sorted.
///
/// A row that arrives after rows more than `window` seconds younger were released cannot be
/// placed any more; [`ReorderBuffer::push`] refuses it with a reason. Memory is bounded by
/// the number of rows inside one window.
pub struct ReorderBuffer {
    window: i64,
    heap: BinaryHeap<Reverse<Held>>,
    seq: u64,
    max_seen: i64,
    released_up_to: Option<i64>,
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
        ReorderBuffer {
            window: window_secs.max(0),
            heap: BinaryHeap::new(),
            seq: 0,
            max_seen: i64::MIN,
            released_up_to: None,
        }
    }

    /// Buffer a row; rows that became safe to release are passed to `out` in time order.
    pub fn push(&mut self, row: &TxnRow<'_>, out: &mut dyn FnMut(&Transaction)) -> Result<(), String> {
        let utc = row.timestamp.utc;
        if let Some(r) = self.released_up_to {
            if utc < r {
                return Err(format!(
                    "out of time order by more than the reorder window ({} s): arrived {} s after a later payment was released",
                    self.window,
                    r - utc
                ));
            }
        }
        self.seq += 1;
        self.heap.push(Reverse(Held { key: (utc, self.seq), txn: row.to_owned_txn() }));
        self.max_seen = self.max_seen.max(utc);
        let horizon = self.max_seen.saturating_sub(self.window);
        while self.heap.peek().is_some_and(|Reverse(h)| h.key.0 <= horizon) {
            if let Some(Reverse(h)) = self.heap.pop() {
                self.released_up_to = Some(h.key.0);
                out(&h.txn);
            }
        }
        Ok(())
    }

    /// Release everything still buffered (end of input).
    pub fn finish(&mut self, out: &mut dyn FnMut(&Transaction)) {
        while let Some(Reverse(h)) = self.heap.pop() {
            self.released_up_to = Some(h.key.0);
            out(&h.txn);
        }
    }
}
