//! Bank exports as they come: a mapping file (see [`spec`]) turns each row of a CSV export
//! with the bank's own columns, dialect, encoding, number and date notation into the 13
//! canonical fields, which then go through the same [`RowParser`] as canonical input, so a
//! mapped row is accepted or refused for the same reasons (with the source column named).
//!
//! Rows that are not outgoing payments (a credit, a cancelled order: the mapping's
//! `amount_sign` and `[[keep]]` filters say which) are *skipped*: counted with their reason,
//! not screened and not quarantined, so `read = accepted + rejected + skipped`.
//!
//! Why the `csv` crate's byte records and not the canonical reader's parallel splitter:
//! exports are quoted, semicolon-separated and in legacy encodings, which the fast path does
//! not take; a bank's daily export is small next to a scan's throughput, and one reader
//! that gets every dialect right is worth more here than speed.

pub mod spec;
mod values;

use crate::row::field::{AMOUNT, TIMESTAMP};
use crate::row::{RowParser, REQUIRED};
use crate::{clip, io, IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::CANONICAL_COLUMNS;
use spec::{Field, MappingFile, Source};
use std::io::Read;
use std::path::Path;
use values::{Ambiguous, AmountRules, Encoding, TimeRules};

/// A compiled mapping: the file's settings checked, ready to read exports with.
#[derive(Debug, Clone)]
pub struct Mapping {
    file: MappingFile,
    /// The mapping's name, for messages.
    pub name: String,
    amounts: AmountRules,
    times: TimeRules,
    /// The dialect as checked: delimiter (`None`: detect), quote, encoding (`None`: detect).
    delimiter: Option<u8>,
    quote: u8,
    encoding: Option<Encoding>,
}

impl Mapping {
    /// Read and check a mapping file.
    pub fn from_file(path: &Path) -> Result<Mapping, IngestError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Mapping::from_toml(&text, &path.display().to_string())
            .map_err(|message| IngestError::Format { path: path.to_path_buf(), message })
    }

    /// Check a mapping given as TOML text; `name` names it in messages.
    pub fn from_toml(text: &str, name: &str) -> Result<Mapping, String> {
        let file: MappingFile = toml::from_str(text).map_err(|e| format!("mapping: {e}"))?;
        spec::check_names(&file).map_err(|e| format!("mapping: {e}"))?;
        let missing: Vec<&str> = CANONICAL_COLUMNS
            .iter()
            .zip(REQUIRED)
            .filter(|(f, required)| *required && !file.fields.contains_key(**f))
            .map(|(f, _)| *f)
            .collect();
        if !missing.is_empty() {
            return Err(format!("mapping: required field(s) not mapped: {}", missing.join(", ")));
        }
        let v = &file.values;
        let one_char = |s: &Option<String>, what: &str, default: Option<char>| -> Result<Option<char>, String> {
            match s.as_deref() {
                None => Ok(default),
                Some("") => Ok(None),
                Some(x) if x.chars().count() == 1 => Ok(x.chars().next()),
                Some(x) => Err(format!("mapping: {what} `{x}` must be one character")),
            }
        };
        let decimal = one_char(&v.decimal, "decimal", Some('.'))?.ok_or("mapping: decimal cannot be empty")?;
        let thousands = one_char(&v.thousands, "thousands", None)?;
        if thousands == Some(decimal) {
            return Err("mapping: decimal and thousands separators are the same".into());
        }
        let negative_is_outgoing = match v.amount_sign.as_deref() {
            None | Some("positive") => false,
            Some("negative_is_outgoing") => true,
            Some(x) => return Err(format!("mapping: amount_sign `{x}`: allowed: positive, negative_is_outgoing")),
        };
        let zone = |s: &Option<String>, what: &str| {
            s.as_deref().map(|z| crate::parse_zone(z, &format!("mapping: {what}"))).transpose()
        };
        let tz = zone(&v.timezone, "timezone")?.unwrap_or(chrono_tz::Tz::UTC);
        let sender_zone = zone(&v.sender_timezone, "sender_timezone")?.unwrap_or(tz);
        let ambiguous = match v.ambiguous_time.as_deref() {
            None | Some("earliest") => Ambiguous::Earliest,
            Some("latest") => Ambiguous::Latest,
            Some("reject") => Ambiguous::Reject,
            Some(x) => return Err(format!("mapping: ambiguous_time `{x}`: allowed: earliest, latest, reject")),
        };
        let format = file.fields.get("timestamp").and_then(|f| f.format.clone());
        let delimiter = dialect_byte(&file.csv.delimiter, "delimiter", true)?;
        let quote = dialect_byte(&file.csv.quote, "quote", false)?.unwrap_or(b'"');
        let encoding = encoding(&file.csv.encoding)?;
        Ok(Mapping {
            delimiter,
            quote,
            encoding,
            name: file.name.clone().unwrap_or_else(|| name.to_string()),
            amounts: AmountRules { decimal, thousands, negative_is_outgoing },
            times: TimeRules { format, zone: tz, sender_zone, ambiguous },
            file,
        })
    }

    /// The source columns the mapping reads past on purpose.
    pub fn ignored(&self) -> &[String] {
        &self.file.ignore
    }
}

