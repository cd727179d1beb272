//! Engine tests: features against hand-computed cases, every rule of the shipped packs,
//! rule-file errors, determinism and an end-to-end run on the `small` world.

use osecwatch_engine::*;
use osecwatch_model::{Timestamp, Transaction};
use std::path::Path;

fn pack(name: &str) -> RulePack {
    RulePack::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules").join(name)).unwrap()
}

/// The canonical columns, so a fixture lists only rows.
const HEADER: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,\
                      recipient_country,amount,currency,channel,reference,merchant_category";

/// The payments of a CSV fixture (canonical columns, one payment a line, leading blanks
/// ignored so a test can indent them), read by the same reader a scan uses.
fn payments(rows: &str) -> Vec<Transaction> {
    struct Collect(Vec<Transaction>);
    impl osecwatch_ingest::Visitor for Collect {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
            self.0.push(row.to_owned_txn());
        }
        fn reject(&mut self, r: osecwatch_ingest::Rejection) {
            panic!("fixture row rejected: {r:?}");
        }
    }
    let body: Vec<&str> = rows.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let text = format!("{HEADER}\n{}\n", body.join("\n"));
    let mut c = Collect(Vec::new());
    osecwatch_ingest::read_csv_from(Path::new("fixture.csv"), text.as_bytes(), &mut c).unwrap();
    assert_eq!(c.0.len(), body.len(), "every fixture row is a payment");
    c.0
}

/// Process every payment of a CSV fixture, in order.
fn feed(e: &mut Engine, rows: &str) {
    for t in payments(rows) {
        e.process(&t.as_row()).unwrap();
    }
}

/// One payment (a CSV row) through the engine, and what it decided.
fn process_one(e: &mut Engine, row: &str) -> Outcome {
    e.process(&payments(row).remove(0).as_row()).unwrap()
}

fn at(ts: &str) -> Timestamp {
    Timestamp::parse_rfc3339(ts).unwrap()
}

fn v(x: &[f64; N_FEATURES], f: Feature) -> f64 {
    x[f as usize]
}

