//! Cases end to end with the real binary: alerts from a scan into cases, users and four
//! eyes, a goAML STR checked against the structure schema, dispositions into eval, on SQLite
//! and on PostgreSQL; and the same over HTTP on the running service, with concurrent
//! analysts, the live alert feed and the hold after an approved report.

mod common;
use common::*;
use std::process::Command;

fn pg_url() -> String {
    std::env::var("OSECWATCH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn case_flow(db: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (w, s) = world(dir.path());
    // Two malformed lines among the alerts: quarantined with line and reason.
    let alerts = dir.path().join("alerts.jsonl");
    let mut text = std::fs::read_to_string(s.join("alerts.jsonl")).unwrap();
    let good = text.lines().count();
    text.push_str("{\"alert_id\": \"AL-x\"\n");
    text.push_str(
        &text.lines().next().unwrap().replace("\"sender\"", "\"nobody\"").replace("\"recipient\"", "\"nobody\""),
    );
    text.push('\n');
    std::fs::write(&alerts, &text).unwrap();
    let anna = user(&data, db, "anna", "analyst");
    let sven = user(&data, db, "sven", "supervisor");
    let erika = user(&data, db, "erika", "admin");
    let out = ok(
        &[
            "cases",
            "import",
            "--alerts",
            alerts.to_str().unwrap(),
            "--transactions",
            w.join("transactions.csv").to_str().unwrap(),
            "--customers",
            w.join("customers.csv").to_str().unwrap(),
            "--counterparties",
            w.join("counterparties.csv").to_str().unwrap(),
        ],
        &data,
        db,
        None,
    );
    assert!(out.contains(&format!("alerts: {} read = {good} filed + 2 quarantined", good + 2)), "{out}");
    let q = std::fs::read_to_string(dir.path().join("alerts_quarantine.csv")).unwrap();
    assert!(q.contains(&format!(",{},not an alert", good + 1)), "{q}");
    assert!(q.contains(&format!(",{},\"entity_type must be sender or recipient", good + 2)), "{q}");
    // One case per entity.
    let entities: std::collections::HashSet<(String, String)> = std::fs::read_to_string(s.join("alerts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v = json(l);
            (v["entity_type"].as_str().unwrap().to_string(), v["entity_id"].as_str().unwrap().to_string())
        })
        .collect();
    let (good_run, _, err) = run(&["cases", "list"], &data, db, None);
    assert!(!good_run && err.contains("OSECWATCH_TOKEN"), "reading needs a user: {err}");
    let page = json(&ok(&["cases", "list", "--json", "--limit", "100"], &data, db, Some(&anna)));
    assert_eq!(page["total"].as_u64().unwrap() as usize, entities.len());
    let cases = page["cases"].as_array().unwrap();
    let prio: Vec<f64> = cases.iter().map(|c| c["priority"].as_f64().unwrap()).collect();
    assert!(prio.windows(2).all(|p| p[0] >= p[1]), "by priority: {prio:?}");
    let top = cases[0]["case_id"].as_str().unwrap().to_string();
    let detail = json(&ok(&["cases", "show", &top, "--json"], &data, db, Some(&anna)));
    let n_pay = detail["payments"].as_array().unwrap().len();
    assert!(n_pay > 0, "evidence payments have their details");
    assert!(
        detail["alerts"][0]["rule_pack"].as_str().unwrap().starts_with("osec@"),
        "alerts name their pack and version"
    );

    // The STR: German profile, structure schema, every payment reported.
    let xml = dir.path().join("str.xml");
    let inst = root().join("examples/institution.toml");
    let xsd = root().join("crates/goaml/tests/xsd/structure.xsd");
    let out = ok(
        &[
            "cases",
            "report",
            &top,
            "--profile",
            "de",
            "--institution",
            inst.to_str().unwrap(),
            "--xsd",
            xsd.to_str().unwrap(),
            "--out",
            xml.to_str().unwrap(),
        ],
        &data,
        db,
        Some(&anna),
    );
    assert!(out.contains("DRAFT until a different supervisor approves it"), "{out}");
    let x = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(x.matches("<transaction>").count(), n_pay);
    assert!(x.contains(&format!("<entity_reference>{top}</entity_reference>")));
    let rid = json(&ok(&["cases", "show", &top, "--json"], &data, db, Some(&anna)))["reports"][0]["report_id"]
        .as_str()
        .unwrap()
        .to_string();
    // An unknown indicator code names the code and the profile.
    let edits = dir.path().join("edits.json");
    std::fs::write(&edits, r#"{"indicators": ["XYZ"]}"#).unwrap();
    let (good_run, _, err) = run(
        &[
            "cases",
            "report",
            &top,
            "--profile",
            "de",
            "--edits",
            edits.to_str().unwrap(),
            "--out",
            xml.to_str().unwrap(),
        ],
        &data,
        db,
        Some(&anna),
    );
    assert!(!good_run && err.contains("XYZ") && err.contains("built-in de"), "{err}");
    // Four eyes: the analyst cannot approve; the supervisor can.
    let (good_run, _, err) = run(&["cases", "approve", &top, "--report", &rid], &data, db, Some(&anna));
    assert!(!good_run && err.contains("supervisor"), "{err}");
    ok(&["cases", "approve", &top, "--report", &rid, "--profile", "de"], &data, db, Some(&sven));
    // The FIU's answer file, recorded on the approved report.
    let answers = dir.path().join("answers.csv");
    std::fs::write(
        &answers,
        format!("entity_reference,fiu_reference,status\n{top},FIU-2025-001,Accepted\nC-404,FIU-2,Accepted\n"),
    )
    .unwrap();
    let said = ok(&["cases", "fiu-answers", "--file", answers.to_str().unwrap()], &data, db, Some(&anna));
    assert!(said.contains("read 2 = recorded 1 + rejected 1") && said.contains("line 3: case C-404"), "{said}");
    let shown = json(&ok(&["cases", "show", &top, "--json"], &data, db, Some(&anna)));
    assert_eq!(shown["reports"][0]["fiu_ref"], "FIU-2025-001");
    assert_eq!(shown["reports"][0]["fiu_status"], "acknowledged");
    // An admin who drafts cannot approve their own draft, with a second token either.
    let second = cases[1]["case_id"].as_str().unwrap().to_string();
    let out2 = ok(
        &[
            "cases",
            "report",
            &second,
            "--profile",
            "generic",
            "--institution",
            inst.to_str().unwrap(),
            "--out",
            dir.path().join("s2.xml").to_str().unwrap(),
        ],
        &data,
        db,
        Some(&erika),
    );
    assert!(out2.contains("drafted by erika"), "{out2}");
    let rid2 = json(&ok(&["cases", "show", &second, "--json"], &data, db, Some(&erika)))["reports"][0]["report_id"]
        .as_str()
        .unwrap()
        .to_string();
    let erika2 = ok(&["users", "token", "erika"], &data, db, None).lines().nth(1).unwrap().trim().to_string();
    assert_ne!(erika, erika2);
    let (good_run, _, err) = run(&["cases", "approve", &second, "--report", &rid2], &data, db, Some(&erika2));
    assert!(!good_run && err.contains("four eyes"), "{err}");

    // A false positive, exported and compared with the ground truth.
    let third = &cases[2];
    let (id3, v3) = (third["case_id"].as_str().unwrap(), third["version"].as_i64().unwrap().to_string());
    let (good_run, _, err) =
        run(&["cases", "close", id3, "--version", &v3, "--disposition", "false_positive"], &data, db, Some(&anna));
    assert!(!good_run && err.contains("needs a reason"), "{err}");
    ok(
        &["cases", "close", id3, "--version", &v3, "--disposition", "false_positive", "--reason", "pays family"],
        &data,
        db,
        Some(&anna),
    );
    let stale = run(&["cases", "assign", id3, "--version", &v3, "--to", "anna"], &data, db, Some(&anna));
    assert!(!stale.0 && stale.2.contains("changed since you read it") && stale.2.contains("closed"), "{}", stale.2);
    let disp = dir.path().join("dispositions.jsonl");
    ok(&["cases", "export-dispositions", "--out", disp.to_str().unwrap()], &data, db, Some(&anna));
    assert_eq!(std::fs::read_to_string(&disp).unwrap().lines().count(), 1);
    let o = bin().args(["eval", "--world"]).arg(&w).arg("--dispositions").arg(&disp).output().unwrap();
    let e = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && e.contains("(1 cases)") && e.contains("false_positive on "), "{e}");
    // Re-importing the same alerts changes nothing; the chain holds.
    let again = ok(&["cases", "import", "--alerts", s.join("alerts.jsonl").to_str().unwrap()], &data, db, None);
    assert!(again.contains("0 opened") && again.contains(&format!("{good} unchanged")), "{again}");
    assert!(ok(&["cases", "audit-verify"], &data, db, None).contains("intact"));
}

#[test]
fn from_scan_to_an_approved_str_on_sqlite() {
    case_flow(&[]);
}

#[test]
fn from_scan_to_an_approved_str_on_postgres() {
    let schema = format!("cli_{}", std::process::id());
    case_flow(&["--db".into(), pg_url(), "--db-schema".into(), schema.clone()]);
    let _ = Command::new("psql").args([&pg_url(), "-qc", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")]).output();
}

#[test]
fn a_report_without_kyc_is_refused_naming_every_missing_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (w, s) = world(dir.path());
    let anna = user(&data, &[], "anna", "analyst");
    ok(
        &[
            "cases",
            "import",
            "--alerts",
            s.join("alerts.jsonl").to_str().unwrap(),
            "--transactions",
            w.join("transactions.csv").to_str().unwrap(),
        ],
        &data,
        &[],
        None,
    );
    let page = json(&ok(&["cases", "list", "--json", "--state", "open"], &data, &[], Some(&anna)));
    let sender_case = page["cases"].as_array().unwrap().iter().find(|c| c["entity_type"] == "sender").unwrap()
        ["case_id"]
        .as_str()
        .unwrap()
        .to_string();
    let xml = dir.path().join("r.xml");
    let (good, _, err) =
        run(&["cases", "report", &sender_case, "--out", xml.to_str().unwrap()], &data, &[], Some(&anna));
    assert!(!good, "not fileable");
    for field in
        ["rentity_id", "birthdate is required", "ssn", "occupation", "to_account.swift or institution_code is required"]
    {
        assert!(err.contains(field), "{field} not named in:\n{err}");
    }
    assert!(err.contains("NOT fileable"), "{err}");
    assert!(xml.exists(), "the draft is written for review");
}

fn post(s: &Server, path: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let (c, b) = s.req("POST", path, Some(token), "application/json", body.as_bytes());
    (c, serde_json::from_str(&b).unwrap_or(serde_json::Value::String(b)))
}

#[test]
fn cases_over_http_with_the_live_feed_concurrent_analysts_and_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (w, _) = world(dir.path());
    let anna = user(&data, &[], "anna", "analyst");
    let bert = user(&data, &[], "bert", "analyst");
    let sven = user(&data, &[], "sven", "supervisor");
    let inst = root().join("examples/institution.toml");
    let s = Server::start_with(
        &data,
        &["--cases-feed-secs".as_ref(), "1".as_ref(), "--institution".as_ref(), inst.as_os_str()],
    );
    let csv = std::fs::read(w.join("transactions.csv")).unwrap();
    let (c, _) = s.req("POST", "/v1/transactions", Some(INGEST), "text/csv", &csv);
    assert_eq!(c, 200);
    // The feed files the engine's alerts into cases: one case per alerted entity.
    let (_, alerts) = s.get("/v1/alerts?limit=1000", Some(READ));
    let distinct: std::collections::HashSet<String> = json(&alerts)["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}:{}", a["entity_type"].as_str().unwrap(), a["entity_id"].as_str().unwrap()))
        .collect();
    assert!(!distinct.is_empty());
    let mut total = 0;
    for _ in 0..120 {
        let (c, b) = s.get("/v1/cases?limit=500", Some(&anna));
        assert_eq!(c, 200, "{b}");
        total = json(&b)["total"].as_u64().unwrap();
        if total as usize >= distinct.len() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(total as usize, distinct.len(), "one case per alerted entity");
    // Tokens without a user, or without the scope, do no case work.
    assert_eq!(s.get("/v1/cases", Some(ADMIN)).0, 403);
    assert_eq!(s.get("/v1/cases", Some(READ)).0, 403);
    assert_eq!(s.get("/v1/cases", None).0, 401);
    let (_, b) = s.get("/v1/cases?limit=3", Some(&anna));
    let page = json(&b);
    let top = page["cases"][0].clone();
    let id = top["case_id"].as_str().unwrap().to_string();
    let v = top["version"].as_i64().unwrap();
    // Eight analysts assign at once from the same version: one wins, the others get 409
    // with what changed; no update is lost.
    let addr = s.addr.clone();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (addr, id, tok) = (addr.clone(), id.clone(), if i % 2 == 0 { anna.clone() } else { bert.clone() });
            std::thread::spawn(move || {
                let body = format!(r#"{{"action":"assign","version":{v},"to":"user{i}"}}"#);
                http(&addr, "POST", &format!("/v1/cases/{id}"), Some(&tok), "application/json", body.as_bytes())
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 1, "{answers:?}");
    for (c, b) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(*c, 409, "{b}");
        assert_eq!(json(b)["changes"][0]["action"], "assigned");
    }
    the_workbench_draws_a_members_network(&s, &anna);
    let (_, d) = s.get(&format!("/v1/cases/{id}"), Some(&anna));
    let d = json(&d);
    assert!(d["alerts"][0]["rule_pack"].as_str().unwrap().starts_with("osec@"), "{d}");
    assert_eq!(d["version"].as_i64().unwrap(), v + 1);
    // Draft without KYC: problems named; with the customer and beneficiary files: fileable.
    let (c, r) =
        post(&s, &format!("/v1/cases/{id}/report"), &anna, &format!(r#"{{"action":"draft","version":{}}}"#, v + 1));
    assert_eq!(c, 200, "{r}");
    assert!(r["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("birthdate")), "{r}");
    let o = bin()
        .args(["cases", "import", "--data-dir"])
        .arg(&data)
        .arg("--customers")
        .arg(w.join("customers.csv"))
        .arg("--counterparties")
        .arg(w.join("counterparties.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (c, r) = post(
        &s,
        &format!("/v1/cases/{id}/report"),
        &anna,
        &format!(r#"{{"action":"draft","version":{}}}"#, r["version"]),
    );
    assert_eq!(c, 200, "{r}");
    assert_eq!(r["problems"], serde_json::json!([]), "{r}");
    let rid = r["report_id"].as_str().unwrap().to_string();
    let (c, e) =
        post(&s, &format!("/v1/cases/{id}/report"), &anna, &format!(r#"{{"action":"approve","report_id":"{rid}"}}"#));
    assert_eq!(c, 403, "{e}");
    let (c, e) =
        post(&s, &format!("/v1/cases/{id}/report"), &sven, &format!(r#"{{"action":"approve","report_id":"{rid}"}}"#));
    assert_eq!(c, 200, "{e}");
    let (c, xml) = s.req(
        "POST",
        &format!("/v1/cases/{id}/report"),
        Some(&sven),
        "application/json",
        format!(r#"{{"action":"download","report_id":"{rid}"}}"#).as_bytes(),
    );
    assert_eq!(c, 200);
    assert!(xml.contains("<report>") && xml.contains(&format!("<entity_reference>{id}</entity_reference>")));
    // The reported customer's next payment to a reported recipient is held.
    if d["entity_type"] == "sender" {
        let p = &d["payments"][0];
        // Dated at the stream's latest payment, so it is not late.
        let text = String::from_utf8_lossy(&csv).into_owned();
        let last = text.lines().last().unwrap().split(',').nth(1).unwrap().to_string();
        let body = format!(
            r#"{{"txn_id":"HOLD-1","timestamp":"{last}","sender_id":"{}","sender_country":"DE","recipient_id":"{}","recipient_country":"{}","amount":"1.00","currency":"EUR","channel":"bank_transfer"}}"#,
            p["sender_id"].as_str().unwrap(),
            p["recipient_id"].as_str().unwrap(),
            p["recipient_country"].as_str().unwrap()
        );
        let (c, b) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes());
        assert_eq!(c, 200, "{b}");
        let b = json(&b);
        assert_eq!(b["decision"], "block");
        assert!(b["rules"].as_array().unwrap().iter().any(|r| r == "HOLD-STR"), "{b}");
    }
    // A confirmed case becomes a seed in the engine (a logged event).
    let (_, b) = s.get("/v1/cases?state=open&limit=5", Some(&anna));
    let other = json(&b)["cases"].as_array().unwrap().iter().find(|c| c["case_id"] != id.as_str()).unwrap().clone();
    let (c, r) = post(
        &s,
        &format!("/v1/cases/{}", other["case_id"].as_str().unwrap()),
        &anna,
        &format!(r#"{{"action":"close","version":{},"disposition":"confirmed_osec"}}"#, other["version"]),
    );
    assert_eq!(c, 200, "{r}");
    assert!(!r["seed"].is_null(), "{r}");
    let (_, seeds) = s.get("/v1/network/seeds", Some(READ));
    assert!(seeds.contains(other["entity_id"].as_str().unwrap()), "{seeds}");
    // The case reads are in the audit with the user.
    let (_, d2) = s.get(&format!("/v1/cases/{id}"), Some(&sven));
    let tl = json(&d2)["timeline"].as_array().unwrap().clone();
    assert!(tl.iter().any(|r| r["action"] == "read" && r["actor"] == "anna"));
    assert!(tl.iter().any(|r| r["action"] == "report_approved" && r["actor"] == "sven"));
}

/// The workbench draws a case's network from the live engine: a member of a network that has a
/// case shows its ego network on the case page.
fn the_workbench_draws_a_members_network(s: &Server, anna: &str) {
    let (_, nets) = s.get("/v1/networks?limit=1000", Some(READ));
    let members: Vec<String> = json(&nets)["networks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["members"].as_array().unwrap().iter().map(|m| m["entity_id"].as_str().unwrap().to_string()))
        .collect();
    assert!(!members.is_empty(), "the live world has a network");
    let cookie = http_sign_in(&s.addr, anna);
    let cookie = cookie.split(';').next().unwrap().to_string();
    let (_, all) = s.get("/v1/cases?limit=500", Some(anna));
    let all = json(&all);
    let mc = all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| members.contains(&c["entity_id"].as_str().unwrap().to_string()))
        .expect("a network member has a case");
    let path = format!("/ui/cases/{}", mc["case_id"].as_str().unwrap());
    let (code, _, html) = call(&s.addr, "GET", &path, &[("Cookie", &cookie)], "");
    assert_eq!(code, 200);
    assert!(html.contains("<div class=\"network\"><svg"), "the case page draws the network");
}
