//! The analyst workbench in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver), against the real binary. An analyst signs in, finds the top buyer case, adds
//! a note, drafts the STR, fixes the field the validation names; the drafting analyst's
//! approval is refused, and so is a form without its CSRF token; a supervisor approves and
//! downloads the XML, which is checked. Screenshots of every page go to
//! `target/workbench-screenshots/`.
//!
//! Chromium and chromedriver come from Debian (`scripts/test.sh` installs them). Where they
//! are missing the test says so loudly; under `scripts/test.sh` or CI
//! (`OSECWATCH_REQUIRE_BROWSER=1` or `CI`) it then fails instead of passing.

mod common;
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, or `None` (said loudly) where the browser is not installed.
fn driver() -> Option<(Driver, u16)> {
    if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
        let required = std::env::var_os("OSECWATCH_REQUIRE_BROWSER").is_some() || std::env::var_os("CI").is_some();
        let msg = format!(
            "\n*** WORKBENCH BROWSER TESTS NOT RUN: {CHROMIUM} or {DRIVER} is missing. Install Debian's chromium and chromium-driver (scripts/test.sh does). ***\n"
        );
        assert!(!required, "{msg}");
        eprintln!("{msg}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((Driver(child), port))
}

async fn browser(port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    // The flags this machine kind needs: no sandbox as root, and no background connections
    // (the network is closed; Chromium's own would be refused, many at a time).
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1800", format!("--user-data-dir={}", profile.display())],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in headless Chromium")
}

fn shots() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/workbench-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Click something that loads a new page, and wait until the new page is there (a click
/// returns before the navigation ends).
async fn click_to_page(c: &Client, e: fantoccini::elements::Element) {
    mark_page(c).await;
    e.click().await.unwrap();
    await_fresh(c).await;
}

async fn mark_page(c: &Client) {
    c.execute("window.__osw_old_page = true;", vec![]).await.unwrap();
}

/// Wait until the marked page has been replaced by a loaded new one.
async fn await_fresh(c: &Client) {
    let started = Instant::now();
    loop {
        let fresh = c
            .execute("return window.__osw_old_page === undefined && document.readyState === 'complete';", vec![])
            .await
            .map(|v| v == serde_json::Value::Bool(true))
            .unwrap_or(false);
        if fresh {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the next page did not load");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn press(c: &Client, css: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    click_to_page(c, e).await;
}

/// Form controls a screen reader could not name: no `<label>`, no `aria-label`.
async fn unlabelled(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            r#"return Array.from(document.querySelectorAll("input, select, textarea"))
                .filter(e => e.type !== "hidden" && e.labels.length === 0 && !e.getAttribute("aria-label"))
                .map(e => e.outerHTML);"#,
            vec![],
        )
        .await
        .unwrap();
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap_or("").to_string()).collect()
}

/// A screenshot, and the page's controls all labelled.
async fn review(c: &Client, name: &str) {
    shot(c, name).await;
    let bare = unlabelled(c).await;
    assert!(bare.is_empty(), "{name}: controls without a label: {bare:?}");
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("main")).await.expect("the page's main").text().await.expect("text")
}

async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/ui/login")).await.unwrap();
    c.find(Locator::Id("token")).await.unwrap().send_keys(token).await.unwrap();
    press(c, "form[action='/ui/login'] button").await;
    let url = c.current_url().await.unwrap();
    assert!(url.path().starts_with("/ui/queue"), "signed in lands on the queue, not {url}");
}

async fn sign_out(c: &Client) {
    press(c, "form[action='/ui/logout'] button").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/ui/login");
}

