//! End-to-end checks of generated worlds: determinism, schema, no leakage of ground
//! truth, and distributions against the configured priors.

mod common;

use common::{generate, read_csv, small, Labelled};
use osecwatch_formats::Format;
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Timestamp, CANONICAL_COLUMNS};
use osecwatch_sim::{Archetype, Scenario};
use std::collections::{BTreeMap, HashMap, HashSet};

fn tiny() -> Scenario {
    let mut sc = Scenario::load("small").unwrap();
    sc.institution.customers = 1500;
    sc.institution.months = 3;
    sc.population.buyer = 0.01;
    sc
}

#[test]
fn same_scenario_and_seed_give_byte_identical_files() {
    for format in Format::ALL {
        let a = generate(&tiny(), format);
        let b = generate(&tiny(), format);
        for f in [
            format!("transactions.{}", format.extension()),
            "txn_labels.csv".into(),
            "entity_labels.csv".into(),
            "scenario.toml".into(),
        ] {
            let x = std::fs::read(a.path(&f)).unwrap();
            let y = std::fs::read(b.path(&f)).unwrap();
            assert!(!x.is_empty(), "{f} is empty");
            assert!(x == y, "{f} differs between two runs ({format:?})");
        }
    }
}

#[test]
fn another_seed_gives_another_world() {
    let a = generate(&tiny(), Format::Csv);
    let mut sc = tiny();
    sc.institution.seed += 1;
    let b = generate(&sc, Format::Csv);
    assert_ne!(std::fs::read(a.path("transactions.csv")).unwrap(), std::fs::read(b.path("transactions.csv")).unwrap());
}

#[test]
fn transactions_follow_the_canonical_schema_and_time_order() {
    let g = small();
    let (headers, rows) = read_csv(&g.path("transactions.csv"));
    assert_eq!(headers, CANONICAL_COLUMNS.to_vec());
    assert_eq!(rows.len() as u64, g.summary.transactions);
    let mut ids = HashSet::new();
    let mut last_utc = i64::MIN;
    let start = Timestamp::parse_rfc3339("2025-01-01T00:00:00+01:00").unwrap().utc;
    let end = Timestamp::parse_rfc3339("2025-07-01T00:00:00+02:00").unwrap().utc;
    for r in &rows {
        assert!(ids.insert(r.get("txn_id").to_string()), "duplicate id {}", r.get("txn_id"));
        let ts = Timestamp::parse_rfc3339(r.get("timestamp")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ts.to_rfc3339(), r.get("timestamp"));
        assert!(ts.utc >= last_utc, "rows out of time order at {}", r.get("txn_id"));
        assert!(ts.utc >= start && ts.utc < end, "{} outside the period", r.get("timestamp"));
        last_utc = ts.utc;
        assert!(!r.get("sender_id").is_empty() && !r.get("recipient_id").is_empty());
        assert_eq!(r.get("sender_country"), "DE");
        CountryCode::parse(r.get("recipient_country")).unwrap();
        let cur = CurrencyCode::parse(r.get("currency")).unwrap();
        let minor = osecwatch_model::parse_decimal_minor(r.get("amount"), cur.exponent()).unwrap();
        assert!(minor > 0, "non-positive amount {}", r.get("amount"));
        let ch = Channel::parse(r.get("channel")).unwrap();
        let mcc = r.get("merchant_category");
        assert!(mcc.is_empty() || (mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit())), "bad MCC {mcc}");
        if ch == Channel::Card {
            assert!(!mcc.is_empty(), "card payment without MCC");
        }
    }
}

