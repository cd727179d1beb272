//! The files a report needs beyond the payments: the customer file's KYC columns and the
//! beneficiaries' bank details. CSV with a header; `account_id` is required, the documented
//! columns are read, others are ignored. A malformed line is rejected with its line and
//! reason (never its values: these files hold personal data); `read == used + rejected`.

use osecwatch_goaml::{Client, Counterparty};
use std::collections::HashMap;
use std::path::Path;

/// Columns of the customer file that reports use (besides `account_id`).
pub const CUSTOMER_COLUMNS: &[&str] = &[
    "customer_id",
    "first_name",
    "last_name",
    "name",
    "birthdate",
    "ssn",
    "nationality",
    "residence",
    "phone",
    "occupation",
    "address",
    "city",
    "zip",
    "country",
    "iban",
    "opened",
    "currency",
    "branch",
];

/// Columns of the beneficiary file (besides `account_id`).
pub const COUNTERPARTY_COLUMNS: &[&str] = &["name", "country", "institution_name", "swift", "institution_code"];

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReject {
    /// 1-based line (the header is line 1).
    pub line: u64,
    /// Why, without values.
    pub reason: String,
}

/// What a keyed file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyed<T> {
    /// Records by account id (a later line for the same account replaces an earlier one).
    pub records: Vec<T>,
    /// Lines rejected.
    pub rejected: Vec<LineReject>,
    /// Data lines read.
    pub read: u64,
}

fn read_keyed(path: &Path, wanted: &[&str]) -> Result<Keyed<HashMap<String, String>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let header = r.byte_headers().map_err(|e| format!("{}: header: {e}", path.display()))?.clone();
    let names: Vec<String> = header.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    let Some(acc) = names.iter().position(|n| n == "account_id") else {
        return Err(format!("{}: no account_id column", path.display()));
    };
    let mut out = Keyed::default();
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = r.position().line();
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                out.read += 1;
                out.rejected.push(LineReject { line, reason: "not a CSV record (unbalanced quotes?)".into() });
                continue;
            }
        }
        out.read += 1;
        if rec.len() != names.len() {
            out.rejected.push(LineReject {
                line,
                reason: format!("{} fields where the header has {}", rec.len(), names.len()),
            });
            continue;
        }
        let mut m = HashMap::new();
        let mut bad = None;
        for (i, n) in names.iter().enumerate() {
            if i != acc && !wanted.contains(&n.as_str()) {
                continue;
            }
            match std::str::from_utf8(&rec[i]) {
                Ok(v) if v.len() > 512 => bad = Some(format!("{n}: longer than 512 bytes")),
                Ok(v) if !v.trim().is_empty() => {
                    m.insert(n.clone(), v.trim().to_string());
                }
                Ok(_) => {}
                Err(_) => bad = Some(format!("{n}: not UTF-8")),
            }
        }
        if let Some(reason) = bad {
            out.rejected.push(LineReject { line, reason });
            continue;
        }
        if !m.contains_key("account_id") {
            out.rejected.push(LineReject { line, reason: "account_id: empty".into() });
            continue;
        }
        out.records.push(m);
    }
    Ok(out)
}

/// Read the customer file's KYC columns.
pub fn read_customers(path: &Path) -> Result<Keyed<Client>, String> {
    let k = read_keyed(path, CUSTOMER_COLUMNS)?;
    let records = k
        .records
        .into_iter()
        .map(|mut m| {
            let mut take = |k: &str| m.remove(k);
            let (mut first, mut last) = (take("first_name"), take("last_name"));
            // A single `name` column: the last word is taken as the last name.
            if let (None, None, Some(n)) = (&first, &last, take("name")) {
                match n.rsplit_once(' ') {
                    Some((f, l)) => (first, last) = (Some(f.to_string()), Some(l.to_string())),
                    None => last = Some(n),
                }
            }
            Client {
                account_id: take("account_id").unwrap_or_default(),
                customer_id: take("customer_id"),
                first_name: first,
                last_name: last,
                birthdate: take("birthdate"),
                ssn: take("ssn"),
                nationality: take("nationality"),
                residence: take("residence"),
                phone: take("phone"),
                occupation: take("occupation"),
                address: take("address"),
                city: take("city"),
                zip: take("zip"),
                country: take("country"),
                iban: take("iban"),
                opened: take("opened"),
                currency: take("currency"),
                branch: take("branch"),
            }
        })
        .collect();
    Ok(Keyed { records, rejected: k.rejected, read: k.read })
}

/// Read the beneficiary file.
pub fn read_counterparties(path: &Path) -> Result<Keyed<Counterparty>, String> {
    let k = read_keyed(path, COUNTERPARTY_COLUMNS)?;
    let records = k
        .records
        .into_iter()
        .map(|mut m| Counterparty {
            account_id: m.remove("account_id").unwrap_or_default(),
            name: m.remove("name"),
            country: m.remove("country"),
            institution_name: m.remove("institution_name"),
            swift: m.remove("swift"),
            institution_code: m.remove("institution_code"),
        })
        .collect();
    Ok(Keyed { records, rejected: k.rejected, read: k.read })
}
