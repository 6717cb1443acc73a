//! The language tables.
