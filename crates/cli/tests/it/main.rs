//! Integration tests of the `twinscape` binary: each test writes its inputs (small DTDL files, a data directory) into its own folder under Cargo's per-target temporary directory, runs the built binary there and checks its exit code and output.
//!
//! Only `run` starts the binary; tests go through it and the `check*` helpers of each module.
//! The parser's own rules are tested in the `model` crate; these tests check what the CLI promises: paths, exit codes, report shapes.

mod bench;
mod bulk;
mod crash;
mod provision;
mod serve;
mod show;
mod validate;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the binary did.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `twinscape` with `args` in `dir`.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_twinscape"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the built binary starts");
    Run {
        code: output.status.code().expect("the binary exits rather than being killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A fresh folder for one test, holding `files` (relative path, content); earlier contents are removed first so a rerun starts clean.
pub(crate) fn fixture(test: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-it").join(test);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove the previous run's fixture");
    }
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("fixture files sit in a folder")).expect("create fixture folder");
        std::fs::write(&path, content).expect("write fixture file");
    }
    std::fs::create_dir_all(&dir).expect("create fixture folder");
    dir
}

/// The repository root, where the README's commands run.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A valid DTDL v3 interface with one telemetry.
pub(crate) const THERMOSTAT_V3: &str = r#"{
  "@context": "dtmi:dtdl:context;3",
  "@id": "dtmi:example:Thermostat;1",
  "@type": "Interface",
  "contents": [{ "@type": "Telemetry", "name": "temperature", "schema": "double" }]
}"#;
