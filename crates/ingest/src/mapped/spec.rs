//! The mapping file: how a bank's own export becomes canonical rows.
//!
//! A mapping is TOML (see `mappings/` in the repository for two complete examples):
//!
//! ```toml
//! [csv]                     # the dialect; every key may be left out
//! delimiter = ";"           # ",", ";", "\t", "|" or "auto" (default: auto)
//! quote = '"'
//! encoding = "windows-1252" # "utf-8" (a BOM is dropped), "windows-1252", "iso-8859-1" or "auto"
//! header = true             # false: columns are named by position, "1", "2", ...
//!
//! [values]
//! decimal = ","             # decimal separator of amounts (default ".")
//! thousands = "."           # thousands separator (default: none accepted)
//! timezone = "Europe/Berlin"       # the zone of date-times written without an offset
//! sender_timezone = "Europe/Berlin" # whose local time night and payday features read (default: timezone)
//! ambiguous_time = "earliest"      # a local time that occurs twice (autumn DST): earliest, latest or reject
//! amount_sign = "negative_is_outgoing" # or "positive" (default: every row is outgoing)
//!
//! [[keep]]                  # rows that are not outgoing payments are skipped, counted with the reason
//! column = "Status"
//! values = ["PAID"]
//!
//! [fields]                  # per canonical field: column, columns (joined), or constant
//! txn_id = { column = "Buchungsreferenz" }
//! timestamp = { columns = ["Buchungsdatum", "Uhrzeit"], format = "%d.%m.%Y %H:%M:%S" }
//! sender_id = { columns = ["BLZ", "Konto"], separator = "" }
//! sender_country = { constant = "DE" }
//! channel = { column = "Buchungstext", map = { "Kartenzahlung" = "card" } }
//!
//! ignore = ["Saldo"]        # columns read past on purpose (others unused are listed by `map check`)
//! ```

use osecwatch_model::CANONICAL_COLUMNS;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A mapping file as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The CSV dialect.
    #[serde(default)]
    pub csv: CsvDialect,
    /// How values are written.
    #[serde(default)]
    pub values: ValueRules,
    /// Filters: a row is screened only if every filter keeps it.
    #[serde(default)]
    pub keep: Vec<Keep>,
    /// Canonical field name -> where its value comes from.
    pub fields: BTreeMap<String, FieldSpec>,
    /// Source columns read past on purpose.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// A name and a description, for people.
    #[serde(default)]
    pub name: Option<String>,
    /// What export this maps.
    #[serde(default)]
    pub description: Option<String>,
}

/// The CSV dialect of a source file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvDialect {
    /// `,` `;` `\t` `|` or `auto`.
    #[serde(default = "auto")]
    pub delimiter: String,
    /// The quote character.
    #[serde(default = "dquote")]
    pub quote: String,
    /// `utf-8`, `windows-1252`, `iso-8859-1` or `auto`.
    #[serde(default = "auto")]
    pub encoding: String,
    /// Whether the first record names the columns.
    #[serde(default = "yes")]
    pub header: bool,
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect { delimiter: auto(), quote: dquote(), encoding: auto(), header: true }
    }
}

fn auto() -> String {
    "auto".into()
}
fn dquote() -> String {
    "\"".into()
}
fn yes() -> bool {
    true
}

/// How amounts and times are written in the source.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValueRules {
    /// Decimal separator (default `.`).
    pub decimal: Option<String>,
    /// Thousands separator (default: none accepted).
    pub thousands: Option<String>,
    /// IANA zone of date-times written without an offset (default UTC).
    pub timezone: Option<String>,
    /// IANA zone whose local time the features read (default: `timezone`).
    pub sender_timezone: Option<String>,
    /// `earliest`, `latest` or `reject` for a local time that occurs twice.
    pub ambiguous_time: Option<String>,
    /// `positive` (default) or `negative_is_outgoing`.
    pub amount_sign: Option<String>,
}

/// A filter on one column: rows whose value is not listed are skipped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// The source column.
    pub column: String,
    /// The values of rows to screen (compared after trimming spaces).
    pub values: Vec<String>,
}

/// Where one canonical field comes from.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// One source column.
    pub column: Option<String>,
    /// Several source columns, joined with `separator`.
    pub columns: Option<Vec<String>>,
    /// What joins `columns` (default one space).
    pub separator: Option<String>,
    /// A constant value.
    pub constant: Option<String>,
    /// Source values replaced before validation (channel codes, currency aliases...).
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// For `timestamp`: a chrono format (`%d.%m.%Y %H:%M:%S`); with `%z` the offset is read.
    pub format: Option<String>,
}

/// Where a canonical field's value comes from, resolved against the file's columns.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Columns (by position) joined by the separator.
    Columns(Vec<usize>, String),
    /// A constant.
    Constant(String),
    /// Not mapped (an optional field).
    Absent,
}

/// A canonical field as the mapping feeds it.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) source: Source,
    pub(crate) map: BTreeMap<String, String>,
    /// Source column names, for reasons.
    pub(crate) names: Vec<String>,
}

/// Problems in the mapping itself, found before a row is read.
pub(crate) fn check_names(m: &MappingFile) -> Result<(), String> {
    for k in m.fields.keys() {
        if !CANONICAL_COLUMNS.contains(&k.as_str()) {
            return Err(format!(
                "[fields] names `{k}`, which is not a canonical field ({})",
                CANONICAL_COLUMNS.join(", ")
            ));
        }
    }
    for (k, f) in &m.fields {
        let n = f.column.is_some() as u8 + f.columns.is_some() as u8 + f.constant.is_some() as u8;
        if n != 1 {
            return Err(format!("field `{k}`: give exactly one of `column`, `columns` or `constant`"));
        }
        if f.format.is_some() && k != "timestamp" {
            return Err(format!("field `{k}`: `format` applies to `timestamp` only"));
        }
        if f.columns.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!("field `{k}`: `columns` is empty"));
        }
    }
    Ok(())
}

/// Resolve each canonical field against the header; a missing column is named with the
/// columns the file has.
pub(crate) fn resolve(m: &MappingFile, header: &[String]) -> Result<Vec<Field>, String> {
    let find = |name: &str, what: &str| -> Result<usize, String> {
        header.iter().position(|h| h == name).ok_or_else(|| {
            format!("{what} names column `{name}`, which the file does not have; it has: {}", list(header))
        })
    };
    for k in &m.keep {
        find(&k.column, "[[keep]]")?;
    }
    let mut out = Vec::with_capacity(13);
    for c in CANONICAL_COLUMNS {
        let Some(spec) = m.fields.get(c) else {
            out.push(Field { source: Source::Absent, map: BTreeMap::new(), names: vec![] });
            continue;
        };
        let what = format!("field `{c}`");
        let (source, names) = if let Some(v) = &spec.constant {
            (Source::Constant(v.clone()), vec![])
        } else {
            let cols: Vec<String> = spec.column.iter().cloned().chain(spec.columns.iter().flatten().cloned()).collect();
            let pos = cols.iter().map(|n| find(n, &what)).collect::<Result<Vec<_>, _>>()?;
            (Source::Columns(pos, spec.separator.clone().unwrap_or_else(|| " ".into())), cols)
        };
        out.push(Field { source, map: spec.map.clone(), names });
    }
    Ok(out)
}

/// Column names for a message, shortened when there are many.
pub(crate) fn list(header: &[String]) -> String {
    let mut s: Vec<String> = header.iter().take(30).map(|h| format!("`{h}`")).collect();
    if header.len() > 30 {
        s.push(format!("and {} more", header.len() - 30));
    }
    s.join(", ")
}
