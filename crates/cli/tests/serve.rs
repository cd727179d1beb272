//! The real server on loopback: every endpoint, every auth failure, bad bodies, batch-vs-API
//! equality, SIGKILL recovery at random moments, and graceful SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::*;

fn pay(id: &str, ts: &str, sender: &str, recipient: &str, amount: &str) -> String {
    format!(
        r#"{{"txn_id":"{id}","timestamp":"{ts}","sender_id":"{sender}","sender_name":"Max {sender}","sender_country":"DE","recipient_id":"{recipient}","recipient_name":"Rosa Lim","recipient_country":"PH","amount":"{amount}","currency":"EUR","channel":"mto"}}"#
    )
}

#[test]
fn every_endpoint_and_every_auth_failure() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    assert_eq!(s.get("/healthz", None).0, 200);
    assert_eq!(s.get("/readyz", None).0, 200);
    let (c, doc) = s.get("/openapi.json", None);
    assert_eq!(c, 200);
    let doc = json(&doc);
    for p in [
        "/v1/screen",
        "/v1/transactions",
        "/v1/iso20022/pacs.008",
        "/v1/alerts",
        "/v1/alerts/{id}",
        "/v1/entities/{id}",
        "/v1/network/seeds",
        "/metrics",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing");
    }
    // Auth: 401 without or with an unknown token, 403 with the wrong scope.
    let body = pay("P1", "2025-03-01T22:00:00+01:00", "S1", "FAC", "40.00");
    assert_eq!(s.req("POST", "/v1/screen", None, "application/json", body.as_bytes()).0, 401);
    assert_eq!(s.req("POST", "/v1/screen", Some("nope-nope-nope-nope"), "application/json", body.as_bytes()).0, 401);
    assert_eq!(s.req("POST", "/v1/screen", Some(READ), "application/json", body.as_bytes()).0, 403);
    assert_eq!(s.req("POST", "/v1/transactions", Some(SCREEN), "application/x-ndjson", body.as_bytes()).0, 403);
    assert_eq!(s.get("/v1/alerts", Some(SCREEN)).0, 403);
    assert_eq!(s.get("/metrics", None).0, 401);
    // Screening.
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes());
    assert_eq!(c, 200, "{r}");
    let r = json(&r);
    assert_eq!(r["decision"], "allow");
    assert_eq!(r["seq"], 1);
    // The same payment again: the first answer, marked as a duplicate, not counted twice.
    let r = json(&s.req("POST", "/v1/screen", Some(ADMIN), "application/json", body.as_bytes()).1);
    assert_eq!((r["duplicate"].as_bool(), r["seq"].as_u64()), (Some(true), Some(1)));
    // Bad bodies name the field and why.
    let bad = body.replace("\"DE\"", "\"XX\"").replace("P1", "P2");
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", bad.as_bytes());
    assert_eq!(c, 422);
    assert!(json(&r)["error"].as_str().unwrap().contains("sender_country"), "{r}");
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", b"{not json");
    assert!(c == 422 && r.contains("invalid JSON"), "{c} {r}");
    let two = format!("{body}\n{body}\n");
    assert_eq!(s.req("POST", "/v1/screen", Some(SCREEN), "application/json", two.as_bytes()).0, 422);
    let huge = vec![b' '; 200_000];
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", &huge);
    assert!(c == 413 && json(&r)["error"].as_str().unwrap().contains("too large"), "{c} {r}");
    let cur = body.replace("EUR", "BIF").replace("P1", "P3");
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", cur.as_bytes());
    assert!(c == 422 && r.contains("BIF"), "{r}");
    // A key given twice: a gateway reading the first value would check another payment.
    let twice = body.replace("P1", "P4").replace(r#""amount":"40.00""#, r#""amount":"40.00","amount":"4000.00""#);
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", twice.as_bytes());
    assert!(c == 422 && r.contains("duplicate key `amount`"), "{c} {r}");
    // A batch builds a common beneficiary: three unrelated senders, each with buyer evidence
    // of its own (small night payments to three unrelated recipients), all paying FAC last.
    let mut lines = Vec::new();
    for (i, sender) in ["S2", "S3", "S4"].iter().enumerate() {
        for (k, recipient) in [format!("R{i}a"), format!("R{i}b"), "FAC".to_string()].iter().enumerate() {
            lines.push(pay(
                &format!("B{i}{k}"),
                &format!("2025-03-{:02}T22:{:02}:00+01:00", 2 + i * 3 + k, k),
                sender,
                recipient,
                "40.00",
            ));
        }
    }
    lines.push("{\"txn_id\": 5}".into());
    let (c, r) = s.req("POST", "/v1/transactions", Some(INGEST), "application/x-ndjson", lines.join("\n").as_bytes());
    assert_eq!(c, 200, "{r}");
    let r = json(&r);
    assert_eq!((r["accepted"].as_u64(), r["rejected"].as_u64(), r["read"].as_u64()), (Some(9), Some(1), Some(10)));
    assert_eq!(r["rejections"][0]["at"], "line 10");
    let csv = "txn_id,timestamp,sender_id,sender_country,recipient_id,recipient_country,amount,currency,channel\nC1,2025-03-15T22:00:00+01:00,S5,DE,FAC,PH,30.00,EUR,wallet\nC2,bad,S5,DE,FAC,PH,30.00,EUR,wallet\n";
    let r = json(&s.req("POST", "/v1/transactions", Some(INGEST), "text/csv", csv.as_bytes()).1);
    assert_eq!((r["accepted"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(1)));
    let xml = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf><GrpHdr><CreDtTm>2025-03-21T22:00:00+01:00</CreDtTm></GrpHdr>
<CdtTrfTxInf><PmtId><UETR>X-1</UETR></PmtId><IntrBkSttlmAmt Ccy="EUR">35.00</IntrBkSttlmAmt><Dbtr><Nm>Eva Sommer</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
<Cdtr><Nm>Rosa Lim</Nm></Cdtr><CdtrAcct><Id><Othr><Id>FAC</Id></Othr></Id></CdtrAcct><CdtrAgt><FinInstnId><BICFI>BOPIPHMM</BICFI></FinInstnId></CdtrAgt></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"#;
    let (c, r) = s.req("POST", "/v1/iso20022/pacs.008", Some(INGEST), "application/xml", xml.as_bytes());
    assert_eq!(c, 200, "{r}");
    assert_eq!(json(&r)["accepted"], 1);
    // Alerts, filtered and paged.
    let (c, r) = s.get("/v1/alerts?limit=1", Some(READ));
    assert_eq!(c, 200, "{r}");
    let r = json(&r);
    assert!(r["total"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["alerts"].as_array().unwrap().len(), 1);
    let id = r["alerts"][0]["alert_id"].as_str().unwrap().to_string();
    let (c, one) = s.get(&format!("/v1/alerts/{id}"), Some(READ));
    assert_eq!(c, 200);
    assert_eq!(json(&one)["alert_id"], id.as_str());
    assert_eq!(s.get("/v1/alerts/AL-nothing", Some(READ)).0, 404);
    assert_eq!(s.get("/v1/alerts?decision=maybe", Some(READ)).0, 400);
    assert_eq!(s.get("/v1/alerts?since=yesterday", Some(READ)).0, 400);
    let fac = json(&s.get("/v1/alerts?typology=OSEC-FACILITATOR", Some(READ)).1);
    assert!(fac["alerts"].as_array().unwrap().iter().all(|a| a["entity_type"] == "recipient"));
    assert!(fac["total"].as_u64().unwrap() >= 1, "the common beneficiary should be flagged: {fac}");
    // The network of FAC and its three payers, by list and by id.
    let (c, nets) = s.get("/v1/networks", Some(READ));
    assert_eq!(c, 200, "{nets}");
    let nets = json(&nets);
    let net = nets["networks"].as_array().unwrap().iter().find(|n| {
        n["members"].as_array().unwrap().iter().any(|m| m["entity_id"] == "FAC" && m["role"] == "facilitator")
    });
    let net = net.unwrap_or_else(|| panic!("no network with FAC: {nets}"));
    assert!(net["edges"].as_array().unwrap().iter().filter(|e| e["recipient"] == "FAC").count() >= 3, "{net}");
    let id = net["network_id"].as_str().unwrap();
    let (c, one) = s.get(&format!("/v1/networks/{id}"), Some(READ));
    assert_eq!((c, json(&one)["network_id"].as_str()), (200, Some(id)));
    assert_eq!(s.get("/v1/networks/NW-nothing", Some(READ)).0, 404);
    // Its picture: an SVG that names FAC and folds no one (FAC has no payers outside it).
    let (c, svg) = s.get(&format!("/v1/networks/{id}/svg"), Some(READ));
    assert_eq!(c, 200);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.contains(">FAC<"), "{svg}");
    assert_eq!(s.get("/v1/networks/NW-nothing/svg", Some(READ)).0, 404);
    let (c, ego) = s.get(&format!("/v1/networks/{id}/svg?focus=FAC"), Some(READ));
    assert_eq!(c, 200);
    assert!(ego.contains("Around FAC (facilitator)"), "{ego}");
    assert_eq!(s.get(&format!("/v1/networks/{id}/svg?focus=NOBODY"), Some(READ)).0, 404);
    assert_eq!(s.get("/v1/networks", Some(SCREEN)).0, 403);
    // Entity profile.
    let (c, p) = s.get("/v1/entities/FAC", Some(READ));
    assert_eq!(c, 200, "{p}");
    let p = json(&p);
    assert!(p["as_recipient"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["feature"] == "recipient.unrelated_senders_90d" && f["value"].as_f64() >= Some(3.0)));
    assert_eq!(s.get("/v1/entities/NOBODY", Some(READ)).0, 404);
    // Every documented route is served (the OpenAPI document and the router agree).
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let p = path.replace("{id}", "x");
            let (c, _) = s.req(&method.to_uppercase(), &p, Some(ADMIN), "application/json", b"");
            assert!(c != 405 && (c != 404 || path.contains("{id}")), "{method} {path}: {c}");
        }
    }
    // Metrics.
    let (c, m) = s.get("/metrics", Some(READ));
    assert_eq!(c, 200);
    assert!(
        m.contains("osecwatch_decisions_total{decision=\"allow\"}")
            && m.contains("osecwatch_request_duration_seconds_bucket"),
        "{m}"
    );
    assert!(m.contains("osecwatch_log_entries 12"), "{m}");
    // An undocumented route does not exist, and says so in the same JSON shape as every
    // other error.
    let (c, body) = s.get("/v1/secret", Some(ADMIN));
    assert_eq!(c, 404);
    assert!(json(&body)["error"].as_str().is_some_and(|e| e.contains("no such route")), "{body}");
    // A method the route table does not list for a known path is refused by the gate with
    // JSON, and never reaches a handler without a token check (no token is sent here).
    for (method, path) in [("DELETE", "/v1/alerts"), ("POST", "/v1/alerts"), ("GET", "/v1/admin/snapshot")] {
        let (c, body) = s.req(method, path, None, "application/json", b"");
        assert_eq!(c, 405, "{method} {path}: {body}");
        assert!(json(&body)["error"].as_str().is_some_and(|e| e.contains("not allowed")), "{method} {path}: {body}");
    }
}