#[test]
fn sender_features_match_a_hand_computed_case() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    feed(
        &mut e,
        "1,2025-01-01T22:30:00+01:00,S,Max Weber,DE,R1,Maria Santos,PH,30.00,EUR,mto,school fees,
         2,2025-01-03T23:10:00+01:00,S,Max Weber,DE,R2,Joy Reyes,PH,1500.00,PHP,wallet,,
         3,2025-01-10T14:00:00+01:00,S,Max Weber,DE,R1,Maria Santos,PH,60.00,EUR,mto,Gift,
         v,2025-01-11T09:00:00+01:00,S,Max Weber,DE,VPN,SecureTunnel VPN,PA,9.99,EUR,card,,4816
         d,2025-01-11T10:00:00+01:00,S,Max Weber,DE,SHOP,Supermarkt 001,DE,23.17,EUR,card,,5411
         4,2025-01-12T01:30:00+01:00,S,Max Weber,DE,R3,Ana Weber,TH,300.00,EUR,bank_transfer,,",
    );
    let x = e.sender_values("S", at("2025-01-12T01:30:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::CorridorCount30), 4.0);
    assert_eq!(v(&x, Feature::CorridorCount7), 2.0); // 10 Jan and 12 Jan
    assert_eq!(v(&x, Feature::SmallCount30), 3.0); // EUR 300 is above the EUR 250 line
    assert_eq!(v(&x, Feature::Recipients30), 3.0);
    assert_eq!(v(&x, Feature::Unrelated90), 2.0); // Ana Weber shares the surname
    assert_eq!(v(&x, Feature::Countries90), 2.0);
    // PHP 1,500 at the default 0.0157 EUR/PHP is EUR 23.55; median of 23.55, 30, 60, 300.
    assert!((v(&x, Feature::Median90) - 45.0).abs() < 1e-9, "{}", v(&x, Feature::Median90));
    assert!((v(&x, Feature::CorridorSum30) - (30.0 + 23.55 + 60.0 + 300.0)).abs() < 1e-9);
    assert_eq!(v(&x, Feature::NightCount90), 3.0); // 22:30, 23:10, 01:30
    assert_eq!(v(&x, Feature::NightShare90), 0.75);
    assert_eq!(v(&x, Feature::CoverCount90), 2.0); // "school fees", "Gift"
    assert_eq!(v(&x, Feature::RoundShare90), 1.0); // EUR 30/60/300 and PHP 1,500 are all round
    assert_eq!(v(&x, Feature::FamilyShare90), 0.25);
    // Maria Santos twice; Joy Reyes once; Ana Weber is family (and EUR 300 is not small).
    assert_eq!(v(&x, Feature::MaxToOneUnrelated30), 2.0);
    assert_eq!(v(&x, Feature::Vpn90), 1.0);
    assert_eq!(v(&x, Feature::MaxPerMonth90), 4.0);
    // Gaps in days between the four corridor payments, by hand.
    let gaps = [(2.0 * 24.0 + 0.6667) / 24.0, (7.0 * 24.0 - 9.1667) / 24.0, (24.0 + 11.5) / 24.0];
    let mean = gaps.iter().sum::<f64>() / 3.0;
    let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((v(&x, Feature::GapCv365) - sd / mean).abs() < 1e-3, "{} vs {}", v(&x, Feature::GapCv365), sd / mean);
    assert_eq!(v(&x, Feature::MonthlyPattern), 0.0); // R1 paid 9 days apart, not monthly
    assert_eq!(e.stats().relevant, 5, "the supermarket payment creates no state");
}

#[test]
fn recipient_features_and_the_common_beneficiary() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // Four senders, two evening payments each, three days apart.
    feed(
        &mut e,
        "1,2025-02-01T20:00:00+01:00,A,Tom Fischer,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         2,2025-02-02T21:00:00+01:00,A,Tom Fischer,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         3,2025-02-04T20:00:00+01:00,B,Jan Koch,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         4,2025-02-05T21:00:00+01:00,B,Jan Koch,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         5,2025-02-07T20:00:00+01:00,C,Lea Santos,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         6,2025-02-08T21:00:00+01:00,C,Lea Santos,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         7,2025-02-10T20:00:00+01:00,A2,Uwe Braun,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,
         8,2025-02-11T21:00:00+01:00,A2,Uwe Braun,DE,FAC,Rosa Santos,PH,40.00,EUR,mto,,",
    );
    // Lea Santos shares the recipient's surname, so 3 of 4 senders are unrelated.
    let x = e.recipient_values("FAC", at("2025-02-11T21:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::RUnrelated90), 3.0);
    assert_eq!(v(&x, Feature::RUnrelatedPayers365), 3.0);
    assert_eq!(v(&x, Feature::RSmallCount90), 8.0);
    // None of the payers shows buyer evidence of its own, so being paid by several people
    // is no network risk, and no facilitator alert: households and parishes look like this.
    assert_eq!(v(&x, Feature::RRiskyPayers365), 0.0);
    assert_eq!(v(&x, Feature::RNetworkRisk), 0.0);
    assert!(e.alerts().iter().all(|a| a.entity_id != "FAC"), "{:?}", e.alerts());
    // The last sender's view: FAC is also paid by >= 2 other unrelated senders.
    let x = e.sender_values("A2", at("2025-02-11T21:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::SharedRecipients90), 1.0);
    assert_eq!(v(&x, Feature::MaxRecipientRisk365), 0.0);
}

fn satisfying(rule: &rules::Rule, band: Option<f64>) -> [f64; N_FEATURES] {
    let mut x = [0.0; N_FEATURES];
    for (f, op, val) in rule.conditions() {
        x[f as usize] = match op {
            ">=" | "==" => val,
            ">" => val + 1.0,
            "<=" => val,
            "<" => val - 1.0,
            _ => val + 1.0,
        };
    }
    if let (Some(f), Some(b)) = (rule.scoring().0, band) {
        x[f as usize] = x[f as usize].max(b);
    }
    x
}

#[test]
fn every_rule_of_the_shipped_packs_fires_on_its_conditions_and_only_then() {
    for name in ["osec.toml", "baseline.toml"] {
        let p = pack(name);
        assert!(!p.rules.is_empty());
        for r in &p.rules {
            let (score_by, bands, points) = r.scoring();
            match score_by {
                Some(_) => {
                    for (min, pts) in bands {
                        let x = satisfying(r, Some(*min));
                        assert_eq!(r.points(&x), *pts, "{} band {min}", r.id);
                    }
                }
                None => assert_eq!(r.points(&satisfying(r, None)), points, "{}", r.id),
            }
            // Breaking any one condition silences the rule.
            for (i, (f, op, val)) in r.conditions().into_iter().enumerate() {
                let mut x = satisfying(r, bands.first().map(|b| b.0));
                x[f as usize] = match op {
                    ">=" | ">" => val - 1.0,
                    "<=" | "<" => val + 1.0,
                    "==" => val + 1.0,
                    _ => val,
                };
                assert_eq!(r.points(&x), 0.0, "{} with condition {i} broken", r.id);
            }
            // Its explanation has its numbers filled in.
            let x = satisfying(r, bands.last().map(|b| b.0));
            let text = r.explain(&x, &|_| "PH".to_string(), "EUR");
            assert!(!text.contains('{') && !text.trim().is_empty(), "{}: {text}", r.id);
            if !r.conditions().is_empty() && r.id != "R-OSEC-09" {
                assert!(text.chars().any(|c| c.is_ascii_digit()), "{}: no numbers in `{text}`", r.id);
            }
        }
    }
    // The OSEC pack implements R-OSEC-01..10 and 12 (11 is documented as not applicable).
    let ids: Vec<String> = pack("osec.toml").rules.iter().map(|r| r.id.clone()).collect();
    for k in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12] {
        assert!(ids.iter().any(|i| i.starts_with(&format!("R-OSEC-{k:02}"))), "R-OSEC-{k:02} missing");
    }
}

#[test]
fn one_indicator_alone_never_alerts_but_corroborated_ones_do() {
    let p = pack("osec.toml");
    let t = p.typologies.iter().position(|t| t.id == "OSEC-BUYER").unwrap();
    let night = p.rules.iter().find(|r| r.id == "R-OSEC-05").unwrap();
    let ev = p.evaluate(t, &satisfying(night, Some(0.9)));
    assert!(!ev.corroborated, "a single rule must not raise an alert");
    let watch = p.rules.iter().find(|r| r.id == "R-OSEC-09").unwrap();
    assert!(p.evaluate(t, &satisfying(watch, None)).corroborated, "a watch-list hit is sufficient alone");
}

fn pack_err(edit: &dyn Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/osec.toml")).unwrap();
    RulePack::from_toml(&edit(text), "edited.toml").unwrap_err().to_string()
}

#[test]
fn bad_rule_files_name_the_rule_and_the_problem() {
    let e = pack_err(&|t| t.replace("sender.small_corridor_count_30d >= 3", "sender.smal_count >= 3"));
    assert!(e.contains("R-OSEC-01") && e.contains("unknown feature `sender.smal_count`"), "{e}");
    let e = pack_err(&|t| t.replace("sender.small_corridor_count_30d >= 3", "sender.small_corridor_count_30d => 3"));
    assert!(e.contains("R-OSEC-01") && e.contains("condition"), "{e}");
    let e = pack_err(&|t| t.replacen("typology = \"OSEC-BUYER\"", "typology = \"NOPE\"", 1));
    assert!(e.contains("R-OSEC-01") && e.contains("unknown typology `NOPE`"), "{e}");
    let e = pack_err(&|t| t.replace("id = \"R-OSEC-02\"", "id = \"R-OSEC-01\""));
    assert!(e.contains("R-OSEC-01") && e.contains("twice"), "{e}");
    let e = pack_err(&|t| t.replace("{ min = 6, points = 18 }", "{ min = 2, points = 18 }"));
    assert!(e.contains("R-OSEC-01") && e.contains("increasing"), "{e}");
    let e = pack_err(&|t| {
        t.replace("when = [\"recipient.alerted_senders_90d >= 2\"]", "when = [\"sender.corridor_count_90d >= 1\"]")
    });
    assert!(e.contains("R-OSEC-NET") && e.contains("describes the sender"), "{e}");
    let e = pack_err(&|t| {
        t.replace("{sender.unrelated_recipients_90d} different", "{sender.unrelated_recipients_90d:eur} different")
    });
    assert!(e.contains("R-OSEC-02") && e.contains("format `eur`"), "{e}");
    let e = pack_err(&|t| t.replace("review = 50", "review = 90"));
    assert!(e.contains("OSEC-BUYER") && e.contains("review <= block"), "{e}");
    let e = pack_err(&|t| t.replace("night_start_hour = 20", "night_start_hour = \"late\""));
    assert!(e.contains("night_start_hour"), "{e}");
    let e = pack_err(&|t| {
        t.replace("sources = [\"OS-01\", \"S2\", \"S3\", \"S6\", \"S8\", \"S9\", \"S11\"]", "sources = []")
    });
    assert!(e.contains("R-OSEC-01") && e.contains("sources"), "{e}");
}

#[test]
fn unknown_currencies_are_refused_per_payment() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // BIF is a valid ISO 4217 code that the pack's rates do not cover.
    let t = payments("1,2025-01-01T22:30:00+01:00,S,A B,DE,R,C D,PH,100,BIF,mto,,").remove(0);
    let err = e.process(&t.as_row()).unwrap_err().to_string();
    assert!(err.contains("BIF") && err.contains("rates"), "{err}");
}

// ------------------------------------------------------------------ end to end

struct Labels {
    buyers: std::collections::HashSet<String>,
    facilitators: std::collections::HashSet<String>,
}

fn scan_world(dir: &Path, p: RulePack) -> Vec<Alert> {
    struct V(Engine);
    impl osecwatch_ingest::Visitor for V {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
            self.0.process(row).unwrap();
        }
        fn reject(&mut self, r: osecwatch_ingest::Rejection) {
            panic!("simulator output rejected: {r:?}");
        }
    }
    let mut v = V(Engine::new(p).unwrap());
    osecwatch_ingest::read_file(&dir.join("transactions.csv"), &mut v).unwrap();
    v.0.alerts()
}

fn labels(dir: &Path) -> Labels {
    let mut r = csv::Reader::from_path(dir.join("entity_labels.csv")).unwrap();
    let mut l = Labels { buyers: Default::default(), facilitators: Default::default() };
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec[3].is_empty() {
            continue;
        }
        match &rec[1] {
            "buyer" => l.buyers.insert(rec[0].to_string()),
            "facilitator" => l.facilitators.insert(rec[0].to_string()),
            _ => false,
        };
    }
    l
}

