//! Locating the shared test corpus: present on every developer machine that has `../shared`, required under CI.

use std::path::PathBuf;

/// The shared test data folder, or `None` (after saying so loudly) when it is absent outside CI.
pub(crate) fn testdata(what: &str) -> Option<PathBuf> {
    test_support::testdata(env!("CARGO_MANIFEST_DIR"), what)
}