/// Payments the client saw acknowledged, and the log's txn ids after restart.
fn logged_ids(data: &Path) -> Vec<String> {
    std::fs::read_to_string(data.join("payments.wal"))
        .unwrap_or_default()
        .lines()
        .map(|l| json(l)["txn_id"].as_str().unwrap().to_string())
        .collect()
}

/// Payment number `n` of the SIGKILL test. Event time 10 s apart per payment: the threads
/// run side by side within the allowed lateness (hours apart at most, not days).
fn kill_payment(n: u32) -> String {
    pay(
        &format!("K{n}"),
        &osecwatch_model::Timestamp::new(1_743_530_400 + n as i64 * 10, 120).to_rfc3339(),
        &format!("S{}", n % 7),
        &format!("F{}", n % 3),
        "35.00",
    )
}

#[test]
fn sigkill_at_random_moments_loses_no_accepted_payment_and_duplicates_no_alert() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<String> = Vec::new();
    let mut n = 0u32;
    // A fixed pseudo-random sequence of kill points (reproducible).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..8 {
        let s = Server::start(dir.path());
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Bursts far longer than the time to the kill, so the kill lands mid-burst.
        let burst = 300 + (x % 300) as u32;
        // Fire a burst from several threads, then kill -9 while some are in flight.
        let addr = s.addr.clone();
        let mut handles = Vec::new();
        for t in 0..4u32 {
            let addr = addr.clone();
            let start = n + t * burst;
            handles.push(std::thread::spawn(move || {
                let mut ok = Vec::new();
                for i in 0..burst {
                    let id = format!("K{}", start + i);
                    let body = kill_payment(start + i);
                    let r = std::panic::catch_unwind(|| {
                        http(&addr, "POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes())
                    });
                    match r {
                        Ok((200, _)) => ok.push(id),
                        _ => break,
                    }
                }
                ok
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(5 + x % 40));
        s.kill9();
        for h in handles {
            acked.extend(h.join().unwrap_or_default());
        }
        n += 4 * burst;
        let logged = logged_ids(dir.path());
        let set: std::collections::HashSet<&String> = logged.iter().collect();
        assert_eq!(set.len(), logged.len(), "round {round}: a payment was logged twice");
        for id in &acked {
            assert!(set.contains(id), "round {round}: acknowledged payment {id} is not in the log");
        }
    }
    assert!(acked.len() >= 20, "too few acknowledged payments ({}) for the check to mean anything", acked.len());
    assert!((acked.len() as u32) < n, "every request was answered: no kill landed mid-burst");
    // After the last restart: every acknowledged payment is known, alerts have unique ids,
    // and they are exactly the alerts a batch scan of the log produces.
    let s = Server::start(dir.path());
    // Re-sent, an acknowledged payment is a duplicate if it is within the allowed lateness
    // (24 h = 8,640 payments here) of the latest, else refused as late: never screened again.
    let mut numbers: Vec<u32> = acked.iter().map(|id| id[1..].parse().unwrap()).collect();
    numbers.sort_unstable();
    let latest = *numbers.last().unwrap();
    let sample: Vec<u32> = numbers.iter().rev().take(20).chain(numbers.iter().step_by(97)).copied().collect();
    for n in sample {
        let body = kill_payment(n);
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes());
        if n + 8_640 > latest {
            assert_eq!((c, json(&r)["duplicate"].clone()), (200, serde_json::json!(true)), "K{n} should be known: {r}");
        } else {
            assert!((c == 200 && json(&r)["duplicate"] == true) || (c == 409 && r.contains("late")), "K{n}: {c} {r}");
        }
    }
    for id in acked.iter().rev().take(5) {
        let body = kill_payment(id[1..].parse().unwrap());
        // The same id with another amount is not a retry.
        let other = body.replace("35.00", "36.00");
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", other.as_bytes());
        assert!(c == 409 && r.contains("conflicting duplicate"), "{id}: {c} {r}");
    }
    let alerts = json(&s.get("/v1/alerts?limit=1000", Some(READ)).1);
    let ids: Vec<&str> = alerts["alerts"].as_array().unwrap().iter().map(|a| a["alert_id"].as_str().unwrap()).collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate alerts after recovery");
    drop(s);
    let out = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .arg("audit")
        .arg("verify")
        .arg(dir.path().join("audit.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_api_and_a_batch_scan_give_identical_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("w");
    assert!(Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .args(["simulate", "--scenario", "small", "--months", "3", "--quiet", "--out"])
        .arg(&world)
        .output()
        .unwrap()
        .status
        .success());
    let tx = world.join("transactions.csv");
    let scan_dir = dir.path().join("scan");
    assert!(Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .args(["scan", "--quiet", "--rules"])
        .arg(rules())
        .arg("--input")
        .arg(&tx)
        .arg("--out")
        .arg(&scan_dir)
        .status()
        .unwrap()
        .success());
    let batch: Vec<serde_json::Value> =
        std::fs::read_to_string(scan_dir.join("alerts.jsonl")).unwrap().lines().map(json).collect();
    assert!(!batch.is_empty());
    let data = dir.path().join("data");
    let mut s = Server::start(&data);
    let text = std::fs::read_to_string(&tx).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let chunks: Vec<&[&str]> = rows.chunks(20_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let body = format!("{header}\n{}\n", chunk.join("\n"));
        let (c, r) = s.req("POST", "/v1/transactions", Some(INGEST), "text/csv", body.as_bytes());
        assert_eq!(c, 200, "{}", &r[..r.len().min(300)]);
        assert_eq!(json(&r)["rejected"], 0);
        // Midway: a snapshot, one more chunk on top of it, then a crash. The restart must
        // restore the snapshot and replay only the log's tail, and end up in the same state.
        if i == chunks.len() / 2 {
            let (c, r) = s.req("POST", "/v1/admin/snapshot", Some(ADMIN), "application/json", b"");
            assert_eq!(c, 200, "{r}");
            assert!(json(&r)["snapshot_at_log_position"].as_u64().unwrap() > 0);
        }
        if i == chunks.len() / 2 + 1 {
            s.kill9();
            assert!(data.join("snapshot.json").exists());
            s = Server::start(&data);
        }
    }
    let api = paged_alerts(&s);
    assert_eq!(api.len(), batch.len());
    for (a, b) in api.iter().zip(&batch) {
        assert_eq!(a, b, "API and scan disagree");
    }

    // The client re-sends the whole file after the crash: every payment is either a
    // duplicate (within the allowed lateness of the latest) or refused as late, none is
    // screened twice, and the alerts are still exactly the batch scan's.
    let (mut duplicates, mut late) = (0, 0);
    for chunk in &chunks {
        let body = format!("{header}\n{}\n", chunk.join("\n"));
        let (c, r) = s.req("POST", "/v1/transactions", Some(INGEST), "text/csv", body.as_bytes());
        assert_eq!(c, 200, "{}", &r[..r.len().min(300)]);
        for res in json(&r)["results"].as_array().unwrap() {
            if res["duplicate"] == true {
                duplicates += 1;
            } else if res["status"] == 409 && res["error"].as_str().unwrap().starts_with("late") {
                late += 1;
            } else {
                panic!("a re-sent payment was neither a duplicate nor refused as late: {res}");
            }
        }
    }
    assert_eq!(duplicates + late, rows.len());
    assert!(duplicates > 100 && late > 100, "{duplicates} duplicates, {late} late: the window should split the file");
    assert_eq!(logged_ids(&data).len(), rows.len(), "a payment was logged twice");
    s.kill9();
    let s = Server::start(&data);
    let again = paged_alerts(&s);
    assert_eq!(again, batch, "after the re-sent file and a restart, the alerts differ from the scan's");
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path());
    let addr = s.addr.clone();
    let worker = std::thread::spawn(move || {
        let mut codes = Vec::new();
        for i in 0..200 {
            let body = pay(&format!("T{i}"), "2025-05-01T12:00:00+02:00", "S", "R", "10.00");
            match std::panic::catch_unwind(|| {
                http(&addr, "POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes())
            }) {
                Ok((c, _)) => codes.push(c),
                Err(_) => break,
            }
        }
        codes
    });
    std::thread::sleep(std::time::Duration::from_millis(30));
    let _ = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status();
    let status = s.child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let codes = worker.join().unwrap();
    // Every request that got an answer got a complete one; those answered 200 are logged.
    assert!(codes.iter().all(|c| *c == 200 || *c == 503), "{codes:?}");
    let ok = codes.iter().filter(|c| **c == 200).count();
    assert!(logged_ids(dir.path()).len() >= ok);
    // The graceful stop left a snapshot; the next start uses it and knows every payment.
    assert!(dir.path().join("snapshot.json").exists());
    let s = Server::start(dir.path());
    let body = pay("T0", "2025-05-01T12:00:00+02:00", "S", "R", "10.00");
    let r = json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes()).1);
    assert_eq!(r["duplicate"], true, "{r}");
    assert_eq!(s.req("POST", "/v1/admin/snapshot", Some(READ), "application/json", b"").0, 403);
    drop(s);
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"kind\":\"admin\""));
    // A damaged snapshot is passed over: the server starts from the whole log instead.
    std::fs::write(dir.path().join("snapshot.json"), b"{\"last_seq\": 3, broken").unwrap();
    let s = Server::start(dir.path());
    let r = json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes()).1);
    assert_eq!(r["duplicate"], true, "{r}");
}