fn precision_recall(alerts: &[Alert], kind: &str, truth: &std::collections::HashSet<String>) -> (f64, f64, usize) {
    let flagged: std::collections::HashSet<&str> =
        alerts.iter().filter(|a| a.entity_type == kind).map(|a| a.entity_id.as_str()).collect();
    let tp = flagged.iter().filter(|f| truth.contains(**f)).count();
    (tp as f64 / flagged.len().max(1) as f64, tp as f64 / truth.len().max(1) as f64, flagged.len())
}

/// The `small` scenario simulated into a temporary directory, as CSV.
fn small_world() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sc = osecwatch_sim::Scenario::load("small").unwrap();
    let opts = osecwatch_sim::SimOptions { out_dir: dir.path().to_path_buf(), format: osecwatch_formats::Format::Csv };
    osecwatch_sim::simulate(&sc, &opts, &mut |_| {}).unwrap();
    dir
}

#[test]
fn end_to_end_on_the_small_world_finds_buyers_and_facilitators() {
    let dir = small_world();
    let l = labels(dir.path());
    let osec = scan_world(dir.path(), pack("osec.toml"));
    let again = scan_world(dir.path(), pack("osec.toml"));
    assert_eq!(osec, again, "same input, same alerts");
    let base = scan_world(dir.path(), pack("baseline.toml"));
    let (p, r, n) = precision_recall(&osec, "sender", &l.buyers);
    let (bp, br, bn) = precision_recall(&base, "sender", &l.buyers);
    eprintln!("OSEC pack: {n} sender alerts, precision {p:.2}, recall {r:.2}; baseline: {bn} alerts, precision {bp:.2}, recall {br:.2}");
    assert!(r >= 0.5, "buyer recall {r:.2}");
    assert!(p >= 2.0 * bp, "precision {p:.2} is not well above the baseline's {bp:.2}");
    assert!(n * 3 <= bn, "the OSEC pack should create far fewer alerts than the baseline ({n} vs {bn})");
    let (fp, fr, _) = precision_recall(&osec, "recipient", &l.facilitators);
    assert!(fp >= 0.5 && fr >= 0.2, "facilitators: precision {fp:.2}, recall {fr:.2}");
    let ids: std::collections::HashSet<&str> = osec.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids.len(), osec.len(), "alert ids are unique");
    for a in &osec {
        assert!(!a.txn_ids.is_empty() && !a.reasons.is_empty() && !a.typologies.is_empty());
        assert!(a.reasons.iter().all(|r| r.chars().any(|c| c.is_ascii_digit())), "{:?}", a.reasons);
        assert!((0.0..=100.0).contains(&a.score));
    }
}

#[test]
fn an_established_family_remittance_is_counted_in_months() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // A friend's gift on 3 January opens the history before the first payday; then the
    // sister (same surname) on the 28th of each month, and gifts to in-laws (another surname).
    feed(
        &mut e,
        "g1,2025-01-03T12:00:00+01:00,F,Liza Cruz,DE,X,Joy Reyes,PH,50.00,EUR,mto,gift,
         s1,2025-01-28T18:00:00+01:00,F,Liza Cruz,DE,R,Ana Cruz,PH,300.00,EUR,mto,,
         g2,2025-02-10T12:00:00+01:00,F,Liza Cruz,DE,Y,Rosa Lim,PH,60.00,EUR,mto,gift,
         s2,2025-02-28T18:00:00+01:00,F,Liza Cruz,DE,R,Ana Cruz,PH,300.00,EUR,mto,,
         g3,2025-03-12T12:00:00+01:00,F,Liza Cruz,DE,Z,Mila Tan,PH,70.00,EUR,mto,birthday,",
    );
    let x = e.sender_values("F", at("2025-03-12T12:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::FamilyMonths365), 2.0, "January and February");
    // March has not reached its payday yet, so it does not count against the share; January
    // counts because it holds the sister's transfer.
    assert_eq!(v(&x, Feature::FamilyMonthShare365), 1.0);
    assert_eq!(v(&x, Feature::FamilyShare90), 0.4, "2 of 5 transfers: too few for R-OSEC-FAMILY");
    // A month that passes without a family transfer lowers the share: April and May are
    // missed, so the months from January to June hold transfers to the sister in 3 of 6.
    feed(
        &mut e,
        "g4,2025-04-12T12:00:00+02:00,F,Liza Cruz,DE,Z,Mila Tan,PH,70.00,EUR,mto,,
         g5,2025-05-12T12:00:00+02:00,F,Liza Cruz,DE,Z,Mila Tan,PH,70.00,EUR,mto,,
         s6,2025-06-28T18:00:00+02:00,F,Liza Cruz,DE,R,Ana Cruz,PH,300.00,EUR,mto,,",
    );
    let x = e.sender_values("F", at("2025-06-28T18:00:00+02:00")).unwrap();
    assert_eq!(v(&x, Feature::FamilyMonths365), 3.0);
    assert!((v(&x, Feature::FamilyMonthShare365) - 3.0 / 6.0).abs() < 1e-9, "{}", v(&x, Feature::FamilyMonthShare365));
    // A buyer paying only unrelated recipients has none.
    feed(&mut e, "b1,2025-06-01T23:00:00+02:00,B,Karl Vogt,DE,X,Rosa Lim,PH,40.00,EUR,wallet,,");
    let x = e.sender_values("B", at("2025-06-01T23:00:00+02:00")).unwrap();
    assert_eq!(v(&x, Feature::FamilyMonths365), 0.0);
    assert_eq!(v(&x, Feature::FamilyMonthShare365), 0.0);
}

#[test]
fn institutions_without_a_legal_form_are_organisations() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    feed(
        &mut e,
        "1,2025-02-01T20:00:00+01:00,A,Tom Fischer,DE,P,St. Joseph Parish 2,PH,40.00,EUR,mto,,
         2,2025-02-01T20:05:00+01:00,A,Tom Fischer,DE,C,Little Flowers Learning Center,PH,40.00,EUR,mto,,
         3,2025-02-01T20:10:00+01:00,A,Tom Fischer,DE,I,Iglesia ni Cristo Lokal,PH,40.00,EUR,mto,,
         4,2025-02-01T20:15:00+01:00,A,Tom Fischer,DE,M,Mission Reyes,PH,40.00,EUR,mto,,
         5,2025-02-01T20:20:00+01:00,A,Tom Fischer,DE,J,Joy Chapelle,PH,40.00,EUR,mto,,",
    );
    let mut org = |id: &str| v(&e.recipient_values(id, at("2025-02-01T20:20:00+01:00")).unwrap(), Feature::RIsOrg);
    assert_eq!(org("P"), 1.0);
    assert_eq!(org("C"), 1.0);
    assert_eq!(org("I"), 1.0);
    // A marker is a whole word: a surname that contains one is a person.
    assert_eq!(org("J"), 0.0, "Chapelle is not a chapel");
    // A whole-word marker in a person's name is the price of the list ("Mission" as a surname):
    // it halves that recipient's network risk and removes its recipient rules, nothing more.
    assert_eq!(org("M"), 1.0);
}

