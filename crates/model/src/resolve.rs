//! Whole-model checks and resolution: identifiers are unique, dependent references resolve to referenceable elements of the right class, no element reaches itself, inheritance and schema hierarchies stay within their limits, names are unique where the language says so; then the valid parts become a `ModelSet`.
//!
//! Element-local rules are checked earlier, in `parse`.

use std::collections::{BTreeSet, HashMap};

use crate::metamodel::{self, Class, Kind};
use crate::parse::{Element, Item, Model};
use crate::schema::{
    ArraySchema, EnumLiteral, EnumSchema, EnumValue, Field, MapSchema, ObjectSchema, Primitive, Schema,
};
use crate::set::{CommandPayload, Content, ContentKind, Interface, LangString, ModelSet, RelationshipProperty};
use crate::{DtdlVersion, Outcome};

/// Longest `extends` path, in both versions.
const EXTENDS_DEPTH_MAX: usize = 10;
/// DTDL v3: most `extends` values in an Interface's hierarchy.
const EXTENDS_VALUES_MAX: usize = 1024;
/// Most `schema`/`elementSchema` members on a path from a complex schema.
const SCHEMA_DEPTH_MAX: usize = 5;
/// DTDL v3: most values in an Interface's element hierarchy.
const HIERARCHY_VALUES_MAX: usize = 100_000;
/// DTDL v3: most bytes of one Interface's JSON text.
const INTERFACE_BYTES_MAX: usize = 1 << 20;

/// An edge from an element to an element it includes or referentially includes.
#[derive(Clone, Copy, Debug)]
struct Edge {
    member: &'static str,
    to: usize,
}

