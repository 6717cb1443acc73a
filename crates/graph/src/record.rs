//! The records of the graph: twins, relationships and stored models, with their wire JSON shapes.
//!
//! A twin keeps its document in the shape Azure Digital Twins returns (properties, components with their own `$metadata`, and `$metadata` with `$model` and per-property times), so reads serialize it without translation.

use serde_json::{Map, Value};

use model::Dtmi;

/// A twin: its id, its version (the ETag), its model, and its document without `$dtId` and `$etag`, kept as compact JSON text.
///
/// Keeping the document as text rather than as a tree of maps costs a parse when a write changes it, and saves most of the memory a tree of small maps and strings takes; reads serialize nothing.
#[derive(Clone, PartialEq)]
pub struct Twin {
    pub id: String,
    pub etag: u64,
    model: Box<str>,
    /// The document (properties, components and `$metadata`) as a JSON object's text.
    json: Box<str>,
}

impl Twin {
    /// A twin from its document (properties, components and `$metadata` with `$model`).
    pub fn new(id: String, etag: u64, doc: &Map<String, Value>) -> Twin {
        let model =
            doc.get("$metadata").and_then(|m| m.get("$model")).and_then(Value::as_str).unwrap_or_default().into();
        let json = serde_json::to_string(doc).expect("serializing JSON into memory cannot fail").into_boxed_str();
        Twin { id, etag, model, json }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// The document as a map (parsed from the kept text).
    pub fn doc(&self) -> Map<String, Value> {
        match serde_json::from_str(&self.json) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("a twin's text is always the serialization of a JSON object"),
        }
    }

    /// One top-level member of the document (a property, a component or `$metadata`), read from the kept text
    /// without building the rest of the document.
    pub fn property(&self, name: &str) -> Option<Value> {
        let text = member::find(&self.json, name)?;
        Some(serde_json::from_str(text).expect("a twin's text is valid JSON"))
    }

    /// This twin with each of `members` (top-level members: properties or `$metadata`) set to its value, in a new etag: a member it has keeps its place, a new one goes at the end, in the order given, and the text of the others is kept as it is.
    /// The result is what `Twin::new` makes of the parsed document with those members set.
    pub(crate) fn with_members(&self, etag: u64, members: &[(&str, &Value)]) -> Twin {
        let json = &*self.json;
        let mut replaced: Vec<(usize, usize, String)> = Vec::new();
        let mut added = String::new();
        for (name, value) in members {
            let text = serde_json::to_string(value).expect("serializing JSON into memory cannot fail");
            match member::find(json, name) {
                Some(old) => {
                    let start = old.as_ptr() as usize - json.as_ptr() as usize;
                    replaced.push((start, start + old.len(), text));
                }
                None => {
                    added.push(',');
                    added.push_str(&serde_json::to_string(name).expect("serializing JSON into memory cannot fail"));
                    added.push(':');
                    added.push_str(&text);
                }
            }
        }
        replaced.sort_by_key(|(start, _, _)| *start);
        let mut out = String::with_capacity(json.len() + added.len() + 64);
        let mut at = 0;
        for (start, end, text) in &replaced {
            out.push_str(&json[at..*start]);
            out.push_str(text);
            at = *end;
        }
        // Everything up to the closing brace, then the new members.
        let close = json.len() - 1;
        out.push_str(&json[at..close]);
        if !added.is_empty() {
            out.push_str(if out == "{" { &added[1..] } else { &added });
        }
        out.push('}');
        Twin { id: self.id.clone(), etag, model: self.model.clone(), json: out.into_boxed_str() }
    }

    /// The size of the kept document text, in bytes.
    pub fn doc_bytes(&self) -> usize {
        self.json.len()
    }

    /// The twin as the REST face returns it.
    pub fn to_json(&self) -> Value {
        serde_json::from_slice(&self.to_json_bytes()).expect("a twin renders as valid JSON")
    }

