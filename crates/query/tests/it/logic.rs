//! Query tests as data: runs every `test_data/logic/*.logic` file, each a graph and the queries asked of it with
//! the rows (or the error) the documented semantics give, and fails on any mismatch not listed in
//! `test_data/logic/known-failures.txt`. It does not check plans, work or charges; the engine's own tests do.
//!
//! # Format
//!
//! A file is read line by line, top to bottom; each directive acts on the graph and settings built so far, so a
//! query sees exactly the twins, relationships and settings written above it. Lines starting with `#` are comments;
//! blank lines separate directives. A directive's text continues on the following lines that start with a space or
//! a tab (for long JSON).
//!
//! - `include <name>`: the lines of `test_data/logic/<name>` (a shared `*.setup` file), in place.
//! - `models` followed by indented JSON: models uploaded as one set (objects, arrays of objects, or several of either).
//! - `models <path> …`: models from `../shared/testdata/<path>`, a file (a model or an array of models) or a folder,
//!   of which every `*.json` file holding an Interface or an array of Interfaces is read (others are ignored).
//! - `graph <path>`: imports `../shared/testdata/<path>` (explorer JSON or bulk NDJSON, with the models it holds)
//!   through `graph::bulk`; any refused record fails the file.
//! - `twin <id> <model> [<json object>]`: creates a twin of `<model>` with those properties.
//! - `rel <source> <name> <target> [<id>] [<json object>]`: creates a relationship, whose id defaults to
//!   `<source>-<name>-<target>`, with those properties.
//! - `set <key> <value>`: a setting for the queries below; `joins_max`, `hops_max` and `rows_max` take a number,
//!   `parent_to_child` and `child_to_parent` a comma-separated list of relationship names (nothing for none);
//!   `set defaults` restores `query::Settings::default()`.
//! - `query` followed by the query text, a line `----`, then the expectation, which ends at a blank line:
//!   - JSON rows, one per line; nothing at all means no rows. `@twin(<id>)` and `@rel(<source>,<id>)` outside JSON
//!     strings stand for that twin's or relationship's document as the graph API gives it (`SELECT *` rows, projected
//!     collections), so expectations never spell out etags or timestamps.
//!     Rows are compared as a multiset, unless the query has `ORDER BY`: then in order, and the file makes the order
//!     total (a last key such as `$dtId`), since rows tied on every key come in no promised order.
//!     Object members compare in any order, numbers by value (`4` equals `4.0`).
//!   - `error [<code>] [<text>]`: the parser or the engine refuses the query. `<code>` is exact (`Q0303`) or a family
//!     (`Q01xx`); `<text>` must occur in the message, ignoring case. Either may be left out, so a rule the engine has
//!     no code for yet can be written as `error Q03xx` or `error <words of its message>`.
//! - `query any <n>`: the answer has exactly `n` rows, each a different one of the rows listed (for `TOP` without
//!   `ORDER BY`, where ADT does not say which rows come).
//! - `query docs <tag>` (or `query any <n> docs <tag>`): the query text is the `query` of that tag in
//!   `../shared/testdata/graphs/digital-twins-docs-code/derived/docs-queries.jsonl` (never copied here); `----` follows
//!   at once.
//!
//! A file that needs `../shared/testdata` is skipped, loudly, when it is missing on a developer machine, and fails
//! under `CI=true` (the `test-support` convention).
//!
//! # Known failures
//!
//! `known-failures.txt` lists the cases (`<file>:<line of query>  <reason>`) that fail today, mostly features the
//! engine does not run yet. A listed case that passes fails the run, so the list only shrinks; a failure not listed
//! fails it too. There is no mode that rewrites expectations: they are written from the documentation, not from what
//! the engine answers.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use graph::{Precondition, TenantGraph};
use query::Settings;
use serde_json::{Map, Value};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";
const DOCS_QUERIES: &str = "graphs/digital-twins-docs-code/derived/docs-queries.jsonl";

