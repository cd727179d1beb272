//! The first look at a payment: can it matter to the pack at all?
//!
//! About 98 % of a bank's payments cannot (domestic card spending, rent, salaries). They
//! are allowed without touching state. The same test runs in two places: in
//! [`Engine::process`], and as a [`RelevanceFilter`] on the CSV reader's worker threads, so
//! that the engine's thread only counts those payments ([`Engine::pass`],
//! [`Engine::pass_run`]). A test checks that both agree payment by payment.

use crate::rules::Settings;
use crate::state::S_TRAVEL;
use crate::Engine;
use osecwatch_ingest::{Coded, RateTable};
use osecwatch_model::{Channel, Timestamp, TxnRow};
use rustc_hash::FxHashSet;

/// How the engine sees a payment before looking at any state.
pub(crate) struct FirstLook {
    /// The side-spending kind (`S_*`), if the payment is side spending.
    pub(crate) side_kind: Option<u8>,
    /// A transfer (not card or cash, no merchant) to a high-risk country abroad.
    pub(crate) corridor: bool,
    /// The sender is on the watch list.
    pub(crate) watch: bool,
}

impl FirstLook {
    /// A transfer to a high-risk country abroad, side spending (by MCC, or a card payment
    /// in a high-risk country abroad), or a watch-listed sender (`watch`): anything else is
    /// allowed without touching state.
    pub(crate) fn of(st: &Settings, row: &Coded, watch: bool) -> FirstLook {
        let cross_border = row.recipient_country != row.sender_country;
        let risky = cross_border && st.is_high_risk(row.recipient_country);
        let mcc = row.merchant_category.unwrap_or(0);
        let side_kind = match st.mcc_kind(mcc) {
            0 if mcc != 0 && risky => Some(S_TRAVEL),
            0 => None,
            k => Some(k),
        };
        let transfer = !matches!(row.channel, Channel::Card | Channel::Cash) && mcc == 0;
        FirstLook { side_kind, corridor: transfer && risky, watch }
    }

    pub(crate) fn watched(watchlist: &FxHashSet<Box<str>>, sender_id: &str) -> bool {
        !watchlist.is_empty() && watchlist.contains(sender_id)
    }

    pub(crate) fn relevant(&self) -> bool {
        self.corridor || self.side_kind.is_some() || self.watch
    }
}

/// Which payments the engine needs in full, as a value reader threads can share: the same
/// [`FirstLook`] as [`Engine::process`], plus any payment the rates cannot convert (so
/// `process` refuses it with the reason). The rest only need [`Engine::pass`].
pub struct RelevanceFilter {
    settings: Settings,
    rates: RateTable,
    watchlist: FxHashSet<Box<str>>,
}

impl RelevanceFilter {
    /// Apart, so that the common case (no watch list) saves no registers for it.
    #[inline(never)]
    fn watched<'a>(&self, row: &dyn Fn() -> TxnRow<'a>) -> bool {
        self.watchlist.contains(row().sender_id)
    }
}

impl osecwatch_ingest::Prefilter for RelevanceFilter {
    fn wants<'a>(&self, coded: &Coded, row: &dyn Fn() -> TxnRow<'a>) -> bool {
        FirstLook::of(&self.settings, coded, false).relevant()
            || !self.rates.knows(coded.amount.currency)
            || (!self.watchlist.is_empty() && self.watched(row))
    }
}

impl Engine {
    /// What a reader's worker threads can ask in place of the engine: which payments it
    /// needs to see in full. Take it after [`Engine::set_watchlist`].
    pub fn relevance_filter(&self) -> RelevanceFilter {
        RelevanceFilter {
            settings: self.pack.settings.clone(),
            rates: self.rates.clone(),
            watchlist: self.watchlist.clone(),
        }
    }

    /// A payment that [`RelevanceFilter`] said cannot matter: counted and allowed, exactly
    /// as [`Engine::process`] would, without looking further.
    pub fn pass(&mut self, at: Timestamp) {
        self.count(at);
        self.stats.allow += 1;
    }

    /// `count` payments in time order, up to `last`, that [`RelevanceFilter`] said cannot
    /// matter: as [`Engine::pass`] for each.
    pub fn pass_run(&mut self, count: u64, last: Timestamp) {
        self.stats.processed += count;
        self.stats.allow += count;
        self.last_utc = self.last_utc.max(last.utc);
    }

    pub(crate) fn count(&mut self, at: Timestamp) {
        self.stats.processed += 1;
        self.last_utc = self.last_utc.max(at.utc);
    }
}
