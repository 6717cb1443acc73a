//! The resolved model set: interfaces with their contents, inheritance and resolved schemas, and the questions the graph and the query engine ask of them.
//!
//! A `ModelSet` is built only by the parser from a valid (or best-effort) model; it holds no JSON and does no validation of its own beyond instance checks.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::instance::{self, Violation};
use crate::schema::Schema;
use crate::{DtdlVersion, Dtmi};

/// A localizable string: language tag to text (`"en"` when the model gave a plain string).
pub type LangString = BTreeMap<String, String>;

#[derive(Clone, Debug, Default)]
pub struct ModelSet {
    interfaces: BTreeMap<Dtmi, Interface>,
}

#[derive(Clone, Debug)]
pub struct Interface {
    pub id: Dtmi,
    pub version: DtdlVersion,
    /// Index of the document that defines it, in the order the documents were given.
    pub document: usize,
    /// The interfaces this one extends directly, in declaration order.
    pub extends: Vec<Dtmi>,
    /// The contents declared by this interface itself (inherited ones are reached through `ModelSet::contents`).
    pub contents: Vec<Content>,
    pub display_name: LangString,
    pub description: LangString,
    pub comment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Content {
    pub name: String,
    pub id: Dtmi,
    pub kind: ContentKind,
    /// Semantic types co-typed on this content (`Temperature`), as written.
    pub semantic_types: Vec<String>,
    /// The unit, when a semantic type is given.
    pub unit: Option<String>,
    /// Other co-types (extension adjunct types such as `Historized`, or undefined ones where allowed), as written.
    pub cotypes: Vec<String>,
    pub display_name: LangString,
    pub description: LangString,
}

#[derive(Clone, Debug)]
pub enum ContentKind {
    Property {
        schema: Schema,
        writable: bool,
    },
    Telemetry {
        schema: Schema,
    },
    Command {
        request: Option<CommandPayload>,
        response: Option<CommandPayload>,
    },
    Relationship {
        /// The target interface; `None` means any interface.
        target: Option<Dtmi>,
        properties: Vec<RelationshipProperty>,
        min_multiplicity: Option<u64>,
        max_multiplicity: Option<u64>,
        writable: bool,
    },
    Component {
        schema: Dtmi,
    },
}

impl ContentKind {
    /// The DTDL class term of this content (`"Property"`).
    pub fn class(&self) -> &'static str {
        match self {
            ContentKind::Property { .. } => "Property",
            ContentKind::Telemetry { .. } => "Telemetry",
            ContentKind::Command { .. } => "Command",
            ContentKind::Relationship { .. } => "Relationship",
            ContentKind::Component { .. } => "Component",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CommandPayload {
    pub name: String,
    pub schema: Schema,
}

#[derive(Clone, Debug)]
pub struct RelationshipProperty {
    pub name: String,
    pub schema: Schema,
    pub writable: bool,
}

/// How `is_a` compares a model with an ancestor, as `IS_OF_MODEL` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelMatch {
    /// The ancestor itself, any model that extends it (transitively), or a later version of either.
    SubtypesAndLaterVersions,
    /// Exactly the given model id.
    Exact,
}

impl ModelSet {
    pub(crate) fn insert(&mut self, interface: Interface) {
        self.interfaces.insert(interface.id.clone(), interface);
    }

    pub fn len(&self) -> usize {
        self.interfaces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.interfaces.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Interface> {
        let dtmi = Dtmi::parse(id)?;
        self.interfaces.get(&dtmi)
    }

    /// Every interface, in identifier order.
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.interfaces.values()
    }

    /// The interface and everything it extends, transitively: itself first, then ancestors breadth-first, each once.
    pub fn lineage(&self, id: &str) -> Vec<&Interface> {
        let mut out: Vec<&Interface> = Vec::new();
        let Some(first) = self.get(id) else { return out };
        out.push(first);
        let mut next = 0;
        while next < out.len() {
            let current = out[next];
            next += 1;
            for parent in &current.extends {
                if let Some(p) = self.interfaces.get(parent)
                    && !out.iter().any(|seen| seen.id == p.id)
                {
                    out.push(p);
                }
            }
        }
        out
    }