#[test]
fn tls_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let s = Server::start_with(
        &dir.path().join("data"),
        &["--tls-cert".as_ref(), cert.as_ref(), "--tls-key".as_ref(), key.as_ref()],
    );
    assert!(s.banner.contains("https://"), "{}", s.banner);
    let addr = s.addr.clone();
    let curl = |url: String, extra: &[&str]| {
        Command::new("curl")
            .args(["-s", "--max-time", "5", "--cacert"])
            .arg(&cert)
            .args(extra)
            .arg(url)
            .output()
            .unwrap()
    };
    let out = curl(format!("https://{addr}/healthz"), &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    let auth = format!("Authorization: Bearer {READ}");
    let out = curl(format!("https://{addr}/v1/alerts"), &["-H", &auth]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"total\":0"));
    // Plain HTTP to the TLS port gets no HTTP answer.
    let (code, _) = std::panic::catch_unwind(|| http(&addr, "GET", "/healthz", None, "text/plain", b""))
        .unwrap_or((0, String::new()));
    assert_ne!(code, 200);
}

/// Every alert, page by page.
fn paged_alerts(s: &Server) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    loop {
        let page = json(&s.get(&format!("/v1/alerts?limit=1000&offset={}", all.len()), Some(READ)).1);
        let a = page["alerts"].as_array().unwrap().clone();
        let done = a.is_empty() || all.len() + a.len() >= page["total"].as_u64().unwrap() as usize;
        all.extend(a);
        if done {
            return all;
        }
    }
}

