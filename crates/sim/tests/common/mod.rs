//! Shared helpers: generate a world once per test binary and read it back.

#![allow(dead_code)]

use osecwatch_formats::Format;
use osecwatch_sim::{simulate, Scenario, SimOptions, Summary};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub struct Generated {
    pub dir: tempfile::TempDir,
    pub summary: Summary,
}

impl Generated {
    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
}

pub fn generate(sc: &Scenario, format: Format) -> Generated {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions { out_dir: dir.path().to_path_buf(), format };
    let summary = simulate(sc, &opts, &mut |_| {}).expect("simulate");
    Generated { dir, summary }
}

/// The `small` preset as CSV, generated once and shared by the tests of one binary.
pub fn small() -> &'static Generated {
    static W: OnceLock<Generated> = OnceLock::new();
    W.get_or_init(|| generate(&Scenario::load("small").expect("small preset"), Format::Csv))
}

#[derive(Debug, Clone)]
pub struct Row {
    pub fields: HashMap<String, String>,
}

impl Row {
    pub fn get(&self, k: &str) -> &str {
        self.fields.get(k).map(String::as_str).unwrap_or("")
    }
}

pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut r = csv::Reader::from_path(path).expect("open csv");
    let headers: Vec<String> = r.headers().expect("headers").iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("csv record");
            Row { fields: headers.iter().cloned().zip(rec.iter().map(str::to_string)).collect() }
        })
        .collect();
    (headers, rows)
}

/// Transactions joined with their labels and the sender's and recipient's entity labels.
pub struct Labelled {
    pub txns: Vec<Row>,
    pub is_osec: HashMap<String, bool>,
    pub entities: HashMap<String, Row>,
}

impl Labelled {
    pub fn load(g: &Generated) -> Labelled {
        let (_, txns) = read_csv(&g.path("transactions.csv"));
        let (_, labels) = read_csv(&g.path("txn_labels.csv"));
        let is_osec = labels.iter().map(|r| (r.get("txn_id").to_string(), r.get("is_osec") == "true")).collect();
        let (_, ents) = read_csv(&g.path("entity_labels.csv"));
        let entities = ents.into_iter().map(|r| (r.get("entity_id").to_string(), r)).collect();
        Labelled { txns, is_osec, entities }
    }

    pub fn osec(&self, t: &Row) -> bool {
        self.is_osec[t.get("txn_id")]
    }

    pub fn sender_archetype(&self, t: &Row) -> &str {
        self.entities[t.get("sender_id")].get("archetype")
    }

    pub fn recipient_role(&self, t: &Row) -> &str {
        self.entities[t.get("recipient_id")].get("role")
    }
}
