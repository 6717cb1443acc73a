//! The records of the graph: twins, relationships and stored models, with their wire JSON shapes.
//!
//! A twin keeps its document in the shape Azure Digital Twins returns (properties, components with their own `$metadata`, and `$metadata` with `$model` and per-property times), so reads serialize it without translation.

use std::sync::Arc;

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
    /// The document (properties, components and `$metadata`) as a JSON object's text, shared by the twin's clones (a write's change and its event hold the twin the graph holds).
    json: Arc<str>,
}

impl Twin {
    /// A twin from its document (properties, components and `$metadata` with `$model`).
    pub fn new(id: String, etag: u64, doc: &Map<String, Value>) -> Twin {
        let model =
            doc.get("$metadata").and_then(|m| m.get("$model")).and_then(Value::as_str).unwrap_or_default().into();
        let json = serde_json::to_string(doc).expect("serializing JSON into memory cannot fail").into();
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

    /// This twin with each of `members` (top-level properties) set to its value, in a new etag, and its `$metadata` stamped as a patch setting them stamps it: each member's entry gets `lastUpdateTime` = `now` (an entry it lacks is added as `{"lastUpdateTime": now}`; one that is not an object is left alone), then `$lastUpdateTime` = `now`.
    /// A member or entry it has keeps its place, a new one goes at the end, in the order given, and the text of everything else is kept as it is; `None` when the twin has no `$metadata` object.
    /// The result is what `Twin::new` makes of the parsed document with those members set and stamped.
    pub(crate) fn with_stamped_members(&self, etag: u64, members: &[(&str, &Value)], now: &str) -> Option<Twin> {
        let json = &*self.json;
        let names: Vec<&str> = members.iter().map(|(name, _)| *name).chain(["$metadata"]).collect();
        let places = member::spans(json, &names);
        let metadata = &json[places.last()?.clone()?];
        if !metadata.starts_with('{') {
            return None;
        }
        let now = to_text(now);
        let mut entries: Vec<String> = Vec::with_capacity(names.len());
        let entry_names: Vec<&str> = members.iter().map(|(name, _)| *name).chain(["$lastUpdateTime"]).collect();
        let entry_places = member::spans(metadata, &entry_names);
        for place in &entry_places[..members.len()] {
            entries.push(match place.clone().map(|place| &metadata[place]) {
                Some(entry) if entry.starts_with('{') => member::set(entry, &[("lastUpdateTime", &now)]),
                Some(other) => other.to_owned(),
                None => format!("{{\"lastUpdateTime\":{now}}}"),
            });
        }
        entries.push(now);
        let entries: Vec<(&str, &str)> =
            entry_names.iter().zip(&entries).map(|(name, text)| (*name, text.as_str())).collect();
        let metadata = member::splice(metadata, &entry_places, &entries);
        let mut texts: Vec<String> = members.iter().map(|(_, value)| to_text(value)).collect();
        texts.push(metadata);
        let set: Vec<(&str, &str)> = names.iter().zip(&texts).map(|(name, text)| (*name, text.as_str())).collect();
        let json = member::splice(json, &places, &set);
        Some(Twin { id: self.id.clone(), etag, model: self.model.clone(), json: json.into() })
    }

    /// Where each of `names` (top-level members) is in the document, as an offset into its text; `None` for one it does not have. Offsets order members as the document does.
    pub(crate) fn member_offsets(&self, names: &[&str]) -> Vec<Option<usize>> {
        member::spans(&self.json, names).into_iter().map(|span| span.map(|span| span.start)).collect()
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
    use std::ops::Range;

    /// The text of the value of the member named `key`, if the object has one.
    pub(super) fn find<'a>(json: &'a str, key: &str) -> Option<&'a str> {
        Members::of(json).find(|m| m.is(key)).map(|m| &json[m.value.0..m.value.1])
    }

    /// The object `json` with each of `members` (name, value text) set: a member it has keeps its place with the new text, a new one goes at the end, in the order given; the text of the others is kept as it is.
    pub(super) fn set(json: &str, members: &[(&str, &str)]) -> String {
        let names: Vec<&str> = members.iter().map(|(name, _)| *name).collect();
        splice(json, &spans(json, &names), members)
    }

