//! `cargo xtask tidy`: the house rules of STYLE.md that a machine can check, also run as the `tidy` test so `cargo test --workspace` enforces them.
//!
//! It checks the crate layering table of STYLE.md §1 (read from every manifest through `cargo metadata`), that every `.rs` file opens with a `//!` paragraph, that no debugging macro, unfinished-code macro or ignored test is left anywhere, and that only binaries print.
//! It does not format or lint code (that is `cargo fmt` and `cargo clippy`), and it does not yet check generated files, because there are none.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// STYLE.md §1's "may depend on" column as data; keep the two in step.
///
/// An internal dependency edge (of any kind: normal, dev or build) that is not listed here is a tidy error.
/// Where the prose of the table needs interpreting, the interpretation is written next to the row.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &[]),
    // The pre-loaded object models of the 2018 face (extended types, ontologies, the built-in DTDL models): STYLE.md puts built-in ontologies with `model`; they are a crate of their own so the DTDL engine stays the language alone, and they load through it.
    ("ontology", &["model"]),
    ("query-syntax", &[]),
    // `ontology`: the containment relationships the built-in models declare.
    ("graph", &["model", "ontology"]),
    ("store", &["graph", "model"]),
    ("query", &["query-syntax", "graph", "model"]),
    // The 2018 object model over the graph (navigation, OData, property keys, the non-twin objects of the management face): pure rules the server wires.
    ("spatial", &["graph", "model", "ontology", "access"]),
    ("access", &[]),
    ("compute", &["model"]),
    ("events", &["query-syntax"]),
    ("ingest", &["model"]),
    ("history", &[]),
    // The synthetic portfolio of the benchmarks (generator and models): pure data, shared by `cli` and `query-bench`.
    ("portfolio", &[]),
    // The query engine's comparison with SQLite: builds a graph from the portfolio and runs queries on it; never shipped.
    ("query-bench", &["portfolio", "model", "graph", "query-syntax", "query"]),
    // "everything above".
    ("server", LIBRARIES),
    // "`server` for `serve`, otherwise wire types"; the pure front ends are listed too, because STYLE.md §1 says the CLI can embed them (`models validate` runs `model` in process).
    // `portfolio` is the generator of `twinscape bench`.
    ("cli", &["server", "model", "query-syntax", "access", "portfolio"]),
    // Fixture parsers and backends for the libraries; never the server or a binary.
    (
        "test-support",
        &["model", "query-syntax", "graph", "store", "query", "access", "compute", "events", "ingest", "history"],
    ),
];

/// The library crates below `server`, which `server` may wire together.
const LIBRARIES: &[&str] = &[
    "model",
    "ontology",
    "query-syntax",
    "graph",
    "store",
    "query",
    "spatial",
    "access",
    "compute",
    "events",
    "ingest",
    "history",
];

/// May be a dev-dependency of any crate, and a normal or build dependency of none.
const TEST_SUPPORT: &str = "test-support";

/// Automation: not in the table, may depend on any crate, and no crate may depend on it.
const XTASK: &str = "xtask";

pub(crate) fn run(root: &Path) -> Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

/// Every problem in the workspace at `root`, one line each, in a stable order.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = check_layering(&read_packages(root)?);
    for path in rust_files(root)? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        problems.extend(check_source(&relative(root, &path), &text));
    }
    Ok(problems)
}

/// A workspace member as tidy sees it.
#[derive(Debug)]
struct Package {
    name: String,
    /// The manifest's path relative to the workspace root, with `/` separators.
    manifest: String,
    version: String,
    publishable: bool,
    /// Dependencies on other workspace members: (package name, kind), kind being `normal`, `dev` or `build`.
    internal: Vec<(String, String)>,
}

