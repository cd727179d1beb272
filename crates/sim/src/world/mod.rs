//! The population: customers with their archetypes, the recipients they pay, and one
//! behaviour process per habit. Built once from the scenario; memory grows with the
//! population, never with the length of the period.

use crate::behave::{
    Behaviour, Card, Community, Family, Friends, Link, Merchant, Osec, Partner, Process, Rent, Romance, Sextortion,
    Sponsor, Subscriptions, Tips, Trip, Trips,
};
use crate::cal::{cents, fx_path, gamma_rate, lognormal, mix64, poisson, rng_for, Calendar, Rng, TzTable};
use crate::names::{Culture, COMMUNITY_NAMES, MONTHS_DE, NGO_NAMES};
use crate::scenario::{parse_date, CountryMix, Scenario};
use crate::shared::{cc, pick_channel, pick_country, pick_member};
pub use crate::shared::{Pool, PoolId, Pools, Recipient, RecipientKind, RefSets, Shared};
use osecwatch_model::{Channel, CountryCode};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng as _;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, HashMap};

mod builder;
mod life;
mod payees;
mod pools;

use builder::{general_culture, Builder};
use life::{Context, Life};
use payees::{FacilitatorMarket, Processes, SharedPayees};
use pools::build_pools;

/// Behaviour profile of a customer (the sending side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Archetype {
    /// Ordinary domestic life only.
    DomesticEveryday,
    /// Remits to family abroad.
    DiasporaFamily,
    /// Remits to an extended family abroad.
    DiasporaExtendedFamily,
    /// Supports a partner abroad.
    PartnerAbroad,
    /// Buys cam-site tokens and tips performers.
    AdultWebcam,
    /// Pays a romance scammer.
    RomanceScamVictim,
    /// Sponsors a child through an NGO.
    ChildSponsor,
    /// Travels to the corridors.
    Traveller,
    /// Pays a sextortionist.
    SextortionVictim,
    /// Buys a few sessions a month.
    LightBuyer,
    /// Buys several sessions a month.
    MediumBuyer,
    /// Buys many sessions, sometimes in bundles.
    HeavyBuyer,
    /// Buys while mimicking a family remittance.
    StealthyBuyer,
}

impl Archetype {
    /// Every archetype.
    pub const ALL: [Archetype; 13] = [
        Archetype::DomesticEveryday,
        Archetype::DiasporaFamily,
        Archetype::DiasporaExtendedFamily,
        Archetype::PartnerAbroad,
        Archetype::AdultWebcam,
        Archetype::RomanceScamVictim,
        Archetype::ChildSponsor,
        Archetype::Traveller,
        Archetype::SextortionVictim,
        Archetype::LightBuyer,
        Archetype::MediumBuyer,
        Archetype::HeavyBuyer,
        Archetype::StealthyBuyer,
    ];

    /// The name the labels use (`heavy_buyer`, `diaspora_family`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Archetype::DomesticEveryday => "domestic_everyday",
            Archetype::DiasporaFamily => "diaspora_family",
            Archetype::DiasporaExtendedFamily => "diaspora_extended_family",
            Archetype::PartnerAbroad => "partner_abroad",
            Archetype::AdultWebcam => "adult_webcam",
            Archetype::RomanceScamVictim => "romance_scam_victim",
            Archetype::ChildSponsor => "child_sponsor",
            Archetype::Traveller => "traveller",
            Archetype::SextortionVictim => "sextortion_victim",
            Archetype::LightBuyer => "light_buyer",
            Archetype::MediumBuyer => "medium_buyer",
            Archetype::HeavyBuyer => "heavy_buyer",
            Archetype::StealthyBuyer => "stealthy_buyer",
        }
    }

    /// Whether the archetype buys abuse.
    pub fn is_buyer(self) -> bool {
        matches!(
            self,
            Archetype::LightBuyer | Archetype::MediumBuyer | Archetype::HeavyBuyer | Archetype::StealthyBuyer
        )
    }
}

/// A customer of the institution; its id and name live in [`EntityText`].
pub struct Customer {
    pub archetype: Archetype,
}

pub struct World {
    pub shared: Shared,
    pub customers: Vec<Customer>,
    pub procs: Vec<Process>,
    /// Ids and names of all entities, packed id-then-name per entity.
    pub text: EntityText,
    /// Per customer: when it moves to its second account (UTC seconds; `i64::MAX`: never).
    pub moved_at: Vec<i64>,
    /// Per recipient: when it moves to its second wallet (facilitators only).
    pub wallet_moved_at: Vec<i64>,
}

