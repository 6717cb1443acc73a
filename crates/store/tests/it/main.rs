//! The store's integration tests: a conformance suite run against every backend, a seeded model-based test, concurrency and reopen tests of the embedded backend.
//! Only the `check` module calls the store's API, so a change of the API is fixed in one place; test data is built by the small helpers here.

mod check;
mod concurrency;
mod conformance;
mod model;
mod records;
mod reopen;

use store::{Op, Table, TenantId};

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).expect("test tenant ids are valid")
}

fn put(tenant_id: &str, table: Table, key: &str, value: &[u8]) -> Op {
    Op::Put { tenant: tenant(tenant_id), table, key: key.to_owned(), value: value.to_vec() }
}

fn delete(tenant_id: &str, table: Table, key: &str) -> Op {
    Op::Delete { tenant: tenant(tenant_id), table, key: key.to_owned() }
}

fn event(tenant_id: &str, payload: &[u8]) -> Op {
    Op::AppendEvent { tenant: tenant(tenant_id), payload: payload.to_vec() }
}

/// A tiny xorshift64* generator, so every random test is seeded and repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        assert!(seed != 0, "xorshift needs a non-zero seed");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
