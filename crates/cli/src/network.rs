//! `osecwatch network`: batch network analysis over payment files. It runs the same scan
//! (same engine, same outputs), then writes the payment graph for Gephi or networkx
//! (`graph.graphml`), the top hubs with their network figures (`hubs.csv`), and what became
//! of each seed (`seeds.csv`).
//!
//! Seeds are entities confirmed elsewhere (another bank's report, a police request): buyers
//! go on the watch list, so they count as risky payers from their first payment and pass
//! that to their recipients; facilitators are scored by the pack's confirmed-facilitator
//! rules, so every payer of one is alerted at its payment. A malformed seed line is named
//! with its line and reason and the rest are used; a seed id that no payment carries is
//! listed as unknown, not an error.

use crate::scan::{print_scan, scan, ScanArgs, ScanOptions};
use anyhow::{Context, Result};
use clap::Args;
use osecwatch_engine::Engine;
use osecwatch_model::{Money, Timestamp};
use quick_xml::escape::escape;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct NetworkArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Seeds confirmed elsewhere: `entity_id,role` per line, role `buyer` or `facilitator`
    /// (`#` comments, an optional header line).
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    /// How many recipients `hubs.csv` lists, most payers first.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
}

/// Seeds as read: the usable ones, and each line that was not.
#[derive(Debug, Default, PartialEq)]
pub struct Seeds {
    /// (line, entity id) of buyer seeds.
    pub buyers: Vec<(u64, String)>,
    /// (line, entity id) of facilitator seeds.
    pub facilitators: Vec<(u64, String)>,
    /// (line, reason) of lines that were not used.
    pub malformed: Vec<(u64, String)>,
}

/// Read a seeds file's text.
pub fn parse_seeds(text: &str) -> Seeds {
    let mut s = Seeds::default();
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = (i + 1) as u64;
        let l = raw.trim().trim_start_matches('\u{feff}');
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if std::mem::take(&mut first) && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("entity_id")) {
            continue;
        }
        match fields.as_slice() {
            ["", _] => s.malformed.push((line, "empty entity_id".into())),
            [id, role] if role.eq_ignore_ascii_case("buyer") => s.buyers.push((line, id.to_string())),
            [id, role] if role.eq_ignore_ascii_case("facilitator") => s.facilitators.push((line, id.to_string())),
            [_, role] => s.malformed.push((line, format!("role `{role}`: allowed: buyer, facilitator"))),
            _ => s.malformed.push((line, format!("{} fields: expected entity_id,role", fields.len()))),
        }
    }
    s
}

pub fn run_network(a: NetworkArgs) -> Result<()> {
    let seeds = match &a.seeds {
        Some(p) => parse_seeds(&std::fs::read_to_string(p).with_context(|| format!("reading seeds {}", p.display()))?),
        None => Seeds::default(),
    };
    let s = &a.scan;
    let opts = ScanOptions {
        seed_buyers: seeds.buyers.iter().map(|b| b.1.clone()).collect(),
        seed_facilitators: seeds.facilitators.iter().map(|f| f.1.clone()).collect(),
        ..s.options()?
    };
    let (summary, engine) = scan(&s.input, s.rules.as_deref(), &s.out, &opts)?;
    print_scan(&summary, &s.out);
    let (nodes, edges) = write_graphml(&engine, &s.out.join("graph.graphml"))?;
    write_hubs(&engine, a.top, &s.out.join("hubs.csv"))?;
    let (used, unknown) = write_seeds(&engine, &seeds, &s.out.join("seeds.csv"))?;
    let mut o = String::new();
    let _ =
        writeln!(o, "  graph: {nodes} entities, {edges} payment edges -> {}", s.out.join("graph.graphml").display());
    let _ = writeln!(o, "  hubs: {}", s.out.join("hubs.csv").display());
    if a.seeds.is_some() {
        let _ = writeln!(
            o,
            "  seeds: {used} used, {unknown} unknown (no payment carries them), {} malformed lines (see seeds.csv)",
            seeds.malformed.len()
        );
    }
    crate::out(&o);
    Ok(())
}

fn alerted(engine: &Engine, side: &str) -> BTreeSet<String> {
    engine.alert_list().filter(|a| a.entity_type == side).map(|a| a.entity_id.clone()).collect()
}

