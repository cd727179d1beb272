//! The store's tests, run against both backends: every test exists once for SQLite (a
//! temporary file) and once for PostgreSQL (the server `scripts/services.sh` starts, each test
//! in a schema of its own).

use super::*;
use crate::sql::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

pub(crate) fn pg_url() -> String {
    std::env::var("OSECWATCH_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh database of the given kind, and a function that opens another connection to it.
struct Fixture {
    backend: Backend,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(kind: &str, name: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = match kind {
            "sqlite" => Backend::Sqlite(dir.path().join("cases.sqlite")),
            _ => {
                let schema = format!("t_{name}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
                let mut c = ::postgres::Client::connect(&pg_url(), ::postgres::NoTls)
                    .expect("PostgreSQL on 127.0.0.1:5432 (scripts/services.sh starts it)");
                c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).expect("drop schema");
                Backend::Postgres { url: pg_url(), schema: Some(schema) }
            }
        };
        Fixture { backend, dir }
    }
    fn open(&self) -> Store {
        let mut s = Store::open(&self.backend, self.dir.path()).expect("open store");
        s.set_clock(Box::new(|| {
            chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z").unwrap().with_timezone(&chrono::Utc)
        }));
        s
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Backend::Postgres { schema: Some(s), .. } = &self.backend {
            if let Ok(mut c) = ::postgres::Client::connect(&pg_url(), ::postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"));
            }
        }
    }
}

fn alert(id: &str, entity: &str, score: f64, txns: &[&str]) -> AlertIn {
    AlertIn {
        alert_id: id.into(),
        entity_type: "sender".into(),
        entity_id: entity.into(),
        typology: "OSEC-BUYER".into(),
        score,
        decision: "review".into(),
        typologies: vec!["R-OSEC-01".into()],
        reasons: vec![format!("{} small payments to PH", txns.len())],
        raised_at: "2025-03-01T22:10:00+01:00".into(),
        updated_at: "2025-03-05T23:00:00+01:00".into(),
        txn_ids: txns.iter().map(|s| s.to_string()).collect(),
        rule_pack: Some("osec@1".into()),
    }
}

fn pay(id: &str, sender: &str, recipient: &str, minor: i64) -> (String, PaymentIn) {
    (
        id.to_string(),
        PaymentIn {
            txn_id: id.into(),
            at: "2025-03-01T22:10:00+01:00".into(),
            amount_minor: minor,
            currency: "EUR".into(),
            sender_id: sender.into(),
            sender_name: Some("A Sender".into()),
            sender_country: "DE".into(),
            recipient_id: recipient.into(),
            recipient_name: None,
            recipient_country: "PH".into(),
            channel: "mto".into(),
            reference: None,
        },
    )
}

fn analyst() -> Actor {
    Actor::new("anna", Role::Analyst)
}
fn supervisor() -> Actor {
    Actor::new("sven", Role::Supervisor)
}

fn import_joins_and_counts(kind: &str) {
    let f = Fixture::new(kind, "import");
    let mut s = f.open();
    let pays: HashMap<_, _> =
        [pay("t1", "S1", "R1", 5000), pay("t2", "S1", "R2", 7000), pay("t3", "S2", "R1", 1000)].into_iter().collect();
    let mut second = alert("AL-2", "S1", 70.0, &["t2"]);
    second.typology = "OSEC-ESCALATION".into();
    let alerts = vec![alert("AL-1", "S1", 60.0, &["t1"]), second, alert("AL-3", "S2", 50.0, &["t3"])];
    let sum = s.import(&Actor::system(), &alerts, &pays).unwrap();
    assert_eq!((sum.alerts_read, sum.created, sum.joined, sum.payments_recorded), (3, 2, 1, 3));
    let page = s.list(&analyst(), &Filter::default()).unwrap();
    assert_eq!(page.total, 2);
    let top = &page.cases[0];
    assert_eq!(top.entity_id, "S1", "the case with more money and the higher score comes first");
    assert_eq!((top.score, top.amount_minor), (70.0, 12000));
    assert!(top.headline.contains("OSEC-ESCALATION"), "{}", top.headline);
    assert_eq!(top.first_alert_at, "2025-03-01T21:10:00Z", "times are kept in UTC");
    // The same alerts again change nothing but the alerts' rows.
    let again = s.import(&Actor::system(), &alerts, &pays).unwrap();
    assert_eq!((again.created, again.joined, again.updated, again.unchanged, again.payments_recorded), (0, 0, 0, 3, 0));
    let mut grown = alerts[0].clone();
    grown.txn_ids.push("t9".into());
    grown.updated_at = "2025-03-06T23:00:00+01:00".into();
    let up = s.import(&Actor::system(), &[grown], &pays).unwrap();
    assert_eq!((up.updated, up.unchanged), (1, 0));
    assert_eq!(s.list(&analyst(), &Filter::default()).unwrap().total, 2);
    let d = s.get(&analyst(), &top.case_id).unwrap();
    assert_eq!(d.alerts.len(), 2);
    assert_eq!(d.payments.len(), 2);
    assert!(d.timeline.iter().any(|r| r.action == "case_created"));
    let audit = s.audit_of(&top.case_id).unwrap();
    assert!(audit.iter().any(|r| r.action == "read" && r.actor == "anna"), "reads are audited with the user");
    // Filters.
    let f2 = Filter { entity: Some("S2".into()), ..Default::default() };
    assert_eq!(s.list(&analyst(), &f2).unwrap().cases[0].entity_id, "S2");
    let f3 = Filter { min_priority: Some(200.0), ..Default::default() };
    assert_eq!(s.list(&analyst(), &f3).unwrap().total, 0);
    let f4 = Filter { limit: Some(1), offset: Some(1), ..Default::default() };
    let p4 = s.list(&analyst(), &f4).unwrap();
    assert_eq!((p4.total, p4.cases.len(), p4.cases[0].entity_id.as_str()), (2, 1, "S2"));
    assert!(s.verify_audit().unwrap().problems.is_empty());
}

fn closed_false_positive_reopens_only_with_new_payments(kind: &str) {
    let f = Fixture::new(kind, "fp");
    let mut s = f.open();
    let none = HashMap::new();
    s.import(&Actor::system(), &[alert("AL-1", "S1", 60.0, &["t1", "t2"])], &none).unwrap();
    let c = s.list(&analyst(), &Filter::default()).unwrap().cases[0].clone();
    assert!(
        matches!(
            s.close(&analyst(), &c.case_id, c.version, Disposition::FalsePositive, None),
            Err(CaseError::Invalid(_))
        ),
        "a false positive needs a reason"
    );
    s.close(&analyst(), &c.case_id, c.version, Disposition::FalsePositive, Some("pays his mother monthly")).unwrap();
    // The same evidence: filed, not re-opened.
    let r = s.import(&Actor::system(), &[alert("AL-9", "S1", 65.0, &["t2", "t1"])], &none).unwrap();
    assert_eq!((r.suppressed, r.reopened, r.created), (1, 0, 0));
    let d = s.get(&analyst(), &c.case_id).unwrap();
    assert_eq!(d.summary.state, CaseState::Closed);
    let why = d.timeline.iter().find(|r| r.action == "alert_suppressed").expect("suppression recorded");
    assert!(why.detail["why"].as_str().unwrap().contains("false_positive"));
    // New payments: re-opened, saying why.
    let r = s.import(&Actor::system(), &[alert("AL-9", "S1", 66.0, &["t1", "t2", "t3"])], &none).unwrap();
    assert_eq!((r.reopened, r.created), (1, 0));
    let d = s.get(&analyst(), &c.case_id).unwrap();
    assert_eq!(d.summary.state, CaseState::Open);
    let re = d.timeline.iter().find(|r| r.action == "case_reopened").unwrap();
    assert!(re.detail["why"].as_str().unwrap().contains("1 new payment"), "{}", re.detail);
    // Exported dispositions list only closed cases: none now.
    assert!(s.dispositions(&analyst()).unwrap().is_empty());
}

fn stale_version_is_refused_with_the_changes(kind: &str) {
    let f = Fixture::new(kind, "lock");
    let mut a = f.open();
    let mut b = f.open();
    a.import(&Actor::system(), &[alert("AL-1", "S1", 60.0, &["t1"])], &HashMap::new()).unwrap();
    let seen = a.list(&analyst(), &Filter::default()).unwrap().cases[0].clone();
    let v2 = a.assign(&analyst(), &seen.case_id, seen.version, Some("anna")).unwrap();
    assert_eq!(v2, seen.version + 1);
    match b.transition(&Actor::new("bert", Role::Analyst), &seen.case_id, seen.version, CaseState::Investigating) {
        Err(CaseError::Conflict { current, changes, .. }) => {
            assert_eq!(current, v2);
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].action, "assigned");
            assert_eq!(changes[0].actor, "anna");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    b.transition(&Actor::new("bert", Role::Analyst), &seen.case_id, v2, CaseState::Investigating).unwrap();
    let d = a.get(&analyst(), &seen.case_id).unwrap();
    assert_eq!(
        (d.summary.state, d.summary.assignee.as_deref()),
        (CaseState::Investigating, Some("anna")),
        "no lost update"
    );
}

fn concurrent_imports_make_one_case(kind: &str) {
    let f = Fixture::new(kind, "race");
    drop(f.open()); // migrate once
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let mut s = f.open();
            std::thread::spawn(move || {
                let a = alert(&format!("AL-{i}"), "S1", 50.0 + i as f64, &[&format!("t{i}")]);
                s.import(&Actor::system(), &[a], &HashMap::new()).unwrap()
            })
        })
        .collect();
    let sums: Vec<ImportSummary> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums.iter().map(|s| s.created).sum::<u64>(), 1, "one case per entity whoever comes first");
    assert_eq!(sums.iter().map(|s| s.joined).sum::<u64>(), 3);
    let mut s = f.open();
    let page = s.list(&analyst(), &Filter::default()).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(s.get(&analyst(), &page.cases[0].case_id).unwrap().alerts.len(), 4);
    assert!(s.verify_audit().unwrap().problems.is_empty(), "concurrent writers keep one chain");
}

