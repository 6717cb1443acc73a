//! The twin graph of one tenant: twins, relationships and models, with the indexes that make reads cheap, and every write validated against the tenant's DTDL models.
//!
//! Layout: `bulk` reads and writes bulk import files, `record` holds the record types and their wire JSON, `patch` applies JSON Patch documents, `tenant` owns the graph and its operations, `containment` declares which relationships place a twin inside another and keeps the tree they form, `error` says why an operation was refused.
//! The graph does no I/O and reads no clock: callers pass the time, persist the returned `Change`s and publish them as events.

pub mod bulk;
pub mod containment;
pub mod error;
mod nodes;
pub mod patch;
pub mod record;
pub mod tenant;

pub use containment::{Containment, Role, Violations};
pub use error::{Clash, GraphError, Invalid, Missing};
pub use model::set::ModelMatch;
pub use nodes::EdgeRef;
pub use record::{Relationship, StoredModel, Twin};
pub use tenant::{Change, INDEXED_PROPERTIES, Limits, Precondition, PreparedPatch, TenantGraph};