fn all_alerts(s: &Server) -> Vec<serde_json::Value> {
    json(&s.get("/v1/alerts?limit=1000", Some(READ)).1)["alerts"].as_array().unwrap().clone()
}

/// Seeds from outside the payment stream are logged like payments: a facilitator seed
/// re-scores its earlier payer at once (a retroactive alert), a later payer is alerted at
/// its first payment, and a restart from the whole log and one from a snapshot plus the
/// log's tail give exactly the alerts of a service that never stopped.
#[test]
fn seed_events_are_logged_and_replay_to_the_same_alerts() {
    let before = [
        pay("E1", "2025-03-01T20:00:00+01:00", "E", "FAC", "40.00"),
        pay("E2", "2025-03-03T20:00:00+01:00", "E", "FAC", "40.00"),
        pay("O1", "2025-03-04T12:00:00+01:00", "O", "OTHER", "80.00"),
    ]
    .join("\n");
    let after = pay("N1", "2025-03-10T12:00:00+01:00", "N", "FAC", "30.00");
    let seed = br#"{"role":"facilitator","action":"add","ids":["FAC","UNSEEN"],"source":"police request 2025-17"}"#;
    let run = |data: &Path, restarts: bool| {
        let mut s = Server::start(data);
        let (c, r) = s.req("POST", "/v1/transactions", Some(INGEST), "application/x-ndjson", before.as_bytes());
        assert_eq!(c, 200, "{r}");
        assert!(all_alerts(&s).is_empty());
        // Only an admin token may seed; a malformed event is refused before it is logged.
        assert_eq!(s.req("POST", "/v1/network/seeds", Some(READ), "application/json", seed).0, 403);
        for bad in [
            &br#"{"role":"facilitator","action":"add","ids":[]}"#[..],
            br#"{"role":"pimp","action":"add","ids":["FAC"]}"#,
            br#"{"role":"facilitator","role":"buyer","action":"add","ids":["FAC"]}"#,
        ] {
            let (c, r) = s.req("POST", "/v1/network/seeds", Some(ADMIN), "application/json", bad);
            assert_eq!(c, 422, "{r}");
            assert!(json(&r)["error"].as_str().unwrap().len() > 5, "{r}");
        }
        let (c, r) = s.req("POST", "/v1/network/seeds", Some(ADMIN), "application/json", seed);
        assert_eq!(c, 200, "{r}");
        let r = json(&r);
        assert_eq!(
            (r["changed"].as_u64(), r["rescored"].as_u64(), r["alerts_raised"].as_u64()),
            (Some(2), Some(1), Some(1))
        );
        assert_eq!(r["unknown"], serde_json::json!(["UNSEEN"]));
        assert_eq!(r["seq"].as_u64(), Some(4), "the seed takes the next log position");
        if restarts {
            s.kill9();
            s = Server::start(data);
            let (c, r) = s.req("POST", "/v1/admin/snapshot", Some(ADMIN), "application/json", b"");
            assert_eq!(c, 200, "{r}");
        }
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", after.as_bytes());
        assert_eq!(c, 200, "{r}");
        assert_ne!(json(&r)["decision"], "allow", "a first payment to a seeded facilitator: {r}");
        if restarts {
            s.kill9();
            s = Server::start(data);
        }
        let seeds = json(&s.get("/v1/network/seeds", Some(READ)).1);
        assert_eq!(seeds["facilitators"], serde_json::json!(["FAC", "UNSEEN"]));
        let alerts = all_alerts(&s);
        drop(s);
        alerts
    };
    let dir = tempfile::tempdir().unwrap();
    let straight = run(&dir.path().join("straight"), false);
    let restarted = run(&dir.path().join("restarted"), true);
    assert_eq!(restarted, straight, "restarts changed the alerts");
    let e = straight.iter().find(|a| a["entity_id"] == "E").expect("E re-scored by the seed");
    assert_eq!(e["retroactive"], true);
    assert_eq!(e["txn_ids"], serde_json::json!(["E1", "E2"]));
    let n = straight.iter().find(|a| a["entity_id"] == "N").expect("N alerted at its payment");
    assert_eq!(n["retroactive"], false);
    // The seed is in the log between the payments and in the audit with who sent it.
    let wal = std::fs::read_to_string(dir.path().join("straight/payments.wal")).unwrap();
    let line = json(wal.lines().nth(3).unwrap());
    assert_eq!((line["seq"].as_u64(), line["actor"].as_str()), (Some(4), Some("ops")));
    let audit = std::fs::read_to_string(dir.path().join("straight/audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"seed\"") && l.contains("\"ops\"") && l.contains("FAC")), "{audit}");
}

/// Event time no single payment can hijack, live and on replay: the 9999 payment, the
/// year-1 payment and one half a year ahead of a replayed stream are refused, a payment
/// more than the allowed lateness behind is refused as late (409), and every other
/// payment gets the decision it gets on a service that never saw them, also after a
/// restart from the log.
#[test]
fn one_payment_cannot_move_event_time_for_everyone() {
    // Three senders, each paying a new recipient every night at 23:00 local time.
    let t0 = 1_740_952_800i64; // 2025-03-02T23:00:00+01:00
    let good: Vec<String> = (0..60)
        .map(|i| {
            let ts = osecwatch_model::Timestamp::new(t0 + (i / 3) * 86_400 + (i % 3) * 600, 60).to_rfc3339();
            pay(&format!("G{i}"), &ts, &format!("S{}", i % 3), &format!("F{i}"), "45.00")
        })
        .collect();
    let decide = |s: &Server, body: &str| {
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes());
        (c, json(&r))
    };
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = Server::start(clean_dir.path());
    let expected: Vec<serde_json::Value> = good.iter().map(|b| decide(&clean, b).1).collect();
    assert!(expected.iter().any(|r| r["decision"] != "allow"), "the workload must raise something");

    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path());
    let mut got = Vec::new();
    for (i, b) in good.iter().enumerate() {
        if i == 30 {
            let (c, r) = decide(&s, &pay("X9999", "9999-12-31T23:59:59Z", "ATTACK", "F0", "45.00"));
            assert!(c == 422 && r["error"].as_str().unwrap().contains("future"), "{c} {r}");
            let (c, r) = decide(&s, &pay("X0001", "0001-01-01T00:00:00Z", "ATTACK", "F0", "45.00"));
            assert!(c == 409 || c == 422, "{c} {r}");
            let ahead = osecwatch_model::Timestamp::new(t0 + 200 * 86_400, 0).to_rfc3339();
            let (c, r) = decide(&s, &pay("XAHEAD", &ahead, "ATTACK", "F0", "45.00"));
            assert!(c == 422 && r["error"].as_str().unwrap().contains("ahead of the latest payment"), "{c} {r}");
            let behind = osecwatch_model::Timestamp::new(t0 + 9 * 86_400 - 2 * 86_400, 0).to_rfc3339();
            let (c, r) = decide(&s, &pay("XLATE", &behind, "S0", "F0", "45.00"));
            assert!(c == 409 && r["error"].as_str().unwrap().contains("allowed lateness"), "{c} {r}");
            // A restart in the middle replays the log: the refused payments are not in it.
            s.kill9();
            s = Server::start(dir.path());
        }
        got.push(decide(&s, b).1);
    }
    let strip = |v: &serde_json::Value| (v["decision"].clone(), v["score"].clone(), v["rules"].clone());
    for (i, (a, b)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(strip(a), strip(b), "payment G{i} decided differently after the hostile payments");
    }
    assert!(!logged_ids(dir.path()).iter().any(|id| id.starts_with('X')), "a refused payment was logged");
    assert_eq!(all_alerts(&s), all_alerts(&clean));

    // Live: dated by the wall clock, the same limits hold.
    let live_dir = tempfile::tempdir().unwrap();
    let live = Server::start(live_dir.path());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = |d: i64| osecwatch_model::Timestamp::new(now + d, 0).to_rfc3339();
    assert_eq!(decide(&live, &pay("L1", &at(-5), "S", "R", "20.00")).0, 200);
    let (c, r) = decide(&live, &pay("L2", &at(16 * 60), "S", "R", "20.00"));
    assert!(c == 422 && r["error"].as_str().unwrap().contains("900 s ahead of this machine's clock"), "{c} {r}");
    assert_eq!(decide(&live, &pay("L3", &at(60), "S", "R", "20.00")).0, 200);
    assert_eq!(decide(&live, &pay("L4", "9999-12-31T23:59:59Z", "S", "R", "20.00")).0, 422);
}

