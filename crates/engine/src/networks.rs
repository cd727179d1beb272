//! Network records: connected groups of alerted buyers and facilitators, joined by the
//! payments between them (the payer edges of `network.rs`), for `networks.jsonl`, the
//! service's `/v1/networks` and, later, reports and the workbench.
//!
//! A group needs at least one alerted buyer and one alerted facilitator with a payment
//! between them in the engine's 365-day horizon. Ids are FNV-1a of the sorted member ids,
//! so the same alerts and payments give the same records in the same order.

use crate::facts::fnv1a;
use crate::rules::EntitySide;
use crate::Engine;
use osecwatch_model::{Money, Timestamp};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// One member of a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkMember {
    /// The entity's id.
    pub entity_id: String,
    /// `buyer` (an alerted sender) or `facilitator` (an alerted recipient).
    pub role: &'static str,
    /// Its alerts' ids.
    pub alert_ids: Vec<String>,
}

/// The payments from one member buyer to one member facilitator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkEdge {
    /// The paying sender.
    pub sender: String,
    /// The recipient.
    pub recipient: String,
    /// Corridor payments in the horizon.
    pub payments: u32,
    /// Of those, at night (sender-local).
    pub night_payments: u32,
    /// Their sum in the base currency, as a plain decimal.
    pub amount: String,
    /// First payment (RFC 3339, UTC).
    pub first_payment: String,
    /// Latest payment.
    pub last_payment: String,
}

/// A connected group of alerted buyers and facilitators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// `NW-` and 16 hex digits, stable for the same members.
    pub network_id: String,
    /// Buyers first, then facilitators, each by id.
    pub members: Vec<NetworkMember>,
    /// Every payment edge between members.
    pub edges: Vec<NetworkEdge>,
    /// Payments on those edges.
    pub payments: u64,
    /// Their sum in the base currency.
    pub amount: String,
    /// The base currency.
    pub currency: String,
    /// First payment between members.
    pub first_payment: String,
    /// Latest payment between members.
    pub last_payment: String,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

impl Engine {
    /// The networks of the alerts so far, ordered by first payment, then id.
    pub fn networks(&self) -> Vec<Network> {
        // Alerted entities that still have state, as nodes: (side, slot) -> node.
        let mut node: FxHashMap<(usize, u32), usize> = FxHashMap::default();
        let mut nodes: Vec<(EntitySide, u32)> = Vec::new();
        let mut alert_ids: FxHashMap<(usize, u32), Vec<String>> = FxHashMap::default();
        for a in self.alert_list() {
            let side = if a.entity_type == "sender" { EntitySide::Sender } else { EntitySide::Recipient };
            let interner = match side {
                EntitySide::Sender => &self.entities.senders,
                EntitySide::Recipient => &self.entities.recipients,
            };
            let Some(&slot) = interner.map.get(a.entity_id.as_str()) else { continue };
            let key = (side.index(), slot);
            node.entry(key).or_insert_with(|| {
                nodes.push((side, slot));
                nodes.len() - 1
            });
            alert_ids.entry(key).or_default().push(a.alert_id.clone());
        }
        let mut parent: Vec<usize> = (0..nodes.len()).collect();
        let mut edges: Vec<(usize, usize, crate::state::PayerEdge)> = Vec::new();
        let now = self.last_utc;
        for (i, &(side, r)) in nodes.iter().enumerate() {
            if side != EntitySide::Recipient {
                continue;
            }
            for e in &self.entities.recipient_state[r as usize].payers {
                if now - e.last > 365 * crate::state::DAY {
                    continue;
                }
                if let Some(&j) = node.get(&(EntitySide::Sender.index(), e.sender)) {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                    edges.push((j, i, *e));
                }
            }
        }
        // Group the edges by component; a component with an edge has a buyer and a facilitator.
        let mut groups: FxHashMap<usize, Vec<(usize, usize, crate::state::PayerEdge)>> = FxHashMap::default();
        for (s, r, e) in edges {
            let root = find(&mut parent, s);
            groups.entry(root).or_default().push((s, r, e));
        }
        let currency = self.pack.settings.base_currency;
        let name = |n: usize| self.entities.name(nodes[n].0, nodes[n].1).to_string();
        let ts = |utc: i64| Timestamp::new(utc, 0).to_rfc3339();
        let mut out: Vec<(i64, Network)> = groups
            .into_values()
            .map(|mut es| {
                es.sort_by_key(|a| (name(a.0), name(a.1)));
                let mut members: Vec<usize> = es.iter().flat_map(|(s, r, _)| [*s, *r]).collect();
                members.sort_by_key(|n| (nodes[*n].0.index(), name(*n)));
                members.dedup();
                let ids: Vec<String> = members.iter().map(|n| name(*n)).collect();
                let first = es.iter().map(|e| e.2.first).min().unwrap_or(0);
                let last = es.iter().map(|e| e.2.last).max().unwrap_or(0);
                let total: i64 = es.iter().map(|e| e.2.amount).sum();
                let network = Network {
                    network_id: format!("NW-{:016x}", fnv1a(ids.join("|").as_bytes())),
                    members: members
                        .iter()
                        .map(|n| NetworkMember {
                            entity_id: name(*n),
                            role: if nodes[*n].0 == EntitySide::Sender { "buyer" } else { "facilitator" },
                            alert_ids: alert_ids[&(nodes[*n].0.index(), nodes[*n].1)].clone(),
                        })
                        .collect(),
                    edges: es
                        .iter()
                        .map(|(s, r, e)| NetworkEdge {
                            sender: name(*s),
                            recipient: name(*r),
                            payments: e.count,
                            night_payments: e.night,
                            amount: Money::new(e.amount, currency).to_decimal_string(),
                            first_payment: ts(e.first),
                            last_payment: ts(e.last),
                        })
                        .collect(),
                    payments: es.iter().map(|e| e.2.count as u64).sum(),
                    amount: Money::new(total, currency).to_decimal_string(),
                    currency: currency.as_str().to_string(),
                    first_payment: ts(first),
                    last_payment: ts(last),
                };
                (first, network)
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1.network_id).cmp(&(b.0, &b.1.network_id)));
        out.into_iter().map(|(_, n)| n).collect()
    }
}
