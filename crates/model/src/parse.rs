//! Turning JSON documents into DTDL elements: contexts, types, identifiers, members and literal values, checked element by element against the tables in `metamodel`.
//!
//! This pass sees one element at a time (and its structural children); checks that need the whole model, such as references, inheritance and hierarchy limits, are in `resolve`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Severity};
use crate::dtmi::{Dtmi, INTERFACE_DTMI_BYTES_MAX, USER_DTMI_BYTES_MAX};
use crate::metamodel::{self, Class, Extension, Kind, Member};
use crate::schema::{Geospatial, Primitive};
use crate::semantic::Vocabulary;
use crate::set::LangString;
use crate::{Document, DtdlVersion, Options, Outcome, UndefinedExtensions, resolve};

/// A parsed DTDL element, addressed by its index in `Model::elements`.
#[derive(Debug)]
pub(crate) struct Element {
    pub(crate) id: Dtmi,
    pub(crate) id_given: bool,
    pub(crate) class: Class,
    pub(crate) version: DtdlVersion,
    pub(crate) document: usize,
    pub(crate) pointer: String,
    /// Index of the element that roots this element's partition.
    pub(crate) partition: usize,
    pub(crate) top_level: bool,
    pub(crate) name: Option<String>,
    /// Member values by member term, in document order.
    pub(crate) members: Vec<(&'static str, Vec<Item>)>,
    /// Semantic types co-typed on the element, as written.
    pub(crate) semantic_types: Vec<String>,
    pub(crate) unit: Option<String>,
    /// Other co-types, as written.
    pub(crate) cotypes: Vec<String>,
    /// Size of the element's JSON text, for Interfaces (the 1 MiB limit).
    pub(crate) json_bytes: usize,
    /// The `annotates` member of a ValueAnnotation: the name of the sibling content it annotates.
    pub(crate) annotates: Option<String>,
}

impl Element {
    pub(crate) fn member(&self, term: &str) -> &[Item] {
        self.members.iter().find(|(t, _)| *t == term).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }
}

/// One value included by a member.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    String(String),
    Integer(i64),
    Boolean(bool),
    Lang(LangString),
    /// A structurally included element.
    Element(usize),
    /// A dependent reference, with the pointer where it was written.
    Reference(Dtmi, String),
    Primitive(Primitive),
    Geospatial(Geospatial),
    /// An instance term such as `integer` (for `valueSchema`) or `synchronous`.
    Instance(&'static str),
    /// A non-dependent reference.
    Target(Dtmi),
}

pub(crate) struct Model {
    pub(crate) elements: Vec<Element>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    options: Options,
}

/// The active context of an element.
#[derive(Clone, Debug)]
struct Context {
    version: DtdlVersion,
    /// Context DTMIs by versionless value, lowest in the hierarchy winning.
    entries: BTreeMap<String, String>,
    extensions: Vec<Extension>,
    /// The active context names an extension this engine does not define (allowed by the options).
    undefined: bool,
}

impl Context {
    fn has(&self, extension: Extension) -> bool {
        self.extensions.contains(&extension)
    }

    fn vocabulary(&self) -> Option<Vocabulary> {
        match self.version {
            DtdlVersion::V2 => Some(Vocabulary::V2Core),
            DtdlVersion::V3 if self.has(Extension::QuantitativeTypes) => Some(Vocabulary::QuantitativeTypesV1),
            DtdlVersion::V3 => None,
        }
    }
}

pub(crate) fn parse_model(documents: &[Document], options: &Options) -> Outcome {
    let mut model = Model { elements: Vec::new(), diagnostics: Vec::new(), options: options.clone() };
    for (index, document) in documents.iter().enumerate() {
        let text = document.text.strip_prefix('\u{feff}').unwrap_or(&document.text);
        match serde_json::from_str::<Value>(text) {
            Ok(value) => model.document(index, &value),
            Err(err) => model.error(index, "", "DTDL0001", Some("RootArrayOrObj"), format!("not valid JSON: {err}")),
        }
    }
    resolve::resolve(model)
}

/// What the parent allows at the position of an element.
struct Slot<'a> {
    classes: &'a [Class],
    inferable: Option<Class>,
    id_required: bool,
    parent: Option<usize>,
    /// The parent's id and the member term, for assigned ids.
    parent_id: Option<&'a Dtmi>,
    member: &'static str,
    name_segment: bool,
    partition: Option<usize>,
    /// The DTDL version of the parent element.
    parent_version: Option<DtdlVersion>,
}