/// Payment `k` of a test workload: `prefix` and `k` as its id, a minute after the one before
/// from 2025-06-01T20:00Z (written with `offset_min`), from `senders` senders to `recipients`
/// recipients in turn.
fn minutely(prefix: &str, k: i64, offset_min: i16, senders: i64, recipients: i64, amount: &str) -> String {
    let ts = osecwatch_model::Timestamp::new(1_748_808_000 + k * 60, offset_min).to_rfc3339();
    pay(&format!("{prefix}{k}"), &ts, &format!("S{}", k % senders), &format!("F{}", k % recipients), amount)
}

/// Stop a server gracefully (SIGTERM) and wait for it.
fn stop(mut s: Server) {
    let _ = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status();
    let _ = s.child.wait();
}

/// Start the server on a data directory it must refuse; returns what it said.
fn start_fails(data: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
        .arg(rules())
        .arg("--data-dir")
        .arg(data)
        .env("OSECWATCH_TOKENS", format!("app:screen:{SCREEN};ops:admin:{ADMIN}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if child.try_wait().unwrap().is_some() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return err;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the server started on a data directory it should refuse");
}

/// `osecwatch audit verify` on a data directory: (success, what it said).
fn audit_verify(data: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .arg("audit")
        .arg("verify")
        .arg(data.join("audit.jsonl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The audit log's note of the latest start.
fn last_start_note(data: &Path) -> String {
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    audit
        .lines()
        .rev()
        .map(json)
        .filter_map(|r| r["data"]["action"].as_str().map(String::from))
        .find(|a| a.starts_with("started"))
        .unwrap()
}

/// Eight clients send the same `txn_id` at once: with different amounts, exactly one is
/// screened and the others get 409 "conflicting duplicate"; with the same record, one is
/// screened and seven get its answer as duplicates. The same inside one batch.
#[test]
fn concurrent_retries_get_one_answer_and_conflicts_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    for (round, same) in [(0, false), (1, true), (2, false), (3, true)] {
        let id = format!("C{round}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|k| {
                let (addr, id, barrier) = (s.addr.clone(), id.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let amount = if same { "40.00".to_string() } else { format!("4{k}.00") };
                    let body = pay(&id, "2025-06-01T22:00:00+02:00", "S", "R", &amount);
                    barrier.wait();
                    http(&addr, "POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes())
                })
            })
            .collect();
        let answers: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let new: Vec<&(u16, String)> =
            answers.iter().filter(|(c, r)| *c == 200 && json(r)["duplicate"] == false).collect();
        assert_eq!(new.len(), 1, "round {round}: {answers:?}");
        let seq = json(&new[0].1)["seq"].clone();
        for (c, r) in answers.iter().filter(|a| !new.contains(a)) {
            if same {
                let r = json(r);
                assert_eq!((*c, &r["duplicate"], &r["seq"]), (200, &serde_json::json!(true), &seq), "round {round}");
                assert_eq!(r["decision"], json(&new[0].1)["decision"]);
            } else {
                assert!(*c == 409 && r.contains("conflicting duplicate"), "round {round}: {c} {r}");
            }
        }
    }
    // One batch: a payment, its exact repeat (written `45.0`), and the id with another amount.
    let a = pay("B1", "2025-06-01T22:05:00+02:00", "S", "R", "45.00");
    let b = pay("B1", "2025-06-01T22:05:00+02:00", "S", "R", "45.0");
    let c = pay("B1", "2025-06-01T22:05:00+02:00", "S", "R", "46.00");
    let (code, r) =
        s.req("POST", "/v1/transactions", Some(INGEST), "application/json", format!("{a}\n{b}\n{c}\n").as_bytes());
    assert_eq!(code, 200, "{r}");
    let res = json(&r)["results"].as_array().unwrap().clone();
    assert_eq!(
        (res[0]["duplicate"].clone(), res[1]["duplicate"].clone()),
        (serde_json::json!(false), serde_json::json!(true))
    );
    assert_eq!(res[0]["seq"], res[1]["seq"]);
    assert!(
        res[2]["status"] == 409 && res[2]["error"].as_str().unwrap().contains("conflicting duplicate"),
        "{}",
        res[2]
    );
    let ids = logged_ids(dir.path());
    assert_eq!(ids.len(), 5, "{ids:?}");
}

/// Each kind of tampering named in the issue is detected, and a crash's torn write is not
/// mistaken for one: a changed payments-log line and records cut from the audit's end stop
/// the start, naming them; an edited snapshot is not used (the whole log is replayed); torn
/// last lines are cut back and reported; a log cut at its end never makes a sequence number
/// be handed out twice.
#[test]
fn tampered_logs_are_detected_and_crashes_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let body = |k: i64| minutely("P", k, 120, 5, 4, "30.00");
    let screen = |s: &Server, k: i64| {
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(k).as_bytes());
        assert_eq!(c, 200, "P{k}: {r}");
        json(&r)
    };
    let s = Server::start(data);
    for k in 0..40 {
        screen(&s, k);
    }
    assert_eq!(s.req("POST", "/v1/admin/snapshot", Some(ADMIN), "application/json", b"").0, 200);
    for k in 40..60 {
        screen(&s, k);
    }
    stop(s);
    let (ok, said) = audit_verify(data);
    assert!(ok && said.contains("all 60 payments"), "{said}");
    let wal = std::fs::read_to_string(data.join("payments.wal")).unwrap();
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    let snapshot = std::fs::read_to_string(data.join("snapshot.json")).unwrap();
    let index = std::fs::read(data.join("dedupe-60.bin")).unwrap();

    // A changed amount in a middle line of the payments log.
    let lines: Vec<&str> = wal.lines().collect();
    let mut changed = lines.clone();
    let edited = lines[29].replace("\"30.00\"", "\"3000.00\"");
    changed[29] = &edited;
    std::fs::write(data.join("payments.wal"), changed.join("\n") + "\n").unwrap();
    let err = start_fails(data);
    assert!(err.contains("payments.wal, line 30") && err.contains("checksum"), "{err}");
    let (ok, said) = audit_verify(data);
    assert!(!ok && said.contains("line 30"), "{said}");
    std::fs::write(data.join("payments.wal"), &wal).unwrap();

    // The audit's last 10 lines deleted.
    let alines: Vec<&str> = audit.lines().collect();
    std::fs::write(data.join("audit.jsonl"), alines[..alines.len() - 10].join("\n") + "\n").unwrap();
    let err = start_fails(data);
    assert!(err.contains("records were removed from its end"), "{err}");
    let (ok, said) = audit_verify(data);
    assert!(!ok && said.contains("removed from its end"), "{said}");
    std::fs::write(data.join("audit.jsonl"), &audit).unwrap();

    // An edited snapshot: with its checksum left, and re-summed.
    let (body_text, _) = snapshot.rsplit_once("\n# sha256 ").unwrap();
    let edited = body_text.replacen("{\"last_seq\":60,", "{\"last_seq\":59,", 1);
    assert!(edited != body_text, "the snapshot should be at log position 60");
    std::fs::write(
        data.join("snapshot.json"),
        format!("{edited}\n# sha256 {}\n", &snapshot[snapshot.len() - 65..snapshot.len() - 1]),
    )
    .unwrap();
    let s = Server::start(data);
    assert!(
        last_start_note(data).contains("snapshot not used (its checksum does not match"),
        "{}",
        last_start_note(data)
    );
    assert_eq!(screen(&s, 59)["duplicate"], true);
    stop(s);
    let resummed = {
        use sha2::Digest;
        format!("{edited}\n# sha256 {}\n", hex::encode(sha2::Sha256::digest(edited.as_bytes())))
    };
    // (with the index file it names, which the start before rewrote)
    std::fs::write(data.join("snapshot.json"), resummed).unwrap();
    std::fs::write(data.join("dedupe-60.bin"), &index).unwrap();
    let s = Server::start(data);
    assert!(last_start_note(data).contains("not one the audit log records"), "{}", last_start_note(data));
    assert_eq!(screen(&s, 10)["duplicate"], true);
    stop(s);

    // Torn last lines of both logs (a crash mid-write): cut back, reported, started.
    let wal_now = std::fs::read_to_string(data.join("payments.wal")).unwrap();
    std::fs::write(data.join("payments.wal"), format!("{wal_now}{}", &body(99)[..50])).unwrap();
    let audit_now = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    std::fs::write(data.join("audit.jsonl"), format!("{audit_now}{{\"n\":99999,\"at\":")).unwrap();
    let s = Server::start(data);
    let note = last_start_note(data);
    assert!(note.contains("payments log line 61") && note.contains("audit log") && note.contains("cut back"), "{note}");
    assert_eq!(screen(&s, 59)["duplicate"], true);
    stop(s);
    assert!(audit_verify(data).0);

    // The log's last 5 payments cut away: the next payment gets a number after every
    // decision the audit holds, and verification names the payments that are gone.
    let wal_now = std::fs::read_to_string(data.join("payments.wal")).unwrap();
    let wl: Vec<&str> = wal_now.lines().collect();
    std::fs::write(data.join("payments.wal"), wl[..wl.len() - 5].join("\n") + "\n").unwrap();
    let s = Server::start(data);
    let r = screen(&s, 100);
    assert_eq!((r["duplicate"].clone(), r["seq"].as_u64().unwrap()), (serde_json::json!(false), 61), "{r}");
    stop(s);
    let (ok, said) = audit_verify(data);
    assert!(!ok && said.contains("log position 56: a decision for a payment the payments log does not hold"), "{said}");
}