fn draft(narrative: &str, problems: &[&str]) -> DraftRecord {
    DraftRecord {
        profile: "generic".into(),
        narrative: narrative.into(),
        xml: "<report/>".into(),
        problems: problems.iter().map(|p| p.to_string()).collect(),
        ..Default::default()
    }
}

fn four_eyes_and_filing(kind: &str) {
    let f = Fixture::new(kind, "eyes");
    let mut s = f.open();
    let pays: HashMap<_, _> = [pay("t1", "S1", "R1", 5000)].into_iter().collect();
    s.import(&Actor::system(), &[alert("AL-1", "S1", 90.0, &["t1"])], &pays).unwrap();
    let c = s.list(&analyst(), &Filter::default()).unwrap().cases[0].clone();
    // With problems the draft stays in investigation and cannot be approved.
    let (rid, v) = s.save_draft(&analyst(), &c.case_id, c.version, &draft("n", &["birthdate missing"])).unwrap();
    assert!(matches!(s.approve(&supervisor(), &c.case_id, &rid, "2025-06-04T12:00:00Z"), Err(CaseError::Invalid(_))));
    let (rid2, _) = s.save_draft(&analyst(), &c.case_id, v, &draft("n2", &[])).unwrap();
    assert_eq!(rid, rid2, "a redraft replaces the draft");
    // The drafter cannot approve, whatever their role; an analyst cannot approve at all.
    let self_approve = s.approve(&Actor::new("anna", Role::Admin), &c.case_id, &rid, "2025-06-04T12:00:00Z");
    assert!(matches!(&self_approve, Err(CaseError::Forbidden(m)) if m.contains("four eyes")), "{self_approve:?}");
    assert!(matches!(
        s.approve(&Actor::new("bert", Role::Analyst), &c.case_id, &rid, "x"),
        Err(CaseError::Forbidden(_))
    ));
    let r = s.approve(&supervisor(), &c.case_id, &rid, "2025-06-04T12:00:00Z").unwrap();
    assert_eq!((r.state.as_str(), r.approved_by.as_deref()), ("approved", Some("sven")));
    assert_eq!(s.get(&analyst(), &c.case_id).unwrap().summary.state, CaseState::Reported);
    let holds = s.holds().unwrap();
    assert_eq!(
        holds,
        vec![Hold {
            case_id: c.case_id.clone(),
            sender_id: "S1".into(),
            recipients: vec!["R1".into()],
            until: "2025-06-04T12:00:00Z".into()
        }]
    );
    let r = s.record_filing(&analyst(), &c.case_id, &rid, "acknowledged", Some("FIU-77"), None).unwrap();
    assert_eq!(r.fiu_ref.as_deref(), Some("FIU-77"));
    // The FIU's answer file: the case found by its entity_reference, bad lines named.
    let answers = format!(
        "entity_reference,fiu_reference,status,message,date\n{id},FIU-78,Rejected,missing birthdate,2025-06-05\n\
         ,FIU-79,accepted,,\n{id},FIU-80,lost,,\nC-999999,FIU-81,accepted,,\n",
        id = c.case_id
    );
    let a = s.import_fiu_answers(&analyst(), &answers).unwrap();
    assert_eq!(a.read, 4);
    assert_eq!(a.recorded, vec![(c.case_id.clone(), rid.clone(), "rejected".to_string())]);
    let lines: Vec<u64> = a.rejected.iter().map(|r| r.0).collect();
    assert_eq!(lines, vec![3, 4, 5], "{:?}", a.rejected);
    assert!(
        a.rejected[1].1.contains("status `lost`") && a.rejected[2].1.contains("no approved report"),
        "{:?}",
        a.rejected
    );
    let r = s.get(&analyst(), &c.case_id).unwrap().reports.into_iter().find(|r| r.report_id == rid).unwrap();
    assert_eq!(
        (r.fiu_status.as_deref(), r.fiu_ref.as_deref(), r.fiu_message.as_deref()),
        (Some("rejected"), Some("FIU-78"), Some("missing birthdate"))
    );
    assert!(
        matches!(s.import_fiu_answers(&analyst(), "case,status\n"), Err(CaseError::Invalid(m)) if m.contains("entity_reference"))
    );
    let (_, xml) = s.report_xml(&analyst(), &c.case_id, &rid).unwrap();
    assert_eq!(xml, "<report/>");
    // A new alert with new payments on the reported customer opens a follow-up.
    let sum = s.import(&Actor::system(), &[alert("AL-2", "S1", 80.0, &["t1", "t9"])], &pays).unwrap();
    assert_eq!(sum.follow_ups, 1);
    let page = s.list(&analyst(), &Filter { state: Some(CaseState::Open), ..Default::default() }).unwrap();
    assert_eq!(page.cases[0].follow_up_of.as_deref(), Some(c.case_id.as_str()));
    let actions: Vec<String> = s.audit_of(&c.case_id).unwrap().into_iter().map(|r| r.action).collect();
    for a in ["report_drafted", "report_approved", "filing_recorded", "report_downloaded"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

fn audit_chain_detects_edits_and_cuts(kind: &str) {
    let f = Fixture::new(kind, "audit");
    let mut s = f.open();
    s.import(&Actor::system(), &[alert("AL-1", "S1", 60.0, &["t1"])], &HashMap::new()).unwrap();
    let c = s.list(&analyst(), &Filter::default()).unwrap().cases[0].clone();
    s.add_note(&analyst(), &c.case_id, "called the branch").unwrap();
    let good = s.verify_audit().unwrap();
    assert!(good.problems.is_empty() && good.records >= 3, "{good:?}");
    s.raw().exec("UPDATE audit SET actor = 'mallory' WHERE seq = 2", &[]).unwrap();
    let bad = s.verify_audit().unwrap();
    assert!(bad.problems.iter().any(|p| p.contains("record 2") && p.contains("changed")), "{bad:?}");
    let mut s2 = f.open();
    let f2 = Fixture::new(kind, "audit_cut");
    drop(s2.verify_audit());
    let mut t = f2.open();
    t.import(&Actor::system(), &[alert("AL-1", "S1", 60.0, &["t1"])], &HashMap::new()).unwrap();
    let n = t.verify_audit().unwrap().records;
    t.raw().exec("DELETE FROM audit WHERE seq = $1", &[n.into()]).unwrap();
    let cut = t.verify_audit().unwrap();
    assert!(cut.problems.iter().any(|p| p.contains("removed from the end")), "{cut:?}");
}

fn older_database_is_migrated(kind: &str) {
    let f = Fixture::new(kind, "migrate");
    let mut old = Store::open_at(&f.backend, f.dir.path(), 1).unwrap();
    assert_eq!(old.schema_version().unwrap(), 1);
    old.raw()
        .exec(
            "INSERT INTO cases (id, entity_type, entity_id, typology, state, active_key, score, amount_minor, priority, first_alert_at, last_alert_at, headline, version, created_at, updated_at) VALUES ('C-000001', 'sender', 'S1', 'OSEC-BUYER', 'open', 'sender:S1', 55, 0, 55, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'h', 1, 'x', 'x')",
            &[],
        )
        .unwrap();
    drop(old);
    let mut s = f.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let d = s.get(&analyst(), "C-000001").unwrap();
    assert_eq!(d.summary.entity_id, "S1", "the older version's case survives the upgrade");
    assert!(d.notes.is_empty());
    s.add_note(&analyst(), "C-000001", "works on the new tables").unwrap();
}

fn retention_deletes_and_records_it(kind: &str) {
    let f = Fixture::new(kind, "retention");
    let mut s = f.open();
    s.import(
        &Actor::system(),
        &[alert("AL-1", "S1", 60.0, &["t1"]), alert("AL-2", "S2", 60.0, &["t2"])],
        &HashMap::new(),
    )
    .unwrap();
    let c = s.list(&analyst(), &Filter { entity: Some("S1".into()), ..Default::default() }).unwrap().cases[0].clone();
    let sha = s.attach(&analyst(), &c.case_id, "kyc.pdf", b"%PDF-1.4 statement").unwrap();
    assert_eq!(s.attachment(&analyst(), &c.case_id, &sha).unwrap(), b"%PDF-1.4 statement");
    s.close(&analyst(), &c.case_id, c.version, Disposition::NoAction, None).unwrap();
    assert!(matches!(s.retention(&analyst(), &RetentionRules::default()), Err(CaseError::Forbidden(_))));
    assert_eq!(s.retention(&Actor::system(), &RetentionRules::default()).unwrap().cases, 0, "not yet five years");
    // Closed in 2025 (the fixture's clock): kept to the end of 2030.
    let closed_year = 2025;
    let at = move |t: String| {
        Box::new(move || chrono::DateTime::parse_from_rfc3339(&t).unwrap().with_timezone(&chrono::Utc))
    };
    s.set_clock(at(format!("{}-12-31T23:59:59Z", closed_year + 5)));
    assert_eq!(
        s.retention(&Actor::system(), &RetentionRules::default()).unwrap().cases,
        0,
        "the last day of the fifth year"
    );
    s.set_clock(at(format!("{}-01-01T00:00:00Z", closed_year + 6)));
    let r = s.retention(&Actor::system(), &RetentionRules::default()).unwrap();
    assert_eq!((r.cases, r.attachment_files), (1, 1));
    assert!(matches!(s.get(&analyst(), &c.case_id), Err(CaseError::NotFound(_))));
    assert_eq!(s.list(&analyst(), &Filter::default()).unwrap().total, 1, "the open case stays");
    assert!(!f.dir.path().join("attachments").join(&sha).exists());
    let last = s.audit_page(0, 1_000).unwrap().into_iter().rfind(|r| r.action == "retention_deleted").unwrap();
    assert_eq!(last.detail["cases"], 1);
    assert!(!last.detail.to_string().contains("S1"), "the deletion record holds no data of the case");
    assert!(s.verify_audit().unwrap().problems.is_empty());
}

fn reporter() -> osecwatch_goaml::Reporter {
    osecwatch_goaml::Reporter::sample()
}

fn drafting_a_report_from_a_case(kind: &str) {
    let f = Fixture::new(kind, "draft");
    let mut s = f.open();
    let pays: HashMap<_, _> = [pay("t1", "S1", "R1", 5000), pay("t2", "S1", "R2", 7000)].into_iter().collect();
    s.import(&Actor::system(), &[alert("AL-1", "S1", 90.0, &["t1", "t2"])], &pays).unwrap();
    s.put_kyc(&[osecwatch_goaml::Client::sample("S1")]).unwrap();
    let bank = |id: &str, swift: Option<&str>| osecwatch_goaml::Counterparty {
        account_id: id.into(),
        institution_name: Some("BPI".into()),
        swift: swift.map(str::to_string),
        ..Default::default()
    };
    s.put_counterparties(&[bank("R1", Some("BOPIPHMM")), bank("R2", None)]).unwrap();
    let c = s.list(&analyst(), &Filter::default()).unwrap().cases[0].clone();
    let p = ReportSettings { profile: osecwatch_goaml::Profile::load("de").unwrap(), reporter: reporter(), xsd: None };
    let bad = DraftEdits { indicators: Some(vec!["NOPE".into()]), ..Default::default() };
    let e = s.draft_report(&analyst(), &c.case_id, c.version, &p, &bad).unwrap_err().to_string();
    assert!(e.contains("NOPE") && e.contains("built-in de"), "{e}");
    let d = s.draft_report(&analyst(), &c.case_id, c.version, &p, &DraftEdits::default()).unwrap();
    assert_eq!(
        d.problems,
        vec!["transaction t2: to_account.swift or institution_code is required (beneficiary R2)".to_string()]
    );
    assert!(
        d.narrative.contains("2 payment(s) totalling 120.00 EUR to 2 beneficiary account(s) in PH"),
        "{}",
        d.narrative
    );
    assert_eq!(s.get(&analyst(), &c.case_id).unwrap().summary.state, CaseState::Open, "not ready for approval");
    // The analyst fills the field the check named and edits the narrative.
    let fix = DraftEdits {
        narrative: Some("Edited by the analyst.".into()),
        counterparties: vec![osecwatch_goaml::Counterparty {
            account_id: "R2".into(),
            swift: Some("BNORPHMM".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let d2 = s.draft_report(&analyst(), &c.case_id, d.version, &p, &fix).unwrap();
    assert!(d2.problems.is_empty(), "{:?}", d2.problems);
    assert_eq!(d2.report_id, d.report_id);
    assert!(d2.xml.contains("<swift>BNORPHMM</swift>") && d2.xml.contains("<reason>Edited by the analyst.</reason>"));
    assert_eq!(s.last_edits(&c.case_id).unwrap(), fix, "edits are kept for the next draft");
    assert_eq!(s.get(&analyst(), &c.case_id).unwrap().summary.state, CaseState::PendingApproval);
    s.approve(&supervisor(), &c.case_id, &d2.report_id, "2025-06-04T12:00:00Z").unwrap();
    s.record_filing(&analyst(), &c.case_id, &d2.report_id, "acknowledged", Some("FIU-2025-77"), None).unwrap();
    // A follow-up's report names the first one and its FIU reference.
    let pays2: HashMap<_, _> = [pay("t3", "S1", "R1", 3000)].into_iter().collect();
    s.import(&Actor::system(), &[alert("AL-2", "S1", 90.0, &["t3"])], &pays2).unwrap();
    let fu =
        s.list(&analyst(), &Filter { state: Some(CaseState::Open), ..Default::default() }).unwrap().cases[0].clone();
    let d3 = s.draft_report(&analyst(), &fu.case_id, fu.version, &p, &DraftEdits::default()).unwrap();
    assert!(d3.xml.contains("<fiu_ref_number>FIU-2025-77</fiu_ref_number>"), "{}", d3.xml);
    assert!(
        d3.narrative.starts_with(&format!("Follow-up to our report {} (FIU reference FIU-2025-77)", d2.report_id)),
        "{}",
        d3.narrative
    );
}

fn corridor_filter_and_dashboard(kind: &str) {
    let f = Fixture::new(kind, "dash");
    let mut s = f.open();
    let mut pays: HashMap<_, _> = [pay("t1", "S1", "R1", 5000), pay("t2", "S2", "R2", 7000)].into_iter().collect();
    pays.get_mut("t2").unwrap().recipient_country = "TH".into();
    let mut a2 = alert("AL-2", "S2", 55.0, &["t2"]);
    a2.typologies = vec!["R-OSEC-02".into(), "R-OSEC-05".into()];
    let alerts = vec![alert("AL-1", "S1", 60.0, &["t1"]), a2];
    s.import(&Actor::system(), &alerts, &pays).unwrap();
    let th = Filter { corridor: Some("TH".into()), ..Default::default() };
    let page = s.list(&analyst(), &th).unwrap();
    assert_eq!((page.total, page.cases[0].entity_id.as_str()), (1, "S2"));
    let none = Filter { corridor: Some("VN".into()), ..Default::default() };
    assert_eq!(s.list(&analyst(), &none).unwrap().total, 0);
    // One case confirmed, one a false positive: each rule's yield follows its cases.
    for (entity, disposition, reason) in
        [("S1", Disposition::ConfirmedOsec, None), ("S2", Disposition::FalsePositive, Some("family"))]
    {
        let c =
            s.list(&analyst(), &Filter { entity: Some(entity.into()), ..Default::default() }).unwrap().cases[0].clone();
        s.close(&supervisor(), &c.case_id, c.version, disposition, reason).unwrap();
    }
    // The clock says 2025-06-01; the alerts are of 2025-03-01: 92 days old.
    let d = s.dashboard(&analyst(), 30, 30).unwrap();
    assert_eq!(d.alerts_per_day, vec![DayCount { day: "2025-03-01".into(), typology: "OSEC-BUYER".into(), alerts: 2 }]);
    assert_eq!(d.overdue, 0, "closed cases are not overdue");
    assert!(d.open_by_age.iter().all(|b| b.cases == 0));
    let r1 = d.rules.iter().find(|r| r.rule == "R-OSEC-01").unwrap();
    assert_eq!((r1.confirmed, r1.false_positive, r1.true_share()), (1, 0, Some(1.0)));
    let r5 = d.rules.iter().find(|r| r.rule == "R-OSEC-05").unwrap();
    assert_eq!((r5.confirmed, r5.false_positive, r5.true_share()), (0, 1, Some(0.0)));
    // A new open case counts as open and, at 92 days, overdue.
    s.import(&Actor::system(), &[alert("AL-3", "S3", 50.0, &["t1"])], &pays).unwrap();
    let d = s.dashboard(&analyst(), 30, 30).unwrap();
    assert_eq!(d.overdue, 1);
    assert_eq!(d.open_by_age.iter().map(|b| b.cases).collect::<Vec<_>>(), vec![0, 0, 0, 1]);
    assert!(s.audit_page(0, 1000).unwrap().iter().any(|r| r.action == "dashboard" && r.actor == "anna"));
}

/// A case's alerts and evidence rows need their case, in both databases (SQLite: row-level
/// foreign keys; PostgreSQL: statement-level checks, see schema.rs), and a case that still
/// has them cannot be deleted.
fn rows_without_their_case_are_refused(kind: &str) {
    let f = Fixture::new(kind, "orphans");
    let mut s = f.open();
    let pays: HashMap<_, _> = [pay("t1", "S1", "R1", 5000)].into_iter().collect();
    s.import(&Actor::system(), &[alert("AL-1", "S1", 60.0, &["t1"])], &pays).unwrap();
    let case_id = s.list(&analyst(), &Filter::default()).unwrap().cases[0].case_id.clone();
    let c = s.conn.as_mut();
    // The import's own columns: case, txn, at, amount, currency, sender id, name, country,
    // recipient id, name, country, channel, reference.
    let payment = |case: &str, txn: &str| -> Vec<Value> {
        let none = Value::from(None::<String>);
        vec![
            case.into(),
            txn.into(),
            "2025-03-01T21:10:00Z".into(),
            100i64.into(),
            "EUR".into(),
            "S1".into(),
            none.clone(),
            "DE".into(),
            "R1".into(),
            none.clone(),
            "PH".into(),
            "mto".into(),
            none,
        ]
    };
    let cols = crate::import::PAY_COLS;
    c.begin().unwrap();
    assert!(
        c.bulk_insert("case_payments", cols, &[payment("C-NOPE", "t2")], "").is_err(),
        "an evidence row naming no case"
    );
    c.rollback();
    // Enough rows for PostgreSQL's COPY path, one of them an orphan.
    let mut rows: Vec<Vec<Value>> = (0..300).map(|i| payment(&case_id, &format!("b{i}"))).collect();
    rows[150] = payment("C-NOPE", "b150");
    c.begin().unwrap();
    assert!(c.bulk_insert("case_payments", cols, &rows, "").is_err(), "one orphan among good rows fails the statement");
    c.rollback();
    c.begin().unwrap();
    let moved = c.exec("UPDATE case_alerts SET case_id = $1 WHERE alert_id = $2", &["C-NOPE".into(), "AL-1".into()]);
    assert!(moved.is_err(), "an alert moved to no case");
    c.rollback();
    c.begin().unwrap();
    let gone = c.exec("DELETE FROM cases WHERE id = $1", &[case_id.as_str().into()]);
    assert!(gone.is_err(), "a case that still has rows");
    c.rollback();
    // A good row goes in.
    c.begin().unwrap();
    assert_eq!(c.bulk_insert("case_payments", cols, &[payment(&case_id, "t2")], "").unwrap(), 1);
    c.commit().unwrap();
    assert_eq!(s.get(&analyst(), &case_id).unwrap().payments.len(), 2);
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name("sqlite") } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name("postgres") } )*
        }
    };
}

both!(
    import_joins_and_counts,
    corridor_filter_and_dashboard,
    closed_false_positive_reopens_only_with_new_payments,
    stale_version_is_refused_with_the_changes,
    concurrent_imports_make_one_case,
    four_eyes_and_filing,
    audit_chain_detects_edits_and_cuts,
    older_database_is_migrated,
    retention_deletes_and_records_it,
    drafting_a_report_from_a_case,
    rows_without_their_case_are_refused,
);
