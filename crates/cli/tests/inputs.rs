//! Inputs as they come: the built-in pack wherever the binary runs, bank exports through a
//! mapping (the shipped mappings on the simulator's export shapes scan like the canonical
//! file), and what `map check` and `rules check` say.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_osecwatch"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command that must fail: its error output.
fn refused(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Alerts as comparable tuples: who, what, how strong, on which payments.
fn alerts(dir: &Path) -> Vec<(String, String, String, String, String)> {
    let text = std::fs::read_to_string(dir.join("alerts.jsonl")).unwrap();
    let mut v: Vec<_> = text
        .lines()
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| a[k].to_string();
            (s("entity_id"), s("typology"), s("score"), s("decision"), s("txn_ids"))
        })
        .collect();
    v.sort();
    v
}

fn world(dir: &Path) -> PathBuf {
    let w = dir.join("w");
    ok(bin()
        .args(["simulate", "--scenario", "small", "--customers", "1500", "--months", "4", "--seed", "11", "--quiet"])
        .args(["--export-shape", "de-bank-csv,remittance-ledger", "--out"])
        .arg(&w)
        .output()
        .unwrap());
    w
}

#[test]
fn every_command_uses_the_built_in_pack_outside_the_source_tree() {
    let d = tempfile::tempdir().unwrap();
    let w = world(d.path());
    // Run where no rules/ directory exists.
    ok(bin()
        .current_dir(d.path())
        .args(["scan", "--quiet", "--input", "w/transactions.csv", "--out", "a"])
        .output()
        .unwrap());
    ok(bin()
        .args(["scan", "--quiet", "--input"])
        .arg(w.join("transactions.csv"))
        .arg("--rules")
        .arg(root().join("rules/osec.toml"))
        .arg("--out")
        .arg(d.path().join("b"))
        .output()
        .unwrap());
    let a = alerts(&d.path().join("a"));
    assert!(!a.is_empty());
    assert_eq!(a, alerts(&d.path().join("b")), "the built-in pack is rules/osec.toml");
    let shown = ok(bin().args(["rules", "show"]).output().unwrap());
    assert_eq!(shown, std::fs::read_to_string(root().join("rules/osec.toml")).unwrap());
    let baseline = ok(bin().args(["rules", "show", "baseline"]).output().unwrap());
    assert!(baseline.contains("BASELINE"));

    // An edited copy is checked, and a mistake named.
    let copy = d.path().join("mine.toml");
    std::fs::write(&copy, shown.replace("review = 50", "review = 40")).unwrap();
    let said = ok(bin().args(["rules", "check"]).arg(&copy).output().unwrap());
    assert!(said.contains("ok: pack `osec`") && said.contains("review at 40"), "{said}");
    std::fs::write(&copy, shown.replace("sender.night_share_90d >= 0.5", "sender.nite_share_90d >= 0.5")).unwrap();
    let e = refused(bin().args(["rules", "check"]).arg(&copy));
    assert!(e.contains("nite_share_90d"), "{e}");
    let features = ok(bin().args(["rules", "features"]).output().unwrap());
    assert!(features.contains("sender.night_share_90d"));
}