    /// All contents of an interface, its own first and then inherited ones, each with the interface that declares it.
    pub fn contents(&self, id: &str) -> Vec<(&Interface, &Content)> {
        self.lineage(id).into_iter().flat_map(|i| i.contents.iter().map(move |c| (i, c))).collect()
    }

    /// The content named `name` of an interface, declared there or inherited.
    pub fn content(&self, id: &str, name: &str) -> Option<&Content> {
        self.lineage(id).into_iter().flat_map(|i| i.contents.iter()).find(|c| c.name == name)
    }

    /// Whether `model` is `ancestor` in the sense of the query language's `IS_OF_MODEL`.
    ///
    /// With `SubtypesAndLaterVersions`, a model matches when it or any interface it extends has the same versionless id as `ancestor` and an equal or higher version.
    pub fn is_a(&self, model: &str, ancestor: &str, how: ModelMatch) -> bool {
        match how {
            ModelMatch::Exact => model == ancestor,
            ModelMatch::SubtypesAndLaterVersions => {
                let Some(wanted) = Dtmi::parse(ancestor) else { return false };
                if same_or_later(model, &wanted) {
                    return true;
                }
                self.lineage(model).iter().any(|i| same_or_later(i.id.as_str(), &wanted))
            }
        }
    }

    /// The schema at a property path of an interface: the first segment names a property (or a component, then a property inside it), later segments walk object fields and map values.
    pub fn property_schema(&self, id: &str, path: &[&str]) -> Option<&Schema> {
        let (first, rest) = path.split_first()?;
        let content = self.content(id, first)?;
        match &content.kind {
            ContentKind::Property { schema, .. } => walk_schema(schema, rest),
            ContentKind::Component { schema } => self.property_schema(schema.as_str(), rest),
            _ => None,
        }
    }
}

impl ModelSet {
    /// Validates a value written to content `name` of a twin of `model`: a property's value against its schema, or a component's whole value (an object of the component's property values, with an optional `$metadata`) against the component's interface.
    /// Telemetry, commands and relationships are not twin values; naming one, or no content at all, is a violation.
    pub fn validate_content_value(&self, model: &str, name: &str, value: &Value) -> Vec<Violation> {
        let Some(content) = self.content(model, name) else {
            return vec![Violation {
                pointer: String::new(),
                message: format!("model '{model}' has no property or component named '{name}'"),
            }];
        };
        match &content.kind {
            ContentKind::Property { schema, .. } => instance::validate(schema, value),
            ContentKind::Component { schema } => self.validate_component(schema.as_str(), value),
            other => vec![Violation {
                pointer: String::new(),
                message: format!("'{name}' is a {} of model '{model}', not a property or component", other.class()),
            }],
        }
    }

    fn validate_component(&self, interface: &str, value: &Value) -> Vec<Violation> {
        let Value::Object(members) = value else {
            return vec![Violation {
                pointer: String::new(),
                message: "a component's value must be a JSON object".to_owned(),
            }];
        };
        let mut out = Vec::new();
        for (key, member) in members {
            if key == "$metadata" {
                continue;
            }
            for mut violation in self.validate_content_value(interface, key, member) {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                violation.pointer = format!("/{escaped}{}", violation.pointer);
                out.push(violation);
            }
        }
        out
    }
}

fn same_or_later(model: &str, wanted: &Dtmi) -> bool {
    let Some(candidate) = Dtmi::parse(model) else { return false };
    if candidate.versionless() != wanted.versionless() {
        return false;
    }
    let version = |d: &Dtmi| (d.major().unwrap_or(0), d.minor().unwrap_or(0));
    version(&candidate) >= version(wanted)
}

fn walk_schema<'a>(schema: &'a Schema, path: &[&str]) -> Option<&'a Schema> {
    let Some((first, rest)) = path.split_first() else { return Some(schema) };
    match schema {
        Schema::Object(object) => {
            let field = object.fields.iter().find(|f| f.name == *first)?;
            walk_schema(&field.schema, rest)
        }
        Schema::Map(map) => walk_schema(&map.value, rest),
        _ => None,
    }
}