/// Post a form from the page with `fetch` (the page's own cookie), optionally without its
/// CSRF token; returns (status, body).
async fn post_from_page(c: &Client, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> (u64, String) {
    let script = r#"
        const [path, fields, withCsrf, done] = arguments;
        const body = new URLSearchParams(fields);
        if (withCsrf) body.set("csrf", document.querySelector("input[name=csrf]").value);
        fetch(path, {method: "POST", body, credentials: "same-origin", redirect: "follow"})
            .then(r => r.text().then(t => done([r.status, t])))
            .catch(e => done([0, String(e)]));
    "#;
    let f: serde_json::Map<String, serde_json::Value> =
        fields.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
    let v = c
        .execute_async(script, vec![path.into(), serde_json::Value::Object(f), with_csrf.into()])
        .await
        .expect("fetch from the page");
    (v[0].as_u64().unwrap_or(0), v[1].as_str().unwrap_or("").to_string())
}

/// A world whose customer file lacks every birth date, filed into cases, with two users and
/// the service running on it (its log in `DIR/serve.log`).
fn setup(dir: &Path) -> (Server, String, String) {
    let (w, s) = world(dir);
    let data = dir.join("data");
    let customers = std::fs::read_to_string(w.join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    let head = lines.next().unwrap();
    let col = head.split(',').position(|c| c == "birthdate").expect("the customer file has birth dates");
    let mut stripped = format!("{head}\n");
    for l in lines {
        let mut f: Vec<&str> = l.split(',').collect();
        f[col] = "";
        stripped.push_str(&f.join(","));
        stripped.push('\n');
    }
    std::fs::write(dir.join("customers.csv"), stripped).unwrap();
    let o = bin()
        .args(["cases", "import", "--data-dir"])
        .arg(&data)
        .arg("--alerts")
        .arg(s.join("alerts.jsonl"))
        .arg("--transactions")
        .arg(w.join("transactions.csv"))
        .arg("--customers")
        .arg(dir.join("customers.csv"))
        .arg("--counterparties")
        .arg(w.join("counterparties.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let anna = user(&data, &[], "anna", "analyst");
    let sven = user(&data, &[], "sven", "supervisor");
    let inst = root().join("examples/institution.toml");
    let server = Server::start_logged(
        &data,
        &["--institution".as_ref(), inst.as_os_str(), "--cases-feed-secs".as_ref(), "3600".as_ref()],
        &dir.join("serve.log"),
    );
    (server, anna, sven)
}

/// Signed out, a wrong token, then the analyst's sign-in, the queue and its keys.
async fn sign_in_and_the_queue(c: &Client, base: &str, anna: &str) {
    // Not signed in: every page leads to the sign-in form.
    c.goto(&format!("{base}/ui/queue")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/ui/login");
    review(c, "01-sign-in").await;
    // A wrong token is refused with a message.
    c.find(Locator::Id("token")).await.unwrap().send_keys("not-a-token-at-all").await.unwrap();
    press(c, "form[action='/ui/login'] button").await;
    assert!(text(c).await.contains("not a user's token"), "{}", text(c).await);

    sign_in(c, base, anna).await;
    let queue = text(c).await;
    assert!(queue.contains("Queue:") && queue.contains("Why it is here"), "{queue}");
    review(c, "02-queue").await;
    // Keys: focus the first row, j moves to the second, Enter opens it.
    let rows = c.find_all(Locator::Css("tbody tr.row")).await.unwrap();
    assert!(rows.len() >= 2, "the small world has several cases");
    let second = rows[1].attr("data-href").await.unwrap().unwrap();
    rows[0].send_keys("j").await.unwrap();
    mark_page(c).await;
    rows[1].send_keys("\u{E007}").await.unwrap();
    await_fresh(c).await;
    assert_eq!(c.current_url().await.unwrap().path(), second, "j then Enter opens the next case");
}

/// The top buyer case through the filter, its page, a note, and a forged form; the case id.
async fn the_top_case_and_a_note(c: &Client, base: &str) -> String {
    // The top buyer case, through the typology filter.
    c.goto(&format!("{base}/ui/queue")).await.unwrap();
    c.find(Locator::Css("#f-typology option[value='OSEC-BUYER']")).await.unwrap().click().await.unwrap();
    press(c, "form.filters button").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("typology=OSEC-BUYER"));
    let top = c.find(Locator::Css("tbody tr.row a")).await.unwrap();
    let case_id = top.text().await.unwrap();
    click_to_page(c, top).await;
    let page = text(c).await;
    assert!(page.contains(&format!("Case {case_id}")) && page.contains("Why it was raised"), "{page}");
    assert!(page.contains("Evidence payments") && page.contains("corridor"), "payments are marked: {page}");
    let circles = c.find_all(Locator::Css("svg.timeline circle")).await.unwrap();
    assert!(!circles.is_empty(), "the timeline draws the payments");
    review(c, "03-case").await;

    // A note.
    c.find(Locator::Id("note"))
        .await
        .unwrap()
        .send_keys("Checked the recipients: two unrelated PH wallets.")
        .await
        .unwrap();
    press(c, "form[action$='/note'] button").await;
    let page = text(c).await;
    assert!(page.contains("note added") && page.contains("two unrelated PH wallets"), "{page}");

    // A form without the CSRF token changes nothing.
    let (status, body) =
        post_from_page(c, &format!("/ui/cases/{case_id}/note"), &[("text", "forged note")], false).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    c.refresh().await.unwrap();
    assert!(!text(c).await.contains("forged note"));

    case_id
}

/// The STR drafted, its named problem fixed, the drafter's approval refused; the report id.
async fn the_str_drafted_and_fixed(c: &Client, case_id: &str) -> String {
    // Draft the STR: the validation names the missing birth date.
    click_to_page(c, c.find(Locator::LinkText("STR review")).await.unwrap()).await;
    press(c, "form[action$='/report/draft'] button").await;
    let page = text(c).await;
    assert!(page.contains("birthdate is required"), "the problem is named: {page}");
    review(c, "04-str-problems").await;
    // Fix it and draft again.
    c.find(Locator::Id("c-birthdate")).await.unwrap().send_keys("1971-04-09").await.unwrap();
    c.find(Locator::Id("narrative")).await.unwrap().send_keys(" Reviewed in the workbench.").await.unwrap();
    press(c, "form[action$='/report/draft'] button").await;
    let page = text(c).await;
    assert!(page.contains("No problems"), "{page}");
    assert!(page.contains("<birthdate>1971-04-09T00:00:00</birthdate>"), "the XML preview shows the fix: {page}");
    assert!(page.contains("Reviewed in the workbench.</reason>"), "the analyst's narrative is the report's: {page}");
    assert!(
        c.find(Locator::Css("form[action$='/report/approve']")).await.is_err(),
        "no approve button for the drafter"
    );
    review(c, "05-str-drafted").await;
    // The drafting analyst's approval, posted anyway, is refused.
    let rid = c.find(Locator::Css("h2")).await.unwrap().text().await.unwrap();
    let rid = rid.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string();
    let (status, body) =
        post_from_page(c, &format!("/ui/cases/{case_id}/report/approve"), &[("report_id", &rid)], true).await;
    assert_eq!(status, 200, "refusals come back to the page with the reason");
    assert!(body.contains("approving a report needs the role supervisor"), "{body}");
    c.refresh().await.unwrap();
    assert!(text(c).await.contains(&format!("Report {rid}: draft")));
    sign_out(c).await;

    rid
}

/// The supervisor approves, downloads and checks the file; the dashboard.
async fn approved_and_downloaded(c: &Client, base: &str, sven: &str, case_id: &str, rid: &str) {
    // The supervisor approves and downloads.
    sign_in(c, base, sven).await;
    c.goto(&format!("{base}/ui/cases/{case_id}/report")).await.unwrap();
    press(c, "form[action$='/report/approve'] button").await;
    let page = text(c).await;
    assert!(
        page.contains(&format!("report {rid} approved")) && page.contains(&format!("Report {rid}: approved")),
        "{page}"
    );
    review(c, "06-str-approved").await;
    let href = c.find(Locator::Id("download")).await.unwrap().attr("href").await.unwrap().unwrap();
    let xml: serde_json::Value = c
        .execute_async(
            "const [p, done] = arguments; fetch(p, {credentials: 'same-origin'}).then(r => r.text().then(t => done([r.status, r.headers.get('content-disposition'), t])));",
            vec![href.clone().into()],
        )
        .await
        .unwrap();
    assert_eq!(xml[0], 200);
    assert!(xml[1].as_str().unwrap_or("").contains(&format!("{rid}.xml")), "{xml}");
    let file = xml[2].as_str().unwrap();
    std::fs::write(shots().join("approved-str.xml"), file).unwrap();
    assert!(file.starts_with("<?xml") && file.contains("<report>"), "{file}");
    assert!(file.contains(&format!("<entity_reference>{case_id}</entity_reference>")));
    assert!(file.contains("<birthdate>1971-04-09T00:00:00</birthdate>"), "the analyst's fix is in the filed report");
    // The dashboard counts the reported case.
    c.goto(&format!("{base}/ui/dashboard")).await.unwrap();
    let page = text(c).await;
    assert!(page.contains("Which rules earn their keep") && page.contains("reported"), "{page}");
    review(c, "07-dashboard").await;
}

#[test]
fn analyst_and_supervisor_file_an_str_in_the_browser() {
    let Some((_driver, port)) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (server, anna, sven) = setup(dir.path());
    let base = format!("http://{}", server.addr);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = browser(port, &dir.path().join("chromium")).await;
        sign_in_and_the_queue(&c, &base, &anna).await;
        let case_id = the_top_case_and_a_note(&c, &base).await;
        let rid = the_str_drafted_and_fixed(&c, &case_id).await;
        approved_and_downloaded(&c, &base, &sven, &case_id, &rid).await;
        c.close().await.unwrap();
    });
    // Every page read and form went through the store as a user: the audit chain says so.
    drop(server);
    let out = ok(&["cases", "audit-verify"], &dir.path().join("data"), &[], None);
    assert!(out.contains("intact"), "{out}");
}

// ------------------------------------------------------------ over plain HTTP (no browser)

/// Before sign-in: redirects, public assets, a token of no user refused.
fn signed_out_answers(addr: &str) {
    // Not signed in: pages redirect to the sign-in form; assets are public.
    let (code, headers, _) = call(addr, "GET", "/ui/queue", &[], "");
    assert_eq!(code, 303);
    assert!(headers.contains("location: /ui/login"));
    assert_eq!(call(addr, "GET", "/ui/assets/ui.css", &[], "").0, 200);
    // A token of no user is refused (the API's admin token is not a user's).
    let (code, _, page) = {
        let (_, h, p) = call(addr, "GET", "/ui/login", &[], "");
        let c = header_value(&h, "set-cookie", "osw_login=").unwrap();
        let c = c.split(';').next().unwrap().to_string();
        call(
            addr,
            "POST",
            "/ui/login",
            &[("Cookie", &c)],
            &url_form(&[("csrf", &form_value(&p, "csrf")), ("token", ADMIN)]),
        )
    };
    assert_eq!(code, 401, "{page}");
}

/// The supervisor's session: its cookie's attributes and the pages' headers; (cookie, top case).
fn supervisor_session(addr: &str, sven: &str) -> (String, String) {
    let set = http_sign_in(addr, sven);
    for attr in ["httponly", "samesite=strict", "path=/ui", "max-age=43200"] {
        assert!(set.contains(attr), "session cookie lacks {attr}: {set}");
    }
    assert!(!set.contains("secure"), "no Secure flag without TLS: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let (code, headers, page) = call(addr, "GET", "/ui/queue", &[("Cookie", &cookie)], "");
    assert_eq!(code, 200);
    for h in [
        "content-type: text/html",
        "cache-control: no-store",
        "x-frame-options: deny",
        "content-security-policy: default-src 'self'",
    ] {
        assert!(headers.contains(h), "queue page lacks {h}: {headers}");
    }
    let case_id = page.split("data-href=\"/ui/cases/").nth(1).unwrap().split('"').next().unwrap().to_string();
    // The recipient (facilitator) cases render too, and unknown cases are a 404 page.
    let (code, _, _) = call(addr, "GET", "/ui/queue?typology=OSEC-FACILITATOR", &[("Cookie", &cookie)], "");
    assert_eq!(code, 200);
    let (code, _, page404) = call(addr, "GET", "/ui/cases/C-999999", &[("Cookie", &cookie)], "");
    assert_eq!(code, 404, "{page404}");

    (cookie, case_id)
}

#[test]
fn sessions_csrf_roles_and_a_quiet_log_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _anna, sven) = setup(dir.path());
    let addr = server.addr.clone();
    signed_out_answers(&addr);
    let (cookie, case_id) = supervisor_session(&addr, &sven);
    // A supervisor who drafts may not approve their own draft: four eyes in the UI as in the API.
    let (_, _, case_page) = call(&addr, "GET", &format!("/ui/cases/{case_id}"), &[("Cookie", &cookie)], "");
    let entity =
        case_page.split(&format!("Case {case_id}: sender ")).nth(1).unwrap().split('<').next().unwrap().to_string();
    let csrf = form_value(&case_page, "csrf");
    let version = form_value(&case_page, "version");
    let (code, _, body) = call(
        &addr,
        "POST",
        &format!("/ui/cases/{case_id}/note"),
        &[("Cookie", &cookie)],
        &url_form(&[("text", "no token")]),
    );
    assert_eq!(code, 403, "a form without the CSRF token: {body}");
    let (code, _, _) = call(
        &addr,
        "POST",
        &format!("/ui/cases/{case_id}/report/draft"),
        &[("Cookie", &cookie)],
        &url_form(&[("csrf", &csrf), ("version", &version), ("client.birthdate", "1980-01-02")]),
    );
    assert_eq!(code, 303);
    let (_, _, report) = call(&addr, "GET", &format!("/ui/cases/{case_id}/report"), &[("Cookie", &cookie)], "");
    assert!(report.contains("No problems"), "{report}");
    assert!(!report.contains("/report/approve"), "no approve button for the drafting supervisor");
    let rid = report.split("Report R-").nth(1).unwrap().split(':').next().unwrap();
    let rid = format!("R-{rid}");
    let (code, _, _) = call(
        &addr,
        "POST",
        &format!("/ui/cases/{case_id}/report/approve"),
        &[("Cookie", &cookie)],
        &url_form(&[("csrf", &csrf), ("report_id", &rid)]),
    );
    assert_eq!(code, 303);
    let (_, _, report) = call(&addr, "GET", &format!("/ui/cases/{case_id}/report"), &[("Cookie", &cookie)], "");
    assert!(report.contains("four eyes") && report.contains(&format!("Report {rid}: draft")), "{report}");
    // A draft is not downloadable as a filing.
    let (code, _, _) = call(&addr, "GET", &format!("/ui/cases/{case_id}/report/{rid}/xml"), &[("Cookie", &cookie)], "");
    assert_eq!(code, 409);
    // Another supervisor approves.
    let other = user(&dir.path().join("data"), &[], "vera", "supervisor");
    drop(server);
    let server = Server::start_logged(
        &dir.path().join("data"),
        &["--institution".as_ref(), root().join("examples/institution.toml").as_os_str()],
        &dir.path().join("serve2.log"),
    );
    let addr = server.addr.clone();
    assert_eq!(call(&addr, "GET", "/ui/queue", &[("Cookie", &cookie)], "").0, 303, "a restart signs everyone out");
    let vera = http_sign_in(&addr, &other);
    let vera = vera.split(';').next().unwrap().to_string();
    let (_, _, report) = call(&addr, "GET", &format!("/ui/cases/{case_id}/report"), &[("Cookie", &vera)], "");
    assert!(report.contains("/report/approve"), "another supervisor sees the approve button");
    let csrf = form_value(&report, "csrf");
    call(
        &addr,
        "POST",
        &format!("/ui/cases/{case_id}/report/approve"),
        &[("Cookie", &vera)],
        &url_form(&[("csrf", &csrf), ("report_id", &rid)]),
    );
    let (code, headers, xml) =
        call(&addr, "GET", &format!("/ui/cases/{case_id}/report/{rid}/xml"), &[("Cookie", &vera)], "");
    assert_eq!(code, 200, "{xml}");
    assert!(headers.contains(&format!("filename=\"{}.xml\"", rid.to_ascii_lowercase())), "{headers}");
    assert!(xml.contains("<birthdate>1980-01-02T00:00:00</birthdate>"));
    // Sign-out ends the session.
    let (code, _, _) = call(&addr, "POST", "/ui/logout", &[("Cookie", &vera)], &url_form(&[("csrf", &csrf)]));
    assert_eq!(code, 303);
    assert_eq!(call(&addr, "GET", "/ui/queue", &[("Cookie", &vera)], "").0, 303);
    drop(server);
    // The service's log says what happened without a name, an account, a case's entity or a token.
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap()
        + &std::fs::read_to_string(dir.path().join("serve2.log")).unwrap();
    assert!(log.contains("workbench sign-in"), "sign-ins are logged: {log}");
    let customers = std::fs::read_to_string(dir.path().join("customers.csv")).unwrap();
    assert!(!log.contains(&entity), "the log names the case's customer {entity}");
    for line in customers.lines().skip(1).take(200) {
        let account = line.split(',').next().unwrap();
        assert!(!log.contains(account), "the log names account {account}");
    }
    for secret in [sven.as_str(), other.as_str(), &cookie[12..]] {
        assert!(!log.contains(secret), "the log holds a token or session id");
    }
}
