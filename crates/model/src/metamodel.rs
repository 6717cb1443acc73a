//! The language tables: for each DTDL version, the element classes, the members each class may have, and the constraints on each member's value.
//!
//! These are facts of the DTDL v2 and v3 metamodels written as Rust data; the parser interprets them generically, so a rule lives here once rather than in a branch per class.
//! Extension vocabularies (semantic types and units, historization, annotation, overriding, MQTT) live in `semantic` and in `Extension` below.

use crate::DtdlVersion;

/// A concrete (material, non-abstract) DTDL element class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Class {
    Interface,
    Telemetry,
    Property,
    Command,
    /// DTDL v2 only: the class of a Command's request and response.
    CommandPayload,
    /// DTDL v3 only.
    CommandRequest,
    /// DTDL v3 only.
    CommandResponse,
    Relationship,
    Component,
    Array,
    Enum,
    EnumValue,
    Map,
    MapKey,
    MapValue,
    Object,
    Field,
}

pub(crate) const CONTENT_CLASSES: &[Class] =
    &[Class::Command, Class::Component, Class::Property, Class::Relationship, Class::Telemetry];
pub(crate) const COMPLEX_SCHEMA_CLASSES: &[Class] = &[Class::Array, Class::Enum, Class::Map, Class::Object];

const ALL_CLASSES: &[Class] = &[
    Class::Interface,
    Class::Telemetry,
    Class::Property,
    Class::Command,
    Class::CommandPayload,
    Class::CommandRequest,
    Class::CommandResponse,
    Class::Relationship,
    Class::Component,
    Class::Array,
    Class::Enum,
    Class::EnumValue,
    Class::Map,
    Class::MapKey,
    Class::MapValue,
    Class::Object,
    Class::Field,
];

impl Class {
    pub(crate) fn term(self) -> &'static str {
        match self {
            Class::Interface => "Interface",
            Class::Telemetry => "Telemetry",
            Class::Property => "Property",
            Class::Command => "Command",
            Class::CommandPayload => "CommandPayload",
            Class::CommandRequest => "CommandRequest",
            Class::CommandResponse => "CommandResponse",
            Class::Relationship => "Relationship",
            Class::Component => "Component",
            Class::Array => "Array",
            Class::Enum => "Enum",
            Class::EnumValue => "EnumValue",
            Class::Map => "Map",
            Class::MapKey => "MapKey",
            Class::MapValue => "MapValue",
            Class::Object => "Object",
            Class::Field => "Field",
        }
    }

    /// Whether this class exists in the given version.
    pub(crate) fn in_version(self, version: DtdlVersion) -> bool {
        match self {
            Class::CommandPayload => version == DtdlVersion::V2,
            Class::CommandRequest | Class::CommandResponse => version == DtdlVersion::V3,
            _ => true,
        }
    }

    /// The material class named by a `@type` string, as a term (`"Property"`) or as its DTMI (`"dtmi:dtdl:class:Property;3"`).
    /// The second value tells whether the DTMI form was used.
    pub(crate) fn from_type_string(text: &str, version: DtdlVersion) -> Option<(Class, bool)> {
        if let Some(rest) = text.strip_prefix("dtmi:dtdl:class:") {
            let (term, v) = rest.split_once(';')?;
            if v != version_suffix(version) {
                return None;
            }
            let class = ALL_CLASSES.iter().copied().find(|c| c.term() == term && c.in_version(version))?;
            return Some((class, true));
        }
        ALL_CLASSES.iter().copied().find(|c| c.term() == text && c.in_version(version)).map(|c| (c, false))
    }

    pub(crate) fn is_complex_schema(self) -> bool {
        COMPLEX_SCHEMA_CLASSES.contains(&self)
    }

    /// Classes that have a `name` member.
    pub(crate) fn is_named(self) -> bool {
        !matches!(self, Class::Interface | Class::Array | Class::Enum | Class::Map | Class::Object)
    }
}

pub(crate) fn version_suffix(version: DtdlVersion) -> &'static str {
    match version {
        DtdlVersion::V2 => "2",
        DtdlVersion::V3 => "3",
    }
}

