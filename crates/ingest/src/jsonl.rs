//! Canonical JSON Lines: one object per line with the canonical keys.

use crate::row::{deliver, RowParser};
use crate::{clip, io, IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::CANONICAL_COLUMNS;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Read canonical JSON Lines: one object per line with the canonical keys. Values are
/// strings (numbers are accepted for `amount` and `merchant_category`); `null` or a
/// missing key means absent. Blank lines are skipped and not counted.
pub fn read_jsonl(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let file = File::open(path).map_err(io(path))?;
    read_jsonl_from(path, BufReader::with_capacity(1 << 20, file), v)
}

/// [`read_jsonl`] from any buffered reader; `path` names the source.
pub fn read_jsonl_from<R: BufRead>(path: &Path, mut r: R, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut parser = RowParser::default();
    let mut buf = Vec::new();
    let mut warned_unknown = false;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = line_no;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        stats.read += 1;
        let loc = || Location { source: source.clone(), position: format!("line {line}") };
        let raw = || clip(String::from_utf8_lossy(&buf).trim_end());
        let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&buf) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => {
                stats.rejected += 1;
                v.reject(Rejection { location: loc(), reason: "line is not a JSON object".into(), raw: raw() });
                continue;
            }
            Err(e) => {
                stats.rejected += 1;
                v.reject(Rejection { location: loc(), reason: format!("invalid JSON: {e}"), raw: raw() });
                continue;
            }
        };
        if !warned_unknown {
            let unknown: Vec<&String> = obj.keys().filter(|k| !CANONICAL_COLUMNS.contains(&k.as_str())).collect();
            if !unknown.is_empty() {
                tracing::warn!(file = %path.display(), keys = ?unknown, "ignoring unknown keys");
                warned_unknown = true;
            }
        }
        let mut numbers: [String; 13] = Default::default();
        let mut problem = None;
        for (i, c) in CANONICAL_COLUMNS.iter().enumerate() {
            match obj.get(*c) {
                None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => {}
                Some(serde_json::Value::Number(n)) if *c == "amount" || *c == "merchant_category" => {
                    numbers[i] = n.to_string();
                }
                Some(other) => problem = Some(format!("field `{c}` must be a string, found {}", kind(other))),
            }
        }
        if let Some(reason) = problem {
            stats.rejected += 1;
            v.reject(Rejection { location: loc(), reason, raw: raw() });
            continue;
        }
        let mut f: [&str; 13] = [""; 13];
        for (i, c) in CANONICAL_COLUMNS.iter().enumerate() {
            f[i] = match obj.get(*c) {
                Some(serde_json::Value::String(s)) => s.as_str(),
                _ => numbers[i].as_str(),
            };
        }
        deliver(parser.parse(&f), &mut stats, v, &loc, raw);
    }
    Ok(stats)
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
