//! The network layer: buyers and facilitators as one bipartite graph, so that risk flows
//! both ways (AUSTRAC's common beneficiary, "several unrelated foreign buyers paying the same
//! facilitator", and the other payers of a known facilitator).
//!
//! The graph: every corridor payment adds to the edge sender -> recipient, kept on the
//! recipient ([`PayerEdge`]: count, amount, night payments, first and last time) over the
//! engine's 365-day horizon, at most [`MAX_PAYERS`] edges a recipient.
//!
//! Propagation is one step from buyers to facilitators and back, in the stream:
//! - a sender's **own risk** is its best corroborated buyer score from rules that read no
//!   network feature, / 100 (`SenderState::own_risk`); a payer is *risky* when its own risk
//!   is clearly past the review threshold ([`RISKY_PAYER`]);
//! - a recipient's **network risk** weighs who its payers are, not how many: with `k` risky
//!   among its `n` unrelated payers of 365 days (family payers, by surname, pass nothing), it
//!   is `1 - P(at least k of n risky by chance)`, a binomial tail with the background rate
//!   [`BACKGROUND_RISKY`]. Three payers of whom two are risky is far beyond chance (0.97); a
//!   parish paid by 30 customers of whom three look risky is not (0.41); a hub paid by
//!   thousands needs hundreds of risky payers. It is at most 0.5 unless two payers are risky
//!   (one buyer who also pays its partner does not make the partner a facilitator) and halved
//!   for organisations. A naive "paid by several people" count, tried first, made every
//!   household, parish and performer with a few honest-but-odd payers a facilitator (buyer
//!   precision 0.03 on the default world with hubs);
//! - weaker evidence counts too, but only from a handful of payers: a recipient with at most
//!   [`WEAK_MAX_PAYERS`] other unrelated payers, at least [`WEAK_MIN`] of whom are *suspects*
//!   (own risk at least [`SUSPECT_PAYER`]), gets the same binomial tail at the higher
//!   background rate [`BACKGROUND_SUSPECT`] when that is higher. Buyers who imitate family
//!   remittances (steady sums to one person, by day) never score 60 on their own, so their
//!   facilitator stayed unknown however many of them paid it; three of them paying one person
//!   outside their families is 1 - 0.25^3 = 0.98 beyond chance. On the `mimic` worlds buyer
//!   recall went from 0.35-0.40 to 0.52-0.55 at higher precision. A crowd is excluded because
//!   a background rate that fits a facilitator's few payers does not fit it;
//! - a sender's network features read the risk of the recipients it pays **without its own
//!   contribution**, so no sender raises its own score through the graph directly. One of
//!   them, `sender.max_recipient_risk_365d` (R-OSEC-10), counts as own evidence all the same,
//!   so co-payers of one recipient reinforce each other within its 25 points: that is how
//!   risk reaches beyond two hops (ARCHITECTURE.md has the measurement that kept it).
//!
//! Why this rather than a full personalised PageRank here: it is exact for the two hops
//! that carry the published indicators (buyer -> facilitator -> other buyers), it can be kept
//! up to date per payment in O(payers of one recipient), and every value has a one-sentence
//! explanation ("3 of its 10 unrelated payers show buyer evidence of their own"). Longer
//! paths come from repetition: a buyer found through the network raises its own evidence
//! with its next payments, and then passes it on.
//!
//! Retroactive re-scoring: when a recipient first crosses [`KNOWN_RISK`] with two risky
//! payers, every other payer of its last 365 days is re-scored at that moment; an alert that
//! raises is marked retroactive, dated at the discovery, with the earlier payments as
//! evidence. The work is bounded by [`MAX_PAYERS`] payers, once per recipient.

use crate::rules::EntitySide;
use crate::state::{PayerEdge, DAY, MAX_PAYERS};
use crate::{Engine, Feature, Moment, Outcome};