/// The payment graph as GraphML: senders `s:ID` and recipients `r:ID` (an account may be
/// both), each with its role, alert and risk; edges with their payments. Returns the counts.
fn write_graphml(engine: &Engine, path: &Path) -> Result<(usize, usize)> {
    let edges = engine.graph_edges();
    let (buyers, facilitators) = (alerted(engine, "sender"), alerted(engine, "recipient"));
    let recipients: std::collections::HashMap<&str, _> =
        engine.recipient_summaries().into_iter().map(|r| (r.id, r)).collect();
    let currency = engine.pack().settings.base_currency;
    use std::io::Write as _;
    // Streamed: the graph of a large bank does not fit in one string.
    let file = std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut o = std::io::BufWriter::new(file);
    o.write_all(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#,
            "\n"
        )
        .as_bytes(),
    )?;
    for (id, on, ty) in [
        ("entity_id", "node", "string"),
        ("kind", "node", "string"),
        ("alerted", "node", "boolean"),
        ("risk", "node", "double"),
        ("payers", "node", "int"),
        ("hub", "node", "boolean"),
        ("payments", "edge", "int"),
        ("night_payments", "edge", "int"),
        ("amount", "edge", "string"),
        ("first", "edge", "string"),
        ("last", "edge", "string"),
        ("family", "edge", "boolean"),
    ] {
        writeln!(o, r#"  <key id="{id}" for="{on}" attr.name="{id}" attr.type="{ty}"/>"#)?;
    }
    o.write_all(b"  <graph id=\"payments\" edgedefault=\"directed\">\n")?;
    let mut seen: BTreeSet<(char, &str)> = BTreeSet::new();
    for e in &edges {
        for (side, id) in [('s', e.sender), ('r', e.recipient)] {
            if !seen.insert((side, id)) {
                continue;
            }
            let (kind, alert, risk, payers, hub) = if side == 's' {
                let risk = engine.sender_own_risk(id).unwrap_or(0.0);
                ("sender", buyers.contains(id), risk, 0, false)
            } else {
                let r = recipients.get(id);
                let (risk, payers, hub) = r.map_or((0.0, 0, false), |r| (r.network_risk, r.payers, r.hub));
                ("recipient", facilitators.contains(id), risk, payers, hub)
            };
            writeln!(
                o,
                r#"    <node id="{side}:{eid}"><data key="entity_id">{eid}</data><data key="kind">{kind}</data><data key="alerted">{alert}</data><data key="risk">{risk:.4}</data><data key="payers">{payers}</data><data key="hub">{hub}</data></node>"#,
                eid = escape(id)
            )?;
        }
    }
    let ts = |utc: i64| Timestamp::new(utc, 0).to_rfc3339();
    for e in &edges {
        writeln!(
            o,
            r#"    <edge source="s:{}" target="r:{}"><data key="payments">{}</data><data key="night_payments">{}</data><data key="amount">{}</data><data key="first">{}</data><data key="last">{}</data><data key="family">{}</data></edge>"#,
            escape(e.sender),
            escape(e.recipient),
            e.payments,
            e.night_payments,
            Money::new(e.amount_minor, currency).to_decimal_string(),
            ts(e.first),
            ts(e.last),
            e.family
        )?;
    }
    o.write_all(b"  </graph>\n</graphml>\n")?;
    o.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok((seen.len(), edges.len()))
}

/// The recipients with the most unrelated payers, with their network figures.
fn write_hubs(engine: &Engine, top: usize, path: &Path) -> Result<()> {
    let facilitators = alerted(engine, "recipient");
    let mut all = engine.recipient_summaries();
    all.sort_by(|a, b| b.payers.cmp(&a.payers).then(a.id.cmp(b.id)));
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record([
        "entity_id",
        "unrelated_payers",
        "risky_payers",
        "network_risk",
        "hub",
        "known_facilitator",
        "alerted",
    ])?;
    for r in all.iter().take(top) {
        w.write_record([
            r.id.to_string(),
            r.payers.to_string(),
            r.risky_payers.to_string(),
            format!("{:.4}", r.network_risk),
            r.hub.to_string(),
            r.known.to_string(),
            facilitators.contains(r.id).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Each seed line with what became of it: used (and whether it was alerted), unknown, or
/// malformed with the reason. Returns (used, unknown).
fn write_seeds(engine: &Engine, seeds: &Seeds, path: &Path) -> Result<(usize, usize)> {
    let mut rows: Vec<(u64, String, &str, String)> = Vec::new();
    let (mut used, mut unknown) = (0, 0);
    let alerted_ids: BTreeSet<&str> = engine.alert_list().map(|a| a.entity_id.as_str()).collect();
    for (role, list) in [("buyer", &seeds.buyers), ("facilitator", &seeds.facilitators)] {
        for (line, id) in list {
            let known = if role == "buyer" { engine.knows_sender(id) } else { engine.knows_recipient(id) };
            let status = if known || alerted_ids.contains(id.as_str()) {
                used += 1;
                if alerted_ids.contains(id.as_str()) {
                    "used, alerted"
                } else {
                    "used"
                }
            } else {
                unknown += 1;
                "unknown: no payment carries this id"
            };
            rows.push((*line, id.clone(), role, status.to_string()));
        }
    }
    for (line, reason) in &seeds.malformed {
        rows.push((*line, String::new(), "", format!("malformed: {reason}")));
    }
    rows.sort_by_key(|r| r.0);
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["line", "entity_id", "role", "status"])?;
    for (line, id, role, status) in rows {
        w.write_record([line.to_string(), id, role.to_string(), status])?;
    }
    w.flush()?;
    Ok((used, unknown))
}
