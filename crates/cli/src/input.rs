//! Turning the paths given on the command line into model documents: files are read as given, folders are searched recursively for `*.json` files in sorted order.
//!
//! Every file becomes one `Document` named by its path as given or found, with a UTF-8 byte order mark removed.
//! This module does not parse JSON or judge models; that is the `model` crate's job.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use model::Document;

/// Reads every model file under `paths`, each file once, in argument order and sorted within each folder.
pub(crate) fn read(paths: &[PathBuf]) -> Result<Vec<Document>> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).with_context(|| format!("read model path {}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            let mut visited = BTreeSet::new();
            walk(path, &mut found, &mut visited)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    // The same file reached twice (a folder and a file inside it) would define its interfaces twice.
    let mut seen = BTreeSet::new();
    let mut documents = Vec::new();
    for file in files {
        let canonical = std::fs::canonicalize(&file).with_context(|| format!("read model file {}", file.display()))?;
        if seen.insert(canonical) {
            documents.push(read_document(&file)?);
        }
    }
    if documents.is_empty() {
        let given: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!("find model files: no *.json file in {}", given.join(", "));
    }
    Ok(documents)
}

fn read_document(path: &Path) -> Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("read model file {}", path.display()))?;
    let text = String::from_utf8(bytes).with_context(|| format!("decode model file {} as UTF-8", path.display()))?;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    };
    Ok(Document { name: path.display().to_string(), text })
}

/// Collects `*.json` files below `dir`, following symbolic links but entering each real folder once.
fn walk(dir: &Path, found: &mut Vec<PathBuf>, visited: &mut BTreeSet<PathBuf>) -> Result<()> {
    let canonical = std::fs::canonicalize(dir).with_context(|| format!("read model folder {}", dir.display()))?;
    if !visited.insert(canonical) {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).with_context(|| format!("read model folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read model folder {}", dir.display()))?;
        let path = entry.path();
        let metadata = std::fs::metadata(&path).with_context(|| format!("read model path {}", path.display()))?;
        if metadata.is_dir() {
            walk(&path, found, visited)?;
        } else if is_json(&path) {
            found.push(path);
        }
    }
    Ok(())
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
}
