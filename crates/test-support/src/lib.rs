//! Helpers shared by the test suites of the workspace (a dev-dependency only): for now, locating the shared third-party test corpus.
//!
//! The corpus lives in `../shared/testdata` beside the repository and is never copied into it; a suite that needs it says so loudly and skips on a developer machine without it, and fails under CI (`CI=true`), where a silent skip would prove nothing.

use std::path::{Path, PathBuf};

/// The shared test data folder as seen from a crate's manifest directory (`crates/<name>`), or `None` after saying so loudly when it is absent outside CI.
///
/// # Panics
/// Under CI (`CI` set to `true` or `1`) when the folder is missing.
pub fn testdata(manifest_dir: &str, what: &str) -> Option<PathBuf> {
    let root = Path::new(manifest_dir).join("../../../shared/testdata");
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
