use super::*;
use std::path::Path;

pub(crate) fn reporter() -> Reporter {
    Reporter::sample()
}

fn input() -> ReportInput {
    ReportInput {
        entity_reference: "C-000001".into(),
        refers_to_fiu_ref: None,
        submission_date: "2025-06-01T12:00:00Z".into(),
        reason: "Payments <small> & frequent".into(),
        action: None,
        reporter: reporter(),
        clients: vec![Client::sample("DE-ACC-1")],
        counterparties: vec![Counterparty {
            account_id: "PH-W-9".into(),
            name: Some("J. Cruz".into()),
            country: Some("PH".into()),
            institution_name: Some("Bank of the Philippine Islands".into()),
            swift: Some("BOPIPHMM".into()),
            institution_code: None,
        }],
        transactions: (0..3)
            .map(|i| Transaction {
                number: format!("TX{i}"),
                at: format!("2025-03-0{}T23:1{i}:00+01:00", i + 1),
                amount_minor: 4500 + i,
                currency: "EUR".into(),
                channel: "mto".into(),
                from_account: "DE-ACC-1".into(),
                to_account: "PH-W-9".into(),
                reference: (i == 1).then(|| "gift".to_string()),
            })
            .collect(),
        indicators: vec!["OSEC".into(), "FANOUT".into()],
    }
}

