//! Bulk import and export: the ADT bulk-import NDJSON format (sections Header, Models, Twins, Relationships) and the explorer JSON format, read into one `Bulk` with a line number for every record, applied to a graph idempotently, and written back as NDJSON.
//!
//! Parsing reports every bad line and goes on; applying reports every record the graph refuses and goes on, as ADT import jobs do (not atomic, no rollback).

use serde_json::{Map, Value};

use crate::record::Twin;
use crate::tenant::{Change, Precondition, TenantGraph};

/// A file format of bulk data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// ADT bulk import: one JSON object per line, in sections.
    Ndjson,
    /// The explorer's export: one JSON object with `digitalTwinsGraph` and `digitalTwinsModels`.
    Explorer,
}

/// The records of a bulk file, each with the line (1-based) it starts on.
#[derive(Debug, Default)]
pub struct Bulk {
    pub models: Vec<(usize, Value)>,
    pub twins: Vec<(usize, Value)>,
    pub relationships: Vec<(usize, Value)>,
    pub errors: Vec<LineError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// What applying a bulk did.
#[derive(Debug, Default)]
pub struct Report {
    pub models_created: usize,
    pub models_unchanged: usize,
    pub twins_written: usize,
    pub relationships_written: usize,
    pub errors: Vec<LineError>,
    pub changes: Vec<Change>,
}

/// Guesses the format: a first non-blank line that is a whole JSON object with `digitalTwinsGraph` or `digitalTwinsFileInfo` means explorer JSON.
pub fn detect(text: &str) -> Format {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(trimmed)
        && (o.contains_key("digitalTwinsGraph") || o.contains_key("digitalTwinsFileInfo"))
    {
        return Format::Explorer;
    }
    Format::Ndjson
}

pub fn parse(text: &str, format: Format) -> Bulk {
    match format {
        Format::Ndjson => parse_ndjson(text),
        Format::Explorer => parse_explorer(text),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Header,
    Models,
    Twins,
    Relationships,
}

pub fn parse_ndjson(text: &str) -> Bulk {
    let mut bulk = Bulk::default();
    let mut section = Section::None;
    let mut header_seen = false;
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                bulk.errors.push(LineError { line: number, message: format!("not valid JSON: {e}") });
                continue;
            }
        };
        if let Some(name) = value.get("Section").and_then(Value::as_str) {
            let next = match name {
                "Header" => Section::Header,
                "Models" => Section::Models,
                "Twins" => Section::Twins,
                "Relationships" => Section::Relationships,
                other => {
                    bulk.errors.push(LineError {
                        line: number,
                        message: format!("unknown section '{other}'; expected Header, Models, Twins or Relationships"),
                    });
                    continue;
                }
            };
            let order = |s: Section| s as u8;
            if order(next) <= order(section) {
                bulk.errors.push(LineError {
                    line: number,
                    message: format!(
                        "section '{name}' is out of order; sections come as Header, Models, Twins, Relationships"
                    ),
                });
            }
            section = next;
            continue;
        }
        if !value.is_object() {
            bulk.errors.push(LineError { line: number, message: "each line must be a JSON object".to_owned() });
            continue;
        }
        match section {
            Section::None => bulk.errors.push(LineError {
                line: number,
                message: "a record before any section; the file must start with {\"Section\": \"Header\"}".to_owned(),
            }),
            Section::Header => {
                if header_seen {
                    bulk.errors
                        .push(LineError { line: number, message: "the Header section holds one object".to_owned() });
                }
                header_seen = true;
            }
            Section::Models => bulk.models.push((number, value)),
            Section::Twins => bulk.twins.push((number, value)),
            Section::Relationships => bulk.relationships.push((number, value)),
        }
    }
    bulk
}

