//! Helpers shared by the tests that run the real service on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const SCREEN: &str = "0123456789abcdef-screen";
pub const INGEST: &str = "0123456789abcdef-ingest";
pub const READ: &str = "0123456789abcdef-read";
pub const ADMIN: &str = "0123456789abcdef-admin";

pub fn rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/osec.toml")
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The first line the server prints: where it listens, with its scheme.
    pub banner: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&std::ffi::OsStr]) -> Server {
        Server::spawn(data, extra, None)
    }

    /// With the service's log (`RUST_LOG=info`) written to `log`.
    pub fn start_logged(data: &Path, extra: &[&std::ffi::OsStr], log: &Path) -> Server {
        Server::spawn(data, extra, Some(log))
    }

    fn spawn(data: &Path, extra: &[&std::ffi::OsStr], log: Option<&Path>) -> Server {
        let stderr = match log {
            Some(l) => Stdio::from(std::fs::File::create(l).unwrap()),
            None => Stdio::null(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_osecwatch"))
            .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
            .arg(rules())
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .env(
                "OSECWATCH_TOKENS",
                format!("app:screen:{SCREEN};loader:ingest:{INGEST};analyst:read:{READ};ops:admin:{ADMIN}"),
            )
            .env("RUST_LOG", if log.is_some() { "info" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        let addr = banner
            .split("://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in `{banner}`"))
            .to_string();
        Server { child, addr, banner }
    }

    pub fn req(&self, method: &str, path: &str, token: Option<&str>, ctype: &str, body: &[u8]) -> (u16, String) {
        http(&self.addr, method, path, token, ctype, body)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        self.req("GET", path, token, "application/json", b"")
    }

    pub fn kill9(mut self) {
        let _ = Command::new("kill").args(["-9", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, ctype: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, mut rest) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_string(), b.to_string()))
        .unwrap_or((text.clone(), String::new()));
    let code: u16 = headers.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    if headers.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail[n + 2..].to_string();
        }
        rest = out;
    }
    (code, rest)
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

// ------------------------------------------------------------ the CLI and a small world

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_osecwatch"))
}

pub fn run(args: &[&str], data: &Path, db: &[String], token: Option<&str>) -> (bool, String, String) {
    let mut c = bin();
    c.args(args).arg("--data-dir").arg(data).args(db).env_remove("OSECWATCH_TOKEN");
    if let Some(t) = token {
        c.env("OSECWATCH_TOKEN", t);
    }
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn ok(args: &[&str], data: &Path, db: &[String], token: Option<&str>) -> String {
    let (good, out, err) = run(args, data, db, token);
    assert!(good, "osecwatch {args:?} failed:\n{out}\n{err}");
    out
}

pub fn user(data: &Path, db: &[String], name: &str, role: &str) -> String {
    let out = ok(&["users", "add", name, "--role", role], data, db, None);
    out.lines().nth(1).unwrap().trim().to_string()
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A small world and its scan (14 alerts with seed 11).
pub fn world(dir: &Path) -> (PathBuf, PathBuf) {
    let w = dir.join("w");
    let s = dir.join("s");
    let o = bin()
        .args([
            "simulate",
            "--scenario",
            "small",
            "--customers",
            "1500",
            "--months",
            "4",
            "--seed",
            "11",
            "--quiet",
            "--out",
        ])
        .arg(&w)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = bin()
        .args(["scan", "--input"])
        .arg(w.join("transactions.csv"))
        .arg("--rules")
        .arg(rules())
        .arg("--out")
        .arg(&s)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (w, s)
}

// ------------------------------------------------------------ the workbench over plain HTTP

/// One request with extra headers: (status, headers lower-cased, body).
pub fn call(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (h, b) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = h.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, h.to_ascii_lowercase(), b.to_string())
}

pub fn header_value(headers: &str, name: &str, starting: &str) -> Option<String> {
    headers
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")))
        .find(|v| v.starts_with(starting))
        .map(String::from)
}

pub fn form_value(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in the page"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn url_form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Sign in over HTTP: the session cookie's `Set-Cookie` value.
pub fn http_sign_in(addr: &str, token: &str) -> String {
    let (code, headers, page) = call(addr, "GET", "/ui/login", &[], "");
    assert_eq!(code, 200);
    let login = header_value(&headers, "set-cookie", "osw_login=").expect("the sign-in form's cookie");
    let login_cookie = login.split(';').next().unwrap().to_string();
    let csrf = form_value(&page, "csrf");
    // The form's token must match its cookie.
    let (code, _, _) = call(
        addr,
        "POST",
        "/ui/login",
        &[("Cookie", &login_cookie)],
        &url_form(&[("csrf", "forged"), ("token", token)]),
    );
    assert_eq!(code, 403, "a sign-in form with a forged token is refused");
    let (code, headers, _) =
        call(addr, "POST", "/ui/login", &[("Cookie", &login_cookie)], &url_form(&[("csrf", &csrf), ("token", token)]));
    assert_eq!(code, 303);
    assert!(headers.contains("location: /ui/queue"), "{headers}");
    header_value(&headers, "set-cookie", "osw_session=").expect("a session cookie")
}
