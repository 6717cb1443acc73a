//! `Limits`: the bounds on what one commit may carry and on how much the embedded writer queues and groups, with their documented defaults.
//! Limits are checked here, where a batch arrives, so an oversized batch is refused before anything is written; backends assert them again where data is stored.

use crate::{Op, StoreError};

/// The bounds of the store; the defaults suit a single server and are overridden from config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest `Put` value or event payload, in bytes. Default: 1 MiB.
    pub value_bytes_max: usize,
    /// The longest key, in bytes of UTF-8. Default: 1024.
    pub key_bytes_max: usize,
    /// The most ops in one commit. Default: 100,000.
    pub batch_ops_max: usize,
    /// The most key, value and payload bytes in one commit, summed. Default: 64 MiB.
    pub batch_bytes_max: usize,
    /// How many commits may wait for the embedded writer; further callers block until there is room. Default: 1,024.
    pub queue_commits_max: usize,
    /// The embedded writer stops adding waiting commits to a group once it holds this many ops. Default: 100,000.
    /// A group always takes at least one commit, so a group may exceed this by less than one commit.
    pub group_ops_max: usize,
    /// The embedded writer stops adding waiting commits to a group once it holds this many bytes. Default: 64 MiB.
    pub group_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            value_bytes_max: 1 << 20,
            key_bytes_max: 1024,
            batch_ops_max: 100_000,
            batch_bytes_max: 64 << 20,
            queue_commits_max: 1024,
            group_ops_max: 100_000,
            group_bytes_max: 64 << 20,
        }
    }
}

impl Limits {
    /// The largest `key_bytes_max` allowed: fjall keys hold at most 65,536 bytes, and the encoded key adds up to 65 bytes of prefix.
    pub const KEY_BYTES_CEILING: usize = 65_536 - 65;
    /// The largest `value_bytes_max` allowed: fjall values hold less than 4 GiB, and the embedded backend stores an event in a page with 14 bytes more (its header and length).
    pub const VALUE_BYTES_CEILING: usize = u32::MAX as usize - 14;

    /// Checks that the limits themselves make sense: nothing is zero and nothing is above what the engine can store.
    pub fn validate(&self) -> Result<(), StoreError> {
        let Limits {
            value_bytes_max,
            key_bytes_max,
            batch_ops_max,
            batch_bytes_max,
            queue_commits_max,
            group_ops_max,
            group_bytes_max,
        } = *self;
        let positive = [
            ("value_bytes_max", value_bytes_max),
            ("key_bytes_max", key_bytes_max),
            ("batch_ops_max", batch_ops_max),
            ("batch_bytes_max", batch_bytes_max),
            ("queue_commits_max", queue_commits_max),
            ("group_ops_max", group_ops_max),
            ("group_bytes_max", group_bytes_max),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(StoreError::InvalidInput { what: format!("limit {name} must be positive") });
        }
        if key_bytes_max > Limits::KEY_BYTES_CEILING {
            return Err(StoreError::InvalidInput {
                what: format!("limit key_bytes_max must be at most {}", Limits::KEY_BYTES_CEILING),
            });
        }
        if value_bytes_max > Limits::VALUE_BYTES_CEILING {
            return Err(StoreError::InvalidInput {
                what: format!("limit value_bytes_max must be at most {}", Limits::VALUE_BYTES_CEILING),
            });
        }
        Ok(())
    }

    /// Checks a batch against the limits; `LimitExceeded` names the first limit it breaks.
    pub(crate) fn check_batch(&self, ops: &[Op]) -> Result<(), StoreError> {
        exceeds("batch_ops_max", self.batch_ops_max, ops.len())?;
        let mut batch_bytes = 0usize;
        for op in ops {
            let (key_bytes, value_bytes) = op_sizes(op);
            exceeds("key_bytes_max", self.key_bytes_max, key_bytes)?;
            exceeds("value_bytes_max", self.value_bytes_max, value_bytes)?;
            batch_bytes = batch_bytes.saturating_add(key_bytes + value_bytes);
        }
        exceeds("batch_bytes_max", self.batch_bytes_max, batch_bytes)
    }
}

/// The caller-supplied bytes of one op: key length and value or payload length.
pub(crate) fn op_sizes(op: &Op) -> (usize, usize) {
    match op {
        Op::Put { key, value, .. } => (key.len(), value.len()),
        Op::Delete { key, .. } => (key.len(), 0),
        Op::AppendEvent { payload, .. } => (0, payload.len()),
    }
}

fn exceeds(what: &'static str, limit: usize, actual: usize) -> Result<(), StoreError> {
    if actual > limit {
        return Err(StoreError::LimitExceeded { what, limit: limit as u64, actual: actual as u64 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Limits;
    use crate::{Op, StoreError, Table, TenantId};

    fn put(key_bytes: usize, value_bytes: usize) -> Op {
        Op::Put {
            tenant: TenantId::default_tenant(),
            table: Table::Twins,
            key: "k".repeat(key_bytes),
            value: vec![0; value_bytes],
        }
    }

    fn check(limits: &Limits, ops: &[Op], expected: Option<(&'static str, u64, u64)>) {
        let actual = match limits.check_batch(ops) {
            Ok(()) => None,
            Err(StoreError::LimitExceeded { what, limit, actual }) => Some((what, limit, actual)),
            Err(err) => panic!("unexpected error {err:?}"),
        };
        assert_eq!(actual, expected);
    }

    #[test]
    fn batch_limits() {
        let limits = Limits { batch_ops_max: 3, batch_bytes_max: 100, ..Limits::default() };
        check(&limits, &[], None);
        check(&limits, &[put(1, 1), put(1, 1), put(1, 1)], None);
        check(&limits, &[put(1, 1), put(1, 1), put(1, 1), put(1, 1)], Some(("batch_ops_max", 3, 4)));
        check(&limits, &[put(10, 40), put(10, 40)], None);
        check(&limits, &[put(10, 40), put(10, 41)], Some(("batch_bytes_max", 100, 101)));
    }

    #[test]
    fn op_limits() {
        let limits = Limits::default();
        check(&limits, &[put(1024, 1 << 20)], None);
        check(&limits, &[put(1025, 0)], Some(("key_bytes_max", 1024, 1025)));
        check(&limits, &[put(1, (1 << 20) + 1)], Some(("value_bytes_max", 1 << 20, (1 << 20) + 1)));
        let event = Op::AppendEvent { tenant: TenantId::default_tenant(), payload: vec![0; (1 << 20) + 1] };
        check(&limits, &[event], Some(("value_bytes_max", 1 << 20, (1 << 20) + 1)));
    }

    #[test]
    fn validate_rejects_nonsense() {
        assert!(Limits::default().validate().is_ok());
        assert!(Limits { batch_ops_max: 0, ..Limits::default() }.validate().is_err());
        assert!(Limits { key_bytes_max: Limits::KEY_BYTES_CEILING + 1, ..Limits::default() }.validate().is_err());
    }
}