#[test]
fn labels_cover_every_transaction_and_entity_and_reconcile_with_the_summary() {
    let g = small();
    let l = Labelled::load(g);
    assert_eq!(l.is_osec.len(), l.txns.len());
    let osec: Vec<_> = l.txns.iter().filter(|t| l.osec(t)).collect();
    assert_eq!(osec.len() as u64, g.summary.osec_transactions);
    assert!(!osec.is_empty());
    let per_arch: u64 = g.summary.by_archetype.iter().map(|a| a.transactions).sum();
    assert_eq!(per_arch, g.summary.transactions);
    let mut first: HashMap<&str, i64> = HashMap::new();
    for t in &l.txns {
        for id in [t.get("sender_id"), t.get("recipient_id")] {
            assert!(l.entities.contains_key(id), "entity {id} has no label");
        }
        if l.osec(t) {
            // Only buyers pay for abuse; OSEC money goes to facilitators or, for tokens
            // and crypto, to merchants.
            assert_eq!(l.entities[t.get("sender_id")].get("role"), "buyer");
            let role = l.recipient_role(t);
            assert!(
                role == "facilitator" || l.entities[t.get("recipient_id")].get("archetype") == "merchant",
                "{role}"
            );
            let ts = Timestamp::parse_rfc3339(t.get("timestamp")).unwrap().utc;
            first.entry(t.get("sender_id")).or_insert(ts);
        }
    }
    for (id, e) in &l.entities {
        assert!(["buyer", "facilitator", "benign"].contains(&e.get("role")), "{}", e.get("role"));
        match first.get(id.as_str()) {
            Some(ts) => assert_eq!(Timestamp::parse_rfc3339(e.get("first_osec_at")).unwrap().utc, *ts),
            None if e.get("role") == "benign" => assert_eq!(e.get("first_osec_at"), ""),
            None => {}
        }
    }
}

#[test]
fn jsonl_and_parquet_hold_the_same_records_as_csv() {
    let sc = tiny();
    let csv_w = generate(&sc, Format::Csv);
    let (_, rows) = read_csv(&csv_w.path("transactions.csv"));
    let json_w = generate(&sc, Format::Jsonl);
    let text = std::fs::read_to_string(json_w.path("transactions.jsonl")).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), rows.len());
    for (line, row) in lines.iter().zip(&rows) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for c in CANONICAL_COLUMNS {
            let got = v[c].as_str().unwrap_or("");
            assert_eq!(got, row.get(c), "column {c}");
        }
    }
    // Parquet is typed (TIMESTAMP with the offset beside it, DECIMAL, SMALLINT): read back,
    // it holds the same records as the CSV.
    let pq_w = generate(&sc, Format::Parquet);
    let file = std::fs::File::open(pq_w.path("transactions.parquet")).unwrap();
    let schema = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().schema().clone();
    assert!(matches!(
        schema.field_with_name("timestamp").unwrap().data_type(),
        arrow_schema::DataType::Timestamp(_, Some(_))
    ));
    assert!(matches!(schema.field_with_name("amount").unwrap().data_type(), arrow_schema::DataType::Decimal128(18, 3)));
    let read = |p: &std::path::Path| {
        let mut c = Collect::default();
        let s = osecwatch_ingest::read_file(p, &mut c).unwrap();
        assert_eq!(s.rejected, 0);
        c.0
    };
    let from_csv = read(&csv_w.path("transactions.csv"));
    assert_eq!(from_csv.len(), rows.len());
    assert_eq!(read(&pq_w.path("transactions.parquet")), from_csv);
}

#[derive(Default)]
struct Collect(Vec<osecwatch_model::Transaction>);

impl osecwatch_ingest::Visitor for Collect {
    fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
        self.0.push(row.to_owned_txn());
    }
    fn reject(&mut self, r: osecwatch_ingest::Rejection) {
        panic!("{r:?}");
    }
}

