//! The binary's user-facing behaviour: subcommands, errors and exit codes.

use std::process::Command;

fn osecwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_osecwatch"))
}

#[test]
fn simulate_writes_the_world_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--customers", "800", "--months", "2", "--quiet", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("payments") && stdout.contains("OSEC"), "{stdout}");
    for f in ["transactions.csv", "txn_labels.csv", "entity_labels.csv", "scenario.toml", "summary.json"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // The written scenario reproduces the world.
    let sc = dir.path().join("scenario.toml");
    let again = tempfile::tempdir().unwrap();
    let out2 = osecwatch()
        .args(["simulate", "--quiet", "--scenario"])
        .arg(&sc)
        .arg("--out")
        .arg(again.path())
        .output()
        .unwrap();
    assert!(out2.status.success(), "{}", String::from_utf8_lossy(&out2.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("transactions.csv")).unwrap(),
        std::fs::read(again.path().join("transactions.csv")).unwrap()
    );
}

#[test]
fn bad_scenarios_and_flags_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "extends = \"small\"\n[buyers]\nnight_share = 2.0\n").unwrap();
    let out = osecwatch()
        .args(["simulate", "--quiet", "--scenario"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("buyers.night_share") && err.contains("between 0 and 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = osecwatch().args(["simulate", "--scenario", "no-such-preset", "--out"]).arg(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("no-such-preset") && err.contains("small"), "{err}");

    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--format", "xlsx", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parquet"));

    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--months", "0", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("institution.months"));
}

#[test]
fn scenarios_lists_the_presets() {
    let out = osecwatch().arg("scenarios").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for p in ["default", "small", "mimic", "diaspora-heavy"] {
        assert!(s.contains(p), "{s}");
    }
}

/// `osecwatch scan --quiet [extra...] --rules <pack> --input <tx> --out <dir>`
fn scan(extra: &[&str], pack: &std::path::Path, tx: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    osecwatch()
        .args(["scan", "--quiet"])
        .args(extra)
        .arg("--rules")
        .arg(pack)
        .arg("--input")
        .arg(tx)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The `small` world, simulated into `dir/w`.
fn small_world(dir: &std::path::Path) -> std::path::PathBuf {
    let world = dir.join("w");
    assert!(osecwatch()
        .args(["simulate", "--scenario", "small", "--quiet", "--out"])
        .arg(&world)
        .status()
        .unwrap()
        .success());
    world
}

fn rules(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules").join(name)
}

#[test]
fn scan_writes_alerts_quarantine_and_a_reconciled_summary() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("w");
    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--months", "3", "--quiet", "--out"])
        .arg(&world)
        .output()
        .unwrap();
    assert!(out.status.success());
    // Append hostile rows: they must be quarantined, not lost.
    let tx = world.join("transactions.csv");
    let mut text = std::fs::read_to_string(&tx).unwrap();
    text.push_str("BAD1,yesterday,S,,DE,R,,PH,5.00,EUR,mto,,\n");
    text.push_str("BAD2,2025-03-31T23:00:00+02:00,S,,DE,R,,PH,5.00,ZZZ,mto,,\n");
    text.push_str("BAD3,2025-01-01T00:00:00+01:00,S,,DE,R,,PH,5.00,EUR,mto,,\n"); // out of order
    std::fs::write(&tx, text).unwrap();
    let scan_dir = dir.path().join("scan");
    let out = scan(&[], &rules("osec.toml"), &tx, &scan_dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OSEC-BUYER"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scan_dir.join("scan_summary.json")).unwrap()).unwrap();
    let (read, acc, rej) = (
        summary["read"].as_u64().unwrap(),
        summary["accepted"].as_u64().unwrap(),
        summary["rejected"].as_u64().unwrap(),
    );
    assert_eq!(read, acc + rej);
    assert_eq!(rej, 3);
    let q = std::fs::read_to_string(scan_dir.join("quarantine.csv")).unwrap();
    assert!(q.contains("timestamp") && q.contains("ZZZ") && q.contains("out of time order"), "{q}");
    let lines = read as usize + 1;
    assert!(q.contains(&format!("line {}", lines - 2)) && q.contains(&format!("line {lines}")), "{q}");
    let alerts = std::fs::read_to_string(scan_dir.join("alerts.jsonl")).unwrap();
    assert!(!alerts.is_empty());
    for l in alerts.lines() {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in [
            "alert_id",
            "entity_type",
            "entity_id",
            "score",
            "decision",
            "typologies",
            "reasons",
            "raised_at",
            "txn_ids",
        ] {
            assert!(a.get(k).is_some(), "alert without {k}: {l}");
        }
    }
    // The number of CSV threads changes nothing but the speed.
    for threads in ["1", "3"] {
        let other = dir.path().join(format!("scan-t{threads}"));
        assert!(scan(&["--threads", threads], &rules("osec.toml"), &tx, &other).status.success());
        for f in ["alerts.jsonl", "scores.jsonl", "quarantine.csv"] {
            assert_eq!(
                std::fs::read(scan_dir.join(f)).unwrap(),
                std::fs::read(other.join(f)).unwrap(),
                "{f} with --threads {threads}"
            );
        }
    }
    // With a reorder window the late row is placed instead of quarantined.
    let out = scan(&["--reorder-window", "99999999"], &rules("osec.toml"), &tx, &scan_dir);
    assert!(out.status.success());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scan_dir.join("scan_summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rejected"].as_u64(), Some(2));
    // A broken rule file is an error naming the rule.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(rules("osec.toml"))
            .unwrap()
            .replace("sender.night_share_90d >= 0.5", "sender.nite >= 0.5"),
    )
    .unwrap();
    let out = scan(&[], &bad, &tx, &scan_dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("R-OSEC-05") && err.contains("sender.nite"), "{err}");
}