#[test]
fn payday_cadence_escalation_and_side_spending_features() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // Monthly EUR 200 to a relative on the 25th: a payday remittance.
    feed(
        &mut e,
        "f1,2025-01-25T18:00:00+01:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,
         f2,2025-02-25T18:00:00+01:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,
         f3,2025-03-25T18:00:00+01:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,
         f4,2025-04-25T18:00:00+02:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,
         f5,2025-05-25T18:00:00+02:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,
         f6,2025-06-25T18:00:00+02:00,F,Liza Cruz,DE,R,Ana Cruz,PH,200.00,EUR,mto,padala,",
    );
    let x = e.sender_values("F", at("2025-06-25T18:00:00+02:00")).unwrap();
    assert_eq!(v(&x, Feature::MonthlyPattern), 1.0);
    assert_eq!(v(&x, Feature::PaydayShare), 1.0, "all six on the 25th");
    assert_eq!(v(&x, Feature::FamilyShare90), 1.0);
    assert_eq!(v(&x, Feature::AmountTrend180), 0.0, "flat amounts: no trend");
    // Rising amounts, a cam-site purchase, a flight: escalation and side spending.
    feed(
        &mut e,
        "b0,2025-03-01T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,20.00,EUR,wallet,,
         b1,2025-03-04T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,25.00,EUR,wallet,,
         b2,2025-03-07T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,30.00,EUR,wallet,,
         b3,2025-03-10T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,40.00,EUR,wallet,,
         b4,2025-03-13T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,50.00,EUR,wallet,,
         b5,2025-03-16T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,70.00,EUR,wallet,,
         b6,2025-03-19T23:00:00+01:00,B,Karl Vogt,DE,X,Rosa Lim,PH,90.00,EUR,wallet,,
         cam,2025-03-20T23:30:00+01:00,B,Karl Vogt,DE,CAM,LiveCam Media B.V.,NL,30.00,EUR,card,,5967
         fly,2025-03-21T10:00:00+01:00,B,Karl Vogt,DE,AIR,Island Air,PH,900.00,EUR,card,,4511",
    );
    let x = e.sender_values("B", at("2025-03-21T10:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::AmountTrend180), 1.0, "strictly rising amounts");
    assert_eq!(v(&x, Feature::Cam90), 1.0);
    assert_eq!(v(&x, Feature::SideSpend90), 1.0);
    assert_eq!(v(&x, Feature::Travel365), 1.0);
    assert_eq!(v(&x, Feature::MonthlyPattern), 0.0);
    // Days 1, 4, 7, 10, 13, 16, 19: any five-day window holds at most two of the seven.
    assert!((v(&x, Feature::PaydayShare) - 2.0 / 7.0).abs() < 1e-12, "{}", v(&x, Feature::PaydayShare));
    assert_eq!(v(&x, Feature::CorridorCount1), 0.0);
}

/// Eight small night-time transfers by `sender` to the Philippines, two to each recipient
/// (unrelated names), every other day of January 2024 from `day`: enough buyer evidence of
/// its own (small count, unrelated recipients, night) for an alert without any network rule.
fn buyer_rows(sender: &str, id: &str, day: usize, recipients: &[&str]) -> String {
    let names = ["Rosa Lim", "Joy Reyes", "Mae Cruz", "Ana Dela Pena"];
    (0..8)
        .map(|k| {
            let r = recipients[k % recipients.len()];
            let name = names[k % names.len()];
            format!(
                "{id}{k},2024-01-{:02}T23:00:00+01:00,{sender},{sender} Muster,DE,{r},{name},PH,35.00,EUR,mto,,\n",
                day + 2 * k
            )
        })
        .collect()
}

/// A small EUR transfer by money-transfer operator to the Philippines.
fn mto_ph(e: &mut Engine, id: &str, ts: &str, sender: &str, recipient: &str, rname: &str) {
    feed(e, &format!("{id},{ts},{sender},{sender} Muster,DE,{recipient},{rname},PH,40.00,EUR,mto,,"));
}

#[test]
fn idle_entities_expire_and_their_alerts_remain() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // A: small night payments to four unrelated recipients, twice each: a buyer alert.
    feed(&mut e, &buyer_rows("A", "a", 1, &["FAC", "R2", "R3", "R4"]));
    mto_ph(&mut e, "b1", "2024-01-20T22:00:00+01:00", "B", "FAC", "Rosa Lim");
    mto_ph(&mut e, "c1", "2024-01-21T22:00:00+01:00", "C", "FAC", "Rosa Lim");
    let before = e.alerts();
    assert!(before.iter().any(|a| a.entity_id == "A"), "{before:?}");
    assert_eq!(e.stats().senders_tracked, 3);
    // Two years later one new payment: the old state is swept, the alerts are not.
    mto_ph(&mut e, "late", "2026-01-15T12:00:00+01:00", "D", "R9", "Joy Reyes");
    let st = e.stats();
    assert_eq!((st.senders_tracked, st.recipients_tracked), (1, 1));
    assert_eq!(e.alerts(), before);
    // A returning sender starts from a clean slate.
    mto_ph(&mut e, "back", "2026-01-16T12:00:00+01:00", "A", "FAC", "Rosa Lim");
    let x = e.sender_values("A", at("2026-01-16T12:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::CorridorCount365), 1.0);
}

#[test]
fn snapshot_then_the_rest_equals_one_run() {
    let dir = small_world();
    let mut rows = Vec::new();
    struct V<'a>(&'a mut Vec<Transaction>);
    impl osecwatch_ingest::Visitor for V<'_> {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> osecwatch_ingest::Location) {
            self.0.push(row.to_owned_txn());
        }
        fn reject(&mut self, _: osecwatch_ingest::Rejection) {}
    }
    osecwatch_ingest::read_file(&dir.path().join("transactions.csv"), &mut V(&mut rows)).unwrap();
    let mut whole = Engine::new(pack("osec.toml")).unwrap();
    for t in &rows {
        whole.process(&t.as_row()).unwrap();
    }
    let half = rows.len() / 2;
    let mut first = Engine::new(pack("osec.toml")).unwrap();
    for t in &rows[..half] {
        first.process(&t.as_row()).unwrap();
    }
    let json = serde_json::to_string(&first.snapshot()).unwrap();
    let mut second = Engine::new(pack("osec.toml")).unwrap();
    second.restore(serde_json::from_str(&json).unwrap()).unwrap();
    for t in &rows[half..] {
        second.process(&t.as_row()).unwrap();
    }
    assert!(!whole.alerts().is_empty());
    assert_eq!(second.alerts(), whole.alerts());
    assert_eq!(second.stats().senders_tracked, whole.stats().senders_tracked);
}