#[test]
fn bank_exports_through_the_shipped_mappings_scan_like_the_canonical_file() {
    let d = tempfile::tempdir().unwrap();
    let w = world(d.path());
    // Both exports keep the time without the sender's own offset (a booking time in Berlin,
    // an instant in UTC), so a customer's card payment abroad reads in Berlin time: the
    // reference is the canonical file with every time re-expressed in Berlin.
    let berlin = d.path().join("berlin.csv");
    in_berlin_time(&w.join("transactions.csv"), &berlin);
    let canon = d.path().join("canon");
    ok(bin().args(["scan", "--quiet", "--input"]).arg(&berlin).arg("--out").arg(&canon).output().unwrap());
    let want = alerts(&canon);
    assert!(!want.is_empty());
    let rows = std::fs::read_to_string(w.join("transactions.csv")).unwrap().lines().count() as u64 - 1;
    for (shape, file, skipped_why) in [
        ("de-bank-csv", "export-de-bank-csv.csv", "incoming (a positive amount)"),
        ("remittance-ledger", "export-remittance-ledger.csv", "`status` is not PAID"),
    ] {
        let map = root().join(format!("mappings/{shape}.toml"));
        let out = d.path().join(shape);
        let input = w.join(file);
        let mapped = |cmd: &[&str], out: &Path| {
            ok(bin()
                .args(cmd)
                .arg("--input")
                .arg(&input)
                .arg("--map")
                .arg(&map)
                .arg("--out")
                .arg(out)
                .output()
                .unwrap())
        };
        let said = mapped(&["scan"], &out);
        assert_eq!(alerts(&out), want, "{shape}: the same alerts as the canonical file");
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("scan_summary.json")).unwrap()).unwrap();
        let (read, accepted, rejected, skipped) = (
            s["read"].as_u64().unwrap(),
            s["accepted"].as_u64().unwrap(),
            s["rejected"].as_u64().unwrap(),
            s["skipped"].as_u64().unwrap(),
        );
        assert_eq!((accepted, rejected), (rows, 0), "{shape}");
        assert!(skipped > 0, "{shape}: the shape holds rows that are not outgoing payments");
        assert_eq!(read, accepted + rejected + skipped);
        assert_eq!(s["skipped_reasons"][skipped_why].as_u64(), Some(skipped), "{shape}: {}", s["skipped_reasons"]);
        assert!(said.contains(&format!("skipped {skipped}")), "{said}");

        let check = ok(bin()
            .args(["map", "check", "--rows", "1", "--map"])
            .arg(&map)
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap());
        assert!(check.contains("timestamp") && check.contains(&format!("accepted {rows}")), "{check}");

        // convert gives the canonical rows back.
        let conv = d.path().join(format!("{shape}.csv"));
        mapped(&["convert"], &conv);
        assert_eq!(std::fs::read_to_string(&conv).unwrap().lines().count() as u64 - 1, rows);
    }
}

