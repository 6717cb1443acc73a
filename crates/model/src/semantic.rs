//! Semantic types and units: the DTDL v2 core set and the v3 QuantitativeTypes extension, with which units each semantic type accepts.
//!
//! The tables are facts of the language, written out from the v2 specification's "Semantic types" table and the QuantitativeTypes v1 extension (its chart, context and metamodel), and looked up by term or by IRI.
//! This module decides nothing about a document: the parser decides where a semantic type appears, applies the rules stated on the public items here, and reports the diagnostics.

use crate::DtdlVersion;

/// The context specifier that brings the QuantitativeTypes v1 extension into scope in a DTDL v3 model (QuantitativeTypes v1, "QuantitativeTypes context").
pub const QUANTITATIVE_TYPES_V1_CONTEXT: &str = "dtmi:dtdl:extension:quantitativeTypes;1";

/// The element classes whose `@type` may include a v2 semantic type (DTDL v2 specification, sections "Property" and "Telemetry": `@type` MAY include a string from the "Semantic types" table).
///
/// An element so co-typed must, per the same sections:
/// - include strings from one row of the table only, though the term and the DTMI of one row count as one semantic type (`Requirement-ClassPropertyMultipleSemanticTypesV2`, `Requirement-ClassTelemetryMultipleSemanticTypesV2`);
/// - have a numeric `schema`, see [`Vocabulary::is_numeric_schema`] (`Requirement-Class{Property,Telemetry}CotypeRequiresPropertySchemaValueV2`);
/// - have a `unit` member whose value is a string or an array of exactly one string (`Requirement-Class{Property,Telemetry}CotypePropertyPresentV2`), written as `unit` or as [`Vocabulary::unit_property_iri`] but not both (`Requirement-Class{Property,Telemetry}CotypePropertyTermAndDtmiV2`);
/// - name a unit of the table, by term or DTMI (`Requirement-Class{Property,Telemetry}CotypePropertyValueFromTableV2`), that is in the same row as the semantic type, see [`Vocabulary::accepts`] (`Requirement-Class{Property,Telemetry}CotypePropertyValueMatchesCotypeV2`).
///
/// Relationship is not in the list: the v2 metamodel's `SemanticType` shape names it, but the specification lets a Relationship's `@type` hold no reserved string other than its own class, and every semantic type is a reserved string.
pub const V2_COTYPE_CLASSES: &[&str] = &["Property", "Telemetry"];

/// The element classes that a QuantitativeTypes v1 semantic type may co-type (QuantitativeTypes v1, "Semantic types and units"; its metamodel says Property, Telemetry and SchemaField, whose concrete classes in DTDL v3 are these four others).
///
/// An element so co-typed must, per the same section and the metamodel's `QuantitativeType` shape:
/// - have exactly one `unit`, an instance of the semantic type's unit type, see [`Vocabulary::accepts`];
/// - have a numeric `schema`, see [`Vocabulary::is_numeric_schema`].
///
/// The extension states no rule against several semantic types on one element; each one then constrains the single `unit`.
/// No case in the v3 conformance suite co-types an element with these semantic types.
pub const QUANTITATIVE_COTYPE_CLASSES: &[&str] =
    &["CommandRequest", "CommandResponse", "Field", "MapValue", "Property", "Telemetry"];

/// Which vocabulary: the v2 core language, or the v3 QuantitativeTypes extension (version 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vocabulary {
    V2Core,
    QuantitativeTypesV1,
}

/// A semantic type: a class that co-types a numeric element and says which unit type its `unit` comes from.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SemanticType {
    pub term: &'static str,
    pub iri: &'static str,
    /// The term of the unit type whose units this semantic type accepts; several semantic types may share one (`Humidity` and `Density` both take `DensityUnit`).
    pub unit_type: &'static str,
}

/// A unit, such as `degreeCelsius`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Unit {
    pub term: &'static str,
    pub iri: &'static str,
    /// The term of the one unit type this unit belongs to; in both vocabularies every unit belongs to exactly one.
    pub unit_type: &'static str,
}

impl Vocabulary {
    /// The DTDL version whose models can use this vocabulary.
    pub fn dtdl_version(self) -> DtdlVersion {
        match self {
            Vocabulary::V2Core => DtdlVersion::V2,
            Vocabulary::QuantitativeTypesV1 => DtdlVersion::V3,
        }
    }

    /// The context specifier that brings this vocabulary into scope: the v2 core context itself, or the extension's.
    pub fn context(self) -> &'static str {
        match self {
            Vocabulary::V2Core => "dtmi:dtdl:context;2",
            Vocabulary::QuantitativeTypesV1 => QUANTITATIVE_TYPES_V1_CONTEXT,
        }
    }

    /// The element classes this vocabulary's semantic types may co-type; the rules that come with them are on [`V2_COTYPE_CLASSES`] and [`QUANTITATIVE_COTYPE_CLASSES`].
    pub fn cotype_classes(self) -> &'static [&'static str] {
        match self {
            Vocabulary::V2Core => V2_COTYPE_CLASSES,
            Vocabulary::QuantitativeTypesV1 => QUANTITATIVE_COTYPE_CLASSES,
        }
    }

    /// The IRI that a model may write instead of the member name `unit` (`Allowance-ClassPropertyCotypePropertyDtmiV2` in v2).
    pub fn unit_property_iri(self) -> &'static str {
        match self {
            Vocabulary::V2Core => "dtmi:dtdl:property:unit;2",
            Vocabulary::QuantitativeTypesV1 => "dtmi:dtdl:extension:quantitativeTypes:v1:property:unit",
        }
    }

    /// True when `term_or_iri` names a numeric schema (`double`, `float`, `integer` or `long`, or the DTMI of one in this vocabulary's DTDL version), the only schemas an element co-typed with a semantic type may have.
    pub fn is_numeric_schema(self, term_or_iri: &str) -> bool {
        let schemas = match self {
            Vocabulary::V2Core => &NUMERIC_SCHEMAS_V2,
            Vocabulary::QuantitativeTypesV1 => &NUMERIC_SCHEMAS_V3,
        };
        schemas.iter().any(|&(term, iri)| term_or_iri == term || term_or_iri == iri)
    }

    /// The semantic type with this term (`Temperature`) or IRI, if this vocabulary defines one.
    pub fn semantic_type(self, term_or_iri: &str) -> Option<&'static SemanticType> {
        lookup(self.tables().semantic_types, term_or_iri)
    }

    /// The unit with this term (`degreeCelsius`) or IRI, if this vocabulary defines one.
    pub fn unit(self, term_or_iri: &str) -> Option<&'static Unit> {
        lookup(self.tables().units, term_or_iri)
    }

    /// True when this vocabulary defines a unit type (`TemperatureUnit`) with this term or IRI.
    pub fn is_unit_type(self, term_or_iri: &str) -> bool {
        lookup(self.tables().unit_types, term_or_iri).is_some()
    }

    /// True when `unit` belongs to the unit type of `semantic_type`, both taken from this vocabulary.
    /// In v2 this is the spec's "same row of the Semantic types table" rule: the table pairs semantic types with units directly, and two semantic types there share either all their units or none.
    pub fn accepts(self, semantic_type: &SemanticType, unit: &Unit) -> bool {
        // The same term has different IRIs in the two vocabularies, so a pair from the other one is not accepted here.
        let ours = self.semantic_type(semantic_type.iri) == Some(semantic_type) && self.unit(unit.iri) == Some(unit);
        ours && semantic_type.unit_type == unit.unit_type
    }

    /// Every term the vocabulary defines: semantic types, unit types, units, then its other classes, properties and unit prefixes.
    /// For QuantitativeTypes v1 this is every term of the extension's context.
    /// For the v2 core it is the part of the core context about semantic types and units; the rest of the core context belongs to the metamodel.
    pub fn terms(self) -> impl Iterator<Item = &'static str> {
        let tables = self.tables();
        let semantic_types = tables.semantic_types.iter().map(|s| s.term);
        let unit_types = tables.unit_types.iter().map(|t| t.term);
        let units = tables.units.iter().map(|u| u.term);
        semantic_types.chain(unit_types).chain(units).chain(tables.other_terms.iter().copied())
    }

    /// Every semantic type of this vocabulary, sorted by term.
    pub fn semantic_types(self) -> &'static [SemanticType] {
        self.tables().semantic_types
    }

    fn tables(self) -> &'static Tables {
        match self {
            Vocabulary::V2Core => &V2_TABLES,
            Vocabulary::QuantitativeTypesV1 => &QT_TABLES,
        }
    }
}

