//! Same-party links: one person, several accounts (OS-14, S7: a Westpac customer opened new
//! accounts after a prison sentence). A link comes from outside the payments, for example
//! a customer file that names the customer behind each account; only customers with two or
//! more accounts are kept.
//!
//! What a link does, and what it does not:
//! - an account's features say what its customer's other accounts show: how many the engine
//!   holds state for and the highest buyer risk from their own evidence
//!   (`sender.linked_accounts`, `sender.linked_max_own_risk`); a pack rule can then alert a
//!   new account at its first corridor payment, naming the other accounts;
//! - those features are not the account's own evidence (they count as network features), and
//!   in a recipient's network risk the accounts of one customer are one payer: otherwise one
//!   person would be two risky payers of the same facilitator;
//! - nothing else is merged: each account keeps its own state and alerts, so an analyst sees
//!   which account paid what.
//!
//! The links are configuration, like the watch list: set before the payments
//! ([`Engine::set_same_party`]), applied to every sender the engine holds, and again after a
//! snapshot is restored.

use crate::rules::EntitySide;
use crate::Engine;
use rustc_hash::FxHashMap;

/// Customers with several accounts.
#[derive(Debug, Default)]
pub(crate) struct Parties {
    /// Account id -> index into `accounts` and `customer`.
    of_account: FxHashMap<Box<str>, u32>,
    /// The accounts of each customer.
    accounts: Vec<Vec<Box<str>>>,
    /// Each customer's id.
    customer: Vec<Box<str>>,
}

impl Parties {
    /// The party of an account: index + 1, 0 if it has no link.
    pub(crate) fn of(&self, account: &str) -> u32 {
        if self.of_account.is_empty() {
            return 0;
        }
        self.of_account.get(account).map_or(0, |i| i + 1)
    }
}

impl Engine {
    /// Link accounts of one customer: `(account id, customer id)` pairs, for example from a
    /// customer file. Customers with one account are dropped; an account named twice keeps
    /// its first customer. Replaces any earlier links. Returns how many customers have two
    /// or more accounts.
    pub fn set_same_party(&mut self, links: impl IntoIterator<Item = (String, String)>) -> usize {
        let mut by_customer: FxHashMap<String, Vec<Box<str>>> = FxHashMap::default();
        let mut seen: rustc_hash::FxHashSet<String> = Default::default();
        for (account, customer) in links {
            if seen.insert(account.clone()) {
                by_customer.entry(customer).or_default().push(account.into());
            }
        }
        let mut multi: Vec<(String, Vec<Box<str>>)> = by_customer.into_iter().filter(|(_, a)| a.len() >= 2).collect();
        multi.sort();
        let mut p = Parties::default();
        for (i, (customer, accounts)) in multi.into_iter().enumerate() {
            for a in &accounts {
                p.of_account.insert(a.clone(), i as u32);
            }
            p.accounts.push(accounts);
            p.customer.push(customer.into());
        }
        let n = p.accounts.len();
        self.parties = p;
        self.apply_parties();
        n
    }

    /// Set every sender's party from the links (after new links, or a restore).
    pub(crate) fn apply_parties(&mut self) {
        let e = &mut self.entities;
        for (i, ss) in e.sender_state.iter_mut().enumerate() {
            ss.party = self.parties.of(&e.senders.names[i]);
        }
    }

    /// The other accounts of sender `s`'s customer that have state: how many, and the
    /// highest own risk among them.
    pub(crate) fn linked_accounts(&self, s: u32) -> (u32, f64) {
        let party = self.entities.sender_state[s as usize].party;
        if party == 0 {
            return (0, 0.0);
        }
        let me = self.entities.name(EntitySide::Sender, s);
        let (mut n, mut best) = (0u32, 0.0f64);
        for a in self.parties.accounts[party as usize - 1].iter().filter(|a| &***a != me) {
            if let Some(slot) = self.entities.senders.get(a) {
                n += 1;
                best = best.max(self.entities.sender_state[slot as usize].own_risk as f64);
            }
        }
        (n, best)
    }

    /// The explanation's list: "customer C: account A (own risk 0.85), account B (...)".
    pub(crate) fn linked_account_text(&self, s: u32) -> String {
        let party = self.entities.sender_state[s as usize].party;
        if party == 0 {
            return String::new();
        }
        let me = self.entities.name(EntitySide::Sender, s);
        let others: Vec<String> = self.parties.accounts[party as usize - 1]
            .iter()
            .filter(|a| &***a != me)
            .filter_map(|a| {
                let slot = self.entities.senders.get(a)?;
                Some(format!("{a} (own risk {:.2})", self.entities.sender_state[slot as usize].own_risk))
            })
            .collect();
        format!("customer {}: {}", self.parties.customer[party as usize - 1], others.join(", "))
    }
}