#[test]
fn logic_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/logic");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read test_data/logic")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".logic"))
        .collect();
    names.sort();
    let known = known_failures(&dir.join("known-failures.txt"));
    let mut shared = Shared::default();
    let mut problems = Vec::new();
    let (mut passed, mut known_failed, mut skipped) = (0, 0, Vec::new());
    let mut seen = Vec::new();
    for name in &names {
        let outcome = run_file(&dir, name, &mut shared);
        if outcome.skipped {
            skipped.push(name.clone());
            continue;
        }
        problems.extend(outcome.setup_errors);
        for (line, result) in outcome.cases {
            let key = (name.clone(), line);
            seen.push(key.clone());
            match (result, known.get(&key)) {
                (Ok(()), None) => passed += 1,
                (Ok(()), Some(_)) => {
                    problems.push(format!("{name}:{line}: passes now; remove it from known-failures.txt"))
                }
                (Err(_), Some(_)) => known_failed += 1,
                (Err(message), None) => problems.push(message),
            }
        }
    }
    for (file, line) in known.keys() {
        if !skipped.contains(file) && !seen.contains(&(file.clone(), *line)) {
            problems.push(format!("known-failures.txt lists {file}:{line}, which is not a query of that file"));
        }
    }
    eprintln!(
        "logic: {} files, {passed} cases passed, {known_failed} known failures, skipped (no shared test data): {skipped:?}",
        names.len()
    );
    assert!(problems.is_empty(), "{} query logic problems:\n\n{}", problems.len(), problems.join("\n\n"));
}

/// What running one file gave: each query's line and its result, and the directives that could not be applied.
#[derive(Default)]
struct FileOutcome {
    cases: Vec<(usize, Result<(), String>)>,
    setup_errors: Vec<String>,
    skipped: bool,
}

/// Shared test data, looked up once and only by files that need it.
#[derive(Default)]
struct Shared {
    root: Option<Option<PathBuf>>,
    docs: Option<HashMap<String, String>>,
}

impl Shared {
    fn root(&mut self) -> Option<PathBuf> {
        self.root.get_or_insert_with(|| test_support::testdata(env!("CARGO_MANIFEST_DIR"), "query logic files")).clone()
    }

    /// The query text of each tag of the published-queries corpus.
    fn docs_query(&mut self, tag: &str) -> Option<Result<String, String>> {
        if self.docs.is_none() {
            let root = self.root()?;
            let text = std::fs::read_to_string(root.join(DOCS_QUERIES)).expect("read docs-queries.jsonl");
            let mut docs = HashMap::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let row: Value = serde_json::from_str(line).expect("each corpus line is a JSON object");
                if let (Some(tag), Some(query)) = (row["tag"].as_str(), row["query"].as_str()) {
                    docs.insert(tag.to_owned(), query.to_owned());
                }
            }
            self.docs = Some(docs);
        }
        let docs = self.docs.as_ref().expect("just filled");
        Some(docs.get(tag).cloned().ok_or_else(|| format!("docs-queries.jsonl has no tag '{tag}'")))
    }
}

/// One line of a file after includes are expanded: where it comes from, and its text.
struct Line {
    file: String,
    number: usize,
    text: String,
}

impl Line {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.number)
    }
}

/// What a query's answer must be.
enum Expected {
    Rows(Vec<Value>),
    Any(usize, Vec<Value>),
    Error { code: Option<String>, text: Option<String> },
}

fn run_file(dir: &Path, name: &str, shared: &mut Shared) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let mut lines = Vec::new();
    if let Err(e) = expand(dir, name, &mut lines, 0) {
        outcome.setup_errors.push(e);
        return outcome;
    }
    let mut graph = TenantGraph::new(graph::Limits::default());
    let mut settings = Settings::default();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let trimmed = line.text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        // The directive with its indented continuation lines.
        let mut text = line.text.clone();
        let mut next = i + 1;
        let (keyword, _) = split_word(trimmed);
        if keyword != "query" {
            while next < lines.len() && lines[next].text.starts_with([' ', '\t']) && !lines[next].text.trim().is_empty()
            {
                text.push('\n');
                text.push_str(&lines[next].text);
                next += 1;
            }
        }
        let (keyword, rest) = split_word(text.trim());
        let setup = match keyword {
            "models" => add_models(&mut graph, rest, shared),
            "graph" => import_graph(&mut graph, rest, shared),
            "twin" => add_twin(&mut graph, rest),
            "rel" => add_relationship(&mut graph, rest),
            "set" => set(&mut settings, rest),
            "query" if line.file != name => {
                Err(SetupError::Failed("queries belong in the .logic file, not in an included one".to_owned()))
            }
            "query" => {
                let (result, after) = run_query(&lines, i, &graph, &settings, shared);
                match result {
                    QueryResult::Done(r) => {
                        outcome.cases.push((line.number, r.map_err(|m| format!("{}: {m}", line.at()))))
                    }
                    QueryResult::Malformed(m) => outcome.setup_errors.push(format!("{}: {m}", line.at())),
                    QueryResult::NoSharedData => {
                        outcome.skipped = true;
                        return outcome;
                    }
                }
                next = after;
                Ok(())
            }
            other => Err(SetupError::Failed(format!("unknown directive '{other}'"))),
        };
        match setup {
            Ok(()) => {}
            Err(SetupError::NoSharedData) => {
                outcome.skipped = true;
                return outcome;
            }
            Err(SetupError::Failed(m)) => {
                // Later queries would run against the wrong graph, so the rest of the file is not run.
                outcome.setup_errors.push(format!("{}: {m}", line.at()));
                return outcome;
            }
        }
        i = next;
    }
    outcome
}