/// The share of an honest corridor recipient's payers expected to look risky on their own
/// evidence anyway (an assumption: about the pack's false-positive rate among frequent
/// corridor senders on the shipped worlds). A recipient is suspect when it has more risky
/// payers than this rate explains. Measuring it instead (the share of risky senders among
/// all corridor senders, recounted daily) was tried and dropped: that reference class is
/// mostly occasional senders, lower than the frequent senders who pay hubs, and early in a
/// period the estimate sat at its floor and let hubs cross by chance (diaspora-heavy: 5,912
/// sender alerts against 2,211).
pub const BACKGROUND_RISKY: f64 = 0.1;
/// Network risk at or above which a recipient with two risky payers is a known facilitator:
/// its other payers are re-scored, and `R-OSEC-NET-KNOWN` in the shipped pack reads the same
/// line (a test holds them together). At 0.9 a recipient already alerted as a facilitator
/// (two risky payers among seven: 0.85) left its other payers unflagged, although checking
/// a flagged beneficiary's other payers is how AUSTRAC found further offenders (OR-01). At
/// 0.85, measured on 2026-12-04 on four presets, two seeds each: 8 more buyers found
/// (`mimic` seed 1: 54 -> 59; `diaspora-heavy` seed 1 and `shared-hubs` seeds 1 and 2: one
/// each), no new false positive on any world, the other worlds' alerts unchanged; 0.8 found
/// the same.
pub const KNOWN_RISK: f64 = 0.85;
/// Own risk at or above which a payer counts as risky: clearly past the buyer review line
/// (50). At 0.5, honest frequent senders just over the line made hubs look like
/// facilitators (default world: 1,008 sender alerts, 9.0 % of diaspora families); at 0.6,
/// 539 alerts and 0.6 %, with the same buyer recall.
pub const RISKY_PAYER: f32 = 0.6;
/// Network risk of a recipient with fewer than two risky payers is capped here.
const SINGLE_PAYER_CAP: f64 = 0.5;
/// Own risk at or above which a payer is a *suspect*: weaker evidence than [`RISKY_PAYER`]
/// (30 points, e.g. steady small transfers to one person outside the family with cover
/// references), which counts only when several of a handful of payers show it.
pub const SUSPECT_PAYER: f32 = 0.3;
/// Suspects (besides the sender asking) a recipient needs before weak evidence counts.
pub const WEAK_MIN: u32 = 3;
/// Weak evidence counts only for a recipient with at most this many other unrelated payers:
/// "several unrelated foreign senders" (OR-01), not a crowd. With a crowd, the binomial tail
/// rests on how well the background rate fits that crowd: a corridor shop paid by 143
/// customers of a diaspora-heavy bank, 113 of whom score 30 or more on their own, looked like
/// a facilitator at a background rate that a facilitator's few payers would still pass.
pub const WEAK_MAX_PAYERS: u32 = 10;
/// The share of honest frequent corridor senders expected to score [`SUSPECT_PAYER`] on
/// their own (an assumption: on the shipped worlds about a quarter of partners abroad and
/// half of travellers do, few diaspora families since the family-remittance mitigation).
pub const BACKGROUND_SUSPECT: f64 = 0.25;

/// A recipient's network risk and what it rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PayerRisk {
    pub(crate) risk: f64,
    /// The payers the risk rests on: unrelated payers with own risk at or above
    /// [`RISKY_PAYER`], or, when the weak evidence weighs more, the suspects.
    pub(crate) risky: u32,
    /// Unrelated payers in 365 days.
    pub(crate) unrelated: u32,
}

/// P(X >= k) for X ~ Binomial(n, p): how likely `k` or more of `n` honest payers look risky
/// by chance. Exact by summing the terms below `k` (n is at most [`MAX_PAYERS`]).
pub fn binomial_tail(n: u32, k: u32, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let mut term = (1.0 - p).powi(n as i32);
    let mut below = 0.0;
    for i in 0..k {
        below += term;
        term *= (n - i) as f64 / (i + 1) as f64 * p / (1.0 - p);
    }
    (1.0 - below).clamp(0.0, 1.0)
}

impl Engine {
    /// Add a corridor payment to the edge sender `s` -> recipient `r`.
    pub(crate) fn record_edge(&mut self, r: u32, s: u32, now: i64, amount: i64, night: bool, family: bool) {
        let rs = &mut self.entities.recipient_state[r as usize];
        rs.payers.retain(|e| now - e.last <= 365 * DAY);
        let full = rs.payers.len() >= MAX_PAYERS;
        match rs.payers.iter_mut().find(|e| e.sender == s) {
            Some(e) => {
                e.last = now;
                e.count += 1;
                e.night += night as u32;
                e.amount += amount;
            }
            None if !full => rs.payers.push(PayerEdge {
                sender: s,
                first: now,
                last: now,
                count: 1,
                night: night as u32,
                amount,
                family,
            }),
            None => rs.hub = true,
        }
    }