/// A data directory of the previous version (log lines without checksums, decisions without
/// record digests, no head file, a snapshot without a checksum) is read and carried on, not
/// refused; its payments are still recognised when sent again.
#[test]
fn a_data_directory_of_the_previous_version_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let body = |k: i64| minutely("U", k, 0, 3, 1, "25.00");
    let s = Server::start(data);
    let first: Vec<serde_json::Value> = (0..30)
        .map(|k| json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(k).as_bytes()).1))
        .collect();
    stop(s);
    // Rewrite it as the previous version wrote it.
    let wal = std::fs::read_to_string(data.join("payments.wal")).unwrap();
    let old_wal: Vec<String> = wal.lines().map(|l| l[..l.find(",\"sum\"").unwrap()].to_string() + "}").collect();
    std::fs::write(data.join("payments.wal"), old_wal.join("\n") + "\n").unwrap();
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    std::fs::remove_file(data.join("audit.jsonl")).unwrap();
    std::fs::remove_file(data.join("audit.head")).unwrap();
    let (mut old_audit, _) = osecwatch_server::audit::AuditLog::open(&data.join("audit.jsonl"), 0, &[]).unwrap();
    for r in audit.lines().map(json) {
        let mut d = r["data"].clone();
        if let Some(o) = d.as_object_mut() {
            o.remove("record");
        }
        old_audit.push(r["at"].as_str().unwrap(), r["kind"].as_str().unwrap(), r["seq"].as_u64(), d);
    }
    old_audit.commit().unwrap();
    drop(old_audit);
    std::fs::remove_file(data.join("audit.head")).unwrap();
    for e in std::fs::read_dir(data).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("dedupe-") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    std::fs::write(data.join("snapshot.json"), "{\"last_seq\":30,\"pack_fingerprint\":1,\"seen\":[]}").unwrap();
    let (ok, said) = audit_verify(data);
    assert!(ok && said.contains("no head file"), "{said}");

    let s = Server::start(data);
    assert!(last_start_note(data).contains("written by an earlier version"), "{}", last_start_note(data));
    for k in 0..30 {
        let r = json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(k).as_bytes()).1);
        assert_eq!(
            (r["duplicate"].clone(), r["decision"].clone()),
            (serde_json::json!(true), first[k as usize]["decision"].clone()),
            "U{k}: {r}"
        );
    }
    let r = json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(30).as_bytes()).1);
    assert_eq!((r["duplicate"].clone(), r["seq"].clone()), (serde_json::json!(false), serde_json::json!(31)));
    stop(s);
    // New lines carry checksums; the old ones still read; the chain is anchored now.
    let wal = std::fs::read_to_string(data.join("payments.wal")).unwrap();
    assert!(wal.lines().last().unwrap().contains("\"sum\""));
    let (ok, said) = audit_verify(data);
    assert!(ok && said.contains("anchored at record"), "{said}");
}

