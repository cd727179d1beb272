//! The logs sealed into segments and deleted by retention: a start reads across segments, a
//! retry finds its decision in a sealed segment, retention deletes only what is past its
//! time and says so in the audit log, and a segment emptied by anyone else is caught.

use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction};
use osecwatch_server::audit::{self, AuditLog};
use osecwatch_server::segments::{self, LogRetention};
use osecwatch_server::wal::Wal;
use std::path::Path;

fn txn(i: u64) -> Transaction {
    Transaction {
        txn_id: format!("P{i}"),
        timestamp: Timestamp::new(1_740_000_000 + i as i64 * 60, 60),
        sender_id: format!("S{}", i % 3),
        sender_name: None,
        sender_country: CountryCode::parse("DE").unwrap(),
        recipient_id: format!("R{}", i % 5),
        recipient_name: None,
        recipient_country: CountryCode::parse("PH").unwrap(),
        amount: Money::new(4_000 + i as i64, CurrencyCode::parse("EUR").unwrap()),
        channel: Channel::parse("mto").unwrap(),
        reference: None,
        merchant_category: None,
    }
}

/// Log payments `from..to` with their decisions; returns each decision's audit position.
fn log(wal: &mut Wal, audit: &mut AuditLog, from: u64, to: u64) -> Vec<u64> {
    let txns: Vec<Transaction> = (from..to).map(txn).collect();
    let refs: Vec<&Transaction> = txns.iter().collect();
    let mut positions = Vec::new();
    for (t, (seq, digest)) in txns.iter().zip(wal.append(&refs).unwrap()) {
        let data = serde_json::json!({ "txn_id": t.txn_id, "decision": "allow", "record": digest });
        positions.push(audit.push(&t.timestamp.to_rfc3339(), "decision", Some(seq), data));
    }
    audit.commit().unwrap();
    positions
}

fn open(dir: &Path) -> (Wal, AuditLog, u64, u64) {
    let o = Wal::open(&dir.join("payments.wal"), 0).unwrap();
    let (a, _) = AuditLog::open(&dir.join("audit.jsonl"), 0, &[]).unwrap();
    (o.wal, a, o.first_seq, o.payments)
}

fn at(s: &str) -> i64 {
    Timestamp::parse_rfc3339(s).unwrap().utc
}