/// The prefilter reader threads ask must agree with `process`, payment by payment: a payment
/// it lets pass would have been allowed without touching state, and one it wants is one
/// `process` looks into (or refuses).
#[test]
fn the_prefilter_agrees_with_process_payment_by_payment() {
    use osecwatch_ingest::{Location, Prefilter, Rejection, Visitor};
    let dir = small_world();
    let path = dir.path().join("transactions.csv");
    struct Check {
        engine: Engine,
        filter: RelevanceFilter,
        wanted: u64,
        checked: u64,
    }
    impl Visitor for Check {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> Location) {
            let before = self.engine.stats().relevant;
            self.engine.process(row).unwrap();
            let looked = self.engine.stats().relevant > before;
            assert_eq!(self.filter.wants_row(row), looked, "payment {}", row.txn_id);
            self.wanted += looked as u64;
            self.checked += 1;
        }
        fn reject(&mut self, r: Rejection) {
            panic!("simulator output rejected: {r:?}");
        }
    }
    // A real sender on the watch list: all of its payments become relevant.
    let text = std::fs::read_to_string(&path).unwrap();
    let watched = text.lines().nth(1).and_then(|l| l.split(',').nth(2)).unwrap().to_string();
    for name in ["osec.toml", "baseline.toml"] {
        let mut engine = Engine::new(pack(name)).unwrap();
        engine.set_watchlist([watched.clone()]);
        let filter = engine.relevance_filter();
        let mut c = Check { engine, filter, wanted: 0, checked: 0 };
        osecwatch_ingest::read_file(&path, &mut c).unwrap();
        assert!(c.wanted > 0 && c.wanted < c.checked / 2, "{name}: {} of {} wanted", c.wanted, c.checked);
        // An amount the rates cannot convert is wanted, so `process` refuses it with the reason.
        let t = payments("X,2025-06-01T22:30:00+01:00,S,A B,DE,R,C D,DE,100,BIF,card,,").remove(0);
        assert!(c.filter.wants_row(&t.as_row()));
    }
    // Scanning with the prefilter (passed payments only counted) gives the same alerts.
    struct Scan(Engine);
    impl Visitor for Scan {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> Location) {
            self.0.process(row).unwrap();
        }
        fn pass<'a>(
            &mut self,
            at: osecwatch_model::Timestamp,
            _: &dyn Fn() -> osecwatch_model::TxnRow<'a>,
            _: &dyn Fn() -> Location,
        ) {
            self.0.pass(at);
        }
        // The simulator's world is in time order, so every run can be taken whole.
        fn pass_run(&mut self, count: u64, _: osecwatch_model::Timestamp, last: osecwatch_model::Timestamp) -> bool {
            self.0.pass_run(count, last);
            true
        }
        fn reject(&mut self, r: Rejection) {
            panic!("simulator output rejected: {r:?}");
        }
    }
    let mut full = Scan(Engine::new(pack("osec.toml")).unwrap());
    osecwatch_ingest::read_file(&path, &mut full).unwrap();
    let mut filtered = Scan(Engine::new(pack("osec.toml")).unwrap());
    let filter = filtered.0.relevance_filter();
    let csv = osecwatch_ingest::CsvOptions { block: 4096, workers: 2 };
    osecwatch_ingest::read_file_opts(&path, &Default::default(), csv, Some(&filter), &mut filtered).unwrap();
    assert_eq!(full.0.alerts(), filtered.0.alerts());
    let (a, b) = (full.0.stats(), filtered.0.stats());
    assert_eq!(
        (a.processed, a.relevant, a.allow, a.review, a.block),
        (b.processed, b.relevant, b.allow, b.review, b.block)
    );
}