/// `auto` (None) or the one ASCII byte a dialect setting names.
fn dialect_byte(s: &str, what: &str, auto_ok: bool) -> Result<Option<u8>, String> {
    match s {
        "auto" if auto_ok => Ok(None),
        "\\t" | "tab" => Ok(Some(b'\t')),
        x if x.len() == 1 && x.is_ascii() => Ok(Some(x.as_bytes()[0])),
        x => Err(format!(
            "mapping: csv.{what} `{x}` must be one ASCII character{}",
            if auto_ok { " or auto" } else { "" }
        )),
    }
}

fn encoding(s: &str) -> Result<Option<Encoding>, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(None),
        "utf-8" | "utf8" => Ok(Some(Encoding::Utf8)),
        "windows-1252" | "cp1252" | "iso-8859-1" | "latin1" | "latin-1" => Ok(Some(Encoding::Windows1252)),
        x => Err(format!("mapping: csv.encoding `{x}`: allowed: utf-8, windows-1252, iso-8859-1, auto")),
    }
}

/// What a mapping makes of a file's columns (for `osecwatch map check`).
#[derive(Debug, Clone)]
pub struct MappedColumns {
    /// The file's columns (positions `1`, `2`... without a header).
    pub header: Vec<String>,
    /// Per canonical field: the source it is fed from, in words.
    pub fields: Vec<(&'static str, String)>,
    /// Columns neither mapped nor listed in `ignore`.
    pub unused: Vec<String>,
    /// The delimiter and encoding used (detected or set).
    pub dialect: String,
}

/// The opened source: its dialect worked out, its header read, the fields resolved.
struct Opened<R: Read> {
    reader: csv::Reader<std::io::Chain<std::io::Cursor<Vec<u8>>, R>>,
    header: Vec<String>,
    fields: Vec<Field>,
    encoding: Encoding,
    delimiter: u8,
    /// `[[keep]]` filters: the column, its values, and the reason a row it drops is skipped.
    keep: Vec<(usize, Vec<String>, String)>,
    /// The line of the first data record.
    first_line: u64,
    /// Without a header, the first record, read to count the columns, is data.
    pending: Option<csv::ByteRecord>,
}

fn open<R: Read>(path: &Path, mut r: R, m: &Mapping) -> Result<Opened<R>, IngestError> {
    let fmt = |message: String| IngestError::Format { path: path.to_path_buf(), message };
    let mut sample = Vec::with_capacity(1 << 16);
    (&mut r).take(1 << 16).read_to_end(&mut sample).map_err(io(path))?;
    let bom = sample.starts_with(b"\xef\xbb\xbf");
    if bom {
        sample.drain(..3);
    }
    // A multi-byte character cut by the sample's end is still UTF-8.
    let utf8 = std::str::from_utf8(&sample).map_or_else(|e| e.error_len().is_none(), |_| true);
    let enc = match m.encoding {
        Some(e) => e,
        None if bom || utf8 => Encoding::Utf8,
        None => Encoding::Windows1252,
    };
    // For the error below: UTF-8 text with accents read as Windows-1252 garbles the header.
    let misread = enc == Encoding::Windows1252 && utf8 && !sample.is_ascii();
    let quote = m.quote;
    let delimiter = match m.delimiter {
        Some(d) => d,
        None => detect_delimiter(&sample, quote).map_err(fmt)?,
    };
    // Records end at `\n` only: a `\r` before it is trimmed with the field's spaces, and the
    // `csv` crate's line numbers (the quarantine's positions) stay right in CRLF files.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::Cursor::new(sample).chain(r));
    let mut first = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut first).map_err(|e| fmt(e.to_string()))? {
        return Err(fmt("the file is empty".into()));
    }
    let (header, first_line) = if m.file.csv.header {
        let names = first
            .iter()
            .map(|b| values::decode(b, enc).map(|s| s.trim().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fmt(format!("header: {e}")))?;
        (names, 2)
    } else {
        // The first record is data: read it again after the names are known.
        ((1..=first.len()).map(|i| i.to_string()).collect(), 1)
    };
    let fields = spec::resolve(&m.file, &header).map_err(|e| {
        let hint = if misread {
            " (the file looks like UTF-8 text, but the mapping reads it as Windows-1252: check csv.encoding)"
        } else {
            ""
        };
        fmt(format!("mapping {}: {e}{hint}", m.name))
    })?;
    let keep = m
        .file
        .keep
        .iter()
        .map(|k| {
            let at = header.iter().position(|h| *h == k.column).expect("resolve checked it");
            let values: Vec<String> = k.values.iter().map(|v| v.trim().to_string()).collect();
            let reason = format!("`{}` is not {}", header[at], k.values.join(" or "));
            (at, values, reason)
        })
        .collect();
    let pending = (!m.file.csv.header).then_some(first);
    Ok(Opened { reader, header, fields, encoding: enc, delimiter, keep, first_line, pending })
}

/// The delimiter of the first line: the candidate that splits it into the most fields,
/// if the second line splits the same way. Anything less clear is an error asking for it.
fn detect_delimiter(sample: &[u8], quote: u8) -> Result<u8, String> {
    let lines: Vec<&[u8]> = sample.split(|b| *b == b'\n').take(2).collect();
    let count = |line: &[u8], d: u8| {
        let mut inside = false;
        line.iter()
            .filter(|b| {
                if **b == quote {
                    inside = !inside;
                }
                !inside && **b == d
            })
            .count()
    };
    let mut best: Vec<(usize, u8)> = [b',', b';', b'\t', b'|'].iter().map(|d| (count(lines[0], *d), *d)).collect();
    best.sort_by_key(|b| std::cmp::Reverse(b.0));
    let (n, d) = best[0];
    let unclear = n == 0
        || best[1].0 == n
        || lines.get(1).is_some_and(|l| !l.iter().all(u8::is_ascii_whitespace) && count(l, d) != n);
    if unclear {
        return Err("cannot tell the delimiter from the first lines; set csv.delimiter in the mapping".into());
    }
    Ok(d)
}

/// Read the columns a mapping makes of a file (its header only).
pub fn mapped_columns(path: &Path, m: &Mapping) -> Result<MappedColumns, IngestError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let o = open(path, f, m)?;
    let mut used = vec![false; o.header.len()];
    let fields = CANONICAL_COLUMNS
        .iter()
        .zip(&o.fields)
        .map(|(c, f)| {
            let what = match &f.source {
                Source::Columns(pos, sep) => {
                    pos.iter().for_each(|p| used[*p] = true);
                    let names: Vec<String> = f.names.iter().map(|n| format!("`{n}`")).collect();
                    if names.len() > 1 {
                        format!("{} joined with {sep:?}", names.join(" + "))
                    } else {
                        names.join("")
                    }
                }
                Source::Constant(v) => format!("the constant {v:?}"),
                Source::Absent => "(not mapped)".into(),
            };
            let mapped = if f.map.is_empty() { String::new() } else { format!(", {} values mapped", f.map.len()) };
            (*c, what + &mapped)
        })
        .collect();
    o.keep.iter().for_each(|(p, _, _)| used[*p] = true);
    let unused = o
        .header
        .iter()
        .enumerate()
        .filter(|(i, h)| !used[*i] && !m.file.ignore.contains(h))
        .map(|(_, h)| h.clone())
        .collect();
    let dialect = format!(
        "delimiter {:?}, encoding {}",
        o.delimiter as char,
        if o.encoding == Encoding::Utf8 { "UTF-8" } else { "Windows-1252" }
    );
    Ok(MappedColumns { header: o.header, fields, unused, dialect })
}