#[test]
fn sealed_segments_are_read_across_and_retention_deletes_only_their_past() {
    let d = tempfile::tempdir().unwrap();
    let (wal_path, audit_path) = (d.path().join("payments.wal"), d.path().join("audit.jsonl"));
    let (mut wal, mut audit, _, _) = open(d.path());
    // Three segments, sealed in 2019, 2020 and 2024, and an active part.
    let mut positions = Vec::new();
    for (k, sealed) in ["2019-06-01T00:00:00Z", "2020-12-31T23:00:00Z", "2024-02-01T00:00:00Z"].iter().enumerate() {
        let k = k as u64;
        positions.extend(log(&mut wal, &mut audit, 1 + 10 * k, 11 + 10 * k));
        // Not big or old enough: nothing sealed.
        assert!(wal.seal_if(u64::MAX, i64::MAX, at(sealed)).unwrap().is_none());
        let p = wal.seal_if(0, 0, at(sealed)).unwrap().expect("sealed");
        let a = audit.seal(at(sealed)).unwrap().expect("sealed");
        assert_eq!((p.first, p.last, a.seq_through), (1 + 10 * k, 10 + 10 * k, 10 + 10 * k));
    }
    positions.extend(log(&mut wal, &mut audit, 31, 36));
    // A decision reads back at its position, in a sealed segment too.
    assert_eq!(audit.read_at(positions[3]).unwrap().data["txn_id"], "P4");
    assert_eq!(audit.read_at(positions[33]).unwrap().data["txn_id"], "P34");
    drop((wal, audit));

    // A start reads every segment, in order, and then the active file.
    let mut seqs = Vec::new();
    let o = Wal::open_replaying(&wal_path, 15, |line| {
        seqs.push(serde_json::from_slice::<serde_json::Value>(line).unwrap()["seq"].as_u64().unwrap());
        Ok::<bool, osecwatch_server::StoreError>(true)
    })
    .unwrap();
    assert_eq!((seqs, o.payments, o.first_seq, o.last_seq), ((16..=35).collect::<Vec<_>>(), 35, 1, 35));
    let v = audit::verify_against_log(&audit_path, Some(&wal_path)).unwrap();
    assert_eq!((v.records, v.payments), (35, 35));

    // Five years after the end of the year sealed: the 2019 segment from 2025, the 2020 one
    // (sealed an hour before 2021) from 2026.
    let (mut wal, mut audit, _, _) = open(d.path());
    let rules = LogRetention { payments_years: 5, audit_years: 5, ..LogRetention::default() };
    let mut settled = Default::default();
    let mut apply = |wal: &Wal, audit: &mut AuditLog, now: &str| {
        segments::apply(wal.path(), audit, &rules, None, &mut settled, at(now), "test").unwrap()
    };
    assert!(apply(&wal, &mut audit, "2024-12-31T23:59:59Z").is_none());
    let run = apply(&wal, &mut audit, "2026-01-01T00:00:00Z").unwrap();
    assert_eq!((run.payment_segments, run.payments_deleted, run.audit_segments, run.audit_through), (2, 20, 2, 20));
    // Again: nothing more to do.
    assert!(apply(&wal, &mut audit, "2026-01-02T00:00:00Z").is_none());
    assert!(audit.read_at(positions[3]).unwrap_err().to_string().contains("deleted by retention"));
    assert_eq!(audit.read_at(positions[25]).unwrap().data["txn_id"], "P26");
    log(&mut wal, &mut audit, 36, 38);
    drop((wal, audit));
    let text = std::fs::read_to_string(&audit_path).unwrap();
    let rec = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["data"]["action"] == "retention");
    let rec = rec.expect("the deletion is in the audit log");
    assert_eq!(rec["data"]["payments_log"]["segments"].as_array().unwrap().len(), 2);
    assert_eq!(rec["data"]["audit_log"]["deleted_through_record"], 20);
    assert!(rec["data"]["rule"].as_str().unwrap().contains("GwG"));
    assert!(!text.contains("\"P3\""), "no data of the deleted records");

    // What is left opens, verifies and continues.
    let (_, audit, first, payments) = open(d.path());
    assert_eq!((first, payments, audit.head().n), (21, 17, 38));
    drop(audit);
    let v = audit::verify_against_log(&audit_path, Some(&wal_path)).unwrap();
    assert_eq!(v.payments, 17);

    // Emptied by anyone else: the 2024 audit segment (no retention record anchors the new
    // start) and the 2024 payments segment (no retention record names it).
    let sealed = |log: &Path| segments::list(log).unwrap().into_iter().find(|s| !s.deleted).unwrap();
    let a = sealed(&audit_path);
    let kept = std::fs::read(&a.path).unwrap();
    std::fs::write(&a.path, b"").unwrap();
    let e = AuditLog::open(&audit_path, 0, &[]).err().expect("a start must refuse").to_string();
    assert!(e.contains("records 1 to 30 are gone"), "{e}");
    std::fs::write(&a.path, &kept).unwrap();
    let p = sealed(&wal_path);
    std::fs::write(&p.path, b"").unwrap();
    let problems = audit::verify_against_log(&audit_path, Some(&wal_path)).unwrap_err().join("\n");
    assert!(problems.contains("no retention record") && problems.contains("entries 21 to 30"), "{problems}");
}