/// The network layer end to end: two customers with buyer evidence of their own pay F; an
/// honest-looking customer who paid F before is re-scored when F becomes a known
/// facilitator (a retroactive alert dated at the discovery), and a new customer's first
/// payment to F is alerted at once. A parish paid by many honest customers and one buyer
/// stays clean.
#[test]
fn a_known_facilitator_alerts_new_payers_at_once_and_earlier_payers_retroactively() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    // E pays F twice, small, in the evening, and nothing else: not enough on its own.
    feed(
        &mut e,
        "e1,2024-01-01T20:00:00+01:00,E,Eva Berg,DE,F,Rosa Lim,PH,40.00,EUR,mto,,
         e2,2024-01-03T20:00:00+01:00,E,Eva Berg,DE,F,Rosa Lim,PH,40.00,EUR,mto,,",
    );
    // Five honest customers pay a parish; one buyer pays it too.
    for k in 0..5 {
        feed(
            &mut e,
            &format!(
                "p{k},2024-01-02T11:00:00+01:00,P{k},Hans Weber{k},DE,PARISH,Maria Clara Reyes,PH,25.00,EUR,mto,,"
            ),
        );
    }
    assert!(e.alerts().is_empty(), "{:?}", e.alerts());
    // Two buyers: strong evidence of their own, both paying F (and the first the parish).
    feed(&mut e, &buyer_rows("B1", "x", 5, &["F", "R2", "R3", "PARISH"]));
    feed(&mut e, &buyer_rows("B2", "y", 6, &["R5", "R6", "R7", "F"]));
    let alerts = e.alerts();
    let b: Vec<&str> = alerts.iter().filter(|a| a.entity_type == "sender").map(|a| a.entity_id.as_str()).collect();
    assert!(b.contains(&"B1") && b.contains(&"B2"), "{alerts:?}");
    // E's alert: retroactive, raised at the discovery (B2's payment that made F known, after
    // E's last payment), its evidence E's own earlier payments, its reason naming F.
    let ea = alerts.iter().find(|a| a.entity_id == "E").expect("retroactive alert on E");
    assert!(ea.retroactive);
    assert!(ea.raised_at.as_str() > "2024-01-03T20:00:00+01:00", "{}", ea.raised_at);
    assert_eq!(ea.txn_ids, vec!["e1".to_string(), "e2".to_string()]);
    assert!(ea.reasons.iter().any(|r| r.contains("R-OSEC-NET-KNOWN") && r.contains("paid F")), "{:?}", ea.reasons);
    assert!(alerts.iter().filter(|a| a.entity_id != "E").all(|a| !a.retroactive));
    // A new customer's first payment to F: alerted on that payment, not later.
    let o = process_one(&mut e, "n1,2024-02-01T12:00:00+01:00,N,Nils Haas,DE,F,Rosa Lim,PH,30.00,EUR,bank_transfer,,");
    assert!(o.decision >= Decision::Review, "{o:?}");
    assert!(o.rules.contains(&"R-OSEC-NET-KNOWN".to_string()), "{o:?}");
    assert!(o.reasons.iter().any(|r| r.contains("paid F") && r.contains("2 of them")), "{:?}", o.reasons);
    let na = e.alerts().into_iter().find(|a| a.entity_id == "N").expect("alert on N");
    assert!(!na.retroactive && na.raised_at.starts_with("2024-02-01"));
    // The parish: five honest payers and one buyer is what chance gives, no network risk.
    let x = e.recipient_values("PARISH", at("2024-02-01T12:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::RRiskyPayers365), 1.0);
    assert!(v(&x, Feature::RNetworkRisk) <= 0.5);
    assert_eq!(
        process_one(&mut e, "q1,2024-02-02T12:00:00+01:00,Q,Otto Kern,DE,PARISH,Maria Clara Reyes,PH,25.00,EUR,mto,,")
            .decision,
        Decision::Allow
    );
    // F itself: a facilitator alert that names its risky payers.
    let fa = e.alerts().into_iter().find(|a| a.entity_id == "F").expect("facilitator alert on F");
    assert!(fa.reasons.iter().any(|r| r.contains("R-OSEC-NET-R")), "{:?}", fa.reasons);
    // One network: the four buyers who paid F, and F; the parish (no alert) is not in it.
    let nets = e.networks();
    assert_eq!(nets.len(), 1, "{nets:?}");
    let n = &nets[0];
    let members: Vec<(&str, &str)> = n.members.iter().map(|m| (m.entity_id.as_str(), m.role)).collect();
    assert_eq!(members, vec![("B1", "buyer"), ("B2", "buyer"), ("E", "buyer"), ("N", "buyer"), ("F", "facilitator")]);
    assert_eq!(n.edges.len(), 4);
    let e_edge = n.edges.iter().find(|x| x.sender == "E").unwrap();
    assert_eq!((e_edge.payments, e_edge.amount.as_str()), (2, "80.00"));
    // B1 and B2 paid F twice each (35.00), E twice (40.00), N once (30.00).
    assert_eq!((n.payments, n.amount.as_str()), (7, "250.00"));
    // E's first payment opens it; N's payment on 1 February is the latest.
    assert_eq!(n.first_payment, Timestamp::new(at("2024-01-01T20:00:00+01:00").utc, 0).to_rfc3339());
    assert_eq!(n.last_payment, Timestamp::new(at("2024-02-01T12:00:00+01:00").utc, 0).to_rfc3339());
    assert!(n.members.iter().all(|m| !m.alert_ids.is_empty()));
}

/// Six steady daytime transfers of EUR 50 in January 2024 by `sender` to `recipient`, a
/// person outside the family, with cover references: weak evidence of its own (about 36
/// points: the small count, many to one person, the references, the amount), no alert.
fn steady_rows(sender: &str, recipient: &str, rname: &str) -> String {
    (0..6)
        .map(|k| {
            let reference = if k % 2 == 0 { "school fees" } else { "food" };
            format!(
                "{sender}-{k},2024-01-{:02}T13:00:00+01:00,{sender},{sender} Muster,DE,{recipient},{rname},PH,50.00,EUR,mto,{reference},\n",
                1 + 4 * k
            )
        })
        .collect()
}

#[test]
fn several_payers_with_weak_evidence_make_a_facilitator_known_a_crowd_does_not() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    for s in ["S1", "S2", "S3"] {
        feed(&mut e, &steady_rows(s, "FX", "Liza Ramos"));
    }
    assert!(e.alerts().is_empty(), "weak evidence alone raises no alert: {:?}", e.alerts());
    let own = |e: &mut Engine, s: &str| e.sender_values(s, at("2024-01-21T13:00:00+01:00")).unwrap();
    let x = own(&mut e, "S1");
    assert_eq!(v(&x, Feature::MaxToOneUnrelated30), 6.0);
    // Each of the three sees only two others with weak evidence: not enough.
    assert_eq!(v(&x, Feature::MaxRecipientRisk365), 0.0);
    // A new customer's first payment to FX: three other payers, all with weak evidence, out
    // of three: 1 - 0.25^3 beyond chance, so FX is a known facilitator for this payment.
    let o =
        process_one(&mut e, "n1,2024-02-01T12:00:00+01:00,N,Nils Haas,DE,FX,Liza Ramos,PH,30.00,EUR,bank_transfer,,");
    assert!(o.rules.contains(&"R-OSEC-NET-KNOWN".to_string()), "{o:?}");
    assert!(o.reasons.iter().any(|r| r.contains("paid FX") && r.contains("3 of them")), "{:?}", o.reasons);
    // N's own evidence is one payment: it makes no fourth suspect, and the three earlier
    // payers, each seeing two suspects besides itself, are still not alerted.
    let alerted: Vec<String> = e.alerts().into_iter().map(|a| a.entity_id).collect();
    assert_eq!(alerted, vec!["N".to_string()]);
    // A fourth payer with weak evidence: now every payer sees three others, FX becomes known
    // as a whole, and its earlier payers are re-scored: retroactive alerts.
    feed(&mut e, &steady_rows("S4", "FX", "Liza Ramos").replace("2024-01-", "2024-02-"));
    let alerts = e.alerts();
    for s in ["S1", "S2", "S3"] {
        let a = alerts.iter().find(|a| a.entity_id == s).unwrap_or_else(|| panic!("no alert on {s}: {alerts:?}"));
        assert!(a.retroactive, "{a:?}");
    }
    // A crowd: a shop that eleven customers pay once each, then four in the same steady way
    // as FX's payers. A new payer sees fifteen others, four with weak evidence: more payers
    // than weak evidence is weighed for, so the shop carries no risk.
    for k in 0..11 {
        mto_ph(&mut e, &format!("o{k}"), "2024-01-01T10:00:00+01:00", &format!("O{k}"), "SHOP", "Mila Tan");
    }
    for k in 0..4 {
        feed(&mut e, &steady_rows(&format!("C{k}"), "SHOP", "Mila Tan"));
    }
    let o =
        process_one(&mut e, "m1,2024-02-01T12:00:00+01:00,M,Max Weber,DE,SHOP,Mila Tan,PH,30.00,EUR,bank_transfer,,");
    assert_eq!(o.decision, Decision::Allow, "{o:?}");
    let x = e.recipient_values("SHOP", at("2024-02-01T12:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::RNetworkRisk), 0.0);
}

#[test]
fn a_customers_accounts_are_one_payer_judged_by_its_riskiest() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    let links = [("P1", "C-1"), ("P2", "C-1")];
    e.set_same_party(links.iter().map(|(a, c)| (a.to_string(), c.to_string())));
    // The customer's first account pays FX once, with no evidence; its second account, and
    // two other customers, pay FX with weak evidence of their own.
    mto_ph(&mut e, "p0", "2023-12-30T10:00:00+01:00", "P1", "FX", "Liza Ramos");
    for s in ["P2", "S2", "S3"] {
        feed(&mut e, &steady_rows(s, "FX", "Liza Ramos"));
    }
    // A new payer sees three payers, all suspects: the customer counts once, by P2.
    let o =
        process_one(&mut e, "n1,2024-02-01T12:00:00+01:00,N,Nils Haas,DE,FX,Liza Ramos,PH,30.00,EUR,bank_transfer,,");
    assert!(o.reasons.iter().any(|r| r.contains("whom 3 other unrelated customers pay, 3 of them")), "{:?}", o.reasons);
}

/// A giant hub (a remittance agent's pooled account paid by thousands) stays within the
/// caps: at most 256 payer edges kept (so the work per payment to it is bounded), flagged as
/// a hub in its state, and no network risk or alert from its honest payers.
#[test]
fn a_giant_hub_is_capped_and_flagged() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    let mut rows = String::new();
    for k in 0..10_000u32 {
        let (day, hour) = (1 + k / 400, 8 + (k / 40) % 10);
        rows.push_str(&format!(
            "h{k},2024-01-{day:02}T{hour:02}:{:02}:00+01:00,S{k},Kunde Nummer{k},DE,AGENT,Cebu Padala Center,PH,20.00,EUR,mto,,\n",
            k % 60
        ));
    }
    feed(&mut e, &rows);
    let x = e.recipient_values("AGENT", at("2024-01-26T12:00:00+01:00")).unwrap();
    // Edges stop at the cap; the payers counted are those kept.
    assert_eq!(v(&x, Feature::RUnrelatedPayers365), 256.0);
    assert_eq!(v(&x, Feature::RNetworkRisk), 0.0);
    assert!(e.alerts().iter().all(|a| a.entity_id != "AGENT"), "an honest hub is no facilitator");
    let snap = serde_json::to_value(e.snapshot()).unwrap();
    let agent =
        snap["recipient_state"].as_array().unwrap().iter().find(|r| r["hub"] == true).expect("flagged as a hub");
    assert_eq!(agent["payers"].as_array().unwrap().len(), 256);
}

