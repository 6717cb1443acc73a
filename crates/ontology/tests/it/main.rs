//! Integration tests of the pre-loaded object models: the catalogue's content and stability, and the built-in DTDL models loaded through the `model` crate.

mod catalogue;
mod models;
