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

const BUILD: u64 = 0xB111D;

/// Builds the population; separate from `World` so the registries can grow while the
/// shared tables are read.
struct Builder {
    seed: u64,
    rng: Rng,
    recipients: Vec<Recipient>,
    /// Numeric identity of every id handed out, to keep ids unique without storing strings.
    used_ids: FxHashSet<u64>,
    id_buf: String,
    text: EntityText,
    refs: Vec<Box<str>>,
    ref_index: HashMap<Box<str>, u32>,
    home: CountryCode,
    ngos: HashMap<usize, u32>,
}

impl Builder {
    fn new(seed: u64, home: CountryCode) -> Builder {
        Builder {
            seed,
            rng: rng_for(seed, BUILD, 0),
            recipients: Vec::new(),
            used_ids: FxHashSet::default(),
            id_buf: String::new(),
            text: EntityText { buf: String::new(), customers: Vec::new(), recipients: Vec::new() },
            refs: vec!["".into()],
            ref_index: HashMap::from([(Box::from(""), 0u32)]),
            home,
            ngos: HashMap::new(),
        }
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.ref_index.get(s) {
            return *i;
        }
        let i = self.refs.len() as u32;
        self.refs.push(s.into());
        self.ref_index.insert(s.into(), i);
        i
    }

    /// A unique account id, written to `self.id_buf`. Domestic accounts are IBANs with valid
    /// check digits; foreign accounts and wallets are the country code and twelve digits.
    /// Digits come from a keyed mix of a counter, so ids say nothing about who or what is
    /// behind them.
    fn new_id(&mut self, country: CountryCode, merchant: bool, own_customer: bool) {
        use std::fmt::Write as _;
        let mut n = self.used_ids.len() as u64;
        let cc = u16::from_be_bytes(country.as_bytes()) as u64;
        loop {
            let x = mix64(self.seed ^ 0x1D5, n);
            n = n.wrapping_add(0x9E37_79B9);
            self.id_buf.clear();
            let key = if merchant {
                let v = x % 10_000_000_000;
                let _ = write!(self.id_buf, "M{country}{v:010}");
                (1 << 62) | (cc << 40) | v
            } else if country == self.home {
                // The institution's own customers share its bank code; other domestic
                // accounts are spread over twenty other banks.
                let which = if own_customer { 0 } else { 1 + (x >> 48) % 20 };
                let bank = 10_000_000 + mix64(self.seed, which) % 89_999_999;
                let acct = x % 10_000_000_000;
                self.id_buf.push_str(&iban(country.as_str(), &format!("{bank:08}{acct:010}")));
                (2 << 62) | (which << 40) | acct
            } else {
                let v = x % 1_000_000_000_000;
                let _ = write!(self.id_buf, "{country}{v:012}");
                (3 << 62) | (cc << 45) | v
            };
            if self.used_ids.insert(key) {
                return;
            }
        }
    }

    fn person_name(&mut self, culture: Culture, surname: Option<&'static str>) -> String {
        let given = *culture.given_names().choose(&mut self.rng).expect("every culture has given names");
        let sur = surname
            .unwrap_or_else(|| culture.surnames().choose(&mut self.rng).copied().expect("every culture has surnames"));
        format!("{given} {sur}")
    }

    fn add_recipient(&mut self, name: &str, country: CountryCode, kind: RecipientKind, mcc: u16) -> u32 {
        self.new_id(country, kind == RecipientKind::Merchant, false);
        self.text.push_recipient(&self.id_buf, name);
        self.recipients.push(Recipient { country, kind, mcc });
        (self.recipients.len() - 1) as u32
    }

    fn add_customer(&mut self, name: &str) {
        self.new_id(self.home, false, true);
        self.text.push_customer(&self.id_buf, name);
    }

    fn recipient_name(&self, r: u32) -> &str {
        self.text.recipient(r).1
    }