fn seed(role: SeedRole, action: SeedAction, ids: &[&str]) -> SeedEvent {
    SeedEvent { role, action, ids: ids.iter().map(|s| s.to_string()).collect(), source: "test".into() }
}

/// Seeds from outside the stream: a facilitator confirmed elsewhere re-scores its earlier
/// payers at the seed's moment (retroactive alerts), and a confirmed buyer reaches two hops
/// (its recipient becomes known and that recipient's other payer is re-scored). Snapshot
/// and restore between events give the same alerts as one run, and the seed sets travel in
/// the snapshot.
#[test]
fn seed_events_reach_earlier_payers_and_survive_a_snapshot() {
    let before = "e1,2024-01-01T20:00:00+01:00,E,Eva Berg,DE,F,Rosa Lim,PH,40.00,EUR,mto,,
                  e2,2024-01-03T20:00:00+01:00,E,Eva Berg,DE,F,Rosa Lim,PH,40.00,EUR,mto,,
                  g1,2024-01-04T20:00:00+01:00,G,Gerd Popp,DE,H,Joy Reyes,PH,45.00,EUR,mto,,
                  g2,2024-01-06T20:00:00+01:00,G,Gerd Popp,DE,H,Joy Reyes,PH,45.00,EUR,mto,,
                  k1,2024-01-07T20:00:00+01:00,K,Karl Roth,DE,H,Joy Reyes,PH,50.00,EUR,mto,,
                  k2,2024-01-09T20:00:00+01:00,K,Karl Roth,DE,H,Joy Reyes,PH,50.00,EUR,mto,,";
    let after = "n1,2024-02-01T12:00:00+01:00,N,Nils Haas,DE,F,Rosa Lim,PH,30.00,EUR,bank_transfer,,";
    let run = |snapshot_between: bool| {
        let mut e = Engine::new(pack("osec.toml")).unwrap();
        feed(&mut e, before);
        // B1 has buyer evidence of its own and pays H; G and K pay H and show nothing.
        feed(&mut e, &buyer_rows("B1", "x", 5, &["R1", "R2", "R3", "H"]));
        let quiet = |a: &Alert| !["E", "G", "K"].contains(&a.entity_id.as_str());
        assert!(e.alerts().iter().all(quiet), "{:?}", e.alerts());
        let t = at("2024-01-25T09:00:00Z");
        let f = e.apply_seed(t, "seed-1", &seed(SeedRole::Facilitator, SeedAction::Add, &["F", "NOBODY"]));
        assert_eq!((f.changed, f.unknown.clone(), f.rescored), (2, vec!["NOBODY".to_string()], 1), "{f:?}");
        assert_eq!(f.alerts_raised, 1);
        // The same seed again changes nothing.
        assert_eq!(e.apply_seed(t, "seed-2", &seed(SeedRole::Facilitator, SeedAction::Add, &["F"])).changed, 0);
        let mut e = if snapshot_between {
            let json = serde_json::to_string(&e.snapshot()).unwrap();
            let mut restored = Engine::new(pack("osec.toml")).unwrap();
            restored.restore(serde_json::from_str(&json).unwrap()).unwrap();
            restored
        } else {
            e
        };
        // K confirmed as a buyer (a police request): watch-listed, K and B1 are two risky
        // payers of H's three, H becomes a known facilitator, and G is re-scored.
        let b = e.apply_seed(at("2024-01-30T09:00:00Z"), "seed-3", &seed(SeedRole::Buyer, SeedAction::Add, &["K"]));
        assert_eq!(b.changed, 1);
        assert_eq!(b.rescored, 3, "K, then H's other payers B1 and G: {b:?}");
        feed(&mut e, after);
        assert_eq!(e.seeds(), (vec!["K"], vec!["F", "NOBODY"]));
        e.alerts()
    };
    let alerts = run(false);
    assert_eq!(run(true), alerts, "snapshot between events changed the outcome");
    let ea = alerts.iter().find(|a| a.entity_id == "E").expect("E re-scored by the facilitator seed");
    assert!(ea.retroactive && ea.raised_at.starts_with("2024-01-25"), "{ea:?}");
    assert_eq!(ea.txn_ids, vec!["e1".to_string(), "e2".to_string()]);
    assert!(ea.reasons.iter().any(|r| r.contains("F")), "{:?}", ea.reasons);
    let ga = alerts.iter().find(|a| a.entity_id == "G").expect("G reached in two hops from the buyer seed");
    assert!(ga.retroactive && ga.raised_at.starts_with("2024-01-30"), "{ga:?}");
    // N's first payment to the seeded facilitator is alerted on that payment.
    let na = alerts.iter().find(|a| a.entity_id == "N").expect("alert on N");
    assert!(!na.retroactive && na.raised_at.starts_with("2024-02-01"));
    // Withdrawing the seed stops its effect on later payments.
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    e.apply_seed(at("2024-01-01T00:00:00Z"), "s1", &seed(SeedRole::Facilitator, SeedAction::Add, &["F"]));
    e.apply_seed(at("2024-01-01T00:00:01Z"), "s2", &seed(SeedRole::Facilitator, SeedAction::Remove, &["F"]));
    feed(&mut e, after);
    assert!(e.alerts().is_empty(), "{:?}", e.alerts());
}