impl Model {
    fn document(&mut self, index: usize, value: &Value) {
        match value {
            Value::Object(object) => self.top_level(index, object, String::new()),
            Value::Array(items) => {
                if items.iter().all(Value::is_object) {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Object(object) = item {
                            self.top_level(index, object, format!("/{i}"));
                        }
                    }
                } else {
                    self.error(
                        index,
                        "",
                        "DTDL0001",
                        Some("RootArrayOrObj"),
                        "a document must be an object or an array of objects",
                    );
                }
            }
            _ => self.error(
                index,
                "",
                "DTDL0001",
                Some("RootArrayOrObj"),
                "a document must be an object or an array of objects",
            ),
        }
    }

    fn top_level(&mut self, document: usize, object: &Map<String, Value>, pointer: String) {
        let Some(context_value) = object.get("@context") else {
            self.error(
                document,
                &pointer,
                "DTDL0003",
                Some("TopLevelDtdlContext"),
                "a top-level element must have an \"@context\" that includes the DTDL context",
            );
            return;
        };
        let Some(context) = self.context(document, &format!("{pointer}/@context"), context_value, None, true) else {
            return;
        };
        let slot = Slot {
            classes: &[Class::Interface],
            inferable: None,
            id_required: true,
            parent: None,
            parent_id: None,
            member: "",
            name_segment: false,
            partition: None,
            parent_version: None,
        };
        let bytes = serde_json::to_string(object).map(|s| s.len()).unwrap_or(0);
        if let Some(index) = self.element(document, object, pointer, &context, &slot) {
            self.elements[index].top_level = true;
            self.elements[index].json_bytes = bytes;
        }
    }

    /// Reads an `@context` value and combines it with the parent's active context.
    fn context(
        &mut self,
        document: usize,
        pointer: &str,
        value: &Value,
        parent: Option<&Context>,
        top_level: bool,
    ) -> Option<Context> {
        let strings: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.as_str()),
                        _ => {
                            self.error(
                                document,
                                pointer,
                                "DTDL0010",
                                Some("ContextArrayAllStrings"),
                                "every value of \"@context\" must be a string",
                            );
                            return None;
                        }
                    }
                }
                out
            }
            _ => {
                self.error(
                    document,
                    pointer,
                    "DTDL0010",
                    Some("ContextStringOrArray"),
                    "\"@context\" must be a string or an array of strings",
                );
                return None;
            }
        };
        let mut version = parent.map(|p| p.version);
        let mut dtdl_position = None;
        let mut own: Vec<(String, String)> = Vec::new();
        for (i, text) in strings.iter().enumerate() {
            let Some(dtmi) = Dtmi::parse(text).filter(|d| d.major().is_some() && !d.is_system()) else {
                self.error(
                    document,
                    pointer,
                    "DTDL0010",
                    Some("ContextDtmiWithVersion"),
                    format!("context value '{text}' must be a DTMI with a version"),
                );
                return None;
            };
            if dtmi.versionless() == "dtmi:dtdl:context" {
                match (dtmi.major(), dtmi.minor()) {
                    (Some(2), None) => version = Some(DtdlVersion::V2),
                    (Some(3), None) => version = Some(DtdlVersion::V3),
                    _ => {
                        self.error(
                            document,
                            pointer,
                            "DTDL0012",
                            Some("ContextDefinedLanguageExtension"),
                            format!("'{text}' is not a DTDL version this engine supports (2 or 3)"),
                        );
                        return None;
                    }
                }
                if dtdl_position.is_some() {
                    self.warning(
                        document,
                        pointer,
                        "DTDL0013",
                        Some("ContextDtdlOnlyOne"),
                        "\"@context\" should name the DTDL context only once",
                    );
                }
                dtdl_position = Some(i);
            }
            if own.iter().any(|(_, full)| full == text) {
                self.warning(
                    document,
                    pointer,
                    "DTDL0013",
                    Some("ContextUniqueValues"),
                    format!("context value '{text}' is repeated"),
                );
            } else if own.iter().any(|(v, _)| v == dtmi.versionless()) {
                self.warning(
                    document,
                    pointer,
                    "DTDL0013",
                    Some("ContextRepeatsDeversionedValue"),
                    format!("context value '{text}' repeats another version of the same context"),
                );
            }
            own.retain(|(v, _)| v != dtmi.versionless());
            own.push((dtmi.versionless().to_owned(), (*text).to_owned()));
        }
        let Some(version) = version else {
            self.error(
                document,
                pointer,
                "DTDL0003",
                Some("TopLevelDtdlContext"),
                "\"@context\" must include \"dtmi:dtdl:context;3\" or \"dtmi:dtdl:context;2\"",
            );
            return None;
        };
        if top_level && dtdl_position.is_none() {
            self.error(
                document,
                pointer,
                "DTDL0003",
                Some("TopLevelDtdlContext"),
                "a top-level element's \"@context\" must include the DTDL context",
            );
            return None;
        }
        if let Some(position) = dtdl_position {
            for text in &strings[..position] {
                if text.starts_with("dtmi:dtdl:context;") {
                    continue;
                }
                if version == DtdlVersion::V2 && *text == "dtmi:iotcentral:context;2" {
                    self.warning(
                        document,
                        pointer,
                        "DTDL0013",
                        Some("ContextDtdlPrecedesOrOnlyException"),
                        "the IoT Central context should follow the DTDL context",
                    );
                    continue;
                }
                self.error(
                    document,
                    pointer,
                    "DTDL0011",
                    Some("ContextDtdlPrecedesOrOnly"),
                    "the DTDL context must come before any extension context",
                );
                return None;
            }
        }
        let mut context = match parent {
            Some(p) => p.clone(),
            None => Context { version, entries: BTreeMap::new(), extensions: Vec::new(), undefined: false },
        };
        context.version = version;
        for (versionless, full) in own {
            context.entries.insert(versionless, full);
        }
        context.extensions.clear();
        context.undefined = false;
        let entries: Vec<String> = context.entries.values().cloned().collect();
        for full in entries {
            if full.starts_with("dtmi:dtdl:context;") {
                continue;
            }
            match Extension::from_context(&full, version) {
                Some(extension) => context.extensions.push(extension),
                None => {
                    let allowed = match self.options.undefined_extensions {
                        UndefinedExtensions::Allow => true,
                        UndefinedExtensions::Disallow => false,
                        UndefinedExtensions::VersionDefault => version == DtdlVersion::V2,
                    };
                    if allowed {
                        context.undefined = true;
                    } else {
                        self.error(
                            document,
                            pointer,
                            "DTDL0012",
                            Some("ContextDefinedLanguageExtension"),
                            format!("context '{full}' names an extension that is not defined"),
                        );
                        return None;
                    }
                }
            }
        }
        Some(context)
    }

    /// Parses one element at a slot; returns its index, or `None` when it could not be made an element.
    fn element(
        &mut self,
        document: usize,
        object: &Map<String, Value>,
        pointer: String,
        parent_context: &Context,
        slot: &Slot<'_>,
    ) -> Option<usize> {
        let context = match object.get("@context") {
            Some(value) => {
                self.context(document, &format!("{pointer}/@context"), value, Some(parent_context), false)?
            }
            None => parent_context.clone(),
        };
        let version = context.version;
        if let Some(parent_version) = slot.parent_version
            && !metamodel::version_accepted(parent_version, slot.member, version)
        {
            self.error(
                document,
                &pointer,
                "DTDL0102",
                Some("TypeConformance"),
                format!(
                    "a DTDL v{} element may not appear in member '{}' of a DTDL v{} element",
                    version.number(),
                    slot.member,
                    parent_version.number()
                ),
            );
            return None;
        }

        // @type: the material class and the co-types.
        let mut class = None;
        let mut semantic_types = Vec::new();
        let mut cotypes = Vec::new();
        let mut informal = false;
        let mut apocryphal = false;
        let type_pointer = format!("{pointer}/@type");
        let types: Vec<&str> = match object.get("@type") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect()
            }
            Some(_) => {
                self.error(
                    document,
                    &type_pointer,
                    "DTDL0100",
                    Some("TypeStringOrArray"),
                    "\"@type\" must be a string or an array of strings",
                );
                return None;
            }
        };
        let mut material_terms = Vec::new();
        for text in &types {
            if let Some((c, dtmi_form)) = Class::from_type_string(text, version) {
                if material_terms.contains(text) {
                    self.warning(
                        document,
                        &type_pointer,
                        "DTDL0107",
                        Some("TypeDuplicatesMaterial"),
                        format!("\"@type\" includes '{text}' more than once"),
                    );
                }
                material_terms.push(text);
                if class.is_some_and(|k| k != c) {
                    self.error(
                        document,
                        &type_pointer,
                        "DTDL0101",
                        Some("TypeIncludesMaterial"),
                        format!(
                            "\"@type\" names two element classes, {} and {}",
                            class.map(Class::term).unwrap_or_default(),
                            c.term()
                        ),
                    );
                    return None;
                }
                if class == Some(c) {
                    self.warning(
                        document,
                        &type_pointer,
                        "DTDL0107",
                        Some("TypeIncludesTermAndDtmi"),
                        format!("\"@type\" names {} twice", c.term()),
                    );
                }
                class = Some(c);
                if dtmi_form {
                    self.warning(
                        document,
                        &type_pointer,
                        "DTDL0107",
                        Some("TypePreferTermToDtmi"),
                        format!("'{}' is recommended over '{text}'", c.term()),
                    );
                }
                continue;
            }
            if let Some(vocabulary) = context.vocabulary()
                && vocabulary.semantic_type(text).is_some()
            {
                if text.starts_with("dtmi:") {
                    self.warning(
                        document,
                        &type_pointer,
                        "DTDL0107",
                        Some("SemanticTypePreferTermToDtmi"),
                        format!("the term of semantic type '{text}' is recommended over its DTMI"),
                    );
                }
                semantic_types.push((*text).to_owned());
                continue;
            }
            if context.extensions.iter().any(|e| e.adjunct_types().iter().any(|a| a.term == *text || a.iri == *text)) {
                cotypes.push((*text).to_owned());
                continue;
            }
            // Not defined by the active context: classify as the specification does.
            let kind = classify(text, version);
            let tolerated = match (kind, version) {
                (Apocrypha::InvalidDtmi, _) | (Apocrypha::NotDtmiNorTerm, DtdlVersion::V3) => false,
                (Apocrypha::NotDtmiNorTerm | Apocrypha::UndefinedTerm, DtdlVersion::V2) => true,
                _ => context.undefined,
            };
            if !tolerated {
                let (code, rule, what) = match kind {
                    Apocrypha::InvalidDtmi => ("DTDL0103", "TypeIncludesInvalidDtmi", "is not a valid DTMI"),
                    Apocrypha::NotDtmiNorTerm => {
                        ("DTDL0104", "TypeIncludesNotDtmiNorTerm", "is neither a DTMI nor a term")
                    }
                    Apocrypha::UndefinedTerm => {
                        ("DTDL0105", "TypeIncludesUndefinedTerm", "is not a term defined by the active context")
                    }
                    Apocrypha::IrrelevantDtmiOrTerm => {
                        ("DTDL0106", "TypeIncludesIrrelevantDtmiOrTerm", "is not a type that can co-type this element")
                    }
                };
                self.error(document, &type_pointer, code, Some(rule), format!("\"@type\" value '{text}' {what}"));
                return None;
            }
            if context.undefined {
                informal = true;
            }
            apocryphal = true;
            cotypes.push((*text).to_owned());
        }
        let class = match class {
            Some(c) => c,
            None if types.is_empty() => match slot.inferable {
                Some(c) => c,
                None => {
                    self.error(document, &pointer, "DTDL0307", Some("RequiredProperties"), "\"@type\" is required");
                    return None;
                }
            },
            None => {
                self.error(
                    document,
                    &type_pointer,
                    "DTDL0101",
                    Some("TypeIncludesMaterial"),
                    format!("\"@type\" must include one of: {}", class_list(slot.classes)),
                );
                return None;
            }
        };
        if !slot.classes.contains(&class) {
            let rule = if slot.parent.is_none() { "TopLevelRootable" } else { "TypeConformance" };
            self.error(
                document,
                &type_pointer,
                "DTDL0102",
                Some(rule),
                format!("a {} is not allowed here; expected {}", class.term(), class_list(slot.classes)),
            );
            return None;
        }
        // Adjunct types must suit the class.
        for cotype in &cotypes {
            if let Some(adjunct) =
                context.extensions.iter().flat_map(|e| e.adjunct_types()).find(|a| a.term == cotype || a.iri == cotype)
                && !adjunct.classes.contains(&class)
            {
                self.error(
                    document,
                    &type_pointer,
                    "DTDL0106",
                    Some("TypeIncludesIrrelevantDtmiOrTerm"),
                    format!("'{cotype}' cannot co-type a {}", class.term()),
                );
                return None;
            }
        }
        if !semantic_types.is_empty() && !semantic_classes(version).contains(&class) {
            self.error(
                document,
                &type_pointer,
                "DTDL0600",
                Some("SemanticTypeCotype"),
                format!("a semantic type cannot co-type a {}", class.term()),
            );
            return None;
        }
        let co_typed = apocryphal || (version == DtdlVersion::V2 && !cotypes.is_empty());

        // The members the class allows.
        let members = metamodel::members(class, version);
        let mut seen: BTreeMap<&'static str, (&str, &Value)> = BTreeMap::new();
        let mut extension_members: Vec<(&str, &Value)> = Vec::new();
        let mut ok = true;
        for (key, value) in object {
            let key = key.as_str();
            if matches!(key, "@context" | "@id" | "@type") {
                continue;
            }
            let member_pointer = format!("{pointer}/{}", escape(key));
            if key.starts_with('@') {
                if version == DtdlVersion::V3 || key == "@graph" {
                    let rule =
                        if key == "@graph" && version == DtdlVersion::V2 { "GraphKeyword" } else { "InvalidKeywords" };
                    self.error(
                        document,
                        &member_pointer,
                        "DTDL0300",
                        Some(rule),
                        format!("keyword '{key}' is not allowed on an element"),
                    );
                    ok = false;
                } else {
                    self.warning(
                        document,
                        &member_pointer,
                        "DTDL0300",
                        Some("InvalidKeywords"),
                        format!("keyword '{key}' should not be used on an element"),
                    );
                }
                continue;
            }
            let found = members.iter().find(|m| m.term == key).map(|m| (m.term, false)).or_else(|| {
                members.iter().find(|m| key == metamodel::property_dtmi(m.term, version)).map(|m| (m.term, true))
            });
            if let Some((term, dtmi_form)) = found {
                if seen.contains_key(term) {
                    self.error(
                        document,
                        &member_pointer,
                        "DTDL0305",
                        Some("PropertyTermAndDtmi"),
                        format!("member '{term}' is given both as a term and as a DTMI"),
                    );
                    ok = false;
                    continue;
                }
                if dtmi_form {
                    self.warning(
                        document,
                        &member_pointer,
                        "DTDL0306",
                        Some(&member_rule(term, "Term")),
                        format!("'{term}' is recommended over '{key}'"),
                    );
                }
                seen.insert(term, (key, value));
                continue;
            }
            if is_extension_member(key, &semantic_types, &cotypes, &context, version) {
                if extension_members.iter().any(|(k, _)| same_extension_member(k, key, version)) {
                    self.error(
                        document,
                        &member_pointer,
                        "DTDL0305",
                        Some("CotypePropertyTermAndDtmi"),
                        format!("member '{key}' is given both as a term and as a DTMI"),
                    );
                    ok = false;
                    continue;
                }
                extension_members.push((key, value));
                continue;
            }
            let kind = if is_reserved_or_extension_term(key, version, &context) {
                Apocrypha::IrrelevantDtmiOrTerm
            } else {
                classify(key, version)
            };
            let tolerated = match (kind, version) {
                (Apocrypha::InvalidDtmi | Apocrypha::NotDtmiNorTerm, DtdlVersion::V3) => false,
                (_, DtdlVersion::V2) => co_typed,
                (_, DtdlVersion::V3) => informal,
            };
            if !tolerated {
                let (code, rule, what) = match kind {
                    Apocrypha::InvalidDtmi => ("DTDL0301", "PropertyInvalidDtmi", "is not a valid DTMI"),
                    Apocrypha::NotDtmiNorTerm => ("DTDL0302", "PropertyNotDtmiNorTerm", "is neither a DTMI nor a term"),
                    Apocrypha::UndefinedTerm => {
                        ("DTDL0303", "PropertyUndefinedTerm", "is not defined for this element")
                    }
                    Apocrypha::IrrelevantDtmiOrTerm => {
                        ("DTDL0304", "PropertyIrrelevantDtmiOrTerm", "is not a member of this element")
                    }
                };
                self.error(
                    document,
                    &member_pointer,
                    code,
                    Some(rule),
                    format!("member '{key}' {what} (on {} {})", article(class.term()), class.term()),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        for m in &members {
            if m.required && !seen.contains_key(m.term) {
                self.error(
                    document,
                    &pointer,
                    "DTDL0307",
                    Some("RequiredProperties"),
                    format!("a {} must have member '{}'", class.term(), m.term),
                );
                return None;
            }
        }

        // The name comes first: assigned ids of children may use it.
        let name = match seen.get("name") {
            Some((key, value)) => {
                let m = members.iter().find(|m| m.term == "name").copied();
                let items = self.literal_items(document, &format!("{pointer}/{}", escape(key)), value, m?, version)?;
                match items.first() {
                    Some(Item::String(s)) => Some(s.clone()),
                    _ => {
                        self.error(
                            document,
                            &pointer,
                            "DTDL0307",
                            Some("RequiredProperties"),
                            "\"name\" must have a value",
                        );
                        return None;
                    }
                }
            }
            None => None,
        };

        // @id: given, or assigned from the parent.
        let (id, id_given) = match object.get("@id") {
            Some(Value::String(text)) => {
                let id_pointer = format!("{pointer}/@id");
                let Some(dtmi) = Dtmi::parse_user(text, version) else {
                    let rule = if version == DtdlVersion::V2 && Dtmi::parse_user(text, DtdlVersion::V3).is_some() {
                        "DtmiRegexRequiredScalarVersion"
                    } else {
                        "IdIsDtmi"
                    };
                    self.error(
                        document,
                        &id_pointer,
                        "DTDL0200",
                        Some(rule),
                        format!("'{text}' is not a valid DTMI for DTDL v{}", version.number()),
                    );
                    return None;
                };
                if dtmi.is_reserved() {
                    self.error(
                        document,
                        &id_pointer,
                        "DTDL0203",
                        Some("DtmiReservedPrefixes"),
                        format!("'{text}' uses a prefix reserved for the language"),
                    );
                    return None;
                }
                if class == Class::Interface && text.len() > INTERFACE_DTMI_BYTES_MAX {
                    self.error(
                        document,
                        &id_pointer,
                        "DTDL0204",
                        Some("IdLong"),
                        format!(
                            "an Interface id may be at most {INTERFACE_DTMI_BYTES_MAX} characters; this one has {}",
                            text.len()
                        ),
                    );
                    return None;
                }
                if text.len() > USER_DTMI_BYTES_MAX {
                    self.error(
                        document,
                        &id_pointer,
                        "DTDL0200",
                        Some("IdIsDtmi"),
                        "an id may be at most 2048 characters",
                    );
                    return None;
                }
                (dtmi, true)
            }
            Some(Value::Array(_)) => {
                self.error(
                    document,
                    &format!("{pointer}/@id"),
                    "DTDL0200",
                    Some("IdNotArray"),
                    "\"@id\" must be a single DTMI string, not an array",
                );
                return None;
            }
            Some(_) => {
                self.error(
                    document,
                    &format!("{pointer}/@id"),
                    "DTDL0200",
                    Some("IdIsDtmi"),
                    "\"@id\" must be a DTMI string",
                );
                return None;
            }
            None => {
                if slot.id_required || class == Class::Interface {
                    self.error(
                        document,
                        &pointer,
                        "DTDL0202",
                        Some("IdRequired"),
                        format!("this {} must have an \"@id\"", class.term()),
                    );
                    return None;
                }
                let parent_id = slot.parent_id?;
                let segment = if slot.name_segment { name.as_deref() } else { None };
                (parent_id.child(slot.member, segment), false)
            }
        };

        let index = self.elements.len();
        let partition = match (class, slot.partition) {
            (Class::Interface, _) | (_, None) => index,
            (_, Some(p)) => p,
        };
        self.elements.push(Element {
            id: id.clone(),
            id_given,
            class,
            version,
            document,
            pointer: pointer.clone(),
            partition,
            top_level: false,
            name,
            members: Vec::new(),
            semantic_types: semantic_types.clone(),
            unit: None,
            cotypes,
            json_bytes: 0,
            annotates: None,
        });
        if class == Class::Interface {
            self.elements[index].json_bytes = serde_json::to_string(object).map(|s| s.len()).unwrap_or(0);
        }

        let mut failed = false;
        for m in &members {
            if m.term == "name" {
                continue;
            }
            let Some((key, value)) = seen.get(m.term) else { continue };
            let member_pointer = format!("{pointer}/{}", escape(key));
            if m.deprecated {
                self.warning(
                    document,
                    &member_pointer,
                    "DTDL0308",
                    Some(&member_rule(m.term, "Deprecated")),
                    format!("member '{}' is deprecated", m.term),
                );
            }
            let items = match m.kind {
                Kind::Elements { classes, standard, inferable, id_required } => {
                    let child_slot = Slot {
                        classes,
                        inferable,
                        id_required,
                        parent: Some(index),
                        parent_id: Some(&id),
                        member: m.term,
                        name_segment: m.name_segment,
                        partition: Some(partition),
                        parent_version: Some(version),
                    };
                    self.element_items(document, &member_pointer, value, m, standard, &context, &child_slot, class)
                }
                _ => self.literal_items(document, &member_pointer, value, *m, version),
            };
            match items {
                Some(items) => self.elements[index].members.push((m.term, items)),
                None => failed = true,
            }
        }
        if failed {
            // The element stays, with the members that could be read, so later checks still see what is there; the errors are already reported.
            return Some(index);
        }

        // Members brought by semantic types and adjunct types.
        let unit_needed = !semantic_types.is_empty();
        let mut unit = None;
        for (key, value) in &extension_members {
            let member_pointer = format!("{pointer}/{}", escape(key));
            if is_unit_key(key, version) {
                match representational_string(value) {
                    Some(text) => {
                        if text.starts_with("dtmi:") {
                            self.warning(
                                document,
                                &member_pointer,
                                "DTDL0306",
                                Some("CotypePropertyValuePreferTermToDtmi"),
                                format!("a unit term is recommended over '{text}'"),
                            );
                        }
                        unit = Some(text);
                    }
                    None => {
                        self.error(
                            document,
                            &member_pointer,
                            "DTDL0601",
                            Some("CotypePropertyValueFromTable"),
                            "\"unit\" must be a unit term",
                        );
                        return None;
                    }
                }
                if key.starts_with("dtmi:") {
                    self.warning(
                        document,
                        &member_pointer,
                        "DTDL0306",
                        Some("CotypePropertyTerm"),
                        "'unit' is recommended over its DTMI",
                    );
                }
                continue;
            }
            // Adjunct-type members: check the literal kind.
            let spec = context
                .extensions
                .iter()
                .flat_map(|e| e.adjunct_types())
                .flat_map(|a| a.members.iter())
                .find(|(term, _, _)| term == key);
            if let Some((term, kind, _)) = spec {
                let m = Member {
                    term,
                    kind: *kind,
                    required: false,
                    max_count: Some(1),
                    min_count: 0,
                    name_segment: false,
                    deprecated: false,
                };
                self.literal_items(document, &member_pointer, value, m, version)?;
            }
        }
        // Adjunct types that require another adjunct type beside them.
        let cotypes_now = self.elements[index].cotypes.clone();
        let has = |term: &str| cotypes_now.iter().any(|c| c == term || c.ends_with(&format!(":{term}")));
        for (needs, needed) in [("Override", "ValueAnnotation"), ("Cacheable", "Idempotent")] {
            if has(needs) && !has(needed) {
                self.error(
                    document,
                    &type_pointer,
                    "DTDL0700",
                    Some("AdjunctTypeRequiresCotype"),
                    format!("'{needs}' requires '{needed}' in the same \"@type\""),
                );
                return None;
            }
        }
        if let Some((_, value)) = extension_members.iter().find(|(k, _)| *k == "annotates") {
            self.elements[index].annotates = representational_string(value);
        }
        for cotype in &self.elements[index].cotypes.clone() {
            if let Some(adjunct) =
                context.extensions.iter().flat_map(|e| e.adjunct_types()).find(|a| a.term == cotype || a.iri == cotype)
            {
                for (term, _, required) in adjunct.members {
                    if *required && !extension_members.iter().any(|(k, _)| k == term) {
                        self.error(
                            document,
                            &pointer,
                            "DTDL0307",
                            Some("RequiredProperties"),
                            format!("a {cotype} must have member '{term}'"),
                        );
                        return None;
                    }
                }
            }
        }
        if unit_needed {
            if let Err(()) = self.check_semantics(document, &pointer, index, &semantic_types, unit.as_deref(), &context)
            {
                return None;
            }
        } else if unit.is_some() {
            self.error(
                document,
                &pointer,
                "DTDL0601",
                Some("CotypePropertyPresent"),
                "\"unit\" is allowed only with a semantic type",
            );
            return None;
        }
        self.elements[index].unit = unit;
        Some(index)
    }

    fn check_semantics(
        &mut self,
        document: usize,
        pointer: &str,
        index: usize,
        semantic_types: &[String],
        unit: Option<&str>,
        context: &Context,
    ) -> Result<(), ()> {
        let Some(vocabulary) = context.vocabulary() else { return Ok(()) };
        let resolved: Vec<_> = semantic_types.iter().filter_map(|t| vocabulary.semantic_type(t)).collect();
        let mut distinct: Vec<&str> = resolved.iter().map(|s| s.term).collect();
        distinct.sort_unstable();
        let before = distinct.len();
        distinct.dedup();
        if distinct.len() < before {
            // The same type named twice as written, or once as a term and once as its DTMI.
            let mut written = semantic_types.to_vec();
            written.sort_unstable();
            written.dedup();
            let rule =
                if written.len() < semantic_types.len() { "DuplicateSemanticTypes" } else { "SemanticTypeTermAndDtmi" };
            self.warning(document, pointer, "DTDL0602", Some(rule), "a semantic type is named more than once");
        }
        // DTDL v2 allows one semantic type per element; the v3 QuantitativeTypes extension states no such rule, and there each type constrains the one unit.
        if distinct.len() > 1 && context.version == DtdlVersion::V2 {
            self.error(
                document,
                pointer,
                "DTDL0600",
                Some("MultipleSemanticTypes"),
                format!("at most one semantic type may co-type an element; found {}", distinct.join(", ")),
            );
            return Err(());
        }
        let Some(semantic) = resolved.first() else { return Ok(()) };
        let Some(unit) = unit else {
            self.error(
                document,
                pointer,
                "DTDL0601",
                Some("CotypePropertyPresent"),
                format!("an element co-typed {} must have a \"unit\"", semantic.term),
            );
            return Err(());
        };
        let Some(found) = vocabulary.unit(unit) else {
            self.error(
                document,
                pointer,
                "DTDL0601",
                Some("CotypePropertyValueFromTable"),
                format!("'{unit}' is not a unit"),
            );
            return Err(());
        };
        if let Some(other) = resolved.iter().find(|s| !vocabulary.accepts(s, found)) {
            let semantic = other;
            self.error(
                document,
                pointer,
                "DTDL0601",
                Some("CotypePropertyValueMatchesCotype"),
                format!("unit '{unit}' does not measure {}", semantic.term),
            );
            return Err(());
        }
        // The schema must be numeric.
        let element = &self.elements[index];
        let schema_ok = match element.member("schema").first() {
            Some(Item::Primitive(p)) => p.is_numeric(),
            Some(_) => false,
            None => true,
        };
        if !schema_ok {
            self.error(
                document,
                pointer,
                "DTDL0603",
                Some("CotypeRequiresPropertySchemaValue"),
                format!(
                    "an element co-typed {} must have a numeric schema (double, float, integer or long)",
                    semantic.term
                ),
            );
            return Err(());
        }
        Ok(())
    }

    /// Reads the values of an element-valued member.
    #[allow(clippy::too_many_arguments)]
    fn element_items(
        &mut self,
        document: usize,
        pointer: &str,
        value: &Value,
        member: &Member,
        standard: bool,
        context: &Context,
        slot: &Slot<'_>,
        owner: Class,
    ) -> Option<Vec<Item>> {
        let version = context.version;
        let values: Vec<(String, &Value)> = match value {
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (format!("{pointer}/{i}"), v)).collect(),
            other => vec![(pointer.to_owned(), other)],
        };
        if let Some(max) = member.max_count
            && values.len() > max
        {
            let rule = if max == 1 { "PropertyElement" } else { "PropertyMaxCount" };
            self.error(
                document,
                pointer,
                "DTDL0404",
                Some(rule),
                format!("member '{}' may include at most {max} value(s); it has {}", member.term, values.len()),
            );
            return None;
        }
        if values.len() < member.min_count {
            self.error(
                document,
                pointer,
                "DTDL0404",
                Some("PropertyMinCount"),
                format!("member '{}' must include at least {} value(s)", member.term, member.min_count),
            );
            return None;
        }
        let mut items = Vec::new();
        for (item_pointer, v) in values {
            match v {
                Value::Object(object) => {
                    if let Some(i) = self.element(document, object, item_pointer, context, slot) {
                        items.push(Item::Element(i));
                    }
                }
                Value::String(text) => {
                    if standard {
                        if let Some(p) = standard_primitive(text, version) {
                            if text.starts_with("dtmi:") {
                                self.warning(
                                    document,
                                    &item_pointer,
                                    "DTDL0306",
                                    Some(&member_rule(member.term, "PreferTermToDtmi")),
                                    format!("'{}' is recommended over '{text}'", p.term()),
                                );
                            }
                            items.push(Item::Primitive(p));
                            continue;
                        }
                        if let Some(g) = standard_geospatial(text, version) {
                            if text.starts_with("dtmi:") {
                                self.warning(
                                    document,
                                    &item_pointer,
                                    "DTDL0306",
                                    Some(&member_rule(member.term, "PreferTermToDtmi")),
                                    format!("'{}' is recommended over '{text}'", g.term()),
                                );
                            }
                            if version == DtdlVersion::V2 && owner == Class::Property {
                                self.error(
                                    document,
                                    &item_pointer,
                                    "DTDL0505",
                                    Some("PropertySchemaImpliedExclusion"),
                                    "a DTDL v2 Property may not have a geospatial schema",
                                );
                                continue;
                            }
                            items.push(Item::Geospatial(g));
                            continue;
                        }
                    }
                    match Dtmi::parse_user(text, version) {
                        Some(dtmi) => items.push(Item::Reference(dtmi, item_pointer)),
                        None => {
                            self.error(
                                document,
                                &item_pointer,
                                "DTDL0406",
                                Some("PropertyElement"),
                                format!("'{text}' is neither a DTMI nor a value allowed for '{}'", member.term),
                            );
                        }
                    }
                }
                _ => {
                    self.error(
                        document,
                        &item_pointer,
                        "DTDL0406",
                        Some("PropertyElement"),
                        format!("member '{}' must include DTDL elements or DTMI references", member.term),
                    );
                }
            }
        }
        // Values that could not be read are left out (their errors are reported); the rest stay, so whole-model checks still see them.
        Some(items)
    }

    /// Reads the values of a literal member (strings, integers, booleans, localizable strings, instance terms, targets).
    fn literal_items(
        &mut self,
        document: usize,
        pointer: &str,
        value: &Value,
        member: Member,
        version: DtdlVersion,
    ) -> Option<Vec<Item>> {
        if let Kind::LangString { max_len } = member.kind {
            return self.lang_string(document, pointer, value, max_len, version).map(|l| vec![Item::Lang(l)]);
        }
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        if values.len() > 1 {
            self.error(
                document,
                pointer,
                "DTDL0400",
                Some("PropertyString"),
                format!("member '{}' takes a single value", member.term),
            );
            return None;
        }
        let Some(value) = values.first() else {
            if member.required {
                self.error(
                    document,
                    pointer,
                    "DTDL0400",
                    Some("PropertyString"),
                    format!("member '{}' must have a value", member.term),
                );
                return None;
            }
            return Some(Vec::new());
        };
        let item = match member.kind {
            Kind::String { max_len, pattern } => {
                let text = self.representational(document, pointer, value, Literal::String, version)?;
                let Value::String(text) = text else { return None };
                if text.chars().count() > max_len {
                    self.error(
                        document,
                        pointer,
                        "DTDL0401",
                        Some("PropertyStringLength"),
                        format!("'{}' may be at most {max_len} characters", member.term),
                    );
                    return None;
                }
                if let Some(pattern) = pattern
                    && !pattern.matches(&text)
                {
                    self.error(
                        document,
                        pointer,
                        "DTDL0402",
                        Some("PropertyNamePattern"),
                        format!("'{text}' must {}", pattern.describe()),
                    );
                    return None;
                }
                Item::String(text)
            }
            Kind::Integer { min, max } => {
                let v = self.representational(document, pointer, value, Literal::Integer, version)?;
                let n = v.as_i64()?;
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    let bounds = match (min, max) {
                        (Some(a), Some(b)) => format!("between {a} and {b}"),
                        (Some(a), None) => format!("at least {a}"),
                        (None, Some(b)) => format!("at most {b}"),
                        (None, None) => String::new(),
                    };
                    self.error(
                        document,
                        pointer,
                        "DTDL0403",
                        Some("PropertyValueRange"),
                        format!("'{}' must be {bounds}; found {n}", member.term),
                    );
                    return None;
                }
                Item::Integer(n)
            }
            Kind::Boolean => {
                let v = self.representational(document, pointer, value, Literal::Boolean, version)?;
                Item::Boolean(v.as_bool()?)
            }
            Kind::EnumLiteral => match value {
                Value::String(s) => Item::String(s.clone()),
                Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Item::Integer(n.as_i64()?),
                Value::Object(object) if object.get("@value").is_some_and(Value::is_string) => {
                    let v = self.representational(document, pointer, value, Literal::String, version)?;
                    Item::String(v.as_str()?.to_owned())
                }
                Value::Object(object) if object.contains_key("@value") => {
                    let v = self.representational(document, pointer, value, Literal::Integer, version)?;
                    Item::Integer(v.as_i64()?)
                }
                _ => {
                    self.error(
                        document,
                        pointer,
                        "DTDL0400",
                        Some("PropertyEnumValue"),
                        "\"enumValue\" must be an integer or a string",
                    );
                    return None;
                }
            },
            Kind::Instance { terms, prefix } => {
                let Value::String(text) = value else {
                    self.error(
                        document,
                        pointer,
                        "DTDL0405",
                        Some("PropertySpecificValues"),
                        format!("'{}' must be one of: {}", member.term, terms.join(", ")),
                    );
                    return None;
                };
                let suffix = format!(";{}", metamodel::version_suffix(version));
                let found = terms.iter().find(|t| {
                    **t == text.as_str()
                        || text.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix.as_str())) == Some(**t)
                });
                match found {
                    Some(t) => {
                        if text.starts_with("dtmi:") {
                            self.warning(
                                document,
                                pointer,
                                "DTDL0306",
                                Some(&member_rule(member.term, &format!("Value{}PreferToDtmi", capitalize(t)))),
                                format!("'{t}' is recommended over '{text}'"),
                            );
                        }
                        Item::Instance(t)
                    }
                    None => {
                        self.error(
                            document,
                            pointer,
                            "DTDL0405",
                            Some("PropertySpecificValues"),
                            format!("'{}' must be one of: {}; found '{text}'", member.term, terms.join(", ")),
                        );
                        return None;
                    }
                }
            }
            Kind::Target => {
                let Value::String(text) = value else {
                    self.error(
                        document,
                        pointer,
                        "DTDL0400",
                        Some("PropertyTargetDtmi"),
                        "\"target\" must be a DTMI string",
                    );
                    return None;
                };
                match Dtmi::parse_user(text, version) {
                    Some(d) => Item::Target(d),
                    None => {
                        self.error(
                            document,
                            pointer,
                            "DTDL0402",
                            Some("PropertyTargetPattern"),
                            format!("'{text}' is not a valid DTMI"),
                        );
                        return None;
                    }
                }
            }
            Kind::LangString { .. } | Kind::Elements { .. } => return None,
        };
        Some(vec![item])
    }

    /// A representational literal: a bare value, or an object with `@value` (and optionally `@type`).
    fn representational(
        &mut self,
        document: usize,
        pointer: &str,
        value: &Value,
        literal: Literal,
        version: DtdlVersion,
    ) -> Option<Value> {
        let (family, xsd) = match literal {
            Literal::String => ("RepresentationalString", "string"),
            Literal::Integer => ("RepresentationalInteger", "integer"),
            Literal::Boolean => ("RepresentationalBoolean", "boolean"),
        };
        let bare_ok = |v: &Value| match literal {
            Literal::String => v.is_string(),
            Literal::Integer => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) && !v.is_f64(),
            Literal::Boolean => v.is_boolean(),
        };
        match value {
            Value::Object(object) => {
                if object.keys().any(|k| !k.starts_with('@')) {
                    self.error(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "OnlyKeywords")),
                        "a value object may have only keyword members",
                    );
                    return None;
                }
                if version == DtdlVersion::V2
                    && object.keys().any(|k| matches!(k.as_str(), "@id" | "@context" | "@graph"))
                {
                    self.error(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "NoIdContextGraph")),
                        "a value object may not have \"@id\", \"@context\" or \"@graph\"",
                    );
                    return None;
                }
                let Some(inner) = object.get("@value") else {
                    self.error(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "HasValue")),
                        "a value object must have \"@value\"",
                    );
                    return None;
                };
                if !bare_ok(inner) {
                    self.error(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "ValueType")),
                        format!("\"@value\" must be a {xsd}"),
                    );
                    return None;
                }
                let type_value = match object.get("@type") {
                    Some(Value::Array(items)) if items.len() == 1 => items.first(),
                    other => other,
                };
                match type_value {
                    Some(Value::String(t))
                        if *t == format!("xsd:{xsd}") || *t == format!("http://www.w3.org/2001/XMLSchema#{xsd}") => {}
                    Some(_) => {
                        self.error(
                            document,
                            pointer,
                            "DTDL0407",
                            Some(rule_name(family, "TypeValue")),
                            format!("\"@type\" of a value object must be \"xsd:{xsd}\""),
                        );
                        return None;
                    }
                    None => self.warning(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "HasType")),
                        "a value object should have \"@type\"",
                    ),
                }
                if object.keys().any(|k| !matches!(k.as_str(), "@value" | "@type")) {
                    if version == DtdlVersion::V3 {
                        self.error(
                            document,
                            pointer,
                            "DTDL0407",
                            Some(rule_name(family, "OnlyValueAndType")),
                            "a value object may have only \"@value\" and \"@type\"",
                        );
                        return None;
                    }
                    self.warning(
                        document,
                        pointer,
                        "DTDL0407",
                        Some(rule_name(family, "OnlyValueAndType")),
                        "a value object should have only \"@value\" and \"@type\"",
                    );
                }
                Some(inner.clone())
            }
            v if bare_ok(v) => Some(v.clone()),
            _ => {
                let rule = match literal {
                    Literal::String => "PropertyString",
                    Literal::Integer => "PropertyInteger",
                    Literal::Boolean => "PropertyBoolean",
                };
                self.error(document, pointer, "DTDL0400", Some(rule), format!("value must be a {xsd}"));
                None
            }
        }
    }

    fn lang_string(
        &mut self,
        document: usize,
        pointer: &str,
        value: &Value,
        max_len: usize,
        version: DtdlVersion,
    ) -> Option<LangString> {
        let mut out = LangString::new();
        let check_len = |this: &mut Model, text: &str| -> bool {
            if text.chars().count() > max_len {
                this.error(
                    document,
                    pointer,
                    "DTDL0401",
                    Some("PropertyStringLength"),
                    format!("a localizable string may be at most {max_len} characters"),
                );
                return false;
            }
            true
        };
        match value {
            Value::String(s) => {
                if !check_len(self, s) {
                    return None;
                }
                out.insert("en".to_owned(), s.clone());
            }
            Value::Object(map) => {
                for (lang, text) in map {
                    if !language_tag(lang) {
                        self.error(
                            document,
                            pointer,
                            "DTDL0407",
                            Some("LocalizableStringObjectMemberNameRegex"),
                            format!("'{lang}' is not a language code"),
                        );
                        return None;
                    }
                    let Value::String(text) = text else {
                        self.error(
                            document,
                            pointer,
                            "DTDL0407",
                            Some("LocalizableStringObjectMemberValueString"),
                            "each language's text must be a string",
                        );
                        return None;
                    };
                    if !check_len(self, text) {
                        return None;
                    }
                    out.insert(lang.clone(), text.clone());
                }
            }
            Value::Array(items) => {
                let mut defaults = 0;
                for item in items {
                    match item {
                        Value::String(s) => {
                            defaults += 1;
                            if !check_len(self, s) {
                                return None;
                            }
                            out.insert("en".to_owned(), s.clone());
                        }
                        Value::Object(object) => {
                            if object.keys().any(|k| !k.starts_with('@')) {
                                self.error(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementOnlyKeywords"),
                                    "a language-tagged value may have only keyword members",
                                );
                                return None;
                            }
                            if version == DtdlVersion::V2
                                && object.keys().any(|k| matches!(k.as_str(), "@id" | "@context" | "@graph"))
                            {
                                self.error(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementNoIdContextGraph"),
                                    "a language-tagged value may not have \"@id\", \"@context\" or \"@graph\"",
                                );
                                return None;
                            }
                            let Some(v) = object.get("@value") else {
                                self.error(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementHasValue"),
                                    "a language-tagged value must have \"@value\"",
                                );
                                return None;
                            };
                            let Value::String(text) = v else {
                                self.error(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementValueString"),
                                    "\"@value\" must be a string",
                                );
                                return None;
                            };
                            if !check_len(self, text) {
                                return None;
                            }
                            let lang = match object.get("@language") {
                                Some(Value::String(l)) if language_tag(l) => l.clone(),
                                Some(_) => {
                                    self.error(
                                        document,
                                        pointer,
                                        "DTDL0407",
                                        Some("LocalizableStringArrayElementLanguageValueRegex"),
                                        "\"@language\" must be a language code",
                                    );
                                    return None;
                                }
                                None => {
                                    self.warning(
                                        document,
                                        pointer,
                                        "DTDL0407",
                                        Some("LocalizableStringArrayElementHasLanguage"),
                                        "a language-tagged value should have \"@language\"",
                                    );
                                    "en".to_owned()
                                }
                            };
                            if object.keys().any(|k| !matches!(k.as_str(), "@value" | "@language")) {
                                if version == DtdlVersion::V3 {
                                    self.error(
                                        document,
                                        pointer,
                                        "DTDL0407",
                                        Some("LocalizableStringArrayElementOnlyValueAndLanguage"),
                                        "a language-tagged value may have only \"@value\" and \"@language\"",
                                    );
                                    return None;
                                }
                                self.warning(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementOnlyValueAndLanguage"),
                                    "a language-tagged value should have only \"@value\" and \"@language\"",
                                );
                            }
                            if lang == "en" || !object.contains_key("@language") {
                                defaults += 1;
                            } else if out.contains_key(&lang) {
                                self.error(
                                    document,
                                    pointer,
                                    "DTDL0407",
                                    Some("LocalizableStringArrayElementLanguageValueUnique"),
                                    format!("language '{lang}' is given twice"),
                                );
                                return None;
                            }
                            out.insert(lang, text.clone());
                        }
                        _ => {
                            self.error(
                                document,
                                pointer,
                                "DTDL0407",
                                Some("LocalizableStringArrayElementStringOrObject"),
                                "each value of a localizable string must be a string or an object",
                            );
                            return None;
                        }
                    }
                }
                if defaults > 1 {
                    self.error(
                        document,
                        pointer,
                        "DTDL0407",
                        Some("LocalizableStringArrayOnlyOneDefault"),
                        "a localizable string may have only one default-language value",
                    );
                    return None;
                }
            }
            _ => {
                self.error(
                    document,
                    pointer,
                    "DTDL0407",
                    Some("LocalizableStringOrArrayOrObject"),
                    "a localizable string must be a string, an array or a language map",
                );
                return None;
            }
        }
        Some(out)
    }

    pub(crate) fn error(
        &mut self,
        document: usize,
        pointer: &str,
        code: &'static str,
        rule: Option<&str>,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            code,
            rule: rule.map(str::to_owned),
            severity: Severity::Error,
            document,
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn warning(
        &mut self,
        document: usize,
        pointer: &str,
        code: &'static str,
        rule: Option<&str>,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            code,
            rule: rule.map(str::to_owned),
            severity: Severity::Warning,
            document,
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }
}

