//! Short one-line renderings of resolved schemas and content shapes for `models show`: `integer`, `Array<double>`, `Enum<string>{a,b}`, `Object{x: double}`.
//!
//! These are for people to read, not a serialization: they drop ids, display names and enum values, and nothing parses them back.

use model::Schema;
use model::set::{CommandPayload, ContentKind};

/// One line describing a schema.
pub(crate) fn render(schema: &Schema) -> String {
    match schema {
        Schema::Primitive(primitive) => primitive.term().to_owned(),
        Schema::Geospatial(geospatial) => geospatial.term().to_owned(),
        Schema::Array(array) => format!("Array<{}>", render(&array.element)),
        Schema::Enum(enumeration) => {
            let names: Vec<&str> = enumeration.values.iter().map(|v| v.name.as_str()).collect();
            format!("Enum<{}>{{{}}}", enumeration.value_schema.term(), names.join(","))
        }
        Schema::Map(map) => format!("Map<string, {}>", render(&map.value)),
        Schema::Object(object) => {
            let fields: Vec<String> =
                object.fields.iter().map(|f| format!("{}: {}", f.name, render(&f.schema))).collect();
            format!("Object{{{}}}", fields.join(", "))
        }
    }
}

/// One line describing what a content holds: the schema of a property or telemetry, a command's signature, a relationship's target, a component's interface.
pub(crate) fn render_content(kind: &ContentKind) -> String {
    match kind {
        ContentKind::Property { schema, .. } | ContentKind::Telemetry { schema } => render(schema),
        ContentKind::Command { request, response } => {
            let payload = |p: &CommandPayload| format!("{}: {}", p.name, render(&p.schema));
            let mut out = format!("({})", request.as_ref().map(payload).unwrap_or_default());
            if let Some(response) = response {
                out.push_str(&format!(" -> {}", payload(response)));
            }
            out
        }
        ContentKind::Relationship { target, properties, min_multiplicity, max_multiplicity, .. } => {
            let mut out = format!("-> {}", target.as_ref().map_or("any interface", |t| t.as_str()));
            // The default multiplicity (any number, at least zero) goes unsaid, whether the model wrote it or not.
            let min = min_multiplicity.unwrap_or(0);
            if min != 0 || max_multiplicity.is_some() {
                let max = max_multiplicity.map_or("*".to_owned(), |m| m.to_string());
                out.push_str(&format!(" [{min}..{max}]"));
            }
            if !properties.is_empty() {
                let properties: Vec<String> =
                    properties.iter().map(|p| format!("{}: {}", p.name, render(&p.schema))).collect();
                out.push_str(&format!(" {{{}}}", properties.join(", ")));
            }
            out
        }
        ContentKind::Component { schema } => schema.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use model::Dtmi;
    use model::schema::{ArraySchema, EnumLiteral, EnumSchema, EnumValue, Field, MapSchema, ObjectSchema, Primitive};
    use model::set::RelationshipProperty;

    use super::*;

    fn check(schema: &Schema, expect: Expect) {
        expect.assert_eq(&render(schema));
    }

    fn check_content(kind: &ContentKind, expect: Expect) {
        expect.assert_eq(&render_content(kind));
    }

    fn id(text: &str) -> Dtmi {
        Dtmi::parse(text).expect("test ids are valid DTMIs")
    }

    fn primitive(p: Primitive) -> Schema {
        Schema::Primitive(p)
    }

    #[test]
    fn primitives_and_geospatial() {
        check(&primitive(Primitive::DateTime), expect!["dateTime"]);
        check(&Schema::Geospatial(model::schema::Geospatial::LineString), expect!["lineString"]);
    }

    #[test]
    fn nested_complex_schemas() {
        let array =
            Schema::Array(ArraySchema { id: id("dtmi:ex:a;1"), element: Box::new(primitive(Primitive::Double)) });
        check(&array, expect!["Array<double>"]);
        let enumeration = Schema::Enum(EnumSchema {
            id: id("dtmi:ex:e;1"),
            value_schema: Primitive::String,
            values: vec![
                EnumValue { name: "free".into(), value: EnumLiteral::String("free".into()) },
                EnumValue { name: "busy".into(), value: EnumLiteral::String("busy".into()) },
            ],
        });
        check(&enumeration, expect!["Enum<string>{free,busy}"]);
        let object = Schema::Object(ObjectSchema {
            id: id("dtmi:ex:o;1"),
            fields: vec![
                Field { name: "x".into(), schema: primitive(Primitive::Double) },
                Field { name: "tags".into(), schema: array },
            ],
        });
        check(&object, expect!["Object{x: double, tags: Array<double>}"]);
        let map = Schema::Map(MapSchema {
            id: id("dtmi:ex:m;1"),
            key_name: "k".into(),
            value_name: "v".into(),
            value: Box::new(object),
        });
        check(&map, expect!["Map<string, Object{x: double, tags: Array<double>}>"]);
    }

    #[test]
    fn contents() {
        check_content(
            &ContentKind::Command {
                request: Some(CommandPayload { name: "since".into(), schema: primitive(Primitive::DateTime) }),
                response: Some(CommandPayload { name: "count".into(), schema: primitive(Primitive::Long) }),
            },
            expect!["(since: dateTime) -> count: long"],
        );
        check_content(&ContentKind::Command { request: None, response: None }, expect!["()"]);
        check_content(
            &ContentKind::Relationship {
                target: Some(id("dtmi:ex:Room;1")),
                properties: vec![RelationshipProperty {
                    name: "since".into(),
                    schema: primitive(Primitive::Date),
                    writable: false,
                }],
                min_multiplicity: None,
                max_multiplicity: Some(1),
                writable: false,
            },
            expect!["-> dtmi:ex:Room;1 [0..1] {since: date}"],
        );
        check_content(
            &ContentKind::Relationship {
                target: None,
                properties: vec![],
                min_multiplicity: Some(0),
                max_multiplicity: None,
                writable: true,
            },
            expect!["-> any interface"],
        );
        check_content(&ContentKind::Component { schema: id("dtmi:ex:Thermostat;1") }, expect!["dtmi:ex:Thermostat;1"]);
    }
}
