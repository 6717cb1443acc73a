//! The crate's one error type, `HistoryError`, whose variants name who is at fault.
//! It deliberately does not log: errors are logged where they are handled, which is never inside this crate.

/// Everything that can go wrong when appending, reading or pruning history.
///
/// The variants name who is at fault, so that `server` can map each one to a response in a single exhaustive `match`.
/// A `Points` implementation maps its store's errors onto them.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The caller passed something history cannot accept: a malformed series id, a range that ends before it starts, a zero bucket width.
    #[error("invalid input: {what}")]
    InvalidInput { what: String },

    /// A request is over one of the `Limits`; nothing was written and no answer was given.
    #[error("limit exceeded: {what} is {limit}, got {actual}")]
    LimitExceeded {
        /// The name of the `Limits` field that was exceeded, or `points_per_microsecond_max`, the key layout's bound of 2^32 points in one microsecond of one series.
        what: &'static str,
        limit: u64,
        /// The size of the request; for `points_scanned_max`, the count at which the scan stopped (one over the limit).
        actual: u64,
    },

    /// The store beneath cannot serve requests right now; retrying later may help.
    #[error("history store unavailable: {what}")]
    Unavailable { what: String },

    /// A stored key or value is not what history writes.
    #[error("history data is corrupt: {what}")]
    Corrupt { what: String },

    /// A bug in history or in the store beneath it.
    #[error("internal history error: {what}")]
    Internal { what: String },
}