#[derive(Clone, Copy)]
enum Literal {
    String,
    Integer,
    Boolean,
}

/// How a string that the active context does not define is classified by the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Apocrypha {
    InvalidDtmi,
    NotDtmiNorTerm,
    UndefinedTerm,
    IrrelevantDtmiOrTerm,
}

fn classify(text: &str, version: DtdlVersion) -> Apocrypha {
    if text.starts_with("dtmi:") {
        if Dtmi::parse(text).is_some() { Apocrypha::IrrelevantDtmiOrTerm } else { Apocrypha::InvalidDtmi }
    } else if text.contains(':') {
        Apocrypha::NotDtmiNorTerm
    } else if metamodel::is_reserved_term(text, version) {
        Apocrypha::IrrelevantDtmiOrTerm
    } else {
        Apocrypha::UndefinedTerm
    }
}

fn is_reserved_or_extension_term(key: &str, version: DtdlVersion, context: &Context) -> bool {
    if metamodel::is_reserved_term(key, version) {
        return true;
    }
    if let Some(vocabulary) = context.vocabulary()
        && vocabulary.terms().any(|t| t == key)
    {
        return true;
    }
    context
        .extensions
        .iter()
        .flat_map(|e| e.adjunct_types())
        .any(|a| a.term == key || a.members.iter().any(|(m, _, _)| *m == key))
}