pub fn parse_explorer(text: &str) -> Bulk {
    let mut bulk = Bulk::default();
    let value: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(v) => v,
        Err(e) => {
            bulk.errors.push(LineError { line: e.line(), message: format!("not valid JSON: {e}") });
            return bulk;
        }
    };
    // Explorer files are one document; records are numbered by position (1-based) within their list.
    if let Some(Value::Array(models)) = value.get("digitalTwinsModels") {
        bulk.models = models.iter().cloned().enumerate().map(|(i, v)| (i + 1, v)).collect();
    }
    let graph = value.get("digitalTwinsGraph");
    if let Some(Value::Array(twins)) = graph.and_then(|g| g.get("digitalTwins")) {
        bulk.twins = twins.iter().cloned().enumerate().map(|(i, v)| (i + 1, v)).collect();
    }
    if let Some(Value::Array(rels)) = graph.and_then(|g| g.get("relationships")) {
        bulk.relationships = rels.iter().cloned().enumerate().map(|(i, v)| (i + 1, v)).collect();
    }
    if graph.is_none() && bulk.models.is_empty() {
        bulk.errors.push(LineError {
            line: 1,
            message: "an explorer file needs \"digitalTwinsGraph\" or \"digitalTwinsModels\"".to_owned(),
        });
    }
    bulk
}

impl TenantGraph {
    /// Applies a bulk: models not yet uploaded (as one set), then twins, then relationships, each record on its own.
    /// Re-applying the same bulk changes nothing that is already equal, so an import can be run again after a failure.
    pub fn import(&mut self, bulk: Bulk, now: &str) -> Report {
        let mut report = Report { errors: bulk.errors, ..Report::default() };
        let mut new_models = Vec::new();
        let mut first_line = None;
        for (line, model) in bulk.models {
            let id = model.get("@id").and_then(Value::as_str).unwrap_or_default().to_owned();
            match self.model(&id) {
                Some(existing) if existing.document == model => report.models_unchanged += 1,
                Some(_) => report.errors.push(LineError {
                    line,
                    message: format!("model '{id}' already exists with a different definition"),
                }),
                None => {
                    first_line.get_or_insert(line);
                    new_models.push(model);
                }
            }
        }
        if !new_models.is_empty() {
            let count = new_models.len();
            match self.upload_models(new_models, now) {
                Ok((_, changes)) => {
                    report.models_created = count;
                    report.changes.extend(changes);
                }
                Err(e) => {
                    report.errors.push(LineError { line: first_line.unwrap_or(0), message: format!("models: {e}") })
                }
            }
        }
        for (line, twin) in bulk.twins {
            let Some(id) = twin.get("$dtId").and_then(Value::as_str).map(str::to_owned) else {
                report.errors.push(LineError { line, message: "a twin needs \"$dtId\"".to_owned() });
                continue;
            };
            if self.twin(&id).is_some_and(|t| same_content(t, &twin)) {
                continue;
            }
            match self.put_twin(&id, twin, &Precondition::None, now) {
                Ok((_, changes)) => {
                    report.twins_written += 1;
                    report.changes.extend(changes);
                }
                Err(e) => report.errors.push(LineError { line, message: format!("twin '{id}': {e}") }),
            }
        }
        for (line, rel) in bulk.relationships {
            let source = rel.get("$sourceId").or_else(|| rel.get("$dtId")).and_then(Value::as_str).map(str::to_owned);
            let id = rel.get("$relationshipId").and_then(Value::as_str).map(str::to_owned);
            let (Some(source), Some(id)) = (source, id) else {
                report.errors.push(LineError {
                    line,
                    message: "a relationship needs \"$dtId\" (or \"$sourceId\") and \"$relationshipId\"".to_owned(),
                });
                continue;
            };
            let mut body = rel.clone();
            if let Value::Object(o) = &mut body {
                o.shift_remove("$dtId");
            }
            if let Ok(existing) = self.relationship(&source, &id)
                && same_relationship(&existing, &body)
            {
                continue;
            }
            match self.put_relationship(&source, &id, body, &Precondition::None, now) {
                Ok((_, changes)) => {
                    report.relationships_written += 1;
                    report.changes.extend(changes);
                }
                Err(e) => {
                    report.errors.push(LineError { line, message: format!("relationship '{id}' of '{source}': {e}") })
                }
            }
        }
        report.errors.sort_by_key(|e| e.line);
        report
    }

