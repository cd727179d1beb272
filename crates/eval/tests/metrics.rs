//! Every metric against a hand-made world whose answers are worked out by hand.

use osecwatch_eval::*;
use std::path::Path;

const TX: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category
T1,2025-01-01T10:00:00+00:00,B1,,DE,F1,,PH,10.00,EUR,mto,,
T2,2025-01-11T10:00:00+00:00,B1,,DE,F1,,PH,20.00,EUR,mto,,
T3,2025-01-21T10:00:00+00:00,B1,,DE,F1,,PH,30.00,EUR,mto,,
T4,2025-01-22T10:00:00+00:00,B1,,DE,M1,,DE,12.00,EUR,card,,5411
T5,2025-02-01T10:00:00+00:00,B2,,DE,F1,,PH,50.00,EUR,mto,,
T6,2025-02-02T10:00:00+00:00,B2,,DE,F1,,PH,50.00,EUR,wallet,,
T7,2025-02-10T10:00:00+00:00,D1,,DE,R1,,PH,300.00,EUR,mto,,
T8,2025-02-11T10:00:00+00:00,D2,,AT,R2,,PH,200.00,EUR,mto,,
T9,2025-02-12T23:00:00+00:00,W1,,DE,P1,,CO,25.00,EUR,wallet,,
T10,2025-03-01T10:00:00+00:00,B3,,DE,F2,,PH,40.00,EUR,mto,,
";

const LABELS: &str =
    "txn_id,is_osec\nT1,true\nT2,true\nT3,true\nT4,false\nT5,true\nT6,true\nT7,false\nT8,false\nT9,false\nT10,true\n";

const ENTITIES: &str = "entity_id,role,archetype,first_osec_at
B1,buyer,light_buyer,2025-01-01T10:00:00+00:00
B2,buyer,heavy_buyer,2025-02-01T10:00:00+00:00
B3,buyer,stealthy_buyer,2025-03-01T10:00:00+00:00
B4,buyer,light_buyer,
D1,benign,diaspora_family,
D2,benign,diaspora_family,
W1,benign,adult_webcam,
F1,facilitator,facilitator,2025-01-01T10:00:00+00:00
F2,facilitator,victim_direct,2025-03-01T10:00:00+00:00
R1,benign,family_member,
R2,benign,family_member,
P1,benign,cam_performer,
M1,benign,merchant,
";

fn alert(id: &str, kind: &str, entity: &str, raised: &str, rules: &[&str], score: f64) -> String {
    serde_json::json!({
        "alert_id": id, "entity_type": kind, "entity_id": entity, "typology": "T", "score": score,
        "decision": "review", "typologies": rules, "reasons": ["r"], "raised_at": raised, "txn_ids": ["x"]
    })
    .to_string()
}

fn world() -> (tempfile::TempDir, GroundTruth) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("transactions.csv"), TX).unwrap();
    std::fs::write(d.path().join("txn_labels.csv"), LABELS).unwrap();
    std::fs::write(d.path().join("entity_labels.csv"), ENTITIES).unwrap();
    let w = GroundTruth::load(d.path()).unwrap();
    (d, w)
}

