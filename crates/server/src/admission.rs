//! What the core lets into the log beyond a valid record, and why a payment is refused.

/// Why one payment of a request was not screened.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// An id already screened, sent again with a different payment record.
    #[error("conflicting duplicate: txn_id `{txn_id}` was already screened (log position {seq}) with a different payment record; a retry must send the same payment, a new payment needs a new id")]
    Conflict {
        /// The id.
        txn_id: String,
        /// Where the first one is in the log.
        seq: u64,
    },
    /// The amount cannot be converted to the pack's base currency.
    #[error(transparent)]
    Rate(#[from] osecwatch_ingest::RateError),
    /// The engine refused the payment.
    #[error(transparent)]
    Engine(#[from] osecwatch_engine::EngineError),
    /// The log could not be written: nothing was decided, the client may retry.
    #[error("the payment could not be made durable; retry")]
    NotDurable,
    /// The payment's event time is impossible or would hijack everyone's (the future, before
    /// the earliest time, too far ahead of the stream).
    #[error("{0}")]
    EventTime(String),
    /// Dated further behind the latest accepted payment than the allowed lateness.
    #[error("late: dated {at}, more than {lateness} s behind the latest accepted payment ({watermark}); the allowed lateness is {lateness} s (setting: allowed lateness), so it is refused rather than screened against a state that has moved on")]
    Late {
        /// The payment's event time.
        at: String,
        /// The latest accepted event time.
        watermark: String,
        /// The setting, seconds.
        lateness: i64,
    },
}

impl Refusal {
    /// The HTTP status that says what happened: 409 for a payment in conflict with the
    /// state (late), 503 when nothing could be made durable, else 422.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Late { .. } | Refusal::Conflict { .. } => 409,
            Refusal::NotDurable => 503,
            _ => 422,
        }
    }
}

/// What the core admits into the log beyond a valid record: the event-time limits and the
/// allowed lateness behind the watermark.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// Future skew, earliest time, largest advance.
    pub clock: osecwatch_ingest::ClockSettings,
    /// Seconds behind the watermark a payment may be dated.
    pub lateness: i64,
}