enum SetupError {
    Failed(String),
    NoSharedData,
}

impl From<String> for SetupError {
    fn from(message: String) -> SetupError {
        SetupError::Failed(message)
    }
}

/// Reads `name` into `out`, replacing each `include` line by the included file's lines.
fn expand(dir: &Path, name: &str, out: &mut Vec<Line>, depth: usize) -> Result<(), String> {
    if depth > 4 {
        return Err(format!("{name}: includes nest too deep"));
    }
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: cannot read: {e}"))?;
    for (index, text) in text.lines().enumerate() {
        if let ("include", included) = split_word(text.trim()) {
            expand(dir, included.trim(), out, depth + 1).map_err(|e| format!("{name}:{}: {e}", index + 1))?;
        } else {
            out.push(Line { file: name.to_owned(), number: index + 1, text: text.to_owned() });
        }
    }
    Ok(())
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// Splits `a b c {json}` into its words and its JSON object (empty when absent).
fn words_and_object(text: &str) -> Result<(Vec<&str>, Map<String, Value>), String> {
    let (words, json) = match text.find('{') {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    };
    let object = if json.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(json) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err("expected a JSON object".to_owned()),
            Err(e) => return Err(format!("not valid JSON: {e}")),
        }
    };
    Ok((words.split_whitespace().collect(), object))
}

fn add_models(graph: &mut TenantGraph, rest: &str, shared: &mut Shared) -> Result<(), SetupError> {
    let mut documents = Vec::new();
    if rest.starts_with(['{', '[']) {
        for value in serde_json::Deserializer::from_str(rest).into_iter::<Value>() {
            let value = value.map_err(|e| format!("inline models are not valid JSON: {e}"))?;
            push_models(value, &mut documents);
        }
    } else {
        let root = shared.root().ok_or(SetupError::NoSharedData)?;
        for path in rest.split_whitespace() {
            let full = root.join(path);
            if full.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(&full)
                    .map_err(|e| format!("cannot read {path}: {e}"))?
                    .filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                files.sort();
                for file in files {
                    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {path}: {e}"))?;
                    if let Ok(value) = serde_json::from_str::<Value>(&text)
                        && is_interfaces(&value)
                    {
                        push_models(value, &mut documents);
                    }
                }
            } else {
                let text = std::fs::read_to_string(&full).map_err(|e| format!("cannot read {path}: {e}"))?;
                let value = serde_json::from_str(&text).map_err(|e| format!("{path} is not valid JSON: {e}"))?;
                push_models(value, &mut documents);
            }
        }
    }
    if documents.is_empty() {
        return Err(SetupError::Failed("no models found".to_owned()));
    }
    graph.upload_models(documents, NOW).map_err(|e| format!("the models are refused: {e}"))?;
    Ok(())
}

fn is_interfaces(value: &Value) -> bool {
    let interface = |v: &Value| v.get("@type").and_then(Value::as_str) == Some("Interface");
    match value {
        Value::Array(items) => !items.is_empty() && items.iter().all(interface),
        other => interface(other),
    }
}

fn push_models(value: Value, documents: &mut Vec<Value>) {
    match value {
        Value::Array(items) => documents.extend(items),
        other => documents.push(other),
    }
}

