//! `cargo xtask ci`: the one command CI runs, and that a developer can run to see what CI will see.
//!
//! It runs formatting, lints and the test suite in that order and stops at the first step that fails.
//! Every step inherits this process's environment (so `CI=true` reaches the test runner) and its output is passed through untouched, so the test runner's own summary is the last thing printed.
//! It does not start services; suites that need one start it themselves.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

pub(crate) fn run(root: &Path) -> Result<()> {
    step(root, &["fmt", "--all", "--check"])?;
    step(root, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    // `--no-fail-fast` so one run reports every failing test, not just the first.
    if nextest_installed(root) {
        step(root, &["nextest", "run", "--workspace", "--no-fail-fast"])?;
    } else {
        step(root, &["test", "--workspace", "--no-fail-fast"])?;
    }
    Ok(())
}

/// Runs `cargo <args>` in the workspace root and fails when it does.
fn step(root: &Path, args: &[&str]) -> Result<()> {
    let line = format!("cargo {}", args.join(" "));
    eprintln!("xtask: $ {line}");
    let status = cargo(root).args(args).status().with_context(|| format!("start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

fn nextest_installed(root: &Path) -> bool {
    cargo(root)
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The cargo that runs us (so a pinned toolchain is honoured), falling back to the one on `PATH`.
fn cargo(root: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root);
    command
}