    fn add_person(&mut self, country: CountryCode, kind: RecipientKind, surname: Option<&'static str>) -> u32 {
        let name = self.person_name(Culture::of_country(country.as_str()), surname);
        self.add_recipient(&name, country, kind, 0)
    }

    fn pool(&mut self, n: u32, country: CountryCode, stem: &str, mcc: u16, median: f32) -> Pool {
        let mut p = Pool { members: Vec::new(), median: Vec::new() };
        for i in 0..n {
            let name = format!("{stem} {:03}", i + 1);
            let r = self.add_recipient(&name, country, RecipientKind::Merchant, mcc);
            p.members.push(r);
            // Each merchant has its own typical ticket around the category median.
            let m = median * (0.6 + 0.8 * self.rng.random::<f32>());
            p.median.push(m);
        }
        p
    }
}

/// IBAN with ISO 7064 mod-97 check digits.
fn iban(country: &str, bban: &str) -> String {
    let mut rem: u32 = 0;
    let rearranged = format!("{bban}{country}00");
    for c in rearranged.chars() {
        let digits = if c.is_ascii_digit() { c.to_digit(10).unwrap_or(0) } else { c as u32 - 'A' as u32 + 10 };
        if digits >= 10 {
            rem = (rem * 100 + digits) % 97;
        } else {
            rem = (rem * 10 + digits) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

/// The general customer base's naming cultures (a German bank); buyers are drawn from the
/// same mix, so a name never hints at the archetype.
fn general_culture(rng: &mut Rng) -> Culture {
    let x: f64 = rng.random();
    match x {
        x if x < 0.85 => Culture::German,
        x if x < 0.90 => Culture::Turkish,
        x if x < 0.93 => Culture::English,
        x if x < 0.96 => Culture::Romanian,
        x if x < 0.98 => Culture::Hispanic,
        x if x < 0.99 => Culture::Vietnamese,
        _ => Culture::Filipino,
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
        let Builder { recipients, refs, text, .. } = b;
        let Clock { cal, tz, tz_of_country, fx_php } = clock;
        let period_utc =
            (tz[0].local_to_utc(cal.local_secs(0)).0, tz[0].local_to_utc(cal.local_secs(cal.n_days as i64)).0);
        World {
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

/// The facilitators, created before the customers: buyers attach to them by preferential
/// attachment, and some diaspora senders are their kin.
struct FacilitatorMarket {
    ids: Vec<u32>,
    /// Attractiveness per facilitator (accounts of children dealt with directly attract
    /// fewer buyers, R3).
    weight: Vec<f64>,
    /// Buyers attached so far per facilitator.
    degree: Vec<u32>,
    smoothing: f64,
    /// Facilitators still waiting for a diaspora customer of their country as kin.
    kin_pending: Vec<u32>,
}

impl FacilitatorMarket {
    fn create(b: &mut Builder, sc: &Scenario, n_buyers: usize) -> FacilitatorMarket {
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
    fn attach(&mut self, rng: &mut Rng, mine: &[Link]) -> u32 {
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
struct SharedPayees {
    /// Households still open for another paying relative: (country, recipient, places left).
    households: Vec<(CountryCode, u32, u32)>,
    /// Community payees.
    community: Vec<u32>,
    /// Cam performers already tipped, with their country.
    performers: Vec<(CountryCode, u32)>,
}

impl SharedPayees {
    fn create(b: &mut Builder, sc: &Scenario) -> SharedPayees {
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
    fn household(
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
    fn performer(&mut self, b: &mut Builder, rng: &mut Rng, sc: &Scenario, c: CountryCode) -> u32 {
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
struct Processes {
    seed: u64,
    list: Vec<Process>,
}

impl Processes {
    fn add(&mut self, customer: u32, behaviour: Behaviour) {
        let k = self.list.len() as u64;
        self.list.push(Process::new(customer, rng_for(self.seed, 0x9000, k), behaviour));
    }
}

/// What every customer's build reads.
struct Context<'a> {
    sc: &'a Scenario,
    cal: &'a Calendar,
    pools: &'a Pools,
    home: CountryCode,
}

/// One customer being built: a name, everyday life, and the habits of its archetype.
struct Life<'a, 'b> {
    ctx: &'a Context<'a>,
    b: &'b mut Builder,
    procs: &'b mut Processes,
    customer: u32,
}

impl Life<'_, '_> {
    fn add(&mut self, behaviour: Behaviour) {
        self.procs.add(self.customer, behaviour);
    }

    fn build(&mut self, arch: Archetype, market: &mut FacilitatorMarket, payees: &mut SharedPayees) {
        let mut crng = rng_for(self.b.seed, 0xC057, self.customer as u64);
        let (origin, kin, surname) = self.name(arch, market, &mut crng);
        self.everyday(arch, &mut crng);
        match arch {
            Archetype::DomesticEveryday => {}
            Archetype::DiasporaFamily | Archetype::DiasporaExtendedFamily => {
                let origin = origin.expect("a diaspora customer's origin is drawn in Life::name");
                self.diaspora(arch, origin, kin, surname, payees, &mut crng);
                self.community(payees, &mut crng);
            }
            Archetype::PartnerAbroad => {
                self.partner(&mut crng);
                self.community(payees, &mut crng);
            }
            Archetype::AdultWebcam => self.adult_webcam(payees, &mut crng),
            Archetype::RomanceScamVictim => self.romance_victim(&mut crng),
            Archetype::ChildSponsor => self.child_sponsor(&mut crng),
            Archetype::Traveller => {
                let trips = plan_trips(self.b, &mut crng, self.ctx, None, self.ctx.sc.traveller.trips_per_year);
                self.add(Behaviour::Trips(Trips { trips }));
            }
            Archetype::SextortionVictim => self.sextortion_victim(&mut crng),
            Archetype::LightBuyer | Archetype::MediumBuyer | Archetype::HeavyBuyer | Archetype::StealthyBuyer => {
                self.buyer(arch, market, &mut crng)
            }
        }
    }

    /// The customer's name: diaspora senders carry their origin's names, everyone else the
    /// general mix; a kin link to a facilitator fixes the surname. Returns the origin, the
    /// kin facilitator and the surname.
    fn name(
        &mut self,
        arch: Archetype,
        market: &mut FacilitatorMarket,
        crng: &mut Rng,
    ) -> (Option<CountryCode>, Option<u32>, &'static str) {
        let b = &mut *self.b;
        let mut origin = None;
        let mut kin = None;
        let culture = match arch {
            Archetype::DiasporaFamily | Archetype::DiasporaExtendedFamily => {
                let o = pick_country(crng, &self.ctx.sc.diaspora.origins);
                origin = Some(o);
                if let Some(pos) = market.kin_pending.iter().position(|f| b.recipients[*f as usize].country == o) {
                    kin = Some(market.kin_pending.swap_remove(pos));
                }
                Culture::of_country(o.as_str())
            }
            _ => general_culture(crng),
        };
        let kin_surname = kin
            .map(|f| surname_of(b.recipient_name(f), Culture::of_country(b.recipients[f as usize].country.as_str())));
        let given = *culture.given_names().choose(crng).expect("every culture has given names");
        let surname = kin_surname
            .unwrap_or_else(|| culture.surnames().choose(crng).copied().expect("every culture has surnames"));
        b.add_customer(&format!("{given} {surname}"));
        (origin, kin, surname)
    }

    /// Everyday life, common to all customers (buyers included: they live ordinary lives).
    fn everyday(&mut self, arch: Archetype, crng: &mut Rng) {
        let (sc, pools, home) = (self.ctx.sc, self.ctx.pools, self.ctx.home);
        let dm = &sc.domestic;
        let bm = &sc.buyers;
        self.add(Behaviour::Card(Card { rate_per_day: gamma_rate(crng, dm.card_payments_per_month) / 30.4 }));
        if crng.random::<f64>() < dm.rent_share {
            let landlord = self.b.add_person(home, RecipientKind::Landlord, None);
            let amount = (lognormal(crng, dm.rent_median, 0.3) / 10.0).round() * 10.0;
            let day = crng.random_range(1..=3);
            self.add(Behaviour::Rent(Rent { landlord, amount: cents(amount), day }));
        }
        let friend_rate = gamma_rate(crng, dm.friend_transfers_per_month) / 30.4;
        if friend_rate > 0.0 {
            let k = crng.random_range(1..=5);
            let friends = (0..k).map(|_| self.b.add_person(home, RecipientKind::Friend, None)).collect();
            self.add(Behaviour::Friends(Friends {
                friends,
                rate_per_day: friend_rate,
                median: dm.friend_amount_median,
            }));
        }
        let mut subs = vec![pick_member(crng, &pools.phone)];
        if crng.random::<f64>() < 0.6 {
            subs.push(pick_member(crng, &pools.streaming));
        }
        if crng.random::<f64>() < 0.2 {
            subs.push(pick_member(crng, &pools.gym));
        }
        let vpn_share = if arch.is_buyer() { bm.vpn_share } else { dm.vpn_subscriber_share };
        if crng.random::<f64>() < vpn_share {
            subs.push(pick_member(crng, &pools.vpn));
        }
        let items = subs
            .into_iter()
            .map(|(r, med)| (r, cents((med as f64).round() - 0.01), crng.random_range(1..=28)))
            .collect();
        self.add(Behaviour::Subscriptions(Subscriptions { items }));
        let cam_share = if arch.is_buyer() { bm.cam_token_share } else { dm.cam_site_share };
        if arch != Archetype::AdultWebcam && crng.random::<f64>() < cam_share {
            self.add(Behaviour::Merchant(Merchant {
                pool: PoolId::Cam,
                rate_per_day: 1.0 / 30.4,
                night_share: 0.7,
                channel: Channel::Card,
            }));
        }
        if crng.random::<f64>() < dm.crypto_buyer_share {
            self.add(Behaviour::Merchant(Merchant {
                pool: PoolId::Crypto,
                rate_per_day: 0.5 / 30.4,
                night_share: 0.2,
                channel: Channel::Crypto,
            }));
        }
    }

    /// Remittances to the family at home (several relatives for an extended family).
    fn diaspora(
        &mut self,
        arch: Archetype,
        o: CountryCode,
        kin: Option<u32>,
        surname: &'static str,
        payees: &mut SharedPayees,
        crng: &mut Rng,
    ) {
        let dsc = &self.ctx.sc.diaspora;
        let k = if arch == Archetype::DiasporaExtendedFamily {
            crng.random_range(dsc.extended_recipients[0]..=dsc.extended_recipients[1])
        } else {
            crng.random_range(1..=dsc.recipients_max)
        };
        let mut recips = Vec::new();
        if let Some(f) = kin {
            recips.push(f);
        } else if crng.random::<f64>() < self.ctx.sc.hubs.family_hub_share {
            recips.push(payees.household(self.b, crng, self.ctx.sc, o, surname));
        }
        while recips.len() < k as usize {
            let same = crng.random::<f64>() < dsc.same_surname_share;
            recips.push(self.b.add_person(o, RecipientKind::FamilyMember, same.then_some(surname)));
        }
        let monthly = lognormal(crng, dsc.monthly_amount_median, dsc.amount_sigma);
        let payday = *dsc.payday_days.choose(crng).expect("scenario validation: diaspora.payday_days is non-empty");
        let channel = pick_channel(crng, &dsc.channels);
        self.add(Behaviour::Family(Family { recipients: recips, monthly, payday, channel }));
    }

    /// A partner abroad and the in-laws, paid monthly and now and then.
    fn partner(&mut self, rng: &mut Rng) {
        let pa = &self.ctx.sc.partner;
        let c = pick_country(rng, &pa.destinations);
        let partner = self.b.add_person(c, RecipientKind::Partner, None);
        let psur = surname_of(self.b.recipient_name(partner), Culture::of_country(c.as_str()));
        let k = rng.random_range(0..=pa.in_laws_max);
        let in_laws = (0..k).map(|_| self.b.add_person(c, RecipientKind::InLaw, Some(psur))).collect();
        let monthly = lognormal(rng, pa.monthly_amount_median, 0.4);
        self.add(Behaviour::Partner(Partner { partner, in_laws, monthly, day: rng.random_range(1..=28) }));
    }

    /// Donations, tuition or store credit to one or two community payees, for some customers.
    fn community(&mut self, payees: &SharedPayees, crng: &mut Rng) {
        let h = &self.ctx.sc.hubs;
        if crng.random::<f64>() >= h.community_payer_share {
            return;
        }
        let n = crng.random_range(1..=2);
        let chosen = (0..n).map(|_| *payees.community.choose(crng).expect("validation: hubs.community_payees >= 1"));
        let chosen = chosen.collect();
        let rate_per_day = gamma_rate(crng, h.community_payments_per_year / 12.0) / 30.4;
        self.add(Behaviour::Community(Community { payees: chosen, rate_per_day, median: h.community_amount_median }));
    }

    /// Cam-site tokens at night, and for some tips to performers abroad.
    fn adult_webcam(&mut self, payees: &mut SharedPayees, crng: &mut Rng) {
        let w = &self.ctx.sc.webcam;
        let rate = gamma_rate(crng, w.token_purchases_per_month) / 30.4;
        self.add(Behaviour::Merchant(Merchant {
            pool: PoolId::Cam,
            rate_per_day: rate,
            night_share: w.night_share,
            channel: Channel::Card,
        }));
        if crng.random::<f64>() < w.tipper_share {
            let k = crng.random_range(1..=w.performers_max);
            let n_days = self.ctx.cal.n_days as f64;
            let performers = (0..k)
                .map(|_| {
                    let c = pick_country(crng, &w.performer_countries);
                    let r = payees.performer(self.b, crng, self.ctx.sc, c);
                    let start = crng.random::<f64>() * n_days * 0.8;
                    let len = lognormal(crng, 120.0, 0.8);
                    Link { recipient: r, start, end: start + len, weight: 1.0 }
                })
                .collect();
            self.add(Behaviour::Tips(Tips { performers, rate_per_day: gamma_rate(crng, w.tips_per_month) / 30.4 }));
        }
    }

    /// Growing payments to a romance scammer, sometimes moving to a second one.
    fn romance_victim(&mut self, crng: &mut Rng) {
        let r = &self.ctx.sc.romance;
        let c = pick_country(crng, &r.destinations);
        let first = self.b.add_person(c, RecipientKind::RomanceScammer, None);
        let second = self.b.add_person(pick_country(crng, &r.destinations), RecipientKind::RomanceScammer, None);
        let n_pay = crng.random_range(r.payments[0]..=r.payments[1]);
        let switch_at =
            if crng.random::<f64>() < r.new_recipient_share { crng.random_range(1..=n_pay) } else { u32::MAX };
        let start = crng.random::<f64>() * self.ctx.cal.n_days as f64 * 0.7;
        self.add(Behaviour::Romance(Romance {
            recipients: [first, second],
            n_pay,
            switch_at,
            t: start,
            k: 0,
            amount: lognormal(crng, r.first_amount_median, 0.4),
        }));
    }

    /// A monthly child sponsorship to an NGO, with the child's name in the reference.
    fn child_sponsor(&mut self, crng: &mut Rng) {
        let s = &self.ctx.sc.sponsor;
        let ngo = ngo_recipient(self.b, crng, s.ngos, &s.ngo_countries);
        let amount =
            *s.monthly_amounts.choose(crng).expect("scenario validation: sponsor.monthly_amounts is non-empty");
        let child = Culture::Filipino.given_names().choose(crng).copied().expect("every culture has given names");
        let no: u32 = crng.random_range(10_000..99_999);
        let reference = self.b.intern(&format!("school fees {child} Pate {no}"));
        self.add(Behaviour::Sponsor(Sponsor { ngo, amount: cents(amount), day: crng.random_range(1..=3), reference }));
    }

    /// A burst of escalating payments to one sextortionist, up to a total.
    fn sextortion_victim(&mut self, crng: &mut Rng) {
        let s = &self.ctx.sc.sextortion;
        let c = pick_country(crng, &s.destinations);
        let r = self.b.add_person(c, RecipientKind::Sextortionist, None);
        let k = crng.random_range(s.payments[0]..=s.payments[1]);
        let start = crng.random_range(0..self.ctx.cal.n_days.max(1));
        let mut total = 0.0;
        let mut plan = Vec::new();
        let mut amount = crng.random_range(30.0..s.first_payment_max);
        for _ in 0..k {
            if total + amount > s.total_max {
                break;
            }
            let day = start + crng.random_range(0..=s.burst_days_max);
            plan.push((day, cents((amount / 5.0).round() * 5.0)));
            total += amount;
            amount *= crng.random_range(1.0..1.8);
        }
        plan.sort_unstable();
        self.add(Behaviour::Sextortion(Sextortion { recipient: r, plan }));
    }

    /// A buyer's career: its rate, length and escalation, the facilitators it pays over
    /// time, and the partner abroad or trips some buyers also have.
    fn buyer(&mut self, arch: Archetype, market: &mut FacilitatorMarket, crng: &mut Rng) {
        let (sc, cal) = (self.ctx.sc, self.ctx.cal);
        let bm = &sc.buyers;
        let n_days = cal.n_days as f64;
        let range = match arch {
            Archetype::HeavyBuyer => bm.heavy_per_month,
            Archetype::MediumBuyer => bm.medium_per_month,
            Archetype::LightBuyer => bm.light_per_month,
            // Stealthy buyers keep a steady medium-ish cadence.
            _ => [1.0, bm.medium_per_month[0].max(1.0) + 1.0],
        };
        let rate = crng.random_range(range[0]..=range[1]) / 30.4;
        let career =
            lognormal(crng, bm.career_median_months, 0.8).clamp(bm.career_months[0], bm.career_months[1]) * 30.4;
        let stealthy = arch == Archetype::StealthyBuyer;
        // One-off payers (R1) make one to three payments, all inside the period.
        let one_off = !stealthy && crng.random::<f64>() < bm.one_off_share;
        // Careers overlap the period; many started before it (§3.2: years-long careers).
        let start = if one_off {
            crng.random::<f64>() * (n_days - 30.0).max(1.0)
        } else {
            -career + crng.random::<f64>() * (n_days + career - 14.0).max(1.0)
        };
        let end = start + career;
        let esc = crng.random_range(bm.escalation[0]..=bm.escalation[1]);
        let remaining = if one_off { crng.random_range(1..=3) } else { u32::MAX };
        let mut links: Vec<Link> = Vec::new();
        let churn = bm.facilitator_months_mean * 30.4;
        let mut t = start;
        loop {
            let life = if stealthy { career } else { -churn * (1.0 - crng.random::<f64>()).ln() };
            let e = (t + life).min(end);
            let r = market.attach(crng, &links);
            links.push(Link { recipient: r, start: t, end: e, weight: 2.0 });
            if e >= end {
                break;
            }
            t = e;
        }
        if !stealthy && !one_off {
            for _ in 0..poisson(crng, bm.extra_facilitators_mean) {
                let s = start + crng.random::<f64>() * career;
                let life = -churn * (1.0 - crng.random::<f64>()).ln();
                let r = market.attach(crng, &links);
                links.push(Link { recipient: r, start: s, end: (s + life).min(end), weight: 1.0 });
            }
        }
        let stealth_amount =
            [50.0, 80.0, 100.0, 120.0, 150.0].choose(crng).copied().expect("a non-empty constant list");
        let stealth_day = crng.random_range(1..=28);
        self.add(Behaviour::Osec(Osec {
            heavy: arch == Archetype::HeavyBuyer,
            stealthy,
            rate_per_day: rate,
            career_start: start,
            career_end: end,
            escalation: esc,
            links,
            t: start.max(0.0),
            stealth_amount,
            stealth_day,
            remaining,
        }));
        if crng.random::<f64>() < bm.partner_abroad_share {
            self.partner(crng);
        }
        if crng.random::<f64>() < bm.travel_share {
            let trips = plan_trips(self.b, crng, self.ctx, Some(cc("PH")), 1.5);
            self.add(Behaviour::Trips(Trips { trips }));
        }
    }
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
const DESTINATION_ZONES: &[(&str, &str)] = &[
    ("PH", "Asia/Manila"),
    ("TH", "Asia/Bangkok"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("ID", "Asia/Jakarta"),
    ("KH", "Asia/Phnom_Penh"),
    ("CO", "America/Bogota"),
    ("DO", "America/Santo_Domingo"),
];

fn surname_of(full: &str, culture: Culture) -> &'static str {
    culture
        .surnames()
        .iter()
        .filter(|s| full.ends_with(&format!(" {s}")))
        .max_by_key(|s| s.len())
        .copied()
        .expect("a kin or partner name was made from this culture's surnames")
}

fn ngo_recipient(b: &mut Builder, rng: &mut Rng, n: u32, countries: &CountryMix) -> u32 {
    // NGOs are shared by many sponsors: created once per (index), then reused.
    let i = rng.random_range(0..n) as usize;
    let name = NGO_NAMES[i % NGO_NAMES.len()];
    let name = if i >= NGO_NAMES.len() { format!("{name} {}", i / NGO_NAMES.len() + 1) } else { name.to_string() };
    if let Some(r) = b.ngos.get(&i) {
        return *r;
    }
    let mut crng = rng_for(b.seed, 0x460, i as u64);
    let c = pick_country(&mut crng, countries);
    let r = b.add_recipient(&name, c, RecipientKind::Ngo, 0);
    b.ngos.insert(i, r);
    r
}

/// Trips abroad (to `dest`, or to the scenario's destinations), with friends made there.
fn plan_trips(
    b: &mut Builder,
    rng: &mut Rng,
    ctx: &Context<'_>,
    dest: Option<CountryCode>,
    per_year: f64,
) -> Vec<Trip> {
    let (cal, pools) = (ctx.cal, ctx.pools);
    let t = &ctx.sc.traveller;
    let years = cal.n_days as f64 / 365.0;
    let k = poisson(rng, per_year * years).max(1);
    let mut trips: Vec<Trip> = (0..k)
        .map(|_| {
            let c = dest.unwrap_or_else(|| pick_country(rng, &t.destinations));
            let start = rng.random_range(0..cal.n_days.max(1));
            let len = rng.random_range(t.trip_days[0]..=t.trip_days[1]);
            let nf = rng.random_range(0..=t.local_friends_max);
            let friends = (0..nf).map(|_| b.add_person(c, RecipientKind::LocalFriend, None)).collect();
            let airline = pick_member(rng, &pools.airlines).0;
            Trip { country: c, start, len, friends, airline }
        })
        .collect();
    trips.sort_by_key(|t| t.start);
    trips
}

fn build_pools(b: &mut Builder, sc: &Scenario, home: CountryCode) -> Pools {
    // Everyday categories with their share of card payments and typical ticket (assumptions).
    const DOMESTIC: &[(&str, u16, f32, u32)] = &[
        ("Supermarkt", 5411, 35.0, 30),
        ("Restaurant", 5812, 28.0, 18),
        ("Tankstelle", 5541, 55.0, 10),
        ("Apotheke", 5912, 18.0, 7),
        ("Bekleidung", 5651, 60.0, 8),
        ("Elektronik", 5732, 90.0, 4),
        ("Drogerie", 5977, 15.0, 8),
        ("Nahverkehr", 4111, 12.0, 6),
        ("Onlinehandel", 5999, 40.0, 9),
    ];
    let total: u32 = DOMESTIC.iter().map(|d| d.3).sum();
    let mut domestic = Pool { members: Vec::new(), median: Vec::new() };
    for (stem, mcc, median, share) in DOMESTIC {
        let k = (sc.domestic.merchants * share / total).max(1);
        let p = b.pool(k, home, stem, *mcc, *median);
        domestic.members.extend(p.members);
        domestic.median.extend(p.median);
    }
    let intl = |b: &mut Builder, spec: &[(&str, &str)], mcc: u16, median: f32| {
        let mut p = Pool { members: Vec::new(), median: Vec::new() };
        for (country, name) in spec {
            let r = b.add_recipient(name, cc(country), RecipientKind::Merchant, mcc);
            p.members.push(r);
            p.median.push(median * (0.7 + 0.6 * b.rng.random::<f32>()));
        }
        p
    };
    // Fictitious merchants. Cam-site token sellers (MCC 5967) serve both adult consumers
    // and, through bought tokens, some buyers (OS-11, OS-17).
    let cam = intl(
        b,
        &[
            ("NL", "LiveCam Media B.V."),
            ("CY", "StreamStars Ltd"),
            ("US", "CamVille Inc."),
            ("CZ", "Tokenpay s.r.o."),
            ("MT", "NightShow Entertainment Ltd"),
            ("GB", "WebModel Payments Ltd"),
        ],
        5967,
        30.0,
    );
    let vpn = intl(
        b,
        &[
            ("PA", "SecureTunnel VPN"),
            ("CH", "Alpine Privacy AG"),
            ("VG", "HideWay Networks"),
            ("SE", "Nordlys Net AB"),
            ("NL", "PrivaNet B.V."),
            ("US", "ShieldLink LLC"),
        ],
        4816,
        9.0,
    );
    let crypto = intl(
        b,
        &[
            ("MT", "CoinHarbour Ltd"),
            ("LT", "Baltic Digital Assets UAB"),
            ("US", "BlockBridge Inc."),
            ("DE", "Kryptokontor GmbH"),
        ],
        6051,
        100.0,
    );
    let airlines = intl(
        b,
        &[
            ("DE", "Lufthansa-like Air"),
            ("PH", "Island Air Express"),
            ("QA", "Gulf Skyways"),
            ("AE", "Desert Wings"),
            ("TR", "Bosporus Air"),
            ("TH", "Siam Skylines"),
        ],
        4511,
        900.0,
    );
    let phone = intl(b, &[("DE", "Mobilfunk Eins"), ("DE", "Telekomm Plus"), ("DE", "Funknetz 3")], 4814, 25.0);
    let streaming = intl(b, &[("NL", "FlixStream"), ("US", "TuneBox"), ("LU", "VideoWave")], 4899, 12.0);
    let gym = intl(b, &[("DE", "FitWerk Studio"), ("DE", "Kraftraum 24")], 7997, 30.0);
    let mut abroad = BTreeMap::new();
    let mut dests: Vec<CountryCode> = sc.traveller.destinations.keys().copied().collect();
    dests.push(cc("PH"));
    dests.sort();
    dests.dedup();
    for c in dests {
        let hotels = b.pool(15, c, "Hotel", 7011, 80.0);
        let shops = b.pool(30, c, "Restaurant", 5812, 15.0);
        let atms = b.pool(10, c, "ATM", 6011, 100.0);
        abroad.insert(c, (hotels, shops, atms));
    }
    Pools { domestic, cam, vpn, crypto, airlines, phone, streaming, gym, abroad }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_have_valid_check_digits() {
        let i = iban("DE", "370400440532013000");
        assert_eq!(i, "DE89370400440532013000"); // the well-known example IBAN
    }
}
