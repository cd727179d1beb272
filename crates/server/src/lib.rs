//! `osecwatch serve`: real-time screening over HTTP with the same engine and rule pack as
//! `scan`, durable on the embedded store (a write-ahead log and an audit log in a data
//! directory), secured with scoped tokens.
//!
//! Layout (one file per noun, as in mini-redis). Start reading at [`routes`]: the table of
//! every route, from which the router, the token gate, the metrics and the OpenAPI
//! document are built.
//!
//! | file | job |
//! |---|---|
//! | `startup.rs` | [`serve`]: pack, tokens, recovery, the core thread, the listener, shutdown |
//! | `config.rs` | [`ServeConfig`] and [`Ready`] |
//! | `routes.rs` | [`routes::ROUTES`], the router and the gate (scopes, metrics) |
//! | `handlers/` | one file per resource: payments, alerts, networks, entities, admin, health |
//! | `app.rs` | what handlers share: state, the error shape, token checks, the way to the core |
//! | `core.rs` | the single thread that owns the engine and does group commit |
//! | `admission.rs`, `dedupe.rs`, `snapshot.rs` | why a payment is refused and what is admitted; the idempotency index (every id within the allowed lateness); the snapshot file (checksummed, anchored in the audit log) |
//! | `wal.rs`, `audit.rs`, `append.rs` | the log of accepted payments, the hash-chained audit log, their batch writer |
//! | `segments.rs` | the logs' sealed segments and their retention |
//! | `wal/`, `audit/`, `core/` | a log line and the replay's reader of the tail; reading an audit log back; recovery at start |
//! | `auth.rs`, `tls.rs` | tokens and scopes; HTTPS |
//! | `metrics.rs`, `openapi.rs` | Prometheus exposition; the OpenAPI document |
//!
//! Invariants: a payment is answered only after it is in the log (fsynced); the engine only
//! ever sees logged payments, in log order, so restarting from the log rebuilds exactly the
//! same state and alerts; nothing about a payment's content (names, ids, references) is
//! logged through `tracing`.

// Handlers return axum's `Response` as their error: it is what they answer with, and
// boxing it on the error path would only add an allocation.
#![allow(clippy::result_large_err)]

mod admission;
mod app;
mod append;
pub mod audit;
pub mod auth;
pub mod cases;
mod config;
pub mod core;
pub mod dedupe;
mod handlers;
mod metrics;
mod openapi;
pub mod routes;
pub mod segments;
pub mod snapshot;
mod startup;
pub mod tls;
pub mod ui;
pub mod wal;

pub use config::{Ready, ServeConfig};
pub use openapi::openapi;
pub use startup::serve;

use std::path::PathBuf;

/// A problem with one of the service's files (write-ahead log, audit log).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line that is not what the file must hold (corrupt log, broken audit chain).
    #[error("{path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The rule pack is refused.
    #[error(transparent)]
    Rules(#[from] osecwatch_engine::RuleError),
    /// The pack's exchange rates are refused.
    #[error(transparent)]
    Rates(#[from] osecwatch_ingest::RateError),
    /// The data directory's customer file cannot be read (a malformed line only warns).
    #[error("customer file: {0}")]
    Customers(#[from] osecwatch_ingest::IngestError),
    /// Tokens cannot be loaded or made.
    #[error(transparent)]
    Tokens(#[from] auth::TokenError),
    /// The new token file cannot be written.
    #[error("tokens.toml: {0}")]
    TokenFile(toml::ser::Error),
    /// HTTPS cannot be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The log or the audit log is damaged or cannot be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Recovery from the log failed.
    #[error(transparent)]
    Core(#[from] core::CoreError),
    /// The case store cannot be opened, or the FIU profile or institution file is refused.
    #[error("cases: {0}")]
    Cases(String),
    /// Listening or another operating-system call failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