fn import_graph(graph: &mut TenantGraph, path: &str, shared: &mut Shared) -> Result<(), SetupError> {
    let root = shared.root().ok_or(SetupError::NoSharedData)?;
    let text = std::fs::read_to_string(root.join(path)).map_err(|e| format!("cannot read {path}: {e}"))?;
    let bulk = graph::bulk::parse(&text, graph::bulk::detect(&text));
    let report = graph.import(bulk, NOW);
    if !report.errors.is_empty() {
        let errors: Vec<String> = report.errors.iter().map(|e| format!("record {}: {}", e.line, e.message)).collect();
        return Err(SetupError::Failed(format!("importing {path} failed: {}", errors.join("; "))));
    }
    Ok(())
}

fn add_twin(graph: &mut TenantGraph, rest: &str) -> Result<(), SetupError> {
    let (words, mut body) = words_and_object(rest)?;
    let [id, model] = words[..] else {
        return Err(SetupError::Failed("expected: twin <id> <model> [<json object>]".to_owned()));
    };
    body.insert("$metadata".to_owned(), serde_json::json!({ "$model": model }));
    graph
        .put_twin(id, Value::Object(body), &Precondition::None, NOW)
        .map_err(|e| format!("twin '{id}' is refused: {e}"))?;
    Ok(())
}

fn add_relationship(graph: &mut TenantGraph, rest: &str) -> Result<(), SetupError> {
    let (words, mut body) = words_and_object(rest)?;
    let (source, name, target, id) = match words[..] {
        [source, name, target] => (source, name, target, format!("{source}-{name}-{target}")),
        [source, name, target, id] => (source, name, target, id.to_owned()),
        _ => {
            return Err(SetupError::Failed("expected: rel <source> <name> <target> [<id>] [<json object>]".to_owned()));
        }
    };
    body.insert("$targetId".to_owned(), Value::from(target));
    body.insert("$relationshipName".to_owned(), Value::from(name));
    graph
        .put_relationship(source, &id, Value::Object(body), &Precondition::None, NOW)
        .map_err(|e| format!("relationship '{id}' is refused: {e}"))?;
    Ok(())
}

fn set(settings: &mut Settings, rest: &str) -> Result<(), SetupError> {
    let (key, value) = split_word(rest);
    let number = || value.parse::<usize>().map_err(|_| format!("set {key} needs a whole number, not '{value}'"));
    let names = || value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect();
    match key {
        "defaults" => *settings = Settings::default(),
        "joins_max" => settings.limits.joins_max = number()?,
        "hops_max" => settings.limits.hops_max = u32::try_from(number()?).map_err(|e| e.to_string())?,
        "rows_max" => settings.limits.rows_max = number()?,
        "parent_to_child" => settings.containment.parent_to_child = names(),
        "child_to_parent" => settings.containment.child_to_parent = names(),
        other => return Err(SetupError::Failed(format!("unknown setting '{other}'"))),
    }
    Ok(())
}

enum QueryResult {
    /// The case ran: `Ok` when the answer is as expected, else what differs.
    Done(Result<(), String>),
    /// The block itself is wrong (no `----`, bad JSON in an expected row).
    Malformed(String),
    NoSharedData,
}

/// Runs the `query` block starting at `lines[start]`; gives its result and the index of the line after the block.
fn run_query(
    lines: &[Line],
    start: usize,
    graph: &TenantGraph,
    settings: &Settings,
    shared: &mut Shared,
) -> (QueryResult, usize) {
    let (_, mode) = split_word(lines[start].text.trim());
    let mut i = start + 1;
    let mut text = String::new();
    while i < lines.len() && lines[i].text.trim() != "----" {
        text.push_str(&lines[i].text);
        text.push('\n');
        i += 1;
    }
    if i == lines.len() {
        return (QueryResult::Malformed("the query has no '----' line before its expectation".to_owned()), i);
    }
    i += 1;
    let mut expected_lines = Vec::new();
    while i < lines.len() && !lines[i].text.trim().is_empty() {
        expected_lines.push(&lines[i]);
        i += 1;
    }
    let after = i;
    let malformed = |m: String| (QueryResult::Malformed(m), after);
    let (mut any, mut tag) = (None, None);
    let mut words = mode.split_whitespace();
    while let Some(word) = words.next() {
        match (word, words.next()) {
            ("any", Some(n)) => match n.parse::<usize>() {
                Ok(n) => any = Some(n),
                Err(_) => return malformed(format!("'query any' needs a row count, not '{n}'")),
            },
            ("docs", Some(t)) => tag = Some(t),
            _ => return malformed(format!("expected 'query [any <n>] [docs <tag>]', found 'query {mode}'")),
        }
    }
    let text = match tag {
        None => text,
        Some(_) if !text.trim().is_empty() => {
            return malformed("a 'query docs' block has no query text of its own".to_owned());
        }
        Some(tag) => match shared.docs_query(tag) {
            None => return (QueryResult::NoSharedData, after),
            Some(Err(m)) => return malformed(m),
            Some(Ok(q)) => q,
        },
    };
    let expected = match parse_expected(&expected_lines, graph, any) {
        Ok(e) => e,
        Err(m) => return (QueryResult::Malformed(m), after),
    };
    (QueryResult::Done(check(&text, graph, settings, &expected)), after)
}