    /// Network risk of recipient `r` from its unrelated payers of the last 365 days, without
    /// `exclude` (the sender asking).
    pub(crate) fn payer_risk(&self, r: u32, exclude: Option<u32>, now: i64) -> PayerRisk {
        let rs = &self.entities.recipient_state[r as usize];
        let live = |e: &&PayerEdge| !e.family && now - e.last <= 365 * DAY && Some(e.sender) != exclude;
        // Accounts of one customer (same-party links) are one payer, judged by its riskiest
        // account; the first few customers are gathered here and counted after the loop.
        let mut parties: [(u32, f32); 8] = [(0, 0.0); 8];
        let mut n_parties = 0;
        let (mut unrelated, mut risky, mut suspect) = (0u32, 0u32, 0u32);
        let mut count = |own: f32| {
            unrelated += 1;
            risky += (own >= RISKY_PAYER) as u32;
            suspect += (own >= SUSPECT_PAYER) as u32;
        };
        for e in rs.payers.iter().filter(live) {
            let ss = &self.entities.sender_state[e.sender as usize];
            if ss.party != 0 {
                if let Some(p) = parties[..n_parties].iter_mut().find(|p| p.0 == ss.party) {
                    p.1 = p.1.max(ss.own_risk);
                    continue;
                }
                if n_parties < parties.len() {
                    parties[n_parties] = (ss.party, ss.own_risk);
                    n_parties += 1;
                    continue;
                }
            }
            count(ss.own_risk);
        }
        for &(_, own) in &parties[..n_parties] {
            count(own);
        }
        let mut risk = if risky == 0 { 0.0 } else { 1.0 - binomial_tail(unrelated, risky, BACKGROUND_RISKY) };
        if risky < 2 {
            risk = risk.min(SINGLE_PAYER_CAP);
        }
        // Weak evidence from a handful of payers. Asked for the recipient as a whole (no
        // payer left out), it counts as if one of them were left out, so that every payer a
        // newly known facilitator's re-scoring reaches sees the evidence without its own part.
        let (n, k) = if exclude.is_none() {
            (unrelated.saturating_sub(1), suspect.saturating_sub(1))
        } else {
            (unrelated, suspect)
        };
        if k >= WEAK_MIN && n <= WEAK_MAX_PAYERS {
            let weak = 1.0 - binomial_tail(n, k, BACKGROUND_SUSPECT);
            if weak > risk {
                risk = weak;
                risky = k;
            }
        }
        if rs.is_org {
            risk *= 0.5;
        }
        PayerRisk { risk, risky, unrelated }
    }

    /// The current payment's network features: its recipient's risk from the other payers.
    pub(crate) fn payment_network_features(&mut self, r: u32, s: u32, now: i64) {
        let p = self.payer_risk(r, Some(s), now);
        let confirmed = self.is_confirmed(r);
        let linked = self.known_wallet_of(r, now).is_some();
        let x = &mut self.values;
        x[Feature::PayRecipientConfirmed as usize] = confirmed as u8 as f64;
        x[Feature::PayRecipientLinkedKnown as usize] = linked as u8 as f64;
        x[Feature::PayRecipientRisk as usize] = p.risk;
        x[Feature::PayRecipientRisky as usize] = p.risky as f64;
        x[Feature::PayRecipientPayers as usize] = p.unrelated as f64;
    }

    /// A sender's first payment to `r`: if it paid another wallet with the same holder's name
    /// in the same country, `r` is that holder's new wallet (facilitators use several).
    /// Organisations are not linked (branches share names); the most recent such wallet wins.
    pub(crate) fn link_wallet(&mut self, s: u32, r: u32) {
        let e = &self.entities;
        let rs = &e.recipient_state[r as usize];
        if rs.wallet_of != 0 || rs.name == 0 || rs.is_org {
            return;
        }
        let (name, country) = (rs.name, rs.country);
        let ss = &e.sender_state[s as usize];
        let older = ss.corridor.iter().rev().map(|p| p.recipient).find(|&o| {
            let os = &e.recipient_state[o as usize];
            o != r && os.name == name && os.country == country && !os.is_org
        });
        if let Some(o) = older {
            self.entities.recipient_state[r as usize].wallet_of = o + 1;
        }
    }

    /// The older wallet of `r`'s holder, if it is a known or confirmed facilitator now (its
    /// payers as of `now`: it may have become known since its last payment).
    pub(crate) fn known_wallet_of(&self, r: u32, now: i64) -> Option<u32> {
        let w = self.entities.recipient_state[r as usize].wallet_of;
        if w == 0 {
            return None;
        }
        let o = w - 1;
        let known = self.entities.recipient_state[o as usize].known || self.is_confirmed(o) || {
            let p = self.payer_risk(o, None, now);
            p.risk >= KNOWN_RISK && p.risky >= 2
        };
        known.then_some(o)
    }

    /// Whether recipient `r` is a seed confirmed as a facilitator elsewhere.
    pub(crate) fn is_confirmed(&self, r: u32) -> bool {
        let name = self.entities.name(EntitySide::Recipient, r);
        (!self.confirmed.is_empty() && self.confirmed.contains(name))
            || (!self.seeds.facilitators.is_empty() && self.seeds.facilitators.contains(name))
    }

