//! The data-driven parser suite of STYLE.md §3: `test_data/parse/{ok,err}/*.tq`, each with a sibling `.ast` snapshot.
//!
//! A missing snapshot is written on the first run; `UPDATE_EXPECT=1` rewrites changed ones.
//! Every `ok` case must parse and survive a round trip; every `err` case must be rejected.
//! It does not judge semantics: `ok/select_star_with_join.tq` parses because "SELECT * only without JOIN" is the binder's rule.

use std::path::{Path, PathBuf};

use expect_test::expect_file;

use crate::{Outcome, check_query, render_error};

#[test]
fn parse_ok() {
    check_dir("ok", true);
}

#[test]
fn parse_err() {
    check_dir("err", false);
}

fn check_dir(kind: &str, should_parse: bool) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data/parse").join(kind);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the test_data directory is part of the crate")
        .map(|entry| entry.expect("list test_data").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tq"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no .tq cases in {}", dir.display());
    let mut problems = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).expect("read a .tq case");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let actual = match check_query(text) {
            Outcome::Parsed { query, printed, round_trip } => {
                if !should_parse {
                    problems.push(format!("{name}: expected an error, but it parsed"));
                }
                if let Err(problem) = round_trip {
                    problems.push(format!("{name}: round trip failed: {problem}"));
                }
                format!("print: {printed}\n{query:#?}\n")
            }
            Outcome::Rejected(e) => {
                if should_parse {
                    problems.push(format!("{name}: expected to parse, but: {}", render_error(&e)));
                }
                format!("{}\n", render_error(&e))
            }
        };
        check_snapshot(&case.with_extension("ast"), &actual);
    }
    assert!(problems.is_empty(), "{} of {} {kind} cases failed:\n{}", problems.len(), cases.len(), problems.join("\n"));
}

/// Compares with the snapshot through `expect-test`, first writing it when it does not exist yet.
fn check_snapshot(path: &Path, actual: &str) {
    if !path.exists() {
        std::fs::write(path, actual).expect("write a new .ast snapshot");
        eprintln!("wrote new snapshot {}", path.display());
        return;
    }
    expect_file![path].assert_eq(actual);
}