fn is_unit_key(key: &str, version: DtdlVersion) -> bool {
    let vocabulary = match version {
        DtdlVersion::V2 => Vocabulary::V2Core,
        DtdlVersion::V3 => Vocabulary::QuantitativeTypesV1,
    };
    key == "unit" || key == vocabulary.unit_property_iri()
}

fn same_extension_member(a: &str, b: &str, version: DtdlVersion) -> bool {
    is_unit_key(a, version) && is_unit_key(b, version)
}

/// Whether a member is brought by a co-type of the element (a semantic type's `unit`, an adjunct type's members).
fn is_extension_member(
    key: &str,
    semantic_types: &[String],
    cotypes: &[String],
    context: &Context,
    version: DtdlVersion,
) -> bool {
    if is_unit_key(key, version) && !semantic_types.is_empty() {
        return true;
    }
    context
        .extensions
        .iter()
        .flat_map(|e| e.adjunct_types())
        .filter(|a| cotypes.iter().any(|c| c == a.term || c == a.iri))
        .any(|a| a.members.iter().any(|(m, _, _)| *m == key))
}

fn semantic_classes(version: DtdlVersion) -> &'static [Class] {
    match version {
        DtdlVersion::V2 => &[Class::Property, Class::Telemetry],
        DtdlVersion::V3 => &[
            Class::Property,
            Class::Telemetry,
            Class::CommandRequest,
            Class::CommandResponse,
            Class::Field,
            Class::MapValue,
        ],
    }
}