/// With the customer file's business relationships, a payment is kept while its customer's
/// relationship continues and until the end of the calendar year it ended plus the years;
/// the segment is compacted, and what is left still opens and verifies.
#[test]
fn payments_of_continuing_relationships_are_kept_and_the_rest_deleted() {
    let d = tempfile::tempdir().unwrap();
    let (wal_path, audit_path) = (d.path().join("payments.wal"), d.path().join("audit.jsonl"));
    let (mut wal, mut audit, _, _) = open(d.path());
    log(&mut wal, &mut audit, 1, 13);
    wal.seal_if(0, 0, at("2019-06-01T00:00:00Z")).unwrap();
    audit.seal(at("2019-06-01T00:00:00Z")).unwrap();
    log(&mut wal, &mut audit, 13, 16);
    // Senders S0, S1, S2 (payment i is from S(i % 3)): S0 still a customer, S1 left in 2022,
    // S2 not in the customer file (its period runs from the record).
    let rel: segments::Relationships =
        [("S0".to_string(), None), ("S1".to_string(), Some(at("2022-08-01T00:00:00Z")))].into_iter().collect();
    let rules = LogRetention { payments_years: 5, audit_years: 0, ..LogRetention::default() };
    let mut settled = Default::default();
    let run =
        segments::apply(wal.path(), &mut audit, &rules, Some(&rel), &mut settled, at("2025-01-01T00:00:00Z"), "t");
    let run = run.unwrap().unwrap();
    assert_eq!((run.compacted_segments, run.payment_segments, run.payments_deleted), (1, 0, 4), "S2's four");
    let left = |p: &Path| -> Vec<String> {
        Wal::open(p, 0).unwrap();
        osecwatch_server::wal::read_all(p)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e {
                osecwatch_server::wal::Logged::Payment(p) => Some(p.txn_id),
                _ => None,
            })
            .collect()
    };
    let ids = left(&wal_path);
    assert!(
        ids.contains(&"P3".to_string()) && ids.contains(&"P4".to_string()) && !ids.contains(&"P5".to_string()),
        "{ids:?}"
    );
    // At the end of 2027 (S1 left in 2022), S1's payments go too; S0's stay.
    let run =
        segments::apply(wal.path(), &mut audit, &rules, Some(&rel), &mut settled, at("2028-01-01T00:00:00Z"), "t");
    assert_eq!(run.unwrap().unwrap().payments_deleted, 4);
    let ids = left(&wal_path);
    assert_eq!(ids.iter().filter(|i| ["P3", "P6", "P9", "P12"].contains(&i.as_str())).count(), 4, "{ids:?}");
    assert_eq!(ids.len(), 4 + 3, "S0's four in the segment and the three payments of the active file");
    // Only S0's now: the segment is settled and not read again.
    assert!(segments::apply(wal.path(), &mut audit, &rules, Some(&rel), &mut settled, at("2030-01-01T00:00:00Z"), "t")
        .unwrap()
        .is_none());
    drop((wal, audit));
    audit::verify_against_log(&audit_path, Some(&wal_path)).unwrap();
    // A line taken out of the compacted segment: its name says how many it keeps.
    let seg = segments::list(&wal_path).unwrap().remove(0);
    assert_eq!(seg.kept, Some(4));
    let text = std::fs::read_to_string(&seg.path).unwrap();
    std::fs::write(&seg.path, text.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    assert!(Wal::open(&wal_path, 0).err().unwrap().to_string().contains("4 kept"));
}

/// Only the oldest segments may be deleted, and a segment must hold what its name says.
#[test]
fn a_hole_in_the_middle_and_a_changed_segment_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let audit_path = d.path().join("audit.jsonl");
    let (mut wal, mut audit, _, _) = open(d.path());
    for k in 0..2 {
        log(&mut wal, &mut audit, 1 + 5 * k, 6 + 5 * k);
        wal.seal_if(0, 0, at("2020-01-01T00:00:00Z")).unwrap();
        audit.seal(at("2020-01-01T00:00:00Z")).unwrap();
    }
    log(&mut wal, &mut audit, 11, 12);
    drop((wal, audit));
    let segs = segments::list(&audit_path).unwrap();
    std::fs::write(&segs[1].path, b"").unwrap();
    let e = AuditLog::open(&audit_path, 0, &[]).err().unwrap().to_string();
    assert!(e.contains("only the oldest"), "{e}");
    // A payments segment with a line taken out.
    let p = segments::list(&d.path().join("payments.wal")).unwrap();
    let text = std::fs::read_to_string(&p[0].path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&p[0].path, lines[..4].join("\n") + "\n").unwrap();
    let e = Wal::open(&d.path().join("payments.wal"), 0).err().unwrap().to_string();
    assert!(e.contains("4 entries") && e.contains("its name says 1 to 5"), "{e}");
}
