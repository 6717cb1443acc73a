//! The pre-loaded object models of the 2018 face: the extended-type catalogue grouped into ontologies, and the built-in DTDL interfaces that make spaces, devices, sensors and users ordinary twins.
//!
//! Layout: `catalogue` owns the system extended types (16 categories, stable integer ids, read once from `data/types.txt`), `table` parses that file, `ontologies` owns the five ontologies and the per-tenant state of which are loaded and which types are disabled, and `models` holds the built-in DTDL documents (`data/models/*.json`) with the containment relationships they declare.
//! This crate is pure data and rules: no I/O, no clock, no HTTP. Custom types that a tenant creates on a space, their storage, and the wire shapes of `types` and `ontologies` belong to the graph and the server.

mod catalogue;
mod models;
mod ontologies;
mod table;

pub use catalogue::{Catalogue, Category, ExtendedType, SYSTEM_TYPE_IDS, TypeId, catalogue};
pub use models::{
    CONTAINMENT, DEVICE, Direction, ObjectKind, SENSOR, SPACE, TOPOLOGY_OBJECT, USER, containment_direction, documents,
};
pub use ontologies::{Ontology, OntologyError, OntologySet, OntologyState, Unusable};