/// Read a bank export through a mapping.
pub fn read_mapped(path: &Path, m: &Mapping, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    read_mapped_from(path, f, m, v)
}

/// [`read_mapped`] from any reader; `path` names the source.
pub fn read_mapped_from<R: Read>(
    path: &Path,
    r: R,
    m: &Mapping,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let mut o = open(path, r, m)?;
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut rec = csv::ByteRecord::new();
    let mut row = RowState::default();
    let mut line = o.first_line - 1;
    loop {
        if let Some(first) = o.pending.take() {
            rec = first;
        } else {
            match o.reader.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let message = format!("after line {line}: {e}");
                    return Err(IngestError::Format { path: path.to_path_buf(), message });
                }
            }
        }
        // The record's own line: the header (or the re-read first record) is line 1.
        line = rec.position().map_or(line + 1, |p| p.line());
        if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
            continue; // blank line
        }
        stats.read += 1;
        let n = line;
        let loc = || Location { source: source.clone(), position: format!("line {n}") };
        match row.map(&rec, &o, m) {
            Outcome::Skip(reason) => {
                stats.skipped += 1;
                v.skip(&loc, reason);
            }
            Outcome::Reject(reason) => {
                stats.rejected += 1;
                let raw = clip(&String::from_utf8_lossy(rec.as_slice()));
                v.reject(Rejection { location: loc(), reason, raw });
            }
            Outcome::Row => {
                let f: [&str; 13] = std::array::from_fn(|i| row.fields[i].as_str());
                match row.parser.parse(&f) {
                    Ok(t) => {
                        stats.accepted += 1;
                        v.accept(&t, &loc);
                    }
                    Err(reason) => {
                        stats.rejected += 1;
                        let raw = clip(&row.fields.join(","));
                        v.reject(Rejection { location: loc(), reason: name_source(reason, &o.fields), raw });
                    }
                }
            }
        }
    }
    Ok(stats)
}

