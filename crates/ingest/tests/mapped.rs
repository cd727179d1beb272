//! Bank exports through a mapping: dialects, encodings, notations, time zones, and every
//! row accepted, rejected with its source column, or skipped with its reason.

use osecwatch_ingest::*;
use osecwatch_model::{Transaction, TxnRow};
use std::path::Path;

#[derive(Default)]
struct Collect {
    rows: Vec<(String, Transaction)>,
    rejected: Vec<Rejection>,
    skipped: Vec<(String, String)>,
}

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        self.rows.push((loc().position, row.to_owned_txn()));
    }
    fn reject(&mut self, r: Rejection) {
        self.rejected.push(r);
    }
    fn skip(&mut self, loc: &dyn Fn() -> Location, reason: &str) {
        self.skipped.push((loc().position, reason.to_string()));
    }
}

const GERMAN: &str = r#"
[csv]
encoding = "windows-1252"
[values]
decimal = ","
thousands = "."
timezone = "Europe/Berlin"
amount_sign = "negative_is_outgoing"
[fields]
txn_id = { column = "Referenz" }
timestamp = { columns = ["Datum", "Zeit"], format = "%d.%m.%Y %H:%M:%S" }
sender_id = { columns = ["BLZ", "Konto"], separator = "-" }
sender_country = { constant = "DE" }
recipient_id = { column = "IBAN Empfänger" }
recipient_name = { column = "Empfänger" }
recipient_country = { column = "Land" }
amount = { column = "Betrag" }
currency = { column = "Währung", map = { "€" = "EUR" } }
channel = { column = "Art", map = { "Überweisung" = "bank_transfer", "Gutschrift" = "other" } }
reference = { column = "Verwendungszweck" }
"#;

fn latin1(s: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1252.encode(s).0.into_owned()
}

fn read(mapping: &str, bytes: &[u8]) -> (IngestStats, Collect) {
    let m = Mapping::from_toml(mapping, "test mapping").unwrap();
    let mut c = Collect::default();
    let s = read_mapped_from(Path::new("export.csv"), bytes, &m, &mut c).unwrap();
    assert_eq!(s.read, s.accepted + s.rejected + s.skipped);
    assert_eq!(
        (s.accepted, s.rejected, s.skipped),
        (c.rows.len() as u64, c.rejected.len() as u64, c.skipped.len() as u64)
    );
    (s, c)
}

#[test]
fn a_german_export_is_read_with_its_dialect_encoding_and_notation() {
    let text = "Referenz;Datum;Zeit;BLZ;Konto;IBAN Empfänger;Empfänger;Land;Betrag;Währung;Art;Verwendungszweck;Saldo\r\n\
        R1;01.03.2025;22:14:05;12030000;4711;PH1234;\"Maria Santos; Cebu\";PH;-1.234,50;€;Überweisung;Schulgebühren;9.000,00\r\n\
        R2;01.07.2025;22:14:05;12030000;4711;PH1234;Maria Santos;PH;45,00-;EUR;Überweisung;;8.000,00\r\n\
        R3;02.07.2025;08:00:00;12030000;4711;DE99;Arbeitgeber;DE;2.345,67;EUR;Gutschrift;Lohn;10.000,00\r\n";
    let (s, c) = read(GERMAN, &latin1(text));
    assert_eq!((s.read, s.accepted, s.rejected, s.skipped), (3, 2, 0, 1), "{:?}", c.rejected);
    let (at, t) = &c.rows[0];
    assert_eq!(at, "line 2");
    assert_eq!(t.timestamp.to_rfc3339(), "2025-03-01T22:14:05+01:00");
    assert_eq!(c.rows[1].1.timestamp.to_rfc3339(), "2025-07-01T22:14:05+02:00", "summer time");
    assert_eq!(t.sender_id, "12030000-4711");
    assert_eq!(t.recipient_name.as_deref(), Some("Maria Santos; Cebu"));
    assert_eq!(t.amount.minor, 123450);
    assert_eq!(t.amount.currency.as_str(), "EUR");
    assert_eq!(t.reference.as_deref(), Some("Schulgebühren"));
    assert_eq!(c.rows[1].1.amount.minor, 4500, "a trailing minus sign");
    assert_eq!(c.skipped, vec![("line 4".to_string(), "incoming (a positive amount)".to_string())]);
}

#[test]
fn detection_finds_the_delimiter_and_the_encoding_and_drops_a_bom() {
    let auto = GERMAN.replace("encoding = \"windows-1252\"", "");
    let text = "Referenz;Datum;Zeit;BLZ;Konto;IBAN Empfänger;Empfänger;Land;Betrag;Währung;Art;Verwendungszweck\n\
        R1;01.03.2025;22:14:05;1;2;PH1;Ana;PH;-10,00;EUR;Überweisung;\n";
    let (s, c) = read(&auto, &latin1(text));
    assert_eq!(s.accepted, 1, "Windows-1252 detected: {:?}", c.rejected);
    let mut utf8 = b"\xef\xbb\xbf".to_vec();
    utf8.extend_from_slice(text.replace(';', "\t").as_bytes());
    let (s, c) = read(&auto, &utf8);
    assert_eq!(s.accepted, 1, "UTF-8 with a BOM and tabs: {:?}", c.rejected);
    assert_eq!(c.rows[0].1.recipient_name.as_deref(), Some("Ana"));
}

