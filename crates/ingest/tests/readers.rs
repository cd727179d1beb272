//! Readers on well-formed, hostile and third-party input: every row is either accepted or
//! rejected with file, position and reason, and the counts reconcile.

use osecwatch_formats::{open_writer, Format};
use osecwatch_ingest::*;
use osecwatch_model::{Channel, CountryCode, CurrencyCode, Money, Timestamp, Transaction, TxnRow};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Collect {
    rows: Vec<Transaction>,
    rejected: Vec<Rejection>,
}

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, _loc: &dyn Fn() -> Location) {
        self.rows.push(row.to_owned_txn());
    }
    fn reject(&mut self, r: Rejection) {
        self.rejected.push(r);
    }
}

fn sample(n: usize) -> Vec<Transaction> {
    (0..n)
        .map(|i| Transaction {
            txn_id: format!("T{i}"),
            timestamp: Timestamp::new(1_735_700_000 + i as i64 * 60, 60),
            sender_id: format!("DE{i:020}"),
            sender_name: Some(format!("Name, {i}")),
            sender_country: CountryCode::parse("DE").unwrap(),
            recipient_id: format!("PH{i:012}"),
            recipient_name: (i % 2 == 0).then(|| "Maria \"Santos\"".to_string()),
            recipient_country: CountryCode::parse("PH").unwrap(),
            amount: Money::new(1234 + i as i64, CurrencyCode::parse(if i % 3 == 0 { "PHP" } else { "EUR" }).unwrap()),
            channel: Channel::ALL[i % 7],
            reference: (i % 2 == 1).then(|| "school fees\nline two".to_string()),
            merchant_category: (i % 4 == 0).then_some(5967),
        })
        .collect()
}

fn write(dir: &Path, name: &str, format: Format, txns: &[Transaction]) -> PathBuf {
    let p = dir.join(name);
    let mut w = open_writer(&p, format).unwrap();
    for t in txns {
        w.write(&t.as_row()).unwrap();
    }
    w.finish().unwrap();
    p
}

#[test]
fn canonical_formats_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let txns = sample(50);
    for (name, f) in [("a.csv", Format::Csv), ("a.jsonl", Format::Jsonl), ("a.parquet", Format::Parquet)] {
        let p = write(dir.path(), name, f, &txns);
        let mut c = Collect::default();
        let s = read_file(&p, &mut c).unwrap();
        assert_eq!(s, IngestStats { read: 50, accepted: 50, rejected: 0, skipped: 0 }, "{name}");
        assert_eq!(c.rows, txns, "{name}");
    }
}

const HEADER: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category";

#[test]
fn hostile_csv_rows_are_quarantined_with_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = "T1,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,45.00,EUR,mto,,";
    let bad = [
        ("T2,2025-03-01 22:14,S1,,DE,R1,,PH,45.00,EUR,mto,,", "timestamp"),
        ("T3,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,-5.00,EUR,mto,,", "amount"),
        ("T4,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,0,EUR,mto,,", "strictly positive"),
        ("T5,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.00,XYZ,mto,,", "currency"),
        ("T6,2025-03-01T22:14:05+01:00,S1,,DE,R1,,ZZ,5.00,EUR,mto,,", "recipient_country"),
        ("T7,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.00,EUR,pigeon,,", "channel"),
        ("T8,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.00,EUR,card,,59", "merchant_category"),
        ("T9,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.00,EUR", "fields"),
        (",2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.00,EUR,mto,,", "txn_id"),
        ("T10,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,5.123,EUR,mto,,", "decimals"),
        ("T11,2025-03-01T22:14:05+01:00,S1,,DE,R1,,PH,1e3,EUR,mto,,", "decimal"),
    ];
    let mut text = format!("{HEADER},extra_col\n{good},x\n");
    for (row, _) in &bad {
        text.push_str(row);
        text.push_str(if row.matches(',').count() >= 12 { ",x\n" } else { "\n" });
    }
    let p = dir.path().join("bad.csv");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"T12,2025-03-01T22:14:05+01:00,S1,\xff\xfe,DE,R1,,PH,5.00,EUR,mto,,,x\n");
    bytes.extend_from_slice(b"T13,2025-03-01T22:14:05+01:00,S1,\"unterminated,DE,R1,,PH,5.00,EUR,mto,,,x\n");
    std::fs::write(&p, bytes).unwrap();
    let mut c = Collect::default();
    let s = read_file(&p, &mut c).unwrap();
    assert_eq!(s.read, s.accepted + s.rejected);
    assert_eq!(s.accepted, 1);
    assert_eq!(c.rows[0].txn_id, "T1");
    assert!(s.rejected > bad.len() as u64, "{s:?}");
    for (i, (_, why)) in bad.iter().enumerate() {
        let r = &c.rejected[i];
        assert_eq!(r.location.source, p.display().to_string());
        assert_eq!(r.location.position, format!("line {}", i + 3), "{r:?}");
        assert!(r.reason.contains(why), "row {i}: `{}` should mention {why}", r.reason);
    }
    assert!(c.rejected.iter().any(|r| r.reason.contains("UTF-8")));
}

