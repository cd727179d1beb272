//! What every behaviour process reads and the world builder fills: the payees, the shared
//! merchant pools, the reference vocabularies and the calendar, with the helpers that pick
//! from them. A leaf module: it depends on no other part of the simulator but the
//! scenario and the calendar, so `world` (which builds it) and `behave` (which reads it)
//! both depend on it and not on each other.

use crate::cal::{Calendar, Rng, TzTable};
use crate::scenario::{CountryMix, Scenario};
use osecwatch_model::{Channel, CountryCode, CurrencyCode};
use rand::seq::IndexedRandom;
use rand::Rng as _;
use std::collections::{BTreeMap, HashMap};

/// What kind of payee a recipient is (the receiving side's archetype in the labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecipientKind {
    /// A shop, site or service (has a merchant category).
    Merchant,
    /// A landlord at home.
    Landlord,
    /// A friend at home.
    Friend,
    /// A relative abroad.
    FamilyMember,
    /// A partner abroad.
    Partner,
    /// A partner's relative.
    InLaw,
    /// A cam performer tipped directly.
    CamPerformer,
    /// A romance scammer.
    RomanceScammer,
    /// A charity paid by sponsors.
    Ngo,
    /// A friend made on a trip.
    LocalFriend,
    /// A sextortionist.
    Sextortionist,
    /// A facilitator of livestreamed abuse.
    Facilitator,
    /// A child's own account, paid directly.
    VictimDirect,
    /// A parish, school, shop or cash-pickup agent paid by many unrelated customers.
    Community,
}

impl RecipientKind {
    /// The name the labels use (`family_member`, `facilitator`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::Merchant => "merchant",
            RecipientKind::Landlord => "landlord",
            RecipientKind::Friend => "friend",
            RecipientKind::FamilyMember => "family_member",
            RecipientKind::Partner => "partner",
            RecipientKind::InLaw => "in_law",
            RecipientKind::CamPerformer => "cam_performer",
            RecipientKind::RomanceScammer => "romance_scammer",
            RecipientKind::Ngo => "ngo",
            RecipientKind::LocalFriend => "local_friend",
            RecipientKind::Sextortionist => "sextortionist",
            RecipientKind::Facilitator => "facilitator",
            RecipientKind::VictimDirect => "victim_direct",
            RecipientKind::Community => "community",
        }
    }

    /// Whether the payee is paid for abuse (facilitator or victim direct).
    pub fn is_facilitator(self) -> bool {
        matches!(self, RecipientKind::Facilitator | RecipientKind::VictimDirect)
    }
}

/// A payee; its id and name live in [`EntityText`].
pub struct Recipient {
    pub country: CountryCode,
    pub kind: RecipientKind,
    /// Merchant category for merchants; 0 otherwise.
    pub mcc: u16,
}

/// A merchant pool: recipients of one category with a typical ticket size.
pub struct Pool {
    pub members: Vec<u32>,
    pub median: Vec<f32>,
}

/// Merchant pools shared by all customers.
pub struct Pools {
    pub domestic: Pool,
    pub cam: Pool,
    pub vpn: Pool,
    pub crypto: Pool,
    pub airlines: Pool,
    pub phone: Pool,
    pub streaming: Pool,
    pub gym: Pool,
    /// Per destination country: hotels, restaurants/shops and ATMs.
    pub abroad: BTreeMap<CountryCode, (Pool, Pool, Pool)>,
}

/// Everything the behaviour processes read but never change.
pub struct Shared {
    pub scenario: Scenario,
    pub currency: CurrencyCode,
    pub cal: Calendar,
    /// Time zone tables; index 0 is the institution's.
    pub tz: Vec<TzTable>,
    pub tz_of_country: HashMap<CountryCode, u8>,
    pub fx_php: Vec<f64>,
    pub refs: Vec<Box<str>>,
    pub pools: Pools,
    pub php: CountryCode,
    /// Interned "Miete <Monat>" reference per simulated month.
    pub month_refs: Vec<u32>,
    pub ref_sets: RefSets,
    /// Every payee (merchants, relatives, facilitators...), indexed by recipient number.
    pub recipients: Vec<Recipient>,
    /// [start, end) of the period as UTC instants (from the institution's time zone).
    pub period_utc: (i64, i64),
}

impl Shared {
    pub fn recipient_country(&self, r: u32) -> CountryCode {
        self.recipients[r as usize].country
    }

    /// Merchant category of a merchant recipient, 0 for people.
    pub fn merchant_mcc(&self, r: u32) -> u16 {
        self.recipients[r as usize].mcc
    }
}

/// Interned indices of the shared reference vocabularies (see `names`).
pub struct RefSets {
    pub remittance: Vec<u32>,
    pub family_only: Vec<u32>,
    pub friend: Vec<u32>,
    pub romance: Vec<u32>,
    pub tip: Vec<u32>,
}

/// Which shared merchant pool an occasional-purchase process draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolId {
    Cam,
    Crypto,
}

/// A key drawn from a weighted mix (weights need not sum to 1).
fn pick_weighted<K: Copy>(rng: &mut Rng, mix: &BTreeMap<K, f64>) -> K {
    let total: f64 = mix.values().sum();
    let mut x = rng.random::<f64>() * total;
    for (k, w) in mix {
        if x < *w {
            return *k;
        }
        x -= w;
    }
    // Rounding can leave `x` just above the last weight.
    *mix.keys().next_back().expect("scenario validation: every weighted mix is non-empty")
}

/// A country drawn from a weighted mix.
pub fn pick_country(rng: &mut Rng, mix: &CountryMix) -> CountryCode {
    pick_weighted(rng, mix)
}

/// A channel drawn from a weighted mix.
pub fn pick_channel(rng: &mut Rng, mix: &BTreeMap<Channel, f64>) -> Channel {
    pick_weighted(rng, mix)
}

/// A built-in country code.
pub(crate) fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap_or_else(|_| unreachable!("built-in country code {s}"))
}

/// A member of a merchant pool and its typical ticket.
pub(crate) fn pick_member(rng: &mut Rng, pool: &Pool) -> (u32, f32) {
    let i = rng.random_range(0..pool.members.len().max(1)).min(pool.members.len().saturating_sub(1));
    let member = pool.members.get(i).copied().expect("build_pools gives every pool at least one merchant");
    (member, pool.median[i])
}

/// A reference drawn from one of the vocabularies in [`RefSets`].
pub(crate) fn pick_ref(rng: &mut Rng, set: &[u32]) -> u32 {
    set.choose(rng).copied().expect("the reference vocabularies in `names` are non-empty")
}
