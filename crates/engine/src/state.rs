//! What the engine remembers per entity, and how entities are named and forgotten.
//!
//! Only payments that can matter for OSEC create state: transfers to high-risk corridor
//! countries (sender side), small cross-border inbound payments (recipient side) and
//! side spending (VPN, cam sites, travel). Purely domestic everyday payments pass through
//! without touching memory, so state is bounded by the entities active in the corridors.
//!
//! Memory per active entity (documented in ARCHITECTURE.md): a sender keeps one
//! [`Pay`] (48 bytes + its txn id) per corridor payment of the last 365 days (at most
//! [`MAX_CORRIDOR`]) and one 16-byte record per side-spend payment of the last 365 days;
//! a recipient keeps one 24-byte [`Inbound`] per small inbound payment of the last 90 days
//! (at most [`MAX_INBOUND`]).
//!
//! Entity ids are interned ([`Interner`]) so state is a `Vec` indexed by a small integer;
//! slots of entities idle for longer than the longest window are swept and reused.

use crate::rules::EntitySide;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Seconds in a day: the unit of every feature window.
pub const DAY: i64 = 86_400;
/// Corridor payments a sender keeps at most (the oldest go first).
pub const MAX_CORRIDOR: usize = 2048;
/// Small inbound payments a recipient keeps at most (the oldest go first). Every payment to
/// a recipient reads all of them, so the cap is what a payment to a hub costs: at 4,096 a
/// million payments to one pickup agent took 36 s against 13 s for the same payments to a
/// million recipients; at 1,024 they cost the same. More than 1,024 small payments in 90 days
/// (eleven a day) is a hub whatever its exact count; alerts, networks and score histories on
/// all eight evaluation worlds are identical with either cap.
pub const MAX_INBOUND: usize = 1024;
/// Side-spend payments a sender keeps at most.
pub const MAX_SIDE: usize = 512;
/// Payers a recipient keeps edges for. A recipient paid by more is a hub (a merchant, an
/// agent's pooled account): it keeps the first ones, takes no new edges, and its network
/// risk is damped (see `network.rs`), so one hub never costs more than this per payment.
pub const MAX_PAYERS: usize = 256;

/// Entities without activity for this long are forgotten (the longest feature window).
pub(crate) const EXPIRY: i64 = 366 * DAY;

/// One corridor payment remembered by its sender.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pay {
    /// Event time (UTC seconds).
    pub utc: i64,
    /// Local day number (days since 1970 on the sender's wall clock).
    pub local_day: i32,
    /// Calendar month (year * 12 + month) of `local_day`, kept so the per-payment features
    /// do not redo calendar arithmetic for every remembered payment.
    pub month: i32,
    /// Day of the month of `local_day`.
    pub dom: u8,
    /// Amount in base-currency minor units.
    pub amount: i64,
    /// Interned recipient.
    pub recipient: u32,
    /// The recipient's country (ISO 3166 alpha-2 bytes).
    pub country: [u8; 2],
    /// `F_*` flags worked out when the payment was made.
    pub flags: u8,
    /// The payment's id, for alert evidence.
    pub txn_id: Box<str>,
}

/// [`Pay::flags`]: at most the pack's small amount.
pub const F_SMALL: u8 = 1;
/// [`Pay::flags`]: a round amount (in the base currency, or in PHP).
pub const F_ROUND: u8 = 2;
/// [`Pay::flags`]: the reference matches the pack's cover-story list.
pub const F_COVER: u8 = 4;
/// [`Pay::flags`]: sender and recipient share a surname.
pub const F_FAMILY: u8 = 8;
/// [`Pay::flags`]: made at night, sender-local.
pub const F_NIGHT: u8 = 16;
/// [`Pay::flags`]: the recipient's name is an organisation's.
pub const F_ORG: u8 = 32;

