//! The HTTP handlers, one file per resource (as mini-redis has one file per command).

pub(crate) mod admin;
pub(crate) mod alerts;
pub(crate) mod cases;
pub(crate) mod entities;
pub(crate) mod health;
pub(crate) mod networks;
pub(crate) mod payments;
