//! Typed columnar inputs as data lakes write them: TIMESTAMP with and without a time zone,
//! DECIMAL, integers and floats for amounts, integer merchant categories, dictionary-encoded
//! text, nulls; Parquet and Arrow IPC alike.

use arrow_array::builder::{Decimal128Builder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema};
use osecwatch_ingest::*;
use osecwatch_model::{Transaction, TxnRow};
use std::path::Path;
use std::sync::Arc;

#[derive(Default)]
struct Collect {
    rows: Vec<Transaction>,
    rejected: Vec<Rejection>,
}

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, _: &dyn Fn() -> Location) {
        self.rows.push(row.to_owned_txn());
    }
    fn reject(&mut self, r: Rejection) {
        self.rejected.push(r);
    }
}

/// 2025-03-01T21:14:05Z and 2025-07-01T20:14:05Z.
const T: [i64; 3] = [1_740_863_645, 1_751_400_845, 1_751_400_900];

/// Three payments with the given timestamp and amount columns; the rest typed as DuckDB
/// types them (dictionary-encoded channel, INTEGER merchant category, a null name).
fn batch(ts: (DataType, ArrayRef), amount: (DataType, ArrayRef)) -> RecordBatch {
    let text = |v: [&str; 3]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    let mut ch = StringDictionaryBuilder::<Int32Type>::new();
    for c in ["mto", "wallet", "card"] {
        ch.append_value(c);
    }
    let cols: Vec<(&str, DataType, ArrayRef)> = vec![
        ("txn_id", DataType::Utf8, text(["A", "B", "C"])),
        ("timestamp", ts.0, ts.1),
        ("sender_id", DataType::Utf8, text(["S1", "S1", "S2"])),
        ("sender_name", DataType::Utf8, Arc::new(StringArray::from(vec![Some("Jörg"), None, Some("Ana")]))),
        ("sender_country", DataType::Utf8, text(["DE", "DE", "DE"])),
        ("recipient_id", DataType::Utf8, text(["R1", "R1", "M1"])),
        ("recipient_name", DataType::Utf8, text(["Maria", "Maria", "Shop"])),
        ("recipient_country", DataType::Utf8, text(["PH", "PH", "PH"])),
        ("amount", amount.0, amount.1),
        ("currency", DataType::Utf8, text(["EUR", "EUR", "EUR"])),
        ("channel", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), Arc::new(ch.finish())),
        ("reference", DataType::Utf8, Arc::new(StringArray::from(vec![Some("school fees"), None, None]))),
        ("merchant_category", DataType::Int32, Arc::new(Int32Array::from(vec![None, None, Some(742)]))),
    ];
    let schema = Schema::new(cols.iter().map(|(n, t, _)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>());
    RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|c| c.2).collect()).unwrap()
}

fn tstz() -> (DataType, ArrayRef) {
    let a = TimestampMicrosecondArray::from(T.iter().map(|s| s * 1_000_000).collect::<Vec<_>>()).with_timezone("UTC");
    (a.data_type().clone(), Arc::new(a))
}

fn decimal(v: [i128; 3]) -> (DataType, ArrayRef) {
    let mut b = Decimal128Builder::new().with_precision_and_scale(18, 2).unwrap();
    v.iter().for_each(|x| b.append_value(*x));
    (DataType::Decimal128(18, 2), Arc::new(b.finish()))
}

fn write_parquet(b: &RecordBatch, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), None).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
}

fn read(path: &Path, o: &ColumnarOptions) -> (IngestStats, Collect) {
    let mut c = Collect::default();
    let opts = InputOptions { columnar: *o, ..InputOptions::default() };
    let s = read_input(path, &opts, None, &mut c).unwrap();
    assert_eq!(s.read, s.accepted + s.rejected);
    (s, c)
}

fn berlin() -> ColumnarOptions {
    ColumnarOptions { timezone: chrono_tz::Tz::UTC, sender_timezone: Some(chrono_tz::Europe::Berlin) }
}