    /// The twin as `to_json` renders it, written straight from the kept text.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json.len() + self.id.len() + 48);
        self.write_json(&mut out);
        out
    }

    /// Appends the twin as `to_json` renders it to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(self.json.len() + self.id.len() + 48);
        out.extend_from_slice(b"{\"$dtId\":");
        write_json(out, &self.id);
        out.extend_from_slice(b",\"$etag\":\"W/\\\"");
        out.extend_from_slice(&etag_hex(self.etag));
        out.extend_from_slice(b"\\\"\"");
        let body = &self.json[1..];
        if body != "}" {
            out.push(b',');
        }
        out.extend_from_slice(body.as_bytes());
    }

    /// Reads a twin back from `to_json` output (the stored form).
    pub fn from_json(value: Value) -> Option<Twin> {
        let Value::Object(mut doc) = value else { return None };
        let id = doc.shift_remove("$dtId")?.as_str()?.to_owned();
        let etag = parse_etag(doc.shift_remove("$etag")?.as_str()?)?;
        doc.get("$metadata")?.get("$model")?.as_str()?;
        Some(Twin::new(id, etag, &doc))
    }
}

impl std::fmt::Debug for Twin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twin").field("id", &self.id).field("etag", &self.etag).field("doc", &self.json).finish()
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

/// Finding one member in the text of a JSON object that serde_json wrote (so known to be valid), without parsing the
/// values before it and without reading past it.
mod member {
    /// The text of the value of the member named `key`, if the object has one.
    pub(super) fn find<'a>(json: &'a str, key: &str) -> Option<&'a str> {
        let b = json.as_bytes();
        let mut i = skip_space(b, 1);
        while b.get(i) == Some(&b'"') {
            let key_end = string_end(b, i);
            let raw_key = &json[i + 1..key_end - 1];
            let start = skip_space(b, skip_space(b, key_end) + 1);
            let end = value_end(b, start);
            let same = if raw_key.contains('\\') {
                serde_json::from_str::<String>(&json[i..key_end]).is_ok_and(|k| k == key)
            } else {
                raw_key == key
            };
            if same {
                return Some(&json[start..end]);
            }
            i = skip_space(b, end);
            if b.get(i) != Some(&b',') {
                return None;
            }
            i = skip_space(b, i + 1);
        }
        None
    }

    fn skip_space(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// One past the closing quote of the string that opens at `i`.
    fn string_end(b: &[u8], i: usize) -> usize {
        let mut j = i + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &b[j..]) {
                Some(k) if b[j + k] == b'"' => return j + k + 1,
                Some(k) => j += k + 2,
                None => return b.len(),
            }
        }
    }

    /// One past the end of the value that starts at `i`.
    fn value_end(b: &[u8], i: usize) -> usize {
        match b.get(i) {
            Some(b'"') => string_end(b, i),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string_end(b, j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                b.len()
            }
            _ => {
                let mut j = i;
                while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    j += 1;
                }
                j
            }
        }
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("serializing JSON into memory cannot fail");
}

/// A version as the 16 lowercase hex digits of its ETag.
fn etag_hex(version: u64) -> [u8; 16] {
    let mut hex = [0u8; 16];
    for (i, digit) in hex.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[((version >> (60 - 4 * i)) & 0xf) as usize];
    }
    hex
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
        let twin = Twin::new("tw/1".to_owned(), 0x1234_5678_9abc_def0, &doc);
        assert_eq!(twin.to_json_bytes(), serde_json::to_vec(&twin.to_json()).unwrap());
        assert_eq!(twin.to_json()["$etag"], serde_json::json!(etag_text(0x1234_5678_9abc_def0)));
    }

    #[test]
    fn a_property_is_read_from_the_text() {
        let doc = serde_json::json!({"a": {"x": [1, {"b": 2}]}, "b\"q": "esc", "n": 1.5, "$metadata": {"$model": "dtmi:t:A;1"}});
        let serde_json::Value::Object(doc) = doc else { unreachable!("an object literal") };
        let twin = Twin::new("t".to_owned(), 1, &doc);
        assert_eq!(twin.property("n"), Some(serde_json::json!(1.5)));
        assert_eq!(twin.property("a"), Some(serde_json::json!({"x": [1, {"b": 2}]})));
        assert_eq!(twin.property("b\"q"), Some(serde_json::json!("esc")));
        assert_eq!(twin.property("b"), None);
        assert_eq!(
            twin.property("$metadata").and_then(|m| m.get("$model").cloned()),
            Some(serde_json::json!("dtmi:t:A;1"))
        );
    }
}