#[test]
fn nothing_a_bank_would_not_see_leaks_into_the_transactions() {
    let g = small();
    let text = std::fs::read_to_string(g.path("transactions.csv")).unwrap().to_lowercase();
    let mut words: Vec<&str> = Archetype::ALL.iter().map(|a| a.as_str()).collect();
    words.extend(["osec", "buyer", "facilitator", "victim", "stealthy", "offender", "abuse"]);
    for w in words {
        assert!(!text.contains(w), "the transaction file mentions `{w}`");
    }
    let l = Labelled::load(g);
    let mut benign_refs = HashSet::new();
    let mut benign_mcc = HashSet::new();
    let mut benign_channels = HashSet::new();
    for t in l.txns.iter().filter(|t| !l.osec(t)) {
        benign_refs.insert(t.get("reference"));
        benign_mcc.insert(t.get("merchant_category"));
        benign_channels.insert(t.get("channel"));
    }
    for t in l.txns.iter().filter(|t| l.osec(t)) {
        assert!(
            benign_refs.contains(t.get("reference")),
            "reference `{}` only occurs on OSEC payments",
            t.get("reference")
        );
        assert!(
            benign_mcc.contains(t.get("merchant_category")),
            "MCC {} only on OSEC payments",
            t.get("merchant_category")
        );
        assert!(benign_channels.contains(t.get("channel")));
    }
    // Ids have one shape per kind of account, whatever the role behind them: every
    // customer shares the institution's bank code, foreign persons are CC + 12 digits.
    let shape = |id: &str| -> String {
        if id.starts_with('M') {
            "merchant".into()
        } else if id.starts_with("DE") {
            format!("DE-iban-{}", id.len())
        } else {
            format!("foreign-{}-{}", id.bytes().take(2).all(|b| b.is_ascii_uppercase()), id.len())
        }
    };
    let senders: HashSet<&str> = l.txns.iter().map(|t| t.get("sender_id")).collect();
    let sender_banks: HashSet<&str> = senders.iter().map(|s| &s[4..12]).collect();
    assert_eq!(sender_banks.len(), 1, "all customers share one bank code");
    // Domestic payees who are not customers (landlords, friends) bank elsewhere.
    let payee_banks: HashSet<&str> = l
        .txns
        .iter()
        .map(|t| t.get("recipient_id"))
        .filter(|r| r.starts_with("DE") && !senders.contains(r))
        .map(|r| &r[4..12])
        .collect();
    assert!(payee_banks.len() > 1, "domestic payees at {} banks", payee_banks.len());
    assert!(payee_banks.is_disjoint(&sender_banks), "a non-customer payee has the institution's bank code");
    let fac_shapes: HashSet<String> =
        l.entities.values().filter(|e| e.get("role") == "facilitator").map(|e| shape(e.get("entity_id"))).collect();
    let family_shapes: HashSet<String> =
        l.entities.values().filter(|e| e.get("role") == "benign").map(|e| shape(e.get("entity_id"))).collect();
    assert!(fac_shapes.is_subset(&family_shapes), "facilitator id shapes {fac_shapes:?} not seen on benign recipients");
    for s in &senders {
        assert!(iban_ok(s), "{s} is not a valid IBAN");
    }
}

