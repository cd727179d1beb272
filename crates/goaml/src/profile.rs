//! FIU profiles: the codes and rules that differ per FIU, as data.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not a built-in name and not a readable file.
    #[error("profile `{0}`: not a built-in profile (generic, de) and no such file")]
    Unknown(String),
    /// The file is not valid TOML of the expected shape.
    #[error("profile {file}: {message}")]
    Invalid {
        /// The profile file (or `built-in NAME`).
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A code that the profile does not define.
    #[error("profile {file}: unknown {what} code `{code}`")]
    UnknownCode {
        /// The profile file.
        file: String,
        /// Which list.
        what: String,
        /// The code.
        code: String,
    },
}

/// Codes for the parts of a report that are not per transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codes {
    /// `from_funds_code`.
    pub funds_from: String,
    /// `to_funds_code`.
    pub funds_to: String,
    /// `personal_account_type` of the customer's account.
    pub personal_account_type: String,
    /// `status_code` of the customer's account.
    pub account_status: String,
    /// `signatory/role`.
    pub signatory_role: String,
    /// `address_type`.
    pub address_type: String,
    /// `tph_contact_type`.
    pub contact_type: String,
    /// `tph_communication_type`.
    pub communication_type: String,
}

/// Fields an FIU makes mandatory beyond the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mandatory {
    /// Known names: `from_account.iban`, `reporting_person.email`.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// When a block after a report ends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Working days (Monday to Friday) after approval.
    pub working_days: u32,
}

/// An FIU profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// `report_code`.
    pub report_code: String,
    /// `submission_code`.
    pub submission_code: String,
    /// One report per customer instead of one per case.
    pub one_report_per_subject: bool,
    /// Whether `entity_reference` must be given.
    pub entity_reference_required: bool,
    /// Longest narrative.
    pub narrative_max_chars: usize,
    /// An XSD to validate against by default (empty: none).
    #[serde(default)]
    pub xsd: String,
    /// Other codes.
    pub codes: Codes,
    /// Channel -> transmode code.
    pub transmode: BTreeMap<String, String>,
    /// Indicator code -> meaning.
    pub indicators: BTreeMap<String, String>,
    /// Typology -> indicator codes a draft starts with.
    pub typology_indicators: BTreeMap<String, Vec<String>>,
    /// Extra mandatory fields.
    #[serde(default)]
    pub mandatory: Mandatory,
    /// Block release.
    pub release: Release,
    /// What the profile assumes where public material is silent.
    #[serde(default)]
    pub assumptions: Vec<String>,
    /// Where it came from (`built-in generic` or a path), for messages.
    #[serde(skip)]
    pub source: String,
}

const BUILTIN: &[(&str, &str)] =
    &[("generic", include_str!("../profiles/generic.toml")), ("de", include_str!("../profiles/de.toml"))];

impl Profile {
    /// A built-in profile by name, or a profile file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(text, &format!("built-in {name_or_path}"));
        }
        let path = PathBuf::from(name_or_path);
        let text = std::fs::read_to_string(&path).map_err(|_| ProfileError::Unknown(name_or_path.to_string()))?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parse and check a profile's text (`source` names it in errors).
    pub fn parse(text: &str, source: &str) -> Result<Profile, ProfileError> {
        let mut p: Profile = toml::from_str(text)
            .map_err(|e| ProfileError::Invalid { file: source.to_string(), message: e.to_string() })?;
        p.source = source.to_string();
        for (typ, codes) in &p.typology_indicators {
            for c in codes {
                if !p.indicators.contains_key(c) {
                    return Err(ProfileError::UnknownCode {
                        file: source.to_string(),
                        what: format!("indicator (typology {typ})"),
                        code: c.clone(),
                    });
                }
            }
        }
        for f in &p.mandatory.fields {
            if !matches!(f.as_str(), "from_account.iban" | "reporting_person.email") {
                return Err(ProfileError::UnknownCode {
                    file: source.to_string(),
                    what: "mandatory field".into(),
                    code: f.clone(),
                });
            }
        }
        if p.narrative_max_chars == 0 || p.narrative_max_chars > 8000 {
            return Err(ProfileError::Invalid {
                file: source.to_string(),
                message: "narrative_max_chars must be 1..=8000 (the schema's limit)".into(),
            });
        }
        Ok(p)
    }

    /// Check indicator codes an analyst chose; the error names the code and the profile file.
    pub fn check_indicators(&self, codes: &[String]) -> Result<(), ProfileError> {
        for c in codes {
            if !self.indicators.contains_key(c) {
                return Err(ProfileError::UnknownCode {
                    file: self.source.clone(),
                    what: "indicator".into(),
                    code: c.clone(),
                });
            }
        }
        Ok(())
    }

    /// The indicators a draft for `typology` starts with.
    pub fn indicators_for(&self, typology: &str) -> Vec<String> {
        self.typology_indicators
            .get(typology)
            .cloned()
            .unwrap_or_else(|| self.typology_indicators.values().next().cloned().unwrap_or_default())
    }

    /// The XSD the profile names, if any.
    pub fn xsd_path(&self) -> Option<&Path> {
        (!self.xsd.is_empty()).then(|| Path::new(self.xsd.as_str()))
    }

    /// The release time: `working_days` Monday-to-Friday days after `from` (UTC).
    pub fn release_after(&self, from: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        use chrono::Datelike;
        let mut t = from;
        let mut left = self.release.working_days;
        while left > 0 {
            t += chrono::Duration::days(1);
            if t.weekday().num_days_from_monday() < 5 {
                left -= 1;
            }
        }
        t
    }
}