/// Side spending kind: VPN or anonymity services.
pub const S_VPN: u8 = 1;
/// Side spending kind: cam sites and adult dating.
pub const S_CAM: u8 = 2;
/// Side spending kind: flights, hotels, card spending in a high-risk country abroad.
pub const S_TRAVEL: u8 = 3;

/// What the engine keeps about one sender.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SenderState {
    /// FNV-1a of the lower-cased surname (0: none usable).
    pub surname: u64,
    /// Corridor payments of the last 365 days, oldest first.
    pub corridor: VecDeque<Pay>,
    /// Side-spend payments of the last 365 days: (UTC time, `S_*` kind).
    pub side: VecDeque<(i64, u8)>,
    /// Event time of the sender's latest relevant payment.
    pub last_seen: i64,
    /// Whether the sender was on the watch list at its latest payment.
    pub on_watchlist: bool,
    /// Whether the sender's buyer score was at or above review at its last payment (for
    /// the network rule on its recipients).
    pub alert_active: bool,
    /// The sender's buyer risk from its own evidence at its last scoring (0-1: the best
    /// corroborated score of rules that read no network feature, / 100). What it passes to
    /// its recipients, so network points never echo back through the graph.
    pub own_risk: f32,
    /// The customer this account belongs to, if a same-party link names it with other
    /// accounts: index + 1 into the engine's parties (0: none). Configuration, not state:
    /// set again from the links after a restore, never in a snapshot.
    #[serde(skip)]
    pub party: u32,
}

/// One sender's payments to one recipient over the 365-day horizon: an edge of the
/// bipartite payment graph, kept on the recipient.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct PayerEdge {
    /// Interned sender.
    pub sender: u32,
    /// Event time of the first and the latest corridor payment on this edge.
    pub first: i64,
    /// Event time of the latest payment.
    pub last: i64,
    /// Corridor payments on the edge.
    pub count: u32,
    /// Of those, at night (sender-local).
    pub night: u32,
    /// Their sum in base-currency minor units.
    pub amount: i64,
    /// Sender and recipient share a surname (a family hint: family payers pass no risk).
    pub family: bool,
}

/// One small cross-border payment remembered by its recipient.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Inbound {
    /// Event time (UTC seconds).
    pub utc: i64,
    /// Interned sender.
    pub sender: u32,
    /// Amount in base-currency minor units.
    pub amount: i64,
    /// Sender and recipient share a surname.
    pub family: bool,
    /// Made at night, sender-local.
    pub night: bool,
}

/// What the engine keeps about one recipient.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RecipientState {
    /// FNV-1a of the lower-cased surname (0: none usable).
    pub surname: u64,
    /// The name carries one of the pack's organisation markers.
    pub is_org: bool,
    /// Small inbound payments of the last 90 days, oldest first.
    pub inbound: VecDeque<Inbound>,
    /// Event time of the latest payment to this recipient.
    pub last_seen: i64,
    /// Distinct unrelated senders in the window at the last update (used by senders'
    /// common-beneficiary feature without rescanning every recipient).
    pub unrelated_senders: u32,
    /// Its payers over 365 days (at most [`MAX_PAYERS`]).
    pub payers: Vec<PayerEdge>,
    /// More payers came than [`MAX_PAYERS`]: a hub.
    pub hub: bool,
    /// Network risk from all its payers at its latest payment (see `network.rs`).
    pub network_risk: f32,
    /// It has crossed the known-facilitator line (its earlier payers were re-scored then).
    pub known: bool,
    /// FNV-1a of its whole name (0: none usable), and its country: with a shared payer,
    /// what links two wallets of one holder.
    #[serde(default)]
    pub name: u64,
    /// See `name`.
    #[serde(default)]
    pub country: [u8; 2],
    /// An older wallet of the same holder (same name and country, paid by a customer who
    /// pays this one): its slot + 1 (0: none).
    #[serde(default)]
    pub wallet_of: u32,
}