#[test]
fn a_file_without_a_header_names_columns_by_position() {
    let m = r#"
[csv]
delimiter = "|"
header = false
[fields]
txn_id = { column = "1" }
timestamp = { column = "2" }
sender_id = { column = "3" }
sender_country = { constant = "DE" }
recipient_id = { column = "4" }
recipient_country = { column = "5" }
amount = { column = "6" }
currency = { constant = "EUR" }
channel = { constant = "mto" }
"#;
    let (s, c) = read(m, b"A|2025-03-01T22:14:05+01:00|S1|R1|PH|45.00\nB|2025-03-01 21:15:00|S1|R1|PH|50.00\n");
    assert_eq!(s.accepted, 2, "{:?}", c.rejected);
    assert_eq!(c.rows[0].0, "line 1");
    assert_eq!(c.rows[1].1.timestamp.to_rfc3339(), "2025-03-01T21:15:00+00:00", "naive times in UTC by default");
}

#[test]
fn bad_values_are_rejected_with_the_source_column_and_the_expected_form() {
    let text = "Referenz;Datum;Zeit;BLZ;Konto;IBAN Empfänger;Empfänger;Land;Betrag;Währung;Art;Verwendungszweck\n\
        R1;2025-03-01;22:14:05;1;2;PH1;Ana;PH;-10,00;EUR;Überweisung;\n\
        R2;01.03.2025;22:14:05;1;2;PH1;Ana;PH;-10.5,0;EUR;Überweisung;\n\
        R3;01.03.2025;22:14:05;1;2;PH1;Ana;PHL;-10,00;EUR;Überweisung;\n\
        R4;01.03.2025;22:14:05;1;2;PH1;Ana;PH;-10,00;EUR;Lastschrift;\n\
        R5;30.03.2025;02:30:00;1;2;PH1;Ana;PH;-10,00;EUR;Überweisung;\n\
        R6;01.03.2025;22:14:05;1;2\n\
        R7;01.03.2025;22:14:06;1;2;PH1;Ana;PH;-10,00;EUR;Überweisung;\n";
    let (s, c) = read(GERMAN, &latin1(text));
    assert_eq!((s.read, s.accepted, s.rejected), (7, 1, 6));
    let why: Vec<(&str, &str)> = c.rejected.iter().map(|r| (r.location.position.as_str(), r.reason.as_str())).collect();
    assert!(
        why[0].1.starts_with(
            "timestamp (columns `Datum`, `Zeit`): `2025-03-01 22:14:05` does not match the format `%d.%m.%Y %H:%M:%S`"
        ),
        "{why:?}"
    );
    assert_eq!(why[0].0, "line 2");
    assert!(
        why[1].1.starts_with(
            "amount (column `Betrag`): `-10.5,0` is not an amount written with decimal `,` and thousands `.`"
        ),
        "{why:?}"
    );
    assert!(why[2].1.contains("recipient_country") && why[2].1.ends_with("(from column `Land`)"), "{why:?}");
    assert!(why[3].1.contains("Lastschrift") && why[3].1.ends_with("(from column `Art`)"), "{why:?}");
    assert!(why[4].1.contains("does not exist in Europe/Berlin"), "{why:?}");
    assert_eq!(why[5], ("line 7", "5 fields, the header has 12"));
    assert_eq!(c.rows[0].0, "line 8");
}

#[test]
fn a_mapping_that_names_a_missing_column_is_refused_before_reading() {
    let m = Mapping::from_toml(&GERMAN.replace("\"Land\"", "\"Country\""), "m").unwrap();
    let text = "Referenz;Datum;Zeit;BLZ;Konto;IBAN Empfänger;Empfänger;Land;Betrag;Währung;Art;Verwendungszweck\n";
    let mut c = Collect::default();
    let e = read_mapped_from(Path::new("x.csv"), &latin1(text)[..], &m, &mut c).unwrap_err().to_string();
    assert!(e.contains("field `recipient_country` names column `Country`, which the file does not have"), "{e}");
    assert!(e.contains("`Land`") && e.contains("`Betrag`"), "lists the columns the file has: {e}");
    // UTF-8 read as Windows-1252: the header's umlauts are garbled, and the error says why.
    let m = Mapping::from_toml(GERMAN, "m").unwrap();
    let e = read_mapped_from(Path::new("x.csv"), text.as_bytes(), &m, &mut c).unwrap_err().to_string();
    assert!(e.contains("looks like UTF-8") && e.contains("csv.encoding"), "{e}");
    for (bad, says) in [
        (GERMAN.replace("txn_id = { column = \"Referenz\" }", ""), "required field(s) not mapped: txn_id"),
        (
            GERMAN.replace("[fields]", "[fields]\nbetrag = { column = \"x\" }"),
            "`betrag`, which is not a canonical field",
        ),
        (GERMAN.replace("Europe/Berlin", "Europe/Bonn"), "not an IANA time zone"),
        (GERMAN.replace("thousands = \".\"", "thousands = \",\""), "the same"),
        (format!("{GERMAN}\n[oops]\n"), "unknown field `oops`"),
    ] {
        let e = Mapping::from_toml(&bad, "m").unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn an_unclear_delimiter_is_an_error_asking_for_it() {
    let m = Mapping::from_toml(&GERMAN.replace("encoding = \"windows-1252\"", ""), "m").unwrap();
    let mut c = Collect::default();
    let e = read_mapped_from(Path::new("x.csv"), &b"a;b,c\n1;2,3\n"[..], &m, &mut c).unwrap_err().to_string();
    assert!(e.contains("set csv.delimiter"), "{e}");
}
