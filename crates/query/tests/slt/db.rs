//! The database the `.slt` files run against: one tenant graph and the query settings, built by the directives of
//! `statement ok` records and asked by `query` records, whose rows it renders as canonical JSON (`json.rs`) with whole
//! twin and relationship documents written as `@twin(<id>)` and `@rel(<source>,<id>)`.
//!
//! It owns the directives and the one call of the API under test (`State::query`); it does not compare answers
//! (the `sqllogictest` runner does) nor know which cases are expected to fail (`main.rs` does).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use graph::{Containment, Precondition, TenantGraph};
use query::Settings;
use serde_json::{Map, Value};
use sqllogictest::{DBOutput, DefaultColumnType};

use crate::json;

const NOW: &str = "2026-11-26T12:00:00.0000000Z";
const DOCS_QUERIES: &str = "graphs/digital-twins-docs-code/derived/docs-queries.jsonl";

/// The directives a `statement ok` record may hold; any other text is a query.
const DIRECTIVES: [&str; 6] = ["models", "graph", "twin", "rel", "set", "any"];

/// A handle on one file's state, shared by the runner (which owns its connection) and `main.rs` (which reads the
/// `any` directive).
#[derive(Clone, Default)]
pub(crate) struct Database(Arc<Mutex<State>>);

impl Database {
    /// Takes the row count set by an `any <n>` directive for the query that follows it.
    pub(crate) fn take_any(&self) -> Option<usize> {
        self.state().any.take()
    }

    /// Whether an `any` directive still waits for its query.
    pub(crate) fn pending(&self) -> bool {
        let state = self.state();
        state.any.is_some()
    }

    /// Runs a query as a `query` record would, for the records `main.rs` checks itself.
    pub(crate) fn query(&self, text: &str) -> Result<Vec<String>, DbError> {
        self.state().query(text)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock fails the file's trial anyway; the state is not read after that.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl sqllogictest::DB for Database {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let mut state = self.state();
        if DIRECTIVES.contains(&first_word(sql)) {
            let count = state.apply(sql)?;
            return Ok(DBOutput::StatementComplete(count));
        }
        let rows = state.query(sql)?;
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Text], rows: rows.into_iter().map(|r| vec![r]).collect() })
    }
}

/// Why a directive or a query failed: for a refused query `<code>: <message>`, which `statement error` regexes match.
#[derive(Debug)]
pub(crate) struct DbError(String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// Whether a record's text needs `../shared/testdata`: a `graph` or `models <path>` directive, or `@docs(<tag>)`.
pub(crate) fn needs_shared(text: &str) -> bool {
    documented_tag(text).is_some()
        || directives(text).iter().any(|d| match split_word(d.trim()) {
            ("graph", _) => true,
            ("models", rest) => !rest.starts_with(['{', '[']),
            _ => false,
        })
}

/// The shared test data folder, looked up once (loudly absent on a developer machine, a failure under CI).
pub(crate) fn shared_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| test_support::testdata(env!("CARGO_MANIFEST_DIR"), "the query .slt files that read it"))
        .as_deref()
}

#[derive(Default)]
struct State {
    graph: TenantGraph,
    settings: Settings,
    /// The row count set by `any <n>`, taken by `main.rs` for the next query.
    any: Option<usize>,
}

impl State {
    /// Applies every directive of a statement in order; gives how many were applied.
    fn apply(&mut self, statement: &str) -> Result<u64, DbError> {
        let list = directives(statement);
        for directive in &list {
            let (keyword, rest) = split_word(directive.trim());
            let outcome = match keyword {
                "models" => add_models(&mut self.graph, rest),
                "graph" => import_graph(&mut self.graph, rest),
                "twin" => add_twin(&mut self.graph, rest),
                "rel" => add_relationship(&mut self.graph, rest),
                "set" => set(&mut self.settings, &mut self.graph, rest),
                "any" => match rest.parse::<usize>() {
                    Ok(n) => {
                        self.any = Some(n);
                        Ok(())
                    }
                    Err(_) => Err(format!("`any` needs a row count, not '{rest}'")),
                },
                _ => Err(format!("not a directive: '{}'", directive.trim())),
            };
            outcome.map_err(DbError)?;
        }
        Ok(list.len() as u64)
    }