const NUMERIC_SCHEMAS_V2: [(&str, &str); 4] = [
    ("double", "dtmi:dtdl:instance:Schema:double;2"),
    ("float", "dtmi:dtdl:instance:Schema:float;2"),
    ("integer", "dtmi:dtdl:instance:Schema:integer;2"),
    ("long", "dtmi:dtdl:instance:Schema:long;2"),
];

const NUMERIC_SCHEMAS_V3: [(&str, &str); 4] = [
    ("double", "dtmi:dtdl:instance:Schema:double;3"),
    ("float", "dtmi:dtdl:instance:Schema:float;3"),
    ("integer", "dtmi:dtdl:instance:Schema:integer;3"),
    ("long", "dtmi:dtdl:instance:Schema:long;3"),
];

/// A unit type: the class (v2) or enumeration (QuantitativeTypes v1) whose members are units.
#[derive(Debug)]
struct UnitType {
    term: &'static str,
    iri: &'static str,
}

/// One vocabulary's tables; each table of entries is sorted by term, so a term is found by binary search.
struct Tables {
    semantic_types: &'static [SemanticType],
    unit_types: &'static [UnitType],
    units: &'static [Unit],
    /// Terms of the vocabulary's context that are neither semantic types, unit types nor units.
    other_terms: &'static [&'static str],
}

trait Entry {
    fn term(&self) -> &'static str;
    fn iri(&self) -> &'static str;
}

impl Entry for SemanticType {
    fn term(&self) -> &'static str {
        self.term
    }
    fn iri(&self) -> &'static str {
        self.iri
    }
}

impl Entry for Unit {
    fn term(&self) -> &'static str {
        self.term
    }
    fn iri(&self) -> &'static str {
        self.iri
    }
}

impl Entry for UnitType {
    fn term(&self) -> &'static str {
        self.term
    }
    fn iri(&self) -> &'static str {
        self.iri
    }
}