/// Same-party links: a customer's new account is alerted at its first corridor payment when
/// its other account shows buyer evidence of its own, and the explanation names the other
/// account and the customer; without the link it is not. In a recipient's network risk the
/// two accounts are one payer.
#[test]
fn a_linked_new_account_is_alerted_at_once_and_counts_as_one_payer() {
    let first = "n1,2024-03-01T12:00:00+01:00,A2,Anton Muster,DE,NEW,Joy Reyes,PH,30.00,EUR,mto,,";
    let run = |linked: bool| {
        let mut e = Engine::new(pack("osec.toml")).unwrap();
        if linked {
            let links = [("A1", "C-7"), ("A2", "C-7"), ("Z", "C-8")];
            let n = e.set_same_party(links.iter().map(|(a, c)| (a.to_string(), c.to_string())));
            assert_eq!(n, 1, "a customer with one account is no link");
        }
        feed(&mut e, &buyer_rows("A1", "a", 1, &["F", "R2", "R3", "R4"]));
        assert!(e.alerts().iter().any(|a| a.entity_id == "A1"));
        let t = payments(first).remove(0);
        (e.process(&t.as_row()).unwrap(), e)
    };
    let (o, mut e) = run(true);
    assert!(o.decision >= Decision::Review && o.rules.contains(&"R-OSEC-LINK".to_string()), "{o:?}");
    let a2 = e.alerts().into_iter().find(|a| a.entity_id == "A2").expect("alert on the new account");
    assert!(a2.reasons.iter().any(|r| r.contains("customer C-7: A1 (own risk")), "{:?}", a2.reasons);
    let x = e.sender_values("A2", at("2024-03-01T12:00:00+01:00")).unwrap();
    assert_eq!(v(&x, Feature::LinkedAccounts), 1.0);
    assert!(v(&x, Feature::LinkedOwnRisk) >= 0.6);
    let (o, e) = run(false);
    assert_eq!(o.decision, Decision::Allow, "{o:?}");
    assert!(e.alerts().iter().all(|a| a.entity_id != "A2"));

    // One person, two risky accounts, both paying H with one honest payer: one risky payer
    // with the link (no network risk beyond the single-payer cap), two without.
    let risk = |linked: bool| {
        let mut e = Engine::new(pack("osec.toml")).unwrap();
        if linked {
            e.set_same_party([("B1".to_string(), "C-1".to_string()), ("B2".to_string(), "C-1".to_string())]);
        }
        feed(&mut e, &buyer_rows("B1", "x", 1, &["H", "R2", "R3", "R4"]));
        feed(&mut e, &buyer_rows("B2", "y", 2, &["H", "R6", "R7", "R8"]));
        mto_ph(&mut e, "h1", "2024-02-10T12:00:00+01:00", "O", "H", "Joy Reyes");
        let x = e.recipient_values("H", at("2024-02-11T12:00:00+01:00")).unwrap();
        (v(&x, Feature::RRiskyPayers365), v(&x, Feature::RUnrelatedPayers365), v(&x, Feature::RNetworkRisk))
    };
    let (risky, payers, net) = risk(true);
    assert_eq!((risky, payers), (1.0, 2.0));
    assert!(net <= 0.5, "{net}");
    let (risky, payers, net) = risk(false);
    assert_eq!((risky, payers), (2.0, 3.0));
    assert!(net >= 0.9, "{net}");
}

/// A facilitator's new wallet: the same name and country as a known facilitator, and a payer
/// who paid both, links them; a first payment to the new wallet is then alerted on its own,
/// naming both wallets, and the new wallet is a facilitator too. The same name in another
/// country is no link.
#[test]
fn a_known_facilitators_new_wallet_is_linked_by_name_country_and_a_shared_payer() {
    let mut e = Engine::new(pack("osec.toml")).unwrap();
    feed(&mut e, &buyer_rows("B1", "x", 1, &["F", "R2", "R3", "R4"]));
    feed(&mut e, &buyer_rows("B2", "y", 2, &["F", "R6", "R7", "R8"]));
    let f = e.recipient_values("F", at("2024-01-25T12:00:00+01:00")).unwrap();
    assert!(v(&f, Feature::RNetworkRisk) >= 0.9, "F is a known facilitator");
    // B1 moves on to F's new wallet, and pays a namesake abroad elsewhere.
    mto_ph(&mut e, "w1", "2024-02-01T22:00:00+01:00", "B1", "F2", "Rosa Lim");
    feed(&mut e, "t1,2024-02-02T22:00:00+01:00,B1,B1 Muster,DE,G,Rosa Lim,TH,40.00,EUR,mto,,");
    // New customers' first payments: to the new wallet alerted at once, to the namesake not.
    let o = process_one(&mut e, "n1,2024-02-05T12:00:00+01:00,N,Nils Haas,DE,F2,Rosa Lim,PH,30.00,EUR,bank_transfer,,");
    assert!(o.decision >= Decision::Review && o.rules.contains(&"R-OSEC-NET-WALLET".to_string()), "{o:?}");
    assert!(o.reasons.iter().any(|r| r.contains("paid F2") && r.contains("as F,")), "{:?}", o.reasons);
    assert_eq!(
        process_one(&mut e, "n2,2024-02-05T13:00:00+01:00,M,Mia Kurz,DE,G,Rosa Lim,TH,30.00,EUR,bank_transfer,,")
            .decision,
        Decision::Allow
    );
    let g = e.recipient_values("G", at("2024-02-06T12:00:00+01:00")).unwrap();
    assert_eq!(v(&g, Feature::RLinkedKnown), 0.0);
    // The new wallet is a facilitator by the same link.
    let fa = e.alerts().into_iter().find(|a| a.entity_id == "F2").expect("facilitator alert on F2");
    assert!(fa.reasons.iter().any(|r| r.contains("R-OSEC-WALLET-R") && r.contains(" as F,")), "{:?}", fa.reasons);
}

/// One way to name a pack, for every command and the service: none is the built-in OSEC
/// pack, `builtin:NAME` another built-in one, anything else a file; the text comes with it.
#[test]
fn a_pack_is_named_the_same_way_everywhere() {
    let (osec, text) = RulePack::load(None).unwrap();
    assert_eq!((osec.meta.id.as_str(), text.as_ref()), ("osec", RulePack::builtin_text("osec").unwrap()));
    let (base, _) = RulePack::load(Some(std::path::Path::new("builtin:baseline"))).unwrap();
    assert_eq!(base.meta.id, "baseline");
    let e = RulePack::load(Some(std::path::Path::new("builtin:nope"))).err().unwrap().to_string();
    assert!(e.contains("no built-in pack `nope`") && e.contains("baseline"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.toml");
    std::fs::write(&p, RulePack::builtin_text("baseline").unwrap()).unwrap();
    let (mine, text) = RulePack::load(Some(&p)).unwrap();
    assert_eq!((mine.meta.id.as_str(), text.len()), ("baseline", RulePack::builtin_text("baseline").unwrap().len()));
    assert!(RulePack::load(Some(&dir.path().join("missing.toml"))).is_err());
}