/// Input hygiene: ids and texts over their limits get 422 naming the field and the limit;
/// a pacs.008 cut short, without its namespace or of another kind is refused whole with
/// 422 saying so; and what the server logs about odd input (a CSV without its header row,
/// unknown JSON keys) never holds the input's values.
#[test]
fn oversized_ids_broken_messages_and_logs_without_input_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
        .arg(rules())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("OSECWATCH_TOKENS", format!("app:screen:{SCREEN};loader:ingest:{INGEST}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    let addr = banner.split("://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();
    // Killed if an assertion fails before the graceful stop below.
    let mut child = Server { child, addr: addr.clone(), banner };
    let post = |path: &str, token: &str, ctype: &str, body: &str| {
        http(&addr, "POST", path, Some(token), ctype, body.as_bytes())
    };

    let long_id = "X".repeat(60_000);
    let (c, r) =
        post("/v1/screen", SCREEN, "application/json", &pay(&long_id, "2025-03-21T22:00:00+01:00", "S", "R", "20.00"));
    assert!(c == 422 && r.contains("`txn_id` is 60000 bytes long; at most 256"), "{c} {}", &r[..r.len().min(300)]);
    assert!(!r.contains("XXXXXXXX"), "the refusal copies the value");
    let long_name = pay("N1", "2025-03-21T22:00:00+01:00", "S", "R", "20.00").replace("Rosa Lim", &"Rosa ".repeat(100));
    let (c, r) = post("/v1/screen", SCREEN, "application/json", &long_name);
    assert!(c == 422 && r.contains("recipient_name"), "{c} {r}");

    let good = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf><GrpHdr><CreDtTm>2025-03-21T22:00:00+01:00</CreDtTm></GrpHdr>
<CdtTrfTxInf><PmtId><UETR>X-1</UETR></PmtId><IntrBkSttlmAmt Ccy="EUR">35.00</IntrBkSttlmAmt><Dbtr><Nm>Eva Sommer</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
<Cdtr><Nm>Rosa Lim</Nm></Cdtr><CdtrAcct><Id><Othr><Id>FAC</Id></Othr></Id></CdtrAcct><CdtrAgt><FinInstnId><BICFI>BOPIPHMM</BICFI></FinInstnId></CdtrAgt></CdtTrfTxInf>
<CdtTrfTxInf><PmtId><UETR>X-2</UETR></PmtId><IntrBkSttlmAmt Ccy="EUR">36.00</IntrBkSttlmAmt><Dbtr><Nm>Eva Sommer</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
<Cdtr><Nm>Rosa Lim</Nm></Cdtr><CdtrAcct><Id><Othr><Id>FAC</Id></Othr></Id></CdtrAcct><CdtrAgt><FinInstnId><BICFI>BOPIPHMM</BICFI></FinInstnId></CdtrAgt></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"#;
    let second = good.find("<UETR>X-2</UETR>").unwrap() + "<UETR>X-2</UETR>".len();
    let (c, r) = post("/v1/iso20022/pacs.008", INGEST, "application/xml", &good[..second]);
    assert!(c == 422 && r.contains("cut short") && r.contains("nothing screened"), "{c} {r}");
    let (c, r) = post("/v1/iso20022/pacs.008", INGEST, "application/xml", &good[..second - 3]);
    assert!(c == 422 && r.contains("malformed XML"), "{c} {r}");
    let (c, r) =
        post("/v1/iso20022/pacs.008", INGEST, "application/xml", &good.replace("pacs.008.001.08", "pacs.009.001.08"));
    assert!(c == 422 && r.contains("not a pacs.008"), "{c} {r}");
    let (c, r) = post(
        "/v1/iso20022/pacs.008",
        INGEST,
        "application/xml",
        &good.replace(r#" xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08""#, ""),
    );
    assert!(c == 422 && r.contains("no namespace"), "{c} {r}");
    // Nothing of the refused messages was screened; the whole one is.
    let (c, r) = post("/v1/iso20022/pacs.008", INGEST, "application/xml", good);
    assert_eq!((c, json(&r)["accepted"].as_u64()), (200, Some(2)), "{r}");

    // A CSV whose header row is missing (its first payment taken for the header) and JSON
    // with keys the record does not have: refused or read past, and logged without values.
    let headerless = "T9,2025-03-21T22:00:00+01:00,S9,Geheimname Beispiel,DE,R9,Rosa Lim,PH,30.00,EUR,mto,,\n";
    let (c, _) = post("/v1/transactions", INGEST, "text/csv", headerless);
    assert_eq!(c, 422);
    let extra = pay("J1", "2025-03-21T22:01:00+01:00", "S", "R", "20.00").replacen(
        '{',
        r#"{"Geheimschluessel":"Geheimwert","#,
        1,
    );
    let (c, r) = post("/v1/transactions", INGEST, "application/json", &format!("{extra}\n"));
    assert_eq!((c, json(&r)["accepted"].as_u64()), (200, Some(1)), "{r}");
    let _ = Command::new("kill").args(["-TERM", &child.child.id().to_string()]).status();
    let _ = child.child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("not canonical"), "the odd input should be logged: {logged}");
    for secret in ["Geheim", "Rosa", "Eva Sommer", "XXXXXXXX", "DE89370400440532013000"] {
        assert!(!logged.contains(secret), "the server log holds input value `{secret}`:\n{logged}");
    }
}

/// Within the allowed lateness the service screens payments in the order they came, and
/// `scan --allowed-lateness` of its payments log, in that order, gives exactly its alerts;
/// without the setting the same file is not in time order and scan quarantines the late rows.
#[test]
fn the_log_scanned_with_the_same_lateness_gives_the_services_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data);
    let t0 = 1_748_804_400i64; // 2025-06-01T19:00:00Z
                               // Nights of payments from six senders to four recipients, each night's order shuffled
                               // within six hours (a fixed pseudo-random order).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for night in 0..6i64 {
        let mut times: Vec<i64> = (0..24).map(|k| t0 + night * 86_400 + k * 900).collect();
        for i in (1..times.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            times.swap(i, (x % (i as u64 + 1)) as usize);
        }
        for (k, t) in times.iter().enumerate() {
            let id = format!("N{night}-{k}");
            let ts = osecwatch_model::Timestamp::new(*t, 120).to_rfc3339();
            let body = pay(&id, &ts, &format!("S{}", k % 6), &format!("F{}", (k + night as usize) % 4), "40.00");
            let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body.as_bytes());
            assert_eq!(c, 200, "{id}: {r}");
        }
    }
    let api = all_alerts(&s);
    assert!(!api.is_empty(), "the workload must raise alerts");
    stop(s);
    let log = dir.path().join("log.jsonl");
    std::fs::copy(data.join("payments.wal"), &log).unwrap();
    let scan = |extra: &[&str], out: &Path| {
        let st = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
            .args(["scan", "--quiet", "--rules"])
            .arg(rules())
            .arg("--input")
            .arg(&log)
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        let alerts: Vec<serde_json::Value> =
            std::fs::read_to_string(out.join("alerts.jsonl")).unwrap().lines().map(json).collect();
        let summary = json(&std::fs::read_to_string(out.join("scan_summary.json")).unwrap());
        (alerts, summary)
    };
    let (alerts, summary) = scan(&["--allowed-lateness", "86400"], &dir.path().join("late"));
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert_eq!(alerts, api, "scan of the log with the service's lateness and the service disagree");
    let (_, strict) = scan(&[], &dir.path().join("strict"));
    assert!(strict["rejected"].as_u64().unwrap() > 10, "{strict}");
}