    /// The highest network risk, without `s`, among the recipients `s` paid in 365 days
    /// (`seen`: a reused buffer, so scoring allocates nothing).
    pub(crate) fn max_recipient_risk(&self, s: u32, now: i64, seen: &mut Vec<u32>) -> f64 {
        let ss = &self.entities.sender_state[s as usize];
        seen.clear();
        let mut best = 0.0f64;
        for p in ss.corridor.iter().filter(|p| now - p.utc <= 365 * DAY) {
            if !seen.contains(&p.recipient) {
                seen.push(p.recipient);
                best = best.max(self.payer_risk(p.recipient, Some(s), now).risk);
            }
        }
        best
    }

    /// After a corridor payment was scored (or a seed changed a payer's risk): the
    /// recipient's network risk from all its payers, and, the first time it crosses the
    /// known-facilitator line, its other payers re-scored. `p`: its network risk from all
    /// its payers, now; `payer`: the sender whose payment this is, not re-scored. Returns
    /// how many payers were re-scored.
    pub(crate) fn update_recipient_network(
        &mut self,
        r: u32,
        payer: Option<u32>,
        at: Moment<'_>,
        p: PayerRisk,
    ) -> usize {
        let rs = &mut self.entities.recipient_state[r as usize];
        rs.network_risk = p.risk as f32;
        if rs.known || p.risk < KNOWN_RISK || p.risky < 2 {
            return 0;
        }
        rs.known = true;
        self.rescore_payers(r, payer, at)
    }

    /// Re-score every unrelated payer of recipient `r` of the last 365 days but `except`,
    /// as of `at`; returns how many.
    pub(crate) fn rescore_payers(&mut self, r: u32, except: Option<u32>, at: Moment<'_>) -> usize {
        let now = at.time.utc;
        let others: Vec<u32> = self.entities.recipient_state[r as usize]
            .payers
            .iter()
            .filter(|e| !e.family && Some(e.sender) != except && now - e.last <= 365 * DAY)
            .map(|e| e.sender)
            .collect();
        for &payer in &others {
            self.rescore_payer(payer, r, at);
        }
        others.len()
    }

    /// Score an earlier payer of a newly known facilitator as of now; an alert this raises
    /// is retroactive. The outcome belongs to no payment and is dropped.
    fn rescore_payer(&mut self, payer: u32, r: u32, at: Moment<'_>) {
        let now = at.time.utc;
        self.sender_features(payer, now, false);
        self.payment_network_features(r, payer, now);
        self.network_recipient = Some(r);
        self.retroactive = true;
        let mut dropped = Outcome::allow();
        let (best, _) = self.score_side(EntitySide::Sender, payer, at, &mut dropped);
        self.retroactive = false;
        self.network_recipient = None;
        if self.reaches_review(EntitySide::Sender, best) {
            self.entities.sender_state[payer as usize].alert_active = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{binomial_tail, KNOWN_RISK};
    use crate::Feature;

    /// The retroactive re-scoring starts where the shipped pack's payer rule starts: a
    /// recipient past one line but not the other would re-score payers for nothing, or
    /// flag new payers while its earlier ones stay unchecked.
    #[test]
    fn the_shipped_known_facilitator_rule_reads_the_engine_line() {
        let pack = crate::RulePack::builtin("osec").expect("the OSEC pack is built in");
        let rule = pack.rules.iter().find(|r| r.id == "R-OSEC-NET-KNOWN").expect("the rule");
        let c = rule.conditions();
        assert!(c.contains(&(Feature::PayRecipientRisk, ">=", KNOWN_RISK)), "{c:?}");
    }

    #[test]
    fn the_binomial_tail_matches_hand_computed_values() {
        assert_eq!(binomial_tail(5, 0, 0.1), 1.0);
        assert_eq!(binomial_tail(2, 3, 0.1), 0.0);
        // P(X >= 2 | 3, 0.1) = 3 * 0.01 * 0.9 + 0.001 = 0.028
        assert!((binomial_tail(3, 2, 0.1) - 0.028).abs() < 1e-12);
        // P(X >= 1 | 30, 0.1) = 1 - 0.9^30
        assert!((binomial_tail(30, 1, 0.1) - (1.0 - 0.9f64.powi(30))).abs() < 1e-12);
        // More risky payers among the same number is always less likely by chance.
        assert!(binomial_tail(30, 6, 0.1) < binomial_tail(30, 3, 0.1));
        assert!(binomial_tail(256, 200, 0.1) >= 0.0);
    }
}
