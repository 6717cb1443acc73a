//! The store: the durable system of record of the twin graph, as tenant-scoped tables of opaque values plus an append-only event log per tenant.
//!
//! Layout: `backend` defines the `Backend` trait and its vocabulary (`Table`, `Op`, `Committed`, `KeyRange`), `tenant` the `TenantId`, `limits` the `Limits`, `error` the `StoreError`; `memory` is the in-memory backend for tests and `embedded` the durable default on fjall, whose byte layout `docs/storage-format.md` describes.
//! The backends do not know what a twin is: values and event payloads are bytes; `records` encodes graph records into them and loads a tenant's graph back.

mod backend;
mod embedded;
mod error;
mod limits;
mod memory;
pub mod records;
mod tenant;

pub use backend::{Backend, Committed, KeyRange, Op, Pending, Reply, ScanOrder, Table, Visit};
pub use embedded::EmbeddedBackend;
pub use error::StoreError;
pub use limits::Limits;
pub use memory::MemoryBackend;
pub use tenant::TenantId;
