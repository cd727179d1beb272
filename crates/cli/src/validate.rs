//! `osecwatch validate`: check ISO 20022 files against the official XSDs and say why a
//! file is not schema-valid.

use anyhow::Result;
use clap::Args;
use osecwatch_ingest::validate_xml;
use std::path::PathBuf;

#[derive(Args)]
pub struct ValidateArgs {
    /// Directory with the official XSDs, named `<message>.xsd` (e.g. pacs.008.001.08.xsd).
    #[arg(long)]
    pub xsd_dir: PathBuf,
    /// ISO 20022 XML files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Exit code 3 when any file is invalid, like a linter.
pub fn run_validate(a: ValidateArgs) -> Result<i32> {
    let mut invalid = 0;
    let mut o = String::new();
    for f in &a.files {
        match validate_xml(f, &a.xsd_dir) {
            Ok(v) if v.valid => o.push_str(&format!("valid    {} ({})\n", f.display(), v.message)),
            Ok(v) => {
                invalid += 1;
                o.push_str(&format!("INVALID  {} ({}, against {}):\n", f.display(), v.message, v.schema.display()));
                for e in &v.errors {
                    o.push_str(&format!("           {e}\n"));
                }
            }
            Err(e) => {
                invalid += 1;
                o.push_str(&format!("ERROR    {e}\n"));
            }
        }
    }
    o.push_str(&format!("{} file(s), {} not valid\n", a.files.len(), invalid));
    crate::out(&o);
    Ok(if invalid > 0 { 3 } else { 0 })
}
