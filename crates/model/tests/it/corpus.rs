//! Locating the shared test corpus: present on every developer machine that has `../shared`, required under CI.

use std::path::PathBuf;

/// The shared test data folder, or `None` (after saying so loudly) when it is absent outside CI.
/// Under CI (`CI=true`) its absence fails the test: a suite that silently skips would prove nothing.
pub(crate) fn testdata(what: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    if root.is_dir() {
        return Some(root);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true but the shared test data is missing at {}; {what} cannot run", root.display());
    eprintln!(
        "SKIPPED: {what}: shared test data not found at {} (expected ../shared beside the repository)",
        root.display()
    );
    None
}