fn iban_ok(iban: &str) -> bool {
    let r = format!("{}{}", &iban[4..], &iban[..4]);
    let mut rem = 0u32;
    for c in r.chars() {
        let v = c.to_digit(36).unwrap_or(99);
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn local_hour(ts: &str) -> u32 {
    ts[11..13].parse().unwrap()
}

#[test]
fn osec_payments_match_the_configured_priors() {
    let g = small();
    let sc = Scenario::load("small").unwrap();
    let l = Labelled::load(g);
    let osec: Vec<_> = l.txns.iter().filter(|t| l.osec(t)).collect();
    // Median payment: the prior's median (EUR 45 at career start) escalates by up to the
    // configured multiplier, so the realised median lies between the two.
    let mut amounts: Vec<f64> = osec.iter().map(|t| t.get("amount").parse().unwrap()).collect();
    amounts.sort_by(f64::total_cmp);
    let median = amounts[amounts.len() / 2];
    let b = &sc.buyers;
    assert!(
        median >= b.amount_median * 0.9 && median <= b.amount_median * b.escalation[1],
        "median OSEC amount {median}"
    );
    // Night share (19:00-02:00 local) of non-stealthy buyers' payments.
    let hours: Vec<u32> = osec
        .iter()
        .filter(|t| l.sender_archetype(t) != "stealthy_buyer")
        .map(|t| local_hour(t.get("timestamp")))
        .collect();
    let night = hours.iter().filter(|h| **h >= 19 || **h < 2).count() as f64 / hours.len() as f64;
    assert!((night - b.night_share).abs() < 0.06, "night share {night:.3} vs configured {}", b.night_share);
    // Destinations: mostly the Philippines (configured 80 % of facilitators).
    let to_fac: Vec<_> = osec.iter().filter(|t| l.recipient_role(t) == "facilitator").collect();
    let ph = to_fac.iter().filter(|t| t.get("recipient_country") == "PH").count() as f64 / to_fac.len() as f64;
    assert!(ph > 0.5, "PH share of OSEC payments {ph:.2}");
    // Honest look-alikes pay the corridors too, and far more often.
    let corridor_benign = l.txns.iter().filter(|t| !l.osec(t) && t.get("recipient_country") == "PH").count();
    assert!(corridor_benign > 5 * to_fac.len(), "benign PH payments {corridor_benign} vs OSEC {}", to_fac.len());
}

#[test]
fn diaspora_remittances_follow_a_payday_cadence() {
    let g = small();
    let l = Labelled::load(g);
    let mut by_pair: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for t in l.txns.iter().filter(|t| {
        l.sender_archetype(t) == "diaspora_family"
            && t.get("recipient_country") != "DE"
            && t.get("merchant_category").is_empty()
    }) {
        let day = Timestamp::parse_rfc3339(t.get("timestamp")).unwrap().local_secs().div_euclid(86_400);
        by_pair.entry((t.get("sender_id"), t.get("recipient_id"))).or_default().push(day);
    }
    // The most-paid relative of each sender: the payday remittance.
    let mut primary: HashMap<&str, Vec<i64>> = HashMap::new();
    for ((s, _), days) in by_pair {
        let e = primary.entry(s).or_default();
        if days.len() > e.len() {
            *e = days;
        }
    }
    let (mut regular, mut total) = (0, 0);
    for days in primary.values().filter(|d| d.len() >= 5) {
        let mut gaps: Vec<i64> = days.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort();
        total += 1;
        let median = gaps[gaps.len() / 2];
        if (26..=34).contains(&median) {
            regular += 1;
        }
    }
    assert!(total >= 50, "only {total} diaspora senders with 5+ payments");
    let share = regular as f64 / total as f64;
    assert!(share >= 0.75, "only {share:.2} of diaspora senders pay monthly");
    // ...and buyers do not: their median gap is not monthly.
    let mut buyer_days: HashMap<&str, Vec<i64>> = HashMap::new();
    for t in l.txns.iter().filter(|t| l.osec(t) && ["medium_buyer", "heavy_buyer"].contains(&l.sender_archetype(t))) {
        buyer_days
            .entry(t.get("sender_id"))
            .or_default()
            .push(Timestamp::parse_rfc3339(t.get("timestamp")).unwrap().local_secs().div_euclid(86_400));
    }
    let monthly_buyers = buyer_days
        .values()
        .filter(|d| d.len() >= 5)
        .filter(|d| {
            let mut gaps: Vec<i64> = d.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort();
            (26..=34).contains(&gaps[gaps.len() / 2])
        })
        .count();
    assert_eq!(monthly_buyers, 0, "medium/heavy buyers should not look monthly");
}

#[test]
fn buyers_per_facilitator_is_heavy_tailed() {
    let mut sc = Scenario::load("small").unwrap();
    sc.population.buyer = 0.04; // 240 buyers: enough to see the tail
    sc.institution.months = 12;
    let g = generate(&sc, Format::Csv);
    let l = Labelled::load(&g);
    let mut buyers_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for t in l.txns.iter().filter(|t| l.osec(t) && l.recipient_role(t) == "facilitator") {
        buyers_of.entry(t.get("recipient_id")).or_default().insert(t.get("sender_id"));
    }
    let mut deg: Vec<usize> = buyers_of.values().map(HashSet::len).collect();
    deg.sort_unstable_by(|a, b| b.cmp(a));
    let median = deg[deg.len() / 2];
    let top = deg[0];
    let edges: usize = deg.iter().sum();
    let top10: usize = deg[..deg.len().div_ceil(10)].iter().sum();
    assert!(top >= 5 * median.max(1), "max {top} vs median {median}: no heavy tail");
    assert!(top10 as f64 >= 0.3 * edges as f64, "top 10 % of facilitators hold {top10} of {edges} buyer links");
    // Several unrelated buyers pay the same facilitator (OR-01).
    assert!(deg.iter().filter(|d| **d >= 3).count() >= 5);
}

#[test]
fn summary_counts_archetypes_exactly() {
    let g = small();
    let sc = Scenario::load("small").unwrap();
    let n = sc.institution.customers as f64;
    let get = |a: &str| g.summary.by_archetype.iter().find(|x| x.archetype == a).unwrap().customers as f64;
    assert_eq!(get("diaspora_family") + get("diaspora_extended_family"), (sc.population.diaspora_family * n).round());
    let buyers: f64 = ["light_buyer", "medium_buyer", "heavy_buyer", "stealthy_buyer"].iter().map(|a| get(a)).sum();
    assert_eq!(buyers, (sc.population.buyer * n).round());
    assert_eq!(g.summary.customers as f64, n);
}

/// Customers paying each recipient (distinct senders), from a labelled world.
fn payers_by_recipient(l: &Labelled) -> HashMap<String, HashSet<String>> {
    let mut m: HashMap<String, HashSet<String>> = HashMap::new();
    for t in &l.txns {
        m.entry(t.get("recipient_id").to_string()).or_default().insert(t.get("sender_id").to_string());
    }
    m
}

#[test]
fn honest_hubs_are_paid_by_several_customers_in_every_world() {
    let l = Labelled::load(small());
    let payers = payers_by_recipient(&l);
    let shared = |archetype: &str, at_least: usize| {
        l.entities
            .values()
            .filter(|e| e.get("archetype") == archetype)
            .filter(|e| payers.get(e.get("entity_id")).is_some_and(|p| p.len() >= at_least))
            .count()
    };
    // Community payees (parishes, schools, shops, pickup agents) are paid by many customers,
    // households by several relatives, performers by several tippers; all of them benign.
    let community = shared("community", 3);
    assert!(community >= 5, "{community} community payees paid by 3+ customers");
    assert!(shared("family_member", 2) >= 5, "{} households paid by 2+ customers", shared("family_member", 2));
    assert!(shared("cam_performer", 2) >= 3, "{} performers with 2+ tippers", shared("cam_performer", 2));
    for e in
        l.entities.values().filter(|e| ["community", "family_member", "cam_performer"].contains(&e.get("archetype")))
    {
        assert_eq!(e.get("role"), "benign", "{}", e.get("entity_id"));
    }
    // No community payee is ever paid for abuse.
    assert!(l
        .txns
        .iter()
        .filter(|t| l.osec(t))
        .all(|t| l.entities[t.get("recipient_id")].get("archetype") != "community"));
}

#[test]
fn the_shared_hubs_preset_has_one_off_buyers_on_shared_facilitators() {
    let mut sc = Scenario::load("shared-hubs").unwrap();
    sc.institution.customers = 20_000;
    sc.institution.months = 6;
    let g = generate(&sc, Format::Csv);
    let l = Labelled::load(&g);
    let mut per_buyer: HashMap<&str, usize> = HashMap::new();
    let mut buyers_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for t in l.txns.iter().filter(|t| l.osec(t) && l.recipient_role(t) == "facilitator") {
        *per_buyer.entry(t.get("sender_id")).or_default() += 1;
        buyers_of.entry(t.get("recipient_id")).or_default().insert(t.get("sender_id"));
    }
    let few = per_buyer.values().filter(|n| **n <= 3).count();
    assert!(per_buyer.len() >= 20, "{} buyers paid a facilitator", per_buyer.len());
    // one_off_share = 0.5 of the non-stealthy buyers, plus careers that end early in the period.
    assert!(few * 3 >= per_buyer.len(), "{few} of {} buyers made at most 3 facilitator payments", per_buyer.len());
    let shared = buyers_of.values().filter(|b| b.len() >= 3).count();
    assert!(shared * 3 >= buyers_of.len(), "{shared} of {} facilitators have 3+ buyers", buyers_of.len());
}

/// One person, several accounts: movers pay from their first account before the day in the
/// customer file and from the second after it; both accounts carry the customer's role; some
/// buyers move, and so do honest customers (the look-alike).
#[test]
fn movers_switch_accounts_once_and_the_customer_file_links_them() {
    let l = Labelled::load(small());
    let (_, customers) = read_csv(&small().path("customers.csv"));
    let mut accounts: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for c in &customers {
        accounts.entry(c.get("customer_id")).or_default().push((c.get("account_id"), c.get("opened")));
    }
    let movers: Vec<&Vec<(&str, &str)>> = accounts.values().filter(|a| a.len() == 2).collect();
    // The first account was opened before the world starts, the second on the day of the move.
    assert!(accounts.values().all(|a| a.len() <= 2 && !a[0].1.is_empty() && (a.len() == 1 || a[0].1 < a[1].1)));
    let mut by_sender: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in &l.txns {
        by_sender.entry(t.get("sender_id")).or_default().push(t.get("timestamp"));
    }
    let (mut buyer_movers, mut honest_movers) = (0, 0);
    for m in &movers {
        let (old, new, day) = (m[0].0, m[1].0, m[1].1);
        let day = Timestamp::parse_rfc3339(&format!("{day}T00:00:00Z")).unwrap().utc;
        let utc = |ts: &&str| Timestamp::parse_rfc3339(ts).unwrap().utc;
        // Payments of the old account end by the end of the move's day, the new one's start on it.
        assert!(by_sender.get(old).into_iter().flatten().all(|ts| utc(ts) < day + 86_400), "{old}");
        assert!(by_sender.get(new).into_iter().flatten().all(|ts| utc(ts) >= day), "{new}");
        if let (Some(a), Some(b)) = (l.entities.get(old), l.entities.get(new)) {
            assert_eq!((a.get("role"), a.get("archetype")), (b.get("role"), b.get("archetype")));
            if a.get("role") == "buyer" {
                buyer_movers += 1;
            } else {
                honest_movers += 1;
            }
        }
    }
    assert!(buyer_movers >= 1 && honest_movers >= 10, "{buyer_movers} buyers and {honest_movers} others moved");
    // Every sender in the transactions is an account in the customer file.
    let known: HashSet<&str> = customers.iter().map(|c| c.get("account_id")).collect();
    assert!(by_sender.keys().all(|s| known.contains(s)));
}

/// Facilitators who move to a new wallet: the same name and country, payments to the old
/// wallet stop where those to the new one start, both labelled facilitator, and buyers follow
/// (the two wallets share payers).
#[test]
fn facilitators_move_to_a_new_wallet_under_the_same_name_and_their_buyers_follow() {
    let mut sc = Scenario::load("shared-hubs").unwrap();
    sc.institution.customers = 20_000;
    sc.institution.months = 6;
    // Most of its half-dozen facilitators move (the presets: one in five).
    sc.accounts.facilitator_wallet_move_share = 0.8;
    let g = generate(&sc, Format::Csv);
    let l = Labelled::load(&g);
    let mut span: HashMap<&str, (i64, i64, HashSet<&str>, &str, &str)> = HashMap::new();
    for t in &l.txns {
        let r = t.get("recipient_id");
        let utc = Timestamp::parse_rfc3339(t.get("timestamp")).unwrap().utc;
        let e = span.entry(r).or_insert((
            i64::MAX,
            i64::MIN,
            HashSet::new(),
            t.get("recipient_name"),
            t.get("recipient_country"),
        ));
        e.0 = e.0.min(utc);
        e.1 = e.1.max(utc);
        e.2.insert(t.get("sender_id"));
    }
    let mut by_name: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (r, s) in &span {
        if l.entities[*r].get("role") == "facilitator" {
            by_name.entry((s.3, s.4)).or_default().push(r);
        }
    }
    let moved = by_name
        .values()
        .filter(|ws| ws.len() == 2)
        .filter(|ws| {
            let (a, b) = (&span[ws[0]], &span[ws[1]]);
            let (old, new) = if a.0 < b.0 { (a, b) } else { (b, a) };
            old.1 <= new.0 && !old.2.is_disjoint(&new.2)
        })
        .count();
    assert!(moved >= 3, "{moved} facilitators moved to a new wallet their buyers followed to");
}
