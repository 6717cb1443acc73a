//! Query results as data: runs every `test_data/slt/**/*.slt` file through the `sqllogictest` runner, record by
//! record, against the in-process engine (`db.rs`), one trial per file, and fails on any case that fails unless
//! `test_data/slt/known-failures.txt` lists it, and on any listed case that passes (so the list only shrinks).
//! It checks answers only; plans, work and charges are the engine's own tests.
//!
//! # Records
//!
//! A file builds one graph from nothing, top to bottom; each record sees the twins, relationships and settings of
//! the records above it. `include <name>.slt.part` reads a shared setup file in place (it holds no cases).
//!
//! - `statement ok` holds setup directives, one or several, each starting a line; a directive continues on the
//!   following lines indented under it (for long JSON):
//!   - `models` with JSON under it: models uploaded as one set (objects, arrays of objects, or several of either).
//!   - `models <path> …`: models from `../shared/testdata/<path>`, a file or a folder (whose `*.json` files holding
//!     an Interface or an array of Interfaces are read).
//!   - `graph <path>`: imports `../shared/testdata/<path>` (explorer JSON or bulk NDJSON, with its models) through
//!     `graph::bulk`; a refused record fails the file.
//!   - `twin <id> <model> [<json object>]`: a twin of that model with those properties.
//!   - `rel <source> <name> <target> [<id>] [<json object>]`: a relationship, its id `<source>-<name>-<target>`
//!     unless given, with those properties.
//!   - `set <key> <value>`: a setting for the queries below: `joins_max`, `hops_max`, `rows_max` take a number;
//!     `parent_to_child`, `child_to_parent` a comma-separated list of relationship names (none for none), which
//!     declare the graph's containment (`TenantGraph::set_containment`, refused when the relationships written break
//!     its rule); `set defaults` restores `query::Settings::default()` and declares no containment, as a new graph.
//!   - `any <n>`: the next query's answer is exactly `n` rows, each a different one of the rows listed (for `TOP`
//!     without `ORDER BY`, where ADT does not say which rows come).
//! - A query whose text is `@docs(<tag>)` runs the documented example of that tag in
//!   `../shared/testdata/graphs/digital-twins-docs-code/derived/docs-queries.jsonl`, read from there (never copied
//!   here), so the corpus stays the source of the documented queries.
//! - `query T rowsort` runs a query without `ORDER BY`: its rows compare as a multiset. `query T` (no sort mode)
//!   runs one with `ORDER BY`: its rows compare in order, and the file makes the order total (a last key such as
//!   `$dtId`), since rows tied on every key come in no promised order. Each row is one JSON value in the canonical
//!   text of `json.rs` (members sorted by name, numbers by value), with `@twin(<id>)` and `@rel(<source>,<id>)` for a
//!   value that is exactly that twin's or relationship's document as the graph API gives it; nothing under `----`
//!   means no rows. Under `rowsort` the rows are written in sorted order, as the runner sorts the answer's.
//! - `statement error <regex>`: the parser or the engine refuses the query with an error whose text,
//!   `<code>: <message>`, the regex matches: `^Q0303:` for a code, `^Q03\d\d:` for a family, `(?i).*<words>` for
//!   words of the message.
//!
//! A case is a `query` record or a `statement error` record; a `statement ok` record that fails fails its file at
//! once, since the cases below it would run against the wrong graph. A file with a directive that reads
//! `../shared/testdata` is skipped, loudly, when that folder is missing on a developer machine, and fails under
//! `CI=true` (the `test-support` convention).
//!
//! # Known failures
//!
//! `known-failures.txt` lists the cases (`<file>:<line of the record>  <reason>`) that fail today. There is no mode
//! that rewrites expectations: they are written from the documentation, not from what the engine answers.

mod db;
mod json;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqllogictest::harness::{Arguments, Failed, Trial};
use sqllogictest::{DefaultColumnType, QueryExpect, Record, Runner, StatementExpect};

use db::{Database, DbError};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/slt");
    let mut files = Vec::new();
    find_slt_files(&dir, &dir, &mut files);
    files.sort();
    let known = Arc::new(known_failures(&dir.join("known-failures.txt")));
    let mut trials = Vec::new();
    for name in &files {
        let (dir, name, known) = (dir.clone(), name.clone(), known.clone());
        trials.push(Trial::test(name.clone(), move || run_file(&dir, &name, &known).map_err(Failed::from)));
    }
    let listed_files: Vec<String> = known.keys().map(|(file, _)| file.clone()).collect();
    trials.push(Trial::test("known-failures.txt", move || {
        let missing: Vec<&String> = listed_files.iter().filter(|f| !files.contains(f)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("lists cases of files that do not exist: {missing:?}").into())
        }
    }));
    sqllogictest::harness::run(&args, trials).exit();
}

/// The `.slt` files under `dir`, as paths relative to `root` with `/` separators.
fn find_slt_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read test_data/slt") {
        let path = entry.expect("read test_data/slt").path();
        if path.is_dir() {
            find_slt_files(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "slt") {
            let relative = path.strip_prefix(root).expect("found under the root");
            let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into()).collect();
            out.push(parts.join("/"));
        }
    }
}

