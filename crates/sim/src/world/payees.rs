//! Payees several customers share: the facilitator market buyers attach to, households,
//! community payees and performers; and the process list every behaviour joins.

use super::*;

/// The facilitators, created before the customers: buyers attach to them by preferential
/// attachment, and some diaspora senders are their kin.
pub(super) struct FacilitatorMarket {
    pub(super) ids: Vec<u32>,
    /// Attractiveness per facilitator (accounts of children dealt with directly attract
    /// fewer buyers, R3).
    pub(super) weight: Vec<f64>,
    /// Buyers attached so far per facilitator.
    pub(super) degree: Vec<u32>,
    pub(super) smoothing: f64,
    /// Facilitators still waiting for a diaspora customer of their country as kin.
    pub(super) kin_pending: Vec<u32>,
}

impl FacilitatorMarket {
    pub(super) fn create(b: &mut Builder, sc: &Scenario, n_buyers: usize) -> FacilitatorMarket {
        let n_fac =
            if n_buyers > 0 { ((n_buyers as f64 * sc.facilitators.per_buyer).ceil() as usize).max(1) } else { 0 };
        let mut ids: Vec<u32> = Vec::with_capacity(n_fac);
        let mut weight: Vec<f64> = Vec::with_capacity(n_fac);
        for _ in 0..n_fac {
            let c = pick_country(&mut b.rng, &sc.corridors.osec_destinations);
            let direct = b.rng.random::<f64>() < sc.facilitators.victim_direct_share;
            let kind = if direct { RecipientKind::VictimDirect } else { RecipientKind::Facilitator };
            ids.push(b.add_person(c, kind, None));
            weight.push(if direct { 0.4 } else { 1.0 });
        }
        let n_kin = (n_fac as f64 * sc.facilitators.family_income_share).round() as usize;
        let kin_pending = ids.iter().copied().take(n_kin).collect();
        FacilitatorMarket {
            ids,
            weight,
            degree: vec![0; n_fac],
            smoothing: sc.facilitators.attachment_smoothing,
            kin_pending,
        }
    }

    /// A facilitator for a buyer who already has `mine`, drawn in proportion to its degree
    /// (plus the smoothing) and weight; a new link raises its degree.
    pub(super) fn attach(&mut self, rng: &mut Rng, mine: &[Link]) -> u32 {
        let n_fac = self.ids.len();
        let alpha = self.smoothing;
        let total: f64 = (0..n_fac).map(|i| (self.degree[i] as f64 + alpha) * self.weight[i]).sum();
        let mut x = rng.random::<f64>() * total;
        let mut chosen = n_fac.checked_sub(1).expect("a world with buyers has at least one facilitator");
        for i in 0..n_fac {
            let w = (self.degree[i] as f64 + alpha) * self.weight[i];
            if x < w {
                chosen = i;
                break;
            }
            x -= w;
        }
        if !mine.iter().any(|l| l.recipient == self.ids[chosen]) {
            self.degree[chosen] += 1;
        }
        self.ids[chosen]
    }
}

/// Honest payees paid by several customers (`[hubs]`): households that collect for a
/// family, community payees (parishes, schools, shops, pickup agents), performers with
/// several tippers. They make "paid by several unrelated customers" a weak sign on its own.
pub(super) struct SharedPayees {
    /// Households still open for another paying relative: (country, recipient, places left).
    pub(super) households: Vec<(CountryCode, u32, u32)>,
    /// Community payees.
    pub(super) community: Vec<u32>,
    /// Cam performers already tipped, with their country.
    pub(super) performers: Vec<(CountryCode, u32)>,
}

impl SharedPayees {
    pub(super) fn create(b: &mut Builder, sc: &Scenario) -> SharedPayees {
        let mut community = Vec::with_capacity(sc.hubs.community_payees as usize);
        for i in 0..sc.hubs.community_payees as usize {
            let c = pick_country(&mut b.rng, &sc.diaspora.origins);
            // Half are institutions by name, half shopkeepers and agents paid on a personal account.
            let r = if b.rng.random::<f64>() < 0.5 {
                let name = COMMUNITY_NAMES[i % COMMUNITY_NAMES.len()];
                let name = if i >= COMMUNITY_NAMES.len() {
                    format!("{name} {}", i / COMMUNITY_NAMES.len() + 1)
                } else {
                    name.into()
                };
                b.add_recipient(&name, c, RecipientKind::Community, 0)
            } else {
                b.add_person(c, RecipientKind::Community, None)
            };
            community.push(r);
        }
        SharedPayees { households: Vec::new(), community, performers: Vec::new() }
    }

    /// The household a diaspora customer from `o` pays: an open one of that country, or a new
    /// one (its surname the customer's with the scenario's same-surname share).
    pub(super) fn household(
        &mut self,
        b: &mut Builder,
        rng: &mut Rng,
        sc: &Scenario,
        o: CountryCode,
        surname: &'static str,
    ) -> u32 {
        if let Some(h) = self.households.iter_mut().find(|h| h.0 == o && h.2 > 0) {
            h.2 -= 1;
            return h.1;
        }
        let same = rng.random::<f64>() < sc.diaspora.same_surname_share;
        let r = b.add_person(o, RecipientKind::FamilyMember, same.then_some(surname));
        let [lo, hi] = sc.hubs.family_hub_payers;
        self.households.push((o, r, rng.random_range(lo..=hi) - 1));
        r
    }

    /// A performer in `c` for a tipper: one already tipped by another customer (with the
    /// scenario's share, if there is one), else a new one.
    pub(super) fn performer(&mut self, b: &mut Builder, rng: &mut Rng, sc: &Scenario, c: CountryCode) -> u32 {
        if rng.random::<f64>() < sc.hubs.shared_performer_share {
            let known: Vec<u32> = self.performers.iter().filter(|p| p.0 == c).map(|p| p.1).collect();
            if let Some(r) = known.choose(rng) {
                return *r;
            }
        }
        let r = b.add_person(c, RecipientKind::CamPerformer, None);
        self.performers.push((c, r));
        r
    }
}

/// Processes as they are created: each gets its own RNG stream, keyed by its number.
pub(super) struct Processes {
    pub(super) seed: u64,
    pub(super) list: Vec<Process>,
}

impl Processes {
    pub(super) fn add(&mut self, customer: u32, behaviour: Behaviour) {
        let k = self.list.len() as u64;
        self.list.push(Process::new(customer, rng_for(self.seed, 0x9000, k), behaviour));
    }
}