    /// Where the value of each member named in `names` is in the object `json`, `None` for one it does not have; found in one pass over the object, which stops once all are found.
    pub(super) fn spans(json: &str, names: &[&str]) -> Vec<Option<Range<usize>>> {
        let mut found = vec![None; names.len()];
        let mut missing = names.len();
        for member in Members::of(json) {
            if let Some(k) = names.iter().position(|name| member.is(name))
                && found[k].is_none()
            {
                found[k] = Some(member.value.0..member.value.1);
                missing -= 1;
                if missing == 0 {
                    break;
                }
            }
        }
        found
    }

    /// `set` with the members' places (`spans` of their names) known.
    pub(super) fn splice(json: &str, spans: &[Option<Range<usize>>], members: &[(&str, &str)]) -> String {
        let mut out =
            String::with_capacity(json.len() + members.iter().map(|(n, t)| n.len() + t.len() + 4).sum::<usize>());
        let mut replaced: Vec<(&Range<usize>, &str)> =
            spans.iter().zip(members).filter_map(|(span, (_, text))| Some((span.as_ref()?, *text))).collect();
        replaced.sort_by_key(|(span, _)| span.start);
        let mut at = 0;
        for (span, text) in replaced {
            out.push_str(&json[at..span.start]);
            out.push_str(text);
            at = span.end;
        }
        // Everything up to the closing brace, then the new members.
        let close = json.rfind('}').unwrap_or(json.len());
        out.push_str(&json[at..close]);
        for ((name, text), _) in members.iter().zip(spans).filter(|(_, span)| span.is_none()) {
            if !out.trim_end().ends_with('{') {
                out.push(',');
            }
            out.push_str(&super::to_text(name));
            out.push(':');
            out.push_str(text);
        }
        out.push_str(&json[close..]);
        out
    }

    /// One member of an object's text: its key as written (between the quotes, escapes kept) and where its value's text starts and ends.
    struct Member<'a> {
        raw_key: &'a str,
        value: (usize, usize),
    }

    impl Member<'_> {
        fn is(&self, key: &str) -> bool {
            // A key's escaped form is never shorter than the key, and without escapes it is the key itself.
            let raw = self.raw_key.as_bytes();
            if raw.len() < key.len() {
                return false;
            }
            if !raw.contains(&b'\\') {
                return raw == key.as_bytes();
            }
            serde_json::from_str::<String>(&format!("\"{}\"", self.raw_key)).is_ok_and(|k| k == key)
        }
    }

    /// The members of an object's text, in order, each value skipped over without being parsed.
    struct Members<'a> {
        json: &'a str,
        /// Where the next key's opening quote is, if there is one.
        at: usize,
    }

    impl<'a> Members<'a> {
        fn of(json: &'a str) -> Members<'a> {
            Members { json, at: skip_space(json.as_bytes(), 1) }
        }
    }

    impl<'a> Iterator for Members<'a> {
        type Item = Member<'a>;

        fn next(&mut self) -> Option<Member<'a>> {
            let b = self.json.as_bytes();
            let i = self.at;
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i);
            let raw_key = &self.json[i + 1..key_end - 1];
            let start = skip_space(b, skip_space(b, key_end) + 1);
            let end = value_end(b, start);
            let next = skip_space(b, end);
            // Past the last member, `at` points at the closing brace, which ends the iteration.
            self.at = if b.get(next) == Some(&b',') { skip_space(b, next + 1) } else { b.len() };
            Some(Member { raw_key, value: (start, end) })
        }
    }

    fn skip_space(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// One past the closing quote of the string that opens at `i`.
    /// A plain loop: the strings of a twin are mostly short, where a vectorised search costs more to set up than it saves.
    fn string_end(b: &[u8], i: usize) -> usize {
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'"' => return j + 1,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        b.len()
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

/// A value's compact JSON text.
fn to_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("serializing JSON into memory cannot fail")
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
    fn members_are_set_in_the_text() {
        let set = |json: &str, members: &[(&str, &str)]| member::set(json, members);
        assert_eq!(set("{}", &[("a", "1"), ("b", "2")]), r#"{"a":1,"b":2}"#);
        assert_eq!(
            set(r#"{"a":1,"b":{"c":[1,"}"]},"d":"x"}"#, &[("b", "0"), ("e", "3")]),
            r#"{"a":1,"b":0,"d":"x","e":3}"#
        );
        assert_eq!(set(r#"{"b\"q":1,"n":2}"#, &[("b\"q", "5"), ("n\"", "6")]), r#"{"b\"q":5,"n":2,"n\"":6}"#);
        assert_eq!(set(r#"{ "a" : 1 , "b" : 2 }"#, &[("b", "3")]), r#"{ "a" : 1 , "b" : 3 }"#);
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