#[test]
fn parquet_typed_as_duckdb_writes_it_is_read() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("lake.parquet");
    write_parquet(&batch(tstz(), decimal([4500, 1999, 1250])), &p);
    let (s, c) = read(&p, &berlin());
    assert_eq!((s.accepted, s.rejected), (3, 0), "{:?}", c.rejected);
    let r = &c.rows;
    // An instant shown at the sender's Berlin offset, winter and summer.
    assert_eq!(r[0].timestamp.to_rfc3339(), "2025-03-01T22:14:05+01:00");
    assert_eq!(r[1].timestamp.to_rfc3339(), "2025-07-01T22:14:05+02:00");
    assert_eq!((r[0].amount.minor, r[1].amount.minor), (4500, 1999));
    assert_eq!(r[2].merchant_category, Some(742));
    assert_eq!(r[1].channel.as_str(), "wallet");
    assert_eq!(r[1].sender_name, None);
    assert_eq!(r[0].reference.as_deref(), Some("school fees"));
    // Without a sender zone the instant is shown in UTC.
    let (_, c) = read(&p, &ColumnarOptions::default());
    assert_eq!(c.rows[0].timestamp.to_rfc3339(), "2025-03-01T21:14:05+00:00");
}

#[test]
fn wall_clock_timestamps_take_the_zone_and_floats_follow_their_rule() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("naive.parquet");
    // Nanoseconds without a time zone: wall-clock times in Berlin.
    let local = [T[0] + 3600, T[1] + 7200, T[2] + 7200].map(|s| s * 1_000_000_000);
    let ts = TimestampNanosecondArray::from(local.to_vec());
    let floats = Float64Array::from(vec![45.1, 0.1 + 0.2, 12.0]);
    write_parquet(&batch((ts.data_type().clone(), Arc::new(ts)), (DataType::Float64, Arc::new(floats))), &p);
    let o = ColumnarOptions { timezone: chrono_tz::Europe::Berlin, sender_timezone: None };
    let (s, c) = read(&p, &o);
    assert_eq!((s.accepted, s.rejected), (2, 1));
    assert_eq!(c.rows[0].timestamp.to_rfc3339(), "2025-03-01T22:14:05+01:00");
    assert_eq!(c.rows[0].amount.minor, 4510, "45.1 is 45.10");
    assert_eq!(c.rows[1].amount.minor, 1200);
    assert_eq!(c.rejected[0].location.position, "row 2");
    assert!(c.rejected[0].reason.contains("0.30000000000000004"), "{}", c.rejected[0].reason);
}

#[test]
fn arrow_ipc_files_are_read_like_parquet() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("lake.arrow");
    let b = batch(tstz(), decimal([4500, 1999, 1250]));
    let f = std::fs::File::create(&p).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(f, &b.schema()).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    let (s, c) = read(&p, &berlin());
    assert_eq!((s.accepted, s.rejected), (3, 0), "{:?}", c.rejected);
    assert_eq!(c.rows[0].timestamp.to_rfc3339(), "2025-03-01T22:14:05+01:00");
}

#[test]
fn an_unsupported_column_type_is_refused_naming_the_column_and_what_is_supported() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bool.parquet");
    let flags = BooleanArray::from(vec![true, false, true]);
    write_parquet(&batch(tstz(), (DataType::Boolean, Arc::new(flags))), &p);
    let mut c = Collect::default();
    let e = read_input(&p, &InputOptions::default(), None, &mut c).unwrap_err().to_string();
    assert!(e.contains("column `amount` is Boolean") && e.contains("DECIMAL, integers or floats"), "{e}");
}