/// The RNG purpose of the account moves (a stream of its own, so adding movers to a
/// scenario changes no other draw).
const MOVERS: u64 = 0x30E5;
/// The RNG purpose of facilitators' wallet moves.
const WALLETS: u64 = 0x3A11E7;

impl World {
    /// Whether a customer's payment at `utc` comes from its second account.
    #[inline]
    pub fn moved(&self, customer: u32, utc: i64) -> bool {
        utc >= self.moved_at[customer as usize]
    }

    /// Whether a payment to recipient `r` at `utc` goes to its second wallet.
    #[inline]
    pub fn wallet_moved(&self, r: u32, utc: i64) -> bool {
        utc >= self.wallet_moved_at[r as usize]
    }

    /// The account a customer's payment at `utc` comes from: (id, name).
    #[inline]
    pub fn sender(&self, customer: u32, utc: i64) -> (&str, &str) {
        if self.moved(customer, utc) {
            self.text.second_account(customer)
        } else {
            self.text.customer(customer)
        }
    }

    /// The wallet a payment to recipient `r` at `utc` goes to: (id, name).
    #[inline]
    pub fn payee(&self, r: u32, utc: i64) -> (&str, &str) {
        if self.wallet_moved(r, utc) {
            self.text.second_wallet(r)
        } else {
            self.text.recipient(r)
        }
    }

    /// A customer id for the customer file: keyed by the seed, saying nothing about the
    /// customer.
    pub fn customer_id(&self, customer: u32) -> String {
        format!("CU{:012}", mix64(self.shared.scenario.institution.seed ^ MOVERS, customer as u64) % 1_000_000_000_000)
    }
}

/// All entity ids and names in one buffer, id and name of an entity side by side.
///
/// The writer touches a random sender and recipient per payment; with one heap string
/// per id and per name those were four cache misses a row and the simulator's largest
/// cost. Packed, an entity's two strings usually share one cache line.
pub struct EntityText {
    buf: String,
    customers: Vec<(u32, u16, u16)>,
    recipients: Vec<(u32, u16, u16)>,
    /// Second accounts of customers who move, by customer.
    second: rustc_hash::FxHashMap<u32, (u32, u16, u16)>,
    /// Second wallets of facilitators who move, by recipient.
    second_wallet: rustc_hash::FxHashMap<u32, (u32, u16, u16)>,
}

impl EntityText {
    fn pack(&mut self, id: &str, name: &str) -> (u32, u16, u16) {
        let start = self.buf.len() as u32;
        self.buf.push_str(id);
        self.buf.push_str(name);
        (start, id.len() as u16, name.len() as u16)
    }

    fn push_customer(&mut self, id: &str, name: &str) {
        let span = self.pack(id, name);
        self.customers.push(span);
    }

    fn push_recipient(&mut self, id: &str, name: &str) {
        let span = self.pack(id, name);
        self.recipients.push(span);
    }

    fn get(&self, span: (u32, u16, u16)) -> (&str, &str) {
        let (s, a, b) = (span.0 as usize, span.1 as usize, span.2 as usize);
        (&self.buf[s..s + a], &self.buf[s + a..s + a + b])
    }

    /// (id, name) of customer `i`.
    pub fn customer(&self, i: u32) -> (&str, &str) {
        self.get(self.customers[i as usize])
    }

    /// (id, name) of the second account of customer `i` (its first if it has none).
    pub fn second_account(&self, i: u32) -> (&str, &str) {
        match self.second.get(&i) {
            Some(span) => self.get(*span),
            None => self.customer(i),
        }
    }

    /// (id, name) of the second wallet of recipient `i` (its first if it has none).
    pub fn second_wallet(&self, i: u32) -> (&str, &str) {
        match self.second_wallet.get(&i) {
            Some(span) => self.get(*span),
            None => self.recipient(i),
        }
    }

    /// (id, name) of recipient `i`.
    pub fn recipient(&self, i: u32) -> (&str, &str) {
        self.get(self.recipients[i as usize])
    }

    /// Load the first byte of both entities' text without using it, so a batch of rows
    /// can have its cache misses in flight together before the rows are formatted.
    pub fn touch(&self, customer: u32, recipient: u32) -> u8 {
        let c = self.customers[customer as usize].0 as usize;
        let r = self.recipients[recipient as usize].0 as usize;
        self.buf.as_bytes()[c] ^ self.buf.as_bytes()[r]
    }
}

