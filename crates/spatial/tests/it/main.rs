//! Integration tests of the spatial crate.
