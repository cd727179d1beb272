//! Command-line options for ISO 20022 input, shared by `scan` and `convert`.

use anyhow::{bail, Result};
use clap::Args;
use osecwatch_ingest::XmlOptions;

#[derive(Args, Clone, Debug)]
pub struct XmlArgs {
    /// UTC offset assumed for ISO 20022 date-times that carry none (e.g. +01:00).
    #[arg(long, default_value = "+00:00")]
    pub xml_assume_offset: String,
    /// Identify ISO 20022 parties without account or identification as `<agent BIC>/<name>`
    /// instead of quarantining the payment.
    #[arg(long)]
    pub xml_party_fallback: bool,
    /// Channel for ISO 20022 payments sent through an agent, as BIC=channel (e.g.
    /// WUCOUS33=mto); repeatable. Others are bank_transfer.
    #[arg(long, value_name = "BIC=CHANNEL")]
    pub xml_agent_channel: Vec<String>,
}

impl XmlArgs {
    pub fn options(&self) -> Result<XmlOptions> {
        let s = self.xml_assume_offset.trim();
        // The same offset syntax as RFC 3339 timestamps, parsed by the same code.
        let off = osecwatch_model::Timestamp::parse_rfc3339(&format!("2000-01-01T00:00:00{s}"))
            .ok()
            .filter(|_| s.len() == 6)
            .map(|t| t.offset_min)
            .filter(|o| o.abs() <= 14 * 60)
            .ok_or_else(|| anyhow::anyhow!("--xml-assume-offset `{s}`: expected +HH:MM or -HH:MM within 14 hours"))?;
        let mut channel_by_agent = std::collections::BTreeMap::new();
        for spec in &self.xml_agent_channel {
            let Some((bic, ch)) = spec.split_once('=') else {
                bail!("--xml-agent-channel `{spec}`: expected BIC=channel");
            };
            let bic = bic.trim().to_ascii_uppercase();
            if !(bic.len() == 8 || bic.len() == 11) || !bic.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bail!("--xml-agent-channel `{spec}`: `{bic}` is not an 8- or 11-character BIC");
            }
            let ch = osecwatch_model::Channel::parse(ch.trim())
                .map_err(|e| anyhow::anyhow!("--xml-agent-channel `{spec}`: {e}"))?;
            channel_by_agent.insert(bic, ch);
        }
        Ok(XmlOptions {
            assume_offset_min: off,
            party_fallback: self.xml_party_fallback,
            channel_by_agent,
            ..XmlOptions::default()
        })
    }
}