fn parse_expected(lines: &[&Line], graph: &TenantGraph, any: Option<usize>) -> Result<Expected, String> {
    if let Some(first) = lines.first()
        && let ("error", rest) = split_word(first.text.trim())
    {
        if lines.len() > 1 || any.is_some() {
            return Err(format!("{}: an error expectation stands alone", first.at()));
        }
        let (word, after) = split_word(rest);
        let is_code = word.len() == 5
            && word.is_ascii()
            && word.starts_with('Q')
            && word[1..3].bytes().all(|b| b.is_ascii_digit())
            && (word.ends_with("xx") || word[3..].bytes().all(|b| b.is_ascii_digit()));
        let (code, text) = if is_code { (Some(word.to_owned()), after) } else { (None, rest) };
        let text = (!text.is_empty()).then(|| text.to_owned());
        return Ok(Expected::Error { code, text });
    }
    let mut rows = Vec::new();
    for line in lines {
        let json = substitute(line.text.trim(), graph).map_err(|m| format!("{}: {m}", line.at()))?;
        let row =
            serde_json::from_str(&json).map_err(|e| format!("{}: the expected row is not JSON: {e}", line.at()))?;
        rows.push(row);
    }
    Ok(match any {
        Some(n) => Expected::Any(n, rows),
        None => Expected::Rows(rows),
    })
}