    /// The whole graph as bulk-import NDJSON, in a deterministic order (models, twins and relationships sorted by id).
    pub fn export_ndjson(&self) -> String {
        let mut out = String::new();
        let mut line = |v: &Value| {
            out.push_str(&v.to_string());
            out.push('\n');
        };
        line(&serde_json::json!({"Section": "Header"}));
        line(&serde_json::json!({"fileVersion": "1.0.0", "author": "twinscape", "organization": "twinscape"}));
        line(&serde_json::json!({"Section": "Models"}));
        for m in self.models() {
            line(&m.document);
        }
        line(&serde_json::json!({"Section": "Twins"}));
        let mut twins: Vec<&Twin> = self.twins().collect();
        twins.sort_by(|a, b| a.id.cmp(&b.id));
        for t in twins {
            line(&export_twin(t));
        }
        line(&serde_json::json!({"Section": "Relationships"}));
        let mut rels: Vec<crate::record::Relationship> = self.all_relationships().collect();
        rels.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
        for r in rels {
            let mut v = Map::new();
            v.insert("$dtId".to_owned(), Value::String(r.source.clone()));
            v.insert("$relationshipId".to_owned(), Value::String(r.id.clone()));
            v.insert("$targetId".to_owned(), Value::String(r.target.clone()));
            v.insert("$relationshipName".to_owned(), Value::String(r.name.clone()));
            for (k, val) in &r.properties {
                v.insert(k.clone(), val.clone());
            }
            line(&Value::Object(v));
        }
        out
    }
}

/// A twin as import expects it: id, model, values, and the source times it carries; service times and the ETag are left out.
fn export_twin(t: &Twin) -> Value {
    let mut v = Map::new();
    v.insert("$dtId".to_owned(), Value::String(t.id.clone()));
    for (k, val) in &t.doc() {
        if k == "$metadata" {
            let mut meta = Map::new();
            meta.insert("$model".to_owned(), Value::String(t.model().to_owned()));
            if let Value::Object(m) = val {
                for (mk, mv) in m {
                    if let Some(st) = mv.get("sourceTime") {
                        meta.insert(mk.clone(), serde_json::json!({ "sourceTime": st }));
                    }
                }
            }
            v.insert("$metadata".to_owned(), Value::Object(meta));
        } else if let Value::Object(component) = val
            && component.contains_key("$metadata")
        {
            let mut c: Map<String, Value> = component
                .iter()
                .filter(|(ck, _)| *ck != "$metadata")
                .map(|(ck, cv)| (ck.clone(), cv.clone()))
                .collect();
            c.insert("$metadata".to_owned(), Value::Object(Map::new()));
            v.insert(k.clone(), Value::Object(c));
        } else {
            v.insert(k.clone(), val.clone());
        }
    }
    Value::Object(v)
}

/// Whether a stored relationship already holds what an import record says.
fn same_relationship(existing: &crate::record::Relationship, record: &Value) -> bool {
    let Value::Object(o) = record else { return false };
    let text = |k: &str| o.get(k).and_then(Value::as_str);
    let properties: Map<String, Value> =
        o.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), v.clone())).collect();
    text("$targetId") == Some(existing.target.as_str())
        && text("$relationshipName") == Some(existing.name.as_str())
        && properties == existing.properties
}

/// Whether a stored twin already holds what an import record says.
fn same_content(t: &Twin, record: &Value) -> bool {
    export_twin(t) == normalize_record(record)
}

fn normalize_record(record: &Value) -> Value {
    let Value::Object(o) = record else { return record.clone() };
    let mut out = Map::new();
    out.insert("$dtId".to_owned(), o.get("$dtId").cloned().unwrap_or(Value::Null));
    for (k, v) in o {
        match k.as_str() {
            "$dtId" | "$etag" => {}
            "$metadata" => {
                let mut meta = Map::new();
                if let Value::Object(m) = v {
                    meta.insert("$model".to_owned(), m.get("$model").cloned().unwrap_or(Value::Null));
                    for (mk, mv) in m {
                        if let Some(st) = mv.get("sourceTime") {
                            meta.insert(mk.clone(), serde_json::json!({ "sourceTime": st }));
                        }
                    }
                }
                out.insert(k.clone(), Value::Object(meta));
            }
            _ => match v {
                Value::Object(c) if c.contains_key("$metadata") => {
                    let mut c: Map<String, Value> = c
                        .iter()
                        .filter(|(ck, _)| *ck != "$metadata")
                        .map(|(ck, cv)| (ck.clone(), cv.clone()))
                        .collect();
                    c.insert("$metadata".to_owned(), Value::Object(Map::new()));
                    out.insert(k.clone(), Value::Object(c));
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            },
        }
    }
    Value::Object(out)
}