#[test]
fn missing_required_columns_fail_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.csv");
    std::fs::write(&p, "txn_id,timestamp,amount\nT1,2025-03-01T22:14:05+01:00,4\n").unwrap();
    let e = read_file(&p, &mut Collect::default()).unwrap_err().to_string();
    assert!(e.contains("sender_id") && e.contains("currency") && e.contains("x.csv"), "{e}");
    let q = dir.path().join("x.txt");
    std::fs::write(&q, "").unwrap();
    assert!(read_file(&q, &mut Collect::default()).unwrap_err().to_string().contains("unsupported"));
}

#[test]
fn hostile_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.jsonl");
    let lines = [
        r#"{"txn_id":"J1","timestamp":"2025-03-01T22:14:05+01:00","sender_id":"S","sender_country":"DE","recipient_id":"R","recipient_country":"PH","amount":45.5,"currency":"EUR","channel":"wallet","reference":null,"other":1}"#,
        "",
        r#"{"txn_id":"J2", "timestamp": "2025-03-01T22:14:05+01:00""#,
        r#"[1,2,3]"#,
        r#"{"txn_id":"J3","timestamp":"2025-03-01T22:14:05+01:00","sender_id":"S","sender_country":"DE","recipient_id":"R","recipient_country":"PH","amount":"45.00","currency":"EUR","channel":["mto"]}"#,
        r#"{"txn_id":"J4","timestamp":"2025-03-01T22:14:05+01:00","sender_id":"S","sender_country":"DE","recipient_id":"R","recipient_country":"PH","amount":"45.00","currency":"EUR","channel":"mto","merchant_category":5967}"#,
    ];
    std::fs::write(&p, lines.join("\n")).unwrap();
    let mut c = Collect::default();
    let s = read_file(&p, &mut c).unwrap();
    assert_eq!(s, IngestStats { read: 5, accepted: 2, rejected: 3, skipped: 0 });
    assert_eq!(c.rows[0].amount.minor, 4550);
    assert_eq!(c.rows[1].merchant_category, Some(5967));
    let reasons: Vec<&str> = c.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("invalid JSON"), "{reasons:?}");
    assert!(reasons[1].contains("not a JSON object"));
    assert!(reasons[2].contains("channel") && reasons[2].contains("array"));
    assert_eq!(c.rejected[0].location.position, "line 3");
}

#[test]
fn order_guard_and_reorder_window() {
    let mut g = OrderGuard::default();
    assert!(g.check(100).is_ok());
    assert!(g.check(100).is_ok());
    let e = g.check(40).unwrap_err();
    assert!(e.contains("60s") && e.contains("reorder window"), "{e}");
    // A run is checked by its ends: one starting early changes nothing; one in order moves
    // the guard to its last time.
    assert!(!g.check_run(99, 500));
    assert!(g.check(100).is_ok(), "a refused run must not move the guard");
    assert!(g.check_run(100, 500));
    assert!(g.check(499).is_err() && g.check(500).is_ok());
    let mut rb = ReorderBuffer::new(100);
    let txns = sample(6);
    let order = [2usize, 0, 1, 3, 5, 4];
    let mut out = Vec::new();
    for i in order {
        let mut t = txns[i].clone();
        t.timestamp = Timestamp::new(1000 + i as i64 * 30, 0);
        rb.push(&t.as_row(), &mut |x| out.push(x.txn_id.clone())).unwrap();
    }
    // A payment far older than the window after later ones were released is refused.
    let mut late = txns[0].clone();
    late.timestamp = Timestamp::new(900, 0);
    let e = rb.push(&late.as_row(), &mut |x| out.push(x.txn_id.clone())).unwrap_err();
    assert!(e.contains("reorder window"), "{e}");
    rb.finish(&mut |x| out.push(x.txn_id.clone()));
    assert_eq!(out, vec!["T0", "T1", "T2", "T3", "T4", "T5"]);
}

