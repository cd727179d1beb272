//! The service's configuration and what it reports once it listens.

use crate::auth::Tokens;
use osecwatch_ingest::XmlOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `serve` needs; see the README for the file and environment forms.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the write-ahead log, audit log, snapshot, tokens and watch list.
    pub data_dir: PathBuf,
    /// Rule pack file; `None` uses the shipped OSEC pack.
    pub rules: Option<PathBuf>,
    /// API tokens; empty: those of the data directory, else a new admin token.
    pub tokens: Tokens,
    /// Largest accepted request body, bytes (batch endpoints).
    pub body_limit: usize,
    /// Largest accepted body for single-payment screening, bytes.
    pub screen_limit: usize,
    /// How ISO 20022 messages are read.
    pub xml: XmlOptions,
    /// Write a snapshot after this many new payments (and at graceful shutdown).
    pub snapshot_every: u64,
    /// When the payments and audit logs are sealed into segments, and how long they are kept.
    pub logs: crate::segments::LogRetention,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Limits on event time: future skew against the wall clock, earliest time, how far
    /// one payment may advance event time.
    pub clock: osecwatch_ingest::ClockSettings,
    /// Seconds a payment may be dated behind the latest accepted one (the watermark).
    pub allowed_lateness: i64,
    /// Cases: where they are kept, the FIU profile, the institution's details; `None`: off.
    pub cases: Option<crate::cases::CasesConfig>,
    /// Bank export mappings by name, for `POST /v1/transactions?map=NAME`.
    pub maps: std::collections::BTreeMap<String, osecwatch_ingest::Mapping>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("osecwatch-data"),
            rules: None,
            tokens: Tokens::default(),
            body_limit: 16 << 20,
            screen_limit: 64 << 10,
            xml: XmlOptions::default(),
            snapshot_every: 5_000_000,
            logs: Default::default(),
            tls: None,
            clock: osecwatch_ingest::ClockSettings::default(),
            maps: Default::default(),
            allowed_lateness: 86_400,
            cases: Some(crate::cases::CasesConfig::default()),
        }
    }
}

/// What `serve` reports once it listens.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The address it listens on (the port chosen, if 0 was configured).
    pub addr: SocketAddr,
    /// A newly generated admin token, when no token was configured; shown once.
    pub generated_admin_token: Option<String>,
    /// Payments in the log at start (those after the snapshot were replayed).
    pub recovered_payments: u64,
    /// Whether it serves HTTPS.
    pub tls: bool,
}