fn write_alerts(dir: &Path, lines: &[String]) -> Vec<AlertIn> {
    let p = dir.join("alerts.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    load_alerts(&p).unwrap()
}

fn scores() -> Vec<osecwatch_engine::ScoreRecord> {
    let line = |id: &str, max: f64| {
        let firsts: Vec<serde_json::Value> = (0..=(max as usize / 5))
            .map(|i| serde_json::json!({"threshold": i as f64 * 5.0, "at": "2025-01-01T00:00:00+00:00", "txn_id": "x"}))
            .collect();
        serde_json::json!({"entity_type": "sender", "entity_id": id, "typology": "T", "max_score": max, "first_at": firsts}).to_string()
    };
    // B3 and D1 tie at 20.
    let text = [line("B1", 60.0), line("B2", 90.0), line("W1", 55.0), line("D1", 20.0), line("B3", 20.0)].join("\n");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("scores.jsonl");
    std::fs::write(&p, text).unwrap();
    load_scores(&p).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn detection_workload_time_to_detection_and_fairness() {
    let (d, w) = world();
    assert_eq!(w.senders.len(), 6);
    assert_eq!(w.osec.len(), 6);
    let alerts = write_alerts(
        d.path(),
        &[
            alert("A1", "sender", "B1", "2025-01-11T10:00:00+00:00", &["R-OSEC-01"], 60.0),
            alert("A2", "sender", "W1", "2025-02-12T23:00:00+00:00", &["R-OSEC-05", "R-OSEC-07"], 55.0),
            alert("A3", "sender", "B2", "2025-02-01T10:00:00+00:00", &["R-OSEC-10"], 90.0),
            alert("A4", "sender", "B1", "2025-01-30T10:00:00+00:00", &["R-OSEC-02"], 70.0),
            alert("A5", "recipient", "F1", "2025-02-02T10:00:00+00:00", &["R-OSEC-10-R"], 50.0),
            alert("A6", "sender", "GHOST", "2025-02-20T10:00:00+00:00", &["R-OSEC-01"], 50.0),
        ],
    );
    let sc = scores();
    let e = evaluate("osec", &w, &alerts, Some(&sc));
    // Buyers: truth {B1, B2, B3} (B4 has no OSEC payment); flagged {B1, B2, W1, GHOST}.
    let b = &e.buyers;
    assert_eq!((b.truth, b.flagged, b.true_positives, b.false_positives, b.unknown_entities), (3, 4, 2, 2, 1));
    assert!(close(b.precision, 0.5) && close(b.recall, 2.0 / 3.0));
    assert!(close(b.f1, 2.0 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)));
    let f = &e.facilitators;
    assert_eq!((f.truth, f.flagged, f.true_positives), (2, 1, 1));
    assert!(close(f.precision, 1.0) && close(f.recall, 0.5));
    // Workload: 4 alerted senders of 6; 6 alerts over 59 days.
    assert!(close(e.sender_alerts_per_10k, 4.0 / 6.0 * 10_000.0));
    assert!(close(e.alerts_per_month, 6.0 / (59.0 / 30.44)));
    assert_eq!(e.alerts_by_month.get("2025-01"), Some(&2));
    assert_eq!(e.alerts_by_month.get("2025-02"), Some(&4));
    // Time to detection: B1 first alert (A1, not the later A4) 10 days after T1, with T1
    // before it and T2 (the alerting payment) and T3 after; B2 alerted at its first payment.
    let t1 = e.time_to_detection.iter().find(|t| t.buyer == "B1").unwrap();
    assert!(close(t1.days, 10.0));
    assert_eq!(t1.osec_payments_before, 1);
    assert!(close(t1.amount_before, 10.0) && close(t1.amount_after, 50.0));
    let t2 = e.time_to_detection.iter().find(|t| t.buyer == "B2").unwrap();
    assert!(close(t2.days, 0.0) && t2.osec_payments_before == 0 && close(t2.amount_after, 100.0));
    assert_eq!(e.time_to_detection.len(), 2);
    assert_eq!(e.median_days_to_detection, Some(5.0));
    assert_eq!(e.median_payments_before_detection, Some(0.5));
    assert!(close(e.osec_amount_total, 200.0));
    assert!(close(e.osec_amount_before_detection, 10.0));
    assert!(close(e.share_after_detection, 150.0 / 200.0));
    // Per archetype.
    let rate = |v: &[Rate], g: &str| v.iter().find(|r| r.group == g).map(|r| (r.total, r.flagged)).unwrap();
    assert_eq!(rate(&e.recall_by_archetype, "light_buyer"), (1, 1));
    assert_eq!(rate(&e.recall_by_archetype, "heavy_buyer"), (1, 1));
    assert_eq!(rate(&e.recall_by_archetype, "stealthy_buyer"), (1, 0));
    assert_eq!(rate(&e.false_positives_by_archetype, "adult_webcam"), (1, 1));
    assert_eq!(rate(&e.false_positives_by_archetype, "diaspora_family"), (2, 0));
    assert_eq!(rate(&e.benign_rate_by_country, "AT"), (1, 0));
    assert_eq!(rate(&e.benign_rate_by_country, "DE"), (2, 1));
    assert!(e.false_positive_rules.contains(&("adult_webcam".into(), "R-OSEC-05".into(), 1)));
    assert!(e.false_positive_rules.iter().any(|(a, _, _)| a == "(unknown entity)"));
    // Curve: ties at 20 are both in or both out.
    let at = |th: f64| e.curve.iter().find(|p| close(p.threshold, th)).unwrap().clone();
    let p20 = at(20.0);
    assert_eq!(p20.flagged, 5);
    assert!(close(p20.precision, 3.0 / 5.0) && close(p20.recall, 1.0));
    let p25 = at(25.0);
    assert_eq!(p25.flagged, 3);
    assert!(close(p25.precision, 2.0 / 3.0) && close(p25.recall, 2.0 / 3.0));
    let p60 = at(60.0);
    assert!(p60.flagged == 2 && close(p60.precision, 1.0));
    assert_eq!(at(95.0).flagged, 0);
    assert_eq!(e.scores_by_archetype.get("diaspora_family"), Some(&vec![20.0]));
}

#[test]
fn no_alerts_at_all() {
    let (d, w) = world();
    let alerts = write_alerts(d.path(), &[]);
    let e = evaluate("empty", &w, &alerts, None);
    assert_eq!((e.buyers.flagged, e.buyers.true_positives), (0, 0));
    assert!(close(e.buyers.precision, 0.0) && close(e.buyers.recall, 0.0) && close(e.buyers.f1, 0.0));
    assert!(e.time_to_detection.is_empty());
    assert_eq!(e.median_days_to_detection, None);
    assert!(close(e.share_after_detection, 0.0) && close(e.sender_alerts_per_10k, 0.0));
    assert!(e.curve.is_empty());
    let html = report::html(&e, None, None, "empty");
    well_formed(&html);
}

#[test]
fn tune_meets_the_target_and_shows_what_is_below_the_line() {
    let (_d, w) = world();
    let sc = scores();
    // Budget 4,000 per 10,000 senders (at most 2.4 of 6): threshold 60 flags B1 and B2.
    let p = tune(&w, &sc, Target::AlertBudget(4000.0), 0.5);
    let r = p.review.unwrap();
    assert!(close(r.threshold, 60.0) && r.flagged == 2);
    assert!(close(p.block.unwrap().threshold, 60.0));
    assert_eq!(p.below_line.len(), 1);
    assert_eq!((p.below_line[0].entity_id.as_str(), p.below_line[0].archetype.as_str()), ("W1", "adult_webcam"));
    // Precision 0.6 is already reached at the lowest step (3 of 5).
    let p = tune(&w, &sc, Target::MinPrecision(0.6), 0.9);
    assert!(close(p.review.unwrap().threshold, 5.0));
    assert!(close(p.block.unwrap().threshold, 60.0));
    // An impossible target proposes nothing.
    let p = tune(&w, &sc, Target::MinPrecision(1.01), 0.9);
    assert!(p.review.is_none() && p.block.is_none() && p.below_line.is_empty());
}

fn well_formed(html: &str) -> usize {
    let mut r = quick_xml::Reader::from_str(html);
    let (mut depth, mut svgs) = (0i64, 0);
    loop {
        match r.read_event().unwrap_or_else(|e| panic!("report is not well-formed: {e}")) {
            quick_xml::events::Event::Start(s) => {
                depth += 1;
                svgs += (s.local_name().as_ref() == b"svg") as usize;
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    svgs
}

#[test]
fn the_report_is_well_formed_html_with_its_plots() {
    let (d, w) = world();
    let alerts = write_alerts(
        d.path(),
        &[
            alert("A1", "sender", "B1", "2025-01-11T10:00:00+00:00", &["R-OSEC-01"], 60.0),
            alert("A2", "sender", "W1", "2025-02-12T23:00:00+00:00", &["R-OSEC-05"], 55.0),
        ],
    );
    let sc = scores();
    let main = evaluate("osec <pack>", &w, &alerts, Some(&sc));
    let base = evaluate("baseline", &w, &alerts[..1], None);
    let prop = tune(&w, &sc, Target::AlertBudget(4000.0), 0.5);
    let html = report::html(&main, Some(&base), Some(&prop), "Report & test");
    let svgs = well_formed(&html);
    assert!(svgs >= 6, "expected PR curve, TTD histogram, alerts per month, scores, threshold curves; found {svgs}");
    assert!(html.contains("osec &lt;pack&gt;") && html.contains("Report &amp; test"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"), "the report must not load anything");
    for needle in ["buyer recall", "adult_webcam", "Proposed thresholds", "W1", "benign alert rate by sender country"] {
        assert!(html.contains(needle), "missing {needle}");
    }
}