fn standard_primitive(text: &str, version: DtdlVersion) -> Option<Primitive> {
    if let Some(rest) = text.strip_prefix("dtmi:dtdl:instance:Schema:") {
        let (term, v) = rest.split_once(';')?;
        return if v == metamodel::version_suffix(version) { Primitive::from_term(term) } else { None };
    }
    Primitive::from_term(text)
}

fn standard_geospatial(text: &str, version: DtdlVersion) -> Option<Geospatial> {
    if let Some(rest) = text.strip_prefix("dtmi:standard:schema:geospatial:") {
        let (term, v) = rest.split_once(';')?;
        return if v == metamodel::version_suffix(version) { Geospatial::from_term(term) } else { None };
    }
    Geospatial::from_term(text)
}

fn representational_string(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) if items.len() == 1 => representational_string(&items[0]),
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("@value").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// `^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`
fn language_tag(text: &str) -> bool {
    let mut parts = text.split('-');
    let Some(lang) = parts.next() else { return false };
    if !(2..=4).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    let is_script = |s: &str| {
        s.len() == 4 && s.as_bytes()[0].is_ascii_uppercase() && s.bytes().skip(1).all(|b| b.is_ascii_lowercase())
    };
    let is_region = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
            || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
    };
    match rest.as_slice() {
        [] => true,
        [a] => is_script(a) || is_region(a),
        [a, b] => is_script(a) && is_region(b),
        _ => false,
    }
}