// ------------------------------------------------------------------ ISO 20022

fn fixtures() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/iso20022");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("OSECWATCH_REQUIRE_FIXTURES").is_ok_and(|v| v == "1") {
        panic!("OSECWATCH_REQUIRE_FIXTURES=1 but {} is missing", p.display());
    }
    eprintln!(
        "skipping: third-party fixtures not found at {} (set OSECWATCH_REQUIRE_FIXTURES=1 to fail instead)",
        p.display()
    );
    None
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(xml_files(&p));
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_iso20022_fixture_parses_and_reconciles() {
    let Some(f) = fixtures() else { return };
    let files = xml_files(&f);
    assert!(files.len() >= 140, "only {} fixture files", files.len());
    let (mut accepted, mut rejected) = (0, 0);
    for file in &files {
        let mut c = Collect::default();
        let s = read_file(file, &mut c).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(s.read, s.accepted + s.rejected, "{}", file.display());
        assert!(s.read >= 1, "{}: nothing read", file.display());
        for r in &c.rejected {
            assert!(!r.reason.is_empty() && !r.location.position.is_empty());
            assert!(!r.reason.contains("malformed"), "{}: {}", file.display(), r.reason);
        }
        accepted += s.accepted;
        rejected += s.rejected;
    }
    assert!(accepted >= 60, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn pacs008_fields_map_to_the_canonical_record() {
    let Some(f) = fixtures() else { return };
    let opts = XmlOptions { party_fallback: true, assume_offset_min: 60, ..Default::default() };
    for v in 1..=13 {
        let p = f.join(format!("pacs008/pacs.008.001.{v:02}.xml"));
        let mut c = Collect::default();
        let file = std::fs::File::open(&p).unwrap();
        let s = read_iso20022_from(&p, std::io::BufReader::new(file), &opts, &mut c).unwrap();
        assert_eq!(s.accepted, 1, "v{v:02}: {:?}", c.rejected);
        let t = &c.rows[0];
        assert_eq!(t.amount.to_decimal_string(), "1000.00", "v{v:02}");
        assert_eq!(t.amount.currency.as_str(), "EUR");
        assert_eq!(t.sender_name.as_deref(), Some("Debtor Corp"));
        assert_eq!(t.recipient_name.as_deref(), Some("Creditor Ltd"));
        assert_eq!(t.sender_country.as_str(), "DE", "country from the debtor agent's BIC");
        assert_eq!(t.sender_id, "DEUTDEFF/Debtor Corp");
        assert_eq!(t.timestamp.offset_min, 60);
        let text = std::fs::read_to_string(&p).unwrap();
        match text.split_once("<UETR>") {
            Some((_, rest)) => assert_eq!(t.txn_id, rest.split('<').next().unwrap(), "UETR wins when present"),
            None => assert_eq!(t.txn_id, "TX-001", "v{v:02}: TxId when there is no UETR"),
        }
    }
    // Without the fallback the same payments are quarantined, saying what is missing.
    let p = f.join("pacs008/pacs.008.001.08.xml");
    let mut c = Collect::default();
    read_file(&p, &mut c).unwrap();
    assert!(c.rejected[0].reason.contains("DbtrAcct/Id/IBAN"), "{}", c.rejected[0].reason);
    let mut c = Collect::default();
    read_file(&f.join("pacs008/pacs.002.001.12.xml"), &mut c).unwrap();
    assert!(c.rejected[0].reason.contains("not a pacs.008"));
}

#[test]
fn validating_mode_explains_the_invalid_fixtures() {
    let Some(f) = fixtures() else { return };
    let xsd = f.join("xsd");
    for v in 1..=13 {
        let p = f.join(format!("pacs008/pacs.008.001.{v:02}.xml"));
        let r = validate_xml(&p, &xsd).unwrap_or_else(|e| panic!("{e}"));
        if v == 3 || v == 4 {
            assert!(!r.valid, "v{v:02} should be invalid");
            assert!(
                r.errors.iter().any(|e| e.contains("'BIC'") && e.contains("BICFI") && e.starts_with("line ")),
                "{:?}",
                r.errors
            );
        } else {
            assert!(r.valid, "v{v:02}: {:?}", r.errors);
        }
    }
    for v in ["03", "09", "11", "13"] {
        for p in xml_files(&f.join(format!("pain001/pain.001.001.{v}"))) {
            let r = validate_xml(&p, &xsd).unwrap();
            assert!(r.valid, "{}: {:?}", p.display(), r.errors);
        }
    }
}

fn xml(doc: &str) -> (IngestStats, Collect) {
    let mut c = Collect::default();
    let s = read_iso20022_from(Path::new("mem.xml"), doc.as_bytes(), &XmlOptions::default(), &mut c).unwrap();
    (s, c)
}

const PACS: &str = r#"<?xml version="1.0"?>
<Envelope><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><BizMsgIdr>B1</BizMsgIdr></AppHdr>
<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.10"><p:FIToFICstmrCdtTrf>
<p:GrpHdr><p:MsgId>M</p:MsgId><p:CreDtTm>2025-03-01T22:14:05+01:00</p:CreDtTm><p:NbOfTxs>2</p:NbOfTxs></p:GrpHdr>
<p:CdtTrfTxInf>
 <p:Cdtr><p:Nm>Maria Santos &amp; Co</p:Nm><p:PstlAdr><p:Ctry>PH</p:Ctry></p:PstlAdr></p:Cdtr>
 <p:IntrBkSttlmAmt Ccy="EUR">45.00</p:IntrBkSttlmAmt>
 <p:PmtId><p:EndToEndId>E1</p:EndToEndId><p:TxId>TX1</p:TxId></p:PmtId>
 <p:DbtrAcct><p:Id><p:IBAN>DE89370400440532013000</p:IBAN></p:Id></p:DbtrAcct>
 <p:Dbtr><p:Nm>Max Muster</p:Nm></p:Dbtr>
 <p:CdtrAcct><p:Id><p:Othr><p:Id>09171234567</p:Id></p:Othr></p:Id></p:CdtrAcct>
 <p:RmtInf><p:Ustrd>school</p:Ustrd><p:Ustrd>fees &#x263A;</p:Ustrd></p:RmtInf>
</p:CdtTrfTxInf>
<p:CdtTrfTxInf><p:PmtId><p:TxId>TX2</p:TxId></p:PmtId><p:IntrBkSttlmAmt Ccy="EUR">10</p:IntrBkSttlmAmt></p:CdtTrfTxInf>
</p:FIToFICstmrCdtTrf></p:Document></Envelope>"#;

#[test]
fn pacs008_any_order_prefixes_and_header_wrapper() {
    let (s, c) = xml(PACS);
    assert_eq!(s, IngestStats { read: 2, accepted: 1, rejected: 1, skipped: 0 });
    let t = &c.rows[0];
    assert_eq!(t.txn_id, "TX1");
    assert_eq!(t.sender_id, "DE89370400440532013000");
    assert_eq!(t.sender_country.as_str(), "DE", "from the IBAN");
    assert_eq!(t.recipient_id, "09171234567");
    assert_eq!(t.recipient_name.as_deref(), Some("Maria Santos & Co"));
    assert_eq!(t.recipient_country.as_str(), "PH");
    assert_eq!(t.reference.as_deref(), Some("school fees \u{263A}"));
    assert_eq!(t.timestamp.to_rfc3339(), "2025-03-01T22:14:05+01:00");
    assert!(c.rejected[0].location.position.contains("CdtTrfTxInf #2"));
}

#[test]
fn xml_refuses_dtds_entities_and_survives_garbage() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document><FIToFICstmrCdtTrf><CdtTrfTxInf><Dbtr><Nm>&x;</Nm></Dbtr></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"#;
    let (s, c) = xml(xxe);
    assert_eq!(s.accepted, 0);
    assert!(c.rejected[0].reason.contains("DTD"), "{:?}", c.rejected);
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><Document>&lol2;</Document>"#;
    let (_, c) = xml(laughs);
    assert!(c.rejected[0].reason.contains("DTD"));
    // A refused entity anywhere in the payment refuses the payment, not just in names.
    let in_iban = PACS.replace("DE89370400440532013000", "DE89&bogus;");
    let (s, c) = xml(&in_iban);
    assert_eq!(s.accepted, 0);
    assert!(c.rejected.iter().any(|r| r.reason.contains("IBAN: entity reference &bogus; refused")), "{:?}", c.rejected);
    let undeclared = PACS.replace("Max Muster", "&passwd;");
    let (s, c) = xml(&undeclared);
    assert_eq!(s.accepted, 0);
    assert!(c.rejected.iter().any(|r| r.reason.contains("entity reference &passwd; refused")), "{:?}", c.rejected);
    for garbage in
        ["", "<", "<Document><FIToFICstmrCdtTrf><CdtTrfTxInf>", "\u{0}\u{1}<<>>", "<a></b>", &PACS[..PACS.len() / 2]]
    {
        let (s, _) = xml(garbage);
        assert_eq!(s.read, s.accepted + s.rejected);
    }
}

#[test]
fn pain001_uses_payment_information_and_unique_ids() {
    let doc = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn>
<GrpHdr><MsgId>M</MsgId><CreDtTm>2025-01-01T08:00:00</CreDtTm></GrpHdr>
<PmtInf><PmtInfId>P1</PmtInfId><ReqdExctnDt>2025-01-02</ReqdExctnDt>
 <Dbtr><Nm>Anna Weber</Nm><PstlAdr><Ctry>DE</Ctry></PstlAdr></Dbtr>
 <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
 <CdtTrfTxInf><PmtId><EndToEndId>NOTPROVIDED</EndToEndId></PmtId><Amt><InstdAmt Ccy="PHP">1500</InstdAmt></Amt>
  <CdtrAgt><FinInstnId><BIC>BOPIPHMM</BIC></FinInstnId></CdtrAgt><Cdtr><Nm>Joy Reyes</Nm></Cdtr>
  <CdtrAcct><Id><Othr><Id>W1</Id></Othr></Id></CdtrAcct></CdtTrfTxInf>
 <CdtTrfTxInf><PmtId><EndToEndId>NOTPROVIDED</EndToEndId></PmtId><Amt><InstdAmt Ccy="PHP">2000.00</InstdAmt></Amt>
  <CdtrAgt><FinInstnId><BIC>BOPIPHMM</BIC></FinInstnId></CdtrAgt><Cdtr><Nm>Joy Reyes</Nm></Cdtr>
  <CdtrAcct><Id><Othr><Id>W1</Id></Othr></Id></CdtrAcct></CdtTrfTxInf>
</PmtInf></CstmrCdtTrfInitn></Document>"#;
    let (s, c) = xml(doc);
    assert_eq!(s, IngestStats { read: 2, accepted: 2, rejected: 0, skipped: 0 }, "{:?}", c.rejected);
    assert_eq!(c.rows[0].sender_name.as_deref(), Some("Anna Weber"));
    assert_eq!(c.rows[0].recipient_country.as_str(), "PH", "from the creditor agent's BIC");
    assert_eq!(c.rows[0].timestamp.to_rfc3339(), "2025-01-02T00:00:00+00:00");
    assert_ne!(c.rows[0].txn_id, c.rows[1].txn_id);
    assert!(c.rows[0].txn_id.starts_with("P1/"));
    assert_eq!(c.rows[1].amount.minor, 200_000);
    assert_eq!(c.rows[0].channel.as_str(), "bank_transfer");
}

#[test]
fn channel_per_sending_agent() {
    let mut opts = XmlOptions::default();
    opts.channel_by_agent.insert("WUCOUS33".into(), osecwatch_model::Channel::Mto);
    let doc = PACS.replace("<p:Dbtr><p:Nm>Max Muster</p:Nm></p:Dbtr>", "<p:Dbtr><p:Nm>Max Muster</p:Nm></p:Dbtr><p:DbtrAgt><p:FinInstnId><p:BICFI>WUCOUS33XXX</p:BICFI></p:FinInstnId></p:DbtrAgt>");
    let mut c = Collect::default();
    read_iso20022_from(Path::new("m.xml"), doc.as_bytes(), &opts, &mut c).unwrap();
    assert_eq!(c.rows[0].channel, osecwatch_model::Channel::Mto, "matched on the 8-character BIC");
    let mut c = Collect::default();
    read_iso20022_from(Path::new("m.xml"), PACS.as_bytes(), &opts, &mut c).unwrap();
    assert_eq!(c.rows[0].channel, osecwatch_model::Channel::BankTransfer, "other agents keep the default");
}

#[test]
fn parallel_csv_reading_gives_the_same_rows_rejections_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("{HEADER}\n");
    for i in 0..5000 {
        match i % 97 {
            0 => text.push_str(&format!("R{i},not-a-time,S,,DE,R,,PH,5.00,EUR,mto,,\n")),
            1 => text.push_str(&format!("R{i},2025-03-01T22:14:05+01:00,S,,DE\n")),
            _ => text.push_str(&format!(
                "R{i},2025-03-01T22:14:05+01:00,S{},\"Name, {i}\",DE,R,,PH,{}.00,EUR,mto,,\n",
                i % 13,
                1 + i % 400
            )),
        }
    }
    text.push_str("R-last,2025-03-01T22:14:05+01:00,S,\"unterminated,DE,R,,PH,5.00,EUR,mto,,\n");
    let p = dir.path().join("many.csv");
    std::fs::write(&p, &text).unwrap();
    let mut a = Collect::default();
    let sa = read_csv_from(&p, text.as_bytes(), &mut a).unwrap();
    let mut b = Collect::default();
    let sb = read_csv_with(&p, text.as_bytes(), CsvOptions { block: 4096, workers: 2 }, &mut b).unwrap();
    let mut c = Collect::default();
    let sc = read_csv(&p, &mut c).unwrap();
    assert_eq!(sa, sc);
    assert_eq!(a.rows, c.rows);
    assert_eq!(sa, sb);
    assert_eq!(sa.read, sa.accepted + sa.rejected);
    assert!(sa.rejected >= 100, "{sa:?}");
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rejected, b.rejected);
}