pub(crate) fn resolve(mut model: Model) -> Outcome {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for (i, e) in model.elements.iter().enumerate() {
        if ids.insert(e.id.as_str().to_owned(), i).is_some() && e.id_given {
            duplicates.push(i);
        }
    }
    for i in duplicates {
        let (doc, pointer, id) = {
            let e = &model.elements[i];
            (e.document, e.pointer.clone(), e.id.to_string())
        };
        model.error(
            doc,
            &format!("{pointer}/@id"),
            "DTDL0201",
            Some("IdDuplicate"),
            format!("'{id}' is the id of more than one element"),
        );
    }

    // Resolve references and collect edges.
    let mut unresolved = BTreeSet::new();
    let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); model.elements.len()];
    let mut problems = Vec::new();
    for (i, e) in model.elements.iter().enumerate() {
        let members = metamodel::members(e.class, e.version);
        for (term, items) in &e.members {
            let classes = members.iter().find(|m| m.term == *term).and_then(|m| match m.kind {
                Kind::Elements { classes, .. } => Some(classes),
                _ => None,
            });
            for item in items {
                match item {
                    Item::Element(child) => edges[i].push(Edge { member: term, to: *child }),
                    Item::Reference(dtmi, pointer) => {
                        match ids.get(dtmi.as_str()) {
                            None => {
                                unresolved.insert(dtmi.to_string());
                            }
                            Some(&target) => {
                                let t = &model.elements[target];
                                let class_ok = classes.is_some_and(|c| c.contains(&t.class))
                                    && metamodel::version_accepted(e.version, term, t.version);
                                if !class_ok {
                                    problems.push((e.document, pointer.clone(), "DTDL0102", "TypeConformance", format!("'{dtmi}' is a {} (DTDL v{}), which member '{term}' of a {} does not accept", t.class.term(), t.version.number(), e.class.term())));
                                    continue;
                                }
                                let referenceable =
                                    t.class == Class::Interface || t.top_level || t.partition == e.partition;
                                if !referenceable {
                                    problems.push((
                                        e.document,
                                        pointer.clone(),
                                        "DTDL0501",
                                        "DependencyReferenceable",
                                        format!(
                                            "'{dtmi}' is nested in another interface and cannot be referenced from here"
                                        ),
                                    ));
                                    continue;
                                }
                                edges[i].push(Edge { member: term, to: target });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for (doc, pointer, code, rule, message) in problems {
        model.error(doc, &pointer, code, Some(rule), message);
    }

    let cyclic = check_cycles(&mut model, &edges);
    if !cyclic {
        check_extends(&mut model, &edges);
        check_schema_depth(&mut model, &edges);
        check_components(&mut model, &edges);
        check_hierarchy_size(&mut model, &edges);
        check_v2_property_schemas(&mut model, &edges);
        check_names(&mut model, &edges);
    }
    check_enums(&mut model, &edges);
    check_annotations(&mut model, &edges);
    for i in 0..model.elements.len() {
        let e = &model.elements[i];
        if e.class == Class::Interface && e.version == DtdlVersion::V3 && e.json_bytes > INTERFACE_BYTES_MAX {
            let (doc, pointer) = (e.document, e.pointer.clone());
            model.error(
                doc,
                &pointer,
                "DTDL0800",
                Some("InterfaceSize"),
                format!("an Interface's JSON text may be at most {INTERFACE_BYTES_MAX} bytes"),
            );
        }
    }

    let set = if cyclic { ModelSet::default() } else { build_set(&model, &edges) };
    Outcome { set, diagnostics: model.diagnostics, unresolved: unresolved.into_iter().collect() }
}

/// Reports a path from an element to itself; returns whether there was one.
fn check_cycles(model: &mut Model, edges: &[Vec<Edge>]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = model.elements.len();
    let mut marks = vec![Mark::New; n];
    let mut found = Vec::new();
    for start in 0..n {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next edge index).
        let mut stack = vec![(start, 0usize)];
        marks[start] = Mark::Active;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(edge) = edges[node].get(*next) {
                *next += 1;
                match marks[edge.to] {
                    Mark::New => {
                        marks[edge.to] = Mark::Active;
                        stack.push((edge.to, 0));
                    }
                    Mark::Active => found.push((edge.to, edge.member)),
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    for (at, member) in &found {
        let e = &model.elements[*at];
        let (doc, pointer, id, class) = (e.document, e.pointer.clone(), e.id.to_string(), e.class);
        let rule = match (class, *member) {
            (Class::Interface, "extends") => "PropertiesExtendsSelfReference",
            (c, "schema" | "elementSchema") if c.is_complex_schema() => "PropertiesElementSchemaSchemaSelfReference",
            _ => "NoPathToSelf",
        };
        model.error(doc, &pointer, "DTDL0502", Some(rule), format!("'{id}' reaches itself through member '{member}'"));
    }
    !found.is_empty()
}

fn check_extends(model: &mut Model, edges: &[Vec<Edge>]) {
    let n = model.elements.len();
    let mut depth: Vec<Option<usize>> = vec![None; n];
    let mut values: Vec<Option<usize>> = vec![None; n];
    fn extends_depth(i: usize, edges: &[Vec<Edge>], memo: &mut [Option<usize>]) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        let d = edges[i]
            .iter()
            .filter(|e| e.member == "extends")
            .map(|e| 1 + extends_depth(e.to, edges, memo))
            .max()
            .unwrap_or(0);
        memo[i] = Some(d);
        d
    }
    fn extends_values(i: usize, edges: &[Vec<Edge>], memo: &mut [Option<usize>]) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        let d = edges[i].iter().filter(|e| e.member == "extends").map(|e| 1 + extends_values(e.to, edges, memo)).sum();
        memo[i] = Some(d);
        d
    }
    for i in 0..n {
        if model.elements[i].class != Class::Interface {
            continue;
        }
        let d = extends_depth(i, edges, &mut depth);
        let v = extends_values(i, edges, &mut values);
        let e = &model.elements[i];
        let (doc, pointer, id, version) = (e.document, e.pointer.clone(), e.id.to_string(), e.version);
        if d > EXTENDS_DEPTH_MAX {
            model.error(
                doc,
                &pointer,
                "DTDL0503",
                Some("PropertiesExtendsMaxDepth"),
                format!("'{id}' has an extends chain {d} deep; at most {EXTENDS_DEPTH_MAX} is allowed"),
            );
        }
        if version == DtdlVersion::V3 && v > EXTENDS_VALUES_MAX {
            model.error(
                doc,
                &pointer,
                "DTDL0503",
                Some("PropertiesExtendsMaxCount"),
                format!("'{id}' has {v} extends values in its hierarchy; at most {EXTENDS_VALUES_MAX} are allowed"),
            );
        }
    }
}

fn check_schema_depth(model: &mut Model, edges: &[Vec<Edge>]) {
    let n = model.elements.len();
    let mut memo: Vec<Option<usize>> = vec![None; n];
    fn depth(i: usize, edges: &[Vec<Edge>], elements: &[Element], memo: &mut [Option<usize>]) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        let d = edges[i]
            .iter()
            .filter(|e| elements[e.to].class != Class::Interface)
            .map(|e| usize::from(matches!(e.member, "schema" | "elementSchema")) + depth(e.to, edges, elements, memo))
            .max()
            .unwrap_or(0);
        // A standard schema value is an element too: the member that names it counts.
        let standard = ["schema", "elementSchema"]
            .iter()
            .any(|m| elements[i].member(m).iter().any(|item| matches!(item, Item::Primitive(_) | Item::Geospatial(_))));
        let d = d.max(usize::from(standard));
        memo[i] = Some(d);
        d
    }
    for i in 0..n {
        if !model.elements[i].class.is_complex_schema() {
            continue;
        }
        let d = depth(i, edges, &model.elements, &mut memo);
        if d > SCHEMA_DEPTH_MAX {
            let e = &model.elements[i];
            let (doc, pointer, class) = (e.document, e.pointer.clone(), e.class);
            model.error(
                doc,
                &pointer,
                "DTDL0504",
                Some("PropertiesElementSchemaSchemaMaxDepth"),
                format!("this {} nests schemas {d} deep; at most {SCHEMA_DEPTH_MAX} is allowed", class.term()),
            );
        }
    }
}

/// A Component's schema may not (through `schema` and `contents`, including inherited contents) reach another Component.
fn check_components(model: &mut Model, edges: &[Vec<Edge>]) {
    for start in 0..model.elements.len() {
        if model.elements[start].class != Class::Component {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = edges[start].iter().filter(|e| e.member == "schema").map(|e| e.to).collect();
        let mut hit = false;
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            if model.elements[i].class == Class::Component {
                hit = true;
                break;
            }
            for e in &edges[i] {
                if matches!(e.member, "schema" | "contents" | "extends") {
                    stack.push(e.to);
                }
            }
        }
        if hit {
            let e = &model.elements[start];
            let (doc, pointer) = (e.document, e.pointer.clone());
            model.error(
                doc,
                &pointer,
                "DTDL0505",
                Some("PropertiesSchemaContentsExcludeComponent"),
                "a Component's interface may not itself contain a Component",
            );
        }
    }
}

/// DTDL v3: at most 100,000 values in the hierarchy of an Interface, counting inherited contents.
fn check_hierarchy_size(model: &mut Model, edges: &[Vec<Edge>]) {
    const COUNTED: &[&str] = &[
        "contents",
        "fields",
        "enumValues",
        "request",
        "response",
        "properties",
        "schema",
        "elementSchema",
        "mapValue",
    ];
    let n = model.elements.len();
    let mut memo: Vec<Option<usize>> = vec![None; n];
    fn count(i: usize, edges: &[Vec<Edge>], memo: &mut [Option<usize>]) -> usize {
        if let Some(c) = memo[i] {
            return c;
        }
        let mut c = 0usize;
        for e in &edges[i] {
            if COUNTED.contains(&e.member) {
                c = c.saturating_add(1).saturating_add(count(e.to, edges, memo));
            } else if e.member == "extends" {
                c = c.saturating_add(count(e.to, edges, memo));
            }
        }
        memo[i] = Some(c);
        c
    }
    for i in 0..n {
        let e = &model.elements[i];
        if e.class != Class::Interface || e.version != DtdlVersion::V3 {
            continue;
        }
        let c = count(i, edges, &mut memo);
        if c > HIERARCHY_VALUES_MAX {
            let e = &model.elements[i];
            let (doc, pointer) = (e.document, e.pointer.clone());
            model.error(
                doc,
                &pointer,
                "DTDL0508",
                Some("PropertiesContentsMaxCount"),
                format!("this Interface's hierarchy has {c} elements; at most {HIERARCHY_VALUES_MAX} are allowed"),
            );
        }
    }
}

/// DTDL v2: a Property may not be an ancestor of an element whose `schema` is an Array or a geospatial schema.
fn check_v2_property_schemas(model: &mut Model, edges: &[Vec<Edge>]) {
    for start in 0..model.elements.len() {
        let e = &model.elements[start];
        if e.class != Class::Property || e.version != DtdlVersion::V2 {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        let mut problem = None;
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            for item in model.elements[i].member("schema") {
                if matches!(item, Item::Geospatial(_)) {
                    problem = Some(("PropertiesSchemaExcludeArrayImplicant", "a geospatial schema"));
                }
            }
            for edge in &edges[i] {
                if edge.member == "schema" && model.elements[edge.to].class == Class::Array {
                    problem = Some(("PropertiesSchemaExcludeArray", "an Array schema"));
                }
                stack.push(edge.to);
            }
        }
        if let Some((rule, what)) = problem {
            let (doc, pointer) = (e.document, e.pointer.clone());
            model.error(doc, &pointer, "DTDL0505", Some(rule), format!("a DTDL v2 Property may not contain {what}"));
        }
    }
}

/// Names unique among an Interface's contents (inherited ones too), an Object's fields, an Enum's values and a Relationship's properties.
fn check_names(model: &mut Model, edges: &[Vec<Edge>]) {
    let mut problems = Vec::new();
    for i in 0..model.elements.len() {
        let e = &model.elements[i];
        let members: &[&str] = match e.class {
            Class::Interface => &["contents"],
            Class::Object => &["fields"],
            Class::Enum => &["enumValues"],
            Class::Relationship => &["properties"],
            _ => continue,
        };
        let mut children: Vec<usize> = Vec::new();
        if e.class == Class::Interface {
            // Own and inherited contents, each element once.
            for l in lineage(i, edges) {
                for edge in &edges[l] {
                    if edge.member == "contents" && !children.contains(&edge.to) {
                        children.push(edge.to);
                    }
                }
            }
        } else {
            children = edges[i].iter().filter(|edge| members.contains(&edge.member)).map(|edge| edge.to).collect();
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        for c in &children {
            if let Some(name) = model.elements[*c].name.as_deref()
                && names.insert(name, *c).is_some()
            {
                problems.push((
                    e.document,
                    e.pointer.clone(),
                    format!("name '{name}' is used by more than one element of this {}", e.class.term()),
                ));
            }
        }
    }
    for (doc, pointer, message) in problems {
        model.error(doc, &pointer, "DTDL0506", Some("NameUnique"), message);
    }
}

/// An Interface and everything it extends, transitively, each once: itself first, then breadth-first.
fn lineage(interface: usize, edges: &[Vec<Edge>]) -> Vec<usize> {
    let mut out = vec![interface];
    let mut k = 0;
    while k < out.len() {
        for edge in &edges[out[k]] {
            if edge.member == "extends" && !out.contains(&edge.to) {
                out.push(edge.to);
            }
        }
        k += 1;
    }
    out
}

fn check_enums(model: &mut Model, edges: &[Vec<Edge>]) {
    let mut problems = Vec::new();
    for (e, out) in model.elements.iter().zip(edges) {
        if e.class != Class::Enum {
            continue;
        }
        let value_schema = match e.member("valueSchema").first() {
            Some(Item::Instance(t)) => *t,
            _ => continue,
        };
        let mut seen: Vec<String> = Vec::new();
        for edge in out.iter().filter(|edge| edge.member == "enumValues") {
            let v = &model.elements[edge.to];
            let literal = match v.member("enumValue").first() {
                Some(Item::Integer(n)) => {
                    if value_schema != "integer" {
                        problems.push((
                            v.document,
                            v.pointer.clone(),
                            "DTDL0507",
                            "EnumValueDatatype",
                            format!("enum value {n} must be a string, as the Enum's valueSchema says"),
                        ));
                        continue;
                    }
                    n.to_string()
                }
                Some(Item::String(s)) => {
                    if value_schema != "string" {
                        problems.push((
                            v.document,
                            v.pointer.clone(),
                            "DTDL0507",
                            "EnumValueDatatype",
                            format!("enum value '{s}' must be an integer, as the Enum's valueSchema says"),
                        ));
                        continue;
                    }
                    format!("\"{s}\"")
                }
                _ => continue,
            };
            if seen.contains(&literal) {
                problems.push((
                    v.document,
                    v.pointer.clone(),
                    "DTDL0507",
                    "EnumValueUnique",
                    format!("enum value {literal} appears more than once"),
                ));
            }
            seen.push(literal);
        }
    }
    for (doc, pointer, code, rule, message) in problems {
        model.error(doc, &pointer, code, Some(rule), message);
    }
}

/// A ValueAnnotation's `annotates` names a sibling Property or Telemetry (own or inherited) that is not itself an annotation.
fn check_annotations(model: &mut Model, edges: &[Vec<Edge>]) {
    let mut problems = Vec::new();
    for (i, e) in model.elements.iter().enumerate() {
        if e.class != Class::Interface {
            continue;
        }
        let contents: Vec<&Element> = lineage(i, edges)
            .iter()
            .flat_map(|l| edges[*l].iter().filter(|x| x.member == "contents").map(|x| &model.elements[x.to]))
            .collect();
        for annotation in edges[i].iter().filter(|x| x.member == "contents").map(|x| &model.elements[x.to]) {
            let Some(target) = annotation.annotates.as_deref() else { continue };
            let ok = contents.iter().any(|c| {
                c.name.as_deref() == Some(target)
                    && matches!(c.class, Class::Property | Class::Telemetry)
                    && c.annotates.is_none()
            });
            if !ok {
                problems.push((annotation.document, annotation.pointer.clone(), format!("'annotates' names '{target}', which is not a Property or Telemetry of this Interface that could be annotated")));
            }
        }
    }
    for (doc, pointer, message) in problems {
        model.error(doc, &pointer, "DTDL0701", Some("AnnotatesSibling"), message);
    }
}

fn build_set(model: &Model, edges: &[Vec<Edge>]) -> ModelSet {
    let mut set = ModelSet::default();
    for (i, e) in model.elements.iter().enumerate() {
        if e.class != Class::Interface {
            continue;
        }
        let extends =
            edges[i].iter().filter(|x| x.member == "extends").map(|x| model.elements[x.to].id.clone()).collect();
        let contents =
            edges[i].iter().filter(|x| x.member == "contents").filter_map(|x| content(model, edges, x.to)).collect();
        set.insert(Interface {
            id: e.id.clone(),
            version: e.version,
            document: e.document,
            extends,
            contents,
            display_name: lang(e, "displayName"),
            description: lang(e, "description"),
            comment: string(e, "comment"),
        });
    }
    set
}

fn content(model: &Model, edges: &[Vec<Edge>], i: usize) -> Option<Content> {
    let e = &model.elements[i];
    let child = |member: &str| edges[i].iter().find(|x| x.member == member).map(|x| x.to);
    let kind = match e.class {
        Class::Property => {
            ContentKind::Property { schema: schema_of(model, edges, i)?, writable: boolean(e, "writable") }
        }
        Class::Telemetry => ContentKind::Telemetry { schema: schema_of(model, edges, i)? },
        Class::Command => {
            let payload = |member: &str| {
                child(member).and_then(|p| {
                    Some(CommandPayload { name: model.elements[p].name.clone()?, schema: schema_of(model, edges, p)? })
                })
            };
            ContentKind::Command { request: payload("request"), response: payload("response") }
        }
        Class::Relationship => ContentKind::Relationship {
            target: e.member("target").iter().find_map(|t| match t {
                Item::Target(d) => Some(d.clone()),
                _ => None,
            }),
            properties: edges[i]
                .iter()
                .filter(|x| x.member == "properties")
                .filter_map(|x| {
                    let p = &model.elements[x.to];
                    Some(RelationshipProperty {
                        name: p.name.clone()?,
                        schema: schema_of(model, edges, x.to)?,
                        writable: boolean(p, "writable"),
                    })
                })
                .collect(),
            min_multiplicity: integer(e, "minMultiplicity"),
            max_multiplicity: integer(e, "maxMultiplicity"),
            writable: boolean(e, "writable"),
        },
        Class::Component => ContentKind::Component { schema: model.elements[child("schema")?].id.clone() },
        _ => return None,
    };
    Some(Content {
        name: e.name.clone()?,
        id: e.id.clone(),
        kind,
        semantic_types: e.semantic_types.clone(),
        unit: e.unit.clone(),
        cotypes: e.cotypes.clone(),
        display_name: lang(e, "displayName"),
        description: lang(e, "description"),
    })
}

/// The resolved schema of an element's `schema` (or `elementSchema`) member.
fn schema_of(model: &Model, edges: &[Vec<Edge>], i: usize) -> Option<Schema> {
    let e = &model.elements[i];
    let member = if e.class == Class::Array { "elementSchema" } else { "schema" };
    for item in e.member(member) {
        match item {
            Item::Primitive(p) => return Some(Schema::Primitive(*p)),
            Item::Geospatial(g) => return Some(Schema::Geospatial(*g)),
            _ => {}
        }
    }
    let target = edges[i].iter().find(|x| x.member == member)?.to;
    complex(model, edges, target)
}

fn complex(model: &Model, edges: &[Vec<Edge>], i: usize) -> Option<Schema> {
    let e = &model.elements[i];
    let children = |member: &'static str| edges[i].iter().filter(move |x| x.member == member).map(|x| x.to);
    Some(match e.class {
        Class::Array => Schema::Array(ArraySchema { id: e.id.clone(), element: Box::new(schema_of(model, edges, i)?) }),
        Class::Enum => Schema::Enum(EnumSchema {
            id: e.id.clone(),
            value_schema: match e.member("valueSchema").first() {
                Some(Item::Instance("integer")) => Primitive::Integer,
                _ => Primitive::String,
            },
            values: children("enumValues")
                .filter_map(|v| {
                    let v = &model.elements[v];
                    let value = match v.member("enumValue").first()? {
                        Item::Integer(n) => EnumLiteral::Integer(*n),
                        Item::String(s) => EnumLiteral::String(s.clone()),
                        _ => return None,
                    };
                    Some(EnumValue { name: v.name.clone()?, value })
                })
                .collect(),
        }),
        Class::Map => {
            let key = children("mapKey").next()?;
            let value = children("mapValue").next()?;
            Schema::Map(MapSchema {
                id: e.id.clone(),
                key_name: model.elements[key].name.clone()?,
                value_name: model.elements[value].name.clone()?,
                value: Box::new(schema_of(model, edges, value)?),
            })
        }
        Class::Object => Schema::Object(ObjectSchema {
            id: e.id.clone(),
            fields: children("fields")
                .filter_map(|f| {
                    Some(Field { name: model.elements[f].name.clone()?, schema: schema_of(model, edges, f)? })
                })
                .collect(),
        }),
        _ => return None,
    })
}

fn lang(e: &Element, member: &str) -> LangString {
    e.member(member)
        .iter()
        .find_map(|i| match i {
            Item::Lang(l) => Some(l.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn string(e: &Element, member: &str) -> Option<String> {
    e.member(member).iter().find_map(|i| match i {
        Item::String(s) => Some(s.clone()),
        _ => None,
    })
}

fn boolean(e: &Element, member: &str) -> bool {
    e.member(member).iter().any(|i| matches!(i, Item::Boolean(true)))
}

fn integer(e: &Element, member: &str) -> Option<u64> {
    e.member(member).iter().find_map(|i| match i {
        Item::Integer(n) => u64::try_from(*n).ok(),
        _ => None,
    })
}
