//! Parses every `*.json` file under a folder as one DTDL model set and prints how many interfaces it holds, whether it is valid, and how long parsing took.
//!
//! Usage: `parse_folder FOLDER`. Reading the files is not timed; only `model::parse` is. Meant for whole-process measurements such as `/usr/bin/time -v`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use std::{env, fs};

use model::{Document, Options, Severity};

fn main() -> ExitCode {
    let Some(folder) = env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: parse_folder FOLDER");
        return ExitCode::from(2);
    };
    let mut files = Vec::new();
    collect_json(&folder, &mut files);
    files.sort();
    let mut documents = Vec::with_capacity(files.len());
    for path in files {
        match fs::read_to_string(&path) {
            Ok(text) => documents.push(Document { name: path.display().to_string(), text }),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }

    let start = Instant::now();
    let outcome = model::parse(&documents, &Options::default());
    let elapsed = start.elapsed();

    let errors = outcome.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    println!("documents:  {}", documents.len());
    println!("interfaces: {}", outcome.set.len());
    println!("valid:      {} ({errors} errors, {} unresolved)", outcome.is_valid(), outcome.unresolved.len());
    println!("elapsed:    {:.1} ms", elapsed.as_secs_f64() * 1e3);
    ExitCode::SUCCESS
}

/// Adds every `*.json` file under `dir`, recursively, to `found`.
fn collect_json(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect_json(&path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
}
