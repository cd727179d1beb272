//! The customer file: which customer each of the institution's accounts belongs to, so that
//! accounts of one person can be linked (same-party links). CSV with a header; the columns
//! `account_id` and `customer_id` are required, any others (name, country, opened, and later
//! the KYC fields a report needs) are read past. A malformed line is rejected with its line
//! and reason and the rest are used; `read == used + rejected`.
//!
//! An optional column `relationship_ended` (a date, `YYYY-MM-DD`; empty while the business
//! relationship continues) tells the service's log retention when each account's retention
//! period begins (GwG §8(4)).

use crate::IngestError;
use std::path::Path;

use crate::row::MAX_ID_BYTES;

/// One rejected line of a customer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerReject {
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// Why, in plain words (no field values: a customer file holds personal data).
    pub reason: String,
}

/// What a customer file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFile {
    /// (account id, customer id), in file order.
    pub links: Vec<(String, String)>,
    /// Lines that could not be used.
    pub rejected: Vec<CustomerReject>,
    /// Data lines read (not the header).
    pub read: u64,
    /// With a `relationship_ended` column: each account's end of the business relationship
    /// (UTC seconds at the start of that day), `None` while it continues.
    pub relationships: Option<std::collections::HashMap<String, Option<i64>>>,
}

/// Read a customer file.
pub fn read_customer_file(path: &Path) -> Result<CustomerFile, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    let text = std::fs::read(path).map_err(io)?;
    read_customers_from(path, &text)
}

/// Read a customer file's bytes (`path` names it in errors).
pub fn read_customers_from(path: &Path, bytes: &[u8]) -> Result<CustomerFile, IngestError> {
    let mut r = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let header = r
        .byte_headers()
        .map_err(|e| IngestError::Format { path: path.to_path_buf(), message: format!("header: {e}") })?
        .clone();
    let col = |name: &str| header.iter().position(|h| h.trim_ascii() == name.as_bytes());
    let (Some(acc), Some(cust)) = (col("account_id"), col("customer_id")) else {
        let missing: Vec<&str> = ["account_id", "customer_id"].into_iter().filter(|c| col(c).is_none()).collect();
        return Err(IngestError::MissingColumns { path: path.to_path_buf(), columns: missing.join(", ") });
    };
    let ended_col = col("relationship_ended");
    let mut out = CustomerFile { relationships: ended_col.map(|_| Default::default()), ..Default::default() };
    let mut first_customer: std::collections::HashMap<String, String> = Default::default();
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = r.position().line();
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.read += 1;
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
                    _ => "not a CSV record (unbalanced quotes?)".to_string(),
                };
                out.rejected.push(CustomerReject { line, reason });
                continue;
            }
        }
        out.read += 1;
        let reject = |reason: String| CustomerReject { line, reason };
        if rec.len() != header.len() {
            out.rejected.push(reject(format!("{} fields where the header has {}", rec.len(), header.len())));
            continue;
        }
        let field = |i: usize, name: &str| -> Result<String, String> {
            let v = std::str::from_utf8(&rec[i]).map_err(|_| format!("{name}: not UTF-8"))?.trim();
            if v.is_empty() {
                return Err(format!("{name}: empty"));
            }
            if v.len() > MAX_ID_BYTES {
                return Err(format!("{name}: longer than {MAX_ID_BYTES} bytes"));
            }
            Ok(v.to_string())
        };
        let (account, customer) = match (field(acc, "account_id"), field(cust, "customer_id")) {
            (Ok(a), Ok(c)) => (a, c),
            (Err(why), _) | (_, Err(why)) => {
                out.rejected.push(reject(why));
                continue;
            }
        };
        let ended = match ended_col.map(|i| relationship_end(&rec[i])) {
            Some(Err(why)) => {
                out.rejected.push(reject(why));
                continue;
            }
            Some(Ok(e)) => e,
            None => None,
        };
        match first_customer.get(&account) {
            Some(c) if *c == customer => {} // the same link twice: harmless
            Some(_) => {
                out.rejected
                    .push(reject("account_id already belongs to another customer_id on an earlier line".into()));
                continue;
            }
            None => {
                first_customer.insert(account.clone(), customer.clone());
            }
        }
        if let Some(r) = out.relationships.as_mut() {
            r.insert(account.clone(), ended);
        }
        out.links.push((account, customer));
    }
    Ok(out)
}

/// A `relationship_ended` value: empty while the relationship continues, else a date.
fn relationship_end(v: &[u8]) -> Result<Option<i64>, String> {
    let v = std::str::from_utf8(v).map_err(|_| "relationship_ended: not UTF-8".to_string())?.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| "relationship_ended: not a date (YYYY-MM-DD)".to_string())?;
    Ok(Some(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_named_and_the_rest_used() {
        let text = "account_id,customer_id,name\n\
                    A1,C1,Max\n\
                    A2,C1,Max\n\
                    ,C2,Nobody\n\
                    A3,C3\n\
                    A1,C9,Other\n";
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(b"A4,C\xff4,x\n");
        let f = read_customers_from(Path::new("c.csv"), &bytes).unwrap();
        assert_eq!(f.links, vec![("A1".into(), "C1".into()), ("A2".into(), "C1".into())]);
        let lines: Vec<u64> = f.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7], "{:?}", f.rejected);
        assert!(f.rejected[0].reason.contains("account_id: empty"));
        assert!(f.rejected[1].reason.contains("2 fields where the header has 3"));
        assert!(f.rejected[2].reason.contains("another customer_id"));
        assert!(f.rejected[3].reason.contains("not UTF-8"), "{:?}", f.rejected[3]);
        assert_eq!(f.read as usize, f.links.len() + f.rejected.len());
        // No field value is repeated in a reason (a customer file holds personal data).
        assert!(f.rejected.iter().all(|r| !r.reason.contains("Max") && !r.reason.contains("C9")));
    }

    #[test]
    fn the_end_of_a_relationship_is_read_when_the_column_is_there() {
        let text = "account_id,customer_id,relationship_ended\nA1,C1,\nA2,C2,2020-03-01\nA3,C3,01.03.2020\n";
        let f = read_customers_from(Path::new("c.csv"), text.as_bytes()).unwrap();
        let r = f.relationships.unwrap();
        assert_eq!((r["A1"], r["A2"], r.get("A3")), (None, Some(1_583_020_800), None));
        assert_eq!(f.rejected.len(), 1);
        assert!(f.rejected[0].reason.contains("relationship_ended") && !f.rejected[0].reason.contains("2020"));
        let f = read_customers_from(Path::new("c.csv"), b"account_id,customer_id\nA1,C1\n").unwrap();
        assert!(f.relationships.is_none(), "no column: nothing known about relationships");
    }

    #[test]
    fn a_file_without_the_required_columns_is_an_error_naming_them() {
        let e = read_customers_from(Path::new("c.csv"), b"account,name\nA1,Max\n").unwrap_err().to_string();
        assert!(e.contains("account_id, customer_id"), "{e}");
    }
}