impl World {
    /// Build the population of a (validated) scenario. The sections run in a fixed order,
    /// each drawing from the builder's or the customer's RNG stream, so the same scenario
    /// and seed always give the same world.
    pub fn build(sc: &Scenario) -> World {
        let inst = &sc.institution;
        let seed = inst.seed;
        let home = inst.country;
        let clock = Clock::new(sc);
        let mut b = Builder::new(seed, home);
        let pools = build_pools(&mut b, sc, home);
        let (archetypes, n_buyers) = population(sc, &mut b.rng);
        let mut market = FacilitatorMarket::create(&mut b, sc, n_buyers);
        let mut payees = SharedPayees::create(&mut b, sc);
        let mut procs = Processes { seed, list: Vec::with_capacity(archetypes.len() * 3) };
        let month_refs: Vec<u32> = (0..clock.cal.months())
            .map(|i| {
                let mn = clock.cal.month_numbers[i] as usize;
                b.intern(&format!("Miete {}", MONTHS_DE[mn - 1]))
            })
            .collect();
        let ctx = Context { sc, cal: &clock.cal, pools: &pools, home };
        let mut customers = Vec::with_capacity(archetypes.len());
        for (ci, &arch) in archetypes.iter().enumerate() {
            let mut life = Life { ctx: &ctx, b: &mut b, procs: &mut procs, customer: ci as u32 };
            life.build(arch, &mut market, &mut payees);
            customers.push(Customer { archetype: arch });
        }
        let ref_sets = reference_sets(&mut b);
        let period_utc = (
            clock.tz[0].local_to_utc(clock.cal.local_secs(0)).0,
            clock.tz[0].local_to_utc(clock.cal.local_secs(clock.cal.n_days as i64)).0,
        );
        let moved_at = movers(&mut b, sc, &customers, period_utc);
        let wallet_moved_at = wallet_movers(&mut b, sc, period_utc);
        let Builder { recipients, refs, text, .. } = b;
        let Clock { cal, tz, tz_of_country, fx_php } = clock;
        World {
            moved_at,
            wallet_moved_at,
            text,
            shared: Shared {
                scenario: sc.clone(),
                currency: inst.currency,
                cal,
                tz,
                tz_of_country,
                fx_php,
                refs,
                pools,
                php: cc("PH"),
                month_refs,
                ref_sets,
                recipients,
                period_utc,
            },
            customers,
            procs: procs.list,
        }
    }
}

/// Which customers move to a second account, and when: between 30 % and 80 % into the
/// period, so both accounts have payments. The second account is a new IBAN at the
/// institution under the same name.
fn movers(b: &mut Builder, sc: &Scenario, customers: &[Customer], period: (i64, i64)) -> Vec<i64> {
    let a = &sc.accounts;
    let len = (period.1 - period.0) as f64;
    let mut moved_at = vec![i64::MAX; customers.len()];
    for (ci, c) in customers.iter().enumerate() {
        let mut rng = rng_for(b.seed, MOVERS, ci as u64);
        let share = if c.archetype.is_buyer() { a.buyer_mover_share } else { a.mover_share };
        if share <= 0.0 || rng.random::<f64>() >= share {
            continue;
        }
        moved_at[ci] = period.0 + (len * rng.random_range(0.3..0.8)) as i64;
        let name = b.text.customer(ci as u32).1.to_string();
        b.new_id(b.home, false, true);
        let span = b.text.pack(&b.id_buf.clone(), &name);
        b.text.second.insert(ci as u32, span);
    }
    moved_at
}

/// Which facilitators move to a second wallet (same name, same country), and when: between
/// 30 % and 80 % into the period.
fn wallet_movers(b: &mut Builder, sc: &Scenario, period: (i64, i64)) -> Vec<i64> {
    let share = sc.accounts.facilitator_wallet_move_share;
    let len = (period.1 - period.0) as f64;
    let mut moved_at = vec![i64::MAX; b.recipients.len()];
    for (ri, at) in moved_at.iter_mut().enumerate() {
        let (kind, country) = (b.recipients[ri].kind, b.recipients[ri].country);
        if !kind.is_facilitator() || share <= 0.0 {
            continue;
        }
        let mut rng = rng_for(b.seed, WALLETS, ri as u64);
        if rng.random::<f64>() >= share {
            continue;
        }
        *at = period.0 + (len * rng.random_range(0.3..0.8)) as i64;
        let name = b.text.recipient(ri as u32).1.to_string();
        b.new_id(country, false, false);
        let span = b.text.pack(&b.id_buf.clone(), &name);
        b.text.second_wallet.insert(ri as u32, span);
    }
    moved_at
}

/// The period's calendar, the time zone tables (the institution's first, then the
/// destinations') and the daily EUR/PHP path.
struct Clock {
    cal: Calendar,
    tz: Vec<TzTable>,
    tz_of_country: HashMap<CountryCode, u8>,
    fx_php: Vec<f64>,
}

