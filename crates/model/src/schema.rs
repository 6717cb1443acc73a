//! Resolved schemas: the shape of a property, telemetry, command payload or field value once every reference is followed.
//!
//! These are plain trees (DTDL v2 and v3 forbid self-referential schemas) so instance validation and the graph can walk them without the model set at hand.

use crate::Dtmi;

/// A resolved schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Schema {
    Primitive(Primitive),
    Geospatial(Geospatial),
    Array(ArraySchema),
    Enum(EnumSchema),
    Map(MapSchema),
    Object(ObjectSchema),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    Boolean,
    Date,
    DateTime,
    Double,
    Duration,
    Float,
    /// A signed integer expressible in 4 bytes.
    Integer,
    /// A signed integer expressible in 8 bytes.
    Long,
    String,
    Time,
}

impl Primitive {
    pub const ALL: [Primitive; 10] = [
        Primitive::Boolean,
        Primitive::Date,
        Primitive::DateTime,
        Primitive::Double,
        Primitive::Duration,
        Primitive::Float,
        Primitive::Integer,
        Primitive::Long,
        Primitive::String,
        Primitive::Time,
    ];

    /// The DTDL term (`"dateTime"`).
    pub fn term(self) -> &'static str {
        match self {
            Primitive::Boolean => "boolean",
            Primitive::Date => "date",
            Primitive::DateTime => "dateTime",
            Primitive::Double => "double",
            Primitive::Duration => "duration",
            Primitive::Float => "float",
            Primitive::Integer => "integer",
            Primitive::Long => "long",
            Primitive::String => "string",
            Primitive::Time => "time",
        }
    }

    pub fn from_term(term: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.term() == term)
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Primitive::Double | Primitive::Float | Primitive::Integer | Primitive::Long)
    }
}

/// The GeoJSON standard schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Geospatial {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
}

impl Geospatial {
    pub const ALL: [Geospatial; 6] = [
        Geospatial::Point,
        Geospatial::MultiPoint,
        Geospatial::LineString,
        Geospatial::MultiLineString,
        Geospatial::Polygon,
        Geospatial::MultiPolygon,
    ];

    /// The DTDL term (`"lineString"`).
    pub fn term(self) -> &'static str {
        match self {
            Geospatial::Point => "point",
            Geospatial::MultiPoint => "multiPoint",
            Geospatial::LineString => "lineString",
            Geospatial::MultiLineString => "multiLineString",
            Geospatial::Polygon => "polygon",
            Geospatial::MultiPolygon => "multiPolygon",
        }
    }

    pub fn from_term(term: &str) -> Option<Geospatial> {
        Geospatial::ALL.into_iter().find(|g| g.term() == term)
    }

    /// The GeoJSON `type` member value (`"LineString"`).
    pub fn geojson_type(self) -> &'static str {
        match self {
            Geospatial::Point => "Point",
            Geospatial::MultiPoint => "MultiPoint",
            Geospatial::LineString => "LineString",
            Geospatial::MultiLineString => "MultiLineString",
            Geospatial::Polygon => "Polygon",
            Geospatial::MultiPolygon => "MultiPolygon",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArraySchema {
    pub id: Dtmi,
    pub element: Box<Schema>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumSchema {
    pub id: Dtmi,
    /// `Integer` or `String`.
    pub value_schema: Primitive,
    pub values: Vec<EnumValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumValue {
    pub name: String,
    pub value: EnumLiteral,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumLiteral {
    Integer(i64),
    String(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct MapSchema {
    pub id: Dtmi,
    pub key_name: String,
    pub value_name: String,
    pub value: Box<Schema>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectSchema {
    pub id: Dtmi,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
}