/// Finds an entry by term or by IRI; terms never contain a colon and IRIs always do.
fn lookup<T: Entry>(table: &'static [T], term_or_iri: &str) -> Option<&'static T> {
    if term_or_iri.contains(':') {
        table.iter().find(|entry| entry.iri() == term_or_iri)
    } else {
        table.binary_search_by(|entry| entry.term().cmp(term_or_iri)).ok().and_then(|i| table.get(i))
    }
}

// Every IRI is its vocabulary's namespace, the term, and (in v2) the version suffix; the macros spell it so the tables cannot disagree with it.
macro_rules! semantic_type {
    (v2 $term:literal, $unit_type:literal) => {
        SemanticType { term: $term, iri: concat!("dtmi:standard:class:", $term, ";2"), unit_type: $unit_type }
    };
    (qt $term:literal, $unit_type:literal) => {
        SemanticType {
            term: $term,
            iri: concat!("dtmi:dtdl:extension:quantitativeTypes:v1:class:", $term),
            unit_type: $unit_type,
        }
    };
}

macro_rules! unit_type {
    (v2 $term:literal) => {
        UnitType { term: $term, iri: concat!("dtmi:standard:class:", $term, ";2") }
    };
    (qt $term:literal) => {
        UnitType { term: $term, iri: concat!("dtmi:dtdl:extension:quantitativeTypes:v1:enum:", $term) }
    };
}

macro_rules! unit {
    (v2 $term:literal, $unit_type:literal) => {
        Unit { term: $term, iri: concat!("dtmi:standard:unit:", $term, ";2"), unit_type: $unit_type }
    };
    (qt $term:literal, $unit_type:literal) => {
        Unit {
            term: $term,
            iri: concat!("dtmi:dtdl:extension:quantitativeTypes:v1:unit:", $term),
            unit_type: $unit_type,
        }
    };
}

static V2_TABLES: Tables = Tables {
    semantic_types: V2_SEMANTIC_TYPES,
    unit_types: V2_UNIT_TYPES,
    units: V2_UNITS,
    other_terms: V2_OTHER_TERMS,
};

static QT_TABLES: Tables = Tables {
    semantic_types: QT_SEMANTIC_TYPES,
    unit_types: QT_UNIT_TYPES,
    units: QT_UNITS,
    other_terms: QT_OTHER_TERMS,
};

// DTDL v2, "Semantic types" table, with IRIs as in the v2 context.
// That table pairs each semantic type with its units directly and names no unit type; the v2 context defines the unit-type classes without listing their units.
// Each semantic type here takes the unit type that QuantitativeTypes v1 gives the semantic type of the same name.
// In the v2 table, semantic types that share a unit type have exactly the same units, so `accepts` agrees with the table row for row.
const V2_SEMANTIC_TYPES: &[SemanticType] = &[
    semantic_type!(v2 "Acceleration", "AccelerationUnit"),
    semantic_type!(v2 "Angle", "AngleUnit"),
    semantic_type!(v2 "AngularAcceleration", "AngularAccelerationUnit"),
    semantic_type!(v2 "AngularVelocity", "AngularVelocityUnit"),
    semantic_type!(v2 "Area", "AreaUnit"),
    semantic_type!(v2 "Capacitance", "CapacitanceUnit"),
    semantic_type!(v2 "Current", "CurrentUnit"),
    semantic_type!(v2 "DataRate", "DataRateUnit"),
    semantic_type!(v2 "DataSize", "DataSizeUnit"),
    semantic_type!(v2 "Density", "DensityUnit"),
    semantic_type!(v2 "Distance", "LengthUnit"),
    semantic_type!(v2 "ElectricCharge", "ChargeUnit"),
    semantic_type!(v2 "Energy", "EnergyUnit"),
    semantic_type!(v2 "Force", "ForceUnit"),
    semantic_type!(v2 "Frequency", "FrequencyUnit"),
    semantic_type!(v2 "Humidity", "DensityUnit"),
    semantic_type!(v2 "Illuminance", "IlluminanceUnit"),
    semantic_type!(v2 "Inductance", "InductanceUnit"),
    semantic_type!(v2 "Latitude", "AngleUnit"),
    semantic_type!(v2 "Length", "LengthUnit"),
    semantic_type!(v2 "Longitude", "AngleUnit"),
    semantic_type!(v2 "Luminance", "LuminanceUnit"),
    semantic_type!(v2 "Luminosity", "PowerUnit"),
    semantic_type!(v2 "LuminousFlux", "LuminousFluxUnit"),
    semantic_type!(v2 "LuminousIntensity", "LuminousIntensityUnit"),
    semantic_type!(v2 "MagneticFlux", "MagneticFluxUnit"),
    semantic_type!(v2 "MagneticInduction", "MagneticInductionUnit"),
    semantic_type!(v2 "Mass", "MassUnit"),
    semantic_type!(v2 "MassFlowRate", "MassFlowRateUnit"),
    semantic_type!(v2 "Power", "PowerUnit"),
    semantic_type!(v2 "Pressure", "PressureUnit"),
    semantic_type!(v2 "RelativeHumidity", "Unitless"),
    semantic_type!(v2 "Resistance", "ResistanceUnit"),
    semantic_type!(v2 "SoundPressure", "SoundPressureUnit"),
    semantic_type!(v2 "Temperature", "TemperatureUnit"),
    semantic_type!(v2 "Thrust", "ForceUnit"),
    semantic_type!(v2 "TimeSpan", "TimeUnit"),
    semantic_type!(v2 "Torque", "TorqueUnit"),
    semantic_type!(v2 "Velocity", "VelocityUnit"),
    semantic_type!(v2 "Voltage", "VoltageUnit"),
    semantic_type!(v2 "Volume", "VolumeUnit"),
    semantic_type!(v2 "VolumeFlowRate", "VolumeFlowRateUnit"),
];

// The unit-type classes of the v2 context that the table's units fall into.
const V2_UNIT_TYPES: &[UnitType] = &[
    unit_type!(v2 "AccelerationUnit"),
    unit_type!(v2 "AngleUnit"),
    unit_type!(v2 "AngularAccelerationUnit"),
    unit_type!(v2 "AngularVelocityUnit"),
    unit_type!(v2 "AreaUnit"),
    unit_type!(v2 "CapacitanceUnit"),
    unit_type!(v2 "ChargeUnit"),
    unit_type!(v2 "CurrentUnit"),
    unit_type!(v2 "DataRateUnit"),
    unit_type!(v2 "DataSizeUnit"),
    unit_type!(v2 "DensityUnit"),
    unit_type!(v2 "EnergyUnit"),
    unit_type!(v2 "ForceUnit"),
    unit_type!(v2 "FrequencyUnit"),
    unit_type!(v2 "IlluminanceUnit"),
    unit_type!(v2 "InductanceUnit"),
    unit_type!(v2 "LengthUnit"),
    unit_type!(v2 "LuminanceUnit"),
    unit_type!(v2 "LuminousFluxUnit"),
    unit_type!(v2 "LuminousIntensityUnit"),
    unit_type!(v2 "MagneticFluxUnit"),
    unit_type!(v2 "MagneticInductionUnit"),
    unit_type!(v2 "MassFlowRateUnit"),
    unit_type!(v2 "MassUnit"),
    unit_type!(v2 "PowerUnit"),
    unit_type!(v2 "PressureUnit"),
    unit_type!(v2 "ResistanceUnit"),
    unit_type!(v2 "SoundPressureUnit"),
    unit_type!(v2 "TemperatureUnit"),
    unit_type!(v2 "TimeUnit"),
    unit_type!(v2 "TorqueUnit"),
    unit_type!(v2 "Unitless"),
    unit_type!(v2 "VelocityUnit"),
    unit_type!(v2 "VoltageUnit"),
    unit_type!(v2 "VolumeFlowRateUnit"),
    unit_type!(v2 "VolumeUnit"),
];

// The 172 distinct units of the v2 table, each with the unit type of the semantic types it is listed with.
const V2_UNITS: &[Unit] = &[
    unit!(v2 "acre", "AreaUnit"),
    unit!(v2 "ampere", "CurrentUnit"),
    unit!(v2 "astronomicalUnit", "LengthUnit"),
    unit!(v2 "bar", "PressureUnit"),
    unit!(v2 "bel", "SoundPressureUnit"),
    unit!(v2 "bit", "DataSizeUnit"),
    unit!(v2 "bitPerSecond", "DataRateUnit"),
    unit!(v2 "byte", "DataSizeUnit"),
    unit!(v2 "bytePerSecond", "DataRateUnit"),
    unit!(v2 "candela", "LuminousIntensityUnit"),
    unit!(v2 "candelaPerSquareMetre", "LuminanceUnit"),
    unit!(v2 "centimetre", "LengthUnit"),
    unit!(v2 "centimetrePerSecond", "VelocityUnit"),
    unit!(v2 "centimetrePerSecondSquared", "AccelerationUnit"),
    unit!(v2 "coulomb", "ChargeUnit"),
    unit!(v2 "cubicCentimetre", "VolumeUnit"),
    unit!(v2 "cubicFoot", "VolumeUnit"),
    unit!(v2 "cubicInch", "VolumeUnit"),
    unit!(v2 "cubicMetre", "VolumeUnit"),
    unit!(v2 "day", "TimeUnit"),
    unit!(v2 "decibel", "SoundPressureUnit"),
    unit!(v2 "degreeCelsius", "TemperatureUnit"),
    unit!(v2 "degreeFahrenheit", "TemperatureUnit"),
    unit!(v2 "degreeOfArc", "AngleUnit"),
    unit!(v2 "degreePerSecond", "AngularVelocityUnit"),
    unit!(v2 "electronvolt", "EnergyUnit"),
    unit!(v2 "exbibit", "DataSizeUnit"),
    unit!(v2 "exbibitPerSecond", "DataRateUnit"),
    unit!(v2 "exbibyte", "DataSizeUnit"),
    unit!(v2 "exbibytePerSecond", "DataRateUnit"),
    unit!(v2 "farad", "CapacitanceUnit"),
    unit!(v2 "fluidOunce", "VolumeUnit"),
    unit!(v2 "foot", "LengthUnit"),
    unit!(v2 "footcandle", "IlluminanceUnit"),
    unit!(v2 "gForce", "AccelerationUnit"),
    unit!(v2 "gallon", "VolumeUnit"),
    unit!(v2 "gibibit", "DataSizeUnit"),
    unit!(v2 "gibibitPerSecond", "DataRateUnit"),
    unit!(v2 "gibibyte", "DataSizeUnit"),
    unit!(v2 "gibibytePerSecond", "DataRateUnit"),
    unit!(v2 "gigahertz", "FrequencyUnit"),
    unit!(v2 "gigajoule", "EnergyUnit"),
    unit!(v2 "gigawatt", "PowerUnit"),
    unit!(v2 "gram", "MassUnit"),
    unit!(v2 "gramPerCubicMetre", "DensityUnit"),
    unit!(v2 "gramPerHour", "MassFlowRateUnit"),
    unit!(v2 "gramPerSecond", "MassFlowRateUnit"),
    unit!(v2 "hectare", "AreaUnit"),
    unit!(v2 "henry", "InductanceUnit"),
    unit!(v2 "hertz", "FrequencyUnit"),
    unit!(v2 "horsepower", "PowerUnit"),
    unit!(v2 "hour", "TimeUnit"),
    unit!(v2 "inch", "LengthUnit"),
    unit!(v2 "inchesOfMercury", "PressureUnit"),
    unit!(v2 "inchesOfWater", "PressureUnit"),
    unit!(v2 "joule", "EnergyUnit"),
    unit!(v2 "kelvin", "TemperatureUnit"),
    unit!(v2 "kibibit", "DataSizeUnit"),
    unit!(v2 "kibibitPerSecond", "DataRateUnit"),
    unit!(v2 "kibibyte", "DataSizeUnit"),
    unit!(v2 "kibibytePerSecond", "DataRateUnit"),
    unit!(v2 "kilogram", "MassUnit"),
    unit!(v2 "kilogramPerCubicMetre", "DensityUnit"),
    unit!(v2 "kilogramPerHour", "MassFlowRateUnit"),
    unit!(v2 "kilogramPerSecond", "MassFlowRateUnit"),
    unit!(v2 "kilohertz", "FrequencyUnit"),
    unit!(v2 "kilojoule", "EnergyUnit"),
    unit!(v2 "kilometre", "LengthUnit"),
    unit!(v2 "kilometrePerHour", "VelocityUnit"),
    unit!(v2 "kilometrePerSecond", "VelocityUnit"),
    unit!(v2 "kiloohm", "ResistanceUnit"),
    unit!(v2 "kilopascal", "PressureUnit"),
    unit!(v2 "kilovolt", "VoltageUnit"),
    unit!(v2 "kilowatt", "PowerUnit"),
    unit!(v2 "kilowattHour", "EnergyUnit"),
    unit!(v2 "kilowattHourPerYear", "PowerUnit"),
    unit!(v2 "knot", "VelocityUnit"),
    unit!(v2 "litre", "VolumeUnit"),
    unit!(v2 "litrePerHour", "VolumeFlowRateUnit"),
    unit!(v2 "litrePerSecond", "VolumeFlowRateUnit"),
    unit!(v2 "lumen", "LuminousFluxUnit"),
    unit!(v2 "lux", "IlluminanceUnit"),
    unit!(v2 "maxwell", "MagneticFluxUnit"),
    unit!(v2 "mebibit", "DataSizeUnit"),
    unit!(v2 "mebibitPerSecond", "DataRateUnit"),
    unit!(v2 "mebibyte", "DataSizeUnit"),
    unit!(v2 "mebibytePerSecond", "DataRateUnit"),
    unit!(v2 "megaelectronvolt", "EnergyUnit"),
    unit!(v2 "megahertz", "FrequencyUnit"),
    unit!(v2 "megajoule", "EnergyUnit"),
    unit!(v2 "megaohm", "ResistanceUnit"),
    unit!(v2 "megavolt", "VoltageUnit"),
    unit!(v2 "megawatt", "PowerUnit"),
    unit!(v2 "metre", "LengthUnit"),
    unit!(v2 "metrePerHour", "VelocityUnit"),
    unit!(v2 "metrePerSecond", "VelocityUnit"),
    unit!(v2 "metrePerSecondSquared", "AccelerationUnit"),
    unit!(v2 "microampere", "CurrentUnit"),
    unit!(v2 "microfarad", "CapacitanceUnit"),
    unit!(v2 "microgram", "MassUnit"),
    unit!(v2 "microhenry", "InductanceUnit"),
    unit!(v2 "micrometre", "LengthUnit"),
    unit!(v2 "microsecond", "TimeUnit"),
    unit!(v2 "microvolt", "VoltageUnit"),
    unit!(v2 "microwatt", "PowerUnit"),
    unit!(v2 "mile", "LengthUnit"),
    unit!(v2 "milePerHour", "VelocityUnit"),
    unit!(v2 "milePerSecond", "VelocityUnit"),
    unit!(v2 "milliampere", "CurrentUnit"),
    unit!(v2 "millibar", "PressureUnit"),
    unit!(v2 "millifarad", "CapacitanceUnit"),
    unit!(v2 "milligram", "MassUnit"),
    unit!(v2 "millihenry", "InductanceUnit"),
    unit!(v2 "millilitre", "VolumeUnit"),
    unit!(v2 "millilitrePerHour", "VolumeFlowRateUnit"),
    unit!(v2 "millilitrePerSecond", "VolumeFlowRateUnit"),
    unit!(v2 "millimetre", "LengthUnit"),
    unit!(v2 "millimetresOfMercury", "PressureUnit"),
    unit!(v2 "milliohm", "ResistanceUnit"),
    unit!(v2 "millisecond", "TimeUnit"),
    unit!(v2 "millivolt", "VoltageUnit"),
    unit!(v2 "milliwatt", "PowerUnit"),
    unit!(v2 "minute", "TimeUnit"),
    unit!(v2 "minuteOfArc", "AngleUnit"),
    unit!(v2 "nanofarad", "CapacitanceUnit"),
    unit!(v2 "nanometre", "LengthUnit"),
    unit!(v2 "nanosecond", "TimeUnit"),
    unit!(v2 "nauticalMile", "LengthUnit"),
    unit!(v2 "newton", "ForceUnit"),
    unit!(v2 "newtonMetre", "TorqueUnit"),
    unit!(v2 "ohm", "ResistanceUnit"),
    unit!(v2 "ounce", "ForceUnit"),
    unit!(v2 "pascal", "PressureUnit"),
    unit!(v2 "percent", "Unitless"),
    unit!(v2 "picofarad", "CapacitanceUnit"),
    unit!(v2 "pound", "ForceUnit"),
    unit!(v2 "poundPerSquareInch", "PressureUnit"),
    unit!(v2 "radian", "AngleUnit"),
    unit!(v2 "radianPerSecond", "AngularVelocityUnit"),
    unit!(v2 "radianPerSecondSquared", "AngularAccelerationUnit"),
    unit!(v2 "revolutionPerMinute", "AngularVelocityUnit"),
    unit!(v2 "revolutionPerSecond", "AngularVelocityUnit"),
    unit!(v2 "second", "TimeUnit"),
    unit!(v2 "secondOfArc", "AngleUnit"),
    unit!(v2 "slug", "MassUnit"),
    unit!(v2 "squareCentimetre", "AreaUnit"),
    unit!(v2 "squareFoot", "AreaUnit"),
    unit!(v2 "squareInch", "AreaUnit"),
    unit!(v2 "squareKilometre", "AreaUnit"),
    unit!(v2 "squareMetre", "AreaUnit"),
    unit!(v2 "squareMillimetre", "AreaUnit"),
    unit!(v2 "tebibit", "DataSizeUnit"),
    unit!(v2 "tebibitPerSecond", "DataRateUnit"),
    unit!(v2 "tebibyte", "DataSizeUnit"),
    unit!(v2 "tebibytePerSecond", "DataRateUnit"),
    unit!(v2 "tesla", "MagneticInductionUnit"),
    unit!(v2 "ton", "ForceUnit"),
    unit!(v2 "tonne", "MassUnit"),
    unit!(v2 "turn", "AngleUnit"),
    unit!(v2 "unity", "Unitless"),
    unit!(v2 "volt", "VoltageUnit"),
    unit!(v2 "watt", "PowerUnit"),
    unit!(v2 "weber", "MagneticFluxUnit"),
    unit!(v2 "year", "TimeUnit"),
    unit!(v2 "yobibit", "DataSizeUnit"),
    unit!(v2 "yobibitPerSecond", "DataRateUnit"),
    unit!(v2 "yobibyte", "DataSizeUnit"),
    unit!(v2 "yobibytePerSecond", "DataRateUnit"),
    unit!(v2 "zebibit", "DataSizeUnit"),
    unit!(v2 "zebibitPerSecond", "DataRateUnit"),
    unit!(v2 "zebibyte", "DataSizeUnit"),
    unit!(v2 "zebibytePerSecond", "DataRateUnit"),
];

// The rest of the v2 context about semantic types and units: classes, properties of units, then unit prefixes.
const V2_OTHER_TERMS: &[&str] = &[
    "SemanticType",
    "SemanticUnit",
    "Unit",
    "UnitAttribute",
    "QuantitativeType",
    "RatioUnit",
    "DecimalUnit",
    "DecimalPrefix",
    "BinaryUnit",
    "BinaryPrefix",
    "unit",
    "baseUnit",
    "bottomUnit",
    "topUnit",
    "prefix",
    "exponent",
    "symbol",
    "deci",
    "centi",
    "milli",
    "micro",
    "nano",
    "pico",
    "femto",
    "atto",
    "zepto",
    "yocto",
    "deka",
    "hecto",
    "kilo",
    "mega",
    "giga",
    "tera",
    "peta",
    "exa",
    "zetta",
    "yotta",
    "kibi",
    "mebi",
    "gibi",
    "tebi",
    "pebi",
    "exbi",
    "zebi",
    "yobi",
];

// QuantitativeTypes v1 chart, agreeing with the metamodel's `unit` constraints (`dtmm:childOf`); IRIs as in its context.
const QT_SEMANTIC_TYPES: &[SemanticType] = &[
    semantic_type!(qt "Acceleration", "AccelerationUnit"),
    semantic_type!(qt "Angle", "AngleUnit"),
    semantic_type!(qt "AngularAcceleration", "AngularAccelerationUnit"),
    semantic_type!(qt "AngularVelocity", "AngularVelocityUnit"),
    semantic_type!(qt "ApparentEnergy", "ApparentEnergyUnit"),
    semantic_type!(qt "ApparentPower", "ApparentPowerUnit"),
    semantic_type!(qt "Area", "AreaUnit"),
    semantic_type!(qt "Capacitance", "CapacitanceUnit"),
    semantic_type!(qt "Concentration", "Unitless"),
    semantic_type!(qt "Current", "CurrentUnit"),
    semantic_type!(qt "DataRate", "DataRateUnit"),
    semantic_type!(qt "DataSize", "DataSizeUnit"),
    semantic_type!(qt "Density", "DensityUnit"),
    semantic_type!(qt "Distance", "LengthUnit"),
    semantic_type!(qt "ElectricCharge", "ChargeUnit"),
    semantic_type!(qt "Energy", "EnergyUnit"),
    semantic_type!(qt "EnergyRate", "PowerUnit"),
    semantic_type!(qt "Force", "ForceUnit"),
    semantic_type!(qt "Frequency", "FrequencyUnit"),
    semantic_type!(qt "Humidity", "DensityUnit"),
    semantic_type!(qt "Illuminance", "IlluminanceUnit"),
    semantic_type!(qt "Inductance", "InductanceUnit"),
    semantic_type!(qt "IonizingRadiationDose", "IonizingRadiationDoseUnit"),
    semantic_type!(qt "Irradiance", "IrradianceUnit"),
    semantic_type!(qt "Latitude", "AngleUnit"),
    semantic_type!(qt "Length", "LengthUnit"),
    semantic_type!(qt "Longitude", "AngleUnit"),
    semantic_type!(qt "Luminance", "LuminanceUnit"),
    semantic_type!(qt "Luminosity", "PowerUnit"),
    semantic_type!(qt "LuminousFlux", "LuminousFluxUnit"),
    semantic_type!(qt "LuminousIntensity", "LuminousIntensityUnit"),
    semantic_type!(qt "MagneticFlux", "MagneticFluxUnit"),
    semantic_type!(qt "MagneticInduction", "MagneticInductionUnit"),
    semantic_type!(qt "Mass", "MassUnit"),
    semantic_type!(qt "MassFlowRate", "MassFlowRateUnit"),
    semantic_type!(qt "Power", "PowerUnit"),
    semantic_type!(qt "Pressure", "PressureUnit"),
    semantic_type!(qt "Radioactivity", "RadioactivityUnit"),
    semantic_type!(qt "ReactiveEnergy", "ReactiveEnergyUnit"),
    semantic_type!(qt "ReactivePower", "ReactivePowerUnit"),
    semantic_type!(qt "RelativeDensity", "Unitless"),
    semantic_type!(qt "RelativeHumidity", "Unitless"),
    semantic_type!(qt "Resistance", "ResistanceUnit"),
    semantic_type!(qt "SoundPressure", "SoundPressureUnit"),
    semantic_type!(qt "Temperature", "TemperatureUnit"),
    semantic_type!(qt "Thrust", "ForceUnit"),
    semantic_type!(qt "TimeSpan", "TimeUnit"),
    semantic_type!(qt "Torque", "TorqueUnit"),
    semantic_type!(qt "Velocity", "VelocityUnit"),
    semantic_type!(qt "Voltage", "VoltageUnit"),
    semantic_type!(qt "Volume", "VolumeUnit"),
    semantic_type!(qt "VolumeFlowRate", "VolumeFlowRateUnit"),
];

// The unit-type enumerations of the QuantitativeTypes v1 metamodel elements.
const QT_UNIT_TYPES: &[UnitType] = &[
    unit_type!(qt "AccelerationUnit"),
    unit_type!(qt "AngleUnit"),
    unit_type!(qt "AngularAccelerationUnit"),
    unit_type!(qt "AngularVelocityUnit"),
    unit_type!(qt "ApparentEnergyUnit"),
    unit_type!(qt "ApparentPowerUnit"),
    unit_type!(qt "AreaUnit"),
    unit_type!(qt "CapacitanceUnit"),
    unit_type!(qt "ChargeUnit"),
    unit_type!(qt "CurrentUnit"),
    unit_type!(qt "DataRateUnit"),
    unit_type!(qt "DataSizeUnit"),
    unit_type!(qt "DensityUnit"),
    unit_type!(qt "EnergyUnit"),
    unit_type!(qt "ForceUnit"),
    unit_type!(qt "FrequencyUnit"),
    unit_type!(qt "IlluminanceUnit"),
    unit_type!(qt "InductanceUnit"),
    unit_type!(qt "IonizingRadiationDoseUnit"),
    unit_type!(qt "IrradianceUnit"),
    unit_type!(qt "LengthUnit"),
    unit_type!(qt "LuminanceUnit"),
    unit_type!(qt "LuminousFluxUnit"),
    unit_type!(qt "LuminousIntensityUnit"),
    unit_type!(qt "MagneticFluxUnit"),
    unit_type!(qt "MagneticInductionUnit"),
    unit_type!(qt "MassFlowRateUnit"),
    unit_type!(qt "MassUnit"),
    unit_type!(qt "PowerUnit"),
    unit_type!(qt "PressureUnit"),
    unit_type!(qt "RadioactivityUnit"),
    unit_type!(qt "ReactiveEnergyUnit"),
    unit_type!(qt "ReactivePowerUnit"),
    unit_type!(qt "ResistanceUnit"),
    unit_type!(qt "SoundPressureUnit"),
    unit_type!(qt "TemperatureUnit"),
    unit_type!(qt "TimeUnit"),
    unit_type!(qt "TorqueUnit"),
    unit_type!(qt "Unitless"),
    unit_type!(qt "VelocityUnit"),
    unit_type!(qt "VoltageUnit"),
    unit_type!(qt "VolumeFlowRateUnit"),
    unit_type!(qt "VolumeUnit"),
];

// The enumeration values of those unit types; no unit is in two of them.
const QT_UNITS: &[Unit] = &[
    unit!(qt "acre", "AreaUnit"),
    unit!(qt "ampere", "CurrentUnit"),
    unit!(qt "ampereHour", "ChargeUnit"),
    unit!(qt "astronomicalUnit", "LengthUnit"),
    unit!(qt "bar", "PressureUnit"),
    unit!(qt "becquerel", "RadioactivityUnit"),
    unit!(qt "bel", "SoundPressureUnit"),
    unit!(qt "bit", "DataSizeUnit"),
    unit!(qt "bitPerSecond", "DataRateUnit"),
    unit!(qt "britishThermalUnit", "EnergyUnit"),
    unit!(qt "britishThermalUnitPerHour", "PowerUnit"),
    unit!(qt "byte", "DataSizeUnit"),
    unit!(qt "bytePerSecond", "DataRateUnit"),
    unit!(qt "candela", "LuminousIntensityUnit"),
    unit!(qt "candelaPerSquareMetre", "LuminanceUnit"),
    unit!(qt "centimetre", "LengthUnit"),
    unit!(qt "centimetrePerSecond", "VelocityUnit"),
    unit!(qt "centimetrePerSecondSquared", "AccelerationUnit"),
    unit!(qt "coulomb", "ChargeUnit"),
    unit!(qt "cubicCentimetre", "VolumeUnit"),
    unit!(qt "cubicFoot", "VolumeUnit"),
    unit!(qt "cubicFootPerMinute", "VolumeFlowRateUnit"),
    unit!(qt "cubicInch", "VolumeUnit"),
    unit!(qt "cubicMetre", "VolumeUnit"),
    unit!(qt "cubicMetrePerHour", "VolumeFlowRateUnit"),
    unit!(qt "cubicMetrePerMinute", "VolumeFlowRateUnit"),
    unit!(qt "cubicMetrePerSecond", "VolumeFlowRateUnit"),
    unit!(qt "day", "TimeUnit"),
    unit!(qt "decapascal", "PressureUnit"),
    unit!(qt "decibel", "SoundPressureUnit"),
    unit!(qt "degreeCelsius", "TemperatureUnit"),
    unit!(qt "degreeFahrenheit", "TemperatureUnit"),
    unit!(qt "degreeOfArc", "AngleUnit"),
    unit!(qt "degreePerSecond", "AngularVelocityUnit"),
    unit!(qt "electronvolt", "EnergyUnit"),
    unit!(qt "exbibit", "DataSizeUnit"),
    unit!(qt "exbibitPerSecond", "DataRateUnit"),
    unit!(qt "exbibyte", "DataSizeUnit"),
    unit!(qt "exbibytePerSecond", "DataRateUnit"),
    unit!(qt "farad", "CapacitanceUnit"),
    unit!(qt "fluidOunce", "VolumeUnit"),
    unit!(qt "foot", "LengthUnit"),
    unit!(qt "footcandle", "IlluminanceUnit"),
    unit!(qt "gForce", "AccelerationUnit"),
    unit!(qt "gallon", "VolumeUnit"),
    unit!(qt "gallonPerHour", "VolumeFlowRateUnit"),
    unit!(qt "gallonPerMinute", "VolumeFlowRateUnit"),
    unit!(qt "gauss", "MagneticInductionUnit"),
    unit!(qt "gibibit", "DataSizeUnit"),
    unit!(qt "gibibitPerSecond", "DataRateUnit"),
    unit!(qt "gibibyte", "DataSizeUnit"),
    unit!(qt "gibibytePerSecond", "DataRateUnit"),
    unit!(qt "gigabecquerel", "RadioactivityUnit"),
    unit!(qt "gigahertz", "FrequencyUnit"),
    unit!(qt "gigajoule", "EnergyUnit"),
    unit!(qt "gigajoulePerHour", "PowerUnit"),
    unit!(qt "gigavoltAmpere", "ApparentPowerUnit"),
    unit!(qt "gigavoltAmpereHour", "ApparentEnergyUnit"),
    unit!(qt "gigavoltAmpereReactive", "ReactivePowerUnit"),
    unit!(qt "gigavoltAmpereReactiveHour", "ReactiveEnergyUnit"),
    unit!(qt "gigawatt", "PowerUnit"),
    unit!(qt "gigawattHour", "EnergyUnit"),
    unit!(qt "gram", "MassUnit"),
    unit!(qt "gramPerCubicMetre", "DensityUnit"),
    unit!(qt "gramPerHour", "MassFlowRateUnit"),
    unit!(qt "gramPerSecond", "MassFlowRateUnit"),
    unit!(qt "gray", "IonizingRadiationDoseUnit"),
    unit!(qt "hectare", "AreaUnit"),
    unit!(qt "hectopascal", "PressureUnit"),
    unit!(qt "henry", "InductanceUnit"),
    unit!(qt "hertz", "FrequencyUnit"),
    unit!(qt "horsepower", "PowerUnit"),
    unit!(qt "hour", "TimeUnit"),
    unit!(qt "inch", "LengthUnit"),
    unit!(qt "inchesOfMercury", "PressureUnit"),
    unit!(qt "inchesOfWater", "PressureUnit"),
    unit!(qt "joule", "EnergyUnit"),
    unit!(qt "joulePerHour", "PowerUnit"),
    unit!(qt "joulePerSecond", "PowerUnit"),
    unit!(qt "kelvin", "TemperatureUnit"),
    unit!(qt "kibibit", "DataSizeUnit"),
    unit!(qt "kibibitPerSecond", "DataRateUnit"),
    unit!(qt "kibibyte", "DataSizeUnit"),
    unit!(qt "kibibytePerSecond", "DataRateUnit"),
    unit!(qt "kiloBritishThermalUnit", "EnergyUnit"),
    unit!(qt "kiloBritishThermalUnitPerHour", "PowerUnit"),
    unit!(qt "kiloampere", "CurrentUnit"),
    unit!(qt "kilobecquerel", "RadioactivityUnit"),
    unit!(qt "kilogram", "MassUnit"),
    unit!(qt "kilogramPerCubicMetre", "DensityUnit"),
    unit!(qt "kilogramPerHour", "MassFlowRateUnit"),
    unit!(qt "kilogramPerSecond", "MassFlowRateUnit"),
    unit!(qt "kilohertz", "FrequencyUnit"),
    unit!(qt "kilojoule", "EnergyUnit"),
    unit!(qt "kilojoulePerHour", "PowerUnit"),
    unit!(qt "kilojoulePerSecond", "PowerUnit"),
    unit!(qt "kilometre", "LengthUnit"),
    unit!(qt "kilometrePerHour", "VelocityUnit"),
    unit!(qt "kilometrePerSecond", "VelocityUnit"),
    unit!(qt "kiloohm", "ResistanceUnit"),
    unit!(qt "kilopascal", "PressureUnit"),
    unit!(qt "kilovolt", "VoltageUnit"),
    unit!(qt "kilovoltAmpere", "ApparentPowerUnit"),
    unit!(qt "kilovoltAmpereHour", "ApparentEnergyUnit"),
    unit!(qt "kilovoltAmpereReactive", "ReactivePowerUnit"),
    unit!(qt "kilovoltAmpereReactiveHour", "ReactiveEnergyUnit"),
    unit!(qt "kilowatt", "PowerUnit"),
    unit!(qt "kilowattHour", "EnergyUnit"),
    unit!(qt "kilowattHourPerYear", "PowerUnit"),
    unit!(qt "knot", "VelocityUnit"),
    unit!(qt "litre", "VolumeUnit"),
    unit!(qt "litrePerHour", "VolumeFlowRateUnit"),
    unit!(qt "litrePerMinute", "VolumeFlowRateUnit"),
    unit!(qt "litrePerSecond", "VolumeFlowRateUnit"),
    unit!(qt "lumen", "LuminousFluxUnit"),
    unit!(qt "lux", "IlluminanceUnit"),
    unit!(qt "massPound", "MassUnit"),
    unit!(qt "massPoundPerHour", "MassFlowRateUnit"),
    unit!(qt "maxwell", "MagneticFluxUnit"),
    unit!(qt "mebibit", "DataSizeUnit"),
    unit!(qt "mebibitPerSecond", "DataRateUnit"),
    unit!(qt "mebibyte", "DataSizeUnit"),
    unit!(qt "mebibytePerSecond", "DataRateUnit"),
    unit!(qt "megabecquerel", "RadioactivityUnit"),
    unit!(qt "megaelectronvolt", "EnergyUnit"),
    unit!(qt "megahertz", "FrequencyUnit"),
    unit!(qt "megajoule", "EnergyUnit"),
    unit!(qt "megajoulePerHour", "PowerUnit"),
    unit!(qt "megaohm", "ResistanceUnit"),
    unit!(qt "megavolt", "VoltageUnit"),
    unit!(qt "megavoltAmpere", "ApparentPowerUnit"),
    unit!(qt "megavoltAmpereHour", "ApparentEnergyUnit"),
    unit!(qt "megavoltAmpereReactive", "ReactivePowerUnit"),
    unit!(qt "megavoltAmpereReactiveHour", "ReactiveEnergyUnit"),
    unit!(qt "megawatt", "PowerUnit"),
    unit!(qt "megawattHour", "EnergyUnit"),
    unit!(qt "metre", "LengthUnit"),
    unit!(qt "metrePerHour", "VelocityUnit"),
    unit!(qt "metrePerSecond", "VelocityUnit"),
    unit!(qt "metrePerSecondSquared", "AccelerationUnit"),
    unit!(qt "microampere", "CurrentUnit"),
    unit!(qt "microfarad", "CapacitanceUnit"),
    unit!(qt "microgram", "MassUnit"),
    unit!(qt "microgramPerCubicMetre", "DensityUnit"),
    unit!(qt "microgray", "IonizingRadiationDoseUnit"),
    unit!(qt "microhenry", "InductanceUnit"),
    unit!(qt "micrometre", "LengthUnit"),
    unit!(qt "microsecond", "TimeUnit"),
    unit!(qt "microsievert", "IonizingRadiationDoseUnit"),
    unit!(qt "microvolt", "VoltageUnit"),
    unit!(qt "microwatt", "PowerUnit"),
    unit!(qt "mile", "LengthUnit"),
    unit!(qt "milePerHour", "VelocityUnit"),
    unit!(qt "milePerSecond", "VelocityUnit"),
    unit!(qt "milliampere", "CurrentUnit"),
    unit!(qt "milliampereHour", "ChargeUnit"),
    unit!(qt "millibar", "PressureUnit"),
    unit!(qt "millifarad", "CapacitanceUnit"),
    unit!(qt "milligram", "MassUnit"),
    unit!(qt "milligramPerCubicMetre", "DensityUnit"),
    unit!(qt "milligray", "IonizingRadiationDoseUnit"),
    unit!(qt "millihenry", "InductanceUnit"),
    unit!(qt "millihertz", "FrequencyUnit"),
    unit!(qt "millilitre", "VolumeUnit"),
    unit!(qt "millilitrePerHour", "VolumeFlowRateUnit"),
    unit!(qt "millilitrePerMinute", "VolumeFlowRateUnit"),
    unit!(qt "millilitrePerSecond", "VolumeFlowRateUnit"),
    unit!(qt "millimetre", "LengthUnit"),
    unit!(qt "millimetresOfMercury", "PressureUnit"),
    unit!(qt "milliohm", "ResistanceUnit"),
    unit!(qt "millisecond", "TimeUnit"),
    unit!(qt "millisievert", "IonizingRadiationDoseUnit"),
    unit!(qt "millivolt", "VoltageUnit"),
    unit!(qt "millivoltAmpere", "ApparentPowerUnit"),
    unit!(qt "millivoltAmpereReactive", "ReactivePowerUnit"),
    unit!(qt "milliwatt", "PowerUnit"),
    unit!(qt "milliwattHour", "EnergyUnit"),
    unit!(qt "minute", "TimeUnit"),
    unit!(qt "minuteOfArc", "AngleUnit"),
    unit!(qt "nanofarad", "CapacitanceUnit"),
    unit!(qt "nanometre", "LengthUnit"),
    unit!(qt "nanosecond", "TimeUnit"),
    unit!(qt "nauticalMile", "LengthUnit"),
    unit!(qt "newton", "ForceUnit"),
    unit!(qt "newtonMetre", "TorqueUnit"),
    unit!(qt "ohm", "ResistanceUnit"),
    unit!(qt "ounce", "ForceUnit"),
    unit!(qt "partsPerBillion", "Unitless"),
    unit!(qt "partsPerMillion", "Unitless"),
    unit!(qt "partsPerQuadrillion", "Unitless"),
    unit!(qt "partsPerTrillion", "Unitless"),
    unit!(qt "pascal", "PressureUnit"),
    unit!(qt "percent", "Unitless"),
    unit!(qt "picofarad", "CapacitanceUnit"),
    unit!(qt "pound", "ForceUnit"),
    unit!(qt "poundPerSquareInch", "PressureUnit"),
    unit!(qt "radian", "AngleUnit"),
    unit!(qt "radianPerSecond", "AngularVelocityUnit"),
    unit!(qt "radianPerSecondSquared", "AngularAccelerationUnit"),
    unit!(qt "revolutionPerMinute", "AngularVelocityUnit"),
    unit!(qt "revolutionPerSecond", "AngularVelocityUnit"),
    unit!(qt "second", "TimeUnit"),
    unit!(qt "secondOfArc", "AngleUnit"),
    unit!(qt "sievert", "IonizingRadiationDoseUnit"),
    unit!(qt "slug", "MassUnit"),
    unit!(qt "squareCentimetre", "AreaUnit"),
    unit!(qt "squareFoot", "AreaUnit"),
    unit!(qt "squareInch", "AreaUnit"),
    unit!(qt "squareKilometre", "AreaUnit"),
    unit!(qt "squareMetre", "AreaUnit"),
    unit!(qt "squareMillimetre", "AreaUnit"),
    unit!(qt "tebibit", "DataSizeUnit"),
    unit!(qt "tebibitPerSecond", "DataRateUnit"),
    unit!(qt "tebibyte", "DataSizeUnit"),
    unit!(qt "tebibytePerSecond", "DataRateUnit"),
    unit!(qt "terawattHour", "EnergyUnit"),
    unit!(qt "tesla", "MagneticInductionUnit"),
    unit!(qt "ton", "ForceUnit"),
    unit!(qt "tonOfRefrigeration", "PowerUnit"),
    unit!(qt "tonne", "MassUnit"),
    unit!(qt "turn", "AngleUnit"),
    unit!(qt "unity", "Unitless"),
    unit!(qt "volt", "VoltageUnit"),
    unit!(qt "voltAmpere", "ApparentPowerUnit"),
    unit!(qt "voltAmpereHour", "ApparentEnergyUnit"),
    unit!(qt "voltAmpereReactive", "ReactivePowerUnit"),
    unit!(qt "voltAmpereReactiveHour", "ReactiveEnergyUnit"),
    unit!(qt "watt", "PowerUnit"),
    unit!(qt "wattHour", "EnergyUnit"),
    unit!(qt "wattPerSquareMetre", "IrradianceUnit"),
    unit!(qt "weber", "MagneticFluxUnit"),
    unit!(qt "year", "TimeUnit"),
    unit!(qt "yobibit", "DataSizeUnit"),
    unit!(qt "yobibitPerSecond", "DataRateUnit"),
    unit!(qt "yobibyte", "DataSizeUnit"),
    unit!(qt "yobibytePerSecond", "DataRateUnit"),
    unit!(qt "zebibit", "DataSizeUnit"),
    unit!(qt "zebibitPerSecond", "DataRateUnit"),
    unit!(qt "zebibyte", "DataSizeUnit"),
    unit!(qt "zebibytePerSecond", "DataRateUnit"),
];

// The rest of the QuantitativeTypes v1 context: classes, enumerations that are not unit types (`EnergyRateUnit` is in the context but has no elements, and `EnergyRate` takes `PowerUnit`), properties, then unit prefixes.
const QT_OTHER_TERMS: &[&str] = &[
    "RatioUnit",
    "UnitPrefix",
    "DecimalUnit",
    "BinaryUnit",
    "SymbolicUnit",
    "QuantitativeType",
    "DecimalPrefix",
    "BinaryPrefix",
    "EnergyRateUnit",
    "unit",
    "topUnit",
    "bottomUnit",
    "baseUnit",
    "prefix",
    "deci",
    "centi",
    "milli",
    "micro",
    "nano",
    "pico",
    "femto",
    "atto",
    "zepto",
    "yocto",
    "deca",
    "hecto",
    "kilo",
    "mega",
    "giga",
    "tera",
    "peta",
    "exa",
    "zetta",
    "yotta",
    "kibi",
    "mebi",
    "gibi",
    "tebi",
    "pebi",
    "exbi",
    "zebi",
    "yobi",
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use expect_test::{Expect, expect};

    use super::*;

    const BOTH: [Vocabulary; 2] = [Vocabulary::V2Core, Vocabulary::QuantitativeTypesV1];

    /// Says whether `vocabulary` accepts `unit` for `semantic_type`, or which of the two it does not know.
    fn check(vocabulary: Vocabulary, semantic_type: &str, unit: &str, expect: &str) {
        let outcome = match (vocabulary.semantic_type(semantic_type), vocabulary.unit(unit)) {
            (None, _) => "unknown semantic type",
            (_, None) => "unknown unit",
            (Some(s), Some(u)) if vocabulary.accepts(s, u) => "accepted",
            (Some(_), Some(_)) => "rejected",
        };
        assert_eq!(outcome, expect, "{semantic_type} with {unit} in {vocabulary:?}");
    }

    fn check_summary(vocabulary: Vocabulary, expect: Expect) {
        let tables = vocabulary.tables();
        let irregular: Vec<String> = vocabulary
            .semantic_types()
            .iter()
            .filter(|s| s.unit_type != format!("{}Unit", s.term))
            .map(|s| format!("{}:{}", s.term, s.unit_type))
            .collect();
        let summary = format!(
            "{} semantic types, {} unit types, {} units, {} terms\nunit type not named after the semantic type: {}",
            tables.semantic_types.len(),
            tables.unit_types.len(),
            tables.units.len(),
            vocabulary.terms().count(),
            irregular.join(" "),
        );
        expect.assert_eq(&summary);
    }

    #[test]
    fn counts_match_the_sources() {
        // Counted in the v2 specification's "Semantic types" table (207 rows), and in the QuantitativeTypes v1 chart, context (377 terms) and elements.
        check_summary(
            Vocabulary::V2Core,
            expect![[r#"
                42 semantic types, 36 unit types, 172 units, 295 terms
                unit type not named after the semantic type: Distance:LengthUnit ElectricCharge:ChargeUnit Humidity:DensityUnit Latitude:AngleUnit Longitude:AngleUnit Luminosity:PowerUnit RelativeHumidity:Unitless Thrust:ForceUnit TimeSpan:TimeUnit"#]],
        );
        check_summary(
            Vocabulary::QuantitativeTypesV1,
            expect![[r#"
                52 semantic types, 43 unit types, 240 units, 377 terms
                unit type not named after the semantic type: Concentration:Unitless Distance:LengthUnit ElectricCharge:ChargeUnit EnergyRate:PowerUnit Humidity:DensityUnit Latitude:AngleUnit Longitude:AngleUnit Luminosity:PowerUnit RelativeDensity:Unitless RelativeHumidity:Unitless Thrust:ForceUnit TimeSpan:TimeUnit"#]],
        );
    }

    #[test]
    fn tables_are_sorted_and_consistent() {
        for vocabulary in BOTH {
            let tables = vocabulary.tables();
            let sorted = |terms: Vec<&str>| terms.windows(2).all(|w| w[0] < w[1]);
            assert!(sorted(tables.semantic_types.iter().map(|s| s.term).collect()));
            assert!(sorted(tables.unit_types.iter().map(|t| t.term).collect()));
            assert!(sorted(tables.units.iter().map(|u| u.term).collect()));
            for s in tables.semantic_types {
                assert!(vocabulary.is_unit_type(s.unit_type), "{}", s.term);
                assert!(tables.units.iter().any(|u| u.unit_type == s.unit_type), "{}", s.term);
            }
            for t in tables.unit_types {
                assert!(tables.units.iter().any(|u| u.unit_type == t.term), "{} has no units", t.term);
                assert!(lookup(tables.unit_types, t.iri).is_some());
            }
            for u in tables.units {
                assert!(vocabulary.is_unit_type(u.unit_type), "{}", u.term);
                assert_eq!(vocabulary.unit(u.iri), Some(u));
            }
            let mut seen = HashSet::new();
            for term in vocabulary.terms() {
                assert!(!term.contains(':') && seen.insert(term), "{term} in {vocabulary:?}");
            }
        }
    }

    #[test]
    fn v2_units_keep_their_unit_type_in_quantitative_types() {
        // The v2 unit types are named after QuantitativeTypes v1; this holds the two tables to the same grouping.
        for s in Vocabulary::V2Core.semantic_types() {
            let later = Vocabulary::QuantitativeTypesV1.semantic_type(s.term).map(|s| s.unit_type);
            assert_eq!(later, Some(s.unit_type), "{}", s.term);
        }
        for u in V2_UNITS {
            let later = Vocabulary::QuantitativeTypesV1.unit(u.term).map(|u| u.unit_type);
            assert_eq!(later, Some(u.unit_type), "{}", u.term);
        }
    }

    #[test]
    fn accepts_v2() {
        let v2 = Vocabulary::V2Core;
        check(v2, "Temperature", "degreeCelsius", "accepted");
        check(v2, "Temperature", "metre", "rejected");
        check(v2, "Humidity", "gramPerCubicMetre", "accepted");
        check(v2, "Humidity", "percent", "rejected");
        check(v2, "RelativeHumidity", "percent", "accepted");
        check(v2, "Luminosity", "gigawatt", "accepted");
        check(v2, "Luminosity", "lumen", "rejected");
        check(v2, "Latitude", "degreeOfArc", "accepted");
        check(v2, "Distance", "nauticalMile", "accepted");
        check(v2, "dtmi:standard:class:Area;2", "dtmi:standard:unit:acre;2", "accepted");
        check(v2, "Area", "dtmi:standard:unit:farad;2", "rejected");
        check(v2, "Area", "boolean", "unknown unit");
        check(v2, "Area", "Foobar", "unknown unit");
        check(v2, "Area", "dtmi:foo:bar;1", "unknown unit");
        check(v2, "Area", "AreaUnit", "unknown unit");
        check(v2, "Concentration", "percent", "unknown semantic type");
        check(v2, "Current", "kiloampere", "unknown unit");
        check(v2, "dtmi:standard:class:Area;3", "acre", "unknown semantic type");
        check(v2, "dtmi:dtdl:extension:quantitativeTypes:v1:class:Area", "acre", "unknown semantic type");
    }

    #[test]
    fn accepts_quantitative_types() {
        let qt = Vocabulary::QuantitativeTypesV1;
        check(qt, "Temperature", "degreeCelsius", "accepted");
        check(qt, "Temperature", "metre", "rejected");
        check(qt, "Humidity", "kilogramPerCubicMetre", "accepted");
        check(qt, "Concentration", "partsPerMillion", "accepted");
        check(qt, "RelativeHumidity", "partsPerMillion", "accepted");
        check(qt, "EnergyRate", "watt", "accepted");
        check(qt, "VolumeFlowRate", "cubicMetrePerHour", "accepted");
        check(qt, "Power", "voltAmpere", "rejected");
        check(
            qt,
            "dtmi:dtdl:extension:quantitativeTypes:v1:class:Temperature",
            "dtmi:dtdl:extension:quantitativeTypes:v1:unit:kelvin",
            "accepted",
        );
        check(qt, "Temperature", "dtmi:standard:unit:kelvin;2", "unknown unit");
        check(qt, "dtmi:standard:class:Temperature;2", "kelvin", "unknown semantic type");
    }

    #[test]
    fn accepts_only_its_own_entries() {
        let temperature = Vocabulary::V2Core.semantic_type("Temperature");
        let kelvin = Vocabulary::QuantitativeTypesV1.unit("kelvin");
        for vocabulary in BOTH {
            let accepted = temperature.zip(kelvin).map(|(s, u)| vocabulary.accepts(s, u));
            assert_eq!(accepted, Some(false), "{vocabulary:?}");
        }
    }

    #[test]
    fn unit_types_and_terms() {
        let v2 = Vocabulary::V2Core;
        let qt = Vocabulary::QuantitativeTypesV1;
        assert!(v2.is_unit_type("TemperatureUnit"));
        assert!(v2.is_unit_type("dtmi:standard:class:Unitless;2"));
        assert!(!v2.is_unit_type("Temperature"));
        assert!(!v2.is_unit_type("ApparentPowerUnit"));
        assert!(qt.is_unit_type("dtmi:dtdl:extension:quantitativeTypes:v1:enum:DensityUnit"));
        assert!(!qt.is_unit_type("EnergyRateUnit"));
        assert!(qt.terms().any(|t| t == "EnergyRateUnit"));
        assert!(v2.terms().any(|t| t == "deka"));
        assert!(qt.terms().any(|t| t == "deca"));
        assert!(!v2.terms().any(|t| t == "Interface"));
    }

    #[test]
    fn numeric_schemas() {
        let v2 = Vocabulary::V2Core;
        let qt = Vocabulary::QuantitativeTypesV1;
        assert!(v2.is_numeric_schema("long"));
        assert!(v2.is_numeric_schema("dtmi:dtdl:instance:Schema:double;2"));
        assert!(!v2.is_numeric_schema("dtmi:dtdl:instance:Schema:double;3"));
        assert!(!v2.is_numeric_schema("string"));
        assert!(!v2.is_numeric_schema("asynchronous"));
        assert!(qt.is_numeric_schema("dtmi:dtdl:instance:Schema:integer;3"));
        assert!(!qt.is_numeric_schema("duration"));
    }
}
