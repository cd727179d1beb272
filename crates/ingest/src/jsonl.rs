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
        let obj = match serde_json::from_slice::<StrictObject>(&buf) {
            Ok(StrictObject(m)) => m,
            Err(e) => {
                stats.rejected += 1;
                v.reject(Rejection { location: loc(), reason: refusal(&e), raw: raw() });
                continue;
            }
        };
        if !warned_unknown {
            let unknown = obj.keys().filter(|k| !CANONICAL_COLUMNS.contains(&k.as_str())).count();
            if unknown > 0 {
                // How many, not which: keys are input, and logs never hold input values.
                tracing::warn!(file = %path.display(), line, unknown_keys = unknown, "ignoring keys that are not canonical");
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

/// A JSON object whose keys are all different. `serde_json::Map` keeps the last of two equal
/// keys silently, so a payment with `amount` twice would be screened with one value while a
/// gateway that reads the first checks another: such a line is refused, naming the key.
struct StrictObject(serde_json::Map<String, serde_json::Value>);

const DUPLICATE: &str = "duplicate key";

impl<'de> serde::Deserialize<'de> for StrictObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = StrictObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<StrictObject, A::Error> {
                let mut m = serde_json::Map::new();
                while let Some(k) = a.next_key::<String>()? {
                    let v: serde_json::Value = a.next_value()?;
                    if m.contains_key(&k) {
                        // The key is a canonical field name or the sender's own: clipped, it
                        // names the problem without carrying payment content.
                        let shown: String = k.chars().take(40).collect();
                        return Err(serde::de::Error::custom(format!("{DUPLICATE} `{shown}`")));
                    }
                    m.insert(k, v);
                }
                Ok(StrictObject(m))
            }
        }
        d.deserialize_map(Keys)
    }
}

/// The reason for a line that is not one JSON object with distinct keys.
fn refusal(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C" (L is always 1: one line is parsed at a time).
    let message = text.split(" at line ").next().unwrap_or(&text);
    if e.is_data() && message.starts_with(DUPLICATE) {
        format!("{message} (column {}): each field may appear once", e.column())
    } else if e.is_data() {
        "line is not a JSON object".into()
    } else {
        format!("invalid JSON: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rows(Vec<String>, Vec<String>);
    impl Visitor for Rows {
        fn accept(&mut self, row: &osecwatch_model::TxnRow<'_>, _: &dyn Fn() -> Location) {
            self.0.push(row.amount.to_decimal_string());
        }
        fn reject(&mut self, r: Rejection) {
            self.1.push(r.reason);
        }
    }

    #[test]
    fn a_key_given_twice_is_refused_naming_it() {
        let one = r#"{"txn_id":"T1","timestamp":"2025-03-01T22:00:00+01:00","sender_id":"S","sender_country":"DE","recipient_id":"R","recipient_country":"PH","amount":"45.00","currency":"EUR","channel":"mto"}"#;
        let twice = one.replace(r#""amount":"45.00","#, r#""amount":"45.00","amount":"4500.00","#);
        let text = format!("{one}\n{twice}\n[1]\n{{\"a\":\n");
        let mut v = Rows::default();
        let s = read_jsonl_from(Path::new("t"), text.as_bytes(), &mut v).unwrap();
        assert_eq!((s.read, s.accepted, s.rejected), (4, 1, 3));
        assert_eq!(v.0, ["45.00"]);
        assert!(v.1[0].starts_with("duplicate key `amount` (column"), "{:?}", v.1);
        assert_eq!(v.1[1], "line is not a JSON object");
        assert!(v.1[2].starts_with("invalid JSON"), "{:?}", v.1);
    }
}
