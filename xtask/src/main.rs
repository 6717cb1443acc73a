//! Project automation, run as `cargo xtask <task>`: `tidy` checks the house rules of STYLE.md, `ci` runs everything CI runs.
//!
//! Tasks are Rust rather than shell so they behave the same on every machine.
//! This file only dispatches; each task lives in its own module and does not know about the others.

mod ci;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  tidy    check the house rules (layering, file headers, forbidden macros)
  ci      run fmt --check, clippy -D warnings and the test suite, stopping at the first failure";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["tidy"] => tidy::run(&workspace_root()),
        ["ci"] => ci::run(&workspace_root()),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits one level below the workspace root").to_path_buf()
}