/// The conformance name of a rule about one member (`PropertyCommentTerm`).
fn member_rule(term: &str, suffix: &str) -> String {
    format!("Property{}{suffix}", capitalize(term))
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" }
}

fn class_list(classes: &[Class]) -> String {
    classes.iter().map(|c| c.term()).collect::<Vec<_>>().join(", ")
}

fn rule_name(family: &'static str, suffix: &'static str) -> &'static str {
    // Rule names are static strings; the families are few, so spell them out.
    match (family, suffix) {
        ("RepresentationalString", "OnlyKeywords") => "RepresentationalStringOnlyKeywords",
        ("RepresentationalString", "NoIdContextGraph") => "RepresentationalStringNoIdContextGraph",
        ("RepresentationalString", "HasValue") => "RepresentationalStringHasValue",
        ("RepresentationalString", "ValueType") => "RepresentationalStringValueString",
        ("RepresentationalString", "TypeValue") => "RepresentationalStringTypeString",
        ("RepresentationalString", "HasType") => "RepresentationalStringHasType",
        ("RepresentationalString", "OnlyValueAndType") => "RepresentationalStringOnlyValueAndType",
        ("RepresentationalInteger", "OnlyKeywords") => "RepresentationalIntegerOnlyKeywords",
        ("RepresentationalInteger", "NoIdContextGraph") => "RepresentationalIntegerNoIdContextGraph",
        ("RepresentationalInteger", "HasValue") => "RepresentationalIntegerHasValue",
        ("RepresentationalInteger", "ValueType") => "RepresentationalIntegerValueInteger",
        ("RepresentationalInteger", "TypeValue") => "RepresentationalIntegerTypeInteger",
        ("RepresentationalInteger", "HasType") => "RepresentationalIntegerHasType",
        ("RepresentationalInteger", "OnlyValueAndType") => "RepresentationalIntegerOnlyValueAndType",
        ("RepresentationalBoolean", "OnlyKeywords") => "RepresentationalBooleanOnlyKeywords",
        ("RepresentationalBoolean", "NoIdContextGraph") => "RepresentationalBooleanNoIdContextGraph",
        ("RepresentationalBoolean", "HasValue") => "RepresentationalBooleanHasValue",
        ("RepresentationalBoolean", "ValueType") => "RepresentationalBooleanValueBoolean",
        ("RepresentationalBoolean", "TypeValue") => "RepresentationalBooleanTypeBoolean",
        ("RepresentationalBoolean", "HasType") => "RepresentationalBooleanHasType",
        _ => "RepresentationalBooleanOnlyValueAndType",
    }
}

/// Escapes a member name for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
