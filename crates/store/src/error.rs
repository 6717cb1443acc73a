//! The crate's one error type, `StoreError`, whose variants name who is at fault, and the mapping from fjall's errors onto it.
//! It deliberately does not log: errors are logged where they are handled, which is never inside this crate.

/// Everything that can go wrong in the store.
///
/// The variants name who is at fault, so that `server` can map each one to a response in a single exhaustive `match`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The caller passed something the store cannot accept, such as a malformed tenant id.
    #[error("invalid input: {what}")]
    InvalidInput { what: String },

    /// An input is over one of the `Limits`; nothing of the batch was written.
    #[error("limit exceeded: {what} is {limit}, got {actual}")]
    LimitExceeded {
        /// The name of the `Limits` field that was exceeded.
        what: &'static str,
        limit: u64,
        actual: u64,
    },

    /// The store cannot serve requests right now (writer stopped, directory locked by another process, or the engine refused further writes after a failed one); restarting may help.
    #[error("store unavailable: {what}")]
    Unavailable { what: String },

    /// The data directory was written by a newer (or unknown) store format than this build understands; nothing was changed.
    #[error("unsupported store format version {found} (this build reads versions 1 to {supported})")]
    UnsupportedFormat { found: u32, supported: u32 },

    /// Data read from disk is not what the store wrote: a broken checksum, a malformed key, a missing record.
    #[error("store data is corrupt: {what}")]
    Corrupt { what: String },

    /// The operating system reported an I/O failure.
    #[error("store I/O failed")]
    Io(#[from] std::io::Error),

    /// A bug in the store or in the engine beneath it.
    #[error("internal store error: {what}")]
    Internal { what: String },
}

impl StoreError {
    /// Makes an equivalent error for another waiter of the same failed group commit.
    ///
    /// `std::io::Error` is not `Clone`, so an I/O error is rebuilt from its kind and message.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::InvalidInput { what } => StoreError::InvalidInput { what: what.clone() },
            StoreError::LimitExceeded { what, limit, actual } => {
                StoreError::LimitExceeded { what, limit: *limit, actual: *actual }
            }
            StoreError::Unavailable { what } => StoreError::Unavailable { what: what.clone() },
            StoreError::UnsupportedFormat { found, supported } => {
                StoreError::UnsupportedFormat { found: *found, supported: *supported }
            }
            StoreError::Corrupt { what } => StoreError::Corrupt { what: what.clone() },
            StoreError::Io(err) => StoreError::Io(std::io::Error::new(err.kind(), err.to_string())),
            StoreError::Internal { what } => StoreError::Internal { what: what.clone() },
        }
    }
}

impl From<fjall::Error> for StoreError {
    fn from(err: fjall::Error) -> StoreError {
        match err {
            fjall::Error::Io(err) => StoreError::Io(err),
            fjall::Error::Storage(fjall::LsmError::Io(err)) => StoreError::Io(err),
            fjall::Error::Storage(err) => StoreError::Corrupt { what: format!("table file: {err:?}") },
            fjall::Error::JournalRecovery(err) => StoreError::Corrupt { what: format!("journal recovery: {err:?}") },
            fjall::Error::InvalidVersion(version) => {
                StoreError::Corrupt { what: format!("unsupported fjall on-disk version {version:?}") }
            }
            fjall::Error::Decompress(_)
            | fjall::Error::InvalidTrailer
            | fjall::Error::InvalidTag(_)
            | fjall::Error::Unrecoverable => StoreError::Corrupt { what: format!("engine: {err:?}") },
            fjall::Error::Poisoned => StoreError::Unavailable {
                what: "the engine refuses writes after an earlier write failed; restart the process".to_owned(),
            },
            fjall::Error::Locked => {
                StoreError::Unavailable { what: "the data directory is in use by another process".to_owned() }
            }
            err => StoreError::Internal { what: format!("engine: {err:?}") },
        }
    }
}
