//! The records of the graph: twins, relationships and stored models, with their wire JSON shapes.
//!
//! A twin keeps its document in the shape Azure Digital Twins returns (properties, components with their own `$metadata`, and `$metadata` with `$model` and per-property times), so reads serialize it without translation.

use serde_json::{Map, Value};

use model::Dtmi;

/// A twin: its id, its version (the ETag), and its document without `$dtId` and `$etag`.
#[derive(Clone, Debug, PartialEq)]
pub struct Twin {
    pub id: String,
    pub etag: u64,
    /// Properties, components and `$metadata` (which holds `$model`).
    pub doc: Map<String, Value>,
}

impl Twin {
    pub fn model(&self) -> &str {
        self.doc.get("$metadata").and_then(|m| m.get("$model")).and_then(Value::as_str).unwrap_or_default()
    }

    /// The twin as the REST face returns it.
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.doc.len() + 2);
        out.insert("$dtId".to_owned(), Value::String(self.id.clone()));
        out.insert("$etag".to_owned(), Value::String(etag_text(self.etag)));
        for (k, v) in &self.doc {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }

    /// The twin as `to_json` renders it, written straight to bytes without copying the document.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"$dtId\":");
        write_json(&mut out, &self.id);
        out.extend_from_slice(b",\"$etag\":");
        write_json(&mut out, &etag_text(self.etag));
        for (k, v) in &self.doc {
            out.push(b',');
            write_json(&mut out, k);
            out.push(b':');
            write_json(&mut out, v);
        }
        out.push(b'}');
        out
    }

    /// Reads a twin back from `to_json` output (the stored form).
    pub fn from_json(value: Value) -> Option<Twin> {
        let Value::Object(mut doc) = value else { return None };
        let id = doc.shift_remove("$dtId")?.as_str()?.to_owned();
        let etag = parse_etag(doc.shift_remove("$etag")?.as_str()?)?;
        Some(Twin { id, etag, doc })
    }
}

/// A relationship between two twins.
#[derive(Clone, Debug, PartialEq)]
pub struct Relationship {
    pub id: String,
    pub source: String,
    pub target: String,
    pub name: String,
    pub etag: u64,
    pub properties: Map<String, Value>,
}

impl Relationship {
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.properties.len() + 5);
        out.insert("$relationshipId".to_owned(), Value::String(self.id.clone()));
        out.insert("$etag".to_owned(), Value::String(etag_text(self.etag)));
        out.insert("$sourceId".to_owned(), Value::String(self.source.clone()));
        out.insert("$relationshipName".to_owned(), Value::String(self.name.clone()));
        out.insert("$targetId".to_owned(), Value::String(self.target.clone()));
        for (k, v) in &self.properties {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }

    /// The incoming-relationship summary ADT lists for a target twin.
    pub fn to_incoming_json(&self) -> Value {
        serde_json::json!({
            "$relationshipId": self.id,
            "$sourceId": self.source,
            "$relationshipName": self.name,
            "$relationshipLink": format!("/digitaltwins/{}/relationships/{}", self.source, self.id),
        })
    }

    pub fn from_json(value: Value) -> Option<Relationship> {
        let Value::Object(mut doc) = value else { return None };
        let mut take = |k: &str| doc.shift_remove(k).and_then(|v| v.as_str().map(str::to_owned));
        let id = take("$relationshipId")?;
        let etag = parse_etag(&take("$etag")?)?;
        let source = take("$sourceId")?;
        let name = take("$relationshipName")?;
        let target = take("$targetId")?;
        Some(Relationship { id, source, target, name, etag, properties: doc })
    }

    /// The storage key of a relationship: source id and relationship id, separated by a NUL (which ids never contain).
    pub fn key(source: &str, id: &str) -> String {
        format!("{source}\u{0}{id}")
    }
}

/// A model as uploaded, with its service metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredModel {
    pub id: Dtmi,
    /// The DTDL document of the interface, as uploaded.
    pub document: Value,
    pub upload_time: String,
    pub decommissioned: bool,
}

impl StoredModel {
    /// The model as the REST face lists it (`includeModelDefinition` adds the document).
    pub fn to_json(&self, include_definition: bool) -> Value {
        let mut out = Map::new();
        out.insert("id".to_owned(), Value::String(self.id.to_string()));
        for (member, wire) in [("displayName", "displayName"), ("description", "description")] {
            if let Some(v) = self.document.get(member) {
                let map = match v {
                    Value::String(s) => serde_json::json!({ "en": s }),
                    other => other.clone(),
                };
                out.insert(wire.to_owned(), map);
            }
        }
        out.insert("uploadTime".to_owned(), Value::String(self.upload_time.clone()));
        out.insert("decommissioned".to_owned(), Value::Bool(self.decommissioned));
        if include_definition {
            out.insert("model".to_owned(), self.document.clone());
        }
        Value::Object(out)
    }

    /// The stored form: the listing shape with the definition.
    pub fn to_stored_json(&self) -> Value {
        self.to_json(true)
    }

    pub fn from_stored_json(value: &Value) -> Option<StoredModel> {
        Some(StoredModel {
            id: Dtmi::parse(value.get("id")?.as_str()?)?,
            document: value.get("model")?.clone(),
            upload_time: value.get("uploadTime")?.as_str()?.to_owned(),
            decommissioned: value.get("decommissioned")?.as_bool()?,
        })
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("serializing JSON into memory cannot fail");
}

/// The ETag of a version: weak, as ADT's are.
pub fn etag_text(version: u64) -> String {
    format!("W/\"{version:016x}\"")
}

pub fn parse_etag(text: &str) -> Option<u64> {
    let hex = text.strip_prefix("W/\"")?.strip_suffix('"')?;
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twin_bytes_match_the_json_value() {
        let doc = serde_json::json!({"name": "a \"quoted\" name", "n": 1.5, "c": {"$metadata": {}}, "$metadata": {"$model": "dtmi:t:A;1"}});
        let serde_json::Value::Object(doc) = doc else { unreachable!("an object literal") };
        let twin = Twin { id: "tw/1".to_owned(), etag: 42, doc };
        assert_eq!(twin.to_json_bytes(), serde_json::to_vec(&twin.to_json()).unwrap());
    }
}