enum Outcome<'o> {
    Row,
    /// Skipped, with the reason (fixed per filter: no text made per row).
    Skip(&'o str),
    Reject(String),
}

/// Buffers reused from row to row.
#[derive(Default)]
struct RowState {
    text: Vec<String>,
    fields: [String; 13],
    scratch: String,
    parser: RowParser,
}

impl RowState {
    fn map<'o, R: Read>(&mut self, rec: &csv::ByteRecord, o: &'o Opened<R>, m: &Mapping) -> Outcome<'o> {
        if rec.len() != o.header.len() {
            return Outcome::Reject(format!("{} fields, the header has {}", rec.len(), o.header.len()));
        }
        self.text.resize(rec.len(), String::new());
        for (i, b) in rec.iter().enumerate() {
            match values::decode(b, o.encoding) {
                Ok(s) => {
                    self.text[i].clear();
                    self.text[i].push_str(s.trim());
                }
                Err(e) => return Outcome::Reject(format!("column `{}`: {e}", o.header[i])),
            }
        }
        for (col, keep, reason) in &o.keep {
            if !keep.iter().any(|k| *k == self.text[*col]) {
                return Outcome::Skip(reason);
            }
        }
        for (i, f) in o.fields.iter().enumerate() {
            let out = &mut self.fields[i];
            out.clear();
            match &f.source {
                Source::Columns(pos, sep) => {
                    for (k, p) in pos.iter().enumerate() {
                        if k > 0 {
                            out.push_str(sep);
                        }
                        out.push_str(&self.text[*p]);
                    }
                }
                Source::Constant(c) => out.push_str(c),
                Source::Absent => {}
            }
            if let Some(v) = f.map.get(out.as_str()) {
                out.clear();
                out.push_str(v);
            }
        }
        let from = |i: usize| columns_of(&o.fields[i]);
        match values::amount(&self.fields[AMOUNT], &m.amounts, &mut self.scratch) {
            Ok(true) => std::mem::swap(&mut self.fields[AMOUNT], &mut self.scratch),
            Ok(false) => return Outcome::Skip("incoming (a positive amount)"),
            Err(e) => return Outcome::Reject(format!("amount{}: {e}", from(AMOUNT))),
        }
        match values::timestamp(&self.fields[TIMESTAMP], &m.times) {
            Ok(t) => {
                let mut b = [0u8; 25];
                t.write_rfc3339(&mut b);
                let out = &mut self.fields[TIMESTAMP];
                out.clear();
                out.push_str(std::str::from_utf8(&b).expect("RFC 3339 text is ASCII"));
            }
            Err(e) => return Outcome::Reject(format!("timestamp{}: {e}", from(TIMESTAMP))),
        }
        Outcome::Row
    }
}

/// ` (column `X`)` or ` (columns `X`, `Y`)` for a field fed from the source.
fn columns_of(f: &Field) -> String {
    match f.names.as_slice() {
        [] => String::new(),
        [one] => format!(" (column `{one}`)"),
        many => format!(" (columns {})", many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// The canonical parser's reason with the source column of the field it names (the
/// longest canonical name found as a whole word).
fn name_source(reason: String, fields: &[Field]) -> String {
    let word = |c: &str| {
        reason.match_indices(c).any(|(i, _)| {
            let before = reason[..i].chars().next_back();
            let after = reason[i + c.len()..].chars().next();
            let edge = |ch: Option<char>| ch.is_none_or(|ch| !(ch.is_alphanumeric() || ch == '_'));
            edge(before) && edge(after)
        })
    };
    let named = CANONICAL_COLUMNS.iter().enumerate().filter(|(_, c)| word(c)).max_by_key(|(_, c)| c.len());
    match named {
        Some((i, _)) if !fields[i].names.is_empty() => {
            format!("{reason}{}", columns_of(&fields[i]).replacen(" (", " (from ", 1))
        }
        _ => reason,
    }
}