/// The canonical file with every timestamp at the Europe/Berlin offset of its instant.
fn in_berlin_time(from: &Path, to: &Path) {
    let mut r = csv::Reader::from_path(from).unwrap();
    let mut w = csv::Writer::from_path(to).unwrap();
    w.write_record(r.headers().unwrap()).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(&rec[1]).unwrap().with_timezone(&chrono_tz::Europe::Berlin);
        let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let fields: Vec<&str> = rec.iter().enumerate().map(|(i, f)| if i == 1 { ts.as_str() } else { f }).collect();
        w.write_record(fields).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn a_mapping_that_does_not_fit_the_file_is_refused_and_bad_rows_are_quarantined() {
    let d = tempfile::tempdir().unwrap();
    let w = world(d.path());
    let shipped = std::fs::read_to_string(root().join("mappings/de-bank-csv.toml")).unwrap();
    let wrong = d.path().join("wrong.toml");
    std::fs::write(&wrong, shipped.replace("column = \"Betrag\"", "column = \"Amount\"")).unwrap();
    let e = refused(
        bin()
            .args(["scan", "--input"])
            .arg(w.join("export-de-bank-csv.csv"))
            .arg("--map")
            .arg(&wrong)
            .arg("--out")
            .arg(d.path().join("x")),
    );
    assert!(e.contains("column `Amount`, which the file does not have") && e.contains("`Betrag`"), "{e}");

    // Dates written another way in a few rows: those rows, and only those, are quarantined.
    let bytes = std::fs::read(w.join("export-de-bank-csv.csv")).unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for l in lines.iter_mut().skip(1).step_by(500) {
        *l = l.replacen(".2025\"", "-2025\"", 1);
    }
    // A credit is skipped before its date is read: only payments out count.
    let changed = lines.iter().filter(|l| l.contains("-2025\"") && !l.contains("Gutschrift")).count() as u64;
    let edited = d.path().join("edited.csv");
    std::fs::write(&edited, encoding_rs::WINDOWS_1252.encode(&(lines.join("\r\n") + "\r\n")).0).unwrap();
    let out = d.path().join("y");
    ok(bin()
        .args(["scan", "--quiet", "--input"])
        .arg(&edited)
        .arg("--map")
        .arg(root().join("mappings/de-bank-csv.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    let q = std::fs::read_to_string(out.join("quarantine.csv")).unwrap();
    let reasons: Vec<&str> = q.lines().skip(1).collect();
    assert_eq!(reasons.len() as u64, changed);
    assert!(
        reasons[0].contains("line 2,")
            && reasons[0].contains("timestamp (columns `Buchungsdatum`, `Uhrzeit`)")
            && reasons[0].contains("%d.%m.%Y"),
        "{}",
        reasons[0]
    );
}

#[test]
fn the_service_screens_a_bank_export_through_a_configured_mapping() {
    let d = tempfile::tempdir().unwrap();
    let w = world(d.path());
    let map = root().join("mappings/de-bank-csv.toml");
    let arg = format!("de={}", map.display());
    let s = common::Server::start_with(&d.path().join("data"), &[std::ffi::OsStr::new("--map"), arg.as_ref()]);
    let bytes = std::fs::read(w.join("export-de-bank-csv.csv")).unwrap();
    // The header and the first 300 bookings, in the export's own encoding.
    let end = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(300).unwrap().0 + 1;
    let body = &bytes[..end];
    let credits = encoding_rs::WINDOWS_1252.decode(body).0.matches("\"Gutschrift\"").count() as u64;
    assert!(credits > 0);
    let (code, text) = s.req("POST", "/v1/transactions?map=de", Some(common::INGEST), "text/csv", body);
    assert_eq!(code, 200, "{text}");
    let v = common::json(&text);
    assert_eq!(v["read"].as_u64(), Some(300));
    assert_eq!(v["skipped"].as_u64(), Some(credits));
    assert_eq!(v["accepted"].as_u64(), Some(300 - credits), "{text}");
    assert_eq!(v["skipped_reasons"]["incoming (a positive amount)"].as_u64(), Some(credits));
    assert_eq!(v["results"][0]["txn_id"], "TX000000000001");
    let (code, text) = s.req("POST", "/v1/transactions?map=nope", Some(common::INGEST), "text/csv", body);
    assert_eq!(code, 422);
    assert!(text.contains("no mapping `nope`") && text.contains("de"), "{text}");
}

#[test]
fn a_partitioned_parquet_dataset_scans_like_one_file_and_overlapping_files_are_an_error() {
    let d = tempfile::tempdir().unwrap();
    let w = world(d.path());
    let text = std::fs::read_to_string(w.join("transactions.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    let parts = [&lines[1..half], &lines[half..]];
    // Two days of a data lake, each written as typed Parquet by `convert`.
    for (name, rows) in [("dt=2025-01-01", parts[0]), ("dt=2025-03-01", parts[1])] {
        let csv = d.path().join(format!("{name}.csv"));
        std::fs::write(&csv, format!("{}\n{}\n", lines[0], rows.join("\n"))).unwrap();
        let out = d.path().join("lake").join(name).join("part-0.parquet");
        ok(bin().args(["convert", "--input"]).arg(&csv).arg("--out").arg(&out).output().unwrap());
    }
    let whole = d.path().join("whole");
    ok(bin()
        .args(["scan", "--quiet", "--input"])
        .arg(w.join("transactions.csv"))
        .arg("--out")
        .arg(&whole)
        .output()
        .unwrap());
    let lake = d.path().join("from-lake");
    ok(bin().args(["scan", "--quiet", "--input"]).arg(d.path().join("lake")).arg("--out").arg(&lake).output().unwrap());
    assert_eq!(alerts(&lake), alerts(&whole), "typed Parquet keeps every record, offsets included");

    // The later half filed under an earlier day: the files overlap in time.
    std::fs::rename(d.path().join("lake/dt=2025-03-01"), d.path().join("lake/dt=2024-12-31")).unwrap();
    let e = refused(
        bin().args(["scan", "--quiet", "--input"]).arg(d.path().join("lake")).arg("--out").arg(d.path().join("x")),
    );
    assert!(e.contains("dt=2025-01-01") && e.contains("overlap in time") && e.contains("--reorder-window"), "{e}");
}
