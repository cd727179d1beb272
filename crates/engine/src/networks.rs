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
    /// For a facilitator: what the network layer knows of all its payers, members or not
    /// (a picture folds the others into one node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payers: Option<PayerCounts>,
}

/// A facilitator's payers in the engine's horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PayerCounts {
    /// Unrelated payers (family payers by surname left out; at most the edge cap).
    pub unrelated: u32,
    /// Of those, risky on their own evidence.
    pub risky: u32,
    /// Paid by more payers than the edge cap keeps (a hub: the counts are a floor).
    pub hub: bool,
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
            let Some(slot) = interner.get(&a.entity_id) else { continue };
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
                            payers: (nodes[*n].0 == EntitySide::Recipient).then(|| {
                                let r = nodes[*n].1;
                                let p = self.payer_risk(r, None, now);
                                let hub = self.entities.recipient_state[r as usize].hub;
                                PayerCounts { unrelated: p.unrelated, risky: p.risky, hub }
                            }),
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

/// One edge of the payment graph: a sender's corridor payments to one recipient over the
/// engine's horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge<'a> {
    /// The sender's id.
    pub sender: &'a str,
    /// The recipient's id.
    pub recipient: &'a str,
    /// Corridor payments.
    pub payments: u32,
    /// Of those, at night.
    pub night_payments: u32,
    /// Their sum in base-currency minor units.
    pub amount_minor: i64,
    /// First payment (UTC seconds).
    pub first: i64,
    /// Latest payment (UTC seconds).
    pub last: i64,
    /// Sender and recipient share a surname.
    pub family: bool,
}

/// What the network layer knows of one recipient now.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientSummary<'a> {
    /// The recipient's id.
    pub id: &'a str,
    /// Unrelated payers in 365 days (at most the edge cap).
    pub payers: u32,
    /// Of those, risky on their own evidence.
    pub risky_payers: u32,
    /// Its network risk (0-1).
    pub network_risk: f64,
    /// Paid by more payers than the edge cap.
    pub hub: bool,
    /// It crossed the known-facilitator line.
    pub known: bool,
}

impl Engine {
    /// Every edge of the payment graph in the horizon, by recipient then sender slot.
    pub fn graph_edges(&self) -> Vec<GraphEdge<'_>> {
        let now = self.last_utc;
        let e = &self.entities;
        let mut out = Vec::new();
        for (r, rs) in e.recipient_state.iter().enumerate() {
            if e.recipients.names[r].is_empty() {
                continue;
            }
            for p in rs.payers.iter().filter(|p| now - p.last <= 365 * crate::state::DAY) {
                out.push(GraphEdge {
                    sender: &e.senders.names[p.sender as usize],
                    recipient: &e.recipients.names[r],
                    payments: p.count,
                    night_payments: p.night,
                    amount_minor: p.amount,
                    first: p.first,
                    last: p.last,
                    family: p.family,
                });
            }
        }
        out
    }

    /// Every recipient with payer edges, with its network figures as of the latest payment.
    pub fn recipient_summaries(&self) -> Vec<RecipientSummary<'_>> {
        let e = &self.entities;
        (0..e.recipient_state.len())
            .filter(|r| !e.recipients.names[*r].is_empty() && !e.recipient_state[*r].payers.is_empty())
            .map(|r| {
                let p = self.payer_risk(r as u32, None, self.last_utc);
                let rs = &e.recipient_state[r];
                RecipientSummary {
                    id: &e.recipients.names[r],
                    payers: p.unrelated,
                    risky_payers: p.risky,
                    network_risk: p.risk,
                    hub: rs.hub,
                    known: rs.known,
                }
            })
            .collect()
    }

    /// A sender's own risk (0-1) at its latest scoring, if it has state.
    pub fn sender_own_risk(&self, id: &str) -> Option<f64> {
        let s = self.entities.senders.get(id)?;
        Some(self.entities.sender_state[s as usize].own_risk as f64)
    }
}
