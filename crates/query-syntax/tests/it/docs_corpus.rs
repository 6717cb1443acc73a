//! Every query of the published ADT documentation samples, from `../shared/testdata` (never copied here).
//!
//! Each `example` parses unless flagged as a doc bug, as a placeholder template, or listed in
//! `test_data/docs-corpus-known-failures.txt`; the `negative-example` is rejected; whatever parses round-trips.
//! It does not look at `syntax-template` entries, which are grammar sketches rather than queries.

use std::path::PathBuf;

use crate::{Outcome, check_query, render_error};

const CORPUS: &str = "graphs/digital-twins-docs-code/derived/docs-queries.jsonl";

#[test]
fn docs_queries() {
    let Some(root) = testdata("the docs-queries corpus") else { return };
    let text = std::fs::read_to_string(root.join(CORPUS)).expect("read docs-queries.jsonl");
    let known = known_failures();
    let (mut parsed, mut doc_bugs, mut placeholders, mut known_failed, mut rejected, mut round_trips) =
        (0, 0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("each corpus line is a JSON object");
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        let (tag, kind, query) = (field("tag"), field("kind"), field("query"));
        let flags: Vec<String> =
            row["flags"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_owned)).collect();
        let flagged = |prefix: &str| flags.iter().any(|f| f.starts_with(prefix));
        match kind.as_str() {
            "negative-example" => match check_query(&query) {
                Outcome::Rejected(e) => {
                    rejected += 1;
                    eprintln!("rejected negative {tag}: {}", render_error(&e));
                }
                Outcome::Parsed { printed, .. } => {
                    failures.push(format!("{tag}: negative example parsed as {printed}"))
                }
            },
            "example" => {
                // One sample holds two queries separated by a blank line; each is checked on its own.
                let queries: Vec<&str> = if flagged("contains-multiple-queries") {
                    query.split("\n\n").filter(|q| !q.trim().is_empty()).collect()
                } else {
                    vec![query.as_str()]
                };
                for q in queries {
                    let outcome = check_query(q);
                    if let Outcome::Parsed { round_trip, .. } = &outcome {
                        match round_trip {
                            Ok(()) => round_trips += 1,
                            Err(problem) => failures.push(format!("{tag}: round trip failed: {problem}")),
                        }
                    }
                    let known_failure = known.contains(&tag);
                    let excuse = if flagged("doc-bug") {
                        Some(&mut doc_bugs)
                    } else if flagged("has-placeholders") {
                        Some(&mut placeholders)
                    } else if known_failure {
                        Some(&mut known_failed)
                    } else {
                        None
                    };
                    match (outcome, excuse) {
                        (Outcome::Parsed { .. }, _) => {
                            parsed += 1;
                            if known_failure {
                                failures.push(format!("{tag}: parses now; remove it from the known-failures list"));
                            }
                        }
                        (Outcome::Rejected(e), Some(count)) => {
                            *count += 1;
                            eprintln!("excused {tag} {flags:?}: {}", render_error(&e));
                        }
                        (Outcome::Rejected(e), None) => failures.push(format!("{tag}: {}", render_error(&e))),
                    }
                }
            }
            _ => {}
        }
    }
    eprintln!(
        "docs-queries: {parsed} example queries parsed, {round_trips} round-tripped; rejected but excused: {doc_bugs} flagged doc-bug, {placeholders} with placeholders, {known_failed} known failures; {rejected} negative example rejected"
    );
    assert!(rejected >= 1, "the corpus should hold a negative example");
    assert!(failures.is_empty(), "{} docs-queries problems:\n{}", failures.len(), failures.join("\n"));
}

/// Tags of published examples we reject on purpose, one per line with `#` comments; this list may only get shorter.
fn known_failures() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data/docs-corpus-known-failures.txt");
    let text = std::fs::read_to_string(path).expect("the known-failures list is part of the crate");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The shared test data folder, or `None` (after saying so loudly) when it is absent outside CI.
fn testdata(what: &str) -> Option<PathBuf> {
    test_support::testdata(env!("CARGO_MANIFEST_DIR"), what)
}