    /// The one caller of the API under test: parses and runs `text` (or, for `@docs(<tag>)`, the documented example
    /// of that tag, odd spaces and all), and renders the rows.
    fn query(&mut self, text: &str) -> Result<Vec<String>, DbError> {
        let text = match documented_tag(text) {
            Some(tag) => docs_query(tag).map_err(DbError)?,
            None => text,
        };
        let parsed = query_syntax::parse(text, &query_syntax::Limits::default())
            .map_err(|e| DbError(format!("{}: {}", e.code, e.message)))?;
        let answer =
            query::run(&self.graph, &parsed, &self.settings).map_err(|e| DbError(format!("{}: {e}", e.code())))?;
        let mut rows = Vec::with_capacity(answer.rows.len());
        for row in &answer.rows {
            let value: Value = serde_json::from_str(row.get())
                .map_err(|e| DbError(format!("the engine gave a row that is not JSON ({e}): {}", row.get())))?;
            let mut out = String::new();
            json::render(&value, &|v| self.placeholder(v), &mut out);
            rows.push(out);
        }
        Ok(rows)
    }

    /// `@twin(<id>)` for an object equal to that twin's document as the graph API gives it, `@rel(<source>,<id>)` for
    /// one equal to that relationship's; equal by canonical text, so the placeholder says exactly that.
    fn placeholder(&self, value: &Value) -> Option<String> {
        let Value::Object(members) = value else { return None };
        if let Some(Value::String(id)) = members.get("$dtId")
            && let Some(twin) = self.graph.twin(id)
            && json::canonical(&twin.to_json()) == json::canonical(value)
        {
            return Some(format!("@twin({id})"));
        }
        if let (Some(Value::String(source)), Some(Value::String(id))) =
            (members.get("$sourceId"), members.get("$relationshipId"))
            && let Ok(relationship) = self.graph.relationship(source, id)
            && json::canonical(&relationship.to_json()) == json::canonical(value)
        {
            return Some(format!("@rel({source},{id})"));
        }
        None
    }
}

/// The directives of a statement: each starts on a line of its own, and lines indented under it continue it.
fn directives(statement: &str) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for line in statement.lines() {
        match list.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push('\n');
                last.push_str(line);
            }
            _ => list.push(line.to_owned()),
        }
    }
    list
}

fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// The tag of a query text that is exactly `@docs(<tag>)`.
fn documented_tag(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("@docs(")?
        .strip_suffix(')')
        .filter(|tag| !tag.is_empty() && !tag.contains(char::is_whitespace))
}

/// The query text of `tag` in the published-queries corpus, read once.
fn docs_query(tag: &str) -> Result<&'static str, String> {
    static DOCS: OnceLock<Result<HashMap<String, String>, String>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let root = shared_root().ok_or("`@docs(<tag>)` needs ../shared/testdata")?;
        let text = std::fs::read_to_string(root.join(DOCS_QUERIES)).map_err(|e| format!("read {DOCS_QUERIES}: {e}"))?;
        let mut docs = HashMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let row: Value = serde_json::from_str(line).map_err(|e| format!("{DOCS_QUERIES}: {e}"))?;
            if let (Some(tag), Some(query)) = (row["tag"].as_str(), row["query"].as_str()) {
                docs.insert(tag.to_owned(), query.to_owned());
            }
        }
        Ok(docs)
    });
    let docs = docs.as_ref().map_err(Clone::clone)?;
    docs.get(tag).map(String::as_str).ok_or_else(|| format!("docs-queries.jsonl has no tag '{tag}'"))
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