impl Clock {
    fn new(sc: &Scenario) -> Clock {
        let inst = &sc.institution;
        let (y, m, d) = parse_date(&inst.start_date).expect("scenario validation checks institution.start_date");
        let cal = Calendar::new(y, m, d, inst.months);
        let home_tz: chrono_tz::Tz =
            inst.timezone.parse::<chrono_tz::Tz>().expect("scenario validation checks institution.timezone");
        let span = (cal.local_secs(-3), cal.local_secs(cal.n_days as i64 + 3));
        let mut tz = vec![TzTable::new(home_tz, span.0, span.1)];
        let mut tz_of_country = HashMap::new();
        tz_of_country.insert(inst.country, 0u8);
        for (c, name) in DESTINATION_ZONES {
            let Ok(z) = name.parse::<chrono_tz::Tz>() else { continue };
            tz_of_country.entry(cc(c)).or_insert_with(|| {
                tz.push(TzTable::new(z, span.0, span.1));
                (tz.len() - 1) as u8
            });
        }
        let fx_php = fx_path(inst.seed, sc.fx.php_per_base, sc.fx.daily_volatility, cal.n_days + 2);
        Clock { cal, tz, tz_of_country, fx_php }
    }
}

/// Every customer's archetype, with exact counts (not sampled, so small worlds still
/// contain every kind), shuffled; and the number of buyers.
fn population(sc: &Scenario, rng: &mut Rng) -> (Vec<Archetype>, usize) {
    let n = sc.institution.customers as usize;
    let p = &sc.population;
    let mut archetypes: Vec<Archetype> = Vec::with_capacity(n);
    let count = |share: f64| ((share * n as f64).round() as usize).min(n);
    let n_buyers = count(p.buyer);
    let n_diaspora = count(p.diaspora_family);
    let n_extended = (n_diaspora as f64 * sc.diaspora.extended_family_share).round() as usize;
    archetypes.extend(std::iter::repeat_n(Archetype::DiasporaExtendedFamily, n_extended));
    archetypes.extend(std::iter::repeat_n(Archetype::DiasporaFamily, n_diaspora - n_extended));
    for (share, a) in [
        (p.partner_abroad, Archetype::PartnerAbroad),
        (p.adult_webcam, Archetype::AdultWebcam),
        (p.romance_scam_victim, Archetype::RomanceScamVictim),
        (p.child_sponsor, Archetype::ChildSponsor),
        (p.traveller, Archetype::Traveller),
        (p.sextortion_victim, Archetype::SextortionVictim),
    ] {
        archetypes.extend(std::iter::repeat_n(a, count(share)));
    }
    let bm = &sc.buyers;
    let n_stealthy = (n_buyers as f64 * bm.stealthy_share).round() as usize;
    let cm = &bm.class_mix;
    let cm_total = cm.light + cm.medium + cm.heavy;
    let rest = n_buyers - n_stealthy;
    let n_heavy = (rest as f64 * cm.heavy / cm_total).round() as usize;
    let n_medium = ((rest as f64 * cm.medium / cm_total).round() as usize).min(rest - n_heavy);
    archetypes.extend(std::iter::repeat_n(Archetype::StealthyBuyer, n_stealthy));
    archetypes.extend(std::iter::repeat_n(Archetype::HeavyBuyer, n_heavy));
    archetypes.extend(std::iter::repeat_n(Archetype::MediumBuyer, n_medium));
    archetypes.extend(std::iter::repeat_n(Archetype::LightBuyer, rest - n_heavy - n_medium));
    archetypes.truncate(n);
    archetypes.resize(n, Archetype::DomesticEveryday);
    archetypes.shuffle(rng);
    (archetypes, n_buyers)
}

/// The shared reference vocabularies, interned.
fn reference_sets(b: &mut Builder) -> RefSets {
    use crate::names::{FAMILY_ONLY_REFS, FRIEND_REFS, REMITTANCE_REFS, ROMANCE_REFS, TIP_REFS};
    let mut set = |list: &[&str]| list.iter().map(|r| b.intern(r)).collect::<Vec<u32>>();
    RefSets {
        remittance: set(REMITTANCE_REFS),
        family_only: set(FAMILY_ONLY_REFS),
        friend: set(FRIEND_REFS),
        romance: set(ROMANCE_REFS),
        tip: set(TIP_REFS),
    }
}

/// Time zones of the destination countries, for card spending abroad.
pub(super) const DESTINATION_ZONES: &[(&str, &str)] = &[
    ("PH", "Asia/Manila"),
    ("TH", "Asia/Bangkok"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("ID", "Asia/Jakarta"),
    ("KH", "Asia/Phnom_Penh"),
    ("CO", "America/Bogota"),
    ("DO", "America/Santo_Domingo"),
];