impl SenderState {
    /// Drop what has left the 365-day window or exceeds the caps.
    pub fn prune(&mut self, now: i64) {
        while self.corridor.front().is_some_and(|p| p.utc < now - 365 * DAY) || self.corridor.len() > MAX_CORRIDOR {
            self.corridor.pop_front();
        }
        while self.side.front().is_some_and(|s| s.0 < now - 365 * DAY) || self.side.len() > MAX_SIDE {
            self.side.pop_front();
        }
        // A payment older than 90 days is never alert evidence again (`alerts.rs` takes the
        // last 90 days), so its id is let go: about three quarters of a year's ids, the
        // largest heap share of a sender. Walking back from the 90-day boundary stops at the
        // first id already let go, so each id is visited once.
        let mut i = self.corridor.partition_point(|p| p.utc < now - 90 * DAY);
        while i > 0 {
            i -= 1;
            let p = &mut self.corridor[i];
            if p.txn_id.is_empty() {
                break;
            }
            p.txn_id = Box::default();
        }
    }
}

impl RecipientState {
    /// Drop what has left the 90-day window or exceeds the cap.
    pub fn prune(&mut self, now: i64) {
        while self.inbound.front().is_some_and(|p| p.utc < now - 90 * DAY) || self.inbound.len() > MAX_INBOUND {
            self.inbound.pop_front();
        }
    }
}

/// Interns entity ids so state is keyed by small integers; slots of expired entities are
/// reused. Each id is stored once, in `names`: the table holds only slot numbers and finds
/// an id by hashing it and comparing with `names[slot]` (a map keyed by the id would keep a
/// second copy of every id, about 60 bytes an entity).
#[derive(Default)]
pub(crate) struct Interner {
    table: hashbrown::HashTable<u32>,
    /// Id per slot; empty for a free slot.
    pub(crate) names: Vec<Box<str>>,
    pub(crate) free: Vec<u32>,
}

/// Returned by [`Interner::get_or_insert`]: the slot and whether it is new (its state must
/// be initialised).
pub(crate) enum Slot {
    Existing(u32),
    Fresh(u32),
}

fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id)
}

impl Interner {
    /// The slot of `id`, if it has one.
    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        self.table.find(id_hash(id), |&i| &*self.names[i as usize] == id).copied()
    }

    pub(crate) fn get_or_insert(&mut self, id: &str) -> Slot {
        let names = &self.names;
        let entry = self.table.entry(id_hash(id), |&i| &*names[i as usize] == id, |&i| id_hash(&names[i as usize]));
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => Slot::Existing(*e.get()),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = match self.free.last() {
                    Some(&i) => i,
                    None => names.len() as u32,
                };
                v.insert(i);
                if self.free.pop().is_some() {
                    self.names[i as usize] = id.into();
                } else {
                    self.names.push(id.into());
                }
                Slot::Fresh(i)
            }
        }
    }

    pub(crate) fn remove(&mut self, i: u32) {
        let names = &self.names;
        if let Ok(e) = self.table.find_entry(id_hash(&names[i as usize]), |&j| j == i) {
            e.remove();
        }
        self.names[i as usize] = Box::default();
        self.free.push(i);
    }

    pub(crate) fn live(&self) -> usize {
        self.table.len()
    }

    /// Rebuild from the slot list of a snapshot (empty names are free slots).
    pub(crate) fn from_slots(names: Vec<Box<str>>, free: Vec<u32>) -> Interner {
        let mut table = hashbrown::HashTable::with_capacity(names.len());
        for (i, n) in names.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
            table.insert_unique(id_hash(n), i as u32, |&j| id_hash(&names[j as usize]));
        }
        Interner { table, names, free }
    }
}

/// Every entity the engine holds state for: the interned ids and the state per slot, for
/// both sides.
#[derive(Default)]
pub(crate) struct Entities {
    pub(crate) senders: Interner,
    pub(crate) sender_state: Vec<SenderState>,
    pub(crate) recipients: Interner,
    pub(crate) recipient_state: Vec<RecipientState>,
}