fn read_packages(root: &Path) -> Result<Vec<Package>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .context("run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("parse cargo metadata")?;
    let members = metadata["packages"].as_array().context("read packages of cargo metadata")?;
    let names: BTreeSet<&str> = members.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut packages = Vec::new();
    for member in members {
        let text = |key: &str| member[key].as_str().unwrap_or_default().to_owned();
        let internal = member["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() || d["name"].as_str().is_some_and(|n| names.contains(n)))
            .map(|d| {
                let name = d["name"].as_str().unwrap_or_default().to_owned();
                let kind = d["kind"].as_str().unwrap_or("normal").to_owned();
                (name, kind)
            })
            .collect();
        packages.push(Package {
            name: text("name"),
            manifest: relative(root, Path::new(&text("manifest_path"))),
            version: text("version"),
            // `publish = false` shows as an empty list of allowed registries; absent means any registry.
            publishable: member["publish"].as_array().is_none_or(|registries| !registries.is_empty()),
            internal,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

fn check_layering(packages: &[Package]) -> Vec<String> {
    let mut problems = Vec::new();
    for package in packages {
        let name = package.name.as_str();
        let manifest = &package.manifest;
        let expected = if name == XTASK { "xtask/Cargo.toml".to_owned() } else { format!("crates/{name}/Cargo.toml") };
        if *manifest != expected {
            problems.push(format!(
                "{manifest}: crate `{name}` must live at {expected} (STYLE.md §1: directory named after the crate)"
            ));
        }
        if package.version != "0.0.0" || package.publishable {
            problems.push(format!("{manifest}: internal crates use `version = \"0.0.0\"` and `publish = false`"));
        }
        let allowed: &[&str] = if name == XTASK {
            &[]
        } else if let Some((_, allowed)) = LAYERS.iter().find(|(crate_name, _)| *crate_name == name) {
            allowed
        } else {
            problems.push(format!("{manifest}: crate `{name}` is not in the layering table of STYLE.md §1 (add it there and in xtask/src/tidy.rs)"));
            continue;
        };
        for (dependency, kind) in &package.internal {
            let dependency = dependency.as_str();
            let ok = if dependency == XTASK {
                false
            } else if dependency == TEST_SUPPORT {
                kind == "dev"
            } else {
                name == XTASK || allowed.contains(&dependency)
            };
            if !ok {
                problems.push(format!(
                    "{manifest}: `{name}` may not depend on `{dependency}` ({kind} dependency; see STYLE.md §1)"
                ));
            }
        }
    }
    problems
}

/// Problems in one source file, `path` being relative to the workspace root with `/` separators.
fn check_source(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.starts_with("//!") {
        problems.push(format!(
            "{path}:1: file must start with a `//!` paragraph saying what it owns and what it does not do"
        ));
    }
    // Spelled in pieces so this file does not trip its own check.
    // Messages name the culprit without spelling it, for the same reason.
    let everywhere = [
        (concat!("dbg", "!"), "a `dbg` macro call"),
        (concat!("todo", "!"), "a `todo` macro call"),
        (concat!("#[", "ignore"), "an ignored test (STYLE.md §3: assert current behaviour with a FIXME instead)"),
    ];
    let printing = ["println!", "eprintln!", "print!", "eprint!"];
    let binary = is_binary(path);
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        for (pattern, culprit) in everywhere {
            if contains_token(line, pattern) {
                problems.push(format!("{path}:{number}: {culprit} is not allowed anywhere"));
            }
        }
        if !binary {
            for pattern in printing {
                if contains_token(line, pattern) {
                    problems.push(format!("{path}:{number}: `{pattern}` is only allowed in binaries; libraries return data or use `tracing`"));
                }
            }
        }
    }
    problems
}

/// Whether a file belongs to a binary, an example program, a test (including the `test-support` crate, which only tests use), a benchmark, a build script or automation, where printing is how output is made.
fn is_binary(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    path.starts_with("xtask/")
        || path.starts_with("crates/test-support/")
        || path.ends_with("src/main.rs")
        || path.contains("src/bin/")
        || parts.last() == Some(&"build.rs")
        || parts.iter().any(|part| ["tests", "benches", "examples"].contains(part))
}

/// Whether `pattern` occurs in `line` not glued to a longer identifier on either side.
fn contains_token(line: &str, pattern: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(pattern).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + pattern.len()..].chars().next();
        let starts_ident = pattern.starts_with(is_ident);
        let ends_ident = pattern.ends_with(is_ident);
        let glued_before = starts_ident && before.is_some_and(is_ident);
        let glued_after = ends_ident && after.is_some_and(is_ident);
        !glued_before && !glued_after
    })
}

/// Every `.rs` file of the repository, sorted, skipping build output, hidden directories and test data.
fn rust_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("list {}", dir.display()))? {
            let entry = entry.with_context(|| format!("list {}", dir.display()))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type().with_context(|| format!("stat {}", path.display()))?;
            if kind.is_dir() {
                let skipped = name.starts_with('.') || ["target", "node_modules", "test_data"].contains(&name.as_ref());
                if !skipped {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    let path = path.strip_prefix(root).unwrap_or(path);
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// The repository itself keeps the house rules.
    #[test]
    fn tidy() {
        let problems = check(&crate::workspace_root()).expect("tidy can read the workspace");
        assert!(problems.is_empty(), "tidy found problems:\n{}", problems.join("\n"));
    }

    fn check_file(path: &str, text: &str, expect: Expect) {
        expect.assert_eq(&check_source(path, text).join("\n"));
    }

    /// (name, manifest, internal dependencies as (name, kind)).
    type Fixture<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    fn check_packages(packages: &[Fixture<'_>], expect: Expect) {
        let packages: Vec<Package> = packages
            .iter()
            .map(|(name, manifest, internal)| Package {
                name: name.to_string(),
                manifest: manifest.to_string(),
                version: "0.0.0".to_owned(),
                publishable: false,
                internal: internal.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect(),
            })
            .collect();
        expect.assert_eq(&check_layering(&packages).join("\n"));
    }

    #[test]
    fn header_is_required() {
        check_file("crates/model/src/lib.rs", "//! Owns models.\nfn f() {}\n", expect![""]);
        check_file("crates/model/src/lib.rs", "\u{feff}//! Owns models.\n", expect![""]);
        check_file(
            "crates/model/src/lib.rs",
            "// Owns models.\n",
            expect![
                "crates/model/src/lib.rs:1: file must start with a `//!` paragraph saying what it owns and what it does not do"
            ],
        );
    }

    #[test]
    fn forbidden_macros_anywhere() {
        let text = format!(
            "//! Header.\nlet x = {}(1);\n{}]\nfn f() {{ {}() }}\n",
            concat!("dbg", "!"),
            concat!("#[", "ignore"),
            concat!("todo", "!")
        );
        check_file(
            "crates/cli/src/main.rs",
            &text,
            expect![[r#"
                crates/cli/src/main.rs:2: a `dbg` macro call is not allowed anywhere
                crates/cli/src/main.rs:3: an ignored test (STYLE.md §3: assert current behaviour with a FIXME instead) is not allowed anywhere
                crates/cli/src/main.rs:4: a `todo` macro call is not allowed anywhere"#]],
        );
        // Longer identifiers that merely contain a forbidden name are fine.
        let text = format!("//! Header.\n{}();\n", concat!("my_todo", "!"));
        check_file("crates/model/src/lib.rs", &text, expect![""]);
    }

    #[test]
    fn printing_only_in_binaries() {
        let text = "//! Header.\nprintln!(\"x\");\neprint!(\"y\");\n";
        check_file(
            "crates/model/src/set.rs",
            text,
            expect![[r#"
                crates/model/src/set.rs:2: `println!` is only allowed in binaries; libraries return data or use `tracing`
                crates/model/src/set.rs:3: `eprint!` is only allowed in binaries; libraries return data or use `tracing`"#]],
        );
        for path in [
            "crates/cli/src/main.rs",
            "crates/cli/src/bin/other.rs",
            "crates/cli/tests/it/main.rs",
            "crates/model/benches/dtdl.rs",
            "crates/model/examples/parse_folder.rs",
            "xtask/src/ci.rs",
            "crates/model/build.rs",
        ] {
            check_file(path, text, expect![""]);
        }
    }

    #[test]
    fn layering() {
        check_packages(
            &[
                ("model", "crates/model/Cargo.toml", &[("graph", "normal")]),
                ("graph", "crates/graph/Cargo.toml", &[("model", "normal"), ("test-support", "dev")]),
                ("store", "crates/store/Cargo.toml", &[("test-support", "normal")]),
                ("cli", "crates/cli/Cargo.toml", &[("model", "normal"), ("xtask", "dev")]),
                ("gadget", "crates/gadget/Cargo.toml", &[]),
                ("history", "crates/tsdb/Cargo.toml", &[]),
                ("xtask", "xtask/Cargo.toml", &[("server", "normal")]),
            ],
            expect![[r#"
                crates/model/Cargo.toml: `model` may not depend on `graph` (normal dependency; see STYLE.md §1)
                crates/store/Cargo.toml: `store` may not depend on `test-support` (normal dependency; see STYLE.md §1)
                crates/cli/Cargo.toml: `cli` may not depend on `xtask` (dev dependency; see STYLE.md §1)
                crates/gadget/Cargo.toml: crate `gadget` is not in the layering table of STYLE.md §1 (add it there and in xtask/src/tidy.rs)
                crates/tsdb/Cargo.toml: crate `history` must live at crates/history/Cargo.toml (STYLE.md §1: directory named after the crate)"#]],
        );
    }
}
