//! Property tests: no input makes a reader panic, and counts always reconcile. (The
//! coverage-guided fuzz targets in `fuzz/` explore further; these run on every test.)

use osecwatch_ingest::*;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::path::Path;

const HEADER: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category\n";

const MAPPING: &str = r#"
[values]
decimal = ","
thousands = "."
timezone = "Europe/Berlin"
amount_sign = "negative_is_outgoing"
[fields]
txn_id = { column = "Ref" }
timestamp = { columns = ["Datum", "Zeit"], format = "%d.%m.%Y %H:%M:%S" }
sender_id = { column = "Konto" }
sender_country = { constant = "DE" }
recipient_id = { column = "IBAN" }
recipient_country = { column = "Land" }
amount = { column = "Betrag" }
currency = { constant = "EUR" }
channel = { column = "Art", map = { "U" = "bank_transfer" } }
"#;

fn check(s: IngestStats, c: &Counter) {
    c.assert_reconciles(&s);
}

proptest! {
    // A fixed seed: the same cases on every run (tests stay deterministic); the fuzz targets
    // in `fuzz/` explore beyond them.
    #![proptest_config(ProptestConfig { cases: 400, rng_seed: RngSeed::Fixed(16), ..ProptestConfig::default() })]

    #[test]
    fn csv_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut data = HEADER.as_bytes().to_vec();
        data.extend(body);
        let mut c = Counter::default();
        if let Ok(s) = read_csv_from(Path::new("f.csv"), data.as_slice(), &mut c) { check(s, &c) }
    }

    #[test]
    fn csv_rows_of_plausible_fields_never_panic(fields in proptest::collection::vec("[-+:.,0-9A-Za-z\"T ]{0,30}", 13)) {
        let data = format!("{HEADER}{}\n", fields.join(","));
        let mut c = Counter::default();
        if let Ok(s) = read_csv_from(Path::new("f.csv"), data.as_bytes(), &mut c) { check(s, &c) }
    }

    #[test]
    fn mapped_exports_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), auto in any::<bool>()) {
        // A German export's mapping, with the dialect and encoding set or detected.
        let dialect = if auto { "" } else { "[csv]\ndelimiter = \";\"\nencoding = \"windows-1252\"\n" };
        let m = Mapping::from_toml(&format!("{dialect}{MAPPING}"), "m").unwrap();
        let mut data = b"Ref;Datum;Zeit;Konto;Land;IBAN;Betrag;Art\n".to_vec();
        data.extend(body);
        let mut c = Counter::default();
        if let Ok(s) = read_mapped_from(Path::new("f.csv"), data.as_slice(), &m, &mut c) {
            assert_eq!(s.read, s.accepted + s.rejected + s.skipped);
            assert_eq!((s.accepted, s.rejected), (c.accepted, c.rejected));
        }
    }

    #[test]
    fn mapped_rows_of_plausible_fields_never_panic(fields in proptest::collection::vec("[-+:.,;0-9A-Za-z\"é ]{0,20}", 8)) {
        let m = Mapping::from_toml(MAPPING, "m").unwrap();
        let data = format!("Ref;Datum;Zeit;Konto;Land;IBAN;Betrag;Art\n{}\n", fields.join(";"));
        let mut c = Counter::default();
        if let Ok(s) = read_mapped_from(Path::new("f.csv"), data.as_bytes(), &m, &mut c) {
            assert_eq!(s.read, s.accepted + s.rejected + s.skipped);
        }
    }

    #[test]
    fn jsonl_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut c = Counter::default();
        if let Ok(s) = read_jsonl_from(Path::new("f.jsonl"), body.as_slice(), &mut c) { check(s, &c) }
    }

    #[test]
    fn xml_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut c = Counter::default();
        let s = read_iso20022_from(Path::new("f.xml"), body.as_slice(), &XmlOptions::default(), &mut c).unwrap();
        check(s, &c);
    }

    #[test]
    fn xml_of_iso_like_tags_never_panics(tags in proptest::collection::vec(prop_oneof![
        Just("<Document>"), Just("</Document>"), Just("<FIToFICstmrCdtTrf>"), Just("<CstmrCdtTrfInitn>"),
        Just("<PmtInf>"), Just("</PmtInf>"), Just("<CdtTrfTxInf>"), Just("</CdtTrfTxInf>"), Just("<Dbtr><Nm>A&amp;B</Nm></Dbtr>"),
        Just("<IntrBkSttlmAmt Ccy=\"EUR\">5</IntrBkSttlmAmt>"), Just("<InstdAmt Ccy=\"&x;\">5</InstdAmt>"),
        Just("<CreDtTm>2025-01-01T00:00:00</CreDtTm>"), Just("<PmtId><TxId>T</TxId></PmtId>"), Just("&#0;"), Just("&bogus;"),
        Just("<![CDATA[x]]>"), Just("<!DOCTYPE x>"), Just("<IBAN>DE1</IBAN>"), Just("</GrpHdr>")
    ], 0..40)) {
        let doc: String = tags.concat();
        let mut c = Counter::default();
        let s = read_iso20022_from(Path::new("f.xml"), doc.as_bytes(), &XmlOptions::default(), &mut c).unwrap();
        check(s, &c);
    }
}

/// A small typed Parquet file written by osecwatch, as bytes.
fn small_parquet() -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.parquet");
    let mut w = osecwatch_formats::open_writer(&p, osecwatch_formats::Format::Parquet).unwrap();
    let data = format!("{HEADER}A,2025-03-01T22:14:05+01:00,S1,Ana,DE,R1,Bo,PH,45.00,EUR,mto,x,\nB,2025-03-01T22:15:05+01:00,S1,,DE,R1,,PH,12.5,EUR,card,,5967\n");
    struct W<'a>(&'a mut Box<dyn osecwatch_formats::TxnWriter>);
    impl Visitor for W<'_> {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> Location) {
            self.0.write(row).unwrap();
        }
        fn reject(&mut self, r: Rejection) {
            panic!("{r:?}");
        }
    }
    read_csv_from(Path::new("f.csv"), data.as_bytes(), &mut W(&mut w)).unwrap();
    w.finish().unwrap();
    std::fs::read(&p).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, rng_seed: RngSeed::Fixed(16), ..ProptestConfig::default() })]

    #[test]
    fn damaged_parquet_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = small_parquet();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if cut.index(4) == 0 {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.parquet");
        std::fs::write(&p, &bytes).unwrap();
        let mut c = Counter::default();
        if let Ok(s) = read_input(&p, &InputOptions::default(), None, &mut c) {
            check(s, &c);
        }
    }
}