/// Replaces `@twin(id)` and `@rel(source,id)` outside JSON strings by the document the graph API gives.
fn substitute(text: &str, graph: &TenantGraph) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string && c == '@' {
            let (call, after) = rest.split_once(')').ok_or_else(|| format!("unclosed '{rest}'"))?;
            let document = match call.split_once('(') {
                Some(("@twin", id)) => {
                    graph.twin(id.trim()).ok_or_else(|| format!("no twin '{id}' in the graph"))?.to_json()
                }
                Some(("@rel", args)) => {
                    let (source, id) = args.split_once(',').ok_or_else(|| "@rel needs (source,id)".to_owned())?;
                    graph
                        .relationship(source.trim(), id.trim())
                        .map_err(|e| format!("no relationship '{id}' of '{source}': {e}"))?
                        .to_json()
                }
                _ => return Err(format!("unknown substitution '{call})'")),
            };
            out.push_str(&document.to_string());
            rest = after;
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// The one caller of the API under test: parses and runs `text`, then compares the answer with `expected`.
fn check(text: &str, graph: &TenantGraph, settings: &Settings, expected: &Expected) -> Result<(), String> {
    let shown = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let answer = query_syntax::parse(text, &query_syntax::Limits::default())
        .map_err(|e| (e.code.to_owned(), e.message))
        .and_then(|parsed| {
            let ordered = !parsed.order_by.is_empty();
            query::run(graph, &parsed, settings).map(|a| (a, ordered)).map_err(|e| (e.code().to_owned(), e.to_string()))
        });
    let fail = |what: String| Err(format!("{shown}\n  {what}"));
    match (expected, answer) {
        (Expected::Error { code, text }, Err((actual_code, message))) => {
            let code_ok = code.as_ref().is_none_or(|c| match c.strip_suffix("xx") {
                Some(family) => actual_code.starts_with(family),
                None => *c == actual_code,
            });
            let text_ok = text.as_ref().is_none_or(|t| message.to_lowercase().contains(&t.to_lowercase()));
            if code_ok && text_ok {
                Ok(())
            } else {
                let (code, text) = (code.as_deref().unwrap_or(""), text.as_deref().unwrap_or(""));
                fail(format!("expected error {code} {text}, got {actual_code}: {message}"))
            }
        }
        (Expected::Error { code, text }, Ok((answer, _))) => {
            let (code, text) = (code.as_deref().unwrap_or(""), text.as_deref().unwrap_or(""));
            let rows: Vec<&str> = answer.rows.iter().map(|r| r.get()).collect();
            fail(format!("expected error {code} {text}, got {} rows:\n    {}", rows.len(), rows.join("\n    ")))
        }
        (_, Err((code, message))) => fail(format!("expected rows, got error {code}: {message}")),
        (expected, Ok((answer, ordered))) => {
            let mut actual = Vec::with_capacity(answer.rows.len());
            for row in &answer.rows {
                match serde_json::from_str::<Value>(row.get()) {
                    Ok(v) => actual.push(v),
                    Err(e) => return fail(format!("the engine gave a row that is not JSON ({e}): {}", row.get())),
                }
            }
            let problem = match expected {
                Expected::Rows(rows) if ordered => compare_ordered(rows, &actual),
                Expected::Rows(rows) => compare_multiset(rows, &actual),
                Expected::Any(n, candidates) => compare_any(*n, candidates, &actual),
                Expected::Error { .. } => unreachable!("handled above"),
            };
            match problem {
                None => Ok(()),
                Some(p) => fail(p),
            }
        }
    }
}

fn compare_ordered(expected: &[Value], actual: &[Value]) -> Option<String> {
    if expected.len() == actual.len() && expected.iter().zip(actual).all(|(e, a)| same(e, a)) {
        return None;
    }
    Some(format!("expected these rows in this order:\n{}  got:\n{}", show_rows(expected), show_rows(actual)))
}

fn compare_multiset(expected: &[Value], actual: &[Value]) -> Option<String> {
    let mut used = vec![false; actual.len()];
    let mut missing = Vec::new();
    for e in expected {
        match (0..actual.len()).find(|&i| !used[i] && same(e, &actual[i])) {
            Some(i) => used[i] = true,
            None => missing.push(e.clone()),
        }
    }
    let extra: Vec<Value> = actual.iter().zip(&used).filter(|(_, u)| !**u).map(|(a, _)| a.clone()).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut out = String::new();
    if !missing.is_empty() {
        let _ = write!(out, "expected rows missing from the answer:\n{}", show_rows(&missing));
    }
    if !extra.is_empty() {
        let _ = write!(
            out,
            "{}rows of the answer not expected:\n{}",
            if missing.is_empty() { "" } else { "  " },
            show_rows(&extra)
        );
    }
    Some(out.trim_end().to_owned())
}

fn compare_any(n: usize, candidates: &[Value], actual: &[Value]) -> Option<String> {
    let mut used = vec![false; candidates.len()];
    let mut stray = Vec::new();
    for a in actual {
        match (0..candidates.len()).find(|&i| !used[i] && same(a, &candidates[i])) {
            Some(i) => used[i] = true,
            None => stray.push(a.clone()),
        }
    }
    if actual.len() == n && stray.is_empty() {
        return None;
    }
    Some(format!(
        "expected {n} different rows among the listed ones, got {} rows; rows not among them (or repeated):\n{}",
        actual.len(),
        show_rows(&stray)
    ))
}

fn show_rows(rows: &[Value]) -> String {
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(out, "    {row}");
    }
    out
}

/// JSON equality with object members in any order and numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

/// The listed known failures: `<file>:<line>  <reason>` per line, `#` starting a comment line.
fn known_failures(path: &Path) -> BTreeMap<(String, usize), String> {
    let text = std::fs::read_to_string(path).expect("the known-failures list is part of the crate");
    let mut known = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (case, reason) = split_word(line);
        let parsed = case.rsplit_once(':').and_then(|(file, n)| Some((file.to_owned(), n.parse::<usize>().ok()?)));
        let Some(key) = parsed else { panic!("known-failures.txt:{}: expected '<file>:<line>  <reason>'", index + 1) };
        assert!(!reason.is_empty(), "known-failures.txt:{}: give the reason the case fails", index + 1);
        assert!(known.insert(key, reason.to_owned()).is_none(), "known-failures.txt:{}: listed twice", index + 1);
    }
    known
}
