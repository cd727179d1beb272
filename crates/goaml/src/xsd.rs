//! Validation against an XSD the user supplies (the FIU gives it to registered entities),
//! with `xmllint` (Debian `libxml2-utils`), network access off. FIU schemas write patterns
//! in .NET style (`^...$`, `-` inside a class); an XSD 1.0 engine reads `^`/`$` as literals
//! and rejects ordinary values, so such errors are marked as schema quirks, not hidden.

use std::path::Path;
use std::process::Command;

/// What the schema check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XsdResult {
    /// Errors that are about the report, one per line.
    pub errors: Vec<String>,
    /// Errors that come from the schema's .NET-style patterns (the value may be fine).
    pub quirks: Vec<String>,
}

impl XsdResult {
    /// No error of either kind.
    pub fn valid(&self) -> bool {
        self.errors.is_empty() && self.quirks.is_empty()
    }
}

/// Validate `xml` against `xsd`. Err when xmllint cannot run or the schema cannot be read.
pub fn validate_xsd(xml: &str, xsd: &Path) -> Result<XsdResult, String> {
    let schema = std::fs::read_to_string(xsd).map_err(|e| format!("cannot read the XSD {}: {e}", xsd.display()))?;
    let dotnet = schema.contains("value=\"^") || schema.contains("$\"/>") || schema.contains("$\" />");
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).map_err(|e| format!("temporary file: {e}"))?;
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(xsd)
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run xmllint ({e}); install the Debian package libxml2-utils"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if text.contains("failed to compile") || text.contains("Schemas parser error") {
        return Err(format!(
            "the XSD {} does not compile in xmllint (XSD 1.0): {}",
            xsd.display(),
            first_lines(&text, 5)
        ));
    }
    let mut r = XsdResult::default();
    for line in text.lines() {
        if line.ends_with(" validates") || line.trim().is_empty() || line.ends_with("fails to validate") {
            continue;
        }
        let msg = line.split_once("report.xml:").map(|(_, m)| format!("line {m}")).unwrap_or_else(|| line.to_string());
        if dotnet && msg.contains("pattern") {
            r.quirks.push(format!(
                "{msg} (schema quirk: the XSD writes patterns .NET-style with ^/$, which an XSD 1.0 validator reads as literal characters; check the value by hand)"
            ));
        } else {
            r.errors.push(msg);
        }
    }
    Ok(r)
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join(" | ")
}