#[test]
fn convert_shows_what_osecwatch_understood() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"txn_id":"J1","timestamp":"2025-03-01T22:14:05+01:00","sender_id":"S","sender_country":"DE","recipient_id":"R","recipient_country":"PH","amount":"45.00","currency":"EUR","channel":"wallet"}"#,
            "\n{broken\n"
        ),
    )
    .unwrap();
    for ext in ["csv", "jsonl", "parquet"] {
        let out_file = dir.path().join(format!("out.{ext}"));
        let out = osecwatch().args(["convert", "--input"]).arg(&input).arg("--out").arg(&out_file).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("read 2 = accepted 1 + rejected 1"));
        assert!(out_file.exists());
        let q = std::fs::read_to_string(format!("{}.quarantine.csv", out_file.display())).unwrap();
        assert!(q.contains("line 2") && q.contains("invalid JSON"), "{q}");
    }
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("J1,2025-03-01T22:14:05+01:00,S,,DE,R,,PH,45.00,EUR,wallet,,"));
    let out = osecwatch()
        .args(["convert", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("x.xlsx"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn validate_explains_invalid_iso20022_fixtures() {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/iso20022");
    if !f.is_dir() {
        assert!(
            std::env::var("OSECWATCH_REQUIRE_FIXTURES").map_or(true, |v| v != "1"),
            "fixtures required but missing"
        );
        eprintln!("skipping: no shared fixtures");
        return;
    }
    let out = osecwatch()
        .args(["validate", "--xsd-dir"])
        .arg(f.join("xsd"))
        .arg(f.join("pacs008/pacs.008.001.03.xml"))
        .arg(f.join("pacs008/pacs.008.001.08.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("INVALID") && s.contains("'BIC'") && s.contains("BICFI") && s.contains("valid    "), "{s}");
}

#[test]
fn eval_and_tune_judge_a_scan_against_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let world = small_world(dir.path());
    let tx = world.join("transactions.csv");
    for pack in ["osec", "baseline"] {
        let out = scan(&[], &rules(&format!("{pack}.toml")), &tx, &world.join(format!("scan-{pack}")));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let report = dir.path().join("report.html");
    let json = dir.path().join("eval.json");
    let out = osecwatch()
        .args(["eval", "--world"])
        .arg(&world)
        .arg("--alerts")
        .arg(world.join("scan-osec/alerts.jsonl"))
        .arg("--baseline-alerts")
        .arg(world.join("scan-baseline/alerts.jsonl"))
        .arg("--report")
        .arg(&report)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("osec:") && s.contains("baseline:") && s.contains("recall"), "{s}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let (osec_p, base_p) =
        (v["main"]["buyers"]["precision"].as_f64().unwrap(), v["baseline"]["buyers"]["precision"].as_f64().unwrap());
    assert!(osec_p > base_p, "{osec_p} vs {base_p}");
    assert!(std::fs::read_to_string(&report).unwrap().matches("<svg").count() >= 4);
    let out = osecwatch()
        .args(["tune", "--world"])
        .arg(&world)
        .arg("--scores")
        .arg(world.join("scan-osec/scores.jsonl"))
        .args(["--budget", "100"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && s.contains("review threshold"), "{s}");
    let out = osecwatch()
        .args(["tune", "--world"])
        .arg(&world)
        .arg("--scores")
        .arg(world.join("scan-osec/scores.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "tune without a target must fail");
}

/// `osecwatch network`: the scan's outputs plus the graph, the hubs and the seeds report. A
/// facilitator confirmed elsewhere makes each of its payers an alert at its payment;
/// unknown and malformed seed lines are reported by line, the rest used.
#[test]
fn network_exports_the_graph_and_propagates_from_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("w");
    let out = osecwatch().args(["simulate", "--scenario", "small", "--quiet", "--out"]).arg(&world).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The world's facilitator with the most unrelated payers (ground truth and payments);
    // relatives (by surname) who send it family money are not suspects.
    let labels = std::fs::read_to_string(world.join("entity_labels.csv")).unwrap();
    let facilitators: Vec<&str> = labels
        .lines()
        .filter(|l| l.contains(",facilitator,facilitator,"))
        .filter_map(|l| l.split(',').next())
        .collect();
    let txns = std::fs::read_to_string(world.join("transactions.csv")).unwrap();
    let surname = |name: &str| name.split_whitespace().last().unwrap_or("").to_lowercase();
    let payers_of = |fac: &str| {
        let (mut payers, mut relatives) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
        for f in txns.lines().map(|l| l.split(',').collect::<Vec<_>>()).filter(|f| f[5] == fac) {
            let set = if surname(f[3]) == surname(f[6]) { &mut relatives } else { &mut payers };
            set.insert(f[2].to_string());
        }
        (payers, relatives)
    };
    let fac = facilitators.iter().max_by_key(|f| (payers_of(f).0.len(), **f)).unwrap().to_string();
    let (payers, relatives) = payers_of(&fac);
    assert!(payers.len() >= 2, "{fac}: {payers:?}");
    let seeds = dir.path().join("seeds.csv");
    std::fs::write(&seeds, format!("entity_id,role\n{fac},facilitator\nNOBODY-1,buyer\n,buyer\nX,sponsor\na,b,c\n"))
        .unwrap();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/osec.toml");
    let outdir = dir.path().join("net");
    let out = osecwatch()
        .args(["network", "--quiet", "--input"])
        .arg(world.join("transactions.csv"))
        .arg("--rules")
        .arg(&rules)
        .arg("--seeds")
        .arg(&seeds)
        .arg("--out")
        .arg(&outdir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 used, 1 unknown") && stdout.contains("3 malformed"), "{stdout}");
    // Every unrelated payer of the confirmed facilitator has an alert; the seed rule is the
    // reason wherever it is the strongest evidence. No relative is alerted for it.
    let alerts = std::fs::read_to_string(outdir.join("alerts.jsonl")).unwrap();
    let alerted: Vec<serde_json::Value> = alerts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seed_reason = |a: &serde_json::Value| {
        a["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("confirmed as a facilitator elsewhere"))
    };
    for p in &payers {
        assert!(alerted.iter().any(|a| a["entity_id"] == p.as_str()), "unrelated payer {p} of seed {fac} has no alert");
    }
    assert!(alerted.iter().any(|a| a["entity_type"] == "sender" && seed_reason(a)));
    for r in &relatives {
        assert!(
            !alerted.iter().any(|a| a["entity_id"] == r.as_str() && seed_reason(a)),
            "relative {r} alerted for the seed"
        );
    }
    assert!(alerted.iter().any(|a| a["entity_id"] == fac.as_str() && a["entity_type"] == "recipient"));
    // The seeds report names each line.
    let mut r = csv::Reader::from_path(outdir.join("seeds.csv")).unwrap();
    let report: Vec<Vec<String>> = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    let row = |line: &str| report.iter().find(|x| x[0] == line).unwrap_or_else(|| panic!("line {line}: {report:?}"));
    assert_eq!(row("2")[1..], [fac.clone(), "facilitator".into(), "used, alerted".into()]);
    assert_eq!(row("3")[1..3], ["NOBODY-1".to_string(), "buyer".into()]);
    assert!(row("3")[3].starts_with("unknown"));
    assert_eq!(row("4")[3], "malformed: empty entity_id");
    assert!(row("5")[3].starts_with("malformed: role `sponsor`"), "{:?}", row("5"));
    assert!(row("6")[3].starts_with("malformed: 3 fields"), "{:?}", row("6"));
    assert_eq!(report.len(), 5, "the header line is skipped, every other line reported");
    // The graph is well-formed GraphML whose every edge joins two declared nodes.
    let graph = std::fs::read_to_string(outdir.join("graph.graphml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&graph);
    let (mut nodes, mut edges) = (std::collections::HashSet::new(), Vec::new());
    loop {
        match reader.read_event().expect("well-formed GraphML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match e.name().as_ref() {
                    b"node" => {
                        nodes.insert(attr(b"id").unwrap());
                    }
                    b"edge" => edges.push((attr(b"source").unwrap(), attr(b"target").unwrap())),
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert!(!edges.is_empty() && nodes.len() > 10);
    assert!(edges.iter().all(|(s, t)| nodes.contains(s) && nodes.contains(t)));
    assert!(edges.iter().any(|(_, t)| *t == format!("r:{fac}")));
    // Hubs: most payers first.
    let hubs = std::fs::read_to_string(outdir.join("hubs.csv")).unwrap();
    let counts: Vec<u32> = hubs.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(!counts.is_empty() && counts.windows(2).all(|w| w[0] >= w[1]), "{hubs}");
    for f in ["networks.jsonl", "scores.jsonl", "quarantine.csv", "scan_summary.json"] {
        assert!(outdir.join(f).exists(), "{f}");
    }
    // One picture per network record, named by its id, and nothing else in the folder.
    let ids: std::collections::BTreeSet<String> = std::fs::read_to_string(outdir.join("networks.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["network_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ids.is_empty());
    let pictures: std::collections::BTreeSet<String> = std::fs::read_dir(outdir.join("networks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".svg").to_string())
        .collect();
    assert_eq!(pictures, ids);
}

/// `scan --customers`: the simulator's customer file links the accounts of customers who
/// moved; a malformed line is named with its line and reason and the rest are used; alerts
/// differ from a scan without the file only on linked accounts or through the network.
#[test]
fn scan_with_a_customer_file_links_accounts_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let world = small_world(dir.path());
    let customers = world.join("customers.csv");
    let mut text = std::fs::read_to_string(&customers).unwrap();
    let good = text.lines().count() as u64 - 1;
    // An empty account id, the line otherwise well formed (as many fields as the header).
    let cols = text.lines().next().unwrap().split(',').count();
    text.push_str(&format!(",CU1,Nobody,DE{}\n", ",".repeat(cols - 4)));
    std::fs::write(&customers, &text).unwrap();
    let tx = world.join("transactions.csv");
    let with = dir.path().join("with");
    let extra = ["--customers", customers.to_str().unwrap()];
    let out = scan(&extra, &rules("osec.toml"), &tx, &with);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("customer file: read") && stdout.contains("rejected 1"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(with.join("scan_summary.json")).unwrap()).unwrap();
    let c = &summary["customer_file"];
    assert_eq!((c["read"].as_u64(), c["used"].as_u64()), (Some(good + 1), Some(good)));
    assert_eq!(c["rejected"][0]["line"].as_u64(), Some(good + 2));
    assert!(c["rejected"][0]["reason"].as_str().unwrap().contains("account_id: empty"));
    assert!(c["linked_customers"].as_u64().unwrap() >= 10, "{c}");
    // Without the file: no R-OSEC-LINK alert, and every alert that differs is on an
    // account of a customer with several accounts.
    let without = dir.path().join("without");
    assert!(scan(&[], &rules("osec.toml"), &tx, &without).status.success());
    let ids = |d: &std::path::Path| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(d.join("alerts.jsonl")).unwrap().lines().map(String::from).collect()
    };
    let (a, b) = (ids(&with), ids(&without));
    assert!(b.iter().all(|l| !l.contains("R-OSEC-LINK")));
    let linked: std::collections::HashSet<String> = {
        let mut per: std::collections::HashMap<String, Vec<String>> = Default::default();
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            per.entry(f[1].to_string()).or_default().push(f[0].to_string());
        }
        per.into_values().filter(|v| v.len() >= 2).flatten().collect()
    };
    for l in a.symmetric_difference(&b) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let id = v["entity_id"].as_str().unwrap();
        // Elsewhere only through the network: a recipient two of whose payers are one
        // customer has fewer risky payers, and so do its other payers' network features.
        let network = v["typologies"].as_array().unwrap().iter().any(|r| {
            let r = r.as_str().unwrap();
            r == "R-OSEC-10" || r.starts_with("R-OSEC-NET")
        });
        assert!(v["entity_type"] == "recipient" || linked.contains(id) || network, "{l}");
    }
}

/// One row dated 9999, one dated year 1 and one half a year ahead, in the middle of a
/// time-ordered file: each is quarantined itself (with its reason), every other row is
/// screened, and the alerts are those of the file without them.
#[test]
fn a_row_far_in_the_future_or_past_is_quarantined_itself_not_the_rows_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("w");
    assert!(osecwatch()
        .args(["simulate", "--scenario", "small", "--months", "3", "--quiet", "--out"])
        .arg(&world)
        .status()
        .unwrap()
        .success());
    let tx = world.join("transactions.csv");
    let text = std::fs::read_to_string(&tx).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mid = lines.len() / 2;
    let hostile = [
        "H9999,9999-12-31T23:59:59+00:00,S,,DE,R,,PH,5.00,EUR,mto,,",
        "H0001,0001-01-01T00:00:00+00:00,S,,DE,R,,PH,5.00,EUR,mto,,",
        "HAHEAD,2025-12-31T23:00:00+01:00,S,,DE,R,,PH,5.00,EUR,mto,,",
    ];
    let mut with = lines[..mid].to_vec();
    with.extend(hostile);
    with.extend(&lines[mid..]);
    let bad = dir.path().join("hostile.csv");
    std::fs::write(&bad, with.join("\n") + "\n").unwrap();
    let (clean_out, bad_out) = (dir.path().join("clean"), dir.path().join("bad"));
    assert!(scan(&[], &rules("osec.toml"), &tx, &clean_out).status.success());
    let out = scan(&[], &rules("osec.toml"), &bad, &bad_out);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bad_out.join("scan_summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rejected"], 3, "{summary}");
    assert_eq!(summary["read"].as_u64().unwrap() as usize, lines.len() - 1 + 3);
    let q = std::fs::read_to_string(bad_out.join("quarantine.csv")).unwrap();
    for (line, why) in [(mid + 1, "future"), (mid + 2, "earliest"), (mid + 3, "ahead of the latest payment")] {
        let row = q.lines().find(|l| l.contains(&format!("line {line}"))).unwrap_or_else(|| panic!("line {line}: {q}"));
        assert!(row.contains(why), "{row}");
    }
    let read = |d: &std::path::Path| std::fs::read_to_string(d.join("alerts.jsonl")).unwrap();
    assert!(!read(&clean_out).is_empty());
    assert_eq!(read(&clean_out), read(&bad_out), "the hostile rows changed other customers' alerts");
}
