//! Schema validation of ISO 20022 files against the official XSDs.
//!
//! The reader accepts documents that are not schema-valid when it can map them (for
//! example pacs.008.001.03/.04 files that use `BIC` where the schema expects `BICFI`); this
//! validating mode says exactly why a document is invalid. It runs `xmllint` (Debian
//! package `libxml2-utils`) with network access disabled, so the XSDs are read from a
//! local directory and nothing is fetched.

use crate::IngestError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Result of validating one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// The file checked.
    pub file: PathBuf,
    /// Message identifier from the namespace, e.g. `pacs.008.001.03`.
    pub message: String,
    /// The XSD it was checked against.
    pub schema: PathBuf,
    /// Whether it is valid.
    pub valid: bool,
    /// One line per schema violation: `line N: ...`.
    pub errors: Vec<String>,
}

/// The message identifier (`pacs.008.001.08`) of a document, from its namespace.
pub fn message_id(xml: &str) -> Option<String> {
    let key = "urn:iso:std:iso:20022:tech:xsd:";
    let i = xml.find(key)? + key.len();
    let rest = &xml[i..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(rest.len());
    let id = &rest[..end];
    (id.len() >= 15).then(|| id.to_string())
}

/// Validate `file` against `<xsd_dir>/<message>.xsd`.
pub fn validate_xml(file: &Path, xsd_dir: &Path) -> Result<Validation, IngestError> {
    let err = |message: String| IngestError::Format { path: file.to_path_buf(), message };
    let text = std::fs::read_to_string(file).map_err(|source| IngestError::Io { path: file.to_path_buf(), source })?;
    if text.contains("<!DOCTYPE") {
        return Err(err("DTD declarations are refused; not validated".into()));
    }
    let message =
        message_id(&text).ok_or_else(|| err("no ISO 20022 namespace (urn:iso:std:iso:20022:tech:xsd:...)".into()))?;
    let schema = xsd_dir.join(format!("{message}.xsd"));
    if !schema.exists() {
        return Err(err(format!("no schema for {message} in {}", xsd_dir.display())));
    }
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--nowarning", "--schema"])
        .arg(&schema)
        .arg(file)
        .output()
        .map_err(|e| err(format!("cannot run xmllint ({e}); install the Debian package libxml2-utils")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fname = file.display().to_string();
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .map(|l| {
            // `file:28: element BIC: Schemas validity error : Element '{ns}BIC': ...`
            let l = l.strip_prefix(&fname).unwrap_or(l).trim_start_matches(':');
            let (line, rest) = l.split_once(':').unwrap_or(("?", l));
            let detail = rest.split(" : ").skip(1).collect::<Vec<_>>().join(" : ");
            let detail = strip_namespaces(if detail.is_empty() { rest } else { &detail });
            format!("line {line}: {}", detail.trim())
        })
        .collect();
    Ok(Validation {
        file: file.to_path_buf(),
        message,
        schema,
        valid: out.status.success() && errors.is_empty(),
        errors,
    })
}

/// `{urn:iso:...}BIC` -> `BIC`, for readable messages.
fn strip_namespaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