/// Runs one file record by record; gives every problem found, or `Ok` when its cases fail exactly as listed.
fn run_file(dir: &Path, name: &str, known: &KnownFailures) -> Result<(), String> {
    let path: PathBuf = dir.join(name);
    let records =
        sqllogictest::parse_file::<DefaultColumnType>(&path).map_err(|e| format!("{name}: cannot be parsed: {e}"))?;
    let needs_shared = records.iter().any(|r| match r {
        Record::Statement { sql, .. } | Record::Query { sql, .. } => db::needs_shared(sql),
        _ => false,
    });
    if needs_shared && db::shared_root().is_none() {
        eprintln!("SKIPPED: {name}: it reads ../shared/testdata, which is missing");
        return Ok(());
    }
    let top = path.to_string_lossy().into_owned();
    let database = Database::default();
    let connection = database.clone();
    let mut runner = Runner::new(move || std::future::ready(Ok::<_, DbError>(connection.clone())));
    // Rows are compared exactly as written: the canonical form already settles spacing.
    runner.with_normalizer(String::clone);

    let mut cases: Vec<(u32, Result<(), String>)> = Vec::new();
    let mut problems = Vec::new();
    for record in records {
        let (loc, is_case) = match &record {
            Record::Query { loc, .. } => (loc.clone(), true),
            Record::Statement { loc, expected, .. } => (loc.clone(), matches!(expected, StatementExpect::Error(_))),
            Record::Include { .. } | Record::Injected(_) | Record::Comment(_) | Record::Newline => continue,
            other => {
                problems.push(format!("{name}: a record these files do not use: {other:?}"));
                break;
            }
        };
        let at =
            format!("{}:{}", loc.file().strip_prefix(&format!("{}/", dir.display())).unwrap_or(loc.file()), loc.line());
        if is_case && loc.file() != top {
            problems.push(format!("{at}: cases belong in the .slt file, not in an included one"));
            break;
        }
        let any = database.take_any();
        let result = match (any, &record) {
            (Some(n), Record::Query { sql, expected: QueryExpect::Results { results, .. }, .. }) => {
                check_any(&database, sql, n, results).map_err(|e| format!("{e}\nat {at}"))
            }
            (Some(_), _) => {
                problems.push(format!("{at}: `any <n>` must be followed by a `query` record with rows"));
                break;
            }
            (None, _) => runner.run(record).map(drop).map_err(|e| e.display(false).to_string()),
        };
        if is_case {
            cases.push((loc.line(), result));
        } else if let Err(message) = result {
            problems.push(format!("{at}: setup failed; the rest of the file is not run:\n{message}"));
            break;
        }
    }
    if problems.is_empty() && database.pending() {
        problems.push(format!("{name}: ends with an `any` directive that no query follows"));
    }
    let listed: BTreeMap<u32, &String> =
        known.iter().filter(|((file, _), _)| file == name).map(|((_, line), reason)| (*line, reason)).collect();
    for (line, result) in &cases {
        match (result, listed.contains_key(line)) {
            (Ok(()), true) => problems.push(format!("{name}:{line}: passes now; remove it from known-failures.txt")),
            (Err(message), false) => problems.push(message.clone()),
            (Ok(()), false) | (Err(_), true) => {}
        }
    }
    for line in listed.keys() {
        if !cases.iter().any(|(l, _)| l == line) {
            problems.push(format!("known-failures.txt lists {name}:{line}, which is not a case of that file"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("{} problems:\n\n{}", problems.len(), problems.join("\n\n"))) }
}

/// An `any <n>` query: exactly `n` rows, each a different one of the `listed` rows.
fn check_any(database: &Database, sql: &str, n: usize, listed: &[String]) -> Result<(), String> {
    let shown = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let rows = database.query(sql).map_err(|e| format!("query failed: {e}\n[SQL] {shown}"))?;
    let mut used = vec![false; listed.len()];
    let all_listed = rows.iter().all(|row| match (0..listed.len()).find(|&i| !used[i] && listed[i] == *row) {
        Some(i) => {
            used[i] = true;
            true
        }
        None => false,
    });
    if rows.len() == n && all_listed {
        return Ok(());
    }
    Err(format!(
        "query result mismatch: expected {n} different rows among the {} listed, got:\n    {}\n[SQL] {shown}",
        listed.len(),
        rows.join("\n    ")
    ))
}

/// The listed known failures by file and line of the record, with the reason each fails.
type KnownFailures = BTreeMap<(String, u32), String>;

/// Reads `<file>:<line>  <reason>` lines, `#` starting a comment line.
fn known_failures(path: &Path) -> KnownFailures {
    let text = std::fs::read_to_string(path).expect("the known-failures list is part of the crate");
    let mut known = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (case, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let parsed = case.rsplit_once(':').and_then(|(file, n)| Some((file.to_owned(), n.parse::<u32>().ok()?)));
        let Some(key) = parsed else { panic!("known-failures.txt:{}: expected '<file>:<line>  <reason>'", index + 1) };
        assert!(!reason.trim().is_empty(), "known-failures.txt:{}: give the reason the case fails", index + 1);
        assert!(
            known.insert(key, reason.trim().to_owned()).is_none(),
            "known-failures.txt:{}: listed twice",
            index + 1
        );
    }
    known
}