/// The kind of value a member takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A representational string, optionally constrained by a pattern check.
    String {
        max_len: usize,
        pattern: Option<Pattern>,
    },
    /// A representational integer within bounds.
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    /// An EnumValue's `enumValue`: an integer or a string, checked against the Enum's `valueSchema` later.
    EnumLiteral,
    /// A localizable string.
    LangString {
        max_len: usize,
    },
    /// DTDL elements or dependent references to them, of the given classes; `standard` also admits the primitive and geospatial schema terms.
    Elements {
        classes: &'static [Class],
        standard: bool,
        inferable: Option<Class>,
        id_required: bool,
    },
    /// One of a fixed set of instance terms (`integer`, `string`, `synchronous`).
    Instance {
        terms: &'static [&'static str],
        prefix: &'static str,
    },
    /// A DTMI that is a non-dependent reference (a relationship's `target`).
    Target,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$`
    Name,
}

impl Pattern {
    pub(crate) fn matches(self, text: &str) -> bool {
        match self {
            Pattern::Name => {
                let b = text.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphabetic()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    && b[b.len() - 1] != b'_'
            }
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Pattern::Name => {
                "contain only letters, digits and underscores, start with a letter and end with a letter or digit"
            }
        }
    }
}

/// A member a class may have.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) term: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    /// The most values the member may include; `None` is unbounded.
    pub(crate) max_count: Option<usize>,
    pub(crate) min_count: usize,
    /// For plural element members, the assigned id of a nested element uses its name (`:_contents:__name`).
    pub(crate) name_segment: bool,
    /// Whether DTDL marks this member deprecated (a warning when used).
    pub(crate) deprecated: bool,
}

const fn member(term: &'static str, kind: Kind) -> Member {
    Member { term, kind, required: false, max_count: Some(1), min_count: 0, name_segment: false, deprecated: false }
}

const fn required(term: &'static str, kind: Kind) -> Member {
    Member { term, kind, required: true, max_count: Some(1), min_count: 1, name_segment: false, deprecated: false }
}

const fn plural(term: &'static str, kind: Kind, min_count: usize, max_count: Option<usize>) -> Member {
    Member { term, kind, required: false, max_count, min_count, name_segment: true, deprecated: false }
}

const SCHEMA_CLASSES: &[Class] = COMPLEX_SCHEMA_CLASSES;

fn schema_kind() -> Kind {
    Kind::Elements { classes: SCHEMA_CLASSES, standard: true, inferable: None, id_required: false }
}

/// The members of a class in a version, in the order the specification lists them.
pub(crate) fn members(class: Class, version: DtdlVersion) -> Vec<Member> {
    let v2 = version == DtdlVersion::V2;
    let display_max = if v2 { 64 } else { 512 };
    let name_max = if v2 { 64 } else { 512 };
    let mut out = vec![
        member("comment", Kind::String { max_len: 512, pattern: None }),
        member("description", Kind::LangString { max_len: 512 }),
        member("displayName", Kind::LangString { max_len: display_max }),
    ];
    // Localizable strings may carry one value per language.
    out[1].max_count = None;
    out[2].max_count = None;
    if class.is_named() {
        out.push(required("name", Kind::String { max_len: name_max, pattern: Some(Pattern::Name) }));
    }
    match class {
        Class::Interface => {
            out.push(plural(
                "contents",
                Kind::Elements { classes: CONTENT_CLASSES, standard: false, inferable: None, id_required: false },
                0,
                if v2 { Some(300) } else { None },
            ));
            let mut extends = plural(
                "extends",
                Kind::Elements { classes: &[Class::Interface], standard: false, inferable: None, id_required: true },
                0,
                if v2 { Some(2) } else { None },
            );
            extends.name_segment = false;
            out.push(extends);
            let mut schemas = plural(
                "schemas",
                Kind::Elements { classes: SCHEMA_CLASSES, standard: false, inferable: None, id_required: true },
                0,
                None,
            );
            schemas.name_segment = false;
            out.push(schemas);
        }
        Class::Telemetry | Class::Property | Class::CommandPayload | Class::CommandRequest | Class::CommandResponse => {
            out.push(required("schema", schema_kind()));
            if class == Class::Property {
                out.push(member("writable", Kind::Boolean));
            }
        }
        Class::Field | Class::MapValue => out.push(required("schema", schema_kind())),
        Class::Command => {
            let (req, resp) = if v2 {
                (Class::CommandPayload, Class::CommandPayload)
            } else {
                (Class::CommandRequest, Class::CommandResponse)
            };
            out.push(member(
                "request",
                Kind::Elements { classes: class_slice(req), standard: false, inferable: Some(req), id_required: false },
            ));
            out.push(member(
                "response",
                Kind::Elements {
                    classes: class_slice(resp),
                    standard: false,
                    inferable: Some(resp),
                    id_required: false,
                },
            ));
            let mut command_type = member(
                "commandType",
                Kind::Instance { terms: &["asynchronous", "synchronous"], prefix: "dtmi:dtdl:instance:CommandType:" },
            );
            command_type.deprecated = true;
            out.push(command_type);
        }
        Class::Relationship => {
            out.push(member("maxMultiplicity", Kind::Integer { min: Some(1), max: if v2 { Some(500) } else { None } }));
            out.push(member("minMultiplicity", Kind::Integer { min: Some(0), max: Some(0) }));
            out.push(member("target", Kind::Target));
            out.push(plural(
                "properties",
                Kind::Elements { classes: &[Class::Property], standard: false, inferable: None, id_required: false },
                0,
                if v2 { Some(300) } else { None },
            ));
            out.push(member("writable", Kind::Boolean));
        }
        Class::Component => out.push(required(
            "schema",
            Kind::Elements { classes: &[Class::Interface], standard: false, inferable: None, id_required: true },
        )),
        Class::Array => out.push(required("elementSchema", schema_kind())),
        Class::Enum => {
            out.push(required(
                "valueSchema",
                Kind::Instance { terms: &["integer", "string"], prefix: "dtmi:dtdl:instance:Schema:" },
            ));
            let mut values = plural(
                "enumValues",
                Kind::Elements {
                    classes: &[Class::EnumValue],
                    standard: false,
                    inferable: Some(Class::EnumValue),
                    id_required: false,
                },
                if v2 { 1 } else { 0 },
                if v2 { Some(100) } else { None },
            );
            values.required = v2;
            out.push(values);
        }
        Class::EnumValue => out.push(required("enumValue", Kind::EnumLiteral)),
        Class::Map => {
            out.push(required(
                "mapKey",
                Kind::Elements {
                    classes: &[Class::MapKey],
                    standard: false,
                    inferable: Some(Class::MapKey),
                    id_required: false,
                },
            ));
            out.push(required(
                "mapValue",
                Kind::Elements {
                    classes: &[Class::MapValue],
                    standard: false,
                    inferable: Some(Class::MapValue),
                    id_required: false,
                },
            ));
        }
        Class::MapKey => {
            out.push(required("schema", Kind::Instance { terms: &["string"], prefix: "dtmi:dtdl:instance:Schema:" }))
        }
        Class::Object => {
            let mut fields = plural(
                "fields",
                Kind::Elements {
                    classes: &[Class::Field],
                    standard: false,
                    inferable: Some(Class::Field),
                    id_required: false,
                },
                if v2 { 1 } else { 0 },
                if v2 { Some(30) } else { None },
            );
            fields.required = v2;
            out.push(fields);
        }
    }
    out
}

fn class_slice(class: Class) -> &'static [Class] {
    match class {
        Class::CommandPayload => &[Class::CommandPayload],
        Class::CommandRequest => &[Class::CommandRequest],
        Class::CommandResponse => &[Class::CommandResponse],
        _ => &[],
    }
}

/// Whether an element of DTDL version `child` may appear in member `member` of an element of version `parent`: the same version always, and DTDL v3 members that take contents, interfaces or schemas also accept DTDL v2 elements.
pub(crate) fn version_accepted(parent: DtdlVersion, member: &str, child: DtdlVersion) -> bool {
    child == parent
        || (parent == DtdlVersion::V3
            && child == DtdlVersion::V2
            && matches!(member, "contents" | "extends" | "schema" | "elementSchema" | "properties"))
}

/// The DTMI form of a member name (`dtmi:dtdl:property:schema;3`).
pub(crate) fn property_dtmi(term: &str, version: DtdlVersion) -> String {
    format!("dtmi:dtdl:property:{term};{}", version_suffix(version))
}

/// Terms of the core language: every class, property and instance term of a version (the "Reserved strings" table).
pub(crate) fn is_reserved_term(term: &str, version: DtdlVersion) -> bool {
    const COMMON: &[&str] = &[
        "AdjunctType",
        "Alias",
        "aliasFor",
        "Array",
        "asynchronous",
        "boolean",
        "Boolean",
        "Command",
        "CommandPayload",
        "commandType",
        "CommandType",
        "comment",
        "ComplexSchema",
        "Component",
        "Content",
        "contents",
        "date",
        "Date",
        "dateTime",
        "DateTime",
        "description",
        "displayName",
        "double",
        "Double",
        "DtdlExtension",
        "duration",
        "Duration",
        "elementSchema",
        "Entity",
        "Enum",
        "enumValue",
        "EnumValue",
        "enumValues",
        "exponent",
        "extends",
        "Field",
        "fields",
        "float",
        "Float",
        "integer",
        "Integer",
        "Interface",
        "languageMajorVersion",
        "LatentType",
        "lineString",
        "long",
        "Long",
        "Map",
        "mapKey",
        "MapKey",
        "mapValue",
        "MapValue",
        "maxMultiplicity",
        "metamodel",
        "minMultiplicity",
        "model",
        "multiLineString",
        "multiPoint",
        "multiPolygon",
        "name",
        "NamedEntity",
        "NamedLatentType",
        "NumericSchema",
        "Object",
        "point",
        "polygon",
        "PrimitiveSchema",
        "properties",
        "Property",
        "Relationship",
        "request",
        "response",
        "schema",
        "Schema",
        "SchemaField",
        "schemas",
        "SemanticType",
        "SemanticUnit",
        "string",
        "String",
        "symbol",
        "synchronous",
        "target",
        "Telemetry",
        "TemporalSchema",
        "time",
        "Time",
        "Unit",
        "UnitAttribute",
        "valueSchema",
        "writable",
    ];
    if COMMON.contains(&term) {
        return true;
    }
    match version {
        DtdlVersion::V3 => matches!(term, "CommandRequest" | "CommandResponse"),
        DtdlVersion::V2 => matches!(term, "unit" | "QuantitativeType"),
    }
}

/// A feature extension this engine defines, named by its context DTMI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Extension {
    QuantitativeTypes,
    Historization,
    Annotation,
    Overriding,
    Mqtt,
    /// The IoT Central partner extension of DTDL v2 (`dtmi:iotcentral:context;2`).
    IotCentral,
}

impl Extension {
    /// The extension defined by a context DTMI, for the DTDL version of the element that names it.
    pub(crate) fn from_context(context: &str, version: DtdlVersion) -> Option<Extension> {
        match (context, version) {
            ("dtmi:dtdl:extension:quantitativeTypes;1", DtdlVersion::V3) => Some(Extension::QuantitativeTypes),
            ("dtmi:dtdl:extension:historization;1", DtdlVersion::V3) => Some(Extension::Historization),
            ("dtmi:dtdl:extension:annotation;1", DtdlVersion::V3) => Some(Extension::Annotation),
            ("dtmi:dtdl:extension:overriding;1", DtdlVersion::V3) => Some(Extension::Overriding),
            ("dtmi:dtdl:extension:mqtt;1", DtdlVersion::V3) => Some(Extension::Mqtt),
            ("dtmi:iotcentral:context;2", DtdlVersion::V2) => Some(Extension::IotCentral),
            _ => None,
        }
    }

    /// Adjunct types of this extension (other than semantic types) with the classes they may co-type and the members they bring.
    pub(crate) fn adjunct_types(self) -> &'static [AdjunctType] {
        const STR: Kind = Kind::String { max_len: usize::MAX, pattern: None };
        match self {
            Extension::QuantitativeTypes | Extension::IotCentral => &[],
            Extension::Historization => &[AdjunctType {
                term: "Historized",
                iri: "dtmi:dtdl:extension:historization:v1:Historized",
                classes: &[Class::Property, Class::Telemetry],
                members: &[],
            }],
            Extension::Annotation => &[AdjunctType {
                term: "ValueAnnotation",
                iri: "dtmi:dtdl:extension:annotation:v1:ValueAnnotation",
                classes: &[Class::Property, Class::Telemetry],
                members: &[("annotates", STR, true)],
            }],
            Extension::Overriding => &[AdjunctType {
                term: "Override",
                iri: "dtmi:dtdl:extension:overriding:v1:Override",
                classes: &[Class::Property],
                members: &[("overrides", STR, true)],
            }],
            Extension::Mqtt => &[
                AdjunctType {
                    term: "Mqtt",
                    iri: "dtmi:dtdl:extension:mqtt:v1:Mqtt",
                    classes: &[Class::Interface],
                    members: &[
                        ("telemetryTopic", STR, false),
                        ("commandTopic", STR, false),
                        ("payloadFormat", STR, true),
                    ],
                },
                AdjunctType {
                    term: "Idempotent",
                    iri: "dtmi:dtdl:extension:mqtt:v1:Idempotent",
                    classes: &[Class::Command],
                    members: &[],
                },
                AdjunctType {
                    term: "Cacheable",
                    iri: "dtmi:dtdl:extension:mqtt:v1:Cacheable",
                    classes: &[Class::Command],
                    members: &[("ttl", STR, true)],
                },
                AdjunctType {
                    term: "Indexed",
                    iri: "dtmi:dtdl:extension:mqtt:v1:Indexed",
                    classes: &[Class::Telemetry, Class::Field, Class::EnumValue],
                    members: &[("index", Kind::Integer { min: Some(1), max: None }, true)],
                },
            ],
        }
    }
}

/// A non-semantic adjunct type of an extension.
#[derive(Debug)]
pub(crate) struct AdjunctType {
    pub(crate) term: &'static str,
    pub(crate) iri: &'static str,
    pub(crate) classes: &'static [Class],
    /// Members the type brings: name, kind, required.
    pub(crate) members: &'static [(&'static str, Kind, bool)],
}