#[test]
fn a_complete_report_passes_the_checks_and_the_structure_schema() {
    let p = Profile::load("generic").unwrap();
    let r = input();
    assert_eq!(check(&r, &p), Vec::<String>::new());
    let xml = write_xml(&r, &p);
    assert_eq!(xml.matches("<transaction>").count(), 3);
    assert!(xml.contains("<amount_local>45.01</amount_local>"));
    assert!(xml.contains("<date_transaction>2025-03-02T23:11:00</date_transaction>"), "sender-local time");
    assert!(xml.contains("Payments &lt;small&gt; &amp; frequent"), "text is escaped");
    assert!(xml.contains("<entity_reference>C-000001</entity_reference>"));
    if std::process::Command::new("xmllint").arg("--version").output().is_ok() {
        let x = validate_xsd(&xml, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/structure.xsd"))).unwrap();
        assert!(x.valid(), "{x:?}");
    } else if std::env::var_os("OSECWATCH_REQUIRE_FIXTURES").is_some() {
        panic!("xmllint is required (scripts/test.sh installs libxml2-utils)");
    }
}

#[test]
fn missing_fields_are_named_in_words() {
    let p = Profile::load("generic").unwrap();
    let mut r = input();
    r.clients[0].birthdate = None;
    r.counterparties[0].swift = None;
    r.reporter.rentity_id = None;
    r.transactions[0].currency = "USD".into();
    let problems = check(&r, &p);
    let want = [
        "customer of account DE-ACC-1: birthdate is required (add it to the customer file)",
        "transaction TX0 and 2 more: to_account.swift or institution_code is required (beneficiary PH-W-9)",
        "report: rentity_id (the FIU's id of your institution, >= 1) is required",
    ];
    for w in want {
        assert!(problems.iter().any(|p| p == w), "{w} missing from {problems:#?}");
    }
    assert!(problems.iter().any(|p| p.starts_with("transaction TX0: amount is in USD")));
    // The writer still produces a draft for review, without the absent elements.
    let xml = write_xml(&r, &p);
    assert!(!xml.contains("<birthdate>"));
    if std::process::Command::new("xmllint").arg("--version").output().is_ok() {
        let x = validate_xsd(&xml, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xsd/structure.xsd"))).unwrap();
        assert!(x.errors.iter().any(|e| e.contains("rentity_id") || e.contains("rentity_branch")), "{x:?}");
    }
}

#[test]
fn the_german_profile_wants_iban_and_officer_email() {
    let p = Profile::load("de").unwrap();
    assert!(!p.assumptions.is_empty(), "assumptions are marked");
    let mut r = input();
    assert!(check(&r, &p).is_empty(), "{:?}", check(&r, &p));
    r.clients[0].iban = None;
    r.reporter.person_email = None;
    r.entity_reference.clear();
    let problems = check(&r, &p);
    assert!(problems.iter().any(|x| x.contains("from_account.iban is required by profile de")), "{problems:?}");
    assert!(problems.iter().any(|x| x.contains("reporting_person.email is required by profile de")));
    assert!(problems.iter().any(|x| x.contains("entity_reference is required by profile de")));
    r.clients[0].iban = Some("DE89370400440532013001".into());
    assert!(check(&r, &p).iter().any(|x| x.contains("check digits")));
}

#[test]
fn unknown_codes_name_the_code_and_the_file() {
    let text = include_str!("../profiles/generic.toml").replace("OSEC-BUYER = [\"OSEC\"", "OSEC-BUYER = [\"NOPE\"");
    let e = Profile::parse(&text, "fiu/custom.toml").unwrap_err().to_string();
    assert!(e.contains("NOPE") && e.contains("fiu/custom.toml"), "{e}");
    let p = Profile::load("generic").unwrap();
    let e = p.check_indicators(&["OSEC".into(), "XYZ".into()]).unwrap_err().to_string();
    assert!(e.contains("XYZ") && e.contains("built-in generic"), "{e}");
    assert!(matches!(Profile::load("nowhere"), Err(ProfileError::Unknown(_))));
    let mut r = input();
    r.indicators.push("XYZ".into());
    assert!(check(&r, &p).iter().any(|x| x.contains("indicator `XYZ`")));
}

#[test]
fn dotnet_patterns_are_reported_as_schema_quirks() {
    if std::process::Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("OSECWATCH_REQUIRE_FIXTURES").is_none(),
            "xmllint is required (scripts/test.sh installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let xsd = dir.path().join("quirk.xsd");
    std::fs::write(
        &xsd,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="report"><xs:complexType><xs:sequence>
<xs:element name="country"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="^[A-Z]{2}$"/></xs:restriction></xs:simpleType></xs:element>
</xs:sequence></xs:complexType></xs:element></xs:schema>"#,
    )
    .unwrap();
    let r = validate_xsd("<report><country>DE</country></report>", &xsd).unwrap();
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.quirks.len(), 1, "{r:?}");
    assert!(r.quirks[0].contains("schema quirk"));
}

#[test]
fn release_counts_working_days_and_narrative_fits() {
    let p = Profile::load("de").unwrap();
    let fri = chrono::DateTime::parse_from_rfc3339("2025-06-06T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
    assert_eq!(p.release_after(fri).to_rfc3339(), "2025-06-11T10:00:00+00:00", "Friday + 3 working days = Wednesday");
    let f = NarrativeFacts {
        case_id: "C-1".into(),
        entity_type: "sender".into(),
        entity_id: "S1".into(),
        typology: "OSEC-BUYER".into(),
        payments: 12,
        recipients: 3,
        countries: vec!["PH".into()],
        first_at: "2025-01-01T22:00:00+01:00".into(),
        last_at: "2025-03-01T22:00:00+01:00".into(),
        total_minor: 123_456,
        min_minor: 1000,
        max_minor: 20000,
        currency: "EUR".into(),
        night: 9,
        reasons: (0..500).map(|i| format!("reason number {i} with some words")).collect(),
        ..Default::default()
    };
    let n = draft_narrative(&f, 8000);
    assert!(n.chars().count() <= 8000);
    assert!(n.contains("12 payment(s) totalling 1234.56 EUR to 3 beneficiary account(s) in PH"), "{n}");
    assert!(n.contains("9 of them were made between 22:00 and 06:00"));
    assert!(n.ends_with("Case reference: C-1."), "the closing line survives trimming");
    assert!(iban_ok("DE89 3704 0044 0532 0130 00"));
}