fn add_models(graph: &mut TenantGraph, rest: &str) -> Result<(), String> {
    let mut documents = Vec::new();
    if rest.starts_with(['{', '[']) {
        for value in serde_json::Deserializer::from_str(rest).into_iter::<Value>() {
            let value = value.map_err(|e| format!("inline models are not valid JSON: {e}"))?;
            push_models(value, &mut documents);
        }
    } else {
        let root = shared_root().ok_or("`models <path>` needs ../shared/testdata")?;
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
        return Err("no models found".to_owned());
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

fn import_graph(graph: &mut TenantGraph, path: &str) -> Result<(), String> {
    let root = shared_root().ok_or("`graph` needs ../shared/testdata")?;
    let text = std::fs::read_to_string(root.join(path)).map_err(|e| format!("cannot read {path}: {e}"))?;
    let bulk = graph::bulk::parse(&text, graph::bulk::detect(&text));
    let report = graph.import(bulk, NOW);
    if !report.errors.is_empty() {
        let errors: Vec<String> = report.errors.iter().map(|e| format!("record {}: {}", e.line, e.message)).collect();
        return Err(format!("importing {path} failed: {}", errors.join("; ")));
    }
    Ok(())
}

fn add_twin(graph: &mut TenantGraph, rest: &str) -> Result<(), String> {
    let (words, mut body) = words_and_object(rest)?;
    let [id, model] = words[..] else {
        return Err("expected: twin <id> <model> [<json object>]".to_owned());
    };
    body.insert("$metadata".to_owned(), serde_json::json!({ "$model": model }));
    graph
        .put_twin(id, Value::Object(body), &Precondition::None, NOW)
        .map_err(|e| format!("twin '{id}' is refused: {e}"))?;
    Ok(())
}

fn add_relationship(graph: &mut TenantGraph, rest: &str) -> Result<(), String> {
    let (words, mut body) = words_and_object(rest)?;
    let (source, name, target, id) = match words[..] {
        [source, name, target] => (source, name, target, format!("{source}-{name}-{target}")),
        [source, name, target, id] => (source, name, target, id.to_owned()),
        _ => return Err("expected: rel <source> <name> <target> [<id>] [<json object>]".to_owned()),
    };
    body.insert("$targetId".to_owned(), Value::from(target));
    body.insert("$relationshipName".to_owned(), Value::from(name));
    graph
        .put_relationship(source, &id, Value::Object(body), &Precondition::None, NOW)
        .map_err(|e| format!("relationship '{id}' is refused: {e}"))?;
    Ok(())
}

/// A query setting, or the graph's containment declaration (`parent_to_child`, `child_to_parent`), which rebuilds its
/// containment tree and fails when the relationships already written break the tree's rule under it.
fn set(settings: &mut Settings, graph: &mut TenantGraph, rest: &str) -> Result<(), String> {
    let (key, value) = split_word(rest);
    let number = || value.parse::<usize>().map_err(|_| format!("set {key} needs a whole number, not '{value}'"));
    let names =
        || -> Vec<String> { value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect() };
    let declared = graph.containment();
    let containment = match key {
        "joins_max" => {
            settings.limits.joins_max = number()?;
            return Ok(());
        }
        "hops_max" => {
            settings.limits.hops_max = u32::try_from(number()?).map_err(|e| e.to_string())?;
            return Ok(());
        }
        "rows_max" => {
            settings.limits.rows_max = number()?;
            return Ok(());
        }
        "defaults" => {
            *settings = Settings::default();
            Ok(Containment::none())
        }
        "parent_to_child" => Containment::new(names(), declared.child_to_parent().to_vec()),
        "child_to_parent" => Containment::new(declared.parent_to_child().to_vec(), names()),
        other => return Err(format!("unknown setting '{other}'")),
    };
    let containment = containment.map_err(|e| e.to_string())?;
    graph.set_containment(containment).map_err(|e| format!("the containment declaration is refused: {e}"))
}