/// Ids and texts over their limits are quarantined naming the field and the limit (never
/// the value), in every canonical format and in ISO 20022; the rest of the file is read.
#[test]
fn oversized_ids_and_texts_are_quarantined_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut txns = sample(3);
    txns[1].txn_id = "X".repeat(1 << 20);
    txns[2].reference = Some("r".repeat(1025));
    for (name, format) in [("a.csv", Format::Csv), ("a.jsonl", Format::Jsonl), ("a.parquet", Format::Parquet)] {
        let p = write(dir.path(), name, format, &txns);
        let mut c = Collect::default();
        let s = read_file(&p, &mut c).unwrap();
        assert_eq!(s, IngestStats { read: 3, accepted: 1, rejected: 2, skipped: 0 }, "{name}");
        assert_eq!(c.rejected[0].reason, "`txn_id` is 1048576 bytes long; at most 256 are accepted", "{name}");
        assert_eq!(c.rejected[1].reason, "`reference` is 1025 bytes long; at most 1024 are accepted", "{name}");
        assert!(c.rejected.iter().all(|r| r.raw.len() < 1000), "{name}: the quarantine keeps a clipped row");
    }
    let long = "Y".repeat(300);
    let (s, c) = xml(&PACS.replace("<p:Nm>Max Muster</p:Nm>", &format!("<p:Nm>{long}</p:Nm>")));
    assert_eq!(s.read, s.accepted + s.rejected);
    assert!(c.rejected[0].reason.contains("`sender_name` is 300 bytes long"), "{}", c.rejected[0].reason);
}

/// A message cut short, without a namespace or with another message's namespace is refused
/// as a whole document, saying so.
#[test]
fn truncated_and_foreign_xml_documents_are_refused_whole() {
    let cut = &PACS[..PACS.find("<p:CdtTrfTxInf><p:PmtId><p:TxId>TX2").unwrap()];
    let (s, c) = xml(cut);
    assert_eq!(s.read, s.accepted + s.rejected);
    let doc: Vec<&Rejection> = c.rejected.iter().filter(|r| is_document_refusal(r)).collect();
    assert!(doc.len() == 1 && doc[0].reason.contains("cut short"), "{:?}", c.rejected);
    let (_, c) = xml(&PACS.replace("pacs.008.001.10", "camt.053.001.08"));
    assert!(
        c.rows.is_empty() && is_document_refusal(&c.rejected[0]) && c.rejected[0].reason.contains("not a pacs.008")
    );
    let (_, c) = xml(&PACS.replace(r#" xmlns:p="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.10""#, ""));
    assert!(c.rows.is_empty() && c.rejected[0].reason.contains("no namespace"), "{:?}", c.rejected);
    let (s, c) = xml(PACS);
    assert_eq!((s.accepted, c.rejected.iter().any(is_document_refusal)), (1, false));
}