#[test]
fn a_directory_of_hive_partitions_expands_in_path_order() {
    let d = tempfile::tempdir().unwrap();
    for day in ["dt=2025-03-02", "dt=2025-03-01"] {
        std::fs::create_dir_all(d.path().join(day)).unwrap();
        write_parquet(&batch(tstz(), decimal([1, 2, 3])), &d.path().join(day).join("part-0.parquet"));
    }
    std::fs::write(d.path().join("_SUCCESS"), "").unwrap();
    let files = expand_input(d.path()).unwrap().unwrap();
    let names: Vec<String> = files.iter().map(|f| f.strip_prefix(d.path()).unwrap().display().to_string()).collect();
    assert_eq!(names, ["dt=2025-03-01/part-0.parquet", "dt=2025-03-02/part-0.parquet"]);
    let pattern = d.path().join("dt=*/part-*.parquet");
    assert_eq!(expand_input(&pattern).unwrap().unwrap(), files);
    assert!(expand_input(&d.path().join("dt=2025-03-01/part-0.parquet")).unwrap().is_none());
    let e = expand_input(&d.path().join("nothing-*.parquet")).unwrap_err().to_string();
    assert!(e.contains("names no payment files"), "{e}");
}

/// The columnar fast path parses coded values once per run of the same value and checks ids
/// from the views alone: every row it cannot take must still get the explaining reader's
/// verdict. The same rows as CSV and as text Parquet give the same rows and the same reasons,
/// row by row, including a bad value right after a run of good ones and values too long to
/// sit inside a view.
#[test]
fn the_columnar_fast_path_agrees_with_csv_row_by_row() {
    let good =
        ["TX1", "2025-03-01T22:14:05+01:00", "S1", "Jörg", "DE", "R1", "Maria", "PH", "45.00", "EUR", "mto", "", ""];
    let mut rows: Vec<[String; 13]> = Vec::new();
    let mut add = |edit: &dyn Fn(&mut [String; 13])| {
        let mut r = good.map(String::from);
        r[0] = format!("TX{}", rows.len() + 1);
        edit(&mut r);
        rows.push(r);
    };
    for _ in 0..3 {
        add(&|_| {});
    }
    add(&|r| r[4] = "de".into()); // a lowercase country after a run of `DE`
    add(&|_| {});
    add(&|r| r[0] = String::new()); // no transaction id
    add(&|r| r[2] = " S1".into()); // an id that starts with a space
    add(&|r| r[5] = "\tR1".into());
    add(&|r| r[10] = "bank_transfer".into()); // 13 bytes: not inside the view
    add(&|r| r[10] = "bank_transfers".into());
    add(&|r| r[10] = "Card".into());
    add(&|r| r[9] = "EURO".into());
    add(&|r| r[9] = "XXQ".into());
    add(&|r| r[7] = "PHL".into());
    add(&|r| r[8] = "0.00".into());
    add(&|r| r[8] = "12.345".into());
    add(&|r| r[12] = "12345".into());
    add(&|r| r[6] = "x".repeat(300)); // a name over its limit
    add(&|r| r[2] = "S".repeat(257));
    add(&|r| r[1] = "2025-03-01 22:14:05".into());
    add(&|_| {});
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("rows.csv");
    let mut text = osecwatch_model::CANONICAL_COLUMNS.join(",") + "\n";
    for r in &rows {
        text += &(r.join(",") + "\n");
    }
    std::fs::write(&csv, text).unwrap();
    let pq = d.path().join("rows.parquet");
    let cols: Vec<ArrayRef> = (0..13)
        .map(|c| Arc::new(StringArray::from(rows.iter().map(|r| r[c].as_str()).collect::<Vec<_>>())) as ArrayRef)
        .collect();
    let fields: Vec<Field> =
        osecwatch_model::CANONICAL_COLUMNS.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect();
    write_parquet(&RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap(), &pq);
    let (cs, cc) = read(&csv, &ColumnarOptions::default());
    let (ps, pc) = read(&pq, &ColumnarOptions::default());
    assert_eq!((ps.accepted, ps.rejected), (cs.accepted, cs.rejected));
    // Some rows of each kind, so that the comparison means something.
    assert!(cs.accepted >= 6 && cs.rejected >= 12, "{cs:?}");
    assert_eq!(pc.rows, cc.rows);
    let why = |c: &Collect| c.rejected.iter().map(|r| r.reason.clone()).collect::<Vec<_>>();
    assert_eq!(why(&pc), why(&cc));
}
