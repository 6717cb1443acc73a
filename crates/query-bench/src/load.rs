//! Loads one synthetic portfolio into both engines: a `graph::TenantGraph` through the store's start-up path, and an in-memory SQLite database through prepared inserts in one transaction.
//!
//! Both start from the same wire records (a twin's and a relationship's JSON as the store keeps them), prepared before either clock starts, so each load time is that engine's own work.
//! Twin documents are stamped as `TenantGraph::put_twin` stamps them (`$metadata` with `$model`, `$lastUpdateTime` and one `lastUpdateTime` per property); the integration test checks that against the write path.
//! It does not choose or run queries (`catalog`, `measure`).

use std::time::{Duration, Instant};

use graph::{Relationship, TenantGraph, Twin};
use portfolio::Portfolio;
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::BenchError;

/// The service time stamped on every model, twin and property, fixed so a seed names the same documents in every run.
pub const NOW: &str = "2026-01-01T00:00:00Z";

/// SQLite's schema: ids, the model and the wire JSON, with the general-purpose indexes a twin store needs (by model,
/// outgoing by name, incoming by name, a relationship by its key) and none on properties, which a general store
/// cannot know in advance. The indexes are built after the rows, which is faster than keeping them up to date.
const SCHEMA: &str = "
    PRAGMA journal_mode = OFF;
    PRAGMA synchronous = OFF;
    PRAGMA temp_store = MEMORY;
    CREATE TABLE twins (id TEXT PRIMARY KEY, model TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE relationships (source TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, target TEXT NOT NULL, doc TEXT NOT NULL);
";
const INDEXES: &str = "
    CREATE INDEX twins_by_model ON twins (model);
    CREATE UNIQUE INDEX relationships_by_key ON relationships (source, id);
    CREATE INDEX relationships_by_source ON relationships (source, name);
    CREATE INDEX relationships_by_target ON relationships (target, name);
    ANALYZE;
";

/// One portfolio in both engines, with what it took to get it there.
pub struct Loaded {
    pub graph: TenantGraph,
    pub sqlite: Connection,
    pub twins: usize,
    pub relationships: usize,
    /// Generating the portfolio and rendering its wire records, shared by both loads and timed by neither.
    pub prepare: Duration,
    /// Models uploaded (validated as one set), then every twin and relationship decoded from its wire JSON and loaded.
    pub graph_load: Duration,
    /// Tables created, every row inserted in one transaction, then the indexes built and `ANALYZE` run.
    pub sqlite_load: Duration,
}

/// A relationship's wire record and the columns SQLite keeps of it.
struct RelationshipRecord {
    source: String,
    id: String,
    name: String,
    target: String,
    json: String,
}

pub fn load(portfolio: &Portfolio) -> Result<Loaded, BenchError> {
    let started = Instant::now();
    let twins: Vec<String> = (0..portfolio.twins.len())
        .map(|index| String::from_utf8(stored_twin(portfolio, index).to_json_bytes()).expect("JSON is UTF-8"))
        .collect();
    let relationships = relationships(portfolio);
    let prepare = started.elapsed();

    let started = Instant::now();
    let graph = load_graph(&twins, &relationships)?;
    let graph_load = started.elapsed();

    let started = Instant::now();
    let sqlite = load_sqlite(portfolio, &twins, &relationships)?;
    let sqlite_load = started.elapsed();

    Ok(Loaded {
        graph,
        sqlite,
        twins: twins.len(),
        relationships: relationships.len(),
        prepare,
        graph_load,
        sqlite_load,
    })
}

/// Twin `index` as the write path would store it: version `index + 1`, its document stamped at `NOW`.
pub fn stored_twin(portfolio: &Portfolio, index: usize) -> Twin {
    let Value::Object(mut body) = portfolio.twin_body(index) else { unreachable!("a twin body is an object") };
    let given = body.shift_remove("$metadata");
    let model = given.as_ref().and_then(|m| m.get("$model")).cloned().unwrap_or(Value::Null);
    let mut metadata = Map::new();
    metadata.insert("$model".to_owned(), model);
    metadata.insert("$lastUpdateTime".to_owned(), Value::String(NOW.to_owned()));
    for name in body.keys() {
        metadata.insert(name.clone(), serde_json::json!({ "lastUpdateTime": NOW }));
    }
    body.insert("$metadata".to_owned(), Value::Object(metadata));
    Twin::new(portfolio.twins[index].id.clone(), index as u64 + 1, &body)
}

/// Every relationship of the portfolio, as the write path would store them: for each twin in order, the one from its
/// parent and then its `locatedIn`, with versions following the twins'.
pub fn stored_relationships(portfolio: &Portfolio) -> Vec<Relationship> {
    let mut out = Vec::with_capacity(portfolio.twins.len() * 2);
    let mut version = portfolio.twins.len() as u64;
    for index in 0..portfolio.twins.len() {
        for (source, id, body) in [portfolio.relationship(index), portfolio.location(index)].into_iter().flatten() {
            version += 1;
            let text = |key: &str| body[key].as_str().expect("the generator names target and relationship").to_owned();
            out.push(Relationship {
                id,
                source: source.to_owned(),
                target: text("$targetId"),
                name: text("$relationshipName"),
                etag: version,
                properties: Map::new(),
            });
        }
    }
    out
}

fn relationships(portfolio: &Portfolio) -> Vec<RelationshipRecord> {
    stored_relationships(portfolio)
        .into_iter()
        .map(|r| {
            let json = r.to_json().to_string();
            RelationshipRecord { source: r.source, id: r.id, name: r.name, target: r.target, json }
        })
        .collect()
}

/// The store's start-up path (`store::records`): models, then each record parsed from its JSON and loaded unchecked,
/// with the portfolio's containment (which its relationships keep: no violation is allowed).
fn load_graph(twins: &[String], relationships: &[RelationshipRecord]) -> Result<TenantGraph, BenchError> {
    let mut graph = TenantGraph::with_containment(graph::Limits::default(), crate::containment());
    let Value::Array(models) = portfolio::models() else { unreachable!("the model set is an array") };
    graph.upload_models(models, NOW).map_err(|e| BenchError::Graph(format!("upload the models: {e}")))?;
    for text in twins {
        let twin = serde_json::from_str(text).ok().and_then(Twin::from_json);
        let twin = twin.ok_or_else(|| BenchError::Graph(format!("decode twin {text}")))?;
        graph.load_twin(twin);
    }
    for record in relationships {
        let relationship = serde_json::from_str(&record.json).ok().and_then(Relationship::from_json);
        let relationship = relationship.ok_or_else(|| BenchError::Graph(format!("decode {}", record.json)))?;
        if !graph.load_relationship(relationship) {
            return Err(BenchError::Graph(format!(
                "relationship {} of {} has no twin at an end",
                record.id, record.source
            )));
        }
    }
    let violations = graph.containment_violations();
    if violations.count > 0 {
        return Err(BenchError::Graph(format!(
            "{} relationships break the containment tree, first {:?}",
            violations.count, violations.examples
        )));
    }
    Ok(graph)
}

fn load_sqlite(
    portfolio: &Portfolio,
    twins: &[String],
    relationships: &[RelationshipRecord],
) -> Result<Connection, BenchError> {
    let mut db = Connection::open_in_memory()?;
    db.execute_batch(SCHEMA)?;
    let transaction = db.transaction()?;
    {
        let mut insert = transaction.prepare("INSERT INTO twins (id, model, doc) VALUES (?1, ?2, ?3)")?;
        for (twin, text) in portfolio.twins.iter().zip(twins) {
            insert.execute((&twin.id, twin.kind.model(), text))?;
        }
        let mut insert = transaction
            .prepare("INSERT INTO relationships (source, id, name, target, doc) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for r in relationships {
            insert.execute((&r.source, &r.id, &r.name, &r.target, &r.json))?;
        }
    }
    transaction.commit()?;
    db.execute_batch(INDEXES)?;
    Ok(db)
}
