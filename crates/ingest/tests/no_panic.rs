//! Property tests: no input makes a reader panic, and counts always reconcile. (The
//! coverage-guided fuzz targets in `fuzz/` explore further; these run on every test.)

use osecwatch_ingest::*;
use proptest::prelude::*;
use std::path::Path;

const HEADER: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category\n";

fn check(s: IngestStats, c: &Counter) {
    c.assert_reconciles(&s);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

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