/// A crash between the two logs' writes leaves payments in the log whose decisions never
/// reached the audit log: the next start replays them and writes those decisions (the replay
/// runs while the audit chain is checked, so it keeps what it may have to write), and every
/// logged payment then has exactly one decision.
#[test]
fn decisions_lost_in_a_crash_are_written_again_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let body = |k: i64| minutely("D", k, 120, 5, 4, "30.00");
    let s = Server::start(data);
    let mut first = Vec::new();
    for k in 0..60 {
        if k == 40 {
            assert_eq!(s.req("POST", "/v1/admin/snapshot", Some(ADMIN), "application/json", b"").0, 200);
        }
        first.push(json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(k).as_bytes()).1));
    }
    s.kill9();
    // The machine lost the audit's last 10 decisions and the head file naming them.
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    let lines: Vec<&str> = audit.lines().collect();
    assert!(lines[lines.len() - 10..].iter().all(|l| l.contains("\"kind\":\"decision\"")));
    std::fs::write(data.join("audit.jsonl"), lines[..lines.len() - 10].join("\n") + "\n").unwrap();
    std::fs::remove_file(data.join("audit.head")).unwrap();
    let s = Server::start(data);
    assert!(last_start_note(data).contains("from the snapshot at log position 40"), "{}", last_start_note(data));
    for k in [45, 55, 59] {
        let r = json(&s.req("POST", "/v1/screen", Some(SCREEN), "application/json", body(k).as_bytes()).1);
        assert_eq!(
            (&r["duplicate"], &r["decision"], &r["seq"]),
            (&serde_json::json!(true), &first[k as usize]["decision"], &first[k as usize]["seq"]),
            "D{k}: {r}"
        );
    }
    stop(s);
    let (ok, said) = audit_verify(data);
    assert!(ok && said.contains("all 60 payments"), "{said}");
}

/// The logs sealed into segments at each snapshot: a retry finds its first answer in a
/// sealed segment, a restart (from the snapshot, and without it, across every segment) gives
/// the same alerts, and `audit verify` checks the chain and every payment across segments.
#[test]
fn logs_sealed_into_segments_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("serve.toml");
    std::fs::write(&cfg, "snapshot_every = 4\nlog_segment_bytes = 1\n").unwrap();
    let args = [std::ffi::OsStr::new("--config"), cfg.as_os_str()];
    // Every 80 minutes from 20:00: all within the allowed lateness of the last.
    let night = |k: u32| {
        let m = 20 * 60 + k * 80;
        let ts = format!("2025-03-{:02}T{:02}:{:02}:00+01:00", 1 + m / 1440, m % 1440 / 60, m % 60);
        pay(&format!("G{k}"), &ts, "BUYER", &format!("R{}", k % 5), "45.00")
    };
    let mut s = Server::start_with(&data, &args);
    let mut first = Vec::new();
    for k in 0..14 {
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", night(k).as_bytes());
        assert_eq!(c, 200, "{r}");
        first.push(json(&r)["decision"].clone());
    }
    let sealed = |prefix: &str| -> usize {
        std::fs::read_dir(data.join("sealed"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(prefix))
            .count()
    };
    assert!(sealed("payments-") >= 3 && sealed("audit-") >= 3, "one segment per snapshot");
    let alerts = all_alerts(&s);
    assert!(!alerts.is_empty(), "a buyer paying five recipients at night is alerted");
    for restart in ["kill", "no snapshot"] {
        // A retry of the first payment: its first answer, from the oldest sealed segment.
        let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", night(0).as_bytes());
        let r = json(&r);
        assert_eq!((c, r["duplicate"].as_bool(), r["seq"].as_u64()), (200, Some(true), Some(1)), "{r}");
        assert_eq!(r["decision"], first[0]);
        match restart {
            "kill" => s.kill9(),
            _ => {
                stop(s);
                std::fs::remove_file(data.join("snapshot.json")).unwrap();
            }
        }
        s = Server::start_with(&data, &args);
        assert_eq!(all_alerts(&s), alerts, "after {restart}");
    }
    let (c, r) = s.req("POST", "/v1/screen", Some(SCREEN), "application/json", night(5).as_bytes());
    assert_eq!((c, json(&r)["duplicate"].as_bool()), (200, Some(true)), "{r}");
    stop(s);
    let (ok, said) = audit_verify(&data);
    assert!(ok && said.contains("14 payment"), "{said}");
}

/// After retention deleted old decisions (the audit segment emptied) while a continuing
/// customer's payments stay, a start that replays the whole log (no snapshot) does not write
/// decisions for those payments again, and the data directory still verifies.
#[test]
fn a_start_does_not_write_decisions_that_retention_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("serve.toml");
    std::fs::write(&cfg, "snapshot_every = 1000000\nlog_segment_bytes = 1\n").unwrap();
    let args = [std::ffi::OsStr::new("--config"), cfg.as_os_str()];
    let s = Server::start_with(&data, &args);
    let body: Vec<String> = (0..12)
        .map(|k| {
            let ts = format!("2025-03-01T2{}:{:02}:00+01:00", k / 6, (k % 6) * 10);
            pay(&format!("D{k}"), &ts, if k % 2 == 0 { "KEEP" } else { "GONE" }, "R1", "30.00")
        })
        .collect();
    let (c, r) = s.req("POST", "/v1/transactions", Some(INGEST), "application/x-ndjson", body.join("\n").as_bytes());
    assert_eq!(c, 200, "{r}");
    // The snapshot seals both logs (every size is big enough here).
    assert_eq!(s.req("POST", "/v1/admin/snapshot", Some(ADMIN), "application/json", b"").0, 200);
    stop(s);
    let (wal, audit_path) = (data.join("payments.wal"), data.join("audit.jsonl"));
    let (mut audit, _) = osecwatch_server::audit::AuditLog::open(&audit_path, 0, &[]).unwrap();
    let rel: osecwatch_server::segments::Relationships = [("KEEP".to_string(), None)].into_iter().collect();
    let rules = osecwatch_server::segments::LogRetention::default();
    let far = 4_102_444_800; // 2100-01-01
    let run =
        osecwatch_server::segments::apply(&wal, &mut audit, &rules, Some(&rel), &mut Default::default(), far, "test")
            .unwrap()
            .unwrap();
    assert_eq!((run.compacted_segments, run.payments_deleted), (1, 6), "GONE's six deleted, KEEP's kept");
    assert!(run.audit_segments >= 1, "the decisions went with their segment");
    drop(audit);
    let decisions = || -> Vec<u64> {
        std::fs::read_to_string(&audit_path)
            .unwrap()
            .lines()
            .map(json)
            .filter(|r| r["kind"] == "decision")
            .filter_map(|r| r["seq"].as_u64())
            .collect()
    };
    assert!(decisions().is_empty());
    std::fs::remove_file(data.join("snapshot.json")).unwrap();
    let s = Server::start_with(&data, &args);
    stop(s);
    assert!(decisions().is_empty(), "decisions written again for payments retention had decided on: {:?}", decisions());
    let (ok, said) = audit_verify(&data);
    assert!(ok && said.contains("6 payment"), "{said}");
}