/// Give `id` a slot in `interner`, initialising its state with `init` if the slot is new
/// (pushed at the end, or reused after a sweep).
fn slot_for<S>(interner: &mut Interner, states: &mut Vec<S>, id: &str, init: impl FnOnce() -> S) -> u32 {
    match interner.get_or_insert(id) {
        Slot::Existing(i) => i,
        Slot::Fresh(i) => {
            if i as usize == states.len() {
                states.push(init());
            } else {
                states[i as usize] = init();
            }
            i
        }
    }
}

impl Entities {
    /// The sender's slot; a new sender starts with its surname hash.
    pub(crate) fn sender_slot(&mut self, id: &str, surname: u64) -> u32 {
        slot_for(&mut self.senders, &mut self.sender_state, id, || SenderState { surname, ..Default::default() })
    }

    /// The recipient's slot; a new recipient starts with its surname hash and whether its
    /// name is an organisation's (`is_org` is only asked for a new recipient).
    pub(crate) fn recipient_slot(&mut self, id: &str, surname: u64, is_org: impl FnOnce() -> bool) -> u32 {
        slot_for(&mut self.recipients, &mut self.recipient_state, id, || RecipientState {
            surname,
            is_org: is_org(),
            ..Default::default()
        })
    }

    /// The id of an interned entity.
    pub(crate) fn name(&self, side: EntitySide, entity: u32) -> &str {
        match side {
            EntitySide::Sender => &self.senders.names[entity as usize],
            EntitySide::Recipient => &self.recipients.names[entity as usize],
        }
    }

    /// Forget entities idle since before `now - EXPIRY`.
    pub(crate) fn sweep(&mut self, now: i64) {
        for i in 0..self.sender_state.len() {
            if !self.senders.names[i].is_empty() && self.sender_state[i].last_seen < now - EXPIRY {
                self.sender_state[i] = SenderState::default();
                self.senders.remove(i as u32);
            }
        }
        let mut freed = false;
        for i in 0..self.recipient_state.len() {
            if !self.recipients.names[i].is_empty() && self.recipient_state[i].last_seen < now - EXPIRY {
                self.recipient_state[i] = RecipientState::default();
                self.recipients.remove(i as u32);
                freed = true;
            }
        }
        // A link to a wallet whose state has gone would point at whatever reuses its slot.
        if freed {
            for i in 0..self.recipient_state.len() {
                let w = self.recipient_state[i].wallet_of;
                if w != 0 && self.recipients.names[w as usize - 1].is_empty() {
                    self.recipient_state[i].wallet_of = 0;
                }
            }
        }
    }
}

/// Per-(entity, typology) records kept in creation order, found by entity id without
/// allocating: the index is keyed by the id (once per entity), the typology is a short
/// list under it. Records outlive the entity's expired state.
pub(crate) struct ByEntity<T> {
    /// Per side (sender, recipient): entity id -> (typology, position in `items`).
    index: [EntityIndex; 2],
    pub(crate) items: Vec<T>,
}

type EntityIndex = FxHashMap<Box<str>, Vec<(usize, usize)>>;

impl<T> Default for ByEntity<T> {
    fn default() -> Self {
        ByEntity { index: Default::default(), items: Vec::new() }
    }
}

impl<T> ByEntity<T> {
    pub(crate) fn find(&self, side: EntitySide, id: &str, typology: usize) -> Option<usize> {
        self.index[side.index()].get(id)?.iter().find(|(t, _)| *t == typology).map(|(_, i)| *i)
    }

    pub(crate) fn insert(&mut self, side: EntitySide, id: &str, typology: usize, item: T) -> usize {
        let i = self.items.len();
        self.items.push(item);
        match self.index[side.index()].get_mut(id) {
            Some(list) => list.push((typology, i)),
            None => {
                self.index[side.index()].insert(id.into(), vec![(typology, i)]);
            }
        }
        i
    }

    pub(crate) fn clear(&mut self) {
        *self = ByEntity::default();
    }
}
